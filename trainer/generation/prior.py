"""A diffusion prior over texture codes: DDPM (Ho et al. 2020) with a small MLP denoiser, trained on the
CPU in minutes. Codes are standardised per dimension first (the prior keeps the mean and scale), noise is added on a
cosine schedule (Nichol & Dhariwal 2021), the network predicts the noise, and samples come from DDIM's deterministic
sampler (Song et al. 2021) on a sub-sequence of the steps (or DDPM's ancestral one with eta = 1).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from texinr.trainer.core.errors import TexinrError
from texinr.trainer.generation import arrayfile

CLIP = 5.0
"""Predicted clean codes are clipped to +-CLIP standard deviations while sampling."""


@dataclass(frozen=True)
class PriorConfig:
    steps: int = 1000  # diffusion steps T
    hidden: int = 256
    layers: int = 3
    time_dim: int = 32


def cosine_alpha_bar(steps: int) -> Tensor:
    """alpha_bar_t for t = 0..steps (alpha_bar_0 = 1), the cosine schedule, clipped so no step removes everything."""
    s = 0.008
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    ab = f / f[0]
    betas = (1 - ab[1:] / ab[:-1]).clamp(max=0.999)
    return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)]).float()


def time_embedding(t: Tensor, dim: int) -> Tensor:
    """(B,) integer steps -> (B, dim) sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class Denoiser(nn.Module):
    """(z_t, t) -> the noise in z_t: an MLP with SiLU on [z_t, embedding(t)], with a skip of z_t."""

    def __init__(self, dim: int, cfg: PriorConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        width = dim + cfg.time_dim
        for _ in range(cfg.layers):
            layers += [nn.Linear(width, cfg.hidden), nn.SiLU()]
            width = cfg.hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cfg.hidden + dim, dim)

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        h = self.body(torch.cat([z, time_embedding(t, self.cfg.time_dim)], dim=1))
        return self.head(torch.cat([h, z], dim=1))


@dataclass
class Prior:
    net: Denoiser
    mean: Tensor
    scale: Tensor
    alpha_bar: Tensor
    cfg: PriorConfig
    seconds: float = 0.0
    losses: list[float] | None = None
    meta: dict = field(default_factory=dict)  # e.g. the id of the space whose codes it learnt

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, sampling_steps: int = 100, eta: float = 0.0) -> Tensor:
        """n codes (n, dim), in the codes' own units. DDIM over `sampling_steps` of the T steps; eta = 1 is DDPM's
        ancestral sampling."""
        g = torch.Generator().manual_seed(seed)
        T = self.cfg.steps
        ts = torch.linspace(T, 0, sampling_steps + 1).round().long()
        z = torch.randn(n, self.mean.numel(), generator=g)
        for t, t_prev in itertools.pairwise(ts.tolist()):
            ab, ab_prev = self.alpha_bar[t], self.alpha_bar[t_prev]
            eps = self.net(z, torch.full((n,), t))
            # the clean code, clipped to where standardised codes live (near t = T, alpha_bar is ~0 and dividing by
            # its root would amplify the network's error a thousandfold)
            z0 = ((z - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-CLIP, CLIP)
            sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp(min=0).sqrt()
            z = ab_prev.sqrt() * z0 + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
            if eta > 0 and t_prev > 0:
                z = z + sigma * torch.randn(z.shape, generator=g)
        return z * self.scale + self.mean


def train_prior(
    codes: Tensor | np.ndarray,
    cfg: PriorConfig = PriorConfig(),
    iterations: int = 3000,
    batch: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    progress=None,
) -> Prior:
    """Fit the denoiser to `codes` (N, dim): each iteration noises a batch to random steps and regresses the noise."""
    torch.manual_seed(seed)
    z = torch.as_tensor(np.asarray(codes), dtype=torch.float32)
    mean, scale = z.mean(0), z.std(0).clamp_min(1e-6)
    x = (z - mean) / scale
    net = Denoiser(x.shape[1], cfg)
    ab = cosine_alpha_bar(cfg.steps)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iterations)
    g = torch.Generator().manual_seed(seed)
    losses = []
    t0 = time.perf_counter()
    for it in range(iterations):
        idx = torch.randint(0, len(x), (batch,), generator=g)
        t = torch.randint(1, cfg.steps + 1, (batch,), generator=g)
        noise = torch.randn(batch, x.shape[1], generator=g)
        a = ab[t][:, None]
        loss = ((net(a.sqrt() * x[idx] + (1 - a).sqrt() * noise, t) - noise) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if progress is not None and (it % 100 == 0 or it == iterations - 1):
            progress(it, losses[-1])
    return Prior(net.eval(), mean, scale, ab, cfg, time.perf_counter() - t0, losses)


def save_prior(path: Path, prior: Prior) -> None:
    arrays = {f"net.{k}": v.detach().numpy() for k, v in prior.net.state_dict().items()}
    arrays.update(mean=prior.mean.numpy(), scale=prior.scale.numpy(), losses=np.asarray(prior.losses or [], np.float32))
    arrayfile.save(path, "prior", {"prior": asdict(prior.cfg), "seconds": prior.seconds, **prior.meta}, arrays)


def load_prior(path: Path) -> Prior:
    meta, arrays = arrayfile.load(path, "prior")
    try:
        cfg = PriorConfig(**meta.pop("prior"))
        net = Denoiser(arrays["mean"].size, cfg)
        net.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("net.")})
    except (TypeError, KeyError, RuntimeError) as e:
        raise TexinrError(f"{path}: a damaged prior file ({type(e).__name__})") from None
    mean, scale = torch.from_numpy(arrays["mean"]), torch.from_numpy(arrays["scale"])
    seconds = float(meta.pop("seconds", 0.0))
    return Prior(net.eval(), mean, scale, cosine_alpha_bar(cfg.steps), cfg, seconds, arrays["losses"].tolist(), meta)
