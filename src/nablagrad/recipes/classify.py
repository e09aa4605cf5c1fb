"""What the Fashion-MNIST classifier recipes share: data, optimizer and schedule, the training
run, and the final evaluation on the official test set.

Data: the 60,000 official training images, of which the last ``val_size`` of a seeded
permutation are held out for validation (early stopping and choosing the best epoch), and the
10,000 official test images, used once at the end with the weights of the best validation
epoch. Pixels are scaled to [0, 1] and standardised with the training set's mean and standard
deviation; ``augment`` adds a random crop (padding 2) and a horizontal flip to training batches.
Batches are cut from in-memory arrays (the DataLoader fast path) and transformed as whole
batches.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from .. import Generator, from_numpy, manual_seed, nn, no_grad, optim
from ..data import DataLoader, TensorDataset
from ..data.datasets import FashionMNIST
from ..data.transforms import RandomCrop, RandomHorizontalFlip
from ..serialization import load
from ..train import (Accuracy, BestCheckpoint, Callback, ConfusionMatrix, EarlyStopping,
                      GradientClipping, JSONLLogger, LRScheduler, Mean, fit, format_record)
from .config import RunConfig

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass
class ClassifierConfig(RunConfig):
    """Options of the image-classifier recipes."""
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"          # sgd | adam | adamw
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"      # onecycle | cosine | step | none
    label_smoothing: float = 0.0
    augment: bool = False           # random crop (padding 2) + horizontal flip
    val_size: int = 5000            # held out of the training set for model selection
    patience: int = 0               # early-stopping patience in epochs (0: off)
    clip_grad_norm: float = 0.0     # 0: off
    train_size: int = 0             # use only the first N training images (0: all)
    test_size: int = 0              # evaluate on the first N test images (0: all 10,000)


QUICK = dict(epochs=1, train_size=1000, val_size=250, test_size=500, progress=False)


class FashionBatches:
    """Turns a batch of uint8 images (N, 28, 28) into standardised float32 (N, 1, 28, 28), with
    optional augmentation (random crop with padding 2, horizontal flip) for training."""

    def __init__(self, mean, std, device, augment=False):
        self.mean, self.std, self.device = mean, std, device
        self.augment = [RandomCrop(28, padding=2), RandomHorizontalFlip()] if augment else []

    def __call__(self, batch):
        images, targets = batch
        x = images.numpy()[:, None]
        for t in self.augment:
            x = t(x)
        x = (x.astype(np.float32) - self.mean) * (1.0 / self.std)
        return from_numpy(x).to(self.device), targets.to(self.device)


def load_data(cfg):
    """(train, val, test) TensorDatasets of uint8 images and int64 labels, and the mean and
    standard deviation of the training pixels (in [0, 1] units)."""
    train_set = FashionMNIST(cfg.data_root, train=True)
    test_set = FashionMNIST(cfg.data_root, train=False)
    images, labels = train_set.data.numpy(), train_set.targets.numpy()
    order = np.random.default_rng(cfg.seed).permutation(len(images))
    val_idx, train_idx = order[:cfg.val_size], order[cfg.val_size:]
    if cfg.train_size:
        train_idx = train_idx[:cfg.train_size]
    train_idx, val_idx = np.sort(train_idx), np.sort(val_idx)
    pixels = images[train_idx].astype(np.float64) / 255.0
    mean, std = float(pixels.mean()), float(pixels.std())
    wrap = lambda x, y: TensorDataset(from_numpy(np.ascontiguousarray(x)),  # noqa: E731
                                      from_numpy(np.ascontiguousarray(y)))
    test_n = cfg.test_size or len(test_set)
    test_images, test_labels = test_set.data.numpy()[:test_n], test_set.targets.numpy()[:test_n]
    return (wrap(images[train_idx], labels[train_idx]),
            wrap(images[val_idx], labels[val_idx]) if cfg.val_size else None,
            wrap(test_images, test_labels), mean * 255.0, std * 255.0)


def make_optimizer(cfg, params):
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                         weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"--optimizer: expected sgd, adam or adamw, got {cfg.optimizer!r}")


def make_schedule(cfg, optimizer, steps_per_epoch):
    """An ``LRScheduler`` callback for ``cfg.schedule``, or None."""
    sched = optim.lr_scheduler
    if cfg.schedule == "onecycle":
        return LRScheduler(sched.OneCycleLR(optimizer, max_lr=cfg.lr, epochs=cfg.epochs,
                                            steps_per_epoch=steps_per_epoch), interval="step")
    if cfg.schedule == "cosine":
        return LRScheduler(sched.CosineAnnealingLR(optimizer, T_max=cfg.epochs * steps_per_epoch),
                           interval="step")
    if cfg.schedule == "step":
        return LRScheduler(sched.StepLR(optimizer, step_size=max(cfg.epochs // 3, 1), gamma=0.1))
    if cfg.schedule == "none":
        return None
    raise ValueError(f"--schedule: expected onecycle, cosine, step or none, got {cfg.schedule!r}")


def run_dir(name, cfg):
    path = os.path.join(cfg.out_dir, name)
    os.makedirs(path, exist_ok=True)
    return path


def command_line():
    """The command that started this process, as a user would type it."""
    return "nablagrad " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train"] else None


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def train_classifier(name, cfg, build_model):
    """Train ``build_model()`` on Fashion-MNIST with ``cfg``; evaluate the best validation epoch
    on the test set; write ``log.jsonl``, checkpoints, ``results.json`` and plots to
    ``OUT_DIR/NAME``. Returns the results dict."""
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir(name, cfg)
    train_set, val_set, test_set, mean, std = load_data(cfg)
    model = build_model().to(cfg.device)
    n_params = count_parameters(model)
    print(f"{name}: {n_params:,} parameters; {len(train_set):,} training, "
          f"{len(val_set) if val_set else 0:,} validation, {len(test_set):,} test images",
          flush=True)
    loader_gen = Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True,
                              generator=loader_gen)
    eval_loader = lambda ds: DataLoader(ds, batch_size=1000)  # noqa: E731
    optimizer = make_optimizer(cfg, model.parameters())
    callbacks = [c for c in [make_schedule(cfg, optimizer, len(train_loader))] if c]
    best_path = os.path.join(out, "best.safetensors")
    if val_set is not None:
        callbacks.append(BestCheckpoint(best_path, monitor="val_accuracy", mode="max"))
        if cfg.patience:
            callbacks.append(EarlyStopping("val_accuracy", mode="max", patience=cfg.patience))
    if cfg.clip_grad_norm:
        callbacks.append(GradientClipping(max_norm=cfg.clip_grad_norm))
    callbacks.append(_PrintEpochs())
    callbacks.append(JSONLLogger(os.path.join(out, "log.jsonl")))
    loss_fn = lambda out_, y: nn.functional.cross_entropy(  # noqa: E731
        out_, y, label_smoothing=cfg.label_smoothing)
    trainer = fit(model, optimizer, train_loader, epochs=cfg.epochs, loss_fn=loss_fn,
                  val_loader=eval_loader(val_set) if val_set is not None else None,
                  callbacks=callbacks, checkpoint=os.path.join(out, "checkpoint.safetensors"),
                  resume=cfg.resume, generators={"loader": loader_gen},
                  prepare_batch=FashionBatches(mean, std, cfg.device, cfg.augment),
                  eval_prepare_batch=FashionBatches(mean, std, cfg.device),
                  progress=cfg.progress, desc=name, stop_after=cfg.stop_after or None)
    if trainer.diverged:
        raise TrainingDiverged(trainer.stop_reason)
    if trainer.stop_reason:
        print(trainer.stop_reason)
    if trainer.epoch < cfg.epochs and not trainer.stop_reason:
        print(f"{name}: stopped after epoch {trainer.epoch} of {cfg.epochs} (--stop-after); "
              f"continue with `nablagrad train {name} --resume` and the same options")
        return {"recipe": name, "epochs_run": trainer.epoch, "history": trainer.history}
    best_epoch = trainer.epoch
    if val_set is not None and os.path.exists(best_path):
        model.load_state_dict(load(best_path))
        best_epoch = next(cb.best_epoch for cb in callbacks if isinstance(cb, BestCheckpoint))
    results, predictions = score_on_test_set(model, test_set, mean, std, cfg)
    results.update(recipe=name, parameters=n_params, best_epoch=best_epoch,
                   epochs_run=trainer.epoch, wall_seconds=round(time.perf_counter() - start, 1),
                   command=command_line(),
                   machine=f"{platform.machine()}, {os.cpu_count()} cores, "
                           f"{platform.python_implementation()} {platform.python_version()}",
                   config=asdict(cfg), history=trainer.history)
    write_json(os.path.join(out, "results.json"), results)
    _plots(out, trainer.history, results, test_set, predictions)
    print(f"{name}: test accuracy {results['test_accuracy']:.2%} on {len(test_set):,} official "
          f"test images (best validation epoch {best_epoch}); {results['wall_seconds']:.0f} s; "
          f"outputs in {out}/")
    return results


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class _PrintEpochs(Callback):
    """One line per finished epoch (the progress bar disappears at the end of each)."""

    def on_epoch_end(self, trainer):
        print(format_record(trainer.record), flush=True)


def score_on_test_set(model, test_set, mean, std, cfg):
    """Test loss, accuracy, top-5 accuracy and confusion matrix of ``model``, and its predicted
    class for every test image, from one pass over the test set."""
    prepare = FashionBatches(mean, std, cfg.device)
    loss, top1, top5, cm = Mean(), Accuracy(), Accuracy(top_k=5), ConfusionMatrix(10)
    predictions = []
    model.eval()
    with no_grad():
        for batch in DataLoader(test_set, batch_size=1000):
            x, y = prepare(batch)
            logits = model(x)
            loss.update(nn.functional.cross_entropy(logits, y).item(), y.shape[0])
            top1.update(logits, y)
            top5.update(logits, y)
            pred = logits.argmax(1)
            cm.update(pred, y)
            predictions.append(pred.numpy())
    return ({"test_loss": loss.compute(), "test_accuracy": top1.compute(),
             "test_top5_accuracy": top5.compute(),
             "confusion_matrix": cm.compute().numpy().tolist()}, np.concatenate(predictions))


def write_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _plots(out, history, results, test_set, predictions):
    """Curves, confusion matrix and misclassified examples as PNGs, if matplotlib is present."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("(install matplotlib, `pip install nablagrad[plots]`, for PNG plots)")
        return
    from ..train import plots
    plots.plot_curves(history, os.path.join(out, "curves.png"))
    plots.plot_confusion_matrix(np.array(results["confusion_matrix"]), FASHION_MNIST_CLASSES,
                                os.path.join(out, "confusion_matrix.png"))
    images, labels = (t.numpy() for t in test_set.tensors)
    wrong = np.flatnonzero(predictions != labels)[:25]
    plots.plot_misclassified(images[wrong], labels[wrong], predictions[wrong],
                             FASHION_MNIST_CLASSES, os.path.join(out, "misclassified.png"))


