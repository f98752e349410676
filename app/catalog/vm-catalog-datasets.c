/* vm-catalog-datasets.c — dataset queries, windows, negatives, raters and
 * saliency in the catalog.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "catalog/vm-catalog-datasets.h"

#include <inttypes.h>
#include <glib/gi18n.h>

#include "catalog/vm-catalog-private.h"

#define CLIP_NS (2 * G_GINT64_CONSTANT (1000000000))

VmQuery *
vm_query_new (void)
{
  VmQuery *query = g_new0 (VmQuery, 1);

  query->qid = -1;
  query->windows = g_array_new (FALSE, FALSE, sizeof (VmQueryWindow));
  query->negatives = g_array_new (FALSE, FALSE, sizeof (gint64));
  query->saliency = g_array_new (FALSE, FALSE, sizeof (VmQueryScore));
  return query;
}

void
vm_query_free (VmQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->text);
  g_array_unref (query->windows);
  g_array_unref (query->negatives);
  g_array_unref (query->saliency);
  g_free (query);
}

void
vm_rater_free (VmRater *rater)
{
  if (rater == NULL)
    return;
  g_free (rater->name);
  g_free (rater);
}

static gboolean
check_set (VmCatalog  *self,
           gint64      set_id,
           GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self, "SELECT 1 FROM annotation_sets WHERE id = ?1", error);
  gint64 found = 0;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, set_id);
  if (!_vm_catalog_query_int64 (self, stmt, &found, _("Cannot read an annotation set"), error))
    return FALSE;
  if (!found)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No annotation set with id %" PRId64 " in the catalog"), set_id);
      return FALSE;
    }
  return TRUE;
}

/* ---- Raters ----------------------------------------------------------------- */

gboolean
vm_catalog_ensure_rater (VmCatalog   *self,
                         gint64       set_id,
                         const char  *name,
                         gint64      *out_id,
                         GError     **error)
{
  gint64 id = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (name == NULL || *name == '\0')
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID, _("A rater needs a name"));
      return FALSE;
    }
  if (!check_set (self, set_id, error))
    return FALSE;

  {
    g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
        "INSERT INTO dataset_raters (set_id, name) VALUES (?1, ?2) "
        "ON CONFLICT (set_id, name) DO NOTHING", error);
    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, set_id);
    _vm_bind_text (stmt, 2, name);
    if (!_vm_catalog_step_done (self, stmt, _("Cannot add a rater"), error))
      return FALSE;
  }
  {
    g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
        "SELECT id FROM dataset_raters WHERE set_id = ?1 AND name = ?2", error);
    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, set_id);
    _vm_bind_text (stmt, 2, name);
    if (!_vm_catalog_query_int64 (self, stmt, &id, _("Cannot add a rater"), error))
      return FALSE;
  }
  if (out_id != NULL)
    *out_id = id;
  return TRUE;
}

GPtrArray *
vm_catalog_list_raters (VmCatalog  *self,
                        gint64      set_id,
                        GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) raters = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_rater_free);
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);

  stmt = _vm_catalog_prepare (self, "SELECT id, name FROM dataset_raters WHERE set_id = ?1 ORDER BY id", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, set_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmRater *rater = g_new0 (VmRater, 1);

      rater->id = sqlite3_column_int64 (stmt, 0);
      rater->set_id = set_id;
      rater->name = _vm_column_strdup (stmt, 1);
      g_ptr_array_add (raters, rater);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot list raters"), error);
      return NULL;
    }
  return g_steal_pointer (&raters);
}

/* ---- Queries ----------------------------------------------------------------- */

static int
window_cmp (gconstpointer a,
            gconstpointer b)
{
  const VmQueryWindow *x = a, *y = b;

  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  if (x->end_ns != y->end_ns)
    return x->end_ns < y->end_ns ? -1 : 1;
  return 0;
}

static int
score_cmp (gconstpointer a,
           gconstpointer b)
{
  const VmQueryScore *x = a, *y = b;

  if (x->clip != y->clip)
    return x->clip < y->clip ? -1 : 1;
  if (x->rater_id != y->rater_id)
    return x->rater_id < y->rater_id ? -1 : 1;
  return 0;
}

static int
id_cmp (gconstpointer a,
        gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : (x > y);
}

gboolean
vm_catalog_qid_is_used (VmCatalog  *self,
                        gint64      set_id,
                        gint64      qid,
                        gboolean   *out_used,
                        GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
      "SELECT EXISTS (SELECT 1 FROM dataset_queries WHERE set_id = ?1 AND qid = ?2) "
      "OR EXISTS (SELECT 1 FROM annotation_qids WHERE set_id = ?1 AND qid = ?2)", error);
  gint64 used = 0;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, set_id);
  sqlite3_bind_int64 (stmt, 2, qid);
  if (!_vm_catalog_query_int64 (self, stmt, &used, _("Cannot read a query"), error))
    return FALSE;
  *out_used = used != 0;
  return TRUE;
}

