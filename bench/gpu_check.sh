#!/usr/bin/env bash
# On the benchmark machine: the C test suite (validation layer on, carried from .gpu/layers when the
# machine has none), then bench/run_gpu.sh. Logs go to $OUT.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
out=${OUT:-$here/bench-out}
build=${BUILD:-build-gpu}
mkdir -p "$out"
[ -d .gpu/layers ] && export VK_LAYER_PATH="$PWD/.gpu/layers"
source .gpu/env.sh  # (it sets its own $here)
GRILLY_VALIDATION=1 GRILLY_QUIET=1 timeout 300 "$build/tests/grilly_tests" --gtest_brief=1 > "$out/tests.txt" 2>&1
echo "tests exit $?"; tail -5 "$out/tests.txt"
BUILD=$build bench/run_gpu.sh "$@"
