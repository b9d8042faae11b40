"""Images in, training samples out: load a texture, build its mip pyramid, draw (uv01, t) -> rgb samples.

Conventions (docs/ARCHITECTURE.md): pixel (row r, column c) of an H x W image sits at
uv01 = ((c + 0.5) / W, 1 - (r + 0.5) / H); row 0 is the top, v points up. Coordinates outside [0, 1] repeat.
Colours stay sRGB-encoded in [0, 1]. Level k of the pyramid has t = k / (L - 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from texinr.trainer.core.errors import TexinrError

MIN_SIDE = 4
"""Smallest accepted image side: below this there is nothing to fit (and no mip chain)."""
SCREEN_CENTRE_SHARE = 0.9
"""Screen samples (TextureSamples.batch with jitter): the share drawn at pixel centres of whole levels. On brushed
metal (codec, 2 bpp, 120 s) 0.9 cost 0.30 dB at texel centres and gained 3.2 dB at texel corners; 0.75 cost 0.76
and gained 4.4 (docs/results/screen.md)."""
MAX_SIDE = 8192
"""Largest accepted image side: 8192^2 RGB float samples already take 800 MB."""


def load_image(path: str | Path) -> np.ndarray:
    """Read a PNG/JPEG (any mode Pillow knows) as float32 (H, W, 3) sRGB values in [0, 1].

    - 8-bit RGB as is; grayscale (L), palette (P) and CMYK become RGB.
    - RGBA / LA / palette with transparency: alpha is dropped (colour kept as stored, not premultiplied);
      texinr fits colour only.
    - 16-bit PNG (I;16, I): divided by 65535, so no precision is lost before training.
    """
    path = Path(path)
    if not path.exists():
        raise TexinrError(f"{path}: no such file")
    if path.is_dir():
        raise TexinrError(f"{path}: is a folder, not an image")
    try:
        with Image.open(path) as im:
            w, h = im.size
            check_size(w, h, str(path))
            im.load()
            return image_to_float(im)
    except TexinrError:
        raise
    except Image.DecompressionBombError:
        raise TexinrError(f"{path}: image is too large (at most {MAX_SIDE}x{MAX_SIDE})") from None
    except UnidentifiedImageError:
        raise TexinrError(f"{path}: not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise TexinrError(f"{path}: cannot read image ({e})") from None


def image_notes(path: str | Path) -> list[str]:
    """What load_image leaves out of this image that its owner should hear about (a batch manifest's warnings):
    an alpha channel that is not fully opaque is dropped."""
    try:
        with Image.open(path) as im:
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                alpha = np.asarray(im.convert("RGBA"))[..., 3]
                if alpha.min() < 255:
                    return [f"alpha channel dropped ({int((alpha < 255).sum())} of {alpha.size} pixels not opaque)"]
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        pass  # load_image reports what is wrong with the file
    return []


def check_size(w: int, h: int, what: str = "image") -> None:
    if w < MIN_SIDE or h < MIN_SIDE:
        raise TexinrError(f"{what}: image is {w}x{h}; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    if w > MAX_SIDE or h > MAX_SIDE:
        raise TexinrError(f"{what}: image is {w}x{h}; at most {MAX_SIDE}x{MAX_SIDE} is supported")


def image_to_float(im: Image.Image) -> np.ndarray:
    """Pillow image of any mode -> float32 (H, W, 3) in [0, 1]."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        scale = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(a / scale, 0.0, 1.0).astype(np.float32)
        return np.repeat(a[..., None], 3, axis=2)
    if im.mode == "F":
        a = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(a[..., None], 3, axis=2)
    if im.mode != "RGB":
        if im.mode in ("P", "PA") or "transparency" in im.info:
            im = im.convert("RGBA")  # palette transparency must go through RGBA; alpha is then dropped
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.float32) / 255.0


def resize_image(rgb01: np.ndarray, size: int | tuple[int, int], antialias: bool = True) -> np.ndarray:
    """Resize (H, W, C) to size (int: square, or (W, H)) with bilinear (by default antialiased) filtering."""
    w, h = (size, size) if isinstance(size, int) else size
    x = torch.from_numpy(np.ascontiguousarray(rgb01)).permute(2, 0, 1)[None]
    y = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=antialias)
    return y[0].permute(1, 2, 0).clamp(0, 1).numpy()


