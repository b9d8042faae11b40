"""Load a GLSL file with `#include`s and injected `#define`s; a missing define is an error, not a silent default.

A file says what it needs with `#pragma texinr require(NAME, ...)` lines. A file holds both stages between
`#if defined VERTEX_SHADER` / `#elif defined FRAGMENT_SHADER` (moderngl-window's single-file convention).
Programs are cached per context by a hash of (source, defines).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from pathlib import Path

from texinr.trainer.core.resources import SHADERS as SHADER_DIR

_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.M)
_GENERATED = re.compile(r'^\s*#include\s+"generated:(\w+)"\s*$', re.M)
_REQUIRE = re.compile(r"^\s*#pragma\s+texinr\s+require\(([^)]*)\)\s*$", re.M)


class ShaderError(RuntimeError):
    """A shader that cannot be built: a missing define, a missing file, or the driver's compile error."""


def expand(name: str, seen: tuple[str, ...] = ()) -> str:
    path = SHADER_DIR / name
    if name in seen:
        raise ShaderError(f"{name}: #include cycle through {' -> '.join(seen)}")
    if not path.is_file():
        raise ShaderError(f"{seen[-1] if seen else 'shader'}: cannot find {name}")
    text = path.read_text()
    base = str(Path(name).parent)

    def include(m: re.Match) -> str:
        if m.group(1).startswith("generated:"):
            return m.group(0)  # filled in by build_source, which knows the defines
        child = str(Path(base) / m.group(1)) if base != "." else m.group(1)
        return expand(child, (*seen, name))

    return _INCLUDE.sub(include, text)


def _active_lines(source: str, defines: dict):
    """(line, kept) for every line: whether the preprocessor would keep it, following the simple
    `#if defined(...)`/`#elif defined(...)`/`#else`/`#endif` structure the shaders use."""
    stack: list[list[bool]] = []  # per #if level: [this branch active, any branch taken]
    for line in source.splitlines():
        s = line.strip()
        active = all(level[0] for level in stack)
        if s.startswith("#if"):
            cond = _eval_condition(s, defines) if active else False
            stack.append([cond, cond])
        elif s.startswith("#elif") and stack:
            cond = not stack[-1][1] and _eval_condition(s, defines)
            stack[-1] = [cond, stack[-1][1] or cond]
        elif s.startswith("#else") and stack:
            stack[-1] = [not stack[-1][1], True]
        elif s.startswith("#endif") and stack:
            stack.pop()
        yield line, active


def active_requirements(source: str, defines: dict) -> list[str]:
    """Names required by `#pragma texinr require` lines that the preprocessor would keep: a require inside an
    `#if defined(FAMILY_X)` branch that is not taken does not count."""
    needed: list[str] = []
    for line, active in _active_lines(source, defines):
        m = _REQUIRE.match(line) if active else None
        if m:
            needed += [n.strip() for n in m.group(1).split(",") if n.strip()]
    return needed


def _eval_condition(line: str, defines: dict) -> bool:
    names = re.findall(r"defined\s*\(?\s*(\w+)\s*\)?", line)
    if names:
        hits = [n in defines for n in names]
        return any(hits) if "||" in line else all(hits)
    m = re.match(r"#(?:el)?if\s+(\w+)\s*$", line)
    if m:
        v = defines.get(m.group(1), 0)
        return bool(int(v)) if isinstance(v, int | float | str) and str(v).lstrip("-").isdigit() else bool(v)
    return True


def build_source(name: str, stage: str, defines: dict, generated: dict[str, str] | None = None) -> str:
    """Full source of one stage ('VERTEX_SHADER' or 'FRAGMENT_SHADER') with defines after #version, and every
    `#include "generated:NAME"` the preprocessor keeps replaced by generated[NAME] (code trainer.core.packing wrote for
    one network: PackedWeights.glsl)."""
    text = expand(name)
    all_defines = {**defines, stage: 1}
    missing = [n for n in active_requirements(text, all_defines) if n not in all_defines]
    if missing:
        raise ShaderError(f"{name} needs define {', '.join(dict.fromkeys(missing))}")
    lines = list(_active_lines(text, all_defines))
    at = next((i for i, (ln, _) in enumerate(lines) if ln.strip().startswith("#version")), None)
    if at is None or any(ln.strip() and not ln.strip().startswith("//") for ln, _ in lines[:at]):
        raise ShaderError(f"{name}: must start with #version (after comments only)")
    header = [f"#define {k} {v}" for k, v in all_defines.items()]
    body = []
    for n, (ln, active) in enumerate(lines[at + 1 :], start=at + 2):
        g = _GENERATED.match(ln)
        if g and active:  # code written for this network, then back to this file's line numbers for error messages
            code = (generated or {}).get(g.group(1))
            if code is None:
                raise ShaderError(f"{name} needs generated source {g.group(1)!r} (PackedWeights.glsl)")
            body += [code, f"#line {n + 1}"]
        else:
            body.append("" if _REQUIRE.match(ln) or g else ln)
    return "\n".join([lines[at][0], *header, f"#line {at + 2}", *body]) + "\n"


NETWORK_PROGRAMS_KEPT = 16
"""Programs built with generated code (a network's weights written in) are new for every weights version: the
cache keeps the most recently used 16 of them (every view of the current and the previous weights) and releases
the rest; programs without generated code are few (one per view and shader) and are kept."""


class ProgramCache:
    """Compiled programs of one GL context, keyed by hash(source, defines)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._programs: dict[str, object] = {}
        self._network: OrderedDict[str, object] = OrderedDict()  # least recently used first

    def get(self, name: str, defines: dict, generated: dict[str, str] | None = None):
        vs = build_source(name, "VERTEX_SHADER", defines, generated)
        fs = build_source(name, "FRAGMENT_SHADER", defines, generated)
        key = hashlib.sha1((vs + "\0" + fs).encode()).hexdigest()
        prog = self._programs.get(key, self._network.get(key))
        if prog is None:
            try:
                prog = self.ctx.program(vertex_shader=vs, fragment_shader=fs)
            except Exception as e:  # moderngl raises its own Error with the driver's log
                first = str(e).strip().splitlines()
                raise ShaderError(f"{name}: compile failed: {' '.join(first[:3])[:300]}") from None
            (self._network if generated else self._programs)[key] = prog
        if key in self._network:
            self._network.move_to_end(key)
            while len(self._network) > NETWORK_PROGRAMS_KEPT:
                self._network.popitem(last=False)[1].release()
        return prog

    def __len__(self) -> int:
        return len(self._programs) + len(self._network)
