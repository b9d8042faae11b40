import os
import struct
import zlib

import numpy as np
import pytest
import torch

from texinr.trainer.core.config import model_preset
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.families import names as family_names
from texinr.trainer.core.modelfile import FORMAT_VERSION, MAGIC, decode, encode, load, model_bits, pack, save
from texinr.trainer.core.models import build_model
from texinr.trainer.core.train import render

SMALL = {
    "width": 16,
    "depth": 2,
    "hash_table_log2": 10,
    "hash_levels": 4,
    "hash_finest_res": 64,
    "grid_base_res": 8,
    "grid_finest_res": 16,
    "fourier_mode": "gaussian",
    "codec_grids": "16x2x3,8x3x1,4x5x8",
}


def as_stored(model, name: str, t: torch.Tensor) -> torch.Tensor:
    """What a lossless store keeps: the codec's latents are stored as the quantised values its forward uses."""
    if model.cfg.arch == "codec" and name.startswith("encoding.tables."):
        return model.encoding.quantized(int(name.split(".")[2])).detach()
    return t


def trained_like(arch: str, lod=True):
    model = build_model(model_preset(arch, lod=lod, **SMALL), seed=1)
    with torch.no_grad():  # give every weight a spread of values, as training would
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


@pytest.mark.parametrize("arch", family_names())
def test_fp32_round_trip_is_bit_exact(arch, tmp_path):
    model = trained_like(arch)
    f = pack(model, 32, 64, 48, 6, metrics={"psnr": 30.0})
    save(f, tmp_path / "m.texinr")
    g = load(tmp_path / "m.texinr")
    assert g.model_config == model.cfg and (g.width, g.height, g.mips) == (64, 48, 6)
    assert g.metrics == {"psnr": 30.0}
    for name, t in model.state_dict().items():
        assert torch.equal(g.state_dict()[name], as_stored(model, name, t)), name
    np.testing.assert_array_equal(render(g.build(), 8, 8), render(model.eval(), 8, 8))


@pytest.mark.parametrize("arch", family_names())
@pytest.mark.parametrize(("bits", "rel"), [(16, 1e-3), (8, 1.0 / 127 + 1e-6)])
def test_fp16_and_int8_round_trip_error_is_bounded(arch, bits, rel, tmp_path):
    model = trained_like(arch)
    save(pack(model, bits, 64, 64, 6), tmp_path / "m.texinr")
    g = load(tmp_path / "m.texinr")
    learned = {n for n, _ in model.named_parameters()}
    for name, t in model.state_dict().items():
        t = as_stored(model, name, t)
        err = (g.state_dict()[name] - t).abs().max()
        if name not in learned:
            assert float(err) == 0.0  # Fourier frequencies stay fp32
        else:
            # per-channel int8: |error| <= scale / 2 <= max|w| / 254; fp16: relative 2^-11
            assert float(err) <= rel * float(t.abs().max()) + 1e-7, name
    uv, t = torch.rand(64, 2), torch.rand(64, 1)
    with torch.no_grad():
        a, b = g.build().forward_raw(uv, t), model.forward_raw(uv, t)
    assert not torch.equal(a, b)  # the stored weights really are at lower precision
    assert float((a - b).abs().max()) < 0.2


@pytest.mark.parametrize("arch", family_names())
@pytest.mark.parametrize("bits", [32, 16, 8])
def test_reported_bits_equal_payload_bits(arch, bits):
    model = trained_like(arch)
    f = pack(model, bits, 100, 50, 1)
    data = encode(f)
    hlen = struct.unpack_from("<I", data, 12)[0]
    payload = len(data) - 16 - hlen - 4
    assert payload * 8 == f.payload_bits == model_bits(model, bits)
    assert f.bpp == f.payload_bits / (100 * 50)
    learned = sum(p.numel() for p in model.parameters())
    if bits == 16 and arch not in ("fourier", "codec"):
        assert f.payload_bits == learned * 16  # nothing else hides in the payload
    if arch == "codec":  # latents at 3, 1 and 8 bits, each tensor padded to a whole byte; the decoder at `bits`
        latent = sum(-(-((r + 1) ** 2) * c * b // 8) * 8 for r, c, b in [(16, 2, 3), (8, 3, 1), (4, 5, 8)])
        decoder = model_bits(model, bits) - latent
        assert decoder == sum(sum(model_bits_of(p, n, bits) for n, p in model.mlp.named_parameters()) for _ in [0])


def test_loading_rejects_bad_files(tmp_path):
    model = trained_like("grid")
    good = encode(pack(model, 16, 32, 32, 1))
    cases = {
        "foreign.texinr": b"PK\x03\x04 this is a zip file" + b"\0" * 64,
        "empty.texinr": b"",
        "truncated.texinr": good[: len(good) // 2],
        "flipped.texinr": good[:-40] + bytes([good[-40] ^ 1]) + good[-39:],
        "trailing.texinr": good + b"\0",
    }
    newer = bytearray(good)
    struct.pack_into("<H", newer, 8, FORMAT_VERSION + 1)
    cases["newer.texinr"] = bytes(newer)
    messages = {
        "foreign": "not a .texinr",
        "empty": "not a .texinr",
        "truncated": "truncated",
        "flipped": "checksum",
        "trailing": "trailing",
        "newer": "newer texinr",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(TexinrError, match=messages[name.split(".")[0]]):
            load(tmp_path / name)


def test_header_that_lies_about_the_architecture_is_rejected():
    model = trained_like("grid")
    data = encode(pack(model, 16, 32, 32, 1))
    hlen = struct.unpack_from("<I", data, 12)[0]
    header = data[16 : 16 + hlen].replace(b'"width": 16', b'"width": 17')
    body = MAGIC + struct.pack("<HHI", FORMAT_VERSION, 0, len(header)) + header + data[16 + hlen : -4]
    with pytest.raises(TexinrError, match=r"do not match|table"):
        decode(body + struct.pack("<I", zlib.crc32(body)))


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    model = trained_like("relu")
    path = tmp_path / "m.texinr"
    save(pack(model, 32, 8, 8, 1), path)
    before = path.read_bytes()
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", broken_fsync)
    with pytest.raises(OSError):
        save(pack(trained_like("siren"), 32, 8, 8, 1), path)
    assert path.read_bytes() == before  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["m.texinr"]


def model_bits_of(p: torch.Tensor, name: str, bits: int) -> int:
    if bits != 8:
        return p.numel() * bits
    return p.numel() * 8 + 32 * (p.shape[0] if p.ndim == 2 else 1)  # int8 + one fp32 scale per row (bias: one)


def test_codec_latents_are_bit_packed(tmp_path):
    """1-8-bit latent codes survive the file exactly, packed B bits per value."""
    from texinr.trainer.core.quantize import pack_codes, unpack_codes

    rng = np.random.default_rng(0)
    for bits in range(1, 9):
        codes = rng.integers(0, 1 << bits, size=37).astype(np.uint8)
        buf = pack_codes(codes, bits)
        assert len(buf) == -(-37 * bits // 8)
        np.testing.assert_array_equal(unpack_codes(buf, 37, bits), codes)
    model = trained_like("codec")
    with torch.no_grad():
        model.encoding.tables[1].copy_(torch.sign(torch.randn_like(model.encoding.tables[1])))
    save(pack(model, 32, 32, 32, 1), tmp_path / "c.texinr")
    g = load(tmp_path / "c.texinr")
    assert set(np.unique(g.state_dict()["encoding.tables.1"].numpy())) <= {-1.0, 1.0}
    np.testing.assert_array_equal(render(g.build(), 16, 16), render(model.eval(), 16, 16))
