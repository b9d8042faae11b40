"""Small material sets written on the fly (no ../shared needed): maps with structure, as files, a folder, an OBJ
with its .mtl, and glTF 2.0 models (.gltf with external or embedded images, .glb) of one quad."""

from __future__ import annotations

import base64
import io
import json
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def maps(size: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    """uint8 images: base colour (RGB), a plausible normal map (RGB), ARM (RGB)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.5 + 0.4 * np.sin(6 * x), 0.4 + 0.3 * np.cos(5 * y), 0.3 + 0.2 * x * y], -1)
    nx, ny = 0.3 * np.sin(8 * x), 0.3 * np.cos(7 * y)
    nz = np.sqrt(1 - nx**2 - ny**2)
    normal = (np.stack([nx, ny, nz], -1) + 1) / 2
    arm = np.stack([0.7 + 0.3 * x, 0.2 + 0.6 * y, (x > 0.5).astype(float)], -1)
    out = {"base_colour": base, "normal": normal, "arm": arm}
    return {k: np.round(np.clip(v + rng.normal(0, 0.01, v.shape), 0, 1) * 255).astype(np.uint8) for k, v in out.items()}


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def write_folder(folder: Path, size: int = 32, names=("x_diff.png", "x_nor_gl.png", "x_arm.png")) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    m = maps(size)
    for key, name in zip(("base_colour", "normal", "arm"), names, strict=True):
        (folder / name).write_bytes(png_bytes(m[key]))
    return m


QUAD_POS = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], np.float32)
QUAD_UV_GLTF = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], np.float32)  # glTF's v points down
QUAD_IDX = np.array([0, 1, 2, 0, 2, 3], np.uint16)


def _geometry() -> tuple[bytes, list, list]:
    blob = QUAD_POS.tobytes() + QUAD_UV_GLTF.tobytes() + QUAD_IDX.tobytes()
    views = [
        {"buffer": 0, "byteOffset": 0, "byteLength": 48},
        {"buffer": 0, "byteOffset": 48, "byteLength": 32},
        {"buffer": 0, "byteOffset": 80, "byteLength": 12},
    ]
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3", "min": [-1, -1, 0], "max": [1, 1, 0]},
        {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"},
        {"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"},
    ]
    return blob, views, accessors


def gltf_doc(images: list[dict], materials: list[dict] | None = None, uvs: bool = True) -> tuple[dict, bytes]:
    blob, views, accessors = _geometry()
    attributes = {"POSITION": 0, **({"TEXCOORD_0": 1} if uvs else {})}
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": attributes, "indices": 2, "material": 0}]}],
        "accessors": accessors,
        "bufferViews": views,
        "images": images,
        "textures": [{"source": i} for i in range(len(images))],
        "materials": materials
        or [
            {
                "name": "quad",
                "normalTexture": {"index": 1},
                "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}, "metallicRoughnessTexture": {"index": 2}},
            }
        ],
    }
    return doc, blob


def write_gltf(folder: Path, size: int = 32, embed: bool = False, uvs: bool = True, materials=None) -> Path:
    """quad.gltf + quad.bin, its maps as PNG files (quad_diff.png, quad_nor_gl.png, quad_arm.png) or data URIs."""
    folder.mkdir(parents=True, exist_ok=True)
    m = maps(size)
    images = []
    for key, name in (("base_colour", "quad_diff.png"), ("normal", "quad_nor_gl.png"), ("arm", "quad_arm.png")):
        if embed:
            uri = "data:image/png;base64," + base64.b64encode(png_bytes(m[key])).decode()
            images.append({"uri": uri, "name": name[:-4]})
        else:
            (folder / name).write_bytes(png_bytes(m[key]))
            images.append({"uri": name})
    doc, blob = gltf_doc(images, materials, uvs)
    (folder / "quad.bin").write_bytes(blob)
    doc["buffers"] = [{"uri": "quad.bin", "byteLength": len(blob)}]
    path = folder / "quad.gltf"
    path.write_text(json.dumps(doc))
    return path


def write_glb(path: Path, size: int = 32, image_bytes: list[bytes] | None = None, materials=None) -> Path:
    """A .glb with its maps embedded in the binary chunk (or `image_bytes` in their place)."""
    m = maps(size)
    payloads = image_bytes or [png_bytes(m[k]) for k in ("base_colour", "normal", "arm")]
    blob, views, accessors = _geometry()
    doc, _ = gltf_doc([], materials)
    images = []
    for data, name in zip(payloads, ("quad_diff", "quad_nor_gl", "quad_arm"), strict=False):
        while len(blob) % 4:
            blob += b"\0"
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)})
        images.append({"bufferView": len(views) - 1, "mimeType": "image/png", "name": name})
        blob += data
    while len(blob) % 4:
        blob += b"\0"
    doc.update({"bufferViews": views, "accessors": accessors, "images": images})
    doc["textures"] = [{"source": i} for i in range(len(images))]
    doc["buffers"] = [{"byteLength": len(blob)}]
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    body = struct.pack("<I4s", len(js), b"JSON") + js + struct.pack("<I4s", len(blob), b"BIN\0") + blob
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
    return path


def write_obj(folder: Path, size: int = 32, bump_height: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    m = maps(size)
    (folder / "q_diff.png").write_bytes(png_bytes(m["base_colour"]))
    if bump_height:
        grey = np.repeat(m["arm"][..., 1:2], 3, axis=2)
        (folder / "q_height.png").write_bytes(png_bytes(grey))
        bump = "map_Bump -bm 1.0 q_height.png"
    else:
        (folder / "q_nor.png").write_bytes(png_bytes(m["normal"]))
        bump = "norm q_nor.png"
    (folder / "q_rough.png").write_bytes(png_bytes(m["arm"][..., 1]))
    (folder / "q.mtl").write_text(f"newmtl quad\nmap_Kd q_diff.png\n{bump}\nmap_Pr q_rough.png\n")
    lines = ["mtllib q.mtl"]
    lines += [f"v {x} {y} {z}" for x, y, z in QUAD_POS]
    lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1", "usemtl quad", "f 1/1 2/2 3/3", "f 1/1 3/3 4/4"]
    path = folder / "q.obj"
    path.write_text("\n".join(lines) + "\n")
    return path
