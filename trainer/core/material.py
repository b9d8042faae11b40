"""A whole PBR material as one unit of work: its maps found (glTF, OBJ + .mtl, a folder, or named one by one),
read into their own spaces, put on one grid, stacked into the channels one network fits (trainer/core/channels.py),
written back out as maps, and judged map by map (against ASTC compressing each map as an asset pipeline would).

What happens to each map (MaterialSet.notes says it for the set at hand):
- base colour: sRGB RGB. Its alpha, where the image has one that is not all opaque (and the glTF's alphaMode is not
  OPAQUE), is fitted as an extra channel `alpha`.
- normal: a tangent-space normal map, OpenGL convention (+y up); a DirectX-convention map (--normal-dx, or a name
  with `nor_dx` / `normal_dx`) has its green flipped. Fitted as x and y (z reconstructed). A map that does not look
  like one (vector lengths far from 1, or z pointing inwards) is fitted anyway, and said so. An OBJ `map_Bump`/`bump`
  that is grey is a height map: it is skipped, and said so.
- ARM (occlusion, roughness, metallic in R, G, B, Poly Haven's packing and glTF's): three linear channels. A glTF
  metallicRoughnessTexture gives roughness (G) and metallic (B); its R is occlusion only when the glTF says so
  (occlusionTexture is the same image) or the image is named as an ARM/ORM pack, and said so.
- separate occlusion / roughness / metallic / opacity maps: their first channel; emissive: sRGB RGB.
- maps of different sizes (same aspect ratio) are resampled to the largest (bilinear, antialiased when shrinking);
  different aspect ratios are refused. glTF factors other than 1 are multiplied into their maps.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np
from PIL import Image, UnidentifiedImageError

from texinr.trainer.core import astc
from texinr.trainer.core.channels import (
    DEFAULTS,
    MapSpec,
    colour_map,
    layout_width,
    material_layout,
    normal_rgb01,
    normal_xyz,
    parse_layout,
    split,
)
from texinr.trainer.core.data import MAX_SIDE, MIN_SIDE, image_to_float, resize_image
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.metrics import all_metrics, psnr, to_8bit

MESH_SUFFIXES = (".gltf", ".glb", ".obj")
MAP_OPTIONS = ("base_colour", "normal", "arm", "occlusion", "roughness", "metallic", "alpha", "emissive")
"""The maps that can be named one by one (`--base-colour F`, ...); `arm` is the packed occlusion/roughness/metallic."""


@dataclass
class MaterialSet:
    """A material's maps on one grid: `values` (H, W, C) float32 in [0, 1] in the layout's order and spaces."""

    name: str
    layout: str
    values: np.ndarray
    sources: dict[str, str] = field(default_factory=dict)  # map -> where it came from
    notes: list[str] = field(default_factory=list)  # what was resampled, flipped, skipped, passed through

    @property
    def width(self) -> int:
        return self.values.shape[1]

    @property
    def height(self) -> int:
        return self.values.shape[0]

    @property
    def maps(self) -> tuple[MapSpec, ...]:
        return parse_layout(self.layout)


# -- reading images -------------------------------------------------------------------------------------------------
def _open(data: bytes | Path, what: str):
    try:
        im = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        w, h = im.size
        if min(w, h) < MIN_SIDE or max(w, h) > MAX_SIDE:
            raise TexinrError(f"{what}: image is {w}x{h}; sides from {MIN_SIDE} to {MAX_SIDE} are supported")
        im.load()
        return im
    except TexinrError:
        raise
    except Image.DecompressionBombError:
        raise TexinrError(f"{what}: image is too large (at most {MAX_SIDE}x{MAX_SIDE})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        kind = "not an image Pillow can read" if isinstance(e, UnidentifiedImageError) else f"cannot read image ({e})"
        raise TexinrError(f"{what}: {kind}") from None


def _rgba01(im) -> np.ndarray:
    """Any Pillow image -> float32 (H, W, 4) in [0, 1] (alpha 1 where the image has none)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        rgb = image_to_float(im)
        return np.concatenate([rgb, np.ones((*rgb.shape[:2], 1), np.float32)], axis=2)
    if im.mode != "RGBA":
        im = im.convert("RGBA")
    return np.asarray(im, dtype=np.float32) / 255.0


