/* vm-indexer.h — the indexing job: scan the library folders, reconcile them
 * with the catalog (new, changed, moved, missing files), probe, sample frames
 * and store them.  Resumable and never aborted by a bad file: per-file errors
 * are stored in the catalog and reported.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "catalog/vm-catalog.h"
#include "core/vm-job.h"
#include "index/vm-text-indexer.h"
#include "media/vm-media.h"

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
  guint             n_frames;     /* INDEXED */
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
  guint64 n_frames;
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

G_END_DECLS
