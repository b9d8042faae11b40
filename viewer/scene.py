"""What texinr-view shows, and from what: the view's settings (ViewCommand), the mesh and its texture or
material, the model (trained here, read from a file or from a space of textures) in the shader's layout, ASTC at
the model's bits, and the camera. The window, the headless renderer and the benchmarks all start from a Scene.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from texinr.trainer.core import astc, sizing
from texinr.trainer.core.arguments import (
    ArgumentParser,
    add_training_arguments,
    config_from_args,
    for_layout,
    is_material_input,
)
from texinr.trainer.core.channels import parse_layout, shipped_images
from texinr.trainer.core.config import Config, TrainConfig, setting_spec
from texinr.trainer.core.data import load_image
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import astc_maps, load_material, mtl_maps
from texinr.trainer.core.modelfile import atomic_write, load, packed_of
from texinr.trainer.core.resources import DEFAULT_MESH
from texinr.trainer.core.train import Trainer
from texinr.trainer.generation.generate import generated_file, open_space, opening_ends
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.mesh import load_mesh
from texinr.viewer.render.render import (
    ViewSettings,
    view_needs_network,
)
from texinr.viewer.workers.worker import stored_weights

VIEW_SECONDS = setting_spec(TrainConfig, "seconds")["default"]
"""Training budget of `texinr-view` (window or headless) when none is given: texinr-train's."""
NO_DISPLAY_SECONDS = 60.0
"""Training budget of `texinr-view` run on a machine without a display when none is given (it writes a picture)."""


BENCHMARK_RATES = (3.56, 2.0, 0.89)
"""The codec's rates in `texinr-view --benchmark` (the bench rates the window's frame rate must hold at)."""


def default_config() -> Config:
    """The training settings texinr-view uses when none are given (the same options its parser has)."""
    p = ArgumentParser()
    add_training_arguments(p)
    return config_from_args(p.parse_args([]), VIEW_SECONDS)


@dataclass(frozen=True)
class ViewCommand:
    mesh: Path = DEFAULT_MESH
    texture: Path | None = None
    model: Path | None = None
    config: Config = field(default_factory=lambda: default_config())  # the command line's defaults
    seconds_given: bool = False  # a training budget was given on the command line
    headless: bool = False
    screenshot: Path | None = None
    settings: ViewSettings = field(default_factory=ViewSettings)
    astc_block: str = "auto"
    size: tuple[int, int] = (1280, 720)
    yaw: float | None = None
    pitch: float | None = None
    distance: float | None = None
    benchmark: bool = False
    frames: int = 10
    screenshot_dir: Path | None = None
    benchmark_window: float | None = None
    benchmark_families: tuple[str, ...] = ()
    astc_quality: float = 98.0  # astcenc thorough (trainer.core.astc.DEFAULT_PRESET)
    benchmark_rates: tuple[float, ...] = BENCHMARK_RATES
    maps: tuple[tuple[str, Path], ...] = ()  # a material's maps named one by one
    normal_dx: bool = False
    material: str | None = None  # which material of a glTF with several
    given: frozenset[str] = frozenset()  # settings the command line gave (trainer.cli.for_layout)
    space: Path | None = None  # a space of textures: the Generate panel shows its textures (no training)


@dataclass
class Scene:
    """What one view shows: mesh, texture (or a material set's channels), ASTC's decoding of it, and the model (as
    packed weights)."""

    mesh: object
    image: np.ndarray  # (H, W, C) in `layout`
    astc_image: np.ndarray
    packed: object | None
    levels: int
    texture_path: Path
    layout: str = "rgb"
    notes: tuple[str, ...] = ()
    astc_chain: list[np.ndarray] | None = None  # one texture: the ASTC view's lower mip levels, each coded on its own
    astc_block: str | None = None  # when the view shows ASTC: its block


def load_surface(cmd: ViewCommand, mesh) -> tuple[np.ndarray, str, Path, tuple[str, ...]]:
    """What the mesh wears: (values (H, W, C), layout, where it came from, notes). A material set when the command
    names one (a folder, maps one by one) or the mesh's material has more than a base colour (a glTF's PBR maps, an
    .mtl with normal / roughness / ... maps); otherwise one texture, as the single-texture views always showed."""
    files = dict(cmd.maps)
    source = None
    if files or (cmd.texture is not None and is_material_input(cmd.texture, {})):
        source = cmd.texture
    elif cmd.texture is None and cmd.mesh.suffix.lower() in (".gltf", ".glb"):
        source = cmd.mesh
    elif cmd.texture is None and set(mtl_maps(cmd.mesh)[0]) - {"base_colour"}:
        source = cmd.mesh
    if source is not None or files:
        mset = load_material(source, files, cmd.normal_dx, cmd.material)
        notes = (*mesh.notes, *mset.notes)
        if mset.layout == "base_colour":  # a base colour alone is one texture
            return mset.values, "rgb", Path(mset.sources["base_colour"]), notes
        return mset.values, mset.layout, Path(source or next(iter(files.values()))), notes
    texture = cmd.texture or mesh.texture_path
    if texture is None:
        raise TexinrError(f"{cmd.mesh}: its material names no texture (map_Kd); give a TEXTURE")
    return load_image(texture), "rgb", Path(texture), mesh.notes


