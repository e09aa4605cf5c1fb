"""Recipe configs, the command line, and every recipe's --quick run (the real dataset)."""
import json
import os
from dataclasses import dataclass, fields

import numpy as np
import pytest

import nablagrad as ng
from nablagrad.cli import main
from nablagrad.recipes import RECIPES, RunConfig, get_recipe, make_config, parse_overrides

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
needs_data = pytest.mark.skipif(not os.path.exists(FASHION),
                                reason="dataset-fashion-mnist not installed")


@dataclass
class Demo(RunConfig):
    epochs: int = 3
    lr: float = 0.1
    widths: tuple[int, ...] = (8, 16)
    name: str = "x"
    limit: int | None = None


def test_overrides_are_typed_from_the_config():
    got = parse_overrides(Demo, ["--epochs=5", "--lr", "0.5", "--quick", "--widths=4,8,16",
                                 "--limit=none", "--data-root=/d", "--resume=false"])
    assert got == {"epochs": 5, "lr": 0.5, "quick": True, "widths": (4, 8, 16), "limit": None,
                   "data_root": "/d", "resume": False}
    assert parse_overrides(Demo, ["--limit=7"]) == {"limit": 7}


def test_bad_overrides_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"unknown option --epoch .*--epochs"):
        parse_overrides(Demo, ["--epoch=3"])
    with pytest.raises(ValueError, match="--epochs: expected int, got 'three'"):
        parse_overrides(Demo, ["--epochs=three"])
    with pytest.raises(ValueError, match="needs a value"):
        parse_overrides(Demo, ["--lr"])
    with pytest.raises(ValueError, match="--quick: expected true or false"):
        parse_overrides(Demo, ["--quick=maybe"])
    with pytest.raises(ValueError, match="unexpected argument"):
        parse_overrides(Demo, ["epochs=3"])


def test_quick_overrides_come_before_the_users():
    quick = {"epochs": 1, "lr": 0.01}
    assert make_config(Demo, quick, ["--quick", "--epochs=2"]) == Demo(quick=True, epochs=2,
                                                                       lr=0.01)
    assert make_config(Demo, quick, ["--epochs=2"]) == Demo(epochs=2)


@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_declares_a_config_and_a_quick_setting(name):
    recipe = get_recipe(name)
    assert recipe.name == name and issubclass(recipe.config, RunConfig)
    names = {f.name for f in fields(recipe.config)}
    assert set(recipe.quick) <= names
    recipe.config(**recipe.quick)   # the quick setting is a valid config


def test_cli_list_and_usage_errors(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in RECIPES)
    assert main(["train", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
    assert main(["train", "logreg", "--bogus=1"]) == 2
    assert "unknown option --bogus" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2
    assert main(["train", "mlp", "--help"]) == 0
    assert "--hidden=(512, 512)" in capsys.readouterr().out


def test_perceptron_converges_within_novikoffs_bound(tmp_path, capsys):
    assert main(["train", "perceptron", "--quick", f"--out-dir={tmp_path}"]) == 0
    with open(tmp_path / "perceptron" / "results.json") as f:
        r = json.load(f)
    assert r["converged"] and r["training_errors"] == 0
    assert 0 < r["updates"] <= r["novikoff_bound"]
    assert not r["xor_converged"]


def run_quick(name, tmp_path, *extra):
    assert main(["train", name, "--quick", f"--out-dir={tmp_path}", *extra]) == 0
    with open(tmp_path / name / "results.json") as f:
        return json.load(f)


@needs_data
@pytest.mark.parametrize("name", ["logreg", "mlp", "lenet", "cnn", "resnet", "densenet"])
def test_classifier_recipes_quick(name, tmp_path):
    epochs = 3 if name in ("logreg", "mlp") else 1
    r = run_quick(name, tmp_path, f"--epochs={epochs}")
    assert 0.0 <= r["test_accuracy"] <= 1.0 and r["epochs_run"] == epochs
    assert np.sum(r["confusion_matrix"]) == 500
    for png in ["curves.png", "confusion_matrix.png", "misclassified.png"]:
        assert (tmp_path / name / png).stat().st_size > 1000
    if name in ("logreg", "mlp"):   # 1,000 images, three epochs: far above chance (10%)
        assert r["test_accuracy"] > 0.6


@needs_data
def test_eval_reproduces_the_training_runs_test_accuracy(tmp_path, capsys):
    r = run_quick("mlp", tmp_path)
    capsys.readouterr()
    assert main(["eval", "mlp", "--quick", f"--out-dir={tmp_path}"]) == 0
    assert f"test accuracy {r['test_accuracy']:.2%}" in capsys.readouterr().out
    assert main(["eval", "mlp", "--quick", f"--out-dir={tmp_path / 'none'}"]) == 1


@needs_data
def test_cli_resume_matches_an_uninterrupted_run(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    run_quick("mlp", straight, "--epochs=3")
    assert main(["train", "mlp", "--quick", f"--out-dir={split}", "--epochs=3",
                 "--stop-after=2"]) == 0
    assert not (split / "mlp" / "results.json").exists()
    r = run_quick("mlp", split, "--epochs=3", "--resume")
    assert [h["epoch"] for h in r["history"]] == [1, 2, 3]
    a = ng.load(str(straight / "mlp" / "checkpoint.safetensors"))["model"]
    b = ng.load(str(split / "mlp" / "checkpoint.safetensors"))["model"]
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy(), err_msg=key)


@needs_data
def test_init_study_quick(tmp_path):
    assert main(["train", "init-study", "--quick", f"--out-dir={tmp_path}",
                 "--schemes=zeros;kaiming normal"]) == 0
    with open(tmp_path / "init-study" / "results.json") as f:
        summary = json.load(f)["summary"]
    # all-zero weights: every hidden unit stays identical, the net cannot beat chance by much
    assert summary["kaiming normal"]["test_accuracy"] > summary["zeros"]["test_accuracy"] + 0.2
    assert (tmp_path / "init-study" / "init_study_loss.png").exists()
