"""texinr-generate end to end on a tiny configuration: every stage's files and numbers, generated models
that texinr-decode reads and that decode to their codes, and bad input (one line, exit 2, nothing written)."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from texinr.trainer.cli.generate import entrypoint, parse_generate
from texinr.trainer.core.modelfile import load
from texinr.trainer.generation import functa
from texinr.trainer.generation.generate import generate_main

TINY = [
    "--crop", "16", "--per-image", "2", "--scale", "48", "--augment", "3", "--width", "16", "--depth", "2",
    "--latent", "8", "--steps", "80", "--batch", "8", "--pixels", "64", "--encode-steps", "30", "--iterations", "150",
    "--hidden", "32", "--samples", "3", "--evaluate", "12", "--sampling-steps", "10", "--points", "4",
]  # fmt: skip


def textures(folder, n=4, size=40, seed=0):
    """Small images that differ in colour and stripe direction."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    paths = []
    for i in range(n):
        f = rng.uniform(2, 6, 2)
        wave = 0.5 + 0.4 * np.sin(2 * np.pi * (f[0] * x + f[1] * y))
        img = np.clip(wave[..., None] * rng.uniform(0.3, 1, 3) + rng.normal(0, 0.03, (size, size, 3)), 0, 1)
        p = folder / f"tex{i}.png"
        Image.fromarray((img * 255).astype(np.uint8)).save(p)
        paths.append(str(p))
    return paths


def run(argv, capsys=None):
    with pytest.raises(SystemExit) as e:
        entrypoint(argv)
    return e.value.code


@pytest.fixture(scope="module")
def space_dirs(tmp_path_factory):
    """Two finished runs on the same images with different seeds: two different networks."""
    root = tmp_path_factory.mktemp("gen")
    imgs = textures(root)
    out = {}
    for seed in (0, 1):
        d = root / f"run{seed}"
        argv = ["all", *imgs[:3], "--holdout", imgs[3], "--out", str(d), "--seed", str(seed), "--quick", *TINY]
        generate_main(parse_generate(argv))
        out[seed] = d
    return imgs, out[0], out[1]


def test_every_stage_leaves_its_files_and_numbers(space_dirs):
    _, d, _ = space_dirs
    for name in ("crops.npz", "holdout.npz", "space.npz", "prior.npz", "samples.png", "neighbours.png",
                 "interpolation.png", "summary.json"):  # fmt: skip
        assert (d / name).is_file(), name
    s = json.loads((d / "summary.json").read_text())
    assert s["data"]["crops"] == 3 * 2 * 3 and s["data"]["holdout_crops"] == 2
    assert 10 < s["fit"]["psnr"]["median"] < 60 and s["fit"]["steps"] == 80
    assert set(s["fit"]["psnr_by_image"]) == {"tex0", "tex1", "tex2"} and set(s["holdout"]["psnr_by_image"]) == {"tex3"}
    assert s["holdout"]["crops"] == 2 and np.isfinite(s["holdout"]["psnr"]["median"])
    assert s["prior"]["space"] == s["fit"]["space"]
    sm = s["samples"]
    assert sm["count"] == 12 and sm["saved"] == 3 and len(sm["files"]) == 3
    assert 0 <= sm["nearer_than_training_median"] <= 1 and isinstance(sm["copies"], int)
    rows = sm["table"]
    assert set(rows) >= {"data (training crops)", "training codes, decoded", "diffusion samples",
                         "Gaussian over codes (baseline)", "held-out crops (real, not in the set)"}  # fmt: skip
    assert rows["diffusion samples"]["diversity_rms"] > 0.005  # not one texture over and over
    assert s["interpolation"]["points"] == 4 and len(s["interpolation"]["step_rms"]) == 3
    grid = np.asarray(Image.open(d / "samples.png"))
    assert grid.ndim == 3 and grid.std() > 3
    strip = np.asarray(Image.open(d / "interpolation.png"))
    assert strip.shape[:2] == (32 + 4, 4 * 34 + 2)  # 4 points at twice the crop


def test_quick_alone_runs_every_stage_on_the_bundled_pictures(tmp_path):
    """`texinr-generate --quick --out DIR` with no stage and no images (here with even smaller settings)."""
    d = tmp_path / "quick"
    assert run(["--quick", "--out", str(d), *TINY, "--scale", "64"]) == 0
    s = json.loads((d / "summary.json").read_text())
    assert len(s["data"]["images"]) == 8 and s["data"]["holdout"] == ["skimage:grass"]
    assert any(i.endswith("default_texture.png") for i in s["data"]["images"])
    assert {"fit", "holdout", "prior", "samples", "interpolation", "total_seconds"} <= set(s)
    assert len(list((d / "samples").glob("*.texinr"))) == 3 and (d / "samples.png").is_file()


def test_samples_are_siren_models_that_decode_to_their_codes(space_dirs, tmp_path):
    from texinr.trainer.cli.decode import decode_entrypoint

    _, d, _ = space_dirs
    space = functa.load_space(d / "space.npz")
    f = load(d / "samples" / "sample_001.texinr")
    assert f.model_config.arch == "siren" and f.train["space"] == space.id
    code = torch.tensor(f.train["code"])
    expected = functa.decode(space.model, code[None], 16)[0]
    png = tmp_path / "s.png"
    with pytest.raises(SystemExit) as e:
        decode_entrypoint([str(d / "samples" / "sample_001.texinr"), str(png)])
    assert e.value.code == 0
    got = np.asarray(Image.open(png), np.float32) / 255
    assert got.shape == (16, 16, 3)
    assert np.abs(got - expected).max() <= 3 / 255  # half-precision weights: a level or two
    from texinr.viewer.scene import packed_from_file

    packed, levels, _ = packed_from_file(d / "samples" / "sample_001.texinr")
    assert levels == 1 and packed.defines["N_OUT"] == 3
    others = [load(d / "samples" / f"sample_{i:03d}.texinr").train["code"] for i in (0, 2)]
    assert all(not np.allclose(o, f.train["code"]) for o in others)


