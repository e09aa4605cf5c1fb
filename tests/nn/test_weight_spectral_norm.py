"""weight_norm and spectral_norm (parametrizations and the older hook-based versions) against
torch: state_dict keys, outputs, gradients, power-iteration buffers over several forwards."""
import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn
from nablagrad.nn import utils as U
from nablagrad.nn.utils import parametrizations as P, parametrize

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated:FutureWarning")  # torch's old weight_norm
TU = torch.nn.utils


def np_of(t):
    return t.detach().numpy()


def close(a, b, rtol=1e-11, atol=1e-12):
    np.testing.assert_allclose(np_of(a), np_of(b), rtol=rtol, atol=atol)


MODULES = {
    "linear": (lambda lib: lib.nn.Linear(4, 3), (2, 4)),
    "conv2d": (lambda lib: lib.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
    "convT2d": (lambda lib: lib.nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4)),
}


def pair(kind, seed=0):
    make, xshape = MODULES[kind]
    torch.manual_seed(seed)
    t = make(torch).double()
    m = make(ng).double()
    m.load_state_dict({k: ng.tensor(v.numpy()) for k, v in t.state_dict().items()})
    return m, t, np.random.default_rng(seed).standard_normal(xshape)


def copy_state(m, t):
    assert list(m.state_dict()) == list(t.state_dict())
    for (k, a), b in zip(m.state_dict().items(), t.state_dict().values()):
        assert tuple(a.shape) == tuple(b.shape), k
    m.load_state_dict({k: ng.tensor(v.numpy()) for k, v in t.state_dict().items()})


def forward_backward(m, t, x, seed=0):
    """One forward + backward in both; compares outputs and every parameter's grad."""
    m.zero_grad()
    t.zero_grad()
    xi, txi = ng.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(xi), t(txi)
    close(y, ty)
    g = np.random.default_rng(seed).standard_normal(tuple(ty.shape))
    y.backward(ng.tensor(g))
    ty.backward(torch.tensor(g))
    close(xi.grad, txi.grad)
    tp = dict(t.named_parameters())
    for k, p in m.named_parameters():
        close(p.grad, tp[k].grad)


