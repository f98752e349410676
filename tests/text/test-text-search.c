/* test-text-search.c — user text to FTS5, moment search over an in-memory
 * catalog: diacritics, prefixes, phrases, margins, merging, filters, and
 * hostile queries.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "catalog/vm-catalog.h"
#include "core/vm-core.h"
#include "search/vm-text-search.h"

#define SEC(x) ((gint64) ((x) * 1e9))

static void
test_query_to_fts (void)
{
  struct { const char *in, *out; } cases[] = {
    { "red ball", "\"red\" \"ball\"" },
    { "  \"new york\"  bri* ", "\"new york\" \"bri\"*" },
    { "café", "\"café\"" },
    { "a\"b", "\"a\" \"b\"" },
    { "AND OR NOT", "\"AND\" \"OR\" \"NOT\"" },
    { "\"unterminated phrase", "\"unterminated phrase\"" },
    { "\"prefix phrase\"*", "\"prefix phrase\"*" },
    { "x*y", "\"x*y\"" },
    { "kett**", "\"kett\"*" },
    { "col:umn NEAR(a b)", "\"col:umn\" \"NEAR(a\" \"b)\"" },
    { "- -- ! 42", "\"42\"" },
    { "tab\there", "\"tab\" \"here\"" },
  };
  const char *empty[] = { "", "   ", "*", "\"\"", "\"  \"*", "- + ( ) ^", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *fts = vm_text_query_to_fts (cases[i].in, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (fts, ==, cases[i].out);
    }

  for (guint i = 0; empty[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *fts = vm_text_query_to_fts (empty[i], &error);

      g_assert_null (fts);
      g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY);
    }

  /* NULL and invalid UTF-8 do not crash. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *fts = vm_text_query_to_fts ("\xff\xfe caf\xc3", &error);

    g_assert_no_error (error);
    g_assert_nonnull (fts);
    g_clear_pointer (&fts, g_free);
    fts = vm_text_query_to_fts (NULL, &error);
    g_assert_null (fts);
    g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY);
  }

  /* A huge query is cut, not refused. */
  {
    g_autoptr(GString) big = g_string_new (NULL);
    g_autofree char *fts = NULL;

    for (guint i = 0; i < 5000; i++)
      g_string_append (big, "wörd ");
    fts = vm_text_query_to_fts (big->str, NULL);
    g_assert_nonnull (fts);
    g_assert_cmpuint (strlen (fts), <, 4096);
  }
}

static void
test_iou (void)
{
  g_assert_cmpfloat (vm_temporal_iou (0, 10, 0, 10), ==, 1.0);
  g_assert_cmpfloat (vm_temporal_iou (0, 10, 5, 15), ==, 5.0 / 15.0);
  g_assert_cmpfloat (vm_temporal_iou (0, 10, 10, 20), ==, 0.0);
  g_assert_cmpfloat (vm_temporal_iou (0, 0, 0, 10), ==, 0.0);
  g_assert_cmpfloat (vm_temporal_iou (2, 4, 0, 10), ==, 0.2);
}

typedef struct {
  VmCatalog *catalog;
  gint64     a, b, gone;
} Fixture;

static gint64
add_video (VmCatalog  *catalog,
           const char *path,
           double      duration,
           VmVideoStatus status)
{
  g_autoptr(VmVideo) v = vm_video_new ();
  g_autoptr(GError) error = NULL;

  v->path = g_strdup (path);
  v->duration_ns = SEC (duration);
  v->fingerprint = g_strdup (path);
  v->status = status;
  g_assert_true (vm_catalog_save_video (catalog, v, &error));
  g_assert_no_error (error);
  return v->id;
}

