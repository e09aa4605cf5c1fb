"""Random numbers: reproducibility, generator state, distributions, dtypes and shapes, errors,
and how random fills meet autograd."""
import numpy as np
import pytest

import nablagrad as ng
from nablagrad.ops.random import Generator, default_generator

N = 400_000  # large-sample checks: the standard error of a mean is ~ σ / 630


def arr(t):
    return np.asarray(t.detach())


# ----------------------------------------------------------------------------- reproducibility
SAMPLERS = {
    "rand": lambda g: ng.rand(3, 4, generator=g),
    "randn": lambda g: ng.randn(5, generator=g),
    "randint": lambda g: ng.randint(0, 100, (7,), generator=g),
    "randperm": lambda g: ng.randperm(20, generator=g),
    "normal": lambda g: ng.normal(ng.zeros(4), ng.ones(4), generator=g),
    "bernoulli": lambda g: ng.bernoulli(ng.full((9,), 0.5), generator=g),
    "multinomial": lambda g: ng.multinomial(ng.ones(2, 10), 4, generator=g),
    "poisson": lambda g: ng.poisson(ng.full((6,), 3.0), generator=g),
    "uniform_": lambda g: ng.zeros(6).uniform_(-1, 1, generator=g),
    "normal_": lambda g: ng.zeros(6).normal_(generator=g),
    "exponential_": lambda g: ng.zeros(6).exponential_(generator=g),
    "random_": lambda g: ng.zeros(6, dtype=ng.int64).random_(0, 1000, generator=g),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_manual_seed_reproduces(name):
    draw = SAMPLERS[name]
    ng.manual_seed(1234)
    a = arr(draw(None))
    b = arr(draw(None))
    ng.manual_seed(1234)
    np.testing.assert_array_equal(arr(draw(None)), a)
    np.testing.assert_array_equal(arr(draw(None)), b)
    assert not np.array_equal(a, b)  # the stream moves on


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_generator_objects_reproduce_and_are_independent(name):
    draw = SAMPLERS[name]
    g1, g2 = Generator().manual_seed(7), Generator().manual_seed(7)
    ng.manual_seed(0)
    first = arr(draw(g1))
    ng.rand(100)  # draws from the default generator do not touch g2
    np.testing.assert_array_equal(arr(draw(g2)), first)
    # and drawing from g1/g2 does not move the default generator
    ng.manual_seed(5)
    expected = arr(ng.rand(8))
    ng.manual_seed(5)
    draw(g1)
    np.testing.assert_array_equal(arr(ng.rand(8)), expected)


def test_different_seeds_differ():
    a = arr(ng.rand(100, generator=Generator().manual_seed(1)))
    b = arr(ng.rand(100, generator=Generator().manual_seed(2)))
    assert not np.array_equal(a, b)


def test_manual_seed_returns_generator_and_seeds():
    g = ng.manual_seed(42)
    assert g is default_generator
    assert ng.initial_seed() == 42
    assert Generator().initial_seed() == 67280421310721  # PyTorch's default seed
    h = Generator()
    assert h.manual_seed(3) is h and h.initial_seed() == 3
    assert h.manual_seed(-1).initial_seed() == 2 ** 64 - 1  # negative seeds wrap as uint64
    with pytest.raises(RuntimeError, match="seed"):
        h.manual_seed(2 ** 64)
    s = ng.seed()
    assert isinstance(s, int) and ng.initial_seed() == s
    assert Generator().seed() != Generator().seed()  # from the system's entropy
    assert h.device == ng.device("cpu")
    assert Generator("cuda").device == ng.device("cuda:0")


def test_state_save_restore_default_generator():
    ng.manual_seed(11)
    ng.randn(10)
    state = ng.get_rng_state()
    assert state.dtype == ng.uint8 and state.ndim == 1
    a = arr(ng.randn(10))
    b = arr(ng.randint(0, 10 ** 6, (5,)))
    ng.set_rng_state(state)
    np.testing.assert_array_equal(arr(ng.randn(10)), a)
    np.testing.assert_array_equal(arr(ng.randint(0, 10 ** 6, (5,))), b)


def test_state_moves_between_generators():
    g = Generator().manual_seed(99)
    ng.rand(3, generator=g)
    state = g.get_state()
    expected = arr(ng.rand(6, generator=g))
    h = Generator()
    assert h.set_state(state) is h
    np.testing.assert_array_equal(arr(ng.rand(6, generator=h)), expected)
    assert h.initial_seed() == 99  # the seed travels with the state, as in PyTorch


def test_set_state_rejects_garbage():
    g = Generator()
    with pytest.raises(RuntimeError, match="set_state"):
        g.set_state(ng.tensor([1, 2, 3], dtype=ng.uint8))
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(ng.zeros(3))


# ----------------------------------------------------------------------------- distributions
def moments(t):
    a = arr(t).astype(np.float64).ravel()
    return a.mean(), a.var()


def test_rand_uniform_moments_and_range():
    x = arr(ng.rand(N, dtype=ng.float64))
    assert x.min() >= 0 and x.max() < 1
    assert abs(x.mean() - 0.5) < 0.003 and abs(x.var() - 1 / 12) < 0.002
    # roughly flat: each tenth holds a tenth
    counts = np.histogram(x, bins=10, range=(0, 1))[0] / N
    np.testing.assert_allclose(counts, 0.1, atol=0.004)


def test_randn_moments():
    m, v = moments(ng.randn(N))
    assert abs(m) < 0.006 and abs(v - 1) < 0.01
    x = arr(ng.randn(N))
    assert abs(np.mean(np.abs(x) < 1) - 0.6827) < 0.004  # the bell's shape, not just moments


def test_normal_float_and_tensor_parameters():
    m, v = moments(ng.normal(2.0, 3.0, (N,)))
    assert abs(m - 2) < 0.03 and abs(v - 9) < 0.1  # std=3 means variance 9
    means = ng.tensor([[-5.0], [0.0], [5.0]])           # (3, 1)
    stds = ng.tensor([[0.5, 2.0]])                       # (1, 2) -> broadcast (3, 2)
    big_means = means.expand(3, 2).reshape(3, 2, 1).expand(3, 2, N // 10)
    big_stds = stds.reshape(1, 2, 1).expand(3, 2, N // 10)
    x = arr(ng.normal(big_means, big_stds))
    np.testing.assert_allclose(x.mean(axis=2), [[-5, -5], [0, 0], [5, 5]], atol=0.05)
    np.testing.assert_allclose(x.std(axis=2), [[0.5, 2.0]] * 3, rtol=0.02)
    assert ng.normal(means, stds).shape == (3, 2)
    y = arr(ng.normal(ng.full((N,), 1.0), 0.5))
    assert abs(y.mean() - 1) < 0.01 and abs(y.std() - 0.5) < 0.01
    z = arr(ng.normal(-1.0, ng.full((N,), 2.0)))
    assert abs(z.mean() + 1) < 0.03 and abs(z.std() - 2) < 0.02


def test_randint_range_and_uniformity():
    x = arr(ng.randint(-3, 4, (N,)))
    assert x.min() == -3 and x.max() == 3  # [low, high): high excluded, both ends reached
    np.testing.assert_allclose(np.bincount(x + 3) / N, 1 / 7, atol=0.005)
    y = arr(ng.randint(5, (1000,)))
    assert set(np.unique(y)) == {0, 1, 2, 3, 4}


def test_randperm_is_a_permutation():
    for n in (0, 1, 17, 1000):
        p = arr(ng.randperm(n))
        np.testing.assert_array_equal(np.sort(p), np.arange(n))
    assert not np.array_equal(arr(ng.randperm(1000)), np.arange(1000))
    # every position is equally likely to hold 0
    firsts = np.array([arr(ng.randperm(4))[0] for _ in range(4000)])
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / 4000, 0.25, atol=0.03)


def test_bernoulli_mean_and_values():
    p = ng.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).reshape(5, 1).expand(5, N // 10)
    x = arr(ng.bernoulli(p))
    assert set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_allclose(x.mean(axis=1), [0, 0.1, 0.5, 0.9, 1], atol=0.01)
    assert x[0].max() == 0 and x[4].min() == 1
    assert abs(arr(ng.bernoulli(ng.zeros(N), 0.3)).mean() - 0.3) < 0.005
    assert abs(arr(ng.zeros(N).bernoulli_(0.7)).mean() - 0.7) < 0.005
    probs = ng.tensor([0.2, 0.8]).reshape(2, 1)
    filled = arr(ng.zeros(2, N // 10).bernoulli_(probs))
    np.testing.assert_allclose(filled.mean(axis=1), [0.2, 0.8], atol=0.01)


def test_multinomial_with_replacement_frequencies():
    w = np.array([1.0, 0.0, 3.0, 6.0])
    x = arr(ng.multinomial(ng.tensor(w), N, replacement=True))
    assert x.shape == (N,) and x.dtype == np.int64
    freq = np.bincount(x, minlength=4) / N
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.005)
    assert freq[1] == 0  # a zero weight is never drawn
    rows = arr(ng.multinomial(ng.tensor([[1.0, 0.0], [0.0, 1.0]]), 50, replacement=True))
    assert (rows[0] == 0).all() and (rows[1] == 1).all()


def test_multinomial_without_replacement():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    rows = N // 4
    x = arr(ng.multinomial(ng.tensor(np.tile(w, (rows, 1))), 3))
    assert x.shape == (rows, 3)
    assert (np.sort(x, axis=1)[:, 1:] != np.sort(x, axis=1)[:, :-1]).all()  # distinct per row
    p = w / w.sum()
    np.testing.assert_allclose(np.bincount(x[:, 0], minlength=4) / rows, p, atol=0.01)
    # second draw: P(j) = Σ_{i≠j} p_i · w_j / (W - w_i)  (successive draws without replacement)
    second = np.array([sum(p[i] * w[j] / (w.sum() - w[i]) for i in range(4) if i != j)
                       for j in range(4)])
    np.testing.assert_allclose(np.bincount(x[:, 1], minlength=4) / rows, second, atol=0.01)
    full = arr(ng.multinomial(ng.tensor(w), 4))
    np.testing.assert_array_equal(np.sort(full), np.arange(4))
    # zero-weight categories come only after all positive ones (PyTorch does the same)
    z = arr(ng.multinomial(ng.tensor([[0.0, 5.0, 0.0, 1.0]] * 200), 3))
    assert set(map(tuple, np.sort(z[:, :2], axis=1))) == {(1, 3)}


def test_poisson_moments():
    rates = ng.full((N,), 4.0)
    x = arr(ng.poisson(rates))
    assert (x == np.round(x)).all() and x.min() >= 0
    assert abs(x.mean() - 4) < 0.02 and abs(x.var() - 4) < 0.06


def test_inplace_fill_distributions():
    u = arr(ng.zeros(N).uniform_(-2, 3))
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.02
    assert abs(u.var() - 25 / 12) < 0.03
    m, v = moments(ng.zeros(N).normal_(1.0, 2.0))
    assert abs(m - 1) < 0.02 and abs(v - 4) < 0.05
    e = arr(ng.zeros(N).exponential_(4.0))
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.003 and abs(e.var() - 1 / 16) < 0.002
    g = arr(ng.zeros(N, dtype=ng.int64).geometric_(0.25))
    assert g.min() == 1 and abs(g.mean() - 4) < 0.05 and abs(g.var() - 12) < 0.3
    ln = arr(ng.zeros(N, dtype=ng.float64).log_normal_(0.5, 0.25))
    assert ln.min() > 0 and abs(np.log(ln).mean() - 0.5) < 0.003
    assert abs(np.log(ln).std() - 0.25) < 0.003
    c = arr(ng.zeros(N, dtype=ng.float64).cauchy_(3.0, 2.0))
    q1, med, q3 = np.percentile(c, [25, 50, 75])
    assert abs(med - 3) < 0.05 and abs((q3 - q1) - 4) < 0.1  # IQR of Cauchy is 2σ


def test_random_ranges():
    f = arr(ng.zeros(N).random_())
    assert (f == np.round(f)).all() and f.min() >= 0 and f.max() <= 2 ** 24
    assert f.max() > 2 ** 23  # spans the float32 integers, not a small range
    r = arr(ng.zeros(N).random_(10))
    assert set(np.unique(r)) == set(range(10))
    r2 = arr(ng.zeros(N, dtype=ng.int64).random_(-5, 5))
    assert r2.min() == -5 and r2.max() == 4
    u8 = arr(ng.zeros(N, dtype=ng.uint8).random_())
    assert u8.min() == 0 and u8.max() == 255
    b = arr(ng.zeros(1000, dtype=ng.bool).random_())
    assert set(np.unique(b)) == {False, True}
    big = arr(ng.zeros(1000, dtype=ng.int64).random_())
    assert big.min() >= 0 and big.max() > 2 ** 60
    lo = arr(ng.zeros(1000).random_(3, None))
    assert lo.min() >= 3


# ----------------------------------------------------------------------------- dtypes, shapes
def test_dtypes_and_shapes_follow_torch():
    torch = pytest.importorskip("torch")
    cases = [
        ("rand", lambda m: m.rand(2, 3)), ("rand tuple", lambda m: m.rand((4,))),
        ("rand f64", lambda m: m.rand(2, dtype=m.float64)),
        ("randn", lambda m: m.randn(3)), ("randn f16", lambda m: m.randn(3, dtype=m.float16)),
        ("randint", lambda m: m.randint(5, (2, 2))),
        ("randint low", lambda m: m.randint(1, 5, (3,))),
        ("randint kw", lambda m: m.randint(low=1, high=5, size=(3,))),
        ("randint f32", lambda m: m.randint(0, 5, (3,), dtype=m.float32)),
        ("randperm", lambda m: m.randperm(4)),
        ("randperm i32", lambda m: m.randperm(4, dtype=m.int32)),
        ("normal float", lambda m: m.normal(0.0, 1.0, (2, 3))),
        ("normal tensor f64", lambda m: m.normal(m.zeros(2, dtype=m.float64), 1.0)),
        ("normal broadcast", lambda m: m.normal(m.zeros(3, 1), m.ones(1, 4))),
        ("bernoulli f64", lambda m: m.bernoulli(m.full((2,), 0.5, dtype=m.float64))),
        ("bernoulli p", lambda m: m.bernoulli(m.zeros(3), 0.2)),
        ("multinomial", lambda m: m.multinomial(m.ones(2, 5), 3)),
        ("multinomial 1d", lambda m: m.multinomial(m.ones(5), 2)),
        ("poisson", lambda m: m.poisson(m.ones(3))),
        ("rand_like", lambda m: m.rand_like(m.zeros(2, 2, dtype=m.float64))),
        ("randn_like", lambda m: m.randn_like(m.zeros(3))),
        ("randint_like", lambda m: m.randint_like(m.zeros(3), 4)),
        ("randint_like low", lambda m: m.randint_like(m.zeros(3, dtype=m.int32), 1, 4)),
        ("random_ u8", lambda m: m.zeros(3, dtype=m.uint8).random_()),
        ("geometric_ i64", lambda m: m.zeros(3, dtype=m.int64).geometric_(0.5)),
        ("bernoulli_ f64", lambda m: m.zeros(3, dtype=m.float64).bernoulli_(0.5)),
    ]
    for name, make in cases:
        ours, theirs = make(ng), make(torch)
        assert ours.dtype.name == str(theirs.dtype).split(".")[1], name
        assert tuple(ours.shape) == tuple(theirs.shape), name


def test_default_dtype_is_followed():
    ng.set_default_dtype(ng.float64)
    try:
        assert ng.rand(2).dtype == ng.float64 and ng.randn(2).dtype == ng.float64
        assert ng.normal(0.0, 1.0, (2,)).dtype == ng.float64
    finally:
        ng.set_default_dtype(ng.float32)
    assert ng.randn(2).dtype == ng.float32


def test_float16_uniform_stays_below_one():
    x = arr(ng.rand(N, dtype=ng.float16))
    assert x.dtype == np.float16 and x.max() < 1 and x.min() >= 0


def test_requires_grad_and_like_options():
    x = ng.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    base = ng.zeros(2, 3, dtype=ng.float64)
    y = ng.rand_like(base, dtype=ng.float32)
    assert y.dtype == ng.float32 and y.shape == (2, 3)
    with pytest.raises(RuntimeError, match="floating"):
        ng.randint(0, 3, (2,), requires_grad=True)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, match", [
    (lambda: ng.rand(3, dtype=ng.int64), "rand.*floating"),
    (lambda: ng.randn(3, dtype=ng.bool), "randn.*floating"),
    (lambda: ng.randint(5, 3, (2,)), "from=5 >= to=3"),
    (lambda: ng.randint(0, 300, (2,), dtype=ng.uint8), "out of bounds for uint8"),
    (lambda: ng.normal(0.0, -1.0, (2,)), "std >= 0.0"),
    (lambda: ng.normal(ng.zeros(2), ng.tensor([1.0, -1.0])), "std >= 0.0"),
    (lambda: ng.bernoulli(ng.tensor([1.5])), "0 <= p <= 1"),
    (lambda: ng.bernoulli(ng.zeros(2), 2.0), "0 <= p <= 1"),
    (lambda: ng.multinomial(ng.tensor([1.0, -1.0]), 1), "element < 0"),
    (lambda: ng.multinomial(ng.tensor([0.0, 0.0]), 1), "sum of probabilities"),
    (lambda: ng.multinomial(ng.ones(3), 4), "without replacement"),
    (lambda: ng.multinomial(ng.ones(2, 2, 2), 1), "1 or 2 dim"),
    (lambda: ng.zeros(3).geometric_(1.5), "geometric_"),
    (lambda: ng.zeros(3).exponential_(0.0), "lambda > 0"),
    (lambda: ng.zeros(3, dtype=ng.int64).normal_(), "normal_.*floating"),
    (lambda: ng.zeros(3).uniform_(2, 1), "from <= to"),
    (lambda: ng.zeros(3).random_(5, 2), "from=5 >= to=2"),
    (lambda: ng.poisson(ng.tensor([-1.0])), "non-negative"),
])
def test_errors_name_the_op(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


def test_randint_signature_errors():
    with pytest.raises(TypeError, match="randint"):
        ng.randint(3)


# ----------------------------------------------------------------------------- autograd
def test_inplace_fill_on_leaf_requires_no_grad():
    w = ng.zeros(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="normal_.*leaf"):
        w.normal_()
    with ng.no_grad():
        v0 = w._version
        assert w.normal_(0, 0.1) is w
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    assert w._version == v0 + 1
    assert arr(w).std() > 0


def test_fill_of_non_leaf_gives_zero_gradient():
    x = ng.ones(3, requires_grad=True)
    y = x * 2
    y.uniform_()
    (y * 3).sum().backward()
    np.testing.assert_array_equal(arr(x.grad), 0)  # the values no longer depend on x


def test_sample_parameters_get_zero_gradient():
    mean = ng.zeros(4, requires_grad=True)
    std = ng.ones(4, requires_grad=True)
    y = ng.normal(mean, std)
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(arr(mean.grad), 0)
    np.testing.assert_array_equal(arr(std.grad), 0)
    p = ng.full((3,), 0.5, requires_grad=True)
    ng.bernoulli(p).sum().backward()
    np.testing.assert_array_equal(arr(p.grad), 0)
    # the reparameterised sample is differentiable
    m = ng.zeros(4, requires_grad=True)
    eps = ng.randn(4)
    (m + 2.0 * eps).sum().backward()
    np.testing.assert_array_equal(arr(m.grad), 1)


def test_fill_through_a_non_contiguous_view_writes_the_base():
    base = ng.zeros(4, 6)
    view = base.transpose(0, 1)[::2]
    view.uniform_(5, 6)
    b = arr(base)
    assert (b[:, ::2] >= 5).all() and (b[:, 1::2] == 0).all()
    assert base._version == 1
