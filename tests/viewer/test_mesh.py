import numpy as np
import pytest

from texinr.trainer.core.errors import TexinrError
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.mesh import load_mesh

QUAD_OBJ = """o quad
v -1 -1 0
v 1 -1 0
v 1 1 0
v -1 1 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
f 1/1 2/2 3/3 4/4
"""


def test_quads_are_triangulated_and_uvs_kept(tmp_path):
    (tmp_path / "q.obj").write_text(QUAD_OBJ)
    m = load_mesh(tmp_path / "q.obj")
    assert m.indices.shape == (2, 3)
    assert sorted(map(tuple, m.uvs.round(3).tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert m.texture_path is None


def test_ngon_and_several_objects_are_merged(tmp_path):
    text = QUAD_OBJ + "o pentagon\nv 3 0 0\nv 4 0 0\nv 4.5 1 0\nv 3.5 2 0\nv 2.5 1 0\n"
    text += "vt 0 0\nvt 1 0\nvt 1 0.5\nvt 0.5 1\nvt 0 0.5\nf 5/5 6/6 7/7 8/8 9/9\n"
    (tmp_path / "two.obj").write_text(text)
    m = load_mesh(tmp_path / "two.obj")
    assert m.indices.shape[0] == 2 + 3
    assert m.positions[:, 0].max() == pytest.approx(4.5)


def test_uvs_outside_unit_square_are_kept_as_authored(tmp_path):
    (tmp_path / "q.obj").write_text(QUAD_OBJ.replace("vt 1 1", "vt 3 -2"))
    m = load_mesh(tmp_path / "q.obj")
    assert m.uvs.max() == pytest.approx(3.0) and m.uvs.min() == pytest.approx(-2.0)


def test_mtl_texture_is_found(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "t.png")
    (tmp_path / "m.mtl").write_text("newmtl a\nmap_Kd t.png\n")
    (tmp_path / "q.obj").write_text("mtllib m.mtl\nusemtl a\n" + QUAD_OBJ)
    assert load_mesh(tmp_path / "q.obj").texture_path == (tmp_path / "t.png").resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "no texture coordinates"),
        ("", "no triangles|cannot read"),
        ("# nothing but a comment\n", "no triangles|cannot read"),
        ("v 0 0 0\nv nan 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n", "non-finite"),
        ("v 0 0 0\nv 0 0 0\nv 0 0 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n", "degenerate"),
    ],
)
def test_bad_meshes_get_clear_errors(tmp_path, text, message):
    (tmp_path / "bad.obj").write_text(text)
    with pytest.raises(TexinrError, match=message):
        load_mesh(tmp_path / "bad.obj")


def test_missing_and_foreign_mesh_files(tmp_path):
    with pytest.raises(TexinrError, match="no such mesh"):
        load_mesh(tmp_path / "none.obj")
    (tmp_path / "m.ply").write_text("ply\n")
    with pytest.raises(TexinrError, match="meshes are OBJ, glTF"):
        load_mesh(tmp_path / "m.ply")


def test_real_meshes_from_the_development_set(shared_data):
    spot = load_mesh(shared_data / "meshes/spot/spot.obj")
    assert spot.texture_path is not None and spot.texture_path.name == "spot_texture.png"
    quads = load_mesh(shared_data / "meshes/spot/spot_quadrangulated.obj")
    assert quads.indices.shape[0] > 0
    crate = load_mesh(shared_data / "meshes/polyhaven_wooden_crate_01/wooden_crate_01.obj")
    assert crate.texture_path.name == "wooden_crate_01_diff_1k.jpg"
    boat = load_mesh(shared_data / "meshes/boat/boat.obj")
    assert boat.uvs.min() < 0 and boat.texture_path is None
    blub = load_mesh(shared_data / "meshes/blub/blub_triangulated.obj")
    assert blub.texture_path is None  # its .mtl has no map_Kd


def test_camera_frames_the_bounds():
    lo, hi = np.array([-1.0, -2.0, -1.0]), np.array([1.0, 2.0, 1.0])
    cam = OrbitCamera.framing(lo, hi, yaw_deg=0.0, pitch_deg=0.0)
    corners = np.array([[x, y, z, 1.0] for x in (-1, 1) for y in (-2, 2) for z in (-1, 1)])
    clip = corners @ cam.T_clip_world(1.0)
    ndc = clip[:, :3] / clip[:, 3:]
    assert np.all(np.abs(ndc[:, :2]) <= 1.0) and np.all(clip[:, 3] > 0)
    assert np.allclose(cam.eye(), [0, 0, cam.distance])  # yaw 0 looks along -z


def test_an_infinite_vertex_is_one_clear_error_without_library_warnings(tmp_path):
    import warnings

    (tmp_path / "inf.obj").write_text("v 0 0 0\nv inf 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy / trimesh RuntimeWarnings used to come first
        with pytest.raises(TexinrError, match="non-finite"):
            load_mesh(tmp_path / "inf.obj")
