/* bench-search-engine.c — the latency of each step of a search over a
 * synthetic library: N frames of random unit embeddings (a planted moment
 * in one video) written to a temporary catalog, searched with the tiny
 * random CLIP model's text tower.
 *
 * Usage: bench-search-engine PYTHON make-tiny-clip.py [FRAMES [REPEATS]]
 * (defaults 100000 and 10).  Prints the first (cold: upload) search and the
 * median of the warm ones.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>

#include "core/vm-core.h"
#include "model/vm-clip-model.h"
#include "model/vm-model-store.h"
#include "search/vm-search-engine.h"

#include "../vm-test-util.h"

#define FRAMES_PER_VIDEO 100
#define QUERY "a zebra crossing the road"

static double
gauss (GRand *rand)
{
  double u1 = g_rand_double_range (rand, 1e-12, 1), u2 = g_rand_double (rand);

  return sqrt (-2 * log (u1)) * cos (2 * G_PI * u2);
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
print_result (const char     *label,
              VmSearchResult *r)
{
  g_print ("%-8s sync %8.2f  encode %7.2f  scan %8.2f  curves %7.2f  ground %6.2f  text %6.2f  total %8.2f ms"
           "  (%" G_GUINT64_FORMAT " frames, %u candidates, %u moments)\n",
           label, r->sync_ms, r->encode_ms, r->scan_ms, r->curves_ms, r->ground_ms, r->text_ms, r->total_ms,
           r->n_frames, r->n_candidates, r->moments->len);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuDevice) device = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autofree char *work = g_dir_make_tmp ("vm-bench-search-XXXXXX", NULL);
  g_autofree char *models = g_build_filename (work, "models", NULL);
  g_autofree char *src = g_build_filename (work, "tiny-quick-f32", NULL);
  g_autofree char *cat_path = g_build_filename (work, "catalog.sqlite", NULL);
  g_autofree char *installed = NULL;
  g_autofree char *path = NULL;
  g_autofree float *q = NULL;
  g_autofree guint16 *fp16 = NULL;
  g_autofree float *row = NULL;
  guint64 n_frames = argc > 3 ? g_ascii_strtoull (argv[3], NULL, 10) : 100000;
  guint repeats = argc > 4 ? atoi (argv[4]) : 10;
  guint n_videos, dim;
  const char *texts[] = { QUERY };
  gint64 folder_id, model_id, target = 0, t0;
  GRand *rand = g_rand_new_with_seed (11);
  VmSearchEngineOptions options;
  VmSearchQuery query;
  double *steps[6];
  const char *names[6] = { "encode", "scan", "curves", "ground", "text", "total" };

  if (argc < 3)
    g_error ("usage: %s PYTHON make-tiny-clip.py [FRAMES [REPEATS]]", argv[0]);
  g_setenv ("XDG_CACHE_HOME", work, TRUE);

  vm_test_make_tiny_clip (argv[1], argv[2], work);
  installed = vm_model_store_import (models, src, NULL, NULL, &error);
  g_assert_no_error (error);
  path = g_build_filename (models, installed, NULL);

  device = vm_gpu_device_new (&error);
  if (device == NULL)
    {
      g_print ("no Vulkan device: %s\n", error->message);
      return 77;
    }
  g_print ("device: %s (%s)\n", vm_gpu_device_get_info (device)->name, vm_gpu_device_get_info (device)->driver_name);
  model = vm_clip_model_load (device, path, VM_CLIP_LOAD_NO_VISION, &error);
  g_assert_no_error (error);
  dim = vm_clip_model_get_projection_dim (model);
  q = g_new (float, dim);
  g_assert_true (vm_clip_model_encode_texts (model, texts, 1, q, &error));

  catalog = vm_catalog_open (cat_path, &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (catalog, work, &folder_id, &error));
  g_assert_true (vm_catalog_ensure_model (catalog, vm_clip_model_get_name (model), dim,
                                          vm_clip_model_get_digest (model), &model_id, &error));
  g_assert_no_error (error);

  n_videos = MAX (1, (guint) (n_frames / FRAMES_PER_VIDEO));
  fp16 = g_new (guint16, (gsize) FRAMES_PER_VIDEO * dim);
  row = g_new (float, dim);
  t0 = g_get_monotonic_time ();
  g_assert_true (vm_catalog_begin (catalog, &error));
  for (guint v = 0; v < n_videos; v++)
    {
      g_autoptr(VmVideo) video = vm_video_new ();
      VmFrameRecord frames[FRAMES_PER_VIDEO];

      video->folder_id = folder_id;
      video->path = g_strdup_printf ("%s/video-%06u.mp4", work, v);
      video->fingerprint = g_strdup_printf ("fp-%u", v);
      video->duration_ns = FRAMES_PER_VIDEO * VM_NSEC_PER_SEC;
      video->fps_num = 25;
      video->fps_den = 1;
      video->status = VM_VIDEO_STATUS_INDEXED;
      g_assert_true (vm_catalog_save_video (catalog, video, &error));
      for (guint i = 0; i < FRAMES_PER_VIDEO; i++)
        {
          gboolean planted = v == n_videos / 2 && i >= 40 && i < 50;
          double norm = 0;

          frames[i] = (VmFrameRecord) { (gint64) i * VM_NSEC_PER_SEC + VM_NSEC_PER_SEC / 2, TRUE, i / 10 };
          for (guint k = 0; k < dim; k++)
            {
              row[k] = (planted ? q[k] : 0) + (planted ? 0.05 : 1.0) * gauss (rand);
              norm += (double) row[k] * row[k];
            }
          for (guint k = 0; k < dim; k++)
            fp16[(gsize) i * dim + k] = vm_float_to_half (row[k] / sqrt (norm));
        }
      g_assert_true (vm_catalog_replace_frames (catalog, video->id, frames, FRAMES_PER_VIDEO, &error));
      g_assert_true (vm_catalog_put_embeddings (catalog, video->id, model_id, 0, FRAMES_PER_VIDEO, dim, fp16,
                                                &error));
      g_assert_no_error (error);
      if (v == n_videos / 2)
        target = video->id;
    }
  g_assert_true (vm_catalog_commit (catalog, &error));
  g_print ("library: %u videos, %" G_GUINT64_FORMAT " frames of %u dims, written in %.1f s\n", n_videos,
           (guint64) n_videos * FRAMES_PER_VIDEO, dim, (g_get_monotonic_time () - t0) / 1e6);

  vm_search_engine_options_init (&options);
  options.models_dir = models;
  options.device = device;
  engine = vm_search_engine_new (&options, &error);
  g_assert_no_error (error);

  vm_search_query_init (&query);
  query.text = QUERY;

  for (guint s = 0; s < G_N_ELEMENTS (steps); s++)
    steps[s] = g_new0 (double, MAX (repeats, 1));
  for (guint i = 0; i <= repeats; i++)
    {
      g_autoptr(VmSearchResult) r = vm_search_engine_search (engine, catalog, &query, NULL, &error);

      g_assert_no_error (error);
      if (i == 0)
        {
          const VmMoment *top = r->moments->len > 0 ? r->moments->pdata[0] : NULL;

          print_result ("cold", r);
          g_print ("top moment: video %" G_GINT64_FORMAT " %.1f–%.1f s (planted: video %" G_GINT64_FORMAT
                   " 40–50 s)\n", top ? top->video_id : 0, top ? top->start_ns / 1e9 : 0,
                   top ? top->end_ns / 1e9 : 0, target);
          continue;
        }
      steps[0][i - 1] = r->encode_ms;
      steps[1][i - 1] = r->scan_ms;
      steps[2][i - 1] = r->curves_ms;
      steps[3][i - 1] = r->ground_ms;
      steps[4][i - 1] = r->text_ms;
      steps[5][i - 1] = r->total_ms;
      if (i == repeats)
        print_result ("last", r);
    }
  g_print ("median of %u warm searches:", repeats);
  for (guint s = 0; s < G_N_ELEMENTS (steps); s++)
    {
      qsort (steps[s], repeats, sizeof (double), compare_double);
      g_print ("  %s %.2f", names[s], steps[s][repeats / 2]);
      g_free (steps[s]);
    }
  g_print (" ms\n");

  g_rand_free (rand);
  g_clear_pointer (&engine, vm_search_engine_unref);
  g_clear_object (&catalog);
  vm_test_remove_tree (work);
  return 0;
}
