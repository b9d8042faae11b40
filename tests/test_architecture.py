"""The package's structure, as docs/ARCHITECTURE.md draws it: rooms, one-way arrows, imports at the top.

The package maps `texinr.trainer` onto trainer/ and `texinr.viewer` onto viewer/, so tools that resolve imports
by path see no arrows; this test reads every module's imports itself (ast, no import is executed).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = {"texinr.trainer": REPO / "trainer", "texinr.viewer": REPO / "viewer"}

ROOMS = (  # lowest first: a room may import only from the rooms before it and from itself
    "texinr.trainer.core",
    "texinr.trainer.batch",
    "texinr.trainer.generation",
    "texinr.viewer.render",
    "texinr.viewer.workers",
    "texinr.viewer.scene",
    "texinr.viewer.gui",
    "texinr.viewer.window",
    "texinr.viewer.bench_window",
    "texinr.viewer.screen_bench",
    "texinr.trainer.cli",
    "texinr.viewer.app",
)
"""The order of the house. Commands (texinr.trainer.cli, texinr.viewer.app) are at the top: nothing imports them."""

OPTIONAL_INSIDE_FUNCTIONS = {
    "ray",
    "matplotlib",
    "torch",
    "moderngl",
    "glfw",
    "imgui",
    "skimage",
    "flip_evaluator",
    "lpips",
    "scipy",
}
"""Third-party imports a module may keep inside a function (heavy or optional), each with a reason on its line."""


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.with_suffix("").relative_to(folder).parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def imports_of(path: Path, known: set[str]) -> list[tuple[str, bool, int]]:
    """(module imported, at module level?, line) for every texinr import in `path`."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    typing_only = {
        id(n)
        for node in tree.body
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in node.body
    }  # annotations only: not an arrow at run time
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("texinr"):
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names
            ]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("texinr")]
        out += [(n, id(node) in top, node.lineno) for n in names]
    return out


def room_of(module: str) -> int | None:
    best = None
    for i, room in enumerate(ROOMS):
        if module == room or module.startswith(room + "."):
            best = i if best is None or len(room) > len(ROOMS[best]) else best
    return best


def test_every_module_is_in_a_room():
    homeless = [m for m, p in modules().items() if room_of(m) is None and p.name != "__init__.py"]
    assert not homeless, f"modules outside every room (add them to a room and to docs/ARCHITECTURE.md): {homeless}"


def test_texinr_imports_sit_at_the_top_of_modules():
    known = set(modules())
    inside = [
        f"{p.relative_to(REPO)}:{line} {m}"
        for name, p in modules().items()
        for m, at_top, line in imports_of(p, known)
        if not at_top
    ]
    assert not inside, "texinr imports inside functions (move them to the top):\n" + "\n".join(inside)


def test_no_room_imports_a_room_above_it_and_nothing_imports_a_command():
    known = set(modules())
    upward = []
    for name, path in modules().items():
        mine = room_of(name)
        for target, _, line in imports_of(path, known):
            theirs = room_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{path.relative_to(REPO)}:{line} {name} -> {target}")
    assert not upward, "imports that point up the house:\n" + "\n".join(upward)


def test_module_imports_have_no_cycles():
    known = set(modules())
    graph = {
        name: {t for t, _, _ in imports_of(path, known) if t in known and t != name} for name, path in modules().items()
    }
    # a package's __init__ is imported on the way to any of its modules; count only explicit edges
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == "open":
                cycles.append(stack[stack.index(m) :] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_optional_imports_inside_functions_say_why():
    """A third-party import inside a function is one of the heavy or optional ones, with a comment on its line."""
    bad = []
    for path in modules().values():
        text = path.read_text()
        tree, lines = ast.parse(text), text.splitlines()
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if mod is None or mod.startswith("texinr"):
                    continue
                if mod.split(".")[0] not in OPTIONAL_INSIDE_FUNCTIONS or "#" not in lines[node.lineno - 1]:
                    bad.append(f"{path.relative_to(REPO)}:{node.lineno} {mod}")
    assert not bad, "imports inside functions that are not optional or give no reason:\n" + "\n".join(bad)


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path, monkeypatch):
    """The walk above can fail: a toy package with a cycle and an import from a command is caught."""
    pkg = tmp_path / "trainer"
    (pkg / "core").mkdir(parents=True)
    (pkg / "cli").mkdir()
    for f in (pkg / "__init__.py", pkg / "core" / "__init__.py", pkg / "cli" / "__init__.py"):
        f.write_text("")
    (pkg / "core" / "a.py").write_text("from texinr.trainer.core import b\nfrom texinr.trainer.cli.c import run\n")
    (pkg / "core" / "b.py").write_text("from texinr.trainer.core import a\n")
    (pkg / "cli" / "c.py").write_text("def run():\n    from texinr.trainer.core import a\n")
    monkeypatch.setitem(PACKAGES, "texinr.trainer", pkg)
    monkeypatch.setitem(PACKAGES, "texinr.viewer", tmp_path / "none")
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    for check in (
        test_module_imports_have_no_cycles,
        test_no_room_imports_a_room_above_it_and_nothing_imports_a_command,
        test_texinr_imports_sit_at_the_top_of_modules,
    ):
        try:
            check()
        except AssertionError:
            continue
        raise AssertionError(f"{check.__name__} passed on a broken package")
