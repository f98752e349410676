// sim_topk_lanes.comp — the similarity kernel of sim_topk.comp laid out for
// CPU drivers (lavapipe), whose subgroup is one SIMD register of 8 lanes.
// The 8 lanes of a subgroup read one row together: lane l takes texels
// l, l + 8, l + 16 … of it (RGBA32UI, 8 halves each), so every fetch reads
// 128 contiguous bytes and the database streams through memory in order;
// a shuffle butterfly over 8 rows finishes their dot products and leaves
// row l's score in lane l (subgroupAdd per row measured 2.8x slower on
// lavapipe: it is a loop over the lanes).  Each lane keeps its slice
// of the queries in registers for the whole dispatch (loaded once).  A
// subgroup scores 8 rows per step and R steps per tile; the top-k is
// topk.glsl's, exactly as in sim_topk.comp (same push constants, same
// partials), and topk_merge.comp merges the workgroups.
// Needs: DIM (the dimension, a multiple of 64), QUERIES, a subgroup size of 8
// with shuffles (the caller checks).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#ifndef QUERIES
#define QUERIES 1
#endif
#ifndef DIM
#define DIM 512
#endif
#define NQ uint (QUERIES)
/* The halves of a word as floats scaled by 2^-112: sign, exponent and
 * mantissa moved into place with shifts and masks (no conversion
 * instruction: about 4 % less CPU time on lavapipe than unpackHalf2x16,
 * whose vpmovdw + vcvtph2ps probably compete with the texel fetch for the
 * shuffle port).  An arithmetic right shift by 3 of the half in the top 16
 * bits puts its sign, exponent and mantissa at bits 31, 27-23 and 22-13 at
 * once (bits 30-28 copy the sign and are masked off): 3 and 2 operations a
 * half instead of 5 and 4, 2-3 % less CPU time at 1 query.  Exact for
 * normal halves, and for subnormal ones unless the driver flushes float
 * denormals (then they read as 0: |x| < 6.1e-5).  Not for inf or NaN.  The
 * queries are scaled by 2^112 instead (exact: a power of two). */
#define HALF_LO(w) uintBitsToFloat (uint (int ((w) << 16) >> 3) & 0x8fffe000u)
#define HALF_HI(w) uintBitsToFloat (uint (int (w) >> 3) & 0x8fffe000u)
#define HALF_SCALE uintBitsToFloat (0x77800000u)   /* 2^112 */
#define LANES 8u
#define T8 (uint (DIM) / 8u)        /* texels of 8 halves per row */
#define TL (T8 / LANES)             /* texels per lane per row */
/* Steps of 8 rows per subgroup per tile (within 32 KiB of shared memory).
 * STEPS and WG (workgroup size) override for experiments; on lavapipe,
 * 2 or 8 steps and workgroups of one subgroup (WG=8) measured the same. */
#if defined (STEPS)
#define R uint (STEPS)
#elif QUERIES > 8
#define R 2u
#else
#define R 4u
#endif
#ifndef WG
#define WG 64
#endif
#define TILE uint (WG)
#define OFFERS (TILE * R)
layout (local_size_x = WG) in;
#include "topk.glsl"

layout (binding = 0) uniform usamplerBuffer db_tex;
layout (std140, binding = 1) uniform Qs { vec4 qv[4096]; };
layout (std430, binding = 2) writeonly buffer Part { uvec2 part[]; };

layout (push_constant) uniform Push {
  uint n_rows, d4, n_queries, k;
  uint db_off4, q_off4, rows_per_wg, slot_base;
  uint n_slots, row_base, q_base;
} p;

