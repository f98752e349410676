/* vm-dataset.c — the in-memory dataset model, canonical text, splits.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "export/vm-dataset.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (vm-export-error-quark, vm_export_error)

static const char * const format_names[] = {
  [VM_FORMAT_QVHIGHLIGHTS] = "qvhighlights",
  [VM_FORMAT_CHARADES_STA] = "charades-sta",
  [VM_FORMAT_ACTIVITYNET] = "activitynet",
  [VM_FORMAT_TACOS] = "tacos",
  [VM_FORMAT_VIDMARK] = "vidmark",
  [VM_FORMAT_DIDEMO] = "didemo",
};

const char *
vm_format_to_string (VmFormat format)
{
  g_return_val_if_fail (format <= VM_FORMAT_LAST, NULL);
  return format_names[format];
}

gboolean
vm_format_from_string (const char *name,
                       VmFormat   *out_format)
{
  for (guint i = 0; i < G_N_ELEMENTS (format_names); i++)
    if (name != NULL && g_ascii_strcasecmp (name, format_names[i]) == 0)
      {
        *out_format = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
vm_format_can_export (VmFormat format)
{
  return format != VM_FORMAT_DIDEMO;
}

static void
dataset_video_free (VmDatasetVideo *video)
{
  g_free (video->vid);
  g_free (video->path);
  g_free (video);
}

VmDataset *
vm_dataset_new (void)
{
  VmDataset *dataset = g_new0 (VmDataset, 1);

  dataset->raters = g_ptr_array_new_with_free_func (g_free);
  dataset->videos = g_ptr_array_new_with_free_func ((GDestroyNotify) dataset_video_free);
  dataset->by_vid = g_hash_table_new (g_str_hash, g_str_equal);
  dataset->queries = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_dataset_query_free);

  return dataset;
}

void
vm_dataset_free (VmDataset *dataset)
{
  if (dataset == NULL)
    return;
  g_ptr_array_unref (dataset->queries);
  g_hash_table_unref (dataset->by_vid);
  g_ptr_array_unref (dataset->videos);
  g_ptr_array_unref (dataset->raters);
  g_free (dataset);
}

VmDatasetVideo *
vm_dataset_lookup_video (VmDataset  *dataset,
                         const char *vid)
{
  return g_hash_table_lookup (dataset->by_vid, vid);
}

VmDatasetVideo *
vm_dataset_add_video (VmDataset  *dataset,
                      const char *vid)
{
  VmDatasetVideo *video = vm_dataset_lookup_video (dataset, vid);

  if (video != NULL)
    return video;

  video = g_new0 (VmDatasetVideo, 1);
  video->vid = g_strdup (vid);
  video->duration_ns = -1;
  video->fps_den = 1;
  g_ptr_array_add (dataset->videos, video);
  g_hash_table_insert (dataset->by_vid, video->vid, video);

  return video;
}

guint
vm_dataset_add_rater (VmDataset  *dataset,
                      const char *name)
{
  for (guint i = 0; i < dataset->raters->len; i++)
    if (g_str_equal (g_ptr_array_index (dataset->raters, i), name))
      return i;
  g_ptr_array_add (dataset->raters, g_strdup (name));
  return dataset->raters->len - 1;
}

VmDatasetQuery *
vm_dataset_query_new (void)
{
  VmDatasetQuery *query = g_new0 (VmDatasetQuery, 1);

  query->qid = -1;
  query->windows = g_array_new (FALSE, FALSE, sizeof (VmSpan));
  query->negatives = g_ptr_array_new_with_free_func (g_free);
  query->saliency = g_array_new (FALSE, FALSE, sizeof (VmClipScore));

  return query;
}

void
vm_dataset_query_free (VmDatasetQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->text);
  g_free (query->vid);
  g_free (query->where);
  g_array_unref (query->windows);
  g_ptr_array_unref (query->negatives);
  g_array_unref (query->saliency);
  g_free (query);
}

void
vm_dataset_add_query (VmDataset      *dataset,
                      VmDatasetQuery *query)
{
  g_ptr_array_add (dataset->queries, query);
}

static int
span_cmp (gconstpointer a,
          gconstpointer b)
{
  const VmSpan *x = a, *y = b;

  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  if (x->end_ns != y->end_ns)
    return x->end_ns < y->end_ns ? -1 : 1;
  return 0;
}

static int
score_cmp (gconstpointer a,
           gconstpointer b)
{
  const VmClipScore *x = a, *y = b;

  if (x->clip != y->clip)
    return x->clip < y->clip ? -1 : 1;
  if (x->rater != y->rater)
    return x->rater < y->rater ? -1 : 1;
  return 0;
}

static int
str_ptr_cmp (gconstpointer a,
             gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

void
vm_dataset_query_normalize (VmDatasetQuery *query)
{
  g_array_sort (query->windows, span_cmp);
  g_array_sort (query->saliency, score_cmp);
  g_ptr_array_sort (query->negatives, str_ptr_cmp);
}

void
vm_append_seconds (GString *out,
                   gint64   ns)
{
  guint64 abs_ns;
  guint64 secs, frac;

  if (ns < 0)
    {
      g_string_append_c (out, '-');
      abs_ns = (guint64) (-(ns + 1)) + 1;
    }
  else
    abs_ns = (guint64) ns;

  secs = abs_ns / 1000000000u;
  frac = abs_ns % 1000000000u;
  g_string_append_printf (out, "%" G_GUINT64_FORMAT, secs);
  if (frac != 0)
    {
      char digits[16];
      int len;

      g_snprintf (digits, sizeof digits, "%09" G_GUINT64_FORMAT, frac);
      len = 9;
      while (len > 0 && digits[len - 1] == '0')
        len--;
      digits[len] = '\0';
      g_string_append_printf (out, ".%s", digits);
    }
}

gboolean
vm_seconds_to_ns (double  seconds,
                  gint64 *out_ns)
{
  if (!isfinite (seconds) || seconds < 0 || seconds > VM_DATASET_MAX_SECONDS)
    return FALSE;
  *out_ns = (gint64) llround (seconds * 1e9);
  return TRUE;
}

static int
query_ptr_cmp (gconstpointer a,
               gconstpointer b)
{
  const VmDatasetQuery *x = *(VmDatasetQuery * const *) a;
  const VmDatasetQuery *y = *(VmDatasetQuery * const *) b;
  int c;

  if (x->qid != y->qid)
    return x->qid < y->qid ? -1 : 1;
  if ((c = g_strcmp0 (x->vid, y->vid)) != 0)
    return c;
  if ((c = g_strcmp0 (x->text, y->text)) != 0)
    return c;
  if (x->windows->len > 0 && y->windows->len > 0)
    return span_cmp (&g_array_index (x->windows, VmSpan, 0), &g_array_index (y->windows, VmSpan, 0));
  return (int) x->windows->len - (int) y->windows->len;
}

char *
vm_dataset_to_canonical (VmDataset *dataset,
                         gboolean   with_qids,
                         gboolean   with_durations)
{
  g_autoptr(GPtrArray) queries = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) vids = g_ptr_array_new ();
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);

      vm_dataset_query_normalize (q);
      g_ptr_array_add (queries, q);
    }
  if (!with_qids)
    {
      /* Order without qids. */
      gint64 *saved = g_new (gint64, queries->len);

      for (guint i = 0; i < queries->len; i++)
        {
          VmDatasetQuery *q = g_ptr_array_index (queries, i);
          saved[i] = q->qid;
          q->qid = 0;
        }
      g_ptr_array_sort (queries, query_ptr_cmp);
      for (guint i = 0; i < dataset->queries->len; i++)
        ((VmDatasetQuery *) g_ptr_array_index (dataset->queries, i))->qid = saved[i];
      g_free (saved);
    }
  else
    g_ptr_array_sort (queries, query_ptr_cmp);

  g_string_append (out, "raters:");
  for (guint i = 0; i < dataset->raters->len; i++)
    g_string_append_printf (out, " [%s]", (char *) g_ptr_array_index (dataset->raters, i));
  g_string_append_c (out, '\n');

  for (guint i = 0; i < queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (queries, i);

      if (with_qids)
        g_string_append_printf (out, "qid %" G_GINT64_FORMAT " ", q->qid);
      g_string_append_printf (out, "vid [%s] text [%s]\n", q->vid, q->text);
      if (!g_hash_table_contains (seen, q->vid))
        {
          g_hash_table_add (seen, q->vid);
          g_ptr_array_add (vids, q->vid);
        }
      for (guint j = 0; j < q->windows->len; j++)
        {
          VmSpan *w = &g_array_index (q->windows, VmSpan, j);
          g_string_append_printf (out, "  window %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
                                  w->start_ns, w->end_ns);
        }
      for (guint j = 0; j < q->negatives->len; j++)
        g_string_append_printf (out, "  negative [%s]\n", (char *) g_ptr_array_index (q->negatives, j));
      for (guint j = 0; j < q->saliency->len; j++)
        {
          VmClipScore *s = &g_array_index (q->saliency, VmClipScore, j);
          g_string_append_printf (out, "  clip %u rater %u score %d\n", s->clip, s->rater, s->score);
        }
    }

  if (with_durations)
    {
      g_ptr_array_sort (vids, str_ptr_cmp);
      for (guint i = 0; i < vids->len; i++)
        {
          VmDatasetVideo *v = vm_dataset_lookup_video (dataset, g_ptr_array_index (vids, i));
          g_string_append_printf (out, "video [%s] duration %" G_GINT64_FORMAT "\n",
                                  (char *) g_ptr_array_index (vids, i), v ? v->duration_ns : -1);
        }
    }

  return g_string_free (out, FALSE);
}

