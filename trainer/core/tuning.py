"""Per-image choice of the setting a family is most sensitive to, by a short race (the paper's future work).

SIREN: the frequency factor omega0. Fourier features: the highest frequency (log bands) or sigma (Gaussian).
Hash grid, latent grid and codec: the learning rate. Every candidate starts a run with the whole budget's schedule and
trains for an equal share of `fraction` of the budget; the one with the lowest loss on the whole base level goes on
training from where it stands, and only the losers' time is charged to the budget. The model's size (and so its bits)
never changes: only settings that cost no bits are searched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from texinr.trainer.core import families, memory
from texinr.trainer.core.config import Config
from texinr.trainer.core.device import resolve
from texinr.trainer.core.train import Trainer, render

SEARCH_FRACTION = 0.25
"""Share of the budget the race runs for (all candidates together); the winner keeps its share."""


@dataclass(frozen=True)
class TuneResult:
    config: Config  # the winner, its train budget reduced by the losers' time
    trainer: object  # the winner's Trainer, part-trained under `config`: run() it to finish
    field: str  # "omega0", "fourier_max_freq", "fourier_sigma" or "lr"
    tried: tuple[tuple[float, float], ...]  # (value, loss) per candidate
    value: float
    seconds: float  # spent on the losers (charged to the budget; the winner's own share is in trainer.elapsed)


def candidates(config: Config, side: int) -> tuple[str, list[float]]:
    """The field to search and its values, around the family's default."""
    m = config.model
    family = families.get(m.arch)
    own = family.tune(m, side) if family.tune is not None else None
    if own is not None:
        return own
    base = config.train.lr if config.train.lr is not None else family.lr
    return "lr", [base / 3, base, base * 3]


def _with(config: Config, name: str, value: float) -> Config:
    if name == "lr":
        return dataclasses.replace(config, train=dataclasses.replace(config.train, lr=value))
    return dataclasses.replace(config, model=dataclasses.replace(config.model, **{name: value}))


@torch.no_grad()
def _base_loss(trainer) -> float:
    h, w = trainer.samples.height, trainer.samples.width
    out = render(trainer.model, h, w, 0.0)
    return float(np.mean((out - trainer.samples.pyramid[0]) ** 2))


def spend(config: Config, steps: int, seconds: float) -> Config:
    """`config` with its budget reduced by what was spent elsewhere (steps or seconds, whichever it counts)."""
    tc = config.train
    if tc.steps is not None:
        return dataclasses.replace(config, train=dataclasses.replace(tc, steps=max(1, tc.steps - steps)))
    return dataclasses.replace(config, train=dataclasses.replace(tc, seconds=max(1e-3, tc.seconds - seconds)))


@dataclass(frozen=True)
class RaceResult:
    index: int  # of the winner among the configs raced
    trainer: object  # the winner's Trainer, part-trained, its budget reduced by the losers' time: run() it to finish
    losses: tuple[float, ...]  # per candidate, its score (mean squared error; see race())
    seconds: float  # spent on the losers (charged to the budget; the winner's own share is in trainer.elapsed)


def race(
    rgb01: np.ndarray, configs: list[Config], fraction: float, averaged: bool = False, margin: float = 0.0
) -> RaceResult:
    """Train every config for an equal share of `fraction` of the (common) budget, each with the whole budget's
    schedule; the best goes on from where it stands, with the budget reduced by what the losers used.

    The score is the mean squared error on the whole base level at the end of the share, or with `averaged` the
    mean training loss over the second half of the share (quantised latents make the error at any one step jump
    by up to 2x: measured on Metal055A, codec at 2 bpp; the average over hundreds of batches is steadier). Configs
    come in order of preference: a later one must score below (1 - margin) x the best so far to take its place."""
    tc = configs[0].train
    share = fraction / len(configs)
    share_steps = max(1, int(tc.steps * share)) if tc.steps is not None else None

    def part(t) -> float:  # of its share a candidate has trained
        return t.step_count / share_steps if share_steps is not None else t.elapsed / (tc.seconds * share)

    memory.check(rgb01.shape[1], rgb01.shape[0], list(configs), resolve(tc.device))  # all of them, before any
    runs = []
    for cfg in configs:
        # the whole budget's schedule: the winner just goes on; every candidate reads the first one's sample table
        trainer = Trainer(rgb01, cfg, samples=runs[0][1].samples if runs else None)
        late = []
        while not trainer.done and part(trainer) < 1.0:
            loss = trainer.step()
            if part(trainer) > 0.5:
                late.append(loss)
        if not np.isfinite(trainer.loss):
            score = float("inf")
        elif averaged and late:
            score = float(np.mean(late)) if np.all(np.isfinite(late)) else float("inf")
        else:
            score = _base_loss(trainer)
        runs.append((score, trainer))
    best = 0
    for i in range(1, len(runs)):
        if runs[i][0] < (1.0 - margin) * runs[best][0]:
            best = i
    winner = runs[best][1]
    losers = [t for i, (_, t) in enumerate(runs) if i != best]
    winner.config = spend(winner.config, sum(t.step_count for t in losers), sum(t.elapsed for t in losers))
    return RaceResult(best, winner, tuple(score for score, _ in runs), sum(t.elapsed for t in losers))


def tune(rgb01: np.ndarray, config: Config, fraction: float = SEARCH_FRACTION) -> TuneResult:
    """Race the candidates; returns the winner part-trained, its budget reduced by what the losers used."""
    name, values = candidates(config, max(rgb01.shape[:2]))
    r = race(rgb01, [_with(config, name, v) for v in values], fraction)
    tried = tuple(zip(values, r.losses, strict=True))
    return TuneResult(r.trainer.config, r.trainer, name, tried, values[r.index], r.seconds)
