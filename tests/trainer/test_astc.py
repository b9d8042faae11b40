import itertools

import numpy as np
import pytest

from texinr.trainer.core import astc
from texinr.trainer.core.metrics import psnr


@pytest.fixture(scope="module")
def photo480():
    from skimage import data

    return data.astronaut()[:480, :480].astype(np.float32) / 255.0


@pytest.mark.parametrize(("block", "bpp"), [("4x4", 8.0), ("12x12", 128 / 144)])
def test_astc_bpp_is_exact(photo480, block, bpp):
    r = astc.compress(photo480, block)
    assert r.bpp == pytest.approx(bpp, abs=1e-12)
    assert f"{r.bpp:.2f}" == {"4x4": "8.00", "12x12": "0.89"}[block]
    assert r.decoded.shape == photo480.shape


def test_astc_quality_falls_with_bits(photo480):
    scores = [psnr(photo480, astc.compress(photo480, b).decoded) for b in astc.SQUARE_BLOCKS]
    assert all(a > b for a, b in itertools.pairwise(scores))
    assert 40 < scores[0] < 50 and 27 < scores[-1] < 33  # astronaut: ~43.8 dB at 8 bpp, ~30 at 0.89


def test_partial_blocks_round_up():
    assert astc.block_bits(13, 13, "4x4") == 128 * 16
    assert astc.chain_bpp(512, 512, "8x8", 6) == pytest.approx(2.0 * 5460 / 4096)


def test_mip_chain_counts_every_level(photo480):
    r = astc.compress(photo480, "8x8", mips=4)
    expected = sum(astc.block_bits(480 >> k, 480 >> k, "8x8") for k in range(4))
    assert r.bits == expected and r.levels == 4


def test_nearest_block():
    assert astc.nearest_block(2.1, 512, 512) == "8x8"
    assert astc.nearest_block(0.5, 512, 512) == "12x12"
    assert astc.nearest_block(2.0 * 4 / 3, 512, 512, mips=6) == "8x8"
    with pytest.raises(ValueError):
        astc.parse_block("7x7")
