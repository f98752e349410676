/* test-grounding.c — temporal grounding on synthetic score curves with known
 * segments plus noise.  The IoU figures are regression thresholds: they were
 * measured on this generator and set a little below.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "search/vm-grounding.h"

typedef struct {
  double start, end;
} Segment;

typedef struct {
  guint    n;
  double  *t;
  float   *s;
  int     *shots;
  double   duration;
  Segment  gt[3];
  guint    n_gt;
} Synthetic;

static double
gauss (GRand *rand)
{
  double u1 = g_rand_double_range (rand, 1e-12, 1), u2 = g_rand_double (rand);

  return sqrt (-2 * log (u1)) * cos (2 * G_PI * u2);
}

/* Keyframes about every @step seconds; segments 4–30 s long where the score
 * rises by @bump over a baseline with noise @noise; shot cuts at segment
 * edges when @cuts. */
static void
synthetic_make (Synthetic *syn,
                GRand     *rand,
                double     step,
                double     bump,
                double     noise,
                gboolean   cuts)
{
  double t = 0;
  GArray *times = g_array_new (FALSE, FALSE, sizeof (double));

  syn->duration = g_rand_double_range (rand, 60, 600);
  syn->n_gt = g_rand_int_range (rand, 1, 4);
  for (guint k = 0; k < syn->n_gt; k++)
    {
      gboolean overlaps;

      do
        {
          double len = g_rand_double_range (rand, 4, 30);

          syn->gt[k].start = g_rand_double_range (rand, 0, syn->duration - len);
          syn->gt[k].end = syn->gt[k].start + len;
          overlaps = FALSE;
          for (guint j = 0; j < k; j++)
            if (syn->gt[k].start < syn->gt[j].end + 10 && syn->gt[j].start < syn->gt[k].end + 10)
              overlaps = TRUE;
        }
      while (overlaps);
    }

  while (t < syn->duration)
    {
      g_array_append_val (times, t);
      t += step * g_rand_double_range (rand, 0.6, 1.4);
    }

  syn->n = times->len;
  syn->t = (double *) g_array_free (times, FALSE);
  syn->s = g_new (float, syn->n);
  syn->shots = g_new0 (int, syn->n);

  for (guint i = 0; i < syn->n; i++)
    {
      double v = 0.2 + noise * gauss (rand);
      int shot = 0;

      for (guint k = 0; k < syn->n_gt; k++)
        {
          /* Soft edges over half a second. */
          double in = CLAMP ((syn->t[i] - syn->gt[k].start) / 0.5 + 0.5, 0, 1) *
                      CLAMP ((syn->gt[k].end - syn->t[i]) / 0.5 + 0.5, 0, 1);

          v += bump * in;
          if (syn->t[i] >= syn->gt[k].start)
            shot += 1;
          if (syn->t[i] >= syn->gt[k].end)
            shot += 1;
        }
      syn->s[i] = v;
      syn->shots[i] = cuts ? shot : 0;
    }
}

static void
synthetic_clear (Synthetic *syn)
{
  g_free (syn->t);
  g_free (syn->s);
  g_free (syn->shots);
}

typedef struct {
  double r1_05;     /* top-1 hits a ground-truth segment with IoU ≥ 0.5 */
  double r5_05;     /* a ground-truth segment is found among the top 5 with IoU ≥ 0.5 */
  double miou;      /* mean over ground truth of the best IoU among the top 5 */
} Figures;

