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

/* The text-only search: the search layer's text search (moments with
 * margins, merged across sources) plus file names. */
VmSearchFunc vm_search_get_default  (void);

/* Turns what a person typed into a safe FTS5 query: each word quoted, the
 * last one as a prefix.  NULL when there is no word. */
char      *vm_search_make_fts_query (const char    *text);

/* The hybrid search (visual + timed text + file names) of the search
 * engine, which keeps the model and the library's embeddings on the GPU
 * between searches.  Nothing is loaded until the first search, which runs
 * on a worker thread.  Without a model or a GPU it searches text and names
 * only, and the notice says why.  Sessions are used from the worker
 * threads of vm_search_async(), which keeps a reference while it runs. */
typedef struct _VmSearchSession VmSearchSession;

/* @model: an installed model's name (NULL or "": the default); @gpu_device:
 * a device index or name (NULL or "": the best device). */
VmSearchSession *vm_search_session_new          (const char       *model,
                                                 const char       *gpu_device);
VmSearchSession *vm_search_session_ref          (VmSearchSession  *self);
void             vm_search_session_unref        (VmSearchSession  *self);
/* A VmSearchFunc; @user_data is the session. */
GPtrArray       *vm_search_session_search       (VmCatalog        *catalog,
                                                 const char       *query,
                                                 guint             limit,
                                                 GCancellable     *cancellable,
                                                 gpointer          user_data,
                                                 GError          **error);
/* Why the last search left a signal out (no model, no GPU, a stale index),
 * or NULL. */
char            *vm_search_session_dup_notice   (VmSearchSession  *self);

/* A moment whose boundaries refinement moved. */
typedef struct {
  gint64 video_id;
  gint64 old_start_ns;
  gint64 old_end_ns;
  gint64 start_ns;
  gint64 end_ns;
} VmRefinedRange;

/* Sharpens the best @n visual moments of the last search for @query with
 * densely decoded frames, on a worker thread.  The result is a GArray of
 * VmRefinedRange (empty when nothing moved or there was nothing visual). */
void             vm_search_session_refine_async  (VmSearchSession     *self,
                                                  const char          *catalog_path,
                                                  const char          *query,
                                                  guint                n,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GArray          *vm_search_session_refine_finish (GAsyncResult        *result,
                                                  GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmSearchSession, vm_search_session_unref)

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