static gboolean
video_duration (VmCatalog  *self,
                gint64      video_id,
                gint64     *out_duration,
                GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
      "SELECT duration_ns FROM videos WHERE id = ?1", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *out_duration = sqlite3_column_int64 (stmt, 0);
      return TRUE;
    }
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No video with id %" PRId64 " in the catalog"), video_id);
      return FALSE;
    }
  return _vm_catalog_set_error (self, rc, _("Cannot read a video from the catalog"), error);
}

static gboolean
check_query (VmCatalog  *self,
             VmQuery    *query,
             GError    **error)
{
  gint64 duration = -1;

  if (query->text == NULL || *query->text == '\0')
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID, _("A query needs a text"));
      return FALSE;
    }
  if (query->id < 0 || query->qid < -1 || (query->id != 0 && query->qid < 0))
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid query id or qid (%" PRId64 ", %" PRId64 ")"),
                   query->id, query->qid);
      return FALSE;
    }
  if (!check_set (self, query->set_id, error) ||
      !video_duration (self, query->video_id, &duration, error))
    return FALSE;

  g_array_sort (query->windows, window_cmp);
  for (guint i = 0; i < query->windows->len; i++)
    {
      VmQueryWindow *w = &g_array_index (query->windows, VmQueryWindow, i);

      if (w->start_ns < 0 || w->end_ns <= w->start_ns)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("A window must start at 0 or later and end after it starts "
                         "(got %" PRId64 " to %" PRId64 " ns)"),
                       w->start_ns, w->end_ns);
          return FALSE;
        }
      if (duration >= 0 && w->end_ns > duration)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("A window ends at %" PRId64 " ns, after the end of the video "
                         "(%" PRId64 " ns)"), w->end_ns, duration);
          return FALSE;
        }
      if (i > 0 && window_cmp (w, w - 1) == 0)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("The same window is given twice"));
          return FALSE;
        }
    }

  g_array_sort (query->negatives, id_cmp);
  for (guint i = 0; i < query->negatives->len; i++)
    {
      gint64 v = g_array_index (query->negatives, gint64, i);

      if (v == query->video_id || (i > 0 && v == g_array_index (query->negatives, gint64, i - 1)))
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("Negatives must be distinct videos other than the query’s own"));
          return FALSE;
        }
      if (!_vm_catalog_video_exists (self, v, error))
        return FALSE;
    }

  g_array_sort (query->saliency, score_cmp);
  for (guint i = 0; i < query->saliency->len; i++)
    {
      VmQueryScore *s = &g_array_index (query->saliency, VmQueryScore, i);
      g_autoptr(VmCachedStmt) stmt = NULL;
      gint64 found = 0;

      if (s->score < 0 || s->score > 4)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("Saliency must be from 0 to 4 (got %d)"), s->score);
          return FALSE;
        }
      if (duration >= 0 && (gint64) s->clip * CLIP_NS >= duration)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("Clip %u is past the end of the video"), s->clip);
          return FALSE;
        }
      if (i > 0 && score_cmp (s, s - 1) == 0)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("A rater scores clip %u twice"), s->clip);
          return FALSE;
        }
      if (i > 0 && s->rater_id == (s - 1)->rater_id)
        continue;
      stmt = _vm_catalog_prepare (self, "SELECT 1 FROM dataset_raters WHERE id = ?1 AND set_id = ?2", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, s->rater_id);
      sqlite3_bind_int64 (stmt, 2, query->set_id);
      if (!_vm_catalog_query_int64 (self, stmt, &found, _("Cannot read a rater"), error))
        return FALSE;
      if (!found)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                       _("Rater %" PRId64 " is not a rater of the set"), s->rater_id);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
