// gemm_coopmat.comp — the GEMM of gemm.comp on NV cooperative matrices:
// C = epilogue (A · Bᵀ [+ bias]) [+ R], A fp32 (rounded to fp16 on its way
// into shared memory), B fp16, fp32 accumulators in 16×16×16 steps.
//
// A workgroup of WM × WN subgroups of 32 computes a BM × BN tile, each
// subgroup FM × FN fragments of 16 × 16 (BM = 16·WM·FM, BN = 16·WN·FN).
// K advances BK = 32 at a time through one shared stage; the next stage's
// global loads are issued into registers before the current one is
// multiplied.  Built with VEC (the caller checks: k a multiple of 8, A rows
// and offsets in whole vec4, B rows and offsets in whole 8-half vectors) A
// is read as vec4 and B as uvec4 (8 halves); without, element by element.
// The epilogue goes through a per-subgroup 16 × 16 staging tile.
// Selected only when the device reports VK_NV_cooperative_matrix.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require
#define W_F16 1
#include "common.glsl"

#ifndef WM
#define WM 2u
#define WN 4u
#define FM 4u
#define FN 2u
#endif
#define BM (16u * WM * FM)
#define BN (16u * WN * FN)
#define BK 32u
#define SA (BK + 8u)
#define THREADS (32u * WM * WN)
#define A_VECS (BM * BK / 4u / THREADS)   // vec4 of A per thread and stage
#define B_VECS (BN * BK / 8u / THREADS)   // uvec4 (8 halves) of B per thread and stage
#define A_ELEMS (BM * BK / THREADS)
#define B_ELEMS (BN * BK / THREADS)

layout (local_size_x = THREADS) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout (std430, binding = 1) readonly buffer B { WTYPE b[]; };
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

shared float16_t As[BM * SA];
shared float16_t Bs[BN * SA];
shared float Cs[WM * WN * 256u];

#ifdef VEC
vec4 ra[A_VECS];
uvec4 rb[B_VECS];

void
load_stage (uint a_base, uint b_base, uint row0, uint col0, uint k0, uint tid)
{
  [[unroll]] for (uint i = 0u; i < A_VECS; i++)
    {
      uint e = tid + i * THREADS;
      uint rr = e / (BK / 4u);
      uint kk = (e % (BK / 4u)) * 4u;
      uint gr = row0 + rr;
      uint gk = k0 + kk;
      ra[i] = (gr < p.m && gk < p.k) ? a4[(a_base + gr * p.lda + gk) / 4u] : vec4 (0.0);
    }
  [[unroll]] for (uint i = 0u; i < B_VECS; i++)
    {
      uint e = tid + i * THREADS;
      uint cc = e / (BK / 8u);
      uint kk = (e % (BK / 8u)) * 8u;
      uint gc = col0 + cc;
      uint gk = k0 + kk;
      rb[i] = (gc < p.n && gk < p.k) ? b8[(b_base + gc * p.ldb + gk) / 8u] : uvec4 (0u);
    }
}

void
store_stage (uint tid)
{
  [[unroll]] for (uint i = 0u; i < A_VECS; i++)
    {
      uint e = tid + i * THREADS;
      uint at = (e / (BK / 4u)) * SA + (e % (BK / 4u)) * 4u;
      f16vec4 h = f16vec4 (ra[i]);
      As[at] = h.x;
      As[at + 1u] = h.y;
      As[at + 2u] = h.z;
      As[at + 3u] = h.w;
    }
  [[unroll]] for (uint i = 0u; i < B_VECS; i++)
    {
      uint e = tid + i * THREADS;
      uint at = (e / (BK / 8u)) * SA + (e % (BK / 8u)) * 8u;
      [[unroll]] for (uint w = 0u; w < 4u; w++)
        {
          f16vec2 h = unpackFloat2x16 (rb[i][w]);
          Bs[at + 2u * w] = h.x;
          Bs[at + 2u * w + 1u] = h.y;
        }
    }
}

#else
float sa[A_ELEMS];
float16_t sb[B_ELEMS];

