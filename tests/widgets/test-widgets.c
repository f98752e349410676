/* test-widgets.c — the window's models and widgets: moments, search,
 * annotation stack (undo/redo, autosave, failed saves), export, time line,
 * playback and its paintable, index worker, preferences and the window.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <time.h>

#include "catalog/vm-catalog.h"
#include "catalog/vm-catalog-datasets.h"
#include "core/vm-paths.h"
#include "model/vm-model-download.h"
#include "model/vm-model-store.h"
#include "media/vm-media.h"
#include "widgets/vm-annotation-stack.h"
#include "widgets/vm-application.h"
#include "widgets/vm-index-runner.h"
#include "widgets/vm-library.h"
#include "widgets/vm-moment-item.h"
#include "widgets/vm-playback.h"
#include "widgets/vm-player.h"
#include "widgets/vm-preferences-window.h"
#include "widgets/vm-recent-exports.h"
#include "widgets/vm-search.h"
#include "widgets/vm-timeline.h"
#include "widgets/vm-video-paintable.h"
#include "widgets/vm-window.h"

#include "../vm-test-util.h"

#define MS (G_GINT64_CONSTANT (1000000))
#define SEC (G_GINT64_CONSTANT (1000000000))

static GtkWidget *find_widget_of_type (GtkWidget  *root,
                                       GType       type,
                                       const char *tooltip);

static char *tmp_dir;
static VmTestFakeHub fakehub;   /* endpoint NULL: no python3 to run it */
static char *clip_path;     /* 320×240, 25 fps, 4 s, H.264 in MP4 */
static char *media_dir;     /* holds clip_path only */

static char *
new_catalog_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* A catalog with the test clip as an indexed video and some timed text. */
static VmCatalog *
make_catalog (const char *name,
              gint64     *out_video_id)
{
  g_autofree char *path = new_catalog_path (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmVideo) video = vm_video_new ();
  VmCatalog *catalog;
  gint64 folder_id;
  const struct { double s, e; VmTextSource src; const char *text; } texts[] = {
    { 0.5, 1.5, VM_TEXT_SOURCE_SUBTITLE, "a quick brown fox jumps" },
    { 2.0, 3.0, VM_TEXT_SOURCE_OCR, "Welcome to the lab" },
    { 2.0, 3.0, VM_TEXT_SOURCE_SPEECH, "welcome everybody" },
  };

  catalog = vm_catalog_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (catalog, media_dir, &folder_id, &error));
  g_assert_no_error (error);

  video->folder_id = folder_id;
  video->path = g_strdup (clip_path);
  video->fingerprint = g_strdup ("0123456789abcdef0123456789abcdef");
  video->duration_ns = 4 * SEC;
  video->width = 320;
  video->height = 240;
  video->fps_num = 25;
  video->fps_den = 1;
  video->status = VM_VIDEO_STATUS_INDEXED;
  g_assert_true (vm_catalog_save_video (catalog, video, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      VmTextSegment seg = { 0 };

      seg.video_id = video->id;
      seg.start_ns = (gint64) (texts[i].s * SEC);
      seg.end_ns = (gint64) (texts[i].e * SEC);
      seg.source = texts[i].src;
      seg.text = (char *) texts[i].text;
      seg.confidence = 1.0;
      g_assert_true (vm_catalog_add_text_segment (catalog, &seg, &error));
      g_assert_no_error (error);
    }

  if (out_video_id)
    *out_video_id = video->id;
  return catalog;
}

/* ---- Moments and search --------------------------------------------------- */

static void
test_moment_properties (void)
{
  g_autoptr(VmMomentItem) m = vm_moment_item_new (7, "/videos/a b.mp4", "ffee", 1500 * MS, 4 * SEC, 0.75,
                                         VM_MOMENT_SIGNAL_SUBTITLE, "a [fox]");
  g_autoptr(VmMomentItem) other = vm_moment_item_new (7, "/videos/a b.mp4", "ffee", 1500 * MS, 4 * SEC, 0.9,
                                             VM_MOMENT_SIGNAL_OCR, NULL);
  g_autofree char *title = NULL;
  g_autofree char *range = NULL;
  g_autofree char *signals = NULL;
  gint64 start = 0;
  guint notified = 0;

  g_object_get (m, "title", &title, "start", &start, NULL);
  g_assert_cmpstr (title, ==, "a b.mp4");
  g_assert_cmpint (start, ==, 1500 * MS);
  g_assert_cmpint (vm_moment_item_get_video_id (m), ==, 7);
  g_assert_cmpint (vm_moment_item_get_end (m), ==, 4 * SEC);
  range = vm_moment_item_format_range (m);
  g_assert_cmpstr (range, ==, "0:00:01.500 – 0:00:04.000");

  g_signal_connect_swapped (m, "notify", G_CALLBACK (g_nullify_pointer), NULL);
  g_signal_handlers_disconnect_matched (m, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, NULL);
  g_signal_connect_swapped (m, "notify::score", G_CALLBACK (g_atomic_int_inc), &notified);
  vm_moment_item_merge (m, other);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpfloat (vm_moment_item_get_score (m), ==, 0.9);
  g_assert_cmpuint (vm_moment_item_get_signals (m), ==, VM_MOMENT_SIGNAL_SUBTITLE | VM_MOMENT_SIGNAL_OCR);
  g_assert_cmpstr (vm_moment_item_get_snippet (m), ==, "a [fox]");
  vm_moment_item_merge (m, other);   /* nothing new: no notification */
  g_assert_cmpuint (notified, ==, 1);

  signals = vm_moment_item_signals_to_string (vm_moment_item_get_signals (m));
  g_assert_nonnull (strstr (signals, "subtitles"));
  g_assert_nonnull (strstr (signals, "on-screen text"));

  /* A negative start is clamped, the end never precedes the start. */
  {
    g_autoptr(VmMomentItem) odd = vm_moment_item_new (1, NULL, NULL, -5, -10, 0, 0, NULL);

    g_assert_cmpint (vm_moment_item_get_start (odd), ==, 0);
    g_assert_cmpint (vm_moment_item_get_end (odd), ==, 0);
    g_assert_cmpstr (vm_moment_item_get_title (odd), ==, "");
  }
}

static void
test_fts_query (void)
{
  struct { const char *in; const char *out; } cases[] = {
    { "brown fox", "\"brown\" \"fox\"*" },
    { "  Fox  ", "\"fox\"*" },
    { "fox\" OR 1", "\"fox\" \"or\" \"1\"*" },
    { "NEAR(a b)", "\"near\" \"a\" \"b\"*" },
    { "*** ---", NULL },
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *q = vm_search_make_fts_query (cases[i].in);

      g_assert_cmpstr (q, ==, cases[i].out);
    }
  g_assert_null (vm_search_make_fts_query (NULL));
}

static void
test_search_text_and_names (void)
{
  g_autoptr(VmCatalog) catalog = make_catalog ("search.sqlite", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) r = NULL;
  VmMomentItem *m;

  r = vm_search_text_and_names (catalog, "quick fo", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, 1);
  m = g_ptr_array_index (r, 0);
  g_assert_cmpint (vm_moment_item_get_start (m), ==, 500 * MS);
  g_assert_cmpint (vm_moment_item_get_end (m), ==, 1500 * MS);
  g_assert_cmpuint (vm_moment_item_get_signals (m), ==, VM_MOMENT_SIGNAL_SUBTITLE);
  g_assert_cmpstr (vm_moment_item_get_path (m), ==, clip_path);
  g_assert_nonnull (strstr (vm_moment_item_get_snippet (m), "[quick]"));
  g_assert_cmpfloat (vm_moment_item_get_score (m), >, 0.5);
  g_clear_pointer (&r, g_ptr_array_unref);

  /* One time range found in on-screen text and speech is one moment. */
  r = vm_search_text_and_names (catalog, "welcome", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, 1);
  m = g_ptr_array_index (r, 0);
  g_assert_cmpuint (vm_moment_item_get_signals (m), ==, VM_MOMENT_SIGNAL_OCR | VM_MOMENT_SIGNAL_SPEECH);
  g_clear_pointer (&r, g_ptr_array_unref);

  /* The file name: the clip is "clip.mp4". */
  r = vm_search_text_and_names (catalog, "CLIP", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, 1);
  m = g_ptr_array_index (r, 0);
  g_assert_cmpuint (vm_moment_item_get_signals (m), ==, VM_MOMENT_SIGNAL_NAME);
  g_assert_cmpint (vm_moment_item_get_start (m), ==, 0);
  g_assert_cmpint (vm_moment_item_get_end (m), ==, 4 * SEC);
  g_clear_pointer (&r, g_ptr_array_unref);

  /* Text hits rank above name hits; the limit holds. */
  r = vm_search_text_and_names (catalog, "a", 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, <=, 1);
  g_clear_pointer (&r, g_ptr_array_unref);

  r = vm_search_text_and_names (catalog, "zebra", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, 0);
  g_clear_pointer (&r, g_ptr_array_unref);

  /* Query syntax never reaches FTS5. */
  r = vm_search_text_and_names (catalog, "fox\" AND (", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
}

/* Whichever search the window uses by default finds the text and the name. */
static void
test_search_default (void)
{
  g_autoptr(VmCatalog) catalog = make_catalog ("default.sqlite", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) r = NULL;
  VmSearchFunc func = vm_search_get_default ();
  VmMomentItem *m;

  g_assert_nonnull (func);
  r = func (catalog, "brown fox", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, >=, 1);
  m = g_ptr_array_index (r, 0);
  g_assert_cmpint (vm_moment_item_get_start (m), <=, 500 * MS);
  g_assert_cmpint (vm_moment_item_get_end (m), >=, 1500 * MS);
  g_assert_true (vm_moment_item_get_signals (m) & VM_MOMENT_SIGNAL_SUBTITLE);
  g_assert_nonnull (strstr (vm_moment_item_get_snippet (m), "[brown]"));
  g_assert_cmpstr (vm_moment_item_get_fingerprint (m), ==, "0123456789abcdef0123456789abcdef");
  g_clear_pointer (&r, g_ptr_array_unref);

  r = func (catalog, "clip", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, 1);
  g_assert_cmpuint (vm_moment_item_get_signals (g_ptr_array_index (r, 0)), ==, VM_MOMENT_SIGNAL_NAME);
  g_clear_pointer (&r, g_ptr_array_unref);

  r = func (catalog, "***", 10, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, 0);
}

typedef struct {
  GPtrArray *moments;
  GError    *error;
  gboolean   done;
} AsyncResult;

static void
search_async_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncResult *r = user_data;

  r->moments = vm_search_finish (result, &r->error);
  r->done = TRUE;
}

static gboolean
async_done (gpointer data)
{
  return ((AsyncResult *) data)->done;
}

