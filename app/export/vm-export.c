/* vm-export.c — catalog ⇄ dataset files, and evaluation of a set.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "export/vm-export.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/vm-util.h"

#define TOLERANCE_NS (G_GINT64_CONSTANT (500000000))
#define MAX_MAP_BYTES (64 * 1024 * 1024)

gboolean
vm_video_id_mode_from_string (const char    *text,
                              VmVideoIdMode *out_mode)
{
  if (g_strcmp0 (text, "name") == 0)
    *out_mode = VM_VIDEO_ID_NAME;
  else if (g_strcmp0 (text, "relative") == 0)
    *out_mode = VM_VIDEO_ID_RELATIVE;
  else if (g_strcmp0 (text, "path") == 0)
    *out_mode = VM_VIDEO_ID_PATH;
  else
    return FALSE;
  return TRUE;
}

GHashTable *
vm_video_map_load (const char  *file,
                   GError     **error)
{
  g_autofree char *data = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GHashTable) map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) local = NULL;
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  GStatBuf st;
  gsize length;
  JsonNode *root;
  JsonObject *o;
  g_autoptr(GList) members = NULL;

  if (g_stat (file, &st) == 0 && st.st_size > MAX_MAP_BYTES)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_TOO_LARGE,
                   _("The mapping file %s is larger than %d bytes"), file, MAX_MAP_BYTES);
      return NULL;
    }
  if (!g_file_get_contents (file, &data, &length, error))
    return NULL;
  if (!vm_json_prescan (data, length, 4, &local))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("The mapping file %s: %s"), file, local->message);
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, length, &local))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("The mapping file %s is not valid JSON: %s"), file, local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("The mapping file %s must be a JSON object of path → id"), file);
      return NULL;
    }
  o = json_node_get_object (root);
  members = json_object_get_members (o);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (o, l->data);
      const char *id;

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING ||
          *(id = json_node_get_string (value)) == '\0')
        {
          g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                       _("The mapping file %s: the id of “%s” is not a non-empty string"),
                       file, (char *) l->data);
          return NULL;
        }
      if (g_hash_table_contains (ids, id))
        {
          g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                       _("The mapping file %s gives the id “%s” to two videos"), file, id);
          return NULL;
        }
      g_hash_table_insert (map, g_strdup (l->data), g_strdup (id));
      g_hash_table_add (ids, (char *) json_node_get_string (value));
    }
  return g_steal_pointer (&map);
}

/* ---- Naming ------------------------------------------------------------------ */

static char *
file_stem (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_steal_pointer (&base);
}

/* folder id → folder path */
static GHashTable *
folder_table (VmCatalog  *catalog,
              GError    **error)
{
  g_autoptr(GPtrArray) folders = vm_catalog_list_folders (catalog, error);
  GHashTable *table;

  if (folders == NULL)
    return NULL;
  table = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  for (guint i = 0; i < folders->len; i++)
    {
      VmFolder *f = g_ptr_array_index (folders, i);
      g_hash_table_insert (table, g_memdup2 (&f->id, sizeof f->id), g_strdup (f->path));
    }
  return table;
}

static char *
relative_path (GHashTable    *folders,
               const VmVideo *video)
{
  const char *folder = video->folder_id ? g_hash_table_lookup (folders, &video->folder_id) : NULL;
  gsize n;

  if (folder == NULL)
    return NULL;
  n = strlen (folder);
  if (strncmp (video->path, folder, n) == 0 && video->path[n] == '/')
    return g_strdup (video->path + n + 1);
  return NULL;
}

static char *
name_video (const VmVideoNaming *naming,
            GHashTable          *folders,
            const VmVideo       *video)
{
  switch (naming->id_mode)
    {
    case VM_VIDEO_ID_RELATIVE:
      {
        char *rel = relative_path (folders, video);
        return rel ? rel : g_strdup (video->path);
      }
    case VM_VIDEO_ID_PATH:
      return g_strdup (video->path);
    case VM_VIDEO_ID_MAP:
      return naming->map ? g_strdup (g_hash_table_lookup (naming->map, video->path)) : NULL;
    case VM_VIDEO_ID_NAME:
    default:
      return file_stem (video->path);
    }
}

/* ---- Loading a set -------------------------------------------------------------- */

typedef struct {
  VmCatalog           *catalog;
  const VmVideoNaming *naming;
  VmDataset           *dataset;
  GHashTable          *folders;     /* folder id → path */
  GHashTable          *by_id;       /* video id → VmDatasetVideo* or NULL when unnamed */
  GPtrArray           *issues;
} Loader;

/* Returns the dataset video for catalog video @id, NULL (with an issue or an
 * error) when it has no name. */
