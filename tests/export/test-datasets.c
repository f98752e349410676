/* test-datasets.c — datasets in the catalog (schema 2), export and import
 * through the catalog, seeded round trips of random sets for every format,
 * video matching, and evaluation of a set.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "catalog/vm-catalog-datasets.h"
#include "export/vm-export.h"

#include "../vm-test-util.h"

#define SEC G_GINT64_CONSTANT (1000000000)

typedef struct {
  char      *dir;
  VmCatalog *catalog;
  gint64     folder_id;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *lib = NULL;

  f->dir = g_dir_make_tmp ("vm-export-XXXXXX", &error);
  g_assert_no_error (error);
  lib = g_build_filename (f->dir, "lib", NULL);
  g_mkdir (lib, 0700);
  f->catalog = vm_catalog_open (":memory:", &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (f->catalog, lib, &f->folder_id, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->catalog);
  vm_test_remove_tree (f->dir);
  g_free (f->dir);
}

static gint64
add_video (Fixture    *f,
           const char *relative,
           gint64      duration_ns,
           int         fps_num,
           int         fps_den)
{
  g_autoptr(VmVideo) v = vm_video_new ();
  g_autoptr(GError) error = NULL;

  v->path = g_build_filename (f->dir, "lib", relative, NULL);
  v->folder_id = f->folder_id;
  v->duration_ns = duration_ns;
  v->fps_num = fps_num;
  v->fps_den = fps_den;
  v->status = VM_VIDEO_STATUS_INDEXED;
  g_assert_true (vm_catalog_save_video (f->catalog, v, &error));
  g_assert_no_error (error);
  return v->id;
}

static gint64
ensure_set (Fixture    *f,
            const char *name)
{
  gint64 id = 0;

  g_assert_true (vm_catalog_ensure_annotation_set (f->catalog, name, &id, NULL));
  return id;
}

static VmQuery *
make_query (gint64      set_id,
            gint64      video_id,
            gint64      qid,
            const char *text,
            gint64      start,
            gint64      end)
{
  VmQuery *q = vm_query_new ();
  VmQueryWindow w = { start, end };

  q->set_id = set_id;
  q->video_id = video_id;
  q->qid = qid;
  q->text = g_strdup (text);
  if (end > start)
    g_array_append_val (q->windows, w);
  return q;
}

/* ---- The catalog API ------------------------------------------------------------ */

static void
test_schema (Fixture       *f,
             gconstpointer  data)
{
  /* Datasets arrived with version 2; later migrations keep them. */
  g_assert_cmpint (vm_catalog_get_latest_version (), >=, 2);
  g_assert_cmpint (vm_catalog_get_schema_version (f->catalog), ==, vm_catalog_get_latest_version ());
}

