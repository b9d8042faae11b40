import time

from tests.conftest import random_image
from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.viewer.workers.worker import Mailbox, Pause, Reset, Resume, SetLearningRate, TrainingWorker


def config(**model):
    return Config(
        model_preset("grid", lod=False, grid_base_res=4, grid_finest_res=8, **model),
        TrainConfig(mips=1, batch=1024, steps=None, seconds=600.0),
    )


def wait_for(worker, pred, timeout=20.0):
    end = time.time() + timeout
    snap = None
    while time.time() < end:
        s = worker.mailbox.take()
        if s is not None:
            snap = s
            if pred(s):
                return s
        time.sleep(0.01)
    raise AssertionError(f"timed out; last snapshot: {snap and (snap.step, snap.paused, snap.run, snap.error)}")


def test_mailbox_keeps_only_the_newest():
    box: Mailbox[int] = Mailbox()
    assert box.take() is None
    box.publish(1)
    box.publish(2)
    assert box.take() == 2 and box.take() is None


def test_worker_trains_pauses_resets_and_stops():
    w = TrainingWorker(random_image(16, 16), config(), publish_every=0.02).start()
    try:
        s = wait_for(w, lambda s: s.step >= 20)
        assert s.packed.defines["FAMILY_GRID"] == 1 and s.version > 0
        w.send(Pause())
        s = wait_for(w, lambda s: s.paused)
        time.sleep(0.2)
        paused_at = w.steps_done
        time.sleep(0.3)
        assert w.steps_done == paused_at  # really paused
        w.send(SetLearningRate(1e-3))
        w.send(Resume())
        s = wait_for(w, lambda s: not s.paused and s.step > paused_at)
        assert abs(s.lr - 1e-3) < 1e-3
        w.send(Reset(config(width=8)))
        s = wait_for(w, lambda s: s.run == 1 and s.step >= 5)
        assert s.packed.defines["MLP_HIDDEN4"] == 2
        w.send(Reset(Config(model_preset("grid", width=8), TrainConfig(batch=0))))  # invalid: batch 0
        s = wait_for(w, lambda s: s.error is not None)
        assert "batch" in s.error and s.run == 1  # the last good run goes on
    finally:
        w.stop()
    assert not w.alive


def test_a_thousand_configuration_changes_leave_memory_flat():
    import tracemalloc

    w = TrainingWorker(random_image(16, 16), config(), publish_every=0.01).start()
    try:
        tracemalloc.start()
        for i in range(1000):
            w.send(Reset(config(width=8 + (i % 3))))
            if i == 100:
                base = tracemalloc.get_traced_memory()[0]
        wait_for(w, lambda s: s.run == 1000, timeout=120)
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert grown < 20 * 2**20, f"python heap grew by {grown / 2**20:.1f} MiB over 900 resets"
    finally:
        w.stop()


def test_a_rate_out_of_reach_is_a_message_and_the_last_run_goes_on():
    import dataclasses

    import numpy as np

    w = TrainingWorker(random_image(64, 64), config(), publish_every=0.02).start()
    try:
        wait_for(w, lambda s: s.step >= 5)
        bad = dataclasses.replace(config(), model=model_preset("codec", lod=False), bpp=0.06)  # below any codec
        w.send(Reset(bad))
        s = wait_for(w, lambda s: s.error is not None)
        assert "cannot size codec" in s.error and s.run == 0 and s.config.model.arch == "grid"
        s = wait_for(w, lambda s, at=s.step: s.step >= at + 20)  # the last good run keeps training
        assert s.run == 0 and s.config.model.arch == "grid"
        # weights on screen are the stored ones: fp16 values, not the trainer's float32 copy
        assert all(np.array_equal(v, v.astype(np.float16).astype(np.float32)) for v in s.weights.values())
    finally:
        w.stop()


def test_metrics_worker_takes_a_new_set_before_the_request_after_it(tmp_path):
    """A new image (a material set) queued just before a metrics request is used for that request (a request
    racing past it once measured an 8-channel model against the old RGB image)."""
    import time
    from types import SimpleNamespace

    import numpy as np

    from tests.material_fixtures import write_gltf
    from texinr.trainer.core.config import model_preset
    from texinr.trainer.core.material import load_material
    from texinr.trainer.core.models import build_model
    from texinr.viewer.workers.metrics_worker import MetricsWorker

    mset = load_material(write_gltf(tmp_path / "g", size=16))
    model = build_model(model_preset("grid", lod=False, channels=mset.layout, grid_base_res=2, grid_finest_res=4))
    snap = SimpleNamespace(
        config=SimpleNamespace(model=model.cfg), weights={k: v.detach().numpy() for k, v in model.state_dict().items()}
    )
    snap.step = 1
    worker = MetricsWorker(np.zeros((16, 16, 3), np.float32))
    try:
        worker.set_image(mset.values, mset.layout)  # the set and a request for it queue up before the worker runs
        worker.request(snap, "8x8")
        worker.start()
        got, end = None, time.time() + 60
        while time.time() < end:
            got = worker.results.take() or got
            if got is not None and "neural" in got:
                break
            time.sleep(0.05)
        assert got is not None and "error" not in got, got
        assert "mean_deg" in got["neural"]["maps"]["normal"] and "maps" in got["astc"]
    finally:
        worker.stop()


def test_the_window_trains_what_texinr_train_trains_and_then_longer():
    """Begun as texinr-train begins (the codec's allocations raced), the worker's model after its schedule is
    texinr-train's bit for bit; Train longer runs a second schedule of the same budget from those weights."""
    import numpy as np

    from texinr.trainer.core.allocation import start
    from texinr.viewer.workers.worker import TrainLonger, stored_weights

    img = random_image(32, 32)
    cfg = Config(model_preset("codec"), TrainConfig(mips=2, batch=512, steps=40, seconds=None, threads=1), bpp=4.0)
    alone = start(img, cfg).trainer
    alone.run()
    want = stored_weights(alone)[2]
    w = TrainingWorker(img, cfg, publish_every=0.01).start()
    try:
        done = wait_for(w, lambda s: s.done)
        assert done.progress == 1.0 and done.step == alone.step_count
        assert set(done.weights) == set(want)
        for name, v in want.items():
            assert np.array_equal(done.weights[name], v), name
        time.sleep(0.2)
        assert w.steps_done == done.step  # the schedule is over: no more steps until asked
        w.send(TrainLonger())
        longer = wait_for(w, lambda s: s.done and s.step > done.step)
        assert longer.step == 2 * done.step  # another schedule of the same budget
        assert longer.loss < done.loss * 1.5
    finally:
        w.stop()
