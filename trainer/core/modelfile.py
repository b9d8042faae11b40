"""The `.texinr` file: a versioned, self-describing container for one trained texture field.

Layout (little-endian):
    8 bytes   magic b"TEXINR\\r\\n"
    u16       format version (FORMAT_VERSION)
    u16       reserved (0)
    u32       header length in bytes
    header    UTF-8 JSON: configs, image size, mip levels, tensor table, bits, metrics
    payload   every tensor at its stored precision, in table order (values, then int8 scales; codec latents
              bit-packed, see trainer/core/quantize.py)
    u32       CRC-32 of everything before it

The payload is exactly what the decoder needs that is particular to this texture: its size in bits is the
`payload_bits` that bpp is computed from (docs/MEASURE.md). Magic, header and checksum are reported separately.
Files are written atomically: a temporary file in the same folder, fsync, then rename.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from texinr.trainer.core import families, packing
from texinr.trainer.core.config import ModelConfig
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.models import TextureField
from texinr.trainer.core.quantize import (
    DTYPES,
    NP_DTYPES,
    PACKED,
    QTensor,
    byte_size,
    from_bytes,
    quantize,
    storage_dtype,
)

MAGIC = b"TEXINR\r\n"
FORMAT_VERSION = 2
"""2: the codec's grids may sit at texel centres (codec_layout); a version 1 file's grids sit at cell corners."""
_PREFIX = struct.Struct("<8sHHI")


@dataclass
class TexinrFile:
    """A model as stored: configs, image facts, quantised tensors, metrics."""

    model_config: ModelConfig
    bits: int
    width: int
    height: int
    mips: int
    tensors: list[QTensor]
    metrics: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)

    @property
    def payload_bits(self) -> int:
        return sum(t.bits for t in self.tensors)

    @property
    def bpp(self) -> float:
        return self.payload_bits / (self.width * self.height)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {t.name: torch.from_numpy(t.dequantize()) for t in self.tensors}

    def build(self) -> TextureField:
        """The torch model with the stored (dequantised) weights."""
        model = TextureField(self.model_config)
        model.load_state_dict(self.state_dict())
        return model.eval()


def learned_names(model: TextureField) -> set[str]:
    return {n for n, _ in model.named_parameters()}


def codec_bits(cfg: ModelConfig) -> list[int] | None:
    """The codec's latent bit depth per grid (None for other families)."""
    latent_bits = families.get(cfg.arch).latent_bits
    return latent_bits(cfg) if latent_bits is not None else None


def quantize_model(model: TextureField, bits: int) -> list[QTensor]:
    learned, cbits = learned_names(model), codec_bits(model.cfg)
    return [
        quantize(name, w.detach().cpu().numpy(), bits, dtype=storage_dtype(name, bits, name in learned, cbits))
        for name, w in model.state_dict().items()
    ]


def pack(
    model: TextureField,
    bits: int,
    width: int,
    height: int,
    mips: int,
    metrics: dict | None = None,
    train: dict | None = None,
) -> TexinrFile:
    return TexinrFile(model.cfg, bits, width, height, mips, quantize_model(model, bits), metrics or {}, train or {})


def model_bits(model: TextureField, bits: int) -> int:
    """Payload bits of this model at this precision (what bpp counts)."""
    return sum(t.bits for t in quantize_model(model, bits))


