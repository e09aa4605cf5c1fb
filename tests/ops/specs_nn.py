"""Op specs: nn.functional (activations, softmax, losses, normalization, dropout, embedding,
attention, linear maps), each compared with torch.nn.functional."""
import numpy as np
import torch
import torch.nn.functional as TF

import nablagrad as ng
import nablagrad.nn.functional as F

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401


def kw(name, **kwargs):
    """(ng fn, torch fn) calling ``F.name(*args, **kwargs)`` in each library."""
    return (lambda *a: getattr(F, name)(*a, **kwargs),
            lambda *a: getattr(TF, name)(*a, **kwargs))


def spec(label, name, samples, **options):
    call = options.pop("kwargs", {})
    ours, theirs = kw(name, **call)
    OpSpec(label, ours, theirs, samples, **options)


def classes(r, *shape, n=5):
    return r.integers(0, n, size=shape)


def signs(r, *shape):
    return r.choice([-1.0, 1.0], size=shape)


# ----------------------------------------------------------------------------- activations
spec("relu", "relu", lambda r: [(away_from_zero(r, 3, 4),), (np.array([-2, 0, 3]),)])
spec("relu6", "relu6", lambda r: [(randn(r, 3, 4, low=-2, high=8),)])
spec("leaky_relu", "leaky_relu", lambda r: [(away_from_zero(r, 3, 4),)],
     kwargs=dict(negative_slope=0.2))
spec("prelu", "prelu", lambda r: [(away_from_zero(r, 2, 3, 4), randn(r, 3)),
                                  (away_from_zero(r, 2, 3), randn(r, 1)),
                                  (away_from_zero(r, 5), randn(r, 1))])
spec("rrelu_eval", "rrelu", lambda r: [(away_from_zero(r, 3, 4),)],
     kwargs=dict(lower=0.1, upper=0.3, training=False))
spec("elu", "elu", lambda r: [(away_from_zero(r, 3, 4),)])
spec("elu_alpha", "elu", lambda r: [(away_from_zero(r, 3, 4),)], kwargs=dict(alpha=0.5))
spec("selu", "selu", lambda r: [(away_from_zero(r, 3, 4),)])
spec("celu", "celu", lambda r: [(away_from_zero(r, 3, 4),)], kwargs=dict(alpha=0.7))
spec("gelu", "gelu", lambda r: [(randn(r, 3, 4) * 2,)])
spec("gelu_tanh", "gelu", lambda r: [(randn(r, 3, 4) * 2,)], kwargs=dict(approximate="tanh"))
spec("silu", "silu", lambda r: [(randn(r, 3, 4) * 3,)])
spec("mish", "mish", lambda r: [(randn(r, 3, 4) * 3,)])
spec("softplus", "softplus", lambda r: [(randn(r, 3, 4) * 3,)])
spec("softplus_beta", "softplus", lambda r: [(randn(r, 3, 4) * 3,)],
     kwargs=dict(beta=2.0, threshold=3.0))
spec("softsign", "softsign", lambda r: [(randn(r, 3, 4) * 2,)])
spec("hardtanh", "hardtanh", lambda r: [(randn(r, 3, 4),)],
     kwargs=dict(min_val=-0.5, max_val=0.8))
# PyTorch has no second derivative for hardsigmoid: the *_gradgrad specs compare with an
# equivalent composition, the plain spec with torch.nn.functional itself
spec("hardsigmoid", "hardsigmoid", lambda r: [(randn(r, 3, 4, low=-5, high=5),)], gradgrad=False)
OpSpec("hardsigmoid_gradgrad", F.hardsigmoid, lambda x: torch.clamp(x / 6 + 0.5, 0, 1),
       lambda r: [(randn(r, 3, 4, low=-5, high=5),)])
spec("hardswish", "hardswish", lambda r: [(randn(r, 3, 4, low=-5, high=5),)])
spec("logsigmoid", "logsigmoid", lambda r: [(randn(r, 3, 4) * 5,)])
spec("glu", "glu", lambda r: [(randn(r, 3, 4),), (randn(r, 2, 3, 4),)])
spec("glu_dim1", "glu", lambda r: [(randn(r, 2, 4, 3),)], kwargs=dict(dim=1))
spec("tanhshrink", "tanhshrink", lambda r: [(randn(r, 3, 4),)])
spec("softshrink", "softshrink", lambda r: [(randn(r, 3, 4),)], kwargs=dict(lambd=0.3))
spec("hardshrink", "hardshrink", lambda r: [(randn(r, 3, 4),)], kwargs=dict(lambd=0.3))
spec("threshold", "threshold", lambda r: [(randn(r, 3, 4),)],
     kwargs=dict(threshold=0.1, value=-2.0))

