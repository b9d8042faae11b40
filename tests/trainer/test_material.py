"""Material sets: found in glTF / .glb / OBJ + .mtl / a folder / named maps, put into their spaces on one grid,
written back as maps, judged per map; bad input is one clear error."""

import json

import numpy as np
import pytest

from tests.material_fixtures import maps, png_bytes, write_folder, write_glb, write_gltf, write_obj
from texinr.trainer.core.channels import normal_xyz, parse_layout, shipped_images
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import angular_error_deg, astc_maps, load_material, map_metrics, to_map_images

FULL = "base_colour,normal,occlusion,roughness,metallic"


def check_full_set(mset, size=32):
    m = maps(size)
    assert mset.layout == FULL and mset.values.shape == (size, size, 8)
    np.testing.assert_allclose(mset.values[..., 0:3], m["base_colour"] / 255.0, atol=1e-6)
    np.testing.assert_allclose(mset.values[..., 3:5], m["normal"][..., :2] / 255.0, atol=1e-6)
    np.testing.assert_allclose(mset.values[..., 5:8], m["arm"] / 255.0, atol=1e-6)  # occlusion, roughness, metallic


def test_gltf_external_embedded_and_glb_give_the_same_set(tmp_path):
    a = load_material(write_gltf(tmp_path / "ext"))
    b = load_material(write_gltf(tmp_path / "emb", embed=True))
    c = load_material(write_glb(tmp_path / "q.glb"))
    for s in (a, b, c):
        check_full_set(s)
    assert any("ARM pack" in n for n in a.notes)  # occlusion taken from R, and said so


def test_gltf_without_arm_name_has_no_occlusion_unless_the_material_says_so(tmp_path):
    p = write_gltf(tmp_path / "g")
    (tmp_path / "g" / "quad_arm.png").rename(tmp_path / "g" / "quad_mr.png")
    doc = json.loads(p.read_text())
    doc["images"][2]["uri"] = "quad_mr.png"
    p.write_text(json.dumps(doc))
    assert load_material(p).layout == "base_colour,normal,roughness,metallic"
    doc["materials"][0]["occlusionTexture"] = {"index": 2}
    p.write_text(json.dumps(doc))
    assert load_material(p).layout == FULL


def test_texture_moved_beside_the_gltf_is_found_and_said(tmp_path):
    p = write_gltf(tmp_path / "g")
    doc = json.loads(p.read_text())
    doc["images"][0]["uri"] = "textures/quad_diff.png"
    p.write_text(json.dumps(doc))
    s = load_material(p)
    assert any("beside the glTF" in n for n in s.notes)
    (tmp_path / "g" / "quad_diff.png").unlink()
    with pytest.raises(TexinrError, match=r"texture textures/quad_diff\.png is missing"):
        load_material(p)


def test_folder_obj_and_named_maps(tmp_path):
    write_folder(tmp_path / "f")
    check_full_set(load_material(tmp_path / "f"))
    s = load_material(write_obj(tmp_path / "o"))
    assert s.layout == "base_colour,normal,roughness"
    m = maps()
    np.testing.assert_allclose(s.values[..., 5], m["arm"][..., 1] / 255.0, atol=1e-6)
    h = load_material(write_obj(tmp_path / "h", bump_height=True))
    assert h.layout == "base_colour,roughness" and any("height map" in n for n in h.notes)
    named = load_material(
        files={"base_colour": tmp_path / "f" / "x_diff.png", "normal": tmp_path / "f" / "x_nor_gl.png"}
    )
    assert named.layout == "base_colour,normal"


def test_directx_normal_is_flipped(tmp_path):
    write_folder(tmp_path / "f", names=("x_diff.png", "x_nor_dx.png", "x_arm.png"))
    s = load_material(tmp_path / "f")
    np.testing.assert_allclose(s.values[..., 4], 1.0 - maps()["normal"][..., 1] / 255.0, atol=1e-6)
    assert any("DirectX" in n for n in s.notes)


def test_resampled_sizes_and_alpha_are_said(tmp_path):
    f = tmp_path / "f"
    write_folder(f)
    small = maps(16)["arm"]
    (f / "x_arm.png").write_bytes(png_bytes(small))
    rgba = np.concatenate([maps()["base_colour"], np.full((32, 32, 1), 128, np.uint8)], axis=2)
    (f / "x_diff.png").write_bytes(png_bytes(rgba))
    s = load_material(f)
    assert s.values.shape[:2] == (32, 32) and "alpha" in s.layout
    assert any("resampled to 32x32" in n for n in s.notes) and any("alpha" in n for n in s.notes)


