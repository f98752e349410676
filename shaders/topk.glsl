// topk.glsl — per-workgroup top-k of up to NQ score streams.
// Candidates above the current k-th best are appended to a shared buffer of
// CAP = KMAX + OFFERS entries; when a stream could not take another tile,
// the best k are kept (score descending, index ascending) and the threshold
// rises.  TILE is the workgroup size; at most OFFERS (a multiple of TILE)
// candidates are offered per stream per tile, so the buffer never overflows.
// SPDX-License-Identifier: GPL-3.0-or-later

#define KMAX 64u
// Most candidates one stream can receive between two compactions.
#ifndef OFFERS
#define OFFERS TILE
#endif
#define CAP (KMAX + OFFERS)
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

// Appends a candidate the caller has checked against the threshold.
void vm_topk_push (uint q, float s, uint index)
{
  uint pos = atomicAdd (vm_cnt[q], 1u);
  vm_cand[q][pos] = uvec2 (floatBitsToUint (s), index);
}

void vm_topk_offer (uint q, float s, uint index)
{
  if (s > vm_thresh[q])
    vm_topk_push (q, s, index);
}

// Keeps the best k of stream q, in order: each candidate's rank is the
// number of better ones (unique: rows are offered once), and candidates of
// rank < k move to that slot.  Three barriers, no sorting network.
// Call with every thread, after a barrier.
void vm_topk_compact (uint q, uint k)
{
  uint tid = gl_LocalInvocationID.x;
  uint n = vm_cnt[q];
  uvec2 mine[CAP / TILE];
  uint rank[CAP / TILE];

  for (uint j = 0u; j < CAP / TILE; j++)
    {
      uint e = tid + j * TILE;
      rank[j] = 0xffffffffu;
      if (e < n)
        {
          uint r = 0u;
          mine[j] = vm_cand[q][e];
          for (uint f = 0u; f < n; f++)
            r += vm_better (vm_cand[q][f], mine[j]) ? 1u : 0u;
          rank[j] = r;
        }
    }
  barrier ();
  for (uint j = 0u; j < CAP / TILE; j++)
    if (rank[j] < k)
      vm_cand[q][rank[j]] = mine[j];
  barrier ();
  if (tid == 0u)
    {
      vm_cnt[q] = min (n, k);
      if (n >= k)
        vm_thresh[q] = uintBitsToFloat (vm_cand[q][k - 1u].x);
    }
  barrier ();
}

// After every tile: compact the streams that could not take another tile.
void vm_topk_after_tile (uint nq, uint k)
{
  barrier ();
  for (uint q = 0u; q < nq; q++)
    if (vm_cnt[q] > CAP - OFFERS)
      vm_topk_compact (q, k);
}
