"""Linear algebra behaviour beyond the generated op tests: errors, in-place variants, return
types, tolerances, sub-gradients, and gradients that PyTorch itself cannot compute."""
import math

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.linalg  # noqa: F401  (ng.linalg)
from nablagrad.autograd import engine, gradcheck, gradgradcheck


def _np(x):
    return x.detach().numpy()


def pair(a, requires_grad=False):
    a = np.asarray(a, dtype=np.float64)
    return (ng.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def close(a, b, **kw):
    np.testing.assert_allclose(_np(a), b.detach().numpy(), **({"rtol": 1e-9, "atol": 1e-12} | kw))


R = np.random.default_rng(0)


# ----------------------------------------------------------------------------- products
def test_weight_gradient_of_batched_product_needs_no_broadcast_reduction(monkeypatch):
    """(B, M, K) @ (K, N): the (K, N) gradient is one GEMM, never a (B, K, N) array summed."""
    reduced = []
    original = engine._sum_to_shape
    def recording(g, shape):
        reduced.append((tuple(g.shape), shape))
        return original(g, shape)

    monkeypatch.setattr(engine, "_sum_to_shape", recording)
    a, ta = pair(R.standard_normal((4, 3, 5)), True)
    b, tb = pair(R.standard_normal((5, 2)), True)
    (a @ b).sum().backward()
    (ta @ tb).sum().backward()
    assert reduced == []
    close(b.grad, tb.grad)
    # and the mirrored case: a shared left matrix
    c, tc = pair(R.standard_normal((3, 5)), True)
    d, td = pair(R.standard_normal((4, 5, 2)), True)
    (c @ d).sum().backward()
    (tc @ td).sum().backward()
    assert reduced == []
    close(c.grad, tc.grad)


def test_product_errors_name_op_and_shapes():
    a = ng.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"matmul.*\[2, 3\].*\[2, 3\]"):
        a @ a
    with pytest.raises(RuntimeError, match="same dtype.*float32.*float64"):
        a @ ng.ones(3, 2, dtype=ng.float64)
    with pytest.raises(RuntimeError, match=r"matmul \(batch dimensions\).*\[2\].*\[3\]"):
        ng.ones(2, 2, 3) @ ng.ones(3, 3, 2)
    with pytest.raises(RuntimeError, match="mm: .*2D"):
        ng.mm(ng.ones(2, 3, 4), ng.ones(4, 2))
    with pytest.raises(RuntimeError, match="bmm: batch sizes"):
        ng.bmm(ng.ones(2, 3, 4), ng.ones(3, 4, 2))
    with pytest.raises(RuntimeError, match="dot: inconsistent"):
        ng.dot(ng.ones(3), ng.ones(4))
    with pytest.raises(RuntimeError, match="tensordot: contracted dimensions"):
        ng.tensordot(ng.ones(2, 3), ng.ones(2, 3), 1)
    with pytest.raises(RuntimeError, match="multi_dot.*at least 2"):
        ng.linalg.multi_dot([ng.ones(2, 2)])
    with pytest.raises(RuntimeError, match=r"addmm: .*\[4, 4\]"):
        ng.addmm(ng.ones(4, 4), ng.ones(2, 3), ng.ones(3, 2))


def test_addmm_inplace_and_beta_zero_ignores_nan():
    c, tc = pair(R.standard_normal((3, 2)))
    a, ta = pair(R.standard_normal((3, 4)))
    b, tb = pair(R.standard_normal((4, 2)))
    ptr = c.data_ptr()
    out = c.addmm_(a, b, beta=0.5, alpha=2.0)
    tc.addmm_(ta, tb, beta=0.5, alpha=2.0)
    assert out is c and c.data_ptr() == ptr
    close(c, tc)
    nan, tnan = pair(np.full((3, 2), np.nan), True)
    y, ty = ng.addmm(nan, a, b, beta=0), torch.addmm(tnan, ta, tb, beta=0)
    close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    close(nan.grad, tnan.grad)


def test_matrix_power_zero_and_chain_matmul_single():
    a, ta = pair(R.standard_normal((2, 3, 3)))
    close(ng.linalg.matrix_power(a, 0), torch.linalg.matrix_power(ta, 0))
    assert ng.chain_matmul(a[0]) is not None
    close(ng.chain_matmul(a[0]), ta[0])