def evaluate_classifier(name, cfg, build_model, weights=None):
    """Evaluate saved weights (default ``OUT_DIR/NAME/best.safetensors``, or a training
    checkpoint) on the test set and print the result."""
    path = weights or os.path.join(cfg.out_dir, name, "best.safetensors")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name}: no weights at {path}; train first with "
                                f"`nablagrad train {name}` or pass --weights=PATH")
    state = load(path)
    model = build_model().to(cfg.device)
    model.load_state_dict(state["model"] if "optimizer" in state else state)
    _, _, test_set, mean, std = load_data(cfg)
    results, _ = score_on_test_set(model, test_set, mean, std, cfg)
    print(f"{name}: test accuracy {results['test_accuracy']:.2%} (top-5 "
          f"{results['test_top5_accuracy']:.2%}, loss {results['test_loss']:.4f}) on "
          f"{len(test_set):,} official test images, weights {path}")
    return results


def classifier_recipe(name, description, target, config, build, quick=None):
    """A ``Recipe`` that trains ``build(cfg)`` with ``train_classifier``."""
    from . import Recipe
    return Recipe(name, description, target, config,
                  run=lambda cfg: train_classifier(name, cfg, lambda: build(cfg)),
                  quick=dict(QUICK, **(quick or {})),
                  evaluate=lambda cfg, weights=None: evaluate_classifier(
                      name, cfg, lambda: build(cfg), weights))
