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


os.environ.setdefault("OMP_NUM_THREADS", "2")
