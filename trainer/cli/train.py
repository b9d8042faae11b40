"""`texinr-train` and `texinr-decode`: entry points parse arguments into a config and call `main(config)`.

Bad input of any kind ends in one line on stderr and exit code 2; nothing is written unless it is whole.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from texinr.trainer.core import allocation as alloc
from texinr.trainer.core import families, profile
from texinr.trainer.core.arguments import (
    ArgumentParser,
    add_astc_arguments,
    add_material_arguments,
    add_profile_argument,
    add_training_arguments,
    astc_quality_from_args,
    check_writable,
    config_from_args,
    given_settings,
    is_material_input,
    material_files,
    run_cli,
)
from texinr.trainer.core.channels import parse_layout, shipped_images
from texinr.trainer.core.config import (
    Config,
)
from texinr.trainer.core.data import load_image
from texinr.trainer.core.device import describe as describe_device
from texinr.trainer.core.device import resolve as resolve_device
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import describe, load_material
from texinr.trainer.core.modelfile import pack, save
from texinr.trainer.core.report import evaluate_file, evaluate_material_file, format_material_table, format_table
from texinr.trainer.core.sizing import config_bits, rate_budget
from texinr.trainer.core.train import Trainer, train_record
from texinr.trainer.core.tuning import spend, tune


# ---------------------------------------------------------------------------------------------------- train
@dataclass(frozen=True)
class TrainCommand:
    texture: Path | None
    output: Path
    config: Config
    json: bool = False
    astc_quality: float = 98.0  # astcenc thorough (trainer.core.astc.DEFAULT_PRESET)
    progress: bool | None = None  # None: a tqdm bar only on a terminal
    tune: bool = False  # pick omega0 / sigma / max frequency / lr by a short search first
    profile: bool = False  # print the time and peak memory of each phase at the end
    maps: tuple[tuple[str, Path], ...] = ()  # a material's maps named one by one
    normal_dx: bool = False
    material: str | None = None
    given: frozenset[str] = frozenset()  # settings the command line gave (the others follow the set: for_layout)


def train_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="texinr-train", description="Fit a neural texture (an image, or a whole PBR material set) and save it."
    )
    p.add_argument(
        "texture",
        type=Path,
        nargs="?",
        help="PNG or JPEG image; or a material: .gltf / .glb / .obj (its maps), or a folder of maps",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.texinr)")
    add_training_arguments(p)
    add_material_arguments(p)
    p.add_argument(
        "--tune",
        action="store_true",
        help="race omega0 / sigma / max frequency / lr candidates first (25%% of the budget; the winner goes on)",
    )
    add_astc_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    add_profile_argument(p)
    return p


def parse_train(argv: list[str] | None) -> TrainCommand:
    a = train_parser().parse_args(argv)
    files = material_files(a)
    if a.texture is None and not files:
        raise TexinrError(
            "give an image, a material (.gltf, .glb, .obj, a folder of maps) or its maps (--base-colour …)"
        )
    if files and a.texture is not None and a.texture.is_file() and not is_material_input(a.texture, {}):
        raise TexinrError(f"{a.texture}: with maps named one by one, name the base colour with --base-colour too")
    if (a.normal_dx or a.material) and not is_material_input(a.texture, files):
        raise TexinrError("--normal-dx and --material apply to a material, not to one image")
    return TrainCommand(
        a.texture,
        a.output,
        config_from_args(a, 30.0),
        a.json,
        astc_quality_from_args(a),
        tune=a.tune,
        profile=a.profile,
        maps=tuple(files.items()),
        normal_dx=a.normal_dx,
        material=a.material,
        given=given_settings(a),
    )


def train_main(cmd: TrainCommand) -> int:
    if cmd.profile:
        profile.enable()
    if cmd.output.suffix != ".texinr":
        raise TexinrError(f"{cmd.output}: model files end in .texinr")
    check_writable(cmd.output)
    device = resolve_device(cmd.config.train.device)  # before anything else: a missing GPU is one line, at once
    mset = None
    if is_material_input(cmd.texture, dict(cmd.maps)):
        with profile.phase("load the material"):
            mset = load_material(cmd.texture, dict(cmd.maps), cmd.normal_dx, cmd.material)
        image = mset.values
        print(f"texinr-train: material {describe(mset)}")
        for note in mset.notes:
            print(f"texinr-train: note: {note}")
        cmd = dataclasses.replace(
            cmd,
            config=dataclasses.replace(cmd.config, model=dataclasses.replace(cmd.config.model, channels=mset.layout)),
        )
    else:
        with profile.phase("load the image"):
            image = load_image(cmd.texture)
    h, w = image.shape[:2]
    config = cmd.config
    print(f"texinr-train: training on {describe_device(device)}")
    trainer, allocation, started = None, None, None
    if config.bpp is not None:
        with profile.phase("size" + (" and race allocations" if families.get(config.model.arch).allocations else "")):
            started = alloc.start(image, config)  # sizes the family; the codec races its candidate allocations
        trainer, allocation = started.trainer, started.allocation
        config = trainer.config
        rate = cmd.config.bpp
        images = len(shipped_images(parse_layout(config.model.channels)))
        budget = rate_budget(rate, w, h, config.train.mips, images)
        per_map = f", {images} maps" if images > 1 else ""
        chain = f", with mips: ASTC's mip chain{per_map} at {budget:.3f} bpp" if budget != rate else ""
        got = config_bits(config.model, config.bits) / (w * h)
        print(f"texinr-train: sized {config.model.arch} to {got:.3f} bpp (rate {rate:g}{chain})")
        if allocation is not None:
            print(f"texinr-train: {alloc.describe(allocation)}")
    tuned = None
    if cmd.tune:
        if allocation is not None and allocation.get("tried"):  # the allocation race's time is spent
            config = spend(config, trainer.step_count, trainer.elapsed)
        tuned = tune(image, config)
        config = tuned.config
        tried = ", ".join(f"{v:g}: {10 * np.log10(1 / max(loss, 1e-12)):.2f} dB" for v, loss in tuned.tried)
        print(f"texinr-train: tuned {tuned.field} = {tuned.value:g}, {tuned.seconds:.1f} s on the others ({tried})")
        trainer = tuned.trainer
    elif trainer is None:
        with profile.phase("set up the trainer"):
            trainer = Trainer(image, config)
    with profile.phase("train"):
        _run_with_progress(trainer, cmd.progress)
    texture = cmd.texture.name if cmd.texture is not None else mset.name
    train_info = train_record(trainer, config, allocation, texture, tuned)
    if mset is not None:
        train_info["material"] = {"name": mset.name, "sources": mset.sources, "notes": mset.notes}
    f = pack(trainer.model, config.bits, w, h, trainer.samples.mips, train=train_info)
    steps = (trainer.step_count, trainer.elapsed, trainer.threads)
    trainer = started = tuned = None  # its samples and optimizer state are not needed any more
    with profile.phase("evaluate against ASTC"):
        if mset is not None:
            report = evaluate_material_file(f, image, astc_quality=cmd.astc_quality)
        else:
            report = evaluate_file(f, image, astc_quality=cmd.astc_quality)
    f.metrics = report["metrics"]
    with profile.phase("save"):
        save(f, cmd.output)
    print((format_material_table if mset is not None else format_table)(report, cmd.output, steps))
    if cmd.profile:
        print(profile.table())
        parts = profile.step_table()
        if parts:
            print(parts)
    if cmd.json:
        print(json.dumps(report, allow_nan=False, default=float))
    return 0


def _run_with_progress(trainer, progress: bool | None) -> None:
    bar = tqdm(
        total=100,
        unit="%",
        disable=(not sys.stderr.isatty()) if progress is None else not progress,
        bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}",
        file=sys.stderr,
    )
    shown = 0

    def on_snapshot(s) -> None:
        nonlocal shown
        pct = int(s.progress * 100)
        bar.set_postfix_str(f"step {s.step} loss {s.loss:.2e} PSNR {s.psnr:.2f} dB {s.steps_per_s:.1f} steps/s")
        bar.update(pct - shown)
        shown = pct
        for e in s.events:
            bar.write(f"texinr-train: {e}")

    try:
        trainer.run(on_snapshot, every=max(1, trainer.config.train.snapshot_every // 5), with_weights=False)
    except KeyboardInterrupt:
        bar.write(f"texinr-train: interrupted at step {trainer.step_count}; saving what was learned")
    finally:
        bar.close()


def train_entrypoint(argv: list[str] | None = None) -> int:
    sys.exit(run_cli("texinr-train", parse_train, train_main, argv))


# --------------------------------------------------------------------------------------------------- decode
