// resample.glsl — PIL-style separable resampling with fixed-point weights.
// Weights are precomputed on the host (doubles, normalised, scaled by 2^22)
// and applied to 8-bit samples; the sum rounds half up and clips to 0..255,
// as PIL does between and after its horizontal and vertical passes.
// SPDX-License-Identifier: GPL-3.0-or-later

#define VM_PRECISION_BITS 22

uint vm_clip8 (int ss)
{
  int v = ss >> VM_PRECISION_BITS;
  return uint (clamp (v, 0, 255));
}
