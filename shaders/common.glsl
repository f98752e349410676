// common.glsl — shared by every kernel: weight storage type and helpers.
// SPDX-License-Identifier: GPL-3.0-or-later

#ifdef W_F16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : enable
#define WTYPE float16_t
#else
#define WTYPE float
#endif

#define EPILOGUE_NONE 0u
#define EPILOGUE_QUICK_GELU 1u
#define EPILOGUE_GELU 2u

// erf with |error| < 1.5e-7 (a rational-exponential approximation); GLSL has none.
float vm_erf (float x)
{
  float s = sign (x);
  float a = abs (x);
  float t = 1.0 / (1.0 + 0.3275911 * a);
  float y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - y * exp (-a * a));
}

float vm_activation (float x, uint epilogue)
{
  if (epilogue == EPILOGUE_QUICK_GELU)
    return x / (1.0 + exp (-1.702 * x));
  if (epilogue == EPILOGUE_GELU)
    return 0.5 * x * (1.0 + vm_erf (x * 0.70710678118654752));
  return x;
}
