#!/usr/bin/env bash
# One command from a fresh Debian machine to the main example: installs the system packages,
# builds and installs grilly into build/install, compiles examples/c/quickstart.c against the
# installed library with pkg-config, and runs it on the default device (the GPU if there is one,
# the CPU Vulkan driver otherwise).
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
cc -std=c99 -O2 -o build/quickstart-installed examples/c/quickstart.c $(pkg-config --cflags --libs grilly) \
  -Wl,-rpath,"$prefix/lib" -lm
./build/quickstart-installed
