/* test-formats.c — dataset file formats: exact output, reading the examples
 * of docs/FORMATS.md, validation of every record, bounds, splits, and the
 * corpus of malicious inputs in tests/export/corpus/.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "export/vm-formats.h"

#define S(x) ((gint64) ((x) * 1e9 + 0.5))

static VmDataset *
sample_dataset (void)
{
  VmDataset *d = vm_dataset_new ();
  VmDatasetVideo *v;
  VmDatasetQuery *q;
  VmSpan w;
  VmClipScore cs;

  v = vm_dataset_add_video (d, "bP5KfdFJzC4_660.0_810.0");
  v->duration_ns = S (126);
  v->fps_num = 30;
  v->fps_den = 1;
  v = vm_dataset_add_video (d, "AO8RW");
  v->duration_ns = S (30.5);
  v->fps_num = 25;
  v->fps_den = 1;
  vm_dataset_add_rater (d, "rater1");
  vm_dataset_add_rater (d, "rater2");

  q = vm_dataset_query_new ();
  q->qid = 8737;
  q->text = g_strdup ("A family is playing basketball together on a green court outside.");
  q->vid = g_strdup ("bP5KfdFJzC4_660.0_810.0");
  w = (VmSpan) { 0, S (4) };
  g_array_append_val (q->windows, w);
  cs = (VmClipScore) { 0, 0, 4 };
  g_array_append_val (q->saliency, cs);
  cs = (VmClipScore) { 0, 1, 1 };
  g_array_append_val (q->saliency, cs);
  cs = (VmClipScore) { 1, 0, 3 };
  g_array_append_val (q->saliency, cs);
  vm_dataset_add_query (d, q);

  q = vm_dataset_query_new ();
  q->qid = 9000;
  q->text = g_strdup ("a person is putting a book on a shelf.");
  q->vid = g_strdup ("AO8RW");
  w = (VmSpan) { 0, S (6.9) };
  g_array_append_val (q->windows, w);
  w = (VmSpan) { S (10.04), S (12) };
  g_array_append_val (q->windows, w);
  vm_dataset_add_query (d, q);

  /* A negative: only the vidmark format holds it. */
  q = vm_dataset_query_new ();
  q->qid = 9001;
  q->text = g_strdup ("a \"quoted\" \\ line\nbreak");
  q->vid = g_strdup ("AO8RW");
  g_ptr_array_add (q->negatives, g_strdup ("bP5KfdFJzC4_660.0_810.0"));
  vm_dataset_add_query (d, q);

  return d;
}

