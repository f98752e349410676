/* vm-gpu-device.c — loading Vulkan, choosing and opening a device.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gpu/vm-gpu-private.h"

#include <dlfcn.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "core/vm-paths.h"
#include "core/vm-util.h"

#define VM_GPU_LOADER_NAME "libvulkan.so.1"
#define VM_GPU_VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

G_DEFINE_QUARK (vm-gpu-error-quark, vm_gpu_error)

const char *
vm_gpu_device_type_to_string (VmGpuDeviceType type)
{
  switch (type)
    {
    case VM_GPU_DEVICE_TYPE_INTEGRATED: return "integrated";
    case VM_GPU_DEVICE_TYPE_DISCRETE: return "discrete";
    case VM_GPU_DEVICE_TYPE_VIRTUAL: return "virtual";
    case VM_GPU_DEVICE_TYPE_CPU: return "cpu";
    case VM_GPU_DEVICE_TYPE_OTHER:
    default:
      return "other";
    }
}

static const char *
vk_result_to_string (VkResult result)
{
  switch (result)
    {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
    default: return "VkResult";
    }
}

gboolean
vm_gpu_set_vk_error (VmGpuDevice  *device,
                     GError      **error,
                     VkResult      result,
                     const char   *what)
{
  switch (result)
    {
    case VK_ERROR_DEVICE_LOST:
      if (device != NULL)
        device->lost = TRUE;
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_DEVICE_LOST,
                   _("The GPU stopped responding (device lost) during %s"), what);
      break;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_TOO_MANY_OBJECTS:
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY,
                   _("Out of GPU memory during %s (%s)"), what, vk_result_to_string (result));
      break;
    case VK_TIMEOUT:
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_TIMEOUT,
                   _("The GPU did not finish %s in time"), what);
      break;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED:
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE,
                   _("No usable Vulkan driver (%s failed: %s)"), what, vk_result_to_string (result));
      break;
    case VK_ERROR_LAYER_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_FEATURE_NOT_PRESENT:
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                   _("The Vulkan driver lacks a needed feature (%s failed: %s)"),
                   what, vk_result_to_string (result));
      break;
    default:
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_FAILED,
                   _("Vulkan %s failed: %s (%d)"), what, vk_result_to_string (result), (int) result);
      break;
    }
  return FALSE;
}

/* ---- device info ------------------------------------------------------- */

void
vm_gpu_device_info_free (VmGpuDeviceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->driver_name);
  g_free (info->driver_info);
  g_free (info->unusable_reason);
  g_free (info);
}

VmGpuDeviceInfo *
vm_gpu_device_info_copy (const VmGpuDeviceInfo *info)
{
  VmGpuDeviceInfo *copy = g_memdup2 (info, sizeof *info);

  copy->name = g_strdup (info->name);
  copy->driver_name = g_strdup (info->driver_name);
  copy->driver_info = g_strdup (info->driver_info);
  copy->unusable_reason = g_strdup (info->unusable_reason);
  return copy;
}

char *
vm_gpu_format_api_version (guint32 version)
{
  return g_strdup_printf ("%u.%u.%u", VK_API_VERSION_MAJOR (version),
                          VK_API_VERSION_MINOR (version), VK_API_VERSION_PATCH (version));
}

guint64
vm_gpu_device_info_get_local_heap_size (const VmGpuDeviceInfo *info)
{
  guint64 heap = 0;

  for (guint i = 0; i < info->n_heaps; i++)
    if (info->heaps[i].device_local)
      heap = MAX (heap, info->heaps[i].size);
  if (heap == 0 && info->n_heaps > 0)
    heap = info->heaps[0].size;
  return heap;
}

