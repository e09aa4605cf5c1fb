"""LeNet-5 (LeCun et al. 1998) on Fashion-MNIST: two convolution + pooling stages (6 and 16
channels, 5×5 kernels) and three fully connected layers (120, 84, 10), about 61k parameters
(notes 004 §2). ReLU and max pooling replace the original tanh and subsampling."""
from dataclasses import dataclass

from ..models.vision import LeNet5
from .classify import ClassifierConfig, classifier_recipe


@dataclass
class Config(ClassifierConfig):
    epochs: int = 15
    lr: float = 0.05


RECIPE = classifier_recipe("lenet", "LeNet-5 (61k parameters) on Fashion-MNIST",
                           "test accuracy >= 92% (the issue's target for lenet/cnn)", Config,
                           lambda cfg: LeNet5())
