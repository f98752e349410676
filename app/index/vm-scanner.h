/* vm-scanner.h — finds video files under a folder by content type.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char   *path;          /* absolute */
  char   *content_type;
  gint64  size;
  gint64  mtime_us;
} VmScanEntry;

void        vm_scan_entry_free        (VmScanEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmScanEntry, vm_scan_entry_free)

/* TRUE for video/ types and container types that usually carry video
 * (Matroska, MP4, Ogg, MXF, ...). */
gboolean    vm_scanner_is_video_type  (const char *content_type);

/* Walks @folder recursively (hidden entries skipped, symbolic links to
 * folders not followed) and returns the files whose content type — sniffed
 * from their content where the name is not conclusive — is a video type.
 * Element type VmScanEntry*, sorted by path.  Unreadable sub-folders are
 * reported through @on_error (optional) and skipped. */
GPtrArray  *vm_scanner_discover       (const char    *folder,
                                       void         (*on_error) (const char   *path,
                                                                 const GError *error,
                                                                 gpointer      data),
                                       gpointer       data,
                                       GCancellable  *cancellable,
                                       GError       **error);

G_END_DECLS
