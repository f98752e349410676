/* vm-export.c — minimal JSON export of an annotation set.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <json-glib/json-glib.h>

#include "core/vm-util.h"
#include "widgets/vm-export.h"

gboolean
vm_export_set_json (VmCatalog   *catalog,
                    gint64       set_id,
                    const char  *set_name,
                    const char  *path,
                    guint       *out_count,
                    GError     **error)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GHashTable) videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                         (GDestroyNotify) vm_video_free);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  gsize length;

  g_return_val_if_fail (VM_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  list = vm_catalog_list_annotations (catalog, set_id, 0, error);
  if (list == NULL)
    return FALSE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "set");
  json_builder_add_string_value (b, set_name ? set_name : "");
  json_builder_set_member_name (b, "annotations");
  json_builder_begin_array (b);
  for (guint i = 0; i < list->len; i++)
    {
      VmAnnotation *a = g_ptr_array_index (list, i);
      VmVideo *video = g_hash_table_lookup (videos, &a->video_id);

      if (video == NULL)
        {
          video = vm_catalog_get_video (catalog, a->video_id, error);
          if (video == NULL)
            return FALSE;
          g_hash_table_insert (videos, &video->id, video);
        }

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "video");
      json_builder_add_string_value (b, video->path);
      json_builder_set_member_name (b, "fingerprint");
      json_builder_add_string_value (b, video->fingerprint ? video->fingerprint : "");
      json_builder_set_member_name (b, "start");
      json_builder_add_double_value (b, a->start_ns / 1e9);
      json_builder_set_member_name (b, "end");
      json_builder_add_double_value (b, a->end_ns / 1e9);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, a->text ? a->text : "");
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, &length);

  if (!vm_write_file_atomic (path, text, length, error))
    return FALSE;
  if (out_count)
    *out_count = list->len;
  return TRUE;
}
