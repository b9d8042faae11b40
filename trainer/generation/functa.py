"""A space of textures: one SIREN shared by every texture, shifted per texture by a short
latent code ("functa"; shift modulations as in Dupont et al., "From data to functa", and Mehta et al.'s modulated
periodic activations).

Hidden layer l computes sin(omega0 (W_l x + b_l + s_l(z))) with the shifts s(z) = M z + m, one vector of `width`
per layer. A shift is a bias: for one code z the network *is* an ordinary SIREN whose hidden biases are b_l + s_l(z)
(`to_siren`), so a decoded code is saved as a plain `siren` `.texinr` and drawn by the same shader, packing and
parity-tested code as every SIREN.

Codes are fitted by auto-decoding (DeepSDF's way): every training crop owns a code, and codes and the shared network
are optimised together; a texture outside the set is encoded by optimising its code alone (`encode`). Meta-learning
(functa's few inner steps from a learned initialisation) encodes faster but costs second-order steps that 2 CPU cores
cannot afford at this scale; auto-decoding needs only first-order steps.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from texinr.trainer.core.config import ModelConfig
from texinr.trainer.core.data import pixel_centres_uv01
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.models import Siren, TextureField
from texinr.trainer.generation import arrayfile


@dataclass(frozen=True)
class FunctaConfig:
    width: int = 64
    depth: int = 3
    latent: int = 64
    omega0: float = 30.0


class ModulatedSiren(nn.Module):
    """(uv01, code) -> RGB: the project's Siren (same initialisation), its hidden biases shifted by a linear map of
    the code."""

    def __init__(self, cfg: FunctaConfig):
        super().__init__()
        self.cfg = cfg
        self.siren = Siren(2, cfg.width, cfg.depth, cfg.omega0, 3)
        self.modulation = nn.Linear(cfg.latent, cfg.width * cfg.depth)
        with torch.no_grad():  # every code starts as the shared network itself
            self.modulation.weight.normal_(0.0, 1.0 / math.sqrt(cfg.latent) / cfg.omega0)
            self.modulation.bias.zero_()

    def shifts(self, z: Tensor) -> Tensor:
        """(B, latent) -> (B, depth, width)."""
        return self.modulation(z).view(-1, self.cfg.depth, self.cfg.width)

    def forward(self, uv01: Tensor, z: Tensor) -> Tensor:
        """(B, n, 2) uv in [0, 1], (B, latent) codes -> (B, n, 3) unclamped colour."""
        x = uv01 * 2.0 - 1.0  # xy_pm1, as the plain SIREN's encoding (encodings.PmOne)
        s = self.shifts(z)
        for i, layer in enumerate(self.siren.hidden):
            x = torch.sin(self.cfg.omega0 * (layer(x) + s[:, i, None, :]))
        return self.siren.out(x)

    @torch.no_grad()
    def to_siren(self, z: Tensor) -> TextureField:
        """The ordinary SIREN this network is for one code (1-D, `latent` long)."""
        cfg = ModelConfig(arch="siren", width=self.cfg.width, depth=self.cfg.depth, omega0=self.cfg.omega0, lod=False)
        field = TextureField(cfg)
        field.mlp.load_state_dict(self.siren.state_dict())
        s = self.shifts(z.reshape(1, -1))[0]
        for i, layer in enumerate(field.mlp.hidden):
            layer.bias += s[i]
        return field


def pixel_grid(h: int, w: int) -> Tensor:
    """(h * w, 2) uv01 of pixel centres, row by row from the top-left pixel (v up, as the trainer and the shader
    sample textures)."""
    return torch.from_numpy(pixel_centres_uv01(h, w))


@dataclass
class Fitted:
    model: ModulatedSiren
    codes: Tensor  # (N, latent)
    psnr: np.ndarray  # per crop, dB, of the fitted codes
    seconds: float
    steps: int


def decode(model: ModulatedSiren, codes: Tensor, size: int) -> np.ndarray:
    """(N, size, size, 3) float32 colours in [0, 1] of codes (N, latent), at pixel centres, rounded to 8 bits."""
    uv = pixel_grid(size, size)
    out = []
    with torch.no_grad():
        for i in range(0, len(codes), 64):
            pred = model(uv.expand(len(codes[i : i + 64]), -1, -1), codes[i : i + 64]).clamp(0, 1)
            out.append((torch.round(pred * 255) / 255).reshape(-1, size, size, 3))
    return torch.cat(out).numpy() if out else np.zeros((0, size, size, 3), np.float32)


def psnr_per_crop(model: ModulatedSiren, codes: Tensor, crops: Tensor | np.ndarray) -> np.ndarray:
    """PSNR (dB, outputs rounded to 8 bits as every texinr metric) of each square crop (N, h, h, 3) from its code."""
    crops = np.asarray(crops, dtype=np.float32)
    mse = ((decode(model, codes, crops.shape[1]) - crops) ** 2).mean(axis=(1, 2, 3))
    return (10 * np.log10(1.0 / np.maximum(mse, 1e-12))).astype(np.float32)


def fit(
    crops: np.ndarray,
    cfg: FunctaConfig = FunctaConfig(),
    steps: int = 2000,
    batch: int = 16,
    pixels: int = 1024,
    lr: float = 1e-3,
    code_lr: float = 1e-2,
    seed: int = 0,
    progress=None,
) -> Fitted:
    """Auto-decoding: the shared network and one code per crop ((N, h, w, 3) float in [0, 1]) trained together;
    each step takes `batch` crops and `pixels` random pixels of each. `progress(step, loss)` is called now and then."""
    torch.manual_seed(seed)
    data = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
    n, h, w, _ = data.shape
    flat = data.reshape(n, h * w, 3)
    uv = pixel_grid(h, w)
    model = ModulatedSiren(cfg)
    codes = nn.Parameter(torch.zeros(n, cfg.latent))
    opt = torch.optim.Adam([{"params": model.parameters(), "lr": lr}, {"params": [codes], "lr": code_lr}])
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for step in range(steps):
        idx = torch.randperm(n, generator=gen)[: min(batch, n)]
        pix = torch.randint(0, h * w, (len(idx), min(pixels, h * w)), generator=gen)
        target = torch.gather(flat[idx], 1, pix[..., None].expand(-1, -1, 3))
        pred = model(uv[pix], codes[idx])
        loss = ((pred - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None and (step % 50 == 0 or step == steps - 1):
            progress(step, loss.item())
    codes = codes.detach()
    return Fitted(model, codes, psnr_per_crop(model, codes, data), time.perf_counter() - t0, steps)


def encode(
    model: ModulatedSiren, crops: np.ndarray, steps: int = 300, lr: float = 1e-2, seed: int = 0, progress=None
) -> Tensor:
    """Textures outside the set: their codes, optimised alone (the shared network frozen). (N, h, w, 3) -> (N,
    latent), or one (h, w, 3) -> (latent,). Each code's loss is its own crop's, so a batch encodes as one by one."""
    torch.manual_seed(seed)
    data = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
    single = data.ndim == 3
    data = data[None] if single else data
    n, h, w, _ = data.shape
    uv = pixel_grid(h, w)[None].expand(n, -1, -1)
    target = data.reshape(n, h * w, 3)
    code = nn.Parameter(torch.zeros(n, model.cfg.latent))
    opt = torch.optim.Adam([code], lr=lr)
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        for step in range(steps):
            loss = ((model(uv, code) - target) ** 2).mean(dim=(1, 2)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if progress is not None and (step % 10 == 0 or step == steps - 1):
                progress(step, loss.item() / n)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return code.detach()[0] if single else code.detach()


def network_id(model: ModulatedSiren) -> str:
    """What identifies a shared network: a hash of its settings and weights. Codes, priors and generated models
    carry it, so that nothing is combined with another network's codes."""
    h = hashlib.sha1(repr(sorted(asdict(model.cfg).items())).encode())
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().numpy().astype(np.float32).tobytes())
    return h.hexdigest()[:16]