static void
check_write (VmFormat    format,
             const char *expected,
             guint       n_issues)
{
  g_autoptr(VmDataset) d = sample_dataset ();
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = vm_dataset_write (format, d, "demo", issues, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpuint (issues->len, ==, n_issues);
}

static void
test_write_qvhighlights (void)
{
  check_write (VM_FORMAT_QVHIGHLIGHTS,
               "{\"qid\": 8737, \"query\": \"A family is playing basketball together on a green court outside.\", "
               "\"duration\": 126, \"vid\": \"bP5KfdFJzC4_660.0_810.0\", \"relevant_windows\": [[0, 4]], "
               "\"relevant_clip_ids\": [0, 1], \"saliency_scores\": [[4, 1], [3, 0]]}\n"
               "{\"qid\": 9000, \"query\": \"a person is putting a book on a shelf.\", \"duration\": 30.5, "
               "\"vid\": \"AO8RW\", \"relevant_windows\": [[0, 6.9], [10.04, 12]]}\n",
               1 /* the negative */);
}

static void
test_write_charades (void)
{
  check_write (VM_FORMAT_CHARADES_STA,
               "bP5KfdFJzC4_660.0_810.0 0 4##A family is playing basketball together on a green court outside.\n"
               "AO8RW 0 6.9##a person is putting a book on a shelf.\n"
               "AO8RW 10.04 12##a person is putting a book on a shelf.\n",
               /* the saliency of 8737, the line break of 9001 */
               2);
}

static void
test_write_activitynet (void)
{
  check_write (VM_FORMAT_ACTIVITYNET,
               "{\n"
               "  \"bP5KfdFJzC4_660.0_810.0\": {\"duration\": 126, \"timestamps\": [[0, 4]], "
               "\"sentences\": [\"A family is playing basketball together on a green court outside.\"]},\n"
               "  \"AO8RW\": {\"duration\": 30.5, \"timestamps\": [[0, 6.9], [10.04, 12]], "
               "\"sentences\": [\"a person is putting a book on a shelf.\", \"a person is putting a book on a shelf.\"]}\n"
               "}\n",
               2);
}

static void
test_write_tacos (void)
{
  check_write (VM_FORMAT_TACOS,
               "{\n"
               "  \"bP5KfdFJzC4_660.0_810.0\": {\"num_frames\": 3780, \"fps\": 30, \"timestamps\": [[0, 120]], "
               "\"sentences\": [\"A family is playing basketball together on a green court outside.\"]},\n"
               "  \"AO8RW\": {\"num_frames\": 763, \"fps\": 25, \"timestamps\": [[0, 173], [251, 300]], "
               "\"sentences\": [\"a person is putting a book on a shelf.\", \"a person is putting a book on a shelf.\"]}\n"
               "}\n",
               2);
}

static void
test_write_vidmark (void)
{
  check_write (VM_FORMAT_VIDMARK,
               "{\n"
               "  \"format\": \"vidmark-dataset\",\n"
               "  \"version\": 1,\n"
               "  \"set\": \"demo\",\n"
               "  \"raters\": [\"rater1\", \"rater2\"],\n"
               "  \"videos\": [\n"
               "    {\"vid\": \"bP5KfdFJzC4_660.0_810.0\", \"duration\": 126, \"fps\": [30, 1]},\n"
               "    {\"vid\": \"AO8RW\", \"duration\": 30.5, \"fps\": [25, 1]}\n"
               "  ],\n"
               "  \"queries\": [\n"
               "    {\"qid\": 8737, \"query\": \"A family is playing basketball together on a green court outside.\", "
               "\"vid\": \"bP5KfdFJzC4_660.0_810.0\", \"windows\": [[0, 4]], \"saliency\": [[0, 0, 4], [0, 1, 1], [1, 0, 3]]},\n"
               "    {\"qid\": 9000, \"query\": \"a person is putting a book on a shelf.\", \"vid\": \"AO8RW\", "
               "\"windows\": [[0, 6.9], [10.04, 12]]},\n"
               "    {\"qid\": 9001, \"query\": \"a \\\"quoted\\\" \\\\ line\\nbreak\", \"vid\": \"AO8RW\", "
               "\"windows\": [], \"negatives\": [\"bP5KfdFJzC4_660.0_810.0\"]}\n"
               "  ]\n"
               "}\n",
               0);
}

static void
test_seconds (void)
{
  static const struct { gint64 ns; const char *text; } cases[] = {
    { 0, "0" }, { 1, "0.000000001" }, { 6900000000, "6.9" }, { 126000000000, "126" },
    { 10040000000, "10.04" }, { G_GINT64_CONSTANT (123456789012345), "123456.789012345" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      gint64 back = -1;

      vm_append_seconds (s, cases[i].ns);
      g_assert_cmpstr (s->str, ==, cases[i].text);
      g_assert_true (vm_seconds_to_ns (g_ascii_strtod (s->str, NULL), &back));
      g_assert_cmpint (back, ==, cases[i].ns);
    }
}

static VmDataset *
read_ok (VmFormat    format,
         const char *data,
         guint       n_issues)
{
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GError) error = NULL;
  VmDataset *d = vm_dataset_read (format, data, strlen (data), NULL, issues, &error);

  g_assert_no_error (error);
  g_assert_nonnull (d);
  if (issues->len != n_issues)
    for (guint i = 0; i < issues->len; i++)
      g_printerr ("issue: %s: %s\n", ((VmIssue *) issues->pdata[i])->where,
                  ((VmIssue *) issues->pdata[i])->reason);
  g_assert_cmpuint (issues->len, ==, n_issues);
  return d;
}

static void
test_read_examples (void)
{
  /* The examples of FORMATS.md. */
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_QVHIGHLIGHTS,
      "{\"qid\": 8737, \"query\": \"A family is playing basketball together on a green court outside.\",\n"
      /* (one object per line: the example is joined) */
      , 1);
    g_assert_cmpuint (d->queries->len, ==, 0);
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_QVHIGHLIGHTS,
      "{\"qid\": 8737, \"query\": \"A family is playing basketball together on a green court outside.\", "
      "\"duration\": 126, \"vid\": \"bP5KfdFJzC4_660.0_810.0\", \"relevant_windows\": [[0, 16]], "
      "\"relevant_clip_ids\": [0,1,2,3,4,5,6,7], "
      "\"saliency_scores\": [[4,1,1],[4,1,1],[4,2,1],[4,3,2],[4,3,2],[4,3,3],[4,3,3],[4,3,2]]}\n", 0);
    VmDatasetQuery *q = d->queries->pdata[0];

    g_assert_cmpint (q->qid, ==, 8737);
    g_assert_cmpstr (q->vid, ==, "bP5KfdFJzC4_660.0_810.0");
    g_assert_cmpuint (q->windows->len, ==, 1);
    g_assert_cmpint (g_array_index (q->windows, VmSpan, 0).end_ns, ==, S (16));
    g_assert_cmpuint (q->saliency->len, ==, 24);
    g_assert_cmpuint (d->raters->len, ==, 3);
    g_assert_cmpint (vm_dataset_lookup_video (d, q->vid)->duration_ns, ==, S (126));
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_CHARADES_STA,
      "AO8RW 0.0 6.9##a person is putting a book on a shelf.\r\n"
      "\n"
      "AO8RW 8.2 10##a person is putting a book on a shelf.\n"
      "Y6R7T 1 3.5##someone opens a door ## slowly\n", 0);
    VmDatasetQuery *q = d->queries->pdata[0];

    /* Lines with the same video and sentence are one query. */
    g_assert_cmpuint (d->queries->len, ==, 2);
    g_assert_cmpint (q->qid, ==, -1);
    g_assert_cmpuint (q->windows->len, ==, 2);
    g_assert_cmpint (g_array_index (q->windows, VmSpan, 0).end_ns, ==, S (6.9));
    g_assert_cmpstr (((VmDatasetQuery *) d->queries->pdata[1])->text, ==, "someone opens a door ## slowly");
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_ACTIVITYNET,
      "{\"v_QOlSCBRmfWY\": {\"duration\": 82.73, \"timestamps\": [[0.83, 19.86], [17.37, 60.81]],\n"
      "  \"sentences\": [\"A young woman is seen standing in a room and leads into her dancing.\", \"...\"]}}", 0);

    g_assert_cmpuint (d->queries->len, ==, 2);
    g_assert_cmpint (vm_dataset_lookup_video (d, "v_QOlSCBRmfWY")->duration_ns, ==, S (82.73));
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_TACOS,
      "{\"s13-d21.avi\": {\"num_frames\": 4368, \"fps\": 29.4, \"timestamps\": [[120, 560]],\n"
      "  \"sentences\": [\"He takes out a cutting board.\"]}}", 0);
    VmDatasetQuery *q = d->queries->pdata[0];

    g_assert_cmpint (g_array_index (q->windows, VmSpan, 0).start_ns, ==, (gint64) llround (120 / 29.4 * 1e9));
    g_assert_cmpint (g_array_index (q->windows, VmSpan, 0).end_ns, ==, (gint64) llround (560 / 29.4 * 1e9));
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_DIDEMO,
      "[{\"annotation_id\": 1, \"description\": \"the dog jumps into the pool\", \"video\": \"12345.mp4\",\n"
      " \"times\": [[2, 2], [2, 3], [2, 2], [2, 2]], \"num_segments\": 6}]", 0);
    VmDatasetQuery *q = d->queries->pdata[0];

    /* Distinct rater segments become the relevant windows, 5 s per chunk. */
    g_assert_cmpint (q->qid, ==, 1);
    g_assert_cmpuint (q->windows->len, ==, 2);
    g_assert_cmpint (g_array_index (q->windows, VmSpan, 0).start_ns, ==, S (10));
    g_assert_cmpint (g_array_index (q->windows, VmSpan, 0).end_ns, ==, S (15));
    g_assert_cmpint (g_array_index (q->windows, VmSpan, 1).end_ns, ==, S (20));
  }
}

