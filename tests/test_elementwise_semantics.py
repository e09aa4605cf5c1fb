"""Elementwise ops beyond the op registry: result dtypes against PyTorch for every pair of dtypes
and kinds of operand, in-place variants, operators (reflected ones too), gradients at the special
points PyTorch defines (ties, boundaries, zeros) and the errors."""
import operator

import numpy as np
import pytest
import torch

import nablagrad as ng

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
KINDS = ["tensor", "0-dim", "int", "float", "bool"]


def make_operand(kind, dtype, lib, left):
    """One operand for the dtype table: values chosen so that no op divides by zero."""
    if kind == "int":
        return 2
    if kind == "float":
        return 1.5
    if kind == "bool":
        return True
    values = [1, 2, 3] if left else [2, 1, 3]
    if dtype == "bool":
        values = [True, True, True]
    if kind == "0-dim":
        values = values[1]
    return lib.tensor(values, dtype=getattr(lib, dtype))


BINARY_OPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "and": operator.and_, "or": operator.or_, "xor": operator.xor,
    "eq": operator.eq, "lt": operator.lt,
    "div_trunc": lambda lib: lambda a, b: lib.div(a, b, rounding_mode="trunc"),
    "fmod": lambda lib: lib.fmod, "maximum": lambda lib: lib.maximum, "atan2": lambda lib: lib.atan2,
    "copysign": lambda lib: lib.copysign, "xlogy": lambda lib: lib.xlogy,
    "logical_and": lambda lib: lib.logical_and, "where": lambda lib: lambda a, b: lib.where(
        lib.tensor([True, False, True]), a, b),
}
OPERATORS = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "eq", "lt"}
# ops whose PyTorch version takes tensors only (we accept numbers as well)
TENSOR_ONLY = {"maximum", "atan2", "logical_and", "copysign"}


def _run(fn, a, b):
    try:
        return fn(a, b), None
    except Exception as e:  # noqa: BLE001 - we compare whether both libraries raise
        return None, e


@pytest.mark.parametrize("opname", sorted(BINARY_OPS))
def test_binary_result_dtypes_match_torch(opname):
    """Every pair of dtypes × kinds of operand (tensor, 0-dim tensor, int, float, bool), with the
    tensor on the left and, for operators, on the right: same dtype and values as PyTorch, or an
    error where PyTorch raises."""
    f = BINARY_OPS[opname]
    f_ng, f_t = (f, f) if opname in OPERATORS else (f(ng), f(torch))
    mismatches = []
    for d1 in DTYPES:
        for left_kind in ("tensor", "0-dim"):
            for d2 in DTYPES:
                for kind in KINDS:
                    if kind not in ("tensor", "0-dim") and d2 != DTYPES[0]:
                        continue  # Python scalars have no dtype: one round is enough
                    if kind not in ("tensor", "0-dim") and opname in TENSOR_ONLY:
                        continue
                    orders = [(True, False)] + ([(False, True)] if opname in OPERATORS and
                                                kind not in ("tensor", "0-dim") else [])
                    for left_first, _ in orders:
                        def args(lib):
                            x = make_operand(left_kind, d1, lib, True)
                            y = make_operand(kind, d2, lib, False)
                            return (x, y) if left_first else (y, x)
                        r_t, e_t = _run(f_t, *args(torch))
                        r_n, e_n = _run(f_ng, *args(ng))
                        case = f"{left_kind} {d1} {'⊕' if left_first else '⊕(reflected)'} {kind} {d2}"
                        if e_t is not None:
                            if e_n is None:
                                mismatches.append(f"{case}: torch raised {e_t!r}, we gave {r_n.dtype}")
                            continue
                        if e_n is not None:
                            mismatches.append(f"{case}: we raised {e_n!r}, torch gave {r_t.dtype}")
                            continue
                        if str(r_n.dtype).split(".")[1] != str(r_t.dtype).split(".")[1]:
                            mismatches.append(f"{case}: dtype {r_n.dtype} vs torch {r_t.dtype}")
                            continue
                        tol = 1e-2 if "float16" in (str(r_t.dtype),) or "float16" in (d1, d2) else 1e-5
                        ours = np.asarray(r_n.numpy(), dtype=np.float64)
                        theirs = r_t.double().numpy() if r_t.dtype != torch.bool else r_t.numpy()
                        if not np.allclose(ours, theirs, rtol=tol, atol=tol, equal_nan=True):
                            mismatches.append(f"{case}: values {ours} vs torch {theirs}")
    assert not mismatches, f"{opname}: {len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])


