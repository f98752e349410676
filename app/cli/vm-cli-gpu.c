/* vm-cli-gpu.c — `vidmark gpu`: the Vulkan devices and their features.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>

#include "cli/vm-cli.h"
#include "gpu/vm-gpu-device.h"

static JsonNode *
device_to_json (const VmGpuDeviceInfo *info,
                gboolean               chosen)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *api = vm_gpu_format_api_version (info->api_version);
  g_autofree char *ops = vm_gpu_format_subgroup_operations (info->subgroup_operations);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "index");
  json_builder_add_int_value (b, info->index);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, info->name);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, vm_gpu_device_type_to_string (info->type));
  json_builder_set_member_name (b, "chosen");
  json_builder_add_boolean_value (b, chosen);
  json_builder_set_member_name (b, "usable");
  json_builder_add_boolean_value (b, info->usable);
  json_builder_set_member_name (b, "unusable_reason");
  if (info->unusable_reason != NULL)
    json_builder_add_string_value (b, info->unusable_reason);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "vendor_id");
  json_builder_add_int_value (b, info->vendor_id);
  json_builder_set_member_name (b, "device_id");
  json_builder_add_int_value (b, info->device_id);
  json_builder_set_member_name (b, "driver");
  json_builder_add_string_value (b, info->driver_name);
  json_builder_set_member_name (b, "driver_info");
  json_builder_add_string_value (b, info->driver_info);
  json_builder_set_member_name (b, "api_version");
  json_builder_add_string_value (b, api);
  json_builder_set_member_name (b, "memory_heaps");
  json_builder_begin_array (b);
  for (guint i = 0; i < info->n_heaps; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, info->heaps[i].size);
      json_builder_set_member_name (b, "device_local");
      json_builder_add_boolean_value (b, info->heaps[i].device_local);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "features");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "shader_float16");
  json_builder_add_boolean_value (b, info->shader_float16);
  json_builder_set_member_name (b, "storage_16bit");
  json_builder_add_boolean_value (b, info->storage_16bit);
  json_builder_set_member_name (b, "subgroup_size");
  json_builder_add_int_value (b, info->subgroup_size);
  json_builder_set_member_name (b, "subgroup_operations");
  json_builder_add_string_value (b, ops);
  json_builder_set_member_name (b, "cooperative_matrix_nv");
  json_builder_add_boolean_value (b, info->cooperative_matrix_nv);
  json_builder_set_member_name (b, "timestamps");
  json_builder_add_boolean_value (b, info->timestamps);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "limits");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "max_storage_buffer_range");
  json_builder_add_int_value (b, info->max_storage_buffer_range);
  json_builder_set_member_name (b, "max_buffer_size");
  json_builder_add_int_value (b, info->max_buffer_size);
  json_builder_set_member_name (b, "max_shared_memory");
  json_builder_add_int_value (b, info->max_shared_memory);
  json_builder_set_member_name (b, "max_workgroup_invocations");
  json_builder_add_int_value (b, info->max_workgroup_invocations);
  json_builder_end_object (b);
  json_builder_end_object (b);

  return json_builder_get_root (b);
}

static const char *
yes_no (gboolean value)
{
  return value ? _("yes") : _("no");
}

int
vm_cli_cmd_gpu (VmCli              *cli,
                const VmCliCommand *command,
                int                 argc,
                char              **argv)
{
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) open_error = NULL;
  g_autoptr(VmGpuDevice) device = NULL;
  gint chosen = -1;

  if (!vm_cli_parse (cli, command, NULL,
                     _("Lists the Vulkan devices and the features Vidmark uses. The device marked "
                       "with * is the one Vidmark chooses (discrete > integrated > virtual > CPU); "
                       "set VIDMARK_VULKAN_DEVICE to an index or a name to choose another."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  devices = vm_gpu_list_devices (&error);
  if (devices == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  device = vm_gpu_device_new (&open_error);
  if (device != NULL)
    chosen = vm_gpu_device_get_info (device)->index;

  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "devices");
      json_builder_begin_array (b);
      for (guint i = 0; i < devices->len; i++)
        {
          const VmGpuDeviceInfo *info = g_ptr_array_index (devices, i);
          json_builder_add_value (b, device_to_json (info, (gint) info->index == chosen));
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "error");
      if (open_error != NULL)
        json_builder_add_string_value (b, open_error->message);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
      return device != NULL ? VM_EXIT_OK : VM_EXIT_FAILURE;
    }

  for (guint i = 0; i < devices->len; i++)
    {
      const VmGpuDeviceInfo *info = g_ptr_array_index (devices, i);
      g_autofree char *api = vm_gpu_format_api_version (info->api_version);
      g_autofree char *ops = vm_gpu_format_subgroup_operations (info->subgroup_operations);
      guint64 local = 0;

      for (guint h = 0; h < info->n_heaps; h++)
        if (info->heaps[h].device_local)
          local += info->heaps[h].size;

      printf ("%s%u: %s (%s)\n", (gint) info->index == chosen ? "* " : "  ", info->index,
              info->name, vm_gpu_device_type_to_string (info->type));
      printf ("     %-22s %s %s — Vulkan %s\n", _("Driver:"), info->driver_name ? info->driver_name : "?",
              info->driver_info ? info->driver_info : "", api);
      {
        g_autofree char *mem = g_format_size (local);
        printf ("     %-22s %s\n", _("Device memory:"), mem);
      }
      printf ("     %-22s %s\n", _("fp16 arithmetic:"), yes_no (info->shader_float16));
      printf ("     %-22s %s\n", _("16-bit storage:"), yes_no (info->storage_16bit));
      printf ("     %-22s %u (%s)\n", _("Subgroup size:"), info->subgroup_size, ops);
      printf ("     %-22s %s\n", _("Cooperative matrices:"), yes_no (info->cooperative_matrix_nv));
      printf ("     %-22s %s\n", _("Kernel timing:"), yes_no (info->timestamps));
      if (!info->usable)
        printf ("     %-22s %s\n", _("Not usable:"), info->unusable_reason);
    }

  if (devices->len == 0)
    printf ("%s\n", _("No Vulkan device found."));
  if (open_error != NULL)
    {
      vm_cli_error ("%s", open_error->message);
      return VM_EXIT_FAILURE;
    }

  return VM_EXIT_OK;
}
