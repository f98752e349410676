/* vm-gpu-private.h — internals shared by the gpu layer's files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>

#include "gpu/vm-gpu-device.h"
#include "gpu/vm-gpu-buffer.h"
#include "gpu/vm-gpu-pipeline.h"

G_BEGIN_DECLS

/* Entry points, loaded at run time from libvulkan.so.1. */
#define VM_VK_GLOBAL_FUNCS(X) \
  X (vkCreateInstance) \
  X (vkEnumerateInstanceVersion) \
  X (vkEnumerateInstanceLayerProperties) \
  X (vkEnumerateInstanceExtensionProperties)

#define VM_VK_INSTANCE_FUNCS(X) \
  X (vkDestroyInstance) \
  X (vkEnumeratePhysicalDevices) \
  X (vkGetPhysicalDeviceProperties) \
  X (vkGetPhysicalDeviceProperties2) \
  X (vkGetPhysicalDeviceFeatures2) \
  X (vkGetPhysicalDeviceMemoryProperties) \
  X (vkGetPhysicalDeviceQueueFamilyProperties) \
  X (vkGetPhysicalDeviceFormatProperties) \
  X (vkEnumerateDeviceExtensionProperties) \
  X (vkCreateDevice) \
  X (vkGetDeviceProcAddr)

#define VM_VK_DEVICE_FUNCS(X) \
  X (vkDestroyDevice) \
  X (vkGetDeviceQueue) \
  X (vkDeviceWaitIdle) \
  X (vkQueueSubmit) \
  X (vkCreateCommandPool) \
  X (vkDestroyCommandPool) \
  X (vkAllocateCommandBuffers) \
  X (vkFreeCommandBuffers) \
  X (vkBeginCommandBuffer) \
  X (vkEndCommandBuffer) \
  X (vkResetCommandBuffer) \
  X (vkCreateFence) \
  X (vkDestroyFence) \
  X (vkWaitForFences) \
  X (vkGetFenceStatus) \
  X (vkResetFences) \
  X (vkAllocateMemory) \
  X (vkFreeMemory) \
  X (vkMapMemory) \
  X (vkUnmapMemory) \
  X (vkCreateBuffer) \
  X (vkDestroyBuffer) \
  X (vkGetBufferMemoryRequirements) \
  X (vkBindBufferMemory) \
  X (vkCreateShaderModule) \
  X (vkDestroyShaderModule) \
  X (vkCreateDescriptorSetLayout) \
  X (vkDestroyDescriptorSetLayout) \
  X (vkCreatePipelineLayout) \
  X (vkDestroyPipelineLayout) \
  X (vkCreateComputePipelines) \
  X (vkDestroyPipeline) \
  X (vkCreatePipelineCache) \
  X (vkDestroyPipelineCache) \
  X (vkGetPipelineCacheData) \
  X (vkCreateDescriptorPool) \
  X (vkDestroyDescriptorPool) \
  X (vkResetDescriptorPool) \
  X (vkAllocateDescriptorSets) \
  X (vkUpdateDescriptorSets) \
  X (vkCmdBindPipeline) \
  X (vkCmdBindDescriptorSets) \
  X (vkCmdPushConstants) \
  X (vkCmdDispatch) \
  X (vkCreateBufferView) \
  X (vkDestroyBufferView) \
  X (vkCmdPipelineBarrier) \
  X (vkCmdFillBuffer) \
  X (vkCmdUpdateBuffer) \
  X (vkCmdCopyBuffer) \
  X (vkCreateQueryPool) \
  X (vkDestroyQueryPool) \
  X (vkCmdResetQueryPool) \
  X (vkCmdWriteTimestamp) \
  X (vkGetQueryPoolResults)

#define VM_VK_DECLARE(name) PFN_##name name;

typedef struct {
  void *library;
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  VM_VK_GLOBAL_FUNCS (VM_VK_DECLARE)
  VM_VK_INSTANCE_FUNCS (VM_VK_DECLARE)
  VM_VK_DEVICE_FUNCS (VM_VK_DECLARE)
  PFN_vkCreateDebugUtilsMessengerEXT  vkCreateDebugUtilsMessengerEXT;
  PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV vkGetPhysicalDeviceCooperativeMatrixPropertiesNV;
  PFN_vkCmdPushDescriptorSetKHR vkCmdPushDescriptorSetKHR;   /* NULL without VK_KHR_push_descriptor */
} VmVk;

