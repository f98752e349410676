/* bench-index-embed.c — indexing throughput with visual embeddings: frames/s
 * of vm_indexer_run() decoding only, embedding on the sampling thread (no
 * overlap) and embedding on the encoder thread (overlap), on one generated
 * clip.
 *
 * Usage: bench-index-embed MODEL_DIR [--duration S] [--rate FPS]
 *                          [--batch N] [--size WxH] [--repeat N]
 *                          [--python PYTHON --script make-tiny-clip.py]
 * $VIDMARK_BENCH_MODEL overrides MODEL_DIR.  With --python and --script, a
 * MODEL_DIR without config.json is written by the script (a tiny random
 * model: MODEL_DIR must end in tiny-quick-f32).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <stdio.h>

#include "core/vm-core.h"
#include "gpu/vm-gpu-device.h"
#include "index/vm-indexer.h"

#include "../vm-test-util.h"

static double
run_once (const char  *db_dir,
          const char  *lib,
          VmClipModel *model,
          guint        max_queued,
          double       rate,
          guint        batch,
          guint64     *out_frames)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmCatalog) catalog = NULL;
  g_autofree char *db = g_build_filename (db_dir, "bench.sqlite", NULL);
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  g_autofree char *shm = g_strconcat (db, "-shm", NULL);
  VmIndexOptions options;
  VmIndexReport report;
  gint64 t0;

  g_unlink (db);
  g_unlink (wal);
  g_unlink (shm);
  catalog = vm_catalog_open (db, &error);
  if (catalog == NULL || !vm_catalog_add_folder (catalog, lib, NULL, &error))
    g_error ("%s", error->message);

  vm_index_options_init (&options);
  options.thumbnails = FALSE;
  options.text.enabled = FALSE;
  options.sampler.mode = VM_SAMPLE_RATE;
  options.sampler.rate = rate;
  options.keep_every = 0;
  options.model = model;
  options.batch_size = batch;
  options.max_batches_queued = max_queued;

  t0 = g_get_monotonic_time ();
  if (!vm_indexer_run (catalog, &options, NULL, NULL, NULL, &report, &error))
    g_error ("%s", error->message);
  if (report.n_failed > 0)
    g_error ("indexing failed");
  *out_frames = report.n_frames;
  return (g_get_monotonic_time () - t0) / 1e6;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL_DIR");
  g_autoptr(VmGpuDevice) device = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autofree char *work = NULL;
  g_autofree char *lib = NULL;
  g_autofree char *clip = NULL;
  g_autofree char *size = NULL;
  g_autofree char *python = NULL;
  g_autofree char *script = NULL;
  const char *model_dir;
  double duration = 60, rate = 4;
  int batch = 32, repeat = 1;
  guint width = 320, height = 240;
  const GOptionEntry entries[] = {
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration, "Clip length in seconds (60)", "S" },
    { "rate", 0, 0, G_OPTION_ARG_DOUBLE, &rate, "Sampled frames per second (4)", "FPS" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Frames per encoder batch (32)", "N" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Clip size (320x240)", "WxH" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Runs of each kind; the best is shown (1)", "N" },
    { "python", 0, 0, G_OPTION_ARG_FILENAME, &python, "Python with numpy, to write a tiny model", "PYTHON" },
    { "script", 0, 0, G_OPTION_ARG_FILENAME, &script, "make-tiny-clip.py", "SCRIPT" },
    { NULL }
  };
  VmClipSpec spec;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("usage: %s MODEL_DIR [--duration S] [--rate FPS] [--batch N] [--size WxH]\n", argv[0]);
      return 2;
    }
  if (size != NULL && sscanf (size, "%ux%u", &width, &height) != 2)
    g_error ("bad --size");

  if (!vm_media_init (&error))
    g_error ("%s", error->message);
  device = vm_gpu_device_new (&error);
  if (device == NULL)
    g_error ("%s", error->message);
  model_dir = g_getenv ("VIDMARK_BENCH_MODEL") ? g_getenv ("VIDMARK_BENCH_MODEL") : argv[1];
  {
    g_autofree char *config = g_build_filename (model_dir, "config.json", NULL);

    if (!g_file_test (config, G_FILE_TEST_EXISTS) && python != NULL && script != NULL)
      {
        g_autofree char *parent = g_path_get_dirname (model_dir);

        vm_test_make_tiny_clip (python, script, parent);
      }
  }
  model = vm_clip_model_load (device, model_dir, VM_CLIP_LOAD_NO_TEXT, &error);
  if (model == NULL)
    g_error ("%s", error->message);

  work = g_dir_make_tmp ("vm-bench-index-XXXXXX", &error);
  lib = g_build_filename (work, "lib", NULL);
  g_mkdir (lib, 0755);
  clip = g_build_filename (lib, "clip.mp4", NULL);
  vm_clip_spec_init (&spec);
  spec.width = width;
  spec.height = height;
  spec.duration = duration;
  spec.pattern = 0;
  if (!vm_media_generate_clip (&spec, clip, NULL, &error))
    g_error ("%s", error->message);

  printf ("model %s (dim %u, image %u, %s weights) on %s; clip %ux%u, %.0f s, %.1f frames/s sampled, batch %d\n",
          vm_clip_model_get_name (model), vm_clip_model_get_projection_dim (model),
          vm_clip_model_get_image_size (model), vm_clip_model_uses_f16 (model) ? "fp16" : "fp32",
          vm_gpu_device_get_info (device)->name, width, height, duration, rate, batch);

  {
    const struct { const char *label; gboolean with_model; guint queued; } kinds[] = {
      { "decode only", FALSE, 2 },
      { "embed, no overlap", TRUE, 0 },
      { "embed, overlap", TRUE, 2 },
    };

    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        double best = G_MAXDOUBLE;
        guint64 frames = 0;

        for (int r = 0; r < MAX (1, repeat); r++)
          best = MIN (best, run_once (work, lib, kinds[k].with_model ? model : NULL, kinds[k].queued,
                                      rate, batch, &frames));
        printf ("%-18s %5" G_GUINT64_FORMAT " frames  %7.2f s  %8.1f frames/s\n", kinds[k].label, frames,
                best, frames / best);
        fflush (stdout);
      }
  }

  {
    g_autofree char *db = g_build_filename (work, "bench.sqlite", NULL);
    g_autofree char *wal = g_strconcat (db, "-wal", NULL);
    g_autofree char *shm = g_strconcat (db, "-shm", NULL);

    g_unlink (db);
    g_unlink (wal);
    g_unlink (shm);
    g_unlink (clip);
    g_rmdir (lib);
    g_rmdir (work);
  }
  return 0;
}
