/* vm-gpu-graph.c — dispatch graphs: recording with dependency tracking,
 * submission with a fence and a timeout, optional per-kernel timing.
 *
 * Barriers: each buffer remembers whether it has a write not yet made
 * visible, and whether it was read since the last barrier.  A node waits
 * (one vkCmdPipelineBarrier) only when it reads a buffer with a pending write
 * (read after write), or writes a buffer that has a pending write or was read
 * since the last barrier (write after write/read).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gpu/vm-gpu-graph.h"
#include "gpu/vm-gpu-private.h"

#include <string.h>
#include <inttypes.h>
#include <glib/gi18n.h>

#define SETS_PER_POOL 256
#define MAX_BINDINGS 16
#define MAX_TIMED_NODES 2048
#define DEFAULT_TIMEOUT_NS (60 * G_GUINT64_CONSTANT (1000000000))

typedef struct {
  gboolean write_pending;
  gboolean read_since_barrier;
} BufferState;

typedef struct {
  const guint8 *from;     /* mapped: the source itself or a staging buffer */
  void         *data;
  gsize         size;
} PendingRead;

struct _VmGpuGraph {
  VmGpuDevice     *device;
  VkCommandPool    cmd_pool;       /* its own: recording needs no lock */
  VkCommandBuffer  cmd;
  VkFence          fence;
  GArray          *pools;          /* VkDescriptorPool */
  guint            sets_in_last_pool;
  GPtrArray       *held;           /* VmGpuBuffer refs kept until completion */
  GPtrArray       *scratch;        /* VmGpuBuffer owned by the graph */
  VmGpuScratchPool *scratch_pool;  /* not owned; NULL: none */
  GArray          *views;          /* VkBufferView, destroyed after completion */
  GHashTable      *states;         /* VmGpuBuffer* → BufferState* */
  gboolean         recording;
  gboolean         broken;         /* a submit timed out; wait before reuse */
  gboolean         reusable;       /* submits run the first recording again */
  gboolean         recorded;       /* reusable, and that recording is complete */

  guint            n_dispatches;
  guint            n_barriers;
  guint            last_dispatches;
  guint            last_barriers;

  gboolean         profiling;
  gboolean         print_profile;
  gint64           last_wait_us;   /* submission to completion, last submit */
  gint64           record_start;   /* µs: creation, or the last submit's end */
  gint64           scratch_us;     /* µs spent getting graph buffers since then */
  GArray          *reads;          /* PendingRead: downloads done at the next submit */
  VkQueryPool      query_pool;
  GPtrArray       *timed_names;    /* const char*, one per timed node */
  GArray          *timings;        /* VmGpuKernelTiming */
};

static VmGpuBuffer *scratch_pool_take (VmGpuScratchPool *pool,
                                       guint64           size,
                                       guint32           type_index);
static void         scratch_pool_give (VmGpuScratchPool *pool,
                                       GPtrArray        *scratch);

VmGpuGraph *
vm_gpu_graph_new (VmGpuDevice  *device,
                  GError      **error)
{
  VmVk *vk = &device->vk;
  g_autoptr(VmGpuGraph) self = g_new0 (VmGpuGraph, 1);
  const char *profile = g_getenv ("VIDMARK_GPU_PROFILE");

  self->device = vm_gpu_device_ref (device);
  self->pools = g_array_new (FALSE, FALSE, sizeof (VkDescriptorPool));
  self->held = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_gpu_buffer_unref);
  self->scratch = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_gpu_buffer_unref);
  self->views = g_array_new (FALSE, FALSE, sizeof (VkBufferView));
  self->states = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->timed_names = g_ptr_array_new ();
  self->timings = g_array_new (FALSE, FALSE, sizeof (VmGpuKernelTiming));
  self->reads = g_array_new (FALSE, FALSE, sizeof (PendingRead));

  if (device->lost)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_DEVICE_LOST,
                   _("The GPU device was lost; restart Vidmark"));
      return NULL;
    }

  /* A command pool per graph: graphs record in several threads at once,
   * and a pool's command buffers may be recorded in one thread at a time. */
  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = device->queue_family,
  };
  VkCommandBufferAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  VkResult res;

  res = vk->vkCreateCommandPool (device->device, &pool_info, NULL, &self->cmd_pool);
  if (res != VK_SUCCESS)
    {
      self->cmd_pool = VK_NULL_HANDLE;
      vm_gpu_set_vk_error (device, error, res, "command pool creation");
      return NULL;
    }
  alloc.commandPool = self->cmd_pool;
  res = vk->vkAllocateCommandBuffers (device->device, &alloc, &self->cmd);
  if (res != VK_SUCCESS)
    {
      self->cmd = VK_NULL_HANDLE;
      vm_gpu_set_vk_error (device, error, res, "command buffer allocation");
      return NULL;
    }
  res = vk->vkCreateFence (device->device, &fence_info, NULL, &self->fence);
  if (res != VK_SUCCESS)
    {
      self->fence = VK_NULL_HANDLE;
      vm_gpu_set_vk_error (device, error, res, "fence creation");
      return NULL;
    }

  if (profile != NULL && g_str_equal (profile, "1"))
    {
      vm_gpu_graph_set_profiling (self, TRUE);
      self->print_profile = TRUE;
    }
  self->record_start = g_get_monotonic_time ();
  return g_steal_pointer (&self);
}

