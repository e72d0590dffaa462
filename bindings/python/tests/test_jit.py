"""grilly.jit: traced functions replay the captured grl_graph with new data (values against numpy
float64), retrace on new shapes, trace a whole training step equal to eager training, and refuse
what cannot be traced with the core's message."""

import copy
import gc
import warnings

import numpy as np
import pytest

import grilly
import grilly.functional as F
from grilly import nn, optim


def _ref(x, y):
    return np.exp(x.astype(np.float64) * 2 + y).sum(1)


def test_decorator_replays_with_new_data_and_retraces_on_new_shapes(rng):
    calls = []

    @grilly.jit
    def f(x, y):
        calls.append(1)  # Python side effects run at trace time only
        return (x * 2 + y).exp().sum(1)

    for _ in range(3):
        x = rng.standard_normal((4, 5)).astype(np.float32) * 0.3
        y = rng.standard_normal(5).astype(np.float32) * 0.3
        out = f(grilly.tensor(x), grilly.tensor(y))
        np.testing.assert_allclose(out.numpy(), _ref(x, y), rtol=1e-5)
    assert len(calls) == 1 and f.trace_count == 1
    x = rng.standard_normal((2, 3)).astype(np.float32)
    y = rng.standard_normal(3).astype(np.float32)
    np.testing.assert_allclose(f(grilly.tensor(x), grilly.tensor(y)).numpy(), _ref(x, y), rtol=1e-5)
    assert len(calls) == 2 and f.trace_count == 2
    assert f.graph.op_count >= 4
    f.clear()
    assert f.trace_count == 0


def test_arguments_are_not_written_and_numpy_arguments_bind(rng):
    @grilly.jit
    def f(x):
        return x + 1.0

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ta = grilly.tensor(a)
    f(ta)
    b = a * 10
    np.testing.assert_array_equal(f(b).numpy(), b + 1)        # numpy: grl_graph_bind_host
    np.testing.assert_array_equal(f(grilly.tensor(b * 2)).numpy(), b * 2 + 1)
    np.testing.assert_array_equal(ta.numpy(), a)              # the first argument is untouched
    assert f.trace_count == 1                                  # same shape and dtype


def test_constant_arguments_are_part_of_the_key():
    @grilly.jit
    def f(x, scale, *, shift=0.0):
        return x * scale + shift

    x = grilly.tensor([1.0, 2.0])
    np.testing.assert_array_equal(f(x, 2.0).numpy(), [2, 4])
    np.testing.assert_array_equal(f(x, 3.0, shift=1.0).numpy(), [4, 7])
    np.testing.assert_array_equal(f(x, 2.0).numpy(), [2, 4])
    assert f.trace_count == 2
    with pytest.raises(TypeError, match="hashable"):
        f(x, {1.0, 2.0})


def test_outputs_are_graph_storage_unless_copied():
    f = grilly.jit(lambda x: x * 2.0)
    a = f(grilly.tensor([1.0]))
    f(grilly.tensor([5.0]))
    assert a.item() == 10.0            # overwritten by the next replay, as documented
    g = grilly.jit(lambda x: x * 2.0, copy_outputs=True)
    a = g(grilly.tensor([1.0]))
    g(grilly.tensor([5.0]))
    assert a.item() == 2.0


def test_structured_results():
    @grilly.jit
    def f(x):
        return {"sum": x.sum(), "parts": (x * 2.0, x.max(0)), "label": "ok"}

    x = np.array([[1.0, 5.0], [3.0, 2.0]], np.float32)
    f(x)
    r = f(x + 1)
    assert r["label"] == "ok"
    assert r["sum"].item() == pytest.approx(15.0)
    np.testing.assert_array_equal(r["parts"][0].numpy(), (x + 1) * 2)
    np.testing.assert_array_equal(r["parts"][1].values.numpy(), [4, 6])
    np.testing.assert_array_equal(r["parts"][1].indices.numpy(), [1, 0])


def _model():
    grilly.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4))
    return model, optim.Adam(model.parameters(), lr=0.01)


def test_training_step_replay_equals_eager(rng):
    eager, eager_opt = _model()
    traced, traced_opt = _model()

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    jit_step = grilly.jit(lambda x, y: step(traced, traced_opt, x, y))
    for it in range(5):
        x = rng.standard_normal((5, 8)).astype(np.float32)
        y = rng.integers(0, 4, 5)
        le = step(eager, eager_opt, grilly.tensor(x), grilly.tensor(y))
        lj = jit_step(grilly.tensor(x), grilly.tensor(y))
        assert lj.item() == pytest.approx(le.item(), rel=1e-6, abs=1e-7), it
    assert jit_step.trace_count == 1
    for pe, pj in zip(eager.parameters(), traced.parameters()):
        np.testing.assert_allclose(pj.numpy(), pe.numpy(), rtol=1e-6, atol=1e-7)
    assert traced_opt.step_count == 5
    text = jit_step.graph.summary()
    assert "input in0: [5, 8] f32" in text and "input in1: [5] i64" in text
    assert "output out0: [] f32" in text
    jit_step.clear()


