"""`texinr-generate`: new textures from a space of textures.

Stages, each reading what the one before left in the output folder:

    data         crops of the images (+ held-out images), augmented, cached      -> crops.npz, holdout.npz
    fit          the shared modulated SIREN and one code per crop; held-out crops encoded by their code alone
                                                                                   -> space.npz
    prior        a diffusion model over the codes                                   -> prior.npz
    sample       N codes from the prior, saved as ordinary `siren` .texinr files, a grid, and the evaluation
                 (nearest training crops, diversity, statistics against the data, a Gaussian baseline)
                                                                                   -> samples/, samples.png,
                                                                                      neighbours.png
    interpolate  the path between two codes                                        -> interpolation.png
    encode       images outside the set, by their code alone                       -> encoded/NAME.texinr
    all          data, fit, prior, sample, interpolate

Every stage adds its numbers to summary.json. `--quick` is a tiny configuration of every stage (under a minute on
two cores); without a stage it runs them all on the bundled images.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from texinr.trainer.core.arguments import check_writable_folder
from texinr.trainer.core.config import setting, setting_spec
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.inputs import expand_inputs, texture_name
from texinr.trainer.core.modelfile import atomic_write, load, pack, save
from texinr.trainer.core.resources import DEFAULT_TEXTURE
from texinr.trainer.generation import crops, functa, texstats
from texinr.trainer.generation.crops import MIN_IMAGES, SKIMAGE_BUNDLED, CropSpec, centre_crop, load_input
from texinr.trainer.generation.functa import FunctaConfig
from texinr.trainer.generation.prior import PriorConfig, load_prior, save_prior, train_prior

STAGES = ("all", "data", "fit", "prior", "sample", "interpolate", "encode")
CROPS, HOLDOUT, SPACE, PRIOR, SUMMARY = "crops.npz", "holdout.npz", "space.npz", "prior.npz", "summary.json"
SAMPLE_BITS = 16  # generated models are stored at half precision, as the trainer's default files
DEFAULT_HOLDOUT = ("skimage:grass",)


def default_images() -> tuple[str, ...]:
    """The bundled texture and scikit-image's bundled pictures, less the held-out ones."""
    return (str(DEFAULT_TEXTURE), *(f"skimage:{n}" for n in SKIMAGE_BUNDLED if f"skimage:{n}" not in DEFAULT_HOLDOUT))


BIG = 10**9
"""The upper end of a count that has no natural one."""


@dataclass(frozen=True)
class GenerateSettings:
    """Every stage's numbers, each defined once (default, range, help, and the value --quick takes): the command
    line and the window's Generate panel read these definitions."""

    crop: int = setting(64, "crop side in pixels", 4, 1024, quick=32)
    per_image: int = setting(8, "crops taken from each image", 1, 10_000, quick=6)
    scale: int = setting(256, "images are shrunk first so their shorter side is at most this", 4, 8192, quick=128)
    augment: int = setting(6, "copies of each crop: RGB permutations x flips and turns", 1, 48, quick=6)
    width: int = setting(64, "width of the shared SIREN", 4, 512, quick=32)
    depth: int = setting(3, "hidden layers of the shared SIREN", 1, 8, quick=2)
    latent: int = setting(64, "length of a texture's code", 1, 1024, quick=16)
    steps: int = setting(4000, "fitting steps (network and codes together)", 1, BIG, quick=400)
    batch: int = setting(64, "crops per fitting step (each code learns only when its crop is in)", 1, 4096, quick=32)
    pixels: int = setting(256, "pixels per crop per fitting step", 1, BIG, quick=256)
    encode_steps: int = setting(300, "steps to encode a texture outside the set (its code alone)", 1, BIG, quick=100)
    iterations: int = setting(12000, "prior training iterations", 1, BIG, quick=600)
    hidden: int = setting(256, "width of the prior's denoiser", 4, 4096, quick=128)
    samples: int = setting(16, "textures sampled and saved", 1, 10_000, quick=8)
    evaluate: int = setting(256, "samples drawn for the evaluation", 2, 100_000, quick=48)
    sampling_steps: int = setting(100, "denoising steps per sample (of the prior's 1,000)", 1, 1000, quick=50)
    eta: float = setting(
        1.0, "sampling noise: 0 DDIM (deterministic), 1 DDPM's ancestral sampling", 0.0, 1.0, quick=1.0
    )
    points: int = setting(8, "points along an interpolation", 2, 64, quick=6)
    seed: int = setting(0, "random seed", 0, 2**31 - 1, quick=0)


