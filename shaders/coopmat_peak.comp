// coopmat_peak.comp — the cooperative-matrix multiply-add rate alone, for
// bench-gpu --coopmat-peak: each subgroup loads 4 + 2 fp16 16×16 operands
// once and runs p.iters rounds of 8 independent 16×16×16 multiply-adds into
// fp32 accumulators, which it stores at the end (so none is optimised away).
// The ceiling the GEMM's matrix units give through VK_NV_cooperative_matrix.
// SPDX-License-Identifier: GPL-3.0-or-later
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require

layout (local_size_x = 128) in;

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

  [[unroll]] for (uint i = 0u; i < 4u; i++)
    coopMatLoadNV (a[i], h, i * 256u, 16u, false);
  [[unroll]] for (uint j = 0u; j < 2u; j++)
    coopMatLoadNV (b[j], h, 1024u + j * 256u, 16u, true);
  [[unroll]] for (uint i = 0u; i < 4u; i++)
    [[unroll]] for (uint j = 0u; j < 2u; j++)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);

  for (uint it = 0u; it < p.iters; it++)
    [[unroll]] for (uint i = 0u; i < 4u; i++)
      [[unroll]] for (uint j = 0u; j < 2u; j++)
        acc[i][j] = coopMatMulAddNV (a[i], b[j], acc[i][j]);

  [[unroll]] for (uint i = 0u; i < 4u; i++)
    [[unroll]] for (uint j = 0u; j < 2u; j++)
      coopMatStoreNV (acc[i][j], o, (sg * 8u + i * 2u + j) * 256u, 16u, false);
}
