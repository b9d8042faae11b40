"""Which torch device trains: `auto` takes CUDA, then Apple's MPS, then the CPU; or the one the user names.

Everything that leaves torch for GL or disk is copied to the CPU once (Trainer.weights, render, the .texinr
export), so only the trainer's own tensors (model, samples, optimizer state, the FLIP finish) live on the device.
"""

from __future__ import annotations

import torch

from texinr.trainer.core.config import check_device_spec
from texinr.trainer.core.errors import TexinrError


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available() -> list[str]:
    """The devices this machine can train on, best first: cuda:0..N-1, mps, cpu."""
    out = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        out.append("mps")
    return [*out, "cpu"]


def resolve(spec: str) -> torch.device:
    """The torch.device `spec` names on this machine; one clear TexinrError when it has none such."""
    spec = check_device_spec(spec)
    if spec == "auto":
        return torch.device(available()[0])
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not _mps_available():
            raise TexinrError("--device mps: this machine has no Apple MPS device (choose auto or cpu)")
        return torch.device("mps")
    if not torch.cuda.is_available():
        why = "this torch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise TexinrError(f"--device {spec}: {why} (torch {torch.__version__}); choose auto or cpu")
    index = int(spec.split(":")[1]) if ":" in spec else 0
    count = torch.cuda.device_count()
    if index >= count:
        raise TexinrError(f"--device {spec}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    return torch.device("cuda", index)


def describe(device: torch.device) -> str:
    """A device as a user knows it: 'cuda:0 (NVIDIA H200)', 'mps (Apple GPU)', 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` is torch running out of device memory (CUDA or MPS)."""
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(error, oom) or (isinstance(error, RuntimeError) and "out of memory" in str(error).lower())
