// layernorm_rows.comp — layernorm.comp laid out for CPU drivers (lavapipe):
// one row per invocation, no shared memory and no barriers.  x is read
// through an RGBA32F texel buffer (one fetch = 4 columns of a lane's row: a
// vector gather on llvmpipe), γ and β through texel buffers too (a storage
// load in a loop is a loop over the lanes on llvmpipe), y is written as vec4.
// Two passes over the row (mean, then centred variance) as in layernorm.comp,
// with four partial sums per lane.  Needs cols and every offset to be
// multiples of 4; all offsets and leading dimensions are in vec4 units.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450

layout (local_size_x = 64) in;

layout (binding = 0) uniform samplerBuffer x_tex;
layout (binding = 1) uniform samplerBuffer g_tex;
layout (binding = 2) uniform samplerBuffer b_tex;
layout (std430, binding = 3) writeonly buffer Y { vec4 y[]; };

layout (push_constant) uniform Push {
  uint rows, cols;
  uint x_off, x_ld;
  uint y_off, y_ld;
  uint g_off, b_off;
  float eps;
} p;

void main ()
{
  uint row = gl_GlobalInvocationID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x * 64u;
  uint c4 = p.cols / 4u;
  int xb;
  uint yb;
  vec4 s = vec4 (0.0);

  if (row >= p.rows)
    return;
  xb = int (p.x_off + row * p.x_ld);
  yb = p.y_off + row * p.y_ld;

  for (uint i = 0u; i < c4; i++)
    s += texelFetch (x_tex, xb + int (i));
  float mean = (s.x + s.y + s.z + s.w) / float (p.cols);

  vec4 v = vec4 (0.0);
  for (uint i = 0u; i < c4; i++)
    {
      vec4 d = texelFetch (x_tex, xb + int (i)) - mean;
      v += d * d;
    }
  float rstd = inversesqrt ((v.x + v.y + v.z + v.w) / float (p.cols) + p.eps);

  for (uint i = 0u; i < c4; i++)
    {
      vec4 d = (texelFetch (x_tex, xb + int (i)) - mean) * rstd;
      y[yb + i] = d * texelFetch (g_tex, int (p.g_off + i)) + texelFetch (b_tex, int (p.b_off + i));
    }
}
