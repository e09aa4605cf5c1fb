"""Random numbers with PyTorch's API: generators and seeds, random constructors (``rand``,
``randn``, ``randint``, ``randperm``, ``normal``, ``bernoulli``, ``multinomial``, ``poisson``,
``*_like``) and in-place fills (``Tensor.uniform_``, ``normal_``, ``bernoulli_``,
``exponential_``, ``geometric_``, ``log_normal_``, ``cauchy_``, ``random_``).

A :class:`Generator` wraps NumPy's ``np.random.Generator`` on the PCG64 bit generator. The same
seed gives the same numbers, run after run; the numbers differ from PyTorch's (another bit
generator), the distributions and semantics do not.

Devices: for ``device="cuda"`` the numbers are drawn with NumPy on the host and moved to the GPU.
That is simple and keeps one stream of numbers per generator whatever the device (the copy costs
a host-to-device transfer, which only matters for very large random tensors).

Gradients: a sample whose distribution depends on tensors (``normal(mean, std)``,
``bernoulli(p)``, ``poisson(rate)``) is a constant to autograd, as in PyTorch: its gradient with
respect to the parameters is zero. Write ``mean + std * randn_like(std)`` for a
differentiable (reparameterised) sample.
"""
from __future__ import annotations

import json
import secrets

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd.graph import Op
from ._api import public, assign_inplace
from .creation import _shape, _finish

__all__: list = []

#: the seed a new Generator starts from (PyTorch's default as well)
DEFAULT_SEED = 67280421310721
_U64 = 2 ** 64


# ----------------------------------------------------------------------------- generators
class Generator:
    """A source of random numbers with its own state (``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self.device = backend.device(device)
        self._np = np.random.Generator(np.random.PCG64(DEFAULT_SEED))
        self._seed = DEFAULT_SEED

    def manual_seed(self, seed) -> "Generator":
        """Restart from ``seed`` (an int in [-2⁶³, 2⁶⁴); negative seeds wrap as uint64)."""
        seed = int(seed)
        if not -2 ** 63 <= seed < _U64:
            raise RuntimeError(f"manual_seed: seed must be within the range [-2**63, 2**64), "
                               f"got {seed}")
        seed %= _U64
        self._np.bit_generator.state = np.random.PCG64(seed).state
        self._seed = seed
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed used."""
        s = secrets.randbits(64)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self) -> Tensor:
        """The full state as a uint8 Tensor (the PCG64 state and the seed, as JSON bytes)."""
        state = {"seed": self._seed, "bit_generator": self._np.bit_generator.state}
        raw = json.dumps(state, sort_keys=True).encode("ascii")
        return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> "Generator":
        """Restore a state returned by :meth:`get_state`."""
        if not isinstance(new_state, Tensor) or new_state.dtype is not backend.uint8:
            raise TypeError("set_state: expected a uint8 Tensor returned by get_state(), got "
                            f"{getattr(new_state, 'dtype', type(new_state).__name__)}")
        try:
            state = json.loads(bytes(np.asarray(new_state).tobytes()).decode("ascii"))
            bits = state["bit_generator"]
            if bits.get("bit_generator") != "PCG64":
                raise ValueError("not a PCG64 state")
            self._np.bit_generator.state = bits
            seed = int(state["seed"])
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise RuntimeError(f"set_state: not a state returned by get_state() ({e})") from None
        self._seed = seed
        return self

    def __repr__(self):
        return f"<nablagrad.Generator device={self.device} initial_seed={self._seed}>"


#: the generator every random function uses when none is passed; seeded from the system's
#: entropy at import, as PyTorch's is; ``manual_seed`` makes a run reproducible
default_generator = Generator()
default_generator.seed()


def numpy_generator(generator=None) -> np.random.Generator:
    """The ``np.random.Generator`` behind ``generator`` (the default one if None): for library
    code that needs NumPy's samplers directly (shuffling, data augmentation)."""
    if generator is None:
        return default_generator._np
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a nablagrad.Generator, got {type(generator).__name__}")
    return generator._np


@public(method=False)
def manual_seed(seed) -> Generator:
    """Seed the default generator; returns it."""
    return default_generator.manual_seed(seed)


@public(method=False)
def seed() -> int:
    """Seed the default generator from the system's entropy; returns the seed."""
    return default_generator.seed()


@public(method=False)
def initial_seed() -> int:
    return default_generator.initial_seed()


@public(method=False)
def get_rng_state() -> Tensor:
    """The default generator's state as a uint8 Tensor."""
    return default_generator.get_state()


@public(method=False)
def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


# ----------------------------------------------------------------------------- helpers
def _float_dtype(dtype, opname) -> backend.dtype:
    d = backend.get_default_dtype() if dtype is None else backend.to_dtype(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"{opname}: expected a floating point dtype, got {d}")
    return d


