"""The autograd engine, compared with PyTorch: backward and autograd.grad, accumulation,
retain_graph / create_graph, hooks, grad modes, in-place changes and the version counter, custom
Functions and gradcheck."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import nablagrad as ng


def both(fn):
    """Run ``fn(lib)`` with nablagrad and with torch."""
    return fn(ng), fn(torch)


def assert_close(a, b, atol=1e-6):
    """A nablagrad tensor (or None) against a torch tensor (or None)."""
    if b is None:
        assert a is None
        return
    assert a is not None
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=1e-6)


def assert_all_close(pair):
    ours, theirs = pair
    ours = ours if isinstance(ours, (tuple, list)) else (ours,)
    theirs = theirs if isinstance(theirs, (tuple, list)) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(b, (torch.Tensor, type(None))):
            assert_close(a, b)
        else:
            assert a == b


# ----------------------------------------------------------------------------- backward
class TestBackward:
    def test_scalar(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
            (x * x * 2.0 + x).sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_non_scalar_with_gradient(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            (x * x).backward(L.tensor([1.0, 10.0]))
            return x.grad
        assert_all_close(both(f))

    def test_gradient_as_list(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        (x * x).backward([1.0, 10.0])
        assert x.grad.tolist() == [2.0, 40.0]

    def test_one_element_non_scalar_needs_no_gradient(self):
        def f(L):
            x = L.tensor([[3.0]], requires_grad=True)
            (x * x).backward()
            return x.grad
        assert_all_close(both(f))

    def test_non_scalar_without_gradient_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="scalar outputs"):
            (x * x).backward()

    def test_gradient_shape_mismatch_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"\[3\].*\[2\]"):
            (x * x).backward(ng.tensor([1.0, 1.0, 1.0]))

    def test_no_graph_raises(self):
        with pytest.raises(RuntimeError, match="does not require grad"):
            (ng.tensor([1.0]) * 2).sum().backward()

    def test_backward_on_leaf(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        x.backward(ng.tensor([3.0, 4.0]))
        assert x.grad.tolist() == [3.0, 4.0]

    def test_leaf_grad_does_not_alias_given_gradient(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        v = ng.tensor([3.0, 4.0])
        x.backward(v)
        v.mul_(10)
        assert x.grad.tolist() == [3.0, 4.0]

    def test_accumulates_across_backward_calls(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = (x * x).sum()
            y.backward(retain_graph=True)
            first = x.grad
            y.backward()
            assert x.grad is first  # accumulated in place, as torch does
            (x * 3).sum().backward()
            return x.grad
        assert_all_close(both(f))

    @pytest.mark.parametrize("fn", [lambda x: x * x, lambda x: x * x * x,
                                    lambda x: x * x.exp() / x])
    def test_shared_input(self, fn):
        def f(L):
            x = L.tensor([1.0, -2.0, 3.0], requires_grad=True)
            fn(x).sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_two_paths(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            w = L.tensor([0.5, -1.0], requires_grad=True)
            h = x * w
            (h * 2 + h * x - w.exp()).sum().backward()
            return x.grad, w.grad
        assert_all_close(both(f))

    def test_grads_of_add_are_independent_arrays(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        w = ng.tensor([1.0, 2.0], requires_grad=True)
        (x + w).sum().backward()
        x.grad.mul_(10)
        assert w.grad.tolist() == [1.0, 1.0]

    def test_grad_is_none_for_unused_leaf(self):
        x = ng.tensor([1.0], requires_grad=True)
        w = ng.tensor([1.0], requires_grad=True)
        (x * 2).sum().backward()
        assert w.grad is None

    def test_leaf_not_requiring_grad_gets_no_grad(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        c = ng.tensor([3.0, 4.0])
        (x * c).sum().backward()
        assert c.grad is None and x.grad.tolist() == [3.0, 4.0]

    def test_autograd_backward_multiple_roots(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            L.autograd.backward([x * 2, x * x], [L.tensor([1.0, 1.0]), L.tensor([2.0, 2.0])])
            L.autograd.backward((x * x).sum())
            return x.grad
        assert_all_close(both(f))


# ----------------------------------------------------------------------------- retain_graph
class TestRetainGraph:
    def test_second_backward_through_freed_graph_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="second time") as info:
            y.backward()
        assert "retain_graph=True" in str(info.value) and "MulBackward" in str(info.value)

    def test_autograd_grad_twice_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp().sum()
        ng.autograd.grad(y, x)
        with pytest.raises(RuntimeError, match="second time"):
            ng.autograd.grad(y, x)

    def test_retain_graph_allows_second_backward(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = (x.exp() * x).sum()
            g1 = L.autograd.grad(y, x, retain_graph=True)[0]
            g2 = L.autograd.grad(y, x)[0]
            return g1, g2
        assert_all_close(both(f))

    def test_graph_without_saved_tensors_can_be_reused(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = (x + x).sum()
            y.backward()
            y.backward()
            return x.grad
        assert_all_close(both(f))

    def test_create_graph_retains_graph(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        ng.autograd.grad(y, x, create_graph=True)
        assert ng.autograd.grad(y, x)[0].tolist() == [2.0, 4.0]


# ----------------------------------------------------------------------------- higher order
class TestHigherOrder:
    def test_third_derivative_of_cube(self):
        def f(L):
            x = L.tensor([1.0, 2.0, -3.0], requires_grad=True)
            y = x * x * x
            g1, = L.autograd.grad(y.sum(), x, create_graph=True)
            g2, = L.autograd.grad(g1.sum(), x, create_graph=True)
            g3, = L.autograd.grad(g2.sum(), x, create_graph=True)
            assert g1.requires_grad and g2.requires_grad
            return g1, g2, g3, g3.requires_grad
        assert_all_close(both(f))

    def test_backward_create_graph(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            (x * x * x).sum().backward(create_graph=True)
            g = x.grad
            assert g.requires_grad and g.grad_fn is not None
            x.grad = None
            g.sum().backward()
            return g, x.grad
        assert_all_close(both(f))

    def test_grad_of_constant_gradient_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        g1, = ng.autograd.grad((x * x).sum(), x, create_graph=True)
        g2, = ng.autograd.grad(g1.sum(), x, create_graph=True)
        with pytest.raises(RuntimeError, match="does not require grad"):
            ng.autograd.grad(g2.sum(), x)

    def test_mixed_second_derivative(self):
        def f(L):
            x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
            w = L.tensor([0.5, -1.5], dtype=L.float64, requires_grad=True)
            y = (x * x * w).exp().sum()
            gx, = L.autograd.grad(y, x, create_graph=True)
            gxw, = L.autograd.grad(gx.sum(), w)
            return gx, gxw
        assert_all_close(both(f))

    def test_without_create_graph_grads_do_not_require_grad(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        g, = ng.autograd.grad((x * x).sum(), x)
        assert not g.requires_grad and g.grad_fn is None
        (x * x).sum().backward()
        assert not x.grad.requires_grad


# ----------------------------------------------------------------------------- autograd.grad
class TestAutogradGrad:
    def test_does_not_touch_dot_grad(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        g, = ng.autograd.grad((x * 3).sum(), x)
        assert g.tolist() == [3.0, 3.0] and x.grad is None

    def test_grad_outputs(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            return L.autograd.grad(x * x, x, grad_outputs=L.tensor([1.0, 2.0]))
        assert_all_close(both(f))

    def test_multiple_outputs_and_inputs(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            w = L.tensor([3.0], requires_grad=True)
            y = x * w
            return L.autograd.grad([y.sum(), (y * y).sum()], [x, w])
        assert_all_close(both(f))

    def test_unused_input_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        z = ng.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="allow_unused"):
            ng.autograd.grad((x * 2).sum(), [x, z])

    def test_allow_unused(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            z = L.tensor([1.0, 2.0], requires_grad=True)
            return L.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
        assert_all_close(both(f))

    def test_materialize_grads(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            z = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
            return L.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
        assert_all_close(both(f))

    def test_materialize_grads_with_allow_unused_false_raises(self):
        x = ng.tensor([1.0], requires_grad=True)
        with pytest.raises(ValueError, match="allow_unused"):
            ng.autograd.grad((x * 2).sum(), [x], allow_unused=False, materialize_grads=True)

    def test_non_leaf_inputs(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            h = x * 3
            y = (h * h).sum()
            gh, gx = L.autograd.grad(y, [h, x])
            return gh, gx, x.grad
        assert_all_close(both(f))

    def test_input_is_output(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            return L.autograd.grad(y, y, L.tensor([3.0, 4.0]))
        assert_all_close(both(f))

    def test_input_not_requiring_grad_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="does not require grad"):
            ng.autograd.grad(x.sum(), ng.tensor([1.0]))

    def test_single_input_returns_tuple(self):
        x = ng.tensor([1.0], requires_grad=True)
        out = ng.autograd.grad((x * 2).sum(), x)
        assert isinstance(out, tuple) and len(out) == 1


# ----------------------------------------------------------------------------- inputs=
class TestBackwardInputs:
    def test_accumulates_only_into_inputs(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            w = L.tensor([3.0, 4.0], requires_grad=True)
            (x * w).sum().backward(inputs=[x])
            return x.grad, w.grad
        assert_all_close(both(f))

    def test_single_tensor_inputs(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            w = L.tensor([3.0, 4.0], requires_grad=True)
            (x * w).sum().backward(inputs=w)
            L.autograd.backward((x * w).sum(), inputs=[w])
            return x.grad, w.grad
        assert_all_close(both(f))

    def test_non_leaf_input_gets_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            h = x * 3
            (h * h).sum().backward(inputs=[h])
            return x.grad, h.grad
        assert_all_close(both(f))


# ----------------------------------------------------------------------------- hooks
class TestHooks:
    def test_leaf_hook_modifies_grad_and_remove(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            calls = []
            handle = x.register_hook(lambda g: calls.append(1) or g * 10)
            (x * 3).sum().backward()
            first = x.grad.clone()
            handle.remove()
            handle.remove()  # removing twice is harmless
            x.grad = None
            (x * 3).sum().backward()
            return first, x.grad, len(calls)
        assert_all_close(both(f))

    def test_hook_returning_none_keeps_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            seen = []
            x.register_hook(lambda g: seen.append(g.clone()))
            (x * 3).sum().backward()
            return x.grad, seen[0]
        assert_all_close(both(f))

    def test_hooks_run_in_registration_order(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            order = []
            x.register_hook(lambda g: order.append("a") or g * 2)
            x.register_hook(lambda g: order.append("b") or g + 1)
            (x * 1).sum().backward()
            return x.grad, "".join(order)
        assert_all_close(both(f))

    def test_non_leaf_hook(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            seen = []
            y.register_hook(lambda g: seen.append(g.clone()) or g * 10)
            (y * y).sum().backward()
            return x.grad, seen[0]
        assert_all_close(both(f))

    def test_non_leaf_hook_sees_summed_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 1
            seen = []
            y.register_hook(lambda g: seen.append(g.clone()))
            (y * 2 + y * 3).sum().backward()
            return x.grad, seen[0], len(seen)
        assert_all_close(both(f))

    def test_leaf_hook_sees_summed_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            seen = []
            x.register_hook(lambda g: seen.append(g.clone()) or g * g)  # not linear
            (x * x).sum().backward()
            return x.grad, seen[0], len(seen)
        assert_all_close(both(f))

    def test_hook_runs_in_autograd_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            x.register_hook(lambda g: g * 2)
            return L.autograd.grad((x * 3).sum(), x)
        assert_all_close(both(f))

    def test_hook_on_tensor_without_grad_raises(self):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            ng.tensor([1.0]).register_hook(lambda g: g)

    def test_retain_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            y.retain_grad()
            z = y * y
            z.retain_grad()
            z.sum().backward()
            return y.grad, z.grad, x.grad, y.retains_grad, x.retains_grad, z.is_leaf
        assert_all_close(both(f))

    def test_retain_grad_accumulates(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            y.retain_grad()
            z = (y * y).sum()
            z.backward(retain_graph=True)
            z.backward()
            return y.grad, x.grad
        assert_all_close(both(f))

    def test_retain_grad_two_paths(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 1
            y.retain_grad()
            (y * 2 + y * 3).sum().backward()
            return y.grad
        assert_all_close(both(f))

    def test_retain_grad_on_leaf_is_noop(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        x.retain_grad()
        (x * 2).sum().backward()
        assert x.grad.tolist() == [2.0, 2.0] and not x.retains_grad

    def test_retain_grad_without_grad_raises(self):
        with pytest.raises(RuntimeError, match="requires_grad=False"):
            ng.tensor([1.0]).retain_grad()

    def test_hook_before_retain_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            y.register_hook(lambda g: g * 2)
            y.retain_grad()
            (y * 1).sum().backward()
            return y.grad, x.grad
        assert_all_close(both(f))

    def test_hook_after_retain_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            y.retain_grad()
            y.register_hook(lambda g: g * 2)
            (y * 1).sum().backward()
            return y.grad, x.grad
        assert_all_close(both(f))

    def test_retained_grad_does_not_alias(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        v = ng.tensor([3.0, 4.0])
        y = x * 1
        y.retain_grad()
        y.backward(v)
        v.mul_(10)
        assert y.grad.tolist() == [3.0, 4.0]


# ----------------------------------------------------------------------------- grad modes
class TestGradModes:
    def test_no_grad_enable_grad_nested(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            with L.no_grad():
                y = x * 2
                inner = L.is_grad_enabled()
                with L.enable_grad():
                    z = x * 2
                    inner2 = L.is_grad_enabled()
                w = x * 2
            return y.requires_grad, z.requires_grad, w.requires_grad, inner, inner2, \
                L.is_grad_enabled()
        assert_all_close(both(f))

    def test_decorators(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)

            @L.no_grad()
            def off(a):
                return a * 2

            @L.enable_grad()
            def on(a):
                return a * 2

            with L.no_grad():
                r = on(x)
            return off(x).requires_grad, r.requires_grad, L.is_grad_enabled(), off.__name__
        assert_all_close(both(f))

    def test_bare_decorators(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)

        @ng.no_grad
        def off(a):
            return a * 2

        @ng.enable_grad
        def on(a):
            return a * 2

        assert not off(x).requires_grad
        with ng.no_grad():
            assert on(x).requires_grad

    def test_set_grad_enabled(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            with L.set_grad_enabled(False):
                y = x * 2
                with L.set_grad_enabled(True):
                    z = x * 2
            L.set_grad_enabled(False)  # as a function: stays off
            w = x * 2
            off = L.is_grad_enabled()
            L.set_grad_enabled(True)

            @L.set_grad_enabled(False)
            def g(a):
                return a * 2
            return y.requires_grad, z.requires_grad, w.requires_grad, off, \
                g(x).requires_grad, L.is_grad_enabled()
        assert_all_close(both(f))

    def test_inference_mode(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            with L.inference_mode():
                y = x * 2
                off = L.is_grad_enabled()
            with L.inference_mode(False):
                z = x * 2

            @L.inference_mode()
            def g(a):
                return a * 2
            return y.requires_grad, off, z.requires_grad, g(x).requires_grad, L.is_grad_enabled()
        assert_all_close(both(f))

    def test_restored_after_exception(self):
        with pytest.raises(KeyError):
            with ng.no_grad():
                raise KeyError
        assert ng.is_grad_enabled()
        with ng.no_grad():
            with pytest.raises(KeyError):
                with ng.enable_grad():
                    raise KeyError
            assert not ng.is_grad_enabled()
        assert ng.is_grad_enabled()

    def test_backward_of_graph_built_before_no_grad(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        with ng.no_grad():
            y.backward()
        assert x.grad.tolist() == [2.0, 4.0]
        assert ng.is_grad_enabled()

    def test_in_place_under_no_grad_keeps_leaf(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        with ng.no_grad():
            x.mul_(2)
            x[0] = 5.0
        assert x.tolist() == [5.0, 4.0] and x.requires_grad and x.is_leaf and x.grad_fn is None


# ----------------------------------------------------------------------------- requires_grad rules
class TestRequiresGradPropagation:
    def test_rules(self):
        def f(L):
            x = L.tensor([1.5, 2.5], requires_grad=True)
            i = L.tensor([1, 2])
            return ((x * i).requires_grad, (x * i).dtype == L.float32, (i * 2).requires_grad,
                    (x * 0).requires_grad, x.detach().requires_grad, (x.detach() * x).requires_grad)
        assert_all_close(both(f))

    def test_integer_outputs_never_require_grad(self):
        def f(L):
            x = L.tensor([1.5, 2.5], requires_grad=True)
            return (x.long().requires_grad, x.long().grad_fn, x.bool().requires_grad,
                    x.int().is_leaf, x.double().requires_grad)
        assert_all_close(both(f))

    def test_sum_of_integers_is_int64_without_grad(self):
        s = ng.tensor([1, 2, 3], dtype=ng.int32).sum()
        assert s.dtype is ng.int64 and not s.requires_grad


# ----------------------------------------------------------------------------- dtypes, broadcasting
class TestGradShapesAndDtypes:
    def test_mixed_float32_float64(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            w = L.tensor([3.0, 4.0], dtype=L.float64, requires_grad=True)
            h = L.tensor(0.5, dtype=L.float16, requires_grad=True)
            y = (x * w + x * h).sum()
            y.backward()
            return y.dtype == L.float64, x.grad, w.grad, h.grad
        ours, theirs = both(f)
        assert ours[0] and theirs[0]
        for a, b in zip(ours[1:], theirs[1:]):
            assert_close(a, b, atol=1e-3)

    def test_int_operand_gets_no_grad(self):
        x = ng.tensor([1.0, 2.0], dtype=ng.float64, requires_grad=True)
        i = ng.tensor([3, 4])
        (x * i).sum().backward()
        assert x.grad.dtype is ng.float64 and x.grad.tolist() == [3.0, 4.0] and i.grad is None

    def test_broadcast_grads_reduce_to_input_shapes(self):
        def f(L):
            a = L.ones(3, 1, requires_grad=True)
            b = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
            s = L.tensor(2.0, requires_grad=True)
            c = L.ones(2, 1, 1, 4, requires_grad=True)
            ((a * b * s + c) * (a - b)).sum().backward()
            return a.grad, b.grad, s.grad, c.grad
        assert_all_close(both(f))

    def test_broadcast_matmul_grads(self):
        def f(L):
            g = torch.Generator().manual_seed(0)
            a0 = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
            b0 = torch.randn(4, 5, generator=g, dtype=torch.float64)
            a = L.tensor(a0.numpy(), requires_grad=True)
            b = L.tensor(b0.numpy(), requires_grad=True)
            (a @ b).sum().backward()
            return a.grad, b.grad
        assert_all_close(both(f))

    def test_grad_of_scalar_python_operands(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            (2.0 / x + 3 * x - 1).sum().backward()
            return x.grad
        assert_all_close(both(f))


# ----------------------------------------------------------------------------- in-place
class TestInPlace:
    def test_modified_saved_output_raises_naming_op(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y.add_(1)
        with pytest.raises(RuntimeError, match="ExpBackward") as info:
            y.sum().backward()
        assert "inplace" in str(info.value) and "version 1" in str(info.value)

    def test_modified_saved_input_raises_naming_op(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        z = y * y
        y.mul_(2)
        with pytest.raises(RuntimeError, match="MulBackward"):
            z.sum().backward()

    def test_modified_through_detached_alias_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        with ng.no_grad():
            y.detach().add_(1)
        with pytest.raises(RuntimeError, match="ExpBackward"):
            y.sum().backward()

    def test_modified_through_view_raises(self):
        x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x.exp()
        y[1:].mul_(2)
        with pytest.raises(RuntimeError, match="ExpBackward"):
            y.sum().backward()

    def test_exp_in_place_on_saved_output_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y.exp_()
        with pytest.raises(RuntimeError, match="ExpBackward"):
            y.sum().backward()

    def test_in_place_on_leaf_raises(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        for op in [lambda: x.add_(1), lambda: x.mul_(2), lambda: x.neg_(), lambda: x.exp_()]:
            with pytest.raises(RuntimeError, match="leaf Variable"):
                op()
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x[0] = 3.0
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x[0:1].mul_(2)
        assert x.tolist() == [1.0, 2.0] and x._version == 0

    def test_in_place_on_non_leaf_rebases_history(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
            y = x * 1
            y.mul_(x)
            assert y.grad_fn.name().startswith("MulBackward")
            y.sum().backward()
            return x.grad, y._version
        assert_all_close(both(f))

    def test_chain_of_in_place_ops(self):
        def f(L):
            x = L.tensor([0.5, 1.0, 1.5], requires_grad=True)
            y = x * 2
            y.add_(x).mul_(x).sub_(1).div_(2).neg_().exp_()
            y.sum().backward()
            return y, x.grad, y._version
        assert_all_close(both(f))

    def test_in_place_with_no_grad_value_keeps_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            y = x * 2
            y.add_(L.tensor([5.0, 5.0]))
            (y * y).sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_in_place_makes_plain_tensor_require_grad(self):
        def f(L):
            x = L.tensor([1.0, 2.0], requires_grad=True)
            c = L.zeros(2)
            c.add_(x * 3)
            assert c.requires_grad and not c.is_leaf
            (c * c).sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_in_place_through_view_updates_base_history(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
            y = x * 1
            y[1:3].mul_(3)
            y.sum().backward()
            return x.grad, y
        assert_all_close(both(f))

    def test_in_place_through_view_with_grad_value(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
            y = x * 1
            v = y[1:3]
            v.mul_(x[1:3])
            (y * y).sum().backward()
            return x.grad, y, v
        assert_all_close(both(f))

    def test_in_place_through_view_then_use_view(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
            y = x * 2
            v = y[1:3]
            v.mul_(x[1:3])
            (v * v).sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_in_place_through_2d_view(self):
        def f(L):
            x = L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
            y = x * 1
            y.t()[1].mul_(x.t()[2])  # column 1 scaled by column 2 of x
            (y * y).sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_view_of_base_modified_in_place(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
            y = x * 1
            v = y[1:]
            y.mul_(2)
            (v * v).sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_overlapping_sibling_view_modified(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
            y = x * 1
            a, b = y[0:2], y[1:3]
            a.mul_(2)
            b.sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_setitem_into_values_and_target(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
            v = L.tensor([10.0, 20.0], requires_grad=True)
            y = x * 2
            y[1:3] = v * v
            (y * L.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
            return x.grad, v.grad, y
        assert_all_close(both(f))

    def test_setitem_advanced_index(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
            v = L.tensor([10.0], requires_grad=True)
            y = x * 2
            y[L.tensor([0, 2])] = v
            (y * L.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
            return x.grad, v.grad
        assert_all_close(both(f))

    def test_setitem_python_scalar(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
            y = x * 2
            y[0] = 0.0
            y.sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_setitem_grad_value_into_plain_tensor(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0])
            v = L.tensor([5.0], requires_grad=True)
            x[1:2] = v * 3
            (x * x).sum().backward()
            return v.grad, x.requires_grad, x.is_leaf
        assert_all_close(both(f))

    def test_clone_then_in_place(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
            c = (x * 1).clone()
            c.mul_(2)
            c.sum().backward()
            return x.grad
        assert_all_close(both(f))

    def test_detach_(self):
        def f(L):
            x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
            y = x * 2
            assert y.detach_() is y
            return y.requires_grad, y.grad_fn, y.is_leaf
        assert_all_close(both(f))

    def test_detach_on_view_raises(self):
        x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = (x * 2)[1:]
        with pytest.raises(RuntimeError, match="view"):
            v.detach_()


# ----------------------------------------------------------------------------- custom Function
class MulAdd(ng.autograd.Function):
    """(a·b + k, a·k): two inputs, a non-tensor argument, two outputs."""

    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b + k, a * k

    @staticmethod
    def backward(ctx, g1, g2):
        a, b = ctx.saved_tensors
        ga = g1 * b + g2 * ctx.k if ctx.needs_input_grad[0] else None
        gb = g1 * a if ctx.needs_input_grad[1] else None
        return ga, gb, None


class TorchMulAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b + k, a * k

    @staticmethod
    def backward(ctx, g1, g2):
        a, b = ctx.saved_tensors
        ga = g1 * b + g2 * ctx.k if ctx.needs_input_grad[0] else None
        gb = g1 * a if ctx.needs_input_grad[1] else None
        return ga, gb, None


class Cube(ng.autograd.Function):
    """x³ with derivative 3x², written in Tensor ops so that it is twice differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x


