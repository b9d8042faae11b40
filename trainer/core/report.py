"""What a trained model is worth: its metrics and bits beside ASTC at the block size of nearest bpp."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from texinr.trainer.core import astc, families
from texinr.trainer.core.channels import parse_layout, shipped_images
from texinr.trainer.core.data import build_pyramid
from texinr.trainer.core.material import astc_maps, map_metrics
from texinr.trainer.core.metrics import UNAVAILABLE, all_metrics, lpips_status, psnr, to_8bit
from texinr.trainer.core.modelfile import TexinrFile
from texinr.trainer.core.profile import phase
from texinr.trainer.core.train import render


def evaluate_file(
    f: TexinrFile, image: np.ndarray, astc_quality: float = astc.DEFAULT_QUALITY, with_flip: bool = True
) -> dict:
    """Metrics of the stored (quantised) model against `image`, and of ASTC at the nearest bpp.

    With mips, the per-level PSNR against the bilinear pyramid is added and ASTC stores its whole mip chain.
    """
    model = f.build()
    h, w = image.shape[:2]
    with phase("decode the base level"):
        out = render(model, h, w, 0.0)
    with phase("metrics (PSNR, SSIM, FLIP)"):
        m = all_metrics(image, out, with_flip)
    del out
    if f.mips > 1:
        with phase("per-level PSNR"):
            pyramid = build_pyramid(image, f.mips)
            m["psnr_levels"] = [
                psnr(lvl, to_8bit(render(model, *lvl.shape[:2], k / (f.mips - 1)))) for k, lvl in enumerate(pyramid)
            ]
            del pyramid
    m["lpips_status"] = lpips_status()
    m["vmaf"] = UNAVAILABLE["vmaf"]
    block = astc.nearest_block(f.bpp, w, h, f.mips)
    with phase(f"ASTC {block}" + (" + mip chain" if f.mips > 1 else "")):
        a = astc.compress(image, block, astc_quality, mips=f.mips)
    with phase("ASTC metrics"):
        am = all_metrics(image, a.decoded, with_flip)
    return {
        **file_facts(f, w, h),
        "psnr": m["psnr"],
        "ssim": m["ssim"],
        "flip": m["flip"],
        "metrics": m,
        "astc": {
            "block": block,
            "bpp": a.bpp,
            "mips": a.levels,
            "quality": astc_quality,
            "preset": astc.preset_name(astc_quality),
            "psnr": am["psnr"],
            "ssim": am["ssim"],
            "flip": am["flip"],
            "mae": am["mae"],
            "mse": am["mse"],
        },
    }


def file_facts(f: TexinrFile, width: int, height: int) -> dict:
    """What every report says about the model file: family, how it trained, its bits."""
    train = f.train
    return {
        "arch": f.model_config.arch,
        "family": families.get(f.model_config.arch).label,
        "steps": train.get("steps_done"),
        "seconds": train.get("seconds_done"),
        "bits": f.bits,
        "payload_bits": f.payload_bits,
        "bpp": f.bpp,
        "mips": f.mips,
        "width": width,
        "height": height,
    }


def verdict(report: dict) -> str:
    """Who wins on this texture, in one plain line: PSNR (higher is better) and FLIP (lower) against ASTC."""
    r, a = report, report["astc"]
    ahead = {"PSNR": r["psnr"] > a["psnr"]}
    if r["flip"] is not None and a["flip"] is not None and not math.isnan(r["flip"]):
        ahead["FLIP"] = r["flip"] < a["flip"]
    if all(ahead.values()):
        who = "texinr wins"
    elif not any(ahead.values()):
        who = "ASTC wins"
    else:
        sides = ", ".join(f"{'texinr' if v else 'ASTC'} ahead on {k}" for k, v in ahead.items())
        who = f"no clear winner ({sides})"
    ratio = r["bpp"] / a["bpp"]
    bits = "at equal bits" if abs(ratio - 1.0) <= 0.01 else f"with {ratio:.2f}x ASTC's bits"
    flip = f", FLIP {r['flip']:.4f} vs {a['flip']:.4f}" if "FLIP" in ahead else ""
    return (
        f"verdict: {who} on this texture {bits}: PSNR {r['psnr'] - a['psnr']:+.2f} dB against ASTC {a['block']} "
        f"(astcenc {a['preset']}){flip}"
    )


def _fmt(x, spec: str) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def format_table(report: dict, output: Path | None = None, run: tuple[int, float, int] | None = None) -> str:
    """The report as the table `texinr-train` prints; `run`: (steps, seconds, threads) of the training."""
    r, a = report, report["astc"]
    lines = []
    head = f"{r['family']} ({r['arch']}), {r['width']}x{r['height']}"
    head += f", {r['mips']} mip levels" if r["mips"] > 1 else ", base level only"
    head += {32: ", fp32", 16: ", fp16", 8: ", int8"}[r["bits"]] + " weights"
    if run is not None:
        steps, seconds, threads = run
        rate = steps / seconds if seconds > 0 else 0.0
        head += f"; {steps} steps in {seconds:.1f} s ({rate:.1f} steps/s, {threads} threads)"
    lines.append(head)
    chain = " + mip chain" if a["mips"] > 1 else ""
    lines.append(f"{'':24s} {'bpp':>7s} {'PSNR dB':>8s} {'SSIM':>7s} {'FLIP':>7s}")
    lines.append(
        f"{'texinr ' + r['arch']:24s} {r['bpp']:7.3f} {_fmt(r['psnr'], '8.2f')} {_fmt(r['ssim'], '7.4f')} "
        f"{_fmt(r['flip'], '7.4f')}"
    )
    lines.append(
        f"{'ASTC ' + a['block'] + chain:24s} {a['bpp']:7.3f} {_fmt(a['psnr'], '8.2f')} "
        f"{_fmt(a['ssim'], '7.4f')} {_fmt(a['flip'], '7.4f')}   (astcenc {a['preset']})"
    )
    lines.append(verdict(report))
    levels = r["metrics"].get("psnr_levels")
    if levels:
        lines.append("per-level PSNR (dB): " + " ".join(f"L{k} {p:.2f}" for k, p in enumerate(levels)))
    lines.append(f"LPIPS {r['metrics']['lpips_status']}; VMAF {r['metrics']['vmaf']}")
    if output is not None:
        lines.append(f"wrote {output} ({r['payload_bits']} payload bits)")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------- material sets
def evaluate_material_file(
    f: TexinrFile, values: np.ndarray, astc_quality: float = astc.DEFAULT_QUALITY, with_flip: bool = True
) -> dict:
    """Every map of the stored material network against the set `values` (H, W, C), and ASTC compressing each map
    as a pipeline ships it (trainer.core.material.astc_maps) at the block nearest the set's bpp per shipped image."""
    layout = f.model_config.channels
    h, w = values.shape[:2]
    images = len(shipped_images(parse_layout(layout)))
    with phase("decode the base level"):
        out = render(f.build(), h, w, 0.0)
    with phase("metrics per map"):
        ours = map_metrics(values, out, layout, with_flip)
    del out
    block = astc.nearest_block(f.bpp / images, w, h, f.mips)
    with phase(f"ASTC {block} per map" + (" + mip chains" if f.mips > 1 else "")):
        decoded, bits, per_image = astc_maps(values, layout, block, astc_quality, f.mips)
    with phase("ASTC metrics per map"):
        theirs = map_metrics(values, decoded, layout, with_flip)
    return {
        "kind": "material",
        "layout": layout,
        **file_facts(f, w, h),
        "images": images,
        "maps": ours,
        "metrics": {"maps": ours},
        "astc": {
            "block": block,
            "bpp": bits / (w * h),
            "bits_per_image": per_image,
            "mips": f.mips,
            "quality": astc_quality,
            "preset": astc.preset_name(astc_quality),
            "maps": theirs,
        },
    }


