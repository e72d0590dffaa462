"""grilly.utils.data (datasets, seeded loaders, random_split) and the progress bar."""

import io

import numpy as np
import pytest

import grilly
from grilly.utils import ProgressBar, progress
from grilly.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def _data(n=10):
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return x, y


def test_tensor_dataset_and_batches():
    x, y = _data()
    ds = TensorDataset(x, grilly.tensor(y))          # grilly tensors are read once to the host
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, x[3])
    assert yi == y[3]
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    bx, by = batches[1]
    assert isinstance(bx, grilly.Tensor) and bx.dtype is grilly.float32
    assert by.dtype is grilly.int64
    np.testing.assert_array_equal(bx.numpy(), x[4:8])
    np.testing.assert_array_equal(by.numpy(), y[4:8])
    loader = DataLoader(ds, batch_size=4, drop_last=True, as_numpy=True)
    assert len(loader) == 2
    got = list(loader)
    assert len(got) == 2 and isinstance(got[0][0], np.ndarray)
    assert len(DataLoader(ds, batch_size=4)) == 3
    with pytest.raises(grilly.ShapeError, match="array 1 has shape \\[9\\]"):
        TensorDataset(x, y[:9])
    with pytest.raises(grilly.InvalidArgumentError, match="batch_size"):
        DataLoader(ds, batch_size=0)


def test_shuffle_is_seeded_and_a_permutation():
    x, y = _data(23)
    ds = TensorDataset(x, y)

    def epoch_orders(loader, epochs=2):
        return [np.concatenate([b[1] for b in loader]) for _ in range(epochs)]

    a = epoch_orders(DataLoader(ds, batch_size=5, shuffle=True, seed=7, as_numpy=True))
    b = epoch_orders(DataLoader(ds, batch_size=5, shuffle=True,
                                generator=np.random.default_rng(7), as_numpy=True))
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
    xs = np.concatenate([bx for bx, _ in DataLoader(ds, batch_size=5, shuffle=True, seed=7,
                                                    as_numpy=True)])
    np.testing.assert_array_equal(np.sort(xs[:, 0]), x[:, 0])  # every row once
    assert not np.array_equal(xs[:, 0], x[:, 0])
    assert not np.array_equal(a[0], a[1])                       # a new order every epoch
    with pytest.raises(grilly.InvalidArgumentError, match="either"):
        DataLoader(ds, generator=1, seed=1)


class _Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "y": i * i}


def test_custom_dataset_collates_per_item():
    loader = DataLoader(_Squares(), batch_size=3, as_numpy=True)
    first = next(iter(loader))
    np.testing.assert_array_equal(first["x"], [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_array_equal(first["y"], [0, 1, 4])
    last = list(DataLoader(_Squares(), batch_size=3))[-1]
    assert isinstance(last["y"], grilly.Tensor) and last["y"].numpy().tolist() == [36]
    stacked = default_collate([grilly.tensor([1.0, 2.0]), grilly.tensor([3.0, 4.0])])
    np.testing.assert_array_equal(stacked.numpy(), [[1, 2], [3, 4]])     # grl_stack
    custom = DataLoader(_Squares(), batch_size=2, collate_fn=lambda items: len(items),
                        as_numpy=True)
    assert list(custom) == [2, 2, 2, 1]
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_random_split_is_seeded_and_disjoint():
    x, y = _data(20)
    ds = TensorDataset(x, y)
    a, b = random_split(ds, [15, 5], seed=3)
    assert isinstance(a, Subset) and len(a) == 15 and len(b) == 5
    ids = np.concatenate([a.indices, b.indices])
    np.testing.assert_array_equal(np.sort(ids), np.arange(20))
    a2, _ = random_split(ds, [15, 5], generator=np.random.default_rng(3))
    np.testing.assert_array_equal(a.indices, a2.indices)
    np.testing.assert_array_equal(a[2][0], x[a.indices[2]])
    parts = random_split(ds, [0.5, 0.3, 0.2], seed=0)
    assert [len(p) for p in parts] == [10, 6, 4]
    odd = random_split(TensorDataset(np.zeros(7)), [0.5, 0.5], seed=0)
    assert [len(p) for p in odd] == [4, 3]
    # A loader over a Subset gathers from the underlying arrays.
    bx, by = next(iter(DataLoader(b, batch_size=5, as_numpy=True)))
    np.testing.assert_array_equal(by, y[b.indices])
    with pytest.raises(grilly.InvalidArgumentError, match="summing to the dataset's length 20"):
        random_split(ds, [10, 5])


def test_builtin_progress_bar():
    out = io.StringIO()
    seen = []
    bar = progress(range(4), desc="train", file=out, use_tqdm=False, mininterval=0)
    assert isinstance(bar, ProgressBar)
    for i in bar:
        seen.append(i)
        bar.set_postfix(loss=0.5 / (i + 1))
    assert seen == [0, 1, 2, 3]
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("train: 100%|" + "#" * 24 + "| 4/4 [")
    assert "loss=0.125" in lines[-1]
    out2 = io.StringIO()
    with ProgressBar(total=None, file=out2, mininterval=0, unit="step") as p:
        p.update(3)
    assert out2.getvalue().splitlines()[-1].startswith("3step [")
    quiet = io.StringIO()
    for _ in progress(range(3), file=quiet, disable=True, use_tqdm=False):
        pass
    assert quiet.getvalue() == ""


def test_progress_redraws_in_place_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    for _ in ProgressBar(range(2), desc="e", file=out, mininterval=0):
        pass
    text = out.getvalue()
    assert text.startswith("\re: ") and text.endswith("\n") and text.count("\n") == 1
    assert "2/2" in text


def test_progress_uses_tqdm_when_installed():
    tqdm = pytest.importorskip("tqdm")
    bar = progress(range(3), file=io.StringIO())
    assert isinstance(bar, tqdm.tqdm)
    assert list(bar) == [0, 1, 2]
