/* test-embedding-store.c — the GPU-resident embedding store against a CPU
 * reference in double precision: a catalog of more than 100,000 synthetic
 * fp16 embeddings (dimension 512 and 20) over many videos, small chunks and
 * a tiny resident budget so that several chunks are used and some streamed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "core/vm-util.h"
#include "search/vm-embedding-store.h"
#include "search/vm-text-search.h"

#include "../vm-test-gpu.h"
#include "../vm-test-util.h"

#define SEC ((gint64) 1000000000)

typedef struct {
  gint64   video_id;
  guint    n;
  guint16 *data;     /* n × dim */
  gint64  *pts;
  int     *shots;
} Ref;

typedef struct {
  gint64      model_id;
  guint       dim;
  GHashTable *refs;  /* gint64* → Ref* */
} Library;

static VmGpuDevice *device;
static char *device_error;
static char *tmp_dir;
static VmCatalog *catalog;
static Library lib512, lib20;
static float half_table[65536];
static guint video_counter;

#define SKIP_WITHOUT_DEVICE() VM_TEST_SKIP_UNLESS (device != NULL, device_error)

static void
assert_no_validation_messages (void)
{
  vm_test_assert_no_validation_messages (device);
}

static void
ref_free (Ref *ref)
{
  g_free (ref->data);
  g_free (ref->pts);
  g_free (ref->shots);
  g_free (ref);
}

/* ---- the synthetic library ----------------------------------------------- */

/* Writes @n frames with random embeddings for @video_id (a new video when 0). */
static gint64
put_video (Library *lib,
           gint64   video_id,
           guint    n,
           GRand   *rand)
{
  g_autoptr(GError) error = NULL;
  g_autofree VmFrameRecord *frames = g_new0 (VmFrameRecord, n);
  Ref *ref = g_new0 (Ref, 1);
  gint64 t = g_rand_int_range (rand, 0, 1000) * 1000;

  if (video_id == 0)
    {
      g_autoptr(VmVideo) video = vm_video_new ();

      video->path = g_strdup_printf ("/library/video-%05u.mp4", video_counter++);
      video->duration_ns = (gint64) n * SEC;
      video->status = VM_VIDEO_STATUS_INDEXED;
      g_assert_true (vm_catalog_save_video (catalog, video, &error));
      g_assert_no_error (error);
      video_id = video->id;
    }

  ref->video_id = video_id;
  ref->n = n;
  ref->data = g_new (guint16, (gsize) n * lib->dim);
  ref->pts = g_new (gint64, n);
  ref->shots = g_new (int, n);
  for (guint i = 0; i < n; i++)
    {
      t += g_rand_int_range (rand, 200, 3000) * (SEC / 1000);
      frames[i].pts_ns = ref->pts[i] = t;
      frames[i].shot_id = ref->shots[i] = (int) (i / 37);
      frames[i].keyframe = TRUE;
    }
  for (gsize i = 0; i < (gsize) n * lib->dim; i++)
    ref->data[i] = vm_float_to_half ((float) g_rand_double_range (rand, -1.0, 1.0));

  g_assert_true (vm_catalog_replace_frames (catalog, video_id, frames, n, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_put_embeddings (catalog, video_id, lib->model_id, 0, n, lib->dim,
                                            ref->data, &error));
  g_assert_no_error (error);

  g_hash_table_replace (lib->refs, &ref->video_id, ref);
  return video_id;
}

static void
library_init (Library    *lib,
              const char *name,
              guint       dim)
{
  g_autoptr(GError) error = NULL;

  lib->dim = dim;
  lib->refs = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) ref_free);
  g_assert_true (vm_catalog_ensure_model (catalog, name, dim, "digest", &lib->model_id, &error));
  g_assert_no_error (error);
}

