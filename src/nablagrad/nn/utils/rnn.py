"""Variable-length batches for recurrent layers (``nablagrad.nn.utils.rnn``).

A padded batch holds B sequences of lengths L_1 ≥ … ≥ L_B in a (T, B, *) tensor. The packed
form keeps only the real steps, time-major: ``data`` stacks, for t = 0..T−1, the rows of the
``batch_sizes[t]`` = #{b : L_b > t} sequences still running at step t. A recurrent layer then
runs each step on the first batch_sizes[t] rows only, so every sequence gives the same result
as when it runs alone. Batches not sorted by length are sorted first (``sorted_indices``) and
put back in their order afterwards (``unsorted_indices``, its inverse permutation).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import ops
from ..._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pad_sequence", "pack_padded_sequence",
           "pad_packed_sequence", "pack_sequence", "unpad_sequence", "unpack_sequence"]


def _long(values):
    return ops.creation.tensor(np.asarray(values, dtype=np.int64))


def _as_int_array(x, name):
    a = x._data if isinstance(x, Tensor) else x
    a = np.asarray(a.get() if hasattr(a, "get") else a)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu" and not np.all(a == np.round(a))):
        raise ValueError(f"{name}: expected a 1-D sequence of integers, got {a!r}")
    return a.astype(np.int64)


def invert_permutation(permutation):
    """The inverse permutation q of p (q[p[i]] = i); None stays None."""
    if permutation is None:
        return None
    p = _as_int_array(permutation, "invert_permutation")
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=np.int64)
    return _long(inv)


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A packed batch: ``data`` (Σ L_b, *) time-major, ``batch_sizes`` (int64, on the CPU),
    ``sorted_indices`` (the batch order used in data: rows of the original batch, longest
    first, or None if already sorted) and ``unsorted_indices`` (its inverse)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise ValueError("PackedSequence: batch_sizes is required; build a PackedSequence "
                             "with pack_padded_sequence or pack_sequence")
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = _long(batch_sizes)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        """``data.to(...)`` (the index tensors stay on the CPU)."""
        return self._with_data(self.data.to(*args, **kwargs))

    def cpu(self):
        return self._with_data(self.data.cpu())

    def double(self):
        return self._with_data(self.data.double())

    def float(self):
        return self._with_data(self.data.float())

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def _batch_sizes_array(self):
        return _as_int_array(self.batch_sizes, "PackedSequence")


# ----------------------------------------------------------------------------- index maps
def _packed_positions(batch_sizes):
    """Flat positions t·B + b, in packed order, of the real steps in a (T, B) grid."""
    B = int(batch_sizes[0])
    mask = np.arange(B)[None, :] < batch_sizes[:, None]
    return np.flatnonzero(mask), B


def padded_to_packed(padded, batch_sizes):
    """The packed ``data`` of a (T, B, *) tensor whose batch is sorted by length."""
    pos, B = _packed_positions(batch_sizes)
    T = len(batch_sizes)
    flat = padded[:T].reshape(T * B, *padded.shape[2:])
    return flat.index_select(0, _long(pos))


def packed_to_padded(data, batch_sizes, padding_value=0.0):
    """The (T, B, *) tensor of a packed ``data``, ``padding_value`` after each sequence."""
    pos, B = _packed_positions(batch_sizes)
    T, rest = len(batch_sizes), tuple(data.shape[1:])
    source = np.full(T * B, data.shape[0], dtype=np.int64)
    source[pos] = np.arange(pos.size)
    pad = ops.creation.full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    rows = ops.shape.cat([data, pad]).index_select(0, _long(source))
    return rows.reshape(T, B, *rest)


# ----------------------------------------------------------------------------- API
def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (T, B, *) (or (B, T, *)), T = max L_i, filling
    with ``padding_value`` after (``padding_side="right"``) or before ("left") each one."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    rest = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.ndim == 0 or tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: all sequences must have the same trailing "
                               f"shape; sequence 0 has shape {list(sequences[0].shape)} and "
                               f"sequence {i} has shape {list(s.shape)}")
    T = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if s.shape[0] < T:
            fill = ops.creation.full((T - s.shape[0],) + rest, padding_value, dtype=s.dtype,
                                     device=s.device)
            s = ops.shape.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return ops.shape.stack(padded, 0 if batch_first else 1)


def _lengths(lengths):
    if isinstance(lengths, Tensor):
        return _as_int_array(lengths, "pack_padded_sequence")
    return _as_int_array(np.asarray(lengths), "pack_padded_sequence")


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded (T, B, *) batch (or (B, T, *)) of sequences of the given lengths.

    With ``enforce_sorted=True`` the lengths must be non-increasing; otherwise the batch is
    sorted by decreasing length and the order is kept in ``sorted_indices``."""
    lengths = _lengths(lengths)
    batch_dim = 0 if batch_first else 1
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected an input of at least 2 dimensions "
                         f"(T, B, *), got shape {list(input.shape)}")
    if lengths.size != input.shape[batch_dim]:
        raise ValueError(f"pack_padded_sequence: expected {input.shape[batch_dim]} lengths for "
                         f"an input of shape {list(input.shape)} (batch_first={batch_first}), "
                         f"got {lengths.size}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in "
                               "decreasing order when `enforce_sorted` is True. You can pass "
                               "`enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement.")
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _long(order)
        input = input.index_select(batch_dim, sorted_indices)
    if lengths.size == 0 or lengths[-1] <= 0:
        raise RuntimeError("pack_padded_sequence: length of all samples has to be greater than "
                           f"0, but got lengths {lengths.tolist()}")
    if batch_first:
        input = input.transpose(0, 1)
    if lengths[0] > input.shape[0]:
        raise RuntimeError(f"pack_padded_sequence: a length ({lengths[0]}) is larger than the "
                           f"number of time steps ({input.shape[0]}) of the input of shape "
                           f"{list(input.shape)}")
    batch_sizes = (lengths[None, :] > np.arange(lengths[0])[:, None]).sum(1)
    data = padded_to_packed(input, batch_sizes)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of :func:`pack_padded_sequence`: returns (padded, lengths), padded of shape
    (T, B, *) (or (B, T, *)) with T = ``total_length`` or the longest length, in the batch's
    original order; ``lengths`` is an int64 tensor."""
    batch_sizes = sequence._batch_sizes_array()
    T = len(batch_sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError("pad_packed_sequence: expected total_length to be at least the "
                             "length of the longest sequence in input, but got "
                             f"total_length={total_length} and max sequence length being {T}")
    padded = packed_to_padded(sequence.data, batch_sizes, padding_value)
    if total_length is not None and total_length > T:
        rest = tuple(padded.shape[1:])
        fill = ops.creation.full((total_length - T,) + rest, padding_value, dtype=padded.dtype,
                                 device=padded.device)
        padded = ops.shape.cat([padded, fill])
    lengths = (batch_sizes[None, :] > np.arange(int(batch_sizes[0]))[:, None]).sum(1)
    if sequence.unsorted_indices is not None:
        unsorted = _as_int_array(sequence.unsorted_indices, "pad_packed_sequence")
        padded = padded.index_select(1, _long(unsorted))
        lengths = lengths[unsorted]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _long(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) tensors: pack_padded_sequence(pad_sequence(sequences), L)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences padded[:L_b, b] (or padded[b, :L_b] with batch_first)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :int(n)] for b, n in enumerate(_lengths(lengths))]


def unpack_sequence(packed_sequences):
    """The list of sequences in a PackedSequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