static VmDatasetVideo *
loader_video (Loader   *l,
              gint64    id,
              gboolean *out_failed,
              GError  **error)
{
  g_autoptr(VmVideo) video = NULL;
  g_autofree char *vid = NULL;
  VmDatasetVideo *v;

  if (g_hash_table_lookup_extended (l->by_id, &id, NULL, (gpointer *) &v))
    return v;

  video = vm_catalog_get_video (l->catalog, id, error);
  if (video == NULL)
    {
      *out_failed = TRUE;
      return NULL;
    }
  vid = name_video (l->naming, l->folders, video);
  if (vid == NULL)
    {
      vm_issues_add (l->issues, video->path, "%s", _("not in the mapping file; its queries are left out"));
      g_hash_table_insert (l->by_id, g_memdup2 (&id, sizeof id), NULL);
      return NULL;
    }
  v = vm_dataset_lookup_video (l->dataset, vid);
  if (v != NULL)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_UNREPRESENTABLE,
                   _("%s and %s would both be named “%s”; choose another --video-id or a mapping file"),
                   v->path, video->path, vid);
      *out_failed = TRUE;
      return NULL;
    }
  v = vm_dataset_add_video (l->dataset, vid);
  v->path = g_strdup (video->path);
  v->video_id = id;
  v->duration_ns = video->duration_ns;
  if (video->fps_num > 0 && video->fps_den > 0)
    {
      v->fps_num = video->fps_num;
      v->fps_den = video->fps_den;
    }
  g_hash_table_insert (l->by_id, g_memdup2 (&id, sizeof id), v);
  return v;
}

static int
query_qid_cmp (gconstpointer a,
               gconstpointer b)
{
  const VmDatasetQuery *x = *(VmDatasetQuery * const *) a;
  const VmDatasetQuery *y = *(VmDatasetQuery * const *) b;

  return x->qid < y->qid ? -1 : (x->qid > y->qid);
}

