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

import numpy as np

UNAVAILABLE = {
    "vmaf": "unavailable: needs libvmaf, which this machine lacks",
}


def to_8bit(rgb01: np.ndarray) -> np.ndarray:
    """Round [0, 1] values to the nearest of 256 levels, as a displayed 8-bit texture would be; float32."""
    return (np.round(np.clip(rgb01, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def mse(ref: np.ndarray, test: np.ndarray) -> float:
    return float(np.mean((ref.astype(np.float64) - test.astype(np.float64)) ** 2))


def mae(ref: np.ndarray, test: np.ndarray) -> float:
    return float(np.mean(np.abs(ref.astype(np.float64) - test.astype(np.float64))))


def psnr(ref: np.ndarray, test: np.ndarray) -> float:
    e = mse(ref, test)
    return math.inf if e == 0 else 10.0 * math.log10(1.0 / e)


def psnr_from_mse(e: float) -> float:
    return math.inf if e <= 0 else 10.0 * math.log10(1.0 / e)


def ssim(ref: np.ndarray, test: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    h, w = ref.shape[:2]
    win = min(7, h, w)
    win -= 1 - win % 2  # odd
    return float(structural_similarity(ref, test, channel_axis=2, data_range=1.0, win_size=win))


def flip(ref: np.ndarray, test: np.ndarray, gil_free: bool = False) -> float:
    """Mean LDR-FLIP error (0 = identical; lower is better), by NVIDIA's flip-evaluator; with gil_free, by
    trainer.flip_loss (torch, the same pipeline and constants, tested to agree within 2e-5), whose operations let go
    of Python's GIL: flip-evaluator holds it for the whole evaluation, which stalls a window's main thread."""
    if gil_free:
        import torch

        from texinr.trainer.flip_loss import flip_map

        def t(img: np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]

        with torch.no_grad():
            return float(flip_map(t(ref), t(test), eps=0.0).mean())
    import flip_evaluator

    _, mean, _ = flip_evaluator.evaluate(
        np.ascontiguousarray(ref, dtype=np.float32),
        np.ascontiguousarray(test, dtype=np.float32),
        "LDR",
        inputsRGB=True,
        applyMagma=False,
        computeMeanError=True,
    )
    return float(mean)


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
    import lpips as lp  # pragma: no cover - only where the backbone is cached
    import torch

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
    from scipy.ndimage import laplace

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