void main ()
{
  uint lane = gl_SubgroupInvocationID;
  uint sg = gl_SubgroupID;
  uint q0 = p.q_base;
  uint nq = min (NQ, p.n_queries - q0);
  uint r0 = gl_WorkGroupID.x * p.rows_per_wg;
  uint r1 = min (r0 + p.rows_per_wg, p.n_rows);
  uint db0 = p.db_off4 >> 1;     /* in texels */
  float th[NQ];
  vec4 qa[NQ][TL], qb[NQ][TL];

  /* This lane's slice of every query: halves 8 (t * LANES + lane) …+7. */
  [[unroll]] for (uint q = 0u; q < NQ; q++)
    {
      uint base = p.q_off4 + min (q, nq - 1u) * (uint (DIM) / 4u);
      [[unroll]] for (uint t = 0u; t < TL; t++)
        {
          qa[q][t] = qv[base + 2u * (t * LANES + lane)] * HALF_SCALE;
          qb[q][t] = qv[base + 2u * (t * LANES + lane) + 1u] * HALF_SCALE;
        }
      th[q] = uintBitsToFloat (NEG_INF_BITS);
    }

  vm_topk_init ();

  /* A tile: TILE / LANES subgroups × R steps × 8 rows. */
  for (uint t0 = r0; t0 < r1; t0 += TILE * R)
    {
      [[unroll]] for (uint s = 0u; s < R; s++)
        {
          uint first = t0 + (s * (TILE / LANES) + sg) * LANES;
          float acc[LANES][NQ];

          [[unroll]] for (uint j = 0u; j < LANES; j++)
            {
              uint tb = db0 + min (first + j, r1 - 1u) * T8 + lane;

              [[unroll]] for (uint q = 0u; q < NQ; q++)
                acc[j][q] = 0.0;
              [[unroll]] for (uint t = 0u; t < TL; t++)
                {
                  uvec4 w = texelFetch (db_tex, int (tb + t * LANES));
                  vec2 h0 = vec2 (HALF_LO (w.x), HALF_HI (w.x));
                  vec2 h1 = vec2 (HALF_LO (w.y), HALF_HI (w.y));
                  vec2 h2 = vec2 (HALF_LO (w.z), HALF_HI (w.z));
                  vec2 h3 = vec2 (HALF_LO (w.w), HALF_HI (w.w));
                  [[unroll]] for (uint q = 0u; q < NQ; q++)
                    {
                      acc[j][q] = fma (h0.x, qa[q][t].x, acc[j][q]);
                      acc[j][q] = fma (h0.y, qa[q][t].y, acc[j][q]);
                      acc[j][q] = fma (h1.x, qa[q][t].z, acc[j][q]);
                      acc[j][q] = fma (h1.y, qa[q][t].w, acc[j][q]);
                      acc[j][q] = fma (h2.x, qb[q][t].x, acc[j][q]);
                      acc[j][q] = fma (h2.y, qb[q][t].y, acc[j][q]);
                      acc[j][q] = fma (h3.x, qb[q][t].z, acc[j][q]);
                      acc[j][q] = fma (h3.y, qb[q][t].w, acc[j][q]);
                    }
                }
            }

          /* Transpose-and-add across the 8 lanes in three butterfly
           * stages (7 shuffles for 8 rows): lane l ends with row l's sum. */
          float mine[NQ];
          [[unroll]] for (uint q = 0u; q < NQ; q++)
            {
              float v4[4], v2[2];
              bool hi = (lane & 4u) != 0u;
              [[unroll]] for (uint j = 0u; j < 4u; j++)
                v4[j] = (hi ? acc[j + 4u][q] : acc[j][q]) +
                        subgroupShuffleXor (hi ? acc[j][q] : acc[j + 4u][q], 4u);
              hi = (lane & 2u) != 0u;
              [[unroll]] for (uint j = 0u; j < 2u; j++)
                v2[j] = (hi ? v4[j + 2u] : v4[j]) + subgroupShuffleXor (hi ? v4[j] : v4[j + 2u], 2u);
              hi = (lane & 1u) != 0u;
              mine[q] = (hi ? v2[1] : v2[0]) + subgroupShuffleXor (hi ? v2[0] : v2[1], 1u);
            }

          uint row = first + lane;
          [[unroll]] for (uint q = 0u; q < NQ; q++)
            if (row < r1 && q < nq && mine[q] > th[q])
              vm_topk_push (q, mine[q], p.row_base + row);
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
      for (uint e = gl_LocalInvocationID.x; e < p.k; e += TILE)
        part[ob + e] = e < n ? vm_cand[q][e] : uvec2 (NEG_INF_BITS, 0xffffffffu);
    }
}
