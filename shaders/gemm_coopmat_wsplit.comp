// gemm_coopmat_wsplit.comp — the GEMM of few rows on NV cooperative
// matrices with k split over the subgroups of one workgroup: one pass,
// where gemm_coopmat_direct.comp built with SPLITK needs a second
// dispatch (gemm_splitk_reduce) to add its slices up.
//
// A workgroup covers 16·FM rows and 16·FN columns of C.  Its S subgroups
// take the 16-deep steps of k in turn (subgroup w: steps w, w + S, …), so
// that at one image's 50 rows the device has as many subgroups at work as
// the split over slices gives it, each walking a short k.  The subgroups'
// fragments are then added up through shared memory in subgroup order
// (the same order for every output: reproducible), a thread per element
// of a 16 × 16 fragment, which applies the epilogue and stores C.
//
// C = epilogue (A · Bᵀ [+ bias]) [+ R].  The caller checks what the direct
// form needs: m ≥ 16, n and k multiples of 16, A's and B's rows and
// offsets in whole 16-byte vectors.  A fragment that would run past row m
// is loaded from row m − 16 and stores only its rows from its own first
// row on, so every output is written once (R may be C).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require
#define W_F16 1
#include "common.glsl"

#ifndef FN
#define FN 2u
#endif
#define FM 4u
#define S 8u
#define BM (16u * FM)
#define BN (16u * FN)
#define THREADS (32u * S)

layout (local_size_x = THREADS) in;

// A's and B's row strides as a specialisation constant (lda | ldb << 16),
// as in gemm_coopmat_direct.comp; 0: the push constants'.
layout (constant_id = 0) const uint STRIDES = 0u;
#define LDA (STRIDES != 0u ? (STRIDES & 0xffffu) : p.lda)
#define LDB (STRIDES != 0u ? (STRIDES >> 16u) : p.ldb)

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer B { float16_t b[]; };
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
  uint k_split;
} p;

// A column of fragments (FM of them) from every subgroup at a time: 32 KB
// with 8 subgroups.
shared float Ps[S * FM * 256u];

void main ()
{
  uint warp = gl_SubgroupID;
  uint t = gl_LocalInvocationID.x;
  uint batch = gl_WorkGroupID.z;
  uint row0 = gl_WorkGroupID.y * BM;
  uint col0 = gl_WorkGroupID.x * BN;
  uint a_base = p.a_off + batch * p.a_bstride;
  uint b_base = p.b_off + batch * p.b_bstride;
  uint ra[FM], cb[FN];

  [[unroll]] for (uint i = 0u; i < FM; i++)
    ra[i] = a_base + min (row0 + 16u * i, p.m - 16u) * LDA;
  [[unroll]] for (uint j = 0u; j < FN; j++)
    cb[j] = b_base + min (col0 + 16u * j, p.n - 16u) * LDB;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[FM][FN];
  [[unroll]] for (uint i = 0u; i < FM; i++)
    [[unroll]] for (uint j = 0u; j < FN; j++)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);

  for (uint k0 = 16u * warp; k0 < p.k; k0 += 16u * S)
    {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> ma[FM];
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> mb[FN];
      [[unroll]] for (uint i = 0u; i < FM; i++)
        {
          fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> a32;
          coopMatLoadNV (a32, a, ra[i] + k0, LDA, false);
          ma[i] = fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> (a32);
        }
      [[unroll]] for (uint j = 0u; j < FN; j++)
        coopMatLoadNV (mb[j], b, cb[j] + k0, LDB, true);
      [[unroll]] for (uint i = 0u; i < FM; i++)
        [[unroll]] for (uint j = 0u; j < FN; j++)
          acc[i][j] = coopMatMulAddNV (ma[i], mb[j], acc[i][j]);
    }

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  [[unroll]] for (uint j = 0u; j < FN; j++)
    {
      uint c_first = col0 + 16u * j;

      // The same for the whole workgroup: no barrier is skipped by some.
      if (c_first >= p.n)
        continue;
      [[unroll]] for (uint i = 0u; i < FM; i++)
        coopMatStoreNV (acc[i][j], Ps, (warp * FM + i) * 256u, 16u, false);
      memoryBarrierShared ();
      barrier ();

      // Thread t adds up element t of every fragment over the subgroups,
      // in subgroup order.
      [[unroll]] for (uint i = 0u; i < FM; i++)
        {
          uint r_first = row0 + 16u * i, e = t;
          float v = 0.0;

          if (r_first >= p.m)
            continue;
          [[unroll]] for (uint w = 0u; w < S; w++)
            v += Ps[(w * FM + i) * 256u + e];
          uint gr = min (r_first, p.m - 16u) + e / 16u;
          uint gc = c_first + e % 16u;
          if (gr >= r_first)
            {
              if ((p.flags & 1u) != 0u)
                v += float (bias[p.bias_off + gc]);
              v = vm_activation (v, p.epilogue);
              if ((p.flags & 2u) != 0u)
                v += r[r_base + gr * p.ldr + gc];
              c[c_base + gr * p.ldc + gc] = v;
            }
        }
      barrier ();
    }
}
