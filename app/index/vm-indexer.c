/* vm-indexer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "index/vm-indexer.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>

#include "core/vm-core.h"
#include "core/vm-util.h"
#include "index/vm-indexer-private.h"
#include "index/vm-scanner.h"
#include "model/vm-model-error.h"

void
vm_index_options_init (VmIndexOptions *options)
{
  memset (options, 0, sizeof *options);
  vm_sampler_options_init (&options->sampler);
  options->probe_timeout_ms = 15000;
  options->thumbnails = TRUE;
  options->shot_threshold = 0.6;
  vm_text_index_options_init (&options->text);
  options->dedupe_threshold = 0.02;
  options->keep_every = 8.0;
  options->batch_size = 32;
  options->max_batches_queued = 2;
}

typedef struct {
  VmCatalog             *catalog;
  const VmIndexOptions  *options;
  VmJob                 *job;
  GCancellable          *cancellable;
  VmIndexEventFunc       func;
  gpointer               user_data;
  VmIndexReport         *report;
  gint64                 model_id;   /* 0 without a model */
} Indexer;

static void
emit_event (Indexer            *self,
            const VmIndexEvent *event)
{
  if (self->func != NULL)
    self->func (event, self->user_data);
}

static void
emit (Indexer          *self,
      VmIndexEventType  type,
      const char       *path,
      const char       *old_path,
      gint64            video_id,
      guint             n_frames,
      const GError     *error,
      guint             index,
      guint             total)
{
  VmIndexEvent event = {
    .type = type, .path = path, .old_path = old_path, .video_id = video_id,
    .n_frames = n_frames, .error = error, .index = index, .total = total,
  };

  emit_event (self, &event);
}

static void
folder_error_cb (const char   *path,
                 const GError *error,
                 gpointer      data)
{
  Indexer *self = data;

  emit (self, VM_INDEX_EVENT_FOLDER_ERROR, path, NULL, 0, 0, error, 0, 0);
}

/* ---- Shot detection ----------------------------------------------------- */

void
vm_frame_histogram (const VmFrame *frame,
                    float          hist[64])
{
  guint step = MAX (1, MIN (frame->width, frame->height) / 64);
  guint count = 0;

  memset (hist, 0, 64 * sizeof (float));

  for (guint y = 0; y < frame->height; y += step)
    {
      const guint8 *row = frame->data + (gsize) y * frame->stride;

      for (guint x = 0; x < frame->width; x += step)
        {
          const guint8 *p = row + 3 * x;

          hist[(p[0] >> 6) * 16 + (p[1] >> 6) * 4 + (p[2] >> 6)] += 1;
          count++;
        }
    }

  if (count > 0)
    for (guint i = 0; i < 64; i++)
      hist[i] /= count;
}

double
vm_frame_histogram_distance (const float a[64],
                             const float b[64])
{
  double d = 0;

  for (guint i = 0; i < 64; i++)
    d += fabs ((double) a[i] - b[i]);

  return d;
}

/* ---- Near-duplicates ---------------------------------------------------- */

void
vm_frame_grey_thumbnail (const VmFrame *frame,
                         guint8         grey[256])
{
  /* Large frames (native size) are read on a grid of about 256 points a
   * side; frames of the usual 224 pixels in full. */
  guint step = MAX (1, MIN (frame->width, frame->height) / 256);

  for (guint cy = 0; cy < 16; cy++)
    {
      guint y0 = cy * frame->height / 16;
      guint y1 = MIN (frame->height, MAX (y0 + 1, (cy + 1) * frame->height / 16));

      for (guint cx = 0; cx < 16; cx++)
        {
          guint x0 = cx * frame->width / 16;
          guint x1 = MIN (frame->width, MAX (x0 + 1, (cx + 1) * frame->width / 16));
          guint64 sum = 0, count = 0;

          for (guint y = y0; y < y1; y += step)
            {
              const guint8 *p = frame->data + (gsize) y * frame->stride;

              for (guint x = x0; x < x1; x += step)
                {
                  sum += 77u * p[3 * x] + 150u * p[3 * x + 1] + 29u * p[3 * x + 2];
                  count++;
                }
            }
          grey[cy * 16 + cx] = count > 0 ? (guint8) MIN (255, (sum / count + 128) >> 8) : 0;
        }
    }
}

double
vm_frame_grey_distance (const guint8 a[256],
                        const guint8 b[256])
{
  guint sum = 0;

  for (guint i = 0; i < 256; i++)
    sum += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];

  return sum / (256.0 * 255.0);
}

/* ---- Encoding on a thread of its own ------------------------------------ */

