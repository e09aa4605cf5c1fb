"""nn.utils.parametrize against torch.nn.utils.parametrize: properties, state_dict keys,
right_inverse, caching, removal, gradients into ``original``, errors."""
import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn
from nablagrad.nn.utils import parametrize as P

TP = torch.nn.utils.parametrize


def np_of(t):
    return t.detach().numpy()


def make_symmetric(lib):
    class Symmetric(lib.nn.Module):
        """X ↦ triu(X) + triu(X, 1)ᵀ; right_inverse(A) = triu(A)."""

        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()
    return Symmetric


class Scale(nn.Module):
    """X ↦ 2X, with a buffer (to check the keys of chained parametrizations)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("factor", ng.tensor(2.0, dtype=ng.float64))

    def forward(self, X):
        return X * self.factor

    def right_inverse(self, A):
        return A / self.factor


class TScale(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("factor", torch.tensor(2.0, dtype=torch.float64))

    def forward(self, X):
        return X * self.factor

    def right_inverse(self, A):
        return A / self.factor


def make_rank_one(lib):
    class RankOne(lib.nn.Module):
        """(x, y) ↦ x yᵀ; right_inverse returns two tensors → original0, original1."""

        def forward(self, x, y):
            return x.unsqueeze(-1) * y.unsqueeze(-2)

        def right_inverse(self, Z):
            return Z[:, 0].clone(), Z[0, :].clone() / Z[0, 0]
    return RankOne


def pair_linear(n_in=3, n_out=3, seed=0):
    torch.manual_seed(seed)
    t = torch.nn.Linear(n_in, n_out).double()
    m = nn.Linear(n_in, n_out).double()
    m.load_state_dict({k: ng.tensor(v.numpy()) for k, v in t.state_dict().items()})
    return m, t


def load_from(m, t):
    m.load_state_dict({k: ng.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})


def check_forward_backward(m, t, x, names):
    y, ty = m(ng.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(np_of(y), np_of(ty), rtol=1e-12, atol=1e-13)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    y.backward(ng.tensor(g))
    ty.backward(torch.tensor(g))
    tp, mp = dict(t.named_parameters()), dict(m.named_parameters())
    assert sorted(mp) == sorted(tp) == sorted(names)
    for k in names:
        np.testing.assert_allclose(mp[k].grad.numpy(), tp[k].grad.numpy(), rtol=1e-12, atol=1e-13)


def test_register_parametrization_matches_torch():
    m, t = pair_linear()
    w = m.weight
    P.register_parametrization(m, "weight", make_symmetric(ng)())
    TP.register_parametrization(t, "weight", make_symmetric(torch)())
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert type(nn.Linear(2, 2)) is nn.Linear  # other instances untouched
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert m.parametrizations.weight.original is w  # same Parameter object, now triu(W)
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    assert P.type_before_parametrizations(m) is nn.Linear
    np.testing.assert_allclose(np_of(m.weight), np_of(t.weight), rtol=1e-15)
    np.testing.assert_allclose(np_of(m.weight), np_of(m.weight).T)
    assert m.weight.grad_fn is not None and "weight" not in m._parameters
    x = np.random.default_rng(0).standard_normal((4, 3))
    check_forward_backward(m, t, x, ["bias", "parametrizations.weight.original"])


def test_right_inverse_assignment_and_chaining():
    m, t = pair_linear(seed=1)
    for lib, mod, scale in ((ng, m, Scale), (torch, t, TScale)):
        lib.nn.utils.parametrize.register_parametrization(mod, "weight", make_symmetric(lib)())
        lib.nn.utils.parametrize.register_parametrization(mod, "weight", scale())
    keys = ["bias", "parametrizations.weight.original", "parametrizations.weight.1.factor"]
    assert list(m.state_dict()) == list(t.state_dict()) == keys
    assert len(m.parametrizations.weight) == 2
    a = np.random.default_rng(2).standard_normal((3, 3))
    a = a + a.T
    m.weight = ng.tensor(a)
    t.weight = torch.tensor(a)
    np.testing.assert_allclose(np_of(m.weight), a, rtol=1e-14)
    np.testing.assert_allclose(np_of(m.parametrizations.weight.original),
                               np_of(t.parametrizations.weight.original), rtol=1e-15)
    x = np.random.default_rng(3).standard_normal((2, 3))
    check_forward_backward(m, t, x, ["bias", "parametrizations.weight.original"])


def test_multiple_originals():
    m, t = pair_linear(seed=2)
    with torch.no_grad():
        t.weight.copy_(torch.outer(torch.tensor([1.0, 2.0, -1.0]), torch.tensor([0.5, 1.0, 3.0])))
    load_from(m, t)
    P.register_parametrization(m, "weight", make_rank_one(ng)())
    TP.register_parametrization(t, "weight", make_rank_one(torch)())
    keys = ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    assert list(m.state_dict()) == list(t.state_dict()) == keys
    assert isinstance(m.parametrizations.weight.original0, nn.Parameter)
    check_forward_backward(m, t, np.ones((2, 3)), keys)
    with pytest.raises(ValueError, match="sequence of tensors"):
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
    P.remove_parametrizations(m, "weight")
    TP.remove_parametrizations(t, "weight")
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(np_of(m.weight), np_of(t.weight), rtol=1e-15)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    m, t = pair_linear(seed=3)
    w = m.weight
    P.register_parametrization(m, "weight", make_symmetric(ng)())
    TP.register_parametrization(t, "weight", make_symmetric(torch)())
    P.register_parametrization(m, "bias", Scale())
    TP.register_parametrization(t, "bias", TScale())
    P.remove_parametrizations(m, "weight", leave_parametrized=leave)
    TP.remove_parametrizations(t, "weight", leave_parametrized=leave)
    assert type(m).__name__ == "ParametrizedLinear" and P.is_parametrized(m, "bias")
    assert list(m.state_dict()) == list(t.state_dict())
    P.remove_parametrizations(m, "bias", leave_parametrized=leave)
    TP.remove_parametrizations(t, "bias", leave_parametrized=leave)
    assert type(m) is nn.Linear and not hasattr(m, "parametrizations")
    assert m.weight is w and isinstance(m.weight, nn.Parameter) and m.weight.grad_fn is None
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-15)


def test_parametrized_buffer():
    m, t = pair_linear(seed=4)
    m.register_buffer("scale", ng.tensor([1.0, -2.0, 3.0], dtype=ng.float64))
    t.register_buffer("scale", torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    P.register_parametrization(m, "scale", Scale())
    TP.register_parametrization(t, "scale", TScale())
    assert list(m.state_dict()) == list(t.state_dict())
    assert dict(m.named_buffers()).keys() == dict(t.named_buffers()).keys()
    np.testing.assert_allclose(np_of(m.scale), np_of(t.scale))
    assert not m.scale.requires_grad


def test_cached_computes_once():
    m, _ = pair_linear(seed=5)
    P.register_parametrization(m, "weight", make_symmetric(ng)())
    assert m.weight is not m.weight
    with P.cached():
        w1 = m.weight
        with P.cached():
            assert m.weight is w1
        assert m.weight is w1
    assert m.weight is not w1 and not P._cache


def test_gradient_flows_to_original_double_backward():
    m, _ = pair_linear(seed=6)
    P.register_parametrization(m, "weight", make_symmetric(ng)())
    orig = m.parametrizations.weight.original
    (m.weight ** 3).sum().backward()
    w = np_of(m.weight)
    # d/dX Σ f(X)³ with f(X) = triu(X) + triu(X,1)ᵀ: 3w² on the diagonal, 6w² above, 0 below
    expected = np.triu(3 * w ** 2 * (2 - np.eye(3)))
    np.testing.assert_allclose(orig.grad.numpy(), expected, rtol=1e-12)
    assert ng.autograd.gradgradcheck(lambda o: make_symmetric(ng)()(o) ** 3,
                                     (ng.randn(3, 3, dtype=ng.float64, requires_grad=True),))


def test_errors():
    m, _ = pair_linear(seed=7)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element with name 'nope'"):
        P.register_parametrization(m, "nope", Scale())

    class Shrink(nn.Module):
        def forward(self, X):
            return X[:2]

    class ToFloat32(nn.Module):
        def forward(self, X):
            return X.float()

    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(m, "weight", Shrink())
    with pytest.raises(ValueError, match="may not change the dtype"):
        P.register_parametrization(m, "weight", ToFloat32())
    assert type(m) is nn.Linear and "weight" in m._parameters  # nothing half-registered
    P.register_parametrization(m, "weight", Shrink(), unsafe=True)
    assert tuple(m.weight.shape) == (2, 3)
    with pytest.raises(RuntimeError, match="Shrink does not implement right_inverse"):
        m.weight = ng.zeros(2, 3, dtype=ng.float64)
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        P.remove_parametrizations(m, "bias")
    with pytest.raises(ValueError, match="may not change the dtype"):  # on an already parametrized tensor
        P.register_parametrization(m, "weight", ToFloat32())
    assert len(m.parametrizations.weight) == 1


# ------------------------------------------------------------------ parametrizations.orthogonal
ORTH_CASES = [((4, 4), None, True), ((5, 3), None, True), ((3, 5), None, True),
              ((4, 4), "cayley", True), ((5, 3), "matrix_exp", True), ((3, 5), "cayley", True),
              ((5, 3), "householder", False), ((3, 5), "householder", False),
              ((4, 4), "matrix_exp", False), ((4, 4), "cayley", False)]


@pytest.mark.parametrize("shape,omap,triv", ORTH_CASES)
def test_orthogonal_matches_torch(shape, omap, triv):
    from nablagrad.nn.utils.parametrizations import orthogonal
    torch.manual_seed(0)
    t = torch.nn.Linear(shape[1], shape[0]).double()
    m = nn.Linear(shape[1], shape[0]).double()
    load_from(m, t)
    orthogonal(m, orthogonal_map=omap, use_trivialization=triv)
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map=omap, use_trivialization=triv)
    assert list(m.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(np_of(m.weight), np_of(t.weight), atol=1e-13)
    with torch.no_grad():  # move away from the start (off the diagonal: it holds householder's signs)
        t.parametrizations.weight.original.add_(0.3 * torch.randn(shape, dtype=torch.float64).tril(-1))
    load_from(m, t)  # also copies torch's base (random completion for non-square weights)
    W = np_of(m.weight)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    check_forward_backward(m, t, np.random.default_rng(0).standard_normal((2, shape[1])),
                           list(dict(t.named_parameters())))


def test_orthogonal_assign_and_double_backward():
    from nablagrad.nn.utils import parametrizations as PZ
    m = PZ.orthogonal(nn.Linear(3, 3).double())
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    m.weight = ng.tensor(q)  # orthogonal already: stored as the new base, original = -I
    np.testing.assert_allclose(np_of(m.weight), q, atol=1e-14)
    np.testing.assert_array_equal(np_of(m.parametrizations.weight.original), -np.eye(3))
    a = ng.randn(3, 3, dtype=ng.float64, requires_grad=True)
    assert ng.autograd.gradgradcheck(lambda a: PZ._matrix_exp(a - a.mT), (a,))
    h = ng.randn(4, 2, dtype=ng.float64, requires_grad=True)
    assert ng.autograd.gradgradcheck(
        lambda h: PZ._householder_product(h, 2.0 / (1.0 + (h.tril(-1) ** 2).sum(-2))), (h,))
    with pytest.raises(ValueError, match=r"shape \(3, 3\). Got a tensor of shape \(2, 3\)"):
        m.weight = ng.zeros(2, 3, dtype=ng.float64)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        PZ.orthogonal(nn.Linear(3, 3), name="bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp"'):
        PZ.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    m2 = PZ.orthogonal(nn.Linear(3, 3).double(), use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m2.weight = ng.tensor(q)


@pytest.mark.parametrize("omap,triv", [(None, True), ("householder", False), ("cayley", True)])
def test_orthogonal_batch_of_matrices(omap, triv):
    from nablagrad.nn.utils.parametrizations import orthogonal

    class Holder(nn.Module):
        def __init__(self, w):
            super().__init__()
            self.w = nn.Parameter(ng.tensor(w))

    class THolder(torch.nn.Module):
        def __init__(self, w):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor(w))

    w = np.random.default_rng(0).standard_normal((2, 4, 3))
    m = orthogonal(Holder(w), "w", omap, use_trivialization=triv)
    t = torch.nn.utils.parametrizations.orthogonal(THolder(w), "w", omap, use_trivialization=triv)
    with torch.no_grad():
        t.parametrizations.w.original.add_(0.3 * torch.randn(2, 4, 3, dtype=torch.float64).tril(-1))
    load_from(m, t)
    np.testing.assert_allclose(np_of(m.w), np_of(t.w), atol=1e-13)
    (m.w ** 2 * ng.arange(24.0).view(2, 4, 3)).sum().backward()
    (t.w ** 2 * torch.arange(24.0).view(2, 4, 3)).sum().backward()
    np.testing.assert_allclose(m.parametrizations.w.original.grad.numpy(),
                               t.parametrizations.w.original.grad.numpy(), atol=1e-12)