static void
test_search_async (void)
{
  g_autoptr(VmCatalog) catalog = make_catalog ("async.sqlite", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncResult r = { 0 };
  g_autofree char *thumbs = g_build_filename (tmp_dir, "vidmark", "thumbnails", "0123456789abcdef", NULL);

  /* $XDG_CACHE_HOME/vidmark/thumbnails/<fingerprint[0:16]>/<ms>.jpg */
  g_assert_cmpint (g_mkdir_with_parents (thumbs, 0700), ==, 0);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("%u.jpg", i * 500);
      g_autofree char *file = g_build_filename (thumbs, name, NULL);

      g_assert_true (g_file_set_contents (file, "x", 1, NULL));
    }

  vm_search_async (vm_catalog_get_path (catalog), "fox", 10, NULL, NULL, NULL, search_async_cb, &r);
  vm_test_wait_for (async_done, &r, 20, "search");
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.moments->len, ==, 1);
  /* The thumbnail nearest to the start was looked up on the worker. */
  {
    VmMomentItem *m = g_ptr_array_index (r.moments, 0);
    g_autofree char *want = g_strdup_printf ("/%u.jpg", (guint) (MIN (vm_moment_item_get_start (m), 1000 * MS) / (500 * MS) * 500));

    g_assert_nonnull (vm_moment_item_get_thumbnail (m));
    g_assert_true (g_str_has_suffix (vm_moment_item_get_thumbnail (m), want));
  }
  g_clear_pointer (&r.moments, g_ptr_array_unref);

  /* Cancelled: the caller gets CANCELLED, never stale results. */
  memset (&r, 0, sizeof r);
  vm_search_async (vm_catalog_get_path (catalog), "fox", 10, NULL, NULL, cancellable, search_async_cb, &r);
  g_cancellable_cancel (cancellable);
  vm_test_wait_for (async_done, &r, 20, "cancelled search");
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r.moments);
  g_clear_error (&r.error);

  /* A catalog that cannot be opened is an error, not a crash. */
  memset (&r, 0, sizeof r);
  {
    g_autofree char *file = g_build_filename (tmp_dir, "plain-file", NULL);
    g_autofree char *inside = g_build_filename (file, "c.sqlite", NULL);

    g_assert_true (g_file_set_contents (file, "x", 1, NULL));
    vm_search_async (inside, "fox", 10, NULL, NULL, NULL, search_async_cb, &r);
  }
  vm_test_wait_for (async_done, &r, 20, "failing search");
  g_assert_nonnull (r.error);
  g_clear_error (&r.error);
}

static void
test_thumbnail_find (void)
{
  g_autofree char *root = g_build_filename (tmp_dir, "thumbs", NULL);
  g_autofree char *dir = g_build_filename (root, "abcdef0123456789", NULL);
  const char *names[] = { "0.jpg", "1000.jpg", "2500.jpg", "junk.txt", "12x.jpg" };
  g_autofree char *f = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);

      g_assert_true (g_file_set_contents (p, "x", 1, NULL));
    }

  f = vm_thumbnail_find (root, "abcdef0123456789ffff", 1200 * MS);
  g_assert_true (g_str_has_suffix (f, "/1000.jpg"));
  g_clear_pointer (&f, g_free);
  f = vm_thumbnail_find (root, "abcdef0123456789ffff", 2000 * MS);
  g_assert_true (g_str_has_suffix (f, "/2500.jpg"));
  g_clear_pointer (&f, g_free);
  f = vm_thumbnail_find (root, "abcdef0123456789ffff", 99 * SEC);
  g_assert_true (g_str_has_suffix (f, "/2500.jpg"));
  g_clear_pointer (&f, g_free);
  g_assert_null (vm_thumbnail_find (root, "ffffffffffffffff", 0));
  g_assert_null (vm_thumbnail_find (root, NULL, 0));
  g_assert_null (vm_thumbnail_find (root, "", 0));
}

/* ---- Annotations ------------------------------------------------------------- */

typedef struct {
  guint  changed;
  guint  failed;
  guint  failed_key;
} StackCounts;

static void
changed_cb (VmAnnotationStack *stack,
            StackCounts       *c)
{
  c->changed++;
}

static void
failed_cb (VmAnnotationStack *stack,
           guint              key,
           const GError      *error,
           StackCounts       *c)
{
  g_assert_nonnull (error);
  c->failed++;
  c->failed_key = key;
}

static guint
count_in_catalog (VmCatalog *catalog,
                  gint64     set_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = vm_catalog_list_annotations (catalog, set_id, 0, &error);

  g_assert_no_error (error);
  return list->len;
}

static void
test_annotation_stack (void)
{
  gint64 video_id, set_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("stack.sqlite", &video_id);
  g_autoptr(VmAnnotationStack) stack = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  StackCounts c = { 0 };
  guint a, b;
  const VmSegment *seg;
  VmAnnotationStack *weak;

  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "test", &set_id, &error));
  stack = vm_annotation_stack_new (catalog, set_id, video_id, &error);
  g_assert_no_error (error);
  g_signal_connect (stack, "changed", G_CALLBACK (changed_cb), &c);
  g_signal_connect (stack, "save-failed", G_CALLBACK (failed_cb), &c);
  g_assert_false (vm_annotation_stack_can_undo (stack));

  /* Invalid ranges are refused and leave no undo step. */
  g_assert_false (vm_annotation_stack_add (stack, 2 * SEC, 1 * SEC, "x", NULL, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_annotation_stack_can_undo (stack));

  g_assert_true (vm_annotation_stack_add (stack, 2 * SEC, 3 * SEC, "second", &b, &error));
  g_assert_true (vm_annotation_stack_add (stack, 1 * SEC, 2 * SEC, "first", &a, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.changed, ==, 2);
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 2);
  /* By start time. */
  g_assert_cmpuint (vm_annotation_stack_get_segment (stack, 0)->key, ==, a);
  g_assert_null (vm_annotation_stack_get_segment (stack, 2));
  /* Every edit is in the catalog at once. */
  g_assert_cmpuint (count_in_catalog (catalog, set_id), ==, 2);

  g_assert_true (vm_annotation_stack_set_range (stack, a, 1200 * MS, 1800 * MS, &error));
  g_assert_true (vm_annotation_stack_set_text (stack, a, "edited", &error));
  g_assert_no_error (error);
  list = vm_catalog_list_annotations (catalog, set_id, video_id, &error);
  g_assert_cmpint (((VmAnnotation *) g_ptr_array_index (list, 0))->start_ns, ==, 1200 * MS);
  g_assert_cmpstr (((VmAnnotation *) g_ptr_array_index (list, 0))->text, ==, "edited");
  g_clear_pointer (&list, g_ptr_array_unref);

  /* The same value again is no edit. */
  c.changed = 0;
  g_assert_true (vm_annotation_stack_set_text (stack, a, "edited", &error));
  g_assert_cmpuint (c.changed, ==, 0);

  /* Undo the text, the range, then the creation of "first". */
  g_assert_true (vm_annotation_stack_undo (stack));
  seg = vm_annotation_stack_lookup (stack, a);
  g_assert_cmpstr (seg->annotation->text, ==, "first");
  g_assert_true (vm_annotation_stack_undo (stack));
  seg = vm_annotation_stack_lookup (stack, a);
  g_assert_cmpint (seg->annotation->start_ns, ==, 1 * SEC);
  g_assert_true (vm_annotation_stack_undo (stack));
  g_assert_null (vm_annotation_stack_lookup (stack, a));
  g_assert_cmpuint (count_in_catalog (catalog, set_id), ==, 1);

  /* Redo all three: "first" is back in the catalog with its edits. */
  g_assert_true (vm_annotation_stack_can_redo (stack));
  g_assert_true (vm_annotation_stack_redo (stack));
  g_assert_true (vm_annotation_stack_redo (stack));
  g_assert_true (vm_annotation_stack_redo (stack));
  g_assert_false (vm_annotation_stack_redo (stack));
  g_assert_cmpuint (count_in_catalog (catalog, set_id), ==, 2);
  list = vm_catalog_list_annotations (catalog, set_id, video_id, &error);
  g_assert_cmpstr (((VmAnnotation *) g_ptr_array_index (list, 0))->text, ==, "edited");
  g_assert_cmpint (((VmAnnotation *) g_ptr_array_index (list, 0))->end_ns, ==, 1800 * MS);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Removal, undone. */
  g_assert_true (vm_annotation_stack_remove (stack, b, &error));
  g_assert_cmpuint (count_in_catalog (catalog, set_id), ==, 1);
  g_assert_false (vm_annotation_stack_remove (stack, b, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (vm_annotation_stack_undo (stack));
  g_assert_cmpuint (count_in_catalog (catalog, set_id), ==, 2);

  /* A new edit clears the redo history. */
  g_assert_true (vm_annotation_stack_undo (stack));
  g_assert_true (vm_annotation_stack_can_redo (stack));
  g_assert_true (vm_annotation_stack_set_text (stack, a, "again", &error));
  g_assert_false (vm_annotation_stack_can_redo (stack));
  g_assert_cmpuint (c.failed, ==, 0);

  /* A second stack on the same set and video loads what was saved. */
  {
    g_autoptr(VmAnnotationStack) again = vm_annotation_stack_new (catalog, set_id, video_id, &error);

    g_assert_no_error (error);
    /* "first" (edited to "again", starting first) and "second". */
    g_assert_cmpuint (vm_annotation_stack_get_n_segments (again), ==, 2);
    g_assert_cmpstr (vm_annotation_stack_get_segment (again, 0)->annotation->text, ==, "again");
    g_assert_cmpstr (vm_annotation_stack_get_segment (again, 1)->annotation->text, ==, "second");
  }

  weak = stack;
  g_object_add_weak_pointer (G_OBJECT (stack), (gpointer *) &weak);
  g_clear_object (&stack);
  g_assert_null (weak);
}

/* Per-clip saliency: each score is an undo step saved at once; shrinking
 * the segment drops the scores it no longer covers, undo brings them back. */
static void
test_annotation_clip_saliency (void)
{
  gint64 video_id, set_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("clip-saliency.sqlite", &video_id);
  g_autoptr(VmAnnotationStack) stack = NULL;
  g_autoptr(GError) error = NULL;
  const VmSegment *seg;
  guint key;

  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "test", &set_id, &error));
  stack = vm_annotation_stack_new (catalog, set_id, video_id, &error);
  g_assert_no_error (error);
  g_assert_true (vm_annotation_stack_add (stack, 1 * SEC, 5 * SEC, "waves", &key, &error));

  g_assert_cmpuint (vm_annotation_stack_clip_at (0), ==, 0);
  g_assert_cmpuint (vm_annotation_stack_clip_at (1999 * MS), ==, 0);
  g_assert_cmpuint (vm_annotation_stack_clip_at (2 * SEC), ==, 1);
  g_assert_cmpuint (vm_annotation_stack_clip_at (-5), ==, 0);

  /* Clips 0, 1, 2 overlap [1, 5) s; clip 3 does not. */
  g_assert_true (vm_annotation_stack_set_clip_saliency (stack, key, 0, 1, &error));
  g_assert_true (vm_annotation_stack_set_clip_saliency (stack, key, 2, 4, &error));
  g_assert_no_error (error);
  g_assert_false (vm_annotation_stack_set_clip_saliency (stack, key, 3, 2, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_annotation_stack_set_clip_saliency (stack, key, 1, 5, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vm_annotation_stack_set_clip_saliency (stack, 999, 1, 1, &error));
  g_assert_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  seg = vm_annotation_stack_lookup (stack, key);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 0), ==, 1);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 2), ==, 4);
  /* Autosaved. */
  {
    g_autoptr(VmAnnotation) stored = vm_catalog_get_annotation (catalog, seg->annotation->id, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (stored->clips->len, ==, 2);
    g_assert_cmpint (vm_annotation_get_clip_score (stored, 2), ==, 4);
  }
  /* The same score again is no step. */
  g_assert_true (vm_annotation_stack_set_clip_saliency (stack, key, 2, 4, &error));
  g_assert_true (vm_annotation_stack_undo (stack));
  seg = vm_annotation_stack_lookup (stack, key);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 2), ==, -1);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 0), ==, 1);
  g_assert_true (vm_annotation_stack_redo (stack));
  seg = vm_annotation_stack_lookup (stack, key);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 2), ==, 4);

  /* Clearing is a step too. */
  g_assert_true (vm_annotation_stack_set_clip_saliency (stack, key, 0, -1, &error));
  seg = vm_annotation_stack_lookup (stack, key);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 0), ==, -1);
  g_assert_true (vm_annotation_stack_undo (stack));

  /* Shrinking to [2.5, 3.5) s keeps only clip 1's range: both scores go. */
  g_assert_true (vm_annotation_stack_set_range (stack, key, 2500 * MS, 3500 * MS, &error));
  seg = vm_annotation_stack_lookup (stack, key);
  g_assert_cmpuint (seg->annotation->clips->len, ==, 0);
  {
    g_autoptr(VmAnnotation) stored = vm_catalog_get_annotation (catalog, seg->annotation->id, &error);

    g_assert_cmpuint (stored->clips->len, ==, 0);
  }
  g_assert_true (vm_annotation_stack_undo (stack));
  seg = vm_annotation_stack_lookup (stack, key);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 0), ==, 1);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 2), ==, 4);

  /* Undoing the removal of a segment brings its scores back, saved. */
  g_assert_true (vm_annotation_stack_remove (stack, key, &error));
  g_assert_cmpuint (count_in_catalog (catalog, set_id), ==, 0);
  g_assert_true (vm_annotation_stack_undo (stack));
  {
    g_autoptr(GPtrArray) list = vm_catalog_list_annotations (catalog, set_id, 0, &error);
    VmAnnotation *a;

    g_assert_cmpuint (list->len, ==, 1);
    a = g_ptr_array_index (list, 0);
    g_assert_cmpint (vm_annotation_get_clip_score (a, 0), ==, 1);
    g_assert_cmpint (vm_annotation_get_clip_score (a, 2), ==, 4);
  }

  /* A stack loaded afresh sees the scores. */
  g_clear_object (&stack);
  stack = vm_annotation_stack_new (catalog, set_id, video_id, &error);
  g_assert_no_error (error);
  seg = vm_annotation_stack_get_segment (stack, 0);
  g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, 2), ==, 4);
}

