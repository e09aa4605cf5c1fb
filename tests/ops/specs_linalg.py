"""Op specs: linalg (products, einsum, solves, determinants, decompositions, norms).

Decompositions get well-conditioned samples (SPD matrices A Aᵀ + nI, well separated eigen and
singular values) and are compared through functions of the decomposition that do not depend on
the arbitrary signs of eigen/singular vectors (e.g. U diag(c) Vᵀ, V diag(c) Vᵀ).
"""
import math

import numpy as np
import torch

import nablagrad as ng
import nablagrad.linalg  # noqa: F401  (ng.linalg, until the package imports it)

from .spec import OpSpec, Const, randn, positive, away_from_zero  # noqa: F401

INF = math.inf


def well_conditioned(r, *shape):
    """A random square matrix (batch) plus n·I: far from singular."""
    n = shape[-1]
    return randn(r, *shape) + n * np.eye(n)


def spaced_spectrum(r, *shape, low=1.0, step=1.5):
    """A matrix with singular values low, low + step, ... and random singular vectors."""
    m, n = shape[-2:]
    k = min(m, n)
    u = np.linalg.qr(r.standard_normal(shape[:-2] + (m, m)))[0][..., :k]
    v = np.linalg.qr(r.standard_normal(shape[:-2] + (n, n)))[0][..., :k]
    s = low + step * np.arange(k)[::-1]
    return (u * s) @ np.swapaxes(v, -1, -2)


def tri_matrix(r, n, lower=True, batch=()):
    a = randn(r, *batch, n, n) * 0.5 + 2 * np.eye(n)
    return np.tril(a) if lower else np.triu(a)


def _spd(lib):
    def f(x):
        n = x.shape[-2]
        return x @ x.mT + n * lib.eye(n, dtype=x.dtype)
    return f


def _sym(x):
    return (x + x.mT) / 2


spd_ng, spd_t = _spd(ng), _spd(torch)


def _weights(lib, x, k):
    return lib.tensor(np.arange(1.0, k + 1), dtype=x.dtype)


# ----------------------------------------------------------------------------- products
OpSpec("matmul", lambda a, b: a @ b, lambda a, b: a @ b,
       lambda r: [(randn(r, 3, 4), randn(r, 4, 2)), (randn(r, 2, 3, 4), randn(r, 4, 5)),
                  (randn(r, 4), randn(r, 4, 2)), (randn(r, 3, 4), randn(r, 4)), (randn(r, 4), randn(r, 4)),
                  (randn(r, 2, 1, 3, 4), randn(r, 5, 4, 2)), (randn(r, 3, 4), randn(r, 2, 4, 5)),
                  (randn(r, 2, 3, 4), randn(r, 4)), (randn(r, 4), randn(r, 2, 4, 3)),
                  (np.arange(6).reshape(2, 3), np.arange(3))])
OpSpec("mm", lambda a, b: ng.mm(a, b), lambda a, b: torch.mm(a, b),
       lambda r: [(randn(r, 3, 4), randn(r, 4, 2)), (randn(r, 1, 4), Const(randn(r, 4, 3)))])
OpSpec("bmm", lambda a, b: a.bmm(b), lambda a, b: a.bmm(b),
       lambda r: [(randn(r, 2, 3, 4), randn(r, 2, 4, 2))])
OpSpec("mv", lambda a, b: ng.mv(a, b), lambda a, b: torch.mv(a, b),
       lambda r: [(randn(r, 3, 4), randn(r, 4))])
OpSpec("dot", lambda a, b: ng.dot(a, b), lambda a, b: torch.dot(a, b),
       lambda r: [(randn(r, 5), randn(r, 5)), (np.arange(4), np.arange(4))])
OpSpec("vdot", lambda a, b: a.vdot(b), lambda a, b: a.vdot(b), lambda r: [(randn(r, 5), randn(r, 5))])
OpSpec("inner", lambda a, b: ng.inner(a, b), lambda a, b: torch.inner(a, b),
       lambda r: [(randn(r, 4), randn(r, 4)), (randn(r, 2, 3), randn(r, 4, 3)),
                  (randn(r, 2, 3, 4), randn(r, 4)), (randn(r, 2, 3), randn(r))])
