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
 * How a boundary moves (vm_refine_find_edge()): the window's samples are
 * split in two where a step fits them best (the largest difference of means
 * weighted by sqrt(n_left·n_right/n), with the inside side higher: after
 * the split for a start, before it for an end).  The medians of the two
 * sides are the outside and inside levels; the edge counts only when their
 * difference is at least min_contrast and three times the noise (1.4826 ×
 * the median absolute deviation from the side's level).  The boundary is
 * where the curve crosses the midpoint of the levels next to the split,
 * interpolated linearly between the two samples around it (so a hard cut is
 * found to within half a sample interval).  A start is looked for up to
 * the moment's end, an end from its start on (for a short moment the two
 * windows overlap, and each keeps its own direction).  Without an
 * edge the boundary stays.  The result is clamped to [0, duration]; an
 * inverted result leaves the moment as it was, and one shorter than
 * min_length is widened around its middle.
 *
 * Frames: the windows are sampled with vm_sampler_run() (one accurate seek
 * each, rate frames/s on the grid k / rate, at most the video's frame rate),
 * scaled to a short side of max(224, the model's image size) and encoded in
 * batches on a thread of their own while decoding goes on; the cache is
 * written on the calling thread.  A window is taken from the cache when every grid time in it has a
 * cached frame at most one interval later; otherwise only the span of the
 * missing grid times is decoded.  Scores use the fp16 values, cached or not,
 * so a run from the cache gives exactly the same result.
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
  double  min_contrast; /* least inside − outside level for an edge to count (default 0.005) */
  double  min_length; /* seconds; a refined moment is at least this long (default 0.5) */
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
 * Runs synchronously on the calling thread (decoding, encoding and catalog
 * writes); to refine in the background, run it in a worker thread with a
 * VmCatalog of its own opened on the same file (a VmCatalog is used from
 * one thread at a time), and apply the moved boundaries on the main thread.
 * The video must be in the catalog (its duration and frame rate are read
 * there; VM_CATALOG_ERROR_NOT_FOUND otherwise).
 *
 * A moment whose file is gone or cannot be decoded is left as it is and
 * FALSE is returned with the media error (a file that is gone gives
 * VM_MEDIA_ERROR_NOT_FOUND even where the cache holds its frames; for a
 * file that is there the cache is trusted, as the catalog empties it when
 * the file changes); cancelling gives G_IO_ERROR_CANCELLED, and any error
 * leaves the moment as it was.  @report (optional) is filled on success. */
gboolean vm_refine_moment (VmCatalog              *catalog,
                           VmClipModel            *model,
                           gint64                  model_id,
                           const float            *query,
                           VmMoment               *moment,
                           const VmRefineOptions  *options,
                           VmRefineReport         *report,
                           GCancellable           *cancellable,
                           GError                **error);

/* The edge in a dense curve of @n samples (@times in seconds, increasing;
 * @scores), as described above: @rising for a start (outside, then inside),
 * else an end.  Returns FALSE (leaving @out_time) when there is no edge:
 * fewer than 4 samples, a flat curve, or a step below @min_contrast or
 * within the noise.  @out_contrast (optional) gets inside − outside level. */
gboolean vm_refine_find_edge (const double  *times,
                              const float   *scores,
                              guint          n,
                              gboolean       rising,
                              double         min_contrast,
                              double        *out_time,
                              double        *out_contrast);

G_END_DECLS
