"""BC1 / BC7 through etcpak (encode) and texture2ddecoder (decode): bits as a GPU stores them, decoded images
close to the source, edge padding for sides that are not multiples of 4."""

import numpy as np
import pytest

from texinr.trainer.batch import blockformats
from texinr.trainer.core.metrics import psnr


def smooth(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    return np.stack([0.5 + 0.4 * np.sin(5 * x), 0.5 + 0.4 * np.cos(4 * y), 0.3 + 0.5 * x * y], -1).astype(np.float32)


@pytest.mark.parametrize("fmt, bpp", [("bc1", 4.0), ("bc7", 8.0)])
def test_bits_and_quality(fmt, bpp):
    img = smooth(64, 64)
    r = blockformats.compress(img, fmt)
    assert r.bits == 64 * 64 * bpp and r.bpp == bpp and r.decoded.shape == img.shape
    assert psnr(img, r.decoded) > (35 if fmt == "bc1" else 42)
    chain = blockformats.compress(img, fmt, mips=7)  # 64, 32, ..., 1: blocks of every level, 1x1 still a block
    assert chain.bits == sum(blockformats.block_bits(64 >> k, 64 >> k, fmt) for k in range(7))
    assert chain.bits > r.bits and np.array_equal(chain.decoded, r.decoded)


def test_bc7_beats_bc1_on_detail():
    rng = np.random.default_rng(0)
    img = np.clip(smooth(32, 32) + rng.normal(0, 0.05, (32, 32, 3)), 0, 1).astype(np.float32)
    assert psnr(img, blockformats.compress(img, "bc7").decoded) > psnr(img, blockformats.compress(img, "bc1").decoded)


def test_odd_sizes_are_padded_and_counted_as_whole_blocks():
    img = smooth(30, 21)
    r = blockformats.compress(img, "bc1")
    assert r.decoded.shape == (30, 21, 3)
    assert r.bits == 64 * 8 * 6  # ceil(30/4) x ceil(21/4) blocks
    assert psnr(img, r.decoded) > 30


def test_channels_are_not_swapped():
    img = np.zeros((8, 8, 3), np.float32)
    img[..., 0] = 1.0  # pure red
    for fmt in blockformats.FORMATS:
        dec = blockformats.compress(img, fmt).decoded
        assert dec[..., 0].min() > 0.95 and dec[..., 1:].max() < 0.05
