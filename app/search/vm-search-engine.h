/* vm-search-engine.h — moment search over the whole library: the query
 * text becomes a CLIP embedding, the GPU scores it against every frame
 * embedding of the model (VmEmbeddingStore), each candidate video's score
 * curve is grounded into moments (vm_ground_curve), and the visual moments
 * are ranked together with the timed-text hits (vm_text_search) into one
 * list of VmMoment whose signals say what matched.
 *
 * Steps of a search (VmSearchResult's timings name them):
 *  1. encode: the text encoder (loaded once, text tower only) or, for query
 *     by example, the stored embedding of a frame;
 *  2. scan: vm_embedding_store_top_frames() over the library (or the
 *     filtered videos) picks the candidate videos;
 *  3. curves: vm_embedding_store_curves() for the candidates;
 *  4. ground: vm_ground_curve() per video; a moment's z score (in units of
 *     the video's own spread) maps to 0..1 so that it ranks beside text
 *     scores;
 *  5. text: vm_text_search() with the same filters, merged with
 *     vm_moments_merge().
 *
 * Without an installed model (or GPU) the search is text only and the
 * result's notice says how to add a model.  The engine keeps the model and
 * the store between searches; each search brings the store up to date with
 * the catalog it is given, so frames indexed since the last search are
 * found.  One engine may be used from several threads; searches run one at
 * a time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "catalog/vm-catalog.h"
#include "gpu/vm-gpu-device.h"
#include "search/vm-embedding-store.h"
#include "search/vm-grounding.h"
#include "search/vm-text-search.h"

G_BEGIN_DECLS

typedef struct {
  const char              *models_dir;  /* NULL: vm_paths_models_dir () */
  const char              *model;       /* a model name in models_dir, or a model
                                         * directory; NULL: the default model */
  gboolean                 no_visual;   /* text signals only */
  VmGpuDevice             *device;      /* NULL: vm_gpu_device_new () on first use */
  VmEmbeddingStoreOptions  store;
} VmSearchEngineOptions;

void vm_search_engine_options_init (VmSearchEngineOptions *options);

typedef struct {
  const char  *text;               /* what was typed; may be NULL with an example */
  gint64       example_video_id;   /* > 0: query by example, the indexed frame of this
                                    * video nearest example_ns (visual signal only) */
  gint64       example_ns;
  guint        limit;              /* moments returned; default 10 */
  guint        signals;            /* VmSignal bits to search; default all four */
  /* Filters (0: none). */
  gint64       video_id;
  gint64       folder_id;
  gint64       min_duration_ns;
  gint64       max_duration_ns;
  gint64       modified_after_us;  /* the file's modification time, µs since the epoch */
  gint64       modified_before_us;
  VmGroundingOptions grounding;
  /* Added after the first version (set by vm_search_query_init): */
  const char  *folder_path;        /* only videos at any depth under this folder; NULL: any */
  gint64       text_margin_ns;     /* widening of text hits on each side (default 0.5 s) */
} VmSearchQuery;

void vm_search_query_init (VmSearchQuery *query);

typedef struct {
  GPtrArray   *moments;        /* VmMoment*, best first, at most limit */
  GPtrArray   *curves;         /* VmScoreCurve* of the candidate videos (for the timeline) */
  float       *query_embedding;/* dim floats; NULL when there was no visual signal */
  guint        dim;
  guint        signals_used;   /* VmSignal bits actually searched */
  char        *model_name;     /* the visual model; NULL when none */
  gint64       model_id;
  char        *notice;         /* why a signal was left out (no model, no GPU...); NULL */
  guint64      n_frames;       /* frames scanned */
  double       encode_ms, scan_ms, curves_ms, ground_ms, text_ms, total_ms;
  /* Added after the first version: */
  double       sync_ms;        /* bringing the store up to date (part of total_ms) */
  guint        n_candidates;   /* videos whose curves were grounded */
  gint64       example_pts_ns; /* query by example: the pts of the frame used */
} VmSearchResult;

void vm_search_result_free (VmSearchResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmSearchResult, vm_search_result_free)

/* The 0..1 score of a visual moment, from its grounding z score @z (how
 * far above the video's own median it stands, in MADs) and @peak, the
 * highest raw cosine similarity inside it:
 *
 *   contrast = 1 − exp(−max(z, 0) / 3)
 *   level    = 1 / (1 + exp(−(peak − 0.22) / 0.03))
 *   score    = contrast × (0.5 + 0.5 × level)
 *
 * Increasing in both.  Contrast alone would let a video that matches
 * nothing rank high for its best frame; level alone would ignore where in
 * the video the match lies.  CLIP text–image cosines of a match lie around
 * 0.25–0.35 and of unrelated pairs around 0.1–0.2, so a clear match (z ≈ 4,
 * peak 0.3) scores ≈ 0.7, beside a text hit's 0.5–1, and a weak one
 * (z ≈ 1.5, peak 0.18) ≈ 0.16. */
double vm_visual_moment_score (double z,
                               double peak);

/* The curve of @video_id in @result, or NULL. */
const VmScoreCurve *vm_search_result_get_curve (VmSearchResult *result,
                                                gint64          video_id);

typedef struct _VmSearchEngine VmSearchEngine;

/* Never fails for a missing model or GPU (searches become text only);
 * errors are for a model that is there but cannot be read. */
VmSearchEngine *vm_search_engine_new   (const VmSearchEngineOptions  *options,
                                        GError                      **error);
VmSearchEngine *vm_search_engine_ref   (VmSearchEngine               *self);
void            vm_search_engine_unref (VmSearchEngine               *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmSearchEngine, vm_search_engine_unref)

/* The visual model's name, or NULL when searches are text only. */
const char     *vm_search_engine_get_model_name (VmSearchEngine *self);
/* Why searches are text only (no model, no GPU...), or NULL. */
const char     *vm_search_engine_get_notice     (VmSearchEngine *self);

/* Searches the library of @catalog (a connection of the calling thread).
 * Errors: VM_SEARCH_ERROR_EMPTY_QUERY, G_IO_ERROR_CANCELLED, catalog and GPU
 * errors.  A query with nothing searchable for the text signals but a usable
 * visual signal is not an error. */
VmSearchResult *vm_search_engine_search (VmSearchEngine       *self,
                                         VmCatalog            *catalog,
                                         const VmSearchQuery  *query,
                                         GCancellable         *cancellable,
                                         GError              **error);

/* Coarse-to-fine: sharpens the start and end of the best @n visual moments
 * of @result in place from densely decoded frames around each boundary
 * (vm_refine_moment(); their embeddings are cached in the catalog), then
 * re-sorts.  Loads the vision tower on first use.  Meant to run after the
 * coarse result has been shown. */
gboolean        vm_search_engine_refine (VmSearchEngine       *self,
                                         VmCatalog            *catalog,
                                         VmSearchResult       *result,
                                         guint                 n,
                                         GCancellable         *cancellable,
                                         GError              **error);

G_END_DECLS