def test_cross_default_dim_is_first_of_size_3():
    a, ta = pair(R.standard_normal((3, 3, 2)))
    b, tb = pair(R.standard_normal((3, 3, 2)))
    close(ng.cross(a, b), torch.cross(ta, tb, dim=0))
    with pytest.raises(RuntimeError, match="cross: .*length 3"):
        ng.cross(ng.ones(4, 2), ng.ones(4, 2), dim=1)


# ----------------------------------------------------------------------------- einsum
@pytest.mark.parametrize("eq,shapes", [("Ba,aC", [(2, 3), (3, 4)]), ("abc->cba", [(2, 3, 4)]),
                                       ("...ii->...", [(2, 3, 3)]), ("i,i,i->i", [(3,)] * 3),
                                       ("bij->ij", [(1, 2, 3)])])
def test_einsum_more_equations(eq, shapes):
    arrays = [R.standard_normal(s) for s in shapes]
    ours = ng.einsum(eq, *[ng.tensor(x) for x in arrays])
    theirs = torch.einsum(eq, *[torch.tensor(x) for x in arrays])
    close(ours, theirs)


def test_einsum_sublist_form_and_owned_memory():
    a, ta = pair(R.standard_normal((2, 3)))
    b, tb = pair(R.standard_normal((3, 4)))
    close(ng.einsum(a, [0, 1], b, [1, 2], [0, 2]), torch.einsum(ta, [0, 1], tb, [1, 2], [0, 2]))
    t = ng.einsum("ij->ji", a)
    t.add_(1.0)
    close(a, ta)  # the transpose was a new array, not a view of a


def test_einsum_errors():
    with pytest.raises(ValueError, match="operand 0"):
        ng.einsum("ij", ng.ones(2, 3, 4))
    with pytest.raises(ValueError, match="'k' does not appear"):
        ng.einsum("ij->k", ng.ones(2, 3))
    with pytest.raises(RuntimeError, match="do not broadcast.*'j'"):
        ng.einsum("ij,jk", ng.ones(2, 3), ng.ones(4, 2))
    with pytest.raises(ValueError, match="2 operands"):
        ng.einsum("ij,jk", ng.ones(2, 3))


# ----------------------------------------------------------------------------- cdist, norms
@pytest.mark.parametrize("p,rows", [(2.0, 3), (2.0, 27), (3.0, 3), (1.5, 2)])
def test_cdist_second_derivatives(p, rows):
    """PyTorch has no double backward for cdist: finite differences are the reference."""
    x1 = ng.tensor(R.standard_normal((rows, 2)), requires_grad=True)
    x2 = ng.tensor(R.standard_normal((3, 2)), requires_grad=True)
    assert gradgradcheck(lambda a, b: ng.cdist(a, b, p), (x1, x2))


def test_cdist_gradient_at_zero_distance_is_zero():
    x, tx = pair([[1.0, 2.0], [0.0, 1.0]], True)
    d, td = ng.cdist(x, x.detach()), torch.cdist(tx, tx.detach())
    d.sum().backward()
    td.sum().backward()
    close(x.grad, tx.grad)


def test_inf_norm_ties_share_the_gradient_like_torch():
    x, tx = pair([[1.0, -2.0, 2.0], [0.5, 0.5, -0.5]], True)
    for o in (math.inf, -math.inf):
        x.grad = tx.grad = None
        ng.linalg.vector_norm(x, o, dim=1).sum().backward()
        torch.linalg.vector_norm(tx, o, dim=1).sum().backward()
        close(x.grad, tx.grad)
    x.grad = tx.grad = None
    ng.linalg.matrix_norm(x, 1).backward()
    torch.linalg.matrix_norm(tx, 1).backward()
    close(x.grad, tx.grad)


