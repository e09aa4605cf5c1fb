"""Vision models against torch twins: same state_dict keys, float64 outputs (train and eval mode),
parameter gradients and BatchNorm running statistics equal to PyTorch's; parameter counts,
output shapes and input-shape errors."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import nablagrad as ng
from nablagrad.models.vision import (MLP, DenseNet, LeNet5, PreActBlock, PreActResNet,
                                     SmallCNN, SoftmaxRegression, TwoConvNet)

# ---------------------------------------------------------------- torch twins (test only)


class TSoftmaxRegression(tnn.Module):
    def __init__(self, in_features=784, num_classes=10):
        super().__init__()
        self.flatten = tnn.Flatten()
        self.fc = tnn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(x))


class TMLP(tnn.Module):
    def __init__(self, in_features=784, hidden=(512, 512), num_classes=10, activation="relu",
                 dropout=0.0, batch_norm=False):
        super().__init__()
        act = {"relu": tnn.ReLU, "tanh": tnn.Tanh, "gelu": tnn.GELU}[activation]
        layers, width = [tnn.Flatten()], in_features
        for h in hidden:
            layers.append(tnn.Linear(width, h, bias=not batch_norm))
            if batch_norm:
                layers.append(tnn.BatchNorm1d(h))
            layers.append(act())
            if dropout > 0:
                layers.append(tnn.Dropout(dropout))
            width = h
        layers.append(tnn.Linear(width, num_classes))
        self.layers = tnn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class TLeNet5(tnn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_channels, 6, 5, padding=2)
        self.conv2 = tnn.Conv2d(6, 16, 5)
        self.fc1 = tnn.Linear(400, 120)
        self.fc2 = tnn.Linear(120, 84)
        self.fc3 = tnn.Linear(84, num_classes)

    def forward(self, x):
        x = TF.max_pool2d(TF.relu(self.conv1(x)), 2)
        x = TF.max_pool2d(TF.relu(self.conv2(x)), 2)
        return self.fc3(TF.relu(self.fc2(TF.relu(self.fc1(x.flatten(1))))))


def t_conv_bn_relu(i, o):
    return tnn.Sequential(tnn.Conv2d(i, o, 3, padding=1, bias=False), tnn.BatchNorm2d(o),
                          tnn.ReLU())


class TSmallCNN(tnn.Module):
    def __init__(self, num_classes=10, in_channels=1, widths=(32, 64), dropout=0.3):
        super().__init__()
        stages, width = [], in_channels
        for w in widths:
            stages.append(tnn.Sequential(t_conv_bn_relu(width, w), t_conv_bn_relu(w, w),
                                         tnn.MaxPool2d(2)))
            width = w
        self.features = tnn.Sequential(*stages)
        self.dropout = tnn.Dropout(dropout)
        self.fc = tnn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x).mean((2, 3))))


class TTwoConvNet(tnn.Module):
    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32), hidden=100, dropout=0.3):
        super().__init__()
        c1, c2 = widths
        self.features = tnn.Sequential(
            tnn.Conv2d(in_channels, c1, 5, padding=2, bias=False), tnn.BatchNorm2d(c1),
            tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(c1, c2, 5, bias=False), tnn.BatchNorm2d(c2), tnn.ReLU(), tnn.MaxPool2d(2))
        self.classifier = tnn.Sequential(tnn.Linear(c2 * 25, hidden), tnn.ReLU(),
                                         tnn.Dropout(dropout), tnn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class TPreActBlock(tnn.Module):
    def __init__(self, i, o, stride=1):
        super().__init__()
        self.bn1 = tnn.BatchNorm2d(i)
        self.conv1 = tnn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False)
        self.bn2 = tnn.BatchNorm2d(o)
        self.conv2 = tnn.Conv2d(o, o, 3, padding=1, bias=False)
        self.shortcut = (tnn.Conv2d(i, o, 1, stride=stride, bias=False)
                         if stride != 1 or i != o else None)

    def forward(self, x):
        out = TF.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(out)
        return self.conv2(TF.relu(self.bn2(self.conv1(out)))) + skip


class TPreActResNet(tnn.Module):
    def __init__(self, blocks=(2, 2, 2), widths=(32, 64, 128), num_classes=10, in_channels=1):
        super().__init__()
        self.stem = tnn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        stages, width = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            stages.append(tnn.Sequential(TPreActBlock(width, w, 1 if i == 0 else 2),
                                         *[TPreActBlock(w, w) for _ in range(n - 1)]))
            width = w
        self.stages = tnn.Sequential(*stages)
        self.bn = tnn.BatchNorm2d(width)
        self.fc = tnn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(TF.relu(self.bn(self.stages(self.stem(x)))).mean((2, 3)))


class TDenseLayer(tnn.Module):
    def __init__(self, i, k, bn_size):
        super().__init__()
        self.norm1 = tnn.BatchNorm2d(i)
        self.conv1 = tnn.Conv2d(i, bn_size * k, 1, bias=False)
        self.norm2 = tnn.BatchNorm2d(bn_size * k)
        self.conv2 = tnn.Conv2d(bn_size * k, k, 3, padding=1, bias=False)

    def forward(self, x):
        new = self.conv2(TF.relu(self.norm2(self.conv1(TF.relu(self.norm1(x))))))
        return torch.cat([x, new], 1)


class TDenseNet(tnn.Module):
    def __init__(self, growth_rate=12, blocks=(6, 12, 8), bn_size=4, compression=0.5,
                 num_init_features=24, num_classes=10, in_channels=1):
        super().__init__()
        layers = OrderedDict(conv0=tnn.Conv2d(in_channels, num_init_features, 3, padding=1,
                                              bias=False))
        width = num_init_features
        for i, n in enumerate(blocks, start=1):
            block = OrderedDict()
            for j in range(1, n + 1):
                block[f"denselayer{j}"] = TDenseLayer(width, growth_rate, bn_size)
                width += growth_rate
            layers[f"denseblock{i}"] = tnn.Sequential(block)
            if i < len(blocks):
                out = int(width * compression)
                layers[f"transition{i}"] = tnn.Sequential(OrderedDict(
                    norm=tnn.BatchNorm2d(width), relu=tnn.ReLU(),
                    conv=tnn.Conv2d(width, out, 1, bias=False), pool=tnn.AvgPool2d(2)))
                width = out
        layers["norm5"] = tnn.BatchNorm2d(width)
        self.features = tnn.Sequential(layers)
        self.classifier = tnn.Linear(width, num_classes)

    def forward(self, x):
        return self.classifier(TF.relu(self.features(x)).mean((2, 3)))


# ---------------------------------------------------------------- parity


def copy_into_torch(ours, twin):
    """Load our state_dict into the twin (float64 both); the keys must be identical."""
    ours.double()
    twin.double()
    sd = ours.state_dict()
    assert list(sd) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in sd.items()})


def numel(module):
    return sum(p.numel() for p in module.parameters())


def close(a, b, tol=1e-9):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def check_parity(ours, twin, shape, seed=0):
    """Train-mode forward + backward, then eval-mode forward, against the twin."""
    copy_into_torch(ours, twin)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    for train in (True, False):
        ours.train(train)
        twin.train(train)
        out, tout = ours(ng.tensor(x)), twin(torch.from_numpy(x))
        assert out.dtype == ng.float64 and tuple(out.shape) == tuple(tout.shape)
        close(out, tout)
        if train:
            g = rng.standard_normal(tuple(out.shape))
            out.backward(ng.tensor(g))
            tout.backward(torch.from_numpy(g))
            tparams = dict(twin.named_parameters())
            for name, p in ours.named_parameters():
                assert p.grad is not None, name
                close(p.grad, tparams[name].grad)
    tbufs = dict(twin.named_buffers())  # running statistics after the train step
    for name, b in ours.named_buffers():
        close(b, tbufs[name])


CASES = {
    "softmax_regression": (lambda: SoftmaxRegression(), lambda: TSoftmaxRegression(),
                           (3, 1, 28, 28)),
    "softmax_regression_small": (lambda: SoftmaxRegression(12, 4),
                                 lambda: TSoftmaxRegression(12, 4), (3, 12)),
    "mlp": (lambda: MLP(), lambda: TMLP(), (3, 1, 28, 28)),
    "mlp_bn_tanh": (lambda: MLP(20, (16, 8, 8), 5, "tanh", batch_norm=True),
                    lambda: TMLP(20, (16, 8, 8), 5, "tanh", batch_norm=True), (4, 20)),
    "mlp_gelu": (lambda: MLP(20, (16,), 3, "gelu"), lambda: TMLP(20, (16,), 3, "gelu"), (4, 20)),
    "lenet5": (lambda: LeNet5(), lambda: TLeNet5(), (2, 1, 28, 28)),
    "lenet5_rgb": (lambda: LeNet5(7, in_channels=3), lambda: TLeNet5(7, 3), (2, 3, 28, 28)),
    "small_cnn": (lambda: SmallCNN(dropout=0.0), lambda: TSmallCNN(dropout=0.0), (2, 1, 28, 28)),
    "small_cnn_narrow": (lambda: SmallCNN(4, 2, (4, 6, 8), dropout=0.0),
                         lambda: TSmallCNN(4, 2, (4, 6, 8), dropout=0.0), (3, 2, 16, 16)),
    "two_conv_net": (lambda: TwoConvNet(dropout=0.0), lambda: TTwoConvNet(dropout=0.0),
                     (2, 1, 28, 28)),
    "two_conv_net_rgb": (lambda: TwoConvNet(4, 3, (6, 8), 12, 0.0),
                         lambda: TTwoConvNet(4, 3, (6, 8), 12, 0.0), (3, 3, 28, 28)),
    "preact_resnet": (lambda: PreActResNet(), lambda: TPreActResNet(), (2, 1, 28, 28)),
    "preact_resnet_small": (lambda: PreActResNet((1, 2), (4, 8), 3, 2),
                            lambda: TPreActResNet((1, 2), (4, 8), 3, 2), (3, 2, 12, 12)),
    "densenet": (lambda: DenseNet(), lambda: TDenseNet(), (2, 1, 28, 28)),
    "densenet_small": (lambda: DenseNet(4, (2, 3, 2), 2, 0.5, 6, 5, 3),
                       lambda: TDenseNet(4, (2, 3, 2), 2, 0.5, 6, 5, 3), (3, 3, 16, 16)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_parity_with_torch(name):
    make, make_twin, shape = CASES[name]
    ng.manual_seed(0)
    check_parity(make(), make_twin(), shape)


def test_preact_block_parity_and_shortcut():
    assert PreActBlock(8, 8, 1).shortcut is None
    assert PreActBlock(8, 8, 2).shortcut.weight.shape == (8, 8, 1, 1)
    assert PreActBlock(4, 8, 1).shortcut.weight.shape == (8, 4, 1, 1)
    for args in ((4, 4, 1), (4, 6, 2), (4, 6, 1)):
        block = PreActBlock(*args)
        check_parity(block, TPreActBlock(*args), (2, 4, 8, 8))
        assert block(ng.zeros(1, 4, 8, 8, dtype=ng.float64)).shape == (1, args[1], 8 // args[2],
                                                                        8 // args[2])


def test_small_cnn_dropout_matches_torch_in_eval_mode():
    ours, twin = SmallCNN(), TSmallCNN()
    assert ours.dropout.p == 0.3
    copy_into_torch(ours, twin)
    ours.eval()
    twin.eval()
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28))
    close(ours(ng.tensor(x)), twin(torch.from_numpy(x)))
    ours.train()
    a, b = ours(ng.tensor(x)), ours(ng.tensor(x))  # dropout on in train mode
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())


def test_parameter_counts():
    assert numel(SoftmaxRegression()) == 784 * 10 + 10
    assert numel(MLP()) == (784 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10) == 669_706
    assert numel(LeNet5()) == 156 + 2416 + 48120 + 10164 + 850 == 61_706
    assert numel(SmallCNN()) <= 100_000
    assert numel(SmallCNN()) == numel(TSmallCNN()) == 65_834
    assert numel(TwoConvNet()) == numel(TTwoConvNet()) == 94_406
    assert numel(PreActResNet()) == numel(TPreActResNet())
    assert numel(DenseNet()) == numel(TDenseNet())
    assert numel(MLP(batch_norm=True)) == 784 * 512 + 2 * 512 + 512 * 512 + 2 * 512 + 5130


def test_mlp_layout():
    m = MLP(10, (8, 6), 3, dropout=0.5, batch_norm=True)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout",
                     "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert m.layers[1].bias is None and m.layers[-1].bias is not None
    with pytest.raises(ValueError, match="MLP: unknown activation 'swoosh'"):
        MLP(activation="swoosh")


def test_densenet_channels():
    m = DenseNet()
    # 24 + 6·12 = 96 → 48; 48 + 12·12 = 192 → 96; 96 + 8·12 = 192
    assert m.features.transition1.conv.weight.shape == (48, 96, 1, 1)
    assert m.features.transition2.conv.weight.shape == (96, 192, 1, 1)
    assert m.classifier.weight.shape == (10, 192)
    m.eval()
    assert m(ng.zeros(1, 1, 28, 28)).shape == (1, 10)
    with pytest.raises(ValueError, match="compression"):
        DenseNet(compression=0.0)


@pytest.mark.parametrize("model, bad, message", [
    (lambda: SoftmaxRegression(), (2, 1, 27, 28), r"SoftmaxRegression.*784.*\(2, 1, 27, 28\)"),
    (lambda: MLP(), (2, 3, 28, 28), r"MLP.*784.*\(2, 3, 28, 28\)"),
    (lambda: LeNet5(), (2, 1, 32, 32), r"LeNet5.*\(N, 1, 28, 28\).*\(2, 1, 32, 32\)"),
    (lambda: SmallCNN(), (1, 28, 28), r"SmallCNN.*\(N, 1, H, W\).*\(1, 28, 28\)"),
    (lambda: PreActResNet(), (2, 3, 28, 28), r"PreActResNet.*\(N, 1, H, W\)"),
    (lambda: DenseNet(in_channels=3), (2, 1, 28, 28), r"DenseNet.*\(N, 3, H, W\)"),
])
def test_input_shape_errors(model, bad, message):
    with pytest.raises(ValueError, match=message):
        model()(ng.zeros(*bad))


def test_outputs_are_logits_of_the_right_shape():
    x = ng.randn(2, 1, 28, 28)
    for m in (SoftmaxRegression(), MLP(), LeNet5(), SmallCNN(), PreActResNet(num_classes=7)):
        m.eval()
        out = m(x)
        assert out.dtype == ng.float32 and out.shape[0] == 2
    assert PreActResNet(num_classes=7).eval()(x).shape == (2, 7)


def test_densenet_drop_rate_only_acts_in_train_mode():
    ng.manual_seed(0)
    plain = DenseNet(4, (2, 2), 2, 0.5, 6, 5, 1)
    dropped = DenseNet(4, (2, 2), 2, 0.5, 6, 5, 1, drop_rate=0.5)
    dropped.load_state_dict(plain.state_dict())
    x = ng.randn(2, 1, 8, 8)
    plain.eval()
    dropped.eval()
    assert ng.equal(plain(x), dropped(x))
    plain.train()
    dropped.train()
    assert not ng.allclose(plain(x), dropped(x))
