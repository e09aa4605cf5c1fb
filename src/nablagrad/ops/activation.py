"""Activation functions (``nablagrad.nn.functional``): y = f(x) applied elementwise.

Backward is dL/dx = dL/dy · f′(x). Two kinds:

* piecewise-linear activations (relu, hardtanh, leaky_relu, threshold, shrinks, ...) have a
  piecewise-constant f′: the backward multiplies by that constant array (:class:`ConstMul`),
  which is its own backward, so they are differentiable any number of times (f″ = 0);
* smooth activations (elu, gelu, silu, softplus, ...) derive from :class:`Pointwise`: f′ is
  computed in NumPy for a plain backward, and in Tensor ops when the backward itself is recorded
  (``create_graph=True``), which gives the higher derivatives.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.graph import Op
from ._api import assign_inplace, public
from .random import numpy_generator

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_",
           "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "softplus",
           "softsign", "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "logsigmoid", "glu",
           "tanhshrink", "softshrink", "hardshrink", "threshold", "threshold_", "sigmoid", "tanh"]


# ----------------------------------------------------------------------------- shared pieces
class ConstMul(Op):
    """y = a · c for a constant array ``c`` (a mask or coefficients, no gradient); dy/da = c.

    Its backward is the same op, so it can be differentiated any number of times.
    """

    def forward(self, a, c):
        self.c = c
        return backend.parallel_ufunc(np.multiply, a, c)

    def backward(self, g):
        return ConstMul.apply(g, self.c), None


def const_mul(a: Tensor, c) -> Tensor:
    """``a · c`` for a constant backend array ``c`` of a's dtype (or bool)."""
    return ConstMul.apply(a, c)


def constant(array) -> Tensor:
    """A backend array as a Tensor outside the graph."""
    return Tensor._make(array)


def _check_float(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating-point input, got {x.dtype}")
    return x


def _inplace(fn, input, name, *args):
    """``fn(input, *args)`` written back into ``input`` (the ``inplace=True`` variants)."""
    return assign_inplace(input, lambda t: fn(t, *args), name)


class Pointwise(Op):
    """A smooth activation y = f(x; params) with dL/dx = g · f′(x).

    Subclasses give ``f(xp, x, *params)`` and ``df(xp, x, *params)`` on arrays, and
    ``df_graph(x, *params)``: f′ in Tensor ops, used when the backward is recorded.
    """

    def forward(self, x, *params):
        self.retain_inputs(0)
        self.params = params
        return self.f(backend.xp_of(x), x, *params)

    def backward(self, g):
        (x,) = self.saved_tensors
        if grad_mode.state.enabled:
            d = self.df_graph(x, *self.params)
        else:
            d = constant(self.df(backend.xp_of(x._data), x._data, *self.params))
        return (g * d,) + (None,) * len(self.params)


# ----------------------------------------------------------------------------- relu family
class ReLU(Op):
    """y = max(x, 0); dy/dx = [y > 0]."""

    def forward(self, x):
        self.retain_outputs(0)
        return backend.parallel_ufunc(np.maximum, x, 0)

    def backward(self, g):
        (y,) = self.saved_tensors
        return const_mul(g, backend.parallel_ufunc(np.greater, y._data, 0))


@public(inplace=True)
def relu(input, inplace=False):
    """max(x, 0). Integer inputs are allowed, as in PyTorch."""
    if inplace:
        return _inplace(relu, input, "relu_")
    return ReLU.apply(input)


@public
def relu_(input):
    return _inplace(relu, input, "relu_")


class Hardtanh(Op):
    """y = clamp(x, lo, hi); dy/dx = [lo < x < hi]."""

    def forward(self, x, lo, hi):
        self.mask = (x > lo) & (x < hi) if self.requires_grad else None
        return backend.xp_of(x).clip(x, lo, hi)

    def backward(self, g):
        return const_mul(g, self.mask), None, None


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val); the gradient is 1 strictly inside the interval, else 0."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    if inplace:
        return _inplace(hardtanh, input, "hardtanh_", min_val, max_val)
    return Hardtanh.apply(_check_float(input, "hardtanh"), min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) = hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class LeakyReLU(Op):
    """y = x·c with c = 1 where x > 0, else the slope; dy/dx = c."""

    def forward(self, x, slope):
        xp = backend.xp_of(x)
        self.c = xp.where(x > 0, x.dtype.type(1), x.dtype.type(slope))
        return x * self.c

    def backward(self, g):
        return const_mul(g, self.c), None


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope · x."""
    if inplace:
        return _inplace(leaky_relu, input, "leaky_relu_", negative_slope)
    return LeakyReLU.apply(_check_float(input, "leaky_relu"), negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


@public
def prelu(input, weight):
    """x if x > 0 else a_c · x, with one learned slope a_c per channel (dim 1), or one in all.

    Composed as x·[x > 0] + a · x·[x ≤ 0]: dy/dx = [x > 0] + a·[x ≤ 0], dy/da = x·[x ≤ 0].
    """
    _check_float(input, "prelu")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"prelu: mismatch of parameter numbers and input channel size: "
                           f"weight has {weight.numel()} elements, input of shape "
                           f"{list(input.shape)} has {channels} channels")
    if weight.numel() != 1:
        weight = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    positive = input._data > 0
    return const_mul(input, positive) + weight * const_mul(input, ~positive)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training, x·a for x ≤ 0 with a ~ U(lower, upper) drawn per
    element; in evaluation, leaky_relu with the mean slope (lower + upper) / 2."""
    if inplace:
        return _inplace(rrelu, input, "rrelu_", lower, upper, training)
    _check_float(input, "rrelu")
    if not training:
        return LeakyReLU.apply(input, (lower + upper) / 2)
    x = input._data
    slopes = numpy_generator().uniform(lower, upper, size=x.shape).astype(x.dtype)
    c = backend.xp_of(x).where(x <= 0, backend.move(slopes, input.device), x.dtype.type(1))
    return const_mul(input, c)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


