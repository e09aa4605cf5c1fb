"""The README's main job, in its quick form."""
import os
import subprocess
import sys

import pytest

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist not installed")
def test_demo_quick_trains_to_a_useful_accuracy():
    out = subprocess.run([sys.executable, "-m", "nablagrad", "demo", "--quick", "--epochs", "2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    acc = float(last.rsplit(" ", 1)[1].rstrip("%"))
    assert acc > 75.0, out.stdout  # 6,000 training images, 2 epochs: well above chance (10%)