void
vm_gpu_graph_free (VmGpuGraph *self)
{
  VmGpuDevice *device;
  VmVk *vk;

  if (self == NULL)
    return;
  device = self->device;
  vk = &device->vk;

  if (self->recording && self->cmd != VK_NULL_HANDLE)
    vk->vkEndCommandBuffer (self->cmd);
  if (self->broken)
    vk->vkDeviceWaitIdle (device->device);

  for (guint i = 0; i < self->pools->len; i++)
    vk->vkDestroyDescriptorPool (device->device, g_array_index (self->pools, VkDescriptorPool, i), NULL);
  for (guint i = 0; i < self->views->len; i++)
    vk->vkDestroyBufferView (device->device, g_array_index (self->views, VkBufferView, i), NULL);
  if (self->query_pool != VK_NULL_HANDLE)
    vk->vkDestroyQueryPool (device->device, self->query_pool, NULL);
  if (self->fence != VK_NULL_HANDLE)
    vk->vkDestroyFence (device->device, self->fence, NULL);
  if (self->cmd_pool != VK_NULL_HANDLE)
    vk->vkDestroyCommandPool (device->device, self->cmd_pool, NULL);

  g_array_unref (self->pools);
  g_array_unref (self->views);
  g_ptr_array_unref (self->held);
  {
    gint64 t0 = g_get_monotonic_time ();

    /* Back to the pool, unless a timed-out submission may still use them. */
    if (self->scratch_pool != NULL && !self->broken)
      scratch_pool_give (self->scratch_pool, self->scratch);
    g_ptr_array_unref (self->scratch);
    if (self->print_profile)
      g_printerr ("host: scratch buffers released in %.3f ms\n", (g_get_monotonic_time () - t0) / 1e3);
  }
  g_hash_table_unref (self->states);
  g_ptr_array_unref (self->timed_names);
  g_array_unref (self->timings);
  g_array_unref (self->reads);
  vm_gpu_device_unref (device);
  g_free (self);
}

VmGpuDevice *
vm_gpu_graph_get_device (VmGpuGraph *self)
{
  return self->device;
}

void
vm_gpu_graph_set_reusable (VmGpuGraph *self,
                           gboolean    reusable)
{
  g_return_if_fail (!self->recording && !self->recorded);

  self->reusable = reusable;
}

void
vm_gpu_graph_set_profiling (VmGpuGraph *self,
                            gboolean    profiling)
{
  VmGpuDevice *device = self->device;

  g_return_if_fail (!self->recording);

  if (profiling && !device->info->timestamps)
    profiling = FALSE;
  if (profiling && self->query_pool == VK_NULL_HANDLE)
    {
      VkQueryPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = 2 * MAX_TIMED_NODES,
      };
      if (device->vk.vkCreateQueryPool (device->device, &info, NULL, &self->query_pool) != VK_SUCCESS)
        {
          self->query_pool = VK_NULL_HANDLE;
          profiling = FALSE;
        }
    }
  self->profiling = profiling;
}

static gboolean
check_device (VmGpuGraph  *self,
              GError     **error)
{
  if (self->device->lost)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_DEVICE_LOST,
                   _("The GPU device was lost; restart Vidmark"));
      return FALSE;
    }
  if (self->broken)
    {
      VkResult res = self->device->vk.vkWaitForFences (self->device->device, 1, &self->fence, VK_TRUE, 0);

      if (res != VK_SUCCESS)
        {
          g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_TIMEOUT,
                       _("The GPU is still busy with work that timed out"));
          return FALSE;
        }
      self->broken = FALSE;
      if (!self->reusable)
        g_ptr_array_set_size (self->held, 0);
    }
  return TRUE;
}

static gboolean
begin (VmGpuGraph  *self,
       GError     **error)
{
  VmVk *vk = &self->device->vk;
  VkCommandBufferBeginInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = self->reusable ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };

  if (!check_device (self, error))
    return FALSE;
  if (self->recording)
    return TRUE;
  if (self->recorded)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("A recorded GPU graph takes no further work"));
      return FALSE;
    }

  VM_VK_CHECK (self->device, error, vk->vkResetCommandBuffer (self->cmd, 0), "command buffer reset");
  VM_VK_CHECK (self->device, error, vk->vkBeginCommandBuffer (self->cmd, &info), "command recording");
  if (self->profiling)
    vk->vkCmdResetQueryPool (self->cmd, self->query_pool, 0, 2 * MAX_TIMED_NODES);
  g_ptr_array_set_size (self->timed_names, 0);
  self->recording = TRUE;
  self->n_dispatches = 0;
  self->n_barriers = 0;
  return TRUE;
}

static BufferState *
state_for (VmGpuGraph  *self,
           VmGpuBuffer *buffer)
{
  BufferState *st = g_hash_table_lookup (self->states, buffer);

  if (st == NULL)
    {
      st = g_new0 (BufferState, 1);
      g_hash_table_insert (self->states, buffer, st);
      g_ptr_array_add (self->held, vm_gpu_buffer_ref (buffer));
    }
  return st;
}

