"""Settings as dataclasses: what the network is (ModelConfig) and how it is fitted (TrainConfig).

The resolved configs are saved inside every `.texinr` file, so a model file says how it was made.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from trainer.errors import TexinrError

ARCHS = ("relu", "siren", "fourier", "hashgrid", "grid", "codec")
"""Model families: ReLU MLP, SIREN, Fourier-feature MLP, multi-resolution hash grid, dense latent grid, and the
quantised latent-grid codec (latents stored at 1-8 bits, int8 decoder)."""

ARCH_NAMES = {
    "relu": "ReLU MLP",
    "siren": "SIREN",
    "fourier": "Fourier-feature MLP",
    "hashgrid": "hash grid + MLP",
    "grid": "latent grid + MLP",
    "codec": "quantised latent codec",
}

WEIGHT_BITS = (32, 16, 8)
OPTIMIZERS = ("adam", "rprop")
SCHEDULES = ("constant", "cosine", "exponential")

# Default learning rates per family, measured on short CPU budgets (a SIREN at 1e-4 needs thousands of steps;
# grids want large steps, as instant-ngp's 1e-2).
DEFAULT_LR = {"relu": 3e-3, "siren": 5e-4, "fourier": 3e-3, "hashgrid": 1e-2, "grid": 1e-2, "codec": 3e-2}
DEFAULT_BATCH = {"codec": 1 << 14}
"""Samples per step where a family differs from TrainConfig's 65536: the codec's quantised latents learn faster
from more, smaller steps (measured on astronaut 512^2, 40 s: 32.2 dB at 16k vs 31.1 dB at 64k)."""

DEFAULT_FLIP_FINISH = {"codec": 0.3}
"""Fraction of the budget spent, at its end, on the LDR-FLIP loss where a family differs from 0. Measured on
brick_wall_001 at 2 bpp, 60 s: MSE only 37.16 dB / FLIP 0.0568; last 30% on FLIP 37.50 dB / 0.0453 (ASTC 8x8:
0.0491); last 50% 37.28 / 0.0453; last 15% 37.03 / 0.0523."""

CODEC_BITS = range(1, 9)
BPP_RANGE = (0.05, 32.0)
"""Bit rates a user may ask for (bits per pixel of the base level); whether a family reaches one is sizing's call."""
DEFAULT_ARCH = "codec"
DEFAULT_BPP = 2.0
"""One default everywhere (texinr-train, texinr-view, the window): the codec at ASTC 8x8's rate, with mips."""


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


