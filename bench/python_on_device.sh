#!/usr/bin/env bash
# Runs bench/bench_python.py on a machine that has gcc and Python headers but no SWIG (the GPU
# benchmark machine): compiles the SWIG wrapper generated on the development machine for this
# machine's Python, assembles the grilly package next to the carried libgrilly and runs the
# benchmark. Usage: bench/python_on_device.sh SWIG_DIR BUILD OUT
#   SWIG_DIR  holds grillyPYTHON_wrap.c and _grilly.py (from the Python build's swig/ folder)
#   BUILD     the CMake build folder holding libgrilly.so.0
#   OUT       where python.json goes; OUT/grilly.json (grilly_bench --json) gives the C ratio
set -euo pipefail
swig_dir=$1 build=$2 out=$3
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
cp -r "$root/bindings/python/grilly" "$stage/grilly"
cp "$swig_dir/_grilly.py" "$stage/grilly/_grilly.py"
cp -L "$build/libgrilly.so.0" "$stage/grilly/libgrilly.so.0"
py=${PYTHON:-python3}
inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
if [ ! -f "$inc/Python.h" ]; then
  echo "python_on_device: no Python.h under $inc; cannot build the extension here" >&2
  exit 3
fi
cc -O2 -shared -fPIC -w -I"$inc" -I"$root/include" "$swig_dir/grillyPYTHON_wrap.c" \
  -o "$stage/grilly/__grilly$suffix" "$stage/grilly/libgrilly.so.0" -Wl,-rpath,'$ORIGIN'
c_json=()
[ -f "$out/grilly.json" ] && c_json=(--c-json "$out/grilly.json")
PYTHONPATH="$stage" "$py" "$root/bench/bench_python.py" --json "$out/python.json" "${c_json[@]}"
