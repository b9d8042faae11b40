import math
import threading
import types

import numpy as np
import pytest
import torch

from tests.conftest import random_image
from texinr.trainer.core import train as train_module
from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.trainer.core.fit import fit
from texinr.trainer.core.metrics import psnr, to_8bit
from texinr.trainer.core.train import Snapshot, Trainer, render

SMALL_GRID = {"grid_base_res": 16, "grid_finest_res": 64}


def quick(arch="grid", mips=1, **train):
    kw = SMALL_GRID if arch == "grid" else {"width": 64}
    return Config(model_preset(arch, lod=mips > 1, **kw), TrainConfig(**{"mips": mips, "batch": 8192, **train}))


@pytest.mark.parametrize(("arch", "steps", "floor"), [("grid", 150, 25.0), ("siren", 400, 24.0)])
def test_short_training_on_a_real_image_reaches_real_quality(astronaut128, arch, steps, floor):
    mean_colour = psnr(astronaut128, np.broadcast_to(astronaut128.mean((0, 1)), astronaut128.shape))
    assert mean_colour < 11.0  # what a network that learned only the average would score
    result = fit(astronaut128, quick(arch, steps=steps, seconds=None))
    assert result.snapshot.step == steps
    out = render(result.model, 128, 128)
    assert psnr(astronaut128, to_8bit(out)) > floor


def test_mipmap_fitting_learns_every_level(astronaut128):
    from texinr.trainer.core.data import build_pyramid

    result = fit(astronaut128, quick("grid", mips=4, steps=150, seconds=None, jitter=False))  # at texel centres
    for k, level in enumerate(build_pyramid(astronaut128, 4)):
        h, w = level.shape[:2]
        assert psnr(level, to_8bit(render(result.model, h, w, k / 3))) > 20.0, k  # mean colour: ~11 dB


def test_training_for_the_screen_learns_between_texel_centres(astronaut128):
    """Between texel centres (here the texel corners of the base level) a codec trained on screen samples returns
    what a texture unit would (the bilinear value) far better than one trained at texel centres only."""
    from texinr.trainer.core.data import bilinear_sample_repeat, pixel_centres_uv01

    grids = "128x1x1,64x2x2,32x4x4"
    img = torch.from_numpy(astronaut128)
    corners = torch.from_numpy(pixel_centres_uv01(128, 128)) + 0.5 / 128
    want = bilinear_sample_repeat(img, corners).numpy()
    scores = {}
    for jitter in (False, True):
        cfg = Config(
            model_preset("codec", codec_grids=grids, lod=True),
            TrainConfig(mips=4, steps=300, seconds=None, jitter=jitter, flip_finish=0.0),
        )
        model = fit(astronaut128, cfg).model
        with torch.no_grad():
            got = model(torch.remainder(corners, 1.0), torch.zeros(len(corners), 1)).numpy()
        scores[jitter] = psnr(want.reshape(128, 128, 3), got.reshape(128, 128, 3))
    assert scores[True] > scores[False] + 2.0, scores


def test_same_seed_same_weights_other_seed_other_weights():
    img = random_image(32, 32)
    runs = [fit(img, quick(steps=15, seconds=None, seed=s)).snapshot.weights for s in (3, 3, 4)]
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name])
    assert any(not np.array_equal(runs[0][n], runs[2][n]) for n in runs[0])


def test_divergence_restores_weights_drops_lr_and_goes_on():
    img = random_image(32, 32)
    trainer = Trainer(img, quick("relu", steps=60, seconds=None, lr=1e4, schedule="constant"))
    snaps: list[Snapshot] = []
    final = trainer.run(snaps.append, every=10)
    assert trainer.events, "a learning rate of 1e4 must diverge"
    assert "diverged" in trainer.events[0] and "restored" in trainer.events[0]
    assert any(s.events for s in snaps)  # reported through snapshots too
    assert final.step == 60 and final.done
    assert final.lr < 1e4
    assert math.isfinite(final.loss) and final.loss < 10
    assert all(np.isfinite(w).all() for w in final.weights.values())


def test_cancel_stops_a_run():
    cancel = threading.Event()
    seen = []

    def on_snapshot(s: Snapshot) -> None:
        seen.append(s.step)
        if s.step >= 20:
            cancel.set()

    snap = Trainer(random_image(32, 32), quick(steps=10_000, seconds=None)).run(on_snapshot, cancel, every=5)
    assert snap.step == 20 and not snap.done
    assert seen[:4] == [5, 10, 15, 20]


def test_snapshots_are_immutable_numpy_copies():
    trainer = Trainer(random_image(16, 16), quick(steps=5, seconds=None))
    snap = trainer.snapshot()
    assert all(isinstance(w, np.ndarray) for w in snap.weights.values())
    before = {k: v.copy() for k, v in snap.weights.items()}
    trainer.run()
    for k in before:  # training did not write into the published arrays
        np.testing.assert_array_equal(snap.weights[k], before[k])
    with pytest.raises(AttributeError):
        snap.step = 3


