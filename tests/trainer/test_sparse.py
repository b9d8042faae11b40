"""Latent tables trained row by row (trainer/core/sparse.py): the same lookups and gradients as the dense path, Adam
that equals torch's where every row is read, and rows nobody read left alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from texinr.trainer.core import encodings
from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.trainer.core.sparse import RowAdam, RowGrad, bilinear_rows, corner_rows, quantize_rows, wrapped_rows
from texinr.trainer.core.train import Trainer


def reference_corner(table: torch.Tensor, uv01: torch.Tensor) -> torch.Tensor:
    """grid_sample over a (res + 1)^2 vertex table (vertex (i, j) at (i, j) / res), the dense path's lookup."""
    grid = (uv01 * 2.0 - 1.0)[None, :, None, :]
    f = F.grid_sample(table.permute(2, 0, 1)[None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return f[0, :, :, 0].T


def test_corner_lookup_and_its_gradient_equal_grid_sample():
    g = torch.Generator().manual_seed(0)
    table = torch.rand(9, 9, 3, generator=g, requires_grad=True)
    uv = torch.rand(500, 2, generator=g)
    rows, w = corner_rows(uv, 8, 9)
    got = bilinear_rows(table, rows, w)
    want = reference_corner(table, uv)
    assert torch.allclose(got, want, atol=1e-6)
    up = torch.rand(500, 3, generator=g)
    (ga,) = torch.autograd.grad((got * up).sum(), table)
    (gb,) = torch.autograd.grad((want * up).sum(), table)
    assert torch.allclose(ga, gb, atol=1e-5)


def test_wrapped_lookup_equals_the_padded_grid_sample():
    g = torch.Generator().manual_seed(1)
    table = torch.rand(8, 8, 2, generator=g)
    uv = torch.rand(400, 2, generator=g)
    got = bilinear_rows(table, *wrapped_rows(uv, 8))
    assert torch.allclose(got, encodings.sample_wrapped(table, uv), atol=1e-6)
    # across the edge: halfway between the last vertex column and the first (u = 0 and u = 1 are one place)
    edge = torch.tensor([[0.0, 0.5 / 8]])
    v = bilinear_rows(table, *wrapped_rows(edge, 8))[0]
    assert torch.allclose(v, 0.5 * (table[0, 0] + table[0, 7]), atol=1e-6)


def test_quantised_rows_are_the_whole_table_quantised():
    g = torch.Generator().manual_seed(2)
    for bits in (1, 2, 4, 8):
        table = (torch.rand(17, 17, 2, generator=g) * 3 - 1.5).requires_grad_(True)
        uv = torch.rand(300, 2, generator=g)
        rows, w = corner_rows(uv, 16, 17)
        got = bilinear_rows(table, rows, w, bits)
        whole = quantize_rows(table.detach().clone(), bits)
        assert torch.allclose(got, bilinear_rows(whole, rows, w), atol=1e-6)
        # straight-through: the gradient is the unquantised lookup's
        (ga,) = torch.autograd.grad(got.sum(), table)
        (gb,) = torch.autograd.grad(bilinear_rows(table, rows, w).sum(), table)
        assert torch.equal(ga, gb)


def test_the_gradient_goes_to_the_sink_not_the_table():
    table = torch.nn.Parameter(torch.zeros(5, 5, 1))
    sink = RowGrad(table)
    uv = torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.0, 0.0]])
    rows, w = corner_rows(uv, 4, 5)
    bilinear_rows(table, rows, w, 0, sink).sum().backward()
    assert table.grad is None
    idx, grad = sink.take()
    # rows read twice are summed: vertex (2, 2) gets weight 1 from both centre samples
    dense = torch.zeros(25)
    dense[idx] = grad
    assert dense[2 * 5 + 2] == pytest.approx(2.0) and dense[0] == pytest.approx(1.0)
    assert dense.sum() == pytest.approx(3.0)
    assert sink.take() is None and not sink.buffer.any()  # taken: the buffer is clean for the next step


