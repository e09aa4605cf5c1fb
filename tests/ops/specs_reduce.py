"""Op specs: reductions, cumulative ops, sorting and selection."""
import math

import numpy as np
import torch

import nablagrad as ng

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401


def distinct(rng, *shape):
    """Values without ties (gaps ≥ 0.5): max/sort/median/topk are differentiable there and their
    indices are unique."""
    n = int(np.prod(shape))
    return np.asarray(rng.permutation(n).reshape(shape) + rng.uniform(0, 0.5, size=shape))


def with_zeros(rng, shape, count):
    """Positive values with ``count`` zeros in the first slice along the last dim."""
    a = positive(rng, *shape)
    a.reshape(-1, shape[-1])[0, :count] = 0.0
    return a


def with_nans(rng, *shape):
    a = randn(rng, *shape)
    a.reshape(-1)[[1, 4]] = np.nan
    return a


def ints(rng, *shape):
    return rng.integers(-3, 4, size=shape)


def bools(rng, *shape):
    return rng.integers(0, 2, size=shape).astype(bool)


# ----------------------------------------------------------------------------- sum, mean
OpSpec("sum", lambda a: a.sum(), lambda a: a.sum(),
       lambda r: [(randn(r, 3, 4),), (randn(r),), (ints(r, 3, 4),), (bools(r, 5),)])
OpSpec("sum_dim", lambda a, d, k: a.sum(d, keepdim=k), lambda a, d, k: a.sum(d, keepdim=k),
       lambda r: [(randn(r, 3, 4, 2), 1, False), (randn(r, 3, 4, 2), (0, 2), True),
                  (randn(r, 3, 4), -1, True), (randn(r, 3, 4), (-1, 0), False),
                  (randn(r), 0, False), (ints(r, 3, 4), 1, True), (bools(r, 3, 4), 0, False)])
OpSpec("sum_dtype", lambda a, d: ng.sum(a, d, dtype=ng.float32),
       lambda a, d: torch.sum(a, d, dtype=torch.float32),
       lambda r: [(randn(r, 3, 4), 1), (ints(r, 3, 4), 0)], atol=1e-5, rtol=1e-5,
       grad=False)  # float32 results are too coarse for finite differences: see the semantics tests
OpSpec("sum_to_size", lambda a, s: a.sum_to_size(s), lambda a, s: a.sum_to_size(s),
       lambda r: [(randn(r, 3, 4), (1, 4)), (randn(r, 2, 3, 4), (3, 1)), (randn(r, 3, 4), (3, 4))])
OpSpec("mean", lambda a, d, k: a.mean(d, keepdim=k), lambda a, d, k: a.mean(d, keepdim=k),
       lambda r: [(randn(r, 3, 4), None, False), (randn(r, 3, 4, 2), (0, -1), True),
                  (randn(r, 3, 4), 1, False), (randn(r), None, False)])
OpSpec("mean_dtype", lambda a: ng.mean(a, 0, dtype=ng.float64),
       lambda a: torch.mean(a, 0, dtype=torch.float64),
       lambda r: [(ints(r, 3, 4),), (randn(r, 3, 4),)])
OpSpec("nansum", lambda a, d: ng.nansum(a, d), lambda a, d: torch.nansum(a, d),
       lambda r: [(with_nans(r, 3, 4), None), (with_nans(r, 3, 4), 1), (ints(r, 3, 4), 0)])
OpSpec("nanmean", lambda a, d, k: ng.nanmean(a, d, keepdim=k),
       lambda a, d, k: torch.nanmean(a, d, keepdim=k),
       lambda r: [(with_nans(r, 3, 4), None, False), (with_nans(r, 3, 4), 1, True),
                  (randn(r, 2, 3), (0, 1), False)])

# ----------------------------------------------------------------------------- prod
OpSpec("prod", lambda a, *d: a.prod(*d), lambda a, *d: a.prod(*d),
       lambda r: [(positive(r, 3, 4),), (randn(r, 3, 4), 1), (randn(r, 2, 3, 4), -1, True),
                  (randn(r), 0), (ints(r, 3, 4), 0), (bools(r, 3, 4),)])
OpSpec("prod_zeros", lambda a, *d: a.prod(*d), lambda a, *d: a.prod(*d),
       lambda r: [(with_zeros(r, (3, 4), 1),), (with_zeros(r, (3, 4), 1), 1),
                  (with_zeros(r, (3, 4), 2), 1, True), (with_zeros(r, (2, 4), 3), -1),
                  (with_zeros(r, (3, 4), 2),), (with_zeros(r, (3, 4), 1), 0)])

