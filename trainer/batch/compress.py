"""`texinr-compress`: a texture library compressed in one command, to a bit rate or to a quality, resumable.

INPUTS are images, folders (searched recursively) and globs; .gltf / .glb / .obj files are material sets (their
maps are fitted as one network, and a folder's images that a model file reads are left to it). Every texture is
keyed by its path relative to the folder or glob it was found under, so `rock/diffuse.png` and `wood/diffuse.png`
stay apart, and its model goes to the same relative path in OUT with `.texinr` for its suffix.

Modes: `--bpp X` trains each texture at that rate. `--target-psnr DB` / `--target-flip F` look for the smallest rate
that reaches the target on a ladder of rates (TARGET_LADDER, 1.26x apart): ASTC's smallest block that reaches the
target is found first (a few encodes), the search starts at the ladder rate nearest it, gallops up or down until
one rate passes and the next lower one fails, then bisects; every probe is a full training run with the given
budget, so a target costs (probes) x a fixed-rate run. A texture no rate on the ladder brings to the target is
`unreachable` (no model written; its best result is in the manifest). `--fallback-astc` says in the manifest (`keep`)
where ASTC reaches the target with fewer bits, and writes that ASTC file (`.astc`, base level) beside the model.

The driver alone writes: each model file as its result arrives, then the manifest (manifest.json and manifest.csv,
both atomically), so a killed run loses at most the textures in flight and the manifest is always whole. A second
run into OUT skips every texture already done (a source whose size or time changed is redone), retries failed
ones, and is refused when its settings differ from the ones OUT was made with. With `--ray [ADDRESS]` the textures
are Ray tasks (trainer/batch/distributed.py); results stream back into the same manifest.
"""

from __future__ import annotations

import csv
import dataclasses
import fcntl
import glob
import hashlib
import io
import json
import math
import os
import socket
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from texinr.trainer.batch import blockformats
from texinr.trainer.batch.blockformats import BC7_UBER_LEVEL
from texinr.trainer.batch.distributed import Job, Lost, RaySettings
from texinr.trainer.core import allocation as alloc
from texinr.trainer.core import astc, families
from texinr.trainer.core.allocation import candidates
from texinr.trainer.core.arguments import (
    check_writable_folder,
    for_layout,
)
from texinr.trainer.core.astc import parse_block
from texinr.trainer.core.config import Config, setting
from texinr.trainer.core.data import image_notes, load_image, resize_image
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.inputs import IMAGE_SUFFIXES
from texinr.trainer.core.material import MESH_SUFFIXES as MATERIAL_SUFFIXES
from texinr.trainer.core.material import load_material, referenced_files
from texinr.trainer.core.metrics import all_metrics, flip, psnr, to_8bit
from texinr.trainer.core.modelfile import atomic_write, encode, pack
from texinr.trainer.core.report import evaluate_file, evaluate_material_file
from texinr.trainer.core.sizing import resolve
from texinr.trainer.core.train import RECIPE, render, train_record

INPUT_SUFFIXES = IMAGE_SUFFIXES + MATERIAL_SUFFIXES
MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
JOURNAL = "manifest.journal.jsonl"
SAVE_EVERY_S = 10.0
SAVE_SHARE = 20
"""manifest.json / .csv are rewritten at most every SAVE_EVERY_S seconds while a run goes on, and no sooner than
SAVE_SHARE times what the last rewrite took (so a large library's driver spends at most 5 % of its time on them);
each row is in the journal at once."""
LOCK_NAME = ".texinr-compress.lock"
TARGET_LADDER = (0.5, 0.63, 0.8, 1.0, 1.26, 1.59, 2.0, 2.52, 3.17, 4.0, 5.04, 6.35, 8.0)
"""Rates a quality target may choose (bpp of the base level, 2^(1/3) apart: each step 26 % more bits), ASTC's
12x12 (0.89) to 4x4 (8.0) and a little below; rates the family cannot reach at a texture's size are left out."""
COLUMNS = (
    "texture",
    "status",
    "reason",
    "output",
    "kind",
    "mode",
    "target",
    "arch",
    "width",
    "height",
    "bpp",
    "payload_bits",
    "psnr",
    "ssim",
    "flip",
    "met_target",
    "probes",
    "astc_block",
    "astc_bpp",
    "astc_psnr",
    "astc_ssim",
    "astc_flip",
    "astc_target_block",
    "astc_target_bpp",
    "keep",
    "bc1_bpp",
    "bc1_psnr",
    "bc1_flip",
    "bc7_bpp",
    "bc7_psnr",
    "bc7_flip",
    "steps",
    "train_seconds",
    "seconds",
    "host",
    "warnings",
)
"""The manifest's columns (CSV order; manifest.json's rows hold more: each probe, per-map numbers of a material)."""
FINISHED = ("done", "unreachable")


