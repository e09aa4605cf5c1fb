"""vit: the recipe's --quick run on the real Fashion-MNIST (skipped when it is not installed)."""
import json
import os

import numpy as np
import pytest

from nablagrad.recipes import make_config
from nablagrad.recipes.vit import RECIPE

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist not installed")
def test_vit_quick(tmp_path):
    cfg = make_config(RECIPE.config, RECIPE.quick, ["--quick", f"--out-dir={tmp_path}",
                                                    "--epochs=2"])
    r = RECIPE.run(cfg)
    with open(tmp_path / "vit" / "results.json") as f:
        assert json.load(f)["test_accuracy"] == r["test_accuracy"]
    assert r["epochs_run"] == 2 and np.sum(r["confusion_matrix"]) == 500
    assert r["config"]["optimizer"] == "adamw" and r["config"]["patch_size"] == 7
    assert r["history"][1]["train_loss"] < r["history"][0]["train_loss"]
    assert r["test_accuracy"] > 0.3              # 1,000 images, two epochs: far above chance
