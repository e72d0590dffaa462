"""Every loss of grilly.functional against numpy float64 references, with each reduction, and its
gradient against central finite differences through the Python API."""

import numpy as np
import pytest

import grilly
import grilly.functional as F


def _reduce(per, reduction):
    return {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]


def _check(got, ref, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(np.asarray(got.numpy(), np.float64), ref, rtol=rtol, atol=atol)


def numeric_grad(fn, arrays, i, h=1e-3):
    """d(sum(fn(*arrays)))/d arrays[i] by central differences (each evaluation through grilly)."""
    base = [a.copy() if isinstance(a, np.ndarray) else a for a in arrays]
    g = np.zeros(base[i].shape, np.float64)
    for idx in np.ndindex(*base[i].shape):
        vals = []
        for s in (h, -h):
            args = list(base)
            args[i] = base[i].copy()
            args[i][idx] += s
            with grilly.no_grad():
                vals.append(np.asarray(fn(*args).numpy(), np.float64).sum())
        g[idx] = (vals[0] - vals[1]) / (2 * h)
    return g


def check_grad(fn, arrays, wrt, rtol=2e-2, atol=2e-3):
    ts = [grilly.tensor(a, requires_grad=(i in wrt)) if i in wrt else a
          for i, a in enumerate(arrays)]
    out = fn(*ts)
    out.sum().backward() if out.ndim else out.backward()
    for i in wrt:
        np.testing.assert_allclose(ts[i].grad.numpy(), numeric_grad(fn, arrays, i),
                                   rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


@pytest.fixture
def ab(rng):
    return (rng.standard_normal((3, 4)).astype(np.float32),
            rng.standard_normal((3, 4)).astype(np.float32))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_regression_losses(ab, reduction):
    a, b = ab
    d = a.astype(np.float64) - b
    ad = np.abs(d)
    _check(F.mse_loss(a, b, reduction=reduction), _reduce(d * d, reduction))
    _check(F.l1_loss(a, b, reduction=reduction), _reduce(ad, reduction))
    for beta in (0.5, 1.0):
        sl1 = np.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)
        _check(F.smooth_l1_loss(a, b, reduction=reduction, beta=beta), _reduce(sl1, reduction))
        _check(F.huber_loss(a, b, reduction=reduction, delta=beta),
               _reduce(beta * sl1, reduction))


def test_regression_loss_gradients(ab):
    a, b = ab
    for fn in (F.mse_loss, F.l1_loss, lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
               lambda x, y: F.huber_loss(x, y, reduction="sum", delta=0.7)):
        check_grad(fn, [a, b], wrt=(0, 1))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_classification_losses(rng, reduction):
    logits = rng.standard_normal((4, 5)).astype(np.float32)
    d = logits.astype(np.float64)
    ls = d - np.log(np.exp(d).sum(1, keepdims=True))
    t = np.array([1, 0, 4, 2])
    _check(F.cross_entropy(logits, t, reduction=reduction),
           _reduce(-ls[np.arange(4), t], reduction))
    _check(F.nll_loss(ls.astype(np.float32), t, reduction=reduction),
           _reduce(-ls[np.arange(4), t], reduction))
    probs = rng.dirichlet(np.ones(5), 4).astype(np.float32)
    per = -(probs * ls).sum(1)
    ref = per.mean() if reduction == "mean" else _reduce(per, reduction)
    _check(F.cross_entropy(logits, probs, reduction=reduction), ref)

    p = rng.uniform(0.05, 0.95, (3, 4)).astype(np.float32)
    y = (rng.random((3, 4)) > 0.5).astype(np.float32)
    w = rng.uniform(0.5, 2, (3, 4)).astype(np.float32)
    pd = p.astype(np.float64)
    bce = -(y * np.log(pd) + (1 - y) * np.log(1 - pd))
    _check(F.binary_cross_entropy(p, y, reduction=reduction), _reduce(bce, reduction))
    _check(F.binary_cross_entropy(p, y, w, reduction=reduction), _reduce(w * bce, reduction))
    x = logits[:3, :4]
    xd = x.astype(np.float64)
    pw = rng.uniform(0.5, 2, 4).astype(np.float32)
    logsig = -np.log1p(np.exp(-xd))
    bcel = -(pw * y * logsig + (1 - y) * (logsig - xd))
    _check(F.binary_cross_entropy_with_logits(x, y, reduction=reduction, pos_weight=pw),
           _reduce(bcel, reduction))
    plain = -(y * logsig + (1 - y) * (logsig - xd))
    _check(F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction),
           _reduce(w * plain, reduction))


