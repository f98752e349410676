// clip-im2col.comp — patches of CHW images as GEMM rows: images
// [n][3][size][size] → out [n·side²][3·patch²], row (i·side + y)·side + x,
// column (c·patch + py)·patch + px (the order of a flattened
// [dim][3][patch][patch] convolution weight).  Grid (ceil(3·patch²/64),
// side², n).
// With TEXEL defined (size and patch multiples of 4): each invocation moves
// 4 columns, read as one RGBA32F texel fetch (a single gather on llvmpipe,
// where a storage-buffer load is a loop over the lanes) and written as one
// vec4; grid (ceil(3·patch²/256), side², n).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450

layout (local_size_x = 64) in;

#ifdef TEXEL
layout (binding = 0) uniform samplerBuffer img_tex;
layout (std430, binding = 1) writeonly buffer Out { vec4 outp[]; };
#else
layout (std430, binding = 0) readonly buffer Img { float img[]; };
layout (std430, binding = 1) writeonly buffer Out { float outp[]; };
#endif

layout (push_constant) uniform Push {
  uint size, psize, side, cols;
} p;

void main ()
{
#ifdef TEXEL
  uint col = gl_GlobalInvocationID.x * 4u;
#else
  uint col = gl_GlobalInvocationID.x;
#endif
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
  uint src = ((i * 3u + c) * p.size + y) * p.size + x;
  uint dst = (i * p.side * p.side + t) * p.cols + col;
#ifdef TEXEL
  outp[dst / 4u] = texelFetch (img_tex, int (src / 4u));
#else
  outp[dst] = img[src];
#endif
}
