"""The rnn-classify recipe: --quick runs of the toy tasks and of sequential Fashion-MNIST (when
the dataset is installed), results and evaluation of the saved weights, option errors."""
import json
import os

import pytest

from nablagrad.recipes import make_config
from nablagrad.recipes.rnn_classify import RECIPE

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
needs_fashion = pytest.mark.skipif(not os.path.exists(FASHION),
                                   reason="dataset-fashion-mnist not installed")


def _config(tmp_path, *extra):
    return make_config(RECIPE.config, RECIPE.quick,
                       ["--quick", f"--out-dir={tmp_path}", *extra])


@pytest.mark.parametrize("task,rnn", [("count-zeros", "gru"), ("sentiment", "lstm")])
def test_toy_task_quick_run_and_evaluate(tmp_path, task, rnn):
    cfg = _config(tmp_path, f"--task={task}", f"--rnn={rnn}", "--epochs=2")
    results = RECIPE.run(cfg)
    with open(tmp_path / "rnn-classify" / task / "results.json") as f:
        saved = json.load(f)
    assert saved["task"] == task and saved["rnn"] == rnn and saved["epochs_run"] == 2
    assert 0.0 <= saved["test_accuracy"] <= 1.0
    assert saved["history"][1]["train_loss"] < saved["history"][0]["train_loss"]
    again = RECIPE.evaluate(cfg)
    assert again["test_accuracy"] == pytest.approx(results["test_accuracy"])


@needs_fashion
def test_sequential_fashion_mnist_quick_run(tmp_path):
    cfg = _config(tmp_path, "--rnn=lstm")
    results = RECIPE.run(cfg)
    assert os.path.exists(tmp_path / "rnn-classify" / "fashion-mnist" / "results.json")
    assert results["test_accuracy"] > 0.2          # 10 classes: chance is 0.1
    assert RECIPE.evaluate(cfg)["test_accuracy"] == pytest.approx(results["test_accuracy"])


def test_unknown_task_or_rnn_says_what_is_valid(tmp_path):
    with pytest.raises(ValueError, match="--task: expected one of fashion-mnist, count-zeros"):
        RECIPE.run(_config(tmp_path, "--task=parity"))
    with pytest.raises(ValueError, match="rnn must be one of rnn, gru, lstm"):
        RECIPE.run(_config(tmp_path, "--task=sentiment", "--rnn=tcn"))
