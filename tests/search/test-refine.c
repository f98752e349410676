/* test-refine.c — coarse-to-fine refinement of a moment's boundaries.
 *
 * A generated clip shows a box of on-screen text from SPAN_START to
 * SPAN_END over a still picture.  A tiny random CLIP model (made by
 * make-tiny-clip.py at test time) has no semantics, so the query is the
 * embedding of a frame from inside the span: the dense curve is then high
 * inside and lower outside, and a coarse moment off by 1.5 s at each end
 * must come back to the true boundaries.
 *
 * Usage: test-refine PYTHON make-tiny-clip.py [GTest options]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-refine.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "core/vm-util.h"
#include "gpu/vm-gpu-device.h"
#include "media/vm-media.h"

#include "../vm-test-gpu.h"
#include "../vm-test-util.h"

#define SEC VM_NSEC_PER_SEC

#define CLIP_DURATION 16.0
#define SPAN_START    5.3
#define SPAN_END      10.7

static VmGpuDevice *device;
static char *device_error;
static char *work_dir;
static const char *python;
static const char *script;

static VmClipModel *model;
static VmCatalog *catalog;
static gint64 model_id;
static gint64 video_id;
static char *clip_path;
static float *query;

static const VmTimedText overlay[] = {
  { SPAN_START, SPAN_END, "REFINE\nREFINE" },
};

#define REQUIRE_MODEL() VM_TEST_SKIP_UNLESS (model != NULL, device_error)

static void
assert_no_validation_messages (void)
{
  vm_test_assert_no_validation_messages (device);
}

static VmMoment *
moment_at (const char *path,
           gint64      id,
           double      start,
           double      end)
{
  VmMoment *moment = vm_moment_new ();

  moment->video_id = id;
  moment->path = g_strdup (path);
  moment->start_ns = (gint64) llround (start * SEC);
  moment->end_ns = (gint64) llround (end * SEC);
  moment->signals = VM_SIGNAL_VISUAL;
  return moment;
}

static gint64
add_video (const char *path,
           double      duration)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmVideo) video = vm_video_new ();

  video->path = g_strdup (path);
  video->duration_ns = (gint64) llround (duration * SEC);
  video->width = 320;
  video->height = 240;
  video->fps_num = 25;
  video->fps_den = 1;
  video->status = VM_VIDEO_STATUS_INDEXED;
  g_assert_true (vm_catalog_save_video (catalog, video, &error));
  g_assert_no_error (error);
  return video->id;
}

static guint64
n_cached_frames (gint64 id)
{
  g_autoptr(GError) error = NULL;
  guint64 n = 0;

  g_assert_true (vm_catalog_count_dense_embeddings (catalog, id, &n, &error));
  g_assert_no_error (error);
  return n;
}

/* ---- The edge finder on synthetic curves (no GPU) ----------------------- */

static guint32
next_random (guint32 *state)
{
  *state ^= *state << 13;
  *state ^= *state >> 17;
  *state ^= *state << 5;
  return *state;
}

/* Roughly normal noise of unit deviation. */
static double
noise (guint32 *state)
{
  double sum = 0.0;

  for (int i = 0; i < 12; i++)
    sum += (double) next_random (state) / G_MAXUINT32;
  return sum - 6.0;
}

