"""grilly.nn's ModuleDict, Embedding, RMSNorm, activation and loss modules, to(), state dicts,
nn.init and nn.utils, against numpy references."""

import math

import numpy as np
import pytest

import grilly
import grilly.functional as F
from grilly import nn


def test_module_dict_registers_and_orders():
    d = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ReLU()})
    d["c"] = nn.Linear(3, 1, bias=False)
    assert list(d.keys()) == ["a", "b", "c"] and len(d) == 3 and "b" in d
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias", "c.weight"]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"x": nn.Linear(2, 2)})

    assert [n for n, _ in Net().named_parameters()] == ["heads.x.weight", "heads.x.bias"]
    del d["a"]
    assert list(d) == ["b", "c"]


def test_embedding(rng):
    grilly.manual_seed(0)
    e = nn.Embedding(10, 4)
    assert e.weight.shape == (10, 4) and e.weight.requires_grad
    w = e.weight.numpy()
    assert abs(w.mean()) < 0.6 and 0.5 < w.std() < 1.5
    idx = np.array([[1, 9], [0, 1]])
    np.testing.assert_array_equal(e(idx).numpy(), w[idx])
    e2 = nn.Embedding(vocab_size=7, embedding_dim=3, padding_idx=2)
    assert e2.num_embeddings == 7
    np.testing.assert_array_equal(e2.weight.numpy()[2], 0)
    with pytest.raises(grilly.InvalidArgumentError):
        nn.Embedding(embedding_dim=3)
    with pytest.raises(grilly.InvalidArgumentError):
        nn.Embedding(5, 3, vocab_size=6)
    out = e(np.array([3, 3, 1]))
    out.sum().backward()
    g = np.zeros((10, 4))
    g[3] = 2
    g[1] = 1
    np.testing.assert_allclose(e.weight.grad.numpy(), g)


def test_rmsnorm(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    m = nn.RMSNorm(5, eps=1e-6)
    d = x.astype(np.float64)
    np.testing.assert_allclose(m(x).numpy(), d / np.sqrt((d * d).mean(-1, keepdims=True) + 1e-6),
                               rtol=1e-4, atol=1e-5)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert list(nn.RMSNorm([5], elementwise_affine=False).parameters()) == []


def test_activation_modules_match_functional(rng):
    x = rng.standard_normal((2, 6)).astype(np.float32)
    pairs = [
        (nn.LeakyReLU(0.2), F.leaky_relu(x, 0.2)), (nn.ELU(alpha=0.5), F.elu(x, 0.5)),
        (nn.Softplus(beta=2.0), F.softplus(x, 2.0)), (nn.Mish(), F.mish(x)),
        (nn.Hardswish(), F.hardswish(x)), (nn.Hardsigmoid(), F.hardsigmoid(x)),
        (nn.GCU(), F.gcu(x)), (nn.RoSwish(0.5, 2.0), F.roswish(x, 0.5, 2.0)),
        (nn.SwiGLU(), F.swiglu(x)), (nn.GeGLU(), F.geglu(x)), (nn.ReGLU(), F.reglu(x)),
        (nn.LogSoftmax(dim=1), F.log_softmax(x, 1)), (nn.Flatten(0), grilly.tensor(x.ravel())),
    ]
    d = x.astype(np.float64)
    for m, ref in pairs:
        np.testing.assert_array_equal(m(x).numpy(), ref.numpy())
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(x).numpy(), np.where(d > 0, d, 0.2 * d),
                               rtol=1e-6)
    assert "negative_slope=0.2" in repr(nn.LeakyReLU(0.2))
    t = grilly.tensor(x)
    assert nn.Identity()(t) is t
    with pytest.raises(TypeError):
        nn.ELU(beta=1.0)