# ----------------------------------------------------------------------------- in-place variants
INPLACE_CASES = [
    ("add_", "float32", (2.5,)), ("add_", "int64", (2,)), ("sub_", "float64", (1.5,)),
    ("mul_", "int32", (3,)), ("div_", "float32", (4.0,)), ("pow_", "float32", (2,)),
    ("floor_divide_", "int64", (2,)), ("remainder_", "float32", (1.5,)), ("fmod_", "int64", (2,)),
    ("exp_", "float32", ()), ("sqrt_", "float64", ()), ("sigmoid_", "float32", ()),
    ("abs_", "int64", ()), ("neg_", "float32", ()), ("clamp_", "float32", (-1.0, 1.5)),
    ("clamp_min_", "int64", (0,)), ("round_", "float32", ()), ("sign_", "float32", ()),
    ("eq_", "float32", (2.0,)), ("lt_", "int64", (1,)), ("bitwise_and_", "int64", (6,)),
    ("logical_not_", "float32", ()), ("lerp_", "float32", (None, 0.25)),
    ("addcmul_", "float32", (None, None)), ("nan_to_num_", "float32", ()),
    ("atan2_", "float32", (None,)), ("square_", "int64", ()), ("polygamma_", "float32", (1,)),
    ("float_power_", "float64", (2,)), ("absolute_", "float32", ()), ("clip_", "float32", (0.0, 1.0)),
]


def _inplace_args(args, lib):
    """``None`` stands for a second tensor operand."""
    return [lib.tensor([0.5, 2.0, 1.0]) if a is None else a for a in args]


