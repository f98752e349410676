// gemm_skinny.comp — the GEMM of gemm.comp for at most 16 rows of A (a
// short text, a few queries, a GEMV), on GPUs: C = epilogue (A · Bᵀ
// [+ bias]) [+ R], A fp32, B fp16, fp32 arithmetic.
//
// A tiled GEMM spends such a product waiting on its k loop with most of
// its tile empty.  Here each subgroup owns CPS columns of C: its lanes
// stride over k eight elements at a time (B rows read as 8-half vectors,
// A rows as vec4, all of the at most 16 rows at once), then a subgroup sum
// gives each of the m × CPS results, which the lanes write out with the
// epilogue.  Any subgroup size.  The caller checks m ≤ MR, k a multiple of
// 8, A rows and offsets in whole vec4 and B's in whole 8-half vectors.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require
#define W_F16 1
#include "common.glsl"

#define MR 16u
#define CPS 4u

layout (local_size_x = 128) in;

layout (std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout (std430, binding = 1) readonly buffer B8 { uvec4 b8[]; };
layout (std430, binding = 2) readonly buffer Bias { WTYPE bias[]; };
layout (std430, binding = 3) readonly buffer R { float r[]; };
layout (std430, binding = 4) writeonly buffer C { float c[]; };

layout (push_constant) uniform Push {
  uint m, n, k;
  uint lda, ldb, ldc, ldr;
  uint a_off, b_off, bias_off, c_off, r_off;
  uint a_bstride, b_bstride, c_bstride, r_bstride;
  uint epilogue;
  uint flags;
} p;

void main ()
{
  uint lane = gl_SubgroupInvocationID;
  uint S = gl_SubgroupSize;
  uint col0 = (gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID) * CPS;
  uint batch = gl_WorkGroupID.z;
  uint a_base = p.a_off + batch * p.a_bstride;
  uint b_base = p.b_off + batch * p.b_bstride;
  float acc[MR][CPS];

  if (col0 >= p.n)
    return;

  [[unroll]] for (uint i = 0u; i < MR; i++)
    [[unroll]] for (uint j = 0u; j < CPS; j++)
      acc[i][j] = 0.0;

  for (uint k0 = lane * 8u; k0 < p.k; k0 += S * 8u)
    {
      vec4 blo[CPS], bhi[CPS];

      [[unroll]] for (uint j = 0u; j < CPS; j++)
        {
          uvec4 w = col0 + j < p.n ? b8[(b_base + (col0 + j) * p.ldb + k0) / 8u] : uvec4 (0u);
          blo[j] = vec4 (unpackHalf2x16 (w.x), unpackHalf2x16 (w.y));
          bhi[j] = vec4 (unpackHalf2x16 (w.z), unpackHalf2x16 (w.w));
        }
      [[unroll]] for (uint i = 0u; i < MR; i++)
        if (i < p.m)
          {
            uint at = (a_base + i * p.lda + k0) / 4u;
            vec4 lo = a4[at];
            vec4 hi = a4[at + 1u];

            [[unroll]] for (uint j = 0u; j < CPS; j++)
              acc[i][j] += dot (lo, blo[j]) + dot (hi, bhi[j]);
          }
    }

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  [[unroll]] for (uint i = 0u; i < MR; i++)
    if (i < p.m)
      [[unroll]] for (uint j = 0u; j < CPS; j++)
        {
          float v = subgroupAdd (acc[i][j]);
          uint gc = col0 + j;

          if (lane == (i * CPS + j) % S && gc < p.n)
            {
              if ((p.flags & 1u) != 0u)
                v += float (bias[p.bias_off + gc]);
              v = vm_activation (v, p.epilogue);
              if ((p.flags & 2u) != 0u)
                v += r[r_base + i * p.ldr + gc];
              c[c_base + i * p.ldc + gc] = v;
            }
        }
}
