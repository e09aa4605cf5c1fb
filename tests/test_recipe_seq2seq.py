"""The seq2seq-attention recipe's --quick run: trains, decodes the held-out test set greedily and by
beam search, and writes results.json, the best weights and attention-map PNGs."""
import json
import os

import pytest

from nablagrad.recipes import make_config
from nablagrad.recipes.seq2seq_attention import RECIPE, evaluate


@pytest.mark.parametrize("options", [["--task=dates"],
                                     ["--task=sort", "--attention=luong", "--rnn=lstm"]])
def test_quick_run_writes_results_and_plots(tmp_path, options):
    cfg = make_config(RECIPE.config, RECIPE.quick,
                      ["--quick", f"--out-dir={tmp_path}", "--epochs=1", "--plots=1"] + options)
    results = RECIPE.run(cfg)
    out = tmp_path / "seq2seq-attention"
    saved = json.loads((out / "results.json").read_text())
    assert saved["test_exact_greedy"] == results["test_exact_greedy"]
    for key in ("test_exact_greedy", "test_exact_beam"):
        assert 0.0 <= results[key] <= 1.0
    assert results["test_size"] == cfg.n_test and len(results["history"]) == 1
    assert results["config"]["task"] == cfg.task and results["beam"] == cfg.beam
    assert all(e["target"] for e in results["examples"])
    assert (out / "best.safetensors").exists()
    pytest.importorskip("matplotlib")
    assert [os.path.basename(p) for p in results["plots"]] == ["attention_0.png"]
    assert (out / "attention_0.png").stat().st_size > 0
    again = evaluate(cfg)                         # reload the saved weights: the same numbers
    assert again["test_exact_greedy"] == results["test_exact_greedy"]
    assert again["test_exact_beam"] == results["test_exact_beam"]


def test_unknown_task_is_an_error(tmp_path):
    cfg = make_config(RECIPE.config, RECIPE.quick,
                      ["--quick", f"--out-dir={tmp_path}", "--task=translate"])
    with pytest.raises(ValueError, match="unknown task"):
        RECIPE.run(cfg)
