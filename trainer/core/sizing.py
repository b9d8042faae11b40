"""Automatic sizing: the model of a family whose payload lands on a target bits-per-pixel.

Bits are counted from a model built on torch's meta device (shapes only, no memory), with exactly the rules the
`.texinr` payload follows, so the sized model's file has the bits promised here.
"""

from __future__ import annotations

import dataclasses

import torch

from texinr.trainer.core import astc, families
from texinr.trainer.core.channels import parse_layout, shipped_images
from texinr.trainer.core.config import (
    CODEC_LADDERS,
    DEFAULT_LADDER,
    Config,
    ModelConfig,
    format_codec_grids,
    model_preset,
)
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.modelfile import codec_bits
from texinr.trainer.core.models import TextureField
from texinr.trainer.core.quantize import storage_dtype, stored_bits

TOLERANCE = 0.05
"""Sized models land within +-5% of the target bits."""


def config_bits(cfg: ModelConfig, bits: int) -> int:
    """Payload bits of a model with this config stored at `bits` precision."""
    with torch.device("meta"):
        model = TextureField(cfg)
    learned = {n for n, _ in model.named_parameters()}
    cbits = codec_bits(cfg)
    return sum(
        stored_bits(n, tuple(t.shape), bits, dtype=storage_dtype(n, bits, n in learned, cbits))
        for n, t in model.state_dict().items()
    )


def _search_int(make, lo: int, hi: int, target: int, bits: int) -> ModelConfig:
    """Largest integer x in [lo, hi] whose config(x) stays at or under target bits (monotone in x)."""
    if config_bits(make(lo), bits) > target:
        return make(lo)
    top = hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if config_bits(make(mid), bits) <= target:
            lo = mid
        else:
            hi = mid - 1
    # the next size up may land nearer the target
    below, above = make(lo), make(min(lo + 1, top))  # never past the range (an invalid config)
    db, da = target - config_bits(below, bits), config_bits(above, bits) - target
    return above if 0 <= da < db else below


def size_for_bpp(
    arch: str,
    bpp: float,
    width: int,
    height: int,
    bits: int = 16,
    lod: bool = False,
    ladder: str = DEFAULT_LADDER,
    **overrides,
) -> ModelConfig:
    """A config of family `arch` (its preset, with `overrides`) whose payload is bpp * width * height bits."""
    return size_model(model_preset(arch, lod=lod, **overrides), bpp, width, height, bits, ladder)


def rate_budget(rate: float, width: int, height: int, mips: int, images: int = 1, exact: bool = False) -> float:
    """The bits per pixel a model at `rate` may spend: the rate itself, or with mips what ASTC at the block of
    nearest bpp spends on its whole mip chain (so both sides store every level at equal bits). A material set's rate
    counts every map (`images` of them as ASTC ships it, trainer.core.channels.shipped_images): its block is the one
    nearest rate / images, and its chains are summed. `exact` (Config.rate_exact): with mips, the rate itself times
    what a chain adds to its base level (about 4/3), not snapped to an ASTC block: any rate, not ASTC's six."""
    if mips <= 1:
        return rate
    if exact:
        return rate * astc.chain_bpp(width, height, "4x4", mips) / astc.chain_bpp(width, height, "4x4", 1)
    return images * astc.chain_bpp(width, height, astc.nearest_block(rate / images, width, height), mips)


def resolve(config: Config, width: int, height: int) -> Config:
    """Every derived setting, in one place: the LOD input follows mips > 1, and a config with a bit rate
    (`config.bpp`) gets its family sized to rate_budget() for this texture, the codec along the ladder its
    `allocation` names ("race" is decided by trainer.core.allocation, which resolves each candidate; resolved directly
    it takes DEFAULT_LADDER). The result has its sizes fixed (bpp None), so resolving it again changes nothing."""
    model = config.model
    if config.bpp is not None:
        ladder = config.allocation if config.allocation in CODEC_LADDERS else DEFAULT_LADDER
        images = len(shipped_images(parse_layout(model.channels)))
        budget = rate_budget(config.bpp, width, height, config.train.mips, images, config.rate_exact)
        model = size_model(model, budget, width, height, config.bits, ladder)
    return dataclasses.replace(config, model=model, bpp=None).validate()


def size_model(
    base: ModelConfig, bpp: float, width: int, height: int, bits: int = 16, ladder: str = DEFAULT_LADDER
) -> ModelConfig:
    """`base` with its family's sizes chosen so that its payload is bpp * width * height bits (within TOLERANCE);
    the settings sizing does not choose (depth, omega0, ..., the codec's decoder width) are kept.

    MLP families (relu, siren, fourier) keep their preset depth and grow the width. The hash grid keeps 2 features
    and a 2 x 32 decoder, takes the most levels (up to 16) and the largest power-of-two table that fit, and fills
    the rest with decoder width. The latent grid keeps its levels and channels (finest = 4 x coarsest) and grows
    its resolution. The codec: see _size_codec (along `ladder`, a key of CODEC_LADDERS).
    """
    target = round(bpp * width * height)
    arch = base.arch
    side = max(width, height)
    cfg = families.get(arch).size(base, target, bits, side, ladder)
    got = config_bits(cfg, bits)
    if abs(got - target) > TOLERANCE * target:
        raise TexinrError(
            f"cannot size {arch} to {bpp:g} bpp at {width}x{height} (nearest: {got / (width * height):.3f} bpp)"
        )
    return cfg


