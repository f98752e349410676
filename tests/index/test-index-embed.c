/* test-index-embed.c — visual embeddings in the index, on a tiny random CLIP
 * model and generated clips: every kept frame embedded as the encoder embeds
 * it, resume after a cancel, videos indexed without the model (or with other
 * weights) embedded on the next run, near-duplicate dropping within shots,
 * and the bounded encoder queue.
 *
 * Usage: test-index-embed [PYTHON make-tiny-clip.py] [GTest options]
 * Without the two arguments (no python3 with numpy), or without a Vulkan
 * device, the model tests are skipped with a message.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <math.h>
#include <utime.h>

#include "core/vm-core.h"
#include "core/vm-util.h"
#include "gpu/vm-gpu-device.h"
#include "index/vm-indexer.h"
#include "index/vm-indexer-private.h"

#include "../vm-test-gpu.h"
#include "../vm-test-util.h"

typedef struct {
  char      *dir;
  char      *cache;
  VmCatalog *catalog;
} Fixture;

static VmGpuDevice *device;
static VmClipModel *model;         /* tiny-quick-f32 */
static VmClipModel *model_other;   /* the same name, other weights (digest) */
static char *skip_reason;
static char *work_dir;
static char *clip_moving;          /* 3 s, scrolling bars */
static char *clip_ball;            /* 3 s, moving ball, VP9 */
static char *clip_static;          /* 30 s, one solid colour */
static char *clip_cuts;            /* 12 s, three solid-colour shots */
static char *clip_long;            /* 60 s */

#define REQUIRE_MODEL() VM_TEST_SKIP_UNLESS (model != NULL, skip_reason)

static void
assert_no_validation_messages (void)
{
  vm_test_assert_no_validation_messages (device);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;

  f->dir = g_dir_make_tmp ("vm-index-embed-XXXXXX", &error);
  g_assert_no_error (error);
  f->cache = g_build_filename (f->dir, ".cache", NULL);
  db = g_build_filename (f->dir, ".catalog.sqlite", NULL);
  f->catalog = vm_catalog_open (db, &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (f->catalog, f->dir, NULL, &error));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->catalog);
  vm_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->cache);
  assert_no_validation_messages ();
}

static void
add_copy (Fixture    *f,
          const char *clip,
          const char *name)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);

  vm_test_copy_file (clip, path);
}

static void
options_init (Fixture        *f,
              VmIndexOptions *options,
              VmClipModel    *with_model)
{
  vm_index_options_init (options);
  options->thumbnails = FALSE;
  options->text.enabled = FALSE;
  options->sampler.short_side = 64;
  options->model = with_model;
}

static void
run_index (Fixture              *f,
           const VmIndexOptions *options,
           VmIndexReport        *report)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (vm_indexer_run (f->catalog, options, NULL, NULL, NULL, report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report->n_failed, ==, 0);
}

static gint64
model_id_of (Fixture     *f,
             VmClipModel *m)
{
  g_autoptr(GPtrArray) models = vm_catalog_list_models (f->catalog, NULL);

  for (guint i = 0; i < models->len; i++)
    {
      VmModelRecord *r = g_ptr_array_index (models, i);

      if (g_str_equal (r->name, vm_clip_model_get_name (m)))
        {
          g_assert_cmpstr (r->digest, ==, vm_clip_model_get_digest (m));
          g_assert_cmpint (r->dim, ==, vm_clip_model_get_projection_dim (m));
          return r->id;
        }
    }
  g_assert_not_reached ();
  return 0;
}

/* Every indexed video has one unit embedding per stored frame, and no
 * duplicate frame. */
