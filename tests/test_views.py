"""Views share storage with their base (notes 004 §1.3): same memory, PyTorch's strides and
offsets, writes visible through both, one version counter; copies do not share."""
import numpy as np
import pytest
import torch

import nablagrad as ng
from nablagrad.ops.shape import pad


def pair(shape, dtype=np.float32):
    a = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    return ng.tensor(a), torch.tensor(a)


VIEWS = [
    ("view", lambda x: x.view(4, 6)),
    ("reshape", lambda x: x.reshape(2, 12)),
    ("flatten", lambda x: x.flatten()),
    ("flatten_part", lambda x: x.flatten(1)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2))),
    ("ravel", lambda x: x.ravel()),
    ("narrow", lambda x: x.narrow(1, 1, 2)),
    ("narrow_neg", lambda x: x.narrow(-1, -3, 2)),
    ("select", lambda x: x.select(1, 2)),
    ("select_neg", lambda x: x.select(-1, -1)),
    ("unfold", lambda x: x.unfold(2, 2, 1)),
    ("unfold_step", lambda x: x.unfold(1, 2, 1)),
    ("unfold_gap", lambda x: x.unfold(2, 1, 3)),
    ("diagonal", lambda x: x.diagonal()),
    ("diagonal_offset", lambda x: x.diagonal(1, 1, 2)),
    ("diagonal_neg", lambda x: x.diagonal(-1, 2, 1)),
    ("movedim", lambda x: x.movedim(0, -1)),
    ("moveaxis", lambda x: x.moveaxis((0, 1), (2, 0))),
    ("squeeze", lambda x: x[:, :1].squeeze((1,))),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4)),
    ("expand_as", lambda x: x[:1].expand_as(x)),
    ("broadcast_to", lambda x: x[0, 0].broadcast_to((3, 4))),
    ("permute", lambda x: x.permute(2, 0, 1)),
    ("transpose", lambda x: x.transpose(0, 2)),
    ("T", lambda x: x[0].T),
    ("mT", lambda x: x.mT),
    ("slice", lambda x: x[1:, ::2]),
    ("slice_step", lambda x: x[:, 1::2, 1:3]),
    ("int_slice", lambda x: x[0, 1:]),
    ("none_ellipsis", lambda x: x[None, ..., 1]),
    ("int", lambda x: x[1]),
    ("ints", lambda x: x[1, 2]),
    ("ints_scalar", lambda x: x[1, 2, 3]),
    ("as_strided", lambda x: x.as_strided((3, 3), (2, 1), 1)),
]


@pytest.mark.parametrize("name,f", VIEWS, ids=[v[0] for v in VIEWS])
def test_view_matches_torch_geometry(name, f):
    x, tx = pair((2, 3, 4))
    y, ty = f(x), f(tx)
    assert ty._base is tx  # the case is a view in PyTorch too
    assert np.shares_memory(x._data, y._data), name
    assert y._base is x
    assert tuple(y.shape) == tuple(ty.shape)
    assert y.stride() == ty.stride(), f"{name}: strides {y.stride()} vs torch {ty.stride()}"
    assert y.storage_offset() == ty.storage_offset()
    assert y.data_ptr() - x.data_ptr() == (ty.data_ptr() - tx.data_ptr()) // 4 * 4
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


SPLITS = [
    ("split", lambda x: x.split(2, 1)),
    ("split_sizes", lambda x: x.split([1, 2], 1)),
    ("chunk", lambda x: x.chunk(3, 2)),
    ("tensor_split", lambda x: x.tensor_split(3, 2)),
    ("tensor_split_idx", lambda x: x.tensor_split([1, 3], 2)),
    ("unbind", lambda x: x.unbind(1)),
    ("hsplit", lambda x: x.hsplit([1])),
    ("vsplit", lambda x: x.vsplit(2)),
    ("dsplit", lambda x: x.dsplit(2)),
    ("broadcast_tensors", lambda x: (ng.broadcast_tensors if isinstance(x, ng.Tensor) else
                                     torch.broadcast_tensors)(x, x[0])),
    ("meshgrid", lambda x: (ng.meshgrid if isinstance(x, ng.Tensor) else torch.meshgrid)(
        x[0, 0], x[1, 1], indexing="xy")),
]


