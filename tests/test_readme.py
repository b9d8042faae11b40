"""The README's two commands are the project's promise: CI must run the second one verbatim."""

import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block and text.index("```bash") < 40, "the README must start with its commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands():
    cmds = readme_commands()
    assert len(cmds) == 2
    assert cmds[0].endswith("texinr-view")  # the product, on its bundled default
    assert "pytest" in cmds[1]
    assert "torch==2.13.0" in cmds[0] and "torch==2.13.0" in cmds[1]  # never an unpinned (CUDA) torch


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_default_assets_exist_and_are_made_by_the_project():
    for name in ("default_texture.png", "default_mesh.obj", "default_mesh.mtl", "make_assets.py"):
        assert (REPO / "assets" / name).is_file(), name
