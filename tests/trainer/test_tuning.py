"""The short search: it picks the candidate that fits best, keeps the model's bits, and charges its time."""

import dataclasses

import numpy as np

from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.trainer.core.sizing import config_bits
from texinr.trainer.core.train import render
from texinr.trainer.core.tuning import candidates, tune


def stripes(side: int, cycles: int) -> np.ndarray:
    x = (np.arange(side) + 0.5) / side
    v = 0.5 + 0.4 * np.sin(2 * np.pi * cycles * x)
    img = np.repeat(v[None, :], side, axis=0)
    return np.stack([img, img[::-1].T, np.full_like(img, 0.3)], axis=2).astype(np.float32)


def test_candidates_per_family():
    cfg = Config(model_preset("siren", width=16, depth=2, lod=False), TrainConfig(mips=1, steps=10))
    assert candidates(cfg, 512) == ("omega0", [15.0, 30.0, 60.0, 120.0])
    four = dataclasses.replace(cfg, model=model_preset("fourier", width=16, depth=2, lod=False))
    assert candidates(four, 512) == ("fourier_max_freq", [32.0, 64.0, 128.0, 256.0])
    codec = dataclasses.replace(cfg, model=model_preset("codec", lod=False))
    name, lrs = candidates(codec, 512)
    assert name == "lr" and lrs[1] == 3e-2 and lrs[0] < lrs[1] < lrs[2]


def test_fourier_search_finds_a_band_that_reaches_the_stripes():
    """32 cycles per texture: log bands up to 8 or 16 cycles cannot fit them in a few steps; 32 or 64 can."""
    image = stripes(128, 32)
    cfg = Config(
        model_preset("fourier", width=32, depth=2, fourier_bands=8, lod=False),
        TrainConfig(mips=1, steps=400, batch=4096, threads=1),
    )
    result = tune(image, cfg, fraction=0.8)
    assert result.field == "fourier_max_freq"
    assert [v for v, _ in result.tried] == [8.0, 16.0, 32.0, 64.0]
    losses = dict(result.tried)
    assert result.value == min(losses, key=losses.get)
    assert result.value >= 32.0, result.tried
    assert result.config.model.fourier_max_freq == result.value
    # the winner goes on from where the race left it; only the losers' steps are charged, and no bits
    assert result.trainer.step_count == 80 and result.trainer.config is result.config
    assert result.config.train.steps == 400 - 3 * 80
    assert config_bits(result.config.model, 16) == config_bits(cfg.model, 16)
    before = float(np.mean((render(result.trainer.model, 128, 128) - image) ** 2))
    assert abs(before - losses[result.value]) < 1e-6  # the very model the race scored
    result.trainer.run(every=10**9, with_weights=False)
    assert result.trainer.step_count == 160
    assert float(np.mean((render(result.trainer.model, 128, 128) - image) ** 2)) < before