class WrongSquare(ng.autograd.Function):
    """x² with a deliberately wrong derivative (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x


class NeedsInputGrad(ng.autograd.Function):
    record: list = []

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        NeedsInputGrad.record.append(ctx.needs_input_grad)
        return None, g


class TooManyGrads(ng.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2, g


def f64(*values, rg=True):
    return ng.tensor(list(values), dtype=ng.float64, requires_grad=rg)


class TestCustomFunction:
    def test_single_output(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = Cube.apply(x)
        assert y.tolist() == [1.0, 8.0] and y.requires_grad
        assert y.grad_fn.name() == "CubeBackward"
        y.sum().backward()
        assert x.grad.tolist() == [3.0, 12.0]

    def test_no_grad_inputs_give_no_graph(self):
        y = Cube.apply(ng.tensor([2.0]))
        assert not y.requires_grad and y.grad_fn is None
        x = ng.tensor([2.0], requires_grad=True)
        with ng.no_grad():
            y = Cube.apply(x)
        assert not y.requires_grad and y.grad_fn is None

    def test_needs_input_grad(self):
        NeedsInputGrad.record.clear()
        a, b = ng.tensor([1.0, 2.0]), ng.tensor([3.0, 4.0], requires_grad=True)
        NeedsInputGrad.apply(a, b).sum().backward()
        assert NeedsInputGrad.record == [(False, True)]
        assert b.grad.tolist() == [1.0, 1.0]

    def test_saved_tensors_freed_after_backward(self):
        x = f64(1.0, 2.0)
        y = Cube.apply(x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()

    def test_wrong_number_of_grads_raises(self):
        x = ng.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="gradients"):
            TooManyGrads.apply(x).sum().backward()

    def test_double_backward(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        g, = ng.autograd.grad(Cube.apply(x * 1).sum(), x, create_graph=True)
        g2, = ng.autograd.grad(g.sum(), x)
        assert g.tolist() == [3.0, 12.0] and g2.tolist() == [6.0, 12.0]

    def test_gradcheck_and_gradgradcheck(self):
        x = f64(0.5, -1.5, 2.0)
        assert ng.autograd.gradcheck(Cube.apply, (x,))
        assert ng.autograd.gradgradcheck(Cube.apply, (x,))

    def test_multiple_outputs_and_non_tensor_arg(self):
        a = ng.tensor([1.0, 2.0], requires_grad=True)
        b = ng.tensor([3.0, 4.0])
        ta = torch.tensor([1.0, 2.0], requires_grad=True)
        tb = torch.tensor([3.0, 4.0])
        p, q = MulAdd.apply(a, b, 5.0)
        tp, tq = TorchMulAdd.apply(ta, tb, 5.0)
        assert_close(p, tp)
        assert_close(q, tq)
        (p.sum() + (q * q).sum()).backward()
        (tp.sum() + (tq * tq).sum()).backward()
        assert_close(a.grad, ta.grad)
        assert b.grad is None

    def test_unused_output_gets_zero_grad(self):
        a = ng.tensor([1.0, 2.0], requires_grad=True)
        b = ng.tensor([3.0, 4.0], requires_grad=True)
        p, _ = MulAdd.apply(a, b, 5.0)
        p.sum().backward()
        assert a.grad.tolist() == [3.0, 4.0] and b.grad.tolist() == [1.0, 2.0]

    def test_gradcheck_multi_output(self):
        a, b = f64(1.0, 2.0), f64(3.0, -4.0)
        fn = lambda a, b: MulAdd.apply(a, b, 5.0)  # noqa: E731
        assert ng.autograd.gradcheck(fn, (a, b))
        assert ng.autograd.gradgradcheck(fn, (a, b))


# ----------------------------------------------------------------------------- gradcheck
class TestGradcheck:
    def test_builtin_ops_pass(self):
        x, w = f64(0.5, -1.0, 2.0), f64(1.5, 0.5, -0.5)
        fn = lambda x, w: (x * w).exp() / (w * w + 1) - x  # noqa: E731
        assert ng.autograd.gradcheck(fn, (x, w))
        assert ng.autograd.gradgradcheck(fn, (x, w))

    def test_wrong_backward_fails(self):
        x = f64(1.0, 2.0)
        with pytest.raises(ng.autograd.GradcheckError):
            ng.autograd.gradcheck(WrongSquare.apply, (x,))
        assert ng.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
        assert issubclass(ng.autograd.GradcheckError, RuntimeError)

    def test_wrong_second_derivative_fails_gradgradcheck(self):
        class WrongSecond(ng.autograd.Function):
            """x³ whose backward is right at first order but not differentiable correctly:
            it uses a constant copy of x, so the second derivative misses a term."""

            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return g * 3 * x * x.detach()

        x = f64(1.0, 2.0)
        assert ng.autograd.gradcheck(WrongSecond.apply, (x,))
        with pytest.raises(ng.autograd.GradcheckError):
            ng.autograd.gradgradcheck(WrongSecond.apply, (x,))

    def test_non_tensor_and_non_grad_inputs(self):
        x = f64(1.0, 2.0)
        c = f64(3.0, 4.0, rg=False)
        assert ng.autograd.gradcheck(lambda x, c, k: x * c * k, (x, c, 2.0))

    def test_requires_float64(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(ValueError, match="float64"):
            ng.autograd.gradcheck(lambda x: x * 2, (x,))


# ----------------------------------------------------------------------------- deep graphs
class TestDeepGraph:
    def test_long_chain_backward(self):
        x = ng.tensor([1.0], dtype=ng.float64, requires_grad=True)
        y = x
        for _ in range(20000):
            y = y * 1.0001
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 20000], rtol=1e-9)
        del y  # freeing a deep graph must not recurse either

    def test_long_chain_create_graph(self):
        x = ng.tensor([2.0], dtype=ng.float64, requires_grad=True)
        y = x
        for _ in range(20000):
            y = y * x * 0.5  # y = x^20001 / 2^20000, dy/dx = 20001 at x = 2
        g, = ng.autograd.grad(y.sum(), x, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), [20001.0], rtol=1e-9)
        assert g.requires_grad


# ----------------------------------------------------------------------------- Function ctx marks
class _SortWithIndices(ng.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        order = np.argsort(x.detach().numpy())
        idx = ng.tensor(order.astype(np.float64))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(ng.tensor(order))
        return x[ng.tensor(order)], idx

    @staticmethod
    def backward(ctx, g_values, g_idx):
        (order,) = ctx.saved_tensors
        grad = ng.zeros(g_values.shape, dtype=g_values.dtype)
        grad[order] = g_values
        return grad


class _AddOneInPlace(ng.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g


def test_mark_non_differentiable_outputs_do_not_require_grad():
    x = ng.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, idx = _SortWithIndices.apply(x)
    assert values.requires_grad and not idx.requires_grad and idx.grad_fn is None
    (values * ng.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.0, 2.0])


def test_mark_dirty_moves_history_and_version():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    before = y._version
    z = _AddOneInPlace.apply(y)
    assert z is y and y._version == before + 1
    assert y.grad_fn is not None and "AddOneInPlace" in y.grad_fn.name()
    np.testing.assert_allclose(y.detach().numpy(), [3.0, 5.0])
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 20.0])  # d/dx (2x+1)^2 = 4(2x+1)


def test_mark_dirty_on_a_leaf_that_requires_grad_raises():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        _AddOneInPlace.apply(x)
