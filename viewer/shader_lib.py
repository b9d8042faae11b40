"""Load a GLSL file with `#include`s and injected `#define`s; a missing define is an error, not a silent default.

A file says what it needs with `#pragma texinr require(NAME, ...)` lines. A file holds both stages between
`#if defined VERTEX_SHADER` / `#elif defined FRAGMENT_SHADER` (moderngl-window's single-file convention).
Programs are cached per context by a hash of (source, defines).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

SHADER_DIR = Path(__file__).resolve().parent.parent / "shaders"
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


def active_requirements(source: str, defines: dict) -> list[str]:
    """Names required by `#pragma texinr require` lines that the preprocessor would keep.

    A require inside an `#if defined(FAMILY_X)` branch that is not taken does not count: the check follows the
    simple `#if defined(...)`/`#elif defined(...)`/`#else`/`#endif` structure the shaders use.
    """
    needed: list[str] = []
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
        elif active:
            m = _REQUIRE.match(line)
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


def build_source(name: str, stage: str, defines: dict) -> str:
    """Full source of one stage ('VERTEX_SHADER' or 'FRAGMENT_SHADER') with defines after #version."""
    text = expand(name)
    all_defines = {**defines, stage: 1}
    missing = [n for n in active_requirements(text, all_defines) if n not in all_defines]
    if missing:
        raise ShaderError(f"{name} needs define {', '.join(dict.fromkeys(missing))}")
    lines = text.splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.strip().startswith("#version")), None)
    if at is None or any(ln.strip() and not ln.strip().startswith("//") for ln in lines[:at]):
        raise ShaderError(f"{name}: must start with #version (after comments only)")
    header = [f"#define {k} {v}" for k, v in all_defines.items()]
    body = []
    for n, ln in enumerate(lines[at + 1 :], start=at + 2):
        g = _GENERATED.match(ln)
        if g:  # code written from the defines, then back to this file's line numbers for error messages
            body += [generated_source(g.group(1), all_defines), f"#line {n + 1}"]
        else:
            body.append("" if _REQUIRE.match(ln) else ln)
    return "\n".join([lines[at], *header, f"#line {at + 2}", *body]) + "\n"


def generated_source(name: str, defines: dict) -> str:
    """GLSL written from the defines by trainer.packing (the layout's owner): `#include "generated:mlp"` is
    mlp_glsl, `#include "generated:codec_encode"` codec_encode_glsl."""
    from trainer import packing

    make = {"mlp": packing.mlp_glsl, "codec_encode": packing.codec_encode_glsl}.get(name)
    if make is None:
        raise ShaderError(f"no generated source {name!r}")
    try:
        return make(defines)
    except (KeyError, ValueError) as e:
        raise ShaderError(f"generated:{name}: compile failed: bad define ({e})") from None


class ProgramCache:
    """Compiled programs of one GL context, keyed by hash(source, defines)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._programs: dict[str, object] = {}

    def get(self, name: str, defines: dict):
        vs = build_source(name, "VERTEX_SHADER", defines)
        fs = build_source(name, "FRAGMENT_SHADER", defines)
        key = hashlib.sha1((vs + "\0" + fs).encode()).hexdigest()
        prog = self._programs.get(key)
        if prog is None:
            try:
                prog = self.ctx.program(vertex_shader=vs, fragment_shader=fs)
            except Exception as e:  # moderngl raises its own Error with the driver's log
                first = str(e).strip().splitlines()
                raise ShaderError(f"{name}: compile failed: {' '.join(first[:3])[:300]}") from None
            self._programs[key] = prog
        return prog

    def __len__(self) -> int:
        return len(self._programs)
