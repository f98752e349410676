/* test-metrics.c — moment retrieval and highlight metrics on hand-computed
 * cases.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "export/vm-eval.h"

#define EPS 1e-12

static void
test_iou (void)
{
  g_assert_cmpfloat_with_epsilon (vm_eval_iou (0, 10, 5, 15), 1.0 / 3, EPS);
  g_assert_cmpfloat_with_epsilon (vm_eval_iou (0, 10, 0, 10), 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (vm_eval_iou (0, 10, 10, 20), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (vm_eval_iou (0, 10, 20, 30), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (vm_eval_iou (2, 4, 0, 10), 0.2, EPS);
  /* Degenerate windows give 0, never NaN. */
  g_assert_cmpfloat (vm_eval_iou (5, 5, 5, 5), ==, 0.0);
}

static void
test_interpolated_ap (void)
{
  /* precision [1, .5, 2/3], recall [.5, .5, 1]: the envelope is
   * [1, 1, 2/3, 2/3]; recall steps at .5 and 1 → .5·1 + .5·2/3. */
  const double p[] = { 1, 0.5, 2.0 / 3 }, r[] = { 0.5, 0.5, 1 };
  const double p2[] = { 0, 0.5 }, r2[] = { 0, 1 };

  g_assert_cmpfloat_with_epsilon (vm_eval_interpolated_ap (p, r, 3), 0.5 + 0.5 * 2.0 / 3, EPS);
  /* A miss then a hit: .5 precision over the whole recall. */
  g_assert_cmpfloat_with_epsilon (vm_eval_interpolated_ap (p2, r2, 2), 0.5, EPS);
}

static void
test_average_precision (void)
{
  const VmEvalWindow gt[] = { { 0, 10 }, { 20, 30 } };
  const VmEvalPrediction pred[] = { { 0, 10, 0.9 }, { 21, 30, 0.8 }, { 0, 9, 0.7 } };
  const double *thr = vm_eval_map_thresholds ();
  double ap[VM_EVAL_N_MAP_THRESHOLDS];

  vm_eval_average_precision (gt, 2, pred, 3, thr, VM_EVAL_N_MAP_THRESHOLDS, ap);
  /* Up to IoU 0.9 both GT windows are found first: AP 1.  The third
   * prediction overlaps an already matched window (IoU .9) and is a false
   * positive after full recall, which interpolation ignores. */
  for (guint t = 0; t < 9; t++)
    g_assert_cmpfloat_with_epsilon (ap[t], 1.0, EPS);
  /* At 0.95 only the first prediction hits: recall .5 at precision 1. */
  g_assert_cmpfloat_with_epsilon (ap[9], 0.5, EPS);

  /* Ranking is by score, not by file order. */
  {
    const VmEvalWindow g[] = { { 10, 20 } };
    const VmEvalPrediction p[] = { { 0, 5, 0.1 }, { 10, 20, 0.9 } };

    vm_eval_average_precision (g, 1, p, 2, thr, 1, ap);
    g_assert_cmpfloat_with_epsilon (ap[0], 1.0, EPS);
  }
  /* Equal scores keep the file order: the miss first halves the AP. */
  {
    const VmEvalWindow g[] = { { 10, 20 } };
    const VmEvalPrediction p[] = { { 0, 5, 0.5 }, { 10, 20, 0.5 } };

    vm_eval_average_precision (g, 1, p, 2, thr, 1, ap);
    g_assert_cmpfloat_with_epsilon (ap[0], 0.5, EPS);
  }
  /* One GT window matched once: a duplicate prediction is a false positive
   * (precision [1, .5], recall [1, 1] → AP 1); two GT windows with one
   * prediction → recall .5. */
  {
    const VmEvalWindow g[] = { { 0, 10 }, { 50, 60 } };
    const VmEvalPrediction p[] = { { 0, 10, 0.9 } };

    vm_eval_average_precision (g, 2, p, 1, thr, 1, ap);
    g_assert_cmpfloat_with_epsilon (ap[0], 0.5, EPS);
  }
  /* No prediction: 0. */
  vm_eval_average_precision (gt, 2, pred, 0, thr, 1, ap);
  g_assert_cmpfloat (ap[0], ==, 0.0);
}

static VmEvalQuery *
make_query (gint64              qid,
            const VmEvalWindow *gt,
            guint               n_gt,
            const VmEvalPrediction *pred,
            guint               n_pred)
{
  VmEvalQuery *q = vm_eval_query_new (qid);

  g_array_append_vals (q->windows, gt, n_gt);
  if (pred != NULL)
    {
      q->has_prediction = TRUE;
      g_array_append_vals (q->predicted, pred, n_pred);
    }
  return q;
}

