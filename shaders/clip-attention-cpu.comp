// clip-attention-cpu.comp — multi-head attention over a packed QKV tensor,
// for CPU Vulkan drivers (llvmpipe): each invocation is one query row of one
// head and keeps its query and output in registers (HD4 = head_dim/4 vec4s,
// a build-time constant); the keys and values it walks through are the same
// for every lane, so their loads are single scalar loads.  Online softmax,
// no shared memory, no barriers.
// QKV: [batch][tokens][3·dim] (q, k, v side by side; head h at columns
// h·head_dim …), O: [batch][tokens][dim].  Offsets in elements, multiples
// of 4; dim a multiple of 4.  Grid (ceil(tokens/64), heads, batch).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer QKV { vec4 qkv[]; };
layout (std430, binding = 1) writeonly buffer O { vec4 o[]; };

layout (push_constant) uniform Push {
  uint tokens, dim, causal, qkv_off;
  uint o_off;
  float scale;
} p;

void main ()
{
  uint i = gl_GlobalInvocationID.x;
  uint h = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  uint ic = min (i, p.tokens - 1u);
  uint ld = 3u * p.dim / 4u;
  uint d4 = p.dim / 4u;
  uint base = p.qkv_off / 4u + b * p.tokens * ld + h * HD4;

  vec4 q[HD4], acc[HD4];
  for (uint c = 0u; c < HD4; c++)
    {
      q[c] = qkv[base + ic * ld + c] * p.scale;
      acc[c] = vec4 (0.0);
    }
  float m = -3.402823466e38;
  float l = 0.0;

  uint kend = p.tokens;
  if (p.causal != 0u)
    kend = min (p.tokens, (gl_WorkGroupID.x + 1u) * 64u);
  for (uint j = 0u; j < kend; j++)
    {
      uint kb = base + j * ld + d4;
      uint vb = kb + d4;
      float s = 0.0;
      for (uint c = 0u; c < HD4; c++)
        s += dot (q[c], qkv[kb + c]);
      if (p.causal != 0u && j > ic)
        continue;
      float m_new = max (m, s);
      float corr = exp (m - m_new);
      float w = exp (s - m_new);
      l = l * corr + w;
      for (uint c = 0u; c < HD4; c++)
        acc[c] = acc[c] * corr + w * qkv[vb + c];
      m = m_new;
    }

  if (i >= p.tokens)
    return;
  uint ob = p.o_off / 4u + (b * p.tokens + i) * d4 + h * HD4;
  float inv = 1.0 / l;
  for (uint c = 0u; c < HD4; c++)
    o[ob + c] = acc[c] * inv;
}