static void
assert_complete (Fixture     *f,
                 VmClipModel *m,
                 guint        n_videos)
{
  g_autoptr(GPtrArray) videos = vm_catalog_list_videos (f->catalog, 0, NULL);
  gint64 model_id = model_id_of (f, m);
  guint dim = vm_clip_model_get_projection_dim (m);

  g_assert_cmpuint (videos->len, ==, n_videos);
  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (videos, i);
      g_autoptr(GArray) frames = vm_catalog_get_frames (f->catalog, v->id, NULL);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      const guint16 *halves;
      guint n = 0, first = 99, counted = 0;

      g_assert_cmpint (v->status, ==, VM_VIDEO_STATUS_INDEXED);
      g_assert_cmpuint (frames->len, >, 0);
      g_assert_cmpuint (frames->len, ==, v->n_frames);
      for (guint k = 1; k < frames->len; k++)
        g_assert_cmpint (g_array_index (frames, VmFrameRecord, k).pts_ns, >,
                         g_array_index (frames, VmFrameRecord, k - 1).pts_ns);

      g_assert_true (vm_catalog_count_embeddings (f->catalog, v->id, model_id, &counted, &error));
      g_assert_cmpuint (counted, ==, frames->len);
      bytes = vm_catalog_get_embeddings (f->catalog, v->id, model_id, &n, &first, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (n, ==, frames->len);
      g_assert_cmpuint (first, ==, 0);
      g_assert_cmpuint (g_bytes_get_size (bytes), ==, (gsize) n * dim * 2);
      halves = g_bytes_get_data (bytes, NULL);
      for (guint k = 0; k < n; k++)
        {
          double norm = 0;

          for (guint d = 0; d < dim; d++)
            {
              double x = vm_half_to_float (halves[(gsize) k * dim + d]);

              norm += x * x;
            }
          g_assert_cmpfloat_with_epsilon (sqrt (norm), 1.0, 2e-3);
        }
    }
}

/* ---- The stored embeddings are the encoder's ---------------------------- */

typedef struct {
  gint64  pts_ns;
  guint8 *data;
  guint   width;
  guint   height;
} Captured;

static gboolean
capture_cb (const VmFrame  *frame,
            gpointer        user_data,
            GError        **error)
{
  Captured *c = user_data;

  if (frame->pts_ns != c->pts_ns || c->data != NULL)
    return TRUE;
  c->width = frame->width;
  c->height = frame->height;
  c->data = g_malloc ((gsize) frame->width * 3 * frame->height);
  for (guint y = 0; y < frame->height; y++)
    memcpy (c->data + (gsize) y * frame->width * 3, frame->data + (gsize) y * frame->stride, frame->width * 3);
  return TRUE;
}

static void
test_embeddings (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) videos = NULL;
  VmIndexOptions options;
  VmIndexReport report;
  guint dim;

  REQUIRE_MODEL ();
  dim = vm_clip_model_get_projection_dim (model);

  add_copy (f, clip_moving, "moving.mp4");
  add_copy (f, clip_ball, "ball.webm");
  options_init (f, &options, model);
  options.batch_size = 3;
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  g_assert_cmpuint (report.n_embedded, ==, report.n_frames);
  g_assert_cmpuint (report.n_sampled, ==, report.n_frames + report.n_dropped);
  g_assert_false (report.model_replaced);
  assert_complete (f, model, 2);

  /* One frame of each video, decoded and encoded independently. */
  videos = vm_catalog_list_videos (f->catalog, 0, NULL);
  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (videos, i);
      g_autoptr(GArray) frames = vm_catalog_get_frames (f->catalog, v->id, NULL);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree float *expected = g_new (float, dim);
      const guint16 *halves;
      guint k = frames->len / 2, n = 0;
      Captured c = { g_array_index (frames, VmFrameRecord, k).pts_ns, NULL, 0, 0 };
      VmClipImage image;
      double dot = 0, max_err = 0;

      g_assert_true (vm_sampler_run (v->path, &options.sampler, capture_cb, &c, NULL, &error));
      g_assert_no_error (error);
      g_assert_nonnull (c.data);
      image = (VmClipImage) { c.data, c.width, c.height, 0 };
      g_assert_true (vm_clip_model_encode_images (model, &image, 1, expected, &error));
      g_assert_no_error (error);
      g_free (c.data);

      bytes = vm_catalog_get_embeddings (f->catalog, v->id, model_id_of (f, model), &n, NULL, &error);
      g_assert_no_error (error);
      halves = (const guint16 *) g_bytes_get_data (bytes, NULL) + (gsize) k * dim;
      for (guint d = 0; d < dim; d++)
        {
          double x = vm_half_to_float (halves[d]);

          dot += x * expected[d];
          max_err = MAX (max_err, fabs (x - expected[d]));
        }
      g_assert_cmpfloat (dot, >=, 0.999);
      g_assert_cmpfloat (max_err, <=, 2e-3);
    }

  /* Nothing to do the next time. */
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 0);
  g_assert_cmpuint (report.n_unchanged, ==, 2);
}