@dataclass(frozen=True)
class Targets:
    """The quality targets (one definition: the command line's options and their checks read it)."""

    target_psnr: float | None = setting(
        None, "train each texture to the smallest rate whose PSNR (dB) reaches this", 10.0, 60.0
    )
    target_flip: float | None = setting(
        None, "train each texture to the smallest rate whose FLIP error is at most this", 0.001, 0.5
    )


@dataclass(frozen=True)
class Source:
    """One texture (or material set) of the batch."""

    key: str  # its path relative to the folder or glob it was found under (posix)
    path: str  # absolute
    kind: str  # "image" | "material"
    output: str  # the model's path relative to OUT
    stamp: tuple[int, int]  # (size, mtime_ns) of the source file: a changed source is redone


@dataclass(frozen=True)
class Settings:
    """Everything one texture's compression depends on (picklable: a Ray task gets it as is)."""

    config: Config  # bpp None in the target modes (the search sets it)
    mode: str  # "bpp" | "psnr" | "flip"
    target: float | None
    size: int | None
    astc_quality: float
    fallback_astc: bool
    given: frozenset[str] = frozenset()

    def record(self) -> dict:
        """What OUT's results depend on (threads, the device and Ray are left out: they change speed, not what a
        run is asked to make)."""
        cfg = self.config
        train = {k: v for k, v in cfg.train.to_dict().items() if k not in ("threads", "device")}
        return {
            "mode": self.mode,
            "target": self.target,
            "bpp": cfg.bpp,
            "model": dataclasses.asdict(cfg.model),
            "train": train,
            "bits": cfg.bits,
            "allocation": cfg.allocation,
            "rate_exact": cfg.rate_exact,
            "size": self.size,
            "astc_quality": self.astc_quality,
            "fallback_astc": self.fallback_astc,
            "ladder": list(TARGET_LADDER) if self.mode != "bpp" else None,
            "recipe": RECIPE,
            "bc7_uber_level": BC7_UBER_LEVEL,
        }

    def key(self) -> str:
        return hashlib.sha1(json.dumps(self.record(), sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class CompressCommand:
    inputs: tuple[str, ...]
    out: Path
    settings: Settings
    ray: RaySettings = field(default_factory=RaySettings)
    progress: bool | None = None  # None: a bar only on a terminal
    threads: int = 0  # torch threads per texture (0: every core in-process, 1 per Ray task)


# ----------------------------------------------------------------------------------------------- command line


# ------------------------------------------------------------------------------------------------------ inputs
def _has_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    root = parts[: next(i for i, p in enumerate(parts) if _has_glob(p))]
    return Path(*root) if root else Path(".")


def list_sources(inputs: tuple[str, ...], out: Path | None = None) -> tuple[list[Source], list[str]]:
    """Every texture the inputs name, and notes on files left out. Raises on an input that names nothing, and on
    two textures that would write the same output."""
    found: list[tuple[str, Path]] = []  # (key, path)
    notes: list[str] = []
    out_abs = out.resolve() if out is not None else None
    for item in inputs:
        p = Path(item)
        if _has_glob(item) and not p.exists():
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            files = [m for m in matches if m.is_file() and m.suffix.lower() in INPUT_SUFFIXES]
            if not files:
                raise TexinrError(f"{item}: matches no image or material file")
            root = _glob_root(item)
            found += [(m.relative_to(root).as_posix() if m.is_relative_to(root) else m.name, m) for m in files]
        elif p.is_dir():
            files, skipped = _scan(p, out_abs)
            if not files:
                raise TexinrError(f"{p}: no PNG or JPEG images (or .gltf / .glb / .obj materials) in this folder")
            found += [(f.relative_to(p).as_posix(), f) for f in files]
            if skipped:
                notes.append(
                    f"{p}: left out {len(skipped)} file(s) that are not images or materials "
                    f"({', '.join(s.name for s in skipped[:3])}{', …' if len(skipped) > 3 else ''})"
                )
        elif p.is_file():
            if p.suffix.lower() not in INPUT_SUFFIXES:
                raise TexinrError(f"{p}: not a PNG / JPEG image or a .gltf / .glb / .obj material")
            found.append((p.name, p))
        else:
            raise TexinrError(f"{p}: no such file or folder")
    sources: list[Source] = []
    by_output: dict[str, Path] = {}
    for key, path in found:
        output = str(Path(key).with_suffix(".texinr").as_posix())
        if output in by_output:
            if by_output[output].resolve() == path.resolve():
                continue  # the same file named twice
            raise TexinrError(f"two inputs would write {output}: {by_output[output]} and {path}; rename one")
        by_output[output] = path
        st = path.stat()
        kind = "material" if path.suffix.lower() in MATERIAL_SUFFIXES else "image"
        sources.append(Source(key, str(path.resolve()), kind, output, (st.st_size, st.st_mtime_ns)))
    return sorted(sources, key=lambda s: s.key), notes


def _scan(folder: Path, out_abs: Path | None) -> tuple[list[Path], list[Path]]:
    """(images and model files under `folder`, other files), leaving out OUT itself and a model file's maps."""
    files, skipped = [], []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (out_abs is None or Path(root, d).resolve() != out_abs)
        )
        for n in sorted(names):
            f = Path(root, n)
            if n.startswith("."):
                continue
            (files if f.suffix.lower() in INPUT_SUFFIXES else skipped).append(f)
    maps: set[Path] = set()
    for f in files:
        if f.suffix.lower() in MATERIAL_SUFFIXES:
            try:
                maps |= referenced_files(f)
            except TexinrError:
                pass  # the material's own row will say what is wrong with it
    return [f for f in files if f.resolve() not in maps], skipped


# ------------------------------------------------------------------------------------------------ one texture
def compress_one(src: Source, settings: Settings) -> dict:
    """Compress one texture: {"row": manifest row, "data": {relative path: bytes} to write}. Bad input and any
    failure are a failed row with a one-line reason, never an exception (a Ray task retries only dead workers)."""
    t0 = time.perf_counter()
    _inject_fault(src.key)
    _hold(src.key)
    row: dict = {"texture": src.key, "output": None, "kind": src.kind, "mode": settings.mode, "target": settings.target}
    data: dict[str, bytes] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # library warnings are noise in a batch; what matters is in the row
            if src.kind == "material":
                _material(src, settings, row, data)
            else:
                _image(src, settings, row, data)
    except TexinrError as e:
        row.update(status="failed", reason=str(e))
        data = {}
    except MemoryError:
        row.update(status="failed", reason="out of memory")
        data = {}
    except Exception as e:  # a bug: the batch goes on, the row says what happened
        row.update(status="failed", reason=f"internal error: {type(e).__name__}: {str(e)[:200]}")
        data = {}
    row.update(stamp=list(src.stamp), seconds=round(time.perf_counter() - t0, 2), host=socket.gethostname())
    return {"row": row, "data": data}


FAULT_ENV = "TEXINR_FAULT_EXIT_ONCE"
"""Fault injection for the tests: "MARKER:KEY" makes the process that starts texture KEY exit at once (as a
killed worker does) the first time, when MARKER does not exist yet (it is created first)."""


def _inject_fault(key: str) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    marker, _, which = spec.rpartition(":")
    if which == key:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os._exit(137)


HOLD_ENV = "TEXINR_HOLD_UNTIL"
"""For the tests: "GATE:KEY" makes the process that starts texture KEY wait until the file GATE exists (at most
HOLD_LIMIT_S), so a test can interrupt a run while that texture is certainly unfinished, whatever the machine's
speed, instead of racing a signal against training."""
HOLD_LIMIT_S = 600.0


def _hold(key: str) -> None:
    gate, _, which = os.environ.get(HOLD_ENV, "").rpartition(":")
    if not gate or which != key:
        return
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)