def encode(f: TexinrFile) -> bytes:
    table, offset = [], 0
    for t in f.tensors:
        n = byte_size(t.shape, t.dtype, 0 if t.scales is None else t.scales.size)
        table.append(
            {
                "name": t.name,
                "shape": list(t.shape),
                "dtype": t.dtype,
                "offset": offset,
                "nbytes": n,
                "scales": 0 if t.scales is None else int(t.scales.size),
                "scale_axis": t.scale_axis,
            }
        )
        offset += n
    header = {
        "format": "texinr",
        "version": FORMAT_VERSION,
        "arch": f.model_config.arch,
        "model": f.model_config.to_dict(),
        "bits": f.bits,
        "image": {"width": f.width, "height": f.height, "mips": f.mips},
        "tensors": table,
        "payload_bytes": offset,
        "payload_bits": offset * 8,
        "bpp": offset * 8 / (f.width * f.height),
        "metrics": f.metrics,
        "train": f.train,
    }
    hbytes = json.dumps(header, sort_keys=True, allow_nan=False, default=_json_default).encode("utf-8")
    payload = b"".join(t.tobytes() for t in f.tensors)
    assert len(payload) * 8 == f.payload_bits, "payload size must equal the counted bits"
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(hbytes)) + hbytes + payload
    return body + struct.pack("<I", zlib.crc32(body))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def decode(data: bytes, name: str = "model") -> TexinrFile:
    if len(data) < _PREFIX.size or data[:8] != MAGIC:
        raise TexinrError(f"{name}: not a .texinr model file")
    _, version, _, hlen = _PREFIX.unpack_from(data)
    if version > FORMAT_VERSION:
        raise TexinrError(
            f"{name}: written by a newer texinr (format version {version}; this one reads up to {FORMAT_VERSION})"
        )
    if version < 1:
        raise TexinrError(f"{name}: unknown format version {version}")
    if len(data) < _PREFIX.size + hlen + 4:
        raise TexinrError(f"{name}: truncated .texinr file")
    try:
        header = json.loads(data[_PREFIX.size : _PREFIX.size + hlen].decode("utf-8"))
        payload_bytes = int(header["payload_bytes"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise TexinrError(f"{name}: corrupt .texinr file (bad header)") from None
    end = _PREFIX.size + hlen + payload_bytes
    if len(data) < end + 4:
        raise TexinrError(f"{name}: truncated .texinr file ({len(data)} of {end + 4} bytes)")
    if len(data) > end + 4:
        raise TexinrError(f"{name}: corrupt .texinr file ({len(data) - end - 4} unexpected trailing bytes)")
    (crc,) = struct.unpack_from("<I", data, end)
    if crc != zlib.crc32(data[:end]):
        raise TexinrError(f"{name}: corrupt .texinr file (checksum mismatch)")
    try:
        return _from_header(header, data[_PREFIX.size + hlen : end])
    except TexinrError as e:
        raise TexinrError(f"{name}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise TexinrError(f"{name}: corrupt .texinr file ({e})") from None


def _from_header(header: dict, payload: bytes) -> TexinrFile:
    if header.get("format") != "texinr":
        raise TexinrError("not a texinr header")
    model = dict(header["model"])
    if model.get("arch") == "codec":
        model.setdefault("codec_layout", "corner")  # written before the layout was a setting (format version 1)
    cfg = ModelConfig.from_dict(model)
    bits = int(header["bits"])
    if bits not in DTYPES:
        raise TexinrError(f"unsupported weight precision {bits}")
    tensors = []
    for e in header["tensors"]:
        if e["dtype"] not in NP_DTYPES and e["dtype"] not in PACKED:
            raise TexinrError(f"unknown dtype {e['dtype']!r}")
        shape = tuple(int(s) for s in e["shape"])
        n = byte_size(shape, e["dtype"], int(e["scales"]))
        if n != e["nbytes"] or e["offset"] + n > len(payload):
            raise TexinrError("tensor table does not match the payload")
        tensors.append(
            from_bytes(
                e["name"], shape, e["dtype"], int(e["scales"]), e["scale_axis"], payload[e["offset"] : e["offset"] + n]
            )
        )
    img = header["image"]
    f = TexinrFile(
        cfg,
        bits,
        int(img["width"]),
        int(img["height"]),
        int(img["mips"]),
        tensors,
        header.get("metrics", {}),
        header.get("train", {}),
    )
    expected = TextureField(cfg).state_dict()
    names = [t.name for t in tensors]
    if names != list(expected) or any(tuple(expected[t.name].shape) != t.shape for t in tensors):
        raise TexinrError("tensors do not match the architecture in the header")
    return f


def save(f: TexinrFile, path: str | Path) -> int:
    """Write atomically; returns the file size in bytes."""
    path = Path(path)
    data = encode(f)
    atomic_write(path, data)
    return len(data)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: a reader never sees half a file."""
    parent = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a finished file gets the usual permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path: str | Path) -> TexinrFile:
    path = Path(path)
    if not path.exists():
        raise TexinrError(f"{path}: no such file")
    if path.is_dir():
        raise TexinrError(f"{path}: is a folder, not a model file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TexinrError(f"{path}: cannot read ({e.strerror})") from None
    return decode(data, str(path))


def packed_of(f: TexinrFile) -> packing.PackedWeights:
    """A stored model (a TexinrFile: its dequantised weights) in the shader's layout."""
    return packing.pack(f.model_config.to_dict(), {k: v.numpy() for k, v in f.state_dict().items()})
