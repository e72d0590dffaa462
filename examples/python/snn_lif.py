#!/usr/bin/env python3
"""snn_lif.py: leaky integrate-and-fire neurons from Python. The f-I curve of a population on the
device (grilly.SNNCompute over grl_snn) checked spike for spike against a numpy simulation of the
same Euler rule and compared with the continuous-time rate, then a spiking layer (LIFNode with a
surrogate gradient) trained a few steps to fire at target rates."""
import argparse
import math

import numpy as np

import grilly
import grilly.functional as F
from grilly import nn, optim, snn

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--steps", type=int, default=1000, help="simulation steps (dt = 0.1 ms)")
ap.add_argument("--neurons", type=int, default=64)
ap.add_argument("--train-steps", type=int, default=60)
args = ap.parse_args()

dt, tau_mem, t_ref, v_th = 0.1, 10.0, 2.0, 1.0              # ms, ms, ms, threshold units
currents = np.linspace(0.5, 4.0, args.neurons).astype(np.float32)

# 1. The simulator: one grl_snn_process per step, spikes counted on the host.
sim = grilly.SNNCompute(args.neurons, dt=dt, tau_mem=tau_mem, v_thresh=v_th, t_ref=t_ref)
counts = np.zeros(args.neurons)
for _ in range(args.steps):
    counts += sim.process(currents)

# The same rule in numpy (float64): v += dt (-v + I) / tau; spike at v >= v_th; refractory t_ref.
v, r, ref_counts = np.zeros(args.neurons), np.zeros(args.neurons), np.zeros(args.neurons)
for _ in range(args.steps):
    refr = r > 0
    v_new = v + dt * (-v + currents) / tau_mem
    s = ~refr & (v_new >= v_th)
    v = np.where(refr | s, 0.0, v_new)
    r = np.where(refr, np.maximum(r - dt, 0.0), np.where(s, t_ref, r))
    ref_counts += s
mismatch = int(np.abs(counts - ref_counts).max())
duration_s = args.steps * dt / 1000.0
print(f"f-I curve of {args.neurons} LIF neurons over {args.steps * dt:.0f} ms: "
      f"max spike-count difference against numpy {mismatch}")
for i in (0, args.neurons // 2, args.neurons - 1):
    I = float(currents[i])
    analytic = 0.0 if I <= v_th else 1000.0 / (t_ref + tau_mem * math.log(I / (I - v_th)))
    print(f"  I = {I:.2f}: {counts[i] / duration_s:7.1f} Hz on the device, "
          f"{analytic:7.1f} Hz in continuous time")
assert mismatch <= 2, "the device simulation diverged from the numpy reference"

# 2. A spiking layer trained with a surrogate gradient: 20 inputs -> 8 LIF neurons over 16 steps,
#    pushed towards per-neuron target rates.
grilly.manual_seed(0)
rng = np.random.default_rng(0)
T, n_in, n_out = 16, 20, 8
fc, lif = nn.Linear(n_in, n_out), snn.LIFNode(tau=2.0, surrogate="atan", step_mode="m")
opt = optim.Adam(fc.parameters(), lr=0.05)
x = (rng.uniform(size=(T, 4, n_in)) < 0.3).astype(np.float32)
target = np.linspace(0.1, 0.8, n_out).astype(np.float32)
for step in range(args.train_steps):
    lif.reset()
    rates = lif(fc(x)).mean(0).mean(0)                  # firing rate per output neuron
    loss = F.mse_loss(rates, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step == 0:
        first = loss.item()
print(f"spiking layer: rate loss {first:.4f} -> {loss.item():.4f} "
      f"after {args.train_steps} Adam steps")
assert loss.item() < first
print("snn_lif ok")