def _fit(image: np.ndarray, config: Config, texture: str):
    """Train one model of `config` on `image` (a codec sized to a rate races its allocations): the TexinrFile."""
    started = alloc.start(image, config)
    trainer = started.trainer
    trainer.run(every=10**9, with_weights=False)
    h, w = image.shape[:2]
    info = train_record(trainer, trainer.config, started.allocation, texture)
    return pack(trainer.model, trainer.config.bits, w, h, trainer.samples.mips, train=info)


def _judge(image: np.ndarray, decoded: np.ndarray, mode: str) -> float:
    """The target's measure of a decoded image, rounded to 8 bits as every texinr metric."""
    test8 = to_8bit(decoded)
    return psnr(image, test8) if mode == "psnr" else flip(image, test8)


def meets(value: float, mode: str, target: float) -> bool:
    return value >= target if mode == "psnr" else value <= target


def smallest_passing(n: int, test, start: int) -> tuple[int | None, dict[int, object]]:
    """The smallest index in 0..n-1 whose test passes, taking the tests as monotonic (fail ... fail pass ... pass):
    from `start`, gallop (1, 2, 4 ... steps) up after a failure or down after a pass until a pass sits right above
    a failure (or an end), then bisect. (index or None, {index: test's result}); test(i) -> (passed, result)."""
    tried: dict[int, object] = {}
    lo, hi, i, step = -1, n, min(max(start, 0), n - 1), 1
    while i not in tried:
        passed, tried[i] = test(i)
        if passed:
            hi = min(hi, i)
        else:
            lo = max(lo, i)
        if hi - lo <= 1:
            break
        if hi == n:
            i, step = min(lo + step, n - 1), step * 2
        elif lo == -1:
            i, step = max(hi - step, 0), step * 2
        else:
            i = (lo + hi) // 2
    return (hi if hi < n else None), tried


