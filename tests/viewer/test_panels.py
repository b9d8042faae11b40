"""Panel functions without a window: ImGui builds its frames without GL, commands go to a list."""

import dataclasses

import imgui
import numpy as np
import pytest

from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.viewer.app import parse_view
from texinr.viewer.gui import panels
from texinr.viewer.gui.panels import RingBuffer, ViewerState, apply_config, match_astc_block, toggle_pause
from texinr.viewer.workers.worker import Pause, Reset, Resume


@pytest.fixture
def frame():
    ctx = imgui.create_context()
    io = imgui.get_io()
    io.display_size = (1280, 800)
    io.fonts.get_tex_data_as_rgba32()  # builds the font atlas (no GL involved)
    io.ini_file_name = None
    imgui.new_frame()
    yield
    imgui.render()
    imgui.destroy_context(ctx)


@dataclasses.dataclass
class FakeSnapshot:
    step: int = 120
    loss: float = 1e-3
    psnr: float = 30.0
    elapsed: float = 10.0
    steps_per_s: float = 12.0
    lr: float = 1e-2
    progress: float = 0.5
    paused: bool = False
    mips: int = 6
    payload_bits: int = 2 * 512 * 512
    config: Config = dataclasses.field(default_factory=lambda: parse_view([]).config)
    run: int = 0
    done: bool = False


def state() -> ViewerState:
    cfg = parse_view([]).config
    return ViewerState(config=cfg, edit=cfg, image_size=(512, 512))


class RecordingImgui:
    """imgui as the panels see it, with every string they draw recorded (labels, text, headers, buttons)."""

    def __init__(self, real):
        self._real, self.seen = real, []

    def __getattr__(self, name):
        value = getattr(self._real, name)
        if not callable(value) or name.startswith(("get_", "is_", "push_", "pop_", "set_")):
            return value

        def call(*args, **kwargs):
            for a in args:  # a string, or a list of them (a combo's items)
                self.seen += [a] if isinstance(a, str) else [x for x in a if isinstance(x, str)] if isinstance(a, list) else []
            return value(*args, **kwargs)

        return call

    def shown(self) -> str:
        return "\n".join(self.seen)


def test_every_panel_draws_with_and_without_data(frame, monkeypatch):
    ui = RecordingImgui(imgui)
    monkeypatch.setattr(panels, "imgui", ui)
    s = state()
    sent = []
    panels.draw_gui(s, sent.append)  # nothing yet
    empty = ui.shown()
    assert "Training" in empty and "View" in empty
    ui.seen.clear()
    s.snapshot = FakeSnapshot()
    for v in (1e-2, 5e-3, 1e-3):
        s.loss.push(v)
        s.psnr.push(20.0 + v)
    s.metrics = {
        "neural": {"psnr": 30.0, "ssim": 0.9, "flip": 0.1},
        "astc": {"psnr": 35, "ssim": 0.95, "flip": 0.05},
        "astc_block": "6x6",
        "astc_nearest": {"psnr": 34.0},
        "nearest_block": "8x8",
        "step": 100,
        "age": 1.0,
    }
    s.view = dataclasses.replace(s.view, view="split")
    panels.draw_gui(s, sent.append)
    shown = ui.shown()
    for expected in ("step 120", "30.00", "35.00", "6x6"):  # the snapshot's and the metrics' numbers are on screen
        assert expected in shown, (expected, shown)
    assert "50% of 30 s (cosine)" in shown and "Train longer" not in shown  # the schedule, half way
    s.view = dataclasses.replace(s.view, view="diff", fixed_level=2)
    panels.draw_gui(s, sent.append)
    assert sent == []  # drawing alone sends nothing
    ui.seen.clear()
    s.snapshot = FakeSnapshot(progress=0.8)
    panels.draw_gui(s, sent.append)
    assert "80% of 30 s (FLIP finish)" in ui.shown()
    ui.seen.clear()
    s.snapshot = FakeSnapshot(progress=1.0, done=True)
    panels.draw_gui(s, sent.append)
    assert "schedule done (30 s)" in ui.shown() and "Train longer" in ui.shown()


def test_hidden_panel_draws_nothing(frame):
    s = state()
    s.show_panel = False
    panels.draw_gui(s, lambda c: pytest.fail("no command expected"))


