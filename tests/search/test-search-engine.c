/* test-search-engine.c — the search engine over a synthetic library: frame
 * embeddings are written straight into a temporary catalog, some of them
 * planted near the query's own text embedding (from a tiny random CLIP
 * model made by make-tiny-clip.py), so the right answer is known.
 *
 * Usage: test-search-engine PYTHON make-tiny-clip.py [GTest options]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "core/vm-core.h"
#include "model/vm-clip-model.h"
#include "model/vm-model-store.h"
#include "search/vm-search-engine.h"

#include "../vm-test-gpu.h"
#include "../vm-test-util.h"

#define QUERY      "a zebra crossing the road"
#define DURATION_S 60
#define STEP_S     1.0

static VmGpuDevice *device;
static char *device_error;
static char *work_dir;
static char *models_dir;     /* the tiny model installed as the default */
static char *empty_models_dir;
static char *model_name;
static char *model_digest;
static guint dim;
static float *query_vec;     /* QUERY's text embedding */
static const char *python;
static const char *script;

#define REQUIRE_DEVICE() VM_TEST_SKIP_UNLESS (device != NULL, device_error)

static void
assert_no_validation_messages (void)
{
  vm_test_assert_no_validation_messages (device);
}

static double
gauss (GRand *rand)
{
  double u1 = g_rand_double_range (rand, 1e-12, 1), u2 = g_rand_double (rand);

  return sqrt (-2 * log (u1)) * cos (2 * G_PI * u2);
}

static void
normalize (float *v,
           guint  n)
{
  double s = 0;

  for (guint i = 0; i < n; i++)
    s += (double) v[i] * v[i];
  s = sqrt (s);
  for (guint i = 0; i < n; i++)
    v[i] /= s;
}

/* ---- A synthetic library ------------------------------------------------- */

typedef struct {
  char      *dir;
  char      *catalog_path;
  VmCatalog *catalog;
  gint64     folder_id;
  gint64     model_id;
  GRand     *rand;
} Library;

static void
library_free (Library *lib)
{
  g_clear_object (&lib->catalog);
  vm_test_remove_tree (lib->dir);
  g_free (lib->dir);
  g_free (lib->catalog_path);
  g_rand_free (lib->rand);
  g_free (lib);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Library, library_free)

static Library *
library_new (void)
{
  Library *lib = g_new0 (Library, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *videos = NULL;

  lib->dir = g_dir_make_tmp ("vm-search-lib-XXXXXX", &error);
  g_assert_no_error (error);
  lib->catalog_path = g_build_filename (lib->dir, "catalog.sqlite", NULL);
  lib->catalog = vm_catalog_open (lib->catalog_path, &error);
  g_assert_no_error (error);
  videos = g_build_filename (lib->dir, "videos", NULL);
  g_mkdir (videos, 0700);
  g_assert_true (vm_catalog_add_folder (lib->catalog, videos, &lib->folder_id, &error));
  g_assert_no_error (error);
  if (model_name != NULL)
    {
      g_assert_true (vm_catalog_ensure_model (lib->catalog, model_name, dim, model_digest, &lib->model_id,
                                              &error));
      g_assert_no_error (error);
    }
  lib->rand = g_rand_new_with_seed (7);
  return lib;
}

typedef struct {
  double start, end;   /* seconds; end ≤ start: nothing planted */
  double noise;        /* added to the planted vector before normalising */
  const float *vec;    /* planted vector; NULL: the query's */
} Plant;

/* A video of DURATION_S seconds with a frame every STEP_S seconds: random
 * unit vectors, except those inside @plant, which are @plant->vec plus
 * Gaussian noise of scale @plant->noise per component. */
static gint64
add_video (Library     *lib,
           const char  *name,
           const Plant *plant,
           gint64       mtime_us,
           gint64       duration_s)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmVideo) v = vm_video_new ();
  guint n = (guint) (duration_s / STEP_S);
  g_autofree VmFrameRecord *frames = g_new0 (VmFrameRecord, n);
  g_autofree guint16 *fp16 = g_new (guint16, (gsize) n * dim);
  g_autofree float *row = g_new (float, dim);

  v->folder_id = lib->folder_id;
  v->path = g_build_filename (lib->dir, "videos", name, NULL);
  v->size = 1000;
  v->mtime_us = mtime_us;
  v->fingerprint = g_strdup_printf ("fp-%s", name);
  v->duration_ns = duration_s * VM_NSEC_PER_SEC;
  v->width = 64;
  v->height = 48;
  v->fps_num = 25;
  v->fps_den = 1;
  v->status = VM_VIDEO_STATUS_INDEXED;
  g_assert_true (vm_catalog_save_video (lib->catalog, v, &error));
  g_assert_no_error (error);
  g_file_set_contents (v->path, "not really a video", -1, NULL);

  for (guint i = 0; i < n; i++)
    {
      double t = i * STEP_S + 0.5;
      gboolean planted = plant != NULL && plant->end > plant->start && t >= plant->start && t < plant->end;

      frames[i].pts_ns = (gint64) (t * VM_NSEC_PER_SEC);
      frames[i].keyframe = TRUE;
      frames[i].shot_id = 0;
      for (guint k = 0; k < dim; k++)
        {
          if (planted)
            row[k] = (plant->vec != NULL ? plant->vec[k] : query_vec[k]) + plant->noise * gauss (lib->rand);
          else
            row[k] = gauss (lib->rand);
        }
      normalize (row, dim);
      for (guint k = 0; k < dim; k++)
        fp16[(gsize) i * dim + k] = vm_float_to_half (row[k]);
    }
  g_assert_true (vm_catalog_replace_frames (lib->catalog, v->id, frames, n, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_put_embeddings (lib->catalog, v->id, lib->model_id, 0, n, dim, fp16, &error));
  g_assert_no_error (error);
  return v->id;
}

