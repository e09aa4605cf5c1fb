"""Message passing on graphs (notes 002, "Graph Neural Networks"; J. Gilmer et al., "Neural
Message Passing for Quantum Chemistry", ICML 2017).

A graph with N nodes is given by node features x (N, F) and an ``edge_index`` (2, E) of int64:
column k is an edge j → i with j = edge_index[0, k] (source) and i = edge_index[1, k] (target);
an undirected graph lists both directions. One message-passing step computes, for every node i
with in-neighbours N(i),

    m_ji = φ(x_i, x_j, e_ji)                (message, one per edge)
    a_i  = ⊕_{j ∈ N(i)} m_ji                (aggregate: sum, mean or max; a permutation-invariant
                                             function of the multiset of messages)
    x'_i = γ(x_i, a_i)                      (update)

Because ⊕ ignores the order of the neighbours and φ, γ are shared by all nodes, relabelling the
nodes by a permutation P permutes the outputs the same way: f(Px, PAPᵀ) = P f(x, A)
(equivariance). A readout y = ρ({x_i : i ∈ G}) with ρ = sum, mean or max over the nodes of each
graph is then invariant: y(Px, PAPᵀ) = y(x, A) — the notes' permutation-invariance requirement.

Gradients: sum sends dL/da_i back to every message of i; mean sends dL/da_i / |N(i)|; max sends
it to the maximal message(s) (shared equally among ties). Nodes without in-edges aggregate to 0.
"""
from __future__ import annotations

import inspect

import numpy as np

from ... import nn
from ...backend import bool_, get_default_dtype, int64
from ...ops.creation import arange, from_numpy, full, zeros
from ...ops.shape import cat
from ..._tensor import Tensor

AGGREGATIONS = ("sum", "mean", "max", "min")


# ----------------------------------------------------------------------------- edge utilities
def check_edge_index(edge_index, num_nodes, who="message passing"):
    """Raise a clear error unless ``edge_index`` is an integer (2, E) tensor of ids < num_nodes."""
    if not isinstance(edge_index, Tensor) or edge_index.ndim != 2 or edge_index.shape[0] != 2:
        shape = list(edge_index.shape) if hasattr(edge_index, "shape") else type(edge_index)
        raise ValueError(f"{who}: edge_index must be a (2, E) tensor, got {shape}")
    if edge_index.dtype.is_floating_point or edge_index.dtype == bool_:
        raise TypeError(f"{who}: edge_index must hold integers, got {edge_index.dtype}")
    if edge_index.shape[1]:
        lo, hi = int(edge_index.min().item()), int(edge_index.max().item())
        if lo < 0 or hi >= num_nodes:
            raise IndexError(f"{who}: edge_index holds node ids in [{lo}, {hi}] but there are "
                             f"{num_nodes} nodes")


def remove_self_loops(edge_index, edge_weight=None):
    """The edges j → i with j ≠ i (and their weights)."""
    keep = (edge_index[0] != edge_index[1]).nonzero().reshape(-1)
    ei = edge_index.index_select(1, keep)
    return ei, (None if edge_weight is None else edge_weight.index_select(0, keep))


def add_self_loops(edge_index, edge_weight=None, fill_value=1.0, num_nodes=None):
    """Replace any self-loops by exactly one loop i → i per node (weight ``fill_value``), appended
    after the other edges: the edge list of A + I for an A without self-loops."""
    n = num_nodes if num_nodes is not None else int(edge_index.max().item()) + 1
    ei, w = remove_self_loops(edge_index, edge_weight)
    loops = arange(n, dtype=ei.dtype).unsqueeze(0).expand(2, n)
    ei = cat([ei, loops], dim=1)
    if w is not None:
        w = cat([w, full((n,), fill_value, dtype=w.dtype)])
    return ei, w


def degree(index, num_nodes, dtype=None):
    """How often each node id occurs in ``index`` (a constant tensor of shape (num_nodes,))."""
    counts = np.bincount(index.numpy().reshape(-1), minlength=num_nodes)
    dtype = dtype or get_default_dtype()
    return from_numpy(counts).to(dtype)


