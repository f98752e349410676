/* vm-catalog-data.c — frames, models, fp16 embeddings, timed text with FTS5,
 * annotation sets and annotations.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "catalog/vm-catalog-private.h"

#include <math.h>
#include <string.h>

#include <inttypes.h>
#include <glib/gi18n.h>

#define CHUNK VM_CATALOG_EMBEDDING_CHUNK

/* ---- Frames ------------------------------------------------------------ */

gboolean
vm_catalog_replace_frames (VmCatalog            *self,
                           gint64                video_id,
                           const VmFrameRecord  *frames,
                           guint                 n_frames,
                           GError              **error)
{
  static const char * const clear[] = {
    "DELETE FROM embeddings WHERE video_id = ?1",
    "DELETE FROM frames WHERE video_id = ?1",
  };

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (frames == NULL && n_frames > 0)
    {
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                           _("No frames given"));
      return FALSE;
    }
  for (guint i = 1; i < n_frames; i++)
    if (frames[i].pts_ns <= frames[i - 1].pts_ns)
      {
        g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                     _("Frame timestamps must increase (frame %u at %" PRId64
                       " ns follows %" PRId64 " ns)"),
                     i, frames[i].pts_ns, frames[i - 1].pts_ns);
        return FALSE;
      }

  if (!vm_catalog_begin (self, error))
    return FALSE;

  if (!_vm_catalog_video_exists (self, video_id, error))
    goto fail;

  for (guint i = 0; i < G_N_ELEMENTS (clear); i++)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self, clear[i], error);

      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int64 (stmt, 1, video_id);
      if (!_vm_catalog_step_done (self, stmt, _("Cannot replace the frames of a video"), error))
        goto fail;
    }

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self,
                                "INSERT INTO frames (video_id, pts_ns, keyframe, shot_id) "
                                "VALUES (?1, ?2, ?3, ?4)",
                                error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, video_id);

    for (guint i = 0; i < n_frames; i++)
      {
        int rc;

        sqlite3_bind_int64 (stmt, 2, frames[i].pts_ns);
        sqlite3_bind_int (stmt, 3, frames[i].keyframe ? 1 : 0);
        sqlite3_bind_int (stmt, 4, frames[i].shot_id);
        rc = sqlite3_step (stmt);
        if (rc != SQLITE_DONE)
          {
            _vm_catalog_set_error (self, rc, _("Cannot store the frames of a video"), error);
            goto fail;
          }
        sqlite3_reset (stmt);
      }
  }

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self, "UPDATE videos SET n_frames = ?2 WHERE id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, video_id);
    sqlite3_bind_int64 (stmt, 2, n_frames);
    if (!_vm_catalog_step_done (self, stmt, _("Cannot store the frames of a video"), error))
      goto fail;
  }

  return vm_catalog_commit (self, error);

fail:
  vm_catalog_rollback (self);
  return FALSE;
}

GArray *
vm_catalog_get_frames (VmCatalog  *self,
                       gint64      video_id,
                       GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GArray) frames = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT pts_ns, keyframe, shot_id FROM frames WHERE video_id = ?1 "
                              "ORDER BY pts_ns",
                              error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, video_id);

  frames = g_array_new (FALSE, FALSE, sizeof (VmFrameRecord));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmFrameRecord frame;

      frame.pts_ns = sqlite3_column_int64 (stmt, 0);
      frame.keyframe = sqlite3_column_int (stmt, 1) != 0;
      frame.shot_id = sqlite3_column_int (stmt, 2);
      g_array_append_val (frames, frame);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read the frames of a video"), error);
      return NULL;
    }

  return g_steal_pointer (&frames);
}

/* ---- Models ------------------------------------------------------------ */

void
vm_model_record_free (VmModelRecord *model)
{
  if (model == NULL)
    return;

  g_free (model->name);
  g_free (model->digest);
  g_free (model);
}

gboolean
vm_catalog_ensure_model (VmCatalog   *self,
                         const char  *name,
                         int          dim,
                         const char  *digest,
                         gint64      *out_id,
                         GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                           _("A model needs a name"));
      return FALSE;
    }
  if (dim <= 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid embedding dimension %d for the model “%s”"), dim, name);
      return FALSE;
    }

  stmt = _vm_catalog_prepare (self, "SELECT id, dim, digest FROM models WHERE name = ?1", error);
  if (stmt == NULL)
    return FALSE;
  _vm_bind_text (stmt, 1, name);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      int known_dim = sqlite3_column_int (stmt, 1);
      const char *known_digest = (const char *) sqlite3_column_text (stmt, 2);

      if (known_dim != dim || g_strcmp0 (known_digest, digest) != 0)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("The model “%s” is registered with dimension %d and digest %s, "
                         "not dimension %d and digest %s"),
                       name, known_dim, known_digest != NULL ? known_digest : "(none)",
                       dim, digest != NULL ? digest : "(none)");
          return FALSE;
        }
      if (out_id != NULL)
        *out_id = sqlite3_column_int64 (stmt, 0);
      return TRUE;
    }
  if (rc != SQLITE_DONE)
    return _vm_catalog_set_error (self, rc, _("Cannot look up a model"), error);
  g_clear_pointer (&stmt, _vm_cached_stmt_release);

  stmt = _vm_catalog_prepare (self,
                              "INSERT INTO models (name, dim, digest, added_at) "
                              "VALUES (?1, ?2, ?3, ?4)",
                              error);
  if (stmt == NULL)
    return FALSE;
  _vm_bind_text (stmt, 1, name);
  sqlite3_bind_int (stmt, 2, dim);
  _vm_bind_text (stmt, 3, digest);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time () / G_USEC_PER_SEC);
  if (!_vm_catalog_step_done (self, stmt, _("Cannot register a model"), error))
    return FALSE;

  if (out_id != NULL)
    *out_id = sqlite3_last_insert_rowid (_vm_catalog_get_db (self));
  return TRUE;
}

