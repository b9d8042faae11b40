"""Shared fixtures. Core tests use only the project and its dependencies; ../shared/data tests skip without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def astronaut128() -> np.ndarray:
    """scikit-image's astronaut (public domain), resized to 128x128, float32 RGB in [0, 1]."""
    from skimage import data

    from texinr.trainer.core.data import resize_image

    return resize_image(data.astronaut().astype(np.float32) / 255.0, 128)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the development data set lives beside the checkout)")
    return SHARED_DATA


def random_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)


def pytest_addoption(parser):
    parser.addoption(
        "--regenerate-screenshots",
        action="store_true",
        default=False,
        help="rewrite the reference images of tests/shaders/reference instead of comparing",
    )
