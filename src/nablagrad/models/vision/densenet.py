"""DenseNet-BC: every layer sees the feature maps of all layers before it in its block.

    x_l = H_l([x_0, x_1, …, x_{l-1}]),   H_l = conv3×3 ∘ ReLU ∘ BN ∘ conv1×1 ∘ ReLU ∘ BN

A block of L layers with growth rate k turns c channels into c + L·k; a transition
(BN-ReLU-conv1×1 to ⌊θ·c⌋ channels, θ = ``compression``, then 2×2 average pooling) shrinks the maps
between blocks. "B" is the 1×1 bottleneck (to bn_size·k channels), "C" the compression θ < 1.
G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger, "Densely connected convolutional networks",
CVPR 2017.
"""
from collections import OrderedDict

from ... import nn
from ...nn import functional as F
from ...ops.shape import cat
from .cnn import check_images


class _DenseLayer(nn.Module):
    """BN-ReLU-conv1×1 (to bn_size·k) - BN-ReLU-conv3×3 (to k) [- dropout]; returns the input
    with the k new channels concatenated."""

    def __init__(self, in_ch, growth_rate, bn_size, drop_rate):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_ch)
        self.conv1 = nn.Conv2d(in_ch, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)
        self.drop_rate = drop_rate

    def forward(self, x):
        new = self.conv1(F.relu(self.norm1(x)))
        new = self.conv2(F.relu(self.norm2(new)))
        if self.drop_rate > 0:
            new = F.dropout(new, self.drop_rate, self.training)
        return cat([x, new], 1)


class _Transition(nn.Sequential):
    """BN-ReLU-conv1×1 (to out_ch) - 2×2 average pooling."""

    def __init__(self, in_ch, out_ch):
        super().__init__(OrderedDict(norm=nn.BatchNorm2d(in_ch), relu=nn.ReLU(),
                                     conv=nn.Conv2d(in_ch, out_ch, 1, bias=False),
                                     pool=nn.AvgPool2d(2)))


class DenseNet(nn.Module):
    """conv0 (3×3, ``num_init_features``) → dense blocks of ``blocks[i]`` layers with
    transitions between them → BN-ReLU → global average pool → classifier. The layer names
    (features.denseblock1.denselayer1.conv1, …) follow torchvision's."""

    def __init__(self, growth_rate=12, blocks=(6, 12, 8), bn_size=4, compression=0.5,
                 num_init_features=24, num_classes=10, in_channels=1, drop_rate=0.0):
        super().__init__()
        if not 0 < compression <= 1:
            raise ValueError(f"DenseNet: compression must be in (0, 1], got {compression}")
        self.in_channels = in_channels
        layers = OrderedDict(conv0=nn.Conv2d(in_channels, num_init_features, 3, padding=1,
                                             bias=False))
        width = num_init_features
        for i, n in enumerate(blocks, start=1):
            block = OrderedDict()
            for j in range(1, n + 1):
                block[f"denselayer{j}"] = _DenseLayer(width, growth_rate, bn_size, drop_rate)
                width += growth_rate
            layers[f"denseblock{i}"] = nn.Sequential(block)
            if i < len(blocks):
                out = int(width * compression)
                layers[f"transition{i}"] = _Transition(width, out)
                width = out
        layers["norm5"] = nn.BatchNorm2d(width)
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(width, num_classes)
        for m in self.modules():  # He init for the ReLU convs, zero classifier bias (torchvision)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, x):
        check_images("DenseNet", x, self.in_channels)
        x = F.relu(self.features(x)).mean((2, 3))  # global average pooling
        return self.classifier(x)