gboolean
vm_catalog_reset_model (VmCatalog   *self,
                        const char  *name,
                        int          dim,
                        const char  *digest,
                        gint64      *out_id,
                        gboolean    *out_replaced,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 id = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_replaced != NULL)
    *out_replaced = FALSE;

  if (!vm_catalog_begin (self, error))
    return FALSE;

  if (!vm_catalog_ensure_model (self, name, dim, digest, &id, &local_error))
    {
      g_autoptr(VmCachedStmt) find = NULL;
      static const char * const steps[] = {
        "DELETE FROM embeddings WHERE model_id = ?1",
        "UPDATE models SET dim = ?2, digest = ?3 WHERE id = ?1",
      };

      /* Only a known name with other weights is taken over; a bad name or
       * dimension stays an error. */
      if (!g_error_matches (local_error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID) ||
          name == NULL || *name == '\0' || dim <= 0)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          goto fail;
        }

      find = _vm_catalog_prepare (self, "SELECT id FROM models WHERE name = ?1", error);
      if (find == NULL)
        goto fail;
      _vm_bind_text (find, 1, name);
      if (!_vm_catalog_query_int64 (self, find, &id, _("Cannot look up a model"), error))
        goto fail;
      if (id == 0)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          goto fail;
        }

      for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
        {
          g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self, steps[i], error);

          if (stmt == NULL)
            goto fail;
          sqlite3_bind_int64 (stmt, 1, id);
          if (i == 1)
            {
              sqlite3_bind_int (stmt, 2, dim);
              _vm_bind_text (stmt, 3, digest);
            }
          if (!_vm_catalog_step_done (self, stmt, _("Cannot update a model"), error))
            goto fail;
        }
      if (out_replaced != NULL)
        *out_replaced = TRUE;
    }

  if (!vm_catalog_commit (self, error))
    return FALSE;
  if (out_id != NULL)
    *out_id = id;
  return TRUE;

fail:
  vm_catalog_rollback (self);
  return FALSE;
}

GPtrArray *
vm_catalog_list_models (VmCatalog  *self,
                        GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) models = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self, "SELECT id, name, dim, digest FROM models ORDER BY name", error);
  if (stmt == NULL)
    return NULL;

  models = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_model_record_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmModelRecord *model = g_new0 (VmModelRecord, 1);

      model->id = sqlite3_column_int64 (stmt, 0);
      model->name = _vm_column_strdup (stmt, 1);
      model->dim = sqlite3_column_int (stmt, 2);
      model->digest = _vm_column_strdup (stmt, 3);
      g_ptr_array_add (models, model);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot list models"), error);
      return NULL;
    }

  return g_steal_pointer (&models);
}

/* ---- Embeddings -------------------------------------------------------- */

/* The BLOBs hold little-endian halves whatever the host. */
static void
copy_halves (guint16       *dst,
             const guint16 *src,
             gsize          count)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dst, src, count * sizeof (guint16));
#else
  for (gsize i = 0; i < count; i++)
    dst[i] = GUINT16_SWAP_LE_BE (src[i]);
#endif
}

/* Rewrites the rows of one aligned block of CHUNK frames of (video, model):
 * @block holds CHUNK × dim halves (little-endian), @covered says which frames
 * have an embedding.  Each run of covered frames becomes one row. */
static gboolean
write_block (VmCatalog      *self,
             gint64          video_id,
             gint64          model_id,
             guint           block_start,
             guint           dim,
             const guint16  *block,
             const gboolean *covered,
             GError        **error)
{
  const char *context = _("Cannot store embeddings");

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self,
                                "DELETE FROM embeddings WHERE video_id = ?1 AND model_id = ?2 "
                                "AND first_frame >= ?3 AND first_frame < ?4",
                                error);
    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, video_id);
    sqlite3_bind_int64 (stmt, 2, model_id);
    sqlite3_bind_int64 (stmt, 3, block_start);
    sqlite3_bind_int64 (stmt, 4, (gint64) block_start + CHUNK);
    if (!_vm_catalog_step_done (self, stmt, context, error))
      return FALSE;
  }

  for (guint i = 0; i < CHUNK;)
    {
      g_autoptr(VmCachedStmt) stmt = NULL;
      guint end;

      if (!covered[i])
        {
          i++;
          continue;
        }
      for (end = i; end < CHUNK && covered[end]; end++)
        ;

      stmt = _vm_catalog_prepare (self,
                                  "INSERT INTO embeddings (video_id, model_id, first_frame, "
                                  "n_frames, dim, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                  error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, video_id);
      sqlite3_bind_int64 (stmt, 2, model_id);
      sqlite3_bind_int64 (stmt, 3, (gint64) block_start + i);
      sqlite3_bind_int (stmt, 4, (int) (end - i));
      sqlite3_bind_int (stmt, 5, (int) dim);
      sqlite3_bind_blob64 (stmt, 6, block + (gsize) i * dim,
                           (sqlite3_uint64) (end - i) * dim * sizeof (guint16), SQLITE_STATIC);
      if (!_vm_catalog_step_done (self, stmt, context, error))
        return FALSE;

      i = end;
    }

  return TRUE;
}

