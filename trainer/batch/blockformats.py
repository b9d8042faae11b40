"""The desktop baseline: BC1 (4 bpp) and BC7 (8 bpp), the block formats desktop GPUs sample, beside ASTC.

Encoded by `etcpak` (BC1: its fast range fit, no dithering; BC7: Rich Geldreich's bc7enc inside it at uber level 2
with linear RGB weights, which scored 1.2-1.5 dB more RGB PSNR than its perceptual YCbCr default on brick_wall_001 and
astronaut at 1k / 512^2, uber 2 within 0.05 dB of uber 4 at half the time) and decoded by `texture2ddecoder`, an
independent decoder (etcpak's own decompressor fails on BC7 data here). Both are 4x4-block formats: a side that is
not a multiple of 4 is padded by repeating its edge, and the padding's blocks are counted, as a GPU stores them.
bpp = (64 or 128) * ceil(W / 4) * ceil(H / 4) / (W * H) for the base level; with mips, every level's blocks are
summed and divided by the base level's pixels, as for ASTC (trainer/core/astc.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import etcpak
import numpy as np
import texture2ddecoder

FORMATS = {"bc1": 64, "bc7": 128}
"""Bits per 4x4 block."""
BC7_UBER_LEVEL = 2


@dataclass(frozen=True)
class BlockResult:
    format: str
    bits: int
    bpp: float
    decoded: np.ndarray  # (H, W, 3) float32 in [0, 1], base level
    levels: int = 1


def block_bits(width: int, height: int, fmt: str) -> int:
    return FORMATS[fmt] * math.ceil(width / 4) * math.ceil(height / 4)


def chain_bits(width: int, height: int, fmt: str, mips: int) -> int:
    bits, w, h = 0, width, height
    for _ in range(mips):
        bits += block_bits(w, h, fmt)
        w, h = max(1, w // 2), max(1, h // 2)
    return bits


def roundtrip_u8(rgb_u8: np.ndarray, fmt: str) -> np.ndarray:
    """Encode (H, W, 3) uint8 in `fmt` and decode it: the decoded (H, W, 3) uint8."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown block format {fmt!r}; choose one of {', '.join(FORMATS)}")
    h, w = rgb_u8.shape[:2]
    ph, pw = -h % 4, -w % 4
    rgba = np.concatenate([rgb_u8, np.full((h, w, 1), 255, np.uint8)], axis=2)
    if ph or pw:
        rgba = np.pad(rgba, ((0, ph), (0, pw), (0, 0)), mode="edge")
    H, W = rgba.shape[:2]
    data = np.ascontiguousarray(rgba).tobytes()
    if fmt == "bc1":
        comp = etcpak.compress_bc1(data, W, H)
        out = texture2ddecoder.decode_bc1(comp, W, H)
    else:
        params = etcpak.BC7CompressBlockParams()
        params.init_linear_weights()
        params.m_uber_level = BC7_UBER_LEVEL
        comp = etcpak.compress_bc7(data, W, H, params)
        out = texture2ddecoder.decode_bc7(comp, W, H)
    assert len(comp) * 8 == block_bits(W, H, fmt)
    bgra = np.frombuffer(out, np.uint8).reshape(H, W, 4)
    return bgra[:h, :w, 2::-1].copy()


def compress(rgb01: np.ndarray, fmt: str, mips: int = 1) -> BlockResult:
    """Round trip of an RGB [0, 1] image through `fmt`; with mips > 1 the whole chain's blocks are counted (the
    decoded base level is what the metrics compare)."""
    u8 = np.round(np.clip(rgb01[..., :3], 0, 1) * 255).astype(np.uint8)
    h, w = u8.shape[:2]
    dec = roundtrip_u8(u8, fmt)
    bits = chain_bits(w, h, fmt, mips)
    return BlockResult(fmt, bits, bits / (w * h), dec.astype(np.float32) / 255.0, mips)