static VmEmbeddingStore *
open_store (Library *lib,
            guint64  chunk_rows,
            guint64  budget)
{
  g_autoptr(GError) error = NULL;
  VmEmbeddingStoreOptions options;
  VmEmbeddingStore *store;

  vm_embedding_store_options_init (&options);
  options.chunk_rows = chunk_rows;
  options.resident_budget = budget;
  store = vm_embedding_store_new (device, lib->model_id, lib->dim, &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_true (vm_embedding_store_sync (store, catalog, NULL, &error));
  g_assert_no_error (error);
  return store;
}

/* The 512-dim store: chunks of 16384 rows (16 MiB), 2 of them resident. */
static VmEmbeddingStore *
open_store512 (void)
{
  return open_store (&lib512, 16384, 2 * 16384 * 1024 + 4096);
}

/* One 512-dim store for the tests that only read (each sync of the whole
 * library costs a few seconds under ASan). */
static VmEmbeddingStore *store512;

static VmEmbeddingStore *
shared_store512 (void)
{
  if (store512 == NULL)
    store512 = open_store512 ();
  return store512;
}

/* The 20-dim store (rows padded to 24): chunks of 4096 rows, 1 resident. */
static VmEmbeddingStore *
open_store20 (void)
{
  return open_store (&lib20, 4096, 4096 * 48 + 100);
}

/* ---- the reference ------------------------------------------------------- */

typedef struct {
  double  score;
  double  magnitude;   /* Σ|q·r|, for the tolerance */
  gint64  video_id;
  guint   frame;
} RefHit;

static double
dot (const Library *lib,
     const Ref     *ref,
     guint          frame,
     const float   *query,
     double        *out_magnitude)
{
  const guint16 *row = ref->data + (gsize) frame * lib->dim;
  double s = 0, m = 0;

  for (guint d = 0; d < lib->dim; d++)
    {
      double p = (double) query[d] * half_table[row[d]];

      s += p;
      m += fabs (p);
    }
  if (out_magnitude != NULL)
    *out_magnitude = m;
  return s;
}

static gint
ref_hit_compare (gconstpointer a,
                 gconstpointer b)
{
  const RefHit *x = a, *y = b;

  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->video_id < y->video_id ? -1 : x->video_id > y->video_id;
}

/* The top @k over the library (or the videos @ids). */
static GArray *
reference_top (const Library *lib,
               const float   *query,
               guint          k,
               const gint64  *ids,
               guint          n_ids)
{
  GArray *hits = g_array_new (FALSE, FALSE, sizeof (RefHit));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, lib->refs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Ref *ref = value;
      gboolean wanted = ids == NULL;

      for (guint i = 0; i < n_ids && !wanted; i++)
        wanted = ids[i] == ref->video_id;
      if (!wanted)
        continue;
      for (guint f = 0; f < ref->n; f++)
        {
          RefHit hit = { 0, 0, ref->video_id, f };

          hit.score = dot (lib, ref, f, query, &hit.magnitude);
          g_array_append_val (hits, hit);
        }
      if (hits->len > 200000)
        {
          g_array_sort (hits, ref_hit_compare);
          g_array_set_size (hits, k);
        }
    }
  g_array_sort (hits, ref_hit_compare);
  if (hits->len > k)
    g_array_set_size (hits, k);
  return hits;
}

static double
tolerance (double magnitude)
{
  /* fp32 accumulation over the same fp16 values: the order of the sums is
   * all that differs. */
  return 1e-5 * magnitude + 1e-6;
}

/* Checks @hits against the reference: the same frames (up to ties within the
 * tolerance at the k-th place), best first, scores within the tolerance. */
static void
check_hits (const Library *lib,
            GArray        *hits,
            const float   *query,
            guint          k,
            const gint64  *ids,
            guint          n_ids)
{
  g_autoptr(GArray) ref = reference_top (lib, query, k, ids, n_ids);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  guint same = 0;

  g_assert_cmpuint (hits->len, ==, ref->len);
  for (guint i = 0; i < hits->len; i++)
    {
      VmFrameHit *hit = &g_array_index (hits, VmFrameHit, i);
      RefHit *r = &g_array_index (ref, RefHit, i);
      Ref *video = g_hash_table_lookup (lib->refs, &hit->video_id);
      double magnitude, exact;
      char *key;

      g_assert_nonnull (video);
      g_assert_cmpuint (hit->frame, <, video->n);
      g_assert_cmpint (hit->pts_ns, ==, video->pts[hit->frame]);
      if (ids != NULL)
        {
          gboolean wanted = FALSE;

          for (guint j = 0; j < n_ids; j++)
            wanted |= ids[j] == hit->video_id;
          g_assert_true (wanted);
        }
      exact = dot (lib, video, hit->frame, query, &magnitude);
      g_assert_cmpfloat_with_epsilon (hit->score, exact, tolerance (magnitude));
      /* The i-th best score, whichever frame holds it in a tie. */
      g_assert_cmpfloat_with_epsilon (hit->score, r->score, tolerance (magnitude) + tolerance (r->magnitude));
      if (i > 0)
        g_assert_cmpfloat (hit->score, <=, g_array_index (hits, VmFrameHit, i - 1).score);
      if (hit->video_id == r->video_id && hit->frame == r->frame)
        same++;

      key = g_strdup_printf ("%" G_GINT64_FORMAT ":%u", hit->video_id, hit->frame);
      g_assert_false (g_hash_table_contains (seen, key));
      g_hash_table_add (seen, key);
      g_ptr_array_add (keys, key);
    }
  /* Random data has no real ties: nearly every place agrees. */
  g_assert_cmpuint (same + 2, >=, hits->len);
}

