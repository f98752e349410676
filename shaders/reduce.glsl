// reduce.glsl — workgroup sums over shared memory (local_size_x = WG).
// SPDX-License-Identifier: GPL-3.0-or-later

shared float vm_red[WG];

float vm_wg_sum (float v)
{
  uint tid = gl_LocalInvocationID.x;
  vm_red[tid] = v;
  barrier ();
  for (uint s = WG / 2u; s > 0u; s >>= 1)
    {
      if (tid < s)
        vm_red[tid] += vm_red[tid + s];
      barrier ();
    }
  float total = vm_red[0];
  barrier ();
  return total;
}

float vm_wg_max (float v)
{
  uint tid = gl_LocalInvocationID.x;
  vm_red[tid] = v;
  barrier ();
  for (uint s = WG / 2u; s > 0u; s >>= 1)
    {
      if (tid < s)
        vm_red[tid] = max (vm_red[tid], vm_red[tid + s]);
      barrier ();
    }
  float total = vm_red[0];
  barrier ();
  return total;
}
