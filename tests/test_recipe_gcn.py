"""The gcn recipe's --quick run on the real Cora files: it trains, beats the majority class
clearly, writes results.json (and the curves when matplotlib is there)."""
import json
import os

import pytest

from nablagrad.recipes import make_config
from nablagrad.recipes.gcn import RECIPE


@pytest.mark.parametrize("model", ["gcn", "gat"])
def test_quick_recipe_trains_on_cora(shared_data, tmp_path, model):
    cfg = make_config(RECIPE.config, RECIPE.quick,
                      ["--quick", f"--model={model}", f"--data-root={shared_data}",
                       f"--out-dir={tmp_path}"])
    results = RECIPE.run(cfg)
    assert results["model"] == model and results["seeds"] == 1
    assert results["test_accuracy"] > 0.5  # majority class: 31.9% of the test nodes
    assert results["history"][0]["epoch"] == 1 and len(results["history"]) <= 15
    name = "results.json" if model == "gcn" else f"results_{model}.json"
    with open(os.path.join(tmp_path, "gcn", name)) as f:
        assert json.load(f)["test_accuracy"] == results["test_accuracy"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert os.path.isfile(os.path.join(tmp_path, "gcn", f"curves_{model}.png"))


def test_unknown_model_is_refused(shared_data, tmp_path):
    cfg = make_config(RECIPE.config, RECIPE.quick, ["--quick", "--model=mlp",
                                                    f"--out-dir={tmp_path}"])
    with pytest.raises(ValueError, match="unknown --model='mlp'; choose one of"):
        RECIPE.run(cfg)
