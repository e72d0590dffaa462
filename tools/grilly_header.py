"""grilly_header.py: a small parser of include/grilly.h for the binding generators and checks.
It reads the header's own declarations (typedefs, enums with values, structs, GRL_API functions,
integer #defines and *_INIT macros) and fails loudly on anything it does not understand."""
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "grilly.h"


@dataclass
class Param:
    ctype: str  # normalised C type, e.g. "const int64_t*"
    name: str
    array: str = ""  # "[256]" for struct fields that are arrays


@dataclass
class Function:
    name: str
    ret: str
    params: list


@dataclass
class Header:
    defines: dict = field(default_factory=dict)   # name -> int value text
    inits: dict = field(default_factory=dict)     # name -> (macro params, [values])
    enums: list = field(default_factory=list)     # (name, [(member, int)])
    structs: list = field(default_factory=list)   # (name, [Param])
    handles: list = field(default_factory=list)   # (typedef name, struct tag)
    fnptrs: list = field(default_factory=list)    # (name, ret, [Param])
    functions: list = field(default_factory=list)  # [Function]
    order: list = field(default_factory=list)     # ("enum"|"struct"|"handle"|"fnptr", name) in header order


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _norm_type(t):
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"\s*\*\s*", "*", t)
    t = t.replace("* const", "*const").replace("*const*", "* const*")
    return t


def _split_param(text):
    text = text.strip()
    m = re.match(r"^(.*?)([A-Za-z_]\w*)\s*(\[\w+\])?$", text, flags=re.S)
    if not m or not m.group(1).strip():
        raise ValueError(f"cannot parse declaration {text!r}")
    return Param(_norm_type(m.group(1)), m.group(2), m.group(3) or "")


def _params(text):
    text = text.strip()
    if text in ("", "void"):
        return []
    return [_split_param(p) for p in text.split(",")]


def parse(path=HEADER):
    raw = Path(path).read_text()
    h = Header()
    # Macros first, from the raw text (continuation lines joined).
    joined = raw.replace("\\\n", " ")
    for line in joined.splitlines():
        line = _strip_comments(line).strip()
        m = re.match(r"#define\s+(GRL_\w+)\s+(-?(?:0x[0-9a-fA-F]+|\d+))$", line)
        if m:
            h.defines[m.group(1)] = m.group(2)
            continue
        m = re.match(r"#define\s+(GRL_\w+_INIT)(?:\((\w*)\))?\s+\{(.*)\}$", line)
        if m:
            h.inits[m.group(1)] = (m.group(2), [v.strip() for v in m.group(3).split(",")])
    body = _strip_comments(joined)
    body = "\n".join(l for l in body.splitlines() if not l.strip().startswith("#"))
    body = body.replace('extern "C" {', "")
    # Remove the closing brace of extern "C" (a lone "}" line).
    body = re.sub(r"^\s*}\s*$", "", body, flags=re.M)
    for stmt in body.split(";"):
        s = " ".join(stmt.split())
        if not s:
            continue
        m = re.match(r"typedef enum (\w+) \{(.*)\} (\w+)$", s)
        if m:
            members = []
            for item in m.group(2).split(","):
                item = item.strip()
                if not item:
                    continue
                name, _, value = item.partition("=")
                members.append((name.strip(), int(value.strip(), 0)))
            h.enums.append((m.group(3), members))
            h.order.append(("enum", m.group(3)))
            continue
        m = re.match(r"typedef struct (\w+)\* (\w+)$", s)
        if m:
            h.handles.append((m.group(2), m.group(1)))
            h.order.append(("handle", m.group(2)))
            continue
        m = re.match(r"typedef struct (\w+) \{(.*)$", s)
        if m:
            # Struct bodies contain ';', so gather them from the comment-free text instead.
            continue
        m = re.match(r"typedef (.+?)\(\*(\w+)\)\((.*)\)$", s)
        if m:
            h.fnptrs.append((m.group(2), _norm_type(m.group(1)), _params(m.group(3))))
            h.order.append(("fnptr", m.group(2)))
            continue
        m = re.match(r"GRL_API (.+?)\b(grl_\w+)\((.*)\)$", s)
        if m:
            h.functions.append(Function(m.group(2), _norm_type(m.group(1)), _params(m.group(3))))
            continue
    # Structs with bodies, placed in declaration order among the other types.
    positions = {}
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\} (\w+);", " ".join(body.split())):
        fields = []
        for decl in m.group(2).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            first = _split_param(decl.split(",")[0])
            fields.append(first)
            base = re.sub(r"\*+$", "", first.ctype)
            for extra in decl.split(",")[1:]:
                fields.append(Param(base, extra.strip()))
        h.structs.append((m.group(3), fields))
        positions[m.group(3)] = m.start()
    # Rebuild the order with structs inserted by their position in the flattened text.
    flat = " ".join(body.split())
    def pos(kind, name):
        pats = {
            "enum": rf"\}} {name};",
            "handle": rf"\* {name};",
            "fnptr": rf"\(\*{name}\)",
            "struct": rf"\}} {name};",
        }
        return re.search(pats[kind], flat).start()
    items = h.order + [("struct", n) for n, _ in h.structs]
    h.order = sorted(items, key=lambda it: pos(*it))
    if not h.functions:
        raise ValueError("no GRL_API functions found")
    return h


def public_functions(path=HEADER):
    """Names of every GRL_API function, in header order."""
    return [f.name for f in parse(path).functions]


if __name__ == "__main__":
    h = parse()
    print(f"{len(h.functions)} functions, {len(h.enums)} enums, {len(h.structs)} structs, "
          f"{len(h.handles)} handles, {len(h.fnptrs)} function pointer types")
    for f in h.functions:
        print(f.ret, f.name, [(p.ctype, p.name) for p in f.params])
