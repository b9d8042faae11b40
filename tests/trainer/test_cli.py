import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO, random_image
from texinr.trainer.cli.decode import decode_main, parse_decode
from texinr.trainer.cli.train import parse_train, train_main
from texinr.trainer.core.arguments import run_cli

FAST = ["--arch", "grid", "--grid-base-res", "8", "--grid-finest-res", "16", "--batch", "4096", "--mips", "3"]


def png_header_only(path: Path, w: int, h: int) -> None:
    """A PNG whose header claims w x h (no pixel data needed: the size check must come first)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


@pytest.fixture
def texture(tmp_path) -> Path:
    p = tmp_path / "tex.png"
    Image.fromarray((random_image(24, 32) * 255).astype(np.uint8)).save(p)
    return p


def train(argv, capsys):
    rc = run_cli("texinr-train", parse_train, train_main, [str(a) for a in argv])
    return rc, capsys.readouterr()


def decode(argv, capsys):
    rc = run_cli("texinr-decode", parse_decode, decode_main, [str(a) for a in argv])
    return rc, capsys.readouterr()


def assert_one_line_error(rc, captured, prog="texinr-train"):
    assert rc == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"{prog}: error: ")
    assert "Traceback" not in captured.err + captured.out


def test_bad_inputs_get_one_line_and_exit_2_and_write_nothing(tmp_path, texture, capsys):
    (tmp_path / "text.png").write_text("not an image at all")
    Image.new("RGB", (1, 1)).save(tmp_path / "one.png")
    Image.new("RGB", (16, 16)).save(tmp_path / "small.png")
    png_header_only(tmp_path / "huge.png", 16384, 16384)
    out = tmp_path / "out.texinr"
    cases = {
        "missing file": [tmp_path / "nope.png", "-o", out],
        "a folder": [tmp_path, "-o", out],
        "not an image": [tmp_path / "text.png", "-o", out],
        "1x1": [tmp_path / "one.png", "-o", out],
        "16384x16384": [tmp_path / "huge.png", "-o", out],
        "width 0": [texture, "-o", out, "--width", "0"],
        "absurd grid": [texture, "-o", out, "--arch", "grid", "--grid-finest-res", "8000", "--grid-channels", "64"],
        "option of another family": [texture, "-o", out, "--omega0", "30"],
        "negative lr": [texture, "-o", out, "--lr", "-0.01"],
        "nan lr": [texture, "-o", out, "--lr", "nan"],
        "unknown family": [texture, "-o", out, "--arch", "transformer"],
        "unknown option": [texture, "-o", out, "--frobnicate"],
        "steps and seconds": [texture, "-o", out, "--steps", "3", "--seconds", "3"],
        "bad bits": [texture, "-o", out, "--bits", "4"],
        "bad codec grids": [texture, "-o", out, "--arch", "codec", "--codec-grids", "16x2"],
        "codec bits 9": [texture, "-o", out, "--arch", "codec", "--codec-grids", "16x2x9"],
        "flip finish 2": [texture, "-o", out, "--flip-finish", "2"],
        "bpp out of reach": [texture, "-o", out, "--arch", "codec", "--bpp", "0.01"],
        "no output folder": [texture, "-o", tmp_path / "no" / "where.texinr"],
        "wrong extension": [texture, "-o", tmp_path / "model.png"],
        "no arguments": [],
        "unknown ASTC preset": [texture, "-o", out, "--astc-preset", "ultra"],
        "preset and quality": [texture, "-o", out, "--astc-preset", "fast", "--astc-quality", "50"],
        "quality 101": [texture, "-o", out, "--astc-quality", "101"],
        "unknown allocation": [texture, "-o", out, "--allocation", "coarse"],
        "allocation of another family": [texture, "-o", out, "--arch", "grid", "--allocation", "mid"],
        "allocation without a rate": [
            texture,
            "-o",
            out,
            "--arch",
            "codec",
            "--codec-grids",
            "8x2x4",
            "--allocation",
            "mid",
        ],
        "16x16 at the default rate": [tmp_path / "small.png", "-o", out],
        "16x16 below every allocation": [tmp_path / "small.png", "-o", out, "--bpp", "0.89", "--mips", "1"],
    }
    for why, argv in cases.items():
        rc, cap = train(argv, capsys)
        assert_one_line_error(rc, cap)
        assert not out.exists(), why
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.png", "one.png", "small.png", "tex.png", "text.png"]


def test_train_then_decode(tmp_path, texture, capsys):
    out = tmp_path / "m.texinr"
    rc, cap = train([texture, "-o", out, *FAST, "--steps", "30", "--json"], capsys)
    assert rc == 0, cap.err
    report = json.loads(cap.out.strip().splitlines()[-1])
    for key in ("arch", "steps", "seconds", "bits", "bpp", "psnr", "ssim", "flip"):
        assert key in report
    assert set(report["astc"]) >= {"block", "bpp", "psnr", "ssim", "flip"}
    assert report["steps"] == 30 and report["arch"] == "grid" and report["bits"] == 16
    assert report["bpp"] * 24 * 32 == report["payload_bits"]
    assert "ASTC" in cap.out and "PSNR" in cap.out  # the table is printed too
    assert report["astc"]["preset"] == "thorough" and "(astcenc thorough)" in cap.out  # the stronger default
    assert "verdict: " in cap.out  # who wins on this texture, in words
    assert out.exists()

    png = tmp_path / "big.png"
    rc, cap = decode([out, png, "--size", "64x40", "--lod", "0.5"], capsys)
    assert rc == 0, cap.err
    assert Image.open(png).size == (64, 40)

    rc, cap = decode([out, tmp_path / "base.png"], capsys)
    assert rc == 0 and Image.open(tmp_path / "base.png").size == (32, 24)


def test_decode_bad_inputs(tmp_path, capsys):
    (tmp_path / "foreign.texinr").write_bytes(b"GIF89a" + b"\0" * 100)
    cases = [
        [tmp_path / "foreign.texinr", tmp_path / "o.png"],
        [tmp_path / "missing.texinr", tmp_path / "o.png"],
        [tmp_path / "foreign.texinr", tmp_path / "o.png", "--size", "0x10"],
        [tmp_path / "foreign.texinr", tmp_path / "o.png", "--size", "big"],
        [tmp_path / "foreign.texinr", tmp_path / "o.png", "--lod", "2"],
        [tmp_path / "foreign.texinr", tmp_path / "o.xyz"],
        [tmp_path / "foreign.texinr", tmp_path],  # a folder, not a file name
    ]
    for argv in cases:
        rc, cap = decode(argv, capsys)
        assert_one_line_error(rc, cap, "texinr-decode")
    assert not (tmp_path / "o.png").exists()


def test_console_script_is_installed_and_exits_2(tmp_path):
    exe = Path(sys.executable).parent / "texinr-train"
    if not exe.exists():
        pytest.skip("texinr is not pip-installed in this interpreter's environment")
    r = subprocess.run(
        [exe, str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.texinr")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no such file" in r.stderr


def test_codec_sized_to_a_bpp_and_tuned(tmp_path, capsys):
    p = tmp_path / "tex64.png"
    Image.fromarray((random_image(64, 64) * 255).astype(np.uint8)).save(p)
    out = tmp_path / "c.texinr"
    argv = [p, "-o", out, "--arch", "codec", "--bpp", "3", "--tune", "--bits", "8", "--mips", "1", "--steps", "20"]
    rc, cap = train([*argv, "--json"], capsys)
    assert rc == 0, cap.err
    report = json.loads(cap.out.strip().splitlines()[-1])
    assert report["arch"] == "codec" and abs(report["bpp"] / 3 - 1) <= 0.05
    assert "sized codec to" in cap.out and "tuned lr = " in cap.out
    rc, cap = decode([out, tmp_path / "c.png"], capsys)
    assert rc == 0 and Image.open(tmp_path / "c.png").size == (64, 64)


def test_codec_races_its_allocations_and_the_file_says_which_won(tmp_path, capsys):
    from texinr.trainer.core.config import CODEC_LADDERS
    from texinr.trainer.core.modelfile import load

    p = tmp_path / "tex256.png"
    Image.fromarray((random_image(256, 256) * 255).astype(np.uint8)).save(p)
    out = tmp_path / "c.texinr"
    rc, cap = train([p, "-o", out, "--mips", "1", "--steps", "20", "--threads", "1"], capsys)
    assert rc == 0, cap.err
    assert "won the race (fine " in cap.out and "mid " in cap.out
    alloc = load(out).train["allocation"]
    assert alloc["mode"] == "race" and alloc["chosen"] in CODEC_LADDERS
    assert [t["ladder"] for t in alloc["tried"]] == list(CODEC_LADDERS)
    assert load(out).model_config.codec_grids == alloc["grids"]
    rc, cap = train([p, "-o", out, "--mips", "1", "--steps", "5", "--allocation", "mid"], capsys)
    fixed = load(out)
    assert rc == 0 and fixed.train["allocation"]["mode"] == "fixed" and fixed.train["allocation"]["chosen"] == "mid"
    assert "128x" in fixed.model_config.codec_grids and "256x" not in fixed.model_config.codec_grids


def test_astc_preset_and_quality_options():
    from texinr.trainer.cli.bench import parse_bench

    base = ["tex.png", "-o", "m.texinr"]
    assert parse_train(base).astc_quality == 98.0  # thorough by default
    assert parse_train([*base, "--astc-preset", "medium"]).astc_quality == 60.0
    assert parse_train([*base, "--astc-preset", "exhaustive"]).astc_quality == 100.0
    assert parse_train([*base, "--astc-quality", "75"]).astc_quality == 75.0  # a number: the old option
    assert parse_bench(["--quick"]).astc_quality == 98.0
    assert parse_bench(["--quick", "--astc-preset", "fastest"]).astc_quality == 0.0


def test_verdict_says_who_wins_in_words():
    from texinr.trainer.core.report import verdict

    def report(psnr, flip, bpp, a_psnr, a_flip, a_bpp):
        return {
            "psnr": psnr,
            "flip": flip,
            "bpp": bpp,
            "astc": {"psnr": a_psnr, "flip": a_flip, "bpp": a_bpp, "block": "8x8", "preset": "thorough"},
        }

    assert verdict(report(40.0, 0.03, 2.0, 39.0, 0.04, 2.0)).startswith("verdict: texinr wins on this texture at equal")
    v = verdict(report(38.0, 0.05, 2.0, 39.5, 0.04, 2.0))
    assert v.startswith("verdict: ASTC wins") and "-1.50 dB" in v and "astcenc thorough" in v
    v = verdict(report(40.0, 0.05, 1.0, 39.0, 0.04, 2.0))
    assert "no clear winner (texinr ahead on PSNR, ASTC ahead on FLIP)" in v and "0.50x ASTC's bits" in v
    assert "FLIP" not in verdict(report(40.0, None, 2.0, 39.0, None, 2.0))


def test_profile_prints_time_and_peak_memory_per_phase(tmp_path, texture, capsys):
    out = tmp_path / "m.texinr"
    rc, captured = train([texture, "-o", out, *FAST, "--steps", "3", "--profile"], capsys)
    assert rc == 0, captured.err
    lines = captured.out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("phase"))
    table = "\n".join(lines[head:])
    for name in ("load the image", "train", "evaluate against ASTC", "  metrics (PSNR, SSIM, FLIP)", "save"):
        assert f"\n{name} " in table, table
    peak = float(next(line for line in lines if line.startswith("whole run (peak)")).split()[-1])
    assert 0.05 < peak < 8  # GiB: the process's own high-water mark
    rc, captured = decode([out, tmp_path / "m.png", "--profile"], capsys)
    assert rc == 0 and "\ndecode " in captured.out and "whole run (peak)" in captured.out