/* Loads the existing rows of one aligned block into @block / @covered. */
static gboolean
read_block (VmCatalog  *self,
            gint64      video_id,
            gint64      model_id,
            guint       block_start,
            guint       dim,
            guint16    *block,
            gboolean   *covered,
            GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  int rc;

  stmt = _vm_catalog_prepare (self,
                              "SELECT first_frame, n_frames, dim, data FROM embeddings "
                              "WHERE video_id = ?1 AND model_id = ?2 "
                              "AND first_frame >= ?3 AND first_frame < ?4",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  sqlite3_bind_int64 (stmt, 2, model_id);
  sqlite3_bind_int64 (stmt, 3, block_start);
  sqlite3_bind_int64 (stmt, 4, (gint64) block_start + CHUNK);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 offset = sqlite3_column_int64 (stmt, 0) - block_start;
      gint64 n = sqlite3_column_int64 (stmt, 1);
      const void *data = sqlite3_column_blob (stmt, 3);
      gsize size = (gsize) sqlite3_column_bytes (stmt, 3);

      /* Rows of another dim cannot exist (the model's dim is fixed); rows
       * crossing the block boundary are not written by this code. */
      if (sqlite3_column_int (stmt, 2) != (int) dim || offset < 0 || n < 1 ||
          offset + n > CHUNK || size != (gsize) n * dim * sizeof (guint16))
        continue;

      memcpy (block + (gsize) offset * dim, data, size);
      for (gint64 i = offset; i < offset + n; i++)
        covered[i] = TRUE;
    }
  if (rc != SQLITE_DONE)
    return _vm_catalog_set_error (self, rc, _("Cannot read embeddings"), error);

  return TRUE;
}

gboolean
vm_catalog_put_embeddings (VmCatalog      *self,
                           gint64          video_id,
                           gint64          model_id,
                           guint           first_frame,
                           guint           n_frames,
                           guint           dim,
                           const guint16  *fp16,
                           GError        **error)
{
  g_autofree guint16 *block = NULL;
  gboolean covered[CHUNK];
  gint64 model_dim = 0, video_frames = 0;
  guint64 end = (guint64) first_frame + n_frames;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (dim == 0 || dim > G_MAXINT / (2 * CHUNK) || n_frames == 0 || fp16 == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid embeddings: %u frames of dimension %u"), n_frames, dim);
      return FALSE;
    }

  if (!vm_catalog_begin (self, error))
    return FALSE;

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self, "SELECT dim FROM models WHERE id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, model_id);
    if (!_vm_catalog_query_int64 (self, stmt, &model_dim, _("Cannot look up a model"), error))
      goto fail;
  }
  if (model_dim == 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No model with id %" PRId64 " in the catalog"), model_id);
      goto fail;
    }
  if (model_dim != dim)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Embeddings of dimension %u given for a model of dimension %" PRId64),
                   dim, model_dim);
      goto fail;
    }

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self, "SELECT n_frames FROM videos WHERE id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, video_id);
    video_frames = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW)
      video_frames = sqlite3_column_int64 (stmt, 0);
  }
  if (video_frames < 0)
    {
      /* Either no such video or a read error: tell which. */
      if (!_vm_catalog_video_exists (self, video_id, error))
        goto fail;
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_SQL,
                           _("Cannot read a video from the catalog"));
      goto fail;
    }
  if (end > (guint64) video_frames)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Embeddings for frames %u to %" PRIu64 " given, but the video "
                     "has %" PRId64 " frames"),
                   first_frame, end - 1, video_frames);
      goto fail;
    }

  block = g_new (guint16, (gsize) CHUNK * dim);

  for (guint64 block_start = first_frame - first_frame % CHUNK; block_start < end;
       block_start += CHUNK)
    {
      guint64 a = MAX (block_start, first_frame);
      guint64 b = MIN (block_start + CHUNK, end);

      memset (covered, 0, sizeof covered);
      /* A partly covered block keeps the frames it already has. */
      if ((a > block_start || b < block_start + CHUNK) &&
          !read_block (self, video_id, model_id, (guint) block_start, dim, block, covered, error))
        goto fail;

      copy_halves (block + (a - block_start) * dim, fp16 + (a - first_frame) * dim,
                   (gsize) (b - a) * dim);
      for (guint64 i = a; i < b; i++)
        covered[i - block_start] = TRUE;

      if (!write_block (self, video_id, model_id, (guint) block_start, dim, block, covered, error))
        goto fail;
    }

  return vm_catalog_commit (self, error);

fail:
  vm_catalog_rollback (self);
  return FALSE;
}

gboolean
vm_catalog_count_embeddings (VmCatalog  *self,
                             gint64      video_id,
                             gint64      model_id,
                             guint      *out_n_frames,
                             GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 n = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stmt = _vm_catalog_prepare (self,
                              "SELECT COALESCE (SUM (n_frames), 0) FROM embeddings "
                              "WHERE video_id = ?1 AND model_id = ?2",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  sqlite3_bind_int64 (stmt, 2, model_id);
  if (!_vm_catalog_query_int64 (self, stmt, &n, _("Cannot count embeddings"), error))
    return FALSE;

  if (out_n_frames != NULL)
    *out_n_frames = (guint) n;
  return TRUE;
}

GBytes *
vm_catalog_get_embeddings (VmCatalog  *self,
                           gint64      video_id,
                           gint64      model_id,
                           guint      *out_n_frames,
                           guint      *out_first,
                           GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GByteArray) data = NULL;
  gint64 first = -1, next = 0;
  int dim = 0;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT first_frame, n_frames, dim, data FROM embeddings "
                              "WHERE video_id = ?1 AND model_id = ?2 ORDER BY first_frame",
                              error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, video_id);
  sqlite3_bind_int64 (stmt, 2, model_id);

  data = g_byte_array_new ();
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 row_first = sqlite3_column_int64 (stmt, 0);
      gint64 row_n = sqlite3_column_int64 (stmt, 1);
      int row_dim = sqlite3_column_int (stmt, 2);
      const guint8 *blob = sqlite3_column_blob (stmt, 3);
      gsize size = (gsize) sqlite3_column_bytes (stmt, 3);
      guint old_len = data->len;

      if (first < 0)
        {
          first = next = row_first;
          dim = row_dim;
        }
      /* Only the first contiguous run is returned. */
      if (row_first != next || row_dim != dim || size != (gsize) row_n * row_dim * sizeof (guint16))
        {
          g_debug ("Embeddings of video %" G_GINT64_FORMAT " stop at frame %" G_GINT64_FORMAT,
                   video_id, next);
          break;
        }

      g_byte_array_set_size (data, old_len + (guint) size);
      copy_halves ((guint16 *) (gpointer) (data->data + old_len), (const guint16 *) (gconstpointer) blob,
                   size / sizeof (guint16));
      next += row_n;
    }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read embeddings"), error);
      return NULL;
    }

  if (out_n_frames != NULL)
    *out_n_frames = first < 0 ? 0 : (guint) (next - first);
  if (out_first != NULL)
    *out_first = first < 0 ? 0 : (guint) first;

  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

