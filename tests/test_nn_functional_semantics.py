"""nn.functional behaviour beyond the op registry: errors, reductions, ignore_index edge cases,
in-place variants, the randomness of dropout and rrelu, running statistics, and agreement of the
fast backward kernels with their create_graph (Tensor-op) versions."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nablagrad as ng
import nablagrad.nn.functional as F
from nablagrad.ops import activation, fused


def t64(a, grad=False):
    return ng.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def as_array(a):
    return a.detach().numpy() if isinstance(a, (ng.Tensor, torch.Tensor)) else np.asarray(a)


def close(a, b, atol=1e-10, rtol=1e-7):
    np.testing.assert_allclose(as_array(a), as_array(b), atol=atol, rtol=rtol, equal_nan=True)


# ----------------------------------------------------------------------------- exports
def test_every_name_is_exported_to_functional():
    for module in (activation, fused):
        for name in module.__all__:
            assert callable(getattr(F, name)), name
            assert hasattr(TF, name), f"{name} is not a torch.nn.functional name"


def test_top_level_and_method_forms():
    x = ng.tensor([[-1.0, 2.0], [3.0, -4.0]])
    assert ng.relu(x).tolist() == x.relu().tolist() == [[0.0, 2.0], [3.0, 0.0]]
    close(x.softmax(1), ng.softmax(x, 1))
    close(x.log_softmax(-1), F.log_softmax(x, -1))
    for name in ("selu", "celu", "rrelu", "prelu", "threshold", "layer_norm", "group_norm",
                 "dropout", "alpha_dropout", "cosine_similarity", "pairwise_distance",
                 "bilinear", "relu_", "hardshrink", "log_softmax", "softmax"):
        assert hasattr(ng, name), name


# ----------------------------------------------------------------------------- activations
def test_relu_inplace_shares_storage_and_bumps_version():
    x = ng.tensor([-1.0, 2.0, -3.0])
    v = x._version
    y = F.relu(x, inplace=True)
    assert y is x and x.tolist() == [0.0, 2.0, 0.0] and x._version == v + 1
    z = ng.tensor([-1.0, 1.0])
    assert ng.relu_(z) is z and z.tolist() == [0.0, 1.0]
    w = ng.tensor([-2.0, 5.0])
    assert w.relu_() is w and w.tolist() == [0.0, 5.0]


@pytest.mark.parametrize("name,args", [("elu", (0.7,)), ("selu", ()), ("celu", (1.3,)),
                                        ("leaky_relu", (0.2,)), ("hardtanh", (-0.5, 0.5)),
                                        ("threshold", (0.1, -3.0)), ("relu6", ()),
                                        ("silu", ()), ("hardswish", ()), ("mish", ())])
def test_inplace_variants_match_out_of_place(name, args):
    data = np.linspace(-4, 7, 12)
    expected = getattr(F, name)(t64(data), *args)
    x = t64(data)
    out = getattr(F, name)(x, *args, inplace=True)
    assert out is x
    close(x, expected)
    if hasattr(F, name + "_"):
        y = t64(data)
        assert getattr(F, name + "_")(y, *args) is y
        close(y, expected)


def test_inplace_activation_in_graph_gives_torch_gradient():
    data = np.linspace(-2, 2, 7)
    a = t64(data, grad=True)
    y = a * 2
    F.elu_(y, 0.5)
    y.sum().backward()
    at = torch.tensor(data, requires_grad=True)
    yt = at * 2
    TF.elu_(yt, 0.5)
    yt.sum().backward()
    close(a.grad, at.grad)


def test_rrelu_training_draws_slopes_in_range():
    ng.manual_seed(0)
    x = ng.tensor(-np.ones(10000), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.005
    y.sum().backward()
    close(x.grad, slopes)  # dy/dx is the drawn slope
    pos = F.rrelu(ng.tensor([1.0, 2.0]), training=True)
    assert pos.tolist() == [1.0, 2.0]


def test_activation_errors():
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(ng.tensor([1.0]), 2.0, 1.0)
    with pytest.raises(RuntimeError, match="dimension 1 is size 3"):
        F.glu(ng.zeros(2, 3), 1)
    with pytest.raises(RuntimeError, match="lambda"):
        F.softshrink(ng.tensor([1.0]), -1.0)
    with pytest.raises(RuntimeError, match="floating-point"):
        F.elu(ng.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="channel"):
        F.prelu(ng.zeros(2, 3), ng.zeros(2))
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(ng.zeros(2), approximate="fast")


def test_stable_activations_at_extremes():
    x = t64([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    xt = torch.tensor(x.numpy())
    for name in ("logsigmoid", "softplus", "silu", "mish", "gelu", "elu", "selu", "softsign"):
        out = getattr(F, name)(x)
        assert np.all(np.isfinite(out.numpy())), name
        close(out, getattr(TF, name)(xt), atol=1e-12)


def test_relu_of_integers_keeps_dtype():
    x = ng.tensor([-2, 3])
    assert F.relu(x).dtype == ng.int64 and F.relu(x).tolist() == [0, 3]


def test_float32_dtype_is_kept():
    x = ng.randn(3, 4)
    for name in ("relu", "gelu", "silu", "softplus", "hardswish", "logsigmoid", "elu"):
        assert getattr(F, name)(x).dtype == ng.float32, name
    assert F.softmax(x, 1).dtype == F.log_softmax(x, 1).dtype == ng.float32
    assert F.layer_norm(x, (4,)).dtype == ng.float32
    assert F.cross_entropy(x, ng.tensor([0, 1, 2])).dtype == ng.float32


# ----------------------------------------------------------------------------- softmax
def test_softmax_implicit_dim_warns_like_torch():
    x = ng.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    close(y, F.softmax(x, 1))
    x3 = ng.randn(4, 2, 3)
    with pytest.warns(UserWarning):
        close(F.log_softmax(x3), F.log_softmax(x3, 0))  # 0-, 1- and 3-D inputs use dim 0


def test_softmax_is_stable_and_handles_minus_infinity():
    x = t64([[1e4, 1e4 - 1.0, -1e4], [-math.inf, 0.0, 1.0], [-math.inf] * 3])
    xt = torch.tensor(x.numpy())
    close(F.softmax(x, 1), TF.softmax(xt, 1))  # the last row is NaN in both
    close(F.log_softmax(x, 1), TF.log_softmax(xt, 1))
    assert np.all(np.isfinite(F.log_softmax(x, 1).numpy()[0]))


def test_softmax_rejects_integers_and_accepts_dtype():
    with pytest.raises(RuntimeError, match="floating-point"):
        F.softmax(ng.tensor([1, 2]), 0)
    y = F.softmax(ng.tensor([1, 2]), 0, dtype=ng.float64)
    assert y.dtype == ng.float64
    close(y, TF.softmax(torch.tensor([1, 2]), 0, dtype=torch.float64))
    with pytest.raises(IndexError, match="out of range"):
        F.softmax(ng.zeros(2, 3), 2)


def test_torch_and_method_signatures_take_dtype_positionally():
    x = ng.randn(2, 3)
    assert x.softmax(1, ng.float64).dtype == ng.float64
    assert ng.log_softmax(x, 0, ng.float64).dtype == ng.float64
    assert F.softmax(x, 1, 3, ng.float64).dtype == ng.float64  # F's third argument: _stacklevel


def test_softmax_of_scalar():
    assert F.softmax(ng.tensor(3.0), 0).item() == 1.0
    assert F.log_softmax(ng.tensor(3.0), 0).item() == 0.0


# ----------------------------------------------------------------------------- cross entropy
def _ce_pair(x, t, **kw):
    return F.cross_entropy(t64(x), ng.tensor(t), **kw), TF.cross_entropy(
        torch.tensor(x), torch.tensor(t), **kw)


def test_cross_entropy_target_out_of_range_names_the_class_count():
    x = ng.randn(4, 3)
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, ng.tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="target -1 is out of bounds for 3 classes"):
        F.cross_entropy(x, ng.tensor([0, -1, 2, 1]))
    with pytest.raises(IndexError, match="5 is out of bounds for 3 classes"):
        F.nll_loss(x, ng.tensor([0, 1, 5, 2]))


def test_cross_entropy_shape_and_dtype_errors():
    x = ng.randn(4, 3)
    with pytest.raises(ValueError, match=r"batch_size \(4\)"):
        F.cross_entropy(x, ng.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match=r"expected target size \[4, 5\], got \[4, 6\]"):
        F.cross_entropy(ng.randn(4, 3, 5), ng.zeros(4, 6, dtype=ng.int64))
    with pytest.raises(RuntimeError, match="int32"):
        F.cross_entropy(x, ng.tensor([0, 1, 2, 1], dtype=ng.int32))
    with pytest.raises(RuntimeError, match="for all 3 classes"):
        F.cross_entropy(x, ng.tensor([0, 1, 2, 1]), weight=ng.ones(4))
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(x, ng.tensor([0, 1, 2, 1]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="ignore_index"):
        F.cross_entropy(x, F.softmax(ng.randn(4, 3), 1), ignore_index=1)
    with pytest.raises(RuntimeError, match="shape"):
        F.cross_entropy(x, ng.rand(4, 2))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, ng.tensor([0, 1, 2, 1]), reduction="avg")


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_targets_ignored(smoothing, weighted):
    """mean over no kept target is 0/0 = NaN (as PyTorch); sum is 0; the gradient is 0."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    t = np.full(4, -100)
    kw = dict(label_smoothing=smoothing)
    if weighted:
        kw_ng = dict(kw, weight=t64([1.0, 2.0, 3.0]))
        kw_t = dict(kw, weight=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    else:
        kw_ng = kw_t = kw
    for reduction in ("mean", "sum", "none"):
        xn = t64(x, grad=True)
        xt = torch.tensor(x, requires_grad=True)
        ours = F.cross_entropy(xn, ng.tensor(t), reduction=reduction, **kw_ng)
        theirs = TF.cross_entropy(xt, torch.tensor(t), reduction=reduction, **kw_t)
        close(ours, theirs)
        ours.sum().backward()
        theirs.sum().backward()
        close(xn.grad, xt.grad)
        assert not np.any(xn.grad.numpy())
    assert math.isnan(F.cross_entropy(t64(x), ng.tensor(t)).item())
    assert math.isnan(F.nll_loss(t64(x), ng.tensor(t)).item())


def test_ignore_index_may_be_a_real_class_and_mean_uses_kept_weights():
    x = np.random.default_rng(1).standard_normal((6, 4))
    t = np.array([0, 1, 1, 3, 2, 1])
    w = [0.5, 2.0, 1.0, 3.0]
    ours = F.cross_entropy(t64(x), ng.tensor(t), weight=t64(w), ignore_index=1)
    theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(t),
                              weight=torch.tensor(w, dtype=torch.float64), ignore_index=1)
    close(ours, theirs)
    # by hand: Σ w_t·(−log p_t) / Σ w_t over kept targets
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    kept = t != 1
    wt = np.array(w)[t[kept]]
    close(ours, -(wt * logp[kept, t[kept]]).sum() / wt.sum())


