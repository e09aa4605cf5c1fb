"""nablagrad.autograd.functional against torch.autograd.functional: values, return structure
(Tensor vs tuple vs nested tuples), create_graph, strict mode and errors."""
import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import nablagrad as ng
import nablagrad.autograd.functional as F
import nablagrad.linalg  # noqa: F401  (ng.linalg)


def _np(x):
    return x.detach().numpy()


def assert_same(ours, theirs, atol=1e-10):
    """Same nesting (Tensor / tuple), shapes and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ng.Tensor), f"expected a Tensor, got {type(ours).__name__}"
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        np.testing.assert_allclose(_np(ours), _np(theirs), atol=atol, rtol=1e-8)
    else:
        assert isinstance(ours, tuple) and isinstance(theirs, tuple), (type(ours), type(theirs))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, atol)


def inputs(*shapes, seed=0):
    r = np.random.default_rng(seed)
    arrays = [r.uniform(0.5, 1.5, s) for s in shapes]
    return [ng.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


# Functions written once for both libraries (methods and operators they share).
def f_single(x):                       # Tensor -> Tensor
    return x.exp() * x.sum() + x.sin()


def f_two(x, y):                        # (Tensor, Tensor) -> Tensor
    return (x @ y).exp() / (1 + y.sum())


def f_tuple_out(x, y):                  # -> tuple of Tensors
    return x * y.sum(), (x @ y.mT).sin()


def f_scalar(x, y):                     # scalar, for Hessians
    return (x.pow(3) * y).sum() + (x @ y.mT).exp().sum()


def f_scalar_single(x):
    return (x.sin() * x.pow(2)).sum() + x.prod()


def logdet_of(lib):
    def f(x):
        n = x.shape[-1]
        return lib.logdet(x @ x.mT + n * lib.eye(n, dtype=x.dtype))
    return f


CASES_J = [(f_single, [(3,)]), (f_single, [(2, 2)]), (f_two, [(2, 3), (3, 2)]),
           (f_tuple_out, [(2, 3), (1, 3)])]


@pytest.mark.parametrize("fn,shapes", CASES_J)
@pytest.mark.parametrize("as_tuple", [False, True])
def test_jacobian(fn, shapes, as_tuple):
    xs, ts = inputs(*shapes)
    if len(xs) == 1 and not as_tuple:
        xs, ts = xs[0], ts[0]
    else:
        xs, ts = tuple(xs), tuple(ts)
    assert_same(F.jacobian(fn, xs), TF.jacobian(fn, ts))
    assert_same(F.jacobian(fn, xs, vectorize=True), TF.jacobian(fn, ts, vectorize=True))


def test_jacobian_of_linalg_function():
    xs, ts = inputs((3, 3))
    assert_same(F.jacobian(ng.linalg.inv, xs[0] + 2 * ng.eye(3, dtype=ng.float64)),
                TF.jacobian(torch.linalg.inv, ts[0] + 2 * torch.eye(3, dtype=torch.float64)))
    assert_same(F.hessian(logdet_of(ng), xs[0]), TF.hessian(logdet_of(torch), ts[0]), atol=1e-9)


@pytest.mark.parametrize("fn,shapes", [(f_scalar, [(2, 3), (1, 3)]), (f_scalar_single, [(4,)]),
                                       (f_scalar_single, [(2, 2)])])
def test_hessian(fn, shapes):
    xs, ts = inputs(*shapes, seed=1)
    if len(xs) == 1:
        assert_same(F.hessian(fn, xs[0]), TF.hessian(fn, ts[0]))
        assert_same(F.hessian(fn, (xs[0],)), TF.hessian(fn, (ts[0],)))
    else:
        assert_same(F.hessian(fn, tuple(xs)), TF.hessian(fn, tuple(ts)))


@pytest.mark.parametrize("fn,shapes", CASES_J)
def test_vjp_and_jvp(fn, shapes):
    xs, ts = inputs(*shapes, seed=2)
    single = len(xs) == 1
    x_in, t_in = (xs[0], ts[0]) if single else (tuple(xs), tuple(ts))
    outs = fn(*ts)
    r = np.random.default_rng(3)
    vo = [r.standard_normal(tuple(o.shape)) for o in (outs if isinstance(outs, tuple) else (outs,))]
    vi = [r.standard_normal(tuple(t.shape)) for t in ts]
    vo_ng = tuple(ng.tensor(v) for v in vo) if isinstance(outs, tuple) else ng.tensor(vo[0])
    vo_t = tuple(torch.tensor(v) for v in vo) if isinstance(outs, tuple) else torch.tensor(vo[0])
    vi_ng = ng.tensor(vi[0]) if single else tuple(ng.tensor(v) for v in vi)
    vi_t = torch.tensor(vi[0]) if single else tuple(torch.tensor(v) for v in vi)
    assert_same(F.vjp(fn, x_in, vo_ng), TF.vjp(fn, t_in, vo_t))
    assert_same(F.jvp(fn, x_in, vi_ng), TF.jvp(fn, t_in, vi_t))


@pytest.mark.parametrize("fn,shapes", [(f_scalar, [(2, 3), (1, 3)]), (f_scalar_single, [(3,)])])
def test_hvp_and_vhp(fn, shapes):
    xs, ts = inputs(*shapes, seed=4)
    r = np.random.default_rng(5)
    vs = [r.standard_normal(s) for s in shapes]
    if len(xs) == 1:
        args_ng, args_t = (xs[0], ng.tensor(vs[0])), (ts[0], torch.tensor(vs[0]))
    else:
        args_ng = (tuple(xs), tuple(ng.tensor(v) for v in vs))
        args_t = (tuple(ts), tuple(torch.tensor(v) for v in vs))
    assert_same(F.hvp(fn, *args_ng), TF.hvp(fn, *args_t))
    assert_same(F.vhp(fn, *args_ng), TF.vhp(fn, *args_t))


def test_v_may_be_omitted_for_one_element():
    x, t = ng.tensor([0.7], dtype=ng.float64), torch.tensor([0.7], dtype=torch.float64)
    assert_same(F.vjp(lambda a: a.exp().sum(), x), TF.vjp(lambda a: a.exp().sum(), t))
    assert_same(F.jvp(lambda a: a.sin(), x), TF.jvp(lambda a: a.sin(), t))
    assert_same(F.hvp(lambda a: a.pow(3).sum(), x), TF.hvp(lambda a: a.pow(3).sum(), t))
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(lambda a: a * 2, ng.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.jvp(lambda a: a * 2, ng.tensor([1.0, 2.0]))


def test_results_detached_unless_create_graph():
    x = ng.tensor([0.5, 1.0], requires_grad=True)
    out, g = F.vjp(lambda a: (a * a).sum(), x)
    assert not out.requires_grad and not g.requires_grad
    assert not F.jacobian(lambda a: a.exp(), x).requires_grad
    out, g = F.vjp(lambda a: (a * a).sum(), x, create_graph=True)
    assert g.requires_grad
    g.sum().backward()  # d/dx Σ 2x = 2, through the caller's x
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0])


@pytest.mark.parametrize("name", ["jacobian", "hessian"])
def test_create_graph_gives_higher_derivatives(name):
    xs, ts = inputs((3,), seed=6)
    x, t = xs[0].requires_grad_(), ts[0].requires_grad_()
    ours = getattr(F, name)(f_scalar_single, x, create_graph=True)
    theirs = getattr(TF, name)(f_scalar_single, t, create_graph=True)
    assert ours.requires_grad
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    np.testing.assert_allclose(_np(x.grad), _np(t.grad), rtol=1e-8)


def test_unused_input_gives_zeros_and_strict_raises():
    xs, ts = inputs((2,), (3,))

    def f(a, b):
        return a.exp()

    assert_same(F.jacobian(f, tuple(xs)), TF.jacobian(f, tuple(ts)))
    assert_same(F.vjp(f, tuple(xs), ng.ones(2, dtype=ng.float64)),
                TF.vjp(f, tuple(ts), torch.ones(2, dtype=torch.float64)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.jacobian(f, tuple(xs), strict=True)
    with pytest.raises(RuntimeError, match="strict"):
        F.vjp(f, tuple(xs), ng.ones(2, dtype=ng.float64), strict=True)


def test_errors_name_the_function():
    x = ng.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="jacobian must be either a Tensor or a tuple"):
        F.jacobian(lambda a: a, [x, 3.0])
    with pytest.raises(RuntimeError, match="single element"):
        F.hessian(lambda a: a * a, x)
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        F.vhp(lambda a: (a.sum(), a.sum()), x, x)
    with pytest.raises(RuntimeError, match="shape"):
        F.vjp(lambda a: a * 2, x, ng.ones(3))
    with pytest.raises(RuntimeError, match="invalid length"):
        F.jvp(lambda a, b: a * b, (x, x), (x,))