char *
vm_gpu_format_subgroup_operations (guint32 ops)
{
  static const struct { guint32 bit; const char *name; } names[] = {
    { VK_SUBGROUP_FEATURE_BASIC_BIT, "basic" },
    { VK_SUBGROUP_FEATURE_VOTE_BIT, "vote" },
    { VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic" },
    { VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot" },
    { VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle" },
    { VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle-relative" },
    { VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered" },
    { VK_SUBGROUP_FEATURE_QUAD_BIT, "quad" },
  };
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (ops & names[i].bit)
      g_string_append_printf (s, "%s%s", s->len ? " " : "", names[i].name);
  if (s->len == 0)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

/* ---- loader ------------------------------------------------------------ */

static gboolean
load_loader (VmVk    *vk,
             GError **error)
{
  const char *path = g_getenv ("VIDMARK_VULKAN_LIBRARY");

  if (path == NULL || *path == '\0')
    path = VM_GPU_LOADER_NAME;

  vk->library = dlopen (path, RTLD_NOW | RTLD_LOCAL);
  if (vk->library == NULL)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER,
                   _("The Vulkan loader (%s) could not be loaded; install libvulkan1"), path);
      return FALSE;
    }

  vk->vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr) dlsym (vk->library, "vkGetInstanceProcAddr");
  if (vk->vkGetInstanceProcAddr == NULL)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER,
                   _("%s is not a Vulkan loader (no vkGetInstanceProcAddr)"), path);
      return FALSE;
    }

#define VM_VK_LOAD_GLOBAL(name) vk->name = (PFN_##name) vk->vkGetInstanceProcAddr (NULL, #name);
  VM_VK_GLOBAL_FUNCS (VM_VK_LOAD_GLOBAL)
#undef VM_VK_LOAD_GLOBAL

  if (vk->vkCreateInstance == NULL || vk->vkEnumerateInstanceVersion == NULL)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER,
                   _("The Vulkan loader %s is too old (Vulkan 1.1 or newer is needed)"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_instance_funcs (VmVk        *vk,
                     VkInstance   instance,
                     GError     **error)
{
#define VM_VK_LOAD_INSTANCE(name) \
  vk->name = (PFN_##name) vk->vkGetInstanceProcAddr (instance, #name); \
  if (vk->name == NULL) \
    { \
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER, \
                   _("The Vulkan loader lacks %s"), #name); \
      return FALSE; \
    }
  VM_VK_INSTANCE_FUNCS (VM_VK_LOAD_INSTANCE)
#undef VM_VK_LOAD_INSTANCE

  vk->vkCreateDebugUtilsMessengerEXT = (PFN_vkCreateDebugUtilsMessengerEXT)
    vk->vkGetInstanceProcAddr (instance, "vkCreateDebugUtilsMessengerEXT");
  vk->vkDestroyDebugUtilsMessengerEXT = (PFN_vkDestroyDebugUtilsMessengerEXT)
    vk->vkGetInstanceProcAddr (instance, "vkDestroyDebugUtilsMessengerEXT");
  vk->vkGetPhysicalDeviceCooperativeMatrixPropertiesNV = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
    vk->vkGetInstanceProcAddr (instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
  return TRUE;
}

static gboolean
load_device_funcs (VmVk      *vk,
                   VkDevice   device,
                   GError   **error)
{
#define VM_VK_LOAD_DEVICE(name) \
  vk->name = (PFN_##name) vk->vkGetDeviceProcAddr (device, #name); \
  if (vk->name == NULL) \
    { \
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED, \
                   _("The Vulkan driver lacks %s"), #name); \
      return FALSE; \
    }
  VM_VK_DEVICE_FUNCS (VM_VK_LOAD_DEVICE)
#undef VM_VK_LOAD_DEVICE
  return TRUE;
}

static gboolean
has_layer (VmVk       *vk,
           const char *name)
{
  guint32 n = 0;
  g_autofree VkLayerProperties *layers = NULL;

  if (vk->vkEnumerateInstanceLayerProperties (&n, NULL) != VK_SUCCESS)
    return FALSE;
  layers = g_new0 (VkLayerProperties, MAX (n, 1));
  if (vk->vkEnumerateInstanceLayerProperties (&n, layers) != VK_SUCCESS)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (g_str_equal (layers[i].layerName, name))
      return TRUE;
  return FALSE;
}

static VkBool32 VKAPI_PTR
debug_messenger_cb (VkDebugUtilsMessageSeverityFlagBitsEXT       severity,
                    VkDebugUtilsMessageTypeFlagsEXT              types,
                    const VkDebugUtilsMessengerCallbackDataEXT  *data,
                    void                                        *user_data)
{
  VmGpuDevice *self = user_data;
  const char *level;

  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)
    level = "error";
  else if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
    level = "warning";
  else
    return VK_FALSE;

  g_mutex_lock (&self->message_lock);
  g_ptr_array_add (self->messages,
                   g_strdup_printf ("%s: %s: %s", level,
                                    data->pMessageIdName ? data->pMessageIdName : "-",
                                    data->pMessage ? data->pMessage : ""));
  g_mutex_unlock (&self->message_lock);
  g_debug ("Vulkan %s: %s", level, data->pMessage ? data->pMessage : "");
  return VK_FALSE;
}

static void
fill_messenger_info (VmGpuDevice                        *self,
                     VkDebugUtilsMessengerCreateInfoEXT *info)
{
  *info = (VkDebugUtilsMessengerCreateInfoEXT) {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
    .pfnUserCallback = debug_messenger_cb,
    .pUserData = self,
  };
}

static gboolean
create_instance (VmGpuDevice  *self,
                 gboolean      validation,
                 GError      **error)
{
  VmVk *vk = &self->vk;
  guint32 loader_version = 0;
  const char *layers[1];
  const char *extensions[1];
  guint n_layers = 0, n_extensions = 0;
  VkDebugUtilsMessengerCreateInfoEXT messenger_info;
  VkResult res;

  if (!load_loader (vk, error))
    return FALSE;

  vk->vkEnumerateInstanceVersion (&loader_version);
  if (loader_version < VK_API_VERSION_1_1)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER,
                   _("The Vulkan loader is too old (Vulkan 1.1 or newer is needed)"));
      return FALSE;
    }

  if (validation)
    {
      if (!has_layer (vk, VM_GPU_VALIDATION_LAYER))
        {
          g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                       _("Vulkan validation was asked for but %s is not installed"),
                       VM_GPU_VALIDATION_LAYER);
          return FALSE;
        }
      layers[n_layers++] = VM_GPU_VALIDATION_LAYER;
      extensions[n_extensions++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
      fill_messenger_info (self, &messenger_info);
    }

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Vidmark",
    .applicationVersion = VK_MAKE_API_VERSION (0, 0, 1, 0),
    .pEngineName = "vidmark-gpu",
    .apiVersion = VK_API_VERSION_1_3,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pNext = validation ? &messenger_info : NULL,
    .pApplicationInfo = &app,
    .enabledLayerCount = n_layers,
    .ppEnabledLayerNames = layers,
    .enabledExtensionCount = n_extensions,
    .ppEnabledExtensionNames = extensions,
  };

  res = vk->vkCreateInstance (&info, NULL, &self->instance);
  if (res != VK_SUCCESS)
    {
      self->instance = VK_NULL_HANDLE;
      if (res == VK_ERROR_INCOMPATIBLE_DRIVER || res == VK_ERROR_INITIALIZATION_FAILED)
        {
          g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE,
                       _("No Vulkan driver is installed or none accepted Vulkan 1.3 (%s)"),
                       vk_result_to_string (res));
          return FALSE;
        }
      return vm_gpu_set_vk_error (NULL, error, res, "instance creation");
    }

  if (!load_instance_funcs (vk, self->instance, error))
    return FALSE;

  if (validation && vk->vkCreateDebugUtilsMessengerEXT != NULL)
    {
      res = vk->vkCreateDebugUtilsMessengerEXT (self->instance, &messenger_info, NULL,
                                                &self->messenger);
      if (res != VK_SUCCESS)
        return vm_gpu_set_vk_error (NULL, error, res, "debug messenger creation");
    }
  self->validation = validation;
  return TRUE;
}

static VmGpuDeviceType
convert_type (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VM_GPU_DEVICE_TYPE_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VM_GPU_DEVICE_TYPE_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VM_GPU_DEVICE_TYPE_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VM_GPU_DEVICE_TYPE_CPU;
    default: return VM_GPU_DEVICE_TYPE_OTHER;
    }
}

