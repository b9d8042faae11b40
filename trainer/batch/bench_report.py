"""texinr-bench's outputs: PSNR tables, results.csv / results.json, summary.md (with each method against ASTC)
and the PSNR / SSIM / FLIP-against-bpp plots (mip-aware variants in *_mips.png). Pure functions of the result rows.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING

import numpy as np

from texinr.trainer.core.astc import preset_name
from texinr.trainer.core.modelfile import atomic_write

if TYPE_CHECKING:  # for annotations only: bench imports this module to write its outputs
    from texinr.trainer.batch.bench import BenchCommand

CODEC_DECODER_BITS = 16
"""The codec's decoder is always stored as fp16 in bench rows (its latents keep their own 1-8 bits)."""

CSV_COLUMNS = (
    "texture",
    "method",
    "target_bpp",
    "bpp",
    "psnr",
    "ssim",
    "flip",
    "mae",
    "seconds",
    "steps",
    "steps_per_s",
    "config",
)


TIE_DB = 0.1
"""PSNR differences to ASTC within this many dB count as ties (docs/results/codec-vs-astc.md: the spread of one setting over seeds)."""


def nearest_astc(rows: list[dict], texture: str, bpp: float, suffix: str | None = None) -> dict:
    astc = [
        r
        for r in rows
        if r["texture"] == texture
        and r["method"].startswith("astc")
        and (suffix is None or r["method"] == "astc" + suffix)
    ]
    return min(astc, key=lambda r: abs(math.log(r["bpp"] / bpp)))


def format_psnr_table(rows: list[dict], cmd: BenchCommand) -> str:
    return "\n".join(_variant_table(rows, cmd, suffix, mips, bpps) for suffix, mips, bpps in cmd.variants())


def _variant_table(all_rows: list[dict], cmd: BenchCommand, suffix: str, mips: int, bpps) -> str:
    rows = [r for r in all_rows if r["method"].endswith("+mips") == bool(suffix)]
    textures = list(dict.fromkeys(r["texture"] for r in rows))
    lines = []
    chain = 4 / 3 if mips > 1 else 1  # ASTC's mip chain costs about 4/3 of its base level
    for bpp in bpps:
        sample = nearest_astc(rows, textures[0], bpp * chain)
        astc_label = f"ASTC {sample['config']} {preset_name(cmd.astc_quality)}"
        head = [f"PSNR (dB) at ~{bpp:g} bpp", *cmd.method_names(), astc_label]
        lines.append(
            f"\n{cmd.size}x{cmd.size}, {cmd.seconds:g} s per model, {cmd.bits}-bit weights "
            f"(codec: {_codec_decoder_bits()}-bit decoder)"
            + (f", {mips} mips fitted (ASTC stores its whole mip chain)" if mips > 1 else "")
        )
        lines.append(" | ".join(f"{h:>12s}" if i else f"{h:<28s}" for i, h in enumerate(head)))
        cols: dict[str, list[float]] = {h: [] for h in head[1:]}
        for t in textures:
            cells = []
            for fam in cmd.method_names():
                r = next(
                    r for r in rows if r["texture"] == t and r["method"] == fam + suffix and r["target_bpp"] == bpp
                )
                cells.append(r["psnr"])
                cols[fam].append(r["psnr"])
            a = nearest_astc(rows, t, bpp * chain)
            cells.append(a["psnr"])
            cols[astc_label].append(a["psnr"])
            lines.append(" | ".join([f"{t[:28]:<28s}", *(f"{c:12.2f}" for c in cells)]))
        lines.append(" | ".join([f"{'mean':<28s}", *(f"{np.mean(v):12.2f}" for v in cols.values())]))
        wtl, worst = [], []
        for fam in cmd.method_names():
            w, t, lo, low = win_tie_loss(
                [(r, nearest_astc(rows, r["texture"], bpp * chain)) for r in _rows_at(rows, fam + suffix, bpp)]
            )
            wtl.append(f"{f'{w}/{t}/{lo}':>12s}")
            worst.append(f"{low.split()[0]:>12s}")
        lines.append(" | ".join([f"{'wins/ties/losses vs ASTC':<28s}", *wtl, f"{'-':>12s}"]))
        lines.append(" | ".join([f"{'worst vs ASTC (dB)':<28s}", *worst, f"{'-':>12s}"]))
        bpp_cells = []
        for fam in cmd.method_names():
            fr = [r for r in rows if r["method"] == fam + suffix and r["target_bpp"] == bpp]
            bpp_cells.append(f"{np.mean([r['bpp'] for r in fr]):12.3f}")
        bpp_cells.append(f"{nearest_astc(rows, textures[0], bpp * chain)['bpp']:12.3f}")
        lines.append(" | ".join([f"{'bpp':<28s}", *bpp_cells]))
        rate = []
        for fam in cmd.method_names():
            fr = [r for r in rows if r["method"] == fam + suffix and r["target_bpp"] == bpp]
            rate.append(f"{np.median([r['steps_per_s'] for r in fr]):12.1f}")
        lines.append(" | ".join([f"{'steps/s (median)':<28s}", *rate, f"{'-':>12s}"]))
    return "\n".join(lines)


