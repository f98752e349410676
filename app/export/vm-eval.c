/* vm-eval.c — moment retrieval and highlight metrics.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "export/vm-eval.h"

#include <inttypes.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static const double map_thresholds[VM_EVAL_N_MAP_THRESHOLDS] = {
  0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95,
};

static const double r1_thresholds[3] = { 0.3, 0.5, 0.7 };

const double *
vm_eval_map_thresholds (void)
{
  return map_thresholds;
}

VmEvalQuery *
vm_eval_query_new (gint64 qid)
{
  VmEvalQuery *q = g_new0 (VmEvalQuery, 1);

  q->qid = qid;
  q->windows = g_array_new (FALSE, FALSE, sizeof (VmEvalWindow));
  q->predicted = g_array_new (FALSE, FALSE, sizeof (VmEvalPrediction));
  q->saliency = g_array_new (FALSE, FALSE, sizeof (double));
  return q;
}

void
vm_eval_query_free (VmEvalQuery *query)
{
  if (query == NULL)
    return;
  g_array_unref (query->windows);
  g_array_unref (query->predicted);
  g_array_unref (query->saliency);
  g_free (query->scores);
  g_free (query);
}

double
vm_eval_iou (double a_start,
             double a_end,
             double b_start,
             double b_end)
{
  double inter = MIN (a_end, b_end) - MAX (a_start, b_start);
  double uni;

  if (inter < 0)
    inter = 0;
  uni = (a_end - a_start) + (b_end - b_start) - inter;
  if (!(uni > 0))
    return 0;
  return inter / uni;
}

double
vm_eval_interpolated_ap (const double *precision,
                         const double *recall,
                         guint         n)
{
  g_autofree double *mprec = g_new (double, n + 2);
  g_autofree double *mrec = g_new (double, n + 2);
  double ap = 0;

  mprec[0] = 0;
  mrec[0] = 0;
  for (guint i = 0; i < n; i++)
    {
      mprec[i + 1] = precision[i];
      mrec[i + 1] = recall[i];
    }
  mprec[n + 1] = 0;
  mrec[n + 1] = 1;

  for (guint i = n + 1; i-- > 0;)
    mprec[i] = MAX (mprec[i], mprec[i + 1]);
  for (guint i = 1; i < n + 2; i++)
    if (mrec[i] != mrec[i - 1])
      ap += (mrec[i] - mrec[i - 1]) * mprec[i];

  return ap;
}

typedef struct {
  guint  index;
  double value;
} Ranked;

/* Decreasing value; ties keep their order (a stable sort). */
static int
ranked_desc_cmp (gconstpointer a,
                 gconstpointer b)
{
  const Ranked *x = a, *y = b;

  if (x->value != y->value)
    return x->value > y->value ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

/* Decreasing value; ties put the later index first (a stable ascending sort,
 * reversed, as numpy's argsort()[::-1] gives on short arrays). */
static int
ranked_desc_rev_cmp (gconstpointer a,
                     gconstpointer b)
{
  const Ranked *x = a, *y = b;

  if (x->value != y->value)
    return x->value > y->value ? -1 : 1;
  return x->index > y->index ? -1 : (x->index < y->index);
}

void
vm_eval_average_precision (const VmEvalWindow     *gt,
                           guint                   n_gt,
                           const VmEvalPrediction *predicted,
                           guint                   n_predicted,
                           const double           *thresholds,
                           guint                   n_thresholds,
                           double                 *out_ap)
{
  g_autofree Ranked *order = NULL;
  g_autofree Ranked *ious = NULL;
  g_autofree gboolean *locked = NULL;
  g_autofree double *precision = NULL, *recall = NULL;

  for (guint t = 0; t < n_thresholds; t++)
    out_ap[t] = 0;
  if (n_predicted == 0 || n_gt == 0)
    return;

  order = g_new (Ranked, n_predicted);
  for (guint i = 0; i < n_predicted; i++)
    {
      order[i].index = i;
      order[i].value = predicted[i].score;
    }
  qsort (order, n_predicted, sizeof (Ranked), ranked_desc_cmp);

  ious = g_new (Ranked, n_gt);
  locked = g_new0 (gboolean, (gsize) n_thresholds * n_gt);
  precision = g_new (double, n_predicted);
  recall = g_new (double, n_predicted);

  for (guint t = 0; t < n_thresholds; t++)
    {
      guint tp = 0, fp = 0;

      memset (locked, 0, sizeof (gboolean) * n_gt);
      for (guint r = 0; r < n_predicted; r++)
        {
          const VmEvalPrediction *p = &predicted[order[r].index];
          gboolean hit = FALSE;

          for (guint j = 0; j < n_gt; j++)
            {
              ious[j].index = j;
              ious[j].value = vm_eval_iou (p->start, p->end, gt[j].start, gt[j].end);
            }
          qsort (ious, n_gt, sizeof (Ranked), ranked_desc_rev_cmp);
          for (guint j = 0; j < n_gt; j++)
            {
              if (ious[j].value < thresholds[t])
                break;
              if (locked[ious[j].index])
                continue;
              locked[ious[j].index] = TRUE;
              hit = TRUE;
              break;
            }
          if (hit)
            tp++;
          else
            fp++;
          precision[r] = (double) tp / (tp + fp);
          recall[r] = (double) tp / n_gt;
        }
      out_ap[t] = vm_eval_interpolated_ap (precision, recall, n_predicted);
    }
}

void
vm_eval_compute (GPtrArray    *queries,
                 VmEvalResult *out)
{
  double map_sum[VM_EVAL_N_MAP_THRESHOLDS] = { 0 };
  double r1_hits[3] = { 0 }, iou_sum = 0, hit_sum = 0;

  memset (out, 0, sizeof *out);

  for (guint i = 0; i < queries->len; i++)
    {
      VmEvalQuery *q = g_ptr_array_index (queries, i);
      double ap[VM_EVAL_N_MAP_THRESHOLDS];

      if (!q->has_prediction)
        {
          if (q->windows->len > 0)
            out->n_missing++;
          continue;
        }

      /* Moments. */
      if (q->windows->len > 0 && q->predicted->len > 0)
        {
          const VmEvalPrediction *top = &g_array_index (q->predicted, VmEvalPrediction, 0);
          double best = -1;
          guint n_pred = MIN (q->predicted->len, VM_EVAL_MAX_PREDICTIONS);

          /* The GT window the top prediction overlaps most (first on ties). */
          for (guint j = 0; j < q->windows->len; j++)
            {
              VmEvalWindow *w = &g_array_index (q->windows, VmEvalWindow, j);
              double iou = vm_eval_iou (top->start, top->end, w->start, w->end);
              if (iou > best)
                best = iou;
            }
          for (guint k = 0; k < 3; k++)
            if (best >= r1_thresholds[k])
              r1_hits[k] += 1;
          iou_sum += best;

          vm_eval_average_precision ((VmEvalWindow *) q->windows->data, q->windows->len,
                                     (VmEvalPrediction *) q->predicted->data, n_pred,
                                     map_thresholds, VM_EVAL_N_MAP_THRESHOLDS, ap);
          for (guint t = 0; t < VM_EVAL_N_MAP_THRESHOLDS; t++)
            map_sum[t] += ap[t];
          out->n_queries++;
        }

      /* Highlights. */
      if (q->n_clips > 0 && q->n_raters > 0 && q->saliency->len > 0)
        {
          guint best = 0;
          double hit = 0;

          for (guint c = 1; c < q->saliency->len; c++)
            if (g_array_index (q->saliency, double, c) > g_array_index (q->saliency, double, best))
              best = c;
          if (best < q->n_clips)
            for (guint r = 0; r < q->n_raters; r++)
              if (q->scores[best * q->n_raters + r] >= 4)
                hit = 1;
          hit_sum += hit;
          out->n_highlight++;
        }
    }

  if (out->n_queries > 0)
    {
      for (guint k = 0; k < 3; k++)
        out->r1[k] = r1_hits[k] / out->n_queries;
      out->miou = iou_sum / out->n_queries;
      for (guint t = 0; t < VM_EVAL_N_MAP_THRESHOLDS; t++)
        {
          out->map[t] = map_sum[t] / out->n_queries;
          out->map_avg += out->map[t];
        }
      out->map_avg /= VM_EVAL_N_MAP_THRESHOLDS;
    }
  if (out->n_highlight > 0)
    out->hit1 = hit_sum / out->n_highlight;
}

GHashTable *
vm_eval_ground_truth (VmDataset *dataset)
{
  GHashTable *table = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                             (GDestroyNotify) vm_eval_query_free);
  guint n_raters = dataset->raters->len;

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *dq = g_ptr_array_index (dataset->queries, i);
      VmDatasetVideo *v = vm_dataset_lookup_video (dataset, dq->vid);
      VmEvalQuery *q;

      if (dq->windows->len == 0 || dq->qid < 0)
        continue;
      q = vm_eval_query_new (dq->qid);
      for (guint j = 0; j < dq->windows->len; j++)
        {
          VmSpan *s = &g_array_index (dq->windows, VmSpan, j);
          VmEvalWindow w = { s->start_ns / 1e9, s->end_ns / 1e9 };
          g_array_append_val (q->windows, w);
        }
      if (dq->saliency->len > 0 && n_raters > 0)
        {
          guint n_clips = 0;

          if (v != NULL && v->duration_ns >= 0)
            n_clips = (guint) (v->duration_ns / VM_DATASET_CLIP_NS);
          for (guint j = 0; j < dq->saliency->len; j++)
            n_clips = MAX (n_clips, g_array_index (dq->saliency, VmClipScore, j).clip + 1);
          q->n_clips = n_clips;
          q->n_raters = n_raters;
          q->scores = g_new0 (int, (gsize) n_clips * n_raters);
          for (guint j = 0; j < dq->saliency->len; j++)
            {
              VmClipScore *s = &g_array_index (dq->saliency, VmClipScore, j);
              if (s->rater < n_raters)
                q->scores[s->clip * n_raters + s->rater] = s->score;
            }
        }
      g_hash_table_insert (table, &q->qid, q);
    }

  return table;
}