OpSpec("outer", lambda a, b: ng.outer(a, b), lambda a, b: torch.outer(a, b),
       lambda r: [(randn(r, 3), randn(r, 4))])
OpSpec("ger", lambda a, b: a.ger(b), lambda a, b: a.ger(b), lambda r: [(randn(r, 3), randn(r, 2))])
OpSpec("addmm", lambda c, a, b, be, al: ng.addmm(c, a, b, beta=be, alpha=al),
       lambda c, a, b, be, al: torch.addmm(c, a, b, beta=be, alpha=al),
       lambda r: [(randn(r, 3, 2), randn(r, 3, 4), randn(r, 4, 2), 1, 1),
                  (randn(r, 2), randn(r, 3, 4), randn(r, 4, 2), 0.5, -2.0),
                  (randn(r, 3, 1), randn(r, 3, 4), randn(r, 4, 2), 0, 1.5)])
OpSpec("addmv", lambda c, a, b, be, al: c.addmv(a, b, beta=be, alpha=al),
       lambda c, a, b, be, al: c.addmv(a, b, beta=be, alpha=al),
       lambda r: [(randn(r, 3), randn(r, 3, 4), randn(r, 4), 1, 1),
                  (randn(r, 1), randn(r, 3, 4), randn(r, 4), 2.0, 0.5)])
OpSpec("addr", lambda c, a, b: ng.addr(c, a, b, beta=0.5, alpha=2),
       lambda c, a, b: torch.addr(c, a, b, beta=0.5, alpha=2),
       lambda r: [(randn(r, 3, 2), randn(r, 3), randn(r, 2))])
OpSpec("baddbmm", lambda c, a, b, be, al: ng.baddbmm(c, a, b, beta=be, alpha=al),
       lambda c, a, b, be, al: torch.baddbmm(c, a, b, beta=be, alpha=al),
       lambda r: [(randn(r, 2, 3, 2), randn(r, 2, 3, 4), randn(r, 2, 4, 2), 1, 1),
                  (randn(r, 3, 2), randn(r, 2, 3, 4), randn(r, 2, 4, 2), -1.0, 0.5)])
OpSpec("addbmm", lambda c, a, b, be, al: ng.addbmm(c, a, b, beta=be, alpha=al),
       lambda c, a, b, be, al: torch.addbmm(c, a, b, beta=be, alpha=al),
       lambda r: [(randn(r, 3, 2), randn(r, 4, 3, 5), randn(r, 4, 5, 2), 1, 1),
                  (randn(r, 2), randn(r, 2, 3, 4), randn(r, 2, 4, 2), 0.5, 3.0)])
OpSpec("tensordot", lambda a, b, d: ng.tensordot(a, b, d), lambda a, b, d: torch.tensordot(a, b, d),
       lambda r: [(randn(r, 2, 3, 4), randn(r, 3, 4, 2), 2), (randn(r, 3, 4), randn(r, 4, 2), 1),
                  (randn(r, 2, 3), randn(r, 4), 0),
                  (randn(r, 2, 3, 4), randn(r, 4, 5, 2), ([2, 0], [0, 2])),
                  (randn(r, 3, 4), randn(r, 3, 4), ([-1, 0], [1, 0]))])
OpSpec("kron", lambda a, b: ng.kron(a, b), lambda a, b: torch.kron(a, b),
       lambda r: [(randn(r, 2, 3), randn(r, 3, 2)), (randn(r, 3), randn(r, 2, 2)),
                  (randn(r, 2, 1, 2), randn(r, 2, 3))])
OpSpec("trace", lambda a: a.trace(), lambda a: a.trace(),
       lambda r: [(randn(r, 3, 3),), (randn(r, 2, 4),), (np.arange(9, dtype=np.int32).reshape(3, 3),)])
OpSpec("multi_dot", lambda ts: ng.linalg.multi_dot(ts), lambda ts: torch.linalg.multi_dot(ts),
       lambda r: [([randn(r, 3, 4), randn(r, 4, 2)],),
                  ([randn(r, 5, 4), randn(r, 4, 1), randn(r, 1, 3), randn(r, 3, 2)],),
                  ([randn(r, 4), randn(r, 4, 2), randn(r, 2, 3), randn(r, 3)],)])