static gboolean
has_device_extension (VmVk             *vk,
                      VkPhysicalDevice  physical,
                      const char       *name)
{
  guint32 n = 0;
  g_autofree VkExtensionProperties *exts = NULL;

  if (vk->vkEnumerateDeviceExtensionProperties (physical, NULL, &n, NULL) != VK_SUCCESS)
    return FALSE;
  exts = g_new0 (VkExtensionProperties, MAX (n, 1));
  if (vk->vkEnumerateDeviceExtensionProperties (physical, NULL, &n, exts) != VK_SUCCESS)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (g_str_equal (exts[i].extensionName, name))
      return TRUE;
  return FALSE;
}

/* TRUE when the NV extension offers fp16×fp16+fp32 16×16×16 subgroup tiles,
 * the shape our cooperative-matrix GEMM is compiled for. */
static gboolean
has_coopmat_shape (VmVk             *vk,
                   VkPhysicalDevice  physical)
{
  guint32 n = 0;
  g_autofree VkCooperativeMatrixPropertiesNV *props = NULL;

  if (vk->vkGetPhysicalDeviceCooperativeMatrixPropertiesNV == NULL)
    return FALSE;
  if (vk->vkGetPhysicalDeviceCooperativeMatrixPropertiesNV (physical, &n, NULL) != VK_SUCCESS || n == 0)
    return FALSE;
  props = g_new0 (VkCooperativeMatrixPropertiesNV, n);
  for (guint i = 0; i < n; i++)
    props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  if (vk->vkGetPhysicalDeviceCooperativeMatrixPropertiesNV (physical, &n, props) != VK_SUCCESS)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (props[i].MSize == 16 && props[i].NSize == 16 && props[i].KSize == 16 &&
        props[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
        props[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
        props[i].CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
        props[i].DType == VK_COMPONENT_TYPE_FLOAT32_NV &&
        props[i].scope == VK_SCOPE_SUBGROUP_NV)
      return TRUE;
  return FALSE;
}

static gint
find_compute_queue (VmVk             *vk,
                    VkPhysicalDevice  physical,
                    guint32          *timestamp_bits)
{
  guint32 n = 0;
  g_autofree VkQueueFamilyProperties *families = NULL;
  gint best = -1;

  vk->vkGetPhysicalDeviceQueueFamilyProperties (physical, &n, NULL);
  families = g_new0 (VkQueueFamilyProperties, MAX (n, 1));
  vk->vkGetPhysicalDeviceQueueFamilyProperties (physical, &n, families);

  for (guint i = 0; i < n; i++)
    {
      if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || families[i].queueCount == 0)
        continue;
      /* Prefer a family that can time kernels. */
      if (best < 0 || (families[best].timestampValidBits == 0 && families[i].timestampValidBits > 0))
        best = i;
    }
  if (best >= 0 && timestamp_bits != NULL)
    *timestamp_bits = families[best].timestampValidBits;
  return best;
}

static VmGpuDeviceInfo *
describe_physical (VmVk             *vk,
                   VkPhysicalDevice  physical,
                   guint             index,
                   VkPhysicalDeviceLimits *limits_out)
{
  VmGpuDeviceInfo *info = g_new0 (VmGpuDeviceInfo, 1);
  VkPhysicalDeviceProperties props1;
  VkPhysicalDeviceMemoryProperties mem;
  guint32 ts_bits = 0;

  vk->vkGetPhysicalDeviceProperties (physical, &props1);
  info->index = index;
  info->name = g_strdup (props1.deviceName);
  info->type = convert_type (props1.deviceType);
  info->vendor_id = props1.vendorID;
  info->device_id = props1.deviceID;
  info->api_version = props1.apiVersion;
  info->driver_version = props1.driverVersion;
  info->max_storage_buffer_range = props1.limits.maxStorageBufferRange;
  info->max_buffer_size = G_MAXUINT32;
  info->max_shared_memory = props1.limits.maxComputeSharedMemorySize;
  info->max_workgroup_invocations = props1.limits.maxComputeWorkGroupInvocations;
  for (guint i = 0; i < 3; i++)
    info->max_workgroup_count[i] = props1.limits.maxComputeWorkGroupCount[i];
  if (limits_out != NULL)
    *limits_out = props1.limits;

  if (props1.apiVersion >= VK_API_VERSION_1_2)
    {
      VkPhysicalDeviceMaintenance4Properties m4 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES,
      };
      VkPhysicalDeviceDriverProperties drv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
        .pNext = props1.apiVersion >= VK_API_VERSION_1_3 ? &m4 : NULL,
      };
      VkPhysicalDeviceVulkan11Properties p11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES,
        .pNext = &drv,
      };
      VkPhysicalDeviceProperties2 props2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &p11,
      };
      VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
      };
      VkPhysicalDeviceVulkan11Features f11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
        .pNext = &f12,
      };
      VkPhysicalDeviceFeatures2 features2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = &f11,
      };

      vk->vkGetPhysicalDeviceProperties2 (physical, &props2);
      vk->vkGetPhysicalDeviceFeatures2 (physical, &features2);
      info->driver_name = g_strdup (drv.driverName);
      info->driver_info = g_strdup (drv.driverInfo);
      info->subgroup_size = p11.subgroupSize;
      if (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT)
        info->subgroup_operations = p11.subgroupSupportedOperations;
      if (props1.apiVersion >= VK_API_VERSION_1_3)
        info->max_buffer_size = m4.maxBufferSize;
      info->storage_16bit = f11.storageBuffer16BitAccess;
      info->shader_float16 = f12.shaderFloat16;
      /* Both, or shaders with device-scope barriers fail validation. */
      info->vulkan_memory_model = f12.vulkanMemoryModel && f12.vulkanMemoryModelDeviceScope;
    }
  else
    {
      info->driver_name = g_strdup ("");
      info->driver_info = g_strdup ("");
    }

  info->cooperative_matrix_nv = has_device_extension (vk, physical, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) &&
                                info->shader_float16 && info->storage_16bit && info->vulkan_memory_model &&
                                has_coopmat_shape (vk, physical);

  vk->vkGetPhysicalDeviceMemoryProperties (physical, &mem);
  info->n_heaps = MIN (mem.memoryHeapCount, VM_GPU_MAX_HEAPS);
  for (guint i = 0; i < info->n_heaps; i++)
    {
      info->heaps[i].size = mem.memoryHeaps[i].size;
      info->heaps[i].device_local = (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    }

  if (props1.apiVersion < VK_API_VERSION_1_3)
    {
      g_autofree char *v = vm_gpu_format_api_version (props1.apiVersion);
      info->unusable_reason = g_strdup_printf (_("Vulkan %s; Vidmark needs 1.3"), v);
    }
  else if (find_compute_queue (vk, physical, &ts_bits) < 0)
    info->unusable_reason = g_strdup (_("no compute queue"));
  info->timestamps = ts_bits > 0 && props1.limits.timestampPeriod > 0;
  info->usable = info->unusable_reason == NULL;
  return info;
}