static void
test_annotation_save_failure (void)
{
  gint64 video_id, set_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("fail.sqlite", &video_id);
  g_autoptr(VmAnnotationStack) stack = NULL;
  g_autoptr(GError) error = NULL;
  StackCounts c = { 0 };
  guint key;

  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "test", &set_id, &error));
  /* A video that is not in the catalog: every save fails. */
  stack = vm_annotation_stack_new (catalog, set_id, video_id + 1000, &error);
  g_assert_no_error (error);
  g_signal_connect (stack, "save-failed", G_CALLBACK (failed_cb), &c);

  g_assert_true (vm_annotation_stack_add (stack, 0, SEC, "kept", &key, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.failed, ==, 1);
  g_assert_cmpuint (c.failed_key, ==, key);
  /* The edit is kept in memory, marked unsaved. */
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 1);
  g_assert_true (vm_annotation_stack_lookup (stack, key)->unsaved);
  g_assert_true (vm_annotation_stack_has_unsaved (stack));
  g_assert_cmpuint (count_in_catalog (catalog, set_id), ==, 0);
  g_assert_false (vm_annotation_stack_retry (stack));
  g_assert_cmpuint (c.failed, ==, 2);
}

/* ---- Library ---------------------------------------------------------------- */

static void
test_library_load (void)
{
  g_autoptr(VmCatalog) catalog = make_catalog ("library.sqlite", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) items = vm_library_load (catalog, &error);
  VmLibraryItem *folder, *video;

  g_assert_no_error (error);
  g_assert_cmpuint (items->len, ==, 2);
  folder = g_ptr_array_index (items, 0);
  video = g_ptr_array_index (items, 1);
  g_assert_cmpint (vm_library_item_get_kind (folder), ==, VM_LIBRARY_ITEM_FOLDER);
  g_assert_cmpstr (vm_library_item_get_path (folder), ==, media_dir);
  g_assert_cmpint (vm_library_item_get_kind (video), ==, VM_LIBRARY_ITEM_VIDEO);
  g_assert_cmpstr (vm_library_item_get_title (video), ==, "clip.mp4");
  g_assert_cmpint (vm_library_item_get_status (video), ==, VM_VIDEO_STATUS_INDEXED);
  g_assert_cmpstr (vm_library_item_get_status_icon (video), ==, "emblem-ok-symbolic");
  g_assert_cmpint (vm_library_item_get_duration (video), ==, 4 * SEC);
}

/* ---- Time line ---------------------------------------------------------------- */

typedef struct {
  guint    key;
  gint64   start;
  gint64   end;
  gint64   last_seek;
  gboolean last_accurate;
} DragResult;

static void
segment_changed_cb (VmTimeline *timeline,
                    guint       key,
                    gint64      start,
                    gint64      end,
                    DragResult *r)
{
  r->key = key;
  r->start = start;
  r->end = end;
}

static void
seek_cb (VmTimeline *timeline,
         gint64      t,
         gboolean    accurate,
         DragResult *r)
{
  r->last_seek = t;
  r->last_accurate = accurate;
}

static void
test_timeline (void)
{
  gint64 video_id, set_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("timeline.sqlite", &video_id);
  g_autoptr(VmAnnotationStack) stack = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = g_ptr_array_new_with_free_func (g_object_unref);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *timeline = vm_timeline_new ();
  VmTimeline *tl = VM_TIMELINE (timeline);
  gpointer weak = timeline;
  guint notified = 0;
  guint key;

  gtk_window_set_default_size (GTK_WINDOW (window), 400, 100);
  gtk_window_set_child (GTK_WINDOW (window), timeline);
  gtk_window_present (GTK_WINDOW (window));
  g_object_add_weak_pointer (G_OBJECT (timeline), &weak);

  g_signal_connect_swapped (timeline, "notify::duration", G_CALLBACK (g_atomic_int_inc), &notified);
  vm_timeline_set_duration (tl, 10 * SEC);
  vm_timeline_set_duration (tl, 10 * SEC);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpint (vm_timeline_get_duration (tl), ==, 10 * SEC);

  while (gtk_widget_get_width (timeline) <= 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (vm_timeline_x_to_time (tl, 0), ==, 0);
  g_assert_cmpint (vm_timeline_x_to_time (tl, gtk_widget_get_width (timeline)), ==, 10 * SEC);
  g_assert_cmpfloat_with_epsilon (vm_timeline_time_to_x (tl, 5 * SEC), gtk_widget_get_width (timeline) / 2.0, 0.01);

  /* Frame snapping. */
  vm_timeline_set_frame_duration (tl, 40 * MS);
  g_assert_cmpint (vm_timeline_snap (tl, 1019 * MS), ==, 1000 * MS);
  g_assert_cmpint (vm_timeline_snap (tl, 1021 * MS), ==, 1040 * MS);
  g_assert_cmpint (vm_timeline_snap (tl, 1020 * MS), ==, 1000 * MS);
  g_assert_cmpint (vm_timeline_snap (tl, 99 * SEC), ==, 10 * SEC);

  /* Zoom: clamped, keeps the playhead in view. */
  vm_timeline_set_position (tl, 8 * SEC);
  vm_timeline_zoom_in (tl);
  vm_timeline_zoom_in (tl);
  g_assert_cmpfloat (vm_timeline_get_zoom (tl), ==, 4.0);
  g_assert_cmpint (vm_timeline_get_view_length (tl), ==, 2500 * MS);
  g_assert_cmpint (vm_timeline_get_view_start (tl), <=, 8 * SEC);
  g_assert_cmpint (vm_timeline_get_view_start (tl) + vm_timeline_get_view_length (tl), >=, 8 * SEC);
  vm_timeline_set_zoom (tl, 1e9);
  g_assert_cmpfloat (vm_timeline_get_zoom (tl), ==, VM_TIMELINE_MAX_ZOOM);
  vm_timeline_set_zoom (tl, 0.01);
  g_assert_cmpfloat (vm_timeline_get_zoom (tl), ==, 1.0);
  g_assert_cmpint (vm_timeline_get_view_start (tl), ==, 0);

  /* The score curve peaks on the hits and falls off away from them. */
  g_ptr_array_add (hits, vm_moment_item_new (video_id, clip_path, NULL, 2 * SEC, 3 * SEC, 0.8, 0, NULL));
  vm_timeline_set_hits (tl, hits);
  g_assert_cmpfloat_with_epsilon (vm_timeline_get_score_at (tl, 2500 * MS), 0.8, 1e-9);
  g_assert_cmpfloat (vm_timeline_get_score_at (tl, 4 * SEC), <, 0.8);
  g_assert_cmpfloat (vm_timeline_get_score_at (tl, 9 * SEC), <, 0.01);
  vm_timeline_set_hits (tl, NULL);
  g_assert_cmpfloat (vm_timeline_get_score_at (tl, 2500 * MS), ==, 0);

  /* Segments: dragging an edge moves it to a frame boundary. */
  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "t", &set_id, &error));
  stack = vm_annotation_stack_new (catalog, set_id, video_id, &error);
  vm_timeline_set_annotations (tl, stack);
  g_assert_true (vm_annotation_stack_add (stack, SEC, 2 * SEC, "seg", &key, &error));
  {
    g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (timeline);
    GtkGesture *drag = NULL;
    DragResult r = { 0 };
    double x_end = vm_timeline_time_to_x (tl, 2 * SEC);
    double dx = vm_timeline_time_to_x (tl, 3 * SEC + 7 * MS) - x_end;

    for (guint i = 0; i < g_list_model_get_n_items (controllers) && drag == NULL; i++)
      {
        g_autoptr(GObject) c = g_list_model_get_item (controllers, i);

        if (GTK_IS_GESTURE_DRAG (c))
          drag = GTK_GESTURE (c);
      }
    g_assert_nonnull (drag);
    g_signal_connect (timeline, "segment-changed", G_CALLBACK (segment_changed_cb), &r);
    g_signal_connect (timeline, "seek", G_CALLBACK (seek_cb), &r);
    /* Grab the end edge in the segment band, drag it right by ~1 s. */
    g_signal_emit_by_name (drag, "drag-begin", x_end, 75.0);
    g_assert_cmpuint (vm_timeline_get_selected (tl), ==, key);
    g_signal_emit_by_name (drag, "drag-update", dx, 0.0);
    g_signal_emit_by_name (drag, "drag-end", dx, 0.0);
    g_assert_cmpuint (r.key, ==, key);
    g_assert_cmpint (r.start, ==, SEC);
    /* Snapped to 40 ms frames, within a pixel's worth of time. */
    g_assert_cmpint (r.end % (40 * MS), ==, 0);
    g_assert_cmpint (llabs (r.end - 3 * SEC), <=, 60 * MS);
    /* The playhead follows the edge, accurately on release. */
    g_assert_true (r.last_accurate);
    g_assert_cmpint (r.last_seek, ==, r.end);

    /* A click elsewhere seeks. */
    g_signal_emit_by_name (drag, "drag-begin", vm_timeline_time_to_x (tl, 8 * SEC), 30.0);
    g_signal_emit_by_name (drag, "drag-end", 0.0, 0.0);
    g_assert_cmpint (llabs (r.last_seek - 8 * SEC), <=, 60 * MS);
    g_signal_handlers_disconnect_by_data (timeline, &r);
  }
  vm_timeline_set_selected (tl, key);
  g_assert_cmpuint (vm_timeline_get_selected (tl), ==, key);
  g_assert_true (vm_annotation_stack_remove (stack, key, &error));
  g_assert_cmpuint (vm_timeline_get_selected (tl), ==, 0);

  /* Drawn at least once without trouble. */
  vm_test_spin (50);

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_null (weak);
}

/* ---- Playback ------------------------------------------------------------------- */

typedef struct {
  VmPlayback *playback;
  gint64      want;
} PlaybackWait;

static gboolean
has_frame_and_duration (gpointer data)
{
  PlaybackWait *w = data;
  g_autoptr(GstSample) sample = vm_playback_dup_sample (w->playback);

  return sample != NULL && vm_playback_get_duration (w->playback) > 0;
}

static gboolean
position_is (gpointer data)
{
  PlaybackWait *w = data;

  return llabs (vm_playback_get_position (w->playback) - w->want) < 2 * MS;
}

static gboolean
is_playing (gpointer data)
{
  return vm_playback_get_playing (((PlaybackWait *) data)->playback);
}

static gboolean
is_paused (gpointer data)
{
  return !vm_playback_get_playing (((PlaybackWait *) data)->playback);
}

