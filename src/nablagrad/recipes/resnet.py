"""A small pre-activation ResNet on Fashion-MNIST (He et al. 2016, "Identity Mappings in Deep
Residual Networks"): x_{l+1} = x_l + F(x_l) with F = conv∘ReLU∘BN∘conv∘ReLU∘BN, three stages
of two blocks (32, 64, 128 channels), BatchNorm, random-crop/flip augmentation and a one-cycle
schedule (notes 004 §3). Reference: ResNet-18 reaches 94.9% in the Fashion-MNIST benchmark."""
from dataclasses import dataclass

from ..models.vision import PreActResNet
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 30
    lr: float = 0.1
    augment: bool = True
    blocks: tuple[int, ...] = (2, 2, 2)
    widths: tuple[int, ...] = (32, 64, 128)


RECIPE = classifier_recipe("resnet", "pre-activation ResNet (3 stages × 2 blocks) on "
                           "Fashion-MNIST", "test accuracy >= 94%", Config,
                           lambda cfg: PreActResNet(blocks=cfg.blocks, widths=cfg.widths),
                           quick=dict(blocks=(1, 1, 1), widths=(8, 16, 32)))
