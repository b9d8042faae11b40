"""How the neural view is filtered, and frame accumulation.

A texture unit blends texels over the pixel's footprint (trilinear: eight texels; anisotropic: several trilinear
probes along the footprint's major axis); a network evaluated once per pixel does not, unless it was trained to
return the filtered value (trainer/core/data.py draws such samples). The modes (mesh.glsl NEURAL_FILTER):

- one: one evaluation at the pixel centre and its mip level (GL's isotropic lambda).
- trilinear: the network at the four texel centres around the sample in each of the two mip levels around lambda,
  blended as a texture unit does (eight evaluations): exact texture-unit filtering of the network's own mips.
- aniso:N: up to N one-sample evaluations along the footprint's major axis, each at the level of the major axis
  divided by the tap count (GL's anisotropic filtering, with the network as the trilinear probe).
- accumulate: while the view is still, every frame adds one evaluation at a new position inside the pixel's footprint
  (an R2 low-discrepancy sequence over the pixel square, mapped through the uv derivatives), at the level of the
  footprint's minor axis (the accumulation itself averages along the major one), and the view shows their running
  mean; a moving view (or new weights) starts again from the one-sample frame.

The reference and ASTC views always get the GPU's trilinear + anisotropic filtering (render.image_texture), whatever
the neural mode is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import moderngl
import numpy as np

NEURAL_FILTERS = ("one", "trilinear", "aniso:2", "aniso:4", "aniso:8", "aniso:16", "accumulate")
"""The neural view's filter modes (texinr-view --filter, the View panel)."""
DEFAULT_FILTER = "accumulate"
ACCUMULATE_FRAMES = 32
"""Frames averaged before a still view stops redrawing."""
ACCUMULATE_LOD_BIAS = -1.0
"""Added to each accumulated sample's level (the minor axis's): the jittered frames average over the pixel already,
so a finer level loses less detail. Against 0, on a 512^2 brick wall at 2 bpp, -1 gained 0.36 dB on screen in the
minified torus view and 0.03 in the others (-0.5: 0.30; +0.5 lost 0.9): docs/results/screen.md."""
FOOTPRINT_SAMPLE = 3
"""NEURAL_FILTER of an accumulated frame: one evaluation at the level of the footprint's minor axis."""


@dataclass(frozen=True)
class FilterMode:
    kind: str  # one, trilinear, aniso, accumulate
    taps: int = 1  # aniso: the most evaluations along the major axis


def filter_mode(name: str) -> FilterMode:
    """A mode name of NEURAL_FILTERS -> FilterMode (ValueError for anything else)."""
    if name not in NEURAL_FILTERS:
        raise ValueError(f"unknown neural filter {name!r}: one of {', '.join(NEURAL_FILTERS)}")
    if name.startswith("aniso:"):
        return FilterMode("aniso", int(name.split(":")[1]))
    return FilterMode(name)


def filter_defines(name: str, accumulated: bool = False) -> dict:
    """What a mode compiles into mesh.glsl; `accumulated`: the program of an accumulated (jittered) frame."""
    mode = filter_mode(name)
    if mode.kind == "accumulate" and accumulated:
        return {"NEURAL_FILTER": FOOTPRINT_SAMPLE, "ANISO_TAPS": 16}
    code = {"one": 0, "accumulate": 0, "trilinear": 1, "aniso": 2}[mode.kind]
    return {"NEURAL_FILTER": code, "ANISO_TAPS": mode.taps}


def evaluations_per_pixel(name: str) -> str:
    """Network evaluations a covered pixel costs per frame, for the panel and the benchmark's table."""
    mode = filter_mode(name)
    return {"one": "1", "accumulate": "1", "trilinear": "8", "aniso": f"1-{mode.taps}"}[mode.kind]


def r2_jitter(k: int) -> tuple[float, float]:
    """The k-th offset (pixels, in [-0.5, 0.5)^2) of Roberts' R2 low-discrepancy sequence; k = 0 is the centre."""
    if k <= 0:
        return (0.0, 0.0)
    g = 1.32471795724474602596  # the plastic number
    return (math.fmod(0.5 + k / g, 1.0) - 0.5, math.fmod(0.5 + k / (g * g), 1.0) - 0.5)