VmDataset *
vm_export_load_set (VmCatalog            *catalog,
                    const char           *set_name,
                    const VmVideoNaming  *naming,
                    GPtrArray            *issues,
                    GError              **error)
{
  g_autoptr(VmDataset) dataset = vm_dataset_new ();
  g_autoptr(GHashTable) folders = NULL;
  g_autoptr(GHashTable) by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) rater_index = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GPtrArray) raters = NULL;
  g_autoptr(GPtrArray) queries = NULL;
  g_autoptr(GPtrArray) annotations = NULL;
  g_autoptr(GHashTable) annotation_qids = NULL;
  g_autoptr(GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) local = NULL;
  gboolean failed = FALSE;
  gint64 set_id = 0;
  Loader l;

  if (!vm_catalog_find_annotation_set (catalog, set_name, &set_id, &local))
    {
      if (g_error_matches (local, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND))
        g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_NOT_FOUND,
                     _("There is no annotation set named “%s”"), set_name);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }

  if ((folders = folder_table (catalog, error)) == NULL ||
      (raters = vm_catalog_list_raters (catalog, set_id, error)) == NULL ||
      (queries = vm_catalog_list_queries (catalog, set_id, error)) == NULL ||
      (annotations = vm_catalog_list_annotations (catalog, set_id, 0, error)) == NULL ||
      (annotation_qids = vm_catalog_get_annotation_qids (catalog, set_id, error)) == NULL)
    return NULL;

  l.catalog = catalog;
  l.naming = naming;
  l.dataset = dataset;
  l.folders = folders;
  l.by_id = by_id;
  l.issues = issues;

  for (guint i = 0; i < raters->len; i++)
    {
      VmRater *r = g_ptr_array_index (raters, i);
      guint index = vm_dataset_add_rater (dataset, r->name);
      g_hash_table_insert (rater_index, g_memdup2 (&r->id, sizeof r->id), GUINT_TO_POINTER (index));
    }

  for (guint i = 0; i < queries->len; i++)
    {
      VmQuery *q = g_ptr_array_index (queries, i);
      VmDatasetVideo *v = loader_video (&l, q->video_id, &failed, error);
      g_autoptr(VmDatasetQuery) dq = NULL;
      gboolean skip = FALSE;

      if (failed)
        return NULL;
      if (v == NULL)
        continue;
      dq = vm_dataset_query_new ();
      dq->qid = q->qid;
      dq->text = g_strdup (q->text);
      dq->vid = g_strdup (v->vid);
      for (guint j = 0; j < q->windows->len; j++)
        {
          VmQueryWindow *w = &g_array_index (q->windows, VmQueryWindow, j);
          VmSpan span = { w->start_ns, w->end_ns };
          g_array_append_val (dq->windows, span);
        }
      for (guint j = 0; j < q->negatives->len && !skip; j++)
        {
          VmDatasetVideo *n = loader_video (&l, g_array_index (q->negatives, gint64, j), &failed, error);

          if (failed)
            return NULL;
          if (n == NULL)
            skip = TRUE;
          else
            g_ptr_array_add (dq->negatives, g_strdup (n->vid));
        }
      if (skip)
        continue;
      for (guint j = 0; j < q->saliency->len; j++)
        {
          VmQueryScore *s = &g_array_index (q->saliency, VmQueryScore, j);
          gpointer index;
          VmClipScore cs;

          if (!g_hash_table_lookup_extended (rater_index, &s->rater_id, NULL, &index))
            continue;
          cs.clip = s->clip;
          cs.rater = GPOINTER_TO_UINT (index);
          cs.score = s->score;
          g_array_append_val (dq->saliency, cs);
        }
      vm_dataset_query_normalize (dq);
      vm_dataset_add_query (dataset, g_steal_pointer (&dq));
    }

  /* Annotations with text: one query per (video, text). */
  for (guint i = 0; i < annotations->len; i++)
    {
      VmAnnotation *a = g_ptr_array_index (annotations, i);
      g_autofree char *text = NULL;
      g_autofree char *key = NULL;
      gint64 *qid = g_hash_table_lookup (annotation_qids, &a->id);
      VmDatasetVideo *v;
      VmDatasetQuery *dq;
      VmSpan span = { a->start_ns, a->end_ns };

      if (a->text == NULL || qid == NULL)
        continue;
      text = g_strstrip (g_strdup (a->text));
      if (*text == '\0')
        continue;
      v = loader_video (&l, a->video_id, &failed, error);
      if (failed)
        return NULL;
      if (v == NULL)
        continue;
      if (v->duration_ns >= 0 && span.end_ns > v->duration_ns)
        span.end_ns = v->duration_ns;
      if (span.end_ns <= span.start_ns)
        continue;
      key = g_strdup_printf ("%" G_GINT64_FORMAT "\x1f%s", a->video_id, text);
      dq = g_hash_table_lookup (groups, key);
      if (dq == NULL)
        {
          dq = vm_dataset_query_new ();
          dq->qid = *qid;
          dq->text = g_steal_pointer (&text);
          dq->vid = g_strdup (v->vid);
          vm_dataset_add_query (dataset, dq);
          g_hash_table_insert (groups, g_steal_pointer (&key), dq);
        }
      dq->qid = MIN (dq->qid, *qid);
      {
        gboolean dup = FALSE;
        for (guint j = 0; j < dq->windows->len && !dup; j++)
          dup = memcmp (&g_array_index (dq->windows, VmSpan, j), &span, sizeof span) == 0;
        if (!dup)
          g_array_append_val (dq->windows, span);
      }
      /* The segment's clip scores, as those of the set's annotation rater. */
      for (guint j = 0; a->clips != NULL && j < a->clips->len; j++)
        {
          const VmClipSaliency *c = &g_array_index (a->clips, VmClipSaliency, j);
          gint64 clip_start = (gint64) c->clip * VM_DATASET_CLIP_NS;
          gboolean merged = FALSE;
          VmClipScore cs;

          if (clip_start >= span.end_ns || clip_start + VM_DATASET_CLIP_NS <= span.start_ns)
            continue;
          cs.clip = c->clip;
          cs.rater = vm_dataset_add_rater (dataset, VM_EXPORT_ANNOTATION_RATER);
          cs.score = c->score;
          for (guint k = 0; k < dq->saliency->len && !merged; k++)
            {
              VmClipScore *o = &g_array_index (dq->saliency, VmClipScore, k);

              if (o->clip == cs.clip && o->rater == cs.rater)
                {
                  o->score = MAX (o->score, cs.score);
                  merged = TRUE;
                }
            }
          if (!merged)
            g_array_append_val (dq->saliency, cs);
        }
      vm_dataset_query_normalize (dq);
    }

  g_ptr_array_sort (dataset->queries, query_qid_cmp);
  return g_steal_pointer (&dataset);
}

/* ---- Export ------------------------------------------------------------------------ */

void
vm_export_options_init (VmExportOptions *options)
{
  memset (options, 0, sizeof *options);
  options->format = VM_FORMAT_QVHIGHLIGHTS;
  options->naming.id_mode = VM_VIDEO_ID_NAME;
  options->fractions[0] = 0.8;
  options->fractions[1] = 0.1;
  options->fractions[2] = 0.1;
}