OpSpec("chain_matmul", lambda a, b, c: ng.chain_matmul(a, b, c),
       lambda a, b, c: torch.linalg.multi_dot([a, b, c]),
       lambda r: [(randn(r, 2, 4), randn(r, 4, 3), randn(r, 3, 2))])
OpSpec("matrix_power", lambda a, n: ng.linalg.matrix_power(a, n),
       lambda a, n: torch.linalg.matrix_power(a, n),
       lambda r: [(randn(r, 3, 3) * 0.5, 3), (randn(r, 2, 3, 3) * 0.5, 4), (randn(r, 3, 3), 1),
                  (well_conditioned(r, 3, 3), -2)])
OpSpec("cross", lambda a, b, d: ng.cross(a, b, dim=d), lambda a, b, d: torch.cross(a, b, dim=d),
       lambda r: [(randn(r, 4, 3), randn(r, 4, 3), 1), (randn(r, 3, 2), randn(r, 3, 2), 0),
                  (randn(r, 2, 4, 3), randn(r, 1, 4, 3), -1)])
OpSpec("linalg_cross", lambda a, b: ng.linalg.cross(a, b), lambda a, b: torch.linalg.cross(a, b),
       lambda r: [(randn(r, 2, 3), randn(r, 1, 3))])
# torch has no double backward for cdist: ours is checked in test_linalg_semantics.py
OpSpec("cdist", lambda a, b, p: ng.cdist(a, b, p), lambda a, b, p: torch.cdist(a, b, p),
       lambda r: [(randn(r, 3, 2), randn(r, 4, 2), 2.0), (randn(r, 2, 3, 2), randn(r, 2, 4, 2), 2.0),
                  (randn(r, 27, 2), randn(r, 3, 2), 2.0), (randn(r, 3, 2), randn(r, 4, 2), 1.0),
                  (randn(r, 3, 2), randn(r, 2, 2), 3.0), (randn(r, 3, 2), randn(r, 2, 2), INF)],
       gradgrad=False)

EINSUM_EQUATIONS = [
    ("ij,jk->ik", (3, 4), (4, 2)), ("ii->i", (3, 3)), ("ii", (3, 3)), ("ij->", (2, 3)),
    ("...ij,...jk", (2, 3, 4), (4, 2)), ("bij,bkj->bik", (2, 3, 4), (2, 2, 4)), ("i,j", (3,), (2,)),
    ("...i->i", (2, 3)), ("ij,ik->jk", (1, 3), (4, 3)), ("iij->j", (2, 2, 3)),
    ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)), ("ii,i->i", (3, 3), (3,)), ("i,i->", (4,), (4,)),
    ("ba", (2, 3)), ("bn,anm,bm->ba", (2, 3), (4, 3, 2), (2, 2)), ("ij->ji", (2, 3)),
    ("i...->...", (2, 3, 4)), ("ijk,jl->lik", (2, 3, 2), (3, 1)),
]
OpSpec("einsum", lambda eq, *ops: ng.einsum(eq, *ops), lambda eq, *ops: torch.einsum(eq, *ops),
       lambda r: [(eq,) + tuple(randn(r, *s) for s in shapes) for eq, *shapes in EINSUM_EQUATIONS])
OpSpec("einsum_list", lambda eq, ops: ng.einsum(eq, ops), lambda eq, ops: torch.einsum(eq, ops),
       lambda r: [("ij,jk", [randn(r, 2, 3), randn(r, 3, 2)])])

# ----------------------------------------------------------------------------- inverse, solves
OpSpec("inv", lambda a: ng.linalg.inv(a), lambda a: torch.linalg.inv(a),
       lambda r: [(well_conditioned(r, 3, 3),), (well_conditioned(r, 2, 3, 3),)])
OpSpec("inverse", lambda a: a.inverse(), lambda a: a.inverse(), lambda r: [(well_conditioned(r, 2, 2),)])
OpSpec("solve", lambda a, b, left: ng.linalg.solve(a, b, left=left),
       lambda a, b, left: torch.linalg.solve(a, b, left=left),
       lambda r: [(well_conditioned(r, 3, 3), randn(r, 3, 2), True),
                  (well_conditioned(r, 3, 3), randn(r, 3), True),
                  (well_conditioned(r, 2, 3, 3), randn(r, 3, 2), True),
                  (well_conditioned(r, 2, 3, 3), randn(r, 2, 3), True),
                  (well_conditioned(r, 3, 3), randn(r, 2, 3, 4), True),
                  (well_conditioned(r, 3, 3), randn(r, 2, 3), False)])