static guint encoder_failure;   /* test hook: fail this batch of each file */

void
_vm_indexer_set_encoder_failure (guint n)
{
  g_atomic_int_set (&encoder_failure, n);
}

typedef struct {
  guint         index;    /* of the batch in its file */
  guint         first;    /* position of its first frame among the kept frames */
  guint         n;
  guint8      **pixels;   /* batch_size packed RGB copies */
  VmClipImage  *images;
} EmbedBatch;

static void
embed_batch_free (EmbedBatch *batch)
{
  if (batch == NULL)
    return;
  for (guint i = 0; i < batch->n; i++)
    g_free (batch->pixels[i]);
  g_free (batch->pixels);
  g_free (batch->images);
  g_free (batch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EmbedBatch, embed_batch_free)

typedef struct {
  VmClipModel  *model;
  guint         dim;
  guint         batch_size;
  guint         max_queued;
  guint         delay_ms;
  GCancellable *cancellable;

  GMutex        lock;
  GCond         cond;
  GQueue        queue;       /* EmbedBatch*, oldest first */
  guint         in_flight;   /* queued or being encoded */
  guint         peak;        /* most in_flight ever */
  gboolean      closing;     /* no more batches will come */
  gboolean      abort;       /* drop what is queued */
  GError       *error;       /* the encoder's first error */
  GThread      *thread;

  EmbedBatch   *filling;     /* the sampling thread's batch */
  guint         n_added;
  guint         n_batches;   /* handed to the encoder */
  /* Written by the encoding side only (the thread, or the sampling thread
   * without overlap), read after the join. */
  GArray       *out;         /* guint16: n_encoded × dim fp16 values */
  float        *scratch;     /* batch_size × dim */
} Embedder;

static gboolean
embedder_encode (Embedder    *self,
                 EmbedBatch  *batch,
                 GError     **error)
{
  gsize base = self->out->len;

  if (self->delay_ms > 0)
    g_usleep (self->delay_ms * 1000);

  if ((gsize) batch->first * self->dim != base)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Internal error: embedding batches out of order");
      return FALSE;
    }
  if (batch->index + 1 == (guint) g_atomic_int_get (&encoder_failure))
    {
      g_set_error_literal (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY, "Out of GPU memory (test)");
      return FALSE;
    }
  if (!vm_clip_model_encode_images (self->model, batch->images, batch->n, self->scratch, error))
    return FALSE;

  g_array_set_size (self->out, base + (gsize) batch->n * self->dim);
  for (gsize i = 0; i < (gsize) batch->n * self->dim; i++)
    g_array_index (self->out, guint16, base + i) = vm_float_to_half (self->scratch[i]);

  return TRUE;
}

static gpointer
embedder_thread (gpointer data)
{
  Embedder *self = data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      EmbedBatch *batch;
      gboolean skip, ok;

      g_mutex_lock (&self->lock);
      while (g_queue_is_empty (&self->queue) && !self->closing)
        g_cond_wait (&self->cond, &self->lock);
      batch = g_queue_pop_head (&self->queue);
      skip = self->abort || self->error != NULL;
      g_mutex_unlock (&self->lock);

      if (batch == NULL)
        break;

      if (skip)
        ok = TRUE;
      else if (g_cancellable_set_error_if_cancelled (self->cancellable, &error))
        ok = FALSE;
      else
        ok = embedder_encode (self, batch, &error);
      embed_batch_free (batch);

      g_mutex_lock (&self->lock);
      self->in_flight--;
      if (!ok && self->error == NULL)
        self->error = g_steal_pointer (&error);
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
    }

  return NULL;
}

static Embedder *
embedder_new (const VmIndexOptions *options,
              GCancellable         *cancellable)
{
  Embedder *self = g_new0 (Embedder, 1);

  self->model = vm_clip_model_ref (options->model);
  self->dim = vm_clip_model_get_projection_dim (options->model);
  self->batch_size = MAX (1, options->batch_size);
  self->max_queued = options->max_batches_queued;
  self->delay_ms = options->encoder_delay_ms;
  self->cancellable = cancellable;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->queue);
  self->out = g_array_new (FALSE, FALSE, sizeof (guint16));
  self->scratch = g_new (float, (gsize) self->batch_size * self->dim);
  if (self->max_queued > 0)
    self->thread = g_thread_new ("vm-embed", embedder_thread, self);

  return self;
}

