"""grilly.snn: the LIF step, neuron nodes (functional and modules), the SNN simulator, synapses,
encoders, decoders and spike-matmul against numpy float64 references; a finite-difference
gradient check of the neuron node; errors for bad input."""

import copy
import math

import numpy as np
import pytest

import grilly
from grilly import _grilly as _C
from grilly import snn
from test_functional_losses import check_grad


def _lif_ref(v, r, i, dt, tau_mem, v_rest=0.0, v_reset=0.0, v_thresh=1.0, r_m=1.0, t_ref=0.0):
    v, r = v.astype(np.float64).copy(), r.astype(np.float64).copy()
    refr = r > 0
    v_new = v + dt * (-(v - v_rest) + r_m * i) / tau_mem
    spike = ~refr & (v_new >= v_thresh)
    v = np.where(refr, v_reset, np.where(spike, v_reset, v_new))
    r = np.where(refr, np.maximum(r - dt, 0), np.where(spike, t_ref, r))
    # Exact spike comparisons need every active neuron clear of the threshold (f32 rounding).
    assert np.all(np.abs(v_new - v_thresh)[~refr] > 1e-5), "test data sits on the threshold"
    return v, r, spike.astype(np.float64)


def test_lif_step_matches_reference(rng):
    n = 50
    v = rng.uniform(0, 0.9, n).astype(np.float32)
    r = np.zeros(n, np.float32)
    tv, tr = grilly.tensor(v), grilly.tensor(r)
    rv, rr = v.astype(np.float64), r.astype(np.float64)
    total = 0
    for step in range(12):
        i = rng.uniform(0, 4.0, n).astype(np.float32)
        s = snn.lif_step_(tv, tr, i, dt=1.0, tau_mem=5.0, t_ref=2.0, v_reset=-0.1)
        rv, rr, rs = _lif_ref(rv, rr, i, 1.0, 5.0, v_reset=-0.1, t_ref=2.0)
        assert s.dtype is grilly.float32 and s.shape == (n,)
        np.testing.assert_array_equal(s.numpy(), rs, err_msg=f"step {step}")
        np.testing.assert_allclose(tv.numpy(), rv, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(tr.numpy(), rr, rtol=1e-6, atol=1e-6)
        total += rs.sum()
    assert total > 0
    # u8 spikes, no refractory tensor, a broadcast [N] current over a [B, N] state.
    vb = grilly.zeros(3, 4)
    s = snn.lif_step_(vb, None, np.full(4, 30.0, np.float32), dt=1.0, tau_mem=10.0,
                      spike_dtype=grilly.uint8)
    assert s.dtype is grilly.uint8
    np.testing.assert_array_equal(s.numpy(), np.ones((3, 4)))


def test_half_precision_state(rng):
    # f16 state and input: state math in f32, one rounding per step; spikes in the state's dtype.
    v0 = rng.uniform(0, 0.5, 16).astype(np.float16)
    i = rng.uniform(0, 3, 16).astype(np.float16)
    v = grilly.tensor(v0)
    assert v.dtype is grilly.float16
    s = snn.lif_step_(v, None, i, dt=1.0, tau_mem=4.0)
    rv, _, rs = _lif_ref(v0, np.zeros(16), i.astype(np.float64), 1.0, 4.0)
    assert s.dtype is grilly.float16
    np.testing.assert_array_equal(s.numpy(), rs)
    np.testing.assert_allclose(v.numpy(), rv, rtol=2e-3, atol=2e-3)
    x = rng.uniform(-0.5, 2.5, (5, 8)).astype(np.float16)
    ref_s, _, _, margin = _node_ref(x.astype(np.float32), "lif", tau=2.0)
    assert margin > 1e-2
    out = snn.spiking_neuron(grilly.tensor(x), kind="lif", tau=2.0)
    assert out.dtype is grilly.float16
    np.testing.assert_array_equal(out.numpy(), ref_s)


def _node_ref(x, kind="lif", tau=2.0, decay_input=True, v_th=1.0, v_reset=0.0, v_rest=0.0,
              tau_w=100.0, a=0.0, b=0.1):
    v = np.full(x.shape[1:], v_rest, np.float64)
    w = np.zeros(x.shape[1:], np.float64)
    k = 1.0 / tau
    spikes, margins = [], []
    for xt in x.astype(np.float64):
        v_prev = v
        if kind == "if":
            h = v + xt
        else:
            drive = xt - w if kind == "alif" else xt
            h = v + k * (drive - (v - v_rest)) if decay_input else v - k * (v - v_rest) + drive
        s = (h >= v_th).astype(np.float64)
        margins.append(np.abs(h - v_th))
        v = h - v_th * s if v_reset is None else h * (1 - s) + v_reset * s
        if kind == "alif":
            w = w + (a * (v_prev - v_rest) - w) / tau_w + b * s
        spikes.append(s)
    return np.stack(spikes), v, w, np.min(margins)


@pytest.mark.parametrize("kind,opts", [
    ("if", {}), ("lif", {"tau": 2.0}), ("lif", {"tau": 3.0, "decay_input": False}),
    ("lif", {"tau": 2.0, "v_reset": None}), ("alif", {"tau": 2.0, "a": 0.2, "b": 0.3,
                                                     "tau_w": 10.0})])
def test_spiking_neuron_matches_reference(rng, kind, opts):
    x = rng.uniform(-0.5, 2.5, (9, 3, 5)).astype(np.float32)
    ref_s, ref_v, ref_w, margin = _node_ref(x, kind, **opts)
    assert margin > 1e-4          # no charge sits on the threshold within f32 rounding
    s, v, w = snn.spiking_neuron(x, kind=kind, return_state=True, **opts)
    assert s.shape == x.shape and s.dtype is grilly.float32
    np.testing.assert_array_equal(s.numpy(), ref_s)
    np.testing.assert_allclose(v.numpy(), ref_v, rtol=1e-5, atol=1e-5)
    if kind == "alif":
        np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-5, atol=1e-5)
    else:
        assert w is None
    np.testing.assert_array_equal(snn.spiking_neuron(x, kind=kind, **opts).numpy(), ref_s)