static void
test_compute (void)
{
  g_autoptr(GPtrArray) queries = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_eval_query_free);
  const VmEvalWindow gt1[] = { { 0, 10 }, { 20, 30 } };
  const VmEvalPrediction p1[] = { { 0, 10, 0.9 }, { 21, 30, 0.8 }, { 0, 9, 0.7 } };
  const VmEvalWindow gt2[] = { { 10, 20 } };
  const VmEvalPrediction p2[] = { { 0, 5, 0.1 }, { 10, 20, 0.9 } };
  const VmEvalWindow gt3[] = { { 0, 10 } };
  VmEvalResult r;

  /* Query 1: top-1 (file order) is exact; AP .95 as above.
   * Query 2: top-1 in file order misses (IoU 0) although its best-scored
   * window is exact; AP 1.
   * Query 3: no prediction — not scored, counted as missing. */
  g_ptr_array_add (queries, make_query (1, gt1, 2, p1, 3));
  g_ptr_array_add (queries, make_query (2, gt2, 1, p2, 2));
  g_ptr_array_add (queries, make_query (3, gt3, 1, NULL, 0));

  vm_eval_compute (queries, &r);
  g_assert_cmpuint (r.n_queries, ==, 2);
  g_assert_cmpuint (r.n_missing, ==, 1);
  for (guint k = 0; k < 3; k++)
    g_assert_cmpfloat_with_epsilon (r.r1[k], 0.5, EPS);
  g_assert_cmpfloat_with_epsilon (r.miou, 0.5, EPS);
  g_assert_cmpfloat_with_epsilon (r.map[0], 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (r.map[5], 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (r.map[9], 0.75, EPS);
  g_assert_cmpfloat_with_epsilon (r.map_avg, (0.95 + 1.0) / 2, EPS);
  g_assert_cmpuint (r.n_highlight, ==, 0);
}

static void
test_r1_thresholds (void)
{
  g_autoptr(GPtrArray) queries = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_eval_query_free);
  const VmEvalWindow gt[] = { { 0, 10 } };
  /* IoU .4, .6 and .8 against [0, 10]; the second GT window is the one
   * the prediction overlaps most for query 4. */
  const VmEvalPrediction a[] = { { 0, 4, 1 } };
  const VmEvalPrediction b[] = { { 0, 6, 1 } };
  const VmEvalPrediction c[] = { { 2, 10, 1 } };
  const VmEvalWindow gt4[] = { { 0, 10 }, { 40, 50 } };
  const VmEvalPrediction d[] = { { 41, 50, 1 } };
  VmEvalResult r;

  g_ptr_array_add (queries, make_query (1, gt, 1, a, 1));
  g_ptr_array_add (queries, make_query (2, gt, 1, b, 1));
  g_ptr_array_add (queries, make_query (3, gt, 1, c, 1));
  g_ptr_array_add (queries, make_query (4, gt4, 2, d, 1));
  vm_eval_compute (queries, &r);
  g_assert_cmpuint (r.n_queries, ==, 4);
  g_assert_cmpfloat_with_epsilon (r.r1[0], 4 / 4.0, EPS);  /* ≥ .3: .4 .6 .8 .9 */
  g_assert_cmpfloat_with_epsilon (r.r1[1], 3 / 4.0, EPS);  /* ≥ .5 */
  g_assert_cmpfloat_with_epsilon (r.r1[2], 2 / 4.0, EPS);  /* ≥ .7 */
  g_assert_cmpfloat_with_epsilon (r.miou, (0.4 + 0.6 + 0.8 + 0.9) / 4, 1e-9);
}

static void
test_map_at_most_ten (void)
{
  g_autoptr(GPtrArray) queries = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_eval_query_free);
  const VmEvalWindow gt[] = { { 0, 10 } };
  VmEvalPrediction p[12];
  VmEvalResult r;

  /* Ten misses, then the exact window with the best score as 11th: the
   * reference keeps the first ten predictions of the file, so AP is 0. */
  for (guint i = 0; i < 10; i++)
    p[i] = (VmEvalPrediction) { 50, 60, 0.5 };
  p[10] = (VmEvalPrediction) { 0, 10, 0.99 };
  p[11] = (VmEvalPrediction) { 0, 10, 0.98 };
  g_ptr_array_add (queries, make_query (1, gt, 1, p, 12));
  vm_eval_compute (queries, &r);
  g_assert_cmpfloat (r.map_avg, ==, 0.0);

  /* As the 10th it counts: ranked first by score → AP 1. */
  p[9] = (VmEvalPrediction) { 0, 10, 0.99 };
  g_ptr_array_set_size (queries, 0);
  g_ptr_array_add (queries, make_query (1, gt, 1, p, 12));
  vm_eval_compute (queries, &r);
  g_assert_cmpfloat_with_epsilon (r.map_avg, 1.0, EPS);
}