def test_norm_dtypes_and_errors():
    x, tx = pair(R.standard_normal((3, 4)))
    y = ng.linalg.vector_norm(x.float(), dtype=ng.float64)
    assert y.dtype == ng.float64
    close(y, torch.linalg.vector_norm(tx.float(), dtype=torch.float64))
    with pytest.raises(RuntimeError, match="vector_norm: .*without narrowing"):
        ng.linalg.vector_norm(x, dtype=ng.float32)
    with pytest.raises(RuntimeError, match="vector_norm: expected a floating point"):
        ng.linalg.vector_norm(ng.arange(3))
    with pytest.raises(RuntimeError, match="matrix_norm: order 3"):
        ng.linalg.matrix_norm(x, 3)
    with pytest.raises(RuntimeError, match="linalg.norm"):
        ng.linalg.norm(ng.ones(2, 2, 2), 1)


@pytest.mark.parametrize("p", ["fro", 1, math.inf, "nuc"])
def test_cond_gradients_by_finite_differences(p):
    """torch's backward of cond(A, p) for these p fails (an in-place error inside inv)."""
    a = R.standard_normal((3, 3)) + 3 * np.eye(3)
    A = ng.tensor(a, requires_grad=True)
    assert gradcheck(lambda m: ng.linalg.cond(m, p), (A,))
    close(ng.linalg.cond(A, p), torch.linalg.cond(torch.tensor(a), p))


# ----------------------------------------------------------------------------- decompositions
def test_singular_and_indefinite_inputs_raise_linalg_error():
    assert issubclass(ng.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ng.linalg.LinAlgError, match="linalg.inv"):
        ng.linalg.inv(ng.zeros(2, 2))
    with pytest.raises(ng.linalg.LinAlgError, match="linalg.cholesky"):
        ng.linalg.cholesky(-ng.eye(2))
    with pytest.raises(RuntimeError, match="linalg.det: expected a floating point"):
        ng.linalg.det(ng.ones(2, 2, dtype=ng.int64))
    with pytest.raises(RuntimeError, match="square matrices.*2 by 3"):
        ng.linalg.inv(ng.ones(2, 3))


