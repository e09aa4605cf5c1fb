"""fit / evaluate, callbacks and exact resume from training checkpoints, on small synthetic data."""
import json
import types

import numpy as np
import pytest

import nablagrad as ng
from nablagrad import nn, optim
from nablagrad.data import DataLoader, TensorDataset
from nablagrad.train import (BestCheckpoint, EarlyStopping, GradientClipping, JSONLLogger,
                             LRScheduler, evaluate, fit, load_checkpoint, save_checkpoint)


def blobs(n=240, seed=0):
    """Three Gaussian blobs in 8 dimensions: easy to fit, not trivially."""
    centers = np.random.default_rng(42).normal(0, 2.0, (3, 8))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = centers[y] + rng.normal(0, 1.0, (n, 8))
    return TensorDataset(ng.tensor(x.astype(np.float32)), ng.tensor(y))


def make_run(seed, epochs=4, with_scheduler=True):
    """Model with dropout (uses the RNG), Adam, a per-step one-cycle schedule, early stopping
    and a shuffling loader with its own generator: everything a resume has to restore."""
    ng.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    gen = ng.Generator().manual_seed(seed)
    loader = DataLoader(blobs(), batch_size=32, shuffle=True, generator=gen)
    callbacks = [EarlyStopping("val_loss", patience=10)]
    if with_scheduler:
        callbacks.insert(0, LRScheduler(optim.lr_scheduler.OneCycleLR(
            opt, max_lr=1e-2, epochs=epochs, steps_per_epoch=len(loader)), interval="step"))
    return model, opt, loader, gen, callbacks


def test_fit_learns_and_records_history():
    model, opt, loader, gen, callbacks = make_run(0)
    val = DataLoader(blobs(seed=1), batch_size=64)
    trainer = fit(model, opt, loader, epochs=4, val_loader=val, callbacks=callbacks,
                  progress=False)
    h = trainer.history
    assert [r["epoch"] for r in h] == [1, 2, 3, 4] and trainer.step == 4 * len(loader)
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
            "seconds"} <= set(h[0])
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert h[-1]["val_accuracy"] > 0.8
    assert trainer.stop_reason is None and not trainer.diverged


def test_evaluate_matches_a_manual_pass_and_restores_mode():
    model, *_ = make_run(0)
    data = blobs(seed=2)
    model.train()
    scores = evaluate(model, DataLoader(data, batch_size=50))
    assert model.training
    model.eval()
    x, y = data.tensors
    with ng.no_grad():
        out = model(x)
    loss = nn.functional.cross_entropy(out, y).item()
    acc = (out.argmax(1) == y).float().mean().item()
    assert scores["loss"] == pytest.approx(loss, rel=1e-5)
    assert scores["accuracy"] == pytest.approx(acc)


def test_resume_gives_bit_identical_parameters(tmp_path):
    straight, opt, loader, gen, callbacks = make_run(0)
    fit(straight, opt, loader, epochs=4, callbacks=callbacks, generators={"loader": gen},
        val_loader=DataLoader(blobs(seed=1), batch_size=64), progress=False)

    path = str(tmp_path / "ckpt.safetensors")
    first, opt, loader, gen, callbacks = make_run(0)
    fit(first, opt, loader, epochs=2, callbacks=callbacks, generators={"loader": gen},
        val_loader=DataLoader(blobs(seed=1), batch_size=64), checkpoint=path, progress=False)
    # a fresh process would build everything again, from a different state: resume must
    # overwrite all of it (weights, Adam moments, schedule, RNGs, early-stopping counters)
    resumed, opt, loader, gen, callbacks = make_run(123)
    ng.manual_seed(999)
    trainer = fit(resumed, opt, loader, epochs=4, callbacks=callbacks,
                  generators={"loader": gen}, checkpoint=path, resume=True,
                  val_loader=DataLoader(blobs(seed=1), batch_size=64), progress=False)
    assert [r["epoch"] for r in trainer.history] == [1, 2, 3, 4]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    model, opt, loader, *_ = make_run(0)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(model, opt, loader, epochs=1, checkpoint=str(tmp_path / "none.safetensors"),
            resume=True, progress=False)
    with pytest.raises(ValueError, match="checkpoint="):
        fit(model, opt, loader, epochs=1, resume=True, progress=False)


def test_load_checkpoint_rejects_other_files_and_other_models(tmp_path):
    model, opt, *_ = make_run(0)
    plain = str(tmp_path / "weights.safetensors")
    ng.save(model.state_dict(), plain)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        load_checkpoint(plain, model=model)
    path = str(tmp_path / "ckpt.safetensors")
    save_checkpoint(path, model=model, optimizer=opt, epoch=1, step=5)
    other = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    with pytest.raises(RuntimeError, match="does not fit this run"):
        load_checkpoint(path, model=other)