# ----------------------------------------------------------------------------- softmax family
for _name in ("softmax", "log_softmax", "softmin"):
    spec(_name, _name, lambda r: [(randn(r, 3, 4) * 3,)], kwargs=dict(dim=1))
    spec(_name + "_dim0", _name, lambda r: [(randn(r, 3, 4) * 3,), (randn(r, 2, 3, 4),)],
         kwargs=dict(dim=0))
    spec(_name + "_neg", _name, lambda r: [(randn(r, 2, 3, 4),)], kwargs=dict(dim=-1))
OpSpec("softmax_method", lambda x: x.softmax(-1), lambda x: x.softmax(-1),
       lambda r: [(randn(r, 3, 4),)])
OpSpec("log_softmax_dtype", lambda x: ng.log_softmax(x, 1, dtype=ng.float64),
       lambda x: torch.log_softmax(x, 1, dtype=torch.float64), lambda r: [(randn(r, 3, 4),)])

# ----------------------------------------------------------------------------- class losses
_W5 = lambda r: Const(positive(r, 5))  # noqa: E731


def _ce_samples(r):
    t = classes(r, 6)
    t_ign = t.copy()
    t_ign[[1, 4]] = -100
    return [(randn(r, 6, 5) * 2, t), (randn(r, 6, 5), t_ign),
            (randn(r, 2, 5, 3), classes(r, 2, 3)), (randn(r, 5), np.array(3))]


for _red in ("mean", "sum", "none"):
    spec(f"cross_entropy_{_red}", "cross_entropy", _ce_samples, kwargs=dict(reduction=_red))
    spec(f"cross_entropy_weight_{_red}", "cross_entropy",
         lambda r: [(x, t, _W5(r)) for x, t in [a[:2] for a in _ce_samples(r)]],
         kwargs=dict(reduction=_red))
    spec(f"cross_entropy_smooth_{_red}", "cross_entropy", _ce_samples,
         kwargs=dict(reduction=_red, label_smoothing=0.2))
    spec(f"cross_entropy_smooth_weight_{_red}", "cross_entropy",
         lambda r: [(x, t, _W5(r)) for x, t in [a[:2] for a in _ce_samples(r)]],
         kwargs=dict(reduction=_red, label_smoothing=0.15))
    spec(f"cross_entropy_probs_{_red}", "cross_entropy",
         lambda r: [(randn(r, 4, 5), positive(r, 4, 5) / 5), (randn(r, 2, 5, 3),
                                                               positive(r, 2, 5, 3) / 5),
                    (randn(r, 5), positive(r, 5) / 5)],
         kwargs=dict(reduction=_red))
    spec(f"cross_entropy_probs_smooth_weight_{_red}", "cross_entropy",
         lambda r: [(randn(r, 4, 5), positive(r, 4, 5) / 5, _W5(r))],
         kwargs=dict(reduction=_red, label_smoothing=0.1))
    spec(f"nll_loss_{_red}", "nll_loss", _ce_samples, kwargs=dict(reduction=_red))
    spec(f"nll_loss_weight_{_red}", "nll_loss",
         lambda r: [(x, t, _W5(r)) for x, t in [a[:2] for a in _ce_samples(r)]],
         kwargs=dict(reduction=_red))
spec("cross_entropy_ignore_index", "cross_entropy",
     lambda r: [(randn(r, 6, 5), np.array([0, 2, 2, 1, 2, 4]))], kwargs=dict(ignore_index=2))
spec("nll_loss_ignore_index", "nll_loss",
     lambda r: [(randn(r, 6, 5), np.array([0, 2, 2, 1, 2, 4]), _W5(r))],
     kwargs=dict(ignore_index=2))