@dataclass
class _Source:
    """One image as found: its pixels and where they came from."""

    rgba: np.ndarray
    where: str


def _read_file(path: Path, what: str) -> _Source:
    if not path.is_file():
        raise TexinrError(f"{what}: {path}: no such file")
    return _Source(_rgba01(_open(path, f"{what} {path}")), str(path))


# -- turning images into maps -----------------------------------------------------------------------------------------
NORMAL_LENGTH_TOLERANCE = 0.25
NORMAL_MIN_PLAUSIBLE = 0.9


def normal_map_check(rgb01: np.ndarray) -> str | None:
    """Why these colours do not look like a tangent-space normal map (None when they do): decoded vectors
    2c - 1 should have unit length and point out of the surface (z > 0)."""
    v = rgb01[..., :3].astype(np.float32) * 2.0 - 1.0
    length = np.linalg.norm(v, axis=-1)
    unit = float(np.mean(np.abs(length - 1.0) < NORMAL_LENGTH_TOLERANCE))
    outward = float(np.mean(v[..., 2] > 0.0))
    if unit >= NORMAL_MIN_PLAUSIBLE and outward >= NORMAL_MIN_PLAUSIBLE:
        return None
    return (
        f"does not look like a tangent-space normal map ({unit:.0%} of its vectors near unit length, "
        f"{outward:.0%} pointing outwards); fitted as one anyway"
    )


def is_grey(rgba: np.ndarray) -> bool:
    rgb = rgba[..., :3]
    return float(np.max(np.abs(rgb - rgb.mean(axis=-1, keepdims=True)))) < 2.5 / 255.0


def _has_alpha(rgba: np.ndarray) -> bool:
    return float(rgba[..., 3].min()) < 1.0


