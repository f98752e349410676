/* vm-gpu-buffer.c — buffers and the block sub-allocator.
 *
 * Buffers are carved out of large VkDeviceMemory blocks (first fit over a
 * sorted, coalesced free list), so a model's weights take a few allocations.
 * Requests of half a block or more get a block of their own.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gpu/vm-gpu-private.h"

#include <string.h>
#include <inttypes.h>
#include <glib/gi18n.h>

#define STAGING_CHUNK ((guint64) 32 << 20)

static void
block_free (VmGpuDevice *device,
            VmGpuBlock  *block)
{
  if (block->mapped != NULL)
    device->vk.vkUnmapMemory (device->device, block->memory);
  device->vk.vkFreeMemory (device->device, block->memory, NULL);
  g_array_unref (block->free_list);
  g_free (block);
}

void
vm_gpu_device_free_memory (VmGpuDevice *device)
{
  for (guint i = 0; i < device->blocks->len; i++)
    block_free (device, g_ptr_array_index (device->blocks, i));
  g_ptr_array_set_size (device->blocks, 0);
}

static VmGpuBlock *
block_new (VmGpuDevice  *device,
           guint32       type_index,
           guint64       size,
           GError      **error)
{
  VmVk *vk = &device->vk;
  VmGpuBlock *block;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void *mapped = NULL;
  VkResult res;
  VmGpuRange all = { 0, size };
  guint heap = device->memory_properties.memoryTypes[type_index].heapIndex;

  if (size > device->memory_properties.memoryHeaps[heap].size)
    {
      g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY,
                   _("Out of GPU memory: %s bytes asked for, the heap holds %" PRIu64),
                   want, (guint64) device->memory_properties.memoryHeaps[heap].size);
      return NULL;
    }

  VkMemoryAllocateInfo info = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = size,
    .memoryTypeIndex = type_index,
  };
  res = vk->vkAllocateMemory (device->device, &info, NULL, &memory);
  if (res != VK_SUCCESS)
    {
      vm_gpu_set_vk_error (device, error, res, "memory allocation");
      return NULL;
    }

  if (device->memory_properties.memoryTypes[type_index].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
    {
      res = vk->vkMapMemory (device->device, memory, 0, VK_WHOLE_SIZE, 0, &mapped);
      if (res != VK_SUCCESS)
        {
          vk->vkFreeMemory (device->device, memory, NULL);
          vm_gpu_set_vk_error (device, error, res, "memory mapping");
          return NULL;
        }
    }

  block = g_new0 (VmGpuBlock, 1);
  block->memory = memory;
  block->size = size;
  block->type_index = type_index;
  block->mapped = mapped;
  block->free_list = g_array_new (FALSE, FALSE, sizeof (VmGpuRange));
  g_array_append_val (block->free_list, all);
  return block;
}

/* First fit; returns G_MAXUINT64 when nothing fits. */
static guint64
block_take (VmGpuBlock *block,
            guint64     size,
            guint64     alignment)
{
  for (guint i = 0; i < block->free_list->len; i++)
    {
      VmGpuRange *r = &g_array_index (block->free_list, VmGpuRange, i);
      guint64 start = (r->offset + alignment - 1) / alignment * alignment;
      guint64 end = start + size;

      if (end > r->offset + r->size)
        continue;

      {
        VmGpuRange before = { r->offset, start - r->offset };
        VmGpuRange after = { end, r->offset + r->size - end };

        g_array_remove_index (block->free_list, i);
        if (after.size > 0)
          g_array_insert_val (block->free_list, i, after);
        if (before.size > 0)
          g_array_insert_val (block->free_list, i, before);
      }
      block->used += size;
      return start;
    }
  return G_MAXUINT64;
}

static void
block_give (VmGpuBlock *block,
            guint64     offset,
            guint64     size)
{
  GArray *fl = block->free_list;
  VmGpuRange r = { offset, size };
  guint i = 0;

  while (i < fl->len && g_array_index (fl, VmGpuRange, i).offset < offset)
    i++;
  g_array_insert_val (fl, i, r);

  /* Coalesce with the next range, then with the previous one. */
  if (i + 1 < fl->len)
    {
      VmGpuRange *cur = &g_array_index (fl, VmGpuRange, i);
      VmGpuRange *next = &g_array_index (fl, VmGpuRange, i + 1);

      if (cur->offset + cur->size == next->offset)
        {
          cur->size += next->size;
          g_array_remove_index (fl, i + 1);
        }
    }
  if (i > 0)
    {
      VmGpuRange *prev = &g_array_index (fl, VmGpuRange, i - 1);
      VmGpuRange *cur = &g_array_index (fl, VmGpuRange, i);

      if (prev->offset + prev->size == cur->offset)
        {
          prev->size += cur->size;
          g_array_remove_index (fl, i);
        }
    }
  block->used -= size;
}

