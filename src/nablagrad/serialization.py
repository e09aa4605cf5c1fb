"""``save`` / ``load``: checkpoints in the safetensors format, with no code run on load.

A checkpoint is one safetensors file. Every Tensor, NumPy array and NumPy scalar in ``obj`` goes
into the file's tensor table; everything else (the containers, their key types, numbers,
strings, dtypes ...) goes as JSON into the header's ``__metadata__`` map under the key
``"nablagrad"``. Loading parses JSON and copies raw bytes into arrays: nothing is unpickled or
evaluated, so a crafted file can at worst give back wrong data or raise an error.

Tensor names. A tensor is stored under the path of keys that leads to it, joined with ``"."``
(``{"model": {"fc.weight": w}}`` stores ``"model.fc.weight"``; list items use their index; a
lone tensor is stored as ``"tensor"``); a name already taken gets a ``"#n"`` suffix. So a flat
``dict`` of ``str -> Tensor`` (a state_dict) is an ordinary safetensors file with exactly those
keys: ``safetensors.torch.load_file`` reads it, and a file written by
``safetensors.torch.save_file`` (no ``"nablagrad"`` metadata) loads as a ``dict`` of Tensors.

Metadata schema, version 1 (``__metadata__["nablagrad"]`` is the JSON of one *node*):

==============================  ==========================================================
Python value                    node
==============================  ==========================================================
``None``, bool, str             JSON ``null``, ``true``/``false``, string
int                             JSON integer
float                           ``{"t": "float", "v": repr(x)}`` (keeps nan / inf / -0.0)
Tensor                          ``{"t": "tensor", "k": name, "dtype": d, "device": dev,
                                "requires_grad": bool}``
numpy array / scalar            ``{"t": "ndarray" | "npscalar", "k": name}``
list / tuple                    ``{"t": "list" | "tuple", "v": [node, ...]}``
dict / OrderedDict              ``{"t": "dict" | "odict", "v": [[key node, node], ...]}``
``ng.dtype`` / ``ng.device``    ``{"t": "dtype" | "device", "v": name}``
==============================  ==========================================================

Dict keys may be str, int, float, bool, None or tuples of these. The top-level metadata also
holds ``"nablagrad.version": "1"``.

Differences from ``torch.save``: tensors that share storage (views of one tensor, or the same
tensor reached twice) are saved as separate, contiguous copies and load as independent tensors;
``nn.Parameter`` loads as a plain Tensor (its ``requires_grad`` is kept).
"""
import json
import os
import uuid
from collections import OrderedDict

import numpy as np
import safetensors
import safetensors.numpy

from . import backend
from ._tensor import Tensor

__all__ = ["save", "load"]

_META_KEY = "nablagrad"
_VERSION = "1"
_CHUNK = 1 << 24  # bytes per write() call


# ----------------------------------------------------------------------------- encoding
class _Encoder:
    """Walks ``obj`` once: fills ``self.arrays`` (name -> contiguous array) and returns the tree."""

    def __init__(self):
        self.arrays = {}

    def _name(self, path):
        base = ".".join(str(p) for p in path) or "tensor"
        name, n = base, 1
        while name in self.arrays:
            name, n = f"{base}#{n}", n + 1
        return name

    def _store(self, arr, path):
        name = self._name(path)
        self.arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        return name

    def node(self, obj, path):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return {"t": "float", "v": repr(float(obj))}
        if isinstance(obj, Tensor):
            arr = backend.move(obj._data, backend.CPU)
            return {"t": "tensor", "k": self._store(arr, path), "dtype": obj.dtype.name,
                    "device": str(obj.device), "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise TypeError(f"nablagrad.save: can't save a NumPy array of dtype object at "
                                f"{_where(path)}")
            return {"t": "ndarray", "k": self._store(obj, path)}
        if isinstance(obj, np.generic) and not isinstance(obj, np.object_):
            return {"t": "npscalar", "k": self._store(np.asarray(obj), path)}
        if isinstance(obj, (list, tuple)):
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {"t": kind, "v": [self.node(x, path + (i,)) for i, x in enumerate(obj)]}
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {"t": kind, "v": [[self.key(k, path), self.node(v, path + (k,))]
                                     for k, v in obj.items()]}
        if isinstance(obj, backend.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, backend.device):
            return {"t": "device", "v": str(obj)}
        raise TypeError(f"nablagrad.save: can't save an object of type {type(obj).__qualname__} "
                        f"at {_where(path)}: supported are Tensor, numpy arrays, dict, list, "
                        "tuple, int, float, bool, str, None, dtype and device")

    def key(self, k, path):
        if k is None or isinstance(k, (bool, str, int, float)):
            return self.node(k, path)
        if isinstance(k, tuple):
            return {"t": "tuple", "v": [self.key(x, path) for x in k]}
        raise TypeError(f"nablagrad.save: can't save a dict key of type {type(k).__qualname__} "
                        f"({k!r}) at {_where(path)}: keys must be str, int, float, bool, None or "
                        "tuples of these")