class _Collector:
    """Maps as they are found: name -> (H, W, count) array in its space, with its source and the notes."""

    def __init__(self, name: str):
        self.name = name
        self.maps: dict[str, np.ndarray] = {}
        self.sources: dict[str, str] = {}
        self.notes: list[str] = []

    def put(self, name: str, values: np.ndarray, where: str) -> None:
        self.maps[name] = np.ascontiguousarray(values, dtype=np.float32)
        self.sources[name] = where

    def base_colour(self, src: _Source, alpha_wanted: bool = True, factor=None) -> None:
        rgb = src.rgba[..., :3]
        if factor is not None and not np.allclose(factor[:3], 1.0):
            rgb = rgb * np.asarray(factor[:3], np.float32)
            self.notes.append(
                f"base colour multiplied by the material's factor {tuple(round(f, 3) for f in factor[:3])}"
            )
        self.put("base_colour", rgb, src.where)
        if _has_alpha(src.rgba):
            if alpha_wanted:
                self.put("alpha", src.rgba[..., 3:4], f"{src.where} (alpha)")
                self.notes.append("the base colour's alpha is fitted as an extra channel 'alpha'")
            else:
                self.notes.append("the base colour's alpha is ignored (the material is opaque)")

    def normal(self, src: _Source, directx: bool = False, scale: float = 1.0) -> None:
        rgb = src.rgba[..., :3].copy()
        if directx:
            rgb[..., 1] = 1.0 - rgb[..., 1]
            self.notes.append(f"normal map {Path(src.where).name}: DirectX convention, green flipped to OpenGL's")
        why = normal_map_check(rgb)
        if why:
            self.notes.append(f"normal map {Path(src.where).name} {why}")
        if scale != 1.0:
            self.notes.append(f"the normal map's scale {scale:g} is not applied (fitted as stored)")
        self.put("normal", rgb[..., :2], src.where)

    def arm(self, src: _Source, occlusion: bool = True, factors=(1.0, 1.0)) -> None:
        rough, metal = src.rgba[..., 1:2], src.rgba[..., 2:3]
        if factors[0] != 1.0:
            rough = rough * factors[0]
            self.notes.append(f"roughness multiplied by the material's factor {factors[0]:g}")
        if factors[1] != 1.0:
            metal = metal * factors[1]
            self.notes.append(f"metallic multiplied by the material's factor {factors[1]:g}")
        if occlusion:
            self.put("occlusion", src.rgba[..., 0:1], f"{src.where} (R)")
        self.put("roughness", rough, f"{src.where} (G)")
        self.put("metallic", metal, f"{src.where} (B)")

    def single(self, name: str, src: _Source) -> None:
        if name == "emissive":
            self.put(name, src.rgba[..., :3], src.where)
        else:
            self.put(name, src.rgba[..., 0:1], src.where)

    def finish(self) -> MaterialSet:
        if not self.maps:
            raise TexinrError(f"{self.name}: no texture maps found")
        sizes = {n: (a.shape[1], a.shape[0]) for n, a in self.maps.items()}
        w, h = max(sizes.values(), key=lambda s: s[0] * s[1])
        for mw, mh in sizes.values():
            if mw * h != mh * w:
                listing = ", ".join(f"{k} {a}x{b}" for k, (a, b) in sizes.items())
                raise TexinrError(
                    f"{self.name}: maps of different aspect ratios ({listing}) cannot share one grid; "
                    "resample them to one aspect ratio first"
                )
        for n, (mw, mh) in sizes.items():
            if (mw, mh) != (w, h):
                self.maps[n] = resize_image(self.maps[n], (w, h), antialias=mw > w)
                self.notes.append(f"{n} {mw}x{mh} resampled to {w}x{h} (bilinear), the set's largest")
        layout = material_layout(self.maps)
        values = np.concatenate([self.maps[m.name] for m in parse_layout(layout)], axis=2)
        return MaterialSet(self.name, layout, np.clip(values, 0.0, 1.0), dict(self.sources), list(self.notes))