/* Each bad record is reported with where and why; the good ones are kept. */
static void
test_read_rejects (void)
{
  static const struct { const char *line; const char *reason_part; } bad[] = {
    { "{\"qid\": 1, \"query\": \"q\", \"vid\": \"v\", \"relevant_windows\": [[5, 3]]}", "not before" },
    { "{\"qid\": 2, \"query\": \"q\", \"vid\": \"v\", \"relevant_windows\": [[-1, 3]]}", "negative" },
    { "{\"qid\": 3, \"query\": \"q\", \"vid\": \"v\", \"duration\": 10, \"relevant_windows\": [[5, 30]]}", "outside" },
    { "{\"qid\": 4, \"query\": \"q\", \"vid\": \"v\", \"relevant_windows\": [[1e300, 1e301]]}", "too large" },
    { "{\"qid\": 5, \"query\": 7, \"vid\": \"v\", \"relevant_windows\": [[1, 2]]}", "query" },
    { "{\"qid\": -6, \"query\": \"q\", \"vid\": \"v\"}", "qid" },
    { "{\"qid\": 7.5, \"query\": \"q\", \"vid\": \"v\"}", "qid" },
    { "{\"qid\": 8, \"query\": \"q\", \"vid\": \"v\", \"relevant_windows\": [[1, \"2\"]]}", "finite" },
    { "{\"qid\": 9, \"query\": \"q\", \"vid\": \"v\", \"relevant_windows\": [[1, 2, 3]]}", "pair" },
    { "{\"qid\": 10, \"query\": \"q\", \"vid\": \"v\", \"relevant_clip_ids\": [0], \"saliency_scores\": [[5]]}", "0–4" },
    { "{\"qid\": 11, \"query\": \"q\", \"vid\": \"v\", \"relevant_clip_ids\": [0, 0], \"saliency_scores\": [[1], [1]]}", "twice" },
    { "{\"qid\": 12, \"query\": \"q\", \"vid\": \"v\", \"relevant_clip_ids\": [0, 1], \"saliency_scores\": [[1], [1, 2]]}", "per rater" },
    { "{\"qid\": 13, \"query\": \"\", \"vid\": \"v\"}", "empty" },
    { "{\"qid\": 14, \"query\": \"q\", \"vid\": \"v\", \"duration\": -5}", "duration" },
    { "{\"qid\": 1, \"query\": \"again\", \"vid\": \"w\"}", "already used" },
    { "{\"qid\": 15, \"qid\": 16, \"query\": \"q\", \"vid\": \"v\"}", "twice" },
    { "{\"qid\": 17, \"query\": \"q\", \"vid\": \"v\"", "JSON" },
    { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "nested" },
    { "{\"qid\": 18, \"query\": \"q\", \"vid\": \"v\", \"duration\": 10, \"relevant_clip_ids\": [5], \"saliency_scores\": [[1]]}", "past the end" },
  };
  g_autoptr(GString) data = g_string_new ("{\"qid\": 1, \"query\": \"good\", \"vid\": \"v\", \"relevant_windows\": [[1, 2]]}\n");
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(VmDataset) d = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_string_append_printf (data, "%s\n", bad[i].line);
  g_string_append (data, "{\"qid\": 99, \"query\": \"good too\", \"vid\": \"v\", \"duration\": 10, "
                         "\"relevant_windows\": [[9, 10.2]]}");

  d = vm_dataset_read (VM_FORMAT_QVHIGHLIGHTS, data->str, data->len, NULL, issues, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (d->queries->len, ==, 2);
  /* Ending within 0.5 s past the duration is clamped. */
  g_assert_cmpint (g_array_index (((VmDatasetQuery *) d->queries->pdata[1])->windows, VmSpan, 0).end_ns, ==, S (10));
  g_assert_cmpuint (issues->len, ==, G_N_ELEMENTS (bad));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      VmIssue *issue = issues->pdata[i];
      g_autofree char *line = g_strdup_printf ("line %u", i + 2);

      g_assert_cmpstr (issue->where, ==, line);
      if (strstr (issue->reason, bad[i].reason_part) == NULL)
        g_error ("line %u: “%s” does not mention “%s”", i + 2, issue->reason, bad[i].reason_part);
    }
}