static void
test_queries (Fixture       *f,
              gconstpointer  data)
{
  gint64 set = ensure_set (f, "s"), other = ensure_set (f, "other");
  gint64 v1 = add_video (f, "a.mp4", 60 * SEC, 25, 1);
  gint64 v2 = add_video (f, "b.mp4", -1, 0, 1);
  gint64 r1 = 0, r2 = 0, r_other = 0, again = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmQuery) q = make_query (set, v1, -1, "a dog", 10 * SEC, 20 * SEC);
  g_autoptr(VmQuery) q2 = NULL;
  g_autoptr(GPtrArray) list = NULL;
  VmQueryWindow w2 = { 0, SEC };
  VmQueryScore s;

  g_assert_true (vm_catalog_ensure_rater (f->catalog, set, "ann", &r1, &error));
  g_assert_true (vm_catalog_ensure_rater (f->catalog, set, "bob", &r2, &error));
  g_assert_true (vm_catalog_ensure_rater (f->catalog, set, "ann", &again, &error));
  g_assert_true (vm_catalog_ensure_rater (f->catalog, other, "ann", &r_other, &error));
  g_assert_no_error (error);
  g_assert_cmpint (again, ==, r1);
  g_assert_cmpint (r_other, !=, r1);

  g_array_append_val (q->windows, w2);
  g_array_append_val (q->negatives, v2);
  s = (VmQueryScore) { 5, r2, 3 };
  g_array_append_val (q->saliency, s);
  s = (VmQueryScore) { 5, r1, 4 };
  g_array_append_val (q->saliency, s);
  g_assert_true (vm_catalog_save_query (f->catalog, q, &error));
  g_assert_no_error (error);
  g_assert_cmpint (q->qid, ==, 1);
  g_assert_cmpint (q->id, >, 0);

  q2 = vm_catalog_get_query (f->catalog, q->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (q2->text, ==, "a dog");
  g_assert_cmpuint (q2->windows->len, ==, 2);
  g_assert_cmpint (g_array_index (q2->windows, VmQueryWindow, 0).start_ns, ==, 0);
  g_assert_cmpuint (q2->negatives->len, ==, 1);
  g_assert_cmpuint (q2->saliency->len, ==, 2);
  g_assert_cmpint (g_array_index (q2->saliency, VmQueryScore, 0).rater_id, ==, r1);
  g_clear_pointer (&q2, vm_query_free);

  /* Explicit qids; the next free one is above every qid given. */
  {
    g_autoptr(VmQuery) a = make_query (set, v1, 100, "explicit", 0, SEC);
    g_autoptr(VmQuery) b = make_query (set, v1, -1, "next", 0, SEC);
    g_autoptr(VmQuery) c = make_query (set, v1, 100, "clash", 0, SEC);
    g_autoptr(VmQuery) d = make_query (other, v1, 100, "other set", 0, SEC);

    g_assert_true (vm_catalog_save_query (f->catalog, a, &error));
    g_assert_true (vm_catalog_save_query (f->catalog, b, &error));
    g_assert_no_error (error);
    g_assert_cmpint (b->qid, ==, 101);
    g_assert_false (vm_catalog_save_query (f->catalog, c, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_cmpint (c->id, ==, 0);
    g_assert_true (vm_catalog_save_query (f->catalog, d, &error));
    g_assert_no_error (error);

    /* A deleted qid is not handed out again. */
    g_assert_true (vm_catalog_delete_query (f->catalog, b->id, &error));
    g_clear_pointer (&b, vm_query_free);
    b = make_query (set, v1, -1, "after delete", 0, SEC);
    g_assert_true (vm_catalog_save_query (f->catalog, b, &error));
    g_assert_cmpint (b->qid, ==, 102);
  }

  /* Invalid queries change nothing. */
  {
    struct { const char *what; gint64 video; gint64 start, end; int score; gint64 rater; guint clip; gint64 neg; } bad[] = {
      { "start >= end", v1, 5 * SEC, 5 * SEC, -1, 0, 0, 0 },
      { "negative start", v1, -1, SEC, -1, 0, 0, 0 },
      { "past the duration", v1, 0, 61 * SEC, -1, 0, 0, 0 },
      { "unknown video", 9999, 0, SEC, -1, 0, 0, 0 },
      { "score 5", v1, 0, SEC, 5, r1, 0, 0 },
      { "rater of another set", v1, 0, SEC, 2, r_other, 0, 0 },
      { "clip past the end", v1, 0, SEC, 2, r1, 30, 0 },
      { "own video negative", v1, 0, SEC, -1, 0, 0, v1 },
      { "unknown negative", v1, 0, SEC, -1, 0, 0, 9999 },
    };
    g_autoptr(GPtrArray) before = vm_catalog_list_queries (f->catalog, set, &error);

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(VmQuery) b = make_query (set, bad[i].video, -1, "bad", 0, 0);
        VmQueryWindow w = { bad[i].start, bad[i].end };
        g_autoptr(GPtrArray) after = NULL;

        g_array_append_val (b->windows, w);
        if (bad[i].score >= 0)
          {
            VmQueryScore sc = { bad[i].clip, bad[i].rater, bad[i].score };
            g_array_append_val (b->saliency, sc);
          }
        if (bad[i].neg != 0)
          g_array_append_val (b->negatives, bad[i].neg);
        if (vm_catalog_save_query (f->catalog, b, &error))
          g_error ("%s was accepted", bad[i].what);
        g_assert_nonnull (error);
        g_clear_error (&error);
        after = vm_catalog_list_queries (f->catalog, set, &error);
        g_assert_cmpuint (after->len, ==, before->len);
      }
    /* An empty text. */
    {
      g_autoptr(VmQuery) b = make_query (set, v1, -1, "", 0, SEC);
      g_assert_false (vm_catalog_save_query (f->catalog, b, &error));
      g_clear_error (&error);
    }
  }

  /* A negative query (no window) and an unknown duration. */
  {
    g_autoptr(VmQuery) n = make_query (set, v2, -1, "not here", 0, 0);
    g_assert_true (vm_catalog_save_query (f->catalog, n, &error));
    g_assert_no_error (error);
  }

  /* Updates replace the windows. */
  g_array_set_size (q->windows, 1);
  g_array_index (q->windows, VmQueryWindow, 0) = (VmQueryWindow) { 2 * SEC, 3 * SEC };
  g_assert_true (vm_catalog_save_query (f->catalog, q, &error));
  q2 = vm_catalog_find_query (f->catalog, set, 1, &error);
  g_assert_nonnull (q2);
  g_assert_cmpuint (q2->windows->len, ==, 1);
  g_assert_cmpint (g_array_index (q2->windows, VmQueryWindow, 0).end_ns, ==, 3 * SEC);
  g_assert_null (vm_catalog_find_query (f->catalog, set, 77, &error));
  g_assert_no_error (error);

  list = vm_catalog_list_queries (f->catalog, set, &error);
  g_assert_cmpuint (list->len, ==, 4);
  for (guint i = 1; i < list->len; i++)
    g_assert_cmpint (((VmQuery *) list->pdata[i - 1])->qid, <, ((VmQuery *) list->pdata[i])->qid);

  g_assert_true (vm_catalog_clear_queries (f->catalog, set, &error));
  g_clear_pointer (&list, g_ptr_array_unref);
  list = vm_catalog_list_queries (f->catalog, set, &error);
  g_assert_cmpuint (list->len, ==, 0);
}

static void
test_annotation_qids (Fixture       *f,
                      gconstpointer  data)
{
  gint64 set = ensure_set (f, "s");
  gint64 v1 = add_video (f, "a.mp4", 60 * SEC, 25, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) qids = NULL;
  g_autoptr(VmQuery) q = make_query (set, v1, 5, "q", 0, SEC);
  gint64 ids[3];
  gboolean used = FALSE;

  g_assert_true (vm_catalog_save_query (f->catalog, q, &error));
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(VmAnnotation) a = vm_annotation_new ();

      a->set_id = set;
      a->video_id = v1;
      a->start_ns = i * SEC;
      a->end_ns = (i + 1) * SEC;
      a->text = g_strdup (i < 2 ? "jump" : "  ");
      g_assert_true (vm_catalog_save_annotation (f->catalog, a, &error));
      g_assert_no_error (error);
      ids[i] = a->id;
    }
  qids = vm_catalog_get_annotation_qids (f->catalog, set, &error);
  g_assert_cmpuint (g_hash_table_size (qids), ==, 3);
  g_assert_cmpint (*(gint64 *) g_hash_table_lookup (qids, &ids[0]), ==, 6);
  g_assert_cmpint (*(gint64 *) g_hash_table_lookup (qids, &ids[2]), ==, 8);
  g_assert_true (vm_catalog_qid_is_used (f->catalog, set, 7, &used, &error));
  g_assert_true (used);

  /* A query cannot take an annotation's qid. */
  {
    g_autoptr(VmQuery) clash = make_query (set, v1, 7, "clash", 0, SEC);
    g_assert_false (vm_catalog_save_query (f->catalog, clash, &error));
    g_clear_error (&error);
  }

  /* The export view: annotations with text become queries, grouped by
   * (video, text) under the smallest qid; blank ones are left out. */
  {
    VmVideoNaming naming = { VM_VIDEO_ID_NAME, NULL };
    g_autoptr(VmDataset) d = vm_export_load_set (f->catalog, "s", &naming, NULL, &error);
    VmDatasetQuery *dq;

    g_assert_no_error (error);
    g_assert_cmpuint (d->queries->len, ==, 2);
    dq = d->queries->pdata[1];
    g_assert_cmpint (dq->qid, ==, 6);
    g_assert_cmpstr (dq->text, ==, "jump");
    g_assert_cmpstr (dq->vid, ==, "a");
    g_assert_cmpuint (dq->windows->len, ==, 2);
  }
}

