/* vm-gpu-device.h — Vulkan instance and device: choice, features, errors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VM_GPU_ERROR (vm_gpu_error_quark ())

typedef enum {
  VM_GPU_ERROR_FAILED,
  VM_GPU_ERROR_NO_LOADER,        /* libvulkan.so.1 missing or unusable */
  VM_GPU_ERROR_NO_DEVICE,        /* no Vulkan 1.3 device with a compute queue */
  VM_GPU_ERROR_DEVICE_LOST,
  VM_GPU_ERROR_OUT_OF_MEMORY,
  VM_GPU_ERROR_TIMEOUT,
  VM_GPU_ERROR_UNSUPPORTED,      /* the device lacks a feature the operation needs */
  VM_GPU_ERROR_INVALID_ARGUMENT,
  VM_GPU_ERROR_SHADER,           /* a SPIR-V resource is missing or was refused */
} VmGpuError;

GQuark vm_gpu_error_quark (void);

typedef enum {
  VM_GPU_DEVICE_TYPE_OTHER,
  VM_GPU_DEVICE_TYPE_INTEGRATED,
  VM_GPU_DEVICE_TYPE_DISCRETE,
  VM_GPU_DEVICE_TYPE_VIRTUAL,
  VM_GPU_DEVICE_TYPE_CPU,
} VmGpuDeviceType;

const char *vm_gpu_device_type_to_string (VmGpuDeviceType type);

#define VM_GPU_MAX_HEAPS 16

typedef struct {
  guint64  size;
  gboolean device_local;
} VmGpuHeapInfo;

/* Everything `vidmark gpu` shows about one physical device. */
typedef struct {
  guint            index;            /* order of vkEnumeratePhysicalDevices */
  char            *name;
  VmGpuDeviceType  type;
  guint32          vendor_id;
  guint32          device_id;
  char            *driver_name;      /* "llvmpipe", "NVIDIA", ... */
  char            *driver_info;
  guint32          api_version;      /* VK_MAKE_API_VERSION packing */
  guint32          driver_version;
  guint            n_heaps;
  VmGpuHeapInfo    heaps[VM_GPU_MAX_HEAPS];
  gboolean         shader_float16;       /* fp16 arithmetic */
  gboolean         vulkan_memory_model;  /* the Vulkan memory model (cooperative-matrix loads use it) */
  gboolean         storage_16bit;        /* 16-bit storage buffers */
  guint32          subgroup_size;
  guint32          subgroup_operations;  /* VkSubgroupFeatureFlags */
  gboolean         cooperative_matrix_nv;/* VK_NV_cooperative_matrix, fp16 16×16×16 */
  gboolean         timestamps;           /* compute queue can time kernels */
  guint64          max_storage_buffer_range;
  guint64          max_buffer_size;
  guint32          max_shared_memory;
  guint32          max_workgroup_invocations;
  guint32          max_workgroup_count[3];
  gboolean         usable;               /* Vulkan 1.3 and a compute queue */
  char            *unusable_reason;      /* NULL when usable */
} VmGpuDeviceInfo;

void              vm_gpu_device_info_free (VmGpuDeviceInfo *info);
VmGpuDeviceInfo  *vm_gpu_device_info_copy (const VmGpuDeviceInfo *info);
/* Bytes of the largest device-local heap (the first heap where none is). */
guint64           vm_gpu_device_info_get_local_heap_size (const VmGpuDeviceInfo *info);
/* "1.3.230" */
char             *vm_gpu_format_api_version (guint32 version);
/* "subgroup: basic vote arithmetic ballot shuffle ..." style list */
char             *vm_gpu_format_subgroup_operations (guint32 ops);

/* Every physical device the loader reports, usable or not, in enumeration
 * order.  Elements are VmGpuDeviceInfo, freed with the array. */
GPtrArray        *vm_gpu_list_devices (GError **error);

typedef struct _VmGpuDevice VmGpuDevice;

/* Opens the best device: $VIDMARK_VULKAN_DEVICE (an index, or a substring of
 * the name) if set, else discrete > integrated > virtual > CPU.
 * $VIDMARK_VULKAN_VALIDATION=1 enables the Khronos validation layer and
 * records its messages (see vm_gpu_device_take_messages()).
 * $VIDMARK_VULKAN_LIBRARY overrides the loader's file name (tests). */
VmGpuDevice      *vm_gpu_device_new (GError **error);
/* Same, with an explicit choice; @selector NULL means automatic. */
VmGpuDevice      *vm_gpu_device_new_for (const char  *selector,
                                         GError     **error);
VmGpuDevice      *vm_gpu_device_ref   (VmGpuDevice *self);
void              vm_gpu_device_unref (VmGpuDevice *self);

const VmGpuDeviceInfo *vm_gpu_device_get_info (VmGpuDevice *self);
gboolean          vm_gpu_device_is_lost       (VmGpuDevice *self);
/* TRUE when fp16 storage variants of the kernels can run. */
gboolean          vm_gpu_device_supports_f16  (VmGpuDevice *self);
/* TRUE when buffers are mapped directly instead of staged (integrated/CPU). */
gboolean          vm_gpu_device_is_unified_memory (VmGpuDevice *self);

/* Validation (and driver) messages of severity warning or error seen so far;
 * the list is emptied.  Always empty unless validation is enabled. */
GPtrArray        *vm_gpu_device_take_messages (VmGpuDevice *self);
gboolean          vm_gpu_device_validation_enabled (VmGpuDevice *self);

/* Writes the pipeline cache now (also done when the last ref is dropped). */
gboolean          vm_gpu_device_save_pipeline_cache (VmGpuDevice  *self,
                                                     GError      **error);
/* $XDG_CACHE_HOME/vidmark/pipeline-cache-<vendor>-<device>.bin */
const char       *vm_gpu_device_get_pipeline_cache_path (VmGpuDevice *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmGpuDevice, vm_gpu_device_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmGpuDeviceInfo, vm_gpu_device_info_free)

G_END_DECLS
