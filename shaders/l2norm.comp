// l2norm.comp — y = x / max(‖x‖₂, eps) per row.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

#define WG 256u
layout (local_size_x = 256) in;
#include "reduce.glsl"

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) buffer Y { float y[]; };

layout (push_constant) uniform Push {
  uint rows, cols;
  uint x_off, x_ld;
  uint y_off, y_ld;
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
    s += x[xb + i] * x[xb + i];
  float inv = 1.0 / max (sqrt (vm_wg_sum (s)), p.eps);

  for (uint i = tid; i < p.cols; i += WG)
    y[yb + i] = x[xb + i] * inv;
}