@pytest.mark.parametrize(
    "setup, message",
    [
        ("no_uvs_is_fine_for_maps", None),
        ("missing", "is missing"),
        ("not_image", "not an image"),
        ("aspect", "different aspect ratios"),
        ("two_materials", None),
        ("bad_choice", "no material named"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, setup, message):
    if setup == "no_uvs_is_fine_for_maps":  # the maps load; the viewer refuses the mesh (tests/viewer)
        assert load_material(write_gltf(tmp_path / "g", uvs=False)).layout == FULL
        return
    if setup == "missing":
        p = write_gltf(tmp_path / "g")
        (tmp_path / "g" / "quad_nor_gl.png").unlink()
        target = p
    elif setup == "not_image":
        target = write_glb(tmp_path / "q.glb", image_bytes=[b"not an image at all", png_bytes(maps()["normal"])])
    elif setup == "aspect":
        f = tmp_path / "f"
        write_folder(f)
        (f / "x_arm.png").write_bytes(png_bytes(np.zeros((16, 32, 3), np.uint8)))
        target = f
    else:
        mats = [
            {"name": "first", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}},
            {"name": "second", "normalTexture": {"index": 1}},
        ]
        target = write_gltf(tmp_path / "g", materials=mats)
        if setup == "two_materials":
            s = load_material(target)
            assert s.layout == "base_colour" and any("fitting the first, 'first'" in n for n in s.notes)
            assert load_material(target, material="second").layout == "normal"
            assert load_material(target, material=1).layout == "normal"
            return
        with pytest.raises(TexinrError, match=message):
            load_material(target, material="third")
        return
    with pytest.raises(TexinrError, match=message):
        load_material(target)


def test_a_photo_as_normal_map_is_said_and_still_fitted(tmp_path):
    f = tmp_path / "f"
    write_folder(f)
    photo = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    (f / "x_nor_gl.png").write_bytes(png_bytes(photo))
    s = load_material(f)
    assert "normal" in s.layout and any("does not look like a tangent-space normal map" in n for n in s.notes)


def test_maps_written_back_and_per_map_metrics(tmp_path):
    s = load_material(write_gltf(tmp_path / "g"))
    images = to_map_images(s.values, s.layout)
    assert tuple(images) == shipped_images(parse_layout(s.layout)) == ("base_colour", "normal", "arm")
    np.testing.assert_array_equal(images["arm"], maps()["arm"])
    # the normal written out is unit length with z reconstructed from x, y
    n = images["normal"].astype(np.float32) / 255 * 2 - 1
    assert np.abs(np.linalg.norm(n, axis=-1) - 1).max() < 0.02
    same = map_metrics(s.values, s.values, s.layout, with_flip=False)
    assert same["normal"]["mean_deg"] < 0.01 and same["occlusion"]["exact"] and same["occlusion"]["psnr"] is None
    worse = s.values.copy()
    worse[..., 3] = np.clip(worse[..., 3] + 0.05, 0, 1)
    got = map_metrics(s.values, worse, s.layout, with_flip=False)
    assert 1.0 < got["normal"]["mean_deg"] < 10.0 and got["roughness"]["exact"]


def test_angular_error_is_the_angle():
    a = np.array([[0.5, 0.5]])  # (0, 0, 1)
    x = np.sin(np.radians(30.0))
    b = np.array([[(x + 1) / 2, 0.5]])  # 30 degrees towards +x
    assert angular_error_deg(a, b)[0] == pytest.approx(30.0, abs=1e-3)
    np.testing.assert_allclose(np.linalg.norm(normal_xyz(np.random.rand(10, 2)), axis=-1), 1.0, atol=1e-6)


def test_astc_per_map_counts_every_image_and_uses_normal_mode(tmp_path):
    s = load_material(write_gltf(tmp_path / "g", size=64))
    decoded, bits, per_image = astc_maps(s.values, s.layout, "8x8", 60.0)
    assert set(per_image) == {"base_colour", "normal", "arm"} and bits == 3 * 128 * 64
    m = map_metrics(s.values, decoded, s.layout, with_flip=False)
    assert m["normal"]["mean_deg"] < 3.0 and m["base_colour"]["psnr"] > 30


def test_train_decode_and_bench_on_a_material(tmp_path, capsys):
    """The command line end to end on a tiny set: train (report per map beside ASTC), decode every map, bench."""
    from PIL import Image

    from texinr.trainer.cli.decode import decode_entrypoint
    from texinr.trainer.cli.train import train_entrypoint
    from texinr.trainer.core.modelfile import load

    gltf = write_gltf(tmp_path / "g", size=32)
    out = tmp_path / "q.texinr"
    with pytest.raises(SystemExit) as e:
        train_entrypoint([str(gltf), "-o", str(out), "--steps", "30", "--bpp", "6", "--mips", "2", "--threads", "1"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "ASTC 8x8 per map" in text and "normal" in text and "mean angle deg" in text
    f = load(out)
    assert f.model_config.channels == FULL and f.model_config.outputs == 8
    assert set(f.metrics["maps"]) == {"base_colour", "normal", "occlusion", "roughness", "metallic"}
    with pytest.raises(SystemExit) as e:
        decode_entrypoint([str(out), str(tmp_path / "d.png")])
    assert e.value.code == 0
    for name in ("base_colour", "normal", "arm"):
        assert Image.open(tmp_path / f"d_{name}.png").size == (32, 32)
    assert not (tmp_path / "d.png").exists()

    from texinr.trainer.cli.bench import entrypoint

    bench_out = tmp_path / "bench"
    argv = ["--materials", str(gltf), "--blocks", "12x12", "--steps", "20", "--mips", "2", "--out", str(bench_out)]
    with pytest.raises(SystemExit) as e:
        entrypoint([*argv, "--threads", "1"])
    assert e.value.code == 0
    rows = json.loads((bench_out / "results.json").read_text())
    assert rows[0]["block"] == "12x12" and rows[0]["texinr"]["maps"]["normal"]["mean_deg"] > 0
    assert abs(rows[0]["texinr"]["bpp"] / rows[0]["astc"]["bpp"] - 1) < 0.1
    assert "## ASTC 12x12 per map" in (bench_out / "summary.md").read_text()
    assert (bench_out / "materials.png").stat().st_size > 1000
    # one codec per shipped map, added to the cached one-network row (equal compute: a third of the steps each)
    with pytest.raises(SystemExit) as e:
        entrypoint([*argv, "--threads", "1", "--separate-split"])
    assert e.value.code == 0
    again = json.loads((bench_out / "results.json").read_text())[0]
    assert again["texinr"] == rows[0]["texinr"]  # not retrained
    parts = again["separate_split"]["parts"]
    assert set(parts) == {"base_colour", "normal", "arm"} and all(p["steps"] == 6 for p in parts.values())
    assert abs(again["separate_split"]["bpp"] / again["astc"]["bpp"] - 1) < 0.15
    assert "a third of the seconds each" in (bench_out / "summary.md").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--base-colour", "nope.png"], "no such file"),
        (["IMG", "--normal", "N"], "name the base colour with --base-colour"),
        (["GLTF", "--material", "zzz"], "no material named"),
        (["IMG", "--normal-dx"], "apply to a material"),
        (["GLTF", "--channels", "rgb"], "unrecognized arguments: --channels"),
    ],
)
def test_material_command_line_errors(tmp_path, capsys, argv, message):
    from texinr.trainer.cli.train import train_entrypoint

    gltf = write_gltf(tmp_path / "g")
    img = tmp_path / "g" / "quad_diff.png"
    subst = {"IMG": str(img), "GLTF": str(gltf), "N": str(tmp_path / "g" / "quad_nor_gl.png")}
    argv = [subst.get(a, a) for a in argv] + ["-o", str(tmp_path / "x.texinr"), "--steps", "1"]
    with pytest.raises(SystemExit) as e:
        train_entrypoint(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "x.texinr").exists()


def test_view_refuses_a_model_of_another_set_in_one_line(tmp_path, capsys):
    """texinr-view on a material with a .texinr of one RGB texture: exit 2, one line, no screenshot."""
    from texinr.trainer.core.config import model_preset
    from texinr.trainer.core.modelfile import pack, save
    from texinr.trainer.core.models import build_model
    from texinr.viewer.app import entrypoint

    gltf = write_gltf(tmp_path / "g")
    rgb = tmp_path / "rgb.texinr"
    save(pack(build_model(model_preset("grid", lod=False, grid_base_res=4, grid_finest_res=8)), 16, 32, 32, 1), rgb)
    shot = tmp_path / "shot.png"
    with pytest.raises(SystemExit) as e:
        entrypoint([str(gltf), "--model", str(rgb), "--headless", "--screenshot", str(shot), "--size", "64x48"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the model has 3 output channels; this material" in err[0]
    assert not shot.exists()