/* Stops the thread (dropping what is queued unless @drain) and joins it. */
static void
embedder_stop (Embedder *self,
               gboolean  drain)
{
  if (self->thread == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->closing = TRUE;
  if (!drain)
    self->abort = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_thread_join (g_steal_pointer (&self->thread));
}

static void
embedder_free (Embedder *self)
{
  if (self == NULL)
    return;
  embedder_stop (self, FALSE);
  embed_batch_free (self->filling);
  g_queue_clear_full (&self->queue, (GDestroyNotify) embed_batch_free);
  g_clear_error (&self->error);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_array_unref (self->out);
  g_free (self->scratch);
  vm_clip_model_unref (self->model);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Embedder, embedder_free)

/* Hands the batch being filled to the encoder, waiting while max_queued
 * batches are in flight.  Fails with the encoder's error or on cancel. */
static gboolean
embedder_submit (Embedder  *self,
                 GError   **error)
{
  g_autoptr(EmbedBatch) batch = g_steal_pointer (&self->filling);

  if (batch == NULL || batch->n == 0)
    return TRUE;

  if (self->thread == NULL)
    {
      self->peak = MAX (self->peak, 1);
      return embedder_encode (self, batch, error);
    }

  g_mutex_lock (&self->lock);
  while (self->in_flight >= self->max_queued && self->error == NULL &&
         !g_cancellable_is_cancelled (self->cancellable))
    g_cond_wait_until (&self->cond, &self->lock, g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND);
  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (self->cancellable, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  g_queue_push_tail (&self->queue, g_steal_pointer (&batch));
  self->in_flight++;
  self->peak = MAX (self->peak, self->in_flight);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  return TRUE;
}

static gboolean
embedder_add (Embedder      *self,
              const guint8  *data,
              guint          width,
              guint          height,
              guint          stride,
              GError       **error)
{
  EmbedBatch *batch;
  guint8 *copy;

  /* An encoder error stops the file at once. */
  if (self->thread != NULL)
    {
      g_mutex_lock (&self->lock);
      if (self->error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->error));
          g_mutex_unlock (&self->lock);
          return FALSE;
        }
      g_mutex_unlock (&self->lock);
    }

  if (self->filling == NULL)
    {
      self->filling = g_new0 (EmbedBatch, 1);
      self->filling->index = self->n_batches++;
      self->filling->first = self->n_added;
      self->filling->pixels = g_new0 (guint8 *, self->batch_size);
      self->filling->images = g_new0 (VmClipImage, self->batch_size);
    }
  batch = self->filling;

  copy = g_malloc ((gsize) width * 3 * height);
  for (guint y = 0; y < height; y++)
    memcpy (copy + (gsize) y * width * 3, data + (gsize) y * stride, (gsize) width * 3);
  batch->pixels[batch->n] = copy;
  batch->images[batch->n] = (VmClipImage) { copy, width, height, width * 3 };
  batch->n++;
  self->n_added++;

  if (batch->n == self->batch_size)
    return embedder_submit (self, error);
  return TRUE;
}

/* Encodes what is left and waits for the encoder. */
static gboolean
embedder_finish (Embedder  *self,
                 GError   **error)
{
  if (!embedder_submit (self, error))
    return FALSE;
  embedder_stop (self, TRUE);
  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (self->cancellable, error))
    return FALSE;
  if (self->out->len != (gsize) self->n_added * self->dim)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Internal error: %u frames given to the encoder, %u encoded",
                   self->n_added, (guint) (self->out->len / self->dim));
      return FALSE;
    }
  return TRUE;
}

/* ---- Sampling one file -------------------------------------------------- */

/* A sampled frame held back: it is kept only if the next one would leave
 * more than keep_every seconds without a kept frame, or ends its shot. */
typedef struct {
  gboolean  valid;
  gint64    pts_ns;
  gboolean  keyframe;
  int       shot_id;
  guint     width;
  guint     height;
  guint8   *data;          /* packed RGB */
  gsize     capacity;
  guint8    grey[256];
} HeldFrame;

typedef struct {
  Indexer  *indexer;
  Embedder *embedder;     /* NULL without a model */
  GArray   *frames;       /* VmFrameRecord, the kept ones */
  float     last_hist[64];
  gboolean  have_last;
  int       shot_id;
  gboolean  have_kept;
  gint64    kept_pts_ns;
  guint8    kept_grey[256];
  HeldFrame held;
  const char *thumb_dir;  /* the sampler's thumbnails, or NULL */
  guint     n_sampled;
  gint64    duration_ns;
  guint     index;
  guint     total;
} SampleState;