static void
test_read_rejects_other_formats (void)
{
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_CHARADES_STA,
      "AO8RW 0.0 6.9\n"                    /* no ## */
      "AO8RW 7 6.9##backwards\n"
      "AO8RW nan 6.9##nan\n"
      "AO8RW 0 inf##inf\n"
      "AO8RW 0 1 2##too many\n"
      "AO8RW 0 1##\n"
      "AO8RW 0 1##fine\n", 6);
    g_assert_cmpuint (d->queries->len, ==, 1);
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_ACTIVITYNET,
      "{\"a\": {\"duration\": 10, \"timestamps\": [[1, 2], [3, 40]], \"sentences\": [\"ok\", \"late\"]},"
      " \"b\": {\"duration\": 10, \"timestamps\": [[1, 2]], \"sentences\": []},"
      " \"c\": [],"
      " \"d\": {\"duration\": \"10\", \"timestamps\": [], \"sentences\": []}}", 4);
    g_assert_cmpuint (d->queries->len, ==, 1);
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_TACOS,
      "{\"a.avi\": {\"fps\": 0, \"timestamps\": [], \"sentences\": []},"
      " \"b.avi\": {\"fps\": 25, \"num_frames\": 100, \"timestamps\": [[10, 200]], \"sentences\": [\"x\"]}}", 2);
    g_assert_cmpuint (d->queries->len, ==, 0);
  }
  {
    g_autoptr(VmDataset) d = read_ok (VM_FORMAT_DIDEMO,
      "[{\"annotation_id\": 1, \"description\": \"d\", \"video\": \"v\", \"times\": [[3, 2]]},"
      " {\"annotation_id\": 2, \"description\": \"d\", \"video\": \"v\", \"times\": [[0, 6]]},"
      " {\"annotation_id\": 3, \"description\": \"d\", \"video\": \"v\", \"times\": []},"
      " {\"annotation_id\": 4, \"description\": \"d\", \"video\": \"v\", \"times\": [[0, 1]]},"
      " {\"annotation_id\": 4, \"description\": \"d\", \"video\": \"v\", \"times\": [[0, 1]]}, 5]", 5);
    g_assert_cmpuint (d->queries->len, ==, 1);
  }
}

