import math

import numpy as np
import pytest
import torch

from texinr.trainer.core.config import ModelConfig, model_preset
from texinr.trainer.core.encodings import HASH_PRIME_Y, FourierFeatures, HashGrid, log_bands
from texinr.trainer.core.families import names as family_names
from texinr.trainer.core.models import build_model

SMALL = {
    "width": 16,
    "depth": 2,
    "hash_table_log2": 10,
    "hash_levels": 4,
    "hash_finest_res": 64,
    "grid_base_res": 8,
    "grid_finest_res": 16,
    "codec_grids": "16x2x3,4x4x4",
}


@pytest.mark.parametrize("arch", family_names())
@pytest.mark.parametrize("lod", [False, True])
def test_every_family_outputs_rgb_in_unit_range(arch, lod):
    model = build_model(model_preset(arch, lod=lod, **SMALL))
    uv = torch.rand(257, 2) * 6 - 3  # outside [0, 1] too: it repeats
    t = torch.rand(257, 1)
    with torch.no_grad():
        # push the output layer far off so clamping must act
        model.mlp.out.bias.fill_(5.0)
        y = model(uv, t)
    assert y.shape == (257, 3)
    assert y.dtype == torch.float32
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert float(y.max()) == 1.0  # the bias of 5 was clamped, not squashed


@pytest.mark.parametrize("arch", family_names())
def test_coordinates_repeat(arch):
    model = build_model(model_preset(arch, lod=False, **SMALL))
    uv = torch.rand(64, 2) * 0.98 + 0.01
    with torch.no_grad():
        a = model.forward_raw(uv)
        b = model.forward_raw(uv + torch.tensor([2.0, -3.0]))
    torch.testing.assert_close(a, b, atol=2e-5, rtol=0)


@pytest.mark.parametrize("arch", family_names())
def test_lod_input_is_used(arch):
    model = build_model(model_preset(arch, lod=True, **SMALL))
    uv = torch.rand(64, 2)
    with torch.no_grad():
        a = model.forward_raw(uv, torch.zeros(64, 1))
        b = model.forward_raw(uv, torch.ones(64, 1))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("omega0", [30.0, 10.0])
def test_siren_initialisation_bounds(omega0):
    model = build_model(ModelConfig(arch="siren", width=128, depth=3, omega0=omega0, lod=False))
    layers = [*model.mlp.hidden, model.mlp.out]
    first = layers[0].weight.detach()
    assert float(first.abs().max()) <= 1.0 / 2 + 1e-7
    assert float(first.abs().max()) > 0.4 / 2  # filled up to near the bound, not e.g. zeros
    for layer in layers[1:]:
        bound = math.sqrt(6.0 / layer.in_features) / omega0
        w = layer.weight.detach()
        assert float(w.abs().max()) <= bound + 1e-7
        assert float(w.abs().max()) > 0.9 * bound
        # uniform on [-b, b] has standard deviation b / sqrt(3)
        assert abs(float(w.std()) - bound / math.sqrt(3)) < 0.1 * bound


def test_siren_uses_omega0_in_every_sine():
    model = build_model(ModelConfig(arch="siren", width=8, depth=1, omega0=30.0, lod=False))
    x = torch.rand(5, 2) * 2 - 1
    layer = model.mlp.hidden[0]
    expected = model.mlp.out(torch.sin(30.0 * layer(x)))
    torch.testing.assert_close(model.mlp(x), expected)


def test_fourier_feature_values_log_bands():
    enc = FourierFeatures(n_bands=3, mode="log", max_freq=4.0, sigma=1.0, seed=0)
    np.testing.assert_allclose(log_bands(3, 4.0), [1.0, 2.0, 4.0])
    uv = torch.tensor([[0.125, 0.25]])
    y = enc(uv)[0].numpy()
    assert y.shape == (2 + 4 * 3,)
    np.testing.assert_allclose(y[:2], [0.125, 0.25])
    phases = [2 * math.pi * f * c for f in (1, 2, 4) for c in (0.125, 0.25)]
    np.testing.assert_allclose(y[2:8], np.sin(phases), atol=1e-6)
    np.testing.assert_allclose(y[8:14], np.cos(phases), atol=1e-6)


def test_fourier_gaussian_frequencies_have_sigma_and_are_stored():
    enc = FourierFeatures(n_bands=4096, mode="gaussian", max_freq=1.0, sigma=10.0, seed=3)
    assert abs(float(enc.freqs.std()) - 10.0) < 0.5
    assert "freqs" in enc.state_dict()  # gaussian B is part of the model file
    assert "freqs" not in FourierFeatures(4, "log", 8.0, 1.0, 0).state_dict()  # log bands are derived
    uv = torch.rand(3, 2)
    y = enc(uv).numpy()
    phase = 2 * np.pi * uv.double().numpy() @ enc.freqs.double().numpy().T
    np.testing.assert_allclose(y[:, 2:], np.concatenate([np.sin(phase), np.cos(phase)], 1), atol=1e-3)


