"""Op specs: shape ops (views and copies) and nn.functional.pad."""
import numpy as np
import torch
import torch.nn.functional as TF

import nablagrad as ng
from nablagrad.ops.shape import pad as ng_pad

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401


def ints(rng, *shape):
    return rng.integers(-3, 4, size=shape)


# ----------------------------------------------------------------------------- reshaping views
OpSpec("reshape", lambda a, s: a.reshape(s), lambda a, s: a.reshape(s),
       lambda r: [(randn(r, 2, 6), (4, -1)), (randn(r, 2, 3, 2), (-1,)), (randn(r), (1, 1)),
                  (ints(r, 2, 3), (3, 2))])
OpSpec("view", lambda a: a.view(3, 2, 2), lambda a: a.view(3, 2, 2),
       lambda r: [(randn(r, 2, 6),), (randn(r, 12),)], noncontig=False)
OpSpec("flatten", lambda a, s, e: a.flatten(s, e), lambda a, s, e: a.flatten(s, e),
       lambda r: [(randn(r, 2, 3, 4), 0, -1), (randn(r, 2, 3, 4), 1, 2), (randn(r, 2, 3, 4), -2, -1),
                  (randn(r, 2, 3), 1, 1), (randn(r), 0, -1)])
OpSpec("unflatten", lambda a, d, s: a.unflatten(d, s), lambda a, d, s: a.unflatten(d, s),
       lambda r: [(randn(r, 2, 6), 1, (2, 3)), (randn(r, 6, 2), 0, (-1, 2)), (randn(r, 4), -1, (2, 1, 2))])
OpSpec("ravel", ng.ravel, torch.ravel, lambda r: [(randn(r, 3, 4),), (randn(r),)])
OpSpec("squeeze", lambda a, d: a.squeeze(d) if d is not None else a.squeeze(),
       lambda a, d: a.squeeze(d) if d is not None else a.squeeze(),
       lambda r: [(randn(r, 1, 3, 1), None), (randn(r, 1, 3, 1), 0), (randn(r, 1, 3, 1), (0, 2)),
                  (randn(r, 1, 3, 1), 1), (randn(r, 1, 3, 1), -1)])
OpSpec("unsqueeze", lambda a, d: a.unsqueeze(d), lambda a, d: a.unsqueeze(d),
       lambda r: [(randn(r, 3, 4), 0), (randn(r, 3, 4), -1), (randn(r, 3, 4), 1), (randn(r), 0)])
OpSpec("atleast_nd", lambda a: (ng.atleast_1d(a), ng.atleast_2d(a), ng.atleast_3d(a)),
       lambda a: (torch.atleast_1d(a), torch.atleast_2d(a), torch.atleast_3d(a)),
       lambda r: [(randn(r),), (randn(r, 3),), (randn(r, 2, 3),), (randn(r, 2, 3, 2),)])

