"""The ASTC baseline through astc-encoder-py (ARM's astcenc): LDR, the `thorough` preset unless told otherwise
(what users who care about quality ship; `medium` was 0.1-2.2 dB lower on photographs and PBR colour maps).

bpp = 128 * ceil(W / bw) * ceil(H / bh) / (W * H) for the base level; with mips, the bits of every level's
blocks are summed (and still divided by the base level's pixels), as docs/MEASURE.md asks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import astc_encoder as ae
import numpy as np

from texinr.trainer.core.data import build_pyramid, max_mip_levels

BLOCKS_2D = ("4x4", "5x4", "5x5", "6x5", "6x6", "8x5", "8x6", "8x8", "10x5", "10x6", "10x8", "10x10", "12x10", "12x12")
"""Every 2-D ASTC block size, 8.00 bpp (4x4) down to 0.89 bpp (12x12)."""
SQUARE_BLOCKS = ("4x4", "5x5", "6x6", "8x8", "10x10", "12x12")
PRESETS = {"fastest": 0, "fast": 10, "medium": 60, "thorough": 98, "verythorough": 99, "exhaustive": 100}
"""astcenc's presets as its quality numbers (astcenc -fastest ... -exhaustive)."""
DEFAULT_PRESET = "thorough"
DEFAULT_QUALITY = float(PRESETS[DEFAULT_PRESET])


