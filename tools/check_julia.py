#!/usr/bin/env python3
"""check_julia.py: static checks of the Julia binding (no Julia runtime needed).
Usage: tools/check_julia.py CHECK [--lib path/to/libgrilly.so], CHECK one of
  parse     every .jl file under bindings/julia and examples/julia parses with tree-sitter-julia
            (no ERROR or MISSING nodes)
  exports   every symbol a @ccall names is exported by libgrilly.so (nm -D)
  wrappers  every grl_* function exported by libgrilly.so, and every GRL_API function of the
            header, has a @ccall wrapper in LibGrilly.jl
  arity     each @ccall passes as many arguments as the header declares, with the Julia types
            tools/gen_julia.py maps the C types to, and returns the mapped type
  names     every grl_*/GRL_* name the Julia sources use is defined by LibGrilly.jl
  calls     every call of a LibGrilly wrapper from the hand-written files (L.grl_x(...),
            LibGrilly.grl_x(...)) passes as many arguments as one of its generated methods takes
Needs the tree_sitter and tree_sitter_julia packages (scripts/test-julia.sh installs them)."""
import argparse
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_julia  # noqa: E402
import grilly_header  # noqa: E402

ROOT = grilly_header.ROOT
JL_DIRS = [ROOT / "bindings" / "julia", ROOT / "examples" / "julia"]
LIBGRILLY_JL = gen_julia.OUTPUT


def parser():
    import tree_sitter
    import tree_sitter_julia
    lang = tree_sitter.Language(tree_sitter_julia.language())
    return tree_sitter.Parser(lang)


def julia_files():
    return sorted(p for d in JL_DIRS if d.exists() for p in d.rglob("*.jl") if p.is_file())


def walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def text(src, node):
    return src[node.start_byte:node.end_byte].decode()


def ccalls(path):
    """(symbol, [arg type texts], return type text, line) of every `@ccall lib.sym(...)::R`."""
    src = path.read_bytes()
    tree = parser().parse(src)
    found = []
    for n in walk(tree.root_node):
        if n.type != "macrocall_expression":
            continue
        if text(src, n.children[0]) != "@ccall":
            continue
        args = n.child_by_field_name("arguments") or n.children[1]
        typed = [c for c in args.children if c.type == "typed_expression"][0]
        call, ret = typed.children[0], typed.children[-1]
        callee = call.children[0]
        sym = text(src, callee.children[-1]) if callee.type == "field_expression" else text(src, callee)
        arglist = [c for c in call.children if c.type == "argument_list"][0]
        types = []
        for a in arglist.children:
            if a.type in ("(", ")", ","):
                continue
            if a.type != "typed_expression":
                raise SystemExit(f"{path}:{a.start_point[0] + 1}: untyped @ccall argument {text(src, a)}")
            types.append(text(src, a.children[-1]))
        found.append((sym, types, text(src, ret), n.start_point[0] + 1))
    return found


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], check=True, capture_output=True,
                         text=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if len(line.split()) >= 3 and line.split()[1] == "T" and line.split()[-1].startswith("grl_")}


def check_parse(_):
    bad = 0
    p = parser()
    files = julia_files()
    for f in files:
        src = f.read_bytes()
        tree = p.parse(src)
        for n in walk(tree.root_node):
            if n.type == "ERROR" or n.is_error or n.is_missing:
                kind = "MISSING" if n.is_missing else "ERROR"
                print(f"{f.relative_to(ROOT)}:{n.start_point[0] + 1}:{n.start_point[1] + 1}: {kind} node "
                      f"near {text(src, n)[:60]!r}")
                bad += 1
                break
    print(f"parsed {len(files)} Julia files, {bad} with errors")
    return bad == 0 and len(files) > 0


def check_exports(lib):
    syms = exported(lib)
    calls = [c for f in julia_files() for c in ccalls(f)]
    missing = sorted({c[0] for c in calls if c[0] not in syms})
    for m in missing:
        print(f"@ccall names {m}, which {lib.name} does not export")
    print(f"{len(calls)} @ccall sites, {len(set(c[0] for c in calls))} symbols, {len(missing)} not exported")
    return not missing


def check_wrappers(lib):
    wrapped = {c[0] for c in ccalls(LIBGRILLY_JL)}
    syms = exported(lib)
    header = set(grilly_header.public_functions())
    ok = True
    for name in sorted(syms - wrapped):
        print(f"{name} is exported by {lib.name} but has no @ccall wrapper in LibGrilly.jl")
        ok = False
    for name in sorted(header - wrapped):
        print(f"{name} is declared in grilly.h but has no @ccall wrapper in LibGrilly.jl")
        ok = False
    print(f"{len(syms)} exported, {len(header)} declared, {len(wrapped)} wrapped")
    return ok