def _uniform01(gen, shape, np_dtype):
    """Uniform samples in [0, 1) of ``np_dtype`` (float16 from 11 random bits, so never 1)."""
    if np_dtype == np.float32 or np_dtype == np.float64:
        return gen.random(shape, dtype=np_dtype)
    return (gen.integers(0, 2 ** 11, shape) * 2.0 ** -11).astype(np_dtype)


def _standard_normal(gen, shape, np_dtype):
    if np_dtype == np.float32 or np_dtype == np.float64:
        return gen.standard_normal(shape, dtype=np_dtype)
    return gen.standard_normal(shape, dtype=np.float32).astype(np_dtype)


def _on(arr, device):
    """``arr`` (drawn on the host) on ``device``."""
    if device is None:
        return arr
    dev = backend.device(device)
    return arr if dev.type == "cpu" else backend.move(arr, dev)


def _host(t: Tensor) -> np.ndarray:
    return backend.move(t._data, backend.CPU)


class Sampled(Op):
    """y = a sample drawn with parameters θ (probabilities, rates, means, or the values a fill
    overwrites). As in PyTorch the sample is a constant to autograd: ∂y/∂θ = 0."""

    def forward(self, sample, *params):
        self.shapes = [getattr(p, "shape", None) for p in params]
        return sample

    def backward(self, g):
        need = self.needs_input_grad[1:]
        return (None,) + tuple(g.new_zeros(s) if n else None for s, n in zip(self.shapes, need))


# ----------------------------------------------------------------------------- constructors
@public(method=False)
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1)."""
    d = _float_dtype(dtype, "rand")
    return _finish(_on(_uniform01(numpy_generator(generator), _shape(size), d.np), device),
                   requires_grad)


@public(method=False)
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples, N(0, 1)."""
    d = _float_dtype(dtype, "randn")
    return _finish(_on(_standard_normal(numpy_generator(generator), _shape(size), d.np), device),
                   requires_grad)


def _check_int_range(low, high, d, opname):
    if high <= low:
        raise RuntimeError(f"{opname}: expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    if d.is_floating_point:
        return
    info = np.iinfo(d.np) if d is not backend.bool_ else np.iinfo(np.uint8)
    top = 1 if d is backend.bool_ else info.max
    if low < info.min or high - 1 > top:
        raise RuntimeError(f"{opname}: range [{low}, {high}) is out of bounds for {d.name}")


def _integers(gen, low, high, shape, d):
    return gen.integers(low, high, shape, dtype=np.int64).astype(d.np, copy=False)


@public(method=False)
def randint(*args, low=None, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``; int64 unless ``dtype`` says otherwise."""
    vals = {"low": low, "high": high, "size": size}
    slots = [k for k in ("low", "high", "size") if vals[k] is None]
    if slots and slots[0] == "low" and len(args) == len(slots) - 1:
        slots = slots[1:]  # low defaults to 0
    if len(args) != len(slots):
        raise TypeError("randint(): expected randint(high, size) or randint(low, high, size), "
                        f"got {len(args)} positional arguments")
    vals.update(zip(slots, args))
    lo = 0 if vals["low"] is None else int(vals["low"])
    hi = int(vals["high"])
    d = backend.int64 if dtype is None else backend.to_dtype(dtype)
    _check_int_range(lo, hi, d, "randint")
    shape = _shape((vals["size"],)) if not isinstance(vals["size"], int) else (vals["size"],)
    return _finish(_on(_integers(numpy_generator(generator), lo, hi, shape, d), device),
                   requires_grad)


@public(method=False)
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0, 1, ..., n - 1 (int64 by default)."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    d = backend.int64 if dtype is None else backend.to_dtype(dtype)
    perm = numpy_generator(generator).permutation(int(n)).astype(d.np, copy=False)
    return _finish(_on(perm, device), requires_grad)


def _check_std(std, opname):
    bad = (std._data < 0).any() if isinstance(std, Tensor) else std < 0
    if bad:
        low = std._data.min().item() if isinstance(std, Tensor) else std
        raise RuntimeError(f"{opname}: expects std >= 0.0, but found std {low}")


@public(method=False)
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Samples of N(mean, std²). ``mean`` and ``std`` are floats (give ``size``) or tensors
    (broadcast against each other; the result has their broadcast shape and dtype)."""
    gen = numpy_generator(generator)
    _check_std(std, "normal")
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (tm or ts):
        if size is None:
            raise TypeError("normal(): with a float mean and std, pass size=")
        d = _float_dtype(dtype, "normal")
        arr = _standard_normal(gen, _shape((size,)) if not isinstance(size, int) else (size,),
                               d.np)
        return _finish(_on((arr * std + mean).astype(d.np, copy=False), device), requires_grad)
    if size is not None:
        raise TypeError("normal(): size= is only for a float mean and std; with tensors the "
                        "shape is theirs")
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    d = tensors[0].dtype if len(tensors) == 1 else backend.promote_types(mean.dtype, std.dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"normal: expected floating point mean and std, got {d}")
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    m = mean._data if tm else mean
    s = std._data if ts else std
    eps = _on(_standard_normal(gen, shape, d.np), tensors[0].device)
    return Sampled.apply((eps * s + m).astype(d.np, copy=False), mean, std)


def _check_probs(p, opname):
    ok = bool(((p._data >= 0) & (p._data <= 1)).all()) if isinstance(p, Tensor) else 0 <= p <= 1
    if not ok:
        raise RuntimeError(f"{opname}: expects all probabilities p to satisfy 0 <= p <= 1")


@public
def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (elementwise), else 0, in ``input``'s dtype.
    ``bernoulli(input, p)`` uses the float ``p`` for every element of ``input``'s shape."""
    gen = numpy_generator(generator)
    if not input.is_floating_point():
        raise RuntimeError(f"bernoulli: expected a floating point input, got {input.dtype}")
    probs = input if p is None else p
    _check_probs(probs, "bernoulli")
    u_dtype = input._data.dtype if input._data.dtype != np.float16 else np.dtype(np.float32)
    u = _on(_uniform01(gen, input.shape, u_dtype), input.device)
    arr = (u < (probs._data if p is None else p)).astype(input._data.dtype)
    return Sampled.apply(arr, input) if p is None else Tensor._make(arr)


@public
def multinomial(input, num_samples, replacement=False, *, generator=None) -> Tensor:
    """Category indices drawn with probability ∝ the weights in each row of ``input`` (1-D or
    2-D). Without replacement a category is drawn at most once (successive draws in proportion
    to the remaining weights), by the exponential-race trick: keyᵢ = Eᵢ / wᵢ with Eᵢ ~ Exp(1);
    the ``num_samples`` smallest keys, in order, are the draws."""
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape "
                           f"{list(input.shape)}")
    if not input.is_floating_point():
        raise RuntimeError(f"multinomial: expected a floating point input, got {input.dtype}")
    w = _host(input).astype(np.float64).reshape(-1, input.shape[-1])
    k = w.shape[1]
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples ({num_samples})")
    if not replacement and num_samples > k:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           f"without replacement (n_sample={num_samples}, size={k})")
    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    total = w.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities "
                           "<= 0)")
    gen = numpy_generator(generator)
    if replacement:
        idx = _draw_with_replacement(gen, w / total, num_samples)
    else:
        with np.errstate(divide="ignore"):
            keys = gen.standard_exponential(w.shape) / w
        idx = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.reshape(input.shape[:-1] + (num_samples,))
    return Tensor._make(_on(idx.astype(np.int64, copy=False), input.device))


