"""texinr trainer: fits implicit neural representations to textures. PyTorch only: no GL, no GUI imports."""

from trainer.errors import TexinrError

__all__ = ["TexinrError"]
