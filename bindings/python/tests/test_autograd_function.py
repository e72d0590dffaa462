"""grilly.autograd.Function over grl_custom_apply: forward and backward in Python, errors raised in
either, grad mode, rule names, and no leaked handles or contexts."""

import gc
import threading

import numpy as np
import pytest

import grilly
from grilly.autograd import Function


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        assert not grilly.is_grad_enabled()     # the core runs forward with grad mode off
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * x * (3.0 * ctx.scale), None


class MulAdd(Function):
    """out = a * b + c; the output is saved too (a cycle a naive save would create)."""

    @staticmethod
    def forward(ctx, a, b, c):
        out = a * b + c
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, _ = ctx.saved_tensors
        return grad * b, grad * a, grad


def test_forward_backward_values(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t = grilly.tensor(x, requires_grad=True)
    y = Cube.apply(t, 2.0)
    assert y.grad_fn == "Cube" and y.requires_grad
    np.testing.assert_allclose(y.numpy(), 2 * x.astype(np.float64) ** 3, rtol=1e-5, atol=1e-6)
    (y * 0.5).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 3 * x.astype(np.float64) ** 2, rtol=1e-5,
                               atol=1e-6)


def test_chain_with_builtin_ops_and_broadcast_inputs(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    c = rng.standard_normal((2, 3)).astype(np.float32)
    ta, tb = grilly.tensor(a, requires_grad=True), grilly.tensor(b, requires_grad=True)
    tc = grilly.tensor(c)                                       # needs no gradient
    out = MulAdd.apply(ta.exp(), tb, tc).tanh().sum()
    out.backward()
    ea = np.exp(a.astype(np.float64))
    z = ea * b + c
    g = 1 - np.tanh(z) ** 2
    np.testing.assert_allclose(ta.grad.numpy(), g * b * ea, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(tb.grad.numpy(), g * ea, rtol=1e-4, atol=1e-6)
    assert tc.grad is None


class Double(Function):
    """Returns its input as it is: the output must be an alias, not the input itself."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad * 2.0


def test_an_input_returned_as_output_stays_a_leaf():
    x = grilly.tensor(np.ones(3, np.float32), requires_grad=True)
    y = Double.apply(x)
    assert x.is_leaf and x.grad_fn is None and y.grad_fn == "Double"
    (y * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0, 6.0])


def test_without_grad_no_node_is_recorded(rng):
    t = grilly.tensor(np.ones(3, np.float32))
    y = Cube.apply(t, 1.0)
    assert y.grad_fn is None and not y.requires_grad
    with grilly.no_grad():
        z = Cube.apply(grilly.tensor(np.ones(3, np.float32), requires_grad=True), 1.0)
    assert z.grad_fn is None


class Broken(Function):
    @staticmethod
    def forward(ctx, x):
        raise ValueError("forward says no")

    @staticmethod
    def backward(ctx, grad):
        return grad


class BadBackward(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("backward says no")


class WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x.sum()

    @staticmethod
    def backward(ctx, grad):
        return grilly.zeros(7)


class ShapeFromCore(Function):
    @staticmethod
    def forward(ctx, x):
        return x @ x                      # a 1-d x of odd length: fine; 2-d [2, 3]: ShapeError


def test_exception_in_forward_becomes_the_call_error():
    t = grilly.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(grilly.InvalidArgumentError, match="forward says no") as e:
        Broken.apply(t)
    assert isinstance(e.value.__cause__, ValueError)
    assert "Broken" in str(e.value)
    with pytest.raises(grilly.ShapeError) as e:      # a grilly error keeps its own status
        ShapeFromCore.apply(grilly.tensor(np.ones((2, 3), np.float32)))
    assert isinstance(e.value.__cause__, grilly.ShapeError)


def test_exception_in_backward_becomes_the_backward_error():
    t = grilly.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(grilly.InvalidArgumentError, match="backward says no") as e:
        BadBackward.apply(t).sum().backward()
    assert isinstance(e.value.__cause__, RuntimeError)
    with pytest.raises(grilly.ShapeError, match="WrongShape"):
        WrongShape.apply(t).backward()
    # The Python error is not left behind for later calls, nor chained to unrelated errors.
    (t * 2.0).sum().backward()
    with pytest.raises(grilly.ShapeError) as e:
        grilly.tensor(np.ones((2, 3), np.float32)) @ grilly.tensor(np.ones((2, 3), np.float32))
    assert e.value.__cause__ is None


def test_threads_use_custom_functions_concurrently(rng):
    errors = []

    def work(seed):
        try:
            r = np.random.default_rng(seed)
            x = r.standard_normal(8).astype(np.float32)
            for _ in range(5):
                t = grilly.tensor(x, requires_grad=True)
                Cube.apply(t, 1.0).sum().backward()
                np.testing.assert_allclose(t.grad.numpy(), 3 * x.astype(np.float64) ** 2,
                                           rtol=1e-5, atol=1e-6)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors


def test_contexts_and_memory_are_released(device):
    gc.collect()
    device.synchronize()
    start = device.memory_stats()["bytes_in_use"]
    gc.disable()  # reference counting alone must free the node, its context and saved tensors
    try:
        for _ in range(20):
            a = grilly.tensor(np.ones((16, 16), np.float32), requires_grad=True)
            out = MulAdd.apply(a, a, a)
            out.sum().backward()
            del a, out
            b = grilly.tensor(np.ones((16, 16), np.float32), requires_grad=True)
            kept = MulAdd.apply(b, b, b)           # never backpropagated
            del b, kept
        device.synchronize()
        assert device.memory_stats()["bytes_in_use"] == start
    finally:
        gc.enable()


def test_grad_mode_and_rule_names():
    assert grilly.autograd.no_grad is grilly.no_grad
    with grilly.autograd.set_grad_enabled(False):
        assert not grilly.is_grad_enabled()
        with grilly.enable_grad():
            assert grilly.autograd.is_grad_enabled()
    assert grilly.is_grad_enabled()
    names = grilly.autograd.rule_names()
    assert len(names) == len(set(names)) > 20
    for op in ("add", "matmul", "cross_entropy"):
        assert any(op in n for n in names), (op, names)
