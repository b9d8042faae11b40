"""Offscreen and on-screen drawing with moderngl: the neural, reference and ASTC paths, split and difference views.

The GL context is the caller's (a window's, or a standalone EGL one from `create_context`). Everything here runs
on the thread that owns it. What the network is decides the program (recompiled only when the defines change,
cached); what it has learned is a texture write (only when the weights changed).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import time
from contextlib import contextmanager
from dataclasses import dataclass

import moderngl
import numpy as np

from texinr.trainer.core.channels import find, is_material, layout_width, parse_layout
from texinr.trainer.core.config import setting
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.packing import PackedWeights, fits_gl
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.filtering import (
    ACCUMULATE_LOD_BIAS,
    DEFAULT_FILTER,
    NEURAL_FILTERS,
    Accumulator,
    filter_defines,
    r3_point,
)
from texinr.viewer.render.mesh import POSITION_ONLY_FORMAT, VERTEX_FORMAT, Mesh
from texinr.viewer.render.shader_lib import ProgramCache

VIEWS = {"neural": 0, "reference": 1, "astc": 2, "split": 3, "diff": 4, "lod": 5}
MAX_ANISOTROPY = 16.0
"""The textures' anisotropic filtering (clamped by the driver to what it offers; none where it offers none)."""
SOURCES = {"neural": 0, "reference": 1, "astc": 2}
BACKGROUND = (0.16, 0.17, 0.19, 1.0)


def create_context():
    """A standalone OpenGL 3.3+ context through EGL (no display needed); Mesa's llvmpipe on a machine without GPU."""
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=330)
        set_proc_loader(_egl_loader())
        return ctx
    except Exception as e:
        raise TexinrError(
            f"cannot create an OpenGL 3.3 context through EGL ({str(e).splitlines()[0][:160]}); "
            "install Mesa's EGL (libegl1, libgl1-mesa-dri)"
        ) from None


class WeightsTexture:
    """The RGBA32F texture the network reads (and the codec's RGBA16F code atlas); written only when a new version
    arrives. A network whose textures exceed GL_MAX_TEXTURE_SIZE is refused with a TexinrError."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.texture = None
        self.latents = None
        self.version = None
        self.writes = 0

    def update(self, packed: PackedWeights, version: object) -> None:
        if version == self.version and self.texture is not None:
            return
        why = fits_gl(packed, self.ctx.info["GL_MAX_TEXTURE_SIZE"])
        if why is not None:
            raise TexinrError(why)
        rows, width, _ = packed.data.shape
        if self.texture is None or self.texture.size != (width, rows):
            if self.texture is not None:
                self.texture.release()
            self.texture = self.ctx.texture((width, rows), 4, dtype="f4")
            self.texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.texture.write(np.ascontiguousarray(packed.data, dtype=np.float32))
        self._update_latents(packed.latents)
        self.version = version
        self.writes += 1

    def _update_latents(self, latents: np.ndarray | None) -> None:
        """The codec's code atlas: bilinear (the shader's interpolation of vertex codes), clamped, no mipmaps."""
        if latents is None:
            return

        h, w = latents.shape[:2]
        if self.latents is None or self.latents.size != (w, h):
            if self.latents is not None:
                self.latents.release()
            self.latents = self.ctx.texture((w, h), 4, dtype="f2")  # integer codes, exact in half floats
            self.latents.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self.latents.repeat_x = self.latents.repeat_y = False
        self.latents.write(np.ascontiguousarray(latents, dtype=np.float16))

    def bind(self, prog, texture_unit: int) -> None:
        """Bind the texture and the codec's atlas (next unit), where `prog` has it."""
        self.texture.use(texture_unit)
        _set(prog, "t_weights", texture_unit)
        if self.latents is not None and "t_latents" in prog:
            self.latents.use(texture_unit + 1)
            _set(prog, "t_latents", texture_unit + 1)

    def release(self) -> None:
        for obj in (self.texture, self.latents):
            if obj is not None:
                obj.release()
        self.texture = self.latents = None


