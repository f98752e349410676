// attention.comp — fused multi-head scaled dot-product attention,
// O = softmax(scale · Q·Kᵀ [+ causal mask]) · V, with flash-style online
// softmax: keys and values stream through shared memory in tiles, so memory
// does not grow with Lq × Lk.  One thread per query row, 64 rows per
// workgroup; grid (ceil(Lq/64), heads, batch).
// Tensors are [batch][tokens][row stride]; head h uses columns h·d … h·d+d-1.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_GOOGLE_include_directive : require

#define MAX_D 128u
#define TQ 64u
#define TK 16u

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer Q { float q[]; };
layout (std430, binding = 1) readonly buffer K { float k[]; };
layout (std430, binding = 2) readonly buffer V { float v[]; };
layout (std430, binding = 3) writeonly buffer O { float o[]; };

layout (push_constant) uniform Push {
  uint lq, lk, d, causal;
  uint q_off, k_off, v_off, o_off;
  uint q_ld, k_ld, v_ld, o_ld;
  uint q_bstride, k_bstride, v_bstride, o_bstride;
  float scale;
} p;

shared float Ks[TK][MAX_D];
shared float Vs[TK][MAX_D];

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint i = gl_WorkGroupID.x * TQ + tid;
  uint h = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  bool in_range = i < p.lq;

  uint qb = p.q_off + b * p.q_bstride + min (i, p.lq - 1u) * p.q_ld + h * p.d;
  uint kb = p.k_off + b * p.k_bstride + h * p.d;
  uint vb = p.v_off + b * p.v_bstride + h * p.d;

  float qr[MAX_D];
  float acc[MAX_D];
  for (uint c = 0; c < MAX_D; c++)
    {
      qr[c] = c < p.d ? q[qb + c] * p.scale : 0.0;
      acc[c] = 0.0;
    }
  float m = -3.402823466e38;
  float l = 0.0;

  // Causal: the last query row of this workgroup bounds the keys needed.
  uint kend = p.lk;
  if (p.causal != 0u)
    kend = min (p.lk, min (gl_WorkGroupID.x * TQ + TQ, p.lq));

  for (uint j0 = 0; j0 < kend; j0 += TK)
    {
      for (uint e = tid; e < TK * p.d; e += TQ)
        {
          uint jj = e / p.d;
          uint c = e % p.d;
          uint j = j0 + jj;
          Ks[jj][c] = j < p.lk ? k[kb + j * p.k_ld + c] : 0.0;
          Vs[jj][c] = j < p.lk ? v[vb + j * p.v_ld + c] : 0.0;
        }
      barrier ();

      float s[TK];
      float tile_max = -3.402823466e38;
      for (uint jj = 0; jj < TK; jj++)
        {
          uint j = j0 + jj;
          bool masked = j >= p.lk || (p.causal != 0u && j > i);
          float dot = 0.0;
          for (uint c = 0; c < p.d; c++)
            dot = fma (qr[c], Ks[jj][c], dot);
          s[jj] = masked ? -3.402823466e38 : dot;
          if (!masked)
            tile_max = max (tile_max, dot);
        }

      if (tile_max > -3.0e38)
        {
          float m_new = max (m, tile_max);
          float corr = exp (m - m_new);
          l *= corr;
          for (uint c = 0; c < p.d; c++)
            acc[c] *= corr;
          for (uint jj = 0; jj < TK; jj++)
            {
              if (s[jj] < -3.0e38)
                continue;
              float w = exp (s[jj] - m_new);
              l += w;
              for (uint c = 0; c < p.d; c++)
                acc[c] = fma (w, Vs[jj][c], acc[c]);
            }
          m = m_new;
        }
      barrier ();
    }

  if (in_range)
    {
      uint ob = p.o_off + b * p.o_bstride + i * p.o_ld + h * p.d;
      float inv = l > 0.0 ? 1.0 / l : 0.0;
      for (uint c = 0; c < p.d; c++)
        o[ob + c] = acc[c] * inv;
    }
}
