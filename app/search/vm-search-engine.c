/* vm-search-engine.c — moment search over the whole library.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-search-engine.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/vm-core.h"
#include "model/vm-clip-model.h"
#include "model/vm-model-error.h"
#include "model/vm-model-store.h"
#include "search/vm-refine.h"

/* Frames the scan asks for per pass, and how many passes may look for
 * further videos when the best frames come from too few. */
#define SCAN_K          64
#define SCAN_MAX_PASSES 4
#define MAX_CANDIDATES  64
#define MIN_CANDIDATES  8

#define TEXT_SIGNALS (VM_SIGNAL_SUBTITLE | VM_SIGNAL_OCR | VM_SIGNAL_SPEECH)
#define ALL_SIGNALS  (TEXT_SIGNALS | VM_SIGNAL_VISUAL)

struct _VmSearchEngine {
  gatomicrefcount   ref_count;
  GMutex            lock;            /* searches run one at a time */

  char             *models_dir;
  gboolean          no_visual;
  VmEmbeddingStoreOptions store_options;

  VmGpuDevice      *device;
  char             *model_dir;       /* the resolved model folder; NULL: none */
  VmClipModel      *text_model;      /* text tower; NULL: text only */
  VmClipModel      *vision_model;    /* vision tower, loaded for refinement */
  char             *notice;          /* why searches are text only */

  VmEmbeddingStore *store;
  char             *store_catalog;   /* which catalog the store mirrors */
};

/* ---- Options, queries, results ------------------------------------------- */

void
vm_search_engine_options_init (VmSearchEngineOptions *options)
{
  memset (options, 0, sizeof *options);
  vm_embedding_store_options_init (&options->store);
}

void
vm_search_query_init (VmSearchQuery *query)
{
  memset (query, 0, sizeof *query);
  query->limit = 10;
  query->signals = ALL_SIGNALS;
  vm_grounding_options_init (&query->grounding);
  query->text_margin_ns = VM_NSEC_PER_SEC / 2;
}

void
vm_search_result_free (VmSearchResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->moments, g_ptr_array_unref);
  g_clear_pointer (&result->curves, g_ptr_array_unref);
  g_free (result->query_embedding);
  g_free (result->model_name);
  g_free (result->notice);
  g_free (result);
}

const VmScoreCurve *
vm_search_result_get_curve (VmSearchResult *result,
                            gint64          video_id)
{
  g_return_val_if_fail (result != NULL, NULL);

  if (result->curves == NULL)
    return NULL;
  for (guint i = 0; i < result->curves->len; i++)
    {
      const VmScoreCurve *c = g_ptr_array_index (result->curves, i);

      if (c->video_id == video_id)
        return c;
    }
  return NULL;
}

double
vm_visual_moment_score (double z,
                        double peak)
{
  double contrast, level;

  if (!isfinite (z) || !isfinite (peak))
    return 0;
  contrast = 1.0 - exp (-MAX (z, 0.0) / 3.0);
  level = 1.0 / (1.0 + exp (-(peak - 0.22) / 0.03));
  return CLAMP (contrast * (0.5 + 0.5 * level), 0.0, 1.0);
}

static void
add_notice (char       **notice,
            const char  *text)
{
  char *joined;

  if (text == NULL || *text == '\0')
    return;
  if (*notice != NULL && strstr (*notice, text) != NULL)
    return;
  joined = *notice == NULL ? g_strdup (text) : g_strconcat (*notice, " ", text, NULL);
  g_free (*notice);
  *notice = joined;
}

/* ---- The engine ------------------------------------------------------------ */

/* The folder of the model to load: @model as a folder, a name in the models
 * folder, or the default.  NULL with no error when none is installed (the
 * hint goes to @notice). */
