"""Softmax (multinomial logistic) regression: the linear baseline.

    logits = W·flatten(x) + b,   p(y = k | x) = softmax(logits)_k

Train it with ``F.cross_entropy(model(x), y)``, which fuses the softmax into the loss: the model
returns logits (D. R. Cox, "The regression analysis of binary sequences", 1958, for the binary
case).
"""
import math

from ... import nn


class SoftmaxRegression(nn.Module):
    """Flatten each sample (e.g. a (1, 28, 28) image to 784 features), then one Linear ``fc``."""

    def __init__(self, in_features=784, num_classes=10):
        super().__init__()
        self.in_features = in_features
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(f"SoftmaxRegression: expected a batch of samples with "
                             f"{self.in_features} features each, got shape {tuple(x.shape)}")
        return self.fc(self.flatten(x))
