#!/usr/bin/env bash
# Rust binding suite: builds libgrilly (or reuses ./build, or the folder in GRILLY_BUILD_DIR),
# checks the committed FFI declarations against include/grilly.h, runs `cargo test` for the
# bindings/rust workspace with the Vulkan validation layer on, and trains the digits MLP from Rust
# (examples/rust, replaying a captured graph; it fails below 96% test accuracy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

build=${GRILLY_BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  echo "== configuring libgrilly in $build"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGRILLY_BUILD_TESTS=OFF \
    -DGRILLY_BUILD_BENCH=OFF -DGRILLY_BUILD_EXAMPLES=OFF >/dev/null
fi
echo "== building libgrilly ($build)"
cmake --build "$build" --target grilly -j "$(nproc)"

export GRILLY_BUILD_DIR="$build"
export LD_LIBRARY_PATH="$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GRILLY_VALIDATION=1 GRILLY_QUIET=1
export CARGO_TERM_COLOR=never

if command -v python3 >/dev/null; then
  echo "== grilly-sys: committed declarations are up to date"
  python3 bindings/rust/grilly-sys/generate.py --check
fi

echo "== cargo test (bindings/rust workspace)"
cargo test --manifest-path bindings/rust/Cargo.toml --workspace --locked --features grilly/ndarray

echo "== examples/rust: train_digits --graph"
cargo run --manifest-path bindings/rust/Cargo.toml --locked -q -p grilly-examples --bin train_digits -- \
  --graph --quiet --data "$root/examples/data/digits.u8"
echo "rust suite passed"
