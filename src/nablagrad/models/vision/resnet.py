"""Pre-activation ResNet for small images.

    x_{l+1} = shortcut(x_l) + F(x_l),   F = conv3×3 ∘ ReLU ∘ BN ∘ conv3×3 ∘ ReLU ∘ BN

The identity path carries the signal (and the gradient, ∂x_{l+1}/∂x_l = I + ∂F/∂x_l) unchanged
from block to block. K. He, X. Zhang, S. Ren, J. Sun, "Identity mappings in deep residual
networks", ECCV 2016 (after "Deep residual learning for image recognition", CVPR 2016).
"""
from ... import nn
from ...nn import functional as F
from .cnn import check_images


class PreActBlock(nn.Module):
    """BN-ReLU-conv3×3(stride)-BN-ReLU-conv3×3, added to the input. When the shape changes
    (stride ≠ 1 or in_ch ≠ out_ch) the shortcut is a strided 1×1 conv of the pre-activated
    input, relu(bn1(x)), as in the paper's code."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)
        else:
            self.shortcut = None

    def forward(self, x):
        out = F.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class PreActResNet(nn.Module):
    """Stem conv3×3 → stages of ``blocks[i]`` PreActBlocks of width ``widths[i]`` (the first
    block of every stage but the first has stride 2) → BN-ReLU → global average pool → fc.
    Defaults on 28×28 images: 28 → 14 → 7, 2+2·(2+2+2) = 14 weight layers."""

    def __init__(self, blocks=(2, 2, 2), widths=(32, 64, 128), num_classes=10, in_channels=1):
        super().__init__()
        if len(blocks) != len(widths):
            raise ValueError(f"PreActResNet: blocks {blocks} and widths {widths} must have "
                             f"the same length")
        self.in_channels = in_channels
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        stages, width = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            stage = [PreActBlock(width, w, 1 if i == 0 else 2)]
            stage += [PreActBlock(w, w) for _ in range(n - 1)]
            stages.append(nn.Sequential(*stage))
            width = w
        self.stages = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, num_classes)
        for m in self.modules():  # He init for the ReLU convs (He et al. 2015)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        check_images("PreActResNet", x, self.in_channels)
        x = self.stages(self.stem(x))
        x = F.relu(self.bn(x)).mean((2, 3))  # global average pooling
        return self.fc(x)
