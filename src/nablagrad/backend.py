"""Array backends, dtypes, devices and PyTorch's type-promotion rules.

A Tensor wraps one backend array: a ``numpy.ndarray`` on ``cpu`` or a ``cupy.ndarray`` on
``cuda``. Ops are written once against the array module ``xp`` returned by :func:`xp_of`.
"""
from __future__ import annotations

import numpy as np

try:  # CuPy is optional: only needed for device="cuda"
    import cupy as _cupy
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None


# ----------------------------------------------------------------------------- dtypes
class dtype:
    """A tensor element type, printed as PyTorch prints it (``nablagrad.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self._category = category  # 0 bool, 1 integer, 2 floating

    def __repr__(self):
        return f"nablagrad.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL_DTYPES}
_ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
            "short": int16, "bool": bool_}
_BY_NAME = {d.name: d for d in ALL_DTYPES} | _ALIASES

_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d) -> None:
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {d}")
    _default_float = d


def to_dtype(d) -> dtype:
    """Normalise a nablagrad dtype, NumPy dtype, Python type or name to a nablagrad dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        if d in _BY_NAME:
            return _BY_NAME[d]
        raise TypeError(f"unknown dtype name {d!r}")
    try:
        return _BY_NP[np.dtype(d)]
    except (TypeError, KeyError):
        raise TypeError(f"nablagrad has no dtype matching {d!r}; supported: "
                        + ", ".join(x.name for x in ALL_DTYPES)) from None


def from_np(np_dtype) -> dtype:
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        return to_dtype(np_dtype)


# ----------------------------------------------------------------------------- promotion
_PROMOTE_CACHE: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to (``torch.promote_types``)."""
    key = (a, b)
    r = _PROMOTE_CACHE.get(key)
    if r is None:
        if a is b:
            r = a
        elif {a, b} == {uint8, int8}:
            r = int16
        elif a is bool_ or b is bool_:
            r = b if a is bool_ else a
        elif a._category != b._category:  # integer with float: the float type, whatever its size
            r = a if a._category == 2 else b
        else:
            r = from_np(np.promote_types(a.np, b.np))
        _PROMOTE_CACHE[key] = r
    return r


def scalar_dtype(x) -> dtype:
    """The dtype PyTorch gives a Python scalar that takes part in an op."""
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    if isinstance(x, (float, np.floating)):
        return _default_float
    raise TypeError(f"expected a Tensor or a Python number, got {type(x).__name__}")


def _combine_categories(higher, lower):
    """PyTorch's rule for letting a weaker operand raise the result only across categories."""
    if higher is None:
        return lower
    if lower is None or higher._category == 2:
        return higher
    if higher is bool_ or lower._category == 2:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """PyTorch's ``result_type``: tensors with dimensions win over 0-dim tensors, which win over
    Python scalars, unless the weaker operand is of a higher category (bool < integer < float);
    a Python float then gives the default float dtype.
    """
    dim_t = zero_t = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        elif x is not None:
            s = scalar_dtype(x)
            wrapped = s if wrapped is None else promote_types(wrapped, s)
    return _combine_categories(dim_t, _combine_categories(zero_t, wrapped))


# ----------------------------------------------------------------------------- devices
class device:
    """Where a tensor's storage lives: ``cpu`` (NumPy) or ``cuda[:index]`` (CuPy)."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if isinstance(spec, int):
            spec, index = "cuda", spec
        kind, _, idx = str(spec).partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu' or 'cuda[:N]'")
        self.type = kind
        self.index = int(idx) if idx else index
        if kind == "cuda" and self.index is None:
            self.index = 0

    def __eq__(self, other):
        try:
            other = device(other)
        except (ValueError, TypeError):
            return NotImplemented
        return self.type == other.type and (self.type == "cpu" or self.index == other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.type == "cpu" else f", index={self.index}") + ")"


CPU = device("cpu")


def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


def _require_cupy():
    if _cupy is None:
        raise RuntimeError("device='cuda' needs CuPy: install it with `pip install nablagrad[cuda]` "
                           "(or the cupy-cudaXXx wheel matching your CUDA), or use device='cpu'")
    return _cupy


def xp_for(dev: device):
    """The array module for a device: numpy for cpu, cupy for cuda."""
    return np if dev.type == "cpu" else _require_cupy()


def xp_of(array):
    """The array module that owns ``array``."""
    if type(array) is np.ndarray or _cupy is None:
        return np
    return _cupy.get_array_module(array)


def device_of(array) -> device:
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return CPU
    return device("cuda", array.device.id)


def move(array, dev: device):
    """Copy ``array`` to device ``dev`` (no copy when it is already there)."""
    if dev.type == "cpu":
        return array if isinstance(array, np.ndarray) else _cupy.asnumpy(array)
    cp = _require_cupy()
    with cp.cuda.Device(dev.index):
        return cp.asarray(array)


def special(array):
    """``scipy.special`` for NumPy arrays, ``cupyx.scipy.special`` for CuPy arrays."""
    if xp_of(array) is np:
        import scipy.special
        return scipy.special
    import cupyx.scipy.special
    return cupyx.scipy.special


# ----------------------------------------------------------------------------- CPU threads
# NumPy runs each ufunc on one thread but releases the GIL while it works, so a large
# contiguous computation split into a few flat chunks, each run by its own thread, uses all
# the cores. Only NumPy arrays are split (CuPy already runs on the GPU), and only above
# PARALLEL_MIN_SIZE elements: below it, handing work to a thread costs more than it saves.
import functools  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

#: elements below which a computation runs on the calling thread (measured on 2 cores: at
#: 2^18 float32 elements a split add is already about 1.5x faster)
PARALLEL_MIN_SIZE = 1 << 18
_MAX_THREADS = 8  # memory-bound ufuncs gain little beyond this
_num_threads = None  # None: from NABLAGRAD_NUM_THREADS, else the CPUs we may use
_pool = None  # created on first use, with get_num_threads() - 1 workers
_pool_lock = threading.Lock()
_in_worker = threading.local()  # set in pool threads: nested calls there run serially


def _default_threads() -> int:
    env = os.environ.get("NABLAGRAD_NUM_THREADS")
    if env:
        return max(1, int(env))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, _MAX_THREADS))


def get_num_threads() -> int:
    """Threads nablagrad uses for large elementwise ops and reductions on the CPU."""
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_threads()
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (1: everything on the calling thread) for large CPU ops, and limit the
    BLAS library behind NumPy's matrix products (OpenBLAS, MKL, ...) to ``n`` threads too, as
    ``torch.set_num_threads`` does. More threads than free cores slows BLAS down many times over,
    so on a shared machine ask for fewer."""
    global _num_threads, _pool
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    with _pool_lock:
        _num_threads, old, _pool = int(n), _pool, None
    if old is not None:
        old.shutdown(wait=False)
    from threadpoolctl import threadpool_limits  # every BLAS loaded by now (NumPy's, SciPy's)
    threadpool_limits(limits=int(n), user_api="blas")


