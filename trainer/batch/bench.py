"""`texinr-bench`: every family sized to each target bpp and trained for a fixed budget, beside ASTC.

For each texture (resized to --size): ASTC at every square block size, and each family sized automatically to each
target bpp (trainer.core.sizing) and trained for --seconds. With --mips N, also mip-aware variants (the model fits N
levels with t as input; ASTC stores its whole mip chain) at the --mips-bpp targets. Prints PSNR tables (families x
textures, ASTC at the block of nearest bpp beside them) and, with --out, writes results.csv, results.json,
summary.md and PSNR / SSIM / FLIP-against-bpp plots (mip-aware variants in their own *_mips.png), with wins / ties /
losses against ASTC per rate, the worst loss, and every texture where more bits scored less. Rates run one at a time
over every texture; results are kept per texture under OUT/cache (keyed by the settings that change them), so an
interrupted run resumes and a later run with more rates or --mips adds to it. The codec races its candidate
allocations per texture unless --allocation names one (trainer/core/allocation.py).

The codec's decoder is always stored as fp16 (its latents at their own 1-8 bits; an int8 decoder lost up to 4.7 dB,
docs/training.md); --bits sets the other families' precision.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from texinr.trainer.batch import blockformats
from texinr.trainer.batch.bench_report import CODEC_DECODER_BITS, format_psnr_table, write_outputs
from texinr.trainer.batch.distributed import Job, Lost, RaySettings
from texinr.trainer.core import astc
from texinr.trainer.core.allocation import RACE_FRACTION, candidates, start
from texinr.trainer.core.arguments import bpp_list, family_list
from texinr.trainer.core.config import CODEC_LADDERS, WEIGHT_BITS, Config, TrainConfig, model_preset, setting
from texinr.trainer.core.data import lod_of_level
from texinr.trainer.core.device import describe as describe_device
from texinr.trainer.core.device import resolve as resolve_device
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.families import get as family_of
from texinr.trainer.core.families import names as family_names
from texinr.trainer.core.families import summary as family_summary
from texinr.trainer.core.inputs import expand_inputs, load_texture, texture_name
from texinr.trainer.core.metrics import all_metrics, laplacian_variance, psnr, select_by_lapv
from texinr.trainer.core.modelfile import atomic_write, pack
from texinr.trainer.core.resources import DEFAULT_TEXTURE
from texinr.trainer.core.sizing import resolve
from texinr.trainer.core.train import RECIPE, Trainer, render
from texinr.trainer.core.tuning import SEARCH_FRACTION, tune

DEFAULT_QUICK_INPUTS = (str(DEFAULT_TEXTURE), "skimage:astronaut")


DEFAULT_BPPS = (8.0, 3.56, 2.0, 1.28, 0.89)
"""ASTC's 4x4, 6x6, 8x8, 10x10 and 12x12 rates."""
DEFAULT_MIPS_BPPS = (2.0, 0.89)


@dataclass(frozen=True)
class BenchCommand:
    """A bench run: its inputs and settings, each setting defined once here (texinr-bench's options are made from
    these definitions)."""

    inputs: tuple[str, ...]
    size: int = setting(512, "resize every texture to SIZE x SIZE", 16, 4096, quick=128)
    seconds: float = setting(120.0, "training budget per model, in seconds", 0.001, 1e9, quick=3.0)
    bpps: tuple[float, ...] = setting(
        DEFAULT_BPPS, "target bits per pixel, comma-separated", parse=bpp_list,
        flag="bpp", quick=(2.0,),
    )  # fmt: skip
    bits: int = setting(
        16, "stored weight precision of every family but the codec (its decoder: fp16)", choices=WEIGHT_BITS
    )
    families: tuple[str, ...] = setting(None, "comma-separated families (default: all)", parse=family_list)
    mips: int = setting(1, "also fit N mip levels (mip-aware rows; ASTC stores its chain)", 1, 16)
    select: int | None = setting(None, "pick N inputs at regular intervals of their LAPV ranking", 1, 10**6)
    out: Path | None = None
    astc_quality: float = 98.0  # astcenc thorough (trainer.core.astc.DEFAULT_PRESET)
    threads: int = setting(0, "torch CPU threads per model (0: every core; 1 per Ray task)", 0, 1024)
    seed: int = setting(0, "seed of initialisation and sampling", 0, 2**31 - 1)
    progress: bool | None = None
    flip: bool = setting(True, "skip FLIP (saves ~0.4 s per 512^2 evaluation)")
    mips_bpps: tuple[float, ...] = setting(
        DEFAULT_MIPS_BPPS,
        "targets of the mip-aware rows, comma-separated (default 2,0.89)",
        parse=bpp_list,
        flag="mips_bpp",
    )
    colour_only: bool = setting(False, "skip grey images (R = G = B everywhere)")
    tune: bool = setting(False, "also rows '<family>+tuned': a short race of settings first")
    allocation: str = "race"  # the codec's (its definition: Config.allocation)
    device: str = "auto"  # torch device that trains (its definition: TrainConfig.device)
    ray: RaySettings = field(default_factory=RaySettings)  # --ray: each model a Ray task

    def __post_init__(self):
        if self.families is None:  # every registered family
            object.__setattr__(self, "families", family_names())

    def methods(self) -> list[tuple[str, str]]:
        """(family, tag): every family at its fixed defaults, and with --tune also after a short race."""
        out = [(f, "") for f in self.families]
        if self.tune:
            out += [(f, "+tuned") for f in self.families]
        return out

    def variants(self) -> list[tuple[str, int, tuple[float, ...]]]:
        """(method suffix, mip levels, targets): the base-level comparison, then the mip-aware one if asked."""
        out = [("", 1, self.bpps)]
        if self.mips > 1:
            out.append(("+mips", self.mips, self.mips_bpps))
        return out

    def method_names(self) -> list[str]:
        return [f + t for f, t in self.methods()]