# ------------------------------------------------------------------ parametrizations.weight_norm
@pytest.mark.parametrize("kind", ["linear", "conv2d", "convT2d"])
@pytest.mark.parametrize("dim", [0, 1, None, -1, -2])
def test_weight_norm_parametrization_matches_torch(kind, dim):
    m, t, x = pair(kind)
    w = np_of(m.weight).copy()
    P.weight_norm(m, dim=dim)
    TU.parametrizations.weight_norm(t, dim=dim)
    assert list(m.state_dict()) == list(t.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    for k, v in t.state_dict().items():
        close(m.state_dict()[k], v, rtol=1e-14)
    np.testing.assert_allclose(np_of(m.weight), w, rtol=1e-13)  # the value is unchanged
    forward_backward(m, t, x)
    parametrize.remove_parametrizations(m, "weight")
    TU.parametrize.remove_parametrizations(t, "weight")
    assert list(m.state_dict()) == list(t.state_dict())
    close(m.weight, t.weight)


def test_weight_norm_double_backward():
    g = ng.randn(3, 1, dtype=ng.float64, requires_grad=True)
    v = ng.randn(3, 4, dtype=ng.float64, requires_grad=True)
    x = ng.randn(2, 4, dtype=ng.float64)
    wn = P._WeightNorm(0)
    assert ng.autograd.gradcheck(lambda g, v: x @ wn(g, v).T, (g, v))
    assert ng.autograd.gradgradcheck(lambda g, v: x @ wn(g, v).T, (g, v))


def test_weight_norm_direction_and_length():
    m = P.weight_norm(nn.Linear(5, 3).double())
    pl = m.parametrizations.weight
    with ng.no_grad():
        pl.original0.copy_(ng.tensor([[1.0], [2.0], [3.0]], dtype=ng.float64))
    np.testing.assert_allclose(np.linalg.norm(np_of(m.weight), axis=1), [1, 2, 3], rtol=1e-13)
    v = np_of(pl.original1)
    np.testing.assert_allclose(np_of(m.weight), v / np.linalg.norm(v, axis=1, keepdims=True)
                               * np.array([[1.0], [2.0], [3.0]]), rtol=1e-13)


# ------------------------------------------------------------------ parametrizations.spectral_norm
@pytest.mark.parametrize("kind,n_iter,dim", [("linear", 1, None), ("conv2d", 2, None),
                                             ("convT2d", 1, None), ("conv2d", 1, 2),
                                             ("linear", 3, -1)])
def test_spectral_norm_parametrization_matches_torch(kind, n_iter, dim):
    m, t, x = pair(kind)
    P.spectral_norm(m, n_power_iterations=n_iter, dim=dim)
    TU.parametrizations.spectral_norm(t, n_power_iterations=n_iter, dim=dim)
    assert list(m.state_dict()) == list(t.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
        "parametrizations.weight.0._v"]
    copy_state(m, t)  # torch's random start vectors for u and v
    for step in range(3):  # training mode: each forward runs power iterations on u, v
        forward_backward(m, t, x, seed=step)
        for k, v in t.state_dict().items():
            close(m.state_dict()[k], v)
    m.eval()
    t.eval()
    u = np_of(m.parametrizations.weight[0]._u).copy()
    forward_backward(m, t, x)
    np.testing.assert_array_equal(np_of(m.parametrizations.weight[0]._u), u)  # frozen in eval
    close(m.weight, t.weight)


def test_spectral_norm_converges_to_top_singular_value():
    ng.manual_seed(0)
    m = P.spectral_norm(nn.Linear(6, 4).double())
    for _ in range(100):
        w = m.weight
    np.testing.assert_allclose(np.linalg.svd(np_of(w), compute_uv=False)[0], 1.0, rtol=1e-6)
    b = P.spectral_norm(nn.Linear(3, 5).double(), name="bias")  # 1-d: plain normalization
    np.testing.assert_allclose(np.linalg.norm(np_of(b.bias)), 1.0, rtol=1e-13)


def test_spectral_norm_parametrization_errors():
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
        P.spectral_norm(nn.Linear(2, 3), name="nope")
    with pytest.raises(IndexError, match=r"range of \[-2, 1\] but got 2"):
        P.spectral_norm(nn.Linear(2, 3), dim=2)
    with pytest.raises(ValueError, match="n_power_iterations=0"):
        P.spectral_norm(nn.Linear(2, 3), n_power_iterations=0)


# ------------------------------------------------------------------ hook-based weight_norm
@pytest.mark.parametrize("kind,dim", [("linear", 0), ("conv2d", 1), ("convT2d", None)])
def test_old_weight_norm_matches_torch(kind, dim):
    m, t, x = pair(kind)
    U.weight_norm(m, dim=dim)
    TU.weight_norm(t, dim=dim)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight_g", "weight_v"]
    for k, v in t.state_dict().items():
        close(m.state_dict()[k], v, rtol=1e-14)
    with torch.no_grad():
        t.weight_g.mul_(1.5)  # the pre-hook must recompute weight from the new g
    copy_state(m, t)
    forward_backward(m, t, x)
    close(m.weight, t.weight)
    U.remove_weight_norm(m)
    TU.remove_weight_norm(t)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    assert isinstance(m.weight, nn.Parameter)
    close(m.weight, t.weight)


def test_old_weight_norm_errors():
    m = U.weight_norm(nn.Linear(2, 3))
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        U.weight_norm(m)
    with pytest.raises(ValueError, match="weight_norm of 'bias' not found"):
        U.remove_weight_norm(m, "bias")
    with pytest.raises(ValueError, match="has no parameter 'nope'"):
        U.weight_norm(nn.Linear(2, 3), name="nope")


# ------------------------------------------------------------------ hook-based spectral_norm
@pytest.mark.parametrize("kind,n_iter", [("linear", 1), ("conv2d", 2), ("convT2d", 1)])
def test_old_spectral_norm_matches_torch(kind, n_iter):
    m, t, x = pair(kind)
    U.spectral_norm(m, n_power_iterations=n_iter)
    TU.spectral_norm(t, n_power_iterations=n_iter)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    copy_state(m, t)
    for step in range(3):
        forward_backward(m, t, x, seed=step)
        for k, v in t.state_dict().items():
            close(m.state_dict()[k], v)
    m.eval()
    t.eval()
    forward_backward(m, t, x)
    U.remove_spectral_norm(m)
    TU.remove_spectral_norm(t)
    assert list(m.state_dict()) == list(t.state_dict())
    close(m.weight, t.weight)


def test_old_spectral_norm_errors():
    m = U.spectral_norm(nn.Linear(2, 3))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        U.spectral_norm(m)
    with pytest.raises(ValueError, match="spectral_norm of 'bias' not found"):
        U.remove_spectral_norm(m, "bias")
    with pytest.raises(ValueError, match="n_power_iterations=0"):
        U.spectral_norm(nn.Linear(2, 3), n_power_iterations=0)
