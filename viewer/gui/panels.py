"""One function per panel. Each reads the ViewerState and returns or queues what the user asked for.

Nothing here touches torch or GL: panels send commands to the training worker and change view settings.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import imgui
import numpy as np

from texinr.trainer.core import families
from texinr.trainer.core.astc import SQUARE_BLOCKS, block_bits, chain_bpp, nearest_block, nominal_bpp
from texinr.trainer.core.channels import parse_layout, shipped_images
from texinr.trainer.core.config import (
    BPP_RANGE,
    CODEC_LADDERS,
    DEFAULT_BPP,
    DEFAULT_LADDER,
    Config,
    TrainConfig,
    model_preset,
    setting_spec,
)
from texinr.trainer.core.report import map_rows
from texinr.trainer.core.sizing import rate_budget
from texinr.trainer.generation.generate import SETTINGS as GENERATE
from texinr.viewer.render.filtering import NEURAL_FILTERS
from texinr.viewer.render.render import SOURCES, VIEWS, ViewSettings, channel_views
from texinr.viewer.workers.generate_worker import DEFAULT_SAVE, CropEnd, Mix, SampleEnd
from texinr.viewer.workers.worker import Pause, Reset, Resume, SetLearningRate, SetThreads, TrainLonger


class RingBuffer:
    """Fixed-size float32 history for ImGui's plot_lines (which wants float32 arrays)."""

    def __init__(self, size: int = 512):
        self.data = np.zeros(size, np.float32)
        self.count = 0

    def push(self, value: float) -> None:
        self.data = np.roll(self.data, -1)
        self.data[-1] = value
        self.count = min(self.count + 1, len(self.data))

    def values(self) -> np.ndarray:
        return self.data[len(self.data) - self.count :] if self.count else self.data[:0]

    def clear(self) -> None:
        self.count = 0


@dataclass
class GenerateState:
    """The Generate panel: what the generator reported (info, ends, t) and what the user is editing."""

    path: str
    info: object | None = None  # generate_worker.SpaceInfo once the space has opened
    ends: tuple[str, str] = ("", "")
    t: float = 0.0
    version: int = 0
    seed: int = 2  # seeds 0 and 1 are the ends shown first
    steps: int = int(GENERATE["sampling_steps"]["default"])
    eta: float = float(GENERATE["eta"]["default"])
    crop: int = 0


@dataclass
class ViewerState:
    """Everything the panels show or edit; owned by the main thread."""

    config: Config
    edit: Config  # what the Network panel edits; Apply sends it as Reset
    view: ViewSettings = field(default_factory=ViewSettings)
    astc_block: str = "6x6"
    astc_match_model: bool = False
    snapshot: object | None = None
    loss: RingBuffer = field(default_factory=RingBuffer)
    psnr: RingBuffer = field(default_factory=RingBuffer)
    metrics: dict = field(default_factory=dict)
    screen_metrics: dict = field(default_factory=dict)  # the current view's on-screen numbers (window.ScreenScorer)
    accumulation: tuple[int, int] = (0, 0)  # accumulated frames of the still view so far, and when it has converged
    messages: list[str] = field(default_factory=list)
    paused: bool = False
    render_scale: float = 1.0
    target_fps: float = 30.0
    threads: int = 0
    devices: tuple[str, ...] = ("auto", "cpu")  # what the device combo offers (trainer.core.device.available)
    fps: float = 0.0
    render_size: tuple[int, int] = (0, 0)
    image_size: tuple[int, int] = (0, 0)
    mesh_name: str = ""
    texture_name: str = ""
    layout: str = "rgb"  # what the set's channels are (trainer/core/channels.py): one texture, or a material's maps
    show_panel: bool = True
    inspect_on: bool = True  # the pixel inspector follows the cursor (key I)
    inspect: dict | None = None  # what is under the cursor (App.inspect)
    panel_rect: tuple[float, float, float, float] = (8.0, 8.0, 380.0, 680.0)  # x, y, w, h in window pixels
    requests: list = field(default_factory=list)  # "screenshot", "save_model", ...; ("generate", command)
    path_input: str = ""
    generate: GenerateState | None = None  # a space of textures is open (the Generate panel)

    def say(self, message: str) -> None:
        self.messages = [*self.messages[-7:], message]