gboolean
vm_eval_read_predictions (const char          *data,
                          gsize                length,
                          const VmReadLimits  *limits,
                          GHashTable          *queries,
                          guint               *out_unknown,
                          GPtrArray           *issues,
                          GError             **error)
{
  VmReadLimits defaults;
  const char *p = data, *end = data + length;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  guint line = 0;

  *out_unknown = 0;
  if (limits == NULL)
    {
      vm_read_limits_init (&defaults);
      limits = &defaults;
    }
  if (length > limits->max_bytes)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_TOO_LARGE,
                   _("the file is larger than %zu bytes"), limits->max_bytes);
      return FALSE;
    }
  if (length >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize len = (nl ? nl : end) - p;
      const char *text = p;
      g_autofree char *where = NULL;
      g_autoptr(JsonParser) parser = NULL;
      g_autoptr(GError) local = NULL;
      g_autoptr(GArray) windows = NULL;
      g_autoptr(GArray) saliency = NULL;
      JsonNode *root, *node;
      JsonObject *o;
      JsonArray *a;
      gint64 qid;
      VmEvalQuery *q;
      gboolean blank = TRUE, ok = TRUE;

      p = nl ? nl + 1 : end;
      line++;
      for (gsize i = 0; i < len && blank; i++)
        blank = g_ascii_isspace (text[i]);
      if (blank)
        continue;
      where = g_strdup_printf (_("line %u"), line);
      if (!vm_json_prescan (text, len, limits->max_depth, &local))
        {
          vm_issues_add (issues, where, "%s", local->message);
          continue;
        }
      parser = json_parser_new_immutable ();
      if (!json_parser_load_from_data (parser, text, len, &local))
        {
          vm_issues_add (issues, where, _("not valid JSON: %s"), local->message);
          continue;
        }
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          vm_issues_add (issues, where, "%s", _("not a JSON object"));
          continue;
        }
      o = json_node_get_object (root);
      node = json_object_get_member (o, "qid");
      if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
          json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < 0)
        {
          vm_issues_add (issues, where, "%s", _("“qid” is missing or not a non-negative integer"));
          continue;
        }
      qid = json_node_get_int (node);
      if (g_hash_table_contains (seen, &qid))
        {
          vm_issues_add (issues, where, _("a second prediction for qid %" PRId64), qid);
          continue;
        }
      g_hash_table_add (seen, g_memdup2 (&qid, sizeof qid));

      windows = g_array_new (FALSE, FALSE, sizeof (VmEvalPrediction));
      saliency = g_array_new (FALSE, FALSE, sizeof (double));
      node = json_object_get_member (o, "pred_relevant_windows");
      if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
        {
          vm_issues_add (issues, where, "%s", _("“pred_relevant_windows” is missing or not a list"));
          continue;
        }
      a = json_node_get_array (node);
      for (guint i = 0; ok && i < json_array_get_length (a); i++)
        {
          JsonNode *w = json_array_get_element (a, i);
          JsonArray *t = JSON_NODE_HOLDS_ARRAY (w) ? json_node_get_array (w) : NULL;
          double v[3];

          ok = t != NULL && json_array_get_length (t) == 3;
          for (guint k = 0; ok && k < 3; k++)
            {
              JsonNode *e = json_array_get_element (t, k);
              GType type = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;

              ok = type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
              if (ok)
                {
                  v[k] = type == G_TYPE_INT64 ? (double) json_node_get_int (e) : json_node_get_double (e);
                  ok = isfinite (v[k]);
                }
            }
          if (ok && !(v[0] >= 0 && v[0] < v[1]))
            {
              vm_issues_add (issues, where, _("predicted window %u: the start is not before the end"), i + 1);
              ok = FALSE;
              break;
            }
          if (ok)
            {
              VmEvalPrediction pred = { v[0], v[1], v[2] };
              g_array_append_val (windows, pred);
            }
          else
            vm_issues_add (issues, where, _("predicted window %u is not [start, end, score] numbers"), i + 1);
        }
      if (!ok)
        continue;
      node = json_object_get_member (o, "pred_saliency_scores");
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        {
          a = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
          ok = a != NULL;
          for (guint i = 0; ok && i < json_array_get_length (a); i++)
            {
              JsonNode *e = json_array_get_element (a, i);
              GType type = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;
              double v = 0;

              ok = type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
              if (ok)
                {
                  v = type == G_TYPE_INT64 ? (double) json_node_get_int (e) : json_node_get_double (e);
                  ok = isfinite (v);
                }
              g_array_append_val (saliency, v);
            }
          if (!ok)
            {
              vm_issues_add (issues, where, "%s", _("“pred_saliency_scores” is not a list of numbers"));
              continue;
            }
        }

      q = g_hash_table_lookup (queries, &qid);
      if (q == NULL)
        {
          (*out_unknown)++;
          continue;
        }
      q->has_prediction = TRUE;
      g_array_set_size (q->predicted, 0);
      g_array_append_vals (q->predicted, windows->data, windows->len);
      g_array_set_size (q->saliency, 0);
      g_array_append_vals (q->saliency, saliency->data, saliency->len);
    }

  return TRUE;
}

static void
add_percent (JsonBuilder *b,
             const char  *name,
             double       fraction)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, round (fraction * 10000) / 100);
}

char *
vm_eval_result_to_json (const VmEvalResult *r)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "queries");
  json_builder_add_int_value (b, r->n_queries);
  json_builder_set_member_name (b, "missing_predictions");
  json_builder_add_int_value (b, r->n_missing);
  json_builder_set_member_name (b, "unknown_predictions");
  json_builder_add_int_value (b, r->n_unknown);
  add_percent (b, "R1@0.3", r->r1[0]);
  add_percent (b, "R1@0.5", r->r1[1]);
  add_percent (b, "R1@0.7", r->r1[2]);
  add_percent (b, "mIoU", r->miou);
  add_percent (b, "mAP", r->map_avg);
  add_percent (b, "mAP@0.5", r->map[0]);
  add_percent (b, "mAP@0.75", r->map[5]);
  json_builder_set_member_name (b, "highlight_queries");
  json_builder_add_int_value (b, r->n_highlight);
  add_percent (b, "HIT@1", r->hit1);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}
