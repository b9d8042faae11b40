"""The six texture fields: (uv01, t) -> cfg.outputs channels in [0, 1] (rgb for one texture, a material's set).

Every family is an encoding followed by an MLP. Inputs wrap (REPEAT: uv01 = uv mod 1); the level of detail
enters the MLP as t_pm1 = 2 t - 1 when the model is mip-aware. The output layer is linear; `forward` clamps it to
[0, 1] (what is displayed and stored), training uses the unclamped `forward_raw` so that gradients never vanish.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from texinr.trainer.core import families
from texinr.trainer.core.config import ModelConfig


def fake_int8(w: Tensor) -> Tensor:
    """`w` as trainer/core/quantize.py stores it at int8 (symmetric, q in [-127, 127]; one scale per output row of a
    weight matrix, one per bias vector), with a straight-through gradient: quantisation-aware training."""
    amax = w.detach().abs().amax(dim=1, keepdim=True) if w.ndim == 2 else w.detach().abs().amax()
    scale = amax.clamp_min(1e-12) / 127.0
    return w + (torch.clamp(torch.round(w / scale), -127, 127) * scale - w).detach()


def linear(layer: nn.Linear, x: Tensor, int8: bool) -> Tensor:
    if not int8:
        return layer(x)
    return F.linear(x, fake_int8(layer.weight), fake_int8(layer.bias))


class ReluMLP(nn.Module):
    """depth hidden layers of `width` ReLU units, linear output."""

    def __init__(self, n_in: int, width: int, depth: int, n_out: int = 3):
        super().__init__()
        dims = [n_in] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.out = nn.Linear(width, n_out)
        self.int8 = False  # train through int8 weights (set when the model will be stored at 8 bits)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.hidden:
            x = torch.relu(linear(layer, x, self.int8))
        return linear(self.out, x, self.int8)


class Siren(nn.Module):
    """Sine layers sin(omega0 (W x + b)) with the paper's initialisation, linear output.

    First layer W ~ U(-1/d_in, 1/d_in); later layers (and the output) W ~ U(-sqrt(6/d_in)/omega0, +sqrt(6/d_in)/omega0).
    """

    def __init__(self, n_in: int, width: int, depth: int, omega0: float, n_out: int = 3):
        super().__init__()
        self.omega0 = omega0
        dims = [n_in] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.out = nn.Linear(width, n_out)
        with torch.no_grad():
            for i, layer in enumerate([*self.hidden, self.out]):
                d_in = layer.in_features
                bound = 1.0 / d_in if i == 0 else math.sqrt(6.0 / d_in) / omega0
                layer.weight.uniform_(-bound, bound)
        self.int8 = False  # train through int8 weights (set when the model will be stored at 8 bits)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.hidden:
            x = torch.sin(self.omega0 * linear(layer, x, self.int8))
        return linear(self.out, x, self.int8)


def make_encoding(cfg: ModelConfig) -> nn.Module:
    """The encoding of cfg's family (its registry entry builds it)."""
    return families.get(cfg.arch).encoding(cfg)


class TextureField(nn.Module):
    """encoding(uv01 mod 1) [+ t_pm1] -> MLP -> cfg.outputs channels."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.encoding = make_encoding(cfg)
        n_in = self.encoding.out_dim + (1 if cfg.lod else 0)
        if families.get(cfg.arch).activation == "sine":
            self.mlp = Siren(n_in, cfg.width, cfg.depth, cfg.omega0, cfg.outputs)
        else:
            self.mlp = ReluMLP(n_in, cfg.width, cfg.depth, cfg.outputs)

    def features(self, uv01: Tensor, t: Tensor | None = None) -> Tensor:
        """(n, 2) uv, (n, 1) t in [0, 1] -> (n, MLP inputs): the encoding (for grids, the latent lookups) and t_pm1."""
        x = self.encoding(torch.remainder(uv01, 1.0))
        if self.cfg.lod:
            if t is None:
                t = uv01.new_zeros(uv01.shape[0], 1)
            x = torch.cat([x, t * 2.0 - 1.0], dim=1)
        return x

    def forward_raw(self, uv01: Tensor, t: Tensor | None = None) -> Tensor:
        """(n, 2) uv, (n, 1) t in [0, 1] -> (n, outputs) unclamped values."""
        return self.mlp(self.features(uv01, t))

    def flops_per_sample(self) -> float:
        """Useful floating-point operations of one training sample, forward and backward (about 3x forward): the
        decoder's multiply-adds and the grids' bilinear blends (four vertices per channel and grid)."""
        mlp = sum(2 * m.in_features * m.out_features for m in self.mlp.modules() if isinstance(m, nn.Linear))
        tables = getattr(self.encoding, "tables", None)
        lookups = sum(2 * 4 * t.shape[-1] for t in tables) if tables is not None else 0
        return 3.0 * (mlp + lookups)

    def forward(self, uv01: Tensor, t: Tensor | None = None) -> Tensor:
        """(n, 2) uv, (n, 1) t in [0, 1] -> (n, outputs) in [0, 1] (clamped)."""
        return self.forward_raw(uv01, t).clamp(0.0, 1.0)


def build_model(cfg: ModelConfig, seed: int = 0, weight_bits: int | None = None) -> TextureField:
    """A fresh model; with weight_bits 8 its MLP trains through the int8 weights it will be stored with, so the model
    trained is the model stored (the packed decoder otherwise loses up to 4.7 dB where training grows outlier weights:
    polyhaven_factory_wall, codec at 2 bpp, 120 s)."""
    torch.manual_seed(seed)
    model = TextureField(cfg)
    model.mlp.int8 = weight_bits == 8
    return model