replace_parts (VmCatalog  *self,
               VmQuery    *query,
               gboolean    is_new,
               GError    **error)
{
  static const char * const clear[] = {
    "DELETE FROM dataset_windows WHERE query_id = ?1",
    "DELETE FROM dataset_negatives WHERE query_id = ?1",
    "DELETE FROM dataset_saliency WHERE query_id = ?1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (clear) && !is_new; i++)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self, clear[i], error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, query->id);
      if (!_vm_catalog_step_done (self, stmt, _("Cannot save a query"), error))
        return FALSE;
    }

  if (query->windows->len > 0)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
          "INSERT INTO dataset_windows (query_id, start_ns, end_ns) VALUES (?1, ?2, ?3)", error);
      if (stmt == NULL)
        return FALSE;
      for (guint i = 0; i < query->windows->len; i++)
        {
          VmQueryWindow *w = &g_array_index (query->windows, VmQueryWindow, i);

          sqlite3_reset (stmt);
          sqlite3_bind_int64 (stmt, 1, query->id);
          sqlite3_bind_int64 (stmt, 2, w->start_ns);
          sqlite3_bind_int64 (stmt, 3, w->end_ns);
          if (!_vm_catalog_step_done (self, stmt, _("Cannot save a query window"), error))
            return FALSE;
        }
    }
  if (query->negatives->len > 0)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
          "INSERT INTO dataset_negatives (query_id, video_id) VALUES (?1, ?2)", error);
      if (stmt == NULL)
        return FALSE;
      for (guint i = 0; i < query->negatives->len; i++)
        {
          sqlite3_reset (stmt);
          sqlite3_bind_int64 (stmt, 1, query->id);
          sqlite3_bind_int64 (stmt, 2, g_array_index (query->negatives, gint64, i));
          if (!_vm_catalog_step_done (self, stmt, _("Cannot save a negative"), error))
            return FALSE;
        }
    }
  if (query->saliency->len > 0)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
          "INSERT INTO dataset_saliency (query_id, clip, rater_id, score) VALUES (?1, ?2, ?3, ?4)", error);
      if (stmt == NULL)
        return FALSE;
      for (guint i = 0; i < query->saliency->len; i++)
        {
          VmQueryScore *s = &g_array_index (query->saliency, VmQueryScore, i);

          sqlite3_reset (stmt);
          sqlite3_bind_int64 (stmt, 1, query->id);
          sqlite3_bind_int64 (stmt, 2, s->clip);
          sqlite3_bind_int64 (stmt, 3, s->rater_id);
          sqlite3_bind_int (stmt, 4, s->score);
          if (!_vm_catalog_step_done (self, stmt, _("Cannot save a saliency score"), error))
            return FALSE;
        }
    }
  return TRUE;
}

static gboolean
save_query_in_transaction (VmCatalog  *self,
                           VmQuery    *query,
                           GError    **error)
{
  gint64 now = g_get_real_time ();
  gint64 qid = query->qid;
  gboolean is_new = query->id == 0;

  if (!check_query (self, query, error))
    return FALSE;

  if (query->id == 0)
    {
      if (qid < 0)
        {
          g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
              "SELECT next_qid FROM annotation_sets WHERE id = ?1", error);
          if (stmt == NULL)
            return FALSE;
          sqlite3_bind_int64 (stmt, 1, query->set_id);
          if (!_vm_catalog_query_int64 (self, stmt, &qid, _("Cannot save a query"), error))
            return FALSE;
        }
    }
  else
    {
      /* The qid of an update may change; the row must exist. */
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
          "SELECT 1 FROM dataset_queries WHERE id = ?1", error);
      gint64 found = 0;

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, query->id);
      if (!_vm_catalog_query_int64 (self, stmt, &found, _("Cannot save a query"), error))
        return FALSE;
      if (!found)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                       _("No query with id %" PRId64 " in the catalog"), query->id);
          return FALSE;
        }
    }

  /* The qid must be free in the set (queries other than this one, and
   * annotations). */
  {
    g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
        "SELECT EXISTS (SELECT 1 FROM dataset_queries WHERE set_id = ?1 AND qid = ?2 AND id != ?3) "
        "OR EXISTS (SELECT 1 FROM annotation_qids WHERE set_id = ?1 AND qid = ?2)", error);
    gint64 used = 0;

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, query->set_id);
    sqlite3_bind_int64 (stmt, 2, qid);
    sqlite3_bind_int64 (stmt, 3, query->id);
    if (!_vm_catalog_query_int64 (self, stmt, &used, _("Cannot save a query"), error))
      return FALSE;
    if (used)
      {
        g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                     _("qid %" PRId64 " is already used in the set"), qid);
        return FALSE;
      }
  }

  if (query->id == 0)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
          "INSERT INTO dataset_queries (set_id, qid, text, video_id, created_at, modified_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id", error);
      gint64 created = query->created_at > 0 ? query->created_at : now;

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, query->set_id);
      sqlite3_bind_int64 (stmt, 2, qid);
      _vm_bind_text (stmt, 3, query->text);
      sqlite3_bind_int64 (stmt, 4, query->video_id);
      sqlite3_bind_int64 (stmt, 5, created);
      sqlite3_bind_int64 (stmt, 6, query->modified_at > 0 ? query->modified_at : created);
      if (!_vm_catalog_query_int64 (self, stmt, &query->id, _("Cannot save a query"), error))
        return FALSE;
      query->created_at = created;
      if (query->modified_at <= 0)
        query->modified_at = created;
    }
  else
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
          "UPDATE dataset_queries SET set_id = ?1, qid = ?2, text = ?3, video_id = ?4, modified_at = ?5 "
          "WHERE id = ?6", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, query->set_id);
      sqlite3_bind_int64 (stmt, 2, qid);
      _vm_bind_text (stmt, 3, query->text);
      sqlite3_bind_int64 (stmt, 4, query->video_id);
      sqlite3_bind_int64 (stmt, 5, now);
      sqlite3_bind_int64 (stmt, 6, query->id);
      if (!_vm_catalog_step_done (self, stmt, _("Cannot save a query"), error))
        return FALSE;
      query->modified_at = now;
    }

  {
    g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
        "UPDATE annotation_sets SET next_qid = max (next_qid, ?2 + 1) WHERE id = ?1", error);
    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, query->set_id);
    sqlite3_bind_int64 (stmt, 2, qid);
    if (!_vm_catalog_step_done (self, stmt, _("Cannot save a query"), error))
      return FALSE;
  }

  if (!replace_parts (self, query, is_new, error))
    return FALSE;

  query->qid = qid;
  return TRUE;
}

