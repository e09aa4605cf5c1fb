"""Command line: ``nablagrad demo`` (also ``python -m nablagrad demo``).

``demo`` trains a two-layer perceptron on Fashion-MNIST with nablagrad's autograd and plain
mini-batch SGD with momentum, then prints the test accuracy. The full toolkit (nn, optim, data,
recipes) comes with the recipes; this command shows the engine at work on real data.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def load_fashion_mnist(root=None):
    """(train_x, train_y, test_x, test_y): images as float32 in [0, 1], flattened to 784."""
    from .data import find_dataset_file, read_idx
    parts = []
    for split in ("train", "t10k"):
        images = read_idx(find_dataset_file("fashion-mnist", [f"{split}-images-idx3-ubyte.gz",
                                                               f"{split}-images-idx3-ubyte"], root))
        labels = read_idx(find_dataset_file("fashion-mnist", [f"{split}-labels-idx1-ubyte.gz",
                                                               f"{split}-labels-idx1-ubyte"], root))
        parts += [images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)]
    return parts


def demo(args) -> int:
    import nablagrad as ng
    import nablagrad.nn.functional as F

    ng.manual_seed(args.seed)
    train_x, train_y, test_x, test_y = load_fashion_mnist(args.data_root)
    if args.quick:
        train_x, train_y = train_x[:6000], train_y[:6000]
    mean, std = train_x.mean(), train_x.std()
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std

    def init(fan_in, fan_out):  # Kaiming-uniform, as PyTorch's nn.Linear default
        bound = 1 / np.sqrt(fan_in)
        w = ng.empty(fan_out, fan_in).uniform_(-bound, bound).requires_grad_()
        b = ng.empty(fan_out).uniform_(-bound, bound).requires_grad_()
        return w, b

    params = [*init(784, args.hidden), *init(args.hidden, 10)]
    velocity = [ng.zeros_like(p) for p in params]

    def forward(x):
        w1, b1, w2, b2 = params
        return F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)

    start = time.perf_counter()
    order_rng = np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        order = order_rng.permutation(len(train_x))
        total, steps = 0.0, 0
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = F.cross_entropy(forward(ng.from_numpy(train_x[idx])), ng.from_numpy(train_y[idx]))
            for p in params:
                p.grad = None
            loss.backward()
            with ng.no_grad():
                for p, v in zip(params, velocity):
                    v.mul_(args.momentum).add_(p.grad)
                    p.sub_(v, alpha=args.lr)
            total += loss.item()
            steps += 1
        with ng.no_grad():
            pred = forward(ng.from_numpy(test_x)).argmax(dim=1).numpy()
        acc = float((pred == test_y).mean())
        print(f"epoch {epoch + 1}/{args.epochs}  train loss {total / steps:.4f}  "
              f"test accuracy {acc:.2%}  ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"Fashion-MNIST test accuracy (10,000 images): {acc:.2%}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="nablagrad", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="train an MLP on Fashion-MNIST and print the test accuracy")
    d.add_argument("--epochs", type=int, default=5)
    d.add_argument("--batch-size", type=int, default=128)
    d.add_argument("--hidden", type=int, default=256)
    d.add_argument("--lr", type=float, default=0.01)
    d.add_argument("--momentum", type=float, default=0.9)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quick", action="store_true", help="train on 6,000 images (smoke test)")
    d.add_argument("--data-root", default=None)
    args = parser.parse_args(argv)
    return {"demo": demo}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