@dataclass(frozen=True)
class ModelConfig:
    """What the network is: family and sizes. A change here means a different shader."""

    arch: str = "grid"
    """Family: relu | siren | fourier | hashgrid | grid."""
    width: int = 32
    """Units per hidden layer of the MLP (the decoder MLP for grid families); the paper swept 128, 256, 512."""
    depth: int = 2
    """Number of hidden layers (the paper used 1-3)."""
    lod: bool = True
    """Whether the network takes the level of detail t in [0, 1] as an extra input (mipmap fitting)."""
    omega0: float = 30.0
    """SIREN: frequency factor of the sine layers (Sitzmann et al. 2020)."""
    fourier_bands: int = 16
    """Fourier features: number of frequencies n_f."""
    fourier_mode: str = "log"
    """Fourier features: 'log' (log-spaced bands per axis, 1 .. fourier_max_freq) or 'gaussian' (B ~ N(0, sigma^2))."""
    fourier_max_freq: float = 128.0
    """Fourier features, log mode: highest frequency in cycles per texture."""
    fourier_sigma: float = 10.0
    """Fourier features, gaussian mode: standard deviation of the random frequencies (Tancik et al. 2020)."""
    fourier_seed: int = 0
    """Fourier features, gaussian mode: seed of the random frequency matrix (the matrix is stored in the file)."""
    hash_levels: int = 16
    """Hash grid: number of resolution levels (instant-ngp image default: 16)."""
    hash_features: int = 2
    """Hash grid: features per level."""
    hash_table_log2: int = 14
    """Hash grid: log2 of the table size per level. A power of two so index wrap-around is a bit mask."""
    hash_base_res: int = 16
    """Hash grid: coarsest resolution (cells per side)."""
    hash_finest_res: int = 512
    """Hash grid: finest resolution (cells per side)."""
    grid_levels: int = 3
    """Latent grid: number of resolution levels."""
    grid_channels: int = 4
    """Latent grid: channels (latent features) per level."""
    grid_base_res: int = 32
    """Latent grid: coarsest resolution (cells per side)."""
    grid_finest_res: int = 128
    """Latent grid: finest resolution (cells per side)."""
    codec_grids: str = "512x1x1,256x1x2,128x1x4,32x8x4"
    """Codec: latent grids as RESxCHANNELSxBITS, comma-separated (see parse_codec_grids)."""
    codec_pe: int = 1
    """Codec: octaves of positional encoding at the finest grid's cell frequency (0: none)."""

    def validate(self) -> ModelConfig:
        """Return self, or raise TexinrError naming the first bad field."""
        if self.arch not in ARCHS:
            raise TexinrError(f"unknown family {self.arch!r}; choose one of {', '.join(ARCHS)}")
        _check_range("width", self.width, 1, 4096)
        _check_range("depth", self.depth, 1, 16)
        if not (math.isfinite(self.omega0) and self.omega0 > 0):
            raise TexinrError(f"omega0 must be a positive number, got {self.omega0}")
        _check_range("fourier bands", self.fourier_bands, 1, 1024)
        if self.fourier_mode not in ("log", "gaussian"):
            raise TexinrError(f"fourier mode must be 'log' or 'gaussian', got {self.fourier_mode!r}")
        if not (math.isfinite(self.fourier_max_freq) and self.fourier_max_freq >= 1):
            raise TexinrError(f"fourier max frequency must be >= 1, got {self.fourier_max_freq}")
        if not (math.isfinite(self.fourier_sigma) and self.fourier_sigma > 0):
            raise TexinrError(f"fourier sigma must be positive, got {self.fourier_sigma}")
        _check_range("hash levels", self.hash_levels, 1, 32)
        _check_range("hash features", self.hash_features, 1, 16)
        _check_range("hash table log2", self.hash_table_log2, 4, 24)
        _check_range("hash base resolution", self.hash_base_res, 1, 1 << 16)
        _check_range("hash finest resolution", self.hash_finest_res, self.hash_base_res, 1 << 16)
        _check_range("grid levels", self.grid_levels, 1, 16)
        _check_range("grid channels", self.grid_channels, 1, 64)
        _check_range("grid base resolution", self.grid_base_res, 1, 8192)
        _check_range("grid finest resolution", self.grid_finest_res, self.grid_base_res, 8192)
        parse_codec_grids(self.codec_grids)
        _check_range("codec positional encoding octaves", self.codec_pe, 0, 8)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(ModelConfig)}
        unknown = set(d) - names
        if unknown:
            raise TexinrError(f"unknown model setting(s): {', '.join(sorted(unknown))}")
        return ModelConfig(**d).validate()


PRESETS: dict[str, dict] = {
    "relu": {"width": 256, "depth": 3},
    "siren": {"width": 256, "depth": 3, "omega0": 30.0},
    "fourier": {"width": 256, "depth": 3, "fourier_bands": 16, "fourier_max_freq": 128.0},
    "hashgrid": {"width": 64, "depth": 2, "hash_levels": 16, "hash_features": 2, "hash_table_log2": 14},
    "grid": {"width": 16, "depth": 2, "grid_levels": 3, "grid_channels": 4},
    "codec": {"width": 16, "depth": 2, "codec_grids": "512x1x1,256x1x2,128x1x4,32x8x4", "codec_pe": 1},
}
"""Per-family defaults: the paper's MLP size (256 x 3), instant-ngp's image hash grid, a small latent grid whose
16 x 2 decoder renders at >= 10 frames/s on 2-core software GL (measured: README) and trains faster than 32 x 2.
The codec's decoder is 16 x 2 too: on llvmpipe a 32-wide layer costs 5x a 16-wide one per pixel (register
spills), and at 2 bpp with mips, 60 s, the 16 x 2 decoder scored 34.27 / 32.91 / 40.53 dB against 34.83 / 31.63 /
39.71 for 32 x 2 on brick_wall, astronaut and Metal055A (single runs; the bits it saves go to the grids)."""


def model_preset(arch: str, **overrides) -> ModelConfig:
    """The family's default ModelConfig with `overrides` (fields left None are ignored)."""
    if arch not in ARCHS:
        raise TexinrError(f"unknown family {arch!r}; choose one of {', '.join(ARCHS)}")
    names = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise TexinrError(f"unknown model setting(s): {', '.join(sorted(unknown))}")
    values = {**PRESETS[arch], **{k: v for k, v in overrides.items() if v is not None}}
    return ModelConfig(arch=arch, **values).validate()


