"""grilly.nn: registration, state_dict, initialisation, layers against numpy, digits training."""

import math
import pathlib
import time

import numpy as np
import pytest

import grilly
import grilly.functional as F
from grilly import nn, optim

DIGITS = pathlib.Path(__file__).resolve().parents[3] / "examples" / "data" / "digits.u8"


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.blocks = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8, bias=False)])
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.note = "not registered"

    def forward(self, x):
        x = self.fc1(x)
        for b in self.blocks:
            x = F.relu(b(x))
        return self.head(x) * self.scale


def test_registration_and_names():
    net = _Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias",
                     "blocks.1.weight", "head.2.weight", "head.2.bias"]
    assert len(list(net.parameters())) == 8
    assert all(p.requires_grad and p.is_leaf for p in net.parameters())
    assert net.blocks[1].bias is None
    assert net.note == "not registered"
    assert isinstance(net.fc1.weight, nn.Parameter) and net.fc1.weight.shape == (8, 4)
    assert len(net.head) == 3 and isinstance(net.head[1], nn.Dropout)


def test_train_eval_and_zero_grad(rng):
    net = _Net()
    assert all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    x = rng.standard_normal((5, 4)).astype(np.float32)
    a, b = net(x).numpy(), net(x).numpy()
    np.testing.assert_array_equal(a, b)   # dropout is off in eval mode
    net.train()
    assert net.head[1].training
    net(x).sum().backward()
    assert net.fc1.weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip(rng):
    grilly.manual_seed(1)
    a = _Net()
    grilly.manual_seed(2)
    b = _Net()
    sd = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    assert list(sd) == [n for n, _ in a.named_parameters()]
    assert not np.array_equal(sd["fc1.weight"], b.fc1.weight.numpy())
    b.load_state_dict(sd)
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    a.eval(), b.eval()
    x = rng.standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    bad = dict(sd)
    del bad["scale"]
    with pytest.raises(KeyError):
        b.load_state_dict(bad)
    bad = dict(sd, scale=np.ones(4, np.float32))
    with pytest.raises(grilly.ShapeError):
        b.load_state_dict(bad)


def test_linear_init_like_pytorch():
    grilly.manual_seed(0)
    lin = nn.Linear(256, 128)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert w.shape == (128, 256) and b.shape == (128,)
    bound = 1 / math.sqrt(256)   # kaiming_uniform(a=sqrt(5)): gain sqrt(1/3), bound gain*sqrt(3/fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.05)
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    grilly.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(256, 128).weight.numpy(), w)
    assert not np.array_equal(nn.Linear(256, 128).weight.numpy(), w)


def test_layers_against_numpy(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    d = x.astype(np.float64)
    lin = nn.Linear(5, 2)
    np.testing.assert_allclose(lin(x).numpy(), d @ lin.weight.numpy().T + lin.bias.numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(nn.ReLU()(x).numpy(), np.maximum(d, 0))
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh(d), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-d)), rtol=1e-5)
    np.testing.assert_allclose(nn.SiLU()(x).numpy(), d / (1 + np.exp(-d)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nn.GELU("tanh")(x).numpy(), F.gelu(x, "tanh").numpy())
    e = np.exp(d - d.max(1, keepdims=True))
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).numpy(), e / e.sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-6)
    ln = nn.LayerNorm(5)
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    ref = (d - d.mean(1, keepdims=True)) / np.sqrt(d.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(x).numpy(), ref, rtol=1e-4, atol=1e-4)
    t = np.array([1, 0, 4])
    np.testing.assert_allclose(nn.CrossEntropyLoss()(x, t).item(),
                               F.cross_entropy(x, t).item(), rtol=1e-6)
    y = rng.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_allclose(nn.MSELoss(reduction="sum")(x, y).item(), ((d - y) ** 2).sum(),
                               rtol=1e-5)
    drop = nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(drop(x).numpy(), x)


def _digits():
    if not DIGITS.exists():
        pytest.skip(f"{DIGITS} is not in this checkout")
    raw = np.frombuffer(DIGITS.read_bytes(), dtype=np.uint8).reshape(1797, 65)
    order = np.random.default_rng(0).permutation(1797)
    x = raw[order, :64].astype(np.float32) / 16.0
    y = raw[order, 64].astype(np.int64)
    return x[:1437], y[:1437], x[1437:], y[1437:]


def test_mlp_trains_on_digits():
    xtr, ytr, xte, yte = _digits()
    grilly.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    batch = 64
    order = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(15):
        perm = order.permutation(len(xtr))
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with grilly.no_grad():
        pred = model(xte).numpy().argmax(1)
    elapsed = time.perf_counter() - start
    acc = (pred == yte).mean()
    assert acc >= 0.90, f"test accuracy {acc:.3f}"
    assert elapsed < 30, f"training took {elapsed:.1f} s"
