"""Sequence classification with a GRU, LSTM or Elman RNN (``models/sequence/rnn_classifier.py``;
notes 002 "Recurrent Neural Networks"). Three tasks (``--task``):

- ``fashion-mnist`` (default): sequential Fashion-MNIST, each 28×28 image read row by row as
  28 time steps of 28 pixels; the data split, standardisation and test evaluation are those of
  the image classifiers (``recipes/classify.py``). Target: test accuracy ≥ 88%.
- ``count-zeros``: the notes' loop h ← h + [x_t = 0] learned from data: the number of zeros in
  a digit sequence of length 1–20, as a classification over the counts 0..20.
- ``sentiment``: positive/negative sentences made of sentiment words, negations ("not good")
  and filler (``data/datasets/sequence_tasks.py``).

The toy tasks are generated from ``seed`` (training), ``seed + 1`` (validation) and
``seed + 2`` (test) and fed as packed variable-length batches, so padding never reaches the
network. Cross-entropy, Adam by default, one-cycle learning rate, gradient-norm clipping; the
weights of the best validation epoch are evaluated on the test set.
"""
from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass

from .. import Generator, manual_seed, nn, no_grad
from ..data import DataLoader
from ..data.datasets import count_zeros, sentiment
from ..models.sequence.rnn_classifier import RNNClassifier
from ..nn.utils.rnn import pack_padded_sequence
from ..serialization import load
from ..train import (Accuracy, BestCheckpoint, GradientClipping, JSONLLogger, Mean, fit)
from . import Recipe
from .classify import (ClassifierConfig, _PrintEpochs, command_line, count_parameters,
                       evaluate_classifier, make_optimizer, make_schedule, run_dir,
                       train_classifier, write_json)

NAME = "rnn-classify"
TASKS = ("fashion-mnist", "count-zeros", "sentiment")


@dataclass
class Config(ClassifierConfig):
    task: str = "fashion-mnist"     # fashion-mnist | count-zeros | sentiment
    rnn: str = "gru"                # gru | lstm | rnn
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    pooling: str = "last"           # last | mean (over the valid time steps)
    dropout: float = 0.0
    embedding_dim: int = 32         # token embedding size (toy tasks)
    epochs: int = 12
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 0.0
    clip_grad_norm: float = 1.0
    toy_train: int = 20000          # generated training sequences (toy tasks)
    toy_val: int = 2000
    toy_test: int = 5000


QUICK = dict(epochs=1, train_size=1000, val_size=250, test_size=500, toy_train=1000,
             toy_val=200, toy_test=500, hidden_size=32, progress=False)


def make_task(cfg, split):
    """The generated dataset of a toy task for ``split`` in train | val | test."""
    n = {"train": cfg.toy_train, "val": cfg.toy_val, "test": cfg.toy_test}[split]
    seed = cfg.seed + {"train": 0, "val": 1, "test": 2}[split]
    if cfg.task == "count-zeros":
        return count_zeros(n, min_len=1, max_len=20, seed=seed)
    if cfg.task == "sentiment":
        return sentiment(n, seed=seed)
    raise ValueError(f"--task: expected one of {', '.join(TASKS)}, got {cfg.task!r}")


def build_model(cfg, task=None):
    """The classifier for ``cfg``: over images' rows, or over a toy task's tokens."""
    common = dict(hidden_size=cfg.hidden_size, num_layers=cfg.num_layers, rnn=cfg.rnn,
                  bidirectional=cfg.bidirectional, pooling=cfg.pooling, dropout=cfg.dropout)
    if task is None:
        return RNNClassifier(28, 10, **common)
    return RNNClassifier(cfg.embedding_dim, task.num_classes, vocab_size=task.vocab_size,
                         padding_idx=task.pad_id, **common)


def packed_batch(device):
    """``(tokens, lengths, targets)`` -> ``(PackedSequence of ids, targets)`` on ``device``."""
    def prepare(batch):
        tokens, lengths, targets = batch
        packed = pack_padded_sequence(tokens.to(device), lengths, batch_first=True,
                                      enforce_sorted=False)
        return packed, targets.to(device)
    return prepare


def score_task(model, data, cfg):
    """Test loss and accuracy of ``model`` on a toy task's dataset."""
    prepare = packed_batch(cfg.device)
    loss, acc = Mean(), Accuracy()
    model.eval()
    with no_grad():
        for batch in DataLoader(data, batch_size=1000):
            x, y = prepare(batch)
            logits = model(x)
            loss.update(nn.functional.cross_entropy(logits, y).item(), y.shape[0])
            acc.update(logits, y)
    return {"test_loss": loss.compute(), "test_accuracy": acc.compute()}