def check_arity(_):
    funcs = {f.name: f for f in grilly_header.parse().functions}
    ok = True
    n = 0
    for f in julia_files():
        for sym, types, ret, line in ccalls(f):
            n += 1
            where = f"{f.relative_to(ROOT)}:{line}: {sym}"
            if sym not in funcs:
                print(f"{where}: not declared in grilly.h")
                ok = False
                continue
            decl = funcs[sym]
            if len(types) != len(decl.params):
                print(f"{where}: {len(types)} arguments, the header declares {len(decl.params)}")
                ok = False
                continue
            want = [gen_julia.jl_type(p.ctype, arg=True) for p in decl.params]
            for i, (got, exp) in enumerate(zip(types, want)):
                if got != exp:
                    print(f"{where}: argument {i + 1} is {got}, the header's {decl.params[i].ctype} maps to {exp}")
                    ok = False
            if ret != gen_julia.jl_type(decl.ret):
                print(f"{where}: returns {ret}, the header's {decl.ret} maps to {gen_julia.jl_type(decl.ret)}")
                ok = False
    print(f"checked {n} @ccall sites against {len(funcs)} declarations")
    return ok


def check_names(_):
    defined = set(re.findall(r"\b((?:grl|GRL)_\w+)", LIBGRILLY_JL.read_text()))
    ok = True
    used = 0
    for f in julia_files():
        if f == LIBGRILLY_JL:
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for name in re.findall(r"\b((?:grl|GRL)_\w+)", code):
                used += 1
                if name not in defined:
                    print(f"{f.relative_to(ROOT)}:{i}: {name} is not defined by LibGrilly.jl")
                    ok = False
    print(f"checked {used} uses of grl_*/GRL_* names outside LibGrilly.jl")
    return ok


def wrapper_arities():
    """{name: {argument counts of its methods}} from the generated LibGrilly.jl."""
    arities = {}
    for m in re.finditer(r"^(?:function )?(grl_\w+)\(([^)]*)\)", LIBGRILLY_JL.read_text(), flags=re.M):
        n = len([a for a in m.group(2).split(",") if a.strip()])
        arities.setdefault(m.group(1), set()).add(n)
    h = grilly_header.parse()
    for name, _ in h.handles:   # grl_tensor(C_NULL): a handle from a pointer
        arities[name] = {1}
    for name, fields in h.structs:  # the default constructor takes every field
        arities[name] = {len(fields)}
    return arities


def check_calls(_):
    arities = wrapper_arities()
    ok = True
    n = 0
    p = parser()
    for f in julia_files():
        if f == LIBGRILLY_JL:
            continue
        src = f.read_bytes()
        for node in walk(p.parse(src).root_node):
            if node.type != "call_expression" or node.children[0].type != "field_expression":
                continue
            callee = node.children[0]
            module, name = text(src, callee.children[0]), text(src, callee.children[-1])
            if module not in ("L", "LibGrilly", "Grilly.LibGrilly") or not name.startswith("grl_"):
                continue
            args = [c for c in node.children[1].children if c.type not in ("(", ")", ",")]
            if any(c.type in ("keyword_arguments", "splat_expression") for c in args):
                continue
            n += 1
            where = f"{f.relative_to(ROOT)}:{node.start_point[0] + 1}"
            if name not in arities:
                print(f"{where}: {module}.{name} is not a LibGrilly wrapper or type")
                ok = False
            elif len(args) not in arities[name]:
                print(f"{where}: {name} called with {len(args)} arguments; its methods take "
                      f"{sorted(arities[name])}")
                ok = False
    print(f"checked {n} calls of LibGrilly wrappers")
    return ok and n > 0


CHECKS = {"parse": check_parse, "exports": check_exports, "wrappers": check_wrappers,
          "arity": check_arity, "names": check_names, "calls": check_calls}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("--lib", type=Path, default=ROOT / "build" / "libgrilly.so")
    args = ap.parse_args()
    if args.check in ("exports", "wrappers") and not args.lib.exists():
        print(f"{args.lib} not found: build grilly first or pass --lib")
        return 1
    return 0 if CHECKS[args.check](args.lib) else 1


if __name__ == "__main__":
    sys.exit(main())
