"""Graph hygiene: a training loop does not leak, backward frees what forward saved, and very deep
graphs back-propagate without recursion."""
import gc
import time
import tracemalloc
import weakref

import numpy as np
import pytest

import nablagrad as ng
from nablagrad.autograd.graph import Op


def count_ops():
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), Op))


def tanh(z):
    """ng.tanh when it exists, else tanh(z) = 2 / (1 + e^(-2z)) - 1 from existing ops."""
    fn = getattr(ng, "tanh", None)
    return fn(z) if fn is not None else 2 / ((z * -2).exp() + 1) - 1


def test_training_loop_does_not_grow_memory():
    rng = np.random.default_rng(0)
    x = ng.tensor(rng.normal(size=(64, 16)), dtype=ng.float32)
    y = ng.tensor(np.sin(rng.normal(size=(64, 1))), dtype=ng.float32)
    params = [ng.tensor(rng.normal(size=(16, 32)) * 0.25, dtype=ng.float32, requires_grad=True),
              ng.zeros(32, requires_grad=True),
              ng.tensor(rng.normal(size=(32, 1)) * 0.25, dtype=ng.float32, requires_grad=True),
              ng.zeros(1, requires_grad=True)]
    w1, b1, w2, b2 = params
    lr = 0.05
    losses = []
    tracemalloc.start()
    try:
        for step in range(1, 1001):
            h = tanh(x @ w1 + b1)
            pred = h @ w2 + b2
            err = pred - y
            loss = (err * err).sum() / x.shape[0]
            loss.backward()
            with ng.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None
            losses.append(loss.item())
            if step == 100:
                del h, pred, err, loss
                ops_early = count_ops()
                mem_early = tracemalloc.get_traced_memory()[0]
        del h, pred, err, loss
        ops_late = count_ops()
        mem_late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert losses[-1] < 0.5 * losses[0]  # it trains: the loop is a real one
    assert ops_late <= ops_early, f"{ops_late - ops_early} graph nodes accumulated"
    growth = mem_late - mem_early - 900 * 8 * 4  # minus the losses list (900 floats + slots)
    assert growth < 1_000_000, f"traced memory grew by {growth / 1e6:.2f} MB over 900 steps"


def test_backward_frees_saved_tensors():
    gc.disable()  # freed by reference counting alone: the graph holds no reference cycles
    try:
        x = ng.randn(1000, requires_grad=True)
        a = x * 3
        ref = weakref.ref(a)
        b = a * a  # Mul saves a
        loss = b.sum()
        node = weakref.ref(b.grad_fn)
        del a, b
        assert ref() is not None  # kept alive by the graph for backward
        loss.backward()
        assert ref() is None, "the saved intermediate outlived backward"
        del loss
        assert node() is None, "graph nodes outlived the output"
    finally:
        gc.enable()
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.detach().numpy(), rtol=1e-6)


def test_retain_graph_keeps_saved_tensors_until_released():
    x = ng.randn(10, requires_grad=True)
    a = x.exp()
    ref = weakref.ref(a)
    loss = (a * a).sum()
    del a
    loss.backward(retain_graph=True)
    assert ref() is not None
    loss.backward()  # second pass works, then frees
    assert ref() is None
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp(2 * x.detach().numpy()), rtol=1e-5)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def deep_chain(n):
    """y = ((x + 1)·1 + 1)·1 ... with n ops (half of them save their inputs)."""
    x = ng.ones(4, requires_grad=True)
    y = x
    for i in range(n // 2):
        y = y + 1.0
        y = y * 1.0
    return x, y


def check_deep_chain(n):
    x, y = deep_chain(n)
    np.testing.assert_array_equal(y.detach().numpy(), 1 + n // 2)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 1.0)
    del y  # freeing the chain must not overflow the stack either


def test_deep_chain_20k_ops():
    check_deep_chain(20_000)


@pytest.mark.slow
def test_deep_chain_100k_ops():
    start = time.perf_counter()
    check_deep_chain(100_000)
    assert time.perf_counter() - start < 120
