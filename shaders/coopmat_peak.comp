// coopmat_peak.comp — the cooperative-matrix multiply-add rate, for
// bench-gpu --coopmat-peak: each subgroup runs p.iters rounds of 8
// independent 16×16×16 multiply-adds (4 A and 2 B fp16 operands) into fp32
// accumulators, which it stores at the end (so none is optimised away).
// SOURCE 0: operands loaded once (the matrix units alone); 1: loaded from
// shared memory every round (rows of 40 halves, as gemm_coopmat.comp lays
// them out); 2: loaded from the storage buffer every round (cached).
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require

#ifndef SOURCE
#define SOURCE 0
#endif

layout (local_size_x = 128) in;

shared float16_t S[4u * 3072u];

layout (std430, binding = 0) readonly buffer In { float16_t h[]; };
layout (std430, binding = 1) writeonly buffer Out { float o[]; };

layout (push_constant) uniform Push {
  uint iters;
} p;

void main ()
{
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[4];
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> b[2];
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[4][2];
  uint sg = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID;

  uint base = gl_SubgroupID * 3072u;
  for (uint e = gl_SubgroupInvocationID; e < 3072u; e += 32u)
    S[base + e] = h[e % 1536u];
  barrier ();
  [[unroll]] for (uint i = 0u; i < 4u; i++)
    coopMatLoadNV (a[i], h, i * 256u, 16u, false);
  [[unroll]] for (uint j = 0u; j < 2u; j++)
    coopMatLoadNV (b[j], h, 1024u + j * 256u, 16u, true);
  [[unroll]] for (uint i = 0u; i < 4u; i++)
    [[unroll]] for (uint j = 0u; j < 2u; j++)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);

  for (uint it = 0u; it < p.iters; it++)
    {
#if SOURCE == 1
      uint at = base + (it & 1u) * 16u;
      [[unroll]] for (uint i = 0u; i < 4u; i++)
        coopMatLoadNV (a[i], S, at + i * 16u * 40u, 40u, false);
      [[unroll]] for (uint j = 0u; j < 2u; j++)
        coopMatLoadNV (b[j], S, at + 640u + j * 16u * 40u, 40u, true);
#elif SOURCE == 2
      uint at = (it & 1u) * 16u;
      [[unroll]] for (uint i = 0u; i < 4u; i++)
        coopMatLoadNV (a[i], h, at + i * 256u, 16u, false);
      [[unroll]] for (uint j = 0u; j < 2u; j++)
        coopMatLoadNV (b[j], h, at + 1024u + j * 256u, 16u, true);
#endif
    [[unroll]] for (uint i = 0u; i < 4u; i++)
      [[unroll]] for (uint j = 0u; j < 2u; j++)
        acc[i][j] = coopMatMulAddNV (a[i], b[j], acc[i][j]);
    }

  [[unroll]] for (uint i = 0u; i < 4u; i++)
    [[unroll]] for (uint j = 0u; j < 2u; j++)
      coopMatStoreNV (acc[i][j], o, (sg * 8u + i * 2u + j) * 256u, 16u, false);
}
