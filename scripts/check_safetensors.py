#!/usr/bin/env python3
"""Open a .safetensors file with the PyPI `safetensors` package and check tensor shapes.

Usage: python3 scripts/check_safetensors.py FILE [NAME=SHAPE ...]   (SHAPE like 40x40, or 64; "" or
"scalar" for a 0-d tensor). Prints each tensor's name, dtype and shape and the metadata keys; exits 1
if an expected NAME is missing or has another shape, 2 on bad usage or an unreadable file.
Needs: pip install safetensors numpy
"""
import sys


def parse_shape(text):
    if text in ("", "scalar"):
        return ()
    return tuple(int(p) for p in text.lower().split("x"))


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1]
    expected = {}
    for arg in argv[2:]:
        name, eq, shape = arg.partition("=")
        if not eq or not name:
            print(f"error: expected NAME=SHAPE (like W_Q=40x40), got '{arg}'", file=sys.stderr)
            return 2
        try:
            expected[name] = parse_shape(shape)
        except ValueError:
            print(f"error: shape '{shape}' of '{name}' is not like 40x40", file=sys.stderr)
            return 2

    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:
        print("error: the 'safetensors' package is missing; run: pip install safetensors numpy", file=sys.stderr)
        return 2

    try:
        tensors = load_file(path)
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
    except Exception as e:  # the library raises several types for a bad file
        print(f"error: safetensors cannot read '{path}': {e}", file=sys.stderr)
        return 2

    for name in sorted(tensors):
        t = tensors[name]
        print(f"{name}\t{t.dtype}\t{'x'.join(str(n) for n in t.shape) or 'scalar'}")
    for key in sorted(metadata):
        value = metadata[key]
        shown = value if len(value) <= 60 else value[:57] + "..."
        print(f"metadata {key} = {shown}")

    failed = False
    for name, shape in expected.items():
        if name not in tensors:
            print(f"FAIL: tensor '{name}' is missing", file=sys.stderr)
            failed = True
        elif tuple(tensors[name].shape) != shape:
            got = "x".join(str(n) for n in tensors[name].shape) or "scalar"
            want = "x".join(str(n) for n in shape) or "scalar"
            print(f"FAIL: tensor '{name}' has shape {got}, expected {want}", file=sys.stderr)
            failed = True
    if failed:
        return 1
    if expected:
        print(f"OK: {len(expected)} expected shape(s) match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
