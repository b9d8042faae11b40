"""The data set of texture crops a space of textures is fitted on (issue 16): square crops of texture images,
augmented as the source paper does (permutations of R, G, B) and by the eight flips and quarter turns, built once
and cached. Nothing is downloaded: the images are files given (e.g. ../shared/data/textures) and the pictures that
ship inside scikit-image (SKIMAGE_BUNDLED).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from texinr.trainer.errors import TexinrError

SKIMAGE_BUNDLED = ("astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "immunohistochemistry")
"""scikit-image pictures stored in its package (no download), textures and photographs."""
PERMUTATIONS = tuple(itertools.permutations(range(3)))  # (0, 1, 2) first: the crop as it is
DIHEDRAL = tuple((k, flip) for flip in (False, True) for k in range(4))  # quarter turns, then mirrored ones
MIN_IMAGES = 2


@dataclass(frozen=True)
class CropSpec:
    size: int = 64  # crop side, pixels
    per_image: int = 8  # crops taken from each image (before augmentation)
    scale: int = 256  # each image resized so that its shorter side is this many pixels first
    augment: int = 12  # copies per crop, from RGB permutations x flips / turns (1..48), the crop itself first
    seed: int = 0


@dataclass
class CropSet:
    crops: np.ndarray  # (N, size, size, 3) float32 in [0, 1]
    source: list[str]  # per crop: which image
    transform: list[tuple[int, int, bool]]  # per crop: (RGB permutation index, quarter turns, mirrored)
    spec: CropSpec


def _load(item: str) -> np.ndarray:
    from texinr.trainer.bench import load_item

    if item.startswith("skimage:") and item.split(":", 1)[1] not in SKIMAGE_BUNDLED:
        raise TexinrError(f"{item}: not one of scikit-image's bundled pictures ({', '.join(SKIMAGE_BUNDLED)})")
    return load_item(item)


def _resize_short(img: np.ndarray, short: int) -> np.ndarray:
    from texinr.trainer.data import resize_image

    h, w = img.shape[:2]
    k = short / min(h, w)
    return resize_image(img, (max(1, round(w * k)), max(1, round(h * k))))


def augmentations(n: int) -> list[tuple[int, int, bool]]:
    """The first n of (permutation, turns, mirrored), spread so that few copies already vary colour and geometry."""
    pairs = sorted(
        itertools.product(range(len(PERMUTATIONS)), range(len(DIHEDRAL))), key=lambda pd: (max(pd), pd[0], pd[1])
    )
    return [(p, *DIHEDRAL[d]) for p, d in pairs[:n]]


def apply(crop: np.ndarray, transform: tuple[int, int, bool]) -> np.ndarray:
    p, k, flip = transform
    out = np.rot90(crop[..., list(PERMUTATIONS[p])], k)
    return np.ascontiguousarray(out[:, ::-1] if flip else out)


def build(items: list[str], spec: CropSpec = CropSpec()) -> CropSet:
    """Crops of every image (resized so its shorter side is spec.scale), spec.per_image at random places, each in
    spec.augment variants."""
    if len(items) < MIN_IMAGES:
        raise TexinrError(f"a space of textures needs at least {MIN_IMAGES} images; got {len(items)}")
    if not 1 <= spec.augment <= len(PERMUTATIONS) * len(DIHEDRAL):
        raise TexinrError(f"augment must be between 1 and {len(PERMUTATIONS) * len(DIHEDRAL)}, got {spec.augment}")
    if spec.size > spec.scale:
        raise TexinrError(f"crops of {spec.size} px are larger than the images ({spec.scale} px on the shorter side)")
    rng = np.random.default_rng(spec.seed)
    variants = augmentations(spec.augment)
    crops, source, transform = [], [], []
    for item in items:
        img = _resize_short(_load(item), spec.scale)
        h, w = img.shape[:2]
        for _ in range(spec.per_image):
            y, x = int(rng.integers(0, h - spec.size + 1)), int(rng.integers(0, w - spec.size + 1))
            crop = img[y : y + spec.size, x : x + spec.size]
            for t in variants:
                crops.append(apply(crop, t))
                source.append(item)
                transform.append(t)
    return CropSet(np.stack(crops).astype(np.float32), source, transform, spec)


def cache_key(items: list[str], spec: CropSpec) -> str:
    return hashlib.sha1(json.dumps({"items": items, "spec": asdict(spec)}, sort_keys=True).encode()).hexdigest()[:12]


def build_cached(items: list[str], spec: CropSpec, cache: Path) -> tuple[CropSet, bool]:
    """build(), kept in `cache` (one .npz per inputs and spec); (the set, whether it came from the cache)."""
    from texinr.trainer.modelfile import atomic_write

    path = Path(cache) / f"crops-{cache_key(items, spec)}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return CropSet(z["crops"], meta["source"], [tuple(t) for t in meta["transform"]], spec), True
    s = build(items, spec)
    buf = io.BytesIO()
    meta = json.dumps({"source": s.source, "transform": s.transform})
    np.savez_compressed(buf, crops=s.crops, meta=np.array(meta))
    Path(cache).mkdir(parents=True, exist_ok=True)
    atomic_write(path, buf.getvalue())
    return s, False
