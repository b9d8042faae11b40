"""Fingerprints of what each family trains, to check that a change of structure changed no behaviour.

    python -m tests.family_hashes record   # writes tests/family_hashes.json
    python -m tests.family_hashes check    # exit 1 and the differing families if anything moved

Each family is trained by `texinr-train` on the bundled texture for a fixed step budget, seed and one thread, and
three things are hashed: the stored weights (the `.texinr` payload with the model settings, precision and image
size), the GPU layout the render core uploads (the packed texels, latent atlas and the shader's `#define`s), and
the decoded base level. A file's header also keeps wall-clock seconds, so the whole file's bytes differ run to
run; these three do not. Bit-exact results hold on one CPU kind and one torch build, which is why this is a
command and not part of the suite (CI may run on another processor).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RECORD = HERE / "family_hashes.json"
STEPS = 50
FAMILIES = ("relu", "siren", "fourier", "hashgrid", "grid", "codec")
COMMANDS = ("texinr-train", "texinr-decode", "texinr-bench", "texinr-compress", "texinr-generate", "texinr-view")


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()[:16]


def fingerprint(family: str, folder: Path) -> dict:
    from texinr.trainer.core.modelfile import load
    from texinr.trainer.core.packing import pack
    from texinr.trainer.core.resources import DEFAULT_TEXTURE

    out = folder / f"{family}.texinr"
    argv = [str(DEFAULT_TEXTURE), "-o", str(out), "--arch", family, "--steps", str(STEPS), "--threads", "1"]
    argv += ["--seed", "0", "--astc-preset", "fastest"]
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from texinr.trainer.cli.train import train_entrypoint as m; sys.exit(m(sys.argv[1:]))",
            *argv,
        ],
        check=True,
        capture_output=True,
    )
    f = load(out)
    weights = _sha(
        json.dumps(
            {"model": f.model_config.to_dict(), "bits": f.bits, "size": [f.width, f.height, f.mips]}, sort_keys=True
        ).encode(),
        *(t.tobytes() for t in f.tensors),
    )
    packed = pack(f.model_config.to_dict(), {k: v.numpy() for k, v in f.state_dict().items()})
    gpu = _sha(
        np.ascontiguousarray(packed.data).tobytes(),
        b"" if packed.latents is None else np.ascontiguousarray(packed.latents).tobytes(),
        json.dumps(packed.defines, sort_keys=True).encode(),
        json.dumps(packed.glsl, sort_keys=True).encode(),
    )
    decoded = folder / f"{family}.png"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from texinr.trainer.cli.decode import decode_entrypoint as m; sys.exit(m(sys.argv[1:]))",
            str(out),
            str(decoded),
        ],
        check=True,
        capture_output=True,
    )
    return {"weights": weights, "gpu": gpu, "decoded": _sha(decoded.read_bytes()), "psnr": f.metrics.get("psnr")}


def helps() -> dict:
    """Each command's --help text (its options are behaviour too)."""
    out = {}
    for name in COMMANDS:
        r = subprocess.run(
            [str(Path(sys.executable).with_name(name)), "--help"],
            capture_output=True,
            text=True,
            env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
        )
        out[name] = r.stdout
    return out


def measure() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return {"families": {fam: fingerprint(fam, Path(tmp)) for fam in FAMILIES}, "help": helps()}


def main(argv: list[str]) -> int:
    if argv[:1] == ["record"]:
        RECORD.write_text(json.dumps(measure(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {RECORD}")
        return 0
    if argv[:1] == ["check"]:
        want, got = json.loads(RECORD.read_text()), measure()
        bad = [f for f in FAMILIES if want["families"].get(f) != got["families"][f]]
        bad += [f"{c} --help" for c in COMMANDS if want["help"].get(c) != got["help"][c]]
        for f in FAMILIES:
            print(f, "same" if f not in bad else f"CHANGED {want['families'].get(f)} -> {got['families'][f]}")
        for c in COMMANDS:
            print(f"{c} --help", "same" if f"{c} --help" not in bad else "CHANGED")
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
