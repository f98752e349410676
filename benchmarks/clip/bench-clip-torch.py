#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch (CPU) side of the CLIP throughput benchmark.

Usage: bench-clip-torch.py MODEL_DIR IDS_JSON BATCH[,BATCH...]

Loads MODEL_DIR/config.json and MODEL_DIR/model.safetensors (parsed here by
hand) into float32 torch tensors and times the same architecture as the
Vulkan encoders: the vision tower from preprocessed pixels (the resize and
crop are not timed here, while the Vulkan side includes them) and the text
tower on the token ids in IDS_JSON ({"ids": [[...]], "length": L}; run on the
first L positions, as the Vulkan side does).  Prints one JSON object:
{"threads", "torch", "blas": {"library", "core", "config"}, "images_per_s":
{batch: v}, "texts_per_s": {...}}.
"""

import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DEFAULTS = {
    "text": {"vocab_size": 49408, "hidden_size": 512, "intermediate_size": 2048,
             "num_hidden_layers": 12, "num_attention_heads": 8, "max_position_embeddings": 77,
             "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "eos_token_id": 2},
    "vision": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
               "num_attention_heads": 12, "image_size": 224, "patch_size": 32,
               "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5},
}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    types = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    out = {}
    for name, e in header.items():
        if name == "__metadata__" or e["dtype"] not in ("F32", "F16"):
            continue
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[b:end], dtype=types[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


def blas_in_use():
    """The BLAS library this process loaded, and for OpenBLAS the CPU core
    its kernels were chosen for (openblas_get_corename(): Debian's 0.3.21
    falls back to the SSE3 "Prescott" kernels on CPUs it does not know,
    which OPENBLAS_CORETYPE overrides)."""
    import ctypes
    paths = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            name = os.path.basename(path)
            if "blas" in name or "mkl" in name:
                paths.add(path)
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue
        return {"library": os.path.join(*os.path.realpath(path).split(os.sep)[-2:]), "core": lib.openblas_get_corename().decode(),
                "config": lib.openblas_get_config().decode().strip()}
    return {"library": ", ".join(os.path.basename(p) for p in sorted(paths)) or "none found", "core": ""}


def act(x, name):
    return x * torch.sigmoid(1.702 * x) if name == "quick_gelu" else F.gelu(x)


class Tower:
    def __init__(self, w, prefix, c):
        self.c = c
        self.layers = []
        for l in range(c["num_hidden_layers"]):
            p = f"{prefix}.encoder.layers.{l}."
            g = lambda s: w[p + s]
            self.layers.append({
                "qkv_w": torch.cat([g("self_attn.q_proj.weight"), g("self_attn.k_proj.weight"),
                                    g("self_attn.v_proj.weight")]),
                "qkv_b": torch.cat([g("self_attn.q_proj.bias"), g("self_attn.k_proj.bias"),
                                    g("self_attn.v_proj.bias")]),
                "o_w": g("self_attn.out_proj.weight"), "o_b": g("self_attn.out_proj.bias"),
                "ln1": (g("layer_norm1.weight"), g("layer_norm1.bias")),
                "ln2": (g("layer_norm2.weight"), g("layer_norm2.bias")),
                "fc1_w": g("mlp.fc1.weight"), "fc1_b": g("mlp.fc1.bias"),
                "fc2_w": g("mlp.fc2.weight"), "fc2_b": g("mlp.fc2.bias"),
            })

    def __call__(self, x, causal):
        b, n, d = x.shape
        h = self.c["num_attention_heads"]
        dh = d // h
        eps = self.c["layer_norm_eps"]
        mask = torch.full((n, n), float("-inf")).triu(1) if causal else None
        for L in self.layers:
            y = F.layer_norm(x, (d,), *L["ln1"], eps)
            qkv = F.linear(y, L["qkv_w"], L["qkv_b"]).view(b, n, 3, h, dh).permute(2, 0, 3, 1, 4)
            s = (qkv[0] * dh ** -0.5) @ qkv[1].transpose(-1, -2)
            if mask is not None:
                s = s + mask
            o = (s.softmax(-1) @ qkv[2]).transpose(1, 2).reshape(b, n, d)
            x = x + F.linear(o, L["o_w"], L["o_b"])
            y = F.layer_norm(x, (d,), *L["ln2"], eps)
            x = x + F.linear(act(F.linear(y, L["fc1_w"], L["fc1_b"]), self.c["hidden_act"]),
                             L["fc2_w"], L["fc2_b"])
        return x


def main():
    model_dir, ids_path, batches = sys.argv[1], sys.argv[2], [int(b) for b in sys.argv[3].split(",")]
    torch.set_num_threads(os.cpu_count())
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    tc = dict(DEFAULTS["text"], **config.get("text_config", {}))
    vc = dict(DEFAULTS["vision"], **config.get("vision_config", {}))
    w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    vision, text = Tower(w, "vision_model", vc), Tower(w, "text_model", tc)
    with open(ids_path) as f:
        ids_doc = json.load(f)
    length = ids_doc["length"]
    all_ids = torch.tensor(ids_doc["ids"], dtype=torch.long)[:, :length]

    def encode_images(pixels):
        pz, d = vc["patch_size"], vc["hidden_size"]
        x = F.conv2d(pixels, w["vision_model.embeddings.patch_embedding.weight"], stride=pz)
        x = x.flatten(2).transpose(1, 2)
        cls = w["vision_model.embeddings.class_embedding"].expand(x.shape[0], 1, d)
        x = torch.cat([cls, x], 1) + w["vision_model.embeddings.position_embedding.weight"]
        x = F.layer_norm(x, (d,), w["vision_model.pre_layrnorm.weight"], w["vision_model.pre_layrnorm.bias"],
                         vc["layer_norm_eps"])
        x = vision(x, causal=False)[:, 0]
        x = F.layer_norm(x, (d,), w["vision_model.post_layernorm.weight"], w["vision_model.post_layernorm.bias"],
                         vc["layer_norm_eps"])
        return F.normalize(F.linear(x, w["visual_projection.weight"]), dim=-1)

    def encode_texts(ids):
        d = tc["hidden_size"]
        x = w["text_model.embeddings.token_embedding.weight"][ids] + \
            w["text_model.embeddings.position_embedding.weight"][:ids.shape[1]]
        x = text(x, causal=True)
        x = F.layer_norm(x, (d,), w["text_model.final_layer_norm.weight"], w["text_model.final_layer_norm.bias"],
                         tc["layer_norm_eps"])
        x = x[torch.arange(ids.shape[0]), ids.argmax(-1)]
        return F.normalize(F.linear(x, w["text_projection.weight"]), dim=-1)

    def rate(fn, make_input, batch):
        inp = make_input(batch)
        warm = time.perf_counter()       # warm-up: half a second, at least one call
        fn(inp)
        while time.perf_counter() - warm < 0.5:
            fn(inp)
        n, start = 0, time.perf_counter()
        while True:
            fn(inp)
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed > 3.0 or n >= 20:
                return batch * n / elapsed

    gen = torch.Generator().manual_seed(1)
    size = vc["image_size"]
    result = {"threads": torch.get_num_threads(), "torch": torch.__version__,
              "blas": blas_in_use(),
              "images_per_s": {}, "texts_per_s": {}}
    with torch.inference_mode():
        for b in batches:
            result["images_per_s"][str(b)] = rate(
                encode_images, lambda n: torch.randn(n, 3, size, size, generator=gen), b)
            result["texts_per_s"][str(b)] = rate(
                encode_texts, lambda n: all_ids[torch.arange(n) % all_ids.shape[0]], b)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
