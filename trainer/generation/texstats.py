"""How a set of generated textures compares with the data, without pretrained networks: nearest
neighbours by PSNR (copying), diversity, and simple statistics — colour histograms, the variance of the Laplacian
(sharpness) and the radially averaged power spectrum. Images are (N, s, s, 3) float arrays in [0, 1]."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
HIST_BINS = 32


def grey(imgs: np.ndarray) -> np.ndarray:
    return np.asarray(imgs, np.float32) @ LUMA


def nearest(queries: np.ndarray, refs: np.ndarray, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each query its nearest ref by PSNR: (PSNR dB (N,), index (N,)). With `groups` (one id per image), the
    queries are the refs and each one's own group (itself and its augmented copies) is skipped."""
    q = np.asarray(queries, np.float64).reshape(len(queries), -1)
    r = np.asarray(refs, np.float64).reshape(len(refs), -1)
    best_mse, best_i = np.full(len(q), np.inf), np.zeros(len(q), np.int64)
    rr = (r**2).sum(1)
    for i in range(0, len(q), 256):
        qq = q[i : i + 256]
        mse = ((qq**2).sum(1)[:, None] + rr[None] - 2 * qq @ r.T) / q.shape[1]
        if groups is not None:
            mse[groups[i : i + 256, None] == groups[None]] = np.inf
        j = mse.argmin(1)
        best_mse[i : i + 256], best_i[i : i + 256] = mse[np.arange(len(qq)), j], j
    return 10 * np.log10(1.0 / np.maximum(best_mse, 1e-10)), best_i


def diversity(imgs: np.ndarray, limit: int = 512, seed: int = 0) -> float:
    """Mean RMS difference between two different images of the set (0: all the same), over at most `limit` of them."""
    x = np.asarray(imgs, np.float64)
    if len(x) > limit:
        x = x[np.random.default_rng(seed).choice(len(x), limit, replace=False)]
    x = x.reshape(len(x), -1)
    sq = (x**2).sum(1)
    mse = np.maximum((sq[:, None] + sq[None] - 2 * x @ x.T) / x.shape[1], 0)
    off = ~np.eye(len(x), dtype=bool)
    return float(np.sqrt(mse[off]).mean()) if off.any() else 0.0


def colour_histogram(imgs: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """(3, bins) the set's distribution of each channel's values (each row sums to 1)."""
    x = np.asarray(imgs, np.float32).reshape(-1, 3)
    return np.stack([np.histogram(x[:, c], bins=bins, range=(0.0, 1.0))[0] / len(x) for c in range(3)])


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance between two sets' colour distributions, mean over channels, in units of [0, 1]
    (0.01: values shifted by 1 % of the range on average)."""
    ha, hb = colour_histogram(a), colour_histogram(b)
    return float(np.abs(np.cumsum(ha - hb, axis=1)).sum(1).mean() / HIST_BINS)


def laplacian_variance(imgs: np.ndarray) -> np.ndarray:
    """(N,) variance of each image's 4-neighbour Laplacian (of its luminance): how much fine detail it has."""
    g = grey(imgs)
    lap = g[:, 1:-1, :-2] + g[:, 1:-1, 2:] + g[:, :-2, 1:-1] + g[:, 2:, 1:-1] - 4 * g[:, 1:-1, 1:-1]
    return lap.reshape(len(g), -1).var(1)


def radial_spectrum(imgs: np.ndarray) -> np.ndarray:
    """(s // 2,) the set's mean power at each integer spatial frequency radius 1 .. s/2 (luminance, mean removed,
    Hann windowed)."""
    g = grey(imgs)
    s = g.shape[1]
    win = np.outer(np.hanning(s), np.hanning(s)).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2((g - g.mean(axis=(1, 2), keepdims=True)) * win), axes=(1, 2))) ** 2
    y, x = np.indices((s, s)) - s // 2
    radius = np.round(np.hypot(x, y)).astype(int).ravel()
    mean = power.mean(0).ravel()
    keep = (radius >= 1) & (radius <= s // 2)
    return np.bincount(radius[keep], mean[keep], minlength=s // 2 + 1)[1:] / np.bincount(radius[keep])[1:]


def spectrum_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |log10 power difference| over the radii: 0.3 means a factor of two in power on average."""
    return float(np.abs(np.log10(radial_spectrum(a) + 1e-12) - np.log10(radial_spectrum(b) + 1e-12)).mean())


def describe(imgs: np.ndarray, data: np.ndarray, decoded_data: np.ndarray | None = None) -> dict:
    """A set of textures against the data: its nearest neighbours (in the data, and among the data's own decodings),
    diversity and statistics."""
    near, _ = nearest(imgs, data)
    row = {
        "count": len(imgs),
        "nearest_psnr_median": float(np.median(near)),
        "nearest_psnr_p90": float(np.percentile(near, 90)),
        "nearest_psnr_max": float(near.max()),
        "diversity_rms": diversity(imgs),
        "histogram_emd": histogram_distance(imgs, data),
        "laplacian_var_median": float(np.median(laplacian_variance(imgs))),
        "spectrum_log10_distance": spectrum_distance(imgs, data),
    }
    if decoded_data is not None:
        near_dec, _ = nearest(imgs, decoded_data)
        row["nearest_decoded_psnr_median"] = float(np.median(near_dec))
        row["nearest_decoded_psnr_max"] = float(near_dec.max())
    return row