static void
test_upgrade_from_1 (void)
{
  const char *srcdir = g_getenv ("VIDMARK_TEST_SRCDIR");
  g_autofree char *sql_path = g_build_filename (srcdir ? srcdir : ".", "..", "app", "catalog", "migrations",
                                                "0001-initial.sql", NULL);
  g_autofree char *sql = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vm-upgrade-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "catalog.sqlite", NULL);
  gint64 set = 0, video_id;

  g_assert_true (g_file_get_contents (sql_path, &sql, NULL, &error));
  {
    const char *migrations[] = { sql, NULL };
    g_autoptr(VmCatalog) old = vm_catalog_open_with_migrations (path, migrations, &error);
    g_autoptr(VmVideo) v = vm_video_new ();

    g_assert_no_error (error);
    v->path = g_strdup ("/x/v.mp4");
    v->duration_ns = 10 * SEC;
    g_assert_true (vm_catalog_save_video (old, v, &error));
    video_id = v->id;
    g_assert_true (vm_catalog_ensure_annotation_set (old, "s", &set, &error));
    for (guint i = 0; i < 2; i++)
      {
        g_autoptr(VmAnnotation) a = vm_annotation_new ();
        a->set_id = set;
        a->video_id = video_id;
        a->start_ns = 0;
        a->end_ns = SEC;
        a->text = g_strdup_printf ("t%u", i);
        g_assert_true (vm_catalog_save_annotation (old, a, &error));
      }
    g_assert_no_error (error);
  }
  {
    g_autoptr(VmCatalog) now = vm_catalog_open (path, &error);
    g_autoptr(GHashTable) qids = NULL;
    g_autoptr(VmQuery) q = NULL;

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (now), ==, vm_catalog_get_latest_version ());
    qids = vm_catalog_get_annotation_qids (now, set, &error);
    g_assert_cmpuint (g_hash_table_size (qids), ==, 2);
    q = make_query (set, video_id, -1, "new", 0, SEC);
    g_assert_true (vm_catalog_save_query (now, q, &error));
    g_assert_cmpint (q->qid, ==, 3);
  }
  vm_test_remove_tree (dir);
}

static void
test_videos_kept (Fixture       *f,
                  gconstpointer  data)
{
  gint64 set = ensure_set (f, "s");
  gint64 used = add_video (f, "used.mp4", 60 * SEC, 25, 1);
  gint64 neg = add_video (f, "neg.mp4", 60 * SEC, 25, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmQuery) q = make_query (set, used, -1, "q", 0, SEC);
  g_autoptr(GPtrArray) videos = NULL;
  g_autofree char *lib = g_build_filename (f->dir, "lib", NULL);

  add_video (f, "free.mp4", 60 * SEC, 25, 1);
  g_array_append_val (q->negatives, neg);
  g_assert_true (vm_catalog_save_query (f->catalog, q, &error));

  /* Deleting a used video keeps it, missing. */
  g_assert_true (vm_catalog_delete_video (f->catalog, neg, &error));
  g_assert_no_error (error);
  {
    g_autoptr(VmVideo) v = vm_catalog_get_video (f->catalog, neg, &error);
    g_assert_no_error (error);
    g_assert_cmpint (v->status, ==, VM_VIDEO_STATUS_MISSING);
  }
  /* Removing the folder keeps the used videos, drops the others. */
  g_assert_true (vm_catalog_remove_folder (f->catalog, lib, &error));
  g_assert_no_error (error);
  videos = vm_catalog_list_videos (f->catalog, 0, &error);
  g_assert_cmpuint (videos->len, ==, 2);
  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = videos->pdata[i];
      g_assert_cmpint (v->status, ==, VM_VIDEO_STATUS_MISSING);
      g_assert_cmpint (v->folder_id, ==, 0);
    }
  {
    g_autoptr(VmQuery) back = vm_catalog_get_query (f->catalog, q->id, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (back->negatives->len, ==, 1);
  }
}

/* ---- Import: matching, validation, transaction ----------------------------------- */

static gboolean
import_text (Fixture          *f,
             VmFormat          format,
             const char       *set,
             const char       *text,
             VmImportOptions  *options_in,
             GPtrArray        *issues,
             VmImportReport   *report,
             GError          **error)
{
  VmImportOptions options;

  if (options_in != NULL)
    options = *options_in;
  else
    vm_import_options_init (&options);
  options.format = format;
  return vm_import_data (f->catalog, set, &options, text, strlen (text), issues, report, error);
}

