"""Fused neural-network ops (``nablagrad.nn.functional``): softmax and the losses built on it,
the normalizations, dropout, embedding, attention and the linear maps.

The hot ops (softmax, log_softmax, cross_entropy, layer_norm and the other normalizations) are
one Op each: a numerically stable forward that keeps its intermediates, and a backward that uses
them in a few vectorised NumPy passes. When the backward is itself recorded
(``create_graph=True``) the same formula is built from differentiable Tensor ops instead, which
is what gives second and higher derivatives. Ops that are used less are composed from other ops.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.graph import Op
from ._api import assign_inplace, public
from .activation import const_mul, constant, logsigmoid, _check_float
from .elementwise import promote
from .indexing import rows_added
from .random import numpy_generator

__all__ = ["softmax", "log_softmax", "softmin", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "mse_loss",
           "l1_loss", "smooth_l1_loss", "huber_loss", "gaussian_nll_loss", "poisson_nll_loss",
           "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
           "triplet_margin_loss", "cosine_similarity", "pairwise_distance", "normalize",
           "layer_norm", "group_norm", "instance_norm", "batch_norm", "local_response_norm",
           "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout", "embedding", "one_hot", "scaled_dot_product_attention",
           "linear", "bilinear"]


def _recording() -> bool:
    """True inside a backward that is itself being recorded (``create_graph=True``)."""
    return grad_mode.state.enabled


# ----------------------------------------------------------------------------- reductions
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(size_average, reduce, reduction, extra=()):
    """The reduction string, with the deprecated ``size_average``/``reduce`` flags honoured."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return "mean" if size_average and reduce else "sum" if reduce else "none"
    if reduction not in _REDUCTIONS + tuple(extra):
        raise ValueError(f"{reduction} is not a valid value for reduction: expected one of "
                         f"{', '.join(repr(r) for r in _REDUCTIONS + tuple(extra))}")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target, name):
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"{name}: using a target size ({list(target.shape)}) that is different to "
                      f"the input size ({list(input.shape)}). This will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)


def _same_shape(input, target, name):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: using a target size ({list(target.shape)}) that is different "
                         f"to the input size ({list(input.shape)}) is not supported; please "
                         "ensure they have the same size.")


# ----------------------------------------------------------------------------- softmax
def _rowdot(a, b, axis=-1):
    """Σ a·b along ``axis`` without a temporary (NumPy's vecdot), else by product and sum."""
    xp = backend.xp_of(a)
    if hasattr(xp, "vecdot"):
        return xp.vecdot(a, b, axis=axis)
    return (a * b).sum(axis=axis)


def _softmax_dim(ndim, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                      "call to include dim=X as an argument.", stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{name}: dimension {dim} out of range for a tensor with {ndim} "
                         f"dimensions (expected in [{-n}, {n - 1}])")
    return dim % n


def _softmax_array(x, dim, safe=False):
    """exp(x − max) / Σ exp(x − max) along ``dim``; ``safe``: rows of −inf only give 0."""
    xp = backend.xp_of(x)
    m = x.max(axis=dim, keepdims=True)
    if safe:
        empty = m == -math.inf
        m = xp.where(empty, x.dtype.type(0), m)
    e = x - m
    xp.exp(e, out=e)
    s = e.sum(axis=dim, keepdims=True)
    if safe:  # those rows hold only zeros: divide them by 1
        s = xp.where(empty, x.dtype.type(1), s)
    e *= 1 / s
    return e


class Softmax(Op):
    """yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``; dL/dx = y · (g − Σ g·y)."""

    def forward(self, x, dim, safe):
        self.dim = dim
        self.retain_outputs(0)
        return _softmax_array(x, dim, safe)

    def backward(self, g):
        (y,) = self.saved_tensors
        d = self.dim
        if _recording():
            return y * (g - (g * y).sum(d, keepdim=True)), None, None
        ya, ga = y._data, g._data
        dx = ga - backend.xp_of(ya).expand_dims(_rowdot(ga, ya, d), d)
        dx *= ya
        return Tensor._make(dx), None, None


class LogSoftmax(Op):
    """yᵢ = xᵢ − log Σⱼ e^(xⱼ) along ``dim``; dL/dx = g − e^y · Σ g."""

    def forward(self, x, dim):
        self.dim = dim
        self.retain_outputs(0)
        xp = backend.xp_of(x)
        z = x - x.max(axis=dim, keepdims=True)
        z -= xp.log(xp.exp(z).sum(axis=dim, keepdims=True))
        return z

    def backward(self, g):
        (y,) = self.saved_tensors
        d = self.dim
        if _recording():
            return g - y.exp() * g.sum(d, keepdim=True), None
        xp = backend.xp_of(y._data)
        e = xp.exp(y._data)
        e *= g._data.sum(axis=d, keepdims=True)
        xp.subtract(g._data, e, out=e)
        return Tensor._make(e), None


def _softmax_input(input, dim, dtype, name):
    if dtype is not None:
        input = input.to(dtype)
    _check_float(input, name)
    return input, _softmax_dim(input.ndim, dim, name)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(xᵢ) / Σⱼ exp(xⱼ) along ``dim`` (computed after subtracting the max)."""
    input, dim = _softmax_input(input, dim, dtype, "softmax")
    if input.ndim == 0:
        return Softmax.apply(input.reshape(1), 0, False).reshape(())
    return Softmax.apply(input, dim, False)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """xᵢ − log Σⱼ exp(xⱼ) along ``dim`` (stable: the max is subtracted first)."""
    input, dim = _softmax_input(input, dim, dtype, "log_softmax")
    if input.ndim == 0:
        return LogSoftmax.apply(input.reshape(1), 0).reshape(())
    return LogSoftmax.apply(input, dim)


@public(name="softmax")
def _softmax(input, dim, dtype=None):
    """``nablagrad.softmax(input, dim, dtype)`` and ``Tensor.softmax(dim, dtype)``."""
    return softmax(input, dim, dtype=dtype)


@public(name="log_softmax")
def _log_softmax(input, dim, dtype=None):
    """``nablagrad.log_softmax(input, dim, dtype)`` and ``Tensor.log_softmax(dim, dtype)``."""
    return log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(−x) along ``dim``."""
    input, dim = _softmax_input(input, dim, dtype, "softmin")
    return softmax(-input, dim)


# ----------------------------------------------------------------------------- class targets
def _class_layout(input, target, name):
    """Check input (C), (N, C) or (N, C, d1, ...) against target (), (N) or (N, d1, ...) of class
    indices; return the input with a batch dim, the target array, and whether it was unbatched."""
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have at least 1 dimension (got a scalar)")
    if target._data.dtype not in (backend.int64.np, backend.uint8.np):
        raise RuntimeError(f"{name}: expected target dtype to be int64 (Long) or uint8 (Byte), "
                           f"but got {target.dtype}")
    unbatched = input.ndim == 1
    if unbatched:
        if target.ndim != 0:
            raise ValueError(f"{name}: for an unbatched input of shape {list(input.shape)} the "
                             f"target must be a scalar, got shape {list(target.shape)}")
        return input.reshape(1, -1), target._data.reshape(1), True
    if target.ndim == 0 or input.shape[0] != target.shape[0]:
        raise ValueError(f"{name}: expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size; input shape {list(input.shape)}, target shape "
                         f"{list(target.shape)}")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise RuntimeError(f"{name}: expected target size {list(expected)}, got "
                           f"{list(target.shape)} (input shape {list(input.shape)})")
    return input, target._data, False


