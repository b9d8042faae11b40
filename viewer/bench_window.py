"""`texinr-view --benchmark-window`: what the window costs while training, measured in one run.

1. `texinr-train`'s trainer alone on the default texture and model for S seconds: steps/s.
2. The window (1280x720, default settings, training running) for S seconds: frame times of the frames that
   re-rendered the scene (p50, p95), the loop period (an input is answered within one period), and the worker's
   training steps/s; the ratio to (1).
"""

from __future__ import annotations

import time

import numpy as np


def benchmark_window(cmd, seconds: float = 30.0) -> int:
    from trainer.data import load_image
    from trainer.train import Trainer
    from viewer.gui.panels import size_summary
    from viewer.mesh import load_mesh
    from viewer.window import App, window_config

    mesh = load_mesh(cmd.mesh)
    image = load_image(cmd.texture or mesh.texture_path)
    trainer = Trainer(image, window_config(cmd))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        trainer.step()
    alone = trainer.step_count / (time.perf_counter() - t0)
    trainer_config = trainer.config
    del trainer

    app = App(cmd, size=(1280, 720))
    try:
        while app.state.snapshot is None:  # worker started, first snapshot on screen
            app.step()
        steps0, t0 = app.worker.steps_done, time.perf_counter()
        periods, last = [], time.perf_counter()
        app.scene_times.clear()
        while time.perf_counter() - t0 < seconds:
            app.step()
            now = time.perf_counter()
            periods.append(now - last)
            last = now
        with_window = (app.worker.steps_done - steps0) / (time.perf_counter() - t0)
        scene = np.array(app.scene_times) * 1000.0
        period = np.array(periods) * 1000.0
        render_size = app.state.render_size
    finally:
        app.close()
    m = trainer_config.model
    print(
        f"texture {image.shape[1]}x{image.shape[0]}, model {size_summary(m)}, "
        f"{trainer_config.train.mips} mips, {seconds:g} s each"
    )
    print(f"{'':44s} {'p50':>8s} {'p95':>8s}")
    print(
        f"{'scene frame while training (ms), ' + f'{render_size[0]}x{render_size[1]}':44s} "
        f"{np.percentile(scene, 50):8.1f} {np.percentile(scene, 95):8.1f}   ({len(scene)} scene frames)"
    )
    print(
        f"{'loop period = panel response bound (ms)':44s} {np.percentile(period, 50):8.1f} "
        f"{np.percentile(period, 95):8.1f}   ({len(period)} loops, capped at 30 fps)"
    )
    print(
        f"training steps/s: texinr-train alone {alone:.2f}, with the viewer open {with_window:.2f} "
        f"({with_window / alone:.0%} kept)"
    )
    return 0