GPtrArray *
vm_export_set (VmCatalog              *catalog,
               const char             *set_name,
               const VmExportOptions  *options,
               const char             *path,
               GPtrArray              *issues,
               guint                  *out_n_queries,
               GError                **error)
{
  g_autoptr(VmDataset) dataset = NULL;
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (g_free);

  if (!vm_format_can_export (options->format))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_FORMAT,
                   _("Vidmark reads the %s format but does not write it"),
                   vm_format_to_string (options->format));
      return NULL;
    }

  dataset = vm_export_load_set (catalog, set_name, &options->naming, issues, error);
  if (dataset == NULL)
    return NULL;
  if (out_n_queries != NULL)
    *out_n_queries = dataset->queries->len;

  if (!options->split)
    {
      g_autofree char *text = vm_dataset_write (options->format, dataset, set_name, issues, error);

      if (text == NULL || !vm_write_file_atomic (path, text, -1, error))
        return NULL;
      g_ptr_array_add (written, g_strdup (path));
      return g_steal_pointer (&written);
    }

  {
    g_autoptr(GHashTable) assignment = vm_dataset_split (dataset, options->fractions, options->seed);

    for (VmSplit s = VM_SPLIT_TRAIN; s <= VM_SPLIT_TEST; s++)
      {
        g_autoptr(VmDataset) subset = vm_dataset_subset (dataset, assignment, s);
        g_autofree char *name = vm_split_file_name (path, s);
        g_autofree char *text = vm_dataset_write (options->format, subset, set_name, issues, error);

        if (text == NULL || !vm_write_file_atomic (name, text, -1, error))
          return NULL;
        g_ptr_array_add (written, g_steal_pointer (&name));
      }
  }
  return g_steal_pointer (&written);
}

/* ---- Import ------------------------------------------------------------------------ */

void
vm_import_options_init (VmImportOptions *options)
{
  memset (options, 0, sizeof *options);
  options->format = VM_FORMAT_QVHIGHLIGHTS;
  options->naming.id_mode = VM_VIDEO_ID_NAME;
  vm_read_limits_init (&options->limits);
}

typedef struct {
  GHashTable *by_path;    /* each: key → GPtrArray of VmVideo* (not owned) */
  GHashTable *by_rel;
  GHashTable *by_base;
  GHashTable *by_stem;
  GHashTable *by_map_id;  /* id → path */
  GPtrArray  *videos;
} Matcher;

static void
index_add (GHashTable *table,
           char       *key,
           VmVideo    *video)
{
  GPtrArray *list;

  if (key == NULL)
    return;
  list = g_hash_table_lookup (table, key);
  if (list == NULL)
    {
      list = g_ptr_array_new ();
      g_hash_table_insert (table, key, list);
    }
  else
    g_free (key);
  g_ptr_array_add (list, video);
}

static GHashTable *
index_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
}

static void
matcher_clear (Matcher *m)
{
  g_clear_pointer (&m->by_path, g_hash_table_unref);
  g_clear_pointer (&m->by_rel, g_hash_table_unref);
  g_clear_pointer (&m->by_base, g_hash_table_unref);
  g_clear_pointer (&m->by_stem, g_hash_table_unref);
  g_clear_pointer (&m->by_map_id, g_hash_table_unref);
  g_clear_pointer (&m->videos, g_ptr_array_unref);
}

static gboolean
matcher_init (Matcher              *m,
              VmCatalog            *catalog,
              const VmVideoNaming  *naming,
              GError              **error)
{
  g_autoptr(GHashTable) folders = folder_table (catalog, error);

  memset (m, 0, sizeof *m);
  if (folders == NULL || (m->videos = vm_catalog_list_videos (catalog, 0, error)) == NULL)
    return FALSE;
  m->by_path = index_new ();
  m->by_rel = index_new ();
  m->by_base = index_new ();
  m->by_stem = index_new ();
  m->by_map_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < m->videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (m->videos, i);

      index_add (m->by_path, g_strdup (v->path), v);
      index_add (m->by_rel, relative_path (folders, v), v);
      index_add (m->by_base, g_path_get_basename (v->path), v);
      index_add (m->by_stem, file_stem (v->path), v);
    }
  if (naming->id_mode == VM_VIDEO_ID_MAP && naming->map != NULL)
    {
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, naming->map);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (m->by_map_id, g_strdup (value), g_strdup (key));
    }
  return TRUE;
}