# ----------------------------------------------------------------------------- binary losses
for _red in ("mean", "sum", "none"):
    spec(f"binary_cross_entropy_{_red}", "binary_cross_entropy",
         lambda r: [(randn(r, 3, 4, low=0.05, high=0.95), randn(r, 3, 4, low=0, high=1)),
                    (randn(r, 3, 4, low=0.05, high=0.95), randn(r, 3, 4, low=0, high=1),
                     Const(positive(r, 4)))],
         kwargs=dict(reduction=_red))
    spec(f"bce_with_logits_{_red}", "binary_cross_entropy_with_logits",
         lambda r: [(randn(r, 3, 4) * 3, randn(r, 3, 4, low=0, high=1)),
                    (randn(r, 3, 4) * 3, randn(r, 3, 4, low=0, high=1), Const(positive(r, 3, 4)))],
         kwargs=dict(reduction=_red))
OpSpec("bce_with_logits_pos_weight",
       lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
       lambda x, y, pw: TF.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
       lambda r: [(randn(r, 3, 4) * 3, randn(r, 3, 4, low=0, high=1), Const(positive(r, 4)))])

# ----------------------------------------------------------------------------- regression losses
def _t_abs(d):
    """|d| whose PyTorch second derivative is a plain zero tensor (abs gives a ZeroTensor that
    test_ops cannot read)."""
    return torch.where(d < 0, -d, d)


def _t_reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


_PAIRS = lambda r: [(randn(r, 3, 4), randn(r, 3, 4)),  # noqa: E731
                    (randn(r, 2, 3) * 2, Const(randn(r, 2, 3)))]
_WEIGHTED = lambda r: [(randn(r, 3, 4), randn(r, 3, 4), Const(positive(r, 3, 4)))]  # noqa: E731
for _name, _extra in (("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", dict(beta=0.5)),
                      ("huber_loss", dict(delta=0.7))):
    for _red in ("mean", "sum", "none"):
        spec(f"{_name}_{_red}", _name, _PAIRS, kwargs=dict(reduction=_red, **_extra),
             gradgrad=_name != "l1_loss")
    if _name != "smooth_l1_loss":
        OpSpec(f"{_name}_weight",
               lambda a, b, w, n=_name, e=_extra: getattr(F, n)(a, b, weight=w, **e),
               lambda a, b, w, n=_name, e=_extra: getattr(TF, n)(a, b, weight=w, **e), _WEIGHTED,
               gradgrad=_name == "mse_loss")
for _red in ("mean", "sum", "none"):
    OpSpec(f"l1_loss_gradgrad_{_red}", lambda a, b, red=_red: F.l1_loss(a, b, reduction=red),
           lambda a, b, red=_red: _t_reduce(_t_abs(a - b), red), _PAIRS)
OpSpec("l1_loss_weight_gradgrad", lambda a, b, w: F.l1_loss(a, b, weight=w),
       lambda a, b, w: (_t_abs(a - b) * w).sum() / w.sum(), _WEIGHTED)
OpSpec("huber_loss_weight_gradgrad", lambda a, b, w: F.huber_loss(a, b, delta=0.7, weight=w),
       lambda a, b, w: (TF.huber_loss(a, b, reduction="none", delta=0.7) * w).mean(), _WEIGHTED)
OpSpec("mse_loss_broadcast", lambda a, b: F.mse_loss(a, b), lambda a, b: TF.mse_loss(a, b),
       lambda r: [(randn(r, 4), randn(r, 3, 4))])
spec("smooth_l1_loss_beta0", "smooth_l1_loss", lambda r: [(randn(r, 3, 4), randn(r, 3, 4))],
     kwargs=dict(beta=0.0), gradgrad=False)
OpSpec("smooth_l1_loss_beta0_gradgrad", lambda a, b: F.smooth_l1_loss(a, b, beta=0.0),
       lambda a, b: _t_abs(a - b).mean(), lambda r: [(randn(r, 3, 4), randn(r, 3, 4))])

# ----------------------------------------------------------------------------- other losses
for _red in ("mean", "sum", "none", "batchmean"):
    spec(f"kl_div_{_red}", "kl_div", lambda r: [(randn(r, 3, 4), positive(r, 3, 4))],
         kwargs=dict(reduction=_red))
spec("kl_div_log_target", "kl_div", lambda r: [(randn(r, 3, 4), randn(r, 3, 4))],
     kwargs=dict(reduction="sum", log_target=True))
