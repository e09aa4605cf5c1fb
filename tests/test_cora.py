"""The Cora loader on the real Planetoid files (counts, split, symmetric edge list, feature
normalisation, test-row reordering) and its restricted unpickler (crafted pickles are refused
without running anything)."""
import collections
import os
import pickle

import numpy as np
import pytest

from nablagrad.data.datasets import Cora
from nablagrad.data.datasets.cora import (_CSRState, edges_from_adjacency_lists,
                                          restricted_load)


_LOADED = {}


@pytest.fixture
def cora(shared_data):
    """Cora from the shared data folder, loaded once per test session."""
    if shared_data not in _LOADED:
        _LOADED[shared_data] = Cora(shared_data)
    return _LOADED[shared_data]


def test_counts_and_dtypes(cora):
    assert (cora.num_nodes, cora.num_features, cora.num_classes) == (2708, 1433, 7)
    assert cora.x.shape == (2708, 1433) and str(cora.x.dtype) == "nablagrad.float32"
    assert str(cora.edge_index.dtype) == str(cora.y.dtype) == "nablagrad.int64"
    ei = cora.edge_index.numpy()
    assert ei.shape == (2, 10556)
    assert not (ei[0] == ei[1]).any()                                   # no self-loops
    pairs = set(map(tuple, ei.T))
    assert len(pairs) == ei.shape[1]                                    # no duplicates
    assert all((j, i) in pairs for i, j in pairs)                       # symmetric
    assert len({(min(i, j), max(i, j)) for i, j in pairs}) == 5278      # undirected edges
    np.testing.assert_array_equal(np.bincount(cora.y.numpy(), minlength=7),
                                  [351, 217, 418, 818, 426, 298, 180])


def test_planetoid_split(shared_data, cora):
    train, val, test = (m.numpy() for m in (cora.train_mask, cora.val_mask, cora.test_mask))
    np.testing.assert_array_equal(np.flatnonzero(train), np.arange(140))
    np.testing.assert_array_equal(np.flatnonzero(val), np.arange(140, 640))
    assert test.sum() == 1000 and not (train & test).any() and not (val & test).any()
    index = np.loadtxt(os.path.join(shared_data, "cora", "ind.cora.test.index"), dtype=np.int64)
    np.testing.assert_array_equal(np.flatnonzero(test), np.sort(index))
    np.testing.assert_array_equal(np.bincount(cora.y.numpy()[train], minlength=7), [20] * 7)


def test_features_row_normalised_and_test_rows_reordered(shared_data, cora):
    folder = os.path.join(shared_data, "cora")
    tx = restricted_load(os.path.join(folder, "ind.cora.tx"))
    ty = restricted_load(os.path.join(folder, "ind.cora.ty"))
    allx = restricted_load(os.path.join(folder, "ind.cora.allx"))
    index = np.loadtxt(os.path.join(folder, "ind.cora.test.index"), dtype=np.int64)
    x = cora.x.numpy()
    np.testing.assert_allclose(x.sum(1), 1.0, rtol=1e-6)  # every Cora row has words
    # row k of tx / ty is node index[k]
    np.testing.assert_allclose(x[index], tx / tx.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(cora.y.numpy()[index], ty.argmax(1))
    np.testing.assert_allclose(x[:1708], allx / allx.sum(1, keepdims=True), rtol=1e-6)
    raw = Cora(shared_data, normalize_features=False).x.numpy()
    assert set(np.unique(raw)) == {0.0, 1.0} and int(raw.sum()) == 49216


def test_missing_files_raise_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NABLAGRAD_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not download Cora"):
        Cora(str(tmp_path))


# ----------------------------------------------------------------------------- restricted pickle
class Exploit:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize("payload, refused", [
    (Exploit(), "system"),
    ({"graph": [1, 2], "evil": Exploit()}, "system"),
    (eval, "eval"),
    (collections.OrderedDict(a=1), "collections.OrderedDict"),
])
def test_restricted_unpickler_refuses_other_globals(tmp_path, monkeypatch, payload, refused):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ind.cora.evil"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refused to load global") as err:
        restricted_load(str(path))
    assert str(path) in str(err.value) and refused in str(err.value)
    assert not (tmp_path / "PWNED").exists()


def test_restricted_unpickler_loads_the_allowed_types(shared_data, tmp_path):
    for obj in (collections.defaultdict(list, {0: [1, 2]}), {"a": [1, 2]}, [3, 4]):
        path = tmp_path / "ok.pkl"
        path.write_bytes(pickle.dumps(obj, protocol=2))
        got = restricted_load(str(path))
        assert type(got) is type(obj) and got == obj
    # NumPy arrays and CSR matrices: the real (Python 2) files; CSR comes back dense
    y = restricted_load(os.path.join(shared_data, "cora", "ind.cora.y"))
    assert y.shape == (140, 7) and (y.sum(1) == 1).all()
    x = restricted_load(os.path.join(shared_data, "cora", "ind.cora.x"))
    assert x.shape == (140, 1433) and x.dtype == np.float32 and set(np.unique(x)) == {0, 1}


def test_inconsistent_csr_is_rejected():
    bad = _CSRState()
    bad.__setstate__({"_shape": (2, 3), "data": np.ones(2), "indices": np.array([0, 7]),
                      "indptr": np.array([0, 1, 2])})
    with pytest.raises(ValueError, match="inconsistent CSR matrix"):
        bad.toarray("f.pkl")


def test_edges_from_adjacency_lists_symmetrises_and_deduplicates():
    ei = edges_from_adjacency_lists({0: [1, 1, 0], 2: [1], 1: [0]}, 4)
    np.testing.assert_array_equal(ei, [[0, 1, 1, 2], [1, 0, 2, 1]])
    with pytest.raises(ValueError, match=r"node ids must lie in \[0, 4\)"):
        edges_from_adjacency_lists({0: [9]}, 4)
