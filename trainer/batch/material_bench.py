"""`texinr-bench --materials`: whole PBR sets, one network each, against ASTC compressing each map, at equal bits.

For every material (a .gltf/.glb/.obj or a folder of maps; by default the glTF models of ../shared/data/materials)
and every ASTC block (--blocks, default 8x8 and 12x12): ASTC compresses each shipped map (base colour RGB, the normal
map in normal mode, ARM as RGB) at that block with its mip chain, and the codec fits the whole set in one network
sized to the sum of those bits. With --separate, each shipped map also gets its own codec at its own share of the
bits (the same seconds each): the "one network for the set, or one per map" question.

Results: a table per map (texinr, ASTC, who is ahead), results.json and summary.md in --out, plots of each map's
quality against the set's bpp, and a cache per (material, block, method) under OUT/cache, so that an interrupted run
resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from texinr.trainer.batch.material_report import format_rows, write_outputs
from texinr.trainer.core import astc
from texinr.trainer.core.arguments import block_list
from texinr.trainer.core.channels import parse_layout, shipped_images, shipped_members
from texinr.trainer.core.config import Config, TrainConfig, model_preset, setting
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.fit import fit
from texinr.trainer.core.material import astc_maps, load_material, map_metrics
from texinr.trainer.core.modelfile import atomic_write, model_bits
from texinr.trainer.core.resources import PACKAGE_ROOT
from texinr.trainer.core.train import RECIPE, render

DEFAULT_BLOCKS = ("8x8", "12x12")


def default_materials() -> list[Path]:
    root = PACKAGE_ROOT.parent / "shared" / "data" / "materials"
    return sorted(root.glob("*/*.gltf")) if root.is_dir() else []


@dataclass(frozen=True)
class MaterialBenchCommand:
    """A material bench run; each setting is defined once here (texinr-bench --materials' options are made from
    these definitions)."""

    inputs: tuple[Path, ...]
    blocks: tuple[str, ...] = setting(
        DEFAULT_BLOCKS, "ASTC blocks per map, comma-separated (default 8x8,12x12)", parse=block_list
    )
    seconds: float = setting(120.0, "training budget per network, in seconds", 0.001, 1e9)
    steps: int | None = setting(None, "a step budget instead (repeatable bit for bit)", 1, 10**9)
    mips: int = setting(6, "mip levels fitted; ASTC stores its chains", 1, 16)
    separate: bool = setting(False, "also one codec per shipped map at its share of the bits, same seconds each")
    separate_split: bool = setting(
        False, "also one codec per shipped map at its share of the bits and of the seconds (equal compute)"
    )
    out: Path | None = None
    astc_quality: float = 98.0
    threads: int = setting(0, "torch CPU threads (0: every core)", 0, 1024)
    seed: int = setting(0, "seed of initialisation and sampling", 0, 2**31 - 1)
    device: str = "cpu"  # its definition: TrainConfig.device (the CPU unless asked: comparable timings)
    progress: bool | None = None

    def key(self) -> str:
        text = json.dumps(
            [self.seconds, self.steps, self.mips, self.astc_quality, self.seed, self.device, RECIPE], default=str
        )
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def _config(layout: str, rate: float, cmd: MaterialBenchCommand):
    train = TrainConfig(
        mips=cmd.mips,
        seconds=None if cmd.steps else cmd.seconds,
        steps=cmd.steps,
        seed=cmd.seed,
        threads=cmd.threads,
        device=cmd.device,
    )
    return Config(model_preset("codec", channels=layout), train, 16, rate)


def fit_and_judge(values: np.ndarray, layout: str, rate: float, cmd: MaterialBenchCommand) -> dict:
    """One codec fitted to `values` (a set, or one map of it) at `rate` bpp for the set: its outputs at level 0,
    its bits and how it trained."""
    result = fit(values, _config(layout, rate, cmd))
    h, w = values.shape[:2]
    return {
        "out": render(result.model, h, w, 0.0),
        "bits": model_bits(result.model, 16),
        "steps": result.snapshot.step,
        "seconds": round(result.snapshot.elapsed, 2),
        "grids": result.model.cfg.codec_grids,
        "allocation": (result.allocation or {}).get("chosen"),
    }


def run_one(mset, block: str, cmd: MaterialBenchCommand, row: dict | None = None) -> dict:
    """ASTC per map and the one-network codec on one set at one block (`row`: that much already done), and with
    --separate one codec per shipped map."""
    h, w = mset.height, mset.width
    images = shipped_images(parse_layout(mset.layout))
    if row is None:
        decoded, bits, per_image = astc_maps(mset.values, mset.layout, block, cmd.astc_quality, cmd.mips)
        rate = len(images) * astc.nominal_bpp(block)
        row = {
            "material": mset.name,
            "block": block,
            "width": w,
            "height": h,
            "layout": mset.layout,
            "images": list(images),
            "astc": {
                "bpp": bits / (w * h),
                "bits_per_image": per_image,
                "maps": map_metrics(mset.values, decoded, mset.layout),
            },
        }
        joint = fit_and_judge(mset.values, mset.layout, rate, cmd)
        row["texinr"] = {
            **{k: v for k, v in joint.items() if k != "out"},
            "bpp": joint["bits"] / (w * h),
            "maps": map_metrics(mset.values, joint["out"], mset.layout),
        }
    for key, wanted, split in (("separate", cmd.separate, False), ("separate_split", cmd.separate_split, True)):
        if not wanted or key in row:
            continue
        out = np.empty_like(mset.values)
        total, parts = 0, {}
        sub_cmd = _shared_budget(cmd, len(images)) if split else cmd
        for image in images:
            members = shipped_members(parse_layout(mset.layout), image)
            idx = [c for m in members for c in range(m.start, m.stop)]
            sub = ",".join(m.name for m in members)
            one = fit_and_judge(np.ascontiguousarray(mset.values[..., idx]), sub, astc.nominal_bpp(block), sub_cmd)
            out[..., idx] = one.pop("out")
            total += one["bits"]
            parts[image] = one
        row[key] = {"bpp": total / (w * h), "parts": parts, "maps": map_metrics(mset.values, out, mset.layout)}
    return row


def _shared_budget(cmd: MaterialBenchCommand, n: int) -> MaterialBenchCommand:
    """The command with 1/n of its budget: n per-map codecs together train as long as one network."""
    if cmd.steps:
        return dataclasses.replace(cmd, steps=max(1, cmd.steps // n))
    return dataclasses.replace(cmd, seconds=cmd.seconds / n)


def main(cmd: MaterialBenchCommand) -> int:
    sets = []
    for p in cmd.inputs:
        mset = load_material(p)
        sets.append(mset)
        print(f"texinr-bench: {mset.name}: {mset.width}x{mset.height}, {mset.layout}")
        for note in mset.notes:
            print(f"texinr-bench: note: {note}")
    if len({s.name for s in sets}) != len(sets):
        raise TexinrError("two materials share a name; rename one")
    cache_dir = cmd.out / "cache" if cmd.out is not None else None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(s, b) for b in cmd.blocks for s in sets]
    bar = tqdm(
        total=len(jobs), unit="set", disable=not sys.stderr.isatty() if cmd.progress is None else not cmd.progress
    )
    rows = []
    for mset, block in jobs:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in mset.name)
        cache = cache_dir / f"{safe}-{block}-{cmd.key()}.json" if cache_dir else None
        row = json.loads(cache.read_text()) if cache is not None and cache.exists() else None
        missing = row is not None and any(
            wanted and key not in row
            for key, wanted in (("separate", cmd.separate), ("separate_split", cmd.separate_split))
        )
        if row is None or missing:  # the one-network row is kept and added to
            bar.set_description(f"{mset.name} {block}")
            row = run_one(mset, block, cmd, row)
            if cache is not None:
                atomic_write(cache, json.dumps(row, default=float).encode())
        rows.append(row)
        bar.update(1)
    bar.close()
    print(format_rows(rows))
    if cmd.out is not None:
        write_outputs(rows, cmd.out, " ".join(sys.argv[1:]) if sys.argv else "")
        print(f"wrote {cmd.out}/results.json, summary.md and plots")
    return 0