static float *
random_query (const Library *lib,
              GRand         *rand)
{
  float *q = g_new (float, lib->dim);

  for (guint d = 0; d < lib->dim; d++)
    q[d] = (float) g_rand_double_range (rand, -1.0, 1.0);
  return q;
}

/* The query that is frame @frame of @video_id itself (a clear winner). */
static float *
frame_query (const Library *lib,
             gint64         video_id,
             guint          frame)
{
  Ref *ref = g_hash_table_lookup (lib->refs, &video_id);
  float *q = g_new (float, lib->dim);

  g_assert_nonnull (ref);
  for (guint d = 0; d < lib->dim; d++)
    q[d] = half_table[ref->data[(gsize) frame * lib->dim + d]];
  return q;
}

static gint
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64 *
sorted_ids (const Library *lib,
            guint         *out_n)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, lib->refs);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_array_append_val (ids, *(gint64 *) key);
  g_array_sort (ids, compare_int64);
  *out_n = ids->len;
  return (gint64 *) (gpointer) g_array_free (g_steal_pointer (&ids), FALSE);
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_layout (void)
{
  VmEmbeddingStore *store = NULL;
  guint n_chunks, n_streamed = 0;
  guint64 rows = 0;
  GHashTableIter iter;
  gpointer value;

  SKIP_WITHOUT_DEVICE ();

  store = shared_store512 ();
  g_hash_table_iter_init (&iter, lib512.refs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    rows += ((Ref *) value)->n;

  g_assert_cmpuint (rows, >=, 100000);
  g_assert_cmpuint (vm_embedding_store_get_n_rows (store), ==, rows);
  g_assert_cmpuint (vm_embedding_store_get_n_videos (store), ==, g_hash_table_size (lib512.refs));
  g_assert_cmpuint (vm_embedding_store_get_dim (store), ==, 512);
  g_assert_cmpint (vm_embedding_store_get_model_id (store), ==, lib512.model_id);
  n_chunks = vm_embedding_store_get_n_chunks (store, &n_streamed);
  g_assert_cmpuint (n_chunks, >=, rows / 16384);
  g_assert_cmpuint (n_streamed, >=, 1);
  g_assert_cmpuint (n_streamed, <=, n_chunks - 2);
  /* Two resident chunks; no staging before the first scan. */
  g_assert_cmpuint (vm_embedding_store_get_device_bytes (store), <=, 2 * 16384 * 1024);
  g_assert_cmpuint (vm_embedding_store_get_host_bytes (store), >=, (guint64) (rows - 2 * 16384) * 1024);
  assert_no_validation_messages ();
}

static void
test_top_frames (void)
{
  VmEmbeddingStore *store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  const guint ks[] = { 64, 1, 10 };

  SKIP_WITHOUT_DEVICE ();

  store = shared_store512 ();
  for (guint i = 0; i < G_N_ELEMENTS (ks); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree float *q = random_query (&lib512, rand);
      g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, ks[i], NULL, 0, NULL, &error);

      g_assert_no_error (error);
      check_hits (&lib512, hits, q, ks[i], NULL, 0);
    }
  /* The staging chunk now counts. */
  g_assert_cmpuint (vm_embedding_store_get_device_bytes (store), ==, 3 * 16384 * 1024);

  /* Streamed chunks through a staging chunk smaller than a chunk: windows
   * of 3,000 rows, runs split across them. */
  {
    g_autoptr(VmEmbeddingStore) windowed = NULL;
    g_autoptr(GError) error = NULL;
    VmEmbeddingStoreOptions options;

    vm_embedding_store_options_init (&options);
    options.chunk_rows = 16384;
    options.resident_budget = 16384 * 1024;
    options.staging_bytes = 3000 * 1024 + 100;
    windowed = vm_embedding_store_new (device, lib512.model_id, 512, &options, &error);
    g_assert_no_error (error);
    g_assert_true (vm_embedding_store_sync (windowed, catalog, NULL, &error));
    g_assert_no_error (error);
    for (guint i = 0; i < 2; i++)
      {
        g_autofree float *q = random_query (&lib512, rand);
        g_autoptr(GArray) hits = vm_embedding_store_top_frames (windowed, q, 64, NULL, 0, NULL, &error);

        g_assert_no_error (error);
        check_hits (&lib512, hits, q, 64, NULL, 0);
      }
    g_assert_cmpuint (vm_embedding_store_get_device_bytes (windowed), ==, 16384 * 1024 + 3000 * 1024);
  }

  /* A frame finds itself first, wherever it lives. */
  {
    guint n_ids;
    g_autofree gint64 *ids = sorted_ids (&lib512, &n_ids);

    for (guint i = 0; i < n_ids; i += n_ids / 5)
      {
        g_autoptr(GError) error = NULL;
        Ref *ref = g_hash_table_lookup (lib512.refs, &ids[i]);
        guint f = ref->n / 2;
        g_autofree float *q = frame_query (&lib512, ids[i], f);
        g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 3, NULL, 0, NULL, &error);

        g_assert_no_error (error);
        g_assert_cmpuint (hits->len, ==, 3);
        g_assert_cmpint (g_array_index (hits, VmFrameHit, 0).video_id, ==, ids[i]);
        g_assert_cmpuint (g_array_index (hits, VmFrameHit, 0).frame, ==, f);
      }
  }
  assert_no_validation_messages ();
}