static GPtrArray *
enumerate (VmGpuDevice       *self,
           VkPhysicalDevice **out_physicals,
           GError           **error)
{
  VmVk *vk = &self->vk;
  guint32 n = 0;
  g_autofree VkPhysicalDevice *physicals = NULL;
  g_autoptr(GPtrArray) infos = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_gpu_device_info_free);
  VkResult res;

  res = vk->vkEnumeratePhysicalDevices (self->instance, &n, NULL);
  if (res != VK_SUCCESS)
    {
      vm_gpu_set_vk_error (self, error, res, "device enumeration");
      return NULL;
    }
  physicals = g_new0 (VkPhysicalDevice, MAX (n, 1));
  res = vk->vkEnumeratePhysicalDevices (self->instance, &n, physicals);
  if (res != VK_SUCCESS && res != VK_INCOMPLETE)
    {
      vm_gpu_set_vk_error (self, error, res, "device enumeration");
      return NULL;
    }

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (infos, describe_physical (vk, physicals[i], i, NULL));

  if (out_physicals != NULL)
    *out_physicals = g_steal_pointer (&physicals);
  return g_steal_pointer (&infos);
}

static void
device_free (VmGpuDevice *self)
{
  VmVk *vk = &self->vk;

  if (self->device != VK_NULL_HANDLE)
    {
      vk->vkDeviceWaitIdle (self->device);
      vm_gpu_device_save_pipeline_cache (self, NULL);
      vm_gpu_device_free_pipelines (self);
      if (self->pipeline_cache != VK_NULL_HANDLE)
        vk->vkDestroyPipelineCache (self->device, self->pipeline_cache, NULL);
      vm_gpu_device_free_memory (self);
      if (self->command_pool != VK_NULL_HANDLE)
        vk->vkDestroyCommandPool (self->device, self->command_pool, NULL);
      vk->vkDestroyDevice (self->device, NULL);
    }
  if (self->messenger != VK_NULL_HANDLE)
    vk->vkDestroyDebugUtilsMessengerEXT (self->instance, self->messenger, NULL);
  if (self->instance != VK_NULL_HANDLE)
    vk->vkDestroyInstance (self->instance, NULL);
  if (vk->library != NULL)
    dlclose (vk->library);

  g_clear_pointer (&self->pipelines, g_hash_table_unref);
  g_clear_pointer (&self->blocks, g_ptr_array_unref);
  g_clear_pointer (&self->messages, g_ptr_array_unref);
  g_clear_pointer (&self->info, vm_gpu_device_info_free);
  g_free (self->pipeline_cache_path);
  g_mutex_clear (&self->queue_lock);
  g_mutex_clear (&self->memory_lock);
  g_mutex_clear (&self->pipeline_lock);
  g_mutex_clear (&self->message_lock);
  g_free (self);
}