static char *
resolve_model_dir (const char  *models_dir,
                   const char  *model,
                   char       **notice,
                   GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *dir;

  if (model == NULL || *model == '\0')
    {
      dir = vm_model_store_get_default_path (models_dir, &local_error);
      if (dir == NULL)
        {
          if (g_error_matches (local_error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND))
            {
              g_autofree char *hint = vm_model_store_no_model_hint ();

              add_notice (notice, hint);
              return NULL;
            }
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      return dir;
    }

  if (strchr (model, G_DIR_SEPARATOR) != NULL || g_file_test (model, G_FILE_TEST_IS_DIR))
    {
      if (!g_file_test (model, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                       _("“%s” is not a model folder"), model);
          return NULL;
        }
      return g_canonicalize_filename (model, NULL);
    }

  {
    g_autoptr(VmModelInfo) info = vm_model_store_lookup (models_dir, model, &local_error);

    if (info == NULL)
      {
        if (g_error_matches (local_error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND))
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                       _("No model named “%s” is installed (see “vidmark model list”)"), model);
        else
          g_propagate_error (error, g_steal_pointer (&local_error));
        return NULL;
      }
    return g_strdup (info->path);
  }
}

static gboolean
is_gpu_unavailable (const GError *error)
{
  return error->domain == VM_GPU_ERROR;
}

VmSearchEngine *
vm_search_engine_new (const VmSearchEngineOptions  *options,
                      GError                      **error)
{
  g_autoptr(VmSearchEngine) self = g_new0 (VmSearchEngine, 1);
  VmSearchEngineOptions defaults;

  if (options == NULL)
    {
      vm_search_engine_options_init (&defaults);
      options = &defaults;
    }

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->models_dir = g_strdup (options->models_dir);
  self->no_visual = options->no_visual;
  self->store_options = options->store;

  if (self->no_visual)
    return g_steal_pointer (&self);

  self->model_dir = resolve_model_dir (options->models_dir, options->model, &self->notice, error);
  if (self->model_dir == NULL)
    return self->notice != NULL ? g_steal_pointer (&self) : NULL;

  if (options->device != NULL)
    self->device = vm_gpu_device_ref (options->device);
  else
    {
      g_autoptr(GError) local_error = NULL;

      self->device = vm_gpu_device_new (&local_error);
      if (self->device == NULL)
        {
          g_autofree char *text =
            g_strdup_printf (_("Searching text only: no usable GPU (%s)."), local_error->message);

          add_notice (&self->notice, text);
          return g_steal_pointer (&self);
        }
    }

  {
    g_autoptr(GError) local_error = NULL;

    self->text_model = vm_clip_model_load (self->device, self->model_dir, VM_CLIP_LOAD_NO_VISION,
                                           &local_error);
    if (self->text_model == NULL)
      {
        if (is_gpu_unavailable (local_error))
          {
            g_autofree char *text =
              g_strdup_printf (_("Searching text only: the model cannot be loaded on the GPU (%s)."),
                               local_error->message);

            add_notice (&self->notice, text);
            return g_steal_pointer (&self);
          }
        g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Model “%s”: "),
                                    self->model_dir);
        return NULL;
      }
  }

  return g_steal_pointer (&self);
}