static gboolean
keep_frame (SampleState    *state,
            gint64          pts_ns,
            gboolean        keyframe,
            int             shot_id,
            const guint8   *data,
            guint           width,
            guint           height,
            guint           stride,
            const guint8    grey[256],
            GError        **error)
{
  VmFrameRecord record = { pts_ns, keyframe, shot_id };

  g_array_append_val (state->frames, record);
  state->have_kept = TRUE;
  state->kept_pts_ns = pts_ns;
  memcpy (state->kept_grey, grey, 256);

  if (state->embedder != NULL)
    return embedder_add (state->embedder, data, width, height, stride, error);
  return TRUE;
}

static gboolean
keep_held (SampleState  *state,
           GError      **error)
{
  HeldFrame *h = &state->held;

  if (!h->valid)
    return TRUE;
  h->valid = FALSE;
  return keep_frame (state, h->pts_ns, h->keyframe, h->shot_id, h->data, h->width, h->height,
                     h->width * 3, h->grey, error);
}

/* The held frame will not be kept: its thumbnail (the sampler writes one
 * per sampled frame, after this callback) goes too. */
static void
drop_held (SampleState *state)
{
  if (state->held.valid && state->thumb_dir != NULL)
    {
      g_autofree char *path = vm_sampler_thumbnail_path (state->thumb_dir, state->held.pts_ns);

      if (g_unlink (path) != 0 && errno != ENOENT)
        g_debug ("Could not remove %s: %s", path, g_strerror (errno));
    }
  state->held.valid = FALSE;
}

static void
hold_frame (SampleState   *state,
            const VmFrame *frame,
            int            shot_id,
            const guint8   grey[256])
{
  HeldFrame *h = &state->held;
  gsize size = (gsize) frame->width * 3 * frame->height;

  drop_held (state);
  /* The pixels are only needed for the encoder. */
  if (state->embedder != NULL && h->capacity < size)
    {
      g_free (h->data);
      h->data = g_malloc (size);
      h->capacity = size;
    }
  if (state->embedder != NULL)
    for (guint y = 0; y < frame->height; y++)
      memcpy (h->data + (gsize) y * frame->width * 3, frame->data + (gsize) y * frame->stride,
              (gsize) frame->width * 3);
  h->valid = TRUE;
  h->pts_ns = frame->pts_ns;
  h->keyframe = frame->keyframe;
  h->shot_id = shot_id;
  h->width = frame->width;
  h->height = frame->height;
  memcpy (h->grey, grey, 256);
}

static gboolean
sample_frame_cb (const VmFrame  *frame,
                 gpointer        user_data,
                 GError        **error)
{
  SampleState *state = user_data;
  const VmIndexOptions *options = state->indexer->options;
  gint64 keep_every_ns = (gint64) (options->keep_every * G_TIME_SPAN_SECOND * 1000);
  gboolean new_shot = FALSE;
  float hist[64];
  guint8 grey[256];

  state->n_sampled++;

  vm_frame_histogram (frame, hist);
  if (state->have_last &&
      vm_frame_histogram_distance (hist, state->last_hist) > options->shot_threshold)
    {
      state->shot_id++;
      new_shot = TRUE;
    }
  memcpy (state->last_hist, hist, sizeof hist);
  state->have_last = TRUE;

  vm_frame_grey_thumbnail (frame, grey);

  if (new_shot)
    {
      /* The old shot's last frame marks where it ended. */
      if (!keep_held (state, error))
        return FALSE;
      if (!keep_frame (state, frame->pts_ns, frame->keyframe, state->shot_id, frame->data,
                       frame->width, frame->height, frame->stride, grey, error))
        return FALSE;
    }
  else if (!state->have_kept || options->keep_every <= 0 ||
           vm_frame_grey_distance (grey, state->kept_grey) >= options->dedupe_threshold)
    {
      /* Different enough: the held near-duplicate before it goes. */
      drop_held (state);
      if (!keep_frame (state, frame->pts_ns, frame->keyframe, state->shot_id, frame->data,
                       frame->width, frame->height, frame->stride, grey, error))
        return FALSE;
    }
  else
    {
      /* A near-duplicate: keep the latest frame within keep_every of the
       * last kept one when this one would be further. */
      gboolean keep_this = FALSE;

      if (frame->pts_ns - state->kept_pts_ns > keep_every_ns)
        {
          keep_this = !state->held.valid;
          if (!keep_held (state, error))
            return FALSE;
          keep_this = keep_this || frame->pts_ns - state->kept_pts_ns > keep_every_ns;
        }
      if (keep_this)
        {
          if (!keep_frame (state, frame->pts_ns, frame->keyframe, state->shot_id, frame->data,
                           frame->width, frame->height, frame->stride, grey, error))
            return FALSE;
        }
      else
        hold_frame (state, frame, state->shot_id, grey);
    }

  if (state->indexer->job != NULL && state->duration_ns > 0 && state->total > 0)
    {
      double within = CLAMP ((double) frame->pts_ns / state->duration_ns, 0.0, 1.0);

      vm_job_set_fraction (state->indexer->job, (state->index + within) / state->total);
    }

  return TRUE;
}