/* The catalog video for @vid, or NULL with @reason. */
static VmVideo *
matcher_find (Matcher     *m,
              const char  *vid,
              const char  *file_path,
              char       **reason)
{
  GHashTable *tables[4] = { m->by_path, m->by_rel, m->by_base, m->by_stem };
  const char *mapped = g_hash_table_lookup (m->by_map_id, vid);

  if (mapped != NULL || file_path != NULL)
    {
      GPtrArray *list = g_hash_table_lookup (m->by_path, mapped ? mapped : file_path);

      if (list != NULL)
        return g_ptr_array_index (list, 0);
      if (mapped != NULL)
        {
          *reason = g_strdup_printf (_("the mapping names %s for “%s”, which is not in the catalog"), mapped, vid);
          return NULL;
        }
    }
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      GPtrArray *list = g_hash_table_lookup (tables[t], vid);

      if (list == NULL)
        continue;
      if (list->len > 1)
        {
          *reason = g_strdup_printf (_("“%s” matches %u videos (%s, %s…); use a mapping file"), vid, list->len,
                                     ((VmVideo *) list->pdata[0])->path, ((VmVideo *) list->pdata[1])->path);
          return NULL;
        }
      return g_ptr_array_index (list, 0);
    }
  *reason = g_strdup_printf (_("no video in the catalog matches “%s”"), vid);
  return NULL;
}

static int
issue_cmp (gconstpointer a,
           gconstpointer b)
{
  const VmIssue *x = *(VmIssue * const *) a, *y = *(VmIssue * const *) b;
  g_autofree char *kx = g_utf8_collate_key_for_filename (x->where, -1);
  g_autofree char *ky = g_utf8_collate_key_for_filename (y->where, -1);

  return strcmp (kx, ky);
}

/* Issues found while reading and while matching, in the order of the file
 * ("line 2" before "line 10"); a stable sort. */
static void
sort_issues (GPtrArray *issues,
             guint      from)
{
  g_autoptr(GPtrArray) tail = g_ptr_array_new ();

  for (guint i = from; i < issues->len; i++)
    g_ptr_array_add (tail, issues->pdata[i]);
  g_ptr_array_sort (tail, issue_cmp);
  for (guint i = 0; i < tail->len; i++)
    issues->pdata[from + i] = tail->pdata[i];
}

