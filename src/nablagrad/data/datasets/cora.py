"""Cora: the citation graph with the Planetoid split (Z. Yang, W. Cohen, R. Salakhutdinov,
"Revisiting Semi-Supervised Learning with Graph Embeddings", ICML 2016), as used by T. Kipf and
M. Welling, "Semi-Supervised Classification with Graph Convolutional Networks", ICLR 2017
(notes 002, "Graph Neural Networks": nodes are documents, edges citation links, node attributes
bag-of-words vectors, labels the topics).

2,708 nodes, 1,433 binary word features, 7 classes, 5,278 undirected edges (10,556 directed).
Split: train = the first 140 labelled nodes (20 per class), validation = nodes 140..639 (500),
test = the 1,000 nodes listed in ``ind.cora.test.index``.

Files (from the GCN repository, no download): ``ind.cora.{x,y,tx,ty,allx,ally,graph}`` are
Python 2 pickles (SciPy CSR matrices, NumPy arrays, a dict of adjacency lists) and
``ind.cora.test.index`` is text. ``allx`` holds nodes 0..1707 (``x`` is its first 140 rows);
``tx`` holds the test nodes in the order of ``test.index``, so row k of ``tx`` is node
``test.index[k]``. Features are row-normalised as in Kipf & Welling: x_i ← x_i / Σ_f x_if.

The pickles are read with a restricted unpickler: only the NumPy array globals and the CSR class
(replaced by a plain holder of its arrays, which are validated) and builtin containers load;
any other global is refused with an error naming the file and the global.
"""
from __future__ import annotations

import collections
import pickle

import numpy as np

from ...ops.creation import from_numpy
from ..find import find_dataset_file

PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph")


# ----------------------------------------------------------------------------- restricted pickle
class _CSRState:
    """Stands in for ``scipy.sparse.csr_matrix`` while unpickling: keeps the pickled arrays
    (``data``, ``indices``, ``indptr``, ``_shape``), checked before a dense array is built."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"CSR matrix state should be a dict, got {type(state)}")
        self.state = state

    def toarray(self, path):
        s = getattr(self, "state", {})
        shape = s.get("_shape", s.get("shape"))
        data, indices, indptr = s.get("data"), s.get("indices"), s.get("indptr")
        arrays_ok = all(isinstance(a, np.ndarray) and a.ndim == 1 for a in (data, indices, indptr))
        if not (arrays_ok and isinstance(shape, tuple) and len(shape) == 2):
            raise ValueError(f"{path}: malformed CSR matrix (keys {sorted(s)})")
        rows, cols = (int(n) for n in shape)
        if (indptr.size != rows + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0)
                or indptr[-1] != data.size or indices.size != data.size
                or (indices.size and (indices.min() < 0 or indices.max() >= cols))):
            raise ValueError(f"{path}: inconsistent CSR matrix of shape {shape}")
        out = np.zeros((rows, cols), dtype=data.dtype)
        row_of = np.repeat(np.arange(rows), np.diff(indptr))
        np.add.at(out, (row_of, indices), data)
        return out


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("scipy.sparse.csr", "csr_matrix"): lambda: _CSRState,
    ("scipy.sparse._csr", "csr_matrix"): lambda: _CSRState,
    ("scipy.sparse", "csr_matrix"): lambda: _CSRState,
    ("collections", "defaultdict"): lambda: collections.defaultdict,
    ("__builtin__", "list"): lambda: list,
    ("builtins", "list"): lambda: list,
    ("__builtin__", "dict"): lambda: dict,
    ("builtins", "dict"): lambda: dict,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``ALLOWED_GLOBALS``."""

    def __init__(self, file, path):
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module, name):
        make = ALLOWED_GLOBALS.get((module, name))
        if make is None:
            raise pickle.UnpicklingError(
                f"{self.path}: refused to load global {module}.{name}; only NumPy arrays, SciPy "
                f"CSR matrices and dicts/lists are allowed in Planetoid files")
        return make()


def restricted_load(path):
    """Unpickle ``path`` (latin1, for Python 2 pickles) allowing only the Planetoid types; CSR
    matrices come back as dense NumPy arrays."""
    with open(path, "rb") as f:
        obj = RestrictedUnpickler(f, path).load()
    return obj.toarray(path) if isinstance(obj, _CSRState) else obj


