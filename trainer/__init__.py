"""texinr trainer: fits implicit neural representations to textures. PyTorch only: no GL, no GUI imports."""

from texinr.trainer.core.errors import TexinrError

__all__ = ["TexinrError"]