static VmGpuDevice *
device_alloc (void)
{
  VmGpuDevice *self = g_new0 (VmGpuDevice, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->queue_lock);
  g_mutex_init (&self->memory_lock);
  g_mutex_init (&self->pipeline_lock);
  g_mutex_init (&self->message_lock);
  self->messages = g_ptr_array_new_with_free_func (g_free);
  self->blocks = g_ptr_array_new ();
  self->pipelines = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

GPtrArray *
vm_gpu_list_devices (GError **error)
{
  VmGpuDevice *self = device_alloc ();
  GPtrArray *infos = NULL;

  if (create_instance (self, FALSE, error))
    infos = enumerate (self, NULL, error);
  device_free (self);
  return infos;
}

static int
device_rank (const VmGpuDeviceInfo *info)
{
  switch (info->type)
    {
    case VM_GPU_DEVICE_TYPE_DISCRETE: return 4;
    case VM_GPU_DEVICE_TYPE_INTEGRATED: return 3;
    case VM_GPU_DEVICE_TYPE_VIRTUAL: return 2;
    case VM_GPU_DEVICE_TYPE_CPU: return 1;
    case VM_GPU_DEVICE_TYPE_OTHER:
    default: return 0;
    }
}

static gint
choose_device (GPtrArray   *infos,
               const char  *selector,
               GError     **error)
{
  gint best = -1;

  if (infos->len == 0)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE,
                   _("No Vulkan device was found"));
      return -1;
    }

  if (selector != NULL && *selector != '\0')
    {
      guint64 index;
      gint found = -1;

      if (g_ascii_string_to_unsigned (selector, 10, 0, G_MAXUINT, &index, NULL))
        {
          if (index < infos->len)
            found = (gint) index;
        }
      else
        {
          g_autofree char *needle = g_utf8_casefold (selector, -1);

          for (guint i = 0; i < infos->len && found < 0; i++)
            {
              const VmGpuDeviceInfo *info = g_ptr_array_index (infos, i);
              g_autofree char *hay = g_utf8_casefold (info->name, -1);

              if (strstr (hay, needle) != NULL)
                found = (gint) i;
            }
        }

      if (found < 0)
        {
          g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE,
                       _("No Vulkan device matches “%s” (see “vidmark gpu”)"), selector);
          return -1;
        }
      else
        {
          const VmGpuDeviceInfo *info = g_ptr_array_index (infos, found);

          if (!info->usable)
            {
              g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE,
                           _("The Vulkan device “%s” cannot be used: %s"),
                           info->name, info->unusable_reason);
              return -1;
            }
        }
      return found;
    }

  for (guint i = 0; i < infos->len; i++)
    {
      const VmGpuDeviceInfo *info = g_ptr_array_index (infos, i);

      if (info->usable &&
          (best < 0 || device_rank (info) > device_rank (g_ptr_array_index (infos, best))))
        best = (gint) i;
    }

  if (best < 0)
    {
      const VmGpuDeviceInfo *info = g_ptr_array_index (infos, 0);

      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE,
                   _("No usable Vulkan device (“%s”: %s)"), info->name, info->unusable_reason);
    }
  return best;
}

