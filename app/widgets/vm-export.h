/* vm-export.h — a minimal export of one annotation set to JSON, used by the
 * window until the export layer (`vidmark export`) is merged.  No GTK here.
 *
 * The file holds {"set": NAME, "annotations": [{"video": PATH,
 * "fingerprint": FP, "start": SECONDS, "end": SECONDS, "text": TEXT}, ...]}.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "catalog/vm-catalog.h"

G_BEGIN_DECLS

/* Writes the annotations of @set_id atomically to @path; @out_count (optional)
 * receives their number. */
gboolean vm_export_set_json (VmCatalog   *catalog,
                             gint64       set_id,
                             const char  *set_name,
                             const char  *path,
                             guint       *out_count,
                             GError     **error);

G_END_DECLS
