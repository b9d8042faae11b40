"""`texinr-view`: a mesh wearing a neural texture, beside the original and ASTC.

This module holds the headless mode (one frame rendered offscreen through EGL and written as a PNG) and the
render benchmark. The interactive window builds on the same render core.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from texinr.trainer.core import astc
from texinr.trainer.core.arguments import (
    ArgumentParser,
    add_astc_arguments,
    add_material_arguments,
    add_setting,
    add_training_arguments,
    astc_quality_from_args,
    bpp_list,
    check_writable,
    config_from_args,
    given_settings,
    material_files,
    positive_float,
    run_cli,
    size_wxh,
)
from texinr.trainer.core.channels import parse_layout, shipped_images
from texinr.trainer.core.config import CODEC_LADDERS, model_preset, validate_settings
from texinr.trainer.core.data import load_image
from texinr.trainer.core.device import resolve as resolve_device
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.families import names as family_names
from texinr.trainer.core.metrics import masked_psnr
from texinr.trainer.core.models import build_model
from texinr.trainer.core.packing import pack
from texinr.trainer.core.resources import DEFAULT_MESH, DEFAULT_TEXTURE
from texinr.trainer.core.sizing import rate_budget, size_for_bpp
from texinr.viewer.bench_window import benchmark_window
from texinr.viewer.render.filtering import ACCUMULATE_FRAMES, NEURAL_FILTERS, evaluations_per_pixel
from texinr.viewer.render.mesh import load_mesh
from texinr.viewer.render.render import (
    BACKGROUND,
    VIEW_OPTIONS,
    MeshRenderer,
    OffscreenTarget,
    ViewSettings,
    ViewTarget,
    create_context,
    render_offscreen,
    time_uv_grid,
)
from texinr.viewer.render.screen import view_frames
from texinr.viewer.scene import (
    BENCHMARK_RATES,
    NO_DISPLAY_SECONDS,
    VIEW_SECONDS,
    ViewCommand,
    load_surface,
    make_camera,
    prepare_scene,
    save_png,
)
from texinr.viewer.window import App, display_available


def view_parser() -> ArgumentParser:
    p = ArgumentParser(prog="texinr-view", description="See a neural texture on a mesh, beside the original and ASTC.")
    p.add_argument(
        "mesh",
        nargs="?",
        type=Path,
        default=DEFAULT_MESH,
        help="OBJ or glTF (.gltf/.glb) mesh with UVs (default: bundled); a glTF brings its PBR material",
    )
    p.add_argument(
        "texture",
        nargs="?",
        type=Path,
        help="texture image, or a folder of a material's maps (default: the mesh's material: .mtl or glTF)",
    )
    p.add_argument("--model", type=Path, help="a trained .texinr model (shown as it is: no training)")
    p.add_argument(
        "--space",
        type=Path,
        help="texinr-generate's folder (or its space.npz): the Generate panel samples new textures onto the mesh "
        "and moves between two (no training)",
    )
    add_training_arguments(p, seconds_default=f"{VIEW_SECONDS:g}, as texinr-train; then the window offers more")
    p.add_argument("--headless", action="store_true", help="render offscreen (EGL), no window")
    p.add_argument("--screenshot", type=Path, help="write the frame to this PNG")
    for name in VIEW_OPTIONS[:6]:
        add_setting(p, ViewSettings, name, with_default=True)
    p.add_argument(
        "--astc",
        default="auto",
        help="ASTC block for the ASTC path: 'auto' (default: the block of nearest bpp to the model's, mip chain "
        "counted when it has mips) or a block such as 6x6",
    )
    add_astc_arguments(p)
    for name in VIEW_OPTIONS[6:]:
        add_setting(p, ViewSettings, name, with_default=True)
    add_material_arguments(p)
    p.add_argument("--size", type=size_wxh, default=(1280, 720), help="frame size WxH (1280x720)")
    p.add_argument("--yaw", type=float)
    p.add_argument("--pitch", type=float)
    p.add_argument("--distance", type=positive_float)
    p.add_argument(
        "--benchmark",
        action="store_true",
        help="print ms per frame of the neural path of every family and of the reference path",
    )
    p.add_argument("--frames", type=int, default=10, help="frames timed per row of --benchmark")
    p.add_argument(
        "--benchmark-families",
        default=",".join(family_names()),
        help="families timed by --benchmark at their default size (default: all; the 256x3 MLPs take minutes)",
    )
    p.add_argument(
        "--benchmark-rates",
        type=bpp_list,
        default=BENCHMARK_RATES,
        help="bit rates of the codec rows of --benchmark, each sized with mips and both allocations "
        f"(default {','.join(f'{r:g}' for r in BENCHMARK_RATES)})",
    )
    p.add_argument("--screenshot-dir", type=Path, help="where F12 / Ctrl+S screenshots go (default: here)")
    p.add_argument(
        "--benchmark-window",
        type=positive_float,
        metavar="SECONDS",
        help="measure frame times and training speed with the window open (needs a display)",
    )
    return p


def parse_view(argv: list[str] | None) -> ViewCommand:
    a = view_parser().parse_args(argv)
    if a.model is not None and (a.seconds is not None or a.steps is not None):
        raise TexinrError("--model shows a trained file without training; drop --seconds / --steps")
    if a.space is not None and (a.model is not None or a.seconds is not None or a.steps is not None):
        raise TexinrError("--space shows generated textures without training; drop --model / --seconds / --steps")
    if a.space is not None and not a.space.exists():
        raise TexinrError(f"{a.space}: no such file or folder")
    config = config_from_args(a, VIEW_SECONDS)
    if config.train.device != "auto":  # a device this machine lacks: one line now, not a message after the window opens
        resolve_device(config.train.device)
    families = tuple(f.strip() for f in a.benchmark_families.split(",") if f.strip())
    if any(f not in family_names() for f in families):
        raise TexinrError(f"--benchmark-families: choose from {', '.join(family_names())}")
    rates = a.benchmark_rates
    if a.astc != "auto":
        try:
            astc.parse_block(a.astc)
        except ValueError as e:
            raise TexinrError(str(e)) from None
    if a.screenshot is not None and a.screenshot.suffix.lower() != ".png":
        raise TexinrError(f"{a.screenshot}: screenshots are PNG files")
    settings = ViewSettings(**{name: getattr(a, name) for name in VIEW_OPTIONS})
    validate_settings(settings, as_options=True)
    return ViewCommand(
        a.mesh,
        a.texture,
        a.model,
        config,
        a.seconds is not None or a.steps is not None,
        a.headless,
        a.screenshot,
        settings,
        a.astc,
        a.size,
        a.yaw,
        a.pitch,
        a.distance,
        a.benchmark,
        max(1, a.frames),
        a.screenshot_dir,
        a.benchmark_window,
        families,
        astc_quality_from_args(a),
        rates,
        tuple(material_files(a).items()),
        a.normal_dx,
        a.material,
        given_settings(a),
        a.space,
    )


def headless_main(cmd: ViewCommand) -> int:
    if cmd.screenshot is None:
        raise TexinrError("--headless needs --screenshot OUT.png")
    check_writable(cmd.screenshot)
    scene = prepare_scene(cmd)
    ctx = create_context()
    renderer = MeshRenderer(ctx, scene.mesh, scene.image, scene.astc_image, scene.levels, scene.layout)
    if scene.astc_chain is not None:
        renderer.set_astc(scene.astc_image, scene.astc_chain)
    renderer.set_network(scene.packed, 1, scene.levels)
    camera = make_camera(scene.mesh, cmd)
    frame = render_offscreen(ctx, renderer, camera, cmd.size, cmd.settings)
    save_png(cmd.screenshot, frame)
    print(f"texinr-view: wrote {cmd.screenshot} ({cmd.size[0]}x{cmd.size[1]}, view {cmd.settings.view})")
    if scene.packed is not None:
        print(f"texinr-view: {screen_line(ctx, renderer, camera, cmd, scene)}")
    return 0


def screen_line(ctx, renderer: MeshRenderer, camera, cmd: ViewCommand, scene) -> str:
    """The view's on-screen PSNR against the original (the reference view, on the mesh's pixels), as the window's
    Metrics panel says it: the neural view as shown and, when it is on screen, ASTC at equal bits."""
    names = ("reference", "neural", "astc") if scene.astc_block is not None else ("reference", "neural")
    frames, mask = view_frames(ctx, renderer, camera, cmd.size, cmd.settings, names)
    if not mask.any():
        return "on screen: the mesh covers no pixel of this view"
    reference = frames.pop("reference").astype(np.float32) / 255
    parts = []
    for name, frame in frames.items():
        label = "neural" if name == "neural" else f"ASTC {scene.astc_block}"
        parts.append(f"{label} {masked_psnr(reference, frame.astype(np.float32) / 255, mask):.2f} dB")
    return f"on screen against the original ({int(mask.sum())} mesh pixels): " + ", ".join(parts)


def benchmark_main(cmd: ViewCommand) -> int:
    """ms per frame of the neural path of every family (default size, LOD input) and of the reference path; on a
    material (a glTF, a folder of maps, ...), of its shaded material network at the codec's rates (per map) beside
    the single-texture codec's."""
    mesh = load_mesh(cmd.mesh, cmd.material)
    image, layout, _, _ = (
        load_surface(cmd, mesh)
        if cmd.texture or cmd.maps or mesh.texture_path or (cmd.mesh.suffix.lower() in (".gltf", ".glb"))
        else (None, "rgb", None, ())
    )
    if image is None:
        image = load_image(DEFAULT_TEXTURE)
    ctx = create_context()
    cam = make_camera(mesh, cmd)
    target = OffscreenTarget(ctx)
    renderers = {}

    def renderer_for(lay: str):
        if lay not in renderers:
            values = image if lay == layout else image[..., :3]
            renderers[lay] = MeshRenderer(ctx, mesh, values, values, 6, lay)
        return renderers[lay]

    def time_frames(renderer, settings: ViewSettings) -> list[float]:
        target.draw(renderer, cam, cmd.size, settings)  # warm-up: compile, upload
        times: list[float] = []
        start = time.perf_counter()
        # at most `frames` frames, and no more than ~15 s per row (the paper's MLPs take seconds per frame here)
        while len(times) < cmd.frames and (not times or time.perf_counter() - start < 15.0):
            t0 = time.perf_counter()
            target.draw(renderer, cam, cmd.size, settings)  # clear + draw + ctx.finish(); no read-back
            times.append((time.perf_counter() - t0) * 1000.0)
        return times

    def time_moving(renderer, settings: ViewSettings, move: bool) -> list[float]:
        """ms per frame through a window's target (accumulating where the filter does) with the camera orbiting
        2 degrees a frame, or still (accumulate: the cost of each accumulated frame until it converges)."""
        view = ViewTarget(ctx)
        try:
            view.draw(renderer, cam, cmd.size, settings)  # warm-up: compile, upload
            times: list[float] = []
            start = time.perf_counter()
            while len(times) < cmd.frames and (not times or time.perf_counter() - start < 15.0):
                camera = cam.orbit(2.0 * (len(times) + 1), 0.0) if move else cam
                if not move and not view.pending:
                    break
                t0 = time.perf_counter()
                view.draw(renderer, camera, cmd.size, settings)
                times.append((time.perf_counter() - t0) * 1000.0)
            return times
        finally:
            view.release()

    rgb_layout = "rgb"
    ref_times = time_frames(renderer_for(rgb_layout), ViewSettings(view="reference"))
    ref = statistics.median(ref_times)
    rows = [("reference (trilinear RGBA8)", "", ref, len(ref_times))]
    if layout != "rgb":
        t = time_frames(renderer_for(layout), ViewSettings(view="reference"))
        rows.append(
            ("reference material, shaded", f"{len(t) and image.shape[2]} channels", statistics.median(t), len(t))
        )
    h, w = image.shape[:2]
    models = [(f"neural {arch}", model_preset(arch, lod=True), rgb_layout) for arch in cmd.benchmark_families]
    images = 1
    if layout != "rgb":
        images = len(shipped_images(parse_layout(layout)))
    for rate in cmd.benchmark_rates:  # the window's live codec: sized to a rate with mips, as the window sizes it
        budget = rate_budget(rate, w, h, 6)
        for ladder in CODEC_LADDERS:  # both allocations the window offers (trainer.core.allocation races them)
            cfg = size_for_bpp("codec", budget, w, h, 16, lod=True, ladder=ladder)
            models.append((f"neural codec @ {rate:.2f} {ladder} (+mips)", cfg, rgb_layout))
            if layout != "rgb":  # the material network at the same rate per map, shaded
                mbudget = rate_budget(rate * images, w, h, 6, images)
                mcfg = size_for_bpp("codec", mbudget, w, h, 16, lod=True, ladder=ladder, channels=layout)
                models.append((f"material codec @ {rate:.2f}/map {ladder}", mcfg, layout))
    for name, cfg, lay in models:
        model = build_model(cfg)
        packed = pack(model.cfg.to_dict(), {k: v.detach().numpy() for k, v in model.state_dict().items()})
        renderer = renderer_for(lay)
        renderer.set_network(packed, name, 6)
        times = time_frames(renderer, ViewSettings(view="neural"))
        d = packed.defines
        where = "code" if d["MLP_UNROLLED"] else "texture"
        rows.append((name, f"MLP {cfg.width}x{cfg.depth} in {where}", statistics.median(times), len(times)))
        if "codec @" in name:  # the worst case: the network on every pixel of the frame
            full = time_uv_grid(ctx, renderer.programs, packed, *cmd.size, cmd.frames)
            rows.append(("  same, full screen", "every pixel (worst case)", statistics.median(full), len(full)))
        if "codec @" in name and lay == rgb_layout and name.endswith(f"{next(iter(CODEC_LADDERS))} (+mips)"):
            # the neural filter modes while the camera orbits (2 degrees a frame), the reference re-run beside them
            t = time_moving(renderer_for(rgb_layout), ViewSettings(view="reference"), True)
            rows.append(("  reference, orbiting", "trilinear + 16x aniso", statistics.median(t), len(t)))
            for mode in NEURAL_FILTERS:
                t = time_moving(renderer, ViewSettings(view="neural", filter=mode), True)
                what = f"{evaluations_per_pixel(mode)} evaluations/pixel"
                rows.append((f"  filter {mode}, orbiting", what, statistics.median(t), len(t)))
            t = time_moving(renderer, ViewSettings(view="neural", filter="accumulate"), False)
            rows.append(("  accumulate, still", f"{ACCUMULATE_FRAMES} frames to converge", statistics.median(t), len(t)))
    renderer = renderer_for(rgb_layout)
    target.draw(renderer, cam, cmd.size, ViewSettings(view="reference"))
    frame = target.read()
    covered = float((np.abs(frame.astype(int) - np.round(np.array(BACKGROUND[:3]) * 255)).sum(axis=2) > 3).mean())
    print(
        f"{ctx.info['GL_RENDERER']}; {cmd.size[0]}x{cmd.size[1]}; {mesh.indices.shape[0]} triangles covering "
        f"{covered:.0%} of the frame; median of up to {cmd.frames} frames after a warm-up"
    )
    print(f"{'path':32s} {'size':24s} {'ms/frame':>9s} {'fps':>7s} {'x reference':>12s} {'frames':>7s}")
    for name, size, ms, n in rows:
        print(f"{name:32s} {size:24s} {ms:9.1f} {1000.0 / ms:7.1f} {ms / ref:12.1f} {n:7d}")
    return 0


