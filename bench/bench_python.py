#!/usr/bin/env python3
"""bench_python.py: the Python binding's overhead per small op call, in bench_ops.c's JSON format.

Measures, on the default device (median host time per call over 10,000 calls, after a warm-up
round, like grilly_bench's tiny_op_record_cpu):
  python_relu16_call        F.relu on a 16-float tensor through grilly.functional (the result's
                            handle released, as the C loop releases its previous tensor)
  python_relu16_swig        the same op through the raw SWIG call (_grilly.grl_relu +
                            grl_tensor_release): the floor of any Python wrapper
  python_tiny_op_record_cpu t = t + 1.0 on 16 floats (grl_add_scalar), the C tiny op's workload
  python_tiny_op_latency    10,000 such dependent adds issued then synchronized, per op
  torch_relu16_call         torch.relu on 16 floats (CUDA when available, else CPU), when PyTorch
                            is installed: PyTorch eager's per-op host cost on the same machine
and prints each against its reference as a ratio: eager over raw SWIG, and, with --c-json (the
JSON of `grilly_bench --only tiny_op`), over the C tiny op's record cost; against PyTorch when
it is importable.

Usage: bench_python.py [--json FILE] [--c-json GRILLY_JSON] [--calls N]
"""
import argparse
import json
import statistics
import sys
import time

import grilly
import grilly.functional as F
from grilly import _grilly as _C


def median_us(fn, calls):
    """Median host time of fn() in microseconds, over `calls` calls after a warm-up round."""
    samples = [0.0] * calls
    clock = time.perf_counter_ns
    for rnd in range(2):
        for i in range(calls):
            a = clock()
            fn()
            samples[i] = clock() - a
    return statistics.median(samples) / 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results to this file (bench_ops.c's format)")
    ap.add_argument("--c-json", help="grilly_bench --json output holding tiny_op_record_cpu")
    ap.add_argument("--calls", type=int, default=10000)
    args = ap.parse_args()
    dev = grilly.default_device()
    n = args.calls
    results = {}

    def record(name, us, what):
        results[name] = {"ms": us / 1e3, "rate": us, "unit": "us/op"}
        print(f"{name:28s} {us:8.3f} us/op  {what}")

    x = grilly.zeros(16)
    h = x._h
    relu, release = _C.grl_relu, _C.grl_tensor_release
    record("python_relu16_call", median_us(lambda: F.relu(x), n), "F.relu(t), t of 16 floats")
    record("python_relu16_swig", median_us(lambda: release(relu(h)), n),
           "_grilly.grl_relu + grl_tensor_release")

    state = {"t": grilly.zeros(16)}

    def add_one():
        state["t"] = state["t"] + 1.0
    record("python_tiny_op_record_cpu", median_us(add_one, n), "t = t + 1.0 (grl_add_scalar)")
    expect = float(state["t"].numpy()[0])
    dev.synchronize()
    t = state["t"]
    t0 = time.perf_counter()
    for _ in range(n):
        t = t + 1.0
    dev.synchronize()
    record("python_tiny_op_latency", (time.perf_counter() - t0) * 1e6 / n,
           f"{n} dependent adds, then synchronize")
    got = t.numpy()
    if (got != expect + n).any():
        sys.exit(f"tiny op chain computed {got[0]}, expected {expect + n}")

    torch_us = None
    try:
        import torch
    except ImportError:
        print("torch_relu16_call: PyTorch is not installed; no PyTorch comparison")
    else:
        tdev = "cuda" if torch.cuda.is_available() else "cpu"
        tt = torch.zeros(16, device=tdev)
        torch_us = median_us(lambda: torch.relu(tt), n)
        if tdev == "cuda":
            torch.cuda.synchronize()
        record("torch_relu16_call", torch_us, f"torch.relu on 16 floats ({tdev}, torch "
               f"{torch.__version__})")

    eager, swig = results["python_relu16_call"]["rate"], results["python_relu16_swig"]["rate"]
    print(f"F.relu over the raw SWIG call: {eager / swig:.2f}x")
    if args.c_json:
        c = json.load(open(args.c_json))["results"].get("tiny_op_record_cpu")
        if c:
            print(f"F.relu over the C tiny op's record cost ({c['rate']:.3f} us): "
                  f"{eager / c['rate']:.2f}x (target: at most 3x)")
            print(f"t + 1.0 over the same C op: "
                  f"{results['python_tiny_op_record_cpu']['rate'] / c['rate']:.2f}x")
    if torch_us:
        print(f"F.relu over PyTorch eager's torch.relu: {eager / torch_us:.2f}x (target: below 1)")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": dev.name, "grilly": grilly.__version__, "results": results}, f,
                      indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
