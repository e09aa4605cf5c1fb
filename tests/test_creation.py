"""Making tensors, compared with PyTorch: from data (dtype inference, memory sharing), filled
constructors, ranges, ``new_*`` methods, the default dtype, and errors for bad sizes/dtypes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import nablagrad as ng


def assert_like_torch(t, ref):
    """Same dtype (by name), shape, values and requires_grad (integers and bools exactly; floats
    may differ by one rounding, from another order of float operations)."""
    assert str(t.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], (t.dtype, ref.dtype)
    assert tuple(t.shape) == tuple(ref.shape)
    assert t.requires_grad == ref.requires_grad
    a, b = t.detach().numpy(), ref.detach().numpy()
    if a.dtype.kind != "f":
        np.testing.assert_array_equal(a, b)
    else:
        tol = 1e-3 if a.dtype == np.float16 else 1e-6
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def thd(d):
    return None if d is None else getattr(torch, d)


def ngd(d):
    return None if d is None else (ng.bool if d == "bool" else getattr(ng, d))


@pytest.fixture
def default_float64():
    old = ng.get_default_dtype()
    ng.set_default_dtype(ng.float64)
    torch_old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    ng.set_default_dtype(old)
    torch.set_default_dtype(torch_old)


# ----------------------------------------------------------------------------- tensor()
DATA = [
    1.5, 2, True, -0.0, [1, 2.5], [True, 2], [True, False], [[1, 2], [3, 4]],
    [[1.5, 2], [3, 4]], [], [[]], [[], []], [[[1]], [[2]]],
    np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32), np.array([1, 2], dtype=np.uint8),
    np.array([1.0], dtype=np.float16), np.array([True]), np.array(2.0),
    np.float64(2.5), np.int32(3), np.float32(1.5), np.bool_(True),
    [np.int32(1), 2], [np.float32(1), 2.5],
    (1, 2), ((1.0, 2.0), (3.0, 4.0)),
]


class TestTensor:
    @pytest.mark.parametrize("data", DATA, ids=repr)
    def test_inference_like_torch(self, data):
        assert_like_torch(ng.tensor(data), torch.tensor(data))

    @pytest.mark.parametrize("data", [[np.float64(1.5)], [1, np.float64(2.5)], [np.float16(1), 2],
                                      [np.int16(1), np.int16(2)]], ids=repr)
    def test_inference_numpy_scalars_in_lists(self, data):
        assert_like_torch(ng.tensor(data), torch.tensor(data))

    @pytest.mark.parametrize("dtype", ["float64", "float16", "int64", "int32", "bool", "uint8"])
    @pytest.mark.parametrize("data", [[1.7, -2.0, 0.0], [1, 0, 3], [True, False, True]])
    def test_explicit_dtype(self, data, dtype):
        if dtype == "uint8":
            data = [abs(v) if not isinstance(v, bool) else v for v in data]
        assert_like_torch(ng.tensor(data, dtype=ngd(dtype)), torch.tensor(data, dtype=thd(dtype)))

    def test_dtype_given_as_python_type_or_numpy(self):
        assert ng.tensor([1, 2], dtype=float).dtype is ng.float32
        assert ng.tensor([1.5], dtype=int).dtype is ng.int64
        assert ng.tensor([1], dtype=bool).dtype is ng.bool
        assert ng.tensor([1], dtype=np.float64).dtype is ng.float64

    def test_copies_numpy_data(self):
        a = np.array([1.0, 2.0])
        t = ng.tensor(a)
        a[0] = 9.0
        assert t.tolist() == [1.0, 2.0]

    def test_copies_tensor_and_drops_graph(self):
        src = ng.tensor([1.0, 2.0], dtype=ng.float64, requires_grad=True)
        t = ng.tensor(src)
        assert t.dtype is ng.float64 and not t.requires_grad and t.is_leaf
        assert t.data_ptr() != src.data_ptr()
        assert ng.tensor(src, dtype=ng.float32).dtype is ng.float32

    def test_requires_grad(self):
        t = ng.tensor([1.0, 2.0], requires_grad=True)
        assert t.requires_grad and t.is_leaf and t.grad is None
        with pytest.raises(RuntimeError, match="floating point"):
            ng.tensor([1, 2], requires_grad=True)

    def test_list_of_zero_dim_tensors(self):
        t = ng.tensor([ng.tensor(1.0), ng.tensor(2.0)])
        assert t.dtype is ng.float32 and t.tolist() == [1.0, 2.0]
        t = ng.tensor([[ng.tensor(1), 2], [3, ng.tensor(4)]])
        assert t.dtype is ng.int64 and t.tolist() == [[1, 2], [3, 4]]

    @pytest.mark.parametrize("dtype", ["float64", "int32", "float16"])
    def test_list_of_zero_dim_tensors_keeps_dtype(self, dtype):
        data = lambda L, d: [L.tensor(1, dtype=d), L.tensor(2, dtype=d)]  # noqa: E731
        assert_like_torch(ng.tensor(data(ng, ngd(dtype))), torch.tensor(data(torch, thd(dtype))))

    def test_list_with_tensor_requiring_grad_gives_plain_tensor(self):
        x = ng.tensor(1.0, requires_grad=True)
        t = ng.tensor([x, 2.0])
        assert not t.requires_grad and t.tolist() == [1.0, 2.0]

    def test_tensor_constructor_class(self):
        assert_like_torch(ng.Tensor([1, 2]), torch.Tensor([1, 2]))
        assert_like_torch(ng.Tensor([[1.5], [2.5]]), torch.Tensor([[1.5], [2.5]]))

    @pytest.mark.parametrize("data", [[[1, 2], [3]], None, "abc", [object()]],
                             ids=["ragged", "None", "str", "object"])
    def test_bad_data_raises(self, data):
        with pytest.raises((TypeError, ValueError)):
            ng.tensor(data)

    def test_unsupported_numpy_dtype_raises(self):
        with pytest.raises(TypeError, match="dtype"):
            ng.tensor(np.array(["a", "b"]))


# ------------------------------------------------------------------ as_tensor / from_numpy
class TestSharing:
    def test_as_tensor_shares_numpy_memory(self):
        a = np.array([1.0, 2.0])
        t = ng.as_tensor(a)
        a[0] = 9.0
        assert t.tolist() == [9.0, 2.0] and t.dtype is ng.float64

    def test_as_tensor_copies_when_dtype_changes(self):
        a = np.array([1.0, 2.0])
        t = ng.as_tensor(a, dtype=ng.float32)
        a[0] = 9.0
        assert t.tolist() == [1.0, 2.0] and t.dtype is ng.float32

    def test_as_tensor_of_tensor(self):
        t = ng.tensor([1.0, 2.0], requires_grad=True)
        assert ng.as_tensor(t) is t
        c = ng.as_tensor(t, dtype=ng.float64)
        assert c.dtype is ng.float64 and c.requires_grad  # like torch: a differentiable cast

    def test_as_tensor_of_list(self):
        assert_like_torch(ng.as_tensor([1, 2.5]), torch.as_tensor([1, 2.5]))
        assert_like_torch(ng.as_tensor([1, 2]), torch.as_tensor([1, 2]))

    def test_from_numpy_shares_memory_both_ways(self):
        a = np.arange(6.0).reshape(2, 3)
        t = ng.from_numpy(a)
        a[0, 0] = 9.0
        t[1, 1] = -1.0
        assert t.tolist() == a.tolist() == [[9.0, 1.0, 2.0], [3.0, -1.0, 5.0]]
        assert t.data_ptr() == a.ctypes.data

    @pytest.mark.parametrize("np_dtype", [np.float16, np.float32, np.float64, np.int8, np.int16,
                                          np.int32, np.int64, np.uint8, np.bool_])
    def test_from_numpy_keeps_dtype(self, np_dtype):
        a = np.zeros(3, dtype=np_dtype)
        assert str(ng.from_numpy(a).dtype).split(".")[-1] == \
            str(torch.from_numpy(a).dtype).split(".")[-1]

    def test_from_numpy_keeps_strides(self):
        a = np.arange(6.0).reshape(2, 3)[:, ::2]
        t, r = ng.from_numpy(a), torch.from_numpy(a)
        assert t.stride() == r.stride() and t.is_contiguous() == r.is_contiguous()

    def test_from_numpy_rejects_non_arrays(self):
        with pytest.raises(TypeError, match="ndarray"):
            ng.from_numpy([1, 2])

    def test_from_numpy_unsupported_dtype(self):
        with pytest.raises(TypeError, match="dtype"):
            ng.from_numpy(np.array([1 + 2j]))


# ----------------------------------------------------------------------------- filled
SIZES = [(2, 3), ((2, 3),), ([2, 3],), (0,), ((),), (4,), (1, 0, 2)]


class TestFilled:
    @pytest.mark.parametrize("name", ["zeros", "ones"])
    @pytest.mark.parametrize("size", SIZES, ids=repr)
    @pytest.mark.parametrize("dtype", [None, "float64", "int32", "bool", "float16"])
    def test_zeros_ones(self, name, size, dtype):
        t = getattr(ng, name)(*size, dtype=ngd(dtype))
        r = getattr(torch, name)(*size, dtype=thd(dtype))
        assert_like_torch(t, r)

    @pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
    def test_size_forms(self, name):
        fn = getattr(ng, name)
        assert fn(ng.Size([2, 3])).shape == (2, 3)
        assert fn(ng.tensor(2), 3).shape == (2, 3)
        assert fn(np.int64(2)).shape == (2,)

    def test_requires_grad(self):
        for t in [ng.zeros(2, requires_grad=True), ng.ones(2, requires_grad=True),
                  ng.empty(2, requires_grad=True), ng.full((2,), 1.0, requires_grad=True),
                  ng.eye(2, requires_grad=True), ng.arange(3.0, requires_grad=True),
                  ng.linspace(0, 1, 3, requires_grad=True)]:
            assert t.requires_grad and t.is_leaf
        with pytest.raises(RuntimeError, match="floating point"):
            ng.zeros(2, dtype=ng.int64, requires_grad=True)

    def test_empty(self):
        t = ng.empty(2, 3, dtype=ng.float64)
        assert t.shape == (2, 3) and t.dtype is ng.float64
        assert ng.empty(4).dtype is ng.float32

    @pytest.mark.parametrize("fill", [2, 2.5, True, -1, np.float64(2.5), np.int32(3)], ids=repr)
    def test_full_infers_dtype_from_fill_value(self, fill):
        assert_like_torch(ng.full((2, 3), fill), torch.full((2, 3), fill))

    @pytest.mark.parametrize("dtype", ["int64", "float64", "bool", "int8"])
    def test_full_with_dtype(self, dtype):
        assert_like_torch(ng.full((2,), 1.7, dtype=ngd(dtype)),
                          torch.full((2,), 1.7, dtype=thd(dtype)))

    def test_full_with_tensor_fill_value(self):
        assert_like_torch(ng.full((2,), ng.tensor(1.5)), torch.full((2,), torch.tensor(1.5)))

    @pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
    @pytest.mark.parametrize("dtype", [None, "int32", "float16"])
    def test_like(self, name, dtype):
        src = ng.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ng.float64, requires_grad=True)
        tsrc = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
        t = getattr(ng, name)(src, dtype=ngd(dtype))
        r = getattr(torch, name)(tsrc, dtype=thd(dtype))
        if name == "empty_like":
            assert t.dtype.name == str(r.dtype).split(".")[-1] and t.shape == r.shape
            assert not t.requires_grad
        else:
            assert_like_torch(t, r)

    def test_like_requires_grad(self):
        t = ng.zeros_like(ng.ones(2), requires_grad=True)
        assert t.requires_grad and t.is_leaf

    @pytest.mark.parametrize("fill", [7, 2.5, True])
    @pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
    def test_full_like_keeps_input_dtype(self, fill, dtype):
        src = ng.zeros(2, 2, dtype=ngd(dtype))
        tsrc = torch.zeros(2, 2, dtype=thd(dtype))
        assert_like_torch(ng.full_like(src, fill), torch.full_like(tsrc, fill))

    @pytest.mark.parametrize("args", [(3,), (2, 3), (3, 2), (0,), (1,)], ids=repr)
    @pytest.mark.parametrize("dtype", [None, "int64", "bool", "float64"])
    def test_eye(self, args, dtype):
        assert_like_torch(ng.eye(*args, dtype=ngd(dtype)), torch.eye(*args, dtype=thd(dtype)))


# ----------------------------------------------------------------------------- ranges
class TestRanges:
    @pytest.mark.parametrize("args", [
        (5,), (2, 5), (1, 10, 3), (10, 1, -3), (0, 0), (-5, 5, 2), (0.0, 1.0, 0.1), (1, 2.5, 0.5),
        (0, 1, 0.3), (-1.0, 1.0, 0.25), (1, 0.5, -0.1), (0, 5, 1.5), (2.5,), (1, 4, 1.0),
        (np.int32(3),), (0, 10, 0.1), (5, -5, -0.5), (0.0, 0.9, 0.3), (1e-3, 1e-2, 1e-3),
    ], ids=repr)
    def test_arange_like_torch(self, args):
        assert_like_torch(ng.arange(*args), torch.arange(*args))

    @pytest.mark.parametrize("args", [(0.0, 1.0, 0.1), (0, 10, 0.1), (-3.0, 3.0, 0.7)], ids=repr)
    def test_arange_float64(self, args):
        assert_like_torch(ng.arange(*args, dtype=ng.float64),
                          torch.arange(*args, dtype=torch.float64))

    def test_arange_int_vs_float_rules(self):
        assert ng.arange(5).dtype is ng.int64
        assert ng.arange(5.0).dtype is ng.float32
        assert ng.arange(0, 5, 1.0).dtype is ng.float32
        assert ng.arange(ng.tensor(4)).tolist() == [0, 1, 2, 3]
        assert ng.arange(ng.tensor(4)).dtype is ng.int64
        assert ng.arange(5, dtype=ng.float64).dtype is ng.float64
        assert ng.arange(0, 2.5, 0.5).shape == (5,)

    def test_arange_zero_step_raises(self):
        with pytest.raises(RuntimeError, match="step"):
            ng.arange(0, 5, 0)

    @pytest.mark.parametrize("args", [(5, 0), (0, 5, -1), (0.0, -1.0, 0.5)], ids=repr)
    def test_arange_inconsistent_sign_raises(self, args):
        with pytest.raises(RuntimeError, match="arange"):
            ng.arange(*args)

    @pytest.mark.parametrize("args,dtype", [
        ((0, 1, 5), None), ((0, 10, 3), None), ((0, 10, 4), "int64"), ((3, 10, 1), None),
        ((3, 10, 0), None), ((0, 1, 3), "float64"), ((-2.5, 7.5, 9), None), ((1, -1, 5), None),
        ((0, 1, 7), "float16"),
    ], ids=repr)
    def test_linspace_like_torch(self, args, dtype):
        assert_like_torch(ng.linspace(*args, dtype=ngd(dtype)),
                          torch.linspace(*args, dtype=thd(dtype)))

    def test_linspace_tensor_endpoints(self):
        assert_like_torch(ng.linspace(ng.tensor(0.0), ng.tensor(1.0), 3),
                          torch.linspace(torch.tensor(0.0), torch.tensor(1.0), 3))

    @pytest.mark.parametrize("args,kw", [
        ((0, 2, 3), {}), ((0, 3, 4), {"base": 2}), ((0, 3, 4), {"base": 2, "dtype": "float64"}),
        ((-1, 1, 5), {}), ((1, 0, 3), {"base": 3.0}),
    ], ids=repr)
    def test_logspace_like_torch(self, args, kw):
        ng_kw = {k: (ngd(v) if k == "dtype" else v) for k, v in kw.items()}
        th_kw = {k: (thd(v) if k == "dtype" else v) for k, v in kw.items()}
        assert_like_torch(ng.logspace(*args, **ng_kw), torch.logspace(*args, **th_kw))


# ----------------------------------------------------------------------------- new_*
class TestNewMethods:
    @staticmethod
    def src(L):
        return L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)

    @pytest.mark.parametrize("call", [
        lambda L, s: s.new_zeros(2, 3), lambda L, s: s.new_zeros((2, 3)),
        lambda L, s: s.new_zeros((2,), dtype=L.int32), lambda L, s: s.new_ones(2),
        lambda L, s: s.new_ones(2, requires_grad=True), lambda L, s: s.new_full((2,), 3),
        lambda L, s: s.new_full((2,), 3.5, dtype=L.float16),
        lambda L, s: s.new_tensor([1, 2]), lambda L, s: s.new_tensor([1.5, 2], dtype=L.float16),
        lambda L, s: s.new_tensor(np.array([1, 2], dtype=np.int32)),
        lambda L, s: s.new_zeros(L.Size([2])), lambda L, s: s.new_zeros(()),
    ])
    def test_like_torch(self, call):
        assert_like_torch(call(ng, self.src(ng)), call(torch, self.src(torch)))

    def test_new_empty(self):
        t = self.src(ng).new_empty(3, 2)
        assert t.shape == (3, 2) and t.dtype is ng.float64 and not t.requires_grad

    def test_int_source(self):
        s, r = ng.tensor([1, 2]), torch.tensor([1, 2])
        assert_like_torch(s.new_full((2,), 3.7), r.new_full((2,), 3.7))
        assert_like_torch(s.new_tensor([1.5, 2]), r.new_tensor([1.5, 2]))
        assert_like_torch(s.new_ones(3), r.new_ones(3))

    def test_new_tensor_copies(self):
        a = np.array([1.0, 2.0])
        t = ng.tensor([0.0], dtype=ng.float64).new_tensor(a)
        a[0] = 9.0
        assert t.tolist() == [1.0, 2.0]


# ----------------------------------------------------------------------------- default dtype
class TestDefaultDtype:
    def test_default_is_float32(self):
        assert ng.get_default_dtype() is ng.float32

    def test_constructors_follow_default(self, default_float64):
        cases = [
            (lambda L: L.tensor([1.5]), "float64"), (lambda L: L.tensor(2.5), "float64"),
            (lambda L: L.zeros(1), "float64"), (lambda L: L.ones(1), "float64"),
            (lambda L: L.empty(1), "float64"), (lambda L: L.full((1,), 2.0), "float64"),
            (lambda L: L.arange(0.0, 1.0), "float64"), (lambda L: L.linspace(0, 1, 2), "float64"),
            (lambda L: L.logspace(0, 1, 2), "float64"), (lambda L: L.eye(1), "float64"),
            (lambda L: L.tensor([1]), "int64"), (lambda L: L.arange(2), "int64"),
            (lambda L: L.full((1,), 2), "int64"), (lambda L: L.tensor(np.float32(1.0)), "float32"),
            (lambda L: L.Tensor([1, 2]), "float64"),
        ]
        for make, want in cases:
            t, r = make(ng), make(torch)
            assert str(r.dtype) == "torch." + want
            assert t.dtype.name == want

    def test_promotion_follows_default(self, default_float64):
        i = ng.tensor([1])
        assert ng.result_type(i, 2.5) is ng.float64
        assert (i * 2.5).dtype is ng.float64
        assert (i / 2).dtype is ng.float64
        assert i.exp().dtype is ng.float64
        assert (ng.tensor([1.0], dtype=ng.float32) * 2.5).dtype is ng.float32
        assert (i + ng.tensor(2.5, dtype=ng.float32)).dtype is ng.float32
        assert ng.promote_types(ng.int64, ng.float16) is ng.float16

    def test_restored(self):
        assert ng.get_default_dtype() is ng.float32
        assert ng.tensor([1.5]).dtype is ng.float32

    def test_float16_default(self):
        old = ng.get_default_dtype()
        ng.set_default_dtype(ng.float16)
        try:
            assert ng.tensor([1.5]).dtype is ng.float16 and ng.zeros(1).dtype is ng.float16
        finally:
            ng.set_default_dtype(old)

    @pytest.mark.parametrize("bad", ["int64", "bool", "int32"])
    def test_non_float_default_raises(self, bad):
        with pytest.raises(TypeError, match="floating"):
            ng.set_default_dtype(ngd(bad))
        assert ng.get_default_dtype() is ng.float32


# ----------------------------------------------------------------------------- errors
class TestErrors:
    @pytest.mark.parametrize("bad", ["complex64", "float128", "nonsense", object()],
                             ids=["complex64", "float128", "nonsense", "object"])
    def test_unknown_dtype_raises(self, bad):
        with pytest.raises(TypeError):
            ng.zeros(2, dtype=bad)
        with pytest.raises(TypeError):
            ng.tensor([1.0], dtype=bad)

    @pytest.mark.parametrize("make", [
        lambda: ng.zeros(-1), lambda: ng.ones(2, -3), lambda: ng.empty(-2),
        lambda: ng.full((-1,), 1.0), lambda: ng.eye(-1), lambda: ng.linspace(0, 1, -1),
        lambda: ng.tensor([1.0]).new_zeros(-1),
    ])
    def test_negative_size_raises_runtime_error(self, make):
        with pytest.raises(RuntimeError):
            make()

    @pytest.mark.parametrize("size", [(2.5,), ("3",), ((2, 1.5),)], ids=repr)
    def test_non_integer_size_raises_type_error(self, size):
        with pytest.raises(TypeError):
            ng.zeros(*size)

    def test_size_type_errors(self):
        with pytest.raises((TypeError, ValueError)):
            ng.zeros("a")
        with pytest.raises((TypeError, ValueError)):
            ng.ones([2, None])
