"""`texinr-compress`: its command line. The library run (inputs, search, manifest, resume) is
trainer.batch.compress; this module only parses and calls it.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from texinr.trainer.batch import compress as batch_compress
from texinr.trainer.batch.compress import CompressCommand, Settings, Targets, compress_main
from texinr.trainer.batch.distributed import add_ray_arguments, ray_settings
from texinr.trainer.core.arguments import (
    ArgumentParser,
    add_astc_arguments,
    add_setting,
    add_training_arguments,
    astc_quality_from_args,
    config_from_args,
    given_settings,
    positive_int,
    run_cli,
)
from texinr.trainer.core.config import validate_settings
from texinr.trainer.core.errors import TexinrError


def compress_parser() -> ArgumentParser:
    p = ArgumentParser(prog="texinr-compress", description=batch_compress.__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="images, folders (recursive), globs, .gltf / .glb / .obj material sets")
    p.add_argument("-o", "--out", type=Path, required=True, help="folder for the models and the manifest")
    t = p.add_argument_group("quality targets (instead of --bpp)")
    add_setting(t, Targets, "target_psnr")
    add_setting(t, Targets, "target_flip")
    t.add_argument(
        "--fallback-astc",
        action="store_true",
        help="say where ASTC reaches the target with fewer bits (manifest 'keep'), and write that .astc",
    )
    p.add_argument("--size", type=positive_int, help="resize every texture to SIZE x SIZE first (experiments)")
    add_training_arguments(p)
    add_astc_arguments(p)
    add_ray_arguments(p)
    return p


def parse_compress(argv: list[str] | None) -> CompressCommand:
    a = compress_parser().parse_args(argv)
    targets = Targets(a.target_psnr, a.target_flip)
    validate_settings(targets)
    given_modes = (("--bpp", a.bpp), ("--target-psnr", a.target_psnr), ("--target-flip", a.target_flip))
    chosen = [name for name, value in given_modes if value is not None]
    if len(chosen) > 1:
        raise TexinrError(f"give one of --bpp, --target-psnr, --target-flip, not {' and '.join(chosen)}")
    mode = "psnr" if a.target_psnr is not None else "flip" if a.target_flip is not None else "bpp"
    given = given_settings(a)
    if mode != "bpp" and given - {"bpp"}:
        names = ", ".join("--" + n.replace("_", "-") for n in sorted(given - {"bpp"}))
        raise TexinrError(f"a quality target sizes the model itself; drop {names}")
    if a.fallback_astc and mode == "bpp":
        raise TexinrError("--fallback-astc needs a quality target (--target-psnr or --target-flip)")
    config = config_from_args(a, 30.0)
    if mode != "bpp":  # the search sets the rate; with mips, any rate of the ladder (not ASTC's six)
        config = dataclasses.replace(config, bpp=None, rate_exact=True)
    if a.size is not None and not 16 <= a.size <= 4096:
        raise TexinrError(f"--size must be between 16 and 4096, got {a.size}")
    settings = Settings(
        config,
        mode,
        a.target_psnr if mode == "psnr" else a.target_flip,
        a.size,
        astc_quality_from_args(a),
        a.fallback_astc,
        given,
    )
    return CompressCommand(
        tuple(a.inputs),
        a.out,
        settings,
        ray=ray_settings(a),
        threads=a.threads,
    )


def entrypoint(argv: list[str] | None = None) -> int:
    sys.exit(run_cli("texinr-compress", parse_compress, compress_main, argv))


if __name__ == "__main__":
    entrypoint()
