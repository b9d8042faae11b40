"""texinr-bench end to end on a tiny budget: the files it writes, resuming, and sane ASTC numbers."""

import csv
import itertools
import json

from trainer.bench import bench_main, parse_bench


def test_quick_bench_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "bench"
    argv = [
        "--quick",
        "--seconds",
        "1",
        "--size",
        "128",
        "--families",
        "grid,relu",
        "--bpp",
        "8,2",
        "--no-flip",
        "--out",
        str(out),
    ]
    assert bench_main(parse_bench(argv)) == 0
    printed = capsys.readouterr().out
    assert "PSNR (dB) at ~2 bpp" in printed and "ASTC 8x8" in printed and "mean" in printed
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert set(rows[0]) >= {"texture", "method", "target_bpp", "bpp", "psnr", "ssim", "flip", "seconds"}
    textures = {r["texture"] for r in rows}
    assert textures == {"default_texture", "astronaut"}
    for t in textures:
        astc = sorted((float(r["bpp"]), float(r["psnr"])) for r in rows if r["texture"] == t and r["method"] == "astc")
        assert len(astc) == 6 and all(a[1] < b[1] for a, b in itertools.pairwise(astc))  # PSNR falls with bpp
        for fam in ("grid", "relu"):
            for target in (8.0, 2.0):
                r = next(
                    r for r in rows if r["texture"] == t and r["method"] == fam and float(r["target_bpp"]) == target
                )
                assert abs(float(r["bpp"]) / target - 1) <= 0.05  # sized within +-5%
    assert json.loads((out / "results.json").read_text())["settings"]["size"] == 128
    for name in ("summary.md", "psnr.png", "ssim.png"):
        assert (out / name).stat().st_size > 0
    assert not (out / "flip.png").exists()  # --no-flip: no empty plot
    # a second run resumes from the per-texture cache: nothing is trained again
    before = {p.name: p.stat().st_mtime_ns for p in (out / "cache").iterdir()}
    assert bench_main(parse_bench(argv)) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cache").iterdir()} == before
