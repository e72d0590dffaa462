"""grilly.search: exact vector search on the device.

Functions over the C family ``search`` of include/grilly.h (docs/neuro.md, "Vector search"):
``pairwise_distances``, ``topk`` (also ``grilly.topk`` and ``Tensor.topk``) and ``IndexFlat``, a
FAISS IndexFlat-like exhaustive index (``add``, ``search(queries, k) -> (distances, labels)``,
``remove_ids``, ``reset``, ``ntotal``); and the facade ops of ``Compute().search``.
"""

from __future__ import annotations

import builtins
import collections

import numpy as np

from . import _grilly as _C
from ._handle import OwnedHandle
from . import _tensor as _t
from ._compute import VulkanCompute, register_op
from ._errors import InvalidArgumentError, ShapeError
from ._tensor import Tensor

__all__ = ["METRICS", "pairwise_distances", "topk", "IndexFlat", "IndexFlatL2", "IndexFlatIP"]

METRICS = {"l2sqr": _C.GRL_METRIC_L2SQR, "l2": _C.GRL_METRIC_L2,
           "inner_product": _C.GRL_METRIC_INNER_PRODUCT, "ip": _C.GRL_METRIC_INNER_PRODUCT,
           "cosine": _C.GRL_METRIC_COSINE}
_METRIC_NAMES = {_C.GRL_METRIC_L2SQR: "l2sqr", _C.GRL_METRIC_L2: "l2",
                 _C.GRL_METRIC_INNER_PRODUCT: "inner_product", _C.GRL_METRIC_COSINE: "cosine"}

_TopK = collections.namedtuple("topk", ["values", "indices"])


def _metric(metric) -> int:
    key = metric.lower() if isinstance(metric, str) else metric
    if key in METRICS:
        return METRICS[key]
    if isinstance(metric, (int, np.integer)) and int(metric) in _METRIC_NAMES:
        return int(metric)
    raise InvalidArgumentError(f"grilly.search: metric must be one of 'l2sqr', 'l2', "
                               f"'inner_product' ('ip'), 'cosine', got {metric!r}")


