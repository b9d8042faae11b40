"""Where the package's data lives: the one place that knows the layout (no torch, no GL).

In a checkout, shaders/ and assets/ sit beside trainer/ and viewer/; installed (pyproject.toml maps the folders),
they sit beside texinr/trainer and texinr/viewer as texinr/shaders and texinr/assets, so the same relative path
finds them in both. Wheels install unzipped, so these are plain folders.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
SHADERS = PACKAGE_ROOT / "shaders"
ASSETS = PACKAGE_ROOT / "assets"
DEFAULT_TEXTURE = ASSETS / "default_texture.png"
DEFAULT_MESH = ASSETS / "default_mesh.obj"