/* ---- Resume after a cancel ---------------------------------------------- */

typedef struct {
  VmJob   *job;
  GThread *canceller;
} CancelState;

static gpointer
cancel_later_thread (gpointer data)
{
  g_usleep (60 * 1000);
  vm_job_cancel (data);
  return NULL;
}

static void
cancel_in_second_cb (const VmIndexEvent *event,
                     gpointer            user_data)
{
  CancelState *state = user_data;

  if (event->type == VM_INDEX_EVENT_STARTED && event->index == 1 && state->canceller == NULL)
    state->canceller = g_thread_new ("cancel", cancel_later_thread, state->job);
}

static void
test_resume (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(VmJob) job = vm_job_new ("test");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) videos = NULL;
  CancelState state = { job, NULL };
  VmIndexOptions options;
  VmIndexReport report;
  guint n_done = 0;

  REQUIRE_MODEL ();

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("clip%u.mp4", i);

      add_copy (f, clip_moving, name);
    }

  /* Slow enough that the cancel lands inside the second file. */
  options_init (f, &options, model);
  options.sampler.mode = VM_SAMPLE_RATE;
  options.sampler.rate = 5;
  options.keep_every = 0;
  options.batch_size = 1;
  options.encoder_delay_ms = 40;
  g_assert_false (vm_indexer_run (f->catalog, &options, job, cancel_in_second_cb, &state, &report, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_thread_join (state.canceller);
  g_assert_true (report.cancelled);
  g_assert_cmpuint (report.n_indexed, ==, 1);

  videos = vm_catalog_list_videos (f->catalog, 0, NULL);
  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (videos, i);
      guint counted = 0;

      if (v->status == VM_VIDEO_STATUS_INDEXED)
        {
          n_done++;
          g_assert_true (vm_catalog_count_embeddings (f->catalog, v->id, model_id_of (f, model), &counted, NULL));
          g_assert_cmpuint (counted, ==, v->n_frames);
        }
      else
        {
          /* Nothing half-stored. */
          g_assert_cmpuint (v->n_frames, ==, 0);
        }
    }
  g_assert_cmpuint (n_done, ==, 1);

  options.encoder_delay_ms = 0;
  run_index (f, &options, &report);
  g_assert_false (report.cancelled);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  g_assert_cmpuint (report.n_unchanged, ==, 1);
  assert_complete (f, model, 3);
}

/* ---- Encoder errors ----------------------------------------------------- */

typedef struct {
  guint  n_failed;
  char  *message;
} FailState;

static void
record_failure_cb (const VmIndexEvent *event,
                   gpointer            user_data)
{
  FailState *state = user_data;

  if (event->type != VM_INDEX_EVENT_FAILED)
    return;
  state->n_failed++;
  g_free (state->message);
  state->message = g_strdup (event->error->message);
}