def _draw_with_replacement(gen, probs, n):
    """Inverse-CDF draws, all rows at once: row r's CDF is shifted by r so that one sorted
    search serves every row; a draw never lands on a zero-weight category."""
    rows, k = probs.shape
    cdf = np.cumsum(probs, axis=1)
    offset = np.arange(rows, dtype=np.float64)[:, None]
    u = gen.random((rows, n))
    flat = np.searchsorted((cdf + offset).reshape(-1), (u + offset).reshape(-1), side="right")
    idx = flat.reshape(rows, n) - (np.arange(rows) * k)[:, None]
    last_positive = k - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)  # rounding can overshoot
    return np.minimum(idx, last_positive[:, None])


@public(method=False)
def poisson(input, generator=None) -> Tensor:
    """Samples of Poisson(rate) for each rate in ``input``, in ``input``'s dtype."""
    if not input.is_floating_point():
        raise RuntimeError(f"poisson: expected a floating point input, got {input.dtype}")
    rates = _host(input)
    if not (rates >= 0).all():
        raise RuntimeError("poisson: expects all rates to be non-negative")
    arr = numpy_generator(generator).poisson(rates).astype(input._data.dtype)
    return Sampled.apply(_on(arr, input.device), input)


def _like_args(input, dtype, device):
    return (dtype if dtype is not None else input.dtype), (device if device is not None
                                                          else input.device)


@public(method=False)
def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    d, dev = _like_args(input, dtype, device)
    return rand(input.shape, generator=generator, dtype=d, device=dev, requires_grad=requires_grad)


@public(method=False)
def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    d, dev = _like_args(input, dtype, device)
    return randn(input.shape, generator=generator, dtype=d, device=dev,
                 requires_grad=requires_grad)


@public(method=False)
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, memory_format=None) -> Tensor:
    """``randint_like(input, high)`` or ``randint_like(input, low, high)``: input's shape,
    dtype and device unless given."""
    if high is None:
        low, high = 0, low
    d, dev = _like_args(input, dtype, device)
    return randint(low, high, input.shape, generator=generator, dtype=d, device=dev,
                   requires_grad=requires_grad)