def test_classification_loss_gradients(rng):
    logits = rng.standard_normal((3, 4)).astype(np.float32)
    t = np.array([3, 0, 1])
    check_grad(lambda x: F.cross_entropy(x, t, label_smoothing=0.1), [logits], wrt=(0,))
    check_grad(lambda x: F.nll_loss(x, t, reduction="sum"), [logits], wrt=(0,))
    probs = rng.dirichlet(np.ones(4), 3).astype(np.float32)
    check_grad(lambda x, p: F.cross_entropy(x, p), [logits, probs], wrt=(0, 1))
    p = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    y = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    check_grad(F.binary_cross_entropy, [p, y], wrt=(0, 1), rtol=3e-2)
    check_grad(lambda x, yy: F.binary_cross_entropy_with_logits(x, yy, pos_weight=[2, 1, 1, .5]),
               [logits, y], wrt=(0, 1))


@pytest.mark.parametrize("reduction", ["none", "batchmean", "mean", "sum"])
def test_kl_div(rng, reduction):
    q = rng.dirichlet(np.ones(5), 3)
    p = rng.dirichlet(np.ones(5), 3)
    logq = np.log(q).astype(np.float32)
    per = p * (np.log(p) - np.log(q))
    ref = {"none": per, "batchmean": per.sum() / 3, "mean": per.mean(), "sum": per.sum()}
    _check(F.kl_div(logq, p.astype(np.float32), reduction=reduction), ref[reduction])
    _check(F.kl_div(logq, np.log(p).astype(np.float32), reduction=reduction, log_target=True),
           ref[reduction])


def test_kl_div_gradient(rng):
    logq = np.log(rng.dirichlet(np.ones(4), 2)).astype(np.float32)
    p = rng.dirichlet(np.ones(4), 2).astype(np.float32)
    check_grad(lambda a, b: F.kl_div(a, b, reduction="batchmean"), [logq, p], wrt=(0, 1))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_embedding_losses(rng, reduction):
    x1 = rng.standard_normal((4, 3)).astype(np.float32)
    x2 = rng.standard_normal((4, 3)).astype(np.float32)
    x3 = rng.standard_normal((4, 3)).astype(np.float32)
    a, b, c = (v.astype(np.float64) for v in (x1, x2, x3))
    y = np.array([1, -1, 1, -1], np.float32)
    cos = (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))
    cel = np.where(y == 1, 1 - cos, np.maximum(0, cos - 0.1))
    _check(F.cosine_embedding_loss(x1, x2, y, margin=0.1, reduction=reduction),
           _reduce(cel, reduction))
    s1, s2 = x1[:, 0], x2[:, 0]
    mr = np.maximum(0, -y * (s1.astype(np.float64) - s2) + 0.2)
    _check(F.margin_ranking_loss(s1, s2, y, margin=0.2, reduction=reduction),
           _reduce(mr, reduction))
    dp = (np.abs(a - b + 1e-6) ** 3).sum(1) ** (1 / 3)
    dn = (np.abs(a - c + 1e-6) ** 3).sum(1) ** (1 / 3)
    tm = np.maximum(0, dp - dn + 0.5)
    _check(F.triplet_margin_loss(x1, x2, x3, margin=0.5, p=3, reduction=reduction),
           _reduce(tm, reduction))
    lab = np.array([1, 0, 0, 1], np.float32)
    dist = np.sqrt(((a - b) ** 2).sum(1))
    con = 0.5 * (lab * dist ** 2 + (1 - lab) * np.maximum(0, 2.5 - dist) ** 2)
    _check(F.contrastive_loss(x1, x2, lab, margin=2.5, reduction=reduction),
           _reduce(con, reduction))


