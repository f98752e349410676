/* test-annotation-saliency.c — per-clip saliency of annotations (schema 4):
 * the catalog round trip, the upgrade of an older catalog, and what the
 * QVHighlights and Vidmark exporters write for them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>

#include "catalog/vm-catalog-datasets.h"
#include "export/vm-export.h"

#include "../vm-test-util.h"

#define SEC G_GINT64_CONSTANT (1000000000)

typedef struct {
  char      *dir;
  char      *path;
  VmCatalog *catalog;
  gint64     set_id;
  gint64     video_id;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmVideo) v = vm_video_new ();

  f->dir = g_dir_make_tmp ("vm-saliency-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "catalog.sqlite", NULL);
  f->catalog = vm_catalog_open (f->path, &error);
  g_assert_no_error (error);
  v->path = g_build_filename (f->dir, "beach.mp4", NULL);
  v->duration_ns = 30 * SEC;
  v->status = VM_VIDEO_STATUS_INDEXED;
  g_assert_true (vm_catalog_save_video (f->catalog, v, &error));
  f->video_id = v->id;
  g_assert_true (vm_catalog_ensure_annotation_set (f->catalog, "set", &f->set_id, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->catalog);
  vm_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static gint64
raw_count (const char *path,
           const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static VmAnnotation *
make_annotation (Fixture    *f,
                 const char *text,
                 gint64      start,
                 gint64      end)
{
  VmAnnotation *a = vm_annotation_new ();

  a->set_id = f->set_id;
  a->video_id = f->video_id;
  a->start_ns = start;
  a->end_ns = end;
  a->text = g_strdup (text);
  return a;
}

static void
test_clip_helpers (void)
{
  g_autoptr(VmAnnotation) a = vm_annotation_new ();

  g_assert_null (a->clips);
  g_assert_cmpint (vm_annotation_get_clip_score (a, 3), ==, -1);
  vm_annotation_set_clip_score (a, 5, 2);
  vm_annotation_set_clip_score (a, 3, 4);
  vm_annotation_set_clip_score (a, 4, 0);
  vm_annotation_set_clip_score (a, 5, 1);
  g_assert_cmpuint (a->clips->len, ==, 3);
  g_assert_cmpuint (g_array_index (a->clips, VmClipSaliency, 0).clip, ==, 3);
  g_assert_cmpuint (g_array_index (a->clips, VmClipSaliency, 2).clip, ==, 5);
  g_assert_cmpint (vm_annotation_get_clip_score (a, 3), ==, 4);
  g_assert_cmpint (vm_annotation_get_clip_score (a, 4), ==, 0);
  g_assert_cmpint (vm_annotation_get_clip_score (a, 5), ==, 1);
  vm_annotation_set_clip_score (a, 4, -1);
  vm_annotation_set_clip_score (a, 9, -1);
  g_assert_cmpuint (a->clips->len, ==, 2);
  g_assert_cmpint (vm_annotation_get_clip_score (a, 4), ==, -1);
}

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmAnnotation) a = make_annotation (f, "a wave", 3 * SEC, 9 * SEC);
  g_autoptr(VmAnnotation) plain = make_annotation (f, "no scores", 0, SEC);
  g_autoptr(VmAnnotation) back = NULL;
  g_autoptr(GPtrArray) list = NULL;
  VmClipSaliency unsorted[2] = { { 4, 1 }, { 2, 3 } };
  gint64 id;

  g_assert_cmpint (vm_catalog_get_schema_version (f->catalog), >=, 4);

  vm_annotation_set_clip_score (a, 1, 2);
  vm_annotation_set_clip_score (a, 2, 4);
  vm_annotation_set_clip_score (a, 4, 0);
  g_assert_true (vm_catalog_save_annotation (f->catalog, a, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_save_annotation (f->catalog, plain, &error));
  id = a->id;

  back = vm_catalog_get_annotation (f->catalog, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back->clips);
  g_assert_cmpuint (back->clips->len, ==, 3);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 1), ==, 2);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 2), ==, 4);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 4), ==, 0);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 3), ==, -1);

  list = vm_catalog_list_annotations (f->catalog, f->set_id, f->video_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  for (guint i = 0; i < list->len; i++)
    {
      VmAnnotation *l = g_ptr_array_index (list, i);

      g_assert_nonnull (l->clips);
      g_assert_cmpuint (l->clips->len, ==, l->id == id ? 3 : 0);
    }

  /* A non-NULL array replaces the scores; NULL keeps them. */
  vm_annotation_set_clip_score (back, 2, -1);
  vm_annotation_set_clip_score (back, 3, 3);
  g_assert_true (vm_catalog_save_annotation (f->catalog, back, &error));
  g_clear_pointer (&back, vm_annotation_free);
  back = vm_catalog_get_annotation (f->catalog, id, &error);
  g_assert_cmpuint (back->clips->len, ==, 3);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 2), ==, -1);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 3), ==, 3);
  g_clear_pointer (&back->clips, g_array_unref);
  g_free (back->text);
  back->text = g_strdup ("a big wave");
  g_assert_true (vm_catalog_save_annotation (f->catalog, back, &error));
  g_clear_pointer (&back, vm_annotation_free);
  back = vm_catalog_get_annotation (f->catalog, id, &error);
  g_assert_cmpstr (back->text, ==, "a big wave");
  g_assert_cmpuint (back->clips->len, ==, 3);

  /* Bad scores are refused and change nothing. */
  vm_annotation_set_clip_score (back, 3, 4);
  g_array_index (back->clips, VmClipSaliency, 0).score = 5;
  g_assert_false (vm_catalog_save_annotation (f->catalog, back, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_array_set_size (back->clips, 0);
  g_array_append_vals (back->clips, unsorted, 2);
  g_assert_false (vm_catalog_save_annotation (f->catalog, back, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_clear_pointer (&back, vm_annotation_free);
  back = vm_catalog_get_annotation (f->catalog, id, &error);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 3), ==, 3);
  g_assert_cmpint (vm_annotation_get_clip_score (back, 1), ==, 2);

  /* A failed insert (unknown set) leaves no row and keeps id 0. */
  {
    g_autoptr(VmAnnotation) bad = make_annotation (f, "x", 0, SEC);

    bad->set_id = 999;
    vm_annotation_set_clip_score (bad, 0, 1);
    g_assert_false (vm_catalog_save_annotation (f->catalog, bad, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_cmpint (bad->id, ==, 0);
  }

  /* The scores go with their annotation. */
  g_assert_cmpint (raw_count (f->path, "SELECT count(*) FROM annotation_saliency"), ==, 3);
  g_assert_true (vm_catalog_delete_annotation (f->catalog, id, &error));
  g_assert_no_error (error);
  g_assert_cmpint (raw_count (f->path, "SELECT count(*) FROM annotation_saliency"), ==, 0);
}

/* A catalog written before schema 4 opens with its annotations, without
 * scores, and takes scores afterwards. */
static void
test_upgrade (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vm-saliency-up-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "old.sqlite", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autoptr(GBytes) m1 = g_resources_lookup_data ("/io/github/vidmark/catalog/migrations/0001-initial.sql", 0, &error);
  g_autoptr(GBytes) m2 = g_resources_lookup_data ("/io/github/vidmark/catalog/migrations/0002-datasets.sql", 0, &error);
  g_autofree char *sql1 = NULL, *sql2 = NULL;
  gint64 set = 0, annotation_id = 0;

  g_assert_no_error (error);
  sql1 = g_strndup (g_bytes_get_data (m1, NULL), g_bytes_get_size (m1));
  sql2 = g_strndup (g_bytes_get_data (m2, NULL), g_bytes_get_size (m2));
  {
    const char *migrations[] = { sql1, sql2, NULL };
    g_autoptr(VmCatalog) old = vm_catalog_open_with_migrations (path, (const char * const *) migrations, &error);
    g_autoptr(VmVideo) v = vm_video_new ();
    g_autoptr(VmAnnotation) a = vm_annotation_new ();

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (old), ==, 2);
    v->path = g_strdup ("/x/v.mp4");
    v->duration_ns = 10 * SEC;
    g_assert_true (vm_catalog_save_video (old, v, &error));
    g_assert_true (vm_catalog_ensure_annotation_set (old, "s", &set, &error));
    a->set_id = set;
    a->video_id = v->id;
    a->end_ns = 4 * SEC;
    a->text = g_strdup ("kept");
    g_assert_true (vm_catalog_save_annotation (old, a, &error));
    g_assert_no_error (error);
    annotation_id = a->id;
  }
  {
    g_autoptr(VmCatalog) now = vm_catalog_open (path, &error);
    g_autoptr(VmAnnotation) a = NULL;

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (now), ==, vm_catalog_get_latest_version ());
    a = vm_catalog_get_annotation (now, annotation_id, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (a->text, ==, "kept");
    g_assert_cmpuint (a->clips->len, ==, 0);
    vm_annotation_set_clip_score (a, 1, 4);
    g_assert_true (vm_catalog_save_annotation (now, a, &error));
    g_assert_no_error (error);
  }
  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (dir);
}

static JsonObject *
find_line (JsonParser **parsers,
           guint        n,
           const char  *query)
{
  for (guint i = 0; i < n; i++)
    {
      JsonObject *o = json_node_get_object (json_parser_get_root (parsers[i]));

      if (g_strcmp0 (json_object_get_string_member (o, "query"), query) == 0)
        return o;
    }
  return NULL;
}

static void
test_export (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmAnnotation) a = make_annotation (f, "a wave", 3 * SEC, 9 * SEC);
  g_autoptr(VmAnnotation) b = make_annotation (f, "a wave", 20 * SEC, 24 * SEC);
  g_autoptr(VmAnnotation) c = make_annotation (f, "sunset", 10 * SEC, 12 * SEC);
  g_autoptr(VmQuery) q = vm_query_new ();
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GPtrArray) written = NULL;
  g_autofree char *out = g_build_filename (f->dir, "out.jsonl", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  JsonParser *parsers[8] = { NULL };
  VmExportOptions options;
  VmQueryWindow w = { 0, 4 * SEC };
  VmQueryScore s;
  gint64 r1 = 0, r2 = 0;
  guint n_lines = 0, n_queries = 0;
  JsonObject *o;
  JsonArray *ids, *scores;

  /* An imported query scored by two raters of the set. */
  g_assert_true (vm_catalog_ensure_rater (f->catalog, f->set_id, "r1", &r1, &error));
  g_assert_true (vm_catalog_ensure_rater (f->catalog, f->set_id, "r2", &r2, &error));
  q->set_id = f->set_id;
  q->video_id = f->video_id;
  q->qid = -1;
  q->text = g_strdup ("imported");
  g_array_append_val (q->windows, w);
  s = (VmQueryScore) { 0, r1, 3 };
  g_array_append_val (q->saliency, s);
  s = (VmQueryScore) { 1, r2, 1 };
  g_array_append_val (q->saliency, s);
  g_assert_true (vm_catalog_save_query (f->catalog, q, &error));
  g_assert_no_error (error);

  /* Two segments with one label form one query; clip 7 ([14, 16) s) lies
   * under neither and is left out. */
  vm_annotation_set_clip_score (a, 1, 2);   /* [2, 4) s overlaps [3, 9) */
  vm_annotation_set_clip_score (a, 2, 4);
  vm_annotation_set_clip_score (a, 7, 1);
  vm_annotation_set_clip_score (b, 10, 3);
  vm_annotation_set_clip_score (b, 11, 0);
  g_assert_true (vm_catalog_save_annotation (f->catalog, a, &error));
  g_assert_true (vm_catalog_save_annotation (f->catalog, b, &error));
  g_assert_true (vm_catalog_save_annotation (f->catalog, c, &error));
  g_assert_no_error (error);

  vm_export_options_init (&options);
  written = vm_export_set (f->catalog, "set", &options, out, issues, &n_queries, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (issues->len, ==, 0);
  g_assert_cmpuint (n_queries, ==, 3);
  g_assert_true (g_file_get_contents (out, &text, NULL, &error));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      {
        g_assert_cmpuint (n_lines, <, G_N_ELEMENTS (parsers));
        parsers[n_lines] = json_parser_new ();
        g_assert_true (json_parser_load_from_data (parsers[n_lines], lines[i], -1, &error));
        n_lines++;
      }
  g_assert_cmpuint (n_lines, ==, 3);

  /* The segments: clips 1, 2, 10, 11 with the annotator in the third
   * column (after r1 and r2). */
  o = find_line (parsers, n_lines, "a wave");
  g_assert_nonnull (o);
  ids = json_object_get_array_member (o, "relevant_clip_ids");
  scores = json_object_get_array_member (o, "saliency_scores");
  g_assert_cmpuint (json_array_get_length (ids), ==, 4);
  g_assert_cmpuint (json_array_get_length (scores), ==, 4);
  {
    const gint64 want_ids[] = { 1, 2, 10, 11 };
    const gint64 want_scores[] = { 2, 4, 3, 0 };

    for (guint i = 0; i < 4; i++)
      {
        JsonArray *row = json_array_get_array_element (scores, i);

        g_assert_cmpint (json_array_get_int_element (ids, i), ==, want_ids[i]);
        g_assert_cmpuint (json_array_get_length (row), ==, 3);
        g_assert_cmpint (json_array_get_int_element (row, 0), ==, 0);
        g_assert_cmpint (json_array_get_int_element (row, 1), ==, 0);
        g_assert_cmpint (json_array_get_int_element (row, 2), ==, want_scores[i]);
      }
  }
  /* The imported query keeps its raters' scores, the annotator's column 0. */
  o = find_line (parsers, n_lines, "imported");
  g_assert_nonnull (o);
  scores = json_object_get_array_member (o, "saliency_scores");
  g_assert_cmpuint (json_array_get_length (scores), ==, 2);
  g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (scores, 0), 0), ==, 3);
  g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (scores, 0), 2), ==, 0);
  /* A segment without scores has none. */
  o = find_line (parsers, n_lines, "sunset");
  g_assert_nonnull (o);
  g_assert_false (json_object_has_member (o, "saliency_scores"));
  g_assert_false (json_object_has_member (o, "relevant_clip_ids"));
  for (guint i = 0; i < n_lines; i++)
    g_object_unref (parsers[i]);

  /* The lossless format names the rater. */
  {
    g_autofree char *vm_out = g_build_filename (f->dir, "out.json", NULL);
    g_autofree char *vm_text = NULL;
    g_autoptr(GPtrArray) vm_written = NULL;

    options.format = VM_FORMAT_VIDMARK;
    vm_written = vm_export_set (f->catalog, "set", &options, vm_out, issues, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (vm_out, &vm_text, NULL, &error));
    g_assert_nonnull (strstr (vm_text, "\"" VM_EXPORT_ANNOTATION_RATER "\""));
    g_unlink (vm_out);
  }
  g_unlink (out);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/annotation-saliency/helpers", test_clip_helpers);
  g_test_add ("/annotation-saliency/round-trip", Fixture, NULL, fixture_set_up, test_round_trip,
              fixture_tear_down);
  g_test_add_func ("/annotation-saliency/upgrade", test_upgrade);
  g_test_add ("/annotation-saliency/export", Fixture, NULL, fixture_set_up, test_export,
              fixture_tear_down);
  return g_test_run ();
}
