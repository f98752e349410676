/* bench-catalog.c — catalog throughput: storing and reading fp16 embeddings
 * the way the indexer and the search do, and full-text search over many
 * segments.  Prints figures; fails only on errors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>

#include "catalog/vm-catalog.h"
#include "core/vm-core.h"

#define N_VIDEOS   50
#define N_FRAMES   2000
#define DIM        512
#define BATCH      64
#define N_SEGMENTS 100000

static const char * const words[] = {
  "dog", "cat", "beach", "sunset", "car", "city", "river", "mountain", "café", "crowd",
  "music", "rain", "snow", "bicycle", "train", "kitchen", "garden", "ball", "child", "bird",
};

static double
seconds_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vidmark-bench-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *wal = NULL;
  g_autofree guint16 *values = g_new (guint16, (gsize) N_FRAMES * DIM);
  g_autofree VmFrameRecord *frames = g_new0 (VmFrameRecord, N_FRAMES);
  g_autoptr(VmCatalog) catalog = NULL;
  gint64 video_ids[N_VIDEOS];
  gint64 model = 0, t0;
  guint64 payload = (guint64) N_VIDEOS * N_FRAMES * DIM * sizeof (guint16);
  guint32 state = 1;
  VmCatalogStats stats;
  double elapsed;
  GStatBuf st;

  g_assert_no_error (error);
  path = g_build_filename (dir, "catalog.sqlite", NULL);
  wal = g_strconcat (path, "-wal", NULL);
  catalog = vm_catalog_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_ensure_model (catalog, "bench", DIM, "x", &model, &error));
  g_assert_no_error (error);

  for (gsize i = 0; i < (gsize) N_FRAMES * DIM; i++)
    {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      values[i] = (guint16) (state & 0x7bff);
    }
  for (guint i = 0; i < N_FRAMES; i++)
    frames[i].pts_ns = (gint64) i * VM_NSEC_PER_SEC / 2;

  /* Store: frames, then embeddings in batches, one transaction per batch as
   * an indexer without an outer transaction does. */
  t0 = g_get_monotonic_time ();
  for (guint v = 0; v < N_VIDEOS; v++)
    {
      g_autoptr(VmVideo) video = vm_video_new ();

      video->path = g_strdup_printf ("/bench/video-%03u.mp4", v);
      video->duration_ns = N_FRAMES * VM_NSEC_PER_SEC / 2;
      g_assert_true (vm_catalog_save_video (catalog, video, &error));
      g_assert_true (vm_catalog_replace_frames (catalog, video->id, frames, N_FRAMES, &error));
      g_assert_no_error (error);
      video_ids[v] = video->id;

      for (guint f = 0; f < N_FRAMES; f += BATCH)
        {
          guint n = MIN (BATCH, N_FRAMES - f);

          g_assert_true (vm_catalog_put_embeddings (catalog, video->id, model, f, n, DIM,
                                                    values + (gsize) f * DIM, &error));
          g_assert_no_error (error);
        }
    }
  elapsed = seconds_since (t0);
  g_print ("store: %d videos x %d frames x %d dims in batches of %d: %.2f s, %.0f MB/s of fp16\n",
           N_VIDEOS, N_FRAMES, DIM, BATCH, elapsed, payload / elapsed / 1e6);

  /* Read everything back, as the search does when it loads the library. */
  t0 = g_get_monotonic_time ();
  for (guint v = 0; v < N_VIDEOS; v++)
    {
      guint n = 0;
      g_autoptr(GBytes) bytes = vm_catalog_get_embeddings (catalog, video_ids[v], model, &n, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (n, ==, N_FRAMES);
    }
  elapsed = seconds_since (t0);
  g_print ("load: %.3f s, %.0f MB/s\n", elapsed, payload / elapsed / 1e6);

  g_assert_true (vm_catalog_get_stats (catalog, &stats, &error));
  g_assert_no_error (error);
  g_print ("catalog with WAL: %.1f MB for %.1f MB of fp16\n", stats.file_size / 1e6, payload / 1e6);

  /* Timed text. */
  t0 = g_get_monotonic_time ();
  g_assert_true (vm_catalog_begin (catalog, &error));
  for (guint i = 0; i < N_SEGMENTS; i++)
    {
      g_autofree char *text = g_strdup_printf ("the %s and the %s near the %s",
                                               words[i % G_N_ELEMENTS (words)],
                                               words[(i / 7) % G_N_ELEMENTS (words)],
                                               words[(i / 131) % G_N_ELEMENTS (words)]);
      VmTextSegment segment = { 0, };

      segment.video_id = video_ids[i % N_VIDEOS];
      segment.start_ns = (gint64) (i / N_VIDEOS) * VM_NSEC_PER_SEC;
      segment.end_ns = segment.start_ns + VM_NSEC_PER_SEC;
      segment.source = VM_TEXT_SOURCE_SUBTITLE;
      segment.text = text;
      segment.confidence = 1.0;
      g_assert_true (vm_catalog_add_text_segment (catalog, &segment, &error));
    }
  g_assert_true (vm_catalog_commit (catalog, &error));
  g_assert_no_error (error);
  g_print ("text: %d segments stored in %.2f s\n", N_SEGMENTS, seconds_since (t0));

  {
    static const char * const queries[] = { "cafe", "\"dog and the\"", "bi*", "sunset AND snow" };

    for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
      {
        g_autoptr(GPtrArray) hits = NULL;

        t0 = g_get_monotonic_time ();
        hits = vm_catalog_search_text (catalog, queries[q], 50, &error);
        g_assert_no_error (error);
        g_print ("search %-20s %3u hits (limit 50) in %.1f ms\n", queries[q], hits->len,
                 seconds_since (t0) * 1e3);
      }
  }

  g_clear_object (&catalog);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_print ("closed: %.1f MB\n", st.st_size / 1e6);

  g_unlink (path);
  g_unlink (wal);
  g_rmdir (dir);
  return 0;
}
