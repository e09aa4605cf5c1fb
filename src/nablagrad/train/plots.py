"""PNG plots of training runs: learning curves, confusion matrices, misclassified images, several
runs on one axes, and 2-D decision boundaries.

matplotlib is an optional extra (``pip install nablagrad[plots]``), imported only when a plot is
drawn. Figures are built with ``matplotlib.figure.Figure`` on the non-interactive Agg canvas, so
plotting works without a display and leaves pyplot's global state alone.

Every function writes its PNG atomically (to a temporary file in the same folder, then
``os.replace``), so a reader never sees a half-written image, and returns the path.
"""
import json
import math
import os
import uuid

import numpy as np

from .._tensor import Tensor
from ..autograd import no_grad
from ..backend import get_default_dtype, to_dtype
from ..ops.creation import tensor

__all__ = ["read_jsonl", "plot_curves", "plot_confusion_matrix", "plot_misclassified",
           "plot_runs", "plot_decision_boundary_2d"]


# ----------------------------------------------------------------------------- helpers
def _figure(nrows=1, ncols=1, size=(6.4, 4.8)):
    """(Figure, array of Axes) on an Agg canvas; a clear ImportError without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("nablagrad's plots need matplotlib: pip install nablagrad[plots]") \
            from err
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _save(fig, path):
    """Write ``fig`` as a PNG at ``path`` atomically; return the path. The temporary file is
    created exclusively with the usual permissions (0o666 less the umask), like a plain open."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{name}")
    try:
        with open(tmp, "xb") as f:
            fig.savefig(f, format="png", dpi=100)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _numpy(x):
    """A NumPy array from a Tensor (detached, on the CPU) or an array-like."""
    return x.detach().numpy(force=True) if isinstance(x, Tensor) else np.asarray(x)


# ----------------------------------------------------------------------------- JSONL logs
def read_jsonl(path):
    """The records of a JSON-lines log, one dict per non-blank line, in order.

    A line that is not a JSON object raises ValueError naming the file and the line number.
    """
    records = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"read_jsonl: {os.fspath(path)}, line {lineno}: malformed JSON "
                                 f"({err.msg} at column {err.colno})") from None
            if not isinstance(record, dict):
                raise ValueError(f"read_jsonl: {os.fspath(path)}, line {lineno}: expected a JSON "
                                 f"object, got {type(record).__name__}")
            records.append(record)
    return records


def _series(history, key):
    """(x, y) of the records that have ``key``; x is their "epoch" (else their position, from 1)."""
    xs, ys = [], []
    for i, record in enumerate(history, 1):
        value = record.get(key)
        if value is not None:
            xs.append(record.get("epoch", i))
            ys.append(float(value))
    return xs, ys


