// softmax.comp — y = softmax(scale · x) per row (in place allowed).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define WG 256u
layout (local_size_x = 256) in;
#include "reduce.glsl"

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) buffer Y { float y[]; };

layout (push_constant) uniform Push {
  uint rows, cols;
  uint x_off, x_ld;
  uint y_off, y_ld;
  float scale;
} p;

void main ()
{
  uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  uint tid = gl_LocalInvocationID.x;
  if (row >= p.rows)
    return;
  uint xb = p.x_off + row * p.x_ld;
  uint yb = p.y_off + row * p.y_ld;

  float m = -3.402823466e38;
  for (uint i = tid; i < p.cols; i += WG)
    m = max (m, p.scale * x[xb + i]);
  m = vm_wg_max (m);

  float s = 0.0;
  for (uint i = tid; i < p.cols; i += WG)
    s += exp (p.scale * x[xb + i] - m);
  float inv = 1.0 / vm_wg_sum (s);

  // Each thread rewrites only the elements it read, so in place is safe.
  for (uint i = tid; i < p.cols; i += WG)
    y[yb + i] = exp (p.scale * x[xb + i] - m) * inv;
}
