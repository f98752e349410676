/* test-index.c — library scanning and the indexing job: discovery by
 * content type, incremental runs, moved, changed and deleted files, every
 * bad input, cancellation and resume.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <utime.h>

#include "core/vm-core.h"
#include "index/vm-indexer.h"
#include "index/vm-scanner.h"

#include "../vm-test-util.h"

typedef struct {
  char      *dir;       /* the library folder */
  char      *cache;     /* thumbnails */
  VmCatalog *catalog;
  gint64     folder_id;
} Fixture;

static char *clip_a;     /* generated once, copied into each fixture */
static char *clip_b;
static char *media_dir;

static void
generate_clip (const char   *path,
               VmClipFormat  format,
               int           pattern)
{
  g_autoptr(GError) error = NULL;
  VmClipSpec spec;

  vm_clip_spec_init (&spec);
  spec.format = format;
  spec.width = 160;
  spec.height = 120;
  spec.fps_num = 10;
  spec.fps_den = 1;
  spec.duration = 3.0;
  spec.keyframe_interval = 1.0;
  spec.pattern = pattern;
  g_assert_true (vm_media_generate_clip (&spec, path, NULL, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;

  f->dir = g_dir_make_tmp ("vm-index-XXXXXX", &error);
  g_assert_no_error (error);
  f->cache = g_build_filename (f->dir, ".cache", NULL);
  db = g_build_filename (f->dir, ".catalog.sqlite", NULL);
  f->catalog = vm_catalog_open (db, &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (f->catalog, f->dir, &f->folder_id, &error));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->catalog);
  vm_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->cache);
}

