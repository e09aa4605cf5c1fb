"""``DataLoader``: batches from a dataset, with ``default_collate``, a one-index fast path for
tensor datasets, and optional prefetching on a background thread."""
from __future__ import annotations

import collections.abc as cabc
import queue
import threading

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..ops.shape import stack
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler


def default_collate(batch):
    """Merge a list of samples into a batch, recursively: tensors and NumPy arrays are stacked
    along a new dim 0, Python ints/floats/bools become int64/float64/bool tensors, NumPy scalars
    tensors of their dtype, strings stay a list, mappings collate per key, namedtuples per field,
    other sequences per position (returned as a list)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(b.requires_grad for b in batch):
            return stack(batch)
        return Tensor(backend.xp_of(elem._data).stack([b._data for b in batch]))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUS":
            raise TypeError(f"default_collate: cannot collate NumPy arrays of dtype {elem.dtype}")
        return Tensor(np.stack(batch))
    if isinstance(elem, np.generic):
        return Tensor(np.array(batch, dtype=elem.dtype))
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, cabc.Mapping):
        merged = {k: default_collate([b[k] for b in batch]) for k in elem}
        try:
            return type(elem)(merged)
        except TypeError:  # a mapping type that cannot be built from a dict
            return merged
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, NumPy arrays, numbers, "
                    f"dicts or lists; found {type(elem).__name__}")


def default_convert(data):
    """Used when batching is off: NumPy arrays become tensors, containers recursively."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OUS":
        return Tensor(data)
    if isinstance(data, cabc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(d) for d in data]
    return data


class DataLoader:
    """Iterates over ``dataset`` in batches (``torch.utils.data.DataLoader``).

    ``shuffle`` draws a permutation per epoch from ``generator`` (the default generator when
    None, so ``ng.manual_seed`` makes it reproducible). ``prefetch`` (or ``num_workers > 0``)
    prepares the next batches on a background thread (the epoch's order is drawn on the calling
    thread; random transforms inside the dataset run on the background one, so give them their own
    ``generator`` for reproducibility); ``pin_memory`` is accepted and ignored.
    Fast path: if the dataset has ``get_batch(indices)`` (``TensorDataset`` and the built-in
    datasets without transforms do; a ``batchable`` attribute may turn it off) and ``collate_fn``
    is the default, a batch is one fancy index per array instead of a per-sample collate."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 prefetch=None):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        self.dataset = dataset
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 "and batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size)
        self._default_collate = collate_fn is None
        self.collate_fn = collate_fn or (default_collate if self._auto_collation
                                         else default_convert)
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.prefetch = prefetch if prefetch is not None else (
            (prefetch_factor or 2) * num_workers if num_workers > 0 else 0)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def _batches(self, order):
        if self._iterable:
            yield from self._iterable_batches()
            return
        ds, collate = self.dataset, self.collate_fn
        if self.batch_sampler is None:
            for i in order:
                yield collate(ds[i])
            return
        fast = (self._default_collate and hasattr(ds, "get_batch")
                and getattr(ds, "batchable", True))
        for idx in order:
            yield ds.get_batch(idx) if fast else collate([ds[i] for i in idx])

    def _iterable_batches(self):
        if not self.batch_size:
            for x in self.dataset:
                yield self.collate_fn(x)
            return
        batch = []
        for x in self.dataset:
            batch.append(x)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __iter__(self):
        if self._iterable:
            order = None
        else:
            order = self.batch_sampler if self.batch_sampler is not None else self.sampler
        if self.prefetch <= 0:
            return self._batches(order)
        # the epoch's indices are drawn here, on the caller's thread, so shuffling stays
        # reproducible; only loading and collating run on the background thread
        return _prefetched(self._batches(None if order is None else list(order)), self.prefetch)


_DONE = object()


def _prefetched(it, depth):
    """Run the iterator ``it`` on a daemon thread, at most ``depth`` items ahead of the reader;
    an exception in the producer is re-raised in the reader."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, _DONE))
        except BaseException as e:  # handed to the reader
            q.put((False, e))

    thread = threading.Thread(target=produce, daemon=True, name="nablagrad-prefetch")
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