GArray *
vm_catalog_list_embedding_versions (VmCatalog  *self,
                                    gint64      model_id,
                                    GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GArray) out = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT e.video_id, sum (e.n_frames), count (*), min (e.id), max (e.id), "
                              "sum (e.id), sum (e.first_frame), v.indexed_at, v.mtime_us, v.n_frames "
                              "FROM embeddings e JOIN videos v ON v.id = e.video_id "
                              "WHERE e.model_id = ?1 AND v.status != 'missing' "
                              "GROUP BY e.video_id ORDER BY e.video_id",
                              error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, model_id);

  out = g_array_new (FALSE, FALSE, sizeof (VmEmbeddingVersion));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmEmbeddingVersion v = { 0, };
      guint64 h = 1469598103934665603ull;

      v.video_id = sqlite3_column_int64 (stmt, 0);
      v.n_embeddings = (guint) sqlite3_column_int64 (stmt, 1);
      /* FNV-style mix of everything that changes on a rewrite. */
      for (int c = 1; c <= 9; c++)
        {
          h ^= (guint64) sqlite3_column_int64 (stmt, c);
          h *= 1099511628211ull;
          h ^= h >> 29;
        }
      v.version = h;
      g_array_append_val (out, v);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read embeddings"), error);
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---- Dense embeddings -------------------------------------------------- */

/* The model's dim, or 0 with an error when there is no such model. */
static gint64
model_dim (VmCatalog  *self,
           gint64      model_id,
           GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 dim = 0;

  stmt = _vm_catalog_prepare (self, "SELECT dim FROM models WHERE id = ?1", error);
  if (stmt == NULL)
    return 0;
  sqlite3_bind_int64 (stmt, 1, model_id);
  if (!_vm_catalog_query_int64 (self, stmt, &dim, _("Cannot look up a model"), error))
    return 0;
  if (dim <= 0)
    g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                 _("No model with id %" PRId64 " in the catalog"), model_id);
  return MAX (dim, 0);
}

gboolean
vm_catalog_put_dense_embeddings (VmCatalog      *self,
                                 gint64          video_id,
                                 gint64          model_id,
                                 const gint64   *pts_ns,
                                 guint           n,
                                 guint           dim,
                                 const guint16  *fp16,
                                 GError        **error)
{
  const char *context = _("Cannot store embeddings");
  g_autofree guint16 *row = NULL;
  gint64 expected;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n == 0)
    return TRUE;
  if (dim == 0 || dim > G_MAXINT / 2 || pts_ns == NULL || fp16 == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid embeddings: %u frames of dimension %u"), n, dim);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    if (pts_ns[i] < 0)
      {
        g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                     _("Invalid frame timestamp %" PRId64 " ns"), pts_ns[i]);
        return FALSE;
      }

  if (!vm_catalog_begin (self, error))
    return FALSE;

  if ((expected = model_dim (self, model_id, error)) == 0)
    goto fail;
  if (expected != dim)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Embeddings of dimension %u given for a model of dimension %" PRId64),
                   dim, expected);
      goto fail;
    }
  if (!_vm_catalog_video_exists (self, video_id, error))
    goto fail;

  row = g_new (guint16, dim);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VmCachedStmt) stmt = NULL;

      stmt = _vm_catalog_prepare (self,
                                  "INSERT OR REPLACE INTO dense_embeddings "
                                  "(video_id, model_id, pts_ns, data) VALUES (?1, ?2, ?3, ?4)",
                                  error);
      if (stmt == NULL)
        goto fail;
      copy_halves (row, fp16 + (gsize) i * dim, dim);
      sqlite3_bind_int64 (stmt, 1, video_id);
      sqlite3_bind_int64 (stmt, 2, model_id);
      sqlite3_bind_int64 (stmt, 3, pts_ns[i]);
      sqlite3_bind_blob64 (stmt, 4, row, (sqlite3_uint64) dim * sizeof (guint16), SQLITE_STATIC);
      if (!_vm_catalog_step_done (self, stmt, context, error))
        goto fail;
    }

  return vm_catalog_commit (self, error);

fail:
  vm_catalog_rollback (self);
  return FALSE;
}

GBytes *
vm_catalog_get_dense_embeddings (VmCatalog  *self,
                                 gint64      video_id,
                                 gint64      model_id,
                                 gint64      from_ns,
                                 gint64      to_ns,
                                 GArray    **out_pts,
                                 GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GByteArray) data = NULL;
  g_autoptr(GArray) pts = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT d.pts_ns, d.data, m.dim FROM dense_embeddings AS d "
                              "JOIN models AS m ON m.id = d.model_id "
                              "WHERE d.video_id = ?1 AND d.model_id = ?2 "
                              "AND d.pts_ns BETWEEN ?3 AND ?4 ORDER BY d.pts_ns",
                              error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, video_id);
  sqlite3_bind_int64 (stmt, 2, model_id);
  sqlite3_bind_int64 (stmt, 3, from_ns);
  sqlite3_bind_int64 (stmt, 4, to_ns);

  data = g_byte_array_new ();
  pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 t = sqlite3_column_int64 (stmt, 0);
      const guint8 *blob = sqlite3_column_blob (stmt, 1);
      gsize size = (gsize) sqlite3_column_bytes (stmt, 1);
      gint64 dim = sqlite3_column_int64 (stmt, 2);
      guint old_len = data->len;

      /* Rows of another length cannot be written by this code. */
      if (blob == NULL || dim <= 0 || size != (gsize) dim * sizeof (guint16))
        continue;
      g_byte_array_set_size (data, old_len + (guint) size);
      copy_halves ((guint16 *) (gpointer) (data->data + old_len),
                   (const guint16 *) (gconstpointer) blob, size / sizeof (guint16));
      g_array_append_val (pts, t);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read embeddings"), error);
      return NULL;
    }

  if (out_pts != NULL)
    *out_pts = g_steal_pointer (&pts);
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

