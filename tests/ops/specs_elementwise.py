"""Op specs: elementwise arithmetic, powers, unary and binary math, clamp/where, comparisons,
bitwise and logical ops."""
import operator

import numpy as np
import torch

import nablagrad as ng

from .spec import OpSpec, Const, randn, positive, away_from_zero

INT = np.array([[1, 2, 3], [4, 5, 6]])
SMALL_INT = np.array([[-3, -1, 0], [2, 5, 7]])


def ints(r, *shape, low=-5, high=6):
    return r.integers(low, high, size=shape)


def nonzero_ints(r, *shape):
    return r.integers(1, 5, size=shape) * r.choice([-1, 1], size=shape)


def off_integers(r, *shape, scale=3.0):
    """Floats at least 0.1 away from any integer (floor, round, ... are smooth there)."""
    frac = r.uniform(0.1, 0.4, size=shape) + r.choice([0.0, 0.5], size=shape)
    return (r.integers(-3, 3, size=shape) + frac) * (scale / 3.0)


# ----------------------------------------------------------------------------- arithmetic
OpSpec("add", lambda a, b: a + b, lambda a, b: a + b,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 2, 3, 1), randn(r, 4)),
                  (randn(r, 3), 2.5), (randn(r, 2, 3), np.array([1, 2, 3])),
                  (INT, 2), (INT, 1.5), (np.array([True, False]), np.array([True, True]))])
OpSpec("radd", lambda a: 2 + a, lambda a: 2 + a, lambda r: [(randn(r, 3, 4),), (INT,)])
OpSpec("add_alpha", lambda a, b: ng.add(a, b, alpha=-0.5), lambda a, b: torch.add(a, b, alpha=-0.5),
       lambda r: [(randn(r, 3, 4), randn(r, 4))])
OpSpec("sub", lambda a, b: a - b, lambda a, b: a - b,
       lambda r: [(randn(r, 3, 4), randn(r, 1, 4)), (1.5, randn(r, 3)), (INT, np.array([3, 2, 1])),
                  (randn(r, 2, 3), INT)])
OpSpec("sub_alpha", lambda a, b: ng.sub(a, b, alpha=3), lambda a, b: torch.sub(a, b, alpha=3),
       lambda r: [(randn(r, 3, 4), randn(r, 3, 1)), (INT, INT)])
OpSpec("rsub", lambda a, b: ng.rsub(a, b, alpha=2), lambda a, b: torch.rsub(a, b, alpha=2),
       lambda r: [(randn(r, 3, 4), randn(r, 4)), (randn(r, 3), 5.0)])
OpSpec("mul", lambda a, b: a * b, lambda a, b: a * b,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 5, 1), randn(r, 1, 3)), (randn(r, 3), -2.0),
                  (3, randn(r, 2, 2)), (INT, INT), (INT, randn(r, 3))])
OpSpec("div", lambda a, b: a / b, lambda a, b: a / b,
       lambda r: [(randn(r, 3, 4), positive(r, 3, 4)), (2.0, positive(r, 3)),
                  (np.array([1, 2, 3]), 2), (randn(r, 2, 3), away_from_zero(r, 3)),
                  (INT, np.array([2, 4, 8]))])
OpSpec("div_trunc", lambda a, b: ng.div(a, b, rounding_mode="trunc"),
       lambda a, b: torch.div(a, b, rounding_mode="trunc"),
       lambda r: [(randn(r, 3, 4) * 3, away_from_zero(r, 3, 4)), (randn(r, 2, 3) * 4, 1.5),
                  (ints(r, 3, 4), nonzero_ints(r, 3, 4)), (ints(r, 3), 2)])
OpSpec("div_floor", lambda a, b: ng.div(a, b, rounding_mode="floor"),
       lambda a, b: torch.div(a, b, rounding_mode="floor"),
       lambda r: [(randn(r, 3, 4) * 3, away_from_zero(r, 3, 4)), (5.0, away_from_zero(r, 4)),
                  (ints(r, 3, 4), nonzero_ints(r, 3, 4))])
OpSpec("floor_divide", lambda a, b: a // b, lambda a, b: a // b,
       lambda r: [(randn(r, 3, 4) * 3, away_from_zero(r, 3, 4)), (ints(r, 3, 4), nonzero_ints(r, 4)),
                  (ints(r, 5), -2), (7, nonzero_ints(r, 5))], grad=False)