static void
test_encoder_error (Fixture       *f,
                    gconstpointer  data)
{
  VmIndexOptions options;
  VmIndexReport report;

  REQUIRE_MODEL ();

  add_copy (f, clip_moving, "a.mp4");
  add_copy (f, clip_ball, "b.webm");
  options_init (f, &options, model);
  options.keep_every = 0;
  options.sampler.mode = VM_SAMPLE_RATE;
  options.sampler.rate = 4;
  options.batch_size = 2;

  /* With and without the encoder thread: the file fails with the
   * encoder's error, nothing of it is stored, the batch goes on. */
  for (guint overlap = 0; overlap < 2; overlap++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) videos = NULL;
      FailState state = { 0, NULL };

      options.max_batches_queued = overlap ? 2 : 0;
      _vm_indexer_set_encoder_failure (2);
      g_assert_true (vm_indexer_run (f->catalog, &options, NULL, record_failure_cb, &state, &report, &error));
      _vm_indexer_set_encoder_failure (0);
      g_assert_no_error (error);
      g_assert_cmpuint (report.n_failed, ==, 2);
      g_assert_cmpuint (state.n_failed, ==, 2);
      g_assert_cmpstr (state.message, ==, "Out of GPU memory (test)");
      g_free (state.message);

      /* Not the file's fault: tried again next time. */
      videos = vm_catalog_list_videos (f->catalog, 0, NULL);
      for (guint i = 0; i < videos->len; i++)
        {
          VmVideo *v = g_ptr_array_index (videos, i);

          g_assert_cmpint (v->status, ==, VM_VIDEO_STATUS_PROBED);
          g_assert_cmpuint (v->n_frames, ==, 0);
        }
    }

  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  assert_complete (f, model, 2);
}

/* ---- Embeddings added to an index made without them ---------------------- */

static void
test_added_later (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) before = NULL;
  VmIndexOptions options;
  VmIndexReport report;

  REQUIRE_MODEL ();

  add_copy (f, clip_moving, "a.mp4");
  add_copy (f, clip_ball, "b.webm");
  options_init (f, &options, NULL);
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  g_assert_cmpuint (report.n_embedded, ==, 0);
  before = vm_catalog_list_videos (f->catalog, 0, NULL);

  /* Without a model, nothing more to do. */
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 0);

  /* With one, both are sampled again and embedded. */
  options.model = model;
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_reembed, ==, 2);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  g_assert_cmpuint (report.n_embedded, ==, report.n_frames);
  assert_complete (f, model, 2);

  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 0);
  g_assert_cmpuint (report.n_reembed, ==, 0);

  /* A video whose embeddings went missing (a crash between versions, a
   * partial put) is completed too. */
  {
    g_autoptr(GPtrArray) videos = vm_catalog_list_videos (f->catalog, 0, NULL);
    VmVideo *v = g_ptr_array_index (videos, 0);
    g_autoptr(GArray) frames = vm_catalog_get_frames (f->catalog, v->id, NULL);
    g_autoptr(GError) error = NULL;

    /* Dropping the embeddings the way replace_frames does. */
    g_assert_true (vm_catalog_replace_frames (f->catalog, v->id, (VmFrameRecord *) (gpointer) frames->data,
                                              frames->len, &error));
    g_assert_no_error (error);
    run_index (f, &options, &report);
    g_assert_cmpuint (report.n_reembed, ==, 1);
    g_assert_cmpuint (report.n_indexed, ==, 1);
    assert_complete (f, model, 2);
  }

  /* The videos kept their identity. */
  for (guint i = 0; i < before->len; i++)
    {
      VmVideo *v = g_ptr_array_index (before, i);
      g_autoptr(VmVideo) now = vm_catalog_get_video (f->catalog, v->id, NULL);

      g_assert_nonnull (now);
      g_assert_cmpstr (now->path, ==, v->path);
    }
}

/* ---- Other weights under the same name ---------------------------------- */

