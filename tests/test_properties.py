"""Property tests (Hypothesis) over random shapes, broadcasting and strides.

(a) broadcasting arithmetic: forward equals NumPy; each gradient is the upstream gradient times
    the local derivative, summed over the broadcast dimensions.
(b) views (permute, transpose, slicing with steps and integer indices, expand, as_strided): values,
    shapes, strides and storage offsets equal PyTorch's (and NumPy's, on every dim that addresses
    memory); views share storage; writes go through; gradients equal PyTorch's.
(c) reshape of a non-contiguous view: equals NumPy and shares memory exactly when NumPy can make
    a view; ``view`` succeeds exactly then.
(d) sum over random subsets of dims with keepdim: values and backward.
(e) batched, broadcast matmul: forward equals NumPy, gradients equal PyTorch's.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import nablagrad as ng

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=50, deadline=None)
seeds = st.integers(0, 2 ** 32 - 1)


def sum_to(g, shape):
    """Reference reduction of a broadcast gradient back to ``shape`` (NumPy)."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


# ----------------------------------------------------------------------------- (a) broadcasting
# op, forward, (∂/∂a, ∂/∂b) as functions of (a, b) in NumPy
BINARY = {
    "add": (ng.add, np.add, lambda a, b: (np.ones_like(a * b), np.ones_like(a * b))),
    "sub": (ng.sub, np.subtract, lambda a, b: (np.ones_like(a * b), -np.ones_like(a * b))),
    "mul": (ng.mul, np.multiply, lambda a, b: (b + 0 * a, a + 0 * b)),
    "div": (ng.div, np.divide, lambda a, b: (1 / b + 0 * a, -a / (b * b))),
}


@SETTINGS
@given(op=st.sampled_from(sorted(BINARY)),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                max_side=4),
       seed=seeds)
def test_broadcast_binary_forward_and_gradients(op, shapes, seed):
    ng_fn, np_fn, local = BINARY[op]
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a = rng.normal(size=sa)
    b = rng.uniform(0.5, 2.0, size=sb) * rng.choice([-1.0, 1.0], size=sb)  # away from 0 for div
    ta = ng.tensor(a, requires_grad=True)
    tb = ng.tensor(b, requires_grad=True)
    out = ng_fn(ta, tb)
    expected = np_fn(a, b)
    assert tuple(out.shape) == out_shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    g = rng.normal(size=out_shape)
    out.backward(ng.tensor(g))
    da, db = local(a, b)
    assert ta.grad.shape == sa and tb.grad.shape == sb
    np.testing.assert_allclose(ta.grad.numpy(), sum_to(g * da, sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), sum_to(g * db, sb), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                max_side=3),
       seed=seeds)
def test_broadcast_chain_gradients(shapes, seed):
    """y = exp(-(a·b - c)) / 2 with three broadcast operands: gradients against the formula."""
    rng = np.random.default_rng(seed)
    a, b, c = (rng.normal(size=s) * 0.5 for s in shapes.input_shapes)
    ts = [ng.tensor(x, requires_grad=True) for x in (a, b, c)]
    y = (-(ts[0] * ts[1] - ts[2])).exp() / 2
    ref = np.exp(-(a * b - c)) / 2
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12)
    y.sum().backward()
    for t, local, s in zip(ts, (-ref * b, -ref * a, ref), shapes.input_shapes):
        np.testing.assert_allclose(t.grad.numpy(), sum_to(local, s), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- (b) views
base_shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)


def draw_slice(data, n):
    """A slice with a positive step (PyTorch has no negative steps), or an integer index."""
    if n > 0 and data.draw(st.booleans(), "int index?") and data.draw(st.booleans()):
        return data.draw(st.integers(-n, n - 1), "index")
    bound = st.none() | st.integers(-n - 1, n + 1)
    return slice(data.draw(bound, "start"), data.draw(bound, "stop"),
                 data.draw(st.none() | st.integers(1, 3), "step"))