static gboolean
allocate (VmGpuDevice           *device,
          VmGpuBuffer           *buffer,
          const VkMemoryRequirements *req,
          guint32                type_index,
          GError               **error)
{
  VmGpuBlock *block = NULL;
  guint64 offset = G_MAXUINT64;
  guint64 alignment = MAX (req->alignment, 16);

  if (!(req->memoryTypeBits & (1u << type_index)))
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                   _("The GPU cannot place a storage buffer in the chosen memory type"));
      return FALSE;
    }

  g_mutex_lock (&device->memory_lock);

  if (req->size < device->block_size / 2)
    {
      for (guint i = 0; i < device->blocks->len && offset == G_MAXUINT64; i++)
        {
          VmGpuBlock *b = g_ptr_array_index (device->blocks, i);

          if (b->type_index != type_index || b->size < device->block_size)
            continue;
          offset = block_take (b, req->size, alignment);
          if (offset != G_MAXUINT64)
            block = b;
        }
      if (block == NULL)
        {
          block = block_new (device, type_index, device->block_size, error);
          if (block == NULL)
            goto out;
          g_ptr_array_add (device->blocks, block);
          offset = block_take (block, req->size, alignment);
        }
    }
  else
    {
      /* A dedicated block. */
      block = block_new (device, type_index, req->size, error);
      if (block == NULL)
        goto out;
      g_ptr_array_add (device->blocks, block);
      offset = block_take (block, req->size, alignment);
    }

  g_assert (offset != G_MAXUINT64);
  buffer->block = block;
  buffer->block_offset = offset;
  buffer->alloc_size = req->size;

out:
  g_mutex_unlock (&device->memory_lock);
  return block != NULL;
}

static void
release (VmGpuDevice *device,
         VmGpuBuffer *buffer)
{
  VmGpuBlock *block = buffer->block;

  if (block == NULL)
    return;

  g_mutex_lock (&device->memory_lock);
  block_give (block, buffer->block_offset, buffer->alloc_size);
  if (block->used == 0)
    {
      /* Keep one empty standard block of each memory type around for the
       * next buffers: scratch and staging buffers come and go with every
       * submission, and allocating (for staging: pinning) 256 MiB each
       * time costs milliseconds. */
      guint n_empty = 0;

      for (guint i = 0; i < device->blocks->len; i++)
        {
          VmGpuBlock *b = g_ptr_array_index (device->blocks, i);
          if (b->used == 0 && b->size == device->block_size && b->type_index == block->type_index)
            n_empty++;
        }
      if (block->size != device->block_size || n_empty > 1)
        {
          g_ptr_array_remove (device->blocks, block);
          block_free (device, block);
        }
    }
  g_mutex_unlock (&device->memory_lock);
  buffer->block = NULL;
}

static VmGpuBuffer *
buffer_new_in (VmGpuDevice  *device,
               guint64       size,
               guint32       type_index,
               GError      **error)
{
  VmVk *vk = &device->vk;
  VmGpuBuffer *self;
  VkMemoryRequirements req;
  VkResult res;

  if (size == 0)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("A GPU buffer cannot be empty"));
      return NULL;
    }
  if (size > device->info->max_buffer_size)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY,
                   _("Out of GPU memory: a buffer of %" PRIu64 " bytes exceeds "
                     "the device limit of %" PRIu64),
                   size, device->info->max_buffer_size);
      return NULL;
    }
  if (device->lost)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_DEVICE_LOST,
                   _("The GPU device was lost; restart Vidmark"));
      return NULL;
    }

  VkBufferCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
             VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
             VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
             VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
             VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };

  self = g_new0 (VmGpuBuffer, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->device = vm_gpu_device_ref (device);
  self->size = size;

  res = vk->vkCreateBuffer (device->device, &info, NULL, &self->buffer);
  if (res != VK_SUCCESS)
    {
      self->buffer = VK_NULL_HANDLE;
      vm_gpu_set_vk_error (device, error, res, "buffer creation");
      vm_gpu_buffer_unref (self);
      return NULL;
    }

  vk->vkGetBufferMemoryRequirements (device->device, self->buffer, &req);
  if (!allocate (device, self, &req, type_index, error))
    {
      vm_gpu_buffer_unref (self);
      return NULL;
    }

  res = vk->vkBindBufferMemory (device->device, self->buffer, self->block->memory, self->block_offset);
  if (res != VK_SUCCESS)
    {
      vm_gpu_set_vk_error (device, error, res, "binding buffer memory");
      vm_gpu_buffer_unref (self);
      return NULL;
    }
  return self;
}

VmGpuBuffer *
vm_gpu_buffer_new (VmGpuDevice  *device,
                   guint64       size,
                   GError      **error)
{
  return buffer_new_in (device, size, device->device_type_index, error);
}