/* Emits the barrier the node needs (if any), then records its accesses. */
static void
track (VmGpuGraph        *self,
       VmGpuBuffer      **buffers,
       const VmGpuAccess *access,
       guint              n)
{
  VmVk *vk = &self->device->vk;
  gboolean need = FALSE;

  for (guint i = 0; i < n; i++)
    {
      BufferState *st = state_for (self, buffers[i]);

      if ((access[i] & VM_GPU_ACCESS_READ) && st->write_pending)
        need = TRUE;
      if ((access[i] & VM_GPU_ACCESS_WRITE) && (st->write_pending || st->read_since_barrier))
        need = TRUE;
    }

  if (need)
    {
      GHashTableIter iter;
      gpointer key, value;
      g_autoptr(GArray) barriers = g_array_new (FALSE, FALSE, sizeof (VkBufferMemoryBarrier));

      /* One barrier flushes every pending write, not only this node's: the
       * execution dependency is there anyway, and later readers of those
       * buffers then need no barrier of their own. */
      g_hash_table_iter_init (&iter, self->states);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          BufferState *st = value;
          VmGpuBuffer *buffer = key;
          VkBufferMemoryBarrier barrier = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                             VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
            .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
            .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
            .buffer = buffer->buffer,
            .offset = 0,
            .size = VK_WHOLE_SIZE,
          };

          /* The execution dependency orders every earlier read. */
          st->read_since_barrier = FALSE;
          if (!st->write_pending)
            continue;
          g_array_append_val (barriers, barrier);
          st->write_pending = FALSE;
        }

      vk->vkCmdPipelineBarrier (self->cmd,
                                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                0, 0, NULL, barriers->len, (const VkBufferMemoryBarrier *) barriers->data,
                                0, NULL);
      self->n_barriers++;
    }

  for (guint i = 0; i < n; i++)
    {
      BufferState *st = state_for (self, buffers[i]);

      if (access[i] & VM_GPU_ACCESS_READ)
        st->read_since_barrier = TRUE;
      if (access[i] & VM_GPU_ACCESS_WRITE)
        st->write_pending = TRUE;
    }
}

static VkDescriptorSet
allocate_set (VmGpuGraph    *self,
              VmGpuPipeline *pipeline,
              GError       **error)
{
  VmGpuDevice *device = self->device;
  VmVk *vk = &device->vk;
  VkDescriptorSet set = VK_NULL_HANDLE;
  VkResult res;

  /* After a submit the pools are reset and one is kept for reuse. */
  if (self->pools->len == 0 || self->sets_in_last_pool >= SETS_PER_POOL)
    {
      VkDescriptorPoolSize sizes[3] = {
        { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * MAX_BINDINGS },
        { VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, SETS_PER_POOL * 2 },
        { VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, SETS_PER_POOL * 2 },
      };
      VkDescriptorPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = 3,
        .pPoolSizes = sizes,
      };
      VkDescriptorPool pool;

      res = vk->vkCreateDescriptorPool (device->device, &info, NULL, &pool);
      if (res != VK_SUCCESS)
        {
          vm_gpu_set_vk_error (device, error, res, "descriptor pool creation");
          return VK_NULL_HANDLE;
        }
      g_array_append_val (self->pools, pool);
      self->sets_in_last_pool = 0;
    }

  VkDescriptorSetAllocateInfo info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
    .descriptorPool = g_array_index (self->pools, VkDescriptorPool, self->pools->len - 1),
    .descriptorSetCount = 1,
    .pSetLayouts = &pipeline->set_layout,
  };
  res = vk->vkAllocateDescriptorSets (device->device, &info, &set);
  if (res != VK_SUCCESS)
    {
      vm_gpu_set_vk_error (device, error, res, "descriptor set allocation");
      return VK_NULL_HANDLE;
    }
  self->sets_in_last_pool++;
  return set;
}