def _rows_at(rows: list[dict], method: str, bpp: float) -> list[dict]:
    return [r for r in rows if r["method"] == method and r["target_bpp"] == bpp]


def write_outputs(rows: list[dict], cmd: BenchCommand) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    atomic_write(cmd.out / "results.csv", buf.getvalue().encode())
    meta = {
        "size": cmd.size,
        "seconds": cmd.seconds,
        "bits": cmd.bits,
        "mips": cmd.mips,
        "bpps": cmd.bpps,
        "mips_bpps": cmd.mips_bpps if cmd.mips > 1 else [],
        "codec_decoder_bits": _codec_decoder_bits(),
        "families": cmd.families,
        "tune": cmd.tune,
        "astc_quality": cmd.astc_quality,
        "astc_preset": preset_name(cmd.astc_quality),
    }
    atomic_write(
        cmd.out / "results.json", json.dumps({"settings": meta, "rows": rows}, indent=1, default=float).encode()
    )
    atomic_write(cmd.out / "summary.md", summary_markdown(rows, cmd).encode())
    write_plots(rows, cmd)


def summary_markdown(rows: list[dict], cmd: BenchCommand) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    out = [
        f"# texinr-bench summary\n\n{cmd.size}x{cmd.size}, {cmd.seconds:g} s per model, {cmd.bits}-bit weights, "
        f"mips {cmd.mips}, ASTC: astcenc {preset_name(cmd.astc_quality)}\n",
        "| method | target bpp | mean bpp | mean PSNR | mean SSIM | mean FLIP | worst texture (PSNR) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        for tb in sorted({r["target_bpp"] for r in rows if r["method"] == m}, reverse=True):
            rs = [r for r in rows if r["method"] == m and r["target_bpp"] == tb]
            worst = min(rs, key=lambda r: r["psnr"])
            flips = [r["flip"] for r in rs if r["flip"] is not None]
            out.append(
                f"| {m} | {tb:g} | {np.mean([r['bpp'] for r in rs]):.3f} | {np.mean([r['psnr'] for r in rs]):.2f}"
                f" | {np.mean([r['ssim'] for r in rs]):.4f} | "
                f"{(f'{np.mean(flips):.4f}' if flips else 'n/a')} | {worst['texture']} ({worst['psnr']:.2f}) |"
            )
    out += ["", *versus_astc(rows, cmd), "", *versus_desktop(rows, cmd), "", *monotonicity(rows)]
    out.append("\n" + format_psnr_table(rows, cmd).strip().replace("\n", "\n    ") + "\n")
    return "\n".join(out)


def versus_astc(rows: list[dict], cmd: BenchCommand) -> list[str]:
    """Each method against ASTC at the nearest bpp (its whole mip chain for mip-aware rows), texture by texture."""
    out = [
        f"## Against ASTC (astcenc {preset_name(cmd.astc_quality)}) at the nearest bpp\n",
        f"Per texture: a win is ahead of ASTC by more than {TIE_DB:g} dB, a loss behind by more, a tie within it "
        "(the run-to-run noise of one seed); the worst loss is the largest PSNR deficit.\n",
        "| method | target bpp | ASTC block | mean PSNR - ASTC (dB) | PSNR wins / ties / losses | worst (dB) "
        "| mean FLIP | ASTC mean FLIP | FLIP wins |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for suffix, mips, bpps in cmd.variants():
        chain = 4 / 3 if mips > 1 else 1
        for fam in cmd.method_names():
            for bpp in bpps:
                rs = [r for r in rows if r["method"] == fam + suffix and r["target_bpp"] == bpp]
                if not rs:
                    continue
                pairs = [(r, nearest_astc(rows, r["texture"], bpp * chain, suffix)) for r in rs]
                diff = np.mean([r["psnr"] - a["psnr"] for r, a in pairs])
                w, t, lo, worst = win_tie_loss(pairs)
                fl = [(r["flip"], a["flip"]) for r, a in pairs if r["flip"] is not None and a["flip"] is not None]
                f_me = f"{np.mean([f[0] for f in fl]):.4f}" if fl else "n/a"
                f_astc = f"{np.mean([f[1] for f in fl]):.4f}" if fl else "n/a"
                f_wins = f"{sum(f[0] <= f[1] for f in fl)}/{len(fl)}" if fl else "n/a"
                out.append(
                    f"| {fam + suffix} | {bpp:g} | {pairs[0][1]['config']} | {diff:+.2f} | {w} / {t} / {lo} "
                    f"| {worst} | {f_me} | {f_astc} | {f_wins} |"
                )
    return out


def versus_desktop(rows: list[dict], cmd: BenchCommand) -> list[str]:
    """Each method at each rate against what desktop GPUs sample: BC1 (4 bpp) and BC7 (8 bpp), texture by texture:
    a win is ahead by more than TIE_DB on PSNR (FLIP: lower), with the bits each spends."""
    out = [
        "## Against the desktop formats (BC1 4 bpp, BC7 8 bpp; etcpak, decoded by texture2ddecoder)\n",
        "| method | target bpp | mean bpp | mean PSNR | BC1 mean PSNR | PSNR wins vs BC1 | FLIP wins vs BC1 "
        "| BC7 mean PSNR | PSNR wins vs BC7 | FLIP wins vs BC7 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for suffix, _, bpps in cmd.variants():
        base = {f: {r["texture"]: r for r in rows if r["method"] == f + suffix} for f in ("bc1", "bc7")}
        if not base["bc1"]:
            continue
        for fam in cmd.method_names():
            for bpp in bpps:
                rs = [r for r in rows if r["method"] == fam + suffix and r["target_bpp"] == bpp]
                if not rs:
                    continue
                cells = [fam + suffix, f"{bpp:g}", f"{np.mean([r['bpp'] for r in rs]):.3f}"]
                cells.append(f"{np.mean([r['psnr'] for r in rs]):.2f}")
                for f in ("bc1", "bc7"):
                    pairs = [(r, base[f][r["texture"]]) for r in rs if r["texture"] in base[f]]
                    cells.append(f"{np.mean([b['psnr'] for _, b in pairs]):.2f}")
                    cells.append(f"{sum(r['psnr'] - b['psnr'] > TIE_DB for r, b in pairs)}/{len(pairs)}")
                    fl = [(r["flip"], b["flip"]) for r, b in pairs if r["flip"] is not None and b["flip"] is not None]
                    cells.append(f"{sum(x < y for x, y in fl)}/{len(fl)}" if fl else "n/a")
                out.append("| " + " | ".join(cells) + " |")
    return out if len(out) > 3 else []


def monotonicity(rows: list[dict]) -> list[str]:
    """Per method and texture: every pair of rates where the higher one scored lower PSNR by more than TIE_DB."""
    out = ["## Rate-distortion per texture\n"]
    for m in dict.fromkeys(r["method"] for r in rows if not r["method"].startswith(("astc", "bc1", "bc7"))):
        bad = []
        for t in dict.fromkeys(r["texture"] for r in rows):
            pts = sorted((r["bpp"], r["psnr"], r["target_bpp"]) for r in rows if r["method"] == m and r["texture"] == t)
            for i, lo in enumerate(pts):
                for hi in pts[i + 1 :]:
                    if hi[1] < lo[1] - TIE_DB:
                        bad.append(f"{t} {hi[2]:g} bpp {hi[1]:.2f} dB < {lo[2]:g} bpp {lo[1]:.2f} dB")
        rates = len({r["target_bpp"] for r in rows if r["method"] == m})
        if rates < 2:
            continue
        out.append(f"- {m}: " + ("monotonic on every texture (within the tie band)" if not bad else "; ".join(bad)))
    return out if len(out) > 1 else []


def win_tie_loss(pairs: list[tuple[dict, dict]]) -> tuple[int, int, int, str]:
    """(wins, ties, losses, "worst difference (texture)") of (row, ASTC row) pairs on PSNR, ties within TIE_DB."""
    d = [(r["psnr"] - a["psnr"], r["texture"]) for r, a in pairs]
    wins = sum(x > TIE_DB for x, _ in d)
    losses = sum(x < -TIE_DB for x, _ in d)
    low = min(d)
    return wins, len(d) - wins - losses, losses, f"{low[0]:+.2f} ({low[1]})"


def write_plots(rows: list[dict], cmd: BenchCommand) -> None:
    for suffix, _, _ in cmd.variants():
        methods = [m for m in dict.fromkeys(r["method"] for r in rows) if m.endswith("+mips") == bool(suffix)]
        _plots(rows, cmd, methods, suffix)


def _plots(rows: list[dict], cmd: BenchCommand, methods: list[str], suffix: str) -> None:
    import matplotlib  # 0.5 s to import; only runs that write plots need it
    import matplotlib.ticker  # (plots only)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after use('Agg'): no display needed

    for metric, label in (
        ("psnr", "PSNR (dB, higher is better)"),
        ("ssim", "SSIM (higher is better)"),
        ("flip", "FLIP (lower is better)"),
    ):
        fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=100)
        for m in methods:
            pts = {}
            for r in rows:
                if r["method"] == m and r[metric] is not None:
                    pts.setdefault(r["target_bpp"], []).append((r["bpp"], r[metric]))
            xs = sorted(pts)
            if not xs:
                continue
            ax.plot(
                [np.mean([p[0] for p in pts[x]]) for x in xs],
                [np.mean([p[1] for p in pts[x]]) for x in xs],
                marker="o",
                ls="--" if m.startswith("astc") else ":" if m.startswith("bc") else "-",
                label=f"{m} ({preset_name(cmd.astc_quality)})" if m.startswith("astc") else m,
            )
        ax.set_xscale("log")
        ax.set_xticks([0.89, 1.28, 2.0, 3.56, 5.12, 8.0])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.minorticks_off()
        ax.set_xlabel("bits per pixel" + (" (both store every mip level)" if suffix else ""))
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        if not ax.lines:  # e.g. FLIP with --no-flip
            plt.close(fig)
            continue
        ax.legend(fontsize=8)
        ax.set_title(
            f"mean over textures, {cmd.size}^2, {cmd.seconds:g} s/model, astcenc {preset_name(cmd.astc_quality)}"
        )
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png")
        plt.close(fig)
        atomic_write(cmd.out / f"{metric}{'_mips' if suffix else ''}.png", buf.getvalue())


def _codec_decoder_bits() -> int:
    return CODEC_DECODER_BITS