def preset_quality(preset: str) -> float:
    if preset not in PRESETS:
        raise ValueError(f"unknown ASTC preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return float(PRESETS[preset])


def preset_name(quality: float) -> str:
    """The preset of this astcenc quality, or "quality Q" for a number that is none of them."""
    return next((name for name, q in PRESETS.items() if q == quality), f"quality {quality:g}")


def parse_block(block: str) -> tuple[int, int]:
    try:
        bw, bh = (int(s) for s in block.lower().split("x"))
    except ValueError:
        raise ValueError(f"bad ASTC block size {block!r}; use e.g. 6x6") from None
    if f"{bw}x{bh}" not in BLOCKS_2D:
        raise ValueError(f"ASTC has no 2-D block size {block}; choose one of {', '.join(BLOCKS_2D)}")
    return bw, bh


def block_bits(width: int, height: int, block: str) -> int:
    bw, bh = parse_block(block)
    return 128 * math.ceil(width / bw) * math.ceil(height / bh)


def nominal_bpp(block: str) -> float:
    bw, bh = parse_block(block)
    return 128.0 / (bw * bh)


@dataclass(frozen=True)
class AstcResult:
    block: str
    bits: int
    bpp: float
    decoded: np.ndarray  # (H, W, 3) float32 in [0, 1], base level
    levels: int = 1


def _codec(block: str, quality: float, threads: int, normal: bool = False):
    bw, bh = parse_block(block)
    if normal:  # astcenc -normal: x, y weighted alone, the encoder tuned for unit vectors
        cfg = ae.ASTCConfig(ae.ASTCProfile.LDR, bw, bh, 1, float(quality), ae.ASTCConfigFlags.MAP_NORMAL)
    else:
        cfg = ae.ASTCConfig(ae.ASTCProfile.LDR, bw, bh, 1, float(quality))
    return ae, ae.ASTCContext(cfg, threads=threads)


def compress_u8(
    img_u8: np.ndarray,
    block: str,
    quality: float = DEFAULT_QUALITY,
    mips: int = 1,
    threads: int = 2,
    normal: bool = False,
) -> tuple[np.ndarray, int]:
    """ASTC round trip of an (H, W, 3 or 4) uint8 map as an asset pipeline ships it: (decoded base level (H, W, 4)
    float32 in [0, 1], bits of the base level and, with mips > 1, of every level of its chain). `normal`: astcenc's
    normal mode (-normal): x replicated into RGB and y in A on the way in, decoded back as (x, y, 0, 1); z is the
    reader's to reconstruct."""
    ae, ctx = _codec(block, quality, threads, normal)
    h, w = img_u8.shape[:2]
    rgba = img_u8 if img_u8.shape[2] == 4 else np.concatenate([img_u8, np.full((h, w, 1), 255, np.uint8)], axis=2)
    swz_in = ae.ASTCSwizzle.from_str("rrrg" if normal else "rgba")
    swz_out = ae.ASTCSwizzle.from_str("ra01" if normal else "rgba")
    comp = ctx.compress(ae.ASTCImage(ae.ASTCType.U8, w, h, 1, np.ascontiguousarray(rgba).tobytes()), swz_in)
    out = ctx.decompress(comp, ae.ASTCImage(ae.ASTCType.U8, w, h, 1), swz_out)
    bits = len(comp) * 8
    if mips > 1:
        bits = round(chain_bpp(w, h, block, mips) * w * h)
    return np.frombuffer(out.data, np.uint8).reshape(h, w, 4).astype(np.float32) / 255.0, bits


def roundtrip_u8(
    rgb_u8: np.ndarray, block: str, quality: float = DEFAULT_QUALITY, threads: int = 2
) -> tuple[bytes, np.ndarray]:
    """Compress (H, W, 3) uint8 and decompress: (compressed bytes, decoded (H, W, 3) uint8)."""
    ae, ctx = _codec(block, quality, threads)
    h, w = rgb_u8.shape[:2]
    rgba = np.concatenate([rgb_u8, np.full((h, w, 1), 255, np.uint8)], axis=2)
    swz = ae.ASTCSwizzle.from_str("rgba")
    comp = ctx.compress(ae.ASTCImage(ae.ASTCType.U8, w, h, 1, np.ascontiguousarray(rgba).tobytes()), swz)
    out = ctx.decompress(comp, ae.ASTCImage(ae.ASTCType.U8, w, h, 1), swz)
    return comp, np.frombuffer(out.data, np.uint8).reshape(h, w, 4)[..., :3].copy()


def compress(
    rgb01: np.ndarray, block: str, quality: float = DEFAULT_QUALITY, mips: int = 1, threads: int = 2
) -> AstcResult:
    """ASTC round trip of an RGB [0, 1] image; with mips > 1 every level of its pyramid is encoded and counted."""
    u8 = np.round(np.clip(rgb01, 0, 1) * 255).astype(np.uint8)
    comp, dec = roundtrip_u8(u8, block, quality, threads)
    h, w = u8.shape[:2]
    bits = len(comp) * 8
    assert bits == block_bits(w, h, block)
    if mips > 1:
        for level in build_pyramid(rgb01, mips)[1:]:
            lh, lw = level.shape[:2]
            bits += block_bits(lw, lh, block)
    return AstcResult(block, bits, bits / (w * h), dec.astype(np.float32) / 255.0, mips)


def decoded_chain(rgb01: np.ndarray, block: str, quality: float = DEFAULT_QUALITY, threads: int = 2) -> list[np.ndarray]:
    """Every level of the image's pyramid down to 1x1 (data.build_pyramid: the trainer's and GL's box mips), each
    ASTC-encoded and decoded on its own, as a texture with a compressed mip chain holds them: float32 [0, 1]."""
    out = []
    for level in build_pyramid(rgb01, max_mip_levels(*rgb01.shape[:2])):
        u8 = np.round(np.clip(level, 0, 1) * 255).astype(np.uint8)
        out.append(roundtrip_u8(u8, block, quality, threads)[1].astype(np.float32) / 255.0)
    return out


def chain_bpp(width: int, height: int, block: str, mips: int) -> float:
    bits, w, h = 0, width, height
    for _ in range(mips):
        bits += block_bits(w, h, block)
        w, h = max(1, w // 2), max(1, h // 2)
    return bits / (width * height)


def nearest_block(bpp: float, width: int, height: int, mips: int = 1, blocks=SQUARE_BLOCKS) -> str:
    """The block size whose (mip-chain) bpp is nearest to bpp, in log space."""
    return min(blocks, key=lambda b: abs(math.log(chain_bpp(width, height, b, mips) / max(bpp, 1e-9))))