@dataclass
class Space:
    """A fitted space of textures: the shared network, the training crops' codes and how well they fit."""

    model: ModulatedSiren
    codes: Tensor  # (N, latent)
    psnr: np.ndarray  # (N,) dB
    meta: dict = field(default_factory=dict)  # the data and fit settings, timings

    @property
    def id(self) -> str:
        return network_id(self.model)


def save_space(path: Path, space: Space) -> None:
    arrays = {f"net.{k}": v.detach().numpy() for k, v in space.model.state_dict().items()}
    arrays.update(codes=space.codes.numpy(), psnr=np.asarray(space.psnr, np.float32))
    arrayfile.save(path, "space", {"functa": asdict(space.model.cfg), "id": space.id, **space.meta}, arrays)


def load_space(path: Path) -> Space:
    meta, arrays = arrayfile.load(path, "space")
    try:
        model = ModulatedSiren(FunctaConfig(**meta.pop("functa")))
        model.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("net.")})
        space = Space(model.eval(), torch.from_numpy(arrays["codes"]), arrays["psnr"], meta)
    except (TypeError, KeyError, RuntimeError) as e:
        raise TexinrError(f"{path}: a damaged space file ({type(e).__name__})") from None
    if meta.get("id") != space.id:
        raise TexinrError(f"{path}: a damaged space file (its weights do not match its id)")
    return space
