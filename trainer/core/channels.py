"""What a network's output channels are: one RGB texture, or the maps of a material set.

A layout is a comma-separated list of map names (`ModelConfig.channels`, saved in every `.texinr`): "rgb" for
one texture, e.g. "base_colour,normal,occlusion,roughness,metallic" for a glTF metallic-roughness material. Each
name has one fixed width and space (MAPS below); the maps' channels follow one another in the network's output.

Spaces, as the channels are fitted, stored and compared (all in [0, 1]):
- srgb: sRGB-encoded colour, as the single-texture path has always fitted it (decoded to linear only for lighting);
- linear: a linear quantity (occlusion, roughness, metallic, alpha);
- normal: a tangent-space unit normal (OpenGL convention: +y up) as its x and y encoded (c + 1) / 2; z is
  reconstructed, z = sqrt(max(0, 1 - x^2 - y^2)) and the vector renormalised (as ASTC's normal mode does: it stores
  two channels too).

numpy only, no torch: the packer, the shaders' defines and the viewer read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from texinr.trainer.core.errors import TexinrError

MAPS: dict[str, tuple[int, str, str]] = {
    "rgb": (3, "srgb", "one colour texture"),
    "base_colour": (3, "srgb", "base colour (albedo), sRGB"),
    "normal": (2, "normal", "tangent-space normal, OpenGL convention, x and y (z reconstructed)"),
    "occlusion": (1, "linear", "ambient occlusion (1: unoccluded)"),
    "roughness": (1, "linear", "perceptual roughness"),
    "metallic": (1, "linear", "metalness"),
    "alpha": (1, "linear", "opacity"),
    "emissive": (3, "srgb", "emitted colour, sRGB"),
}
"""Every map a layout may name: (channels, space, what it is)."""
MATERIAL_ORDER = ("base_colour", "normal", "occlusion", "roughness", "metallic", "alpha", "emissive")
"""The order of a material's maps in the network's output (base colour first: the FLIP finish reads it there)."""
MAX_CHANNELS = 16
DEFAULTS = {"base_colour": 0.8, "occlusion": 1.0, "roughness": 0.5, "metallic": 0.0, "alpha": 1.0, "emissive": 0.0}
"""What shading assumes for a map a set does not have (the normal: (0, 0, 1))."""


@dataclass(frozen=True)
class MapSpec:
    name: str
    count: int  # channels
    space: str  # srgb | linear | normal
    start: int  # its first output channel

    @property
    def stop(self) -> int:
        return self.start + self.count


def parse_layout(spec: str) -> tuple[MapSpec, ...]:
    """ "base_colour,normal,..." -> the maps in output order, each with its first channel."""
    names = [n.strip().lower() for n in str(spec).split(",") if n.strip()]
    if not names:
        raise TexinrError("a channel layout names at least one map")
    out, start = [], 0
    for name in names:
        if name not in MAPS:
            raise TexinrError(f"unknown map {name!r} in channel layout; known: {', '.join(MAPS)}")
        if any(m.name == name for m in out):
            raise TexinrError(f"map {name!r} appears twice in the channel layout")
        count, space, _ = MAPS[name]
        out.append(MapSpec(name, count, space, start))
        start += count
    if "rgb" in names and len(names) > 1:
        raise TexinrError("'rgb' is the single-texture layout; a material names its maps (base_colour, ...)")
    if start > MAX_CHANNELS:
        raise TexinrError(f"the layout has {start} channels; at most {MAX_CHANNELS} are supported")
    return tuple(out)


def layout_width(layout: tuple[MapSpec, ...]) -> int:
    return sum(m.count for m in layout)


def format_layout(names) -> str:
    return ",".join(names)


def material_layout(names) -> str:
    """The layout of a material with these maps, in MATERIAL_ORDER."""
    present = set(names)
    return format_layout(n for n in MATERIAL_ORDER if n in present)


def find(layout: tuple[MapSpec, ...], name: str) -> MapSpec | None:
    return next((m for m in layout if m.name == name), None)


def colour_map(layout: tuple[MapSpec, ...]) -> MapSpec | None:
    """The colour map FLIP and colour metrics judge: 'rgb' or 'base_colour' (None when the set has neither)."""
    return find(layout, "rgb") or find(layout, "base_colour")


def is_material(layout: tuple[MapSpec, ...]) -> bool:
    return not (len(layout) == 1 and layout[0].name == "rgb")


SHIPPED_MEMBERS = (
    ("rgb", ("rgb",)),
    ("base_colour", ("base_colour", "alpha")),
    ("alpha", ("alpha",)),
    ("normal", ("normal",)),
    ("arm", ("occlusion", "roughness", "metallic")),
    ("emissive", ("emissive",)),
)
"""The images an asset pipeline ships and the maps each holds, in order (alpha is shipped alone only without a base
colour, which holds it in A)."""


def shipped_images(layout: tuple[MapSpec, ...]) -> tuple[str, ...]:
    """The images an asset pipeline ships for these maps (trainer.core.material.to_map_images writes them; ASTC
    compresses each): a single texture's `rgb`; `base_colour` (its alpha in A), `normal`, `arm` (occlusion,
    roughness, metallic packed), `alpha` without a base colour, `emissive`. "bpp per map" divides by their count."""
    names = {m.name for m in layout}
    return tuple(
        image
        for image, members in SHIPPED_MEMBERS
        if names & set(members) and not (image == "alpha" and "base_colour" in names)
    )


def shipped_members(layout: tuple[MapSpec, ...], image: str) -> tuple[MapSpec, ...]:
    """The maps of `layout` that the shipped `image` holds."""
    members = dict(SHIPPED_MEMBERS)[image]
    return tuple(m for m in layout if m.name in members)


def split(values: np.ndarray, layout: tuple[MapSpec, ...]) -> dict[str, np.ndarray]:
    """(H, W, C) -> {map name: (H, W, count)} views."""
    if values.shape[-1] != layout_width(layout):
        raise TexinrError(f"{values.shape[-1]} channels do not match the layout's {layout_width(layout)}")
    return {m.name: values[..., m.start : m.stop] for m in layout}


def normal_xyz(xy01: np.ndarray) -> np.ndarray:
    """Encoded x, y in [0, 1] (..., 2) -> unit tangent-space normals (..., 3), z reconstructed (>= 0)."""
    xy = np.asarray(xy01, np.float64) * 2.0 - 1.0
    z = np.sqrt(np.clip(1.0 - np.sum(xy * xy, axis=-1, keepdims=True), 0.0, None))
    v = np.concatenate([xy, z], axis=-1)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(n, 1e-12)).astype(np.float32)


def normal_rgb01(xyz: np.ndarray) -> np.ndarray:
    """Unit normals (..., 3) -> the usual normal-map colours (c + 1) / 2."""
    return np.clip((np.asarray(xyz, np.float32) + 1.0) * 0.5, 0.0, 1.0)
