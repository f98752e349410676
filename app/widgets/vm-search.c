/* vm-search.c — searching off the main thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdlib.h>

#include "core/vm-paths.h"
#include "widgets/vm-search.h"
#include "gpu/vm-gpu-device.h"
#include "search/vm-search-engine.h"
#include "search/vm-text-search.h"

/* A file name match: below most text matches. */
#define NAME_SCORE 0.25

char *
vm_search_make_fts_query (const char *text)
{
  g_auto(GStrv) words = NULL;
  GString *query;
  guint n = 0;

  if (text == NULL)
    return NULL;

  words = g_str_tokenize_and_fold (text, NULL, NULL);
  query = g_string_new (NULL);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr(GString) word = g_string_new (NULL);

      /* Keep letters and digits only: FTS5 syntax characters never reach it. */
      for (const char *p = words[i]; *p; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);

          if (g_unichar_isalnum (c))
            g_string_append_unichar (word, c);
        }
      if (word->len == 0)
        continue;
      if (n++ > 0)
        g_string_append_c (query, ' ');
      g_string_append_printf (query, "\"%s\"", word->str);
      if (words[i + 1] == NULL)
        g_string_append_c (query, '*');
    }

  if (n == 0)
    {
      g_string_free (query, TRUE);
      return NULL;
    }
  return g_string_free (query, FALSE);
}

static VmMomentSignals
signal_for_source (VmTextSource source)
{
  switch (source)
    {
    case VM_TEXT_SOURCE_SUBTITLE:
      return VM_MOMENT_SIGNAL_SUBTITLE;
    case VM_TEXT_SOURCE_OCR:
      return VM_MOMENT_SIGNAL_OCR;
    case VM_TEXT_SOURCE_SPEECH:
      return VM_MOMENT_SIGNAL_SPEECH;
    default:
      return VM_MOMENT_SIGNAL_NONE;
    }
}

static int
compare_moments_cb (gconstpointer a,
                    gconstpointer b)
{
  VmMomentItem *ma = *(VmMomentItem **) a;
  VmMomentItem *mb = *(VmMomentItem **) b;
  double sa = vm_moment_item_get_score (ma), sb = vm_moment_item_get_score (mb);

  if (sa != sb)
    return sa > sb ? -1 : 1;
  if (vm_moment_item_get_video_id (ma) != vm_moment_item_get_video_id (mb))
    return vm_moment_item_get_video_id (ma) < vm_moment_item_get_video_id (mb) ? -1 : 1;
  return vm_moment_item_get_start (ma) < vm_moment_item_get_start (mb) ? -1 :
         vm_moment_item_get_start (ma) > vm_moment_item_get_start (mb);
}

/* Fills @videos (id → VmVideo*) with every video of the catalog. */
static gboolean
load_videos (VmCatalog   *catalog,
             GHashTable  *videos,
             GError     **error)
{
  g_autoptr(GPtrArray) all = vm_catalog_list_videos (catalog, 0, error);

  if (all == NULL)
    return FALSE;
  for (guint i = 0; i < all->len; i++)
    {
      VmVideo *v = g_ptr_array_index (all, i);

      g_hash_table_insert (videos, &v->id, v);
    }
  g_ptr_array_set_free_func (all, NULL);
  return TRUE;
}

/* A moment for each video whose file name holds every word of @query. */
static void
add_name_matches (GHashTable  *videos,
                  const char  *query,
                  GPtrArray   *moments)
{
  g_auto(GStrv) words = NULL;

  words = g_str_tokenize_and_fold (query, NULL, NULL);
  if (words[0] != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, videos);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          VmVideo *video = value;
          g_autofree char *base = g_path_get_basename (video->path);
          g_autofree char *folded = g_utf8_casefold (base, -1);
          gboolean all_found = TRUE;
          gint64 end;

          for (guint w = 0; words[w] != NULL && all_found; w++)
            all_found = strstr (folded, words[w]) != NULL;
          if (!all_found)
            continue;

          end = video->duration_ns > 0 ? MIN (video->duration_ns, 10 * G_GINT64_CONSTANT (1000000000))
                                       : 10 * G_GINT64_CONSTANT (1000000000);
          g_ptr_array_add (moments, vm_moment_item_new (video->id, video->path, video->fingerprint,
                                                   0, end, NAME_SCORE, VM_MOMENT_SIGNAL_NAME, NULL));
        }
    }
}

