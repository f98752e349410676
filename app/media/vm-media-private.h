/* vm-media-private.h — helpers shared by the media layer's files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gst/gst.h>

#include "media/vm-media.h"

G_BEGIN_DECLS

gboolean _vm_media_check_file     (const char   *path,
                                   gboolean      allow_special,
                                   gboolean      check_structure,
                                   GError      **error);
GError  *_vm_media_error_from_gst (const char   *path,
                                   const GError *gst_error,
                                   const char   *debug);

/* After a discoverer timeout: the file's error from a short push-mode look,
 * or NULL when it looks fine or still gets nowhere in @budget_ms. */
GError  *_vm_media_confirm_timeout (const char  *path,
                                    guint        budget_ms);

/* Runs a PLAYING pipeline to EOS on the calling thread: polls its bus, maps
 * an error message to a VM_MEDIA_ERROR (@corrupt_format: "%s: … %s" with the
 * file and GStreamer's message), stops on @cancellable, and ends a run whose
 * @last_progress (monotonic µs, read under @lock) stays still for
 * @watchdog_ms (@stalled_format: "%s: …" with the file).  An error the
 * streaming thread left in @pending (under @lock; optional) wins over the
 * bus's.  The pipeline's state is left as it is. */
gboolean _vm_media_run_pipeline (GstElement    *pipeline,
                                 const char    *display,
                                 GMutex        *lock,
                                 const gint64  *last_progress,
                                 GError       **pending,
                                 guint          watchdog_ms,
                                 const char    *corrupt_format,
                                 const char    *stalled_format,
                                 GCancellable  *cancellable,
                                 GError       **error);

G_END_DECLS