static void
test_playback (void)
{
  g_autoptr(VmPlayback) playback = vm_playback_new ();
  g_autoptr(VmVideoPaintable) paintable = vm_video_paintable_new (playback);
  PlaybackWait w = { playback, 0 };
  guint muted_notified = 0;
  gpointer weak;

  g_assert_null (vm_playback_get_path (playback));
  vm_playback_open (playback, clip_path);
  g_assert_cmpstr (vm_playback_get_path (playback), ==, clip_path);
  /* Asked before preroll: kept, done after. */
  vm_playback_seek (playback, 2 * SEC, TRUE);
  vm_test_wait_for (has_frame_and_duration, &w, 20, "preroll");
  g_assert_cmpint (vm_playback_get_duration (playback), ==, 4 * SEC);

  w.want = 2 * SEC;
  vm_test_wait_for (position_is, &w, 20, "the pending seek");
  g_assert_cmpint (vm_playback_get_frame_duration (playback), ==, 40 * MS);

  /* The frame reached the paintable as an RGBA texture of the clip's size. */
  g_assert_nonnull (vm_video_paintable_get_texture (paintable));
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (GDK_PAINTABLE (paintable)), ==, 320);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (GDK_PAINTABLE (paintable)), ==, 240);
  g_assert_cmpuint (vm_video_paintable_get_n_frames (paintable), >=, 1);

  /* Accurate seek, frame steps. */
  vm_playback_seek (playback, 1 * SEC, TRUE);
  w.want = 1 * SEC;
  vm_test_wait_for (position_is, &w, 20, "accurate seek");
  vm_playback_step (playback, 1);
  w.want = 1040 * MS;
  vm_test_wait_for (position_is, &w, 20, "step forward");
  vm_playback_step (playback, 1);
  w.want = 1080 * MS;
  vm_test_wait_for (position_is, &w, 20, "second step forward");
  vm_playback_step (playback, -1);
  w.want = 1040 * MS;
  vm_test_wait_for (position_is, &w, 20, "step back");

  /* Rate, clamped. */
  vm_playback_set_rate (playback, 10);
  g_assert_cmpfloat (vm_playback_get_rate (playback), ==, VM_PLAYBACK_MAX_RATE);
  vm_playback_set_rate (playback, 0);
  g_assert_cmpfloat (vm_playback_get_rate (playback), ==, VM_PLAYBACK_MIN_RATE);
  vm_playback_set_rate (playback, 1);

  /* Volume and mute notify once per change. */
  g_signal_connect_swapped (playback, "notify::muted", G_CALLBACK (g_atomic_int_inc), &muted_notified);
  vm_playback_set_muted (playback, TRUE);
  vm_playback_set_muted (playback, TRUE);
  g_assert_true (vm_playback_get_muted (playback));
  g_assert_cmpuint (muted_notified, ==, 1);
  vm_playback_set_volume (playback, 0.25);
  g_assert_cmpfloat_with_epsilon (vm_playback_get_volume (playback), 0.25, 1e-6);

  /* Loop range. */
  vm_playback_set_loop (playback, SEC, 1500 * MS);
  g_assert_true (vm_playback_get_looping (playback));
  vm_playback_set_loop (playback, SEC, SEC);
  g_assert_false (vm_playback_get_looping (playback));

  /* Play and pause. */
  vm_playback_play (playback);
  vm_test_wait_for (is_playing, &w, 20, "playing");
  vm_playback_toggle (playback);
  vm_test_wait_for (is_paused, &w, 20, "paused");

  /* Closing clears the frame. */
  vm_playback_open (playback, NULL);
  g_assert_null (vm_video_paintable_get_texture (paintable));
  g_assert_cmpint (vm_playback_get_position (playback), ==, -1);

  weak = playback;
  g_object_add_weak_pointer (G_OBJECT (playback), &weak);
  g_clear_object (&paintable);
  g_clear_object (&playback);
  g_assert_null (weak);
}

static void
playback_error_cb (VmPlayback   *playback,
                   const GError *error,
                   gboolean     *seen)
{
  g_assert_nonnull (error->message);
  *seen = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
test_playback_error (void)
{
  g_autoptr(VmPlayback) playback = vm_playback_new ();
  g_autofree char *bad = g_build_filename (tmp_dir, "not-a-video.mp4", NULL);
  gboolean seen = FALSE;

  g_assert_true (g_file_set_contents (bad, "this is not a video", -1, NULL));
  g_signal_connect (playback, "error", G_CALLBACK (playback_error_cb), &seen);
  vm_playback_open (playback, bad);
  vm_test_wait_for (flag_set, &seen, 20, "a playback error");
  g_assert_false (vm_playback_get_playing (playback));
}

/* ---- Player widget ------------------------------------------------------------------ */

static void
test_player_widget (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *player = vm_player_new ();
  VmPlayback *playback = vm_player_get_playback (VM_PLAYER (player));
  PlaybackWait w = { playback, 1500 * MS };
  gpointer weak_player = player, weak_playback = playback;

  g_object_add_weak_pointer (G_OBJECT (player), &weak_player);
  g_object_add_weak_pointer (G_OBJECT (playback), &weak_playback);
  gtk_window_set_child (GTK_WINDOW (window), player);
  gtk_window_present (GTK_WINDOW (window));

  vm_player_play_range (VM_PLAYER (player), clip_path, 1500 * MS, 2500 * MS, FALSE);
  vm_test_wait_for (position_is, &w, 20, "the player's seek");
  g_assert_false (vm_playback_get_looping (playback));
  vm_player_toggle_loop (VM_PLAYER (player));
  g_assert_true (vm_playback_get_looping (playback));

  vm_player_faster (VM_PLAYER (player));
  g_assert_cmpfloat (vm_playback_get_rate (playback), ==, 1.5);
  vm_player_slower (VM_PLAYER (player));
  vm_player_slower (VM_PLAYER (player));
  g_assert_cmpfloat (vm_playback_get_rate (playback), ==, 0.5);
  for (guint i = 0; i < 10; i++)
    vm_player_faster (VM_PLAYER (player));
  g_assert_cmpfloat (vm_playback_get_rate (playback), ==, 4.0);

  vm_player_toggle_mute (VM_PLAYER (player));
  g_assert_true (vm_playback_get_muted (playback));

  /* The widget's own actions. */
  g_assert_true (gtk_widget_activate_action (player, "player.play-pause", NULL));
  vm_test_wait_for (is_playing, &w, 20, "playing from the action");
  g_assert_true (gtk_widget_activate_action (player, "player.play-pause", NULL));
  vm_test_wait_for (is_paused, &w, 20, "paused from the action");

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_null (weak_player);
  g_assert_null (weak_playback);
}

/* ---- Index worker ------------------------------------------------------------------- */

typedef struct {
  gboolean done;
  int      status;
  gboolean had_error;
  guint    files;
  guint    fraction_notifies;
} RunnerWait;

static void
runner_finished_cb (VmIndexRunner *runner,
                    int            status,
                    const GError  *error,
                    RunnerWait    *w)
{
  w->done = TRUE;
  w->status = status;
  w->had_error = error != NULL;
  if (error)
    g_test_message ("worker error: %s", error->message);
}

static void
runner_file_cb (VmIndexRunner *runner,
                const char    *path,
                const char    *result,
                const char    *message,
                RunnerWait    *w)
{
  if (g_str_equal (result, "indexed"))
    w->files++;
}

static gboolean
runner_done (gpointer data)
{
  return ((RunnerWait *) data)->done;
}

static void
test_index_runner (void)
{
  g_autofree char *catalog_path = new_catalog_path ("runner.sqlite");
  g_autoptr(VmIndexRunner) runner = vm_index_runner_new (NULL, catalog_path);
  g_autoptr(GError) error = NULL;
  RunnerWait w = { 0 };

  if (g_getenv ("VIDMARK_CLI") == NULL)
    {
      g_test_skip ("VIDMARK_CLI is not set");
      return;
    }

  {
    g_autoptr(VmCatalog) catalog = vm_catalog_open (catalog_path, &error);

    g_assert_no_error (error);
    g_assert_true (vm_catalog_add_folder (catalog, media_dir, NULL, &error));
  }

  g_signal_connect (runner, "finished", G_CALLBACK (runner_finished_cb), &w);
  g_signal_connect (runner, "file-done", G_CALLBACK (runner_file_cb), &w);
  g_signal_connect_swapped (runner, "notify::fraction", G_CALLBACK (g_atomic_int_inc), &w.fraction_notifies);

  {
    const char *args[] = { "--no-thumbnails", NULL };

    g_assert_true (vm_index_runner_start (runner, args, &error));
  }
  g_assert_no_error (error);
  g_assert_true (vm_index_runner_get_running (runner));
  /* One at a time. */
  g_assert_false (vm_index_runner_start (runner, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);

  vm_test_wait_for (runner_done, &w, 60, "the index worker");
  g_assert_false (w.had_error);
  g_assert_cmpint (w.status, ==, 0);
  g_assert_cmpuint (w.files, ==, 1);
  g_assert_cmpuint (w.fraction_notifies, >=, 1);
  g_assert_cmpfloat (vm_index_runner_get_fraction (runner), ==, 1.0);
  g_assert_false (vm_index_runner_get_running (runner));

  /* The worker wrote to the catalog. */
  {
    g_autoptr(VmCatalog) catalog = vm_catalog_open (catalog_path, &error);
    g_autoptr(GPtrArray) videos = vm_catalog_list_videos (catalog, 0, &error);

    g_assert_cmpuint (videos->len, ==, 1);
    g_assert_cmpint (((VmVideo *) g_ptr_array_index (videos, 0))->status, ==, VM_VIDEO_STATUS_INDEXED);
  }

  /* Stopped at once: it ends cleanly, with no error. */
  memset (&w, 0, sizeof w);
  {
    const char *args[] = { "--force", "--no-thumbnails", NULL };

    g_assert_true (vm_index_runner_start (runner, args, &error));
  }
  vm_index_runner_cancel (runner);
  vm_test_wait_for (runner_done, &w, 60, "the stopped worker");
  g_assert_false (w.had_error);
  g_assert_true (w.status == 130 || w.status == 0);

  /* A worker that cannot start is an error. */
  {
    g_autoptr(VmIndexRunner) broken = vm_index_runner_new ("/nonexistent/vidmark", catalog_path);

    g_assert_false (vm_index_runner_start (broken, NULL, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
  }
}

/* ---- Preferences ---------------------------------------------------------------------- */

static void
test_preferences (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.vidmark.Vidmark");
  GtkWidget *window = vm_preferences_window_new (settings);
  gpointer weak = window;
  GtkWidget *w;
  GtkSwitch *ocr = NULL;

  g_object_add_weak_pointer (G_OBJECT (window), &weak);
  gtk_window_present (GTK_WINDOW (window));

  /* Find the first switch: on-screen text. */
  for (w = window; w != NULL; )
    {
      if (GTK_IS_SWITCH (w))
        {
          ocr = GTK_SWITCH (w);
          break;
        }
      if (gtk_widget_get_first_child (w) != NULL)
        w = gtk_widget_get_first_child (w);
      else
        {
          while (w != NULL && gtk_widget_get_next_sibling (w) == NULL)
            w = gtk_widget_get_parent (w);
          if (w != NULL)
            w = gtk_widget_get_next_sibling (w);
        }
    }
  g_assert_nonnull (ocr);

  g_settings_set_boolean (settings, "ocr-enabled", FALSE);
  g_assert_false (gtk_switch_get_active (ocr));
  g_settings_set_boolean (settings, "ocr-enabled", TRUE);
  g_assert_true (gtk_switch_get_active (ocr));
  gtk_switch_set_active (ocr, FALSE);
  g_assert_false (g_settings_get_boolean (settings, "ocr-enabled"));

  /* The sampling mode drives the combo row; the rate row is only sensitive
   * in fixed-rate mode. */
  {
    AdwComboRow *mode = ADW_COMBO_ROW (find_widget_of_type (window, ADW_TYPE_COMBO_ROW, NULL));
    GtkWidget *spin = find_widget_of_type (window, GTK_TYPE_SPIN_BUTTON, NULL);
    GtkWidget *rate_row = gtk_widget_get_ancestor (spin, ADW_TYPE_ACTION_ROW);

    g_settings_set_string (settings, "sample-mode", "rate");
    g_assert_cmpuint (adw_combo_row_get_selected (mode), ==, 1);
    g_assert_true (gtk_widget_get_sensitive (rate_row));
    adw_combo_row_set_selected (mode, 0);
    g_autofree char *value = g_settings_get_string (settings, "sample-mode");
    g_assert_cmpstr (value, ==, "keyframes");
    g_assert_false (gtk_widget_get_sensitive (rate_row));

    gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 2.5);
    g_assert_cmpfloat (g_settings_get_double (settings, "sample-rate"), ==, 2.5);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_null (weak);
}

/* ---- Window ---------------------------------------------------------------------------- */

typedef const char *(*WidgetTextFunc) (GtkWidget *widget);

/* The first widget of @type below @root whose text_of () is @text (or any
 * when @text is NULL). */
static GtkWidget *
find_widget_with (GtkWidget      *root,
                  GType           type,
                  WidgetTextFunc  text_of,
                  const char     *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type) && (text == NULL || g_strcmp0 (text_of (child), text) == 0))
        return child;
      if ((found = find_widget_with (child, type, text_of, text)) != NULL)
        return found;
    }
  return NULL;
}

/* The first widget of @type below @root with @tooltip (or any when NULL). */
static GtkWidget *
find_widget_of_type (GtkWidget  *root,
                     GType       type,
                     const char *tooltip)
{
  return find_widget_with (root, type, (WidgetTextFunc) gtk_widget_get_tooltip_text, tooltip);
}

static gboolean
window_idle (gpointer data)
{
  return !vm_window_get_busy (data);
}

static void
test_window (void)
{
  gint64 video_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("window.sqlite", &video_id);
  g_autoptr(VmApplication) app = vm_application_new (NULL);
  GtkWidget *dropdown;
  GListModel *set_names;
  gint64 other_set;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_build_filename (tmp_dir, "window-export.jsonl", NULL);
  VmWindow *window;
  VmAnnotationStack *stack;
  VmPlayback *playback = NULL;
  gpointer weak;

  /* Never a remote of another instance on the session bus. */
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "zzz-other", &other_set, &error));
  window = vm_window_new (GTK_APPLICATION (app), vm_catalog_get_path (catalog));
  weak = window;
  g_object_add_weak_pointer (G_OBJECT (window), &weak);
  /* Exact text times (the search layer widens them by a margin). */
  vm_window_set_search_func (window, vm_search_text_and_names, NULL);
  gtk_window_present (GTK_WINDOW (window));

  vm_test_wait_for (window_idle, window, 20, "the library");
  g_assert_cmpstr (vm_window_get_page (window), ==, "main");
  g_assert_cmpuint (g_list_model_get_n_items (vm_window_get_library (window)), ==, 2);
  g_assert_cmpstr (vm_window_get_results_page (window), ==, "hint");

  vm_window_search (window, "zebra");
  vm_test_wait_for (window_idle, window, 20, "a search");
  g_assert_cmpstr (vm_window_get_results_page (window), ==, "no-results");

  /* A newer search cancels the older one: only its results show. */
  vm_window_search (window, "clip");
  vm_window_search (window, "brown fox");
  vm_test_wait_for (window_idle, window, 20, "a search");
  g_assert_cmpstr (vm_window_get_results_page (window), ==, "results");
  g_assert_cmpuint (g_list_model_get_n_items (vm_window_get_results (window)), ==, 1);

  vm_window_search (window, "  ");
  g_assert_cmpstr (vm_window_get_results_page (window), ==, "hint");
  g_assert_cmpuint (g_list_model_get_n_items (vm_window_get_results (window)), ==, 0);

  vm_window_search (window, "brown fox");
  vm_test_wait_for (window_idle, window, 20, "a search");
  vm_window_open_result (window, 0);
  stack = vm_window_get_annotations (window);
  g_assert_nonnull (stack);
  g_assert_cmpint (vm_annotation_stack_get_video_id (stack), ==, video_id);

  /* A segment from the result, with the query as its text; undo, redo. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.add-from-result", NULL));
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 1);
  g_assert_cmpstr (vm_annotation_stack_get_segment (stack, 0)->annotation->text, ==, "brown fox");
  g_assert_cmpint (vm_annotation_stack_get_segment (stack, 0)->annotation->start_ns, ==, 500 * MS);
  /* Nudge the end by a frame (to the next frame start at 25 fps) and a
   * second, then undo both. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.nudge-frame", "i", 1));
  g_assert_cmpint (vm_annotation_stack_get_segment (stack, 0)->annotation->end_ns, ==, 1520 * MS);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.nudge-second", "i", 1));
  g_assert_cmpint (vm_annotation_stack_get_segment (stack, 0)->annotation->end_ns, ==, 2520 * MS);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.undo", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.undo", NULL));
  g_assert_cmpint (vm_annotation_stack_get_segment (stack, 0)->annotation->end_ns, ==, 1500 * MS);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.undo", NULL));
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.redo", NULL));
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 1);

  /* Export through the export layer: one QVHighlights query. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                             "qvhighlights", out));
  {
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *q;
    JsonArray *windows;

    g_assert_true (g_file_get_contents (out, &text, NULL, &error));
    lines = g_strsplit (g_strstrip (text), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 1);
    g_assert_true (json_parser_load_from_data (parser, lines[0], -1, &error));
    q = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (q, "query"), ==, "brown fox");
    g_assert_cmpstr (json_object_get_string_member (q, "vid"), ==, "clip");
    windows = json_object_get_array_member (q, "relevant_windows");
    g_assert_cmpuint (json_array_get_length (windows), ==, 1);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (json_array_get_array_element (windows, 0), 0), 0.5, 1e-6);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (json_array_get_array_element (windows, 0), 1), 1.5, 1e-6);
  }
  /* An unknown format is refused (a toast), no file. */
  {
    g_autofree char *bad = g_build_filename (tmp_dir, "bad-format.out", NULL);

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                               "no-such-format", bad));
    g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  }

  /* The catalog's sets are offered, "default" first; switching the set
   * shows that set's segments (none in the other one). */
  dropdown = find_widget_of_type (GTK_WIDGET (window), GTK_TYPE_DROP_DOWN, "Annotation Set");
  g_assert_nonnull (dropdown);
  set_names = gtk_drop_down_get_model (GTK_DROP_DOWN (dropdown));
  g_assert_cmpuint (g_list_model_get_n_items (set_names), ==, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (set_names), 0), ==, "default");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (set_names), 1), ==, "zzz-other");
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), 1);
  stack = vm_window_get_annotations (window);
  g_assert_cmpint (vm_annotation_stack_get_set_id (stack), ==, other_set);
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 0);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), 0);
  stack = vm_window_get_annotations (window);
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 1);

  /* The player is playing the moment. */
  {
    GListModel *results = vm_window_get_results (window);
    g_autoptr(VmMomentItem) m = g_list_model_get_item (results, 0);

    g_assert_cmpstr (vm_moment_item_get_path (m), ==, clip_path);
  }
  (void) playback;

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (weak);
}