static void
add_text (VmCatalog    *catalog,
          gint64        video_id,
          VmTextSource  source,
          double        start,
          double        end,
          const char   *language,
          const char   *text,
          double        confidence)
{
  g_autoptr(GError) error = NULL;
  VmTextSegment s = { 0 };

  s.video_id = video_id;
  s.source = source;
  s.start_ns = SEC (start);
  s.end_ns = SEC (end);
  s.language = (char *) language;
  s.text = (char *) text;
  s.confidence = confidence;
  g_assert_true (vm_catalog_add_text_segment (catalog, &s, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->catalog = vm_catalog_open (":memory:", &error);
  g_assert_no_error (error);

  f->a = add_video (f->catalog, "/videos/a.mkv", 20.0, VM_VIDEO_STATUS_INDEXED);
  f->b = add_video (f->catalog, "/videos/b.mp4", 3.0, VM_VIDEO_STATUS_INDEXED);
  f->gone = add_video (f->catalog, "/videos/gone.mp4", 10.0, VM_VIDEO_STATUS_MISSING);

  add_text (f->catalog, f->a, VM_TEXT_SOURCE_SUBTITLE, 2.0, 4.0, "fr", "Le Café ouvre tôt", 1.0);
  add_text (f->catalog, f->a, VM_TEXT_SOURCE_OCR, 3.0, 5.0, "en", "CAFE MENU", 0.9);
  add_text (f->catalog, f->a, VM_TEXT_SOURCE_SPEECH, 12.0, 13.0, "en", "coffee time now", 0.4);
  add_text (f->catalog, f->a, VM_TEXT_SOURCE_SUBTITLE, 16.0, 17.0, NULL, "a kettle boils", 1.0);
  add_text (f->catalog, f->b, VM_TEXT_SOURCE_SUBTITLE, 0.5, 2.8, "en", "a cafe in new york", 1.0);
  add_text (f->catalog, f->gone, VM_TEXT_SOURCE_SUBTITLE, 1.0, 2.0, "en", "cafe of a missing file", 1.0);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->catalog);
}

static GPtrArray *
search (Fixture                   *f,
        const char                *query,
        const VmTextSearchOptions *options)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *moments = vm_text_search (f->catalog, query, options, &error);

  g_assert_no_error (error);
  g_assert_nonnull (moments);
  return moments;
}

static VmMoment *
moment (GPtrArray *moments,
        guint      i)
{
  g_assert_cmpuint (i, <, moments->len);
  return g_ptr_array_index (moments, i);
}

static void
test_search_basic (Fixture       *f,
                   gconstpointer  data)
{
  const char *same[] = { "cafe", "café", "CAFÉ", "caf*", "Cafe" };

  /* Diacritics and case fold; OCR and subtitle hits of a video merge. */
  for (guint i = 0; i < G_N_ELEMENTS (same); i++)
    {
      g_autoptr(GPtrArray) moments = search (f, same[i], NULL);
      VmMoment *ma = NULL, *mb = NULL;

      g_assert_cmpuint (moments->len, ==, 2);
      for (guint k = 0; k < moments->len; k++)
        {
          VmMoment *m = moment (moments, k);

          if (m->video_id == f->a)
            ma = m;
          else if (m->video_id == f->b)
            mb = m;
        }
      g_assert_nonnull (ma);
      g_assert_nonnull (mb);

      g_assert_cmpstr (ma->path, ==, "/videos/a.mkv");
      g_assert_cmpint (ma->start_ns, ==, SEC (1.5));
      g_assert_cmpint (ma->end_ns, ==, SEC (5.5));
      g_assert_cmpuint (ma->signals, ==, VM_SIGNAL_SUBTITLE | VM_SIGNAL_OCR);
      g_assert_cmpuint (ma->snippets->len, ==, 2);
      g_assert_cmpint (((VmSnippet *) g_ptr_array_index (ma->snippets, 0))->source, ==, VM_TEXT_SOURCE_SUBTITLE);
      g_assert_cmpstr (((VmSnippet *) g_ptr_array_index (ma->snippets, 0))->language, ==, "fr");
      g_assert_nonnull (strstr (((VmSnippet *) g_ptr_array_index (ma->snippets, 0))->highlighted, "[Café]"));

      /* Clamped to [0, duration]. */
      g_assert_cmpint (mb->start_ns, ==, 0);
      g_assert_cmpint (mb->end_ns, ==, SEC (3.0));
      g_assert_cmpuint (mb->signals, ==, VM_SIGNAL_SUBTITLE);

      /* Two signals agreeing rank first. */
      g_assert_true (moment (moments, 0) == ma);
      g_assert_cmpfloat (ma->score, >, mb->score);
      g_assert_cmpfloat (ma->score, <=, 1.0);
      g_assert_cmpfloat (mb->score, >, 0.0);
    }
}

