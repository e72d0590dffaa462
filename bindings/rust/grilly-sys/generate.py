#!/usr/bin/env python3
"""Generates src/bindings.rs from include/grilly.h (run: python3 generate.py).

grilly.h is written in a small, regular subset of C (typedef'd enums and structs, opaque handle
typedefs, function-pointer typedefs, numeric #defines and GRL_API function declarations), so this
generator parses exactly that subset instead of needing libclang. It fails loudly on anything it
does not understand. tests/header_matches.rs checks the committed output against the header."""
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = HERE.parent.parent.parent / "include" / "grilly.h"
OUT = HERE / "src" / "bindings.rs"

PRIM = {
    "int64_t": "i64", "int32_t": "i32", "uint32_t": "u32", "uint64_t": "u64", "size_t": "usize",
    "double": "f64", "float": "f32", "char": "::std::os::raw::c_char", "void": "::std::os::raw::c_void",
}
KEYWORDS = {"type", "in", "ref", "fn", "mod", "match", "move", "loop", "use", "impl", "self", "crate"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def rust_type(ctype):
    """C type (without a name) -> Rust type."""
    t = ctype.strip()
    stars = t.count("*")
    if stars:
        # Split at the last '*': the pointee and whether the pointer itself is const (ignored).
        head, _, tail = t.rpartition("*")
        assert tail.strip() in ("", "const"), ctype
        inner = head.strip()
        const = False
        if inner.endswith("const"):
            const, inner = True, inner[: -len("const")].strip()
        if inner.startswith("const ") and inner.count("*") == 0:
            const, inner = True, inner[len("const "):].strip()
        return ("*const " if const else "*mut ") + rust_type(inner)
    if t.startswith("const "):
        t = t[len("const "):].strip()
    if t in PRIM:
        return PRIM[t]
    if re.fullmatch(r"grl_\w+", t):
        return t
    raise SystemExit(f"generate.py: unknown C type {ctype!r}")


def split_decl(decl):
    """'const int64_t* shape' -> ('const int64_t*', 'shape', None); arrays give their length."""
    decl = decl.strip()
    m = re.fullmatch(r"(.*?)(\w+)\s*(?:\[(\w+)\])?", decl, flags=re.S)
    if not m:
        raise SystemExit(f"generate.py: cannot parse declaration {decl!r}")
    return m.group(1).strip(), m.group(2), m.group(3)


def params(text):
    text = " ".join(text.split())
    if text in ("", "void"):
        return []
    out = []
    for p in text.split(","):
        ctype, name, arr = split_decl(p)
        assert arr is None, p
        if name in KEYWORDS:
            name = "r#" + name
        out.append((name, rust_type(ctype)))
    return out


def ret_type(ctype):
    t = " ".join(ctype.split())
    return "" if t == "void" else " -> " + rust_type(t)


def main():
    src = HEADER.read_text()
    lines = []
    # Numeric #defines (skip the include guard, GRL_API and function-like / brace macros).
    for m in re.finditer(r"^#define\s+(GRL_\w+)\s+(\S+)\s*$", src, flags=re.M):
        name, value = m.group(1), m.group(2)
        if re.fullmatch(r"-?\d+", value):
            lines.append(f"pub const {name}: u32 = {value};")
    code = strip_comments(src)
    code = re.sub(r"^\s*#.*?(?<!\\)$", " ", code, flags=re.M | re.S)  # preprocessor lines
    code = code.replace('extern "C" {', " ")
    # Walk top-level statements.
    pos = 0
    body = []
    stmts = []
    depth = 0
    cur = ""
    for ch in code:
        cur += ch
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            stmts.append(" ".join(cur.split()))
            cur = ""
    tail = " ".join(cur.split()).strip("} ")
    if tail:
        raise SystemExit(f"generate.py: trailing text {tail!r}")
    for s in stmts:
        s = s.rstrip(";").strip()
        if m := re.fullmatch(r"typedef enum (\w+) \{(.*)\} (\w+)", s):
            name = m.group(3)
            body.append(f"pub type {name} = ::std::os::raw::c_int;")
            for item in m.group(2).split(","):
                item = item.strip()
                if not item:
                    continue
                k, v = [x.strip() for x in item.split("=")]
                body.append(f"pub const {k}: {name} = {v};")
        elif m := re.fullmatch(r"typedef struct (\w+)\s*\* (\w+)", s):
            body.append(f"#[repr(C)]\npub struct {m.group(1)} {{\n    _unused: [u8; 0],\n}}")
            body.append(f"pub type {m.group(2)} = *mut {m.group(1)};")
        elif m := re.fullmatch(r"typedef struct (\w+) \{(.*)\} (\w+)", s):
            fields = []
            for f in m.group(2).split(";"):
                f = f.strip()
                if not f:
                    continue
                ctype, first, arr = split_decl(f.split(",")[0])
                names = [first] + [x.strip() for x in f.split(",")[1:]]
                for n in names:
                    if n in KEYWORDS:
                        n = "r#" + n
                    rt = rust_type(ctype)
                    if arr is not None:
                        rt = f"[{rt}; {arr}]"
                    fields.append(f"    pub {n}: {rt},")
            body.append(f"#[repr(C)]\n#[derive(Debug, Copy, Clone)]\npub struct {m.group(3)} {{\n"
                        + "\n".join(fields) + "\n}")
        elif m := re.fullmatch(r"typedef (.+?)\(\*(\w+)\)\((.*)\)", s):
            args = ", ".join(f"{n}: {t}" for n, t in params(m.group(3)))
            body.append(f"pub type {m.group(2)} =\n    ::std::option::Option<unsafe extern \"C\" fn({args}){ret_type(m.group(1))}>;")
        elif m := re.fullmatch(r"GRL_API (.+?)\b(grl_\w+)\((.*)\)", s):
            args = ", ".join(f"{n}: {t}" for n, t in params(m.group(3)))
            body.append(f"    pub fn {m.group(2)}({args}){ret_type(m.group(1))};")
        else:
            raise SystemExit(f"generate.py: cannot translate {s!r}")
    out = ["/* automatically generated by grilly-sys/generate.py from include/grilly.h: do not edit */", ""]
    out += lines + [""]
    fns = [b for b in body if b.startswith("    pub fn")]
    out += [b for b in body if not b.startswith("    pub fn")]
    out += ["", 'extern "C" {'] + fns + ["}"]
    text = "\n".join(out) + "\n"
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        if OUT.read_text() != text:
            raise SystemExit("src/bindings.rs is out of date: run python3 generate.py")
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()
