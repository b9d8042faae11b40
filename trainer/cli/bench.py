"""`texinr-bench`: its command line (the families against ASTC; `--materials`: whole PBR sets). The jobs, cache
and tables are trainer.batch.bench / trainer.batch.material_bench; this module only parses and calls them.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from texinr.trainer.batch import bench as batch_bench
from texinr.trainer.batch import material_bench
from texinr.trainer.batch.bench import DEFAULT_BPPS, DEFAULT_MIPS_BPPS, DEFAULT_QUICK_INPUTS, BenchCommand, bench_main
from texinr.trainer.batch.distributed import add_ray_arguments, ray_settings
from texinr.trainer.batch.material_bench import DEFAULT_BLOCKS, MaterialBenchCommand, default_materials
from texinr.trainer.core import astc
from texinr.trainer.core.arguments import (
    ArgumentParser,
    add_astc_arguments,
    add_setting,
    astc_quality_from_args,
    check_writable_folder,
    nonneg_int,
    positive_float,
    positive_int,
    run_cli,
)
from texinr.trainer.core.config import ARCHS, Config, TrainConfig, check_device_spec
from texinr.trainer.core.errors import TexinrError


def parse_bpps(s: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 8,2,0.89, got {s!r}") from None
    if not vals or any(not (math.isfinite(v) and 0.05 <= v <= 64) for v in vals):
        raise argparse.ArgumentTypeError(f"each bpp must be between 0.05 and 64, got {s}")
    return vals


def parse_families(s: str) -> tuple[str, ...]:
    fams = tuple(x.strip() for x in s.split(",") if x.strip())
    bad = [f for f in fams if f not in ARCHS]
    if bad or not fams:
        raise argparse.ArgumentTypeError(f"unknown family {','.join(bad) or s!r}; choose from {', '.join(ARCHS)}")
    return fams


def bench_parser() -> ArgumentParser:
    p = ArgumentParser(prog="texinr-bench", description=batch_bench.__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="*", help="images or folders of images; 'skimage:NAME' takes scikit-image's")
    p.add_argument("--size", type=positive_int, default=None, help="resize every texture to SIZE x SIZE (512)")
    p.add_argument("--seconds", type=positive_float, default=None, help="training budget per model (120)")
    p.add_argument(
        "--bpp", type=parse_bpps, default=None, help="target bits per pixel, comma-separated (8,3.56,2,1.28,0.89)"
    )
    p.add_argument("--bits", type=int, choices=(32, 16, 8), default=16, help="stored weight precision (16)")
    p.add_argument("--families", type=parse_families, default=ARCHS, help="comma-separated families (all)")
    p.add_argument(
        "--mips", type=positive_int, default=1, help="also fit N mip levels (mip-aware rows; ASTC stores its chain)"
    )
    p.add_argument("--mips-bpp", type=parse_bpps, default=None, help="targets of the mip-aware rows (2,0.89)")
    p.add_argument("--colour-only", action="store_true", help="skip grey images (R = G = B everywhere)")
    p.add_argument(
        "--tune",
        action="store_true",
        help="also rows '<family>+tuned': a short race of settings first",
    )
    add_setting(p, Config, "allocation", with_default=True)
    p.add_argument("--select", type=positive_int, help="pick N inputs at regular intervals of their LAPV ranking")
    p.add_argument("--out", type=Path, help="folder for results.csv, results.json, summary.md, plots, cache")
    add_astc_arguments(p)
    p.add_argument("--threads", type=nonneg_int, default=0)
    add_setting(p, TrainConfig, "device", with_default=True)
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--no-flip", action="store_true", help="skip FLIP (saves ~0.4 s per 512^2 evaluation)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: two textures (default: bundled + astronaut), 128^2, 3 s per model",
    )
    add_ray_arguments(p, what="model (texture x method x rate); --threads per task, 1 if not given")
    return p


def parse_bench(argv: list[str] | None) -> BenchCommand:
    a = bench_parser().parse_args(argv)
    inputs = tuple(a.inputs) or (DEFAULT_QUICK_INPUTS if a.quick else ())
    if not inputs:
        raise TexinrError("give at least one image or folder (or --quick)")
    if a.quick and a.select is None and len(inputs) > 2:
        inputs = inputs[:2]
    size = a.size or (128 if a.quick else 512)
    seconds = a.seconds or (3.0 if a.quick else 120.0)
    if size < 16 or size > 4096:
        raise TexinrError(f"--size must be between 16 and 4096, got {size}")
    astc_quality = astc_quality_from_args(a)
    if a.out is not None:
        check_writable_folder(a.out)
    return BenchCommand(
        inputs,
        size,
        seconds,
        a.bpp or ((2.0,) if a.quick else DEFAULT_BPPS),
        a.bits,
        a.families,
        a.mips,
        a.select,
        a.out,
        astc_quality,
        a.threads,
        a.seed,
        flip=not a.no_flip,
        mips_bpps=a.mips_bpp or DEFAULT_MIPS_BPPS,
        colour_only=a.colour_only,
        tune=a.tune,
        allocation=a.allocation,
        device=check_device_spec(a.device),
        ray=ray_settings(a),
    )


def entrypoint(argv: list[str] | None = None) -> int:
    if wants_materials(argv):
        sys.exit(run_cli("texinr-bench", parse_material_bench, material_bench.main, argv))
    sys.exit(run_cli("texinr-bench", parse_bench, bench_main, argv))


def material_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="texinr-bench --materials",
        description="Whole PBR material sets in one network each, against ASTC per map at equal bits.",
    )
    p.add_argument("--materials", action="store_true", help="(this mode)")
    p.add_argument("inputs", nargs="*", type=Path, help="materials: .gltf/.glb/.obj or folders of maps")
    p.add_argument("--blocks", default=",".join(DEFAULT_BLOCKS), help="ASTC blocks per map (8x8,12x12)")
    p.add_argument("--seconds", type=positive_float, default=120.0, help="training budget per network (120)")
    p.add_argument("--steps", type=positive_int, default=None, help="a step budget instead (repeatable bit for bit)")
    p.add_argument("--mips", type=positive_int, default=6, help="mip levels fitted; ASTC stores its chains (6)")
    p.add_argument(
        "--separate",
        action="store_true",
        help="also one codec per shipped map at its share of the bits, same seconds each",
    )
    p.add_argument(
        "--separate-split",
        action="store_true",
        help="also one codec per shipped map at its share of the bits and of the seconds (equal compute)",
    )
    p.add_argument("--out", type=Path, help="folder for results.json, summary.md, plots and the cache")
    p.add_argument("--threads", type=nonneg_int, default=0)
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--device", default="cpu")
    add_astc_arguments(p)
    return p


def parse_material_bench(argv: list[str] | None) -> MaterialBenchCommand:

    a = material_parser().parse_args(argv)
    inputs = tuple(a.inputs) or tuple(default_materials())
    if not inputs:
        raise TexinrError("no materials given, and ../shared/data/materials is not there")
    blocks = tuple(b.strip() for b in a.blocks.split(",") if b.strip())
    for b in blocks:
        try:
            astc.parse_block(b)
        except ValueError as e:
            raise TexinrError(str(e)) from None
    if a.out is not None:
        check_writable_folder(a.out)
    return MaterialBenchCommand(
        inputs,
        blocks,
        a.seconds,
        a.steps,
        a.mips,
        a.separate,
        a.separate_split,
        a.out,
        astc_quality_from_args(a),
        a.threads,
        a.seed,
        a.device,
    )


def wants_materials(argv: list[str] | None) -> bool:
    return "--materials" in (argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    entrypoint()