def ladder_for(config: Config, width: int, height: int) -> list[float]:
    """TARGET_LADDER's rates this family reaches at this size, each making a different model (a family whose sizes
    stop growing makes the same model at two rates: the lower one stays)."""
    out, seen = [], set()
    for bpp in TARGET_LADDER:
        cfg = dataclasses.replace(config, bpp=bpp)
        try:
            if families.get(cfg.model.arch).allocations and cfg.allocation == "race":
                made = tuple(c.model for _, c in candidates(cfg, width, height))
            else:
                made = (resolve(cfg, width, height).model,)
        except TexinrError:
            continue
        if made not in seen:
            seen.add(made)
            out.append(bpp)
    return out


def astc_for_target(image: np.ndarray, settings: Settings, mips: int):
    """ASTC's smallest 2-D block (by bits, with its mip chain) that reaches the target: (block, bpp, value, the
    block's compressed base level) or None, and every block tried {block: value}."""
    h, w = image.shape[:2]
    blocks = sorted(astc.BLOCKS_2D, key=lambda b: astc.chain_bpp(w, h, b, mips))
    u8 = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    encoded: dict[str, bytes] = {}

    def test(i: int):
        comp, dec = astc.roundtrip_u8(u8, blocks[i], settings.astc_quality)
        encoded[blocks[i]] = comp
        v = _judge(image, dec.astype(np.float32) / 255.0, settings.mode)
        return meets(v, settings.mode, settings.target), v

    # the target's side of the blocks: start from 8x8 (2 bpp), the middle of what textures ship at
    index, tried = smallest_passing(len(blocks), test, blocks.index("8x8"))
    values = {blocks[i]: v for i, v in tried.items()}
    if index is None:
        return None, values
    b = blocks[index]
    return (b, astc.chain_bpp(w, h, b, mips), values[b], encoded[b]), values


def _image(src: Source, settings: Settings, row: dict, data: dict) -> None:
    image = load_image(src.path)
    notes = image_notes(src.path)
    if settings.size and image.shape[:2] != (settings.size, settings.size):
        notes.append(f"resized from {image.shape[1]}x{image.shape[0]} to {settings.size}x{settings.size}")
        image = resize_image(image, settings.size)
    h, w = image.shape[:2]
    row.update(width=w, height=h)
    config = settings.config
    mips = config.train.mips
    if settings.mode == "bpp":
        f, probes = _fit(image, config, src.key), []
        row["met_target"] = None
    else:
        f, probes = _search(image, settings, src, row, data)
    if f is not None:
        report = evaluate_file(f, image, astc_quality=settings.astc_quality)
        row.update(_model_fields(src, report, report, report["astc"]))
        row["allocation"] = (f.train.get("allocation") or {}).get("chosen")
        data[src.output] = encode(f)
    row.update(probes=len(probes) or None, probe_results=probes or None)
    row.update(_baselines(image, mips))
    row["warnings"] = "; ".join(notes) or None