def view_main(cmd: ViewCommand) -> int:
    if cmd.benchmark:
        return benchmark_main(cmd)
    if cmd.benchmark_window:
        if not display_available():
            raise TexinrError("--benchmark-window needs a display; run it under xvfb-run")
        return benchmark_window(cmd, cmd.benchmark_window)
    if cmd.headless:
        return headless_main(cmd)
    if not display_available():
        shot = cmd.screenshot or Path("texinr-view.png")
        tc = cmd.config.train
        seconds = tc.seconds if cmd.seconds_given else NO_DISPLAY_SECONDS
        budget = f"{tc.steps} steps" if tc.steps is not None else f"{seconds:g} s"
        settings = cmd.settings
        if settings == ViewSettings():  # nothing asked of the view: the race, neural | ASTC at equal bits
            settings = replace(settings, view="split", left="neural", right="astc")
        print(
            "texinr-view: no display (DISPLAY / WAYLAND_DISPLAY unset); running headless instead: a "
            f"{budget} training run, its view written to {shot}. For the window use "
            "`xvfb-run texinr-view ...`, or pass --headless --screenshot OUT.png yourself.",
            file=sys.stderr,
        )
        train = replace(tc, seconds=seconds) if tc.steps is None else tc
        run = replace(cmd, headless=True, screenshot=shot, config=replace(cmd.config, train=train), settings=settings)
        return headless_main(run)
    app = App(cmd, screenshot_dir=cmd.screenshot_dir)
    app.run()
    return 0


def entrypoint(argv: list[str] | None = None) -> int:
    sys.exit(run_cli("texinr-view", parse_view, view_main, argv))


if __name__ == "__main__":
    entrypoint()
