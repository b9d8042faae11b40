"""The statistics generated textures are judged by, on images whose answers are known."""

import numpy as np

from texinr.trainer.generation import texstats


def stripes(freq: int, size: int = 32, phase: float = 0.0) -> np.ndarray:
    x = np.arange(size) / size
    g = 0.5 + 0.4 * np.sin(2 * np.pi * freq * x + phase)
    return np.repeat(np.tile(g, (size, 1))[..., None], 3, axis=2).astype(np.float32)


def test_nearest_finds_the_closest_and_skips_its_own_group():
    rng = np.random.default_rng(0)
    refs = rng.random((6, 8, 8, 3)).astype(np.float32)
    queries = refs[[4, 1]] + 0.01
    psnr, idx = texstats.nearest(queries, refs)
    assert list(idx) == [4, 1] and np.allclose(psnr, 40.0, atol=0.01)  # mse 1e-4
    refs[3] = refs[2] + 0.001  # an augmented copy of 2, in 2's group
    psnr, idx = texstats.nearest(refs, refs, groups=np.array([0, 1, 2, 2, 4, 5]))
    assert idx[2] != 3 and idx[3] != 2 and psnr.max() < 30


def test_diversity_histogram_laplacian_and_spectrum():
    flat = np.full((4, 32, 32, 3), 0.25, np.float32)
    assert texstats.diversity(flat) == 0.0
    assert np.isclose(texstats.diversity(np.stack([flat[0], flat[0] + 0.5])), 0.5)
    assert np.isclose(texstats.histogram_distance(flat, flat + 0.5), 0.5, atol=1 / 32)
    assert texstats.histogram_distance(flat, flat) == 0.0
    fine, coarse = np.stack([stripes(12)] * 2), np.stack([stripes(2)] * 2)
    assert texstats.laplacian_variance(flat).max() == 0.0
    assert texstats.laplacian_variance(fine).min() > 10 * texstats.laplacian_variance(coarse).max()
    spec = texstats.radial_spectrum(np.stack([stripes(5, phase=p) for p in (0, 1, 2)]))
    assert spec.shape == (16,) and spec.argmax() == 4  # radius 5
    assert texstats.spectrum_distance(fine, fine) == 0.0 and texstats.spectrum_distance(fine, coarse) > 0.3


def test_describe_a_set_against_data():
    rng = np.random.default_rng(1)
    data = rng.random((20, 16, 16, 3)).astype(np.float32)
    copies = data[:5]
    row = texstats.describe(copies, data, decoded_data=data)
    assert row["count"] == 5 and row["nearest_psnr_max"] >= 99 and row["histogram_emd"] < 0.05
    fresh = texstats.describe(rng.random((5, 16, 16, 3)).astype(np.float32), data)
    assert fresh["nearest_psnr_median"] < 10