SETTINGS = {f.name: setting_spec(GenerateSettings, f.name) for f in dataclasses.fields(GenerateSettings)}
"""Each setting's definition (default, lo, hi, quick, help, type), by name, for the panel and the worker."""


@dataclass(frozen=True)
class GenerateCommand:
    stage: str
    out: Path
    images: tuple[str, ...] = ()
    holdout: tuple[str, ...] = ()
    values: dict = field(default_factory=dict)  # SETTINGS name -> value
    ends: tuple[str, ...] = ()  # interpolate: two end points
    prior: Path | None = None  # sample: a prior file other than the folder's
    progress: bool | None = None  # None: bars when stderr is a terminal

    def __getattr__(self, name):
        if name in SETTINGS:
            return self.values[name]
        raise AttributeError(name)

    @property
    def crop_spec(self) -> CropSpec:
        return CropSpec(self.crop, self.per_image, self.scale, self.augment, self.seed)

    @property
    def functa(self) -> FunctaConfig:
        return FunctaConfig(width=self.width, depth=self.depth, latent=self.latent)

    @property
    def prior_config(self) -> PriorConfig:
        return PriorConfig(hidden=self.hidden)


# ------------------------------------------------------------------------------------------------ helpers
def _bar(cmd: GenerateCommand, total: int, desc: str):
    show = sys.stderr.isatty() if cmd.progress is None else cmd.progress
    return tqdm(total=total, desc=desc, disable=not show, file=sys.stderr, leave=False, dynamic_ncols=True)


def _advance(bar):
    """A progress(step, loss) callback that moves the bar to the step and shows the loss."""

    def progress(step: int, loss: float) -> None:
        bar.update(step + 1 - bar.n)
        bar.set_postfix_str(f"loss {loss:.4f}")

    return progress


def _say(message: str) -> None:
    print(f"texinr-generate: {message}", flush=True)


def read_summary(out: Path) -> dict:
    try:
        return json.loads((out / SUMMARY).read_text())
    except (OSError, ValueError):
        return {}


