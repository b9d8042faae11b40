"""texinr-bench --screen end to end on a tiny budget: its rows, the kept models, resuming, a bad cache, bad input."""

import json
import subprocess
import sys

import pytest

from texinr.trainer.cli.bench import parse_screen_bench
from texinr.trainer.core.errors import TexinrError
from texinr.viewer.screen_bench import FILTERS_MEASURED, VIEWS, read_rows, screen_bench_main

ARGV = ["--screen", "--quick", "--size", "64", "--seconds", "1", "--samples", "1"]


@pytest.fixture(scope="module")
def egl():
    from texinr.viewer.render.render import create_context

    try:
        create_context().release()
    except TexinrError as e:
        pytest.skip(str(e))


def test_screen_bench_measures_every_view_and_resumes(egl, tmp_path, capsys):
    out = tmp_path / "screen"
    assert screen_bench_main(parse_screen_bench([*ARGV, "--out", str(out)])) == 0
    printed = capsys.readouterr().out
    assert "| 2 | grazing |" in printed and "screen gap" in printed
    doc = json.loads((out / "results.json").read_text())
    methods = {"reference", "astc", *(f"neural {m}" for m in FILTERS_MEASURED)}
    assert {(r["view"], r["method"]) for r in doc["rows"]} == {(v.name, m) for v in VIEWS for m in methods}
    for r in doc["rows"]:
        assert 5.0 < r["psnr"] < 80.0 and 0.0 <= r["flip"] <= 1.0 and r["pixels"] > 1000
    by = {(r["view"], r["method"]): r["psnr"] for r in doc["rows"]}
    for v in VIEWS:  # the original texture with the GPU's filtering is nearest to the truth
        assert by[(v.name, "reference")] > by[(v.name, "astc")]
    (tex,) = doc["textures"]
    assert tex["block"] == "8x8" and tex["neural"] > 10.0
    (model,) = (out / "models").glob("default_texture@2-*.texinr")
    caches = list((out / "cache").glob("*.json"))
    assert model.exists() and len(caches) == 1
    stamp = (model.stat().st_mtime_ns, caches[0].stat().st_mtime_ns)

    # a second run reads the cache: nothing trained, nothing measured again
    assert screen_bench_main(parse_screen_bench([*ARGV, "--out", str(out)])) == 0
    assert (model.stat().st_mtime_ns, caches[0].stat().st_mtime_ns) == stamp

    # a cache file that is not what this version writes is measured again (from the kept model: no training)
    caches[0].write_text(json.dumps({"rows": [{"texture": 1}], "texture": {}}))
    assert read_rows(caches[0]) is None
    assert screen_bench_main(parse_screen_bench([*ARGV, "--out", str(out)])) == 0
    assert model.stat().st_mtime_ns == stamp[0]
    assert read_rows(caches[0]) is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--screen", "--quick", "--samples", "0"], "--samples"),
        (["--screen", "--quick", "--codec-layout", "diagonal"], "--codec-layout"),
        (["--screen"], "give at least one image"),
        (["--screen", "no/such/file.png"], "no/such/file.png"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, argv, message):
    r = subprocess.run(
        [sys.executable, "-m", "texinr.trainer.cli.bench", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("texinr-bench: error:") and message in lines[0], r.stderr