gboolean
vm_import_data (VmCatalog              *catalog,
                const char             *set_name,
                const VmImportOptions  *options,
                const char             *data,
                gsize                   length,
                GPtrArray              *issues,
                VmImportReport         *out_report,
                GError                **error)
{
  g_autoptr(VmDataset) dataset = NULL;
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_query_free);
  g_autoptr(GPtrArray) accepted_where = g_ptr_array_new ();
  g_autoptr(GArray) rater_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  VmImportReport report = { 0 };
  guint n_before = issues ? issues->len : 0;
  Matcher m;
  gint64 set_id = 0;
  /* DiDeMo's last 5-second chunk runs past the end of most videos. */
  gint64 tolerance = options->format == VM_FORMAT_DIDEMO ? 5 * G_GINT64_CONSTANT (1000000000) : TOLERANCE_NS;

  if (set_name == NULL || *set_name == '\0')
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID, _("The set needs a name"));
      return FALSE;
    }

  dataset = vm_dataset_read (options->format, data, length, &options->limits, issues, error);
  if (dataset == NULL)
    return FALSE;
  report.n_read = dataset->queries->len;

  if (!matcher_init (&m, catalog, &options->naming, error))
    {
      matcher_clear (&m);
      return FALSE;
    }

  /* Resolve videos and check every query against the catalog. */
  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *dq = g_ptr_array_index (dataset->queries, i);
      VmDatasetVideo *dv = vm_dataset_lookup_video (dataset, dq->vid);
      g_autoptr(VmQuery) q = vm_query_new ();
      g_autofree char *reason = NULL;
      VmVideo *video = matcher_find (&m, dq->vid, dv ? dv->path : NULL, &reason);
      gint64 duration;
      gboolean ok = TRUE;

      if (video == NULL)
        {
          vm_issues_add (issues, dq->where, "%s", reason);
          continue;
        }
      duration = video->duration_ns;
      q->qid = dq->qid;
      q->text = g_strdup (dq->text);
      q->video_id = video->id;
      for (guint j = 0; j < dq->windows->len && ok; j++)
        {
          VmSpan *s = &g_array_index (dq->windows, VmSpan, j);
          VmQueryWindow w = { s->start_ns, s->end_ns };
          gboolean dup = FALSE;

          if (duration >= 0 && (w.start_ns >= duration || w.end_ns > duration + tolerance))
            {
              g_autoptr(GString) a = g_string_new (NULL);

              vm_append_seconds (a, w.start_ns);
              g_string_append (a, "–");
              vm_append_seconds (a, w.end_ns);
              g_string_append (a, _(" s is outside the video, which lasts "));
              vm_append_seconds (a, duration);
              g_string_append (a, " s");
              vm_issues_add (issues, dq->where, _("window %s"), a->str);
              ok = FALSE;
              break;
            }
          if (duration >= 0)
            w.end_ns = MIN (w.end_ns, duration);
          for (guint k = 0; k < q->windows->len && !dup; k++)
            dup = memcmp (&g_array_index (q->windows, VmQueryWindow, k), &w, sizeof w) == 0;
          if (!dup)
            g_array_append_val (q->windows, w);
        }
      for (guint j = 0; j < dq->saliency->len && ok; j++)
        {
          VmClipScore *s = &g_array_index (dq->saliency, VmClipScore, j);

          if (duration >= 0 && (gint64) s->clip * VM_DATASET_CLIP_NS >= duration)
            {
              vm_issues_add (issues, dq->where, _("saliency clip %u is past the end of the video"), s->clip);
              ok = FALSE;
            }
        }
      for (guint j = 0; j < dq->negatives->len && ok; j++)
        {
          const char *nvid = g_ptr_array_index (dq->negatives, j);
          VmDatasetVideo *nv = vm_dataset_lookup_video (dataset, nvid);
          g_autofree char *why = NULL;
          VmVideo *neg = matcher_find (&m, nvid, nv ? nv->path : NULL, &why);
          gboolean dup = FALSE;

          if (neg == NULL)
            {
              vm_issues_add (issues, dq->where, _("negative: %s"), why);
              ok = FALSE;
              break;
            }
          if (neg->id == video->id)
            {
              vm_issues_add (issues, dq->where, "%s", _("a negative is the query’s own video"));
              ok = FALSE;
              break;
            }
          for (guint k = 0; k < q->negatives->len && !dup; k++)
            dup = g_array_index (q->negatives, gint64, k) == neg->id;
          if (!dup)
            g_array_append_val (q->negatives, neg->id);
        }
      if (!ok)
        continue;
      /* The saliency keeps rater indices until the set's raters exist. */
      for (guint j = 0; j < dq->saliency->len; j++)
        {
          VmClipScore *s = &g_array_index (dq->saliency, VmClipScore, j);
          VmQueryScore qs = { s->clip, s->rater, s->score };
          g_array_append_val (q->saliency, qs);
        }
      g_ptr_array_add (accepted, g_steal_pointer (&q));
      g_ptr_array_add (accepted_where, dq->where);
    }
  matcher_clear (&m);

  /* One transaction for the lot. */
  if (!vm_catalog_begin (catalog, error))
    return FALSE;
  if (!vm_catalog_ensure_annotation_set (catalog, set_name, &set_id, error))
    goto fail;
  if (options->replace && !vm_catalog_clear_queries (catalog, set_id, error))
    goto fail;
  for (guint i = 0; i < dataset->raters->len; i++)
    {
      gint64 id = 0;

      if (!vm_catalog_ensure_rater (catalog, set_id, g_ptr_array_index (dataset->raters, i), &id, error))
        goto fail;
      g_array_append_val (rater_ids, id);
    }
  for (guint i = 0; i < accepted->len; i++)
    {
      VmQuery *q = g_ptr_array_index (accepted, i);

      q->set_id = set_id;
      for (guint j = 0; j < q->saliency->len; j++)
        {
          VmQueryScore *s = &g_array_index (q->saliency, VmQueryScore, j);
          s->rater_id = g_array_index (rater_ids, gint64, s->rater_id);
        }
      if (q->qid >= 0)
        {
          gboolean used = FALSE;

          if (!vm_catalog_qid_is_used (catalog, set_id, q->qid, &used, error))
            goto fail;
          if (used)
            {
              vm_issues_add (issues, g_ptr_array_index (accepted_where, i), "%s",
                             _("the set already has this qid (use --replace to replace the set’s queries)"));
              continue;
            }
        }
      if (!vm_catalog_save_query (catalog, q, error))
        goto fail;
      report.n_imported++;
    }
  if (options->dry_run)
    vm_catalog_rollback (catalog);
  else if (!vm_catalog_commit (catalog, error))
    return FALSE;

  report.n_rejected = issues ? issues->len - n_before : 0;
  if (issues != NULL)
    sort_issues (issues, n_before);
  if (out_report != NULL)
    *out_report = report;
  return TRUE;

fail:
  vm_catalog_rollback (catalog);
  return FALSE;
}