def model_bpp(state: ViewerState) -> float | None:
    snap = state.snapshot
    if snap is None:
        return None
    w, h = state.image_size
    return snap.payload_bits / max(w * h, 1)


def draw_gui(state: ViewerState, send) -> None:
    """The whole panel: one collapsing section per job."""
    if not state.show_panel:
        return
    imgui.set_next_window_position(8, 8, imgui.FIRST_USE_EVER)
    imgui.set_next_window_size(380, 680, imgui.FIRST_USE_EVER)
    imgui.begin("texinr")
    state.panel_rect = (*imgui.get_window_position(), *imgui.get_window_size())
    if state.generate is not None:  # a space of textures on show: its panel instead of training's
        draw_generate_panel(state)
    else:
        draw_training_panel(state, send)
        draw_network_panel(state, send)
    draw_view_panel(state)
    draw_metrics_panel(state)
    draw_inspector_panel(state)
    if state.generate is None:
        draw_generate_panel(state)
    draw_files_panel(state)
    draw_messages(state)
    imgui.end()


def schedule_text(snap) -> str:
    """The training schedule's progress as the panel's bar says it: budget, where the run is, what comes next."""
    tc = snap.config.train
    budget = f"{tc.steps} steps" if tc.steps is not None else f"{tc.seconds:.3g} s"
    if snap.done:
        return f"schedule done ({budget})"
    ff = tc.flip_finish if tc.flip_finish is not None else families.get(snap.config.model.arch).flip_finish
    phase = "FLIP finish" if ff and snap.progress >= 1.0 - ff else tc.schedule
    return f"{snap.progress:.0%} of {budget} ({phase})"


def draw_training_panel(state: ViewerState, send) -> None:
    if not imgui.collapsing_header("Training", flags=imgui.TREE_NODE_DEFAULT_OPEN)[0]:
        return
    snap = state.snapshot
    if imgui.button("Resume" if state.paused else "Pause"):
        toggle_pause(state, send)
    imgui.same_line()
    if imgui.button("Reset"):
        send(Reset(state.config))
        state.loss.clear()
        state.psnr.clear()
    if snap is not None:
        imgui.text(f"step {snap.step}   {snap.elapsed:.1f} s   {snap.steps_per_s:.1f} steps/s")
        imgui.text(f"loss {snap.loss:.2e}   batch PSNR {snap.psnr:.2f} dB   lr {snap.lr:.2e}")
        imgui.progress_bar(float(snap.progress), (-1, 0), schedule_text(snap))
        if snap.done:
            if imgui.button("Train longer"):
                send(TrainLonger())
            if imgui.is_item_hovered():
                imgui.set_tooltip("another schedule of the same budget, from the current weights")
    if state.loss.count > 1:
        imgui.plot_lines(
            "##loss",
            np.log10(np.maximum(state.loss.values(), 1e-12)).astype(np.float32),
            overlay_text="log10 loss",
            graph_size=(0, 50),
        )
        imgui.plot_lines("##psnr", state.psnr.values(), overlay_text="PSNR (dB)", graph_size=(0, 50))
    bpp = model_bpp(state)
    if bpp is not None:
        w, h = state.image_size
        mips, images = state.snapshot.mips, shipped_count(state.layout)
        block = nearest_block(bpp / images, w, h, mips)
        per = f" per map x {images}" if images > 1 else ""
        astc_bpp = images * chain_bpp(w, h, block, mips)
        imgui.text(f"model {bpp:.3f} bpp   ASTC nearest: {block}{per} ({astc_bpp:.2f} bpp)")
        near, mine = state.metrics.get("astc_nearest"), state.metrics.get("neural")
        if near and mine and "psnr" in mine and "psnr" in near:
            imgui.text(
                f"PSNR: model {mine['psnr']:.2f} dB, ASTC {state.metrics['nearest_block']} {near['psnr']:.2f} dB"
            )
    changed, threads = imgui.slider_int("trainer threads", state.threads, 0, 16, "%d (0 = all)")
    if changed:
        state.threads = threads
        send(SetThreads(threads))
    draw_device(state, send)


