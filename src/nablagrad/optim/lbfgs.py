"""L-BFGS: quasi-Newton steps from a limited history of curvature pairs.

Each iteration takes the flattened gradient g, builds the direction d = −H·g by the two-loop
recursion over the last ``history_size`` pairs (s = step taken, y = change in gradient; a pair is kept
when yᵀs > 1e-10), with the initial Hessian approximation H₀ = (yᵀs / yᵀy)·I, then moves
θ ← θ + t·d. The step t is ``lr`` (the first iteration uses min(1, 1/‖g‖₁)·lr), or comes from a
strong-Wolfe line search (``line_search_fn="strong_wolfe"``: sufficient decrease c1 = 1e-4 and
curvature c2 = 0.9, bracketing then zooming with safeguarded cubic interpolation).
"""
import numpy as np

from .. import autograd, backend
from .._tensor import Tensor
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, f1'=g1) and (x2, f2, g2), clipped to ``bounds``
    (default: the interval between x1 and x2); the midpoint if the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(pos, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Find t satisfying the strong Wolfe conditions along d. ``evaluate(t)`` returns the loss and
    flat gradient at θ + t·d. Returns (loss, grad, t, number of evaluations)."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals, ls_iter = 1, 0
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    # bracketing phase
    while ls_iter < max_ls:
        sufficient = f_new <= f + c1 * t * gtd and not (ls_iter > 1 and f_new >= f_prev)
        if sufficient and abs(gtd_new) <= -c2 * gtd:
            br = [[t, f_new, g_new, gtd_new]]
            done = True
            break
        if not sufficient or gtd_new >= 0:
            br = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        lo_step, hi_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, f_prev, g_prev, gtd_prev, t = (
            t, f_new, g_new, gtd_new,
            _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, (lo_step, hi_step)))
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        br = [[0, f, g, gtd], [t, f_new, g_new, gtd_new]]
    # zoom phase: shrink the bracket [low, high] around a point meeting both conditions
    low, high = (0, 1) if br[0][1] <= br[-1][1] else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:
        a, b = br[0][0], br[1][0]
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(a, br[0][1], br[0][3], b, br[1][1], br[1][3])
        top, bottom = max(a, b), min(a, b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too close to an end: move it inside
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= br[low][1]:
            br[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if br[0][1] <= br[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[high][0] - br[low][0]) >= 0:
                br[high] = list(br[low])
            br[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = br[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
    history_size=100, line_search_fn=None)``. ``step(closure)`` needs a closure that clears the
    gradients, computes the loss, calls backward and returns the loss; one step runs up to
    ``max_iter`` iterations. Only one parameter group is supported."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if lr < 0.0:
            raise ValueError(f"LBFGS: invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # -- flat views of the parameters ------------------------------------------------------------
    def _flat_grad(self):
        xp = backend.xp_of(self._params[0]._data)
        parts = [xp.zeros(p.numel(), p._data.dtype) if p.grad is None else p.grad._data.ravel()
                 for p in self._params]
        return xp.concatenate(parts)

    def _add_to_params(self, step, direction):
        offset = 0
        for p in self._params:
            n = p.numel()
            p._data += step * direction[offset:offset + n].reshape(p._data.shape)
            p._vbox[0] += 1
            offset += n

    def _evaluate_at(self, closure, start, t, d):
        self._add_to_params(t, d)
        loss = float(closure())
        grad = self._flat_grad()
        for p, x in zip(self._params, start):
            p._data[...] = x
            p._vbox[0] += 1
        return loss, grad

    # -- the algorithm ---------------------------------------------------------------------------
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss from the first closure call."""
        if closure is None:
            raise RuntimeError("LBFGS.step requires a closure that re-evaluates the model")
        group = self.param_groups[0]
        with autograd.no_grad():
            return self._run(self._grad_closure(closure), group)

    @staticmethod
    def _grad_closure(closure):
        def run():
            with autograd.enable_grad():
                return closure()
        return run

    def _run(self, closure, group):
        lr, history_size = group["lr"], group["history_size"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss
        mem = _Memory.load(state)
        it = 0
        while it < group["max_iter"]:
            it += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                mem.reset()
                d = -g
            else:
                mem.push(g - mem.prev_flat_grad, mem.d * mem.t, history_size)
                d = mem.direction(g)
            mem.d = d
            mem.prev_flat_grad = g.copy()
            mem.prev_loss = loss
            t = min(1.0, 1.0 / np.abs(g).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = g.dot(d)
            if gtd > -tol_change:
                mem.t = t
                break
            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                start = [p._data.copy() for p in self._params]
                loss, g, t, ls_evals = _strong_wolfe(
                    lambda step: self._evaluate_at(closure, start, step, d), t, d, loss, g, gtd)
                self._add_to_params(t, d)
                converged = np.abs(g).max() <= tol_grad
            else:
                self._add_to_params(t, d)
                converged = False
                if it != group["max_iter"]:
                    loss = float(closure())
                    g = self._flat_grad()
                    converged = np.abs(g).max() <= tol_grad
                    ls_evals = 1
            mem.t = t
            evals += ls_evals
            state["func_evals"] += ls_evals
            if (it == group["max_iter"] or evals >= group["max_eval"] or converged
                    or np.abs(d * t).max() <= tol_change
                    or abs(loss - mem.prev_loss) < tol_change):
                break
        mem.save(state)
        return orig_loss


class _Memory:
    """The L-BFGS history: curvature pairs (y, s), ρ = 1/yᵀs, the scale H_diag and the last direction,
    step and gradient. Kept in the optimizer state as Tensors under PyTorch's names."""

    def __init__(self):
        self.reset()
        self.d = self.t = self.prev_flat_grad = self.prev_loss = None

    def reset(self):
        self.old_dirs, self.old_stps, self.ro, self.H_diag = [], [], [], 1.0

    @classmethod
    def load(cls, state):
        mem = cls()
        if "d" not in state:
            return mem
        mem.old_dirs = [y._data for y in state["old_dirs"]]
        mem.old_stps = [s._data for s in state["old_stps"]]
        mem.ro = list(state["ro"])
        mem.H_diag, mem.t, mem.prev_loss = state["H_diag"], state["t"], state["prev_loss"]
        mem.d, mem.prev_flat_grad = state["d"]._data, state["prev_flat_grad"]._data
        return mem

    def save(self, state):
        state.update(d=Tensor._make(self.d), t=self.t, ro=list(self.ro), H_diag=self.H_diag,
                     old_dirs=[Tensor._make(y) for y in self.old_dirs],
                     old_stps=[Tensor._make(s) for s in self.old_stps],
                     prev_flat_grad=Tensor._make(self.prev_flat_grad), prev_loss=self.prev_loss)

    def push(self, y, s, history_size):
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.old_dirs) == history_size:
                del self.old_dirs[0], self.old_stps[0], self.ro[0]
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(1.0 / ys)
            self.H_diag = ys / y.dot(y)

    def direction(self, g):
        """Two-loop recursion: return −H·g."""
        q = -g
        alphas = []
        for s, y, rho in zip(reversed(self.old_stps), reversed(self.old_dirs), reversed(self.ro)):
            a = s.dot(q) * rho
            q -= a * y
            alphas.append(a)
        r = q * self.H_diag
        for s, y, rho, a in zip(self.old_stps, self.old_dirs, self.ro, reversed(alphas)):
            r += (a - y.dot(r) * rho) * s
        return r
