/* vm-media-private.h — helpers shared by the media layer's files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

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

G_END_DECLS
