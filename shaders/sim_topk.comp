// sim_topk.comp — scores of up to 16 fp32 queries against fp16 rows with a
// per-workgroup top-k: the database is read once, the N×Q score matrix is
// never written.  Grid: (workgroups over the rows, query groups of 16).
// Writes k (score, row) pairs per query per workgroup to the partials,
// merged by topk_merge.comp.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require

#define NQ 16u
#define TILE 64u
layout (local_size_x = 64) in;
#include "topk.glsl"

layout (std430, binding = 0) readonly buffer Db { f16vec4 db[]; };
layout (std430, binding = 1) readonly buffer Qs { vec4 qv[]; };
layout (std430, binding = 2) writeonly buffer Part { uvec2 part[]; };

layout (push_constant) uniform Push {
  uint n_rows, d4, n_queries, k;
  uint db_off4, q_off4, rows_per_wg, slot_base;
  uint n_slots, row_base;
} p;

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint q0 = gl_WorkGroupID.y * NQ;
  uint nq = min (NQ, p.n_queries - q0);
  uint r0 = gl_WorkGroupID.x * p.rows_per_wg;
  uint r1 = min (r0 + p.rows_per_wg, p.n_rows);

  vm_topk_init ();

  for (uint t0 = r0; t0 < r1; t0 += TILE)
    {
      uint row = t0 + tid;
      if (row < r1)
        {
          float acc[NQ];
          for (uint q = 0u; q < NQ; q++)
            acc[q] = 0.0;
          uint rb = p.db_off4 + row * p.d4;
          uint qb = p.q_off4 + q0 * p.d4;
          for (uint i = 0u; i < p.d4; i++)
            {
              vec4 h = vec4 (db[rb + i]);
              for (uint q = 0u; q < nq; q++)
                acc[q] += dot (h, qv[qb + q * p.d4 + i]);
            }
          for (uint q = 0u; q < nq; q++)
            vm_topk_offer (q, acc[q], p.row_base + row);
        }
      vm_topk_after_tile (nq, p.k);
    }

  for (uint q = 0u; q < nq; q++)
    {
      vm_topk_compact (q, p.k);
      uint n = vm_cnt[q];
      uint ob = ((q0 + q) * p.n_slots + p.slot_base + gl_WorkGroupID.x) * p.k;
      for (uint e = tid; e < p.k; e += TILE)
        part[ob + e] = e < n ? vm_cand[q][e] : uvec2 (NEG_INF_BITS, 0xffffffffu);
    }
}
