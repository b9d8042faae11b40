"""texinr-bench end to end on a tiny budget: the files it writes, resuming, and sane ASTC numbers."""

import csv
import itertools
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import random_image
from texinr.trainer.batch.bench import bench_main
from texinr.trainer.cli.bench import parse_bench
from texinr.trainer.core.errors import TexinrError


def test_quick_bench_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "bench"
    argv = [
        "--quick",
        "--seconds",
        "2",
        "--size",
        "128",
        "--families",
        "codec,relu",
        "--bpp",
        "8,2",
        "--mips",
        "4",
        "--mips-bpp",
        "2",
        "--no-flip",
        "--out",
        str(out),
    ]
    assert bench_main(parse_bench(argv)) == 0
    printed = capsys.readouterr().out
    assert "PSNR (dB) at ~2 bpp" in printed and "ASTC 8x8" in printed and "mean" in printed
    assert "4 mips fitted (ASTC stores its whole mip chain)" in printed
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert set(rows[0]) >= {"texture", "method", "target_bpp", "bpp", "psnr", "ssim", "flip", "seconds"}
    textures = {r["texture"] for r in rows}
    assert textures == {"default_texture", "astronaut"}
    for t in textures:
        astc = sorted((float(r["bpp"]), float(r["psnr"])) for r in rows if r["texture"] == t and r["method"] == "astc")
        assert len(astc) == 6 and all(a[1] < b[1] for a, b in itertools.pairwise(astc))  # PSNR falls with bpp
        chain = {float(r["target_bpp"]): float(r["bpp"]) for r in rows if r["method"] == "astc+mips"}
        assert chain[2.6562] == 2.65625  # ASTC 8x8 at 128^2 storing 4 levels: (256 + 64 + 16 + 4) blocks
        for fam in ("codec", "relu"):
            for target in (8.0, 2.0):
                r = next(
                    r for r in rows if r["texture"] == t and r["method"] == fam and float(r["target_bpp"]) == target
                )
                assert abs(float(r["bpp"]) / target - 1) <= 0.05  # sized within +-5%
            # mip-aware rows get the bits of ASTC's chain at that base rate
            r = next(r for r in rows if r["texture"] == t and r["method"] == fam + "+mips")
            assert float(r["target_bpp"]) == 2.0 and abs(float(r["bpp"]) / 2.65625 - 1) <= 0.05
    per_level = [r for r in json.loads((out / "results.json").read_text())["rows"] if r["method"] == "codec+mips"]
    assert all(len(r["psnr_levels"]) == 4 and min(r["psnr_levels"]) > 10 for r in per_level)
    assert json.loads((out / "results.json").read_text())["settings"]["size"] == 128
    summary = (out / "summary.md").read_text()
    assert "| codec | 2 | 8x8 |" in summary and "| codec+mips | 2 | 8x8 |" in summary  # against ASTC, per target
    for name in ("summary.md", "psnr.png", "ssim.png", "psnr_mips.png", "ssim_mips.png"):
        assert (out / name).stat().st_size > 0
    assert not (out / "flip.png").exists()  # --no-flip: no empty plot
    # a second run resumes from the per-texture cache: nothing is trained again
    before = {p.name: p.stat().st_mtime_ns for p in (out / "cache").iterdir()}
    assert bench_main(parse_bench(argv)) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cache").iterdir()} == before


