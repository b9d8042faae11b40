"""Tables, summary and plots of `texinr-bench --materials` rows: pure functions of the rows (numpy and matplotlib,
no torch)."""

from __future__ import annotations

import json
from pathlib import Path

from texinr.trainer.core.modelfile import atomic_write

MEASURES = (
    ("base_colour", "psnr", "base colour PSNR dB", True),
    ("base_colour", "flip", "base colour FLIP", False),
    ("normal", "mean_deg", "normal mean angle deg", False),
    ("normal", "p95_deg", "normal p95 angle deg", False),
    ("occlusion", "psnr", "occlusion PSNR dB", True),
    ("roughness", "psnr", "roughness PSNR dB", True),
    ("metallic", "psnr", "metallic PSNR dB", True),
)
"""(map, key, label, higher is better): what a set is judged on (a map the set lacks is left out)."""
TARGETS = {
    ("base_colour", "psnr"),
    ("base_colour", "flip"),
    ("normal", "mean_deg"),
    ("occlusion", "psnr"),
    ("roughness", "psnr"),
    ("metallic", "psnr"),
}
"""The issue's targets: base-colour PSNR and FLIP, normal mean angle, each ARM channel's PSNR."""


def value(maps: dict, name: str, key: str):
    m = maps.get(name)
    if m is None:
        return None
    if m.get("exact"):
        return "exact"
    return m.get(key)


def compare(ours, theirs, higher: bool) -> str:
    """'win', 'loss', 'tie' (exact on both sides, or equal)."""
    if ours == "exact" and theirs == "exact":
        return "tie"
    if ours == "exact":
        return "win"
    if theirs == "exact":
        return "loss"
    if ours == theirs:
        return "tie"
    return "win" if (ours > theirs) == higher else "loss"


def _fmt(v, key: str) -> str:
    if v is None:
        return "-"
    if v == "exact":
        return "exact"
    return f"{v:.4f}" if key == "flip" else f"{v:.2f}"


def judged(row: dict, method: str = "texinr"):
    """(label, key, ours, ASTC's, verdict, target?) for every measure the set has."""
    out = []
    for name, key, label, higher in MEASURES:
        ours, theirs = value(row[method]["maps"], name, key), value(row["astc"]["maps"], name, key)
        if ours is None or theirs is None:
            continue
        out.append((label, key, ours, theirs, compare(ours, theirs, higher), (name, key) in TARGETS))
    return out