def test_loss_modules_match_functional(rng):
    a = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    p = rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
    y = (rng.random((4, 3)) > 0.5).astype(np.float32)
    lab = np.array([1, -1, 1, 1], np.float32)
    c = np.array([0, 2, 1, 1])
    cases = [
        (nn.L1Loss(reduction="sum")(a, b), F.l1_loss(a, b, reduction="sum")),
        (nn.SmoothL1Loss(beta=0.5)(a, b), F.smooth_l1_loss(a, b, beta=0.5)),
        (nn.HuberLoss(delta=2.0)(a, b), F.huber_loss(a, b, delta=2.0)),
        (nn.NLLLoss()(F.log_softmax(a, 1), c), F.nll_loss(F.log_softmax(a, 1), c)),
        (nn.NLLLoss(weight=p[0])(F.log_softmax(a, 1), c),
         F.nll_loss(F.log_softmax(a, 1), c, p[0])),
        (nn.CrossEntropyLoss(weight=p[0], label_smoothing=0.1)(a, c),
         F.cross_entropy(a, c, p[0], label_smoothing=0.1)),
        (nn.BCELoss()(p, y), F.binary_cross_entropy(p, y)),
        (nn.BCEWithLogitsLoss(pos_weight=np.ones(3, np.float32) * 2)(a, y),
         F.binary_cross_entropy_with_logits(a, y, pos_weight=np.ones(3, np.float32) * 2)),
        (nn.KLDivLoss(reduction="batchmean")(F.log_softmax(a, 1), F.softmax(b, 1)),
         F.kl_div(F.log_softmax(a, 1), F.softmax(b, 1), reduction="batchmean")),
        (nn.CosineEmbeddingLoss(0.1)(a, b, lab), F.cosine_embedding_loss(a, b, lab, 0.1)),
        (nn.MarginRankingLoss(0.3)(a[:, 0], b[:, 0], lab),
         F.margin_ranking_loss(a[:, 0], b[:, 0], lab, 0.3)),
        (nn.TripletMarginLoss(margin=0.5)(a, b, p), F.triplet_margin_loss(a, b, p, 0.5)),
        (nn.ContrastiveLoss(2.0)(a, b, (lab > 0).astype(np.float32)),
         F.contrastive_loss(a, b, (lab > 0).astype(np.float32), 2.0)),
    ]
    for got, ref in cases:
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
    d = a.astype(np.float64) - b
    np.testing.assert_allclose(nn.L1Loss()(a, b).item(), np.abs(d).mean(), rtol=1e-5)
    with pytest.raises(grilly.InvalidArgumentError):
        nn.L1Loss(reduction="avg")


def test_to_dtype_and_device_keeps_parameter_objects(rng, device):
    m = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2))
    params = list(m.parameters())
    before = [p.numpy() for p in params]
    m.to(grilly.float16)
    assert [p.dtype for p in m.parameters()] == [grilly.float16] * 4
    assert all(a is b for a, b in zip(params, m.parameters()))
    assert all(p.requires_grad and p.is_leaf for p in params)
    for p, v in zip(params, before):
        np.testing.assert_allclose(p.float().numpy(), v, rtol=1e-3, atol=1e-3)
    m.to(device, dtype=grilly.float32)
    assert params[0].device == device and params[0].dtype is grilly.float32
    x = rng.standard_normal((4, 3)).astype(np.float32)
    m(x).sum().backward()
    assert params[0].grad.shape == (2, 3)


def test_state_dict_upload_and_zero_grad(rng):
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    for (n1, p1), (n2, p2) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p1.numpy(), p2.numpy())
    b.load_state_dict({"weight": a.weight, "bias": np.zeros(3)})    # Tensors and other dtypes
    np.testing.assert_array_equal(b.bias.numpy(), np.zeros(3, np.float32))
    with pytest.raises(grilly.ShapeError):
        b.load_state_dict({"weight": np.zeros((3, 3), np.float32), "bias": np.zeros(3)})
    b(np.ones((1, 4), np.float32)).sum().backward()
    assert b.weight.grad is not None
    b.zero_grad()
    assert b.weight.grad is None and b.bias.grad is None


def _fans(shape):
    r = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * r, shape[0] * r


