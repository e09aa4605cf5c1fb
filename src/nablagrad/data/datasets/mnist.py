"""MNIST-format datasets (IDX files): MNIST, Fashion-MNIST, Kuzushiji-MNIST.

Sample i is ``(image, target)``: ``image`` a uint8 NumPy array (28, 28) (give
``transform=ToTensor()`` for a float (1, 28, 28) Tensor), ``target`` an int. ``data`` (uint8) and
``targets`` (int64) are Tensors of the whole split, as in torchvision."""
from __future__ import annotations

import os

import numpy as np

from ..._tensor import Tensor
from .in_memory import InMemoryImageDataset
from ..find import find_dataset_file
from ..idx import read_idx
from .download import default_folder, download_from_mirrors


class MNIST(InMemoryImageDataset):
    """Handwritten digits; 60000 train / 10000 test 28×28 images, 10 classes.

    Files are looked for (as .gz or uncompressed) in ``root``, ``$NABLAGRAD_DATA``,
    ``~/.cache/nablagrad`` and system folders (each with the ``folder`` sub-folder); with
    ``download=True`` missing ones are fetched from ``mirrors`` and MD5-checked."""

    folder = "mnist"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        prefix = "train" if train else "t10k"
        images = self._file(f"{prefix}-images-idx3-ubyte.gz", download)
        labels = self._file(f"{prefix}-labels-idx1-ubyte.gz", download)
        data, targets = read_idx(images), read_idx(labels)
        if data.ndim != 3 or targets.ndim != 1 or len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: {images} has shape {data.shape} but "
                             f"{labels} has shape {targets.shape}; expected (N, H, W) and (N,)")
        self.data = Tensor(data)
        self.targets = Tensor(targets.astype(np.int64))

    def _file(self, gz_name, download):
        names = [gz_name, gz_name[:-3]]
        try:
            return find_dataset_file(self.folder, names, self.root)
        except FileNotFoundError:
            if not download:
                raise
        path = os.path.join(default_folder(self.folder, self.root), gz_name)
        return download_from_mirrors(self.mirrors, gz_name, path, self.resources[gz_name])

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _arrays(self):
        return self.data._data, self.targets._data


class FashionMNIST(MNIST):
    """Zalando's article images; same layout as MNIST. Debian's ``dataset-fashion-mnist``
    package installs it to /usr/share/datasets/fashion-mnist, found automatically."""

    folder = "fashion-mnist"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: cursive Japanese characters; same layout as MNIST."""

    folder = "kmnist"
    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = {
        "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
        "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
        "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
        "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
    }
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
