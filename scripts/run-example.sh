#!/usr/bin/env bash
# One command from a fresh Debian machine to the main example: installs the system packages,
# builds and installs grilly into build/install, compiles the C examples against the installed
# library with pkg-config, and runs them on the default device (the GPU if there is one, the CPU
# Vulkan driver otherwise): quickstart.c (a forward pass checked against the host), then
# train_digits.c (an MLP trained to over 96% test accuracy on the 8x8 digits, about half a
# minute on the CPU driver).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/install-deps.sh
prefix="$root/build/install"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build build
cmake --install build >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
for ex in quickstart train_digits; do
  cc -std=c99 -O2 -o "build/$ex-installed" "examples/c/$ex.c" $(pkg-config --cflags --libs grilly) \
    -Wl,-rpath,"$prefix/lib" -lm
done
./build/quickstart-installed
./build/train_digits-installed --data examples/data/digits.u8