VmSearchEngine *
vm_search_engine_ref (VmSearchEngine *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
vm_search_engine_unref (VmSearchEngine *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_pointer (&self->store, vm_embedding_store_free);
  g_clear_pointer (&self->text_model, vm_clip_model_unref);
  g_clear_pointer (&self->vision_model, vm_clip_model_unref);
  g_clear_pointer (&self->device, vm_gpu_device_unref);
  g_free (self->store_catalog);
  g_free (self->model_dir);
  g_free (self->models_dir);
  g_free (self->notice);
  g_mutex_clear (&self->lock);
  g_free (self);
}

const char *
vm_search_engine_get_model_name (VmSearchEngine *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->text_model != NULL ? vm_clip_model_get_name (self->text_model) : NULL;
}

const char *
vm_search_engine_get_notice (VmSearchEngine *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->notice;
}

/* ---- One search ------------------------------------------------------------ */

static double
ms_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static gboolean
query_has_filters (const VmSearchQuery *q)
{
  return q->video_id > 0 || q->folder_id > 0 || (q->folder_path != NULL && *q->folder_path != '\0') ||
         q->min_duration_ns > 0 || q->max_duration_ns > 0 ||
         q->modified_after_us != 0 || q->modified_before_us != 0;
}

static gboolean
path_is_under (const char *path,
               const char *folder)
{
  gsize n = strlen (folder);

  while (n > 1 && folder[n - 1] == G_DIR_SEPARATOR)
    n--;
  return strncmp (path, folder, n) == 0 && path[n] == G_DIR_SEPARATOR;
}

static gboolean
video_passes (const VmVideo       *v,
              const VmSearchQuery *q,
              const char          *folder_path)
{
  if (v->status == VM_VIDEO_STATUS_MISSING)
    return FALSE;
  if (q->video_id > 0 && v->id != q->video_id)
    return FALSE;
  if (q->folder_id > 0 && v->folder_id != q->folder_id)
    return FALSE;
  if (folder_path != NULL && !path_is_under (v->path, folder_path))
    return FALSE;
  if (q->min_duration_ns > 0 && (v->duration_ns < 0 || v->duration_ns < q->min_duration_ns))
    return FALSE;
  if (q->max_duration_ns > 0 && (v->duration_ns < 0 || v->duration_ns > q->max_duration_ns))
    return FALSE;
  if (q->modified_after_us != 0 && v->mtime_us < q->modified_after_us)
    return FALSE;
  if (q->modified_before_us != 0 && v->mtime_us >= q->modified_before_us)
    return FALSE;
  return TRUE;
}

/* The videos the filters allow: id → VmVideo (borrowed from the table). */
static GHashTable *
allowed_videos (VmCatalog            *catalog,
                const VmSearchQuery  *q,
                GError              **error)
{
  g_autoptr(GHashTable) allowed =
    g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) vm_video_free);
  g_autofree char *folder_path = NULL;

  if (q->folder_path != NULL && *q->folder_path != '\0')
    folder_path = g_canonicalize_filename (q->folder_path, NULL);

  if (q->video_id > 0)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(VmVideo) v = vm_catalog_get_video (catalog, q->video_id, &local_error);

      if (v == NULL)
        {
          if (g_error_matches (local_error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND))
            return g_steal_pointer (&allowed);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (video_passes (v, q, folder_path))
        {
          VmVideo *kept = g_steal_pointer (&v);

          g_hash_table_insert (allowed, &kept->id, kept);
        }
      return g_steal_pointer (&allowed);
    }

  {
    g_autoptr(GPtrArray) videos = vm_catalog_list_videos (catalog, q->folder_id, error);

    if (videos == NULL)
      return NULL;
    for (guint i = 0; i < videos->len; i++)
      {
        VmVideo *v = g_ptr_array_index (videos, i);

        if (video_passes (v, q, folder_path))
          {
            videos->pdata[i] = NULL;
            g_hash_table_insert (allowed, &v->id, v);
          }
      }
  }
  return g_steal_pointer (&allowed);
}

/* The catalog id of the engine's model, by the indexer's convention (name,
 * projection dim, digest).  FALSE with no error and a notice when the
 * catalog's embeddings of that name come from other weights. */
static gboolean
catalog_model_id (VmSearchEngine  *self,
                  VmCatalog       *catalog,
                  gint64          *out_id,
                  char           **notice,
                  GError         **error)
{
  const char *name = vm_clip_model_get_name (self->text_model);
  const char *digest = vm_clip_model_get_digest (self->text_model);
  guint dim = vm_clip_model_get_projection_dim (self->text_model);
  g_autoptr(GPtrArray) models = vm_catalog_list_models (catalog, error);

  if (models == NULL)
    return FALSE;
  for (guint i = 0; i < models->len; i++)
    {
      VmModelRecord *m = g_ptr_array_index (models, i);

      if (g_strcmp0 (m->name, name) != 0)
        continue;
      if ((guint) m->dim != dim || g_strcmp0 (m->digest, digest) != 0)
        {
          g_autofree char *text =
            g_strdup_printf (_("The library was indexed with other weights of model “%s”: searching "
                               "text only. Run “vidmark index” to embed it again with these weights."),
                             name);

          add_notice (notice, text);
          return FALSE;
        }
      *out_id = m->id;
      return TRUE;
    }
  return vm_catalog_ensure_model (catalog, name, (int) dim, digest, out_id, error);
}

