#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch (CUDA, fp16) side of the CLIP throughput benchmark on an NVIDIA GPU.

Usage: bench-clip-transformers.py MODEL_DIR IDS_JSON BATCH[,BATCH...]

The same arguments and output as bench-clip-torch.py, for bench-clip on a
machine with an NVIDIA GPU: MODEL_DIR is loaded with the `transformers`
library (CLIPVisionModelWithProjection and CLIPTextModelWithProjection) in
float16 on the GPU and timed eager and under torch.compile (default mode),
with CUDA events, median of the timed calls after warm-up (torch.compile at
the largest batch only: each new shape compiles again, for a minute).  Vision is timed
from preprocessed pixels (the resize and crop are not timed here, while the
Vulkan side includes them from 320x240 frames); text on the first L
positions of the ids in IDS_JSON.  Prints one JSON object:
{"device", "torch", "transformers", "images_per_s": {batch: v},
 "texts_per_s": {...}, "images_per_s_compiled": {...},
 "texts_per_s_compiled": {...}, "batch1_image_ms": eager latency}.
$VIDMARK_BENCH_NO_COMPILE=1 skips torch.compile.
"""

import json
import os
import statistics
import sys
import time

import torch
import transformers
from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection


def median_ms(fn, inp, warmup=5, runs=30):
    # At least `warmup` calls and half a second: the GPU raises its clocks
    # only under sustained work.
    start = time.perf_counter()
    n = 0
    while n < warmup or time.perf_counter() - start < 0.5:
        fn(inp)
        torch.cuda.synchronize()
        n += 1
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(inp)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    model_dir, ids_path, batches = sys.argv[1], sys.argv[2], [int(b) for b in sys.argv[3].split(",")]
    dev = torch.device("cuda")
    vision = CLIPVisionModelWithProjection.from_pretrained(model_dir, dtype=torch.float16).to(dev).eval()
    text = CLIPTextModelWithProjection.from_pretrained(model_dir, dtype=torch.float16).to(dev).eval()
    with open(ids_path) as f:
        ids_doc = json.load(f)
    all_ids = torch.tensor(ids_doc["ids"], dtype=torch.long)[:, :ids_doc["length"]].to(dev)
    size = vision.config.image_size

    def enc_images(pixels, model=vision):
        return torch.nn.functional.normalize(model(pixel_values=pixels).image_embeds, dim=-1)

    def enc_texts(ids, model=text):
        return torch.nn.functional.normalize(model(input_ids=ids).text_embeds, dim=-1)

    gen = torch.Generator(device=dev).manual_seed(1)
    result = {"device": torch.cuda.get_device_name(dev), "torch": torch.__version__,
              "transformers": transformers.__version__, "threads": torch.get_num_threads(),
              "images_per_s": {}, "texts_per_s": {}}
    with torch.inference_mode():
        pixels = {b: torch.randn(b, 3, size, size, generator=gen, device=dev, dtype=torch.float16)
                  for b in batches}
        ids = {b: all_ids[torch.arange(b, device=dev) % all_ids.shape[0]] for b in batches}
        for b in batches:
            result["images_per_s"][str(b)] = b / median_ms(enc_images, pixels[b]) * 1e3
            result["texts_per_s"][str(b)] = b / median_ms(enc_texts, ids[b]) * 1e3
        result["batch1_image_ms"] = median_ms(enc_images, pixels[batches[0]][:1])
        if os.environ.get("VIDMARK_BENCH_NO_COMPILE") != "1":
            cv, ct = torch.compile(vision), torch.compile(text)
            result["images_per_s_compiled"], result["texts_per_s_compiled"] = {}, {}
            for b in batches[-1:]:
                result["images_per_s_compiled"][str(b)] = \
                    b / median_ms(lambda p: enc_images(p, cv), pixels[b], warmup=3) * 1e3
                result["texts_per_s_compiled"][str(b)] = \
                    b / median_ms(lambda i: enc_texts(i, ct), ids[b], warmup=3) * 1e3
    print(json.dumps(result))


if __name__ == "__main__":
    main()
