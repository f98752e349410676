/* vm-recent-exports.c — recently exported files in GSettings.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "widgets/vm-recent-exports.h"

#define RECENT_KEY "recent-exports"

void
vm_recent_export_free (VmRecentExport *recent)
{
  if (recent == NULL)
    return;

  g_free (recent->path);
  g_free (recent->format);
  g_free (recent);
}

GPtrArray *
vm_recent_exports_get (GSettings *settings)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_recent_export_free);
  g_autoptr(GVariant) value = NULL;
  GVariantIter iter;
  const char *path, *format;
  gint64 time;

  g_return_val_if_fail (G_IS_SETTINGS (settings), list);

  value = g_settings_get_value (settings, RECENT_KEY);
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&sx)", &path, &format, &time))
    {
      VmRecentExport *recent;

      if (*path == '\0' || list->len >= VM_RECENT_EXPORTS_MAX)
        continue;
      recent = g_new0 (VmRecentExport, 1);
      recent->path = g_strdup (path);
      recent->format = g_strdup (format);
      recent->time = time;
      g_ptr_array_add (list, recent);
    }
  return list;
}

void
vm_recent_exports_add (GSettings  *settings,
                       const char *path,
                       const char *format,
                       gint64      time)
{
  g_autoptr(GPtrArray) old = NULL;
  GVariantBuilder b;
  guint n = 1;

  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (path != NULL && format != NULL);

  old = vm_recent_exports_get (settings);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ssx)"));
  g_variant_builder_add (&b, "(ssx)", path, format, time);
  for (guint i = 0; i < old->len && n < VM_RECENT_EXPORTS_MAX; i++)
    {
      VmRecentExport *r = g_ptr_array_index (old, i);

      if (g_str_equal (r->path, path))
        continue;
      g_variant_builder_add (&b, "(ssx)", r->path, r->format, r->time);
      n++;
    }
  g_settings_set_value (settings, RECENT_KEY, g_variant_builder_end (&b));
}

/* "QVHighlights" for "qvhighlights": the names the export dialog shows. */
static const char *
format_label (const char *format)
{
  static const struct { const char *name, *label; } labels[] = {
    { "qvhighlights", "QVHighlights" },
    { "activitynet", "ActivityNet Captions" },
    { "charades-sta", "Charades-STA" },
    { "tacos", "TACoS" },
    { "vidmark", "Vidmark" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    if (g_str_equal (labels[i].name, format))
      return labels[i].label;
  return format;
}

void
vm_recent_exports_fill_menu (GSettings  *settings,
                             GMenu      *section,
                             const char *action_name)
{
  g_autoptr(GPtrArray) list = NULL;

  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (G_IS_MENU (section));

  g_menu_remove_all (section);
  list = vm_recent_exports_get (settings);
  for (guint i = 0; i < list->len; i++)
    {
      VmRecentExport *r = g_ptr_array_index (list, i);
      g_autofree char *name = g_path_get_basename (r->path);
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (r->time);
      /* TRANSLATORS: a date and time in the "Recent Exports" menu, strftime-style */
      g_autofree char *when = dt ? g_date_time_format (dt, _("%b %-d, %H:%M")) : NULL;
      g_autofree char *label = NULL;
      g_autoptr(GMenuItem) item = NULL;

      /* TRANSLATORS: a recent export in the menu: file name (format, date);
       * underscores are doubled so that they show */
      label = g_strdup_printf (_("%s (%s, %s)"), name, format_label (r->format), when ? when : "");
      {
        g_autoptr(GString) escaped = g_string_new (label);

        g_string_replace (escaped, "_", "__", 0);
        item = g_menu_item_new (escaped->str, NULL);
      }
      g_menu_item_set_action_and_target_value (item, action_name, g_variant_new_string (r->path));
      g_menu_append_item (section, item);
    }
}