# ----------------------------------------------------------------------------- var, std
_var_samples = lambda r: [(randn(r, 3, 4), {}), (randn(r, 3, 4), {"dim": 1}),  # noqa: E731
                          (randn(r, 3, 4, 2), {"dim": (0, 2), "keepdim": True}),
                          (randn(r, 3, 4), {"dim": -1, "correction": 0}),
                          (randn(r, 3, 4), {"dim": 0, "unbiased": False}),
                          (randn(r, 5), {"correction": 2})]
OpSpec("var", lambda a, kw: ng.var(a, **kw), lambda a, kw: torch.var(a, **kw), _var_samples)
OpSpec("std", lambda a, kw: a.std(**kw), lambda a, kw: a.std(**kw), _var_samples)
OpSpec("var_legacy_positional", lambda a: (ng.var(a, 1, True, True), ng.std(a, False)),
       lambda a: (torch.var(a, 1, True, True), torch.std(a, False)), lambda r: [(randn(r, 3, 4),)])
OpSpec("var_mean", lambda a, kw: ng.var_mean(a, **kw), lambda a, kw: torch.var_mean(a, **kw),
       _var_samples)
OpSpec("std_mean", lambda a, kw: ng.std_mean(a, **kw), lambda a, kw: torch.std_mean(a, **kw),
       _var_samples)

# ----------------------------------------------------------------------------- logsumexp
OpSpec("logsumexp", lambda a, d, k: ng.logsumexp(a, d, k), lambda a, d, k: torch.logsumexp(a, d, k),
       lambda r: [(randn(r, 3, 4), 1, False), (randn(r, 3, 4, 2), (0, 2), True),
                  (randn(r, 3, 4) * 400, -1, False), (randn(r, 3, 4) + 1000, 0, True),
                  (ints(r, 3, 4), 1, False)])

# ----------------------------------------------------------------------------- max, min
OpSpec("max", lambda a: a.max(), lambda a: a.max(),
       lambda r: [(distinct(r, 3, 4),), (ints(r, 3, 4),), (bools(r, 4),)])
OpSpec("min", lambda a: ng.min(a), lambda a: torch.min(a), lambda r: [(distinct(r, 3, 4),)])
OpSpec("max_dim", lambda a, d, k: a.max(d, k), lambda a, d, k: a.max(d, k),
       lambda r: [(distinct(r, 3, 4), 1, False), (distinct(r, 3, 4), 0, True),
                  (distinct(r, 2, 3, 4), -2, False), (distinct(r), 0, True),
                  (ints(r, 3, 4), 1, False)])
OpSpec("min_dim", lambda a, d, k: ng.min(a, dim=d, keepdim=k),
       lambda a, d, k: torch.min(a, dim=d, keepdim=k),
       lambda r: [(distinct(r, 3, 4), 1, False), (distinct(r, 2, 3, 4), 0, True)])
OpSpec("max_other", lambda a, b: a.max(b), lambda a, b: a.max(b),
       lambda r: [(distinct(r, 3, 4), distinct(r, 3, 4) + 0.25)])
OpSpec("min_other", lambda a, b: ng.min(a, b), lambda a, b: torch.min(a, b),
       lambda r: [(distinct(r, 3, 4), distinct(r, 4) + 0.25)])
OpSpec("amax", lambda a, d, k: ng.amax(a, d, k), lambda a, d, k: torch.amax(a, d, k),
       lambda r: [(distinct(r, 3, 4), (), False), (distinct(r, 3, 4), 1, True),
                  (distinct(r, 2, 3, 4), (0, -1), False), (ints(r, 3, 4), 0, False)])
OpSpec("amin", lambda a, d, k: a.amin(d, k), lambda a, d, k: a.amin(d, k),
       lambda r: [(distinct(r, 3, 4), (), False), (distinct(r, 2, 3, 4), (1,), True)])
OpSpec("aminmax", lambda a, kw: ng.aminmax(a, **kw), lambda a, kw: torch.aminmax(a, **kw),
       lambda r: [(distinct(r, 3, 4), {}), (distinct(r, 3, 4), {"dim": 1, "keepdim": True}),
                  (ints(r, 3, 4), {"dim": 0})])
OpSpec("argmax", lambda a, *args: ng.argmax(a, *args), lambda a, *args: torch.argmax(a, *args),
       lambda r: [(distinct(r, 3, 4),), (distinct(r, 3, 4), 1), (distinct(r, 3, 4), 0, True),
                  (distinct(r, 3, 4), None, True), (ints(r, 3, 4), -1)], grad=False)