gboolean
vm_gpu_graph_dispatch (VmGpuGraph               *self,
                       const VmGpuPipelineDesc  *desc,
                       const VmGpuBinding       *bindings,
                       guint                     n_bindings,
                       const void               *push,
                       guint                     push_size,
                       guint                     groups_x,
                       guint                     groups_y,
                       guint                     groups_z,
                       GError                  **error)
{
  VmGpuDevice *device = self->device;
  VmVk *vk = &device->vk;
  const VkPhysicalDeviceLimits *limits = &device->limits;
  VmGpuPipeline *pipeline;
  VkDescriptorSet set;
  VkDescriptorBufferInfo infos[MAX_BINDINGS];
  VkBufferView views[MAX_BINDINGS];
  VkWriteDescriptorSet writes[MAX_BINDINGS];
  VmGpuBuffer *buffers[MAX_BINDINGS];
  VmGpuAccess access[MAX_BINDINGS];
  guint groups[3] = { groups_x, groups_y, groups_z };

  if (n_bindings != desc->n_bindings || n_bindings > MAX_BINDINGS || push_size != desc->push_size)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("The GPU kernel “%s” was given %u bindings and %u push bytes"),
                   desc->name, n_bindings, push_size);
      return FALSE;
    }
  for (guint i = 0; i < 3; i++)
    if (groups[i] > limits->maxComputeWorkGroupCount[i])
      {
        g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                     _("The GPU kernel “%s” needs %u workgroups in dimension %u; the device allows %u"),
                     desc->name, groups[i], i, limits->maxComputeWorkGroupCount[i]);
        return FALSE;
      }

  for (guint i = 0; i < n_bindings; i++)
    {
      const VmGpuBinding *b = &bindings[i];
      guint64 range;

      if (b->buffer == NULL || b->buffer->device != device)
        {
          g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                       _("The GPU kernel “%s” was given a missing or foreign buffer"), desc->name);
          return FALSE;
        }
      range = b->range != 0 ? b->range : MIN (b->buffer->size - MIN (b->offset, b->buffer->size),
                                               (guint64) limits->maxStorageBufferRange);
      if (b->offset % limits->minStorageBufferOffsetAlignment != 0 ||
          b->offset >= b->buffer->size || range > b->buffer->size - b->offset ||
          range > limits->maxStorageBufferRange)
        {
          g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                       _("The GPU kernel “%s” was given an invalid view (bytes %" PRIu64
                         "+%" PRIu64 " of %" PRIu64 ")"),
                       desc->name, b->offset, range, b->buffer->size);
          return FALSE;
        }
      if (desc->texel_bindings & (1u << i))
        {
          guint texel = b->texel_format == VM_GPU_TEXEL_RGBA16F ? 8 : 16;

          range = range / texel * texel;
          if ((b->texel_format == VM_GPU_TEXEL_RGBA16F && !device->texel_f16) ||
              b->offset % limits->minTexelBufferOffsetAlignment != 0 ||
              range == 0 || range / texel > limits->maxTexelBufferElements)
            {
              g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                           _("The GPU kernel “%s” was given an invalid texel buffer view"), desc->name);
              return FALSE;
            }
        }
      if ((desc->uniform_bindings & (1u << i)) &&
          (range > limits->maxUniformBufferRange || b->offset % limits->minUniformBufferOffsetAlignment != 0))
        {
          g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                       _("The GPU kernel “%s” was given an invalid uniform buffer view"), desc->name);
          return FALSE;
        }
      infos[i] = (VkDescriptorBufferInfo) { b->buffer->buffer, b->offset, range };
      buffers[i] = b->buffer;
      access[i] = b->access;
    }

  if (groups_x == 0 || groups_y == 0 || groups_z == 0)
    return TRUE;

  pipeline = vm_gpu_device_get_pipeline (device, desc, error);
  if (pipeline == NULL)
    return FALSE;
  if (!begin (self, error))
    return FALSE;
  /* With push descriptors the bindings go into the command buffer below. */
  set = device->push_descriptors ? VK_NULL_HANDLE : allocate_set (self, pipeline, error);
  if (set == VK_NULL_HANDLE && !device->push_descriptors)
    return FALSE;

  for (guint i = 0; i < n_bindings; i++)
    {
      gboolean texel = (desc->texel_bindings & (1u << i)) != 0;
      gboolean uniform = (desc->uniform_bindings & (1u << i)) != 0;

      if (texel)
        {
          VkBufferViewCreateInfo view_info = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
            .buffer = infos[i].buffer,
            .format = bindings[i].texel_format == VM_GPU_TEXEL_RGBA32F ? VK_FORMAT_R32G32B32A32_SFLOAT :
                      bindings[i].texel_format == VM_GPU_TEXEL_RGBA32UI ? VK_FORMAT_R32G32B32A32_UINT :
                      VK_FORMAT_R16G16B16A16_SFLOAT,
            .offset = infos[i].offset,
            .range = infos[i].range,
          };
          VkResult res = vk->vkCreateBufferView (device->device, &view_info, NULL, &views[i]);

          if (res != VK_SUCCESS)
            return vm_gpu_set_vk_error (device, error, res, "texel buffer view creation");
          g_array_append_val (self->views, views[i]);
        }
      writes[i] = (VkWriteDescriptorSet) {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = i,
        .descriptorCount = 1,
        .descriptorType = texel ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER :
                          uniform ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = texel ? NULL : &infos[i],
        .pTexelBufferView = texel ? &views[i] : NULL,
      };
    }
  if (!device->push_descriptors)
    vk->vkUpdateDescriptorSets (device->device, n_bindings, writes, 0, NULL);

  track (self, buffers, access, n_bindings);

  if (self->profiling && self->timed_names->len < MAX_TIMED_NODES)
    vk->vkCmdWriteTimestamp (self->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, self->query_pool,
                             2 * self->timed_names->len);
  vk->vkCmdBindPipeline (self->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->pipeline);
  if (device->push_descriptors)
    vk->vkCmdPushDescriptorSetKHR (self->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->layout, 0, n_bindings,
                                   writes);
  else
    vk->vkCmdBindDescriptorSets (self->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->layout, 0, 1, &set,
                                 0, NULL);
  if (push_size > 0)
    vk->vkCmdPushConstants (self->cmd, pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
  vk->vkCmdDispatch (self->cmd, groups_x, groups_y, groups_z);
  if (self->profiling && self->timed_names->len < MAX_TIMED_NODES)
    {
      vk->vkCmdWriteTimestamp (self->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, self->query_pool,
                               2 * self->timed_names->len + 1);
      g_ptr_array_add (self->timed_names, pipeline->name);
    }
  self->n_dispatches++;
  return TRUE;
}

