/* vm-indexer.h — the indexing job: scan the library folders, reconcile them
 * with the catalog (new, changed, moved, missing files), probe, sample frames,
 * embed them with a CLIP model and store them.  Resumable and never aborted
 * by a bad file: per-file errors are stored in the catalog and reported.
 *
 * Sampling is shot-aware: a colour-histogram distance between consecutive
 * sampled frames above shot_threshold starts a new shot.  Within a shot, a
 * frame that is a near-duplicate of the last kept frame (the mean absolute
 * difference of their 16×16 grey thumbnails below dedupe_threshold) is
 * dropped, except that the first frame of each shot is kept, the last
 * sampled frame of a shot is kept when frames of the shot were dropped (so
 * that a cut falls between the right samples), and kept frames are never
 * more than keep_every seconds apart where sampled frames are closer than
 * that.  Dropped frames are not stored at all.
 *
 * With a model, kept frames are copied into batches of batch_size and
 * encoded on a thread of their own while decoding goes on; at most
 * max_batches_queued batches wait for or are in the encoder, and the
 * sampler blocks while that many are, so memory stays bounded whatever the
 * length of the video.  The embeddings are stored as fp16 in the same
 * transaction as the frames.  A video already indexed whose embeddings for
 * the model are missing or incomplete (indexed without a model, with
 * another one, or before the model's weights changed) is sampled again.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "catalog/vm-catalog.h"
#include "core/vm-job.h"
#include "index/vm-text-indexer.h"
#include "media/vm-media.h"
#include "model/vm-clip-model.h"

G_BEGIN_DECLS

typedef struct {
  VmSamplerOptions  sampler;
  guint             probe_timeout_ms;   /* default 15000 */
  gboolean          force;              /* re-index unchanged files too */
  gboolean          retry_failed;       /* retry files that failed before */
  gboolean          thumbnails;         /* default TRUE */
  const char       *thumbnail_root;     /* default $XDG_CACHE_HOME/vidmark/thumbnails */
  double            shot_threshold;     /* histogram L1 distance in 0..2; default 0.6 */
  VmTextIndexOptions text;              /* timed text after the frames; text.enabled default TRUE */
  double            dedupe_threshold;   /* grey-thumbnail mean absolute difference in 0..1; default 0.02 */
  double            keep_every;         /* seconds; default 8; 0 keeps every sampled frame */
  VmClipModel      *model;              /* NULL: no visual embeddings (text signals only) */
  guint             batch_size;         /* frames per encoder batch; default 32 */
  guint             max_batches_queued; /* default 2; 0 encodes on the sampling thread (no overlap) */
  guint             encoder_delay_ms;   /* for tests: the encoder sleeps this long per batch */
} VmIndexOptions;

void vm_index_options_init (VmIndexOptions *options);

typedef enum {
  VM_INDEX_EVENT_FOLDER_ERROR,  /* a folder could not be read; its files are left as they are */
  VM_INDEX_EVENT_NEW,           /* a file was added to the catalog */
  VM_INDEX_EVENT_CHANGED,       /* a known file changed and will be indexed again */
  VM_INDEX_EVENT_MOVED,         /* a known file was found at a new path (same fingerprint) */
  VM_INDEX_EVENT_MISSING,       /* a known file is gone; its annotations are kept */
  VM_INDEX_EVENT_STARTED,       /* indexing of a file begins */
  VM_INDEX_EVENT_INDEXED,       /* indexing of a file succeeded */
  VM_INDEX_EVENT_FAILED,        /* indexing of a file failed; see error */
} VmIndexEventType;

typedef struct {
  VmIndexEventType  type;
  const char       *path;
  const char       *old_path;     /* MOVED */
  gint64            video_id;
  guint             n_frames;     /* INDEXED: frames stored (kept) */
  guint             n_sampled;    /* INDEXED: frames sampled; n_sampled - n_frames were dropped */
  guint             n_embedded;   /* INDEXED: frames embedded (n_frames, or 0 without a model) */
  const GError     *error;        /* FAILED, FOLDER_ERROR */
  guint             index;        /* STARTED/INDEXED/FAILED: position in the work list */
  guint             total;        /* size of the work list */
} VmIndexEvent;

/* Called on the indexing thread. */
typedef void (*VmIndexEventFunc) (const VmIndexEvent *event,
                                  gpointer            user_data);

typedef struct {
  guint   n_found;        /* video files discovered */
  guint   n_new;
  guint   n_changed;
  guint   n_moved;
  guint   n_missing;
  guint   n_unchanged;
  guint   n_indexed;
  guint   n_failed;
  guint64 n_frames;       /* frames stored (kept) */
  guint64 n_sampled;      /* frames sampled */
  guint64 n_dropped;      /* near-duplicates dropped: n_sampled - n_frames */
  guint64 n_embedded;     /* frames embedded with the model */
  guint   n_reembed;      /* unchanged, indexed videos sampled again for missing embeddings */
  gboolean model_replaced;  /* the model's weights changed: its old embeddings were dropped */
  guint   max_batches_queued;  /* most batches ever queued for the encoder at once */
  gboolean cancelled;
} VmIndexReport;

/* Runs the whole job on the calling thread.  @job (optional) receives
 * progress and carries the cancellable; cancelling leaves the catalog
 * consistent (each file is stored in one transaction) and a later run
 * resumes with the files not yet indexed.  Returns FALSE only when the job
 * could not run at all (catalog error) or was cancelled
 * (G_IO_ERROR_CANCELLED); per-file failures are counted in @report. */
gboolean vm_indexer_run (VmCatalog             *catalog,
                         const VmIndexOptions  *options,
                         VmJob                 *job,
                         VmIndexEventFunc       func,
                         gpointer               user_data,
                         VmIndexReport         *report,
                         GError               **error);

/* Histogram distance used for shot detection (exposed for tests): 4×4×4 RGB
 * bins, L1 distance of the normalised histograms, in 0..2. */
void   vm_frame_histogram       (const VmFrame *frame,
                                 float          hist[64]);
double vm_frame_histogram_distance (const float a[64],
                                    const float b[64]);

/* Near-duplicate measure (exposed for tests): the frame's 16×16 grey
 * thumbnail (box averages of luma), and the mean absolute difference of two
 * thumbnails in 0..1. */
void   vm_frame_grey_thumbnail  (const VmFrame *frame,
                                 guint8         grey[256]);
double vm_frame_grey_distance   (const guint8   a[256],
                                 const guint8   b[256]);

G_END_DECLS
