"""Model families: one entry each, in one registry that settings, sizing, models, packing, tuning, the panel and
the bench all read.

A `Family` says everything that differs between families: its name and label, its default sizes and options, its
training defaults, its material defaults, how it is sized to a bit rate, what encoding feeds its MLP, which shader
block draws it. Adding a family is one `register(Family(...))` call with its own functions; nothing else keys a table
by family name. The six built-in families are registered by trainer.core.builtin_families, which the package
imports first (trainer/core/__init__.py), so the registry is full before any command reads it.

This module imports nothing of texinr's but errors: everything else may read it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from texinr.trainer.core.errors import TexinrError

DEFAULT_BATCH = 1 << 16
"""Samples per step of a family that names no batch of its own."""


@dataclass(frozen=True)
class Family:
    name: str
    """`--arch` and the `.texinr` header's `arch`: lower-case letters, digits and underscores."""
    label: str
    """What the panel and the reports call it."""
    preset: Mapping[str, Any]
    """Its default ModelConfig values (width, depth, and its own options' values)."""
    lr: float
    """Default learning rate."""
    encoding: Callable[[Any], Any]
    """ModelConfig -> the torch module that maps uv01 in [0, 1)^2 to the MLP's features (an `out_dim` attribute)."""
    size: Callable[..., Any]
    """The sizing rule: size(base: ModelConfig, target_bits: int, bits: int, side: int, ladder: str) -> ModelConfig
    with this family's sizes chosen so its payload is near target_bits (sizing checks the tolerance)."""
    feature_width: Callable[[dict], int]
    """The config (as a dict) -> the length of its encoding's feature vector (the memory estimate, the shader)."""
    options: tuple[str, ...] = ()
    """The ModelConfig fields only this family reads (refused with another family; shown in the panel)."""
    activation: str = "relu"
    """The MLP's hidden activation: 'relu' or 'sine' (a SIREN, with omega0)."""
    batch: int | None = None
    """Samples per step, where it differs from DEFAULT_BATCH."""
    flip_finish: float = 0.0
    """Share of the budget spent at its end on the LDR-FLIP loss."""
    material_preset: Mapping[str, Any] = field(default_factory=dict)
    """ModelConfig values that differ for a material set (more than one map)."""
    describe: Callable[[Any], str] | None = None
    """ModelConfig -> the sizes sizing chose, in a line (the panel); None: 'MLP W x D'."""
    tune: Callable[[Any, int], tuple[str, list[float]] | None] | None = None
    """(ModelConfig, texture side) -> the setting `--tune` races and its candidates; None: the learning rate."""
    allocations: bool = False
    """Whether a bit rate is spread over its grids along ladders that `--allocation` chooses or races."""
    bench_bits: int | None = None
    """The stored precision the bench always uses for it (the codec's decoder: fp16), whatever `--bits` says."""
    latent_bits: Callable[[Any], list[int]] | None = None
    """ModelConfig -> the stored bits of each bit-packed latent table (`encoding.tables.N`); None: no such tables."""
    packing_id: int | None = None
    """The shader's FAMILY number: trainer.core.packing writes its features and defines FAMILY_<NAME>, whose block
    in shaders/include/network.glsl encodes them. None: it trains and decodes in torch, but has no GPU path."""
    pack_features: Callable[..., Any] | None = None
    """pack_features(cfg: dict, weights: dict, texels, defines: dict) -> the latent atlas or None: writes the
    encoding's data into the weights texture (texels.add) and the defines its GLSL block reads."""

    def __post_init__(self):
        if not self.name or not all(c.isalnum() or c == "_" for c in self.name) or self.name != self.name.lower():
            raise ValueError(f"family name {self.name!r}: lower-case letters, digits and underscores")
        if self.activation not in ("relu", "sine"):
            raise ValueError(f"family {self.name}: activation must be 'relu' or 'sine', not {self.activation!r}")
        if self.packing_id is not None and self.pack_features is None:
            raise ValueError(f"family {self.name}: a GPU path (packing_id) needs pack_features")
        object.__setattr__(self, "preset", MappingProxyType(dict(self.preset)))
        object.__setattr__(self, "material_preset", MappingProxyType(dict(self.material_preset)))

    @property
    def default_batch(self) -> int:
        return self.batch if self.batch is not None else DEFAULT_BATCH


_REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a family (a name or packing id already taken is refused)."""
    if family.name in _REGISTRY:
        raise ValueError(f"family {family.name!r} is registered already")
    taken = {f.packing_id for f in _REGISTRY.values() if f.packing_id is not None}
    if family.packing_id is not None and family.packing_id in taken:
        raise ValueError(f"family {family.name}: packing id {family.packing_id} is taken")
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a family (a test's own)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Every family's name, in the order they were registered."""
    return tuple(_REGISTRY)


def get(name: str) -> Family:
    """The family called `name`; TexinrError naming the choices if there is none."""
    family = _REGISTRY.get(name) if isinstance(name, str) else None
    if family is None:
        raise TexinrError(f"unknown family {name!r}; choose one of {', '.join(_REGISTRY)}")
    return family


def summary(model) -> str:
    """A ModelConfig's sizes in a line (the panel's Network header, the bench's config column)."""
    describe = get(model.arch).describe
    return describe(model) if describe is not None else f"MLP {model.width} x {model.depth}"
