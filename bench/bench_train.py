"""Training steps of the vision models against PyTorch (CPU), and the DataLoader's share of an
epoch. Prints a markdown table of ours / torch time ratios, then the loader fractions.

    python bench/bench_train.py            # batch 128, 2 threads each
    python bench/bench_train.py --quick    # batch 2, 3 rounds, 12 loader batches (smoke)

A step is forward + cross_entropy + backward + SGD(lr 0.01, momentum 0.9).step() on the same
float32 weights and batch for both sides (the torch twins are the ones tests/models/test_vision.py
checks for parity): MLP 784-512-512-10, SmallCNN and PreActResNet with their defaults, in train
mode. The loader case iterates one epoch of Fashion-MNIST train (60k uint8 images, batch 128,
shuffle) and normalises each batch to float; torch's side is DataLoader over a TensorDataset of
the same arrays. It is skipped, with a message, if the dataset files are not found.
"""
from __future__ import annotations

import itertools
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "models"))
from harness import run_cli  # noqa: E402
from test_vision import TMLP, TPreActResNet, TSmallCNN  # noqa: E402

import nablagrad as ng  # noqa: E402
import nablagrad.nn.functional as F  # noqa: E402
from nablagrad.models.vision import MLP, PreActResNet, SmallCNN  # noqa: E402

MODELS = (("MLP 784-512-512-10", MLP, TMLP), ("SmallCNN", SmallCNN, TSmallCNN),
          ("PreActResNet", PreActResNet, TPreActResNet))
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST train pixel statistics (in [0, 1])


def twins(make, make_twin):
    """Our model and its torch twin holding the same float32 weights."""
    ours, theirs = make(), make_twin()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def step(lib, functional, model, x, y):
    """A callable doing one SGD-momentum training step of ``model`` on (x, y)."""
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def run():
        opt.zero_grad()
        functional.cross_entropy(model(x), y).backward()
        opt.step()
    return run


def loader_epochs(batches):
    """Callables running ``batches`` batches (None: a whole epoch) of each side's DataLoader over
    Fashion-MNIST train, and that number of batches; None if the dataset is not found."""
    try:
        ds = ng.data.datasets.FashionMNIST(train=True)
    except FileNotFoundError as e:
        print(f"skipping the DataLoader case: Fashion-MNIST not found ({e})\n")
        return None
    loader = ng.data.DataLoader(ds, batch_size=128, shuffle=True)
    tds = torch.utils.data.TensorDataset(torch.from_numpy(ds.data.numpy()),
                                         torch.from_numpy(ds.targets.numpy()))
    tloader = torch.utils.data.DataLoader(tds, batch_size=128, shuffle=True)
    batches = min(batches or len(loader), len(loader))

    def ours():
        for xb, yb in itertools.islice(loader, batches):
            ((xb.to(ng.float32) * (1 / 255) - MEAN) / STD).unsqueeze(1)

    def theirs():
        for xb, yb in itertools.islice(tloader, batches):
            ((xb.to(torch.float32) * (1 / 255) - MEAN) / STD).unsqueeze(1)
    return ours, theirs, batches


def cases(quick):
    rng = np.random.default_rng(0)
    n = 2 if quick else 128
    x = rng.standard_normal((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    out = []
    for name, make, make_twin in MODELS:
        ng.manual_seed(0)
        ours, theirs = twins(make, make_twin)
        out.append((f"{name} train step, batch {n}",
                    step(ng, F, ours, ng.tensor(x), ng.tensor(y)),
                    step(torch, torch.nn.functional, theirs, torch.from_numpy(x),
                         torch.from_numpy(y))))
    loaders = loader_epochs(12 if quick else None)
    if loaders is not None:
        ours, theirs, batches = loaders
        out.append((f"DataLoader {batches} batches of 128, shuffle, normalise", ours, theirs))
    return out


def fractions(rows):
    """The loader's time as a fraction of an MLP epoch (the same number of batch-128 steps)."""
    loader = next((r for r in rows if r["case"].startswith("DataLoader")), None)
    mlp = next(r for r in rows if r["case"].startswith("MLP"))
    if loader is None or "batch 128" not in mlp["case"]:
        return
    batches = int(loader["case"].split()[1])
    for side in ("ours", "torch"):
        train_ms = mlp[f"{side}_ms"] * batches
        print(f"\n{side}: DataLoader {loader[f'{side}_ms']:.1f} ms = "
              f"{100 * loader[f'{side}_ms'] / train_ms:.1f}% of the MLP's {batches} training "
              f"steps ({train_ms:.0f} ms)", end="")
    print()


def main(argv=None):
    rows = run_cli(__doc__, cases, argv, threads=2, quick_rounds=3, min_time=0.1)
    fractions(rows)
    return rows


if __name__ == "__main__":
    main()