# ----------------------------------------------------------------------------- in-place fills
def _fill(t: Tensor, sample, name) -> Tensor:
    """Overwrite ``t`` with ``sample`` (a host array of t's shape): a version bump, and under
    autograd a node with zero gradient (a leaf that requires grad needs ``no_grad()``)."""
    arr = _on(sample.astype(t._data.dtype, copy=False), t.device)
    return assign_inplace(t, lambda cur: Sampled.apply(arr, cur), name)


def _float_target(t, name):
    if not t.is_floating_point():
        raise RuntimeError(f"{name}: expected a floating point tensor, got {t.dtype}")
    return t._data.dtype


def uniform_(self, from_=0.0, to=1.0, *, generator=None) -> Tensor:
    """Fill with samples of U[from, to)."""
    dt = _float_target(self, "uniform_")
    if from_ > to:
        raise RuntimeError(f"uniform_: expects from <= to, but got from={from_} > to={to}")
    u = _uniform01(numpy_generator(generator), self.shape, dt)
    return _fill(self, u * (to - from_) + from_, "uniform_")


def normal_(self, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    dt = _float_target(self, "normal_")
    _check_std(std, "normal_")
    return _fill(self, _standard_normal(numpy_generator(generator), self.shape, dt) * std + mean,
                 "normal_")


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 with probability ``p`` (a float or a tensor broadcast to self), else 0."""
    _check_probs(p, "bernoulli_")
    probs = _host(p) if isinstance(p, Tensor) else p
    try:
        probs = np.broadcast_to(probs, self.shape)
    except ValueError:
        raise RuntimeError(f"bernoulli_: p of shape {list(p.shape)} does not broadcast to "
                           f"{list(self.shape)}") from None
    u = _uniform01(numpy_generator(generator), self.shape, np.float64)
    return _fill(self, u < probs, "bernoulli_")


def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
    """Fill with samples of Exp(λ): density λ e^(-λx) for x ≥ 0."""
    dt = _float_target(self, "exponential_")
    if not lambd > 0:
        raise RuntimeError(f"exponential_: expects lambda > 0.0, but found lambda={lambd}")
    gen_dt = dt if dt != np.float16 else np.float32
    e = numpy_generator(generator).standard_exponential(self.shape, dtype=gen_dt)
    return _fill(self, e / lambd, "exponential_")


def geometric_(self, p, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success: P(k) = (1-p)^(k-1) p,
    k = 1, 2, ..."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_: expects p to be in (0, 1), but got p={p}")
    return _fill(self, numpy_generator(generator).geometric(p, self.shape), "geometric_")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None) -> Tensor:
    """Fill with exp(X), X ~ N(mean, std²)."""
    dt = _float_target(self, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_: expects std > 0.0, but found std={std}")
    z = _standard_normal(numpy_generator(generator), self.shape, np.float64)
    return _fill(self, np.exp(z * std + mean).astype(dt), "log_normal_")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None) -> Tensor:
    """Fill with samples of Cauchy(median, σ): density 1 / (πσ (1 + ((x - median)/σ)²))."""
    _float_target(self, "cauchy_")
    c = numpy_generator(generator).standard_cauchy(self.shape)
    return _fill(self, c * sigma + median, "cauchy_")


def _random_top(np_dtype):
    """The largest value ``random_()`` draws for a dtype (inclusive): 2^mantissa digits for
    floats (so that every integer below is exact), the maximum for integers, 1 for bool."""
    if np_dtype.kind == "f":
        return 2 ** (np.finfo(np_dtype).nmant + 1)
    if np_dtype.kind == "b":
        return 1
    return int(np.iinfo(np_dtype).max)


def random_(self, *args, generator=None, **bounds) -> Tensor:
    """Fill with integers drawn uniformly: ``random_()`` from [0, top] (see
    :func:`_random_top`), ``random_(to)`` from [0, to), ``random_(from, to)`` from [from, to)
    (``to=None``: up to top)."""
    if len(args) > 2 or set(bounds) - {"from", "to"}:
        raise TypeError("random_(): expected random_(), random_(to) or random_(from, to)")
    given = dict(zip(("from", "to"), (0,) + args if len(args) == 1 else args))
    given.update(bounds)
    low, high = int(given.get("from", 0)), given.get("to")
    dt = self._data.dtype
    high = _random_top(dt) + 1 if high is None else int(high)
    _check_int_range(low, high, self.dtype, "random_")
    n = numpy_generator(generator).integers(low, high, self.shape, dtype=np.int64)
    return _fill(self, n, "random_")


for _fn in (uniform_, normal_, bernoulli_, exponential_, geometric_, log_normal_, cauchy_,
            random_):
    setattr(Tensor, _fn.__name__, _fn)
