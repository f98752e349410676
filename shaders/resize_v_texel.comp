// resize_v_texel.comp — resize_v.comp for CPU drivers (lavapipe): resize_h's
// packed pixels are read through an RGBA32UI texel buffer, 4 neighbouring
// pixels of a row per fetch (one gather on llvmpipe, where every
// storage-buffer load with a per-lane address is a loop over the lanes), so
// an invocation computes 4 output pixels and writes each plane as one vec4.
// The arithmetic is resize_v.comp's.  Needs out_w and out_off multiples of 4.
// Grid (ceil(out_w / 256), out_h, n_frames).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "resample.glsl"

layout (local_size_x = 64) in;

layout (binding = 0) uniform usamplerBuffer mid_tex;
layout (std430, binding = 1) readonly buffer Bounds { ivec2 bounds[]; };   // (first, count) per row
layout (std430, binding = 2) readonly buffer Coefs { int coefs[]; };
layout (std430, binding = 3) writeonly buffer Out { vec4 outp[]; };

layout (push_constant) uniform Push {
  uint in_h, out_w, out_h, ksize;
  uint n_frames, out_off;
  float mean0, mean1, mean2;
  float istd0, istd1, istd2;
} p;

uvec4 clip8 (ivec4 ss)
{
  return uvec4 (clamp (ss >> VM_PRECISION_BITS, 0, 255));
}

void main ()
{
  uint x4 = gl_GlobalInvocationID.x;
  uint y = gl_WorkGroupID.y;
  uint f = gl_WorkGroupID.z;
  uint w4 = p.out_w / 4u;
  if (x4 >= w4)
    return;

  ivec2 bd = bounds[y];
  ivec4 s0 = ivec4 (1 << (VM_PRECISION_BITS - 1)), s1 = s0, s2 = s0;
  for (int t = 0; t < bd.y; t++)
    {
      int w = coefs[y * p.ksize + uint (t)];
      uvec4 m = texelFetch (mid_tex, int ((f * p.in_h + uint (bd.x + t)) * w4 + x4));
      s0 += ivec4 (m & 0xffu) * w;
      s1 += ivec4 ((m >> 8) & 0xffu) * w;
      s2 += ivec4 (m >> 16) * w;
    }
  uint plane4 = w4 * p.out_h;
  uint o = p.out_off / 4u + f * 3u * plane4 + y * w4 + x4;
  outp[o] = (vec4 (clip8 (s0)) / 255.0 - p.mean0) * p.istd0;
  outp[o + plane4] = (vec4 (clip8 (s1)) / 255.0 - p.mean1) * p.istd1;
  outp[o + 2u * plane4] = (vec4 (clip8 (s2)) / 255.0 - p.mean2) * p.istd2;
}
