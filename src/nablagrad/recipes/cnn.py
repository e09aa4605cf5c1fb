"""A small convolutional network on Fashion-MNIST, the default recipe: two stages of 3×3
convolution + BatchNorm + ReLU blocks with max pooling, global average pooling and a linear
classifier, under 100k parameters (notes 004 §2–3). Trained with SGD + Nesterov momentum,
a one-cycle learning-rate schedule and random-crop/flip augmentation. Reference: two-layer CNNs
under 100k parameters reach 92.5% in the Fashion-MNIST benchmark."""
from dataclasses import dataclass

from ..models.vision import SmallCNN
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 12
    lr: float = 0.1
    augment: bool = True
    widths: tuple[int, ...] = (32, 64)
    dropout: float = 0.3


RECIPE = classifier_recipe("cnn", "small CNN (< 100k parameters) on Fashion-MNIST",
                           "test accuracy >= 92%", Config,
                           lambda cfg: SmallCNN(widths=cfg.widths, dropout=cfg.dropout))
