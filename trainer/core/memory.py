"""How much memory a training run will take, and refusing one that would not fit, before anything is allocated.

The estimate adds what a run holds at its peak (measured with `texinr-train --profile`, docs/MEASURE.md):
- the mip pyramid beyond the base level (the base level is the caller's image, shared): 12 bytes per texel;
- the sample table (trainer.core.data.TextureSamples): BYTES_PER_SAMPLE per texel of every level;
- per model: BYTES_PER_PARAMETER per parameter (weight, gradient, Adam's two moments, and the last good copy of
  weight and moments that divergence recovery keeps), plus one batch's activations forward and backward;
and compares it with what the machine (or the GPU) has free now. A race of several candidate allocations holds
every candidate's model beside one shared sample table. Evaluation afterwards (metrics tile by tile, ASTC) needs
less than training at every size measured, so training decides.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import torch

from texinr.trainer.core import families, profile
from texinr.trainer.core.config import Config
from texinr.trainer.core.data import max_mip_levels
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.models import TextureField
from texinr.trainer.core.packing import encoding_width

BYTES_PER_SAMPLE = 25
"""A row of the sample table of one RGB texture: u, v, t, r, g, b as float32 and a uint8 level id (4 bytes more
per channel beyond 3: a material set)."""
BYTES_PER_LEVEL_TEXEL = 12
"""float32 RGB of the mip levels the trainer makes (level 0 is the image it was given; 4 bytes per channel)."""
BYTES_PER_PARAMETER = 28
"""7 float32 per learned value: weight, gradient, Adam's exp_avg and exp_avg_sq, and a copy of weight and both
moments (the last good state)."""
ACTIVATION_FLOATS = 6
"""float32 values kept per unit of a hidden layer per batch sample (pre-activation, activation, gradients)."""
HEADROOM = 1.25
"""A run is refused when HEADROOM x its estimate exceeds what is free: the estimate leaves out short-lived
temporaries (the straight-through quantisation's copies of a grid, initialisation), and measured peaks were up to
16 % above it (0.98 GiB against 0.82 at 2048^2; 2.20 against 2.29 at 4096^2)."""
GIB = 2**30


def _level_texels(width: int, height: int, mips: int) -> list[int]:
    levels = max(1, min(mips, max_mip_levels(height, width)))
    return [max(1, height >> k) * max(1, width >> k) for k in range(levels)]


def _parameters(config: Config) -> int:
    """Learned values of the model (counted on torch's meta device: nothing allocated)."""
    with torch.device("meta"):
        model = TextureField(config.model)
    return sum(p.numel() for p in model.parameters())


def _batch(config: Config) -> int:
    tc = config.train
    return tc.batch if tc.batch is not None else families.get(config.model.arch).default_batch


def estimate(width: int, height: int, configs: list[Config], with_samples: bool = True) -> dict[str, int]:
    """Bytes a run training every config in `configs` on a width x height image holds at its peak, by part:
    "pyramid", "samples" (0 without `with_samples`: a shared table), "models", and "total"."""
    texels = _level_texels(width, height, configs[0].train.mips)
    extra = 4 * (configs[0].model.outputs - 3)  # channels beyond RGB
    pyramid = (BYTES_PER_LEVEL_TEXEL + extra) * sum(texels[1:]) if with_samples else 0
    samples = (BYTES_PER_SAMPLE + extra) * sum(texels) if with_samples else 0
    models = 0
    for c in configs:
        units = c.model.width * c.model.depth + encoding_width(c.model.to_dict()) + c.model.outputs + 1
        models += BYTES_PER_PARAMETER * _parameters(c) + 4 * ACTIVATION_FLOATS * _batch(c) * units
    return {"pyramid": pyramid, "samples": samples, "models": models, "total": pyramid + samples + models}


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_bytes(device: torch.device) -> int | None:
    """Memory free for this process now: the GPU's free memory for CUDA; else the machine's available memory
    (Linux: MemAvailable, capped by the cgroup's limit when the process runs in a container); None when unknown
    (then nothing is refused)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except OSError:
        return None
    limit = _read_int(Path("/sys/fs/cgroup/memory.max"))
    used = _read_int(Path("/sys/fs/cgroup/memory.current"))
    if avail is not None and limit is not None and used is not None:
        avail = min(avail, max(0, limit - used))
    return avail


def check(width: int, height: int, configs: list[Config], device: torch.device, with_samples: bool = True) -> None:
    """Raise a one-line TexinrError, before anything is allocated, when training `configs` on a width x height
    image would need more memory than `device` has free (the host's memory for the CPU)."""
    need = estimate(width, height, configs, with_samples)
    have = available_bytes(device)
    if device.type == "cpu":
        peak = (profile.resident_bytes() + need["total"]) / GIB
        profile.note(f"estimated before training {len(configs)} model(s): peak {peak:.2f} GiB (memory.estimate)")
    if have is None or HEADROOM * need["total"] <= have:
        return
    mips = len(_level_texels(width, height, configs[0].train.mips))
    what = f"{width}x{height} texture" + (f" with {mips} mip levels" if mips > 1 else "")
    models = f"{len(configs)} candidate models" if len(configs) > 1 else "the model"
    where = "GPU memory" if device.type == "cuda" else "memory"
    raise TexinrError(
        f"training a {what} needs about {_size(need['total'])} of {where} (sample table "
        f"{_size(need['samples'] + need['pyramid'])}, {models} {_size(need['models'])}), but only {_size(have)} is "
        "free; use fewer mip levels (--mips), a lower bit rate, or a smaller texture"
    )


def _size(n: int) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB // 10 else f"{n / 2**20:.1f} MiB"


HEAP_KEEP_BYTES = 32 << 20
"""Allocations up to this size come from (and return to) the heap instead of fresh pages of their own."""
_allocator_tuned = False


def keep_small_allocations() -> None:
    """Ask glibc's allocator to serve allocations up to HEAP_KEEP_BYTES from its heap and to keep freed memory
    (up to 8x that) instead of returning it to the system at once. A training step allocates and frees buffers of a
    few MB (a grid's gradient, a batch's activations); served by mmap, each is new pages that the kernel must fault
    in and zero on first touch, every step. Measured: the codec's steps/s at 512^2 +30 %. Elsewhere a no-op."""
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    try:
        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name) if name else None
        if libc is None or not hasattr(libc, "mallopt"):
            return
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, HEAP_KEEP_BYTES)
        libc.mallopt(m_trim_threshold, 8 * HEAP_KEEP_BYTES)
    except (OSError, AttributeError):
        pass
