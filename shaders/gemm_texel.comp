// gemm_texel.comp — the GEMM of gemm.comp laid out for CPU drivers
// (lavapipe): no shared memory and no barriers.  The lanes of a workgroup
// take different output columns (CN each, WG apart) and read B's rows through
// a texel buffer (one fetch = 4 k values, fp32 or fp16 by the view's
// format); the RM output rows of a workgroup are the same for every lane, so
// A's values are the same for all lanes.  With A_TEXEL, A is read through an
// RGBA32F texel buffer as well: on llvmpipe a storage-buffer load inside the
// k loop is a loop over the lanes even when the address is lane-uniform,
// while a texel fetch is one gather (1.8x faster GEMM, docs/PERFORMANCE-clip.md).
// With A_BCAST, A's texels are fetched once per subgroup and broadcast with
// subgroup shuffles (1.4x faster again), a lane's CN columns are groups of 4
// adjacent ones (and a pair), and the residual is read through an RGBA32F
// texel buffer, one texel per 4 outputs (the host checks that R's rows,
// offset and batch stride are whole texels).
// The block shape (RM, CN, WGN, ROWS_X) comes from shaders/meson.build and
// must match the GEMM_TEXEL_* constants of app/gpu/vm-gpu-kernels.c.
// Needs k, lda, ldb and the A and B offsets to be multiples of 4.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef A_BCAST
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
#include "common.glsl"

#ifndef RM
#define RM 8u          // rows per workgroup
#endif
#ifndef CN
#define CN 4u          // columns per lane
#endif
#ifndef WGN
#define WGN 64         // lanes per workgroup
#endif
#define WG uint (WGN)
// ROWS_X: workgroup x walks the row blocks (consecutive workgroups share B's columns)
layout (local_size_x = WGN) in;

#ifdef A_TEXEL
layout (binding = 0) uniform samplerBuffer a_tex;
#define LOAD_A(i) texelFetch (a_tex, int (i))
#else
layout (std430, binding = 0) readonly buffer A { vec4 a4[]; };
#define LOAD_A(i) a4[i]
#endif
layout (binding = 1) uniform samplerBuffer b_tex;
layout (std430, binding = 2) readonly buffer Bias { WTYPE bias[]; };
#ifdef A_BCAST
// The residual through an RGBA32F texel buffer, a texel per 4 adjacent
// columns (the host makes sure that R's rows, offset and batch stride are
// whole texels): one gather per 4 outputs instead of a loop over the lanes
// per output.
layout (binding = 3) uniform samplerBuffer r_tex;
#else
layout (std430, binding = 3) readonly buffer R { float r[]; };
#endif
layout (std430, binding = 4) writeonly buffer C { float c[]; };

layout (constant_id = 0) const uint EPILOGUE_SPEC = 0xffffffffu;   // not specialised

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
#ifdef ROWS_X
  uint row0 = gl_WorkGroupID.x * RM;
  uint col0 = gl_WorkGroupID.y * WG * CN;   // the workgroup's first column
#else
  uint row0 = gl_WorkGroupID.y * RM;
  uint col0 = gl_WorkGroupID.x * WG * CN;   // the workgroup's first column
#endif
#ifdef A_BCAST
  // A lane's columns: CN / 4 groups of 4 adjacent columns, 4·WG apart,
  // then a pair if CN % 4 == 2, so that its residual comes in whole texels.
#define NQ (CN / 4u)
  float cn_must_be_even[CN % 2u == 0u ? 1 : -1];   // groups of 4 and at most one pair
#define COL(j) (col0 + ((j) < 4u * NQ ? ((j) / 4u) * 4u * WG + 4u * lane + (j) % 4u \
                                      : NQ * 4u * WG + 2u * lane + ((j) - 4u * NQ)))
#else
#define COL(j) (col0 + lane + (j) * WG)
#endif
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
    bcol[j] = int (b_base + min (COL (j), p.n - 1u) * (p.ldb / 4u));

  uint kk = 0u;
