#!/usr/bin/env bash
# One command from a fresh Debian machine to the main example: installs the system packages,
# builds and installs grilly into build/install, compiles the C quick start against the installed
# library with pkg-config and runs it (a forward pass checked against the host), then builds the
# Python package into a venv (build/venv-python, the one scripts/test-python.sh uses) and runs
# examples/python/train_digits.py: an MLP trained to over 96% test accuracy on the 8x8 digits,
# with a progress bar. Everything runs on the default device (the GPU if there is one, the CPU
# Vulkan driver otherwise).
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
cc -std=c99 -O2 -o build/quickstart-installed examples/c/quickstart.c \
  $(pkg-config --cflags --libs grilly) -Wl,-rpath,"$prefix/lib" -lm
./build/quickstart-installed

# The Python package (the SWIG extension, built by scikit-build-core; the CMake build folder
# persists, so a second run only rebuilds what changed).
venv="$root/build/venv-python"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install -q numpy "scikit-build-core>=0.9"
# It packages the libgrilly built above (GRILLY_PREBUILT) rather than compiling the core again.
CMAKE_GENERATOR=Ninja CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "$venv/bin/python" -m pip install -q --no-deps --force-reinstall --no-build-isolation \
  --config-settings=build-dir="$root/build/python-ext" \
  --config-settings=cmake.define.GRILLY_PREBUILT="$root/build/libgrilly.so.0" ./bindings/python
"$venv/bin/python" examples/python/train_digits.py --data examples/data/digits.u8
