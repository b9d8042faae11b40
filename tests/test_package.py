"""The built wheel, installed outside the checkout, works from any folder: shaders and assets travel as package data,
every import is under `texinr.`, and the console scripts run (no network: --no-build-isolation, --no-deps)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

SOURCES = ("pyproject.toml", "README.md", "trainer", "viewer", "shaders", "assets")


def _run(args, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict, Path]:
    """(target folder, environment, wheel): built from a copy of the sources, installed with pip --target."""
    if shutil.which("pip", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("pip is not in this environment")
    root = tmp_path_factory.mktemp("pkg")
    src, wheels, target = root / "src", root / "wheels", root / "site"
    src.mkdir()
    for name in SOURCES:  # a copy: building never writes build/ or *.egg-info into the checkout
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(item, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    pip = [sys.executable, "-m", "pip"]
    r = _run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, src], root, env)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = wheels.glob("texinr-*.whl")
    r = _run([*pip, "install", "-q", "--no-deps", "--no-index", "--target", target, wheel], root, env)
    assert r.returncode == 0, r.stderr[-2000:]
    env["PYTHONPATH"] = str(target)
    return target, env, wheel


def test_wheel_holds_every_subpackage_and_the_data_under_texinr(installed):
    _, _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"texinr"}, top  # no bare trainer/ or viewer/ in site-packages
    modules = [  # every module of the checkout, in every sub-package: a package missing from pyproject fails here
        "texinr/" + p.relative_to(REPO).as_posix() for d in ("trainer", "viewer") for p in (REPO / d).rglob("*.py")
    ]
    assert len(modules) > 40
    for name in (
        *modules,
        "texinr/shaders/mesh.glsl",
        "texinr/shaders/include/network.glsl",
        "texinr/assets/default_mesh.obj",
        "texinr/assets/default_texture.png",
    ):
        assert name in names, name


def test_installed_commands_run_from_another_folder(installed, tmp_path):
    target, env, _ = installed
    bin_dir = target / "bin"
    probe = (
        "import texinr.viewer.render.shader_lib as s, texinr.trainer.core.resources as r; "
        "print(s.__file__, r.ASSETS, r.SHADERS)"
    )
    where = _run([sys.executable, "-c", probe], tmp_path, env)
    assert where.returncode == 0, where.stderr
    assert all(p.startswith(str(target)) for p in where.stdout.split()), where.stdout  # not the checkout

    shot = _run(
        [bin_dir / "texinr-view", "--headless", "--train-seconds", "0.5", "--screenshot", "shot.png"], tmp_path, env
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (tmp_path / "shot.png").stat().st_size > 10_000

    tex = target / "texinr" / "assets" / "default_texture.png"
    trained = _run([bin_dir / "texinr-train", tex, "-o", "m.texinr", "--steps", "5"], tmp_path, env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    decoded = _run([bin_dir / "texinr-decode", "m.texinr", "out.png"], tmp_path, env)
    assert decoded.returncode == 0, decoded.stderr[-2000:]
    assert (tmp_path / "out.png").is_file()