static void
test_import_matching (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  VmImportReport report;
  g_autofree char *abs = NULL;
  g_autofree char *text = NULL;

  add_video (f, "one.mp4", 20 * SEC, 25, 1);
  add_video (f, "sub/two.mkv", 20 * SEC, 25, 1);
  add_video (f, "x/dup.mp4", 20 * SEC, 25, 1);
  add_video (f, "y/dup.mp4", 20 * SEC, 25, 1);
  add_video (f, "y/dup.webm", 20 * SEC, 25, 1);
  abs = g_build_filename (f->dir, "lib", "one.mp4", NULL);

  text = g_strdup_printf ("one 0 1##by stem\n"
                          "one.mp4 0 1##by name\n"
                          "sub/two.mkv 0 1##by relative path\n"
                          "%s 0 1##by absolute path\n"
                          "two 0 1##two by stem\n"
                          "dup 0 1##ambiguous stem\n"
                          "dup.mp4 0 1##ambiguous name\n"
                          "x/dup.mp4 0 1##relative resolves it\n"
                          "dup.webm 0 1##unique name\n"
                          "nothere 0 1##unknown\n"
                          "one 0 25##past the end\n"
                          "one 0 20.3##clamped\n", abs);
  g_assert_true (import_text (f, VM_FORMAT_CHARADES_STA, "m", text, NULL, issues, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.n_read, ==, 12);
  g_assert_cmpuint (report.n_imported, ==, 8);
  g_assert_cmpuint (issues->len, ==, 4);
  g_assert_cmpstr (((VmIssue *) issues->pdata[0])->where, ==, "line 6");
  g_assert_nonnull (strstr (((VmIssue *) issues->pdata[0])->reason, "matches 3 videos"));
  g_assert_cmpstr (((VmIssue *) issues->pdata[1])->where, ==, "line 7");
  g_assert_cmpstr (((VmIssue *) issues->pdata[2])->where, ==, "line 10");
  g_assert_cmpstr (((VmIssue *) issues->pdata[3])->where, ==, "line 11");
  g_assert_nonnull (strstr (((VmIssue *) issues->pdata[3])->reason, "outside the video"));

  /* DiDeMo chunks: the last one is clamped to the video. */
  {
    g_autoptr(VmQuery) q = NULL;
    gint64 set = 0, vid;

    vid = add_video (f, "12345.mp4", 27 * SEC, 25, 1);
    g_ptr_array_set_size (issues, 0);
    g_assert_true (import_text (f, VM_FORMAT_DIDEMO, "didemo",
                                "[{\"annotation_id\": 7, \"description\": \"the dog jumps\", \"video\": \"12345.mp4\","
                                " \"times\": [[5, 5], [4, 5], [5, 5], [0, 0]], \"num_segments\": 6}]",
                                NULL, issues, &report, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (issues->len, ==, 0);
    g_assert_true (vm_catalog_find_annotation_set (f->catalog, "didemo", &set, NULL));
    q = vm_catalog_find_query (f->catalog, set, 7, &error);
    g_assert_nonnull (q);
    g_assert_cmpint (q->video_id, ==, vid);
    g_assert_cmpuint (q->windows->len, ==, 3);
    g_assert_cmpint (g_array_index (q->windows, VmQueryWindow, 0).end_ns, ==, 5 * SEC);
    g_assert_cmpint (g_array_index (q->windows, VmQueryWindow, 1).start_ns, ==, 20 * SEC);
    g_assert_cmpint (g_array_index (q->windows, VmQueryWindow, 1).end_ns, ==, 27 * SEC);
    g_assert_cmpint (g_array_index (q->windows, VmQueryWindow, 2).start_ns, ==, 25 * SEC);
    g_assert_cmpint (g_array_index (q->windows, VmQueryWindow, 2).end_ns, ==, 27 * SEC);
  }

  /* A mapping file resolves the ambiguity. */
  {
    g_autofree char *map_path = g_build_filename (f->dir, "map.json", NULL);
    g_autofree char *p1 = g_build_filename (f->dir, "lib", "x", "dup.mp4", NULL);
    g_autofree char *map_text = g_strdup_printf ("{\"%s\": \"dup\"}", p1);
    VmImportOptions options;

    g_assert_true (g_file_set_contents (map_path, map_text, -1, NULL));
    vm_import_options_init (&options);
    options.naming.id_mode = VM_VIDEO_ID_MAP;
    options.naming.map = vm_video_map_load (map_path, &error);
    g_assert_no_error (error);
    g_ptr_array_set_size (issues, 0);
    g_assert_true (import_text (f, VM_FORMAT_CHARADES_STA, "mapped", "dup 0 1##mapped\n", &options,
                                issues, &report, &error));
    g_assert_cmpuint (report.n_imported, ==, 1);
    g_assert_cmpuint (issues->len, ==, 0);
    g_hash_table_unref (options.naming.map);

    /* A broken mapping file is an error. */
    g_assert_true (g_file_set_contents (map_path, "{\"a\": 1}", -1, NULL));
    g_assert_null (vm_video_map_load (map_path, &error));
    g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_true (g_file_set_contents (map_path, "{\"a\": \"x\", \"b\": \"x\"}", -1, NULL));
    g_assert_null (vm_video_map_load (map_path, &error));
    g_clear_error (&error);
  }
}

static void
test_import_transaction (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GPtrArray) list = NULL;
  VmImportReport report;
  VmImportOptions options;
  gint64 set;

  add_video (f, "one.mp4", 20 * SEC, 25, 1);

  /* A dry run writes nothing (not even the set). */
  vm_import_options_init (&options);
  options.dry_run = TRUE;
  g_assert_true (import_text (f, VM_FORMAT_QVHIGHLIGHTS, "t",
                              "{\"qid\": 3, \"query\": \"a\", \"vid\": \"one\", \"relevant_windows\": [[0, 2]]}\n",
                              &options, issues, &report, &error));
  g_assert_cmpuint (report.n_imported, ==, 1);
  g_assert_false (vm_catalog_find_annotation_set (f->catalog, "t", &set, NULL));

  g_assert_true (import_text (f, VM_FORMAT_QVHIGHLIGHTS, "t",
                              "{\"qid\": 3, \"query\": \"a\", \"vid\": \"one\", \"relevant_windows\": [[0, 2]]}\n"
                              "{\"qid\": 4, \"query\": \"b\", \"vid\": \"one\", \"relevant_windows\": [[0, 2]]}\n",
                              NULL, issues, &report, &error));
  g_assert_cmpuint (report.n_imported, ==, 2);
  g_assert_true (vm_catalog_find_annotation_set (f->catalog, "t", &set, NULL));

  /* The same qids again clash, and are reported; --replace replaces. */
  g_ptr_array_set_size (issues, 0);
  g_assert_true (import_text (f, VM_FORMAT_QVHIGHLIGHTS, "t",
                              "{\"qid\": 3, \"query\": \"c\", \"vid\": \"one\", \"relevant_windows\": [[0, 2]]}\n"
                              "{\"qid\": 5, \"query\": \"d\", \"vid\": \"one\", \"relevant_windows\": [[0, 2]]}\n",
                              NULL, issues, &report, &error));
  g_assert_cmpuint (report.n_imported, ==, 1);
  g_assert_cmpuint (issues->len, ==, 1);
  g_assert_cmpstr (((VmIssue *) issues->pdata[0])->where, ==, "line 1");

  vm_import_options_init (&options);
  options.replace = TRUE;
  g_assert_true (import_text (f, VM_FORMAT_QVHIGHLIGHTS, "t",
                              "{\"qid\": 3, \"query\": \"c\", \"vid\": \"one\", \"relevant_windows\": [[0, 2]]}\n",
                              &options, NULL, &report, &error));
  list = vm_catalog_list_queries (f->catalog, set, &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpstr (((VmQuery *) list->pdata[0])->text, ==, "c");

  /* A file that cannot be read at all writes nothing. */
  g_assert_false (import_text (f, VM_FORMAT_ACTIVITYNET, "u", "[[[", NULL, NULL, &report, &error));
  g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_find_annotation_set (f->catalog, "u", &set, NULL));

  /* An import inside the caller's transaction is undone with it. */
  g_assert_true (vm_catalog_begin (f->catalog, &error));
  g_assert_true (import_text (f, VM_FORMAT_QVHIGHLIGHTS, "w",
                              "{\"qid\": 1, \"query\": \"a\", \"vid\": \"one\", \"relevant_windows\": [[0, 2]]}\n",
                              NULL, NULL, &report, &error));
  vm_catalog_rollback (f->catalog);
  g_assert_false (vm_catalog_find_annotation_set (f->catalog, "w", &set, NULL));
}

/* ---- Seeded round trips ------------------------------------------------------------ */

static const char * const pieces[] = {
  "a", "dog", "jumps", "into", "the", "pool", "é", "日本", "🎬", "\"", "\\", "'", "#", "##", "{", "}",
  "[", "]", ",", ":", "0.5", "\t", "\n", "/", "<", "&", "ü", "x\x01y",
};

static char *
random_text (GRand    *rand,
             VmFormat  format,
             guint     serial)
{
  GString *s = g_string_new (NULL);
  guint n = g_rand_int_range (rand, 1, 7);

  for (guint i = 0; i < n; i++)
    {
      const char *p = pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))];

      if (format == VM_FORMAT_CHARADES_STA && (strchr (p, '\n') || strchr (p, '\t')))
        p = "nl";
      if (i > 0)
        g_string_append_c (s, ' ');
      g_string_append (s, p);
    }
  /* Unique, and no blanks at either end. */
  g_string_append_printf (s, " q%u", serial);
  return g_string_free (s, FALSE);
}

