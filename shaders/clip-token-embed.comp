// clip-token-embed.comp — CLIP's text embeddings: out[s][t] = tok[ids[s][t]]
// + pos[t] for rows of @dim floats; ids at or above @vocab give the position
// embedding alone (the caller validates ids).  Grid (ceil(dim/64), tokens,
// sequences).  Buffers are bound whole; offsets are in elements.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer Ids { uint ids[]; };
layout (std430, binding = 1) readonly buffer Tok { WTYPE tok[]; };
layout (std430, binding = 2) readonly buffer Pos { WTYPE pos[]; };
layout (std430, binding = 3) writeonly buffer Out { float outp[]; };

layout (push_constant) uniform Push {
  uint n_tokens, dim, vocab, ids_off;
  uint tok_off, pos_off, out_off, pad;
} p;

void main ()
{
  uint d = gl_GlobalInvocationID.x;
  uint t = gl_WorkGroupID.y;
  uint s = gl_WorkGroupID.z;
  if (d >= p.dim)
    return;
  uint id = ids[p.ids_off + s * p.n_tokens + t];
  float v = id < p.vocab ? float (tok[p.tok_off + id * p.dim + d]) : 0.0;
  outp[p.out_off + (s * p.n_tokens + t) * p.dim + d] = v + float (pos[p.pos_off + t * p.dim + d]);
}