static void
test_find_edge (void)
{
  double times[25], t = -1.0, contrast = 0.0;
  float scores[25];
  guint32 state = 4242;

  /* A clean step between samples 9 and 10: the midpoint. */
  for (guint i = 0; i < 25; i++)
    {
      times[i] = 3.0 + i / 6.0;
      scores[i] = i < 10 ? 0.20f : 0.26f;
    }
  g_assert_true (vm_refine_find_edge (times, scores, 25, TRUE, 0.005, &t, &contrast));
  g_assert_cmpfloat_with_epsilon (t, 0.5 * (times[9] + times[10]), 1e-9);
  g_assert_cmpfloat_with_epsilon (contrast, 0.06, 1e-6);
  /* The same as an end: no falling edge. */
  g_assert_false (vm_refine_find_edge (times, scores, 25, FALSE, 0.005, &t, NULL));
  /* Below the least contrast. */
  g_assert_false (vm_refine_find_edge (times, scores, 25, TRUE, 0.1, &t, NULL));

  /* A falling edge with noise and a ramp over two samples: the crossing of
   * the midpoint. */
  for (guint i = 0; i < 25; i++)
    {
      double level = i < 14 ? 0.5 : 0.3;

      if (i == 14)
        level = 0.45;
      if (i == 15)
        level = 0.35;
      scores[i] = (float) (level + 0.005 * noise (&state));
    }
  t = -1.0;
  g_assert_true (vm_refine_find_edge (times, scores, 25, FALSE, 0.005, &t, NULL));
  g_assert_cmpfloat (fabs (t - times[15]), <, 1.0 / 6.0);

  /* Noise alone, and a flat curve: no edge. */
  for (guint trial = 0; trial < 50; trial++)
    {
      for (guint i = 0; i < 25; i++)
        scores[i] = (float) (0.3 + 0.01 * noise (&state));
      g_assert_false (vm_refine_find_edge (times, scores, 25, trial % 2 == 0, 0.005, &t, NULL));
    }
  for (guint i = 0; i < 25; i++)
    scores[i] = 0.3f;
  g_assert_false (vm_refine_find_edge (times, scores, 25, TRUE, 0.0, &t, NULL));

  /* Too few samples. */
  g_assert_false (vm_refine_find_edge (times, scores, 3, TRUE, 0.0, &t, NULL));
  g_assert_false (vm_refine_find_edge (NULL, NULL, 0, TRUE, 0.0, &t, NULL));
}

/* ---- On a generated clip with the tiny model ---------------------------- */

static void
check_close (gint64 got_ns,
             double expected,
             double tolerance)
{
  double got = (double) got_ns / SEC;

  g_test_message ("boundary %.3f s, true %.3f s", got, expected);
  g_assert_cmpfloat (fabs (got - expected), <=, tolerance);
}

static void
test_refine (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMoment) moment = NULL;
  g_autoptr(VmMoment) again = NULL;
  VmRefineOptions options;
  VmRefineReport report;
  double tolerance;
  gint64 t0;

  REQUIRE_MODEL ();

  vm_refine_options_init (&options);
  g_assert_cmpfloat (options.window, ==, 2.0);
  g_assert_cmpfloat (options.rate, ==, 6.0);
  tolerance = 1.0 / options.rate + 0.05;

  /* Too wide by 1.5 s at each end. */
  moment = moment_at (clip_path, video_id, SPAN_START - 1.5, SPAN_END + 1.5);
  t0 = g_get_monotonic_time ();
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, moment, &options, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_test_message ("refined in %.0f ms: %u decoded, %u cached, shifts %+.3f %+.3f s",
                  (g_get_monotonic_time () - t0) / 1000.0, report.n_decoded, report.n_cached,
                  report.start_shift, report.end_shift);
  check_close (moment->start_ns, SPAN_START, tolerance);
  check_close (moment->end_ns, SPAN_END, tolerance);
  /* Two windows of 4 s at 6 frames/s. */
  g_assert_cmpuint (report.n_decoded, >=, 2 * 24);
  g_assert_cmpuint (report.n_decoded, <=, 2 * 26);
  g_assert_cmpuint (report.n_cached, ==, 0);
  g_assert_cmpfloat_with_epsilon (report.start_shift, (double) moment->start_ns / SEC - (SPAN_START - 1.5),
                                  1e-6);
  g_assert_cmpfloat_with_epsilon (report.end_shift, (double) moment->end_ns / SEC - (SPAN_END + 1.5),
                                  1e-6);
  g_assert_cmpuint (n_cached_frames (video_id), ==, report.n_decoded);
  assert_no_validation_messages ();

  /* Again: everything from the cache, the same result. */
  again = moment_at (clip_path, video_id, SPAN_START - 1.5, SPAN_END + 1.5);
  t0 = g_get_monotonic_time ();
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, again, &options, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_test_message ("from the cache in %.0f ms: %u decoded, %u cached",
                  (g_get_monotonic_time () - t0) / 1000.0, report.n_decoded, report.n_cached);
  g_assert_cmpuint (report.n_decoded, ==, 0);
  g_assert_cmpuint (report.n_cached, >=, 2 * 24);
  g_assert_cmpint (again->start_ns, ==, moment->start_ns);
  g_assert_cmpint (again->end_ns, ==, moment->end_ns);
  g_clear_pointer (&again, vm_moment_free);

  /* Too narrow by 1.4 s at each end: the windows reach out; what the cache
   * has is used, only the rest is decoded. */
  again = moment_at (clip_path, video_id, SPAN_START + 1.4, SPAN_END - 1.4);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, again, NULL, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_test_message ("narrow: %u decoded, %u cached", report.n_decoded, report.n_cached);
  check_close (again->start_ns, SPAN_START, tolerance);
  check_close (again->end_ns, SPAN_END, tolerance);
  g_assert_cmpuint (report.n_cached, >, 0);
  g_assert_cmpuint (report.n_decoded, <, 2 * 24);
  /* One frame per grid time of the merged window (6.6 s at 6/s), none twice. */
  g_assert_cmpuint (report.n_cached + report.n_decoded, >=, 39);
  g_assert_cmpuint (report.n_cached + report.n_decoded, <=, 41);
  g_clear_pointer (&again, vm_moment_free);

  /* Shifted late by 1.5 s. */
  again = moment_at (clip_path, video_id, SPAN_START + 1.5, SPAN_END + 1.5);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, again, NULL, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  check_close (again->start_ns, SPAN_START, tolerance);
  check_close (again->end_ns, SPAN_END, tolerance);
  assert_no_validation_messages ();
}

