#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes a full-size ViT-B/32 CLIP with seeded random weights through the
`transformers` library, with golden embeddings from transformers itself.

Usage: make-transformers-clip.py OUT_DIR BPE_GZ [SEED]

For a machine that has PyTorch and transformers (not Debian's CI): the model
is transformers' own CLIPModel(CLIPConfig()) — openai/clip-vit-base-patch32's
sizes — initialised with a seed, every parameter then perturbed (LayerNorm
gains and biases included, so that none is a no-op), and saved with
save_pretrained (config.json, model.safetensors in float32).  vocab.json and
merges.txt come from CLIP's real BPE merges (BPE_GZ,
bpe_simple_vocab_16e6.txt.gz) through make-tiny-clip.py's tokenizer.

golden.json has make-tiny-clip.py's format, so test-clip checks the folder
with VIDMARK_CLIP_EXTRA_MODEL=OUT_DIR.  The reference embeddings come from
transformers' CLIPVisionModelWithProjection / CLIPTextModelWithProjection
paths of the same CLIPModel, run in float64 on the CPU with eager attention,
on pixels from make-tiny-clip.py's PIL-exact preprocessing and its token
ids.  transformers' CLIPImageProcessor and CLIPTokenizer are run on the same
inputs and their differences printed.
"""

import importlib.util
import json
import math
import os
import sys

import numpy as np
import torch
from transformers import CLIPConfig, CLIPModel

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [(224, 224), (320, 240), (256, 300), (500, 375)]
TEXTS = [
    "a photo of a cat",
    "Two dogs playing in the snow!",
    "a man riding a bicycle down a busy street at night, 42 cars around him",
    "",
    "people walking on the beach at sunset " * 12,
    "don't stop: it's 5 o'clock (really)",
]


def load_tiny():
    spec = importlib.util.spec_from_file_location("tiny", os.path.join(HERE, "make-tiny-clip.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    out_dir, bpe = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 2026
    tiny = load_tiny()
    os.makedirs(out_dir, exist_ok=True)

    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig()).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                p.add_(0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.add_(0.02 * torch.randn_like(p))
    model.save_pretrained(out_dir, safe_serialization=True)
    tok = tiny.Tokenizer(tiny.read_real_merges(bpe))
    tok.write(out_dir)

    rng = np.random.default_rng(seed)
    images, pixels_hf, pixels_np = [], [], []
    pre = {"shortest_edge": 224, "crop": 224, "mean": tiny.OPENAI_MEAN, "std": tiny.OPENAI_STD}
    try:
        from transformers import CLIPImageProcessor
        processor = CLIPImageProcessor()
    except Exception as e:          # no PIL: the numpy reimplementation alone
        print(f"CLIPImageProcessor unavailable ({e}); using make-tiny-clip.py's preprocessing")
        processor = None
    for n, (width, height) in enumerate(SIZES):
        yy, xx = np.mgrid[0:height, 0:width]
        rgb = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        ramp = ((xx * 255 // (width - 1) + yy * 3) % 256).astype(np.uint8)
        rgb[:, :, 0] = (rgb[:, :, 0] // 4 + ramp * 3 // 4).astype(np.uint8)
        rgb[:, :, 2] = ((yy * 255) // (height - 1)).astype(np.uint8)
        name = f"image{n}.rgb"
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(rgb.tobytes())
        images.append({"file": name, "width": width, "height": height})
        pixels_np.append(tiny.preprocess(rgb.tobytes(), width, height, pre))
        if processor is not None:
            pixels_hf.append(processor(images=rgb, return_tensors="np")["pixel_values"][0].astype(np.float64))
    if processor is not None:
        diff = max(float(np.abs(a - b).max()) for a, b in zip(pixels_hf, pixels_np))
        print(f"preprocessing: CLIPImageProcessor vs make-tiny-clip.py, max |diff| = {diff:.3g}")
    # Golden pixels: make-tiny-clip.py's reimplementation of PIL's integer
    # bicubic (the resampling OpenAI's CLIP preprocessing runs, and the one
    # the C code matches); transformers' processor is only compared above.
    pixels = pixels_np

    context = model.config.text_config.max_position_embeddings
    ids = [tok.encode_padded(t, context) for t in TEXTS]
    try:
        from transformers import CLIPTokenizer
        hf = CLIPTokenizer(os.path.join(out_dir, "vocab.json"), os.path.join(out_dir, "merges.txt"))
        for t, mine in zip(TEXTS, ids):
            theirs = hf(t, truncation=True, max_length=context)["input_ids"]
            same = theirs == mine[:len(theirs)]
            print(f"tokenizer: {'same' if same else 'DIFFERENT'} ids for {t[:40]!r}"
                  + ("" if same else f": transformers {theirs[:12]}..., ours {mine[:12]}..."))
    except Exception as e:
        print(f"CLIPTokenizer unavailable: {e}")

    ref = CLIPModel.from_pretrained(out_dir, attn_implementation="eager").double().eval()
    with torch.no_grad():
        pv = torch.tensor(np.stack(pixels), dtype=torch.float64)
        v = ref.visual_projection(ref.vision_model(pixel_values=pv).pooler_output)
        t_ids = torch.tensor(ids, dtype=torch.long)
        t = ref.text_projection(ref.text_model(input_ids=t_ids).pooler_output)
        v = torch.nn.functional.normalize(v, dim=-1)
        t = torch.nn.functional.normalize(t, dim=-1)
        scale = float(ref.logit_scale.exp())
    golden = {
        "images": images,
        "image_embeds": v.tolist(),
        "pixel_values": pixels[0].reshape(-1).tolist(),
        "texts": TEXTS,
        "text_ids": ids,
        "text_embeds": t.tolist(),
        "logit_scale": scale,
        "projection_dim": model.config.projection_dim,
    }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f)
    print(f"wrote {out_dir}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, "
          f"logit scale {scale:.4f}, {len(images)} images, {len(TEXTS)} texts")


if __name__ == "__main__":
    main()