static gboolean
index_one (Indexer  *self,
           VmVideo  *video,
           gboolean  frames_only,
           guint     index,
           guint     total,
           VmIndexEvent *out_event,
           GError  **error)
{
  g_autoptr(VmMediaInfo) info = NULL;
  g_autoptr(GArray) frames = NULL;
  g_autoptr(Embedder) embedder = NULL;
  g_autofree char *thumb_dir = NULL;
  g_autoptr(GError) sample_error = NULL;
  VmSamplerOptions sampler = self->options->sampler;
  SampleState state = { 0 };
  gboolean sampled;

  info = vm_media_probe (video->path, self->options->probe_timeout_ms, error);
  if (info == NULL)
    return FALSE;

  video->duration_ns = info->duration_ns;
  video->width = info->width;
  video->height = info->height;
  video->fps_num = info->fps_num;
  video->fps_den = info->fps_den;
  g_free (video->container);
  video->container = g_strdup (info->container);
  g_free (video->video_codec);
  video->video_codec = g_strdup (info->video_codec);
  g_free (video->audio_codec);
  video->audio_codec = g_strdup (info->audio_codec);
  video->has_audio = info->has_audio;
  /* A video sampled again for its embeddings stays indexed meanwhile. */
  if (!frames_only)
    video->status = VM_VIDEO_STATUS_PROBED;
  g_clear_pointer (&video->error_message, g_free);
  if (!vm_catalog_save_video (self->catalog, video, error))
    return FALSE;

  if (self->options->thumbnails && video->fingerprint != NULL)
    {
      g_autofree char *root = self->options->thumbnail_root
                              ? g_strdup (self->options->thumbnail_root)
                              : vm_paths_thumbnail_dir ();
      char prefix[17] = { 0 };

      g_strlcpy (prefix, video->fingerprint, sizeof prefix);
      thumb_dir = g_build_filename (root, prefix, NULL);
      if (!vm_paths_ensure_dir (thumb_dir, error))
        return FALSE;
      sampler.thumbnail_dir = thumb_dir;
    }

  frames = g_array_new (FALSE, FALSE, sizeof (VmFrameRecord));
  if (self->options->model != NULL)
    embedder = embedder_new (self->options, self->cancellable);
  state.indexer = self;
  state.embedder = embedder;
  state.frames = frames;
  state.duration_ns = info->duration_ns;
  state.index = index;
  state.total = total;

  state.thumb_dir = sampler.thumbnail_dir;
  sampled = vm_sampler_run (video->path, &sampler, sample_frame_cb, &state, self->cancellable, &sample_error);
  /* A near-duplicate still held at the end is not kept. */
  drop_held (&state);
  g_free (state.held.data);
  if (embedder != NULL)
    self->report->max_batches_queued = MAX (self->report->max_batches_queued, embedder->peak);
  if (!sampled)
    {
      g_propagate_error (error, g_steal_pointer (&sample_error));
      return FALSE;
    }

  if (frames->len == 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                   _("No frame could be decoded"));
      return FALSE;
    }

  /* Decoding is done; the encoder finishes its last batches while the
   * timed text is read. */
  if (embedder != NULL && !embedder_submit (embedder, error))
    return FALSE;

  /* Timed text (subtitles, OCR, speech) before the video counts as indexed:
   * a cancel here leaves it "probed", so the next run does it again.  Only a
   * catalog error or a cancel fails; a failing source is a warning. */
  if (!frames_only && self->options->text.enabled &&
      !vm_text_indexer_run (self->catalog, video, &self->options->text, self->cancellable, NULL, error))
    return FALSE;

  if (embedder != NULL)
    {
      if (!embedder_finish (embedder, error))
        return FALSE;
      self->report->max_batches_queued = MAX (self->report->max_batches_queued, embedder->peak);
    }

  /* Frames, embeddings, status and time change together. */
  if (!vm_catalog_begin (self->catalog, error))
    return FALSE;
  video->status = VM_VIDEO_STATUS_INDEXED;
  video->indexed_at = g_get_real_time () / G_USEC_PER_SEC;
  if (!vm_catalog_replace_frames (self->catalog, video->id,
                                  (const VmFrameRecord *) (gpointer) frames->data, frames->len, error) ||
      (embedder != NULL &&
       !vm_catalog_put_embeddings (self->catalog, video->id, self->model_id, 0, frames->len, embedder->dim,
                                   (const guint16 *) (gpointer) embedder->out->data, error)) ||
      !vm_catalog_save_video (self->catalog, video, error) ||
      !vm_catalog_commit (self->catalog, error))
    {
      vm_catalog_rollback (self->catalog);
      return FALSE;
    }

  out_event->n_frames = frames->len;
  out_event->n_sampled = state.n_sampled;
  out_event->n_embedded = embedder != NULL ? frames->len : 0;
  return TRUE;
}

