// gemm_splitk_reduce.comp — the second half of a GEMM split over k
// (gemm_coopmat_direct.comp built with SPLITK): C = epilogue (Σ slices
// [+ bias]) [+ R], one thread per output element, the slices of the
// scratch m × n apart.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#define W_F16 1
#include "common.glsl"

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
} p;

void main ()
{
  uint e = gl_GlobalInvocationID.x;
  uint i = e / p.n, j = e % p.n;

  if (i >= p.m)
    return;
  float v = 0.0;
  for (uint s = 0u; s < p.slices; s++)
    v += part[p.p_off + s * p.m * p.n + e];
  if ((p.flags & 1u) != 0u)
    v += float (bias[p.bias_off + j]);
  v = vm_activation (v, p.epilogue);
  if ((p.flags & 2u) != 0u)
    v += r[p.r_off + i * p.ldr + j];
  c[p.c_off + i * p.ldc + j] = v;
}