@pytest.mark.parametrize("name,dtype,args", INPLACE_CASES, ids=[c[0] + c[1] for c in INPLACE_CASES])
def test_inplace_value_dtype_and_version(name, dtype, args):
    values = [-1.5, 2.0, 3.25] if dtype.startswith("float") else [-1, 2, 3]
    t = ng.tensor(values, dtype=getattr(ng, dtype))
    ref = torch.tensor(values, dtype=getattr(torch, dtype))
    v0 = t._version
    out = getattr(t, name)(*_inplace_args(args, ng))
    getattr(ref, name)(*_inplace_args(args, torch))
    assert out is t
    assert t._version == v0 + 1
    assert t.dtype == getattr(ng, dtype)
    np.testing.assert_allclose(t.numpy().astype(np.float64), ref.numpy().astype(np.float64),
                               rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("call", [
    lambda t: t.add_(1.5), lambda t: t.div_(2), lambda t: t.mul_(0.5), lambda t: t.exp_(),
    lambda t: t.sqrt_(), lambda t: t.pow_(0.5), lambda t: t.clamp_(0.5, 2.5),
    lambda t: t.lerp_(ng.tensor([1.0, 1.0]), 0.5),
])
def test_inplace_result_that_cannot_be_cast_raises(call):
    t = ng.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        call(t)
    assert t.tolist() == [1, 2]


def test_inplace_bool_and_float_power_casts():
    with pytest.raises(RuntimeError, match="can't be cast"):
        ng.tensor([True, False]).add_(1)
    with pytest.raises(RuntimeError, match="float64"):
        ng.tensor([1.0, 2.0]).float_power_(2)


def test_inplace_broadcast_shape_must_match():
    t = ng.zeros(3)
    with pytest.raises(RuntimeError, match="shape"):
        t.add_(ng.ones(2, 3))


def test_inplace_augmented_assignment_keeps_identity():
    t = ng.tensor([1.0, 2.0])
    alias = t
    t += 1
    t *= 3
    t **= 2
    t /= 4
    t -= 1
    assert t is alias
    np.testing.assert_allclose(t.numpy(), ((np.array([1.0, 2.0]) + 1) * 3) ** 2 / 4 - 1)


def test_inplace_on_a_view_writes_the_base():
    base = ng.arange(6.0).reshape(2, 3)
    view = base[:, 1]
    view.mul_(10)
    assert base.tolist() == [[0.0, 10.0, 2.0], [3.0, 40.0, 5.0]]
    assert base._version == view._version == 1


def test_inplace_with_autograd_matches_torch():
    def run(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = x * 1.0
        y.mul_(x).add_(1).clamp_(0.6, 2.5).exp_()
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()
    for a, b in zip(run(ng), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_inplace_on_leaf_requiring_grad_raises():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.exp_()


def test_inplace_after_save_is_detected():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.exp()  # keeps y's result for backward
    w = y.sin()  # keeps y itself
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (z.sum() + w.sum()).backward()


# ----------------------------------------------------------------------------- operators
UNARY_OPERATORS = [operator.neg, operator.pos, operator.abs, operator.invert]
OPERATOR_PAIRS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
                  operator.mod, operator.pow, operator.and_, operator.or_, operator.xor,
                  operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("op", OPERATOR_PAIRS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("scalar", [3, 2.5, True], ids=["int", "float", "bool"])
@pytest.mark.parametrize("dtype", ["int64", "float32", "bool"])
def test_operators_with_scalars_both_ways(op, scalar, dtype):
    values = [True, True, False] if dtype == "bool" else [1, -2, 4]
    for order in (lambda t: (t, scalar), lambda t: (scalar, t)):
        a = ng.tensor(values, dtype=getattr(ng, dtype))
        b = torch.tensor(values, dtype=getattr(torch, dtype))
        r_t, e_t = _run(op, *order(b))
        r_n, e_n = _run(op, *order(a))
        assert (e_t is None) == (e_n is None), f"torch: {e_t!r}, ours: {e_n!r}"
        if e_t is None:
            assert isinstance(r_n, ng.Tensor)
            assert str(r_n.dtype).split(".")[1] == str(r_t.dtype).split(".")[1]
            np.testing.assert_allclose(r_n.numpy().astype(np.float64), r_t.numpy().astype(np.float64),
                                       rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("op", UNARY_OPERATORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", ["int64", "float32", "bool", "uint8"])
def test_unary_operators(op, dtype):
    values = [True, False] if dtype == "bool" else [1, 3]
    r_t, e_t = _run(lambda x, _: op(x), torch.tensor(values, dtype=getattr(torch, dtype)), None)
    r_n, e_n = _run(lambda x, _: op(x), ng.tensor(values, dtype=getattr(ng, dtype)), None)
    assert (e_t is None) == (e_n is None), f"torch: {e_t!r}, ours: {e_n!r}"
    if e_t is None:
        assert str(r_n.dtype).split(".")[1] == str(r_t.dtype).split(".")[1]
        assert r_n.tolist() == r_t.tolist()


def test_positive_returns_the_input():
    t = ng.tensor([1.0])
    assert ng.positive(t) is t and +t is t


def test_comparisons_do_not_require_grad():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    for r in (x > 1, x == x, ng.isclose(x, x), ng.isnan(x), x.eq(1.0)):
        assert r.dtype == ng.bool and not r.requires_grad


def test_equal_and_allclose_return_python_bools():
    a = ng.tensor([1.0, 2.0])
    assert ng.equal(a, ng.tensor([1, 2])) is True
    assert a.equal(ng.tensor([1.0, 2.5])) is False
    assert ng.equal(a, ng.tensor([1.0])) is False
    assert ng.allclose(a, a + 1e-9) is True and a.allclose(a + 1) is False


# ----------------------------------------------------------------------------- special values
def _grads(lib, fn, *values, rg=None):
    xs = [lib.tensor(v, dtype=lib.float64, requires_grad=True if rg is None else rg[i])
          for i, v in enumerate(values)]
    out = fn(lib, *xs)
    out.backward(lib.ones_like(out))
    return [out.detach().numpy()] + [x.grad.numpy() if x.grad is not None else None for x in xs]


SPECIAL_GRADS = {
    "maximum_ties": (lambda lib, a, b: lib.maximum(a, b), [1.0, 2.0, 3.0, np.nan], [1.0, 1.0, 4.0, 1.0]),
    "minimum_ties": (lambda lib, a, b: lib.minimum(a, b), [1.0, 2.0, 3.0, 1.0], [1.0, 1.0, 4.0, np.nan]),
    "fmax_nan": (lambda lib, a, b: lib.fmax(a, b), [1.0, np.nan, 3.0, 2.0], [np.nan, 1.0, 3.0, 5.0]),
    "fmin_nan": (lambda lib, a, b: lib.fmin(a, b), [1.0, np.nan, 3.0, 2.0], [np.nan, 1.0, 3.0, 5.0]),
    "clamp_tensor_bounds": (lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
                            [0.0, 1.0, 0.5, 2.0, 0.5], [0.0, 0.0, 0.6, 0.0, 2.0], [1.0, 1.0, 0.7, 1.0, 1.0]),
    "clamp_scalar_boundary": (lambda lib, x: lib.clamp(x, 0.0, 1.0), [0.0, 1.0, -1.0, 2.0, 0.5]),
    "clamp_nan": (lambda lib, x: lib.clamp(x, min=0.0), [np.nan, -1.0, 1.0]),
    "pow_zeros": (lambda lib, a, b: lib.pow(a, b), [0.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, -1.0]),
    "pow_scalar_exponent_zero": (lambda lib, a: a ** 0, [0.0, 2.0]),
    "pow_zero_base_scalar": (lambda lib, b: 0.0 ** b, [0.0, 2.0, -1.0]),
    "rpow": (lambda lib, b: 3.0 ** b, [0.5, -2.0]),
    "xlogy_zeros": (lambda lib, x, y: lib.xlogy(x, y), [0.0, 0.0, 1.0, 2.0], [0.0, 3.0, 2.0, 0.5]),
    "copysign_zero": (lambda lib, a, b: lib.copysign(a, b), [0.0, -2.0, 3.0], [-1.0, 1.0, -0.0]),
    "logit_eps": (lambda lib, x: lib.logit(x, eps=0.1), [0.05, 0.5, 0.95, 0.1]),
    "logit_outside": (lambda lib, x: lib.logit(x), [-0.5, 0.5, 1.5]),
    "abs_zero": (lambda lib, x: lib.abs(x), [0.0, -1.0]),
    "nan_to_num": (lambda lib, x: lib.nan_to_num(x), [np.nan, np.inf, -np.inf, 1.0]),
    "where_nan_branch": (lambda lib, x: lib.where(x > 0, x.sqrt(), lib.zeros_like(x)), [4.0, 1.0]),
    "remainder_grad": (lambda lib, a, b: lib.remainder(a, b), [5.5, -5.5, 5.5], [2.0, 2.0, -2.0]),
    "fmod_grad": (lambda lib, a, b: lib.fmod(a, b), [5.5, -5.5, 5.5], [2.0, 2.0, -2.0]),
    "sigmoid_extremes": (lambda lib, x: lib.sigmoid(x), [-1000.0, -30.0, 0.0, 30.0, 1000.0]),
    "logaddexp_far": (lambda lib, a, b: lib.logaddexp(a, b), [-1000.0, 0.0, 1000.0], [0.0, 0.0, 0.0]),
    "div_rounding_zero_grad": (lambda lib, a, b: lib.div(a, b, rounding_mode="floor"), [5.5, -1.0], [2.0, 3.0]),
}


@pytest.mark.parametrize("name", sorted(SPECIAL_GRADS))
def test_values_and_gradients_at_special_points_match_torch(name):
    fn, *values = SPECIAL_GRADS[name]
    with np.errstate(all="ignore"):
        ours = _grads(ng, fn, *values)
    theirs = _grads(torch, fn, *values)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b is None:
            assert a is None or not np.any(a), f"{name}: output {i}"
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, equal_nan=True,
                                       err_msg=f"{name}: {'value' if i == 0 else f'grad {i - 1}'}")


def test_gradcheck_where_pytorch_has_no_derivative():
    b = ng.tensor([1.5, -2.3, 0.7], dtype=ng.float64, requires_grad=True)
    assert ng.autograd.gradcheck(lambda t: 5.0 % t, (b,))
    assert ng.autograd.gradgradcheck(lambda t: 5.0 % t, (b,))
    x = ng.tensor([1.3, -2.7, 0.2], dtype=ng.float64, requires_grad=True)
    assert ng.autograd.gradcheck(lambda t: t // 0.7, (x,))  # piecewise constant: 0


def test_integer_powers_follow_torch():
    base = [0, 1, -1, 2, -2, 3]
    exps = [-1, -2, -3, 0, 1, 2]
    for b in base:
        ours = (b ** ng.tensor(exps)).tolist()
        assert ours == (b ** torch.tensor(exps)).tolist(), b
    a, e = ng.tensor(base), ng.tensor(exps)
    assert (a ** e).tolist() == (torch.tensor(base) ** torch.tensor(exps)).tolist()
    assert (ng.tensor([2], dtype=ng.uint8) ** 9).tolist() == [0]  # wraps around as in torch
    with pytest.raises(RuntimeError, match="negative integer powers"):
        ng.tensor([1, 2]) ** -1


def test_integer_scalars_wrap_like_torch():
    u = ng.tensor([5], dtype=ng.uint8)
    assert (u + 300).tolist() == (torch.tensor([5], dtype=torch.uint8) + 300).tolist()
    i = ng.tensor([5], dtype=ng.int8)
    assert (i * 100).tolist() == (torch.tensor([5], dtype=torch.int8) * 100).tolist()


def test_rounding_and_integer_division_values():
    x = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -7.0, 7.0]
    assert ng.round(ng.tensor(x)).tolist() == torch.round(torch.tensor(x)).tolist()
    a, b = [-7, 7, -7, 7, 6], [2, 2, -2, -2, 3]
    for mode in ("trunc", "floor"):
        assert ng.div(ng.tensor(a), ng.tensor(b), rounding_mode=mode).tolist() == \
            torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode).tolist()
    assert (ng.tensor(a) % ng.tensor(b)).tolist() == (torch.tensor(a) % torch.tensor(b)).tolist()
    assert ng.fmod(ng.tensor(a), ng.tensor(b)).tolist() == torch.fmod(torch.tensor(a), torch.tensor(b)).tolist()
    fa = [5.5, -5.5, 0.0, -0.0]
    for op in (operator.floordiv, operator.mod):
        np.testing.assert_array_equal(op(ng.tensor(fa), 0.0).numpy(), op(torch.tensor(fa), 0.0).numpy())


def test_float16_keeps_its_dtype():
    h = ng.tensor([0.5, 1.5], dtype=ng.float16)
    for name in ("exp", "sigmoid", "erf", "lgamma", "digamma", "sqrt", "tanh"):
        assert getattr(h, name)().dtype == ng.float16, name
    assert (h * 2.5).dtype == ng.float16 and (h + ng.tensor(1.0)).dtype == ng.float16


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call,match", [
    (lambda: ng.tensor([1.0]) & 1, "bitwise_and: only bool and integer"),
    (lambda: ng.bitwise_or(ng.tensor([1]), 1.5), "bitwise_or: only bool and integer"),
    (lambda: ~ng.tensor([1.0]), "bitwise_not"),
    (lambda: ng.tensor([True]) - ng.tensor([False]), "sub: subtraction"),
    (lambda: -ng.tensor([True]), "neg: not supported for bool"),
    (lambda: ng.tensor([3]) // 0, "ZeroDivisionError"),
    (lambda: ng.tensor([3]) % ng.tensor([0]), "ZeroDivisionError"),
    (lambda: ng.div(ng.tensor([3.0]), 2, rounding_mode="round"), "rounding_mode"),
    (lambda: ng.clamp(ng.tensor([1.0])), "at least one of 'min' or 'max'"),
    (lambda: ng.where(ng.tensor([1]), ng.tensor([1.0]), 0.0), "where: expected condition"),
    (lambda: ng.frac(ng.tensor([1])), "frac"),
    (lambda: ng.floor(ng.tensor([True])), "floor"),
    (lambda: ng.hypot(ng.tensor([1]), ng.tensor([2])), "hypot"),
    (lambda: ng.addcdiv(ng.tensor([1]), ng.tensor([1]), ng.tensor([2])), "addcdiv"),
    (lambda: ng.polygamma(-1, ng.tensor([1.0])), "polygamma"),
])
def test_errors_name_the_op(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


@pytest.mark.parametrize("call,match", [
    (lambda: ng.exp(2.0), r"exp\(\): expected a Tensor"),
    (lambda: ng.add(1, 2), "add: expected at least one Tensor"),
    (lambda: ng.mul(ng.tensor([1.0]), "x"), "mul: expected Tensors or Python numbers"),
])
def test_type_errors(call, match):
    with pytest.raises(TypeError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a < b,
    lambda a, b: ng.maximum(a, b), lambda a, b: ng.clamp(a, b), lambda a, b: a % b,
    lambda a, b: ng.where(a > 0, a, b), lambda a, b: a.long() & b.long(),
])
def test_broadcast_mismatch_names_the_shapes(call):
    with pytest.raises(RuntimeError, match=r"\[2, 3\] and \[4\] cannot be broadcast"):
        call(ng.ones(2, 3), ng.ones(4))
