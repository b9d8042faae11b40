"""texinr-compress: inputs to jobs, the manifest (resume, refusal, atomicity), the quality-target search, the ASTC
fallback, bad input; and the same batch on a local Ray (2 CPUs): same manifest, a killed worker, a corrupt image."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import REPO
from tests.material_fixtures import write_gltf
from texinr.trainer.batch.compress import (
    HOLD_ENV,
    JOURNAL,
    TARGET_LADDER,
    compress_main,
    ladder_for,
    list_sources,
    smallest_passing,
)
from texinr.trainer.cli.compress import parse_compress
from texinr.trainer.core.arguments import run_cli
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.modelfile import load

QUICK = ["--steps", "12", "--seed", "0", "--threads", "1"]
VOLATILE = ("seconds", "host", "train_seconds")
"""Row fields that differ between two runs of the same work (times, where it ran)."""


def pattern(size: int, seed: int = 0) -> np.ndarray:
    """A smooth texture with some detail (uint8 RGB), different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    f = rng.uniform(2, 6, 3)
    img = np.stack(
        [0.5 + 0.4 * np.sin(f[0] * x + 3 * y), 0.5 + 0.4 * np.cos(f[1] * y), 0.4 + 0.3 * np.sin(f[2] * x * y)]
    )
    return np.round(np.clip(img.transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)


def write_library(root: Path, size: int = 64) -> Path:
    """rock/diffuse.png and wood/diffuse.png (the same name in two folders), top.png, a note and a corrupt PNG."""
    for i, rel in enumerate(("rock/diffuse.png", "wood/diffuse.png", "top.png")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pattern(size, i)).save(root / rel)
    (root / "notes.txt").write_text("not a texture")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return root


def compress(argv, capsys):
    rc = run_cli("texinr-compress", parse_compress, compress_main, [str(a) for a in argv])
    return rc, capsys.readouterr()


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def stable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def assert_one_line_error(rc, captured):
    assert rc == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("texinr-compress: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out


# ------------------------------------------------------------------------------------------------------ inputs
def test_sources_are_keyed_by_relative_path_and_globs_and_materials(tmp_path):
    lib = write_library(tmp_path / "lib")
    gltf = write_gltf(tmp_path / "lib" / "crate")  # its maps belong to the material, not to the batch
    sources, notes = list_sources((str(lib),))
    keys = [s.key for s in sources]
    assert keys == ["broken.png", "crate/" + gltf.name, "rock/diffuse.png", "top.png", "wood/diffuse.png"]
    assert [s.output for s in sources][2] == "rock/diffuse.texinr"
    assert {s.kind for s in sources if s.key.startswith("crate/")} == {"material"}
    assert any("notes.txt" in n for n in notes)
    sources, _ = list_sources((str(lib / "*" / "diffuse.png"),))
    assert [s.key for s in sources] == ["rock/diffuse.png", "wood/diffuse.png"]
    sources, _ = list_sources((str(lib / "top.png"), str(lib / "top.png")))
    assert [s.key for s in sources] == ["top.png"]  # the same file twice is one texture


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda t: [str(t / "empty")], "no PNG or JPEG"),
        (lambda t: [str(t / "nothing-*.png")], "matches no image"),
        (lambda t: [str(t / "lib/rock/diffuse.png"), str(t / "lib/wood/diffuse.png")], "two inputs would write"),
        (lambda t: [str(t / "missing.png")], "no such file"),
        (lambda t: [str(t / "lib/notes.txt")], "not a PNG"),
    ],
)
def test_bad_input_lists(tmp_path, make, message):
    write_library(tmp_path / "lib")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TexinrError, match=message):
        list_sources(tuple(make(tmp_path)))


# ----------------------------------------------------------------------------------------------------- search
@pytest.mark.parametrize("n", [1, 2, 5, 13])
def test_smallest_passing_finds_the_boundary_from_any_start(n):
    for boundary in range(n + 1):  # indices >= boundary pass; boundary == n: none passes
        for start in range(n):
            calls = []

            def test(i, boundary=boundary, calls=calls):
                calls.append(i)
                return i >= boundary, i

            index, tried = smallest_passing(n, test, start)
            assert index == (boundary if boundary < n else None)
            assert len(calls) == len(set(calls)) == len(tried)
            assert len(calls) <= 2 * int(np.ceil(np.log2(n + 1))) + 1


def test_a_good_start_costs_few_probes():
    index, tried = smallest_passing(len(TARGET_LADDER), lambda i: (i >= 6, i), 6)
    assert index == 6 and sorted(tried) == [5, 6]


