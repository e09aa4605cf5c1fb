"""Devices and array backends: NumPy on cpu; CuPy on cuda when present (GPU tests skip without)."""
import numpy as np
import pytest

import nablagrad as ng
from nablagrad import backend


def test_cpu_is_numpy():
    t = ng.ones(2, 3)
    assert t.device == ng.device("cpu") and t.device.type == "cpu"
    assert isinstance(t._data, np.ndarray)
    assert backend.xp_of(t._data) is np


def test_device_parsing():
    assert str(ng.device("cuda:1")) == "cuda:1"
    assert ng.device("cuda").index == 0
    assert ng.device("cpu") == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        ng.device("tpu")


@pytest.mark.skipif(backend.cuda_available(), reason="CuPy and a GPU are present")
def test_cuda_without_cupy_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CuPy"):
        ng.zeros(3, device="cuda")
    with pytest.raises(RuntimeError, match="CuPy"):
        ng.ones(3).to("cuda")


@pytest.mark.gpu
def test_cuda_forward_backward_matches_cpu():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    results = []
    for dev in ("cpu", "cuda"):
        x = ng.tensor(a, device=dev, requires_grad=True)
        w = ng.tensor(b, device=dev, requires_grad=True)
        y = ((x @ w).exp() * 0.5).sum()
        y.backward()
        assert x.grad.device.type == dev
        results.append((y.item(), x.grad.cpu().numpy(), w.grad.cpu().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-10)


@pytest.mark.gpu
def test_cuda_to_cpu_gradient_flows_back():
    x = ng.ones(3, requires_grad=True)
    y = x.to("cuda") * 2
    y.cpu().sum().backward()
    assert x.grad.device.type == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


@pytest.mark.gpu
def test_mixing_devices_is_a_clear_error():
    with pytest.raises(RuntimeError, match="same device"):
        ng.ones(3) + ng.ones(3, device="cuda")
