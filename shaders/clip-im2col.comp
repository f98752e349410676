// clip-im2col.comp — patches of CHW images as GEMM rows: images
// [n][3][size][size] → out [n·side²][3·patch²], row (i·side + y)·side + x,
// column (c·patch + py)·patch + px (the order of a flattened
// [dim][3][patch][patch] convolution weight).  Grid (ceil(3·patch²/64),
// side², n).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer Img { float img[]; };
layout (std430, binding = 1) writeonly buffer Out { float outp[]; };

layout (push_constant) uniform Push {
  uint size, psize, side, cols;
} p;

void main ()
{
  uint col = gl_GlobalInvocationID.x;
  uint t = gl_WorkGroupID.y;
  uint i = gl_WorkGroupID.z;
  if (col >= p.cols)
    return;
  uint pp = p.psize * p.psize;
  uint c = col / pp;
  uint py = (col % pp) / p.psize;
  uint px = col % p.psize;
  uint y = (t / p.side) * p.psize + py;
  uint x = (t % p.side) * p.psize + px;
  outp[(i * p.side * p.side + t) * p.cols + col] = img[((i * 3u + c) * p.size + y) * p.size + x];
}
