"""Multilayer perceptron on Fashion-MNIST: f(x) = W₃ σ(W₂ σ(W₁ x + b₁) + b₂) + b₃ with ReLU σ
and dropout (notes 004 §1, Def 1.2). Reference: an MLP 256-128-100 reaches 88.3% in the
Fashion-MNIST benchmark; the recipe's target is 89%."""
from dataclasses import dataclass

from ..models.vision import MLP
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 20
    lr: float = 0.05
    hidden: tuple[int, ...] = (512, 512)
    dropout: float = 0.2


RECIPE = classifier_recipe("mlp", "MLP 784-512-512-10 with ReLU and dropout on Fashion-MNIST",
                           "test accuracy >= 89%", Config,
                           lambda cfg: MLP(hidden=cfg.hidden, dropout=cfg.dropout))
