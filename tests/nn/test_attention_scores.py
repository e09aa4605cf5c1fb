"""Attention score functions and ``attend``: each score against its formula computed directly in
torch (float64), with gradients of the inputs and parameters, a double backward, masks and
normalised weights."""
import numpy as np
import pytest
import torch

import nablagrad as ng
from nablagrad import nn
from nablagrad.nn.attention_scores import (AdditiveScore, CosineScore, DotScore, GeneralScore,
                                           ScaledDotScore, attend)

B, TQ, TK = 2, 3, 5


def _t(x):
    return torch.from_numpy(x.detach().numpy().copy())


def _pair(rng, dq, dk):
    q = rng.standard_normal((B, TQ, dq))
    k = rng.standard_normal((B, TK, dk))
    return (ng.tensor(q, requires_grad=True), ng.tensor(k, requires_grad=True),
            torch.tensor(q, requires_grad=True), torch.tensor(k, requires_grad=True))


def _torch_scores(module, q, k):
    """The notes' formulas, written directly."""
    if isinstance(module, DotScore):
        return torch.einsum("bqd,bkd->bqk", q, k)
    if isinstance(module, ScaledDotScore):
        return torch.einsum("bqd,bkd->bqk", q, k) / q.shape[-1] ** 0.5
    if isinstance(module, GeneralScore):
        W = _t(module.weight).requires_grad_()
        return torch.einsum("bqd,de,bke->bqk", q, W, k), {"weight": W}
    if isinstance(module, AdditiveScore):
        W1 = _t(module.query_proj.weight).requires_grad_()
        W2 = _t(module.key_proj.weight).requires_grad_()
        v = _t(module.v).requires_grad_()
        u = torch.tanh((q @ W1.T)[:, :, None, :] + (k @ W2.T)[:, None, :, :])
        return u @ v, {"query_proj.weight": W1, "key_proj.weight": W2, "v": v}
    if isinstance(module, CosineScore):
        dot = torch.einsum("bqd,bkd->bqk", q, k)
        return module.scale * dot / (q.norm(dim=-1)[:, :, None] * k.norm(dim=-1)[:, None, :])
    raise AssertionError(module)


MODULES = [lambda dq, dk: DotScore(), lambda dq, dk: ScaledDotScore(),
           lambda dq, dk: GeneralScore(dq, dk), lambda dq, dk: AdditiveScore(dq, dk, 6),
           lambda dq, dk: CosineScore(scale=3.0)]
NAMES = ["dot", "scaled_dot", "general", "additive", "cosine"]


