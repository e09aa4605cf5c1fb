"""Vision models of the first curriculum chapter, simplest first: the perceptron, softmax
regression, the MLP, LeNet-5 and two small CNNs, a pre-activation ResNet and DenseNet-BC. All
classifiers return logits (train them with ``F.cross_entropy``)."""
from .perceptron import Perceptron, PLAResult, novikoff_bound
from .linear import SoftmaxRegression
from .mlp import MLP
from .cnn import LeNet5, SmallCNN, TwoConvNet
from .resnet import PreActBlock, PreActResNet
from .densenet import DenseNet
from .vit import VisionTransformer

__all__ = ["Perceptron", "PLAResult", "novikoff_bound", "SoftmaxRegression", "MLP", "LeNet5",
           "SmallCNN", "TwoConvNet", "PreActBlock", "PreActResNet", "DenseNet", "VisionTransformer"]