public(rrelu, method=False)
public(rrelu_, method=False)


class Threshold(Op):
    """y = x if x > threshold else value; dy/dx = [x > threshold]."""

    def forward(self, x, th, value):
        mask = x > th
        self.mask = mask if self.requires_grad else None
        return backend.xp_of(x).where(mask, x, x.dtype.type(value))

    def backward(self, g):
        return const_mul(g, self.mask), None, None


@public(method=False)
def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    if inplace:
        return threshold_(input, threshold, value)
    return Threshold.apply(input, threshold, value)


@public(method=False)
def threshold_(input, threshold, value):
    return _inplace(_threshold, input, "threshold_", threshold, value)


_threshold = threshold


class Shrink(Op):
    """Zero on [-λ, λ]; outside it x (hard) or x ∓ λ (soft); dy/dx = [|x| > λ]."""

    def forward(self, x, lambd, soft):
        xp = backend.xp_of(x)
        mask = (x < -lambd) | (x > lambd)
        self.mask = mask if self.requires_grad else None
        y = x - xp.sign(x) * x.dtype.type(lambd) if soft else x
        return xp.where(mask, y, x.dtype.type(0))

    def backward(self, g):
        return const_mul(g, self.mask), None, None


@public
def hardshrink(input, lambd=0.5):
    """x where |x| > λ, else 0."""
    return Shrink.apply(_check_float(input, "hardshrink"), lambd, False)


def softshrink(input, lambd=0.5):
    """x − λ for x > λ, x + λ for x < −λ, else 0."""
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be >= 0, but found {lambd}")
    return Shrink.apply(_check_float(input, "softshrink"), lambd, True)


class Hardsigmoid(Op):
    """y = clamp(x/6 + 1/2, 0, 1); dy/dx = 1/6 on (−3, 3), else 0."""

    def forward(self, x):
        xp = backend.xp_of(x)
        if self.requires_grad:
            self.c = ((x > -3) & (x < 3)).astype(x.dtype) * (1 / 6)
        return xp.clip(x * (1 / 6) + 0.5, 0, 1).astype(x.dtype, copy=False)

    def backward(self, g):
        return const_mul(g, self.c)


def hardsigmoid(input, inplace=False):
    if inplace:
        return _inplace(hardsigmoid, input, "hardsigmoid_")
    return Hardsigmoid.apply(_check_float(input, "hardsigmoid"))