def test_hash_grid_is_deterministic_and_indices_stay_in_table():
    a = HashGrid(levels=6, features=2, table_log2=8, base_res=4, finest_res=256, seed=1)
    b = HashGrid(levels=6, features=2, table_log2=8, base_res=4, finest_res=256, seed=1)
    uv = torch.rand(4096, 2)
    torch.testing.assert_close(a(uv), b(uv), rtol=0, atol=0)
    assert a.dense[0] and not a.dense[-1]
    for lvl, res in enumerate(a.resolutions):
        x = torch.arange(res + 1).repeat(res + 1)
        y = torch.arange(res + 1).repeat_interleave(res + 1)
        idx = a.vertex_index(lvl, x, y)
        assert int(idx.min()) >= 0 and int(idx.max()) < a.tables[lvl].shape[0]
        if a.dense[lvl]:
            assert len(torch.unique(idx)) == (res + 1) ** 2  # dense levels never collide
    # hashed index is (x ^ y * prime) mod T, as 32-bit GLSL arithmetic would give
    x, y = torch.tensor([3, 200]), torch.tensor([7, 255])
    expected = [((int(xi) ^ ((int(yi) * HASH_PRIME_Y) & 0xFFFFFFFF)) & 255) for xi, yi in zip(x, y, strict=True)]
    assert a.vertex_index(5, x, y).tolist() == expected


def test_hash_grid_interpolates_between_vertices():
    g = HashGrid(levels=1, features=1, table_log2=6, base_res=4, finest_res=4)
    with torch.no_grad():
        g.tables[0].copy_(torch.arange(25, dtype=torch.float32)[:, None])  # value = x + 5 y
    uv = torch.tensor([[0.125, 0.0], [0.0, 0.375], [1.0, 1.0]])
    np.testing.assert_allclose(g(uv)[:, 0].detach().numpy(), [0.5, 7.5, 24.0], atol=1e-5)


def test_dense_grid_vertex_layout():
    from texinr.trainer.core.encodings import DenseGrid

    g = DenseGrid(levels=1, channels=1, base_res=4, finest_res=4)
    with torch.no_grad():
        j, i = torch.meshgrid(torch.arange(5.0), torch.arange(5.0), indexing="ij")
        g.tables[0].copy_((i + 5 * j)[..., None])  # tables[l][j, i] at uv = (i/4, j/4)
    uv = torch.tensor([[0.125, 0.0], [0.0, 0.375], [1.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(g(uv)[:, 0].detach().numpy(), [0.5, 7.5, 24.0, 12.0], atol=1e-5)


def test_width_and_depth_are_configurable():
    m = build_model(ModelConfig(arch="relu", width=128, depth=3, lod=False))
    assert len(m.mlp.hidden) == 3 and m.mlp.hidden[1].weight.shape == (128, 128)


@pytest.mark.parametrize("arch", ["codec", "siren", "relu"])
def test_int8_training_runs_the_stored_decoder(arch):
    """With weight_bits 8 the MLP computes with the very weights an 8-bit file stores (one outlier per row makes
    the rounding visible), and gradients still reach the float weights (straight-through)."""
    from texinr.trainer.core.modelfile import pack

    uv, t = torch.rand(500, 2), torch.rand(500, 1)
    outs = {}
    for bits in (8, 16):
        model = build_model(model_preset(arch, lod=True, **SMALL), seed=3, weight_bits=bits)
        with torch.no_grad():
            model.mlp.hidden[0].weight[:, 0] = 40.0 / (model.cfg.omega0 if arch == "siren" else 1.0)
        stored = pack(model, 8, 64, 64, 6).build()
        with torch.no_grad():
            outs[bits] = float((model.forward_raw(uv, t) - stored.forward_raw(uv, t)).abs().max())
        loss = model.forward_raw(uv, t).square().mean()
        loss.backward()
        assert all(float(p.grad.abs().sum()) > 0 for p in model.mlp.parameters())
    assert outs[8] < 1e-4, outs  # trained == stored
    assert outs[16] > 1e-3, outs  # the float model is not what an 8-bit file holds


def test_fused_quantisation_is_the_unfused_one_bit_for_bit():
    """QuantizedGrids.quantized (one fused buffer) equals v + (vq - v).detach() in value and gradient."""
    from texinr.trainer.core.encodings import QuantizedGrids, dequantize_codes, latent_codes

    g = QuantizedGrids([(40, 3, b) for b in range(1, 9)], 0)
    with torch.no_grad():
        for t in g.tables:
            t.uniform_(-1.5, 1.5)
    for lvl, (_, _, bits) in enumerate(g.levels):
        v = g.tables[lvl]
        vq = dequantize_codes(latent_codes(v.detach(), bits), bits)
        expected = v + (vq - v).detach()
        got = g.quantized(lvl)
        assert torch.equal(got, expected)
        w = torch.randn_like(v)
        (ga,) = torch.autograd.grad((got * w).sum(), v)
        (gb,) = torch.autograd.grad((expected * w).sum(), v)
        assert torch.equal(ga, gb)
