/* vm-eval.h — moment retrieval and highlight metrics, computed as the
 * datasets' evaluation code computes them (Moment-DETR's standalone_eval):
 *
 * - R1@IoU=m: the first predicted window of a query (prediction files list
 *   windows best first) against the ground-truth window it overlaps most; a
 *   hit when IoU ≥ m.  mIoU is the mean of that IoU.
 * - mAP: per query and per IoU threshold, the interpolated average precision
 *   (VOC 2011) of at most 10 predictions (the first 10 in file order, then
 *   ranked by score, ties kept in file order), each ground-truth window
 *   matched at most once; averaged over queries, then over the thresholds
 *   0.5:0.05:0.95; also reported at 0.5 and 0.75.
 * - HIT@1: the clip with the highest predicted saliency (the first one on
 *   ties) is rated ≥ 4 ("very good") by at least one rater; averaged over
 *   queries.
 *
 * Only queries that have both ground truth and a prediction are scored, as in
 * the reference code.  Results are fractions (0..1), not percentages.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "export/vm-formats.h"

G_BEGIN_DECLS

typedef struct {
  double start;
  double end;
} VmEvalWindow;

typedef struct {
  double start;
  double end;
  double score;
} VmEvalPrediction;

#define VM_EVAL_MAX_PREDICTIONS 10
#define VM_EVAL_N_MAP_THRESHOLDS 10

typedef struct {
  gint64   qid;
  /* Ground truth */
  GArray  *windows;          /* VmEvalWindow */
  guint    n_clips;          /* saliency matrix, n_clips × n_raters; 0 when none */
  guint    n_raters;
  int     *scores;
  /* Prediction */
  gboolean has_prediction;
  GArray  *predicted;        /* VmEvalPrediction, in file order */
  GArray  *saliency;         /* double per 2 s clip; empty when none */
} VmEvalQuery;

VmEvalQuery *vm_eval_query_new  (gint64       qid);
void         vm_eval_query_free (VmEvalQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmEvalQuery, vm_eval_query_free)

typedef struct {
  guint  n_queries;          /* scored for moments */
  guint  n_missing;          /* ground truth without prediction */
  guint  n_unknown;          /* predictions for no ground-truth query */
  double r1[3];              /* at IoU 0.3, 0.5, 0.7 */
  double miou;
  double map_avg;            /* over 0.5:0.05:0.95 */
  double map[VM_EVAL_N_MAP_THRESHOLDS];
  guint  n_highlight;        /* scored for HIT@1 */
  double hit1;
} VmEvalResult;

/* Temporal IoU of two windows; 0 when the union is empty. */
double   vm_eval_iou              (double a_start,
                                   double a_end,
                                   double b_start,
                                   double b_end);
/* VOC 2011 interpolated AP of a precision/recall curve of @n points. */
double   vm_eval_interpolated_ap  (const double *precision,
                                   const double *recall,
                                   guint         n);
/* AP of @predicted (ranked by score, stably) against @gt at each of
 * @n_thresholds thresholds into @out_ap. */
void     vm_eval_average_precision (const VmEvalWindow     *gt,
                                    guint                   n_gt,
                                    const VmEvalPrediction *predicted,
                                    guint                   n_predicted,
                                    const double           *thresholds,
                                    guint                   n_thresholds,
                                    double                 *out_ap);
/* The IoU thresholds of mAP: 0.5, 0.55, ..., 0.95. */
const double *vm_eval_map_thresholds (void);

/* Scores @queries (element type VmEvalQuery*). */
void     vm_eval_compute          (GPtrArray    *queries,
                                   VmEvalResult *out_result);

/* Reads a QVHighlights predictions file (JSON Lines of qid,
 * pred_relevant_windows [[start, end, score], ...], optional
 * pred_saliency_scores) into @queries, which maps qid → VmEvalQuery*: the
 * prediction of a known qid is filled in; an unknown qid is counted in
 * @out_unknown.  Bad lines are reported in @issues. */
gboolean vm_eval_read_predictions (const char          *data,
                                   gsize                length,
                                   const VmReadLimits  *limits,
                                   GHashTable          *queries,
                                   guint               *out_unknown,
                                   GPtrArray           *issues,
                                   GError             **error);

/* Ground truth from a dataset: one VmEvalQuery per query with windows;
 * saliency from its scores (missing scores count 0).  Returns qid →
 * VmEvalQuery* (owned by the table). */
GHashTable *vm_eval_ground_truth  (VmDataset    *dataset);

/* The result as JSON text (percentages with two decimals, as the reference
 * code prints them). */
char    *vm_eval_result_to_json   (const VmEvalResult *result);

G_END_DECLS
