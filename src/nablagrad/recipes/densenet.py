"""A small DenseNet-BC on Fashion-MNIST (Huang et al. 2017): inside a dense block every layer
receives the concatenation of all earlier feature maps, x_l = H_l([x_0, x_1, ..., x_{l-1}]),
with bottleneck (1×1) layers and compressing transitions (notes 004 §3). Reference: DenseNet-BC
with 768k parameters reaches 95.4% in the Fashion-MNIST benchmark."""
from dataclasses import dataclass

from ..models.vision import DenseNet
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 30
    lr: float = 0.1
    augment: bool = True
    growth_rate: int = 12
    blocks: tuple[int, ...] = (6, 12, 8)


RECIPE = classifier_recipe("densenet", "small DenseNet-BC on Fashion-MNIST",
                           "test accuracy >= 93.5%", Config,
                           lambda cfg: DenseNet(growth_rate=cfg.growth_rate, blocks=cfg.blocks),
                           quick=dict(growth_rate=4, blocks=(2, 2, 2)))