/* A video whose frames have a chosen cosine with the query: @base (plus
 * Gaussian noise of @jitter) everywhere, @moment inside [@start, @end). */
static gint64
add_video_cosines (Library    *lib,
                   const char *name,
                   double      base,
                   double      jitter,
                   double      moment,
                   double      start,
                   double      end)
{
  g_autofree float *vecs = NULL;
  guint n = (guint) (DURATION_S / STEP_S);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmVideo) v = vm_video_new ();
  g_autofree VmFrameRecord *frames = g_new0 (VmFrameRecord, n);
  g_autofree guint16 *fp16 = g_new (guint16, (gsize) n * dim);

  v->folder_id = lib->folder_id;
  v->path = g_build_filename (lib->dir, "videos", name, NULL);
  v->fingerprint = g_strdup_printf ("fp-%s", name);
  v->duration_ns = DURATION_S * VM_NSEC_PER_SEC;
  v->status = VM_VIDEO_STATUS_INDEXED;
  g_assert_true (vm_catalog_save_video (lib->catalog, v, &error));
  g_assert_no_error (error);
  vecs = g_new (float, dim);
  for (guint i = 0; i < n; i++)
    {
      double t = i * STEP_S + 0.5;
      double c = (t >= start && t < end) ? moment : base + jitter * gauss (lib->rand);
      double dot_ = 0, s = sqrt (MAX (0, 1 - c * c));

      /* c·q plus a random unit vector orthogonal to q. */
      for (guint k = 0; k < dim; k++)
        vecs[k] = gauss (lib->rand);
      for (guint k = 0; k < dim; k++)
        dot_ += vecs[k] * query_vec[k];
      for (guint k = 0; k < dim; k++)
        vecs[k] -= dot_ * query_vec[k];
      normalize (vecs, dim);
      frames[i].pts_ns = (gint64) (t * VM_NSEC_PER_SEC);
      for (guint k = 0; k < dim; k++)
        fp16[(gsize) i * dim + k] = vm_float_to_half (c * query_vec[k] + s * vecs[k]);
    }
  g_assert_true (vm_catalog_replace_frames (lib->catalog, v->id, frames, n, &error));
  g_assert_true (vm_catalog_put_embeddings (lib->catalog, v->id, lib->model_id, 0, n, dim, fp16, &error));
  g_assert_no_error (error);
  return v->id;
}

static void
add_subtitle (Library    *lib,
              gint64      video_id,
              double      start,
              double      end,
              const char *text)
{
  g_autoptr(GError) error = NULL;
  VmTextSegment seg = { 0 };

  seg.video_id = video_id;
  seg.start_ns = (gint64) (start * VM_NSEC_PER_SEC);
  seg.end_ns = (gint64) (end * VM_NSEC_PER_SEC);
  seg.source = VM_TEXT_SOURCE_SUBTITLE;
  seg.language = (char *) "en";
  seg.text = (char *) text;
  seg.confidence = 1;
  g_assert_true (vm_catalog_add_text_segment (lib->catalog, &seg, &error));
  g_assert_no_error (error);
}

