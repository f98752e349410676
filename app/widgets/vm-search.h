/* vm-search.h — runs a search off the main thread and returns VmMoments.
 *
 * The search itself is a VmSearchFunc so that the window can swap the text
 * search used today for the hybrid text + visual search later.  It runs on a
 * worker thread with a catalog connection of its own.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "catalog/vm-catalog.h"
#include "widgets/vm-moment-item.h"

G_BEGIN_DECLS

/* Returns a GPtrArray of VmMomentItem*, best first, at most @limit. */
typedef GPtrArray *(*VmSearchFunc) (VmCatalog     *catalog,
                                    const char    *query,
                                    guint          limit,
                                    GCancellable  *cancellable,
                                    gpointer       user_data,
                                    GError       **error);

/* The search used until the search layer lands: full-text search over the
 * timed text (subtitles, on-screen text, speech) plus video file names. */
GPtrArray *vm_search_text_and_names (VmCatalog     *catalog,
                                     const char    *query,
                                     guint          limit,
                                     GCancellable  *cancellable,
                                     gpointer       user_data,
                                     GError       **error);

/* The search the window uses: the search layer's text search (moments with
 * margins, merged across sources) plus file names when that layer is built,
 * vm_search_text_and_names() otherwise. */
VmSearchFunc vm_search_get_default  (void);

/* Turns what a person typed into a safe FTS5 query: each word quoted, the
 * last one as a prefix.  NULL when there is no word. */
char      *vm_search_make_fts_query (const char    *text);

/* Opens @catalog_path on a worker thread and runs @func there. */
void       vm_search_async          (const char          *catalog_path,
                                     const char          *query,
                                     guint                limit,
                                     VmSearchFunc         func,
                                     gpointer             func_data,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
/* A GPtrArray of VmMomentItem*; G_IO_ERROR_CANCELLED when cancelled. */
GPtrArray *vm_search_finish         (GAsyncResult        *result,
                                     GError             **error);

/* The cached thumbnail nearest to @pts_ns for a video with @fingerprint in
 * @thumbnail_root (default: $XDG_CACHE_HOME/vidmark/thumbnails), or NULL. */
char      *vm_thumbnail_find        (const char          *thumbnail_root,
                                     const char          *fingerprint,
                                     gint64               pts_ns);

G_END_DECLS
