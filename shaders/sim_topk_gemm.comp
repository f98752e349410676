// sim_topk_gemm.comp — one pass over fp16 rows for a large batch of fp32
// queries (up to QPASS per dispatch): a tiled GEMM (BR rows × QT queries per
// tile, the dimension staged through shared memory BK at a time, fp32
// accumulation) whose output step feeds a running top-k per query.  The
// N×Q score matrix is never written.
//
// Persistent workgroups: each walks its own range of rows tile by tile and,
// for every row tile, every query tile of the pass, so the database is read
// from memory once per dispatch (a row tile is re-read from cache for each
// query tile).  A workgroup keeps each query's candidates in a list of its
// own in the `lists` scratch buffer (CAP = KMAX + BR entries, so a list
// that holds at most KMAX can always take one more tile); candidates must
// beat the query's current k-th best score (kept in shared memory).  A list
// that could not take another tile is compacted to its best k (score
// descending, row ascending: the order of topk.glsl) by ranking, half a
// workgroup per list.  At the end every list is compacted and its k best
// written to the partials exactly as sim_topk.comp does, for topk_merge.comp.
//
// Shared memory: BK × (BR + 4 + QT + 4) floats + 3 × QPASS words ≈ 20 KiB
// (QT = 64), within the 32 KiB of CPU drivers.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : require

#define WG 256u
#define BR 64u          /* database rows per tile */
/* Queries per tile: 64 (TN = 4 per invocation), or 32 (TN = 2) for
 * batches of at most 32, which would waste half of a 64-query tile. */
#ifndef QUERY_TILE
#define QUERY_TILE 64
#endif
#define QT uint (QUERY_TILE)
#define TN (QT / 16u)
#if QUERY_TILE == 64
#define QVEC vec4
#else
#define QVEC vec2
#endif
#define BK 32u          /* dimensions per shared-memory stage */
#define BK4 (BK / 4u)
#define QPASS 256u      /* most queries per dispatch */
#define KMAX 64u
#define CAP (KMAX + BR) /* list entries per query; at most WG / 2 */
#define PAD 4u
#define NEG_INF_BITS 0xff800000u
layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer Db { f16vec4 db[]; };
layout (std430, binding = 1) readonly buffer Qs { vec4 qv[]; };
layout (std430, binding = 2) writeonly buffer Part { uvec2 part[]; };
layout (std430, binding = 3) coherent buffer Lists { uvec2 lists[]; };

layout (push_constant) uniform Push {
  uint n_rows, d4, n_queries, k;
  uint db_off4, q_off4, rows_per_wg, slot_base;
  uint n_slots, row_base, q_base;
} p;

/* The row tile and the query tile of one stage, dimension-major: a thread
 * reads its 4 rows (and 4 queries) as one vec4. */
shared vec4 s_db[BK][(BR + PAD) / 4u];
shared QVEC s_q[BK][(QT + PAD) / TN];
shared uint s_cnt[QPASS];
shared float s_thresh[QPASS];
shared uint s_todo[QPASS];
shared uint s_n_todo;

bool
better (uvec2 a, uvec2 b)
{
  float fa = uintBitsToFloat (a.x);
  float fb = uintBitsToFloat (b.x);
  return fa > fb || (fa == fb && a.y < b.y);
}

uint
list_base (uint q)
{
  return (gl_WorkGroupID.x * min (QPASS, p.n_queries - p.q_base) + q) * CAP;
}

/* Compacts the lists of the queries in s_todo[0 … s_n_todo) to their best k,
 * two at a time (half a workgroup each, one candidate per invocation: each
 * candidate's rank is the number of better ones, unique since a row is
 * offered once per query).  Call with every invocation, after a barrier. */
void
compact_todo ()
{
  uint tid = gl_LocalInvocationID.x;
  uint half_id = tid / (WG / 2u);
  uint e = tid % (WG / 2u);
  uint n_todo = s_n_todo;

  for (uint t = 0u; t < n_todo; t += 2u)
    {
      bool live = t + half_id < n_todo;
      uint q = live ? s_todo[t + half_id] : 0u;
      uint n = live ? s_cnt[q] : 0u;
      uint base = list_base (q);
      uvec2 mine = uvec2 (0u);
      uint rank = 0xffffffffu;

      if (e < n)
        {
          mine = lists[base + e];
          rank = 0u;
          for (uint f = 0u; f < n; f++)
            rank += better (lists[base + f], mine) ? 1u : 0u;
        }
      memoryBarrierBuffer ();
      barrier ();
      if (rank < p.k)
        lists[base + rank] = mine;
      if (rank == p.k - 1u)
        s_thresh[q] = uintBitsToFloat (mine.x);
      if (live && e == 0u)
        s_cnt[q] = min (n, p.k);
      memoryBarrierBuffer ();
      barrier ();
    }
  if (tid == 0u)
    s_n_todo = 0u;
  barrier ();
}

/* One stage's values for this invocation: dimensions k4·4 … k4·4+BK-1
 * (zero past the dimension) of its rows and queries (zero past the last). */
