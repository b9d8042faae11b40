"""The fitting core: settings, data, model families, networks, files, the GPU layout, sizing, training, metrics.

The built-in model families are registered first, so that the registry (trainer.core.families) is full before
anything reads it.
"""

from texinr.trainer.core import builtin_families  # noqa: F401  (registers the six families on import)