static VmSearchEngine *
engine_new (const char *dir)
{
  g_autoptr(GError) error = NULL;
  VmSearchEngineOptions options;
  VmSearchEngine *engine;

  vm_search_engine_options_init (&options);
  options.models_dir = dir;
  options.device = device;
  options.store.chunk_rows = 128;    /* several chunks even in small tests */
  engine = vm_search_engine_new (&options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (engine);
  return engine;
}

static VmSearchResult *
search (VmSearchEngine *engine,
        Library        *lib,
        VmSearchQuery  *q)
{
  g_autoptr(GError) error = NULL;
  VmSearchResult *r = vm_search_engine_search (engine, lib->catalog, q, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_assert_cmpuint (r->moments->len, <=, q->limit);
  for (guint i = 0; i < r->moments->len; i++)
    {
      VmMoment *m = g_ptr_array_index (r->moments, i);

      g_assert_cmpint (m->start_ns, <, m->end_ns);
      g_assert_cmpfloat (m->score, >=, 0);
      g_assert_cmpfloat (m->score, <=, 1);
      g_assert_cmpuint (m->signals, !=, 0);
      g_assert_nonnull (m->path);
      if (i > 0)
        g_assert_cmpfloat (m->score, <=, ((VmMoment *) g_ptr_array_index (r->moments, i - 1))->score);
    }
  g_assert_cmpfloat (r->total_ms, >=, 0);
  return r;
}

static double
iou_s (const VmMoment *m,
       double          start,
       double          end)
{
  return vm_span_iou (m->start_ns / 1e9, m->end_ns / 1e9, start, end);
}

static gboolean
result_has_video (VmSearchResult *r,
                  gint64          video_id)
{
  for (guint i = 0; i < r->moments->len; i++)
    if (((VmMoment *) g_ptr_array_index (r->moments, i))->video_id == video_id)
      return TRUE;
  return FALSE;
}

/* ---- Tests ---------------------------------------------------------------- */

static void
test_score_monotonic (void)
{
  double prev;

  /* Non-decreasing in z at every peak (increasing above 0, flat below);
   * non-decreasing in the peak at every z. */
  for (double peak = -0.2; peak <= 1.0; peak += 0.05)
    {
      double floor_ = vm_visual_moment_score (0, peak);

      prev = -1;
      for (double z = -2; z <= 12; z += 0.25)
        {
          double s = vm_visual_moment_score (z, peak);

          g_assert_cmpfloat (s, >=, 0);
          g_assert_cmpfloat (s, <=, 1);
          if (z > 0)
            g_assert_cmpfloat (s, >, prev);
          else
            g_assert_cmpfloat (s, ==, floor_);
          prev = s;
        }
    }
  for (double z = -1; z <= 12; z += 0.25)
    {
      prev = -1;
      for (double peak = -0.2; peak <= 1.0; peak += 0.01)
        {
          double s = vm_visual_moment_score (z, peak);

          g_assert_cmpfloat (s, >=, prev);
          prev = s;
        }
    }
  /* The documented figures: a clear match beside a text hit (≥ 0.5), a
   * modest real match far above a contrast in a video matching nothing. */
  g_assert_cmpfloat (fabs (vm_visual_moment_score (4, 0.3) - 0.78), <, 0.01);
  g_assert_cmpfloat (fabs (vm_visual_moment_score (2, 0.25) - 0.49), <, 0.01);
  g_assert_cmpfloat (fabs (vm_visual_moment_score (4, 0.15) - 0.07), <, 0.01);
  g_assert_cmpfloat (vm_visual_moment_score (6, 0.35), >, 0.85);
  g_assert_cmpfloat (vm_visual_moment_score (NAN, 0.3), ==, 0);
  g_assert_cmpfloat (vm_visual_moment_score (4, NAN), ==, 0);
}

static void
test_no_model (void)
{
  g_autoptr(Library) lib = library_new ();
  g_autoptr(VmSearchEngine) engine = engine_new (empty_models_dir);
  g_autoptr(VmSearchResult) r = NULL;
  g_autoptr(GError) error = NULL;
  VmSearchQuery q;
  gint64 id;

  g_assert_null (vm_search_engine_get_model_name (engine));
  g_assert_nonnull (vm_search_engine_get_notice (engine));
  g_assert_nonnull (strstr (vm_search_engine_get_notice (engine), "vidmark model"));

  id = add_video (lib, "a.mp4", NULL, 0, DURATION_S);
  add_subtitle (lib, id, 12, 15, "A zebra crossing the road");

  vm_search_query_init (&q);
  q.text = QUERY;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, ==, 1);
  g_assert_cmpuint (((VmMoment *) r->moments->pdata[0])->signals, ==, VM_SIGNAL_SUBTITLE);
  g_assert_cmpuint (r->signals_used & VM_SIGNAL_VISUAL, ==, 0);
  g_assert_cmpuint (r->signals_used & VM_SIGNAL_SUBTITLE, !=, 0);
  g_assert_nonnull (r->notice);
  g_assert_nonnull (strstr (r->notice, "vidmark model"));
  g_assert_null (r->model_name);
  g_assert_null (r->query_embedding);
  g_clear_pointer (&r, vm_search_result_free);

  /* Nothing searchable without a visual signal: an empty-query error. */
  q.text = "***";
  g_assert_null (vm_search_engine_search (engine, lib->catalog, &q, NULL, &error));
  g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY);
  g_clear_error (&error);
  q.text = "   ";
  g_assert_null (vm_search_engine_search (engine, lib->catalog, &q, NULL, &error));
  g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY);
  g_clear_error (&error);

  /* Query by example needs the visual model. */
  q.text = NULL;
  q.example_video_id = id;
  q.example_ns = 5 * VM_NSEC_PER_SEC;
  g_assert_null (vm_search_engine_search (engine, lib->catalog, &q, NULL, &error));
  g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED);
  g_clear_error (&error);

  /* An explicit model that is not installed is an error, not a notice. */
  {
    VmSearchEngineOptions options;

    vm_search_engine_options_init (&options);
    options.models_dir = empty_models_dir;
    options.model = "no-such-model";
    g_assert_null (vm_search_engine_new (&options, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
  }
}

static void
test_empty_library (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  VmSearchQuery q;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  g_assert_cmpstr (vm_search_engine_get_model_name (engine), ==, model_name);
  g_assert_null (vm_search_engine_get_notice (engine));

  vm_search_query_init (&q);
  q.text = QUERY;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, ==, 0);
  g_assert_cmpuint (r->signals_used & VM_SIGNAL_VISUAL, !=, 0);
  g_assert_cmpstr (r->model_name, ==, model_name);
  g_assert_cmpint (r->model_id, ==, lib->model_id);
  g_assert_nonnull (r->notice);   /* nothing indexed with the model yet */
  g_assert_nonnull (r->query_embedding);
  g_assert_cmpuint (r->dim, ==, dim);
  for (guint k = 0; k < dim; k++)
    g_assert_cmpfloat (fabs (r->query_embedding[k] - query_vec[k]), <, 1e-5);
  g_clear_pointer (&r, vm_search_result_free);

  /* A query with no word for the text index still searches visually. */
  q.text = "***";
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, ==, 0);
  assert_no_validation_messages ();
}

