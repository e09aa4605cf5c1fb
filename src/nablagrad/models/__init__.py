"""Ready-made models built from ``nablagrad.nn``: ``vision`` (image classifiers), ``sequence``
(recurrent networks, transformers, word embeddings) and ``graph`` (graph neural networks)."""
from . import graph, sequence, vision  # noqa: F401