def draw_device(state: ViewerState, send) -> None:
    """The torch device that trains: auto or one this machine has; a change starts the run again there."""
    current = state.edit.train.device
    names = list(state.devices) if current in state.devices else [*state.devices, current]
    changed, i = imgui.combo("device", names.index(current), names)
    if imgui.is_item_hovered():
        used = state.snapshot.device if state.snapshot is not None else "?"
        imgui.set_tooltip(f"{setting_spec(TrainConfig, 'device')['help']}; training on {used}")
    if changed and names[i] != current:
        state.edit = dataclasses.replace(state.edit, train=dataclasses.replace(state.edit.train, device=names[i]))
        apply_config(state, send)


def toggle_pause(state: ViewerState, send) -> None:
    state.paused = not state.paused
    send(Pause() if state.paused else Resume())


def draw_rate_control(state: ViewerState, send) -> None:
    """The bit rate: a slider and one button per square ASTC block (its bpp for this texture). A change re-sizes
    the model (trainer.core.sizing.resolve, in the worker) and restarts training."""
    bpp = state.edit.bpp
    changed, on = imgui.checkbox("size to a bit rate", bpp is not None)
    if changed:
        state.edit = dataclasses.replace(state.edit, bpp=DEFAULT_BPP if on else None)
        if on:
            apply_config(state, send)
        else:  # by hand from the sizes in use, not from the family's preset
            sized = state.snapshot.config.model if state.snapshot is not None else None
            if sized is not None and sized.arch == state.edit.model.arch:
                state.edit = dataclasses.replace(state.edit, model=sized)
        return
    if bpp is None:
        return
    lo, hi = BPP_RANGE
    changed, value = imgui.slider_float("bit rate (bpp)", bpp, lo, hi, "%.3f", flags=imgui.SLIDER_FLAGS_LOGARITHMIC)
    if changed:
        state.edit = dataclasses.replace(state.edit, bpp=min(max(value, BPP_RANGE[0]), BPP_RANGE[1]))
    if imgui.is_item_deactivated_after_edit():
        apply_config(state, send)
    w, h = state.image_size
    for i, block in enumerate(SQUARE_BLOCKS):
        if i:
            imgui.same_line()
        if imgui.button(block):  # a material: that block for every map it ships
            rate = shipped_count(state.layout) * block_bits(w, h, block) / max(w * h, 1)
            state.edit = dataclasses.replace(state.edit, bpp=rate)
            apply_config(state, send)
    mips = state.edit.train.mips
    if mips > 1 and w and h:
        budget = rate_budget(state.edit.bpp, w, h, mips, shipped_count(state.layout))
        imgui.text_disabled(f"with {mips} mips: sized to ASTC's chains, {budget:.3f} bpp")
    if families.get(state.edit.model.arch).allocations:
        draw_allocation(state, send)


def draw_allocation(state: ViewerState, send) -> None:
    """The codec's allocation of its bits. The window trains one ladder (texinr-train and the bench race them:
    a race would hold back the first weights); "race" shows as the ladder it resolves to here."""
    ladders = list(CODEC_LADDERS)
    current = state.edit.allocation if state.edit.allocation in CODEC_LADDERS else DEFAULT_LADDER
    changed, i = imgui.combo("allocation", ladders.index(current), ladders)
    if imgui.is_item_hovered():
        imgui.set_tooltip("how the bits are spread over the latent grids (texinr-train races these)")
    if changed and ladders[i] != current:
        state.edit = dataclasses.replace(state.edit, allocation=ladders[i])
        apply_config(state, send)


