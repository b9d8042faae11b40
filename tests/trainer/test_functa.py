"""The shift-modulated SIREN of issue 16: a decoded code is an ordinary SIREN (the bridge to the `.texinr` format
and the shader), auto-decoding fits a small set, and a new texture is encoded by its code alone."""

import numpy as np
import torch

from texinr.trainer.core.modelfile import decode, pack
from texinr.trainer.core.modelfile import encode as encode_file
from texinr.trainer.generation.functa import FunctaConfig, ModulatedSiren, encode, fit, pixel_grid, psnr_per_crop


def crops(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    """Smooth crops that differ in colour and frequency."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        f, phase, base = rng.uniform(1, 3, 2), rng.uniform(0, 6, 2), rng.uniform(0.2, 0.8, 3)
        wave = 0.2 * np.sin(2 * np.pi * (f[0] * x + f[1] * y) + phase[0])
        out.append(np.clip(base + wave[..., None] * np.array([1.0, -0.5, 0.3]), 0, 1))
    return np.stack(out).astype(np.float32)


def test_a_code_decodes_to_an_ordinary_siren_that_survives_the_file():
    torch.manual_seed(0)
    model = ModulatedSiren(FunctaConfig(width=16, depth=2, latent=8))
    z = torch.randn(8)
    uv = pixel_grid(12, 12)
    with torch.no_grad():
        modulated = model(uv[None], z[None])[0]
        plain = model.to_siren(z).forward_raw(uv)
        shared = model.to_siren(torch.zeros(8)).forward_raw(uv)
    assert torch.allclose(modulated, plain, atol=1e-5)
    assert not torch.allclose(plain, shared, atol=1e-3)  # the code does change the texture
    f = decode(encode_file(pack(model.to_siren(z), 32, 12, 12, 1)))
    assert f.model_config.arch == "siren"
    with torch.no_grad():
        assert torch.allclose(f.build().forward_raw(uv), plain, atol=1e-5)


def test_auto_decoding_fits_a_set_and_encodes_a_new_crop():
    data = crops(12)
    cfg = FunctaConfig(width=32, depth=2, latent=16)
    fitted = fit(data, cfg, steps=400, batch=12, pixels=256, seed=0)
    assert fitted.codes.shape == (12, 16) and fitted.psnr.shape == (12,)
    assert np.median(fitted.psnr) > 28
    other = crops(1, seed=99)[0]
    before = psnr_per_crop(fitted.model, torch.zeros(1, 16), torch.from_numpy(other[None]))[0]
    code = encode(fitted.model, other, steps=200)
    after = psnr_per_crop(fitted.model, code[None], torch.from_numpy(other[None]))[0]
    assert after > before + 3
    assert all(p.requires_grad for p in fitted.model.parameters())  # encoding left the shared network trainable


def test_space_file_round_trip_and_damage(tmp_path):
    import pytest

    from texinr.trainer.core.errors import TexinrError
    from texinr.trainer.generation.functa import Space, load_space, save_space

    model = ModulatedSiren(FunctaConfig(width=8, depth=2, latent=4))
    space = Space(model, torch.randn(5, 4), np.arange(5, dtype=np.float32), {"crop": 16})
    save_space(tmp_path / "s.npz", space)
    again = load_space(tmp_path / "s.npz")
    assert again.id == space.id and again.meta["crop"] == 16 and torch.equal(again.codes, space.codes)
    other = Space(ModulatedSiren(FunctaConfig(width=8, depth=2, latent=4)), space.codes, space.psnr)
    assert other.id != space.id  # another network, another id
    data = dict(np.load(tmp_path / "s.npz"))
    data["net.modulation.bias"] = data["net.modulation.bias"] + 1  # weights changed behind the id's back
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(TexinrError, match="do not match its id"):
        load_space(tmp_path / "bad.npz")
