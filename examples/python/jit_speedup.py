#!/usr/bin/env python3
"""jit_speedup.py: the same MLP training step (forward, cross-entropy, backward, Adam) run eagerly
and replayed from a graph traced with @grilly.jit; prints the time per step of each and the
speed-up, and checks that both models trained to the same weights.

Usage: jit_speedup.py [--steps N] [--batch B] [--hidden H]
"""
import argparse
import sys
import time

import numpy as np

import grilly
import grilly.functional as F
from grilly import nn, optim


def make(hidden):
    grilly.manual_seed(0)  # both models start from the same weights
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                          nn.Linear(hidden, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, step


def time_steps(step, xs, ys):
    dev = grilly.default_device()
    dev.synchronize()
    t0 = time.perf_counter()
    for x, y in zip(xs, ys):
        loss = step(x, y)
    loss.item()  # waits for the last step
    return (time.perf_counter() - t0) / len(xs), loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.steps + 5
    xs = [grilly.tensor(rng.standard_normal((args.batch, 64)).astype(np.float32)) for _ in range(n)]
    ys = [grilly.tensor(rng.integers(0, 10, args.batch)) for _ in range(n)]

    eager_model, eager_step = make(args.hidden)
    jit_model, plain_step = make(args.hidden)
    jit_step = grilly.jit(plain_step)
    # Warm-up (pipelines, pool, the trace itself) on the first batches, identically for both.
    time_steps(eager_step, xs[:5], ys[:5])
    time_steps(jit_step, xs[:5], ys[:5])
    eager_s, eager_loss = time_steps(eager_step, xs[5:], ys[5:])
    jit_s, jit_loss = time_steps(jit_step, xs[5:], ys[5:])

    dev = grilly.default_device()
    print(f"MLP 64-{args.hidden}-{args.hidden}-10, batch {args.batch}, {args.steps} steps on {dev.name}")
    print(f"traced step: {jit_step.graph.op_count} ops in one graph")
    print(f"eager:    {eager_s * 1e3:8.3f} ms/step")
    print(f"replayed: {jit_s * 1e3:8.3f} ms/step")
    print(f"speed-up: {eager_s / jit_s:.2f}x (eager time / replayed time)")
    diff = max(float(np.abs(a.numpy() - b.numpy()).max())
               for a, b in zip(eager_model.parameters(), jit_model.parameters()))
    print(f"final loss eager {eager_loss.item():.6f}, replayed {jit_loss.item():.6f}; "
          f"largest weight difference {diff:.2e}")
    if diff > 1e-5:
        print("FAILED: the replayed training diverged from the eager one", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
