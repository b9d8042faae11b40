"""`texinr-bench`: its command line (the families against ASTC; `--materials`: whole PBR sets). The jobs, cache
and tables are trainer.batch.bench / trainer.batch.material_bench; this module only parses and calls them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from texinr.trainer.batch import bench as batch_bench
from texinr.trainer.batch import material_bench, time_to_astc
from texinr.trainer.batch.bench import DEFAULT_QUICK_INPUTS, BenchCommand, bench_main
from texinr.trainer.batch.distributed import add_ray_arguments, ray_settings
from texinr.trainer.batch.material_bench import MaterialBenchCommand, default_materials
from texinr.trainer.batch.time_to_astc import TimeToAstcCommand
from texinr.trainer.core.arguments import (
    ArgumentParser,
    add_astc_arguments,
    add_setting,
    astc_quality_from_args,
    check_writable_folder,
    chosen_settings,
    run_cli,
)
from texinr.trainer.core.config import Config, TrainConfig, check_device_spec, validate_settings
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.resources import DEFAULT_TEXTURE
from texinr.viewer import screen_bench
from texinr.viewer.screen_bench import ScreenBenchCommand

BENCH_SETTINGS = ("size", "seconds", "bpps", "bits", "families", "mips", "mips_bpps", "colour_only", "tune", "select")


def bench_parser() -> ArgumentParser:
    p = ArgumentParser(prog="texinr-bench", description=batch_bench.__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="*", help="images or folders of images; 'skimage:NAME' takes scikit-image's")
    for name in BENCH_SETTINGS:
        add_setting(p, BenchCommand, name)
    add_setting(p, Config, "allocation", with_default=True)
    p.add_argument("--out", type=Path, help="folder for results.csv, results.json, summary.md, plots, cache")
    add_astc_arguments(p)
    for name in ("threads", "seed"):
        add_setting(p, BenchCommand, name)
    add_setting(p, TrainConfig, "device", with_default=True)
    add_setting(p, BenchCommand, "flip")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: two textures (default: bundled + astronaut), 128^2, 3 s per model, 2 bpp",
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
    if a.out is not None:
        check_writable_folder(a.out)
    chosen = chosen_settings(a, BenchCommand, (*BENCH_SETTINGS, "threads", "seed"), quick=a.quick)
    cmd = BenchCommand(
        inputs,
        **chosen,
        flip=a.flip,
        out=a.out,
        astc_quality=astc_quality_from_args(a),
        allocation=a.allocation,
        device=check_device_spec(a.device),
        ray=ray_settings(a),
    )
    validate_settings(cmd, as_options=True)
    return cmd


def entrypoint(argv: list[str] | None = None) -> int:
    if wants_materials(argv):
        sys.exit(run_cli("texinr-bench", parse_material_bench, material_bench.main, argv))
    if SCREEN.wanted(argv):
        sys.exit(run_cli("texinr-bench", SCREEN.parse, screen_bench.screen_bench_main, argv))
    if TIME_TO_ASTC.wanted(argv):
        sys.exit(run_cli("texinr-bench", TIME_TO_ASTC.parse, time_to_astc.main, argv))
    sys.exit(run_cli("texinr-bench", parse_bench, bench_main, argv))


MATERIAL_SETTINGS = ("blocks", "seconds", "steps", "mips", "separate", "separate_split", "threads", "seed")


def material_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="texinr-bench --materials",
        description="Whole PBR material sets in one network each, against ASTC per map at equal bits.",
    )
    p.add_argument("--materials", action="store_true", help="(this mode)")
    p.add_argument("inputs", nargs="*", type=Path, help="materials: .gltf/.glb/.obj or folders of maps")
    for name in MATERIAL_SETTINGS:
        add_setting(p, MaterialBenchCommand, name)
    p.add_argument("--out", type=Path, help="folder for results.json, summary.md, plots and the cache")
    add_setting(p, TrainConfig, "device", note="; default cpu (timings comparable run to run)")
    add_astc_arguments(p)
    return p


def parse_material_bench(argv: list[str] | None) -> MaterialBenchCommand:
    a = material_parser().parse_args(argv)
    inputs = tuple(a.inputs) or tuple(default_materials())
    if not inputs:
        raise TexinrError("no materials given, and ../shared/data/materials is not there")
    if a.out is not None:
        check_writable_folder(a.out)
    cmd = MaterialBenchCommand(
        inputs,
        **chosen_settings(a, MaterialBenchCommand, MATERIAL_SETTINGS),
        out=a.out,
        astc_quality=astc_quality_from_args(a),
        device=check_device_spec(a.device or "cpu"),
    )
    validate_settings(cmd, as_options=True)
    return cmd


def wants_materials(argv: list[str] | None) -> bool:
    return "--materials" in (argv if argv is not None else sys.argv[1:])


@dataclass(frozen=True)
class Mode:
    """A texinr-bench mode on images (--screen, --time-to-astc): its flag, command class, settings and texts."""

    flag: str
    command: type
    settings: tuple[str, ...]
    doc: str
    out_help: str
    quick_help: str

    def parser(self) -> ArgumentParser:
        p = ArgumentParser(prog=f"texinr-bench {self.flag}", description=self.doc.split("\n\n")[0])
        p.add_argument(self.flag, action="store_true", help="(this mode)")
        p.add_argument("inputs", nargs="*", help="images or folders of images; 'skimage:NAME' takes scikit-image's")
        for name in self.settings:
            add_setting(p, self.command, name)
        p.add_argument("--out", type=Path, help=self.out_help)
        add_astc_arguments(p)
        p.add_argument("--quick", action="store_true", help=self.quick_help)
        return p

    def parse(self, argv: list[str] | None):
        a = self.parser().parse_args(argv)
        inputs = tuple(a.inputs) or ((str(DEFAULT_TEXTURE),) if a.quick else ())
        if not inputs:
            raise TexinrError("give at least one image or folder (or --quick)")
        if a.out is not None:
            check_writable_folder(a.out)
        chosen = chosen_settings(a, self.command, self.settings, quick=a.quick)
        cmd = self.command(inputs, **chosen, out=a.out, astc_quality=astc_quality_from_args(a))
        validate_settings(cmd, as_options=True)
        return cmd

    def wanted(self, argv: list[str] | None) -> bool:
        return self.flag in (argv if argv is not None else sys.argv[1:])


SCREEN = Mode(
    "--screen",
    ScreenBenchCommand,
    ("size", "seconds", "bpps", "jitter", "codec_layout", "samples", "seed", "threads", "shots"),
    screen_bench.__doc__,
    "folder for results.json, summary.md, the models and the cache",
    "smoke run: the bundled texture, 128^2, 3 s, 2 bpp, 2x2 truth",
)
TIME_TO_ASTC = Mode(
    "--time-to-astc",
    TimeToAstcCommand,
    ("size", "seconds", "check_every", "seed", "threads"),
    time_to_astc.__doc__,
    "folder for results.json, summary.md and the cache",
    "smoke run: the bundled texture, 64^2, 4 s, checks every 1 s",
)


def parse_screen_bench(argv: list[str] | None) -> ScreenBenchCommand:
    return SCREEN.parse(argv)


if __name__ == "__main__":
    entrypoint()