static gboolean
check_transfer_range (VmGpuBuffer  *buffer,
                      guint64       offset,
                      guint64       size,
                      GError      **error)
{
  if (offset % 4 != 0 || size % 4 != 0 || offset > buffer->size || size > buffer->size - offset)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("Invalid GPU buffer range %" PRIu64 "+%" PRIu64),
                   offset, size);
      return FALSE;
    }
  return TRUE;
}

gboolean
vm_gpu_graph_fill (VmGpuGraph   *self,
                   VmGpuBuffer  *buffer,
                   guint64       offset,
                   guint64       size,
                   guint32       value,
                   GError      **error)
{
  VmGpuAccess access = VM_GPU_ACCESS_WRITE;

  if (!check_transfer_range (buffer, offset, size, error))
    return FALSE;
  if (size == 0)
    return TRUE;
  if (!begin (self, error))
    return FALSE;
  track (self, &buffer, &access, 1);
  self->device->vk.vkCmdFillBuffer (self->cmd, buffer->buffer, offset, size, value);
  return TRUE;
}

gboolean
vm_gpu_graph_copy (VmGpuGraph   *self,
                   VmGpuBuffer  *src,
                   guint64       src_offset,
                   VmGpuBuffer  *dst,
                   guint64       dst_offset,
                   guint64       size,
                   GError      **error)
{
  VmGpuBuffer *buffers[2] = { src, dst };
  VmGpuAccess access[2] = { VM_GPU_ACCESS_READ, VM_GPU_ACCESS_WRITE };
  VkBufferCopy region = { src_offset, dst_offset, size };

  if (!check_transfer_range (src, src_offset, size, error) ||
      !check_transfer_range (dst, dst_offset, size, error))
    return FALSE;
  if (size == 0)
    return TRUE;
  if (!begin (self, error))
    return FALSE;
  track (self, buffers, access, 2);
  self->device->vk.vkCmdCopyBuffer (self->cmd, src->buffer, dst->buffer, 1, &region);
  return TRUE;
}

/* Updates inline in the command buffer: at most 64 KiB each (the Vulkan
 * limit of vkCmdUpdateBuffer). */
#define INLINE_UPLOAD_MAX 65536
/* Larger uploads hold a staging buffer of their size until the submission. */
#define STAGED_UPLOAD_MAX ((gsize) 64 << 20)

/* ---- scratch pool -------------------------------------------------------------- */

struct _VmGpuScratchPool {
  GMutex   lock;
  GQueue   buffers;     /* VmGpuBuffer*, most recently given back first */
  guint64  bytes;
  guint64  max_bytes;
  guint    reuses;
};

VmGpuScratchPool *
vm_gpu_scratch_pool_new (guint64 max_bytes)
{
  VmGpuScratchPool *pool = g_new0 (VmGpuScratchPool, 1);

  g_mutex_init (&pool->lock);
  g_queue_init (&pool->buffers);
  pool->max_bytes = max_bytes;
  return pool;
}

void
vm_gpu_scratch_pool_free (VmGpuScratchPool *pool)
{
  if (pool == NULL)
    return;
  g_queue_clear_full (&pool->buffers, (GDestroyNotify) vm_gpu_buffer_unref);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

void
vm_gpu_scratch_pool_get_stats (VmGpuScratchPool *pool,
                               guint64          *bytes,
                               guint            *reuses)
{
  g_mutex_lock (&pool->lock);
  if (bytes != NULL)
    *bytes = pool->bytes;
  if (reuses != NULL)
    *reuses = pool->reuses;
  g_mutex_unlock (&pool->lock);
}

void
vm_gpu_graph_set_scratch_pool (VmGpuGraph       *self,
                               VmGpuScratchPool *pool)
{
  self->scratch_pool = pool;
}

static VmGpuBuffer *
scratch_pool_take (VmGpuScratchPool *pool,
                   guint64           size,
                   guint32           type_index)
{
  VmGpuBuffer *found = NULL;

  if (pool == NULL)
    return NULL;
  g_mutex_lock (&pool->lock);
  for (GList *l = pool->buffers.head; l != NULL; l = l->next)
    {
      VmGpuBuffer *b = l->data;

      if (b->size == size && b->block != NULL && b->block->type_index == type_index)
        {
          found = b;
          g_queue_delete_link (&pool->buffers, l);
          pool->bytes -= b->alloc_size;
          pool->reuses++;
          break;
        }
    }
  g_mutex_unlock (&pool->lock);
  return found;
}

/* Moves the buffers of @scratch that nothing else references into @pool. */
static void
scratch_pool_give (VmGpuScratchPool *pool,
                   GPtrArray        *scratch)
{
  g_autoptr(GPtrArray) dropped = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_gpu_buffer_unref);

  g_mutex_lock (&pool->lock);
  for (guint i = 0; i < scratch->len; i++)
    {
      VmGpuBuffer *b = g_ptr_array_index (scratch, i);

      if (b->alloc_size > pool->max_bytes || !g_atomic_ref_count_compare (&b->ref_count, 1))
        continue;
      g_queue_push_head (&pool->buffers, vm_gpu_buffer_ref (b));
      pool->bytes += b->alloc_size;
    }
  while (pool->bytes > pool->max_bytes)
    {
      VmGpuBuffer *old = g_queue_pop_tail (&pool->buffers);

      pool->bytes -= old->alloc_size;
      g_ptr_array_add (dropped, old);
    }
  g_mutex_unlock (&pool->lock);
}

