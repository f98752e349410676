// resize_h.comp — horizontal pass of the CLIP preprocessing: RGB8 frames
// (packed bytes) → pixels [frame][row][out column] for the columns of the
// centre crop only, one uint each (r | g << 8 | b << 16: one store per pixel,
// and one load per tap in resize_v; on llvmpipe every storage-buffer access
// with a per-lane address is a loop over the lanes).
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

/* Bytes i, i + 1 and i + 2 in the low 24 bits: two word loads, not three. */
uint rgb_at (uint i)
{
  uint w0 = px[i >> 2];
  uint w1 = px[(i + 2u) >> 2];
  uint sh = (i & 3u) * 8u;
  return sh == 0u ? w0 : (w0 >> sh) | (w1 << (32u - sh));
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
      uint v = rgb_at (base + uint (bd.x + t) * 3u);
      s0 += int (v & 0xffu) * w;
      s1 += int ((v >> 8) & 0xffu) * w;
      s2 += int ((v >> 16) & 0xffu) * w;
    }
  mid[(f * p.height + y) * p.out_w + x] = vm_clip8 (s0) | (vm_clip8 (s1) << 8) | (vm_clip8 (s2) << 16);
}