static gboolean
ensure_store (VmSearchEngine  *self,
              VmCatalog       *catalog,
              gint64           model_id,
              GError         **error)
{
  const char *path = vm_catalog_get_path (catalog);
  g_autofree char *key = NULL;

  /* Private in-memory catalogs are told apart by their connection. */
  if (path == NULL || *path == '\0' || g_str_equal (path, ":memory:"))
    key = g_strdup_printf (":memory:%p", (void *) catalog);
  else
    key = g_strdup (path);

  if (self->store != NULL &&
      (vm_embedding_store_get_model_id (self->store) != model_id || g_strcmp0 (self->store_catalog, key) != 0))
    g_clear_pointer (&self->store, vm_embedding_store_free);

  if (self->store == NULL)
    {
      self->store = vm_embedding_store_new (self->device, model_id,
                                            vm_clip_model_get_projection_dim (self->text_model),
                                            &self->store_options, error);
      if (self->store == NULL)
        return FALSE;
      g_free (self->store_catalog);
      self->store_catalog = g_steal_pointer (&key);
    }
  return TRUE;
}

typedef struct {
  gint64 video_id;
  float  best;
} Candidate;

static int
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  const Candidate *x = a, *y = b;

  if (x->best != y->best)
    return x->best > y->best ? -1 : 1;
  return (x->video_id > y->video_id) - (x->video_id < y->video_id);
}

/* Candidate videos, best first: the distinct videos of the SCAN_K best
 * frames, each ranked by its best frame.  When those come from fewer than
 * `want` videos, further passes scan the other (allowed) videos only, so
 * that one video with many matching frames cannot hide the rest. */
static GArray *
pick_candidates (VmSearchEngine  *self,
                 VmCatalog       *catalog,
                 const float     *query,
                 GHashTable      *allowed,
                 guint            want,
                 GCancellable    *cancellable,
                 GError         **error)
{
  g_autoptr(GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) rest = NULL;   /* the ids the next pass may scan */

  if (allowed != NULL)
    {
      GHashTableIter iter;
      gpointer key;

      rest = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_iter_init (&iter, allowed);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (vm_embedding_store_has_video (self->store, *(gint64 *) key))
          g_array_append_val (rest, *(gint64 *) key);
      if (rest->len == 0)
        return g_steal_pointer (&candidates);
    }

  for (guint pass = 0; pass < SCAN_MAX_PASSES && candidates->len < want; pass++)
    {
      g_autoptr(GArray) hits = NULL;
      guint before = candidates->len;

      hits = vm_embedding_store_top_frames (self->store, query, SCAN_K,
                                            rest != NULL ? (const gint64 *) rest->data : NULL,
                                            rest != NULL ? rest->len : 0, cancellable, error);
      if (hits == NULL)
        return NULL;

      for (guint i = 0; i < hits->len; i++)
        {
          const VmFrameHit *h = &g_array_index (hits, VmFrameHit, i);
          Candidate c = { h->video_id, h->score };

          if (g_hash_table_contains (seen, &h->video_id))
            continue;
          g_hash_table_add (seen, g_memdup2 (&h->video_id, sizeof (gint64)));
          g_array_append_val (candidates, c);
        }

      /* A pass that found no new video, or fewer hits than asked for (so
       * every remaining frame was seen), ends the search for more. */
      if (candidates->len == before || hits->len < SCAN_K)
        break;
      if (candidates->len >= want)
        break;

      /* The next pass scans the videos not seen yet (unfiltered: the
       * catalog's videos that the store holds). */
      if (rest == NULL)
        {
          g_autoptr(GPtrArray) all = vm_catalog_list_videos (catalog, 0, error);

          if (all == NULL)
            return NULL;
          rest = g_array_new (FALSE, FALSE, sizeof (gint64));
          for (guint i = 0; i < all->len; i++)
            {
              VmVideo *v = g_ptr_array_index (all, i);

              if (vm_embedding_store_has_video (self->store, v->id))
                g_array_append_val (rest, v->id);
            }
        }
      {
        guint j = 0;

        for (guint i = 0; i < rest->len; i++)
          {
            gint64 id = g_array_index (rest, gint64, i);

            if (!g_hash_table_contains (seen, &id))
              g_array_index (rest, gint64, j++) = id;
          }
        g_array_set_size (rest, j);
        if (j == 0)
          break;
      }
    }

  g_array_sort (candidates, compare_candidates);
  return g_steal_pointer (&candidates);
}