typedef struct {
  gint64 id;
  gint64 duration;
  int    fps_num;
  int    fps_den;
} GenVideo;

static gint64
random_time (GRand    *rand,
             GenVideo *v,
             gint64    lo,
             gint64    hi)
{
  gint64 t = lo + (gint64) (g_rand_double (rand) * (hi - lo));

  if (v->fps_num > 0 && v->fps_den > 0)
    {
      /* TACoS stores frames: keep the time on a frame. */
      gint64 frame = (gint64) floor ((double) t * v->fps_num / v->fps_den / 1e9);
      t = (gint64) llround (frame * 1e9 * v->fps_den / v->fps_num);
    }
  return t;
}

/* Fills set "orig" with random content that @format can hold. */
static void
generate_set (Fixture  *f,
              GRand    *rand,
              VmFormat  format)
{
  gint64 set = ensure_set (f, "orig");
  GenVideo videos[6];
  gint64 raters[3] = { 0 };
  guint n_raters = 0, serial = 0;
  gboolean tacos = format == VM_FORMAT_TACOS;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (videos); i++)
    {
      g_autofree char *name = format == VM_FORMAT_CHARADES_STA
                              ? g_strdup_printf ("d%u/vid%u_é.mp4", i % 2, i)
                              : g_strdup_printf ("d%u/my clip %u 🎬.mkv", i % 2, i);
      gboolean ntsc = g_rand_boolean (rand);

      videos[i].duration = 5 * SEC + (gint64) (g_rand_double (rand) * 300 * SEC);
      videos[i].fps_num = tacos ? (ntsc ? 30000 : 25) : 0;
      videos[i].fps_den = tacos ? (ntsc ? 1001 : 1) : 1;
      videos[i].id = add_video (f, name, videos[i].duration, videos[i].fps_num, videos[i].fps_den);
    }

  if (format == VM_FORMAT_QVHIGHLIGHTS)
    n_raters = 3;
  else if (format == VM_FORMAT_VIDMARK)
    n_raters = g_rand_int_range (rand, 0, 4);
  for (guint r = 0; r < n_raters; r++)
    {
      g_autofree char *name = format == VM_FORMAT_QVHIGHLIGHTS ? g_strdup_printf ("rater%u", r + 1)
                                                               : g_strdup_printf ("ràter \"%u\"", r);
      g_assert_true (vm_catalog_ensure_rater (f->catalog, set, name, &raters[r], &error));
    }

  for (guint i = 0, n = g_rand_int_range (rand, 1, 25); i < n; i++)
    {
      GenVideo *v = &videos[g_rand_int_range (rand, 0, G_N_ELEMENTS (videos))];
      g_autofree char *text = random_text (rand, format, serial++);
      g_autoptr(VmQuery) q = make_query (set, v->id, -1, text, 0, 0);
      guint n_windows = g_rand_int_range (rand, format == VM_FORMAT_VIDMARK ? 0 : 1, 4);

      if (format == VM_FORMAT_QVHIGHLIGHTS || format == VM_FORMAT_VIDMARK)
        q->qid = g_rand_boolean (rand) ? -1 : g_rand_int_range (rand, 0, 100000);
      for (guint k = 0; k < n_windows; k++)
        {
          VmQueryWindow w;

          w.start_ns = random_time (rand, v, 0, v->duration - SEC);
          w.end_ns = random_time (rand, v, w.start_ns + SEC / 2, v->duration);
          if (w.end_ns <= w.start_ns)
            continue;
          g_array_append_val (q->windows, w);
        }
      if (format != VM_FORMAT_VIDMARK && q->windows->len == 0)
        continue;
      {
        /* Drop duplicate windows. */
        g_autoptr(GArray) unique = g_array_new (FALSE, FALSE, sizeof (VmQueryWindow));
        for (guint k = 0; k < q->windows->len; k++)
          {
            gboolean dup = FALSE;
            for (guint j = 0; j < unique->len && !dup; j++)
              dup = memcmp (&g_array_index (unique, VmQueryWindow, j),
                            &g_array_index (q->windows, VmQueryWindow, k), sizeof (VmQueryWindow)) == 0;
            if (!dup)
              g_array_append_val (unique, g_array_index (q->windows, VmQueryWindow, k));
          }
        g_array_set_size (q->windows, 0);
        g_array_append_vals (q->windows, unique->data, unique->len);
      }
      /* (QVHighlights names its raters only through scores: the first
       * query always has some.) */
      if (n_raters > 0 && (g_rand_boolean (rand) || (format == VM_FORMAT_QVHIGHLIGHTS && i == 0)))
        {
          guint n_clips = (guint) ((v->duration + 2 * SEC - 1) / (2 * SEC));

          for (guint c = 0; c < n_clips; c++)
            {
              if (g_rand_int_range (rand, 0, 4) != 0 && !(c == 0 && i == 0))
                continue;
              for (guint r = 0; r < n_raters; r++)
                {
                  VmQueryScore s = { c, raters[r], g_rand_int_range (rand, 0, 5) };

                  /* Only the vidmark format keeps a partly rated clip. */
                  if (format == VM_FORMAT_VIDMARK && g_rand_int_range (rand, 0, 3) == 0)
                    continue;
                  g_array_append_val (q->saliency, s);
                }
            }
        }
      if (format == VM_FORMAT_VIDMARK && g_rand_boolean (rand))
        {
          GenVideo *other = &videos[g_rand_int_range (rand, 0, G_N_ELEMENTS (videos))];
          if (other->id != v->id)
            g_array_append_val (q->negatives, other->id);
        }
      if (!vm_catalog_save_query (f->catalog, q, &error))
        {
          /* A random qid may clash: take the next free one. */
          g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
          g_clear_error (&error);
          q->qid = -1;
          g_assert_true (vm_catalog_save_query (f->catalog, q, &error));
        }
      g_assert_no_error (error);
    }

  /* Annotations from the player join the set. */
  for (guint i = 0, n = g_rand_int_range (rand, 0, 4); i < n; i++)
    {
      GenVideo *v = &videos[g_rand_int_range (rand, 0, G_N_ELEMENTS (videos))];
      g_autoptr(VmAnnotation) a = vm_annotation_new ();

      a->set_id = set;
      a->video_id = v->id;
      a->start_ns = random_time (rand, v, 0, v->duration - SEC);
      a->end_ns = random_time (rand, v, a->start_ns + SEC / 2, v->duration);
      a->text = random_text (rand, format, serial++);
      if (a->end_ns > a->start_ns)
        g_assert_true (vm_catalog_save_annotation (f->catalog, a, &error));
      g_assert_no_error (error);
    }
}

