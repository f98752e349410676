// attention_sg.comp — multi-head scaled dot-product attention for short
// sequences on GPUs (CLIP: 50 image tokens, 77 text tokens):
// O = softmax(scale · Q·Kᵀ [+ causal mask]) · V.
//
// One workgroup per ROWS query rows of one head of one sequence; the head's
// keys and values (at most MAX_K rows of at most MAX_D columns) sit in
// shared memory, rows padded by one float so that lanes reading different
// keys hit different banks.  Each subgroup takes one query row at a time:
// its lanes compute the scores of keys lane, lane + S, … into shared
// memory, a subgroup maximum and sum give the softmax, and the lanes then
// own output columns lane, lane + S, ….  No register arrays, any subgroup
// size.  The caller checks lk ≤ MAX_K and d ≤ MAX_D, and sets bit 1 of
// p.causal (bit 0: the causal mask) when d, the K and V row strides and
// offsets are multiples of 4: keys and values are then read as vec4, four
// independent loads per thread in flight.  Built for MAX_K = 80
// (47 KiB of shared memory) and 48 (29 KiB, for devices with 32 KiB).
// Tensors are [batch][tokens][row stride]; head h uses columns h·d … h·d+d-1.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

#define MAX_D 64u
#ifndef MAX_K
#define MAX_K 80u
#endif
#define KS (MAX_D + 1u)
#define ROWS 32u
#define WG 128u

layout (local_size_x = WG) in;

layout (std430, binding = 0) readonly buffer Q { float q[]; };
layout (std430, binding = 1) readonly buffer K { float k[]; };
layout (std430, binding = 1) readonly buffer K4 { vec4 k4[]; };
layout (std430, binding = 2) readonly buffer V { float v[]; };
layout (std430, binding = 2) readonly buffer V4 { vec4 v4[]; };
layout (std430, binding = 3) writeonly buffer O { float o[]; };

layout (push_constant) uniform Push {
  uint lq, lk, d, causal;
  uint q_off, k_off, v_off, o_off;
  uint q_ld, k_ld, v_ld, o_ld;
  uint q_bstride, k_bstride, v_bstride, o_bstride;
  float scale;
} p;

shared float Ks[MAX_K * KS];
shared float Vs[MAX_K * KS];
shared float Qs[8u * MAX_D];   // one query row per subgroup (8 subgroups at most use it at once)
shared float Ps[8u * MAX_K];

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint h = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  uint row0 = gl_WorkGroupID.x * ROWS;
  uint row_end = min (row0 + ROWS, p.lq);
  bool causal = (p.causal & 1u) != 0u;
  uint kend = causal ? min (p.lk, row_end) : p.lk;
  uint kb = p.k_off + b * p.k_bstride + h * p.d;
  uint vb = p.v_off + b * p.v_bstride + h * p.d;
  uint lane = gl_SubgroupInvocationID;
  uint S = gl_SubgroupSize;
  // Subgroups beyond the eighth share the per-subgroup rows of Qs and Ps
  // with none: they take no rows (WG / S > 8 only for subgroups under 8 lanes).
  uint sg = gl_SubgroupID;
  uint nsg = min (gl_NumSubgroups, 8u);

  if ((p.causal & 2u) != 0u)
    {
      uint d4 = p.d / 4u;
      uint total = kend * d4;
      for (uint e0 = tid; e0 < total; e0 += 4u * WG)
        {
          vec4 kv[4], vv[4];
          [[unroll]] for (uint u = 0u; u < 4u; u++)
            {
              uint e = min (e0 + u * WG, total - 1u);
              uint j = e / d4;
              uint c = (e % d4) * 4u;
              kv[u] = k4[(kb + j * p.k_ld + c) / 4u];
              vv[u] = v4[(vb + j * p.v_ld + c) / 4u];
            }
          [[unroll]] for (uint u = 0u; u < 4u; u++)
            {
              uint e = e0 + u * WG;
              if (e < total)
                {
                  uint at = (e / d4) * KS + (e % d4) * 4u;
                  Ks[at] = kv[u].x;
                  Ks[at + 1u] = kv[u].y;
                  Ks[at + 2u] = kv[u].z;
                  Ks[at + 3u] = kv[u].w;
                  Vs[at] = vv[u].x;
                  Vs[at + 1u] = vv[u].y;
                  Vs[at + 2u] = vv[u].z;
                  Vs[at + 3u] = vv[u].w;
                }
            }
        }
    }
  else
    for (uint e = tid; e < kend * p.d; e += WG)
      {
        uint j = e / p.d;
        uint c = e % p.d;
        Ks[j * KS + c] = k[kb + j * p.k_ld + c];
        Vs[j * KS + c] = v[vb + j * p.v_ld + c];
      }
  barrier ();

  if (sg >= nsg)
    return;

  for (uint i = row0 + sg; i < row_end; i += nsg)
    {
      uint qb = p.q_off + b * p.q_bstride + i * p.q_ld + h * p.d;
      uint n_keys = causal ? min (i + 1u, kend) : kend;

      for (uint c = lane; c < p.d; c += S)
        Qs[sg * MAX_D + c] = q[qb + c] * p.scale;
      subgroupMemoryBarrierShared ();
      subgroupBarrier ();

      float mx = -3.402823466e38;
      for (uint j = lane; j < n_keys; j += S)
        {
          // Four partial sums: shorter chains, and less rounding error.
          vec4 part = vec4 (0.0);
          uint c = 0u;
          for (; c + 4u <= p.d; c += 4u)
            {
              part.x = fma (Qs[sg * MAX_D + c], Ks[j * KS + c], part.x);
              part.y = fma (Qs[sg * MAX_D + c + 1u], Ks[j * KS + c + 1u], part.y);
              part.z = fma (Qs[sg * MAX_D + c + 2u], Ks[j * KS + c + 2u], part.z);
              part.w = fma (Qs[sg * MAX_D + c + 3u], Ks[j * KS + c + 3u], part.w);
            }
          for (; c < p.d; c++)
            part.x = fma (Qs[sg * MAX_D + c], Ks[j * KS + c], part.x);
          float dot = (part.x + part.y) + (part.z + part.w);
          Ps[sg * MAX_K + j] = dot;
          mx = max (mx, dot);
        }
      mx = subgroupMax (mx);

      float sum = 0.0;
      for (uint j = lane; j < n_keys; j += S)
        {
          float w = exp (Ps[sg * MAX_K + j] - mx);
          Ps[sg * MAX_K + j] = w;
          sum += w;
        }
      float inv = 1.0 / subgroupAdd (sum);
      subgroupMemoryBarrierShared ();
      subgroupBarrier ();

      uint ob = p.o_off + b * p.o_bstride + i * p.o_ld + h * p.d;
      for (uint c = lane; c < p.d; c += S)
        {
          float acc = 0.0;
          for (uint j = 0; j < n_keys; j++)
            acc = fma (Ps[sg * MAX_K + j], Vs[j * KS + c], acc);
          o[ob + c] = acc * inv;
        }
      // Qs and Ps are rewritten for the next row.
      subgroupBarrier ();
    }
}