OpSpec("solve_triangular",
       lambda a, b, up, left, unit: ng.linalg.solve_triangular(a, b, upper=up, left=left,
                                                               unitriangular=unit),
       lambda a, b, up, left, unit: torch.linalg.solve_triangular(a, b, upper=up, left=left,
                                                                  unitriangular=unit),
       lambda r: [(tri_matrix(r, 3), randn(r, 3, 2), False, True, False),
                  (tri_matrix(r, 3, lower=False), randn(r, 3, 2), True, True, False),
                  (tri_matrix(r, 3), randn(r, 2, 3), False, False, False),
                  (tri_matrix(r, 3, lower=False), randn(r, 2, 3, 2), True, True, True),
                  (tri_matrix(r, 3, batch=(2,)), randn(r, 3, 2), False, True, False),
                  (tri_matrix(r, 3, lower=False, batch=(2,)), randn(r, 2, 2, 3), True, False, True),
                  (randn(r, 3, 3) + 3 * np.eye(3), randn(r, 3, 1), False, True, False)])
OpSpec("triangular_solve", lambda b, a, up, tr: ng.triangular_solve(b, a, up, tr),
       lambda b, a, up, tr: torch.triangular_solve(b, a, up, tr),
       lambda r: [(randn(r, 3, 2), tri_matrix(r, 3, lower=False), True, False),
                  (randn(r, 3, 2), tri_matrix(r, 3), False, True)])
OpSpec("cholesky_solve", lambda b, x, up: ng.cholesky_solve(b, ng.linalg.cholesky(spd_ng(x), upper=up), up),
       lambda b, x, up: torch.cholesky_solve(b, torch.linalg.cholesky(spd_t(x), upper=up), up),
       lambda r: [(randn(r, 3, 2), randn(r, 3, 3), False), (randn(r, 2, 3, 1), randn(r, 3, 3), True)])
OpSpec("cholesky_inverse", lambda x: ng.cholesky_inverse(ng.linalg.cholesky(spd_ng(x))),
       lambda x: torch.cholesky_inverse(torch.linalg.cholesky(spd_t(x))),
       lambda r: [(randn(r, 3, 3),)])

# ----------------------------------------------------------------------------- determinants
OpSpec("det", lambda a: ng.linalg.det(a), lambda a: torch.linalg.det(a),
       lambda r: [(randn(r, 3, 3),), (randn(r, 2, 3, 3),), (randn(r, 1, 1),)])
OpSpec("det_method", lambda a: a.det(), lambda a: a.det(), lambda r: [(randn(r, 2, 2),)])
OpSpec("slogdet", lambda a: ng.linalg.slogdet(a), lambda a: torch.linalg.slogdet(a),
       lambda r: [(randn(r, 3, 3),), (randn(r, 2, 3, 3),), (-well_conditioned(r, 3, 3),)])
OpSpec("logdet", lambda x: ng.logdet(spd_ng(x)), lambda x: torch.logdet(spd_t(x)),
       lambda r: [(randn(r, 3, 3),), (randn(r, 2, 2, 2),)])

# ----------------------------------------------------------------------------- decompositions
OpSpec("cholesky", lambda x, up: ng.linalg.cholesky(spd_ng(x), upper=up),
       lambda x, up: torch.linalg.cholesky(spd_t(x), upper=up),
       lambda r: [(randn(r, 3, 3), False), (randn(r, 2, 3, 3), True), (randn(r, 3, 2), False)])
OpSpec("cholesky_torch", lambda x: spd_ng(x).cholesky(), lambda x: spd_t(x).cholesky(),
       lambda r: [(randn(r, 2, 2),)])
OpSpec("qr", lambda a, mode: ng.linalg.qr(a, mode), lambda a, mode: torch.linalg.qr(a, mode),
       lambda r: [(randn(r, 4, 3), "reduced"), (randn(r, 3, 3), "reduced"), (randn(r, 3, 5), "reduced"),
                  (randn(r, 2, 4, 2), "reduced"), (randn(r, 2, 4), "complete"),
                  (randn(r, 3, 3), "complete")])