/* A buffer the graph owns until it is freed (device memory, or
 * host-visible @staging for transfers): from the scratch pool when it holds
 * one of this size and memory type, else new. */
static VmGpuBuffer *
graph_buffer (VmGpuGraph  *self,
              guint64      size,
              gboolean     staging,
              GError     **error)
{
  gint64 t0 = g_get_monotonic_time ();
  guint32 type = staging ? self->device->staging_type_index : self->device->device_type_index;
  VmGpuBuffer *buffer = scratch_pool_take (self->scratch_pool, size, type);

  if (buffer == NULL)
    buffer = staging ? vm_gpu_buffer_new_staging (self->device, size, error)
                     : vm_gpu_buffer_new (self->device, size, error);
  self->scratch_us += g_get_monotonic_time () - t0;
  if (buffer != NULL)
    g_ptr_array_add (self->scratch, buffer);
  return buffer;
}

/* Host address of byte @offset of a mapped buffer. */
static guint8 *
host_bytes (VmGpuBuffer *buffer,
            guint64      offset)
{
  return buffer->block->mapped + buffer->block_offset + offset;
}

/* A staging buffer the graph keeps, copied into @dst at this point of the
 * recording (and of every submit): the host memory to write. */
static guint8 *
stage_into (VmGpuGraph   *self,
            VmGpuBuffer  *dst,
            guint64       offset,
            gsize         size,
            GError      **error)
{
  VmGpuBuffer *staging = graph_buffer (self, size, TRUE, error);

  if (staging == NULL || !vm_gpu_graph_copy (self, staging, 0, dst, offset, size, error))
    return NULL;
  return host_bytes (staging, 0);
}

static void
write_copy (guint8   *dst,
            gsize     size,
            gpointer  data)
{
  memcpy (dst, data, size);
}

gboolean
vm_gpu_graph_upload_with (VmGpuGraph     *self,
                          VmGpuBuffer    *dst,
                          guint64         offset,
                          gsize           size,
                          VmGpuWriteFunc  write,
                          gpointer        user_data,
                          GError        **error)
{
  VmGpuAccess access = VM_GPU_ACCESS_WRITE;
  guint8 *staged;
  gboolean untouched;

  if (!check_transfer_range (dst, offset, size, error))
    return FALSE;
  if (size == 0)
    return TRUE;
  if (!begin (self, error))
    return FALSE;
  /* Into a buffer nothing recorded so far touches, at once: straight into
   * mapped memory, or for very large data through the device's reused
   * staging chunks rather than pinning that much host memory until the
   * submission. */
  /* A reusable graph keeps its uploads in its commands: the inline data or
   * the staging buffer's copy run again with each submit. */
  untouched = g_hash_table_lookup (self->states, dst) == NULL && !self->reusable;
  if (untouched && dst->block->mapped != NULL)
    {
      write (host_bytes (dst, offset), size, user_data);
      return TRUE;
    }
  if ((untouched && size > STAGED_UPLOAD_MAX) || size <= INLINE_UPLOAD_MAX)
    {
      /* Both take host bytes: plain copies pass their source through. */
      g_autofree guint8 *host = NULL;
      const guint8 *bytes = user_data;

      if (write != write_copy)
        {
          host = g_malloc (size);
          write (host, size, user_data);
          bytes = host;
        }
      if (size > INLINE_UPLOAD_MAX)
        return vm_gpu_buffer_upload (dst, offset, bytes, size, error);
      track (self, &dst, &access, 1);
      self->device->vk.vkCmdUpdateBuffer (self->cmd, dst->buffer, offset, size, bytes);
      return TRUE;
    }
  staged = stage_into (self, dst, offset, size, error);
  if (staged == NULL)
    return FALSE;
  write (staged, size, user_data);
  return TRUE;
}

gboolean
vm_gpu_graph_upload (VmGpuGraph   *self,
                     VmGpuBuffer  *dst,
                     guint64       offset,
                     const void   *data,
                     gsize         size,
                     GError      **error)
{
  return vm_gpu_graph_upload_with (self, dst, offset, size, write_copy, (gpointer) data, error);
}

void *
vm_gpu_graph_input (VmGpuGraph   *self,
                    VmGpuBuffer  *dst,
                    guint64       offset,
                    gsize         size,
                    GError      **error)
{
  g_return_val_if_fail (size > 0, NULL);

  if (!check_transfer_range (dst, offset, size, error) || !begin (self, error))
    return NULL;
  /* Host writes made before a submission are visible to its work, so a
   * mapped buffer that no earlier step uses is written in place. */
  if (g_hash_table_lookup (self->states, dst) == NULL && dst->block->mapped != NULL)
    {
      state_for (self, dst);
      return host_bytes (dst, offset);
    }
  return stage_into (self, dst, offset, size, error);
}

