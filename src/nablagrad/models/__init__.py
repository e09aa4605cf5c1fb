"""Ready-made models built from ``nablagrad.nn``; ``nablagrad.models.vision``: image classifiers."""
from . import vision  # noqa: F401