/* Where nothing changes, the curve is flat and the moment stays. */
static void
test_refine_flat (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMoment) moment = NULL;
  VmRefineReport report;

  REQUIRE_MODEL ();

  /* Both windows (0-5 s) end before the span starts. */
  moment = moment_at (clip_path, video_id, 1.5, 3.0);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_test_message ("flat: %u decoded, %u cached", report.n_decoded, report.n_cached);
  g_assert_cmpuint (report.n_decoded + report.n_cached, >, 0);
  g_assert_cmpint (moment->start_ns, ==, 1500 * G_GINT64_CONSTANT (1000000));
  g_assert_cmpint (moment->end_ns, ==, 3000 * G_GINT64_CONSTANT (1000000));
  g_assert_cmpfloat (report.start_shift, ==, 0.0);
  g_assert_cmpfloat (report.end_shift, ==, 0.0);
}

/* Boundaries stay inside the video, a moment keeps its minimum length and
 * never turns inside out. */
static void
test_refine_clamp (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMoment) moment = NULL;
  VmRefineOptions options;
  VmRefineReport report;

  REQUIRE_MODEL ();

  /* Past the end of the video (a coarse end can be). */
  moment = moment_at (clip_path, video_id, 14.0, CLIP_DURATION + 3.0);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_assert_cmpint (moment->start_ns, >=, 0);
  g_assert_cmpint (moment->end_ns, <=, (gint64) (CLIP_DURATION * SEC));
  g_assert_cmpint (moment->end_ns, >, moment->start_ns);
  g_clear_pointer (&moment, vm_moment_free);

  /* A short moment right at the start of the span: its edges are looked
   * for apart, and it keeps at least min_length. */
  vm_refine_options_init (&options);
  options.min_length = 3.0;
  moment = moment_at (clip_path, video_id, SPAN_START - 0.5, SPAN_START + 0.7);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, moment, &options, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_test_message ("short: %.3f-%.3f s", (double) moment->start_ns / SEC, (double) moment->end_ns / SEC);
  g_assert_cmpint (moment->end_ns - moment->start_ns, >=, 3 * SEC - 2);
  g_assert_cmpint (moment->start_ns, >=, 0);
  /* The start moved to the span's start, the end (inside the span) stayed,
   * then it was widened around the middle of those. */
  check_close (moment->start_ns, 0.5 * (SPAN_START + SPAN_START + 0.7) - 1.5, 1.0 / 6.0 + 0.05);
  g_clear_pointer (&moment, vm_moment_free);

  /* At time 0. */
  moment = moment_at (clip_path, video_id, 0.0, 0.4);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_assert_cmpint (moment->start_ns, >=, 0);
  g_assert_cmpint (moment->end_ns, >, moment->start_ns);
  assert_no_validation_messages ();
}

