"""Quality metrics as docs/MEASURE.md defines them, on RGB in [0, 1], the test image rounded to 8 bits first.

MAE, MSE, PSNR = 10 log10(1 / MSE), SSIM (scikit-image, channel_axis, data_range=1), FLIP (NVIDIA's
flip-evaluator, LDR; lower is better). LPIPS only when its pretrained backbone is already on this machine,
VMAF never (no libvmaf): both are reported as unavailable rather than replaced by something else.
"""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import flip_evaluator
import numpy as np
import torch
from skimage.metrics import structural_similarity

from texinr.trainer.core.flip_loss import flip_map

UNAVAILABLE = {
    "vmaf": "unavailable: needs libvmaf, which this machine lacks",
}


def to_8bit(rgb01: np.ndarray) -> np.ndarray:
    """Round [0, 1] values to the nearest of 256 levels, as a displayed 8-bit texture would be; float32 (one new
    array, the arithmetic in place: at 4096^2 each temporary would be 200 MB)."""
    out = np.clip(rgb01, 0.0, 1.0).astype(np.float32, copy=False)  # clip makes the one new array
    out *= 255.0
    np.round(out, out=out)
    out /= 255.0
    return out


ROWS_PER_CHUNK = 256
"""MSE and MAE are accumulated in float64 over chunks of rows (a float64 copy of a whole 4096^2 image is 400 MB)."""


def _mean_of(ref: np.ndarray, test: np.ndarray, f) -> float:
    total = 0.0
    for y in range(0, ref.shape[0], ROWS_PER_CHUNK):
        d = ref[y : y + ROWS_PER_CHUNK].astype(np.float64) - test[y : y + ROWS_PER_CHUNK].astype(np.float64)
        total += float(f(d).sum())
    return total / ref.size


def mse(ref: np.ndarray, test: np.ndarray) -> float:
    return _mean_of(ref, test, np.square)


def mae(ref: np.ndarray, test: np.ndarray) -> float:
    return _mean_of(ref, test, np.abs)


def psnr(ref: np.ndarray, test: np.ndarray) -> float:
    e = mse(ref, test)
    return math.inf if e == 0 else 10.0 * math.log10(1.0 / e)


def psnr_from_mse(e: float) -> float:
    return math.inf if e <= 0 else 10.0 * math.log10(1.0 / e)


TILE = 1024
"""SSIM and FLIP are computed tile by tile on images of more than TILED_ABOVE pixels: TILE x TILE tiles, each read
with TILE_MARGIN pixels of its neighbours so that the filters see what they would see on the whole image. The
per-pixel maps are then the same as the whole image's (FLIP's filters reach about 20 pixels at the default 67
pixels per degree, SSIM's window 3; tested equal), at a fraction of the memory: a whole 4096^2 FLIP takes about
2 GiB beside the images."""
TILE_MARGIN = 32
TILED_ABOVE = 2048 * 2048


def _tiled_sum(ref: np.ndarray, test: np.ndarray, error_map, crop: int = 0) -> tuple[float, int]:
    """Sum and count of error_map(ref_tile, test_tile) (an (h, w) or (h, w, c) map of the tile) over the image
    without `crop` pixels at its borders, computed tile by tile (or at once on small images)."""
    h, w = ref.shape[:2]
    tile = max(h, w) if h * w <= TILED_ABOVE else TILE
    margin = 0 if tile >= max(h, w) else TILE_MARGIN
    total, count = 0.0, 0
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            y0, y1 = max(0, y - margin), min(h, y + tile + margin)
            x0, x1 = max(0, x - margin), min(w, x + tile + margin)
            m = np.asarray(error_map(ref[y0:y1, x0:x1], test[y0:y1, x0:x1]))
            m = m.reshape(y1 - y0, x1 - x0, -1)
            iy0, iy1 = max(y, crop) - y0, min(y + tile, h - crop) - y0
            ix0, ix1 = max(x, crop) - x0, min(x + tile, w - crop) - x0
            if iy1 > iy0 and ix1 > ix0:
                part = m[iy0:iy1, ix0:ix1]
                total += float(part.sum(dtype=np.float64))
                count += part.size
    return total, count


