// resize_h.comp — horizontal pass of the CLIP preprocessing: RGB8 frames
// (packed bytes) → 8-bit samples [frame][row][out column][3] for the
// columns of the centre crop only.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "resample.glsl"

layout (local_size_x = 64, local_size_y = 4) in;

layout (std430, binding = 0) readonly buffer Frames { uint px[]; };
layout (std430, binding = 1) readonly buffer Bounds { ivec2 bounds[]; };   // (first, count) per column
layout (std430, binding = 2) readonly buffer Coefs { int coefs[]; };
layout (std430, binding = 3) writeonly buffer Mid { uint mid[]; };

layout (push_constant) uniform Push {
  uint width, height;
  uint row_bytes, frame_bytes;
  uint in_off_bytes;
  uint out_w, ksize;
  uint n_frames;
} p;

uint byte_at (uint i)
{
  return (px[i >> 2] >> ((i & 3u) * 8u)) & 0xffu;
}

void main ()
{
  uint x = gl_GlobalInvocationID.x;
  uint y = gl_GlobalInvocationID.y;
  uint f = gl_GlobalInvocationID.z;
  if (x >= p.out_w || y >= p.height || f >= p.n_frames)
    return;

  ivec2 bd = bounds[x];
  int half_ = 1 << (VM_PRECISION_BITS - 1);
  int s0 = half_, s1 = half_, s2 = half_;
  uint base = p.in_off_bytes + f * p.frame_bytes + y * p.row_bytes;
  for (int t = 0; t < bd.y; t++)
    {
      int w = coefs[x * p.ksize + uint (t)];
      uint pi = base + uint (bd.x + t) * 3u;
      s0 += int (byte_at (pi)) * w;
      s1 += int (byte_at (pi + 1u)) * w;
      s2 += int (byte_at (pi + 2u)) * w;
    }
  uint o = ((f * p.height + y) * p.out_w + x) * 3u;
  mid[o] = vm_clip8 (s0);
  mid[o + 1u] = vm_clip8 (s1);
  mid[o + 2u] = vm_clip8 (s2);
}