/* Adds the file-name matches, ranks, and keeps the best @limit. */
static GPtrArray *
finish_results (GHashTable  *videos,
                const char  *query,
                guint        limit,
                GPtrArray   *moments)
{
  add_name_matches (videos, query, moments);
  g_ptr_array_sort (moments, compare_moments_cb);
  if (moments->len > limit)
    g_ptr_array_set_size (moments, limit);
  return moments;
}

GPtrArray *
vm_search_text_and_names (VmCatalog     *catalog,
                          const char    *query,
                          guint          limit,
                          GCancellable  *cancellable,
                          gpointer       user_data,
                          GError       **error)
{
  g_autoptr(GPtrArray) moments = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                         (GDestroyNotify) vm_video_free);
  g_autofree char *fts = vm_search_make_fts_query (query);
  g_autoptr(GPtrArray) hits = NULL;

  if (fts == NULL)
    return g_steal_pointer (&moments);

  hits = vm_catalog_search_text (catalog, fts, limit * 2, error);
  if (hits == NULL)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* Every video once: names are matched against all of them and text hits
   * look their video up here. */
  if (!load_videos (catalog, videos, error))
    return NULL;

  for (guint i = 0; i < hits->len; i++)
    {
      VmTextSegment *seg = g_ptr_array_index (hits, i);
      VmVideo *video = g_hash_table_lookup (videos, &seg->video_id);
      double r = seg->rank < 0 ? -seg->rank : 0;
      /* bm25 is unbounded: squash it into 0..1, text hits above name hits. */
      double score = 0.5 + 0.5 * (r / (1.0 + r));
      VmMomentItem *m;

      if (video == NULL)
        continue;
      m = vm_moment_item_new (video->id, video->path, video->fingerprint, seg->start_ns, seg->end_ns,
                         score, signal_for_source (seg->source),
                         seg->highlighted ? seg->highlighted : seg->text);

      /* The same time range found by two sources is one moment. */
      for (guint j = 0; j < moments->len; j++)
        {
          VmMomentItem *o = g_ptr_array_index (moments, j);

          if (vm_moment_item_get_video_id (o) == video->id &&
              vm_moment_item_get_start (o) == seg->start_ns &&
              vm_moment_item_get_end (o) == seg->end_ns)
            {
              vm_moment_item_merge (o, m);
              g_clear_object (&m);
              break;
            }
        }
      if (m != NULL)
        g_ptr_array_add (moments, m);
    }

  return finish_results (videos, query, limit, g_steal_pointer (&moments));
}

static VmMomentSignals
signals_from_layer (guint bits)
{
  VmMomentSignals signals = VM_MOMENT_SIGNAL_NONE;

  if (bits & VM_SIGNAL_SUBTITLE)
    signals |= VM_MOMENT_SIGNAL_SUBTITLE;
  if (bits & VM_SIGNAL_OCR)
    signals |= VM_MOMENT_SIGNAL_OCR;
  if (bits & VM_SIGNAL_SPEECH)
    signals |= VM_MOMENT_SIGNAL_SPEECH;
  if (bits & VM_SIGNAL_VISUAL)
    signals |= VM_MOMENT_SIGNAL_VISUAL;
  return signals;
}

/* A search-layer moment as a result item: its first three snippets, and the
 * fingerprint (for thumbnails) of its video in @videos. */
static VmMomentItem *
item_from_moment (const VmMoment *hit,
                  GHashTable     *videos)
{
  VmVideo *video = g_hash_table_lookup (videos, &hit->video_id);
  g_autoptr(GString) snippet = g_string_new (NULL);

  for (guint j = 0; hit->snippets != NULL && j < hit->snippets->len && j < 3; j++)
    {
      VmSnippet *sn = g_ptr_array_index (hit->snippets, j);

      if (snippet->len > 0)
        g_string_append (snippet, " · ");
      g_string_append (snippet, sn->highlighted ? sn->highlighted : sn->text);
    }
  return vm_moment_item_new (hit->video_id, hit->path ? hit->path : (video ? video->path : NULL),
                             video ? video->fingerprint : NULL,
                             hit->start_ns, hit->end_ns, CLAMP (hit->score, 0, 1),
                             signals_from_layer (hit->signals),
                             snippet->len > 0 ? snippet->str : NULL);
}

