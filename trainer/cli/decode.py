"""`texinr-decode`: a .texinr model decoded to an image (a material: every map of its set).

Bad input of any kind ends in one line on stderr and exit code 2; nothing is written unless it is whole.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from texinr.trainer.core import families, profile
from texinr.trainer.core.arguments import (
    ArgumentParser,
    add_profile_argument,
    check_writable,
    nonneg_float,
    run_cli,
    size_wxh,
)
from texinr.trainer.core.config import DEVICE_HELP, check_device_spec
from texinr.trainer.core.device import resolve as resolve_device
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.material import to_map_images
from texinr.trainer.core.modelfile import atomic_write, load
from texinr.trainer.core.train import render


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


def decode_main(cmd: DecodeCommand) -> int:
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
    what = f"{w}x{h}, lod {cmd.lod:g}, {families.get(f.model_config.arch).label}"
    print(f"texinr-decode: wrote {', '.join(str(p) for p in encoded)} ({what})")
    if cmd.profile:
        print(profile.table())
    return 0


def decode_entrypoint(argv: list[str] | None = None) -> int:
    sys.exit(run_cli("texinr-decode", parse_decode, decode_main, argv))


IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tga": "TGA", ".webp": "WEBP"}