OpSpec("gaussian_nll_loss", lambda x, y, v: F.gaussian_nll_loss(x, y, v),
       lambda x, y, v: TF.gaussian_nll_loss(x, y, v),
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4), positive(r, 3, 4)),
                  (randn(r, 3, 4), randn(r, 3, 4), positive(r, 3)),
                  (randn(r, 3, 4), randn(r, 3, 4), positive(r, 3, 1))])
OpSpec("gaussian_nll_loss_full", lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True,
                                                                     reduction="sum"),
       lambda x, y, v: TF.gaussian_nll_loss(x, y, v, full=True, reduction="sum"),
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4), positive(r, 3, 4))])
OpSpec("gaussian_nll_loss_float_var", lambda x, y: F.gaussian_nll_loss(x, y, 0.7),
       lambda x, y: TF.gaussian_nll_loss(x, y, 0.7),
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4))])
spec("poisson_nll_loss", "poisson_nll_loss",
     lambda r: [(randn(r, 3, 4), positive(r, 3, 4))])
spec("poisson_nll_loss_no_log", "poisson_nll_loss",
     lambda r: [(positive(r, 3, 4), positive(r, 3, 4))], kwargs=dict(log_input=False))
spec("poisson_nll_loss_full", "poisson_nll_loss",
     lambda r: [(randn(r, 3, 4), Const(positive(r, 3, 4) * 2))], kwargs=dict(full=True))
for _red in ("mean", "sum", "none"):
    spec(f"margin_ranking_loss_{_red}", "margin_ranking_loss",
         lambda r: [(randn(r, 6), randn(r, 6), Const(signs(r, 6)))],
         kwargs=dict(margin=0.3, reduction=_red))
    spec(f"hinge_embedding_loss_{_red}", "hinge_embedding_loss",
         lambda r: [(randn(r, 3, 4), Const(signs(r, 3, 4)))], kwargs=dict(reduction=_red))
    spec(f"cosine_embedding_loss_{_red}", "cosine_embedding_loss",
         lambda r: [(randn(r, 4, 5), randn(r, 4, 5), signs(r, 4).astype(np.int64))],
         kwargs=dict(margin=0.1, reduction=_red))
    spec(f"triplet_margin_loss_{_red}", "triplet_margin_loss",
         lambda r: [(randn(r, 4, 5), randn(r, 4, 5), randn(r, 4, 5))],
         kwargs=dict(reduction=_red, margin=2.0))
spec("triplet_margin_loss_swap_p1", "triplet_margin_loss",
     lambda r: [(randn(r, 4, 5), randn(r, 4, 5), randn(r, 4, 5))],
     kwargs=dict(swap=True, p=1, margin=3.0), gradgrad=False)


def _t_triplet_p1(a, p, n, margin=3.0):
    dist = lambda x, y: _t_abs(x - y + 1e-6).sum(-1)  # noqa: E731
    return torch.clamp(margin + dist(a, p) - torch.minimum(dist(a, n), dist(p, n)), min=0).mean()


OpSpec("triplet_margin_loss_swap_p1_gradgrad",
       lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, p=1, margin=3.0), _t_triplet_p1,
       lambda r: [(randn(r, 4, 5), randn(r, 4, 5), randn(r, 4, 5))])

# ----------------------------------------------------------------------------- distances
spec("cosine_similarity", "cosine_similarity",
     lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 3, 4), randn(r, 1, 4))])
spec("cosine_similarity_dim", "cosine_similarity", lambda r: [(randn(r, 3, 4), randn(r, 3, 4))],
     kwargs=dict(dim=-1))
_DIST = lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 3, 4), randn(r, 4))]  # noqa: E731
for _p in (2.0, 1.0, 3.0):
    spec(f"pairwise_distance_p{_p:g}", "pairwise_distance", _DIST, kwargs=dict(p=_p),
         gradgrad=_p != 1.0)
OpSpec("pairwise_distance_p1_gradgrad", lambda a, b: F.pairwise_distance(a, b, p=1),
       lambda a, b: _t_abs(a - b + 1e-6).sum(-1), _DIST)
spec("pairwise_distance_keepdim", "pairwise_distance", lambda r: [(randn(r, 3, 4), randn(r, 3, 4))],
     kwargs=dict(keepdim=True))
