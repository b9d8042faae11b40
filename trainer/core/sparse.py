"""Latent tables trained row by row: a step's cost set by the batch, not by the texture's size.

A batch of 16,384 samples reads four vertices per sample and grid level: at 4096^2 a small part of a grid of 16.7M
latents. Dense training quantises every latent, zeroes and fills a gradient as large as the grid, and moves every
latent and both Adam moments at every step. Here a grid lookup goes through `bilinear_rows`:

- forward: the four vertices' rows are gathered (and, for the codec, quantised: the same operations as quantising
  the whole table, on the rows read), and blended with the bilinear weights;
- backward: the rows' gradients are added into the table's gradient buffer (`RowGrad`) at the rows read, and the
  rows are remembered; the table gets no dense gradient;
- `RowAdam` then updates only those rows (and zeroes their gradient): Adam whose moments and latents move only
  where the batch had a gradient, as instant-ngp skips the Adam update of hash-table entries with zero gradient.
  Every other parameter (the decoder) takes torch's Adam.

A row read by several samples is listed several times: its gradient is summed once (scatter_add_), and every copy
of it computes and writes the same new values, so no sorting or de-duplication is needed.

Without a RowGrad attached (inference, or an optimizer that needs whole gradients such as Rprop) the backward gives
the table an ordinary dense gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor


class RowGrad:
    """A table's gradient, kept as a flat buffer of the table's size that only the rows of this step touch. Rows
    are handled as flat value indices (row * C + channel): one-dimensional gathers and scatters are about twice as
    fast as row-wise ones on the CPU for the 1-10 channels of a latent table."""

    def __init__(self, table: Tensor):
        self.table = table
        self.buffer = torch.zeros(table.numel(), dtype=table.dtype, device=table.device)
        self.values: list[Tensor] = []

    def add(self, idx: Tensor, grad_values: Tensor) -> None:
        """Gradients of the values at flat indices idx (flat_indices: row * C + channel), repeats summed."""
        self.buffer.scatter_add_(0, idx, grad_values)
        self.values.append(idx)

    def take(self) -> tuple[Tensor, Tensor] | None:
        """The flat indices touched since the last take (with repeats) and their summed gradients; clears the
        buffer there."""
        if not self.values:
            return None
        idx = self.values[0] if len(self.values) == 1 else torch.cat(self.values)
        self.values = []
        grad = self.buffer.index_select(0, idx)
        self.buffer.index_fill_(0, idx, 0.0)
        return idx, grad

    def clear(self) -> None:
        if self.values:
            self.take()


def quantize_rows(v: Tensor, bits: int) -> Tensor:
    """v -> dequantize(codes(v)) in a new buffer: the codec's quantisation (encodings.dequantize_codes of
    latent_codes, the same operations in the same order), elementwise: of a whole table or of the rows read."""
    qmax = (1 << bits) - 1
    return v.clamp(-1.0, 1.0).add_(1.0).mul_(0.5 * qmax).round_().mul_(2.0 / qmax).sub_(1.0)


def flat_indices(rows: Tensor, channels: int) -> Tensor:
    """Row indices (any shape) of a table of `channels` values per row -> the flat indices of their values,
    (rows.numel() * channels,): row-major, channel fastest."""
    rows = rows.reshape(-1)
    if channels == 1:
        return rows
    return (rows[:, None] * channels + torch.arange(channels, device=rows.device)).reshape(-1)


class _BilinearRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, table: Tensor, rows: Tensor, weights: Tensor, bits: int, sink: RowGrad | None) -> Tensor:
        c = table.shape[-1]
        idx = flat_indices(rows, c)
        values = table.detach().reshape(-1).index_select(0, idx).reshape(*rows.shape, c)  # (n, 4, C)
        if bits:
            values = quantize_rows(values, bits)
        ctx.save_for_backward(idx, weights)
        ctx.table_shape, ctx.sink = table.shape, sink
        return torch.bmm(weights.unsqueeze(1), values).squeeze(1)

    @staticmethod
    def backward(ctx, grad: Tensor):
        idx, weights = ctx.saved_tensors
        grad_values = (weights.unsqueeze(2) * grad.unsqueeze(1)).reshape(-1)  # straight through the quantiser
        if ctx.sink is not None:
            ctx.sink.add(idx, grad_values)
            return None, None, None, None, None
        dense = torch.zeros(ctx.table_shape, dtype=grad.dtype, device=grad.device)
        dense.view(-1).scatter_add_(0, idx, grad_values)
        return dense, None, None, None, None


def bilinear_rows(table: Tensor, rows: Tensor, weights: Tensor, bits: int = 0, sink: RowGrad | None = None) -> Tensor:
    """sum_k weights[:, k] * q(table_rows[rows[:, k]]) -> (n, C), table (..., C) seen as rows of C; q: the codec's
    quantisation at `bits` (0: none), straight-through; `sink`: where the table's gradient goes (None: dense)."""
    return _BilinearRows.apply(table, rows, weights, bits, sink)


