// attention_lanes.comp — attention.comp for CPU drivers (lavapipe) whose
// subgroup is one SIMD register of 8 lanes.  The lanes of a subgroup split
// the head dimension instead of the queries: lane l holds texels l, l + 8 …
// of 8·QG query rows (Q pre-scaled) and of their output rows, all in
// registers.  For each key the lanes fetch texels l, l + 8 … of its K row
// (one RGBA32F texel fetch = one gather; a storage-buffer load would be a
// loop over the lanes), multiply-add them into 8 partial dot products per
// group of 8 queries, and a 3-stage shuffle butterfly finishes those and
// leaves query i's score in lane i.  The online softmax runs on blocks of
// KB keys (one rescale of the output rows per block); for the values each
// query's weight is broadcast to all lanes (subgroupShuffle with a constant
// lane: one register permute) and multiplied into the lanes' slice of V.
// No shared memory, no barriers.
// Q, K, V: RGBA32F texel buffers, [batch][tokens][ld] with head h at texels
// h·HD4 …; O: [batch][lq][ld] vec4 storage buffer.  Offsets, row strides and
// batch strides in texels (vec4).  HD4 = head_dim / 4, a build-time constant.
// Grid (ceil(lq / (8·QG·WG/8)), heads, batch).
// Needs: a subgroup size of 8 with shuffles (the caller checks).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#define LANES 8u
#ifndef QG
#define QG 1u          /* groups of 8 query rows per subgroup */
#endif
#ifndef KB
#define KB 8u          /* keys per softmax block */
#endif
#ifndef WG
#define WG 8           /* invocations per workgroup (a multiple of 8) */
#endif
#define QN (QG * 8u)
#define CH ((HD4 + LANES - 1u) / LANES)   /* texels of a row per lane */
#define MASKED (-1e30)

layout (local_size_x = WG) in;

layout (binding = 0) uniform samplerBuffer q_tex;
layout (binding = 1) uniform samplerBuffer k_tex;
layout (binding = 2) uniform samplerBuffer v_tex;
layout (std430, binding = 3) writeonly buffer O { vec4 o[]; };

layout (push_constant) uniform Push {
  uint lq, lk, d, causal;   /* d: unused (HD4) */
  uint q_off, k_off, v_off, o_off;
  uint q_ld, k_ld, v_ld, o_ld;
  uint q_bstride, k_bstride, v_bstride, o_bstride;
  float scale;
} p;

/* Lane l ends with the sum over the lanes of x[l] (transpose-and-add). */
float
butterfly (float x[8], uint lane)
{
  float v4[4], v2[2];
  bool hi = (lane & 4u) != 0u;
  [[unroll]] for (uint j = 0u; j < 4u; j++)
    v4[j] = (hi ? x[j + 4u] : x[j]) + subgroupShuffleXor (hi ? x[j] : x[j + 4u], 4u);
  hi = (lane & 2u) != 0u;
  [[unroll]] for (uint j = 0u; j < 2u; j++)
    v2[j] = (hi ? v4[j + 2u] : v4[j]) + subgroupShuffleXor (hi ? v4[j] : v4[j + 2u], 2u);
  hi = (lane & 1u) != 0u;
  return (hi ? v2[1] : v2[0]) + subgroupShuffleXor (hi ? v2[0] : v2[1], 1u);
}