/* ---- Reconciling the folders with the catalog --------------------------- */

static gboolean
path_exists (const char *path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* Finds a known video with @fingerprint whose file is gone: a move. */
static VmVideo *
find_moved (Indexer     *self,
            const char  *fingerprint,
            GHashTable  *discovered,
            GError     **error)
{
  g_autoptr(GPtrArray) same = NULL;

  same = vm_catalog_find_videos_by_fingerprint (self->catalog, fingerprint, error);
  if (same == NULL)
    return NULL;

  for (guint i = 0; i < same->len; i++)
    {
      VmVideo *v = g_ptr_array_index (same, i);

      if (v->status == VM_VIDEO_STATUS_MISSING ||
          (!g_hash_table_contains (discovered, v->path) && !path_exists (v->path)))
        return vm_video_copy (v);
    }

  return NULL;
}

static gboolean
reconcile_folder (Indexer   *self,
                  VmFolder  *folder,
                  GPtrArray *work,
                  GError   **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) known = NULL;
  g_autoptr(GHashTable) discovered = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) local_error = NULL;

  entries = vm_scanner_discover (folder->path, folder_error_cb, self, self->cancellable, &local_error);
  if (entries == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* An unmounted or deleted folder: report it and leave its videos be. */
      emit (self, VM_INDEX_EVENT_FOLDER_ERROR, folder->path, NULL, 0, 0, local_error, 0, 0);
      return TRUE;
    }

  for (guint i = 0; i < entries->len; i++)
    g_hash_table_add (discovered, ((VmScanEntry *) g_ptr_array_index (entries, i))->path);

  self->report->n_found += entries->len;

  for (guint i = 0; i < entries->len; i++)
    {
      VmScanEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr(VmVideo) video = NULL;
      g_autoptr(GError) fp_error = NULL;
      g_autofree char *fingerprint = NULL;

      if (g_cancellable_set_error_if_cancelled (self->cancellable, error))
        return FALSE;

      video = vm_catalog_find_video_by_path (self->catalog, entry->path, error);
      if (video == NULL && error != NULL && *error != NULL)
        return FALSE;

      if (video != NULL && video->size == entry->size && video->mtime_us == entry->mtime_us &&
          video->status != VM_VIDEO_STATUS_MISSING)
        {
          /* Unchanged by size and mtime. */
          if (video->folder_id != folder->id)
            {
              video->folder_id = folder->id;
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
            }
          if (self->options->force ||
              video->status == VM_VIDEO_STATUS_NEW ||
              video->status == VM_VIDEO_STATUS_PROBED ||
              (video->status == VM_VIDEO_STATUS_ERROR && self->options->retry_failed))
            g_ptr_array_add (work, g_steal_pointer (&video));
          else
            self->report->n_unchanged++;
          continue;
        }

      fingerprint = vm_fingerprint_file (entry->path, NULL, self->cancellable, &fp_error);

      if (video != NULL)
        {
          gboolean same_content = fingerprint != NULL && g_strcmp0 (fingerprint, video->fingerprint) == 0;
          gboolean was_missing = video->status == VM_VIDEO_STATUS_MISSING;

          video->size = entry->size;
          video->mtime_us = entry->mtime_us;
          video->folder_id = folder->id;

          if (same_content && !self->options->force && video->status == VM_VIDEO_STATUS_INDEXED)
            {
              /* Touched, not changed. */
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
              self->report->n_unchanged++;
              continue;
            }

          if (same_content && was_missing)
            {
              /* Came back; its frames (if any) are still valid. */
              video->status = video->indexed_at > 0 ? VM_VIDEO_STATUS_INDEXED : VM_VIDEO_STATUS_NEW;
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
              if (video->status == VM_VIDEO_STATUS_INDEXED && !self->options->force)
                {
                  self->report->n_unchanged++;
                  continue;
                }
            }
          else
            {
              g_free (video->fingerprint);
              video->fingerprint = g_steal_pointer (&fingerprint);
              video->status = VM_VIDEO_STATUS_NEW;
              g_clear_pointer (&video->error_message, g_free);
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
              self->report->n_changed++;
              emit (self, VM_INDEX_EVENT_CHANGED, video->path, NULL, video->id, 0, NULL, 0, 0);
            }
          g_ptr_array_add (work, g_steal_pointer (&video));
          continue;
        }

      /* A path the catalog does not know: moved, or new. */
      if (fingerprint != NULL)
        {
          video = find_moved (self, fingerprint, discovered, error);
          if (video == NULL && error != NULL && *error != NULL)
            return FALSE;
        }

      if (video != NULL)
        {
          g_autofree char *old_path = g_steal_pointer (&video->path);

          video->path = g_strdup (entry->path);
          video->folder_id = folder->id;
          video->size = entry->size;
          video->mtime_us = entry->mtime_us;
          if (video->status == VM_VIDEO_STATUS_MISSING)
            video->status = video->indexed_at > 0 ? VM_VIDEO_STATUS_INDEXED : VM_VIDEO_STATUS_NEW;
          if (!vm_catalog_save_video (self->catalog, video, error))
            return FALSE;
          self->report->n_moved++;
          emit (self, VM_INDEX_EVENT_MOVED, video->path, old_path, video->id, 0, NULL, 0, 0);
          if (video->status != VM_VIDEO_STATUS_INDEXED || self->options->force)
            g_ptr_array_add (work, g_steal_pointer (&video));
          continue;
        }

      video = vm_video_new ();
      video->folder_id = folder->id;
      video->path = g_strdup (entry->path);
      video->size = entry->size;
      video->mtime_us = entry->mtime_us;
      video->fingerprint = g_steal_pointer (&fingerprint);
      video->added_at = g_get_real_time () / G_USEC_PER_SEC;
      video->status = VM_VIDEO_STATUS_NEW;
      if (fp_error != NULL)
        {
          /* Unreadable: record why, and go on. */
          video->status = VM_VIDEO_STATUS_ERROR;
          video->error_message = g_strdup (fp_error->message);
        }
      if (!vm_catalog_save_video (self->catalog, video, error))
        return FALSE;
      self->report->n_new++;
      emit (self, VM_INDEX_EVENT_NEW, video->path, NULL, video->id, 0, NULL, 0, 0);
      if (fp_error != NULL)
        {
          self->report->n_failed++;
          emit (self, VM_INDEX_EVENT_FAILED, video->path, NULL, video->id, 0, fp_error, 0, 0);
          continue;
        }
      g_ptr_array_add (work, g_steal_pointer (&video));
    }

  /* Known files of this folder that were not found are missing. */
  known = vm_catalog_list_videos (self->catalog, folder->id, error);
  if (known == NULL)
    return FALSE;

  for (guint i = 0; i < known->len; i++)
    {
      VmVideo *v = g_ptr_array_index (known, i);

      if (v->status == VM_VIDEO_STATUS_MISSING || g_hash_table_contains (discovered, v->path))
        continue;
      /* Work may hold a moved copy already pointing elsewhere. */
      if (path_exists (v->path))
        continue;
      if (!vm_catalog_set_video_status (self->catalog, v->id, VM_VIDEO_STATUS_MISSING, NULL, error))
        return FALSE;
      self->report->n_missing++;
      emit (self, VM_INDEX_EVENT_MISSING, v->path, NULL, v->id, 0, NULL, 0, 0);
    }

  return TRUE;
}

