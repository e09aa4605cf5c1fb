"""The README's main job, in its quick form, as a user would type it."""
import os
import subprocess
import sys

import pytest

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist not installed")
def test_main_job_quick(tmp_path):
    out = subprocess.run([sys.executable, "-m", "nablagrad", "train", "cnn", "--quick",
                          f"--out-dir={tmp_path}"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("cnn: test accuracy ") and "official test images" in last
    assert (tmp_path / "cnn" / "best.safetensors").exists()
