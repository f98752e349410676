#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes safetensors test files: malformed ones and a few valid ones.

Usage: make-safetensors.py OUT_DIR

OUT_DIR/manifest.json lists every file with the error code the reader must
give ("ok" for a valid file) and, for valid files, each tensor's dtype,
shape and values.  Malformed files are named bad-*.safetensors, valid ones
good-*.safetensors; OUT_DIR/corpus/ gets a copy of every file for the
fuzzers' seed corpus.
"""

import json
import os
import struct
import sys

DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
              "U32": 4, "I32": 4, "F32": 4, "F64": 8, "U64": 8, "I64": 8,
              "F8_E4M3": 1, "F8_E5M2": 1}

manifest = []


def raw(name, data, expect, tensors=None):
    manifest.append({"file": name + ".safetensors", "expect": expect,
                     "tensors": tensors or []})
    files[name + ".safetensors"] = data


def header_file(header, data=b"", header_len=None, pad=False):
    """A file from a header (a dict, or JSON text as str/bytes)."""
    if isinstance(header, dict):
        text = json.dumps(header).encode()
    elif isinstance(header, str):
        text = header.encode()
    else:
        text = header
    if pad:
        text += b" " * (-len(text) % 8)
    n = len(text) if header_len is None else header_len
    return struct.pack("<Q", n) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def pack_values(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    if dtype == "BF16":
        # Values chosen so that binary32 → bfloat16 is exact: keep the top half.
        out = b""
        for v in values:
            bits = struct.unpack("<I", struct.pack("<f", v))[0]
            assert bits & 0xFFFF == 0, v
            out += struct.pack("<H", bits >> 16)
        return out
    if dtype == "I64":
        return struct.pack("<%dq" % len(values), *values)
    fmt = {"BOOL": "B", "U8": "B", "I8": "b", "U16": "H", "I16": "h", "U32": "I",
           "I32": "i", "F64": "d", "U64": "Q", "F8_E4M3": "B", "F8_E5M2": "B"}[dtype]
    return struct.pack("<%d%s" % (len(values), fmt), *values)


def f16_bits(v):
    """binary16 bits of @v, round to nearest even (overflow → infinity)."""
    try:
        return struct.unpack("<H", struct.pack("<e", v))[0]
    except OverflowError:
        return 0xFC00 if v < 0 else 0x7C00


def as_stored(dtype, values):
    """The values as the stored dtype holds them, as Python floats."""
    if dtype == "F32":
        return [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]
    if dtype == "F16":
        return [struct.unpack("<e", struct.pack("<e", v))[0] for v in values]
    return list(values)


def good(name, tensors, metadata=None, header_order=None, pad=True):
    """tensors: list of (name, dtype, shape, values) in data order."""
    header = {}
    data = b""
    described = []
    for tname, dtype, shape, values in tensors:
        blob = pack_values(dtype, values)
        n = 1
        for d in shape:
            n *= d
        assert len(blob) == n * DTYPE_SIZE[dtype]
        header[tname] = entry(dtype, shape, len(data), len(data) + len(blob))
        data += blob
        t = {"name": tname, "dtype": dtype, "shape": shape}
        if dtype in ("F32", "F16", "BF16"):
            stored = as_stored(dtype, values)
            t["f32"] = stored
            t["f16"] = [f16_bits(v) for v in stored]
        else:
            t["ints"] = values
        described.append(t)
    if header_order is not None:
        header = {k: header[k] for k in header_order}
    if metadata is not None:
        header = {"__metadata__": metadata, **header}
    raw(name, header_file(header, data, pad=pad), "ok", described)


def bad(name, expect, data):
    raw("bad-" + name, data, expect)


files = {}


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "corpus"), exist_ok=True)

    one = entry("F32", [2], 0, 8)
    eight = b"\0" * 8

    # --- the header length and the header bytes
    bad("empty", "HEADER", b"")
    bad("seven-bytes", "HEADER", b"\x02\0\0\0\0\0\0")
    bad("length-huge", "HEADER", struct.pack("<Q", 1 << 63) + b"{}")
    bad("length-overflow", "HEADER", struct.pack("<Q", 0xFFFFFFFFFFFFFFFF) + b"{}")
    bad("length-wraps", "HEADER", struct.pack("<Q", 0xFFFFFFFFFFFFFFF9) + b"{}")
    bad("length-beyond-eof", "HEADER", header_file({"a": one}, eight, header_len=1000))
    bad("length-over-limit", "HEADER", struct.pack("<Q", 100 * 1024 * 1024 + 1) + b"{}")
    bad("length-zero", "HEADER", struct.pack("<Q", 0))
    bad("length-one", "HEADER", header_file(b"{"))
    bad("not-utf8", "HEADER", header_file(b'{"a\xff\xfe": {}}'))
    bad("nul-byte", "HEADER", header_file(b'{"a\x00": {}}'))
    bad("not-object-array", "HEADER", header_file("[]"))
    bad("not-object-string", "HEADER", header_file('"text"'))
    bad("not-object-number", "HEADER", header_file("42"))
    bad("truncated-json", "HEADER", header_file('{"a": {"dtype": "F32", "shape": [2]'))
    bad("trailing-garbage", "HEADER", header_file('{} x'))
    bad("two-json-values", "HEADER", header_file("{} {}   "))
    bad("bare-word", "HEADER", header_file('{"a": nul}'))
    bad("single-quotes", "HEADER", header_file("{'a': 1}"))
    bad("comment", "HEADER", header_file('{/* "[" */}'))
    bad("deep-nesting", "HEADER", header_file("[" * 100000 + "]" * 100000))
    bad("deep-nesting-object", "HEADER",
        header_file('{"a": ' + '{"b": ' * 100000 + '1' + '}' * 100001))
    bad("deep-nesting-unbalanced", "HEADER", header_file("[" * 100000))
    bad("integer-too-long", "HEADER",
        header_file('{"a": {"dtype": "F32", "shape": [123456789012345678901], "data_offsets": [0, 8]}}', eight))
    bad("entry-not-object", "HEADER", header_file({"a": 5}))

    # --- dtype
    bad("dtype-unknown", "DTYPE", header_file({"a": entry("F128", [2], 0, 8)}, eight))
    bad("dtype-lowercase", "DTYPE", header_file({"a": entry("f32", [2], 0, 8)}, eight))
    bad("dtype-missing", "DTYPE",
        header_file({"a": {"shape": [2], "data_offsets": [0, 8]}}, eight))
    bad("dtype-number", "DTYPE", header_file({"a": entry(4, [2], 0, 8)}, eight))

    # --- shape
    bad("shape-negative", "SHAPE", header_file({"a": entry("F32", [-2], 0, 8)}, eight))
    bad("shape-float", "SHAPE", header_file({"a": entry("F32", [2.5], 0, 8)}, eight))
    bad("shape-float-integral", "SHAPE", header_file({"a": entry("F32", [2.0], 0, 8)}, eight))
    bad("shape-string", "SHAPE", header_file({"a": entry("F32", ["2"], 0, 8)}, eight))
    bad("shape-not-array", "SHAPE", header_file({"a": entry("F32", 2, 0, 8)}, eight))
    bad("shape-missing", "SHAPE",
        header_file({"a": {"dtype": "F32", "data_offsets": [0, 8]}}, eight))
    bad("shape-huge-dims", "SHAPE",
        header_file({"a": entry("F32", [999999999999999999, 999999999999999999], 0, 8)}, eight))
    bad("shape-product-overflow", "SHAPE",
        header_file({"a": entry("U8", [1 << 32, 1 << 32], 0, 8)}, eight))
    bad("shape-bytes-overflow", "SHAPE",
        header_file({"a": entry("F32", [1 << 62], 0, 8)}, eight))
    bad("shape-too-many-dims", "SHAPE", header_file({"a": entry("F32", [1] * 33 + [2], 0, 8)}, eight))

    # --- data_offsets
    bad("offsets-reversed", "OFFSETS", header_file({"a": entry("F32", [2], 8, 0)}, eight))
    bad("offsets-size-mismatch", "OFFSETS", header_file({"a": entry("F32", [2], 0, 6)}, b"\0" * 6))
    bad("offsets-size-mismatch-dtype", "OFFSETS",
        header_file({"a": entry("F16", [2], 0, 8)}, eight))
    bad("offsets-string", "OFFSETS",
        header_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": "0-8"}}, eight))
    bad("offsets-three", "OFFSETS",
        header_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}, eight))
    bad("offsets-negative", "OFFSETS",
        header_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}, eight))
    bad("offsets-float", "OFFSETS",
        header_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}}, eight))
    bad("offsets-missing", "OFFSETS", header_file({"a": {"dtype": "F32", "shape": [2]}}, eight))

    # --- layout of the data section
    bad("gap", "LAYOUT",
        header_file({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)}, b"\0" * 20))
    bad("leading-gap", "LAYOUT", header_file({"a": entry("F32", [2], 4, 12)}, b"\0" * 12))
    bad("overlap", "LAYOUT",
        header_file({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, b"\0" * 12))
    bad("same-offsets", "LAYOUT",
        header_file({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 0, 8)}, eight))
    bad("out-of-range", "SIZE", header_file({"a": entry("F32", [1 << 40], 0, 4 << 40)}, eight))
    bad("missing-bytes", "SIZE", header_file({"a": entry("F32", [4], 0, 16)}, eight))
    bad("trailing-bytes", "SIZE", header_file({"a": one}, eight + b"\0"))
    bad("trailing-bytes-no-tensors", "SIZE", header_file({}, b"junk"))

    # --- names and metadata
    bad("duplicate-name", "DUPLICATE",
        header_file('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                    '"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', b"\0" * 16))
    bad("duplicate-field", "DUPLICATE",
        header_file('{"a": {"dtype": "F32", "dtype": "I64", "shape": [2], "data_offsets": [0, 8]}}', eight))
    bad("duplicate-metadata", "DUPLICATE",
        header_file('{"__metadata__": {"k": "v"}, "__metadata__": {"k": "w"}}'))
    bad("metadata-non-string", "METADATA", header_file({"__metadata__": {"format": 1}}))
    bad("metadata-nested", "METADATA", header_file({"__metadata__": {"format": {"x": "y"}}}))
    bad("metadata-not-object", "METADATA", header_file({"__metadata__": ["pt"]}))

    # --- valid files
    good("good-mixed", [
        ("text_model.embeddings.position_ids", "I64", [1, 4], [0, 1, 2, 3]),
        ("b.weight", "F32", [2, 3], [1.0, -2.5, 0.125, 3.0e-3, 1e10, -0.0]),
        ("a.half", "F16", [4], [1.5, -65504.0, 0.0009765625, 5.960464477539063e-08]),
        ("c.brain", "BF16", [2, 2], [1.0, -3.0, 256.0, 2.0 ** -20]),
        ("logit_scale", "F32", [], [4.605170249938965]),
    ], metadata={"format": "pt", "note": "[[[[ {{{{ not nesting"},
       header_order=["logit_scale", "b.weight", "c.brain", "a.half",
                     "text_model.embeddings.position_ids"])
    good("good-empty", [])
    good("good-metadata-only", [], metadata={})
    good("good-zero-size", [
        ("empty", "F32", [0, 4], []),
        ("x", "F16", [1], [2.0]),
        ("empty2", "BF16", [3, 0], []),
    ])
    good("good-unpadded", [("w", "F32", [1], [7.0])], pad=False)
    good("good-all-dtypes", [
        ("bool", "BOOL", [2], [0, 1]),
        ("u8", "U8", [1], [255]),
        ("i8", "I8", [1], [-128]),
        ("u16", "U16", [1], [65535]),
        ("i16", "I16", [1], [-32768]),
        ("f16", "F16", [1], [-1.0]),
        ("bf16", "BF16", [1], [0.5]),
        ("u32", "U32", [1], [4294967295]),
        ("i32", "I32", [1], [-2147483648]),
        ("f32", "F32", [1], [0.1]),
        ("f64", "F64", [1], [0.1]),
        ("u64", "U64", [1], [18446744073709551615]),
        ("i64", "I64", [1], [-9223372036854775808]),
        ("f8a", "F8_E4M3", [1], [0x38]),
        ("f8b", "F8_E5M2", [1], [0x3c]),
    ])
    good("good-unicode-name", [("héllo wörld 日本", "F32", [1], [1.0])])

    for name, data in files.items():
        for d in (out, os.path.join(out, "corpus")):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
