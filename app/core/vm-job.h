/* vm-job.h — a long-running piece of work with progress and cancellation.
 *
 * Setters may be called from any thread.  They take a lock and coalesce
 * property notifications into one idle callback on the main context the job
 * was created on, so `notify` is only ever emitted on that thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VM_TYPE_JOB (vm_job_get_type ())
G_DECLARE_FINAL_TYPE (VmJob, vm_job, VM, JOB, GObject)

VmJob        *vm_job_new             (const char *title);

const char   *vm_job_get_title       (VmJob *self);
/* Thread-safe getters return copies. */
char         *vm_job_dup_message     (VmJob *self);
double        vm_job_get_fraction    (VmJob *self);
/* Seconds left, estimated from the progress so far; < 0 when unknown. */
double        vm_job_get_eta         (VmJob *self);
GCancellable *vm_job_get_cancellable (VmJob *self);
gboolean      vm_job_is_cancelled    (VmJob *self);

void          vm_job_set_message     (VmJob      *self,
                                      const char *message);
void          vm_job_set_fraction    (VmJob      *self,
                                      double      fraction);
void          vm_job_cancel          (VmJob      *self);

G_END_DECLS
