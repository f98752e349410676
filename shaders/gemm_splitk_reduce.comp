// gemm_splitk_reduce.comp — the second half of a GEMM split over k
// (gemm_coopmat_direct.comp built with SPLITK): C = epilogue (Σ slices
// [+ bias]) [+ R], one thread per output element, the slices of the
// scratch m × n apart.
//
// LN (gemm_splitk_reduce_ln): a workgroup per row of C, which also writes
// Y = LayerNorm (C's row) with γ and β, as layernorm.comp computes it (the
// same partial sums per thread and the same tree, so the same result): the
// LayerNorm that follows a transformer block's residual sum, without a
// dispatch of its own.  n ≤ 256 · MAXC.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define W_F16 1
#include "common.glsl"

#define WG 256u
layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer P { float part[]; };
layout (std430, binding = 1) readonly buffer Bias { WTYPE bias[]; };
layout (std430, binding = 2) readonly buffer R { float r[]; };
layout (std430, binding = 3) writeonly buffer C { float c[]; };

layout (push_constant) uniform Push {
  uint m, n, slices;
  uint ldc, ldr;
  uint p_off, bias_off, c_off, r_off;
  uint epilogue;
  uint flags;
  uint g_off, b_off, y_off, y_ld;
  float eps;
} p;

float sum_at (uint i, uint j)
{
  uint e = i * p.n + j;
  float v = 0.0;
  for (uint s = 0u; s < p.slices; s++)
    v += part[p.p_off + s * p.m * p.n + e];
  if ((p.flags & 1u) != 0u)
    v += float (bias[p.bias_off + j]);
  v = vm_activation (v, p.epilogue);
  if ((p.flags & 2u) != 0u)
    v += r[p.r_off + i * p.ldr + j];
  return v;
}

#ifdef LN
#include "reduce.glsl"
#define MAXC 8u

layout (std430, binding = 4) readonly buffer G { WTYPE gamma[]; };
layout (std430, binding = 5) readonly buffer Bt { WTYPE beta[]; };
layout (std430, binding = 6) writeonly buffer Y { float y[]; };

void main ()
{
  uint i = gl_WorkGroupID.x;
  uint tid = gl_LocalInvocationID.x;
  float v[MAXC];
  float s = 0.0;

  [[unroll]] for (uint u = 0u; u < MAXC; u++)
    {
      uint j = tid + u * WG;
      v[u] = 0.0;
      if (j < p.n)
        {
          v[u] = sum_at (i, j);
          c[p.c_off + i * p.ldc + j] = v[u];
          s += v[u];
        }
    }
  float mean = vm_wg_sum (s) / float (p.n);

  float q = 0.0;
  [[unroll]] for (uint u = 0u; u < MAXC; u++)
    if (tid + u * WG < p.n)
      {
        float d = v[u] - mean;
        q += d * d;
      }
  float rstd = inversesqrt (vm_wg_sum (q) / float (p.n) + p.eps);

  [[unroll]] for (uint u = 0u; u < MAXC; u++)
    {
      uint j = tid + u * WG;
      if (j < p.n)
        y[p.y_off + i * p.y_ld + j] = (v[u] - mean) * rstd * float (gamma[p.g_off + j]) + float (beta[p.b_off + j]);
    }
}
#else
void main ()
{
  uint e = gl_GlobalInvocationID.x;
  uint i = e / p.n, j = e % p.n;

  if (i >= p.m)
    return;
  c[p.c_off + i * p.ldc + j] = sum_at (i, j);
}
#endif