/* Indexed videos whose embeddings for the model are missing or incomplete
 * are sampled again (their timed text is kept). */
static gboolean
find_unembedded (Indexer     *self,
                 GPtrArray   *work,
                 GHashTable  *frames_only,
                 GError     **error)
{
  g_autoptr(GPtrArray) videos = NULL;
  g_autoptr(GHashTable) queued = g_hash_table_new (g_int64_hash, g_int64_equal);

  if (self->model_id == 0)
    return TRUE;

  for (guint i = 0; i < work->len; i++)
    g_hash_table_add (queued, &((VmVideo *) g_ptr_array_index (work, i))->id);

  videos = vm_catalog_list_videos (self->catalog, 0, error);
  if (videos == NULL)
    return FALSE;

  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (videos, i);
      guint n_embedded = 0;

      /* (A file of an unreachable folder waits until it is back.) */
      if (v->status != VM_VIDEO_STATUS_INDEXED || g_hash_table_contains (queued, &v->id) ||
          !path_exists (v->path))
        continue;
      if (!vm_catalog_count_embeddings (self->catalog, v->id, self->model_id, &n_embedded, error))
        return FALSE;
      if (v->n_frames > 0 && n_embedded >= v->n_frames)
        continue;

      g_hash_table_add (frames_only, GINT_TO_POINTER (v->id));
      g_ptr_array_add (work, g_ptr_array_steal_index (videos, i));
      i--;
      self->report->n_reembed++;
      if (self->report->n_unchanged > 0)
        self->report->n_unchanged--;
    }

  return TRUE;
}