def _class_weight(weight, n_classes, dtype, name):
    if weight is None:
        return None
    if weight.dtype != dtype:
        raise RuntimeError(f"{name}: expected weight of dtype {dtype} (the input's), got "
                           f"{weight.dtype}")
    if tuple(weight.shape) != (n_classes,):
        raise RuntimeError(f"{name}: weight tensor should be defined either for all "
                           f"{n_classes} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if weight._rg and grad_mode.state.enabled:
        raise RuntimeError(f"{name} is not differentiable with respect to argument 'weight'; "
                           "it cannot require grad")
    return weight._data


def _targets(t, n_classes, ignore_index, name):
    """(kept mask or None if every target is kept, targets with ignored entries set to 0);
    raises for a class out of range."""
    xp = backend.xp_of(t)
    kept = t != ignore_index
    if kept.all():
        kept, safe = None, t
    else:
        safe = xp.where(kept, t, 0)
    out_of_range = (safe < 0) | (safe >= n_classes)
    if out_of_range.any():
        bad = safe[out_of_range].reshape(-1)[0]
        raise IndexError(f"{name}: target {int(bad)} is out of bounds for {n_classes} classes "
                         f"(expected 0 <= target < {n_classes}, or ignore_index="
                         f"{ignore_index})")
    return kept, safe


def _class_index(safe):
    """Index of the target class of every element: x[idx] has the target's shape, for x of
    shape (N, C, d1, ...) and targets (N, d1, ...)."""
    xp = backend.xp_of(safe)
    if safe.ndim == 1:
        return xp.arange(safe.shape[0]), safe
    grid = xp.ogrid[tuple(slice(n) for n in safe.shape)]
    return (grid[0], safe) + tuple(grid[1:])


def _class_coef(kept, safe, w, dtype):
    """Per-element weight w[target], 0 where the target is ignored (None: all ones)."""
    if w is None:
        return None if kept is None else kept.astype(dtype)
    return w[safe] if kept is None else w[safe] * kept


def _reduced_output(loss_n, coef, reduction, xp, dtype):
    """Reduce per-element losses; 'mean' divides by the summed weights (NaN if that is 0)."""
    if reduction == "none":
        return loss_n, None
    total = loss_n.sum()
    if reduction == "sum":
        return xp.asarray(total, dtype=dtype), None
    denom = loss_n.size if coef is None else coef.sum()
    value = total / denom if denom != 0 else math.nan
    return xp.asarray(value, dtype=dtype), denom


def _grad_scale(g, reduction, denom):
    """dL/d(loss_n), broadcastable over (N, *): g, or g / Σweights for 'mean'."""
    if reduction == "mean":
        return g / denom if denom else g * 0
    return g


def _per_class(w, ndim):
    """The class weights shaped to broadcast along dim 1 of an ``ndim``-D input."""
    return w.reshape((-1,) + (1,) * (ndim - 2))


# Large 2-D NumPy inputs (N, C) are processed over blocks of rows on several threads.
def _threaded_rows(x) -> bool:
    return x.ndim == 2 and type(x) is np.ndarray and x.size >= backend.PARALLEL_MIN_SIZE


def _shifted(x):
    """z = x − max over dim 1, a fresh array."""
    if not _threaded_rows(x):
        return x - x.max(axis=1, keepdims=True)
    z = np.empty(x.shape, x.dtype)

    def rows(i, j):
        np.subtract(x[i:j], x[i:j].max(axis=1, keepdims=True), out=z[i:j])
    backend.parallel_chunks(rows, x.shape[0], unit=x.shape[1])
    return z


def _exp_row_sums(z):
    """z ← e^z in place; returns Σ e^z over dim 1."""
    if not _threaded_rows(z):
        backend.xp_of(z).exp(z, out=z)
        return z.sum(axis=1)
    s = np.empty(z.shape[0], z.dtype)

    def rows(i, j):
        np.exp(z[i:j], out=z[i:j])
        z[i:j].sum(axis=1, out=s[i:j])
    backend.parallel_chunks(rows, z.shape[0], unit=z.shape[1])
    return s


def _scale_rows(e, scale):
    """e · scale[:, None] (a fresh array): row n of e times scale[n]."""
    if not (_threaded_rows(e) and type(scale) is np.ndarray and scale.shape == e.shape[:1]):
        return e * scale[:, None]
    out = np.empty(e.shape, np.result_type(e, scale))

    def rows(i, j):
        np.multiply(e[i:j], scale[i:j, None], out=out[i:j])
    backend.parallel_chunks(rows, e.shape[0], unit=e.shape[1])
    return out


class CrossEntropy(Op):
    """Fused log_softmax + weighted negative log-likelihood with label smoothing ε.

    With z = x − max, lse = log Σ_c e^(z_c), w_n = w[t_n] (0 if ignored), W = Σ_c w_c:
        loss_n = (1 − ε)·w_n·(lse − z_{t_n}) + (ε/C)·[t_n kept]·(W·lse − Σ_c w_c z_c),
    and 'mean' divides Σ loss_n by Σ w_n. With p = softmax(x) and a_n = dL/d(loss_n):
        dL/dx_nc = a_n·(p_c·k_n − (1 − ε)w_n[c = t_n] − (ε/C)[kept]w_c),
        k_n = (1 − ε)w_n + (ε/C)[kept]W.
    """

    def forward(self, x, t, w, ignore_index, reduction, eps):
        xp = backend.xp_of(x)
        n_classes = x.shape[1]
        kept, safe = _targets(t, n_classes, ignore_index, "cross_entropy")
        coef = _class_coef(kept, safe, w, x.dtype)
        idx = _class_index(safe)
        z = _shifted(x)
        z_t = z[idx]
        if eps:
            wz = (z if w is None else z * _per_class(w, x.ndim)).sum(axis=1)
        s = _exp_row_sums(z)
        lse = xp.log(s)
        loss_n = lse - z_t
        if coef is not None:
            loss_n *= coef
        if eps:
            smooth = lse * (n_classes if w is None else w.sum()) - wz
            if kept is not None:
                smooth *= kept
            loss_n = loss_n * (1 - eps) + smooth * (eps / n_classes)
            if coef is None:  # 'mean' still divides by the number of kept targets
                coef = xp.ones(loss_n.shape, x.dtype) if kept is None else kept.astype(x.dtype)
        out, denom = _reduced_output(loss_n, coef, reduction, xp, x.dtype)
        if self.requires_grad:
            self.retain_inputs(0)
            self.e, self.s, self.idx, self.coef, self.w = z, s, idx, coef, w
            self.kept = None if kept is None else kept.astype(x.dtype)
            self.reduction, self.eps, self.denom = reduction, eps, denom
        return out

    def _k1(self):
        """k_n of the docstring (an array, or a number when it is the same for all n)."""
        n_classes, eps, w = self.e.shape[1], self.eps, self.w
        k1 = 1 - eps if self.coef is None else self.coef * (1 - eps)
        if eps:
            smooth = (n_classes if w is None else w.sum()) * eps / n_classes
            k1 = k1 + (smooth if self.kept is None else self.kept * smooth)
        return k1

    def _smoothing_term(self, a):
        """(ε/C)·a_n·[kept]·w_c, the smoothing part of the gradient, shaped like x."""
        n_classes, w, ndim = self.e.shape[1], self.w, self.e.ndim
        scale = a * (self.eps / n_classes)
        if self.kept is not None:
            scale = scale * self.kept
        if backend.xp_of(self.e).ndim(scale):  # per element: broadcast along the classes
            scale = scale[:, None]
        return scale * (1 if w is None else _per_class(w, ndim))

    def backward(self, g):
        (x,) = self.saved_tensors
        xp = backend.xp_of(self.e)
        eps = self.eps
        k1 = self._k1()
        on_target = 1 - eps if self.coef is None else self.coef * (1 - eps)
        if _recording():  # the same formula in Tensor ops, with p = softmax(x) differentiable
            a = _grad_scale(g, self.reduction, self.denom)
            if self.reduction == "none":
                a = a.unsqueeze(1)
            k2 = xp.zeros_like(self.e)
            k2[self.idx] = on_target
            if eps:
                k2 += self._smoothing_term(1)
            k1 = xp.broadcast_to(xp.asarray(k1, dtype=self.e.dtype), self.s.shape)[:, None]
            p = Softmax.apply(x, 1, False)
            return p * (a * constant(k1)) - a * constant(k2), None, None, None, None, None
        a = _grad_scale(g._data, self.reduction, self.denom)
        scale = a * k1 / self.s
        dx = _scale_rows(self.e, scale)
        dx[self.idx] -= a * on_target
        if eps:
            dx -= self._smoothing_term(a)
        return Tensor._make(dx), None, None, None, None, None


def _prob_target_cross_entropy(input, target, weight, reduction, label_smoothing):
    """−Σ_c w_c·y_c·log softmax(x)_c for class probabilities y (smoothed: y(1 − ε) + ε/C);
    'mean' divides by the number of elements per class."""
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    logp = log_softmax(input, class_dim)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        logp = logp * weight.reshape((n_classes,) + (1,) * (input.ndim - class_dim - 1))
    loss = -(logp * target)
    if reduction == "none":
        return loss.sum(class_dim)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (input.numel() / n_classes)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy between softmax(input) over dim 1 (dim 0 for unbatched input) and targets
    given as class indices or as class probabilities (same shape as the input)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_float(input, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    if target._data.dtype.kind == "f":
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(f"cross_entropy: a floating-point target holds class "
                               f"probabilities and must have the input's shape "
                               f"{list(input.shape)}, got {list(target.shape)}")
        if ignore_index != -100:
            raise RuntimeError("cross_entropy: ignore_index is not supported for floating point "
                               "target")
        class_dim = 0 if input.ndim == 1 else 1
        w = None if weight is None else constant(
            _class_weight(weight, input.shape[class_dim], input.dtype, "cross_entropy"))
        return _prob_target_cross_entropy(input, target, w, reduction, label_smoothing)
    x, t, unbatched = _class_layout(input, target, "cross_entropy")
    w = _class_weight(weight, x.shape[1], x.dtype, "cross_entropy")
    out = CrossEntropy.apply(x, t, w, ignore_index, reduction, label_smoothing)
    return out.reshape(()) if unbatched and reduction == "none" else out


class NLLLoss(Op):
    """loss_n = −w_{t_n}·x_{n,t_n} (0 where t_n is ignored); 'mean' divides by Σ w_{t_n}.
    dL/dx_nc = −a_n·w_{t_n}·[c = t_n], a linear map of the incoming gradient a."""

    def forward(self, x, t, w, ignore_index, reduction):
        xp = backend.xp_of(x)
        kept, safe = _targets(t, x.shape[1], ignore_index, "nll_loss")
        coef = _class_coef(kept, safe, w, x.dtype)
        idx = _class_index(safe)
        loss_n = -x[idx]
        if coef is not None:
            loss_n *= coef
        out, denom = _reduced_output(loss_n, coef, reduction, xp, x.dtype)
        self.shape, self.dtype, self.idx, self.coef = x.shape, x.dtype, idx, coef
        self.reduction, self.denom = reduction, denom
        return out

    def backward(self, g):
        xp = backend.xp_of(self.idx[1])
        picks = xp.zeros(self.shape, dtype=self.dtype)
        picks[self.idx] = -1 if self.coef is None else -self.coef
        a = _grad_scale(g, self.reduction, self.denom)
        if self.reduction == "none":
            a = a.unsqueeze(1)
        return a * constant(picks), None, None, None, None


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class ``target``."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_float(input, "nll_loss")
    x, t, unbatched = _class_layout(input, target, "nll_loss")
    w = _class_weight(weight, x.shape[1], x.dtype, "nll_loss")
    out = NLLLoss.apply(x, t, w, ignore_index, reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


# ----------------------------------------------------------------------------- binary
class BinaryCrossEntropy(Op):
    """loss = −w·(y·log x + (1 − y)·log(1 − x)), each log clamped at −100;
    ∂/∂x = w·(x − y) / max(x(1 − x), 1e-12), ∂/∂y = w·(log(1 − x) − log x)."""

    def forward(self, x, y, w):
        xp = backend.xp_of(x)
        if ((x < 0) | (x > 1)).any():
            raise RuntimeError("binary_cross_entropy: all elements of input should be between "
                               "0 and 1")
        self.retain_inputs(0, 1)
        self.w = w
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log(1 - x), -100)
        loss = -(y * (log_x - log_1mx) + log_1mx)
        return loss if w is None else loss * w

    def backward(self, g):
        x, y = self.saved_tensors
        if self.w is not None:
            g = g * constant(self.w)
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = g * (x - y) / ((1 - x) * x).clamp(min=1e-12)
        if self.needs_input_grad[1]:
            gy = g * ((1 - x).log() - x.log())
        return gx, gy, None


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross entropy between probabilities ``input`` and ``target`` (same shape)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_float(input, "binary_cross_entropy")
    _same_shape(input, target, "binary_cross_entropy")
    w = None
    if weight is not None:
        if weight._rg and grad_mode.state.enabled:
            raise RuntimeError("binary_cross_entropy is not differentiable with respect to "
                               "argument 'weight'; it cannot require grad")
        w = backend.xp_of(input._data).broadcast_to(weight._data, input.shape)
    return _reduce(BinaryCrossEntropy.apply(input, target, w), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross entropy on logits, stable for any x:
    loss = w·((1 − y)·x − (1 + (p_w − 1)·y)·log σ(x)), composed on the stable log σ."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_float(input, "binary_cross_entropy_with_logits")
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    log_sig = logsigmoid(input)
    if pos_weight is not None:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * log_sig
    else:
        loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- regression
class RegressionLoss(Op):
    """loss = ρ(d), d = x − y, for ρ among: mse d²; l1 |d|; smooth_l1 ½d²/β if |d| < β else
    |d| − ½β; huber ½d² if |d| < δ else δ(|d| − ½δ). dL/dx = −dL/dy = a·ρ′(d)."""

    def forward(self, x, y, kind, param, reduction):
        xp = backend.xp_of(x)
        self.retain_inputs(0, 1)
        d = x - y
        self.kind, self.param, self.reduction, self.shape = kind, param, reduction, d.shape
        if kind == "mse":
            self.sign = None
            if reduction != "none":
                total = _rowdot(d.reshape(-1), d.reshape(-1))
                return xp.asarray(total / d.size if reduction == "mean" else total,
                                  dtype=d.dtype)
            loss = d * d
        else:
            ad = xp.abs(d)
            self.sign = xp.sign(d)
            self.small = ad < param if kind != "l1" else None
            if kind == "l1":
                loss = ad
            elif kind == "smooth_l1":
                loss = xp.where(self.small, d * d * (0.5 / param), ad - 0.5 * param)
            else:
                loss = xp.where(self.small, d * d * 0.5, (ad - 0.5 * param) * param)
        if reduction == "none":
            return loss
        return xp.asarray(loss.mean() if reduction == "mean" else loss.sum(), dtype=d.dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        a = g / math.prod(self.shape) if self.reduction == "mean" else g
        kind = self.kind
        if kind == "mse":
            gd = (x - y) * (a * 2)
        elif kind == "l1":
            gd = a * constant(self.sign)
        else:
            lin = self.sign * ~self.small
            slope = 1 / self.param if kind == "smooth_l1" else 1
            if kind == "huber":
                lin = lin * self.param
            gd = const_mul(x - y, self.small) * (a * slope) + a * constant(lin)
        need_x, need_y = self.needs_input_grad[:2]
        return (gd if need_x else None), (-gd if need_y else None), None, None, None


def _regression(input, target, kind, param, reduction, weight, name, weighted_mean):
    _check_float(input, name)
    _warn_size(input, target, name)
    input, target = promote(input, target, name)
    if weight is None:
        return RegressionLoss.apply(input, target, kind, param, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{name}: weights and input must have the same size (weight "
                         f"{list(weight.shape)}, input {list(input.shape)})")
    loss = RegressionLoss.apply(input, target, kind, param, "none") * weight
    if reduction == "mean" and weighted_mean:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(x − y)², reduced; with ``weight``, 'mean' is Σ w(x − y)² / Σ w."""
    reduction = _reduction(size_average, reduce, reduction)
    return _regression(input, target, "mse", None, reduction, weight, "mse_loss", True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|x − y|, reduced; with ``weight``, 'mean' is Σ w|x − y| / Σ w."""
    reduction = _reduction(size_average, reduce, reduction)
    return _regression(input, target, "l1", None, reduction, weight, "l1_loss", True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """½(x − y)²/β where |x − y| < β, else |x − y| − ½β (β = 0: l1_loss)."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta ({beta})")
    kind = "l1" if beta == 0 else "smooth_l1"
    return _regression(input, target, kind, beta, reduction, None, "smooth_l1_loss", False)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """½(x − y)² where |x − y| < δ, else δ(|x − y| − ½δ); with ``weight``, the weighted
    elementwise loss is reduced as usual."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta ({delta})")
    return _regression(input, target, "huber", delta, reduction, weight, "huber_loss", False)


# ----------------------------------------------------------------------------- other losses
class StraightThroughClampMin(Op):
    """y = max(a, lo) whose gradient passes as if it were the identity (PyTorch clamps these
    values in place under no_grad, e.g. the variance of gaussian_nll_loss)."""

    def forward(self, a, lo):
        return backend.xp_of(a).maximum(a, lo)

    def backward(self, g):
        return g, None


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence with ``input`` log-probabilities: y·(log y − x), 0 where y = 0
    (or e^y·(y − x) with ``log_target``). 'batchmean' divides the sum by the batch size."""
    reduction = _reduction(size_average, reduce, reduction, extra=("batchmean",))
    if reduction == "mean":
        warnings.warn("kl_div: reduction 'mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.", stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target._data > 0
        safe = const_mul(target, positive) + constant(
            (~positive).astype(target._data.dtype))
        loss = target * safe.log() - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """½(log max(var, eps) + (x − y)² / max(var, eps)) (+ ½log 2π with ``full``). ``var`` may
    have one dimension less than the input, or a size-1 dimension (homoscedastic)."""
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        var = input.new_full(tuple(input.shape), float(var))
    elif (var._data < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and sum(
                b for a, b in zip(input.shape, var.shape) if a != b) == 1):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size {list(var.shape)} "
                             f"for input of size {list(input.shape)}")
    reduction = _reduction(None, None, reduction)
    var = StraightThroughClampMin.apply(var, eps)
    diff = input - target
    loss = (var.log() + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood: e^x − y·x (``log_input``) or x − y·log(x + eps),
    plus Stirling's y·log y − y + ½log(2πy) for y > 1 with ``full``."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target._data > 1
        t = const_mul(target, big) + constant((~big).astype(target._data.dtype))
        stirling = t * t.log() - t + (t * (2 * math.pi)).log() * 0.5
        loss = loss + const_mul(stirling, big)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, −y·(x₁ − x₂) + margin)."""
    reduction = _reduction(size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss: all input tensors should have same dimension "
                           f"but got sizes: input1: {list(input1.shape)}, input2: "
                           f"{list(input2.shape)}, target: {list(target.shape)}")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1, max(0, margin − x) where y = −1 (targets ±1)."""
    reduction = _reduction(size_average, reduce, reduction)
    t = backend.xp_of(target._data).broadcast_to(target._data, input.shape)
    loss = const_mul((margin - input).clamp(min=0), t != 1) + const_mul(input, t != -1)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 − cos(x₁, x₂) where y = 1, max(0, cos(x₁, x₂) − margin) where y = −1, with
    cos = x₁·x₂ / √((|x₁|² + 1e-12)(|x₂|² + 1e-12)) over the last dim."""
    reduction = _reduction(size_average, reduce, reduction)
    d = input1.ndim - 1
    prod = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + 1e-12
    mag2 = (input2 * input2).sum(d) + 1e-12
    cos = prod / (mag1 * mag2).sqrt()
    t = backend.xp_of(target._data).broadcast_to(target._data, cos.shape)
    loss = const_mul(1 - cos, t == 1) + const_mul((cos - margin).clamp(min=0), t == -1)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) − d(a, n)), d the p-norm pairwise distance; with ``swap``,
    d(a, n) is replaced by min(d(a, n), d(p, n))."""
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"triplet_margin_loss: the anchor, positive and negative tensors "
                           f"must have the same number of dimensions, got "
                           f"{anchor.ndim}, {positive.ndim} and {negative.ndim}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), reduction)


# ----------------------------------------------------------------------------- distances
def _vector_norm(x, p, dim, keepdim=False):
    """‖x‖_p along ``dim``, composed from differentiable ops."""
    if p == 2:
        return (x * x).sum(dim, keepdim=keepdim).sqrt()
    if p == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    if p == math.inf:
        return x.abs().amax(dim, keepdim=keepdim)
    if p == 0:
        return (x != 0).to(x.dtype).sum(dim, keepdim=keepdim)
    return (x.abs() ** p).sum(dim, keepdim=keepdim) ** (1 / p)


@public(method=False)
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x₁ − x₂ + eps‖_p over the last dimension."""
    dim = max(x1.ndim, x2.ndim) - 1
    return _vector_norm(x1 - x2 + eps, p, max(dim, 0), keepdim)


@public(method=False)
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Σ (x₁/max(‖x₁‖, eps))·(x₂/max(‖x₂‖, eps)) along ``dim``; the clamp is invisible to the
    gradient, as in PyTorch."""
    n1 = StraightThroughClampMin.apply(_vector_norm(x1, 2, dim, True), eps)
    n2 = StraightThroughClampMin.apply(_vector_norm(x2, 2, dim, True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(‖x‖_p, eps) along ``dim``."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported; use the returned tensor")
    return input / _vector_norm(input, p, dim, True).clamp(min=eps)


# ----------------------------------------------------------------------------- normalization
# All normalizations compute x̂ = (x − μ)/σ over groups of elements (μ, σ² the group's mean and
# biased variance, σ = √(σ² + ε)), then y = x̂·w + b per channel. With gʷ = dL/dy·w, per group
#     dL/dx = (gʷ − mean(gʷ) − x̂·mean(gʷ·x̂)) / σ,
# and dL/dw = Σ dL/dy·x̂, dL/db = Σ dL/dy over all but the channel.
#
# ``stats`` = (shape, axes) views x so that each group is the ``axes`` of that shape;
# ``affine`` = (shape, param_shape, axes) views x so that w and b reshaped to param_shape
# broadcast per channel, and dw, db sum over ``axes``.

def _normalize_backward_graph(op, g, x, w, stats, affine, eps):
    """The normalization backward in differentiable Tensor ops (statistics recomputed from x),
    for create_graph=True."""
    (s_shape, s_axes), (a_shape, p_shape, a_axes) = stats, affine
    need_x, need_w, need_b = op.needs_input_grad[:3]
    xs = x.reshape(s_shape)
    xc = xs - xs.mean(s_axes, keepdim=True)
    rstd = ((xc * xc).mean(s_axes, keepdim=True) + eps).rsqrt()
    xhat = xc * rstd
    gy = g.reshape(a_shape)
    gw = (gy if w is None else gy * w.reshape(p_shape)).reshape(s_shape)
    dx = (gw - gw.mean(s_axes, keepdim=True)
          - xhat * (gw * xhat).mean(s_axes, keepdim=True)) * rstd if need_x else None
    dw = (gy * xhat.reshape(a_shape)).sum(a_axes).reshape(op.shapes[1]) if need_w else None
    db = gy.sum(a_axes).reshape(op.shapes[2]) if need_b else None
    return (dx.reshape(x.shape) if need_x else None), dw, db


def _shapes(*arrays):
    return tuple(None if a is None else a.shape for a in arrays)


#: elements per block of rows in LayerNorm: a block's arrays stay in the cache, and blocks are
#: big enough that the Python work per block is small (best measured: 2^17 to 2^18)
_BLOCK = 1 << 17


def _over_rows(fn, x, rows, d):
    """``fn(start, stop)`` over ``rows`` rows of ``d`` elements: on several threads for large
    NumPy arrays (each thread takes a contiguous range of rows), else in one call."""
    if backend.xp_of(x) is not np:
        return [fn(0, rows)]
    return backend.parallel_chunks(fn, rows, unit=d)


class LayerNorm(Op):
    """Normalization over the last ``d`` elements, viewing x as rows (R, d), with w, b of d.

    Runs over blocks of rows (a handful of passes over cache-resident blocks rather than over
    the whole tensor); row means and sums of products are matrix-vector products.
    """

    def forward(self, x, w, b, d, eps):
        xp = backend.xp_of(x)
        self.shapes = _shapes(x, w, b)
        x2 = x.reshape(-1, d)
        rows = x2.shape[0]
        w = None if w is None else w.reshape(d)
        b = None if b is None else b.reshape(d)
        y, xhat = xp.empty(x.shape, x.dtype), xp.empty(x2.shape, x.dtype)
        y2 = y.reshape(rows, d)
        rstd = xp.empty((rows, 1), x.dtype)
        mean_w = xp.full(d, 1 / d, x.dtype)
        step = max(1, _BLOCK // d)

        def normalize_rows(start, stop):
            for i in range(start, stop, step):
                k = min(i + step, stop)
                xs, xc, ys = x2[i:k], xhat[i:k], y2[i:k]
                xp.subtract(xs, (xs @ mean_w)[:, None], out=xc)
                r = 1 / xp.sqrt(_rowdot(xc, xc)[:, None] * (1 / d) + eps)
                xc *= r
                rstd[i:k] = r
                if w is None:
                    ys[...] = xc
                else:
                    xp.multiply(xc, w, out=ys)
                if b is not None:
                    ys += b
        _over_rows(normalize_rows, x, rows, d)
        if self.requires_grad:
            self.retain_inputs(0, 1)
            self.xhat, self.rstd, self.d, self.eps = xhat, rstd, d, eps
        return y

    def backward(self, g):
        x, w = self.saved_tensors
        d = self.d
        if _recording():
            rows = x.numel() // d
            return _normalize_backward_graph(self, g, x, w, ((rows, d), (1,)),
                                             ((rows, d), (d,), (0,)), self.eps) + (None, None)
        grads = self._backward_arrays(g._data.reshape(-1, d),
                                      None if w is None else w._data.reshape(d))
        return tuple(None if a is None else Tensor._make(a) for a in grads) + (None, None)

    def _backward_arrays(self, g2, w):
        """dx, dw, db as arrays of the inputs' shapes (fresh, so the engine need not copy)."""
        xp = backend.xp_of(g2)
        xhat, rstd, d = self.xhat, self.rstd, self.d
        need_x, need_w, need_b = self.needs_input_grad[:3]
        rows, dtype = xhat.shape[0], xhat.dtype
        step = max(1, _BLOCK // d)
        dx_full = xp.empty(self.shapes[0], dtype) if need_x else None
        dx = None if dx_full is None else dx_full.reshape(rows, d)
        w_or_ones = w if w is not None else xp.ones(d, dtype)
        ones = xp.ones(step, dtype)

        def rows_backward(start, stop):
            """Write dx for rows [start, stop); return their (dw, db) in float64."""
            dw = xp.zeros(d, "float64") if need_w else None
            db = xp.zeros(d, "float64") if need_b else None
            scratch = xp.empty((min(step, stop - start), d), dtype)
            for i in range(start, stop, step):
                k = min(i + step, stop)
                gs, xs = g2[i:k], xhat[i:k]
                n = gs.shape[0]
                t = scratch[:n]
                xp.multiply(gs, xs, out=t)  # g·x̂
                if need_w:
                    dw += ones[:n] @ t
                if need_b:
                    db += ones[:n] @ gs
                if not need_x:
                    continue
                r = rstd[i:k]
                c2 = (t @ w_or_ones)[:, None] * (r * (1 / d))  # mean(gʷ·x̂)/σ
                c1 = (gs @ w_or_ones)[:, None] * (r * (1 / d))  # mean(gʷ)/σ
                out = dx[i:k]
                xp.multiply(gs, w_or_ones, out=out)
                out *= r
                xp.multiply(xs, c2, out=t)
                t += c1
                out -= t
            return dw, db
        parts = _over_rows(rows_backward, g2, rows, d)
        dw = None if not need_w else sum(p[0] for p in parts)
        db = None if not need_b else sum(p[1] for p in parts)
        return (dx_full, None if dw is None else dw.astype(dtype).reshape(self.shapes[1]),
                None if db is None else db.astype(dtype).reshape(self.shapes[2]))


class Normalize(Op):
    """Group, instance and batch normalization (see the section comment); ``on_stats(mean,
    var)`` receives the statistics (running averages of batch and instance norm)."""

    def forward(self, x, w, b, stats, affine, eps, on_stats):
        xp = backend.xp_of(x)
        self.shapes = _shapes(x, w, b)
        (s_shape, s_axes), (a_shape, p_shape, _) = stats, affine
        xs = x.reshape(s_shape)
        mu = xs.mean(axis=s_axes, keepdims=True)
        xc = xs - mu
        var = (xc * xc).mean(axis=s_axes, keepdims=True)
        if on_stats is not None:
            on_stats(mu, var)
        rstd = 1 / xp.sqrt(var + eps)
        xc *= rstd
        xhat = xc.reshape(a_shape)
        if w is not None:
            y = xhat * w.reshape(p_shape)
            if b is not None:
                y += b.reshape(p_shape)
        elif b is not None:
            y = xhat + b.reshape(p_shape)
        else:  # the output must not share memory with the cached x̂
            y = xhat.copy() if self.requires_grad else xhat
        if self.requires_grad:
            self.retain_inputs(0, 1)
            self.cache = (xhat, rstd, stats, affine, eps)
        return y.reshape(x.shape)

    def backward(self, g):
        x, w = self.saved_tensors
        xhat, rstd, stats, affine, eps = self.cache
        if _recording():
            return _normalize_backward_graph(self, g, x, w, stats, affine, eps) + (None,) * 4
        (s_shape, s_axes), (a_shape, p_shape, a_axes) = stats, affine
        need_x, need_w, need_b = self.needs_input_grad[:3]
        gy = g._data.reshape(a_shape)
        dx = dw = db = None
        if need_x:
            gw = gy if w is None else gy * w._data.reshape(p_shape)
            gws, xh = gw.reshape(s_shape), xhat.reshape(s_shape)
            n = math.prod(s_shape[i] for i in s_axes)
            m2 = (gws * xh).sum(axis=s_axes, keepdims=True)
            m1 = gws.sum(axis=s_axes, keepdims=True)
            out = xh * (m2 * (1 / n))
            backend.xp_of(out).subtract(gws, out, out=out)
            out -= m1 * (1 / n)
            out *= rstd
            dx = Tensor._make(out.reshape(x.shape))
        if need_w:
            dw = Tensor._make((gy * xhat).sum(axis=a_axes).reshape(self.shapes[1]))
        if need_b:
            db = Tensor._make(gy.sum(axis=a_axes).reshape(self.shapes[2]))
        return dx, dw, db, None, None, None, None


def _param(p, shape, dtype, name, what):
    if p is None:
        return None
    if tuple(p.shape) != tuple(shape):
        raise RuntimeError(f"{name}: expected {what} of shape {list(shape)}, got "
                           f"{list(p.shape)}")
    if p.dtype != dtype:
        raise RuntimeError(f"{name}: expected {what} of dtype {dtype} (the input's), got "
                           f"{p.dtype}")
    return p


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last ``len(normalized_shape)`` dims: (x − μ)/√(σ² + eps)·w + b."""
    _check_float(input, "layer_norm")
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    norm = tuple(normalized_shape)
    k = len(norm)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != norm:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(norm)}, expected input "
                           f"with shape [*, {', '.join(map(str, norm))}], but got input of "
                           f"size {list(input.shape)}")
    _param(weight, norm, input.dtype, "layer_norm", "weight")
    _param(bias, norm, input.dtype, "layer_norm", "bias")
    d = math.prod(norm)
    if input.numel() == 0:
        return input * 1
    return LayerNorm.apply(input, weight, bias, d, eps)


def _channels(input, name):
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input of shape (N, C, ...), got "
                         f"{list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    return n, c, input.numel() // (n * c) if n * c else 0


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each group of C/G channels (with all its positions) per sample, then a
    per-channel affine map."""
    _check_float(input, "group_norm")
    n, c, s = _channels(input, "group_norm")
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"group_norm: expected number of channels in input to be divisible "
                           f"by num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    _param(weight, (c,), input.dtype, "group_norm", "weight")
    _param(bias, (c,), input.dtype, "group_norm", "bias")
    stats = ((n, num_groups, (c // num_groups) * s), (2,))
    return Normalize.apply(input, weight, bias, stats, ((n, c, s), (c, 1), (0, 2)), eps, None)


def _running_update(running_mean, running_var, momentum, count):
    """A callback that folds batch statistics (mean, biased var) into the running averages:
    r ← (1 − m)·r + m·stat, with the unbiased variance (× n/(n − 1)), averaged over the batch
    first for instance norm; the buffers are changed in place."""
    def update(mu, var):
        c = running_mean.numel() if running_mean is not None else running_var.numel()
        if running_mean is not None:
            m = mu.reshape(-1, c).mean(axis=0)
            running_mean._data *= 1 - momentum
            running_mean._data += (m * momentum).astype(running_mean._data.dtype)
            running_mean._vbox[0] += 1
        if running_var is not None:
            v = var.reshape(-1, c).mean(axis=0) * (count / max(count - 1, 1))
            running_var._data *= 1 - momentum
            running_var._data += (v * momentum).astype(running_var._data.dtype)
            running_var._vbox[0] += 1
    return update


def _eval_norm(input, running_mean, running_var, weight, bias, eps, name):
    """(x − running_mean)/√(running_var + eps)·w + b per channel (statistics are constants)."""
    if running_mean is None or running_var is None:
        raise RuntimeError(f"{name}: running_mean and running_var must be defined in evaluation "
                           "mode")
    xp = backend.xp_of(input._data)
    shape = (-1,) + (1,) * (input.ndim - 2)
    rstd = (1 / xp.sqrt(running_var._data + eps)).astype(input._data.dtype).reshape(shape)
    mean = running_mean._data.astype(input._data.dtype).reshape(shape)
    y = (input - constant(mean)) * constant(rstd)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) with statistics over the batch and all positions.

    In training, batch statistics are used and the running averages (if given) updated in place
    (with the unbiased variance); in evaluation the running averages are used.
    """
    _check_float(input, "batch_norm")
    n, c, s = _channels(input, "batch_norm")
    for p, what in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        if p is not None and p.numel() != c:
            raise RuntimeError(f"batch_norm: {what} should contain {c} elements not "
                               f"{p.numel()} (input shape {list(input.shape)})")
    if not training:
        if eps < 0:
            raise ValueError(f"batch_norm: eps must be non-negative, but got {eps}")
        return _eval_norm(input, running_mean, running_var, weight, bias, eps, "batch_norm")
    if n * s == 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input size {list(input.shape)}")
    if eps <= 0:
        raise ValueError(f"batch_norm: eps must be positive during training, but got {eps}")
    update = None
    if running_mean is not None or running_var is not None:
        update = _running_update(running_mean, running_var, momentum, n * s)
    return Normalize.apply(input, weight, bias, ((n, c, s), (0, 2)), ((n, c, s), (c, 1), (0, 2)),
                           eps, update)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its positions (group_norm with G = C); the
    running averages, if given, get the batch mean of the per-instance statistics."""
    _check_float(input, "instance_norm")
    n, c, s = _channels(input, "instance_norm")
    if not use_input_stats:
        return _eval_norm(input, running_mean, running_var, weight, bias, eps, "instance_norm")
    if s <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, "
                         f"got input size {list(input.shape)}")
    update = None
    if running_mean is not None or running_var is not None:
        update = _running_update(running_mean, running_var, momentum, s)
    return Normalize.apply(input, weight, bias, ((n, c, s), (2,)), ((n, c, s), (c, 1), (0, 2)),
                           eps, update)


class ChannelWindowSum(Op):
    """y_c = Σ x_j over j ∈ [c − before, c + after] along dim 1 (zero padding): a linear map
    whose adjoint is the same window mirrored (before ↔ after)."""

    def forward(self, x, before, after):
        xp = backend.xp_of(x)
        self.window = before, after
        c = x.shape[1]
        pad = [(0, 0)] * x.ndim
        pad[1] = (before + 1, after)
        cs = xp.pad(x, pad).cumsum(axis=1)
        hi = cs[:, before + 1 + after:before + 1 + after + c]
        return hi - cs[:, :c]

    def backward(self, g):
        before, after = self.window
        return ChannelWindowSum.apply(g, after, before), None, None


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + α·mean of x² over ``size`` neighbouring channels)^β (zero padded)."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher dimensionality input "
                         f"(got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    sq = ChannelWindowSum.apply(input * input, size // 2, (size - 1) // 2)
    return input / (sq * (alpha / size) + k) ** beta


# ----------------------------------------------------------------------------- dropout
def _check_p(p, name):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, shape, p):
    """A {0, 1} array of ``shape`` with P(1) = 1 − p, from nablagrad's global generator."""
    dtype = input._data.dtype
    uniform = numpy_generator().random(shape, dtype="float32" if dtype == "float32" else
                                       "float64")
    return backend.move(uniform >= p, input.device).astype(dtype)


#: λ·α of SELU: alpha_dropout sets dropped units to −λα, SELU's negative saturation value
_ALPHA_DROP = 1.7580993408473766


def _dropout(input, p, training, inplace, feature, alpha, name):
    """Dropout with a mask m ~ Bernoulli(1 − p) per element (per channel with ``feature``):
    y = x·m/(1 − p), so dL/dx = g·m/(1 − p). With ``alpha``: y = a·x·m + αa(m − 1 + p) with
    α = λα_SELU and a = ((α²p + 1)(1 − p))^(−1/2), which keeps zero mean and unit variance;
    dL/dx = g·a·m."""
    _check_p(p, name)
    if p == 0 or not training or input.numel() == 0:
        return input
    if inplace:
        return assign_inplace(input, lambda t: _dropout(t, p, training, False, feature, alpha,
                                                        name), name + "_")
    if p == 1:
        return const_mul(input, backend.xp_of(input._data).zeros((), input._data.dtype))
    if feature:
        if input.ndim < 2:
            raise RuntimeError(f"{name}: feature dropout requires at least 2 dimensions in the "
                               f"input, got shape {list(input.shape)}")
        shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    else:
        shape = tuple(input.shape)
    keep = _keep_mask(input, shape, p)
    if not alpha:
        keep *= 1 / (1 - p)
        return const_mul(input, keep)
    a = 1 / math.sqrt((_ALPHA_DROP ** 2 * p + 1) * (1 - p))
    shift = (keep - 1 + p) * (_ALPHA_DROP * a)
    return const_mul(input, keep * a) + constant(shift)


@public(method=False)
def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1 − p) (training only)."""
    return _dropout(input, p, training, inplace, False, False, "dropout")


def _channel_dropout(input, p, training, inplace, batched_ndim, name):
    if input.ndim != batched_ndim - 1:
        return _dropout(input, p, training, inplace, True, False, name)
    # unbatched input: its channels are dim 0
    if inplace:
        return assign_inplace(input, lambda t: _channel_dropout(t, p, training, False,
                                                                batched_ndim, name), name + "_")
    return _dropout(input.unsqueeze(0), p, training, False, True, False, name).squeeze(0)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, L), or dim 0 of (C, L)) with probability p."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: expected 2D or 3D input, but received a {input.ndim}D "
                           "input")
    return _channel_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, H, W)) with probability p."""
    return _dropout(input, p, training, inplace, True, False, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, D, H, W), or dim 0 of (C, D, H, W))."""
    return _channel_dropout(input, p, training, inplace, 5, "dropout3d")


@public(method=False)
def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped elements are set to the negative saturation value and
    an affine map restores zero mean and unit variance."""
    return _dropout(input, p, training, inplace, False, True, "alpha_dropout")


@public(method=False)
def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole channels."""
    return _dropout(input, p, training, inplace, True, True, "feature_alpha_dropout")


# ----------------------------------------------------------------------------- embedding
class Embedding(Op):
    """y = W[idx] (rows of the table); dL/dW = the rows of dL/dy (times per-row factors f, for
    padding_idx and scale_grad_by_freq) added up at their indices."""

    def forward(self, w, idx, factor):
        self.idx, self.rows, self.factor = idx, w.shape[0], factor
        return backend.xp_of(w).take(w, idx, axis=0)

    def backward(self, g):
        if self.factor is not None:
            g = const_mul(g, self.factor)
        return EmbeddingScatter.apply(g, self.idx, self.rows), None, None


class EmbeddingScatter(Op):
    """y = zeros(rows, D) with the rows of g added at ``idx``; its adjoint gathers:
    dL/dg = (dL/dy)[idx]."""

    def forward(self, g, idx, rows):
        self.idx = idx
        d = g.shape[idx.ndim:]
        return rows_added((rows,) + d, 0, idx, g.reshape((-1,) + d))

    def backward(self, gg):
        return Embedding.apply(gg, self.idx, None), None, None


def _max_norm_(weight, idx, max_norm, norm_type):
    """Rescale (in place, outside autograd) the referenced rows whose norm exceeds max_norm."""
    xp = backend.xp_of(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1).astype(w.dtype)
    weight._data[rows] = w * scale[:, None]
    weight._vbox[0] += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` at the integer indices ``input``. The row ``padding_idx``
    gets no gradient; ``scale_grad_by_freq`` divides each row's gradient by the number of times
    it is used in the batch; ``max_norm`` renormalizes the rows it reads, in place."""
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: expected the indices (argument 1) to be an integer "
                           f"tensor (int64 or int32), but got {input.dtype}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D, got shape {list(weight.shape)}")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported")
    rows = weight.shape[0]
    idx = input._data
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise IndexError(f"embedding: index out of range: indices must be in [0, {rows}), got "
                         f"values in [{int(idx.min())}, {int(idx.max())}]")
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({rows}), "
                             f"got {padding_idx}")
        padding_idx %= rows
    if max_norm is not None:
        _max_norm_(weight, idx, max_norm, norm_type)
    factor = None
    if padding_idx is not None or scale_grad_by_freq:
        xp = backend.xp_of(idx)
        factor = xp.ones(idx.shape + (1,), dtype=weight._data.dtype)
        if scale_grad_by_freq:
            counts = xp.bincount(idx.reshape(-1), minlength=rows)
            factor /= counts[idx][..., None]
        if padding_idx is not None:
            factor *= (idx != padding_idx)[..., None]
    return Embedding.apply(weight, idx, factor)


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*, num_classes) with a 1 at each index (num_classes = −1: max + 1)."""
    t = tensor._data
    if t.dtype != backend.int64.np:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type int64 (Long), "
                           f"got {tensor.dtype}")
    xp = backend.xp_of(t)
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from empty tensor")
        num_classes = int(t.max()) + 1
    if t.size and t.min() < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    if t.size and t.max() >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                           f"({num_classes}), got {int(t.max())}")
    out = xp.zeros(t.shape + (num_classes,), dtype=backend.int64.np)
    xp.put_along_axis(out, t[..., None], 1, axis=-1)
    return Tensor._make(out)


# ----------------------------------------------------------------------------- attention
class ScaledDotProductAttention(Op):
    """O = P V, P = softmax(c·Q Kᵀ + B) row-wise (rows of −inf only give zeros); backward with
    G = dL/dO:  dV = Pᵀ G,  dS = P ⊙ (G Vᵀ − rowsum(P ⊙ G Vᵀ)),  dQ = c·dS K,  dK = c·dSᵀ Q,
    dB = dS. Q, K, V share their batch dims; B broadcasts to the scores (…, L, S).

    The score matrix is made, biased and normalised in place, in blocks of the first batch dim
    on several threads; P is kept for backward. A recorded backward (``create_graph=True``)
    recomputes P from differentiable ops instead."""

    def forward(self, q, k, v, bias, scale):
        xp = backend.xp_of(q)
        self.scale = scale
        batch, L, S = q.shape[:-2], q.shape[-2], k.shape[-2]
        p = xp.empty(batch + (L, S), q.dtype)
        out = xp.empty(batch + (L, v.shape[-1]), q.dtype)

        def block(i, j):
            sl = (slice(i, j),) if batch else ()
            pb = p[sl]
            xp.matmul(q[sl], xp.swapaxes(k[sl], -1, -2), out=pb)
            pb *= scale
            if bias is not None:
                pb += _batch_block(bias, sl, p.ndim)
            _softmax_inplace(pb)
            xp.matmul(pb, v[sl], out=out[sl])
        _over_batch(block, q, batch, p[0].size if batch else p.size)
        if self.requires_grad:
            self.retain_inputs(0, 1, 2, 3)
            self.p = p
        return out

    def backward(self, g):
        q, k, v, bias = self.saved_tensors
        c = self.scale
        if _recording():
            scores = (q @ k.mT) * c
            p = Softmax.apply(scores if bias is None else scores + bias, scores.ndim - 1, True)
            dv = p.mT @ g
            dp = g @ v.mT
            ds = p * (dp - (dp * p).sum(-1, keepdim=True))
            return (ds @ k) * c, (ds.mT @ q) * c, dv, None if bias is None else ds, None
        return tuple(None if a is None else Tensor._make(a)
                     for a in self._backward_arrays(g._data, q._data, k._data, v._data)) + (None,)

    def _backward_arrays(self, g, q, k, v):
        xp = backend.xp_of(g)
        p, c = self.p, self.scale
        need_q, need_k, need_v, need_b = self.needs_input_grad[:4]
        batch = q.shape[:-2]
        dq = xp.empty(q.shape, q.dtype) if need_q else None
        dk = xp.empty(k.shape, k.dtype) if need_k else None
        dv = xp.empty(v.shape, v.dtype) if need_v else None
        db = xp.empty(p.shape, p.dtype) if need_b else None

        def block(i, j):
            sl = (slice(i, j),) if batch else ()
            pb, gb = p[sl], g[sl]
            if need_v:
                xp.matmul(xp.swapaxes(pb, -1, -2), gb, out=dv[sl])
            if not (need_q or need_k or need_b):
                return
            ds = xp.matmul(gb, xp.swapaxes(v[sl], -1, -2), out=None if db is None else db[sl])
            ds -= _rowdot(ds, pb)[..., None]
            ds *= pb
            if need_q:
                xp.matmul(ds, k[sl], out=dq[sl])
                dq[sl] *= c
            if need_k:
                xp.matmul(xp.swapaxes(ds, -1, -2), q[sl], out=dk[sl])
                dk[sl] *= c
        _over_batch(block, q, batch, p[0].size if batch else p.size)
        return dq, dk, dv, db


def _batch_block(bias, sl, ndim):
    """The part of ``bias`` (broadcast to ``ndim`` dims) that lines up with batch block ``sl``."""
    if not sl or bias.ndim < ndim or bias.shape[0] == 1:
        return bias
    return bias[sl]


def _softmax_inplace(x):
    """Row-wise softmax of x over its last dim, in place; rows of −inf only give zeros."""
    xp = backend.xp_of(x)
    m = x.max(axis=-1, keepdims=True)
    m[m == -math.inf] = 0
    x -= m
    xp.exp(x, out=x)
    s = x.sum(axis=-1, keepdims=True)
    s[s == 0] = 1
    x *= 1 / s


def _over_batch(fn, q, batch, scores_per_row):
    """``fn(i, j)`` over blocks of the first batch dim small enough for their scores to stay in
    cache; for NumPy, on several threads (each a contiguous range of blocks) while BLAS runs
    single-threaded: the many small products would otherwise each wake BLAS's own threads,
    which costs more than they compute."""
    if not batch:
        return fn(0, 0)
    step = max(1, 4 * _BLOCK // max(1, scores_per_row))

    def blocks(start, stop):
        for i in range(start, stop, step):
            fn(i, min(i + step, stop))
    if backend.xp_of(q) is not np:
        return blocks(0, batch[0])
    with backend.blas_threads(1):
        return backend.parallel_chunks(blocks, batch[0], unit=scores_per_row)


def _fusable(query, key, value, bias):
    """The fused op covers Q, K, V of one batch shape and float dtype, and a bias of that dtype
    that broadcasts to the scores without growing them."""
    batch = tuple(query.shape[:-2])
    if tuple(key.shape[:-2]) != batch or tuple(value.shape[:-2]) != batch:
        return False
    if not query.is_floating_point() or not key.dtype == value.dtype == query.dtype:
        return False
    if bias is None:
        return True
    scores = batch + (query.shape[-2], key.shape[-2])
    return bias.dtype == query.dtype and bias.ndim <= len(scores) and \
        np.broadcast_shapes(tuple(bias.shape), scores) == scores


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q Kᵀ · scale + bias) V over the last two dims, scale = 1/√E by default.

    ``attn_mask``: bool (True = may attend) or a float bias added to the scores; ``is_causal``:
    position i attends to j ≤ i. A query that may attend to nothing gets zeros.
    """
    L, S = query.shape[-2], key.shape[-2]
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same "
                           f"embedding size, got {list(query.shape)} and {list(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length, got {list(key.shape)} and {list(value.shape)}")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        key, value = _repeat_heads(key, query.shape[-3]), _repeat_heads(value, query.shape[-3])
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    xp = backend.xp_of(query._data)
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not be "
                               "set when is_causal=True")
        attn_mask = Tensor._make(xp.tri(L, S, dtype=bool))
    bias = attn_mask
    if attn_mask is not None and attn_mask._data.dtype == bool:
        dtype = backend.xp_of(query._data).result_type(query._data, key._data)
        bias = constant(xp.where(attn_mask._data, dtype.type(0), dtype.type(-math.inf)))
    if dropout_p == 0 and _fusable(query, key, value, bias):
        return ScaledDotProductAttention.apply(query, key, value, bias, scale)
    scores = (query @ key.mT) * scale
    if bias is not None:
        scores = scores + bias
    weights = Softmax.apply(scores, scores.ndim - 1, True)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


