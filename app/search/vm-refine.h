/* vm-refine.h — coarse-to-fine boundary refinement of a moment.
 *
 * The index holds sparse frames (keyframes, a few seconds apart), so a
 * moment grounded on them can be off by seconds at each end.  For one moment,
 * decode a short window around each boundary densely (rate frames/s), encode
 * those frames with the vision tower, score them against the query and move
 * each boundary to where the dense curve crosses between the moment's inside
 * and outside levels.  The dense frames' embeddings are cached in the catalog
 * (per video, model and pts), so refining the same moment again decodes and
 * encodes nothing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "catalog/vm-catalog.h"
#include "model/vm-clip-model.h"
#include "search/vm-text-search.h"

G_BEGIN_DECLS

typedef struct {
  double  window;     /* seconds decoded on each side of a boundary (default 2.0) */
  double  rate;       /* frames per second in the window (default 6.0) */
  guint   batch;      /* frames per encoder call (default 16) */
} VmRefineOptions;

void vm_refine_options_init (VmRefineOptions *options);

typedef struct {
  guint   n_decoded;  /* frames decoded and encoded */
  guint   n_cached;   /* frames whose embedding came from the cache */
  double  start_shift;/* seconds the start moved (signed) */
  double  end_shift;
} VmRefineReport;

/* Refines @moment (of video moment->video_id at moment->path) in place for
 * the unit-length @query of vm_clip_model_get_projection_dim() floats.
 * @model_id is the catalog's id of @model (vm_catalog_ensure_model).
 * A moment whose file is gone or cannot be decoded is left as it is and
 * FALSE is returned with the media error; cancelling gives
 * G_IO_ERROR_CANCELLED. */
gboolean vm_refine_moment (VmCatalog              *catalog,
                           VmClipModel            *model,
                           gint64                  model_id,
                           const float            *query,
                           VmMoment               *moment,
                           const VmRefineOptions  *options,
                           VmRefineReport         *report,
                           GCancellable           *cancellable,
                           GError                **error);

G_END_DECLS
