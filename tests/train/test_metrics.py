"""Metrics against plain NumPy reference computations and against torch.topk / torch.argmax."""
import numpy as np
import pytest
import torch

import nablagrad as ng
from nablagrad.train.metrics import (Accuracy, ConfusionMatrix, Mean, accuracy, confusion_matrix,
                                     f1_score, precision, recall, top_k_accuracy)


def _batch(rng, n=64, c=7, ties=False):
    logits = rng.integers(0, 3, (n, c)).astype(np.float64) if ties else rng.normal(size=(n, c))
    target = rng.integers(0, c, n)
    return logits, target


def _ref_topk_hits(logits, target, k):
    """Reference: a stable descending sort, the first k positions chosen."""
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return (order == target[:, None]).any(axis=1)


# ----------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("k", [1, 2, 5, 7])
def test_top_k_accuracy_matches_torch_topk(rng, k):
    logits, target = _batch(rng)
    idx = torch.topk(torch.from_numpy(logits), k, dim=1).indices.numpy()
    expected = (idx == target[:, None]).any(axis=1).mean()
    assert top_k_accuracy(ng.tensor(logits), ng.tensor(target), k) == pytest.approx(expected)


def test_accuracy_matches_torch_argmax_with_ties(rng):
    logits, target = _batch(rng, ties=True)
    pred = torch.argmax(torch.from_numpy(logits), dim=1).numpy()
    expected = (pred == target).mean()
    assert accuracy(ng.tensor(logits), ng.tensor(target)) == pytest.approx(expected)
    assert top_k_accuracy(ng.tensor(logits), ng.tensor(target), 1) == pytest.approx(expected)


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_top_k_ties_choose_exactly_k_lowest_index_first(rng, k):
    logits, target = _batch(rng, n=200, ties=True)
    ref = _ref_topk_hits(logits, target, k).mean()
    assert top_k_accuracy(ng.tensor(logits), ng.tensor(target), k) == pytest.approx(ref)
    # torch.topk also chooses exactly k (which of the tied ones is unspecified), so its count
    # lies between "every tied class counts" and "no class tied at the k-th place counts"
    kth = np.sort(logits, axis=1)[:, -k][:, None]
    s_t = logits[np.arange(200), target][:, None]
    lenient = (s_t >= kth).mean()
    strict = ((s_t > kth) | ((s_t == kth) & ((logits >= kth).sum(1, keepdims=True) <= k))).mean()
    idx = torch.topk(torch.from_numpy(logits), k, dim=1).indices.numpy()
    torch_acc = (idx == target[:, None]).any(axis=1).mean()
    assert strict <= torch_acc <= lenient and strict <= ref <= lenient
    assert ref < lenient  # the bound is not vacuous: exactly k are chosen


def test_top_k_all_equal_row_picks_lowest_indices():
    logits = ng.zeros(4, 5)
    target = ng.tensor([0, 1, 2, 4])
    assert top_k_accuracy(logits, target, 2) == 0.5
    assert accuracy(logits, target) == 0.25


def test_nan_logit_ranks_first():
    logits = ng.tensor([[0.0, float("nan"), 1.0], [float("nan"), 0.0, 1.0]])
    target = ng.tensor([1, 2])
    assert accuracy(logits, target) == 0.5
    assert top_k_accuracy(logits, target, 2) == 1.0


def test_accuracy_from_labels_and_dtypes(rng):
    pred = rng.integers(0, 4, 50)
    target = rng.integers(0, 4, 50)
    expected = (pred == target).mean()
    assert accuracy(ng.tensor(pred), ng.tensor(target)) == pytest.approx(expected)
    assert accuracy(ng.tensor(pred.astype(np.int32)), ng.tensor(target)) == pytest.approx(expected)
    assert accuracy(pred, target) == pytest.approx(expected)  # NumPy arrays work too
    logits = ng.tensor(rng.normal(size=(50, 4)), dtype=ng.float32, requires_grad=True)
    acc = accuracy(logits, ng.tensor(target))
    assert isinstance(acc, float)
    assert logits.grad is None


def test_accuracy_class_accumulates_over_batches(rng):
    logits, target = _batch(rng, n=100, ties=True)
    for k in (1, 3):
        metric = Accuracy(top_k=k)
        for lo in range(0, 100, 30):  # uneven batches: 30, 30, 30, 10
            metric.update(ng.tensor(logits[lo:lo + 30]), ng.tensor(target[lo:lo + 30]))
        assert metric.total == 100
        assert metric.compute() == pytest.approx(_ref_topk_hits(logits, target, k).mean())
        metric.reset()
        with pytest.raises(RuntimeError, match="before any update"):
            metric.compute()


def test_accuracy_errors_name_metric_and_shapes():
    with pytest.raises(ValueError, match=r"accuracy: target .*\(4,\).*shape \(3,\)"):
        accuracy(ng.zeros(4, 3), ng.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"accuracy: logits must have shape \(N, C\), got "
                                         r"\(2, 3, 4\)"):
        accuracy(ng.zeros(2, 3, 4), ng.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"accuracy: target holds class indices in \[0, 5\].*"
                                         r"\(2, 3\).*3 classes"):
        accuracy(ng.zeros(2, 3), ng.tensor([0, 5]))
    with pytest.raises(ValueError, match="accuracy: a 1-D input must hold integer"):
        accuracy(ng.zeros(3), ng.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="integer class indices"):
        accuracy(ng.zeros(2, 3), ng.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"top_k_accuracy: k must be an integer in \[1, 3\]"):
        top_k_accuracy(ng.zeros(2, 3), ng.tensor([0, 1]), 4)
    with pytest.raises(ValueError, match=r"Accuracy\(top_k=2\): top-2 accuracy needs logits"):
        Accuracy(top_k=2).update(ng.tensor([0, 1]), ng.tensor([0, 1]))
    with pytest.raises(ValueError, match="Accuracy: top_k must be a positive integer"):
        Accuracy(top_k=0)
    with pytest.raises(ValueError, match="accuracy: no samples"):
        accuracy(ng.zeros(0, 3), ng.zeros(0, dtype=ng.int64))


