"""The gpt recipe on the real tiny Shakespeare (quick mode), resuming, and `nablagrad sample`."""
import json
import os

import pytest

from nablagrad import cli
from nablagrad.recipes import RECIPES, make_config
from nablagrad.recipes.gpt import RECIPE, lr_at


def quick(tmp_path, shared_data, *extra):
    return make_config(RECIPE.config, RECIPE.quick,
                       ["--quick", f"--out-dir={tmp_path}", f"--data-root={shared_data}", *extra])


_RUN = {}


@pytest.fixture
def trained(shared_data, tmp_path_factory):
    """One quick run on the shared data, made once and shared by the tests below."""
    if shared_data not in _RUN:
        out = tmp_path_factory.mktemp("gpt")
        cfg = quick(out, shared_data)
        _RUN[shared_data] = cfg, RECIPE.run(cfg), out
    return _RUN[shared_data]


def test_quick_run_learns_and_writes_its_outputs(trained):
    cfg, results, out = trained
    history = results["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < 4.2   # below ln(65) = 4.17
    assert results["best_val_loss"] == min(r["val_loss"] for r in history)
    assert results["train_tokens_per_second"] > 0
    assert results["sample"].startswith("\n") and len(results["sample"]) == 1 + cfg.sample_tokens
    for name in ("best.safetensors", "checkpoint.safetensors", "results.json"):
        assert os.path.exists(out / "gpt" / name)
    assert json.loads((out / "gpt" / "results.json").read_text())["best_iter"] == \
        results["best_iter"]


def test_stop_and_resume_gives_the_uninterrupted_run(trained, tmp_path):
    cfg, results, _ = trained
    first = RECIPE.run(quick(tmp_path, cfg.data_root, "--stop-after=10"))
    assert first["iters_run"] == 10
    resumed = RECIPE.run(quick(tmp_path, cfg.data_root, "--resume"))
    assert resumed["iters_run"] == cfg.max_iters
    assert [r["val_loss"] for r in resumed["history"]] == \
        [r["val_loss"] for r in results["history"]]


def test_time_budget_ends_training(trained, tmp_path):
    cfg, _, _ = trained
    results = RECIPE.run(quick(tmp_path, cfg.data_root, "--max-minutes=1e-6"))
    assert results["iters_run"] == 1 and len(results["history"]) == 1


def test_sample_command(trained, monkeypatch, capsys):
    cfg, _, out = trained
    monkeypatch.setitem(RECIPES, "gpt", "gpt")
    args = ["sample", "gpt", f"--out-dir={out}", "--prompt=ROMEO:", "--tokens=25",
            "--temperature=0.9", "--top-k=10", "--top-p=0.9", "--seed=3"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("ROMEO:") and len(text.rstrip("\n")) >= len("ROMEO:") + 1
    assert cli.main(args) == 0
    assert capsys.readouterr().out == text                       # seeded
    weights = str(out / "gpt" / "checkpoint.safetensors")        # a checkpoint works too
    assert cli.main(["sample", "gpt", f"--weights={weights}", f"--out-dir={out}",
                     f"--data-root={cfg.data_root}", "--quick", "--tokens=5"]) == 0


def test_sample_errors_exit_2(trained, monkeypatch, tmp_path, capsys):
    _, _, out = trained
    monkeypatch.setitem(RECIPES, "gpt", "gpt")
    assert cli.main(["sample", "gpt", f"--out-dir={tmp_path}"]) == 2
    assert "no weights at" in capsys.readouterr().err
    assert cli.main(["sample", "perceptron"]) == 2
    assert "has no sampler" in capsys.readouterr().err
    assert cli.main(["sample", "gpt", f"--out-dir={out}", "--prompt=ROMEO€"]) == 2
    assert "not in the vocabulary" in capsys.readouterr().err
    assert cli.main(["sample", "gpt", f"--out-dir={out}", "--tokens=many"]) == 2
    assert cli.main(["sample"]) == 2


def test_learning_rate_schedule():
    cfg = RECIPE.config(lr=1.0, min_lr=0.1, warmup_iters=10, max_iters=110)
    assert lr_at(0, cfg) == pytest.approx(1 / 11)
    assert lr_at(9, cfg) == pytest.approx(10 / 11)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(60, cfg) == pytest.approx(0.55)
    assert lr_at(110, cfg) == pytest.approx(0.1) == lr_at(500, cfg)
    assert lr_at(20, cfg, time_fraction=0.5) == pytest.approx(0.55)   # time is further along
    assert lr_at(20, cfg, time_fraction=2.0) == pytest.approx(0.1)