const void *
vm_gpu_graph_output (VmGpuGraph   *self,
                     VmGpuBuffer  *src,
                     guint64       offset,
                     gsize         size,
                     GError      **error)
{
  VmGpuAccess access = VM_GPU_ACCESS_READ;
  VmGpuBuffer *staging;

  g_return_val_if_fail (size > 0, NULL);

  if (!check_transfer_range (src, offset, size, error) || !begin (self, error))
    return NULL;
  if (src->block->mapped != NULL)
    {
      /* Read in place after the submit: its last barrier makes the writes
       * visible to the host. */
      track (self, &src, &access, 1);
      return host_bytes (src, offset);
    }
  staging = graph_buffer (self, size, TRUE, error);
  if (staging == NULL || !vm_gpu_graph_copy (self, src, offset, staging, 0, size, error))
    return NULL;
  return host_bytes (staging, 0);
}

gboolean
vm_gpu_graph_download (VmGpuGraph   *self,
                       VmGpuBuffer  *src,
                       guint64       offset,
                       void         *data,
                       gsize         size,
                       GError      **error)
{
  PendingRead read = { NULL, data, size };

  if (self->reusable)
    {
      /* @data would be written at every later submit. */
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("A reusable GPU graph reads its results with vm_gpu_graph_output()"));
      return FALSE;
    }
  if (!check_transfer_range (src, offset, size, error))
    return FALSE;
  if (size == 0)
    return TRUE;
  read.from = vm_gpu_graph_output (self, src, offset, size, error);
  if (read.from == NULL)
    return FALSE;
  g_array_append_val (self->reads, read);
  return TRUE;
}

VmGpuBuffer *
vm_gpu_graph_scratch (VmGpuGraph   *self,
                      guint64       size,
                      GError      **error)
{
  return graph_buffer (self, size, FALSE, error);
}