def _repeat_heads(t, heads):
    """(…, H_kv, S, E) → (…, heads, S, E), each head repeated heads/H_kv times in a row."""
    h = t.shape[-3]
    if heads % h:
        raise RuntimeError(f"scaled_dot_product_attention: number of query heads ({heads}) must "
                           f"be a multiple of key/value heads ({h})")
    lead = tuple(t.shape[:-3])
    rest = tuple(t.shape[-2:])
    return t.unsqueeze(-3).expand(lead + (h, heads // h) + rest).reshape(lead + (heads,) + rest)


# ----------------------------------------------------------------------------- linear maps
class Linear(Op):
    """y = x Wᵀ + b over the last dim; dL/dx = g W, dL/dW = gᵀ x (all leading dims flattened),
    dL/db = Σ g. Wᵀ is a view, never a copy."""

    def forward(self, x, w, b):
        self.retain_inputs(0, 1)
        x2 = x.reshape(-1, x.shape[-1])
        y = x2 @ w.T
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad[:3]
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g2 @ w).reshape(x.shape) if need_x else None
        gw = g2.mT @ x.reshape(-1, x.shape[-1]) if need_w else None
        gb = g2.sum(0) if need_b else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    """x Wᵀ + b, W of shape (out_features, in_features)."""
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"linear: input of shape {list(input.shape)} and weight of shape "
                           f"{list(weight.shape)} cannot be multiplied (expected weight of shape "
                           f"(out_features, {input.shape[-1] if input.ndim else '?'}))")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise RuntimeError(f"linear: expected input, weight and bias of the same dtype, got "
                           f"{input.dtype}, {weight.dtype}"
                           + (f" and {bias.dtype}" if bias is not None else ""))
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), (), (1,)):
        raise RuntimeError(f"linear: bias of shape {list(bias.shape)} does not match "
                           f"out_features={weight.shape[0]}")
    return Linear.apply(input, weight, bias)


@public(method=False)
def bilinear(input1, input2, weight, bias=None):
    """y_k = x₁ᵀ W_k x₂ + b_k, W of shape (out, in1, in2), over the last dims of x₁, x₂."""
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear: inputs of shape {list(input1.shape)} and "
                           f"{list(input2.shape)} do not match weight of shape "
                           f"{list(weight.shape)} (expected (out, in1, in2))")
    out, in1, in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    t = (x1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)).reshape(-1, out, in2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out,))


public(layer_norm, method=False)
public(group_norm, method=False)