static gboolean
has_binding (GtkWidget  *widget,
             guint       keyval,
             const char *action,
             int         score)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);
  gboolean found = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !found; i++)
    {
      g_autoptr(GObject) c = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (c))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (c)) && !found; j++)
        {
          g_autoptr(GtkShortcut) sc = g_list_model_get_item (G_LIST_MODEL (c), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (sc);
          GtkShortcutAction *a = gtk_shortcut_get_action (sc);
          GVariant *args = gtk_shortcut_get_arguments (sc);

          found = GTK_IS_KEYVAL_TRIGGER (trigger) &&
                  gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval &&
                  gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == 0 &&
                  GTK_IS_NAMED_ACTION (a) &&
                  g_str_equal (gtk_named_action_get_action_name (GTK_NAMED_ACTION (a)), action) &&
                  args != NULL && g_variant_get_int32 (args) == score;
        }
    }
  return found;
}

static gboolean
send_keys (GtkWindow  *window,
           const char *keys)
{
  g_autofree char *xdotool = g_find_program_in_path ("xdotool");
  g_autofree char *cmd = NULL;

  if (xdotool == NULL || gtk_native_get_surface (GTK_NATIVE (window)) == NULL ||
      g_strcmp0 (g_getenv ("GDK_BACKEND"), "x11") != 0)
    return FALSE;
  cmd = g_strdup_printf ("%s search --sync --name '%s' windowfocus --sync key --delay 30 %s",
                         xdotool, gtk_window_get_title (window), keys);
  return system (cmd) == 0;
}

typedef struct {
  VmAnnotationStack *stack;
  guint              clip;
  int                score;
} ScoreWait;

static gboolean
score_is (gpointer data)
{
  ScoreWait *w = data;
  const VmSegment *seg = vm_annotation_stack_get_segment (w->stack, 0);

  return seg != NULL && vm_annotation_get_clip_score (seg->annotation, w->clip) == w->score;
}

typedef struct {
  VmPlayback *playback;
  gint64      want;
} PositionWait;

static gboolean
prerolled_cond (gpointer data)
{
  PositionWait *w = data;

  return vm_playback_get_duration (w->playback) > 0 && vm_playback_get_position (w->playback) >= 0;
}

/* Paused at w->want; playback that started late is paused and sought again. */
static gboolean
paused_at (gpointer data)
{
  PositionWait *w = data;

  if (vm_playback_get_playing (w->playback))
    {
      vm_playback_pause (w->playback);
      vm_playback_seek (w->playback, w->want, TRUE);
      return FALSE;
    }
  return llabs (vm_playback_get_position (w->playback) - w->want) < 50 * MS;
}

static void
park_playhead (VmPlayback *playback,
               gint64      t)
{
  PositionWait pw = { playback, t };

  vm_test_wait_for (prerolled_cond, &pw, 30, "the video");
  vm_playback_pause (playback);
  vm_playback_seek (playback, t, TRUE);
  vm_test_wait_for (paused_at, &pw, 30, "the playhead");
}

/* The editor's keys: 0-4 rate the 2-second clip at the playhead of the
 * selected segment, Backspace clears it; undo and the catalog follow. */