static void
collect_timings (VmGpuGraph *self)
{
  VmGpuDevice *device = self->device;
  guint n = self->timed_names->len;
  g_autofree guint64 *stamps = NULL;
  guint64 mask;
  GHashTable *index;

  g_array_set_size (self->timings, 0);
  if (!self->profiling || n == 0)
    return;

  stamps = g_new0 (guint64, 2 * n);
  if (device->vk.vkGetQueryPoolResults (device->device, self->query_pool, 0, 2 * n,
                                        2 * n * sizeof (guint64), stamps, sizeof (guint64),
                                        VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
    return;

  mask = device->timestamp_valid_bits >= 64 ? G_MAXUINT64
                                            : ((G_GUINT64_CONSTANT (1) << device->timestamp_valid_bits) - 1);
  index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++)
    {
      const char *name = g_ptr_array_index (self->timed_names, i);
      guint64 ticks = (stamps[2 * i + 1] - stamps[2 * i]) & mask;
      double ms = ticks * (double) device->timestamp_period / 1e6;
      gpointer pos;

      if (g_hash_table_lookup_extended (index, name, NULL, &pos))
        {
          VmGpuKernelTiming *t = &g_array_index (self->timings, VmGpuKernelTiming, GPOINTER_TO_UINT (pos));
          t->count++;
          t->total_ms += ms;
        }
      else
        {
          VmGpuKernelTiming t = { name, 1, ms };

          g_hash_table_insert (index, (gpointer) name, GUINT_TO_POINTER (self->timings->len));
          g_array_append_val (self->timings, t);
        }
    }
  g_hash_table_unref (index);
}

char *
vm_gpu_graph_format_timings (VmGpuGraph *self)
{
  GString *s = g_string_new (NULL);
  double total = 0;

  g_string_append_printf (s, "%-28s %6s %11s %11s\n", "kernel", "count", "total ms", "mean ms");
  for (guint i = 0; i < self->timings->len; i++)
    {
      const VmGpuKernelTiming *t = &g_array_index (self->timings, VmGpuKernelTiming, i);

      g_string_append_printf (s, "%-28s %6u %11.3f %11.3f\n", t->name, t->count, t->total_ms,
                              t->total_ms / t->count);
      total += t->total_ms;
    }
  g_string_append_printf (s, "%-28s %6s %11.3f\n", "all", "", total);
  return g_string_free (s, FALSE);
}

/* After the work of a one-off recording: its buffers, views and descriptor
 * sets go (one pool is kept for the next recording). */
static void
release_recording (VmGpuGraph *self)
{
  VmGpuDevice *device = self->device;
  VmVk *vk = &device->vk;

  g_ptr_array_set_size (self->held, 0);
  for (guint i = 0; i < self->views->len; i++)
    vk->vkDestroyBufferView (device->device, g_array_index (self->views, VkBufferView, i), NULL);
  g_array_set_size (self->views, 0);
  for (guint i = 0; i < self->pools->len; i++)
    vk->vkResetDescriptorPool (device->device, g_array_index (self->pools, VkDescriptorPool, i), 0);
  while (self->pools->len > 1)
    {
      vk->vkDestroyDescriptorPool (device->device,
                                   g_array_index (self->pools, VkDescriptorPool, self->pools->len - 1), NULL);
      g_array_set_size (self->pools, self->pools->len - 1);
    }
  self->sets_in_last_pool = 0;
}

/* How long the host polls the fence before it sleeps in vkWaitForFences:
 * waking from that sleep takes tens of microseconds, a share of a small
 * batch's time on a GPU.  Polling takes a core meanwhile, so only on
 * devices that are not the CPU, only for a graph whose last submission
 * came back within 2 ms, and for at most 1.5 times that.
 * $VIDMARK_GPU_SPIN_US sets the limit (0: never poll). */
static gint64
spin_limit_us (VmGpuGraph *self)
{
  const char *env = g_getenv ("VIDMARK_GPU_SPIN_US");

  if (env != NULL)
    return g_ascii_strtoll (env, NULL, 10);
  if (self->device->info->type == VM_GPU_DEVICE_TYPE_CPU || self->last_wait_us <= 0 ||
      self->last_wait_us > 2000)
    return 0;
  return self->last_wait_us * 3 / 2;
}

static VkResult
wait_fence (VmGpuGraph *self,
            gint64      submitted,
            guint64     timeout_ns)
{
  VmGpuDevice *device = self->device;
  gint64 spin = spin_limit_us (self);

  while (spin > 0)
    {
      VkResult res = device->vk.vkGetFenceStatus (device->device, self->fence);

      if (res != VK_NOT_READY)
        return res;
      if (g_get_monotonic_time () - submitted >= spin)
        break;
    }
  return device->vk.vkWaitForFences (device->device, 1, &self->fence, VK_TRUE, timeout_ns);
}

gboolean
vm_gpu_graph_submit (VmGpuGraph  *self,
                     guint64      timeout_ns,
                     GError     **error)
{
  VmGpuDevice *device = self->device;
  VmVk *vk = &device->vk;
  VkResult res;
  gint64 submitted;

  if (!check_device (self, error))
    return FALSE;

  self->last_dispatches = self->n_dispatches;
  self->last_barriers = self->n_barriers;
  if (!self->recording && !self->recorded)
    {
      g_array_set_size (self->timings, 0);
      return TRUE;
    }

  if (self->recording)
    {
      /* Make the results visible to the host. */
      VkMemoryBarrier to_host = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
      };
      vk->vkCmdPipelineBarrier (self->cmd,
                                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);

      self->recording = FALSE;
      g_hash_table_remove_all (self->states);
      VM_VK_CHECK (device, error, vk->vkEndCommandBuffer (self->cmd), "command recording");
      self->recorded = self->reusable;
    }
  VM_VK_CHECK (device, error, vk->vkResetFences (device->device, 1, &self->fence), "fence reset");

  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &self->cmd,
  };
  submitted = g_get_monotonic_time ();
  g_mutex_lock (&device->queue_lock);
  res = vk->vkQueueSubmit (device->queue, 1, &submit, self->fence);
  g_mutex_unlock (&device->queue_lock);
  if (res != VK_SUCCESS)
    return vm_gpu_set_vk_error (device, error, res, "submission");

  res = wait_fence (self, submitted, timeout_ns != 0 ? timeout_ns : DEFAULT_TIMEOUT_NS);
  self->last_wait_us = g_get_monotonic_time () - submitted;
  if (res == VK_TIMEOUT)
    {
      self->broken = TRUE;
      return vm_gpu_set_vk_error (device, error, res, "its work");
    }
  if (res != VK_SUCCESS)
    return vm_gpu_set_vk_error (device, error, res, "waiting for results");

  for (guint i = 0; i < self->reads->len; i++)
    {
      PendingRead *r = &g_array_index (self->reads, PendingRead, i);

      memcpy (r->data, r->from, r->size);
    }
  g_array_set_size (self->reads, 0);
  /* A reusable graph keeps what its commands use. */
  if (!self->reusable)
    release_recording (self);

  collect_timings (self);
  if (self->print_profile && self->timings->len > 0)
    {
      g_autofree char *table = vm_gpu_graph_format_timings (self);
      g_printerr ("GPU profile (%s):\n%s", device->info->name, table);
      g_printerr ("host: recording %.3f ms (scratch buffers %.3f ms), submission to results %.3f ms\n",
                  (submitted - self->record_start) / 1e3, self->scratch_us / 1e3,
                  (g_get_monotonic_time () - submitted) / 1e3);
    }
  self->record_start = g_get_monotonic_time ();
  self->scratch_us = 0;
  return TRUE;
}

guint64
vm_gpu_graph_get_scratch_bytes (VmGpuGraph *self)
{
  guint64 bytes = 0;

  for (guint i = 0; i < self->scratch->len; i++)
    bytes += ((VmGpuBuffer *) g_ptr_array_index (self->scratch, i))->alloc_size;
  return bytes;
}

guint
vm_gpu_graph_get_n_dispatches (VmGpuGraph *self)
{
  return self->last_dispatches;
}

guint
vm_gpu_graph_get_n_barriers (VmGpuGraph *self)
{
  return self->last_barriers;
}

GArray *
vm_gpu_graph_get_timings (VmGpuGraph *self)
{
  return self->timings;
}
