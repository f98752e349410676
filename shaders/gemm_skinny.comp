// gemm_skinny.comp — the GEMM of gemm.comp for at most 16 rows of A (a
// short text, a few queries, a GEMV), on GPUs: C = epilogue (A · Bᵀ
// [+ bias]) [+ R], A fp32, B fp16, fp32 arithmetic.
//
// A tiled GEMM spends such a product waiting on its k loop with most of
// its tile empty.  Here each workgroup owns CPS columns of C, and all of
// its lanes share the k loop: lane l of subgroup s starts at eight
// elements (s·S + l)·8 and strides over the whole workgroup's width (B
// rows read as 8-half vectors, A rows as vec4, all of the at most 16 rows
// at once).  A subgroup sum per result, then one across the subgroups in
// shared memory, gives each of the m × CPS results, which the first
// threads write out with the epilogue.  MR, the most rows, is 16 or 8
// (gemm_skinny8: half the registers for short texts).  Splitting k over the workgroup
// rather than one subgroup gives a product 4 times as many subgroups in
// flight, which is what such a product waits on.  Any subgroup size.  The
// caller checks m ≤ MR, k a multiple of 8, A rows and offsets in whole
// vec4 and B's in whole 8-half vectors.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require
#define W_F16 1
#include "common.glsl"

#ifndef MR
#define MR 16u
#endif
#define CPS 4u
#define WG 128u
#define MAX_SG 32u   // subgroups of at least 4 lanes

layout (local_size_x = WG) in;

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

shared float part[MAX_SG * MR * CPS];

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint lane = gl_SubgroupInvocationID;
  uint S = gl_SubgroupSize;
  uint sg = gl_SubgroupID;
  uint nsg = gl_NumSubgroups;
  uint col0 = gl_WorkGroupID.x * CPS;
  uint batch = gl_WorkGroupID.z;
  uint a_base = p.a_off + batch * p.a_bstride;
  uint b_base = p.b_off + batch * p.b_bstride;
  float acc[MR][CPS];

  [[unroll]] for (uint i = 0u; i < MR; i++)
    [[unroll]] for (uint j = 0u; j < CPS; j++)
      acc[i][j] = 0.0;

  for (uint k0 = (sg * S + lane) * 8u; k0 < p.k; k0 += WG * 8u)
    {
      vec4 blo[CPS], bhi[CPS];

      [[unroll]] for (uint j = 0u; j < CPS; j++)
        {
          uvec4 w = col0 + j < p.n ? b8[(b_base + (col0 + j) * p.ldb + k0) / 8u] : uvec4 (0u);
          blo[j] = vec4 (unpackHalf2x16 (w.x), unpackHalf2x16 (w.y));
          bhi[j] = vec4 (unpackHalf2x16 (w.z), unpackHalf2x16 (w.w));
        }
      // Every row's loads before any arithmetic, rows past m repeating the
      // last (their sums are not written): no load waits for the one
      // before it.
      vec4 alo[MR], ahi[MR];
      [[unroll]] for (uint i = 0u; i < MR; i++)
        {
          uint at = (a_base + min (i, p.m - 1u) * p.lda + k0) / 4u;
          alo[i] = a4[at];
          ahi[i] = a4[at + 1u];
        }
      [[unroll]] for (uint i = 0u; i < MR; i++)
        [[unroll]] for (uint j = 0u; j < CPS; j++)
          acc[i][j] += dot (alo[i], blo[j]) + dot (ahi[i], bhi[j]);
    }

  // Each subgroup's sums, then the workgroup's.
  [[unroll]] for (uint i = 0u; i < MR; i++)
    if (i < p.m)
      [[unroll]] for (uint j = 0u; j < CPS; j++)
        {
          float v = subgroupAdd (acc[i][j]);

          if (lane == (i * CPS + j) % S)
            part[sg * MR * CPS + i * CPS + j] = v;
        }
  barrier ();

  uint i = tid / CPS, j = tid % CPS;
  uint gc = col0 + j;
  if (tid >= MR * CPS || i >= p.m || gc >= p.n)
    return;
  float v = 0.0;
  for (uint s = 0u; s < nsg; s++)
    v += part[s * MR * CPS + tid];
  if ((p.flags & 1u) != 0u)
    v += float (bias[p.bias_off + gc]);
  v = vm_activation (v, p.epilogue);
  if ((p.flags & 2u) != 0u)
    v += r[p.r_off + batch * p.r_bstride + i * p.ldr + gc];
  c[p.c_off + batch * p.c_bstride + i * p.ldc + gc] = v;
}