def r3_point(k: int) -> tuple[float, float, float]:
    """The k-th point of the 3-D R-sequence in [0, 1)^3: an accumulated frame's stochastic choices (which level,
    which texel in x and y), rotated per pixel in the shader."""
    g = 1.22074408460575947536  # the root of x^4 = x + 1
    return tuple(math.fmod(0.5 + k / g ** (i + 1), 1.0) for i in range(3))


def stratified_offsets(n: int) -> list[tuple[float, float]]:
    """n x n offsets (pixels) at the centres of an n x n grid over the pixel square."""
    c = (np.arange(n) + 0.5) / n - 0.5
    return [(float(x), float(y)) for y in c for x in c]


_BLEND_VS = """
#version 330 core
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
_BLEND_FS = """
#version 330 core
uniform sampler2D t_a;
uniform sampler2D t_b;
uniform float u_weight;
out vec4 f_color;
void main() {  // texel for texel: mix(a, b, w)
    ivec2 p = ivec2(gl_FragCoord.xy);
    f_color = mix(texelFetch(t_a, p, 0), texelFetch(t_b, p, 0), u_weight);
}
"""


class Accumulator:
    """The running mean of jittered frames of one still view, kept in float textures; `key` says which view
    (camera, size, settings, weights) the frames belong to, a new key starts again."""

    def __init__(self, ctx, frames: int = ACCUMULATE_FRAMES):
        self.ctx = ctx
        self.frames = frames
        self.key: object = None
        self.count = 0  # frames taken for this key (frame 0: the one-sample frame; 1..: the running mean)
        self._sums: list = []
        self._fbos: list = []
        self._prog = self._vao = None  # made when first needed

    def _blend(self, a, b, weight: float, size: tuple[int, int]) -> None:
        """Draw mix(a, b, weight) texel for texel into the bound framebuffer."""
        if self._prog is None:
            self._prog = self.ctx.program(vertex_shader=_BLEND_VS, fragment_shader=_BLEND_FS)
            self._vao = self.ctx.vertex_array(self._prog, [])
        self.ctx.viewport = (0, 0, *size)
        a.use(0)
        b.use(1)
        self._prog["t_a"] = 0
        self._prog["t_b"] = 1
        self._prog["u_weight"] = weight
        self.ctx.disable(moderngl.DEPTH_TEST)
        self._vao.render(moderngl.TRIANGLES, vertices=3)

    def start(self, key: object) -> bool:
        """Begin a new mean when the view changed; True when it did."""
        if key == self.key:
            return False
        self.key, self.count = key, 0
        return True

    @property
    def converged(self) -> bool:
        return self.count > self.frames

    def next_frame(self) -> tuple[tuple[float, float], bool]:
        """(jitter in pixels, whether it is an accumulated frame) of the frame to draw next."""
        return r2_jitter(self.count), self.count > 0

    def add(self, frame, size: tuple[int, int]):
        """Take the frame just drawn (a float texture of `size`); return the texture to show: the one-sample frame
        itself at first, then the mean of the accumulated frames."""
        if self.count == 0:
            self.count = 1
            return frame
        if not self._sums or self._sums[0].size != size:
            self.release_targets()
            self._sums = [self.ctx.texture(size, 4, dtype="f4") for _ in range(2)]
            self._fbos = [self.ctx.framebuffer(color_attachments=[t]) for t in self._sums]
        n = self.count  # this is accumulated frame number n (1-based)
        src, dst = self._sums[n % 2], self._fbos[(n + 1) % 2]
        dst.use()
        self._blend(src, frame, 1.0 / n, size)
        self.count += 1
        return self._sums[(n + 1) % 2]

    def copy(self, texture, fbo, size: tuple[int, int]) -> None:
        """Draw `texture` into `fbo` texel for texel (the RGBA8 target a window shows)."""
        fbo.use()
        self._blend(texture, texture, 1.0, size)

    def release_targets(self) -> None:
        for obj in (*self._fbos, *self._sums):
            obj.release()
        self._sums, self._fbos = [], []

    def release(self) -> None:
        self.release_targets()
        if self._prog is not None:
            self._vao.release()
            self._prog.release()
            self._prog = self._vao = None
