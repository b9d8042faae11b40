import math

import numpy as np
import pytest

from tests.conftest import random_image
from texinr.trainer.core import metrics


def test_psnr_mse_mae_values():
    a = np.zeros((4, 4, 3), np.float32)
    b = np.full((4, 4, 3), 0.1, np.float32)
    assert metrics.mse(a, b) == pytest.approx(0.01)
    assert metrics.mae(a, b) == pytest.approx(0.1)
    assert metrics.psnr(a, b) == pytest.approx(20.0)
    assert metrics.psnr(a, a) == math.inf


def test_network_output_is_rounded_to_8_bits_first():
    ref = random_image(16, 16)
    ref8 = metrics.to_8bit(ref)
    almost = ref8 + 0.4 / 255  # rounds back to ref8
    m = metrics.all_metrics(ref8, almost, with_flip=False)
    assert m["mse"] == 0.0 and m["psnr"] == math.inf


def test_ssim_and_flip_order_images_by_quality():
    ref = metrics.to_8bit(random_image(64, 64))
    rng = np.random.default_rng(1)
    small = np.clip(ref + rng.normal(0, 0.02, ref.shape), 0, 1)
    large = np.clip(ref + rng.normal(0, 0.2, ref.shape), 0, 1)
    assert metrics.ssim(ref, ref) == pytest.approx(1.0)
    assert metrics.ssim(ref, small) > metrics.ssim(ref, large)
    assert metrics.flip(ref, ref) == pytest.approx(0.0, abs=1e-6)
    assert 0 < metrics.flip(ref, small) < metrics.flip(ref, large) <= 1


def test_unavailable_metrics_say_so():
    assert metrics.UNAVAILABLE["vmaf"].startswith("unavailable")
    status = metrics.lpips_status()
    assert status == "available" or status.startswith("unavailable")
    if status != "available":
        assert metrics.all_metrics(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), with_flip=False)["lpips"] is None


def test_lapv_selection_spans_the_distribution():
    flat = np.full((32, 32, 3), 0.5)
    rng = np.random.default_rng(0)
    noisy = [np.clip(0.5 + rng.normal(0, s, (32, 32, 3)), 0, 1) for s in (0.01, 0.05, 0.1, 0.2, 0.4)]
    lapv = {"flat": metrics.laplacian_variance(flat)}
    lapv |= {f"n{i}": metrics.laplacian_variance(x) for i, x in enumerate(noisy)}
    assert lapv["flat"] == 0.0 and lapv["n0"] < lapv["n2"] < lapv["n4"]
    assert metrics.select_by_lapv(lapv, 3) == ["flat", "n1", "n4"]
    assert metrics.select_by_lapv(lapv, 10) == ["flat", "n0", "n1", "n2", "n3", "n4"]


def test_tiled_ssim_and_flip_equal_the_whole_image(monkeypatch):
    """Large images are measured tile by tile (bounded memory); the tiles see their neighbours' pixels, so the
    per-pixel maps, and hence the means, are the whole image's."""
    import flip_evaluator
    from skimage.metrics import structural_similarity

    ref = metrics.to_8bit(random_image(300, 260, seed=3))
    test = metrics.to_8bit(np.clip(ref + np.random.default_rng(2).normal(0, 0.05, ref.shape), 0, 1))
    whole_ssim = structural_similarity(ref, test, channel_axis=2, data_range=1.0, win_size=7)
    fmap, _, _ = flip_evaluator.evaluate(ref, test, "LDR", inputsRGB=True, applyMagma=False, computeMeanError=False)
    whole_flip = float(np.asarray(fmap, np.float64).mean())
    calls = []
    real = metrics._tiled_sum

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(metrics, "_tiled_sum", counting)
    monkeypatch.setattr(metrics, "TILED_ABOVE", 100 * 100)
    monkeypatch.setattr(metrics, "TILE", 96)  # 4 x 3 tiles, partial ones at the right and bottom
    assert metrics.ssim(ref, test) == pytest.approx(whole_ssim, abs=1e-6)
    assert metrics.flip(ref, test) == pytest.approx(whole_flip, abs=1e-6)
    assert metrics.flip(ref, test, gil_free=True) == pytest.approx(whole_flip, abs=5e-5)
    assert len(calls) == 3
    monkeypatch.setattr(metrics, "TILE_MARGIN", 0)  # without the margin the filters see the tiles' edges
    assert metrics.flip(ref, test) != pytest.approx(whole_flip, abs=1e-5)
