"""A material on a mesh: glTF geometry and tangents, each map on its own, lit shading from the set's channels, and
the same view from the network, the original maps and ASTC's maps."""

import numpy as np
import pytest

from tests.material_fixtures import write_glb, write_gltf
from texinr.trainer.core.config import model_preset
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import load_material
from texinr.trainer.core.models import build_model
from texinr.trainer.core.packing import pack
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.mesh import load_mesh, vertex_tangents
from texinr.viewer.render.render import MeshRenderer, ViewSettings, channel_views, render_offscreen

SIZE = (96, 96)


def front_camera() -> OrbitCamera:
    return OrbitCamera(target=(0.0, 0.0, 0.0), distance=2.6, yaw_deg=0.0, pitch_deg=0.0, fov_y_deg=60.0)


@pytest.fixture(scope="module")
def quad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mat")
    path = write_gltf(folder, size=32)
    return load_mesh(path), load_material(path)


def test_gltf_mesh_uvs_and_tangents(quad, tmp_path):
    mesh, _ = quad
    # glTF's v points down; the loader gives OBJ's (v up): the quad's bottom-left corner is uv (0, 0)
    corner = np.argmin(mesh.positions[:, 0] + mesh.positions[:, 1])
    np.testing.assert_allclose(mesh.uvs[corner], (0.0, 0.0), atol=1e-6)
    # u grows along +x, v along +y on this quad: tangent +x, right-handed (w = +1)
    np.testing.assert_allclose(mesh.tangents[:, :3], np.tile([1.0, 0.0, 0.0], (4, 1)), atol=1e-5)
    assert (mesh.tangents[:, 3] == 1.0).all()
    mirrored = mesh.__class__(mesh.positions, mesh.normals, mesh.uvs * [-1.0, 1.0], mesh.indices, None)
    t = vertex_tangents(mirrored)
    np.testing.assert_allclose(t[:, :3], np.tile([-1.0, 0.0, 0.0], (4, 1)), atol=1e-5)
    assert (t[:, 3] == -1.0).all()  # a mirrored uv layout flips the handedness
    assert load_mesh(write_glb(tmp_path / "q.glb")).indices.shape == (2, 3)
    with pytest.raises(TexinrError, match="no texture coordinates"):
        load_mesh(write_gltf(tmp_path / "nouv", uvs=False))


def centre(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return img[h // 2 - 4 : h // 2 + 4, w // 2 - 4 : w // 2 + 4].reshape(-1, 3).astype(float).mean(axis=0)


def test_each_map_on_its_own_and_shading_follows_the_maps(gl, quad):
    mesh, mset = quad
    r = MeshRenderer(gl, mesh, mset.values, mset.values, 1, mset.layout)
    assert channel_views(mset.layout) == ["shaded", "base_colour", "normal", "occlusion", "roughness", "metallic"]
    cam = front_camera()
    shots = {
        c: render_offscreen(gl, r, cam, SIZE, ViewSettings(view="reference", channel=c, fixed_level=0))
        for c in channel_views(mset.layout)
    }
    # the centre texel of each map, as the view shows it (8-bit)
    h, w = mset.values.shape[:2]
    texel = mset.values[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].reshape(-1, 8).mean(axis=0)
    np.testing.assert_allclose(centre(shots["base_colour"]) / 255, texel[0:3], atol=0.03)
    np.testing.assert_allclose(centre(shots["roughness"]) / 255, [texel[6]] * 3, atol=0.03)
    np.testing.assert_allclose(centre(shots["normal"])[:2] / 255, texel[3:5], atol=0.03)
    # shading uses the normal map: a flat normal map shades differently, and a light from behind is darker
    flat = mset.values.copy()
    flat[..., 3:5] = 0.5
    r2 = MeshRenderer(gl, mesh, flat, flat, 1, mset.layout)
    flat_shot = render_offscreen(gl, r2, cam, SIZE, ViewSettings(view="reference", fixed_level=0))
    assert np.abs(flat_shot.astype(float) - shots["shaded"].astype(float)).mean() > 1.0
    behind = ViewSettings(view="reference", fixed_level=0, light_dir_world=(0, 0, -1), light2_dir_world=(0, 0, -1))
    dark = render_offscreen(gl, r2, cam, SIZE, behind)
    assert centre(dark).mean() < centre(flat_shot).mean() - 10


def test_neural_material_and_a_mismatched_model(gl, quad):
    mesh, mset = quad
    r = MeshRenderer(gl, mesh, mset.values, mset.values, 1, mset.layout)
    model = build_model(model_preset("grid", lod=False, channels=mset.layout, grid_base_res=4, grid_finest_res=8))
    packed = pack(model.cfg.to_dict(), {k: v.detach().numpy() for k, v in model.state_dict().items()})
    r.set_network(packed, 1, 1)
    img = render_offscreen(gl, r, front_camera(), SIZE, ViewSettings(view="split", left="neural", right="reference"))
    assert img.std() > 5
    rgb = build_model(model_preset("grid", lod=False, grid_base_res=4, grid_finest_res=8))
    wrong = pack(rgb.cfg.to_dict(), {k: v.detach().numpy() for k, v in rgb.state_dict().items()})
    with pytest.raises(TexinrError, match="the model has 3 output channels; this material"):
        r.set_network(wrong, 2, 1)
