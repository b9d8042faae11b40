"""The neural view's filter modes against a torch reference of the same filtering, accumulation converging on a still
view, and the screen metrics on known cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from texinr.trainer.core.config import ModelConfig
from texinr.trainer.core.models import build_model
from texinr.trainer.core.packing import pack
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.filtering import (
    ACCUMULATE_FRAMES,
    NEURAL_FILTERS,
    filter_mode,
    r2_jitter,
    stratified_offsets,
)
from texinr.viewer.render.mesh import Mesh
from texinr.viewer.render.render import MeshRenderer, OffscreenTarget, ViewSettings, ViewTarget, render_offscreen
from texinr.viewer.render.screen import ground_truth, mesh_pixels, probe_uv, screen_scores

SIZE = (64, 64)
TEXTURE = 256  # texels per side: the plane below shows 4 x 1 texels per pixel (u x v)
LEVELS = 6


def plane_mesh(v_span: float = 0.25) -> Mesh:
    """A 2 x 2 square facing +z, u across it once, v only v_span: an anisotropic footprint, the same at every pixel."""
    p = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], np.float32)
    uv = np.array([[0, 0], [1, 0], [1, v_span], [0, v_span]], np.float32)
    n = np.tile(np.array([[0, 0, 1]], np.float32), (4, 1))
    return Mesh(p, n, uv, np.array([[0, 1, 2], [0, 2, 3]], np.uint32), None)


def head_on() -> OrbitCamera:
    """The square filling the 64 x 64 frame exactly (fov 90: half-height 1 at distance 1)."""
    return OrbitCamera(distance=1.0, yaw_deg=0.0, pitch_deg=0.0, fov_y_deg=90.0)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="codec", codec_grids="64x2x4,16x4x4", width=16, depth=2, lod=True)
    m = build_model(cfg, seed=3)
    with torch.no_grad():  # strong, smooth-ish variation so that every filter mode gives a different picture
        for t in m.encoding.tables:
            t.copy_(torch.rand_like(t) * 2 - 1)
        m.mlp.out.weight.mul_(4.0)
        m.mlp.out.bias.fill_(0.5)  # mid-grey plus the latents' variation: nothing clamped flat
    m.eval()
    return m


@pytest.fixture(scope="module")
def scene(gl, model):
    renderer = MeshRenderer(gl, plane_mesh(), np.zeros((TEXTURE, TEXTURE, 3), np.float32), levels=LEVELS)
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    renderer.set_network(pack(model.cfg.to_dict(), weights), 1, LEVELS)
    return renderer


def render_float(gl, renderer, settings, jitter=(0.0, 0.0), accumulated=False, frame=0) -> np.ndarray:
    target = OffscreenTarget(gl, dtype="f4")
    try:
        target.draw(renderer, head_on(), SIZE, settings, jitter, accumulated, frame)
        w, h = SIZE
        return np.frombuffer(target.fbo.read(components=4, dtype="f4"), np.float32).reshape(h, w, 4)[::-1, :, :3]
    finally:
        target.release()


def pixel_uv() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pixel centre's uv (H, W, 2) and the footprint's axes duv/dx, duv/dy (as the plane maps them)."""
    w, h = SIZE
    x = (np.arange(w) + 0.5) / w
    y = 1.0 - (np.arange(h) + 0.5) / h  # rows from the top
    uu, vv = np.meshgrid(x, y * 0.25)
    return np.stack([uu, vv], -1), np.array([1.0 / w, 0.0]), np.array([0.0, 0.25 / h])


def network(model, uv: np.ndarray, lam) -> np.ndarray:
    """The network at uv (n, 2) (wrapped) and mip level lam (n,) -> (n, 3)."""
    t = np.clip(np.asarray(lam, np.float64), 0, LEVELS - 1) / (LEVELS - 1)
    with torch.no_grad():
        out = model(
            torch.from_numpy(np.remainder(uv, 1.0).astype(np.float32)),
            torch.from_numpy(np.broadcast_to(t, (uv.shape[0],)).astype(np.float32)[:, None]),
        )
    return out.numpy().astype(np.float64)


