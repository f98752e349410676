#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes a tiny fake Hugging Face CLIP folder: a valid config.json, a
model.safetensors with a few tensors (projections, an I64 buffer, a scalar),
a small vocab.json and merges.txt, and optionally a preprocessor config.
It is not a runnable CLIP; it is what the store and the installer check.

Usage: tinymodel.py OUT_DIR [VARIANT]
VARIANT: good (default), missing-merges, bad-config, bad-safetensors,
         no-projection.
"""

import json
import os
import struct
import sys

CONFIG = {
    "architectures": ["CLIPModel"],
    "model_type": "clip",
    "projection_dim": 8,
    "logit_scale_init_value": 2.6592,
    "text_config": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                    "num_attention_heads": 2, "vocab_size": 300},
    "vision_config": {"hidden_size": 24, "intermediate_size": 48, "num_hidden_layers": 2,
                      "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
}


def safetensors(seed=0):
    tensors = [
        ("text_projection.weight", "F32", [8, 16]),
        ("visual_projection.weight", "F32", [8, 24]),
        ("logit_scale", "F32", []),
        ("text_model.embeddings.position_ids", "I64", [1, 77]),
    ]
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, dtype, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        if dtype == "F32":
            blob = struct.pack("<%df" % n, *[((i * 7 + seed) % 13) / 13.0 for i in range(n)])
        else:
            blob = struct.pack("<%dq" % n, *range(n))
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def files(variant="good", seed=0):
    """The folder's files as a dict name → bytes."""
    vocab = {"a": 0, "b": 1, "ab</w>": 2, "<|startoftext|>": 3, "<|endoftext|>": 4}
    out = {
        "config.json": json.dumps(CONFIG, indent=2).encode(),
        "model.safetensors": safetensors(seed),
        "vocab.json": json.dumps(vocab).encode(),
        "merges.txt": b"#version: 0.2\na b</w>\n",
        "preprocessor_config.json": json.dumps({"crop_size": 32, "size": 32}).encode(),
    }
    if variant == "missing-merges":
        del out["merges.txt"]
    elif variant == "bad-config":
        cfg = dict(CONFIG)
        cfg["vision_config"] = dict(CONFIG["vision_config"], patch_size=7)
        out["config.json"] = json.dumps(cfg).encode()
    elif variant == "bad-safetensors":
        out["model.safetensors"] = out["model.safetensors"][:-5]
    elif variant == "no-projection":
        st = out["model.safetensors"]
        out["model.safetensors"] = st.replace(b"text_projection.weight", b"text_projection.wXight")
    elif variant != "good":
        raise SystemExit("unknown variant " + variant)
    return out


def write(out_dir, variant="good", seed=0):
    os.makedirs(out_dir, exist_ok=True)
    for name, data in files(variant, seed).items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "good")
