#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tiny random CLIP models in the Hugging Face file format, with
golden embeddings computed by an independent float64 numpy reference.

Usage: make-tiny-clip.py OUT_DIR
       make-tiny-clip.py --vit-b32 OUT_DIR [F32|F16]

Each model folder holds config.json (sub-configs list only the values that
differ from Hugging Face's defaults), model.safetensors (written by hand:
header JSON padded to 8 bytes, tensors neither in name nor in data order,
the unused I64 position_ids buffers of real checkpoints, __metadata__),
vocab.json and merges.txt (a small byte-level BPE vocabulary learnt here from
a tiny corpus, laid out as CLIP's: 256 byte symbols, the same with "</w>",
one token per merge, then <|startoftext|> and <|endoftext|>), optionally
preprocessor_config.json, the test images as raw RGB8 files, and golden.json:

  {"images": [{"file", "width", "height"}], "image_embeds": [[...]],
   "pixel_values": [...] (of the first image), "texts": [...],
   "text_ids": [[... padded to the context ...]], "text_embeds": [[...]],
   "logit_scale": exp(stored logit_scale)}

The reference follows transformers' CLIPModel (pre-LayerNorm ViT, causal
text transformer, pooling at the end token) and CLIPImageProcessor with
PIL's bicubic resampling, which it reimplements with PIL's fixed-point
arithmetic (separable, a = -0.5, support scaled when downscaling, 22-bit
weights, 8-bit clipping after each pass).  It shares no code with the C
and GLSL implementation under test.