/* The planted moment is found, in the right video, at the right time,
 * among distractors; a deleted video and a missing file are never returned
 * afterwards. */
static void
test_planted (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  g_autoptr(GError) error = NULL;
  Plant plant = { 10, 20, 0.08, NULL };
  gint64 target, ids[6];
  VmMoment *top;
  VmSearchQuery q;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *name = g_strdup_printf ("distractor-%u.mp4", i);

      ids[i] = add_video (lib, name, NULL, 0, DURATION_S);
    }
  target = add_video (lib, "target.mp4", &plant, 0, DURATION_S);

  vm_search_query_init (&q);
  q.text = QUERY;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, >, 0);
  top = r->moments->pdata[0];
  g_test_message ("top: video %" G_GINT64_FORMAT " %.2f–%.2f s score %.3f (IoU %.2f); %u moments, "
                  "%u candidates, %" G_GUINT64_FORMAT " frames",
                  top->video_id, top->start_ns / 1e9, top->end_ns / 1e9, top->score,
                  iou_s (top, 10, 20), r->moments->len, r->n_candidates, r->n_frames);
  g_assert_cmpint (top->video_id, ==, target);
  g_assert_cmpuint (top->signals, ==, VM_SIGNAL_VISUAL);
  g_assert_cmpfloat (iou_s (top, 10, 20), >=, 0.5);
  g_assert_cmpfloat (top->score, >, 0.5);
  g_assert_true (g_str_has_suffix (top->path, "target.mp4"));
  g_assert_cmpuint (r->signals_used, ==, VM_SIGNAL_VISUAL | VM_SIGNAL_SUBTITLE | VM_SIGNAL_OCR | VM_SIGNAL_SPEECH);
  g_assert_cmpuint (r->n_frames, ==, 7 * DURATION_S / STEP_S);
  g_assert_cmpuint (r->n_candidates, ==, 7);
  g_assert_nonnull (vm_search_result_get_curve (r, target));
  g_assert_cmpuint (vm_search_result_get_curve (r, target)->n, ==, DURATION_S / STEP_S);
  g_assert_null (vm_search_result_get_curve (r, 9999));
  g_assert_null (r->notice);
  /* A planted moment stands far above a random video's best. */
  for (guint i = 1; i < r->moments->len; i++)
    g_assert_cmpfloat (((VmMoment *) r->moments->pdata[i])->score, <, top->score);
  g_clear_pointer (&r, vm_search_result_free);

  /* Only the visual signal; the limit. */
  q.signals = VM_SIGNAL_VISUAL;
  q.limit = 3;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, ==, 3);
  g_assert_cmpuint (r->signals_used, ==, VM_SIGNAL_VISUAL);
  g_clear_pointer (&r, vm_search_result_free);
  vm_search_query_init (&q);
  q.text = QUERY;

  /* Refinement keeps a moment whose file is gone as it was, and never fails
   * for it. */
  r = search (engine, lib, &q);
  g_remove (((VmMoment *) r->moments->pdata[0])->path);
  {
    gint64 s = ((VmMoment *) r->moments->pdata[0])->start_ns, e = ((VmMoment *) r->moments->pdata[0])->end_ns;

    g_assert_true (vm_search_engine_refine (engine, lib->catalog, r, 2, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpint (((VmMoment *) r->moments->pdata[0])->start_ns, ==, s);
    g_assert_cmpint (((VmMoment *) r->moments->pdata[0])->end_ns, ==, e);
  }
  g_clear_pointer (&r, vm_search_result_free);

  /* A missing file (status "missing"): never returned. */
  g_assert_true (vm_catalog_set_video_status (lib->catalog, target, VM_VIDEO_STATUS_MISSING, NULL, &error));
  g_assert_no_error (error);
  r = search (engine, lib, &q);
  g_assert_false (result_has_video (r, target));
  g_clear_pointer (&r, vm_search_result_free);

  /* Back, then deleted: never returned after deletion. */
  g_assert_true (vm_catalog_set_video_status (lib->catalog, target, VM_VIDEO_STATUS_INDEXED, NULL, &error));
  r = search (engine, lib, &q);
  g_assert_cmpint (((VmMoment *) r->moments->pdata[0])->video_id, ==, target);
  g_clear_pointer (&r, vm_search_result_free);
  g_assert_true (vm_catalog_delete_video (lib->catalog, target, &error));
  g_assert_no_error (error);
  r = search (engine, lib, &q);
  g_assert_false (result_has_video (r, target));
  g_assert_cmpuint (r->n_frames, ==, 6 * DURATION_S / STEP_S);
  g_clear_pointer (&r, vm_search_result_free);

  /* A video indexed since the last search is found by the next one. */
  {
    Plant late_plant = { 30, 40, 0.05, NULL };
    gint64 late = add_video (lib, "late.mp4", &late_plant, 0, DURATION_S);

    r = search (engine, lib, &q);
    g_assert_cmpint (((VmMoment *) r->moments->pdata[0])->video_id, ==, late);
    g_assert_cmpfloat (iou_s (r->moments->pdata[0], 30, 40), >=, 0.5);
    g_clear_pointer (&r, vm_search_result_free);
    g_assert_true (vm_catalog_delete_video (lib->catalog, late, &error));
  }

  /* Every video deleted: an empty result, no error. */
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_assert_true (vm_catalog_delete_video (lib->catalog, ids[i], &error));
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, ==, 0);
  assert_no_validation_messages ();
}

