/* vm-index-runner.h — runs `vidmark index --progress-json` in a worker
 * process, so that a crashing decoder cannot take the window down, and turns
 * its output into properties on the main thread.  No GTK here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VM_TYPE_INDEX_RUNNER (vm_index_runner_get_type ())
G_DECLARE_FINAL_TYPE (VmIndexRunner, vm_index_runner, VM, INDEX_RUNNER, GObject)

/* @cli_path: the `vidmark` executable (NULL: $VIDMARK_CLI, else this
 * program when it is named `vidmark`, else `vidmark` from $PATH). */
VmIndexRunner *vm_index_runner_new          (const char     *cli_path,
                                             const char     *catalog_path);
/* Starts the worker; FALSE when it cannot start or one is running.
 * @extra_args (optional) are added after `index`. */
gboolean       vm_index_runner_start        (VmIndexRunner  *self,
                                             const char * const *extra_args,
                                             GError        **error);
/* Asks the worker to stop cleanly (SIGINT); ::finished follows. */
void           vm_index_runner_cancel       (VmIndexRunner  *self);
gboolean       vm_index_runner_get_running  (VmIndexRunner  *self);
double         vm_index_runner_get_fraction (VmIndexRunner  *self);
/* Seconds left, < 0 when unknown. */
double         vm_index_runner_get_eta      (VmIndexRunner  *self);
const char    *vm_index_runner_get_message  (VmIndexRunner  *self);
guint          vm_index_runner_get_n_failed (VmIndexRunner  *self);

G_END_DECLS