static Figures
measure (double   step,
         double   bump,
         double   noise,
         gboolean cuts,
         guint    n_curves)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);
  VmGroundingOptions options;
  Figures f = { 0 };
  guint n_gt = 0;

  vm_grounding_options_init (&options);

  for (guint c = 0; c < n_curves; c++)
    {
      Synthetic syn = { 0 };
      g_autoptr(GArray) spans = NULL;

      synthetic_make (&syn, rand, step, bump, noise, cuts);
      spans = vm_ground_curve (syn.t, syn.s, syn.shots, syn.n, syn.duration, &options);
      g_assert_cmpuint (spans->len, >=, 1);
      g_assert_cmpuint (spans->len, <=, options.max_moments);

      for (guint i = 0; i < spans->len; i++)
        {
          const VmGroundingSpan *s = &g_array_index (spans, VmGroundingSpan, i);

          g_assert_cmpfloat (s->start, >=, 0);
          g_assert_cmpfloat (s->end, <=, syn.duration + 1e-9);
          g_assert_cmpfloat (s->start, <, s->end);
          if (i > 0)
            g_assert_cmpfloat (s->score, <=, g_array_index (spans, VmGroundingSpan, i - 1).score);
        }

      {
        const VmGroundingSpan *top = &g_array_index (spans, VmGroundingSpan, 0);
        double best = 0;

        for (guint k = 0; k < syn.n_gt; k++)
          best = MAX (best, vm_span_iou (top->start, top->end, syn.gt[k].start, syn.gt[k].end));
        f.r1_05 += best >= 0.5;
      }

      for (guint k = 0; k < syn.n_gt; k++)
        {
          double best = 0;

          for (guint i = 0; i < spans->len; i++)
            {
              const VmGroundingSpan *s = &g_array_index (spans, VmGroundingSpan, i);
              best = MAX (best, vm_span_iou (s->start, s->end, syn.gt[k].start, syn.gt[k].end));
            }
          f.miou += best;
          f.r5_05 += best >= 0.5;
          n_gt++;
        }

      synthetic_clear (&syn);
    }

  f.r1_05 /= n_curves;
  f.r5_05 /= n_gt;
  f.miou /= n_gt;
  return f;
}

static void
check (const char *name,
       Figures     f,
       double      r1,
       double      r5,
       double      miou)
{
  g_test_message ("%s: R1@0.5 %.3f (≥ %.2f), R5@0.5 %.3f (≥ %.2f), mIoU@5 %.3f (≥ %.2f)",
                  name, f.r1_05, r1, f.r5_05, r5, f.miou, miou);
  g_assert_cmpfloat (f.r1_05, >=, r1);
  g_assert_cmpfloat (f.r5_05, >=, r5);
  g_assert_cmpfloat (f.miou, >=, miou);
}

static void
test_keyframes_clean (void)
{
  /* Keyframes every 2 s, a clear signal. */
  check ("2 s, clean", measure (2.0, 0.08, 0.01, FALSE, 200), 0.93, 0.92, 0.79);
}

static void
test_keyframes_noisy (void)
{
  /* Noise half the size of the signal. */
  check ("2 s, noisy", measure (2.0, 0.08, 0.04, FALSE, 200), 0.80, 0.80, 0.66);
}

static void
test_shot_cuts (void)
{
  /* Shot cuts at the true edges sharpen the boundaries. */
  Figures with = measure (2.0, 0.08, 0.02, TRUE, 200);
  Figures without = measure (2.0, 0.08, 0.02, FALSE, 200);

  check ("2 s, with cuts", with, 0.95, 0.91, 0.80);
  g_assert_cmpfloat (with.miou, >=, without.miou);
}

static void
test_dense (void)
{
  /* Dense sampling (4 frames/s) as after refinement. */
  check ("0.25 s, noisy", measure (0.25, 0.08, 0.04, FALSE, 100), 0.95, 0.88, 0.77);
}

static void
test_edge_cases (void)
{
  VmGroundingOptions options;
  double t1[] = { 0 };
  float s1[] = { 0.5f };
  double tflat[20];
  float sflat[20];
  g_autoptr(GArray) none = NULL;
  g_autoptr(GArray) one = NULL;
  g_autoptr(GArray) flat = NULL;

  vm_grounding_options_init (&options);
  none = vm_ground_curve (NULL, NULL, NULL, 0, 10, &options);
  g_assert_cmpuint (none->len, ==, 0);

  one = vm_ground_curve (t1, s1, NULL, 1, 0, &options);
  g_assert_cmpuint (one->len, <=, 1);

  for (guint i = 0; i < 20; i++)
    {
      tflat[i] = i * 2.0;
      sflat[i] = 0.3f;
    }
  flat = vm_ground_curve (tflat, sflat, NULL, 20, 40, &options);
  /* A flat curve has no moment standing out. */
  g_assert_cmpuint (flat->len, ==, 0);

  g_assert_cmpfloat (vm_span_iou (0, 10, 5, 15), ==, 5.0 / 15.0);
  g_assert_cmpfloat (vm_span_iou (0, 1, 2, 3), ==, 0);
  g_assert_cmpfloat (vm_span_iou (0, 10, 0, 10), ==, 1);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/grounding/edge-cases", test_edge_cases);
  g_test_add_func ("/grounding/keyframes-clean", test_keyframes_clean);
  g_test_add_func ("/grounding/keyframes-noisy", test_keyframes_noisy);
  g_test_add_func ("/grounding/shot-cuts", test_shot_cuts);
  g_test_add_func ("/grounding/dense", test_dense);

  return g_test_run ();
}