def build_pyramid(rgb01: np.ndarray, levels: int) -> list[np.ndarray]:
    """Mip chain by bilinear 2x downsampling: level k is max(1, H >> k) x max(1, W >> k).

    Plain bilinear halving samples between each 2x2 block, so an even side is averaged in 2x2 boxes: the same
    mip chain as glGenerateMipmap's box filter, which the reference path of the renderer uses.
    """
    pyramid = [np.asarray(rgb01, dtype=np.float32)]  # no copy of a float32 image (never written to)
    for _ in range(1, levels):
        h, w = pyramid[-1].shape[:2]
        pyramid.append(resize_image(pyramid[-1], (max(1, w // 2), max(1, h // 2)), antialias=False))
    return pyramid


def max_mip_levels(h: int, w: int) -> int:
    """Levels down to 1x1 along the longer side."""
    return int(np.floor(np.log2(max(h, w)))) + 1


def lod_of_level(level: int, levels: int) -> float:
    return 0.0 if levels <= 1 else level / (levels - 1)


def pixel_centres_uv01(h: int, w: int) -> np.ndarray:
    """(h*w, 2) float32 uv01 of the pixel centres, row-major from the top-left pixel."""
    c = (np.arange(w, dtype=np.float32) + 0.5) / w
    r = 1.0 - (np.arange(h, dtype=np.float32) + 0.5) / h
    uu, vv = np.meshgrid(c, r)
    return np.stack([uu.ravel(), vv.ravel()], axis=1)


def bilinear_sample_repeat(image: torch.Tensor, uv01: torch.Tensor) -> torch.Tensor:
    """Sample (H, W, C) at uv01 (n, 2) with bilinear filtering and REPEAT wrapping, as GL_REPEAT does."""
    h, w = image.shape[:2]
    x = uv01[:, 0] * w - 0.5
    y = (1.0 - uv01[:, 1]) * h - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0, y0 = x0.long(), y0.long()
    xi0, xi1 = x0 % w, (x0 + 1) % w
    yi0, yi1 = y0 % h, (y0 + 1) % h
    top = image[yi0, xi0] * (1 - fx) + image[yi0, xi1] * fx
    bottom = image[yi1, xi0] * (1 - fx) + image[yi1, xi1] * fx
    return top * (1 - fy) + bottom * fy


@dataclass
class Level:
    image: torch.Tensor  # (h, w, C) float32 in [0, 1]
    t: float  # level of detail in [0, 1]


class TextureSamples:
    """Every pixel of every mip level as a (uv01, t) -> values sample (C channels: rgb, or a material's set);
    finer levels have more pixels, so weigh more."""

    def __init__(self, rgb01: np.ndarray, mips: int, device: torch.device | str = "cpu"):
        h, w = rgb01.shape[:2]
        c = rgb01.shape[2]
        self.height, self.width = h, w
        self.mips = max(1, min(mips, max_mip_levels(h, w)))
        self.pyramid = build_pyramid(rgb01, self.mips)
        self.levels = [
            Level(torch.from_numpy(np.ascontiguousarray(p)).to(device), lod_of_level(k, self.mips))
            for k, p in enumerate(self.pyramid)
        ]
        # one (N, 3 + C) table [u, v, t, c0, c1, ...] filled level by level (no temporary copies: at 4096^2 RGB with
        # mips it is 22M rows, 0.5 GB); uv01, t and rgb are views of it, and a batch is one gather
        counts = [lv.image.shape[0] * lv.image.shape[1] for lv in self.levels]
        self._packed = torch.empty(sum(counts), 3 + c, device=device)
        self.level_id = torch.empty(sum(counts), dtype=torch.uint8, device=device)
        start = 0
        for k, (lvl, n) in enumerate(zip(self.levels, counts, strict=True)):
            lh, lw = lvl.image.shape[:2]
            rows = self._packed[start : start + n]
            rows[:, 0:2] = torch.from_numpy(pixel_centres_uv01(lh, lw)).to(device)
            rows[:, 2] = lvl.t
            rows[:, 3:] = lvl.image.reshape(-1, c)
            self.level_id[start : start + n] = k
            start += n
        self.uv01, self.t, self.rgb = self._packed[:, 0:2], self._packed[:, 2:3], self._packed[:, 3:]
        self.level_size = torch.tensor([[lv.image.shape[1], lv.image.shape[0]] for lv in self.levels], device=device)
        self.level_start = torch.tensor([sum(counts[:k]) for k in range(len(counts))], device=device)

    def __len__(self) -> int:
        return self.uv01.shape[0]

    def fits(self, rgb01: np.ndarray, mips: int, device: torch.device | str) -> bool:
        """Whether this is the sample table TextureSamples(rgb01, mips, device) would build (same pixels, levels
        and device), so that it can be shared instead."""
        h, w = rgb01.shape[:2]
        return (
            rgb01.shape[2:] == self.pyramid[0].shape[2:]
            and (h, w) == (self.height, self.width)
            and max(1, min(mips, max_mip_levels(h, w))) == self.mips
            and torch.device(device) == self._packed.device
            and np.array_equal(rgb01, self.pyramid[0])
        )

    def batch(self, n: int, generator: torch.Generator, jitter: bool = False):
        """n random samples (uv01 (n,2), t (n,1), values (n,C)). Without jitter, pixel centres of whole levels.
        With jitter, screen samples: a share SCREEN_CENTRE_SHARE as without; the rest anywhere inside their pixel
        and, half of them, between their level and the next (t continuous), the target the value a texture unit
        returns there: bilinear (REPEAT) within a level, linear between the two levels (trilinear)."""
        dev = self._packed.device
        idx = torch.randint(0, len(self), (n,), generator=generator, device=dev)
        if not jitter:  # index_select: a third of advanced indexing's time for whole rows
            rows = self._packed.index_select(0, idx)
            return rows[:, 0:2], rows[:, 2:3], rows[:, 3:]
        centres = int(round(n * SCREEN_CENTRE_SHARE))
        rows = self._packed.index_select(0, idx[:centres])
        m = n - centres
        idx = idx[centres:]
        lid = self.level_id[idx].long()
        size = self.level_size[lid].float()
        uv01 = self.uv01[idx] + (torch.rand(m, 2, generator=generator, device=dev) - 0.5) / size
        top = len(self.levels) - 1
        between = (torch.rand(m, generator=generator, device=dev) < 0.5) & (lid < top)
        frac = torch.rand(m, generator=generator, device=dev) * between
        value = self._bilinear(uv01, lid)
        b = between.nonzero()[:, 0]  # only these need the next level
        value[b] += (self._bilinear(uv01[b], lid[b] + 1) - value[b]) * frac[b, None]
        t = ((lid.float() + frac) / max(1, top))[:, None]
        return (
            torch.cat([rows[:, 0:2], torch.remainder(uv01, 1.0)]),
            torch.cat([rows[:, 2:3], t]),
            torch.cat([rows[:, 3:], value]),
        )

    def _bilinear(self, uv01: torch.Tensor, lid: torch.Tensor) -> torch.Tensor:
        """Each sample's level lid (n,) sampled at uv01 (n, 2) with bilinear filtering and REPEAT wrapping (as
        bilinear_sample_repeat, all levels at once through the sample table: one gather of the four texels)."""
        wh = self.level_size[lid]
        w, h = wh[:, 0:1], wh[:, 1:2]
        x = uv01[:, 0:1] * w - 0.5
        y = (1.0 - uv01[:, 1:2]) * h - 0.5
        x0, y0 = torch.floor(x), torch.floor(y)
        fx, fy = x - x0, y - y0
        xs = torch.remainder(torch.cat([x0, x0 + 1], 1).long(), w)  # (n, 2)
        ys = torch.remainder(torch.cat([y0, y0 + 1], 1).long(), h) * w + self.level_start[lid, None]
        idx = (ys[:, :, None] + xs[:, None, :]).reshape(-1)  # (n, 4): (y0, x0), (y0, x1), (y1, x0), (y1, x1)
        v = self._packed.index_select(0, idx)[:, 3:].reshape(len(lid), 4, self.rgb.shape[1])  # whole rows: faster
        top = torch.lerp(v[:, 0], v[:, 1], fx)
        return torch.lerp(top, torch.lerp(v[:, 2], v[:, 3], fx), fy)