def test_seconds_budget_and_steps_per_second(monkeypatch):
    """A seconds budget stops at the first step that reaches it, whatever the machine's speed: with a fake clock in
    which every step takes exactly 1/8 s, a 1 s budget is exactly 8 steps at 8 steps/s."""
    clock = [0.0]

    def perf_counter():  # a step reads the clock as it starts and as it ends
        clock[0] += 0.125
        return clock[0]

    monkeypatch.setattr(train_module, "time", types.SimpleNamespace(perf_counter=perf_counter))
    trainer = Trainer(random_image(32, 32), quick(seconds=1.0))
    snap = trainer.run()
    assert snap.done and snap.step == 8 and snap.elapsed == 1.0
    assert snap.steps_per_s == 8.0


@pytest.mark.parametrize("optimizer", ["adam", "rprop"])
def test_optimizers_and_jitter_reduce_the_loss(optimizer, astronaut128):
    trainer = Trainer(astronaut128, quick(steps=60, seconds=None, optimizer=optimizer, jitter=True))
    first = trainer.step()
    trainer.run()
    assert trainer.loss < 0.5 * first


def test_set_lr_takes_effect_on_the_next_step():
    trainer = Trainer(random_image(16, 16), quick(steps=100, seconds=None, schedule="constant", lr=1e-2))
    trainer.set_lr(1e-3)
    trainer.step()
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        trainer.set_lr(-1.0)


def test_both_cores_are_used():
    Trainer(random_image(16, 16), quick(steps=1, seconds=None, threads=0))
    import os

    assert torch.get_num_threads() == (os.cpu_count() or 1)


def test_flip_finish_switches_loss_at_its_share_of_the_budget_and_lowers_flip(astronaut128):
    from texinr.trainer.core.metrics import flip
    from texinr.trainer.core.train import FLIP_LR_SCALE

    model = model_preset("codec", codec_grids="128x2x2,32x4x4")

    def run(flip_finish):
        t = Trainer(astronaut128, Config(model, TrainConfig(mips=1, steps=240, seconds=None, flip_finish=flip_finish)))
        lrs = []
        while not t.done:
            t.step()
            lrs.append(t.optimizer.param_groups[0]["lr"])
        return t, lrs

    plain, plain_lrs = run(0.0)
    finished, lrs = run(0.25)
    assert plain.events == [] and len(finished.events) == 1 and finished.events[0].startswith("step 180: finishing")
    assert lrs[180] == pytest.approx(plain_lrs[180] * FLIP_LR_SCALE) and lrs[179] == plain_lrs[179]
    assert math.isfinite(finished.loss) and finished.loss < 0.01  # MSE of the patches, for the PSNR readout
    out_plain, out_flip = (to_8bit(render(t.model, 128, 128)) for t in (plain, finished))
    assert flip(astronaut128, out_flip) < 0.9 * flip(astronaut128, out_plain)


def test_flip_finish_with_mips_trains_the_levels_by_their_share_of_pixels(astronaut128):
    from texinr.trainer.core.metrics import flip

    cfg = Config(
        model_preset("codec", lod=True, codec_grids="64x2x4,16x4x4"),
        TrainConfig(mips=4, steps=120, seconds=None, flip_finish=0.5),
    )
    t = Trainer(astronaut128, cfg)

    def per_level():
        return [flip(lv.image.numpy(), to_8bit(render(t.model, *lv.image.shape[:2], lv.t))) for lv in t.samples.levels]

    while t.step_count < 60:
        t.step()
    assert not t.in_flip_finish
    before = per_level()
    t.run(every=10**9, with_weights=False)
    assert t.in_flip_finish
    after = per_level()
    # levels are picked as often as their pixels: the 3 largest (98% of them) get most of the 60 FLIP steps
    assert all(a < 0.95 * b for a, b in zip(after[:3], before[:3], strict=True)), (before, after)


def test_extend_runs_a_second_schedule_from_the_current_weights():
    model = model_preset("codec", codec_grids="16x2x2,8x4x4")
    cfg = Config(model, TrainConfig(mips=1, steps=30, seconds=None, batch=256, flip_finish=0.3))
    tr = Trainer(random_image(16, 16), cfg)
    tr.run()
    assert tr.done and tr.in_flip_finish and tr.step_count == 30
    first_lr_end = tr.current_lr()
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    tr.extend()
    assert not tr.done and tr.progress == 0.0 and not tr.in_flip_finish
    assert tr.current_lr() > 10 * first_lr_end  # the top of a new schedule
    assert all(torch.equal(v, tr.model.state_dict()[k]) for k, v in before.items())  # from the current weights
    tr.run()
    assert tr.done and tr.step_count == 60 and tr.in_flip_finish  # the whole second schedule, its finish included


def test_profile_splits_a_step_into_its_parts():
    from texinr.trainer.core import profile

    profile.enable()
    try:
        model = model_preset("codec", codec_grids="16x2x2,8x4x4")
        tr = Trainer(random_image(16, 16), Config(model, TrainConfig(mips=1, steps=20, seconds=None, batch=256)))
        tr.run()
        text = profile.step_table()
    finally:
        profile.disable()
    lines = {line[:34].strip(): line for line in text.splitlines()}
    for part in ("sampling", "latent lookups", "decoder", "backward", "optimizer", "FLIP finish: patches, forward"):
        assert part in lines, text
    ms = [float(lines[p].split()[-2]) for p in ("sampling", "backward", "optimizer")]
    assert all(v > 0 for v in ms)
    assert "(20 steps)" in text and "M samples/s" in text and "of this machine's measured peak" in text