def draw_network_panel(state: ViewerState, send) -> None:
    if not imgui.collapsing_header("Network", flags=imgui.TREE_NODE_DEFAULT_OPEN)[0]:
        return
    m, t = state.edit.model, state.edit.train
    names = families.names()
    changed, idx = imgui.combo("family", names.index(m.arch), [families.get(a).label for a in names])
    if changed:
        m = model_preset(names[idx], lod=m.lod)
        t = dataclasses.replace(t, batch=None, flip_finish=None)  # the new family's defaults
        state.edit = dataclasses.replace(state.edit, model=m, train=t)
        apply_config(state, send)  # sized to the same rate
        return
    draw_rate_control(state, send)
    m, t = state.edit.model, state.edit.train
    sizes = ("width", "depth", *families.get(m.arch).options)
    if state.edit.bpp is not None:  # the bit rate chooses the sizes: show the ones in use, read-only
        sized = state.snapshot.config.model if state.snapshot is not None else None
        sized = sized if sized is not None and sized.arch == m.arch else None
        imgui.text_disabled("sizes from the bit rate (untick to edit):")
        for name in sizes:
            imgui.text_disabled(f"  {name.replace('_', ' ')}: {getattr(sized, name) if sized else '(sizing...)'}")
    else:
        # every setting of this family, with the range, choices and help of its one definition (trainer/core/config.py)
        for name in sizes:
            m = _setting(m, name)
    if t.batch is None:
        t = dataclasses.replace(t, batch=families.get(m.arch).default_batch)
    if t.flip_finish is None:
        t = dataclasses.replace(t, flip_finish=families.get(m.arch).flip_finish)
    for name in ("mips", "optimizer", "schedule", "batch", "flip_finish", "jitter"):
        t = _setting(t, name)
    if channel_views(state.layout):  # a material's loss balance
        t = _setting(t, "balance")
    edit = _setting(state.edit, "bits")
    state.edit = dataclasses.replace(edit, model=m, train=t)
    now = state.snapshot.lr if state.snapshot is not None else None
    lr = t.lr if t.lr is not None else (now or 0.0)  # the run's schedule when none was set by hand
    changed, lr = imgui.input_float("learning rate (now)", lr, format="%.2e")
    if changed and lr > 0:
        send(SetLearningRate(lr))  # no restart needed
        state.edit = dataclasses.replace(state.edit, train=dataclasses.replace(t, lr=lr))
    if imgui.button("Apply (restart training)"):
        apply_config(state, send)


def apply_config(state: ViewerState, send) -> None:
    try:
        cfg = state.edit.validate()
    except ValueError as e:
        state.say(f"cannot apply: {e}")
        return
    state.config = cfg
    send(Reset(cfg))
    state.loss.clear()
    state.psnr.clear()


def _setting(obj, name: str):
    """One widget for a setting, from its single definition: a combo for choices, a checkbox for a flag, a drag
    for a number clamped to the same range validate() accepts (so the panel and the command line agree)."""
    spec = setting_spec(type(obj), name)
    label, value = name.replace("_", " "), getattr(obj, name)
    if spec["choices"] is not None:
        names = [str(c) for c in spec["choices"]]
        changed, i = imgui.combo(label, names.index(str(value)), names)
        v = spec["choices"][i]
    elif spec["type"] == "bool":
        changed, v = imgui.checkbox(label, bool(value))
    elif spec["type"] == "int":
        lo, hi = spec["lo"], spec["hi"]
        changed, v = imgui.drag_int(label, int(value), 0.2, lo, hi, flags=imgui.SLIDER_FLAGS_ALWAYS_CLAMP)
        v = min(max(v, lo), hi)
    elif spec["type"] == "float":
        lo, hi = spec["lo"], spec["hi"]
        changed, v = imgui.drag_float(
            label, float(value), max(abs(float(value)), 1e-3) * 0.01, lo, hi, "%.4g", imgui.SLIDER_FLAGS_ALWAYS_CLAMP
        )
        v = min(max(v, lo), hi)
    else:
        changed, v = imgui.input_text(label, str(value), 256)
    if imgui.is_item_hovered():
        imgui.set_tooltip(spec["help"])
    return dataclasses.replace(obj, **{name: v}) if changed else obj