def _search(image: np.ndarray, settings: Settings, src: Source, row: dict, data: dict):
    """The smallest ladder rate that reaches the target: (its file or None, every probe)."""
    h, w = image.shape[:2]
    config = settings.config
    mips = config.train.mips
    ladder = ladder_for(config, w, h)
    if not ladder:
        raise TexinrError(f"the {config.model.arch} family reaches none of the target ladder's rates at {w}x{h}")
    fit, astc_tried = astc_for_target(image, settings, mips)
    start = len(ladder) - 1 if fit is None else min(range(len(ladder)), key=lambda i: abs(math.log(ladder[i] / fit[1])))
    files: dict[int, object] = {}

    def test(i: int):
        cfg = dataclasses.replace(config, bpp=ladder[i])
        f = _fit(image, cfg, src.key)
        v = _judge(image, render(f.build(), h, w, 0.0), settings.mode)
        files[i] = f
        return meets(v, settings.mode, settings.target), v

    index, tried = smallest_passing(len(ladder), test, start)
    probes = [{"bpp_target": ladder[i], "bpp": files[i].bpp, settings.mode: v} for i, v in sorted(tried.items())]
    row["astc_target_block"] = fit[0] if fit else None
    row["astc_target_bpp"] = fit[1] if fit else None
    row["astc_target_tried"] = astc_tried
    if index is None:
        at = (max if settings.mode == "psnr" else min)(tried, key=tried.get)
        row.update(
            status="unreachable",
            met_target=False,
            reason=f"{settings.mode.upper()} {tried[at]:.4g} at best (at rate {ladder[at]:g}; the ladder's top is "
            f"{ladder[-1]:g}) against the target {settings.target:g}",
        )
        if settings.fallback_astc and fit is not None:
            row["keep"] = "astc"
            _write_astc(src, fit, data, row)
        elif settings.fallback_astc:
            row["keep"] = None
        return None, probes
    f = files[index]
    row["met_target"] = True
    if settings.fallback_astc:
        astc_wins = fit is not None and fit[1] < f.bpp
        row["keep"] = "astc" if astc_wins else "texinr"
        if astc_wins:
            _write_astc(src, fit, data, row)
    return f, probes


def _write_astc(src: Source, fit, data: dict, row: dict) -> None:
    """The ASTC fallback as an .astc file (the base level; its 16-byte header as astcenc writes it)."""
    block, _, _, comp = fit
    bw, bh = parse_block(block)
    w, h = row.get("width"), row.get("height")
    if w is None:
        return
    header = (
        (0x5CA1AB13).to_bytes(4, "little")
        + bytes([bw, bh, 1])
        + w.to_bytes(3, "little")
        + h.to_bytes(3, "little")
        + (1).to_bytes(3, "little")
    )
    name = str(Path(src.output).with_suffix(".astc").as_posix())
    data[name] = header + bytes(comp)
    row["astc_output"] = name


def _model_fields(src: Source, report: dict, ours: dict, astc: dict) -> dict:
    """A done row's numbers: the model's (`report`: its file facts; `ours`: its PSNR / SSIM / FLIP) and ASTC's."""
    return {
        "status": "done",
        "output": src.output,
        "arch": report["arch"],
        "bpp": report["bpp"],
        "payload_bits": report["payload_bits"],
        "steps": report["steps"],
        "train_seconds": report["seconds"],
        **{k: ours.get(k) for k in ("psnr", "ssim", "flip")},
        **{f"astc_{k}": astc.get(k) for k in ("block", "bpp", "psnr", "ssim", "flip")},
    }


def _baselines(image: np.ndarray, mips: int) -> dict:
    """BC1 and BC7 of the texture (the desktop formats), with the same metrics."""
    out = {}
    for fmt in blockformats.FORMATS:
        r = blockformats.compress(image, fmt, mips)
        m = all_metrics(image, r.decoded)
        out |= {f"{fmt}_bpp": r.bpp, f"{fmt}_psnr": m["psnr"], f"{fmt}_flip": m["flip"]}
    return out


def _material(src: Source, settings: Settings, row: dict, data: dict) -> None:
    if settings.mode != "bpp":
        raise TexinrError("quality targets judge one image; compress a material set with --bpp")
    mset = load_material(Path(src.path))
    values, notes = mset.values, list(mset.notes)
    if settings.size and values.shape[:2] != (settings.size, settings.size):
        notes.append(f"resized from {values.shape[1]}x{values.shape[0]} to {settings.size}x{settings.size}")
        values = resize_image(values, settings.size)
    config = for_layout(settings.config, mset.layout, settings.given)
    f = _fit(values, config, mset.name)
    report = evaluate_material_file(f, values, astc_quality=settings.astc_quality)
    ours = report["maps"].get("base_colour", {})  # the row's PSNR / SSIM / FLIP: the base colour's
    theirs = {**report["astc"]["maps"].get("base_colour", {}), "block": report["astc"]["block"] + " per map"}
    row.update(_model_fields(src, report, ours, {**theirs, "bpp": report["astc"]["bpp"]}))
    row.update(
        width=values.shape[1],
        height=values.shape[0],
        layout=mset.layout,
        maps=report["maps"],
        astc_maps=report["astc"]["maps"],
        warnings="; ".join(notes) or None,
    )
    data[src.output] = encode(f)