@pytest.mark.parametrize("make", MODULES, ids=NAMES)
def test_score_matches_formula_with_gradients(make):
    rng = np.random.default_rng(0)
    dq, dk = 4, 4
    module = make(dq, dk).double()
    if isinstance(module, (GeneralScore, AdditiveScore)):
        dk = 7                                   # these allow d_q != d_k
        module = make(dq, dk).double()
    q, k, tq, tk = _pair(rng, dq, dk)
    out = _torch_scores(module, tq, tk)
    tout, tparams = out if isinstance(out, tuple) else (out, {})
    e = module(q, k)
    assert e.shape == (B, TQ, TK)
    np.testing.assert_allclose(e.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal((B, TQ, TK))
    names = [name for name, _ in module.named_parameters()]
    assert sorted(names) == sorted(tparams)
    params = [p for _, p in module.named_parameters()]
    grads = ng.autograd.grad(e, [q, k] + params, ng.tensor(g))
    tgrads = torch.autograd.grad(tout, [tq, tk] + [tparams[n] for n in names], torch.tensor(g))
    for a, b in zip(grads, tgrads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", MODULES, ids=NAMES)
def test_score_double_backward_matches_torch(make):
    rng = np.random.default_rng(1)
    module = make(3, 3).double()
    q, k, tq, tk = _pair(rng, 3, 3)
    out = _torch_scores(module, tq, tk)
    tout = out[0] if isinstance(out, tuple) else out
    # grad of a gradient norm: needs second derivatives of the score
    (gq,) = ng.autograd.grad((module(q, k) ** 2).sum(), [q], create_graph=True)
    (gk,) = ng.autograd.grad((gq ** 2).sum(), [k])
    (tgq,) = torch.autograd.grad((tout ** 2).sum(), [tq], create_graph=True)
    (tgk,) = torch.autograd.grad((tgq ** 2).sum(), [tk])
    np.testing.assert_allclose(gk.numpy(), tgk.numpy(), rtol=1e-9, atol=1e-10)


def test_prepare_keys_then_score_equals_forward():
    rng = np.random.default_rng(2)
    q, k, _, _ = _pair(rng, 4, 5)
    for module in (GeneralScore(4, 5).double(), AdditiveScore(4, 5, 3).double()):
        np.testing.assert_allclose(module.score(q, module.prepare_keys(k)).detach().numpy(),
                                   module(q, k).detach().numpy(), rtol=0, atol=0)


def test_attend_matches_softmax_weighted_sum_and_weights_sum_to_one():
    rng = np.random.default_rng(3)
    s, v = rng.standard_normal((B, TQ, TK)), rng.standard_normal((B, TK, 4))
    mask = np.zeros((B, 1, TK), dtype=bool)
    mask[0, 0, 3:] = True                        # source padding: the last two keys of row 0
    es, ev = ng.tensor(s, requires_grad=True), ng.tensor(v, requires_grad=True)
    ts, tv = torch.tensor(s, requires_grad=True), torch.tensor(v, requires_grad=True)
    ctx, w = attend(es, ev, ng.tensor(mask))
    tw = torch.softmax(ts.masked_fill(torch.tensor(mask), float("-inf")), dim=-1)
    tctx = tw @ tv
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ctx.detach().numpy(), tctx.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    assert np.all(w.detach().numpy()[0, :, 3:] == 0)
    g = rng.standard_normal((B, TQ, 4))
    grads = ng.autograd.grad(ctx, [es, ev], ng.tensor(g))
    tgrads = torch.autograd.grad(tctx, [ts, tv], torch.tensor(g))
    for a, b in zip(grads, tgrads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
    assert np.all(grads[0].numpy()[0, :, 3:] == 0)     # masked scores get no gradient


def test_attend_without_mask_and_fully_masked_rows():
    rng = np.random.default_rng(4)
    s = ng.tensor(rng.standard_normal((B, TQ, TK)), requires_grad=True)
    v = ng.tensor(rng.standard_normal((B, TK, 2)))
    ctx, w = attend(s, v)
    np.testing.assert_allclose(w.detach().numpy(), torch.softmax(_t(s), -1).numpy(), rtol=1e-12)
    mask = np.zeros((B, TQ, TK), dtype=bool)
    mask[1, 2] = True                            # query 2 of row 1 may attend to nothing
    ctx, w = attend(s, v, ng.tensor(mask))
    assert np.all(w.detach().numpy()[1, 2] == 0) and np.all(ctx.detach().numpy()[1, 2] == 0)
    np.testing.assert_allclose(w.detach().numpy()[0].sum(-1), 1.0, rtol=1e-12)
    (gs,) = ng.autograd.grad(ctx.sum(), [s])
    assert np.all(np.isfinite(gs.numpy())) and np.all(gs.numpy()[1, 2] == 0)


def test_errors_name_the_shapes():
    q, k = ng.randn(2, 3, 4), ng.randn(2, 5, 6)
    with pytest.raises(ValueError, match=r"DotScore.*\(2, 3, 4\).*\(2, 5, 6\)"):
        DotScore()(q, k)
    with pytest.raises(ValueError, match="attend"):
        attend(ng.randn(2, 3, 5), ng.randn(2, 4, 1))
    with pytest.raises(TypeError, match="bool"):
        attend(ng.randn(2, 3, 5), ng.randn(2, 5, 1), ng.zeros(2, 3, 5))


def test_exported_from_nn():
    assert nn.AdditiveScore is AdditiveScore and nn.attend is attend