def test_embedding_loss_gradients(rng):
    x1 = rng.standard_normal((3, 4)).astype(np.float32)
    x2 = rng.standard_normal((3, 4)).astype(np.float32)
    x3 = rng.standard_normal((3, 4)).astype(np.float32)
    y = np.array([1, -1, 1], np.float32)
    check_grad(lambda a, b: F.cosine_embedding_loss(a, b, y, margin=-0.5), [x1, x2], wrt=(0, 1))
    check_grad(lambda a, b: F.margin_ranking_loss(a, b, y, margin=1.0),
               [x1[:, 0].copy(), x2[:, 0].copy()], wrt=(0, 1))
    check_grad(lambda a, b, c: F.triplet_margin_loss(a, b, c, margin=5.0), [x1, x2, x3],
               wrt=(0, 1, 2))
    lab = np.array([1, 0, 1], np.float32)
    check_grad(lambda a, b: F.contrastive_loss(a, b, lab, margin=10.0), [x1, x2], wrt=(0, 1))


def test_loss_errors(ab):
    a, b = ab
    with pytest.raises(grilly.ShapeError, match=r"\[3, 4\]|3, 4"):
        F.mse_loss(a, b[:2])
    with pytest.raises(grilly.DTypeError):
        F.l1_loss(grilly.tensor(a), grilly.tensor(b, dtype=grilly.float16))
    with pytest.raises(grilly.InvalidArgumentError):
        F.smooth_l1_loss(a, b, beta=-1.0)
    with pytest.raises(grilly.InvalidArgumentError):
        F.huber_loss(a, b, delta=0.0)
    with pytest.raises(grilly.InvalidArgumentError):
        F.kl_div(a, b, reduction="avg")
    with pytest.raises(grilly.InvalidArgumentError):
        F.cross_entropy(a, np.array([0, 1, 2]), label_smoothing=2.0)
    with pytest.raises(grilly.InvalidArgumentError):
        F.triplet_margin_loss(a, b, b, swap=True)
    with pytest.raises(grilly.InvalidArgumentError):
        F.triplet_margin_loss(a, b, b, p=0.0)


def _weighted_ce_ref(logits, target, w, ignore_index, ls, reduction):
    """PyTorch's class-weighted cross entropy over class indices, in float64."""
    d = logits.astype(np.float64)
    logp = d - np.log(np.exp(d).sum(1, keepdims=True))
    n, c = logp.shape
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    wt = w[safe] * valid
    nll = -logp[np.arange(n), safe] * wt
    smooth = -(logp * w).sum(1) * valid
    per = (1 - ls) * nll + ls / c * smooth
    return {"none": per, "sum": per.sum(), "mean": per.sum() / wt.sum()}[reduction]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_class_weights(rng, reduction, ls):
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    w = np.array([0.5, 2.0, 1.0, 3.0], np.float32)
    t = np.array([1, 3, -100, 0, 1])
    _check(F.cross_entropy(logits, t, weight=w, reduction=reduction, label_smoothing=ls),
           _weighted_ce_ref(logits, t, w.astype(np.float64), -100, ls, reduction))
    d = logits.astype(np.float64)
    logp = (d - np.log(np.exp(d).sum(1, keepdims=True))).astype(np.float32)
    _check(F.nll_loss(logp, t, weight=w, reduction=reduction),
           _weighted_ce_ref(logits, t, w.astype(np.float64), -100, 0.0, reduction))
    probs = rng.dirichlet(np.ones(4), 5)
    q = probs * (1 - ls) + ls / 4
    per = -(q * w * (d - np.log(np.exp(d).sum(1, keepdims=True)))).sum(1)
    ref = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    _check(F.cross_entropy(logits, probs.astype(np.float32), weight=w, reduction=reduction,
                           label_smoothing=ls), ref)


def test_class_weight_gradient_and_errors(rng):
    logits = rng.standard_normal((3, 4)).astype(np.float32)
    w = np.array([1.0, 0.5, 2.0, 1.5], np.float32)
    t = np.array([2, -100, 3])
    check_grad(lambda x: F.cross_entropy(x, t, weight=w, label_smoothing=0.1), [logits],
               wrt=(0,))
    with pytest.raises(grilly.ShapeError, match="weight"):
        F.cross_entropy(logits, t, weight=np.ones(3, np.float32))
    with pytest.raises(grilly.DTypeError):
        F.nll_loss(logits, logits, weight=w)
