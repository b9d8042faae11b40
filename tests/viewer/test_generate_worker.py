"""The window's generator thread without a window: it opens a space (with or without a prior), answers the Generate
panel's commands with packed SIREN weights, and reports bad input as messages while it keeps running."""

import shutil
import time

import numpy as np
import pytest

from texinr.trainer.cli.generate import parse_generate
from texinr.trainer.generation.generate import generate_main
from texinr.viewer.workers.generate_worker import CropEnd, EncodeEnd, GenerateWorker, Mix, SampleEnd


@pytest.fixture(scope="module")
def spaces(tmp_path_factory):
    from tests.trainer.test_generate import TINY, textures

    root = tmp_path_factory.mktemp("gw")
    with_prior = root / "with"
    generate_main(parse_generate(["all", *textures(root), "--out", str(with_prior), "--quick", *TINY]))
    without = root / "without"
    shutil.copytree(with_prior, without)
    (without / "prior.npz").unlink()
    return with_prior, without


def take(worker, until, limit=60.0):
    """The first result for which `until` holds, and the messages so far (a deadline, not a sleep: the thread
    answers when it is done)."""
    messages, end = [], time.monotonic() + limit
    while time.monotonic() < end:
        while not worker.events.empty():
            messages.append(worker.events.get())
        got = worker.mailbox.take()
        if got is not None and until(got):
            return got, messages
        time.sleep(0.01)
    raise AssertionError(f"no answer; messages: {messages}")


def message(worker, text, limit=60.0):
    """Wait for a message containing `text`."""
    seen, end = [], time.monotonic() + limit
    while time.monotonic() < end:
        while not worker.events.empty():
            seen.append(worker.events.get())
            if text in seen[-1]:
                return seen[-1]
        time.sleep(0.01)
    raise AssertionError(f"no message {text!r}; got {seen}")


def test_a_space_with_a_prior_answers_the_panel(spaces):
    w = GenerateWorker(spaces[0]).start()
    try:
        first, _ = take(w, lambda g: True)
        assert first.t == 0.0 and first.ends == ("sample (seed 0)", "sample (seed 1)")
        assert first.packed.defines["N_OUT"] == 3 and first.info.has_prior and first.info.crop == 16
        w.send(Mix(0.25))
        w.send(Mix(0.5))  # a dragged slider: the last value is the one shown
        half, _ = take(w, lambda g: g.t == 0.5)
        assert not np.array_equal(half.packed.data, first.packed.data)
        w.send(CropEnd(1, 3))
        crop, _ = take(w, lambda g: g.ends[1] == "crop 3")
        assert crop.t == 1.0
        w.send(EncodeEnd(0, np.full((8, 8, 3), 0.5, np.float32), "tiny.png"))  # smaller than a crop
        assert message(w, "tiny.png: 8x8 px is smaller than a crop").startswith("error: ")
        w.send(EncodeEnd(0, np.random.default_rng(0).random((40, 40, 3)).astype(np.float32), "noise.png"))
        enc, _ = take(w, lambda g: g.ends[0] == "encoded noise.png")
        assert enc.t == 0.0 and w.alive()
    finally:
        w.stop()
    assert not w.alive()


def test_a_space_without_a_prior_starts_on_two_training_crops(spaces):
    w = GenerateWorker(spaces[1]).start()
    try:
        first, _ = take(w, lambda g: True)
        assert first.ends == ("crop 0", f"crop {first.info.codes - 1}") and not first.info.has_prior
        w.send(SampleEnd(0, 3, 10, 1.0))
        assert message(w, "no prior beside this space").startswith("error: ")
        w.send(Mix(1.0))
        take(w, lambda g: g.t == 1.0)  # still answering
    finally:
        w.stop()


def test_a_file_that_is_not_a_space_is_a_message_and_the_thread_ends(spaces):
    w = GenerateWorker(spaces[0] / "prior.npz").start()
    w._thread.join(30)
    assert not w.alive() and w.mailbox.take() is None
    assert "a prior file, not a space file" in w.events.get_nowait()