void
load_stage (uint k4, uint t0, uint r1, uint qt0, uint nq, uint q_first,
            out vec4 next_db[BR * BK4 / WG], out vec4 next_q[QT * BK4 / WG])
{
  uint tid = gl_LocalInvocationID.x;

  [[unroll]] for (uint j = 0u; j < BR * BK4 / WG; j++)
    {
      uint el = tid + j * WG;
      uint r = el / BK4, c = el % BK4;
      next_db[j] = vec4 (0.0);
      if (k4 + c < p.d4)
        next_db[j] = vec4 (db[p.db_off4 + min (t0 + r, r1 - 1u) * p.d4 + k4 + c]);
    }
  [[unroll]] for (uint j = 0u; j < QT * BK4 / WG; j++)
    {
      uint el = tid + j * WG;
      uint q = el / BK4, c = el % BK4;
      next_q[j] = vec4 (0.0);
      if (k4 + c < p.d4 && qt0 + q < nq)
        next_q[j] = qv[q_first + (qt0 + q) * p.d4 + k4 + c];
    }
}

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % 16u;           /* rows 4·tx … 4·tx+3 of a tile */
  uint ty = tid / 16u;           /* queries TN·ty … TN·ty+TN-1 of a tile */
  uint nq = min (QPASS, p.n_queries - p.q_base);
  uint r0 = gl_WorkGroupID.x * p.rows_per_wg;
  uint r1 = min (r0 + p.rows_per_wg, p.n_rows);
  uint q_first = p.q_off4;   /* the binding starts at the pass's first query */

  for (uint q = tid; q < QPASS; q += WG)
    {
      s_cnt[q] = 0u;
      s_thresh[q] = uintBitsToFloat (NEG_INF_BITS);
    }
  if (tid == 0u)
    s_n_todo = 0u;
  barrier ();

  for (uint t0 = r0; t0 < r1; t0 += BR)
    for (uint qt0 = 0u; qt0 < nq; qt0 += QT)
      {
        QVEC acc[4];

        [[unroll]] for (uint i = 0u; i < 4u; i++)
          acc[i] = QVEC (0.0);
        /* Stage BK dimensions of BR rows and QT queries: 8 consecutive
         * invocations read 64 contiguous bytes of a row.  The next stage's
         * values are loaded into registers while this one is computed. */
        vec4 next_db[BR * BK4 / WG], next_q[QT * BK4 / WG];

        load_stage (0u, t0, r1, qt0, nq, q_first, next_db, next_q);
        for (uint k4 = 0u; k4 < p.d4; k4 += BK4)
          {
            [[unroll]] for (uint j = 0u; j < BR * BK4 / WG; j++)
              {
                uint el = tid + j * WG;
                uint r = el / BK4, c = el % BK4;
                [[unroll]] for (uint i = 0u; i < 4u; i++)
                  s_db[c * 4u + i][r / 4u][r % 4u] = next_db[j][i];
              }
            [[unroll]] for (uint j = 0u; j < QT * BK4 / WG; j++)
              {
                uint el = tid + j * WG;
                uint q = el / BK4, c = el % BK4;
                [[unroll]] for (uint i = 0u; i < 4u; i++)
                  s_q[c * 4u + i][q / TN][q % TN] = next_q[j][i];
              }
            barrier ();
            if (k4 + BK4 < p.d4)
              load_stage (k4 + BK4, t0, r1, qt0, nq, q_first, next_db, next_q);
            [[unroll]] for (uint kk = 0u; kk < BK; kk++)
              {
                vec4 a = s_db[kk][tx];
                QVEC b = s_q[kk][ty];
                [[unroll]] for (uint i = 0u; i < 4u; i++)
                  acc[i] = fma (QVEC (a[i]), b, acc[i]);
              }
            barrier ();
          }

        /* The output step: offer the scores that beat the k-th best. */
        [[unroll]] for (uint i = 0u; i < 4u; i++)
          {
            uint row = t0 + 4u * tx + i;
            [[unroll]] for (uint j = 0u; j < TN; j++)
              {
                uint q = qt0 + TN * ty + j;
                if (row < r1 && q < nq && acc[i][j] > s_thresh[q])
                  {
                    uint pos = atomicAdd (s_cnt[q], 1u);
                    lists[list_base (q) + pos] = uvec2 (floatBitsToUint (acc[i][j]), p.row_base + row);
                  }
              }
          }
        memoryBarrierBuffer ();
        barrier ();
        /* Compact the lists that could not take another tile. */
        if (tid < QT && qt0 + tid < nq && s_cnt[qt0 + tid] > CAP - BR)
          s_todo[atomicAdd (s_n_todo, 1u)] = qt0 + tid;
        barrier ();
        compact_todo ();
      }

  /* Every list to its best k, then out to the partials. */
  for (uint q = tid; q < nq; q += WG)
    s_todo[q] = q;
  if (tid == 0u)
    s_n_todo = nq;
  barrier ();
  compact_todo ();
  for (uint el = tid; el < nq * p.k; el += WG)
    {
      uint q = el / p.k, e = el % p.k;
      uint ob = ((p.q_base + q) * p.n_slots + p.slot_base + gl_WorkGroupID.x) * p.k;
      part[ob + e] = e < s_cnt[q] ? lists[list_base (q) + e] : uvec2 (NEG_INF_BITS, 0xffffffffu);
    }
}