def _where(path):
    return "obj" + "".join(f"[{p!r}]" for p in path)


# ----------------------------------------------------------------------------- decoding
class _Decoder:
    """Rebuilds the saved object from the metadata tree and the tensor table (pure data)."""

    def __init__(self, arrays, map_location, source):
        self.arrays, self.map_location, self.source = arrays, map_location, source

    def fail(self, why):
        return ValueError(f"nablagrad.load: {self.source} is not a valid nablagrad checkpoint: "
                          f"{why}")

    def array(self, node):
        name = node.get("k")
        if name not in self.arrays:
            raise self.fail(f"the metadata names tensor {name!r}, which the file does not hold")
        return self.arrays[name]

    def node(self, n):
        if n is None or isinstance(n, (bool, str, int)):
            return n
        if isinstance(n, list) or not isinstance(n, dict):
            raise self.fail(f"unexpected metadata node {n!r}")
        t = n.get("t")
        v = n.get("v")
        if t in ("list", "tuple") and isinstance(v, list):
            items = [self.node(x) for x in v]
            return tuple(items) if t == "tuple" else items
        if t in ("dict", "odict") and isinstance(v, list):
            if not all(isinstance(kv, list) and len(kv) == 2 for kv in v):
                raise self.fail("a dict node must hold [key, value] pairs")
            out = OrderedDict() if t == "odict" else {}
            for k, x in v:
                out[_hashable(self.node(k), self)] = self.node(x)
            return out
        if t == "float" and isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                raise self.fail(f"bad float {v!r}") from None
        if t == "tensor":
            return self.tensor(n)
        if t == "ndarray":
            return self.array(n)
        if t == "npscalar":
            return self.array(n)[()]
        if t in ("dtype", "device") and isinstance(v, str):
            try:
                return backend.to_dtype(v) if t == "dtype" else backend.device(v)
            except (TypeError, ValueError) as e:
                raise self.fail(str(e)) from None
        raise self.fail(f"unknown metadata node {n!r}")

    def tensor(self, n):
        arr = self.array(n)
        try:
            dtype = backend.to_dtype(arr.dtype)
        except TypeError as e:
            raise self.fail(f"tensor {n.get('k')!r}: {e}") from None
        if n.get("dtype") != dtype.name:
            raise self.fail(f"tensor {n.get('k')!r} has dtype {arr.dtype} in the tensor table but "
                            f"{n.get('dtype')!r} in the metadata")
        t = _to_device(Tensor._make(arr), _target(n.get("device", "cpu"), self.map_location))
        if n.get("requires_grad") is True:
            t.requires_grad_(True)
        return t


def _hashable(k, dec):
    try:
        hash(k)
    except TypeError:
        raise dec.fail(f"unhashable dict key {k!r}") from None
    return k


def _target(saved, map_location):
    """The device a tensor saved on ``saved`` loads onto."""
    if map_location is None:
        return backend.device(saved)
    if isinstance(map_location, dict):
        return backend.device(map_location.get(saved, saved))
    if isinstance(map_location, (str, backend.device)):
        return backend.device(map_location)
    raise TypeError("nablagrad.load: map_location must be None, a device, a device string or a "
                    f"dict of device strings, not {type(map_location).__qualname__}")