# -- glTF -----------------------------------------------------------------------------------------------------------
def read_gltf_json(path: Path) -> tuple[dict, bytes | None]:
    """(the glTF's JSON, the .glb's binary chunk or None)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TexinrError(f"{path}: cannot read ({e.strerror})") from None
    try:
        if data[:4] == b"glTF":
            _, _, length = struct.unpack_from("<4sII", data)
            pos, doc, binary = 12, None, None
            while pos + 8 <= min(length, len(data)):
                clen, ctype = struct.unpack_from("<I4s", data, pos)
                chunk = data[pos + 8 : pos + 8 + clen]
                if ctype == b"JSON":
                    doc = json.loads(chunk.decode("utf-8"))
                elif ctype == b"BIN\x00":
                    binary = chunk
                pos += 8 + clen
            if doc is None:
                raise ValueError("no JSON chunk")
            return doc, binary
        return json.loads(data.decode("utf-8")), None
    except (ValueError, UnicodeDecodeError, struct.error) as e:
        raise TexinrError(f"{path}: not a glTF 2.0 file ({str(e)[:100]})") from None


def _gltf_image(path: Path, doc: dict, binary: bytes | None, tex_index: int, what: str, notes: list[str]) -> _Source:
    try:
        image_index = doc["textures"][tex_index]["source"]
        image = doc["images"][image_index]
    except (KeyError, IndexError, TypeError):
        raise TexinrError(f"{path}: {what} names texture {tex_index}, which the file does not have") from None
    uri_label = image.get("uri", "") if not str(image.get("uri", "")).startswith("data:") else ""
    label = image.get("name") or uri_label or f"image {image_index}"
    if "uri" in image:
        uri = image["uri"]
        if uri.startswith("data:"):
            try:
                payload = base64.b64decode(uri.split(",", 1)[1])
            except (ValueError, IndexError):
                raise TexinrError(f"{path}: {what}: embedded image {label} is not valid base64") from None
            return _Source(_rgba01(_open(payload, f"{path}: {what}: embedded image {label}")), f"{path.name}#{label}")
        where = path.parent / unquote(uri)
        if not where.is_file():
            beside = path.parent / Path(unquote(uri)).name
            if not beside.is_file():
                raise TexinrError(f"{path}: {what} texture {uri} is missing (looked for {where} and {beside})")
            notes.append(f"{what}: {uri} not found where the glTF says; read {beside.name} beside the glTF")
            where = beside
        return _Source(_rgba01(_open(where, f"{what} {where}")), str(where))
    try:
        view = doc["bufferViews"][image["bufferView"]]
        buffer = doc["buffers"][view.get("buffer", 0)]
        if "uri" in buffer:
            uri = buffer["uri"]
            blob = (
                base64.b64decode(uri.split(",", 1)[1]) if uri.startswith("data:") else (path.parent / uri).read_bytes()
            )
        else:
            blob = binary
        start = int(view.get("byteOffset", 0))
        payload = blob[start : start + int(view["byteLength"])]
    except (KeyError, IndexError, TypeError, ValueError, OSError):
        raise TexinrError(f"{path}: {what}: embedded image {label} cannot be read from its buffer") from None
    return _Source(_rgba01(_open(payload, f"{path}: {what}: embedded image {label}")), f"{path.name}#{label}")


def referenced_files(path: Path) -> set[Path]:
    """The image files a model file's material reads (a batch run over a folder compresses them as the material's
    maps, not one by one): a glTF's external image URIs (and the same names beside it), an OBJ's .mtl maps."""
    path = Path(path)
    if path.suffix.lower() == ".obj":
        return {p.resolve() for p in mtl_maps(path)[0].values()}
    doc, _ = read_gltf_json(path)
    out: set[Path] = set()
    for image in doc.get("images", []) if isinstance(doc.get("images"), list) else []:
        uri = image.get("uri") if isinstance(image, dict) else None
        if isinstance(uri, str) and not uri.startswith("data:"):
            out |= {(path.parent / unquote(uri)).resolve(), (path.parent / Path(unquote(uri)).name).resolve()}
    return out


def gltf_materials(path: Path) -> list[str]:
    doc, _ = read_gltf_json(path)
    return [m.get("name") or f"material {i}" for i, m in enumerate(doc.get("materials", []))]


def pick_material(names: list[str], choice: str | int | None, where: str) -> tuple[int, str | None]:
    """(index of the chosen material, a note when there was a choice to make)."""
    if not names:
        raise TexinrError(f"{where}: the file has no materials")
    if choice is None or choice == "":
        note = None
        if len(names) > 1:
            note = (
                f"{where} has {len(names)} materials ({', '.join(names)}); fitting the first, {names[0]!r} "
                "(choose another with --material NAME or its number)"
            )
        return 0, note
    if isinstance(choice, int) or str(choice).isdigit():
        i = int(choice)
        if not 0 <= i < len(names):
            raise TexinrError(f"{where}: material {i} does not exist (it has {len(names)}: {', '.join(names)})")
        return i, None
    if choice not in names:
        raise TexinrError(f"{where}: no material named {choice!r} (it has {', '.join(names)})")
    return names.index(choice), None


def _load_gltf(path: Path, material: str | int | None) -> _Collector:
    doc, binary = read_gltf_json(path)
    names = [m.get("name") or f"material {i}" for i, m in enumerate(doc.get("materials", []))]
    index, note = pick_material(names, material, str(path))
    mat = doc["materials"][index]
    out = _Collector(f"{path.stem} ({names[index]})")
    if note:
        out.notes.append(note)
    pbr = mat.get("pbrMetallicRoughness", {})
    for key in ("baseColorTexture", "metallicRoughnessTexture"):
        if pbr.get(key, {}).get("texCoord", 0) != 0:
            out.notes.append(f"{key} uses texCoord {pbr[key]['texCoord']}; texinr reads TEXCOORD_0 only")
    opaque = mat.get("alphaMode", "OPAQUE") == "OPAQUE"
    if "baseColorTexture" in pbr:
        src = _gltf_image(path, doc, binary, pbr["baseColorTexture"]["index"], "base colour", out.notes)
        out.base_colour(src, alpha_wanted=not opaque, factor=pbr.get("baseColorFactor"))
    if "normalTexture" in mat:
        nt = mat["normalTexture"]
        out.normal(_gltf_image(path, doc, binary, nt["index"], "normal", out.notes), scale=float(nt.get("scale", 1.0)))
    occ = mat.get("occlusionTexture")
    if "metallicRoughnessTexture" in pbr:
        mr_index = pbr["metallicRoughnessTexture"]["index"]
        src = _gltf_image(path, doc, binary, mr_index, "metallic-roughness", out.notes)
        same = occ is not None and _same_image(doc, occ["index"], mr_index)
        packed = _named_arm(doc, mr_index) or _named_arm_text(Path(src.where).stem)
        out.arm(
            src,
            occlusion=same or (occ is None and packed),
            factors=(float(pbr.get("roughnessFactor", 1.0)), float(pbr.get("metallicFactor", 1.0))),
        )
        if occ is None and packed:
            out.notes.append(
                f"the metallic-roughness image ({_image_label(doc, mr_index)}) is named as an ARM pack: its red "
                "channel is fitted as occlusion"
            )
    if occ is not None and "occlusion" not in out.maps:
        out.single("occlusion", _gltf_image(path, doc, binary, occ["index"], "occlusion", out.notes))
    if "emissiveTexture" in mat:
        out.single("emissive", _gltf_image(path, doc, binary, mat["emissiveTexture"]["index"], "emissive", out.notes))
    if not out.maps:
        raise TexinrError(f"{path}: material {names[index]!r} has no textures to fit")
    return out


def _named_arm_text(text: str) -> bool:
    return bool(re.search(r"(^|[_\-. /])(arm|orm)([_\-. ]|$)", text.lower()))


def _image_of(doc: dict, tex_index: int) -> dict:
    try:
        return doc["images"][doc["textures"][tex_index]["source"]]
    except (KeyError, IndexError, TypeError):
        return {}


def _image_label(doc: dict, tex_index: int) -> str:
    image = _image_of(doc, tex_index)
    uri = str(image.get("uri", ""))
    return image.get("name") or (uri if not uri.startswith("data:") else "") or f"texture {tex_index}"


def _named_arm(doc: dict, tex_index: int) -> bool:
    """Whether the image's name or file name says it packs occlusion, roughness, metallic (ARM / ORM)."""
    image = _image_of(doc, tex_index)
    uri = str(image.get("uri", ""))
    names = [str(image.get("name", "")), Path(uri).stem if not uri.startswith("data:") else ""]
    return any(_named_arm_text(n) for n in names if n)


