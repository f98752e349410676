// gemm_coopmat.comp — the GEMM of gemm.comp on NV cooperative matrices:
// fp16 A and B tiles in shared memory, fp32 accumulators, 16×16×16 steps.
// Four subgroups of 32 (a 2×2 grid of 32×32 sub-tiles) per 64×64 tile.
// Selected only when the device reports VK_NV_cooperative_matrix.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#define W_F16 1
#include "common.glsl"

#define BM 64
#define BN 64
#define BK 32
#define SA (BK + 8)
#define SC (BN + 4)

layout (local_size_x = 128) in;

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
  uint flags;
} p;

shared float16_t As[BM * SA];
shared float16_t Bs[BN * SA];
shared float Cs[BM * SC];

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint warp = tid / 32u;
  uint wr = (warp / 2u) * 32u;
  uint wc = (warp % 2u) * 32u;
  uint row0 = gl_WorkGroupID.y * BM;
  uint col0 = gl_WorkGroupID.x * BN;
  uint batch = gl_WorkGroupID.z;
  uint a_base = p.a_off + batch * p.a_bstride;
  uint b_base = p.b_off + batch * p.b_bstride;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2][2];
  for (uint i = 0; i < 2; i++)
    for (uint j = 0; j < 2; j++)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);

  for (uint k0 = 0; k0 < p.k; k0 += BK)
    {
      for (uint e = tid; e < BM * BK; e += 128u)
        {
          uint rr = e / BK;
          uint kk = e % BK;
          uint gk = k0 + kk;
          uint gr = row0 + rr;
          uint gc = col0 + rr;
          As[rr * SA + kk] = float16_t ((gr < p.m && gk < p.k) ? a[a_base + gr * p.lda + gk] : 0.0);
          Bs[rr * SA + kk] = (gc < p.n && gk < p.k) ? b[b_base + gc * p.ldb + gk] : float16_t (0.0);
        }
      barrier ();

      for (uint kk = 0; kk < BK; kk += 16u)
        {
          fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> ma[2];
          fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> mb[2];
          for (uint i = 0; i < 2; i++)
            coopMatLoadNV (ma[i], As, (wr + 16u * i) * SA + kk, SA, false);
          // Bs holds B as [n][k]: a K×N operand stored column-major.
          for (uint j = 0; j < 2; j++)
            coopMatLoadNV (mb[j], Bs, (wc + 16u * j) * SA + kk, SA, true);
          for (uint i = 0; i < 2; i++)
            for (uint j = 0; j < 2; j++)
              acc[i][j] = coopMatMulAddNV (ma[i], mb[j], acc[i][j]);
        }
      barrier ();
    }

  for (uint i = 0; i < 2; i++)
    for (uint j = 0; j < 2; j++)
      coopMatStoreNV (acc[i][j], Cs, (wr + 16u * i) * SC + wc + 16u * j, SC, false);
  barrier ();

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  for (uint e = tid; e < BM * BN; e += 128u)
    {
      uint rr = e / BN;
      uint cc = e % BN;
      uint gr = row0 + rr;
      uint gc = col0 + cc;
      if (gr >= p.m || gc >= p.n)
        continue;
      float v = Cs[rr * SC + cc];
      if ((p.flags & 1u) != 0u)
        v += float (bias[p.bias_off + gc]);
      v = vm_activation (v, p.epilogue);
      if ((p.flags & 2u) != 0u)
        v += r[r_base + gr * p.ldr + gc];
      c[c_base + gr * p.ldc + gc] = v;
    }
}
