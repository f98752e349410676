/* fuzz-safetensors.c — libFuzzer target: the safetensors reader.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-safetensors.h"
#include "fuzz/vm-fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmSafetensors) st = vm_safetensors_new_from_bytes (bytes, &error);

  if (st == NULL)
    {
      /* Every failure explains itself on one line. */
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        abort ();
      return 0;
    }

  for (guint i = 0; i < vm_safetensors_get_n_tensors (st); i++)
    {
      const VmTensor *t = vm_safetensors_get_tensor (st, i);
      g_autoptr(GError) conv_error = NULL;
      g_autofree float *f32 = NULL;
      g_autofree guint16 *f16 = NULL;
      volatile guint8 sink = 0;

      if (vm_safetensors_lookup (st, t->name) != t)
        abort ();
      /* Touch every byte the reader vouched for. */
      for (gsize k = 0; k < t->n_bytes; k++)
        sink ^= t->data[k];
      f32 = vm_tensor_to_f32 (t, &conv_error);
      g_clear_error (&conv_error);
      f16 = vm_tensor_to_f16 (t, &conv_error);
      (void) sink;
    }
  g_hash_table_size (vm_safetensors_get_metadata (st));
  return 0;
}
