"""Automatic sizing: every family lands within +-5% of the target, and the file then has exactly those bits."""

import pytest

from texinr.trainer.core.config import parse_codec_grids
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.families import names as family_names
from texinr.trainer.core.modelfile import model_bits
from texinr.trainer.core.models import build_model
from texinr.trainer.core.sizing import TOLERANCE, config_bits, size_for_bpp


@pytest.mark.parametrize("arch", family_names())
@pytest.mark.parametrize("bpp", [8.0, 2.0, 0.89])
def test_every_family_lands_on_the_target(arch, bpp):
    bits = 8 if arch == "codec" else 16
    cfg = size_for_bpp(arch, bpp, 256, 128, bits, lod=True)
    got = config_bits(cfg, bits) / (256 * 128)
    assert abs(got / bpp - 1) <= TOLERANCE, (arch, bpp, got)


@pytest.mark.parametrize("arch", ["codec", "fourier", "hashgrid"])
def test_counted_bits_are_the_file_bits(arch):
    bits = 8 if arch == "codec" else 16
    cfg = size_for_bpp(arch, 2.0, 128, 128, bits)
    assert config_bits(cfg, bits) == model_bits(build_model(cfg), bits)


def test_codec_spends_bits_on_fine_shallow_grids_first():
    two = parse_codec_grids(size_for_bpp("codec", 2.0, 512, 512, 8).codec_grids)
    low = parse_codec_grids(size_for_bpp("codec", 0.89, 512, 512, 8).codec_grids)
    high = parse_codec_grids(size_for_bpp("codec", 8.0, 512, 512, 8).codec_grids)
    assert [(r, b) for r, _, b in two] == [(512, 1), (256, 2), (128, 4), (32, 4)]
    assert [(r, b) for r, _, b in low] == [(256, 2), (128, 4), (32, 4)]  # no 1-bit full-resolution grid at 0.89
    assert sum(c for _, c, _ in high[:3]) > sum(c for _, c, _ in two[:3])  # more bits: more fine channels


def test_unreachable_target_is_a_clear_error():
    with pytest.raises(TexinrError, match=r"cannot size codec to 0\.01 bpp"):
        size_for_bpp("codec", 0.01, 512, 512, 8)
    with pytest.raises(TexinrError, match=r"cannot size siren to 1e\+06 bpp"):  # past the widest MLP
        size_for_bpp("siren", 1e6, 64, 64, 16)


@pytest.mark.parametrize("size", [2048, 4096])
def test_codec_sizing_holds_at_2k_and_4k(size):
    """Every candidate allocation the race may train lands within 5 % of the budget at 2k and 4k (with and without
    mips), counted on the meta device: nothing is allocated."""
    from texinr.trainer.core.allocation import candidates
    from texinr.trainer.core.config import Config, TrainConfig, model_preset
    from texinr.trainer.core.sizing import rate_budget

    for mips in (1, 6):
        for rate in (0.89, 1.28, 2.0, 3.56):
            config = Config(model_preset("codec", lod=mips > 1), TrainConfig(mips=mips), 16, rate).validate()
            budget = rate_budget(rate, size, size, mips)
            for ladder, cfg in candidates(config, size, size):
                got = config_bits(cfg.model, 16) / (size * size)
                assert abs(got / budget - 1) <= 0.05, (size, mips, rate, ladder, got, budget)
