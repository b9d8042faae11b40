"""Meshes through trimesh (OBJ, glTF 2.0 .gltf / .glb): triangulated, objects merged, UVs kept as authored
(outside [0, 1] repeats; glTF's v is flipped by trimesh to OBJ's, v up), per-vertex tangents computed once.

trimesh splits a file by object/material into a scene; the pieces are merged here by plain concatenation (never
trimesh's texture-atlas merge, which would rewrite UVs). The texture named by the .mtl's map_Kd is used when none
is given. A glTF with several materials keeps the parts of the one chosen (the first unless told), and says so.

Tangents (for normal mapping, MikkTSpace-like): per triangle, the direction of increasing u on the surface (and of
v, for the handedness), summed into its vertices weighted by the triangle's corner angle, made orthogonal to the
vertex normal (Gram-Schmidt); w = +1 or -1 says whether the bitangent cross(n, t) points along increasing v.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import trimesh

from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import gltf_materials, pick_material


@dataclass(frozen=True)
class Mesh:
    positions: np.ndarray  # (n, 3) float32, world space
    normals: np.ndarray  # (n, 3) float32, unit
    uvs: np.ndarray  # (n, 2) float32, as authored (may leave [0, 1])
    indices: np.ndarray  # (m, 3) uint32 triangles
    texture_path: Path | None  # map_Kd of the .mtl, if any and present
    tangents: np.ndarray | None = None  # (n, 4) float32: unit tangent (xyz, along +u), handedness w = +-1
    notes: tuple[str, ...] = ()  # what loading chose or dropped (another glTF material's parts, ...)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.positions.min(axis=0), self.positions.max(axis=0)

    def interleaved(self) -> np.ndarray:
        """(n, 12) float32: position, normal, uv, tangent, as the vertex path reads them (VERTEX_FORMAT)."""
        tangents = self.tangents if self.tangents is not None else vertex_tangents(self)
        return np.hstack([self.positions, self.normals, self.uvs, tangents]).astype(np.float32)


VERTEX_FORMAT = ("3f 3f 2f 4f", "in_position", "in_normal", "in_uv", "in_tangent")
POSITION_ONLY_FORMAT = ("3f 36x", "in_position")
"""moderngl buffer formats of Mesh.interleaved(): every attribute, and the position alone (the depth pre-pass)."""


def vertex_tangents(mesh: Mesh) -> np.ndarray:
    """(n, 4) tangents of `mesh` (see the module's docstring)."""
    p = mesh.positions.astype(np.float64)
    uv = mesh.uvs.astype(np.float64)
    n = mesh.normals.astype(np.float64)
    tri = mesh.indices.astype(np.int64)
    t_sum = np.zeros_like(p)
    b_sum = np.zeros_like(p)
    for k in range(3):  # corner k of every triangle, its two edges
        i0, i1, i2 = tri[:, k], tri[:, (k + 1) % 3], tri[:, (k + 2) % 3]
        e1, e2 = p[i1] - p[i0], p[i2] - p[i0]
        d1, d2 = uv[i1] - uv[i0], uv[i2] - uv[i0]
        det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
        ok = np.abs(det) > 1e-20
        r = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)[:, None]
        t = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * r
        b = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) * r
        l1, l2 = np.linalg.norm(e1, axis=1), np.linalg.norm(e2, axis=1)
        cos = np.einsum("ij,ij->i", e1, e2) / np.maximum(l1 * l2, 1e-30)
        angle = np.arccos(np.clip(cos, -1.0, 1.0))[:, None]
        tn = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-30)
        bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-30)
        np.add.at(t_sum, i0, tn * angle)
        np.add.at(b_sum, i0, bn * angle)
    t = t_sum - n * np.einsum("ij,ij->i", n, t_sum)[:, None]
    length = np.linalg.norm(t, axis=1, keepdims=True)
    # no uv direction (degenerate uvs): any unit vector orthogonal to the normal
    other = np.where(np.abs(n[:, 0:1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    fallback = np.cross(n, other)
    fallback /= np.maximum(np.linalg.norm(fallback, axis=1, keepdims=True), 1e-30)
    t = np.where(length > 1e-12, t / np.maximum(length, 1e-30), fallback)
    w = np.where(np.einsum("ij,ij->i", np.cross(n, t), b_sum) < 0.0, -1.0, 1.0)[:, None]
    return np.hstack([t, w]).astype(np.float32)


def mtl_texture(obj_path: Path) -> Path | None:
    """The first map_Kd of the .mtl files the OBJ names, resolved beside them; None if there is none."""
    try:
        text = obj_path.read_text(errors="replace")
    except OSError:
        return None
    for mtl_name in re.findall(r"^\s*mtllib\s+(.+?)\s*$", text, re.M):
        mtl = obj_path.parent / mtl_name
        if not mtl.is_file():
            continue
        m = re.search(r"^\s*map_Kd\s+(?:-\S+\s+\S+\s+)*(.+?)\s*$", mtl.read_text(errors="replace"), re.M)
        if m:
            return (mtl.parent / m.group(1).replace("\\", "/")).resolve()
    return None


MESH_SUFFIXES = (".obj", ".gltf", ".glb")


def load_mesh(path: str | Path, material: str | int | None = None) -> Mesh:
    """`material`: which material's parts a glTF with several keeps (name or number; default the first)."""
    path = Path(path)
    if not path.is_file():
        raise TexinrError(f"{path}: no such mesh file")
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise TexinrError(f"{path}: meshes are OBJ, glTF (.gltf) or binary glTF (.glb) files")
    notes: list[str] = []
    keep_material = None
    if suffix in (".gltf", ".glb"):
        names = gltf_materials(path)
        if names:
            index, _ = pick_material(names, material, str(path))
            keep_material = names[index] if len(names) > 1 else None
    try:
        quiet = logging.getLogger("trimesh")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # a missing texture is the material loader's to report, in one line
        try:
            scene = trimesh.load(path, force="scene", process=False)
        finally:
            quiet.setLevel(level)
    except Exception as e:  # trimesh raises many types for malformed files
        raise TexinrError(f"{path}: cannot read mesh ({type(e).__name__}: {str(e)[:120]})") from None
    parts = []
    dropped: set[str] = set()
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        geom = scene.geometry[name]
        if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) == 0:
            continue
        mat_name = getattr(getattr(geom.visual, "material", None), "name", None)
        if keep_material is not None and mat_name != keep_material:
            dropped.add(str(mat_name))
            continue
        uv = getattr(geom.visual, "uv", None)
        if uv is None or len(uv) != len(geom.vertices):
            what = "vt" if suffix == ".obj" else "TEXCOORD_0"
            raise TexinrError(f"{path}: mesh has no texture coordinates ({what}); a neural texture needs UVs")
        if not (np.isfinite(np.asarray(geom.vertices)).all() and np.isfinite(np.asarray(uv)).all()):
            # before any normal is computed: numpy and trimesh would print RuntimeWarnings first
            raise TexinrError(f"{path}: mesh has non-finite positions or texture coordinates")
        g = geom.copy()
        g.apply_transform(transform)
        parts.append(
            (
                np.asarray(g.vertices, np.float64),
                np.asarray(g.vertex_normals, np.float64),
                np.asarray(uv, np.float64),
                np.asarray(g.faces, np.int64),
            )
        )
    if not parts:
        raise TexinrError(f"{path}: mesh has no triangles")
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    positions = np.concatenate([p[0] for p in parts])
    normals = np.concatenate([p[1] for p in parts])
    uvs = np.concatenate([p[2] for p in parts])
    indices = np.concatenate([p[3] + o for p, o in zip(parts, offsets, strict=True)])
    if not (np.isfinite(positions).all() and np.isfinite(uvs).all()):
        raise TexinrError(f"{path}: mesh has non-finite positions or texture coordinates")
    lo, hi = positions.min(axis=0), positions.max(axis=0)
    if not np.any(hi - lo > 0):
        raise TexinrError(f"{path}: mesh is degenerate (all vertices at one point)")
    normals = np.nan_to_num(normals)
    tex = mtl_texture(path) if suffix == ".obj" else None
    if dropped:
        notes.append(f"parts with other materials ({', '.join(sorted(dropped))}) are not drawn")
    mesh = Mesh(
        positions.astype(np.float32),
        normals.astype(np.float32),
        uvs.astype(np.float32),
        indices.astype(np.uint32),
        tex if tex is not None and tex.is_file() else None,
        notes=tuple(notes),
    )
    return replace(mesh, tangents=vertex_tangents(mesh))
