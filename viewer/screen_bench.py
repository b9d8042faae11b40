"""`texinr-bench --screen`: quality where it is seen, on a mesh on screen, against a supersampled ground truth.

For each texture and rate: the default codec trained for a budget at that rate with mips (the model is kept in
OUT/models), ASTC at the block of the nearest rate with its whole mip chain coded, and four fixed 1280x720 views:
the bundled torus at yaw 30, pitch 35, distances 1.2 / 2.5 / 5 (texels magnified, about one texel per pixel,
minified) and the bundled plane seen 80 degrees from its normal (grazing). Each view is judged against its ground
truth (viewer/render/screen.py: the original texture averaged over S x S positions per pixel, independent of any
filter mode) on the mesh's pixels: the neural view in every filter mode (accumulate after it has converged; its
first frame is the one-sample frame), ASTC and the reference (the original), those two with trilinear + 16x
anisotropic filtering. The screen gap of a view is (neural - ASTC on screen) - (neural - ASTC on the texture, at
texel centres of the base level): how much of the texture's lead (or deficit) the screen loses.

Rows are cached per texture and rate (OUT/cache), so a run that stops resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from texinr.trainer.core import astc
from texinr.trainer.core.arguments import bpp_list
from texinr.trainer.core.config import CODEC_LAYOUTS, Config, TrainConfig, model_preset, setting
from texinr.trainer.core.data import SCREEN_CENTRE_SHARE
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.fit import fit
from texinr.trainer.core.inputs import expand_inputs, load_texture, texture_name
from texinr.trainer.core.metrics import psnr
from texinr.trainer.core.modelfile import atomic_write, load, pack, packed_of, save
from texinr.trainer.core.resources import DEFAULT_MESH
from texinr.trainer.core.train import RECIPE, render
from texinr.viewer.render.camera import OrbitCamera
from texinr.viewer.render.filtering import ACCUMULATE_FRAMES, ACCUMULATE_LOD_BIAS
from texinr.viewer.render.mesh import load_mesh
from texinr.viewer.render.render import MeshRenderer, ViewSettings, create_context, render_offscreen
from texinr.viewer.render.screen import TRUTH_SAMPLES, ground_truth, screen_scores
from texinr.viewer.scene import save_png

PLANE_MESH = DEFAULT_MESH.parent / "plane.obj"
SIZE = (1280, 720)
MIPS = 6
FILTERS_MEASURED = ("one", "trilinear", "aniso:8", "accumulate")
"""The neural filter modes measured (aniso:8 stands for the anisotropic modes)."""


@dataclass(frozen=True)
class ScreenView:
    name: str
    mesh: str  # "torus" (the bundled default mesh) or "plane"
    yaw: float
    pitch: float
    distance: float

    def camera(self) -> OrbitCamera:
        return OrbitCamera(distance=self.distance, yaw_deg=self.yaw, pitch_deg=self.pitch)


VIEWS = (
    ScreenView("magnified", "torus", 30.0, 35.0, 1.2),
    ScreenView("normal", "torus", 30.0, 35.0, 2.5),
    ScreenView("minified", "torus", 30.0, 35.0, 5.0),
    ScreenView("grazing", "plane", 0.0, 10.0, 1.5),
)


@dataclass(frozen=True)
class ScreenBenchCommand:
    """A screen bench run, each setting defined once here (texinr-bench --screen's options are made from these)."""

    inputs: tuple[str, ...]
    size: int = setting(512, "resize every texture to SIZE x SIZE", 16, 4096, quick=128)
    seconds: float = setting(120.0, "training budget per model, in seconds", 0.001, 1e9, quick=3.0)
    bpps: tuple[float, ...] = setting(
        (2.0, 0.89), "rates, with mips (ASTC at the block of the nearest rate, its mip chain counted)",
        parse=bpp_list, flag="bpp", quick=(2.0,),
    )  # fmt: skip
    jitter: bool = setting(True, "train for the screen (TrainConfig.jitter); --no-jitter: texel centres only")
    codec_layout: str = setting("corner", "where the codec's grid vertices sit (ModelConfig)", choices=CODEC_LAYOUTS)
    samples: int = setting(TRUTH_SAMPLES, "ground truth: S x S samples per pixel", 1, 32, quick=2)
    seed: int = setting(0, "seed of initialisation and sampling", 0, 2**31 - 1)
    threads: int = setting(0, "torch CPU threads (0: every core)", 0, 1024)
    shots: bool = setting(False, "also write each view's frames as PNGs (OUT/shots)")
    out: Path | None = None
    astc_quality: float = astc.DEFAULT_QUALITY
    progress: bool | None = None


def model_key(cmd: ScreenBenchCommand) -> str:
    """What a kept model depends on: a run with other training settings trains its own."""
    d = {
        "size": cmd.size,
        "seconds": cmd.seconds,
        "jitter": cmd.jitter,
        "layout": cmd.codec_layout,
        "centre_share": SCREEN_CENTRE_SHARE,
        "seed": cmd.seed,
        "recipe": RECIPE,
    }
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


def settings_key(cmd: ScreenBenchCommand) -> str:
    """What a cached row depends on: the model's settings and how it is measured (a change re-renders from the
    kept models, without training)."""
    d = {
        "model": model_key(cmd),
        "samples": cmd.samples,
        "q": cmd.astc_quality,
        "views": [dataclasses.astuple(v) for v in VIEWS],
        "filters": [FILTERS_MEASURED, ACCUMULATE_FRAMES, ACCUMULATE_LOD_BIAS, "r3"],
    }
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


ROW_FIELDS = {"texture": str, "rate": float, "view": str, "method": str, "psnr": float, "flip": float}


def read_rows(path: Path) -> list[dict] | None:
    """A cache file's rows, checked field by field; None (computed again) when it is missing or not what this
    version writes."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("rows"), list)
        or not isinstance(data.get("texture"), dict)
    ):
        return None
    for row in data["rows"]:
        if not isinstance(row, dict):
            return None
        if any(not isinstance(row.get(k), (float, int) if t is float else t) for k, t in ROW_FIELDS.items()):
            return None
        if isinstance(row["psnr"], bool) or not math.isfinite(row["psnr"]):
            return None
    tex = data["texture"]
    if not all(isinstance(tex.get(k), float | int) and not isinstance(tex.get(k), bool) for k in ("neural", "astc")):
        return None
    return data


def train_model(img: np.ndarray, rate: float, cmd: ScreenBenchCommand, path: Path | None):
    """The default codec at `rate` with mips, trained for the budget (kept at `path`): (its file, steps)."""
    model_cfg = model_preset("codec", lod=True, codec_layout=cmd.codec_layout)
    train = TrainConfig(mips=MIPS, seconds=cmd.seconds, seed=cmd.seed, threads=cmd.threads, jitter=cmd.jitter)
    result = fit(img, Config(model=model_cfg, train=train, bpp=rate))
    h, w = img.shape[:2]
    f = pack(result.model, 16, w, h, MIPS, train={"steps_done": result.snapshot.step})
    if path is not None:
        save(f, path)
    return f, result.snapshot.step


def measure(name: str, img: np.ndarray, rate: float, cmd: ScreenBenchCommand, ctx, meshes, truths) -> dict:
    """Train (or read the model kept by a run with these settings), then every view: the rows of one texture at one
    rate."""
    model_path = cmd.out / "models" / f"{name}@{rate:g}-{model_key(cmd)}.texinr" if cmd.out is not None else None
    if model_path is not None and model_path.exists():
        tf = load(model_path)
        steps = tf.train.get("steps_done") if isinstance(tf.train.get("steps_done"), int) else None
    else:
        tf, steps = train_model(img, rate, cmd, model_path)
    model = tf.build().eval()
    h, w = img.shape[:2]
    texture_neural = psnr(img, render(model, h, w, 0.0))
    block = astc.nearest_block(rate, w, h)
    chain = astc.decoded_chain(img, block, cmd.astc_quality)
    texture_astc = psnr(img, chain[0])
    packed = packed_of(tf)
    rows = []
    for view in VIEWS:
        renderer = MeshRenderer(ctx, meshes[view.mesh], img, chain[0], MIPS)
        try:
            renderer.set_astc(chain[0], chain[1:])
            renderer.set_network(packed, 1, tf.mips)
            rows += measure_view(name, rate, view, renderer, img, cmd, ctx, truths)
        finally:
            renderer.release_geometry_and_images()
            renderer.weights.release()
    return {
        "texture": {"neural": texture_neural, "astc": texture_astc, "block": block, "steps": steps},
        "rows": rows,
    }


def measure_view(name, rate, view: ScreenView, renderer, img, cmd: ScreenBenchCommand, ctx, truths) -> list[dict]:
    """One view's rows: the reference, ASTC and every measured neural mode against the view's ground truth."""
    cam = view.camera()
    key = (name, view.name)
    if key not in truths:
        truths[key] = ground_truth(ctx, renderer, cam, SIZE, ViewSettings(view="reference"), img, cmd.samples)
    truth, mask = truths[key]
    settings = {"reference": ViewSettings(view="reference"), "astc": ViewSettings(view="astc")}
    settings.update({f"neural {m}": ViewSettings(view="neural", filter=m) for m in FILTERS_MEASURED})
    rows = []
    for method, s in settings.items():
        frame = render_offscreen(ctx, renderer, cam, SIZE, s)
        scores = screen_scores(truth, frame, mask)
        if "error" in scores:
            raise TexinrError(f"{view.name}: {scores['error']}")
        rows.append({"texture": name, "rate": rate, "view": view.name, "method": method, **scores})
        if cmd.shots and cmd.out is not None:
            (cmd.out / "shots").mkdir(parents=True, exist_ok=True)
            save_png(
                cmd.out / "shots" / f"{name}@{rate:g}-{view.name}-{method.replace(' ', '_').replace(':', '')}.png",
                frame,
            )
    return rows


def screen_bench_main(cmd: ScreenBenchCommand) -> int:
    items = expand_inputs(cmd.inputs)
    names = [texture_name(i) for i in items]
    if len(set(names)) != len(names):
        raise TexinrError("two inputs share a name; rename one")
    images = {texture_name(i): load_texture(i, cmd.size) for i in items}
    if cmd.out is not None:
        for sub in ("cache", "models"):
            (cmd.out / sub).mkdir(parents=True, exist_ok=True)
    key = settings_key(cmd)
    ctx = create_context()
    meshes = {"torus": load_mesh(DEFAULT_MESH), "plane": load_mesh(PLANE_MESH)}
    truths: dict = {}
    results: dict[tuple[str, float], dict] = {}
    jobs = [(n, r) for n in images for r in cmd.bpps]
    bar = tqdm(
        total=len(jobs),
        unit="model",
        disable=(not sys.stderr.isatty()) if cmd.progress is None else not cmd.progress,
        file=sys.stderr,
    )
    for name, rate in jobs:
        cache = cmd.out / "cache" / f"{name}@{rate:g}-{key}.json" if cmd.out is not None else None
        got = read_rows(cache) if cache is not None and cache.exists() else None
        if got is None:
            started = time.perf_counter()
            got = measure(name, images[name], rate, cmd, ctx, meshes, truths)
            got["seconds"] = time.perf_counter() - started
            if cache is not None:
                atomic_write(cache, json.dumps(got, default=float).encode())
        results[(name, rate)] = got
        truths = {k: v for k, v in truths.items() if k[0] == name}  # one texture's truths kept at a time
        bar.update(1)
    bar.close()
    text = summary(results, cmd)
    print(text)
    if cmd.out is not None:
        rows = [r for got in results.values() for r in got["rows"]]
        textures = [{"texture": n, "rate": r, **got["texture"]} for (n, r), got in results.items()]
        settings = {f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd) if f.name not in ("out", "progress")}
        doc = {
            "settings": settings,
            "views": [dataclasses.asdict(v) for v in VIEWS],
            "textures": textures,
            "rows": rows,
        }
        atomic_write(cmd.out / "results.json", json.dumps(doc, indent=1, default=str).encode())
        atomic_write(cmd.out / "summary.md", (text + "\n").encode())
    return 0


def _row(results, name, rate, view, method) -> dict:
    return next(r for r in results[(name, rate)]["rows"] if r["view"] == view and r["method"] == method)


def summary(results: dict, cmd: ScreenBenchCommand) -> str:
    """Markdown: per rate and view, the neural modes against ASTC on screen (means, wins, the worst screen gap), then
    per texture the converged neural view's lead over ASTC on the texture and on screen in each view."""
    names = sorted({n for n, _ in results})
    lines = [
        "# texinr-bench --screen",
        "",
        f"{cmd.size}x{cmd.size} textures, {len(names)}; codec {cmd.seconds:g} s per model, mips {MIPS}, "
        f"trained for the screen {'on' if cmd.jitter else 'off'}, codec grid layout {cmd.codec_layout}; "
        f"{SIZE[0]}x{SIZE[1]} views; ground "
        f"truth {cmd.samples}x{cmd.samples} samples per pixel; ASTC astcenc {astc.preset_name(cmd.astc_quality)} with "
        f"its coded mip chain; reference and ASTC with trilinear + 16x anisotropic filtering; accumulate after "
        f"{ACCUMULATE_FRAMES} frames",
        "",
        "PSNR (dB) on the mesh's pixels against the ground truth; 'wins' counts textures where the neural view is at "
        "least ASTC's; the screen gap is (neural - ASTC on screen) - (neural - ASTC on the texture).",
        "",
        "| rate | view | reference | ASTC | "
        + " | ".join(f"neural {m}" for m in FILTERS_MEASURED)
        + " | wins (accumulate / one) | gap mean | gap worst |",
        "|---|---|---|---|" + "---|" * len(FILTERS_MEASURED) + "---|---|---|",
    ]
    for rate in cmd.bpps:
        for view in VIEWS:
            have = [n for n in names if (n, rate) in results]
            if not have:
                continue

            def mean(method, have=have, rate=rate, view=view):
                return statistics.mean(_row(results, n, rate, view.name, method)["psnr"] for n in have)

            gaps, wins, wins1 = [], 0, 0
            for n in have:
                a = _row(results, n, rate, view.name, "astc")["psnr"]
                acc = _row(results, n, rate, view.name, "neural accumulate")["psnr"]
                one = _row(results, n, rate, view.name, "neural one")["psnr"]
                t = results[(n, rate)]["texture"]
                gaps.append((acc - a) - (t["neural"] - t["astc"]))
                wins += acc >= a
                wins1 += one >= a
            modes = " | ".join(f"{mean('neural ' + m):.2f}" for m in FILTERS_MEASURED)
            lines.append(
                f"| {rate:g} | {view.name} | {mean('reference'):.2f} | {mean('astc'):.2f} | {modes} | "
                f"{wins} / {wins1} of {len(have)} | {statistics.mean(gaps):+.2f} | {min(gaps):+.2f} |"
            )
    lines += [
        "",
        "Per texture: neural (accumulate, converged) - ASTC, in dB, on the texture and in each view (screen gap in "
        "brackets)",
        "",
        "| texture | rate | texture PSNR neural / ASTC | on the texture | " + " | ".join(v.name for v in VIEWS) + " |",
        "|---|---|---|---|" + "---|" * len(VIEWS),
    ]
    for n in names:
        for rate in cmd.bpps:
            if (n, rate) not in results:
                continue
            t = results[(n, rate)]["texture"]
            lead = t["neural"] - t["astc"]
            cells = []
            for view in VIEWS:
                d = (
                    _row(results, n, rate, view.name, "neural accumulate")["psnr"]
                    - _row(results, n, rate, view.name, "astc")["psnr"]
                )
                cells.append(f"{d:+.2f} ({d - lead:+.2f})")
            lines.append(
                f"| {n} | {rate:g} | {t['neural']:.2f} / {t['astc']:.2f} ({t['block']}) | {lead:+.2f} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines)