/* Stronger evidence ranks first across videos; many videos are considered
 * even when one video holds all the best frames. */
static void
test_ranking (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  Plant strong = { 30, 40, 0.05, NULL };
  Plant weak = { 5, 15, 0.35, NULL };
  Plant hog = { 0, 180, 0.3, NULL };  /* a long video of middling matches: the first scan pass sees little else */
  gint64 a, b, c;
  VmSearchQuery q;
  gboolean seen_a = FALSE;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("random-%u.mp4", i);

      add_video (lib, name, NULL, 0, DURATION_S);
    }
  b = add_video (lib, "weak.mp4", &weak, 0, DURATION_S);
  a = add_video (lib, "strong.mp4", &strong, 0, DURATION_S);
  c = add_video (lib, "hog.mp4", &hog, 0, 3 * DURATION_S);

  vm_search_query_init (&q);
  q.text = QUERY;
  r = search (engine, lib, &q);
  for (guint i = 0; i < r->moments->len; i++)
    {
      VmMoment *m = r->moments->pdata[i];

      g_test_message ("%u. video %" G_GINT64_FORMAT " %.1f–%.1f s %.3f", i + 1, m->video_id,
                      m->start_ns / 1e9, m->end_ns / 1e9, m->score);
    }
  g_assert_cmpint (((VmMoment *) r->moments->pdata[0])->video_id, ==, a);
  g_assert_cmpfloat (iou_s (r->moments->pdata[0], 30, 40), >=, 0.5);
  /* The weak plant ranks above every moment of the random videos. */
  for (guint i = 0; i < r->moments->len; i++)
    {
      VmMoment *m = r->moments->pdata[i];

      if (m->video_id == a)
        seen_a = TRUE;
      if (m->video_id == b)
        {
          g_assert_true (seen_a);
          g_assert_cmpfloat (iou_s (m, 5, 15), >=, 0.3);
          break;
        }
      g_assert_true (m->video_id == a || m->video_id == c);
    }
  g_assert_true (result_has_video (r, b));
  /* The hog holds most of the best frames, yet every video was a candidate. */
  g_assert_cmpuint (r->n_candidates, ==, 6);
  assert_no_validation_messages ();
}

/* CLIP-like cosines: a modest real match (0.27 over a 0.15 background)
 * ranks above a moment that merely stands out of a video matching nothing
 * (0.14 over 0.03), although the latter stands out more. */
static void
test_ranking_levels (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  gint64 modest, blip;
  VmMoment *top;
  VmSearchQuery q;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  blip = add_video_cosines (lib, "blip.mp4", 0.03, 0.01, 0.14, 20, 28);
  modest = add_video_cosines (lib, "modest.mp4", 0.15, 0.01, 0.27, 30, 38);

  vm_search_query_init (&q);
  q.text = QUERY;
  q.signals = VM_SIGNAL_VISUAL;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, >=, 2);
  top = r->moments->pdata[0];
  g_test_message ("modest: %.1f–%.1f s %.3f", top->start_ns / 1e9, top->end_ns / 1e9, top->score);
  g_assert_cmpint (top->video_id, ==, modest);
  g_assert_cmpfloat (iou_s (top, 30, 38), >=, 0.5);
  g_assert_cmpfloat (top->score, >, 0.4);
  for (guint i = 0; i < r->moments->len; i++)
    {
      VmMoment *m = r->moments->pdata[i];

      if (m->video_id == blip)
        {
          g_test_message ("blip: %.1f–%.1f s %.3f", m->start_ns / 1e9, m->end_ns / 1e9, m->score);
          g_assert_cmpfloat (m->score, <, 0.15);
        }
    }
  assert_no_validation_messages ();
}

