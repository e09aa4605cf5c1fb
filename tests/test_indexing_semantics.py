"""Indexing with PyTorch's semantics: result shapes and values, views vs copies, gradients with
repeated indices, writes (setitem, index_put_, in-place scatter family), errors."""
import numpy as np
import pytest
import torch

import nablagrad as ng
from nablagrad.ops.shape import pad

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 3, 5))


def both(index_fn):
    """index_fn(lib) -> index; returns (nablagrad index, torch index)."""
    return index_fn(ng), index_fn(torch)


READS = {
    "int": lambda L: 1,
    "neg_int": lambda L: -1,
    "tuple_ints": lambda L: (0, 2),
    "slice": lambda L: slice(1, 3),
    "slices": lambda L: (slice(None), slice(0, 3, 2)),
    "ellipsis": lambda L: (Ellipsis, 0),
    "none": lambda L: (None, 1, None),
    "int_array": lambda L: L.tensor([3, 0, 3]),
    "int_array_2d": lambda L: L.tensor([[0, 1], [3, 3]]),
    "list": lambda L: [2, 0],
    "arrays_adjacent": lambda L: (slice(None), L.tensor([0, 2]), L.tensor([4, 1])),
    "arrays_separated": lambda L: (L.tensor([0, 2]), slice(None), L.tensor([4, 1])),
    "arrays_broadcast": lambda L: (L.tensor([[0], [3]]), L.tensor([1, 2, 0])),
    "int_with_array": lambda L: (0, slice(None), L.tensor([1, 2])),
    "array_then_int": lambda L: (L.tensor([1, 2]), slice(None), 0),
    "zero_dim_tensor": lambda L: (L.tensor(2), slice(None), L.tensor([1, 2])),
    "mask_full": lambda L: L.tensor(A > 0),
    "mask_lead": lambda L: L.tensor(A[:, :, 0] > 0),
    "mask_and_array": lambda L: (L.tensor([True, False, True, True]), slice(None), L.tensor([0, 0, 4])),
    "mask_middle": lambda L: (slice(None), L.tensor([True, False, True])),
    "mask_with_none": lambda L: (None, L.tensor([True, False, True, True])),
    "bool_true": lambda L: True,
    "bool_false": lambda L: (False, 0),
    "numpy_array": lambda L: np.array([1, 1]),
    "numpy_mask": lambda L: np.array([True, False, False, True]),
    "empty_list": lambda L: L.tensor([], dtype=L.int64),
    "uint8_mask": lambda L: L.tensor([1, 0, 1, 0], dtype=L.uint8),
}


@pytest.mark.filterwarnings("ignore:indexing with dtype torch.uint8")
@pytest.mark.parametrize("name", READS)
def test_getitem_matches_torch_forward_and_backward(name):
    idx, tidx = both(READS[name])
    x = ng.tensor(A, requires_grad=True)
    tx = torch.tensor(A, requires_grad=True)
    y, ty = x[idx], tx[tidx]
    assert tuple(y.shape) == tuple(ty.shape), name
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = RNG.standard_normal(tuple(ty.shape))
    y.backward(ng.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("name", ["int_array", "mask_full", "zero_dim_tensor", "list", "arrays_broadcast"])
def test_advanced_indexing_copies(name):
    x = ng.tensor(A)
    idx, _ = both(READS[name])
    y = x[idx]
    assert not np.shares_memory(x._data, y._data)
    y.fill_(0.0) if y.numel() else None
    np.testing.assert_array_equal(x.numpy(), A)


def test_repeated_indices_accumulate_gradient():
    x = ng.tensor(np.zeros(5), requires_grad=True)
    x[ng.tensor([1, 1, 1, 4, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 4, 0, 0, 1])
    w = ng.tensor(np.zeros((6, 3)), requires_grad=True)  # the embedding pattern (scipy path)
    idx = RNG.integers(0, 6, size=(50, 40))
    w[ng.tensor(idx)].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], np.bincount(idx.ravel(), minlength=6))