def test_spiking_neuron_gradient_by_finite_differences(rng):
    # soft_spike makes the forward smooth (spikes g(h - v_th)), so its backward is the exact
    # gradient of what it computes; tau_param (PLIF's w) is checked too.
    x = rng.uniform(0.0, 1.5, (4, 3)).astype(np.float32)
    v0 = rng.uniform(0.0, 0.5, 3).astype(np.float32)
    tp = np.array(0.3, np.float32)
    w = np.linspace(-1, 1, 12).reshape(4, 3).astype(np.float32)

    def fn(xx, vv, pp):
        return snn.spiking_neuron(xx, vv, tau_param=pp, surrogate="sigmoid", alpha=2.0,
                                  soft_spike=True) * w
    check_grad(fn, [x, v0, tp], wrt=(0, 1, 2))


def test_surrogate_gradient_is_the_surrogate_derivative():
    # One step of IF from v = 0: h = x; d spike / dx = g'(x - 1).
    xs = np.array([[0.2, 0.9, 1.0, 1.3, 2.5]], np.float32)
    d = xs[0].astype(np.float64) - 1.0
    refs = {
        "atan": 2.0 / 2 / (1 + (math.pi / 2 * 2.0 * d) ** 2),
        "sigmoid": 4.0 * (1 / (1 + np.exp(-4.0 * d))) * (1 - 1 / (1 + np.exp(-4.0 * d))),
        "fast_sigmoid": 2.0 / (2 * (1 + 2.0 * np.abs(d)) ** 2),
        "triangle": 1.0 * np.maximum(0, 1 - 1.0 * np.abs(d)),
    }
    for name, ref in refs.items():
        x = grilly.tensor(xs, requires_grad=True)
        snn.spiking_neuron(x, kind="if", surrogate=name).sum().backward()
        np.testing.assert_allclose(x.grad.numpy()[0], ref, rtol=1e-5, atol=1e-6, err_msg=name)