# ------------------------------------------------------------------------------------------------- in-process
def test_compress_a_library_resumes_and_refuses_other_settings(tmp_path, capsys):
    lib, out = write_library(tmp_path / "lib"), tmp_path / "out"
    rc, cap = compress([lib, "--out", out, "--bpp", "2", *QUICK], capsys)
    assert rc == 0, cap.err
    doc = manifest(out)
    rows = {r["texture"]: r for r in doc["rows"]}
    assert set(rows) == {"broken.png", "rock/diffuse.png", "top.png", "wood/diffuse.png"}
    assert rows["broken.png"]["status"] == "failed" and "broken.png: cannot read image" in rows["broken.png"]["reason"]
    for key in ("rock/diffuse.png", "wood/diffuse.png", "top.png"):
        r = rows[key]
        assert r["status"] == "done" and r["output"] == key.replace(".png", ".texinr")
        f = load(out / r["output"])
        assert f.payload_bits == r["payload_bits"] and abs(f.bpp - r["bpp"]) < 1e-9
        assert r["astc_block"] == "8x8" and r["bc1_bpp"] > 4 and r["bc7_bpp"] > 8  # mip chains counted
        assert r["bc7_psnr"] > r["bc1_psnr"] > 20
        assert r["steps"] > 0 and r["host"]
    assert rows["rock/diffuse.png"]["psnr"] != rows["wood/diffuse.png"]["psnr"]
    csv_lines = (out / "manifest.csv").read_text().splitlines()
    assert csv_lines[0].startswith("texture,status,reason,output") and len(csv_lines) == 5
    assert doc["summary"]["done"] == 3 and doc["summary"]["failed"] == 1
    assert "3 done, 0 unreachable, 1 failed of 4" in cap.out

    # a second run: nothing finished is redone; the failed one is tried again; a changed source is redone
    before = {k: (out / r["output"]).stat().st_mtime_ns for k, r in rows.items() if r["output"]}
    Image.fromarray(pattern(64, 7)).save(lib / "top.png")
    rc, cap = compress([lib, "--out", out, "--bpp", "2", *QUICK], capsys)
    assert rc == 0 and "2 already done, 2 to do" in cap.out
    assert (out / "rock/diffuse.texinr").stat().st_mtime_ns == before["rock/diffuse.png"]
    assert (out / "top.texinr").stat().st_mtime_ns != before["top.png"]

    rc, cap = compress([lib, "--out", out, "--bpp", "1.5", *QUICK], capsys)
    assert_one_line_error(rc, cap)
    assert "other settings" in cap.err and "bpp: 2 there, 1.5 now" in cap.err
    assert manifest(out)["settings"]["bpp"] == 2


def test_a_folder_with_other_files_is_refused(tmp_path, capsys):
    lib, out = write_library(tmp_path / "lib"), tmp_path / "out"
    out.mkdir()
    (out / "precious.texinr").write_bytes(b"keep me")
    rc, cap = compress([lib / "top.png", "--out", out, *QUICK], capsys)
    assert_one_line_error(rc, cap)
    assert (out / "precious.texinr").read_bytes() == b"keep me" and not (out / "manifest.json").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target-psnr", "200"], "target psnr must be between"),
        (["--target-flip", "0"], "target flip must be between"),
        (["--bpp", "2", "--target-psnr", "30"], "give one of"),
        (["--fallback-astc"], "needs a quality target"),
        (["--target-psnr", "30", "--width", "8"], "sizes the model itself"),
        (["--ray", "localhost:1"], "cannot reach a Ray cluster"),
        (["--ray", "not-an-address"], "expected HOST:PORT"),
    ],
)
def test_bad_settings_get_one_line_and_write_nothing(tmp_path, capsys, extra, message):
    lib, out = write_library(tmp_path / "lib"), tmp_path / "out"
    rc, cap = compress([lib / "top.png", "--out", out, *QUICK, *extra], capsys)
    assert_one_line_error(rc, cap)
    assert message in cap.err
    assert not out.exists()


