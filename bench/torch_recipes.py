"""The Fashion-MNIST classifier recipes run in PyTorch, for the wall-time column of RESULTS.md.

Same recipe config (``nablagrad.recipes.<name>.Config``, with the same ``--key=value``
overrides), same data split and preprocessing (nablagrad's loader code on NumPy arrays, so the
batches are identical in kind), same model (the torch twins that tests/models/test_vision.py
checks for parity), optimizer, one-cycle schedule, label smoothing, epochs, best-validation-epoch
selection and test evaluation. Only the library doing the training differs.

    python bench/torch_recipes.py cnn [--epochs=2 ...]
"""
from __future__ import annotations

import copy
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "models"))
import test_vision as twins  # noqa: E402

from nablagrad.recipes import get_recipe, make_config  # noqa: E402
from nablagrad.recipes.classify import load_data  # noqa: E402
from nablagrad.data.transforms import RandomCrop, RandomHorizontalFlip  # noqa: E402

BUILD = {
    "logreg": lambda c: twins.TSoftmaxRegression(),
    "mlp": lambda c: twins.TMLP(hidden=c.hidden, dropout=c.dropout),
    "lenet": lambda c: twins.TLeNet5(),
    "cnn": lambda c: twins.TTwoConvNet(widths=c.widths, hidden=c.hidden, dropout=c.dropout),
    "resnet": lambda c: twins.TPreActResNet(blocks=c.blocks, widths=c.widths),
    "densenet": lambda c: twins.TDenseNet(growth_rate=c.growth_rate, blocks=c.blocks),
}


def batches(images, labels, batch_size, mean, std, rng=None, augment=False):
    """Standardised float32 (N, 1, 28, 28) batches; shuffled and augmented when ``rng`` is set."""
    order = rng.permutation(len(images)) if rng is not None else np.arange(len(images))
    ops = [RandomCrop(28, padding=2), RandomHorizontalFlip()] if augment else []
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        x = images[idx][:, None]
        for op in ops:
            x = op(x)
        x = (x.astype(np.float32) - mean) * (1.0 / std)
        yield torch.from_numpy(x), torch.from_numpy(labels[idx])


def accuracy(model, images, labels, mean, std):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in batches(images, labels, 1000, mean, std):
            correct += (model(x).argmax(1) == y).sum().item()
    model.train()
    return correct / len(images)


def main(argv):
    name, tokens = argv[0], argv[1:]
    recipe = get_recipe(name)
    cfg = make_config(recipe.config, recipe.quick, tokens)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count())))
    start = time.perf_counter()
    train_set, val_set, test_set, mean, std = load_data(cfg)
    arrays = lambda ds: tuple(t.numpy() for t in ds.tensors)  # noqa: E731
    (xtr, ytr), (xte, yte) = arrays(train_set), arrays(test_set)
    xva, yva = arrays(val_set) if val_set is not None else (None, None)
    model = BUILD[name](cfg)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                              nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
    else:
        opt = getattr(torch.optim, {"adam": "Adam", "adamw": "AdamW"}[cfg.optimizer])(
            model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = -(-len(xtr) // cfg.batch_size)
    assert cfg.schedule == "onecycle", "only the one-cycle schedule is mirrored here"
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=cfg.epochs,
                                                steps_per_epoch=steps)
    rng = np.random.default_rng(cfg.seed)
    best, best_state = -1.0, None
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        for x, y in batches(xtr, ytr, cfg.batch_size, mean, std, rng, cfg.augment):
            loss = torch.nn.functional.cross_entropy(model(x), y,
                                                     label_smoothing=cfg.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        val = accuracy(model, xva, yva, mean, std) if xva is not None else 0.0
        if val > best:
            best, best_state = val, copy.deepcopy(model.state_dict())
        print(f"epoch {epoch}  val_accuracy {val:.2%}  {time.perf_counter() - t0:.1f} s",
              flush=True)
    model.load_state_dict(best_state)
    test = accuracy(model, xte, yte, mean, std)
    print(f"torch {name}: test accuracy {test:.2%}; {time.perf_counter() - start:.0f} s "
          f"({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main(sys.argv[1:])