gboolean
vm_catalog_save_query (VmCatalog  *self,
                       VmQuery    *query,
                       GError    **error)
{
  gint64 old_id, old_qid, old_created, old_modified;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (query != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  old_id = query->id;
  old_qid = query->qid;
  old_created = query->created_at;
  old_modified = query->modified_at;

  if (!vm_catalog_begin (self, error))
    return FALSE;
  if (!save_query_in_transaction (self, query, error))
    {
      vm_catalog_rollback (self);
      query->id = old_id;
      query->qid = old_qid;
      query->created_at = old_created;
      query->modified_at = old_modified;
      return FALSE;
    }
  if (!vm_catalog_commit (self, error))
    {
      query->id = old_id;
      query->qid = old_qid;
      query->created_at = old_created;
      query->modified_at = old_modified;
      return FALSE;
    }
  return TRUE;
}

#define QUERY_COLUMNS "id, set_id, qid, text, video_id, created_at, modified_at"

static VmQuery *
query_from_row (sqlite3_stmt *stmt)
{
  VmQuery *query = vm_query_new ();

  query->id = sqlite3_column_int64 (stmt, 0);
  query->set_id = sqlite3_column_int64 (stmt, 1);
  query->qid = sqlite3_column_int64 (stmt, 2);
  query->text = _vm_column_strdup (stmt, 3);
  query->video_id = sqlite3_column_int64 (stmt, 4);
  query->created_at = sqlite3_column_int64 (stmt, 5);
  query->modified_at = sqlite3_column_int64 (stmt, 6);
  return query;
}

/* Fills the windows, negatives and saliency of @queries (by id). */
static gboolean
load_parts (VmCatalog  *self,
            GPtrArray  *queries,
            gint64      set_id,
            gint64      query_id,
            GError    **error)
{
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  static const char * const sql[] = {
    "SELECT w.query_id, w.start_ns, w.end_ns FROM dataset_windows AS w "
    "JOIN dataset_queries AS q ON q.id = w.query_id "
    "WHERE (?1 = 0 OR q.set_id = ?1) AND (?2 = 0 OR q.id = ?2) ORDER BY w.query_id, w.start_ns, w.end_ns",
    "SELECT n.query_id, n.video_id, 0 FROM dataset_negatives AS n "
    "JOIN dataset_queries AS q ON q.id = n.query_id "
    "WHERE (?1 = 0 OR q.set_id = ?1) AND (?2 = 0 OR q.id = ?2) ORDER BY n.query_id, n.video_id",
    "SELECT s.query_id, s.clip, s.rater_id, s.score FROM dataset_saliency AS s "
    "JOIN dataset_queries AS q ON q.id = s.query_id "
    "WHERE (?1 = 0 OR q.set_id = ?1) AND (?2 = 0 OR q.id = ?2) ORDER BY s.query_id, s.clip, s.rater_id",
  };

  for (guint i = 0; i < queries->len; i++)
    {
      VmQuery *q = g_ptr_array_index (queries, i);
      g_hash_table_insert (by_id, &q->id, q);
    }

  for (guint k = 0; k < G_N_ELEMENTS (sql); k++)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self, sql[k], error);
      int rc;

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, set_id);
      sqlite3_bind_int64 (stmt, 2, query_id);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          gint64 qid = sqlite3_column_int64 (stmt, 0);
          VmQuery *q = g_hash_table_lookup (by_id, &qid);

          if (q == NULL)
            continue;
          if (k == 0)
            {
              VmQueryWindow w = { sqlite3_column_int64 (stmt, 1), sqlite3_column_int64 (stmt, 2) };
              g_array_append_val (q->windows, w);
            }
          else if (k == 1)
            {
              gint64 v = sqlite3_column_int64 (stmt, 1);
              g_array_append_val (q->negatives, v);
            }
          else
            {
              VmQueryScore s = { (guint) sqlite3_column_int64 (stmt, 1), sqlite3_column_int64 (stmt, 2),
                                 sqlite3_column_int (stmt, 3) };
              g_array_append_val (q->saliency, s);
            }
        }
      if (rc != SQLITE_DONE)
        return _vm_catalog_set_error (self, rc, _("Cannot read queries"), error);
    }
  return TRUE;
}

