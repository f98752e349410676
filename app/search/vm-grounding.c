/* vm-grounding.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-grounding.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
vm_grounding_options_init (VmGroundingOptions *options)
{
  memset (options, 0, sizeof *options);
  options->smooth_sigma = 1.0;
  options->threshold = 1.0;
  options->merge_gap = 1.5;
  options->min_length = 1.0;
  options->scales[0] = 4;
  options->scales[1] = 10;
  options->scales[2] = 24;
  options->nms_iou = 0.5;
  options->max_moments = 5;
}

double
vm_span_iou (double a0,
             double a1,
             double b0,
             double b1)
{
  double inter = MIN (a1, b1) - MAX (a0, b0);
  double uni = MAX (a1, b1) - MIN (a0, b0);

  if (inter <= 0 || uni <= 0)
    return 0;
  return inter / uni;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *v,
        guint   n)
{
  qsort (v, n, sizeof (double), compare_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
  const double *t;
  guint         n;
  double        duration;
  double       *lo;      /* the stretch of time each sample stands for */
  double       *hi;
  double       *smooth;  /* smoothed raw scores */
  double       *z;       /* normalised smoothed scores */
  const float  *raw;
  const int    *shots;
  const double *cuts;    /* times of the shot cuts, increasing */
  guint         n_cuts;
} Curve;

/* The samples are sorted, and [lo, hi) partition [0, duration): every
 * lookup below is a binary search, so grounding a video costs O(n log n)
 * rather than O(n²) (a video of a few thousand frames grounds in well under
 * a millisecond).  The sums run over the same samples in the same order as
 * a scan of all of them would, so the results are identical. */

/* The first index whose value is >= @x in the non-decreasing @v[0, n). */
static guint
lower_bound (const double *v,
             guint         n,
             double        x)
{
  guint a = 0, b = n;

  while (a < b)
    {
      guint mid = a + (b - a) / 2;

      if (v[mid] < x)
        a = mid + 1;
      else
        b = mid;
    }
  return a;
}