/* The search layer's moments (merged, with margins and snippets) plus file
 * name matches. */
static GPtrArray *
search_with_layer (VmCatalog     *catalog,
                   const char    *query,
                   guint          limit,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  g_autoptr(GPtrArray) moments = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                         (GDestroyNotify) vm_video_free);
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GError) local_error = NULL;
  VmTextSearchOptions options;

  vm_text_search_options_init (&options);
  options.limit = limit;
  hits = vm_text_search (catalog, query, &options, &local_error);
  if (hits == NULL)
    {
      if (g_error_matches (local_error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY))
        return g_steal_pointer (&moments);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!load_videos (catalog, videos, error))
    return NULL;

  for (guint i = 0; i < hits->len; i++)
    g_ptr_array_add (moments, item_from_moment (g_ptr_array_index (hits, i), videos));

  return finish_results (videos, query, limit, g_steal_pointer (&moments));
}

VmSearchFunc
vm_search_get_default (void)
{
  return search_with_layer;
}

/* ---- The hybrid search, with the engine kept between searches ------------ */

struct _VmSearchSession
{
  gint             ref_count;
  GMutex           lock;
  char            *model;         /* NULL: the default model */
  char            *gpu_device;    /* NULL: the best device */
  gboolean         tried;         /* the engine was created (or failed) */
  VmSearchEngine  *engine;
  char            *engine_error;  /* why there is no engine */
  char            *notice;        /* of the last search */
  char            *last_query;
  VmSearchResult  *last;          /* the last search's result, for refinement */
};

VmSearchSession *
vm_search_session_new (const char *model,
                       const char *gpu_device)
{
  VmSearchSession *self = g_new0 (VmSearchSession, 1);

  self->ref_count = 1;
  g_mutex_init (&self->lock);
  self->model = model != NULL && *model != '\0' ? g_strdup (model) : NULL;
  self->gpu_device = gpu_device != NULL && *gpu_device != '\0' ? g_strdup (gpu_device) : NULL;
  return self;
}

VmSearchSession *
vm_search_session_ref (VmSearchSession *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
vm_search_session_unref (VmSearchSession *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_clear_pointer (&self->engine, vm_search_engine_unref);
  g_clear_pointer (&self->last, vm_search_result_free);
  g_free (self->last_query);
  g_free (self->engine_error);
  g_free (self->notice);
  g_free (self->model);
  g_free (self->gpu_device);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* The engine, created on first use (on a worker thread: loading a model and
 * uploading the library's embeddings takes a while).  NULL when it cannot be
 * made; engine_error says why. */
static VmSearchEngine *
session_get_engine (VmSearchSession *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(VmGpuDevice) device = NULL;
  g_autoptr(GError) error = NULL;
  VmSearchEngineOptions options;

  if (self->tried)
    return self->engine ? vm_search_engine_ref (self->engine) : NULL;
  self->tried = TRUE;

  vm_search_engine_options_init (&options);
  options.model = self->model;
  if (self->gpu_device != NULL)
    {
      /* A device named in the preferences that is gone: the best one then. */
      device = vm_gpu_device_new_for (self->gpu_device, NULL);
      options.device = device;
    }
  self->engine = vm_search_engine_new (&options, &error);
  if (self->engine == NULL)
    {
      self->engine_error = g_strdup_printf (_("Visual search is off: %s"), error->message);
      return NULL;
    }
  return vm_search_engine_ref (self->engine);
}

char *
vm_search_session_dup_notice (VmSearchSession *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return g_strdup (self->notice);
}

static void
session_set_notice (VmSearchSession *self,
                    const char      *notice)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  g_free (self->notice);
  self->notice = g_strdup (notice);
}

GPtrArray *
vm_search_session_search (VmCatalog     *catalog,
                          const char    *query,
                          guint          limit,
                          GCancellable  *cancellable,
                          gpointer       user_data,
                          GError       **error)
{
  VmSearchSession *self = user_data;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) result = NULL;
  g_autoptr(GPtrArray) moments = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                         (GDestroyNotify) vm_video_free);
  g_autoptr(GHashTable) curves = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                         (GDestroyNotify) g_array_unref);
  g_autoptr(GError) local_error = NULL;
  VmSearchQuery q;

  g_return_val_if_fail (self != NULL, NULL);

  engine = session_get_engine (self);
  if (engine == NULL)
    {
      g_autofree char *why = NULL;

      {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
        why = g_strdup (self->engine_error);
      }
      session_set_notice (self, why);
      return search_with_layer (catalog, query, limit, cancellable, NULL, error);
    }

  vm_search_query_init (&q);
  q.text = query;
  q.limit = limit;
  result = vm_search_engine_search (engine, catalog, &q, cancellable, &local_error);
  if (result == NULL)
    {
      if (g_error_matches (local_error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY))
        return g_steal_pointer (&moments);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (!load_videos (catalog, videos, error))
    return NULL;

  /* One curve per video, shared by its items, for the timeline. */
  for (guint i = 0; result->curves != NULL && i < result->curves->len; i++)
    {
      const VmScoreCurve *c = g_ptr_array_index (result->curves, i);
      GArray *points = g_array_sized_new (FALSE, FALSE, sizeof (VmCurvePoint), c->n);

      for (guint j = 0; j < c->n; j++)
        {
          VmCurvePoint p = { c->pts_ns[j], c->scores[j] };

          g_array_append_val (points, p);
        }
      g_hash_table_insert (curves, g_memdup2 (&c->video_id, sizeof (gint64)), points);
    }

  for (guint i = 0; i < result->moments->len; i++)
    {
      VmMoment *hit = g_ptr_array_index (result->moments, i);
      VmMomentItem *item = item_from_moment (hit, videos);

      vm_moment_item_set_curve (item, g_hash_table_lookup (curves, &hit->video_id));
      g_ptr_array_add (moments, item);
    }
  moments = finish_results (videos, query, limit, g_steal_pointer (&moments));

  {
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

    g_free (self->notice);
    self->notice = g_strdup (result->notice);
    g_free (self->last_query);
    self->last_query = g_strdup (query);
    g_clear_pointer (&self->last, vm_search_result_free);
    if (result->query_embedding != NULL)
      self->last = g_steal_pointer (&result);
  }

  return g_steal_pointer (&moments);
}