static void
test_read_whole_file_errors (void)
{
  static const struct { VmFormat format; const char *data; } cases[] = {
    { VM_FORMAT_ACTIVITYNET, "[]" },
    { VM_FORMAT_ACTIVITYNET, "{\"a\": " },
    { VM_FORMAT_TACOS, "" },
    { VM_FORMAT_DIDEMO, "{}" },
    { VM_FORMAT_VIDMARK, "{\"format\": \"vidmark-dataset\", \"version\": 2, \"videos\": [], \"queries\": []}" },
    { VM_FORMAT_VIDMARK, "{\"videos\": [], \"queries\": []}" },
    { VM_FORMAT_VIDMARK, "{\"format\": \"vidmark-dataset\", \"version\": 1, \"raters\": [\"a\", \"a\"], \"videos\": [], \"queries\": []}" },
    { VM_FORMAT_ACTIVITYNET, "{\"a\": {\"b\": 1, \"b\": 2}}" },
    { VM_FORMAT_ACTIVITYNET, "{\"a\": \"\xff\"}" },
    { VM_FORMAT_ACTIVITYNET, "{}\n{\"a\": {\"duration\": 5, \"timestamps\": [[0, 1]], \"sentences\": [\"s\"]}}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) issues = vm_issues_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(VmDataset) d = vm_dataset_read (cases[i].format, cases[i].data, strlen (cases[i].data),
                                                NULL, issues, &error);

      g_assert_null (d);
      g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID);
    }

  /* The size bound is applied before anything else. */
  {
    VmReadLimits limits = { 10, 16 };
    g_autoptr(GError) error = NULL;
    g_autoptr(VmDataset) d = vm_dataset_read (VM_FORMAT_CHARADES_STA, "a 0 1##b\na 0 1##c\n", 18,
                                              &limits, NULL, &error);
    g_assert_null (d);
    g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_TOO_LARGE);
  }
}

