/* vm-refine.c — coarse-to-fine boundary refinement of a moment.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-refine.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "core/vm-util.h"
#include "media/vm-media.h"

#define NS_TO_S(ns) ((double) (ns) / (double) VM_NSEC_PER_SEC)
#define S_TO_NS(s)  ((gint64) llround ((s) * (double) VM_NSEC_PER_SEC))

/* Fewest samples on each side of a split. */
#define MIN_SIDE 2
/* An edge must stand this many noise deviations above the noise. */
#define NOISE_FACTOR 3.0

void
vm_refine_options_init (VmRefineOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->window = 2.0;
  options->rate = 6.0;
  options->batch = 16;
  options->min_contrast = 0.005;
  options->min_length = 0.5;
}

/* ---- The edge in a dense curve ------------------------------------------ */

static int
compare_floats (gconstpointer a,
                gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

static double
median_of (const float *values,
           guint        n)
{
  g_autofree float *sorted = NULL;

  if (n == 0)
    return 0.0;
  sorted = g_memdup2 (values, n * sizeof (float));
  qsort (sorted, n, sizeof (float), compare_floats);
  if (n % 2 == 1)
    return sorted[n / 2];
  return 0.5 * ((double) sorted[n / 2 - 1] + sorted[n / 2]);
}

gboolean
vm_refine_find_edge (const double  *times,
                     const float   *scores,
                     guint          n,
                     gboolean       rising,
                     double         min_contrast,
                     double        *out_time,
                     double        *out_contrast)
{
  g_autofree double *prefix = NULL;
  g_autofree float *residuals = NULL;
  double best = 0.0, low, high, inside, outside, contrast, noise, mid;
  guint split = 0, crossing = 0;

  if (out_contrast != NULL)
    *out_contrast = 0.0;
  if (times == NULL || scores == NULL || n < 2 * MIN_SIDE)
    return FALSE;

  /* The split where a step fits best, inside higher. */
  prefix = g_new (double, n + 1);
  prefix[0] = 0.0;
  for (guint i = 0; i < n; i++)
    prefix[i + 1] = prefix[i] + scores[i];
  for (guint j = MIN_SIDE; j + MIN_SIDE <= n; j++)
    {
      double left = prefix[j] / j;
      double right = (prefix[n] - prefix[j]) / (n - j);
      double step = rising ? right - left : left - right;
      double value = step * sqrt ((double) j * (n - j) / n);

      if (value > best)
        {
          best = value;
          split = j;
        }
    }
  if (split == 0)
    return FALSE;

  /* Levels and noise. */
  low = median_of (scores, split);
  high = median_of (scores + split, n - split);
  inside = rising ? high : low;
  outside = rising ? low : high;
  contrast = inside - outside;
  residuals = g_new (float, n);
  for (guint i = 0; i < n; i++)
    residuals[i] = (float) fabs (scores[i] - (i < split ? low : high));
  noise = 1.4826 * median_of (residuals, n);
  if (out_contrast != NULL)
    *out_contrast = contrast;
  if (!(contrast >= min_contrast) || !(contrast > NOISE_FACTOR * noise))
    return FALSE;

  /* The crossing of the midpoint nearest the split: samples i - 1 and i on
   * either side of it, in the step's direction. */
  mid = 0.5 * (inside + outside);
  for (guint d = 0; d < n && crossing == 0; d++)
    {
      guint candidates[2] = { split + d, split >= d ? split - d : 0 };

      for (guint c = 0; c < 2 && crossing == 0; c++)
        {
          guint i = candidates[c];
          double a, b;

          if (i == 0 || i >= n)
            continue;
          a = scores[i - 1];
          b = scores[i];
          if (rising ? (a < mid && b >= mid) : (a >= mid && b < mid))
            crossing = i;
        }
    }
  if (crossing == 0)
    crossing = split;

  {
    double a = scores[crossing - 1], b = scores[crossing];
    double t0 = times[crossing - 1], t1 = times[crossing];
    double f = b != a ? (mid - a) / (b - a) : 0.5;

    *out_time = t0 + CLAMP (f, 0.0, 1.0) * (t1 - t0);
  }
  return TRUE;
}

/* ---- Dense frames: the cache, else decode and encode --------------------- */

/* One batch of decoded frames for the encoder. */
typedef struct {
  GPtrArray  *pixels;   /* guint8*, packed RGB copies; freed once encoded */
  GArray     *images;   /* VmClipImage */
  GArray     *pts;      /* gint64 */
  float      *out;      /* n × dim, once encoded */
  GError     *error;
} Batch;

static Batch *
batch_new (void)
{
  Batch *b = g_new0 (Batch, 1);

  b->pixels = g_ptr_array_new_with_free_func (g_free);
  b->images = g_array_new (FALSE, FALSE, sizeof (VmClipImage));
  b->pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  return b;
}

static void
batch_free (Batch *b)
{
  if (b == NULL)
    return;
  g_ptr_array_unref (b->pixels);
  g_array_unref (b->images);
  g_array_unref (b->pts);
  g_free (b->out);
  g_clear_error (&b->error);
  g_free (b);
}

/* Decoded frames are encoded in batches on a thread of their own while the
 * sampler goes on decoding; the catalog is written on the calling thread
 * once all are done. */
typedef struct {
  VmCatalog     *catalog;
  VmClipModel   *model;
  gint64         video_id;
  gint64         model_id;
  guint          dim;
  guint          batch;
  GCancellable  *cancellable;

  GThreadPool   *pool;      /* one thread; NULL: encode on the calling thread */
  GPtrArray     *batches;   /* Batch*, in the order of their frames */
  Batch         *current;   /* being filled */
} Encoder;

static void
encode_batch_cb (gpointer data,
                 gpointer user_data)
{
  Batch *b = data;
  Encoder *self = user_data;

  b->out = g_new (float, (gsize) b->images->len * self->dim);
  if (!vm_clip_model_encode_images (self->model, (const VmClipImage *) (gpointer) b->images->data,
                                    b->images->len, b->out, &b->error))
    g_clear_pointer (&b->out, g_free);
  /* The pixels are not needed any more. */
  g_ptr_array_set_size (b->pixels, 0);
  g_array_set_size (b->images, 0);
}

static void
encoder_submit (Encoder *self)
{
  Batch *b = g_steal_pointer (&self->current);

  if (b == NULL)
    return;
  if (b->pts->len == 0)
    {
      batch_free (b);
      return;
    }
  g_ptr_array_add (self->batches, b);
  if (self->pool == NULL || !g_thread_pool_push (self->pool, b, NULL))
    encode_batch_cb (b, self);
}

/* Waits for the encoder thread. */
static void
encoder_wait (Encoder *self)
{
  if (self->pool != NULL)
    {
      g_thread_pool_free (self->pool, FALSE, TRUE);
      self->pool = NULL;
    }
}

static void
encoder_clear (Encoder *self)
{
  encoder_wait (self);
  g_clear_pointer (&self->current, batch_free);
  g_clear_pointer (&self->batches, g_ptr_array_unref);
}

/* Encodes what is left and stores every batch in the cache, in fp16.
 * Counts the frames into @n_decoded. */
static gboolean
encoder_finish (Encoder  *self,
                guint    *n_decoded,
                GError  **error)
{
  encoder_submit (self);
  encoder_wait (self);

  for (guint i = 0; i < self->batches->len; i++)
    {
      Batch *b = g_ptr_array_index (self->batches, i);
      g_autofree guint16 *halves = NULL;
      guint n = b->pts->len;

      if (b->error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&b->error));
          return FALSE;
        }
      halves = g_new (guint16, (gsize) n * self->dim);
      for (gsize k = 0; k < (gsize) n * self->dim; k++)
        halves[k] = vm_float_to_half (b->out[k]);
      if (!vm_catalog_put_dense_embeddings (self->catalog, self->video_id, self->model_id,
                                            (const gint64 *) (gpointer) b->pts->data, n, self->dim,
                                            halves, error))
        return FALSE;
      *n_decoded += n;
    }
  g_ptr_array_set_size (self->batches, 0);
  return TRUE;
}