def test_pause_resume_and_apply_go_through_the_command_queue():
    s, sent = state(), []
    toggle_pause(s, sent.append)
    toggle_pause(s, sent.append)
    assert [type(c) for c in sent] == [Pause, Resume] and not s.paused
    s.edit = Config(model_preset("siren", lod=True, width=64), TrainConfig(mips=6, seconds=60.0))
    s.loss.push(1.0)
    apply_config(s, sent.append)
    assert isinstance(sent[-1], Reset) and sent[-1].config.model.arch == "siren"
    assert s.config == s.edit and s.loss.count == 0  # a new run starts a new plot


def test_an_invalid_configuration_is_a_message_not_a_command():
    s, sent = state(), []
    s.edit = dataclasses.replace(s.edit, train=dataclasses.replace(s.edit.train, batch=0))
    apply_config(s, sent.append)
    assert sent == [] and "cannot apply" in s.messages[-1] and "batch" in s.messages[-1]


def test_astc_block_matching_the_model():
    s = state()
    s.astc_block = "4x4"
    assert match_astc_block(s) == "4x4"
    s.astc_match_model = True
    s.snapshot = FakeSnapshot(payload_bits=int(2.0 * 512 * 512), mips=1)
    assert match_astc_block(s) == "8x8"
    s.snapshot = FakeSnapshot(payload_bits=int(0.9 * 512 * 512), mips=1)
    assert match_astc_block(s) == "12x12"
    # with mips the model's bits are compared with ASTC's whole chain: 2.0 bpp is nearer 10x10's chain (1.71)
    # than 8x8's (2.67); 8x8's chain is what a model sized to "2.00 bpp with mips" spends
    s.snapshot = FakeSnapshot(payload_bits=int(2.0 * 512 * 512), mips=6)
    assert match_astc_block(s) == "10x10"
    s.snapshot = FakeSnapshot(payload_bits=int(2.666 * 512 * 512), mips=6)
    assert match_astc_block(s) == "8x8"


def test_ring_buffer_is_float32_and_bounded():
    r = RingBuffer(4)
    for i in range(6):
        r.push(float(i))
    assert r.values().dtype == np.float32 and r.values().tolist() == [2, 3, 4, 5]
    r.clear()
    assert r.values().size == 0


def test_messages_keep_the_last_few():
    s = state()
    for i in range(20):
        s.say(f"m{i}")
    assert s.messages[-1] == "m19" and len(s.messages) <= 8


def test_the_rate_chooses_the_sizes_and_unticking_it_keeps_them(frame, monkeypatch):
    s = state()
    assert s.edit.bpp is not None
    sized = dataclasses.replace(s.edit.model, codec_grids="512x1x1,256x2x2,32x7x4")  # what sizing chose
    s.snapshot = FakeSnapshot(config=dataclasses.replace(s.config, model=sized))
    drags = []
    real_drag, real_checkbox = imgui.drag_int, imgui.checkbox
    monkeypatch.setattr(imgui, "drag_int", lambda label, *a, **k: (drags.append(label), real_drag(label, *a, **k))[1])
    panels.draw_network_panel(s, [].append)
    assert "width" not in drags and "mips" in drags  # sizes read-only while the rate chooses them
    untick = lambda label, v: (True, False) if label == "size to a bit rate" else real_checkbox(label, v)  # noqa: E731
    monkeypatch.setattr(imgui, "checkbox", untick)
    panels.draw_network_panel(s, [].append)
    assert s.edit.bpp is None and s.edit.model == sized  # by hand from the sizes in use
    monkeypatch.setattr(imgui, "checkbox", real_checkbox)
    drags.clear()
    panels.draw_network_panel(s, [].append)
    assert "width" in drags


def choose_in_combo(monkeypatch, label: str, choice: str) -> dict:
    """Make the combo `label` pick `choice` as a user would; returns what it was offered (items, current)."""
    seen = {}
    real_combo = imgui.combo

    def combo(name, current, items, *a, **k):
        if name == label:
            seen["items"], seen["current"] = list(items), current
            return True, items.index(choice)
        return real_combo(name, current, items, *a, **k)

    monkeypatch.setattr(imgui, "combo", combo)
    return seen