static VmVideo *
lookup_video (VmCatalog   *catalog,
              GHashTable  *cache,
              gint64       video_id,
              GError     **error)
{
  VmVideo *v = g_hash_table_lookup (cache, &video_id);
  g_autoptr(GError) local_error = NULL;

  if (v != NULL)
    return v;
  v = vm_catalog_get_video (catalog, video_id, &local_error);
  if (v == NULL)
    {
      if (!g_error_matches (local_error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND))
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_hash_table_insert (cache, &v->id, v);
  return v;
}

/* Steps 1–4: the visual moments (VmMoment*), or NULL on error. */
static GPtrArray *
search_visual (VmSearchEngine       *self,
               VmCatalog            *catalog,
               const VmSearchQuery  *q,
               GHashTable           *allowed,
               VmSearchResult       *result,
               GCancellable         *cancellable,
               GError              **error)
{
  g_autoptr(GPtrArray) moments = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);
  g_autoptr(GHashTable) videos = NULL;
  g_autoptr(GArray) candidates = NULL;
  g_autoptr(GArray) ids = NULL;
  gint64 model_id = 0;
  guint dim = vm_clip_model_get_projection_dim (self->text_model);
  guint want;
  gint64 t0;

  {
    g_autoptr(GError) local_error = NULL;

    if (!catalog_model_id (self, catalog, &model_id, &result->notice, &local_error))
      {
        if (local_error == NULL)
          return g_steal_pointer (&moments);  /* stale: text only */
        g_propagate_error (error, g_steal_pointer (&local_error));
        return NULL;
      }
  }
  result->model_id = model_id;

  t0 = g_get_monotonic_time ();
  if (!ensure_store (self, catalog, model_id, error) ||
      !vm_embedding_store_sync (self->store, catalog, cancellable, error))
    return NULL;
  result->sync_ms = ms_since (t0);

  /* 1. encode */
  t0 = g_get_monotonic_time ();
  result->query_embedding = g_new0 (float, dim);
  result->dim = dim;
  if (q->example_video_id > 0)
    {
      if (!vm_embedding_store_get_frame (self->store, q->example_video_id, q->example_ns,
                                         result->query_embedding, &result->example_pts_ns, error))
        return NULL;
    }
  else
    {
      const char *texts[] = { q->text };

      if (!vm_clip_model_encode_texts (self->text_model, texts, 1, result->query_embedding, error))
        return NULL;
    }
  result->encode_ms = ms_since (t0);
  result->signals_used |= VM_SIGNAL_VISUAL;

  if (vm_embedding_store_get_n_rows (self->store) == 0)
    {
      g_autofree char *text =
        g_strdup_printf (_("No video is indexed with model “%s” yet: run “vidmark index”."),
                         vm_clip_model_get_name (self->text_model));

      add_notice (&result->notice, text);
      return g_steal_pointer (&moments);
    }

  /* 2. scan */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  t0 = g_get_monotonic_time ();
  want = CLAMP (q->limit, MIN_CANDIDATES, MAX_CANDIDATES);
  if (q->example_video_id > 0)
    want++;  /* the example's own video */
  candidates = pick_candidates (self, catalog, result->query_embedding, allowed, want, cancellable, error);
  if (candidates == NULL)
    return NULL;
  if (candidates->len > MAX_CANDIDATES)
    g_array_set_size (candidates, MAX_CANDIDATES);
  result->scan_ms = ms_since (t0);
  if (allowed == NULL)
    result->n_frames = vm_embedding_store_get_n_rows (self->store);
  else
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, allowed);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (vm_embedding_store_has_video (self->store, ((VmVideo *) value)->id))
          result->n_frames += ((VmVideo *) value)->n_frames;
    }

  /* 3. curves */
  ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), candidates->len);
  for (guint i = 0; i < candidates->len; i++)
    g_array_append_val (ids, g_array_index (candidates, Candidate, i).video_id);
  result->n_candidates = ids->len;
  if (ids->len == 0)
    return g_steal_pointer (&moments);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  t0 = g_get_monotonic_time ();
  result->curves = vm_embedding_store_curves (self->store, result->query_embedding,
                                              (const gint64 *) ids->data, ids->len, cancellable, error);
  if (result->curves == NULL)
    return NULL;
  result->curves_ms = ms_since (t0);

  /* 4. ground */
  t0 = g_get_monotonic_time ();
  videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) vm_video_free);
  for (guint i = 0; i < result->curves->len; i++)
    {
      const VmScoreCurve *c = g_ptr_array_index (result->curves, i);
      g_autofree double *times = NULL;
      g_autoptr(GArray) spans = NULL;
      VmVideo *video;
      double duration;

      if (c->n == 0)
        continue;
      {
        g_autoptr(GError) local_error = NULL;

        video = lookup_video (catalog, videos, c->video_id, &local_error);
        if (video == NULL)
          {
            if (local_error != NULL)
              {
                g_propagate_error (error, g_steal_pointer (&local_error));
                return NULL;
              }
            continue;  /* deleted since the store was synced */
          }
      }
      if (video->status == VM_VIDEO_STATUS_MISSING)
        continue;

      times = g_new (double, c->n);
      for (guint k = 0; k < c->n; k++)
        times[k] = c->pts_ns[k] / 1e9;
      duration = video->duration_ns > 0 ? video->duration_ns / 1e9 : 0;
      spans = vm_ground_curve (times, c->scores, c->shot_ids, c->n, duration, &q->grounding);

      for (guint k = 0; k < spans->len; k++)
        {
          const VmGroundingSpan *s = &g_array_index (spans, VmGroundingSpan, k);
          VmMoment *m;

          /* Query by example: the example's own moment is left out. */
          if (q->example_video_id > 0 && c->video_id == q->example_video_id &&
              s->start * 1e9 <= result->example_pts_ns && result->example_pts_ns <= s->end * 1e9)
            continue;

          m = vm_moment_new ();
          m->video_id = c->video_id;
          m->path = g_strdup (video->path);
          m->start_ns = (gint64) llround (s->start * 1e9);
          m->end_ns = (gint64) llround (s->end * 1e9);
          m->score = vm_visual_moment_score (s->score, s->peak);
          m->signals = VM_SIGNAL_VISUAL;
          g_ptr_array_add (moments, m);
        }
    }
  result->ground_ms = ms_since (t0);

  return g_steal_pointer (&moments);
}

