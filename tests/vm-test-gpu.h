/* vm-test-gpu.h — what the Vulkan tests share.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "gpu/vm-gpu-device.h"

/* Prints the validation layer's messages since the last call and fails the
 * test if there were any (nothing to check without a device). */
static inline void
vm_test_assert_no_validation_messages (VmGpuDevice *device)
{
  g_autoptr(GPtrArray) messages = NULL;

  if (device == NULL)
    return;
  messages = vm_gpu_device_take_messages (device);
  for (guint i = 0; i < messages->len; i++)
    g_printerr ("# validation: %s\n", (char *) g_ptr_array_index (messages, i));
  g_assert_cmpuint (messages->len, ==, 0);
}
