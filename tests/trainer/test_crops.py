"""The crop set of issue 16: counts, the paper's RGB permutations and the flips / turns, determinism, the cache,
and bad input (too few images, crops larger than the images)."""

import numpy as np
import pytest
from PIL import Image

from texinr.trainer.core.errors import TexinrError
from texinr.trainer.generation.crops import CropSpec, apply, augmentations, build, build_cached, load


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        p = tmp_path / f"t{i}.png"
        Image.fromarray((rng.random((40, 56, 3)) * 255).astype(np.uint8)).save(p)
        paths.append(str(p))
    return paths


def test_counts_transforms_and_determinism(images):
    spec = CropSpec(size=16, per_image=4, scale=32, augment=12, seed=3)
    s = build(images, spec)
    assert s.crops.shape == (3 * 4 * 12, 16, 16, 3) and s.crops.dtype == np.float32
    assert 0 <= s.crops.min() and s.crops.max() <= 1
    assert len(set(s.transform[:12])) == 12 and s.transform[0] == (0, 0, False)  # the crop itself first
    assert {t[0] for t in s.transform[:12]} >= {0, 1, 2} and {t[1] for t in s.transform[:12]} >= {0, 1, 2}
    base = s.crops[0]
    for i, t in enumerate(s.transform[:12]):
        assert np.array_equal(s.crops[i], apply(base, t))
    swapped = apply(base, (5, 0, False))  # (2, 1, 0): blue and red exchanged
    assert np.array_equal(swapped[..., 0], base[..., 2])
    assert np.array_equal(build(images, spec).crops, s.crops)
    assert not np.array_equal(build(images, CropSpec(16, 4, 32, 12, seed=4)).crops, s.crops)
    assert len(augmentations(48)) == 48 == len(set(augmentations(48)))


def test_cache_gives_the_same_set(images, tmp_path):
    spec = CropSpec(size=16, per_image=2, scale=32, augment=3)
    first, cached = build_cached(images, spec, tmp_path / "c.npz")
    again, cached_again = build_cached(images, spec, tmp_path / "c.npz")
    assert not cached and cached_again
    assert np.array_equal(first.crops, again.crops) and again.transform == first.transform
    other, cached_other = build_cached(images, CropSpec(size=8, per_image=2, scale=32, augment=3), tmp_path / "c.npz")
    assert not cached_other and other.crops.shape[1] == 8  # other settings: built again
    assert load(tmp_path / "c.npz").crops.shape[1] == 8


def test_bundled_skimage_pictures_need_no_download():
    s = build(["skimage:brick", "skimage:coffee"], CropSpec(size=32, per_image=1, scale=64, augment=1))
    assert s.crops.shape == (2, 32, 32, 3)


def test_bad_input(images):
    with pytest.raises(TexinrError, match="at least 2 images"):
        build(images[:1])
    with pytest.raises(TexinrError, match="larger than the images"):
        build(images, CropSpec(size=128, scale=64))
    with pytest.raises(TexinrError, match="40 px is smaller than a crop"):
        build(images, CropSpec(size=48, scale=256))
    with pytest.raises(TexinrError, match="augment must be"):
        build(images, CropSpec(size=16, scale=32, augment=49))
    with pytest.raises(TexinrError, match="bundled"):
        build(["skimage:camera_not_there", images[0]])
