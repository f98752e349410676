#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch (CUDA) peer of `bench-gpu --similarity` on an NVIDIA GPU.

Usage: bench-sim-torch.py ROWS DIM QUERIES[,QUERIES...] K REPEAT

The same work as the Vulkan similarity kernels: ROWS × DIM fp16 rows on the
GPU, fp16 queries, scores = rows · queriesᵀ and the top K rows per query
(torch.matmul + torch.topk), timed by the wall clock around the call and a
synchronisation, like bench-gpu's figures; best of REPEAT after half a
second of warm-up.  Prints one line per query count: queries, ms per batch,
ms per query.
"""

import sys
import time

import torch


def main():
    rows, dim, counts, k, repeat = (int(sys.argv[1]), int(sys.argv[2]),
                                    [int(q) for q in sys.argv[3].split(",")], int(sys.argv[4]),
                                    int(sys.argv[5]))
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(1)
    x = torch.randn(rows, dim, generator=gen, device=dev, dtype=torch.float16)
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(dev)}: {rows} x {dim} fp16, top-{k}")
    print(f"{'queries':>8} {'ms / batch':>12} {'ms / query':>14}")
    for nq in counts:
        q = torch.randn(nq, dim, generator=gen, device=dev, dtype=torch.float16)

        def run():
            torch.topk(x @ q.T, k, dim=0)
            torch.cuda.synchronize()

        start = time.perf_counter()
        while time.perf_counter() - start < 0.5:
            run()
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        print(f"{nq:8d} {best * 1e3:12.3f} {best * 1e3 / nq:14.4f}")


if __name__ == "__main__":
    main()
