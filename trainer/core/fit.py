"""`fit(image, config)`: the whole fitting pipeline as one pure function — a family sized to its rate, the
codec's allocations raced, then trained to the budget (trainer.core.train does the steps).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from texinr.trainer.core.allocation import start
from texinr.trainer.core.config import Config
from texinr.trainer.core.models import TextureField
from texinr.trainer.core.train import Snapshot


@dataclass
class FitResult:
    model: TextureField
    snapshot: Snapshot
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (step, elapsed, loss)
    events: list[str] = field(default_factory=list)
    allocation: dict | None = None  # the codec's allocation race (trainer.core.allocation), when it was sized to a rate


def fit(
    rgb01: np.ndarray,
    config: Config,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    cancel: threading.Event | None = None,
) -> FitResult:
    """Pure function of (image, config): train and return the model with its last snapshot (the codec sized to a
    rate first races its candidate allocations: trainer.core.allocation)."""
    started = start(rgb01, config)
    trainer = started.trainer
    snap = trainer.run(on_snapshot, cancel)
    trainer.model.eval()
    return FitResult(trainer.model, snap, trainer.history, trainer.events, started.allocation)
