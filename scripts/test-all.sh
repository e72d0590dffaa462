#!/usr/bin/env bash
# One command from a fresh Debian machine to every test suite: installs the system packages,
# builds grilly with its tests, and runs the C suite (GoogleTest over the C ABI with the Vulkan
# validation layer on, the header and export checks, spirv-val, the examples) on the default
# device, then the binding suites that exist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/install-deps.sh
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
echo "== C suite (ctest)"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 600)
for suite in scripts/test-python.sh scripts/test-rust.sh scripts/test-julia.sh; do
  if [ -x "$suite" ]; then
    echo "== $suite"
    "$suite"
  fi
done
echo "all test suites passed"
