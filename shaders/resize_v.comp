// resize_v.comp — vertical pass of the CLIP preprocessing (over resize_h's
// packed pixels), then /255 and (v - mean) / std, written as CHW float
// [frame][3][out_h][out_w].
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "resample.glsl"

layout (local_size_x = 64, local_size_y = 4) in;

layout (std430, binding = 0) readonly buffer Mid { uint mid[]; };
layout (std430, binding = 1) readonly buffer Bounds { ivec2 bounds[]; };   // (first, count) per row
layout (std430, binding = 2) readonly buffer Coefs { int coefs[]; };
layout (std430, binding = 3) writeonly buffer Out { float outp[]; };

layout (push_constant) uniform Push {
  uint in_h, out_w, out_h, ksize;
  uint n_frames, out_off;
  float mean0, mean1, mean2;
  float istd0, istd1, istd2;
} p;

void main ()
{
  uint x = gl_GlobalInvocationID.x;
  uint y = gl_GlobalInvocationID.y;
  uint f = gl_GlobalInvocationID.z;
  if (x >= p.out_w || y >= p.out_h || f >= p.n_frames)
    return;

  ivec2 bd = bounds[y];
  int half_ = 1 << (VM_PRECISION_BITS - 1);
  int s0 = half_, s1 = half_, s2 = half_;
  for (int t = 0; t < bd.y; t++)
    {
      int w = coefs[y * p.ksize + uint (t)];
      uint m = mid[(f * p.in_h + uint (bd.x + t)) * p.out_w + x];
      s0 += int (m & 0xffu) * w;
      s1 += int ((m >> 8) & 0xffu) * w;
      s2 += int (m >> 16) * w;
    }
  uint plane = p.out_w * p.out_h;
  uint o = p.out_off + f * 3u * plane + y * p.out_w + x;
  outp[o] = (float (vm_clip8 (s0)) / 255.0 - p.mean0) * p.istd0;
  outp[o + plane] = (float (vm_clip8 (s1)) / 255.0 - p.mean1) * p.istd1;
  outp[o + 2u * plane] = (float (vm_clip8 (s2)) / 255.0 - p.mean2) * p.istd2;
}