OpSpec("qr_r", lambda a: ng.linalg.qr(a, "r")[1], lambda a: torch.linalg.qr(a, "r")[1],
       lambda r: [(randn(r, 4, 3),)], grad=False)


def _eigh_fns(lib, uplo):
    def f(x):
        lam, v = lib.linalg.eigh(_sym(x), UPLO=uplo)
        c = _weights(lib, x, x.shape[-1])
        return lam, (v * c) @ v.mT
    return f


OpSpec("eigh", lambda x, u: _eigh_fns(ng, u)(x), lambda x, u: _eigh_fns(torch, u)(x),
       lambda r: [(spaced_spectrum(r, 3, 3) * np.array([1, -1, 1]), "L"),
                  (spaced_spectrum(r, 2, 3, 3), "U"), (spaced_spectrum(r, 4, 4), "L")])
OpSpec("eigvalsh", lambda x: ng.linalg.eigvalsh(_sym(x)), lambda x: torch.linalg.eigvalsh(_sym(x)),
       lambda r: [(spaced_spectrum(r, 3, 3),)])


def _svd_fns(lib, full):
    def f(a):
        U, S, Vh = lib.linalg.svd(a, full_matrices=full)
        k = S.shape[-1]
        U, Vh = U[..., :k], Vh[..., :k, :]
        c = _weights(lib, a, k)
        return S, (U * c) @ Vh, (U * c) @ U.mT, (Vh.mT * c) @ Vh
    return f


OpSpec("svd", lambda a, full: _svd_fns(ng, full)(a), lambda a, full: _svd_fns(torch, full)(a),
       lambda r: [(spaced_spectrum(r, 3, 4), False), (spaced_spectrum(r, 4, 3), False),
                  (spaced_spectrum(r, 3, 3), False), (spaced_spectrum(r, 2, 4, 3), False),
                  (spaced_spectrum(r, 3, 3), True), (spaced_spectrum(r, 2, 3), True)])
OpSpec("svd_torch", lambda a: (lambda u, s, v: (s, (u * s) @ v.mT))(*a.svd()),
       lambda a: (lambda u, s, v: (s, (u * s) @ v.mT))(*a.svd()),
       lambda r: [(spaced_spectrum(r, 4, 3),)])
OpSpec("svdvals", lambda a: ng.linalg.svdvals(a), lambda a: torch.linalg.svdvals(a),
       lambda r: [(spaced_spectrum(r, 3, 4),), (spaced_spectrum(r, 2, 3, 2),)])

# ----------------------------------------------------------------------------- pinv, lstsq, rank
OpSpec("pinv", lambda a: ng.linalg.pinv(a), lambda a: torch.linalg.pinv(a),
       lambda r: [(spaced_spectrum(r, 3, 4),), (spaced_spectrum(r, 4, 3),),
                  (spaced_spectrum(r, 3, 3),), (spaced_spectrum(r, 2, 4, 2),)])
OpSpec("pinverse", lambda a: a.pinverse(), lambda a: a.pinverse(), lambda r: [(spaced_spectrum(r, 2, 3),)])
OpSpec("lstsq", lambda a, b: ng.linalg.lstsq(a, b).solution,
       lambda a, b: torch.linalg.lstsq(a, b).solution,
       lambda r: [(spaced_spectrum(r, 5, 3), randn(r, 5, 2)), (spaced_spectrum(r, 4, 2), randn(r, 4)),
                  (spaced_spectrum(r, 2, 4, 3), randn(r, 2, 4, 2))])
OpSpec("lstsq_gelsd", lambda a, b: ng.linalg.lstsq(a, b, driver="gelsd"),
       lambda a, b: torch.linalg.lstsq(a, b, driver="gelsd"),
       lambda r: [(Const(spaced_spectrum(r, 5, 3)), Const(randn(r, 5, 2)))], grad=False)
OpSpec("matrix_rank", lambda a: ng.linalg.matrix_rank(a), lambda a: torch.linalg.matrix_rank(a),
       lambda r: [(randn(r, 3, 4),), (randn(r, 4, 2) @ randn(r, 2, 3),), (np.zeros((2, 2, 3)),)],
       grad=False)