/* ---- Splits -------------------------------------------------------------- */

static const char * const split_names[] = { "train", "val", "test" };

const char *
vm_split_to_string (VmSplit split)
{
  g_return_val_if_fail (split <= VM_SPLIT_TEST, NULL);
  return split_names[split];
}

gboolean
vm_split_parse (const char  *text,
                double       out_fractions[3],
                GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  guint n = g_strv_length (parts);
  double sum = 0;

  if (n < 2 || n > 3)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("A split is two or three fractions, e.g. “0.8,0.1,0.1”"));
      return FALSE;
    }
  out_fractions[2] = 0;
  for (guint i = 0; i < n; i++)
    {
      char *end = NULL;
      double f = g_ascii_strtod (g_strstrip (parts[i]), &end);

      if (end == parts[i] || *end != '\0' || !isfinite (f) || f < 0 || f > 1)
        {
          g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                       _("“%s” is not a fraction between 0 and 1"), parts[i]);
          return FALSE;
        }
      out_fractions[i] = f;
      sum += f;
    }
  if (fabs (sum - 1.0) > 1e-6)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("The split fractions must add up to 1"));
      return FALSE;
    }
  return TRUE;
}

/* splitmix64: fixed, so that a seed means the same split on every system. */
static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

GHashTable *
vm_dataset_split (VmDataset    *dataset,
                  const double  fractions[3],
                  guint64       seed)
{
  GHashTable *assignment = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) vids = g_ptr_array_new ();
  guint64 state = seed;
  guint n, counts[3], assigned = 0;
  double rema[3];

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);

      if (!g_hash_table_contains (assignment, q->vid))
        {
          g_hash_table_insert (assignment, g_strdup (q->vid), GINT_TO_POINTER (VM_SPLIT_TRAIN));
          g_ptr_array_add (vids, q->vid);
        }
    }
  g_ptr_array_sort (vids, str_ptr_cmp);
  n = vids->len;

  /* Fisher–Yates with an unbiased bounded draw. */
  for (guint i = n; i > 1; i--)
    {
      guint64 bound = i, limit = G_MAXUINT64 - (G_MAXUINT64 % bound), r;
      gpointer tmp;

      do
        r = splitmix64 (&state);
      while (r >= limit);
      r %= bound;
      tmp = vids->pdata[i - 1];
      vids->pdata[i - 1] = vids->pdata[r];
      vids->pdata[r] = tmp;
    }

  /* Counts by largest remainder. */
  for (guint k = 0; k < 3; k++)
    {
      double exact = fractions[k] * n;
      counts[k] = (guint) floor (exact);
      rema[k] = exact - counts[k];
      assigned += counts[k];
    }
  while (assigned < n)
    {
      guint best = 0;
      for (guint k = 1; k < 3; k++)
        if (rema[k] > rema[best])
          best = k;
      counts[best]++;
      rema[best] = -1;
      assigned++;
    }

  for (guint i = 0, k = 0, used = 0; i < n; i++)
    {
      while (k < 2 && used >= counts[k])
        {
          k++;
          used = 0;
        }
      g_hash_table_insert (assignment, g_strdup (g_ptr_array_index (vids, i)), GINT_TO_POINTER (k));
      used++;
    }

  return assignment;
}