OpSpec("remainder", lambda a, b: a % b, lambda a, b: a % b,
       lambda r: [(randn(r, 3, 4) * 3, away_from_zero(r, 3, 4)), (randn(r, 2, 3) * 3, away_from_zero(r, 3)),
                  (randn(r, 4) * 3, -1.5), (ints(r, 3, 4), nonzero_ints(r, 3, 4)), (ints(r, 4), 3)])
OpSpec("rremainder", lambda a: 5.0 % a, lambda a: 5.0 % a, lambda r: [(away_from_zero(r, 3, 4),)],
       grad=False, notes="PyTorch has no derivative here; ours is checked in test_elementwise_semantics")
OpSpec("fmod", ng.fmod, torch.fmod,
       lambda r: [(randn(r, 3, 4) * 3, away_from_zero(r, 3, 4)), (randn(r, 2, 3) * 3, away_from_zero(r, 3)),
                  (randn(r, 4) * 3, -1.5), (ints(r, 3, 4), nonzero_ints(r, 3, 4))])
OpSpec("neg", lambda a: -a, lambda a: -a, lambda r: [(randn(r, 3, 4),), (INT,)])
OpSpec("positive", ng.positive, torch.positive, lambda r: [(randn(r, 3, 4),), (INT,)])

# ----------------------------------------------------------------------------- powers
OpSpec("pow_scalar", lambda a, p: a ** p, lambda a, p: a ** p,
       lambda r: [(positive(r, 3, 4), 2.5), (randn(r, 3, 4), 3), (randn(r, 3), 2), (randn(r, 3), 1),
                  (positive(r, 3), -0.5), (randn(r, 3), 0), (SMALL_INT, 3), (INT, 0.5),
                  (np.array([True, False]), 2)])
OpSpec("rpow", lambda a: 2.5 ** a, lambda a: 2.5 ** a,
       lambda r: [(randn(r, 3, 4),), (INT,)])
OpSpec("rpow_int", lambda a: 2 ** a, lambda a: 2 ** a, lambda r: [(SMALL_INT,), (randn(r, 3),)])
OpSpec("rpow_base_lt_1", lambda a: ng.pow(0.5, a), lambda a: torch.pow(0.5, a),
       lambda r: [(randn(r, 2, 3),)])
OpSpec("pow_tensor", ng.pow, torch.pow,
       lambda r: [(positive(r, 3, 4), randn(r, 3, 4)), (positive(r, 2, 3, 1), randn(r, 4)),
                  (SMALL_INT, np.array([[2, 0, 3], [1, 2, -1]])), (positive(r, 3), np.array([1, 2, 3])),
                  (randn(r, 3), Const(np.array([2.0, 3.0, 1.0])))])
OpSpec("float_power", ng.float_power, torch.float_power,
       lambda r: [(positive(r, 3, 4), randn(r, 3, 4)), (randn(r, 3), 2), (INT, 0.5)])
OpSpec("square", ng.square, torch.square,
       lambda r: [(randn(r, 3, 4),), (INT,), (np.array([True, False]),)])
OpSpec("reciprocal", ng.reciprocal, torch.reciprocal,
       lambda r: [(away_from_zero(r, 3, 4),), (INT,)])

# ----------------------------------------------------------------------------- fused arithmetic
OpSpec("addcmul", lambda a, b, c: ng.addcmul(a, b, c, value=0.5),
       lambda a, b, c: torch.addcmul(a, b, c, value=0.5),
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 4), randn(r, 3, 1), randn(r, 4))])
OpSpec("addcmul_default", ng.addcmul, torch.addcmul,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4)), (INT, INT, INT)])
OpSpec("addcdiv", lambda a, b, c: ng.addcdiv(a, b, c, value=-2),
       lambda a, b, c: torch.addcdiv(a, b, c, value=-2),
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4), positive(r, 3, 4)), (randn(r, 1, 4), randn(r, 3, 1), positive(r, 4))])
OpSpec("lerp", ng.lerp, torch.lerp,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4), 0.3), (randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4)),
                  (randn(r, 4), randn(r, 3, 4), randn(r, 3, 1)), (randn(r, 3), randn(r, 3), 0.8)])

