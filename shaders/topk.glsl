// topk.glsl — per-workgroup top-k of up to NQ score streams.
// Candidates above the current k-th best are appended to a shared buffer of
// CAP = KMAX + TILE entries; when a stream holds more than k, a bitonic sort
// (score descending, index ascending) keeps the best k and raises the
// threshold.  TILE is the workgroup size; each thread offers at most one
// candidate per stream per tile, so the buffer never overflows.
// SPDX-License-Identifier: GPL-3.0-or-later

#define KMAX 64u
#define CAP 128u
#define NEG_INF_BITS 0xff800000u

shared uvec2 vm_cand[NQ][CAP];
shared uint vm_cnt[NQ];
shared float vm_thresh[NQ];

bool vm_better (uvec2 a, uvec2 b)
{
  float fa = uintBitsToFloat (a.x);
  float fb = uintBitsToFloat (b.x);
  return fa > fb || (fa == fb && a.y < b.y);
}

void vm_topk_init ()
{
  for (uint q = gl_LocalInvocationID.x; q < NQ; q += TILE)
    {
      vm_cnt[q] = 0u;
      vm_thresh[q] = uintBitsToFloat (NEG_INF_BITS);
    }
  barrier ();
}

void vm_topk_offer (uint q, float s, uint index)
{
  if (s > vm_thresh[q])
    {
      uint pos = atomicAdd (vm_cnt[q], 1u);
      vm_cand[q][pos] = uvec2 (floatBitsToUint (s), index);
    }
}

// Sorts stream q and keeps its best k.  Call with every thread, after a barrier.
void vm_topk_compact (uint q, uint k)
{
  uint tid = gl_LocalInvocationID.x;
  uint n = vm_cnt[q];

  for (uint e = tid; e < CAP; e += TILE)
    if (e >= n)
      vm_cand[q][e] = uvec2 (NEG_INF_BITS, 0xffffffffu);
  barrier ();

  for (uint size = 2u; size <= CAP; size <<= 1)
    for (uint stride = size >> 1; stride > 0u; stride >>= 1)
      {
        for (uint t = tid; t < CAP / 2u; t += TILE)
          {
            uint lo = 2u * t - (t & (stride - 1u));
            uint hi = lo + stride;
            uvec2 a = vm_cand[q][lo];
            uvec2 b = vm_cand[q][hi];
            bool first_best = (lo & size) == 0u;
            if (first_best ? vm_better (b, a) : vm_better (a, b))
              {
                vm_cand[q][lo] = b;
                vm_cand[q][hi] = a;
              }
          }
        barrier ();
      }

  if (tid == 0u)
    {
      vm_cnt[q] = min (n, k);
      if (n >= k)
        vm_thresh[q] = uintBitsToFloat (vm_cand[q][k - 1u].x);
    }
  barrier ();
}

// After every tile: compact the streams that passed k.
void vm_topk_after_tile (uint nq, uint k)
{
  barrier ();
  for (uint q = 0u; q < nq; q++)
    if (vm_cnt[q] > k)
      vm_topk_compact (q, k);
}