static gboolean
frame_cb (const VmFrame  *frame,
          gpointer        user_data,
          GError        **error)
{
  Encoder *self = user_data;
  gsize row = (gsize) frame->width * 3;
  guint8 *copy;
  VmClipImage image = { 0, };

  if (g_cancellable_set_error_if_cancelled (self->cancellable, error))
    return FALSE;

  if (self->current == NULL)
    self->current = batch_new ();
  copy = g_malloc (row * frame->height);
  for (guint y = 0; y < frame->height; y++)
    memcpy (copy + y * row, frame->data + (gsize) y * frame->stride, row);
  g_ptr_array_add (self->current->pixels, copy);
  image.data = copy;
  image.width = frame->width;
  image.height = frame->height;
  image.row_bytes = (guint) row;
  g_array_append_val (self->current->images, image);
  g_array_append_val (self->current->pts, frame->pts_ns);

  if (self->current->pts->len >= self->batch)
    encoder_submit (self);
  return TRUE;
}

/* The grid time k / rate, as the sampler computes it. */
static gint64
grid_time (guint64 k,
           double  rate)
{
  return (gint64) llround (k * (double) VM_NSEC_PER_SEC / rate);
}

typedef struct {
  gint64  from;   /* ns, inclusive */
  gint64  to;
} Window;

