"""grilly.search: pairwise distances, top-k and the flat index against numpy float64 references,
and their errors."""

import copy

import numpy as np
import pytest

import grilly
from grilly import search


def _dist(q, b, metric):
    q, b = q.astype(np.float64), b.astype(np.float64)
    l2 = np.maximum((q * q).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * q @ b.T, 0)
    if metric == "l2sqr":
        return l2
    if metric == "l2":
        return np.sqrt(l2)
    if metric == "inner_product":
        return q @ b.T
    qn = np.maximum(np.linalg.norm(q, axis=1), 1e-8)
    bn = np.maximum(np.linalg.norm(b, axis=1), 1e-8)
    return q @ b.T / qn[:, None] / bn[None]


@pytest.mark.parametrize("metric", ["l2sqr", "l2", "inner_product", "cosine"])
def test_pairwise_distances(rng, metric):
    q = rng.standard_normal((5, 16)).astype(np.float32)
    b = rng.standard_normal((9, 16)).astype(np.float32)
    d = grilly.pairwise_distances(q, b, metric)
    assert d.dtype is grilly.float32 and d.shape == (5, 9)
    np.testing.assert_allclose(d.numpy(), _dist(q, b, metric), rtol=1e-4, atol=1e-4)


def test_topk(rng):
    x = rng.standard_normal((4, 300)).astype(np.float32)
    x[1, 10:20] = 0.5                                  # ties: lower position first
    for largest in (True, False):
        v, i = grilly.topk(x, 12, largest=largest)
        order = np.argsort(-x if largest else x, axis=1, kind="stable")[:, :12]
        np.testing.assert_array_equal(i.numpy(), order)
        np.testing.assert_array_equal(v.numpy(), np.take_along_axis(x, order, 1))
        assert i.dtype is grilly.int64
    t = grilly.tensor(x)
    res = t.topk(3)
    np.testing.assert_array_equal(res.indices.numpy(), np.argsort(-x, 1, kind="stable")[:, :3])
    assert search.topk(x, 0).values.shape == (4, 0)


@pytest.mark.parametrize("metric", ["l2sqr", "inner_product", "cosine", "l2"])
def test_index_flat_against_brute_force(rng, metric):
    base = rng.standard_normal((1000, 24)).astype(np.float32)
    q = rng.standard_normal((37, 24)).astype(np.float32)
    # Small tiles and chunks reach the multi-tile and multi-chunk paths.
    index = grilly.IndexFlat(24, metric, tile_rows=300, chunk_rows=128)
    index.add(base[:600])
    index.add(base[600:])
    assert index.ntotal == len(index) == 1000 and index.d == 24
    d_ref = _dist(q, base, metric)
    for k in (1, 10, 40):
        dist, labels = index.search(q, k)
        assert dist.dtype == np.float32 and labels.dtype == np.int64 and dist.shape == (37, k)
        key = d_ref if metric in ("l2sqr", "l2") else -d_ref
        order = np.argsort(key, axis=1, kind="stable")[:, :k]
        # The values must match the reference's k best; labels too where there is no near-tie.
        np.testing.assert_allclose(dist, np.take_along_axis(d_ref, order, 1), rtol=1e-4,
                                   atol=1e-4)
        np.testing.assert_allclose(np.take_along_axis(d_ref, labels, 1), dist, rtol=1e-4,
                                   atol=1e-4)
    index.close()


def test_index_flat_ids_remove_reset(rng):
    base = rng.standard_normal((50, 8)).astype(np.float32)
    index = search.IndexFlatL2(8)
    ids = np.arange(1000, 1050)
    index.add(base, ids)
    dist, labels = index.search(base[[3, 17]], 1)
    np.testing.assert_array_equal(labels[:, 0], [1003, 1017])
    np.testing.assert_allclose(dist[:, 0], 0, atol=1e-4)
    assert index.remove_ids([1003, 5, 1040]) == 2
    assert index.ntotal == 48
    _, labels = index.search(base[3], 1)
    assert labels[0, 0] != 1003
    index.reset()
    assert index.ntotal == 0
    index.add(base[:5])
    _, labels = index.search(base[4:5], 1)
    assert labels[0, 0] == 4                           # automatic ids restart at 0
    np.testing.assert_array_equal(grilly.Compute().search.knn(base[:3], base, 1)[1][:, 0],
                                  [0, 1, 2])


def test_errors(rng):
    with pytest.raises(grilly.ShapeError):
        grilly.pairwise_distances(np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32))
    with pytest.raises(grilly.InvalidArgumentError, match="metric"):
        grilly.pairwise_distances(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32),
                                  "hamming")
    with pytest.raises(grilly.InvalidArgumentError):
        grilly.topk(np.zeros((2, 3), np.float32), 4)
    with pytest.raises(grilly.InvalidArgumentError, match="last axis"):
        grilly.topk(np.zeros((2, 3), np.float32), 1, dim=0)
    index = grilly.IndexFlat(4)
    index.add(np.zeros((3, 4), np.float32))
    with pytest.raises(grilly.InvalidArgumentError):
        index.search(np.zeros((1, 4), np.float32), 4)      # k > ntotal
    with pytest.raises(grilly.ShapeError):
        index.add(np.zeros((2, 5), np.float32))
    with pytest.raises(grilly.ShapeError, match="ids"):
        index.add(np.zeros((2, 4), np.float32), [1, 2, 3])
    with pytest.raises(grilly.InvalidArgumentError):
        grilly.IndexFlat(0)
    twin = copy.copy(index)                      # a second owner of the same index
    index.close()
    with pytest.raises(grilly.NullArgumentError, match="closed"):
        index.ntotal
    assert twin.ntotal == 3
    twin.close()