/* A missing file: a media error, the moment untouched, even though the
 * cache could answer. */
static void
test_refine_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMoment) moment = NULL;
  g_autofree char *gone = g_build_filename (work_dir, "gone.mp4", NULL);
  g_autofree char *contents = NULL;
  VmRefineReport report;
  gsize length;
  gint64 id;

  REQUIRE_MODEL ();

  g_assert_true (g_file_get_contents (clip_path, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (gone, contents, (gssize) length, NULL));
  id = add_video (gone, CLIP_DURATION);

  moment = moment_at (gone, id, SPAN_START - 1.5, SPAN_END + 1.5);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.n_decoded, >, 0);
  g_assert_cmpuint (n_cached_frames (id), ==, report.n_decoded);
  g_clear_pointer (&moment, vm_moment_free);

  /* A re-index (the frames replaced) empties the cache: decoded again. */
  g_assert_true (vm_catalog_replace_frames (catalog, id, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_cached_frames (id), ==, 0);
  moment = moment_at (gone, id, SPAN_START - 1.5, SPAN_END + 1.5);
  g_assert_true (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL,
                                   &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.n_decoded, >, 0);
  g_assert_cmpuint (report.n_cached, ==, 0);
  g_clear_pointer (&moment, vm_moment_free);

  g_assert_cmpint (g_unlink (gone), ==, 0);
  moment = moment_at (gone, id, SPAN_START - 1.5, SPAN_END + 1.5);
  g_assert_false (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL,
                                    &error));
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, "gone.mp4"));
  g_assert_cmpint (moment->start_ns, ==, (gint64) llround ((SPAN_START - 1.5) * SEC));
  g_assert_cmpint (moment->end_ns, ==, (gint64) llround ((SPAN_END + 1.5) * SEC));
  g_clear_error (&error);

  /* A file that is not a video (and nothing cached for it). */
  g_assert_true (g_file_set_contents (gone, "not a video at all", -1, NULL));
  g_assert_true (vm_catalog_clear_dense_embeddings (catalog, id, &error));
  g_assert_no_error (error);
  g_assert_false (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL,
                                    &error));
  g_assert_true (error->domain == VM_MEDIA_ERROR);
  g_assert_cmpint (moment->start_ns, ==, (gint64) llround ((SPAN_START - 1.5) * SEC));
  g_assert_cmpint (moment->end_ns, ==, (gint64) llround ((SPAN_END + 1.5) * SEC));
  g_clear_error (&error);
  g_unlink (gone);
}

