"""The interactive texinr-view window: glfw + moderngl + ImGui on the main thread, training on a worker thread.

Frames are drawn on demand: the scene is re-rendered (at the render scale, into an offscreen texture) only when the
camera, the view or the weights changed; the panel is redrawn at a capped rate over that texture.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import glfw
import imgui
import moderngl
import numpy as np
import torch
from PIL import Image

from texinr.trainer.core.arguments import for_layout
from texinr.trainer.core.astc import nearest_block
from texinr.trainer.core.data import load_image
from texinr.trainer.core.device import available as available_devices
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import gltf_materials, mtl_maps
from texinr.trainer.core.modelfile import atomic_write, pack, save
from texinr.trainer.core.models import build_model
from texinr.trainer.generation.generate import SPACE
from texinr.viewer.gui.imgui_backend import GlfwInput, ImguiRenderer
from texinr.viewer.gui.panels import GenerateState, ViewerState, draw_gui, match_astc_block, shipped_count, toggle_pause
from texinr.viewer.render.mesh import load_mesh
from texinr.viewer.render.render import (
    BACKGROUND,
    MeshRenderer,
    OffscreenTarget,
    ViewSettings,
    ViewTarget,
    check_layout,
    probe_network,
    set_proc_loader,
)
from texinr.viewer.render.screen import view_frames
from texinr.viewer.scene import load_surface, make_camera, packed_from_file, save_png, with_layout
from texinr.viewer.workers.generate_worker import DEFAULT_SAVE, EncodeEnd, GenerateWorker, SaveShown
from texinr.viewer.workers.metrics_worker import MetricsWorker, ScreenScorer
from texinr.viewer.workers.worker import Reset, TrainingWorker

_BLIT_VS = """#version 330 core
out vec2 v_uv01;
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    v_uv01 = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
_BLIT_FS = """#version 330 core
uniform sampler2D t_scene;
in vec2 v_uv01;
out vec4 f_color;
void main() {
    f_color = texture(t_scene, v_uv01);
}
"""


PUBLISH_EVERY_S = float(os.environ.get("TEXINR_PUBLISH_EVERY", "0.5"))
"""Seconds between weight snapshots on screen: each one re-renders the scene, which shares the 2 cores with training."""
METRICS_EVERY_S = float(os.environ.get("TEXINR_METRICS_EVERY", "10.0"))
"""Seconds between background metric updates (PSNR, SSIM, FLIP of the model at its stored precision) ..."""
METRICS_SHARE_INV = 10.0
"""... or 10 x what the last one took, if longer, so that they take at most ~10% of the CPU that training shares
(at 4096^2 one evaluation, decode and FLIP included, takes ~40 s on 2 cores)."""


SCREEN_EVERY_S = float(os.environ.get("TEXINR_SCREEN_EVERY", "4.0"))
"""Seconds between on-screen numbers (the current view's neural and ASTC frames against its reference frame),
taken only when the view has settled (no drag, accumulation converged) and something changed."""


