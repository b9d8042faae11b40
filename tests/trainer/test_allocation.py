"""The codec's allocation per texture: candidates of the same bits, a race that keeps the best, recorded in the file."""

import dataclasses

import numpy as np
import pytest

from texinr.trainer.core import allocation
from texinr.trainer.core.config import CODEC_LADDERS, Config, TrainConfig, model_preset, parse_codec_grids
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.sizing import TOLERANCE, config_bits
from texinr.trainer.core.train import render


def codec_config(bpp=2.0, steps=60, alloc="race", mips=1):
    return Config(
        model_preset("codec", lod=mips > 1),
        TrainConfig(mips=mips, steps=steps, seconds=None, batch=2048, threads=1),
        16,
        bpp,
        alloc,
    )


def test_candidates_spend_the_same_bits_differently():
    cands = allocation.candidates(codec_config(), 512, 512)
    assert [name for name, _ in cands] == list(CODEC_LADDERS)
    target = 2.0 * 512 * 512
    for _, cfg in cands:
        assert abs(config_bits(cfg.model, 16) - target) <= TOLERANCE * target
    grids = {name: parse_codec_grids(cfg.model.codec_grids) for name, cfg in cands}
    assert max(r for r, _, _ in grids["fine"]) == 512  # a 1-bit grid at full resolution
    assert max(r for r, _, _ in grids["mid"]) == 256  # stops at half resolution, with more channels there
    assert sum(c for r, c, _ in grids["mid"] if r == 256) > sum(c for r, c, _ in grids["fine"] if r == 256)


@pytest.fixture(scope="module")
def astronaut256():
    from skimage import data

    from texinr.trainer.core.data import resize_image

    return resize_image(data.astronaut().astype(np.float32) / 255.0, 256)  # both ladders differ from 256^2 on


def test_race_keeps_the_best_and_charges_the_losers(astronaut256):
    cfg = codec_config(steps=200)
    started = allocation.start(astronaut256, cfg)
    info, trainer = started.allocation, started.trainer
    assert info["mode"] == "race" and len(info["tried"]) == 2
    fine, mid = info["tried"]
    # the coarser ladder must be RACE_MARGIN ahead of the finer one to take its place
    best = mid if mid["mse"] < (1 - allocation.RACE_MARGIN) * fine["mse"] else fine
    assert info["chosen"] == best["ladder"] and trainer.config.model.codec_grids == best["grids"]
    share = int(200 * allocation.RACE_FRACTION / 2)
    assert trainer.step_count == share and trainer.config.train.steps == 200 - share  # one loser charged
    before = float(np.mean((render(trainer.model, 256, 256) - astronaut256) ** 2))
    assert before < 0.5 * float(np.mean((astronaut256 - astronaut256.mean()) ** 2))  # it has learned: it goes on
    trainer.run(every=10**9, with_weights=False)
    assert trainer.step_count == 200 - share
    assert float(np.mean((render(trainer.model, 256, 256) - astronaut256) ** 2)) < before


def test_the_race_prefers_the_first_config_within_the_margin(astronaut256):
    from texinr.trainer.core.tuning import race

    cfgs = [c for _, c in allocation.candidates(codec_config(steps=40), 256, 256)]
    same = race(astronaut256, [cfgs[0], cfgs[0]], 0.5, averaged=True, margin=0.1)  # equal scores: the first
    assert same.index == 0 and same.losses[0] == same.losses[1]
    never = race(astronaut256, cfgs, 0.5, averaged=True, margin=1.0)  # nothing is 100 % ahead
    assert never.index == 0
    always = race(astronaut256, cfgs, 0.5, averaged=True, margin=-1e9)  # anything is "ahead": the last
    assert always.index == 1


def test_fixed_allocation_and_other_families_do_not_race(astronaut256):
    mid = allocation.start(astronaut256, codec_config(alloc="mid", steps=5))
    assert mid.allocation["mode"] == "fixed" and mid.allocation["chosen"] == "mid"
    assert mid.trainer.step_count == 0
    assert max(r for r, _, _ in parse_codec_grids(mid.trainer.config.model.codec_grids)) == 128
    grid = dataclasses.replace(codec_config(steps=5), model=model_preset("grid", lod=False))
    assert allocation.start(astronaut256, grid).allocation is None


def test_a_rate_no_allocation_reaches_is_one_clear_error():
    with pytest.raises(TexinrError, match=r"cannot size codec to 0\.05 bpp at 16x16"):
        allocation.candidates(codec_config(bpp=0.05), 16, 16)