def _same_image(doc: dict, a: int, b: int) -> bool:
    try:
        return doc["textures"][a]["source"] == doc["textures"][b]["source"]
    except (KeyError, IndexError, TypeError):
        return False


# -- OBJ + .mtl -----------------------------------------------------------------------------------------------------
MTL_MAPS = {
    "map_kd": "base_colour",
    "norm": "normal",
    "map_bump": "bump",
    "bump": "bump",
    "map_pr": "roughness",
    "map_pm": "metallic",
    "map_ao": "occlusion",
    "map_d": "alpha",
    "map_ke": "emissive",
}
""".mtl statements (lower case) -> the map they give (bump: a normal map, or a height map that is skipped)."""


def mtl_maps(obj_path: Path) -> tuple[dict[str, Path], list[str]]:
    """The maps the OBJ's first material names: {map: path}, and notes on what was skipped."""
    try:
        text = obj_path.read_text(errors="replace")
    except OSError as e:
        raise TexinrError(f"{obj_path}: cannot read ({e.strerror})") from None
    found: dict[str, Path] = {}
    notes: list[str] = []
    for mtl_name in re.findall(r"^\s*mtllib\s+(.+?)\s*$", text, re.M):
        mtl = obj_path.parent / mtl_name
        if not mtl.is_file():
            notes.append(f"{obj_path.name}: its material library {mtl_name} is missing")
            continue
        materials = 0
        for line in mtl.read_text(errors="replace").splitlines():
            parts = line.strip().split()
            if not parts:
                continue
            key = parts[0].lower()
            if key == "newmtl":
                materials += 1
                if materials > 1:
                    notes.append(f"{mtl.name} has several materials: the maps of the first are fitted")
                    break
                continue
            if key in MTL_MAPS and len(parts) > 1:
                args = parts[1:]
                while len(args) > 1 and args[0].startswith("-"):  # options such as -bm 1.0 or -clamp on
                    args = args[2:] if len(args) > 2 else args[1:]
                name = MTL_MAPS[key]
                if name not in found:
                    found[name] = (mtl.parent / " ".join(args).replace("\\", "/")).resolve()
        break
    return found, notes


