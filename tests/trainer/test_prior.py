"""The diffusion prior over codes: on a known distribution (two clusters in 6-D) its samples land on
the clusters in the right proportions, are not copies of the training points, and repeat for a seed."""

import numpy as np
import torch

from texinr.trainer.generation.prior import PriorConfig, cosine_alpha_bar, train_prior


def two_clusters(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, -1.0, 0.5, 0.0, 1.0, -2.0], [-2.0, 1.0, -0.5, 1.0, 0.0, 2.0]])
    which = rng.random(n) < 0.7
    return (centres[np.where(which, 0, 1)] + 0.15 * rng.standard_normal((n, 6))).astype(np.float32)


def test_schedule():
    ab = cosine_alpha_bar(100)
    assert ab[0] == 1 and torch.all(ab[1:] < ab[:-1]) and ab[-1] < 1e-3


def test_samples_follow_the_distribution_without_copying_it():
    data = two_clusters()
    prior = train_prior(data, PriorConfig(steps=200, hidden=128, layers=3), iterations=1500, batch=128, seed=0)
    z = prior.sample(300, seed=1, sampling_steps=50).numpy()
    centres = np.array([data[data[:, 0] > 0].mean(0), data[data[:, 0] < 0].mean(0)])
    d = np.linalg.norm(z[:, None] - centres[None], axis=2)
    assert np.median(d.min(1)) < 0.6  # on a cluster (the clusters are 6.6 apart, 0.37 wide)
    share = np.mean(d.argmin(1) == 0)
    assert 0.55 < share < 0.85  # about 70 % in the first
    nearest_train = np.linalg.norm(z[:, None] - data[None], axis=2).min(1)
    assert np.median(nearest_train) > 0.05  # new points, not the training set replayed
    assert np.array_equal(prior.sample(5, seed=7).numpy(), prior.sample(5, seed=7).numpy())
    ancestral = prior.sample(200, seed=2, sampling_steps=100, eta=1.0).numpy()
    assert np.median(np.linalg.norm(ancestral[:, None] - centres[None], axis=2).min(1)) < 0.8


def test_prior_file_round_trip_and_wrong_files(tmp_path):
    import pytest

    from texinr.trainer.core.errors import TexinrError
    from texinr.trainer.generation import arrayfile
    from texinr.trainer.generation.prior import PriorConfig, load_prior, save_prior, train_prior

    codes = torch.randn(64, 4)
    prior = train_prior(codes, PriorConfig(steps=50, hidden=16, layers=1), iterations=20)
    prior.meta = {"space": "abc"}
    save_prior(tmp_path / "p.npz", prior)
    again = load_prior(tmp_path / "p.npz")
    assert again.meta["space"] == "abc" and again.cfg == prior.cfg
    assert torch.equal(again.sample(5, seed=2, sampling_steps=10), prior.sample(5, seed=2, sampling_steps=10))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(TexinrError, match="not a texinr prior file"):
        load_prior(tmp_path / "junk.npz")
    arrayfile.save(tmp_path / "crops.npz", "crops", {}, {"crops": np.zeros(1)})
    with pytest.raises(TexinrError, match="a crops file, not a prior file"):
        load_prior(tmp_path / "crops.npz")