static int
compare_moments_by_score (gconstpointer a,
                          gconstpointer b)
{
  const VmMoment *x = *(VmMoment * const *) a, *y = *(VmMoment * const *) b;

  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  if (x->video_id != y->video_id)
    return (x->video_id > y->video_id) - (x->video_id < y->video_id);
  return (x->start_ns > y->start_ns) - (x->start_ns < y->start_ns);
}

/* Step 5: each text moment joins the visual moment of its video that it
 * overlaps most (or lies within @gap_ns of); every group is merged with
 * vm_moments_merge() into one moment with both signals.  Visual moments are
 * never merged with each other (grounding has already suppressed overlaps),
 * and text moments that meet no visual moment stay as they are. */
static GPtrArray *
merge_hybrid (GPtrArray *visual,
              GPtrArray *text,
              gint64     gap_ns)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < visual->len; i++)
    {
      GPtrArray *g = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);

      g_ptr_array_add (g, g_steal_pointer (&visual->pdata[i]));
      g_ptr_array_add (groups, g);
    }
  g_ptr_array_set_size (visual, 0);

  for (guint i = 0; i < text->len; i++)
    {
      VmMoment *t = g_ptr_array_index (text, i);
      GPtrArray *best = NULL;
      gint64 best_overlap = G_MININT64;

      for (guint k = 0; k < groups->len; k++)
        {
          GPtrArray *g = g_ptr_array_index (groups, k);
          VmMoment *v = g_ptr_array_index (g, 0);
          gint64 overlap;

          if (v->video_id != t->video_id)
            continue;
          overlap = MIN (v->end_ns, t->end_ns) - MAX (v->start_ns, t->start_ns);
          if (overlap < -gap_ns)
            continue;
          if (overlap > best_overlap)
            {
              best_overlap = overlap;
              best = g;
            }
        }
      if (best != NULL)
        g_ptr_array_add (best, g_steal_pointer (&text->pdata[i]));
      else
        g_ptr_array_add (out, g_steal_pointer (&text->pdata[i]));
    }
  g_ptr_array_set_size (text, 0);

  for (guint k = 0; k < groups->len; k++)
    {
      GPtrArray *g = g_ptr_array_index (groups, k);

      if (g->len > 1)
        vm_moments_merge (g, MAX (gap_ns, 0));
      for (guint i = 0; i < g->len; i++)
        g_ptr_array_add (out, g_steal_pointer (&g->pdata[i]));
      g_ptr_array_set_size (g, 0);
    }

  g_ptr_array_sort (out, compare_moments_by_score);
  return g_steal_pointer (&out);
}