gboolean
vm_import_file (VmCatalog              *catalog,
                const char             *set_name,
                const VmImportOptions  *options,
                const char             *file,
                GPtrArray              *issues,
                VmImportReport         *out_report,
                GError                **error)
{
  g_autofree char *data = NULL;
  GStatBuf st;
  gsize length;

  if (g_stat (file, &st) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot read %s: %s"), file, g_strerror (errno));
      return FALSE;
    }
  if ((guint64) st.st_size > options->limits.max_bytes)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_TOO_LARGE,
                   _("%s is larger than %zu bytes"), file, options->limits.max_bytes);
      return FALSE;
    }
  if (!g_file_get_contents (file, &data, &length, error))
    return FALSE;
  return vm_import_data (catalog, set_name, options, data, length, issues, out_report, error);
}

/* ---- Evaluation ------------------------------------------------------------------- */

/* Lower-case words of @text (letters and digits), as a set. */
static GHashTable *
word_set (const char *text)
{
  GHashTable *words = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *lower = g_utf8_strdown (text, -1);
  GString *word = g_string_new (NULL);

  for (const char *p = lower; ; p = g_utf8_next_char (p))
    {
      gunichar c = *p ? g_utf8_get_char (p) : 0;

      if (c != 0 && g_unichar_isalnum (c))
        g_string_append_unichar (word, c);
      else
        {
          if (word->len > 0)
            g_hash_table_add (words, g_strdup (word->str));
          g_string_truncate (word, 0);
        }
      if (c == 0)
        break;
    }
  g_string_free (word, TRUE);
  return words;
}

typedef struct {
  double  score;
  guint   index;
  gint64  start_ns;
  gint64  end_ns;
} Candidate;

static int
candidate_cmp (gconstpointer a,
               gconstpointer b)
{
  const Candidate *x = a, *y = b;

  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

gboolean
vm_eval_text_baseline (VmCatalog   *catalog,
                       VmDataset   *dataset,
                       GHashTable  *truth,
                       GError     **error)
{
  g_autoptr(GHashTable) segments = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                          (GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *dq = g_ptr_array_index (dataset->queries, i);
      VmDatasetVideo *v = vm_dataset_lookup_video (dataset, dq->vid);
      VmEvalQuery *q = g_hash_table_lookup (truth, &dq->qid);
      g_autoptr(GHashTable) query_words = NULL;
      g_autoptr(GArray) candidates = NULL;
      GPtrArray *list;
      guint n_clips = 0;

      if (q == NULL || v == NULL)
        continue;
      list = g_hash_table_lookup (segments, &v->video_id);
      if (list == NULL)
        {
          list = vm_catalog_list_text_segments (catalog, v->video_id, error);
          if (list == NULL)
            return FALSE;
          g_hash_table_insert (segments, g_memdup2 (&v->video_id, sizeof (gint64)), list);
        }

      query_words = word_set (dq->text);
      candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
      for (guint j = 0; j < list->len; j++)
        {
          VmTextSegment *seg = g_ptr_array_index (list, j);
          g_autoptr(GHashTable) words = NULL;
          GHashTableIter iter;
          gpointer key;
          guint hits = 0;
          Candidate c;

          if (seg->text == NULL || seg->end_ns <= seg->start_ns || g_hash_table_size (query_words) == 0)
            continue;
          words = word_set (seg->text);
          g_hash_table_iter_init (&iter, query_words);
          while (g_hash_table_iter_next (&iter, &key, NULL))
            hits += g_hash_table_contains (words, key);
          if (hits == 0)
            continue;
          c.score = (double) hits / g_hash_table_size (query_words);
          c.index = j;
          c.start_ns = seg->start_ns;
          c.end_ns = seg->end_ns;
          g_array_append_val (candidates, c);
        }
      g_array_sort (candidates, candidate_cmp);

      q->has_prediction = TRUE;
      g_array_set_size (q->predicted, 0);
      g_array_set_size (q->saliency, 0);
      for (guint j = 0; j < candidates->len && j < VM_EVAL_MAX_PREDICTIONS; j++)
        {
          Candidate *c = &g_array_index (candidates, Candidate, j);
          VmEvalPrediction p = { c->start_ns / 1e9, c->end_ns / 1e9, c->score };
          g_array_append_val (q->predicted, p);
        }
      if (q->predicted->len == 0 && v->duration_ns > 0)
        {
          VmEvalPrediction p = { 0, v->duration_ns / 1e9, 0 };
          g_array_append_val (q->predicted, p);
        }

      if (v->duration_ns > 0)
        n_clips = (guint) ((v->duration_ns + VM_DATASET_CLIP_NS - 1) / VM_DATASET_CLIP_NS);
      if (n_clips > 0 && n_clips < 10000000)
        {
          g_array_set_size (q->saliency, n_clips);
          memset (q->saliency->data, 0, sizeof (double) * n_clips);
          for (guint j = 0; j < candidates->len; j++)
            {
              Candidate *c = &g_array_index (candidates, Candidate, j);
              guint first = (guint) (c->start_ns / VM_DATASET_CLIP_NS);

              for (guint k = first; k < n_clips && (gint64) k * VM_DATASET_CLIP_NS < c->end_ns; k++)
                if (c->score > g_array_index (q->saliency, double, k))
                  g_array_index (q->saliency, double, k) = c->score;
            }
        }
    }
  return TRUE;
}

gboolean
vm_eval_set (VmCatalog     *catalog,
             const char    *set_name,
             VmEvalSource   source,
             const char    *predictions_file,
             GPtrArray     *issues,
             VmEvalResult  *out_result,
             GError       **error)
{
  VmVideoNaming naming = { VM_VIDEO_ID_PATH, NULL };
  g_autoptr(VmDataset) dataset = NULL;
  g_autoptr(GHashTable) truth = NULL;
  g_autoptr(GPtrArray) queries = g_ptr_array_new ();
  g_autofree char *data = NULL;
  VmReadLimits limits;
  GHashTableIter iter;
  gpointer value;
  gsize length;
  guint unknown = 0;
  GStatBuf st;

  dataset = vm_export_load_set (catalog, set_name, &naming, issues, error);
  if (dataset == NULL)
    return FALSE;

  if (source == VM_EVAL_SOURCE_ENGINE || (source == VM_EVAL_SOURCE_FILE && predictions_file == NULL))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_NO_ENGINE,
                   _("Scoring a search engine needs the engine: use vm_eval_set_with_engine(), "
                     "a predictions file (--predictions FILE) or the text-only baseline "
                     "(--baseline text)"));
      return FALSE;
    }
  if (source == VM_EVAL_SOURCE_TEXT)
    {
      truth = vm_eval_ground_truth (dataset);
      if (!vm_eval_text_baseline (catalog, dataset, truth, error))
        return FALSE;
      g_hash_table_iter_init (&iter, truth);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_ptr_array_add (queries, value);
      vm_eval_compute (queries, out_result);
      return TRUE;
    }

  vm_read_limits_init (&limits);
  if (g_stat (predictions_file, &st) == 0 && (guint64) st.st_size > limits.max_bytes)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_TOO_LARGE,
                   _("%s is larger than %zu bytes"), predictions_file, limits.max_bytes);
      return FALSE;
    }
  if (!g_file_get_contents (predictions_file, &data, &length, error))
    return FALSE;

  truth = vm_eval_ground_truth (dataset);
  if (!vm_eval_read_predictions (data, length, &limits, truth, &unknown, issues, error))
    return FALSE;

  g_hash_table_iter_init (&iter, truth);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (queries, value);
  vm_eval_compute (queries, out_result);
  out_result->n_unknown = unknown;
  return TRUE;
}