gboolean
vm_catalog_clear_dense_embeddings (VmCatalog  *self,
                                   gint64      video_id,
                                   GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stmt = _vm_catalog_prepare (self,
                              "DELETE FROM dense_embeddings WHERE ?1 = 0 OR video_id = ?1",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  return _vm_catalog_step_done (self, stmt, _("Cannot clear embeddings"), error);
}

gboolean
vm_catalog_count_dense_embeddings (VmCatalog  *self,
                                   gint64      video_id,
                                   guint64    *out_n,
                                   GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 n = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stmt = _vm_catalog_prepare (self,
                              "SELECT count(*) FROM dense_embeddings WHERE ?1 = 0 OR video_id = ?1",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  if (!_vm_catalog_query_int64 (self, stmt, &n, _("Cannot read embeddings"), error))
    return FALSE;
  if (out_n != NULL)
    *out_n = (guint64) n;
  return TRUE;
}

/* ---- Timed text -------------------------------------------------------- */

static const char * const text_source_names[] = {
  [VM_TEXT_SOURCE_SUBTITLE] = "subtitle",
  [VM_TEXT_SOURCE_OCR] = "ocr",
  [VM_TEXT_SOURCE_SPEECH] = "speech",
};

const char *
vm_text_source_to_string (VmTextSource source)
{
  if ((guint) source < G_N_ELEMENTS (text_source_names))
    return text_source_names[source];

  return NULL;
}

static VmTextSource
text_source_from_string (const char *text)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (text_source_names); i++)
    if (strcmp (text, text_source_names[i]) == 0)
      return (VmTextSource) i;

  return VM_TEXT_SOURCE_SUBTITLE;
}

void
vm_text_segment_free (VmTextSegment *segment)
{
  if (segment == NULL)
    return;

  g_free (segment->language);
  g_free (segment->text);
  g_free (segment->highlighted);
  g_free (segment);
}

gboolean
vm_catalog_add_text_segment (VmCatalog      *self,
                             VmTextSegment  *segment,
                             GError        **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  const char *source;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (segment != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  source = vm_text_source_to_string (segment->source);
  if (source == NULL || segment->text == NULL)
    {
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                           _("Invalid text segment: it needs a text and a known source"));
      return FALSE;
    }
  if (segment->start_ns < 0 || segment->end_ns < segment->start_ns)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid text segment times: %" PRId64 " to %" PRId64 " ns"),
                   segment->start_ns, segment->end_ns);
      return FALSE;
    }
  if (!(segment->confidence >= 0.0 && segment->confidence <= 1.0))
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid text segment confidence %g (expected 0 to 1)"), segment->confidence);
      return FALSE;
    }

  stmt = _vm_catalog_prepare (self,
                              "INSERT INTO text_segments (video_id, start_ns, end_ns, source, "
                              "language, text, confidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, segment->video_id);
  sqlite3_bind_int64 (stmt, 2, segment->start_ns);
  sqlite3_bind_int64 (stmt, 3, segment->end_ns);
  _vm_bind_text (stmt, 4, source);
  _vm_bind_text (stmt, 5, segment->language);
  _vm_bind_text (stmt, 6, segment->text);
  sqlite3_bind_double (stmt, 7, segment->confidence);
  if (!_vm_catalog_step_done (self, stmt, _("Cannot store a text segment"), error))
    return FALSE;

  segment->id = sqlite3_last_insert_rowid (_vm_catalog_get_db (self));
  return TRUE;
}

gboolean
vm_catalog_clear_text_segments (VmCatalog  *self,
                                gint64      video_id,
                                int         source,
                                GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (source >= 0 && vm_text_source_to_string ((VmTextSource) source) == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid text source %d"), source);
      return FALSE;
    }

  if (source < 0)
    stmt = _vm_catalog_prepare (self, "DELETE FROM text_segments WHERE video_id = ?1", error);
  else
    stmt = _vm_catalog_prepare (self,
                                "DELETE FROM text_segments WHERE video_id = ?1 AND source = ?2",
                                error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  if (source >= 0)
    _vm_bind_text (stmt, 2, vm_text_source_to_string ((VmTextSource) source));

  return _vm_catalog_step_done (self, stmt, _("Cannot remove text segments"), error);
}

#define TEXT_COLUMNS \
  "s.id, s.video_id, s.start_ns, s.end_ns, s.source, s.language, s.text, s.confidence"

static VmTextSegment *
text_segment_from_row (sqlite3_stmt *stmt)
{
  VmTextSegment *segment = g_new0 (VmTextSegment, 1);

  segment->id = sqlite3_column_int64 (stmt, 0);
  segment->video_id = sqlite3_column_int64 (stmt, 1);
  segment->start_ns = sqlite3_column_int64 (stmt, 2);
  segment->end_ns = sqlite3_column_int64 (stmt, 3);
  segment->source = text_source_from_string ((const char *) sqlite3_column_text (stmt, 4));
  segment->language = _vm_column_strdup (stmt, 5);
  segment->text = _vm_column_strdup (stmt, 6);
  segment->confidence = sqlite3_column_double (stmt, 7);

  return segment;
}

GPtrArray *
vm_catalog_search_text (VmCatalog   *self,
                        const char  *query,
                        guint        limit,
                        GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) segments = NULL;
  g_autofree char *stripped = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stripped = g_strstrip (g_strdup (query != NULL ? query : ""));
  if (*stripped == '\0')
    {
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                           _("The text search query is empty"));
      return NULL;
    }

  stmt = _vm_catalog_prepare (self,
                              "SELECT " TEXT_COLUMNS ", text_fts.rank, "
                              "highlight (text_fts, 0, '[', ']') "
                              "FROM text_fts JOIN text_segments AS s ON s.id = text_fts.rowid "
                              "WHERE text_fts MATCH ?1 ORDER BY text_fts.rank LIMIT ?2",
                              error);
  if (stmt == NULL)
    return NULL;
  _vm_bind_text (stmt, 1, query);
  sqlite3_bind_int64 (stmt, 2, limit > 0 ? (gint64) limit : -1);

  segments = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_text_segment_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmTextSegment *segment = text_segment_from_row (stmt);

      segment->rank = sqlite3_column_double (stmt, 8);
      segment->highlighted = _vm_column_strdup (stmt, 9);
      g_ptr_array_add (segments, segment);
    }
  if (rc == SQLITE_ERROR)
    {
      /* FTS5 reports a malformed query while stepping. */
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid text search query “%s”: %s"), query,
                   sqlite3_errmsg (_vm_catalog_get_db (self)));
      return NULL;
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot search the text"), error);
      return NULL;
    }

  return g_steal_pointer (&segments);
}