def test_interpolation_ends_are_the_end_codes(space_dirs):
    _, d, _ = space_dirs
    a, b = d / "samples" / "sample_000.texinr", d / "samples" / "sample_002.texinr"
    assert run(["interpolate", str(a), str(b), "--out", str(d), "--points", "3"]) == 0
    space = functa.load_space(d / "space.npz")
    strip = np.asarray(Image.open(d / "interpolation.png"), np.float32) / 255
    for k, path in ((0, a), (2, b)):
        code = torch.tensor(load(path).train["code"])
        tile = strip[2 : 2 + 32, 2 + k * 34 : 2 + k * 34 + 32]
        assert np.abs(tile - functa.decode(space.model, code[None], 32)[0]).max() <= 1 / 255
    middle = strip[2 : 2 + 32, 36 : 36 + 32]
    assert np.abs(middle - strip[2:34, 2:34]).mean() > 0.002  # the path moves


def test_an_image_as_an_end_is_encoded_first(space_dirs):
    imgs, d, _ = space_dirs
    assert run(["interpolate", imgs[3], "crop:1", "--out", str(d), "--points", "2", "--encode-steps", "60"]) == 0
    space = functa.load_space(d / "space.npz")
    strip = np.asarray(Image.open(d / "interpolation.png"), np.float32) / 255
    centre = np.asarray(Image.open(imgs[3]), np.float32)[12:28, 12:28] / 255  # the 16 px centre crop
    code = functa.encode(space.model, centre[None], 60)  # (1, latent): the image's own code
    assert code.shape == (1, 8) and code.abs().max() > 0
    assert np.abs(strip[2:34, 2:34] - functa.decode(space.model, code, 32)[0]).max() <= 1 / 255
    assert json.loads((d / "summary.json").read_text())["interpolation"]["ends"] == ["tex3.png", "crop:1"]


def test_encode_writes_a_generated_model(space_dirs):
    imgs, d, _ = space_dirs
    assert run(["encode", imgs[3], "--out", str(d), "--encode-steps", "40"]) == 0
    f = load(d / "encoded" / "tex3.texinr")
    assert f.model_config.arch == "siren" and "code" in f.train
    rows = json.loads((d / "summary.json").read_text())["encoded"]
    assert rows[0]["image"] == imgs[3] and np.isfinite(rows[0]["psnr"])


def listing(d):
    return sorted((p.relative_to(d), p.stat().st_mtime_ns) for p in d.rglob("*"))


def test_bad_input_is_one_line_and_writes_nothing(space_dirs, tmp_path, capsys):
    imgs, d0, d1 = space_dirs
    before = listing(d1)
    s0, s1 = str(d0 / "samples/sample_000.texinr"), str(d1 / "samples/sample_000.texinr")
    cases = [
        (["sample", "--out", str(d1), "--prior", str(d0 / "prior.npz")], "trained on another space"),
        (["interpolate", s0, s1, "--out", str(d1)], "another space of textures"),
        (["sample", "--out", str(d1), "--prior", str(d1 / "space.npz")], "a space file, not a prior file"),
        (["fit", "--out", str(tmp_path / "empty")], "run `texinr-generate data"),
        (["data", imgs[0], "--out", str(tmp_path / "one"), *TINY], "at least 2 images"),
        (["data", *imgs[:3], "--out", str(tmp_path / "big"), "--crop", "44"], "smaller than a crop"),
        (["data", *imgs[:3], "--out", str(tmp_path / "big2"), "--crop", "64", "--scale", "32"], "larger than"),
        (["interpolate", "crop:999", "crop:0", "--out", str(d1)], "has crops 0 to"),
        (["--out", str(d1)], "name a stage"),
        (["sample", "--out", str(d1), "--eta", "2"], "--eta must be between"),
        (["sample", "--out", str(d1), "--eta", "nan"], "--eta must be a number"),
    ]
    for argv, message in cases:
        assert run(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert listing(d1) == before
    # a data set made since the fit: sample refuses it, and leaves the folder as it was
    other = tmp_path / "other"
    shutil.copytree(d1, other)
    assert run(["data", *imgs[:3], "--out", str(other), *TINY, "--per-image", "3"]) == 0
    before = listing(other)
    assert run(["sample", "--out", str(other), *TINY]) == 2
    assert "not the crops" in capsys.readouterr().err and listing(other) == before
    assert not any((tmp_path / n).exists() for n in ("empty", "one", "big", "big2"))


def test_view_space_headless_and_refused_on_a_material(space_dirs):
    from texinr.trainer.core.errors import TexinrError
    from texinr.viewer.scene import packed_from_space

    _, d, _ = space_dirs
    packed, levels, bits = packed_from_space(d, "rgb")  # what texinr-view --space shows first: the seed-0 sample
    assert levels == 1 and packed.defines["N_OUT"] == 3 and bits > 0
    with pytest.raises(TexinrError, match="colour textures, not a material set"):
        packed_from_space(d, "base_colour,normal")
    with pytest.raises(TexinrError, match="a prior file, not a space file"):
        packed_from_space(d / "prior.npz", "rgb")
