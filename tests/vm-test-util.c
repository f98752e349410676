/* vm-test-util.c — what the test programs share.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "vm-test-util.h"

#include <glib/gstdio.h>
#include <unistd.h>

void
vm_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_remove (path);
      return;
    }

  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      vm_test_remove_tree (child);
    }
  g_rmdir (path);
}

char *
vm_test_set_xdg_dirs (const char *tmpl)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  if (dir == NULL)
    g_error ("making a temporary folder failed: %s", error->message);
  g_setenv ("XDG_CACHE_HOME", dir, TRUE);
  g_setenv ("XDG_DATA_HOME", dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", dir, TRUE);

  return dir;
}

gboolean
vm_test_take_script_args (int          *argc,
                          char       ***argv,
                          const char  **python,
                          const char  **script)
{
  char **args = *argv;

  if (*argc < 3 || args[1][0] == '-' || args[2][0] == '-')
    return FALSE;

  *python = args[1];
  *script = args[2];
  /* The program name moves up to stand before the options left. */
  args[2] = args[0];
  *argc -= 2;
  *argv = args + 2;

  return TRUE;
}

void
vm_test_make_tiny_clip (const char *python,
                        const char *script,
                        const char *out_dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err_out = NULL;
  const char *args[] = { python, script, out_dir, NULL };
  gint status;

  if (!g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err_out,
                     &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("make-tiny-clip.py failed: %s\n%s", error->message, err_out ? err_out : "");
}

void
vm_test_copy_file (const char *from,
                   const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &contents, &len, &error));
  g_assert_true (g_file_set_contents (to, contents, len, &error));
}

gboolean
vm_test_set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
vm_test_wait_for (VmTestCondFunc  cond,
                  gpointer        data,
                  guint           seconds,
                  const char     *what)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (seconds, vm_test_set_flag_cb, &timed_out);

  while (!cond (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (timed_out)
    g_error ("timed out waiting for %s", what);
  g_source_remove (id);
}

void
vm_test_spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, vm_test_set_flag_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

void
vm_test_fakehub_start (const char    *python,
                       const char    *script,
                       VmTestFakeHub *hub)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOChannel) out = NULL;
  const char *args[] = { python, script, NULL };
  gsize length = 0;
  int out_fd;

  if (!g_spawn_async_with_pipes (NULL, (char **) args, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &hub->pid, &hub->in_fd, &out_fd, NULL, &error))
    g_error ("cannot start the fake hub: %s", error->message);
  out = g_io_channel_unix_new (out_fd);
  g_io_channel_set_close_on_unref (out, TRUE);
  if (g_io_channel_read_line (out, &hub->endpoint, &length, NULL, &error) != G_IO_STATUS_NORMAL)
    g_error ("the fake hub did not start: %s", error ? error->message : "no output");
  g_strstrip (hub->endpoint);
  if (!g_str_has_prefix (hub->endpoint, "http://127.0.0.1:"))
    g_error ("the fake hub printed “%s”, not its endpoint", hub->endpoint);
}

void
vm_test_fakehub_stop (VmTestFakeHub *hub)
{
  close (hub->in_fd);   /* the fake hub exits */
  g_spawn_close_pid (hub->pid);
  g_clear_pointer (&hub->endpoint, g_free);
}