# --------------------------------------------------------------------------------------------------- manifest
@dataclass
class Manifest:
    """OUT's record: the settings it was made with and one row per texture.

    Each row, as it arrives, is appended to a journal (manifest.journal.jsonl, flushed to disk: a killed run has lost
    no finished row); manifest.json and manifest.csv are rewritten whole, atomically, from all rows at most every
    SAVE_EVERY_S seconds (and SAVE_SHARE times the last rewrite's time) and at the end: rewriting them for every row
    would cost O(rows) each time, at 5,000 rows more than the tasks take to arrive. Opening OUT reads manifest.json,
    then the journal's rows (a torn last line, a write cut by the kill, is skipped), and compacts them."""

    out: Path
    settings: dict
    key: str
    rows: dict[str, dict] = field(default_factory=dict)
    saved_at: float = field(default_factory=time.monotonic)
    save_seconds: float = 0.0  # what the last rewrite took

    @classmethod
    def open(cls, out: Path, settings: Settings) -> Manifest:
        path = out / MANIFEST_JSON
        record, key = settings.record(), settings.key()
        if not path.exists():
            others = [p.name for p in out.iterdir() if p.name != LOCK_NAME] if out.is_dir() else []
            if others:
                raise TexinrError(
                    f"{out}: holds files but no {MANIFEST_JSON} ({', '.join(sorted(others)[:3])}); "
                    "give an empty or new folder"
                )
            m = cls(out, record, key)
            m.save()
            return m
        try:
            doc = json.loads(path.read_text())
            rows = {r["texture"]: r for r in doc["rows"]}
            old_key, old = doc["settings_key"], doc["settings"]
        except (ValueError, KeyError, TypeError, OSError) as e:
            raise TexinrError(f"{path}: not a texinr-compress manifest ({str(e)[:80]})") from None
        if old_key != key:
            diff = _differences(old, record)
            raise TexinrError(
                f"{out} was made with other settings ({diff}); give another --out (or the same settings to resume)"
            )
        m = cls(out, old, key, rows)
        if m.replay():
            m.save()
        return m

    def replay(self) -> int:
        """The journal's rows over manifest.json's: how many."""
        path = self.out / JOURNAL
        if not path.exists():
            return 0
        n = 0
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
                self.rows[row["texture"]] = row
                n += 1
            except (ValueError, KeyError, TypeError):
                continue  # the line a kill cut short
        return n

    def finished(self, src: Source) -> bool:
        r = self.rows.get(src.key)
        if r is None or r.get("status") not in FINISHED or list(r.get("stamp") or []) != list(src.stamp):
            return False
        return r["status"] != "done" or (self.out / r["output"]).is_file()

    def put(self, row: dict) -> None:
        self.rows[row["texture"]] = row
        with open(self.out / JOURNAL, "a") as fh:
            fh.write(json.dumps(row, default=_json_value) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if time.monotonic() - self.saved_at >= max(SAVE_EVERY_S, SAVE_SHARE * self.save_seconds):
            self.save()

    def save(self) -> None:
        """manifest.json and manifest.csv from every row, atomically; then the journal is empty (a kill between the
        two leaves rows in both: replaying them gives the same rows)."""
        started = time.monotonic()
        rows = [self.rows[k] for k in sorted(self.rows)]
        doc = {
            "tool": "texinr-compress",
            "settings_key": self.key,
            "settings": self.settings,
            "summary": summarise(rows),
            "rows": rows,
        }
        atomic_write(self.out / MANIFEST_JSON, json.dumps(doc, indent=1, default=_json_value).encode())
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: _csv_value(r.get(k)) for k in COLUMNS})
        atomic_write(self.out / MANIFEST_CSV, buf.getvalue().encode())
        (self.out / JOURNAL).unlink(missing_ok=True)
        now = time.monotonic()
        self.save_seconds, self.saved_at = now - started, now