def draw_view_op(data, shape):
    """One random view op as (name, args), valid for ``shape``."""
    ndim = len(shape)
    kinds = ["slice", "expand"] + (["permute", "transpose"] if ndim else [])
    kind = data.draw(st.sampled_from(kinds), "op")
    if kind == "permute":
        return kind, tuple(data.draw(st.permutations(range(ndim)), "perm"))
    if kind == "transpose":
        dims = st.integers(-ndim, ndim - 1)
        return kind, (data.draw(dims, "d0"), data.draw(dims, "d1"))
    if kind == "slice":  # one entry per dim, and a few new axes (None) anywhere
        index = [draw_slice(data, n) for n in shape]
        for _ in range(data.draw(st.integers(0, 2), "new axes")):
            index.insert(data.draw(st.integers(0, len(index)), "where"), None)
        return kind, tuple(index)
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2), "new dims"))
    sizes = tuple(data.draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    return kind, lead + sizes


def apply_view(x, op, lib):
    """Apply a view op to a NumPy array (lib='np'), a nablagrad or a torch tensor."""
    kind, args = op
    if kind == "permute":
        return np.transpose(x, args) if lib == "np" else x.permute(*args)
    if kind == "transpose":
        return np.swapaxes(x, *args) if lib == "np" else x.transpose(*args)
    if kind == "slice":  # NumPy gives a scalar for all-integer indices; "..." keeps a 0-d view
        return x[args + (Ellipsis,)] if lib == "np" else x[args]
    return np.broadcast_to(x, args) if lib == "np" else x.expand(args)


def elem_strides(a):
    return tuple(s // a.itemsize for s in a.strides)


def layout(strides, shape):
    """The strides that address memory: those of dims with more than one element."""
    return tuple(s for s, n in zip(strides, shape) if n > 1)


@SETTINGS
@given(shape=base_shapes, data=st.data())
def test_views_match_numpy_and_torch_strides(shape, data):
    base_np = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = ng.tensor(base_np)
    x_torch = torch.tensor(base_np, requires_grad=True)
    v_np, v, v_t = base_np, x, x_torch
    ops = []
    for _ in range(data.draw(st.integers(1, 4), "number of ops")):
        op = draw_view_op(data, v_np.shape)
        ops.append(op)
        v_np, v, v_t = apply_view(v_np, op, "np"), apply_view(v, op, "ng"), apply_view(v_t, op, "t")
    assert tuple(v.shape) == v_np.shape == tuple(v_t.shape)
    np.testing.assert_array_equal(v.numpy(), v_np)
    if v.numel():  # (an empty view's strides and offset address nothing; NumPy's are arbitrary)
        assert layout(v.stride(), v_np.shape) == layout(elem_strides(v_np), v_np.shape), ops
        assert layout(v.stride(), v_np.shape) == layout(v_t.stride(), v_np.shape), ops
        # the stride of a size-1 dim from None after a slice differs: see the xfail test below
        if not any(None in args for kind, args in ops):
            assert v.stride() == v_t.stride(), ops
        assert v.storage_offset() == v_t.storage_offset(), ops
        assert np.shares_memory(v.numpy(), x.numpy())
    # writes through the view land in the base (not for expanded views: they overlap)
    if not any(kind == "expand" for kind, _ in ops):
        values = np.random.default_rng(0).normal(size=v_np.shape)
        ref = base_np.copy()
        ref_view = ref
        for op in ops:
            ref_view = apply_view(ref_view, op, "np")
        ref_view[...] = values
        v[...] = ng.tensor(values)
        np.testing.assert_array_equal(x.numpy(), ref)
        assert x._version == 1 and v._version == 1  # one version counter per storage


@SETTINGS
@given(shape=base_shapes, data=st.data(), seed=seeds)
def test_view_chain_gradients_match_torch(shape, data, seed):
    base_np = np.random.default_rng(seed).normal(size=shape)
    x = ng.tensor(base_np, requires_grad=True)
    x_t = torch.tensor(base_np, requires_grad=True)
    v, v_t = x, x_t
    for _ in range(data.draw(st.integers(1, 4), "number of ops")):
        op = draw_view_op(data, tuple(v.shape))
        v, v_t = apply_view(v, op, "ng"), apply_view(v_t, op, "t")
    g = np.random.default_rng(seed + 1).normal(size=tuple(v.shape))
    (v * ng.tensor(g)).sum().backward()
    (v_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(shape=base_shapes, data=st.data())
def test_as_strided_matches_numpy_and_torch(shape, data):
    numel = int(np.prod(shape))
    ndim = data.draw(st.integers(0, 3), "ndim")
    size = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim), "size"))
    stride = tuple(data.draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim), "stride"))
    reach = sum((n - 1) * s for n, s in zip(size, stride))
    if reach >= numel:
        with pytest.raises(RuntimeError, match="as_strided"):
            ng.zeros(shape).as_strided(size, stride)
        return
    offset = data.draw(st.integers(0, numel - 1 - reach), "offset")
    base_np = np.arange(numel, dtype=np.float32).reshape(shape)
    x = ng.tensor(base_np)
    v = ng.as_strided(x, size, stride, offset)
    v_t = torch.as_strided(torch.tensor(base_np), size, stride, offset)
    v_np = np.lib.stride_tricks.as_strided(x.numpy().reshape(-1)[offset:], size,
                                           [s * 4 for s in stride])
    np.testing.assert_array_equal(v.numpy(), v_np)
    np.testing.assert_array_equal(v.numpy(), v_t.numpy())
    assert v.stride() == stride == v_t.stride()
    assert v.storage_offset() == offset == v_t.storage_offset()
    assert np.shares_memory(v.numpy(), x.numpy())


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3, 4).permute(2, 0, 1).unsqueeze(3),
    lambda m: m.zeros(2).expand(1, 2),
    lambda m: m.zeros(1).expand(2, 1),
    lambda m: m.zeros(()).expand(1, 1),        # a 0-d input: every new dim gets stride 0
    lambda m: m.zeros(1).expand(1)[0].expand(1),
    pytest.param(lambda m: m.zeros(1, 2)[:, None, :1],
                 marks=pytest.mark.xfail(strict=True, reason="None in an index after a slice: "
                                         "PyTorch takes the stride from the dim before slicing; "
                                         "harmless for the memory layout, visible in stride()")),
], ids=["unsqueeze-last", "expand-new-size-1", "expand-kept-size-1", "expand-0d", "expand-0d-view",
      "None-before-slice"])
