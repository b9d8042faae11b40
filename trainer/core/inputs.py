"""What a batch command's inputs name: image files, folders of them, and scikit-image's bundled pictures
(`skimage:NAME`), loaded as sRGB in [0, 1]. texinr-bench, texinr-compress and texinr-generate read inputs here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from texinr.trainer.core.data import image_to_float, load_image, resize_image
from texinr.trainer.core.errors import TexinrError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def expand_inputs(inputs: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for item in inputs:
        if item.startswith("skimage:"):
            out.append(item)
            continue
        p = Path(item)
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise TexinrError(f"{p}: no PNG or JPEG images in this folder")
            out.extend(found)
        elif p.exists():
            out.append(str(p))
        else:
            raise TexinrError(f"{p}: no such file or folder")
    return out


def load_texture(item: str, size: int) -> np.ndarray:
    img = load_item(item)
    return resize_image(img, size) if img.shape[:2] != (size, size) else img


def load_item(item: str) -> np.ndarray:
    """An input image as float RGB: a file, or 'skimage:NAME' (one of scikit-image's pictures)."""
    if item.startswith("skimage:"):
        name = item.split(":", 1)[1]
        fn = getattr(data, name, None)
        if fn is None or name.startswith("_"):
            raise TexinrError(f"{item}: scikit-image has no image {name!r}")
        return image_to_float(Image.fromarray(np.asarray(fn())))
    return load_image(item)


def texture_name(item: str) -> str:
    return item.split(":", 1)[1] if item.startswith("skimage:") else Path(item).stem
