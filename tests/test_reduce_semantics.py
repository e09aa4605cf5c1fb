"""Behaviour of reductions, cumulative, sorting and selection ops beyond the generated op tests:
errors, dtype rules, keepdim shapes, empty tensors, ties, NaN, and return types."""
import math

import numpy as np
import pytest
import torch

import nablagrad as ng


def both(array, requires_grad=False):
    """The same values as a nablagrad and a torch tensor."""
    a = np.asarray(array)
    x, t = ng.tensor(a), torch.tensor(a)
    if requires_grad:
        x.requires_grad_(True)
        t.requires_grad_(True)
    return x, t


def close(ours, theirs, **kw):
    np.testing.assert_allclose(np.asarray(ours.detach().numpy(), dtype=np.float64),
                               theirs.detach().numpy().astype(np.float64), **kw)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.mean(-3), lambda x: x.max(5), lambda x: x.sort(2),
    lambda x: x.cumsum(2), lambda x: x.var((0, 2)), lambda x: x.amax(-3), lambda x: x.argmax(2),
    lambda x: x.topk(1, dim=3), lambda x: x.logsumexp(4), lambda x: x.norm(dim=2),
    lambda x: x.all(2), lambda x: x.median(2)])
def test_dim_out_of_range(call):
    with pytest.raises(IndexError, match="out of range"):
        call(ng.ones(3, 4))


@pytest.mark.parametrize("call", [lambda x: x.sum((0, 0)), lambda x: x.mean((1, -1)),
                                  lambda x: x.amax((0, -2)), lambda x: x.std((1, 1))])
def test_repeated_dims(call):
    with pytest.raises(RuntimeError, match="multiple times"):
        call(ng.ones(3, 4))


def test_float_only_reductions_reject_integers():
    x = ng.arange(6).reshape(2, 3)
    with pytest.raises(RuntimeError, match="mean.*Long|mean.*int64"):
        x.mean()
    with pytest.raises(RuntimeError, match="nanmean"):
        ng.nanmean(x)
    with pytest.raises(RuntimeError, match="var"):
        x.var()
    with pytest.raises(RuntimeError, match="std"):
        x.std(1)
    with pytest.raises(RuntimeError, match="norm"):
        x.norm()
    with pytest.raises(RuntimeError, match="logcumsumexp"):
        x.logcumsumexp(0)


def test_argument_errors():
    x = ng.ones(3, 4)
    with pytest.raises(RuntimeError, match="k=5 out of range"):
        x.topk(5)
    with pytest.raises(RuntimeError, match="kthvalue"):
        x.kthvalue(0)
    with pytest.raises(RuntimeError, match="kthvalue"):
        x.kthvalue(5)
    with pytest.raises(TypeError, match="prod"):
        x.prod((0, 1))
    with pytest.raises(RuntimeError, match="either unbiased or correction"):
        x.var(1, unbiased=True, correction=0)
    with pytest.raises(RuntimeError, match="one-dimensional"):
        ng.tensor(1.0).diff()
    with pytest.raises(RuntimeError, match="same dimension"):
        x.diff(prepend=ng.ones(4))
    with pytest.raises(RuntimeError, match="not expandable"):
        x.sum_to_size(2, 4)


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64"])
def test_integer_sums_and_products_give_int64(dtype):
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    x, t = both(a)
    for op in ("sum", "nansum", "prod"):
        ours, theirs = getattr(ng, op)(x), getattr(torch, op)(t)
        assert ours.dtype == ng.int64 and theirs.dtype == torch.int64
        assert ours.item() == theirs.item()
    for op in ("cumsum", "cumprod"):
        ours, theirs = getattr(x, op)(1), getattr(t, op)(1)
        assert ours.dtype == ng.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_dtype_arguments():
    x, t = both(np.arange(12).reshape(3, 4).astype(np.int32))
    assert ng.sum(x, dtype=ng.float32).dtype == ng.float32
    assert x.sum(1, dtype=ng.int16).dtype == ng.int16
    assert ng.mean(x, dtype=ng.float64).item() == pytest.approx(5.5)
    assert ng.cumsum(x, 0, dtype=ng.float64).dtype == ng.float64
    assert ng.prod(x.float(), 1, dtype=ng.float64).dtype == ng.float64
    f = ng.ones(3, dtype=ng.float32)
    assert f.mean().dtype == ng.float32 and f.sum(dtype=ng.float64).dtype == ng.float64
    assert f.norm(dtype=ng.float64).dtype == ng.float64
    assert ng.logsumexp(x, 1).dtype == ng.get_default_dtype()


