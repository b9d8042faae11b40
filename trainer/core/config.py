"""Settings as dataclasses: what the network is (ModelConfig) and how it is fitted (TrainConfig).

The resolved configs are saved inside every `.texinr` file, so a model file says how it was made.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field

from texinr.trainer.core import families
from texinr.trainer.core.channels import is_material, layout_width, parse_layout
from texinr.trainer.core.errors import TexinrError

WEIGHT_BITS = (32, 16, 8)
OPTIMIZERS = ("adam", "rprop")
SCHEDULES = ("constant", "cosine", "exponential")

DEVICE_HELP = "torch device that trains: auto (CUDA, then Apple's MPS, then the CPU), cpu, cuda, cuda:N or mps"
_DEVICE_SPEC = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device_spec(spec: str) -> str:
    """`spec`, normalised, if it names a device at all (whether this machine has it: trainer.core.device.resolve)."""
    if not isinstance(spec, str) or not _DEVICE_SPEC.match(spec.strip().lower()):
        raise TexinrError(f"unknown device {spec!r}; choose auto, cpu, cuda, cuda:N or mps")
    return spec.strip().lower()


CODEC_BITS = range(1, 9)
BPP_RANGE = (0.05, 32.0)
"""Bit rates a user may ask for (bits per pixel of the base level); whether a family reaches one is sizing's call."""
DEFAULT_ARCH = "codec"
DEFAULT_BPP = 2.0
"""One default everywhere (texinr-train, texinr-view, the window): the codec at ASTC 8x8's rate, with mips."""


CODEC_LADDERS = {
    "fine": ((4, 4), (2, 2), (1, 1)),
    "mid": ((4, 4), (2, 2)),
}
"""The codec's fine grids as (texels per cell, bits), in the order sizing grows them. "fine": a 4-bit grid at 1/4
of the texture's resolution, a 2-bit grid at 1/2 and a 1-bit grid at full resolution. Measured on astronaut 512^2
at 2 bpp (40 s): spending the bits on finer, shallower grids beats coarser, deeper ones (33.3 dB for
512x1x1,256x1x2,128x1x4,32x8x4 against 32.9 dB for 256x2x2,128x3x4,32x8x4). "mid" stops at 1/2 resolution and
spends the full-resolution grid's bits on more channels there: smooth textures, where a 1-bit grid per texel
carries mostly noise, and short budgets (fewer latents learn in fewer steps). Which one wins depends on the
texture: trainer/core/allocation.py races them."""
DEFAULT_LADDER = "fine"
ALLOCATIONS = ("race", *CODEC_LADDERS)
"""How the codec spreads a bit rate over its grids: one ladder, or a race among all of them (the default)."""


def parse_codec_grids(spec: str) -> list[tuple[int, int, int]]:
    """ "RESxCHANNELSxBITS,..." -> [(res, channels, bits), ...]: one latent grid per item, in feature order.

    res is cells per side ((res + 1)^2 vertices over [0, 1]), bits the stored precision of each latent (1-8).
    """
    levels = []
    for item in str(spec).split(","):
        parts = item.strip().lower().split("x")
        try:
            res, ch, bits = (int(v) for v in parts)
        except ValueError:
            raise TexinrError(f"bad codec grid {item.strip()!r}; write RESxCHANNELSxBITS, e.g. 128x4x4") from None
        _check_range("codec grid resolution", res, 1, 8192)
        _check_range("codec grid channels", ch, 1, 64)
        if bits not in CODEC_BITS:
            raise TexinrError(f"codec grid bits must be between 1 and 8, got {bits}")
        levels.append((res, ch, bits))
    if not levels or len(levels) > 16:
        raise TexinrError(f"the codec needs 1 to 16 grids, got {len(levels)}")
    return levels


def format_codec_grids(levels: list[tuple[int, int, int]]) -> str:
    return ",".join(f"{r}x{c}x{b}" for r, c, b in levels)


def setting(default, help: str, lo=None, hi=None, choices=None, quick=None, parse=None, flag=None):
    """One setting's single definition: default, range (lo..hi, or choices: a tuple, or a function returning one,
    read when asked, as the family registry's names are) and help; `quick` is the value a command's --quick takes;
    `parse` turns a command-line string into a value that is not a plain number or string (e.g. a list of rates);
    `flag` is the option's name where it differs from the field's. The command line
    (trainer/cli/train.py), the window's panel (viewer/gui/panels.py) and validate() all read it."""
    meta = {"help": help, "lo": lo, "hi": hi, "choices": choices, "quick": quick, "parse": parse, "flag": flag}
    return field(default=default, metadata=meta)