def test_new_size_one_dims_have_torch_strides(make):
    assert make(ng).stride() == make(torch).stride()


# ----------------------------------------------------------------------------- (c) reshape
def draw_factorisation(data, n):
    """A random shape with n elements (up to 4 dims, size-1 dims allowed)."""
    dims, rest = [], n
    for _ in range(data.draw(st.integers(0, 3), "ndims - 1")):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = data.draw(st.sampled_from(divisors), "factor")
        dims.append(d)
        rest //= d
    dims.append(rest)
    return tuple(data.draw(st.permutations(dims), "order"))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6), data=st.data())
def test_reshape_of_non_contiguous_view(shape, data):
    base_np = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = ng.tensor(base_np, requires_grad=True)
    perm = tuple(data.draw(st.permutations(range(len(shape))), "perm"))
    slices = []
    for n in shape:  # non-empty slices with steps
        start = data.draw(st.integers(0, n - 1), "start")
        slices.append(slice(start, data.draw(st.integers(start + 1, n), "stop"),
                            data.draw(st.integers(1, 3), "step")))
    slices = tuple(slices)
    v_np = np.transpose(base_np[slices], perm)
    v = x[slices].permute(*perm)
    target = draw_factorisation(data, v_np.size)

    r = v.reshape(target)
    np.testing.assert_array_equal(r.detach().numpy(), v_np.reshape(target))
    try:
        v_np.reshape(target, copy=False)
        view_possible = True
    except ValueError:
        view_possible = False
    assert np.shares_memory(r.detach().numpy(), x.detach().numpy()) == view_possible
    if view_possible:
        assert v.view(target).stride() == elem_strides(v_np.reshape(target, copy=False))
    else:
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            v.view(target)
    # PyTorch agrees on when a view is possible
    v_t = torch.tensor(base_np)[slices].permute(*perm)
    try:
        v_t.view(target)
        assert view_possible
    except RuntimeError:
        assert not view_possible
    # backward puts the upstream gradient back where the view's elements came from
    g = np.random.default_rng(0).normal(size=target)
    r.backward(ng.tensor(g))
    expected = np.zeros_like(base_np)
    np.transpose(expected[slices], perm)[...] = g.reshape(v_np.shape)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


# ----------------------------------------------------------------------------- (d) sum
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4), data=st.data(),
       keepdim=st.booleans(), seed=seeds)
def test_sum_over_dim_subsets(shape, data, keepdim, seed):
    ndim = len(shape)
    axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True),
                     "axes")
    dims = tuple(a - ndim if data.draw(st.booleans(), "negative?") else a for a in axes)
    dim = dims[0] if len(dims) == 1 and data.draw(st.booleans(), "as int?") else dims
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    x = ng.tensor(a, requires_grad=True)
    y = x.sum(dim=dim, keepdim=keepdim)
    expected = a.sum(axis=tuple(axes), keepdims=keepdim)
    assert tuple(y.shape) == expected.shape
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))
    x.grad = None
    g = rng.normal(size=expected.shape)
    x.sum(dim=dim, keepdim=keepdim).backward(ng.tensor(g))
    g_keep = g if keepdim else np.expand_dims(g, tuple(sorted(axes)))
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(g_keep, shape))


# ----------------------------------------------------------------------------- (e) matmul
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2,
                                                max_side=4),
       seed=seeds)
def test_matmul_broadcast_batches(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s) for s in shapes.input_shapes)
    ta, tb = ng.tensor(a, requires_grad=True), ng.tensor(b, requires_grad=True)
    out = ta @ tb
    np.testing.assert_allclose(out.detach().numpy(), a @ b, rtol=1e-12, atol=1e-12)
    g = rng.normal(size=shapes.result_shape)
    out.backward(ng.tensor(g))
    a_t, b_t = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (a_t @ b_t).backward(torch.tensor(g))
    np.testing.assert_allclose(ta.grad.numpy(), a_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), b_t.grad.numpy(), rtol=1e-10, atol=1e-12)
