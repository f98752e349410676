/* bench-refine.c — the cost of refining one moment on a long clip.
 *
 *   bench-refine PYTHON make-tiny-clip.py [--repeat N] [--width W --height H]
 *                [--duration SECONDS] CLIP
 *
 * CLIP is generated when missing (by default 10 minutes of 1080p25 H.264,
 * a keyframe every 2 s, a box of on-screen text from the middle for 5.4 s;
 * kept for later runs).  The tiny random CLIP model is made in a temporary
 * folder.  Measured, best of N (wall clock, with the process's CPU time
 * beside it, for a loaded machine):
 *
 *  - one boundary window alone (±2 s at 6 frames/s): what the sampler read
 *    and decoded, against the file's size in units;
 *  - refining one moment (two windows) with an empty cache;
 *  - refining it again from the cache.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-refine.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <glib/gstdio.h>

#include "core/vm-util.h"
#include "gpu/vm-gpu-device.h"
#include "media/vm-media.h"

#include "../vm-test-util.h"

#define SEC VM_NSEC_PER_SEC

static double
self_cpu (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static gboolean
count_cb (const VmFrame  *frame,
          gpointer        user_data,
          GError        **error)
{
  return TRUE;
}

typedef struct {
  guint   width;
  guint   height;
  guint8  data[];
} Kept;

static gboolean
keep_cb (const VmFrame  *frame,
         gpointer        user_data,
         GError        **error)
{
  Kept *k = g_malloc (sizeof (Kept) + (gsize) frame->width * 3 * frame->height);

  k->width = frame->width;
  k->height = frame->height;
  for (guint y = 0; y < frame->height; y++)
    memcpy (k->data + (gsize) y * frame->width * 3, frame->data + (gsize) y * frame->stride,
            (gsize) frame->width * 3);
  g_ptr_array_add (user_data, k);
  return TRUE;
}

static float *query;
static VmClipModel *model;

static gboolean
query_cb (const VmFrame  *frame,
          gpointer        user_data,
          GError        **error)
{
  VmClipImage image = { frame->data, frame->width, frame->height, frame->stride };

  if (query != NULL)
    return TRUE;
  query = g_new (float, vm_clip_model_get_projection_dim (model));
  return vm_clip_model_encode_images (model, &image, 1, query, error);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(VmVideo) video = NULL;
  g_autoptr(VmMediaInfo) info = NULL;
  g_autofree char *work_dir = NULL;
  g_autofree char *model_dir = NULL;
  g_autofree char *span_text = NULL;
  VmGpuDevice *device;
  int repeat = 3, width = 1920, height = 1080;
  double duration = 600.0, span_start, span_end;
  gint64 model_id = 0;
  VmTimedText overlay[1];
  GOptionEntry entries[] = {
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Runs per measurement (best is kept)", "N" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Width of a generated clip", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Height of a generated clip", "H" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration, "Seconds of a generated clip", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("PYTHON make-tiny-clip.py CLIP");
  const char *python, *script, *clip;
  g_autofree char *absolute = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 4)
    {
      g_printerr ("%s\n", error ? error->message : "usage: bench-refine PYTHON make-tiny-clip.py CLIP");
      return 2;
    }
  python = argv[1];
  script = argv[2];
  clip = absolute = g_canonicalize_filename (argv[3], NULL);
  repeat = MAX (repeat, 1);

  if (!vm_media_init (&error))
    g_error ("%s", error->message);

  if (!g_file_test (clip, G_FILE_TEST_EXISTS))
    {
      VmClipSpec spec;
      double t0 = g_get_monotonic_time () / 1e6;

      vm_clip_spec_init (&spec);
      spec.width = (guint) width;
      spec.height = (guint) height;
      spec.duration = duration;
      spec.keyframe_interval = 2.0;
      spec.pattern = 11;
      overlay[0].start = floor (duration / 2) + 0.3;
      overlay[0].end = overlay[0].start + 5.4;
      overlay[0].text = "REFINE\nREFINE";
      spec.overlay = overlay;
      spec.n_overlay = 1;
      printf ("generating %s (%dx%d, %.0f s)...\n", clip, width, height, duration);
      fflush (stdout);
      if (!vm_media_generate_clip (&spec, clip, NULL, &error))
        g_error ("%s", error->message);
      printf ("generated in %.1f s\n", g_get_monotonic_time () / 1e6 - t0);
    }

  info = vm_media_probe (clip, 30000, &error);
  if (info == NULL)
    g_error ("%s", error->message);
  span_start = floor (info->duration_ns / 1e9 / 2) + 0.3;
  span_end = span_start + 5.4;
  printf ("clip: %dx%d, %.1f s, %d/%d fps; span %.1f-%.1f s\n", info->width, info->height,
          info->duration_ns / 1e9, info->fps_num, info->fps_den, span_start, span_end);

  device = vm_gpu_device_new (&error);
  if (device == NULL)
    {
      printf ("no Vulkan device: %s\n", error->message);
      return 77;
    }

  work_dir = g_dir_make_tmp ("vm-bench-refine-XXXXXX", &error);
  g_assert_no_error (error);
  vm_test_make_tiny_clip (python, script, work_dir);
  model_dir = g_build_filename (work_dir, "tiny-quick-f32", NULL);
  model = vm_clip_model_load (device, model_dir, VM_CLIP_LOAD_NO_TEXT, &error);
  if (model == NULL)
    g_error ("%s", error->message);

  catalog = vm_catalog_open (":memory:", &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_ensure_model (catalog, vm_clip_model_get_name (model),
                                          (int) vm_clip_model_get_projection_dim (model),
                                          vm_clip_model_get_digest (model), &model_id, &error));
  video = vm_video_new ();
  video->path = g_strdup (clip);
  video->duration_ns = info->duration_ns;
  video->width = info->width;
  video->height = info->height;
  video->fps_num = info->fps_num;
  video->fps_den = info->fps_den;
  if (!vm_catalog_save_video (catalog, video, &error))
    g_error ("%s", error->message);

  /* The query: a frame from the middle of the span. */
  {
    VmSamplerOptions options;

    vm_sampler_options_init (&options);
    options.mode = VM_SAMPLE_RATE;
    options.rate = 25.0;
    options.start_ns = (gint64) llround (0.5 * (span_start + span_end) * SEC);
    options.stop_ns = options.start_ns + SEC / 25;
    if (!vm_sampler_run (clip, &options, query_cb, NULL, NULL, &error))
      g_error ("%s", error->message);
  }

  /* One window alone. */
  {
    double best = G_MAXDOUBLE, best_cpu = 0;
    VmSamplerStats stats = { 0, };

    for (int r = 0; r < repeat; r++)
      {
        VmSamplerOptions options;
        double t0 = g_get_monotonic_time () / 1e6, c0 = self_cpu (), wall;

        vm_sampler_options_init (&options);
        options.mode = VM_SAMPLE_RATE;
        options.rate = 6.0;
        options.start_ns = (gint64) llround ((span_start - 1.5 - 2.0) * SEC);
        options.stop_ns = (gint64) llround ((span_start - 1.5 + 2.0) * SEC);
        if (!vm_sampler_run_full (clip, &options, count_cb, NULL, &stats, NULL, &error))
          g_error ("%s", error->message);
        wall = g_get_monotonic_time () / 1e6 - t0;
        if (wall < best)
          {
            best = wall;
            best_cpu = self_cpu () - c0;
          }
      }
    printf ("one window (4 s at 6/s): %.3f s wall, %.3f s CPU; %" G_GUINT64_FORMAT " frames, %"
            G_GUINT64_FORMAT " units read, %" G_GUINT64_FORMAT " decoded of %.0f in the file\n",
            best, best_cpu, stats.frames, stats.units_in, stats.units_decoded,
            info->duration_ns / 1e9 * info->fps_num / MAX (info->fps_den, 1));
  }

  /* Encoding alone: the frames of two windows (48 at 224 px), in batches of 16. */
  {
    g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GArray) images = g_array_new (FALSE, FALSE, sizeof (VmClipImage));
    g_autofree float *out = NULL;
    VmSamplerOptions options;
    double best = G_MAXDOUBLE, best_cpu = 0;

    vm_sampler_options_init (&options);
    options.mode = VM_SAMPLE_RATE;
    options.rate = 12.0;
    options.start_ns = (gint64) llround ((span_start - 1.5 - 2.0) * SEC);
    options.stop_ns = (gint64) llround ((span_start - 1.5 + 2.0) * SEC);
    if (!vm_sampler_run (clip, &options, keep_cb, frames, NULL, &error))
      g_error ("%s", error->message);
    for (guint i = 0; i < frames->len && i < 48; i++)
      {
        Kept *k = g_ptr_array_index (frames, i);
        VmClipImage image = { k->data, k->width, k->height, k->width * 3 };

        g_array_append_val (images, image);
      }
    out = g_new (float, (gsize) images->len * vm_clip_model_get_projection_dim (model));
    for (int r = 0; r < repeat; r++)
      {
        double t0 = g_get_monotonic_time () / 1e6, c0 = self_cpu (), wall;

        for (guint i = 0; i < images->len; i += 16)
          if (!vm_clip_model_encode_images (model, &g_array_index (images, VmClipImage, i),
                                            MIN (16, images->len - i),
                                            out + (gsize) i * vm_clip_model_get_projection_dim (model),
                                            &error))
            g_error ("%s", error->message);
        wall = g_get_monotonic_time () / 1e6 - t0;
        if (wall < best)
          {
            best = wall;
            best_cpu = self_cpu () - c0;
          }
      }
    printf ("encode %u frames of %ux%u in batches of 16: %.3f s wall, %.3f s CPU\n", images->len,
            images->len ? g_array_index (images, VmClipImage, 0).width : 0,
            images->len ? g_array_index (images, VmClipImage, 0).height : 0, best, best_cpu);
  }

  /* A moment, cold and from the cache. */
  {
    double best_cold = G_MAXDOUBLE, cpu_cold = 0, best_warm = G_MAXDOUBLE, cpu_warm = 0;
    VmRefineReport cold = { 0, }, warm = { 0, };
    gint64 got_start = 0, got_end = 0;

    for (int r = 0; r < repeat; r++)
      {
        g_autoptr(VmMoment) moment = vm_moment_new ();
        VmRefineReport report;
        double t0, c0, wall;

        g_assert_true (vm_catalog_clear_dense_embeddings (catalog, 0, &error));
        moment->video_id = video->id;
        moment->path = g_strdup (clip);
        moment->start_ns = (gint64) llround ((span_start - 1.5) * SEC);
        moment->end_ns = (gint64) llround ((span_end + 1.5) * SEC);
        t0 = g_get_monotonic_time () / 1e6;
        c0 = self_cpu ();
        if (!vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL, &error))
          g_error ("%s", error->message);
        wall = g_get_monotonic_time () / 1e6 - t0;
        if (wall < best_cold)
          {
            best_cold = wall;
            cpu_cold = self_cpu () - c0;
            cold = report;
          }
        got_start = moment->start_ns;
        got_end = moment->end_ns;

        moment->start_ns = (gint64) llround ((span_start - 1.5) * SEC);
        moment->end_ns = (gint64) llround ((span_end + 1.5) * SEC);
        t0 = g_get_monotonic_time () / 1e6;
        c0 = self_cpu ();
        if (!vm_refine_moment (catalog, model, model_id, query, moment, NULL, &report, NULL, &error))
          g_error ("%s", error->message);
        wall = g_get_monotonic_time () / 1e6 - t0;
        if (wall < best_warm)
          {
            best_warm = wall;
            cpu_warm = self_cpu () - c0;
            warm = report;
          }
        g_assert_cmpint (moment->start_ns, ==, got_start);
        g_assert_cmpint (moment->end_ns, ==, got_end);
      }
    printf ("refine one moment (2 windows), empty cache: %.3f s wall, %.3f s CPU; %u decoded\n",
            best_cold, cpu_cold, cold.n_decoded);
    printf ("refine again from the cache: %.4f s wall, %.4f s CPU; %u decoded, %u cached\n",
            best_warm, cpu_warm, warm.n_decoded, warm.n_cached);
    printf ("boundaries: %.3f-%.3f s (true %.3f-%.3f s, coarse %.3f-%.3f s)\n",
            got_start / 1e9, got_end / 1e9, span_start, span_end, span_start - 1.5, span_end + 1.5);
  }

  g_clear_pointer (&model, vm_clip_model_unref);
  vm_gpu_device_unref (device);
  g_free (query);
  vm_test_remove_tree (work_dir);
  return 0;
}