def test_allocation_combo_offers_the_ladders_and_restarts_with_the_choice(frame, monkeypatch):
    s = state()
    assert s.edit.model.arch == "codec" and s.edit.allocation == "race"
    seen = choose_in_combo(monkeypatch, "allocation", "mid")
    sent = []
    panels.draw_network_panel(s, sent.append)
    assert seen == {"items": ["fine", "mid"], "current": 0}  # "race" shows as the ladder the window trains
    assert s.edit.allocation == "mid" and isinstance(sent[-1], Reset) and sent[-1].config.allocation == "mid"
    grid = dataclasses.replace(s.edit, model=model_preset("grid"))
    s.edit = grid
    seen.clear()
    panels.draw_network_panel(s, [].append)
    assert seen == {}  # other families have no allocation


def test_device_combo_offers_what_the_machine_has_and_restarts_there(frame, monkeypatch):
    s = state()
    s.devices = ("auto", "cuda:0", "cpu")  # as the window fills it from trainer.core.device.available()
    assert s.edit.train.device == "auto"
    seen = choose_in_combo(monkeypatch, "device", "cpu")
    sent = []
    panels.draw_training_panel(s, sent.append)
    assert seen == {"items": ["auto", "cuda:0", "cpu"], "current": 0}
    assert s.edit.train.device == "cpu" and isinstance(sent[-1], Reset) and sent[-1].config.train.device == "cpu"


def test_a_click_shorter_than_a_frame_still_presses_a_button(monkeypatch):
    """Press and release between two frames (a quick tap, or a click while the loop idles): ImGui must still see the
    button go down for a frame and up the next, so the button fires."""
    import glfw

    from texinr.viewer.gui import imgui_backend

    ctx = imgui.create_context()
    io = imgui.get_io()
    io.fonts.get_tex_data_as_rgba32()
    io.ini_file_name = None
    state = {"down": False}
    fake = {
        "set_key_callback": lambda w, f: None,
        "set_char_callback": lambda w, f: None,
        "set_scroll_callback": lambda w, f: None,
        "set_mouse_button_callback": lambda w, f: None,
        "get_time": lambda: 0.0,
        "get_window_size": lambda w: (400, 300),
        "get_framebuffer_size": lambda w: (400, 300),
        "get_window_attrib": lambda w, a: 1,
        "get_cursor_pos": lambda w: (60.0, 40.0),
        "get_mouse_button": lambda w, i: glfw.PRESS if state["down"] and i == 0 else glfw.RELEASE,
    }
    for name, fn in fake.items():
        monkeypatch.setattr(imgui_backend.glfw, name, fn)
    inp = imgui_backend.GlfwInput(window=object())
    clicks = []

    def frame():
        inp.new_frame()
        imgui.new_frame()
        imgui.set_next_window_position(0, 0)
        imgui.set_next_window_size(300, 200)
        imgui.begin("w")
        imgui.set_cursor_pos((40, 30))
        if imgui.button("Sample", 80, 30):
            clicks.append(1)
        imgui.end()
        imgui.render()

    try:
        frame()  # hover first
        inp._on_mouse_button(None, 0, glfw.PRESS, 0)  # press and release before the next frame
        inp._on_mouse_button(None, 0, glfw.RELEASE, 0)
        frame()
        frame()
        assert clicks == [1]
        frame()
        assert clicks == [1]  # once, not on every frame after
    finally:
        imgui.destroy_context(ctx)


def test_generate_panel_draws_while_opening_with_and_without_a_prior(frame):
    from texinr.viewer.gui.panels import GenerateState
    from texinr.viewer.workers.generate_worker import SpaceInfo

    s = state()
    panels.draw_gui(s, [].append)  # no space: the panel says how to open one
    s.generate = GenerateState(path="gen")
    panels.draw_gui(s, [].append)  # still opening
    for has_prior in (True, False):
        s.generate.info = SpaceInfo("gen", 864, 64, 64, 3, 64, 24.1, has_prior)
        s.generate.ends = ("sample (seed 0)", "crop 3")
        panels.draw_gui(s, [].append)
    assert s.requests == []  # drawing alone asks for nothing
    assert s.generate.eta == 1.0 and s.generate.steps == 100  # texinr-generate's defaults, one definition