gboolean
vm_eval_set_with_engine (VmCatalog        *catalog,
                         const char       *set_name,
                         VmEvalEngineFunc  engine,
                         gpointer          user_data,
                         GPtrArray        *issues,
                         VmEvalResult     *out_result,
                         GError          **error)
{
  VmVideoNaming naming = { VM_VIDEO_ID_PATH, NULL };
  g_autoptr(VmDataset) dataset = NULL;
  g_autoptr(GHashTable) truth = NULL;
  g_autoptr(GPtrArray) queries = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (engine != NULL, FALSE);

  dataset = vm_export_load_set (catalog, set_name, &naming, issues, error);
  if (dataset == NULL)
    return FALSE;
  truth = vm_eval_ground_truth (dataset);

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *dq = g_ptr_array_index (dataset->queries, i);
      VmDatasetVideo *v = vm_dataset_lookup_video (dataset, dq->vid);
      VmEvalQuery *q = g_hash_table_lookup (truth, &dq->qid);

      if (q == NULL || v == NULL)
        continue;

      g_array_set_size (q->predicted, 0);
      g_array_set_size (q->saliency, 0);
      if (!engine (dq->text, v->video_id, v->duration_ns, q->predicted, user_data, error))
        return FALSE;
      if (q->predicted->len > VM_EVAL_MAX_PREDICTIONS)
        g_array_set_size (q->predicted, VM_EVAL_MAX_PREDICTIONS);
      /* Nothing found still is an answer: the whole video, scored 0. */
      if (q->predicted->len == 0 && v->duration_ns > 0)
        {
          VmEvalPrediction p = { 0, v->duration_ns / 1e9, 0 };
          g_array_append_val (q->predicted, p);
        }
      q->has_prediction = TRUE;
    }

  g_hash_table_iter_init (&iter, truth);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (queries, value);
  vm_eval_compute (queries, out_result);
  return TRUE;
}
