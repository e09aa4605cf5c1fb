"""The threaded CPU paths (backend.parallel_ufunc / parallel_chunks) give the results of the
single-threaded ones: identical for elementwise ops, within float rounding for reductions."""
import numpy as np
import pytest

import nablagrad as ng
import nablagrad.nn.functional as F
from nablagrad import backend

BIG = backend.PARALLEL_MIN_SIZE * 2  # above the threshold: the threaded path runs


@pytest.fixture(autouse=True)
def restore_threads():
    before = backend.get_num_threads()
    yield
    backend.set_num_threads(before)


def test_set_num_threads_limits_blas_too():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ng.set_num_threads(1)
    blas = threadpoolctl.threadpool_info()
    assert blas and all(p["num_threads"] == 1 for p in blas if p["user_api"] == "blas")
    assert ng.get_num_threads() == 1


@pytest.fixture
def threads():
    """Runs a function with 1 thread and with 3."""
    def both(fn):
        backend.set_num_threads(1)
        one = fn()
        backend.set_num_threads(3)
        return one, fn()
    return both


def data(*shape, seed=0, low=None):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.abs(a) + low if low is not None else a


def run(fn, *arrays, grad=None):
    """fn's output and the input gradients (for ``grad``, or of the sum), as arrays."""
    ts = [ng.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    y.backward(None if grad is None else ng.tensor(grad))
    return [y.detach().numpy()] + [t.grad.numpy() for t in ts]


def assert_same(one, many):
    for a, b in zip(one, many):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, fn, arity, low", [
    ("add", lambda a, b: a + b, 2, None), ("sub", lambda a, b: a - b, 2, None),
    ("mul", lambda a, b: a * b, 2, None), ("div", lambda a, b: a / b, 2, 0.5),
    ("add_scalar", lambda a: 2.5 + a, 1, None), ("neg", lambda a: -a, 1, None),
    ("exp", lambda a: a.exp(), 1, None), ("log", lambda a: a.log(), 1, 0.1),
    ("tanh", lambda a: a.tanh(), 1, None), ("sigmoid", lambda a: a.sigmoid(), 1, None),
    ("sqrt", lambda a: a.sqrt(), 1, 0.1), ("relu", lambda a: F.relu(a), 1, None),
])
def test_elementwise_identical(threads, name, fn, arity, low):
    arrays = [data(BIG, seed=i, low=low) for i in range(arity)]
    g = data(BIG, seed=9)
    assert_same(*threads(lambda: run(fn, *arrays, grad=g)))


def test_threaded_result_matches_numpy():
    backend.set_num_threads(2)
    a, b = data(3, BIG // 3 + 1, seed=1), data(3, BIG // 3 + 1, seed=2)
    out = backend.parallel_ufunc(np.add, a, b)
    np.testing.assert_array_equal(out, a + b)
    np.testing.assert_array_equal(backend.parallel_ufunc(np.exp, a), np.exp(a))
    assert backend.parallel_ufunc(np.greater, a, 0).dtype == np.bool_
    assert backend.parallel_ufunc(np.exp, np.arange(BIG)).dtype == np.float64


@pytest.mark.parametrize("case", ["transposed", "broadcast", "strided", "small", "overlap"])
def test_fallback_inputs(threads, case):
    """Non-contiguous, broadcast, small and overlapping operands take the single call."""
    m = data(1024, BIG // 1024, seed=3)
    a, b = {"transposed": (m.T, data(*m.T.shape, seed=4)),
            "broadcast": (m, data(m.shape[1], seed=4)),
            "strided": (m[:, ::2], data(m.shape[0], m.shape[1] // 2, seed=4)),
            "small": (m[:4], data(4, m.shape[1], seed=4)),
            "overlap": (m.reshape(-1)[1:], m.reshape(-1)[:-1])}[case]
    if case == "overlap":  # out overlaps an input with an offset: must not be split
        expected = a + b
        out = backend.parallel_ufunc(np.add, a, b, out=m.reshape(-1)[:-1])
        np.testing.assert_array_equal(out, expected)
        return
    np.testing.assert_array_equal(backend.parallel_ufunc(np.multiply, a, b), a * b)
    g = data(*np.broadcast_shapes(a.shape, b.shape), seed=5)
    assert_same(*threads(lambda: run(lambda x, y: x * y, a, b, grad=g)))


def test_inplace_out_same_memory():
    backend.set_num_threads(2)
    a, b = data(BIG, seed=5), data(BIG, seed=6)
    expected = a + b
    assert backend.parallel_ufunc(np.add, a, b, out=a) is a
    np.testing.assert_array_equal(a, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_all(threads, dtype, keepdim):
    a = (data(512, BIG // 512, seed=7) * 10).astype(dtype)
    one, many = threads(lambda: ng.tensor(a).sum(keepdim=keepdim).numpy())
    assert one.dtype == many.dtype and one.shape == many.shape
    exact = a.astype(np.float64).sum()
    np.testing.assert_allclose(many, exact, rtol=1e-6 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(many, one, rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_sum_backward(threads):
    a = data(BIG, seed=8)
    one, many = threads(lambda: run(lambda t: t.sum() * 2, a))
    np.testing.assert_allclose(many[0], one[0], rtol=1e-6)
    np.testing.assert_array_equal(many[1], one[1])


def test_layer_norm(threads):
    x, w, b = data(40, 50, 256, seed=1), data(256, seed=2), data(256, seed=3)
    g = data(40, 50, 256, seed=4)
    one, many = threads(lambda: run(lambda *t: F.layer_norm(t[0], (256,), t[1], t[2]),
                                    x, w, b, grad=g))
    for a, c in zip(one, many):
        np.testing.assert_allclose(c, a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.1}, {"reduction": "none"}])
def test_cross_entropy(threads, kwargs):
    x = data(1024, 700, seed=5)
    t = ng.tensor(np.random.default_rng(6).integers(0, 700, size=1024))

    def fn(a):
        loss = F.cross_entropy(a, t, **kwargs)
        return loss.sum() if loss.ndim else loss
    assert_same(*threads(lambda: run(fn, x)))


def test_set_num_threads():
    backend.set_num_threads(1)
    assert backend.get_num_threads() == 1
    assert backend.parallel_chunks(lambda i, j: (i, j), 10, unit=BIG) == [(0, 10)]
    backend.set_num_threads(3)
    assert backend.parallel_chunks(lambda i, j: (i, j), 10, unit=BIG) == [(0, 3), (3, 6), (6, 10)]
    assert backend.parallel_chunks(lambda i, j: (i, j), 10, unit=1) == [(0, 10)]  # too small
    with pytest.raises(ValueError, match="set_num_threads"):
        backend.set_num_threads(0)


def test_nested_calls_run_serially():
    """A split function that splits work again: the caller's part splits, a pool thread's
    part runs in one piece (it must never wait on its own pool)."""
    backend.set_num_threads(2)

    def inner(i, j):
        return backend.parallel_chunks(lambda k, m: m - k, 4, unit=BIG)
    assert backend.parallel_chunks(inner, 2, unit=BIG) == [[2, 2], [4]]
