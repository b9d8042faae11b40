"""LDR-FLIP as a differentiable torch function, to train on what the bench measures.

Same pipeline and constants as NVIDIA's FLIP (Andersson et al. 2020, "FLIP: A Difference Evaluator for
Alternating Images"), LDR variant, which `trainer.core.metrics.flip` computes with the flip-evaluator package (C++, not
differentiable). The tests check that the two agree to 1e-5 on real images.

- colour: sRGB -> linear -> XYZ -> YCxCz, each opponent channel blurred by its contrast-sensitivity filter (at
  `ppd` pixels per degree), back to linear RGB clamped to [0, 1], CIELAB with the Hunt adjustment, HyAB distance,
  raised to 0.7 and remapped so that the distance between pure green and pure blue is 1.
- features: edges and points (first and second derivatives of a Gaussian) of the luminance; their difference d
  sharpens the colour error: error = colour ** (1 - d).

Inputs are (N, 3, H, W) sRGB in [0, 1]; borders are clamped (replicate), as FLIP does. `eps` keeps the gradients
of the square roots and powers finite where the images agree exactly; eps=0 gives FLIP's values.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

QC, QF, PC, PT = 0.7, 0.5, 0.4, 0.95
"""Colour exponent, feature exponent, and the knee of the colour remapping (FLIP's q_c, q_f, p_c, p_t)."""
CSF = ((1.0, 0.0047, 0.0, 1e-5), (1.0, 0.0053, 0.0, 1e-5), (34.1, 0.04, 13.5, 0.025))
"""Contrast-sensitivity filters (a1, b1, a2, b2) of the achromatic, red-green and blue-yellow channels."""
FEATURE_WIDTH_DEG = 0.082
"""Peak-to-trough width of the human edge detector, in degrees."""


def default_ppd() -> float:
    """FLIP's default observer: 0.7 m from a 0.7 m wide 4K monitor, about 67 pixels per degree."""
    return 0.7 * (3840 / 0.7) * math.pi / 180


_M = torch.tensor(
    [
        [10135552 / 24577794, 8788810 / 24577794, 4435075 / 24577794],
        [2613072 / 12288897, 8788810 / 12288897, 887015 / 12288897],
        [1425312 / 73733382, 8788810 / 73733382, 70074185 / 73733382],
    ],
    dtype=torch.float64,
)
"""Linear sRGB -> XYZ (D65); its row sums are the reference white."""
_M_INV = torch.linalg.inv(_M)
_WHITE = _M.sum(1)


def _mat(m: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", m.to(c), c)


def _white(c: torch.Tensor) -> torch.Tensor:
    return _WHITE.to(c).view(1, 3, 1, 1)


def srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.04045, c / 12.92, ((c.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)


def xyz_to_ycxcz(xyz: torch.Tensor) -> torch.Tensor:
    x, y, z = (xyz / _white(xyz)).unbind(1)
    return torch.stack([116 * y - 16, 500 * (x - y), 200 * (y - z)], 1)


def ycxcz_to_xyz(c: torch.Tensor) -> torch.Tensor:
    big_y, cx, cz = c.unbind(1)
    y = (big_y + 16) / 116
    return torch.stack([cx / 500 + y, y, y - cz / 200], 1) * _white(c)


def xyz_to_hunt_lab(xyz: torch.Tensor) -> torch.Tensor:
    """CIELAB with FLIP's Hunt adjustment (a, b scaled by L / 100)."""
    t = xyz / _white(xyz)
    d = 6 / 29
    f = torch.where(t > d**3, t.clamp(min=d**3) ** (1 / 3), t / (3 * d * d) + 4 / 29)
    fx, fy, fz = f.unbind(1)
    lum = 116 * fy - 16
    return torch.stack([lum, 0.01 * lum * 500 * (fx - fy), 0.01 * lum * 200 * (fy - fz)], 1)


def hyab(a: torch.Tensor, b: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """HyAB distance; eps > 0 rounds the corners of |dL| and of the chroma distance at zero."""
    d = a - b
    lum = d[:, 0].abs() if eps == 0 else torch.sqrt(d[:, 0] ** 2 + eps)
    return lum + torch.sqrt(d[:, 1] ** 2 + d[:, 2] ** 2 + eps)


@functools.lru_cache(maxsize=8)
def _csf_kernels(ppd: float) -> tuple[torch.Tensor, int]:
    radius = math.ceil(3 * math.sqrt(max(max(p[1], p[3]) for p in CSF) / (2 * math.pi**2)) * ppd)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64) / ppd
    r2 = x[None, :] ** 2 + x[:, None] ** 2
    kernels = []
    for a1, b1, a2, b2 in CSF:
        g = a1 * math.sqrt(math.pi / b1) * torch.exp(-(math.pi**2) * r2 / b1)
        g = g + a2 * math.sqrt(math.pi / b2) * torch.exp(-(math.pi**2) * r2 / b2)
        kernels.append(g / g.sum())
    return torch.stack(kernels)[:, None], radius


@functools.lru_cache(maxsize=8)
def _feature_kernels(ppd: float) -> tuple[torch.Tensor, int]:
    sd = 0.5 * FEATURE_WIDTH_DEG * ppd
    radius = math.ceil(3 * sd)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    xx, yy = x[None, :].expand(x.numel(), -1), x[:, None].expand(-1, x.numel())
    g = torch.exp(-(xx**2 + yy**2) / (2 * sd * sd))

    def balanced(k: torch.Tensor) -> torch.Tensor:  # positive weights sum to 1, negative to -1
        return torch.where(k < 0, k / -k[k < 0].sum(), k / k[k > 0].sum())

    edge = balanced(-xx * g)
    point = balanced((xx**2 / (sd * sd) - 1) * g)
    return torch.stack([edge, edge.T, point, point.T])[:, None], radius


def _pad(x: torch.Tensor, r: int) -> torch.Tensor:
    return F.pad(x, (r, r, r, r), mode="replicate")


def _colour_and_luminance(srgb01: torch.Tensor, ppd: float) -> tuple[torch.Tensor, torch.Tensor]:
    kernels, r = _csf_kernels(ppd)
    ycxcz = xyz_to_ycxcz(_mat(_M, srgb_to_linear(srgb01)))
    filtered = F.conv2d(_pad(ycxcz, r), kernels.to(ycxcz), groups=3)
    linear = _mat(_M_INV, ycxcz_to_xyz(filtered)).clamp(0.0, 1.0)
    return xyz_to_hunt_lab(_mat(_M, linear)), (ycxcz[:, :1] + 16) / 116


def _features(lum: torch.Tensor, ppd: float, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    kernels, r = _feature_kernels(ppd)
    f = F.conv2d(_pad(lum, r), kernels.to(lum))
    return torch.sqrt(f[:, 0] ** 2 + f[:, 1] ** 2 + eps), torch.sqrt(f[:, 2] ** 2 + f[:, 3] ** 2 + eps)


def flip_map(ref: torch.Tensor, test: torch.Tensor, ppd: float | None = None, eps: float = 1e-8) -> torch.Tensor:
    """Per-pixel LDR-FLIP error (N, H, W) in [0, 1] between sRGB images ref and test, (N, 3, H, W) in [0, 1]."""
    ppd = ppd or default_ppd()
    lab_ref, lum_ref = _colour_and_luminance(ref, ppd)
    lab_test, lum_test = _colour_and_luminance(test, ppd)
    primaries = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).to(ref).view(2, 3, 1, 1)
    green_blue = xyz_to_hunt_lab(_mat(_M, primaries))
    cmax = hyab(green_blue[:1], green_blue[1:]) ** QC
    colour = (hyab(lab_ref, lab_test, eps) + eps) ** QC
    knee = PC * cmax
    colour = torch.where(colour < knee, colour * (PT / knee), PT + (colour - knee) / (cmax - knee) * (1 - PT))
    edge_ref, point_ref = _features(lum_ref, ppd, eps)
    edge_test, point_test = _features(lum_test, ppd, eps)
    feature = torch.maximum((edge_ref - edge_test).abs(), (point_ref - point_test).abs())
    feature = (feature / math.sqrt(2) + eps) ** QF
    return colour ** (1 - feature)
