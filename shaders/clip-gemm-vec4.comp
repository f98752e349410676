// clip-gemm-vec4.comp — C[b] = act(A[b]·B[b]ᵀ + bias) + R[b] for CPU Vulkan
// drivers (llvmpipe).  There, invocations are SIMD lanes, barriers are
// costly, and each load instruction whose address differs between lanes is
// a loop over the lanes; loads whose address is the same for the whole
// workgroup are one scalar load.  So: no shared memory, no barriers, loads
// of four values along k at a time, and a tall block per invocation (RM
// rows × CN columns): RM loads of A that every lane shares and CN loads of B
// of its own feed RM·CN four-wide dot products.  The 64 lanes of a
// workgroup take columns 64 apart.  Needs k, lda, ldb and the A and B
// offsets to be multiples of 4.  B is [n][k] (PyTorch's Linear layout).
// Grid (ceil(n/(64·CN)), ceil(m/RM), batch).  Buffers are bound whole; offsets and
// strides are in elements.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#ifdef W_F16
#define WTYPE4 f16vec4
#else
#define WTYPE4 vec4
#endif

#ifndef RM
#define RM 32u
#endif
#ifndef CN
#define CN 4u
#endif

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer A { vec4 a[]; };
layout (std430, binding = 1) readonly buffer B { WTYPE4 b[]; };
layout (std430, binding = 2) readonly buffer Bias { WTYPE bias[]; };
layout (std430, binding = 3) readonly buffer R { float r[]; };
layout (std430, binding = 4) writeonly buffer C { float c[]; };

layout (push_constant) uniform Push {
  uint m, n, k;
  uint lda, ldb, ldc, ldr;
  uint a_off, b_off, bias_off, c_off, r_off;
  uint a_bstride, b_bstride, c_bstride, r_bstride;
  uint epilogue;
  uint flags;      // 1: bias, 2: residual
} p;

void main ()
{
  uint lane = gl_LocalInvocationID.x;
  uint col0 = gl_WorkGroupID.x * (64u * CN) + lane;
  uint row0 = gl_WorkGroupID.y * RM;
  uint batch = gl_WorkGroupID.z;

  uint arow[RM], bcol[CN];
  for (uint i = 0u; i < RM; i++)
    arow[i] = (p.a_off + batch * p.a_bstride + min (row0 + i, p.m - 1u) * p.lda) / 4u;
  for (uint j = 0u; j < CN; j++)
    bcol[j] = (p.b_off + batch * p.b_bstride + min (col0 + 64u * j, p.n - 1u) * p.ldb) / 4u;

  float acc[RM][CN];
  for (uint i = 0u; i < RM; i++)
    for (uint j = 0u; j < CN; j++)
      acc[i][j] = 0.0;

  uint k4 = p.k / 4u;
  for (uint kk = 0u; kk < k4; kk++)
    {
      vec4 av[RM], bv[CN];
      for (uint i = 0u; i < RM; i++)
        av[i] = a[arow[i] + kk];
      for (uint j = 0u; j < CN; j++)
        bv[j] = vec4 (b[bcol[j] + kk]);
      for (uint i = 0u; i < RM; i++)
        for (uint j = 0u; j < CN; j++)
          acc[i][j] += dot (av[i], bv[j]);
    }

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  for (uint i = 0u; i < RM; i++)
    {
      uint gr = row0 + i;
      if (gr >= p.m)
        continue;
      for (uint j = 0u; j < CN; j++)
        {
          uint gc = col0 + 64u * j;
          if (gc >= p.n)
            continue;
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
