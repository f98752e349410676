// gemm_coopmat_direct.comp — the GEMM on NV cooperative matrices with no
// shared stages and no workgroup barriers: every subgroup loads its
// fragments straight from the storage buffers (the workgroup's subgroups
// share rows of A and B through the cache).  A is fp32, loaded as an fp32
// fragment and converted to fp16 in registers; B fp16, read as its
// transpose.  On an H100 this runs at 1.8–2.8 times the rate of the
// shared-memory form (docs/PERFORMANCE-gpu.md); it is bound by instructions
// rather than memory, hence the strides as a specialisation constant and
// the epilogue in vectors where the caller allows (bit 2 of flags).
//
// C = epilogue (A · Bᵀ [+ bias]) [+ R].  The caller checks: m ≥ 16, n and k
// multiples of 16, A's and B's rows and offsets in whole 16-byte vectors.
// A fragment that would run past row m is loaded from row m − 16 and
// stores only its rows from its own first row on, so every output is
// written once (R may be C).
//
// SPLITK (products of few rows, one batch): workgroup x covers column tile
// x mod n_tiles and the k_split-deep slice x / n_tiles of k, and stores
// its raw sums at C + slice · c_bstride (a scratch of slices × m × ldc);
// gemm_splitk_reduce.comp then adds the slices up with the epilogue.
// Shifted fragments store their whole 16 rows there (the same values as
// the fragment before them has).
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
#define WN 2u
#define FM 4u
#define FN 4u
#endif
#define BM (16u * WM * FM)
#define BN (16u * WN * FN)
#define THREADS (32u * WM * WN)

layout (local_size_x = THREADS) in;

// A's and B's row strides as a specialisation constant (lda | ldb << 16):
// fragment addresses from constants take a fifth less time on an H100
// than from push constants.  0: not specialised, the push constants'.
layout (constant_id = 0) const uint STRIDES = 0u;
#define LDA (STRIDES != 0u ? (STRIDES & 0xffffu) : p.lda)
#define LDB (STRIDES != 0u ? (STRIDES >> 16u) : p.ldb)

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer B { float16_t b[]; };
layout (std430, binding = 2) readonly buffer Bias { WTYPE bias[]; };
layout (std430, binding = 2) readonly buffer Bias8 { uvec4 bias8[]; };
layout (std430, binding = 3) readonly buffer R { float r[]; };
layout (std430, binding = 3) readonly buffer R4 { vec4 r4[]; };
layout (std430, binding = 4) writeonly buffer C { float c[]; };
layout (std430, binding = 4) writeonly buffer C4 { vec4 c4[]; };

layout (push_constant) uniform Push {
  uint m, n, k;
  uint lda, ldb, ldc, ldr;
  uint a_off, b_off, bias_off, c_off, r_off;
  uint a_bstride, b_bstride, c_bstride, r_bstride;
  uint epilogue;
  uint flags;
  uint k_split;
} p;

shared float Cs[WM * WN * 256u];

void main ()
{
  uint warp = gl_SubgroupID;
  uint lane = gl_SubgroupInvocationID;
#ifdef SPLITK
  uint n_tiles = (p.n + BN - 1u) / BN;
  uint tile_x = gl_WorkGroupID.x % n_tiles;
  uint slice = gl_WorkGroupID.x / n_tiles;
  uint k_begin = slice * p.k_split;
  uint k_end = min (p.k, k_begin + p.k_split);
  uint batch = 0u;
#else
  uint tile_x = gl_WorkGroupID.x;
  uint k_begin = 0u;
  uint k_end = p.k;
  uint batch = gl_WorkGroupID.z;
#endif
  uint row0 = gl_WorkGroupID.y * BM + (warp / WN) * (16u * FM);
  uint col0 = tile_x * BN + (warp % WN) * (16u * FN);
  uint a_base = p.a_off + batch * p.a_bstride;
  uint b_base = p.b_off + batch * p.b_bstride;
  uint ra[FM], cb[FN];

  // Fragments past the edge load from the last whole one (m ≥ 16, n a
  // multiple of 16) and store nothing of their own.
  [[unroll]] for (uint i = 0u; i < FM; i++)
    ra[i] = a_base + min (row0 + 16u * i, p.m - 16u) * LDA;
  [[unroll]] for (uint j = 0u; j < FN; j++)
    cb[j] = b_base + min (col0 + 16u * j, p.n - 16u) * LDB;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[FM][FN];
  [[unroll]] for (uint i = 0u; i < FM; i++)
    [[unroll]] for (uint j = 0u; j < FN; j++)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);

  for (uint k0 = k_begin; k0 < k_end; k0 += 16u)
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

#ifdef SPLITK
  [[unroll]] for (uint i = 0u; i < FM; i++)
    [[unroll]] for (uint j = 0u; j < FN; j++)
      if (row0 + 16u * i < p.m && col0 + 16u * j < p.n)
        coopMatStoreNV (acc[i][j], c, p.c_off + slice * p.c_bstride + min (row0 + 16u * i, p.m - 16u) * p.ldc +
                        min (col0 + 16u * j, p.n - 16u), p.ldc, false);
#else
  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  uint stage = warp * 256u;
  [[unroll]] for (uint i = 0u; i < FM; i++)
    [[unroll]] for (uint j = 0u; j < FN; j++)
      {
        uint r_first = row0 + 16u * i, c_first = col0 + 16u * j;
        uint r_load = min (r_first, p.m - 16u), c_load = min (c_first, p.n - 16u);

        if (r_first >= p.m || c_first >= p.n)
          continue;
        coopMatStoreNV (acc[i][j], Cs, stage, 16u, false);
        subgroupMemoryBarrierShared ();
        subgroupBarrier ();
        if ((p.flags & 4u) != 0u)
          {
            // Bit 2 (the caller checks C's, R's and the bias's offsets and
            // strides): each lane takes 8 neighbours of one row, as vectors.
            uint q = lane >> 1u, gr = r_load + q, gc = c_first + (lane & 1u) * 8u;
            if (gr >= r_first)
              {
                uint at = stage + q * 16u + (lane & 1u) * 8u;
                vec4 lo = vec4 (Cs[at], Cs[at + 1u], Cs[at + 2u], Cs[at + 3u]);
                vec4 hi = vec4 (Cs[at + 4u], Cs[at + 5u], Cs[at + 6u], Cs[at + 7u]);
                if ((p.flags & 1u) != 0u)
                  {
                    uvec4 w = bias8[(p.bias_off + gc) / 8u];
                    lo += vec4 (unpackHalf2x16 (w.x), unpackHalf2x16 (w.y));
                    hi += vec4 (unpackHalf2x16 (w.z), unpackHalf2x16 (w.w));
                  }
                if (p.epilogue != EPILOGUE_NONE)
                  [[unroll]] for (uint u = 0u; u < 4u; u++)
                    {
                      lo[u] = vm_activation (lo[u], p.epilogue);
                      hi[u] = vm_activation (hi[u], p.epilogue);
                    }
                uint rv = (r_base + gr * p.ldr + gc) / 4u;
                if ((p.flags & 2u) != 0u)
                  {
                    lo += r4[rv];
                    hi += r4[rv + 1u];
                  }
                uint cv = (c_base + gr * p.ldc + gc) / 4u;
                c4[cv] = lo;
                c4[cv + 1u] = hi;
              }
            subgroupBarrier ();
            continue;
          }
        [[unroll]] for (uint e = lane; e < 256u; e += 32u)
          {
            uint gr = r_load + e / 16u;
            uint gc = c_load + e % 16u;
            if (gr >= r_first && gc >= c_first)
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
#endif
}