/* One VkDeviceMemory carved into buffers. */
typedef struct {
  VkDeviceMemory memory;
  guint64        size;
  guint32        type_index;
  guint8        *mapped;      /* NULL unless host-visible */
  GArray        *free_list;   /* VmGpuRange, sorted by offset, coalesced */
  guint64        used;
} VmGpuBlock;

typedef struct {
  guint64 offset;
  guint64 size;
} VmGpuRange;

struct _VmGpuDevice {
  gatomicrefcount   ref_count;
  VmVk              vk;
  VkInstance        instance;
  VkPhysicalDevice  physical;
  VkDevice          device;
  VkQueue           queue;
  guint32           queue_family;
  VkDebugUtilsMessengerEXT messenger;
  gboolean          validation;

  VmGpuDeviceInfo  *info;
  VkPhysicalDeviceLimits limits;
  VkPhysicalDeviceMemoryProperties memory_properties;
  gboolean          unified;
  gboolean          texel_f16;       /* RGBA16F uniform texel buffers work */
  /* VK_KHR_push_descriptor: dispatches write their bindings into the
   * command buffer instead of allocating and updating a descriptor set. */
  gboolean          push_descriptors;
  gboolean          lost;
  guint32           timestamp_valid_bits;
  float             timestamp_period;

  GMutex            queue_lock;      /* queue, command pool, staging */
  VkCommandPool     command_pool;

  GMutex            memory_lock;
  GPtrArray        *blocks;          /* VmGpuBlock* */
  guint64           block_size;
  guint32           device_type_index;   /* buffers */
  guint32           staging_type_index;  /* host-visible, coherent */

  GMutex            pipeline_lock;
  GHashTable       *pipelines;       /* name → VmGpuPipeline* */
  VkPipelineCache   pipeline_cache;
  char             *pipeline_cache_path;

  GMutex            message_lock;
  GPtrArray        *messages;
};

struct _VmGpuBuffer {
  gatomicrefcount  ref_count;
  VmGpuDevice     *device;
  VkBuffer         buffer;
  guint64          size;
  VmGpuBlock      *block;
  guint64          block_offset;
  guint64          alloc_size;
};

struct _VmGpuPipeline {
  char                 *name;
  char                 *key;    /* name, or name/spec */
  guint                 n_bindings;
  guint                 push_size;
  guint                 texel_bindings;
  guint                 uniform_bindings;
  gboolean              has_spec;
  guint32               spec;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout      layout;
  VkPipeline            pipeline;
};

/* Fills @error from a failed VkResult; returns FALSE for chaining. */
gboolean vm_gpu_set_vk_error (VmGpuDevice  *device,
                              GError      **error,
                              VkResult      result,
                              const char   *what);

#define VM_VK_CHECK(device, error, call, what) \
  G_STMT_START { \
    VkResult vm_vk_res_ = (call); \
    if (vm_vk_res_ != VK_SUCCESS) \
      return vm_gpu_set_vk_error ((device), (error), vm_vk_res_, (what)); \
  } G_STMT_END

/* A one-shot command buffer on the device's queue, run and waited for. */
typedef void (*VmGpuRecordFunc) (VmGpuDevice     *device,
                                 VkCommandBuffer  cmd,
                                 gpointer         user_data);
gboolean vm_gpu_device_run_commands (VmGpuDevice      *device,
                                     VmGpuRecordFunc   record,
                                     gpointer          user_data,
                                     GError          **error);

void     vm_gpu_device_free_pipelines (VmGpuDevice *device);
void     vm_gpu_device_free_memory    (VmGpuDevice *device);

/* A host-visible buffer for transfers (vm-gpu-buffer.c). */
VmGpuBuffer *vm_gpu_buffer_new_staging (VmGpuDevice  *device,
                                        guint64       size,
                                        GError      **error);

G_END_DECLS