def ssim(ref: np.ndarray, test: np.ndarray) -> float:
    """Mean SSIM (scikit-image, 7x7 uniform window, data_range 1, averaged over channels; like scikit-image,
    the pixels within half a window of the border are left out of the mean)."""
    h, w = ref.shape[:2]
    win = min(7, h, w)
    win -= 1 - win % 2  # odd

    def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _, full = structural_similarity(a, b, channel_axis=2, data_range=1.0, win_size=win, full=True)
        return full.astype(np.float32)

    total, count = _tiled_sum(ref, test, ssim_map, crop=(win - 1) // 2)
    return total / count


def flip(ref: np.ndarray, test: np.ndarray, gil_free: bool = False) -> float:
    """Mean LDR-FLIP error (0 = identical; lower is better), by NVIDIA's flip-evaluator; with gil_free, by
    trainer.core.flip_loss (torch, the same pipeline and constants, tested to agree within 2e-5), whose operations let go
    of Python's GIL: flip-evaluator holds it for the whole evaluation, which stalls a window's main thread."""
    if gil_free:

        def t(img: np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]

        def error_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return flip_map(t(a), t(b), eps=0.0)[0].numpy()

    else:

        def error_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            m, _, _ = flip_evaluator.evaluate(
                np.ascontiguousarray(a, dtype=np.float32),
                np.ascontiguousarray(b, dtype=np.float32),
                "LDR",
                inputsRGB=True,
                applyMagma=False,
                computeMeanError=False,
            )
            return m

    total, count = _tiled_sum(ref, test, error_map)
    return total / count


def lpips_status() -> str:
    """'available', or why not. Never downloads: the backbone must already be in torch's hub cache."""
    if importlib.util.find_spec("lpips") is None:
        return "unavailable: the lpips package is not installed"
    if importlib.util.find_spec("torchvision") is None:
        return "unavailable: torchvision (LPIPS's backbone) is not installed"
    hub = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    if not any(hub.glob("alexnet-*.pth")):
        return "unavailable: the pretrained AlexNet backbone is not on this machine (never downloaded at run time)"
    return "available"


def lpips(ref: np.ndarray, test: np.ndarray) -> float | None:
    if lpips_status() != "available":
        return None
    import lpips as lp  # optional (not a dependency), and only where its backbone is cached

    net = lp.LPIPS(net="alex", verbose=False)
    a = torch.from_numpy(ref).permute(2, 0, 1)[None] * 2 - 1
    b = torch.from_numpy(test).permute(2, 0, 1)[None] * 2 - 1
    with torch.no_grad():
        return float(net(a.float(), b.float()).mean())


def all_metrics(ref: np.ndarray, test: np.ndarray, with_flip: bool = True, gil_free: bool = False) -> dict:
    """Every metric for `test` (rounded to 8 bits here) against `ref`, as a JSON-able dict (gil_free: see flip)."""
    test8 = to_8bit(test)
    e = mse(ref, test8)
    out = {"mae": mae(ref, test8), "mse": e, "psnr": psnr_from_mse(e), "ssim": ssim(ref, test8)}
    out["flip"] = flip(ref, test8, gil_free) if with_flip else None
    out["lpips"] = lpips(ref, test8)
    return out


def laplacian_variance(rgb01: np.ndarray) -> float:
    """LAPV: variance of the Laplacian of the luma, the paper's measure of how much detail a texture has."""
    from scipy.ndimage import laplace  # scipy's import costs 0.3 s; only the bench's LAPV ranking needs it

    luma = rgb01[..., 0] * 0.299 + rgb01[..., 1] * 0.587 + rgb01[..., 2] * 0.114
    return float(np.var(laplace(luma.astype(np.float64))))


def select_by_lapv(lapv: dict[str, float], n: int) -> list[str]:
    """Pick n names at regular intervals of the LAPV ranking (lowest to highest detail), as the paper did."""
    ranked = sorted(lapv, key=lambda k: (lapv[k], k))
    if n >= len(ranked):
        return ranked
    if n == 1:
        return [ranked[len(ranked) // 2]]
    idx = np.round(np.linspace(0, len(ranked) - 1, n)).astype(int)
    return [ranked[i] for i in idx]


def masked_psnr(ref: np.ndarray, test: np.ndarray, mask: np.ndarray) -> float | None:
    """PSNR over the pixels where `mask` (h, w) is set (a mesh's pixels on screen); None when it covers none."""
    if not mask.any():
        return None
    d = ref[mask].astype(np.float64) - test[mask].astype(np.float64)
    return psnr_from_mse(float(np.mean(d * d)))


def masked_flip(ref: np.ndarray, test: np.ndarray, mask: np.ndarray, gil_free: bool = False) -> float | None:
    """Mean LDR-FLIP over the pixels where `mask` is set, the map computed on the whole frames (the filters see the
    neighbourhood a viewer sees); None when the mask covers no pixel."""
    if not mask.any():
        return None
    a = np.ascontiguousarray(ref, dtype=np.float32)
    b = np.ascontiguousarray(test, dtype=np.float32)
    if gil_free:
        with torch.no_grad():
            m = flip_map(
                torch.from_numpy(a).permute(2, 0, 1)[None], torch.from_numpy(b).permute(2, 0, 1)[None], eps=0.0
            )
        m = m[0].numpy().reshape(mask.shape)
    else:
        m, _, _ = flip_evaluator.evaluate(a, b, "LDR", inputsRGB=True, applyMagma=False, computeMeanError=False)
        m = np.asarray(m).reshape(mask.shape)
    return float(m[mask].mean(dtype=np.float64))
