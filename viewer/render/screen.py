"""Quality on screen: a supersampled ground truth of a view, and a frame's PSNR / FLIP against it on the mesh's
pixels.

The ground truth is independent of any filter mode: for each pixel, S x S positions at the centres of an S x S
grid over the pixel square are carried through the pixel's footprint (its uv derivatives, as a texture unit's
footprint is) into the texture, the original texture is sampled there bilinearly at its base level (REPEAT), and
the samples are averaged (a box filter over the pixel). The positions come from the render core's own probe view
(mesh.glsl VIEW 4 with u_jitter_px), so they are exactly the mesh's uv on screen. The mesh's pixels are those the
mesh covers at their centres, less a one-pixel border at its silhouette (there the footprint leaves the surface).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from texinr.trainer.core.data import bilinear_sample_repeat
from texinr.trainer.core.metrics import masked_flip, masked_psnr
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.filtering import stratified_offsets
from texinr.viewer.render.render import MeshRenderer, OffscreenTarget, ViewSettings, render_offscreen

TRUTH_SAMPLES = 8
"""S: the ground truth averages S x S samples per pixel."""


def probe_uv(
    ctx, renderer: MeshRenderer, camera: OrbitCamera, size: tuple[int, int], settings: ViewSettings, jitter_px
) -> np.ndarray:
    """(H, W, 4) float32, top row first: the wrapped uv01 at the pixel's sample moved by jitter_px, the mip level,
    and 1 where the mesh covers the pixel centre (0 elsewhere)."""
    target = OffscreenTarget(ctx, dtype="f4", clear=(-1.0, -1.0, -1.0, 0.0))
    try:
        target.draw(renderer, camera, size, dataclasses.replace(settings, view="uv"), jitter_px)
        w, h = size
        data = np.frombuffer(target.fbo.read(components=4, dtype="f4"), np.float32).reshape(h, w, 4)
        return data[::-1].copy()
    finally:
        target.release()


def mesh_pixels(coverage: np.ndarray) -> np.ndarray:
    """Covered pixels whose four neighbours are covered too (bool (H, W))."""
    c = coverage.astype(bool)
    inner = c.copy()
    inner[1:] &= c[:-1]
    inner[:-1] &= c[1:]
    inner[:, 1:] &= c[:, :-1]
    inner[:, :-1] &= c[:, 1:]
    inner[0, :] = inner[-1, :] = False
    inner[:, 0] = inner[:, -1] = False
    return inner


def ground_truth(
    ctx,
    renderer: MeshRenderer,
    camera: OrbitCamera,
    size: tuple[int, int],
    settings: ViewSettings,
    image01: np.ndarray,
    samples: int = TRUTH_SAMPLES,
) -> tuple[np.ndarray, np.ndarray]:
    """(truth, mask): the supersampled view of `image01` (H, W, C) float32, rows from the top (the background where
    the mesh is not), and its mesh pixels. Shows the colour unlit, as the view does with lit off."""
    w, h = size
    base = torch.from_numpy(np.ascontiguousarray(image01, dtype=np.float32))
    total = np.zeros((h, w, image01.shape[2]), np.float64)
    coverage = None
    for jitter in stratified_offsets(samples):
        uv = probe_uv(ctx, renderer, camera, size, settings, jitter)
        if coverage is None:
            coverage = uv[..., 3] > 0.5
        flat = torch.from_numpy(uv[..., :2].reshape(-1, 2))
        total += bilinear_sample_repeat(base, flat).numpy().reshape(h, w, -1)
    truth = (total / samples**2).astype(np.float32)
    mask = mesh_pixels(coverage)
    truth[~coverage] = 0.0
    return truth, mask


def view_frames(
    ctx, renderer: MeshRenderer, camera: OrbitCamera, size: tuple[int, int], settings: ViewSettings, names
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The frames of one camera in each named view ("reference", "astc", "neural": uint8 (H, W, 3), `settings`
    otherwise; the neural one as render_offscreen draws it), and the mesh's pixels (mesh_pixels) of that camera."""
    frames = {
        name: render_offscreen(ctx, renderer, camera, size, dataclasses.replace(settings, view=name)) for name in names
    }
    coverage = probe_uv(ctx, renderer, camera, size, settings, (0.0, 0.0))[..., 3] > 0.5
    return frames, mesh_pixels(coverage)


def screen_scores(truth: np.ndarray, frame: np.ndarray, mask: np.ndarray, with_flip: bool = True) -> dict:
    """PSNR (dB) and mean LDR-FLIP of a frame (uint8 or [0, 1] floats (H, W, 3)) against the ground truth on the mesh
    pixels; {"error": ...} when the mesh covers no pixel of the view."""
    if not mask.any():
        return {"error": "the mesh covers no pixel of this view"}
    test = frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame.astype(np.float32)
    ref = truth[..., :3]
    test = test[..., :3].copy()
    test[~mask] = ref[~mask]  # what is not judged is made equal, so FLIP's filters see no edge there
    out = {"psnr": masked_psnr(ref, test, mask), "pixels": int(mask.sum())}
    if with_flip:
        out["flip"] = masked_flip(ref, test, mask)
    return out