# ----------------------------------------------------------------------------- exponential units
class ELU(Pointwise):
    """y = s·x for x > 0, s·α·(exp(x/β) − 1) otherwise (elu: s = β = 1; celu: β = α; selu: fixed
    s, α); dy/dx = s for x > 0, (s·α/β)·exp(x/β) otherwise."""

    @staticmethod
    def f(xp, x, alpha, beta, scale):
        neg = xp.expm1(xp.minimum(x, 0) * (1 / beta)) * alpha
        y = xp.where(x > 0, x, neg)
        return y * scale if scale != 1 else y

    @staticmethod
    def df(xp, x, alpha, beta, scale):
        return xp.where(x > 0, x.dtype.type(scale),
                        xp.exp(xp.minimum(x, 0) * (1 / beta)) * (scale * alpha / beta))

    @staticmethod
    def df_graph(x, alpha, beta, scale):
        positive = x._data > 0
        e = (const_mul(x, ~positive) * (1 / beta)).exp()
        return const_mul(e, ~positive) * (scale * alpha / beta) + constant(
            positive.astype(x._data.dtype) * scale)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else α·(eˣ − 1)."""
    if inplace:
        return _inplace(elu, input, "elu_", alpha)
    return ELU.apply(_check_float(input, "elu"), alpha, 1.0, 1.0)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


@public(method=False)
def selu(input, inplace=False):
    """λ·elu(x, α) with λ ≈ 1.0507, α ≈ 1.6733 (self-normalizing)."""
    if inplace:
        return _inplace(selu, input, "selu_")
    return ELU.apply(_check_float(input, "selu"), _SELU_ALPHA, 1.0, _SELU_SCALE)


@public(method=False)
def selu_(input):
    return selu(input, inplace=True)


@public(method=False)
def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, α·(exp(x/α) − 1))."""
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError, alpha must not be 0")
    if inplace:
        return _inplace(celu, input, "celu_", alpha)
    return ELU.apply(_check_float(input, "celu"), alpha, alpha, 1.0)


@public(method=False)
def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


# ----------------------------------------------------------------------------- sigmoid-like
def _sigmoid(xp, x):
    return backend.special(x).expit(x)


class GELU(Pointwise):
    """y = x·Φ(x), Φ the standard normal CDF; dy/dx = Φ(x) + x·φ(x)."""

    @staticmethod
    def f(xp, x):
        return x * (backend.special(x).erf(x * (1 / math.sqrt(2))) + 1) * 0.5

    @staticmethod
    def df(xp, x):
        cdf = (backend.special(x).erf(x * (1 / math.sqrt(2))) + 1) * 0.5
        return cdf + x * xp.exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))

    @staticmethod
    def df_graph(x):
        cdf = ((x * (1 / math.sqrt(2))).erf() + 1) * 0.5
        return cdf + x * (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))


_K = math.sqrt(2 / math.pi)
_C = 0.044715


class GELUTanh(Pointwise):
    """y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³);
    dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(u)."""

    @staticmethod
    def f(xp, x):
        return x * (xp.tanh((x + x * x * x * _C) * _K) + 1) * 0.5

    @staticmethod
    def df(xp, x):
        x2 = x * x
        t = xp.tanh((x + x2 * x * _C) * _K)
        return (t + 1) * 0.5 + x * (1 - t * t) * (x2 * (3 * _C * _K) + _K) * 0.5

    @staticmethod
    def df_graph(x):
        x2 = x * x
        t = ((x + x2 * x * _C) * _K).tanh()
        return (t + 1) * 0.5 + x * (1 - t * t) * (x2 * (3 * _C * _K) + _K) * 0.5


def gelu(input, approximate="none"):
    """x·Φ(x); ``approximate='tanh'`` uses ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    _check_float(input, "gelu")
    if approximate == "none":
        return GELU.apply(input)
    if approximate == "tanh":
        return GELUTanh.apply(input)
    raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


class SiLU(Pointwise):
    """y = x·σ(x); dy/dx = σ(x)·(1 + x·(1 − σ(x)))."""

    @staticmethod
    def f(xp, x):
        return x * _sigmoid(xp, x)

    @staticmethod
    def df(xp, x):
        s = _sigmoid(xp, x)
        return s * (1 + x * (1 - s))

    @staticmethod
    def df_graph(x):
        s = x.sigmoid()
        return s * (1 + x * (1 - s))


def silu(input, inplace=False):
    """x·σ(x) (swish)."""
    if inplace:
        return _inplace(silu, input, "silu_")
    return SiLU.apply(_check_float(input, "silu"))


def _softplus_array(xp, x):
    """log(1 + eˣ) without overflow: max(x, 0) + log1p(e^(−|x|))."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Mish(Pointwise):
    """y = x·tanh(softplus(x)); dy/dx = t + x·σ(x)·(1 − t²), t = tanh(softplus(x))."""

    @staticmethod
    def f(xp, x):
        return x * xp.tanh(_softplus_array(xp, x))

    @staticmethod
    def df(xp, x):
        t = xp.tanh(_softplus_array(xp, x))
        return t + x * _sigmoid(xp, x) * (1 - t * t)

    @staticmethod
    def df_graph(x):
        t = (-logsigmoid(-x)).tanh()
        return t + x * x.sigmoid() * (1 - t * t)


