"""Stored precision of weights: fp32, fp16, or int8 with fp32 scales, and the exact bit count of each.

int8 is symmetric (w ~ q * scale, q in [-127, 127]) with one scale per channel: per output row of a linear
layer's weight, per feature channel of a grid table, one per tensor for biases. Buffers that are not learned
(Fourier frequency matrices) always stay fp32: their precision sets the phase of every feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DTYPES = {32: "f32", 16: "f16", 8: "i8"}
NP_DTYPES = {"f32": np.dtype("<f4"), "f16": np.dtype("<f2"), "i8": np.dtype("i1")}
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
        n = self.values.size * NP_DTYPES[self.dtype].itemsize * 8
        return n + (0 if self.scales is None else self.scales.size * 32)

    def tobytes(self) -> bytes:
        out = self.values.astype(NP_DTYPES[self.dtype]).tobytes()
        if self.scales is not None:
            out += self.scales.astype(SCALE_DTYPE).tobytes()
        return out

    def dequantize(self) -> np.ndarray:
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


def stored_bits(name: str, shape: tuple[int, ...], bits: int, learned: bool = True) -> int:
    """Bits `quantize(name, w, bits, learned).bits` will take, from the shape alone."""
    n = int(np.prod(shape)) if shape else 1
    if not learned or bits == 32:
        return 32 * n
    if bits == 16:
        return 16 * n
    axis = scale_axis_for(name, len(shape))
    return 8 * n + 32 * (1 if axis is None else shape[axis])


def quantize(name: str, w: np.ndarray, bits: int, learned: bool = True) -> QTensor:
    w = np.asarray(w, dtype=np.float32)
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
    nbytes = n * NP_DTYPES[dtype].itemsize
    values = np.frombuffer(buf[:nbytes], dtype=NP_DTYPES[dtype]).reshape(shape).copy()
    scales = None
    if scale_count:
        scales = np.frombuffer(buf[nbytes : nbytes + 4 * scale_count], dtype=SCALE_DTYPE).copy()
    return QTensor(name, tuple(shape), dtype, values, scales, scale_axis)


def byte_size(shape: tuple[int, ...], dtype: str, scale_count: int) -> int:
    n = int(np.prod(shape)) if shape else 1
    return n * NP_DTYPES[dtype].itemsize + 4 * scale_count