static void
choose_memory_types (VmGpuDevice *self)
{
  const VkPhysicalDeviceMemoryProperties *mp = &self->memory_properties;
  const VkMemoryPropertyFlags unified_flags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                              VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const VkMemoryPropertyFlags staging_flags = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  gint device_local = -1, unified = -1, staging = -1;

  for (guint i = 0; i < mp->memoryTypeCount; i++)
    {
      VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;

      if (device_local < 0 && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
        device_local = i;
      if (unified < 0 && (f & unified_flags) == unified_flags)
        unified = i;
      /* Prefer cached host memory for staging (fast read-back). */
      if ((f & staging_flags) == staging_flags &&
          (staging < 0 || ((f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) &&
                           !(mp->memoryTypes[staging].propertyFlags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT))))
        staging = i;
    }

  /* Integrated GPUs and CPU drivers: map device memory directly.  Discrete
   * GPUs with a host-visible BAR still get staging (reads are slow there). */
  self->unified = unified >= 0 &&
                  (self->info->type == VM_GPU_DEVICE_TYPE_INTEGRATED ||
                   self->info->type == VM_GPU_DEVICE_TYPE_CPU);
  if (self->unified)
    self->device_type_index = unified;
  else
    self->device_type_index = device_local >= 0 ? (guint32) device_local : (staging >= 0 ? (guint32) staging : 0);
  self->staging_type_index = staging >= 0 ? (guint32) staging : self->device_type_index;
  if (!(mp->memoryTypes[self->device_type_index].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
      staging < 0)
    self->unified = FALSE;

  {
    guint heap = mp->memoryTypes[self->device_type_index].heapIndex;
    guint64 heap_size = mp->memoryHeaps[heap].size;

    /* Large blocks so a model's weights take only a few allocations. */
    self->block_size = MIN ((guint64) 256 << 20, MAX (heap_size / 8, (guint64) 16 << 20));
  }
}

static void
load_pipeline_cache (VmGpuDevice *self)
{
  VmVk *vk = &self->vk;
  g_autofree char *dir = vm_paths_cache_dir ();
  g_autofree char *data = NULL;
  gsize length = 0;
  VkPipelineCacheCreateInfo info = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
  VkPhysicalDeviceProperties props;

  vk->vkGetPhysicalDeviceProperties (self->physical, &props);
  self->pipeline_cache_path = g_strdup_printf ("%s/pipeline-cache-%04x-%04x.bin", dir,
                                               props.vendorID, props.deviceID);

  if (g_file_get_contents (self->pipeline_cache_path, &data, &length, NULL) && length >= 32)
    {
      guint32 header_length, header_version, vendor, device;

      /* Only hand the driver a cache it wrote itself. */
      memcpy (&header_length, data, 4);
      memcpy (&header_version, data + 4, 4);
      memcpy (&vendor, data + 8, 4);
      memcpy (&device, data + 12, 4);
      if (header_length >= 32 && header_version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
          vendor == props.vendorID && device == props.deviceID &&
          memcmp (data + 16, props.pipelineCacheUUID, VK_UUID_SIZE) == 0)
        {
          info.initialDataSize = length;
          info.pInitialData = data;
        }
    }

  if (vk->vkCreatePipelineCache (self->device, &info, NULL, &self->pipeline_cache) != VK_SUCCESS)
    {
      info.initialDataSize = 0;
      info.pInitialData = NULL;
      if (vk->vkCreatePipelineCache (self->device, &info, NULL, &self->pipeline_cache) != VK_SUCCESS)
        self->pipeline_cache = VK_NULL_HANDLE;
    }
}

gboolean
vm_gpu_device_save_pipeline_cache (VmGpuDevice  *self,
                                   GError      **error)
{
  VmVk *vk = &self->vk;
  size_t size = 0;
  g_autofree guint8 *data = NULL;
  g_autofree char *dir = NULL;

  if (self->pipeline_cache == VK_NULL_HANDLE || self->pipeline_cache_path == NULL)
    return TRUE;
  if (g_hash_table_size (self->pipelines) == 0)
    return TRUE;

  VM_VK_CHECK (self, error, vk->vkGetPipelineCacheData (self->device, self->pipeline_cache, &size, NULL),
               "reading the pipeline cache");
  data = g_malloc (MAX (size, 1));
  VM_VK_CHECK (self, error, vk->vkGetPipelineCacheData (self->device, self->pipeline_cache, &size, data),
               "reading the pipeline cache");

  dir = g_path_get_dirname (self->pipeline_cache_path);
  if (!vm_paths_ensure_dir (dir, error))
    return FALSE;
  return vm_write_file_atomic (self->pipeline_cache_path, (const char *) data, size, error);
}

const char *
vm_gpu_device_get_pipeline_cache_path (VmGpuDevice *self)
{
  return self->pipeline_cache_path;
}

static gboolean
open_device (VmGpuDevice  *self,
             GError      **error)
{
  VmVk *vk = &self->vk;
  const VmGpuDeviceInfo *info = self->info;
  float priority = 1.0f;
  gint family = find_compute_queue (vk, self->physical, &self->timestamp_valid_bits);
  const char *extensions[3];
  guint n_extensions = 0;
  VkResult res;

  g_assert (family >= 0);
  /* Push descriptors take the bindings of each dispatch straight into the
   * command buffer; VIDMARK_GPU_NO_PUSH_DESCRIPTORS=1 keeps descriptor sets
   * (the tests run both). */
  self->push_descriptors = has_device_extension (vk, self->physical, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME) &&
                           g_strcmp0 (g_getenv ("VIDMARK_GPU_NO_PUSH_DESCRIPTORS"), "1") != 0;
  if (self->push_descriptors)
    {
      VkPhysicalDevicePushDescriptorPropertiesKHR push_props = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PUSH_DESCRIPTOR_PROPERTIES_KHR,
      };
      VkPhysicalDeviceProperties2 props = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &push_props,
      };

      vk->vkGetPhysicalDeviceProperties2 (self->physical, &props);
      /* The most bindings a kernel has (vm-gpu-graph.c's MAX_BINDINGS). */
      self->push_descriptors = push_props.maxPushDescriptors >= 16;
    }
  self->queue_family = family;

  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
    .cooperativeMatrix = VK_TRUE,
  };
  /* SPIR-V 1.6 declares workgroup sizes with LocalSizeId (maintenance4,
   * mandatory in Vulkan 1.3). */
  VkPhysicalDeviceVulkan13Features f13 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
    .pNext = info->cooperative_matrix_nv ? &coop : NULL,
    .maintenance4 = VK_TRUE,
  };
  VkPhysicalDeviceVulkan12Features f12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .pNext = &f13,
    .shaderFloat16 = info->shader_float16,
    /* glslang declares VulkanMemoryModel for cooperative-matrix loads. */
    .vulkanMemoryModel = info->cooperative_matrix_nv,
    .vulkanMemoryModelDeviceScope = info->cooperative_matrix_nv,
  };
  VkPhysicalDeviceVulkan11Features f11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
    .pNext = &f12,
    .storageBuffer16BitAccess = info->storage_16bit,
  };
  VkPhysicalDeviceFeatures2 features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
    .pNext = &f11,
  };
  VkDeviceQueueCreateInfo queue_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = self->queue_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };

  if (info->cooperative_matrix_nv)
    extensions[n_extensions++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
  if (self->push_descriptors)
    extensions[n_extensions++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;

  VkDeviceCreateInfo create = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &features,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &queue_info,
    .enabledExtensionCount = n_extensions,
    .ppEnabledExtensionNames = extensions,
  };

  res = vk->vkCreateDevice (self->physical, &create, NULL, &self->device);
  if (res != VK_SUCCESS)
    {
      self->device = VK_NULL_HANDLE;
      return vm_gpu_set_vk_error (self, error, res, "device creation");
    }
  if (!load_device_funcs (vk, self->device, error))
    return FALSE;
  vk->vkCmdPushDescriptorSetKHR = self->push_descriptors
    ? (PFN_vkCmdPushDescriptorSetKHR) vk->vkGetDeviceProcAddr (self->device, "vkCmdPushDescriptorSetKHR")
    : NULL;
  self->push_descriptors = vk->vkCmdPushDescriptorSetKHR != NULL;

  vk->vkGetDeviceQueue (self->device, self->queue_family, 0, &self->queue);

  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = self->queue_family,
  };
  VM_VK_CHECK (self, error, vk->vkCreateCommandPool (self->device, &pool_info, NULL, &self->command_pool),
               "command pool creation");

  {
    VkFormatProperties fp;

    vk->vkGetPhysicalDeviceFormatProperties (self->physical, VK_FORMAT_R16G16B16A16_SFLOAT, &fp);
    self->texel_f16 = (fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) != 0;
  }
  vk->vkGetPhysicalDeviceMemoryProperties (self->physical, &self->memory_properties);
  choose_memory_types (self);
  load_pipeline_cache (self);
  return TRUE;
}