static void
test_window_saliency_keys (void)
{
  gint64 video_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("window-saliency.sqlite", &video_id);
  g_autofree char *out = g_build_filename (tmp_dir, "saliency-export.jsonl", NULL);
  g_autoptr(GError) error = NULL;
  VmWindow *window;
  VmAnnotationStack *stack;
  VmPlayback *playback;
  GtkWidget *player;
  ScoreWait sw;
  gboolean keys_sent = FALSE;

  window = vm_window_new (NULL, vm_catalog_get_path (catalog));
  vm_window_set_search_func (window, vm_search_text_and_names, NULL);
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 20, "the library");

  /* Keys 0-4 (and the keypad's), Backspace. */
  for (int score = 0; score <= 4; score++)
    {
      g_assert_true (has_binding (GTK_WIDGET (window), GDK_KEY_0 + score, "annotation.saliency", score));
      g_assert_true (has_binding (GTK_WIDGET (window), GDK_KEY_KP_0 + score, "annotation.saliency", score));
    }
  g_assert_true (has_binding (GTK_WIDGET (window), GDK_KEY_BackSpace, "annotation.saliency", -1));

  vm_window_search (window, "brown fox");
  vm_test_wait_for (window_idle, window, 20, "a search");
  vm_window_open_result (window, 0);
  stack = vm_window_get_annotations (window);
  player = find_widget_of_type (GTK_WIDGET (window), VM_TYPE_PLAYER, NULL);
  playback = vm_player_get_playback (VM_PLAYER (player));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.add-from-result", NULL));
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 1);

  /* The playhead at 1 s, paused: clip 0 of the segment [0.5, 1.5) s. */
  park_playhead (playback, 1 * SEC);

  sw.stack = stack;
  sw.clip = 0;
  sw.score = 3;
  /* Keys go to the player, not to the search field. */
  gtk_widget_grab_focus (player);
  keys_sent = send_keys (GTK_WINDOW (window), "3");
  if (keys_sent)
    vm_test_wait_for (score_is, &sw, 20, "key 3 to rate the clip");
  else
    {
      g_test_message ("xdotool or X11 not available: the action stands in for the key");
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.saliency", "i", 3));
    }
  g_assert_true (score_is (&sw));
  {
    g_autoptr(VmAnnotation) stored =
      vm_catalog_get_annotation (catalog, vm_annotation_stack_get_segment (stack, 0)->annotation->id, &error);

    g_assert_no_error (error);
    g_assert_cmpint (vm_annotation_get_clip_score (stored, 0), ==, 3);
  }

  /* Backspace clears it, undo brings it back. */
  sw.score = -1;
  if (keys_sent && send_keys (GTK_WINDOW (window), "BackSpace"))
    vm_test_wait_for (score_is, &sw, 20, "Backspace to clear the rating");
  else
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.saliency", "i", -1));
  g_assert_true (score_is (&sw));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.undo", NULL));
  sw.score = 3;
  g_assert_true (score_is (&sw));

  /* Keys typed into the label field stay text. */
  {
    GtkWidget *entry = find_widget_of_type (GTK_WIDGET (window), GTK_TYPE_ENTRY, NULL);

    if (keys_sent && entry != NULL && gtk_widget_get_sensitive (entry) && gtk_widget_grab_focus (entry))
      {
        vm_test_spin (100);
        g_assert_true (send_keys (GTK_WINDOW (window), "4"));
        vm_test_spin (300);
        g_assert_true (score_is (&sw));
        gtk_widget_grab_focus (player);
      }
  }

  /* The playhead outside the segment: a toast, no change. */
  park_playhead (playback, 3 * SEC);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.saliency", "i", 1));
  g_assert_true (score_is (&sw));
  g_assert_nonnull (strstr (vm_window_get_last_toast (window), "2-second"));

  /* Exported as QVHighlights saliency. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                             "qvhighlights", out));
  {
    g_autofree char *text = NULL;

    g_assert_true (g_file_get_contents (out, &text, NULL, &error));
    g_assert_nonnull (strstr (text, "\"relevant_clip_ids\": [0]"));
    g_assert_nonnull (strstr (text, "\"saliency_scores\": [[3]]"));
  }

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* A stand-in file manager: the default handler of folders in the test's
 * XDG folders, writing the URI it was asked to open to tmp_dir/opened. */
static void
install_folder_opener (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *apps = g_build_filename (tmp_dir, "applications", NULL);
  g_autofree char *script = g_build_filename (tmp_dir, "open-folder.sh", NULL);
  g_autofree char *desktop = g_build_filename (apps, "vm-test-folder-opener.desktop", NULL);
  g_autofree char *mimeapps = g_build_filename (tmp_dir, "mimeapps.list", NULL);
  g_autofree char *script_text = g_strdup_printf ("#!/bin/sh\necho \"$1\" > '%s/opened'\n", tmp_dir);
  g_autofree char *desktop_text = g_strdup_printf ("[Desktop Entry]\nType=Application\nName=Folder opener\n"
                                                   "Exec=%s %%u\nMimeType=inode/directory;\nNoDisplay=true\n",
                                                   script);

  g_assert_cmpint (g_mkdir_with_parents (apps, 0700), ==, 0);
  g_assert_true (g_file_set_contents (script, script_text, -1, &error));
  g_assert_cmpint (g_chmod (script, 0700), ==, 0);
  g_assert_true (g_file_set_contents (desktop, desktop_text, -1, &error));
  g_assert_true (g_file_set_contents (mimeapps,
                                      "[Default Applications]\ninode/directory=vm-test-folder-opener.desktop\n",
                                      -1, &error));
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

/* Exports are remembered in GSettings (path, format, time; newest first,
 * each path once, at most ten), listed in the main menu, and their folder
 * opens from there. */
static void
test_window_recent_exports (void)
{
  gint64 video_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("window-recent.sqlite", &video_id);
  g_autoptr(GSettings) settings = g_settings_new ("io.github.vidmark.Vidmark");
  g_autoptr(GError) error = NULL;
  g_autofree char *export_dir = g_build_filename (tmp_dir, "exports", NULL);
  g_autofree char *first = g_build_filename (export_dir, "first_set.jsonl", NULL);
  g_autofree char *opened = g_build_filename (tmp_dir, "opened", NULL);
  g_autoptr(GPtrArray) recent = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GMenuModel *menu;
  VmWindow *window;
  VmRecentExport *r;

  g_settings_reset (settings, "recent-exports");
  g_assert_cmpint (g_mkdir_with_parents (export_dir, 0700), ==, 0);
  window = vm_window_new (NULL, vm_catalog_get_path (catalog));
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 20, "the library");
  menu = vm_window_get_recent_exports_menu (window);
  g_assert_cmpint (g_menu_model_get_n_items (menu), ==, 0);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                             "qvhighlights", first));
  recent = vm_recent_exports_get (settings);
  g_assert_cmpuint (recent->len, ==, 1);
  r = g_ptr_array_index (recent, 0);
  g_assert_cmpstr (r->path, ==, first);
  g_assert_cmpstr (r->format, ==, "qvhighlights");
  g_assert_cmpint (r->time, >=, now);
  g_assert_cmpint (r->time, <=, now + 60);
  g_clear_pointer (&recent, g_ptr_array_unref);

  /* The menu lists it, with the format, targeting its path. */
  g_assert_cmpint (g_menu_model_get_n_items (menu), ==, 1);
  {
    g_autofree char *label = NULL;
    g_autofree char *action = NULL;
    g_autoptr(GVariant) target = NULL;

    g_assert_true (g_menu_model_get_item_attribute (menu, 0, G_MENU_ATTRIBUTE_LABEL, "s", &label));
    g_assert_true (g_menu_model_get_item_attribute (menu, 0, G_MENU_ATTRIBUTE_ACTION, "s", &action));
    target = g_menu_model_get_item_attribute_value (menu, 0, G_MENU_ATTRIBUTE_TARGET, G_VARIANT_TYPE_STRING);
    g_assert_nonnull (strstr (label, "first__set.jsonl"));
    g_assert_nonnull (strstr (label, "QVHighlights"));
    g_assert_cmpstr (action, ==, "annotation.open-export-folder");
    g_assert_cmpstr (g_variant_get_string (target, NULL), ==, first);
  }

  /* Twelve more exports: newest first, the same path once, ten at most. */
  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *name = g_strdup_printf ("set-%02u.json", i);
      g_autofree char *path = g_build_filename (export_dir, name, NULL);

      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                                 i % 2 ? "vidmark" : "activitynet", path));
    }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                             "vidmark", first));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                             "qvhighlights", first));
  recent = vm_recent_exports_get (settings);
  g_assert_cmpuint (recent->len, ==, VM_RECENT_EXPORTS_MAX);
  g_assert_cmpstr (((VmRecentExport *) g_ptr_array_index (recent, 0))->path, ==, first);
  g_assert_cmpstr (((VmRecentExport *) g_ptr_array_index (recent, 0))->format, ==, "qvhighlights");
  g_assert_true (g_str_has_suffix (((VmRecentExport *) g_ptr_array_index (recent, 1))->path, "set-11.json"));
  g_assert_cmpstr (((VmRecentExport *) g_ptr_array_index (recent, 1))->format, ==, "vidmark");
  g_assert_true (g_str_has_suffix (((VmRecentExport *) g_ptr_array_index (recent, 9))->path, "set-03.json"));
  for (guint i = 1; i < recent->len; i++)
    g_assert_cmpstr (((VmRecentExport *) g_ptr_array_index (recent, i))->path, !=, first);
  g_assert_cmpint (g_menu_model_get_n_items (menu), ==, VM_RECENT_EXPORTS_MAX);

  /* A failed export is not remembered. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                             "qvhighlights", "/nonexistent-folder/x.jsonl"));
  g_clear_pointer (&recent, g_ptr_array_unref);
  recent = vm_recent_exports_get (settings);
  g_assert_cmpstr (((VmRecentExport *) g_ptr_array_index (recent, 0))->path, ==, first);

  /* A second window shows the same list. */
  {
    VmWindow *other = vm_window_new (NULL, vm_catalog_get_path (catalog));

    g_assert_cmpint (g_menu_model_get_n_items (vm_window_get_recent_exports_menu (other)), ==,
                     VM_RECENT_EXPORTS_MAX);
    gtk_window_destroy (GTK_WINDOW (other));
  }

  /* Its folder opens in the file manager. */
  g_unlink (opened);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.open-export-folder", "s", first));
  vm_test_wait_for (file_exists, opened, 20, "the folder to be opened");
  {
    g_autofree char *text = NULL;
    g_autofree char *uri = g_filename_to_uri (export_dir, NULL, NULL);

    vm_test_spin (100);
    g_assert_true (g_file_get_contents (opened, &text, NULL, &error));
    /* %u: GIO may hand a local folder over as a path. */
    g_strstrip (text);
    if (g_strcmp0 (text, export_dir) != 0)
      g_assert_cmpstr (text, ==, uri);
  }
  /* A folder that is gone: a toast. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.open-export-folder", "s",
                                             "/nonexistent-folder/x.jsonl"));
  g_assert_cmpstr (vm_window_get_last_toast (window), ==, "The folder of that export no longer exists");

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_settings_reset (settings, "recent-exports");
}

typedef struct {
  guint n;
  guint position, removed, added;
} ItemsChanged;

static void
items_changed_cb (GListModel   *model,
                  guint         position,
                  guint         removed,
                  guint         added,
                  ItemsChanged *c)
{
  c->n++;
  c->position = position;
  c->removed = removed;
  c->added = added;
}

/* Reading the library again replaces only the rows that changed (no
 * signal at all when nothing did), so that reloads while indexing a large
 * library stay cheap. */
static void
test_window_library_reload (void)
{
  gint64 video_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("window-reload.sqlite", &video_id);
  g_autoptr(GError) error = NULL;
  ItemsChanged c = { 0 };
  GListModel *library;
  VmWindow *window;

  window = vm_window_new (NULL, vm_catalog_get_path (catalog));
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 20, "the library");
  library = vm_window_get_library (window);
  g_assert_cmpuint (g_list_model_get_n_items (library), ==, 2);
  g_signal_connect (library, "items-changed", G_CALLBACK (items_changed_cb), &c);

  vm_window_reload_library (window);
  vm_test_wait_for (window_idle, window, 20, "a reload");
  g_assert_cmpuint (c.n, ==, 0);

  g_assert_true (vm_catalog_set_video_status (catalog, video_id, VM_VIDEO_STATUS_ERROR, "broken", &error));
  g_assert_no_error (error);
  vm_window_reload_library (window);
  vm_test_wait_for (window_idle, window, 20, "a reload");
  g_assert_cmpuint (c.n, ==, 1);
  g_assert_cmpuint (c.position, ==, 1);
  g_assert_cmpuint (c.removed, ==, 1);
  g_assert_cmpuint (c.added, ==, 1);
  {
    g_autoptr(VmLibraryItem) item = g_list_model_get_item (library, 1);

    g_assert_cmpint (vm_library_item_get_status (item), ==, VM_VIDEO_STATUS_ERROR);
  }

  g_signal_handlers_disconnect_by_data (library, &c);
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Importing a dataset from the window: off the main thread through the
 * export layer, into the selected set, with a toast of the counts. */