GPtrArray *
vm_catalog_list_text_segments (VmCatalog  *self,
                               gint64      video_id,
                               GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) segments = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT " TEXT_COLUMNS " FROM text_segments AS s "
                              "WHERE s.video_id = ?1 ORDER BY s.start_ns, s.id",
                              error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, video_id);

  segments = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_text_segment_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (segments, text_segment_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read text segments"), error);
      return NULL;
    }

  return g_steal_pointer (&segments);
}

/* ---- Annotations ------------------------------------------------------- */

VmAnnotation *
vm_annotation_new (void)
{
  VmAnnotation *annotation = g_new0 (VmAnnotation, 1);

  annotation->saliency = -1;
  return annotation;
}

void
vm_annotation_free (VmAnnotation *annotation)
{
  if (annotation == NULL)
    return;

  g_free (annotation->text);
  g_clear_pointer (&annotation->clips, g_array_unref);
  g_free (annotation);
}

/* Binary search: the position of @clip in @clips, or where it goes. */
static guint
clip_position (GArray   *clips,
               guint     clip,
               gboolean *out_found)
{
  guint lo = 0, hi = clips->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      guint c = g_array_index (clips, VmClipSaliency, mid).clip;

      if (c == clip)
        {
          *out_found = TRUE;
          return mid;
        }
      if (c < clip)
        lo = mid + 1;
      else
        hi = mid;
    }
  *out_found = FALSE;
  return lo;
}

int
vm_annotation_get_clip_score (const VmAnnotation *annotation,
                              guint               clip)
{
  gboolean found = FALSE;
  guint i;

  g_return_val_if_fail (annotation != NULL, -1);

  if (annotation->clips == NULL)
    return -1;
  i = clip_position (annotation->clips, clip, &found);
  return found ? g_array_index (annotation->clips, VmClipSaliency, i).score : -1;
}

void
vm_annotation_set_clip_score (VmAnnotation *annotation,
                              guint         clip,
                              int           score)
{
  gboolean found = FALSE;
  guint i;

  g_return_if_fail (annotation != NULL);
  g_return_if_fail (score >= -1 && score <= 4);

  if (annotation->clips == NULL)
    annotation->clips = g_array_new (FALSE, FALSE, sizeof (VmClipSaliency));
  i = clip_position (annotation->clips, clip, &found);
  if (score < 0)
    {
      if (found)
        g_array_remove_index (annotation->clips, i);
    }
  else if (found)
    g_array_index (annotation->clips, VmClipSaliency, i).score = score;
  else
    {
      VmClipSaliency cs = { clip, score };

      g_array_insert_val (annotation->clips, i, cs);
    }
}

gboolean
vm_catalog_ensure_annotation_set (VmCatalog   *self,
                                  const char  *name,
                                  gint64      *out_id,
                                  GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 id = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                           _("An annotation set needs a name"));
      return FALSE;
    }

  stmt = _vm_catalog_prepare (self,
                              "INSERT INTO annotation_sets (name, created_at) VALUES (?1, ?2) "
                              "ON CONFLICT (name) DO NOTHING",
                              error);
  if (stmt == NULL)
    return FALSE;
  _vm_bind_text (stmt, 1, name);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
  if (!_vm_catalog_step_done (self, stmt, _("Cannot create an annotation set"), error))
    return FALSE;
  g_clear_pointer (&stmt, _vm_cached_stmt_release);

  stmt = _vm_catalog_prepare (self, "SELECT id FROM annotation_sets WHERE name = ?1", error);
  if (stmt == NULL)
    return FALSE;
  _vm_bind_text (stmt, 1, name);
  if (!_vm_catalog_query_int64 (self, stmt, &id, _("Cannot look up an annotation set"), error))
    return FALSE;

  if (out_id != NULL)
    *out_id = id;
  return TRUE;
}

static gboolean
check_annotation_refs (VmCatalog     *self,
                       VmAnnotation  *annotation,
                       GError       **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 found = 0;

  if (!_vm_catalog_video_exists (self, annotation->video_id, error))
    return FALSE;

  stmt = _vm_catalog_prepare (self, "SELECT 1 FROM annotation_sets WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, annotation->set_id);
  if (!_vm_catalog_query_int64 (self, stmt, &found, _("Cannot look up an annotation set"), error))
    return FALSE;
  if (!found)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No annotation set with id %" PRId64 " in the catalog"),
                   annotation->set_id);
      return FALSE;
    }

  return TRUE;
}

/* On insert, created_at and modified_at keep the values given (an import
 * preserves them) and default to now; an update sets modified_at to now and
 * reads created_at back. */
