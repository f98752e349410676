/* vm-cli-run.h — a long command's work on a thread, with a progress line on
 * the terminal and Ctrl-C.
 *
 * The work runs on a worker thread while the main loop dispatches what it
 * queues (progress, events).  The first Ctrl-C or SIGTERM prints
 * @stop_message (when set) and cancels @cancellable, so that the work stops
 * at its next check and leaves everything consistent; later ones change
 * nothing.  The command then reports the interruption itself.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "cli/vm-cli.h"

G_BEGIN_DECLS

typedef struct {
  VmCli        *cli;
  GCancellable *cancellable;       /* cancelled by the first Ctrl-C or SIGTERM */
  const char   *stop_message;      /* printed on stderr then, or NULL */
  gboolean      cancel_overrides;  /* once @cancellable is cancelled, the run fails with
                                    * G_IO_ERROR_CANCELLED whatever the work returns */
  gboolean      progress_shown;    /* a progress line stands on the terminal */
  gboolean      interrupted;       /* a signal cancelled the run */
} VmCliRun;

/* Called on the worker thread. */
typedef gboolean (*VmCliRunFunc) (gpointer       data,
                                  GCancellable  *cancellable,
                                  GError       **error);

/* Runs @func (@data) on a thread until it returns; returns what it returned.
 * Events the work queued on the main context are dispatched before this
 * returns, and the progress line is cleared. */
gboolean  vm_cli_run_in_thread       (VmCliRun      *run,
                                      gpointer       source_tag,
                                      VmCliRunFunc   func,
                                      gpointer       data,
                                      GError       **error);

/* Replaces the progress line on stderr with
 * “[ 42%] @what ETA 1:23” (the ETA “…” when @eta_seconds < 0). */
void      vm_cli_run_show_progress   (VmCliRun      *run,
                                      double         percent,
                                      const char    *what,
                                      double         eta_seconds);
/* Erases the progress line, if one is shown, before other output. */
void      vm_cli_run_clear_progress  (VmCliRun      *run);

/* Reports a failed run: @interrupted_message when the user stopped it
 * (@error is G_IO_ERROR_CANCELLED after a signal) and @interrupted_message
 * is set, else “vidmark: @error”.  Returns the exit code:
 * VM_EXIT_INTERRUPTED or VM_EXIT_FAILURE. */
int       vm_cli_run_report_error    (VmCliRun      *run,
                                      const GError  *error,
                                      const char    *interrupted_message);

G_END_DECLS