VmGpuBuffer *
vm_gpu_buffer_ref (VmGpuBuffer *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
vm_gpu_buffer_unref (VmGpuBuffer *self)
{
  VmGpuDevice *device;

  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;

  device = self->device;
  if (self->buffer != VK_NULL_HANDLE)
    device->vk.vkDestroyBuffer (device->device, self->buffer, NULL);
  release (device, self);
  vm_gpu_device_unref (device);
  g_free (self);
}

guint64
vm_gpu_buffer_get_size (VmGpuBuffer *self)
{
  return self->size;
}

VmGpuDevice *
vm_gpu_buffer_get_device (VmGpuBuffer *self)
{
  return self->device;
}

static gboolean
check_range (VmGpuBuffer  *self,
             guint64       offset,
             gsize         size,
             GError      **error)
{
  if (offset > self->size || size > self->size - offset)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("Bytes %" PRIu64 "+%zu lie outside a GPU buffer of %"
                     PRIu64 " bytes"), offset, size, self->size);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  VkBuffer     src;
  VkBuffer     dst;
  VkBufferCopy region;
} CopyJob;

static void
record_copy (VmGpuDevice     *device,
             VkCommandBuffer  cmd,
             gpointer         user_data)
{
  CopyJob *job = user_data;

  VkMemoryBarrier to_host = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
  };

  device->vk.vkCmdCopyBuffer (cmd, job->src, job->dst, 1, &job->region);
  device->vk.vkCmdPipelineBarrier (cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                                   0, 1, &to_host, 0, NULL, 0, NULL);
}

VmGpuBuffer *
vm_gpu_buffer_new_staging (VmGpuDevice  *device,
                           guint64       size,
                           GError      **error)
{
  return buffer_new_in (device, size, device->staging_type_index, error);
}

static gboolean
transfer (VmGpuBuffer  *self,
          guint64       offset,
          guint8       *host,
          gsize         size,
          gboolean      to_device,
          GError      **error)
{
  VmGpuDevice *device = self->device;
  g_autoptr(VmGpuBuffer) staging = NULL;
  guint64 done = 0;
  gint64 t0, t1;

  if (!check_range (self, offset, size, error))
    return FALSE;
  if (size == 0)
    return TRUE;
  if (device->lost)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_DEVICE_LOST,
                   _("The GPU device was lost; restart Vidmark"));
      return FALSE;
    }

  if (self->block->mapped != NULL)
    {
      guint8 *p = self->block->mapped + self->block_offset + offset;

      if (to_device)
        memcpy (p, host, size);
      else
        memcpy (host, p, size);
      return TRUE;
    }

  t0 = g_get_monotonic_time ();
  staging = buffer_new_in (device, MIN (size, STAGING_CHUNK), device->staging_type_index, error);
  if (staging == NULL)
    return FALSE;
  t1 = g_get_monotonic_time ();

  while (done < size)
    {
      guint64 n = MIN (size - done, STAGING_CHUNK);
      guint8 *mapped = staging->block->mapped + staging->block_offset;
      CopyJob job;

      if (to_device)
        {
          memcpy (mapped, host + done, n);
          job = (CopyJob) { staging->buffer, self->buffer, { 0, offset + done, n } };
        }
      else
        job = (CopyJob) { self->buffer, staging->buffer, { offset + done, 0, n } };

      if (!vm_gpu_device_run_commands (device, record_copy, &job, error))
        return FALSE;
      if (!to_device)
        memcpy (host + done, mapped, n);
      done += n;
    }
  if (g_strcmp0 (g_getenv ("VIDMARK_GPU_PROFILE"), "1") == 0)
    g_printerr ("host: %s of %zu bytes through staging: %.3f ms (staging buffer %.3f ms)\n",
                to_device ? "upload" : "download", size, (g_get_monotonic_time () - t0) / 1e3, (t1 - t0) / 1e3);
  return TRUE;
}

gboolean
vm_gpu_buffer_upload (VmGpuBuffer  *self,
                      guint64       offset,
                      const void   *data,
                      gsize         size,
                      GError      **error)
{
  return transfer (self, offset, (guint8 *) data, size, TRUE, error);
}

gboolean
vm_gpu_buffer_download (VmGpuBuffer  *self,
                        guint64       offset,
                        void         *data,
                        gsize         size,
                        GError      **error)
{
  return transfer (self, offset, data, size, FALSE, error);
}

VmGpuBuffer *
vm_gpu_buffer_new_from_data (VmGpuDevice  *device,
                             const void   *data,
                             gsize         size,
                             GError      **error)
{
  g_autoptr(VmGpuBuffer) self = vm_gpu_buffer_new (device, size, error);

  if (self == NULL || !vm_gpu_buffer_upload (self, 0, data, size, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
vm_gpu_device_get_memory_stats (VmGpuDevice      *device,
                                VmGpuMemoryStats *stats)
{
  memset (stats, 0, sizeof *stats);
  g_mutex_lock (&device->memory_lock);
  for (guint i = 0; i < device->blocks->len; i++)
    {
      VmGpuBlock *b = g_ptr_array_index (device->blocks, i);

      stats->n_blocks++;
      stats->block_bytes += b->size;
      stats->used_bytes += b->used;
    }
  g_mutex_unlock (&device->memory_lock);
}