# ----------------------------------------------------------------------------- unary math
def _unary(name, domain, **kw):
    """A spec for ng.<name> vs torch.<name> on floats in ``domain`` and on integers."""
    ng_fn, torch_fn = getattr(ng, name), getattr(torch, name)
    int_sample = kw.pop("ints", INT)
    samples = lambda r: [(domain(r, 3, 4),), (domain(r, 2, 3, 2),), (np.asarray(domain(r)),)] + \
        ([(int_sample,)] if int_sample is not None else [])
    OpSpec(name, ng_fn, torch_fn, samples, **kw)
    OpSpec(name + "_method", lambda a: getattr(a, name)(), lambda a: getattr(a, name)(),
           lambda r: [(domain(r, 2, 3),)], **kw)


def within(low, high):
    return lambda r, *shape: randn(r, *shape, low=low, high=high)


_unary("exp", randn)
_unary("exp2", randn)
_unary("expm1", randn)
_unary("log", positive)
_unary("log2", positive)
_unary("log10", positive)
_unary("log1p", within(-0.5, 2.0))
_unary("sqrt", positive)
_unary("rsqrt", positive)
_unary("sin", randn)
_unary("cos", randn)
_unary("tan", within(-1.2, 1.2), ints=np.array([0, 1, -1]))
_unary("tanh", randn)
_unary("sinh", randn)
_unary("cosh", randn)
_unary("asin", within(-0.9, 0.9), ints=np.array([0, 1, -1]))
_unary("acos", within(-0.9, 0.9), ints=np.array([0, 1, -1]))
_unary("atan", randn)
_unary("asinh", randn)
_unary("acosh", within(1.2, 3.0))
_unary("atanh", within(-0.9, 0.9), ints=np.array([0, 1, -1]))
_unary("sigmoid", lambda r, *s: randn(r, *s) * 3)
_unary("logit", within(0.05, 0.95), ints=np.array([0, 1]))
_unary("erf", randn)
_unary("erfc", randn)
_unary("erfinv", within(-0.9, 0.9), ints=np.array([0, 1, -1]))
_unary("lgamma", within(0.2, 4.0))
_unary("digamma", within(0.3, 4.0))
_unary("abs", away_from_zero, ints=SMALL_INT)
_unary("sign", away_from_zero, ints=SMALL_INT)
_unary("sgn", away_from_zero, ints=SMALL_INT)
_unary("floor", off_integers, ints=SMALL_INT)
_unary("ceil", off_integers, ints=SMALL_INT)
_unary("round", off_integers, ints=SMALL_INT)
_unary("trunc", off_integers, ints=SMALL_INT)
_unary("frac", off_integers, ints=None)
_unary("fix", off_integers, ints=SMALL_INT)
for _alias in ("absolute", "negative", "arcsin", "arccos", "arctan", "arcsinh", "arctanh"):
    _unary(_alias, within(-0.9, 0.9))
_unary("arccosh", within(1.2, 3.0))

OpSpec("logit_eps", lambda a: ng.logit(a, eps=0.2), lambda a: torch.logit(a, eps=0.2),
       lambda r: [(randn(r, 3, 4, low=0.01, high=0.99),)])
OpSpec("polygamma", lambda n, a: ng.polygamma(n, a), lambda n, a: torch.polygamma(n, a),
       lambda r: [(1, within(0.3, 3.0)(r, 3, 4)), (2, within(0.3, 3.0)(r, 3)), (0, within(0.3, 3.0)(r, 3)),
                  (1, INT)])
OpSpec("polygamma_method", lambda a: a.polygamma(1), lambda a: a.polygamma(1),
       lambda r: [(within(0.3, 3.0)(r, 2, 3),)])
OpSpec("round_decimals", lambda a, d: ng.round(a, decimals=d), lambda a, d: torch.round(a, decimals=d),
       lambda r: [(off_integers(r, 3, 4, scale=0.03), 2), (off_integers(r, 3, 4, scale=300.0), -2),
                  (off_integers(r, 5, scale=3), 0)])

# ----------------------------------------------------------------------------- binary math
OpSpec("atan2", ng.atan2, torch.atan2,
       lambda r: [(randn(r, 3, 4), away_from_zero(r, 3, 4)), (randn(r, 2, 3, 1), away_from_zero(r, 4)),
                  (INT, np.array([1, -2, 3]))])
OpSpec("arctan2", ng.arctan2, torch.arctan2, lambda r: [(randn(r, 3, 4), away_from_zero(r, 3, 4))])
OpSpec("maximum", ng.maximum, torch.maximum,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 2, 3, 1), randn(r, 4)), (INT, SMALL_INT),
                  (randn(r, 3), np.array([0, 1, -1]))])