static GPtrArray *
select_queries (VmCatalog  *self,
                gint64      set_id,
                gint64      id,
                gint64      qid,
                GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self,
      "SELECT " QUERY_COLUMNS " FROM dataset_queries "
      "WHERE (?1 = 0 OR set_id = ?1) AND (?2 = 0 OR id = ?2) AND (?3 < 0 OR qid = ?3) ORDER BY set_id, qid",
      error);
  g_autoptr(GPtrArray) queries = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_query_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, set_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_int64 (stmt, 3, qid);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (queries, query_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read queries"), error);
      return NULL;
    }
  g_clear_pointer (&stmt, _vm_cached_stmt_release);
  if (queries->len > 0 &&
      !load_parts (self, queries, set_id, queries->len == 1 ? ((VmQuery *) queries->pdata[0])->id : 0, error))
    return NULL;
  return g_steal_pointer (&queries);
}

VmQuery *
vm_catalog_get_query (VmCatalog  *self,
                      gint64      id,
                      GError    **error)
{
  g_autoptr(GPtrArray) queries = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);

  if (id <= 0 || (queries = select_queries (self, 0, id, -1, error)) == NULL || queries->len == 0)
    {
      if (error == NULL || *error == NULL)
        g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                     _("No query with id %" PRId64 " in the catalog"), id);
      return NULL;
    }
  return g_ptr_array_steal_index (queries, 0);
}

VmQuery *
vm_catalog_find_query (VmCatalog  *self,
                       gint64      set_id,
                       gint64      qid,
                       GError    **error)
{
  g_autoptr(GPtrArray) queries = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);

  if (set_id <= 0 || qid < 0)
    return NULL;
  queries = select_queries (self, set_id, 0, qid, error);
  if (queries == NULL || queries->len == 0)
    return NULL;
  return g_ptr_array_steal_index (queries, 0);
}

GPtrArray *
vm_catalog_list_queries (VmCatalog  *self,
                         gint64      set_id,
                         GError    **error)
{
  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);

  if (set_id <= 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid annotation set id %" PRId64), set_id);
      return NULL;
    }
  return select_queries (self, set_id, 0, -1, error);
}

gboolean
vm_catalog_delete_query (VmCatalog  *self,
                         gint64      id,
                         GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);

  stmt = _vm_catalog_prepare (self, "DELETE FROM dataset_queries WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  if (!_vm_catalog_step_done (self, stmt, _("Cannot delete a query"), error))
    return FALSE;
  if (sqlite3_changes (_vm_catalog_get_db (self)) == 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No query with id %" PRId64 " in the catalog"), id);
      return FALSE;
    }
  return TRUE;
}

gboolean
vm_catalog_clear_queries (VmCatalog  *self,
                          gint64      set_id,
                          GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);

  stmt = _vm_catalog_prepare (self, "DELETE FROM dataset_queries WHERE set_id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, set_id);
  return _vm_catalog_step_done (self, stmt, _("Cannot delete queries"), error);
}

GHashTable *
vm_catalog_get_annotation_qids (VmCatalog  *self,
                                gint64      set_id,
                                GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);

  stmt = _vm_catalog_prepare (self, "SELECT annotation_id, qid FROM annotation_qids WHERE set_id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, set_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 a = sqlite3_column_int64 (stmt, 0), q = sqlite3_column_int64 (stmt, 1);
      g_hash_table_insert (table, g_memdup2 (&a, sizeof a), g_memdup2 (&q, sizeof q));
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read annotation qids"), error);
      return NULL;
    }
  return g_steal_pointer (&table);
}