typedef struct {
  VmSearchSession *session;
  char            *catalog_path;
  char            *query;
  guint            n;
} RefineData;

static void
refine_data_free (RefineData *data)
{
  vm_search_session_unref (data->session);
  g_free (data->catalog_path);
  g_free (data->query);
  g_free (data);
}

static void
refine_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RefineData *data = task_data;
  VmSearchSession *self = data->session;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) result = NULL;
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(GArray) before = g_array_new (FALSE, FALSE, sizeof (VmRefinedRange));
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (VmRefinedRange));
  g_autoptr(GPtrArray) order = NULL;
  GError *error = NULL;

  engine = session_get_engine (self);
  {
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

    if (engine != NULL && self->last != NULL && g_strcmp0 (self->last_query, data->query) == 0)
      result = g_steal_pointer (&self->last);
  }
  if (result == NULL)
    {
      /* Nothing visual to sharpen (or a newer search took over). */
      g_task_return_pointer (task, g_steal_pointer (&changes), (GDestroyNotify) g_array_unref);
      return;
    }

  /* Remember each moment's range before: refinement moves and re-sorts them. */
  order = g_ptr_array_new ();
  for (guint i = 0; i < result->moments->len; i++)
    {
      VmMoment *m = g_ptr_array_index (result->moments, i);
      VmRefinedRange r = { m->video_id, m->start_ns, m->end_ns, m->start_ns, m->end_ns };

      g_ptr_array_add (order, m);
      g_array_append_val (before, r);
    }

  catalog = vm_catalog_open (data->catalog_path, &error);
  if (catalog == NULL ||
      !vm_search_engine_refine (engine, catalog, result, data->n, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  for (guint i = 0; i < order->len; i++)
    {
      VmMoment *m = g_ptr_array_index (order, i);
      VmRefinedRange r = g_array_index (before, VmRefinedRange, i);

      if (m->start_ns == r.old_start_ns && m->end_ns == r.old_end_ns)
        continue;
      r.start_ns = m->start_ns;
      r.end_ns = m->end_ns;
      g_array_append_val (changes, r);
    }
  g_task_return_pointer (task, g_steal_pointer (&changes), (GDestroyNotify) g_array_unref);
}

void
vm_search_session_refine_async (VmSearchSession     *self,
                                const char          *catalog_path,
                                const char          *query,
                                guint                n,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RefineData *data;

  g_return_if_fail (self != NULL);

  data = g_new0 (RefineData, 1);
  data->session = vm_search_session_ref (self);
  data->catalog_path = g_strdup (catalog_path);
  data->query = g_strdup (query);
  data->n = n;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, vm_search_session_refine_async);
  g_task_set_task_data (task, data, (GDestroyNotify) refine_data_free);
  g_task_run_in_thread (task, refine_thread);
}