def astc_of(values: np.ndarray, layout: str, bits: float, levels: int, cmd: ViewCommand):
    """ASTC's decoding of the set (each map as a pipeline ships it), at the command's block or, by default, the
    block of nearest bpp (per shipped map) to the model's `bits`: (decoded, block, chain), chain the lower mip levels
    each coded on its own (one texture; None for a material's maps: GL's mips of the decoded set)."""
    h, w = values.shape[:2]
    images = len(shipped_images(parse_layout(layout)))
    block = cmd.astc_block
    if block == "auto":
        block = astc.nearest_block(bits / (w * h) / images, w, h, levels)
    if layout == "rgb":
        chain = astc.decoded_chain(values, block, cmd.astc_quality)
        return chain[0], block, chain[1:]
    return astc_maps(values, layout, block, cmd.astc_quality)[0], block, None


def prepare_scene(cmd: ViewCommand, log=print) -> Scene:
    mesh = load_mesh(cmd.mesh, cmd.material)
    image, layout, texture, notes = load_surface(cmd, mesh)
    for note in notes:
        log(f"texinr-view: note: {note}")
    cmd = with_layout(cmd, layout)
    shows_astc = cmd.settings.view == "astc" or (
        cmd.settings.view in ("split", "diff") and "astc" in (cmd.settings.left, cmd.settings.right)
    )
    packed, levels, bits = None, 6, None
    if cmd.model is not None:
        packed, levels, bits = packed_from_file(cmd.model)
    elif cmd.space is not None:
        packed, levels, bits = packed_from_space(cmd.space, layout)
    elif view_needs_network(cmd.settings):
        packed, levels, bits = train_for_view(image, cmd, log)
    astc_image, chain, block = image, None, None
    if shows_astc:  # encode only if shown
        h, w = image.shape[:2]
        if bits is None:  # the bits the model would have: the block of nearest bpp to them
            config = sizing.resolve(cmd.config, w, h)
            bits, levels = sizing.config_bits(config.model, config.bits), config.train.mips
        astc_image, block, chain = astc_of(image, layout, bits, levels, cmd)
    return Scene(mesh, image, astc_image, packed, levels, texture, layout, notes, chain, block)


def with_layout(cmd: ViewCommand, layout: str) -> ViewCommand:
    """The command with its network's outputs set to the set's channels (and a material's default rate)."""
    return replace(cmd, config=for_layout(cmd.config, layout, cmd.given))


def packed_from_file(path: Path):
    f = load(path)
    return packed_of(f), f.mips, f.payload_bits


def packed_from_space(path: Path, layout: str):
    """A space of textures' first texture (the prior's sample for seed 0, or the first training crop), packed."""
    if layout != "rgb":
        raise TexinrError(
            f"{path}: generated textures are colour textures, not a material set; name one texture after the mesh "
            "(texinr-view MESH TEXTURE --space DIR)"
        )
    space, prior = open_space(path)
    code, _ = opening_ends(space, prior)[0]
    f = generated_file(space, code, int(space.meta.get("crop", 64)), {})
    return packed_of(f), 1, f.payload_bits


def train_for_view(image: np.ndarray, cmd: ViewCommand, log):
    trainer = Trainer(image, cmd.config)
    snap = trainer.run(with_weights=False)
    packed, bits, _ = stored_weights(trainer)
    h, w = image.shape[:2]
    log(
        f"texinr-view: trained {trainer.config.model.arch} for {snap.elapsed:.1f} s ({snap.step} steps, "
        f"batch PSNR {snap.psnr:.2f} dB, {bits / (w * h):.3f} bpp)"
    )
    return packed, trainer.samples.mips, bits


def make_camera(mesh, cmd: ViewCommand, aspect: float | None = None):
    """The camera that frames the whole mesh in a view of this aspect (default: the --size frame's)."""
    lo, hi = mesh.bounds
    cam = OrbitCamera.framing(lo, hi, aspect=aspect or cmd.size[0] / max(cmd.size[1], 1))
    if cmd.yaw is not None:
        cam = replace(cam, yaw_deg=cmd.yaw)
    if cmd.pitch is not None:
        cam = replace(cam, pitch_deg=cmd.pitch)
    if cmd.distance is not None:
        cam = replace(cam, distance=cmd.distance)
    return cam


def save_png(path: Path, rgb_u8: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgb_u8).save(buf, format="PNG")
    atomic_write(path, buf.getvalue())
