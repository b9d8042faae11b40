"""Make the bundled default texture and mesh (run: python assets/make_assets.py). Deterministic; numpy + Pillow.

- default_texture.png: 512x512 sRGB, a procedural brick wall with colour gradients, fine noise, thin lines and an
  asymmetric "F" marker in the top-left corner (so a flipped or mirrored texture is obvious).
- default_mesh.obj / .mtl: a torus with a UV map (u around the ring, v around the tube), normals, map_Kd.
- plane.obj: a 2 x 2 square in the xz plane (normal +y), the texture once across it (u along +x, v along -z), for
  views at grazing angles (texinr-bench --screen).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def value_noise(size: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Tileable smooth noise in [0, 1]: a random lattice, bicubic-ish (smoothstep) interpolated."""
    lattice = rng.random((cells, cells))
    x = np.arange(size) * cells / size
    i0 = np.floor(x).astype(int)
    f = x - i0
    f = f * f * (3 - 2 * f)
    i1 = (i0 + 1) % cells
    rows0 = lattice[i0][:, i0] * (1 - f)[None] + lattice[i0][:, i1] * f[None]
    rows1 = lattice[i1][:, i0] * (1 - f)[None] + lattice[i1][:, i1] * f[None]
    return rows0 * (1 - f)[:, None] + rows1 * f[:, None]


def make_texture(size: int = 512, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    noise = sum(value_noise(size, c, rng) / k for k, c in ((1, 8), (2, 16), (4, 32), (8, 64), (16, 128)))
    noise = noise / noise.max()
    # bricks: 8 rows, 4 per row, every other row offset by half a brick
    rows, per_row = 8, 4
    r = np.floor(yy * rows)
    bx = xx * per_row + 0.5 * (r % 2)
    brick_id = r * per_row + np.floor(bx) % per_row
    fx, fy = bx % 1.0, (yy * rows) % 1.0
    mortar = (fx < 0.04) | (fx > 0.96) | (fy < 0.07) | (fy > 0.93)
    hue = (brick_id * 0.618034) % 1.0
    base = np.stack([0.55 + 0.35 * np.cos(2 * np.pi * (hue + s)) for s in (0.0, 0.33, 0.67)], axis=-1)
    base = base * (0.75 + 0.25 * xx[..., None]) * (0.7 + 0.3 * noise[..., None])
    img = np.where(mortar[..., None], 0.82 + 0.1 * noise[..., None], base)
    # thin diagonal scratches: high-frequency detail
    scratch = np.abs(((xx + 2 * yy) * 40) % 1.0 - 0.5) < 0.02
    img = np.where((scratch & ~mortar)[..., None], img * 0.6, img)
    # asymmetric marker "F" in the top-left brick: dark on light
    m = np.zeros((size, size), bool)
    s = size / 512
    x0, y0 = int(20 * s), int(10 * s)
    m[y0 : y0 + int(46 * s), x0 : x0 + int(9 * s)] = True  # stem
    m[y0 : y0 + int(9 * s), x0 : x0 + int(34 * s)] = True  # top bar
    m[y0 + int(20 * s) : y0 + int(28 * s), x0 : x0 + int(24 * s)] = True  # middle bar
    img[m] = (0.05, 0.05, 0.12)
    return np.clip(img, 0, 1)


def torus(n_ring: int = 96, n_tube: int = 48, major: float = 1.0, minor: float = 0.4):
    """Vertices, uvs, normals and quad faces (1-based, v/vt/vn shared) of a torus with a seam on both axes."""
    verts, uvs, normals = [], [], []
    for i in range(n_ring + 1):
        u = i / n_ring
        a = 2 * math.pi * u
        for j in range(n_tube + 1):
            v = j / n_tube
            b = 2 * math.pi * v
            nx, ny, nz = math.cos(a) * math.cos(b), math.sin(b), math.sin(a) * math.cos(b)
            cx, cz = major * math.cos(a), major * math.sin(a)
            verts.append((cx + minor * nx, minor * ny, cz + minor * nz))
            normals.append((nx, ny, nz))
            uvs.append((u * 2.0, v))  # the texture repeats twice around the ring
    faces = []
    for i in range(n_ring):
        for j in range(n_tube):
            a = i * (n_tube + 1) + j + 1
            b = (i + 1) * (n_tube + 1) + j + 1
            faces.append((a, a + 1, b + 1, b))
    return verts, uvs, normals, faces


def plane(n: int = 8, half: float = 1.0):
    """An n x n grid of quads over [-half, half]^2 in the xz plane, facing +y."""
    verts, uvs, normals, faces = [], [], [], []
    for j in range(n + 1):
        for i in range(n + 1):
            u, v = i / n, j / n
            verts.append((half * (2 * u - 1), 0.0, -half * (2 * v - 1)))
            uvs.append((u, v))
            normals.append((0.0, 1.0, 0.0))
    for j in range(n):
        for i in range(n):
            a = j * (n + 1) + i + 1  # OBJ counts from 1
            b, c, d = a + 1, a + n + 2, a + n + 1
            faces += [(a, d, c), (a, c, b)]  # written reversed: counter-clockwise seen from +y
    return verts, uvs, normals, faces


def write_obj(path: Path, verts, uvs, normals, faces, mtl: str, name: str = "torus") -> None:
    lines = [f"# texinr bundled mesh: a UV-mapped {name} (assets/make_assets.py)", f"mtllib {mtl}", f"o {name}"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in verts]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uvs]
    lines += [f"vn {x:.6f} {y:.6f} {z:.6f}" for x, y, z in normals]
    lines.append("usemtl texinr_default")
    lines += ["f " + " ".join(f"{i}/{i}/{i}" for i in reversed(f)) for f in faces]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    img = make_texture()
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(HERE / "default_texture.png", optimize=True)
    write_obj(HERE / "default_mesh.obj", *torus(), mtl="default_mesh.mtl")
    write_obj(HERE / "plane.obj", *plane(), mtl="default_mesh.mtl", name="plane")
    (HERE / "default_mesh.mtl").write_text(
        "# texinr default material\nnewmtl texinr_default\nKd 1.0 1.0 1.0\nmap_Kd default_texture.png\n"
    )
    print(f"wrote {HERE / 'default_texture.png'}, {HERE / 'default_mesh.obj'}, {HERE / 'plane.obj'}, mtl")


if __name__ == "__main__":
    main()
