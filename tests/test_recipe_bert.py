"""bert-mlm: the recipe's --quick run on tiny Shakespeare (the `shared_data` fixture), and its
unigram baselines."""
import json

import numpy as np

from nablagrad.data.tokenizers import WordTokenizer
from nablagrad.recipes import make_config
from nablagrad.recipes.bert_mlm import RECIPE, unigram_baselines


def test_unigram_baselines_count_selected_positions_only():
    tok = WordTokenizer.train("a a a b b c", min_freq=1)
    a, b, c = (tok.token_to_id(w) for w in "abc")
    train_ids = np.array([a, a, a, b, b, c])
    labels = np.array([[b, -100, b, c], [-100, a, -100, -100]])
    r = unigram_baselines(tok, train_ids, labels)
    assert r["unigram_top_token"] == "a"
    assert r["unigram_argmax_accuracy"] == 0.25                  # one of the four targets is a
    np.testing.assert_allclose(r["unigram_sample_accuracy"], (3 / 6) * 0.25 + (2 / 6) * 0.5
                               + (1 / 6) * 0.25)


def test_bert_mlm_quick(tmp_path, shared_data):
    cfg = make_config(RECIPE.config, RECIPE.quick, ["--quick", f"--out-dir={tmp_path}",
                                                    f"--data-root={shared_data}"])
    r = RECIPE.run(cfg)
    with open(tmp_path / "bert-mlm" / "results.json") as f:
        assert json.load(f)["val_masked_accuracy"] == r["val_masked_accuracy"]
    assert (tmp_path / "bert-mlm" / "tokenizer.json").exists()
    assert 0.0 <= r["val_masked_accuracy"] <= 1.0 and r["masked_tokens"] > 300
    assert 0.0 < r["unigram_sample_accuracy"] < r["unigram_argmax_accuracy"] < 0.3
    h = r["history"]
    assert len(h) == 2 and h[1]["val_loss"] < h[0]["val_loss"]