def _load_obj(path: Path) -> _Collector:
    maps, notes = mtl_maps(path)
    out = _Collector(path.stem)
    out.notes += notes
    for name, p in maps.items():
        if not p.is_file():
            raise TexinrError(f"{path}: the .mtl names {p.name} for {name.replace('_', ' ')}, which is missing")
    _add_files(out, {n: p for n, p in maps.items() if n != "bump"})
    if "bump" in maps and "normal" not in maps:
        src = _read_file(maps["bump"], "bump map")
        if is_grey(src.rgba):
            out.notes.append(f"map_Bump {maps['bump'].name} is a height map (grey), not a normal map: skipped")
        else:
            out.normal(src, directx=_named_directx(maps["bump"]))
    return out


# -- a folder, or maps named one by one -------------------------------------------------------------------------------
FOLDER_PATTERNS = {
    "normal_dx": r"(nor|normal|nrm)[_\-]?dx",
    "normal": r"(nor|normal|nrm)([_\-]?gl)?",
    "arm": r"(arm|orm)",
    "base_colour": r"(diff|diffuse|albedo|base[_\-]?colou?r|basecolou?r|col|colou?r)",
    "occlusion": r"(ao|occlusion|ambient[_\-]?occlusion)",
    "roughness": r"(rough|roughness)",
    "metallic": r"(metal|metallic|metalness)",
    "alpha": r"(opacity|alpha|mask)",
    "emissive": r"(emissive|emission)",
}
"""File-name tokens that say which map an image in a folder is (whole tokens between _ - . or spaces)."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tga", ".bmp", ".tif", ".tiff", ".webp")


def _named_directx(path: Path) -> bool:
    return bool(re.search(FOLDER_PATTERNS["normal_dx"], path.stem.lower()))


def folder_maps(folder: Path) -> tuple[dict[str, Path], list[str]]:
    found: dict[str, Path] = {}
    notes: list[str] = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            continue
        stem = p.stem.lower()
        kind = None
        for name, pattern in FOLDER_PATTERNS.items():
            if re.search(rf"(^|[_\-. ]){pattern}($|[_\-. \d])", stem):
                kind = "normal" if name == "normal_dx" else name
                break
        if kind is None:
            notes.append(f"{p.name}: not recognised as a map by its name; left out")
            continue
        if kind in found:
            raise TexinrError(f"{folder}: two {kind.replace('_', ' ')} maps ({found[kind].name}, {p.name}); name one")
        found[kind] = p
    return found, notes


def _add_files(out: _Collector, files: dict[str, Path], normal_dx: bool = False) -> None:
    for name, p in files.items():
        what = name.replace("_", " ")
        src = _read_file(Path(p), f"{what} map")
        if name == "base_colour":
            out.base_colour(src)
        elif name == "normal":
            out.normal(src, directx=normal_dx or _named_directx(Path(p)))
        elif name == "arm":
            out.arm(src)
        else:
            out.single(name, src)


def load_material(
    path: str | Path | None = None,
    files: dict[str, str | Path] | None = None,
    normal_dx: bool = False,
    material: str | int | None = None,
) -> MaterialSet:
    """A material set from a model file (.gltf/.glb/.obj), a folder of maps, and/or maps named one by one
    (`files`: MAP_OPTIONS -> path; they replace what the model or folder gave for the same map)."""
    files = {k: v for k, v in (files or {}).items() if v}
    for k in files:
        if k not in MAP_OPTIONS:
            raise TexinrError(f"unknown map {k!r}; choose from {', '.join(MAP_OPTIONS)}")
    if path is None and not files:
        raise TexinrError("name a model, a folder of maps, or the maps themselves")
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise TexinrError(f"{path}: no such file or folder")
        if path.is_dir():
            found, notes = folder_maps(path)
            out = _Collector(path.name)
            out.notes += notes
            if not found:
                raise TexinrError(f"{path}: no maps recognised by name (e.g. *_diff.png, *_nor_gl.png, *_arm.png)")
            _add_files(out, {k: v for k, v in found.items() if k not in files and not _covered(k, files)}, normal_dx)
        elif path.suffix.lower() in (".gltf", ".glb"):
            out = _load_gltf(path, material)
        elif path.suffix.lower() == ".obj":
            out = _load_obj(path)
        else:
            raise TexinrError(f"{path}: a material comes from a .gltf, .glb or .obj, or a folder of maps")
    else:
        out = _Collector(Path(next(iter(files.values()))).stem)
    if files:
        for k in list(out.maps):
            if _covered(k, files):
                del out.maps[k]
                out.sources.pop(k, None)
        _add_files(out, files, normal_dx)
    return out.finish()


def _covered(name: str, files: dict) -> bool:
    """Whether a map named on the command line replaces `name` (an ARM pack replaces its three parts)."""
    return name in files or (name in ("occlusion", "roughness", "metallic") and "arm" in files)


# -- writing maps ---------------------------------------------------------------------------------------------------
def to_map_images(values: np.ndarray, layout: str) -> dict[str, np.ndarray]:
    """A set's channels (H, W, C) in [0, 1] -> the images an asset pipeline would ship, uint8: `base_colour` (RGB,
    RGBA with alpha), `normal` (RGB, z reconstructed), `arm` (occlusion, roughness, metallic; a map the set lacks
    at its shading default), `emissive`; a single texture's layout gives `rgb`."""
    maps = split(values, parse_layout(layout))
    h, w = values.shape[:2]
    out: dict[str, np.ndarray] = {}  # in the order of channels.shipped_images

    def u8(a):
        return np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)

    if "rgb" in maps:
        out["rgb"] = u8(maps["rgb"])
    if "base_colour" in maps:
        bc = maps["base_colour"]
        out["base_colour"] = u8(np.concatenate([bc, maps["alpha"]], axis=2) if "alpha" in maps else bc)
    elif "alpha" in maps:
        out["alpha"] = u8(maps["alpha"][..., 0])
    if "normal" in maps:
        out["normal"] = u8(normal_rgb01(normal_xyz(maps["normal"])))
    if any(k in maps for k in ("occlusion", "roughness", "metallic")):
        arm = [maps[k] if k in maps else np.full((h, w, 1), DEFAULTS[k], np.float32) for k in MAP_ARM]
        out["arm"] = u8(np.concatenate(arm, axis=2))
    if "emissive" in maps:
        out["emissive"] = u8(maps["emissive"])
    return out


