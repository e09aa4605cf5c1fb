"""Plots: each writes a valid, non-trivial PNG atomically; read_jsonl parses logs and names bad
lines."""
import json
import os
import sys

import numpy as np
import pytest

import nablagrad as ng
from nablagrad.train import plots
from nablagrad.train.plots import (plot_confusion_matrix, plot_curves,
                                   plot_decision_boundary_2d, plot_misclassified, plot_runs,
                                   read_jsonl)

pytest.importorskip("matplotlib")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, returned):
    assert returned == os.fspath(path)
    data = open(path, "rb").read()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 5000  # axes, lines and text, not an empty canvas
    leftovers = [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".tmp-")]
    assert leftovers == []


def _history(epochs=6, lr=0.1):
    return [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.2 / e, "train_accuracy": 1 - 0.5 / e,
             "val_accuracy": 1 - 0.6 / e, "lr": lr * 0.9 ** e} for e in range(1, epochs + 1)]


# ----------------------------------------------------------------------------- read_jsonl
def test_read_jsonl_round_trip_skips_blank_lines(tmp_path):
    history = _history()
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in history[:3]) + "\n\n   \n"
                    + "\n".join(json.dumps(r) for r in history[3:]) + "\n")
    assert read_jsonl(path) == history


def test_read_jsonl_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"epoch": 1}\n\n{"epoch": 2, "loss": \n{"epoch": 3}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 3: malformed JSON"):
        read_jsonl(path)
    path.write_text('{"epoch": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 2: expected a JSON object, got list"):
        read_jsonl(path)


# ----------------------------------------------------------------------------- plots
def test_plot_curves_from_jsonl(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _history()))
    out = tmp_path / "plots" / "curves.png"  # the folder is created
    _assert_png(out, plot_curves(read_jsonl(path), out))
    _assert_png(out, plot_curves(_history(), out, metrics=("loss", "accuracy", "lr")))


def test_plot_curves_train_only_and_missing_metric(tmp_path):
    history = [{"epoch": e, "train_loss": 1.0 / e} for e in range(1, 4)]
    _assert_png(tmp_path / "c.png", plot_curves(history, tmp_path / "c.png", metrics="loss"))
    with pytest.raises(KeyError, match=r"plot_curves: no record has train_accuracy.*'epoch', "
                                        r"'train_loss'"):
        plot_curves(history, tmp_path / "d.png")
    assert not (tmp_path / "d.png").exists()


def test_plot_runs_log_scale(tmp_path):
    runs = {name: _history(10, lr) for name, lr in [("xavier", 0.1), ("kaiming", 0.2)]}
    runs["constant"] = [{"epoch": e, "train_loss": 2.3} for e in range(1, 11)]
    out = tmp_path / "runs.png"
    _assert_png(out, plot_runs(runs, out, title="init study", log_scale=True))
    with pytest.raises(KeyError, match="plot_runs: run 'xavier' has no 'val_nll'"):
        plot_runs(runs, out, metric="val_nll")


def test_plot_confusion_matrix(tmp_path, rng):
    from nablagrad.train.metrics import confusion_matrix
    pred, target = rng.integers(0, 10, 300), rng.integers(0, 10, 300)
    cm = confusion_matrix(ng.tensor(pred), ng.tensor(target), 10)
    names = [f"class {i}" for i in range(10)]
    for normalize in (True, False):
        out = tmp_path / f"cm_{normalize}.png"
        _assert_png(out, plot_confusion_matrix(cm, names, out, normalize=normalize))
    with pytest.raises(ValueError, match=r"cm of shape \(10, 10\) does not match 3 class names"):
        plot_confusion_matrix(cm, names[:3], tmp_path / "x.png")


@pytest.mark.parametrize("shape", [(30, 1, 28, 28), (30, 28, 28), (30, 3, 8, 8)])
def test_plot_misclassified(tmp_path, rng, shape):
    images = ng.tensor(rng.random(shape), dtype=ng.float32)
    true, pred = ng.tensor(rng.integers(0, 3, 30)), ng.tensor(rng.integers(0, 3, 30))
    out = tmp_path / "wrong.png"
    _assert_png(out, plot_misclassified(images, true, pred, ["a", "b", "c"], out, max_images=9))


def test_plot_misclassified_none_wrong_and_errors(tmp_path, rng):
    images = rng.random((4, 8, 8))
    labels = np.array([0, 1, 0, 1])
    out = tmp_path / "none.png"
    assert plot_misclassified(images, labels, labels, ["a", "b"], out) == os.fspath(out)
    assert open(out, "rb").read()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match=r"images must have shape .* got \(4, 2, 8, 8\)"):
        plot_misclassified(rng.random((4, 2, 8, 8)), labels, labels, ["a", "b"], out)
    with pytest.raises(ValueError, match="4 images, 3 true labels and 4 predictions"):
        plot_misclassified(images, labels[:3], labels, ["a", "b"], out)


def test_plot_decision_boundary_perceptron_and_logits(tmp_path, rng):
    x = rng.normal(size=(60, 2))
    y = np.where(x[:, 0] + x[:, 1] > 0, 1, -1)
    seen = []

    def perceptron(points):
        seen.append(points)
        return (points[:, 0] + points[:, 1]).sign()

    out = tmp_path / "boundary.png"
    _assert_png(out, plot_decision_boundary_2d(perceptron, ng.tensor(x), ng.tensor(y), out,
                                               resolution=50))
    assert isinstance(seen[0], ng.Tensor) and seen[0].shape == (2500, 2)
    assert seen[0].dtype == ng.float64
    w = ng.tensor(rng.normal(size=(2, 3)), dtype=ng.float32)
    _assert_png(out, plot_decision_boundary_2d(lambda p: p @ w, x.astype(np.float32),
                                               rng.integers(0, 3, 60), out, resolution=40))
    with pytest.raises(ValueError, match=r"predict_fn returned shape \(3,\) for 1600 points"):
        plot_decision_boundary_2d(lambda p: ng.zeros(3), x, y, out, resolution=40)
    with pytest.raises(ValueError, match=r"x must be \(N, 2\) with y \(N,\), got x \(60, 3\)"):
        plot_decision_boundary_2d(perceptron, rng.normal(size=(60, 3)), y, out)


def test_plot_decision_boundary_runs_without_grad(tmp_path, rng):
    w = ng.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    grad_modes = []

    def model(points):
        grad_modes.append(ng.is_grad_enabled())
        return points @ w

    plot_decision_boundary_2d(model, ng.tensor(rng.normal(size=(10, 2))), rng.integers(0, 2, 10),
                              tmp_path / "b.png", resolution=20)
    assert grad_modes == [False]


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    out = tmp_path / "c.png"
    with pytest.raises(RuntimeError, match="disk full"):
        plot_curves(_history(), out)
    assert os.listdir(tmp_path) == []


def test_replacing_keeps_a_complete_file(tmp_path):
    out = tmp_path / "c.png"
    plot_curves(_history(3), out)
    first = out.read_bytes()
    plot_curves(_history(9), out)
    assert out.read_bytes() != first and out.read_bytes()[:8] == PNG_MAGIC
    assert sorted(os.listdir(tmp_path)) == ["c.png"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0o600


def test_missing_matplotlib_gives_install_hint(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r"pip install nablagrad\[plots\]"):
        plots.plot_curves(_history(), tmp_path / "c.png")
