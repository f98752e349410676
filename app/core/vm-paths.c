/* vm-paths.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "core/vm-paths.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

char *
vm_paths_data_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "vidmark", NULL);
}

char *
vm_paths_cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "vidmark", NULL);
}

char *
vm_paths_default_catalog (void)
{
  const char *env = g_getenv ("VIDMARK_CATALOG");

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  return g_build_filename (g_get_user_data_dir (), "vidmark", "catalog.sqlite", NULL);
}

char *
vm_paths_models_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "vidmark", "models", NULL);
}

char *
vm_paths_demo_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "vidmark", "demo", NULL);
}

char *
vm_paths_thumbnail_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "vidmark", "thumbnails", NULL);
}

gboolean
vm_paths_ensure_dir (const char  *path,
                     GError     **error)
{
  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create folder “%s”: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}