static void
test_filters (void)
{
  VmEmbeddingStore *store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  guint n_ids;
  g_autofree gint64 *ids = NULL;

  SKIP_WITHOUT_DEVICE ();

  store = shared_store512 ();
  ids = sorted_ids (&lib512, &n_ids);

  /* A few videos (with an unknown id and a duplicate); then every other
   * video, which passes the limit on dispatches and takes the curves. */
  {
    gint64 few[] = { ids[3], ids[40], 999999, ids[n_ids - 1], ids[3], ids[77] };
    g_autoptr(GError) error = NULL;
    g_autofree float *q = random_query (&lib512, rand);
    g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 64, few, G_N_ELEMENTS (few),
                                                            NULL, &error);

    g_assert_no_error (error);
    check_hits (&lib512, hits, q, 64, few, G_N_ELEMENTS (few));
  }
  {
    g_autofree gint64 *many = g_new (gint64, n_ids);
    guint n_many = 0;
    g_autoptr(GError) error = NULL;
    g_autofree float *q = random_query (&lib512, rand);
    g_autoptr(GArray) hits = NULL;

    for (guint i = 0; i < n_ids; i += 2)
      many[n_many++] = ids[i];
    hits = vm_embedding_store_top_frames (store, q, 50, many, n_many, NULL, &error);
    g_assert_no_error (error);
    check_hits (&lib512, hits, q, 50, many, n_many);
  }
  /* A single video with fewer frames than k. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree float *q = random_query (&lib512, rand);
    g_autoptr(GArray) hits = NULL;
    gint64 small = 0;
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, lib512.refs);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      if (((Ref *) value)->n < 64)
        small = ((Ref *) value)->video_id;
    g_assert_cmpint (small, !=, 0);
    hits = vm_embedding_store_top_frames (store, q, 64, &small, 1, NULL, &error);
    g_assert_no_error (error);
    check_hits (&lib512, hits, q, 64, &small, 1);
  }
  /* Only unknown videos: nothing. */
  {
    gint64 unknown = 123456789;
    g_autoptr(GError) error = NULL;
    g_autofree float *q = random_query (&lib512, rand);
    g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 5, &unknown, 1, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (hits->len, ==, 0);
  }
  assert_no_validation_messages ();
}

