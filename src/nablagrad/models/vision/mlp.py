"""The multilayer perceptron: a feed-forward fully connected network.

    h_0 = flatten(x),   h_l = dropout(σ(BN(W_l h_{l-1} + b_l))),   logits = W_L h_{L-1} + b_L

D. E. Rumelhart, G. E. Hinton, R. J. Williams, "Learning representations by back-propagating
errors", Nature 1986. Batch normalisation (optional): S. Ioffe, C. Szegedy, 2015. Dropout
(optional): N. Srivastava et al., JMLR 2014. The last layer has no activation: the model returns
logits and the softmax lives in the loss (``F.cross_entropy``).
"""
import math

from ... import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "silu": nn.SiLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


class MLP(nn.Module):
    """Flatten, then per hidden width: Linear, BatchNorm1d (if ``batch_norm``; the Linear then has
    no bias, which BN would cancel), activation, Dropout (if ``dropout`` > 0); then a Linear to
    ``num_classes``. All layers are in ``self.layers`` (an ``nn.Sequential``), so state_dict keys
    read ``layers.<index>.weight``."""

    def __init__(self, in_features=784, hidden=(512, 512), num_classes=10, activation="relu",
                 dropout=0.0, batch_norm=False):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; "
                             f"choose one of {sorted(ACTIVATIONS)}")
        self.in_features = in_features
        layers, width = [nn.Flatten()], in_features
        for h in hidden:
            layers.append(nn.Linear(width, h, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(f"MLP: expected a batch of samples with {self.in_features} "
                             f"features each, got shape {tuple(x.shape)}")
        return self.layers(x)
