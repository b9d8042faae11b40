"""Per-image choice of the setting a family is most sensitive to, by a short search (the paper's future work).

SIREN: the frequency factor omega0. Fourier features: the highest frequency (log bands) or sigma (Gaussian).
Hash grid, latent grid and codec: the learning rate. Each candidate is trained for an equal share of `fraction`
of the budget, the one with the lowest loss on the whole base level wins, and the caller trains the winner for what
is left. The model's size (and so its bits) never changes: only settings that cost no bits are searched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from trainer.config import DEFAULT_LR, Config

SEARCH_FRACTION = 0.2
"""Share of the budget spent on the search."""


@dataclass(frozen=True)
class TuneResult:
    config: Config  # the winner, with its train budget set to what is left
    field: str  # "omega0", "fourier_max_freq", "fourier_sigma" or "lr"
    tried: tuple[tuple[float, float], ...]  # (value, loss) per candidate
    value: float
    seconds: float  # spent searching


def candidates(config: Config, side: int) -> tuple[str, list[float]]:
    """The field to search and its values, around the family's default."""
    m = config.model
    if m.arch == "siren":
        return "omega0", [10.0, 20.0, 30.0, 60.0]
    if m.arch == "fourier":
        if m.fourier_mode == "gaussian":
            return "fourier_sigma", [5.0, 10.0, 20.0, 40.0]
        return "fourier_max_freq", [float(f) for f in (side / 16, side / 8, side / 4, side / 2) if f >= 1]
    base = config.train.lr if config.train.lr is not None else DEFAULT_LR[m.arch]
    return "lr", [base / 3, base, base * 3]


def _with(config: Config, name: str, value: float) -> Config:
    if name == "lr":
        return dataclasses.replace(config, train=dataclasses.replace(config.train, lr=value))
    return dataclasses.replace(config, model=dataclasses.replace(config.model, **{name: value}))


@torch.no_grad()
def _base_loss(trainer) -> float:
    from trainer.train import render

    h, w = trainer.samples.height, trainer.samples.width
    out = render(trainer.model, h, w, 0.0)
    return float(np.mean((out - trainer.samples.pyramid[0]) ** 2))


def tune(rgb01: np.ndarray, config: Config, fraction: float = SEARCH_FRACTION) -> TuneResult:
    """Short search; returns the winning config with train.seconds (or steps) reduced by what the search used."""
    from trainer.train import Trainer

    tc = config.train
    name, values = candidates(config, max(rgb01.shape[:2]))
    share = fraction / len(values)
    if tc.steps is not None:
        short = {"steps": max(1, int(tc.steps * share)), "seconds": None}
    else:
        short = {"steps": None, "seconds": tc.seconds * share}
    tried, spent = [], 0.0
    for v in values:
        c = _with(config, name, v)
        c = dataclasses.replace(c, train=dataclasses.replace(c.train, **short))
        trainer = Trainer(rgb01, c)
        trainer.run(every=10**9, with_weights=False)
        spent += trainer.elapsed
        loss = _base_loss(trainer) if np.isfinite(trainer.loss) else float("inf")
        tried.append((v, loss))
    best = min(tried, key=lambda t: t[1])[0]
    winner = _with(config, name, best)
    if tc.steps is not None:
        rest = dataclasses.replace(winner.train, steps=max(0, tc.steps - short["steps"] * len(values)))
    else:
        rest = dataclasses.replace(winner.train, seconds=max(0.0, tc.seconds - spent))
    return TuneResult(dataclasses.replace(winner, train=rest), name, tuple(tried), best, spent)