#ifdef A_BCAST
  // A_BCAST: A's values are the same for every lane, so instead of each lane
  // gathering the same texel, lane l of a subgroup of A_BCAST lanes fetches
  // texel kk + l of each of the RM rows and the subgroup broadcasts it for
  // step kk + l: one fetch per A_BCAST k steps.  The broadcast is a
  // subgroupShuffle from a constant lane, which llvmpipe turns into a
  // register permute; its subgroupBroadcast first searches for an active lane
  // in a loop and made the kernel 2x slower.  Needs gl_SubgroupSize ==
  // A_BCAST and every lane active (the host checks the subgroup size).
  //
  // Loop order: B's texels for all A_BCAST steps first, then row by row.
  // The RM x CN accumulators do not fit in registers; taken row by row, a
  // row's CN accumulators stay in registers for its A_BCAST steps and B's
  // values are read back from the stack as memory operands, so the spill
  // traffic no longer grows with RM (steps outside, rows inside spilled every
  // accumulator at every step).  That made room for 40 rows: 1.09x the GFLOP/s
  // of 24 rows in the old order (docs/PERFORMANCE-gpu.md).
  uint sl = gl_SubgroupInvocationID;
  uint k4_full = k4 - k4 % A_BCAST;
  for (; kk < k4_full; kk += A_BCAST)
    {
      vec4 bv[A_BCAST][CN];
      [[unroll]] for (uint s = 0u; s < A_BCAST; s++)
        [[unroll]] for (uint j = 0u; j < CN; j++)
          bv[s][j] = texelFetch (b_tex, bcol[j] + int (kk + s));
      [[unroll]] for (uint i = 0u; i < RM; i++)
        {
          vec4 al = LOAD_A (arow[i] + kk + sl);
          [[unroll]] for (uint s = 0u; s < A_BCAST; s++)
            {
              vec4 av = subgroupShuffle (al, s);
              [[unroll]] for (uint j = 0u; j < CN; j++)
                acc[i][j] += dot (av, bv[s][j]);
            }
        }
    }
#endif
  for (; kk < k4; kk++)
    {
      vec4 bv[CN];
      [[unroll]] for (uint j = 0u; j < CN; j++)
        bv[j] = texelFetch (b_tex, bcol[j] + int (kk));
      [[unroll]] for (uint i = 0u; i < RM; i++)
        {
          vec4 av = LOAD_A (arow[i] + kk);
          [[unroll]] for (uint j = 0u; j < CN; j++)
            acc[i][j] += dot (av, bv[j]);
        }
    }

  uint c_base = p.c_off + batch * p.c_bstride;
  uint r_base = p.r_off + batch * p.r_bstride;
  // EPILOGUE_SPEC (specialisation constant 0): the epilogue fixed at
  // pipeline creation, activation in bits 0-1 and p.flags above.  llvmpipe
  // runs both sides of every branch, uniform or not, so without it each
  // output paid for both activations and the bias and residual loads.
  uint epilogue = EPILOGUE_SPEC == 0xffffffffu ? p.epilogue : (EPILOGUE_SPEC & 3u);
  uint flags = EPILOGUE_SPEC == 0xffffffffu ? p.flags : (EPILOGUE_SPEC >> 2);
  // The bias depends on the column only: loaded once, not once per row.
  float bj[CN];
  [[unroll]] for (uint j = 0u; j < CN; j++)
    bj[j] = (flags & 1u) != 0u ? float (bias[p.bias_off + min (COL (j), p.n - 1u)]) : 0.0;
  [[unroll]] for (uint i = 0u; i < RM; i++)
    {
      uint gr = row0 + i;
      float rv[CN];
      if ((flags & 2u) != 0u)
        {
#ifdef A_BCAST
          // Rows and columns past the end read a valid texel; their
          // outputs are not written.
          int rrow = int (r_base + min (gr, p.m - 1u) * p.ldr);
          [[unroll]] for (uint q = 0u; q < NQ; q++)
            {
              vec4 t = texelFetch (r_tex, (rrow + int (min (COL (4u * q), p.n - 4u))) / 4);
              rv[4u * q] = t.x;
              rv[(4u * q + 1u) % CN] = t.y;
              rv[(4u * q + 2u) % CN] = t.z;
              rv[(4u * q + 3u) % CN] = t.w;
            }
          if (CN % 4u == 2u)
            {
              uint gc = min (COL (4u * NQ), p.n - 2u);
              vec4 t = texelFetch (r_tex, (rrow + int (gc)) / 4);
              bool hi = (gc & 2u) != 0u;
              rv[(4u * NQ) % CN] = hi ? t.z : t.x;
              rv[(4u * NQ + 1u) % CN] = hi ? t.w : t.y;
            }
#else
          [[unroll]] for (uint j = 0u; j < CN; j++)
            rv[j] = r[r_base + min (gr, p.m - 1u) * p.ldr + min (COL (j), p.n - 1u)];
#endif
        }
      [[unroll]] for (uint j = 0u; j < CN; j++)
        {
          uint gc = COL (j);
          if (gr < p.m && gc < p.n)
            {
              float v = vm_activation (acc[i][j] + bj[j], epilogue);
              if ((flags & 2u) != 0u)
                v += rv[j];
              c[c_base + gr * p.ldc + gc] = v;
            }
        }
    }
}
