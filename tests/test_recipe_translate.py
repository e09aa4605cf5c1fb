"""transformer-translate: the model's masks and decoding, and the recipe's --quick run."""
import json

import numpy as np

import nablagrad as ng
from nablagrad.models.sequence import TransformerSeq2Seq
from nablagrad.recipes import make_config
from nablagrad.recipes.transformer_translate import RECIPE


def small_model():
    ng.manual_seed(0)
    model = TransformerSeq2Seq(12, 12, d_model=16, nhead=2, num_encoder_layers=1,
                               num_decoder_layers=2, dim_feedforward=32, dropout=0.0).double()
    return model.eval()


def test_decoder_is_causal_and_ignores_source_padding():
    model = small_model()
    src = ng.tensor([[5, 6, 7, 8, 0, 0], [9, 4, 5, 6, 7, 8]])
    tgt = ng.tensor([[1, 3, 4, 5], [1, 6, 7, 8]])
    out = model(src, tgt).detach().numpy()
    changed = tgt.clone()
    changed[:, 3] = 9                                   # a later target token
    np.testing.assert_allclose(model(src, changed).detach().numpy()[:, :3], out[:, :3],
                               atol=1e-12)
    assert not np.allclose(model(src, changed).detach().numpy()[:, 3], out[:, 3])
    alone = model(src[:1, :4], tgt[:1]).detach().numpy()  # row 0 without its padding
    np.testing.assert_allclose(alone[0], out[0], atol=1e-12)


def test_beam_of_one_is_greedy():
    model = small_model()
    src = ng.tensor(np.random.default_rng(0).integers(3, 12, size=(5, 7)))
    greedy = model.greedy(src, max_len=6).numpy()
    beam = model.beam_search(src, beam_size=1, max_len=6, alpha=0.0).tokens
    for row, hyp in zip(greedy, beam):
        ids = [int(i) for i in row if i != 0]
        assert ids == hyp


def test_transformer_translate_quick(tmp_path):
    cfg = make_config(RECIPE.config, RECIPE.quick, ["--quick", f"--out-dir={tmp_path}"])
    r = RECIPE.run(cfg)
    with open(tmp_path / "transformer-translate" / "results.json") as f:
        saved = json.load(f)
    assert saved["test_exact_greedy"] == r["test_exact_greedy"]
    assert 0.0 <= r["test_exact_greedy"] <= 1.0 and 0.0 <= r["test_exact_beam"] <= 1.0
    h = r["history"]
    assert len(h) == 2 and h[1]["train_loss"] < h[0]["train_loss"]
    assert r["test_size"] == 64 and len(r["examples"]) == 8