def weight_bits(arch: str, cmd: BenchCommand) -> int:
    fixed = family_of(arch).bench_bits  # the codec's decoder: always fp16
    return fixed if fixed is not None else cmd.bits


# ------------------------------------------------------------------------------------------------- inputs


# -------------------------------------------------------------------------------------------------- runs
def astc_rows(name: str, image: np.ndarray, cmd: BenchCommand, mips: int = 1) -> list[dict]:
    rows = []
    for block in astc.SQUARE_BLOCKS:
        a = astc.compress(image, block, cmd.astc_quality, mips=mips)
        m = all_metrics(image, a.decoded, cmd.flip)
        rows.append(baseline_row(name, "astc+mips" if mips > 1 else "astc", a.bpp, m, block))
    return rows


def baseline_row(name: str, method: str, bpp: float, m: dict, config: str) -> dict:
    """A row of a format with a fixed rate (ASTC at a block size, BC1, BC7): nothing trained."""
    return {
        "texture": name,
        "method": method,
        "target_bpp": round(bpp, 4),
        "bpp": bpp,
        "psnr": m["psnr"],
        "ssim": m["ssim"],
        "flip": m["flip"],
        "mae": m["mae"],
        "seconds": None,
        "steps": None,
        "steps_per_s": None,
        "config": config,
    }


def bc_rows(name: str, image: np.ndarray, cmd: BenchCommand, mips: int = 1) -> list[dict]:
    """BC1 and BC7 (the desktop formats, trainer/batch/blockformats.py): one row each, their chains counted with mips."""
    rows = []
    for fmt in blockformats.FORMATS:
        r = blockformats.compress(image, fmt, mips)
        m = all_metrics(image, r.decoded, cmd.flip)
        rows.append(baseline_row(name, fmt + ("+mips" if mips > 1 else ""), r.bpp, m, fmt.upper()))
    return rows


def family_job(item: str, name: str, arch: str, bpp: float, cmd: BenchCommand, mips: int, tag: str) -> dict:
    """family_row as a Ray task: the task loads its texture itself (a path crosses the cluster, not an image), and
    bad input comes back as {"error": line}."""
    try:
        return family_row(name, load_texture(item, cmd.size), arch, bpp, cmd, mips, tag)
    except TexinrError as e:
        return {"error": str(e)}