def trilinear(model, uv: np.ndarray, lam: float) -> np.ndarray:
    """The network's own mips filtered as a texture unit does: its values at the four texel centres around uv in
    each of the two levels around lam, weighted bilinearly, then linearly between the levels."""
    lam = min(max(lam, 0.0), LEVELS - 1)
    k0, fl = int(math.floor(lam)), lam - math.floor(lam)
    out = np.zeros((uv.shape[0], 3))
    for k, wl in ((k0, 1 - fl), (min(k0 + 1, LEVELS - 1), fl)):
        if wl <= 0:
            continue
        size = max(TEXTURE >> k, 1)
        x = uv * size - 0.5
        x0 = np.floor(x)
        f = x - x0
        for ox in (0, 1):
            for oy in (0, 1):
                w = wl * np.where(ox, f[:, 0], 1 - f[:, 0]) * np.where(oy, f[:, 1], 1 - f[:, 1])
                centre = (x0 + np.array([ox, oy]) + 0.5) / size
                out += w[:, None] * network(model, centre, np.full(uv.shape[0], k))
    return out


def expected(model, mode: str) -> np.ndarray:
    uv, dx, dy = pixel_uv()
    flat = uv.reshape(-1, 2)
    px, py = np.linalg.norm(dx * TEXTURE), np.linalg.norm(dy * TEXTURE)
    lam_iso = math.log2(max(px, py))
    m = filter_mode(mode)
    if m.kind in ("one", "accumulate"):
        out = network(model, flat, np.full(len(flat), lam_iso))
    elif m.kind == "trilinear":
        out = trilinear(model, flat, lam_iso)
    else:
        pmax, pmin = max(px, py), min(px, py)
        n = max(1, min(math.ceil(pmax / pmin - 1e-3), m.taps))
        lam = math.log2(pmax / n)
        major = dx if px >= py else dy
        out = sum(network(model, flat + major * ((s + 0.5) / n - 0.5), np.full(len(flat), lam)) for s in range(n)) / n
    return np.clip(out, 0, 1).reshape(SIZE[1], SIZE[0], 3)


@pytest.mark.parametrize("mode", ["one", "trilinear", "aniso:2", "aniso:4", "aniso:16"])
def test_filter_modes_match_a_torch_reference(gl, scene, model, mode):
    got = render_float(gl, scene, ViewSettings(view="neural", filter=mode))
    want = expected(model, mode)
    assert np.abs(got - want).max() < 2e-3, mode


def test_the_modes_differ_where_the_footprint_is_anisotropic(gl, scene, model):
    frames = {
        m: render_float(gl, scene, ViewSettings(view="neural", filter=m)) for m in ("one", "trilinear", "aniso:4")
    }
    assert np.abs(frames["one"] - frames["aniso:4"]).mean() > 5e-3  # 4 taps at level 0, not 1 at level 2
    assert np.abs(frames["one"] - frames["trilinear"]).mean() > 1e-3


def test_stochastic_frames_average_to_the_trilinear_value_at_the_minor_axis_level(gl, scene, model):
    """Accumulated frames pick one texel centre with the trilinear weights as probabilities: their mean over many
    frames (here without jitter) is the trilinear value at the footprint's minor-axis level (level 0 here)."""
    s = ViewSettings(view="neural", filter="accumulate")
    total = np.zeros((SIZE[1], SIZE[0], 3))
    frames = 256
    for k in range(1, frames + 1):
        total += render_float(gl, scene, s, accumulated=True, frame=k)
    uv, _, _ = pixel_uv()
    want = np.clip(trilinear(model, uv.reshape(-1, 2), 0.0), 0, 1).reshape(total.shape)
    single = render_float(gl, scene, s, accumulated=True, frame=1)
    err_one, err_mean = np.abs(single - want).mean(), np.abs(total / frames - want).mean()
    assert err_mean < 0.25 * err_one and err_mean < 4e-3, (err_one, err_mean)


def test_accumulation_converges_on_a_still_view_and_starts_again_when_it_moves(gl, scene):
    target = ViewTarget(gl)
    s = ViewSettings(view="neural", filter="accumulate")
    try:
        shown = []
        target.draw(scene, head_on(), SIZE, s)
        shown.append(target.read().astype(float))
        assert target.pending
        frames = 1
        while target.pending:
            target.draw(scene, head_on(), SIZE, s)
            shown.append(target.read().astype(float))
            frames += 1
        assert frames == ACCUMULATE_FRAMES + 1
        # the running mean settles: late frames change the picture far less than early ones
        early = np.abs(shown[2] - shown[1]).mean()
        late = np.abs(shown[-1] - shown[-2]).mean()
        assert late < 0.2 * early
        target.draw(scene, dataclasses.replace(head_on(), yaw_deg=1.0), SIZE, s)  # the camera moved
        assert target.pending and target.acc.count == 1
    finally:
        target.release()