static char *
canonical_set (Fixture    *f,
               const char *name,
               gboolean    with_qids)
{
  VmVideoNaming naming = { VM_VIDEO_ID_NAME, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(VmDataset) d = vm_export_load_set (f->catalog, name, &naming, NULL, &error);

  g_assert_no_error (error);
  return vm_dataset_to_canonical (d, with_qids, FALSE);
}

static void
test_round_trip (gconstpointer data)
{
  VmFormat format = GPOINTER_TO_INT (data);
  gboolean with_qids = format == VM_FORMAT_QVHIGHLIGHTS || format == VM_FORMAT_VIDMARK;
  guint32 base_seed = 20261122;

  for (guint round = 0; round < 12; round++)
    {
      Fixture f;
      g_autoptr(GRand) rand = g_rand_new_with_seed (base_seed + round * 7919 + format);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) issues = vm_issues_new ();
      g_autoptr(GPtrArray) files = NULL;
      g_autofree char *path = NULL, *path2 = NULL;
      g_autofree char *first = NULL, *second = NULL, *a = NULL, *b = NULL;
      VmExportOptions eo;
      VmImportOptions io;
      VmImportReport report;

      fixture_set_up (&f, NULL);
      generate_set (&f, rand, format);

      vm_export_options_init (&eo);
      eo.format = format;
      path = g_build_filename (f.dir, "out.data", NULL);
      files = vm_export_set (f.catalog, "orig", &eo, path, issues, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (files);
      if (issues->len > 0)
        g_error ("seed %u: export reported %s: %s", base_seed + round * 7919 + format,
                 ((VmIssue *) issues->pdata[0])->where, ((VmIssue *) issues->pdata[0])->reason);

      vm_import_options_init (&io);
      io.format = format;
      g_assert_true (vm_import_file (f.catalog, "copy", &io, path, issues, &report, &error));
      g_assert_no_error (error);
      if (issues->len > 0)
        g_error ("seed %u: import reported %s: %s", base_seed + round * 7919 + format,
                 ((VmIssue *) issues->pdata[0])->where, ((VmIssue *) issues->pdata[0])->reason);

      a = canonical_set (&f, "orig", with_qids);
      b = canonical_set (&f, "copy", with_qids);
      if (g_strcmp0 (a, b) != 0)
        g_error ("seed %u: round trip differs:\n--- exported\n%s\n--- imported\n%s",
                 base_seed + round * 7919 + format, a, b);

      /* Exporting the copy gives the same file again. */
      if (with_qids)
        {
          g_clear_pointer (&files, g_ptr_array_unref);
          path2 = g_build_filename (f.dir, "out2.data", NULL);
          files = vm_export_set (f.catalog, "copy", &eo, path2, issues, NULL, &error);
          g_assert_no_error (error);
          g_assert_true (g_file_get_contents (path, &first, NULL, NULL));
          g_assert_true (g_file_get_contents (path2, &second, NULL, NULL));
          if (format == VM_FORMAT_VIDMARK)
            {
              /* Only the set name differs. */
              char *p = strstr (first, "\"set\": \"orig\"");
              g_assert_nonnull (p);
              memcpy (p, "\"set\": \"copy\"", 13);
            }
          g_assert_cmpstr (first, ==, second);
        }
      fixture_tear_down (&f, NULL);
    }
}

/* ---- Export details ------------------------------------------------------------------ */

static void
test_export_naming_and_split (Fixture       *f,
                              gconstpointer  data)
{
  gint64 set = ensure_set (f, "s");
  gint64 a = add_video (f, "x/clip.mp4", 60 * SEC, 25, 1);
  gint64 b = add_video (f, "y/clip.mp4", 60 * SEC, 25, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GPtrArray) files = NULL;
  g_autofree char *out = g_build_filename (f->dir, "out.jsonl", NULL);
  VmExportOptions options;

  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *name = g_strdup_printf ("v%02u.mp4", i);
      gint64 v = i == 0 ? a : i == 1 ? b : add_video (f, name, 60 * SEC, 25, 1);
      g_autofree char *text = g_strdup_printf ("query %u", i);
      g_autoptr(VmQuery) q = make_query (set, v, -1, text, SEC, 2 * SEC);

      g_assert_true (vm_catalog_save_query (f->catalog, q, &error));
    }

  /* A negative: no format but vidmark holds it, so it is reported. */
  {
    g_autoptr(VmQuery) q = make_query (set, a, -1, "not in clip", 0, 0);
    g_assert_true (vm_catalog_save_query (f->catalog, q, &error));
  }

  /* Two videos named "clip": refused by name, fine by relative path. */
  vm_export_options_init (&options);
  files = vm_export_set (f->catalog, "s", &options, out, issues, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_UNREPRESENTABLE);
  g_clear_error (&error);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  options.naming.id_mode = VM_VIDEO_ID_RELATIVE;
  files = vm_export_set (f->catalog, "s", &options, out, issues, NULL, &error);
  g_assert_no_error (error);
  {
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "\"vid\": \"x/clip.mp4\""));
    g_assert_nonnull (strstr (text, "\"vid\": \"v05.mp4\""));
  }
  g_clear_pointer (&files, g_ptr_array_unref);

  options.naming.id_mode = VM_VIDEO_ID_PATH;
  files = vm_export_set (f->catalog, "s", &options, out, issues, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&files, g_ptr_array_unref);

  /* A mapping that leaves videos out reports them. */
  g_ptr_array_set_size (issues, 0);
  options.naming.id_mode = VM_VIDEO_ID_MAP;
  options.naming.map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  {
    g_autoptr(VmVideo) v = vm_catalog_get_video (f->catalog, a, NULL);
    g_hash_table_insert (options.naming.map, g_strdup (v->path), g_strdup ("mapped-a"));
  }
  files = vm_export_set (f->catalog, "s", &options, out, issues, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (issues->len, ==, 20);   /* 19 videos, and the negative of "a" */
  g_hash_table_unref (options.naming.map);
  options.naming.map = NULL;
  g_clear_pointer (&files, g_ptr_array_unref);
  g_ptr_array_set_size (issues, 0);

  /* Splits by video, with suffixes; together they hold the whole set. */
  options.naming.id_mode = VM_VIDEO_ID_RELATIVE;
  options.split = TRUE;
  options.seed = 7;
  files = vm_export_set (f->catalog, "s", &options, out, issues, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (files->len, ==, 3);
  /* The negative is reported whichever part its video fell in. */
  g_assert_cmpuint (issues->len, ==, 1);
  {
    guint lines[3] = { 0 };

    for (guint i = 0; i < 3; i++)
      {
        g_autofree char *text = NULL;
        g_autofree char *expected = vm_split_file_name (out, i);

        g_assert_cmpstr (files->pdata[i], ==, expected);
        g_assert_true (g_file_get_contents (files->pdata[i], &text, NULL, NULL));
        for (char *p = text; *p; p++)
          lines[i] += *p == '\n';
      }
    g_assert_cmpuint (lines[0], ==, 16);
    g_assert_cmpuint (lines[1], ==, 2);
    g_assert_cmpuint (lines[2], ==, 2);
  }

  /* An unknown set. */
  g_assert_null (vm_export_set (f->catalog, "nope", &options, out, issues, NULL, &error));
  g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_NOT_FOUND);
}

