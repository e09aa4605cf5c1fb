"""nn.utils gradient clipping and parameter/vector conversion against torch.nn.utils."""
import math

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.nn as nn
from nablagrad.nn import utils as U

TU = torch.nn.utils


def make_pair(rng, shapes, scale=1.0, dtype=np.float64):
    """Parameters with grads in both libraries (same values)."""
    ours, theirs = [], []
    for shape in shapes:
        w, g = rng.standard_normal(shape).astype(dtype), (scale * rng.standard_normal(shape)).astype(dtype)
        p = nn.Parameter(ng.tensor(w))
        p.grad = ng.tensor(g)
        t = torch.nn.Parameter(torch.tensor(w))
        t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def assert_grads(ours, theirs, rtol=1e-12):
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-14)


SHAPES = [(3, 4), (4,), (2, 3, 2)]


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf", 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = make_pair(np.random.default_rng(1), SHAPES)
    total = U.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ref = TU.clip_grad_norm_(theirs, max_norm, norm_type=float(norm_type))
    assert isinstance(total, ng.Tensor) and total.ndim == 0
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-12)
    assert_grads(ours, theirs)


def test_clip_grad_norm_clips_to_max_norm_and_generator_input():
    ours, _ = make_pair(np.random.default_rng(2), SHAPES, scale=10.0)
    total = U.clip_grad_norm_((p for p in ours), 1.0)  # a generator is consumed once
    assert total.item() > 1.0
    after = U.get_total_norm([p.grad for p in ours])
    np.testing.assert_allclose(after.item(), 1.0, rtol=1e-5)


def test_clip_grad_norm_single_tensor_float32_and_no_grads():
    ours, theirs = make_pair(np.random.default_rng(3), [(5,)], dtype=np.float32)
    total = U.clip_grad_norm_(ours[0], 0.1)
    ref = TU.clip_grad_norm_(theirs[0], 0.1)
    assert ours[0].grad.dtype == ng.float32 and total.dtype == ng.float32
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-6)
    assert_grads(ours, theirs, rtol=1e-6)
    empty = U.clip_grad_norm_([nn.Parameter(ng.zeros(3))], 1.0)
    assert empty.item() == 0.0 and empty.dtype == ng.float32


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf * 0 in the default mode
def test_clip_grad_norm_nonfinite():
    ours, theirs = make_pair(np.random.default_rng(4), SHAPES)
    ours[1].grad._data[0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite"):
        U.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    ours[1].grad._data[0] = np.inf
    with pytest.raises(RuntimeError, match="total norm of order 2.0"):
        U.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert math.isinf(U.clip_grad_norm_(ours, 1.0).item())  # default: no error


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    ours, theirs = make_pair(np.random.default_rng(5), SHAPES)
    total = U.get_total_norm([p.grad for p in ours], norm_type=3.0)
    ref = TU.get_total_norm([t.grad for t in theirs], norm_type=3.0)
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-12)
    U.clip_grads_with_norm_(ours, 0.7, total)
    TU.clip_grads_with_norm_(theirs, 0.7, ref)
    assert_grads(ours, theirs)


def test_clip_grad_value_matches_torch():
    ours, theirs = make_pair(np.random.default_rng(6), SHAPES)
    assert U.clip_grad_value_(ours, 0.3) is None
    TU.clip_grad_value_(theirs, 0.3)
    assert_grads(ours, theirs)
    assert max(float(p.grad.abs().max()) for p in ours) <= 0.3


def test_clipping_does_not_record_graph():
    ours, _ = make_pair(np.random.default_rng(7), SHAPES)
    for p in ours:
        p.grad.requires_grad_(True)
    U.clip_grad_norm_(ours, 0.1)
    assert all(p.grad.grad_fn is None for p in ours)


def test_parameters_to_vector_and_back():
    rng = np.random.default_rng(8)
    lin = nn.Linear(3, 2).double()
    tlin = torch.nn.Linear(3, 2).double()
    tlin.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in lin.state_dict().items()})
    vec = U.parameters_to_vector(lin.parameters())
    ref = TU.parameters_to_vector(tlin.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), ref.detach().numpy())
    # differentiable: d(Σ c·vec)/dp = c reshaped
    c = rng.standard_normal(vec.shape[0])
    (vec * ng.tensor(c)).sum().backward()
    np.testing.assert_array_equal(lin.weight.grad.numpy().ravel(), c[:6])
    np.testing.assert_array_equal(lin.bias.grad.numpy(), c[6:])
    new = rng.standard_normal(8)
    w_obj = lin.weight
    assert U.vector_to_parameters(ng.tensor(new), lin.parameters()) is None
    TU.vector_to_parameters(torch.tensor(new), tlin.parameters())
    assert lin.weight is w_obj
    np.testing.assert_array_equal(lin.weight.detach().numpy(), tlin.weight.detach().numpy())
    np.testing.assert_array_equal(lin.bias.detach().numpy(), tlin.bias.detach().numpy())


def test_vector_to_parameters_errors():
    lin = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="expected nablagrad.Tensor, but got: ndarray"):
        U.vector_to_parameters(np.zeros(8), lin.parameters())
    with pytest.raises(RuntimeError, match="too few"):
        U.vector_to_parameters(ng.zeros(5), lin.parameters())