static void
check_curves (Library          *lib,
              VmEmbeddingStore *store,
              const gint64     *ids,
              guint             n_ids,
              GRand            *rand)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *q = random_query (lib, rand);
  g_autoptr(GPtrArray) curves = vm_embedding_store_curves (store, q, ids, n_ids, NULL, &error);
  guint c = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < n_ids; i++)
    {
      Ref *ref = g_hash_table_lookup (lib->refs, &ids[i]);
      VmScoreCurve *curve;

      if (ref == NULL)
        continue;
      g_assert_cmpuint (c, <, curves->len);
      curve = g_ptr_array_index (curves, c++);
      g_assert_cmpint (curve->video_id, ==, ids[i]);
      g_assert_cmpuint (curve->n, ==, ref->n);
      for (guint f = 0; f < ref->n; f++)
        {
          double magnitude, exact = dot (lib, ref, f, q, &magnitude);

          g_assert_cmpint (curve->pts_ns[f], ==, ref->pts[f]);
          g_assert_cmpint (curve->shot_ids[f], ==, ref->shots[f]);
          g_assert_cmpfloat_with_epsilon (curve->scores[f], exact, tolerance (magnitude));
        }
    }
  g_assert_cmpuint (c, ==, curves->len);
}

static void
test_curves (void)
{
  VmEmbeddingStore *store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  guint n_ids;
  g_autofree gint64 *ids = NULL;

  SKIP_WITHOUT_DEVICE ();

  store = shared_store512 ();
  ids = sorted_ids (&lib512, &n_ids);

  /* Every video in one submission (resident, streamed and split ones), then
   * a few with an unknown id, then none. */
  check_curves (&lib512, store, ids, n_ids, rand);
  {
    gint64 few[] = { ids[n_ids - 1], 424242, ids[0], ids[50], ids[0], ids[n_ids - 2] };

    check_curves (&lib512, store, few, G_N_ELEMENTS (few), rand);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autofree float *q = random_query (&lib512, rand);
    g_autoptr(GPtrArray) curves = vm_embedding_store_curves (store, q, NULL, 0, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (curves->len, ==, 0);
  }
  assert_no_validation_messages ();
}

static void
test_odd_dim (void)
{
  g_autoptr(VmEmbeddingStore) store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  guint n_ids, n_streamed = 0;
  g_autofree gint64 *ids = NULL;

  SKIP_WITHOUT_DEVICE ();

  store = open_store20 ();
  ids = sorted_ids (&lib20, &n_ids);
  g_assert_cmpuint (vm_embedding_store_get_n_videos (store), ==, n_ids);
  g_assert_cmpuint (vm_embedding_store_get_n_chunks (store, &n_streamed), >, 3);
  g_assert_cmpuint (n_streamed, >, 2);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree float *q = random_query (&lib20, rand);
      g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 64, NULL, 0, NULL, &error);

      g_assert_no_error (error);
      check_hits (&lib20, hits, q, 64, NULL, 0);
    }
  {
    g_autoptr(GError) error = NULL;
    g_autofree float *q = random_query (&lib20, rand);
    g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 20, ids + 5, 3, NULL, &error);

    g_assert_no_error (error);
    check_hits (&lib20, hits, q, 20, ids + 5, 3);
  }
  check_curves (&lib20, store, ids, n_ids, rand);
  assert_no_validation_messages ();
}

static void
test_get_frame (void)
{
  VmEmbeddingStore *store = NULL;
  g_autoptr(GError) error = NULL;
  guint n_ids;
  g_autofree gint64 *ids = NULL;
  float out[512];
  gint64 pts = 0;

  SKIP_WITHOUT_DEVICE ();

  store = shared_store512 ();
  ids = sorted_ids (&lib512, &n_ids);

  /* A resident video and a streamed one (the last ones are past the budget). */
  for (guint i = 0; i < n_ids; i += n_ids - 1)
    {
      Ref *ref = g_hash_table_lookup (lib512.refs, &ids[i]);
      guint f = ref->n > 3 ? 2 : 0;
      /* Just past the middle between frames f and f+1 (or at f): f+1's nearer. */
      gint64 at = ref->n > 3 ? (ref->pts[f] + ref->pts[f + 1]) / 2 + 1 : ref->pts[f];
      guint want = ref->n > 3 ? f + 1 : f;

      g_assert_true (vm_embedding_store_get_frame (store, ids[i], at, out, &pts, &error));
      g_assert_no_error (error);
      g_assert_cmpint (pts, ==, ref->pts[want]);
      for (guint d = 0; d < 512; d++)
        g_assert_cmpfloat (out[d], ==, half_table[ref->data[(gsize) want * 512 + d]]);

      /* Before the first and after the last frame. */
      g_assert_true (vm_embedding_store_get_frame (store, ids[i], -5 * SEC, out, &pts, &error));
      g_assert_cmpint (pts, ==, ref->pts[0]);
      g_assert_true (vm_embedding_store_get_frame (store, ids[i], G_MAXINT64 / 2, out, &pts, &error));
      g_assert_cmpint (pts, ==, ref->pts[ref->n - 1]);
      g_assert_cmpfloat (out[511], ==, half_table[ref->data[(gsize) ref->n * 512 - 1]]);
    }

  g_assert_false (vm_embedding_store_get_frame (store, 987654, 0, out, NULL, &error));
  g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED);
  assert_no_validation_messages ();
}