def _json_value(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON")


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def _differences(old: dict, new: dict, prefix: str = "") -> str:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            d = _differences(a, b, prefix + k + ".")
            if d:
                out.append(d)
        elif a != b and not (isinstance(a, list | tuple) and isinstance(b, list | tuple) and list(a) == list(b)):
            out.append(f"{prefix}{k}: {_show(a)} there, {_show(b)} now")
    return "; ".join(out[:3]) + ("; …" if len(out) > 3 else "")


def _show(v) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


def summarise(rows: list[dict]) -> dict:
    """Counts and means over the manifest's rows: what a library owner reads first."""
    done = [r for r in rows if r.get("status") == "done"]
    s: dict = {
        "textures": len(rows),
        "done": len(done),
        "unreachable": sum(r.get("status") == "unreachable" for r in rows),
        "failed": sum(r.get("status") == "failed" for r in rows),
    }
    if done:

        def mean(k):
            vals = [r[k] for r in done if isinstance(r.get(k), int | float) and math.isfinite(r[k])]
            return float(np.mean(vals)) if vals else None

        s |= {f"mean_{k}": mean(k) for k in ("bpp", "psnr", "ssim", "flip", "astc_bpp", "astc_psnr", "astc_flip")}
        s |= {f"mean_{k}": mean(k) for k in ("bc1_psnr", "bc7_psnr", "bc1_flip", "bc7_flip")}
        pairs = [(r["psnr"], r["astc_psnr"]) for r in done if r.get("astc_psnr") is not None]
        s["psnr_ahead_of_astc"] = sum(p > q for p, q in pairs)
        flips = [(r["flip"], r["astc_flip"]) for r in done if r.get("flip") is not None and r.get("astc_flip")]
        s["flip_ahead_of_astc"] = sum(p < q for p, q in flips)
        s["compared"] = len(pairs)
        s["train_seconds"] = float(sum(r.get("train_seconds") or 0 for r in done))
        probes = [r["probes"] for r in done if r.get("probes")]
        if probes:
            s["mean_probes"] = float(np.mean(probes))
        keep = [r.get("keep") for r in rows if r.get("keep")]
        if keep:
            s["keep_astc"] = keep.count("astc")
    return s


# ------------------------------------------------------------------------------------------------------ driver
class _Lock:
    """One run at a time per OUT (an advisory lock a crashed run's kernel releases)."""

    def __init__(self, out: Path):
        self.path = out / LOCK_NAME

    def __enter__(self):
        self.fh = open(self.path, "a")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise TexinrError(f"{self.path.parent}: another texinr-compress is writing this folder") from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _write_outputs(out: Path, data: dict[str, bytes]) -> None:
    for rel, blob in data.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, blob)


def _line(row: dict) -> str:
    name = row["texture"]
    if row.get("status") == "failed":
        return f"{name}: failed: {row.get('reason')}"
    if row.get("status") == "unreachable":
        return f"{name}: unreachable: {row.get('reason')}"
    astc = f" (ASTC {row['astc_block']} {row['astc_psnr']:.2f} dB)" if row.get("astc_psnr") is not None else ""
    probes = f", {row['probes']} probes" if row.get("probes") else ""
    keep = ", keep ASTC " + str(row.get("astc_target_block")) if row.get("keep") == "astc" else ""
    psnr = f"{row['psnr']:.2f} dB" if row.get("psnr") is not None else "n/a"
    return f"{name}: {row['bpp']:.3f} bpp {psnr}{astc}{probes}{keep}, {row['seconds']:.0f} s on {row['host']}"


