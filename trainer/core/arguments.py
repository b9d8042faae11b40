"""How settings become command-line options: the one generator every command's parser uses.

`add_setting` turns a setting's single definition (config.setting: type, default, range or choices, help) into an
option; `add_training_arguments` / `config_from_args` are the training options every training command shares
(texinr-train, texinr-view, texinr-compress). `ArgumentParser` and `run_cli` make bad input one line and exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path

from texinr.trainer.core import astc, families
from texinr.trainer.core.channels import parse_layout, shipped_images
from texinr.trainer.core.config import (
    BPP_RANGE,
    DEFAULT_ARCH,
    DEFAULT_BPP,
    Config,
    ModelConfig,
    TrainConfig,
    check_family_options,
    model_preset,
    setting_spec,
)
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import MAP_OPTIONS, MESH_SUFFIXES


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


def bpp_list(s: str) -> tuple[float, ...]:
    """Comma-separated bit rates, each within the one range a rate may have (config.BPP_RANGE)."""
    try:
        values = tuple(float(x) for x in s.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 8,2,0.89, got {s!r}") from None
    lo, hi = BPP_RANGE
    if not values or any(not (math.isfinite(v) and lo <= v <= hi) for v in values):
        raise argparse.ArgumentTypeError(f"each bpp must be between {lo:g} and {hi:g}, got {s}")
    return values


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
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--astc-preset",
        choices=tuple(astc.PRESETS),
        default=astc.DEFAULT_PRESET,
        help=f"astcenc preset of the ASTC baseline (default {astc.DEFAULT_PRESET})",
    )
    g.add_argument(
        "--astc-quality",
        type=nonneg_float,
        default=None,
        help="astcenc quality 0-100 instead of a preset (medium = 60, thorough = 98)",
    )


def astc_quality_from_args(a: argparse.Namespace) -> float:
    if a.astc_quality is not None:
        if a.astc_quality > 100:
            raise TexinrError(f"--astc-quality must be between 0 and 100, got {a.astc_quality:g}")
        return float(a.astc_quality)
    return astc.preset_quality(a.astc_preset)


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


def for_layout(config: Config, layout: str, given: frozenset[str]) -> Config:
    """`config` for a set of this channel layout: the network's outputs are its channels, a family's material
    defaults (its registry entry's material_preset) apply to what the command line did not give, and the default rate
    (DEFAULT_BPP, ASTC 8x8's) applies to every map ASTC would ship, so that a material's default is 8x8 per map."""
    m = config.model
    current = {k: v for k, v in dataclasses.asdict(m).items() if k not in ("arch", "channels")}
    own = {k: v for k, v in current.items() if k in given}
    model = model_preset(m.arch, **{**current, **_preset_of(m.arch, layout), **own, "channels": layout})
    bpp = config.bpp
    if "bpp" not in given and bpp == DEFAULT_BPP:
        bpp = DEFAULT_BPP * len(shipped_images(parse_layout(layout)))
    return dataclasses.replace(config, model=model, bpp=bpp)


def _preset_of(arch: str, layout: str) -> dict:
    """The family's defaults for this layout (a material's differ: its material_preset)."""
    cfg = model_preset(arch, channels=layout)
    return {k: getattr(cfg, k) for k in families.get(arch).preset}


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
    """One command-line option from the setting's single definition (trainer.core.config.setting): type, choices,
    help and range (checked by validate(), as for the panel). Without `with_default` the option is None when not
    given, so a caller can tell what was given; `note` is added to the help. A flag that is on by default becomes
    --no-NAME."""
    spec = setting_spec(cls, name)
    help_text = spec["help"] + note
    if spec["quick"] is not None and not note:
        default = f"default {_shown(spec['default'])}, " if spec["default"] is not None else ""
        help_text += f"; {default}--quick {_shown(spec['quick'])}"
    if spec["lo"] is not None and spec["choices"] is None:
        help_text += f" ({spec['lo']:g}..{spec['hi']:g})"
    option = "--" + (spec.get("flag") or name).replace("_", "-")
    if spec["type"] == "bool":
        if spec["default"]:
            group.add_argument("--no-" + option[2:], dest=name, action="store_false", help=help_text)
        else:
            group.add_argument(option, *aliases, dest=name, action="store_true", help=help_text)
        return
    typ = spec.get("parse") or {"int": int_arg, "float": float_arg}.get(spec["type"], str)
    default = spec["default"] if with_default else None
    metavar = option[2:].replace("-", "_").upper() if spec.get("flag") else None
    group.add_argument(
        option, *aliases, dest=name, type=typ, choices=spec["choices"], default=default, help=help_text, metavar=metavar
    )


def _shown(value) -> str:
    return ",".join(f"{v:g}" for v in value) if isinstance(value, tuple) else f"{value:g}"


def chosen_settings(a: argparse.Namespace, cls, names, quick: bool = False) -> dict:
    """The values of settings `names` of `cls` a command line chose: what it gave, else the --quick value (with
    `quick`, where the setting has one), else the default."""
    out = {}
    for name in names:
        spec, given = setting_spec(cls, name), getattr(a, name)
        out[name] = (
            given if given is not None else spec["quick"] if quick and spec["quick"] is not None else spec["default"]
        )
    return out


def block_list(s: str) -> tuple[str, ...]:
    """Comma-separated ASTC blocks (4x4 ... 12x12)."""
    blocks = tuple(b.strip() for b in s.split(",") if b.strip())
    if not blocks:
        raise argparse.ArgumentTypeError(f"expected ASTC blocks such as 8x8,12x12, got {s!r}")
    for b in blocks:
        try:
            astc.parse_block(b)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return blocks


def family_list(s: str) -> tuple[str, ...]:
    """Comma-separated family names, each one the registry knows."""
    names = tuple(x.strip() for x in s.split(",") if x.strip())
    bad = [f for f in names if f not in families.names()]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown family {','.join(bad) or s!r}; choose from {', '.join(families.names())}"
        )
    return names


MODEL_ARGS = tuple(f.name for f in dataclasses.fields(ModelConfig) if f.name not in ("arch", "lod", "channels"))
"""Every ModelConfig setting a command line may give (the family's sizes and options; lod and channels are derived
from --mips and from the input)."""


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network (each family has its own defaults: the README's family table)")
    g.add_argument(
        "--arch",
        default=DEFAULT_ARCH,
        metavar="FAMILY",
        help=f"family: {' | '.join(families.names())} (default {DEFAULT_ARCH})",
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
    allocates = a.arch in families.names() and families.get(a.arch).allocations
    if a.allocation is not None and (not allocates or bpp is None):  # it would be silently ignored
        why = f"the {a.arch} family" if not allocates else "sizes given by hand (no bit rate)"
        raise TexinrError(f"--allocation applies to the codec sized to a bit rate, not to {why}")
    model = model_preset(a.arch, **given)
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
    """A material set's maps named one by one (trainer.core.material.MAP_OPTIONS), and which material of a model."""
    g = p.add_argument_group(
        "material (a whole PBR set in one network: a .gltf/.glb/.obj, a folder of maps, or the maps named here)"
    )
    for name in MAP_OPTIONS:
        what = "occlusion / roughness / metallic packed in R, G, B" if name == "arm" else name.replace("_", " ")
        g.add_argument(f"--{name.replace('_', '-')}", type=Path, metavar="IMAGE", help=f"{what} map")
    g.add_argument("--normal-dx", action="store_true", help="the normal map is in DirectX convention (flip green)")
    g.add_argument("--material", help="which material of a glTF with several (name or number; default the first)")


def material_files(a: argparse.Namespace) -> dict[str, Path]:
    return {k: getattr(a, k) for k in MAP_OPTIONS if getattr(a, k) is not None}


def is_material_input(path: Path | None, files: dict) -> bool:
    """Whether a command's input is a material set (a model file, a folder, maps named one by one) rather than one
    image."""
    return bool(files) or path is None or path.is_dir() or path.suffix.lower() in MESH_SUFFIXES


def add_profile_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", action="store_true", help="print the time and peak memory of each phase at the end")
