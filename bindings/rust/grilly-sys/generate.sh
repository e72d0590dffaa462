#!/usr/bin/env bash
# Regenerates src/bindings.rs from include/grilly.h (no libclang needed; see generate.py).
set -euo pipefail
cd "$(dirname "$0")"
python3 generate.py "$@"
