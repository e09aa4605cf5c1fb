"""CIFAR-10 and CIFAR-100 from the official *binary* archives (never the pickled version).

Record layout (https://www.cs.toronto.edu/~kriz/cifar.html): label byte(s) then 3072 pixel bytes,
1024 red, 1024 green, 1024 blue, each a 32×32 image in row-major order. CIFAR-10 has 1 label
byte; CIFAR-100 has 2 (coarse, fine) and its targets are the fine labels.

Sample i is ``(image, target)``: ``image`` a uint8 NumPy array (32, 32, 3) (``ToTensor()`` makes
it a float (3, 32, 32) Tensor), ``target`` an int; ``data`` (N, 32, 32, 3) uint8 NumPy array and
``targets`` (list of int) as in torchvision."""
from __future__ import annotations

import os
import tarfile
import tempfile

import numpy as np

from .in_memory import InMemoryImageDataset
from ..find import find_dataset_file
from .download import default_folder, download_from_mirrors

_PIXELS = 3 * 32 * 32


def parse_cifar_binary(raw: bytes, label_bytes: int, name: str = "CIFAR"):
    """(images (N, 32, 32, 3) uint8, labels (N,) int64) from binary records; the last label
    byte is the label returned."""
    rec = label_bytes + _PIXELS
    if len(raw) == 0 or len(raw) % rec:
        raise ValueError(f"{name}: {len(raw)} bytes is not a whole number of {rec}-byte records "
                         "(truncated or corrupt)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, rec)
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, label_bytes - 1].astype(np.int64)


class CIFAR10(InMemoryImageDataset):
    """60000 32×32 colour images in 10 classes: 50000 train (data_batch_1..5.bin), 10000 test
    (test_batch.bin). Looked for as extracted .bin files or as the official tarball in ``root``,
    ``$NABLAGRAD_DATA``, ``~/.cache/nablagrad`` (sub-folder ``folder``); with ``download=True``
    the tarball is fetched, MD5-checked and its .bin files extracted."""

    folder = "cifar-10"
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
    archive, archive_md5 = "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"
    base_dir = "cifar-10-batches-bin"
    train_files = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_files = ["test_batch.bin"]
    label_bytes = 1
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        files = self.train_files if train else self.test_files
        raws = self._read(files, download)
        parts = [parse_cifar_binary(r, self.label_bytes, f"{type(self).__name__} {f}")
                 for r, f in zip(raws, files)]
        self.data = np.concatenate([p[0] for p in parts])
        self._targets = np.concatenate([p[1] for p in parts])
        self.targets = self._targets.tolist()

    def _read(self, files, download):
        members = [f"{self.base_dir}/{f}" for f in files]
        try:
            paths = [find_dataset_file(self.folder, [m], self.root) for m in members]
            return [_read_bytes(p) for p in paths]
        except FileNotFoundError:
            pass
        try:
            tar = find_dataset_file(self.folder, [self.archive], self.root)
        except FileNotFoundError:
            if not download:
                raise
            folder = default_folder(self.folder, self.root)
            tar = download_from_mirrors(self.mirrors, self.archive,
                                        os.path.join(folder, self.archive), self.archive_md5)
            _extract(tar, self._all_members(), folder)
            return [_read_bytes(os.path.join(folder, m)) for m in members]
        return _read_members(tar, members)

    def _all_members(self):
        return [f"{self.base_dir}/{f}" for f in self.train_files + self.test_files]

    def _arrays(self):
        return self.data, self._targets


class CIFAR100(CIFAR10):
    """60000 32×32 colour images in 100 fine classes (train.bin 50000, test.bin 10000)."""

    folder = "cifar-100"
    archive, archive_md5 = "cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8"
    base_dir = "cifar-100-binary"
    train_files = ["train.bin"]
    test_files = ["test.bin"]
    label_bytes = 2
    classes = None


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _read_members(tar_path, members):
    """The bytes of the named regular-file members of a tarball (nothing else is touched)."""
    out = []
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for name in members:
                info = tar.getmember(name)
                if not info.isfile():
                    raise ValueError(f"{tar_path}: {name} is not a regular file")
                out.append(tar.extractfile(info).read())
    except (tarfile.TarError, KeyError, EOFError, OSError) as e:
        raise ValueError(f"{tar_path}: cannot read {members} ({e})") from None
    return out


def _extract(tar_path, members, folder):
    """Write the named members under ``folder`` atomically, each via a temporary file."""
    for name, raw in zip(members, _read_members(tar_path, members)):
        dest = os.path.join(folder, *name.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
