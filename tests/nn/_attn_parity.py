"""Parity helpers for the attention/transformer tests: run a nablagrad module and its torch twin
on the same float64 weights and inputs; compare outputs, first derivatives (inputs and
parameters) and, optionally, a double backward (gradient of the squared gradient norm)."""
import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import nablagrad as ng
from test_layers_parity import copy_state


class Const:
    """A float array passed without requires_grad (e.g. an additive mask)."""

    def __init__(self, array):
        self.array = array


def close(a, b, atol=1e-10, rtol=1e-7, what=""):
    assert (a is None) == (b is None), what
    if a is not None:
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=rtol,
                                   err_msg=what)


def _inputs(arrays):
    ours, theirs = [], []
    for a in arrays:
        if isinstance(a, Const):
            ours.append(ng.tensor(a.array))
            theirs.append(torch.tensor(a.array))
        elif isinstance(a, np.ndarray):
            grad = a.dtype.kind == "f"
            ours.append(ng.tensor(a, requires_grad=grad))
            theirs.append(torch.tensor(a, requires_grad=grad))
        else:
            ours.append(a)
            theirs.append(a)
    return ours, theirs


def _outputs(out):
    return [o for o in (out if isinstance(out, tuple) else (out,))]


def parity(ours, theirs, arrays, call=None, double=False, same=None, atol=1e-10, seed=0):
    """Compare ``call(module, *inputs)`` (default ``module(*inputs)``) of both modules.

    ``same`` maps an input position to an earlier one to pass the very same tensor (self-
    attention's ``x, x, x``). Returns the outputs (ours, torch's). Torch runs its math SDPA
    kernel (the fused CPU kernels have no double backward)."""
    with sdpa_kernel([SDPBackend.MATH]):
        return _parity(ours, theirs, arrays, call, double, same, atol, seed)


def _parity(ours, theirs, arrays, call, double, same, atol, seed):
    call = call or (lambda m, *xs: m(*xs))
    ours.double()
    theirs.double()
    copy_state(ours, theirs)
    ng_in, th_in = _inputs(arrays)
    for i, j in (same or {}).items():
        ng_in[i], th_in[i] = ng_in[j], th_in[j]
    out, ref = _outputs(call(ours, *ng_in)), _outputs(call(theirs, *th_in))
    assert len(out) == len(ref)
    rng = np.random.default_rng(seed)
    loss_ng, loss_th = 0, 0
    for k, (o, r) in enumerate(zip(out, ref)):
        close(o, r, atol=atol, what=f"output {k}")
        if r is not None:
            g = rng.standard_normal(tuple(r.shape))
            loss_ng = loss_ng + (o * ng.tensor(g)).sum()
            loss_th = loss_th + (r * torch.tensor(g)).sum()
    names = [n for n, _ in theirs.named_parameters()]
    p_ng = [dict(ours.named_parameters())[n] for n in names]
    p_th = [p for _, p in theirs.named_parameters()]
    x_ng = [x for x, y in zip(ng_in, th_in) if isinstance(y, torch.Tensor) and y.requires_grad]
    x_th = [y for y in th_in if isinstance(y, torch.Tensor) and y.requires_grad]
    labels = names + [f"input {i}" for i in range(len(x_th))]
    g_ng = ng.autograd.grad(loss_ng, p_ng + x_ng, create_graph=double, allow_unused=True)
    g_th = torch.autograd.grad(loss_th, p_th + x_th, create_graph=double, allow_unused=True)
    for a, b, name in zip(g_ng, g_th, labels):
        close(a, b, atol=atol, what=f"grad of {name}")
    if double:
        h_ng = sum((g * g).sum() for g in g_ng if g is not None)
        h_th = sum((g * g).sum() for g in g_th if g is not None)
        gg_ng = ng.autograd.grad(h_ng, p_ng + x_ng, allow_unused=True)
        gg_th = torch.autograd.grad(h_th, p_th + x_th, allow_unused=True)
        for a, b, name in zip(gg_ng, gg_th, labels):
            close(a, b, atol=1e-8, what=f"double backward of {name}")
    return out, ref