static void
test_filters (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  g_autoptr(GError) error = NULL;
  Plant p1 = { 10, 20, 0.05, NULL };
  Plant p2 = { 20, 30, 0.1, NULL };
  gint64 day = G_GINT64_CONSTANT (86400000000);
  gint64 old_id, new_id, long_id, other_folder_id;
  gint64 other_folder;
  VmSearchQuery q;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  old_id = add_video (lib, "old.mp4", &p1, 100 * day, DURATION_S);
  new_id = add_video (lib, "new.mp4", &p2, 200 * day, DURATION_S);
  long_id = add_video (lib, "long.mp4", &p2, 150 * day, 4 * DURATION_S);
  {
    g_autofree char *dir = g_build_filename (lib->dir, "other", NULL);
    g_autoptr(VmVideo) v = NULL;

    g_mkdir (dir, 0700);
    g_assert_true (vm_catalog_add_folder (lib->catalog, dir, &other_folder, &error));
    other_folder_id = add_video (lib, "x.mp4", &p1, 150 * day, DURATION_S);
    v = vm_catalog_get_video (lib->catalog, other_folder_id, &error);
    g_free (v->path);
    v->path = g_build_filename (dir, "sub", "x.mp4", NULL);
    v->folder_id = other_folder;
    g_assert_true (vm_catalog_save_video (lib->catalog, v, &error));
    g_assert_no_error (error);
  }

  vm_search_query_init (&q);
  q.text = QUERY;
  q.limit = 20;

  /* One video. */
  q.video_id = new_id;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, >, 0);
  for (guint i = 0; i < r->moments->len; i++)
    g_assert_cmpint (((VmMoment *) r->moments->pdata[i])->video_id, ==, new_id);
  g_assert_cmpfloat (iou_s (r->moments->pdata[0], 20, 30), >=, 0.5);
  g_assert_cmpuint (r->n_frames, ==, DURATION_S / STEP_S);
  g_clear_pointer (&r, vm_search_result_free);
  q.video_id = 0;

  /* A library folder, by id and by path (any depth). */
  q.folder_id = other_folder;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, >, 0);
  for (guint i = 0; i < r->moments->len; i++)
    g_assert_cmpint (((VmMoment *) r->moments->pdata[i])->video_id, ==, other_folder_id);
  g_clear_pointer (&r, vm_search_result_free);
  q.folder_id = 0;
  {
    g_autofree char *dir = g_build_filename (lib->dir, "other", NULL);
    g_autofree char *videos = g_build_filename (lib->dir, "videos", NULL);

    q.folder_path = dir;
    r = search (engine, lib, &q);
    g_assert_cmpuint (r->moments->len, >, 0);
    for (guint i = 0; i < r->moments->len; i++)
      g_assert_cmpint (((VmMoment *) r->moments->pdata[i])->video_id, ==, other_folder_id);
    g_clear_pointer (&r, vm_search_result_free);
    q.folder_path = videos;
    r = search (engine, lib, &q);
    g_assert_false (result_has_video (r, other_folder_id));
    g_assert_true (result_has_video (r, old_id));
    g_clear_pointer (&r, vm_search_result_free);
    q.folder_path = NULL;
  }

  /* Duration. */
  q.min_duration_ns = 2 * DURATION_S * VM_NSEC_PER_SEC;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, >, 0);
  for (guint i = 0; i < r->moments->len; i++)
    g_assert_cmpint (((VmMoment *) r->moments->pdata[i])->video_id, ==, long_id);
  g_clear_pointer (&r, vm_search_result_free);
  q.min_duration_ns = 0;
  q.max_duration_ns = 2 * DURATION_S * VM_NSEC_PER_SEC;
  r = search (engine, lib, &q);
  g_assert_false (result_has_video (r, long_id));
  g_assert_true (result_has_video (r, old_id) && result_has_video (r, new_id));
  g_clear_pointer (&r, vm_search_result_free);
  q.max_duration_ns = 0;

  /* Modification date: [after, before). */
  q.modified_after_us = 120 * day;
  q.modified_before_us = 200 * day;
  r = search (engine, lib, &q);
  g_assert_false (result_has_video (r, old_id));
  g_assert_false (result_has_video (r, new_id));
  g_assert_true (result_has_video (r, long_id));
  g_clear_pointer (&r, vm_search_result_free);

  /* Filters leaving nothing: empty, no error. */
  q.video_id = old_id;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, ==, 0);
  g_clear_pointer (&r, vm_search_result_free);
  q.video_id = 987654;
  q.modified_after_us = q.modified_before_us = 0;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->moments->len, ==, 0);
  assert_no_validation_messages ();
}

/* A frame of one video finds the same content in another; its own moment
 * is left out. */