static void
test_digest_change (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) models = NULL;
  VmIndexOptions options;
  VmIndexReport report;

  REQUIRE_MODEL ();
  g_assert_cmpstr (vm_clip_model_get_name (model), ==, vm_clip_model_get_name (model_other));
  g_assert_cmpstr (vm_clip_model_get_digest (model), !=, vm_clip_model_get_digest (model_other));

  add_copy (f, clip_moving, "a.mp4");
  add_copy (f, clip_ball, "b.webm");
  options_init (f, &options, model);
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  assert_complete (f, model, 2);

  options.model = model_other;
  run_index (f, &options, &report);
  g_assert_true (report.model_replaced);
  g_assert_cmpuint (report.n_reembed, ==, 2);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  assert_complete (f, model_other, 2);

  /* One record, the new weights. */
  models = vm_catalog_list_models (f->catalog, NULL);
  g_assert_cmpuint (models->len, ==, 1);

  run_index (f, &options, &report);
  g_assert_false (report.model_replaced);
  g_assert_cmpuint (report.n_indexed, ==, 0);
}

/* ---- Near-duplicates ---------------------------------------------------- */

static GArray *
index_one_clip (Fixture       *f,
                const char    *clip,
                const char    *name,
                double         keep_every,
                VmIndexReport *report)
{
  g_autoptr(VmVideo) v = NULL;
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  VmIndexOptions options;

  add_copy (f, clip, name);
  options_init (f, &options, NULL);
  options.sampler.mode = VM_SAMPLE_RATE;
  options.sampler.rate = 2;
  options.keep_every = keep_every;
  run_index (f, &options, report);
  g_assert_cmpuint (report->n_indexed, ==, 1);
  v = vm_catalog_find_video_by_path (f->catalog, path, NULL);
  g_assert_nonnull (v);
  return vm_catalog_get_frames (f->catalog, v->id, NULL);
}

static void
test_dedupe_static (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GArray) frames = NULL;
  VmIndexReport report;

  /* 30 s of one colour at 2 frames/s: kept at 0, 8, 16 and 24 s. */
  frames = index_one_clip (f, clip_static, "static.mp4", 8.0, &report);
  g_assert_cmpuint (report.n_sampled, >=, 59);
  g_assert_cmpuint (frames->len, >=, 4);
  g_assert_cmpuint (frames->len, <=, 5);
  g_assert_cmpuint (report.n_dropped, ==, report.n_sampled - frames->len);
  g_assert_cmpint (g_array_index (frames, VmFrameRecord, 0).pts_ns, ==, 0);
  for (guint k = 1; k < frames->len; k++)
    {
      gint64 gap = g_array_index (frames, VmFrameRecord, k).pts_ns -
                   g_array_index (frames, VmFrameRecord, k - 1).pts_ns;

      g_assert_cmpint (gap, <=, 8 * VM_NSEC_PER_SEC);
      g_assert_cmpint (gap, >=, 7 * VM_NSEC_PER_SEC);
    }
}

static void
test_dedupe_off (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GArray) frames = NULL;
  VmIndexReport report;

  frames = index_one_clip (f, clip_static, "static.mp4", 0, &report);
  g_assert_cmpuint (report.n_dropped, ==, 0);
  g_assert_cmpuint (frames->len, ==, report.n_sampled);
}

static void
test_dedupe_cuts (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GArray) frames = NULL;
  VmIndexReport report;
  guint per_shot[8] = { 0 };
  int last_shot;

  /* Three 4 s shots of one colour each, keep_every longer than the clip. */
  frames = index_one_clip (f, clip_cuts, "cuts.mp4", 60.0, &report);
  g_assert_cmpuint (report.n_dropped, >, 0);
  last_shot = g_array_index (frames, VmFrameRecord, frames->len - 1).shot_id;
  g_assert_cmpint (last_shot, ==, 2);
  for (guint k = 0; k < frames->len; k++)
    {
      int shot = g_array_index (frames, VmFrameRecord, k).shot_id;

      g_assert_cmpint (shot, >=, 0);
      g_assert_cmpint (shot, <, (int) G_N_ELEMENTS (per_shot));
      per_shot[shot]++;
    }
  /* Each shot keeps its first frame, and the last one of the shots that
   * dropped frames, so that the cut falls between the right samples. */
  for (int s = 0; s <= last_shot; s++)
    {
      g_assert_cmpuint (per_shot[s], >=, 1);
      g_assert_cmpuint (per_shot[s], <=, 2);
    }
}