def test_selection_keeps_dtype():
    x, t = both(np.array([[3, 1, 2], [0, 5, 4]], dtype=np.int32))
    assert x.max().dtype == ng.int32 and x.amin(1).dtype == ng.int32
    values, indices = x.max(1)
    assert values.dtype == ng.int32 and indices.dtype == ng.int64
    assert x.sort(1).values.dtype == ng.int32 and x.argsort().dtype == ng.int64
    assert x.median().dtype == ng.int32 and x.argmax().dtype == ng.int64
    u = ng.tensor(np.array([[1, 0], [2, 3]], dtype=np.uint8))
    assert ng.all(u).dtype == ng.uint8 and ng.any(u, 1).dtype == ng.uint8
    assert ng.all(x.bool()).dtype == ng.bool and ng.count_nonzero(x).dtype == ng.int64


# ----------------------------------------------------------------------------- keepdim shapes
SHAPE_CASES = [
    ("sum", (1,)), ("sum", ((0, 2),)), ("mean", (-1,)), ("nansum", ((1, 2),)), ("prod", (1,)),
    ("amax", ((0, 1),)), ("amin", (2,)), ("var", (1,)), ("std", ((0, 2),)),
    ("logsumexp", (1,)), ("norm", (2, 1)), ("all", (1,)), ("any", ((0, 2),)),
    ("argmax", (1,)), ("argmin", (None,)), ("max", (1,)), ("min", (-1,)), ("median", (0,)),
    ("nanmedian", (2,)), ("mode", (1,)), ("kthvalue", (2, 1)),
]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op,args", SHAPE_CASES)
def test_keepdim_shapes_match_torch(op, args, keepdim):
    a = np.random.default_rng(0).permutation(24).reshape(2, 3, 4).astype(np.float64)
    x, t = both(a)
    ours, theirs = getattr(ng, op)(x, *args, keepdim=keepdim), \
        getattr(torch, op)(t, *args, keepdim=keepdim)
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and ours._fields == ("values", "indices")
        for o, t_ in zip(ours, theirs):
            assert tuple(o.shape) == tuple(t_.shape)
            close(o, t_)
    else:
        assert tuple(ours.shape) == tuple(theirs.shape)
        close(ours, theirs)


def test_empty_dim_list_means_all_dims():
    x, t = both(np.arange(12.0).reshape(3, 4))
    for op in ("sum", "mean", "var", "amax"):
        close(getattr(ng, op)(x, ()), getattr(torch, op)(t, ()))


def test_scalar_tensors():
    x, t = both(np.array(2.5))
    for op in ("sum", "mean", "amax", "logsumexp"):
        close(getattr(ng, op)(x, 0), getattr(torch, op)(t, 0))
    for op in ("max", "min", "median", "sort", "cummax", "kthvalue"):
        args = (1, 0) if op == "kthvalue" else (0,)
        ours, theirs = getattr(ng, op)(x, *args), getattr(torch, op)(t, *args)
        assert ours.values.shape == () and ours.indices.item() == theirs.indices.item() == 0
    assert x.cumsum(0).shape == () and x.cumprod(-1).item() == 2.5
    assert x.topk(1).values.item() == 2.5