@functools.cache
def _blas_controller():  # the BLAS libraries loaded when first asked (NumPy's)
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def blas_threads(n: int):
    """A context in which BLAS uses at most ``n`` threads: for many small products run from
    our own threads, where waking BLAS's threads for each would cost more than it computes."""
    return _blas_controller().limit(limits=n, user_api="blas")


if os.environ.get("NABLAGRAD_NUM_THREADS"):  # the environment asks for a thread count: BLAS too
    set_num_threads(_default_threads())


def _reset_after_fork():  # the pool's threads don't exist in a forked child
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _mark_worker():
    _in_worker.active = True


def _get_pool(threads):
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="nablagrad",
                                       initializer=_mark_worker)
        return _pool


def parallel_chunks(fn, n: int, unit: int = 1, min_size: int = PARALLEL_MIN_SIZE) -> list:
    """``[fn(start, stop), ...]`` over ``range(n)`` cut into one contiguous piece per thread.

    ``unit`` is the number of elements one index stands for (a row's length when splitting
    over rows): with fewer than ``min_size`` elements in all, this is just ``[fn(0, n)]``.
    The calling thread runs the first piece itself; results come back in order."""
    threads = min(get_num_threads(), n)
    if threads < 2 or n * unit < min_size or getattr(_in_worker, "active", False):
        return [fn(0, n)]
    bounds = [n * i // threads for i in range(threads + 1)]
    pool = _get_pool(get_num_threads())
    futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, threads)]
    first = fn(bounds[0], bounds[1])
    return [first] + [f.result() for f in futures]


def _splittable(x, shape) -> bool:
    return type(x) is np.ndarray and x.shape == shape and x.flags.c_contiguous


def parallel_ufunc(ufunc, *operands, out=None):
    """``ufunc(*operands, out=out)``, computed in flat chunks on several threads when every
    operand is a C-contiguous NumPy array of one shape (or a Python number) with at least
    PARALLEL_MIN_SIZE elements; otherwise one plain call. The result is identical."""
    first = operands[0] if type(operands[0]) is np.ndarray else operands[-1]
    if type(first) is not np.ndarray or first.size < PARALLEL_MIN_SIZE:  # the common case
        return ufunc(*operands) if out is None else ufunc(*operands, out=out)
    arrays = [x for x in operands if type(x) not in (int, float)]
    if (get_num_threads() < 2 or not all(_splittable(x, first.shape) for x in arrays)
            or (out is not None and not _safe_out(out, first.shape, arrays))):
        return ufunc(*operands) if out is None else ufunc(*operands, out=out)
    if out is None:
        try:
            types = [x.dtype if type(x) is np.ndarray else type(x) for x in operands]
            out = np.empty(first.shape, ufunc.resolve_dtypes((*types, None))[-1])
        except TypeError:  # no loop for these dtypes: let NumPy raise its own error
            return ufunc(*operands)
    flat = [x.reshape(-1) if type(x) is np.ndarray else x for x in operands]
    flat_out = out.reshape(-1)

    def run(start, stop):
        ufunc(*[x[start:stop] if type(x) is np.ndarray else x for x in flat],
              out=flat_out[start:stop])
    parallel_chunks(run, flat_out.size)
    return out


def _safe_out(out, shape, arrays) -> bool:
    """``out`` can be written chunk by chunk: splittable, and each input either is exactly
    ``out``'s memory or does not overlap it."""
    return _splittable(out, shape) and all(
        x.ctypes.data == out.ctypes.data or not np.may_share_memory(x, out) for x in arrays)