OpSpec("argmin", lambda a, *args: a.argmin(*args), lambda a, *args: a.argmin(*args),
       lambda r: [(distinct(r, 3, 4),), (distinct(r, 2, 3, 4), 1, True)], grad=False)

# ----------------------------------------------------------------------------- norm
OpSpec("norm", lambda a, *args: a.norm(*args), lambda a, *args: a.norm(*args),
       lambda r: [(randn(r, 3, 4),), (randn(r, 3, 4), "fro", (0, 1)), (randn(r, 3, 4), 2, 1),
                  (randn(r, 3, 4), 2, 0, True), (away_from_zero(r, 3, 4), 1, 1),
                  (distinct(r, 3, 4) - 6, math.inf, 1), (distinct(r, 3, 4) - 6, -math.inf, None),
                  (randn(r, 3, 4), 0, 1), (away_from_zero(r, 3, 4), 3, (0, 1)),
                  (away_from_zero(r, 3, 4), 0.5, 1, True), (away_from_zero(r, 3, 4), 1.5, 0),
                  (away_from_zero(r, 2, 3), -1.0, 1)])

# ----------------------------------------------------------------------------- all, any, count
OpSpec("all", lambda a, *args: ng.all(a, *args), lambda a, *args: torch.all(a, *args),
       lambda r: [(bools(r, 3, 4),), (bools(r, 3, 4), 1), (ints(r, 3, 4), 0, True),
                  (randn(r, 3, 4), (0, 1)), (rng_u8(r),)], grad=False)
OpSpec("any", lambda a, *args: a.any(*args), lambda a, *args: a.any(*args),
       lambda r: [(bools(r, 3, 4),), (bools(r, 3, 4), -1), (ints(r, 3, 4) * 0, 0, True)],
       grad=False)
OpSpec("count_nonzero", lambda a, *args: ng.count_nonzero(a, *args),
       lambda a, *args: torch.count_nonzero(a, *args),
       lambda r: [(ints(r, 3, 4),), (ints(r, 3, 4), 1), (bools(r, 2, 3, 4), (0, 2))], grad=False)


def rng_u8(r):
    return r.integers(0, 3, size=(3, 4)).astype(np.uint8)


# ----------------------------------------------------------------------------- cumulative
OpSpec("cumsum", lambda a, d: a.cumsum(d), lambda a, d: a.cumsum(d),
       lambda r: [(randn(r, 3, 4), 1), (randn(r, 2, 3, 4), 0), (randn(r, 3, 4), -1),
                  (randn(r), 0), (ints(r, 3, 4), 1), (bools(r, 5), 0)])
OpSpec("cumsum_dtype", lambda a: ng.cumsum(a, 0, dtype=ng.float64),
       lambda a: torch.cumsum(a, 0, dtype=torch.float64), lambda r: [(ints(r, 3, 4),)])
OpSpec("cumprod", lambda a, d: ng.cumprod(a, d), lambda a, d: torch.cumprod(a, d),
       lambda r: [(randn(r, 3, 4), 1), (randn(r, 2, 3, 4), 0), (randn(r), 0), (ints(r, 3, 4), 1)])
OpSpec("cumprod_zeros", lambda a, d: ng.cumprod(a, d), lambda a, d: torch.cumprod(a, d),
       lambda r: [(with_zeros(r, (3, 4), 1), 1), (with_zeros(r, (3, 5), 2), -1),
                  (with_zeros(r, (4, 3), 1), 0), (np.array([2.0, 0.0, 3.0, 0.0, 0.5]), 0)])
OpSpec("cummax", lambda a, d: ng.cummax(a, d), lambda a, d: torch.cummax(a, d),
       lambda r: [(distinct(r, 3, 4), 1), (distinct(r, 3, 4), 0), (distinct(r, 2, 3, 4), -1),
                  (ints(r, 3, 6), 1)])
OpSpec("cummin", lambda a, d: a.cummin(d), lambda a, d: a.cummin(d),
       lambda r: [(distinct(r, 3, 4), 1), (ints(r, 4, 3), 0)])
OpSpec("logcumsumexp", lambda a, d: a.logcumsumexp(d), lambda a, d: a.logcumsumexp(d),
       lambda r: [(randn(r, 3, 4), 1), (randn(r, 2, 3, 4), 0),
                  (np.array([[-800.0, 0.0, 3.0, 700.0, 1.0], [5.0, -1.0, 2.0, 0.5, -3.0]]), 1)])

