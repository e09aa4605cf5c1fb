"""nablagrad.data: datasets, samplers, DataLoader, collate (parity with torch.utils.data)."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import nablagrad as ng
from nablagrad.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                            RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                            TensorDataset, WeightedRandomSampler, default_collate, random_split)


def pair(n=10):
    x = np.random.default_rng(0).standard_normal((n, 3, 2)).astype(np.float32)
    y = np.arange(n, dtype=np.int64)
    return x, y


class ListDataset(Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (10, True),
                                                  (4, False), (12, False), (12, True)])
def test_tensor_dataset_batches_match_torch(batch_size, drop_last):
    x, y = pair()
    ours = list(DataLoader(TensorDataset(ng.from_numpy(x), ng.from_numpy(y)),
                           batch_size=batch_size, drop_last=drop_last))
    ref = list(tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                              batch_size=batch_size, drop_last=drop_last))
    assert len(ours) == len(ref)
    for (a, b), (ta, tb) in zip(ours, ref):
        assert tuple(a.shape) == tuple(ta.shape) and str(a.dtype)[10:] == str(ta.dtype)[6:]
        np.testing.assert_array_equal(a.numpy(), ta.numpy())
        np.testing.assert_array_equal(b.numpy(), tb.numpy())


def test_len_matches_torch():
    x, y = pair(10)
    for bs in (1, 3, 4, 10, 11):
        for dl in (False, True):
            ours = DataLoader(TensorDataset(ng.from_numpy(x)), batch_size=bs, drop_last=dl)
            ref = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x)), batch_size=bs, drop_last=dl)
            assert len(ours) == len(ref) == len(list(ours))


def test_fast_path_equals_per_item_collate():
    x, y = pair(11)
    ds = TensorDataset(ng.from_numpy(x), ng.from_numpy(y))
    fast = list(DataLoader(ds, batch_size=4, shuffle=True, generator=ng.Generator().manual_seed(3)))
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, generator=ng.Generator().manual_seed(3),
                           collate_fn=default_collate))
    for (a, b), (c, d) in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
        assert a.dtype == c.dtype and b.dtype == d.dtype


def test_shuffle_is_a_reproducible_permutation():
    x, y = pair(17)
    ds = TensorDataset(ng.from_numpy(x), ng.from_numpy(y))

    def epoch(gen):
        return np.concatenate([b.numpy() for _, b in DataLoader(ds, batch_size=5, shuffle=True,
                                                                 generator=gen)])
    a = epoch(ng.Generator().manual_seed(7))
    assert sorted(a.tolist()) == list(range(17)) and a.tolist() != list(range(17))
    np.testing.assert_array_equal(a, epoch(ng.Generator().manual_seed(7)))
    assert not np.array_equal(a, epoch(ng.Generator().manual_seed(8)))
    ng.manual_seed(5)
    b = epoch(None)
    ng.manual_seed(5)
    np.testing.assert_array_equal(b, epoch(None))
    gen = ng.Generator().manual_seed(7)
    e1, e2 = epoch(gen), epoch(gen)
    assert not np.array_equal(e1, e2)  # a new permutation every epoch


@pytest.mark.parametrize("kwargs", [
    dict(sampler=[0, 1], shuffle=True),
    dict(batch_sampler=[[0, 1]], batch_size=2),
    dict(batch_sampler=[[0, 1]], shuffle=True),
    dict(batch_sampler=[[0, 1]], sampler=[0]),
    dict(batch_sampler=[[0, 1]], drop_last=True),
    dict(batch_size=None, drop_last=True),
])
def test_exclusive_options_raise_like_torch(kwargs):
    x, _ = pair()
    with pytest.raises(ValueError) as ours:
        DataLoader(TensorDataset(ng.from_numpy(x)), **kwargs)
    with pytest.raises(ValueError) as ref:
        tud.DataLoader(tud.TensorDataset(torch.from_numpy(x)), **kwargs)
    assert str(ours.value) == str(ref.value)


def test_batch_sampler_and_sampler():
    x, y = pair()
    ds = TensorDataset(ng.from_numpy(x), ng.from_numpy(y))
    got = [b.numpy().tolist() for _, b in DataLoader(ds, batch_sampler=[[3, 1], [0, 9, 2]])]
    assert got == [[3, 1], [0, 9, 2]]
    got = [b.numpy().tolist() for _, b in DataLoader(ds, sampler=[5, 4, 3], batch_size=2)]
    assert got == [[5, 4], [3]]


def test_batch_size_none_disables_batching():
    ds = ListDataset([np.arange(3), np.arange(3) + 1])
    out = list(DataLoader(ds, batch_size=None))
    ref = list(tud.DataLoader(ds, batch_size=None))
    assert len(out) == 2 and isinstance(out[0], ng.Tensor)
    np.testing.assert_array_equal(out[1].numpy(), ref[1].numpy())


def test_collate_nested_structures_match_torch():
    Point = collections.namedtuple("Point", "x y")
    samples = [{"a": np.full((2,), i, np.float32), "b": (i, float(i) / 2), "c": "s%d" % i,
                "p": Point(np.int32(i), True), "t": ng.tensor([i, i + 1])} for i in range(3)]
    tsamples = [dict(s, t=torch.tensor([i, i + 1])) for i, s in enumerate(samples)]
    ours, ref = default_collate(samples), tud.default_collate(tsamples)
    assert set(ours) == set(ref)
    for k in ("a", "t"):
        np.testing.assert_array_equal(ours[k].numpy(), ref[k].numpy())
        assert str(ours[k].dtype)[10:] == str(ref[k].dtype)[6:]
    assert isinstance(ours["b"], list) and isinstance(ref["b"], list)
    for o, r in zip(ours["b"], ref["b"]):
        np.testing.assert_array_equal(o.numpy(), r.numpy())
        assert str(o.dtype)[10:] == str(r.dtype)[6:]
    assert ours["c"] == ref["c"]
    assert type(ours["p"]).__name__ == "Point"
    assert str(ours["p"].x.dtype) == "nablagrad.int32" and ours["p"].y.numpy().tolist() == [True] * 3


def test_collate_unequal_lists_and_bad_types():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])


def test_prefetch_thread_same_batches_and_errors():
    x, y = pair(23)
    ds = TensorDataset(ng.from_numpy(x), ng.from_numpy(y))
    plain = [b.numpy() for _, b in DataLoader(ds, batch_size=4)]
    for kw in (dict(prefetch=2), dict(num_workers=2)):
        got = [b.numpy() for _, b in DataLoader(ds, batch_size=4, **kw)]
        assert len(got) == len(plain) and all(np.array_equal(a, b) for a, b in zip(got, plain))

    class Bad(Dataset):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError("boom")
            return np.float32(i)

        def __len__(self):
            return 8
    with pytest.raises(KeyError, match="boom"):
        list(DataLoader(Bad(), batch_size=2, prefetch=1))
    it = iter(DataLoader(ds, batch_size=1, prefetch=1))
    next(it)
    it.close()  # abandoning an epoch early stops the producer


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))
    got = [b.numpy().tolist() for b in DataLoader(Stream(), batch_size=3)]
    assert got == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.numpy().tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)


def test_subset_concat():
    ds = ListDataset(list(range(10)))
    sub = Subset(ds, [4, 2, 7])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [4, 2, 7]
    cat = ConcatDataset([ds, ListDataset([100, 101])])
    assert len(cat) == 12 and cat[10] == 100 and cat[-1] == 101 and cat[3] == 3
    assert len(ds + ds) == 20
    with pytest.raises(ValueError):
        cat[-13]


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33],
                                     [10]])
def test_random_split_sizes_and_disjoint(lengths):
    ds = ListDataset(list(range(10)))
    parts = random_split(ds, lengths, generator=ng.Generator().manual_seed(0))
    ref = tud.random_split(ds, lengths, generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [len(r) for r in ref]
    idx = [i for p in parts for i in p.indices]
    assert sorted(idx) == list(range(10))
    again = random_split(ds, lengths, generator=ng.Generator().manual_seed(0))
    assert [p.indices for p in parts] == [p.indices for p in again]


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="sum of input lengths"):
        random_split(ListDataset(list(range(10))), [3, 3])


def test_samplers():
    data = list(range(6))
    assert list(SequentialSampler(data)) == data
    g = ng.Generator().manual_seed(1)
    perm = list(RandomSampler(data, generator=g))
    assert sorted(perm) == data and len(RandomSampler(data)) == 6
    r = list(RandomSampler(data, replacement=True, num_samples=50, generator=g))
    assert len(r) == 50 and set(r) <= set(data)
    r = list(RandomSampler(data, num_samples=14, generator=g))
    assert len(r) == 14 and sorted(r[:6]) == data and sorted(r[6:12]) == data
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(data, num_samples=0)
    assert sorted(SubsetRandomSampler([9, 3, 5], generator=g)) == [3, 5, 9]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=g))
    assert set(w) == {1, 3} and 100 < w.count(3) < 200
    assert sorted(WeightedRandomSampler([1, 1, 0, 1], 3, replacement=False, generator=g)) == [0, 1, 3]
    with pytest.raises(RuntimeError):
        WeightedRandomSampler([1, 0, 0], 2, replacement=False)
    for n, bs, dl in [(6, 4, False), (6, 4, True), (6, 3, True), (5, 1, False)]:
        ours = list(BatchSampler(range(n), bs, dl))
        ref = list(tud.BatchSampler(range(n), bs, dl))
        assert ours == ref and len(BatchSampler(range(n), bs, dl)) == len(ref)
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)


def test_requires_grad_tensor_dataset_keeps_graph():
    w = ng.randn(6, 2, requires_grad=True)
    (xb,) = next(iter(DataLoader(TensorDataset(w), batch_size=3)))
    xb.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:3], 1)
    np.testing.assert_array_equal(w.grad.numpy()[3:], 0)


# ---------------------------------------------------------------- transforms
from nablagrad.data import transforms as T  # noqa: E402


def gen(seed=0):
    return ng.Generator().manual_seed(seed)


def test_to_tensor():
    img = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    t = T.ToTensor()(img)
    assert isinstance(t, ng.Tensor) and tuple(t.shape) == (3, 5, 4) and t.dtype == ng.float32
    np.testing.assert_allclose(t.numpy(), img.transpose(2, 0, 1) / 255, rtol=1e-6)
    assert tuple(T.ToTensor()(img[:, :, 0]).shape) == (1, 5, 4)
    assert tuple(T.ToTensor()(np.stack([img, img])).shape) == (2, 3, 5, 4)
    np.testing.assert_array_equal(T.ToTensor()(img.astype(np.float64)).numpy(),
                                  img.transpose(2, 0, 1).astype(np.float32))


def test_normalize_and_compose():
    x = np.random.default_rng(1).random((2, 3, 4, 5)).astype(np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    want = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    out = T.Normalize(mean, std)(ng.from_numpy(x))
    assert out.dtype == ng.float32
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(T.Normalize(mean, std)(x[0]), want[0], rtol=1e-6)
    img = (x[0].transpose(1, 2, 0) * 255).astype(np.uint8)
    pipe = T.Compose([T.ToTensor(), T.Normalize(mean, std), T.Lambda(lambda t: t * 2)])
    ref = (img.transpose(2, 0, 1) / np.float32(255) - np.array(mean)[:, None, None]) \
        / np.array(std)[:, None, None] * 2
    np.testing.assert_allclose(pipe(img).numpy(), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0], [0])
    with pytest.raises(ValueError, match="channels"):
        T.Normalize([0, 0], [1, 1])(x)


def test_normalize_is_differentiable():
    x = ng.rand(3, 2, 2, requires_grad=True)
    T.Normalize([0, 0, 0], [2, 4, 8])(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[:, 0, 0], [0.5, 0.25, 0.125])


def test_random_crop_windows_and_padding():
    x = np.arange(2 * 2 * 5 * 6, dtype=np.float32).reshape(2, 2, 5, 6)
    out = T.RandomCrop((3, 4), generator=gen(0))(x)
    assert out.shape == (2, 2, 3, 4)
    for n in range(2):  # each sample is some window of its own image
        found = [(i, j) for i in range(3) for j in range(3)
                 if np.array_equal(out[n], x[n, :, i:i + 3, j:j + 4])]
        assert len(found) == 1
    pad = T.RandomCrop(5, padding=2, generator=gen(1))(x[0, :, :5, :5])
    padded = np.pad(x[0, :, :5, :5], ((0, 0), (2, 2), (2, 2)))
    assert any(np.array_equal(pad, padded[:, i:i + 5, j:j + 5]) for i in range(5) for j in range(5))
    # padding (left, top, right, bottom) with edge mode: a full-size crop is the padded image
    full = T.RandomCrop((5 + 1 + 3, 6 + 2 + 4), padding=(2, 1, 4, 3), padding_mode="edge")(x[0])
    np.testing.assert_array_equal(full, np.pad(x[0], ((0, 0), (1, 3), (2, 4)), mode="edge"))
    grown = T.RandomCrop(7, pad_if_needed=True, fill=-1)(ng.from_numpy(x[0]))
    assert tuple(grown.shape) == (2, 7, 7) and (grown.numpy() == -1).sum() > 0
    with pytest.raises(ValueError, match="larger than the input"):
        T.RandomCrop(9)(x)
    # the offsets are uniform over all windows
    hits = {T.RandomCrop(1, generator=None)(np.arange(4.).reshape(1, 2, 2))[0, 0, 0] for _ in range(60)}
    assert hits == {0.0, 1.0, 2.0, 3.0}


def test_random_horizontal_flip():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4).repeat(200, 0)
    out = T.RandomHorizontalFlip(generator=gen(2))(x)
    flipped = np.array([np.array_equal(o, x[0, :, :, ::-1]) for o in out])
    kept = np.array([np.array_equal(o, x[0]) for o in out])
    assert (flipped ^ kept).all() and 60 < flipped.sum() < 140
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(ng.from_numpy(x[0])).numpy(),
                                  x[0][..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x[0]), x[0])


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_random_affine_rotation_and_translation(interpolation):
    x = np.random.default_rng(3).random((2, 5, 5))
    rot = T.RandomAffine((90, 90), interpolation=interpolation)(x)
    np.testing.assert_allclose(rot, np.rot90(x, 1, axes=(1, 2)), atol=1e-12)  # counter-clockwise
    shifted = T.RandomAffine(0, translate=(0.4, 0.4), fill=-1.0, generator=gen(4))
    out = shifted(x)
    # some integer shift (dy, dx) with |d| <= 2 explains the output exactly
    matches = []
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            want = np.full_like(x, -1.0)
            want[:, max(dy, 0):5 + min(dy, 0), max(dx, 0):5 + min(dx, 0)] = \
                x[:, max(-dy, 0):5 - max(dy, 0), max(-dx, 0):5 - max(dx, 0)]
            if np.allclose(out, want):
                matches.append((dy, dx))
    assert len(matches) == 1
    u8 = (x * 255).astype(np.uint8)
    assert T.RandomAffine(30, scale=(0.8, 1.2))(u8).dtype == np.uint8


def test_random_affine_batch_independent_and_bilinear_half_pixel():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = 1.0
    # a 180° turn about the centre (1.5, 1.5) maps (1, 1) to (2, 2)
    out = T.RandomAffine((180, 180), interpolation="bilinear")(x)
    np.testing.assert_allclose(out[0, 0, 2, 2], 1.0, atol=1e-12)
    assert abs(out.sum() - 1.0) < 1e-9
    b = np.random.default_rng(5).random((8, 1, 6, 6))
    outs = T.RandomAffine(45, generator=gen(6))(b)
    assert outs.shape == b.shape and not np.allclose(outs[0], outs[1])


def test_random_erasing():
    x = np.ones((50, 3, 10, 10), dtype=np.float32)
    out = T.RandomErasing(p=0.5, value=0, generator=gen(7))(x)
    assert (x == 1).all()  # not in place
    erased = (out == 0).any(axis=(1, 2, 3))
    assert 10 < erased.sum() < 40
    for o in out[erased]:
        rows, cols = np.nonzero(o[0] == 0)
        h, w = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert len(rows) == h * w and (o == 0).sum() == 3 * h * w  # one rectangle, all channels
        assert 0.02 * 100 * 0.5 <= h * w <= 0.33 * 100 * 1.6
    rand = T.RandomErasing(p=1.0, value="random", generator=gen(8))(ng.from_numpy(x[0]))
    assert (rand.numpy() != 1).any()
    per_channel = T.RandomErasing(p=1.0, value=[2, 3, 4], generator=gen(9))(x[0])
    assert set(np.unique(per_channel[1])) <= {1.0, 3.0}
    t = ng.from_numpy(x[0].copy())
    assert T.RandomErasing(p=1.0, inplace=True, generator=gen(1))(t) is t and (t.numpy() == 0).any()


def test_gaussian_noise():
    x = np.full((4, 1, 30, 30), 0.5, dtype=np.float32)
    out = T.GaussianNoise(sigma=0.1, generator=gen(10))(ng.from_numpy(x)).numpy()
    assert out.dtype == np.float32 and abs(out.std() - 0.1) < 0.01 and abs(out.mean() - 0.5) < 0.01
    assert out.min() >= 0 and out.max() <= 1
    big = T.GaussianNoise(mean=1.0, sigma=0.0, clip=False)(x)
    np.testing.assert_allclose(big, 1.5)
    np.testing.assert_array_equal(T.GaussianNoise(sigma=5.0, generator=gen(1))(x),
                                  T.GaussianNoise(sigma=5.0, generator=gen(1))(x))
    with pytest.raises(TypeError, match="float"):
        T.GaussianNoise()(np.zeros((1, 2, 2), np.uint8))


def test_transforms_seeded_by_manual_seed():
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    pipe = T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip(), T.RandomAffine(10)])
    ng.manual_seed(11)
    a = pipe(x)
    ng.manual_seed(11)
    np.testing.assert_array_equal(a, pipe(x))


def test_prefetch_shuffle_reproducible_with_default_generator():
    x, y = pair(30)
    ds = TensorDataset(ng.from_numpy(x), ng.from_numpy(y))

    def epoch():
        ng.manual_seed(123)
        out = [b.numpy() for _, b in DataLoader(ds, batch_size=4, shuffle=True, prefetch=2)]
        return np.concatenate(out), ng.rand(3).numpy()  # RNG use after the epoch's order
    (a, ra), (b, rb) = epoch(), epoch()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ra, rb)


@pytest.mark.parametrize("mode,torch_mode", [("reflect", "reflect"), ("edge", "replicate"),
                                             ("constant", "constant")])
def test_random_crop_padding_modes_match_torch_pad(mode, torch_mode):
    x = np.random.default_rng(4).random((2, 3, 5, 6))
    ours = T.RandomCrop((5 + 1 + 2, 6 + 3 + 2), padding=(3, 1, 2, 2), padding_mode=mode)(x)
    ref = torch.nn.functional.pad(torch.from_numpy(x), (3, 2, 1, 2), mode=torch_mode)
    np.testing.assert_array_equal(ours, ref.numpy())
