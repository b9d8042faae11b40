"""`texinr-bench --time-to-astc`: how long the default model trains before it is as good as ASTC.

For each texture (its own size, or resized to --size): ASTC at the block of the default rate's nearest bpp with its
whole mip chain coded (astcenc thorough unless told otherwise), then the default model (the codec at that rate with
mips, its allocations raced) trained for twice the target time of its size (TARGET_SECONDS; --seconds to change).
Every CHECK_EVERY seconds of training the model is stored at its precision (the codec's latents at their bits, the
decoder at fp16) and its base level decoded: the first check whose PSNR reaches ASTC's gives the time to ASTC. The
checks are not counted as training time. Results are kept per texture (OUT/cache, keyed by the settings that change
them), so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from texinr.trainer.core import astc
from texinr.trainer.core.allocation import start
from texinr.trainer.core.config import Config, TrainConfig, model_preset, setting
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.inputs import expand_inputs, load_item, load_texture, texture_name
from texinr.trainer.core.metrics import all_metrics
from texinr.trainer.core.modelfile import atomic_write, pack
from texinr.trainer.core.train import RECIPE, render

RATE = 2.0
MIPS = 6
CHECK_EVERY = 5.0
"""Seconds of training between two checks."""
TARGET_SECONDS = ((512, 30.0), (1024, 60.0), (2048, 120.0), (4096, 240.0))
"""The time a user waits, by the texture's longer side (the first entry at least that large): the targets at 512^2,
1024^2 and 2048^2 are the project's; 4096^2 doubles 2048^2's."""


def target_seconds(width: int, height: int) -> float:
    side = max(width, height)
    for size, seconds in TARGET_SECONDS:
        if side <= size:
            return seconds
    return TARGET_SECONDS[-1][1]


@dataclass(frozen=True)
class TimeToAstcCommand:
    """A time-to-ASTC run, each setting defined once here (the command line's options are made from these)."""

    inputs: tuple[str, ...]
    size: int | None = setting(None, "resize every texture to SIZE x SIZE (default: its own size)", 16, 8192, quick=64)
    seconds: float | None = setting(
        None, "training budget per texture (default: twice the target of its size)", 0.001, 1e9, quick=4.0
    )
    check_every: float = setting(CHECK_EVERY, "seconds of training between two checks", 0.001, 1e6, quick=1.0)
    seed: int = setting(0, "seed of initialisation and sampling", 0, 2**31 - 1)
    threads: int = setting(0, "torch CPU threads (0: every core)", 0, 1024)
    out: Path | None = None
    astc_quality: float = astc.DEFAULT_QUALITY
    progress: bool | None = None


def settings_key(cmd: TimeToAstcCommand, budget: float) -> str:
    d = {
        "budget": budget,
        "check": cmd.check_every,
        "seed": cmd.seed,
        "q": cmd.astc_quality,
        "rate": RATE,
        "mips": MIPS,
        "recipe": RECIPE,
    }
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


RESULT_FIELDS = {
    "texture": str,
    "width": int,
    "height": int,
    "budget": float,
    "astc_block": str,
    "astc_psnr": float,
    "final_psnr": float,
    "steps": int,
    "checks": list,
}


def read_result(path: Path) -> dict | None:
    """A cached result, checked field by field; None (measured again) when it is missing or not what this version
    writes."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    for k, t in RESULT_FIELDS.items():
        v = data.get(k)
        ok = isinstance(v, (int, float)) if t is float else isinstance(v, t)
        if not ok or isinstance(v, bool) or (t is float and not math.isfinite(v)):
            return None
    reached = data.get("seconds_to_astc")
    if reached is not None and (isinstance(reached, bool) or not isinstance(reached, (int, float))):
        return None
    for c in data["checks"]:
        if not (isinstance(c, list) and len(c) == 3 and all(isinstance(x, (int, float)) for x in c)):
            return None
    return data


def base_psnr(trainer, image: np.ndarray) -> float:
    """PSNR of the base level of the model as stored (16-bit decoder, latents at their bits) against `image`."""
    h, w = image.shape[:2]
    f = pack(trainer.model, trainer.config.bits, w, h, trainer.samples.mips)
    return float(all_metrics(image, render(f.build(), h, w, 0.0), False)["psnr"])


def measure(name: str, image: np.ndarray, cmd: TimeToAstcCommand, budget: float) -> dict:
    h, w = image.shape[:2]
    train = TrainConfig(mips=MIPS, seconds=budget, seed=cmd.seed, threads=cmd.threads)
    begun = start(image, Config(model=model_preset("codec"), train=train, bpp=RATE))
    trainer = begun.trainer
    race = float((begun.allocation or {}).get("seconds_on_losers", 0.0))  # the race's losers count as training time
    bpp = pack(trainer.model, trainer.config.bits, w, h, MIPS).bpp
    block = astc.nearest_block(bpp, w, h, MIPS)  # as texinr-train's report compares
    a = astc.compress(image, block, cmd.astc_quality, mips=MIPS)
    goal = float(all_metrics(image, a.decoded, False)["psnr"])
    checks, reached = [], None
    next_check = max(cmd.check_every, race)
    while not trainer.done:
        trainer.step()
        spent = race + trainer.elapsed
        if spent >= next_check or trainer.done:
            got = base_psnr(trainer, image)
            checks.append([round(spent, 3), trainer.step_count, round(got, 4)])
            if reached is None and got >= goal:
                reached = spent
            next_check = spent + cmd.check_every
    return {
        "texture": name,
        "width": w,
        "height": h,
        "budget": budget,
        "astc_block": block,
        "astc_psnr": goal,
        "final_psnr": checks[-1][2],
        "steps": trainer.step_count,
        "checks": checks,
        "seconds_to_astc": None if reached is None else round(reached, 3),
    }


def summary(results: list[dict]) -> str:
    """The per-texture table and, per size, the median time to ASTC (a texture that did not reach it counts as
    longer than any that did) and how many reached it."""
    lines = [
        "| texture | size | ASTC | PSNR at the end | steps | seconds to ASTC (budget) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r["seconds_to_astc"]
        lines.append(
            f"| {r['texture']} | {r['width']}x{r['height']} | {r['astc_psnr']:.2f} ({r['astc_block']}) | "
            f"{r['final_psnr']:.2f} | {r['steps']} | {'not reached' if t is None else f'{t:.1f}'} ({r['budget']:g}) |"
        )
    by_size: dict[tuple[int, int], list[dict]] = {}
    for r in results:
        by_size.setdefault((r["width"], r["height"]), []).append(r)
    lines.append("")
    for (w, h), rs in sorted(by_size.items()):
        times = sorted(math.inf if r["seconds_to_astc"] is None else r["seconds_to_astc"] for r in rs)
        med = statistics.median(times)
        reached = sum(math.isfinite(t) for t in times)
        med_s = "not reached" if not math.isfinite(med) else f"{med:.1f} s"
        lines.append(
            f"{w}x{h}: median time to ASTC {med_s} (target {target_seconds(w, h):g} s); "
            f"{reached} of {len(rs)} reached it within {rs[0]['budget']:g} s"
        )
    return "\n".join(lines)


def main(cmd: TimeToAstcCommand) -> int:
    items = expand_inputs(cmd.inputs)
    if not items:
        raise TexinrError("no images found in the inputs")
    cache = cmd.out / "cache" if cmd.out is not None else None
    results = []
    bar = tqdm(items, desc="time to ASTC", unit="texture", disable=cmd.progress is False or not sys.stderr.isatty())
    for item in bar:
        name = texture_name(item)
        image = load_item(item) if cmd.size is None else load_texture(item, cmd.size)
        h, w = image.shape[:2]
        budget = cmd.seconds if cmd.seconds is not None else 2 * target_seconds(w, h)
        path = None if cache is None else cache / f"{name}-{w}x{h}-{settings_key(cmd, budget)}.json"
        got = read_result(path) if path is not None else None
        if got is None:
            got = measure(name, image, cmd, budget)
            if path is not None:  # the folder made only when there is a result to keep
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, json.dumps(got, indent=1).encode())
        results.append(got)
        t = got["seconds_to_astc"]
        bar.write(
            f"{name} {w}x{h}: ASTC {got['astc_psnr']:.2f} dB; "
            + (f"reached after {t:.1f} s" if t is not None else f"not reached in {budget:g} s")
            + f" ({got['final_psnr']:.2f} dB at the end, {got['steps']} steps)"
        )
    text = summary(results)
    print(text)
    if cmd.out is not None:
        atomic_write(cmd.out / "results.json", json.dumps(results, indent=1).encode())
        atomic_write(cmd.out / "summary.md", (text + "\n").encode())
    return 0