# ----------------------------------------------------------------------------- curves
def plot_curves(history, path, metrics=("loss", "accuracy")):
    """One subplot per metric m, with the ``train_m`` and ``val_m`` curves against the epoch
    (a plain key ``m``, such as ``lr``, is drawn when neither is logged)."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    fig, axes = _figure(1, len(metrics), size=(4.8 * len(metrics), 3.8))
    for ax, metric in zip(axes[0], metrics):
        keys = [k for k in (f"train_{metric}", f"val_{metric}") if _series(history, k)[0]]
        keys = keys or ([metric] if _series(history, metric)[0] else [])
        if not keys:
            logged = sorted({k for record in history for k in record})
            raise KeyError(f"plot_curves: no record has train_{metric}, val_{metric} or {metric}; "
                           f"logged keys: {logged}")
        for key in keys:
            xs, ys = _series(history, key)
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3,
                    label=key.split("_")[0] if key != metric else metric)
        ax.set(title=metric, xlabel="epoch", ylabel=metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def plot_runs(runs, path, metric="train_loss", title=None, log_scale=False):
    """Several runs' ``metric`` curves on one axes: ``runs`` maps a run's name to its history
    (a list of dicts). ``log_scale`` puts the y axis on a log scale (for losses that span
    orders of magnitude, as in the weight-initialisation study)."""
    if not runs:
        raise ValueError("plot_runs: runs is empty")
    fig, axes = _figure()
    ax = axes[0, 0]
    styles = ["-", "--", ":", "-."]   # the colour cycle has 10 colours; then the style changes
    for i, (name, history) in enumerate(runs.items()):
        xs, ys = _series(history, metric)
        if not xs:
            raise KeyError(f"plot_runs: run {name!r} has no {metric!r} in its history")
        ax.plot(xs, ys, styles[i // 10 % len(styles)], label=str(name), marker=".")
    if log_scale:
        ax.set_yscale("log")
    ax.set(title=title or metric, xlabel="epoch", ylabel=metric)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


# ----------------------------------------------------------------------------- confusion matrix
def plot_confusion_matrix(cm, class_names, path, normalize=True):
    """A heat map of a (C, C) confusion matrix, rows = true class, columns = predicted.

    ``normalize=True`` divides each row by its total (so a cell is the fraction of that true
    class predicted as the column's class, the diagonal being per-class recall); a row with no
    samples stays 0.
    """
    counts = _numpy(cm)
    c = len(class_names)
    if counts.shape != (c, c):
        raise ValueError(f"plot_confusion_matrix: cm of shape {counts.shape} does not match "
                         f"{c} class names")
    values = counts.astype(np.float64)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals != 0)
    side = max(4.0, 0.6 * c + 2)
    fig, axes = _figure(size=(side + 1, side))
    ax = axes[0, 0]
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = np.arange(c)
    ax.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, labels=class_names)
    ax.set(xlabel="predicted", ylabel="true",
           title="confusion matrix" + (" (row-normalised)" if normalize else ""))
    if c <= 20:
        high = values.max() / 2 if values.size else 0
        for i in range(c):
            for j in range(c):
                text = f"{values[i, j]:.2f}" if normalize else str(int(counts[i, j]))
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] > high else "black")
    return _save(fig, path)


# ----------------------------------------------------------------------------- images
def _images(images):
    """(N, H, W) grey or (N, H, W, 3) colour images from (N, H, W), (N, 1, H, W) or (N, 3, H, W)."""
    x = _numpy(images)
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 4 and x.shape[1] == 3:
        x = x.transpose(0, 2, 3, 1)
        low, high = x.min(), x.max()
        return (x - low) / (high - low) if high > low else np.zeros_like(x)
    if x.ndim == 3:
        return x
    raise ValueError(f"plot_misclassified: images must have shape (N, H, W), (N, 1, H, W) or "
                     f"(N, 3, H, W), got {x.shape}")


def plot_misclassified(images, true, pred, class_names, path, max_images=25):
    """A grid of up to ``max_images`` images whose predicted label differs from the true one,
    each titled with both class names."""
    x = _images(images)
    t, p = _numpy(true).reshape(-1), _numpy(pred).reshape(-1)
    if not len(x) == len(t) == len(p):
        raise ValueError(f"plot_misclassified: {len(x)} images, {len(t)} true labels and "
                         f"{len(p)} predictions should be as many")
    wrong = np.flatnonzero(t != p)[:max_images]
    cols = max(1, math.ceil(math.sqrt(len(wrong))))
    rows = max(1, math.ceil(len(wrong) / cols))
    fig, axes = _figure(rows, cols, size=(1.8 * cols, 2.0 * rows + 0.3))
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(x[i], cmap="gray" if x[i].ndim == 2 else None)
        ax.set_title(f"true: {class_names[int(t[i])]}\npred: {class_names[int(p[i])]}",
                     fontsize=8)
    n_wrong = int((t != p).sum())
    fig.suptitle(f"{len(wrong)} of {n_wrong} misclassified (of {len(t)})" if n_wrong else
                 "no misclassified examples")
    return _save(fig, path)


# ----------------------------------------------------------------------------- decision boundary
def plot_decision_boundary_2d(predict_fn, x, y, path, resolution=200, title=None):
    """The regions a classifier assigns to each class over the plane, with the points on top.

    ``x`` is (N, 2) points and ``y`` their (N,) labels (any integers, e.g. ±1 for a perceptron).
    ``predict_fn`` is called once, without autograd, on a Tensor of grid points (M, 2) (of x's
    float dtype, else the default dtype) and returns labels (M,) or class scores (M, C), whose
    argmax is then the label.
    """
    points, labels = _numpy(x), _numpy(y).reshape(-1)
    if points.ndim != 2 or points.shape[1] != 2 or len(labels) != len(points):
        raise ValueError(f"plot_decision_boundary_2d: x must be (N, 2) with y (N,), got x "
                         f"{points.shape} and y {labels.shape}")
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-3)
    gx, gy = np.meshgrid(np.linspace(low[0] - pad[0], high[0] + pad[0], resolution),
                         np.linspace(low[1] - pad[1], high[1] + pad[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    dtype = to_dtype(points.dtype) if points.dtype.kind == "f" else get_default_dtype()
    with no_grad():
        out = _numpy(predict_fn(tensor(grid, dtype=dtype)))
    grid = out.argmax(axis=1) if out.ndim == 2 and out.shape[1] > 1 else out.reshape(-1)
    if grid.shape != (gx.size,):
        raise ValueError(f"plot_decision_boundary_2d: predict_fn returned shape {out.shape} for "
                         f"{gx.size} points; expected ({gx.size},) or ({gx.size}, C)")
    classes, codes = np.unique(np.concatenate([labels, grid]), return_inverse=True)
    k = len(classes)
    fig, axes = _figure()
    ax = axes[0, 0]
    cmap = "coolwarm" if k <= 2 else "tab10"
    ax.contourf(gx, gy, codes[len(labels):].reshape(gx.shape), levels=np.arange(k + 1) - 0.5,
                cmap=cmap, alpha=0.3, vmin=-0.5, vmax=k - 0.5)
    ax.scatter(points[:, 0], points[:, 1], c=codes[:len(labels)], cmap=cmap, vmin=-0.5,
               vmax=k - 0.5, edgecolors="k", linewidths=0.5, s=20)
    ax.set(title=title or "decision boundary", xlabel="$x_1$", ylabel="$x_2$")
    return _save(fig, path)