def format_rows(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        t, a = row["texinr"], row["astc"]
        lines.append(
            f"{row['material']} {row['width']}x{row['height']}, ASTC {row['block']} per map: ASTC {a['bpp']:.3f} bpp, "
            f"texinr {t['bpp']:.3f} bpp ({t['steps']} steps, {t['seconds']:.0f} s, {t['grids']})"
        )
        sep = row.get("separate")
        head = f"  {'measure':24s} {'texinr':>9s} {'ASTC':>9s}  verdict"
        lines.append(head + (f"   {'per-map codecs':>14s}" if sep else ""))
        for label, key, ours, theirs, verdict, _ in judged(row):
            extra = ""
            if sep:
                name = next(n for n, k, lb, _ in MEASURES if lb == label)
                extra = f"   {_fmt(value(sep['maps'], name, key), key):>14s}"
            lines.append(f"  {label:24s} {_fmt(ours, key):>9s} {_fmt(theirs, key):>9s}  {verdict}{extra}")
    return "\n".join(lines)


def summary_md(rows: list[dict], command: str) -> str:
    lines = ["# texinr-bench --materials", "", f"`texinr-bench {command}`", ""]
    blocks = sorted({r["block"] for r in rows}, key=lambda b: [int(x) for x in b.split("x")])
    for block in blocks:
        sub = [r for r in rows if r["block"] == block]
        lines.append(f"## ASTC {block} per map (equal bits for the set)")
        lines.append("")
        labels = [m[2] for m in MEASURES]
        present = [lb for lb in labels if any(any(j[0] == lb for j in judged(r)) for r in sub)]
        lines.append("| material | bpp (texinr / ASTC) | " + " | ".join(present) + " |")
        lines.append("|---|---|" + "---|" * len(present))
        tally = {"win": 0, "loss": 0, "tie": 0}
        for r in sub:
            cells = {j[0]: j for j in judged(r)}
            row = [r["material"], f"{r['texinr']['bpp']:.2f} / {r['astc']['bpp']:.2f}"]
            for lb in present:
                if lb not in cells:
                    row.append("-")
                    continue
                _, key, ours, theirs, verdict, target = cells[lb]
                mark = {"win": "**", "loss": "", "tie": ""}[verdict]
                row.append(f"{mark}{_fmt(ours, key)}{mark} / {_fmt(theirs, key)}")
                if target:
                    tally[verdict] += 1
            lines.append("| " + " | ".join(row) + " |")
        means = ["**mean**", ""]
        for lb in present:
            pairs = [next(j for j in judged(r) if j[0] == lb) for r in sub if any(j[0] == lb for j in judged(r))]
            ours = [p[2] for p in pairs if isinstance(p[2], float)]
            theirs = [p[3] for p in pairs if isinstance(p[3], float)]
            key = pairs[0][1] if pairs else "psnr"
            mo = _fmt(sum(ours) / len(ours), key) if ours else "-"
            mt = _fmt(sum(theirs) / len(theirs), key) if theirs else "-"
            means.append(f"{mo} / {mt}")
        lines.append("| " + " | ".join(means) + " |")
        lines.append("")
        lines.append(
            f"Targets (base-colour PSNR and FLIP, normal mean angle, ARM PSNR per channel): texinr ahead on "
            f"{tally['win']}, behind on {tally['loss']}, tied on {tally['tie']}. Cells: texinr / ASTC, texinr's in "
            "bold where it is ahead; means leave out channels reproduced exactly (never infinity)."
        )
        lines.append("")
        for key, how in (
            ("separate", "the same seconds each: three times the one network's compute"),
            ("separate_split", "a third of the seconds each: the one network's compute"),
        ):
            _separate_table(lines, [r for r in sub if r.get(key)], key, how, present)
    return "\n".join(lines) + "\n"


def _separate_table(lines: list[str], seps: list[dict], key: str, how: str, present: list[str]) -> None:
    """One network for the set beside one codec per shipped map (row[key]), per measure."""
    if not seps:
        return
    lines.append(f"One network for the set / one codec per map (each at its map's share of the bits; {how}):")
    lines.append("")
    lines.append("| material | bpp one / per map | " + " | ".join(present) + " |")
    lines.append("|---|---|" + "---|" * len(present))
    for r in seps:
        cells = [
            f"{_fmt(value(r['texinr']['maps'], name, k), k)} / {_fmt(value(r[key]['maps'], name, k), k)}"
            for name, k, label, _ in MEASURES
            if label in present
        ]
        lines.append(
            f"| {r['material']} | {r['texinr']['bpp']:.2f} / {r[key]['bpp']:.2f} | " + " | ".join(cells) + " |"
        )
    lines.append("")


def plot(rows: list[dict], path: Path) -> None:
    """Each measure against the set's total bpp: texinr (solid) and ASTC (dashed), one colour per material."""
    import matplotlib  # 0.5 s to import; only runs that write plots need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after use('Agg'): no display needed

    materials = sorted({r["material"] for r in rows})
    measures = [m for m in MEASURES if any(value(r["texinr"]["maps"], m[0], m[1]) not in (None, "exact") for r in rows)]
    cols = 4
    nrows = (len(measures) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3.2 * nrows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (name, key, label, _) in zip(axes.flat, measures, strict=False):
        for i, mat in enumerate(materials):
            sub = sorted((r for r in rows if r["material"] == mat), key=lambda r: r["astc"]["bpp"])
            for method, style in (("texinr", "-o"), ("astc", "--s")):
                pts = [(r[method]["bpp"], value(r[method]["maps"], name, key)) for r in sub]
                pts = [(x, y) for x, y in pts if isinstance(y, float)]
                if pts:
                    ax.plot(
                        *zip(*pts, strict=True),
                        style,
                        color=colours[i % len(colours)],
                        ms=4,
                        label=f"{mat.split(' ')[0]} {'texinr' if method == 'texinr' else 'ASTC'}",
                    )
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("bpp of the whole set", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(measures) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(rows: list[dict], out: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "results.json", json.dumps(rows, indent=1, default=float).encode())
    atomic_write(out / "summary.md", summary_md(rows, command).encode())
    tmp = out / ".materials.png.tmp.png"
    plot(rows, tmp)
    tmp.replace(out / "materials.png")