static gboolean
check_annotation_values (VmAnnotation  *annotation,
                         GError       **error)
{
  if (annotation->start_ns < 0 || annotation->end_ns <= annotation->start_ns)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("An annotation must start at 0 or later and end after it starts "
                     "(got %" PRId64 " to %" PRId64 " ns)"),
                   annotation->start_ns, annotation->end_ns);
      return FALSE;
    }
  if (annotation->saliency < -1 || annotation->saliency > 4)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Saliency must be from 0 to 4, or unset (got %d)"), annotation->saliency);
      return FALSE;
    }
  if (annotation->id < 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid annotation id %" PRId64), annotation->id);
      return FALSE;
    }

  return TRUE;
}

static gboolean
save_annotation_row (VmCatalog     *self,
                     VmAnnotation  *annotation,
                     GError       **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 now = g_get_real_time ();
  int rc;

  if (!check_annotation_refs (self, annotation, error))
    return FALSE;

  if (annotation->id == 0)
    stmt = _vm_catalog_prepare (self,
                                "INSERT INTO annotations (set_id, video_id, start_ns, end_ns, "
                                "text, saliency, created_at, modified_at) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                                error);
  else
    stmt = _vm_catalog_prepare (self,
                                "UPDATE annotations SET set_id = ?1, video_id = ?2, start_ns = ?3, "
                                "end_ns = ?4, text = ?5, saliency = ?6, modified_at = ?8 "
                                "WHERE id = ?9 RETURNING created_at",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, annotation->set_id);
  sqlite3_bind_int64 (stmt, 2, annotation->video_id);
  sqlite3_bind_int64 (stmt, 3, annotation->start_ns);
  sqlite3_bind_int64 (stmt, 4, annotation->end_ns);
  _vm_bind_text (stmt, 5, annotation->text);
  if (annotation->saliency >= 0)
    sqlite3_bind_int (stmt, 6, annotation->saliency);
  else
    sqlite3_bind_null (stmt, 6);
  if (annotation->id == 0)
    {
      gint64 created = annotation->created_at > 0 ? annotation->created_at : now;

      sqlite3_bind_int64 (stmt, 7, created);
      sqlite3_bind_int64 (stmt, 8, annotation->modified_at > 0 ? annotation->modified_at : created);
    }
  else
    {
      sqlite3_bind_int64 (stmt, 8, now);
      sqlite3_bind_int64 (stmt, 9, annotation->id);
    }

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE && annotation->id != 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No annotation with id %" PRId64 " in the catalog"), annotation->id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return _vm_catalog_set_error (self, rc, _("Cannot save an annotation"), error);

  if (annotation->id == 0)
    {
      annotation->id = sqlite3_column_int64 (stmt, 0);
      if (annotation->created_at <= 0)
        annotation->created_at = now;
      if (annotation->modified_at <= 0)
        annotation->modified_at = annotation->created_at;
    }
  else
    {
      annotation->created_at = sqlite3_column_int64 (stmt, 0);
      annotation->modified_at = now;
    }

  /* Finish the statement so that the change is complete before returning. */
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return _vm_catalog_set_error (self, rc, _("Cannot save an annotation"), error);

  return TRUE;
}

static gboolean
check_clips (GArray  *clips,
             GError **error)
{
  for (guint i = 0; clips != NULL && i < clips->len; i++)
    {
      const VmClipSaliency *cs = &g_array_index (clips, VmClipSaliency, i);

      if (cs->score < 0 || cs->score > 4)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("Saliency must be from 0 to 4 (got %d for clip %u)"), cs->score, cs->clip);
          return FALSE;
        }
      if (cs->clip > G_MAXINT32)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("Clip %u is out of range"), cs->clip);
          return FALSE;
        }
      if (i > 0 && g_array_index (clips, VmClipSaliency, i - 1).clip >= cs->clip)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("Clip scores must be sorted by clip, each clip once (clip %u)"), cs->clip);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
