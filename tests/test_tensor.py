"""The Tensor itself, compared with PyTorch: metadata (shape, strides, storage), conversions,
detach/clone, requires_grad rules, repr, dtype promotion, Size, Python protocols and the
version counter that in-place ops bump."""
from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest
import torch

import nablagrad as ng

DTYPE_NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def ngd(name):
    return ng.bool if name == "bool" else getattr(ng, name)


def thd(name):
    return getattr(torch, name)


def same_dtype(a, b) -> bool:
    """A nablagrad dtype and a torch dtype with the same name."""
    return str(a).split(".")[-1] == str(b).split(".")[-1]


def assert_like_torch(t, ref):
    assert same_dtype(t.dtype, ref.dtype), (t.dtype, ref.dtype)
    assert tuple(t.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(t.detach().numpy(), ref.detach().numpy())


# ----------------------------------------------------------------------------- metadata
class TestMetadata:
    def test_shape_size_dim_numel(self):
        t, r = ng.zeros(2, 3, 4), torch.zeros(2, 3, 4)
        assert t.shape == r.shape == (2, 3, 4)
        assert t.size() == r.size()
        assert isinstance(t.shape, ng.Size) and isinstance(t.size(), ng.Size)
        assert [t.size(d) for d in range(-3, 3)] == [r.size(d) for d in range(-3, 3)]
        assert t.dim() == t.ndim == t.ndimension() == 3
        assert t.numel() == t.nelement() == ng.numel(t) == 24
        assert ng.zeros(2, 0).numel() == 0

    def test_zero_dim(self):
        t = ng.tensor(1.5)
        assert t.shape == () and t.size() == ng.Size([]) and t.dim() == 0
        assert t.numel() == 1 and t.stride() == ()

    @pytest.mark.parametrize("dim", [3, -4])
    def test_size_dim_out_of_range(self, dim):
        with pytest.raises(IndexError, match="Dimension out of range"):
            ng.zeros(2, 3, 4).size(dim)
        with pytest.raises(IndexError, match="Dimension out of range"):
            ng.zeros(2, 3, 4).stride(dim)

    def test_dtype_and_device(self):
        t = ng.tensor([1.0, 2.0])
        assert t.dtype is ng.float32 and t.dtype == ng.float
        assert t.device == ng.device("cpu") and str(t.device) == "cpu"
        assert t.device.type == "cpu" and not t.is_cuda
        assert ng.tensor([1, 2]).dtype is ng.int64 is ng.long
        assert ng.tensor([True]).dtype is ng.bool
        assert ng.float64 is ng.double and ng.float16 is ng.half and ng.int32 is ng.int
        assert repr(ng.float64) == "nablagrad.float64"
        assert ng.float32.is_floating_point and not ng.int64.is_floating_point
        assert ng.float32.itemsize == 4 and ng.int16.itemsize == 2

    def test_element_size(self):
        for name in DTYPE_NAMES:
            assert ng.zeros(1, dtype=ngd(name)).element_size() == \
                torch.zeros(1, dtype=thd(name)).element_size()

    def test_strides_and_contiguity_match_torch(self):
        t, r = ng.arange(24.0).reshape(2, 3, 4), torch.arange(24.0).reshape(2, 3, 4)
        pairs = [
            (t, r),
            (t.permute(2, 0, 1), r.permute(2, 0, 1)),
            (t.transpose(0, 2), r.transpose(0, 2)),
            (t[:, 1:, ::2], r[:, 1:, ::2]),
            (t[1], r[1]),
            (t[..., 3], r[..., 3]),
            (t.unsqueeze(1), r.unsqueeze(1)),
            (ng.ones(3, 1).expand(3, 4), torch.ones(3, 1).expand(3, 4)),
        ]
        for a, b in pairs:
            assert a.shape == b.shape
            assert a.stride() == b.stride()
            assert [a.stride(d) for d in range(a.dim())] == [b.stride(d) for d in range(b.dim())]
            assert a.is_contiguous() == b.is_contiguous()
            assert a.storage_offset() == b.storage_offset()

    def test_data_ptr_of_views(self):
        t, r = ng.arange(6.0), torch.arange(6.0)
        assert (t[2:].data_ptr() - t.data_ptr()) == (r[2:].data_ptr() - r.data_ptr())
        assert t.reshape(2, 3).data_ptr() == t.data_ptr()
        assert t.clone().data_ptr() != t.data_ptr()
        assert t[2:].untyped_storage().data_ptr() == t.untyped_storage().data_ptr()

    def test_is_floating_point(self):
        assert ng.tensor([1.0]).is_floating_point()
        assert not ng.tensor([1]).is_floating_point()
        assert not ng.tensor([True]).is_floating_point()


# ----------------------------------------------------------------------------- conversions
class TestConversions:
    def test_item(self):
        for v in [3, 2.5, True]:
            a, b = ng.tensor(v).item(), torch.tensor(v).item()
            assert a == b and type(a) is type(b)
        assert ng.tensor([[7]]).item() == 7
        with pytest.raises(RuntimeError, match="2 elements"):
            ng.tensor([1, 2]).item()

    def test_item_on_tensor_requiring_grad(self):
        assert ng.tensor([2.0], requires_grad=True).item() == 2.0

    def test_tolist(self):
        for v in [[[1, 2], [3, 4]], [1.5, 2.0], [True, False], 3, 2.5, []]:
            assert ng.tensor(v).tolist() == torch.tensor(v).tolist()
        assert type(ng.tensor(3).tolist()) is int
        assert ng.tensor([2.0], requires_grad=True).tolist() == [2.0]

    def test_numpy_shares_memory(self):
        t = ng.tensor([1.0, 2.0, 3.0])
        n = t.numpy()
        assert n.dtype == np.float32
        n[0] = 10
        assert t.tolist() == [10.0, 2.0, 3.0]
        t.mul_(2)
        assert n.tolist() == [20.0, 4.0, 6.0]

    def test_numpy_of_view_keeps_strides(self):
        t, r = ng.arange(6.0).reshape(2, 3).t(), torch.arange(6.0).reshape(2, 3).t()
        assert t.numpy().strides == r.numpy().strides
        assert np.shares_memory(t.numpy(), t.detach().numpy())

    def test_numpy_requires_grad_raises(self):
        t = ng.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="detach"):
            t.numpy()
        assert t.detach().numpy().tolist() == [1.0, 2.0]
        assert t.numpy(force=True).tolist() == [1.0, 2.0]

    def test_array_protocol(self):
        t = ng.tensor([1, 2])
        a = np.asarray(t)
        assert a.dtype == np.int64 and a.tolist() == [1, 2]
        assert np.asarray(t, dtype=np.float64).dtype == np.float64
        assert np.shares_memory(np.asarray(t), t.numpy())

    def test_array_protocol_requires_grad_raises(self):
        with pytest.raises(RuntimeError):  # as np.asarray(torch.ones(2, requires_grad=True))
            np.asarray(ng.tensor([1.0, 2.0], requires_grad=True))

    @pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "short",
                                        "bool", "byte", "char"])
    @pytest.mark.parametrize("values", [[1.7, -2.7, 0.0, 3.0], [1, -2, 0, 3], [True, False]])
    def test_cast_methods(self, method, values):
        if method == "byte":  # negative floats -> uint8 is undefined behaviour
            values = [v if isinstance(v, bool) else abs(v) for v in values]
        t, r = ng.tensor(values), torch.tensor(values)
        assert_like_torch(getattr(t, method)(), getattr(r, method)())

    def test_to_dtype(self):
        t = ng.tensor([1.5, -2.5])
        assert t.to(ng.float32) is t
        assert t.to(dtype=ng.float32) is t
        assert t.to(ng.float32, copy=True) is not t
        assert t.to(ng.float64).dtype is ng.float64
        assert t.to("cpu") is t
        assert t.to("cpu", ng.float64).dtype is ng.float64
        assert t.to(ng.tensor([1], dtype=ng.int32)).dtype is ng.int32
        assert t.type_as(ng.tensor([1], dtype=ng.int16)).dtype is ng.int16
        assert_like_torch(t.to(ng.int64), torch.tensor([1.5, -2.5]).to(torch.int64))
        c = t.to(ng.float64)
        assert c.data_ptr() != t.data_ptr()

    def test_to_unknown_dtype_raises(self):
        with pytest.raises(TypeError):
            ng.tensor([1.0]).to("complex128")

    def test_to_is_differentiable_and_grad_keeps_source_dtype(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x.to(ng.float64)
        assert y.requires_grad and y.grad_fn is not None
        (y * y).sum().backward()
        assert x.grad.dtype is ng.float32
        assert x.grad.tolist() == [2.0, 4.0]

    def test_float_int_index_bool(self):
        assert float(ng.tensor([2.5])) == 2.5
        assert int(ng.tensor(2.7)) == int(torch.tensor(2.7)) == 2
        assert int(ng.tensor(-2.7)) == int(torch.tensor(-2.7)) == -2
        assert [10, 20, 30][ng.tensor(1)] == 20
        assert [10, 20, 30][ng.tensor([2])] == 30
        assert bool(ng.tensor([0.0])) is False and bool(ng.tensor(3)) is True
        assert f"{ng.tensor(2.5):.2f}" == f"{torch.tensor(2.5):.2f}"

    def test_index_of_float_tensor_raises(self):
        with pytest.raises(TypeError, match="integer tensors"):
            [1, 2, 3][ng.tensor(1.0)]
        with pytest.raises(TypeError):
            [1, 2, 3][ng.tensor([0, 1])]

    @pytest.mark.parametrize("values", [[1, 2], []])
    def test_bool_of_many_or_no_elements_raises(self, values):
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(ng.tensor(values))

    def test_len(self):
        assert len(ng.zeros(4, 2)) == 4
        with pytest.raises(TypeError, match="0-d"):
            len(ng.tensor(1.0))

    def test_iter_zero_dim_raises(self):
        with pytest.raises(TypeError, match="0-d"):
            iter(ng.tensor(1.0))

    def test_iter_yields_rows(self):
        rows = list(ng.tensor([[1, 2], [3, 4]]))
        assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]

    def test_hash_is_identity(self):
        a, b = ng.tensor([1.0]), ng.tensor([1.0])
        d = {a: "a", b: "b"}
        assert d[a] == "a" and d[b] == "b"

    def test_deepcopy(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        (x * 2).sum().backward()
        c = copy.deepcopy(x)
        assert c.requires_grad and c.is_leaf and c.grad.tolist() == [2.0, 2.0]
        assert c.data_ptr() != x.data_ptr() and c.grad.data_ptr() != x.grad.data_ptr()

    def test_data_property(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        d = x.data
        assert not d.requires_grad and d.data_ptr() == x.data_ptr()
        d[0] = 5.0
        assert x.tolist() == [5.0, 2.0]
        assert x._version == 0  # like torch, .data has its own version counter


# ----------------------------------------------------------------------------- detach / clone
class TestDetachClone:
    def test_detach_shares_storage_and_version(self):
        x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
        d = x.detach()
        assert not d.requires_grad and d.is_leaf and d.grad_fn is None and d.grad is None
        assert d.data_ptr() == x.data_ptr()
        with ng.no_grad():
            d.add_(1)
        assert x.tolist() == [2.0, 3.0, 4.0]
        assert x._version == d._version == 1

    def test_in_place_on_detached_leaf_while_recording(self):
        x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
        d = x.detach()
        d.add_(1)  # allowed in torch: a detached tensor is not a differentiable view
        assert x.tolist() == [2.0, 3.0, 4.0] and x._version == 1
        w = ng.tensor([2.0, 2.0, 2.0], requires_grad=True)
        d.mul_(w)  # d gets its own history; the leaf x must stay a leaf
        assert x.is_leaf and x.grad_fn is None and d.grad_fn is not None

    def test_detach_of_non_leaf(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        d = y.detach()
        assert d.grad_fn is None and not d.requires_grad and d.data_ptr() == y.data_ptr()

    def test_clone_copies_and_keeps_graph(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        c = x.clone()
        assert c.data_ptr() != x.data_ptr()
        assert c.requires_grad and not c.is_leaf
        assert c.grad_fn.name().startswith("CloneBackward")
        assert c._version == 0
        (c * 3).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]
        c2 = ng.tensor([1.0]).clone()
        assert c2.grad_fn is None and not c2.requires_grad

    def test_clone_does_not_copy_grad(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        (x * 2).sum().backward()
        assert x.clone().grad is None


# ----------------------------------------------------------------------------- requires_grad
class TestRequiresGrad:
    @pytest.mark.parametrize("name", ["bool", "uint8", "int8", "int16", "int32", "int64"])
    def test_integer_tensors_cannot_require_grad(self, name):
        t = ng.zeros(2, dtype=ngd(name))
        with pytest.raises(RuntimeError, match="floating point"):
            t.requires_grad_()
        with pytest.raises(RuntimeError, match="floating point"):
            t.requires_grad = True
        with pytest.raises(RuntimeError, match="floating point"):
            ng.tensor([1, 2], dtype=ngd(name), requires_grad=True)

    @pytest.mark.parametrize("name", ["float16", "float32", "float64"])
    def test_float_tensors_can_require_grad(self, name):
        t = ng.zeros(2, dtype=ngd(name))
        assert t.requires_grad_() is t and t.requires_grad and t.is_leaf
        t.requires_grad = False
        assert not t.requires_grad

    def test_non_leaf_cannot_stop_requiring_grad(self):
        y = ng.tensor([1.0], requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="leaf"):
            y.requires_grad_(False)
        with pytest.raises(RuntimeError, match="leaf"):
            y.requires_grad = False
        assert y.requires_grad_(True) is y  # allowed, as in torch: nothing changes

    def test_is_leaf(self):
        x = ng.tensor([1.0], requires_grad=True)
        assert x.is_leaf and ng.tensor([1.0]).is_leaf
        assert not (x * 2).is_leaf
        assert (x.detach() * 2).is_leaf  # no graph: a result that does not require grad
        with ng.no_grad():
            assert (x * 2).is_leaf

    @pytest.mark.parametrize("make,torch_name", [
        (lambda x: x * 2, "MulBackward"), (lambda x: x + 2, "AddBackward"),
        (lambda x: x - 2, "SubBackward"), (lambda x: x / 2, "DivBackward"),
        (lambda x: -x, "NegBackward"), (lambda x: x.exp(), "ExpBackward"),
        (lambda x: x.sum(), "SumBackward"),
    ])
    def test_grad_fn_names(self, make, torch_name):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        tx = torch.tensor([1.0, 2.0], requires_grad=True)
        assert make(tx).grad_fn.name().startswith(torch_name)
        fn = make(x).grad_fn
        assert re.fullmatch(torch_name + "0?", fn.name())
        assert re.fullmatch(f"<{torch_name}0?.*>", repr(fn))

    def test_next_functions(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        z = y * ng.tensor([3.0, 4.0])
        (acc, _), (none, _) = y.grad_fn.next_functions
        assert acc.name() == "AccumulateGrad" and acc.variable is x and none is None
        assert z.grad_fn.next_functions[0] == (y.grad_fn, 0)


# ----------------------------------------------------------------------------- repr
class TestRepr:
    @pytest.mark.parametrize("values,kw", [
        ([1, 2, 3], {}), ([1.0, 2.0], {}), ([0.5, 1.25], {}), ([True, False], {}),
        ([[1.5, 2.0], [3.0, 4.0]], {}), (3.5, {}), (2, {}), (1.0, {}), (-0.5, {}), ([], {}),
        ([1e-5, 1.0], {}), ([1e10, 1.5], {}), ([123456.5], {}), ([float("inf"), 1.5], {}),
        ([1.0, 2.0], {"dtype": "float64"}), ([1, 2], {"dtype": "int32"}),
        ([1, 2], {"dtype": "uint8"}), ([1.0, 2.0], {"dtype": "float16"}),
        (2.5, {"dtype": "float64"}), ([[1, 2], [3, 4]], {"dtype": "int32"}),
        ([1.0, 2.0], {"requires_grad": True}),
        ([1.0, -2.0], {"dtype": "float64", "requires_grad": True}),
    ])
    def test_matches_torch(self, values, kw):
        ng_kw = {k: (ngd(v) if k == "dtype" else v) for k, v in kw.items()}
        th_kw = {k: (thd(v) if k == "dtype" else v) for k, v in kw.items()}
        expected = repr(torch.tensor(values, **th_kw)).replace("torch.", "nablagrad.")
        assert repr(ng.tensor(values, **ng_kw)) == expected
        assert str(ng.tensor(values, **ng_kw)) == expected

    @pytest.mark.parametrize("shape,name", [((0, 3), "float32"), ((0,), "int64"),
                                            ((2, 0), "float64"), ((0,), "bool")])
    def test_empty_matches_torch(self, shape, name):
        expected = repr(torch.zeros(shape, dtype=thd(name))).replace("torch.", "nablagrad.")
        assert repr(ng.zeros(shape, dtype=ngd(name))) == expected

    def test_exact_strings(self):
        assert repr(ng.tensor([1, 2, 3])) == "tensor([1, 2, 3])"
        assert repr(ng.tensor([1.0, 2.0])) == "tensor([1., 2.])"
        assert repr(ng.tensor([0.5, 1.25])) == "tensor([0.5000, 1.2500])"
        assert repr(ng.tensor([1.0, 2.0], dtype=ng.float64)) == \
            "tensor([1., 2.], dtype=nablagrad.float64)"
        assert repr(ng.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"

    def test_grad_fn_in_repr(self):
        x = ng.tensor([1.0, 2.0], requires_grad=True)
        assert re.fullmatch(r"tensor\(\[2\., 4\.\], grad_fn=<MulBackward0?>\)", repr(x * 2))
        x64 = ng.tensor([1.0, -2.0], dtype=ng.float64, requires_grad=True)
        assert re.fullmatch(r"tensor\(\[ 2\., -4\.\], dtype=nablagrad\.float64, "
                            r"grad_fn=<MulBackward0?>\)", repr(x64 * 2))

    def test_all_true_bool_not_padded(self):
        assert repr(ng.tensor([True, True])) == repr(torch.tensor([True, True]))

    def test_summarised_matches_torch(self):
        assert repr(ng.arange(2000)) == repr(torch.arange(2000))

    def test_float16_repr_no_warning(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = repr(ng.tensor([1.5, 2.0], dtype=ng.float16))
        assert s == "tensor([1.5000, 2.0000], dtype=nablagrad.float16)"

    def test_repr_with_default_dtype_float64(self):
        old = ng.get_default_dtype()
        ng.set_default_dtype(ng.float64)
        try:
            assert repr(ng.tensor([1.5])) == "tensor([1.5000])"
            assert repr(ng.tensor([1.5], dtype=ng.float32)) == \
                "tensor([1.5000], dtype=nablagrad.float32)"
        finally:
            ng.set_default_dtype(old)


# ----------------------------------------------------------------------------- promotion
def _ng_operand(name, kind):
    if kind == "scalar":
        return {"bool": True, "int64": 2, "float32": 2.5}[name]
    return ng.ones(2 if kind == "dim" else (), dtype=ngd(name))


def _th_operand(name, kind):
    if kind == "scalar":
        return {"bool": True, "int64": 2, "float32": 2.5}[name]
    return torch.ones(2 if kind == "dim" else (), dtype=thd(name))


class TestPromotion:
    @pytest.mark.parametrize("a", DTYPE_NAMES)
    def test_promote_types_table(self, a):
        bad = []
        for b in DTYPE_NAMES:
            got = ng.promote_types(ngd(a), ngd(b))
            want = torch.promote_types(thd(a), thd(b))
            if not same_dtype(got, want):
                bad.append((a, b, got, want))
        assert not bad

    def test_promote_types_is_symmetric(self):
        for a in DTYPE_NAMES:
            for b in DTYPE_NAMES:
                assert ng.promote_types(ngd(a), ngd(b)) is ng.promote_types(ngd(b), ngd(a))

    @pytest.mark.parametrize("a", DTYPE_NAMES)
    @pytest.mark.parametrize("ka", ["dim", "zero"])
    def test_result_type_tensors(self, a, ka):
        bad = []
        for b in DTYPE_NAMES:
            for kb in ["dim", "zero"]:
                for (n1, k1), (n2, k2) in [((a, ka), (b, kb)), ((b, kb), (a, ka))]:
                    got = ng.result_type(_ng_operand(n1, k1), _ng_operand(n2, k2))
                    want = torch.result_type(_th_operand(n1, k1), _th_operand(n2, k2))
                    if not same_dtype(got, want):
                        bad.append((n1, k1, n2, k2, got, want))
        assert not bad

    @pytest.mark.parametrize("a", DTYPE_NAMES)
    @pytest.mark.parametrize("ka", ["dim", "zero"])
    def test_result_type_with_python_scalars(self, a, ka):
        bad = []
        for s in [True, 2, 2.5]:
            x, tx = _ng_operand(a, ka), _th_operand(a, ka)
            for got, want in [(ng.result_type(x, s), torch.result_type(tx, s)),
                              (ng.result_type(s, x), torch.result_type(s, tx))]:
                if not same_dtype(got, want):
                    bad.append((a, ka, s, got, want))
        assert not bad

    def test_result_type_of_two_scalars(self):
        for s1 in [True, 2, 2.5]:
            for s2 in [True, 2, 2.5]:
                assert same_dtype(ng.result_type(s1, s2), torch.result_type(s1, s2))

    @pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
    @pytest.mark.parametrize("a", DTYPE_NAMES)
    def test_binary_op_result_dtypes(self, op, a):
        """The ops give the dtype result_type promises, for every operand kind."""
        bad = []
        for b in DTYPE_NAMES + ["s:bool", "s:int64", "s:float32"]:
            for ka in ["dim", "zero"]:
                for kb in (["scalar"] if b.startswith("s:") else ["dim", "zero"]):
                    name_b = b[2:] if b.startswith("s:") else b
                    try:
                        want = getattr(torch, op)(_th_operand(a, ka), _th_operand(name_b, kb))
                    except RuntimeError:  # torch refuses bool subtraction
                        continue
                    got = getattr(ng, op)(_ng_operand(a, ka), _ng_operand(name_b, kb))
                    if not same_dtype(got.dtype, want.dtype) or got.shape != want.shape:
                        bad.append((a, ka, b, kb, got.dtype, want.dtype))
        assert not bad

    def test_in_place_keeps_dtype_and_refuses_unsafe_cast(self):
        x = ng.ones(2)
        x.add_(ng.ones(2, dtype=ng.float64))
        assert x.dtype is ng.float32
        i = ng.tensor([1, 2, 3])
        with pytest.raises(RuntimeError, match="can't be cast"):
            i.add_(1.5)
        with pytest.raises(RuntimeError, match="can't be cast"):
            i.div_(2)
        i.mul_(ng.tensor([2, 2, 2], dtype=ng.int8))
        assert i.dtype is ng.int64 and i.tolist() == [2, 4, 6]

    def test_in_place_broadcast_shape_error(self):
        with pytest.raises(RuntimeError, match=r"\[3\].*\[2, 3\]"):
            ng.ones(3).add_(ng.ones(2, 3))
        t = ng.ones(2, 3)
        t.add_(ng.tensor([1.0, 2.0, 3.0]))
        assert t.tolist() == [[2.0, 3.0, 4.0]] * 2


# ----------------------------------------------------------------------------- Size
class TestSize:
    def test_behaves_like_torch_size(self):
        s, r = ng.Size([2, 3, 4]), torch.Size([2, 3, 4])
        assert isinstance(s, tuple) and s == r == (2, 3, 4)
        assert s != [2, 3, 4]
        assert s[0] == 2 and s[-1] == 4 and len(s) == 3 and list(s) == [2, 3, 4]
        assert s.numel() == r.numel() == 24
        assert ng.Size([]).numel() == 1 and ng.Size([3, 0]).numel() == 0
        assert isinstance(s[1:], ng.Size) and s[1:] == (3, 4)
        assert repr(s) == "nablagrad.Size([2, 3, 4])"
        assert ng.zeros(s).shape == s

    def test_concatenation_gives_size(self):
        s = ng.Size([2, 3])
        assert isinstance(s + (4,), ng.Size) and isinstance((1,) + s, ng.Size)


# ----------------------------------------------------------------------------- versions
class TestVersionCounter:
    def test_in_place_ops_bump_version_shared_by_views(self):
        x = ng.tensor([1.0, 2.0, 3.0, 4.0])
        tx = torch.tensor([1.0, 2.0, 3.0, 4.0])
        views = [x[1:3], x.reshape(2, 2), x.reshape(2, 2).t(), x.detach()]
        tviews = [tx[1:3], tx.reshape(2, 2), tx.reshape(2, 2).t(), tx.detach()]
        assert x._version == 0
        steps = [("add_", (2,)), ("sub_", (1,)), ("mul_", (3,)), ("div_", (2,)), ("neg_", ()),
                 ("exp_", ()), ("__iadd__", (1,)), ("__isub__", (1,)), ("__imul__", (2,)),
                 ("__itruediv__", (2,))]
        for name, args in steps:
            getattr(x, name)(*args)
            getattr(tx, name)(*args)
            assert x._version == tx._version
            assert [v._version for v in views] == [v._version for v in tviews]
        np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6)

    def test_setitem_bumps_version(self):
        x = ng.zeros(4)
        v = x[2:]
        x[0] = 1.0
        assert x._version == v._version == 1
        v[0] = 2.0
        assert x._version == v._version == 2
        assert x.tolist() == [1.0, 0.0, 2.0, 0.0]

    def test_out_of_place_ops_do_not_bump(self):
        x = ng.ones(3)
        _ = x + 1, x * 2, x.exp(), x.clone(), x[1:]
        assert x._version == 0
        assert x.clone()._version == 0

    def test_in_place_returns_self(self):
        x = ng.ones(3)
        assert x.add_(1) is x and x.mul_(2) is x and x.neg_() is x
        y = x
        y += 1
        assert y is x and x.tolist() == [-3.0, -3.0, -3.0]

    def test_in_place_through_view_writes_base(self):
        x = ng.zeros(2, 3)
        x[1].add_(5)
        x.t()[0].mul_(2)
        r = torch.zeros(2, 3)
        r[1].add_(5)
        r.t()[0].mul_(2)
        assert x.tolist() == r.tolist()
