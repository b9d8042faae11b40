"""`texinr-generate`: its command line, generated from the stages' settings (trainer.generation.generate.SETTINGS).
The stages themselves are trainer.generation.generate; this module only parses and calls them.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from texinr.trainer.core.arguments import ArgumentParser, add_setting, run_cli
from texinr.trainer.core.config import validate_settings
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.generation.generate import (
    DEFAULT_HOLDOUT,
    SETTINGS,
    STAGES,
    GenerateCommand,
    GenerateSettings,
    default_images,
    generate_main,
)


def generate_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="texinr-generate",
        description="A space of textures (a shared modulated SIREN, one short code per texture), a diffusion prior "
        "over the codes, and new textures sampled from it as .texinr files.",
    )
    p.add_argument("stage", nargs="?", choices=STAGES, help="what to run (default with --quick: all)")
    p.add_argument(
        "inputs",
        nargs="*",
        help="data / all: images, folders or skimage:NAME; interpolate: two end points "
        "(crop:INDEX, a generated .texinr, or an image); encode: images",
    )
    p.add_argument("--out", type=Path, required=True, help="the folder the stages read and write")
    p.add_argument("--holdout", nargs="+", default=None, help="images kept out of the set: encoded to measure it")
    p.add_argument("--prior", type=Path, help="sample: a prior file (default OUT/prior.npz)")
    p.add_argument("--quick", action="store_true", help="a tiny configuration of every stage (under a minute)")
    bars = p.add_mutually_exclusive_group()
    bars.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show bars")
    bars.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress bars")
    for name in SETTINGS:
        add_setting(p, GenerateSettings, name)
    return p


def parse_generate(argv: list[str] | None) -> GenerateCommand:
    a = generate_parser().parse_args(argv)
    stage = a.stage or ("all" if a.quick else None)
    if stage is None:
        raise TexinrError(f"name a stage ({', '.join(STAGES)}), or give --quick to run them all")
    chosen = {}
    for name, spec in SETTINGS.items():
        given = getattr(a, name)
        chosen[name] = given if given is not None else (spec["quick"] if a.quick else spec["default"])
    settings = GenerateSettings(**chosen)
    validate_settings(settings, as_options=True)
    values = dataclasses.asdict(settings)
    if values["crop"] > values["scale"]:
        raise TexinrError(f"crops of {values['crop']} px are larger than the images (--scale {values['scale']} px)")
    inputs = tuple(a.inputs)
    if stage in ("fit", "prior", "sample") and inputs:
        raise TexinrError(f"{stage} reads {a.out}; it takes no inputs (got {inputs[0]})")
    if stage == "interpolate" and len(inputs) not in (0, 2):
        raise TexinrError(f"interpolate takes two end points (or none: two training crops), got {len(inputs)}")
    if stage == "encode" and not inputs:
        raise TexinrError("encode: give the images to encode")
    images, ends = (), ()
    if stage in ("data", "all"):
        images = inputs or default_images()
    elif stage == "interpolate":
        ends = inputs
    elif stage == "encode":
        images = inputs
    if a.holdout is not None:
        holdout = tuple(a.holdout)
    else:
        holdout = DEFAULT_HOLDOUT if stage in ("data", "all") and not inputs else ()
    return GenerateCommand(stage, a.out, images, holdout, values, ends, a.prior, a.progress)


def entrypoint(argv: list[str] | None = None) -> int:
    sys.exit(run_cli("texinr-generate", parse_generate, generate_main, argv))


if __name__ == "__main__":
    entrypoint()
