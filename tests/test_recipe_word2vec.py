"""The word2vec recipe's --quick run on tiny Shakespeare: it trains, answers queries, and its
vectors beat random ones on the co-occurrence similarity probe."""
import json
import os

import numpy as np
import pytest

from nablagrad.data.tokenizers import load_tokenizer
from nablagrad.recipes import make_config
from nablagrad.recipes.word2vec import RECIPE, ppmi_rows


def test_quick_run_beats_random_embeddings(shared_data, tmp_path, capsys):
    cfg = make_config(RECIPE.config, RECIPE.quick,
                      ["--quick", f"--data-root={shared_data}", f"--out-dir={tmp_path}"])
    results = RECIPE.run(cfg)
    out = tmp_path / "word2vec"
    assert json.loads((out / "results.json").read_text()) == results
    assert results["spearman"]["trained"] > results["spearman"]["random"] + 0.15
    assert abs(results["spearman"]["random"]) < 0.1
    assert results["spearman"]["trained_held_out_ppmi"] > 0.1
    assert results["loss_per_epoch"][0] < 4.2          # from (1 + k)·log 2 = 4.16 at the start
    assert set(results["neighbours"]) >= {"king", "love", "death", "good", "lord"}
    assert all(len(v) == 8 for v in results["neighbours"].values())
    assert "king - man + woman" in results["analogies"]
    tok = load_tokenizer(out / "tokenizer.json")
    assert tok.vocab_size == results["vocab_size"] and tok.encode("the king") != [tok.unk_id] * 2
    assert os.path.exists(out / "word2vec.safetensors")
    assert "similarity probe" in capsys.readouterr().out


@pytest.mark.parametrize("options", [["--model=cbow", "--batch-size=256", "--lr=0.01"],
                                     ["--loss=softmax", "--lr=0.01"],
                                     ["--optimizer=sgd", "--lr=0.025", "--max-words=5000"]])
def test_quick_variants_run(shared_data, tmp_path, options):
    cfg = make_config(RECIPE.config, RECIPE.quick,
                      ["--quick", f"--data-root={shared_data}", f"--out-dir={tmp_path}",
                       "--max-words=15000", "--probe-words=60", *options])
    results = RECIPE.run(cfg)
    assert np.isfinite(results["loss_per_epoch"]).all()
    if cfg.optimizer == "adam":  # SGD needs many more steps than a quick run to learn
        assert results["spearman"]["trained"] > results["spearman"]["random"] + 0.05


def test_ppmi_of_a_tiny_stream():
    # stream a b a c, window 1: pairs (a,b) (b,a) (b,a) (a,b) (a,c) (c,a)
    rows = ppmi_rows(np.array([0, 1, 0, 2]), np.array([0, 1]), 3, 1)
    total, marg = 6, np.array([3, 2, 1])
    want = np.array([[0, np.log(2 * total / (3 * 2)), np.log(1 * total / (3 * 1))],
                     [np.log(2 * total / (2 * 3)), 0, 0]])
    np.testing.assert_allclose(rows, np.maximum(want, 0))
    assert marg.sum() == total


def test_bad_options_are_named(shared_data, tmp_path):
    cfg = make_config(RECIPE.config, RECIPE.quick, ["--quick", "--model=glove",
                                                    f"--out-dir={tmp_path}"])
    with pytest.raises(ValueError, match="--model must be skipgram or cbow"):
        RECIPE.run(cfg)
