// gemm_texel.comp — the GEMM of gemm.comp laid out for CPU drivers
// (lavapipe): no shared memory and no barriers.  The lanes of a workgroup
// take different output columns (4 each, 64 apart) and read B's rows through
// a texel buffer (one fetch = 4 k values, fp32 or fp16 by the view's
// format); the 8 output rows of a workgroup are the same for every lane, so
// A's values are uniform loads shared by all lanes.  Needs k, ldb and the B
// offset to be multiples of 4.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

#define RM 8u          // rows per workgroup
#define CN 4u          // columns per lane
#define WG 64u

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer A { vec4 a4[]; };
layout (binding = 1) uniform samplerBuffer b_tex;
layout (std430, binding = 2) readonly buffer Bias { WTYPE bias[]; };
layout (std430, binding = 3) readonly buffer R { float r[]; };
layout (std430, binding = 4) writeonly buffer C { float c[]; };

layout (push_constant) uniform Push {
  uint m, n, k;
  uint lda, ldb, ldc, ldr;
  uint a_off, b_off, bias_off, c_off, r_off;      // a_off and b_off in vec4 units
  uint a_bstride, b_bstride, c_bstride, r_bstride;
  uint epilogue;
  uint flags;
} p;

void main ()
{
  uint lane = gl_LocalInvocationID.x;
  uint row0 = gl_WorkGroupID.y * RM;
  uint col0 = gl_WorkGroupID.x * WG * CN + lane;
  uint batch = gl_WorkGroupID.z;
  uint k4 = p.k / 4u;
  uint a_base = p.a_off + batch * (p.a_bstride / 4u);
  uint b_base = p.b_off + batch * (p.b_bstride / 4u);

  uint arow[RM];
  int bcol[CN];
  float acc[RM][CN];
  [[unroll]] for (uint i = 0u; i < RM; i++)
    {
      arow[i] = a_base + min (row0 + i, p.m - 1u) * (p.lda / 4u);
      [[unroll]] for (uint j = 0u; j < CN; j++)
        acc[i][j] = 0.0;
    }
  [[unroll]] for (uint j = 0u; j < CN; j++)
    bcol[j] = int (b_base + min (col0 + j * WG, p.n - 1u) * (p.ldb / 4u));

  for (uint kk = 0u; kk < k4; kk++)
    {
      vec4 bv[CN];
      [[unroll]] for (uint j = 0u; j < CN; j++)
        bv[j] = texelFetch (b_tex, bcol[j] + int (kk));
      [[unroll]] for (uint i = 0u; i < RM; i++)
        {
          vec4 av = a4[arow[i] + kk];
          [[unroll]] for (uint j = 0u; j < CN; j++)
            acc[i][j] += dot (av, bv[j]);
        }
    }

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  [[unroll]] for (uint i = 0u; i < RM; i++)
    [[unroll]] for (uint j = 0u; j < CN; j++)
      {
        uint gr = row0 + i;
        uint gc = col0 + j * WG;
        if (gr < p.m && gc < p.n)
          {
            float v = acc[i][j];
            if ((p.flags & 1u) != 0u)
              v += float (bias[p.bias_off + gc]);
            v = vm_activation (v, p.epilogue);
            if ((p.flags & 2u) != 0u)
              v += r[r_base + gr * p.ldr + gc];
            c[c_base + gr * p.ldc + gc] = v;
          }
      }
}
