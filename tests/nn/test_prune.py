"""nn.utils.prune against torch.nn.utils.prune: masks, reparametrization (weight_orig,
weight_mask, pre-hook), iterative composition, global pruning, removal, errors, lottery ticket."""
import math

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as TPR

import nablagrad as ng
import nablagrad.nn as nn
from nablagrad.nn.utils import prune



def np_of(t):
    return t.detach().numpy()


def pair(kind="linear", seed=0):
    torch.manual_seed(seed)
    t = (torch.nn.Linear(6, 4) if kind == "linear" else torch.nn.Conv2d(3, 4, 3)).double()
    m = (nn.Linear(6, 4) if kind == "linear" else nn.Conv2d(3, 4, 3)).double()
    m.load_state_dict({k: ng.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(seed).standard_normal((2, 6) if kind == "linear" else (2, 3, 5, 5))
    return m, t, x


def same_state(m, t):
    assert list(m.state_dict()) == list(t.state_dict())
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert [k for k, _ in m.named_buffers()] == [k for k, _ in t.named_buffers()]
    for (k, a), b in zip(m.state_dict().items(), t.state_dict().values()):
        assert a.dtype.is_floating_point and str(a.dtype)[-7:] == str(b.dtype)[-7:], k
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    np.testing.assert_array_equal(np_of(m.weight), np_of(t.weight))


def same_forward_backward(m, t, x):
    y, ty = m(ng.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(np_of(y), np_of(ty), rtol=1e-12, atol=1e-13)
    y.sum().backward()
    ty.sum().backward()
    tp = dict(t.named_parameters())
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[k].grad.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 1.0, 0, 7, 24])
def test_l1_unstructured_matches_torch(amount):
    m, t, x = pair()
    assert prune.l1_unstructured(m, "weight", amount) is m
    TPR.l1_unstructured(t, "weight", amount)
    assert list(m.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    same_state(m, t)
    assert int((m.weight_mask == 0).sum()) == (amount if isinstance(amount, int) else round(amount * 24))
    assert "weight" not in m._parameters and m.weight.grad_fn is not None
    same_forward_backward(m, t, x)
    assert prune.is_pruned(m) and prune.is_pruned(nn.Sequential(m)) and not prune.is_pruned(nn.Linear(2, 2))


def test_pre_hook_recomputes_weight_and_pruned_stay_zero():
    m, _, x = pair()
    prune.l1_unstructured(m, "weight", 0.5)
    opt = ng.optim.SGD(m.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        m(ng.tensor(x)).pow(2).sum().backward()
        assert (m.weight_orig.grad.numpy()[m.weight_mask.numpy() == 0] == 0).all()
        opt.step()
    m(ng.tensor(x))
    np.testing.assert_array_equal(np_of(m.weight), np_of(m.weight_orig) * m.weight_mask.numpy())
    assert (np_of(m.weight)[m.weight_mask.numpy() == 0] == 0).all()


@pytest.mark.parametrize("n,dim", [(1, 0), (2, 1), (math.inf, -1), (-math.inf, 0), (3, 1), (2, -2)])
def test_ln_structured_matches_torch(n, dim):
    m, t, x = pair("conv")
    prune.ln_structured(m, "weight", 0.5 if dim != -1 else 1, n=n, dim=dim)
    TPR.ln_structured(t, "weight", 0.5 if dim != -1 else 1, n=n, dim=dim)
    same_state(m, t)
    same_forward_backward(m, t, x)


def test_iterative_pruning_composes_like_torch():
    m, t, x = pair("conv", seed=1)
    for lib, mod in ((prune, m), (TPR, t)):
        lib.l1_unstructured(mod, "weight", amount=0.2)
        lib.l1_unstructured(mod, "weight", amount=0.25)  # 25% of the remaining 80%
        lib.ln_structured(mod, "weight", amount=1, n=2, dim=0)
        lib.l1_unstructured(mod, "weight", amount=5)
    hooks = list(m._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 4
    same_state(m, t)
    w = m.weight_mask.numpy()
    assert (w.reshape(4, -1).sum(1) == 0).sum() == 1  # one whole output channel gone
    mask = (np.random.default_rng(0).random(m.weight.shape) > 0.5).astype(np.float64)
    prune.custom_from_mask(m, "weight", ng.tensor(mask))
    TPR.custom_from_mask(t, "weight", torch.tensor(mask))
    same_state(m, t)
    same_forward_backward(m, t, x)
    prune.remove(m, "weight")
    TPR.remove(t, "weight")
    same_state(m, t)
    assert isinstance(m.weight, nn.Parameter) and not prune.is_pruned(m)


def test_l1_with_importance_scores_and_bias():
    m, t, x = pair(seed=2)
    scores = np.random.default_rng(5).standard_normal((4, 6))
    prune.l1_unstructured(m, "weight", 0.4, importance_scores=ng.tensor(scores))
    TPR.l1_unstructured(t, "weight", 0.4, importance_scores=torch.tensor(scores))
    prune.l1_unstructured(m, "bias", 2)
    TPR.l1_unstructured(t, "bias", 2)
    same_state(m, t)
    same_forward_backward(m, t, x)


@pytest.mark.parametrize("amount", [0.3, 10])
def test_global_unstructured_matches_torch(amount):
    m1, t1, _ = pair(seed=3)
    m2, t2, _ = pair("conv", seed=4)
    prune.l1_unstructured(m1, "weight", 0.25)  # an existing mask is respected
    TPR.l1_unstructured(t1, "weight", 0.25)
    scores = np.random.default_rng(1).standard_normal((4, 3, 3, 3))
    prune.global_unstructured([(m1, "weight"), (m2, "weight"), (m1, "bias")], prune.L1Unstructured,
                              importance_scores={(m2, "weight"): ng.tensor(scores)}, amount=amount)
    TPR.global_unstructured([(t1, "weight"), (t2, "weight"), (t1, "bias")], TPR.L1Unstructured,
                            importance_scores={(t2, "weight"): torch.tensor(scores)}, amount=amount)
    same_state(m1, t1)
    same_state(m2, t2)


def test_random_methods_masks():
    ng.manual_seed(0)
    m, _, x = pair("conv")
    prune.random_unstructured(m, "weight", 0.3)
    mask = m.weight_mask.numpy()
    assert (mask == 0).sum() == round(0.3 * mask.size) and set(np.unique(mask)) <= {0.0, 1.0}
    prune.random_structured(m, "weight", 2, dim=1)
    new = m.weight_mask.numpy()
    assert (new[mask == 0] == 0).all()  # earlier pruning kept
    ch_dead = (new.transpose(1, 0, 2, 3).reshape(3, -1) == 0).all(1)
    assert ch_dead.sum() == 2
    prune.random_structured(m, "weight", 1, dim=1)  # the last live channel goes
    assert (m.weight_mask.numpy() == 0).all()
    m(ng.tensor(x))
    assert (np_of(m.weight) == 0).all()


def test_identity_and_prune_method():
    m, t, _ = pair()
    prune.identity(m, "weight")
    TPR.identity(t, "weight")
    same_state(m, t)
    assert (m.weight_mask.numpy() == 1).all()
    w = np.arange(1.0, 7.0).reshape(2, 3) * np.array([1, -1, 1])
    out = prune.L1Unstructured(amount=2).prune(ng.tensor(w))
    ref = TPR.L1Unstructured(amount=2).prune(torch.tensor(w))
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_errors():
    m, _, _ = pair()
    with pytest.raises(ValueError, match=r"amount=-1 should either be a float in the range \[0, 1\]"):
        prune.l1_unstructured(m, "weight", -1)
    with pytest.raises(ValueError, match="amount=1.5"):
        prune.random_unstructured(m, "weight", 1.5)
    with pytest.raises(TypeError, match="Invalid type for amount"):
        prune.l1_unstructured(m, "weight", "half")
    with pytest.raises(ValueError, match="amount=25 should be smaller than the number of parameters to prune=24"):
        prune.l1_unstructured(m, "weight", 25)
    assert "weight" in m._parameters and "weight_orig" not in m._parameters  # rolled back
    with pytest.raises(ValueError, match="Structured pruning can only be applied to multidimensional"):
        prune.ln_structured(m, "bias", 1, n=2, dim=0)
    with pytest.raises(IndexError, match=r"Invalid index 2 for tensor of size \(4, 6\)"):
        prune.random_structured(m, "weight", 1, dim=2)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(m, "weight")
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE'):
        prune.global_unstructured([(m, "weight")], prune.RandomStructured, amount=1)
    with pytest.raises(ValueError, match="importance_scores should have the same shape"):
        prune.l1_unstructured(m, "weight", 1, importance_scores=ng.zeros(3))
    with pytest.raises(ValueError, match="mask of shape"):
        prune.custom_from_mask(m, "weight", ng.ones(3, 3))
    with pytest.raises(AttributeError):
        prune.l1_unstructured(m, "nope", 1)
    assert type(m) is nn.Linear and not prune.is_pruned(m)
    prune.l1_unstructured(m, "weight", 20)
    for _ in range(2):  # a failing second pruning leaves the first one in place
        with pytest.raises(ValueError, match="amount=5 should be smaller than the number of parameters to prune=4"):
            prune.l1_unstructured(m, "weight", 5)
        hooks = list(m._forward_pre_hooks.values())
        assert len(hooks) == 1 and (m.weight_mask == 0).sum().item() == 20
        prune.identity(m, "weight")
    assert len(list(m._forward_pre_hooks.values())[0]) == 3


def test_lottery_ticket_procedure():
    """Train, prune the smallest 50% by magnitude (globally), rewind survivors to θ₀, retrain."""
    ng.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    theta0 = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    x = ng.tensor(rng.standard_normal((32, 4)).astype(np.float32))
    y = ng.tensor(rng.integers(0, 2, 32))

    def train(steps):
        opt = ng.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    train(5)
    layers = [(model[0], "weight"), (model[2], "weight")]
    prune.global_unstructured(layers, prune.L1Unstructured, amount=0.5)
    masks = [mod.weight_mask.numpy().copy() for mod, _ in layers]
    assert sum((mk == 0).sum() for mk in masks) == (32 + 16) // 2
    with ng.no_grad():  # rewind the survivors (and the biases) to their initial values
        model[0].weight_orig.copy_(theta0["0.weight"])
        model[2].weight_orig.copy_(theta0["2.weight"])
        model[0].bias.copy_(theta0["0.bias"])
        model[2].bias.copy_(theta0["2.bias"])
    train(5)
    model(x)  # the pre-hooks refresh weight = weight_orig * weight_mask
    for (mod, _), mk in zip(layers, masks):
        np.testing.assert_array_equal(mod.weight_mask.numpy(), mk)
        assert (np_of(mod.weight)[mk == 0] == 0).all()
        np.testing.assert_array_equal(np_of(mod.weight), np_of(mod.weight_orig) * mk)
        alive = mk == 1
        assert not np.array_equal(np_of(mod.weight_orig)[alive],
                                  theta0["0.weight" if mod is model[0] else "2.weight"].numpy()[alive])