def train_toy(cfg):
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir(_name(cfg), cfg)
    train_set, val_set, test_set = (make_task(cfg, s) for s in ("train", "val", "test"))
    model = build_model(cfg, train_set).to(cfg.device)
    print(f"{NAME} ({cfg.task}, {cfg.rnn}): {count_parameters(model):,} parameters; "
          f"{len(train_set):,} training, {len(val_set):,} validation, {len(test_set):,} test "
          f"sequences; e.g. {train_set.decode(0)!r} -> {int(train_set.targets[0])}", flush=True)
    loader_gen = Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True,
                              generator=loader_gen)
    optimizer = make_optimizer(cfg, model.parameters())
    best_path = os.path.join(out, "best.safetensors")
    callbacks = [c for c in [make_schedule(cfg, optimizer, len(train_loader))] if c]
    callbacks.append(BestCheckpoint(best_path, monitor="val_accuracy", mode="max"))
    if cfg.clip_grad_norm:
        callbacks.append(GradientClipping(max_norm=cfg.clip_grad_norm))
    callbacks += [_PrintEpochs(), JSONLLogger(os.path.join(out, "log.jsonl"))]
    trainer = fit(model, optimizer, train_loader, epochs=cfg.epochs,
                  val_loader=DataLoader(val_set, batch_size=1000), callbacks=callbacks,
                  checkpoint=os.path.join(out, "checkpoint.safetensors"), resume=cfg.resume,
                  generators={"loader": loader_gen}, prepare_batch=packed_batch(cfg.device),
                  progress=cfg.progress, desc=NAME, stop_after=cfg.stop_after or None)
    if trainer.stop_reason:
        print(trainer.stop_reason)
    model.load_state_dict(load(best_path))
    best_epoch = next(cb.best_epoch for cb in callbacks if isinstance(cb, BestCheckpoint))
    results = score_task(model, test_set, cfg)
    results.update(recipe=NAME, task=cfg.task, rnn=cfg.rnn, best_epoch=best_epoch,
                   epochs_run=trainer.epoch, parameters=count_parameters(model),
                   wall_seconds=round(time.perf_counter() - start, 1), command=command_line(),
                   machine=f"{platform.machine()}, {os.cpu_count()} cores, "
                           f"{platform.python_implementation()} {platform.python_version()}",
                   config=asdict(cfg), history=trainer.history)
    write_json(os.path.join(out, "results.json"), results)
    print(f"{NAME} ({cfg.task}, {cfg.rnn}): test accuracy {results['test_accuracy']:.2%} on "
          f"{len(test_set):,} generated test sequences (best validation epoch {best_epoch}); "
          f"{results['wall_seconds']:.0f} s; outputs in {out}/")
    return results


def _name(cfg):
    """Outputs of each task go to OUT_DIR/rnn-classify/TASK."""
    if cfg.task not in TASKS:
        raise ValueError(f"--task: expected one of {', '.join(TASKS)}, got {cfg.task!r}")
    return f"{NAME}/{cfg.task}"


def run(cfg):
    name = _name(cfg)
    if cfg.task == "fashion-mnist":
        return train_classifier(name, cfg, lambda: build_model(cfg))
    return train_toy(cfg)


def evaluate(cfg, weights=None):
    name = _name(cfg)
    if cfg.task == "fashion-mnist":
        return evaluate_classifier(name, cfg, lambda: build_model(cfg), weights)
    path = weights or os.path.join(cfg.out_dir, name, "best.safetensors")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{NAME}: no weights at {path}; train first with "
                                f"`nablagrad train {NAME} --task={cfg.task}` or pass "
                                f"--weights=PATH")
    test_set = make_task(cfg, "test")
    model = build_model(cfg, test_set).to(cfg.device)
    state = load(path)
    model.load_state_dict(state["model"] if "optimizer" in state else state)
    results = score_task(model, test_set, cfg)
    print(f"{NAME} ({cfg.task}): test accuracy {results['test_accuracy']:.2%} on "
          f"{len(test_set):,} generated test sequences, weights {path}")
    return results


RECIPE = Recipe(NAME, "GRU/LSTM/RNN sequence classifier: sequential Fashion-MNIST (rows as time "
                      "steps), counting zeros, generated sentiment",
                "sequential Fashion-MNIST test accuracy >= 88%", Config, run, quick=QUICK,
                evaluate=evaluate)
