"""texinr-view --headless: end to end, and every bad input as one line with exit code 2."""

import numpy as np
import pytest
from PIL import Image

from tests.trainer.test_cli import assert_one_line_error
from texinr.trainer.core.arguments import run_cli
from texinr.viewer.app import parse_view, view_main

QUAD = "v -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf 1/1 2/2 3/3 4/4\n"


def view(argv, capsys):
    rc = run_cli("texinr-view", parse_view, view_main, [str(a) for a in argv])
    return rc, capsys.readouterr()


@pytest.fixture
def scene(tmp_path):
    (tmp_path / "quad.obj").write_text(QUAD)
    img = np.zeros((16, 16, 3), np.uint8)
    img[:8, :8] = (255, 0, 0)
    Image.fromarray(img).save(tmp_path / "tex.png")
    return tmp_path


def test_headless_screenshot_of_the_reference_path(scene, capsys):
    out = scene / "shot.png"
    rc, cap = view(
        [
            scene / "quad.obj",
            scene / "tex.png",
            "--headless",
            "--screenshot",
            out,
            "--view",
            "reference",
            "--size",
            "64x48",
            "--yaw",
            "0",
            "--pitch",
            "0",
        ],
        capsys,
    )
    assert rc == 0, cap.err
    frame = np.asarray(Image.open(out))
    assert frame.shape == (48, 64, 3)
    assert (frame[..., 0] > 200).sum() > 20  # the red quadrant is on screen


def test_headless_trains_when_no_model_is_given(scene, capsys):
    out = scene / "neural.png"
    rc, cap = view(
        [
            scene / "quad.obj",
            scene / "tex.png",
            "--headless",
            "--screenshot",
            out,
            "--train-seconds",  # the old name of --seconds, kept as an alias
            "1",
            "--arch",  # a 16x16 texture is below what any codec reaches at 2 bpp: explicit sizes, no bit rate
            "grid",
            "--width",
            "8",
            "--size",
            "32x32",
            "--yaw",
            "0",
            "--pitch",
            "0",
        ],
        capsys,
    )
    assert rc == 0, cap.err
    assert "trained grid" in cap.out and out.exists()