@pytest.mark.parametrize("shape", [(64, 48), (16, 8, 3, 3)])
def test_init_statistics(shape):
    grilly.manual_seed(1)
    fan_in, fan_out = _fans(shape)
    t = grilly.empty(*shape)
    nn.init.xavier_uniform_(t, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    v = t.numpy()
    assert np.abs(v).max() <= bound * (1 + 1e-6)
    np.testing.assert_allclose(v.std(), bound / math.sqrt(3), rtol=0.1)
    nn.init.xavier_normal_(t)
    np.testing.assert_allclose(t.numpy().std(), math.sqrt(2 / (fan_in + fan_out)), rtol=0.1)
    nn.init.kaiming_uniform_(t, a=0.5, mode="fan_out")
    std = math.sqrt(2 / (1 + 0.25)) / math.sqrt(fan_out)
    assert np.abs(t.numpy()).max() <= std * math.sqrt(3) * (1 + 1e-6)
    np.testing.assert_allclose(t.numpy().std(), std, rtol=0.1)
    nn.init.kaiming_normal_(t, nonlinearity="relu")
    np.testing.assert_allclose(t.numpy().std(), math.sqrt(2 / fan_in), rtol=0.1)
    nn.init.kaiming_normal_(t, nonlinearity="linear")
    np.testing.assert_allclose(t.numpy().std(), math.sqrt(1 / fan_in), rtol=0.1)
    nn.init.uniform_(t, -0.5, 0.25)
    assert t.numpy().min() >= -0.5 and t.numpy().max() < 0.25
    nn.init.normal_(t, 3.0, 0.5)
    np.testing.assert_allclose(t.numpy().mean(), 3.0, atol=0.1)
    nn.init.constant_(t, 0.7)
    np.testing.assert_allclose(t.numpy(), 0.7, rtol=1e-6)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(grilly.InvalidArgumentError):
        nn.init.kaiming_normal_(t, nonlinearity="tanh")
    with pytest.raises(grilly.InvalidArgumentError):
        nn.init.kaiming_normal_(t, mode="fan_avg")
    with pytest.raises(grilly.ShapeError):
        nn.init.xavier_uniform_(grilly.empty(5))


def test_init_is_reproducible_with_manual_seed():
    grilly.manual_seed(42)
    a = nn.init.xavier_uniform_(grilly.empty(4, 4)).numpy()
    grilly.manual_seed(42)
    b = nn.init.xavier_uniform_(grilly.empty(4, 4)).numpy()
    np.testing.assert_array_equal(a, b)


def test_clip_grad_norm_and_value(rng):
    g1 = rng.standard_normal((3, 4)).astype(np.float32)
    g2 = rng.standard_normal(5).astype(np.float32)
    p1, p2, p3 = nn.Parameter(np.zeros((3, 4))), nn.Parameter(np.zeros(5)), nn.Parameter(
        np.zeros(2))
    p1.grad, p2.grad = g1, g2
    total = np.sqrt((g1.astype(np.float64) ** 2).sum() + (g2.astype(np.float64) ** 2).sum())
    norm = nn.utils.clip_grad_norm_([p1, p2, p3], max_norm=1.0)
    assert norm.ndim == 0
    np.testing.assert_allclose(norm.item(), total, rtol=1e-5)
    scale = 1.0 / (total + 1e-6)
    np.testing.assert_allclose(p1.grad.numpy(), g1 * scale, rtol=1e-5, atol=1e-7)
    assert p3.grad is None
    p1.grad, p2.grad = g1, g2
    inf = nn.utils.clip_grad_norm_([p1, p2], 100.0, norm_type=float("inf"))
    np.testing.assert_allclose(inf.item(), max(np.abs(g1).max(), np.abs(g2).max()), rtol=1e-6)
    np.testing.assert_array_equal(p1.grad.numpy(), g1)
    nn.utils.clip_grad_value_([p1, p2], 0.3)
    np.testing.assert_allclose(p1.grad.numpy(), np.clip(g1, -0.3, 0.3))
    with pytest.raises(grilly.InvalidArgumentError):
        nn.utils.clip_grad_norm_([p1], -1.0)
    with pytest.raises(grilly.InvalidArgumentError):
        nn.utils.clip_grad_value_([p1], -1.0)


def test_to_another_device_copies_the_parameters(rng):
    with grilly.Device() as other:       # a second logical device: a real copy through the host
        m = nn.Linear(3, 2)
        w = m.weight.numpy()
        m.to(other)
        assert m.weight.device == other and m.bias.device == other
        np.testing.assert_array_equal(m.weight.numpy(), w)
        x = grilly.tensor(rng.standard_normal((4, 3)).astype(np.float32), device=other)
        m(x).sum().backward()
        np.testing.assert_allclose(m.weight.grad.numpy(), np.tile(x.numpy().sum(0), (2, 1)),
                                   rtol=1e-5)
        with pytest.raises(grilly.DeviceMismatchError):
            m(grilly.tensor(np.ones((1, 3), np.float32)))
        del m, x


def test_init_writes_into_parameters():
    grilly.manual_seed(4)
    m = nn.Linear(4, 3)
    nn.init.uniform_(m.weight, -0.1, 0.1)
    assert np.abs(m.weight.numpy()).max() <= 0.1
    nn.init.ones_(m.bias)
    np.testing.assert_array_equal(m.bias.numpy(), np.ones(3, np.float32))
    nn.init.kaiming_normal_(m.weight)
    nn.init.zeros_(m.bias)
    assert m.weight.is_leaf and m.weight.requires_grad and not m.bias.numpy().any()
    m(np.ones((2, 4), np.float32)).sum().backward()
    np.testing.assert_array_equal(m.bias.grad.numpy(), [2.0, 2.0, 2.0])
    with pytest.raises(TypeError):
        nn.init.zeros_(np.zeros(3))
