// class_pos.comp — out[b][0] = class + pos[0]; out[b][1+t] = tokens[b][t] + pos[1+t].
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer T { float tokens[]; };
layout (std430, binding = 1) readonly buffer Cls { WTYPE cls[]; };
layout (std430, binding = 2) readonly buffer Pos { WTYPE pos[]; };
layout (std430, binding = 3) writeonly buffer Out { float outp[]; };

layout (push_constant) uniform Push {
  uint n_tokens, dim, n_images;
  uint t_off, cls_off, pos_off, out_off;
} p;

void main ()
{
  uint d = gl_GlobalInvocationID.x;
  uint t = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  if (d >= p.dim)
    return;
  float v = t == 0u ? float (cls[p.cls_off + d])
                    : tokens[p.t_off + (b * (p.n_tokens - 1u) + t - 1u) * p.dim + d];
  outp[p.out_off + (b * p.n_tokens + t) * p.dim + d] = v + float (pos[p.pos_off + t * p.dim + d]);
}
