/* vm-moment.h — one search result: a time range of a video with a score and
 * the signals that matched.  A plain GObject (no GTK), so that any search
 * layer (text, visual, hybrid) can produce it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  VM_MOMENT_SIGNAL_NONE     = 0,
  VM_MOMENT_SIGNAL_VISUAL   = 1 << 0,
  VM_MOMENT_SIGNAL_SUBTITLE = 1 << 1,
  VM_MOMENT_SIGNAL_OCR      = 1 << 2,
  VM_MOMENT_SIGNAL_SPEECH   = 1 << 3,
  VM_MOMENT_SIGNAL_NAME     = 1 << 4,   /* the file name matched */
} VmMomentSignals;

#define VM_TYPE_MOMENT (vm_moment_get_type ())
G_DECLARE_FINAL_TYPE (VmMoment, vm_moment, VM, MOMENT, GObject)

VmMoment        *vm_moment_new             (gint64           video_id,
                                            const char      *path,
                                            const char      *fingerprint,
                                            gint64           start_ns,
                                            gint64           end_ns,
                                            double           score,
                                            VmMomentSignals  signals,
                                            const char      *snippet);

gint64           vm_moment_get_video_id    (VmMoment *self);
const char      *vm_moment_get_path        (VmMoment *self);
/* The file's base name, for display. */
const char      *vm_moment_get_title       (VmMoment *self);
const char      *vm_moment_get_fingerprint (VmMoment *self);
gint64           vm_moment_get_start       (VmMoment *self);
gint64           vm_moment_get_end         (VmMoment *self);
double           vm_moment_get_score       (VmMoment *self);
VmMomentSignals  vm_moment_get_signals     (VmMoment *self);
const char      *vm_moment_get_snippet     (VmMoment *self);
/* Adds signals and keeps the best score (merging two hits of one moment). */
void             vm_moment_merge           (VmMoment *self,
                                            VmMoment *other);

/* "subtitle · on-screen text", translated. */
char            *vm_moment_signals_to_string (VmMomentSignals signals);
/* "0:00:01.500 – 0:00:04.000" */
char            *vm_moment_format_range      (VmMoment *self);

G_END_DECLS