gboolean
vm_indexer_run (VmCatalog             *catalog,
                const VmIndexOptions  *options,
                VmJob                 *job,
                VmIndexEventFunc       func,
                gpointer               user_data,
                VmIndexReport         *report,
                GError               **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) work = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_video_free);
  g_autoptr(GHashTable) frames_only = g_hash_table_new (NULL, NULL);
  VmIndexOptions default_options;
  VmIndexReport local_report = { 0 };
  Indexer self = { 0 };

  g_return_val_if_fail (VM_IS_CATALOG (catalog), FALSE);

  if (options == NULL)
    {
      vm_index_options_init (&default_options);
      options = &default_options;
    }
  if (report == NULL)
    report = &local_report;
  memset (report, 0, sizeof *report);

  if (!vm_media_init (error))
    return FALSE;

  self.catalog = catalog;
  self.options = options;
  self.job = job;
  self.cancellable = job != NULL ? vm_job_get_cancellable (job) : NULL;
  self.func = func;
  self.user_data = user_data;
  self.report = report;

  if (job != NULL)
    vm_job_set_message (job, _("Looking for videos…"));

  if (options->model != NULL)
    {
      /* One name, one set of weights: embeddings of changed weights go. */
      if (!vm_catalog_reset_model (catalog, vm_clip_model_get_name (options->model),
                                   (int) vm_clip_model_get_projection_dim (options->model),
                                   vm_clip_model_get_digest (options->model),
                                   &self.model_id, &report->model_replaced, error))
        return FALSE;
    }

  folders = vm_catalog_list_folders (catalog, error);
  if (folders == NULL)
    return FALSE;

  for (guint i = 0; i < folders->len; i++)
    if (!reconcile_folder (&self, g_ptr_array_index (folders, i), work, error))
      goto cancelled_or_failed;

  if (!find_unembedded (&self, work, frames_only, error))
    goto cancelled_or_failed;

  for (guint i = 0; i < work->len; i++)
    {
      VmVideo *video = g_ptr_array_index (work, i);
      g_autoptr(GError) local_error = NULL;
      gboolean only_frames = g_hash_table_contains (frames_only, GINT_TO_POINTER (video->id));
      VmIndexEvent done = {
        .type = VM_INDEX_EVENT_INDEXED, .path = video->path, .video_id = video->id,
        .index = i, .total = work->len,
      };

      if (g_cancellable_is_cancelled (self.cancellable))
        break;

      if (job != NULL)
        {
          g_autofree char *base = g_path_get_basename (video->path);

          vm_job_set_message (job, base);
          vm_job_set_fraction (job, (double) i / work->len);
        }

      emit (&self, VM_INDEX_EVENT_STARTED, video->path, NULL, video->id, 0, NULL, i, work->len);

      if (index_one (&self, video, only_frames, i, work->len, &done, &local_error))
        {
          report->n_indexed++;
          report->n_frames += done.n_frames;
          report->n_sampled += done.n_sampled;
          report->n_dropped += done.n_sampled - done.n_frames;
          report->n_embedded += done.n_embedded;
          emit_event (&self, &done);
          continue;
        }

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        break;

      if (local_error->domain == VM_CATALOG_ERROR)
        {
          /* The catalog itself failed (disk full, locked): stop here. */
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      report->n_failed++;
      emit (&self, VM_INDEX_EVENT_FAILED, video->path, NULL, video->id, 0, local_error, i, work->len);
      /* A video sampled again only for its embeddings keeps its frames, and
       * an encoder (GPU) failure says nothing about the file: both are
       * reported and tried again next time. */
      if (!only_frames &&
          local_error->domain != VM_GPU_ERROR && local_error->domain != VM_MODEL_ERROR &&
          !vm_catalog_set_video_status (catalog, video->id, VM_VIDEO_STATUS_ERROR,
                                        local_error->message, error))
        return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (self.cancellable, error))
    {
      report->cancelled = TRUE;
      return FALSE;
    }

  if (job != NULL)
    {
      vm_job_set_fraction (job, 1.0);
      vm_job_set_message (job, _("Done"));
    }

  return TRUE;

cancelled_or_failed:
  if (g_cancellable_is_cancelled (self.cancellable))
    report->cancelled = TRUE;
  return FALSE;
}