def map_rows(ours: dict, theirs: dict) -> list[tuple[str, str, float | None, float | None, bool | None]]:
    """(map, measure, ours, ASTC's, texinr ahead?) for every judged number: colour PSNR and FLIP, normal mean and
    95th-percentile angle, each linear channel's PSNR (None for an exact one: reproduced exactly by both is a tie)."""
    rows = []
    for name, m in ours.items():
        a = theirs[name]
        if "mean_deg" in m:
            rows.append((name, "mean angle deg", m["mean_deg"], a["mean_deg"], m["mean_deg"] <= a["mean_deg"]))
            rows.append((name, "p95 angle deg", m["p95_deg"], a["p95_deg"], m["p95_deg"] <= a["p95_deg"]))
        elif "ssim" in m:
            rows.append((name, "PSNR dB", m["psnr"], a["psnr"], m["psnr"] >= a["psnr"]))
            if m.get("flip") is not None and a.get("flip") is not None:
                rows.append((name, "FLIP", m["flip"], a["flip"], m["flip"] <= a["flip"]))
        else:
            p, q = m["psnr"], a["psnr"]
            ahead = None if (p is None and q is None) else (q is not None and (p is None or p >= q))
            rows.append((name, "PSNR dB", p, q, ahead))
    return rows


def format_material_table(report: dict, output: Path | None = None, run: tuple[int, float, int] | None = None) -> str:
    r, a = report, report["astc"]
    head = f"{r['family']} ({r['arch']}), material {r['width']}x{r['height']}, {r['layout']}"
    head += f", {r['mips']} mip levels" if r["mips"] > 1 else ", base level only"
    if run is not None:
        steps, seconds, threads = run
        head += f"; {steps} steps in {seconds:.1f} s ({steps / max(seconds, 1e-9):.1f} steps/s, {threads} threads)"
    chain = " + mip chains" if a["mips"] > 1 else ""
    lines = [
        head,
        f"bits: texinr {r['bpp']:.3f} bpp for the whole set; ASTC {a['block']} per map{chain} "
        f"({r['images']} images) {a['bpp']:.3f} bpp (astcenc {a['preset']})",
        f"{'map':14s} {'measure':16s} {'texinr':>9s} {'ASTC':>9s}  ahead",
    ]
    for name, measure, p, q, ahead in map_rows(r["maps"], a["maps"]):
        who = "tie (exact)" if ahead is None else ("texinr" if ahead else "ASTC")
        fmt = ".4f" if measure == "FLIP" else ".2f"
        lines.append(
            f"{name:14s} {measure:16s} {_fmt(p, '9' + fmt) if p is not None else '    exact'} "
            f"{_fmt(q, '9' + fmt) if q is not None else '    exact'}  {who}"
        )
    rows = [x for x in map_rows(r["maps"], a["maps"]) if x[4] is not None]
    wins = sum(1 for x in rows if x[4])
    lines.append(f"verdict: texinr ahead on {wins} of {len(rows)} numbers at {r['bpp'] / a['bpp']:.2f}x ASTC's bits")
    if output is not None:
        lines.append(f"wrote {output} ({r['payload_bits']} payload bits)")
    return "\n".join(lines)