@pytest.mark.parametrize("name,f", SPLITS, ids=[v[0] for v in SPLITS])
def test_multi_views_match_torch(name, f):
    x, tx = pair((2, 3, 4))
    ys, tys = f(x), f(tx)
    assert isinstance(ys, tuple) and len(ys) == len(tys)
    for y, ty in zip(ys, tys):
        assert np.shares_memory(x._data, y._data)
        assert tuple(y.shape) == tuple(ty.shape)
        assert y.stride() == ty.stride()
        assert y.storage_offset() == ty.storage_offset()
        np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_reshape_copies_when_it_must_and_is_then_not_a_view():
    x, _ = pair((3, 4))
    y = x.t().reshape(12)
    assert not np.shares_memory(x._data, y._data)
    assert y._base is None
    y[0] = 100.0  # does not reach x
    assert x[0, 0].item() == 0.0


@pytest.mark.parametrize("f", [lambda x: x.flip(0), lambda x: x.roll(1, 0), lambda x: x.repeat(1, 1),
                               lambda x: ng.cat([x]), lambda x: ng.stack([x]), lambda x: x.clone(),
                               lambda x: x.tril(), lambda x: ng.diag(x), lambda x: x[[0, 1]],
                               lambda x: x[ng.tensor([True, False, True])], lambda x: x[ng.tensor(1)],
                               lambda x: x.rot90(), lambda x: x.tile((1,)), lambda x: x.index_select(0, ng.tensor([0])),
                               lambda x: pad(x, (1, 1)), lambda x: x.repeat_interleave(1, 0)])
def test_copies_do_not_share_memory(f):
    x, _ = pair((3, 3))
    y = f(x)
    assert not np.shares_memory(x._data, y._data)
    assert y._base is not x


def test_writes_through_views_reach_the_base():
    x, tx = pair((3, 4))
    for t in (x, tx):
        t[0][1:3] = 50
        t.narrow(0, 1, 1).fill_(7)
        t.diagonal()[...] = -1
        t.select(1, 3).zero_()
        t.unbind(0)[2][0] = 9
        t.t()[1, 2] = 3
        t.split(2, 1)[1][:, 0] = 11
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


def test_writes_into_the_base_are_seen_by_views():
    x, _ = pair((3, 4))
    d, u, r = x.diagonal(), x.unfold(1, 2, 2), x[1]
    x.mul_(2) if hasattr(x, "mul_") else x.copy_(x * 2)
    np.testing.assert_array_equal(d.numpy(), np.diagonal(x.numpy()))
    np.testing.assert_array_equal(u.numpy(), x.numpy().reshape(3, 2, 2))
    np.testing.assert_array_equal(r.numpy(), x.numpy()[1])


def test_views_share_the_version_counter():
    x, _ = pair((3, 4))
    v = x[1:]
    w = x.diagonal()
    s = x.split(2)[0]
    before = x._version
    v.fill_(1.0)
    assert x._version == v._version == w._version == s._version == before + 1


def test_inplace_on_view_of_nonleaf_backpropagates_like_torch():
    a = np.random.default_rng(0).standard_normal((3, 4))
    res = []
    for lib in (ng, torch):
        x = lib.tensor(a, requires_grad=True)
        v = lib.tensor(np.arange(2.0), requires_grad=True)
        y = x * 2
        y[0][1:3] = v * 3  # through two views
        y.diagonal().mul_(5) if hasattr(y, "mul_") else None
        (y * lib.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        res.append((x.grad.numpy(), v.grad.numpy(), y.detach().numpy()))
    for a_, b_ in zip(*res):
        np.testing.assert_allclose(a_, b_)


def test_negative_slice_step_is_refused_like_torch():
    x, _ = pair((4,))
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1] = 0
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[0:2:0]


