"""grilly.learning: Hebbian, Oja, Sanger, pair and triplet STDP, Fisher information, EWC, natural
gradient, NLMS (single and ensembles) and whitening against numpy float64 references; a
finite-difference gradient check of the EWC penalty; errors for bad input."""

import math

import numpy as np
import pytest

import grilly
from grilly import learning as L
from test_functional_losses import check_grad


@pytest.fixture
def wxy(rng):
    w = rng.standard_normal((4, 6)).astype(np.float32) * 0.3
    x = rng.standard_normal((5, 6)).astype(np.float32)
    y = rng.standard_normal((5, 4)).astype(np.float32)
    return w, x, y


def test_hebbian_oja_sanger(wxy):
    w, x, y = wxy
    wd, xd, yd = (a.astype(np.float64) for a in (w, x, y))
    t = grilly.tensor(w)
    assert L.hebbian_update_(t, x, y, eta=0.1, decay=0.05) is t
    np.testing.assert_allclose(t.numpy(), wd + 0.1 * (yd.T @ xd) / 5 - 0.05 * wd, rtol=1e-5,
                               atol=1e-6)
    t = grilly.tensor(w)
    L.hebbian_update_(t, x[0], eta=0.1)                      # y = W x, one sample
    np.testing.assert_allclose(t.numpy(), wd + 0.1 * np.outer(wd @ xd[0], xd[0]), rtol=1e-5,
                               atol=1e-6)
    t = grilly.tensor(w)
    L.oja_update_(t, x, y, eta=0.1)
    ref = wd + 0.1 * ((yd.T @ xd) / 5 - (yd ** 2).mean(0)[:, None] * wd)
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-5, atol=1e-6)
    t = grilly.tensor(w)
    L.sanger_update_(t, x, eta=0.05)
    yy = xd @ wd.T
    ref = wd + 0.05 * sum(np.outer(yb, xb) - np.tril(np.outer(yb, yb)) @ wd
                          for yb, xb in zip(yy, xd)) / 5
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-5, atol=1e-6)


def _stdp_ref(w, pre, post, x1, y1, x2, y2, dt=1.0, tau_plus=20.0, tau_minus=20.0, a_plus=0.01,
              a_minus=0.0105, bound="hard", w_min=0.0, w_max=1.0, triplet=False, tau_x=101.0,
              tau_y=125.0, a3_plus=6.2e-3, a3_minus=2.3e-4, nearest=False):
    x1 = x1 * math.exp(-dt / tau_plus)
    y1 = y1 * math.exp(-dt / tau_minus)
    x2 = x2 * math.exp(-dt / tau_x)
    y2 = y2 * math.exp(-dt / tau_y)
    sp, so = (pre != 0).astype(np.float64), (post != 0).astype(np.float64)
    ap = a_plus + (a3_plus * y2 if triplet else 0)
    am = a_minus + (a3_minus * x2 if triplet else 0)
    ltp = np.einsum("bi,bj->ij", so * ap, x1) / len(pre)
    ltd = np.einsum("bi,bj->ij", y1, sp * am) / len(pre)
    if bound == "none":
        w = w + ltp - ltd
    elif bound == "hard":
        w = np.clip(w + ltp - ltd, w_min, w_max)
    else:
        w = w + (w_max - w) * ltp - (w - w_min) * ltd
    if nearest:
        x1, y1 = np.where(sp > 0, 1.0, x1), np.where(so > 0, 1.0, y1)
        x2, y2 = np.where(sp > 0, 1.0, x2), np.where(so > 0, 1.0, y2)
    else:
        x1, y1, x2, y2 = x1 + sp, y1 + so, x2 + sp, y2 + so
    return w, x1, y1, x2, y2