def test_row_adam_equals_adam_where_every_row_is_read():
    g = torch.Generator().manual_seed(3)
    a = torch.nn.Parameter(torch.rand(6, 6, 2, generator=g))
    b = torch.nn.Parameter(a.detach().clone())
    sink = RowGrad(b)
    dense = torch.optim.Adam([a], lr=0.01, betas=(0.9, 0.99), eps=1e-15)
    rows_opt = RowAdam([sink], lr=0.01, betas=(0.9, 0.99), eps=1e-15)
    every = torch.arange(36).reshape(-1, 1).repeat(1, 4)  # each row read (four times) at every step
    w = torch.full((36, 4), 0.25)
    for _ in range(20):
        target = torch.rand(36, 2, generator=g)
        dense.zero_grad()
        (((bilinear_rows(a, every, w) - target) ** 2).sum()).backward()
        dense.step()
        rows_opt.zero_grad()
        (((bilinear_rows(b, every, w, 0, sink) - target) ** 2).sum()).backward()
        rows_opt.step()
    assert torch.allclose(a, b, atol=1e-5)


def test_rows_nobody_read_keep_their_values_and_moments():
    table = torch.nn.Parameter(torch.rand(5, 5, 1))
    before = table.detach().clone()
    sink = RowGrad(table)
    opt = RowAdam([sink], lr=0.1)
    uv = torch.tensor([[0.1, 0.1]])  # reads vertices (0, 0), (1, 0), (0, 1), (1, 1) only
    for _ in range(3):
        opt.zero_grad()
        bilinear_rows(table, *corner_rows(uv, 4, 5), 0, sink).sum().backward()
        opt.step()
    moved = (table.detach() != before).reshape(-1).nonzero()[:, 0].tolist()
    assert moved == [0, 1, 5, 6]
    assert opt.state[table]["exp_avg"].reshape(-1).nonzero()[:, 0].tolist() == [0, 1, 5, 6]


def smooth_image(n: int) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n] / n
    return np.stack([x, y, 0.5 + 0.4 * np.sin(6 * x) * np.cos(5 * y)], -1).astype(np.float32)


def large_table_trainer(monkeypatch, threads: int, steps: int = 60) -> tuple[Trainer, float]:
    monkeypatch.setattr(encodings, "ROW_RATIO", 0)  # every table row by row, whatever its size
    model = model_preset("codec", codec_grids="32x1x2,16x2x2,8x4x4")
    cfg = Config(model, TrainConfig(mips=3, steps=steps, seconds=None, batch=1024, threads=threads))
    tr = Trainer(smooth_image(32), cfg)
    tr.initial = [t.detach().clone() for t in tr.model.encoding.tables]
    first = tr.step()
    tr.run()
    return tr, first


def test_a_codec_trains_row_by_row_and_repeats_bit_for_bit(monkeypatch):
    tr, first = large_table_trainer(monkeypatch, threads=1)
    sinks = tr.model.encoding.sinks
    assert sinks is not None and all(s is not None for s in sinks)
    assert tr.loss < 0.2 * first, (first, tr.loss)  # it learned
    for before, after in zip(tr.initial, tr.model.encoding.tables, strict=True):
        moved = (before != after.detach()).float().mean()
        assert 0.2 < moved, moved  # the latents, through RowAdam
    again, _ = large_table_trainer(monkeypatch, threads=2)
    for k, v in tr.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k


def test_small_tables_stay_dense_and_rprop_gets_whole_gradients():
    img = np.random.default_rng(5).random((16, 16, 3)).astype(np.float32)
    model = model_preset("codec", codec_grids="16x1x2,8x4x4")
    tr = Trainer(img, Config(model, TrainConfig(mips=1, steps=2, seconds=None, batch=1024)))
    assert tr.model.encoding.sinks == [None, None]  # a batch reads more than these tables hold
    assert isinstance(tr.optimizer, torch.optim.Adam)
    rp = Trainer(img, Config(model, TrainConfig(mips=1, steps=2, seconds=None, batch=8, optimizer="rprop")))
    assert rp.model.encoding.sinks is None
    rp.run()
    assert rp.step_count == 2
