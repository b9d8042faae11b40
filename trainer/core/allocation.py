"""Per-texture allocation of the codec's bits: a race among the candidate allocations of the same budget.

Sizing (trainer/core/sizing.py) can spread a bit rate over the codec's grids along several ladders (config.CODEC_LADDERS):
"fine" ends in a 1-bit grid at the texture's full resolution, "mid" stops at half resolution with more channels
there. Which is better depends on the texture (sharp photographs want the fine grid, smooth or noisy colour maps
the other). With `allocation="race"` (the default) every candidate, sized to the same bits, trains for an equal
share of RACE_FRACTION of the budget under the whole budget's schedule; the one with the lowest training error over
the second half of its share (a coarser ladder must be RACE_MARGIN ahead of a finer one) goes on training from where
it stands, and the losers' time is charged to the budget (the race costs
RACE_FRACTION * (n - 1) / n of it: 10 % with two candidates). The allocation chosen, and what each candidate
scored, go into the `.texinr` header (`train.allocation`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from texinr.trainer.core import families
from texinr.trainer.core.config import CODEC_LADDERS, Config
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.metrics import psnr_from_mse
from texinr.trainer.core.sizing import resolve
from texinr.trainer.core.train import Trainer
from texinr.trainer.core.tuning import race

RACE_FRACTION = 0.2
"""Share of the budget the candidates train for, all together; the winner keeps its own share."""
RACE_MARGIN = 0.1
"""A later ladder (coarser: CODEC_LADDERS is in order of preference) replaces the finer one only when its error
is at least 10 % lower (0.46 dB). Early in a run the coarser allocation learns faster and the finer one catches up
later: on astronaut at 2 bpp, 120 s, "mid" was 4.5 % ahead after 10 % of the budget and 0.31 dB behind at the
end; on Metal055A it was 45 % ahead and 0.97 dB ahead at the end."""


@dataclass
class Start:
    """How a run begins: its trainer (part-trained after a race) and what the header should say about it."""

    trainer: object  # trainer.core.train.Trainer
    allocation: dict | None  # None unless the codec was sized to a rate


def candidates(config: Config, width: int, height: int) -> list[tuple[str, Config]]:
    """(ladder name, config resolved along that ladder) for each ladder that reaches the rate, identical grids
    once. Raises the sizing error when none does."""
    out, seen, first_error = [], set(), None
    for name in CODEC_LADDERS:
        try:
            cfg = resolve(dataclasses.replace(config, allocation=name), width, height)
        except TexinrError as e:
            first_error = first_error or e
            continue
        if cfg.model.codec_grids not in seen:
            seen.add(cfg.model.codec_grids)
            out.append((name, cfg))
    if not out:
        raise first_error
    return out


def start(rgb01: np.ndarray, config: Config) -> Start:
    """The trainer a run starts with: the race's winner when the codec is sized to a bit rate with
    allocation "race", else a fresh Trainer of `config` (resolved as usual)."""
    config = config.validate()
    h, w = rgb01.shape[:2]
    if config.bpp is None or not families.get(config.model.arch).allocations:
        return Start(Trainer(rgb01, config), None)
    if config.allocation != "race":
        trainer = Trainer(rgb01, config)
        return Start(trainer, {"mode": "fixed", "chosen": config.allocation, "grids": trainer.config.model.codec_grids})
    cands = candidates(config, w, h)
    if len(cands) == 1:
        name, cfg = cands[0]
        return Start(Trainer(rgb01, cfg), {"mode": "race", "chosen": name, "grids": cfg.model.codec_grids, "tried": []})

    r = race(rgb01, [c for _, c in cands], RACE_FRACTION, averaged=True, margin=RACE_MARGIN)
    tried = [
        {"ladder": name, "grids": c.model.codec_grids, "mse": loss}
        for (name, c), loss in zip(cands, r.losses, strict=True)
    ]
    info = {
        "mode": "race",
        "chosen": cands[r.index][0],
        "grids": cands[r.index][1].model.codec_grids,
        "tried": tried,
        "race_fraction": RACE_FRACTION,
        "race_margin": RACE_MARGIN,
        "seconds_on_losers": round(r.seconds, 3),
    }
    return Start(r.trainer, info)


def describe(allocation: dict | None) -> str:
    """One line for the command line: which allocation and why."""
    if not allocation:
        return ""
    if allocation["mode"] == "fixed" or not allocation.get("tried"):
        return f"allocation {allocation['chosen']} ({allocation['grids']})"

    scores = ", ".join(f"{t['ladder']} {psnr_from_mse(t['mse']):.2f} dB" for t in allocation["tried"])
    return (
        f"allocation {allocation['chosen']} ({allocation['grids']}) won the race ({scores} after "
        f"{allocation['race_fraction'] / len(allocation['tried']):.0%} of the budget each; "
        f"{allocation['seconds_on_losers']:.1f} s spent on the others)"
    )
