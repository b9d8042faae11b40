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
