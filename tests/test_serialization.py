"""nablagrad.serialization: save/load round trips, PyTorch interop, atomicity, errors, safety."""
import io
import json
import os
import struct
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import nablagrad as ng
from nablagrad import serialization
from nablagrad.serialization import load, save

DTYPES = [ng.bool, ng.uint8, ng.int8, ng.int16, ng.int32, ng.int64, ng.float16, ng.float32,
          ng.float64]


def _tensor(rng, dtype, shape=(3, 4)):
    if dtype == ng.bool:
        arr = rng.random(shape) > 0.5
    elif dtype.is_floating_point:
        arr = rng.standard_normal(shape)
    else:
        arr = rng.integers(0, 100, shape)
    return ng.tensor(arr.astype(dtype.np))


def assert_same(a, b):
    """Structural equality with exact types, dtypes, shapes and values (nan == nan)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, ng.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
        assert a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            assert type(k) is type(next(x for x in b if x == k))
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def roundtrip(obj, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save(obj, path)
    out = load(path)
    assert_same(obj, out)
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    assert_same(obj, load(buf))
    return out


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_tensor_dtypes_roundtrip(dtype, tmp_path):
    rng = np.random.default_rng(0)
    for shape in [(), (0,), (5,), (2, 3, 4)]:
        roundtrip(_tensor(rng, dtype, shape), tmp_path)


def test_float_special_values_exact(tmp_path):
    t = ng.tensor([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1e308], dtype=ng.float64)
    out = roundtrip(t, tmp_path)
    assert np.signbit(out.numpy()[3])


def test_state_dict_roundtrip_and_plain_file(tmp_path):
    rng = np.random.default_rng(1)
    sd = OrderedDict([("fc.weight", _tensor(rng, ng.float32)),
                      ("fc.bias", _tensor(rng, ng.float32, (4,))),
                      ("bn.num_batches_tracked", ng.tensor(7)),
                      ("bn.running_mean", _tensor(rng, ng.float64, (4,)))])
    roundtrip(sd, tmp_path)
    # an ordinary safetensors file whose keys are exactly the state_dict's keys
    raw = safetensors.numpy.load((tmp_path / "ckpt.safetensors").read_bytes())
    assert set(raw) == set(sd)


def test_optimizer_state_dict_roundtrip(tmp_path):
    rng = np.random.default_rng(2)
    opt = {"state": {0: {"step": ng.tensor(3.0), "exp_avg": _tensor(rng, ng.float32),
                         "exp_avg_sq": _tensor(rng, ng.float32)},
                     1: {"step": ng.tensor(3.0), "momentum_buffer": None}},
           "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                             "amsgrad": False, "maximize": False, "foreach": None,
                             "params": [0, 1]}]}
    out = roundtrip(opt, tmp_path)
    assert list(out["state"]) == [0, 1] and isinstance(out["param_groups"][0]["betas"], tuple)


def test_training_checkpoint_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    ckpt = {"model": {"w": _tensor(rng, ng.float16), "b": _tensor(rng, ng.float64, (4,))},
            "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3, "params": [0, 1]}]},
            "scheduler": {"last_epoch": 3, "base_lrs": [0.1], "_last_lr": [0.05]},
            "epoch": 3, "rng": ng.tensor(rng.integers(0, 256, 40).astype(np.uint8)),
            "np_state": rng.integers(0, 2**32, 10, dtype=np.uint32), "np_scalar": np.float32(2.5),
            "dtype": ng.float32, "device": ng.device("cpu"), "name": "run-1", "big": 2**70,
            "loss": float("nan"), "flag": True, "missing": None, "empty": [], "empty_t": (),
            (1, "a"): "tuple key", 2.5: "float key", None: "none key", True: "bool key",
            "nested": [[1, (2, [3.0])], {"x": [ng.tensor([1, 2])]}]}
    out = roundtrip(ckpt, tmp_path)
    assert type(out["np_scalar"]) is np.float32


def test_requires_grad_kept_and_leaf(tmp_path):
    w = ng.randn(3, 2, requires_grad=True)
    out = roundtrip({"w": w}, tmp_path)["w"]
    assert out.is_leaf and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(out.grad.numpy(), np.ones((3, 2)))


def test_noncontiguous_saved_contiguous(tmp_path):
    base = ng.arange(24.0).reshape(4, 6)
    views = {"t": base.t(), "step": base[:, ::2], "neg": base[1]}
    out = roundtrip(views, tmp_path)
    assert all(v.is_contiguous() for v in out.values())


def test_shared_storage_saved_as_copies(tmp_path):
    base = ng.zeros(4)
    out = roundtrip({"a": base, "b": base, "v": base[1:3]}, tmp_path)
    out["a"].add_(1.0)
    np.testing.assert_array_equal(out["b"].numpy(), np.zeros(4))
    np.testing.assert_array_equal(out["v"].numpy(), np.zeros(2))


def test_colliding_names_stay_distinct(tmp_path):
    obj = {"a.b": ng.tensor([1.0]), "a": {"b": ng.tensor([2.0])}}
    roundtrip(obj, tmp_path)


def test_loaded_tensors_are_writable(tmp_path):
    save({"w": ng.zeros(3)}, tmp_path / "c")
    w = load(tmp_path / "c")["w"]
    w.add_(2.0)
    np.testing.assert_array_equal(w.numpy(), [2.0, 2.0, 2.0])


# ----------------------------------------------------------------------------- PyTorch interop
TORCH_DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                torch.float16, torch.float32, torch.float64]


def _torch_state_dict():
    g = torch.Generator().manual_seed(0)
    sd = {}
    for i, dt in enumerate(TORCH_DTYPES):
        x = torch.randn(3, 4, generator=g) * 50
        sd[f"layer{i}.{str(dt)[6:]}"] = (x > 0) if dt == torch.bool else x.to(dt)
    sd["scalar"] = torch.tensor(1.5)
    return sd


def test_load_torch_safetensors_file(tmp_path):
    sd = _torch_state_dict()
    safetensors.torch.save_file(sd, tmp_path / "torch.safetensors")
    out = load(tmp_path / "torch.safetensors")
    assert type(out) is dict and set(out) == set(sd)
    for k, t in sd.items():
        expected = ng.tensor(t.numpy())
        assert out[k].dtype == expected.dtype and out[k].shape == expected.shape
        np.testing.assert_array_equal(out[k].numpy(), expected.numpy())


def test_torch_loads_nablagrad_state_dict(tmp_path):
    rng = np.random.default_rng(4)
    sd = {f"p{i}.{d.name}": _tensor(rng, d) for i, d in enumerate(DTYPES)}
    sd["w_t"] = ng.arange(12.0).reshape(3, 4).t()  # non-contiguous
    sd["g"] = ng.randn(2, requires_grad=True)
    save(sd, tmp_path / "ng.safetensors")
    out = safetensors.torch.load_file(tmp_path / "ng.safetensors")
    assert set(out) == set(sd)
    for k, t in sd.items():
        assert str(out[k].dtype) == "torch." + t.dtype.name
        np.testing.assert_array_equal(out[k].numpy(), t.detach().numpy())


def test_torch_unsupported_dtype_is_clear(tmp_path):
    safetensors.torch.save_file({"a": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf")
    with pytest.raises(ValueError, match=r"'.*bf' holds a tensor whose dtype .*can't represent"):
        load(tmp_path / "bf")
    with open(tmp_path / "bf", "rb") as fh, pytest.raises(ValueError, match="can't represent"):
        load(fh)


# ----------------------------------------------------------------------------- atomicity
def test_failed_fsync_keeps_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"w": ng.ones(3)}, path)
    before = path.read_bytes()

    def boom(fd):
        raise OSError("disk on fire")
    monkeypatch.setattr(serialization.os, "fsync", boom)
    with pytest.raises(OSError, match="disk on fire"):
        save({"w": ng.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # temp file cleaned up


def test_failure_mid_write_keeps_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"w": ng.ones(3)}, path)
    before = path.read_bytes()

    def half_then_fail(fh, data):
        fh.write(memoryview(data)[:len(data) // 2])
        raise KeyboardInterrupt
    monkeypatch.setattr(serialization, "_write_bytes", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save({"w": ng.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    np.testing.assert_array_equal(load(path)["w"].numpy(), np.ones(3))


def test_saved_file_mode_follows_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        save({"w": ng.ones(1)}, str(tmp_path / "c.safetensors"))
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "c.safetensors").st_mode & 0o777 == 0o644


def test_unsupported_object_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        save({"f": lambda: 0}, tmp_path / "x")
    assert os.listdir(tmp_path) == []


def test_chunked_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "_CHUNK", 7)
    t = ng.randn(50)
    roundtrip({"t": t}, tmp_path)


# ----------------------------------------------------------------------------- errors
def test_unsupported_type_names_type_and_path(tmp_path):
    class Thing:
        pass
    with pytest.raises(TypeError, match=r"Thing.*obj\['model'\]\['layers'\]\[1\]"):
        save({"model": {"layers": [ng.ones(1), Thing()]}}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"set"):
        save({"s": {1, 2}}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"dict key of type frozenset"):
        save({frozenset(): 1}, tmp_path / "x")
    with pytest.raises(TypeError, match="dtype object"):
        save([np.array([None])], tmp_path / "x")
    with pytest.raises(TypeError, match="path or a binary file"):
        save(ng.ones(1), 3)


def test_truncated_and_corrupt_files_name_the_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": ng.randn(10, 10), "epoch": 1}, path)
    data = path.read_bytes()
    bad = tmp_path / "truncated.safetensors"
    bad.write_bytes(data[:len(data) - 13])
    with pytest.raises(ValueError, match="truncated.safetensors"):
        load(bad)
    bad.write_bytes(b"")
    with pytest.raises(ValueError, match="truncated.safetensors"):
        load(bad)
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ValueError, match="truncated.safetensors"):
        load(bad)
    with pytest.raises(ValueError, match="<file object>.*corrupt or truncated"):
        load(io.BytesIO(data[:-3]))
    with open(path, "rb") as fh:
        assert load(fh)["epoch"] == 1
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load(tmp_path / "missing.safetensors")


def _craft(tensors, metadata):
    """A safetensors file with arbitrary metadata strings (what an attacker could write)."""
    return safetensors.numpy.save(tensors, metadata=metadata)


def test_bad_metadata_is_a_clear_error(tmp_path):
    cases = [("{not json", "not valid JSON"),
             (json.dumps({"t": "tensor", "k": "nope", "dtype": "float32"}), "does not hold"),
             (json.dumps({"t": "tensor", "k": "a", "dtype": "int64"}), "dtype"),
             (json.dumps({"t": "pickle", "v": "x"}), "unknown metadata node"),
             (json.dumps({"t": "dict", "v": [[{"t": "list", "v": [1]}, 2]]}), "unhashable"),
             (json.dumps({"t": "dict", "v": [[1]]}), "key, value"),
             (json.dumps([1, 2]), "unexpected metadata node"),
             ('{"t": "list", "v": ' * 100000 + "[]" + "}" * 100000, "metadata"),
             ("[" * 100000 + "]" * 100000, "not valid JSON")]
    for meta, msg in cases:
        path = tmp_path / "crafted"
        path.write_bytes(_craft({"a": np.zeros(2, np.float32)}, {"nablagrad": meta}))
        with pytest.raises(ValueError, match=msg):
            load(path)


def test_map_location(tmp_path):
    save({"w": ng.ones(2)}, tmp_path / "c")
    for loc in ["cpu", ng.device("cpu"), {"cpu": "cpu"}]:
        assert load(tmp_path / "c", map_location=loc)["w"].device == ng.device("cpu")
    with pytest.raises(TypeError, match="map_location"):
        load(tmp_path / "c", map_location=3.5)
    if not ng.backend.cuda_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            load(tmp_path / "c", map_location="cuda")


def test_cuda_saved_tensor_loads_with_map_location(tmp_path):
    """A checkpoint saved on a GPU machine records device cuda:0; without CUDA it needs
    map_location='cpu'."""
    meta = {"nablagrad": json.dumps({"t": "tensor", "k": "w", "dtype": "float32",
                                     "device": "cuda:0", "requires_grad": False})}
    (tmp_path / "c").write_bytes(_craft({"w": np.ones(2, np.float32)}, meta))
    out = load(tmp_path / "c", map_location="cpu")
    assert out.device == ng.device("cpu")
    np.testing.assert_array_equal(out.numpy(), [1.0, 1.0])
    if not ng.backend.cuda_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            load(tmp_path / "c")
    else:  # pragma: no cover - GPU machines
        assert load(tmp_path / "c").device == ng.device("cuda:0")


# ----------------------------------------------------------------------------- safety
def test_loading_never_executes_code(tmp_path):
    sentinel = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(sentinel)!r}).write_text('x')"
    tree = {"t": "dict", "v": [["cmd", code], [code, {"t": "list", "v": [code, 1]}],
                               ["__reduce__", {"t": "tuple", "v": ["os.system", code]}]]}
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(_craft({"x": np.zeros(1, np.uint8)}, {"nablagrad": json.dumps(tree),
                                                           "__class__": code}))
    out = load(path)
    assert out == {"cmd": code, code: [code, 1], "__reduce__": ("os.system", code)}
    assert not sentinel.exists()
    # a pickle payload is not a safetensors file: rejected as corrupt, never unpickled
    path.write_bytes(b"\x80\x04\x95" + struct.pack("<Q", 5) + b"cos\nsystem\n")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load(path)
    assert not sentinel.exists()


def test_source_has_no_pickle():
    src = open(serialization.__file__).read()
    assert "pickle" not in src.replace("unpickled", "") and "eval(" not in src
