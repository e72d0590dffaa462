#!/usr/bin/env bash
# The Python suite: builds and installs the grilly package (libgrilly + the SWIG extension, via
# scikit-build-core) into a venv, then runs pytest on bindings/python/tests against the installed
# package with the Vulkan validation layer on. Needs scripts/install-deps.sh's packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/build/venv-python"
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install -q numpy pytest "scikit-build-core>=0.9"
# The CMake build directory persists under build/, so a second run only rebuilds what changed.
# Ninja with every core; no build isolation (scikit-build-core is installed above). When the C
# build in build/ exists (scripts/test-all.sh makes it first), its libgrilly is brought up to date
# and packaged as is instead of compiling the core a second time.
jobs=$(nproc)
prebuilt=()
if [ -f "$root/build/build.ninja" ]; then
  cmake --build "$root/build" --target grilly -j "$jobs"
  prebuilt=(--config-settings=cmake.define.GRILLY_PREBUILT="$root/build/libgrilly.so.0")
fi
CMAKE_GENERATOR=Ninja CMAKE_BUILD_PARALLEL_LEVEL="$jobs" \
  "$venv/bin/python" -m pip install -q --no-deps --force-reinstall --no-build-isolation \
  --config-settings=build-dir="$root/build/python-ext" "${prebuilt[@]}" ./bindings/python
# Run outside the source tree so that `import grilly` can only find the installed package.
cd "$root/build"
GRILLY_VALIDATION=1 GRILLY_QUIET=1 "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE \
  "$root/bindings/python/tests"
