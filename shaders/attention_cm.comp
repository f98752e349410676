// attention_cm.comp — multi-head self-attention for short sequences on NV
// cooperative matrices (CLIP: 50 image tokens, 77 text tokens, heads of
// 64): O = softmax(scale · Q·Kᵀ [+ causal mask]) · V, with Q, K, P and V
// rounded to fp16 in the products and fp32 everywhere else (softmax,
// accumulators), as the GEMMs do with fp16 weights.
//
// One workgroup per head of one sequence; subgroup s takes query rows
// 16s … 16s + 15.  It loads its Q fragments (fp32, converted and scaled
// in registers), multiplies them by every key tile's Kᵀ fragments straight
// from the buffer into a 16 × 16·tiles score block in shared memory, takes
// the softmax of its rows there (two lanes per row), and multiplies the
// probabilities by V's fragments (loaded before the softmax) into O,
// which it stores directly.  No workgroup barriers.  A tile that would
// run past the sequence's end is loaded from row L − 16: its keys that
// the tile before already has get probability 0, and its query rows are
// the same rows with the same values, stored twice.  The caller checks:
// L = lq = lk, 16 ≤ L ≤ 16·MAX_T, head dimension D, row strides, offsets
// and batch strides in whole vec4.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require

#define D 64u
#define DT (D / 16u)
#define MAX_T 5u
// The score block's row stride: 4 floats more than a row, so that the
// softmax's lanes (two per row) fall on different banks for 8 rows in turn
// rather than for 2.
#define SROW (16u * MAX_T + 4u)

layout (local_size_x = 32 * MAX_T) in;

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

shared float Ss[MAX_T * 16u * SROW];

#define F16 fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define F32 fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>

void main ()
{
  uint sg = gl_SubgroupID;
  uint lane = gl_SubgroupInvocationID;
  uint h = gl_WorkGroupID.y;
  uint b = gl_WorkGroupID.z;
  uint L = p.lq;
  uint nt = (L + 15u) / 16u;

  if (sg >= nt)
    return;

  uint qrow0 = min (16u * sg, L - 16u);
  uint qb = p.q_off + b * p.q_bstride + h * D;
  uint kb = p.k_off + b * p.k_bstride + h * D;
  uint vb = p.v_off + b * p.v_bstride + h * D;
  uint ob = p.o_off + b * p.o_bstride + h * D;
  uint sb = sg * 16u * SROW;

  F16 mq[DT];
  [[unroll]] for (uint t = 0u; t < DT; t++)
    {
      F32 x;
      coopMatLoadNV (x, q, qb + qrow0 * p.q_ld + 16u * t, p.q_ld, false);
      mq[t] = F16 (x * p.scale);
    }

  // Scores of the 16 rows against every key tile.
  [[unroll]] for (uint kt = 0u; kt < MAX_T; kt++)
    if (kt < nt)
      {
        uint krow0 = min (16u * kt, L - 16u);
        F32 s = F32 (0.0);
        [[unroll]] for (uint t = 0u; t < DT; t++)
          {
            F32 x;
            // Kᵀ (D × keys): element (dd, key) at key·k_ld + dd, column-major.
            coopMatLoadNV (x, k, kb + krow0 * p.k_ld + 16u * t, p.k_ld, true);
            s = coopMatMulAddNV (mq[t], F16 (x), s);
          }
        coopMatStoreNV (s, Ss, sb + 16u * kt, SROW, false);
      }
  // V's fragments (keys × D, row-major), loaded before the softmax so
  // that their latency passes while it runs (on an H100 the 12 layers of
  // one image took 0.157 ms against 0.205 loaded after it, those of 64
  // images 0.79 against 1.21).
  F32 vx[MAX_T][DT];
  [[unroll]] for (uint kt = 0u; kt < MAX_T; kt++)
    if (kt < nt)
      [[unroll]] for (uint t = 0u; t < DT; t++)
        coopMatLoadNV (vx[kt][t], v, vb + min (16u * kt, L - 16u) * p.v_ld + 16u * t, p.v_ld, false);
  subgroupMemoryBarrierShared ();
  subgroupBarrier ();

  // Softmax: lanes 2r and 2r + 1 share row r, alternate columns.  The
  // loops are unrolled to the most columns there can be, so that a lane's
  // loads of shared memory are all in flight together.
  {
    uint r = lane >> 1u;
    uint qi = qrow0 + r;
    bool causal = (p.causal & 1u) != 0u;
    uint at = sb + r * SROW;
    float mx = -3.402823466e38;
    float e[8u * MAX_T];

    [[unroll]] for (uint u = 0u; u < 8u * MAX_T; u++)
      {
        uint c = 2u * u + (lane & 1u);
        uint kt = c / 16u;
        uint key = min (16u * kt, L - 16u) + c % 16u;
        bool live = kt < nt && key >= 16u * kt && (!causal || key <= qi);
        e[u] = live ? Ss[at + c] : -3.402823466e38;
        mx = max (mx, e[u]);
      }
    mx = max (mx, subgroupShuffleXor (mx, 1u));
    float sum = 0.0;
    [[unroll]] for (uint u = 0u; u < 8u * MAX_T; u++)
      {
        uint c = 2u * u + (lane & 1u);
        uint kt = c / 16u;
        uint key = min (16u * kt, L - 16u) + c % 16u;
        bool live = kt < nt && key >= 16u * kt && (!causal || key <= qi);
        e[u] = live ? exp (e[u] - mx) : 0.0;
        sum += e[u];
      }
    sum += subgroupShuffleXor (sum, 1u);
    float inv = 1.0 / sum;
    [[unroll]] for (uint u = 0u; u < 8u * MAX_T; u++)
      {
        uint c = 2u * u + (lane & 1u);
        if (c < 16u * nt)
          Ss[at + c] = e[u] * inv;
      }
  }
  subgroupMemoryBarrierShared ();
  subgroupBarrier ();

  F16 mp[MAX_T];
  [[unroll]] for (uint kt = 0u; kt < MAX_T; kt++)
    if (kt < nt)
      {
        F32 x;
        coopMatLoadNV (x, Ss, sb + 16u * kt, SROW, false);
        mp[kt] = F16 (x);
      }
  [[unroll]] for (uint t = 0u; t < DT; t++)
    {
      F32 acc = F32 (0.0);
      [[unroll]] for (uint kt = 0u; kt < MAX_T; kt++)
        if (kt < nt)
          acc = coopMatMulAddNV (mp[kt], F16 (vx[kt][t]), acc);
      coopMatStoreNV (acc, o, ob + qrow0 * p.o_ld + 16u * t, p.o_ld, false);
    }
}