def family_row(
    name: str, image: np.ndarray, arch: str, bpp: float, cmd: BenchCommand, mips: int = 1, tag: str = ""
) -> dict:
    h, w = image.shape[:2]
    bits = weight_bits(arch, cmd)
    train = TrainConfig(mips=mips, seconds=cmd.seconds, seed=cmd.seed, threads=cmd.threads, device=cmd.device)
    tuned, searched, allocation = "", 0.0, None
    if family_of(arch).allocations and tag != "+tuned":
        started = start(image, Config(model_preset(arch), train, bits, bpp, cmd.allocation))
        trainer, allocation = started.trainer, started.allocation
        model_cfg = trainer.config.model
        searched = (allocation or {}).get("seconds_on_losers", 0.0)
    else:
        # mip-aware: the model gets the bits ASTC spends on its whole chain at this base rate (about 4/3 of them)
        cfg = resolve(Config(model_preset(arch), train, bits, bpp), w, h)
        model_cfg = cfg.model
        if tag == "+tuned":
            t = tune(image, cfg)  # the winner comes part-trained
            trainer, searched, tuned = t.trainer, t.seconds, f" {t.field}={t.value:g}"
        else:
            trainer = Trainer(image, cfg)
    trainer.run(every=10**9, with_weights=False)
    f = pack(trainer.model, bits, w, h, trainer.samples.mips)
    model = f.build()
    m = all_metrics(image, render(model, h, w, 0.0), cmd.flip)
    levels = []
    if mips > 1:  # docs/MEASURE.md: per-level PSNR against the bilinear pyramid the model was fitted to
        for k, ref in enumerate(trainer.samples.pyramid):
            lh, lw = ref.shape[:2]
            levels.append(round(psnr(ref, render(model, lh, lw, lod_of_level(k, len(trainer.samples.pyramid)))), 3))
    desc = f"{family_summary(model_cfg)}, {bits}-bit"
    return {
        "texture": name,
        "method": arch + tag + ("+mips" if mips > 1 else ""),
        "target_bpp": bpp,
        "bpp": f.bpp,
        "psnr": m["psnr"],
        "ssim": m["ssim"],
        "flip": m["flip"],
        "mae": m["mae"],
        "seconds": round(trainer.elapsed + searched, 2),
        "steps": trainer.step_count,
        "steps_per_s": trainer.step_count / max(trainer.elapsed, 1e-9),
        "config": desc + tuned + (f" ({allocation['chosen']})" if allocation else ""),
        "allocation": allocation,
        "psnr_levels": levels or None,
    }


def check_sizes(cmd: BenchCommand) -> None:
    """Size every (family, rate, variant) for --size, as the runs will (meta device: no memory, no training);
    raises the sizing error of the first one that cannot be reached."""
    s = cmd.size
    for _, mips, bpps in cmd.variants():
        for fam, tag in cmd.methods():
            for bpp in bpps:
                if family_of(fam).allocations and tag != "+tuned":
                    cfg = Config(model_preset(fam), TrainConfig(mips=mips), weight_bits(fam, cmd), bpp, cmd.allocation)
                    if cmd.allocation == "race":
                        candidates(cfg, s, s)
                    else:
                        resolve(cfg, s, s)
                else:
                    resolve(Config(model_preset(fam), TrainConfig(mips=mips), weight_bits(fam, cmd), bpp), s, s)


def settings_key(cmd: BenchCommand) -> str:
    d = {
        "size": cmd.size,
        "seconds": cmd.seconds,
        "bits": cmd.bits,
        "q": cmd.astc_quality,
        "seed": cmd.seed,
        "flip": cmd.flip,
        # training recipe: results from another one are not reused
        "flip_finish": {f: family_of(f).flip_finish for f in family_names() if family_of(f).flip_finish},
        "codec_decoder_bits": CODEC_DECODER_BITS,
        "recipe": RECIPE,
    }
    device = resolve_device(cmd.device)
    if device.type != "cpu":  # a budget in seconds buys far more steps there: its results are its own
        d["device"] = describe_device(device)
    if any(family_of(f).allocations for f in cmd.families):  # how the codec allocates its bits (race, or one ladder)
        d["allocation"] = [cmd.allocation, RACE_FRACTION, CODEC_LADDERS] if cmd.allocation == "race" else cmd.allocation
    if cmd.tune:  # the search's recipe too ('+tuned' rows); runs without --tune keep their key
        d["tune"] = f"race {SEARCH_FRACTION}"
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