/* The first sample whose stretch ends after @a. */
static guint
first_after (const Curve *c,
             double       a)
{
  guint lo = 0, hi = c->n;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (c->hi[mid] <= a)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* Mean of @v over [a, b), each sample weighted by its overlap. */
static double
span_mean (const Curve  *c,
           const double *v,
           double        a,
           double        b)
{
  double sum = 0, w = 0;

  for (guint i = first_after (c, a); i < c->n && c->lo[i] < b; i++)
    {
      double o = MIN (b, c->hi[i]) - MAX (a, c->lo[i]);

      if (o > 0)
        {
          sum += o * v[i];
          w += o;
        }
    }

  return w > 0 ? sum / w : NAN;
}

static void
span_stats (const Curve *c,
            VmGroundingSpan      *s)
{
  double sum = 0, w = 0;

  s->peak = -INFINITY;
  for (guint i = first_after (c, s->start); i < c->n && c->lo[i] < s->end; i++)
    {
      double o = MIN (s->end, c->hi[i]) - MAX (s->start, c->lo[i]);

      if (o > 0)
        {
          sum += o * c->raw[i];
          w += o;
          s->peak = MAX (s->peak, c->raw[i]);
        }
    }
  s->mean = w > 0 ? sum / w : 0;
  if (!isfinite (s->peak))
    s->peak = s->mean;
}

/* Moves an edge at @x to a shot cut within @reach, if there is one. */
static double
snap_to_cut (const Curve *c,
             double       x,
             double       reach)
{
  double best = x, best_d = reach;

  /* Cuts before x − reach are too far; the check below decides the rest
   * exactly as a scan of every cut would. */
  for (guint i = lower_bound (c->cuts, c->n_cuts, x - 2 * reach); i < c->n_cuts; i++)
    {
      double cut = c->cuts[i];
      double d = fabs (cut - x);

      if (cut > x + 2 * reach)
        break;
      if (d <= best_d)
        {
          best = cut;
          best_d = d;
        }
    }

  return best;
}

/* Refines the edges of a run of samples [first, last]: each edge lies
 * between the last sample inside and the first outside; it moves to a shot
 * cut there if one exists, else to where the smoothed curve crosses the
 * level halfway between the run's peak and the outside sample. */
static void
refine_run (const Curve *c,
            guint        first,
            guint        last,
            double       level,
            double      *out_start,
            double      *out_end)
{
  double start = c->lo[first], end = c->hi[last];

  if (first > 0)
    {
      double a = c->t[first - 1], b = c->t[first];
      double va = c->z[first - 1], vb = c->z[first];
      double x = va < vb && level > va && level < vb ? a + (b - a) * (level - va) / (vb - va) : start;

      start = snap_to_cut (c, x, 0.5 * (b - a));
    }
  if (last + 1 < c->n)
    {
      double a = c->t[last], b = c->t[last + 1];
      double va = c->z[last], vb = c->z[last + 1];
      double x = vb < va && level < va && level > vb ? a + (b - a) * (va - level) / (va - vb) : end;

      end = snap_to_cut (c, x, 0.5 * (b - a));
    }

  *out_start = MAX (0, start);
  *out_end = MIN (c->duration, end);
}

static int
compare_spans_desc (gconstpointer a,
                    gconstpointer b)
{
  const VmGroundingSpan *x = a, *y = b;

  return (x->score < y->score) - (x->score > y->score);
}

static void
add_span (GArray      *out,
          const Curve *c,
          double       start,
          double       end,
          double       score,
          const VmGroundingOptions *o)
{
  VmGroundingSpan s = { 0 };
  double max_len = o->max_length > 0 ? o->max_length : c->duration;

  start = MAX (0, start);
  end = MIN (c->duration, end);
  if (end - start < o->min_length)
    {
      double mid = 0.5 * (start + end), half = 0.5 * MIN (o->min_length, c->duration);

      start = MAX (0, mid - half);
      end = MIN (c->duration, start + 2 * half);
      start = MAX (0, end - 2 * half);
    }
  if (end - start > max_len || !(end > start) || !isfinite (score))
    return;

  s.start = start;
  s.end = end;
  s.score = score;
  span_stats (c, &s);
  g_array_append_val (out, s);
}

GArray *
vm_ground_curve (const double              *times,
                 const float               *scores,
                 const int                 *shot_ids,
                 guint                      n,
                 double                     duration,
                 const VmGroundingOptions  *options)
{
  g_autoptr(GArray) proposals = g_array_new (FALSE, FALSE, sizeof (VmGroundingSpan));
  GArray *out = g_array_new (FALSE, FALSE, sizeof (VmGroundingSpan));
  VmGroundingOptions defaults;
  g_autofree double *lo = NULL, *hi = NULL, *smooth = NULL, *z = NULL, *tmp = NULL, *cuts = NULL;
  guint n_cuts = 0;
  double med, mad;
  Curve c;

  if (options == NULL)
    {
      vm_grounding_options_init (&defaults);
      options = &defaults;
    }

  if (n == 0)
    return out;

  if (!(duration > 0))
    duration = times[n - 1] + (n > 1 ? 0.5 * (times[n - 1] - times[n - 2]) : 1.0);
  duration = MAX (duration, times[n - 1]);

  lo = g_new (double, n);
  hi = g_new (double, n);
  smooth = g_new (double, n);
  z = g_new (double, n);
  tmp = g_new (double, n);

  for (guint i = 0; i < n; i++)
    {
      lo[i] = i == 0 ? 0 : 0.5 * (times[i - 1] + times[i]);
      hi[i] = i + 1 == n ? duration : 0.5 * (times[i] + times[i + 1]);
    }

  cuts = g_new (double, n);
  for (guint i = 1; shot_ids != NULL && i < n; i++)
    if (shot_ids[i] != shot_ids[i - 1])
      cuts[n_cuts++] = lo[i];

  /* 1. Gaussian smoothing in time, each sample weighted by its extent. */
  for (guint i = 0; i < n; i++)
    {
      double sum = 0, w = 0, sigma = options->smooth_sigma;

      if (sigma <= 0)
        {
          smooth[i] = scores[i];
          continue;
        }
      /* From a little before the kernel's reach; the check below decides. */
      for (guint j = lower_bound (times, n, times[i] - 4 * sigma);
           j < n && times[j] - times[i] <= 4 * sigma; j++)
        {
          double d = times[j] - times[i];
          double k;

          if (fabs (d) > 3 * sigma)
            continue;
          k = exp (-0.5 * d * d / (sigma * sigma)) * MAX (hi[j] - lo[j], 1e-3);
          sum += k * scores[j];
          w += k;
        }
      smooth[i] = sum / w;
    }

  /* 2. Robust per-video normalisation. */
  memcpy (tmp, smooth, n * sizeof (double));
  med = median (tmp, n);
  for (guint i = 0; i < n; i++)
    tmp[i] = fabs (smooth[i] - med);
  mad = 1.4826 * median (tmp, n);
  /* A flat curve has nothing to find; keep a floor so noise stays small. */
  mad = MAX (mad, 1e-3);
  for (guint i = 0; i < n; i++)
    z[i] = (smooth[i] - med) / mad;

  c = (Curve) { times, n, duration, lo, hi, smooth, z, scores, shot_ids, cuts, n_cuts };

  /* 3. Threshold runs, merged across small gaps. */
  for (guint i = 0; i < n;)
    {
      guint first, last;
      double peak = -INFINITY, start, end, sum = 0, w = 0;

      if (z[i] <= options->threshold)
        {
          i++;
          continue;
        }
      first = last = i;
      while (last + 1 < n)
        {
          guint j = last + 1;

          if (z[j] > options->threshold)
            {
              last = j;
              continue;
            }
          /* Look past a dip no longer than merge_gap. */
          while (j < n && z[j] <= options->threshold && lo[j] - hi[last] < options->merge_gap)
            j++;
          if (j < n && z[j] > options->threshold && lo[j] - hi[last] < options->merge_gap)
            last = j;
          else
            break;
        }
      for (guint k = first; k <= last; k++)
        {
          peak = MAX (peak, z[k]);
          sum += z[k] * (hi[k] - lo[k]);
          w += hi[k] - lo[k];
        }
      refine_run (&c, first, last, 0.5 * (peak + options->threshold), &start, &end);
      /* Evidence grows with the number of samples agreeing: mean z × √k,
       * so that one noisy sample does not outrank a sustained rise. */
      add_span (proposals, &c, start, end, sum / w * sqrt (last - first + 1), options);
      i = last + 1;
    }

  /* 4. Multi-scale windows scored by contrast with their context. */
  for (guint s = 0; s < G_N_ELEMENTS (options->scales) && options->scales[s] > 0; s++)
    {
      double len = options->scales[s];

      if (len > duration)
        continue;
      for (guint i = 0; i < n; i++)
        {
          double a = CLAMP (times[i] - len / 2, 0, duration - len), b = a + len;
          double inside = span_mean (&c, z, a, b);
          guint k = 0;
          double left = span_mean (&c, z, a - len / 2, a);
          double right = span_mean (&c, z, b, b + len / 2);
          double context = isnan (left) ? right : isnan (right) ? left : 0.5 * (left + right);
          double score;

          if (isnan (inside) || inside <= options->threshold * 0.5)
            continue;
          k = lower_bound (times, n, b) - lower_bound (times, n, a);
          score = (isnan (context) ? inside : inside - 0.5 * MAX (context, 0)) * sqrt (MAX (k, 1));
          /* Windows score a little below threshold runs of equal strength. */
          add_span (proposals, &c, snap_to_cut (&c, a, 0.5), snap_to_cut (&c, b, 0.5), 0.9 * score, options);
        }
    }

  /* 5/6. Best first, then non-maximum suppression. */
  g_array_sort (proposals, compare_spans_desc);
  for (guint i = 0; i < proposals->len && out->len < options->max_moments; i++)
    {
      const VmGroundingSpan *p = &g_array_index (proposals, VmGroundingSpan, i);
      gboolean keep = TRUE;

      for (guint j = 0; j < out->len && keep; j++)
        {
          const VmGroundingSpan *q = &g_array_index (out, VmGroundingSpan, j);

          if (vm_span_iou (p->start, p->end, q->start, q->end) > options->nms_iou)
            keep = FALSE;
        }
      if (keep)
        g_array_append_val (out, *p);
    }

  return out;
}