static void
test_search_phrases (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) m1 = search (f, "\"new york\"", NULL);
  g_autoptr(GPtrArray) m2 = search (f, "\"york new\"", NULL);
  g_autoptr(GPtrArray) m3 = search (f, "coff*", NULL);
  g_autoptr(GPtrArray) m4 = search (f, "cafe kettle", NULL);
  g_autoptr(GPtrArray) m5 = search (f, "zebra", NULL);
  g_autoptr(GPtrArray) m6 = search (f, "tot", NULL);

  g_assert_cmpuint (m1->len, ==, 1);
  g_assert_cmpint (moment (m1, 0)->video_id, ==, f->b);
  g_assert_cmpuint (m2->len, ==, 0);

  g_assert_cmpuint (m3->len, ==, 1);
  g_assert_cmpint (moment (m3, 0)->start_ns, ==, SEC (11.5));
  g_assert_cmpint (moment (m3, 0)->end_ns, ==, SEC (13.5));
  g_assert_cmpuint (moment (m3, 0)->signals, ==, VM_SIGNAL_SPEECH);

  /* All words must be in one segment. */
  g_assert_cmpuint (m4->len, ==, 0);
  g_assert_cmpuint (m5->len, ==, 0);

  /* "tôt" folds to "tot". */
  g_assert_cmpuint (m6->len, ==, 1);
}

static void
test_search_options (Fixture       *f,
                     gconstpointer  data)
{
  VmTextSearchOptions options;

  vm_text_search_options_init (&options);
  g_assert_cmpuint (options.limit, ==, 10);
  g_assert_cmpint (options.margin_ns, ==, SEC (0.5));

  /* One video. */
  options.video_id = f->b;
  {
    g_autoptr(GPtrArray) m = search (f, "cafe", &options);

    g_assert_cmpuint (m->len, ==, 1);
    g_assert_cmpint (moment (m, 0)->video_id, ==, f->b);
  }

  /* OCR only, no margin. */
  vm_text_search_options_init (&options);
  options.sources = VM_SIGNAL_OCR;
  options.margin_ns = 0;
  {
    g_autoptr(GPtrArray) m = search (f, "cafe", &options);

    g_assert_cmpuint (m->len, ==, 1);
    g_assert_cmpint (moment (m, 0)->start_ns, ==, SEC (3.0));
    g_assert_cmpint (moment (m, 0)->end_ns, ==, SEC (5.0));
    g_assert_cmpuint (moment (m, 0)->signals, ==, VM_SIGNAL_OCR);
  }

  /* Limit. */
  vm_text_search_options_init (&options);
  options.limit = 1;
  {
    g_autoptr(GPtrArray) m = search (f, "cafe", &options);

    g_assert_cmpuint (m->len, ==, 1);
  }

  /* Without margin the subtitle [2,4] and OCR [3,5] still overlap; with a
   * zero merge gap, the kettle at 16 s stays apart from them. */
  vm_text_search_options_init (&options);
  options.margin_ns = 0;
  options.merge_gap_ns = 0;
  {
    g_autoptr(GPtrArray) m = search (f, "cafe", &options);

    g_assert_cmpuint (m->len, ==, 2);
  }
}

static void
test_search_hostile (Fixture       *f,
                     gconstpointer  data)
{
  const char *queries[] = {
    "\"", "\"\"\"", "a\"b\"c\"", "NEAR(cafe kettle, 2)", "cafe AND", "OR cafe", "NOT", "^cafe",
    "{a b}: cafe", "text:cafe", "cafe -kettle", "(cafe", "cafe)", "*cafe", "c*a*f*e", "'; DROP TABLE videos; --",
    "\\", "cafe\"*", "\xf0\x9f\x98\x80 emoji", "ĳ ß ﬁ Ǆ", "a\x01\x02" "b",
  };

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) m = vm_text_search (f->catalog, queries[i], NULL, &error);

      if (m == NULL)
        g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY);
    }

  /* Random bytes. */
  for (guint round = 0; round < 300; round++)
    {
      char buf[40];
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) m = NULL;
      guint len = g_test_rand_int_range (0, sizeof buf - 1);
      const char alphabet[] = "abc \"*()-+:^{},.NEAR AND OR NOT \\'\t";

      for (guint k = 0; k < len; k++)
        buf[k] = round % 2 ? alphabet[g_test_rand_int_range (0, sizeof alphabet - 1)]
                           : (char) g_test_rand_int_range (1, 256);
      buf[len] = '\0';
      m = vm_text_search (f->catalog, buf, NULL, &error);
      if (m == NULL)
        g_assert_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY);
    }

  /* The catalog is intact. */
  {
    g_autoptr(GPtrArray) m = search (f, "cafe", NULL);
    g_assert_cmpuint (m->len, ==, 2);
  }
}