def bench_main(cmd: BenchCommand) -> int:
    items = expand_inputs(cmd.inputs)
    names = [texture_name(i) for i in items]
    if len(set(names)) != len(names):
        raise TexinrError("two inputs share a name; rename one")
    images = {texture_name(i): load_texture(i, cmd.size) for i in items}
    if cmd.colour_only:
        grey = [n for n, img in images.items() if np.ptp(img, axis=2).max() == 0]
        if grey:
            print("skipped grey images: " + ", ".join(grey))
        images = {n: img for n, img in images.items() if n not in grey}
        if not images:
            raise TexinrError("no colour images among the inputs")
    if cmd.select is not None:
        lapv = {n: laplacian_variance(img) for n, img in images.items()}
        chosen = select_by_lapv(lapv, cmd.select)
        print("selected by LAPV: " + ", ".join(f"{n} ({lapv[n]:.2e})" for n in chosen))
        images = {n: images[n] for n in chosen}
    check_sizes(cmd)  # a rate no model reaches at this size fails here, before anything is trained or written
    print(f"texinr-bench: training on {describe_device(resolve_device(cmd.device))}")
    if cmd.out is not None:
        (cmd.out / "cache").mkdir(parents=True, exist_ok=True)
    key = settings_key(cmd)
    variants = cmd.variants()
    jobs = [(n, m, b, v) for v in variants for b in v[2] for m in cmd.methods() for n in images]
    bar = tqdm(
        total=len(jobs),
        unit="model",
        disable=(not sys.stderr.isatty()) if cmd.progress is None else not cmd.progress,
        file=sys.stderr,
    )
    caches = {n: cmd.out / "cache" / f"{n}-{key}.json" if cmd.out is not None else None for n in images}
    done = {n: json.loads(c.read_text()) if c is not None and c.exists() else {} for n, c in caches.items()}

    def keep(name: str) -> None:
        if caches[name] is not None:
            atomic_write(caches[name], json.dumps(done[name], default=float).encode())

    for suffix, mips, _ in variants:
        tag_mips = f"{suffix}{mips}" if mips > 1 else ""  # cache entries name the mip count
        for name, image in images.items():
            for what, make in (("astc", astc_rows), ("bc", bc_rows)):
                if what + tag_mips not in done[name]:
                    done[name][what + tag_mips] = make(name, image, cmd, mips)
                    keep(name)
    # a whole rate over every texture before the next rate: an interrupted run has complete columns
    missing = []
    for suffix, mips, bpps in variants:
        tag_mips = f"{suffix}{mips}" if mips > 1 else ""
        for bpp in bpps:
            for fam, tag in cmd.methods():
                for name in images:
                    k = f"{fam}{tag}{tag_mips}@{bpp:g}"
                    if k in done[name]:
                        bar.update(1)
                    else:
                        missing.append((name, k, fam, tag, suffix, mips, bpp))
    if cmd.ray.use and missing:
        _run_on_ray(cmd, missing, {texture_name(i): i for i in items}, done, keep, bar)
    for name, k, fam, tag, suffix, mips, bpp in missing:
        if k not in done[name]:
            bar.set_description(f"{name} {fam}{tag}{suffix} {bpp:g} bpp")
            done[name][k] = family_row(name, images[name], fam, bpp, cmd, mips, tag)
            keep(name)
            bar.update(1)
    rows: list[dict] = []
    for name in images:
        for suffix, mips, bpps in variants:
            tag_mips = f"{suffix}{mips}" if mips > 1 else ""
            rows += done[name]["astc" + tag_mips] + done[name]["bc" + tag_mips]
            rows += [done[name][f"{m}{tag_mips}@{b:g}"] for m in cmd.method_names() for b in bpps]
    bar.close()
    print(format_psnr_table(rows, cmd))
    if cmd.out is not None:
        write_outputs(rows, cmd)
        print(f"wrote {cmd.out}/results.csv, results.json, summary.md and plots")
    return 0


def _run_on_ray(cmd: BenchCommand, missing: list, items: dict[str, str], done: dict, keep, bar) -> None:
    """Every missing model as a Ray task (each with --threads CPUs, 1 if not given); the driver keeps each result
    in the cache as it arrives, so an interrupted run resumes as before."""
    threads = max(cmd.threads, 1)
    task_cmd = dataclasses.replace(cmd, threads=threads, ray=RaySettings(), progress=False)
    engine = cmd.ray.runner()
    try:
        print(f"texinr-bench: {len(missing)} models as Ray tasks ({engine.cpus} CPUs, {threads} per task)")
        jobs = [
            Job(f"{name}\t{k}", family_job, (items[name], name, fam, bpp, task_cmd, mips, tag))
            for name, k, fam, tag, _, mips, bpp in missing
        ]
        for key, row in engine.run(jobs, threads):
            name, k = key.split("\t")
            if isinstance(row, Lost) or "error" in row:
                raise TexinrError(f"{name} {k}: {row.reason if isinstance(row, Lost) else row['error']}")
            done[name][k] = row
            keep(name)
            bar.update(1)
    finally:
        engine.close()
