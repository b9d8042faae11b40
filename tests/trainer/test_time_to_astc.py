"""texinr-bench --time-to-astc: checks during training, the first one at ASTC's PSNR, cached and read back checked."""

from __future__ import annotations

import json

import pytest

from texinr.trainer.batch import time_to_astc
from texinr.trainer.batch.time_to_astc import read_result, summary, target_seconds
from texinr.trainer.cli.bench import entrypoint


def run(argv):
    with pytest.raises(SystemExit) as e:
        entrypoint(argv)
    return e.value.code


def test_quick_run_checks_during_training_and_resumes_from_its_cache(tmp_path, capsys, monkeypatch):
    out = tmp_path / "t"
    assert run(["--time-to-astc", "--quick", "--out", str(out), "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "64x64: median time to ASTC" in text and "of 1 reached it within 4 s" in text
    (cached,) = (out / "cache").glob("*.json")
    got = read_result(cached)
    assert got is not None and got["budget"] == 4.0 and got["astc_block"] == "8x8"
    times = [c[0] for c in got["checks"]]
    assert len(times) >= 3 and times == sorted(times) and times[-1] <= 4.0 + 1.0
    if got["seconds_to_astc"] is not None:  # the first check at or above ASTC's PSNR
        first = next(c for c in got["checks"] if c[2] >= got["astc_psnr"])
        assert got["seconds_to_astc"] == first[0]
    assert json.loads((out / "results.json").read_text())[0]["texture"] == got["texture"]

    def no_training(*a, **k):
        raise AssertionError("measured again")

    monkeypatch.setattr(time_to_astc, "measure", no_training)
    assert run(["--time-to-astc", "--quick", "--out", str(out), "--threads", "1"]) == 0  # from the cache
    cached.write_text(json.dumps({**got, "checks": "many"}))
    with pytest.raises(AssertionError, match="measured again"):  # a cache file that is not what it should be
        entrypoint(["--time-to-astc", "--quick", "--out", str(out), "--threads", "1"])


@pytest.mark.parametrize(
    "change",
    [{"astc_psnr": "40"}, {"astc_psnr": float("nan")}, {"steps": True}, {"seconds_to_astc": "3"}, {"checks": [[1, 2]]}],
)
def test_cached_results_are_checked_field_by_field(tmp_path, change):
    good = {
        "texture": "a",
        "width": 8,
        "height": 8,
        "budget": 4.0,
        "astc_block": "8x8",
        "astc_psnr": 40.0,
        "final_psnr": 41.0,
        "steps": 10,
        "checks": [[1.0, 5, 39.0], [2.0, 10, 41.0]],
        "seconds_to_astc": 2.0,
    }
    p = tmp_path / "r.json"
    p.write_text(json.dumps(good))
    assert read_result(p) == good
    p.write_text(json.dumps({**good, **change}).replace("NaN", "NaN"))
    assert read_result(p) is None


def test_targets_by_size_and_the_summary_counts_misses_as_longest():
    assert target_seconds(512, 512) == 30 and target_seconds(1024, 768) == 60 and target_seconds(2048, 2048) == 120
    rows = [
        {"texture": n, "width": 512, "height": 512, "budget": 60.0, "astc_block": "8x8", "astc_psnr": 40.0,
         "final_psnr": 41.0, "steps": 9, "checks": [], "seconds_to_astc": t}
        for n, t in (("a", 10.0), ("b", None), ("c", None))
    ]  # fmt: skip
    text = summary(rows)
    assert "512x512: median time to ASTC not reached (target 30 s); 1 of 3 reached it within 60 s" in text
    rows[1]["seconds_to_astc"] = 20.0
    assert "median time to ASTC 20.0 s" in summary(rows)


def test_bad_input_is_one_line(capsys):
    assert run(["--time-to-astc"]) == 2
    assert "give at least one image" in capsys.readouterr().err
    assert run(["--time-to-astc", "--quick", "--check-every", "0"]) == 2
