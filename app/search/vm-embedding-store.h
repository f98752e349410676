/* vm-embedding-store.h — the frame embeddings of one model, resident on the
 * GPU, for similarity over the whole library.
 *
 * The store mirrors the catalog's fp16 embeddings of one model: every video
 * that has embeddings contributes its rows (one per embedded frame, in pts
 * order), contiguously, to a list of device buffers ("chunks") of at most
 * chunk_rows rows each.  Rows are uploaded once; vm_embedding_store_sync()
 * adds the videos that were indexed since, reloads those whose embeddings
 * changed and forgets those that were deleted, went missing or lost their
 * embeddings.  Freed rows are reused by later videos or compacted away; a
 * scan never sees them.
 *
 * Chunks beyond the resident budget are kept in host memory and streamed
 * through one device staging chunk per scan, so libraries larger than
 * device memory still work (slower).
 *
 * A store is used from one thread at a time (the search engine serialises).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "catalog/vm-catalog.h"
#include "gpu/vm-gpu-device.h"

G_BEGIN_DECLS

typedef struct {
  guint64 chunk_rows;       /* rows per device buffer; 0: as many as the device
                             * allows (max buffer size), at most 2^22 and at most
                             * a quarter of the resident budget.  Tests set it
                             * small to exercise chunking. */
  guint64 resident_budget;  /* device bytes the chunks may take; 0: half of the
                             * device-local heap.  Chunks past it are streamed. */
} VmEmbeddingStoreOptions;

void vm_embedding_store_options_init (VmEmbeddingStoreOptions *options);

typedef struct _VmEmbeddingStore VmEmbeddingStore;

/* A store for the catalog model @model_id whose vectors have @dim fp16 values
 * (any @dim: rows are padded with zeros on the device to what the similarity
 * kernels need).  Errors: VM_GPU_ERROR. */
VmEmbeddingStore *vm_embedding_store_new   (VmGpuDevice                    *device,
                                            gint64                          model_id,
                                            guint                           dim,
                                            const VmEmbeddingStoreOptions  *options,
                                            GError                        **error);
void              vm_embedding_store_free  (VmEmbeddingStore               *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmEmbeddingStore, vm_embedding_store_free)

gint64   vm_embedding_store_get_model_id     (VmEmbeddingStore *self);
guint    vm_embedding_store_get_dim          (VmEmbeddingStore *self);
guint    vm_embedding_store_get_n_videos     (VmEmbeddingStore *self);
guint64  vm_embedding_store_get_n_rows       (VmEmbeddingStore *self);
/* Device bytes held by the chunks (and the staging chunk when streaming). */
guint64  vm_embedding_store_get_device_bytes (VmEmbeddingStore *self);
/* Chunks in use; how many of them are streamed from host memory. */
guint    vm_embedding_store_get_n_chunks     (VmEmbeddingStore *self,
                                              guint            *out_n_streamed);
/* Host bytes held for streamed chunks and the videos' frame tables. */
guint64  vm_embedding_store_get_host_bytes   (VmEmbeddingStore *self);

/* Brings the store up to date with @catalog (see above).  Cheap when nothing
 * changed: one catalog query.  Cancellable between videos; a cancelled sync
 * leaves a consistent store that the next sync completes. */
gboolean vm_embedding_store_sync         (VmEmbeddingStore  *self,
                                          VmCatalog         *catalog,
                                          GCancellable      *cancellable,
                                          GError           **error);

/* Adds or replaces the rows of @video_id directly: @n frames with their
 * timestamps (strictly increasing), shot ids (NULL: all 0) and n × dim fp16
 * values.  For benchmarks and tests; sync does the same from the catalog. */
gboolean vm_embedding_store_set_video    (VmEmbeddingStore  *self,
                                          gint64             video_id,
                                          guint              n,
                                          const gint64      *pts_ns,
                                          const int         *shot_ids,
                                          const guint16     *fp16,
                                          GError           **error);
void     vm_embedding_store_remove_video (VmEmbeddingStore  *self,
                                          gint64             video_id);
gboolean vm_embedding_store_has_video    (VmEmbeddingStore  *self,
                                          gint64             video_id);

typedef struct {
  gint64  video_id;
  guint   frame;        /* index among the video's embedded frames */
  gint64  pts_ns;
  float   score;        /* inner product with the query */
} VmFrameHit;

/* The @k (1…VM_GPU_TOPK_MAX) best frames for @query (dim floats), best
 * first, over the whole store or, when @video_ids is given, over those
 * @n_video_ids videos only (unknown ids are ignored).  One streaming pass
 * over the rows on the GPU; only k hits per chunk come back.
 * Element type VmFrameHit. */
GArray  *vm_embedding_store_top_frames  (VmEmbeddingStore  *self,
                                         const float       *query,
                                         guint              k,
                                         const gint64      *video_ids,
                                         guint              n_video_ids,
                                         GCancellable      *cancellable,
                                         GError           **error);

/* The score of every frame of one video: a curve for temporal grounding. */
typedef struct {
  gint64   video_id;
  guint    n;
  gint64  *pts_ns;
  int     *shot_ids;
  float   *scores;
} VmScoreCurve;

void vm_score_curve_free (VmScoreCurve *curve);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmScoreCurve, vm_score_curve_free)

/* The curves of @n_video_ids videos for @query, computed on the GPU in one
 * submission.  Element type VmScoreCurve*, in the order of @video_ids; ids
 * the store does not hold are skipped. */
GPtrArray *vm_embedding_store_curves    (VmEmbeddingStore  *self,
                                         const float       *query,
                                         const gint64      *video_ids,
                                         guint              n_video_ids,
                                         GCancellable      *cancellable,
                                         GError           **error);

/* Copies the embedding (dim floats) of the frame of @video_id nearest to
 * @pts_ns into @out, and its pts into @out_pts (optional): query by example.
 * FALSE with VM_SEARCH_ERROR_FAILED when the store does not hold the video. */
gboolean   vm_embedding_store_get_frame (VmEmbeddingStore  *self,
                                         gint64             video_id,
                                         gint64             pts_ns,
                                         float             *out,
                                         gint64            *out_pts,
                                         GError           **error);

G_END_DECLS
