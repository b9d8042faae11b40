"""Input encodings: uv01 (n, 2) in [0, 1) -> features (n, out_dim).

Each encoding is exactly what the GLSL path re-implements, so keep the arithmetic plain.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from texinr.trainer.core.profile import part
from texinr.trainer.core.sparse import RowGrad, bilinear_rows, corner_rows, quantize_rows, wrapped_rows

HASH_PRIME_Y = 2654435761
"""instant-ngp's second hash prime (the first is 1)."""


class PmOne(nn.Module):
    """Raw coordinates for plain MLPs: xy_pm1 = 2 * uv01 - 1."""

    out_dim = 2

    def forward(self, uv01: Tensor) -> Tensor:
        return uv01 * 2.0 - 1.0


def log_bands(n_bands: int, max_freq: float) -> np.ndarray:
    """Log-spaced frequencies 1 .. max_freq (cycles per texture), float32."""
    if n_bands == 1:
        return np.array([1.0], dtype=np.float32)
    return np.exp2(np.linspace(0.0, math.log2(max_freq), n_bands)).astype(np.float32)


class FourierFeatures(nn.Module):
    """Pos(v) = [v, sin(2 pi f_i . v), cos(2 pi f_i . v)] on v = uv01 (Tancik et al. 2020).

    'log': every band f_i applied to each axis separately (2 + 4 n_f features); derived from the config,
    so nothing is stored. 'gaussian': rows of B ~ N(0, sigma^2) (n_f, 2) (2 + 2 n_f features); B is a buffer
    saved in the file at fp32 and counted in the bits.
    """

    def __init__(self, n_bands: int, mode: str, max_freq: float, sigma: float, seed: int):
        super().__init__()
        self.mode = mode
        if mode == "log":
            f = log_bands(n_bands, max_freq)
            b = np.zeros((2 * n_bands, 2), np.float32)  # rows (f, 0), (0, f) per band
            b[0::2, 0], b[1::2, 1] = f, f
            self.register_buffer("freqs", torch.from_numpy(b), persistent=False)
        else:
            g = torch.Generator().manual_seed(seed)
            self.register_buffer("freqs", torch.randn(n_bands, 2, generator=g) * sigma)
        self.out_dim = 2 + 2 * self.freqs.shape[0]

    def forward(self, uv01: Tensor) -> Tensor:
        phase = (2.0 * math.pi) * (uv01 @ self.freqs.T)
        return torch.cat([uv01, torch.sin(phase), torch.cos(phase)], dim=1)


def level_resolutions(levels: int, base_res: int, finest_res: int) -> list[int]:
    """Cells per side for each level, geometric from base_res to finest_res (instant-ngp's growth factor b)."""
    if levels == 1:
        return [base_res]
    b = math.exp((math.log(finest_res) - math.log(base_res)) / (levels - 1))
    return [min(finest_res, math.floor(base_res * b**lvl + 1e-6)) for lvl in range(levels)]


def _corners(uv01: Tensor, res: int):
    """Integer cell corner (x0, y0) and bilinear weights for a grid of res cells ((res+1)^2 vertices) over [0,1]."""
    p = uv01 * res
    p0 = torch.clamp(torch.floor(p), 0, res - 1)
    f = p - p0
    p0 = p0.long()
    return p0[:, 0], p0[:, 1], f[:, 0:1], f[:, 1:2]


class _Gather(torch.autograd.Function):
    """rows = table[idx], whose backward accumulates with scatter_add_: on the CPU about 10x faster than the
    generic index / embedding backward for millions of rows (measured: 41 ms vs 470 ms for 4M x 2)."""

    @staticmethod
    def forward(ctx, table: Tensor, idx: Tensor) -> Tensor:
        ctx.save_for_backward(idx)
        ctx.rows = table.shape[0]
        return table[idx]

    @staticmethod
    def backward(ctx, grad: Tensor):
        (idx,) = ctx.saved_tensors
        feats = grad.shape[-1]
        flat = idx.reshape(-1, 1).expand(-1, feats)
        grad_table = torch.zeros(ctx.rows, feats, dtype=grad.dtype, device=grad.device).scatter_add_(
            0, flat, grad.reshape(-1, feats)
        )
        return grad_table, None