# ----------------------------------------------------------------------------- norms
OpSpec("vector_norm", lambda x, o, d, k: ng.linalg.vector_norm(x, o, d, k),
       lambda x, o, d, k: torch.linalg.vector_norm(x, o, d, k),
       lambda r: [(randn(r, 3, 4), 2, None, False), (randn(r, 3, 4), 2, 1, True),
                  (away_from_zero(r, 2, 3, 4), 1, (0, 2), False), (randn(r, 3, 4), INF, -1, False),
                  (randn(r, 3, 4), -INF, None, False), (away_from_zero(r, 3, 4), 3, 0, False),
                  (away_from_zero(r, 3, 4), 0.5, 1, True), (away_from_zero(r, 3, 4), 0, 1, False),
                  (randn(r), 2, None, False)])
# the 2-norm of a zero vector: gradient 0 (a subgradient); not twice differentiable there
OpSpec("vector_norm_at_zero", lambda x: ng.linalg.vector_norm(x, dim=1),
       lambda x: torch.linalg.vector_norm(x, dim=1),
       lambda r: [(np.array([[0.0, 0.0], [3.0, 4.0]]),)], gradgrad=False)
OpSpec("matrix_norm", lambda x, o, k: ng.linalg.matrix_norm(x, o, keepdim=k),
       lambda x, o, k: torch.linalg.matrix_norm(x, o, keepdim=k),
       lambda r: [(randn(r, 3, 4), "fro", False), (spaced_spectrum(r, 3, 4), "nuc", False),
                  (spaced_spectrum(r, 2, 4, 3), 2, True), (spaced_spectrum(r, 3, 3), -2, False),
                  (away_from_zero(r, 3, 4), 1, False), (away_from_zero(r, 2, 3, 4), -1, True),
                  (away_from_zero(r, 3, 4), INF, False), (away_from_zero(r, 3, 4), -INF, False)])
OpSpec("matrix_norm_dim", lambda x, o: ng.linalg.matrix_norm(x, o, dim=(2, 0)),
       lambda x, o: torch.linalg.matrix_norm(x, o, dim=(2, 0)),
       lambda r: [(away_from_zero(r, 3, 2, 4), 1), (randn(r, 3, 2, 4), "fro"),
                  (np.ascontiguousarray(spaced_spectrum(r, 2, 4, 3).transpose(2, 0, 1)), "nuc")])
OpSpec("linalg_norm", lambda x, o, d: ng.linalg.norm(x, o, d), lambda x, o, d: torch.linalg.norm(x, o, d),
       lambda r: [(randn(r, 3, 4), None, None), (randn(r, 2, 3, 4), None, (0, 2)),
                  (away_from_zero(r, 5), 1, None), (away_from_zero(r, 3, 4), INF, None),
                  (randn(r, 3, 4), 2, 1), (spaced_spectrum(r, 3, 3), "nuc", None)])
# Tensor.norm's vector cases are in specs_reduce.py ("norm")
OpSpec("norm_matrix", lambda x, p, d: ng.norm(x, p, d), lambda x, p, d: torch.norm(x, p, d),
       lambda r: [(spaced_spectrum(r, 3, 3), "nuc", None), (spaced_spectrum(r, 2, 3, 4), "nuc", (2, 1)),
                  (randn(r, 2, 3, 4), "fro", (1, 2))])
OpSpec("dist", lambda a, b, p: ng.dist(a, b, p), lambda a, b, p: torch.dist(a, b, p),
       lambda r: [(randn(r, 3, 4), randn(r, 4), 2), (randn(r, 3), randn(r, 3), 1)])
OpSpec("cond", lambda a, p: ng.linalg.cond(a, p), lambda a, p: torch.linalg.cond(a, p),
       lambda r: [(spaced_spectrum(r, 3, 3), None), (spaced_spectrum(r, 2, 3, 3), -2)])
# torch's backward of cond through inv fails (an in-place error): gradients are checked by
# finite differences in test_linalg_semantics.py
OpSpec("cond_inv", lambda a, p: ng.linalg.cond(a, p), lambda a, p: torch.linalg.cond(a, p),
       lambda r: [(spaced_spectrum(r, 3, 3) + 0.5 * np.eye(3), "fro"),
                  (away_from_zero(r, 3, 3) + 3 * np.eye(3), 1)], grad=False)