# ----------------------------------------------------------------------------- empty tensors
def test_empty_reductions_with_identity():
    x, t = both(np.zeros((0, 3)))
    for op, args in [("sum", ()), ("sum", (0,)), ("prod", ()), ("prod", (0,)), ("nansum", (0,)),
                     ("mean", ()), ("mean", (0,)), ("logsumexp", (0,)), ("norm", ()),
                     ("count_nonzero", ()), ("all", ()), ("any", (0,)), ("cumsum", (0,)),
                     ("sum", (1,)), ("amax", (1,)), ("median", ())]:
        ours, theirs = getattr(ng, op)(x, *args), getattr(torch, op)(t, *args)
        assert tuple(ours.shape) == tuple(theirs.shape), op
        close(ours, theirs, equal_nan=True)
    values, indices = x.max(1)
    assert values.shape == (0,) and indices.shape == (0,) and indices.dtype == ng.int64


def test_empty_reductions_without_identity_raise():
    x = ng.zeros(0, 3)
    with pytest.raises(RuntimeError, match="max"):
        x.max()
    with pytest.raises(RuntimeError, match="min"):
        ng.min(ng.tensor([]))
    with pytest.raises(RuntimeError, match="argmax"):
        x.argmax()
    with pytest.raises(IndexError, match="amax"):
        x.amax(0)
    with pytest.raises(IndexError, match="max"):
        x.max(0)
    with pytest.raises(IndexError, match="median"):
        x.median(0)
    with pytest.raises(IndexError, match="aminmax"):
        ng.aminmax(x)


# ----------------------------------------------------------------------------- return types
def test_values_indices_namedtuple():
    x = ng.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    r = x.max(dim=1)
    assert type(r).__name__ == "ValuesIndices" and r._fields == ("values", "indices")
    values, indices = r
    assert r[0] is values and r.indices is indices
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert x.sort(descending=True).values[0].tolist() == [5.0, 3.0, 1.0]
    mm = ng.aminmax(x, dim=0)
    assert mm.min.tolist() == [1.0, 2.0, 3.0] and mm.max.tolist() == [4.0, 5.0, 6.0]
    v, m = ng.var_mean(x, 1)
    assert v.shape == (2,) and m.tolist() == [3.0, 4.0]


def test_max_min_with_other_tensor_are_elementwise():
    x, t = both([[1.0, 5.0], [4.0, 2.0]])
    y, u = both([3.0, 3.0])
    close(x.max(y), t.max(u))
    close(ng.min(x, y), torch.min(t, u))


# ----------------------------------------------------------------------------- gradients
def _grads(fn_ng, fn_t, a, create_graph=False):
    x, t = both(a, requires_grad=True)
    out_ng, out_t = fn_ng(x), fn_t(t)
    g = np.random.default_rng(5).standard_normal(tuple(out_t.shape))
    (gx,) = ng.autograd.grad([out_ng], [x], [ng.tensor(g)], create_graph=create_graph)
    (gt,) = torch.autograd.grad([out_t], [t], [torch.tensor(g)], create_graph=create_graph)
    return gx, gt


@pytest.mark.parametrize("name", ["amax", "amin", "max", "min", "median", "nanmedian"])
def test_ties_share_the_gradient_evenly(name):
    a = np.array([[3.0, 1.0, 3.0, 3.0], [1.0, 1.0, 0.0, 2.0], [2.0, 2.0, 2.0, 2.0]])
    gx, gt = _grads(getattr(ng, name), getattr(torch, name), a)
    close(gx, gt)
    if name in ("amax", "amin"):
        gx, gt = _grads(lambda x: getattr(ng, name)(x, 1), lambda t: getattr(torch, name)(t, 1), a)
        close(gx, gt)
        assert gx.numpy()[2].std() == 0  # four equal maxima: a quarter each


def test_max_along_dim_sends_the_gradient_to_the_selected_index():
    a = np.array([[3.0, 1.0, 3.0], [0.0, 2.0, 2.0]])
    x, t = both(a, requires_grad=True)
    r, rt = x.max(1), t.max(1)
    assert r.indices.tolist() == rt.indices.tolist()
    r.values.sum().backward()
    rt.values.sum().backward()
    close(x.grad, t.grad)
    assert x.grad.numpy().sum() == 2.0


