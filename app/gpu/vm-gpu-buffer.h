/* vm-gpu-buffer.h — storage buffers, sub-allocated from large device blocks.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gpu/vm-gpu-device.h"

G_BEGIN_DECLS

typedef struct _VmGpuBuffer VmGpuBuffer;

/* A device-local storage buffer.  On unified-memory devices (integrated GPUs,
 * CPU drivers) it is host-mapped and uploads/downloads are plain copies;
 * elsewhere they go through a staging buffer.  Sizes above the device's
 * limits, or memory exhaustion, give VM_GPU_ERROR_OUT_OF_MEMORY. */
VmGpuBuffer *vm_gpu_buffer_new   (VmGpuDevice  *device,
                                  guint64       size,
                                  GError      **error);
VmGpuBuffer *vm_gpu_buffer_ref   (VmGpuBuffer  *self);
void         vm_gpu_buffer_unref (VmGpuBuffer  *self);

guint64      vm_gpu_buffer_get_size   (VmGpuBuffer *self);
VmGpuDevice *vm_gpu_buffer_get_device (VmGpuBuffer *self);

/* Copies host memory into the buffer, and back.  Waits for the copy. */
gboolean     vm_gpu_buffer_upload   (VmGpuBuffer  *self,
                                     guint64       offset,
                                     const void   *data,
                                     gsize         size,
                                     GError      **error);
gboolean     vm_gpu_buffer_download (VmGpuBuffer  *self,
                                     guint64       offset,
                                     void         *data,
                                     gsize         size,
                                     GError      **error);
/* Convenience: a buffer holding a copy of @data. */
VmGpuBuffer *vm_gpu_buffer_new_from_data (VmGpuDevice  *device,
                                          const void   *data,
                                          gsize         size,
                                          GError      **error);

/* Memory statistics of the sub-allocator, for tests and `vidmark gpu`. */
typedef struct {
  guint   n_blocks;          /* VkDeviceMemory objects alive */
  guint64 block_bytes;       /* their total size */
  guint64 used_bytes;        /* bytes handed out to buffers */
} VmGpuMemoryStats;

void         vm_gpu_device_get_memory_stats (VmGpuDevice      *device,
                                             VmGpuMemoryStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmGpuBuffer, vm_gpu_buffer_unref)

G_END_DECLS
