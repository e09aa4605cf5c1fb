"""Op specs: indexing (getitem/setitem) and the gather/scatter family."""
import numpy as np
import torch

import nablagrad as ng

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401


def perm_index(rng, shape, dim, n):
    """An index of ``shape`` whose entries along ``dim`` are distinct values in [0, n)."""
    moved = list(shape)
    moved.append(moved.pop(dim))
    rows = int(np.prod(moved[:-1]))
    idx = np.stack([rng.permutation(n)[:moved[-1]] for _ in range(rows)]).reshape(moved)
    return np.moveaxis(idx, -1, dim)


def bools(rng, *shape):
    return rng.integers(0, 2, size=shape).astype(bool)


# ----------------------------------------------------------------------------- reading
OpSpec("getitem_basic", lambda a, i: a[i], lambda a, i: a[i],
       lambda r: [(randn(r, 3, 4), (slice(1, None), None, slice(None, None, 2))), (randn(r, 3, 4), 1),
                  (randn(r, 3, 4), (-1, 2)), (randn(r, 2, 3, 4), (Ellipsis, 1)),
                  (randn(r, 2, 3, 4), (0, Ellipsis, None, slice(1, 3))), (randn(r, 3, 4), (None, 1, None)),
                  (randn(r, 5), slice(-4, -1, 2)), (randn(r, 3, 4), True)])
OpSpec("getitem_int_array", lambda a, i: a[i], lambda a, i: a[i],
       lambda r: [(randn(r, 4, 3), np.array([0, 2, 2, 3, 0])), (randn(r, 4, 3), np.array([[1, -1], [1, 0]])),
                  (randn(r, 5), np.array([4, 4, 4]))])
OpSpec("getitem_mixed", lambda a, i, j: a[i, :, j], lambda a, i, j: a[i, :, j],
       lambda r: [(randn(r, 3, 2, 4), np.array([0, 2, 0]), np.array([1, 1, 3])),
                  (randn(r, 3, 2, 4), np.array([[0], [2]]), np.array([1, 3, 1])),
                  (randn(r, 3, 2, 4), 1, np.array([3, 0, 3]))])
OpSpec("getitem_adjacent", lambda a, i, j: a[:, i, j], lambda a, i, j: a[:, i, j],
       lambda r: [(randn(r, 2, 3, 4), np.array([0, 2, 2]), np.array([1, 1, 3])),
                  (randn(r, 2, 3, 4), np.array([[2], [0]]), np.array([3, 0]))])
OpSpec("getitem_slice_array", lambda a, i: a[1:, i], lambda a, i: a[1:, i],
       lambda r: [(randn(r, 3, 4), np.array([3, 0, 3])), (randn(r, 3, 4), np.array([[1, 2], [2, 1]]))])
OpSpec("getitem_mask", lambda a, m: a[m], lambda a, m: a[m],
       lambda r: [(randn(r, 3, 4), bools(r, 3, 4)), (randn(r, 3, 4), bools(r, 3)), (randn(r, 2, 3, 4), bools(r, 2, 3))])
OpSpec("getitem_mask_mixed", lambda a, m, i: a[i, m], lambda a, m, i: a[i, m],
       lambda r: [(randn(r, 3, 4), np.array([True, False, True, True]), np.array([0, 2, 2]))])
OpSpec("getitem_0dim_tensor", lambda a, i: a[i, 1:], lambda a, i: a[i, 1:],
       lambda r: [(randn(r, 3, 4), np.array(2)), (randn(r, 3, 4), np.array(-1))])
OpSpec("getitem_list", lambda a: a[[0, 2, 0]], lambda a: a[[0, 2, 0]], lambda r: [(randn(r, 3, 4),)])

# ----------------------------------------------------------------------------- writing (out of place)
def _put(a, v, idx, acc=False):
    return a.index_put(idx, v, accumulate=acc)


OpSpec("index_put", lambda a, v, i: _put(a, v, (i,)), lambda a, v, i: _put(a, v, (i,)),
       lambda r: [(randn(r, 4, 3), randn(r, 2, 3), np.array([3, 0])), (randn(r, 4, 3), randn(r, 3), np.array([1, 2])),
                  (randn(r, 4, 3), randn(r, 1), bools(r, 4, 3))])
OpSpec("index_put_2d", lambda a, v, i, j: _put(a, v, (i, j)), lambda a, v, i, j: _put(a, v, (i, j)),
       lambda r: [(randn(r, 4, 3), randn(r, 2), np.array([3, 0]), np.array([2, 2]))])
