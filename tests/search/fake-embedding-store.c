/* fake-embedding-store.c — a CPU stand-in for VmEmbeddingStore, for
 * exercising the search engine before the GPU store is linked.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-embedding-store.h"
#include "search/vm-text-search.h"

#include <string.h>

#include "core/vm-core.h"

typedef struct {
  guint   n;
  gint64 *pts;
  int    *shots;
  float  *v;
} Video;

struct _VmEmbeddingStore {
  gint64      model_id;
  guint       dim;
  GHashTable *videos;
};

static void
video_free (Video *v)
{
  g_free (v->pts);
  g_free (v->shots);
  g_free (v->v);
  g_free (v);
}

void
vm_embedding_store_options_init (VmEmbeddingStoreOptions *options)
{
  memset (options, 0, sizeof *options);
}

VmEmbeddingStore *
vm_embedding_store_new (VmGpuDevice *device, gint64 model_id, guint dim,
                        const VmEmbeddingStoreOptions *options, GError **error)
{
  VmEmbeddingStore *self = g_new0 (VmEmbeddingStore, 1);

  self->model_id = model_id;
  self->dim = dim;
  self->videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) video_free);
  return self;
}

void
vm_embedding_store_free (VmEmbeddingStore *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->videos);
  g_free (self);
}

gint64 vm_embedding_store_get_model_id (VmEmbeddingStore *self) { return self->model_id; }
guint vm_embedding_store_get_dim (VmEmbeddingStore *self) { return self->dim; }
guint vm_embedding_store_get_n_videos (VmEmbeddingStore *self) { return g_hash_table_size (self->videos); }

guint64
vm_embedding_store_get_n_rows (VmEmbeddingStore *self)
{
  GHashTableIter iter;
  gpointer value;
  guint64 n = 0;

  g_hash_table_iter_init (&iter, self->videos);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += ((Video *) value)->n;
  return n;
}

guint64 vm_embedding_store_get_device_bytes (VmEmbeddingStore *self) { return 0; }
guint vm_embedding_store_get_n_chunks (VmEmbeddingStore *self, guint *s) { if (s) *s = 0; return 0; }

gboolean
vm_embedding_store_set_video (VmEmbeddingStore *self, gint64 video_id, guint n, const gint64 *pts_ns,
                              const int *shot_ids, const guint16 *fp16, GError **error)
{
  Video *v = g_new0 (Video, 1);

  v->n = n;
  v->pts = g_memdup2 (pts_ns, n * sizeof (gint64));
  v->shots = g_new0 (int, n);
  if (shot_ids)
    memcpy (v->shots, shot_ids, n * sizeof (int));
  v->v = g_new (float, (gsize) n * self->dim);
  for (gsize i = 0; i < (gsize) n * self->dim; i++)
    v->v[i] = vm_half_to_float (fp16[i]);
  g_hash_table_insert (self->videos, g_memdup2 (&video_id, sizeof video_id), v);
  return TRUE;
}

void
vm_embedding_store_remove_video (VmEmbeddingStore *self, gint64 video_id)
{
  g_hash_table_remove (self->videos, &video_id);
}

gboolean
vm_embedding_store_has_video (VmEmbeddingStore *self, gint64 video_id)
{
  return g_hash_table_contains (self->videos, &video_id);
}

gboolean
vm_embedding_store_sync (VmEmbeddingStore *self, VmCatalog *catalog, GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) videos = vm_catalog_list_videos (catalog, 0, error);

  if (videos == NULL)
    return FALSE;
  g_hash_table_remove_all (self->videos);
  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (videos, i);
      g_autoptr(GArray) frames = NULL;
      g_autoptr(GBytes) emb = NULL;
      guint n = 0, first = 0;
      g_autofree gint64 *pts = NULL;
      g_autofree int *shots = NULL;

      if (v->status == VM_VIDEO_STATUS_MISSING)
        continue;
      frames = vm_catalog_get_frames (catalog, v->id, error);
      if (frames == NULL)
        return FALSE;
      emb = vm_catalog_get_embeddings (catalog, v->id, self->model_id, &n, &first, error);
      if (emb == NULL)
        return FALSE;
      if (n == 0)
        continue;
      pts = g_new (gint64, n);
      shots = g_new (int, n);
      for (guint k = 0; k < n; k++)
        {
          pts[k] = g_array_index (frames, VmFrameRecord, first + k).pts_ns;
          shots[k] = g_array_index (frames, VmFrameRecord, first + k).shot_id;
        }
      vm_embedding_store_set_video (self, v->id, n, pts, shots, g_bytes_get_data (emb, NULL), NULL);
    }
  return TRUE;
}

static float
dot (const float *a, const float *b, guint n)
{
  float s = 0;

  for (guint i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

static int
cmp_hit (gconstpointer a, gconstpointer b)
{
  const VmFrameHit *x = a, *y = b;

  return x->score > y->score ? -1 : x->score < y->score ? 1 : 0;
}

GArray *
vm_embedding_store_top_frames (VmEmbeddingStore *self, const float *query, guint k, const gint64 *video_ids,
                               guint n_video_ids, GCancellable *cancellable, GError **error)
{
  GArray *hits = g_array_new (FALSE, FALSE, sizeof (VmFrameHit));
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->videos);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Video *v = value;
      gint64 id = *(gint64 *) key;
      gboolean ok = video_ids == NULL;

      for (guint i = 0; !ok && i < n_video_ids; i++)
        ok = video_ids[i] == id;
      if (!ok)
        continue;
      for (guint f = 0; f < v->n; f++)
        {
          VmFrameHit h = { id, f, v->pts[f], dot (query, v->v + (gsize) f * self->dim, self->dim) };

          g_array_append_val (hits, h);
        }
    }
  g_array_sort (hits, cmp_hit);
  if (hits->len > k)
    g_array_set_size (hits, k);
  return hits;
}

void
vm_score_curve_free (VmScoreCurve *c)
{
  if (c == NULL)
    return;
  g_free (c->pts_ns);
  g_free (c->shot_ids);
  g_free (c->scores);
  g_free (c);
}

GPtrArray *
vm_embedding_store_curves (VmEmbeddingStore *self, const float *query, const gint64 *video_ids,
                           guint n_video_ids, GCancellable *cancellable, GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_score_curve_free);

  for (guint i = 0; i < n_video_ids; i++)
    {
      Video *v = g_hash_table_lookup (self->videos, &video_ids[i]);
      VmScoreCurve *c;

      if (v == NULL)
        continue;
      c = g_new0 (VmScoreCurve, 1);
      c->video_id = video_ids[i];
      c->n = v->n;
      c->pts_ns = g_memdup2 (v->pts, v->n * sizeof (gint64));
      c->shot_ids = g_memdup2 (v->shots, v->n * sizeof (int));
      c->scores = g_new (float, v->n);
      for (guint f = 0; f < v->n; f++)
        c->scores[f] = dot (query, v->v + (gsize) f * self->dim, self->dim);
      g_ptr_array_add (out, c);
    }
  return out;
}

gboolean
vm_embedding_store_get_frame (VmEmbeddingStore *self, gint64 video_id, gint64 pts_ns, float *out,
                              gint64 *out_pts, GError **error)
{
  Video *v = g_hash_table_lookup (self->videos, &video_id);
  guint best = 0;

  if (v == NULL)
    {
      g_set_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED, "video %" G_GINT64_FORMAT " not in the store", video_id);
      return FALSE;
    }
  for (guint f = 1; f < v->n; f++)
    if (ABS (v->pts[f] - pts_ns) < ABS (v->pts[best] - pts_ns))
      best = f;
  memcpy (out, v->v + (gsize) best * self->dim, self->dim * sizeof (float));
  if (out_pts)
    *out_pts = v->pts[best];
  return TRUE;
}

/* vm_refine stand-ins */
#include "search/vm-refine.h"

void
vm_refine_options_init (VmRefineOptions *options)
{
  options->window = 2.0;
  options->rate = 6.0;
  options->batch = 16;
}

gboolean
vm_refine_moment (VmCatalog *catalog, VmClipModel *model, gint64 model_id, const float *query,
                  VmMoment *moment, const VmRefineOptions *options, VmRefineReport *report,
                  GCancellable *cancellable, GError **error)
{
  memset (report, 0, sizeof *report);
  if (!g_file_test (moment->path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "gone");
      return FALSE;
    }
  return TRUE;
}