def test_cholesky_ex_reports_the_failing_minor():
    a, ta = pair([[[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.eye(3)])
    L, info = ng.linalg.cholesky_ex(a)
    tL, tinfo = torch.linalg.cholesky_ex(ta)
    np.testing.assert_array_equal(_np(info), tinfo.numpy())
    assert info.dtype == ng.int32
    close(L[1], tL[1])
    U, info = ng.linalg.cholesky_ex(a, upper=True)
    close(U[1], torch.linalg.cholesky_ex(ta, upper=True).L[1])
    with pytest.raises(ng.linalg.LinAlgError):
        ng.linalg.cholesky_ex(a, check_errors=True)


def test_named_results():
    a, ta = pair(R.standard_normal((3, 3)) + 3 * np.eye(3))
    s = ng.linalg.slogdet(a)
    close(s.sign, torch.linalg.slogdet(ta).sign)
    close(s.logabsdet, torch.linalg.slogdet(ta).logabsdet)
    sym = a + a.mT
    assert ng.linalg.eigh(sym).eigenvalues.shape == (3,)
    close(ng.linalg.eigvalsh(sym), torch.linalg.eigvalsh(ta + ta.mT))
    assert ng.linalg.qr(a).Q.shape == (3, 3)
    assert ng.linalg.svd(a).Vh.shape == (3, 3)
    sol, clone = ng.triangular_solve(ng.ones(3, 1, dtype=ng.float64), a.triu())
    tsol, _ = torch.triangular_solve(torch.ones(3, 1, dtype=torch.float64), ta.triu())
    close(sol, tsol)
    close(clone, ta.triu())
    inv, info = ng.linalg.inv_ex(a)
    close(inv, torch.linalg.inv(ta))
    assert info.dtype == ng.int32 and int(info) == 0


def test_logdet_of_negative_determinant_is_nan():
    a, ta = pair(-np.eye(3))
    assert math.isnan(ng.logdet(a).item()) and math.isnan(torch.logdet(ta).item())


def test_torch_svd_without_uv_and_full_matrices_gradient_rules():
    a, ta = pair(R.standard_normal((2, 4, 3)))
    ours, theirs = ng.svd(a, compute_uv=False), torch.svd(ta, compute_uv=False)
    for o, t in zip(ours, theirs):
        close(o, t, atol=1e-12)
    b = ng.tensor(R.standard_normal((4, 2)), requires_grad=True)
    U, S, Vh = ng.linalg.svd(b, full_matrices=True)
    S.sum().backward(retain_graph=True)  # only the singular values: fine
    close(b.grad, torch.linalg.svd(torch.tensor(_np(b)), full_matrices=False)[0]
          @ torch.linalg.svd(torch.tensor(_np(b)), full_matrices=False)[2])
    with pytest.raises(RuntimeError, match="full_matrices=True"):
        U[:, 3].sum().backward()


def test_qr_modes():
    a, ta = pair(R.standard_normal((4, 3)))
    Q, Rm = ng.linalg.qr(a, "r")
    assert Q.numel() == 0
    close(Rm, torch.linalg.qr(ta, "r")[1])
    x = ng.tensor(R.standard_normal((4, 2)), requires_grad=True)
    Q, Rm = ng.linalg.qr(x, "complete")
    with pytest.raises(RuntimeError, match="complete.*m > n"):
        (Q.sum() + Rm.sum()).backward()


def test_solve_vector_rule_and_errors():
    a, ta = pair(R.standard_normal((2, 3, 3)) + 3 * np.eye(3))
    b, tb = pair(R.standard_normal((2, 3)))
    close(ng.linalg.solve(a, b), torch.linalg.solve(ta, tb))
    assert ng.linalg.solve(a, b).shape == (2, 3)
    with pytest.raises(RuntimeError, match="linalg.solve: incompatible shapes"):
        ng.linalg.solve(a[0], ng.ones(2, 2, dtype=ng.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        ng.linalg.solve(a, ng.ones(2, 3))
    x, info = ng.linalg.solve_ex(a, b)
    close(x, torch.linalg.solve(ta, tb))
    assert info.shape == (2,) and info.dtype == ng.int32


def test_lstsq_outputs_follow_the_driver():
    a, ta = pair(R.standard_normal((5, 3)))
    b, tb = pair(R.standard_normal((5, 2)))
    for driver in (None, "gelsy", "gelsd", "gelss", "gels"):
        ours = ng.linalg.lstsq(a, b, driver=driver)
        theirs = torch.linalg.lstsq(ta, tb, driver=driver)
        for field in ("solution", "residuals", "rank", "singular_values"):
            o, t = getattr(ours, field), getattr(theirs, field)
            assert tuple(o.shape) == tuple(t.shape), (driver, field)
            if t.numel():
                close(o, t, rtol=1e-8, atol=1e-10)
    close(ng.linalg.lstsq(a, b[:, 0]).solution, torch.linalg.lstsq(ta, tb[:, 0]).solution)


def test_rank_and_pinv_tolerances():
    low = R.standard_normal((4, 2)) @ R.standard_normal((2, 4)) + 1e-9 * R.standard_normal((4, 4))
    a, ta = pair(low)
    for kw in ({}, {"atol": 1e-6}, {"rtol": 1e-12}, {"atol": 0.5, "rtol": 0.1}):
        assert int(ng.linalg.matrix_rank(a, **kw)) == int(torch.linalg.matrix_rank(ta, **kw)), kw
    close(ng.linalg.pinv(a, rtol=1e-6), torch.linalg.pinv(ta, rtol=1e-6), rtol=1e-7, atol=1e-9)
    close(ng.linalg.pinv(a, hermitian=False, atol=1e-6), torch.linalg.pinv(ta, atol=1e-6),
          rtol=1e-7, atol=1e-9)
    assert ng.linalg.matrix_rank(a).dtype == ng.int64


def test_linalg_namespace_helpers():
    a, ta = pair(R.standard_normal((2, 3, 3)))
    close(ng.linalg.diagonal(a), torch.linalg.diagonal(ta))
    close(ng.linalg.vecdot(a, a[0]), torch.linalg.vecdot(ta, ta[0]))
    close(ng.linalg.norm(a), torch.linalg.norm(ta))
    spd = a[0] @ a[0].mT + ng.eye(3, dtype=ng.float64)
    tspd = ta[0] @ ta[0].mT + torch.eye(3, dtype=torch.float64)
    close(ng.cholesky_inverse(ng.linalg.cholesky(spd)),
          torch.cholesky_inverse(torch.linalg.cholesky(tspd)))