MAP_ARM = ("occlusion", "roughness", "metallic")


# -- quality per map ------------------------------------------------------------------------------------------------
def angular_error_deg(ref_xy01: np.ndarray, test_xy01: np.ndarray) -> np.ndarray:
    """Per-pixel angle in degrees between the normals two encoded-xy maps hold (z reconstructed, renormalised)."""
    a, b = normal_xyz(ref_xy01), normal_xyz(test_xy01)
    cos = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def map_metrics(
    ref: np.ndarray, test: np.ndarray, layout: str, with_flip: bool = True, gil_free: bool = False
) -> dict[str, dict]:
    """Quality of every map of a set, both (H, W, C) in [0, 1] (`test` rounded to 8 bits first, as displayed):
    colour maps PSNR / SSIM / FLIP (the colour map) or PSNR; normals the mean and 95th-percentile angle in degrees;
    each linear channel its PSNR, or `exact` when the reference is constant and reproduced exactly (left out of
    means, never infinity)."""
    layout_maps = parse_layout(layout)
    test = to_8bit(test)
    colour = colour_map(layout_maps)
    out: dict[str, dict] = {}
    for m in layout_maps:
        r, t = ref[..., m.start : m.stop], test[..., m.start : m.stop]
        if m.space == "normal":
            ang = angular_error_deg(to_8bit(r), t)
            out[m.name] = {"mean_deg": float(ang.mean()), "p95_deg": float(np.percentile(ang, 95))}
        elif colour is not None and m.name == colour.name:
            out[m.name] = all_metrics(r, t, with_flip=with_flip, gil_free=gil_free)
        else:
            for c in range(m.count):
                key = m.name if m.count == 1 else f"{m.name}.{'rgb'[c]}"
                rc, tc = to_8bit(r[..., c]), t[..., c]
                exact = bool(np.all(rc == tc))
                out[key] = {
                    "psnr": None if exact else psnr(rc, tc),
                    "exact": exact,
                    "constant": bool(rc.min() == rc.max()),
                }
    return out