def test_read_only_output_folder(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    lib, ro = write_library(tmp_path / "lib"), tmp_path / "ro"
    ro.mkdir(mode=0o555)
    rc, cap = compress([lib / "top.png", "--out", ro / "out", *QUICK], capsys)
    assert_one_line_error(rc, cap)


def test_read_only_output_folder_as_root_too(tmp_path, capsys):
    """/proc is read-only for root as well."""
    lib = write_library(tmp_path / "lib")
    rc, cap = compress([lib / "top.png", "--out", "/proc/texinr-out", *QUICK], capsys)
    assert_one_line_error(rc, cap)


def test_quality_target_picks_the_smallest_rate_that_reaches_it(tmp_path, capsys):
    lib, out = write_library(tmp_path / "lib"), tmp_path / "out"
    argv = [lib / "top.png", "--out", out, "--target-psnr", "20", "--fallback-astc", *QUICK, "--steps", "60"]
    rc, cap = compress(argv, capsys)
    assert rc == 0, cap.err
    r = manifest(out)["rows"][0]
    assert r["status"] == "done" and r["met_target"] is True and r["psnr"] >= 20
    probes = r["probe_results"]
    assert r["probes"] == len(probes) >= 2
    chosen = min(p["bpp_target"] for p in probes if p["psnr"] >= 20)
    assert all(p["psnr"] < 20 for p in probes if p["bpp_target"] < chosen)  # nothing smaller passed
    ladder = ladder_for(parse_compress([str(a) for a in argv]).settings.config, 64, 64)
    lower = [t for t in ladder if t < chosen]
    assert lower and lower[-1] in [p["bpp_target"] for p in probes]  # the reachable rate just below was tried
    assert len({p["bpp"] for p in probes}) == len(probes)  # no two probes made the same model
    assert r["astc_target_block"] is not None and r["keep"] == "astc" and r["astc_target_bpp"] < r["bpp"]
    data = (out / "top.astc").read_bytes()
    assert int.from_bytes(data[:4], "little") == 0x5CA1AB13
    bw, bh = (int(x) for x in r["astc_target_block"].split("x"))
    assert len(data) == 16 + 16 * -(-64 // bw) * -(-64 // bh)  # header + one 128-bit block per block


def test_an_unreachable_target_is_reported_and_writes_no_model(tmp_path, capsys):
    lib, out = write_library(tmp_path / "lib"), tmp_path / "out"
    rc, cap = compress([lib / "top.png", "--out", out, "--target-psnr", "59", *QUICK], capsys)
    assert rc == 0, cap.err
    r = manifest(out)["rows"][0]
    assert r["status"] == "unreachable" and r["met_target"] is False and "target 59" in r["reason"]
    best = max(r["probe_results"], key=lambda p: p["psnr"])
    assert f"PSNR {best['psnr']:.4g} at best (at rate {best['bpp_target']:g};" in r["reason"]
    assert r["output"] is None and not (out / "top.texinr").exists()
    assert "unreachable: top.png" in cap.out


def test_a_material_set_is_one_row(tmp_path, capsys):
    gltf, out = write_gltf(tmp_path / "crate", size=64), tmp_path / "out"
    rc, cap = compress([gltf, "--out", out, "--bpp", "6", *QUICK], capsys)
    assert rc == 0, cap.err
    r = manifest(out)["rows"][0]
    assert r["status"] == "done" and r["kind"] == "material" and "normal" in r["maps"]
    assert load(out / r["output"]).model_config.channels == r["layout"]


# ------------------------------------------------------------------------------------------------------- Ray
def run_cli_process(args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "texinr.trainer.cli.compress", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def test_ray_gives_the_same_manifest_survives_a_killed_worker_and_records_a_corrupt_image(tmp_path):
    pytest.importorskip("ray", reason="Ray is the optional extra texinr[ray] (the README's test set-up installs it)")
    lib = write_library(tmp_path / "lib")
    local = run_cli_process([lib, "--out", tmp_path / "local", *QUICK])
    assert local.returncode == 0, local.stderr
    marker = tmp_path / "killed-once"
    on_ray = run_cli_process(
        [lib, "--out", tmp_path / "ray", *QUICK, "--ray", "--ray-cpus", "2"],
        env={"TEXINR_FAULT_EXIT_ONCE": f"{marker}:wood/diffuse.png"},
    )
    assert on_ray.returncode == 0, on_ray.stderr
    assert marker.exists()  # the worker that took wood/diffuse.png did die
    assert "Traceback" not in on_ray.stderr + on_ray.stdout
    assert all(len(line) < 300 for line in on_ray.stderr.splitlines())  # Ray's advice condensed to one line each
    a, b = manifest(tmp_path / "local"), manifest(tmp_path / "ray")
    assert stable(a["rows"]) == stable(b["rows"])  # same bits and metrics, every texture done
    assert b["summary"]["done"] == 3 and b["summary"]["failed"] == 1
    assert [r["status"] for r in b["rows"] if r["texture"] == "broken.png"] == ["failed"]
    for r in b["rows"]:
        if r["output"]:
            ours, theirs = load(tmp_path / "ray" / r["output"]), load(tmp_path / "local" / r["output"])
            sa, sb = ours.state_dict(), theirs.state_dict()
            assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def rows_done(out: Path) -> set[str]:
    """Textures a running compress has finished: manifest.json's rows and the journal's whole lines."""
    rows = []
    if (out / "manifest.json").exists():
        rows += json.loads((out / "manifest.json").read_text())["rows"]
    if (out / JOURNAL).exists():
        text = (out / JOURNAL).read_text()
        rows += [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line]
    return {r["texture"] for r in rows if r["status"] == "done"}


def test_ctrl_c_on_ray_keeps_what_finished_and_a_second_run_finishes_the_rest(tmp_path):
    pytest.importorskip("ray", reason="Ray is the optional extra texinr[ray] (the README's test set-up installs it)")
    lib, out = write_library(tmp_path / "lib"), tmp_path / "out"
    args = [lib, "--out", out, "--steps", "150", "--seed", "0", "--threads", "1"]
    gate = tmp_path / "release-wood"  # wood/diffuse.png waits for this file: it is unfinished when Ctrl-C comes
    # Ctrl-C as in a terminal: a command started in the background of a non-interactive shell (a CI runner) has
    # SIGINT ignored, and a child inherits that; the run gets Python's own handler back, as a terminal would give it
    as_in_a_terminal = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'texinr-compress'; runpy.run_module('texinr.trainer.cli.compress', run_name='__main__')"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", as_in_a_terminal, *map(str, args), "--ray", "--ray-cpus", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, HOLD_ENV: f"{gate}:wood/diffuse.png"},
    )
    try:
        # wait (bounded) until every texture but the held one is finished on disk (journal or manifest)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and p.poll() is None:
            if {"rock/diffuse.png", "top.png"} <= rows_done(out):
                break
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        p.kill()
    if p.returncode == 0:
        pytest.fail("the batch finished before Ctrl-C could reach it")
    assert p.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr + stdout
    rows = manifest(out)["rows"]  # whole JSON: written atomically
    done = [r for r in rows if r["status"] == "done"]
    assert sorted(r["texture"] for r in done) == ["rock/diffuse.png", "top.png"]  # wood was held back
    assert all((out / r["output"]).is_file() for r in done)
    gate.touch()
    rerun = run_cli_process(args)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(done)} already done" in rerun.stdout
    assert manifest(out)["summary"]["done"] == 3