static void
test_grey_distance (void)
{
  guint8 grey_img[32 * 16 * 3], white_img[32 * 16 * 3];
  VmFrame a = { 0, TRUE, 32, 16, 96, grey_img };
  VmFrame b = { 0, TRUE, 32, 16, 96, white_img };
  guint8 ga[256], gb[256];

  memset (grey_img, 128, sizeof grey_img);
  memset (white_img, 255, sizeof white_img);
  vm_frame_grey_thumbnail (&a, ga);
  vm_frame_grey_thumbnail (&b, gb);
  g_assert_cmpuint (ga[0], ==, 128);
  g_assert_cmpuint (gb[255], ==, 255);
  g_assert_cmpfloat_with_epsilon (vm_frame_grey_distance (ga, ga), 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (vm_frame_grey_distance (ga, gb), 127.0 / 255.0, 1e-9);
}

/* ---- The catalog's side ------------------------------------------------ */

static void
test_reset_model (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmCatalog) catalog = vm_catalog_open (":memory:", &error);
  g_autoptr(VmVideo) video = vm_video_new ();
  g_autoptr(GPtrArray) models = NULL;
  VmFrameRecord frames[3] = { { 0, TRUE, 0 }, { 1000, FALSE, 0 }, { 2000, FALSE, 1 } };
  guint16 halves[3 * 4];
  gint64 id = 0, id2 = 0;
  gboolean replaced = TRUE;
  guint n = 99;

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (halves); i++)
    halves[i] = vm_float_to_half (0.5f);
  video->path = g_strdup ("/v.mp4");
  g_assert_true (vm_catalog_save_video (catalog, video, &error));
  g_assert_true (vm_catalog_replace_frames (catalog, video->id, frames, 3, &error));

  /* New: registered. */
  g_assert_true (vm_catalog_reset_model (catalog, "m", 4, "sha256:aa", &id, &replaced, &error));
  g_assert_no_error (error);
  g_assert_false (replaced);
  g_assert_true (vm_catalog_count_embeddings (catalog, video->id, id, &n, &error));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (vm_catalog_put_embeddings (catalog, video->id, id, 0, 2, 4, halves, &error));
  g_assert_true (vm_catalog_count_embeddings (catalog, video->id, id, &n, &error));
  g_assert_cmpuint (n, ==, 2);

  /* The same weights: nothing changes. */
  g_assert_true (vm_catalog_reset_model (catalog, "m", 4, "sha256:aa", &id2, &replaced, &error));
  g_assert_false (replaced);
  g_assert_cmpint (id2, ==, id);
  g_assert_true (vm_catalog_count_embeddings (catalog, video->id, id, &n, &error));
  g_assert_cmpuint (n, ==, 2);

  /* ensure_model refuses other weights; reset_model takes them over and
   * drops the old embeddings. */
  g_assert_false (vm_catalog_ensure_model (catalog, "m", 4, "sha256:bb", &id2, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (vm_catalog_reset_model (catalog, "m", 3, "sha256:bb", &id2, &replaced, &error));
  g_assert_no_error (error);
  g_assert_true (replaced);
  g_assert_cmpint (id2, ==, id);
  g_assert_true (vm_catalog_count_embeddings (catalog, video->id, id, &n, &error));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (vm_catalog_ensure_model (catalog, "m", 3, "sha256:bb", &id2, &error));
  models = vm_catalog_list_models (catalog, &error);
  g_assert_cmpuint (models->len, ==, 1);
  g_assert_cmpint (((VmModelRecord *) g_ptr_array_index (models, 0))->dim, ==, 3);

  /* Bad arguments stay errors and change nothing. */
  g_assert_false (vm_catalog_reset_model (catalog, "m", 0, "sha256:cc", &id2, NULL, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_reset_model (catalog, "", 4, "sha256:cc", &id2, NULL, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (vm_catalog_ensure_model (catalog, "m", 3, "sha256:bb", &id2, &error));
}

/* ---- Bounded memory ----------------------------------------------------- */

static void
test_bounded (Fixture       *f,
              gconstpointer  data)
{
  VmIndexOptions options;
  VmIndexReport report;

  REQUIRE_MODEL ();

  /* 60 s at 2 frames/s, every frame kept, batches of 4, a slow encoder:
   * decoding waits for the encoder with at most two batches queued. */
  add_copy (f, clip_long, "long.mp4");
  options_init (f, &options, model);
  options.sampler.mode = VM_SAMPLE_RATE;
  options.sampler.rate = 2;
  options.keep_every = 0;
  options.batch_size = 4;
  options.encoder_delay_ms = 30;
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_frames, >=, 119);
  g_assert_cmpuint (report.n_embedded, ==, report.n_frames);
  g_assert_cmpuint (report.max_batches_queued, ==, 2);
  assert_complete (f, model, 1);

  /* Without overlap, the sampling thread encodes: never more than one. */
  options.force = TRUE;
  options.max_batches_queued = 0;
  options.encoder_delay_ms = 0;
  run_index (f, &options, &report);
  g_assert_cmpuint (report.n_indexed, ==, 1);
  g_assert_cmpuint (report.max_batches_queued, ==, 1);
  assert_complete (f, model, 1);
}

/* ---- Setup -------------------------------------------------------------- */

static void
generate (const char  *path,
          VmClipFormat format,
          int          pattern,
          double       duration)
{
  g_autoptr(GError) error = NULL;
  VmClipSpec spec;

  vm_clip_spec_init (&spec);
  spec.format = format;
  spec.width = 160;
  spec.height = 120;
  spec.fps_num = 10;
  spec.fps_den = 1;
  spec.duration = duration;
  spec.keyframe_interval = 1.0;
  spec.pattern = pattern;
  g_assert_true (vm_media_generate_clip (&spec, path, NULL, &error));
  g_assert_no_error (error);
}

/* Switches the source's pattern every 40 frames (4 s at 10 frames/s). */
static GstPadProbeReturn
cut_probe_cb (GstPad          *pad,
              GstPadProbeInfo *info,
              gpointer         user_data)
{
  static const int patterns[] = { 4, 6, 5 };   /* red, blue, green */
  guint *count = user_data;
  GstElement *src = GST_ELEMENT (gst_pad_get_parent (pad));

  (*count)++;
  if (*count % 40 == 0 && *count / 40 < G_N_ELEMENTS (patterns))
    g_object_set (src, "pattern", patterns[*count / 40], NULL);
  gst_object_unref (src);
  return GST_PAD_PROBE_OK;
}

static void
generate_cuts (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(GstElement) src = NULL;
  g_autoptr(GstPad) pad = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstMessage) msg = NULL;
  guint count = 0;

  description = g_strdup_printf ("videotestsrc name=src pattern=4 num-buffers=120 ! "
                                 "video/x-raw,format=I420,width=160,height=120,framerate=10/1 ! "
                                 "x264enc speed-preset=ultrafast key-int-max=10 ! mp4mux ! "
                                 "filesink location=\"%s\"", path);
  pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cut_probe_cb, &count, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static void
make_models (const char *python,
             const char *script)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir_a = g_build_filename (work_dir, "a", NULL);
  g_autofree char *dir_b = g_build_filename (work_dir, "b", "tiny-quick-f32", NULL);
  g_autofree char *model_a = NULL;

  device = vm_test_open_device (FALSE, &skip_reason);
  if (device == NULL)
    return;

  vm_test_make_tiny_clip (python, script, dir_a);
  model_a = g_build_filename (dir_a, "tiny-quick-f32", NULL);
  model = vm_clip_model_load (device, model_a, VM_CLIP_LOAD_NO_TEXT, &error);
  g_assert_no_error (error);

  /* The same name with other weights: a copy with another mtime, which the
   * digest of a model without a manifest covers. */
  g_assert_cmpint (g_mkdir_with_parents (dir_b, 0755), ==, 0);
  {
    const char *files[] = { "config.json", "model.safetensors", "vocab.json", "merges.txt" };

    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      {
        g_autofree char *from = g_build_filename (model_a, files[i], NULL);
        g_autofree char *to = g_build_filename (dir_b, files[i], NULL);
        struct utimbuf times;

        vm_test_copy_file (from, to);
        times.actime = times.modtime = time (NULL) - 7200;
        g_assert_cmpint (utime (to, &times), ==, 0);
      }
  }
  model_other = vm_clip_model_load (device, dir_b, VM_CLIP_LOAD_NO_TEXT, &error);
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cache_dir = NULL;
  const char *python = NULL, *script = NULL;
  int ret;

  vm_test_take_script_args (&argc, &argv, &python, &script);

  cache_dir = vm_test_set_xdg_dirs ("vm-index-embed-cache-XXXXXX");
  g_test_init (&argc, &argv, NULL);

  if (!vm_media_init (&error))
    g_error ("%s", error->message);

  work_dir = g_dir_make_tmp ("vm-index-embed-work-XXXXXX", &error);
  g_assert_no_error (error);
  if (python != NULL)
    make_models (python, script);
  else
    skip_reason = g_strdup ("python3 with numpy was not found: no tiny CLIP model to test with");

  clip_moving = g_build_filename (work_dir, "moving.mp4", NULL);
  clip_ball = g_build_filename (work_dir, "ball.webm", NULL);
  clip_static = g_build_filename (work_dir, "static.mp4", NULL);
  clip_cuts = g_build_filename (work_dir, "cuts.mp4", NULL);
  clip_long = g_build_filename (work_dir, "long.mp4", NULL);
  generate (clip_moving, VM_CLIP_MP4_H264, 0, 3.0);
  generate (clip_ball, VM_CLIP_WEBM_VP9, 18, 3.0);
  generate (clip_static, VM_CLIP_MP4_H264, 4, 30.0);
  generate (clip_long, VM_CLIP_MP4_H264, 0, 60.0);
  generate_cuts (clip_cuts);

  g_test_add_func ("/index-embed/grey-distance", test_grey_distance);
  g_test_add_func ("/index-embed/catalog/reset-model", test_reset_model);
  g_test_add ("/index-embed/dedupe/static", Fixture, NULL, fixture_set_up, test_dedupe_static, fixture_tear_down);
  g_test_add ("/index-embed/dedupe/off", Fixture, NULL, fixture_set_up, test_dedupe_off, fixture_tear_down);
  g_test_add ("/index-embed/dedupe/cuts", Fixture, NULL, fixture_set_up, test_dedupe_cuts, fixture_tear_down);
  g_test_add ("/index-embed/model/embeddings", Fixture, NULL, fixture_set_up, test_embeddings, fixture_tear_down);
  g_test_add ("/index-embed/model/encoder-error", Fixture, NULL, fixture_set_up, test_encoder_error, fixture_tear_down);
  g_test_add ("/index-embed/model/resume", Fixture, NULL, fixture_set_up, test_resume, fixture_tear_down);
  g_test_add ("/index-embed/model/added-later", Fixture, NULL, fixture_set_up, test_added_later, fixture_tear_down);
  g_test_add ("/index-embed/model/digest-change", Fixture, NULL, fixture_set_up, test_digest_change, fixture_tear_down);
  g_test_add ("/index-embed/model/bounded", Fixture, NULL, fixture_set_up, test_bounded, fixture_tear_down);

  ret = g_test_run ();

  g_clear_pointer (&model, vm_clip_model_unref);
  g_clear_pointer (&model_other, vm_clip_model_unref);
  g_clear_pointer (&device, vm_gpu_device_unref);
  vm_test_remove_tree (work_dir);
  vm_test_remove_tree (cache_dir);
  g_free (work_dir);
  g_free (skip_reason);
  g_free (clip_moving);
  g_free (clip_ball);
  g_free (clip_static);
  g_free (clip_cuts);
  g_free (clip_long);
  return ret;
}
