"""Recipes: one runnable experiment per file (a config dataclass, then build, train, evaluate).

``nablagrad list`` shows them; ``nablagrad train NAME --key=value ...`` runs one and
``nablagrad eval NAME`` evaluates its saved best weights. Each module defines ``RECIPE``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from .config import RunConfig, make_config, parse_overrides

__all__ = ["Recipe", "RECIPES", "get_recipe", "RunConfig", "make_config", "parse_overrides"]


@dataclass
class Recipe:
    name: str
    description: str
    target: str                      # the number it should reach, e.g. "test accuracy >= 92%"
    config: type                     # a RunConfig dataclass
    run: Callable                    # run(cfg) -> results dict
    quick: dict = field(default_factory=dict)   # overrides applied by --quick
    evaluate: Callable | None = None            # evaluate(cfg, weights_path) -> results dict
    sample: Callable | None = None              # sample(cfg, weights_path, **options) -> text


# recipe name -> module under nablagrad.recipes
RECIPES = {
    "perceptron": "perceptron",
    "logreg": "logreg",
    "mlp": "mlp",
    "lenet": "lenet",
    "cnn": "cnn",
    "resnet": "resnet",
    "densenet": "densenet",
    "init-study": "init_study",
    "seq2seq-attention": "seq2seq_attention",
    "word2vec": "word2vec",
    "gcn": "gcn",
    "char-rnn": "char_rnn",
    "rnn-classify": "rnn_classify",
    "vit": "vit",
    "bert-mlm": "bert_mlm",
    "transformer-translate": "transformer_translate",
    "gpt": "gpt",
}


def get_recipe(name) -> Recipe:
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; available: {', '.join(RECIPES)} "
                       f"(see `nablagrad list`)")
    return importlib.import_module(f"{__name__}.{RECIPES[name]}").RECIPE
