"""Time and peak memory of each phase of a command (`texinr-train --profile`, `texinr-decode --profile`).

Phases are marked in the real code with `with phase("name"):`; unless a command turned recording on (`enable()`)
a phase costs one attribute lookup. Peak memory is the process's peak resident set size while the phase ran: on
Linux the kernel's high-water mark (VmHWM) is reset when a phase starts (`/proc/self/clear_refs`) and read when it
ends, so each phase reports its own peak, not the run's; a phase inside another also raises the outer one's peak.
Elsewhere the peak since the process started is reported (marked as such).
"""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Phase:
    name: str
    depth: int
    seconds: float = 0.0
    peak_bytes: int = 0
    started_bytes: int = 0  # resident set size when the phase began


@dataclass
class _Recorder:
    enabled: bool = False
    parts: dict = field(default_factory=dict)  # step part -> [seconds, calls]
    steps: int = 0
    samples: int = 0
    flops_per_sample: float = 0.0
    per_phase_peak: bool = False  # False where the high-water mark cannot be reset
    phases: list[Phase] = field(default_factory=list)
    open: list[Phase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_rec = _Recorder()


def _status_bytes(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _peak_bytes() -> int:
    hwm = _status_bytes("VmHWM")
    if hwm is not None:
        return hwm
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru if sys.platform == "darwin" else ru * 1024


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def enable() -> None:
    """Start recording (forgets earlier phases)."""
    _rec.enabled, _rec.phases, _rec.open, _rec.notes = True, [], [], []
    _rec.parts, _rec.steps, _rec.samples = {}, 0, 0
    _rec.per_phase_peak = _reset_peak()


def disable() -> None:
    _rec.enabled = False


def phases() -> list[Phase]:
    return list(_rec.phases)


def _fold_peak() -> None:
    """The high-water mark so far counts for every open phase (before it is reset)."""
    peak = _peak_bytes()
    for p in _rec.open:
        p.peak_bytes = max(p.peak_bytes, peak)


def note(text: str) -> None:
    """A line printed under the table (e.g. what was estimated beforehand), when recording."""
    if _rec.enabled:
        _rec.notes.append(text)


def resident_bytes() -> int:
    """The process's resident set size now (0 where unknown)."""
    return _status_bytes("VmRSS") or 0


@contextmanager
def phase(name: str):
    if not _rec.enabled:
        yield
        return
    _fold_peak()
    p = Phase(name, len(_rec.open), started_bytes=_status_bytes("VmRSS") or 0)
    _rec.phases.append(p)
    _rec.open.append(p)
    if _rec.per_phase_peak:
        _reset_peak()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        p.seconds = time.perf_counter() - t0
        _fold_peak()
        _rec.open.pop()


@contextmanager
def part(name: str):
    """A part of a training step (sampling, latent lookups, decoder, ...), summed over the run when recording."""
    if not _rec.enabled:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        got = _rec.parts.setdefault(name, [0.0, 0])
        got[0] += time.perf_counter() - t0
        got[1] += 1


def count_step(samples: int, flops_per_sample: float) -> None:
    """One training step of `samples` samples done, each costing about `flops_per_sample` useful operations."""
    if _rec.enabled:
        _rec.steps += 1
        _rec.samples += samples
        _rec.flops_per_sample = flops_per_sample


def measure_peak(seconds: float = 0.5) -> tuple[float, float]:
    """The machine's peak as torch sees it on the threads it has: float32 operations per second of a 1024^2 matrix
    product, and bytes per second of a 256 MB copy (read + write), each the best of repeats over about `seconds`."""
    a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
    src, dst = torch.empty(1 << 26), torch.empty(1 << 26)
    best_mm = best_copy = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or not best_copy:
        t0 = time.perf_counter()
        torch.mm(a, b)
        t1 = time.perf_counter()
        dst.copy_(src)
        t2 = time.perf_counter()
        best_mm = max(best_mm, 2 * 1024**3 / (t1 - t0))
        best_copy = max(best_copy, 2 * src.numel() * 4 / (t2 - t1))
    return best_mm, best_copy


STEP_PARTS = (
    "sampling",
    "latent lookups",
    "decoder",
    "FLIP finish: patches, forward",
    "backward",
    "optimizer",
    "last good state",
    "quantisation",
)
"""The parts of a training step, in the order they run; quantisation (of the tables trained whole) happens inside
the latent lookups or the FLIP finish's forward and is listed on its own at the end."""


def step_table() -> str:
    """The training step split into its parts: ms per step, share of the step, samples per second, and the share of
    the machine's measured peak (empty when no step was recorded)."""
    if not _rec.steps:
        return ""
    total = sum(v[0] for k, v in _rec.parts.items() if k != "quantisation")
    n = _rec.steps
    lines = [f"{'step part':34s} {'ms/step':>8s} {'share':>6s}   ({n} steps)"]
    for name in [*STEP_PARTS, *sorted(set(_rec.parts) - set(STEP_PARTS))]:
        if name in _rec.parts:
            sec = _rec.parts[name][0]
            label = "(of which quantisation)" if name == "quantisation" else name
            lines.append(f"{label:34s} {1000 * sec / n:8.2f} {sec / max(total, 1e-12):6.0%}")
    rate = _rec.samples / max(total, 1e-12)
    lines.append(f"{'whole step':34s} {1000 * total / n:8.2f}   {n / max(total, 1e-12):.1f} steps/s")
    flops, copy_bps = measure_peak()
    useful = rate * _rec.flops_per_sample
    lines.append(
        f"{rate / 1e6:.2f} M samples/s; about {_rec.flops_per_sample:,.0f} operations per sample (decoder forward and "
        f"backward, latent lookups) = {useful / 1e9:.2f} GFLOP/s, {useful / flops:.1%} of this machine's measured "
        f"peak ({flops / 1e9:.1f} GFLOP/s: a 1024^2 float32 matrix product; memory copy {copy_bps / 1e9:.1f} GB/s)"
    )
    return "\n".join(lines)


def table() -> str:
    """The recorded phases as a table: seconds and peak resident memory, sub-phases indented."""
    peak_note = "peak RSS in the phase" if _rec.per_phase_peak else "peak RSS since start"
    lines = [f"{'phase':34s} {'seconds':>8s} {'GiB at start':>12s} {'peak GiB':>9s}   ({peak_note})"]
    for p in _rec.phases:
        name = "  " * p.depth + p.name
        lines.append(f"{name:34s} {p.seconds:8.1f} {p.started_bytes / 2**30:12.2f} {p.peak_bytes / 2**30:9.2f}")
    overall = max((p.peak_bytes for p in _rec.phases), default=0)
    lines.append(f"{'whole run (peak)':34s} {'':8s} {'':12s} {overall / 2**30:9.2f}")
    lines += _rec.notes
    return "\n".join(lines)