def draw_view_panel(state: ViewerState) -> None:
    if not imgui.collapsing_header("View", flags=imgui.TREE_NODE_DEFAULT_OPEN)[0]:
        return
    v = state.view
    names = list(VIEWS)
    changed, idx = imgui.combo("view", names.index(v.view), names)
    if changed:
        v = dataclasses.replace(v, view=names[idx])
    if v.view in ("split", "diff"):
        srcs = list(SOURCES)
        _, a = imgui.combo("left / a", srcs.index(v.left), srcs)
        _, b = imgui.combo("right / b", srcs.index(v.right), srcs)
        v = dataclasses.replace(v, left=srcs[a], right=srcs[b])
    if v.view == "split":
        _, d = imgui.slider_float("divider", v.divider, *_range(ViewSettings, "divider"))
        v = dataclasses.replace(v, divider=d)
    if v.view == "diff":
        _, g = imgui.slider_float("gain", v.diff_gain, *_range(ViewSettings, "diff_gain"))
        _, heat = imgui.checkbox("heat map", v.diff_heat)
        v = dataclasses.replace(v, diff_gain=g, diff_heat=heat)
    filters = list(NEURAL_FILTERS)
    _, f = imgui.combo("neural filter", filters.index(v.filter), filters)
    v = dataclasses.replace(v, filter=filters[f])
    if imgui.is_item_hovered():
        imgui.set_tooltip(setting_spec(ViewSettings, "filter")["help"])
    done, frames = state.accumulation
    if v.filter == "accumulate" and frames:
        imgui.same_line()
        imgui.text_disabled("converged" if done > frames else f"{done}/{frames}")
    _, auto = imgui.checkbox("automatic LOD", v.fixed_level < 0)
    level = -1 if auto else max(v.fixed_level, 0)
    if not auto:
        _, level = imgui.slider_int("level", level, 0, int(_range(ViewSettings, "fixed_level")[1]))
    views = channel_views(state.layout)
    if views:  # a material: shaded, or one map; two lights the user turns
        i = views.index(v.channel) if v.channel in views else 0
        _, i = imgui.combo("channel", i, views)
        v = dataclasses.replace(v, channel=views[i])
        for k, key in enumerate(("light_dir_world", "light2_dir_world")):
            az, el = direction_angles(getattr(v, key))
            c1, az = imgui.slider_float(f"light {k + 1} azimuth", az, -180.0, 180.0)
            c2, el = imgui.slider_float(f"light {k + 1} elevation", el, -89.0, 89.0)
            if c1 or c2:
                v = dataclasses.replace(v, **{key: angles_direction(az, el)})
        _, i1 = imgui.slider_float("light 1 intensity", v.light_intensity[0], 0.0, 8.0)
        _, i2 = imgui.slider_float("light 2 intensity", v.light_intensity[1], 0.0, 8.0)
        _, amb = imgui.slider_float("environment", v.ambient, 0.0, 2.0)
        v = dataclasses.replace(v, light_intensity=(i1, i2), ambient=amb)
        lit = v.lit
    else:
        _, lit = imgui.checkbox("lit", v.lit)
    _, repeat = imgui.slider_float("texture repeats", v.uv_repeat, *_range(ViewSettings, "uv_repeat"))
    state.view = dataclasses.replace(v, fixed_level=level, lit=lit, uv_repeat=repeat)
    _, state.astc_match_model = imgui.checkbox("ASTC: equal bits (the model's bpp)", state.astc_match_model)
    if not state.astc_match_model:
        labels = [f"{b} ({nominal_bpp(b):.2f} bpp)" for b in SQUARE_BLOCKS]
        _, i = imgui.combo("ASTC block", SQUARE_BLOCKS.index(state.astc_block), labels)
        state.astc_block = SQUARE_BLOCKS[i]
    _, state.render_scale = imgui.slider_float("render scale", state.render_scale, 0.25, 1.0)
    _, state.target_fps = imgui.slider_float("frame cap (fps)", state.target_fps, 5.0, 60.0)
    w, h = state.render_size
    imgui.text(f"render {w}x{h}   {state.fps:.1f} fps")
    imgui.text_disabled("hold N: original; R: reset view; Space: pause; Tab: panel; F12: screenshot")