/* Grounding keeps proposals of several scales that overlap a little (IoU
 * below nms_iou), e.g. a 24 s window around a 9 s moment; in a result list
 * they read as the same moment again.  Of @moments (best first), a moment
 * whose overlap with a better one of the same video covers more than half
 * of the shorter of the two is dropped; at most @limit are kept. */
static void
drop_nested (GPtrArray *moments,
             guint      limit)
{
  guint kept = 0;

  for (guint i = 0; i < moments->len && kept < limit; i++)
    {
      VmMoment *m = g_ptr_array_index (moments, i);
      gboolean nested = FALSE;

      for (guint k = 0; k < kept && !nested; k++)
        {
          VmMoment *b = g_ptr_array_index (moments, k);
          gint64 overlap, shorter;

          if (b->video_id != m->video_id)
            continue;
          overlap = MIN (b->end_ns, m->end_ns) - MAX (b->start_ns, m->start_ns);
          shorter = MIN (b->end_ns - b->start_ns, m->end_ns - m->start_ns);
          nested = overlap > 0 && overlap * 2 > shorter;
        }
      if (nested)
        continue;
      /* Move @m to slot @kept, keeping the order of the rest. */
      if (i != kept)
        {
          gpointer tmp = moments->pdata[kept];

          moments->pdata[kept] = m;
          moments->pdata[i] = tmp;
        }
      kept++;
    }
  g_ptr_array_set_size (moments, kept);
}

VmSearchResult *
vm_search_engine_search (VmSearchEngine       *self,
                         VmCatalog            *catalog,
                         const VmSearchQuery  *query,
                         GCancellable         *cancellable,
                         GError              **error)
{
  g_autoptr(VmSearchResult) result = NULL;
  g_autoptr(GHashTable) allowed = NULL;
  g_autoptr(GPtrArray) visual = NULL;
  g_autoptr(GPtrArray) text = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autofree char *text_query = NULL;
  VmSearchQuery defaults;
  gint64 t_start = g_get_monotonic_time ();
  gboolean example, want_visual, want_text;
  guint signals, limit;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (VM_IS_CATALOG (catalog), NULL);

  if (query == NULL)
    {
      vm_search_query_init (&defaults);
      query = &defaults;
    }

  example = query->example_video_id > 0;
  signals = query->signals != 0 ? query->signals : ALL_SIGNALS;
  limit = query->limit != 0 ? query->limit : 10;
  if (query->text != NULL)
    text_query = g_strstrip (g_strdup (query->text));
  if (!example && (text_query == NULL || *text_query == '\0'))
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY,
                           _("The query is empty"));
      return NULL;
    }

  locker = g_mutex_locker_new (&self->lock);

  result = g_new0 (VmSearchResult, 1);
  result->moments = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);
  if (self->text_model != NULL)
    result->model_name = g_strdup (vm_clip_model_get_name (self->text_model));

  want_visual = (example || (signals & VM_SIGNAL_VISUAL) != 0) && !self->no_visual;
  want_text = !example && (signals & TEXT_SIGNALS) != 0;

  if (want_visual && self->text_model == NULL)
    add_notice (&result->notice, self->notice);
  if (example && self->text_model == NULL)
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                           self->notice != NULL ? self->notice
                                                : _("Searching by example needs a visual model"));
      return NULL;
    }

  if (query_has_filters (query))
    {
      allowed = allowed_videos (catalog, query, error);
      if (allowed == NULL)
        return NULL;
    }

  if (want_visual && self->text_model != NULL)
    {
      VmSearchQuery q = *query;

      q.text = text_query;
      q.limit = limit;
      visual = search_visual (self, catalog, &q, allowed, result, cancellable, error);
      if (visual == NULL)
        return NULL;
    }

  if (example && (result->signals_used & VM_SIGNAL_VISUAL) == 0)
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                           result->notice != NULL ? result->notice
                                                  : _("Searching by example needs a visual model"));
      return NULL;
    }

  if (want_text)
    {
      g_autoptr(GError) local_error = NULL;
      VmTextSearchOptions options;
      gint64 t0 = g_get_monotonic_time ();

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;

      vm_text_search_options_init (&options);
      options.sources = signals & TEXT_SIGNALS;
      options.margin_ns = MAX (query->text_margin_ns, 0);
      options.limit = limit * 2;
      if (allowed != NULL)
        {
          if (g_hash_table_size (allowed) == 1)
            {
              GHashTableIter iter;
              gpointer key;

              g_hash_table_iter_init (&iter, allowed);
              g_hash_table_iter_next (&iter, &key, NULL);
              options.video_id = *(gint64 *) key;
            }
          else
            options.limit = 100000;  /* filtered below: read every hit */
        }

      if (allowed != NULL && g_hash_table_size (allowed) == 0)
        text = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);
      else
        text = vm_text_search (catalog, text_query, &options, &local_error);
      if (text == NULL)
        {
          /* Nothing searchable in the words is fine when the visual signal
           * took the query. */
          if (g_error_matches (local_error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY) &&
              (result->signals_used & VM_SIGNAL_VISUAL) != 0)
            text = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);
          else
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
        }
      else
        result->signals_used |= signals & TEXT_SIGNALS;

      if (allowed != NULL)
        for (guint i = text->len; i-- > 0;)
          {
            VmMoment *m = g_ptr_array_index (text, i);

            if (!g_hash_table_contains (allowed, &m->video_id))
              g_ptr_array_remove_index (text, i);
          }
      result->text_ms = ms_since (t0);
    }

  if (visual == NULL)
    visual = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);
  if (text == NULL)
    text = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);

  g_ptr_array_unref (result->moments);
  g_ptr_array_sort (visual, compare_moments_by_score);
  drop_nested (visual, G_MAXUINT);
  result->moments = merge_hybrid (visual, text, VM_NSEC_PER_SEC);
  if (result->moments->len > limit)
    g_ptr_array_set_size (result->moments, limit);

  result->total_ms = ms_since (t_start);
  return g_steal_pointer (&result);
}