def astc_maps(values: np.ndarray, layout: str, block: str, quality: float, mips: int = 1, threads: int = 2):
    """Each map of a set through ASTC as an asset pipeline ships it, at `block`: colour maps as RGB (with alpha in
    A where the set has one), the normal map in astcenc's normal mode (x in RGB, y in A: two channels, the same
    bits), occlusion/roughness/metallic as one RGB ARM image (its missing channels at their defaults), alpha or
    emissive alone as their own image. Returns (decoded (H, W, C) in the layout, total bits of every image (and
    its mip chain), {image: bits})."""
    maps = split(values, parse_layout(layout))
    images = to_map_images(values, layout)
    decoded = np.empty_like(values, dtype=np.float32)
    bits: dict[str, int] = {}
    for name, img in images.items():
        normal = name == "normal"
        rgba = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
        dec, b = astc.compress_u8(rgba, block, quality, mips, threads, normal=normal)
        bits[name] = b
        if name in ("rgb", "emissive"):
            _put(decoded, layout, name, dec[..., :3])
        elif name == "base_colour":
            _put(decoded, layout, "base_colour", dec[..., :3])
            if "alpha" in maps:
                _put(decoded, layout, "alpha", dec[..., 3:4])
        elif name == "alpha":
            _put(decoded, layout, "alpha", dec[..., 0:1])
        elif normal:
            _put(decoded, layout, "normal", dec[..., :2])
        elif name == "arm":
            for c, k in enumerate(MAP_ARM):
                if k in maps:
                    _put(decoded, layout, k, dec[..., c : c + 1])
    return decoded, sum(bits.values()), bits


def _put(values: np.ndarray, layout: str, name: str, data: np.ndarray) -> None:
    for m in parse_layout(layout):
        if m.name == name:
            values[..., m.start : m.stop] = data


def describe(mset: MaterialSet) -> str:
    maps = ", ".join(f"{m.name} ({m.count})" for m in mset.maps)
    return f"{mset.name}: {mset.width}x{mset.height}, {layout_width(mset.maps)} channels: {maps}"
