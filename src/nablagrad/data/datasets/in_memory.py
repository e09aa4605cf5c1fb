"""What the image-classification datasets share: images and integer labels held in memory as
NumPy arrays, optional per-sample transforms, and whole-batch indexing for the DataLoader."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ..dataset import Dataset


class InMemoryImageDataset(Dataset):
    """Subclasses set ``train``, ``transform``, ``target_transform`` and implement
    ``_arrays()``, which returns (images, labels) as NumPy arrays with one sample per row."""

    def _arrays(self):
        raise NotImplementedError

    def __len__(self):
        return len(self._arrays()[1])

    def __getitem__(self, index):
        images, labels = self._arrays()
        img, target = images[index], int(labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    @property
    def batchable(self):
        """Whether ``get_batch`` equals collating samples (no per-sample transforms)."""
        return self.transform is None and self.target_transform is None

    def get_batch(self, indices):
        """Samples at ``indices``, collated: (uint8 images (B, ...), int64 targets (B,))."""
        images, labels = self._arrays()
        idx = np.asarray(indices, dtype=np.int64)
        return Tensor(images[idx]), Tensor(labels[idx])


    def __repr__(self):
        return (f"{type(self).__name__}(split={'train' if self.train else 'test'}, "
                f"size={len(self)})")