save_clips (VmCatalog     *self,
            VmAnnotation  *annotation,
            GError       **error)
{
  g_autoptr(VmCachedStmt) del = NULL;

  del = _vm_catalog_prepare (self, "DELETE FROM annotation_saliency WHERE annotation_id = ?1", error);
  if (del == NULL)
    return FALSE;
  sqlite3_bind_int64 (del, 1, annotation->id);
  if (!_vm_catalog_step_done (self, del, _("Cannot save the saliency of an annotation"), error))
    return FALSE;

  for (guint i = 0; i < annotation->clips->len; i++)
    {
      const VmClipSaliency *cs = &g_array_index (annotation->clips, VmClipSaliency, i);
      g_autoptr(VmCachedStmt) ins = NULL;

      ins = _vm_catalog_prepare (self,
                                 "INSERT INTO annotation_saliency (annotation_id, clip, score) "
                                 "VALUES (?1, ?2, ?3)",
                                 error);
      if (ins == NULL)
        return FALSE;
      sqlite3_bind_int64 (ins, 1, annotation->id);
      sqlite3_bind_int64 (ins, 2, cs->clip);
      sqlite3_bind_int (ins, 3, cs->score);
      if (!_vm_catalog_step_done (self, ins, _("Cannot save the saliency of an annotation"), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
vm_catalog_save_annotation (VmCatalog     *self,
                            VmAnnotation  *annotation,
                            GError       **error)
{
  gint64 old_id;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (annotation != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_annotation_values (annotation, error) ||
      !check_clips (annotation->clips, error))
    return FALSE;
  if (annotation->clips == NULL)
    return save_annotation_row (self, annotation, error);

  /* The row and its scores together, or neither. */
  old_id = annotation->id;
  if (!vm_catalog_begin (self, error))
    return FALSE;
  if (!save_annotation_row (self, annotation, error) ||
      !save_clips (self, annotation, error))
    {
      vm_catalog_rollback (self);
      annotation->id = old_id;
      return FALSE;
    }
  if (!vm_catalog_commit (self, error))
    {
      annotation->id = old_id;
      return FALSE;
    }
  return TRUE;
}

/* Fills annotation->clips from the catalog. */
static gboolean
load_clips (VmCatalog     *self,
            VmAnnotation  *annotation,
            GError       **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  int rc;

  stmt = _vm_catalog_prepare (self,
                              "SELECT clip, score FROM annotation_saliency "
                              "WHERE annotation_id = ?1 ORDER BY clip",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, annotation->id);

  if (annotation->clips == NULL)
    annotation->clips = g_array_new (FALSE, FALSE, sizeof (VmClipSaliency));
  g_array_set_size (annotation->clips, 0);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmClipSaliency cs;

      cs.clip = (guint) sqlite3_column_int64 (stmt, 0);
      cs.score = sqlite3_column_int (stmt, 1);
      g_array_append_val (annotation->clips, cs);
    }
  if (rc != SQLITE_DONE)
    return _vm_catalog_set_error (self, rc, _("Cannot read the saliency of an annotation"), error);
  return TRUE;
}

gboolean
vm_catalog_delete_annotation (VmCatalog  *self,
                              gint64      id,
                              GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stmt = _vm_catalog_prepare (self, "DELETE FROM annotations WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  if (!_vm_catalog_step_done (self, stmt, _("Cannot delete an annotation"), error))
    return FALSE;
  if (sqlite3_changes (_vm_catalog_get_db (self)) == 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No annotation with id %" PRId64 " in the catalog"), id);
      return FALSE;
    }

  return TRUE;
}

#define ANNOTATION_COLUMNS \
  "id, set_id, video_id, start_ns, end_ns, text, saliency, created_at, modified_at"

static VmAnnotation *
annotation_from_row (sqlite3_stmt *stmt)
{
  VmAnnotation *annotation = g_new0 (VmAnnotation, 1);

  annotation->id = sqlite3_column_int64 (stmt, 0);
  annotation->set_id = sqlite3_column_int64 (stmt, 1);
  annotation->video_id = sqlite3_column_int64 (stmt, 2);
  annotation->start_ns = sqlite3_column_int64 (stmt, 3);
  annotation->end_ns = sqlite3_column_int64 (stmt, 4);
  annotation->text = _vm_column_strdup (stmt, 5);
  annotation->saliency = sqlite3_column_type (stmt, 6) == SQLITE_NULL
                         ? -1 : sqlite3_column_int (stmt, 6);
  annotation->created_at = sqlite3_column_int64 (stmt, 7);
  annotation->modified_at = sqlite3_column_int64 (stmt, 8);

  return annotation;
}

VmAnnotation *
vm_catalog_get_annotation (VmCatalog  *self,
                           gint64      id,
                           GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self, "SELECT " ANNOTATION_COLUMNS " FROM annotations WHERE id = ?1",
                              error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      g_autoptr(VmAnnotation) annotation = annotation_from_row (stmt);

      g_clear_pointer (&stmt, _vm_cached_stmt_release);
      if (!load_clips (self, annotation, error))
        return NULL;
      return g_steal_pointer (&annotation);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read an annotation"), error);
      return NULL;
    }

  g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
               _("No annotation with id %" PRId64 " in the catalog"), id);
  return NULL;
}

void
vm_annotation_set_free (VmAnnotationSet *set)
{
  if (set == NULL)
    return;

  g_free (set->name);
  g_free (set);
}

GPtrArray *
vm_catalog_list_annotation_sets (VmCatalog  *self,
                                 GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) sets = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT s.id, s.name, s.created_at, "
                              "(SELECT count(*) FROM annotations AS a WHERE a.set_id = s.id) "
                              "FROM annotation_sets AS s ORDER BY s.name",
                              error);
  if (stmt == NULL)
    return NULL;

  sets = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_annotation_set_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmAnnotationSet *set = g_new0 (VmAnnotationSet, 1);

      set->id = sqlite3_column_int64 (stmt, 0);
      set->name = _vm_column_strdup (stmt, 1);
      set->created_at = sqlite3_column_int64 (stmt, 2);
      set->n_annotations = (guint) sqlite3_column_int64 (stmt, 3);
      g_ptr_array_add (sets, set);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot list annotation sets"), error);
      return NULL;
    }

  return g_steal_pointer (&sets);
}

gboolean
vm_catalog_find_annotation_set (VmCatalog   *self,
                                const char  *name,
                                gint64      *out_id,
                                GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 id = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stmt = _vm_catalog_prepare (self, "SELECT id FROM annotation_sets WHERE name = ?1", error);
  if (stmt == NULL)
    return FALSE;
  _vm_bind_text (stmt, 1, name != NULL ? name : "");
  if (!_vm_catalog_query_int64 (self, stmt, &id, _("Cannot look up an annotation set"), error))
    return FALSE;
  if (id == 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No annotation set named “%s” in the catalog"), name != NULL ? name : "");
      return FALSE;
    }

  if (out_id != NULL)
    *out_id = id;
  return TRUE;
}

GPtrArray *
vm_catalog_list_annotations (VmCatalog  *self,
                             gint64      set_id,
                             gint64      video_id,
                             GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) annotations = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT " ANNOTATION_COLUMNS " FROM annotations "
                              "WHERE (?1 = 0 OR set_id = ?1) AND (?2 = 0 OR video_id = ?2) "
                              "ORDER BY video_id, start_ns, end_ns, id",
                              error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, set_id);
  sqlite3_bind_int64 (stmt, 2, video_id);

  annotations = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_annotation_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (annotations, annotation_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot list annotations"), error);
      return NULL;
    }
  g_clear_pointer (&stmt, _vm_cached_stmt_release);

  for (guint i = 0; i < annotations->len; i++)
    if (!load_clips (self, g_ptr_array_index (annotations, i), error))
      return NULL;

  return g_steal_pointer (&annotations);
}