static void
test_example (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *thing = g_new (float, dim);
  GRand *rand = g_rand_new_with_seed (3);
  Plant in_a = { 10, 20, 0.05, NULL };
  Plant in_b = { 35, 45, 0.05, NULL };
  gint64 a, b;
  VmSearchQuery q;

  REQUIRE_DEVICE ();
  for (guint k = 0; k < dim; k++)
    thing[k] = gauss (rand);
  g_rand_free (rand);
  normalize (thing, dim);
  in_a.vec = in_b.vec = thing;

  lib = library_new ();
  engine = engine_new (models_dir);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *name = g_strdup_printf ("random-%u.mp4", i);

      add_video (lib, name, NULL, 0, DURATION_S);
    }
  a = add_video (lib, "a.mp4", &in_a, 0, DURATION_S);
  b = add_video (lib, "b.mp4", &in_b, 0, DURATION_S);

  vm_search_query_init (&q);
  q.example_video_id = a;
  q.example_ns = 15200 * G_GINT64_CONSTANT (1000000);
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->signals_used, ==, VM_SIGNAL_VISUAL);
  g_assert_cmpint (r->example_pts_ns, ==, (gint64) (15.5 * VM_NSEC_PER_SEC));
  g_assert_cmpuint (r->moments->len, >, 0);
  g_assert_cmpint (((VmMoment *) r->moments->pdata[0])->video_id, ==, b);
  g_assert_cmpfloat (iou_s (r->moments->pdata[0], 35, 45), >=, 0.5);
  for (guint i = 0; i < r->moments->len; i++)
    {
      VmMoment *m = r->moments->pdata[i];

      g_assert_cmpuint (m->signals, ==, VM_SIGNAL_VISUAL);
      if (m->video_id == a)
        g_assert_false (m->start_ns <= r->example_pts_ns && r->example_pts_ns <= m->end_ns);
    }
  g_clear_pointer (&r, vm_search_result_free);

  /* Text is ignored with an example; an unknown example video is an error. */
  q.text = "zebra";
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->signals_used, ==, VM_SIGNAL_VISUAL);
  g_clear_pointer (&r, vm_search_result_free);
  q.example_video_id = 424242;
  g_assert_null (vm_search_engine_search (engine, lib->catalog, &q, NULL, &error));
  g_assert_nonnull (error);
  assert_no_validation_messages ();
}

/* A subtitle and a visual moment on the same span become one moment with
 * both signals; a subtitle elsewhere stays a text moment. */
static void
test_hybrid (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  Plant plant = { 10, 20, 0.05, NULL };
  gint64 target, other;
  VmMoment *top;
  VmSearchQuery q;
  gboolean found_text_only = FALSE;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("random-%u.mp4", i);

      add_video (lib, name, NULL, 0, DURATION_S);
    }
  target = add_video (lib, "target.mp4", &plant, 0, DURATION_S);
  other = add_video (lib, "other.mp4", NULL, 0, DURATION_S);
  add_subtitle (lib, target, 12, 16, "Look, a zebra crossing the road");
  add_subtitle (lib, other, 40, 42, "No zebra crossing the road here");

  vm_search_query_init (&q);
  q.text = "zebra crossing";
  q.limit = 20;
  r = search (engine, lib, &q);
  top = r->moments->pdata[0];
  g_assert_cmpint (top->video_id, ==, target);
  g_assert_cmpuint (top->signals, ==, VM_SIGNAL_VISUAL | VM_SIGNAL_SUBTITLE);
  g_assert_cmpfloat (iou_s (top, 10, 20), >=, 0.5);
  g_assert_cmpuint (top->snippets->len, ==, 1);
  g_assert_cmpfloat (top->score, <=, 1);
  for (guint i = 0; i < r->moments->len; i++)
    {
      VmMoment *m = r->moments->pdata[i];

      /* One moment per span: nothing else of the target overlaps it. */
      if (i > 0 && m->video_id == target)
        g_assert_cmpfloat (vm_temporal_iou (m->start_ns, m->end_ns, top->start_ns, top->end_ns), <, 0.5);
      if (m->video_id == other && (m->signals & VM_SIGNAL_SUBTITLE))
        found_text_only = TRUE;
    }
  g_assert_true (found_text_only);
  g_clear_pointer (&r, vm_search_result_free);

  /* Text only by choice: no visual signal, no embedding. */
  q.signals = VM_SIGNAL_SUBTITLE | VM_SIGNAL_OCR | VM_SIGNAL_SPEECH;
  r = search (engine, lib, &q);
  g_assert_cmpuint (r->signals_used & VM_SIGNAL_VISUAL, ==, 0);
  g_assert_cmpuint (r->moments->len, ==, 2);
  for (guint i = 0; i < r->moments->len; i++)
    g_assert_cmpuint (((VmMoment *) r->moments->pdata[i])->signals, ==, VM_SIGNAL_SUBTITLE);
  assert_no_validation_messages ();
}

/* Embeddings of the model's name under other weights: text only, a notice,
 * no failure. */
static void
test_stale_digest (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) r = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = model_name;
  gint64 stale_id, id;
  VmSearchQuery q;

  REQUIRE_DEVICE ();
  model_name = NULL;   /* library_new must not register the real record */
  lib = library_new ();
  model_name = g_steal_pointer (&saved);
  g_assert_true (vm_catalog_ensure_model (lib->catalog, model_name, dim, "sha256:0000", &stale_id, &error));
  g_assert_no_error (error);
  lib->model_id = stale_id;
  id = add_video (lib, "a.mp4", &(Plant) { 10, 20, 0.05, NULL }, 0, DURATION_S);
  add_subtitle (lib, id, 30, 33, "zebra crossing");

  engine = engine_new (models_dir);
  vm_search_query_init (&q);
  q.text = "zebra crossing";
  r = search (engine, lib, &q);
  g_assert_nonnull (r->notice);
  g_assert_nonnull (strstr (r->notice, "index"));
  g_assert_cmpuint (r->signals_used & VM_SIGNAL_VISUAL, ==, 0);
  g_assert_cmpuint (r->moments->len, ==, 1);
  g_assert_cmpuint (((VmMoment *) r->moments->pdata[0])->signals, ==, VM_SIGNAL_SUBTITLE);
  assert_no_validation_messages ();
}

