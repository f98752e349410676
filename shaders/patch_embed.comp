// patch_embed.comp — convolution with stride = kernel = patch, no bias:
// images [B][3][S][S] → tokens [B][patches][D] (row-major patches),
// weight [D][3][P][P] (PyTorch Conv2d layout).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer Img { float img[]; };
layout (std430, binding = 1) readonly buffer W { WTYPE w[]; };
layout (std430, binding = 2) writeonly buffer Out { float outp[]; };

layout (push_constant) uniform Push {
  uint size, patch_, dim, side;
  uint img_off, w_off, out_off, n_images;
} p;

void main ()
{
  uint d = gl_GlobalInvocationID.x;
  uint t = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  if (d >= p.dim)
    return;
  uint py = t / p.side;
  uint px = t % p.side;
  uint plane = p.size * p.size;
  uint ib = p.img_off + b * 3u * plane + py * p.patch_ * p.size + px * p.patch_;
  uint wb = p.w_off + d * 3u * p.patch_ * p.patch_;

  float acc = 0.0;
  for (uint c = 0; c < 3u; c++)
    for (uint yy = 0; yy < p.patch_; yy++)
      {
        uint irow = ib + c * plane + yy * p.size;
        uint wrow = wb + (c * p.patch_ + yy) * p.patch_;
        for (uint xx = 0; xx < p.patch_; xx++)
          acc = fma (img[irow + xx], float (w[wrow + xx]), acc);
      }
  outp[p.out_off + (b * p.side * p.side + t) * p.dim + d] = acc;
}
