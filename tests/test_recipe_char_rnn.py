"""The char-rnn recipe: validation streams score every character once, a --quick run on tiny
Shakespeare (results, best weights, evaluation, sampling), and --stop-after/--resume."""
import json

import numpy as np
import pytest

from nablagrad.recipes import make_config
from nablagrad.recipes.char_rnn import RECIPE, train_streams, validation_streams


@pytest.mark.parametrize("n,streams,warmup", [(100, 4, 10), (1001, 7, 13), (50, 32, 128),
                                              (5, 3, 2), (1000, 1, 128)])
def test_validation_streams_predict_every_character_once(n, streams, warmup):
    ids = np.arange(n) + 5                   # distinct: a value names its position
    inputs, targets, scored = validation_streams(ids, streams, warmup)
    assert inputs.shape == targets.shape == scored.shape
    assert sorted(targets[scored].tolist()) == sorted(ids[1:].tolist())
    position = {v: i for i, v in enumerate(ids)}
    assert all(position[t] == position[x] + 1 for x, t in zip(inputs[scored], targets[scored]))
    # every stream after the first reads `warmup` unscored characters before its part
    for k in range(1, inputs.shape[0]):
        if scored[k].any():
            first = np.flatnonzero(scored[k])[0]
            assert first == warmup and position[inputs[k, 0]] + warmup == position[
                inputs[k, first]]


def test_train_streams_are_contiguous_and_shifted():
    ids = np.arange(103)
    x, y = train_streams(ids, 4, offset=2)
    assert x.shape == (4, 25) and np.array_equal(y, x + 1)
    assert np.array_equal(x.reshape(-1), np.arange(2, 102))
    with pytest.raises(ValueError, match="cannot fill 4 streams"):
        train_streams(np.arange(4), 4, 0)


def _config(tmp_path, shared_data, *extra):
    return make_config(RECIPE.config, RECIPE.quick,
                       ["--quick", f"--out-dir={tmp_path}", f"--data-root={shared_data}",
                        *extra])


def test_quick_run_trains_saves_evaluates_and_samples(tmp_path, shared_data, capsys):
    cfg = _config(tmp_path, shared_data)
    results = RECIPE.run(cfg)
    out = capsys.readouterr().out
    assert "---- sample" in out and "best validation loss" in out
    with open(tmp_path / "char-rnn" / "results.json") as f:
        saved = json.load(f)
    history = saved["history"]
    assert [r["step"] for r in history] == [15, 30]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < np.log(65)   # below uniform
    assert saved["val_loss"] == min(r["val_loss"] for r in history)
    assert saved["validation_characters_scored"] == cfg.eval_chars - 1
    assert all(s.startswith(cfg.prompt) and len(s) == len(cfg.prompt) + cfg.sample_chars
               for s in saved["samples"])
    assert results["val_loss"] == saved["val_loss"]
    # the saved best weights reproduce the best validation loss
    assert RECIPE.evaluate(cfg)["val_loss"] == pytest.approx(saved["val_loss"], rel=1e-6)
    text = RECIPE.sample(cfg, None, prompt="KING:", tokens=40, temperature=0.9, top_k=10,
                         top_p=0.95, seed=1)
    assert text.startswith("KING:") and len(text) == 45
    assert text == RECIPE.sample(cfg, None, prompt="KING:", tokens=40, temperature=0.9,
                                 top_k=10, top_p=0.95, seed=1)


def test_stop_after_and_resume_continue_the_run(tmp_path, shared_data, capsys):
    first = RECIPE.run(_config(tmp_path, shared_data, "--stop-after=15"))
    assert first["steps_run"] == 15 and "--resume" in capsys.readouterr().out
    done = RECIPE.run(_config(tmp_path, shared_data, "--resume"))
    assert done["steps"] == 30 and [r["step"] for r in done["history"]] == [15, 30]


def test_sampling_without_weights_says_what_to_do(tmp_path):
    cfg = make_config(RECIPE.config, RECIPE.quick, ["--quick", f"--out-dir={tmp_path}"])
    with pytest.raises(FileNotFoundError, match="train first with `nablagrad train char-rnn`"):
        RECIPE.sample(cfg, None)