def direction_angles(d) -> tuple[float, float]:
    """A world direction -> (azimuth about +y from +z, elevation above the xz plane), degrees."""
    x, y, z = (float(c) for c in d)
    n = max(math.sqrt(x * x + y * y + z * z), 1e-9)
    return math.degrees(math.atan2(x, z)), math.degrees(math.asin(max(-1.0, min(1.0, y / n))))


def angles_direction(az: float, el: float) -> tuple[float, float, float]:
    a, e = math.radians(az), math.radians(el)
    return (math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a))


def material_metric_lines(m: dict, images: int, bpp: float | None, block: str, chain: float) -> list[str]:
    """The Metrics panel for a material: the set's bits, then each judged number, model beside ASTC."""
    lines = [f"set: model {bpp or 0.0:.3f} bpp, ASTC {block} per map ({images} maps) {chain:.3f} bpp"]
    neural, astc = (m.get("neural") or {}).get("maps"), (m.get("astc") or {}).get("maps")
    if not astc:
        return lines
    lines.append(f"{'map':12s} {'measure':15s} {'model':>8s} {'ASTC':>8s}")
    for name, measure, p, q, ahead in map_rows(neural or astc, astc):
        fmt = "8.4f" if measure == "FLIP" else "8.2f"
        mine = "" if neural is None else ("exact" if p is None else format(p, fmt))
        who = "" if neural is None else ("  tie" if ahead is None else ("  model" if ahead else "  ASTC"))
        theirs = "exact" if q is None else format(q, fmt)
        lines.append(f"{name[:12]:12s} {measure[:15]:15s} {mine:>8s} {theirs:>8s}{who}")
    return lines


def _when(m: dict) -> str:
    """When the numbers were taken: the training step (none when nothing trains) and how long ago."""
    step = m.get("step")
    return f"{'' if step is None else f'at step {step}, '}{m.get('age', 0.0):.0f} s ago"


def draw_metrics_panel(state: ViewerState) -> None:
    if not imgui.collapsing_header("Metrics", flags=imgui.TREE_NODE_DEFAULT_OPEN)[0]:
        return
    m = state.metrics
    if not m:
        imgui.text_disabled("computing in the background ...")
        return
    if channel_views(state.layout):
        w, h = state.image_size
        mips = state.snapshot.mips if state.snapshot is not None else 1
        block, images = m.get("astc_block", ""), shipped_count(state.layout)
        chain = images * chain_bpp(w, h, block, mips) if w and h and block else 0.0
        for line in material_metric_lines(m, images, model_bpp(state), block, chain):
            imgui.text(line)
        imgui.text_disabled(f"{_when(m)}; ASTC with its mip chains")
        return
    w, h = state.image_size
    mips = state.snapshot.mips if state.snapshot is not None else 1
    bpp = model_bpp(state)
    imgui.text(f"{'':14s}{'bpp':>7s}{'PSNR':>8s}{'SSIM':>8s}{'FLIP':>8s}")
    rows = {}
    for name in ("neural", "astc"):
        r = m.get(name)
        if r:
            block = m.get("astc_block", "")
            rate = bpp if name == "neural" else chain_bpp(w, h, block, mips) if w and h and block else 0.0
            label = "model" if name == "neural" else f"ASTC {block}"
            imgui.text(f"{label:14s}{rate or 0.0:7.3f}{r['psnr']:8.2f}{r['ssim']:8.4f}{r['flip']:8.4f}")
            rows[name] = r
    if len(rows) == 2:
        imgui.text(ahead_line(rows["neural"], rows["astc"]))
    preset = m.get("astc_preset", "")
    imgui.text_disabled(f"{_when(m)}; ASTC (astcenc {preset}) with its mip chain")
    for line in screen_metric_lines(state.screen_metrics):
        imgui.text(line)