def test_stdp_pair_window():
    # A pre spike k steps before a post spike gives a_plus exp(-k dt / tau_plus); the reverse
    # order gives -a_minus exp(-k dt / tau_minus); coincident spikes give nothing.
    for k, sign in ((3, 1), (5, -1), (0, 0)):
        w = grilly.full((1, 1), 0.5)
        stdp = L.STDP(w, bound="none")
        first, second = (np.ones(1, np.float32), np.zeros(1, np.float32))
        for t in range(k + 1):
            pre = first if (t == 0 if sign >= 0 else t == k) else second
            post = first if (t == k if sign >= 0 else t == 0) else second
            stdp.step(pre, post)
        want = {1: 0.01 * math.exp(-k / 20.0), -1: -0.0105 * math.exp(-k / 20.0), 0: 0.0}[sign]
        np.testing.assert_allclose(w.numpy()[0, 0] - 0.5, want, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("opts", [
    {}, {"bound": "soft", "a_plus": 0.05, "a_minus": 0.04}, {"bound": "none", "nearest": True},
    {"triplet": True, "bound": "none", "a_plus": 0.002, "a_minus": 0.003}])
def test_stdp_matches_reference(rng, opts):
    B, n_pre, n_post = 3, 7, 5
    w = rng.uniform(0.2, 0.8, (n_post, n_pre)).astype(np.float32)
    kw = dict(opts)
    nearest = kw.pop("nearest", False)
    stdp = L.STDP(grilly.tensor(w), batch=B,
                  trace_mode="nearest" if nearest else "all_to_all", **kw)
    ref = [w.astype(np.float64), np.zeros((B, n_pre)), np.zeros((B, n_post)),
           np.zeros((B, n_pre)), np.zeros((B, n_post))]
    for _ in range(10):
        pre = (rng.uniform(size=(B, n_pre)) < 0.3).astype(np.float32)
        post = (rng.uniform(size=(B, n_post)) < 0.3).astype(np.float32)
        stdp.step(pre, post)
        ref = list(_stdp_ref(*ref[:1], pre, post, *ref[1:], nearest=nearest, **kw))
    np.testing.assert_allclose(stdp.weight.numpy(), ref[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stdp.pre_trace.numpy(), ref[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stdp.post_trace.numpy(), ref[2], rtol=1e-5, atol=1e-6)
    if kw.get("triplet"):
        np.testing.assert_allclose(stdp.pre_slow.numpy(), ref[3], rtol=1e-5, atol=1e-6)
    stdp.reset()
    assert stdp.pre_trace.numpy().sum() == 0


def test_fisher_ewc_natural_gradient(rng):
    f0 = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    fd, gd = f0.astype(np.float64), g.astype(np.float64)
    f = grilly.tensor(f0)
    L.fisher_info_update_(f, g, decay=0.9)
    np.testing.assert_allclose(f.numpy(), 0.9 * fd + 0.1 * gd ** 2, rtol=1e-5)
    f = grilly.tensor(f0)
    L.fisher_info_update_(f, g, mode="accumulate", scale=0.5)
    np.testing.assert_allclose(f.numpy(), fd + 0.5 * gd ** 2, rtol=1e-5)

    th = rng.standard_normal((3, 4)).astype(np.float32)
    st = rng.standard_normal((3, 4)).astype(np.float32)
    pen = L.ewc_penalty(th, st, f0, 3.0)
    assert pen.shape == ()
    ref = 0.5 * 3.0 * np.sum(fd * (th - st.astype(np.float64)) ** 2)
    np.testing.assert_allclose(pen.item(), ref, rtol=1e-5)
    check_grad(lambda a, b, c: L.ewc_penalty(a, b, c, 3.0), [th, st, f0], wrt=(0, 1, 2))

    t = grilly.tensor(th)
    L.natural_gradient_step_(t, g, f0, lr=0.1, eps=1e-3)
    np.testing.assert_allclose(t.numpy(), th - 0.1 * gd / (fd + 1e-3), rtol=1e-5, atol=1e-6)

    # EWC helper: penalty is zero at the anchors, grows away from them.
    p = grilly.nn.Parameter(th)
    ewc = L.EWC([p], mode="accumulate")
    (p * p).sum().backward()
    ewc.update_fisher()
    np.testing.assert_allclose(ewc.fisher[0].numpy(), (2 * th.astype(np.float64)) ** 2, rtol=1e-5)
    assert ewc.penalty(1.0).item() == 0.0


def test_nlms(rng):
    D, B = 5, 30
    w_true = rng.standard_normal(D)
    x = rng.standard_normal((B, D)).astype(np.float32)
    t = (x @ w_true + 0.3).astype(np.float32)
    f = L.NLMSFilter(D, mu=0.7, mu_decay=0.99, mu_min=0.2)
    errs = f.update(x, t).numpy()
    w, b, mu = np.zeros(D), 0.0, 0.7
    ref = []
    for xn, tn in zip(x.astype(np.float64), t):
        e = tn - (w @ xn + b)
        ref.append(e)
        w = w + mu * e * xn / (xn @ xn + 1e-6)
        b = b + mu * e
        mu = max(mu * 0.99, 0.2)
    np.testing.assert_allclose(errs, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(f.w.numpy(), w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(f.b.numpy(), [b], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(f.mu.numpy(), [mu], rtol=1e-6)
    np.testing.assert_allclose(f.predict(x).numpy(), x @ w + b, rtol=1e-4, atol=1e-4)

    E = 3
    ens = L.NLMSEnsemble(E, D, mu=[0.2, 0.5, 1.0], temperature=0.5)
    errs = ens.update(x, t).numpy()
    W, bb, msq = np.zeros((E, D)), np.zeros(E), np.zeros(E)
    mus = np.array([0.2, 0.5, 1.0])
    ref = []
    for xn, tn in zip(x.astype(np.float64), t):
        e = tn - (W @ xn + bb)
        ref.append(e)
        W = W + (mus * e)[:, None] * xn / (xn @ xn + 1e-6)
        bb = bb + mus * e
        msq = 0.9 * msq + 0.1 * e ** 2
    np.testing.assert_allclose(errs, np.stack(ref), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ens.msq.numpy(), msq, rtol=1e-4, atol=1e-6)
    g = np.exp(-np.sqrt(msq) / 0.5)
    g /= g.sum()
    np.testing.assert_allclose(ens.predict(x[:4]).numpy(), (x[:4] @ W.T + bb) @ g, rtol=1e-4,
                               atol=1e-4)


def test_whitening(rng):
    x = (rng.standard_normal((64, 4)) * [1, 2, 3, 4] + [5, -1, 0, 2]).astype(np.float32)
    xd = x.astype(np.float64)
    rm, rv = grilly.zeros(4), grilly.ones(4)
    y = L.whiten_batch(x, rm, rv, momentum=0.1, eps=1e-5)
    mu, var = xd.mean(0), xd.var(0)
    np.testing.assert_allclose(y.numpy(), (xd - mu) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), 0.1 * mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), 0.9 + 0.1 * xd.var(0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(L.whiten_apply(x, mu, var).numpy(),
                               (xd - mu) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-5)

    mix = np.array([[1, 0.5, 0, 0], [0, 1, 0.3, 0], [0, 0, 1, 0.2], [0.1, 0, 0, 1]])
    z = (rng.standard_normal((200, 4)) @ mix).astype(np.float32)
    zd = z.astype(np.float64)
    mean, W = L.zca_fit(z, eps=1e-5)
    c = np.cov(zd, rowvar=False, bias=True)
    lam, U = np.linalg.eigh(c)
    np.testing.assert_allclose(mean.numpy(), zd.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(W.numpy(), U @ np.diag(1 / np.sqrt(lam + 1e-5)) @ U.T, rtol=1e-3,
                               atol=1e-4)
    white = L.zca_apply(z, mean, W).numpy().astype(np.float64)
    np.testing.assert_allclose(np.cov(white, rowvar=False, bias=True), np.eye(4), atol=1e-3)
    np.testing.assert_allclose(L.zca_from_covariance(c.astype(np.float32)).numpy(), W.numpy(),
                               rtol=1e-4, atol=1e-5)


def test_errors(wxy):
    w, x, y = wxy
    with pytest.raises(TypeError, match="updated in place"):
        L.hebbian_update_(w, x, y)
    with pytest.raises(grilly.ShapeError):
        L.hebbian_update_(grilly.tensor(w), x[:, :5], y)
    with pytest.raises(grilly.InvalidArgumentError):
        L.hebbian_update_(grilly.tensor(w), x, y, eta=-1.0)
    with pytest.raises(grilly.InvalidArgumentError, match="bound"):
        L.stdp_step_(grilly.tensor(w), x[0], y[0], grilly.zeros(6), grilly.zeros(4), bound="x")
    with pytest.raises(grilly.InvalidArgumentError, match="tau_plus"):
        L.stdp_step_(grilly.tensor(w), x[0], y[0], grilly.zeros(6), grilly.zeros(4),
                     tau_plus=0.0)
    with pytest.raises(grilly.GrillyError):       # triplet without the slow traces
        L.stdp_step_(grilly.tensor(w), x[0], y[0], grilly.zeros(6), grilly.zeros(4),
                     triplet=True)
    with pytest.raises(grilly.InvalidArgumentError, match="mode"):
        L.fisher_info_update_(grilly.zeros(3), np.ones(3, np.float32), mode="sum")
    with pytest.raises(grilly.ShapeError):
        L.ewc_penalty(np.zeros(3, np.float32), np.zeros(4, np.float32), np.zeros(3, np.float32))
    with pytest.raises(grilly.InvalidArgumentError):
        L.zca_from_covariance(np.eye(3, dtype=np.float32), iterations=0)
