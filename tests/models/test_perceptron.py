"""The perceptron, the PLA and Novikoff's bound; the linearly separable toy data."""
import numpy as np
import pytest

import nablagrad as ng
from nablagrad.data.datasets import linearly_separable
from nablagrad.models.vision import PLAResult, Perceptron, novikoff_bound


def gen(seed):
    return ng.Generator().manual_seed(seed)


@pytest.mark.parametrize("n, dim, margin", [(200, 2, 0.1), (50, 5, 0.05), (30, 1, 0.3)])
def test_linearly_separable_data(n, dim, margin):
    x, y, w = linearly_separable(n, dim, margin, generator=gen(1))
    assert x.shape == (n, dim) and y.shape == (n,) and w.shape == (dim,)
    assert x.dtype == y.dtype == w.dtype == ng.float32
    xs, ys, ws = x.numpy(), y.numpy(), w.numpy()
    assert np.all(np.abs(xs) <= 1)
    assert np.linalg.norm(ws) == pytest.approx(1, abs=1e-6)
    assert set(np.unique(ys)) <= {-1.0, 1.0}
    assert np.all(ys * (xs @ ws) >= margin - 1e-6)  # the margin, as documented
    x2, y2, w2 = linearly_separable(n, dim, margin, generator=gen(1))
    assert np.array_equal(xs, x2.numpy()) and np.array_equal(ws, w2.numpy())


def test_linearly_separable_fills_the_cube_outside_the_slab():
    x, y, w = linearly_separable(2000, 2, 0.2, generator=gen(2))
    d = x.numpy() @ w.numpy()
    assert d.min() < -0.8 and d.max() > 0.8 and np.abs(d).min() < 0.25
    assert 0.3 < (y.numpy() > 0).mean() < 0.7


@pytest.mark.parametrize("kwargs", [dict(margin=1.0), dict(margin=-0.1), dict(n=0), dict(dim=0)])
def test_linearly_separable_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="linearly_separable"):
        linearly_separable(**kwargs)


def test_forward_is_sign_with_ties_to_plus_one():
    p = Perceptron(2)
    assert p.weight.shape == (2,) and p.bias.shape == () and float(p.weight.abs().sum()) == 0
    with ng.no_grad():
        p.weight.copy_(ng.tensor([1.0, -2.0]))
        p.bias.fill_(0.5)
    out = p(ng.tensor([[1.0, 0.0], [0.0, 1.0], [1.5, 1.0]]))  # scores 1.5, -1.5, 0
    assert out.tolist() == [1.0, -1.0, 1.0]
    with pytest.raises(ValueError, match=r"Perceptron.forward.*\(n, 2\).*\(3,\)"):
        p(ng.tensor([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("seed, dim, margin", [(0, 2, 0.1), (3, 2, 0.02), (4, 6, 0.05)])
def test_pla_converges_within_novikoff_bound(seed, dim, margin):
    x, y, w = linearly_separable(200, dim, margin, generator=gen(seed))
    p = Perceptron(dim)
    result = p.fit_pla(x, y, max_epochs=1000)
    assert isinstance(result, PLAResult)
    assert result.converged and result.mistakes_per_epoch[-1] == 0
    assert result.epochs == len(result.mistakes_per_epoch)
    assert result.updates == sum(result.mistakes_per_epoch) > 0
    assert result.updates <= novikoff_bound(x, y, w, 0.0)
    assert ng.equal(p(x), y)
    assert p.weight.grad is None and p.weight.requires_grad and p.weight.grad_fn is None


def test_pla_does_not_converge_on_xor():
    x = ng.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = ng.tensor([-1.0, -1.0, 1.0, 1.0])
    result = Perceptron(2).fit_pla(x, y, max_epochs=25)
    assert not result.converged
    assert result.epochs == 25 and len(result.mistakes_per_epoch) == 25
    assert all(m > 0 for m in result.mistakes_per_epoch)


def test_pla_rule_by_hand():
    # point 0 is a mistake at w = 0 (a tie): w = y0 x0 = (1, 2), b = 1; then
    # y1 (w·x1 + b) = -(-3 + 1) = 2 > 0, no mistake; epoch 2 has none
    x = ng.tensor([[1.0, 2.0], [-1.0, -1.0]])
    y = ng.tensor([1.0, -1.0])
    p = Perceptron(2)
    result = p.fit_pla(x, y)
    assert result == PLAResult(1, 2, True, [1, 0])
    assert p.weight.tolist() == [1.0, 2.0] and p.bias.item() == 1.0


def test_pla_bad_labels():
    with pytest.raises(ValueError, match="fit_pla.*±1"):
        Perceptron(2).fit_pla(ng.zeros(3, 2), ng.tensor([0.0, 1.0, 1.0]))


def test_novikoff_bound_by_hand():
    x = np.array([[2.0, 0.0], [-2.0, 0.0]])
    y = np.array([1.0, -1.0])
    # R = ‖(2, 0, 1)‖ = √5; (w, b) = (3, 0, 0): γ = 2·3/3 = 2 → (R/γ)² = 5/4
    assert novikoff_bound(x, y, np.array([3.0, 0.0]), 0.0) == pytest.approx(1.25)
    assert novikoff_bound(ng.tensor(x), ng.tensor(y), ng.tensor([3.0, 0.0]),
                          ng.tensor(0.0)) == pytest.approx(1.25)
    # a bias lowers γ: (1, 0, 1)/√2 has margins (3, 1)/√2
    assert novikoff_bound(x, y, np.array([1.0, 0.0]), 1.0) == pytest.approx(5 / 0.5)
    with pytest.raises(ValueError, match="does not separate"):
        novikoff_bound(x, y, np.array([-1.0, 0.0]), 0.0)