VmGpuDevice *
vm_gpu_device_new_for (const char  *selector,
                       GError     **error)
{
  VmGpuDevice *self = device_alloc ();
  g_autoptr(GPtrArray) infos = NULL;
  g_autofree VkPhysicalDevice *physicals = NULL;
  const char *validation_env = g_getenv ("VIDMARK_VULKAN_VALIDATION");
  gboolean validation = validation_env != NULL && g_str_equal (validation_env, "1");
  VkPhysicalDeviceProperties props;
  gint chosen;

  if (!create_instance (self, validation, error))
    goto fail;

  infos = enumerate (self, &physicals, error);
  if (infos == NULL)
    goto fail;

  chosen = choose_device (infos, selector, error);
  if (chosen < 0)
    goto fail;

  self->physical = physicals[chosen];
  self->info = vm_gpu_device_info_copy (g_ptr_array_index (infos, chosen));
  self->vk.vkGetPhysicalDeviceProperties (self->physical, &props);
  self->limits = props.limits;
  self->timestamp_period = props.limits.timestampPeriod;

  if (!open_device (self, error))
    goto fail;

  g_debug ("Vulkan device: %s (%s)", self->info->name,
           vm_gpu_device_type_to_string (self->info->type));
  return self;

fail:
  device_free (self);
  return NULL;
}