static VmDatasetQuery *
query_copy (const VmDatasetQuery *q)
{
  VmDatasetQuery *copy = vm_dataset_query_new ();

  copy->qid = q->qid;
  copy->text = g_strdup (q->text);
  copy->vid = g_strdup (q->vid);
  copy->where = g_strdup (q->where);
  g_array_append_vals (copy->windows, q->windows->data, q->windows->len);
  g_array_append_vals (copy->saliency, q->saliency->data, q->saliency->len);
  for (guint i = 0; i < q->negatives->len; i++)
    g_ptr_array_add (copy->negatives, g_strdup (g_ptr_array_index (q->negatives, i)));
  return copy;
}

VmDataset *
vm_dataset_subset (VmDataset  *dataset,
                   GHashTable *assignment,
                   VmSplit     split)
{
  VmDataset *subset = vm_dataset_new ();

  for (guint i = 0; i < dataset->raters->len; i++)
    vm_dataset_add_rater (subset, g_ptr_array_index (dataset->raters, i));
  for (guint i = 0; i < dataset->videos->len; i++)
    {
      VmDatasetVideo *v = g_ptr_array_index (dataset->videos, i);
      VmDatasetVideo *copy = vm_dataset_add_video (subset, v->vid);

      copy->path = g_strdup (v->path);
      copy->video_id = v->video_id;
      copy->duration_ns = v->duration_ns;
      copy->fps_num = v->fps_num;
      copy->fps_den = v->fps_den;
    }
  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);
      gpointer value;

      if (g_hash_table_lookup_extended (assignment, q->vid, NULL, &value) &&
          GPOINTER_TO_INT (value) == (int) split)
        vm_dataset_add_query (subset, query_copy (q));
    }

  return subset;
}

char *
vm_split_file_name (const char *path,
                    VmSplit     split)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');
  g_autofree char *name = NULL;

  if (dot != NULL && dot != base)
    name = g_strdup_printf ("%.*s_%s%s", (int) (dot - base), base, split_names[split], dot);
  else
    name = g_strdup_printf ("%s_%s", base, split_names[split]);

  if (strchr (path, '/') == NULL)
    return g_steal_pointer (&name);
  return g_build_filename (dir, name, NULL);
}