@pytest.mark.parametrize("fn", [lambda m: m.norm(), lambda m: m.norm(dim=1), lambda m: m.std(1),
                                lambda m: m.norm(3), lambda m: m.norm(0.5, 1),
                                lambda m: m.norm(1.5, 0)])
def test_norm_and_std_gradients_at_zero_are_zero(fn):
    gx, gt = _grads(fn, fn, np.zeros((2, 3)))
    close(gx, gt)
    assert not np.any(gx.numpy())


def test_norm_errors():
    x = ng.ones(3, 4)
    with pytest.raises(RuntimeError, match="narrowing"):
        x.double().norm(dtype=ng.float32)
    with pytest.raises(RuntimeError, match="inf"):
        ng.zeros(0, 3).norm(math.inf)


@pytest.mark.parametrize("zeros", [1, 2, 3])
def test_prod_gradient_with_zeros_matches_torch(zeros):
    a = np.array([[2.0, 0.5, 3.0, -1.5], [1.5, 2.0, -0.5, 4.0]])
    a[0, :zeros] = 0.0
    for fn in (lambda m: m.prod(), lambda m: m.prod(1)):
        gx, gt = _grads(fn, fn, a)
        close(gx, gt)


def test_cumprod_gradient_with_zeros_is_the_same_with_and_without_a_graph():
    a = np.array([[2.0, 0.0, 3.0, 0.0, 1.5], [0.0, 0.5, 2.0, 3.0, -1.0], [1.0, 2.0, 3.0, 4.0, 0.0]])
    plain, _ = _grads(lambda m: m.cumprod(1), lambda t: t.cumprod(1), a)
    graph, gt = _grads(lambda m: m.cumprod(1), lambda t: t.cumprod(1), a, create_graph=True)
    close(plain, gt)
    close(graph, gt)


def test_sum_with_a_narrower_dtype_backpropagates_in_the_input_dtype():
    a = np.random.default_rng(1).standard_normal((3, 4))
    gx, gt = _grads(lambda m: ng.sum(m, 1, dtype=ng.float32),
                    lambda m: torch.sum(m, 1, dtype=torch.float32), a)
    assert gx.dtype == ng.float64
    close(gx, gt)


@pytest.mark.parametrize("call", [lambda m: m.topk(0, 1), lambda m: m.diff(5),
                                  lambda m: m.diff(2, 0, append=m[:0])])
def test_empty_results_and_their_gradients(call):
    def values(m):
        r = call(m)
        return r.values if isinstance(r, tuple) else r
    a = np.random.default_rng(2).standard_normal((3, 4))
    gx, gt = _grads(values, values, a)
    assert tuple(values(ng.tensor(a)).shape) == tuple(values(torch.tensor(a)).shape)
    close(gx, gt)


def test_reduction_backward_broadcasts_instead_of_copying():
    x = ng.randn(50, 60, requires_grad=True)
    for out in (x.sum(), x.sum(1), x.mean(0)):
        (g,) = ng.autograd.grad([out], [x], [ng.ones(out.shape, dtype=out.dtype)])
        assert 0 in g.stride(), "the gradient should be an expanded (stride 0) view"


def test_logsumexp_is_stable():
    a = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf], [-1e4, 0.0, 1e4]])
    x, t = both(a)
    close(ng.logsumexp(x, 1), torch.logsumexp(t, 1))
    gx, gt = _grads(lambda m: ng.logsumexp(m, 1), lambda m: torch.logsumexp(m, 1), a[[0, 2]])
    close(gx, gt)


