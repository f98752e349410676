/* vm-cli-run.c — a long command's work on a thread, with a progress line on
 * the terminal and Ctrl-C.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli/vm-cli-run.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <stdio.h>

#include "core/vm-util.h"

typedef struct {
  VmCliRunFunc  func;
  gpointer      data;
  GCancellable *cancellable;
  GMainLoop    *loop;
  gboolean      ok;
  GError       *error;
} ThreadRun;

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  ThreadRun *thread_run = task_data;
  GError *error = NULL;

  if (thread_run->func (thread_run->data, thread_run->cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  ThreadRun *thread_run = user_data;

  thread_run->ok = g_task_propagate_boolean (G_TASK (result), &thread_run->error);
  g_main_loop_quit (thread_run->loop);
}

static gboolean
run_signal_cb (gpointer user_data)
{
  VmCliRun *run = user_data;

  if (!g_cancellable_is_cancelled (run->cancellable))
    {
      run->interrupted = TRUE;
      if (run->stop_message != NULL)
        {
          vm_cli_run_clear_progress (run);
          fprintf (stderr, "%s\n", run->stop_message);
        }
      g_cancellable_cancel (run->cancellable);
    }

  return G_SOURCE_CONTINUE;
}

gboolean
vm_cli_run_in_thread (VmCliRun      *run,
                      gpointer       source_tag,
                      VmCliRunFunc   func,
                      gpointer       data,
                      GError       **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GTask) task = NULL;
  ThreadRun thread_run = { func, data, run->cancellable, loop, FALSE, NULL };
  guint sigint_id, sigterm_id;

  g_return_val_if_fail (G_IS_CANCELLABLE (run->cancellable), FALSE);

  sigint_id = g_unix_signal_add (SIGINT, run_signal_cb, run);
  sigterm_id = g_unix_signal_add (SIGTERM, run_signal_cb, run);

  /* The task's own cancellable is what makes a cancel override the result. */
  task = g_task_new (NULL, run->cancel_overrides ? run->cancellable : NULL, run_done_cb, &thread_run);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, &thread_run, NULL);
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, run_thread);
  g_main_loop_run (loop);

  /* Flush events still queued. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  vm_cli_run_clear_progress (run);

  if (!thread_run.ok)
    g_propagate_error (error, thread_run.error);

  return thread_run.ok;
}

void
vm_cli_run_show_progress (VmCliRun   *run,
                          double      percent,
                          const char *what,
                          double      eta_seconds)
{
  g_autofree char *eta = eta_seconds >= 0 ? vm_format_duration (eta_seconds) : g_strdup ("…");

  fprintf (stderr, "\r\033[K[%3.0f%%] %s %s %s", percent, what, _("ETA"), eta);
  fflush (stderr);
  run->progress_shown = TRUE;
}

void
vm_cli_run_clear_progress (VmCliRun *run)
{
  if (run->progress_shown)
    {
      fprintf (stderr, "\r\033[K");
      fflush (stderr);
      run->progress_shown = FALSE;
    }
}

int
vm_cli_run_report_error (VmCliRun     *run,
                         const GError *error,
                         const char   *interrupted_message)
{
  if (interrupted_message != NULL && run->interrupted &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      fprintf (stderr, "%s\n", interrupted_message);
      return VM_EXIT_INTERRUPTED;
    }

  vm_cli_error ("%s", error->message);
  return VM_EXIT_FAILURE;
}
