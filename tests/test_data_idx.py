"""IDX parsing and dataset finding."""
import gzip
import os

import numpy as np
import pytest

from nablagrad.data import find_dataset_file, read_idx


def write_idx(path, array, compress=False):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("compress", [False, True])
def test_roundtrip(tmp_path, compress):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("x.idx" + (".gz" if compress else ""))
    write_idx(path, arr, compress)
    np.testing.assert_array_equal(read_idx(path), arr)


def test_truncated_file_is_an_error(tmp_path):
    arr = np.zeros((5, 4, 4), dtype=np.uint8)
    path = tmp_path / "t.idx"
    write_idx(path, arr)
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(path)


def test_bad_magic_is_an_error(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 10)
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_find_order_root_then_env(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        (folder / "toy").mkdir(parents=True)
        (folder / "toy" / "f.bin").write_bytes(b"x")
    monkeypatch.setenv("NABLAGRAD_DATA", str(b))
    assert find_dataset_file("toy", ["f.bin"], root=str(a)) == os.path.join(a, "toy", "f.bin")
    assert find_dataset_file("toy", ["f.bin"]) == os.path.join(b, "toy", "f.bin")
    with pytest.raises(FileNotFoundError, match="toy"):
        find_dataset_file("toy", ["missing.bin"])


FASHION = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_test_labels():
    labels = read_idx(FASHION)
    assert labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [1000] * 10
