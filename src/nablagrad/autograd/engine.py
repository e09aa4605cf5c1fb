"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

Back propagation (notes 004 §1.4): with the ops sorted so that every consumer comes before the
op that produced its input, each op receives dL/d(output), the sum over all its consumers, and
returns dL/d(input) = dL/d(output) · d(output)/d(input). The walk is iterative, so a chain of
100,000 ops needs no recursion.
"""
from __future__ import annotations

import weakref

from . import grad_mode

_Tensor = None  # set by nablagrad._tensor


def _topological_order(roots):
    """Ops reachable from ``roots``, producers before consumers (DFS post-order, no recursion)."""
    order, visited = [], set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.next))]
        while stack:
            node, edges = stack[-1]
            for e in edges:
                if type(e) is tuple and e[0] not in visited:
                    visited.add(e[0])
                    stack.append((e[0], iter(e[0].next)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _sum_to_shape(g, shape):
    """Undo broadcasting: sum ``g`` down to ``shape`` (the one place this is done)."""
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                      if n == 1 and g.shape[i + lead] != 1)
    if dims:
        g = g.sum(dim=dims, keepdim=True)
    if lead or g.shape != tuple(shape):
        g = g.reshape(shape)
    return g


def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=True, allow_unused=True):
    """Back-propagate ``grad_outputs`` from ``outputs``.

    With ``accumulate`` the gradients of the leaves (or of ``inputs`` only, if given) are added to
    their ``.grad``; otherwise the gradients with respect to ``inputs`` are returned
    (``autograd.grad``).
    """
    Tensor = _Tensor
    captured = [None] * len(inputs) if inputs is not None else None
    leaf_slot, node_slot = {}, {}
    if inputs is not None:
        for k, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"autograd: inputs must be Tensors, got {type(t).__name__}")
            if not t._rg:
                raise RuntimeError(f"autograd: input {k} does not require grad")
            if t.grad_fn is None:
                leaf_slot.setdefault(id(t), []).append(k)
            else:
                node_slot.setdefault((t.grad_fn, t._oi), []).append(k)

    with grad_mode.set_grad_enabled(create_graph):
        buffers = {}
        leaf_buffers = {}  # id(leaf) -> [leaf, summed gradient]: hooks see the total, once
        seen_arrays = set()  # arrays already stored in some .grad: copy before storing twice

        def to_leaf(t, g):
            if t._hooks:
                for hook in t._hooks:
                    r = hook(g)
                    if r is not None:
                        g = r
            slots = leaf_slot.get(id(t))
            if slots is not None:
                for k in slots:
                    captured[k] = g if captured[k] is None else captured[k] + g
                if accumulate:
                    _accumulate(t, g)
            elif accumulate and inputs is None:
                _accumulate(t, g)

        def _accumulate(t, g):
            if create_graph:
                t.grad = g if t.grad is None else t.grad + g
                return
            if t.grad is None:
                arr = g._data
                if id(arr) in seen_arrays or arr.base is not None or not arr.flags.writeable:
                    arr = arr.copy()
                seen_arrays.add(id(arr))
                t.grad = Tensor._make(arr, None, 0, False)
            else:
                if t.grad.shape != g.shape:
                    raise RuntimeError(f"backward: accumulated gradient of shape {list(g.shape)} "
                                       f"does not match .grad of shape {list(t.grad.shape)}")
                t.grad._data += g._data
                t.grad._vbox[0] += 1

        def route(edge, g):
            if type(edge) is tuple:
                op, idx = edge
                buf = buffers.get(op)
                if buf is None:
                    buf = buffers[op] = [None] * op.n_out
                buf[idx] = g if buf[idx] is None else buf[idx] + g
            else:
                entry = leaf_buffers.get(id(edge))
                if entry is None:
                    leaf_buffers[id(edge)] = [edge, g]
                else:
                    entry[1] = entry[1] + g

        root_ops = []
        for t, g in zip(outputs, grad_outputs):
            seen_arrays.add(id(g._data))  # the caller owns it: never store it as a .grad
            if t.grad_fn is None:
                if not t._rg:
                    raise RuntimeError("element 0 of tensors does not require grad and does not "
                                       "have a grad_fn")
                route(t, g)
            else:
                route((t.grad_fn, t._oi), g)
                root_ops.append(t.grad_fn)

        order = _topological_order(root_ops)
        needed = None
        if inputs is not None:  # prune ops that lead to none of the inputs
            needed = set()
            for op in order:  # producers first
                if any(k[0] is op for k in node_slot) or any(
                        (type(e) is tuple and e[0] in needed)
                        or (e is not None and type(e) is not tuple and id(e) in leaf_slot)
                        for e in op.next):
                    needed.add(op)

        for op in reversed(order):
            grads = buffers.pop(op, None)
            if grads is None:
                continue
            hooks = getattr(op, "tensor_hooks", None)
            if hooks:
                for idx, fns in hooks.items():
                    if grads[idx] is not None:
                        for fn in fns:
                            r = fn(grads[idx])
                            if r is not None:
                                grads[idx] = r
            retain = getattr(op, "retain_hooks", None)
            if retain:  # after the other hooks: .grad holds the final gradient
                for idx, fn in retain.items():
                    if grads[idx] is not None:
                        fn(grads[idx])
            if node_slot:
                for idx in range(op.n_out):
                    for k in node_slot.get((op, idx), ()):
                        if grads[idx] is not None:
                            captured[k] = grads[idx] if captured[k] is None else captured[k] + grads[idx]
                            if accumulate:
                                _accumulate(inputs[k], grads[idx])
            if needed is not None and op not in needed:
                continue
            if op.n_out > 1 and any(g is None for g in grads):
                grads = [g if g is not None else
                         Tensor._make(_zeros_like_output(op, i, grads), None, 0, False)
                         for i, g in enumerate(grads)]
            result = op.backward(*grads)
            if type(result) is not tuple:
                result = (result,)
            if len(result) != len(op.next):
                raise RuntimeError(f"{op.name()} returned {len(result)} gradients for "
                                   f"{len(op.next)} inputs")
            for edge, g, meta in zip(op.next, result, op.in_meta):
                if edge is None or g is None:
                    continue
                shape, dt = meta
                if g._data.shape != shape:
                    g = _sum_to_shape(g, shape)
                if g._data.dtype != dt:
                    g = g.to(dtype=dt)
                route(edge, g)
            if not retain_graph:
                op.release()
        for t, g in leaf_buffers.values():
            to_leaf(t, g)

    if captured is not None and not allow_unused:
        for k, c in enumerate(captured):
            if c is None:
                raise RuntimeError(f"autograd.grad: input {k} was not used in the graph; pass "
                                   "allow_unused=True if this is expected")
    return captured


def _zeros_like_output(op, i, grads):
    """Zeros for an unused output of a multi-output op (shape from a saved output record)."""
    shapes = getattr(op, "out_shapes", None)
    if shapes is None:
        raise RuntimeError(f"{op.name()}: output {i} received no gradient and its shape is unknown")
    ref = next(g for g in grads if g is not None)._data
    from ..backend import xp_of
    return xp_of(ref).zeros(shapes[i], dtype=op.out_dtypes[i])


def make_retain_grad_hook(tensor):
    """A hook that stores the gradient of a non-leaf tensor in its ``.grad`` (retain_grad)."""
    ref = weakref.ref(tensor)

    def hook(g):
        t = ref()
        if t is not None:
            g_ = g.clone() if grad_mode.state.enabled else g.detach().clone()
            t.grad = g_ if t.grad is None else t.grad + g_
    return hook

