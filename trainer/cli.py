"""`texinr-train` and `texinr-decode`: entry points parse arguments into a config and call `main(config)`.

Bad input of any kind ends in one line on stderr and exit code 2; nothing is written unless it is whole.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from texinr.trainer.config import (
    ARCH_NAMES,
    ARCHS,
    DEFAULT_ARCH,
    DEFAULT_BPP,
    DEVICE_HELP,
    Config,
    ModelConfig,
    TrainConfig,
    check_device_spec,
    check_family_options,
    model_preset,
    setting_spec,
)
from texinr.trainer.errors import TexinrError


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (exit 2), not a usage block."""

    def error(self, message: str):
        raise TexinrError(message)


def positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {v}")
    return v


def nonneg_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {v}")
    return v


def positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {s}")
    return v


def nonneg_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {s}")
    return v


def size_wxh(s: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in s.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH such as 512x512, got {s!r}") from None
    if not (1 <= w <= 16384 and 1 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"size must be between 1x1 and 16384x16384, got {s}")
    return w, h


def add_astc_arguments(p: argparse.ArgumentParser) -> None:
    """The ASTC baseline's effort, the same for every command: a named astcenc preset, or a quality number."""
    from texinr.trainer.astc import DEFAULT_PRESET, PRESETS

    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--astc-preset",
        choices=tuple(PRESETS),
        default=DEFAULT_PRESET,
        help=f"astcenc preset of the ASTC baseline (default {DEFAULT_PRESET})",
    )
    g.add_argument(
        "--astc-quality",
        type=nonneg_float,
        default=None,
        help="astcenc quality 0-100 instead of a preset (medium = 60, thorough = 98)",
    )


def astc_quality_from_args(a: argparse.Namespace) -> float:
    from texinr.trainer.astc import preset_quality

    if a.astc_quality is not None:
        if a.astc_quality > 100:
            raise TexinrError(f"--astc-quality must be between 0 and 100, got {a.astc_quality:g}")
        return float(a.astc_quality)
    return preset_quality(a.astc_preset)