void
main ()
{
  uint lane = gl_SubgroupInvocationID;
  uint h = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  uint q0 = (gl_WorkGroupID.x * (uint (WG) / LANES) + gl_SubgroupID) * QN;

  if (q0 >= p.lq)
    return;

  int qb = int (p.q_off + b * p.q_bstride + h * HD4);
  int kb = int (p.k_off + b * p.k_bstride + h * HD4);
  int vb = int (p.v_off + b * p.v_bstride + h * HD4);
  vec4 q[QN][CH], acc[QN][CH];
  float m[QG], l[QG];

  /* The lane's texels of the head (the last may lie past the head: those
   * lanes read a valid texel and weigh it by 0). */
  int col[CH];
  bool live[CH];
  [[unroll]] for (uint c = 0u; c < CH; c++)
    {
      live[c] = lane + c * LANES < HD4;
      col[c] = int (min (lane + c * LANES, HD4 - 1u));
    }

  [[unroll]] for (uint i = 0u; i < QN; i++)
    {
      int row = qb + int (min (q0 + i, p.lq - 1u) * p.q_ld);
      [[unroll]] for (uint c = 0u; c < CH; c++)
        {
          q[i][c] = live[c] ? texelFetch (q_tex, row + col[c]) * p.scale : vec4 (0.0);
          acc[i][c] = vec4 (0.0);
        }
    }
  [[unroll]] for (uint g = 0u; g < QG; g++)
    {
      m[g] = MASKED;
      l[g] = 0.0;
    }

  uint kend = p.lk;
  if (p.causal != 0u)
    kend = min (p.lk, q0 + QN);

  for (uint j0 = 0u; j0 < kend; j0 += KB)
    {
      float s[QG][KB];

      /* Scores of the block: lane i of s[g][t] = query q0 + 8g + i, key j0 + t. */
      vec4 kk[KB][CH];
      [[unroll]] for (uint t = 0u; t < KB; t++)
        {
          int row = kb + int (min (j0 + t, kend - 1u) * p.k_ld);
          [[unroll]] for (uint c = 0u; c < CH; c++)
            kk[t][c] = texelFetch (k_tex, row + col[c]);
        }
      [[unroll]] for (uint t = 0u; t < KB; t++)
        {
          vec4 k[CH] = kk[t];
          [[unroll]] for (uint g = 0u; g < QG; g++)
            {
              float part[8];
              [[unroll]] for (uint i = 0u; i < 8u; i++)
                {
                  part[i] = dot (q[g * 8u + i][0], k[0]);
                  [[unroll]] for (uint c = 1u; c < CH; c++)
                    part[i] += dot (q[g * 8u + i][c], k[c]);
                }
              uint j = j0 + t;
              bool masked = j >= kend || (p.causal != 0u && j > q0 + g * 8u + lane);
              float sc = butterfly (part, lane);   /* all lanes: shuffles */
              s[g][t] = masked ? MASKED : sc;
            }
        }

      /* Online softmax, one rescale per block: w[g][t] = weight of key
       * j0 + t for query q0 + 8g + lane, corr[g] the rescale of its row. */
      float corr[QG];
      [[unroll]] for (uint g = 0u; g < QG; g++)
        {
          float mb = s[g][0];
          [[unroll]] for (uint t = 1u; t < KB; t++)
            mb = max (mb, s[g][t]);
          float m_new = max (m[g], mb);
          corr[g] = exp (m[g] - m_new);
          float sum = 0.0;
          [[unroll]] for (uint t = 0u; t < KB; t++)
            {
              s[g][t] = exp (s[g][t] - m_new);
              sum += s[g][t];
            }
          l[g] = l[g] * corr[g] + sum;
          m[g] = m_new;
        }

      /* Output rows: each texel of acc is loaded, rescaled, given the KB
       * keys' values and stored once per block. */
      [[unroll]] for (uint c = 0u; c < CH; c++)
        {
          vec4 v[KB];
          [[unroll]] for (uint t = 0u; t < KB; t++)
            v[t] = texelFetch (v_tex, vb + int (min (j0 + t, kend - 1u) * p.v_ld) + col[c]);
          [[unroll]] for (uint g = 0u; g < QG; g++)
            [[unroll]] for (uint i = 0u; i < 8u; i++)
              {
                vec4 a = acc[g * 8u + i][c] * subgroupShuffle (corr[g], i);
                [[unroll]] for (uint t = 0u; t < KB; t++)
                  a += subgroupShuffle (s[g][t], i) * v[t];
                acc[g * 8u + i][c] = a;
              }
        }
    }

  [[unroll]] for (uint g = 0u; g < QG; g++)
    {
      float inv = 1.0 / l[g];
      [[unroll]] for (uint i = 0u; i < 8u; i++)
        {
          float w = subgroupShuffle (inv, i);
          uint qi = q0 + g * 8u + i;
          uint ob = p.o_off + b * p.o_bstride + qi * p.o_ld + h * HD4;
          [[unroll]] for (uint c = 0u; c < CH; c++)
            if (qi < p.lq && live[c])
              o[ob + lane + c * LANES] = acc[g * 8u + i][c] * w;
        }
    }
}
