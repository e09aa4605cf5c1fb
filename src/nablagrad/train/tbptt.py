"""Truncated back-propagation through time (notes 002 "Recurrent Neural Networks", 004 §5).

Full BPTT of a loss over T steps keeps all T steps in the graph and back-propagates through all
of them: dL/dθ = Σ_t Σ_{s ≤ t} ∂L_t/∂h_t · (Π_{s<u≤t} ∂h_u/∂h_{u−1}) · ∂h_s/∂θ. Truncated BPTT
cuts the sequence into chunks of k steps and updates θ after each chunk. The hidden state is
carried from one chunk to the next (the forward pass still sees the whole history), but it is
*detached* at the chunk boundary, so the products above stop after at most k factors: memory is
O(k) instead of O(T), and the gradient ignores dependencies longer than the chunk.

    state = None
    for x, y in tbptt_chunks((inputs, targets), k):
        state = detach_state(state)
        out, state = model(x, state)
        loss = loss_fn(out, y); optimizer.zero_grad(); loss.backward(); optimizer.step()

:func:`tbptt_step` runs that loop (with optional gradient clipping) for one long batch.
"""
from __future__ import annotations

from .._tensor import Tensor
from ..nn.utils.clip_grad import clip_grad_norm_

__all__ = ["detach_state", "tbptt_chunks", "tbptt_step"]


def detach_state(state):
    """The hidden state cut from its history: a Tensor is detached, tuples and lists (e.g. an
    LSTM's (h, c), or one state per layer) are detached element-wise; None stays None."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected a Tensor, a tuple/list of Tensors or None, got "
                    f"{type(state).__name__}")


def tbptt_chunks(sequences, k, dim=0):
    """Cut a long batch into consecutive chunks of ``k`` time steps along ``dim`` (0 for
    (T, B, ...), 1 for batch_first); the last chunk holds the remaining T mod k steps.

    ``sequences`` is one Tensor or a tuple/list of Tensors with the same length along ``dim``
    (inputs and targets); each chunk has the same structure. Chunks are views (no copies)."""
    single = isinstance(sequences, Tensor)
    seqs = (sequences,) if single else tuple(sequences)
    if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
        raise ValueError(f"tbptt_chunks: k must be a positive integer, got {k!r}")
    if not seqs:
        raise ValueError("tbptt_chunks: expected at least one sequence")
    lengths = {s.shape[dim] for s in seqs}
    if len(lengths) != 1:
        raise ValueError(f"tbptt_chunks: sequences differ in length along dim {dim}: shapes "
                         f"{[list(s.shape) for s in seqs]}")
    T = lengths.pop()
    for start in range(0, T, k):
        n = min(k, T - start)
        chunk = tuple(s.narrow(dim, start, n) for s in seqs)
        yield chunk[0] if single else chunk


def tbptt_step(model, optimizer, inputs, targets, k, loss_fn, state=None, max_norm=None,
               dim=0):
    """One pass of truncated BPTT over a long batch: for each chunk of ``k`` steps, run
    ``model(x, state) -> (output, state)`` from the detached state of the previous chunk,
    ``loss_fn(output, y)``, backward, optional ``clip_grad_norm_(max_norm)``, and an optimizer
    step. Returns (mean loss over the chunks weighted by their length, the final state
    detached) so that the next batch of a continuous stream can go on from it."""
    total, steps = 0.0, 0
    for x, y in tbptt_chunks((inputs, targets), k, dim):
        state = detach_state(state)
        output, state = model(x, state)
        loss = loss_fn(output, y)
        optimizer.zero_grad()
        loss.backward()
        if max_norm is not None:
            clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        n = x.shape[dim]
        total += loss.item() * n
        steps += n
    return total / max(steps, 1), detach_state(state)