/* ---- Evaluation of a set ------------------------------------------------------------- */

static void
test_eval_set (Fixture       *f,
               gconstpointer  data)
{
  gint64 set = ensure_set (f, "s");
  gint64 v = add_video (f, "v.mp4", 60 * SEC, 25, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autofree char *pred = g_build_filename (f->dir, "pred.jsonl", NULL);
  g_autoptr(VmQuery) q1 = make_query (set, v, 1, "a", 0, 10 * SEC);
  g_autoptr(VmQuery) q2 = make_query (set, v, 2, "b", 20 * SEC, 30 * SEC);
  g_autoptr(VmQuery) q3 = make_query (set, v, 3, "c", 40 * SEC, 50 * SEC);
  gint64 rater = 0;
  VmQueryScore s = { 3, 0, 4 };
  VmEvalResult r;

  g_assert_true (vm_catalog_ensure_rater (f->catalog, set, "r", &rater, &error));
  s.rater_id = rater;
  g_array_append_val (q1->saliency, s);
  g_assert_true (vm_catalog_save_query (f->catalog, q1, &error));
  g_assert_true (vm_catalog_save_query (f->catalog, q2, &error));
  g_assert_true (vm_catalog_save_query (f->catalog, q3, &error));
  g_assert_true (g_file_set_contents (pred,
    "{\"qid\": 1, \"pred_relevant_windows\": [[0, 10, 0.9]], \"pred_saliency_scores\": [0, 0, 0, 1]}\n"
    "{\"qid\": 2, \"pred_relevant_windows\": [[20, 25, 0.9]]}\n"
    "{\"qid\": 9, \"pred_relevant_windows\": [[20, 25, 0.9]]}\n", -1, NULL));

  g_assert_true (vm_eval_set (f->catalog, "s", VM_EVAL_SOURCE_FILE, pred, issues, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.n_queries, ==, 2);
  g_assert_cmpuint (r.n_missing, ==, 1);
  g_assert_cmpuint (r.n_unknown, ==, 1);
  g_assert_cmpfloat_with_epsilon (r.r1[1], 1.0, 1e-12);   /* IoU 1 and .5 */
  g_assert_cmpfloat_with_epsilon (r.r1[2], 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (r.miou, 0.75, 1e-12);
  g_assert_cmpuint (r.n_highlight, ==, 1);
  g_assert_cmpfloat (r.hit1, ==, 1.0);

  g_assert_false (vm_eval_set (f->catalog, "s", VM_EVAL_SOURCE_ENGINE, NULL, issues, &r, &error));
  g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_NO_ENGINE);
  g_clear_error (&error);

  /* The text-only baseline: subtitles that share the query's words. */
  {
    static const struct { gint64 start, end; const char *text; } subs[] = {
      { 0, 10, "A is for apple" },           /* query "a": 1 of 1 word */
      { 21, 29, "and B, then b again" },     /* query "b" */
      { 30, 31, "nothing here" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
      {
        g_autoptr(VmTextSegment) seg = g_new0 (VmTextSegment, 1);

        seg->video_id = v;
        seg->start_ns = subs[i].start * SEC;
        seg->end_ns = subs[i].end * SEC;
        seg->source = VM_TEXT_SOURCE_SUBTITLE;
        seg->text = g_strdup (subs[i].text);
        seg->confidence = 1;
        g_assert_true (vm_catalog_add_text_segment (f->catalog, seg, &error));
        g_assert_no_error (error);
      }
    g_assert_true (vm_eval_set (f->catalog, "s", VM_EVAL_SOURCE_TEXT, NULL, issues, &r, &error));
    g_assert_no_error (error);
    /* a: [0, 10] exact; b: [21, 29] IoU .8; c: no match → the whole video,
     * IoU 10/60. */
    g_assert_cmpuint (r.n_queries, ==, 3);
    g_assert_cmpfloat_with_epsilon (r.r1[1], 2.0 / 3, 1e-12);
    g_assert_cmpfloat_with_epsilon (r.miou, (1 + 0.8 + 10.0 / 60) / 3, 1e-12);
    /* The saliency of q1 is flat over [0, 10): the first clip wins the tie,
     * and only clip 3 is rated 4 — a miss. */
    g_assert_cmpuint (r.n_highlight, ==, 1);
    g_assert_cmpfloat (r.hit1, ==, 0.0);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/datasets/schema", test_schema);
  ADD ("/datasets/queries", test_queries);
  ADD ("/datasets/annotation-qids", test_annotation_qids);
  ADD ("/datasets/videos-kept", test_videos_kept);
  ADD ("/datasets/import/matching", test_import_matching);
  ADD ("/datasets/import/transaction", test_import_transaction);
  ADD ("/datasets/export/naming-and-split", test_export_naming_and_split);
  ADD ("/datasets/eval-set", test_eval_set);
#undef ADD
  g_test_add_func ("/datasets/upgrade-from-1", test_upgrade_from_1);
  for (VmFormat format = 0; format <= VM_FORMAT_LAST; format++)
    if (vm_format_can_export (format))
      {
        g_autofree char *path = g_strdup_printf ("/datasets/round-trip/%s", vm_format_to_string (format));
        g_test_add_data_func (path, GINT_TO_POINTER (format), test_round_trip);
      }

  return g_test_run ();
}
