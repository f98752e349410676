/* vm-scanner.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "index/vm-scanner.h"

#include <glib/gi18n.h>

#define SCAN_ATTRIBUTES                         \
  G_FILE_ATTRIBUTE_STANDARD_NAME ","            \
  G_FILE_ATTRIBUTE_STANDARD_TYPE ","            \
  G_FILE_ATTRIBUTE_STANDARD_IS_HIDDEN ","       \
  G_FILE_ATTRIBUTE_STANDARD_IS_SYMLINK ","      \
  G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE ","    \
  G_FILE_ATTRIBUTE_STANDARD_SIZE ","            \
  G_FILE_ATTRIBUTE_TIME_MODIFIED ","            \
  G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC

void
vm_scan_entry_free (VmScanEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->path);
  g_free (entry->content_type);
  g_free (entry);
}

gboolean
vm_scanner_is_video_type (const char *content_type)
{
  static const char * const containers[] = {
    "application/x-matroska",
    "application/mxf",
    "application/vnd.rn-realmedia",
    "application/x-shockwave-flash",
    "application/ogg",
    "video/*",
  };

  if (content_type == NULL)
    return FALSE;

  if (g_str_has_prefix (content_type, "video/"))
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (containers) - 1; i++)
    if (g_content_type_is_a (content_type, containers[i]))
      return TRUE;

  /* Subclasses of video types, e.g. aliases registered by shared-mime-info. */
  return g_content_type_is_mime_type (content_type, "video/*") ||
         g_content_type_is_a (content_type, "video/mp4") ||
         g_content_type_is_a (content_type, "video/x-matroska");
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const VmScanEntry *ea = *(VmScanEntry * const *) a;
  const VmScanEntry *eb = *(VmScanEntry * const *) b;

  return strcmp (ea->path, eb->path);
}

static void
maybe_add_entry (GPtrArray *out,
                 GFile     *file,
                 GFileInfo *info)
{
  const char *content_type = g_file_info_get_content_type (info);
  g_autofree char *by_name = NULL;
  g_autoptr(GDateTime) mtime = NULL;
  VmScanEntry *entry;

  if (!vm_scanner_is_video_type (content_type))
    {
      /* Content sniffing wins, but a file whose name says video and whose
       * content says nothing useful (empty, unreadable, damaged) is still
       * taken, so that its problem is reported rather than ignored. */
      const char *name = g_file_info_get_name (info);
      gboolean uncertain = FALSE;

      by_name = g_content_type_guess (name, NULL, 0, &uncertain);
      if (uncertain || !vm_scanner_is_video_type (by_name))
        return;
      if (content_type != NULL &&
          !g_content_type_equals (content_type, "application/x-zerosize") &&
          !g_content_type_equals (content_type, "application/octet-stream") &&
          !g_content_type_is_a (content_type, "text/plain"))
        return;
      content_type = by_name;
    }

  mtime = g_file_info_get_modification_date_time (info);
  entry = g_new0 (VmScanEntry, 1);
  entry->path = g_file_get_path (file);
  entry->content_type = g_strdup (content_type);
  entry->size = g_file_info_get_size (info);
  if (mtime != NULL)
    entry->mtime_us = g_date_time_to_unix (mtime) * G_USEC_PER_SEC +
                      g_date_time_get_microsecond (mtime);
  g_ptr_array_add (out, entry);
}

static gboolean
scan_dir (GFile        *dir,
          GPtrArray    *out,
          GHashTable   *visited,
          void        (*on_error) (const char *, const GError *, gpointer),
          gpointer      data,
          GCancellable *cancellable,
          GError      **error)
{
  g_autoptr(GFileEnumerator) enumerator = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir_path = g_file_get_path (dir);

  enumerator = g_file_enumerate_children (dir, SCAN_ATTRIBUTES,
                                          G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                          cancellable, &local_error);
  if (enumerator == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (on_error != NULL)
        on_error (dir_path, local_error, data);
      return TRUE;
    }

  for (;;)
    {
      GFileInfo *info = NULL;
      GFile *child = NULL;
      GFileType type;

      if (!g_file_enumerator_iterate (enumerator, &info, &child, cancellable, &local_error))
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          if (on_error != NULL)
            on_error (dir_path, local_error, data);
          return TRUE;
        }
      if (info == NULL)
        break;

      if (g_file_info_get_is_hidden (info))
        continue;

      type = g_file_info_get_file_type (info);

      if (type == G_FILE_TYPE_SYMBOLIC_LINK)
        {
          /* Follow links to files, never to folders (loops, duplicates). */
          g_autoptr(GFileInfo) target = g_file_query_info (child, SCAN_ATTRIBUTES,
                                                           G_FILE_QUERY_INFO_NONE,
                                                           cancellable, NULL);

          if (target != NULL && g_file_info_get_file_type (target) == G_FILE_TYPE_REGULAR)
            maybe_add_entry (out, child, target);
          continue;
        }

      if (type == G_FILE_TYPE_DIRECTORY)
        {
          g_autofree char *path = g_file_get_path (child);

          if (path == NULL || g_hash_table_contains (visited, path))
            continue;
          g_hash_table_add (visited, g_strdup (path));
          if (!scan_dir (child, out, visited, on_error, data, cancellable, error))
            return FALSE;
          continue;
        }

      if (type != G_FILE_TYPE_REGULAR)
        continue;

      maybe_add_entry (out, child, info);
    }

  return TRUE;
}

GPtrArray *
vm_scanner_discover (const char    *folder,
                     void         (*on_error) (const char *, const GError *, gpointer),
                     gpointer       data,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GFile) dir = g_file_new_for_path (folder);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_scan_entry_free);
  g_autoptr(GHashTable) visited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;

  info = g_file_query_info (dir, G_FILE_ATTRIBUTE_STANDARD_TYPE, G_FILE_QUERY_INFO_NONE,
                            cancellable, &local_error);
  if (info == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot read folder “%s”: %s"), folder, local_error->message);
      return NULL;
    }
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   _("“%s” is not a folder"), folder);
      return NULL;
    }

  g_hash_table_add (visited, g_strdup (folder));
  if (!scan_dir (dir, out, visited, on_error, data, cancellable, error))
    return NULL;

  g_ptr_array_sort (out, compare_entries);
  return g_steal_pointer (&out);
}
