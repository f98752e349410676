// gemm.comp — C[b] = act(A[b]·B[b]ᵀ + bias) + R[b], tiled in shared memory.
// A: [m,k] fp32 rows (lda), B: [n,k] (PyTorch Linear layout, ldb), C: [m,n].
// Each workgroup computes a 64×64 tile; each thread 4×4 outputs.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define BM 64
#define BN 64
#define BK 16

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer B { WTYPE b[]; };
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

shared float As[BK][BM + 4];
shared float Bs[BK][BN + 4];

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % 16u;
  uint ty = tid / 16u;
  uint row0 = gl_WorkGroupID.y * BM;
  uint col0 = gl_WorkGroupID.x * BN;
  uint batch = gl_WorkGroupID.z;
  uint a_base = p.a_off + batch * p.a_bstride;
  uint b_base = p.b_off + batch * p.b_bstride;

  float acc[4][4];
  for (uint i = 0; i < 4; i++)
    for (uint j = 0; j < 4; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.k; k0 += BK)
    {
      for (uint e = tid; e < BM * BK; e += 256u)
        {
          uint rr = e / BK;
          uint kk = e % BK;
          uint gr = row0 + rr;
          uint gk = k0 + kk;
          As[kk][rr] = (gr < p.m && gk < p.k) ? a[a_base + gr * p.lda + gk] : 0.0;
          uint gc = col0 + rr;
          Bs[kk][rr] = (gc < p.n && gk < p.k) ? float (b[b_base + gc * p.ldb + gk]) : 0.0;
        }
      barrier ();

      for (uint kk = 0; kk < BK; kk++)
        {
          float av[4], bv[4];
          for (uint i = 0; i < 4; i++)
            av[i] = As[kk][ty + 16u * i];
          for (uint j = 0; j < 4; j++)
            bv[j] = Bs[kk][tx + 16u * j];
          for (uint i = 0; i < 4; i++)
            for (uint j = 0; j < 4; j++)
              acc[i][j] = fma (av[i], bv[j], acc[i][j]);
        }
      barrier ();
    }

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  for (uint i = 0; i < 4; i++)
    {
      uint gr = row0 + ty + 16u * i;
      if (gr >= p.m)
        continue;
      for (uint j = 0; j < 4; j++)
        {
          uint gc = col0 + tx + 16u * j;
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