OpSpec("minimum", ng.minimum, torch.minimum,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 2, 3, 1), randn(r, 4)), (INT, SMALL_INT)])
OpSpec("fmax", ng.fmax, torch.fmax,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 3, 1), randn(r, 4)), (INT, SMALL_INT)])
OpSpec("fmin", ng.fmin, torch.fmin,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 3, 1), randn(r, 4)), (INT, SMALL_INT)])
OpSpec("hypot", ng.hypot, torch.hypot,
       lambda r: [(away_from_zero(r, 3, 4), randn(r, 3, 4)), (away_from_zero(r, 2, 1), away_from_zero(r, 3))])
OpSpec("copysign", ng.copysign, torch.copysign,
       lambda r: [(away_from_zero(r, 3, 4), away_from_zero(r, 3, 4)), (away_from_zero(r, 3), -1.0),
                  (INT, np.array([1, -1, 1]))])
OpSpec("xlogy", ng.xlogy, torch.xlogy,
       lambda r: [(randn(r, 3, 4), positive(r, 3, 4)), (randn(r, 3, 1), positive(r, 4)), (2.0, positive(r, 3)),
                  (np.array([0.0, 1.0, 2.0]), positive(r, 3)), (INT, np.array([1, 2, 3]))])
OpSpec("logaddexp", ng.logaddexp, torch.logaddexp,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 2, 1), randn(r, 3) * 10)])
OpSpec("logaddexp2", ng.logaddexp2, torch.logaddexp2,
       lambda r: [(randn(r, 3, 4), randn(r, 3, 4)), (randn(r, 2, 1), randn(r, 3) * 10)])

# ----------------------------------------------------------------------------- clamp, where, nan_to_num
OpSpec("clamp", lambda a, lo, hi: ng.clamp(a, lo, hi), lambda a, lo, hi: torch.clamp(a, lo, hi),
       lambda r: [(randn(r, 3, 4), -0.5, 0.5), (randn(r, 3, 4), -0.3, None), (randn(r, 3, 4), None, 0.2),
                  (randn(r, 3, 4), randn(r, 3, 4) - 0.5, randn(r, 3, 4) + 0.5),
                  (randn(r, 3, 4), randn(r, 4) - 0.3, None), (randn(r, 3, 4), None, randn(r, 3, 1)),
                  (randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4)),  # min > max in places
                  (INT, 2, 4), (INT, 1.5, None), (randn(r, 3), Const(np.array([-0.1, 0.0, 0.1])), None)])
OpSpec("clip", lambda a: ng.clip(a, -0.5, 0.5), lambda a: torch.clip(a, -0.5, 0.5), lambda r: [(randn(r, 3, 4),)])
OpSpec("clamp_min", ng.clamp_min, torch.clamp_min,
       lambda r: [(randn(r, 3, 4), 0.1), (randn(r, 3, 4), randn(r, 4))])
OpSpec("clamp_max", ng.clamp_max, torch.clamp_max,
       lambda r: [(randn(r, 3, 4), 0.1), (randn(r, 3, 4), randn(r, 3, 1))])
OpSpec("where", ng.where, torch.where,
       lambda r: [(r.random((3, 4)) > 0.5, randn(r, 3, 4), randn(r, 3, 4)),
                  (r.random((3, 1)) > 0.5, randn(r, 4), randn(r, 2, 3, 4)),
                  (r.random((3, 4)) > 0.5, randn(r, 3, 4), 0.0), (r.random(3) > 0.5, 1.5, randn(r, 3)),
                  (r.random(3) > 0.5, INT, 2.5), (r.random(3) > 0.5, INT, SMALL_INT)])
OpSpec("where_method", lambda c, a, b: a.where(c, b), lambda c, a, b: a.where(c, b),
       lambda r: [(r.random((3, 4)) > 0.5, randn(r, 3, 4), randn(r, 4))])
_SPECIAL = np.array([[0.5, np.nan, np.inf], [-np.inf, -1.5, 2.0]])
OpSpec("nan_to_num", ng.nan_to_num, torch.nan_to_num,
       lambda r: [(randn(r, 3, 4),), (_SPECIAL,), (INT,)])
OpSpec("nan_to_num_values", lambda a: ng.nan_to_num(a, nan=0.5, posinf=3.0, neginf=-3.0),
       lambda a: torch.nan_to_num(a, nan=0.5, posinf=3.0, neginf=-3.0), lambda r: [(_SPECIAL,)])

