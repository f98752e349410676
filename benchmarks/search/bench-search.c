/* bench-search.c — search latency over a synthetic library: the similarity
 * scan (vm_embedding_store_top_frames, k = 64), the score curves of the
 * candidate videos (vm_embedding_store_curves) and temporal grounding
 * (vm_ground_curve), per query; then the same work by the FAISS peer
 * (bench-search-faiss: IndexFlatIP top-k over fp32 rows, BLAS GEMV curves,
 * the same grounding) on the same data, and the ratio.
 *
 *   bench-search [--sizes 10000,100000,1000000] [--queries N] [--dim D]
 *                [--video-frames F] [--peer PATH] [--budget BYTES]
 *                [--model DIR | --make-model PYTHON MAKER WORK_DIR]
 *
 * With a ViT-B/32-shaped model (--model, or written once by
 * make-tiny-clip.py --vit-b32 with --make-model) the text encoding of one
 * query is timed too and added to the total.
 *
 * The machine may be loaded: CPU time (getrusage, all threads of the process,
 * lavapipe's and OpenMP's included) is the figure to compare.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <glib.h>

#include "model/vm-clip-model.h"
#include "search/vm-embedding-store.h"
#include "search/vm-grounding.h"

#define K 64
#define SEC ((gint64) 1000000000)

static guint64 rng_state;

/* The generator the peer uses too: the same halves, the same queries. */
static guint64
next_u64 (void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

/* ±[0.125, 1): normal halves only. */
static guint16
next_half (void)
{
  guint64 r = next_u64 ();

  return (guint16) (((r >> 63) << 15) | (0x3000 + (r >> 20) % 0x0C00));
}

static float
next_float (void)
{
  return (float) (next_u64 () >> 40) / (float) (1 << 24) * 2.0f - 1.0f;
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static long
max_rss_mb (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

typedef struct {
  guint64 rows;
  double  wall_ms, cpu_ms;                 /* per query, median / mean */
  double  scan_ms, curves_ms, ground_ms;   /* per query, medians */
  double  scan_cpu, curves_cpu, ground_cpu; /* per query, means */
  double  bytes_device, bytes_host;        /* per frame */
  guint   candidates;                      /* videos per query, mean */
  gint64  top_video;                       /* the first query's best hit */
  guint   top_frame;
  double  top_score;
} Result;

static double
median (double *v,
        guint   n)
{
  qsort (v, n, sizeof *v, compare_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static gboolean
run_ours (VmGpuDevice  *device,
          guint64       rows,
          guint         dim,
          guint         video_frames,
          guint         n_queries,
          guint64       budget,
          Result       *res,
          GError      **error)
{
  g_autoptr(VmEmbeddingStore) store = NULL;
  VmEmbeddingStoreOptions options;
  g_autofree guint16 *rows_buf = g_new (guint16, (gsize) video_frames * dim);
  g_autofree gint64 *pts = g_new (gint64, video_frames);
  g_autofree int *shots = g_new (int, video_frames);
  g_autofree float *queries = g_new (float, (gsize) (n_queries + 2) * dim);
  g_autofree double *walls = g_new (double, n_queries);
  g_autofree double *scans = g_new (double, n_queries);
  g_autofree double *curve_t = g_new (double, n_queries);
  g_autofree double *grounds = g_new (double, n_queries);
  g_autofree double *times = g_new (double, video_frames);
  VmGroundingOptions gopts;
  double cpu_total = 0, t0;
  guint cand_total = 0;
  guint streamed = 0;

  vm_embedding_store_options_init (&options);
  options.resident_budget = budget;
  store = vm_embedding_store_new (device, 1, dim, &options, error);
  if (store == NULL)
    return FALSE;

  rng_state = 0x9e3779b97f4a7c15ull;
  t0 = now ();
  for (guint i = 0; i < video_frames; i++)
    {
      pts[i] = (gint64) i * SEC / 2;
      shots[i] = (int) (i / 40);
      times[i] = i * 0.5;
    }
  for (guint64 done = 0, v = 0; done < rows; v++)
    {
      guint n = (guint) MIN ((guint64) video_frames, rows - done);

      for (gsize i = 0; i < (gsize) n * dim; i++)
        rows_buf[i] = next_half ();
      if (!vm_embedding_store_set_video (store, (gint64) v, n, pts, shots, rows_buf, error))
        return FALSE;
      done += n;
    }
  for (gsize i = 0; i < (gsize) (n_queries + 2) * dim; i++)
    queries[i] = next_float ();
  g_print ("  ours: %" G_GUINT64_FORMAT " rows loaded in %.1f s; %u chunks", rows, now () - t0,
           vm_embedding_store_get_n_chunks (store, &streamed));
  g_print (" (%u streamed)\n", streamed);

  vm_grounding_options_init (&gopts);
  /* Two warm-up queries (pipelines, first-touch), then the timed ones. */
  for (guint q = 0; q < n_queries + 2; q++)
    {
      const float *query = queries + (gsize) q * dim;
      g_autoptr(GArray) hits = NULL;
      g_autoptr(GPtrArray) curves = NULL;
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      double c0 = cpu_seconds (), w0 = now (), w1, w2, w3, c1, c2;

      hits = vm_embedding_store_top_frames (store, query, K, NULL, 0, NULL, error);
      if (hits == NULL)
        return FALSE;
      w1 = now ();
      c1 = cpu_seconds ();
      for (guint i = 0; i < hits->len; i++)
        {
          gint64 id = g_array_index (hits, VmFrameHit, i).video_id;
          gboolean seen = FALSE;

          for (guint j = 0; j < ids->len && !seen; j++)
            seen = g_array_index (ids, gint64, j) == id;
          if (!seen)
            g_array_append_val (ids, id);
        }
      curves = vm_embedding_store_curves (store, query, (gint64 *) ids->data, ids->len, NULL, error);
      if (curves == NULL)
        return FALSE;
      w2 = now ();
      c2 = cpu_seconds ();
      for (guint i = 0; i < curves->len; i++)
        {
          VmScoreCurve *curve = g_ptr_array_index (curves, i);
          g_autoptr(GArray) spans = vm_ground_curve (times, curve->scores, curve->shot_ids, curve->n,
                                                     curve->n * 0.5, &gopts);

          (void) spans;
        }
      w3 = now ();
      if (q == 2)
        {
          res->top_video = g_array_index (hits, VmFrameHit, 0).video_id;
          res->top_frame = g_array_index (hits, VmFrameHit, 0).frame;
          res->top_score = g_array_index (hits, VmFrameHit, 0).score;
        }
      if (q < 2)
        continue;
      cpu_total += cpu_seconds () - c0;
      res->scan_cpu += (c1 - c0) * 1e3 / n_queries;
      res->curves_cpu += (c2 - c1) * 1e3 / n_queries;
      res->ground_cpu += (cpu_seconds () - c2) * 1e3 / n_queries;
      walls[q - 2] = (w3 - w0) * 1e3;
      scans[q - 2] = (w1 - w0) * 1e3;
      curve_t[q - 2] = (w2 - w1) * 1e3;
      grounds[q - 2] = (w3 - w2) * 1e3;
      cand_total += ids->len;
    }

  res->rows = rows;
  res->wall_ms = median (walls, n_queries);
  res->cpu_ms = cpu_total * 1e3 / n_queries;
  res->scan_ms = median (scans, n_queries);
  res->curves_ms = median (curve_t, n_queries);
  res->ground_ms = median (grounds, n_queries);
  res->bytes_device = (double) vm_embedding_store_get_device_bytes (store) / rows;
  res->bytes_host = (double) vm_embedding_store_get_host_bytes (store) / rows;
  res->candidates = cand_total / n_queries;
  return TRUE;
}

/* Runs the peer and reads its "RESULT ..." line. */
static gboolean
run_peer (const char *peer,
          guint64     rows,
          guint       dim,
          guint       video_frames,
          guint       n_queries,
          Result     *res)
{
  g_autofree char *rows_s = g_strdup_printf ("%" G_GUINT64_FORMAT, rows);
  g_autofree char *dim_s = g_strdup_printf ("%u", dim);
  g_autofree char *vf_s = g_strdup_printf ("%u", video_frames);
  g_autofree char *nq_s = g_strdup_printf ("%u", n_queries);
  const char *argv[] = { peer, rows_s, dim_s, vf_s, nq_s, NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    {
      g_printerr ("  peer failed: %s\n", error->message);
      return FALSE;
    }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "RESULT "))
        {
          double b_dev = 0;

          if (sscanf (lines[i], "RESULT %lf %lf %lf %lf %lf %lf %u %" G_GINT64_FORMAT " %u %lf %lf %lf %lf",
                      &res->wall_ms, &res->cpu_ms, &res->scan_ms, &res->curves_ms, &res->ground_ms,
                      &res->bytes_host, &res->candidates, &res->top_video, &res->top_frame,
                      &res->top_score, &res->scan_cpu, &res->curves_cpu, &res->ground_cpu) != 13)
            return FALSE;
          res->bytes_device = b_dev;
          res->rows = rows;
          return TRUE;
        }
      g_print ("  %s\n", lines[i]);
    }
  return FALSE;
}

static double
time_text_encoder (VmGpuDevice *device,
                   const char  *model_dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmClipModel) model = NULL;
  const char *texts[] = { "a dog catching a frisbee on the beach at sunset" };
  g_autofree float *out = NULL;
  double best = 1e30, best_cpu = 1e30;

  model = vm_clip_model_load (device, model_dir, VM_CLIP_LOAD_NO_VISION, &error);
  if (model == NULL)
    {
      g_print ("query encoding: not measured (%s)\n", error->message);
      return -1;
    }
  out = g_new (float, vm_clip_model_get_projection_dim (model));
  for (guint r = 0; r < 6; r++)
    {
      double c0 = cpu_seconds (), w0 = now ();

      if (!vm_clip_model_encode_texts (model, texts, 1, out, &error))
        {
          g_print ("query encoding: failed (%s)\n", error->message);
          return -1;
        }
      if (r > 0)
        {
          best = MIN (best, (now () - w0) * 1e3);
          best_cpu = MIN (best_cpu, (cpu_seconds () - c0) * 1e3);
        }
    }
  g_print ("query encoding (ViT-B/32-shaped text tower, %s weights, 1 text): %.1f ms wall, %.1f ms CPU "
           "(best of 5)\n", vm_clip_model_uses_f16 (model) ? "fp16" : "fp32", best, best_cpu);
  return best_cpu;
}

static char *
ensure_model (const char *python,
              const char *maker,
              const char *work_dir)
{
  g_autofree char *dir = g_build_filename (work_dir, "vit-b32", NULL);
  g_autofree char *weights = g_build_filename (dir, "model.safetensors", NULL);
  const char *argv[] = { python, maker, "--vit-b32", work_dir, "F16", NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (g_file_test (weights, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&dir);
  g_mkdir_with_parents (work_dir, 0755);
  g_print ("writing a ViT-B/32-shaped model into %s (once)...\n", dir);
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    {
      g_print ("query encoding: not measured (cannot write the model: %s)\n", error->message);
      return NULL;
    }
  return g_steal_pointer (&dir);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuDevice) device = NULL;
  g_auto(GStrv) sizes = NULL;
  g_autofree char *sizes_s = NULL, *peer = NULL, *model = NULL;
  g_auto(GStrv) make_model = NULL;
  int n_queries = 20, dim = 512, video_frames = 1000;
  gint64 budget = 0;
  double encode_cpu = -1;
  GOptionEntry entries[] = {
    { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes_s, "Library sizes in frames", "N,N,..." },
    { "queries", 0, 0, G_OPTION_ARG_INT, &n_queries, "Timed queries per size", "N" },
    { "dim", 0, 0, G_OPTION_ARG_INT, &dim, "Embedding dimension", "D" },
    { "video-frames", 0, 0, G_OPTION_ARG_INT, &video_frames, "Frames per video", "F" },
    { "budget", 0, 0, G_OPTION_ARG_INT64, &budget, "Resident budget in bytes (0: default)", "BYTES" },
    { "peer", 0, 0, G_OPTION_ARG_FILENAME, &peer, "The FAISS peer program", "PATH" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "A ViT-B/32-shaped model folder", "DIR" },
    { "make-model", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &make_model,
      "Write the model with PYTHON MAKER into WORK_DIR (three times)", "ARG" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- search latency against FAISS");
  g_autoptr(GArray) ours = g_array_new (FALSE, TRUE, sizeof (Result));
  g_autoptr(GArray) theirs = g_array_new (FALSE, TRUE, sizeof (Result));

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (n_queries < 1 || dim < 1 || video_frames < 1 || budget < 0)
    return 2;
  sizes = g_strsplit (sizes_s != NULL ? sizes_s : "10000,100000,1000000", ",", -1);

  device = vm_gpu_device_new (&error);
  if (device == NULL)
    {
      g_printerr ("no Vulkan device: %s\n", error->message);
      return 77;
    }
  g_print ("device: %s (%s); %d-dim fp16 frames, videos of %d frames, top-%d, %d queries per size\n",
           vm_gpu_device_get_info (device)->name, vm_gpu_device_get_info (device)->driver_name,
           dim, video_frames, K, n_queries);

  if (model == NULL && make_model != NULL && g_strv_length (make_model) == 3)
    model = ensure_model (make_model[0], make_model[1], make_model[2]);
  if (model != NULL)
    encode_cpu = time_text_encoder (device, model);
  else
    g_print ("query encoding: not measured (no model given)\n");

  for (guint s = 0; sizes[s] != NULL; s++)
    {
      guint64 rows = g_ascii_strtoull (sizes[s], NULL, 10);
      Result r = { 0, }, p = { 0, };

      if (rows == 0)
        continue;
      g_print ("%" G_GUINT64_FORMAT " frames:\n", rows);
      if (!run_ours (device, rows, dim, video_frames, n_queries, budget, &r, &error))
        {
          g_printerr ("  ours failed: %s\n", error->message);
          return 1;
        }
      g_print ("  ours: %.2f ms wall (scan %.2f, curves %.2f, grounding %.2f), %.2f ms CPU "
               "(scan %.2f, curves %.2f, grounding %.2f) per query; %u candidate videos; max RSS %ld MB\n",
               r.wall_ms, r.scan_ms, r.curves_ms, r.ground_ms, r.cpu_ms, r.scan_cpu, r.curves_cpu,
               r.ground_cpu, r.candidates, max_rss_mb ());
      g_array_append_val (ours, r);
      if (peer != NULL && run_peer (peer, rows, dim, video_frames, n_queries, &p))
        {
          g_print ("  FAISS: %.2f ms wall (scan %.2f, curves %.2f, grounding %.2f), %.2f ms CPU "
                   "(scan %.2f, curves %.2f, grounding %.2f) per query\n",
                   p.wall_ms, p.scan_ms, p.curves_ms, p.ground_ms, p.cpu_ms, p.scan_cpu, p.curves_cpu,
                   p.ground_cpu);
          if (p.top_video != r.top_video || p.top_frame != r.top_frame)
            g_print ("  NOTE: best hits differ: ours %" G_GINT64_FORMAT "/%u (%.4f), FAISS %" G_GINT64_FORMAT
                     "/%u (%.4f)\n", r.top_video, r.top_frame, r.top_score, p.top_video, p.top_frame,
                     p.top_score);
          else
            g_print ("  same best hit: video %" G_GINT64_FORMAT " frame %u (%.4f vs %.4f)\n",
                     r.top_video, r.top_frame, r.top_score, p.top_score);
        }
      else
        p.rows = 0;
      g_array_append_val (theirs, p);
    }

  g_print ("\n| frames | ours wall ms | ours CPU ms | FAISS wall ms | FAISS CPU ms | CPU ratio FAISS/ours "
           "| scan+curves CPU ms ours / FAISS | ratio | ours device B/frame | ours host B/frame "
           "| FAISS host B/frame |\n");
  g_print ("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (guint i = 0; i < ours->len; i++)
    {
      Result *r = &g_array_index (ours, Result, i), *p = &g_array_index (theirs, Result, i);
      double sc_r = r->scan_cpu + r->curves_cpu, sc_p = p->scan_cpu + p->curves_cpu;

      if (p->rows != 0)
        g_print ("| %" G_GUINT64_FORMAT " | %.2f | %.2f | %.2f | %.2f | %.2fx | %.2f / %.2f | %.2fx "
                 "| %.0f | %.1f | %.0f |\n",
                 r->rows, r->wall_ms, r->cpu_ms, p->wall_ms, p->cpu_ms, p->cpu_ms / r->cpu_ms,
                 sc_r, sc_p, sc_p / sc_r, r->bytes_device, r->bytes_host, p->bytes_host);
      else
        g_print ("| %" G_GUINT64_FORMAT " | %.2f | %.2f | - | - | - | %.2f / - | - | %.0f | %.1f | - |\n",
                 r->rows, r->wall_ms, r->cpu_ms, sc_r, r->bytes_device, r->bytes_host);
    }
  if (encode_cpu >= 0)
    g_print ("\nwith the query encoding (%.1f ms CPU) added: ours %.1f ms CPU per query at the largest size\n",
             encode_cpu, encode_cpu + g_array_index (ours, Result, ours->len - 1).cpu_ms);
  return 0;
}
