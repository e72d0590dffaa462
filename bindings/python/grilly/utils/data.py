"""grilly.utils.data: Dataset, TensorDataset, Subset, DataLoader and random_split, after
torch.utils.data, on host (numpy) data that is batched and then uploaded as grilly tensors.

Batches are gathered on the host with numpy fancy indexing when the dataset supports it
(TensorDataset, and Subsets of it), one item at a time through ``__getitem__`` otherwise, then
collated: numpy arrays and numbers are stacked; grilly tensors are stacked on the device
(grl_stack). ``DataLoader(as_numpy=False)`` uploads each field once per batch
(grl_tensor_from_host): floating data as float32, integers as int64 (class labels).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .. import _tensor as _t
from .._device import Device
from .._errors import InvalidArgumentError, ShapeError
from .._tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate"]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _host(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy() if x.dtype is not _t.bfloat16 else x.float().numpy()
    return np.asarray(x)


class TensorDataset(Dataset):
    """Rows of several arrays of one length: ``TensorDataset(images, labels)[i] == (images[i],
    labels[i])``. grilly tensors are copied to the host once (grl_tensor_download) so batches
    can be gathered without device round trips."""

    def __init__(self, *tensors):
        if not tensors:
            raise InvalidArgumentError("grilly.utils.data.TensorDataset: expected at least one "
                                       "array")
        self.tensors = tuple(_host(t) for t in tensors)
        n = len(self.tensors[0]) if self.tensors[0].ndim else -1
        for i, a in enumerate(self.tensors):
            if a.ndim == 0 or len(a) != n:
                raise ShapeError(f"grilly.utils.data.TensorDataset: every array needs the same "
                                 f"first dimension; array 0 has {n} rows, array {i} has shape "
                                 f"{list(a.shape)}")

    def __getitem__(self, index):
        return tuple(a[index] for a in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def _batch(self, indices: np.ndarray) -> tuple:
        return tuple(a[indices] for a in self.tensors)


class Subset(Dataset):
    """The items of `dataset` at `indices`."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[self.indices[np.asarray(index)]]
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch(self, indices: np.ndarray):
        inner = getattr(self.dataset, "_batch", None)
        if inner is None:
            return None
        return inner(self.indices[indices])


def _generator(generator=None, seed: int | None = None) -> np.random.Generator:
    if generator is not None and seed is not None:
        raise InvalidArgumentError("grilly.utils.data: pass either generator or seed, not both")
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is not None:
        return np.random.default_rng(int(generator))
    return np.random.default_rng(seed)


def random_split(dataset, lengths: Sequence[float], generator=None, *,
                 seed: int | None = None) -> list[Subset]:
    """Splits `dataset` into non-overlapping Subsets of the given lengths (ints summing to the
    dataset's length, or fractions summing to 1, the remainder spread one by one from the first
    split as PyTorch does), from a permutation drawn with `generator` (a numpy Generator or an
    int seed) or `seed`."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1.0) \
            and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(x) != x or x < 0 for x in lengths) or sum(int(x) for x in lengths) != n:
        raise InvalidArgumentError(f"grilly.utils.data.random_split: lengths {lengths} must be "
                                   f"non-negative integers summing to the dataset's length {n}, "
                                   "or fractions summing to 1")
    perm = _generator(generator, seed).permutation(n)
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + int(length)]))
        start += int(length)
    return out


def default_collate(items: list):
    """Stacks a list of samples field by field: tuples and lists of fields, dicts by key, numpy
    arrays and numbers with np.stack, grilly tensors with grilly.stack (grl_stack)."""
    first = items[0]
    if isinstance(first, Tensor):
        return _t.stack(items)
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(default_collate(list(f)) for f in zip(*items)))
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(f)) for f in zip(*items))
    if isinstance(first, dict):
        return {k: default_collate([it[k] for it in items]) for k in first}
    return np.stack([np.asarray(it) for it in items])


def _to_device(batch, device: Device | None):
    if isinstance(batch, np.ndarray):
        if batch.dtype.kind == "f" and batch.dtype != np.float16:
            return _t.tensor(batch, dtype=_t.float32, device=device)
        if batch.dtype.kind in "iu" and batch.dtype != np.uint8:
            return _t.tensor(batch, dtype=_t.int64, device=device)
        return _t.tensor(batch, device=device)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_to_device(b, device) for b in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


class DataLoader:
    """Iterates over `dataset` in batches.

    batch_size: samples per batch; shuffle: a new order every epoch, drawn from `generator` (a
    numpy Generator or an int seed) or `seed`, so that runs repeat; drop_last: skip the last
    incomplete batch; collate_fn: list of samples -> batch (default_collate); as_numpy: yield
    numpy batches instead of grilly tensors; device: where tensors go (the default device).
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, *, generator=None, seed: int | None = None,
                 collate_fn: Callable[[list], Any] | None = None, as_numpy: bool = False,
                 device: Device | None = None):
        if int(batch_size) < 1:
            raise InvalidArgumentError(f"grilly.utils.data.DataLoader: batch_size must be >= 1, "
                                       f"got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.as_numpy = bool(as_numpy)
        self.device = device
        self._rng = _generator(generator, seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        return self._rng.permutation(n) if self.shuffle else np.arange(n)

    def _fetch(self, idx: np.ndarray):
        batch = None
        if self.collate_fn is None and hasattr(self.dataset, "_batch"):
            batch = self.dataset._batch(idx)
        if batch is None:
            items = [self.dataset[int(i)] for i in idx]
            batch = (self.collate_fn or default_collate)(items)
        return batch

    def __iter__(self) -> Iterator:
        order = self._order()
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            batch = self._fetch(order[start:start + self.batch_size])
            yield batch if self.as_numpy else _to_device(batch, self.device)
