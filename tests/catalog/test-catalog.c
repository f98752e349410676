/* test-catalog.c — the SQLite catalog: migrations, refusal of foreign or
 * newer files, CRUD of every table, FTS search, embeddings storage.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "catalog/vm-catalog.h"
#include "core/vm-core.h"

#include "../vm-test-util.h"

#define SEC VM_NSEC_PER_SEC

/* ---- Helpers ----------------------------------------------------------- */

typedef struct {
  char *dir;
} TmpDir;

static void
tmp_dir_setup (TmpDir        *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("vidmark-catalog-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
tmp_dir_teardown (TmpDir        *fixture,
                  gconstpointer  data)
{
  vm_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static char *
file_checksum (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The sorted names in @dir, joined by spaces. */
static char *
dir_listing (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* Runs @sql on the file with a plain SQLite connection and returns the
 * integer in its first column (-1 without a row). */
static gint64
raw_int (const char *path,
         const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;
  int rc;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static void
raw_exec (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_close (db);
}

static VmCatalog *
open_memory (void)
{
  g_autoptr(GError) error = NULL;
  VmCatalog *catalog = vm_catalog_open (":memory:", &error);

  g_assert_no_error (error);
  g_assert_nonnull (catalog);
  return catalog;
}

static gint64
add_video (VmCatalog  *catalog,
           gint64      folder_id,
           const char *path,
           const char *fingerprint)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmVideo) video = vm_video_new ();

  video->folder_id = folder_id;
  video->path = g_strdup (path);
  video->fingerprint = g_strdup (fingerprint);
  video->duration_ns = 10 * SEC;
  g_assert_true (vm_catalog_save_video (catalog, video, &error));
  g_assert_no_error (error);
  g_assert_cmpint (video->id, >, 0);
  return video->id;
}

static void
set_frames (VmCatalog *catalog,
            gint64     video_id,
            guint      n)
{
  g_autoptr(GError) error = NULL;
  g_autofree VmFrameRecord *frames = g_new0 (VmFrameRecord, n);

  for (guint i = 0; i < n; i++)
    {
      frames[i].pts_ns = (gint64) i * SEC / 2;
      frames[i].keyframe = i % 10 == 0;
      frames[i].shot_id = (int) (i / 50);
    }
  g_assert_true (vm_catalog_replace_frames (catalog, video_id, frames, n, &error));
  g_assert_no_error (error);
}

static gint64
add_annotation (VmCatalog  *catalog,
                gint64      set_id,
                gint64      video_id,
                gint64      start_ns,
                gint64      end_ns,
                const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmAnnotation) annotation = vm_annotation_new ();

  annotation->set_id = set_id;
  annotation->video_id = video_id;
  annotation->start_ns = start_ns;
  annotation->end_ns = end_ns;
  annotation->text = g_strdup (text);
  g_assert_true (vm_catalog_save_annotation (catalog, annotation, &error));
  g_assert_no_error (error);
  return annotation->id;
}

static void
add_text (VmCatalog    *catalog,
          gint64        video_id,
          VmTextSource  source,
          gint64        start_s,
          const char   *text)
{
  g_autoptr(GError) error = NULL;
  VmTextSegment segment = { 0, };

  segment.video_id = video_id;
  segment.start_ns = start_s * SEC;
  segment.end_ns = (start_s + 2) * SEC;
  segment.source = source;
  segment.language = (char *) "en";
  segment.text = (char *) text;
  segment.confidence = source == VM_TEXT_SOURCE_SUBTITLE ? 1.0 : 0.8;
  g_assert_true (vm_catalog_add_text_segment (catalog, &segment, &error));
  g_assert_no_error (error);
  g_assert_cmpint (segment.id, >, 0);
}

/* A small pseudo-random generator, so that the data is reproducible. */
static guint32
next_random (guint32 *state)
{
  *state ^= *state << 13;
  *state ^= *state >> 17;
  *state ^= *state << 5;
  return *state;
}

/* ---- Migrations and opening -------------------------------------------- */

static void
test_migrations_memory (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();

  g_assert_cmpint (vm_catalog_get_latest_version (), >=, 1);
  g_assert_cmpint (vm_catalog_get_schema_version (catalog), ==, vm_catalog_get_latest_version ());
  g_assert_cmpstr (vm_catalog_get_path (catalog), ==, ":memory:");
}

static void
test_migrations_file (TmpDir        *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *parent = g_build_filename (fixture->dir, "deeper", "vidmark", NULL);
  g_autofree char *path = g_build_filename (parent, "catalog.sqlite", NULL);
  g_autofree char *header = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  gint64 folder_id = 0;
  GStatBuf st;

  {
    g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (catalog), ==, vm_catalog_get_latest_version ());
    g_assert_true (vm_catalog_add_folder (catalog, "/media/videos", &folder_id, &error));
    g_assert_no_error (error);
  }

  /* The missing parent folder was created, private to the user. */
  g_assert_cmpint (g_stat (parent, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* Schema version, WAL mode (bytes 18 and 19 of the header are 2). */
  g_assert_cmpint (raw_int (path, "PRAGMA user_version"), ==, vm_catalog_get_latest_version ());
  g_assert_true (g_file_get_contents (path, &header, NULL, NULL));
  g_assert_cmpint (header[18], ==, 2);
  g_assert_cmpint (header[19], ==, 2);
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM sqlite_master WHERE name = 'text_fts'"), ==, 1);

  /* Opening again changes nothing and keeps the data. */
  {
    g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (catalog), ==, vm_catalog_get_latest_version ());
    folders = vm_catalog_list_folders (catalog, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (folders->len, ==, 1);
    g_assert_cmpint (((VmFolder *) folders->pdata[0])->id, ==, folder_id);
  }
  g_assert_cmpint (raw_int (path, "PRAGMA user_version"), ==, vm_catalog_get_latest_version ());
}

static void
test_migrations_idempotent_memory_list (TmpDir        *fixture,
                                        gconstpointer  data)
{
  static const char * const migrations[] = {
    "CREATE TABLE a (x INTEGER);",
    "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (42);",
    NULL,
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "two.sqlite", NULL);

  for (int round = 0; round < 2; round++)
    {
      g_autoptr(VmCatalog) catalog = vm_catalog_open_with_migrations (path, migrations, &error);

      g_assert_no_error (error);
      g_assert_cmpint (vm_catalog_get_schema_version (catalog), ==, 2);
    }
  /* The data migration ran once. */
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM b"), ==, 1);

  {
    g_autoptr(VmCatalog) catalog = vm_catalog_open_with_migrations (":memory:", migrations, &error);

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (catalog), ==, 2);
  }
}

static void
test_migrations_failing (TmpDir        *fixture,
                         gconstpointer  data)
{
  static const char * const good[] = {
    "CREATE TABLE a (x INTEGER);",
    NULL,
  };
  static const char * const broken[] = {
    "CREATE TABLE a (x INTEGER);",
    "CREATE TABLE b (y INTEGER); ALTER TABLE a ADD COLUMN z INTEGER; CREATE TABLE oops syntax error;",
    NULL,
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "broken.sqlite", NULL);
  g_autoptr(VmCatalog) catalog = NULL;

  catalog = vm_catalog_open_with_migrations (path, broken, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_MIGRATION);
  g_assert_null (catalog);
  g_test_message ("error: %s", error->message);
  g_clear_error (&error);

  /* Version 1 with exactly the schema of version 1. */
  g_assert_cmpint (raw_int (path, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM sqlite_master WHERE name = 'a'"), ==, 1);
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM sqlite_master WHERE name = 'b'"), ==, 0);
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM pragma_table_info('a')"), ==, 1);

  /* The program that knows version 1 opens it. */
  catalog = vm_catalog_open_with_migrations (path, good, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vm_catalog_get_schema_version (catalog), ==, 1);
  g_clear_object (&catalog);

  /* The same in memory. */
  catalog = vm_catalog_open_with_migrations (":memory:", broken, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_MIGRATION);
  g_assert_null (catalog);
}

static void
test_open_too_new (TmpDir        *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "catalog.sqlite", NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autofree char *listing_before = NULL, *listing_after = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(VmCatalog) catalog = NULL;
  int newer = vm_catalog_get_latest_version () + 3;

  catalog = vm_catalog_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (catalog, "/media/videos", NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&catalog);

  /* A newer Vidmark migrated it further. */
  sql = g_strdup_printf ("CREATE TABLE future (x INTEGER); PRAGMA user_version = %d;", newer);
  raw_exec (path, sql);

  before = file_checksum (path);
  listing_before = dir_listing (fixture->dir);

  catalog = vm_catalog_open (path, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_TOO_NEW);
  g_assert_null (catalog);
  g_test_message ("error: %s", error->message);
  expected = g_strdup_printf ("was written by a newer version of Vidmark (schema %d, this program knows %d)",
                              newer, vm_catalog_get_latest_version ());
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_nonnull (strstr (error->message, path));

  after = file_checksum (path);
  listing_after = dir_listing (fixture->dir);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpstr (listing_before, ==, listing_after);
  g_assert_cmpint (raw_int (path, "PRAGMA user_version"), ==, newer);
}

/* A newer Vidmark left its migration in the WAL, not yet checkpointed: the
 * file header still says the old version, SQLite sees the new one.  Refused,
 * and neither the file nor the WAL is changed (no checkpoint on close). */
static void
test_open_too_new_in_wal (TmpDir        *fixture,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "catalog.sqlite", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *sql = NULL;
  g_autofree char *header = NULL;
  g_autofree char *main_before = NULL, *wal_before = NULL;
  g_autofree char *main_after = NULL, *wal_after = NULL;
  g_autoptr(VmCatalog) catalog = NULL;
  int newer = vm_catalog_get_latest_version () + 1;
  sqlite3 *db = NULL;

  catalog = vm_catalog_open (path, &error);
  g_assert_no_error (error);
  g_clear_object (&catalog);

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
  sql = g_strdup_printf ("CREATE TABLE future (x INTEGER); PRAGMA user_version = %d;", newer);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (path, &header, NULL, NULL));
  g_assert_cmpint (header[63], ==, vm_catalog_get_latest_version ());
  main_before = file_checksum (path);
  wal_before = file_checksum (wal);

  catalog = vm_catalog_open (path, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_TOO_NEW);
  g_assert_null (catalog);
  g_test_message ("error: %s", error->message);

  main_after = file_checksum (path);
  wal_after = file_checksum (wal);
  g_assert_cmpstr (main_before, ==, main_after);
  g_assert_cmpstr (wal_before, ==, wal_after);
  g_assert_cmpint (raw_int (path, "PRAGMA user_version"), ==, newer);
}

static gpointer
open_in_thread_cb (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmCatalog) catalog = vm_catalog_open (data, &error);

  g_assert_no_error (error);
  g_assert_cmpint (vm_catalog_get_schema_version (catalog), ==, vm_catalog_get_latest_version ());
  g_assert_true (vm_catalog_add_folder (catalog, "/shared", NULL, &error));
  g_assert_no_error (error);
  return NULL;
}

/* Several connections creating the same catalog at once: one migrates, the
 * others wait and find it done. */
static void
test_open_concurrent (TmpDir        *fixture,
                      gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "new", "catalog.sqlite", NULL);
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("open", open_in_thread_cb, path);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  g_assert_cmpint (raw_int (path, "PRAGMA user_version"), ==, vm_catalog_get_latest_version ());
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM folders"), ==, 1);
}

static void
test_open_foreign (TmpDir        *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *garbage = g_build_filename (fixture->dir, "garbage.sqlite", NULL);
  g_autofree char *other = g_build_filename (fixture->dir, "other.sqlite", NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autofree char *listing_before = NULL, *listing_after = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(VmCatalog) catalog = NULL;

  /* Not SQLite at all. */
  for (guint i = 0; i < 400; i++)
    g_string_append_printf (text, "line %u of something that is not a database\n", i);
  g_assert_true (g_file_set_contents (garbage, text->str, (gssize) text->len, NULL));
  before = file_checksum (garbage);
  listing_before = dir_listing (fixture->dir);

  catalog = vm_catalog_open (garbage, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN);
  g_assert_null (catalog);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "not a Vidmark catalog"));
  g_clear_error (&error);

  after = file_checksum (garbage);
  listing_after = dir_listing (fixture->dir);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpstr (listing_before, ==, listing_after);
  g_clear_pointer (&before, g_free);
  g_clear_pointer (&after, g_free);

  /* Another program's SQLite database. */
  raw_exec (other, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');");
  before = file_checksum (other);
  catalog = vm_catalog_open (other, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN);
  g_assert_null (catalog);
  g_clear_error (&error);
  after = file_checksum (other);
  g_assert_cmpstr (before, ==, after);

  /* Another program's database that uses user_version too, or a negative
   * one: not ours, rather than "too new". */
  {
    static const char * const pragmas[] = { "PRAGMA user_version = 99", "PRAGMA user_version = -1" };

    for (guint i = 0; i < G_N_ELEMENTS (pragmas); i++)
      {
        g_autofree char *name = g_strdup_printf ("versioned-%u.sqlite", i);
        g_autofree char *versioned = g_build_filename (fixture->dir, name, NULL);
        g_autofree char *sum_before = NULL, *sum_after = NULL;

        raw_exec (versioned, pragmas[i]);
        sum_before = file_checksum (versioned);
        catalog = vm_catalog_open (versioned, &error);
        g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN);
        g_assert_null (catalog);
        g_test_message ("error: %s", error->message);
        g_clear_error (&error);
        sum_after = file_checksum (versioned);
        g_assert_cmpstr (sum_before, ==, sum_after);
      }
  }

  /* A folder where the file should be. */
  catalog = vm_catalog_open (fixture->dir, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN);
  g_assert_null (catalog);
}

/* ---- Folders and videos ------------------------------------------------ */

static void
test_folders (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  gint64 a = 0, b = 0, again = 0;

  g_assert_true (vm_catalog_add_folder (catalog, "/srv/videos/b", &b, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (catalog, "/srv/videos/a", &a, &error));
  g_assert_no_error (error);
  g_assert_cmpint (a, !=, b);

  /* Idempotent, on the canonical path. */
  g_assert_true (vm_catalog_add_folder (catalog, "/srv/videos/a/", &again, &error));
  g_assert_no_error (error);
  g_assert_cmpint (again, ==, a);
  g_assert_true (vm_catalog_add_folder (catalog, "/srv/videos/./x/../a", &again, &error));
  g_assert_no_error (error);
  g_assert_cmpint (again, ==, a);

  g_assert_false (vm_catalog_add_folder (catalog, "relative/path", &again, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);

  folders = vm_catalog_list_folders (catalog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (folders->len, ==, 2);
  g_assert_cmpstr (((VmFolder *) folders->pdata[0])->path, ==, "/srv/videos/a");
  g_assert_cmpstr (((VmFolder *) folders->pdata[1])->path, ==, "/srv/videos/b");
  g_assert_cmpint (((VmFolder *) folders->pdata[0])->added_at, >, 0);

  g_assert_false (vm_catalog_remove_folder (catalog, "/srv/elsewhere", &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (vm_catalog_remove_folder (catalog, "/srv/videos/b/", &error));
  g_assert_no_error (error);
  g_clear_pointer (&folders, g_ptr_array_unref);
  folders = vm_catalog_list_folders (catalog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (folders->len, ==, 1);
}

static void
test_video_status_strings (void)
{
  for (int s = VM_VIDEO_STATUS_NEW; s <= VM_VIDEO_STATUS_MISSING; s++)
    {
      VmVideoStatus back = VM_VIDEO_STATUS_NEW;
      const char *name = vm_video_status_to_string (s);

      g_assert_nonnull (name);
      g_assert_true (vm_video_status_from_string (name, &back));
      g_assert_cmpint (back, ==, s);
    }
  g_assert_cmpstr (vm_video_status_to_string (VM_VIDEO_STATUS_INDEXED), ==, "indexed");
  g_assert_false (vm_video_status_from_string ("bogus", NULL));
  g_assert_false (vm_video_status_from_string (NULL, NULL));
  g_assert_null (vm_video_status_to_string (99));

  g_assert_cmpstr (vm_text_source_to_string (VM_TEXT_SOURCE_SUBTITLE), ==, "subtitle");
  g_assert_cmpstr (vm_text_source_to_string (VM_TEXT_SOURCE_OCR), ==, "ocr");
  g_assert_cmpstr (vm_text_source_to_string (VM_TEXT_SOURCE_SPEECH), ==, "speech");
}

static void
test_videos (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(VmVideo) video = vm_video_new ();
  g_autoptr(VmVideo) copy = NULL;
  g_autoptr(VmVideo) got = NULL;
  g_autoptr(GPtrArray) list = NULL;
  gint64 folder = 0, other;

  g_assert_true (vm_catalog_add_folder (catalog, "/v", &folder, &error));
  g_assert_no_error (error);

  video->folder_id = folder;
  video->path = g_strdup ("/v/holiday.mkv");
  video->size = 123456789;
  video->mtime_us = G_GINT64_CONSTANT (1700000000123456);
  video->fingerprint = g_strdup ("abc123");
  video->duration_ns = 95 * SEC + 5;
  video->width = 1920;
  video->height = 1080;
  video->fps_num = 30000;
  video->fps_den = 1001;
  video->container = g_strdup ("matroska");
  video->video_codec = g_strdup ("h264");
  video->audio_codec = g_strdup ("opus");
  video->has_audio = TRUE;
  video->status = VM_VIDEO_STATUS_PROBED;
  g_assert_true (vm_catalog_save_video (catalog, video, &error));
  g_assert_no_error (error);
  g_assert_cmpint (video->id, >, 0);
  g_assert_cmpint (video->added_at, >, 0);

  got = vm_catalog_get_video (catalog, video->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->folder_id, ==, folder);
  g_assert_cmpstr (got->path, ==, "/v/holiday.mkv");
  g_assert_cmpint (got->size, ==, 123456789);
  g_assert_cmpint (got->mtime_us, ==, video->mtime_us);
  g_assert_cmpstr (got->fingerprint, ==, "abc123");
  g_assert_cmpint (got->duration_ns, ==, 95 * SEC + 5);
  g_assert_cmpint (got->width, ==, 1920);
  g_assert_cmpint (got->height, ==, 1080);
  g_assert_cmpint (got->fps_num, ==, 30000);
  g_assert_cmpint (got->fps_den, ==, 1001);
  g_assert_cmpstr (got->container, ==, "matroska");
  g_assert_cmpstr (got->video_codec, ==, "h264");
  g_assert_cmpstr (got->audio_codec, ==, "opus");
  g_assert_true (got->has_audio);
  g_assert_cmpint (got->status, ==, VM_VIDEO_STATUS_PROBED);
  g_assert_null (got->error_message);
  g_assert_cmpint (got->added_at, ==, video->added_at);
  g_assert_cmpuint (got->n_frames, ==, 0);
  g_clear_pointer (&got, vm_video_free);

  /* Copy and update. */
  copy = vm_video_copy (video);
  g_assert_cmpstr (copy->path, ==, video->path);
  g_assert_true (copy->path != video->path);
  copy->width = 1280;
  g_clear_pointer (&copy->audio_codec, g_free);
  copy->has_audio = FALSE;
  g_assert_true (vm_catalog_save_video (catalog, copy, &error));
  g_assert_no_error (error);
  g_assert_cmpint (copy->id, ==, video->id);

  /* An update without added_at keeps the stored one. */
  copy->added_at = 0;
  g_assert_true (vm_catalog_save_video (catalog, copy, &error));
  g_assert_no_error (error);
  g_assert_cmpint (copy->added_at, ==, video->added_at);

  /* Paths are stored canonical and looked up the same way. */
  got = vm_catalog_find_video_by_path (catalog, "/v/./sub/../holiday.mkv", &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_cmpint (got->id, ==, video->id);
  g_assert_cmpint (got->added_at, ==, video->added_at);
  g_assert_cmpint (got->width, ==, 1280);
  g_assert_null (got->audio_codec);
  g_assert_false (got->has_audio);
  g_clear_pointer (&got, vm_video_free);

  got = vm_catalog_find_video_by_path (catalog, "/v/nothing.mkv", &error);
  g_assert_no_error (error);
  g_assert_null (got);

  /* Status round trip with an error message. */
  g_assert_true (vm_catalog_set_video_status (catalog, video->id, VM_VIDEO_STATUS_ERROR,
                                              "no decoder for h265", &error));
  g_assert_no_error (error);
  got = vm_catalog_get_video (catalog, video->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->status, ==, VM_VIDEO_STATUS_ERROR);
  g_assert_cmpstr (got->error_message, ==, "no decoder for h265");
  g_assert_cmpint (got->indexed_at, ==, 0);
  g_clear_pointer (&got, vm_video_free);

  g_assert_true (vm_catalog_set_video_status (catalog, video->id, VM_VIDEO_STATUS_INDEXED, NULL, &error));
  g_assert_no_error (error);
  got = vm_catalog_get_video (catalog, video->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->status, ==, VM_VIDEO_STATUS_INDEXED);
  g_assert_null (got->error_message);
  g_assert_cmpint (got->indexed_at, >, 0);
  g_clear_pointer (&got, vm_video_free);

  g_assert_false (vm_catalog_set_video_status (catalog, 9999, VM_VIDEO_STATUS_NEW, NULL, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Same content elsewhere: found by fingerprint. */
  other = add_video (catalog, 0, "/elsewhere/holiday-copy.mkv", "abc123");
  add_video (catalog, folder, "/v/another.mkv", "zzz");
  list = vm_catalog_find_videos_by_fingerprint (catalog, "abc123", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpint (((VmVideo *) list->pdata[0])->id, ==, other);
  g_assert_cmpint (((VmVideo *) list->pdata[0])->folder_id, ==, 0);
  g_assert_cmpint (((VmVideo *) list->pdata[1])->id, ==, video->id);
  g_clear_pointer (&list, g_ptr_array_unref);

  list = vm_catalog_find_videos_by_fingerprint (catalog, "none", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);

  list = vm_catalog_list_videos (catalog, folder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((VmVideo *) list->pdata[0])->path, ==, "/v/another.mkv");
  g_assert_cmpstr (((VmVideo *) list->pdata[1])->path, ==, "/v/holiday.mkv");
  g_clear_pointer (&list, g_ptr_array_unref);

  list = vm_catalog_list_videos (catalog, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Paths are unique. */
  {
    g_autoptr(VmVideo) dup = vm_video_new ();

    dup->path = g_strdup ("/v/holiday.mkv");
    g_assert_false (vm_catalog_save_video (catalog, dup, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_test_message ("error: %s", error->message);
    g_clear_error (&error);
    g_assert_cmpint (dup->id, ==, 0);

    g_free (dup->path);
    dup->path = g_strdup ("not/absolute.mkv");
    g_assert_false (vm_catalog_save_video (catalog, dup, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);

    g_free (dup->path);
    dup->path = g_strdup ("/v/unknown-id.mkv");
    dup->id = 4242;
    g_assert_false (vm_catalog_save_video (catalog, dup, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
    g_clear_error (&error);

    /* A folder that does not exist violates the foreign key. */
    dup->id = 0;
    dup->folder_id = 777;
    g_assert_false (vm_catalog_save_video (catalog, dup, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);
  }

  got = vm_catalog_get_video (catalog, 9999, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_assert_null (got);
}

static void
test_video_delete (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GArray) frames = NULL;
  gint64 video, set = 0, annotation;

  video = add_video (catalog, 0, "/v/a.mp4", NULL);
  set_frames (catalog, video, 20);
  {
    guint16 emb[20 * 2] = { 0, };
    gint64 model = 0;

    g_assert_true (vm_catalog_ensure_model (catalog, "m", 2, NULL, &model, &error));
    g_assert_true (vm_catalog_put_embeddings (catalog, video, model, 0, 20, 2, emb, &error));
    g_assert_no_error (error);
  }
  add_text (catalog, video, VM_TEXT_SOURCE_SUBTITLE, 1, "a zebra crossing");
  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "mine", &set, &error));
  g_assert_no_error (error);
  annotation = add_annotation (catalog, set, video, 0, SEC, "zebra");

  /* Annotations block the deletion. */
  g_assert_false (vm_catalog_delete_video (catalog, video, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_test_message ("error: %s", error->message);
  g_clear_error (&error);
  {
    g_autoptr(VmVideo) still = vm_catalog_get_video (catalog, video, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (still->n_frames, ==, 20);
  }

  g_assert_true (vm_catalog_delete_annotation (catalog, annotation, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_delete_video (catalog, video, &error));
  g_assert_no_error (error);

  /* Frames and text went with it, the FTS index too. */
  frames = vm_catalog_get_frames (catalog, video, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frames->len, ==, 0);
  hits = vm_catalog_search_text (catalog, "zebra", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 0);
  {
    VmCatalogStats stats;

    g_assert_true (vm_catalog_get_stats (catalog, &stats, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (stats.n_videos, ==, 0);
    g_assert_cmpuint (stats.n_embeddings, ==, 0);
    g_assert_cmpuint (stats.n_text_segments, ==, 0);
  }

  g_assert_false (vm_catalog_delete_video (catalog, video, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
}

static void
test_remove_folder_keeps_annotated (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GArray) frames = NULL;
  g_autoptr(VmVideo) kept = NULL;
  gint64 folder = 0, keep_folder = 0, set = 0, model = 0;
  gint64 annotated, plain, elsewhere;
  guint16 emb[4 * 8] = { 0, };

  g_assert_true (vm_catalog_add_folder (catalog, "/gone", &folder, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/stays", &keep_folder, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_ensure_model (catalog, "tiny", 8, "d1", &model, &error));
  g_assert_no_error (error);

  annotated = add_video (catalog, folder, "/gone/annotated.mp4", "f1");
  plain = add_video (catalog, folder, "/gone/plain.mp4", "f2");
  elsewhere = add_video (catalog, keep_folder, "/stays/x.mp4", "f3");
  for (gint64 v = annotated; v <= elsewhere; v++)
    {
      set_frames (catalog, v, 4);
      g_assert_true (vm_catalog_put_embeddings (catalog, v, model, 0, 4, 8, emb, &error));
      g_assert_no_error (error);
      add_text (catalog, v, VM_TEXT_SOURCE_OCR, 0, "giraffe");
    }
  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "mine", &set, &error));
  g_assert_no_error (error);
  add_annotation (catalog, set, annotated, SEC, 2 * SEC, "a giraffe eats");

  g_assert_true (vm_catalog_remove_folder (catalog, "/gone", &error));
  g_assert_no_error (error);

  kept = vm_catalog_get_video (catalog, annotated, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kept->status, ==, VM_VIDEO_STATUS_MISSING);
  g_assert_cmpint (kept->folder_id, ==, 0);
  g_assert_cmpuint (kept->n_frames, ==, 0);
  frames = vm_catalog_get_frames (catalog, annotated, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frames->len, ==, 0);
  {
    guint n = 99;
    g_autoptr(GBytes) bytes = vm_catalog_get_embeddings (catalog, annotated, model, &n, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (n, ==, 0);
    g_assert_cmpuint (g_bytes_get_size (bytes), ==, 0);
  }

  {
    g_autoptr(VmVideo) gone = vm_catalog_get_video (catalog, plain, &error);
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
    g_assert_null (gone);
    g_clear_error (&error);
  }

  list = vm_catalog_list_annotations (catalog, 0, annotated, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpstr (((VmAnnotation *) list->pdata[0])->text, ==, "a giraffe eats");
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Only the video of the other folder still has text. */
  hits = vm_catalog_search_text (catalog, "giraffe", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (((VmTextSegment *) hits->pdata[0])->video_id, ==, elsewhere);

  list = vm_catalog_list_folders (catalog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
}

/* ---- Frames and embeddings --------------------------------------------- */

static void
test_frames (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) frames = NULL;
  VmFrameRecord bad[] = { { 0, TRUE, 0 }, { 100, FALSE, 0 }, { 100, FALSE, 0 } };
  gint64 video = add_video (catalog, 0, "/v/frames.mp4", NULL);

  set_frames (catalog, video, 30);
  frames = vm_catalog_get_frames (catalog, video, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frames->len, ==, 30);
  g_assert_cmpint (g_array_index (frames, VmFrameRecord, 3).pts_ns, ==, 3 * SEC / 2);
  g_assert_true (g_array_index (frames, VmFrameRecord, 10).keyframe);
  g_assert_false (g_array_index (frames, VmFrameRecord, 11).keyframe);
  g_clear_pointer (&frames, g_array_unref);

  /* Replaced, not appended. */
  set_frames (catalog, video, 7);
  frames = vm_catalog_get_frames (catalog, video, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frames->len, ==, 7);
  {
    g_autoptr(VmVideo) got = vm_catalog_get_video (catalog, video, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (got->n_frames, ==, 7);
  }

  /* Timestamps must increase; the old frames stay. */
  g_assert_false (vm_catalog_replace_frames (catalog, video, bad, G_N_ELEMENTS (bad), &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_replace_frames (catalog, 12345, bad, 1, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&frames, g_array_unref);
  frames = vm_catalog_get_frames (catalog, video, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frames->len, ==, 7);

  /* Empty is allowed. */
  g_assert_true (vm_catalog_replace_frames (catalog, video, NULL, 0, &error));
  g_assert_no_error (error);
}

static void
test_models (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;
  gint64 a = 0, b = 0, again = 0;

  g_assert_true (vm_catalog_ensure_model (catalog, "clip-b32", 512, "sha256:aa", &a, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_ensure_model (catalog, "clip-b32", 512, "sha256:aa", &again, &error));
  g_assert_no_error (error);
  g_assert_cmpint (a, ==, again);
  g_assert_true (vm_catalog_ensure_model (catalog, "clip-l14", 768, NULL, &b, &error));
  g_assert_no_error (error);
  g_assert_cmpint (a, !=, b);

  g_assert_false (vm_catalog_ensure_model (catalog, "clip-b32", 768, "sha256:aa", &again, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_ensure_model (catalog, "clip-b32", 512, "sha256:bb", &again, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_ensure_model (catalog, "zero", 0, NULL, &again, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);

  models = vm_catalog_list_models (catalog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 2);
  g_assert_cmpstr (((VmModelRecord *) models->pdata[0])->name, ==, "clip-b32");
  g_assert_cmpint (((VmModelRecord *) models->pdata[0])->dim, ==, 512);
  g_assert_cmpstr (((VmModelRecord *) models->pdata[0])->digest, ==, "sha256:aa");
  g_assert_null (((VmModelRecord *) models->pdata[1])->digest);
}

static void
check_embeddings (VmCatalog     *catalog,
                  gint64         video,
                  gint64         model,
                  const guint16 *expected,
                  guint          expected_first,
                  guint          expected_n,
                  guint          dim)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint n = 0, first = 12345;

  bytes = vm_catalog_get_embeddings (catalog, video, model, &n, &first, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, expected_n);
  if (expected_n > 0)
    g_assert_cmpuint (first, ==, expected_first);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   expected + (gsize) expected_first * dim, (gsize) expected_n * dim * sizeof (guint16));
}

static void
test_embeddings (TmpDir        *fixture,
                 gconstpointer  data)
{
  const guint dim = 24, n_frames = 700;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "emb.sqlite", NULL);
  g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);
  g_autofree guint16 *values = g_new (guint16, (gsize) n_frames * dim);
  g_autofree guint16 *other = g_new (guint16, (gsize) n_frames * dim);
  guint32 state = 12345;
  gint64 video, model = 0, model2 = 0;

  g_assert_no_error (error);
  for (gsize i = 0; i < (gsize) n_frames * dim; i++)
    {
      values[i] = (guint16) next_random (&state);   /* any bits, NaNs included */
      other[i] = (guint16) next_random (&state);
    }

  video = add_video (catalog, 0, "/v/emb.mp4", NULL);
  set_frames (catalog, video, n_frames);
  g_assert_true (vm_catalog_ensure_model (catalog, "m", (int) dim, "x", &model, &error));
  g_assert_true (vm_catalog_ensure_model (catalog, "m2", (int) dim, "y", &model2, &error));
  g_assert_no_error (error);

  /* Nothing yet. */
  check_embeddings (catalog, video, model, values, 0, 0, dim);

  /* Several puts of odd sizes, out of order, fill all frames. */
  g_assert_true (vm_catalog_put_embeddings (catalog, video, model, 100, 300, dim, values + 100 * dim, &error));
  g_assert_no_error (error);
  check_embeddings (catalog, video, model, values, 100, 300, dim);
  g_assert_true (vm_catalog_put_embeddings (catalog, video, model, 0, 100, dim, values, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_put_embeddings (catalog, video, model, 400, 300, dim, values + 400 * dim, &error));
  g_assert_no_error (error);
  check_embeddings (catalog, video, model, values, 0, n_frames, dim);

  /* Stored compactly: one row per 256 frames, however they were put. */
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM embeddings WHERE model_id = 1"), ==, 3);
  g_assert_cmpint (raw_int (path, "SELECT max(n_frames) FROM embeddings"), ==, VM_CATALOG_EMBEDDING_CHUNK);

  /* Another model is separate. */
  g_assert_true (vm_catalog_put_embeddings (catalog, video, model2, 0, n_frames, dim, other, &error));
  g_assert_no_error (error);
  check_embeddings (catalog, video, model2, other, 0, n_frames, dim);
  check_embeddings (catalog, video, model, values, 0, n_frames, dim);

  /* A re-put replaces what it covers, across a chunk boundary. */
  memcpy (values + 250 * dim, other + 250 * dim, 20 * dim * sizeof (guint16));
  g_assert_true (vm_catalog_put_embeddings (catalog, video, model, 250, 20, dim, values + 250 * dim, &error));
  g_assert_no_error (error);
  check_embeddings (catalog, video, model, values, 0, n_frames, dim);
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM embeddings WHERE model_id = 1"), ==, 3);

  /* Bad arguments. */
  g_assert_false (vm_catalog_put_embeddings (catalog, video, model, 0, 10, dim + 1, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_put_embeddings (catalog, video, model, 0, 10, 0, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_put_embeddings (catalog, video, model, 0, 0, dim, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_put_embeddings (catalog, video, model, 690, 20, dim, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_test_message ("error: %s", error->message);
  g_clear_error (&error);
  g_assert_false (vm_catalog_put_embeddings (catalog, video, 999, 0, 10, dim, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (vm_catalog_put_embeddings (catalog, 999, model, 0, 10, dim, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  check_embeddings (catalog, video, model, values, 0, n_frames, dim);

  /* New frames drop the embeddings, which addressed the old ones. */
  set_frames (catalog, video, 500);
  check_embeddings (catalog, video, model, values, 0, 0, dim);
  check_embeddings (catalog, video, model2, other, 0, 0, dim);
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM embeddings"), ==, 0);

  /* Coverage starting later reports its first frame. */
  g_assert_true (vm_catalog_put_embeddings (catalog, video, model, 300, 150, dim, values + 300 * dim, &error));
  g_assert_no_error (error);
  check_embeddings (catalog, video, model, values, 300, 150, dim);
}

/* ---- Timed text -------------------------------------------------------- */

static gboolean
hits_contain (GPtrArray  *hits,
              const char *text)
{
  for (guint i = 0; i < hits->len; i++)
    if (g_strcmp0 (((VmTextSegment *) hits->pdata[i])->text, text) == 0)
      return TRUE;
  return FALSE;
}

static void
test_text_search (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  gint64 v1, v2;

  v1 = add_video (catalog, 0, "/v/1.mp4", NULL);
  v2 = add_video (catalog, 0, "/v/2.mp4", NULL);
  add_text (catalog, v1, VM_TEXT_SOURCE_SUBTITLE, 1, "The dog runs across the park");
  add_text (catalog, v1, VM_TEXT_SOURCE_SUBTITLE, 5, "A hot dog stand on the corner");
  add_text (catalog, v1, VM_TEXT_SOURCE_SPEECH, 9, "dogs and dogs and more dogs, dog dog dog");
  add_text (catalog, v2, VM_TEXT_SOURCE_OCR, 2, "Café de Flore");
  add_text (catalog, v2, VM_TEXT_SOURCE_SUBTITLE, 3, "The doghouse is hot, the dog is not");
  add_text (catalog, v2, VM_TEXT_SOURCE_SUBTITLE, 7, "nothing to see here");

  /* Prefix query. */
  hits = vm_catalog_search_text (catalog, "dog*", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 4);
  g_assert_true (hits_contain (hits, "The doghouse is hot, the dog is not"));
  for (guint i = 1; i < hits->len; i++)
    g_assert_cmpfloat (((VmTextSegment *) hits->pdata[i - 1])->rank, <=,
                       ((VmTextSegment *) hits->pdata[i])->rank);
  /* The segment saying it most often ranks first. */
  g_assert_cmpstr (((VmTextSegment *) hits->pdata[0])->text, ==, "dogs and dogs and more dogs, dog dog dog");
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Limit. */
  hits = vm_catalog_search_text (catalog, "dog*", 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 2);
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Phrase query: "hot dog" only where the words are adjacent. */
  hits = vm_catalog_search_text (catalog, "\"hot dog\"", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  {
    VmTextSegment *hit = hits->pdata[0];

    g_assert_cmpstr (hit->text, ==, "A hot dog stand on the corner");
    g_assert_cmpstr (hit->highlighted, ==, "A [hot dog] stand on the corner");
    g_assert_cmpint (hit->video_id, ==, v1);
    g_assert_cmpint (hit->start_ns, ==, 5 * SEC);
    g_assert_cmpint (hit->end_ns, ==, 7 * SEC);
    g_assert_cmpint (hit->source, ==, VM_TEXT_SOURCE_SUBTITLE);
    g_assert_cmpstr (hit->language, ==, "en");
    g_assert_cmpfloat (hit->confidence, ==, 1.0);
  }
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Diacritics fold both ways. */
  hits = vm_catalog_search_text (catalog, "cafe", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpstr (((VmTextSegment *) hits->pdata[0])->highlighted, ==, "[Café] de Flore");
  g_assert_cmpint (((VmTextSegment *) hits->pdata[0])->source, ==, VM_TEXT_SOURCE_OCR);
  g_clear_pointer (&hits, g_ptr_array_unref);
  hits = vm_catalog_search_text (catalog, "CAFÉ", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Malformed queries are errors, not crashes. */
  {
    static const char * const malformed[] = { "\"unterminated", "AND", "dog AND", "(dog", "dog:" , "*" };

    for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
      {
        hits = vm_catalog_search_text (catalog, malformed[i], 10, &error);
        g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
        g_assert_null (hits);
        g_test_message ("query %s: %s", malformed[i], error->message);
        g_clear_error (&error);
      }
  }
  hits = vm_catalog_search_text (catalog, "   ", 10, &error);
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_assert_null (hits);
  g_clear_error (&error);

  /* The statement is reusable after an error. */
  hits = vm_catalog_search_text (catalog, "park", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Listing and clearing by source keeps the index in sync. */
  hits = vm_catalog_list_text_segments (catalog, v1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 3);
  g_assert_cmpint (((VmTextSegment *) hits->pdata[0])->start_ns, ==, 1 * SEC);
  g_assert_cmpint (((VmTextSegment *) hits->pdata[2])->source, ==, VM_TEXT_SOURCE_SPEECH);
  g_clear_pointer (&hits, g_ptr_array_unref);

  g_assert_true (vm_catalog_clear_text_segments (catalog, v1, VM_TEXT_SOURCE_SPEECH, &error));
  g_assert_no_error (error);
  hits = vm_catalog_search_text (catalog, "dog*", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 3);
  g_clear_pointer (&hits, g_ptr_array_unref);

  g_assert_true (vm_catalog_clear_text_segments (catalog, v1, -1, &error));
  g_assert_no_error (error);
  hits = vm_catalog_search_text (catalog, "dog*", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (((VmTextSegment *) hits->pdata[0])->video_id, ==, v2);
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Validation. */
  {
    VmTextSegment bad = { 0, };

    bad.video_id = v2;
    bad.text = (char *) "x";
    bad.start_ns = 5;
    bad.end_ns = 4;
    g_assert_false (vm_catalog_add_text_segment (catalog, &bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);

    bad.end_ns = 6;
    bad.confidence = 1.5;
    g_assert_false (vm_catalog_add_text_segment (catalog, &bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);

    bad.confidence = 1.0;
    bad.video_id = 999;
    g_assert_false (vm_catalog_add_text_segment (catalog, &bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);
  }
}

/* The FTS index stays consistent with its content table through inserts,
 * deletes and the cascade from a deleted video. */
static void
test_text_fts_integrity (TmpDir        *fixture,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "fts.sqlite", NULL);
  g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);
  gint64 v1, v2;

  g_assert_no_error (error);
  v1 = add_video (catalog, 0, "/v/1.mp4", NULL);
  v2 = add_video (catalog, 0, "/v/2.mp4", NULL);
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *text = g_strdup_printf ("line %d about kittens and puppies", i);
      add_text (catalog, i % 2 ? v1 : v2, VM_TEXT_SOURCE_SUBTITLE, i, text);
    }
  g_assert_true (vm_catalog_clear_text_segments (catalog, v1, VM_TEXT_SOURCE_SUBTITLE, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_delete_video (catalog, v2, &error));
  g_assert_no_error (error);
  g_clear_object (&catalog);

  /* 'integrity-check' with rank 1 compares the index with the content. */
  raw_exec (path, "INSERT INTO text_fts (text_fts, rank) VALUES ('integrity-check', 1)");
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM text_fts WHERE text_fts MATCH 'kittens'"), ==, 0);
}

/* ---- Annotations ------------------------------------------------------- */

static void
test_annotations (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(VmAnnotation) annotation = vm_annotation_new ();
  gint64 set = 0, set2 = 0, again = 0, v1, v2, created;

  g_assert_cmpint (annotation->saliency, ==, -1);
  v1 = add_video (catalog, 0, "/v/1.mp4", NULL);
  v2 = add_video (catalog, 0, "/v/2.mp4", NULL);

  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "highlights", &set, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "highlights", &again, &error));
  g_assert_no_error (error);
  g_assert_cmpint (set, ==, again);
  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "other", &set2, &error));
  g_assert_no_error (error);
  g_assert_cmpint (set2, !=, set);
  g_assert_false (vm_catalog_ensure_annotation_set (catalog, "", &again, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);

  annotation->set_id = set;
  annotation->video_id = v1;
  annotation->start_ns = 2 * SEC;
  annotation->end_ns = 5 * SEC;
  annotation->text = g_strdup ("a man throws a frisbee");
  annotation->saliency = 3;
  g_assert_true (vm_catalog_save_annotation (catalog, annotation, &error));
  g_assert_no_error (error);
  g_assert_cmpint (annotation->id, >, 0);
  g_assert_cmpint (annotation->created_at, >, 0);
  g_assert_cmpint (annotation->modified_at, ==, annotation->created_at);
  created = annotation->created_at;

  add_annotation (catalog, set, v1, 0, SEC, "first");
  add_annotation (catalog, set2, v1, 1, 2, NULL);
  add_annotation (catalog, set, v2, 10, 20, "on v2");

  /* Update. */
  g_usleep (2000);
  annotation->end_ns = 6 * SEC;
  annotation->saliency = -1;
  annotation->created_at = 0;
  g_assert_true (vm_catalog_save_annotation (catalog, annotation, &error));
  g_assert_no_error (error);
  g_assert_cmpint (annotation->created_at, ==, created);
  g_assert_cmpint (annotation->modified_at, >, created);

  list = vm_catalog_list_annotations (catalog, set, v1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((VmAnnotation *) list->pdata[0])->text, ==, "first");
  {
    VmAnnotation *got = list->pdata[1];

    g_assert_cmpint (got->id, ==, annotation->id);
    g_assert_cmpint (got->set_id, ==, set);
    g_assert_cmpint (got->video_id, ==, v1);
    g_assert_cmpint (got->start_ns, ==, 2 * SEC);
    g_assert_cmpint (got->end_ns, ==, 6 * SEC);
    g_assert_cmpstr (got->text, ==, "a man throws a frisbee");
    g_assert_cmpint (got->saliency, ==, -1);
    g_assert_cmpint (got->created_at, ==, created);
    g_assert_cmpint (got->modified_at, ==, annotation->modified_at);
  }
  g_clear_pointer (&list, g_ptr_array_unref);

  list = vm_catalog_list_annotations (catalog, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 4);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = vm_catalog_list_annotations (catalog, set2, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_null (((VmAnnotation *) list->pdata[0])->text);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = vm_catalog_list_annotations (catalog, 0, v2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Validation: nothing is stored. */
  {
    g_autoptr(VmAnnotation) bad = vm_annotation_new ();

    bad->set_id = set;
    bad->video_id = v1;
    bad->start_ns = 5 * SEC;
    bad->end_ns = 5 * SEC;
    g_assert_false (vm_catalog_save_annotation (catalog, bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_test_message ("error: %s", error->message);
    g_clear_error (&error);

    bad->start_ns = 6 * SEC;
    g_assert_false (vm_catalog_save_annotation (catalog, bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);

    bad->start_ns = -1;
    g_assert_false (vm_catalog_save_annotation (catalog, bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);

    bad->start_ns = 0;
    bad->saliency = 7;
    g_assert_false (vm_catalog_save_annotation (catalog, bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_test_message ("error: %s", error->message);
    g_clear_error (&error);

    bad->saliency = 4;
    bad->video_id = 999;
    g_assert_false (vm_catalog_save_annotation (catalog, bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
    g_clear_error (&error);

    bad->video_id = v1;
    bad->set_id = 999;
    g_assert_false (vm_catalog_save_annotation (catalog, bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
    g_clear_error (&error);

    bad->set_id = set;
    bad->id = 4242;
    g_assert_false (vm_catalog_save_annotation (catalog, bad, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  list = vm_catalog_list_annotations (catalog, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 4);
  g_clear_pointer (&list, g_ptr_array_unref);

  g_assert_true (vm_catalog_delete_annotation (catalog, annotation->id, &error));
  g_assert_no_error (error);
  g_assert_false (vm_catalog_delete_annotation (catalog, annotation->id, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  list = vm_catalog_list_annotations (catalog, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* One by id. */
  {
    gint64 id = add_annotation (catalog, set2, v2, 3 * SEC, 4 * SEC, "single");
    g_autoptr(VmAnnotation) got = vm_catalog_get_annotation (catalog, id, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (got->text, ==, "single");
    g_assert_cmpint (got->video_id, ==, v2);
    g_assert_cmpint (got->end_ns, ==, 4 * SEC);
    g_assert_null (vm_catalog_get_annotation (catalog, annotation->id, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* Sets: listed with their counts, found without being created. */
  list = vm_catalog_list_annotation_sets (catalog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((VmAnnotationSet *) list->pdata[0])->name, ==, "highlights");
  g_assert_cmpuint (((VmAnnotationSet *) list->pdata[0])->n_annotations, ==, 2);
  g_assert_cmpstr (((VmAnnotationSet *) list->pdata[1])->name, ==, "other");
  g_assert_cmpuint (((VmAnnotationSet *) list->pdata[1])->n_annotations, ==, 2);
  g_assert_cmpint (((VmAnnotationSet *) list->pdata[1])->created_at, >, 0);
  g_clear_pointer (&list, g_ptr_array_unref);

  g_assert_true (vm_catalog_find_annotation_set (catalog, "other", &again, &error));
  g_assert_no_error (error);
  g_assert_cmpint (again, ==, set2);
  g_assert_false (vm_catalog_find_annotation_set (catalog, "nope", &again, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  list = vm_catalog_list_annotation_sets (catalog, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
}

/* ---- Transactions, locking, statistics --------------------------------- */

static guint
count_folders (VmCatalog *catalog)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = vm_catalog_list_folders (catalog, &error);

  g_assert_no_error (error);
  return folders->len;
}

static void
test_transactions (void)
{
  g_autoptr(VmCatalog) catalog = open_memory ();
  g_autoptr(GError) error = NULL;

  /* Nested commit: only the outer one writes. */
  g_assert_true (vm_catalog_begin (catalog, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/a", NULL, &error));
  g_assert_true (vm_catalog_begin (catalog, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/b", NULL, &error));
  g_assert_true (vm_catalog_commit (catalog, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_commit (catalog, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_folders (catalog), ==, 2);

  /* Plain rollback. */
  g_assert_true (vm_catalog_begin (catalog, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/c", NULL, &error));
  vm_catalog_rollback (catalog);
  g_assert_cmpuint (count_folders (catalog), ==, 2);

  /* An inner rollback dooms the outer commit. */
  g_assert_true (vm_catalog_begin (catalog, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/d", NULL, &error));
  g_assert_true (vm_catalog_begin (catalog, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/e", NULL, &error));
  vm_catalog_rollback (catalog);
  g_assert_true (vm_catalog_add_folder (catalog, "/f", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (vm_catalog_commit (catalog, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_SQL);
  g_clear_error (&error);
  g_assert_cmpuint (count_folders (catalog), ==, 2);
  /* The usual cleanup after a failed commit is harmless. */
  vm_catalog_rollback (catalog);

  /* An API call failing inside the caller's transaction dooms it too. */
  g_assert_true (vm_catalog_begin (catalog, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/g", NULL, &error));
  g_assert_false (vm_catalog_remove_folder (catalog, "/unknown", &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (vm_catalog_commit (catalog, &error));
  g_clear_error (&error);
  g_assert_cmpuint (count_folders (catalog), ==, 2);

  /* And the connection is usable afterwards. */
  g_assert_true (vm_catalog_begin (catalog, &error));
  g_assert_true (vm_catalog_add_folder (catalog, "/h", NULL, &error));
  g_assert_true (vm_catalog_commit (catalog, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_folders (catalog), ==, 3);
}

static void
test_busy (TmpDir        *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "busy.sqlite", NULL);
  g_autoptr(VmCatalog) writer = vm_catalog_open (path, &error);
  g_autoptr(VmCatalog) other = NULL;
  g_autoptr(GPtrArray) folders = NULL;

  g_assert_no_error (error);
  other = vm_catalog_open (path, &error);
  g_assert_no_error (error);
  vm_catalog_set_busy_timeout (other, 200);

  g_assert_true (vm_catalog_begin (writer, &error));
  g_assert_true (vm_catalog_add_folder (writer, "/a", NULL, &error));
  g_assert_no_error (error);

  /* WAL: the other connection reads the last committed state... */
  folders = vm_catalog_list_folders (other, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (folders->len, ==, 0);

  /* ...and cannot write until the busy timeout runs out. */
  {
    gint64 t0 = g_get_monotonic_time ();

    g_assert_false (vm_catalog_add_folder (other, "/b", NULL, &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_BUSY);
    g_test_message ("error after %.2f s: %s", (g_get_monotonic_time () - t0) / 1e6, error->message);
    g_assert_cmpint (g_get_monotonic_time () - t0, >=, 150 * 1000);
    g_clear_error (&error);
  }
  g_assert_false (vm_catalog_begin (other, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_BUSY);
  g_clear_error (&error);

  g_assert_true (vm_catalog_commit (writer, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (other, "/b", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_folders (writer), ==, 2);
}

static void
test_stats (TmpDir        *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "stats.sqlite", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);
  VmCatalogStats stats;
  gint64 folder = 0, set = 0, model = 0, v1, v2, v3;
  guint16 emb[10 * 4] = { 0, };
  GStatBuf st_main, st_wal;

  g_assert_no_error (error);
  g_assert_true (vm_catalog_get_stats (catalog, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.n_videos, ==, 0);
  g_assert_cmpuint (stats.n_folders, ==, 0);

  g_assert_true (vm_catalog_add_folder (catalog, "/v", &folder, &error));
  g_assert_true (vm_catalog_ensure_model (catalog, "m", 4, NULL, &model, &error));
  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "s", &set, &error));
  g_assert_no_error (error);
  v1 = add_video (catalog, folder, "/v/1.mp4", NULL);
  v2 = add_video (catalog, folder, "/v/2.mp4", NULL);
  v3 = add_video (catalog, 0, "/v/3.mp4", NULL);
  set_frames (catalog, v1, 10);
  set_frames (catalog, v2, 5);
  g_assert_true (vm_catalog_put_embeddings (catalog, v1, model, 0, 10, 4, emb, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_set_video_status (catalog, v1, VM_VIDEO_STATUS_INDEXED, NULL, &error));
  g_assert_true (vm_catalog_set_video_status (catalog, v3, VM_VIDEO_STATUS_MISSING, NULL, &error));
  g_assert_no_error (error);
  add_text (catalog, v1, VM_TEXT_SOURCE_SUBTITLE, 0, "hello");
  add_text (catalog, v2, VM_TEXT_SOURCE_SPEECH, 0, "world");
  add_annotation (catalog, set, v2, 0, SEC, "x");

  g_assert_true (vm_catalog_get_stats (catalog, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.n_folders, ==, 1);
  g_assert_cmpuint (stats.n_videos, ==, 3);
  g_assert_cmpuint (stats.n_by_status[VM_VIDEO_STATUS_NEW], ==, 1);
  g_assert_cmpuint (stats.n_by_status[VM_VIDEO_STATUS_INDEXED], ==, 1);
  g_assert_cmpuint (stats.n_by_status[VM_VIDEO_STATUS_MISSING], ==, 1);
  g_assert_cmpuint (stats.n_by_status[VM_VIDEO_STATUS_ERROR], ==, 0);
  g_assert_cmpuint (stats.n_frames, ==, 15);
  g_assert_cmpuint (stats.n_embeddings, ==, 10);
  g_assert_cmpuint (stats.n_text_segments, ==, 2);
  g_assert_cmpuint (stats.n_annotations, ==, 1);
  g_assert_cmpint (stats.total_duration_ns, ==, 30 * SEC);

  /* The WAL holds the recent writes and is counted. */
  g_assert_cmpint (g_stat (path, &st_main), ==, 0);
  g_assert_cmpint (g_stat (wal, &st_wal), ==, 0);
  g_assert_cmpint (st_wal.st_size, >, 0);
  g_assert_cmpint (stats.file_size, ==, (gint64) st_main.st_size + (gint64) st_wal.st_size);

  /* In memory: the pages in use. */
  {
    g_autoptr(VmCatalog) memory = open_memory ();

    g_assert_true (vm_catalog_get_stats (memory, &stats, &error));
    g_assert_no_error (error);
    g_assert_cmpint (stats.file_size, >, 0);
  }
}

/* Embeddings must cost about their fp16 payload on disk. */
static void
test_storage_efficiency (TmpDir        *fixture,
                         gconstpointer  data)
{
  const guint n_videos = 10, n_frames = 1000, dim = 512, batch = 100;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "big.sqlite", NULL);
  g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);
  g_autofree guint16 *values = g_new (guint16, (gsize) n_frames * dim);
  guint64 payload = (guint64) n_videos * n_frames * dim * sizeof (guint16);
  guint32 state = 99;
  gint64 model = 0;
  VmCatalogStats stats;
  GStatBuf st;
  double ratio;
  gint64 t0 = g_get_monotonic_time ();

  g_assert_no_error (error);
  g_assert_true (vm_catalog_ensure_model (catalog, "clip", (int) dim, "sha", &model, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < (gsize) n_frames * dim; i++)
    values[i] = (guint16) (next_random (&state) & 0x7bff);

  for (guint v = 0; v < n_videos; v++)
    {
      g_autofree char *name = g_strdup_printf ("/videos/clip-%02u.mp4", v);
      gint64 video = add_video (catalog, 0, name, NULL);

      set_frames (catalog, video, n_frames);
      g_assert_true (vm_catalog_begin (catalog, &error));
      /* In batches, as an indexer does. */
      for (guint f = 0; f < n_frames; f += batch)
        {
          g_assert_true (vm_catalog_put_embeddings (catalog, video, model, f, batch, dim,
                                                    values + (gsize) f * dim, &error));
          g_assert_no_error (error);
        }
      g_assert_true (vm_catalog_commit (catalog, &error));
      g_assert_no_error (error);
    }

  g_assert_true (vm_catalog_get_stats (catalog, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.n_embeddings, ==, (guint64) n_videos * n_frames);
  g_test_message ("stored in %.2f s; catalog with WAL: %" G_GINT64_FORMAT " bytes",
                  (g_get_monotonic_time () - t0) / 1e6, stats.file_size);

  /* Closing checkpoints the WAL into the file. */
  g_clear_object (&catalog);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  ratio = (double) st.st_size / (double) payload;
  g_test_message ("fp16 payload %" G_GUINT64_FORMAT " bytes, database file %" G_GINT64_FORMAT
                  " bytes, ratio %.3f", payload, (gint64) st.st_size, ratio);
  g_assert_cmpfloat (ratio, >=, 1.0);
  g_assert_cmpfloat (ratio, <, 1.10);
}

/* ---- Dense embeddings (the refinement cache) ----------------------------- */

static void
check_dense (VmCatalog     *catalog,
             gint64         video,
             gint64         model,
             gint64         from_ns,
             gint64         to_ns,
             const gint64  *expected_pts,
             const guint16 *expected,
             guint          expected_n,
             guint          dim)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GArray) pts = NULL;

  bytes = vm_catalog_get_dense_embeddings (catalog, video, model, from_ns, to_ns, &pts, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_cmpuint (pts->len, ==, expected_n);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, (gsize) expected_n * dim * sizeof (guint16));
  for (guint i = 0; i < expected_n; i++)
    g_assert_cmpint (g_array_index (pts, gint64, i), ==, expected_pts[i]);
  if (expected_n > 0)
    g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                     expected, (gsize) expected_n * dim * sizeof (guint16));
}

static guint64
count_dense (VmCatalog *catalog,
             gint64     video)
{
  g_autoptr(GError) error = NULL;
  guint64 n = 12345;

  g_assert_true (vm_catalog_count_dense_embeddings (catalog, video, &n, &error));
  g_assert_no_error (error);
  return n;
}

static void
test_dense_embeddings (TmpDir        *fixture,
                       gconstpointer  data)
{
  const guint dim = 20, n = 12;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "dense.sqlite", NULL);
  g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);
  guint16 values[12 * 20], other[12 * 20];
  gint64 pts[12], shuffled_pts[12];
  guint16 shuffled[12 * 20];
  guint32 state = 777;
  gint64 video, video2, model = 0, model2 = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < n * dim; i++)
    {
      values[i] = (guint16) next_random (&state);
      other[i] = (guint16) next_random (&state);
    }
  /* 6 frames/s around 10 s, put in reverse order. */
  for (guint i = 0; i < n; i++)
    pts[i] = 10 * SEC + (gint64) i * SEC / 6;
  for (guint i = 0; i < n; i++)
    {
      shuffled_pts[i] = pts[n - 1 - i];
      memcpy (shuffled + i * dim, values + (n - 1 - i) * dim, dim * sizeof (guint16));
    }

  video = add_video (catalog, 0, "/v/dense.mp4", "fp-dense");
  video2 = add_video (catalog, 0, "/v/dense2.mp4", NULL);
  set_frames (catalog, video, 30);
  g_assert_true (vm_catalog_ensure_model (catalog, "m", (int) dim, "x", &model, &error));
  g_assert_true (vm_catalog_ensure_model (catalog, "m2", (int) dim, "y", &model2, &error));
  g_assert_no_error (error);

  /* Nothing yet; an empty put is nothing. */
  check_dense (catalog, video, model, 0, G_MAXINT64, NULL, NULL, 0, dim);
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model, pts, 0, dim, values, &error));
  g_assert_no_error (error);

  /* In pts order whatever the order of the put; ranges are inclusive. */
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model, shuffled_pts, n, dim, shuffled,
                                                  &error));
  g_assert_no_error (error);
  check_dense (catalog, video, model, 0, G_MAXINT64, pts, values, n, dim);
  check_dense (catalog, video, model, pts[3], pts[7], pts + 3, values + 3 * dim, 5, dim);
  check_dense (catalog, video, model, pts[3] + 1, pts[7] - 1, pts + 4, values + 4 * dim, 3, dim);
  check_dense (catalog, video, model, 0, pts[0] - 1, NULL, NULL, 0, dim);
  g_assert_cmpuint (count_dense (catalog, video), ==, n);
  g_assert_cmpuint (count_dense (catalog, 0), ==, n);

  /* Another model and another video are separate; a put replaces. */
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model2, pts, 4, dim, other, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video2, model, pts, n, dim, other, &error));
  g_assert_no_error (error);
  check_dense (catalog, video, model2, 0, G_MAXINT64, pts, other, 4, dim);
  check_dense (catalog, video, model, 0, G_MAXINT64, pts, values, n, dim);
  memcpy (values + 2 * dim, other, dim * sizeof (guint16));
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model, pts + 2, 1, dim, other, &error));
  g_assert_no_error (error);
  check_dense (catalog, video, model, 0, G_MAXINT64, pts, values, n, dim);
  g_assert_cmpuint (count_dense (catalog, video), ==, n + 4);

  /* Bad input changes nothing. */
  g_assert_false (vm_catalog_put_dense_embeddings (catalog, video, model, pts, n, dim + 1, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_catalog_put_dense_embeddings (catalog, video, 999, pts, n, dim, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (vm_catalog_put_dense_embeddings (catalog, 999, model, pts, n, dim, values, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  {
    gint64 negative[2] = { SEC, -1 };

    g_assert_false (vm_catalog_put_dense_embeddings (catalog, video, model, negative, 2, dim, other,
                                                     &error));
    g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
    g_clear_error (&error);
  }
  check_dense (catalog, video, model, 0, G_MAXINT64, pts, values, n, dim);

  /* Saving the video unchanged keeps the cache; a changed file empties it. */
  {
    g_autoptr(VmVideo) v = vm_catalog_get_video (catalog, video, &error);

    g_assert_no_error (error);
    v->status = VM_VIDEO_STATUS_INDEXED;
    g_assert_true (vm_catalog_save_video (catalog, v, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (count_dense (catalog, video), ==, n + 4);
    v->mtime_us += 1;
    g_assert_true (vm_catalog_save_video (catalog, v, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (count_dense (catalog, video), ==, 0);
    g_assert_cmpuint (count_dense (catalog, video2), ==, n);
  }

  /* Replacing the frames (a re-index) empties it too. */
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model, pts, n, dim, values, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_dense (catalog, video), ==, n);
  set_frames (catalog, video, 30);
  g_assert_cmpuint (count_dense (catalog, video), ==, 0);
  g_assert_cmpuint (count_dense (catalog, video2), ==, n);

  /* Clearing one video, then all. */
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model, pts, n, dim, values, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_clear_dense_embeddings (catalog, video2, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_dense (catalog, video), ==, n);
  g_assert_cmpuint (count_dense (catalog, video2), ==, 0);
  g_assert_true (vm_catalog_clear_dense_embeddings (catalog, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_dense (catalog, 0), ==, 0);

  /* The cache goes with its video and with its model. */
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model, pts, n, dim, values, &error));
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video2, model2, pts, n, dim, other, &error));
  g_assert_true (vm_catalog_put_dense_embeddings (catalog, video2, model, pts, n, dim, other, &error));
  g_assert_no_error (error);
  g_assert_true (vm_catalog_delete_video (catalog, video, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_dense (catalog, 0), ==, 2 * n);
  g_clear_object (&catalog);
  {
    g_autofree char *sql = g_strdup_printf ("PRAGMA foreign_keys = ON; DELETE FROM models WHERE id = %"
                                            G_GINT64_FORMAT, model2);

    raw_exec (path, sql);
  }
  g_assert_cmpint (raw_int (path, "SELECT count(*) FROM dense_embeddings"), ==, n);
  g_assert_cmpint (raw_int (path, "PRAGMA foreign_key_check"), ==, -1);
}

/* A version 2 catalog with its data is brought to version 3. */
static void
test_dense_migration (TmpDir        *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "v2.sqlite", NULL);
  g_autoptr(GBytes) m1 = NULL, m2 = NULL;
  gint64 video, model = 0;

  m1 = g_resources_lookup_data ("/io/github/vidmark/catalog/migrations/0001-initial.sql", 0, &error);
  g_assert_no_error (error);
  m2 = g_resources_lookup_data ("/io/github/vidmark/catalog/migrations/0002-datasets.sql", 0, &error);
  g_assert_no_error (error);

  {
    g_autofree char *s1 = g_strndup (g_bytes_get_data (m1, NULL), g_bytes_get_size (m1));
    g_autofree char *s2 = g_strndup (g_bytes_get_data (m2, NULL), g_bytes_get_size (m2));
    const char *migrations[] = { s1, s2, NULL };
    g_autoptr(VmCatalog) old = vm_catalog_open_with_migrations (path, migrations, &error);

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (old), ==, 2);
    video = add_video (old, 0, "/v/old.mp4", NULL);
    set_frames (old, video, 10);
  }

  {
    g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);
    g_autoptr(GArray) frames = NULL;
    gint64 pts = 3 * SEC;
    guint16 value[4] = { 1, 2, 3, 4 };

    g_assert_no_error (error);
    g_assert_cmpint (vm_catalog_get_schema_version (catalog), >=, 3);
    frames = vm_catalog_get_frames (catalog, video, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (frames->len, ==, 10);
    g_assert_true (vm_catalog_ensure_model (catalog, "m", 4, NULL, &model, &error));
    g_assert_true (vm_catalog_put_dense_embeddings (catalog, video, model, &pts, 1, 4, value, &error));
    g_assert_no_error (error);
    check_dense (catalog, video, model, 0, G_MAXINT64, &pts, value, 1, 4);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD_TMP(name, func) \
  g_test_add (name, TmpDir, NULL, tmp_dir_setup, func, tmp_dir_teardown)

  g_test_add_func ("/catalog/migrations/memory", test_migrations_memory);
  ADD_TMP ("/catalog/migrations/file", test_migrations_file);
  ADD_TMP ("/catalog/migrations/idempotent", test_migrations_idempotent_memory_list);
  ADD_TMP ("/catalog/migrations/failing", test_migrations_failing);
  ADD_TMP ("/catalog/open/too-new", test_open_too_new);
  ADD_TMP ("/catalog/open/too-new-in-wal", test_open_too_new_in_wal);
  ADD_TMP ("/catalog/open/foreign", test_open_foreign);
  ADD_TMP ("/catalog/open/concurrent", test_open_concurrent);
  g_test_add_func ("/catalog/folders", test_folders);
  g_test_add_func ("/catalog/videos/status-strings", test_video_status_strings);
  g_test_add_func ("/catalog/videos/crud", test_videos);
  g_test_add_func ("/catalog/videos/delete", test_video_delete);
  g_test_add_func ("/catalog/folders/remove-keeps-annotated", test_remove_folder_keeps_annotated);
  g_test_add_func ("/catalog/frames", test_frames);
  g_test_add_func ("/catalog/models", test_models);
  ADD_TMP ("/catalog/embeddings", test_embeddings);
  ADD_TMP ("/catalog/dense-embeddings", test_dense_embeddings);
  ADD_TMP ("/catalog/dense-embeddings/migration", test_dense_migration);
  g_test_add_func ("/catalog/text/search", test_text_search);
  ADD_TMP ("/catalog/text/fts-integrity", test_text_fts_integrity);
  g_test_add_func ("/catalog/annotations", test_annotations);
  g_test_add_func ("/catalog/transactions", test_transactions);
  ADD_TMP ("/catalog/busy", test_busy);
  ADD_TMP ("/catalog/stats", test_stats);
  ADD_TMP ("/catalog/storage-efficiency", test_storage_efficiency);

  return g_test_run ();
}