VmGpuDevice *
vm_gpu_device_new (GError **error)
{
  return vm_gpu_device_new_for (g_getenv ("VIDMARK_VULKAN_DEVICE"), error);
}

VmGpuDevice *
vm_gpu_device_ref (VmGpuDevice *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
vm_gpu_device_unref (VmGpuDevice *self)
{
  if (self != NULL && g_atomic_ref_count_dec (&self->ref_count))
    device_free (self);
}

const VmGpuDeviceInfo *
vm_gpu_device_get_info (VmGpuDevice *self)
{
  return self->info;
}

gboolean
vm_gpu_device_is_lost (VmGpuDevice *self)
{
  return self->lost;
}

gboolean
vm_gpu_device_supports_f16 (VmGpuDevice *self)
{
  return self->info->storage_16bit;
}

gboolean
vm_gpu_device_is_unified_memory (VmGpuDevice *self)
{
  return self->unified;
}

gboolean
vm_gpu_device_validation_enabled (VmGpuDevice *self)
{
  return self->validation;
}

GPtrArray *
vm_gpu_device_take_messages (VmGpuDevice *self)
{
  GPtrArray *taken;

  g_mutex_lock (&self->message_lock);
  taken = self->messages;
  self->messages = g_ptr_array_new_with_free_func (g_free);
  g_mutex_unlock (&self->message_lock);
  return taken;
}

gboolean
vm_gpu_device_run_commands (VmGpuDevice      *self,
                            VmGpuRecordFunc   record,
                            gpointer          user_data,
                            GError          **error)
{
  VmVk *vk = &self->vk;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkResult res;
  gboolean ok = FALSE;

  if (self->lost)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_DEVICE_LOST,
                   _("The GPU device was lost; restart Vidmark"));
      return FALSE;
    }

  g_mutex_lock (&self->queue_lock);

  VkCommandBufferAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = self->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkCommandBufferBeginInfo begin = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };

  res = vk->vkAllocateCommandBuffers (self->device, &alloc, &cmd);
  if (res != VK_SUCCESS)
    {
      cmd = VK_NULL_HANDLE;
      vm_gpu_set_vk_error (self, error, res, "command buffer allocation");
      goto out;
    }
  res = vk->vkCreateFence (self->device, &fence_info, NULL, &fence);
  if (res != VK_SUCCESS)
    {
      fence = VK_NULL_HANDLE;
      vm_gpu_set_vk_error (self, error, res, "fence creation");
      goto out;
    }
  res = vk->vkBeginCommandBuffer (cmd, &begin);
  if (res != VK_SUCCESS)
    {
      vm_gpu_set_vk_error (self, error, res, "recording a transfer");
      goto out;
    }
  record (self, cmd, user_data);
  res = vk->vkEndCommandBuffer (cmd);
  if (res != VK_SUCCESS)
    {
      vm_gpu_set_vk_error (self, error, res, "recording a transfer");
      goto out;
    }

  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &cmd,
  };
  res = vk->vkQueueSubmit (self->queue, 1, &submit, fence);
  if (res != VK_SUCCESS)
    {
      vm_gpu_set_vk_error (self, error, res, "a transfer submission");
      goto out;
    }
  res = vk->vkWaitForFences (self->device, 1, &fence, VK_TRUE, 60 * G_GUINT64_CONSTANT (1000000000));
  if (res != VK_SUCCESS)
    {
      if (res == VK_TIMEOUT)
        vk->vkDeviceWaitIdle (self->device);
      vm_gpu_set_vk_error (self, error, res, "a transfer");
      goto out;
    }
  ok = TRUE;

out:
  if (fence != VK_NULL_HANDLE)
    vk->vkDestroyFence (self->device, fence, NULL);
  if (cmd != VK_NULL_HANDLE)
    vk->vkFreeCommandBuffers (self->device, self->command_pool, 1, &cmd);
  g_mutex_unlock (&self->queue_lock);
  return ok;
}