def screen_metric_lines(sm: dict) -> list[str]:
    """The on-screen numbers of the current view: the neural and ASTC frames against the reference frame (the
    original with trilinear + anisotropic filtering) on the mesh's pixels."""
    if not sm:
        return []
    if "error" in sm:
        return ["on screen:", f"  {sm['error']}"]
    lines = [f"on screen ({sm['pixels']} mesh pixels, against the original):"]
    for name, label in (("neural", "model"), ("astc", "ASTC")):
        r = sm.get(name)
        if r:
            lines.append(f"  {label:12s}{r['psnr']:8.2f} dB  FLIP {r['flip']:.4f}")
    if sm.get("neural") and sm.get("astc"):
        lines.append(f"  model - ASTC {sm['neural']['psnr'] - sm['astc']['psnr']:+.2f} dB ({sm['note']})")
    return lines


def inspector_lines(p: dict) -> list[str]:
    """The pixel inspector's text: where, then each source's 8-bit colour and its error against the original."""
    (u, v), (col, row) = p["uv"], p["texel"]
    orig = np.round(np.asarray(p["original"]) * 255).astype(int)
    lines = [f"uv {u:.4f} {v:.4f}   texel {col}, {row}   mip {p['level']:.2f}", f"original {tuple(orig)}"]
    for name in ("neural", "astc"):
        if name in p:
            c = np.round(np.asarray(p[name]) * 255).astype(int)
            err = np.abs(c - orig)
            lines.append(f"{name:8s} {tuple(c)}   error {tuple(err)} (mean {err.mean():.1f})")
    return lines


def draw_inspector_panel(state: ViewerState) -> None:
    if not imgui.collapsing_header("Inspector", flags=imgui.TREE_NODE_DEFAULT_OPEN)[0]:
        return
    _, state.inspect_on = imgui.checkbox("follow the cursor (I)", state.inspect_on)
    if state.inspect is None:
        imgui.text_disabled("hover over the mesh")
        return
    for line in inspector_lines(state.inspect):
        imgui.text(line)
    imgui.text_disabled("8-bit RGB; original and ASTC at the base-level texel, neural at the pixel's mip level")


def ahead_line(model: dict, astc: dict) -> str:
    """Who is ahead on each metric (higher PSNR / SSIM, lower FLIP)."""
    who = {
        "PSNR": model["psnr"] > astc["psnr"],
        "SSIM": model["ssim"] > astc["ssim"],
        "FLIP": model["flip"] < astc["flip"],
    }
    return "ahead: " + ", ".join(f"{k} {'model' if v else 'ASTC'}" for k, v in who.items())