static VmMoment *
make_moment (gint64   video_id,
             double   start,
             double   end,
             double   score,
             VmSignal signal)
{
  VmMoment *m = vm_moment_new ();
  VmSnippet *s = g_new0 (VmSnippet, 1);

  m->video_id = video_id;
  m->path = g_strdup_printf ("/v/%" G_GINT64_FORMAT, video_id);
  m->start_ns = SEC (start);
  m->end_ns = SEC (end);
  m->score = score;
  m->signals = signal;
  s->text = g_strdup ("x");
  s->highlighted = g_strdup ("x");
  s->start_ns = m->start_ns;
  s->end_ns = m->end_ns;
  g_ptr_array_add (m->snippets, s);
  return m;
}

static void
test_merge (void)
{
  g_autoptr(GPtrArray) moments = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);

  /* A visual moment joins a text moment it overlaps; other videos stay. */
  g_ptr_array_add (moments, make_moment (1, 10, 14, 0.6, VM_SIGNAL_VISUAL));
  g_ptr_array_add (moments, make_moment (1, 13, 16, 0.7, VM_SIGNAL_SUBTITLE));
  g_ptr_array_add (moments, make_moment (1, 16.5, 18, 0.5, VM_SIGNAL_SUBTITLE));  /* within the gap */
  g_ptr_array_add (moments, make_moment (1, 30, 32, 0.9, VM_SIGNAL_OCR));
  g_ptr_array_add (moments, make_moment (2, 10, 14, 0.8, VM_SIGNAL_SPEECH));

  vm_moments_merge (moments, SEC (1.0));
  g_assert_cmpuint (moments->len, ==, 3);

  /* By score: 0.9 (OCR alone), 0.7 + 0.05 (two signals), 0.8 (speech). */
  g_assert_cmpfloat (moment (moments, 0)->score, ==, 0.9);
  g_assert_cmpint (moment (moments, 1)->video_id, ==, 2);
  g_assert_cmpint (moment (moments, 2)->video_id, ==, 1);
  g_assert_cmpint (moment (moments, 2)->start_ns, ==, SEC (10));
  g_assert_cmpint (moment (moments, 2)->end_ns, ==, SEC (18));
  g_assert_cmpuint (moment (moments, 2)->signals, ==, VM_SIGNAL_VISUAL | VM_SIGNAL_SUBTITLE);
  g_assert_cmpfloat_with_epsilon (moment (moments, 2)->score, 0.75, 1e-9);
  g_assert_cmpuint (moment (moments, 2)->snippets->len, ==, 3);

  g_assert_cmpstr (vm_signal_to_string (VM_SIGNAL_OCR), ==, "ocr");
  g_assert_cmpint (vm_signal_from_text_source (VM_TEXT_SOURCE_SPEECH), ==, VM_SIGNAL_SPEECH);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/text-search/query-to-fts", test_query_to_fts);
  g_test_add_func ("/text-search/iou", test_iou);
  g_test_add_func ("/text-search/merge", test_merge);
  g_test_add ("/text-search/basic", Fixture, NULL, fixture_set_up, test_search_basic, fixture_tear_down);
  g_test_add ("/text-search/phrases", Fixture, NULL, fixture_set_up, test_search_phrases, fixture_tear_down);
  g_test_add ("/text-search/options", Fixture, NULL, fixture_set_up, test_search_options, fixture_tear_down);
  g_test_add ("/text-search/hostile", Fixture, NULL, fixture_set_up, test_search_hostile, fixture_tear_down);

  return g_test_run ();
}