static gpointer
cancel_soon_thread (gpointer data)
{
  g_usleep (30 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_refine_cancel (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMoment) moment = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GThread *thread = NULL;
  VmRefineReport report;
  gint64 start, end;

  REQUIRE_MODEL ();

  /* Cancelled before. */
  g_cancellable_cancel (cancellable);
  moment = moment_at (clip_path, video_id, 1.0, 4.0);
  g_assert_false (vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report,
                                    cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (moment->start_ns, ==, 1 * SEC);
  g_assert_cmpint (moment->end_ns, ==, 4 * SEC);

  /* Cancelled while it decodes (nothing of this video is cached yet). */
  g_cancellable_reset (cancellable);
  {
    g_autoptr(VmMoment) fresh = NULL;
    g_autofree char *copy = g_build_filename (work_dir, "cancel.mp4", NULL);
    g_autofree char *contents = NULL;
    gsize length;
    gint64 id;

    g_assert_true (g_file_get_contents (clip_path, &contents, &length, NULL));
    g_assert_true (g_file_set_contents (copy, contents, (gssize) length, NULL));
    id = add_video (copy, CLIP_DURATION);
    fresh = moment_at (copy, id, SPAN_START - 1.5, SPAN_END + 1.5);
    start = fresh->start_ns;
    end = fresh->end_ns;
    thread = g_thread_new ("cancel", cancel_soon_thread, cancellable);
    g_assert_false (vm_refine_moment (catalog, model, model_id, query, fresh, NULL, &report,
                                      cancellable, &error));
    g_thread_join (g_steal_pointer (&thread));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpint (fresh->start_ns, ==, start);
    g_assert_cmpint (fresh->end_ns, ==, end);
    g_unlink (copy);
  }
}

/* ---- Set-up ------------------------------------------------------------- */

/* The query: the embedding of a frame from the middle of the span. */
static gboolean
query_frame_cb (const VmFrame  *frame,
                gpointer        user_data,
                GError        **error)
{
  VmClipImage image = { frame->data, frame->width, frame->height, frame->stride };

  if (query != NULL)
    return TRUE;
  query = g_new (float, vm_clip_model_get_projection_dim (model));
  return vm_clip_model_encode_images (model, &image, 1, query, error);
}

static void
set_up (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *model_dir = NULL;
  VmClipSpec spec;
  VmSamplerOptions options;

  device = vm_test_open_device (FALSE, &device_error);
  if (device == NULL)
    return;

  vm_test_make_tiny_clip (python, script, work_dir);
  model_dir = g_build_filename (work_dir, "tiny-quick-f32", NULL);
  model = vm_clip_model_load (device, model_dir, VM_CLIP_LOAD_NO_TEXT, &error);
  g_assert_no_error (error);

  catalog = vm_catalog_open (":memory:", &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_ensure_model (catalog, vm_clip_model_get_name (model),
                                          (int) vm_clip_model_get_projection_dim (model),
                                          vm_clip_model_get_digest (model), &model_id, &error));
  g_assert_no_error (error);

  clip_path = g_build_filename (work_dir, "span.mp4", NULL);
  vm_clip_spec_init (&spec);
  spec.duration = CLIP_DURATION;
  spec.keyframe_interval = 2.0;
  spec.pattern = 11;
  spec.overlay = overlay;
  spec.n_overlay = G_N_ELEMENTS (overlay);
  g_assert_true (vm_media_generate_clip (&spec, clip_path, NULL, &error));
  g_assert_no_error (error);
  video_id = add_video (clip_path, CLIP_DURATION);

  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 25.0;
  options.start_ns = (gint64) llround (0.5 * (SPAN_START + SPAN_END) * SEC);
  options.stop_ns = options.start_ns + SEC / 25;
  g_assert_true (vm_sampler_run (clip_path, &options, query_frame_cb, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (query);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  if (!vm_test_take_script_args (&argc, &argv, &python, &script))
    g_error ("usage: %s PYTHON make-tiny-clip.py", argv[0]);

  /* The model, the clip and the XDG folders all go to one folder. */
  work_dir = vm_test_set_xdg_dirs ("vm-refine-XXXXXX");
  g_test_init (&argc, &argv, NULL);

  if (!vm_media_init (&error))
    g_error ("%s", error->message);
  set_up ();

  g_test_add_func ("/refine/find-edge", test_find_edge);
  g_test_add_func ("/refine/moment", test_refine);
  g_test_add_func ("/refine/flat", test_refine_flat);
  g_test_add_func ("/refine/clamp", test_refine_clamp);
  g_test_add_func ("/refine/missing-file", test_refine_missing);
  g_test_add_func ("/refine/cancel", test_refine_cancel);

  ret = g_test_run ();

  g_clear_pointer (&model, vm_clip_model_unref);
  g_clear_object (&catalog);
  g_clear_pointer (&device, vm_gpu_device_unref);
  g_free (query);
  g_free (clip_path);
  vm_test_remove_tree (work_dir);
  g_free (work_dir);
  g_free (device_error);
  return ret;
}