def test_logcumsumexp_is_stable():
    a = np.array([[-1000.0, 0.0, 1000.0, -5.0], [800.0, -800.0, 3.0, 900.0]])
    x, t = both(a)
    close(x.logcumsumexp(1), t.logcumsumexp(1))
    gx, gt = _grads(lambda m: m.logcumsumexp(1), lambda m: m.logcumsumexp(1), a)
    close(gx, gt, atol=1e-10)
    assert np.all(np.isfinite(gx.numpy()))


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"])
def test_cumulative_ops_along_a_leading_dim_of_wide_slices(name):
    """Wide slices take the slice-by-slice path of ``accumulate``: same results as torch."""
    a = np.random.default_rng(3).uniform(0.5, 1.5, size=(40, 3, 100))
    x, t = both(a)
    ours, theirs = getattr(x, name)(0), getattr(t, name)(0)
    if isinstance(theirs, tuple):
        assert ours.indices.tolist() == theirs.indices.tolist()
        ours, theirs = ours.values, theirs.values
    close(ours, theirs, rtol=1e-10)
    if name in ("cumsum", "logcumsumexp"):
        gx, gt = _grads(lambda m: getattr(m, name)(0), lambda m: getattr(m, name)(0), a)
        close(gx, gt, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- ties and NaN
def test_stable_sort_keeps_the_order_of_equal_elements():
    a = np.array([[2.0, 1.0, 2.0, 1.0, 3.0, 2.0], [0.5, 0.5, 0.5, -1.0, 0.5, 9.0]])
    x, t = both(a)
    for descending in (False, True):
        ours = ng.sort(x, 1, descending=descending, stable=True)
        theirs = torch.sort(t, dim=1, descending=descending, stable=True)
        assert ours.indices.tolist() == theirs.indices.tolist()
        assert ng.argsort(x, 1, descending, stable=True).tolist() == theirs.indices.tolist()


def test_nan_is_the_largest_value():
    a = np.array([[2.0, np.nan, 1.0, 5.0], [np.nan, 0.0, np.nan, -2.0]])
    x, t = both(a)
    for ours, theirs in [(x.sort(1), t.sort(1)), (x.sort(1, True), t.sort(1, True)),
                         (x.topk(2), t.topk(2)),
                         (x.topk(2, largest=False), t.topk(2, largest=False)),
                         (x.max(1), t.max(1)), (x.median(1), t.median(1)),
                         (x.nanmedian(1), t.nanmedian(1)), (x.cummax(1), t.cummax(1)),
                         (x.cummin(1), t.cummin(1))]:
        close(ours.values, theirs.values, equal_nan=True)
        assert ours.indices.tolist() == theirs.indices.tolist()
    for ours, theirs in [(x.max(), t.max()), (x.median(), t.median()),
                         (x.nanmedian(), t.nanmedian()),
                         (x.argmax(), t.argmax()), (x.amax(1), t.amax(1))]:
        close(ours, theirs, equal_nan=True)


def test_cummax_ties_point_to_the_last_occurrence():
    x, t = both([1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 1.0])
    assert x.cummax(0).indices.tolist() == t.cummax(0).indices.tolist()
    assert x.cummin(0).indices.tolist() == t.cummin(0).indices.tolist()


def test_mode_prefers_the_smallest_value_and_its_last_index():
    a = np.array([[1.0, 2, 2, 3, 3, 0], [3, 1, 3, 1, 2, 2], [7, 7, 7, 7, 7, 7]])
    x, t = both(a)
    ours, theirs = x.mode(1), t.mode(1)
    assert ours.values.tolist() == theirs.values.tolist()
    assert ours.indices.tolist() == theirs.indices.tolist()


def test_nanmedian_of_an_all_nan_slice_is_nan():
    x, t = both([[np.nan, np.nan], [1.0, np.nan]])
    ours, theirs = x.nanmedian(1), t.nanmedian(1)
    close(ours.values, theirs.values, equal_nan=True)
    assert ours.indices.tolist() == theirs.indices.tolist()


def test_inplace_cumulative_ops():
    x = ng.tensor([1.0, 2.0, 3.0])
    assert x.cumsum_(0) is x and x.tolist() == [1.0, 3.0, 6.0]
    x.cumprod_(0)
    assert x.tolist() == [1.0, 3.0, 18.0]