# ----------------------------------------------------------------------------- dimension order
OpSpec("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), lambda r: [(randn(r, 2, 3, 4),)])
OpSpec("transpose", lambda a: a.transpose(0, -1), lambda a: a.transpose(0, -1), lambda r: [(randn(r, 2, 3, 4),)])
OpSpec("t", lambda a: a.t(), lambda a: a.t(), lambda r: [(randn(r, 3, 4),), (randn(r, 3),)])
OpSpec("T_mT", lambda a: (a.T, a.mT), lambda a: (a.permute(2, 1, 0), a.mT), lambda r: [(randn(r, 2, 3, 4),)])
OpSpec("movedim", lambda a, s, d: ng.movedim(a, s, d), lambda a, s, d: torch.movedim(a, s, d),
       lambda r: [(randn(r, 2, 3, 4), 0, -1), (randn(r, 2, 3, 4), (0, 1), (2, 0)),
                  (randn(r, 2, 3, 4), -1, 0)])
OpSpec("moveaxis", lambda a: a.moveaxis(1, 0), lambda a: a.moveaxis(1, 0), lambda r: [(randn(r, 2, 3, 4),)])

# ----------------------------------------------------------------------------- broadcasting views
OpSpec("expand", lambda a: a.expand(2, 3, 4), lambda a: a.expand(2, 3, 4), lambda r: [(randn(r, 3, 1),)])
OpSpec("expand_minus1", lambda a: a.expand(2, -1, 4), lambda a: a.expand(2, -1, 4), lambda r: [(randn(r, 3, 1),)])
OpSpec("expand_as", lambda a, b: a.expand_as(b), lambda a, b: a.expand_as(b),
       lambda r: [(randn(r, 1, 4), Const(randn(r, 3, 4)))])
OpSpec("broadcast_to", lambda a: ng.broadcast_to(a, (2, 3, 4)), lambda a: torch.broadcast_to(a, (2, 3, 4)),
       lambda r: [(randn(r, 4),), (randn(r, 3, 1),)])
OpSpec("broadcast_tensors", lambda a, b, c: ng.broadcast_tensors(a, b, c),
       lambda a, b, c: torch.broadcast_tensors(a, b, c),
       lambda r: [(randn(r, 3, 1), randn(r, 4), randn(r, 2, 1, 1))])
OpSpec("meshgrid", lambda a, b, i: ng.meshgrid(a, b, indexing=i), lambda a, b, i: torch.meshgrid(a, b, indexing=i),
       lambda r: [(randn(r, 3), randn(r, 4), "ij"), (randn(r, 3), randn(r, 4), "xy")])
OpSpec("meshgrid3", lambda a, b, c: ng.meshgrid([a, b, c], indexing="xy"),
       lambda a, b, c: torch.meshgrid([a, b, c], indexing="xy"),
       lambda r: [(randn(r, 2), randn(r, 3), randn(r, 4))])

# ----------------------------------------------------------------------------- strided views
OpSpec("narrow", lambda a, d, s, n: a.narrow(d, s, n), lambda a, d, s, n: a.narrow(d, s, n),
       lambda r: [(randn(r, 3, 4), 1, 1, 2), (randn(r, 3, 4), 0, -2, 2), (randn(r, 3, 4), -1, 3, 1)])
OpSpec("select", lambda a, d, i: a.select(d, i), lambda a, d, i: a.select(d, i),
       lambda r: [(randn(r, 3, 4), 1, 2), (randn(r, 3, 4), 0, -1), (randn(r, 2, 3, 4), -1, 0)])
OpSpec("diagonal", lambda a, o, d1, d2: a.diagonal(o, d1, d2), lambda a, o, d1, d2: a.diagonal(o, d1, d2),
       lambda r: [(randn(r, 3, 4), 0, 0, 1), (randn(r, 3, 4), 1, 0, 1), (randn(r, 3, 4), -2, 0, 1),
                  (randn(r, 2, 3, 4), 0, -1, 0), (randn(r, 2, 3, 4), 1, 2, 1)])
OpSpec("unfold", lambda a, d, s, st: a.unfold(d, s, st), lambda a, d, s, st: a.unfold(d, s, st),
       lambda r: [(randn(r, 7), 0, 3, 1), (randn(r, 7), 0, 2, 3), (randn(r, 2, 6, 3), 1, 3, 2),
                  (randn(r, 3, 4), -1, 4, 1), (randn(r, 3, 5), 1, 2, 2)])
OpSpec("as_strided", lambda a: a.as_strided((3, 2), (2, 1), 1), lambda a: a.contiguous().as_strided((3, 2), (2, 1), 1),
       lambda r: [(randn(r, 2, 4),)])
OpSpec("as_strided_overlap", lambda a: ng.as_strided(a, (4, 3), (1, 1)), lambda a: torch.as_strided(a.contiguous(), (4, 3), (1, 1)),
       lambda r: [(randn(r, 6),)])

# ----------------------------------------------------------------------------- the split family (views)
OpSpec("split", lambda a, s, d: a.split(s, d), lambda a, s, d: a.split(s, d),
       lambda r: [(randn(r, 5, 3), 2, 0), (randn(r, 3, 5), (1, 3, 1), 1), (randn(r, 3, 4), 4, -1)])
OpSpec("chunk", lambda a, c, d: a.chunk(c, d), lambda a, c, d: a.chunk(c, d),
       lambda r: [(randn(r, 5, 3), 2, 0), (randn(r, 3, 6), 4, 1), (randn(r, 3, 2), 3, 1)])
OpSpec("tensor_split", lambda a, s, d: a.tensor_split(s, d), lambda a, s, d: a.tensor_split(s, d),
       lambda r: [(randn(r, 5, 3), 3, 0), (randn(r, 3, 7), (1, 5), 1), (randn(r, 7), (2, 6), 0)])
OpSpec("hsplit_vsplit_dsplit", lambda a: ng.hsplit(a, 2) + ng.vsplit(a, [1]) + ng.dsplit(a, 3),
       lambda a: torch.hsplit(a, 2) + torch.vsplit(a, [1]) + torch.dsplit(a, 3),
       lambda r: [(randn(r, 2, 4, 3),)])
OpSpec("unbind", lambda a, d: a.unbind(d), lambda a, d: a.unbind(d),
       lambda r: [(randn(r, 3, 4), 0), (randn(r, 2, 3, 4), -1)])
OpSpec("split_used_once", lambda a: a.split(2, 1)[1] * 2, lambda a: a.split(2, 1)[1] * 2,
       lambda r: [(randn(r, 3, 5),)])

# ----------------------------------------------------------------------------- joining (copies)
OpSpec("cat", lambda ts, d: ng.cat(ts, d), lambda ts, d: torch.cat(ts, d),
       lambda r: [([randn(r, 2, 3), randn(r, 1, 3), randn(r, 4, 3)], 0), ([randn(r, 2, 3), randn(r, 2, 1)], -1),
                  ([randn(r, 3)], 0),
                  ([ints(r, 2, 3), ints(r, 2, 3)], 1)])
OpSpec("cat_empty", lambda a: ng.cat([ng.zeros(0, dtype=ng.float64), a, ng.zeros(0, dtype=ng.float64)], 1),
       lambda a: torch.cat([torch.zeros(0, dtype=torch.float64), a, torch.zeros(0, dtype=torch.float64)], 1),
       lambda r: [(randn(r, 2, 3),)])
OpSpec("cat_promote", lambda a, b: ng.cat([a, b]), lambda a, b: torch.cat([a, b]),
       lambda r: [(randn(r, 2, 3), ints(r, 1, 3)), (ints(r, 2), randn(r, 3))])
OpSpec("concat", lambda a, b: ng.concat((a, b), 1), lambda a, b: torch.concat((a, b), 1),
       lambda r: [(randn(r, 2, 3), randn(r, 2, 2))])
OpSpec("stack", lambda ts, d: ng.stack(ts, d), lambda ts, d: torch.stack(ts, d),
       lambda r: [([randn(r, 2, 3), randn(r, 2, 3)], 0), ([randn(r, 2, 3), randn(r, 2, 3), randn(r, 2, 3)], 2),
                  ([randn(r, 3), randn(r, 3)], -1), ([randn(r), randn(r)], 0)])
OpSpec("hstack", lambda ts: ng.hstack(ts), lambda ts: torch.hstack(ts),
       lambda r: [([randn(r, 2, 3), randn(r, 2, 1)],), ([randn(r, 3), randn(r, 2)],)])
OpSpec("vstack", lambda ts: ng.vstack(ts), lambda ts: torch.vstack(ts),
       lambda r: [([randn(r, 2, 3), randn(r, 3)],), ([randn(r, 3), randn(r, 3)],)])
OpSpec("dstack", lambda ts: ng.dstack(ts), lambda ts: torch.dstack(ts),
       lambda r: [([randn(r, 2, 3), randn(r, 2, 3, 2)],), ([randn(r, 3), randn(r, 3)],)])
OpSpec("column_stack", lambda ts: ng.column_stack(ts), lambda ts: torch.column_stack(ts),
       lambda r: [([randn(r, 3), randn(r, 3, 2)],)])
OpSpec("block_diag", lambda a, b, c: ng.block_diag(a, b, c), lambda a, b, c: torch.block_diag(a, b, c),
       lambda r: [(randn(r, 2, 3), randn(r, 3), randn(r)), (randn(r, 1, 1), ints(r, 2, 2), randn(r, 2))])

# ----------------------------------------------------------------------------- reordering (copies)
OpSpec("flip", lambda a, d: a.flip(d), lambda a, d: a.flip(d),
       lambda r: [(randn(r, 3, 4), (0,)), (randn(r, 2, 3, 4), (0, 2)), (randn(r, 3, 4), (-1,)), (ints(r, 5), (0,))])
OpSpec("fliplr_flipud", lambda a: (ng.fliplr(a), ng.flipud(a)), lambda a: (torch.fliplr(a), torch.flipud(a)),
       lambda r: [(randn(r, 3, 4),)])
OpSpec("roll", lambda a, s, d: a.roll(s, d), lambda a, s, d: a.roll(s, d),
       lambda r: [(randn(r, 3, 4), 1, 0), (randn(r, 3, 4), (2, -1), (1, 0)), (randn(r, 3, 4), 5, None),
                  (randn(r, 3, 4), -7, 1)])
OpSpec("rot90", lambda a, k, d: a.rot90(k, d), lambda a, k, d: a.rot90(k, d),
       lambda r: [(randn(r, 3, 4), 1, (0, 1)), (randn(r, 3, 4), 2, (0, 1)), (randn(r, 3, 4), -1, (1, 0)),
                  (randn(r, 2, 3, 4), 3, (0, 2)), (randn(r, 3, 4), 4, (0, 1))])

# ----------------------------------------------------------------------------- repeating (copies)
OpSpec("repeat", lambda a, s: a.repeat(*s), lambda a, s: a.repeat(*s),
       lambda r: [(randn(r, 2, 3), (2, 1)), (randn(r, 2, 3), (2, 1, 3)), (randn(r, 3), (1, 2)), (randn(r), (3,))])
OpSpec("tile", lambda a, s: a.tile(s), lambda a, s: a.tile(s),
       lambda r: [(randn(r, 2, 3), (2,)), (randn(r, 2, 3), (2, 1, 2))])
OpSpec("tile_varargs", lambda a: ng.tile(a, 2, 1, 3), lambda a: a.tile(2, 1, 3), lambda r: [(randn(r, 2, 3),)])
OpSpec("repeat_interleave", lambda a, n, d: a.repeat_interleave(n, d),
       lambda a, n, d: a.repeat_interleave(n, d),
       lambda r: [(randn(r, 2, 3), 2, 1), (randn(r, 2, 3), 3, None), (randn(r, 2, 3), np.array([1, 0, 2]), 1),
                  (randn(r, 2, 3), np.array([2, 1]), 0), (randn(r, 2, 3), np.array([2]), 1)])
OpSpec("repeat_interleave_counts", lambda c: ng.repeat_interleave(c), lambda c: torch.repeat_interleave(c),
       lambda r: [(np.array([1, 0, 3]),)], grad=False)

# ----------------------------------------------------------------------------- triangles and diagonals
OpSpec("tril", lambda a, k: a.tril(k), lambda a, k: a.tril(k),
       lambda r: [(randn(r, 3, 4), 0), (randn(r, 3, 4), 1), (randn(r, 2, 3, 3), -1), (ints(r, 3, 3), 0)])
OpSpec("triu", lambda a, k: a.triu(k), lambda a, k: a.triu(k),
       lambda r: [(randn(r, 3, 4), 0), (randn(r, 4, 3), -2), (randn(r, 2, 3, 3), 1)])
OpSpec("diag", lambda a, k: ng.diag(a, k), lambda a, k: torch.diag(a, k),
       lambda r: [(randn(r, 3), 0), (randn(r, 3), 1), (randn(r, 3), -2), (randn(r, 3, 4), 0), (randn(r, 3, 4), 1),
                  (randn(r, 4, 3), -1)])
OpSpec("diag_embed", lambda a, o, d1, d2: ng.diag_embed(a, o, d1, d2),
       lambda a, o, d1, d2: torch.diag_embed(a, o, d1, d2),
       lambda r: [(randn(r, 2, 3), 0, -2, -1), (randn(r, 2, 3), 1, 0, 2), (randn(r, 3), -1, 1, 0),
                  (randn(r, 2, 3), 0, 0, 1)])

# ----------------------------------------------------------------------------- copying
OpSpec("clone", lambda a: a.clone(), lambda a: a.clone(), lambda r: [(randn(r, 3, 4),)])
OpSpec("contiguous", lambda a: a.t().contiguous(), lambda a: a.t().contiguous(), lambda r: [(randn(r, 3, 4),)])

# ----------------------------------------------------------------------------- nn.functional.pad
OpSpec("pad_constant", lambda a, p, v: ng_pad(a, p, value=v), lambda a, p, v: TF.pad(a, p, value=v),
       lambda r: [(randn(r, 2, 3), (1, 2), 0.0), (randn(r, 2, 3, 4), (1, 0, 2, 1), 1.5),
                  (randn(r, 2, 3, 4), (-1, 2, 0, -1, 1, 1), 0.0), (randn(r, 3), (0, 0), 0.0)])
OpSpec("pad_reflect", lambda a, p: ng_pad(a, p, mode="reflect"), lambda a, p: TF.pad(a, p, mode="reflect"),
       lambda r: [(randn(r, 2, 4), (2, 3)), (randn(r, 1, 3, 4), (1, 2, 2, 1)), (randn(r, 2, 2, 3), (1, 1)),
                  (randn(r, 1, 3, 3, 4), (1, 1, 2, 0, 1, 2))])
OpSpec("pad_replicate", lambda a, p: ng_pad(a, p, mode="replicate"), lambda a, p: TF.pad(a, p, mode="replicate"),
       lambda r: [(randn(r, 2, 3), (2, 4)), (randn(r, 1, 3, 4), (1, 2, 3, 0)), (randn(r, 1, 1, 2, 2, 2), (1, 1, 0, 1, 2, 1))])
OpSpec("pad_circular", lambda a, p: ng_pad(a, p, mode="circular"), lambda a, p: TF.pad(a, p, mode="circular"),
       lambda r: [(randn(r, 2, 4), (2, 3)), (randn(r, 1, 3, 4), (1, 4, 3, 0))])