def size_width(base: ModelConfig, target: int, bits: int, side: int, ladder: str) -> ModelConfig:
    """An MLP family's sizing rule: its preset depth, the width that lands nearest the target."""
    return _search_int(lambda w: dataclasses.replace(base, width=w), 2, 4096, target, bits)


def size_dense_grid(base: ModelConfig, target: int, bits: int, side: int, ladder: str) -> ModelConfig:
    """The latent grid's sizing rule: its levels and channels kept (finest = 4 x coarsest), the resolution grown;
    where resolution steps are too coarse, the decoder's width fills the rest."""
    levels = base.grid_levels

    def make(r):
        return dataclasses.replace(base, grid_base_res=max(1, r // 4) if levels > 1 else r, grid_finest_res=r)

    cfg = _search_int(make, 4, 8192, target, bits)
    if abs(config_bits(cfg, bits) - target) > TOLERANCE * target:
        r = cfg.grid_finest_res if config_bits(cfg, bits) <= target else max(4, cfg.grid_finest_res - 1)
        cfg = _search_int(lambda w: dataclasses.replace(make(r), width=w), 4, 256, target, bits)
    return cfg


def size_hash_grid(base: ModelConfig, target: int, bits: int, side: int, ladder: str) -> ModelConfig:
    """The hash grid's sizing rule: see _size_hashgrid."""
    return _size_hashgrid(base, target, bits, side)


def size_codec(base: ModelConfig, target: int, bits: int, side: int, ladder: str) -> ModelConfig:
    """The codec's sizing rule: its grids grown along `ladder` (a key of CODEC_LADDERS); see _size_codec."""
    return _size_codec(base, target, bits, side, CODEC_LADDERS[ladder])


def _size_hashgrid(base: ModelConfig, target: int, bits: int, side: int) -> ModelConfig:
    best = None
    for levels in range(16, 1, -1):
        for log2 in range(24, 3, -1):
            cfg = dataclasses.replace(
                base,
                hash_levels=levels,
                hash_features=2,
                hash_table_log2=log2,
                hash_base_res=min(16, side),
                hash_finest_res=max(min(16, side), side),
                width=32,
                depth=2,
            )
            if config_bits(cfg, bits) <= 0.9 * target:
                break
        else:
            continue
        cfg = _search_int(lambda w, c=cfg: dataclasses.replace(c, width=w), 8, 512, target, bits)
        if abs(config_bits(cfg, bits) - target) <= TOLERANCE * target:
            return cfg
        best = best or cfg
    return best or base


CODEC_MAX_CHANNELS = 8
"""Channels a fine grid grows to, per 3 outputs (one RGB texture: 8; an 8-channel material set: 24)."""
CODEC_GREEDY_COARSE_CHANNELS = 4
CODEC_COARSE = (16, 4)
"""A coarse 4-bit grid at 1/16 resolution carries smooth colour; its channel count (1-32) fills the budget."""


def _size_codec(base: ModelConfig, target: int, bits: int, side: int, ladder) -> ModelConfig:
    """Grids for a target: start from the coarse grid (4 channels), add one channel at a time to the fine grids in
    ladder order (e.g. 1/4, 1/2, full resolution, again ...) while it fits, then tune the coarse grid's channels and
    the decoder width to land nearest the target."""
    coarse_res = max(1, side // CODEC_COARSE[0])
    fine = [[max(1, side // step), 0, b] for step, b in ladder]
    max_channels = CODEC_MAX_CHANNELS * max(1, -(-base.outputs // 3))  # a material set's grids may be wider

    def make(fine_levels, coarse_ch, width=base.width):
        levels = sorted((tuple(lv) for lv in fine_levels if lv[1] > 0), reverse=True)
        levels.append((coarse_res, coarse_ch, CODEC_COARSE[1]))
        return dataclasses.replace(base, codec_grids=format_codec_grids(levels), width=width)

    grew = True
    while grew:
        grew = False
        for lv in fine:
            if lv[1] >= max_channels:
                continue
            lv[1] += 1
            if config_bits(make(fine, CODEC_GREEDY_COARSE_CHANNELS), bits) <= target:
                grew = True
            else:
                lv[1] -= 1
    cfg = _search_int(lambda c: make(fine, c), 1, 32, target, bits)
    if abs(config_bits(cfg, bits) - target) > TOLERANCE * target:
        ch = int(cfg.codec_grids.split(",")[-1].split("x")[1])
        cfg = _search_int(lambda w: make(fine, ch, w), 4, 256, target, bits)
    return cfg
