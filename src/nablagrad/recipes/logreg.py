"""Softmax (multinomial logistic) regression on Fashion-MNIST: p(y|x) = softmax(W x + b),
trained by minimising the cross-entropy −log p(y|x) (notes 003, "linear classifiers";
004 §1). It is the MLP with no hidden layer, so it can only draw linear boundaries between
classes: the baseline every deeper model is measured against (about 84% test accuracy)."""
from dataclasses import dataclass

from ..models.vision import SoftmaxRegression
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 10
    lr: float = 0.01
    weight_decay: float = 0.0


RECIPE = classifier_recipe("logreg", "softmax regression (one linear layer) on Fashion-MNIST",
                           "test accuracy >= 84%", Config, lambda cfg: SoftmaxRegression())
