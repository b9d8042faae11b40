"""The guarantee that what the viewer shows is the model: GLSL output == the trainer's PyTorch forward."""

import numpy as np
import pytest
import torch

from texinr.trainer.core.config import model_preset
from texinr.trainer.core.families import names as family_names
from texinr.trainer.core.modelfile import pack as pack_file
from texinr.trainer.core.models import build_model
from texinr.trainer.core.packing import pack
from texinr.trainer.core.train import render
from texinr.viewer.render.render import render_uv_grid

SIZES = {
    "width": 20,
    "depth": 2,
    "hash_levels": 5,
    "hash_table_log2": 9,
    "hash_base_res": 4,
    "hash_finest_res": 48,
    "hash_features": 2,
    "grid_levels": 3,
    "grid_channels": 5,
    "grid_base_res": 4,
    "grid_finest_res": 24,
    "fourier_bands": 6,
    "fourier_max_freq": 16.0,
    "codec_grids": "24x5x3,12x2x1,4x6x8",  # several bit depths, a 2-texel entry, odd channel counts
    "codec_pe": 2,
}


def textured_model(arch: str, lod: bool, seed: int = 0, **extra):
    """A model whose output spans [0, 1] with structure, like a trained one (random weights, scaled)."""
    model = build_model(model_preset(arch, lod=lod, **{**SIZES, **extra}), seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "tables" in name:
                p.copy_(torch.rand(p.shape, generator=g) * 2 - 1)
        # scale the output layer so colours spread around mid-grey (std 0.25), mostly inside [0, 1]
        uv = torch.rand(4096, 2, generator=g)
        spread = model.forward_raw(uv, torch.rand(4096, 1, generator=g)).std(dim=0)
        model.mlp.out.weight.mul_(0.25 / spread.clamp(min=1e-6)[:, None])
        model.mlp.out.bias.add_(0.5 - model.forward_raw(uv, torch.zeros(4096, 1)).mean(dim=0))
    return model.eval()


@pytest.mark.parametrize("arch", family_names())
@pytest.mark.parametrize("lod", [False, True])
@pytest.mark.parametrize("bits", [32, 16, 8])
def test_shader_matches_torch(gl, programs, arch, lod, bits):
    model = textured_model(arch, lod, fourier_mode="gaussian" if bits == 8 else "log")
    stored = pack_file(model, bits, 61, 47, 6 if lod else 1)  # odd sizes: no accidental symmetry
    torch_model = stored.build()
    weights = {k: v.numpy() for k, v in torch_model.state_dict().items()}
    packed = pack(torch_model.cfg.to_dict(), weights)
    for t in [0.0, 0.6] if lod else [0.0]:
        expected = render(torch_model, 47, 61, t)
        got = render_uv_grid(gl, programs, packed, 61, 47, t)
        assert expected.std() > 0.05, "the test model must show structure"
        np.testing.assert_allclose(got, expected, atol=2e-3, rtol=0)
        off = np.abs(np.round(got * 255) - np.round(expected * 255))
        assert (off <= 1).mean() >= 0.999 and off.max() <= 2


def test_wide_multi_texel_features_and_depth_one(gl, programs):
    model = textured_model("grid", True, grid_channels=6, depth=1, width=7)
    packed = pack(model.cfg.to_dict(), {k: v.detach().numpy() for k, v in model.state_dict().items()})
    np.testing.assert_allclose(
        render_uv_grid(gl, programs, packed, 33, 17, 0.3), render(model, 17, 33, 0.3), atol=2e-3, rtol=0
    )


def test_codec_snapshot_weights_are_quantised_on_upload(gl, programs):
    """The viewer packs the trainer's float latents (not yet rounded): the shader must show the quantised model."""
    model = textured_model("codec", True, codec_grids="16x3x2,5x4x4", codec_pe=1)
    raw = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    assert not np.allclose(raw["encoding.tables.0"], model.encoding.quantized(0).detach().numpy())
    packed = pack(model.cfg.to_dict(), raw)
    np.testing.assert_allclose(
        render_uv_grid(gl, programs, packed, 37, 29, 0.2), render(model, 29, 37, 0.2), atol=2e-3, rtol=0
    )


@pytest.mark.parametrize("width, unrolled", [(20, 1), (72, 0)])
def test_both_mlp_paths_match_torch(gl, programs, width, unrolled):
    """Small MLPs are written into the shader with their weights, wider ones loop over the weights texture: both
    compute the trainer's forward."""
    model = textured_model("relu", True, width=width, depth=2)
    packed = pack(model.cfg.to_dict(), {k: v.detach().numpy() for k, v in model.state_dict().items()})
    assert packed.defines["MLP_UNROLLED"] == unrolled
    np.testing.assert_allclose(
        render_uv_grid(gl, programs, packed, 23, 19, 0.4), render(model, 19, 23, 0.4), atol=2e-3, rtol=0
    )


MATERIAL = "base_colour,normal,occlusion,roughness,metallic"  # 8 channels: two full output blocks
ODD = "base_colour,normal,roughness,alpha,emissive"  # 10 channels: the last block half used


@pytest.mark.parametrize(
    "arch, channels, width",
    [(arch, MATERIAL, 20) for arch in family_names()] + [("codec", ODD, 20), ("siren", ODD, 20), ("relu", ODD, 72)],
)
def test_material_outputs_match_torch(gl, programs, arch, channels, width):
    """Every output channel of a material network, through both MLP paths (written out, looped over the texture)."""
    model = textured_model(arch, True, channels=channels, width=width)
    stored = pack_file(model, 16, 29, 23, 6).build()
    packed = pack(stored.cfg.to_dict(), {k: v.numpy() for k, v in stored.state_dict().items()})
    assert packed.defines["N_OUT"] == model.cfg.outputs and packed.defines["MLP_UNROLLED"] == int(width <= 64)
    expected = render(stored, 23, 29, 0.3)
    got = render_uv_grid(gl, programs, packed, 29, 23, 0.3)
    assert got.shape == expected.shape == (23, 29, model.cfg.outputs)
    assert expected.std(axis=(0, 1)).min() > 0.02, "every channel must show structure"
    np.testing.assert_allclose(got, expected, atol=2e-3, rtol=0)


def test_probe_reads_every_channel(gl, programs):
    from texinr.viewer.render.render import WeightsTexture, probe_network

    model = textured_model("codec", True, channels=ODD)
    packed = pack(model.cfg.to_dict(), {k: v.detach().numpy() for k, v in model.state_dict().items()})
    weights = WeightsTexture(gl)
    weights.update(packed, 0)
    uv = (0.3, 0.7)
    got = probe_network(gl, programs, weights, packed.defines, packed.glsl, uv, 0.25)
    with torch.no_grad():
        expected = model(torch.tensor([uv]), torch.tensor([[0.25]]))[0].numpy()
    weights.release()
    np.testing.assert_allclose(got, expected, atol=2e-3, rtol=0)


def test_generated_texture_matches_the_modulated_network(gl, programs):
    """A generated texture is the shared network with a code: the shader, given the code's SIREN (as the window's
    generator packs it), draws what the modulated network computes."""
    from texinr.trainer.generation.functa import FunctaConfig, ModulatedSiren, pixel_grid

    torch.manual_seed(3)
    net = ModulatedSiren(FunctaConfig(width=24, depth=3, latent=6))
    with torch.no_grad():
        net.siren.out.weight.mul_(3.0)
        net.siren.out.bias.fill_(0.5)
    for z in (torch.randn(6) * 3, torch.zeros(6)):
        with torch.no_grad():
            expected = net(pixel_grid(23, 31)[None], z[None])[0].reshape(23, 31, 3).clamp(0, 1).numpy()
        field = net.to_siren(z)
        packed = pack(field.cfg.to_dict(), {k: v.numpy() for k, v in field.state_dict().items()})
        got = render_uv_grid(gl, programs, packed, 31, 23, 0.0)
        assert expected.std() > 0.05
        np.testing.assert_allclose(got, expected, atol=2e-3, rtol=0)
