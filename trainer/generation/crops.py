"""The data set of texture crops a space of textures is fitted on: square crops of texture images,
augmented as the source paper does (permutations of R, G, B) and by the eight flips and quarter turns, built once
and cached. Nothing is downloaded: the images are files given (e.g. ../shared/data/textures) and the pictures that
ship inside scikit-image (SKIMAGE_BUNDLED).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from texinr.trainer.core.data import resize_image
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.inputs import load_item
from texinr.trainer.generation import arrayfile

SKIMAGE_BUNDLED = ("astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "immunohistochemistry")
"""scikit-image pictures stored in its package (no download), textures and photographs."""
PERMUTATIONS = tuple(itertools.permutations(range(3)))  # (0, 1, 2) first: the crop as it is
DIHEDRAL = tuple((k, flip) for flip in (False, True) for k in range(4))  # quarter turns, then mirrored ones
MIN_IMAGES = 2


@dataclass(frozen=True)
class CropSpec:
    size: int = 64  # crop side, pixels
    per_image: int = 8  # crops taken from each image (before augmentation)
    scale: int = 256  # each image shrunk first so that its shorter side is at most this many pixels
    augment: int = 12  # copies per crop, from RGB permutations x flips / turns (1..48), the crop itself first
    seed: int = 0


@dataclass
class CropSet:
    crops: np.ndarray  # (N, size, size, 3) float32 in [0, 1]
    source: list[str]  # per crop: which image
    transform: list[tuple[int, int, bool]]  # per crop: (RGB permutation index, quarter turns, mirrored)
    spec: CropSpec


def load_input(item: str) -> np.ndarray:
    if item.startswith("skimage:") and item.split(":", 1)[1] not in SKIMAGE_BUNDLED:
        raise TexinrError(f"{item}: not one of scikit-image's bundled pictures ({', '.join(SKIMAGE_BUNDLED)})")
    return load_item(item)


def _resize_short(img: np.ndarray, short: int) -> np.ndarray:
    h, w = img.shape[:2]
    k = short / min(h, w)
    return resize_image(img, (max(1, round(w * k)), max(1, round(h * k))))


def prepared(img: np.ndarray, size: int, scale: int, name: str) -> np.ndarray:
    """An image as crops are taken from it: shrunk so its shorter side is at most `scale` (so that a crop holds a
    texture's pattern; never enlarged); refused if a crop of `size` px does not fit."""
    h, w = img.shape[:2]
    if min(h, w) < size:
        raise TexinrError(f"{name}: {w}x{h} px is smaller than a crop ({size} px)")
    return _resize_short(img, scale) if min(h, w) > scale else img


def centre_crop(img: np.ndarray, size: int, scale: int, name: str = "the image") -> np.ndarray:
    """What a texture outside the set is encoded from: prepared as the data set's images are, its centre crop, RGB."""
    img = prepared(img, size, scale, name)
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(img[y : y + size, x : x + size, :3], dtype=np.float32)


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


def build(items: list[str], spec: CropSpec = CropSpec(), minimum: int = MIN_IMAGES) -> CropSet:
    """Crops of every image (shrunk so its shorter side is at most spec.scale), spec.per_image at random places, each
    in spec.augment variants."""
    if len(items) < minimum:
        raise TexinrError(f"a space of textures needs at least {minimum} images; got {len(items)}")
    if not 1 <= spec.augment <= len(PERMUTATIONS) * len(DIHEDRAL):
        raise TexinrError(f"augment must be between 1 and {len(PERMUTATIONS) * len(DIHEDRAL)}, got {spec.augment}")
    if spec.size > spec.scale:
        raise TexinrError(f"crops of {spec.size} px are larger than the images ({spec.scale} px on the shorter side)")
    rng = np.random.default_rng(spec.seed)
    variants = augmentations(spec.augment)
    crops, source, transform = [], [], []
    for item in items:
        img = prepared(load_input(item), spec.size, spec.scale, item)
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


def cached(items: list[str], spec: CropSpec, path: Path) -> CropSet | None:
    """The set kept at `path` if it was built from these inputs with this spec."""
    if Path(path).is_file():
        try:
            meta, arrays = arrayfile.load(path, "crops")
        except TexinrError:
            return None  # not a crop set of ours: built again and replaced
        if meta.get("key") == cache_key(items, spec):
            return _from(meta, arrays)
    return None


def build_cached(items: list[str], spec: CropSpec, path: Path, minimum: int = MIN_IMAGES) -> tuple[CropSet, bool]:
    """build(), kept at `path` and reused while the inputs and spec are the same; (the set, whether it was reused)."""
    s = cached(items, spec, path)
    if s is not None:
        return s, True
    s = build(items, spec, minimum)
    save(s, path, cache_key(items, spec))
    return s, False


def save(s: CropSet, path: Path, key: str = "") -> None:
    meta = {"source": s.source, "transform": s.transform, "spec": asdict(s.spec), "key": key}
    arrayfile.save(path, "crops", meta, {"crops": s.crops})


def _from(meta: dict, arrays: dict) -> CropSet:
    return CropSet(arrays["crops"], meta["source"], [tuple(t) for t in meta["transform"]], CropSpec(**meta["spec"]))


def load(path: Path) -> CropSet:
    return _from(*arrayfile.load(path, "crops"))