def setting_spec(cls, name: str) -> dict:
    """The metadata of `cls`'s setting `name`, with its type ('int', 'float', 'str', 'bool') and default."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    kind = str(f.type).split("|")[0].strip()
    choices = f.metadata.get("choices")
    return {**f.metadata, "choices": choices() if callable(choices) else choices, "type": kind, "default": f.default}


def validate_settings(obj, as_options: bool = False) -> None:
    """Check every setting of a settings dataclass against its definition; raise TexinrError naming the first (as
    its command-line option, --name, with `as_options`)."""
    for f in dataclasses.fields(obj):
        meta, value = f.metadata, getattr(obj, f.name)
        if value is None or "help" not in meta:
            continue
        label = "--" + (meta.get("flag") or f.name).replace("_", "-") if as_options else f.name.replace("_", " ")
        choices = meta.get("choices")
        if callable(choices):
            choices = choices()
        if choices is not None:
            if value not in choices:
                raise TexinrError(f"{label}: {value!r} is not one of {', '.join(map(str, choices))}")
        elif str(f.type).startswith("int"):
            _check_range(label, value, meta["lo"], meta["hi"])
        elif str(f.type).startswith("float"):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise TexinrError(f"{label} must be a number, got {value!r}")
            if not meta["lo"] <= value <= meta["hi"]:
                raise TexinrError(f"{label} must be between {meta['lo']:g} and {meta['hi']:g}, got {value:g}")


CODEC_LAYOUTS = ("corner", "texel")


@dataclass(frozen=True)
class ModelConfig:
    """What the network is: family and sizes. A change here means a different shader."""

    arch: str = setting("grid", "family", choices=families.names)
    width: int = setting(32, "units per hidden layer of the MLP (the decoder of the grid families)", 1, 4096)
    depth: int = setting(2, "hidden layers", 1, 16)
    lod: bool = setting(True, "the level of detail t in [0, 1] is an input (derived by Config from mips > 1)")
    channels: str = setting(
        "rgb", "what the outputs are: 'rgb' (one texture) or a material's maps as NAME:COUNT:SPACE,... (derived)"
    )
    omega0: float = setting(30.0, "SIREN: frequency factor of the sine layers", 0.001, 10000.0)
    fourier_bands: int = setting(16, "Fourier features: number of frequencies", 1, 1024)
    fourier_mode: str = setting(
        "log", "Fourier features: log-spaced bands or Gaussian random", choices=("log", "gaussian")
    )
    fourier_max_freq: float = setting(128.0, "Fourier features, log: highest frequency (cycles/texture)", 1.0, 1e6)
    fourier_sigma: float = setting(10.0, "Fourier features, gaussian: standard deviation of frequencies", 0.001, 1e4)
    fourier_seed: int = setting(0, "Fourier features, gaussian: seed of the frequency matrix (stored)", 0, 2**31 - 1)
    hash_levels: int = setting(16, "hash grid: resolution levels", 1, 32)
    hash_features: int = setting(2, "hash grid: features per level", 1, 16)
    hash_table_log2: int = setting(14, "hash grid: log2 of the table size per level", 4, 24)
    hash_base_res: int = setting(16, "hash grid: coarsest resolution (cells per side)", 1, 1 << 16)
    hash_finest_res: int = setting(512, "hash grid: finest resolution (cells per side)", 1, 1 << 16)
    grid_levels: int = setting(3, "latent grid: resolution levels", 1, 16)
    grid_channels: int = setting(4, "latent grid: channels per level", 1, 64)
    grid_base_res: int = setting(32, "latent grid: coarsest resolution (cells per side)", 1, 8192)
    grid_finest_res: int = setting(128, "latent grid: finest resolution (cells per side)", 1, 8192)
    codec_grids: str = setting(
        "512x1x1,256x1x2,128x1x4,32x8x4", "codec: latent grids as RESxCHANNELSxBITS, comma-separated"
    )
    codec_pe: int = setting(1, "codec: octaves of positional encoding at the finest grid's frequency", 0, 8)
    codec_layout: str = setting(
        "corner",
        "codec: where a grid's vertices sit: 'corner', (RES + 1)^2 at the cell corners; 'texel', RES x RES at the "
        "texel centres of a RES-wide level, wrapping around as the texture repeats (better between texel centres of "
        "coarse levels, 2 dB worse at the base level's centres on brushed metal: docs/results/screen.md)",
        choices=CODEC_LAYOUTS,
    )

    def validate(self) -> ModelConfig:
        """Return self, or raise TexinrError naming the first bad field."""
        families.get(self.arch)  # an unknown family: one line naming the choices
        validate_settings(self)
        _check_range("hash finest resolution", self.hash_finest_res, self.hash_base_res, 1 << 16)
        _check_range("grid finest resolution", self.grid_finest_res, self.grid_base_res, 8192)
        parse_codec_grids(self.codec_grids)
        parse_layout(self.channels)
        return self

    @property
    def outputs(self) -> int:
        """Output channels of the network: the sum of the layout's map widths."""
        return layout_width(parse_layout(self.channels))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(ModelConfig)}
        unknown = set(d) - names
        if unknown:
            raise TexinrError(f"unknown model setting(s): {', '.join(sorted(unknown))}")
        return ModelConfig(**d).validate()