SCENE_TIME_SHARE_INV = 9.0
"""New weights re-render the scene at most once per 9 x (median recent cost of showing them: the new program, since
a small network's weights are written into the shader, plus the frame), so that showing weights takes at most ~10%
of the time and training keeps the cores (camera, view and panel changes re-render at once) ..."""
MOTION_FRAME_S = 1.0 / 15.0
"""While the camera is dragged the scene renders at a lower resolution chosen so a frame takes about this long
(dynamic resolution, as instant-ngp does); when the mouse is released it renders at full resolution again."""
WEIGHTS_LATENCY_S = 2.0
"""... but never later than this after the weights arrived: new weights are on screen within WEIGHTS_LATENCY_S plus
one update (program + frame), however slow the frame (a 1 s codec frame once held weights back for 9 s per update;
a frame that took a compile once held them for a minute)."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    d = Path(base) / "texinr"
    d.mkdir(parents=True, exist_ok=True)
    return d


def remembered_size() -> tuple[int, int]:
    """The window size of the last run (config dir), or 1280 x 800."""
    try:
        w, h = json.loads((config_dir() / "window.json").read_text())["size"]
        if 64 <= w <= 16384 and 64 <= h <= 16384:
            return int(w), int(h)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return 1280, 800


def remember_size(size: tuple[int, int]) -> None:
    w, h = size
    if w >= 64 and h >= 64:  # not a minimised or 1x1 window
        atomic_write(config_dir() / "window.json", json.dumps({"size": [w, h]}).encode())


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class App:
    """One window. `step()` runs one iteration of the loop, so tests can drive it frame by frame."""

    def __init__(self, cmd, size: tuple[int, int] | None = None, screenshot_dir: Path | None = None):
        if not glfw.init():
            raise TexinrError("cannot open a window: glfw could not initialise (no display?)")
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)

        self.mesh = load_mesh(cmd.mesh, cmd.material)
        self.image, self.layout, texture, notes = load_surface(cmd, self.mesh)
        cmd = with_layout(cmd, self.layout)
        self.cmd = cmd
        title = f"texinr — {Path(cmd.mesh).name} — {Path(texture).name}"
        size = size or remembered_size()
        self.window = glfw.create_window(size[0], size[1], title, None, None)
        if not self.window:
            glfw.terminate()
            raise TexinrError("cannot open a window (OpenGL 3.3 core not available on this display)")
        glfw.make_context_current(self.window)
        glfw.swap_interval(0)
        self.ctx = moderngl.create_context()
        set_proc_loader(lambda name: glfw.get_proc_address(name.decode()))
        imgui.create_context()
        self.io = imgui.get_io()
        self.io.ini_file_name = str(config_dir() / "imgui.ini").encode()
        self.gui = ImguiRenderer(self.ctx)
        # our callbacks first; GlfwInput installs its own and chains back to these
        glfw.set_key_callback(self.window, self._on_key)
        glfw.set_mouse_button_callback(self.window, self._on_mouse_button)
        glfw.set_scroll_callback(self.window, self._on_scroll)
        self.input = GlfwInput(self.window)
        glfw.set_cursor_pos_callback(self.window, self._on_cursor)
        glfw.set_drop_callback(self.window, self._on_drop)
        glfw.set_framebuffer_size_callback(self.window, lambda *_: self._dirty())
        self.renderer = MeshRenderer(self.ctx, self.mesh, self.image, self.image, 6, self.layout)
        self.motion_scale = 1.0  # render scale while the camera is dragged (dynamic resolution)
        self.uv_target = OffscreenTarget(self.ctx, dtype="f4", clear=(-1.0, -1.0, -1.0, 0.0))  # inspector probe
        self.hover: tuple[float, float] | None = None
        self.inspect_due = False
        self.last_inspect_at = 0.0
        self.astc_image = self.image
        self.astc_ready = False  # until the first ASTC image arrives, the ASTC view shows the original
        self.camera0 = self.camera = None  # framed for the scene area once the panel is known (scene_rect)
        self.target = ViewTarget(self.ctx)  # accumulates frames of a still view (the accumulate filter)
        self.blit = self.ctx.program(vertex_shader=_BLIT_VS, fragment_shader=_BLIT_FS)
        self.blit_vao = self.ctx.vertex_array(self.blit, [])
        config = window_config(cmd)
        self.state = ViewerState(
            config=config,
            edit=config,
            view=cmd.settings,
            astc_block="8x8" if cmd.astc_block == "auto" else cmd.astc_block,
            astc_match_model=cmd.astc_block == "auto",
            image_size=(self.image.shape[1], self.image.shape[0]),
            mesh_name=str(cmd.mesh),
            texture_name=str(texture),
            layout=self.layout,
            devices=("auto", *available_devices()),
        )
        for note in notes:
            self.state.say(f"note: {note}")
        self.screenshot_dir = screenshot_dir or Path.cwd()
        self.metrics = MetricsWorker(self.image, cmd.astc_quality, self.layout).start()
        self.screen = ScreenScorer().start()
        self.screen_key: tuple | None = None  # what the last on-screen numbers were taken of
        self.last_screen_at = 0.0
        self.worker = None
        self.generator = None  # the space of textures on show (Generate panel)
        self.opening = None  # a space still loading: it replaces what is shown once its first texture is ready
        if cmd.model is not None:
            packed, levels, _ = packed_from_file(cmd.model)
            self.renderer.set_network(packed, "file", levels)
        elif cmd.space is not None:
            pass  # opened below, once the window's state exists
        else:
            self.worker = TrainingWorker(self.image, self.state.config, publish_every=PUBLISH_EVERY_S).start()
        self.scene_dirty = True
        self.drag: tuple[int, float, float] | None = None
        self.flick = False
        self.frame_times: list[float] = []
        self.last_metrics_request = 0.0
        self.astc_shown = None
        self._panel_shot = False
        self.good_network: tuple[dict, dict] = ({"HAS_NETWORK": 0}, {})  # (defines, glsl) last drawn without error
        self.scene_times: list[float] = []  # draw only: what the scene costs per frame at this size
        self.update_costs: list[float] = []  # build (a new program for new weights) + draw: what an update costs
        self.weights_dirty = False
        self.weights_arrived_at = 0.0  # when the newest weights not yet on screen came from the worker
        self.shown_version = None  # the weights version of the scene on screen (tests wait for it, not for time)
        self.last_scene_at = 0.0
        self.idle_frames_left = 4
        self.rendered: tuple | None = None  # (view settings, flick) of the scene on screen
        self.running = True
        if cmd.space is not None:
            self._open_space(Path(cmd.space))

    # -- layout -------------------------------------------------------------------------------------------
    def scene_rect(self) -> tuple[int, int, int, int]:
        """The part of the window (x, y, w, h in window pixels, y down) the scene is drawn in: beside the panel
        when the panel sits at a side, else the whole window."""
        ww, wh = glfw.get_window_size(self.window)
        if self.state.show_panel:
            px, _, pw, _ = self.state.panel_rect
            left, right = int(px + pw + 4), int(px - 4)
            if px + pw / 2 < ww / 2 and ww - left >= 0.25 * ww:  # panel on the left: the scene to its right
                return left, 0, ww - left, max(wh, 1)
            if px + pw / 2 >= ww / 2 and right >= 0.25 * ww:  # panel on the right: the scene to its left
                return 0, 0, right, max(wh, 1)
        return 0, 0, max(ww, 1), max(wh, 1)  # no panel, or one too wide to leave room: the whole window

    @staticmethod
    def _motion_scale(frame_s: float, scale: float) -> float:
        """The render scale at which a frame that took frame_s at `scale` takes about MOTION_FRAME_S (cost goes
        with the pixel count, so with the square of the scale); steps of 0.05 so the target is not re-made often."""
        if frame_s <= 0:
            return scale
        s = scale * (MOTION_FRAME_S / frame_s) ** 0.5
        return min(1.0, max(0.2, round(s * 20) / 20))

    def _frame_camera(self) -> None:
        _, _, w, h = self.scene_rect()
        self.camera0 = make_camera(self.mesh, self.cmd, aspect=w / max(h, 1))
        self.camera = self.camera0

    # -- events ---------------------------------------------------------------------------------------------
    def _dirty(self) -> None:
        self.scene_dirty = True
        self._active()

    def _active(self, frames: int = 4) -> None:
        """Something happened: draw the next few frames (after input ImGui needs a couple to settle hover and
        clicks; new numbers for the panel need one)."""
        self.idle_frames_left = max(self.idle_frames_left, frames)

    def _on_key(self, window, key, scancode, action, mods) -> None:
        self._active()
        if self.io.want_capture_keyboard:
            return
        ctrl = bool(mods & glfw.MOD_CONTROL)
        if key == glfw.KEY_N:  # tev's A/B: hold to see the original
            self.flick = action != glfw.RELEASE
            self._dirty()
        if action != glfw.PRESS:
            return
        if key == glfw.KEY_Q and ctrl:
            self.running = False
        elif key == glfw.KEY_F12 or (key == glfw.KEY_S and ctrl):
            self.state.requests.append("screenshot_no_panel" if mods & glfw.MOD_SHIFT else "screenshot")
        elif key == glfw.KEY_R:
            self._frame_camera()  # for the scene area as it is now
            self._dirty()
        elif key == glfw.KEY_SPACE and self.worker is not None:
            toggle_pause(self.state, self.worker.send)
        elif key == glfw.KEY_I:
            self.state.inspect_on = not self.state.inspect_on
            self.state.inspect = None
            self.inspect_due = self.state.inspect_on
        elif key == glfw.KEY_TAB:
            self.state.show_panel = not self.state.show_panel

    def _on_mouse_button(self, window, button, action, mods) -> None:
        self._active()
        if action == glfw.PRESS and not self.io.want_capture_mouse:
            x, y = glfw.get_cursor_pos(window)
            sx, _, sw, _ = self.scene_rect()
            near_divider = abs(x - (sx + self.state.view.divider * sw)) < 8
            if self.state.view.view == "split" and button == glfw.MOUSE_BUTTON_LEFT and near_divider:
                button = -1  # drag the split divider
            self.drag = (button, x, y)
            self.motion_scale = self._motion_scale(self.scene_times[-1] if self.scene_times else 0.0, 1.0)
        elif action == glfw.RELEASE:
            self.drag = None
            self._dirty()  # back to full resolution

    def _on_cursor(self, window, x, y) -> None:
        self._active()
        if self.drag is None:
            if not self.io.want_capture_mouse:
                self.hover, self.inspect_due = (x, y), True
            return
        button, x0, y0 = self.drag
        dx, dy = x - x0, y - y0
        self.drag = (button, x, y)
        if button == -1:
            sx, _, sw, _ = self.scene_rect()
            self.state.view = dataclasses.replace(self.state.view, divider=min(1.0, max(0.0, (x - sx) / sw)))
        elif button == glfw.MOUSE_BUTTON_LEFT:
            self.camera = self.camera.orbit(-dx * 0.4, dy * 0.4)
        else:
            self.camera = self.camera.pan(dx, dy, glfw.get_window_size(window)[1])
        self._dirty()

    def _on_scroll(self, window, dx, dy) -> None:
        self._active()
        if not self.io.want_capture_mouse:
            self.camera = self.camera.zoom(0.9**dy)
            self._dirty()

    def _on_drop(self, window, paths) -> None:
        for p in paths:
            self.open_path(Path(p))

    # -- files ----------------------------------------------------------------------------------------------
    def open_path(self, path: Path) -> None:
        """Open a dropped or typed file; a failure is a message, the last good state stays."""
        try:
            suffix = path.suffix.lower()
            if suffix in (".obj", ".gltf", ".glb"):
                mesh = load_mesh(path)
                probe = dataclasses.replace(self.cmd, mesh=path, texture=None, maps=(), material=None)
                values, layout, texture, notes = (
                    load_surface(probe, mesh) if self._has_material(path) else (None, None, None, mesh.notes)
                )
                self.mesh = mesh
                self.state.mesh_name = str(path)
                for note in notes:
                    self.state.say(f"note: {note}")
                if values is not None:  # the mesh brings its own material: the set changes with it
                    self._set_surface(values, layout, texture)
                else:
                    self.renderer = _rebuild(self.ctx, mesh, self.image, self.renderer, self.layout)
            elif suffix in (".png", ".jpg", ".jpeg"):
                self._set_surface(load_image(path), "rgb", path)
            elif suffix == ".npz" or (path.is_dir() and (path / SPACE).is_file()):
                self._open_space(path)
                return
            elif suffix == ".texinr":
                packed, levels, _ = packed_from_file(path)
                check_layout(packed, self.layout)  # another set's model: refused before training stops
                self._stop_workers()
                self.renderer.set_network(packed, ("file", str(path)), levels)
            else:
                raise TexinrError(f"{path}: open .obj, .gltf, .glb, .png, .jpg or .texinr files")
            self.state.say(f"opened {path}")
        except (TexinrError, OSError) as e:
            self.state.say(f"error: {e}")
        self._dirty()

    def _stop_workers(self) -> None:
        """A file or a space takes the screen: training (or generating) stops."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.generator is not None:
            self.generator.stop()
            self.generator = None
            self.state.generate = None

    def _open_space(self, path: Path) -> None:
        """A space of textures (texinr-generate's folder or space.npz): the Generate panel and its first texture.
        It loads on its own generator thread; once its first texture arrives it takes the screen (training or the
        previous space stops). A bad file is a message, and what was on screen stays."""
        if self.layout != "rgb":
            self.state.say("error: generated textures are colour textures: open one texture (not a material set) first")
            return
        if self.opening is not None:
            self.opening.stop()
        self.opening = GenerateWorker(path).start()
        self.state.say(f"opening the space {path}")
        self._dirty()

    def _take_generated(self) -> None:
        if self.opening is not None:
            new = self.opening
            dead = not new.alive()  # before reading its messages: a thread that ended has said everything
            while not new.events.empty():
                self.state.say(new.events.get())
                self._active(1)
            if dead:  # it could not open the space (the message above said why)
                self.opening = None
            elif (got := new.mailbox.take()) is not None:
                self._stop_workers()
                self.opening, self.generator = None, new
                self.state.generate = GenerateState(path=str(new.path))
                new.mailbox.publish(got)  # shown below
                self.state.say(f"opened the space {new.path}")
        gen = self.generator
        if gen is None:
            return
        while not gen.events.empty():
            self.state.say(gen.events.get())
            self._active(1)
        got = gen.mailbox.take()
        if got is None:
            return
        g = self.state.generate
        g.info, g.t, g.ends, g.version = got.info, got.t, got.ends, got.version
        self._show_weights(got.packed, ("generated", got.version), 1)
        self._active(1)

    @staticmethod
    def _has_material(path: Path) -> bool:
        """Whether a mesh file brings a material of its own (glTF's PBR maps, an .mtl beyond map_Kd)."""
        if path.suffix.lower() in (".gltf", ".glb"):
            return bool(gltf_materials(path))
        return bool(set(mtl_maps(path)[0]) - {"base_colour"})

    def _set_surface(self, values: np.ndarray, layout: str, texture: Path) -> None:
        """A new texture or material set: the renderer, metrics and training follow (a new layout is a new network:
        the training restarts with its outputs)."""
        changed_layout, old_layout = layout != self.layout, self.layout
        self.image, self.layout = values, layout
        self.renderer = _rebuild(self.ctx, self.mesh, values, self.renderer, layout, keep_network=not changed_layout)
        self.state.image_size = (values.shape[1], values.shape[0])
        self.state.texture_name = str(texture)
        self.state.layout = layout
        self.metrics.set_image(values, layout)
        self.astc_image = values
        self.astc_ready = False
        self.astc_shown = None
        if changed_layout:  # the same rate per shipped map, the outputs of the new set
            scale = shipped_count(layout) / shipped_count(old_layout)

            def adapt(c):
                c = for_layout(c, layout, self.cmd.given | {"bpp"})  # the family's defaults for this set
                return dataclasses.replace(c, bpp=c.bpp * scale if c.bpp is not None else None)

            self.state.config, self.state.edit = adapt(self.state.config), adapt(self.state.edit)
            self.state.metrics = {}
        if self.worker is not None:
            self.worker.send(Reset(self.state.config, values))

    def screenshot(self, with_panel: bool) -> Path:
        n = 1
        while (self.screenshot_dir / f"texinr-{n:04d}.png").exists():
            n += 1
        path = self.screenshot_dir / f"texinr-{n:04d}.png"

        if with_panel:
            fb_w, fb_h = glfw.get_framebuffer_size(self.window)
            data = self.ctx.screen.read(viewport=(0, 0, fb_w, fb_h), components=3)
            frame = np.frombuffer(data, np.uint8).reshape(fb_h, fb_w, 3)[::-1].copy()
        else:  # the whole window without the panel: the scene where it is drawn, background elsewhere
            frame = self._frame_without_panel()
        try:
            self.screenshot_dir.mkdir(parents=True, exist_ok=True)
            save_png(path, frame)
        except OSError as e:  # a folder that cannot be made or written: a message, the window stays
            self.state.say(f"error: cannot write the screenshot {path}: {e.strerror or e}")
            return path
        self.state.say(f"screenshot: {path}")
        return path

    def _frame_without_panel(self) -> np.ndarray:
        ww, wh = glfw.get_window_size(self.window)
        frame = np.empty((wh, ww, 3), np.uint8)
        frame[:] = np.round(np.array(BACKGROUND[:3]) * 255).astype(np.uint8)
        x, y, w, h = self.scene_rect()
        scene = self.target.read()
        if scene.shape[:2] != (h, w):
            scene = np.asarray(Image.fromarray(scene).resize((w, h), Image.BILINEAR))
        frame[y : y + h, x : x + w] = scene[: wh - y, : ww - x]
        return frame

    # -- the loop -------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One iteration: events, new weights, panel, scene (if dirty), composite, swap."""
        t0 = time.perf_counter()
        glfw.poll_events()
        if glfw.window_should_close(self.window):
            self.running = False
        self._take_snapshot()
        self._take_generated()
        self._take_metrics()
        self._take_screen_metrics()
        changed = (self.state.view, self.flick) != self.rendered
        if self.idle_frames_left <= 0 and not (
            self.scene_dirty or self.weights_due() or self.state.requests or changed or self.accumulating()
        ):
            # nothing to show: no redraw (software GL shares the cores with training; new weights wait for their
            # turn without redrawing the panel meanwhile); input wakes the loop at once
            glfw.wait_events_timeout(1.0 / max(self.state.target_fps, 1.0))
            return
        self.idle_frames_left -= 1
        self.input.new_frame()
        imgui.new_frame()
        draw_gui(self.state, self.worker.send if self.worker is not None else self.state.say)
        imgui.render()
        shown = (self.state.view, self.flick)
        if shown != self.rendered:  # the view changed, from the panel, a key or a script
            self.scene_dirty = True
        self._handle_requests()
        fb_w, fb_h = glfw.get_framebuffer_size(self.window)
        if self.camera is None:
            self._frame_camera()
        if fb_w > 0 and fb_h > 0:
            ww = glfw.get_window_size(self.window)[0]
            sx, sy, sw, sh = self.scene_rect()
            to_fb = fb_w / max(ww, 1)  # framebuffer pixels per window pixel (HiDPI)
            scene_px = (int(sx * to_fb), int(sy * to_fb), max(1, int(sw * to_fb)), max(1, int(sh * to_fb)))
            scale = self.state.render_scale * (self.motion_scale if self.drag is not None else 1.0)
            size = (max(1, int(scene_px[2] * scale)), max(1, int(scene_px[3] * scale)))
            if (
                self.scene_dirty
                or self.weights_due()
                or self.accumulating()
                or self.target.fbo is None
                or self.target.fbo.size != size
            ):
                view = dataclasses.replace(self.state.view, view="reference") if self.flick else self.state.view
                try:
                    t_build = time.perf_counter()
                    self.renderer.prepare(view)  # a shader compile is not a scene frame's time
                    t_scene = time.perf_counter()
                    self.target.draw(self.renderer, self.camera, size, view)
                    done = time.perf_counter()
                    self.scene_times = [*self.scene_times[-999:], done - t_scene]
                    self.update_costs = [*self.update_costs[-99:], done - t_build]
                    if self.drag is not None:  # adapt the moving resolution to the frame just drawn
                        self.motion_scale = self._motion_scale(self.scene_times[-1], self.motion_scale)
                    self.last_scene_at = time.perf_counter()
                    self.rendered = (self.state.view, self.flick)
                    self.shown_version = self.renderer.weights.version
                    self.weights_dirty = False
                    self.state.render_size = size
                    self.state.accumulation = (self.target.acc.count, self.target.acc.frames)
                    self.good_network = (self.renderer.defines, self.renderer.glsl)
                except Exception as e:  # a shader that fails to compile: say so, go back to the last good one
                    self.state.say(f"error: {e}")
                    self.renderer.defines, self.renderer.glsl = self.good_network
                    self.target.draw(self.renderer, self.camera, size, view)
                self.scene_dirty = False
            now = time.perf_counter()
            if self.state.inspect_on and self.inspect_due and self.hover and now - self.last_inspect_at > 0.1:
                try:
                    self.state.inspect = self.inspect(*self.hover)
                except Exception as e:  # the inspector must never take the window down
                    self.state.say(f"error: inspector: {e}")
                    self.state.inspect_on = False
                self.inspect_due, self.last_inspect_at = False, now
            self.ctx.screen.use()
            self.ctx.viewport = (0, 0, fb_w, fb_h)
            self.ctx.clear(*BACKGROUND)
            self.target.fbo.color_attachments[0].use(0)
            self.blit["t_scene"] = 0
            self.ctx.disable(moderngl.DEPTH_TEST)
            x, y, w, h = scene_px
            self.ctx.viewport = (x, fb_h - y - h, w, h)  # GL's y goes up
            self.blit_vao.render(moderngl.TRIANGLES, vertices=3)
            self.ctx.viewport = (0, 0, fb_w, fb_h)
            self.gui.render(imgui.get_draw_data(), (fb_w, fb_h))
            if self._panel_shot:  # read the back buffer before it is swapped away
                self._panel_shot = False
                self.screenshot(with_panel=True)
            glfw.swap_buffers(self.window)
        else:
            time.sleep(0.05)  # minimised
        dt = time.perf_counter() - t0
        self.frame_times = [*self.frame_times[-999:], dt]
        self.state.fps = 1.0 / max(np.median(self.frame_times[-120:]), 1e-6)
        budget = 1.0 / max(self.state.target_fps, 1.0)
        if dt < budget:
            time.sleep(budget - dt)

    def accumulating(self) -> bool:
        """A still view whose accumulated frames have not converged yet: draw the next one (not while dragging:
        a moving view shows the one-sample frame)."""
        return self.target.pending and self.drag is None

    def weights_due(self) -> bool:
        """New weights wait while showing them (a new program, then a frame) would take more than ~10% of the time,
        never past WEIGHTS_LATENCY_S."""
        if not self.weights_dirty:
            return False
        now = time.perf_counter()
        recent = float(np.median(self.update_costs[-5:])) if self.update_costs else 0.0
        wait = min(SCENE_TIME_SHARE_INV * recent, WEIGHTS_LATENCY_S)
        return now - self.last_scene_at >= wait or now - self.weights_arrived_at >= WEIGHTS_LATENCY_S

    def inspect(self, x: float, y: float) -> dict | None:
        """What is under window pixel (x, y): uv, texel, mip level, and the original, neural and ASTC colours
        there (the neural one from the shader code the view runs). None off the mesh."""
        sx, sy, sw, sh = self.scene_rect()
        if self.target.fbo is None or not (sx <= x < sx + sw and sy <= y < sy + sh):
            return None
        w, h = self.target.fbo.size
        probe = ViewSettings(view="uv", fixed_level=self.state.view.fixed_level)
        self.uv_target.draw(self.renderer, self.camera, (w, h), probe)
        u, v, lam, covered = self.uv_target.read_pixel((x - sx) * w / sw, (y - sy) * h / sh)
        if covered <= 0.0:
            return None
        ih, iw = self.image.shape[:2]
        col, row = min(int(u * iw), iw - 1), min(int((1.0 - v) * ih), ih - 1)
        levels = self.renderer.levels
        t = lam / (levels - 1) if levels > 1 else 0.0
        out = {"uv": (float(u), float(v)), "texel": (col, row), "level": float(lam)}
        out["original"] = self.image[row, col].astype(float)
        out["astc"] = self.astc_image[row, col].astype(float)
        if self.renderer.defines.get("HAS_NETWORK"):
            r = self.renderer
            out["neural"] = probe_network(self.ctx, r.programs, r.weights, r.defines, r.glsl, (u, v), t).astype(float)
        return out

    def _take_snapshot(self) -> None:
        if self.worker is None:
            return
        snap = self.worker.mailbox.take()
        if snap is None:
            return
        if self.state.snapshot is None or snap.run != self.state.snapshot.run:
            self.state.loss.clear()
            self.state.psnr.clear()
        self.state.snapshot = snap
        self.state.paused = snap.paused
        self._active(1)  # the panel's numbers changed: one frame shows them
        if np.isfinite(snap.loss):
            self.state.loss.push(snap.loss)
            self.state.psnr.push(snap.psnr)
        for e in snap.events:
            self.state.say(e)
        if snap.error:
            self.state.say(f"error: {snap.error}")
        self._show_weights(snap.packed, snap.version, snap.mips)

    def _show_weights(self, packed, version, levels: int) -> None:
        """New weights for the renderer (training's or the generator's), drawn when the scene's share of the CPU
        allows (see SCENE_TIME_SHARE_INV)."""
        try:
            self.renderer.set_network(packed, version, levels)
        except Exception as e:
            self.state.say(f"error: {e}")
        if not self.weights_dirty:
            self.weights_arrived_at = time.perf_counter()
        self.weights_dirty = True

    def _take_metrics(self) -> None:
        now = time.time()
        block = match_astc_block(self.state)
        every = max(METRICS_EVERY_S, METRICS_SHARE_INV * self.metrics.cost)
        if now - self.last_metrics_request > every or block != self.astc_shown:
            nearest = None
            snap = self.state.snapshot
            if snap is not None:
                w, h = self.state.image_size
                per_map = snap.payload_bits / max(w * h, 1) / shipped_count(self.state.layout)
                nearest = nearest_block(per_map, w, h, snap.mips)
            self.metrics.request(snap, block, nearest)
            self.last_metrics_request = now
            self.astc_shown = block
        got = self.metrics.results.take()
        if got is not None:
            if "error" in got:
                self.state.say(got["error"])
            else:
                self.state.metrics = {**got, "age": 0.0}
            self._active(1)
        if self.state.metrics:
            self.state.metrics["age"] = now - self.state.metrics.get("at", now)
        img = self.metrics.astc_images.take()
        if img is not None:
            self.renderer.set_astc(img[1], img[2])
            self.astc_image = img[1]
            self.astc_ready = True
            self._dirty()

    def _take_screen_metrics(self) -> None:
        """Ask for the current view's on-screen numbers every SCREEN_EVERY_S while the camera is still; take answers.
        The neural frame is the one on screen when it is the settled neural view, else (split views, an accumulation
        still converging, weights arriving while training) one frame of the view's filter drawn for the purpose."""
        got = self.screen.results.take()
        if got is not None:
            self.state.screen_metrics = got
            self._active(1)
        now = time.perf_counter()
        if (
            self.drag is not None
            or self.target.fbo is None
            or not self.renderer.defines.get("HAS_NETWORK")
            or now - self.last_screen_at < SCREEN_EVERY_S
        ):
            return
        view, size = self.state.view, self.target.fbo.size
        settled = not self.target.pending and self.shown_version == self.renderer.weights.version
        as_shown = view.view == "neural" and settled
        key = (self.camera, size, view, self.renderer.weights.version, id(self.renderer.astc), as_shown)
        if key == self.screen_key:
            return
        self.screen_key, self.last_screen_at = key, now
        try:
            # the neural frame: the one on screen when it is the settled neural view, else one frame of its filter
            shown = view.filter if as_shown or view.filter != "accumulate" else "one"
            names = ("reference", "astc") if self.astc_ready else ("reference",)
            frames, mask = view_frames(
                self.ctx, self.renderer, self.camera, size, dataclasses.replace(view, filter=shown),
                names if as_shown else (*names, "neural"),
            )  # fmt: skip
            if as_shown:
                frames["neural"], note = self.target.read(), f"the neural view as shown ({view.filter})"
            else:
                note = f"the neural view, {shown}"
            self.screen.request(frames.pop("reference"), frames, mask, note)
        except Exception as e:  # the numbers must never take the window down
            self.state.say(f"error: screen metrics: {e}")

    def _handle_requests(self) -> None:
        reqs, self.state.requests = self.state.requests, []
        for r in reqs:
            if r == "screenshot":
                self._panel_shot = True
            elif r == "screenshot_no_panel":
                self.screenshot(with_panel=False)
            elif r == "open":
                self.open_path(Path(self.state.path_input.strip()))
            elif r == "save_model":
                self._save_model()
            elif isinstance(r, tuple) and r[0] == "generate" and self.generator is not None:
                self.generator.send(r[1])
            elif isinstance(r, tuple) and r[0] == "encode_texture" and self.generator is not None:
                name = Path(self.state.texture_name).name
                self.generator.send(EncodeEnd(r[1], np.array(self.image[..., :3], np.float32), name))

    def _save_model(self) -> None:
        if self.generator is not None:  # the texture on show is a generated one: the generator writes it
            path = Path(self.state.path_input.strip() or DEFAULT_SAVE)
            self.generator.send(SaveShown(path if path.suffix == ".texinr" else path.with_suffix(".texinr")))
            return
        snap = self.state.snapshot
        if snap is None:
            self.state.say("nothing to save yet")
            return

        path = Path(self.state.path_input.strip() or "texinr-model.texinr")
        if path.suffix != ".texinr":
            path = path.with_suffix(".texinr")
        try:
            model = build_model(snap.config.model)
            model.load_state_dict({k: torch.from_numpy(v) for k, v in snap.weights.items()})
            w, h = self.state.image_size
            save(
                pack(
                    model, snap.config.bits, w, h, snap.mips, train={"steps_done": snap.step, "version": snap.version}
                ),
                path,
            )
            self.state.say(f"saved {path}")
        except (OSError, TexinrError) as e:
            self.state.say(f"error: cannot save {path}: {e}")

    def run(self) -> None:
        while self.running:
            self.step()
        self.close()

    def close(self) -> None:
        self._stop_workers()
        if self.opening is not None:
            self.opening.stop()
        self.metrics.stop()
        self.screen.stop()
        self.uv_target.release()
        imgui.save_ini_settings_to_disk(str(config_dir() / "imgui.ini"))
        remember_size(glfw.get_window_size(self.window))
        glfw.destroy_window(self.window)
        glfw.terminate()


def window_config(cmd):
    """The command line's training settings: the window trains on texinr-train's schedule and budget (its default
    or the one given), then offers to train longer (the Training panel)."""
    return cmd.config


def _rebuild(ctx, mesh, image, old: MeshRenderer, layout: str = "rgb", keep_network: bool = True) -> MeshRenderer:
    """A renderer for a new mesh or set that keeps the network on screen (unless the set's channels changed)."""
    new = MeshRenderer(ctx, mesh, image, image, old.levels, layout)
    if keep_network:
        new.weights.release()
        new.defines, new.glsl = old.defines, old.glsl
        new.weights = old.weights
    else:
        old.weights.release()
    old.release_geometry_and_images()
    return new