# ----------------------------------------------------------------------------- graph building
def edges_from_adjacency_lists(graph, num_nodes):
    """The symmetric edge list (2, E) int64 of an undirected graph given as {node: [neighbours]}:
    both directions of every edge, each once, no self-loops, sorted by (source, target)."""
    src = np.fromiter((k for k, v in graph.items() for _ in v), np.int64)
    dst = np.fromiter((j for v in graph.values() for j in v), np.int64)
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
        raise ValueError(f"graph: node ids must lie in [0, {num_nodes}), got "
                         f"[{min(src.min(), dst.min())}, {max(src.max(), dst.max())}]")
    both = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], axis=1)
    both = both[:, both[0] != both[1]]
    keys = np.unique(both[0] * num_nodes + both[1])
    return np.stack([keys // num_nodes, keys % num_nodes])


def row_normalize(x):
    """x_i / Σ_f x_if for each row (rows summing to 0 stay 0), as in Kipf & Welling."""
    s = x.sum(axis=1, keepdims=True)
    return x / np.where(s == 0, 1, s)


def mask(indices, n):
    out = np.zeros(n, dtype=bool)
    out[np.asarray(indices, dtype=np.int64)] = True
    return out


class Cora:
    """The Cora graph as tensors: ``x`` (N, 1433) float32 (row-normalised if
    ``normalize_features``), ``y`` (N,) int64, ``edge_index`` (2, E) int64 (symmetric, no
    duplicates or self-loops), and bool masks ``train_mask``, ``val_mask``, ``test_mask``.

    Files are looked for in ``root``, ``$NABLAGRAD_DATA`` and ``~/.cache/nablagrad`` (each
    directly or in a ``cora/`` subfolder); nothing is downloaded."""

    name = "cora"

    def __init__(self, root=None, normalize_features=True):
        parts = {p: restricted_load(self._path(root, f"ind.cora.{p}")) for p in PARTS}
        test_index = np.loadtxt(self._path(root, "ind.cora.test.index"), dtype=np.int64, ndmin=1)
        x, y, edge_index, masks = _planetoid_arrays(parts, test_index)
        if normalize_features:
            x = row_normalize(x)
        self.num_nodes, self.num_features = x.shape
        self.num_classes = int(y.max()) + 1
        self.x = from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        self.y = from_numpy(y)
        self.edge_index = from_numpy(edge_index)
        self.train_mask, self.val_mask, self.test_mask = (from_numpy(m) for m in masks)

    @staticmethod
    def _path(root, filename):
        try:
            return find_dataset_file("cora", [filename], root)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"Cora: {filename} not found ({err}). Nablagrad does not download Cora: put the "
                f"Planetoid files ind.cora.* (github.com/tkipf/gcn, gcn/data/) in a folder and "
                f"pass root= or set $NABLAGRAD_DATA") from None

    @property
    def num_edges(self):
        return int(self.edge_index.shape[1])

    def __repr__(self):
        return (f"Cora(num_nodes={self.num_nodes}, num_features={self.num_features}, "
                f"num_classes={self.num_classes}, num_edges={self.num_edges})")


def _planetoid_arrays(parts, test_index):
    """Features, labels, edges and split masks from the loaded Planetoid parts, following the
    original GCN code: the test rows (``tx``/``ty``, in ``test_index`` order) go to the nodes
    ``test_index``; train = range(len(y)), val = the next 500, test = sorted(test_index)."""
    for p in ("x", "tx", "allx", "y", "ty", "ally"):
        if not isinstance(parts[p], np.ndarray) or parts[p].ndim != 2:
            raise ValueError(f"Cora: ind.cora.{p} should hold a 2-D matrix, got "
                             f"{type(parts[p]).__name__}")
    if not isinstance(parts["graph"], dict):
        raise ValueError(f"Cora: ind.cora.graph should hold a dict, got "
                         f"{type(parts['graph']).__name__}")
    test_sorted = np.sort(test_index)
    features = np.concatenate([parts["allx"], parts["tx"]])
    onehot = np.concatenate([parts["ally"], parts["ty"]])
    if test_index.size != parts["tx"].shape[0] or test_sorted[-1] >= features.shape[0]:
        raise ValueError(f"Cora: {test_index.size} test indices (max {test_sorted[-1]}) do not "
                         f"match tx with {parts['tx'].shape[0]} rows and "
                         f"{features.shape[0]} nodes in all")
    features[test_index] = features[test_sorted]
    onehot[test_index] = onehot[test_sorted]
    n = features.shape[0]
    labels = onehot.argmax(axis=1).astype(np.int64)
    edge_index = edges_from_adjacency_lists(parts["graph"], n)
    n_train = parts["y"].shape[0]
    masks = (mask(range(n_train), n), mask(range(n_train, n_train + 500), n), mask(test_sorted, n))
    return features, labels, edge_index, masks
