/* vm-library.h — the library sidebar's model: folders, each followed by its
 * videos with their index status, loaded off the main thread.  No GTK here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "catalog/vm-catalog.h"

G_BEGIN_DECLS

typedef enum {
  VM_LIBRARY_ITEM_FOLDER,
  VM_LIBRARY_ITEM_VIDEO,
} VmLibraryItemKind;

#define VM_TYPE_LIBRARY_ITEM (vm_library_item_get_type ())
G_DECLARE_FINAL_TYPE (VmLibraryItem, vm_library_item, VM, LIBRARY_ITEM, GObject)

VmLibraryItemKind  vm_library_item_get_kind        (VmLibraryItem *self);
const char        *vm_library_item_get_title       (VmLibraryItem *self);
const char        *vm_library_item_get_subtitle    (VmLibraryItem *self);
const char        *vm_library_item_get_path        (VmLibraryItem *self);
/* TRUE when both show the same thing (kind, ids, texts, status). */
gboolean           vm_library_item_equal           (VmLibraryItem *a,
                                                    VmLibraryItem *b);
const char        *vm_library_item_get_fingerprint (VmLibraryItem *self);
gint64             vm_library_item_get_video_id    (VmLibraryItem *self);
gint64             vm_library_item_get_duration    (VmLibraryItem *self);
VmVideoStatus      vm_library_item_get_status      (VmLibraryItem *self);
/* A symbolic icon name for the index status. */
const char        *vm_library_item_get_status_icon (VmLibraryItem *self);

/* Element type VmLibraryItem*: each folder, then its videos; videos in no
 * folder come last under "Other Videos". */
GPtrArray *vm_library_load        (VmCatalog            *catalog,
                                   GError              **error);
void       vm_library_load_async  (const char           *catalog_path,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
GPtrArray *vm_library_load_finish (GAsyncResult         *result,
                                   GError              **error);

G_END_DECLS
