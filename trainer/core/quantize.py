"""Stored precision of weights: fp32, fp16, int8 with fp32 scales, or packed 1-8-bit latent codes; exact bit counts.

int8 is symmetric (w ~ q * scale, q in [-127, 127]) with one scale per channel: per output row of a linear
layer's weight, per feature channel of a grid table, one per tensor for biases. Buffers that are not learned
(Fourier frequency matrices) always stay fp32: their precision sets the phase of every feature.

Codec latents ("u1" .. "u8") are unsigned codes q in 0 .. 2^B - 1 standing for v = 2 q / (2^B - 1) - 1 in
[-1, 1]: a fixed range, so no scale or offset is stored (the decoder's first layer absorbs any scale). They are
bit-packed, least significant bit first, B bits per value in C order, padded with zeros to a whole byte; the
padding (under 8 bits per tensor) is counted in the bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DTYPES = {32: "f32", 16: "f16", 8: "i8"}
NP_DTYPES = {"f32": np.dtype("<f4"), "f16": np.dtype("<f2"), "i8": np.dtype("i1")}
_BITS_OF = {v: k for k, v in DTYPES.items()}
PACKED = {f"u{b}": b for b in range(1, 9)}
"""Packed unsigned latent codes: dtype name -> bits per value."""
SCALE_DTYPE = np.dtype("<f4")


@dataclass(frozen=True)
class QTensor:
    """One tensor at its stored precision. `scale_axis` is the axis with one scale per index (None: one scale)."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # f32 | f16 | i8
    values: np.ndarray  # stored values, dtype NP_DTYPES[dtype]
    scales: np.ndarray | None  # float32 scales (int8 only)
    scale_axis: int | None

    @property
    def bits(self) -> int:
        if self.dtype in PACKED:
            return 8 * byte_size(self.shape, self.dtype, 0)
        n = self.values.size * NP_DTYPES[self.dtype].itemsize * 8
        return n + (0 if self.scales is None else self.scales.size * 32)

    def tobytes(self) -> bytes:
        if self.dtype in PACKED:
            return pack_codes(self.values, PACKED[self.dtype])
        out = self.values.astype(NP_DTYPES[self.dtype]).tobytes()
        if self.scales is not None:
            out += self.scales.astype(SCALE_DTYPE).tobytes()
        return out

    def dequantize(self) -> np.ndarray:
        if self.dtype in PACKED:
            return dequantize_codes(self.values, PACKED[self.dtype])
        v = self.values.astype(np.float32)
        if self.scales is None:
            return v
        if self.scale_axis is None:
            return v * self.scales[0]
        shape = [1] * v.ndim
        shape[self.scale_axis] = -1
        return v * self.scales.reshape(shape)