static void
test_prescan (void)
{
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  /* Brackets inside strings do not count, escaped quotes do not end them. */
  g_assert_true (vm_json_prescan ("{\"a\\\"[[[[\": \"]]]]{{{{\"}", 23, 2, NULL));
  g_assert_true (vm_json_prescan ("[[1]]", 5, 2, NULL));
  g_assert_false (vm_json_prescan ("[[[1]]]", 7, 2, &error));
  g_assert_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID);
  g_clear_error (&error);
  /* Same key at different levels or in different objects is fine. */
  g_assert_true (vm_json_prescan ("[{\"a\": {\"a\": 1}}, {\"a\": 2}]", 27, 4, NULL));
  g_assert_false (vm_json_prescan ("{\"a\": 1, \"b\": {}, \"a\": 2}", 25, 4, NULL));
  /* A value equal to a key is not a key. */
  g_assert_true (vm_json_prescan ("{\"a\": \"a\", \"b\": \"a\"}", 20, 4, NULL));
  g_assert_false (vm_json_prescan ("\"\xc3\x28\"", 4, 4, NULL));
  /* One value per text (json-glib takes the first of several). */
  g_assert_true (vm_json_prescan (" {\"a\": [1, \"]\"]} \r\n", 19, 4, NULL));
  g_assert_true (vm_json_prescan ("42", 2, 4, NULL));
  g_assert_true (vm_json_prescan ("\"s\"\n", 4, 4, NULL));
  g_assert_false (vm_json_prescan ("{} {}", 5, 4, NULL));
  g_assert_false (vm_json_prescan ("{}\n[]", 5, 4, NULL));
  g_assert_false (vm_json_prescan ("[]\"s\"", 5, 4, NULL));
  g_assert_false (vm_json_prescan ("42 43", 5, 4, NULL));
  g_assert_false (vm_json_prescan ("42[]", 4, 4, NULL));
  g_assert_false (vm_json_prescan ("\"a\" 1", 5, 4, NULL));
  g_assert_false (vm_json_prescan ("{} x", 4, 4, NULL));
  g_assert_false (vm_json_prescan ("\"a\0b\"", 5, 4, NULL));

  /* A million levels (json-glib 1.6 would overflow its stack) are refused
   * at once, by every JSON reader. */
  for (guint i = 0; i < 1000000; i++)
    g_string_append_c (deep, '[');
  for (VmFormat f = 0; f <= VM_FORMAT_LAST; f++)
    {
      g_autoptr(GPtrArray) issues = vm_issues_new ();
      g_autoptr(GError) e = NULL;
      g_autoptr(VmDataset) d = vm_dataset_read (f, deep->str, deep->len, NULL, issues, &e);

      g_assert_true (d == NULL || issues->len == 1);
    }
}

static void
test_vidmark_round_trip (void)
{
  g_autoptr(VmDataset) d = sample_dataset ();
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autofree char *text = vm_dataset_write (VM_FORMAT_VIDMARK, d, "demo", issues, NULL);
  g_autoptr(VmDataset) back = read_ok (VM_FORMAT_VIDMARK, text, 0);
  g_autofree char *a = vm_dataset_to_canonical (d, TRUE, TRUE);
  g_autofree char *b = vm_dataset_to_canonical (back, TRUE, TRUE);

  g_assert_cmpstr (a, ==, b);
}

static void
test_split (void)
{
  g_autoptr(VmDataset) d = vm_dataset_new ();
  double f[3];
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) a = NULL, b = NULL, c = NULL;
  guint counts[3] = { 0 };
  GHashTableIter iter;
  gpointer key, value;
  gboolean differs = FALSE;

  for (guint i = 0; i < 50; i++)
    for (guint k = 0; k < 3; k++)
      {
        VmDatasetQuery *q = vm_dataset_query_new ();
        VmSpan w = { 0, 1 };

        q->qid = i * 3 + k;
        q->vid = g_strdup_printf ("video%02u", i);
        q->text = g_strdup_printf ("text %u", k);
        g_array_append_val (q->windows, w);
        vm_dataset_add_video (d, q->vid);
        vm_dataset_add_query (d, q);
      }

  g_assert_true (vm_split_parse ("0.8, 0.1,0.1", f, &error));
  g_assert_no_error (error);
  g_assert_false (vm_split_parse ("0.8,0.3", f, NULL));
  g_assert_false (vm_split_parse ("1", f, NULL));
  g_assert_false (vm_split_parse ("0.5,x,0.5", f, NULL));
  g_assert_false (vm_split_parse ("1.5,-0.5", f, NULL));
  g_assert_false (vm_split_parse ("nan,0.5,0.5", f, NULL));
  g_assert_true (vm_split_parse ("0.8,0.1,0.1", f, NULL));

  a = vm_dataset_split (d, f, 42);
  b = vm_dataset_split (d, f, 42);
  c = vm_dataset_split (d, f, 43);
  g_assert_cmpuint (g_hash_table_size (a), ==, 50);
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      counts[GPOINTER_TO_INT (value)]++;
      g_assert_true (g_hash_table_lookup (b, key) == value);
      differs |= g_hash_table_lookup (c, key) != value;
    }
  g_assert_cmpuint (counts[0], ==, 40);
  g_assert_cmpuint (counts[1], ==, 5);
  g_assert_cmpuint (counts[2], ==, 5);
  g_assert_true (differs);

  /* The split is by video: all queries of a video land in one subset. */
  {
    guint total = 0;

    for (VmSplit s = VM_SPLIT_TRAIN; s <= VM_SPLIT_TEST; s++)
      {
        g_autoptr(VmDataset) sub = vm_dataset_subset (d, a, s);

        total += sub->queries->len;
        for (guint i = 0; i < sub->queries->len; i++)
          {
            VmDatasetQuery *q = sub->queries->pdata[i];
            g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (a, q->vid)), ==, s);
          }
      }
    g_assert_cmpuint (total, ==, 150);
  }

  /* Fixed for a given seed, whatever the system: a golden value. */
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (a, "video00")), ==,
                   GPOINTER_TO_INT (g_hash_table_lookup (b, "video00")));

  {
    g_autofree char *n1 = vm_split_file_name ("out/set.jsonl", VM_SPLIT_TRAIN);
    g_autofree char *n2 = vm_split_file_name ("set", VM_SPLIT_TEST);
    g_autofree char *n3 = vm_split_file_name ("/a.b/set.v1.json", VM_SPLIT_VAL);

    g_assert_cmpstr (n1, ==, "out/set_train.jsonl");
    g_assert_cmpstr (n2, ==, "set_test");
    g_assert_cmpstr (n3, ==, "/a.b/set.v1_val.json");
  }
}

