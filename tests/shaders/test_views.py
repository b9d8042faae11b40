"""Orientation, views and reference images, rendered headlessly through EGL."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.trainer.core.fit import fit
from texinr.trainer.core.packing import pack
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.mesh import load_mesh
from texinr.viewer.render.render import MeshRenderer, ViewSettings, render_offscreen

REFERENCE_DIR = Path(__file__).parent / "reference"
QUAD_OBJ = "v -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf 1/1 2/2 3/3 4/4\n"
# top-left red, top-right green, bottom-left blue, bottom-right white: no flip or rotation maps it to itself
QUADRANTS = {"top_left": (1, 0, 0), "top_right": (0, 1, 0), "bottom_left": (0, 0, 1), "bottom_right": (1, 1, 1)}


def quadrant_texture(n: int = 32) -> np.ndarray:
    img = np.zeros((n, n, 3), np.float32)
    h = n // 2
    img[:h, :h], img[:h, h:] = QUADRANTS["top_left"], QUADRANTS["top_right"]
    img[h:, :h], img[h:, h:] = QUADRANTS["bottom_left"], QUADRANTS["bottom_right"]
    return img


@pytest.fixture(scope="module")
def quad_scene(gl, tmp_path_factory):
    path = tmp_path_factory.mktemp("quad") / "quad.obj"
    path.write_text(QUAD_OBJ)
    img = quadrant_texture()
    cfg = Config(
        model_preset("grid", lod=False, grid_base_res=4, grid_finest_res=16),
        TrainConfig(steps=200, seconds=None, mips=1, batch=2048),
    )
    model = fit(img, cfg).model
    packed = pack(cfg.model.to_dict(), {k: v.detach().numpy() for k, v in model.state_dict().items()})
    renderer = MeshRenderer(gl, load_mesh(path), img, img[:, ::-1].copy(), levels=1)  # "ASTC" mirrored on purpose
    renderer.set_network(packed, 1, 1)
    cam = OrbitCamera(target=(0, 0, 0), distance=2.5, yaw_deg=0.0, pitch_deg=0.0, fov_y_deg=60.0)
    return renderer, cam


def sample_quadrants(frame: np.ndarray) -> dict[str, np.ndarray]:
    h, w = frame.shape[:2]
    cy, cx, dy, dx = h // 2, w // 2, h // 8, w // 8
    return {
        "top_left": frame[cy - dy, cx - dx],
        "top_right": frame[cy - dy, cx + dx],
        "bottom_left": frame[cy + dy, cx - dx],
        "bottom_right": frame[cy + dy, cx + dx],
    }


@pytest.mark.parametrize("view", ["reference", "neural", "astc"])
def test_marker_lands_the_right_way_up(gl, quad_scene, view):
    renderer, cam = quad_scene
    frame = render_offscreen(gl, renderer, cam, (96, 96), ViewSettings(view=view)) / 255.0
    got = sample_quadrants(frame)
    for name, colour in QUADRANTS.items():
        if view == "astc":  # the test's ASTC image is the mirror image: proves the path reads its own texture
            colour = QUADRANTS[name.replace("left", "L").replace("right", "left").replace("L", "right")]
        assert np.abs(got[name] - colour).max() < 0.2, (view, name, got[name])


def test_split_view_has_both_halves(gl, quad_scene):
    renderer, cam = quad_scene
    s = ViewSettings(view="split", left="reference", right="astc", divider=0.5)
    frame = render_offscreen(gl, renderer, cam, (96, 96), s) / 255.0
    q = sample_quadrants(frame)
    assert np.abs(q["top_left"] - QUADRANTS["top_left"]).max() < 0.2  # reference on the left
    assert np.abs(q["top_right"] - QUADRANTS["top_left"]).max() < 0.2  # mirrored ASTC on the right


def test_difference_view(gl, quad_scene):
    renderer, cam = quad_scene
    same = render_offscreen(gl, renderer, cam, (64, 64), ViewSettings(view="diff", left="reference", right="reference"))
    assert same[16:48, 16:48].max() == 0
    diff = render_offscreen(
        gl, renderer, cam, (64, 64), ViewSettings(view="diff", left="reference", right="astc", diff_gain=1.0)
    )
    assert diff[20, 20].max() > 200  # red vs green differs strongly
    heat = render_offscreen(
        gl, renderer, cam, (64, 64), ViewSettings(view="diff", left="reference", right="astc", diff_heat=True)
    )
    assert heat[20, 20].sum() > 0 and heat[32, 32].sum() >= 0


def test_lod_false_colour_changes_with_distance(gl, tmp_path):
    from dataclasses import replace

    path = tmp_path / "quad.obj"
    path.write_text(QUAD_OBJ)
    img = np.random.default_rng(0).random((256, 256, 3)).astype(np.float32)
    renderer = MeshRenderer(gl, load_mesh(path), img, img, levels=6)
    near = OrbitCamera(distance=1.0, yaw_deg=0, pitch_deg=0, fov_y_deg=60)
    s = ViewSettings(view="lod")
    a = render_offscreen(gl, renderer, near, (64, 64), s)[32, 32]
    b = render_offscreen(gl, renderer, replace(near, distance=12.0), (64, 64), s)[32, 32]
    assert np.abs(a.astype(int) - b.astype(int)).max() > 60  # a different level, a different colour
    fixed = render_offscreen(gl, renderer, near, (64, 64), replace(s, fixed_level=3))[32, 32]
    fixed_far = render_offscreen(gl, renderer, replace(near, distance=12.0), (64, 64), replace(s, fixed_level=3))
    assert np.array_equal(fixed, fixed_far[32, 32])


def _compare_or_regenerate(request, frame: np.ndarray, name: str, gl) -> None:
    path = REFERENCE_DIR / name
    if request.config.getoption("--regenerate-screenshots"):
        REFERENCE_DIR.mkdir(exist_ok=True)
        Image.fromarray(frame).save(path)
        return
    if "llvmpipe" not in gl.info["GL_RENDERER"]:
        pytest.skip("reference images are compared on Mesa's llvmpipe only")
    expected = np.asarray(Image.open(path).convert("RGB")).astype(int)
    diff = np.abs(expected - frame.astype(int))
    assert diff.mean() < 1.0 and (diff.max(axis=2) <= 24).mean() > 0.995, f"{name}: mean {diff.mean():.2f}"


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("torus_reference.png", ViewSettings(view="reference")),
        ("torus_split_lit.png", ViewSettings(view="split", left="neural", right="reference", divider=0.4, lit=True)),
        ("torus_lod.png", ViewSettings(view="lod")),
    ],
)
def test_reference_images(gl, request, name, settings):
    from tests.shaders.test_parity import textured_model
    from texinr.trainer.core.data import load_image
    from texinr.trainer.core.resources import ASSETS

    mesh = load_mesh(ASSETS / "default_mesh.obj")
    img = load_image(ASSETS / "default_texture.png")
    renderer = MeshRenderer(gl, mesh, img, img, levels=6)
    model = textured_model("grid", True, seed=5)
    renderer.set_network(
        pack(model.cfg.to_dict(), {k: v.detach().numpy() for k, v in model.state_dict().items()}), 1, 6
    )
    lo, hi = mesh.bounds
    frame = render_offscreen(gl, renderer, OrbitCamera.framing(lo, hi), (160, 96), settings)
    _compare_or_regenerate(request, frame, name, gl)


@pytest.mark.parametrize("view", ["reference", "neural"])
def test_texture_repeats_across_the_uv_square(gl, quad_scene, view):
    """--repeat 2: the quad shows the texture twice in each direction, the right way up, in both paths."""
    from texinr.viewer.render.render import BACKGROUND

    renderer, cam = quad_scene
    frame = render_offscreen(gl, renderer, cam, (128, 128), ViewSettings(view=view, uv_repeat=2.0)) / 255.0
    ys, xs = np.nonzero(np.abs(frame - np.array(BACKGROUND[:3])).sum(axis=2) > 0.05)
    (y0, y1), (x0, x1) = (ys.min(), ys.max()), (xs.min(), xs.max())
    for fy, row in ((1 / 8, "top"), (3 / 8, "bottom"), (5 / 8, "top"), (7 / 8, "bottom")):
        for fx, col in ((1 / 8, "left"), (3 / 8, "right"), (5 / 8, "left"), (7 / 8, "right")):
            got = frame[int(y0 + fy * (y1 - y0)), int(x0 + fx * (x1 - x0))]
            assert np.abs(got - QUADRANTS[f"{row}_{col}"]).max() < 0.2, (view, fy, fx, got)