GArray *
vm_search_session_refine_finish (GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  char          *catalog_path;
  char          *query;
  guint          limit;
  VmSearchFunc   func;
  gpointer       func_data;
} SearchData;

static void
search_data_free (SearchData *data)
{
  if (data->func == vm_search_session_search)
    vm_search_session_unref (data->func_data);
  g_free (data->catalog_path);
  g_free (data->query);
  g_free (data);
}

static void
search_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  SearchData *data = task_data;
  g_autoptr(VmCatalog) catalog = NULL;
  GError *error = NULL;
  GPtrArray *moments;

  if (g_task_return_error_if_cancelled (task))
    return;

  catalog = vm_catalog_open (data->catalog_path, &error);
  if (catalog == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  moments = data->func (catalog, data->query, data->limit, cancellable, data->func_data, &error);
  /* Thumbnails are looked up here, not while the list is drawn. */
  for (guint i = 0; moments != NULL && i < moments->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      VmMomentItem *m = g_ptr_array_index (moments, i);
      g_autofree char *thumb = NULL;

      if (vm_moment_item_get_thumbnail (m) != NULL)
        continue;
      thumb = vm_thumbnail_find (NULL, vm_moment_item_get_fingerprint (m), vm_moment_item_get_start (m));
      vm_moment_item_set_thumbnail (m, thumb);
    }
  if (moments == NULL)
    g_task_return_error (task, error);
  else if (g_cancellable_is_cancelled (cancellable))
    {
      g_ptr_array_unref (moments);
      g_task_return_error_if_cancelled (task);
    }
  else
    g_task_return_pointer (task, moments, (GDestroyNotify) g_ptr_array_unref);
}

void
vm_search_async (const char          *catalog_path,
                 const char          *query,
                 guint                limit,
                 VmSearchFunc         func,
                 gpointer             func_data,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SearchData *data;

  g_return_if_fail (catalog_path != NULL);
  g_return_if_fail (query != NULL);

  data = g_new0 (SearchData, 1);
  data->catalog_path = g_strdup (catalog_path);
  data->query = g_strdup (query);
  data->limit = limit > 0 ? limit : 50;
  data->func = func ? func : vm_search_get_default ();
  data->func_data = func_data;
  /* A session outlives the window's reference while its search runs. */
  if (data->func == vm_search_session_search)
    vm_search_session_ref (func_data);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, vm_search_async);
  g_task_set_task_data (task, data, (GDestroyNotify) search_data_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, search_thread);
}

GPtrArray *
vm_search_finish (GAsyncResult  *result,
                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
vm_thumbnail_find (const char *thumbnail_root,
                   const char *fingerprint,
                   gint64      pts_ns)
{
  g_autofree char *root = NULL;
  g_autofree char *dir_path = NULL;
  g_autoptr(GDir) dir = NULL;
  char prefix[17] = { 0 };
  const char *name;
  const char *best = NULL;
  g_autofree char *best_name = NULL;
  gint64 best_distance = G_MAXINT64;
  gint64 want_ms = pts_ns / 1000000;

  if (fingerprint == NULL || *fingerprint == '\0')
    return NULL;

  root = thumbnail_root ? g_strdup (thumbnail_root) : vm_paths_thumbnail_dir ();
  g_strlcpy (prefix, fingerprint, sizeof prefix);
  dir_path = g_build_filename (root, prefix, NULL);
  dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return NULL;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *end = NULL;
      gint64 ms;
      gint64 distance;

      if (!g_str_has_suffix (name, ".jpg"))
        continue;
      ms = g_ascii_strtoll (name, &end, 10);
      if (end == name || !g_str_equal (end, ".jpg"))
        continue;
      distance = ms > want_ms ? ms - want_ms : want_ms - ms;
      if (distance < best_distance)
        {
          best_distance = distance;
          g_free (best_name);
          best_name = g_strdup (name);
          best = best_name;
        }
    }

  return best ? g_build_filename (dir_path, best, NULL) : NULL;
}