/* Every file of the corpus, read as every format: no crash, no warning,
 * and each is refused as a whole or has its records reported. */
static void
test_corpus (void)
{
  const char *srcdir = g_getenv ("VIDMARK_TEST_SRCDIR");
  g_autofree char *dir_path = g_build_filename (srcdir ? srcdir : ".", "export", "corpus", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint n_files = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autofree char *data = NULL;
      gsize length;

      g_assert_true (g_file_get_contents (path, &data, &length, NULL));
      n_files++;
      for (VmFormat f = 0; f <= VM_FORMAT_LAST; f++)
        {
          g_autoptr(GPtrArray) issues = vm_issues_new ();
          g_autoptr(GError) error = NULL;
          g_autoptr(VmDataset) d = vm_dataset_read (f, data, length, NULL, issues, &error);

          if (d == NULL)
            {
              g_assert_nonnull (error);
              continue;
            }
          /* Every corpus file is bad in some way for every format: it is
           * reported, or nothing is accepted from it. */
          if (issues->len == 0 && d->queries->len > 0)
            g_error ("%s read as %s: accepted %u queries with no issue", name,
                     vm_format_to_string (f), d->queries->len);
          for (guint i = 0; i < issues->len; i++)
            {
              VmIssue *issue = issues->pdata[i];
              g_assert_true (issue->where != NULL && *issue->where);
              g_assert_true (issue->reason != NULL && *issue->reason);
              g_assert_true (g_utf8_validate (issue->where, -1, NULL));
            }
        }
    }
  g_assert_cmpuint (n_files, >=, 20);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/formats/seconds", test_seconds);
  g_test_add_func ("/formats/write/qvhighlights", test_write_qvhighlights);
  g_test_add_func ("/formats/write/charades-sta", test_write_charades);
  g_test_add_func ("/formats/write/activitynet", test_write_activitynet);
  g_test_add_func ("/formats/write/tacos", test_write_tacos);
  g_test_add_func ("/formats/write/vidmark", test_write_vidmark);
  g_test_add_func ("/formats/read/examples", test_read_examples);
  g_test_add_func ("/formats/read/rejects", test_read_rejects);
  g_test_add_func ("/formats/read/rejects-other-formats", test_read_rejects_other_formats);
  g_test_add_func ("/formats/read/whole-file-errors", test_read_whole_file_errors);
  g_test_add_func ("/formats/prescan", test_prescan);
  g_test_add_func ("/formats/vidmark-round-trip", test_vidmark_round_trip);
  g_test_add_func ("/formats/split", test_split);
  g_test_add_func ("/formats/corpus", test_corpus);

  return g_test_run ();
}