SETS = {
    "int": lambda L: 1,
    "slice_int": lambda L: (slice(1, 3), 2),
    "ellipsis": lambda L: (Ellipsis, 0),
    "array": lambda L: L.tensor([3, 0]),
    "arrays_separated": lambda L: (L.tensor([0, 2]), slice(None), L.tensor([4, 1])),
    "mask": lambda L: L.tensor(A > 0.5),
    "mask_lead": lambda L: L.tensor([True, False, False, True]),
    "int_with_array": lambda L: (0, slice(None), L.tensor([1, 2])),
    "none": lambda L: (None, 2),
}


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("value_kind", ["scalar", "tensor", "broadcast"])
def test_setitem_matches_torch_with_autograd(name, value_kind):
    idx, tidx = both(SETS[name])
    shape = tuple(torch.tensor(A)[tidx].shape)
    vshape = {"scalar": None, "tensor": shape, "broadcast": shape[-1:] if shape else ()}[value_kind]
    v = 2.5 if vshape is None else RNG.standard_normal(vshape)
    res = []
    for lib, i in ((ng, idx), (torch, tidx)):
        x = lib.tensor(A, requires_grad=True)
        val = v if vshape is None else lib.tensor(v, requires_grad=True)
        y = x * 1
        y[i] = val
        w = lib.tensor(np.arange(A.size, dtype=np.float64).reshape(A.shape))
        (y * w).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy(),
                    None if vshape is None else val.grad.numpy()))
    for a, b in zip(*res):
        if b is not None:
            np.testing.assert_allclose(a, b)


def test_setitem_casts_value_and_writes_without_autograd():
    x, tx = ng.zeros(4, dtype=ng.int64), torch.zeros(4, dtype=torch.int64)
    for t, lib in ((x, ng), (tx, torch)):
        t[1] = 2.7
        t[2:] = lib.tensor([5.0, 6.0])
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    leaf = ng.zeros(3, requires_grad=True)
    with ng.no_grad():
        leaf[0] = 1.0  # allowed under no_grad, as in PyTorch
    assert leaf[0].item() == 1.0


def test_setitem_extra_leading_ones_in_value():
    x, tx = ng.tensor(A * 1), torch.tensor(A * 1)
    v = RNG.standard_normal((1, 1, 5))
    x[0, 1] = ng.tensor(v)
    tx[0, 1] = torch.tensor(v)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


def test_setitem_on_leaf_requiring_grad_is_refused():
    x = ng.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[1:][0] = 1.0


def test_setitem_through_views_with_autograd_reaches_base():
    x = ng.tensor(A, requires_grad=True)
    v = ng.tensor(np.ones(2), requires_grad=True)
    y = x * 1
    y[0][1][1:3] = v * 4
    assert y[0, 1, 1].item() == 4.0
    y.sum().backward()
    g = np.ones(A.shape)
    g[0, 1, 1:3] = 0
    np.testing.assert_array_equal(x.grad.numpy(), g)
    np.testing.assert_array_equal(v.grad.numpy(), [4, 4])


def test_setitem_bumps_version_and_guards_saved_tensors():
    x = ng.tensor(np.ones(3), requires_grad=True)
    y = x * 1
    z = y * y  # saves y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_augmented_assignment_through_indexing_matches_torch():
    a = RNG.standard_normal((4, 3))
    res = []
    for lib in (ng, torch):
        x = lib.tensor(a, requires_grad=True)
        v = lib.tensor(np.ones(3), requires_grad=True)
        y = x * 2
        y[0] += v * 3                      # basic: in place through a view
        y[lib.tensor([1, 1, 2])] += v      # advanced: read a copy, write it back
        y[:, 1] *= 2
        (y * lib.tensor(np.arange(12.0).reshape(4, 3))).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy(), v.grad.numpy()))
    for p, q in zip(*res):
        np.testing.assert_allclose(p, q)


def test_index_put_accumulate_and_inplace():
    for lib in (ng, torch):
        x = lib.zeros(5)
        x.index_put_((lib.tensor([0, 0, 3]),), lib.tensor([1.0, 2.0, 3.0]), accumulate=True)
        assert x.tolist() == [3.0, 0.0, 0.0, 3.0, 0.0]