def test_against_astc_counts_psnr_and_flip_wins_per_texture(tmp_path):
    from texinr.trainer.batch.bench_report import versus_astc

    cmd = parse_bench(["--quick", "--families", "codec", "--bpp", "2", "--out", str(tmp_path)])

    def row(texture, method, bpp, psnr, flip, config=""):
        return {"texture": texture, "method": method, "target_bpp": bpp, "bpp": bpp, "psnr": psnr, "flip": flip,
                "config": config}  # fmt: skip

    rows = [
        row("a", "astc", 2.0, 30.0, 0.05, "8x8"),
        row("a", "astc", 0.89, 25.0, 0.09, "12x12"),
        row("a", "codec", 2, 31.0, 0.06),  # wins PSNR, loses FLIP
        row("b", "astc", 2.0, 40.0, 0.04, "8x8"),
        row("b", "codec", 2, 39.0, 0.03),  # loses PSNR, wins FLIP
        row("c", "astc", 2.0, 35.0, 0.05, "8x8"),
        row("c", "codec", 2, 35.5, 0.045),  # wins both
        row("d", "astc", 2.0, 33.0, 0.05, "8x8"),
        row("d", "codec", 2, 32.95, 0.05),  # a tie: within TIE_DB
    ]
    line = next(x for x in versus_astc(rows, cmd) if x.startswith("| codec | 2 |"))
    assert line == "| codec | 2 | 8x8 | +0.11 | 2 / 1 / 1 | -1.00 (b) | 0.0462 | 0.0475 | 3/4 |"


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path):
    a_file = tmp_path / "results"
    a_file.write_text("keep me")
    for out in (a_file, a_file / "sub"):
        with pytest.raises(TexinrError, match="is a file, not a folder"):
            parse_bench(["--quick", "--out", str(out)])
    assert a_file.read_text() == "keep me"
    parse_bench(["--quick", "--out", str(tmp_path / "new" / "deeper")])  # folders still to be made are fine


def test_rate_distortion_report_names_every_texture_where_more_bits_scored_less():
    from texinr.trainer.batch.bench_report import monotonicity

    def row(texture, bpp, psnr):
        return {"texture": texture, "method": "codec", "target_bpp": bpp, "bpp": bpp, "psnr": psnr}

    rows = [row("a", 0.89, 30.0), row("a", 2.0, 33.0), row("a", 3.56, 32.95)]  # within the tie band
    assert monotonicity(rows) == [
        "## Rate-distortion per texture\n",
        "- codec: monotonic on every texture (within the tie band)",
    ]
    rows.append(row("b", 0.89, 48.45))
    rows.append(row("b", 2.0, 44.85))
    assert monotonicity(rows)[1] == "- codec: b 2 bpp 44.85 dB < 0.89 bpp 48.45 dB"


def test_unreachable_rate_or_unknown_allocation_fails_before_anything_is_written(tmp_path, capsys):
    from texinr.trainer.core.arguments import run_cli

    Image.fromarray((random_image(16, 16) * 255).astype(np.uint8)).save(tmp_path / "t16.png")
    out = tmp_path / "out"
    for extra in (["--bpp", "0.89"], ["--allocation", "coarse"]):
        argv = [str(tmp_path / "t16.png"), "--size", "16", "--families", "codec", "--out", str(out), *extra]
        assert run_cli("texinr-bench", parse_bench, bench_main, argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("texinr-bench: error: "), err
        assert not out.exists()


def test_bench_on_ray_fills_the_same_cache_with_bc_baselines(tmp_path):
    """--ray: every model a task on a local Ray (2 CPUs); the driver keeps each in the cache, so a run without Ray
    afterwards trains nothing; BC1 / BC7 rows and the desktop section are in the results."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    pytest.importorskip("ray", reason="Ray is the optional extra texinr[ray] (the README's test set-up installs it)")
    out = tmp_path / "bench"
    argv = ["--quick", "--seconds", "1", "--size", "64", "--families", "codec,relu", "--bpp", "4", "--out", str(out)]
    ray_run = subprocess.run(
        [sys.executable, "-m", "texinr.trainer.cli.bench", *argv, "--ray", "--ray-cpus", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ},
    )
    assert ray_run.returncode == 0, ray_run.stderr
    assert "4 models as Ray tasks (2 CPUs, 1 per task)" in ray_run.stdout
    rows = json.loads((out / "results.json").read_text())["rows"]
    for t in ("default_texture", "astronaut"):
        bc = {r["method"]: r for r in rows if r["texture"] == t and r["method"] in ("bc1", "bc7")}
        assert bc["bc1"]["bpp"] == 4.0 and bc["bc7"]["bpp"] == 8.0 and bc["bc7"]["psnr"] > bc["bc1"]["psnr"]
        assert {r["method"] for r in rows if r["texture"] == t and r["steps"]} == {"codec", "relu"}
    assert "## Against the desktop formats" in (out / "summary.md").read_text()
    again = subprocess.run(
        [sys.executable, "-m", "texinr.trainer.cli.bench", *argv], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "results.json").read_text())["rows"] == rows  # every model came from the cache
