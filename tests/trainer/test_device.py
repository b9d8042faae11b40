"""--device: parsing, what auto takes, a device the machine lacks, out-of-memory mid-run, and (where CUDA exists)
repeatability on the GPU and agreement with the CPU."""

import numpy as np
import pytest
import torch

from tests.conftest import random_image
from tests.trainer.test_cli import FAST, train
from texinr.trainer.core.config import Config, TrainConfig, check_device_spec, model_preset
from texinr.trainer.core.device import available, resolve
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.fit import fit
from texinr.trainer.core.modelfile import load
from texinr.trainer.core.train import Trainer, render

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def small_config(device: str, steps: int = 40) -> Config:
    model = model_preset("codec", codec_grids="32x1x2,8x4x4", lod=True)
    return Config(model, TrainConfig(mips=3, steps=steps, batch=2048, seed=3, device=device))


@pytest.mark.parametrize("spec", ["auto", "cpu", "CPU", "cuda", "cuda:0", "cuda:12", "mps", " cpu "])
def test_device_names_are_checked_for_form(spec):
    assert check_device_spec(spec) == spec.strip().lower()


@pytest.mark.parametrize("spec", ["gpu", "cuda:", "cuda:x", "cpu:0", "", "tpu", "cuda0"])
def test_unknown_device_names_are_refused(spec):
    with pytest.raises(TexinrError, match="unknown device"):
        check_device_spec(spec)
    with pytest.raises(TexinrError, match="unknown device"):
        TrainConfig(device=spec).validate()


def test_auto_takes_the_best_device_this_machine_has():
    best = available()
    assert best[-1] == "cpu" and resolve("auto") == torch.device(best[0])
    assert resolve("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert best == ["cpu"] or best == ["mps", "cpu"]


@no_cuda
def test_a_missing_cuda_device_is_one_line(tmp_path, capsys):
    with pytest.raises(TexinrError, match=r"--device cuda:1: .*choose auto or cpu"):
        resolve("cuda:1")
    tex = tmp_path / "t.png"
    from PIL import Image

    Image.fromarray((random_image(16, 16) * 255).astype(np.uint8)).save(tex)
    out = tmp_path / "m.texinr"
    rc, cap = train([tex, "-o", out, *FAST, "--steps", "3", "--device", "cuda"], capsys)
    assert rc == 2 and len(cap.err.strip().splitlines()) == 1 and "--device cuda" in cap.err
    assert not out.exists() and list(tmp_path.iterdir()) == [tex]


def test_the_file_says_which_device_trained(tmp_path, capsys):
    from PIL import Image

    tex = tmp_path / "t.png"
    Image.fromarray((random_image(16, 16) * 255).astype(np.uint8)).save(tex)
    out = tmp_path / "m.texinr"
    rc, cap = train([tex, "-o", out, *FAST, "--steps", "3", "--device", "cpu"], capsys)
    assert rc == 0, cap.err
    assert "training on cpu" in cap.out
    f = load(out)
    assert f.train["device"] == "cpu" and f.train["device_used"].startswith("cpu (")


def test_out_of_memory_mid_run_is_a_clear_error_and_keeps_the_good_weights(monkeypatch):
    trainer = Trainer(random_image(16, 16), small_config("cpu", steps=100))
    for _ in range(20):
        trainer.step()
    good = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    step = trainer.step_count

    def no_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(trainer.model, "features", no_memory)
    with pytest.raises(TexinrError, match=rf"out of memory on cpu at step {step} \(batch 2048\)"):
        trainer.step()
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, good[k]), k  # the last good copy (GOOD_EVERY) is what stays


def test_cpu_runs_repeat_bit_for_bit_whatever_the_device_spelling():
    img = random_image(16, 16, seed=1)
    a = fit(img, small_config("cpu")).model.state_dict()
    b = fit(img, small_config("auto" if not torch.cuda.is_available() else "cpu")).model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@needs_cuda
def test_cuda_repeats_and_agrees_with_the_cpu():
    """Same seed and steps on CUDA twice: the same weights; against the CPU, the same picture within 0.5 dB PSNR
    (floating-point sums run in another order there, so the runs drift apart slowly)."""
    img = random_image(32, 32, seed=2)
    a = fit(img, small_config("cuda", steps=200))
    b = fit(img, small_config("cuda", steps=200))
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    c = fit(img, small_config("cpu", steps=200))

    def psnr(model):
        return 10 * np.log10(1 / np.mean((render(model, 32, 32) - img) ** 2))

    assert abs(psnr(a.model) - psnr(c.model)) < 0.5
    assert next(a.model.parameters()).device.type == "cuda"
