// layernorm.comp — y = (x - mean) / sqrt(var + eps) · γ + β per row.
// One workgroup per row; two passes (mean, then centred variance).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define WG 256u
layout (local_size_x = 256) in;
#include "reduce.glsl"

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer G { WTYPE gamma[]; };
layout (std430, binding = 2) readonly buffer Bt { WTYPE beta[]; };
layout (std430, binding = 3) writeonly buffer Y { float y[]; };

layout (push_constant) uniform Push {
  uint rows, cols;
  uint x_off, x_ld;
  uint y_off, y_ld;
  uint g_off, b_off;
  float eps;
} p;

void main ()
{
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  uint tid = gl_LocalInvocationID.x;
  if (row >= p.rows)
    return;
  uint xb = p.x_off + row * p.x_ld;
  uint yb = p.y_off + row * p.y_ld;

  float s = 0.0;
  for (uint i = tid; i < p.cols; i += WG)
    s += x[xb + i];
  float mean = vm_wg_sum (s) / float (p.cols);

  float v = 0.0;
  for (uint i = tid; i < p.cols; i += WG)
    {
      float d = x[xb + i] - mean;
      v += d * d;
    }
  float rstd = inversesqrt (vm_wg_sum (v) / float (p.cols) + p.eps);

  for (uint i = tid; i < p.cols; i += WG)
    y[yb + i] = (x[xb + i] - mean) * rstd * float (gamma[p.g_off + i]) + float (beta[p.b_off + i]);
}