/* Several threads, each with its own catalog connection, share one engine. */
typedef struct {
  VmSearchEngine *engine;
  const char     *catalog_path;
  gint64          target;
  guint           ok;
} ThreadData;

static gpointer
search_thread (gpointer user_data)
{
  ThreadData *d = user_data;
  g_autoptr(VmCatalog) catalog = vm_catalog_open (d->catalog_path, NULL);

  for (guint i = 0; catalog != NULL && i < 4; i++)
    {
      g_autoptr(VmSearchResult) r = NULL;
      VmSearchQuery q;

      vm_search_query_init (&q);
      q.text = QUERY;
      r = vm_search_engine_search (d->engine, catalog, &q, NULL, NULL);
      if (r != NULL && r->moments->len > 0 && ((VmMoment *) r->moments->pdata[0])->video_id == d->target)
        d->ok++;
    }
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  ThreadData data[3];
  GThread *threads[3];
  gint64 target;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  add_video (lib, "random.mp4", NULL, 0, DURATION_S);
  target = add_video (lib, "target.mp4", &(Plant) { 10, 20, 0.05, NULL }, 0, DURATION_S);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      data[i] = (ThreadData) { engine, lib->catalog_path, target, 0 };
      threads[i] = g_thread_new ("search", search_thread, &data[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (data[i].ok, ==, 4);
    }
  assert_no_validation_messages ();
}

static void
test_cancel (void)
{
  g_autoptr(Library) lib = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  VmSearchQuery q;

  REQUIRE_DEVICE ();
  lib = library_new ();
  engine = engine_new (models_dir);
  add_video (lib, "random.mp4", NULL, 0, DURATION_S);
  g_cancellable_cancel (cancellable);
  vm_search_query_init (&q);
  q.text = QUERY;
  g_assert_null (vm_search_engine_search (engine, lib->catalog, &q, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_no_validation_messages ();
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cache_dir = NULL;
  int ret;

  if (!vm_test_take_script_args (&argc, &argv, &python, &script))
    g_error ("usage: %s PYTHON make-tiny-clip.py", argv[0]);

  cache_dir = vm_test_set_xdg_dirs ("vm-search-cache-XXXXXX");
  g_test_init (&argc, &argv, NULL);

  work_dir = g_dir_make_tmp ("vm-search-XXXXXX", NULL);
  empty_models_dir = g_build_filename (work_dir, "no-models", NULL);
  models_dir = g_build_filename (work_dir, "models", NULL);

  device = vm_test_open_device (FALSE, &device_error);

  if (device != NULL)
    {
      g_autofree char *src = g_build_filename (work_dir, "tiny-quick-f32", NULL);
      g_autofree char *installed = NULL;
      g_autofree char *path = NULL;
      g_autoptr(VmClipModel) model = NULL;
      const char *texts[] = { QUERY };

      vm_test_make_tiny_clip (python, script, work_dir);
      installed = vm_model_store_import (models_dir, src, NULL, NULL, &error);
      g_assert_no_error (error);
      path = g_build_filename (models_dir, installed, NULL);
      model = vm_clip_model_load (device, path, VM_CLIP_LOAD_NO_VISION, &error);
      g_assert_no_error (error);
      model_name = g_strdup (vm_clip_model_get_name (model));
      model_digest = g_strdup (vm_clip_model_get_digest (model));
      dim = vm_clip_model_get_projection_dim (model);
      query_vec = g_new (float, dim);
      g_assert_true (vm_clip_model_encode_texts (model, texts, 1, query_vec, &error));
      g_assert_no_error (error);
    }

  g_test_add_func ("/search-engine/visual-score", test_score_monotonic);
  g_test_add_func ("/search-engine/no-model", test_no_model);
  g_test_add_func ("/search-engine/empty-library", test_empty_library);
  g_test_add_func ("/search-engine/planted-deleted-missing", test_planted);
  g_test_add_func ("/search-engine/ranking", test_ranking);
  g_test_add_func ("/search-engine/ranking-levels", test_ranking_levels);
  g_test_add_func ("/search-engine/filters", test_filters);
  g_test_add_func ("/search-engine/query-by-example", test_example);
  g_test_add_func ("/search-engine/hybrid", test_hybrid);
  g_test_add_func ("/search-engine/stale-digest", test_stale_digest);
  g_test_add_func ("/search-engine/threads", test_threads);
  g_test_add_func ("/search-engine/cancel", test_cancel);

  ret = g_test_run ();
  g_clear_pointer (&device, vm_gpu_device_unref);
  vm_test_remove_tree (work_dir);
  vm_test_remove_tree (cache_dir);
  g_free (work_dir);
  g_free (models_dir);
  g_free (empty_models_dir);
  g_free (model_name);
  g_free (model_digest);
  g_free (query_vec);
  g_free (device_error);
  return ret;
}
