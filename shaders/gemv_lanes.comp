// gemv_lanes.comp — y[i] = dot(x, rows[i]) for fp32 x and fp16 rows: the
// scan of sim_topk_lanes.comp without the top-k, for CPU drivers (lavapipe)
// whose subgroup is one SIMD register of 8 lanes.  The 8 lanes of a
// subgroup read one row together (lane l takes texels l, l + 8 … of it,
// RGBA32UI, 8 halves each: 128 contiguous bytes a fetch), a shuffle
// butterfly over 8 rows finishes their dot products and lane l writes
// row l's score.  With DIM defined (a multiple of 64) each lane keeps its
// slice of x in registers for the whole dispatch; without it the dimension
// comes from the push constants (any multiple of 8) and x is read from the
// uniform buffer in the loop.
// Needs: a subgroup size of 8 with shuffles (the caller checks).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

/* The halves of a word as floats scaled by 2^-112 (see sim_topk_lanes.comp:
 * exact for normal halves; x is scaled by 2^112 instead). */
#define HALF_LO(w) uintBitsToFloat ((((w) << 13) & 0x0fffe000u) | (((w) << 16) & 0x80000000u))
#define HALF_HI(w) uintBitsToFloat ((((w) >> 3) & 0x0fffe000u) | ((w) & 0x80000000u))
#define HALF_SCALE uintBitsToFloat (0x77800000u)   /* 2^112 */
#define LANES 8u
#define WG 64
layout (local_size_x = WG) in;

layout (binding = 0) uniform usamplerBuffer db_tex;
layout (std140, binding = 1) uniform Xs { vec4 xv[4096]; };
layout (std430, binding = 2) writeonly buffer Y { float y[]; };

layout (push_constant) uniform Push {
  uint n_rows, d8, rows_per_wg, db_off8;
  uint x_off4, y_off;
} p;

void main ()
{
  uint lane = gl_SubgroupInvocationID;
  uint sg = gl_SubgroupID;
  uint r0 = gl_WorkGroupID.x * p.rows_per_wg;
  uint r1 = min (r0 + p.rows_per_wg, p.n_rows);
#ifdef DIM
#define T8 (uint (DIM) / 8u)
#define TL (T8 / LANES)
  vec4 xa[TL], xb[TL];

  [[unroll]] for (uint t = 0u; t < TL; t++)
    {
      xa[t] = xv[p.x_off4 + 2u * (t * LANES + lane)] * HALF_SCALE;
      xb[t] = xv[p.x_off4 + 2u * (t * LANES + lane) + 1u] * HALF_SCALE;
    }
#else
#define T8 p.d8
#endif

  /* A step: WG / LANES subgroups × 8 rows. */
  for (uint first0 = r0; first0 < r1; first0 += uint (WG))
    {
      uint first = first0 + sg * LANES;
      float acc[LANES];

      [[unroll]] for (uint j = 0u; j < LANES; j++)
        {
          uint tb = p.db_off8 + min (first + j, r1 - 1u) * T8;

          acc[j] = 0.0;
#ifdef DIM
          [[unroll]] for (uint t = 0u; t < TL; t++)
            {
              uvec4 w = texelFetch (db_tex, int (tb + t * LANES + lane));
              vec4 a = xa[t], b = xb[t];
#else
          for (uint t = lane; t < T8; t += LANES)
            {
              uvec4 w = texelFetch (db_tex, int (tb + t));
              vec4 a = xv[p.x_off4 + 2u * t] * HALF_SCALE;
              vec4 b = xv[p.x_off4 + 2u * t + 1u] * HALF_SCALE;
#endif
              acc[j] = fma (HALF_LO (w.x), a.x, acc[j]);
              acc[j] = fma (HALF_HI (w.x), a.y, acc[j]);
              acc[j] = fma (HALF_LO (w.y), a.z, acc[j]);
              acc[j] = fma (HALF_HI (w.y), a.w, acc[j]);
              acc[j] = fma (HALF_LO (w.z), b.x, acc[j]);
              acc[j] = fma (HALF_HI (w.z), b.y, acc[j]);
              acc[j] = fma (HALF_LO (w.w), b.z, acc[j]);
              acc[j] = fma (HALF_HI (w.w), b.w, acc[j]);
            }
        }

      /* Transpose-and-add across the 8 lanes in three butterfly stages:
       * lane l ends with row l's sum. */
      float v4[4], v2[2];
      bool hi = (lane & 4u) != 0u;
      [[unroll]] for (uint j = 0u; j < 4u; j++)
        v4[j] = (hi ? acc[j + 4u] : acc[j]) + subgroupShuffleXor (hi ? acc[j] : acc[j + 4u], 4u);
      hi = (lane & 2u) != 0u;
      [[unroll]] for (uint j = 0u; j < 2u; j++)
        v2[j] = (hi ? v4[j + 2u] : v4[j]) + subgroupShuffleXor (hi ? v4[j] : v4[j + 2u], 2u);
      hi = (lane & 1u) != 0u;
      float mine = (hi ? v2[1] : v2[0]) + subgroupShuffleXor (hi ? v2[0] : v2[1], 1u);

      uint row = first + lane;
      if (row < r1)
        y[p.y_off + row] = mine;
    }
}
