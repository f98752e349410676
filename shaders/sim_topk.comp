// sim_topk.comp — scores of up to NQ fp32 queries against fp16 rows with a
// per-workgroup top-k: the database is read once per NQ queries and the
// N×Q score matrix is never written.  R rows per invocation, 64·R rows per
// tile; one dispatch per pass of NQ queries, its workgroups spread over the
// rows.  Writes k (score, row) pairs per query per workgroup to the
// partials, merged by topk_merge.comp.
// Variants: QUERIES = 1, 4, 8 or 16 (compile-time, so the query loop is unrolled
// with no branches: loads stay uniform, which CPU drivers need to vectorise);
// TEXEL8 reads the rows through an RGBA32UI texel buffer (one fetch brings
// eight halves: CPU drivers gather these far faster than storage loads),
// otherwise through 16-bit storage.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : require

#ifndef QUERIES
#define QUERIES 16
#endif
#define NQ uint (QUERIES)
// Rows per invocation per tile: each query value loaded serves R rows
// (measured best on lavapipe; 16 queries × 4 rows spill registers).
#if QUERIES > 8
#define R 2u
#else
#define R 4u
#endif
#define TILE 64u
#define OFFERS (TILE * R)
layout (local_size_x = 64) in;
#include "topk.glsl"

#ifdef TEXEL8
// RGBA32UI texels: one fetch brings 8 halves, unpacked in the shader.
layout (binding = 0) uniform usamplerBuffer db_tex;
#else
layout (std430, binding = 0) readonly buffer Db { f16vec4 db[]; };
#define DB_ROW(i) vec4 (db[i])
#endif
// The queries of this pass as a uniform buffer: every lane reads the same
// value, which CPU drivers turn into one load and GPUs serve from the
// constant cache.  At most 64 KiB are bound (16 queries × 1024 dims).
layout (std140, binding = 1) uniform Qs { vec4 qv[4096]; };
layout (std430, binding = 2) writeonly buffer Part { uvec2 part[]; };

layout (push_constant) uniform Push {
  uint n_rows, d4, n_queries, k;
  uint db_off4, q_off4, rows_per_wg, slot_base;
  uint n_slots, row_base, q_base;
} p;

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint q0 = p.q_base;   /* global index of this pass's first query */
  uint nq = min (NQ, p.n_queries - q0);
  uint r0 = gl_WorkGroupID.x * p.rows_per_wg;
  uint r1 = min (r0 + p.rows_per_wg, p.n_rows);
  uint qb[NQ];
  float th[NQ];

  [[unroll]] for (uint q = 0u; q < NQ; q++)
    {
      /* Past the last query: repeat it (its scores are never offered). */
      qb[q] = p.q_off4 + min (q, nq - 1u) * p.d4;
      th[q] = uintBitsToFloat (NEG_INF_BITS);
    }

  vm_topk_init ();

  for (uint t0 = r0; t0 < r1; t0 += TILE * R)
    {
      uint rb[R];
      float acc[R][NQ];

      [[unroll]] for (uint j = 0u; j < R; j++)
        {
          rb[j] = p.db_off4 + min (t0 + tid + j * TILE, r1 - 1u) * p.d4;
          [[unroll]] for (uint q = 0u; q < NQ; q++)
            acc[j][q] = 0.0;
        }
#ifdef TEXEL8
      for (uint i = 0u; i < p.d4; i += 2u)
        {
          vec4 h0[R], h1[R];
          [[unroll]] for (uint j = 0u; j < R; j++)
            {
              uvec4 w = texelFetch (db_tex, int ((rb[j] + i) >> 1));
              h0[j] = vec4 (unpackHalf2x16 (w.x), unpackHalf2x16 (w.y));
              h1[j] = vec4 (unpackHalf2x16 (w.z), unpackHalf2x16 (w.w));
            }
          [[unroll]] for (uint q = 0u; q < NQ; q++)
            {
              vec4 q0v = qv[qb[q] + i];
              vec4 q1v = qv[qb[q] + i + 1u];
              [[unroll]] for (uint j = 0u; j < R; j++)
                acc[j][q] += dot (h0[j], q0v) + dot (h1[j], q1v);
            }
        }
#else
      for (uint i = 0u; i < p.d4; i++)
        {
          vec4 h[R];
          [[unroll]] for (uint j = 0u; j < R; j++)
            h[j] = DB_ROW (rb[j] + i);
          [[unroll]] for (uint q = 0u; q < NQ; q++)
            {
              vec4 qq = qv[qb[q] + i];
              [[unroll]] for (uint j = 0u; j < R; j++)
                acc[j][q] += dot (h[j], qq);
            }
        }
#endif
      [[unroll]] for (uint j = 0u; j < R; j++)
        {
          uint row = t0 + tid + j * TILE;
          [[unroll]] for (uint q = 0u; q < NQ; q++)
            if (row < r1 && q < nq && acc[j][q] > th[q])
              vm_topk_push (q, acc[j][q], p.row_base + row);
        }

      vm_topk_after_tile (nq, p.k);
      [[unroll]] for (uint q = 0u; q < NQ; q++)
        th[q] = vm_thresh[q];
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
