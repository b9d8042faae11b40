"""ImGui on moderngl and glfw, main thread only.

pyimgui's own glfw backend draws through PyOpenGL and *replaces* the window's glfw callbacks; this one draws with
moderngl and *chains* them: every callback calls the one that was installed before it (pyGLFW returns it), so the
app's camera handlers and ImGui both see events, and ImGui's want_capture flags decide who acts.
"""

from __future__ import annotations

import ctypes

import glfw
import imgui
import moderngl
import numpy as np

_VS = """#version 330 core
uniform mat4 u_T_clip_px;
in vec2 in_xy_px;
in vec2 in_uv;
in vec4 in_rgba;
out vec2 v_uv;
out vec4 v_rgba;
void main() {
    v_uv = in_uv;
    v_rgba = in_rgba;
    gl_Position = u_T_clip_px * vec4(in_xy_px, 0.0, 1.0);
}
"""
_FS = """#version 330 core
uniform sampler2D t_atlas;
in vec2 v_uv;
in vec4 v_rgba;
out vec4 f_color;
void main() {
    f_color = v_rgba * texture(t_atlas, v_uv);
}
"""


class ImguiRenderer:
    """Draws ImGui's draw data into the current framebuffer."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.io = imgui.get_io()
        self.prog = ctx.program(vertex_shader=_VS, fragment_shader=_FS)
        self.vbo = ctx.buffer(reserve=1 << 16, dynamic=True)
        self.ibo = ctx.buffer(reserve=1 << 16, dynamic=True)
        self.vao = ctx.vertex_array(
            self.prog,
            [(self.vbo, "2f 2f 4f1", "in_xy_px", "in_uv", "in_rgba")],
            index_buffer=self.ibo,
            index_element_size=imgui.INDEX_SIZE,
        )
        w, h, pixels = self.io.fonts.get_tex_data_as_rgba32()
        self.atlas = ctx.texture((w, h), 4, pixels)
        self.io.fonts.texture_id = self.atlas.glo
        self.io.fonts.clear_tex_data()
        self.textures = {self.atlas.glo: self.atlas}

    def render(self, draw_data, fb_size: tuple[int, int]) -> None:
        w, h = self.io.display_size
        fb_w, fb_h = fb_size
        if w <= 0 or h <= 0 or fb_w <= 0 or fb_h <= 0:
            return
        sx, sy = fb_w / w, fb_h / h
        draw_data.scale_clip_rects(sx, sy)
        proj = np.array([[2.0 / w, 0, 0, 0], [0, -2.0 / h, 0, 0], [0, 0, -1, 0], [-1, 1, 0, 1]], np.float32)
        self.prog["u_T_clip_px"].write(proj.tobytes())
        self.ctx.viewport = (0, 0, fb_w, fb_h)
        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        for cmds in draw_data.commands_lists:
            vbytes = cmds.vtx_buffer_size * imgui.VERTEX_SIZE
            ibytes = cmds.idx_buffer_size * imgui.INDEX_SIZE
            if self.vbo.size < vbytes:
                self.vbo.orphan(max(vbytes, 2 * self.vbo.size))
            if self.ibo.size < ibytes:
                self.ibo.orphan(max(ibytes, 2 * self.ibo.size))
            self.vbo.write((ctypes.c_byte * vbytes).from_address(cmds.vtx_buffer_data))
            self.ibo.write((ctypes.c_byte * ibytes).from_address(cmds.idx_buffer_data))
            first = 0
            for cmd in cmds.commands:
                self.textures.get(cmd.texture_id, self.atlas).use(0)
                x0, y0, x1, y1 = cmd.clip_rect
                self.ctx.scissor = (int(x0), int(fb_h - y1), int(x1 - x0), int(y1 - y0))
                self.vao.render(moderngl.TRIANGLES, vertices=cmd.elem_count, first=first)
                first += cmd.elem_count
        self.ctx.scissor = None
        self.ctx.disable(moderngl.BLEND)


KEY_MAP = {
    imgui.KEY_TAB: glfw.KEY_TAB,
    imgui.KEY_LEFT_ARROW: glfw.KEY_LEFT,
    imgui.KEY_RIGHT_ARROW: glfw.KEY_RIGHT,
    imgui.KEY_UP_ARROW: glfw.KEY_UP,
    imgui.KEY_DOWN_ARROW: glfw.KEY_DOWN,
    imgui.KEY_PAGE_UP: glfw.KEY_PAGE_UP,
    imgui.KEY_PAGE_DOWN: glfw.KEY_PAGE_DOWN,
    imgui.KEY_HOME: glfw.KEY_HOME,
    imgui.KEY_END: glfw.KEY_END,
    imgui.KEY_INSERT: glfw.KEY_INSERT,
    imgui.KEY_DELETE: glfw.KEY_DELETE,
    imgui.KEY_BACKSPACE: glfw.KEY_BACKSPACE,
    imgui.KEY_SPACE: glfw.KEY_SPACE,
    imgui.KEY_ENTER: glfw.KEY_ENTER,
    imgui.KEY_ESCAPE: glfw.KEY_ESCAPE,
    imgui.KEY_PAD_ENTER: glfw.KEY_KP_ENTER,
    imgui.KEY_A: glfw.KEY_A,
    imgui.KEY_C: glfw.KEY_C,
    imgui.KEY_V: glfw.KEY_V,
    imgui.KEY_X: glfw.KEY_X,
    imgui.KEY_Y: glfw.KEY_Y,
    imgui.KEY_Z: glfw.KEY_Z,
}


class GlfwInput:
    """Feeds glfw events to ImGui, chaining every callback that was installed before."""

    def __init__(self, window):
        self.window = window
        self.io = imgui.get_io()
        for im_key, glfw_key in KEY_MAP.items():
            self.io.key_map[im_key] = glfw_key
        self._prev = {
            "key": glfw.set_key_callback(window, self._on_key),
            "char": glfw.set_char_callback(window, self._on_char),
            "scroll": glfw.set_scroll_callback(window, self._on_scroll),
            "mouse_button": glfw.set_mouse_button_callback(window, self._on_mouse_button),
        }
        self._last_time = glfw.get_time()
        self._pressed = [False, False, False]  # pressed since the last frame (a click can end before one starts)

    def _chain(self, name: str, *args) -> None:
        prev = self._prev.get(name)
        if prev is not None:
            prev(*args)

    def _on_key(self, window, key, scancode, action, mods) -> None:
        if 0 <= key < 512:
            if action == glfw.PRESS:
                self.io.keys_down[key] = True
            elif action == glfw.RELEASE:
                self.io.keys_down[key] = False
        self.io.key_ctrl = bool(mods & glfw.MOD_CONTROL)
        self.io.key_shift = bool(mods & glfw.MOD_SHIFT)
        self.io.key_alt = bool(mods & glfw.MOD_ALT)
        self.io.key_super = bool(mods & glfw.MOD_SUPER)
        self._chain("key", window, key, scancode, action, mods)

    def _on_char(self, window, char) -> None:
        if 0 < char < 0x10000:
            self.io.add_input_character(char)
        self._chain("char", window, char)

    def _on_scroll(self, window, dx, dy) -> None:
        self.io.mouse_wheel_horizontal = dx
        self.io.mouse_wheel = dy
        self._chain("scroll", window, dx, dy)

    def _on_mouse_button(self, window, button, action, mods) -> None:
        if action == glfw.PRESS and 0 <= button < len(self._pressed):
            self._pressed[button] = True
        self._chain("mouse_button", window, button, action, mods)

    def new_frame(self) -> None:
        """Poll the state ImGui needs each frame (sizes, time, mouse)."""
        w, h = glfw.get_window_size(self.window)
        self.io.display_size = (max(w, 1), max(h, 1))
        fb_w, fb_h = glfw.get_framebuffer_size(self.window)
        self.io.display_fb_scale = (fb_w / max(w, 1), fb_h / max(h, 1))
        now = glfw.get_time()
        self.io.delta_time = max(now - self._last_time, 1e-4)
        self._last_time = now
        if glfw.get_window_attrib(self.window, glfw.FOCUSED):
            self.io.mouse_pos = glfw.get_cursor_pos(self.window)
        else:
            self.io.mouse_pos = (-1, -1)
        for i in range(3):
            # down for at least one frame per press: a quick click (press and release between two frames, as a
            # tap or a click while the loop idles) still reaches ImGui, which sees the release a frame later
            self.io.mouse_down[i] = self._pressed[i] or glfw.get_mouse_button(self.window, i) == glfw.PRESS
            self._pressed[i] = False