def test_copy_fill_zero():
    res = []
    for lib in (ng, torch):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        s = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        y = x * 2
        y.copy_(s)  # broadcast
        z = (x * 3)
        z[0].fill_(lib.tensor(4.0)) if lib is torch else z[0].fill_(ng.tensor(4.0))
        z[1].zero_()
        (y * lib.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
        res.append((y.detach().numpy(), z.detach().numpy(), s.grad.numpy(), x.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
    x = ng.zeros(3, dtype=ng.int64)
    x.copy_(ng.tensor([1.9, 2.0, 3.0]))
    assert x.dtype == ng.int64 and x.tolist() == [1, 2, 3]


INPLACE = [
    ("scatter_", lambda L, x: x.scatter_(1, L.tensor([[0], [2]]), L.tensor([[9.0], [8.0]]))),
    ("scatter_value", lambda L, x: x.scatter_(1, L.tensor([[0], [2]]), 7.0)),
    ("scatter_add_", lambda L, x: x.scatter_add_(0, L.tensor([[1, 1, 0]]), L.tensor([[1.0, 2.0, 3.0]]))),
    ("scatter_reduce_", lambda L, x: x.scatter_reduce_(1, L.tensor([[0, 0], [1, 1]]),
                                                       L.tensor([[5.0, -5.0], [1.0, 2.0]]), "amax")),
    ("index_add_", lambda L, x: x.index_add_(0, L.tensor([1, 1]), L.ones(2, 3), alpha=2)),
    ("index_copy_", lambda L, x: x.index_copy_(1, L.tensor([2, 0]), L.ones(2, 2))),
    ("index_fill_", lambda L, x: x.index_fill_(1, L.tensor([1]), -1.0)),
    ("masked_fill_", lambda L, x: x.masked_fill_(L.tensor([True, False, True]), 0.5)),
    ("masked_scatter_", lambda L, x: x.masked_scatter_(L.tensor([[True, False, True], [False, False, True]]),
                                                       L.tensor([10.0, 20.0, 30.0, 40.0]))),
    ("tril_", lambda L, x: x.tril_()),
    ("triu_", lambda L, x: x.triu_(1)),
    ("put_", lambda L, x: x.put_(L.tensor([0, 5]), L.tensor([3.0, 4.0]))),
    ("index_put_", lambda L, x: x.index_put_((L.tensor([1]), L.tensor([2])), L.tensor(6.0))),
]


@pytest.mark.parametrize("name,f", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_variants_match_torch(name, f):
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    x, tx = ng.tensor(a), torch.tensor(a)
    rx, rtx = f(ng, x), f(torch, tx)
    assert rx is x and rtx is tx
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


def test_scatter_reduce_amax_ties_share_gradient_like_torch():
    grads = []
    for lib in (ng, torch):
        a = lib.tensor([1.0, 2.0, 0.0], requires_grad=True)
        s = lib.tensor([1.0, 1.0, 2.0, -1.0], requires_grad=True)
        a.scatter_reduce(0, lib.tensor([0, 0, 1, 2]), s, "amax").sum().backward()
        grads.append((a.grad.numpy(), s.grad.numpy()))
    for x, y in zip(*grads):
        np.testing.assert_allclose(x, y)


def test_scatter_src_larger_than_index_reads_its_corner():
    src = np.arange(12.0).reshape(3, 4)
    idx = np.array([[1, 0], [0, 1]])
    x = ng.zeros(2, 3).scatter(0, ng.tensor(idx), ng.tensor(src, dtype=ng.float32))
    tx = torch.zeros(2, 3).scatter(0, torch.tensor(idx), torch.tensor(src, dtype=torch.float32))
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    s = ng.tensor(src, requires_grad=True)
    ng.zeros(2, 3, dtype=ng.float64).scatter_add(0, ng.tensor(idx), s).sum().backward()
    expected = np.zeros((3, 4))
    expected[:2, :2] = 1
    np.testing.assert_array_equal(s.grad.numpy(), expected)
    assert ng.autograd.gradcheck(lambda t: ng.zeros(2, 3, dtype=ng.float64).scatter(0, ng.tensor(idx), t),
                                 (ng.tensor(src, requires_grad=True),))


def test_index_errors_name_dim_and_size():
    x = ng.tensor(A)
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        x[4]
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 2 with size 5"):
        x[0, 1, 7]
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 2 with size 5"):
        x[:, :, ng.tensor([0, 5])]
    with pytest.raises(IndexError, match="index -5 is out of bounds for dimension 0 with size 4"):
        x[[-5]]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 3"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match=r"The shape of the mask \[3\] at index 0 does not match the "
                                         r"shape of the indexed tensor \[4, 3, 5\] at index 0"):
        x[ng.tensor([True, False, True])]
    with pytest.raises(IndexError, match="shape mismatch: indexing tensors could not be broadcast "
                                         r"together with shapes \[2\], \[3\]"):
        x[ng.tensor([0, 1]), ng.tensor([0, 1, 2])]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool"):
        x[ng.tensor([1.0])]
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[4\] cannot be "
                                           r"broadcast to indexing result of shape \[5\]"):
        x[0, 0] = ng.tensor(np.ones(4))
    with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 0 with size 4"):
        x[9] = 1.0


def test_gather_scatter_family_errors():
    x = ng.tensor(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x.gather(1, ng.tensor([[3]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(1, ng.tensor([1]))
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        x.gather(1, ng.tensor([[1.0]]))
    with pytest.raises(RuntimeError, match="no larger than self"):
        x.gather(1, ng.tensor(np.zeros((3, 1), dtype=np.int64)))
    with pytest.raises(RuntimeError, match="self.dtype to be equal to src.dtype"):
        x.scatter(0, ng.tensor([[0]]), ng.tensor([[1]]))
    with pytest.raises(IndexError, match="index 2 is out of range for dimension 0 with size 2"):
        x.index_select(0, ng.tensor([2]))
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        x.masked_fill(ng.tensor([1.0, 0.0, 1.0]), 0.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        x.masked_fill(ng.tensor([True, False, True]), ng.tensor([1.0]))
    with pytest.raises(RuntimeError, match="at least as many elements as ones in mask"):
        x.masked_scatter(ng.tensor([True, True, True]), ng.tensor([1.0, 2.0], dtype=ng.float64))
    with pytest.raises(RuntimeError, match="reduce argument must be one of"):
        x.scatter_reduce(0, ng.tensor([[0]]), x, "max")


def test_index_select_and_nonzero_shapes_match_torch():
    a = np.arange(5.0)
    assert tuple(ng.tensor(a).index_select(0, ng.tensor(3)).shape) == \
        tuple(torch.tensor(a).index_select(0, torch.tensor(3)).shape)
    for arr in (np.array(0.0), np.array(2.0), np.zeros((2, 0)), np.array([[0, 1], [2, 0]])):
        ours, theirs = ng.tensor(arr).nonzero(), torch.tensor(arr).nonzero()
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == ng.int64
        for o, t in zip(ng.tensor(arr).nonzero(as_tuple=True), torch.tensor(arr).nonzero(as_tuple=True)):
            np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_cat_and_stack_semantics():
    f, i = np.ones((2, 3), np.float32), np.arange(3)
    assert ng.cat([ng.tensor(f), ng.tensor(i[None])]).dtype == ng.float32
    assert ng.cat([ng.zeros(0, dtype=ng.float64), ng.tensor(i[None])]).dtype == ng.float64
    assert tuple(ng.cat([ng.zeros(0), ng.tensor(f)], 1).shape) == (2, 3)  # legacy empty skipped
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 1. "
                                           "Expected size 2 but got size 3 for tensor number 1"):
        ng.cat([ng.tensor(f), ng.zeros(3, 2)], 1)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        ng.cat([ng.tensor(f), ng.zeros(3)])
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got "
                                           r"\[2, 3\] at entry 0 and \[3, 2\] at entry 1"):
        ng.stack([ng.tensor(f), ng.zeros(3, 2)])
    with pytest.raises(TypeError, match="tuple or list of Tensors"):
        ng.cat(ng.tensor(f))


def test_pad_errors_like_torch():
    x = ng.tensor(np.zeros((1, 2, 3)))
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding input"):
        pad(x, (3, 3), mode="reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        pad(x, (4, 0), mode="circular")
    with pytest.raises(NotImplementedError, match="Padding size 6 is not supported for 3D input"):
        pad(x, (1, 1, 1, 1, 1, 1), mode="replicate")
    with pytest.raises(RuntimeError, match="doesn't take in value argument"):
        pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(RuntimeError, match="negative output size"):
        pad(x, (-2, -2))
    assert pad(x, (1, 1), mode="reflect", value=0).shape == (1, 2, 5)


def test_meshgrid_broadcast_shapes_and_atleast_lists():
    a, b = ng.arange(3), ng.arange(2)
    gx, gy = ng.meshgrid(a, b, indexing="xy")
    tx, ty = torch.meshgrid(torch.arange(3), torch.arange(2), indexing="xy")
    np.testing.assert_array_equal(gx.numpy(), tx.numpy())
    np.testing.assert_array_equal(gy.numpy(), ty.numpy())
    assert ng.broadcast_shapes((3, 1), (4,), 1) == torch.broadcast_shapes((3, 1), (4,), 1)
    with pytest.raises(RuntimeError, match="Shape mismatch"):
        ng.broadcast_shapes((3,), (4,))
    outs = ng.atleast_2d([ng.tensor(1.0), ng.zeros(3)])
    assert [tuple(o.shape) for o in outs] == [(1, 1), (1, 3)]
