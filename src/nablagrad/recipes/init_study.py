"""The notes' weight-initialisation experiment (004 §1.6.1, Examples 1.5–1.7, Def 1.8 with
ERRATA A4): the same MLP trained from different initial weights, one curve per scheme.

Schemes (weights and biases alike, as the notes do, except where a rule sets biases to 0):
constant 0 and 1 (every unit computes the same thing, so gradients cannot tell them apart);
large random ±1, N(0, 1), U(−1, 1) (activations and gradients blow up); small random ±0.1,
N(0, 0.1²), U(−0.1, 0.1); and the scaled rules: fan-in uniform U(−1/√fan_in, 1/√fan_in)
(PyTorch's default, what the notes call "Xavier"), Xavier/Glorot uniform
U(±√(6/(fan_in+fan_out))) with zero biases, and Kaiming/He normal N(0, 2/fan_in) with zero
biases. Output: ``init_study.png`` (training loss and test accuracy per epoch) and
``results.json``.
"""
import math
import os
import time
from dataclasses import dataclass

from .. import manual_seed, nn, no_grad
from ..data import DataLoader
from ..models.vision import MLP
from ..optim import SGD
from ..train import evaluate, fit
from . import Recipe
from .classify import FashionBatches, write_json, load_data, run_dir
from .config import RunConfig


def _fan_in_uniform_(w, b):
    """U(−1/√fan_in, 1/√fan_in) for weights and biases (the notes' eq. 68)."""
    bound = 1 / math.sqrt(w.shape[1])
    return nn.init.uniform_(w, -bound, bound), nn.init.uniform_(b, -bound, bound)


def _rademacher_(t, scale):
    """Fill ``t`` with ±scale, each sign with probability 1/2."""
    return t.bernoulli_(0.5).mul_(2 * scale).sub_(scale)


SCHEMES = {
    "zeros": lambda w, b: (nn.init.zeros_(w), nn.init.zeros_(b)),
    "ones": lambda w, b: (nn.init.ones_(w), nn.init.ones_(b)),
    "±1": lambda w, b: (_rademacher_(w, 1.0), _rademacher_(b, 1.0)),
    "N(0,1)": lambda w, b: (nn.init.normal_(w, 0, 1), nn.init.normal_(b, 0, 1)),
    "U(-1,1)": lambda w, b: (nn.init.uniform_(w, -1, 1), nn.init.uniform_(b, -1, 1)),
    "±0.1": lambda w, b: (_rademacher_(w, 0.1), _rademacher_(b, 0.1)),
    "N(0,0.1)": lambda w, b: (nn.init.normal_(w, 0, 0.1), nn.init.normal_(b, 0, 0.1)),
    "U(-0.1,0.1)": lambda w, b: (nn.init.uniform_(w, -0.1, 0.1), nn.init.uniform_(b, -0.1, 0.1)),
    "fan-in uniform": _fan_in_uniform_,
    "xavier uniform": lambda w, b: (nn.init.xavier_uniform_(w), nn.init.zeros_(b)),
    "kaiming normal": lambda w, b: (nn.init.kaiming_normal_(w, nonlinearity="relu"),
                                    nn.init.zeros_(b)),
}


@dataclass
class Config(RunConfig):
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    schemes: str = ";".join(SCHEMES)   # a ";"-separated subset of the schemes above
    train_size: int = 0                # first N training images (0: all 60,000)
    test_size: int = 0
    val_size: int = 0                  # fixed: curves use the official test set


def run(cfg):
    start = time.perf_counter()
    out = run_dir("init-study", cfg)
    train_set, _, test_set, mean, std = load_data(cfg)
    prepare = FashionBatches(mean, std, cfg.device)
    runs, summary = {}, {}
    for name in [s.strip() for s in cfg.schemes.split(";")]:
        if name not in SCHEMES:
            raise ValueError(f"init-study: unknown scheme {name!r}; choose from {list(SCHEMES)}")
        manual_seed(cfg.seed)
        model = MLP(hidden=cfg.hidden, activation=cfg.activation).to(cfg.device)
        with no_grad():
            for layer in model.modules():
                if isinstance(layer, nn.Linear):
                    SCHEMES[name](layer.weight, layer.bias)
        before = evaluate(model, DataLoader(test_set, batch_size=1000), prepare_batch=prepare)
        trainer = fit(model, SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum),
                      DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True),
                      epochs=cfg.epochs, val_loader=DataLoader(test_set, batch_size=1000),
                      prepare_batch=prepare, progress=cfg.progress, desc=name)
        history = [{"epoch": 0, "val_loss": before["loss"], "val_accuracy": before["accuracy"]},
                   *trainer.history]
        runs[name] = history
        last = trainer.history[-1] if trainer.history else history[0]
        summary[name] = {"test_accuracy": last["val_accuracy"], "epochs": len(trainer.history),
                         "diverged": trainer.diverged}
        print(f"{name:>15}: test accuracy {last['val_accuracy']:.2%} after "
              f"{len(trainer.history)} epochs" + ("  (diverged: loss became NaN/inf)"
                                                  if trainer.diverged else ""), flush=True)
    write_json(os.path.join(out, "results.json"),
                {"recipe": "init-study", "summary": summary, "runs": runs,
                 "wall_seconds": round(time.perf_counter() - start, 1)})
    try:
        from ..train import plots
        plots.plot_runs(runs, os.path.join(out, "init_study_loss.png"), metric="train_loss",
                        title="Training loss by initialisation (MLP, Fashion-MNIST)",
                        log_scale=True)
        plots.plot_runs(runs, os.path.join(out, "init_study_accuracy.png"),
                        metric="val_accuracy", title="Test accuracy by initialisation")
    except ImportError:
        print("(install matplotlib, `pip install nablagrad[plots]`, for the plots)")
    return summary


RECIPE = Recipe("init-study", "the notes' weight-initialisation experiment (MLP, Fashion-MNIST)",
                "scaled rules train; constant init stalls; large random init diverges or lags",
                Config, run, quick=dict(epochs=1, train_size=2000, test_size=1000,
                                        progress=False))
