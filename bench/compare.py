#!/usr/bin/env python3
"""Side-by-side table of grilly's and PyTorch's benchmark JSON (same run, same device).

Usage: compare.py GRILLY_JSON TORCH_JSON [--markdown OUT.md]
The ratio is PyTorch's time over grilly's time for the same workload: above 1 grilly is faster.
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("grilly")
    ap.add_argument("torch")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    g = json.load(open(args.grilly))
    t = json.load(open(args.torch))
    rows = []
    for name, r in g["results"].items():
        base = t["results"].get(name)
        if base:
            ratio = base["ms"] / r["ms"] if r["ms"] > 0 else float("nan")
            rows.append((name, f"{r['ms']:.4f}", f"{r['rate']:.1f} {r['unit']}", f"{base['ms']:.4f}",
                         f"{base['rate']:.1f} {base['unit']}", f"{ratio:.2f}"))
        else:
            rows.append((name, f"{r['ms']:.4f}", f"{r['rate']:.1f} {r['unit']}", "", "", ""))
    head = ("workload", "grilly ms", "grilly rate", "PyTorch ms", "PyTorch rate", "speed ratio")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = f"Device: {g['device']} (grilly {g.get('grilly', '?')}); PyTorch {t.get('torch', '?')} on {t['device']}\n\n"
    text += "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
