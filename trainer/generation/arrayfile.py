"""Named arrays plus a JSON header in one file (an .npz without pickles), written atomically: the storage of texinr's
generation files (crop sets, spaces of textures, priors). Each file says what kind it is, so a prior given where a
space is expected is one clear error rather than a KeyError."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.modelfile import atomic_write


def save(path: Path, kind: str, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    header = json.dumps({"kind": kind, **meta}, sort_keys=True, allow_nan=False)
    buf = io.BytesIO()
    np.savez_compressed(buf, __meta__=np.array(header), **arrays)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(path), buf.getvalue())


def load(path: Path, kind: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a file of this kind; anything else is a TexinrError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise TexinrError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, EOFError) as e:
        raise TexinrError(f"{path}: not a texinr {kind} file ({type(e).__name__})") from None
    if meta.get("kind") != kind:
        raise TexinrError(f"{path}: a {meta.get('kind', 'unknown')} file, not a {kind} file")
    return meta, arrays