FAMILY_OPTIONS = {
    "siren": ("omega0",),
    "fourier": ("fourier_bands", "fourier_mode", "fourier_max_freq", "fourier_sigma", "fourier_seed"),
    "hashgrid": ("hash_levels", "hash_features", "hash_table_log2", "hash_base_res", "hash_finest_res"),
    "grid": ("grid_levels", "grid_channels", "grid_base_res", "grid_finest_res"),
    "codec": ("codec_grids", "codec_pe"),
}
"""The ModelConfig fields only one family reads; width and depth apply to every family."""


def check_family_options(arch: str, given: dict) -> None:
    """Refuse an option that the chosen family does not read (it would be silently ignored)."""
    for family, names in FAMILY_OPTIONS.items():
        for name in names:
            if name in given and family != arch:
                raise TexinrError(f"--{name.replace('_', '-')} applies to the {family} family only, not {arch}")


@dataclass(frozen=True)
class TrainConfig:
    """How the network is fitted. A change here needs no new shader."""

    mips: int = 6
    """Mip levels fitted (bilinear 2x downsampling); 1 fits the base level only (the paper used 6)."""
    jitter: bool = False
    """Sample off-grid positions with bilinearly interpolated targets instead of pixel centres."""
    optimizer: str = "adam"
    """adam | rprop."""
    lr: float | None = None
    """Learning rate; None takes the family's default (DEFAULT_LR)."""
    schedule: str = "cosine"
    """Learning-rate schedule over the budget: constant | cosine (to 5%) | exponential (to 10%)."""
    batch: int | None = None
    """Samples per step; None takes the family's default (DEFAULT_BATCH, else 65536)."""
    flip_finish: float | None = None
    """Fraction of the budget, at its end, spent minimising LDR-FLIP (trainer.flip_loss) on image patches instead of
    MSE on random texels, with a fresh optimizer at FLIP_LR_SCALE of the learning rate; None takes the family's
    default (DEFAULT_FLIP_FINISH, else 0)."""
    steps: int | None = None
    """Budget in optimizer steps (None: use seconds)."""
    seconds: float | None = 30.0
    """Budget in wall-clock seconds (used when steps is None)."""
    seed: int = 0
    """Seed for initialisation and batch sampling: with a step budget, a run is repeatable."""
    threads: int = 0
    """Torch CPU threads; 0 uses every core."""
    snapshot_every: int = 50
    """Emit a snapshot (step, loss, PSNR, weights) every this many steps."""

    def validate(self) -> TrainConfig:
        _check_range("mips", self.mips, 1, 16)
        if self.optimizer not in OPTIMIZERS:
            raise TexinrError(f"unknown optimizer {self.optimizer!r}; choose adam or rprop")
        if self.schedule not in SCHEDULES:
            raise TexinrError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise TexinrError(f"learning rate must be a positive number, got {self.lr}")
        if self.batch is not None:
            _check_range("batch", self.batch, 1, 1 << 24)
        ff = self.flip_finish
        if ff is not None and not (math.isfinite(ff) and 0.0 <= ff <= 1.0):
            raise TexinrError(f"flip_finish must be a fraction between 0 and 1, got {ff}")
        if self.steps is None and self.seconds is None:
            raise TexinrError("give a budget: steps or seconds")
        if self.steps is not None:
            _check_range("steps", self.steps, 0, 10**9)
        if self.seconds is not None and not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise TexinrError(f"seconds must be a non-negative number, got {self.seconds}")
        _check_range("threads", self.threads, 0, 1024)
        _check_range("snapshot_every", self.snapshot_every, 1, 10**9)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Config:
    """Everything a `fit()` needs besides the image."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    bits: int = 16
    """Stored precision of the weights: 32 (fp32), 16 (fp16) or 8 (int8 with per-channel fp32 scales). The codec's
    latents keep their own bit depths (codec_grids); this sets its decoder's precision."""
    bpp: float | None = None
    """Target bit rate: the family is sized for each texture (trainer.sizing.resolve) to this many bits per pixel,
    or with mips to what ASTC at the block of nearest bpp spends on its mip chain. None: the sizes as given."""

    def validate(self) -> Config:
        self.model.validate()
        self.train.validate()
        if self.bits not in WEIGHT_BITS:
            raise TexinrError(f"bits must be 32, 16 or 8, got {self.bits}")
        if self.bpp is not None and not (math.isfinite(self.bpp) and BPP_RANGE[0] <= self.bpp <= BPP_RANGE[1]):
            raise TexinrError(f"bit rate must be between {BPP_RANGE[0]} and {BPP_RANGE[1]} bpp, got {self.bpp:g}")
        return self


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TexinrError(f"{name} must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise TexinrError(f"{name} must be between {lo} and {hi}, got {value}")
