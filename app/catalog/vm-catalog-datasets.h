/* vm-catalog-datasets.h — datasets in the catalog: the queries of an
 * annotation set with their relevant windows, negatives and per-clip
 * saliency from named raters (schema version 2, see
 * migrations/0002-datasets.sql and docs/DATASETS.md).
 *
 * Every call that changes several rows runs in one transaction (nested in
 * the caller's vm_catalog_begin() when there is one), so that an import
 * can write all its records at once or none.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "catalog/vm-catalog.h"

G_BEGIN_DECLS

typedef struct {
  gint64 start_ns;
  gint64 end_ns;
} VmQueryWindow;

typedef struct {
  guint  clip;        /* 2-second clip index */
  gint64 rater_id;    /* a rater of the query's set */
  int    score;       /* 0..4 */
} VmQueryScore;

typedef struct {
  gint64  id;           /* 0 until stored */
  gint64  set_id;
  gint64  qid;          /* stable within the set; -1 on insert: the next free one */
  char   *text;
  gint64  video_id;
  GArray *windows;      /* VmQueryWindow, by start; empty: a negative */
  GArray *negatives;    /* gint64 ids of videos the query is not in */
  GArray *saliency;     /* VmQueryScore, by clip then rater */
  gint64  created_at;   /* unix µs */
  gint64  modified_at;  /* unix µs */
} VmQuery;

VmQuery    *vm_query_new                  (void);
void        vm_query_free                 (VmQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmQuery, vm_query_free)

typedef struct {
  gint64  id;
  gint64  set_id;
  char   *name;
} VmRater;

void        vm_rater_free                 (VmRater *rater);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmRater, vm_rater_free)

/* Returns the id of the rater named @name in the set, adding it. */
gboolean    vm_catalog_ensure_rater       (VmCatalog   *self,
                                           gint64       set_id,
                                           const char  *name,
                                           gint64      *out_id,
                                           GError     **error);
/* Element type VmRater*, in the order they were added. */
GPtrArray  *vm_catalog_list_raters        (VmCatalog   *self,
                                           gint64       set_id,
                                           GError     **error);

/* Inserts (id 0) or updates @query with its windows, negatives and scores,
 * in one transaction.  Checks: a known set and video, non-empty text,
 * 0 <= start < end for every window and end within the video's duration
 * when known, no window twice, negatives distinct and not the query's own
 * video, scores 0..4 from raters of the set on clips inside the video, and
 * a qid not used by another query or annotation of the set
 * (VM_CATALOG_ERROR_INVALID).  On insert a qid of -1 gets the next free one.
 * Sorts the arrays as the getters return them. */
gboolean    vm_catalog_save_query         (VmCatalog   *self,
                                           VmQuery     *query,
                                           GError     **error);
VmQuery    *vm_catalog_get_query          (VmCatalog   *self,
                                           gint64       id,
                                           GError     **error);
/* NULL without an error when the set has no query with that qid. */
VmQuery    *vm_catalog_find_query         (VmCatalog   *self,
                                           gint64       set_id,
                                           gint64       qid,
                                           GError     **error);
gboolean    vm_catalog_delete_query       (VmCatalog   *self,
                                           gint64       id,
                                           GError     **error);
/* Deletes every query of a set (not its annotations, nor its raters). */
gboolean    vm_catalog_clear_queries      (VmCatalog   *self,
                                           gint64       set_id,
                                           GError     **error);
/* Element type VmQuery*, by qid. */
GPtrArray  *vm_catalog_list_queries       (VmCatalog   *self,
                                           gint64       set_id,
                                           GError     **error);
/* TRUE in @out_used when a query or an annotation of the set has @qid. */
gboolean    vm_catalog_qid_is_used        (VmCatalog   *self,
                                           gint64       set_id,
                                           gint64       qid,
                                           gboolean    *out_used,
                                           GError     **error);
/* The qids of the set's annotations: annotation id → qid, both gint64
 * (keys and values are owned by the table). */
GHashTable *vm_catalog_get_annotation_qids (VmCatalog   *self,
                                            gint64       set_id,
                                            GError     **error);

G_END_DECLS