def test_view_errors():
    x, _ = pair((3, 4))
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.t().view(12)
    with pytest.raises(RuntimeError, match=r"start \(3\) \+ length \(2\) exceeds dimension size \(4\)"):
        x.narrow(1, 3, 2)
    with pytest.raises(IndexError, match="select"):
        x.select(0, 3)
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 1 is 4 but size is 5"):
        x.unfold(1, 5, 1)
    with pytest.raises(RuntimeError, match="step is 0"):
        x.unfold(1, 2, 0)
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical"):
        x.diagonal(0, 1, -1)
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 4"):
        x.split([1, 2], 1)
    with pytest.raises(RuntimeError, match="not divisible by the split_size 3"):
        x.hsplit(3)
    with pytest.raises(RuntimeError, match="expanded size of the tensor \\(-1\\) isn't allowed"):
        x.expand(-1, 3, 4)
    with pytest.raises(RuntimeError, match="must match the existing size"):
        x.expand(3, 5)
    with pytest.raises(RuntimeError, match="don't multiply up to the size of dim 1"):
        x.unflatten(1, (3, 2))
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        x.flatten(1, 0)
    with pytest.raises(IndexError, match="out of range"):
        x.movedim(2, 0)


def test_empty_and_degenerate_views_match_torch():
    x, tx = pair((3, 4))
    cases = [lambda t: t.narrow(1, 4, 0), lambda t: t.diagonal(5), lambda t: t.diagonal(-4),
             lambda t: t[3:], lambda t: t[:, 2:1]]
    for f in cases:
        y, ty = f(x), f(tx)
        assert tuple(y.shape) == tuple(ty.shape)
    for f in (lambda t: t.tensor_split([2, 10], 1), lambda t: t.tensor_split([3, 1], 1),
              lambda t: t.split([0, 4], 1), lambda t: t.chunk(2, 0), lambda t: t[:0].chunk(3)):
        ys, tys = f(x), f(tx)
        assert [tuple(y.shape) for y in ys] == [tuple(t.shape) for t in tys]
    s, ts = ng.tensor(5.0), torch.tensor(5.0)
    assert tuple(s.unfold(0, 1, 1).shape) == tuple(ts.unfold(0, 1, 1).shape)
    assert tuple(s.flatten().shape) == tuple(ts.flatten().shape)


def test_overlapping_tensor_split_pieces_accumulate_gradient():
    a = np.arange(7.0)
    grads = []
    for lib in (ng, torch):
        x = lib.tensor(a, requires_grad=True)
        parts = x.tensor_split([4, 1])  # (0:4), (4:4), (1:7) overlap on 1..3
        (parts[0].sum() * 2 + parts[2].sum() * 3).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)


def test_gradients_of_unused_split_outputs_are_zero():
    x = ng.tensor(np.arange(6.0), requires_grad=True)
    a, b, c = x.split(2)
    (b * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 2, 2, 0, 0])


def test_unfold_backward_adds_overlapping_windows():
    x = ng.tensor(np.arange(5.0), requires_grad=True)
    x.unfold(0, 3, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 3, 2, 1])


def test_view_dtype_reinterprets_bytes_like_torch():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x, tx = ng.tensor(a), torch.tensor(a)
    y, ty = x.view(ng.int32), tx.view(torch.int32)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    assert np.shares_memory(x._data, y._data)


# ----------------------------------------------------------------------------- property-based
from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def shape_and_basic_index(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    items = []
    for n in shape[:draw(st.integers(0, len(shape)))]:
        if draw(st.booleans()):
            items.append(None)  # a new dimension; consumes none of the input's
        if draw(st.booleans()):
            items.append(draw(st.integers(-n, n - 1)))
        else:
            items.append(slice(draw(st.integers(-n, n) | st.none()), draw(st.integers(-n, n) | st.none()),
                               draw(st.integers(1, 3) | st.none())))
    return shape, tuple(items)


@settings(max_examples=150, deadline=None)
@given(shape_and_basic_index())
def test_basic_indexing_is_a_view_with_torch_geometry(case):
    shape, idx = case
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x, tx = ng.tensor(a), torch.tensor(a)
    y, ty = x[idx], tx[idx]
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    assert y._base is x
    if ty.numel():  # offsets and strides of empty views carry no meaning
        assert y.storage_offset() == ty.storage_offset()
        assert all(s == t for s, t, n in zip(y.stride(), ty.stride(), ty.shape) if n > 1)