def test_host_read_inside_is_refused_and_the_device_recovers():
    @grilly.jit
    def f(x):
        if x.sum().item() > 0:      # Python control flow on a value needs a host read
            return x
        return -x

    with pytest.raises(grilly.InvalidArgumentError, match="cannot read tensor values") as e:
        f(grilly.tensor([1.0, 2.0]))
    assert "capturing" in str(e.value)
    np.testing.assert_array_equal((grilly.tensor([1.0]) + 1).numpy(), [2.0])


def test_random_ops_warn():
    f = grilly.jit(lambda x: F.dropout(x, 0.5))
    with pytest.warns(UserWarning, match="same dropout mask"):
        a = f(grilly.ones(64)).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = f(grilly.ones(64)).numpy()
    np.testing.assert_array_equal(a, b)


def test_tracer_context_and_graph_api():
    x = grilly.zeros(3, 4)
    with grilly.jit.Tracer() as tr:
        y = (x.exp() * 2.0).sum(0)
    g = tr.graph
    g.set_input("x", x)
    g.set_output("y", y)
    assert g.op_count >= 3 and g.input_names == ["x"] and g.output_names == ["y"]
    text = g.summary()
    assert text.startswith("input x: [3, 4] f32\n") and "output y: [4] f32" in text
    assert len(text.strip().splitlines()) == g.op_count + 2
    for rep in range(3):
        data = (np.arange(12, dtype=np.float32).reshape(3, 4) - rep) * 0.1
        g.bind("x", data)
        g.replay()
        np.testing.assert_allclose(g.output("y").numpy(), (2 * np.exp(data.astype(np.float64))).sum(0),
                                   rtol=1e-5)
    with pytest.raises(grilly.ShapeError, match=r"captured with shape \[3, 4\]"):
        g.bind("x", grilly.zeros(2, 2))
    with pytest.raises(grilly.DTypeError, match="dtype f32"):
        g.bind("x", grilly.zeros(3, 4, dtype=grilly.int32))
    with pytest.raises(grilly.InvalidArgumentError, match="no input named 'nope'"):
        g.bind("nope", grilly.zeros(3, 4))
    with pytest.raises(grilly.InvalidArgumentError, match="has: y"):
        g.output("z")
    other = copy.copy(g)                # a second reference (grl_graph_retain)
    g.close()
    other.bind("x", np.zeros((3, 4), np.float32))
    other.replay()
    np.testing.assert_array_equal(other.output("y").numpy(), np.full(4, 6.0))
    other.close()
    with pytest.raises(grilly.InvalidArgumentError, match="closed"):
        g.replay()


def test_tracer_discards_the_capture_on_error():
    x = grilly.ones(4)
    with pytest.raises(grilly.InvalidArgumentError, match="capturing"):
        with grilly.jit.Tracer() as tr:
            (x * 2).numpy()
    assert tr.graph is None
    with grilly.jit.Tracer() as tr:      # the device captures again: the first one was ended
        y = x + 1.0
    tr.graph.close()
    np.testing.assert_array_equal((x + 1.0).numpy(), np.full(4, 2.0))
    del y


def test_trace_module_and_retrace(rng):
    grilly.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    x = rng.standard_normal((3, 6)).astype(np.float32)
    with grilly.no_grad():
        fwd = grilly.jit.trace(model, grilly.tensor(x))
        for n in (3, 3, 7):
            xi = rng.standard_normal((n, 6)).astype(np.float32)
            np.testing.assert_allclose(fwd(grilly.tensor(xi)).numpy(), model(xi).numpy(),
                                       rtol=1e-6, atol=1e-6)
    assert fwd.trace_count == 2


def test_graph_memory_returns(device):
    gc.collect()
    device.synchronize()
    start = device.memory_stats()["bytes_in_use"]
    f = grilly.jit(lambda x: (x @ x).relu().sum())
    for n in (16, 32):
        f(grilly.ones(n, n)).item()
    f.clear()
    del f
    gc.collect()
    device.synchronize()
    assert device.memory_stats()["bytes_in_use"] == start


def test_grad_mode_and_autocast_are_part_of_the_key(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    f = grilly.jit(lambda x, y: x @ y)
    assert f(a, b).dtype is grilly.float32
    with grilly.amp.autocast():
        out = f(a, b)
    assert out.dtype is grilly.float16 and f.trace_count == 2
    ref = a.astype(np.float16).astype(np.float64) @ b.astype(np.float16).astype(np.float64)
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref, rtol=2e-3, atol=2e-3)
    with grilly.no_grad():
        f(a, b)
    assert f.trace_count == 3


def test_nested_jit_functions_inline_into_the_outer_trace():
    inner = grilly.jit(lambda x: x * 3.0)
    outer = grilly.jit(lambda x: inner(x) + 1.0)
    for v in (1.0, 2.0):
        assert outer(grilly.tensor([v])).item() == 3 * v + 1
    assert outer.trace_count == 1 and inner.trace_count == 0
    assert inner(grilly.tensor([2.0])).item() == 6.0 and inner.trace_count == 1
