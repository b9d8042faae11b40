"""`texinr-view --benchmark-window S`: what the window costs while training, measured in one run.

Five rounds, each of two phases of S seconds on the default texture and model (or the command line's):
1. `texinr-train`'s trainer alone: steps/s.
2. The window (1280x720, default settings, training running, from its first metrics on: opening costs once what a
   steady state does not): the worker's training steps/s, frame times of the
   frames that re-rendered the scene (p50, p95), what showing new weights cost (a new program, then a frame), and
   the loop period (an input is answered within one period).
Alternating the phases keeps a slow spell of a shared machine from landing on one side only; the table gives each
round and the median of the rounds' ratios.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time

import numpy as np

from texinr.trainer.core.data import load_image
from texinr.trainer.core.sizing import resolve
from texinr.trainer.core.train import Trainer
from texinr.viewer.gui.panels import size_summary
from texinr.viewer.render.mesh import load_mesh
from texinr.viewer.window import App, window_config

ROUNDS = 5


def _alone(image, config, seconds: float) -> float:
    """Steps/s of the trainer alone, on a thread of its own as the window's worker has (torch's thread pools
    belong to the thread that uses them: a pool left by the main thread would make the comparison unfair)."""
    out: list[float] = []

    def train() -> None:
        trainer = Trainer(image, config)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            trainer.step()
        out.append(trainer.step_count / (time.perf_counter() - t0))

    thread = threading.Thread(target=train, name="texinr-bench-alone")
    thread.start()
    thread.join()
    return out[0]


def _with_window(cmd, seconds: float) -> dict:
    app = App(cmd, size=(1280, 720))
    try:
        while app.state.snapshot is None or not app.state.metrics:  # steady state: training, metrics computed once
            app.step()
        steps0, t0 = app.worker.steps_done, time.perf_counter()
        periods, last = [], time.perf_counter()
        app.scene_times.clear()
        app.update_costs.clear()
        versions = set()
        while time.perf_counter() - t0 < seconds:
            app.step()
            versions.add(app.shown_version)
            now = time.perf_counter()
            periods.append(now - last)
            last = now
        return {
            "steps_per_s": (app.worker.steps_done - steps0) / (time.perf_counter() - t0),
            "scene_ms": np.array(app.scene_times) * 1000.0,
            "update_ms": np.array(app.update_costs) * 1000.0,
            "period_ms": np.array(periods) * 1000.0,
            "versions": len(versions),
            "render_size": app.state.render_size,
        }
    finally:
        app.close()


def benchmark_window(cmd, seconds: float = 30.0) -> int:
    mesh = load_mesh(cmd.mesh)
    image = load_image(cmd.texture or mesh.texture_path)
    config = window_config(cmd)  # with a budget longer than the phases: the steps never stop while timed
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, seconds=100 * seconds, steps=None))
    cmd = dataclasses.replace(cmd, config=config)
    rounds = []
    for r in range(ROUNDS):
        alone = _alone(image, config, seconds)
        win = _with_window(cmd, seconds)
        rounds.append((alone, win))
        print(
            f"round {r + 1}: texinr-train alone {alone:.2f} steps/s, with the window open {win['steps_per_s']:.2f} "
            f"({win['steps_per_s'] / alone:.0%} kept)",
            flush=True,
        )
    sized = resolve(config.validate(), image.shape[1], image.shape[0])
    print(
        f"texture {image.shape[1]}x{image.shape[0]}, model {size_summary(sized.model)}, "
        f"{sized.train.mips} mips, {seconds:g} s per phase, {ROUNDS} rounds"
    )
    scene = np.concatenate([w["scene_ms"] for _, w in rounds])
    update = np.concatenate([w["update_ms"] for _, w in rounds])
    period = np.concatenate([w["period_ms"] for _, w in rounds])
    size = rounds[-1][1]["render_size"]
    shown = sum(w["versions"] for _, w in rounds)
    print(f"{'':52s} {'p50':>8s} {'p95':>8s}")
    print(
        f"{'scene frame while training (ms), ' + f'{size[0]}x{size[1]}':52s} "
        f"{np.percentile(scene, 50):8.1f} {np.percentile(scene, 95):8.1f}   ({len(scene)} scene frames)"
    )
    print(
        f"{'new weights on screen: program + frame (ms)':52s} {np.percentile(update, 50):8.1f} "
        f"{np.percentile(update, 95):8.1f}   ({shown} weight versions shown in {ROUNDS * seconds:g} s)"
    )
    print(
        f"{'loop period = panel response bound (ms)':52s} {np.percentile(period, 50):8.1f} "
        f"{np.percentile(period, 95):8.1f}   ({len(period)} loops, capped at 30 fps)"
    )
    kept = [w["steps_per_s"] / alone for alone, w in rounds]
    print(
        f"training kept with the window open: median {statistics.median(kept):.0%} of {ROUNDS} rounds "
        f"({', '.join(f'{k:.0%}' for k in kept)})"
    )
    return 0