def _layers_u8(values01: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (ceil(C / 4), H, W, 4) uint8, four channels per layer (padding 255), rows bottom-up as GL has."""
    h, w, c = values01.shape
    layers = (c + 3) // 4
    u8 = np.full((layers, h, w, 4), 255, np.uint8)
    for i in range(layers):
        part = values01[::-1, :, 4 * i : 4 * i + 4]  # GL's row 0 is the bottom
        u8[i, :, :, : part.shape[2]] = np.round(np.clip(part, 0, 1) * 255)
    return u8


def image_texture(ctx, values01: np.ndarray, chain: list[np.ndarray] | None = None):
    """An (H, W, C) set (C = 3: one RGB texture) as an RGBA8 texture array of ceil(C / 4) layers, four channels per
    layer (padding 1), with a full mip chain, trilinear + 16x anisotropic filtering and REPEAT wrapping. The chain is
    GL's box filter of `values01`, or `chain` (levels below the first, in order; e.g. each level ASTC-coded)."""
    w, h = values01.shape[1], values01.shape[0]
    u8 = _layers_u8(values01)
    tex = ctx.texture_array((w, h, u8.shape[0]), 4, u8.tobytes())
    tex.build_mipmaps()  # allocates every level
    if chain:
        write_array_levels(tex, [_layers_u8(level) for level in chain])
    tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
    tex.repeat_x = tex.repeat_y = True
    tex.anisotropy = MAX_ANISOTROPY  # the GPU's best standard filtering: trilinear, anisotropic where offered
    return tex


CHANNEL_VIEWS = {
    "shaded": 0,
    "base_colour": 1,
    "normal": 2,
    "occlusion": 3,
    "roughness": 4,
    "metallic": 5,
    "alpha": 6,
    "emissive": 7,
}
"""A material's views (mesh.glsl CHANNEL_VIEW): shaded, or one map on its own."""
MATERIAL_SLOTS = {
    "CH_BASE": "base_colour",
    "CH_NORMAL": "normal",
    "CH_AO": "occlusion",
    "CH_ROUGH": "roughness",
    "CH_METAL": "metallic",
    "CH_ALPHA": "alpha",
    "CH_EMISSIVE": "emissive",
}


def set_defines(layout: str) -> dict:
    """What the channel layout compiles into mesh.glsl: layers (SET4), whether it is a material, each map's first
    channel (-1: absent)."""
    maps = parse_layout(layout)
    d = {"SET4": (layout_width(maps) + 3) // 4, "MATERIAL": int(is_material(maps))}
    for define, name in MATERIAL_SLOTS.items():
        m = find(maps, name)
        d[define] = m.start if m is not None else -1
    return d


def channel_views(layout: str) -> list[str]:
    """The views a set offers: shaded and each map it has (nothing for one RGB texture)."""
    maps = parse_layout(layout)
    if not is_material(maps):
        return []
    names = {m.name for m in maps}
    return ["shaded", *(v for v in CHANNEL_VIEWS if v in names)]


REPEAT_RANGE = (0.25, 32.0)
"""How many times a texture may repeat across the UV square (texinr-view --repeat, the View panel)."""


def level_arg(s: str) -> int:
    """'auto' (-1: from screen-space derivatives) or a fixed mip level."""
    if s == "auto":
        return -1
    try:
        return int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a mip level (0, 1, ...), got {s!r}") from None


@dataclass
class ViewSettings:
    """What a view shows, each setting defined once: texinr-view's options and the View panel read these."""

    view: str = setting("neural", "what is drawn", choices=tuple(VIEWS))
    left: str = setting("neural", "split: left side; diff: a", choices=tuple(SOURCES))
    right: str = setting("reference", "split: right side; diff: b", choices=tuple(SOURCES))
    divider: float = setting(0.5, "split position, fraction of the width", 0.0, 1.0)
    diff_gain: float = setting(4.0, "difference view: error multiplied by this", 0.1, 64.0)
    diff_heat: bool = setting(False, "difference as a heat map of the mean error", flag="heat")
    fixed_level: int = setting(
        -1, "'auto' (screen-space derivatives) or a fixed mip level", -1, 15, parse=level_arg, flag="lod"
    )
    lit: bool = setting(False, "one texture: a simple directional light instead of unlit")
    light_dir_world: tuple[float, float, float] = (0.4, 0.8, 0.45)
    channel: str = setting("shaded", "a material: shaded, or one of its maps on its own", choices=tuple(CHANNEL_VIEWS))
    light2_dir_world: tuple[float, float, float] = (-0.7, 0.3, -0.5)
    light_intensity: tuple[float, float] = (2.6, 0.8)
    ambient: float = 0.5
    filter: str = setting(
        DEFAULT_FILTER,
        "the neural view's filtering: one sample, trilinear over its mips, anisotropic with up to N taps, or "
        "accumulate (a still view adds a jittered sample per frame and converges; a moving one shows one sample)",
        choices=NEURAL_FILTERS,
    )
    uv_repeat: float = setting(
        1.0, "the texture repeats this many times across the UV square (e.g. a generated tile)", *REPEAT_RANGE,
        flag="repeat",
    )  # fmt: skip


VIEW_OPTIONS = (
    "view",
    "left",
    "right",
    "divider",
    "diff_gain",
    "diff_heat",
    "fixed_level",
    "lit",
    "channel",
    "filter",
    "uv_repeat",
)
"""The ViewSettings a command line sets (the lights are the panel's)."""


class MeshRenderer:
    """Draws one mesh with the neural / reference / ASTC textures into the bound framebuffer."""

    def __init__(
        self,
        ctx,
        mesh: Mesh,
        reference_rgb01: np.ndarray,
        astc_rgb01: np.ndarray | None = None,
        levels: int = 6,
        layout: str = "rgb",
    ):
        """`reference_rgb01`: the set's channels (H, W, C) in `layout` (trainer/core/channels.py; "rgb": one texture)."""
        if reference_rgb01.shape[2] != layout_width(parse_layout(layout)):
            raise TexinrError(f"{reference_rgb01.shape[2]} channels do not match the layout {layout!r}")
        self.ctx = ctx
        self.programs = ProgramCache(ctx)
        self.mesh = mesh
        self.layout = layout
        self.set_defines = set_defines(layout)
        self.vbo = ctx.buffer(mesh.interleaved().tobytes())
        self.ibo = ctx.buffer(mesh.indices.astype(np.uint32).tobytes())
        self.texture_px = (reference_rgb01.shape[1], reference_rgb01.shape[0])
        self.reference = image_texture(ctx, reference_rgb01)
        self.astc = image_texture(ctx, astc_rgb01 if astc_rgb01 is not None else reference_rgb01)
        self.weights = WeightsTexture(ctx)
        self.levels = levels
        self.defines: dict = {"HAS_NETWORK": 0}
        self.glsl: dict[str, str] = {}  # the network's generated code (PackedWeights.glsl)
        self._vao = None
        self._vao_program = None  # held, so that identity means "the same program"
        depth_prog = self.programs.get("depth_only.glsl", {})
        self._depth_vao = ctx.vertex_array(
            depth_prog, [(self.vbo, *POSITION_ONLY_FORMAT)], index_buffer=self.ibo, index_element_size=4
        )

    def release_geometry_and_images(self) -> None:
        """Free what a new mesh or texture replaces (the weights texture lives on in the new renderer)."""
        for obj in (self._vao, self._depth_vao, self.vbo, self.ibo, self.reference, self.astc):
            if obj is not None:
                obj.release()

    def set_astc(self, astc_rgb01: np.ndarray, chain: list[np.ndarray] | None = None) -> None:
        """The ASTC view's image; `chain`: its lower mip levels, each coded on its own (else GL's box mips)."""
        self.astc.release()
        self.astc = image_texture(self.ctx, astc_rgb01, chain)

    def set_network(self, packed: PackedWeights | None, version: object, levels: int | None = None) -> None:
        """New weights: upload only if the version changed; the program is rebuilt (when next drawn) if the
        architecture or the code written for these weights changed."""
        if packed is None:
            self.defines, self.glsl = {"HAS_NETWORK": 0}, {}
            return
        check_layout(packed, self.layout)
        self.defines, self.glsl = {"HAS_NETWORK": 1, **packed.defines}, packed.glsl
        self.weights.update(packed, version)
        if levels is not None:
            self.levels = levels

    def view_defines(self, settings: ViewSettings, accumulated: bool = False) -> dict:
        """What the view compiles in (see mesh.glsl): one program per view, cached; `accumulated`: the program of
        an accumulated frame (filtering.py)."""
        view = {"neural": 0, "reference": 0, "astc": 0, "split": 1, "diff": 2, "lod": 3, "uv": 4}[settings.view]
        a = SOURCES.get(settings.view, 1) if view == 0 else SOURCES[settings.left]
        b = SOURCES[settings.right] if view in (1, 2) else a
        channel = CHANNEL_VIEWS.get(settings.channel, 0) if self.set_defines["MATERIAL"] else 0
        return {
            "VIEW": view,
            "SRC_A": a,
            "SRC_B": b,
            "AUTO_LOD": int(settings.fixed_level < 0),
            "DIFF_HEAT": int(settings.diff_heat),
            "LIT": int(settings.lit),
            **self.set_defines,
            "CHANNEL_VIEW": channel,
            **filter_defines(settings.filter, accumulated),
        }

    def prepare(self, settings: ViewSettings, accumulated: bool = False) -> None:
        """Compile (or fetch from the cache) the program for this view now, so that draw() only draws."""
        self._program_and_vao(settings, accumulated)

    def _program_and_vao(self, settings: ViewSettings, accumulated: bool = False):
        if self.defines.get("HAS_NETWORK") and view_needs_network(settings):
            defines = {**self.defines, **self.view_defines(settings, accumulated)}
            prog = self.programs.get("mesh.glsl", defines, self.glsl)
        else:  # a view without the network: one program for every weights version
            prog = self.programs.get("mesh.glsl", {"HAS_NETWORK": 0, **self.view_defines(settings)})
        if self._vao_program is not prog:
            if self._vao is not None:
                self._vao.release()
            self._vao = self.ctx.vertex_array(
                prog,
                [(self.vbo, *VERTEX_FORMAT)],
                index_buffer=self.ibo,
                index_element_size=4,
                skip_errors=True,  # attributes a view does not use (normal, tangent when unlit) are optimised away
            )
            self._vao_program = prog
        return prog, self._vao

    def draw(
        self,
        camera: OrbitCamera,
        viewport_px: tuple[int, int],
        settings: ViewSettings,
        jitter_px: tuple[float, float] = (0.0, 0.0),
        accumulated: bool = False,
        frame: int = 0,
    ) -> None:
        """One frame; `jitter_px` moves the neural sample (and the uv probe) inside the pixel's footprint,
        `accumulated` draws an accumulated frame's program (filtering.py), `frame` seeds its random choices."""
        prog, vao = self._program_and_vao(settings, accumulated)
        w, h = viewport_px
        _set(prog, "u_jitter_px", tuple(float(v) for v in jitter_px))
        _set(prog, "u_lod_bias", float(ACCUMULATE_LOD_BIAS if accumulated else 0.0))
        _set(prog, "u_sequence", r3_point(frame))
        _set(prog, "u_T_clip_world", camera.T_clip_world(w / max(h, 1)).tobytes())
        _set(prog, "u_uv_repeat", float(settings.uv_repeat))
        _set(prog, "u_divider_px", float(settings.divider * w))
        _set(prog, "u_diff_gain", float(settings.diff_gain))
        _set(prog, "u_fixed_level", int(settings.fixed_level))
        _set(prog, "u_levels", int(self.levels))
        _set(prog, "u_texture_px", tuple(float(x) for x in self.texture_px))
        _set(prog, "u_light_dir_world", tuple(settings.light_dir_world))
        _set(prog, "u_light2_dir_world", tuple(settings.light2_dir_world))
        _set(prog, "u_light_intensity", tuple(float(x) for x in settings.light_intensity))
        _set(prog, "u_ambient", float(settings.ambient))
        _set(prog, "u_eye_world", tuple(float(x) for x in camera.eye()))
        self.reference.use(0)
        self.astc.use(1)
        _set(prog, "t_reference", 0)
        _set(prog, "t_astc", 1)
        if self.defines.get("HAS_NETWORK") and self.weights.texture is not None:
            self.weights.bind(prog, 2)  # and the codec's atlas at 3
        # depth pre-pass, then shade only the nearest surface: the network runs once per covered pixel
        fbo = self.ctx.fbo
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.depth_func = "<"
        _set(self._depth_vao.program, "u_T_clip_world", camera.T_clip_world(w / max(h, 1)).tobytes())
        fbo.color_mask = (False, False, False, False)
        self._depth_vao.render(moderngl.TRIANGLES)
        fbo.color_mask = (True, True, True, True)
        fbo.depth_mask = False
        self.ctx.depth_func = "<="
        draw_indexed_triangles(vao, prog, self.mesh.indices.size)
        fbo.depth_mask = True
        self.ctx.depth_func = "<"


def check_layout(packed: PackedWeights, layout: str) -> None:
    """Refuse a network whose outputs are another set than the one shown (a .texinr of N channels on a mesh whose
    material has M)."""
    n = layout_width(parse_layout(layout))
    got = int(packed.defines.get("N_OUT", 3))
    if got != n:
        raise TexinrError(
            f"the model has {got} output channels; this {'material' if n != 3 else 'texture'} ({layout}) has {n}: "
            "load a model trained on this set"
        )


def view_needs_network(settings: ViewSettings) -> bool:
    """Whether this view shows the neural texture anywhere (else no model is needed)."""
    if settings.view in ("split", "diff"):
        return "neural" in (settings.left, settings.right)
    return settings.view == "neural"


def _set(prog, name: str, value) -> None:
    """Set a uniform if the compiler kept it (unused uniforms are optimised away)."""
    if name in prog:
        if isinstance(value, bytes):
            prog[name].write(value)
        else:
            prog[name].value = value


def probe_network(
    ctx, programs: ProgramCache, weights: WeightsTexture, defines: dict, glsl: dict[str, str], uv01, t: float
) -> np.ndarray:
    """The network's outputs at one (uv01, t), evaluated by the same shader code the mesh view runs: float32
    (N_OUT,) (the colour of one texture, a material's channels)."""
    prog = programs.get("uv_grid.glsl", {**defines, "PROBE": 1}, glsl)
    fbo = ctx.framebuffer(color_attachments=[ctx.texture((1, 1), 4, dtype="f4")])
    vao = ctx.vertex_array(prog, [])
    try:
        fbo.use()
        ctx.viewport = (0, 0, 1, 1)
        weights.bind(prog, 0)
        _set(prog, "u_uv01", tuple(float(v) for v in uv01))
        _set(prog, "u_lod_t", float(t))
        out = []
        for block in range(int(defines.get("MLP_OUT4", 1))):
            _set(prog, "u_out4", block)
            vao.render(moderngl.TRIANGLES, vertices=3)
            out.append(np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32))
        return np.concatenate(out)[: int(defines.get("N_OUT", 3))].copy()
    finally:
        vao.release()
        fbo.color_attachments[0].release()
        fbo.release()


@contextmanager
def _uv_grid_pass(ctx, programs: ProgramCache, packed: PackedWeights, width: int, height: int, t: float = 0.0):
    """The network over every pixel of a width x height float framebuffer (no mesh), set up once (weights uploaded,
    program compiled, uniforms set): yields (draw, fbo), draw(block=0) writing output channels 4 block .. 4 block
    + 3; everything is released on exit."""
    weights = WeightsTexture(ctx)
    weights.update(packed, 0)
    prog = programs.get("uv_grid.glsl", packed.defines, packed.glsl)
    fbo = ctx.framebuffer(color_attachments=[ctx.texture((width, height), 4, dtype="f4")])
    vao = ctx.vertex_array(prog, [])
    try:
        fbo.use()
        ctx.viewport = (0, 0, width, height)
        weights.bind(prog, 0)
        _set(prog, "u_size_px", (float(width), float(height)))
        _set(prog, "u_lod_t", float(t))

        def draw(block: int = 0) -> None:
            _set(prog, "u_out4", block)
            vao.render(moderngl.TRIANGLES, vertices=3)

        yield draw, fbo
    finally:
        vao.release()
        fbo.color_attachments[0].release()
        fbo.release()
        weights.release()


def time_uv_grid(
    ctx, programs: ProgramCache, packed: PackedWeights, width: int, height: int, frames: int, budget_s: float = 15.0
) -> list[float]:
    """Milliseconds to evaluate the network on every pixel of a width x height frame (no mesh: the worst case),
    drawing only (weights uploaded and program compiled first, one warm-up frame, ctx.finish() before each clock
    read, nothing read back): up to `frames` frames, no more than ~budget_s seconds."""
    times: list[float] = []
    with _uv_grid_pass(ctx, programs, packed, width, height) as (draw, _):
        draw()
        ctx.finish()
        start = time.perf_counter()
        while len(times) < frames and (not times or time.perf_counter() - start < budget_s):
            t0 = time.perf_counter()
            draw()
            ctx.finish()
            times.append((time.perf_counter() - t0) * 1000.0)
    return times


def render_uv_grid(
    ctx, programs: ProgramCache, packed: PackedWeights, width: int, height: int, t: float = 0.0
) -> np.ndarray:
    """The network at the pixel centres of a width x height grid (float32 (H, W, N_OUT), top row first)."""
    blocks = []
    with _uv_grid_pass(ctx, programs, packed, width, height, t) as (draw, fbo):
        for block in range(int(packed.defines.get("MLP_OUT4", 1))):
            draw(block)
            blocks.append(np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(height, width, 4))
    data = np.concatenate(blocks, axis=2)
    return data[::-1, :, : int(packed.defines.get("N_OUT", 3))].copy()


class _GL:
    """The few GL entry points called through ctypes, which releases Python's GIL for the call (moderngl holds it):
    on software GL a draw call compiles its shader variant (a quarter of a second for a network written into the
    shader) and glFinish waits for the frame, and a training thread should run meanwhile. They act on the context
    current on this thread, as moderngl's calls do. None where the library or a function cannot be found (then
    moderngl's own calls are used)."""

    def __init__(self):
        self.finish = self.use_program = self.bind_vertex_array = self.draw_elements = None
        for name in (
            "libOpenGL.so.0",
            "libGL.so.1",
            ctypes.util.find_library("OpenGL"),
            ctypes.util.find_library("GL"),
        ):
            try:
                lib = ctypes.CDLL(name) if name else None
                if lib is None:
                    continue
                self.finish = lib.glFinish
                self.use_program, self.bind_vertex_array = lib.glUseProgram, lib.glBindVertexArray
                self.draw_elements = lib.glDrawElements
                self.draw_elements.argtypes = [ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
                return
            except (OSError, AttributeError):
                continue


_GL_CALLS = _GL()
GL_TEXTURE_2D_ARRAY, GL_RGBA, GL_UNSIGNED_BYTE = 0x8C1A, 0x1908, 0x1401
_proc_address = None  # name (bytes) -> address of a GL function of the current context: set by who made the context


def set_proc_loader(loader) -> None:
    """How GL functions that moderngl does not wrap are found for the current context (a window: glfw's
    get_proc_address; create_context sets EGL's). An exported symbol of libOpenGL is not enough: GLVND fills in
    the dispatch of functions past GL 1.1 only for names asked through the loader."""
    global _proc_address
    _proc_address = loader


def _egl_loader():
    try:
        egl = ctypes.CDLL(ctypes.util.find_library("EGL") or "libEGL.so.1")
        egl.eglGetProcAddress.restype = ctypes.c_void_p
        egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
        return egl.eglGetProcAddress
    except (OSError, AttributeError):
        return None


_TEX_SUB_IMAGE_3D = ctypes.CFUNCTYPE(
    None, ctypes.c_uint, *([ctypes.c_int] * 7), ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p
)


def write_array_levels(tex, levels_u8: list[np.ndarray]) -> None:
    """Write mip levels 1, 2, ... of an RGBA8 texture array (moderngl writes level 0 only): each (layers, h, w, 4)
    uint8, through glTexSubImage3D on the texture bound to unit 0."""
    address = _proc_address(b"glTexSubImage3D") if _proc_address is not None else None
    if not address:
        raise TexinrError("cannot write a texture's mip levels: glTexSubImage3D was not found")
    sub_image = _TEX_SUB_IMAGE_3D(address)
    tex.use(0)
    for k, data in enumerate(levels_u8, start=1):
        layers, h, w, _ = data.shape
        buf = np.ascontiguousarray(data)
        sub_image(GL_TEXTURE_2D_ARRAY, k, 0, 0, 0, w, h, layers, GL_RGBA, GL_UNSIGNED_BYTE, buf.ctypes.data)
GL_TRIANGLES, GL_UNSIGNED_INT = 0x0004, 0x1405


def finish(ctx) -> None:
    """ctx.finish() without holding the GIL while the frame is shaded."""
    if _GL_CALLS.finish is not None:
        _GL_CALLS.finish()
    ctx.finish()  # returns at once after the ctypes call; the fallback where it could not be loaded


def draw_indexed_triangles(vao, prog, count: int) -> None:
    """vao.render(TRIANGLES) of a VAO with a 32-bit index buffer, without holding the GIL (see _GL)."""
    gl = _GL_CALLS
    if gl.draw_elements is None:
        vao.render(moderngl.TRIANGLES)
        return
    gl.use_program(prog.glo)
    gl.bind_vertex_array(vao.glo)
    gl.draw_elements(GL_TRIANGLES, count, GL_UNSIGNED_INT, None)


class OffscreenTarget:
    """An RGBA8 (or RGBA32F) + depth framebuffer kept between frames (re-created only when the size changes)."""

    def __init__(self, ctx, dtype: str = "f1", clear: tuple[float, ...] = BACKGROUND):
        self.ctx = ctx
        self.fbo = None
        self.dtype = dtype
        self.clear = clear

    def draw(
        self,
        renderer: MeshRenderer,
        camera: OrbitCamera,
        size: tuple[int, int],
        settings: ViewSettings,
        jitter_px: tuple[float, float] = (0.0, 0.0),
        accumulated: bool = False,
        frame: int = 0,
    ):
        self.ensure(size)
        w, h = size
        self.fbo.use()
        self.ctx.viewport = (0, 0, w, h)
        self.fbo.clear(*self.clear, depth=1.0)
        renderer.draw(camera, (w, h), settings, jitter_px, accumulated, frame)
        finish(self.ctx)

    def ensure(self, size: tuple[int, int]) -> None:
        """A framebuffer of this size (re-made only when the size changed)."""
        w, h = size
        if self.fbo is None or self.fbo.size != (w, h):
            self.release()
            colour = self.ctx.texture((w, h), 4, dtype=self.dtype)  # a texture, so the window can draw it scaled
            colour.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self.fbo = self.ctx.framebuffer(
                color_attachments=[colour], depth_attachment=self.ctx.depth_renderbuffer((w, h))
            )

    def read(self) -> np.ndarray:
        """uint8 (H, W, 3), top row first."""
        w, h = self.fbo.size
        data = np.frombuffer(self.fbo.read(components=3), np.uint8).reshape(h, w, 3)
        return data[::-1].copy()

    def read_pixel(self, x: int, y_from_top: int) -> np.ndarray:
        """One pixel's 4 channels (float32 for an f4 target)."""
        w, h = self.fbo.size
        x, y = min(max(int(x), 0), w - 1), min(max(int(y_from_top), 0), h - 1)
        dtype = "f4" if self.dtype == "f4" else "f1"
        data = self.fbo.read(viewport=(x, h - 1 - y, 1, 1), components=4, dtype=dtype)
        return np.frombuffer(data, np.float32 if dtype == "f4" else np.uint8).astype(np.float32)

    def release(self) -> None:
        if self.fbo is not None:
            for attachment in (*self.fbo.color_attachments, self.fbo.depth_attachment):
                attachment.release()
            self.fbo.release()
            self.fbo = None


class ViewTarget:
    """What a window shows: an RGBA8 target (`fbo`, `read`) drawn one frame per call. With the accumulate filter,
    on a view that shows the neural texture, each call while nothing changed (camera, size, settings, weights) adds a
    jittered frame to a running mean (filtering.Accumulator) until it has converged; `pending` says whether more
    frames would still change the picture."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.out = OffscreenTarget(ctx)
        self.scratch = OffscreenTarget(ctx, dtype="f4")
        self.acc = Accumulator(ctx)
        self.accumulating = False

    @property
    def fbo(self):
        return self.out.fbo

    @property
    def pending(self) -> bool:
        return self.accumulating and not self.acc.converged

    def draw(self, renderer: MeshRenderer, camera: OrbitCamera, size: tuple[int, int], settings: ViewSettings):
        self.accumulating = (
            settings.filter == "accumulate"
            and bool(renderer.defines.get("HAS_NETWORK"))
            and view_needs_network(settings)
        )
        if not self.accumulating:
            self.acc.start(None)
            self.out.draw(renderer, camera, size, settings)
            return
        self.acc.start((id(renderer), renderer.weights.version, renderer.defines, camera, size, settings))
        jitter, accumulated = self.acc.next_frame()
        self.scratch.draw(renderer, camera, size, settings, jitter, accumulated, self.acc.count)
        shown = self.acc.add(self.scratch.fbo.color_attachments[0], size)
        self.out.ensure(size)
        self.acc.copy(shown, self.out.fbo, size)
        finish(self.ctx)

    def read(self) -> np.ndarray:
        return self.out.read()

    def release(self) -> None:
        self.out.release()
        self.scratch.release()
        self.acc.release()


def render_offscreen(
    ctx, renderer: MeshRenderer, camera: OrbitCamera, size: tuple[int, int], settings: ViewSettings
) -> np.ndarray:
    """One view into a fresh RGBA8 framebuffer: uint8 (H, W, 3), top row first; with the accumulate filter, the
    converged view (as a still window shows it after about a second)."""
    target = ViewTarget(ctx)
    try:
        target.draw(renderer, camera, size, settings)
        while target.pending:
            target.draw(renderer, camera, size, settings)
        return target.read()
    finally:
        target.release()