ROW_RATIO = 8
"""A table is trained row by row when it has more than this many times the rows a batch reads (4 per sample): per
value touched, the row-by-row gather, scatter and Adam cost about 10x a dense pass's per value (measured on 2
cores: 1.3-2 ns per value and operation against 0.6 ns for fused Adam over a whole table)."""


class RowTables(nn.Module):
    """An encoding whose `tables` can be trained row by row (trainer/core/sparse.py): `attach_row_grads` gives each
    table a RowGrad that its lookups send their gradients to, `detach_row_grads` goes back to dense gradients."""

    sinks: list[RowGrad | None] | None = None

    def attach_row_grads(self, batch: int) -> list[RowGrad]:
        """Row-by-row training for the tables much larger than what a batch of `batch` samples reads (ROW_RATIO);
        the others stay dense, where whole-table operations cost less than row-by-row ones. Returns the RowGrads."""
        reads = 4 * batch
        self.sinks = [RowGrad(t) if t.numel() // t.shape[-1] > ROW_RATIO * reads else None for t in self.tables]
        return [s for s in self.sinks if s is not None]

    def detach_row_grads(self) -> None:
        self.sinks = None

    def sink(self, lvl: int) -> RowGrad | None:
        return None if self.sinks is None or not torch.is_grad_enabled() else self.sinks[lvl]


class HashGrid(RowTables):
    """Multi-resolution hash encoding (Mueller et al. 2022), pure PyTorch, 2-D.

    Level l has res_l cells per side, (res_l + 1)^2 vertices. When they fit in the table (size 2^table_log2) the
    level is dense (index = x + y * (res_l + 1)); otherwise index = (x ^ (y * 2654435761)) & (T - 1).
    The table size must stay a power of two: then the int64 arithmetic here and GLSL's wrapping uint arithmetic
    give the same low bits, so both pick the same entry.
    """

    def __init__(self, levels: int, features: int, table_log2: int, base_res: int, finest_res: int, seed: int = 0):
        super().__init__()
        self.resolutions = level_resolutions(levels, base_res, finest_res)
        self.table_size = 1 << table_log2
        self.features = features
        self.dense = [(r + 1) ** 2 <= self.table_size for r in self.resolutions]
        g = torch.Generator().manual_seed(seed)
        self.tables = nn.ParameterList(
            nn.Parameter((torch.rand(min(self.table_size, (r + 1) ** 2), features, generator=g) * 2 - 1) * 1e-4)
            for r in self.resolutions
        )
        self.out_dim = levels * features

    def vertex_index(self, level: int, x: Tensor, y: Tensor) -> Tensor:
        res = self.resolutions[level]
        if self.dense[level]:
            return x + y * (res + 1)
        return (x ^ (y * HASH_PRIME_Y)) & (self.table_size - 1)

    def forward(self, uv01: Tensor) -> Tensor:
        out = []
        for lvl, table in enumerate(self.tables):
            x0, y0, fx, fy = _corners(uv01, self.resolutions[lvl])
            x = torch.stack([x0, x0 + 1, x0, x0 + 1], dim=1)  # (n, 4): corners 00, 10, 01, 11
            y = torch.stack([y0, y0, y0 + 1, y0 + 1], dim=1)
            w = torch.cat([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], dim=1)  # (n, 4)
            rows, sink = self.vertex_index(lvl, x, y), self.sink(lvl)
            if sink is not None:
                out.append(bilinear_rows(table, rows, w, 0, sink))
            else:
                out.append(torch.einsum("ncf,nc->nf", _Gather.apply(table, rows), w))
        return torch.cat(out, dim=1)


class DenseGrid(RowTables):
    """Dense multi-resolution latent grid (the family of NVIDIA's neural texture compression), 2-D.

    Level l is a (res_l + 1) x (res_l + 1) x C array; vertex (i, j) sits at uv01 = (i / res_l, j / res_l),
    stored as tables[l][j, i, :]. Features are bilinearly interpolated and concatenated over levels.
    """

    def __init__(self, levels: int, channels: int, base_res: int, finest_res: int, seed: int = 0):
        super().__init__()
        self.resolutions = level_resolutions(levels, base_res, finest_res)
        self.channels = channels
        g = torch.Generator().manual_seed(seed)
        self.tables = nn.ParameterList(
            nn.Parameter((torch.rand(r + 1, r + 1, channels, generator=g) * 2 - 1) * 0.1) for r in self.resolutions
        )
        self.out_dim = levels * channels

    def forward(self, uv01: Tensor) -> Tensor:
        # grid_sample with align_corners=True maps -1 / +1 to the first / last vertex: exactly the layout above.
        grid = (uv01 * 2.0 - 1.0)[None, :, None, :]  # (1, n, 1, 2)
        out = []
        for lvl, (table, res) in enumerate(zip(self.tables, self.resolutions, strict=True)):
            sink = self.sink(lvl)
            if sink is not None:
                out.append(bilinear_rows(table, *corner_rows(uv01, res, res + 1), 0, sink))
            else:
                out.append(sample_vertices(table, grid))
        return torch.cat(out, dim=1)


def sample_vertices(table: Tensor, grid: Tensor) -> Tensor:
    """Bilinear lookup of a (res + 1, res + 1, C) vertex table at grid = xy_pm1 (1, n, 1, 2) -> (n, C)."""
    img = table.permute(2, 0, 1)[None]  # (1, C, rows=v, cols=u)
    f = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return f[0, :, :, 0].T


def dequantize_codes(q: Tensor, bits: int) -> Tensor:
    """Latent codes q in 0 .. 2^bits - 1 -> values in [-1, 1]: v = q * 2 / (2^bits - 1) - 1 (also the shader's rule)."""
    return q * (2.0 / ((1 << bits) - 1)) - 1.0


def latent_codes(v: Tensor, bits: int) -> Tensor:
    """Float latents (any range) -> integer codes 0 .. 2^bits - 1 (as floats): clamp to [-1, 1], round."""
    qmax = (1 << bits) - 1
    return torch.round((v.clamp(-1.0, 1.0) + 1.0) * (0.5 * qmax))


class _QuantizeSTE(torch.autograd.Function):
    """dequantize_codes(latent_codes(v, bits), bits) in one buffer (the same operations in the same order, in
    place), with the straight-through gradient (identity). The same values, bit for bit, as the unfused
    `v + (vq - v).detach()` (tested over every bit depth), at a third of its time: on a 1024^2 x 4 grid, quantising
    took 31 ms of an 85 ms step as seven whole-grid passes."""

    @staticmethod
    def forward(ctx, v: Tensor, bits: int) -> Tensor:
        return quantize_rows(v, bits)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad, None


def wrap_pad(table: Tensor) -> Tensor:
    """A (res, res, C) periodic vertex table with its first row and column repeated after the last: (res + 1)^2."""
    table = torch.cat([table, table[:1]], dim=0)
    return torch.cat([table, table[:, :1]], dim=1)


def sample_wrapped(table: Tensor, uv01: Tensor) -> Tensor:
    """Bilinear lookup of a periodic (res, res, C) table whose vertex (i, j) sits at uv01 = ((i + 0.5) / res,
    (j + 0.5) / res) (the texel centres of a res x res level), wrapping around: (n, C)."""
    res = table.shape[0]
    shifted = torch.remainder(uv01 - 0.5 / res, 1.0)  # vertex (0, 0) at 0, vertex res (= 0 again) at 1
    return sample_vertices(wrap_pad(table), (shifted * 2.0 - 1.0)[None, :, None, :])


class QuantizedGrids(RowTables):
    """The codec's encoding: latent grids stored at 1-8 bits, plus optional positional encoding.

    Layout 'texel' (an option): grid l is res_l x res_l x C_l, vertex (i, j) at uv01 = ((i + 0.5), (j + 0.5)) /
    res_l (tables[l][j, i, :]): at the texel centres of a level res_l texels wide, so a full-resolution grid gives
    every texel centre its own vertex and a half-resolution one sits on the centres of mip level 1, and the grid
    wraps around as the texture does (a sample near an edge blends with the opposite edge's vertices, as GL_REPEAT
    does). Layout 'corner' (the default, and every model of format 1): (res_l + 1)^2 vertices at uv01 = (i, j) / res_l, like
    DenseGrid; there the texel centres fall between vertices, which the network only learned at those centres.
    Every forward pass quantises the latents to their bit depth: v -> dequantize(codes(v)),
    with a straight-through gradient (quantisation-aware training), so what is trained is exactly what is stored
    and what the shader decodes. Positional encoding: for octave k, sin and cos of 2 pi uv01 * (R 2^k / 2), R the
    finest grid's resolution (one period per two cells at k = 0), in the order (sin x, sin y, cos x, cos y).
    """

    def __init__(self, levels: list[tuple[int, int, int]], pe: int, seed: int = 0, layout: str = "corner"):
        super().__init__()
        self.levels = list(levels)
        self.pe = pe
        self.pe_res = max(r for r, _, _ in self.levels)
        self.layout = layout
        extra = 0 if layout == "texel" else 1
        g = torch.Generator().manual_seed(seed)
        self.tables = nn.ParameterList(
            nn.Parameter((torch.rand(r + extra, r + extra, c, generator=g) * 2 - 1) * 0.5) for r, c, _ in self.levels
        )
        self.out_dim = sum(c for _, c, _ in self.levels) + 4 * pe
        self._cache: dict[int, tuple[tuple, Tensor]] = {}  # see _inference_table

    def quantized(self, lvl: int) -> Tensor:
        """Level lvl's latents as stored (dequantised), with a straight-through gradient to the float latents."""
        return _QuantizeSTE.apply(self.tables[lvl], self.levels[lvl][2])

    def _inference_table(self, lvl: int) -> Tensor:
        """quantized(lvl) without autograd, kept until the latents change (tensor versions count in-place
        updates): decoding a large texture chunk by chunk would otherwise quantise every grid once per chunk (at
        4096^2, 128 chunks of a 17M-value grid)."""
        v = self.tables[lvl]
        key = (v._version, v.data_ptr(), v.device)
        cached = self._cache.get(lvl)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, self.quantized(lvl))
            self._cache[lvl] = cached
        return cached[1]

    def forward(self, uv01: Tensor) -> Tensor:
        """Each level's four vertices around uv01, quantised as stored, blended bilinearly (training: only the rows
        read are quantised, their gradient goes straight through to the float latents)."""
        grad = torch.is_grad_enabled()
        if grad:
            self._cache = {}
        grid = (uv01 * 2.0 - 1.0)[None, :, None, :]
        out = []
        for lvl, (res, _, bits) in enumerate(self.levels):
            sink = self.sink(lvl)
            if sink is not None:  # only the rows read are quantised
                rows, w = wrapped_rows(uv01, res) if self.layout == "texel" else corner_rows(uv01, res, res + 1)
                out.append(bilinear_rows(self.tables[lvl], rows, w, bits, sink))
                continue
            if grad:
                with part("quantisation"):
                    table = self.quantized(lvl)
            else:
                table = self._inference_table(lvl)
            out.append(sample_wrapped(table, uv01) if self.layout == "texel" else sample_vertices(table, grid))
        for k in range(self.pe):
            phase = uv01 * (math.pi * self.pe_res * 2**k)
            out += [torch.sin(phase), torch.cos(phase)]
        return torch.cat(out, dim=1)