def model_preset(arch: str, **overrides) -> ModelConfig:
    """The family's default ModelConfig with `overrides` (fields left None are ignored)."""
    family = families.get(arch)
    names = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise TexinrError(f"unknown model setting(s): {', '.join(sorted(unknown))}")
    given = {k: v for k, v in overrides.items() if v is not None}
    material = "channels" in given and is_material(parse_layout(given["channels"]))
    values = {**family.preset, **(family.material_preset if material else {}), **given}
    return ModelConfig(arch=arch, **values).validate()


def check_family_options(arch: str, given: dict) -> None:
    """Refuse an option that the chosen family does not read (it would be silently ignored)."""
    for family in families.names():
        for name in families.get(family).options:
            if name in given and family != arch:
                raise TexinrError(f"--{name.replace('_', '-')} applies to the {family} family only, not {arch}")


@dataclass(frozen=True)
class TrainConfig:
    """How the network is fitted. A change here needs no new shader."""

    mips: int = setting(6, "mip levels fitted (bilinear 2x downsampling), with t as input when > 1", 1, 16)
    jitter: bool = setting(
        True,
        "train for the screen: besides texel centres of whole levels (9 in 10 samples), positions anywhere in a texel "
        "and between two levels, against the value a texture unit returns there (bilinear within a level, linear "
        "between levels); off: texel centres of whole levels only",
    )
    optimizer: str = setting("adam", "optimizer", choices=OPTIMIZERS)
    lr: float | None = setting(None, "learning rate (default per family)", 1e-9, 1e9)
    schedule: str = setting("cosine", "learning-rate schedule over the budget", choices=SCHEDULES)
    batch: int | None = setting(None, "samples per step (default 65536; codec 16384)", 1, 1 << 24)
    flip_finish: float | None = setting(
        None, "fraction of the budget, at its end, spent minimising LDR-FLIP on patches (codec 0.3, others 0)", 0.0, 1.0
    )
    balance: str = setting(
        "none",
        "a material set's loss: 'variance' divides each channel's squared error by the channel's variance (within "
        "8x of the mean weight), so smooth maps (normals) are fitted as closely, relatively, as busy ones, at the "
        "busy ones' cost (docs/results/materials.md); 'none' weighs every channel alike (one texture always)",
        choices=("none", "variance"),
    )
    steps: int | None = setting(None, "budget in optimizer steps (None: seconds)", 0, 10**9)
    seconds: float | None = setting(30.0, "budget in wall-clock seconds (when steps is None)", 0.0, 1e9)
    seed: int = setting(0, "seed of initialisation and sampling (a step budget repeats bit for bit)", 0, 2**31 - 1)
    threads: int = setting(0, "torch CPU threads (0: every core)", 0, 1024)
    device: str = setting("auto", DEVICE_HELP)
    snapshot_every: int = setting(50, "steps between snapshots", 1, 10**9)

    def validate(self) -> TrainConfig:
        validate_settings(self)
        check_device_spec(self.device)
        if self.steps is None and self.seconds is None:
            raise TexinrError("give a budget: steps or seconds")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Config:
    """Everything a `fit()` needs besides the image."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    bits: int = setting(
        16, "stored weight precision: fp32, fp16 or int8 (the codec's latents keep their own bits)", choices=WEIGHT_BITS
    )
    bpp: float | None = setting(
        None,
        "bit rate: size the family to this many bits per pixel of the texture; with mips, to what ASTC at the block "
        "of nearest bpp spends on its mip chain",
        *BPP_RANGE,
    )
    allocation: str = setting(
        "race",
        "codec with a bit rate: how its bits are spread over the grids; 'race' trains each candidate allocation "
        "for a share of the budget and keeps the best, or one fixed ladder",
        choices=ALLOCATIONS,
    )
    rate_exact: bool = False
    """With mips, size to bpp x the chain's share (sizing.rate_budget's `exact`) instead of ASTC's chain at the
    nearest block: texinr-compress's quality targets search rates between ASTC's. Not a user setting."""

    def __post_init__(self):
        # the level of detail t is a network input exactly when more than one level is fitted: derived here, once,
        # whatever the caller built the model with
        lod = isinstance(self.train.mips, int) and self.train.mips > 1
        if self.model.lod != lod:
            object.__setattr__(self, "model", dataclasses.replace(self.model, lod=lod))

    def validate(self) -> Config:
        self.model.validate()
        self.train.validate()
        validate_settings(self)
        return self


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TexinrError(f"{name} must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise TexinrError(f"{name} must be between {lo} and {hi}, got {value}")