void
load_stage (uint a_base, uint b_base, uint row0, uint col0, uint k0, uint tid)
{
  [[unroll]] for (uint i = 0u; i < A_ELEMS; i++)
    {
      uint e = tid + i * THREADS;
      uint gr = row0 + e / BK;
      uint gk = k0 + e % BK;
      sa[i] = (gr < p.m && gk < p.k) ? a[a_base + gr * p.lda + gk] : 0.0;
    }
  [[unroll]] for (uint i = 0u; i < B_ELEMS; i++)
    {
      uint e = tid + i * THREADS;
      uint gc = col0 + e / BK;
      uint gk = k0 + e % BK;
      sb[i] = (gc < p.n && gk < p.k) ? b[b_base + gc * p.ldb + gk] : float16_t (0.0);
    }
}

void
store_stage (uint tid)
{
  [[unroll]] for (uint i = 0u; i < A_ELEMS; i++)
    {
      uint e = tid + i * THREADS;
      As[(e / BK) * SA + e % BK] = float16_t (sa[i]);
    }
  [[unroll]] for (uint i = 0u; i < B_ELEMS; i++)
    {
      uint e = tid + i * THREADS;
      Bs[(e / BK) * SA + e % BK] = sb[i];
    }
}
#endif

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint warp = gl_SubgroupID;
  uint lane = gl_SubgroupInvocationID;
  uint wr = (warp / WN) * (16u * FM);
  uint wc = (warp % WN) * (16u * FN);
  uint row0 = gl_WorkGroupID.y * BM;
  uint col0 = gl_WorkGroupID.x * BN;
  uint batch = gl_WorkGroupID.z;
  uint a_base = p.a_off + batch * p.a_bstride;
  uint b_base = p.b_off + batch * p.b_bstride;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[FM][FN];
  [[unroll]] for (uint i = 0u; i < FM; i++)
    [[unroll]] for (uint j = 0u; j < FN; j++)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);

  load_stage (a_base, b_base, row0, col0, 0u, tid);

  for (uint k0 = 0u; k0 < p.k; k0 += BK)
    {
      barrier ();
      store_stage (tid);
      barrier ();

      if (k0 + BK < p.k)
        load_stage (a_base, b_base, row0, col0, k0 + BK, tid);

      [[unroll]] for (uint kk = 0u; kk < BK; kk += 16u)
        {
          fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> ma[FM];
          fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> mb[FN];
          [[unroll]] for (uint i = 0u; i < FM; i++)
            coopMatLoadNV (ma[i], As, (wr + 16u * i) * SA + kk, SA, false);
          // Bs holds B as [n][k]: a K×N operand stored column-major.
          [[unroll]] for (uint j = 0u; j < FN; j++)
            coopMatLoadNV (mb[j], Bs, (wc + 16u * j) * SA + kk, SA, true);
          [[unroll]] for (uint i = 0u; i < FM; i++)
            [[unroll]] for (uint j = 0u; j < FN; j++)
              acc[i][j] = coopMatMulAddNV (ma[i], mb[j], acc[i][j]);
        }
    }

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  uint stage = warp * 256u;
  [[unroll]] for (uint i = 0u; i < FM; i++)
    [[unroll]] for (uint j = 0u; j < FN; j++)
      {
        coopMatStoreNV (acc[i][j], Cs, stage, 16u, false);
        subgroupMemoryBarrierShared ();
        subgroupBarrier ();
        [[unroll]] for (uint e = lane; e < 256u; e += 32u)
          {
            uint gr = row0 + wr + 16u * i + e / 16u;
            uint gc = col0 + wc + 16u * j + e % 16u;
            if (gr < p.m && gc < p.n)
              {
                float v = Cs[stage + e];
                if ((p.flags & 1u) != 0u)
                  v += float (bias[p.bias_off + gc]);
                v = vm_activation (v, p.epilogue);
                if ((p.flags & 2u) != 0u)
                  v += r[r_base + gr * p.ldr + gc];
                c[c_base + gr * p.ldc + gc] = v;
              }
          }
        subgroupBarrier ();
      }
}