static void
test_errors (void)
{
  g_autoptr(VmEmbeddingStore) store = NULL;
  g_autoptr(GError) error = NULL;
  float q[512] = { 0, };
  gint64 pts[3] = { 0, 2, 1 };
  guint16 rows[3 * 512] = { 0, };
  GArray *hits;

  SKIP_WITHOUT_DEVICE ();

  store = vm_embedding_store_new (device, lib512.model_id, 512, NULL, &error);
  g_assert_no_error (error);

  hits = vm_embedding_store_top_frames (store, q, 0, NULL, 0, NULL, &error);
  g_assert_null (hits);
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  hits = vm_embedding_store_top_frames (store, q, 65, NULL, 0, NULL, &error);
  g_assert_null (hits);
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  q[7] = NAN;
  hits = vm_embedding_store_top_frames (store, q, 5, NULL, 0, NULL, &error);
  g_assert_null (hits);
  g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED);
  g_clear_error (&error);
  q[7] = 0;

  /* Times that do not increase are refused; nothing is stored. */
  g_assert_false (vm_embedding_store_set_video (store, 5, 3, pts, NULL, rows, &error));
  g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (vm_embedding_store_has_video (store, 5));

  /* Directly set, replaced, removed. */
  pts[2] = 3;
  rows[512] = vm_float_to_half (1.0f);
  g_assert_true (vm_embedding_store_set_video (store, 5, 3, pts, NULL, rows, &error));
  g_assert_no_error (error);
  g_assert_true (vm_embedding_store_has_video (store, 5));
  q[0] = 1;
  hits = vm_embedding_store_top_frames (store, q, 5, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 3);
  g_assert_cmpuint (g_array_index (hits, VmFrameHit, 0).frame, ==, 1);
  g_assert_cmpfloat (g_array_index (hits, VmFrameHit, 0).score, ==, 1.0f);
  g_assert_cmpint (g_array_index (hits, VmFrameHit, 0).pts_ns, ==, 2);
  g_array_unref (hits);
  g_assert_true (vm_embedding_store_set_video (store, 5, 2, pts, NULL, rows, &error));
  g_assert_cmpuint (vm_embedding_store_get_n_rows (store), ==, 2);
  vm_embedding_store_remove_video (store, 5);
  vm_embedding_store_remove_video (store, 5);
  g_assert_false (vm_embedding_store_has_video (store, 5));
  g_assert_cmpuint (vm_embedding_store_get_n_rows (store), ==, 0);
  g_assert_cmpuint (vm_embedding_store_get_n_chunks (store, NULL), ==, 0);

  /* Zero dimension. */
  g_assert_null (vm_embedding_store_new (device, 1, 0, NULL, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  assert_no_validation_messages ();
}

static void
test_empty (void)
{
  g_autoptr(VmEmbeddingStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) hits = NULL;
  g_autoptr(GPtrArray) curves = NULL;
  gint64 model_id = 0, some = 1;
  float q[24] = { 1, };
  guint n_streamed = 7;

  SKIP_WITHOUT_DEVICE ();

  /* A model nothing was indexed with. */
  g_assert_true (vm_catalog_ensure_model (catalog, "unused", 24, "x", &model_id, &error));
  store = vm_embedding_store_new (device, model_id, 24, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (vm_embedding_store_sync (store, catalog, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_embedding_store_get_n_rows (store), ==, 0);
  g_assert_cmpuint (vm_embedding_store_get_n_videos (store), ==, 0);
  g_assert_cmpuint (vm_embedding_store_get_n_chunks (store, &n_streamed), ==, 0);
  g_assert_cmpuint (n_streamed, ==, 0);

  hits = vm_embedding_store_top_frames (store, q, 10, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 0);
  curves = vm_embedding_store_curves (store, q, &some, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (curves->len, ==, 0);
  g_assert_false (vm_embedding_store_get_frame (store, some, 0, q, NULL, &error));
  g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED);
  assert_no_validation_messages ();
}

static gboolean
hits_have_video (GArray *hits,
                 gint64  video_id)
{
  for (guint i = 0; i < hits->len; i++)
    if (g_array_index (hits, VmFrameHit, i).video_id == video_id)
      return TRUE;
  return FALSE;
}

static void
test_sync (void)
{
  g_autoptr(VmEmbeddingStore) store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (15);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint n_ids, n_chunks;
  g_autofree gint64 *ids = NULL;
  gint64 reindexed, deleted, unembedded, missing, added[3], late;
  g_autofree float *q_deleted = NULL;

  SKIP_WITHOUT_DEVICE ();

  store = open_store512 ();
  ids = sorted_ids (&lib512, &n_ids);
  n_chunks = vm_embedding_store_get_n_chunks (store, NULL);

  /* Nothing changed: nothing moves. */
  g_assert_true (vm_embedding_store_sync (store, catalog, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_embedding_store_get_n_chunks (store, NULL), ==, n_chunks);

  reindexed = ids[10];
  deleted = ids[20];
  unembedded = ids[30];
  missing = ids[31];
  q_deleted = frame_query (&lib512, deleted, 0);

  /* Re-indexed with other frames and embeddings; deleted; frames replaced
   * without embeddings; marked missing; three new videos no longer than the
   * deleted one, which fit in the holes. */
  put_video (&lib512, reindexed, 333, rand);
  g_assert_true (vm_catalog_delete_video (catalog, deleted, &error));
  g_assert_no_error (error);
  {
    Ref *ref = g_hash_table_lookup (lib512.refs, &unembedded);
    g_autofree VmFrameRecord *frames = g_new0 (VmFrameRecord, ref->n);

    for (guint i = 0; i < ref->n; i++)
      frames[i].pts_ns = ref->pts[i];
    g_assert_true (vm_catalog_replace_frames (catalog, unembedded, frames, ref->n, &error));
    g_assert_no_error (error);
  }
  g_assert_true (vm_catalog_set_video_status (catalog, missing, VM_VIDEO_STATUS_MISSING, NULL, &error));
  g_assert_no_error (error);
  {
    Ref *ref = g_hash_table_lookup (lib512.refs, &deleted);
    guint n = MAX (ref->n / 4, 1);

    for (guint i = 0; i < G_N_ELEMENTS (added); i++)
      added[i] = put_video (&lib512, 0, n, rand);
  }
  g_hash_table_remove (lib512.refs, &deleted);
  g_hash_table_remove (lib512.refs, &unembedded);
  g_hash_table_remove (lib512.refs, &missing);

  g_assert_true (vm_embedding_store_sync (store, catalog, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_embedding_store_get_n_videos (store), ==, g_hash_table_size (lib512.refs));
  g_assert_false (vm_embedding_store_has_video (store, deleted));
  g_assert_false (vm_embedding_store_has_video (store, unembedded));
  g_assert_false (vm_embedding_store_has_video (store, missing));
  for (guint i = 0; i < G_N_ELEMENTS (added); i++)
    g_assert_true (vm_embedding_store_has_video (store, added[i]));
  /* The freed rows were reused. */
  g_assert_cmpuint (vm_embedding_store_get_n_chunks (store, NULL), <=, n_chunks);

  /* The deleted video is never found again, not even by its own frame. */
  {
    g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q_deleted, 64, NULL, 0, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (hits_have_video (hits, deleted));
    check_hits (&lib512, hits, q_deleted, 64, NULL, 0);
    g_clear_pointer (&hits, g_array_unref);
    hits = vm_embedding_store_top_frames (store, q_deleted, 64, &deleted, 1, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (hits->len, ==, 0);
  }
  /* The re-indexed video has its new rows. */
  {
    g_autofree float *q = frame_query (&lib512, reindexed, 300);
    g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 64, NULL, 0, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpint (g_array_index (hits, VmFrameHit, 0).video_id, ==, reindexed);
    g_assert_cmpuint (g_array_index (hits, VmFrameHit, 0).frame, ==, 300);
    check_hits (&lib512, hits, q, 64, NULL, 0);
  }
  check_curves (&lib512, store, (gint64[]) { reindexed, added[0], added[2], deleted }, 4, rand);

  /* Many deletions make holes; the sync compacts, the results stay right. */
  for (guint i = 40; i < n_ids; i += 3)
    {
      if (!g_hash_table_contains (lib512.refs, &ids[i]))
        continue;
      g_assert_true (vm_catalog_delete_video (catalog, ids[i], &error));
      g_assert_no_error (error);
      g_hash_table_remove (lib512.refs, &ids[i]);
    }
  g_assert_true (vm_embedding_store_sync (store, catalog, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_embedding_store_get_n_videos (store), ==, g_hash_table_size (lib512.refs));
  {
    g_autofree float *q = random_query (&lib512, rand);
    g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 64, NULL, 0, NULL, &error);
    guint n_left;
    g_autofree gint64 *left = sorted_ids (&lib512, &n_left);

    g_assert_no_error (error);
    check_hits (&lib512, hits, q, 64, NULL, 0);
    check_curves (&lib512, store, left, n_left, rand);
  }

  /* A cancelled sync leaves the store as it was; the next one completes. */
  late = put_video (&lib512, 0, 100, rand);
  g_cancellable_cancel (cancellable);
  g_assert_false (vm_embedding_store_sync (store, catalog, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (vm_embedding_store_has_video (store, late));
  g_assert_true (vm_embedding_store_sync (store, catalog, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (vm_embedding_store_has_video (store, late));
  {
    g_autofree float *q = frame_query (&lib512, late, 99);
    g_autoptr(GArray) hits = vm_embedding_store_top_frames (store, q, 64, NULL, 0, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpint (g_array_index (hits, VmFrameHit, 0).video_id, ==, late);
    check_hits (&lib512, hits, q, 64, NULL, 0);
  }
  assert_no_validation_messages ();
}

/* ---- main ---------------------------------------------------------------- */

static void
build_catalog (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (2026);
  g_autofree char *path = g_build_filename (tmp_dir, "catalog.sqlite", NULL);
  guint64 rows = 0;

  catalog = vm_catalog_open (path, &error);
  g_assert_no_error (error);
  library_init (&lib512, "synthetic-512", 512);
  library_init (&lib20, "synthetic-20", 20);

  g_assert_true (vm_catalog_begin (catalog, &error));
  /* Videos of 1 to 1,800 frames, one of 20,000 (longer than a chunk, split),
   * some tiny ones. */
  put_video (&lib512, 0, 20000, rand);
  rows += 20000;
  for (guint v = 0; rows < 100500; v++)
    {
      guint n = v % 17 == 0 ? 1 + v % 40 : (guint) g_rand_int_range (rand, 1, 1800);

      put_video (&lib512, 0, n, rand);
      rows += n;
    }
  for (guint v = 0; v < 30; v++)
    put_video (&lib20, 0, (guint) g_rand_int_range (rand, 1, 1500), rand);
  g_assert_true (vm_catalog_commit (catalog, &error));
  g_assert_no_error (error);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  tmp_dir = vm_test_set_xdg_dirs ("vm-store-XXXXXX");

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < 65536; i++)
    half_table[i] = vm_half_to_float ((guint16) i);

  if (g_getenv ("VIDMARK_VULKAN_VALIDATION") == NULL)
    g_setenv ("VIDMARK_VULKAN_VALIDATION", "1", TRUE);
  device = vm_test_open_device (TRUE, &device_error);
  if (device != NULL && !vm_gpu_device_supports_f16 (device))
    {
      device_error = g_strdup ("the device has no 16-bit storage");
      g_clear_pointer (&device, vm_gpu_device_unref);
    }

  if (device != NULL)
    build_catalog ();

  g_test_add_func ("/search/store/layout", test_layout);
  g_test_add_func ("/search/store/top-frames", test_top_frames);
  g_test_add_func ("/search/store/filters", test_filters);
  g_test_add_func ("/search/store/curves", test_curves);
  g_test_add_func ("/search/store/odd-dim", test_odd_dim);
  g_test_add_func ("/search/store/get-frame", test_get_frame);
  g_test_add_func ("/search/store/errors", test_errors);
  g_test_add_func ("/search/store/empty", test_empty);
  g_test_add_func ("/search/store/sync", test_sync);

  ret = g_test_run ();

  g_clear_pointer (&store512, vm_embedding_store_free);
  g_clear_object (&catalog);
  g_clear_pointer (&lib512.refs, g_hash_table_unref);
  g_clear_pointer (&lib20.refs, g_hash_table_unref);
  g_clear_pointer (&device, vm_gpu_device_unref);
  g_free (device_error);
  vm_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