spec("normalize", "normalize", lambda r: [(randn(r, 3, 4),), (randn(r, 2, 3, 4),)])
spec("normalize_p1", "normalize", lambda r: [(randn(r, 3, 4),)], kwargs=dict(p=1.0, dim=0))

# ----------------------------------------------------------------------------- normalization
OpSpec("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b),
       lambda x, w, b: TF.layer_norm(x, (4,), w, b),
       lambda r: [(randn(r, 2, 3, 4), randn(r, 4), randn(r, 4)),
                  (randn(r, 3, 4) * 3 + 1, randn(r, 4), Const(randn(r, 4)))])
OpSpec("layer_norm_2d", lambda x, w, b: F.layer_norm(x, (3, 4), w, b, eps=1e-3),
       lambda x, w, b: TF.layer_norm(x, (3, 4), w, b, eps=1e-3),
       lambda r: [(randn(r, 2, 3, 4), randn(r, 3, 4), randn(r, 3, 4))])
OpSpec("layer_norm_plain", lambda x: F.layer_norm(x, (4,)), lambda x: TF.layer_norm(x, (4,)),
       lambda r: [(randn(r, 3, 4),)])
OpSpec("layer_norm_weight_only", lambda x, w: F.layer_norm(x, (4,), w),
       lambda x, w: TF.layer_norm(x, (4,), w), lambda r: [(randn(r, 3, 4), randn(r, 4))])
OpSpec("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b),
       lambda x, w, b: TF.group_norm(x, 2, w, b),
       lambda r: [(randn(r, 2, 4, 3), randn(r, 4), randn(r, 4)),
                  (randn(r, 2, 6, 2, 2), randn(r, 6), randn(r, 6))])
OpSpec("group_norm_plain", lambda x: F.group_norm(x, 3), lambda x: TF.group_norm(x, 3),
       lambda r: [(randn(r, 2, 6, 2),), (randn(r, 3, 3),)])
OpSpec("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
       lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
       lambda r: [(randn(r, 2, 3, 4), randn(r, 3), randn(r, 3))])
OpSpec("instance_norm_running_eval",
       lambda x, m, v: F.instance_norm(x, m, v, use_input_stats=False),
       lambda x, m, v: TF.instance_norm(x, m, v, use_input_stats=False),
       lambda r: [(randn(r, 2, 3, 4), Const(randn(r, 3)), Const(positive(r, 3)))])
OpSpec("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
       lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
       lambda r: [(randn(r, 4, 3), randn(r, 3), randn(r, 3)),
                  (randn(r, 2, 3, 4), randn(r, 3), randn(r, 3))])
OpSpec("batch_norm_train_running",
       lambda x, m, v: F.batch_norm(x, m, v, training=True, momentum=0.3),
       lambda x, m, v: TF.batch_norm(x, m, v, training=True, momentum=0.3),
       lambda r: [(randn(r, 3, 2, 2), Const(randn(r, 2)), Const(positive(r, 2)))])
OpSpec("batch_norm_eval", lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b),
       lambda x, m, v, w, b: TF.batch_norm(x, m, v, w, b),
       lambda r: [(randn(r, 2, 3, 4), Const(randn(r, 3)), Const(positive(r, 3)), randn(r, 3),
                   randn(r, 3))])
OpSpec("local_response_norm", lambda x: F.local_response_norm(x, 3, alpha=0.1, k=2.0),
       lambda x: TF.local_response_norm(x, 3, alpha=0.1, k=2.0),
       lambda r: [(randn(r, 2, 5, 3),), (randn(r, 2, 4, 3, 2),)])
OpSpec("local_response_norm_even", lambda x: F.local_response_norm(x, 2, alpha=0.5),
       lambda x: TF.local_response_norm(x, 2, alpha=0.5), lambda r: [(randn(r, 2, 4, 3),)])

# ------------------------------------------------------------------- dropout (deterministic)
spec("dropout_p0", "dropout", lambda r: [(randn(r, 3, 4),)], kwargs=dict(p=0.0))
spec("dropout_eval", "dropout", lambda r: [(randn(r, 3, 4),)], kwargs=dict(p=0.5,
                                                                           training=False))
spec("dropout2d_eval", "dropout2d", lambda r: [(randn(r, 2, 3, 2, 2),)],
     kwargs=dict(training=False))