# ----------------------------------------------------------------------------- comparisons
_CMP_SAMPLES = lambda r: [(np.round(randn(r, 3, 4)), np.round(randn(r, 3, 4))),
                          (np.round(randn(r, 3, 1)), np.round(randn(r, 4))), (randn(r, 3), 0.0),
                          (INT, 3), (INT, 2.5), (SMALL_INT, np.array([0.0, -1.0, 2.0])),
                          (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))]
for _name in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
              "not_equal"):
    OpSpec(_name, getattr(ng, _name), getattr(torch, _name), _CMP_SAMPLES, grad=False)
OpSpec("operators_cmp", lambda a, b: [a == b, a != b, a < b, a <= b, a > b, a >= b, 1 < a, 1 == a],
       lambda a, b: [a == b, a != b, a < b, a <= b, a > b, a >= b, 1 < a, 1 == a],
       lambda r: [(np.round(randn(r, 3, 4)), np.round(randn(r, 4)))], grad=False)
OpSpec("equal", ng.equal, torch.equal,
       lambda r: [(INT, INT), (INT, INT * 1.0), (INT, SMALL_INT), (INT, INT[:1]),
                  (np.array([np.nan]), np.array([np.nan]))], grad=False)
OpSpec("isclose", ng.isclose, torch.isclose,
       lambda r: [(np.array([1.0, 1.0 + 1e-9, 2.0, np.nan, np.inf]), np.array([1.0, 1.0, 2.1, np.nan, np.inf])),
                  (INT, INT), (np.array([True, False]), np.array([True, True]))], grad=False)
OpSpec("isclose_equal_nan", lambda a, b: ng.isclose(a, b, rtol=0.1, atol=0.0, equal_nan=True),
       lambda a, b: torch.isclose(a, b, rtol=0.1, atol=0.0, equal_nan=True),
       lambda r: [(np.array([1.0, 1.05, np.nan, 0.0]), np.array([1.0, 1.0, np.nan, 1e-9]))], grad=False)
OpSpec("allclose", ng.allclose, torch.allclose,
       lambda r: [(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])), (np.array([1.0, 2.0]), np.array([1.0, 2.1]))],
       grad=False)
_TESTS = lambda r: [(np.array([[0.0, -0.0, 1.5], [np.nan, np.inf, -np.inf]]),), (SMALL_INT,),
                    (np.array([True, False]),)]
for _name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit"):
    OpSpec(_name, getattr(ng, _name), getattr(torch, _name), _TESTS, grad=False)

# ----------------------------------------------------------------------------- bitwise and logical
_BOOLS = (np.array([[True, False], [True, True]]), np.array([True, False]))
_BIT_SAMPLES = lambda r: [(ints(r, 3, 4, low=-20, high=20), ints(r, 3, 4, low=-20, high=20)),
                          (ints(r, 3, 1, low=0, high=9).astype(np.uint8), ints(r, 4, low=0, high=9).astype(np.uint8)),
                          (ints(r, 4).astype(np.int32), 6), _BOOLS, (_BOOLS[0], True),
                          (ints(r, 3).astype(np.int8), ints(r, 3))]
for _name, _op in (("bitwise_and", operator.and_), ("bitwise_or", operator.or_),
                   ("bitwise_xor", operator.xor)):
    OpSpec(_name, getattr(ng, _name), getattr(torch, _name), _BIT_SAMPLES, grad=False)
    _both = (lambda a, b, f=_op: [f(a, b), f(5, a)])  # the operator and its reflected form
    OpSpec(_name + "_operator", _both, _both, lambda r: [(INT, SMALL_INT), _BOOLS], grad=False)
OpSpec("bitwise_not", ng.bitwise_not, torch.bitwise_not,
       lambda r: [(SMALL_INT,), (_BOOLS[0],), (np.array([0, 7, 255], dtype=np.uint8),)], grad=False)
OpSpec("invert_operator", lambda a: ~a, lambda a: ~a, lambda r: [(SMALL_INT,), (_BOOLS[0],)], grad=False)
_LOGICAL = lambda r: [_BOOLS, (SMALL_INT, INT), (randn(r, 3, 4).round(), randn(r, 4).round()), (SMALL_INT, _BOOLS[1][:1])]
for _name in ("logical_and", "logical_or", "logical_xor"):
    OpSpec(_name, getattr(ng, _name), getattr(torch, _name), _LOGICAL, grad=False)
OpSpec("logical_not", ng.logical_not, torch.logical_not,
       lambda r: [(SMALL_INT,), (_BOOLS[0],), (randn(r, 3).round(),)], grad=False)