def mish(input, inplace=False):
    if inplace:
        return _inplace(mish, input, "mish_")
    return Mish.apply(_check_float(input, "mish"))


class Softplus(Pointwise):
    """y = log(1 + e^(βx))/β, or x where βx > threshold; dy/dx = σ(βx), or 1 there."""

    @staticmethod
    def f(xp, x, beta, threshold):
        bx = x * beta if beta != 1 else x
        y = _softplus_array(xp, bx)
        if beta != 1:
            y = y * (1 / beta)
        return xp.where(bx > threshold, x, y)

    @staticmethod
    def df(xp, x, beta, threshold):
        bx = x * beta if beta != 1 else x
        return xp.where(bx > threshold, x.dtype.type(1), _sigmoid(xp, bx))

    @staticmethod
    def df_graph(x, beta, threshold):
        linear = x._data * beta > threshold
        return const_mul((x * beta).sigmoid(), ~linear) + constant(linear.astype(x._data.dtype))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(βx))/β, reverting to x where βx > threshold."""
    return Softplus.apply(_check_float(input, "softplus"), beta, threshold)


class LogSigmoid(Pointwise):
    """y = log σ(x) = min(x, 0) − log1p(e^(−|x|)); dy/dx = σ(−x)."""

    @staticmethod
    def f(xp, x):
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def df(xp, x):
        return _sigmoid(xp, -x)

    @staticmethod
    def df_graph(x):
        return (-x).sigmoid()


def logsigmoid(input):
    return LogSigmoid.apply(_check_float(input, "logsigmoid"))


class Softsign(Pointwise):
    """y = x / (1 + |x|); dy/dx = 1 / (1 + |x|)²."""

    @staticmethod
    def f(xp, x):
        return x / (xp.abs(x) + 1)

    @staticmethod
    def df(xp, x):
        d = xp.abs(x) + 1
        return 1 / (d * d)

    @staticmethod
    def df_graph(x):
        d = const_mul(x, backend.xp_of(x._data).sign(x._data)) + 1
        return 1 / (d * d)


def softsign(input):
    return Softsign.apply(_check_float(input, "softsign"))


class Hardswish(Pointwise):
    """y = x·clamp(x + 3, 0, 6)/6; dy/dx = 0 for x < −3, x/3 + 1/2 on [−3, 3], 1 for x > 3."""

    @staticmethod
    def f(xp, x):
        return x * xp.clip(x + 3, 0, 6) * (1 / 6)

    @staticmethod
    def df(xp, x):
        return xp.where(x < -3, x.dtype.type(0),
                        xp.where(x <= 3, x * (1 / 3) + 0.5, x.dtype.type(1)))

    @staticmethod
    def df_graph(x):
        middle = (x._data >= -3) & (x._data <= 3)
        return const_mul(x * (1 / 3) + 0.5, middle) + constant(
            (x._data > 3).astype(x._data.dtype))


def hardswish(input, inplace=False):
    if inplace:
        return _inplace(hardswish, input, "hardswish_")
    return Hardswish.apply(_check_float(input, "hardswish"))


# ----------------------------------------------------------------------------- composed
def glu(input, dim=-1):
    """Gated linear unit: a·σ(b), with a and b the two halves of the input along ``dim``."""
    _check_float(input, "glu")
    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    d = input._wrap_dim(dim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {d} is size {n}")
    lead = (slice(None),) * d
    a = input[lead + (slice(0, n // 2),)]
    b = input[lead + (slice(n // 2, n),)]
    return a * b.sigmoid()


def tanhshrink(input):
    """x − tanh(x)."""
    return input - _check_float(input, "tanhshrink").tanh()


def sigmoid(input):
    """σ(x) = 1 / (1 + e^(−x)) (``nablagrad.sigmoid``)."""
    return input.sigmoid()


def tanh(input):
    """tanh(x) (``nablagrad.tanh``)."""
    return input.tanh()