static void
test_hit1 (void)
{
  g_autoptr(GPtrArray) queries = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_eval_query_free);
  const VmEvalWindow gt[] = { { 0, 4 } };
  const VmEvalPrediction p[] = { { 0, 4, 1 } };
  /* Three raters; clip 0 is "very good" for rater 1 only, clip 1 is fair. */
  const int scores[] = { 4, 1, 1,
                         2, 2, 2 };
  const double s_miss[] = { 0.1, 0.9 };
  const double s_hit[] = { 0.9, 0.9 };   /* tie: the first clip */
  const double s_out[] = { 0, 0, 0, 5 }; /* beyond the rated clips: a miss */
  const double *sal[] = { s_miss, s_hit, s_out };
  const guint n_sal[] = { 2, 2, 4 };
  VmEvalResult r;

  for (guint i = 0; i < 3; i++)
    {
      VmEvalQuery *q = make_query (i + 1, gt, 1, p, 1);

      q->n_clips = 2;
      q->n_raters = 3;
      q->scores = g_memdup2 (scores, sizeof scores);
      g_array_append_vals (q->saliency, sal[i], n_sal[i]);
      g_ptr_array_add (queries, q);
    }
  vm_eval_compute (queries, &r);
  g_assert_cmpuint (r.n_highlight, ==, 3);
  g_assert_cmpfloat_with_epsilon (r.hit1, 1.0 / 3, EPS);
}

static void
test_read_predictions (void)
{
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                       (GDestroyNotify) vm_eval_query_free);
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GError) error = NULL;
  VmEvalQuery *q1 = vm_eval_query_new (1), *q2 = vm_eval_query_new (2);
  const char *data =
    "{\"qid\": 1, \"query\": \"x\", \"vid\": \"a\", \"pred_relevant_windows\": [[0, 10, 0.9], [2, 4.5, 0.1]], "
    "\"pred_saliency_scores\": [0.5, -1.25]}\n"
    "\n"
    "{\"qid\": 2, \"pred_relevant_windows\": [[5, 1, 0.9]]}\n"
    "{\"qid\": 3, \"pred_relevant_windows\": []}\n"
    "{\"qid\": 1, \"pred_relevant_windows\": []}\n"
    "[1, 2]\n"
    "{\"qid\": \"4\", \"pred_relevant_windows\": []}\n";
  guint unknown = 0;

  g_hash_table_insert (table, &q1->qid, q1);
  g_hash_table_insert (table, &q2->qid, q2);
  g_assert_true (vm_eval_read_predictions (data, strlen (data), NULL, table, &unknown, issues, &error));
  g_assert_no_error (error);
  g_assert_true (q1->has_prediction);
  g_assert_cmpuint (q1->predicted->len, ==, 2);
  g_assert_cmpfloat (g_array_index (q1->predicted, VmEvalPrediction, 1).end, ==, 4.5);
  g_assert_cmpuint (q1->saliency->len, ==, 2);
  g_assert_cmpfloat (g_array_index (q1->saliency, double, 1), ==, -1.25);
  g_assert_false (q2->has_prediction);   /* its window was rejected */
  g_assert_cmpuint (unknown, ==, 1);      /* qid 3 */
  g_assert_cmpuint (issues->len, ==, 4);
  g_assert_cmpstr (((VmIssue *) issues->pdata[0])->where, ==, "line 3");
  g_assert_cmpstr (((VmIssue *) issues->pdata[1])->where, ==, "line 5");
  g_assert_cmpstr (((VmIssue *) issues->pdata[2])->where, ==, "line 6");
  g_assert_cmpstr (((VmIssue *) issues->pdata[3])->where, ==, "line 7");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/metrics/iou", test_iou);
  g_test_add_func ("/metrics/interpolated-ap", test_interpolated_ap);
  g_test_add_func ("/metrics/average-precision", test_average_precision);
  g_test_add_func ("/metrics/compute", test_compute);
  g_test_add_func ("/metrics/r1-thresholds", test_r1_thresholds);
  g_test_add_func ("/metrics/map-at-most-ten", test_map_at_most_ten);
  g_test_add_func ("/metrics/hit1", test_hit1);
  g_test_add_func ("/metrics/read-predictions", test_read_predictions);

  return g_test_run ();
}
