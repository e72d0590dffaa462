#!/usr/bin/env python3
"""check_bindings.py: every public C function of include/grilly.h must be reachable from each
language binding; lists the gaps and exits 1 when there is one.

A function counts as covered by a language when its name appears as a whole word in that
binding's own sources (the layer users import, which calls the C function by name):
  python  bindings/python/grilly/**/*.py  (calls through the SWIG module: _grilly.grl_add)
  rust    bindings/rust/**/src/**/*.rs outside the *-sys crates (calls sys::grl_add)
  julia   bindings/julia/Grilly.jl/src/**/*.jl (LibGrilly's @ccall wrappers, exported)

Usage: tools/check_bindings.py [--langs python,rust,julia] [--list]
The default checks all three languages; CI passes --langs for the bindings that are complete."""
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grilly_header  # noqa: E402

LANGS = {
    "python": ("bindings/python/grilly", "*.py", lambda p: False),
    "rust": ("bindings/rust", "*.rs",
             lambda p: any(part.endswith("-sys") or part == "target" for part in p.parts)
             or "src" not in p.parts),
    "julia": ("bindings/julia/Grilly.jl/src", "*.jl", lambda p: False),
}
WORD = re.compile(r"\bgrl_\w+\b")


def referenced(root, lang):
    rel, pattern, excluded = LANGS[lang]
    base = root / rel
    names, files = set(), 0
    if base.exists():
        for path in sorted(base.rglob(pattern)):
            if not path.is_file() or excluded(path.relative_to(base)):
                continue
            files += 1
            names |= set(WORD.findall(path.read_text(errors="replace")))
    return names, files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--langs", default=",".join(LANGS),
                    help="comma-separated languages to check (default: %(default)s)")
    ap.add_argument("--list", action="store_true", help="print the public C functions and exit")
    ap.add_argument("--root", type=Path, default=grilly_header.ROOT,
                    help="repository root holding include/grilly.h and bindings/ (default: this one)")
    args = ap.parse_args()
    public = grilly_header.public_functions(args.root / "include" / "grilly.h")
    if args.list:
        print("\n".join(public))
        return 0
    langs = [l.strip() for l in args.langs.split(",") if l.strip()]
    unknown = [l for l in langs if l not in LANGS]
    if unknown or not langs:
        ap.error(f"unknown language(s) {unknown}; choose from {', '.join(LANGS)}")
    gaps = 0
    for lang in langs:
        names, files = referenced(args.root, lang)
        missing = [f for f in public if f not in names]
        gaps += len(missing)
        status = "ok" if not missing else "GAP"
        print(f"{lang}: {len(public) - len(missing)}/{len(public)} public functions covered "
              f"({files} source files) {status}")
        for name in missing:
            print(f"  {lang}: missing {name}")
    if gaps:
        print(f"FAIL: {gaps} function(s) missing across {', '.join(langs)}")
        return 1
    print(f"ok: all {len(public)} public functions are reachable from {', '.join(langs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
