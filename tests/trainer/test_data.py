import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import random_image
from texinr.trainer.core.data import (
    TextureSamples,
    bilinear_sample_repeat,
    build_pyramid,
    load_image,
    pixel_centres_uv01,
)
from texinr.trainer.core.errors import TexinrError


def test_pixel_centre_convention():
    uv = pixel_centres_uv01(2, 4).reshape(2, 4, 2)
    # pixel (r, c) <-> ((c + 0.5) / W, 1 - (r + 0.5) / H): row 0 is the top, v points up
    np.testing.assert_allclose(uv[0, 0], [0.125, 0.75])
    np.testing.assert_allclose(uv[1, 3], [0.875, 0.25])


def test_load_modes(tmp_path):
    rgb = (random_image(8, 6) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_allclose(load_image(tmp_path / "rgb.png"), rgb / 255.0, atol=1e-7)
    rgba = np.dstack([rgb, np.full((8, 6), 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_allclose(load_image(tmp_path / "rgba.png"), rgb / 255.0, atol=1e-7)  # alpha dropped
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    g = load_image(tmp_path / "gray.png")
    assert g.shape == (8, 6, 3) and np.allclose(g[..., 0], g[..., 2])
    Image.fromarray(rgb).convert("P").save(tmp_path / "pal.png")
    assert load_image(tmp_path / "pal.png").shape == (8, 6, 3)
    smooth = (np.linspace(0, 1, 64)[None, :, None] * np.ones((48, 1, 3)) * 255).astype(np.uint8)
    Image.fromarray(smooth).save(tmp_path / "x.jpg", quality=95)
    assert np.abs(load_image(tmp_path / "x.jpg") - smooth / 255.0).mean() < 0.01


def test_16bit_png_keeps_precision(tmp_path):
    v = np.array([[0, 1, 257, 65535]] * 4, dtype=np.uint16)
    Image.fromarray(v).save(tmp_path / "g16.png")
    img = load_image(tmp_path / "g16.png")
    np.testing.assert_allclose(img[0, :, 0], v[0] / 65535.0, atol=1e-7)
    assert 0 < img[0, 1, 0] < 1 / 255  # a level 8 bits could not hold


def test_bad_images(tmp_path):
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(TexinrError, match="not an image"):
        load_image(tmp_path / "text.png")
    with pytest.raises(TexinrError, match="no such file"):
        load_image(tmp_path / "missing.png")
    Image.new("RGB", (1, 1)).save(tmp_path / "one.png")
    with pytest.raises(TexinrError, match="at least"):
        load_image(tmp_path / "one.png")


def test_pyramid_halves_with_bilinear_filter():
    img = random_image(64, 32)
    pyr = build_pyramid(img, 6)
    assert [p.shape[:2] for p in pyr] == [(64, 32), (32, 16), (16, 8), (8, 4), (4, 2), (2, 1)]
    # halving with a bilinear filter averages each 2x2 block
    np.testing.assert_allclose(pyr[1], img.reshape(32, 2, 16, 2, 3).mean(axis=(1, 3)), atol=1e-5)


def test_samples_cover_every_pixel_of_every_level():
    img = random_image(16, 16)
    s = TextureSamples(img, 3)
    assert len(s) == 256 + 64 + 16
    assert sorted(set(s.t[:, 0].tolist())) == [0.0, 0.5, 1.0]
    base = s.level_id == 0
    np.testing.assert_allclose(s.rgb[base].numpy(), img.reshape(-1, 3))


def test_jitter_targets_are_bilinear_with_repeat():
    img = torch.from_numpy(random_image(4, 4))
    centre = torch.tensor([[0.125, 0.875]])  # pixel (0, 0)
    np.testing.assert_allclose(bilinear_sample_repeat(img, centre)[0], img[0, 0], atol=1e-6)
    between = torch.tensor([[0.25, 0.875]])  # halfway between pixels (0, 0) and (0, 1)
    np.testing.assert_allclose(bilinear_sample_repeat(img, between)[0], (img[0, 0] + img[0, 1]) / 2, atol=1e-6)
    wrap = torch.tensor([[0.0, 0.875]])  # halfway between column 3 and column 0 (REPEAT)
    np.testing.assert_allclose(bilinear_sample_repeat(img, wrap)[0], (img[0, 3] + img[0, 0]) / 2, atol=1e-6)
    s = TextureSamples(img.numpy(), 1)
    uv, _, rgb = s.batch(512, torch.Generator().manual_seed(0), jitter=True)
    assert not np.isin(uv[:, 0].numpy(), s.uv01[:, 0].numpy()).all()  # off the pixel centres
    np.testing.assert_allclose(rgb.numpy(), bilinear_sample_repeat(img, uv).numpy(), atol=1e-5)


def test_screen_samples_are_trilinear_between_levels():
    """With jitter: a share SCREEN_CENTRE_SHARE of the batch at pixel centres of whole levels; the rest anywhere,
    half of those between two levels (t continuous), their targets the texture unit's value: bilinear in each level,
    linear between."""
    from texinr.trainer.core.data import SCREEN_CENTRE_SHARE

    img = random_image(16, 16)
    s = TextureSamples(img, 3)
    n = 8000
    uv, t, rgb = s.batch(n, torch.Generator().manual_seed(1), jitter=True)
    centres = int(round(n * SCREEN_CENTRE_SHARE))
    levels = t[:, 0].numpy() * 2  # level as a real number
    whole = np.isclose(levels, np.round(levels))
    off = 1 - SCREEN_CENTRE_SHARE
    assert 0.8 * off * 0.45 < 1 - whole.mean() < 1.2 * off * 0.5  # half the off-centre ones, but not on level 2
    assert whole[:centres].all()
    for i in np.flatnonzero(~whole)[:50]:
        k = int(np.floor(levels[i]))
        f = levels[i] - k
        a = bilinear_sample_repeat(s.levels[k].image, uv[i : i + 1])[0]
        b = bilinear_sample_repeat(s.levels[k + 1].image, uv[i : i + 1])[0]
        np.testing.assert_allclose(rgb[i].numpy(), (a * (1 - f) + b * f).numpy(), atol=1e-5)
    assert np.isin(uv[:centres, 0].numpy(), s.uv01[:, 0].numpy()).all()  # the centres: their pixel's value
    assert np.isclose(rgb[:200].numpy()[:, None, :], s.rgb.numpy()[None]).all(-1).any(-1).all()
    assert not np.isin(uv[centres:, 0].numpy(), s.uv01[:, 0].numpy()).all()