def run_cli(prog: str, parse, main, argv: list[str] | None) -> int:
    """Parse, run, and turn TexinrError into 'prog: error: ...' with exit code 2."""
    try:
        config = parse(argv)
        return main(config)
    except TexinrError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def check_writable(path: Path) -> None:
    """Fail before the work, not after it, when `path` cannot be written."""
    if path.is_dir():
        raise TexinrError(f"{path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise TexinrError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise TexinrError(f"{path}: folder {parent} is not writable")


def check_writable_folder(path: Path) -> None:
    """Fail before the work when the output folder `path` cannot be made or written."""
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        where = "" if existing == path else f" {existing}"
        raise TexinrError(f"{path}:{where} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise TexinrError(f"{path}: folder {existing} is not writable")


# ---------------------------------------------------------------------------------------------------- train
@dataclass(frozen=True)
class TrainCommand:
    texture: Path | None
    output: Path
    config: Config
    json: bool = False
    astc_quality: float = 98.0  # astcenc thorough (trainer.astc.DEFAULT_PRESET)
    progress: bool | None = None  # None: a tqdm bar only on a terminal
    tune: bool = False  # pick omega0 / sigma / max frequency / lr by a short search first
    profile: bool = False  # print the time and peak memory of each phase at the end
    maps: tuple[tuple[str, Path], ...] = ()  # a material's maps named one by one
    normal_dx: bool = False
    material: str | None = None
    given: frozenset[str] = frozenset()  # settings the command line gave (the others follow the set: for_layout)


def for_layout(config: Config, layout: str, given: frozenset[str]) -> Config:
    """`config` for a set of this channel layout: the network's outputs are its channels, a family's material
    defaults (config.MATERIAL_PRESETS) apply to what the command line did not give, and the default rate
    (DEFAULT_BPP, ASTC 8x8's) applies to every map ASTC would ship, so that a material's default is 8x8 per map."""
    from texinr.trainer.channels import parse_layout, shipped_images

    m = config.model
    current = {k: v for k, v in dataclasses.asdict(m).items() if k not in ("arch", "channels")}
    own = {k: v for k, v in current.items() if k in given}
    model = model_preset(m.arch, **{**current, **_preset_of(m.arch, layout), **own, "channels": layout})
    bpp = config.bpp
    if "bpp" not in given and bpp == DEFAULT_BPP:
        bpp = DEFAULT_BPP * len(shipped_images(parse_layout(layout)))
    return dataclasses.replace(config, model=model, bpp=bpp)


def _preset_of(arch: str, layout: str) -> dict:
    """The family's defaults for this layout (a material's differ: config.MATERIAL_PRESETS)."""
    from texinr.trainer.config import PRESETS

    cfg = model_preset(arch, channels=layout)
    return {k: getattr(cfg, k) for k in {**PRESETS[arch]}}


def given_settings(a: argparse.Namespace) -> frozenset[str]:
    """The model settings and the rate the command line gave."""
    names = {k for k in MODEL_ARGS if getattr(a, k, None) is not None}
    return frozenset(names | ({"bpp"} if getattr(a, "bpp", None) is not None else set()))


def int_arg(s: str) -> int:
    try:
        return int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None


def float_arg(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None


def add_setting(group, cls, name: str, with_default: bool = False, note: str = "", aliases=()) -> None:
    """One command-line option from the setting's single definition (trainer.config.setting): type, choices,
    help and range (checked by validate(), as for the panel). Without `with_default` the option is None when not
    given, so a caller can tell what was given; `note` is added to the help."""
    spec = setting_spec(cls, name)
    help_text = spec["help"] + note
    if spec["lo"] is not None and spec["choices"] is None:
        help_text += f" ({spec['lo']:g}..{spec['hi']:g})"
    args = ["--" + name.replace("_", "-"), *aliases]
    if spec["type"] == "bool":
        group.add_argument(*args, action="store_true", help=help_text)
        return
    typ = {"int": int_arg, "float": float_arg}.get(spec["type"], str)
    default = spec["default"] if with_default else None
    group.add_argument(*args, type=typ, choices=spec["choices"], default=default, help=help_text)


MODEL_ARGS = tuple(f.name for f in dataclasses.fields(ModelConfig) if f.name not in ("arch", "lod", "channels"))
"""Every ModelConfig setting a command line may give (the family's sizes and options; lod and channels are derived
from --mips and from the input)."""


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network (defaults per family: see trainer/config.py PRESETS)")
    g.add_argument(
        "--arch", default=DEFAULT_ARCH, metavar="FAMILY", help=f"family: {' | '.join(ARCHS)} (default {DEFAULT_ARCH})"
    )
    for name in MODEL_ARGS:
        add_setting(g, ModelConfig, name)


def add_training_arguments(p: argparse.ArgumentParser, seconds_default: str = "30") -> None:
    """Every training option, shared by texinr-train and texinr-view (config_from_args reads them back)."""
    add_model_arguments(p)
    t = p.add_argument_group("training")
    for name in ("mips", "jitter", "optimizer", "schedule"):
        add_setting(t, TrainConfig, name, with_default=True)
    add_setting(t, Config, "bits", with_default=True)
    for name in ("lr", "batch", "flip_finish"):
        add_setting(t, TrainConfig, name)
    add_setting(t, TrainConfig, "balance", with_default=True)
    budget = t.add_mutually_exclusive_group()
    add_setting(budget, TrainConfig, "steps")
    add_setting(budget, TrainConfig, "seconds", note=f"; default {seconds_default}", aliases=("--train-seconds",))
    for name in ("seed", "threads", "device"):
        add_setting(t, TrainConfig, name, with_default=True)
    add_setting(t, Config, "bpp", note=f"; default {DEFAULT_BPP:g}, unless sizes are given")
    add_setting(t, Config, "allocation", note="; default race")


def config_from_args(a: argparse.Namespace, seconds: float) -> Config:
    """The Config the training options on a command line describe (`seconds`: the budget when none is given)."""
    given = {k: getattr(a, k) for k in MODEL_ARGS if getattr(a, k) is not None}
    check_family_options(a.arch, given)
    bpp = a.bpp if a.bpp is not None else (None if given else DEFAULT_BPP)
    if a.allocation is not None and (a.arch != "codec" or bpp is None):  # it would be silently ignored
        why = f"the {a.arch} family" if a.arch != "codec" else "sizes given by hand (no bit rate)"
        raise TexinrError(f"--allocation applies to the codec sized to a bit rate, not to {why}")
    model = model_preset(a.arch, lod=a.mips > 1, **given)
    train = TrainConfig(
        mips=a.mips,
        jitter=a.jitter,
        optimizer=a.optimizer,
        lr=a.lr,
        schedule=a.schedule,
        batch=a.batch,
        flip_finish=a.flip_finish,
        balance=a.balance,
        steps=a.steps,
        seconds=a.seconds if a.seconds is not None or a.steps is not None else seconds,
        seed=a.seed,
        threads=a.threads,
        device=a.device,
    )
    allocation = a.allocation if a.allocation is not None else setting_spec(Config, "allocation")["default"]
    return Config(model, train, a.bits, bpp, allocation).validate()


def add_material_arguments(p: argparse.ArgumentParser) -> None:
    """A material set's maps named one by one (trainer.material.MAP_OPTIONS), and which material of a model."""
    from texinr.trainer.material import MAP_OPTIONS

    g = p.add_argument_group(
        "material (a whole PBR set in one network: a .gltf/.glb/.obj, a folder of maps, or the maps named here)"
    )
    for name in MAP_OPTIONS:
        what = "occlusion / roughness / metallic packed in R, G, B" if name == "arm" else name.replace("_", " ")
        g.add_argument(f"--{name.replace('_', '-')}", type=Path, metavar="IMAGE", help=f"{what} map")
    g.add_argument("--normal-dx", action="store_true", help="the normal map is in DirectX convention (flip green)")
    g.add_argument("--material", help="which material of a glTF with several (name or number; default the first)")


def material_files(a: argparse.Namespace) -> dict[str, Path]:
    from texinr.trainer.material import MAP_OPTIONS

    return {k: getattr(a, k) for k in MAP_OPTIONS if getattr(a, k) is not None}


def is_material_input(path: Path | None, files: dict) -> bool:
    """Whether a command's input is a material set (a model file, a folder, maps named one by one) rather than one
    image."""
    from texinr.trainer.material import MESH_SUFFIXES

    return bool(files) or path is None or path.is_dir() or path.suffix.lower() in MESH_SUFFIXES


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


def add_profile_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", action="store_true", help="print the time and peak memory of each phase at the end")


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
    from texinr.trainer import profile
    from texinr.trainer.data import load_image
    from texinr.trainer.device import describe as describe_device
    from texinr.trainer.device import resolve as resolve_device
    from texinr.trainer.modelfile import pack, save
    from texinr.trainer.report import evaluate_file, format_table
    from texinr.trainer.train import Trainer

    if cmd.profile:
        profile.enable()
    if cmd.output.suffix != ".texinr":
        raise TexinrError(f"{cmd.output}: model files end in .texinr")
    check_writable(cmd.output)
    device = resolve_device(cmd.config.train.device)  # before anything else: a missing GPU is one line, at once
    mset = None
    if is_material_input(cmd.texture, dict(cmd.maps)):
        from texinr.trainer.material import describe, load_material

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
        from texinr.trainer import allocation as alloc
        from texinr.trainer.channels import parse_layout, shipped_images
        from texinr.trainer.sizing import config_bits, rate_budget

        with profile.phase("size" + (" and race allocations" if config.model.arch == "codec" else "")):
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
        from texinr.trainer.tuning import spend, tune

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
            from texinr.trainer.report import evaluate_material_file, format_material_table

            report = evaluate_material_file(f, image, astc_quality=cmd.astc_quality)
        else:
            report = evaluate_file(f, image, astc_quality=cmd.astc_quality)
    f.metrics = report["metrics"]
    with profile.phase("save"):
        save(f, cmd.output)
    print((format_material_table if mset is not None else format_table)(report, cmd.output, steps))
    if cmd.profile:
        print(profile.table())
    if cmd.json:
        print(json.dumps(report, allow_nan=False, default=float))
    return 0


def train_record(trainer, config: Config, allocation: dict | None, texture: str, tuned=None) -> dict:
    """How a model was trained, as its `.texinr` header keeps it (`train`)."""
    from texinr.trainer.device import describe as describe_device

    return {
        **config.train.to_dict(),
        "allocation": allocation,
        "tuned": None if tuned is None else {"field": tuned.field, "value": tuned.value, "tried": tuned.tried},
        "steps_done": trainer.step_count,
        "seconds_done": round(trainer.elapsed, 3),
        "threads": trainer.threads,
        "device_used": describe_device(trainer.device),
        "events": trainer.events,
        "texture": texture,
        "mips_fitted": trainer.samples.mips,
    }


def _run_with_progress(trainer, progress: bool | None) -> None:
    from tqdm import tqdm

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
@dataclass(frozen=True)
class DecodeCommand:
    model: Path
    output: Path
    size: tuple[int, int] | None = None
    lod: float = 0.0
    device: str = "auto"
    profile: bool = False


def decode_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="texinr-decode", description="Decode a .texinr model to an image (a material: every map of its set)."
    )
    p.add_argument("model", type=Path, help=".texinr model file")
    p.add_argument(
        "output",
        type=Path,
        help="image to write (.png recommended); a material writes OUTPUT_base_colour.png, OUTPUT_normal.png, "
        "OUTPUT_arm.png, ... beside it",
    )
    p.add_argument("--size", type=size_wxh, help="output size WxH (default: the trained size)")
    p.add_argument("--lod", type=nonneg_float, default=0.0, help="level of detail t in [0, 1] (0 = base level)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP.replace("that trains", "that decodes"))
    add_profile_argument(p)
    return p


def parse_decode(argv: list[str] | None) -> DecodeCommand:
    a = decode_parser().parse_args(argv)
    if a.lod > 1:
        raise TexinrError(f"--lod must be between 0 and 1, got {a.lod}")
    return DecodeCommand(a.model, a.output, a.size, a.lod, check_device_spec(a.device), a.profile)


IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tga": "TGA", ".webp": "WEBP"}


def decode_main(cmd: DecodeCommand) -> int:
    from PIL import Image

    from texinr.trainer import profile
    from texinr.trainer.device import resolve as resolve_device
    from texinr.trainer.material import to_map_images
    from texinr.trainer.modelfile import atomic_write, load
    from texinr.trainer.train import render

    if cmd.profile:
        profile.enable()
    if cmd.output.is_dir():
        raise TexinrError(f"{cmd.output}: is a folder; give a file name such as out.png")
    fmt = IMAGE_FORMATS.get(cmd.output.suffix.lower())
    if fmt is None:
        raise TexinrError(f"{cmd.output}: unknown image type; use one of {', '.join(IMAGE_FORMATS)}")
    check_writable(cmd.output)
    device = resolve_device(cmd.device)
    with profile.phase("load the model"):
        f = load(cmd.model)
    if cmd.lod > 0 and not f.model_config.lod:
        raise TexinrError(f"{cmd.model}: this model was trained without mips; --lod needs one trained with --mips > 1")
    w, h = cmd.size or (f.width, f.height)
    with profile.phase("decode"):
        values = render(f.build().to(device), h, w, cmd.lod)
    with profile.phase("encode and write the image"):
        images = to_map_images(values, f.model_config.channels)
        if list(images) == ["rgb"]:
            targets = {cmd.output: images["rgb"]}
        else:
            stem, suffix = cmd.output.with_suffix(""), cmd.output.suffix
            targets = {stem.with_name(f"{stem.name}_{name}{suffix}"): img for name, img in images.items()}
            if fmt == "JPEG" and "normal" in images:
                print("texinr-decode: note: JPEG is lossy; normal maps are usually kept as PNG", file=sys.stderr)
        if fmt in ("JPEG", "BMP") and any(img.ndim == 3 and img.shape[2] == 4 for img in targets.values()):
            raise TexinrError(f"{cmd.output}: the base colour has alpha, which {fmt} cannot hold; write .png")
        encoded = {}
        for path, img in targets.items():  # every image encoded before any is written: all or nothing
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format=fmt)
            encoded[path] = buf.getvalue()
        for path, data in encoded.items():
            atomic_write(path, data)
    what = f"{w}x{h}, lod {cmd.lod:g}, {ARCH_NAMES[f.model_config.arch]}"
    print(f"texinr-decode: wrote {', '.join(str(p) for p in encoded)} ({what})")
    if cmd.profile:
        print(profile.table())
    return 0


def decode_entrypoint(argv: list[str] | None = None) -> int:
    sys.exit(run_cli("texinr-decode", parse_decode, decode_main, argv))
