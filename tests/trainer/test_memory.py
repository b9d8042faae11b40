"""Memory needed by a run is estimated before anything is allocated; a run that would not fit is refused."""

import numpy as np
import pytest
import torch

from tests.conftest import random_image
from texinr.trainer.core import memory
from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.sizing import resolve
from texinr.trainer.core.train import Trainer


def codec(size: int, bpp: float, mips: int) -> Config:
    return resolve(Config(model_preset("codec", lod=mips > 1), TrainConfig(mips=mips), 16, bpp).validate(), size, size)


def test_estimate_grows_with_texels_levels_and_models():
    e2k, e4k = memory.estimate(2048, 2048, [codec(2048, 2, 6)]), memory.estimate(4096, 4096, [codec(4096, 2, 6)])
    # the sample table is 25 bytes per texel of every level (4/3 of the base level with a full chain)
    assert e4k["samples"] == pytest.approx(25 * 4096 * 4096 * 4 / 3, rel=0.01)
    assert 3.5 < e4k["total"] / e2k["total"] < 4.5
    flat = memory.estimate(4096, 4096, [codec(4096, 2, 1)])
    assert flat["pyramid"] == 0 and flat["samples"] == 25 * 4096 * 4096
    two = memory.estimate(4096, 4096, [codec(4096, 2, 6)] * 2)
    assert two["models"] == 2 * e4k["models"] and two["samples"] == e4k["samples"]
    shared = memory.estimate(4096, 4096, [codec(4096, 2, 6)], with_samples=False)
    assert shared["total"] == e4k["models"]
    # a 4096^2 codec at 2 bpp with mips, two candidates racing: measured peak 2.2 GiB (docs/MEASURE.md)
    assert 1.2 * 2**30 < two["total"] < 2.5 * 2**30


def test_machine_memory_is_known_here():
    have = memory.available_bytes(torch.device("cpu"))
    assert have is None or have > 0


def test_trainer_refuses_before_allocating_when_memory_is_short(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1 << 20)  # 1 MiB free
    built = []
    monkeypatch.setattr("texinr.trainer.core.train.TextureSamples", lambda *a, **k: built.append(1))
    cfg = Config(model_preset("grid", lod=True, grid_finest_res=64), TrainConfig(mips=3, steps=1), 16, None)
    with pytest.raises(TexinrError) as e:
        Trainer(random_image(256, 256), cfg)
    msg = str(e.value)
    assert "\n" not in msg and "256x256 texture with 3 mip levels" in msg and "MiB" in msg and "1.0 MiB is free" in msg
    assert built == []  # nothing was allocated
    monkeypatch.setattr(memory, "available_bytes", lambda device: None)  # unknown: never refused
    monkeypatch.undo()
    Trainer(random_image(64, 64), cfg)


def test_train_command_refuses_a_texture_too_large_for_memory(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from tests.trainer.test_cli import assert_one_line_error, train

    Image.fromarray((random_image(256, 256) * 255).astype(np.uint8)).save(tmp_path / "t.png")
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1 << 16)
    out = tmp_path / "o.texinr"
    rc, captured = train([tmp_path / "t.png", "-o", out, "--bpp", "2", "--steps", "4", "--mips", "3"], capsys)
    assert_one_line_error(rc, captured)
    assert "needs about" in captured.err and "candidate models" in captured.err  # the race's check, all at once
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "t.png"]
