// topk_merge.comp — merges the per-workgroup partial top-k lists of one
// query (one workgroup per query) into its final top-k.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

#define NQ 1u
#define TILE 64u
layout (local_size_x = 64) in;
#include "topk.glsl"

layout (std430, binding = 0) readonly buffer Part { uvec2 part[]; };
layout (std430, binding = 1) writeonly buffer Scores { float scores[]; };
layout (std430, binding = 2) writeonly buffer Indices { uint indices[]; };

layout (push_constant) uniform Push {
  uint n_cand, k, score_off, index_off;
} p;

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint q = gl_WorkGroupID.x;
  uint base = q * p.n_cand;

  vm_topk_init ();
  for (uint t0 = 0u; t0 < p.n_cand; t0 += TILE)
    {
      uint e = t0 + tid;
      if (e < p.n_cand)
        {
          uvec2 c = part[base + e];
          if (c.y != 0xffffffffu)
            vm_topk_offer (0u, uintBitsToFloat (c.x), c.y);
        }
      vm_topk_after_tile (1u, p.k);
    }
  vm_topk_compact (0u, p.k);

  uint n = vm_cnt[0];
  for (uint e = tid; e < p.k; e += TILE)
    {
      scores[p.score_off + q * p.k + e] = e < n ? uintBitsToFloat (vm_cand[0][e].x) : uintBitsToFloat (NEG_INF_BITS);
      indices[p.index_off + q * p.k + e] = e < n ? vm_cand[0][e].y : 0xffffffffu;
    }
}