def _floating(x, device=None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype != np.float16:
        arr = arr.astype(np.float32, copy=False)
    return _t.tensor(arr, device=device)


def pairwise_distances(queries, base, metric: str = "l2sqr") -> Tensor:
    """metric(queries[i], base[j]) for every pair: queries [Q, D], base [N, D] -> float32 [Q, N]
    (grl_pairwise_distances). metric 'l2sqr' (|q - b|^2), 'l2', 'inner_product' or 'cosine'."""
    q = _floating(queries)
    b = base if isinstance(base, Tensor) else _t.tensor(np.asarray(base), dtype=q.dtype,
                                                         device=q.device)
    return q._new(_C.grl_pairwise_distances(q._h, b._h, _metric(metric)))


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> tuple:
    """The k largest (or smallest) entries along the last axis, best first, as the named tuple
    (values, indices) with int64 indices (grl_topk). Ties go to the lower position; NaN ranks
    above +inf. ``dim`` must be the last axis (-1); results are always sorted."""
    x = _floating(input)
    if dim not in (-1, x.ndim - 1):
        raise InvalidArgumentError(f"grilly.topk: only the last axis is supported (dim=-1), got "
                                   f"dim={dim} for a {x.ndim}-d tensor; transpose first")
    values, indices = _C.grl_topk(x._h, int(k), int(builtins.bool(largest)))
    return _TopK(x._new(values), x._new(indices))


def _topk_method(self, k, dim=-1, largest=True, sorted=True):
    return topk(self, k, dim, largest, sorted)


_topk_method.__name__ = "topk"
_topk_method.__doc__ = topk.__doc__
if not hasattr(Tensor, "topk"):
    Tensor.topk = _topk_method


class IndexFlat(OwnedHandle):
    """An exact (flat) index of float32 vectors of ``d`` floats, FAISS IndexFlat-like
    (grl_index_flat_create); the vectors live on the device.

    ``metric``: 'l2sqr' (FAISS's METRIC_L2, the default), 'l2', 'inner_product', 'cosine'.
    ``tile_rows`` / ``chunk_rows`` (0: automatic) tune the storage tiles and the search kernel's
    chunks. ``add(x, ids=None)`` appends (grl_index_flat_add), ``search(x, k)`` returns numpy
    (distances [Q, k] float32, labels [Q, k] int64) nearest first (grl_index_flat_search),
    ``remove_ids(ids)`` (grl_index_flat_remove), ``reset()`` (grl_index_flat_reset), ``ntotal``
    (grl_index_flat_ntotal) and ``d`` (grl_index_flat_dim). Released by close()
    (grl_index_flat_release) or when collected; ``copy.copy()`` gives a second owner of the same
    index (grl_index_flat_retain).
    """

    _release_fn = "grl_index_flat_release"
    _retain_fn = "grl_index_flat_retain"
    _closed_message = "grilly.IndexFlat: the index was closed"

    def __init__(self, d: int, metric: str = "l2sqr", *, tile_rows: int = 0, chunk_rows: int = 0,
                 device=None):
        self._h = None
        self.device = _t._device_of(device)
        self.metric = _METRIC_NAMES[_metric(metric)]
        self._h = _C.grilly_index_flat_create(self.device._handle(), int(d), _metric(metric),
                                              int(tile_rows), int(chunk_rows))


    def _vectors(self, x) -> Tensor:
        t = x if isinstance(x, Tensor) else _floating(x, self.device)
        if t.ndim == 1:
            t = t.reshape(1, -1)
        return t

    @property
    def ntotal(self) -> int:
        """The number of vectors held (grl_index_flat_ntotal)."""
        return _C.grl_index_flat_ntotal(self._handle())

    @property
    def d(self) -> int:
        """The dimension (grl_index_flat_dim)."""
        return _C.grl_index_flat_dim(self._handle())

    def __len__(self):
        return self.ntotal

    def add(self, x, ids=None) -> None:
        """Appends vectors [n, d] (grl_index_flat_add); ids: n integer ids, or None for the next
        n automatic ids (counting the vectors added since creation or reset)."""
        v = self._vectors(x)
        if ids is None:
            _C.grilly_index_flat_add(self._handle(), v._h, None)
            return
        arr = np.ascontiguousarray(np.asarray(ids).reshape(-1), dtype=np.int64)
        if arr.shape[0] != v.shape[0]:
            raise ShapeError(f"grilly.IndexFlat.add: {v.shape[0]} vectors but {arr.shape[0]} ids "
                             "(give one id per vector, or ids=None)")
        _C.grilly_index_flat_add(self._handle(), v._h, arr)

    def add_with_ids(self, x, ids) -> None:
        """add(x, ids) under FAISS's name (grl_index_flat_add)."""
        self.add(x, ids)

    def search_tensors(self, x, k: int) -> tuple:
        """search() with the results left on the device as grilly Tensors
        (grl_index_flat_search)."""
        q = self._vectors(x)
        dist, labels = _C.grl_index_flat_search(self._handle(), q._h, int(k))
        return q._new(dist), q._new(labels)

    def search(self, x, k: int) -> tuple:
        """(distances float32 [Q, k], labels int64 [Q, k]) of the k nearest vectors of each query
        [Q, d], nearest first, as numpy arrays (grl_index_flat_search). 1 <= k <= min(ntotal,
        2048)."""
        dist, labels = self.search_tensors(x, k)
        return dist.numpy(), labels.numpy()

    def remove_ids(self, ids) -> int:
        """Removes every vector whose id is in ids; returns how many went
        (grl_index_flat_remove)."""
        arr = np.ascontiguousarray(np.asarray(ids).reshape(-1), dtype=np.int64)
        return _C.grl_index_flat_remove(self._handle(), arr)

    remove = remove_ids

    def reset(self) -> None:
        """Removes every vector; automatic ids restart at 0 (grl_index_flat_reset)."""
        _C.grl_index_flat_reset(self._handle())

    def __repr__(self):
        if self._h is None:
            return "grilly.IndexFlat(closed)"
        return f"grilly.IndexFlat(d={self.d}, metric={self.metric!r}, ntotal={self.ntotal})"


def IndexFlatL2(d: int, **kwargs) -> IndexFlat:
    """IndexFlat(d, 'l2sqr'): FAISS's IndexFlatL2 (squared L2 distances)."""
    return IndexFlat(d, "l2sqr", **kwargs)


def IndexFlatIP(d: int, **kwargs) -> IndexFlat:
    """IndexFlat(d, 'inner_product'): FAISS's IndexFlatIP."""
    return IndexFlat(d, "inner_product", **kwargs)


# ------------------------------------------------------------------------------------------------
# Facade ops: Compute().search (numpy in, numpy out)
# ------------------------------------------------------------------------------------------------


@register_op("search")
def compute_distances(c: VulkanCompute, queries, database, distance_type: str = "l2sqr"):
    """Distances [Q, N] between queries and database rows (grl_pairwise_distances);
    distance_type 'l2sqr', 'l2', 'inner_product' / 'dot', 'cosine'."""
    metric = "inner_product" if distance_type == "dot" else distance_type
    return pairwise_distances(c._tensor(queries), c._tensor(database), metric).numpy()


@register_op("search", "topk")
def _topk_facade(c: VulkanCompute, x, k: int, largest: bool = True) -> tuple:
    """(values, indices) of the k best entries of each row (grl_topk) as numpy arrays."""
    values, indices = topk(c._tensor(x), k, largest=largest)
    return values.numpy(), indices.numpy()


@register_op("search")
def knn(c: VulkanCompute, queries, database, k: int, metric: str = "l2sqr") -> tuple:
    """(distances, labels) of the k nearest database rows of each query through a temporary
    flat index (grl_index_flat_add, grl_index_flat_search)."""
    with IndexFlat(np.shape(database)[-1], metric, device=c.device) as index:
        index.add(database)
        return index.search(queries, k)
