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


def _markdown_files():
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def test_readme_is_for_users():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 400, "the README is for users: measured reports belong in docs/"
    assert "../shared" not in text  # no paths into this machine's development data


def test_documents_name_no_issues_and_every_link_resolves():
    broken, history = [], []
    for md in _markdown_files():
        text = md.read_text()
        if md.parent.name != "cache" and re.search(r"\bissues? ?\d+\b", text, re.I):
            history.append(str(md.relative_to(REPO)))
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            if not (md.parent / target).exists():
                broken.append(f"{md.relative_to(REPO)} -> {target}")
    assert not broken, f"links to nothing: {broken}"
    assert not history, f"documents that name issues (say what, not which ticket): {history}"


def test_docs_index_lists_every_results_page_and_bench_folder():
    index = (REPO / "docs" / "README.md").read_text()
    for page in (REPO / "docs" / "results").glob("*.md"):
        assert f"results/{page.name}" in index, page.name
    for folder in (REPO / "docs" / "bench").iterdir():
        assert f"bench/{folder.name}" in index, folder.name