OpSpec("index_put_accumulate", lambda a, v, i: _put(a, v, (i,), True), lambda a, v, i: _put(a, v, (i,), True),
       lambda r: [(randn(r, 4, 3), randn(r, 5, 3), np.array([3, 0, 3, 3, 1])), (randn(r, 5), randn(r, 4), np.array([1, 1, 4, 1]))])


def _setitem(a, v, idx):
    b = a * 1  # a non-leaf to write into
    b[idx] = v
    return b


OpSpec("setitem_basic", lambda a, v: _setitem(a, v, (slice(1, 3), 1)), lambda a, v: _setitem(a, v, (slice(1, 3), 1)),
       lambda r: [(randn(r, 4, 3), randn(r, 2)), (randn(r, 4, 3), randn(r, 1)), (randn(r, 4, 3), 2.5)])
OpSpec("setitem_advanced", lambda a, v, i: _setitem(a, v, (i, slice(None, 2))),
       lambda a, v, i: _setitem(a, v, (i, slice(None, 2))),
       lambda r: [(randn(r, 4, 3), randn(r, 2, 2), np.array([0, 3])), (randn(r, 4, 3), randn(r, 2), np.array([1, 2]))])
OpSpec("setitem_mask", lambda a, v, m: _setitem(a, v, m), lambda a, v, m: _setitem(a, v, m),
       lambda r: [(randn(r, 4, 3), randn(r, 3), bools(r, 4)), (randn(r, 4, 3), randn(r), bools(r, 4, 3))])
OpSpec("setitem_view", lambda a, v: _set_view(a, v), lambda a, v: _set_view(a, v),
       lambda r: [(randn(r, 3, 4), randn(r, 2))])


def _set_view(a, v):
    b = a * 1
    row = b[1]
    row[1:3] = v  # writes through the view into b
    return b, row


OpSpec("copy_", lambda a, v: (a * 1).copy_(v), lambda a, v: (a * 1).copy_(v),
       lambda r: [(randn(r, 3, 4), randn(r, 4)), (randn(r, 3, 4), randn(r, 3, 4))])
OpSpec("fill_", lambda a, v: (a * 1).fill_(v), lambda a, v: (a * 1).fill_(v),
       lambda r: [(randn(r, 3, 4), 1.5), (randn(r, 3, 4), randn(r))])

# ----------------------------------------------------------------------------- gather / scatter
OpSpec("gather", lambda a, d, i: a.gather(d, i), lambda a, d, i: a.gather(d, i),
       lambda r: [(randn(r, 3, 4), 1, r.integers(0, 4, (3, 5))), (randn(r, 3, 4), 0, r.integers(0, 3, (2, 4))),
                  (randn(r, 2, 3, 4), -1, r.integers(0, 4, (2, 2, 2))), (randn(r, 4), 0, np.array([3, 3, 0]))])
OpSpec("take_along_dim", lambda a, i, d: ng.take_along_dim(a, i, d), lambda a, i, d: torch.take_along_dim(a, i, d),
       lambda r: [(randn(r, 3, 4), r.integers(0, 4, (3, 2)), 1), (randn(r, 3, 4), r.integers(0, 12, (5,)), None),
                  (randn(r, 3, 4), r.integers(0, 3, (1, 4)), 0), (randn(r, 3, 1), r.integers(0, 3, (1, 4)), 0)])
OpSpec("scatter", lambda a, d, i, s: a.scatter(d, i, s), lambda a, d, i, s: a.scatter(d, i, s),
       lambda r: [(randn(r, 3, 5), 1, perm_index(r, (3, 2), 1, 5), randn(r, 3, 2)),
                  (randn(r, 4, 3), 0, perm_index(r, (2, 3), 0, 4), randn(r, 2, 3)),
                  (randn(r, 3, 5), -1, perm_index(r, (2, 3), 1, 5), 1.5)])
OpSpec("scatter_add", lambda a, d, i, s: a.scatter_add(d, i, s), lambda a, d, i, s: a.scatter_add(d, i, s),
       lambda r: [(randn(r, 3, 5), 1, r.integers(0, 5, (3, 4)), randn(r, 3, 4)),
                  (randn(r, 4, 3), 0, r.integers(0, 4, (5, 2)), randn(r, 5, 2)),
                  (randn(r, 6), 0, np.array([0, 0, 5, 0]), randn(r, 4))])
for _red in ("sum", "prod", "mean", "amax", "amin"):
    OpSpec(f"scatter_reduce_{_red}", lambda a, i, s, inc, red=_red: a.scatter_reduce(1, i, s, red, include_self=inc),
           lambda a, i, s, inc, red=_red: a.scatter_reduce(1, i, s, red, include_self=inc),
           lambda r: [(away_from_zero(r, 3, 5), r.integers(0, 5, (3, 4)), away_from_zero(r, 3, 4), True),
                      (away_from_zero(r, 3, 5), r.integers(0, 5, (2, 6)), away_from_zero(r, 2, 6), False)])