def scale_axis_for(name: str, ndim: int) -> int | None:
    """Where int8 scales go: grid tables per feature channel (last axis), linear weights per output row."""
    if ".tables." in name or name.startswith("encoding.tables"):
        return ndim - 1
    if ndim == 2:
        return 0
    return None


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Unsigned codes (any shape, each < 2^bits) -> bytes, `bits` bits per value, least significant bit first."""
    flat = np.asarray(codes, np.uint8).reshape(-1)
    planes = (flat[:, None] >> np.arange(bits, dtype=np.uint8)) & 1
    return np.packbits(planes.reshape(-1), bitorder="little").tobytes()


def unpack_codes(buf: bytes, count: int, bits: int) -> np.ndarray:
    planes = np.unpackbits(np.frombuffer(buf, np.uint8), count=count * bits, bitorder="little").reshape(count, bits)
    return (planes.astype(np.uint16) << np.arange(bits, dtype=np.uint16)).sum(axis=1).astype(np.uint8)


def latent_codes(w: np.ndarray, bits: int) -> np.ndarray:
    """Float latents -> codes, the same float32 arithmetic as trainer.core.encodings.latent_codes."""
    half_q = np.float32(0.5 * ((1 << bits) - 1))
    v = np.clip(np.asarray(w, np.float32), np.float32(-1.0), np.float32(1.0))
    return np.round((v + np.float32(1.0)) * half_q).astype(np.uint8)


def dequantize_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    return (codes.astype(np.float32) * np.float32(2.0 / ((1 << bits) - 1)) - np.float32(1.0)).astype(np.float32)


def storage_dtype(name: str, bits: int, learned: bool = True, codec_bits: list[int] | None = None) -> str:
    """How one tensor is stored: codec grid tables at their latent bit depth, buffers fp32, the rest at `bits`."""
    if not learned:
        return "f32"
    if codec_bits is not None and name.startswith("encoding.tables."):
        return f"u{codec_bits[int(name.split('.')[2])]}"
    return DTYPES[bits]


def stored_bits(name: str, shape: tuple[int, ...], bits: int, learned: bool = True, dtype: str | None = None) -> int:
    """Bits `quantize(name, w, bits, learned, dtype).bits` will take, from the shape alone."""
    n = int(np.prod(shape)) if shape else 1
    if dtype in PACKED:
        return 8 * byte_size(shape, dtype, 0)
    if dtype is not None:
        bits, learned = _BITS_OF[dtype], True
    if not learned or bits == 32:
        return 32 * n
    if bits == 16:
        return 16 * n
    axis = scale_axis_for(name, len(shape))
    return 8 * n + 32 * (1 if axis is None else shape[axis])


def quantize(name: str, w: np.ndarray, bits: int, learned: bool = True, dtype: str | None = None) -> QTensor:
    w = np.asarray(w, dtype=np.float32)
    if dtype in PACKED:
        return QTensor(name, w.shape, dtype, latent_codes(w, PACKED[dtype]), None, None)
    if dtype is not None:
        bits, learned = _BITS_OF[dtype], True
    if not learned or bits == 32:
        return QTensor(name, w.shape, "f32", w.astype("<f4"), None, None)
    if bits == 16:
        return QTensor(name, w.shape, "f16", w.astype("<f2"), None, None)
    if bits != 8:
        raise ValueError(f"bits must be 32, 16 or 8, got {bits}")
    axis = scale_axis_for(name, w.ndim)
    if axis is None:
        amax = np.array([np.abs(w).max()], dtype=np.float32)
        scales = np.maximum(amax, 1e-12) / 127.0
        q = np.round(w / scales[0])
    else:
        other = tuple(i for i in range(w.ndim) if i != axis)
        amax = np.abs(w).max(axis=other) if other else np.abs(w)
        scales = (np.maximum(amax, 1e-12) / 127.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.round(w / scales.reshape(shape))
    return QTensor(name, w.shape, "i8", np.clip(q, -127, 127).astype(np.int8), scales.astype(np.float32), axis)


def from_bytes(
    name: str, shape: tuple[int, ...], dtype: str, scale_count: int, scale_axis: int | None, buf: bytes
) -> QTensor:
    """Inverse of QTensor.tobytes (buf holds exactly this tensor's bytes)."""
    n = int(np.prod(shape)) if shape else 1
    if dtype in PACKED:
        codes = unpack_codes(buf[: byte_size(shape, dtype, 0)], n, PACKED[dtype]).reshape(shape)
        return QTensor(name, tuple(shape), dtype, codes, None, None)
    nbytes = n * NP_DTYPES[dtype].itemsize
    values = np.frombuffer(buf[:nbytes], dtype=NP_DTYPES[dtype]).reshape(shape).copy()
    scales = None
    if scale_count:
        scales = np.frombuffer(buf[nbytes : nbytes + 4 * scale_count], dtype=SCALE_DTYPE).copy()
    return QTensor(name, tuple(shape), dtype, values, scales, scale_axis)


def byte_size(shape: tuple[int, ...], dtype: str, scale_count: int) -> int:
    n = int(np.prod(shape)) if shape else 1
    if dtype in PACKED:
        return (n * PACKED[dtype] + 7) // 8
    return n * NP_DTYPES[dtype].itemsize + 4 * scale_count