static char *
fixture_path (Fixture    *f,
              const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
run_index (Fixture       *f,
           VmIndexReport *report)
{
  g_autoptr(GError) error = NULL;
  VmIndexOptions options;

  vm_index_options_init (&options);
  options.thumbnail_root = f->cache;
  options.sampler.short_side = 64;
  g_assert_true (vm_indexer_run (f->catalog, &options, NULL, NULL, NULL, report, &error));
  g_assert_no_error (error);
}

static VmVideo *
get_video (Fixture    *f,
           const char *name)
{
  g_autofree char *path = fixture_path (f, name);

  return vm_catalog_find_video_by_path (f->catalog, path, NULL);
}

static void
test_discover (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *a = fixture_path (f, "a.mp4");
  g_autofree char *noext = fixture_path (f, "clip-without-extension");
  g_autofree char *sub = fixture_path (f, "sub");
  g_autofree char *c = fixture_path (f, "sub/c.webm");
  g_autofree char *hidden = fixture_path (f, ".hidden.mp4");
  g_autofree char *txt = fixture_path (f, "notes.txt");
  g_autofree char *link = fixture_path (f, "loop");

  vm_test_copy_file (clip_a, a);
  vm_test_copy_file (clip_a, noext);
  vm_test_copy_file (clip_a, hidden);
  g_mkdir (sub, 0700);
  vm_test_copy_file (clip_b, c);
  g_assert_true (g_file_set_contents (txt, "hello", -1, NULL));
  g_assert_cmpint (symlink (f->dir, link), ==, 0);   /* a loop: not followed */

  entries = vm_scanner_discover (f->dir, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 3);
  g_assert_cmpstr (((VmScanEntry *) entries->pdata[0])->path, ==, a);
  /* Found by its content, not its name. */
  g_assert_cmpstr (((VmScanEntry *) entries->pdata[1])->path, ==, noext);
  g_assert_true (vm_scanner_is_video_type (((VmScanEntry *) entries->pdata[1])->content_type));
  g_assert_cmpstr (((VmScanEntry *) entries->pdata[2])->path, ==, c);

  g_clear_pointer (&entries, g_ptr_array_unref);
  entries = vm_scanner_discover (txt, NULL, NULL, NULL, &error);
  g_assert_null (entries);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_clear_error (&error);
  entries = vm_scanner_discover ("/nonexistent/vidmark", NULL, NULL, NULL, &error);
  g_assert_null (entries);
  g_assert_nonnull (error);
}

static void
test_incremental (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *a = fixture_path (f, "a.mp4");
  g_autofree char *b = fixture_path (f, "b.webm");
  g_autoptr(VmVideo) va = NULL;
  g_autoptr(VmVideo) va2 = NULL;
  g_autoptr(GArray) frames = NULL;
  VmIndexReport report;
  struct utimbuf times;

  vm_test_copy_file (clip_a, a);
  vm_test_copy_file (clip_b, b);

  run_index (f, &report);
  g_assert_cmpuint (report.n_found, ==, 2);
  g_assert_cmpuint (report.n_new, ==, 2);
  g_assert_cmpuint (report.n_indexed, ==, 2);
  g_assert_cmpuint (report.n_failed, ==, 0);
  g_assert_cmpuint (report.n_frames, >, 0);

  va = get_video (f, "a.mp4");
  g_assert_nonnull (va);
  g_assert_cmpint (va->status, ==, VM_VIDEO_STATUS_INDEXED);
  g_assert_cmpint (va->width, ==, 160);
  g_assert_cmpint (va->height, ==, 120);
  g_assert_cmpint (va->duration_ns, >, 2 * VM_NSEC_PER_SEC);
  g_assert_cmpint (va->indexed_at, >, 0);
  g_assert_nonnull (va->fingerprint);
  g_assert_nonnull (va->video_codec);
  frames = vm_catalog_get_frames (f->catalog, va->id, NULL);
  g_assert_cmpuint (frames->len, >=, 3);   /* keyframes every second over 3 s */
  g_assert_cmpint (g_array_index (frames, VmFrameRecord, 0).pts_ns, ==, 0);

  /* Thumbnails land in the cache, one folder per fingerprint. */
  {
    char prefix[17] = { 0 };
    g_autofree char *thumbs = NULL;
    g_autofree char *first = NULL;

    g_strlcpy (prefix, va->fingerprint, sizeof prefix);
    thumbs = g_build_filename (f->cache, prefix, NULL);
    first = g_build_filename (thumbs, "0.jpg", NULL);
    g_assert_true (g_file_test (first, G_FILE_TEST_IS_REGULAR));
  }

  /* Nothing changed: nothing is indexed again. */
  run_index (f, &report);
  g_assert_cmpuint (report.n_unchanged, ==, 2);
  g_assert_cmpuint (report.n_indexed, ==, 0);

  /* A new mtime with the same content is recognised by the fingerprint. */
  times.actime = times.modtime = time (NULL) - 3600;
  g_assert_cmpint (utime (a, &times), ==, 0);
  run_index (f, &report);
  g_assert_cmpuint (report.n_unchanged, ==, 2);
  g_assert_cmpuint (report.n_indexed, ==, 0);
  g_assert_cmpuint (report.n_changed, ==, 0);

  /* New content under the same name is indexed again. */
  vm_test_copy_file (clip_b, a);
  run_index (f, &report);
  g_assert_cmpuint (report.n_changed, ==, 1);
  g_assert_cmpuint (report.n_indexed, ==, 1);
  va2 = get_video (f, "a.mp4");
  g_assert_cmpint (va2->id, ==, va->id);
  g_assert_cmpstr (va2->fingerprint, !=, va->fingerprint);
}

/* A still picture: every frame after the first is a near-duplicate, held
 * and then dropped, and its thumbnail (the sampler writes one per sampled
 * frame) goes with it; one thumbnail per kept frame remains. */
static void
test_thumbnails (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = fixture_path (f, "still.mp4");
  g_autofree char *thumbs = NULL;
  g_autoptr(VmVideo) video = NULL;
  g_autoptr(GArray) frames = NULL;
  g_autoptr(GDir) dir = NULL;
  VmIndexReport report;
  char prefix[17] = { 0 };
  const char *name;
  guint n = 0;

  generate_clip (path, VM_CLIP_MP4_H264, 2 /* black */);
  run_index (f, &report);
  g_assert_cmpuint (report.n_indexed, ==, 1);
  g_assert_cmpuint (report.n_dropped, >, 0);

  video = get_video (f, "still.mp4");
  g_assert_nonnull (video);
  frames = vm_catalog_get_frames (f->catalog, video->id, NULL);
  g_assert_cmpuint (frames->len, ==, report.n_sampled - report.n_dropped);
  g_strlcpy (prefix, video->fingerprint, sizeof prefix);
  thumbs = g_build_filename (f->cache, prefix, NULL);
  dir = g_dir_open (thumbs, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      gint64 ms = g_ascii_strtoll (name, NULL, 10);
      gboolean kept = FALSE;

      for (guint i = 0; i < frames->len; i++)
        kept = kept || g_array_index (frames, VmFrameRecord, i).pts_ns / 1000000 == ms;
      if (!kept)
        g_printerr ("# thumbnail of a frame not kept: %s\n", name);
      g_assert_true (kept);
      n++;
    }
  g_assert_cmpuint (n, ==, frames->len);
}

static void
test_moved_and_deleted (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = fixture_path (f, "a.mp4");
  g_autofree char *b = fixture_path (f, "b.webm");
  g_autofree char *sub = fixture_path (f, "moved");
  g_autofree char *a_moved = fixture_path (f, "moved/renamed.mp4");
  g_autoptr(VmVideo) before = NULL;
  g_autoptr(VmVideo) after = NULL;
  g_autoptr(VmVideo) gone = NULL;
  g_autoptr(VmAnnotation) ann = vm_annotation_new ();
  g_autoptr(GPtrArray) anns = NULL;
  gint64 set_id = 0;
  VmIndexReport report;

  vm_test_copy_file (clip_a, a);
  vm_test_copy_file (clip_b, b);
  run_index (f, &report);
  before = get_video (f, "a.mp4");

  /* Annotate b, then delete it. */
  {
    g_autoptr(VmVideo) vb = get_video (f, "b.webm");

    g_assert_true (vm_catalog_ensure_annotation_set (f->catalog, "test", &set_id, &error));
    ann->set_id = set_id;
    ann->video_id = vb->id;
    ann->start_ns = 0;
    ann->end_ns = VM_NSEC_PER_SEC;
    ann->text = g_strdup ("a moment");
    g_assert_true (vm_catalog_save_annotation (f->catalog, ann, &error));
    g_assert_no_error (error);
  }

  g_mkdir (sub, 0700);
  g_assert_cmpint (g_rename (a, a_moved), ==, 0);
  g_assert_cmpint (g_unlink (b), ==, 0);

  run_index (f, &report);
  g_assert_cmpuint (report.n_moved, ==, 1);
  g_assert_cmpuint (report.n_missing, ==, 1);
  g_assert_cmpuint (report.n_indexed, ==, 0);   /* a move keeps the index */

  after = get_video (f, "moved/renamed.mp4");
  g_assert_nonnull (after);
  g_assert_cmpint (after->id, ==, before->id);
  g_assert_cmpint (after->status, ==, VM_VIDEO_STATUS_INDEXED);
  g_assert_null (get_video (f, "a.mp4"));

  gone = get_video (f, "b.webm");
  g_assert_cmpint (gone->status, ==, VM_VIDEO_STATUS_MISSING);
  anns = vm_catalog_list_annotations (f->catalog, set_id, 0, &error);
  g_assert_cmpuint (anns->len, ==, 1);

  /* It comes back: found again, not indexed again. */
  vm_test_copy_file (clip_b, b);
  run_index (f, &report);
  {
    g_autoptr(VmVideo) back = get_video (f, "b.webm");
    g_assert_cmpint (back->status, ==, VM_VIDEO_STATUS_INDEXED);
    g_assert_cmpint (back->id, ==, gone->id);
  }
}

static void
test_bad_inputs (Fixture       *f,
                 gconstpointer  data)
{
  static const char *bad[] = {
    "empty.mp4", "text.mp4", "truncated.mp4", "random.mkv", "audio-only.ogg",
  };
  g_autofree char *good = fixture_path (f, "good.mp4");
  g_autofree char *empty = fixture_path (f, bad[0]);
  g_autofree char *text = fixture_path (f, bad[1]);
  g_autofree char *truncated = fixture_path (f, bad[2]);
  g_autofree char *random = fixture_path (f, bad[3]);
  g_autofree char *audio = fixture_path (f, bad[4]);
  g_autofree char *contents = NULL;
  g_autofree guint8 *noise = g_malloc (50000);
  gsize len;
  VmIndexReport report;

  vm_test_copy_file (clip_a, good);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_true (g_file_set_contents (text, "this is not a video\n", -1, NULL));
  g_assert_true (g_file_get_contents (clip_a, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (truncated, contents, len / 3, NULL));
  for (guint i = 0; i < 50000; i++)
    noise[i] = g_test_rand_int_range (0, 256);
  g_assert_true (g_file_set_contents (random, (char *) noise, 50000, NULL));
  {
    g_autofree char *cmd = g_strdup_printf ("gst-launch-1.0 -q audiotestsrc num-buffers=20 ! "
                                            "audioconvert ! vorbisenc ! oggmux ! filesink location=%s",
                                            audio);
    g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
  }

  run_index (f, &report);
  g_assert_cmpuint (report.n_indexed, ==, 1);
  g_assert_cmpuint (report.n_failed, ==, report.n_found - 1);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(VmVideo) v = get_video (f, bad[i]);

      /* Files the scanner does not take for videos never reach the catalog;
       * those it does must carry a clear one-line reason. */
      if (v == NULL)
        {
          g_test_message ("%s: not discovered as a video", bad[i]);
          continue;
        }
      g_test_message ("%s: %s", bad[i], v->error_message);
      g_assert_cmpint (v->status, ==, VM_VIDEO_STATUS_ERROR);
      g_assert_nonnull (v->error_message);
      g_assert_cmpuint (strlen (v->error_message), >, 5);
      g_assert_null (strchr (v->error_message, '\n'));
    }

  /* Every bad file with a video extension was tried. */
  {
    g_autoptr(VmVideo) v0 = get_video (f, "empty.mp4");
    g_autoptr(VmVideo) v1 = get_video (f, "text.mp4");
    g_autoptr(VmVideo) v2 = get_video (f, "truncated.mp4");

    g_assert_nonnull (v0);
    g_assert_nonnull (v1);
    g_assert_nonnull (v2);
  }

  /* Failed files are not retried unless asked. */
  run_index (f, &report);
  g_assert_cmpuint (report.n_indexed, ==, 0);
  g_assert_cmpuint (report.n_failed, ==, 0);
}

static void
test_cancel_and_resume (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmJob) job = vm_job_new ("test");
  VmIndexOptions options;
  VmIndexReport report;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("clip%u.mp4", i);
      g_autofree char *path = fixture_path (f, name);

      vm_test_copy_file (i % 2 ? clip_a : clip_b, path);
    }

  vm_index_options_init (&options);
  options.thumbnails = FALSE;
  vm_job_cancel (job);
  g_assert_false (vm_indexer_run (f->catalog, &options, job, NULL, NULL, &report, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (report.cancelled);
  g_assert_cmpuint (report.n_indexed, ==, 0);

  /* The next run picks up where it stopped. */
  run_index (f, &report);
  g_assert_cmpuint (report.n_indexed, ==, 3);
}

static void
test_histogram (void)
{
  guint8 red[16 * 16 * 3], blue[16 * 16 * 3];
  VmFrame a = { 0, TRUE, 16, 16, 48, red };
  VmFrame b = { 0, TRUE, 16, 16, 48, blue };
  float ha[64], hb[64];

  for (guint i = 0; i < 16 * 16; i++)
    {
      red[3 * i] = 250; red[3 * i + 1] = 10; red[3 * i + 2] = 10;
      blue[3 * i] = 10; blue[3 * i + 1] = 10; blue[3 * i + 2] = 250;
    }
  vm_frame_histogram (&a, ha);
  vm_frame_histogram (&b, hb);
  g_assert_cmpfloat_with_epsilon (vm_frame_histogram_distance (ha, ha), 0.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (vm_frame_histogram_distance (ha, hb), 2.0, 1e-6);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  if (!vm_media_init (&error))
    g_error ("%s", error->message);

  media_dir = g_dir_make_tmp ("vm-index-media-XXXXXX", &error);
  g_assert_no_error (error);
  clip_a = g_build_filename (media_dir, "a.mp4", NULL);
  clip_b = g_build_filename (media_dir, "b.webm", NULL);
  generate_clip (clip_a, VM_CLIP_MP4_H264, 0);
  generate_clip (clip_b, VM_CLIP_WEBM_VP9, 18);

  g_test_add_func ("/index/histogram", test_histogram);
  g_test_add ("/index/discover", Fixture, NULL, fixture_set_up, test_discover, fixture_tear_down);
  g_test_add ("/index/incremental", Fixture, NULL, fixture_set_up, test_incremental, fixture_tear_down);
  g_test_add ("/index/thumbnails", Fixture, NULL, fixture_set_up, test_thumbnails, fixture_tear_down);
  g_test_add ("/index/moved-and-deleted", Fixture, NULL, fixture_set_up, test_moved_and_deleted, fixture_tear_down);
  g_test_add ("/index/bad-inputs", Fixture, NULL, fixture_set_up, test_bad_inputs, fixture_tear_down);
  g_test_add ("/index/cancel-and-resume", Fixture, NULL, fixture_set_up, test_cancel_and_resume, fixture_tear_down);

  ret = g_test_run ();

  vm_test_remove_tree (media_dir);
  return ret;
}