def corner_rows(uv01: Tensor, res: int, stride: int) -> tuple[Tensor, Tensor]:
    """A (res + 1)^2-vertex grid over [0, 1] (vertex (i, j) at (i, j) / res, stored row j * stride + i): the four
    vertices around each uv01 (n, 2) in [0, 1] and their bilinear weights, (n, 4) each, in the order 00, 10, 01, 11
    (as GL and grid_sample with align_corners and border padding)."""
    p = uv01 * res
    p0 = torch.clamp(torch.floor(p), 0, res - 1)
    f = p - p0
    i = p0.long()
    x0, y0 = i[:, 0:1], i[:, 1:2]
    base = y0 * stride + x0
    rows = torch.cat([base, base + 1, base + stride, base + stride + 1], dim=1)
    return rows, _weights(f)


def wrapped_rows(uv01: Tensor, res: int) -> tuple[Tensor, Tensor]:
    """A periodic res x res grid whose vertex (i, j) sits at ((i + 0.5), (j + 0.5)) / res, stored row j * res + i:
    the four vertices around each uv01 (n, 2), wrapping around, and their bilinear weights (n, 4)."""
    p = torch.remainder(uv01 - 0.5 / res, 1.0) * res
    p0 = torch.clamp(torch.floor(p), 0, res - 1)
    f = p - p0
    i = p0.long()
    x0, y0 = i[:, 0:1], i[:, 1:2]
    x1, y1 = torch.remainder(x0 + 1, res), torch.remainder(y0 + 1, res)
    rows = torch.cat([y0 * res + x0, y0 * res + x1, y1 * res + x0, y1 * res + x1], dim=1)
    return rows, _weights(f)


def _weights(f: Tensor) -> Tensor:
    fx, fy = f[:, 0:1], f[:, 1:2]
    gx, gy = 1.0 - fx, 1.0 - fy
    return torch.cat([gx * gy, fx * gy, gx * fy, fx * fy], dim=1)


class RowAdam(torch.optim.Optimizer):
    """Adam over tables with a RowGrad: each step moves only the rows the step's batch read (lazy Adam: a row's
    moments and value stay as they are while no sample reads it; bias correction by the optimizer's step count)."""

    def __init__(self, sinks: list[RowGrad], lr: float, betas=(0.9, 0.99), eps: float = 1e-15):
        self.sinks = {id(s.table): s for s in sinks}
        super().__init__([s.table for s in sinks], {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            lr, eps = group["lr"], group["eps"]
            for p in group["params"]:
                got = self.sinks[id(p)].take()
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float64)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                if got is None:
                    continue
                idx, g = got
                n = float(state["step"])
                flat_p, m, v = (t.view(-1) for t in (p, state["exp_avg"], state["exp_avg_sq"]))
                m_r = m.index_select(0, idx).mul_(b1).add_(g, alpha=1.0 - b1)
                v_r = v.index_select(0, idx).mul_(b2).addcmul_(g, g, value=1.0 - b2)
                denom = v_r.div(1.0 - b2**n).sqrt_().add_(eps)
                m.index_copy_(0, idx, m_r)
                v.index_copy_(0, idx, v_r)
                step_size = lr / (1.0 - b1**n)
                flat_p.index_copy_(0, idx, flat_p.index_select(0, idx).addcdiv_(m_r, denom, value=-step_size))

    def zero_grad(self, set_to_none: bool = True) -> None:
        for s in self.sinks.values():
            s.clear()


class Adams:
    """torch's Adam for the dense parameters and RowAdam for the row-trained tables, driven as one optimizer
    (param_groups, zero_grad, step, state_dict, load_state_dict)."""

    def __init__(self, dense: torch.optim.Optimizer, rows: RowAdam):
        self.parts = (dense, rows)

    @property
    def param_groups(self) -> list[dict]:
        return [g for part in self.parts for g in part.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.parts:
            part.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for part in self.parts:
            part.step()

    def state_dict(self) -> dict:
        return {"parts": [part.state_dict() for part in self.parts]}

    def load_state_dict(self, state: dict) -> None:
        for part, s in zip(self.parts, state["parts"], strict=True):
            part.load_state_dict(s)