def compress_main(cmd: CompressCommand) -> int:
    out = cmd.out
    if out.exists() and not out.is_dir():
        raise TexinrError(f"{out}: is a file, not a folder")
    check_writable_folder(out)
    sources, notes = list_sources(cmd.inputs, out)
    for n in notes:
        print(f"texinr-compress: note: {n}")
    settings = cmd.settings
    engine = cmd.ray.runner()  # an unreachable cluster fails here
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TexinrError(f"{out}: cannot make the folder ({e.strerror})") from None
        with _Lock(out):
            manifest = Manifest.open(out, settings)
            todo = [s for s in sources if not manifest.finished(s)]
            skipped = len(sources) - len(todo)
            threads = max(cmd.threads, 1) if engine.name == "ray" else cmd.threads
            task_settings = dataclasses.replace(
                settings,
                config=dataclasses.replace(
                    settings.config, train=dataclasses.replace(settings.config.train, threads=threads)
                ),
            )
            where = f"on Ray ({engine.cpus} CPUs, {threads} per task)" if engine.name == "ray" else "in-process"
            print(
                f"texinr-compress: {len(sources)} textures, {skipped} already done, {len(todo)} to do {where}; "
                f"{_mode_text(settings)} -> {out}"
            )
            jobs = [Job(s.key, compress_one, (s, task_settings)) for s in todo]
            failed = finished = 0
            t0 = time.perf_counter()
            bar = tqdm(
                total=len(sources),
                initial=skipped,
                unit="tex",
                disable=(not sys.stderr.isatty()) if cmd.progress is None else not cmd.progress,
                file=sys.stderr,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} done [{elapsed}<{remaining} left]{postfix}",
            )
            parallel = max(engine.cpus // max(threads, 1), 1) if engine.name == "ray" else 1
            bar.set_postfix_str(f"in flight {min(len(todo), parallel)}, failed 0")
            try:
                for key, result in engine.run(jobs, max(threads, 1)):
                    if isinstance(result, Lost):
                        src = next(s for s in todo if s.key == key)
                        row = {
                            "texture": key,
                            "status": "failed",
                            "reason": result.reason,
                            "kind": src.kind,
                            "stamp": list(src.stamp),
                        }
                    else:
                        row = result["row"]
                        _write_outputs(out, result["data"])  # the files first: a row never names a missing file
                    manifest.put(row)
                    finished += 1
                    failed += row.get("status") == "failed"
                    bar.update(1)
                    bar.set_postfix_str(f"in flight {min(len(todo) - finished, parallel)}, failed {failed}")
                    bar.write(f"texinr-compress: [{skipped + finished}/{len(sources)}] {_line(row)}")
            except KeyboardInterrupt:
                bar.close()
                print(
                    f"texinr-compress: interrupted: {finished} finished in this run are kept in {out / MANIFEST_JSON}; "
                    f"{len(todo) - finished} not done (run the same command again to resume)",
                    file=sys.stderr,
                )
                return 130
            finally:
                manifest.save()
            bar.close()
            print(format_summary(manifest, sources, time.perf_counter() - t0, finished))
    finally:
        engine.close()
    return 0


def _mode_text(s: Settings) -> str:
    if s.mode == "bpp":
        return f"{s.config.model.arch} at {s.config.bpp:g} bpp" if s.config.bpp else f"{s.config.model.arch} as sized"
    what = "PSNR >= {:g} dB" if s.mode == "psnr" else "FLIP <= {:g}"
    return f"{s.config.model.arch} to the smallest rate with {what.format(s.target)}"


def format_summary(manifest: Manifest, sources: list[Source], seconds: float, finished: int) -> str:
    rows = [manifest.rows[s.key] for s in sources if s.key in manifest.rows]
    s = summarise(rows)
    lines = [
        f"texinr-compress: {s['done']} done, {s['unreachable']} unreachable, {s['failed']} failed of "
        f"{len(sources)}; {finished} in this run, {seconds:.0f} s"
        + (f" ({finished / seconds * 3600:.0f} textures per hour)" if finished and seconds > 0 else "")
    ]
    if s["done"]:

        def f(k, spec):
            return "n/a" if s.get(k) is None else format(s[k], spec)

        lines.append(
            f"  mean: texinr {f('mean_bpp', '.3f')} bpp, PSNR {f('mean_psnr', '.2f')} dB, FLIP {f('mean_flip', '.4f')}"
            f" | ASTC nearest {f('mean_astc_bpp', '.3f')} bpp, {f('mean_astc_psnr', '.2f')} dB, "
            f"{f('mean_astc_flip', '.4f')} | BC1 (4 bpp) {f('mean_bc1_psnr', '.2f')} dB | BC7 (8 bpp) "
            f"{f('mean_bc7_psnr', '.2f')} dB"
        )
        lines.append(
            f"  against ASTC at the nearest bpp: PSNR ahead on {s['psnr_ahead_of_astc']} of {s['compared']}, "
            f"FLIP ahead on {s['flip_ahead_of_astc']}"
            + (f"; {s['mean_probes']:.1f} probes per texture" if "mean_probes" in s else "")
            + (f"; ASTC kept for {s['keep_astc']}" if "keep_astc" in s else "")
        )
    for r in rows:
        if r.get("status") in ("failed", "unreachable"):
            lines.append(f"  {r['status']}: {r['texture']}: {r.get('reason')}")
    lines.append(f"  manifest: {manifest.out / MANIFEST_CSV}, {manifest.out / MANIFEST_JSON}")
    return "\n".join(lines)