/* Makes sure every grid time of @w will have its frame in the cache:
 * decodes the span of those that have none, handing the frames to the
 * encoder (encoder_finish() stores them).  Counts the cached ones into
 * @report. */
static gboolean
ensure_window (Encoder                *encoder,
               const char             *path,
               guint                   short_side,
               double                  rate,
               Window                  w,
               VmRefineReport         *report,
               GError                **error)
{
  g_autoptr(GArray) cached = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gint64 step = grid_time (1, rate);
  gint64 first_missing = -1, last_missing = -1;
  g_autoptr(GArray) covered = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint64 k;
  guint j = 0;

  bytes = vm_catalog_get_dense_embeddings (encoder->catalog, encoder->video_id, encoder->model_id,
                                           w.from, w.to + step, &cached, error);
  if (bytes == NULL)
    return FALSE;

  k = (guint64) MAX (floor (NS_TO_S (w.from) * rate), 0.0);
  while (k > 0 && grid_time (k - 1, rate) >= w.from)
    k--;
  while (grid_time (k, rate) < w.from)
    k++;

  for (; grid_time (k, rate) <= w.to; k++)
    {
      gint64 t = grid_time (k, rate);

      while (j < cached->len && g_array_index (cached, gint64, j) < t)
        j++;
      if (j < cached->len && g_array_index (cached, gint64, j) < t + step)
        {
          g_array_append_val (covered, t);
          continue;
        }
      if (first_missing < 0)
        first_missing = t;
      last_missing = t;
    }

  /* Cached frames inside the span that is decoded are decoded again. */
  for (guint i = 0; i < covered->len; i++)
    {
      gint64 t = g_array_index (covered, gint64, i);

      if (first_missing < 0 || t < first_missing || t > last_missing)
        report->n_cached++;
    }
  if (first_missing < 0)
    return TRUE;

  {
    VmSamplerOptions options;
    gboolean ok;

    vm_sampler_options_init (&options);
    options.mode = VM_SAMPLE_RATE;
    options.rate = rate;
    options.short_side = short_side;
    options.start_ns = first_missing;
    /* The first frame of a window at 0 needs no seek: stop alone makes it a window. */
    options.stop_ns = MAX (last_missing, 1);

    ok = vm_sampler_run (path, &options, frame_cb, encoder, encoder->cancellable, error);
    /* A window's last frames need not wait for the next window's. */
    if (ok)
      encoder_submit (encoder);
    return ok;
  }
}

/* The cached frames of @w scored against @query: appends to @times/@scores. */
static gboolean
score_window (Encoder      *encoder,
              const float  *query,
              double        rate,
              Window        w,
              GArray       *times,
              GArray       *scores,
              GError      **error)
{
  g_autoptr(GArray) pts = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const guint16 *halves;
  gsize size;

  bytes = vm_catalog_get_dense_embeddings (encoder->catalog, encoder->video_id, encoder->model_id,
                                           w.from, w.to + grid_time (1, rate) - 1, &pts, error);
  if (bytes == NULL)
    return FALSE;
  halves = g_bytes_get_data (bytes, &size);
  if (size != (gsize) pts->len * encoder->dim * sizeof (guint16))
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                           _("The cached frame embeddings do not match the model"));
      return FALSE;
    }

  for (guint i = 0; i < pts->len; i++)
    {
      double t = NS_TO_S (g_array_index (pts, gint64, i));
      float s = 0.0f;

      for (guint d = 0; d < encoder->dim; d++)
        s += vm_half_to_float (halves[(gsize) i * encoder->dim + d]) * query[d];
      g_array_append_val (times, t);
      g_array_append_val (scores, s);
    }
  return TRUE;
}

