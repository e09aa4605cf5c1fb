"""The perceptron learning algorithm (PLA, Rosenblatt 1958; notes 003, "Simple Learning - PLA")
on a linearly separable 2-D toy set.

h(x) = sign(wᵀx + b). While some point is misclassified, sign(wᵀxᵢ + b) ≠ yᵢ, update
w ← w + yᵢxᵢ, b ← b + yᵢ. The notes' assumption is linear separability; under it the algorithm
stops after at most (R/γ)² updates (Novikoff 1962), with R the largest norm of (xᵢ, 1) and γ the
margin of a unit-norm separator. The recipe checks both: it converges (zero training errors) and
within the bound; and on XOR, which is not separable, it does not converge.
"""
import os
import time
from dataclasses import dataclass

from .. import Generator, manual_seed, tensor
from ..data.datasets.toy2d import linearly_separable
from ..models.vision.perceptron import Perceptron, novikoff_bound
from . import Recipe
from .classify import write_json, run_dir
from .config import RunConfig


@dataclass
class Config(RunConfig):
    n: int = 500             # points
    margin: float = 0.05     # no point lies closer than this to the true separator
    max_epochs: int = 1000   # passes over the data before giving up


def run(cfg):
    start = time.perf_counter()
    manual_seed(cfg.seed)
    out = run_dir("perceptron", cfg)
    x, y, w_true = linearly_separable(cfg.n, dim=2, margin=cfg.margin,
                                      generator=Generator().manual_seed(cfg.seed))
    model = Perceptron(2)
    result = model.fit_pla(x, y, max_epochs=cfg.max_epochs)
    errors = int((model(x) != y).sum().item())
    bound = novikoff_bound(x, y, w_true, tensor(0.0))
    xor_x = tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    xor = Perceptron(2).fit_pla(xor_x, tensor([-1.0, -1.0, 1.0, 1.0]), max_epochs=100)
    results = {"recipe": "perceptron", "converged": result.converged, "epochs": result.epochs,
               "updates": result.updates, "novikoff_bound": bound, "training_errors": errors,
               "xor_converged": xor.converged, "mistakes_per_epoch": result.mistakes_per_epoch,
               "wall_seconds": round(time.perf_counter() - start, 2)}
    write_json(os.path.join(out, "results.json"), results)
    print(f"perceptron: {'converged' if result.converged else 'did NOT converge'} after "
          f"{result.updates} updates in {result.epochs} epochs on {cfg.n} separable points "
          f"(Novikoff bound (R/γ)² = {bound:.0f}); training errors {errors}; "
          f"on XOR: {'converged' if xor.converged else 'no convergence, as expected'}")
    try:
        from ..train import plots
        plots.plot_decision_boundary_2d(lambda p: model(p), x, y,
                                        os.path.join(out, "decision_boundary.png"))
    except ImportError:
        pass
    return results


RECIPE = Recipe("perceptron", "Rosenblatt's perceptron learning algorithm on separable 2-D data",
                "converges with updates <= (R/γ)²; no convergence on XOR", Config, run,
                quick=dict(n=100, progress=False))
