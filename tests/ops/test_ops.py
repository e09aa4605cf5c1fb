"""Tests generated from the op registry (see spec.py): every OpSpec × every sample."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import nablagrad as ng

from . import (specs_elementwise, specs_reduce, specs_shape, specs_indexing,  # noqa: F401
               specs_linalg, specs_conv, specs_nn, specs_rnn)
from .spec import SPECS, Const

torch.set_default_dtype(torch.float32)

CASES = [pytest.param(spec, k, id=f"{spec.name}-{k}")
         for spec in SPECS for k in range(len(spec.samples(np.random.default_rng(0))))]


def _is_float_array(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _is_tensor_list(a):
    """A list argument of arrays/tensors (e.g. for cat), as opposed to a list of sizes."""
    return isinstance(a, list) and a and all(
        isinstance(x, (np.ndarray, Const, ng.Tensor, torch.Tensor)) for x in a)


def _flat_leaves(args):
    for a in args:
        if _is_tensor_list(a):
            yield from _flat_leaves(a)
        else:
            yield a


def _has_float_input(case):
    spec, k = case.values
    args = spec.samples(np.random.default_rng(0))[k]
    return any(_is_float_array(a) for a in _flat_leaves(args))


GRAD_CASES = [c for c in CASES if c.values[0].grad and _has_float_input(c)]
GRADGRAD_CASES = [c for c in GRAD_CASES if c.values[0].gradgrad]


def _sample(spec, k):
    return spec.samples(np.random.default_rng(1234 + k))[k]


def _noncontig(a: np.ndarray) -> np.ndarray:
    """The same values in a non-contiguous array (a strided slice of a bigger buffer)."""
    if a.ndim == 0 or a.size <= 1:
        return a
    buf = np.zeros(a.shape[:-1] + (a.shape[-1] * 2,), dtype=a.dtype)
    view = buf[..., ::2]
    view[...] = a
    return view


def to_ng(args, dtype=np.float64, requires_grad=True, noncontig=False):
    out = []
    for a in args:
        if isinstance(a, Const):
            out.append(ng.tensor(a.value.astype(dtype)))
        elif isinstance(a, np.ndarray):
            arr = a.astype(dtype) if a.dtype.kind == "f" else a
            if noncontig:
                arr = _noncontig(arr)
            t = ng.from_numpy(arr) if noncontig else ng.tensor(arr)
            if a.dtype.kind == "f" and requires_grad:
                t.requires_grad_(True)
            out.append(t)
        elif isinstance(a, list) and a and all(isinstance(x, np.ndarray) for x in a):
            out.append(to_ng(a, dtype, requires_grad, noncontig))
        else:
            out.append(a)
    return out


def to_torch(args, dtype=np.float64, requires_grad=True):
    out = []
    for a in args:
        if isinstance(a, Const):
            out.append(torch.tensor(a.value.astype(dtype)))
        elif isinstance(a, np.ndarray):
            arr = a.astype(dtype) if a.dtype.kind == "f" else a
            t = torch.tensor(arr)
            if a.dtype.kind == "f" and requires_grad:
                t.requires_grad_(True)
            out.append(t)
        elif isinstance(a, list) and a and all(isinstance(x, np.ndarray) for x in a):
            out.append(to_torch(a, dtype, requires_grad))
        else:
            out.append(a)
    return out


def _outs(r):
    if isinstance(r, (tuple, list)):
        return list(r)
    if hasattr(r, "values") and hasattr(r, "indices") and not isinstance(r, (ng.Tensor, torch.Tensor)):
        return [r.values, r.indices]
    return [r]


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy(force=True)  # force: PyTorch returns ZeroTensors for some grads
    if isinstance(x, ng.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _check_close(a, b, spec, what, scale=1.0):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, f"{spec.name} {what}: shape {a.shape} vs torch {b.shape}"
    np.testing.assert_allclose(a.astype(np.float64) if a.dtype.kind != "b" else a,
                               b.astype(np.float64) if b.dtype.kind != "b" else b,
                               atol=spec.atol * scale, rtol=spec.rtol * scale,
                               err_msg=f"{spec.name} {what}")


@pytest.mark.parametrize("spec,k", CASES)
def test_forward_matches_torch(spec, k):
    args = _sample(spec, k)
    for dtype, scale in ((np.float64, 1.0),) + (((np.float32, 1e3),) if spec.float32 else ()):
        ours = _outs(spec.ng(*to_ng(args, dtype, requires_grad=False)))
        theirs = _outs(spec.torch(*to_torch(args, dtype, requires_grad=False)))
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            if isinstance(t, torch.Tensor):
                assert isinstance(o, ng.Tensor), f"{spec.name}: expected a Tensor"
                assert str(o.dtype).split(".")[1] == str(t.dtype).split(".")[1], \
                    f"{spec.name}: dtype {o.dtype} vs torch {t.dtype}"
            _check_close(o, t, spec, f"forward ({np.dtype(dtype).name})", scale)


def _grad_pair(spec, args, dtype=np.float64, noncontig=False):
    xs_ng = to_ng(args, dtype, noncontig=noncontig)
    xs_t = to_torch(args, dtype)
    outs_ng = [o for o in _outs(spec.ng(*xs_ng)) if isinstance(o, ng.Tensor) and o.requires_grad]
    outs_t = [o for o in _outs(spec.torch(*xs_t)) if isinstance(o, torch.Tensor) and o.requires_grad]
    rng = np.random.default_rng(7)
    gs = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in outs_t]
    leaves_ng = [x for x in _flat_leaves(xs_ng) if isinstance(x, ng.Tensor) and x.requires_grad]
    leaves_t = [x for x in _flat_leaves(xs_t) if isinstance(x, torch.Tensor) and x.requires_grad]
    return outs_ng, outs_t, gs, leaves_ng, leaves_t


@pytest.mark.parametrize("spec,k", GRAD_CASES)
def test_backward_matches_torch(spec, k):
    outs_ng, outs_t, gs, leaves_ng, leaves_t = _grad_pair(spec, _sample(spec, k))
    assert len(outs_ng) == len(outs_t) > 0
    g_ng = ng.autograd.grad(outs_ng, leaves_ng, [ng.tensor(g) for g in gs], allow_unused=True)
    g_t = torch.autograd.grad(outs_t, leaves_t, [torch.tensor(g) for g in gs], allow_unused=True)
    for i, (a, b) in enumerate(zip(g_ng, g_t)):
        if b is None:
            assert a is None or not np.any(_np(a)), f"{spec.name}: grad {i} should be None/zero"
            continue
        assert a is not None, f"{spec.name}: grad {i} missing"
        _check_close(a, b, spec, f"grad of input {i}")


@pytest.mark.parametrize("spec,k", GRAD_CASES)
def test_gradcheck(spec, k):
    args = _sample(spec, k)
    xs = to_ng(args)
    assert ng.autograd.gradcheck(lambda *a: spec.ng(*_rebuild(args, a)), _leaves_for_check(xs))


@pytest.mark.parametrize("spec,k", GRADGRAD_CASES)
def test_gradgradcheck(spec, k):
    args = _sample(spec, k)
    xs = to_ng(args)
    assert ng.autograd.gradgradcheck(lambda *a: spec.ng(*_rebuild(args, a)), _leaves_for_check(xs))


@pytest.mark.parametrize("spec,k", GRADGRAD_CASES)
def test_double_backward_matches_torch(spec, k):
    """d/dx of Σ (dL/dx · v): compares second derivatives with PyTorch."""
    outs_ng, outs_t, gs, leaves_ng, leaves_t = _grad_pair(spec, _sample(spec, k))
    g_ng = ng.autograd.grad(outs_ng, leaves_ng, [ng.tensor(g) for g in gs], create_graph=True,
                            allow_unused=True)
    g_t = torch.autograd.grad(outs_t, leaves_t, [torch.tensor(g) for g in gs], create_graph=True,
                              allow_unused=True)
    rng = np.random.default_rng(11)
    s_ng, s_t = 0, 0
    for a, b in zip(g_ng, g_t):
        if a is None or b is None or not b.requires_grad:
            continue
        v = rng.standard_normal(tuple(b.shape))
        s_ng = s_ng + (a * ng.tensor(v)).sum()
        s_t = s_t + (b * torch.tensor(v)).sum()
    if not isinstance(s_t, torch.Tensor) or not s_t.requires_grad:
        # a linear op: its first derivative does not depend on the inputs, so ours must not either
        if isinstance(s_ng, ng.Tensor) and s_ng.requires_grad:
            for h in ng.autograd.grad([s_ng], leaves_ng, allow_unused=True):
                assert h is None or not np.any(_np(h)), f"{spec.name}: nonzero second derivative"
        return
    h_ng = ng.autograd.grad([s_ng], leaves_ng, allow_unused=True) if isinstance(s_ng, ng.Tensor) \
        and s_ng.requires_grad else [None] * len(leaves_ng)
    h_t = torch.autograd.grad([s_t], leaves_t, allow_unused=True)
    for i, (a, b) in enumerate(zip(h_ng, h_t)):
        if b is None:
            assert a is None or not np.any(_np(a))
        else:
            if a is None:
                assert not np.any(_np(b)), f"{spec.name}: second derivative {i} missing"
            else:
                _check_close(a, b, spec, f"second derivative {i}", scale=10)


@pytest.mark.parametrize("spec,k", [c for c in CASES if c.values[0].noncontig])
def test_noncontiguous_inputs(spec, k):
    """Results (and gradients) do not depend on the memory layout of the inputs."""
    args = _sample(spec, k)
    dense = _outs(spec.ng(*to_ng(args, requires_grad=False)))
    strided = _outs(spec.ng(*to_ng(args, requires_grad=False, noncontig=True)))
    for a, b in zip(dense, strided):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-12, rtol=1e-10, err_msg=spec.name)
    if spec.grad:
        grads = []
        for nc in (False, True):
            xs = to_ng(args, noncontig=nc)
            outs = [o for o in _outs(spec.ng(*xs)) if isinstance(o, ng.Tensor) and o.requires_grad]
            leaves = [x for x in _flat_leaves(xs) if isinstance(x, ng.Tensor) and x.requires_grad]
            gs = [ng.tensor(np.random.default_rng(3).standard_normal(tuple(o.shape))) for o in outs]
            grads.append(ng.autograd.grad(outs, leaves, gs, allow_unused=True))
        for a, b in zip(*grads):
            if a is not None and b is not None:
                np.testing.assert_allclose(_np(a), _np(b), atol=1e-12, rtol=1e-10)


def _leaves_for_check(xs):
    return tuple(x for x in _flat_leaves(xs))


def _rebuild(args, flat):
    """Put the flat list of leaves back into the nested argument structure."""
    it = iter(flat)
    out = []
    for a in args:
        if _is_tensor_list(a):
            out.append([next(it) for _ in a])
        else:
            out.append(next(it))
    return out