def draw_generate_panel(state: ViewerState) -> None:
    """New textures from a space of textures (texinr-generate): sample one into end A or B, or take a training
    crop, and move between the two; the shader draws the shared network with the code as its weights."""
    g = state.generate
    if not imgui.collapsing_header("Generate", flags=imgui.TREE_NODE_DEFAULT_OPEN if g else 0)[0]:
        return
    if g is None:
        imgui.text_wrapped("Open a space of textures: texinr-view --space DIR, or drop texinr-generate's folder here.")
        return
    info = g.info
    if info is None:
        imgui.text(f"opening {g.path} ...")
        return
    imgui.text_wrapped(
        f"{info.codes} codes of {info.latent} numbers; SIREN {info.width}x{info.depth}; crops {info.crop} px, "
        f"fitted median {info.fit_psnr:.1f} dB; prior: {'yes' if info.has_prior else 'none'}"
    )
    send = lambda c: state.requests.append(("generate", c))  # noqa: E731
    if info.has_prior:
        seed, steps, eta = GENERATE["seed"], GENERATE["sampling_steps"], GENERATE["eta"]
        _, g.seed = imgui.input_int("seed", g.seed)
        g.seed = min(max(int(seed["lo"]), g.seed), int(seed["hi"]))
        _, g.steps = imgui.slider_int("sampling steps", g.steps, int(steps["lo"]), int(steps["hi"]))
        _, g.eta = imgui.slider_float("eta", g.eta, float(eta["lo"]), float(eta["hi"]))
        for end, label in ((0, "Sample into A"), (1, "Sample into B")):
            if end:
                imgui.same_line()
            if imgui.button(label):
                send(SampleEnd(end, g.seed, g.steps, g.eta))
                g.seed += 1
    _, g.crop = imgui.slider_int("training crop", g.crop, 0, info.codes - 1)
    for end, label in ((0, "Crop into A"), (1, "Crop into B")):
        if end:
            imgui.same_line()
        if imgui.button(label):
            send(CropEnd(end, g.crop))
    for end, label in ((0, "Encode the texture into A"), (1, "into B")):
        if end:
            imgui.same_line()
        if imgui.button(label):
            state.requests.append(("encode_texture", end))
    if imgui.is_item_hovered():
        imgui.set_tooltip("the texture the window loaded (its centre crop): where it sits in this space")
    changed, repeat = imgui.slider_float("texture repeats", state.view.uv_repeat, *_range(ViewSettings, "uv_repeat"))
    if changed:  # the same setting as the View panel's: a tile is judged repeated across the mesh
        state.view = dataclasses.replace(state.view, uv_repeat=repeat)
    imgui.text(f"A: {g.ends[0]}")
    imgui.text(f"B: {g.ends[1]}")
    changed, t = imgui.slider_float("A <-> B", g.t, 0.0, 1.0)
    if changed:
        g.t = t
        send(Mix(t))
    if imgui.is_item_hovered():
        imgui.set_tooltip("the texture on show: (1 - t) A + t B, code by code")
    if imgui.button("Save the texture on show"):
        state.requests.append("save_model")
    imgui.same_line()
    imgui.text_disabled(state.path_input.strip() or DEFAULT_SAVE)
    if imgui.is_item_hovered():
        imgui.set_tooltip("a .texinr (an ordinary SIREN); the file name is the Files panel's path")
    imgui.text_wrapped("eta 0 samples with DDIM (deterministic), 1 with DDPM's ancestral steps.")
    imgui.text_disabled("Training is off while a space of textures is shown.")


def draw_files_panel(state: ViewerState) -> None:
    if not imgui.collapsing_header("Files")[0]:
        return
    imgui.text(f"mesh: {state.mesh_name}")
    imgui.text(f"texture: {state.texture_name}")
    _, state.path_input = imgui.input_text("path", state.path_input, 1024)
    if imgui.button("Open"):
        state.requests.append("open")
    imgui.same_line()
    if imgui.button("Save model"):
        state.requests.append("save_model")
    imgui.same_line()
    if imgui.button("Screenshot"):
        state.requests.append("screenshot")
    imgui.text_disabled("or drop .obj / .png / .jpg / .texinr files or a texinr-generate folder on the window")


def draw_messages(state: ViewerState) -> None:
    for msg in state.messages[-4:]:
        imgui.text_wrapped(msg)


def size_summary(m) -> str:
    """The sizes that sizing chose, in a line."""
    return families.summary(m)


def match_astc_block(state: ViewerState) -> str:
    """The ASTC block shown: by default the one of nearest bpp to the model's (mip chain counted when the model
    has mips), or the block pinned by hand."""
    if not state.astc_match_model:
        return state.astc_block
    bpp = model_bpp(state)
    if bpp is None:
        return state.astc_block
    w, h = state.image_size
    return nearest_block(bpp / shipped_count(state.layout), w, h, state.snapshot.mips)


def shipped_count(layout: str) -> int:
    """How many images ASTC ships for the set (its bits are their sum)."""
    return len(shipped_images(parse_layout(layout)))


def _range(cls, name: str) -> tuple[float, float]:
    """A setting's range from its one definition, for a slider."""
    spec = setting_spec(cls, name)
    return float(spec["lo"]), float(spec["hi"])