spec("alpha_dropout_eval", "alpha_dropout", lambda r: [(randn(r, 3, 4),)], kwargs=dict(p=0.3))
spec("feature_alpha_dropout_p0", "feature_alpha_dropout", lambda r: [(randn(r, 2, 3, 2),)],
     kwargs=dict(p=0.0, training=True))

# ----------------------------------------------------------------------------- embedding
spec("embedding", "embedding", lambda r: [(np.array([[0, 2, 4], [2, 2, 1]]), randn(r, 5, 3)),
                                          (np.array(3), randn(r, 5, 3))])
# padding_idx and scale_grad_by_freq change the gradient on purpose (no gradcheck): see
# test_nn_functional_semantics.py
OpSpec("one_hot", lambda t: F.one_hot(t, 4), lambda t: TF.one_hot(t, 4),
       lambda r: [(np.array([[0, 3], [1, 1]]),), (np.array(2),)], grad=False)
OpSpec("one_hot_infer", F.one_hot, TF.one_hot, lambda r: [(np.array([0, 3, 1]),)], grad=False)

# ----------------------------------------------------------------------------- attention
_QKV = lambda r: (randn(r, 2, 3, 4), randn(r, 2, 5, 4), randn(r, 2, 5, 2))  # noqa: E731


def _bool_mask(r):
    m = r.random((3, 5)) > 0.4
    m[:, 0] = True
    return m


def _masked_row(r):
    m = _bool_mask(r)
    m[1] = False
    return m


def _t_sdpa_3d(q, k, v, **kwargs):
    """PyTorch's attention on (B·H, L, E): its 4-D CPU kernel has no second derivative."""
    if kwargs.pop("enable_gqa", False):
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], -3)
        v = v.repeat_interleave(q.shape[-3] // v.shape[-3], -3)
    out = TF.scaled_dot_product_attention(q.reshape(-1, *q.shape[-2:]),
                                          k.reshape(-1, *k.shape[-2:]),
                                          v.reshape(-1, *v.shape[-2:]), **kwargs)
    return out.reshape(*q.shape[:-1], v.shape[-1])


spec("sdpa", "scaled_dot_product_attention", lambda r: [_QKV(r)])
OpSpec("sdpa_4d", F.scaled_dot_product_attention, _t_sdpa_3d,
       lambda r: [(randn(r, 2, 2, 3, 4), randn(r, 2, 2, 3, 4), randn(r, 2, 2, 3, 4))])
spec("sdpa_4d_torch", "scaled_dot_product_attention",
     lambda r: [(randn(r, 2, 2, 3, 4), randn(r, 2, 2, 3, 4), randn(r, 2, 2, 3, 4))],
     gradgrad=False)
spec("sdpa_bool_mask", "scaled_dot_product_attention",
     lambda r: [_QKV(r) + (_bool_mask(r),), _QKV(r) + (_masked_row(r),)])
spec("sdpa_float_mask", "scaled_dot_product_attention",
     lambda r: [_QKV(r) + (Const(randn(r, 3, 5)),), _QKV(r) + (randn(r, 2, 3, 5),)])
spec("sdpa_causal_scale", "scaled_dot_product_attention", lambda r: [_QKV(r)],
     kwargs=dict(is_causal=True, scale=0.3))
OpSpec("sdpa_gqa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
       lambda q, k, v: _t_sdpa_3d(q, k, v, enable_gqa=True),
       lambda r: [(randn(r, 1, 4, 3, 2), randn(r, 1, 2, 3, 2), randn(r, 1, 2, 3, 2))])

# ----------------------------------------------------------------------------- linear maps
spec("linear", "linear", lambda r: [(randn(r, 3, 4), randn(r, 5, 4), randn(r, 5)),
                                    (randn(r, 2, 3, 4), randn(r, 5, 4), randn(r, 5)),
                                    (randn(r, 4), randn(r, 5, 4), randn(r, 5)),
                                    (randn(r, 3, 4), randn(r, 5, 4))])
spec("bilinear", "bilinear", lambda r: [(randn(r, 3, 4), randn(r, 3, 2), randn(r, 5, 4, 2),
                                         randn(r, 5)),
                                        (randn(r, 2, 3, 4), randn(r, 2, 3, 2),
                                         randn(r, 5, 4, 2))])