def _to_device(t, dev):
    if dev.type == "cuda" and not backend.cuda_available():
        raise RuntimeError(f"nablagrad.load: a tensor is to be loaded onto {dev}, but CUDA is not "
                           "available (CuPy is missing or sees no GPU): pass map_location='cpu'")
    return t if dev == t.device else Tensor._make(backend.move(t._data, dev))


# ----------------------------------------------------------------------------- files
def _write_bytes(fh, data):
    view = memoryview(data)
    for i in range(0, len(view), _CHUNK):
        fh.write(view[i:i + _CHUNK])


def _atomic_write(path, data):
    """Write ``data`` to a temp file next to ``path``, fsync it, then rename it over ``path``.

    The temp file is created with mode 0o666 (less the umask), like ``open(path, "wb")``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_bytes(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory):
    """Make the rename itself durable (POSIX; a no-op where directories can't be opened)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def save(obj, f):
    """Save ``obj`` (a Tensor or nested dict/list/tuple of Tensors, arrays and plain values) to
    ``f``, a path or a binary file object, as a safetensors file (see the module doc).

    A path is written atomically: the data goes to a temp file in the same directory that is
    fsynced and then renamed over ``f``, so a failure never leaves a half-written checkpoint."""
    enc = _Encoder()
    tree = enc.node(obj, ())
    metadata = {_META_KEY: json.dumps(tree, allow_nan=False), _META_KEY + ".version": _VERSION}
    data = safetensors.numpy.save(enc.arrays, metadata=metadata)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, data)
    elif hasattr(f, "write"):
        _write_bytes(f, data)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"nablagrad.save: f must be a path or a binary file object, not "
                        f"{type(f).__qualname__}")


def _header_metadata(data):
    """The ``__metadata__`` map of a safetensors buffer (already validated by safetensors)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(bytes(data[8:8 + n]))
    return header.get("__metadata__") or {}


def _read_path(path):
    """(arrays, metadata) of a file; safetensors maps it and copies each tensor out once."""
    with safetensors.safe_open(path, framework="numpy") as sf:
        return {k: sf.get_tensor(k) for k in sf.keys()}, sf.metadata() or {}


def _read_buffer(data):
    """(arrays, metadata) of an in-memory file; arrays are copied to be writable."""
    raw = safetensors.numpy.load(bytes(data))
    return {k: np.array(a) for k, a in raw.items()}, _header_metadata(data)


def load(f, map_location=None):
    """Load an object saved by :func:`save` (or any safetensors file) from a path or a binary
    file object. ``map_location`` (a device, a device string, or a dict ``{saved: target}`` of
    device strings) picks where tensors land; by default, on the device they were saved from.

    A safetensors file without nablagrad metadata loads as a ``dict`` of name -> Tensor."""
    if isinstance(f, (str, os.PathLike)):
        source = repr(os.fspath(f))
        if not os.path.isfile(f):
            raise FileNotFoundError(f"nablagrad.load: no such file: {source}")
        read = lambda: _read_path(os.fspath(f))  # noqa: E731
    elif hasattr(f, "read"):
        source = repr(getattr(f, "name", "<file object>"))
        data = f.read()
        read = lambda: _read_buffer(data)  # noqa: E731
    else:
        raise TypeError(f"nablagrad.load: f must be a path or a binary file object, not "
                        f"{type(f).__qualname__}")
    try:
        arrays, metadata = read()
    except (safetensors.SafetensorError, ValueError) as e:
        raise ValueError(f"nablagrad.load: {source} is not a valid safetensors file (corrupt or "
                         f"truncated?): {e}") from None
    except (KeyError, TypeError) as e:
        raise ValueError(f"nablagrad.load: {source} holds a tensor whose dtype NumPy (and so "
                         f"nablagrad) can't represent, such as bfloat16 ({e})") from None
    dec = _Decoder(arrays, map_location, source)
    if _META_KEY not in metadata:
        return {k: dec.tensor({"k": k, "dtype": a.dtype.name}) for k, a in arrays.items()}
    try:
        tree = json.loads(metadata[_META_KEY])
    except (ValueError, RecursionError) as e:
        raise dec.fail(f"its metadata is not valid JSON ({e})") from None
    try:
        return dec.node(tree)
    except RecursionError:
        raise dec.fail("its metadata is nested too deeply") from None