# ----------------------------------------------------------------------------- sort, topk
OpSpec("sort", lambda a, *args: a.sort(*args), lambda a, *args: a.sort(*args),
       lambda r: [(distinct(r, 3, 4),), (distinct(r, 3, 4), 0), (distinct(r, 2, 3, 4), 1, True),
                  (distinct(r, 5), -1, True), (ints(r, 3, 4) * 10 + np.arange(4), 1)])
OpSpec("sort_stable", lambda a, d, desc: ng.sort(a, dim=d, descending=desc, stable=True),
       lambda a, d, desc: torch.sort(a, dim=d, descending=desc, stable=True),
       lambda r: [(ints(r, 3, 8), 1, False), (ints(r, 3, 8), 1, True), (bools(r, 6, 3), 0, True),
                  (np.repeat(ints(r, 2, 3), 2, axis=1), 1, True)])
OpSpec("argsort", lambda a, *args: ng.argsort(a, *args), lambda a, *args: torch.argsort(a, *args),
       lambda r: [(distinct(r, 3, 4),), (distinct(r, 3, 4), 0, True)], grad=False)
OpSpec("msort", ng.msort, torch.msort, lambda r: [(distinct(r, 4, 3),)])
OpSpec("topk", lambda a, k, *args: a.topk(k, *args), lambda a, k, *args: a.topk(k, *args),
       lambda r: [(distinct(r, 3, 5), 2), (distinct(r, 3, 5), 3, 0),
                  (distinct(r, 3, 5), 2, 1, False),
                  (distinct(r, 2, 3, 4), 4, -1, True),
                  (ints(r, 3, 5) * 10 + np.arange(5), 3)])
OpSpec("kthvalue", lambda a, k, *args: ng.kthvalue(a, k, *args),
       lambda a, k, *args: torch.kthvalue(a, k, *args),
       lambda r: [(distinct(r, 3, 5), 2), (distinct(r, 3, 5), 1, 0, True),
                  (distinct(r, 2, 3, 4), 4)])

# ----------------------------------------------------------------------------- median, mode
OpSpec("median", lambda a: a.median(), lambda a: a.median(),
       lambda r: [(distinct(r, 3, 5),), (distinct(r, 3, 4),), (ints(r, 3, 4),)])
OpSpec("median_dim", lambda a, d, *k: ng.median(a, d, *k), lambda a, d, *k: torch.median(a, d, *k),
       lambda r: [(distinct(r, 3, 5), 1), (distinct(r, 4, 3), 0, True), (distinct(r, 2, 3, 4), -1)])
OpSpec("nanmedian", lambda a, *d: a.nanmedian(*d), lambda a, *d: a.nanmedian(*d),
       lambda r: [(np.array([3.5, np.nan, 1.0, 2.25, np.nan, 7.0]),),
                  (np.array([[3.5, np.nan, 1.0, 2.25], [0.5, 1.5, -1.0, np.nan]]), 1),
                  (distinct(r, 3, 4), 0)])
OpSpec("median_nan", lambda a, *d: ng.median(a, *d), lambda a, *d: torch.median(a, *d),
       lambda r: [(np.array([[3.5, np.nan, 1.0, 2.25], [0.5, 1.5, -1.0, 0.0]]), 1)], grad=False)
OpSpec("mode", lambda a, *args: a.mode(*args), lambda a, *args: a.mode(*args),
       lambda r: [(distinct(r, 3, 4),), (distinct(r, 3, 4), 0, True)])
OpSpec("mode_repeats", lambda a, *args: ng.mode(a, *args), lambda a, *args: torch.mode(a, *args),
       lambda r: [(ints(r, 3, 9),), (ints(r, 8, 3), 0, True),
                  (np.array([[1.0, 2, 2, 3, 3, 0], [5, 5, 1, 1, 1, 5]]), 1)], grad=False)

# ----------------------------------------------------------------------------- diff
OpSpec("diff", lambda a, *args: a.diff(*args), lambda a, *args: a.diff(*args),
       lambda r: [(randn(r, 3, 5),), (randn(r, 3, 5), 2), (randn(r, 4, 3), 1, 0),
                  (ints(r, 3, 5), 1), (bools(r, 3, 5),)])
OpSpec("diff_prepend_append", lambda a, p, q, n: ng.diff(a, n, 0, prepend=p, append=q),
       lambda a, p, q, n: torch.diff(a, n, 0, prepend=p, append=q),
       lambda r: [(randn(r, 3, 4), randn(r, 2, 4), randn(r, 1, 4), 1),
                  (randn(r, 3, 4), None, randn(r, 2, 4), 2),
                  (randn(r, 3, 4), randn(r, 1, 4), None, 1)])