static void
test_window_import (void)
{
  gint64 video_id, set_id;
  g_autoptr(VmCatalog) catalog = make_catalog ("window-import.sqlite", &video_id);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) queries = NULL;
  g_autofree char *file = g_build_filename (tmp_dir, "import.jsonl", NULL);
  /* One good query; one past the 4 s video; one of an unknown video. */
  const char *data =
    "{\"qid\": 7, \"query\": \"a fox jumps\", \"vid\": \"clip\", \"duration\": 4, \"relevant_windows\": [[0.5, 1.5]]}\n"
    "{\"qid\": 8, \"query\": \"too late\", \"vid\": \"clip\", \"duration\": 4, \"relevant_windows\": [[10, 20]]}\n"
    "{\"qid\": 9, \"query\": \"elsewhere\", \"vid\": \"no-such-video\", \"duration\": 4, \"relevant_windows\": [[0, 1]]}\n";
  VmWindow *window;
  VmQuery *q;
  gpointer weak;

  g_assert_true (g_file_set_contents (file, data, -1, &error));
  window = vm_window_new (NULL, vm_catalog_get_path (catalog));
  weak = window;
  g_object_add_weak_pointer (G_OBJECT (window), &weak);
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 20, "the library");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.import-from", "(ss)",
                                             "qvhighlights", file));
  g_assert_true (vm_window_get_busy (window));
  vm_test_wait_for (window_idle, window, 20, "the import");
  g_assert_cmpstr (vm_window_get_last_toast (window), ==, "Imported 1 query, 2 rejected");

  g_assert_true (vm_catalog_ensure_annotation_set (catalog, "default", &set_id, &error));
  queries = vm_catalog_list_queries (catalog, set_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (queries->len, ==, 1);
  q = g_ptr_array_index (queries, 0);
  g_assert_cmpstr (q->text, ==, "a fox jumps");
  g_assert_cmpint (q->qid, ==, 7);
  g_assert_cmpint (q->video_id, ==, video_id);
  g_assert_nonnull (weak);

  /* The rejected records are listed in a dialog. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.import-details", NULL));
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    gboolean found = FALSE;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

        if (ADW_IS_MESSAGE_DIALOG (w) && gtk_window_get_transient_for (w) == GTK_WINDOW (window))
          {
            const char *body = adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (w));

            g_assert_nonnull (strstr (body, "no-such-video"));
            found = TRUE;
            gtk_window_destroy (w);
          }
      }
    g_assert_true (found);
    g_assert_nonnull (weak);
  }

  /* An unknown format and a missing file are refused with a toast. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.import-from", "(ss)",
                                             "no-such-format", file));
  g_assert_false (vm_window_get_busy (window));
  g_assert_cmpstr (vm_window_get_last_toast (window), ==, "Unknown import format “no-such-format”");
  {
    g_autofree char *missing = g_build_filename (tmp_dir, "missing.jsonl", NULL);

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.import-from", "(ss)",
                                               "qvhighlights", missing));
    vm_test_wait_for (window_idle, window, 20, "the failed import");
    g_assert_true (g_str_has_prefix (vm_window_get_last_toast (window), "Could not import: "));
  }

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (weak);
}

static gboolean
library_indexed (gpointer data)
{
  GListModel *library = vm_window_get_library (data);
  guint n = g_list_model_get_n_items (library);

  if (vm_window_get_busy (data) || n != 2)
    return FALSE;
  {
    g_autoptr(VmLibraryItem) video = g_list_model_get_item (library, 1);

    return vm_library_item_get_status (video) == VM_VIDEO_STATUS_INDEXED;
  }
}

/* Adding a folder in the window indexes it in the worker process, and the
 * library shows the result. */
/* The UI thread's own work between two runs of a 10 ms high-priority
 * timeout: its CPU time (CLOCK_THREAD_CPUTIME_ID), so that the figure does
 * not depend on other load on the machine (docs/PERFORMANCE.md, "Window"). */
typedef struct {
  guint  id;
  gint64 last_cpu;
  gint64 max_work;
  guint  n_ticks;
} WorkMonitor;

static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean
work_tick_cb (gpointer data)
{
  WorkMonitor *w = data;
  gint64 cpu = thread_cpu_us ();

  w->max_work = MAX (w->max_work, cpu - w->last_cpu);
  w->last_cpu = cpu;
  w->n_ticks++;
  return G_SOURCE_CONTINUE;
}

static void
work_monitor_start (WorkMonitor *w)
{
  memset (w, 0, sizeof *w);
  w->last_cpu = thread_cpu_us ();
  w->id = g_timeout_add_full (G_PRIORITY_HIGH, 10, work_tick_cb, w, NULL);
}

static void
work_monitor_stop (WorkMonitor *w,
                   const char  *what)
{
  g_source_remove (w->id);
  work_tick_cb (w);
  g_test_message ("%s: longest UI-thread work between two ticks %.1f ms (%u ticks)",
                  what, w->max_work / 1000.0, w->n_ticks);
}

/* A library of 10 000 videos read again (as indexing does after every
 * file) holds the UI thread for well under 50 ms at a time: unchanged rows
 * are kept. */
static void
test_window_reload_cost (void)
{
  g_autofree char *path = new_catalog_path ("window-10k.sqlite");
  g_autoptr(GError) error = NULL;
  WorkMonitor w;
  VmWindow *window;
  gint64 folder_id;

  {
    g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);

    g_assert_no_error (error);
    g_assert_true (vm_catalog_add_folder (catalog, "/videos", &folder_id, &error));
    g_assert_true (vm_catalog_begin (catalog, &error));
    for (guint i = 0; i < 10000; i++)
      {
        g_autoptr(VmVideo) v = vm_video_new ();

        v->folder_id = folder_id;
        v->path = g_strdup_printf ("/videos/holiday-%05u.mp4", i);
        v->duration_ns = (gint64) (60 + i % 600) * SEC;
        v->status = VM_VIDEO_STATUS_INDEXED;
        g_assert_true (vm_catalog_save_video (catalog, v, &error));
      }
    g_assert_true (vm_catalog_commit (catalog, &error));
    g_assert_no_error (error);
  }

  window = vm_window_new (NULL, path);
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 30, "the library");
  g_assert_cmpuint (g_list_model_get_n_items (vm_window_get_library (window)), ==, 10001);
  vm_test_spin (200);

  work_monitor_start (&w);
  for (guint i = 0; i < 3; i++)
    {
      vm_window_reload_library (window);
      vm_test_wait_for (window_idle, window, 30, "a reload");
      vm_test_spin (50);
    }
  work_monitor_stop (&w, "3 reloads of 10 000 videos");
  g_assert_cmpint (w.max_work, <, 50000);
  g_assert_cmpuint (g_list_model_get_n_items (vm_window_get_library (window)), ==, 10001);

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_window_index (void)
{
  g_autofree char *catalog_path = new_catalog_path ("window-index.sqlite");
  g_autoptr(GSettings) settings = g_settings_new ("io.github.vidmark.Vidmark");
  g_auto(GStrv) folders = NULL;
  VmWindow *window;
  WorkMonitor w;

  if (g_getenv ("VIDMARK_CLI") == NULL)
    {
      g_test_skip ("VIDMARK_CLI is not set");
      return;
    }

  window = vm_window_new (NULL, catalog_path);
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 20, "the empty library");
  g_assert_cmpstr (vm_window_get_page (window), ==, "no-library");

  work_monitor_start (&w);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "library.add-folder-path", "s", media_dir));
  /* Indexing runs: the action is off until it is done. */
  g_assert_true (vm_window_get_busy (window));
  vm_test_wait_for (library_indexed, window, 90, "indexing in the worker");
  /* The UI thread never computed for 50 ms at a time meanwhile. */
  work_monitor_stop (&w, "indexing");
  g_assert_cmpint (w.max_work, <, 50000);
  g_assert_cmpstr (vm_window_get_page (window), ==, "main");

  /* The folder is remembered in the settings too. */
  folders = g_settings_get_strv (settings, "library-folders");
  g_assert_true (g_strv_contains ((const char * const *) folders, media_dir));

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
window_mapped_small (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) <= 600;
}

/* Narrow: the library and the results/player panes fold; opening a result
 * shows the player, back shows the results, back again the library. */
static void
test_window_narrow (void)
{
  g_autoptr(VmCatalog) catalog = make_catalog ("narrow.sqlite", NULL);
  VmWindow *window = vm_window_new (NULL, vm_catalog_get_path (catalog));
  AdwLeaflet *outer, *inner;

  vm_window_set_search_func (window, vm_search_text_and_names, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 560, 700);
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 20, "the library");
  vm_test_wait_for (window_mapped_small, window, 20, "a narrow window");
  vm_test_spin (100);

  outer = ADW_LEAFLET (find_widget_of_type (GTK_WIDGET (window), ADW_TYPE_LEAFLET, NULL));
  g_assert_nonnull (outer);
  /* The inner leaflet is inside the outer one. */
  inner = ADW_LEAFLET (find_widget_of_type (GTK_WIDGET (outer), ADW_TYPE_LEAFLET, NULL));
  g_assert_nonnull (inner);
  g_assert_true (adw_leaflet_get_folded (outer));
  g_assert_true (adw_leaflet_get_folded (inner));

  vm_window_search (window, "brown fox");
  vm_test_wait_for (window_idle, window, 20, "a search");
  vm_window_open_result (window, 0);
  g_assert_true (VM_IS_PLAYER (find_widget_of_type (adw_leaflet_get_visible_child (inner), VM_TYPE_PLAYER, NULL)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "library.show", NULL));
  g_assert_null (find_widget_of_type (adw_leaflet_get_visible_child (inner), VM_TYPE_PLAYER, NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "library.show", NULL));
  g_assert_null (find_widget_of_type (adw_leaflet_get_visible_child (outer), ADW_TYPE_LEAFLET, NULL));

  if (g_getenv ("VIDMARK_SCREENSHOT_DIR") && g_find_program_in_path ("import") && g_getenv ("DISPLAY"))
    {
      g_autofree char *cmd = NULL;

      g_mkdir_with_parents (g_getenv ("VIDMARK_SCREENSHOT_DIR"), 0755);
      vm_window_open_result (window, 0);
      vm_test_spin (500);
      cmd = g_strdup_printf ("import -window root '%s/narrow.png'", g_getenv ("VIDMARK_SCREENSHOT_DIR"));
      if (system (cmd) != 0)
        g_test_message ("no screenshot");
    }
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_window_errors (void)
{
  g_autofree char *bad = g_build_filename (tmp_dir, "not-a-catalog.sqlite", NULL);
  g_autofree char *empty = new_catalog_path ("empty.sqlite");
  VmWindow *window;

  /* Not a catalog: an error page, no crash. */
  g_assert_true (g_file_set_contents (bad, "definitely not sqlite", -1, NULL));
  window = vm_window_new (NULL, bad);
  g_assert_cmpstr (vm_window_get_page (window), ==, "error");
  gtk_window_destroy (GTK_WINDOW (window));

  /* An empty catalog: the "add a folder" page. */
  window = vm_window_new (NULL, empty);
  vm_test_wait_for (window_idle, window, 20, "the library");
  g_assert_cmpstr (vm_window_get_page (window), ==, "no-library");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- Search models ----------------------------------------------------------------------- */

static const char *
button_action (GtkWidget *button)
{
  return gtk_actionable_get_action_name (GTK_ACTIONABLE (button));
}

static const char *
row_title (GtkWidget *row)
{
  return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row));
}

/* The first row below @root (of @type, a kind of AdwPreferencesRow) titled
 * @title. */
static GtkWidget *
find_row (GtkWidget  *root,
          GType       type,
          const char *title)
{
  return find_widget_with (root, type, row_title, title);
}

typedef struct {
  GtkWidget *window;
  GtkWidget *download_row;
  GtkButton *download_button;
  guint      changed;
} ModelsPage;

static gboolean
download_idle (gpointer data)
{
  ModelsPage *page = data;

  return !gtk_widget_get_visible (find_widget_of_type (page->download_row, GTK_TYPE_PROGRESS_BAR, NULL));
}

static gboolean
download_running (gpointer data)
{
  return !download_idle (data);
}