OpSpec("scatter_reduce_prod_zeros", lambda a, i, s: a.scatter_reduce(0, i, s, "prod"),
       lambda a, i, s: a.scatter_reduce(0, i, s, "prod"),
       lambda r: [(np.array([2.0, 0.0, 1.5, 3.0]), np.array([0, 0, 1, 2, 2, 3]), np.array([0.0, 1.5, 2.0, 0.0, 0.0, 4.0]))],
       gradgrad=False)

# ----------------------------------------------------------------------------- index_* along a dim
OpSpec("index_select", lambda a, d, i: a.index_select(d, i), lambda a, d, i: a.index_select(d, i),
       lambda r: [(randn(r, 3, 4), 1, np.array([3, 0, 3])), (randn(r, 3, 4), 0, np.array([2, 2, 1, 0, 2])),
                  (randn(r, 2, 3, 4), -2, np.array([1])), (randn(r, 5), 0, np.array(3))])
OpSpec("index_add", lambda a, d, i, s: a.index_add(d, i, s), lambda a, d, i, s: a.index_add(d, i, s),
       lambda r: [(randn(r, 3, 4), 1, np.array([3, 0, 3]), randn(r, 3, 3)), (randn(r, 5, 2), 0, np.array([1, 1, 4, 1]), randn(r, 4, 2))])
OpSpec("index_add_alpha", lambda a, i, s: a.index_add(0, i, s, alpha=-2.0), lambda a, i, s: a.index_add(0, i, s, alpha=-2.0),
       lambda r: [(randn(r, 4, 3), np.array([0, 3]), randn(r, 2, 3))])
OpSpec("index_copy", lambda a, d, i, s: a.index_copy(d, i, s), lambda a, d, i, s: a.index_copy(d, i, s),
       lambda r: [(randn(r, 3, 4), 1, np.array([3, 0]), randn(r, 3, 2)), (randn(r, 5, 2), 0, np.array([4, 1, 2]), randn(r, 3, 2))])
OpSpec("index_fill", lambda a, d, i, v: a.index_fill(d, i, v), lambda a, d, i, v: a.index_fill(d, i, v),
       lambda r: [(randn(r, 3, 4), 1, np.array([3, 0, 3]), -1.5), (randn(r, 3, 4), 0, np.array([1]), randn(r))])

# ----------------------------------------------------------------------------- masks
OpSpec("masked_fill", lambda a, m, v: a.masked_fill(m, v), lambda a, m, v: a.masked_fill(m, v),
       lambda r: [(randn(r, 3, 4), bools(r, 3, 4), 2.0), (randn(r, 3, 4), bools(r, 4), -1.0),
                  (randn(r, 3, 1), bools(r, 3, 4), 0.5), (randn(r, 3, 4), bools(r, 1, 4), randn(r)),
                  (np.arange(12).reshape(3, 4), bools(r, 3, 4), 7)])
OpSpec("masked_select", lambda a, m: a.masked_select(m), lambda a, m: a.masked_select(m),
       lambda r: [(randn(r, 3, 4), bools(r, 3, 4)), (randn(r, 3, 1), bools(r, 3, 4)), (randn(r, 4), bools(r, 2, 4))])
OpSpec("masked_scatter", lambda a, m, s: a.masked_scatter(m, s), lambda a, m, s: a.masked_scatter(m, s),
       lambda r: [(randn(r, 3, 4), bools(r, 3, 4), randn(r, 3, 5)), (randn(r, 3, 4), bools(r, 4), randn(r, 12))])

# ----------------------------------------------------------------------------- flat indices
OpSpec("take", lambda a, i: a.take(i), lambda a, i: a.take(i),
       lambda r: [(randn(r, 3, 4), np.array([[0, 11], [5, 5]])), (randn(r, 3, 4), np.array([-1, 3]))])
OpSpec("put", lambda a, i, s, acc: a.put(i, s, acc), lambda a, i, s, acc: a.put(i, s, acc),
       lambda r: [(randn(r, 3, 4), np.array([0, 11, 5]), randn(r, 3), False),
                  (randn(r, 3, 4), np.array([[1, 1], [4, 1]]), randn(r, 2, 2), True)])
OpSpec("nonzero", lambda a: (a.nonzero(), ng.argwhere(a)) + a.nonzero(as_tuple=True),
       lambda a: (a.nonzero(), torch.argwhere(a)) + a.nonzero(as_tuple=True),
       lambda r: [(np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]),), (bools(r, 3, 4),), (np.array([0, 3, 0, 4]),)],
       grad=False)