def test_nan_loss_stops_with_a_clear_message():
    ng.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=1e30)
    trainer = fit(model, opt, DataLoader(blobs(), batch_size=32), epochs=3,
                  val_loader=DataLoader(blobs(), batch_size=64), progress=False)
    assert trainer.diverged and trainer.epoch == 1
    assert "diverged" in trainer.stop_reason and "learning rate 1e+30" in trainer.stop_reason
    assert trainer.history == []


def fake_trainer(**record):
    return types.SimpleNamespace(record=record, epoch=1, stop_reason=None,
                                 model=nn.Linear(2, 2))


def test_early_stopping_counts_epochs_without_improvement():
    stop = EarlyStopping("val_loss", mode="min", patience=2, min_delta=0.01)
    t = fake_trainer()
    for value in [1.0, 0.9, 0.895, 0.95]:   # 0.895 is within min_delta: no improvement
        t.record = {"val_loss": value}
        stop.on_epoch_end(t)
    assert "early stopping" in t.stop_reason and stop.bad_epochs == 2
    restored = EarlyStopping("val_loss", patience=2)
    restored.load_state_dict(stop.state_dict())
    assert restored.state_dict() == {"best": 0.9, "bad_epochs": 2}


def test_callbacks_name_a_missing_metric():
    t = fake_trainer(train_loss=1.0)
    with pytest.raises(KeyError, match="val_accuracy.*val_loader"):
        EarlyStopping("val_accuracy", mode="max").on_epoch_end(t)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_best_checkpoint_saves_only_improvements(tmp_path):
    path = str(tmp_path / "best.safetensors")
    best = BestCheckpoint(path, monitor="val_accuracy", mode="max")
    t = fake_trainer()
    for epoch, acc in enumerate([0.5, 0.7, 0.6], start=1):
        t.epoch, t.record = epoch, {"val_accuracy": acc}
        if epoch == 2:
            saved = {k: v.clone() for k, v in t.model.state_dict().items()}
        if epoch == 3:
            with ng.no_grad():
                t.model.weight.add_(1.0)
        best.on_epoch_end(t)
    assert best.best == 0.7 and best.best_epoch == 2
    loaded = ng.load(path)
    np.testing.assert_array_equal(loaded["weight"].numpy(), saved["weight"].numpy())


def test_gradient_clipping_bounds_the_total_norm():
    model = nn.Linear(4, 3)
    for p in model.parameters():
        p.grad = ng.full(p.shape, 10.0)
    t = types.SimpleNamespace(model=model, grad_norm=None)
    GradientClipping(max_norm=1.0).on_after_backward(t)
    total = np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in model.parameters()))
    assert t.grad_norm == pytest.approx(10.0 * np.sqrt(15)) and total == pytest.approx(1.0)
    GradientClipping(max_value=0.01).on_after_backward(t)
    assert max(np.abs(p.grad.numpy()).max() for p in model.parameters()) <= 0.01
    with pytest.raises(ValueError, match="max_norm"):
        GradientClipping()


def test_plateau_scheduler_is_stepped_with_the_monitored_metric():
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=1.0)
    cb = LRScheduler(optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5),
                     monitor="val_loss")
    t = fake_trainer()
    for value in [1.0, 1.0, 1.0]:
        t.record = {"val_loss": value}
        cb.on_epoch_end(t)
    assert opt.param_groups[0]["lr"] == 0.25
    with pytest.raises(ValueError, match="once per epoch"):
        LRScheduler(optim.lr_scheduler.ReduceLROnPlateau(opt), interval="step")


def test_jsonl_log_has_each_epoch_once_after_resume(tmp_path):
    log, ckpt = str(tmp_path / "log.jsonl"), str(tmp_path / "ckpt.safetensors")
    model, opt, loader, gen, _ = make_run(0)
    fit(model, opt, loader, epochs=2, callbacks=[JSONLLogger(log)], checkpoint=ckpt,
        generators={"loader": gen}, progress=False)
    model, opt, loader, gen, _ = make_run(0)
    fit(model, opt, loader, epochs=3, callbacks=[JSONLLogger(log)], checkpoint=ckpt,
        resume=True, generators={"loader": gen}, progress=False)
    with open(log) as f:
        records = [json.loads(line) for line in f]
    assert [r["epoch"] for r in records] == [1, 2, 3]