static void
click_download (ModelsPage *page)
{
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (page->download_button)));
  g_signal_emit_by_name (page->download_button, "clicked");
}

static gboolean
dialog_shown (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (w) && gtk_widget_get_visible (GTK_WIDGET (w)))
        {
          *(AdwMessageDialog **) data = ADW_MESSAGE_DIALOG (w);
          return TRUE;
        }
    }
  return FALSE;
}

static void
count_cb (ModelsPage *page)
{
  page->changed++;
}

/* The Search Models page: download (an error, an install, a stop and its
 * continuation), choose the default, remove; and the window's banner. */
static void
test_preferences_models (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.vidmark.Vidmark");
  g_autofree char *default_name = NULL;
  g_autofree char *catalog_path = new_catalog_path ("models.sqlite");
  g_autoptr(GPtrArray) left = NULL;
  ModelsPage page = { 0 };
  AdwComboRow *known;
  GtkWidget *repo, *row, *group;
  AdwMessageDialog *dialog = NULL;
  VmWindow *window;
  guint n_known = 0;

  VM_TEST_SKIP_UNLESS (fakehub.endpoint != NULL, "no python3 to run the fake hub");
  g_setenv ("VIDMARK_HF_ENDPOINT", fakehub.endpoint, TRUE);

  /* No model: the window says so, and where to get one. */
  window = vm_window_new (NULL, catalog_path);
  gtk_window_present (GTK_WINDOW (window));
  vm_test_wait_for (window_idle, window, 20, "the empty window");
  {
    GtkWidget *banner = find_widget_of_type (GTK_WIDGET (window), GTK_TYPE_REVEALER, NULL);
    GtkWidget *get = find_widget_with (banner, GTK_TYPE_BUTTON, button_action, "app.models");

    g_assert_nonnull (get);
    g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (get)), ==, "app.models");
    g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (banner)));
  }

  page.window = vm_preferences_window_new (settings);
  g_signal_connect_swapped (page.window, "models-changed", G_CALLBACK (count_cb), &page);
  g_signal_connect_swapped (page.window, "models-changed", G_CALLBACK (vm_window_models_changed), window);
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (page.window), "models");
  gtk_window_present (GTK_WINDOW (page.window));

  page.download_row = find_row (page.window, ADW_TYPE_ACTION_ROW, "Download and Install");
  g_assert_nonnull (page.download_row);
  page.download_button = GTK_BUTTON (find_widget_of_type (page.download_row, GTK_TYPE_BUTTON, NULL));
  known = ADW_COMBO_ROW (find_row (page.window, ADW_TYPE_COMBO_ROW, "Model"));
  repo = find_row (page.window, ADW_TYPE_ENTRY_ROW, "Repository (organisation/name)");
  g_assert_nonnull (known);
  g_assert_nonnull (repo);
  group = gtk_widget_get_ancestor (find_row (page.window, ADW_TYPE_COMBO_ROW, "Model"), ADW_TYPE_PREFERENCES_PAGE);
  g_assert_nonnull (adw_preferences_group_get_description (
    ADW_PREFERENCES_GROUP (find_widget_of_type (group, ADW_TYPE_PREFERENCES_GROUP, NULL))));

  /* A known model is chosen at first, ready to download; the repository
   * field shows for "Other Repository" only. */
  g_assert_cmpuint (adw_combo_row_get_selected (known), ==, 0);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (page.download_button)));
  g_assert_false (gtk_widget_get_visible (repo));
  while (vm_known_models[n_known].name != NULL)
    n_known++;
  adw_combo_row_set_selected (known, n_known);
  g_assert_true (gtk_widget_get_visible (repo));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (page.download_button)));
  gtk_editable_set_text (GTK_EDITABLE (repo), "not a repository");
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (page.download_button)));

  /* A repository the hub does not have: the error stays in the row. */
  gtk_editable_set_text (GTK_EDITABLE (repo), "acme/nothing");
  click_download (&page);
  vm_test_wait_for (download_idle, &page, 30, "the failed download");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (page.download_row)), "acme/nothing"));
  g_assert_cmpuint (page.changed, ==, 0);

  /* Installed: listed, the default, the banner gone, the window's toast
   * offers to index. */
  gtk_editable_set_text (GTK_EDITABLE (repo), "acme/tiny-clip");
  click_download (&page);
  g_assert_false (gtk_widget_get_sensitive (repo));
  vm_test_wait_for (download_idle, &page, 30, "the download");
  g_assert_cmpuint (page.changed, ==, 1);
  g_assert_nonnull (find_row (page.window, ADW_TYPE_ACTION_ROW, "tiny-clip"));
  default_name = vm_model_store_get_default (NULL, NULL);
  g_assert_cmpstr (default_name, ==, "tiny-clip");
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (page.download_button)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (page.download_row)), "Installed"));
  g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (find_widget_of_type (GTK_WIDGET (window),
                                                                                    GTK_TYPE_REVEALER, NULL))));
  g_assert_nonnull (strstr (vm_window_get_last_toast (window), "index"));

  /* Stopped (the throttled one): an interrupted download to continue. */
  gtk_editable_set_text (GTK_EDITABLE (repo), "acme/slow");
  click_download (&page);
  vm_test_wait_for (download_running, &page, 5, "the slow download");
  vm_test_spin (300);
  g_signal_emit_by_name (page.download_button, "clicked");   /* Cancel */
  vm_test_wait_for (download_idle, &page, 30, "the stopped download");
  g_assert_cmpuint (page.changed, ==, 1);
  row = find_row (page.window, ADW_TYPE_ACTION_ROW, "slow");
  g_assert_nonnull (row);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "stopped"));
  left = vm_model_list_interrupted (NULL);
  g_assert_cmpuint (left->len, ==, 1);
  {
    GtkWidget *resume = find_widget_of_type (row, GTK_TYPE_BUTTON, NULL);

    while (resume != NULL && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (resume)), "C_ontinue") != 0)
      resume = gtk_widget_get_next_sibling (resume);
    g_assert_nonnull (resume);
    g_signal_emit_by_name (resume, "clicked");
  }
  vm_test_wait_for (download_running, &page, 5, "the continued download");
  vm_test_wait_for (download_idle, &page, 60, "the continued download");
  g_assert_cmpuint (page.changed, ==, 2);
  g_clear_pointer (&left, g_ptr_array_unref);
  left = vm_model_list_interrupted (NULL);
  g_assert_cmpuint (left->len, ==, 0);

  /* The other one becomes the default, for the command line too. */
  g_settings_set_string (settings, "default-model", "tiny-clip");
  row = find_row (page.window, ADW_TYPE_ACTION_ROW, "slow");
  g_assert_nonnull (row);
  {
    GtkCheckButton *check = GTK_CHECK_BUTTON (find_widget_of_type (row, GTK_TYPE_CHECK_BUTTON, NULL));

    g_assert_false (gtk_check_button_get_active (check));
    gtk_check_button_set_active (check, TRUE);
  }
  g_clear_pointer (&default_name, g_free);
  default_name = vm_model_store_get_default (NULL, NULL);
  g_assert_cmpstr (default_name, ==, "slow");
  {
    g_autofree char *setting = g_settings_get_string (settings, "default-model");

    g_assert_cmpstr (setting, ==, "");
  }
  g_assert_cmpuint (page.changed, ==, 3);

  /* Removed after a confirmation; cancelling it keeps the model. */
  g_signal_emit_by_name (find_widget_of_type (row, GTK_TYPE_BUTTON, "Remove"), "clicked");
  vm_test_wait_for (dialog_shown, &dialog, 5, "the confirmation");
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_nonnull (find_row (page.window, ADW_TYPE_ACTION_ROW, "slow"));
  g_signal_emit_by_name (find_widget_of_type (row, GTK_TYPE_BUTTON, "Remove"), "clicked");
  dialog = NULL;
  vm_test_wait_for (dialog_shown, &dialog, 5, "the confirmation");
  adw_message_dialog_response (dialog, "remove");
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_null (find_row (page.window, ADW_TYPE_ACTION_ROW, "slow"));
  g_clear_pointer (&default_name, g_free);
  default_name = vm_model_store_get_default (NULL, NULL);
  g_assert_cmpstr (default_name, ==, "tiny-clip");
  g_assert_cmpuint (page.changed, ==, 4);

  /* The fake hub's models are not runnable: none is left for the tests
   * after this one. */
  g_assert_true (vm_model_store_remove (NULL, "tiny-clip", TRUE, NULL));
  gtk_window_destroy (GTK_WINDOW (page.window));
  gtk_window_destroy (GTK_WINDOW (window));
  g_unsetenv ("VIDMARK_HF_ENDPOINT");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  VmClipSpec spec;
  int ret;

  const char *python = NULL, *script = NULL;

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  vm_test_take_script_args (&argc, &argv, &python, &script);
  g_test_init (&argc, &argv, NULL);

  /* Before anything reads (and caches) the XDG folders. */
  tmp_dir = vm_test_set_xdg_dirs ("vm-widgets-XXXXXX");
  install_folder_opener ();

  if (!gtk_init_check ())
    {
      g_test_skip ("no display (run under Xvfb: build-aux/test.sh)");
      return 77;
    }
  adw_init ();
  vm_widgets_init ();
  g_assert_true (vm_media_init (&error));
  media_dir = g_build_filename (tmp_dir, "media", NULL);
  g_assert_cmpint (g_mkdir_with_parents (media_dir, 0700), ==, 0);
  clip_path = g_build_filename (media_dir, "clip.mp4", NULL);
  vm_clip_spec_init (&spec);
  spec.format = VM_CLIP_MP4_H264;
  spec.duration = 4;
  spec.keyframe_interval = 1;
  g_assert_true (vm_media_generate_clip (&spec, clip_path, NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/widgets/moment/properties", test_moment_properties);
  g_test_add_func ("/widgets/search/fts-query", test_fts_query);
  g_test_add_func ("/widgets/search/text-and-names", test_search_text_and_names);
  g_test_add_func ("/widgets/search/default", test_search_default);
  g_test_add_func ("/widgets/search/async", test_search_async);
  g_test_add_func ("/widgets/search/thumbnail", test_thumbnail_find);
  g_test_add_func ("/widgets/annotation/stack", test_annotation_stack);
  g_test_add_func ("/widgets/annotation/save-failure", test_annotation_save_failure);
  g_test_add_func ("/widgets/annotation/clip-saliency", test_annotation_clip_saliency);
  g_test_add_func ("/widgets/library/load", test_library_load);
  g_test_add_func ("/widgets/timeline", test_timeline);
  g_test_add_func ("/widgets/playback/basics", test_playback);
  g_test_add_func ("/widgets/playback/error", test_playback_error);
  g_test_add_func ("/widgets/player", test_player_widget);
  g_test_add_func ("/widgets/index-runner", test_index_runner);
  g_test_add_func ("/widgets/preferences", test_preferences);
  g_test_add_func ("/widgets/window/flow", test_window);
  g_test_add_func ("/widgets/window/saliency-keys", test_window_saliency_keys);
  g_test_add_func ("/widgets/window/recent-exports", test_window_recent_exports);
  g_test_add_func ("/widgets/window/library-reload", test_window_library_reload);
  g_test_add_func ("/widgets/window/import", test_window_import);
  g_test_add_func ("/widgets/window/errors", test_window_errors);
  g_test_add_func ("/widgets/window/index", test_window_index);
  g_test_add_func ("/widgets/window/reload-cost", test_window_reload_cost);
  g_test_add_func ("/widgets/window/narrow", test_window_narrow);
  g_test_add_func ("/widgets/preferences/models", test_preferences_models);

  if (python != NULL)
    vm_test_fakehub_start (python, script, &fakehub);
  ret = g_test_run ();
  if (fakehub.endpoint != NULL)
    vm_test_fakehub_stop (&fakehub);

  vm_test_remove_tree (tmp_dir);
  return ret;
}
