#!/usr/bin/env bash
# Static checks of the Julia binding (no Julia runtime is installed on our machines): the generated
# LibGrilly.jl matches the header, every .jl file parses, @ccall symbols and argument lists agree
# with libgrilly.so and grilly.h, and every public C function is reachable from Julia.
# Usage: scripts/test-julia.sh   (GRILLY_LIB=path/to/libgrilly.so to use a given build)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

python=${PYTHON:-python3}
lib=${GRILLY_LIB:-}
if [ -z "$lib" ]; then
  for candidate in build/libgrilly.so build-julia/libgrilly.so; do
    if [ -e "$candidate" ]; then lib=$candidate; break; fi
  done
fi
if [ -z "$lib" ]; then
  echo "== building libgrilly.so into build-julia (no tests, benches or examples)"
  cmake -S . -B build-julia -G Ninja -DGRILLY_BUILD_TESTS=OFF -DGRILLY_BUILD_BENCH=OFF \
    -DGRILLY_BUILD_EXAMPLES=OFF >/dev/null || exit 1
  cmake --build build-julia || exit 1
  lib=build-julia/libgrilly.so
fi

# tree-sitter and its Julia grammar, from PyPI, in a venv under build/ (ignored by git).
venv=build/julia-venv
if ! "$venv/bin/python" -c "import tree_sitter, tree_sitter_julia" 2>/dev/null; then
  echo "== installing tree-sitter into $venv"
  mkdir -p build
  "$python" -m venv "$venv" || exit 1
  "$venv/bin/pip" install -q "tree-sitter==0.26.1" "tree-sitter-julia==0.23.1" || exit 1
fi
py="$venv/bin/python"

passed=0
failed=0
failures=()
check() { # check NAME COMMAND...: runs one check, prints its output, counts it
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAILED: $name"
  fi
}
expect_failure() { # expect_failure COMMAND...: succeeds when the command fails (checks the checkers)
  if "$@" >/dev/null 2>&1; then
    echo "the command succeeded, it should have failed: $*"
    return 1
  fi
  echo "ok: failed as it should"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check "LibGrilly.jl is what tools/gen_julia.py generates from grilly.h" \
  "$py" tools/gen_julia.py --check
check "every Julia file parses (tree-sitter-julia, no ERROR or MISSING nodes)" \
  "$py" tools/check_julia.py parse
check "every @ccall symbol is exported by $lib" "$py" tools/check_julia.py exports --lib "$lib"
check "every exported and declared grl_* function has a @ccall wrapper" \
  "$py" tools/check_julia.py wrappers --lib "$lib"
check "@ccall argument counts and types match grilly.h" "$py" tools/check_julia.py arity
check "every grl_*/GRL_* name used in Julia is defined by LibGrilly.jl" "$py" tools/check_julia.py names
check "Grilly.jl calls LibGrilly wrappers with argument counts they take" "$py" tools/check_julia.py calls
check "coverage: every public C function is reachable from Python, Rust and Julia" \
  "$py" tools/check_bindings.py

# The checks themselves must catch what they are for.
sed 's/check(@ccall libgrilly.grl_add(/check(@ccall libgrilly.grl_add(a::grl_tensor, /' \
  bindings/julia/Grilly.jl/src/LibGrilly.jl >"$tmp/LibGrilly.jl"
check "self-test: a hand-edited LibGrilly.jl is reported as stale" \
  expect_failure "$py" tools/gen_julia.py --check --output "$tmp/LibGrilly.jl"
mkdir -p "$tmp/root/include" "$tmp/root/bindings/julia/Grilly.jl/src"
cp include/grilly.h "$tmp/root/include/"
grep -v "grl_tensor_fill_" bindings/julia/Grilly.jl/src/LibGrilly.jl \
  >"$tmp/root/bindings/julia/Grilly.jl/src/LibGrilly.jl"
check "self-test: the coverage check fails on a missing function" \
  expect_failure "$py" tools/check_bindings.py --langs julia --root "$tmp/root"

echo
if [ "$failed" -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