--vit-b32 writes one ViT-B/32-shaped model with random weights for the
benchmark, and no golden data: vocabulary size 49408, with CLIP's real BPE
vocabulary when $VIDMARK_CLIP_BPE names bpe_simple_vocab_16e6.txt.gz (so
texts have their real token counts), else the tiny one.
"""

import gzip
import html
import json
import math
import os
import re
import struct
import sys

import numpy as np

START = "<|startoftext|>"
END = "<|endoftext|>"

# ---- tokenizer ------------------------------------------------------------


def byte_symbols():
    """Byte → printable stand-in (the GPT-2 table), in vocabulary order."""
    keep = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in keep] + [table[b] for b in range(256) if b not in keep], table


PIECE = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")


def clean(text):
    assert all(ord(c) < 128 for c in text), "the reference tokenizer handles ASCII only"
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def word_symbols(piece, table):
    chars = [table[b] for b in piece.encode("utf-8")]
    return chars[:-1] + [chars[-1] + "</w>"]


def learn_merges(corpus, n_merges, table):
    """A small BPE: most frequent adjacent pair first (ties by the pair),
    never creating a token twice."""
    words = {}
    for text in corpus:
        for piece in PIECE.findall(clean(text)):
            key = tuple(word_symbols(piece, table))
            words[key] = words.get(key, 0) + 1
    merges, made = [], set()
    for _ in range(n_merges):
        counts = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        best = next((p for p, _ in ranked if p[0] + p[1] not in made), None)
        if best is None:
            break
        merges.append(best)
        made.add(best[0] + best[1])
        new_words = {}
        for w, c in words.items():
            out, k = [], 0
            while k < len(w):
                if k + 1 < len(w) and (w[k], w[k + 1]) == best:
                    out.append(w[k] + w[k + 1])
                    k += 2
                else:
                    out.append(w[k])
                    k += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + c
        words = new_words
    return merges


class Tokenizer:
    def __init__(self, merges):
        symbols, self.table = byte_symbols()
        tokens = symbols + [s + "</w>" for s in symbols] + [a + b for a, b in merges] + [START, END]
        self.vocab = {t: i for i, t in enumerate(tokens)}
        assert len(self.vocab) == len(tokens)
        self.rank = {pair: r for r, pair in enumerate(merges)}
        self.merges = merges

    def bpe(self, parts):
        while len(parts) > 1:
            ranked = [(self.rank[p], k) for k, p in enumerate(zip(parts, parts[1:])) if p in self.rank]
            if not ranked:
                break
            _, k = min(ranked)
            pair = (parts[k], parts[k + 1])
            out, k = [], 0
            while k < len(parts):
                if k + 1 < len(parts) and (parts[k], parts[k + 1]) == pair:
                    out.append(parts[k] + parts[k + 1])
                    k += 2
                else:
                    out.append(parts[k])
                    k += 1
            parts = out
        return parts

    def encode_padded(self, text, context):
        ids = [self.vocab[START]]
        for piece in PIECE.findall(clean(text)):
            if piece in (START, END):
                ids.append(self.vocab[piece])
            else:
                ids.extend(self.vocab[p] for p in self.bpe(word_symbols(piece, self.table)))
        ids.append(self.vocab[END])
        if len(ids) > context:
            ids = ids[:context]
            ids[-1] = self.vocab[END]
        return ids + [0] * (context - len(ids))

    def write(self, out_dir):
        with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(self.vocab, f, ensure_ascii=False)
        with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            for a, b in self.merges:
                f.write(f"{a} {b}\n")


CORPUS = [
    "a photo of a cat", "a photo of a dog", "two dogs playing in the snow",
    "a red car parked on the street", "the quick brown fox jumps over the lazy dog",
    "people walking on the beach at sunset", "a bowl of soup on a wooden table",
    "a man riding a horse", "a woman reading a book in the park", "the cat is sleeping",
]

# ---- CLIP configuration and weights ----------------------------------------

TEXT_DEFAULTS = {"vocab_size": 49408, "hidden_size": 512, "intermediate_size": 2048,
                 "projection_dim": 512, "num_hidden_layers": 12, "num_attention_heads": 8,
                 "max_position_embeddings": 77, "hidden_act": "quick_gelu",
                 "layer_norm_eps": 1e-5, "eos_token_id": 2}
VISION_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "projection_dim": 512,
                   "num_hidden_layers": 12, "num_attention_heads": 12, "num_channels": 3,
                   "image_size": 224, "patch_size": 32, "hidden_act": "quick_gelu",
                   "layer_norm_eps": 1e-5}
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]


def full(defaults, given):
    c = dict(defaults)
    c.update(given)
    return c


def make_weights(rng, text, vision, proj, scale=1.0):
    """Random weights named as transformers' CLIPModel names them."""
    w = {}

    def linear(prefix, n_out, n_in, bias=True):
        w[prefix + ".weight"] = rng.standard_normal((n_out, n_in)) * (scale / math.sqrt(n_in))
        if bias:
            w[prefix + ".bias"] = rng.standard_normal(n_out) * 0.1

    def norm(prefix, n):
        w[prefix + ".weight"] = 1.0 + 0.2 * rng.standard_normal(n)
        w[prefix + ".bias"] = 0.2 * rng.standard_normal(n)

    def layers(tower, c):
        d, i = c["hidden_size"], c["intermediate_size"]
        for l in range(c["num_hidden_layers"]):
            p = f"{tower}.encoder.layers.{l}."
            for n in ("q", "k", "v", "out"):
                linear(p + f"self_attn.{n}_proj", d, d)
            norm(p + "layer_norm1", d)
            norm(p + "layer_norm2", d)
            linear(p + "mlp.fc1", i, d)
            linear(p + "mlp.fc2", d, i)

    dv, pz = vision["hidden_size"], vision["patch_size"]
    n_pos = (vision["image_size"] // pz) ** 2 + 1
    w["vision_model.embeddings.class_embedding"] = rng.standard_normal(dv) * 0.5
    w["vision_model.embeddings.patch_embedding.weight"] = \
        rng.standard_normal((dv, 3, pz, pz)) * (scale / math.sqrt(3 * pz * pz))
    w["vision_model.embeddings.position_embedding.weight"] = rng.standard_normal((n_pos, dv)) * 0.3
    norm("vision_model.pre_layrnorm", dv)
    layers("vision_model", vision)
    norm("vision_model.post_layernorm", dv)
    dt = text["hidden_size"]
    w["text_model.embeddings.token_embedding.weight"] = rng.standard_normal((text["vocab_size"], dt)) * 0.5
    w["text_model.embeddings.position_embedding.weight"] = \
        rng.standard_normal((text["max_position_embeddings"], dt)) * 0.3
    layers("text_model", text)
    norm("text_model.final_layer_norm", dt)
    linear("visual_projection", proj, dv, bias=False)
    linear("text_projection", proj, dt, bias=False)
    w["logit_scale"] = np.array(math.log(1 / 0.07) + 0.25 * rng.standard_normal())
    return w


def write_safetensors(path, weights, dtype, rng, extra):
    """Tensors in a shuffled data order and another header order, plus the
    unused I64 buffers in @extra."""
    names = sorted(weights)
    order = list(rng.permutation(len(names)))
    np_type = {"F32": "<f4", "F16": "<f2"}[dtype]
    blobs, header, offset = [], {}, 0
    items = [(names[k], np.asarray(weights[names[k]]).astype(np_type), dtype) for k in order]
    for name, arr in extra.items():
        items.insert(int(rng.integers(0, len(items) + 1)), (name, arr.astype("<i8"), "I64"))
    for name, arr, dt in items:
        data = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    keys = list(header)
    rng.shuffle(keys)
    ordered = {"__metadata__": {"format": "pt"}}
    ordered.update((k, header[k]) for k in keys)
    text = json.dumps(ordered).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ---- the reference forward pass (float64) ----------------------------------

def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


ERF = np.vectorize(math.erf)


def activation(x, name):
    if name == "quick_gelu":
        return x / (1.0 + np.exp(-1.702 * x))
    assert name == "gelu"
    return 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)))


