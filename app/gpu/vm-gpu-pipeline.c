/* vm-gpu-pipeline.c — lazily created, cached compute pipelines.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gpu/vm-gpu-private.h"

#include <glib/gi18n.h>
#include <gio/gio.h>

#include "vm-gpu-shaders.h"

#define SHADER_PREFIX "/io/github/vidmark/Vidmark/shaders/"

GBytes *
vm_gpu_shader_lookup (const char  *name,
                      GError     **error)
{
  static gsize registered = 0;
  g_autofree char *path = g_strconcat (SHADER_PREFIX, name, ".spv", NULL);
  GBytes *bytes;

  /* Registered by hand: a constructor in a static library may be dropped. */
  if (g_once_init_enter (&registered))
    {
      vm_gpu_shaders_register_resource ();
      g_once_init_leave (&registered, 1);
    }
  bytes = g_resource_lookup_data (vm_gpu_shaders_get_resource (), path,
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  if (bytes == NULL)
    g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_SHADER,
                 _("The GPU kernel “%s” is not built into this program"), name);
  return bytes;
}

static void
pipeline_free (VmGpuDevice   *device,
               VmGpuPipeline *p)
{
  VmVk *vk = &device->vk;

  if (p->pipeline != VK_NULL_HANDLE)
    vk->vkDestroyPipeline (device->device, p->pipeline, NULL);
  if (p->layout != VK_NULL_HANDLE)
    vk->vkDestroyPipelineLayout (device->device, p->layout, NULL);
  if (p->set_layout != VK_NULL_HANDLE)
    vk->vkDestroyDescriptorSetLayout (device->device, p->set_layout, NULL);
  g_free (p->name);
  g_free (p->key);
  g_free (p);
}

void
vm_gpu_device_free_pipelines (VmGpuDevice *device)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, device->pipelines);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_hash_table_iter_steal (&iter);
      pipeline_free (device, value);
    }
}

/* The cache key: the variant's name, and its specialisation value if any. */
static char *
pipeline_key (const VmGpuPipelineDesc *desc)
{
  if (!desc->has_spec)
    return g_strdup (desc->name);
  return g_strdup_printf ("%s/%u", desc->name, desc->spec);
}

static VmGpuPipeline *
pipeline_create (VmGpuDevice              *device,
                 const VmGpuPipelineDesc  *desc,
                 GError                  **error)
{
  VmVk *vk = &device->vk;
  g_autoptr(GBytes) spirv = NULL;
  VmGpuPipeline *p;
  VkShaderModule module = VK_NULL_HANDLE;
  VkDescriptorSetLayoutBinding bindings[16];
  VkResult res;
  gsize size;
  const void *code;

  if (desc->n_bindings > G_N_ELEMENTS (bindings))
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("The GPU kernel “%s” has too many bindings"), desc->name);
      return NULL;
    }
  if (desc->push_size > device->limits.maxPushConstantsSize || desc->push_size % 4 != 0)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                   _("The GPU kernel “%s” needs %u bytes of push constants"), desc->name,
                   desc->push_size);
      return NULL;
    }

  spirv = vm_gpu_shader_lookup (desc->name, error);
  if (spirv == NULL)
    return NULL;
  code = g_bytes_get_data (spirv, &size);
  if (size == 0 || size % 4 != 0)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_SHADER,
                   _("The GPU kernel “%s” is damaged"), desc->name);
      return NULL;
    }

  p = g_new0 (VmGpuPipeline, 1);
  p->name = g_strdup (desc->name);
  p->key = pipeline_key (desc);
  p->has_spec = desc->has_spec;
  p->spec = desc->spec;
  p->n_bindings = desc->n_bindings;
  p->push_size = desc->push_size;
  p->texel_bindings = desc->texel_bindings;
  p->uniform_bindings = desc->uniform_bindings;

  for (guint i = 0; i < desc->n_bindings; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = (desc->texel_bindings & (1u << i)) ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER :
                        (desc->uniform_bindings & (1u << i)) ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER :
                        VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo set_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .flags = device->push_descriptors ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
    .bindingCount = desc->n_bindings,
    .pBindings = bindings,
  };
  res = vk->vkCreateDescriptorSetLayout (device->device, &set_info, NULL, &p->set_layout);
  if (res != VK_SUCCESS)
    goto vk_fail;

  VkPushConstantRange push = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    .offset = 0,
    .size = desc->push_size,
  };
  VkPipelineLayoutCreateInfo layout_info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1,
    .pSetLayouts = &p->set_layout,
    .pushConstantRangeCount = desc->push_size > 0 ? 1 : 0,
    .pPushConstantRanges = &push,
  };
  res = vk->vkCreatePipelineLayout (device->device, &layout_info, NULL, &p->layout);
  if (res != VK_SUCCESS)
    goto vk_fail;

  VkShaderModuleCreateInfo module_info = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = size,
    .pCode = code,
  };
  res = vk->vkCreateShaderModule (device->device, &module_info, NULL, &module);
  if (res != VK_SUCCESS)
    goto vk_fail;

  VkSpecializationMapEntry spec_entry = { .constantID = 0, .offset = 0, .size = sizeof (guint32) };
  VkSpecializationInfo spec_info = {
    .mapEntryCount = 1,
    .pMapEntries = &spec_entry,
    .dataSize = sizeof (guint32),
    .pData = &desc->spec,
  };
  VkComputePipelineCreateInfo pipe_info = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .module = module,
      .pName = "main",
      .pSpecializationInfo = desc->has_spec ? &spec_info : NULL,
    },
    .layout = p->layout,
  };
  res = vk->vkCreateComputePipelines (device->device, device->pipeline_cache, 1, &pipe_info, NULL,
                                      &p->pipeline);
  vk->vkDestroyShaderModule (device->device, module, NULL);
  if (res != VK_SUCCESS)
    {
      p->pipeline = VK_NULL_HANDLE;
      goto vk_fail;
    }
  return p;

vk_fail:
  {
    g_autofree char *what = g_strdup_printf ("creating the GPU kernel “%s”", desc->name);
    vm_gpu_set_vk_error (device, error, res, what);
  }
  pipeline_free (device, p);
  return NULL;
}

VmGpuPipeline *
vm_gpu_device_get_pipeline (VmGpuDevice              *device,
                            const VmGpuPipelineDesc  *desc,
                            GError                  **error)
{
  g_autofree char *key = NULL;
  VmGpuPipeline *p;

  g_mutex_lock (&device->pipeline_lock);
  key = pipeline_key (desc);
  p = g_hash_table_lookup (device->pipelines, key);
  if (p == NULL)
    {
      p = pipeline_create (device, desc, error);
      if (p != NULL)
        g_hash_table_insert (device->pipelines, p->key, p);
    }
  else if (p->n_bindings != desc->n_bindings || p->push_size != desc->push_size ||
           p->texel_bindings != desc->texel_bindings || p->uniform_bindings != desc->uniform_bindings ||
           p->has_spec != desc->has_spec)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("The GPU kernel “%s” was described twice differently"), desc->name);
      p = NULL;
    }
  g_mutex_unlock (&device->pipeline_lock);
  return p;
}

guint
vm_gpu_device_get_n_pipelines (VmGpuDevice *device)
{
  guint n;

  g_mutex_lock (&device->pipeline_lock);
  n = g_hash_table_size (device->pipelines);
  g_mutex_unlock (&device->pipeline_lock);
  return n;
}