def test_node_modules_single_and_multi_step(rng):
    x = rng.uniform(-0.5, 2.5, (6, 2, 4)).astype(np.float32)
    ref_s, ref_v, _, _ = _node_ref(x, "lif", tau=2.0)
    multi = snn.LIFNode(tau=2.0, step_mode="m")
    np.testing.assert_array_equal(multi(x).numpy(), ref_s)
    np.testing.assert_allclose(multi.v.numpy(), ref_v, rtol=1e-5, atol=1e-5)
    single = snn.LIFNode(tau=2.0, surrogate=snn.Sigmoid(alpha=4.0))
    out = [single(x[t]).numpy() for t in range(6)]
    np.testing.assert_array_equal(np.stack(out), ref_s)
    single.reset()
    assert single.v is None
    np.testing.assert_array_equal(single(x[0]).numpy(), ref_s[0])
    ref_if, _, _, _ = _node_ref(x, "if")
    np.testing.assert_array_equal(snn.IFNode(step_mode="m")(x).numpy(), ref_if)
    ref_a, _, ref_w, _ = _node_ref(x, "alif", tau=2.0, tau_w=20.0, a=0.1, b=0.2)
    alif = snn.ALIFNode(tau=2.0, tau_w=20.0, a=0.1, b=0.2, step_mode="m")
    np.testing.assert_array_equal(alif(x).numpy(), ref_a)
    np.testing.assert_allclose(alif.w.numpy(), ref_w, rtol=1e-5, atol=1e-5)


def test_parametric_lif_learns_its_time_constant(rng):
    node = snn.ParametricLIFNode(init_tau=2.0, step_mode="m")
    assert abs(node.tau - 2.0) < 1e-5
    assert [n for n, _ in node.named_parameters()] == ["w_tau"]
    x = rng.uniform(0, 2, (5, 8)).astype(np.float32)
    ref_s, _, _, _ = _node_ref(x, "lif", tau=2.0)
    out = node(x)
    np.testing.assert_array_equal(out.numpy(), ref_s)
    out.sum().backward()
    assert node.w_tau.grad is not None and np.isfinite(node.w_tau.grad.item())