def test_cross_entropy_reductions_and_legacy_flags():
    x = np.random.default_rng(2).standard_normal((5, 3))
    t = np.array([0, 2, 1, 1, 0])
    none, _ = _ce_pair(x, t, reduction="none")
    assert none.shape == (5,)
    close(_ce_pair(x, t, reduction="sum")[0], none.sum())
    close(_ce_pair(x, t)[0], none.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(F.cross_entropy(t64(x), ng.tensor(t), size_average=False), none.sum())
        close(F.cross_entropy(t64(x), ng.tensor(t), reduce=False), none)
    unbatched = F.cross_entropy(t64(x[0]), ng.tensor(0), reduction="none")
    assert unbatched.shape == () and abs(unbatched.item() - none[0].item()) < 1e-12


def test_cross_entropy_large_logits_are_finite():
    x = t64([[1000.0, -1000.0, 0.0], [-5000.0, 5000.0, 4999.0]], grad=True)
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    for kw in ({}, {"label_smoothing": 0.1}):
        out = F.cross_entropy(x, ng.tensor([1, 2]), **kw)
        ref = TF.cross_entropy(xt, torch.tensor([1, 2]), **kw)
        close(out, ref)
        out.backward()
        ref.backward()
    close(x.grad, xt.grad)


# ------------------------------------------------------------------- fast vs graph backward
def _first_order(fn, inputs, create_graph):
    outs = fn(*inputs)
    g = ng.tensor(np.random.default_rng(5).standard_normal(tuple(outs.shape)))
    return ng.autograd.grad([outs], inputs, [g], create_graph=create_graph, allow_unused=True)


_FUSED = {
    "softmax": (lambda x: F.softmax(x, 1), [(3, 5)]),
    "log_softmax": (lambda x: F.log_softmax(x, 0), [(3, 5)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, ng.tensor([0, 4, 2])), [(3, 5)]),
    "cross_entropy_smooth_weight": (
        lambda x: F.cross_entropy(x, ng.tensor([0, 4, -100]), weight=t64([1., 2, 3, 4, 5]),
                                  label_smoothing=0.2, reduction="none"), [(3, 5)]),
    "cross_entropy_spatial": (lambda x: F.cross_entropy(x, ng.tensor([[0, 4], [2, 1]]),
                                                        reduction="sum"), [(2, 5, 2)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (5,), w, b), [(3, 5), (5,), (5,)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [(4, 3), (3,), (3,)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
}


@pytest.mark.parametrize("name", sorted(_FUSED))
def test_fast_backward_equals_graph_backward(name):
    """The NumPy kernel (plain backward) and the Tensor-op formula (create_graph=True) agree."""
    fn, shapes = _FUSED[name]
    rng = np.random.default_rng(3)
    inputs = [t64(rng.standard_normal(s), grad=True) for s in shapes]
    fast = _first_order(fn, inputs, False)
    graph = _first_order(fn, inputs, True)
    assert graph[0].requires_grad  # recorded: it can be differentiated again
    for a, b in zip(fast, graph):
        close(a, b, atol=1e-12, rtol=1e-10)


def test_layer_norm_large_input_matches_torch_in_float32():
    """Several blocks of rows (the blocked kernel) against PyTorch."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 700, 96)) * 3 + 5).astype(np.float32)
    w, b = rng.standard_normal(96).astype(np.float32), rng.standard_normal(96).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    ours = [ng.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.layer_norm(ours[0], (96,), ours[1], ours[2])
    yt = TF.layer_norm(theirs[0], (96,), theirs[1], theirs[2])
    close(y, yt, atol=1e-5, rtol=1e-4)
    y.backward(ng.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        close(a.grad, b.grad, atol=2e-3, rtol=1e-4)


# ----------------------------------------------------------------------------- other losses
def test_binary_cross_entropy_errors_and_clamped_log():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(ng.tensor([1.5]), ng.tensor([1.0]))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(ng.rand(4), ng.rand(3))
    x, y = t64([0.0, 1.0, 0.5]), t64([1.0, 0.0, 0.5])
    close(F.binary_cross_entropy(x, y, reduction="none"),
          TF.binary_cross_entropy(torch.tensor(x.numpy()), torch.tensor(y.numpy()),
                                  reduction="none"))
    assert F.binary_cross_entropy(x, y, reduction="none")[0].item() == 100.0


def test_bce_with_logits_is_stable():
    x = t64([-800.0, 800.0, 0.0])
    y = t64([1.0, 0.0, 1.0])
    out = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    close(out, TF.binary_cross_entropy_with_logits(torch.tensor(x.numpy()),
                                                   torch.tensor(y.numpy()), reduction="none"))


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(ng.zeros(2), ng.zeros(2), reduction="average")
    with pytest.raises(ValueError, match="same size"):
        F.mse_loss(ng.zeros(2, 3), ng.zeros(2, 3), weight=ng.ones(3))
    with pytest.raises(ValueError, match="margin"):
        F.triplet_margin_loss(ng.zeros(2, 3), ng.zeros(2, 3), ng.zeros(2, 3), margin=0)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(ng.zeros(3), ng.zeros(3), -1.0)
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(ng.zeros(3, 4), ng.zeros(3, 4), ng.ones(2, 2))
    with pytest.raises(RuntimeError, match="same dimension"):
        F.margin_ranking_loss(ng.zeros(3), ng.zeros(3), ng.ones(1, 3))
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(ng.zeros(3), ng.zeros(2, 3))


def test_kl_div_batchmean_and_mean_warning():
    x = F.log_softmax(ng.randn(4, 5).double(), 1)
    y = F.softmax(ng.randn(4, 5).double(), 1)
    ref = TF.kl_div(torch.tensor(x.numpy()), torch.tensor(y.numpy()), reduction="batchmean")
    close(F.kl_div(x, y, reduction="batchmean"), ref)
    close(F.kl_div(x, y, reduction="batchmean"), F.kl_div(x, y, reduction="sum") / 4)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, y)
    zero_target = F.kl_div(x, y * 0, reduction="sum")
    assert zero_target.item() == 0.0


# ----------------------------------------------------------------------------- normalization
def test_batch_norm_updates_running_stats_like_torch():
    rng = np.random.default_rng(6)
    rm, rv = ng.zeros(3, dtype=ng.float64), ng.ones(3, dtype=ng.float64)
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for step in range(3):
        x = rng.standard_normal((4, 3, 5)) * (step + 1) + step
        v = rm._version
        y = F.batch_norm(t64(x), rm, rv, training=True, momentum=0.2)
        yt = TF.batch_norm(torch.tensor(x), rmt, rvt, training=True, momentum=0.2)
        close(y, yt)
        close(rm, rmt)
        close(rv, rvt)  # unbiased variance, as PyTorch
        assert rm._version > v
    x = rng.standard_normal((2, 3, 5))
    close(F.batch_norm(t64(x), rm, rv), TF.batch_norm(torch.tensor(x), rmt, rvt))


def test_instance_norm_running_stats_like_torch():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 3, 4))
    rm, rv = ng.zeros(3, dtype=ng.float64), ng.ones(3, dtype=ng.float64)
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    close(F.instance_norm(t64(x), rm, rv, momentum=0.3),
          TF.instance_norm(torch.tensor(x), rmt, rvt, momentum=0.3))
    close(rm, rmt)
    close(rv, rvt)


def test_normalization_errors():
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[4\].*size \[4, 3\]"):
        F.layer_norm(ng.zeros(4, 3), (4,))
    with pytest.raises(RuntimeError, match="shape"):
        F.layer_norm(ng.zeros(4, 3), (3,), weight=ng.ones(4))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(ng.zeros(4, 6), 4)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(ng.zeros(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean"):
        F.batch_norm(ng.zeros(4, 3), None, None, training=False)
    with pytest.raises(RuntimeError, match="should contain 3 elements"):
        F.batch_norm(ng.zeros(4, 3), ng.zeros(4), ng.ones(4))
    with pytest.raises(ValueError, match="spatial"):
        F.instance_norm(ng.zeros(2, 3, 1))


# ----------------------------------------------------------------------------- dropout
def test_dropout_deterministic_cases():
    x = ng.randn(3, 4, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(x, 0.3, training=False) is x
    assert F.alpha_dropout(x, 0.3) is x  # training defaults to False
    zeros = F.dropout(x, 1.0)
    assert not np.any(zeros.detach().numpy())
    zeros.sum().backward()
    assert not np.any(x.grad.numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


def test_dropout_mask_statistics_and_scale():
    ng.manual_seed(1)
    p, n = 0.3, 200_000
    x = ng.ones(n, dtype=ng.float64, requires_grad=True)
    y = F.dropout(x, p)
    values = y.detach().numpy()
    kept = values != 0
    assert np.allclose(values[kept], 1 / (1 - p))  # survivors are scaled by 1/(1 − p)
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs((1 - kept.mean()) - p) < 5 * sigma
    assert abs(values.mean() - 1) < 5 * sigma / (1 - p)  # unbiased
    y.sum().backward()
    close(x.grad, values)  # the gradient is the same mask and scale


def test_dropout_uses_the_global_generator():
    x = ng.ones(1000)
    ng.manual_seed(42)
    a = F.dropout(x, 0.5).numpy().copy()
    ng.manual_seed(42)
    b = F.dropout(x, 0.5).numpy()
    assert np.array_equal(a, b)
    assert not np.array_equal(a, F.dropout(x, 0.5).numpy())


def test_channel_dropout_zeroes_whole_channels():
    ng.manual_seed(2)
    p = 0.5
    y = F.dropout2d(ng.ones(8, 50, 3, 3), p).numpy().reshape(8, 50, 9)
    per_channel = y[..., 0]
    assert np.all(y == per_channel[..., None])  # each channel all zero or all scaled
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert 0.3 < (per_channel == 0).mean() < 0.7
    y1 = F.dropout1d(ng.ones(40, 6), p).numpy()  # unbatched (C, L): channels are dim 0
    assert np.all(y1 == y1[:, :1])
    y3 = F.dropout3d(ng.ones(2, 30, 2, 2, 2), p).numpy().reshape(2, 30, 8)
    assert np.all(y3 == y3[..., :1])
    with pytest.raises(RuntimeError, match="2D or 3D"):
        F.dropout1d(ng.ones(2, 3, 4, 5))


def test_alpha_dropout_keeps_mean_and_variance():
    ng.manual_seed(3)
    x = ng.randn(400_000, dtype=ng.float64)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    _, counts = np.unique(y, return_counts=True)
    assert abs(counts.max() / y.size - 0.2) < 0.01  # the dropped units share one value


def test_dropout_inplace():
    ng.manual_seed(4)
    x = ng.ones(1000)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


# ----------------------------------------------------------------------------- embedding
@pytest.mark.parametrize("kw", [dict(padding_idx=2), dict(scale_grad_by_freq=True),
                                dict(padding_idx=-1, scale_grad_by_freq=True)])
def test_embedding_gradient_options_match_torch(kw):
    idx = np.array([[0, 2, 4], [2, 2, 1]])
    w = np.random.default_rng(8).standard_normal((5, 3))
    wn, wt = t64(w, grad=True), torch.tensor(w, requires_grad=True)
    y, yt = F.embedding(ng.tensor(idx), wn, **kw), TF.embedding(torch.tensor(idx), wt, **kw)
    close(y, yt)
    g = np.random.default_rng(9).standard_normal(y.shape)
    y.backward(t64(g))
    yt.backward(torch.tensor(g))
    close(wn.grad, wt.grad)


def test_embedding_max_norm_renormalizes_rows_in_place():
    w = np.random.default_rng(10).standard_normal((5, 3)) * 3
    wn, wt = t64(w), torch.tensor(w)
    idx = np.array([0, 3, 3])
    close(F.embedding(ng.tensor(idx), wn, max_norm=1.0),
          TF.embedding(torch.tensor(idx), wt, max_norm=1.0))
    close(wn, wt)  # only the rows read were changed, in both


def test_embedding_errors():
    with pytest.raises(RuntimeError, match="integer"):
        F.embedding(ng.tensor([0.0, 1.0]), ng.randn(3, 2))
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        F.embedding(ng.tensor([0, 5]), ng.randn(3, 2))


def test_one_hot():
    out = F.one_hot(ng.tensor([0, 3]))
    assert out.dtype == ng.int64 and out.tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
    assert F.one_hot(ng.tensor([], dtype=ng.int64), 3).shape == (0, 3)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(ng.tensor([0, 3]), 2)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(ng.tensor([0, -1]))
    with pytest.raises(RuntimeError, match="int64"):
        F.one_hot(ng.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="empty"):
        F.one_hot(ng.tensor([], dtype=ng.int64))


# ----------------------------------------------------------------------------- attention
def test_attention_masks_follow_torch():
    rng = np.random.default_rng(11)
    q, k, v = (rng.standard_normal(s) for s in ((2, 4, 3), (2, 4, 3), (2, 4, 2)))
    qn, kn, vn = t64(q), t64(k), t64(v)
    qt, kt, vt = torch.tensor(q), torch.tensor(k), torch.tensor(v)
    causal = F.scaled_dot_product_attention(qn, kn, vn, is_causal=True)
    close(causal, TF.scaled_dot_product_attention(qt, kt, vt, is_causal=True))
    tril = ng.tensor(np.tril(np.ones((4, 4), dtype=bool)))
    close(causal, F.scaled_dot_product_attention(qn, kn, vn, attn_mask=tril))
    nothing = ng.tensor(np.zeros((4, 4), dtype=bool))  # no key allowed: zeros, as PyTorch
    out = F.scaled_dot_product_attention(qn, kn, vn, attn_mask=nothing)
    assert not np.any(out.numpy())
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(qn, kn, vn, attn_mask=tril, is_causal=True)


def test_attention_dropout_keeps_expectation():
    ng.manual_seed(5)
    q = k = ng.zeros(1, 1, 4, dtype=ng.float64)
    v = ng.ones(1, 1, 2, dtype=ng.float64)
    outs = np.stack([F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
                     for _ in range(2000)])
    assert set(np.unique(outs)) <= {0.0, 2.0}
    assert abs(outs.mean() - 1) < 0.1


# ----------------------------------------------------------------------------- linear maps
def test_linear_backward_gives_a_dense_weight_gradient_without_copying_the_weight():
    x = ng.randn(2, 3, 4, requires_grad=True)
    w = ng.randn(5, 4, requires_grad=True)
    b = ng.randn(5, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.shape == (2, 3, 5)
    y.sum().backward()
    assert w.grad.shape == (5, 4) and w.grad.is_contiguous()
    close(w.grad, np.ones((6, 5)).T @ x.detach().numpy().reshape(6, 4), atol=1e-5, rtol=1e-5)
    close(b.grad, np.full(5, 6.0))


def test_linear_errors():
    with pytest.raises(RuntimeError, match=r"\[4, 3\].*\[5, 2\]"):
        F.linear(ng.zeros(4, 3), ng.zeros(5, 2))
    with pytest.raises(RuntimeError, match="dtype"):
        F.linear(ng.zeros(4, 3), ng.zeros(5, 3, dtype=ng.float64))
    with pytest.raises(RuntimeError, match="bilinear"):
        F.bilinear(ng.zeros(2, 3), ng.zeros(2, 4), ng.zeros(5, 3, 3))
