#!/usr/bin/env python3
"""quickstart.py: grilly from Python in one page: tensors on the default Vulkan device, ops checked
against numpy, autograd, a small model trained a few steps, and the numpy-in, numpy-out facade."""
import numpy as np

import grilly
import grilly.functional as F
from grilly import nn, optim

dev = grilly.default_device()
print(f"grilly {grilly.__version__} on {dev.name} ({dev.type})")

# Tensors live on the device; ops are recorded and run when a result is read (numpy(), item()).
rng = np.random.default_rng(0)
a_np = rng.standard_normal((4, 8)).astype(np.float32)
w_np = rng.standard_normal((3, 8)).astype(np.float32)
a, w = grilly.tensor(a_np), grilly.tensor(w_np)
y = F.softmax(F.linear(a, w), dim=-1)
logits = a_np.astype(np.float64) @ w_np.T.astype(np.float64)
ref = np.exp(logits - logits.max(-1, keepdims=True))
ref /= ref.sum(-1, keepdims=True)
err = np.abs(y.numpy() - ref).max()
print(f"softmax(linear(a, w)) matches numpy: max error {err:.2e}")
assert err < 1e-5

# Autograd: d/dx sum(x^2) = 2x.
x = grilly.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
(x * x).sum().backward()
print("grad of sum(x^2):", x.grad.numpy().tolist())
assert np.allclose(x.grad.numpy(), 2 * np.array([[1, 2], [3, 4]]))

# A model, a loss and an optimizer, as in PyTorch (numpy inputs are accepted).
grilly.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
opt = optim.Adam(model.parameters(), lr=1e-2)
targets = np.array([0, 1, 2, 1], dtype=np.int64)
losses = []
for _ in range(20):
    opt.zero_grad()
    loss = F.cross_entropy(model(a_np), targets)
    loss.backward()
    opt.step()
    losses.append(loss.item())
print(f"cross-entropy over 20 Adam steps: {losses[0]:.4f} -> {losses[-1]:.4f}")
assert losses[-1] < losses[0]

# The original grilly facade: numpy in, numpy out.
gpu = grilly.Compute()
h = gpu.activation_relu(gpu.linear(a_np, w_np, np.zeros(3, np.float32)))
assert np.allclose(h, np.maximum(logits, 0), atol=1e-4)
print(f"grilly.Compute() on {gpu.device_name}: linear + relu -> numpy array {h.shape}")
print("quickstart ok")
