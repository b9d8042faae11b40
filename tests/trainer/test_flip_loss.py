import numpy as np
import pytest
import torch

from tests.conftest import random_image
from texinr.trainer.core import metrics
from texinr.trainer.core.flip_loss import flip_map


def _t(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].double()


def _variants(ref: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    h, w = ref.shape[:2]
    small = ref[::4, ::4].repeat(4, 0).repeat(4, 1)[:h, :w]  # blocky, as a coarse codec
    return {
        "noise": np.clip(ref + rng.normal(0, 0.03, ref.shape), 0, 1),
        "blocks": small,
        "tint": np.clip(ref * np.array([0.9, 1.0, 1.1]) + 0.03, 0, 1),
        "saturated": np.clip((ref - 0.5) * 3 + 0.5, 0, 1),  # clamped colours and strong edges
    }


@pytest.mark.parametrize("name", ["noise", "blocks", "tint", "saturated"])
def test_matches_flip_evaluator(astronaut128, name):
    """The differentiable FLIP and NVIDIA's C++ one give the same mean error, on a real image and distortions
    that exercise each part (colour filter, clamping, edges and points)."""
    ref = metrics.to_8bit(astronaut128)
    test = metrics.to_8bit(_variants(ref)[name])
    want = metrics.flip(ref, test)
    got = float(flip_map(_t(ref), _t(test), eps=0.0).mean())
    assert want > 0.01
    assert got == pytest.approx(want, abs=2e-5)


def test_matches_per_pixel_and_with_a_non_square_image():
    ref = metrics.to_8bit(random_image(40, 72))
    test = metrics.to_8bit(np.clip(ref + 0.05 * np.sin(np.arange(72) / 3.0)[None, :, None], 0, 1))
    import flip_evaluator

    want, _, _ = flip_evaluator.evaluate(ref, test, "LDR", inputsRGB=True, applyMagma=False)
    got = flip_map(_t(ref), _t(test), eps=0.0)[0].numpy()
    assert got.shape == (40, 72)
    np.testing.assert_allclose(got, np.asarray(want).reshape(40, 72), atol=2e-4)


def test_gradients_are_finite_where_images_agree_and_point_downhill():
    ref = _t(metrics.to_8bit(random_image(32, 32))).float()
    test = ref.clone()
    test[..., 8:24, 8:24] = 0.5  # equal elsewhere: where |dL| and the powers have their corners
    test.requires_grad_(True)
    flip_map(ref, test).mean().backward()
    assert torch.isfinite(test.grad).all() and test.grad.abs().sum() > 0

    far = (ref * 0.7 + 0.15).requires_grad_(True)  # differs everywhere: smooth there
    loss = flip_map(ref, far).mean()
    loss.backward()
    with torch.no_grad():
        stepped = far - 0.01 * far.grad / far.grad.abs().max()
        assert float(flip_map(ref, stepped).mean()) < float(loss) - 1e-4


def test_gil_free_flip_metric_equals_flip_evaluator(astronaut128):
    """The window's metrics thread computes FLIP with the torch pipeline (it lets go of the GIL): same number."""
    ref = metrics.to_8bit(astronaut128)
    test = metrics.to_8bit(_variants(ref)["noise"])
    assert metrics.flip(ref, test, gil_free=True) == pytest.approx(metrics.flip(ref, test), abs=2e-5)
    a = metrics.all_metrics(ref, test, gil_free=True)
    assert a["flip"] == pytest.approx(metrics.all_metrics(ref, test)["flip"], abs=2e-5)