def _update_summary(out: Path, **parts) -> None:
    summary = {**read_summary(out), **parts}
    atomic_write(out / SUMMARY, (json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())


def _needs(out: Path, name: str, stage: str) -> Path:
    path = out / name
    if not path.is_file():
        raise TexinrError(f"{path}: not found; run `texinr-generate {stage} --out {out}` first")
    return path


def _stats(values) -> dict:
    v = np.asarray(values, np.float64)
    return {
        "median": float(np.median(v)),
        "mean": float(v.mean()),
        "p10": float(np.percentile(v, 10)),
        "p90": float(np.percentile(v, 90)),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def _by_image(source: list[str], values) -> dict[str, float]:
    """The median per source image (its crops and their variants)."""
    by: dict[str, list[float]] = {}
    for item, v in zip(source, values, strict=True):
        by.setdefault(texture_name(item), []).append(float(v))
    return {k: float(np.median(v)) for k, v in by.items()}


def _save_png(path: Path, rgb01: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(rgb01, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    atomic_write(path, buf.getvalue())


def tile(images: np.ndarray, columns: int, pad: int = 2, zoom: int = 1) -> np.ndarray:
    """(N, s, s, 3) -> one image of `columns` per row with `pad` px of background between, each zoomed."""
    images = np.repeat(np.repeat(images, zoom, axis=1), zoom, axis=2)
    n, s = len(images), images.shape[1]
    rows = -(-n // columns)
    out = np.full((rows * (s + pad) + pad, columns * (s + pad) + pad, 3), 0.12, np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        out[pad + r * (s + pad) : pad + r * (s + pad) + s, pad + c * (s + pad) : pad + c * (s + pad) + s] = img
    return out


def _threads() -> None:
    torch.set_num_threads(max(1, min(len(os.sched_getaffinity(0)), 8)))


# ------------------------------------------------------------------------------------------------- stages
def stage_data(cmd: GenerateCommand) -> dict:
    images, holdout = expand_inputs(cmd.images), expand_inputs(cmd.holdout)
    both = sorted(set(images) & set(holdout))
    if both:
        raise TexinrError(f"{both[0]}: given both as data and as held out")
    t0 = time.perf_counter()
    kept_spec = replace(cmd.crop_spec, augment=1)
    data = crops.cached(images, cmd.crop_spec, cmd.out / CROPS)
    kept = crops.cached(holdout, kept_spec, cmd.out / HOLDOUT) if holdout else None
    reused = data is not None
    # both built before either is written: a bad image leaves the folder as it was
    new_data = None if reused else crops.build(images, cmd.crop_spec)
    new_kept = crops.build(holdout, kept_spec, minimum=1) if holdout and kept is None else None
    if new_data is not None:
        crops.save(new_data, cmd.out / CROPS, crops.cache_key(images, cmd.crop_spec))
        data = new_data
    if new_kept is not None:
        crops.save(new_kept, cmd.out / HOLDOUT, crops.cache_key(holdout, kept_spec))
        kept = new_kept
    if not holdout:
        (cmd.out / HOLDOUT).unlink(missing_ok=True)
    part = {
        "images": images,
        "holdout": holdout,
        "crops": len(data.crops),
        "holdout_crops": 0 if kept is None else len(kept.crops),
        "spec": asdict(cmd.crop_spec),
        "seconds": time.perf_counter() - t0,
        "reused": reused,
    }
    _update_summary(cmd.out, data=part)
    _say(
        f"data: {len(data.crops)} crops of {cmd.crop} px from {len(images)} images "
        f"({cmd.per_image} each x {cmd.augment} variants), {part['holdout_crops']} held out -> {cmd.out / CROPS}"
        + (" (unchanged inputs: reused)" if reused else "")
    )
    return part


def stage_fit(cmd: GenerateCommand) -> dict:
    data = crops.load(_needs(cmd.out, CROPS, "data"))
    holdout_path = cmd.out / HOLDOUT
    if len(data.crops) < 2:
        raise TexinrError(f"{cmd.out / CROPS}: {len(data.crops)} crop; a space needs at least 2")
    bar = _bar(cmd, cmd.steps, "fit")
    try:
        fitted = functa.fit(
            data.crops, cmd.functa, cmd.steps, cmd.batch, cmd.pixels, seed=cmd.seed, progress=_advance(bar)
        )
    finally:
        bar.close()
    if not (np.isfinite(fitted.psnr).all() and bool(fitted.codes.isfinite().all())):
        raise TexinrError("the fit diverged (values not finite); nothing was written — try another --seed")
    space = functa.Space(
        fitted.model,
        fitted.codes,
        fitted.psnr,
        {
            "crop": int(data.crops.shape[1]),
            "scale": int(data.spec.scale),
            "steps": cmd.steps,
            "seconds": fitted.seconds,
            "crops": len(data.crops),
        },
    )
    part = {
        "functa": asdict(cmd.functa),
        "steps": cmd.steps,
        "seconds": fitted.seconds,
        "psnr": _stats(fitted.psnr),
        "psnr_by_image": _by_image(data.source, fitted.psnr),
        "space": space.id,
        "shared_parameters": sum(p.numel() for p in fitted.model.parameters()),
    }
    summary = {"fit": part, "holdout": None}  # None: no held-out images in this run
    if holdout_path.is_file():
        kept = crops.load(holdout_path)
        bar = _bar(cmd, cmd.encode_steps, "encode held-out")
        t0 = time.perf_counter()
        try:
            codes = functa.encode(fitted.model, kept.crops, cmd.encode_steps, seed=cmd.seed, progress=_advance(bar))
        finally:
            bar.close()
        seconds = time.perf_counter() - t0
        psnr = functa.psnr_per_crop(fitted.model, codes, kept.crops)
        summary["holdout"] = {
            "crops": len(kept.crops),
            "images": sorted(set(kept.source)),
            "encode_steps": cmd.encode_steps,
            "seconds": seconds,
            "seconds_per_crop": seconds / len(kept.crops),
            "psnr": _stats(psnr),
            "psnr_by_image": _by_image(kept.source, psnr),
        }
    functa.save_space(cmd.out / SPACE, space)
    _update_summary(cmd.out, **summary)
    held = summary.get("holdout")
    kept_text = ""
    if held:
        kept_text = (
            f"; held out: {held['crops']} crops encoded in {held['seconds']:.1f} s, "
            f"median {held['psnr']['median']:.2f} dB"
        )
    _say(
        f"fit: {len(data.crops)} crops in {fitted.seconds:.0f} s, PSNR median {part['psnr']['median']:.2f} dB "
        f"(p10 {part['psnr']['p10']:.2f}, p90 {part['psnr']['p90']:.2f}){kept_text} -> {cmd.out / SPACE}"
    )
    return part


def stage_prior(cmd: GenerateCommand) -> dict:
    space = functa.load_space(_needs(cmd.out, SPACE, "fit"))
    bar = _bar(cmd, cmd.iterations, "prior")
    try:
        prior = train_prior(space.codes, cmd.prior_config, cmd.iterations, seed=cmd.seed, progress=_advance(bar))
    finally:
        bar.close()
    prior.meta = {"space": space.id, "iterations": cmd.iterations}
    save_prior(cmd.out / PRIOR, prior)
    tail = float(np.mean(prior.losses[-100:]))
    part = {
        "config": asdict(cmd.prior_config),
        "iterations": cmd.iterations,
        "seconds": prior.seconds,
        "final_loss": tail,
        "space": space.id,
    }
    _update_summary(cmd.out, prior=part)
    _say(f"prior: {cmd.iterations} iterations in {prior.seconds:.0f} s, loss {tail:.3f} -> {cmd.out / PRIOR}")
    return part


def load_matching_prior(space, path: Path):
    """The prior at `path`, refused unless it was trained on this space's codes."""
    prior = load_prior(path)
    if prior.meta.get("space") != space.id:
        raise TexinrError(
            f"{path}: this prior was trained on another space of textures ({prior.meta.get('space')}, not "
            f"{space.id}); train it again with `texinr-generate prior`"
        )
    if prior.mean.numel() != space.codes.shape[1]:
        raise TexinrError(f"{path}: codes of {prior.mean.numel()} numbers, the space's have {space.codes.shape[1]}")
    return prior


def open_space(path: Path):
    """(space, prior or None) from texinr-generate's folder or a space file (its folder's prior comes along when it
    was trained on this space)."""
    path = Path(path)
    file = path / SPACE if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        raise TexinrError(f"{path}: no {SPACE} here; make one with `texinr-generate fit --out {path}`")
    space = functa.load_space(file)
    prior_path = file.parent / PRIOR
    return space, (load_matching_prior(space, prior_path) if prior_path.is_file() else None)


def opening_ends(space, prior) -> list[tuple[object, str]]:
    """What a space shows first, as (code, name) for ends A and B: the prior's samples for seeds 0 and 1 (default
    sampling settings), or without a prior the first and the last training crop. `texinr-view --space` shows A."""
    if prior is None:
        return [(space.codes[0], "crop 0"), (space.codes[-1], f"crop {len(space.codes) - 1}")]
    steps, eta = int(SETTINGS["sampling_steps"]["default"]), float(SETTINGS["eta"]["default"])
    return [(prior.sample(1, seed=i, sampling_steps=steps, eta=eta)[0], f"sample (seed {i})") for i in (0, 1)]


def generated_file(space, code, size: int, origin: dict):
    """A code as an ordinary `siren` model file, remembering its space and code (for interpolation)."""
    field_ = space.model.to_siren(code)
    return pack(field_, SAMPLE_BITS, size, size, 1, train={"space": space.id, "code": code.tolist(), **origin})


def _check_same_data(space, data, out: Path) -> None:
    """The crops the space was fitted on, not a data set made since."""
    if len(data.crops) != len(space.codes) or int(data.crops.shape[1]) != int(space.meta.get("crop", -1)):
        raise TexinrError(
            f"{out / CROPS}: not the crops {out / SPACE} was fitted on ({len(data.crops)} of "
            f"{data.crops.shape[1]} px, the space has {len(space.codes)} of {space.meta.get('crop')} px); "
            f"run `texinr-generate fit --out {out}` again"
        )


def gaussian_codes(codes, n: int, seed: int):
    """The baseline a prior must beat: codes from one Gaussian with the training codes' mean and covariance."""
    c = codes.double()
    mean = c.mean(0)
    cov = torch.cov(c.T) + 1e-6 * torch.eye(c.shape[1], dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c.shape[1], generator=g, dtype=torch.float64)
    return (mean + z @ torch.linalg.cholesky(cov).T).float()


def stage_sample(cmd: GenerateCommand) -> dict:
    space = functa.load_space(_needs(cmd.out, SPACE, "fit"))
    prior = load_matching_prior(space, cmd.prior or _needs(cmd.out, PRIOR, "prior"))
    data = crops.load(_needs(cmd.out, CROPS, "data"))
    _check_same_data(space, data, cmd.out)
    size = int(data.crops.shape[1])
    t0 = time.perf_counter()
    codes = prior.sample(max(cmd.samples, cmd.evaluate), seed=cmd.seed, sampling_steps=cmd.sampling_steps, eta=cmd.eta)
    sample_seconds = (time.perf_counter() - t0) / len(codes)
    images = functa.decode(space.model, codes, size)
    folder = cmd.out / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"sample_{i:03d}.texinr" for i in range(cmd.samples)]
    for i, name in enumerate(names):  # each replaces its old file whole; older extras go only afterwards
        origin = {"sample": i, "seed": cmd.seed, "sampling_steps": cmd.sampling_steps, "eta": cmd.eta}
        save(generated_file(space, codes[i], size, origin), folder / name)
    for old in folder.glob("sample_*.texinr"):
        if old.name not in names:
            old.unlink()
    columns = int(np.ceil(np.sqrt(cmd.samples)))
    _save_png(cmd.out / "samples.png", tile(images[: cmd.samples], columns, zoom=max(1, 128 // size)))

    # the evaluation: the samples against the data, beside the references that make the numbers readable
    decoded = functa.decode(space.model, space.codes, size)
    gauss = functa.decode(space.model, gaussian_codes(space.codes, len(codes), cmd.seed), size)
    table = {
        "data (training crops)": {
            "count": len(data.crops),
            "diversity_rms": texstats.diversity(data.crops),
            "histogram_emd": 0.0,
            "laplacian_var_median": float(np.median(texstats.laplacian_variance(data.crops))),
            "spectrum_log10_distance": 0.0,
        },
        "training codes, decoded": texstats.describe(decoded, data.crops),
        "diffusion samples": texstats.describe(images, data.crops, decoded),
        "Gaussian over codes (baseline)": texstats.describe(gauss, data.crops, decoded),
    }
    holdout_path = cmd.out / HOLDOUT
    if holdout_path.is_file():
        table["held-out crops (real, not in the set)"] = texstats.describe(crops.load(holdout_path).crops, data.crops)
    near, idx = texstats.nearest(images, data.crops)
    near_dec, idx_dec = texstats.nearest(images, decoded)
    shown = min(cmd.samples, 8)
    pairs = np.stack([x for i in range(shown) for x in (images[i], data.crops[idx[i]], decoded[idx_dec[i]])])
    _save_png(cmd.out / "neighbours.png", tile(pairs, 3, zoom=max(1, 128 // size)))
    # a copy: a sample nearer to a decoded training crop than 99 % of the training crops are to their nearest
    # other crop (not their own augmented copies; overlapping crops of one image count), in the space's decodings
    own, _ = texstats.nearest(decoded, decoded, groups=np.arange(len(decoded)) // data.spec.augment)
    copy_db = float(np.percentile(own, 99))
    part = {
        "count": len(codes),
        "saved": cmd.samples,
        "seed": cmd.seed,
        "sampling_steps": cmd.sampling_steps,
        "eta": cmd.eta,
        "seconds_per_sample": sample_seconds,
        "nearest_training_psnr": _stats(near),
        "nearest_decoded_psnr": _stats(near_dec),
        "training_nearest_other_psnr": _stats(own),
        "copies": int((near_dec > copy_db).sum()),
        # a fresh draw from the training distribution would be nearer than the training crops' median half the
        # time; near 1 means the prior reproduces its training codes
        "nearer_than_training_median": float((near_dec > np.median(own)).mean()),
        "copy_rule": f"nearest decoded training crop above {copy_db:.2f} dB (the training crops' own 99th percentile)",
        "table": table,
        "files": [f"samples/{name}" for name in names],
    }
    _update_summary(cmd.out, samples=part)
    _say(
        f"sample: {cmd.samples} textures -> {folder}/, {cmd.out / 'samples.png'}; evaluated {len(codes)}: nearest "
        f"training crop median {part['nearest_training_psnr']['median']:.2f} dB (max "
        f"{part['nearest_training_psnr']['max']:.2f}), {part['copies']} copies, "
        f"{part['nearer_than_training_median']:.0%} nearer than the training median (a fresh draw: 50%)"
    )
    return part


def _end_code(spec: str, space, cmd: GenerateCommand, size: int):
    """A code for an interpolation end: crop:INDEX, a .texinr generated from this space, or an image (encoded)."""
    if spec.startswith("crop:"):
        try:
            i = int(spec[5:])
        except ValueError:
            raise TexinrError(f"{spec}: crop:INDEX takes a whole number") from None
        if not 0 <= i < len(space.codes):
            raise TexinrError(f"{spec}: the space has crops 0 to {len(space.codes) - 1}")
        return space.codes[i], spec
    path = Path(spec)
    if path.suffix == ".texinr":
        f = load(path)
        owner = f.train.get("space")
        if owner is None or "code" not in f.train:
            raise TexinrError(f"{path}: not a generated model (no code); give crop:INDEX, a sample or an image")
        if owner != space.id:
            raise TexinrError(
                f"{path}: its code belongs to another space of textures ({owner}, not {space.id}); codes of "
                "different networks cannot be interpolated"
            )
        code = torch.tensor(f.train["code"], dtype=torch.float32)
        if code.numel() != space.codes.shape[1]:
            raise TexinrError(f"{path}: a code of {code.numel()} numbers, the space's have {space.codes.shape[1]}")
        return code, path.name
    target = _centre_crop(spec, size, cmd.scale)
    return functa.encode(space.model, target[None], cmd.encode_steps, seed=cmd.seed)[0], path.name


def _centre_crop(item: str, size: int, scale: int) -> np.ndarray:
    return centre_crop(load_input(item), size, scale, item)


def stage_interpolate(cmd: GenerateCommand) -> dict:
    space = functa.load_space(_needs(cmd.out, SPACE, "fit"))
    size = int(space.meta.get("crop", 64))
    ends = cmd.ends
    if not ends:  # two training crops from different images
        data = crops.load(_needs(cmd.out, CROPS, "data"))
        _check_same_data(space, data, cmd.out)
        last = next(i for i in range(len(data.source) - 1, -1, -1) if data.source[i] != data.source[0])
        ends = ("crop:0", f"crop:{last}")
    (a, name_a), (b, name_b) = (_end_code(e, space, cmd, size) for e in ends)
    ts = torch.linspace(0, 1, cmd.points)
    path = torch.stack([(1 - t) * a + t * b for t in ts])
    strip = functa.decode(space.model, path, 2 * size)  # twice the crop: the network is continuous
    _save_png(cmd.out / "interpolation.png", tile(strip, cmd.points))
    steps = [float(np.sqrt(((strip[i + 1] - strip[i]) ** 2).mean())) for i in range(len(strip) - 1)]
    part = {"ends": [name_a, name_b], "points": cmd.points, "step_rms": steps, "file": "interpolation.png"}
    _update_summary(cmd.out, interpolation=part)
    _say(f"interpolate: {name_a} -> {name_b}, {cmd.points} points -> {cmd.out / 'interpolation.png'}")
    return part


def stage_encode(cmd: GenerateCommand) -> dict:
    space = functa.load_space(_needs(cmd.out, SPACE, "fit"))
    size = int(space.meta.get("crop", 64))
    items = expand_inputs(cmd.images)
    targets = [_centre_crop(item, size, cmd.scale) for item in items]  # every input checked before any work
    folder = cmd.out / "encoded"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for item, target in zip(items, targets, strict=True):
        bar = _bar(cmd, cmd.encode_steps, f"encode {texture_name(item)}")
        t0 = time.perf_counter()
        try:
            code = functa.encode(space.model, target[None], cmd.encode_steps, seed=cmd.seed, progress=_advance(bar))
        finally:
            bar.close()
        seconds = time.perf_counter() - t0
        psnr = float(functa.psnr_per_crop(space.model, code, target[None])[0])
        out = folder / f"{texture_name(item)}.texinr"
        save(generated_file(space, code[0], size, {"encoded": item}), out)
        rows.append({"image": item, "psnr": psnr, "seconds": seconds, "file": str(out.relative_to(cmd.out))})
        _say(f"encode: {item}: {psnr:.2f} dB in {seconds:.1f} s ({cmd.encode_steps} steps) -> {out}")
    _update_summary(cmd.out, encoded=rows)
    return {"encoded": rows}


def generate_main(cmd: GenerateCommand) -> int:
    check_writable_folder(cmd.out)
    if cmd.out.exists() and not cmd.out.is_dir():
        raise TexinrError(f"{cmd.out}: is a file, not a folder")
    if cmd.stage in ("data", "all"):
        if len(expand_inputs(cmd.images)) < MIN_IMAGES:  # before making the folder
            raise TexinrError(
                f"a space of textures needs at least {MIN_IMAGES} images; got {len(expand_inputs(cmd.images))}"
            )
    _threads()
    order = ("data", "fit", "prior", "sample", "interpolate") if cmd.stage == "all" else (cmd.stage,)
    run = {
        "data": stage_data,
        "fit": stage_fit,
        "prior": stage_prior,
        "sample": stage_sample,
        "interpolate": stage_interpolate,
        "encode": stage_encode,
    }
    t0 = time.perf_counter()
    for stage in order:
        run[stage](replace(cmd, ends=()) if cmd.stage == "all" else cmd)
    if cmd.stage == "all":
        _update_summary(cmd.out, total_seconds=time.perf_counter() - t0, settings=dict(cmd.values))
        _say(f"all stages in {time.perf_counter() - t0:.0f} s; numbers in {cmd.out / SUMMARY}")
    return 0