def test_one_run_at_a_time_per_folder(tmp_path, capsys):
    from texinr.trainer.batch.compress import _Lock

    lib, out = write_library(tmp_path / "lib"), tmp_path / "out"
    out.mkdir()
    with _Lock(out):
        rc, cap = compress([lib / "top.png", "--out", out, *QUICK], capsys)
    assert_one_line_error(rc, cap)
    assert "another texinr-compress" in cap.err


def test_rows_in_the_journal_survive_a_kill_before_the_manifest_is_rewritten(tmp_path, monkeypatch):
    """A run killed hard (no final save) has its finished rows in the journal only; opening OUT again replays them,
    skips the line the kill cut short, and compacts everything into manifest.json."""
    from texinr.trainer.batch import compress as c

    monkeypatch.setattr(c, "SAVE_EVERY_S", 1e9)  # no rewrite while the run goes on
    settings = parse_compress(["x.png", "--out", str(tmp_path), *QUICK]).settings
    m = c.Manifest.open(tmp_path, settings)
    m.put({"texture": "a.png", "status": "done", "output": "a.texinr"})
    m.put({"texture": "b.png", "status": "failed", "reason": "bad"})
    assert [r["texture"] for r in manifest(tmp_path)["rows"]] == []  # not rewritten yet...
    with open(tmp_path / c.JOURNAL, "a") as fh:
        fh.write('{"texture": "c.png", "sta')  # ...and a kill in the middle of the next line
    again = c.Manifest.open(tmp_path, settings)
    assert sorted(again.rows) == ["a.png", "b.png"]
    assert [r["texture"] for r in manifest(tmp_path)["rows"]] == ["a.png", "b.png"]
    assert not (tmp_path / c.JOURNAL).exists()


def test_with_mips_a_target_searches_rates_between_astcs():
    """A rate with mips normally means ASTC's chain at the nearest square block (six rates); the target search sizes
    to the ladder rate itself (times the chain's share), so each ladder rate is its own model."""
    from texinr.trainer.core import astc
    from texinr.trainer.core.sizing import rate_budget

    chain = astc.chain_bpp(512, 512, "4x4", 6) / astc.chain_bpp(512, 512, "4x4", 1)
    assert rate_budget(2.52, 512, 512, 6, exact=True) == pytest.approx(2.52 * chain)
    assert rate_budget(2.52, 512, 512, 6) == rate_budget(2.0, 512, 512, 6)  # snapped to 8x8's chain
    cfg = parse_compress(["x.png", "--out", "o", "--target-psnr", "35"]).settings.config
    assert cfg.rate_exact and cfg.train.mips > 1
    ladder = ladder_for(cfg, 512, 512)
    assert len(ladder) > len(astc.SQUARE_BLOCKS) and ladder == sorted(ladder)
