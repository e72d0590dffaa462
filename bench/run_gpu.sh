#!/usr/bin/env bash
# Runs grilly's benchmark and the PyTorch baseline in one run on the benchmark machine and writes
# both JSON files and the comparison table to $OUT (or ./bench-out). Expects a build in $BUILD
# (default build-gpu) made on the development machine, and .gpu/ from shared/gpu/prepare-carry.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
out=${OUT:-$here/bench-out}
build=${BUILD:-build-gpu}
mkdir -p "$out"
source .gpu/env.sh  # sets its own $here
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt" || true
"$build/bench/grilly_bench" --json "$out/grilly.json" "$@" 2>&1 | tee "$out/grilly.txt"
python3 .gpu/torch_baseline.py --json "$out/torch.json" 2>&1 | tee "$out/torch.txt"
python3 bench/compare.py "$out/grilly.json" "$out/torch.json" --markdown "$out/compare.md"