# ----------------------------------------------------------------------------- aggregation
def scatter(src, index, dim_size, reduce="sum"):
    """out[i] = ⊕_{k : index[k] = i} src[k] along dim 0, for ⊕ in sum, mean, max, min; rows
    that receive nothing are 0. ``src`` is (E, ...) and ``index`` (E,) int64."""
    if reduce not in AGGREGATIONS:
        raise ValueError(f"scatter: reduce must be one of {AGGREGATIONS}, got {reduce!r}")
    if index.ndim != 1 or index.shape[0] != src.shape[0]:
        raise ValueError(f"scatter: index of shape {list(index.shape)} must be a vector with one "
                         f"entry per row of src {list(src.shape)}")
    out = zeros(dim_size, *src.shape[1:], dtype=src.dtype)
    if reduce in ("sum", "mean"):
        out = out.index_add(0, index, src)
        if reduce == "mean":
            count = degree(index, dim_size, src.dtype).clamp(min=1)
            out = out / count.reshape(-1, *([1] * (src.ndim - 1)))
        return out
    idx = index.reshape(-1, *([1] * (src.ndim - 1))).expand(*src.shape)
    return out.scatter_reduce(0, idx, src, "amax" if reduce == "max" else "amin",
                              include_self=False)


def softmax(src, index, num_nodes):
    """The softmax of ``src`` (E, ...) within each group of entries sharing ``index`` (E,):
    α_k = exp(s_k) / Σ_{l : index[l] = index[k]} exp(s_l). The group maximum is subtracted first
    (a constant shift, which leaves the softmax and its gradient unchanged)."""
    peak = scatter(src.detach(), index, num_nodes, "max")
    e = (src - peak.index_select(0, index)).exp()
    total = scatter(e, index, num_nodes, "sum")
    return e / total.index_select(0, index)


class MessagePassing(nn.Module):
    """The message / aggregate / update scheme. Subclasses define ``message(x_j, ...)`` (and
    optionally take ``x_i``, the target's features) and ``update(aggr_out, x)``; ``forward`` calls
    ``self.propagate(edge_index, x, **kwargs)``, where keyword tensors with one row per edge
    (e.g. ``edge_weight``) are passed on to ``message``."""

    def __init__(self, aggr="sum"):
        super().__init__()
        if aggr not in AGGREGATIONS:
            raise ValueError(f"{type(self).__name__}: aggr must be one of {AGGREGATIONS}, "
                             f"got {aggr!r}")
        self.aggr = aggr
        self._wants_x_i = "x_i" in inspect.signature(self.message).parameters

    def propagate(self, edge_index, x, num_nodes=None, **kwargs):
        n = x.shape[0] if num_nodes is None else num_nodes
        check_edge_index(edge_index, n, type(self).__name__)
        src, dst = edge_index[0], edge_index[1]
        if self._wants_x_i:
            kwargs["x_i"] = x.index_select(0, dst)
        messages = self.message(x.index_select(0, src), **kwargs)
        return self.update(self.aggregate(messages, dst, n), x)

    def message(self, x_j):
        """m_ji = x_j (override)."""
        return x_j

    def aggregate(self, messages, index, num_nodes):
        """a_i = ⊕ of the messages whose target is i (``self.aggr``)."""
        return scatter(messages, index, num_nodes, self.aggr)

    def update(self, aggr_out, x):
        """x'_i = a_i (override)."""
        return aggr_out

    def extra_repr(self):
        return f"aggr={self.aggr!r}"


# ----------------------------------------------------------------------------- readout
def _pool(x, batch, size, reduce):
    if batch is None:
        return scatter(x, zeros(x.shape[0], dtype=int64), 1, reduce)
    if batch.ndim != 1 or batch.shape[0] != x.shape[0]:
        raise ValueError(f"global_{reduce}_pool: batch of shape {list(batch.shape)} must give one "
                         f"graph id per node of x {list(x.shape)}")
    size = size if size is not None else (int(batch.max().item()) + 1 if batch.numel() else 0)
    return scatter(x, batch, size, reduce)


def global_add_pool(x, batch=None, size=None):
    """y_g = Σ_{i ∈ g} x_i for each graph g (``batch[i]`` is node i's graph); (size, F)."""
    return _pool(x, batch, size, "sum")


def global_mean_pool(x, batch=None, size=None):
    """y_g = (1/|g|) Σ_{i ∈ g} x_i."""
    return _pool(x, batch, size, "mean")


def global_max_pool(x, batch=None, size=None):
    """y_g = max_{i ∈ g} x_i (per feature)."""
    return _pool(x, batch, size, "max")
