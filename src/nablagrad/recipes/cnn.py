"""A small convolutional network on Fashion-MNIST, the default recipe: two conv5×5 + BatchNorm
+ ReLU + max-pool stages and a fully connected head, under 100k parameters (notes 004 §2–3).
Trained with SGD + Nesterov momentum, a one-cycle learning-rate schedule and random-crop/flip
augmentation. Reference: two-conv networks under 100k parameters reach 92.5% in the
Fashion-MNIST benchmark."""
from dataclasses import dataclass

from ..models.vision import TwoConvNet
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 20
    lr: float = 0.05
    augment: bool = True
    widths: tuple[int, ...] = (16, 32)
    hidden: int = 100
    dropout: float = 0.3


RECIPE = classifier_recipe("cnn", "two-conv CNN (94k parameters) on Fashion-MNIST",
                           "test accuracy >= 92%", Config,
                           lambda cfg: TwoConvNet(widths=cfg.widths, hidden=cfg.hidden,
                                                  dropout=cfg.dropout))
