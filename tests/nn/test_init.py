"""nn.init: formulas, in-place/no-grad behaviour, generators, and default-init distributions
of Linear and Conv2d matching PyTorch's."""
import math

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn
from nablagrad.nn import init


def test_calculate_gain_matches_torch():
    for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                  ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swishy")


def _stats(t):
    a = t.detach().numpy().ravel().astype(np.float64)
    return float(a.mean()), float(a.std()), float(a.min()), float(a.max())


@pytest.mark.parametrize("fn,kw,shape", [
    ("xavier_uniform_", {"gain": 2.0}, (200, 300)),
    ("xavier_normal_", {}, (200, 300)),
    ("kaiming_uniform_", {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"}, (64, 32, 3, 3)),
    ("kaiming_normal_", {"nonlinearity": "relu"}, (64, 32, 3, 3)),
    ("uniform_", {"a": -2.0, "b": 3.0}, (300, 300)),
    ("normal_", {"mean": 1.0, "std": 0.5}, (300, 300)),
    ("trunc_normal_", {"std": 1.0, "a": -1.0, "b": 1.5}, (300, 300)),
])
def test_random_init_distribution_matches_torch(fn, kw, shape):
    ng.manual_seed(0)  # fixed draws: the bounds below are statistical
    torch.manual_seed(0)
    ours = ng.empty(*shape, requires_grad=True)
    theirs = torch.empty(*shape)
    out = getattr(init, fn)(ours, **kw)
    assert out is ours and ours.grad_fn is None and ours.requires_grad
    getattr(torch.nn.init, fn)(theirs, **kw)
    m1, s1, lo1, hi1 = _stats(ours)
    m2, s2, lo2, hi2 = _stats(theirs)
    assert abs(m1 - m2) < 5 * s2 * math.sqrt(2 / ours.numel())  # 5 standard errors
    assert s1 == pytest.approx(s2, rel=0.02)
    if "uniform" in fn or "trunc" in fn:  # bounded: same support
        assert lo1 == pytest.approx(lo2, abs=0.02 * s2) and hi1 == pytest.approx(hi2, abs=0.02 * s2)


def test_deterministic_init_and_generator():
    t = ng.empty(3, 4)
    init.eye_(t)
    np.testing.assert_array_equal(t.numpy(), np.eye(3, 4))
    init.constant_(t, 0.5)
    assert float(t.sum()) == 6
    init.ones_(t)
    init.zeros_(t)
    assert float(abs(t).sum()) == 0
    a, b = ng.empty(5, 5), ng.empty(5, 5)
    init.kaiming_normal_(a, generator=ng.Generator().manual_seed(3))
    init.kaiming_normal_(b, generator=ng.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ng.empty(4))


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2)])
def test_orthogonal(shape):
    t = ng.empty(*shape)
    init.orthogonal_(t, gain=2.0)
    q = t.numpy().reshape(shape[0], -1)
    small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(small, 4 * np.eye(small.shape[0]), atol=1e-5)


@pytest.mark.parametrize("ours,theirs", [
    (lambda: nn.Linear(400, 300), lambda: torch.nn.Linear(400, 300)),
    (lambda: nn.Conv2d(32, 64, 5), lambda: torch.nn.Conv2d(32, 64, 5)),
    (lambda: nn.Conv1d(16, 300, 3, groups=2), lambda: torch.nn.Conv1d(16, 300, 3, groups=2)),
    (lambda: nn.ConvTranspose2d(64, 40, 3), lambda: torch.nn.ConvTranspose2d(64, 40, 3)),
])
def test_default_init_statistics(ours, theirs):
    """Default weights ~ U(±1/√fan_in) (kaiming_uniform_ a=√5), bias ~ U(±1/√fan_in), like torch."""
    ng.manual_seed(0)  # fixed draws: the tolerances are statistical (a 40-element bias is small)
    torch.manual_seed(0)
    m, t = ours(), theirs()
    fan_in = math.prod(t.weight.shape[1:])
    bound = 1 / math.sqrt(fan_in)
    for name in ("weight", "bias"):
        mean1, std1, lo1, hi1 = _stats(getattr(m, name))
        mean2, std2, lo2, hi2 = _stats(getattr(t, name))
        assert lo1 >= -bound and hi1 <= bound  # exact support
        assert std1 == pytest.approx(bound / math.sqrt(3), rel=0.1 if name == "bias" else 0.02)
        assert std1 == pytest.approx(std2, rel=0.15 if name == "bias" else 0.03)
        assert abs(mean1) < 4 * std1 / math.sqrt(getattr(m, name).numel())
        assert hi1 > 0.9 * bound and lo1 < -0.9 * bound


def test_bilinear_and_embedding_default_init():
    b, tb = nn.Bilinear(50, 20, 300), torch.nn.Bilinear(50, 20, 300)
    bound = 1 / math.sqrt(50)
    for name in ("weight", "bias"):
        _, std1, lo1, hi1 = _stats(getattr(b, name))
        _, std2, _, _ = _stats(getattr(tb, name))
        assert -bound <= lo1 and hi1 <= bound and std1 == pytest.approx(std2, rel=0.1)
    e = nn.Embedding(300, 200, padding_idx=3)
    mean, std, _, _ = _stats(e.weight[4:])
    assert abs(mean) < 0.01 and std == pytest.approx(1.0, rel=0.02)
    assert float(abs(e.weight[3]).sum()) == 0
