"""OBJ meshes through trimesh: triangulated, objects merged, UVs kept as authored (outside [0, 1] repeats).

trimesh splits an OBJ by object/material into a scene; the pieces are merged here by plain concatenation (never
trimesh's texture-atlas merge, which would rewrite UVs). The texture named by the .mtl's map_Kd is used when none
is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from texinr.trainer.errors import TexinrError


@dataclass(frozen=True)
class Mesh:
    positions: np.ndarray  # (n, 3) float32, world space
    normals: np.ndarray  # (n, 3) float32, unit
    uvs: np.ndarray  # (n, 2) float32, as authored (may leave [0, 1])
    indices: np.ndarray  # (m, 3) uint32 triangles
    texture_path: Path | None  # map_Kd of the .mtl, if any and present

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.positions.min(axis=0), self.positions.max(axis=0)

    def interleaved(self) -> np.ndarray:
        """(n, 8) float32: position, normal, uv, as the vertex path reads them."""
        return np.hstack([self.positions, self.normals, self.uvs]).astype(np.float32)


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


def load_mesh(path: str | Path) -> Mesh:
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise TexinrError(f"{path}: no such mesh file")
    if path.suffix.lower() != ".obj":
        raise TexinrError(f"{path}: only OBJ meshes are supported")
    try:
        scene = trimesh.load(path, force="scene", process=False)
    except Exception as e:  # trimesh raises many types for malformed files
        raise TexinrError(f"{path}: cannot read mesh ({type(e).__name__}: {str(e)[:120]})") from None
    parts = []
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        geom = scene.geometry[name]
        if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) == 0:
            continue
        uv = getattr(geom.visual, "uv", None)
        if uv is None or len(uv) != len(geom.vertices):
            raise TexinrError(f"{path}: mesh has no texture coordinates (vt); a neural texture needs UVs")
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
    tex = mtl_texture(path)
    return Mesh(
        positions.astype(np.float32),
        normals.astype(np.float32),
        uvs.astype(np.float32),
        indices.astype(np.uint32),
        tex if tex is not None and tex.is_file() else None,
    )
