import os

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="run slow convergence/stress tests")


def pytest_collection_modifyitems(config, items):
    gpu = False
    try:
        import nablagrad.backend as b
        gpu = b.cuda_available()
    except Exception:
        pass
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    skip_gpu = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not gpu:
            item.add_marker(skip_gpu)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# `pytest -n 2` runs two workers on the 2-core machines: one thread each (nablagrad's pool and
# BLAS), since more threads than cores slow BLAS down many times over.
os.environ.setdefault("NABLAGRAD_NUM_THREADS", "1")

# Datasets that no registry carries (tiny Shakespeare, Cora) lie in ../shared/data beside the
# repository (its README); the library never assumes that path, the tests point it there.
SHARED_DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")


@pytest.fixture
def shared_data():
    """The folder holding tinyshakespeare/ and cora/, or skip when this checkout has none."""
    root = os.environ.get("NABLAGRAD_DATA") or SHARED_DATA
    if not os.path.isdir(os.path.join(root, "tinyshakespeare")):
        pytest.skip(f"shared datasets not found in {os.path.abspath(root)}")
    return os.path.abspath(root)