/* ---- Refinement ------------------------------------------------------------ */

gboolean
vm_search_engine_refine (VmSearchEngine  *self,
                         VmCatalog       *catalog,
                         VmSearchResult  *result,
                         guint            n,
                         GCancellable    *cancellable,
                         GError         **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (VM_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (result != NULL, FALSE);

#ifdef VM_SEARCH_NO_REFINE
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       _("Boundary refinement is not part of this build"));
  return FALSE;
#else
  VmClipModel *model = NULL;
  VmRefineOptions options;
  guint done = 0;

  if (n == 0 || result->query_embedding == NULL || result->model_id <= 0 || self->text_model == NULL)
    return TRUE;
  if (result->dim != vm_clip_model_get_projection_dim (self->text_model))
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                           _("The result comes from another model"));
      return FALSE;
    }

  /* The vision tower, once; refinement itself runs outside the lock so
   * that a new search need not wait for it. */
  {
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

    if (self->vision_model == NULL)
      {
        self->vision_model = vm_clip_model_load (self->device, self->model_dir, VM_CLIP_LOAD_NO_TEXT, error);
        if (self->vision_model == NULL)
          return FALSE;
      }
    model = vm_clip_model_ref (self->vision_model);
  }

  vm_refine_options_init (&options);
  for (guint i = 0; i < result->moments->len && done < n; i++)
    {
      VmMoment *m = g_ptr_array_index (result->moments, i);
      g_autoptr(GError) local_error = NULL;
      VmRefineReport report;

      if ((m->signals & VM_SIGNAL_VISUAL) == 0)
        continue;
      done++;
      if (!vm_refine_moment (catalog, model, result->model_id, result->query_embedding, m, &options,
                             &report, cancellable, &local_error))
        {
          /* A file that is gone or cannot be decoded keeps its coarse
           * moment; cancelling and GPU failures end the refinement. */
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
              local_error->domain == VM_GPU_ERROR || local_error->domain == VM_CATALOG_ERROR)
            {
              vm_clip_model_unref (model);
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          g_debug ("refining %s: %s", m->path, local_error->message);
        }
    }
  vm_clip_model_unref (model);

  g_ptr_array_sort (result->moments, compare_moments_by_score);
  return TRUE;
#endif
}