# ----------------------------------------------------------------------------- confusion matrix
def _ref_cm(pred, target, c):
    cm = np.zeros((c, c), dtype=np.int64)
    for t, p in zip(target, pred):
        cm[t, p] += 1
    return cm


def test_confusion_matrix_rows_true_columns_predicted(rng):
    pred, target = rng.integers(0, 5, 80), rng.integers(0, 5, 80)
    cm = confusion_matrix(ng.tensor(pred), ng.tensor(target), 5)
    assert cm.dtype == ng.int64 and cm.shape == (5, 5)
    np.testing.assert_array_equal(cm.numpy(), _ref_cm(pred, target, 5))
    one = confusion_matrix(ng.tensor([2]), ng.tensor([0]), 3).numpy()
    assert one[0, 2] == 1 and one.sum() == 1


def test_confusion_matrix_from_logits_uses_argmax(rng):
    logits, target = _batch(rng, ties=True)
    pred = torch.argmax(torch.from_numpy(logits), dim=1).numpy()
    cm = confusion_matrix(ng.tensor(logits), ng.tensor(target), 7)
    np.testing.assert_array_equal(cm.numpy(), _ref_cm(pred, target, 7))
    assert np.trace(cm.numpy()) / len(target) == pytest.approx(
        accuracy(ng.tensor(logits), ng.tensor(target)))


def test_confusion_matrix_class_accumulates(rng):
    pred, target = rng.integers(0, 4, 90), rng.integers(0, 4, 90)
    metric = ConfusionMatrix(4)
    np.testing.assert_array_equal(metric.compute().numpy(), np.zeros((4, 4)))
    for lo in range(0, 90, 25):
        metric.update(ng.tensor(pred[lo:lo + 25]), ng.tensor(target[lo:lo + 25]))
    result = metric.compute()
    np.testing.assert_array_equal(result.numpy(), _ref_cm(pred, target, 4))
    result.numpy()[0, 0] = -1  # compute() returns a copy
    assert metric.compute().numpy()[0, 0] >= 0
    metric.reset()
    assert metric.compute().numpy().sum() == 0


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match=r"confusion_matrix: preds holds labels in \[0, 3\], "
                                         r"outside \[0, 2\] for num_classes=3"):
        confusion_matrix(ng.tensor([0, 3]), ng.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match=r"confusion_matrix: target holds labels in \[-1, 1\]"):
        confusion_matrix(ng.tensor([0, 1]), ng.tensor([-1, 1]), 3)
    with pytest.raises(ValueError, match=r"ConfusionMatrix\(num_classes=3\): target must be 2"):
        ConfusionMatrix(3).update(ng.tensor([0, 1]), ng.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="ConfusionMatrix: num_classes must be a positive"):
        ConfusionMatrix(0)
    with pytest.raises(ValueError, match=r"preds must be integer labels .* shape \(2, 2, 2\)"):
        confusion_matrix(ng.zeros(2, 2, 2), ng.tensor([0, 1]), 2)


# ----------------------------------------------------------------------------- per-class scores
def test_precision_recall_f1_against_counts(rng):
    pred, target = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    cm = confusion_matrix(ng.tensor(pred), ng.tensor(target), 4)
    for c in range(4):
        tp = np.sum((pred == c) & (target == c))
        p = tp / np.sum(pred == c)
        r = tp / np.sum(target == c)
        assert precision(cm).numpy()[c] == pytest.approx(p, rel=1e-6)
        assert recall(cm).numpy()[c] == pytest.approx(r, rel=1e-6)
        assert f1_score(cm).numpy()[c] == pytest.approx(2 * p * r / (p + r), rel=1e-6)
    assert precision(cm).dtype == ng.get_default_dtype()


def test_per_class_scores_zero_when_undefined():
    # class 2 never predicted and never present; class 1 predicted but never right
    cm = confusion_matrix(ng.tensor([0, 1, 1]), ng.tensor([0, 0, 0]), 3)
    np.testing.assert_allclose(precision(cm).numpy(), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(recall(cm).numpy(), [1 / 3, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(f1_score(cm).numpy(), [0.5, 0.0, 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"precision: cm must be a square .* \(2, 3\)"):
        precision(ng.zeros(2, 3))


# ----------------------------------------------------------------------------- mean
def test_mean_weighted_by_batch_size():
    m = Mean()
    losses, sizes = [2.0, 1.0, 4.0], [32, 32, 8]
    for v, n in zip(losses, sizes):
        m.update(ng.tensor(v), n)
    assert m.compute() == pytest.approx(np.dot(losses, sizes) / sum(sizes))
    m.reset()
    m.update(3.0)
    m.update(5)
    assert m.compute() == 4.0


def test_mean_errors():
    with pytest.raises(RuntimeError, match=r"Mean.compute\(\) called before any update"):
        Mean().compute()
    with pytest.raises(ValueError, match=r"Mean: value must be a scalar.*\(2,\)"):
        Mean().update(ng.zeros(2))
    with pytest.raises(ValueError, match="Mean: weight must be non-negative"):
        Mean().update(1.0, -1)