def test_textures_keep_standard_filtering_whatever_the_neural_mode(gl, scene):
    a = render_offscreen(gl, scene, head_on(), SIZE, ViewSettings(view="reference", filter="one"))
    b = render_offscreen(gl, scene, head_on(), SIZE, ViewSettings(view="reference", filter="accumulate"))
    assert np.array_equal(a, b)


def test_r2_offsets_cover_the_pixel():
    pts = np.array([r2_jitter(k) for k in range(1, 65)])
    assert r2_jitter(0) == (0.0, 0.0)
    assert pts.min() >= -0.5 and pts.max() < 0.5
    hist, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=4, range=[[-0.5, 0.5], [-0.5, 0.5]])
    assert hist.min() >= 2  # every quarter-pixel cell gets samples
    assert len(stratified_offsets(3)) == 9


def test_every_filter_name_parses_and_others_do_not():
    for name in NEURAL_FILTERS:
        filter_mode(name)
    for bad in ("aniso:1000", "bilinear", "aniso:", ""):
        with pytest.raises(ValueError):
            filter_mode(bad)


# -- the screen metrics --------------------------------------------------------------------------------------------


def test_ground_truth_of_a_flat_texture_is_flat_and_scores_are_exact(gl):
    colour = np.array([0.2, 0.5, 0.8], np.float32)
    img = np.broadcast_to(colour, (32, 32, 3)).copy()
    renderer = MeshRenderer(gl, plane_mesh(1.0), img, levels=LEVELS)
    truth, mask = ground_truth(gl, renderer, head_on(), SIZE, ViewSettings(view="reference"), img, samples=2)
    assert mask.sum() == (SIZE[0] - 2) * (SIZE[1] - 2)  # all but the one-pixel border
    assert np.abs(truth[mask] - colour).max() < 1e-5
    frame = np.zeros((SIZE[1], SIZE[0], 3), np.float32)
    frame[:] = colour + 0.01  # off by 0.01 everywhere: 40 dB
    got = screen_scores(truth, frame, mask)
    assert abs(got["psnr"] - 40.0) < 1e-3 and got["flip"] > 0
    assert screen_scores(truth, np.broadcast_to(colour, frame.shape).copy(), mask)["flip"] < 1e-6


def test_ground_truth_averages_the_texture_over_the_pixel(gl):
    """A texture of 1-texel stripes seen at 4 texels per pixel: every pixel's truth is the stripes' mean (no
    aliasing), where a single bilinear sample would show one stripe or the other."""
    img = np.zeros((TEXTURE, TEXTURE, 3), np.float32)
    img[:, ::2] = 1.0
    renderer = MeshRenderer(gl, plane_mesh(), img, levels=LEVELS)
    truth, mask = ground_truth(gl, renderer, head_on(), SIZE, ViewSettings(view="reference"), img, samples=8)
    assert np.abs(truth[mask] - 0.5).max() < 0.02
    centre = probe_uv(gl, renderer, head_on(), SIZE, ViewSettings(), (0.0, 0.0))
    assert centre[..., 3].min() == 1.0  # the square fills the frame


def test_screen_scores_say_when_the_mesh_covers_nothing(gl):
    img = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    renderer = MeshRenderer(gl, plane_mesh(1.0), img, levels=LEVELS)
    away = dataclasses.replace(head_on(), yaw_deg=180.0, target=(0.0, 0.0, 5.0))  # looking away from the square
    truth, mask = ground_truth(gl, renderer, away, SIZE, ViewSettings(view="reference"), img, samples=1)
    assert not mask.any()
    frame = render_offscreen(gl, renderer, away, SIZE, ViewSettings(view="reference"))
    assert screen_scores(truth, frame, mask) == {"error": "the mesh covers no pixel of this view"}


def test_mesh_pixels_leave_out_the_silhouette():
    cover = np.zeros((6, 6), bool)
    cover[1:5, 1:5] = True
    inner = mesh_pixels(cover)
    assert inner.sum() == 4 and inner[2:4, 2:4].all()