def encoder(x, w, prefix, c, causal):
    n, d = x.shape
    h = c["num_attention_heads"]
    dh = d // h
    eps = c["layer_norm_eps"]
    for l in range(c["num_hidden_layers"]):
        p = f"{prefix}.encoder.layers.{l}."
        lin = lambda name, t: t @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        y = layer_norm(x, w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"], eps)
        q = lin("self_attn.q_proj", y).reshape(n, h, dh).transpose(1, 0, 2) * dh ** -0.5
        k = lin("self_attn.k_proj", y).reshape(n, h, dh).transpose(1, 0, 2)
        v = lin("self_attn.v_proj", y).reshape(n, h, dh).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1)
        if causal:
            s = s + np.triu(np.full((n, n), -np.inf), 1)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(n, d)
        x = x + lin("self_attn.out_proj", o)
        y = layer_norm(x, w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"], eps)
        x = x + lin("mlp.fc2", activation(lin("mlp.fc1", y), c["hidden_act"]))
    return x


def l2(v):
    return v / np.linalg.norm(v)


def encode_image(pixels, w, c):
    """pixels: [3][S][S] float64."""
    pz, s = c["patch_size"], c["image_size"]
    side = s // pz
    weight = w["vision_model.embeddings.patch_embedding.weight"].reshape(c["hidden_size"], -1)
    tokens = [w["vision_model.embeddings.class_embedding"]]
    for i in range(side):
        for j in range(side):
            tokens.append(weight @ pixels[:, i * pz:(i + 1) * pz, j * pz:(j + 1) * pz].reshape(-1))
    x = np.array(tokens) + w["vision_model.embeddings.position_embedding.weight"]
    eps = c["layer_norm_eps"]
    x = layer_norm(x, w["vision_model.pre_layrnorm.weight"], w["vision_model.pre_layrnorm.bias"], eps)
    x = encoder(x, w, "vision_model", c, causal=False)
    pooled = layer_norm(x[0], w["vision_model.post_layernorm.weight"], w["vision_model.post_layernorm.bias"], eps)
    return l2(w["visual_projection.weight"] @ pooled)


def encode_text(ids, w, c):
    ids = np.array(ids)
    n = len(ids)
    x = w["text_model.embeddings.token_embedding.weight"][ids] + \
        w["text_model.embeddings.position_embedding.weight"][:n]
    x = encoder(x, w, "text_model", c, causal=True)
    x = layer_norm(x, w["text_model.final_layer_norm.weight"], w["text_model.final_layer_norm.bias"],
                   c["layer_norm_eps"])
    if c["eos_token_id"] == 2:
        pos = int(np.argmax(ids))            # legacy: the highest id is the end token
    else:
        pos = int(np.nonzero(ids == c["eos_token_id"])[0][0])
    return l2(w["text_projection.weight"] @ x[pos])


# ---- PIL's bicubic resampling, as Pillow's Resample.c computes it -----------

PRECISION_BITS = 32 - 8 - 2


def bicubic_filter(x):
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def resample_coeffs(in_size, out_size):
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    out = []
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        ss = 1.0 / filterscale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = [bicubic_filter((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        ww = sum(k)
        k = [v / ww if ww != 0.0 else 0.0 for v in k]
        fixed = [int(-0.5 + v * (1 << PRECISION_BITS)) if v < 0 else int(0.5 + v * (1 << PRECISION_BITS))
                 for v in k]
        out.append((xmin, np.array(fixed, dtype=np.int64)))
    return out


def resample_axis(img, out_size, axis):
    """img: int64 array [h][w][3]; resizes along @axis (1: horizontal)."""
    img = np.moveaxis(img, axis, 0)
    res = np.empty((out_size,) + img.shape[1:], dtype=np.int64)
    for i, (xmin, k) in enumerate(resample_coeffs(img.shape[0], out_size)):
        ss = (1 << (PRECISION_BITS - 1)) + np.tensordot(k, img[xmin:xmin + len(k)], axes=(0, 0))
        res[i] = np.clip(ss >> PRECISION_BITS, 0, 255)
    return np.moveaxis(res, 0, axis)


def preprocess(rgb, width, height, pre):
    """CLIPImageProcessor: shortest edge → size (bicubic), centre crop,
    rescale, normalise.  Returns [3][crop][crop] float64."""
    img = np.frombuffer(rgb, dtype=np.uint8).reshape(height, width, 3).astype(np.int64)
    size = pre["shortest_edge"]
    if width <= height:
        nw, nh = size, int(size * height / width)
    else:
        nw, nh = int(size * width / height), size
    # Pillow resizes horizontally first, then vertically, each pass skipped
    # when that side keeps its size.
    if nw != width:
        img = resample_axis(img, nw, 1)
    if nh != height:
        img = resample_axis(img, nh, 0)
    crop = pre["crop"]
    top, left = (nh - crop) // 2, (nw - crop) // 2
    img = img[top:top + crop, left:left + crop].astype(np.float64)
    img = (img / 255.0 - np.array(pre["mean"])) / np.array(pre["std"])
    return img.transpose(2, 0, 1)


# ---- the models --------------------------------------------------------------

MODELS = [
    {
        "name": "tiny-quick-f32",
        "dtype": "F32",
        "projection_dim": 24,
        "text": {"hidden_size": 36, "intermediate_size": 60, "num_hidden_layers": 3,
                 "num_attention_heads": 3},
        "vision": {"hidden_size": 40, "intermediate_size": 72, "num_hidden_layers": 3,
                   "num_attention_heads": 5, "image_size": 35, "patch_size": 7},
        "preprocessor": None,
    },
    {
        "name": "tiny-gelu-f16",
        "dtype": "F16",
        "projection_dim": 20,
        "text": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 2, "max_position_embeddings": 20, "hidden_act": "gelu",
                 "layer_norm_eps": 1e-6, "eos_token_id": "END"},
        "vision": {"hidden_size": 48, "intermediate_size": 80, "num_hidden_layers": 2,
                   "num_attention_heads": 3, "image_size": 40, "patch_size": 8,
                   "hidden_act": "gelu", "layer_norm_eps": 1e-6},
        "preprocessor": {"shortest_edge": 44, "crop": 40,
                         "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]},
    },
]

IMAGE_SIZES = [(35, 35), (50, 41), (20, 30), (64, 35), (50, 41), (37, 90)]

TEXTS = [
    "a photo of a cat",
    "Two dogs playing in the snow!",
    "",
    "the quick brown fox jumps over the lazy dog near 42 red cars, 7 horses & a book",
    "people walking on the beach at sunset " * 4,
    "zebra",
]


def read_real_merges(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    return [tuple(line.split()) for line in lines[1:1 + 49152 - 256 - 2]]


def write_model(spec, out_root, rng, merges_count=120, bpe=None):
    out_dir = os.path.join(out_root, spec["name"])
    os.makedirs(out_dir, exist_ok=True)
    _, table = byte_symbols()
    if bpe is not None:
        tok = Tokenizer(read_real_merges(bpe))
        assert len(tok.vocab) == 49408
    else:
        tok = Tokenizer(learn_merges(CORPUS, merges_count, table))
    tok.write(out_dir)

    text_given = dict(spec["text"])
    text_given["vocab_size"] = text_given.get("vocab_size", len(tok.vocab))
    if text_given.get("eos_token_id") == "END":
        text_given["eos_token_id"] = tok.vocab[END]
    text = full(TEXT_DEFAULTS, text_given)
    vision = full(VISION_DEFAULTS, spec["vision"])
    proj = spec["projection_dim"]
    config = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": proj,
              "logit_scale_init_value": 2.6592, "torch_dtype": "float32",
              "text_config": text_given, "vision_config": dict(spec["vision"])}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    pre = {"shortest_edge": vision["image_size"], "crop": vision["image_size"],
           "mean": OPENAI_MEAN, "std": OPENAI_STD}
    if spec["preprocessor"] is not None:
        pre = spec["preprocessor"]
        with open(os.path.join(out_dir, "preprocessor_config.json"), "w") as f:
            json.dump({"crop_size": {"height": pre["crop"], "width": pre["crop"]},
                       "do_center_crop": True, "do_normalize": True, "do_rescale": True,
                       "do_resize": True, "image_processor_type": "CLIPImageProcessor",
                       "image_mean": pre["mean"], "image_std": pre["std"], "resample": 3,
                       "rescale_factor": 1 / 255, "size": {"shortest_edge": pre["shortest_edge"]}},
                      f, indent=2)

    weights = make_weights(rng, text, vision, proj)
    n_pos = (vision["image_size"] // vision["patch_size"]) ** 2 + 1
    extra = {"text_model.embeddings.position_ids": np.arange(text["max_position_embeddings"])[None, :],
             "vision_model.embeddings.position_ids": np.arange(n_pos)[None, :]}
    write_safetensors(os.path.join(out_dir, "model.safetensors"), weights, spec["dtype"], rng, extra)
    # The reference sees the values as stored.
    np_type = {"F32": np.float32, "F16": np.float16}[spec["dtype"]]
    weights = {k: np.asarray(v).astype(np_type).astype(np.float64) for k, v in weights.items()}
    return out_dir, tok, text, vision, pre, weights


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--vit-b32":
        rng = np.random.default_rng(32)
        spec = {"name": "vit-b32", "dtype": args[2] if len(args) > 2 else "F32", "projection_dim": 512,
                "text": {"vocab_size": 49408}, "vision": {}, "preprocessor": None}
        bpe = os.environ.get("VIDMARK_CLIP_BPE")
        write_model(spec, args[1], rng, bpe=bpe if bpe and os.path.exists(bpe) else None)
        return
    if len(args) != 1:
        sys.exit(__doc__)
    out_root = args[0]
    rng = np.random.default_rng(20261122)
    for spec in MODELS:
        out_dir, tok, text, vision, pre, w = write_model(spec, out_root, rng)
        images, embeds = [], []
        pixel_values = None
        for n, (width, height) in enumerate(IMAGE_SIZES):
            rgb = rng.integers(0, 256, size=width * height * 3, dtype=np.uint8)
            # Smooth structure plus noise, so resampling matters.
            yy, xx = np.mgrid[0:height, 0:width]
            ramp = ((xx * 255 // max(width - 1, 1) + yy * 3) % 256).astype(np.uint8)
            rgb = rgb.reshape(height, width, 3)
            rgb[:, :, 0] = (rgb[:, :, 0] // 4 + ramp * 3 // 4).astype(np.uint8)
            data = rgb.tobytes()
            name = f"image{n}.rgb"
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(data)
            pixels = preprocess(data, width, height, pre)
            if pixel_values is None:
                pixel_values = pixels.reshape(-1).tolist()
            images.append({"file": name, "width": width, "height": height})
            embeds.append(encode_image(pixels, w, vision).tolist())
        context = text["max_position_embeddings"]
        ids = [tok.encode_padded(t, context) for t in TEXTS]
        golden = {
            "images": images,
            "image_embeds": embeds,
            "pixel_values": pixel_values,
            "texts": TEXTS,
            "text_ids": ids,
            "text_embeds": [encode_text(i, w, text).tolist() for i in ids],
            "logit_scale": math.exp(float(w["logit_scale"])),
            "projection_dim": spec["projection_dim"],
        }
        with open(os.path.join(out_dir, "golden.json"), "w") as f:
            json.dump(golden, f)


if __name__ == "__main__":
    main()