/* The edge of one boundary from the samples of [from, to] seconds. */
static gboolean
edge_in (GArray   *times,
         GArray   *scores,
         double    from,
         double    to,
         gboolean  rising,
         double    min_contrast,
         double   *out_time)
{
  guint a = 0, b;
  double contrast = 0.0;
  gboolean found;

  while (a < times->len && g_array_index (times, double, a) < from)
    a++;
  for (b = a; b < times->len && g_array_index (times, double, b) <= to; b++)
    ;
  found = vm_refine_find_edge ((const double *) (gpointer) times->data + a,
                               (const float *) (gpointer) scores->data + a,
                               b - a, rising, min_contrast, out_time, &contrast);
  g_debug ("%s edge in %.3f-%.3f s (%u samples): %s, contrast %.5f", rising ? "Start" : "End",
           from, to, b - a, found ? "found" : "none", contrast);
  return found;
}

gboolean
vm_refine_moment (VmCatalog              *catalog,
                  VmClipModel            *model,
                  gint64                  model_id,
                  const float            *query,
                  VmMoment               *moment,
                  const VmRefineOptions  *options,
                  VmRefineReport         *report,
                  GCancellable           *cancellable,
                  GError                **error)
{
  VmRefineOptions opts;
  VmRefineReport local_report;
  g_autoptr(VmVideo) video = NULL;
  g_autoptr(GArray) start_times = NULL;
  g_autoptr(GArray) start_scores = NULL;
  g_autoptr(GArray) end_times = NULL;
  g_autoptr(GArray) end_scores = NULL;
  Encoder encoder = { 0, };
  Window windows[2];
  guint n_windows;
  double rate, window, start, end, duration, new_start, new_end, t;
  guint short_side;
  GStatBuf st;

  g_return_val_if_fail (VM_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (query != NULL, FALSE);
  g_return_val_if_fail (moment != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options != NULL)
    opts = *options;
  else
    vm_refine_options_init (&opts);
  if (!(opts.window > 0))
    opts.window = 2.0;
  if (!(opts.rate > 0))
    opts.rate = 6.0;
  if (opts.batch == 0)
    opts.batch = 16;
  if (!(opts.min_contrast >= 0))
    opts.min_contrast = 0.0;
  if (!(opts.min_length >= 0))
    opts.min_length = 0.0;
  if (report == NULL)
    report = &local_report;
  memset (report, 0, sizeof *report);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (moment->path == NULL || moment->end_ns < moment->start_ns)
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                           _("The moment to refine has no file or no length"));
      return FALSE;
    }
  if (!vm_clip_model_has_vision (model))
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                           _("Refining a moment needs the model's vision encoder"));
      return FALSE;
    }
  /* A file that is gone: say so, even where the cache could answer. */
  if (g_stat (moment->path, &st) != 0)
    {
      int saved = errno;
      g_autofree char *display = g_filename_display_basename (moment->path);

      g_set_error (error, VM_MEDIA_ERROR,
                   saved == ENOENT || saved == ENOTDIR ? VM_MEDIA_ERROR_NOT_FOUND
                                                       : VM_MEDIA_ERROR_PERMISSION,
                   _("“%s” cannot be refined: %s"), display, g_strerror (saved));
      return FALSE;
    }

  video = vm_catalog_get_video (catalog, moment->video_id, error);
  if (video == NULL)
    return FALSE;

  rate = opts.rate;
  if (video->fps_num > 0 && video->fps_den > 0)
    rate = MIN (rate, (double) video->fps_num / video->fps_den);
  window = opts.window;
  start = NS_TO_S (moment->start_ns);
  end = NS_TO_S (moment->end_ns);
  duration = video->duration_ns > 0 ? NS_TO_S (video->duration_ns) : G_MAXDOUBLE;

  /* The windows, within the video; one when they meet.  The last frame
   * is about one frame interval before the end. */
  {
    double last = duration < G_MAXDOUBLE ? MAX (duration - 1.0 / rate, 0.0) : G_MAXDOUBLE;
    double a0 = CLAMP (start - window, 0.0, last), a1 = CLAMP (start + window, 0.0, last);
    double b0 = CLAMP (end - window, 0.0, last), b1 = CLAMP (end + window, 0.0, last);

    windows[0].from = S_TO_NS (a0);
    windows[0].to = S_TO_NS (a1);
    windows[1].from = S_TO_NS (b0);
    windows[1].to = S_TO_NS (b1);
    if (windows[1].from <= windows[0].to + grid_time (1, rate))
      {
        windows[0].to = MAX (windows[0].to, windows[1].to);
        n_windows = 1;
      }
    else
      n_windows = 2;
  }

  short_side = MAX (224u, vm_clip_model_get_image_size (model));
  encoder.catalog = catalog;
  encoder.model = model;
  encoder.video_id = moment->video_id;
  encoder.model_id = model_id;
  encoder.dim = vm_clip_model_get_projection_dim (model);
  encoder.batch = opts.batch;
  encoder.cancellable = cancellable;
  encoder.batches = g_ptr_array_new_with_free_func ((GDestroyNotify) batch_free);
  /* Without a thread, batches are encoded on this one. */
  encoder.pool = g_thread_pool_new (encode_batch_cb, &encoder, 1, TRUE, NULL);

  {
    gboolean ok = TRUE;

    for (guint w = 0; w < n_windows && ok; w++)
      ok = ensure_window (&encoder, moment->path, short_side, rate, windows[w], report, error);
    if (ok)
      ok = encoder_finish (&encoder, &report->n_decoded, error);
    encoder_clear (&encoder);
    if (!ok)
      return FALSE;
  }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  start_times = g_array_new (FALSE, FALSE, sizeof (double));
  start_scores = g_array_new (FALSE, FALSE, sizeof (float));
  if (!score_window (&encoder, query, rate, windows[0], start_times, start_scores, error))
    return FALSE;
  if (n_windows == 2)
    {
      end_times = g_array_new (FALSE, FALSE, sizeof (double));
      end_scores = g_array_new (FALSE, FALSE, sizeof (float));
      if (!score_window (&encoder, query, rate, windows[1], end_times, end_scores, error))
        return FALSE;
    }
  else
    {
      end_times = g_array_ref (start_times);
      end_scores = g_array_ref (start_scores);
    }

  /* Each edge in its window, which stops at the moment's other end. */
  new_start = start;
  new_end = end;
  if (edge_in (start_times, start_scores, start - window, MIN (start + window, end), TRUE,
               opts.min_contrast, &t))
    new_start = t;
  if (edge_in (end_times, end_scores, MAX (end - window, start), end + window, FALSE,
               opts.min_contrast, &t))
    new_end = t;

  new_start = CLAMP (new_start, 0.0, duration);
  new_end = CLAMP (new_end, 0.0, duration);
  if (!(new_end > new_start))
    {
      /* The edges disagree: keep the moment. */
      g_debug ("Refining %s at %.3f-%.3f s gave %.3f-%.3f s; kept", moment->path, start, end,
               new_start, new_end);
      return TRUE;
    }
  if (new_end - new_start < opts.min_length)
    {
      double c = 0.5 * (new_start + new_end);
      double half = 0.5 * MIN (opts.min_length, duration);

      c = CLAMP (c, half, duration - half);
      new_start = MAX (c - half, 0.0);
      new_end = MIN (c + half, duration);
    }

  {
    gint64 s_ns = S_TO_NS (new_start), e_ns = S_TO_NS (new_end);

    report->start_shift = NS_TO_S (s_ns - moment->start_ns);
    report->end_shift = NS_TO_S (e_ns - moment->end_ns);
    moment->start_ns = s_ns;
    moment->end_ns = e_ns;
  }
  return TRUE;
}