def test_headless_astc_view_at_the_block_of_the_model_rate(scene, capsys):
    """`--astc auto` (the default) with no model to train: ASTC at the block nearest the rate the model would be
    sized to, encoded with the preset asked for (this once ended in a traceback)."""
    out = scene / "astc.png"
    argv = [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", out, "--view", "astc"]
    rc, cap = view([*argv, "--arch", "grid", "--width", "8", "--size", "32x32", "--astc-preset", "fast"], capsys)
    assert rc == 0, cap.err
    assert out.exists()


def test_bad_inputs(scene, capsys):
    (scene / "nouv.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (scene / "plain.obj").write_text(QUAD)
    (scene / "junk.texinr").write_bytes(b"junk")
    shot = scene / "s.png"
    cases = [
        [scene / "nouv.obj", scene / "tex.png", "--headless", "--screenshot", shot],
        [scene / "missing.obj", scene / "tex.png", "--headless", "--screenshot", shot],
        [scene / "quad.obj", scene / "missing.png", "--headless", "--screenshot", shot, "--view", "reference"],
        [scene / "plain.obj", "--headless", "--screenshot", shot, "--view", "reference"],  # no map_Kd, no texture
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", shot, "--model", scene / "junk.texinr"],
        [scene / "quad.obj", scene / "tex.png", "--headless"],  # no --screenshot
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", shot, "--view", "sideways"],
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", shot, "--astc", "7x7"],
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", shot, "--astc-preset", "best"],
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", shot, "--lod", "-3"],
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", scene / "s.jpg"],
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", shot, "--arch", "cnn"],
    ]
    for argv in cases:
        rc, cap = view(argv, capsys)
        assert_one_line_error(rc, cap, "texinr-view")
    assert not shot.exists()


def test_without_a_display_it_runs_headless_and_says_how_to_get_the_window(scene, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = scene / "fallback.png"
    rc, cap = view(
        [
            scene / "quad.obj",
            scene / "tex.png",
            "--screenshot",
            out,
            "--seconds",
            "1",
            "--arch",
            "grid",
            "--width",
            "8",
            "--size",
            "32x32",
        ],
        capsys,
    )
    assert rc == 0, cap.err
    assert "no display" in cap.err and "xvfb-run" in cap.err and "--headless" in cap.err
    assert out.exists() and str(out) in cap.out
    # nothing asked of the view: neural | ASTC at equal bits, and both on-screen numbers said
    assert "view split" in cap.out and "1 s training run" in cap.err
    line = next(x for x in cap.out.splitlines() if "on screen against the original" in x)
    assert "neural" in line and "ASTC " in line and line.count(" dB") == 2


VIEW_FRONT = ["--view", "neural", "--size", "64x48", "--yaw", "0", "--pitch", "0"]


def test_a_codec_model_file_renders_in_the_viewer(scene, capsys):
    """Train a small codec with texinr-train, then open its .texinr in texinr-view: the red quadrant shows."""
    from texinr.trainer.cli.train import parse_train, train_main

    model = scene / "codec.texinr"
    argv = [scene / "tex.png", "-o", model, "--arch", "codec", "--codec-grids", "16x2x2,4x4x4", "--mips", "1"]
    argv += ["--steps", "150", "--batch", "1024", "--bits", "8"]
    rc = run_cli("texinr-train", parse_train, train_main, [str(a) for a in argv])
    assert rc == 0, capsys.readouterr().err
    out = scene / "codec.png"
    rc, cap = view(
        [scene / "quad.obj", scene / "tex.png", "--headless", "--screenshot", out, "--model", model, *VIEW_FRONT],
        capsys,
    )
    assert rc == 0, cap.err
    frame = np.asarray(Image.open(out)).astype(int)
    red = (frame[..., 0] > 180) & (frame[..., 1] < 80) & (frame[..., 2] < 80)
    assert 100 < red.sum() < 0.5 * 64 * 48  # a red quadrant, not a red screen


def test_render_benchmark_times_every_row_against_the_reference(scene, capsys):
    Image.fromarray((np.random.default_rng(0).random((128, 128, 3)) * 255).astype(np.uint8)).save(scene / "t128.png")
    rc, cap = view(
        [
            scene / "quad.obj",
            scene / "t128.png",
            "--benchmark",
            "--benchmark-families",
            "grid",
            "--benchmark-rates",
            "3.56,0.89",
            "--frames",
            "2",
            "--size",
            "96x64",
        ],
        capsys,
    )
    assert rc == 0, cap.err
    lines = cap.out.splitlines()
    assert "96x64" in lines[0]
    rows = {line[:32].strip(): line[32:].split() for line in lines[2:]}
    assert "reference (trilinear RGBA8)" in rows and "neural grid" in rows
    codec = [name for name in rows if name.startswith("neural codec @")]
    assert {name.split()[3] for name in codec} == {"3.56", "0.89"}  # each rate, with each allocation it has
    full = [line for line in lines if line.startswith("  same, full screen")]
    assert len(full) == len(codec)
    for line in lines[2:]:
        ms, fps, ratio, frames = (float(v) for v in line.split()[-4:])
        assert fps > 0 and ratio > 0 and 1 <= frames <= 2
        lo, hi = max(ms - 0.05, 1e-9), ms + 0.05  # ms is printed to 0.1: fps lies between 1000/hi and 1000/lo
        assert 1000 / hi - 0.1 <= fps <= 1000 / lo + 0.1
    rc, cap = view([scene / "quad.obj", "--benchmark", "--benchmark-rates", "2,abc"], capsys)
    assert_one_line_error(rc, cap, "texinr-view")