def test_snn_compute_simulator(rng):
    n = 16
    sim = snn.SNNCompute(n, dt=1.0, tau_mem=4.0, v_thresh=1.0, t_ref=2.0)
    v, r = np.zeros(n), np.zeros(n)
    for _ in range(8):
        i = rng.uniform(0, 3, n).astype(np.float32)
        spikes = sim.process(i)
        v, r, s = _lif_ref(v, r, i, 1.0, 4.0, t_ref=2.0)
        assert isinstance(spikes, np.ndarray)
        np.testing.assert_array_equal(spikes, s)
    st = sim.get_state()
    np.testing.assert_allclose(st["membrane"], v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(st["refractory"], r, atol=1e-6)
    sim.reset()
    np.testing.assert_array_equal(sim.get_state()["membrane"], np.zeros(n))
    sim.set_state(np.full(n, 0.95, np.float32))
    np.testing.assert_array_equal(sim.process(np.float32(2.0)), np.ones(n))
    sim.set_state(st)
    np.testing.assert_allclose(sim.get_state()["refractory"], r, atol=1e-6)
    assert sim.run(np.zeros((3, n), np.float32)).shape == (3, n)
    before = sim.get_state()
    twin = copy.copy(sim)                        # a second owner of the same simulator
    sim.close()
    sim.close()
    np.testing.assert_array_equal(twin.get_state()["membrane"], before["membrane"])
    twin.close()
    with pytest.raises(grilly.NullArgumentError):
        sim.process(np.zeros(n, np.float32))


def test_synapses(rng):
    T, n = 7, 5
    s = (rng.uniform(size=(T, n)) < 0.4).astype(np.float32)
    c0 = rng.standard_normal(n).astype(np.float32)
    a = math.exp(-1.0 / 4.0)
    ref, cur = [], c0.astype(np.float64)
    for t in range(T):
        cur = a * cur + 0.5 * s[t]
        ref.append(cur)
    out = snn.synapse_exp(s, c0, dt=1.0, tau_syn=4.0, weight=0.5)
    np.testing.assert_allclose(out.numpy(), np.stack(ref), rtol=1e-5, atol=1e-6)
    state = grilly.tensor(c0)
    for t in range(T):
        snn.synapse_exp_step_(state, s[t], dt=1.0, tau_syn=4.0, weight=0.5)
    np.testing.assert_allclose(state.numpy(), ref[-1], rtol=1e-5, atol=1e-6)
    syn = snn.ExpSynapse(tau_syn=4.0, weight=0.5)
    syn(s[:3])
    from_zero = np.stack(ref)[3:] - np.stack([a ** (t + 1) * c0 for t in range(3, T)])
    np.testing.assert_allclose(syn(s[3:]).numpy(), from_zero, rtol=1e-5, atol=1e-5)
    ramp = np.arange(T * n, dtype=np.float32).reshape(T, n)
    check_grad(lambda x, c: snn.synapse_exp(x, c, 1.0, 4.0, 0.5) * ramp, [s, c0], wrt=(0, 1))


def test_short_term_plasticity():
    U, tau_d, tau_f = 0.5, 200.0, 20.0
    spikes = np.array([1, 0, 0, 1, 1, 0, 1], np.float32)
    u = grilly.full((1,), U)
    x = grilly.ones(1)
    uu, xx = U, 1.0
    for s in spikes:
        r = snn.stp_step_(u, x, [s], U=U, tau_d=tau_d, tau_f=tau_f, dt=1.0)
        xx = 1 - (1 - xx) * math.exp(-1.0 / tau_d)
        uu = U + (uu - U) * math.exp(-1.0 / tau_f)
        rr = 0.0
        if s:
            uu = uu + U * (1 - uu)
            rr = uu * xx
            xx -= rr
        np.testing.assert_allclose(r.numpy(), [rr], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(u.numpy(), [uu], rtol=1e-5)
    np.testing.assert_allclose(x.numpy(), [xx], rtol=1e-5)
    # The sequence form: [T, K] spikes over a [N, K] state give the T steps' efficacies.
    rng = np.random.default_rng(3)
    train = (rng.uniform(size=(9, 4)) < 0.5).astype(np.float32)
    us, xs = grilly.full((2, 4), 0.2), grilly.ones(2, 4)
    ref_u, ref_x, ref_r = np.full((2, 4), 0.2), np.ones((2, 4)), []
    for s in train:
        ref_x = 1 - (1 - ref_x) * math.exp(-1.0 / 30.0)
        ref_u = 0.2 + (ref_u - 0.2) * math.exp(-1.0 / 300.0)
        ref_u = np.where(s > 0, ref_u + 0.2 * (1 - ref_u), ref_u)
        r = np.where(s > 0, ref_u * ref_x, 0.0)
        ref_x = ref_x - r
        ref_r.append(r)
    got = snn.stp_sequence_(us, xs, train, U=0.2, tau_d=30.0, tau_f=300.0)
    assert got.shape == (9, 2, 4)
    np.testing.assert_allclose(got.numpy(), np.stack(ref_r), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(us.numpy(), ref_u, rtol=1e-5)
    np.testing.assert_allclose(xs.numpy(), ref_x, rtol=1e-5)


def test_encoders_and_decoders(rng, device):
    x = np.array([0.0, 0.25, 0.5, 1.0, 1.7, -0.2], np.float32)
    T = 9
    lat = snn.encode_latency(x, T).numpy()
    k = np.floor((T - 1) * (1 - np.clip(x, 0, 1)) + 0.5).astype(int)
    ref = np.zeros((T, x.size))
    ref[k, np.arange(x.size)] = 1
    np.testing.assert_array_equal(lat, ref)
    lg = snn.encode_latency(x, T, mode="log", tau=5.0, theta=0.2).numpy()
    xc = np.clip(x.astype(np.float64), 0, 1)
    ref = np.zeros((T, x.size))
    for j, v in enumerate(xc):
        if v > 0.2:
            kk = int(np.floor(5.0 * np.log(v / (v - 0.2)) + 0.5))
            if kk < T:
                ref[kk, j] = 1
    np.testing.assert_array_equal(lg, ref)

    sig = np.array([[0.0], [0.3], [0.35], [0.0], [-0.5], [-0.45]], np.float32)
    d = snn.encode_delta(sig, 0.25).numpy()
    np.testing.assert_array_equal(d[:, 0], [0, 1, 0, -1, -1, 0])
    d2 = snn.encode_delta(sig, 0.25, two_channels=True, dtype=grilly.uint8).numpy()
    assert d2.shape == (6, 2, 1) and d2.dtype == np.uint8
    np.testing.assert_array_equal(d2[:, 0, 0], [0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(d2[:, 1, 0], [0, 0, 0, 1, 1, 0])

    spikes = (rng.uniform(size=(8, 3, 2)) < 0.5).astype(np.float32)
    np.testing.assert_allclose(snn.decode_rate(spikes).numpy(), spikes.mean(0), rtol=1e-6)
    np.testing.assert_allclose(snn.decode_rate(spikes, window=3).numpy(), spikes[-3:].mean(0),
                               rtol=1e-6)
    np.testing.assert_allclose(snn.decode_rate(spikes.astype(np.uint8)).numpy(), spikes.mean(0),
                               rtol=1e-6)
    wts = np.exp(-(7 - np.arange(8)) / 2.0)
    np.testing.assert_allclose(snn.decode_weighted(spikes, tau=2.0).numpy(),
                               np.tensordot(wts, spikes, 1), rtol=1e-5)
    given = rng.standard_normal(8).astype(np.float32)
    np.testing.assert_allclose(snn.decode_weighted(spikes, given).numpy(),
                               np.tensordot(given.astype(np.float64), spikes, 1), rtol=1e-5,
                               atol=1e-6)

    # Poisson: a constant probability reproduces grl_bernoulli with the same seed and offset.
    p = np.full((4, 5), 0.3, np.float32)
    enc = snn.encode_poisson(p, 6, seed=77, offset=11).numpy()
    bern = grilly._tensor._wrap(_C.grl_bernoulli(device._handle(), (6, 4, 5), 0.3,
                                                 _C.GRL_F32, 77, 11), device).numpy()
    np.testing.assert_array_equal(enc, bern)
    hz = snn.encode_poisson(np.full(20000, 200.0, np.float32), 1, per_step_ms=1.0).numpy()
    assert abs(hz.mean() - 0.2) < 0.015            # 200 Hz for 1 ms steps: p = 0.2


def test_spike_matmul(rng):
    s = (rng.uniform(size=(6, 40)) < 0.2)
    w = rng.standard_normal((40, 7)).astype(np.float32)
    ref = s.astype(np.float64) @ w
    np.testing.assert_allclose(snn.spike_matmul(s.astype(np.uint8), w).numpy(), ref, rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(snn.spike_matmul(s.astype(np.float32), w).numpy(), ref,
                               rtol=1e-5, atol=1e-5)
    check_grad(lambda a, b: snn.spike_matmul(a, b), [s.astype(np.float32), w], wrt=(0, 1))


def test_errors():
    with pytest.raises(TypeError, match="updated in place"):
        snn.lif_step_(np.zeros(3, np.float32), None, np.ones(3, np.float32))
    v = grilly.zeros(4)
    with pytest.raises(grilly.ShapeError):
        snn.lif_step_(v, None, np.ones(5, np.float32))
    with pytest.raises(grilly.InvalidArgumentError, match="t_ref"):
        snn.lif_step_(v, None, np.ones(4, np.float32), t_ref=1.0)
    with pytest.raises(grilly.InvalidArgumentError, match="tau_mem"):
        snn.lif_step_(v, None, np.ones(4, np.float32), tau_mem=0.0)
    with pytest.raises(grilly.InvalidArgumentError, match="surrogate"):
        snn.spiking_neuron(np.zeros((2, 3), np.float32), surrogate="nope")
    with pytest.raises(grilly.InvalidArgumentError, match="tau"):
        snn.spiking_neuron(np.zeros((2, 3), np.float32), tau=-1.0)
    with pytest.raises(grilly.ShapeError):
        snn.spiking_neuron(np.zeros((2, 3), np.float32), np.zeros(4, np.float32))
    with pytest.raises(grilly.InvalidArgumentError, match="step_mode"):
        snn.LIFNode(step_mode="x")
    node = snn.LIFNode()
    node(np.zeros(3, np.float32))
    with pytest.raises(grilly.ShapeError, match="reset"):
        node(np.zeros(4, np.float32))
    with pytest.raises(grilly.InvalidArgumentError):
        snn.encode_latency(np.zeros(3, np.float32), 0)
    with pytest.raises(grilly.InvalidArgumentError, match="mode"):
        snn.encode_latency(np.zeros(3, np.float32), 4, mode="exp")
    with pytest.raises(grilly.ShapeError):
        snn.spike_matmul(np.zeros((2, 3), np.uint8), np.zeros((4, 2), np.float32))
