// gather_rows.comp — out[i] = src[idx[i]] (rows of cols floats); rows whose
// index is out of range are zero.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer S { float src[]; };
layout (std430, binding = 1) readonly buffer I { uint idx[]; };
layout (std430, binding = 2) writeonly buffer Out { float outp[]; };

layout (push_constant) uniform Push {
  uint n_rows, cols, n_src;
  uint src_off, src_ld, idx_off, out_off, out_ld;
} p;

void main ()
{
  uint c = gl_GlobalInvocationID.x;
  uint i = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  if (c >= p.cols || i >= p.n_rows)
    return;
  uint r = idx[p.idx_off + i];
  outp[p.out_off + i * p.out_ld + c] = r < p.n_src ? src[p.src_off + r * p.src_ld + c] : 0.0;
}
