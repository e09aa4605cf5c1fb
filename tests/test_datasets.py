"""Built-in datasets and downloads. Downloads only ever talk to a local HTTP server."""
import functools
import gzip
import hashlib
import http.server
import io
import os
import tarfile
import threading

import numpy as np
import pytest

import nablagrad as ng
from nablagrad.data import DataLoader, find
from nablagrad.data.datasets import CIFAR10, CIFAR100, KMNIST, MNIST, FashionMNIST, download_url
from nablagrad.data.datasets import download as dl
from nablagrad.data.transforms import ToTensor


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real cache or system folder is seen; the network is never reached."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NABLAGRAD_DATA", raising=False)
    monkeypatch.setattr(find, "SYSTEM_FOLDERS", {})
    for cls in (MNIST, FashionMNIST, KMNIST, CIFAR10, CIFAR100):
        monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/unreachable/"])


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big")
                                                        for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def mnist_files(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test)}
    return arrays, {k: idx_bytes(v) for k, v in arrays.items()}


def cifar_tarball(base_dir, files, label_bytes, seed=0):
    """A tar.gz in the official binary layout; returns (bytes, {file: (images HWC, labels)})."""
    rng = np.random.default_rng(seed)
    buf, truth = io.BytesIO(), {}
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, n in files.items():
            imgs = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
            labels = rng.integers(0, 100 if label_bytes == 2 else 10, (n, label_bytes), dtype=np.uint8)
            raw = np.concatenate([labels, imgs.reshape(n, -1)], axis=1).tobytes()
            info = tarfile.TarInfo(f"{base_dir}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
            truth[name] = (imgs.transpose(0, 2, 3, 1), labels[:, -1].astype(np.int64))
    return buf.getvalue(), truth


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/truncated/"):
            body = b"x" * 100
            self.send_response(200)
            self.send_header("Content-Length", "500")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """(folder served, base URL) of an HTTP server on 127.0.0.1."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def md5(b):
    return hashlib.md5(b).hexdigest()


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST, KMNIST])
def test_mnist_download_and_load(cls, server, tmp_path, monkeypatch):
    folder, url = server
    arrays, files = mnist_files()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/down/", url])  # first mirror fails
    monkeypatch.setattr(cls, "resources", {k: md5(v) for k, v in files.items()})
    root = tmp_path / "root"
    with pytest.raises(FileNotFoundError):
        cls(root=str(root))
    train = cls(root=str(root), download=True)
    test = cls(root=str(root), train=False, download=True)
    assert len(train) == 12 and len(test) == 5
    assert sorted(os.listdir(root / cls.folder)) == sorted(files)  # no temporary files left
    img, target = train[3]
    np.testing.assert_array_equal(img, arrays["train-images-idx3-ubyte.gz"][3])
    assert target == arrays["train-labels-idx1-ubyte.gz"][3] and isinstance(target, int)
    assert train.data.dtype == ng.uint8 and train.targets.dtype == ng.int64
    again = cls(root=str(root), train=False)  # found now, no download needed
    np.testing.assert_array_equal(again.data.numpy(), arrays["t10k-images-idx3-ubyte.gz"])


def test_found_via_env_and_uncompressed(tmp_path, monkeypatch):
    arrays, files = mnist_files()
    env = tmp_path / "env" / "mnist"
    env.mkdir(parents=True)
    for name, data in files.items():
        (env / name[:-3]).write_bytes(gzip.decompress(data))
    monkeypatch.setenv("NABLAGRAD_DATA", str(tmp_path / "env"))
    ds = MNIST(train=False, transform=ToTensor(), target_transform=lambda t: t + 100)
    img, target = ds[1]
    assert tuple(img.shape) == (1, 28, 28) and img.dtype == ng.float32
    np.testing.assert_allclose(img.numpy()[0], arrays["t10k-images-idx3-ubyte.gz"][1] / 255,
                               rtol=1e-6)
    assert target == arrays["t10k-labels-idx1-ubyte.gz"][1] + 100
    x, y = next(iter(DataLoader(ds, batch_size=4)))  # per-sample path with transforms
    assert tuple(x.shape) == (4, 1, 28, 28) and y.dtype == ng.int64


def test_dataloader_fast_path_equals_collate(tmp_path, monkeypatch):
    _, files = mnist_files(n_train=10)
    (tmp_path / "mnist").mkdir()
    for name, data in files.items():
        (tmp_path / "mnist" / name).write_bytes(data)
    ds = MNIST(root=str(tmp_path))
    from nablagrad.data import default_collate
    for (a, b), (c, d) in zip(DataLoader(ds, batch_size=3),
                              DataLoader(ds, batch_size=3, collate_fn=default_collate)):
        assert a.dtype == c.dtype == ng.uint8 and b.dtype == d.dtype == ng.int64
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())


def test_checksum_mismatch_leaves_nothing(server, tmp_path, monkeypatch):
    folder, url = server
    _, files = mnist_files()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    monkeypatch.setattr(MNIST, "mirrors", [url])
    monkeypatch.setattr(MNIST, "resources", {k: "0" * 32 for k in files})
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        MNIST(root=str(tmp_path / "r"), download=True)
    assert os.listdir(tmp_path / "r" / "mnist") == []


def test_truncated_download_is_an_error(server, tmp_path):
    _, url = server
    target = tmp_path / "out" / "f.gz"
    with pytest.raises(OSError, match="truncated"):
        download_url(url + "truncated/f.gz", target)
    assert os.listdir(tmp_path / "out") == []


def test_download_url_writes_verified_file(server, tmp_path):
    folder, url = server
    (folder / "a.bin").write_bytes(b"hello" * 1000)
    path = download_url(url + "a.bin", tmp_path / "a.bin", md5(b"hello" * 1000))
    assert open(path, "rb").read() == b"hello" * 1000 and dl.md5sum(path) == md5(b"hello" * 1000)
    with pytest.raises(OSError):
        download_url(url + "missing.bin", tmp_path / "m.bin")  # HTTP 404
    assert not (tmp_path / "m.bin").exists()


def test_cifar10_download_extract_and_load(server, tmp_path, monkeypatch):
    folder, url = server
    files = {f"data_batch_{i}.bin": 3 for i in range(1, 6)}
    files["test_batch.bin"] = 4
    tar, truth = cifar_tarball("cifar-10-batches-bin", files, 1)
    (folder / "cifar-10-binary.tar.gz").write_bytes(tar)
    monkeypatch.setattr(CIFAR10, "mirrors", [url])
    monkeypatch.setattr(CIFAR10, "archive_md5", md5(tar))
    train = CIFAR10(root=str(tmp_path), download=True)
    assert len(train) == 15 and train.data.shape == (15, 32, 32, 3) and train.data.dtype == np.uint8
    want = np.concatenate([truth[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(train.data, want)
    assert train.targets == np.concatenate([truth[f"data_batch_{i}.bin"][1]
                                            for i in range(1, 6)]).tolist()
    assert os.path.isfile(tmp_path / "cifar-10" / "cifar-10-batches-bin" / "test_batch.bin")
    test = CIFAR10(root=str(tmp_path), train=False, transform=ToTensor())
    img, target = test[2]
    np.testing.assert_allclose(img.numpy(), truth["test_batch.bin"][0][2].transpose(2, 0, 1) / 255,
                               rtol=1e-6)
    assert target == truth["test_batch.bin"][1][2]


def test_cifar100_from_tarball_in_place(tmp_path):
    tar, truth = cifar_tarball("cifar-100-binary", {"train.bin": 6, "test.bin": 2}, 2, seed=1)
    (tmp_path / "cifar-100").mkdir()
    (tmp_path / "cifar-100" / "cifar-100-binary.tar.gz").write_bytes(tar)
    ds = CIFAR100(root=str(tmp_path))  # read straight from the tarball
    np.testing.assert_array_equal(ds.data, truth["train.bin"][0])
    assert ds.targets == truth["train.bin"][1].tolist()  # the fine (second) label byte
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert tuple(x.shape) == (4, 32, 32, 3) and y.numpy().tolist() == ds.targets[:4]


def test_cifar_truncated_file_is_an_error(tmp_path):
    d = tmp_path / "cifar-100" / "cifar-100-binary"
    d.mkdir(parents=True)
    (d / "test.bin").write_bytes(b"\0" * (3074 * 2 - 5))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        CIFAR100(root=str(tmp_path), train=False)


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isfile(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")),
                    reason="Debian dataset-fashion-mnist is not installed")
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.setattr(find, "SYSTEM_FOLDERS", {"fashion-mnist": [FASHION]})
    train, test = FashionMNIST(), FashionMNIST(train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert tuple(train.data.shape) == (60000, 28, 28)
    assert np.bincount(train.targets.numpy()).tolist() == [6000] * 10
    assert np.bincount(test.targets.numpy()).tolist() == [1000] * 10
    assert train.data.numpy().max() == 255 and train.classes[9] == "Ankle boot"
