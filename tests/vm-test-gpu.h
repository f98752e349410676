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

/* Opens the Vulkan device.  Without one at all (no Vulkan loader, no
 * driver) returns NULL and sets *@skip_reason to the message the tests skip
 * with; any other failure aborts.  With @without_validation_ok, a device
 * that cannot have the validation layer asked for
 * (VIDMARK_VULKAN_VALIDATION=1, layer not installed) is opened without it. */
static inline VmGpuDevice *
vm_test_open_device (gboolean   without_validation_ok,
                     char     **skip_reason)
{
  g_autoptr(GError) error = NULL;
  VmGpuDevice *device = vm_gpu_device_new (&error);

  if (device == NULL && without_validation_ok &&
      g_error_matches (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED) &&
      g_strcmp0 (g_getenv ("VIDMARK_VULKAN_VALIDATION"), "1") == 0)
    {
      /* No validation layer installed: still run every kernel. */
      g_printerr ("# %s; running without validation\n", error->message);
      g_clear_error (&error);
      g_setenv ("VIDMARK_VULKAN_VALIDATION", "0", TRUE);
      device = vm_gpu_device_new (&error);
    }
  if (device == NULL)
    {
      if (g_error_matches (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER) ||
          g_error_matches (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE))
        *skip_reason = g_strdup_printf ("no Vulkan device: %s", error->message);
      else
        g_error ("opening the Vulkan device failed: %s", error->message);
    }

  return device;
}
