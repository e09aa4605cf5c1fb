"""Convolutional networks for 28×28 images: LeNet-5 and a small modern CNN.

    conv: y[c_out, i, j] = b[c_out] + Σ_{c_in, u, v} w[c_out, c_in, u, v] · x[c_in, i+u, j+v]
    (cross-correlation, as in every deep learning library), then ReLU and 2×2 max pooling.

Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to document
recognition", Proc. IEEE 1998 (LeNet-5; here with ReLU and max pooling instead of scaled tanh and
trainable subsampling, and a plain linear output instead of RBF units).
"""
from ... import nn
from ...nn import functional as F


def check_images(model, x, channels, size=None):
    """Raise a clear error unless x is (N, channels, H, W) (with H = W = size if given)."""
    if x.ndim != 4 or x.shape[1] != channels or (size and tuple(x.shape[2:]) != (size, size)):
        hw = f"{size}, {size}" if size else "H, W"
        raise ValueError(f"{model}: expected images of shape (N, {channels}, {hw}), "
                         f"got {tuple(x.shape)}")


class LeNet5(nn.Module):
    """conv5×5(6, padding 2)-ReLU-pool → conv5×5(16)-ReLU-pool → 120 → 84 → classes
    (28×28 input; 61,706 parameters for 10 classes)."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.in_channels = in_channels
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=2)  # 28×28 → 28×28, pool → 14×14
        self.conv2 = nn.Conv2d(6, 16, 5)                      # 14×14 → 10×10, pool → 5×5
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        check_images("LeNet5", x, self.in_channels, 28)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def conv_bn_relu(in_ch, out_ch):
    """3×3 conv (padding 1, no bias: BN supplies the shift), BatchNorm2d, ReLU."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_ch), nn.ReLU())


class SmallCNN(nn.Module):
    """Per width w: two conv3×3-BN-ReLU blocks then 2×2 max pool; then global average pooling,
    dropout and one Linear. Defaults (widths 32, 64): 28×28 → 14×14 → 7×7, 65,834 parameters,
    meant to reach >= 92% test accuracy on Fashion-MNIST (VGG-style stages: K. Simonyan,
    A. Zisserman, 2015; global average pooling: M. Lin, Q. Chen, S. Yan, "Network in network",
    2014)."""

    def __init__(self, num_classes=10, in_channels=1, widths=(32, 64), dropout=0.3):
        super().__init__()
        self.in_channels = in_channels
        stages, width = [], in_channels
        for w in widths:
            stages.append(nn.Sequential(conv_bn_relu(width, w), conv_bn_relu(w, w),
                                        nn.MaxPool2d(2)))
            width = w
        self.features = nn.Sequential(*stages)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        check_images("SmallCNN", x, self.in_channels)
        x = self.features(x).mean((2, 3))  # global average pooling
        return self.fc(self.dropout(x))


class TwoConvNet(nn.Module):
    """Two conv5×5-BN-ReLU-maxpool stages and a fully connected head (the "2 Conv + pooling,
    < 100k parameters" design of the Fashion-MNIST benchmark): 28×28 → conv (padding 2) 28×28
    → pool 14×14 → conv 10×10 → pool 5×5 → flatten → Linear-ReLU-Dropout → Linear.
    Defaults (widths 16, 32, hidden 100): 94,406 parameters, about 3 MFLOPs per image, so it
    trains far faster on a CPU than ``SmallCNN`` (37 MFLOPs), whose global average pooling also
    throws away where in the image a feature was."""

    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32), hidden=100, dropout=0.3):
        super().__init__()
        self.in_channels = in_channels
        c1, c2 = widths
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=2, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, bias=False), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(c2 * 5 * 5, hidden), nn.ReLU(),
                                        nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x):
        check_images("TwoConvNet", x, self.in_channels, 28)
        return self.classifier(self.features(x).flatten(1))
