/* bench-gpu.c — GEMM GFLOP/s and similarity GB/s on the Vulkan device, with
 * OpenBLAS sgemm (loaded with dlopen when installed) in the same run.
 *
 *   bench-gpu --gemm [--shape MxKxN] [--repeat N] [--chain N] [--epilogue]
 *             [--kernels auto,direct,shared,small]   (values of VIDMARK_GPU_COOPMAT,
 *                          auto: unset; each cooperative-matrix form's TFLOP/s)
 *   bench-gpu --similarity [--rows N] [--dim D] [--queries 1,4,16,64] [--k K]
 *             [--kernels default,gemm,...]   (values of VIDMARK_GPU_SIMILARITY,
 *                                             run one after the other per count)
 *   bench-gpu --attention [--kernels workgroup,lanes,subgroup] [--repeat N]
 *   bench-gpu --preprocess [--repeat N]
 *   bench-gpu --coopmat-peak [--repeat N]   (cooperative-matrix TFLOP/s alone)
 *
 * On GPUs the GEMM figures in parentheses are by the kernel's GPU time
 * (timestamps), after half a second of the same work; on CPU drivers they
 * are GFLOP per CPU-second.
 *
 * Depends only on libvulkan (at run time), GLib and libc.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "core/vm-util.h"
#include "gpu/vm-gpu-kernels.h"

static VmGpuDevice *device;

static guint64 rng_state = 0x9e3779b97f4a7c15ull;

static inline float
next_float (void)
{
  /* xorshift64*: fast and good enough for benchmark data. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (float) ((rng_state * 0x2545F4914F6CDD1Dull) >> 40) / (float) (1 << 24) * 2.0f - 1.0f;
}

/* CPU seconds used by this process (all threads: lavapipe's workers too).
 * On a shared machine this is steadier than wall time. */
static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
die_on_error (GError *error)
{
  if (error != NULL)
    {
      g_printerr ("bench-gpu: %s\n", error->message);
      exit (1);
    }
}

/* Best wall-clock and CPU seconds over the timed runs: run 0 is a warm-up
 * (it compiles the pipelines) and is not counted. */
typedef struct {
  gint64 t0;
  double c0;
  double wall, cpu;
} Timer;

#define TIMER_INIT { 0, 0.0, G_MAXDOUBLE, G_MAXDOUBLE }

static void
timer_start (Timer *t)
{
  t->t0 = g_get_monotonic_time ();
  t->c0 = cpu_seconds ();
}

static void
timer_stop (Timer *t,
            guint  run)
{
  if (run == 0)
    return;
  t->wall = MIN (t->wall, (g_get_monotonic_time () - t->t0) / 1e6);
  t->cpu = MIN (t->cpu, cpu_seconds () - t->c0);
}

static void
submit_or_die (VmGpuGraph *graph)
{
  GError *error = NULL;

  vm_gpu_graph_submit (graph, 600 * G_GUINT64_CONSTANT (1000000000), &error);
  die_on_error (error);
}

/* ---- GEMM ------------------------------------------------------------------ */

static gboolean
on_cpu (void)
{
  return vm_gpu_device_get_info (device)->type == VM_GPU_DEVICE_TYPE_CPU;
}

typedef void (*RecordFunc) (VmGpuGraph *graph, gconstpointer data);

/* GPUs: half a second of the same work before timing it, for the clocks
 * to rise (an idle GPU runs at a fraction of them); the first time in the
 * process three seconds (on an H100 just started, the first figures after
 * half a second came out at a third of the later ones). */
static void
gpu_warm_up (VmGpuGraph    *graph,
             RecordFunc     record,
             gconstpointer  data)
{
  static gboolean warm;
  gint64 until = g_get_monotonic_time () + (warm ? G_USEC_PER_SEC / 2 : 3 * G_USEC_PER_SEC);

  warm = TRUE;
  while (!on_cpu () && g_get_monotonic_time () < until)
    {
      record (graph, data);
      submit_or_die (graph);
    }
}

/* For a reusable graph, recorded already. */
static void
record_nothing (VmGpuGraph    *graph,
                gconstpointer  data)
{
}

/* Seconds of GPU time of the graph's last submission (timestamps; the
 * graph profiles), G_MAXDOUBLE without timings. */
static double
last_gpu_seconds (VmGpuGraph *graph)
{
  GArray *timings = vm_gpu_graph_get_timings (graph);
  double ms = 0;

  if (timings->len == 0)
    return G_MAXDOUBLE;
  for (guint i = 0; i < timings->len; i++)
    ms += g_array_index (timings, VmGpuKernelTiming, i).total_ms;
  return ms / 1e3;
}

static void
record_gemm (VmGpuGraph    *graph,
             gconstpointer  data)
{
  GError *error = NULL;

  vm_gpu_gemm (graph, data, &error);
  die_on_error (error);
}

typedef void (*SgemmFunc) (int order, int ta, int tb, int m, int n, int k, float alpha,
                           const float *a, int lda, const float *b, int ldb, float beta,
                           float *c, int ldc);

/* @core: the CPU core OpenBLAS chose its kernels for.  Debian's 0.3.21
 * falls back to the SSE3 "Prescott" kernels on CPUs newer than it knows;
 * $OPENBLAS_CORETYPE (SkylakeX, Haswell, ...) overrides. */
static SgemmFunc
load_openblas (const char **core)
{
  void *lib = dlopen ("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  const char *(*corename) (void);

  *core = "unknown";
  if (lib == NULL)
    return NULL;
  corename = (const char *(*) (void)) dlsym (lib, "openblas_get_corename");
  if (corename != NULL)
    *core = corename ();
  return (SgemmFunc) dlsym (lib, "cblas_sgemm");
}

static double last_cpu;
/* GEMMs recorded per submission (--chain): the matrix units' sustained rate,
 * without a submission's start and end in every figure. */
static guint gemm_chain = 1;
/* --epilogue: each product adds a bias and a residual (m × n), as the
 * encoders' attention output and MLP down-projection do. */
static gboolean gemm_epilogue;

typedef struct {
  const VmGpuGemm *g;
  guint chain;
} GemmRecord;

static void
record_gemm_chain (VmGpuGraph    *graph,
                   gconstpointer  data)
{
  const GemmRecord *rec = data;

  for (guint i = 0; i < rec->chain; i++)
    record_gemm (graph, rec->g);
}

/* Seconds per GEMM; @result (optional): C of the last run, m × n. */
static double
time_gpu_gemm (guint m, guint k, guint n, VmGpuDType type, guint repeat, float **result)
{
  GError *error = NULL;
  gsize wsize = type == VM_GPU_F16 ? 2 : 4;
  g_autofree float *a = g_new (float, (gsize) m * k);
  g_autofree guint8 *b = g_malloc ((gsize) n * k * wsize);
  g_autoptr(VmGpuBuffer) ba = NULL, bb = NULL, bc = NULL, br = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  Timer timer = TIMER_INIT;
  double gpu_s = G_MAXDOUBLE;
  VmGpuGemm g = { .m = m, .n = n, .k = k, .b_type = type };
  GemmRecord rec = { &g, gemm_chain };

  rng_state = 0x9e3779b97f4a7c15ull;   /* the same operands for every kernel */
  for (gsize i = 0; i < (gsize) m * k; i++)
    a[i] = next_float ();
  for (gsize i = 0; i < (gsize) n * k; i++)
    {
      float v = next_float () * 0.05f;
      if (type == VM_GPU_F16)
        ((guint16 *) b)[i] = vm_float_to_half (v);
      else
        ((float *) b)[i] = v;
    }
  ba = vm_gpu_buffer_new_from_data (device, a, (gsize) m * k * 4, &error);
  die_on_error (error);
  bb = vm_gpu_buffer_new_from_data (device, b, (gsize) n * k * wsize, &error);
  die_on_error (error);
  bc = vm_gpu_buffer_new (device, (gsize) m * n * 4, &error);
  die_on_error (error);
  g.a = VM_GPU_VIEW (ba, 0);
  g.b = VM_GPU_VIEW (bb, 0);
  g.c = VM_GPU_VIEW (bc, 0);
  if (gemm_epilogue)
    {
      g_autofree float *r = g_new0 (float, (gsize) m * n);

      br = vm_gpu_buffer_new_from_data (device, r, (gsize) m * n * 4, &error);
      die_on_error (error);
      g.bias = VM_GPU_VIEW (bb, 0);   /* B's first n weights */
      g.residual = VM_GPU_VIEW (br, 0);
    }
  graph = vm_gpu_graph_new (device, &error);
  die_on_error (error);
  /* On GPUs the kernel's own time (timestamps) next to the wall clock,
   * which includes the submission. */
  if (!on_cpu ())
    vm_gpu_graph_set_profiling (graph, TRUE);
  /* Recorded once, submitted for each repetition: the split over k takes
   * a scratch per product, which a graph recorded again and again would
   * hold until it is freed. */
  vm_gpu_graph_set_reusable (graph, TRUE);
  record_gemm_chain (graph, &rec);

  gpu_warm_up (graph, record_nothing, NULL);
  for (guint r = 0; r < repeat + 1; r++)
    {
      timer_start (&timer);
      submit_or_die (graph);
      timer_stop (&timer, r);
      if (!on_cpu () && r > 0)
        gpu_s = MIN (gpu_s, last_gpu_seconds (graph));
    }
  if (result != NULL)
    {
      *result = g_new (float, (gsize) m * n);
      vm_gpu_buffer_download (bc, 0, *result, (gsize) m * n * 4, &error);
      die_on_error (error);
    }
  last_cpu = (on_cpu () ? timer.cpu : gpu_s) / rec.chain;
  return timer.wall / rec.chain;
}

static double
time_blas_gemm (SgemmFunc sgemm, guint m, guint k, guint n, guint repeat)
{
  g_autofree float *a = g_new (float, (gsize) m * k);
  g_autofree float *b = g_new (float, (gsize) n * k);
  g_autofree float *c = g_new (float, (gsize) m * n);
  Timer timer = TIMER_INIT;

  for (gsize i = 0; i < (gsize) m * k; i++)
    a[i] = next_float ();
  for (gsize i = 0; i < (gsize) n * k; i++)
    b[i] = next_float () * 0.05f;
  for (guint r = 0; r < repeat + 1; r++)
    {
      timer_start (&timer);
      /* CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 */
      sgemm (101, 111, 112, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
      timer_stop (&timer, r);
    }
  last_cpu = timer.cpu;
  return timer.wall;
}

/* One row per form of the cooperative-matrix GEMM (values of
 * $VIDMARK_GPU_COOPMAT: direct, shared, small, splitk; "auto" unsets it
 * for the automatic choice), fp16 weights: TFLOP/s by
 * GPU time, and the largest difference from the first form's result next
 * to the result's largest magnitude. */
static void
bench_gemm_kernels (guint m, guint k, guint n, const char *kernels, guint repeat)
{
  g_auto(GStrv) names = g_strsplit (kernels, ",", -1);
  g_autofree float *first = NULL;
  double flop = 2.0 * m * n * k;

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree float *c = NULL;
      double t, big = 0, diff = 0;

      /* "auto": the automatic choice. */
      if (g_str_equal (names[i], "auto"))
        g_unsetenv ("VIDMARK_GPU_COOPMAT");
      else
        g_setenv ("VIDMARK_GPU_COOPMAT", names[i], TRUE);
      t = time_gpu_gemm (m, k, n, VM_GPU_F16, repeat, &c);
      t = on_cpu () ? t : last_cpu;
      if (first == NULL)
        first = g_steal_pointer (&c);
      else
        for (gsize e = 0; e < (gsize) m * n; e++)
          {
            big = MAX (big, fabs (first[e]));
            diff = MAX (diff, fabs (first[e] - c[e]));
          }
      g_print ("%ux%ux%u %-22s %8.1f TFLOP/s  %.3f ms", m, k, n, names[i], flop / t / 1e12, t * 1e3);
      if (i > 0)
        g_print ("  max |diff| %.2g of %.2g", diff, big);
      g_print ("\n");
    }
  g_unsetenv ("VIDMARK_GPU_COOPMAT");
}

static void
bench_gemm (guint repeat, const char *only, const char *kernels)
{
  /* tokens × in × out: a ViT-B/32 layer over 64 frames (50 tokens each). */
  static const guint shapes[][3] = {
    { 3200, 768, 2304 },   /* QKV projection */
    { 3200, 768, 768 },    /* attention output */
    { 3200, 768, 3072 },   /* MLP up */
    { 3200, 3072, 768 },   /* MLP down */
    { 77, 512, 1536 },     /* one text query, QKV */
  };
  const char *core;
  SgemmFunc sgemm = load_openblas (&core);

  g_print ("GEMM C = A * B^T%s (A: M x K, B: N x K), best of %u, device %s\n",
           gemm_epilogue ? " + bias + R on Vulkan" : "", repeat, vm_gpu_device_get_info (device)->name);
  g_print ("kernels: %s, %s; GFLOP/s by wall time (%s)\n",
           vm_gpu_gemm_variant (device, VM_GPU_F32), vm_gpu_gemm_variant (device, VM_GPU_F16),
           on_cpu () ? "by CPU time: GFLOP per CPU-second" : "Vulkan: by the kernel's GPU time");
  if (sgemm != NULL)
    g_print ("OpenBLAS kernels for core %s%s\n", core,
             g_getenv ("OPENBLAS_CORETYPE") ? " (from $OPENBLAS_CORETYPE)" : " (its own detection)");
  g_print ("%-16s %20s %20s %20s\n", "M x K x N", "vk fp32", "vk fp16 weights", "OpenBLAS fp32");
  for (guint s = 0; s < G_N_ELEMENTS (shapes) + 1; s++)
    {
      guint m, k, n;
      double flop, t32, c32;
      double t16 = NAN, c16 = NAN, tb = NAN, cb = NAN;
      g_autofree char *shape = NULL;

      if (s < G_N_ELEMENTS (shapes))
        {
          m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
          shape = g_strdup_printf ("%ux%ux%u", m, k, n);
          if (only != NULL && !g_str_equal (only, shape))
            continue;
        }
      else
        {
          /* --shape names one outside the list. */
          gboolean listed = FALSE;

          for (guint i = 0; i < G_N_ELEMENTS (shapes) && only != NULL; i++)
            {
              g_autofree char *name = g_strdup_printf ("%ux%ux%u", shapes[i][0], shapes[i][1], shapes[i][2]);

              listed = listed || g_str_equal (only, name);
            }
          if (only == NULL || listed || sscanf (only, "%ux%ux%u", &m, &k, &n) != 3 || m == 0 || k == 0 || n == 0)
            continue;
          shape = g_strdup_printf ("%ux%ux%u", m, k, n);
        }
      flop = 2.0 * m * n * k;
      if (kernels != NULL)
        {
          bench_gemm_kernels (m, k, n, kernels, repeat);
          continue;
        }
      t32 = time_gpu_gemm (m, k, n, VM_GPU_F32, repeat, NULL);
      c32 = last_cpu;

      if (vm_gpu_device_supports_f16 (device))
        {
          t16 = time_gpu_gemm (m, k, n, VM_GPU_F16, repeat, NULL);
          c16 = last_cpu;
        }
      if (sgemm != NULL)
        {
          tb = time_blas_gemm (sgemm, m, k, n, repeat);
          cb = last_cpu;
        }
      g_print ("%-16s %9.1f (%7.1f) %9.1f (%7.1f) %9.1f (%7.1f)\n", shape,
               flop / t32 / 1e9, flop / c32 / 1e9, flop / t16 / 1e9, flop / c16 / 1e9,
               flop / tb / 1e9, flop / cb / 1e9);
    }
  if (sgemm == NULL)
    g_print ("(OpenBLAS not installed: libopenblas0)\n");
}

/* ---- the cooperative-matrix ceiling ------------------------------------------- */

/* TFLOP/s of coopmat_peak.comp: 8 independent 16×16×16 multiply-adds per
 * round and subgroup, no memory traffic in the loop; by GPU timestamps,
 * best of @repeat, after half a second of warm-up. */
typedef struct {
  VmGpuPipelineDesc desc;
  VmGpuBuffer      *in, *out;
  guint32           iters;
  guint             groups;
} PeakWork;

static void
record_peak (VmGpuGraph    *graph,
             gconstpointer  data)
{
  const PeakWork *w = data;
  GError *error = NULL;
  VmGpuBinding bind[2] = {
    { w->in, 0, 0, VM_GPU_ACCESS_READ },
    { w->out, 0, 0, VM_GPU_ACCESS_WRITE },
  };

  vm_gpu_graph_dispatch (graph, &w->desc, bind, 2, &w->iters, sizeof w->iters, w->groups, 1, 1, &error);
  die_on_error (error);
}

static void
bench_coopmat_peak_source (guint        repeat,
                           const char  *name,
                           const char  *what)
{
  GError *error = NULL;
  PeakWork w = { { name, 2, sizeof (guint32), { 128, 1, 1 }, 0 }, NULL, NULL, 4096, 132 * 16 };
  g_autoptr(VmGpuBuffer) in = NULL, out = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autofree guint16 *halves = g_new (guint16, 1536);
  double best = G_MAXDOUBLE;

  if (!vm_gpu_device_get_info (device)->cooperative_matrix_nv)
    {
      g_print ("cooperative matrices: not supported by %s\n", vm_gpu_device_get_info (device)->name);
      return;
    }
  for (guint i = 0; i < 1536; i++)
    halves[i] = 0x3c00 + (i % 7) * 0x40;   /* 1.0 .. 1.375 */
  in = vm_gpu_buffer_new_from_data (device, halves, 1536 * 2, &error);
  die_on_error (error);
  out = vm_gpu_buffer_new (device, (gsize) w.groups * 4 * 8 * 256 * 4, &error);
  die_on_error (error);
  w.in = in;
  w.out = out;
  graph = vm_gpu_graph_new (device, &error);
  die_on_error (error);
  vm_gpu_graph_set_profiling (graph, TRUE);
  gpu_warm_up (graph, record_peak, &w);
  for (guint r = 0; r < repeat; r++)
    {
      record_peak (graph, &w);
      submit_or_die (graph);
      best = MIN (best, last_gpu_seconds (graph));
    }
  g_print ("cooperative matrices (16x16x16 fp16, fp32 accumulators), %s: %.1f TFLOP/s on %s\n", what,
           2.0 * 16 * 16 * 16 * 8 * w.iters * w.groups * 4 / best / 1e12, vm_gpu_device_get_info (device)->name);
}

static void
bench_coopmat_peak (guint repeat)
{
  bench_coopmat_peak_source (repeat, "coopmat_peak", "operands in registers");
  bench_coopmat_peak_source (repeat, "coopmat_peak_shared", "6 operands from shared memory per 8 products");
  bench_coopmat_peak_source (repeat, "coopmat_peak_buffer", "6 operands from the buffer per 8 products");
}

/* ---- attention -------------------------------------------------------------- */

/* One attention dispatch over a packed [batch][tokens][3·heads·64] QKV with
 * the kernel VIDMARK_GPU_ATTENTION selects (@variant: "lanes", "workgroup"
 * or NULL for the default): best wall and CPU ms of @repeat. */
static double
time_attention (guint batch, guint heads, guint tokens, gboolean causal, const char *variant,
                guint repeat, const char **kernel)
{
  GError *error = NULL;
  guint hd = 64, width = heads * hd, ld = 3 * width;
  gsize nqkv = (gsize) batch * tokens * ld, no = (gsize) batch * tokens * width;
  g_autofree float *qkv = g_new (float, nqkv);
  g_autoptr(VmGpuBuffer) bqkv = NULL, bo = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  Timer timer = TIMER_INIT;

  for (gsize i = 0; i < nqkv; i++)
    qkv[i] = next_float ();
  bqkv = vm_gpu_buffer_new_from_data (device, qkv, nqkv * 4, &error);
  die_on_error (error);
  bo = vm_gpu_buffer_new (device, no * 4, &error);
  die_on_error (error);
  graph = vm_gpu_graph_new (device, &error);
  die_on_error (error);
  /* "coopmat": no override, fp16 products allowed (attention_cm on GPUs
   * with cooperative matrices). */
  if (variant != NULL && !g_str_equal (variant, "coopmat"))
    g_setenv ("VIDMARK_GPU_ATTENTION", variant, TRUE);
  else
    g_unsetenv ("VIDMARK_GPU_ATTENTION");
  for (guint r = 0; r < repeat + 1; r++)
    {
      VmGpuAttention a = {
        .batch = batch, .heads = heads, .lq = tokens, .lk = tokens, .head_dim = hd,
        .q = VM_GPU_VIEW (bqkv, 0), .k = VM_GPU_VIEW (bqkv, 4ull * width), .v = VM_GPU_VIEW (bqkv, 8ull * width),
        .o = VM_GPU_VIEW (bo, 0), .q_ld = ld, .k_ld = ld, .v_ld = ld,
        .causal = causal,
        .fp16_products = variant != NULL && g_str_equal (variant, "coopmat"),
      };

      timer_start (&timer);
      *kernel = vm_gpu_attention_variant (device, &a);
      vm_gpu_attention (graph, &a, &error);
      die_on_error (error);
      submit_or_die (graph);
      timer_stop (&timer, r);
    }
  last_cpu = timer.cpu;
  g_unsetenv ("VIDMARK_GPU_ATTENTION");
  return timer.wall;
}

static void
bench_attention (const char *kernels, guint repeat)
{
  /* batch × heads × tokens (head dim 64): ViT-B/32 images, CLIP texts (causal),
   * ViT-L/14 images at 224. */
  static const struct { guint batch, heads, tokens; gboolean causal; } shapes[] = {
    { 64, 12, 50, FALSE },
    { 64, 8, 77, TRUE },
    { 16, 16, 257, FALSE },
  };
  g_auto(GStrv) variants = g_strsplit (kernels, ",", -1);

  g_print ("Attention over packed QKV, head dim 64, best of %u, device %s\n", repeat,
           vm_gpu_device_get_info (device)->name);
  g_print ("%-22s %-22s %12s %12s\n", "batch x heads x L", "kernel", "ms / call", "CPU ms");
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (guint v = 0; variants[v] != NULL; v++)
      {
        const char *kernel = NULL;
        double t = time_attention (shapes[s].batch, shapes[s].heads, shapes[s].tokens, shapes[s].causal,
                                   variants[v], repeat, &kernel);
        g_autofree char *shape = g_strdup_printf ("%ux%ux%u%s", shapes[s].batch, shapes[s].heads,
                                                  shapes[s].tokens, shapes[s].causal ? " causal" : "");

        g_print ("%-22s %-22s %12.1f %12.1f\n", shape, kernel, t * 1e3, last_cpu * 1e3);
      }
}

/* ---- CLIP preprocessing ------------------------------------------------------- */

/* 64 RGB8 frames of 320×240 → 224×224 CHW floats (resize_h + resize_v). */
static void
bench_preprocess (guint repeat)
{
  GError *error = NULL;
  const guint n = 64, w = 320, h = 240;
  gsize bytes = (gsize) n * w * h * 3;
  g_autofree guint8 *frames = g_malloc (bytes);
  g_autoptr(VmGpuBuffer) bf = NULL, bo = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  Timer timer = TIMER_INIT;

  for (gsize i = 0; i < bytes; i++)
    frames[i] = (guint8) (next_float () * 127 + 128);
  bf = vm_gpu_buffer_new_from_data (device, frames, bytes, &error);
  die_on_error (error);
  bo = vm_gpu_buffer_new (device, 4ull * n * 3 * 224 * 224, &error);
  die_on_error (error);
  graph = vm_gpu_graph_new (device, &error);
  die_on_error (error);
  for (guint r = 0; r < repeat + 1; r++)
    {
      VmGpuPreprocess pre = {
        .n_frames = n, .width = w, .height = h, .frames = VM_GPU_VIEW (bf, 0),
        .resize = 224, .crop = 224, .mean = { 0.5f, 0.5f, 0.5f }, .std = { 0.25f, 0.25f, 0.25f },
        .out = VM_GPU_VIEW (bo, 0),
      };

      timer_start (&timer);
      vm_gpu_preprocess_clip (graph, &pre, &error);
      die_on_error (error);
      submit_or_die (graph);
      timer_stop (&timer, r);
    }
  g_print ("CLIP preprocessing, %u frames %ux%u -> 224x224, best of %u: %.1f ms, CPU %.1f ms\n", n, w, h,
           repeat, timer.wall * 1e3, timer.cpu * 1e3);
}

/* ---- similarity ------------------------------------------------------------- */

/* Database passes for @nq queries with @variant: the one-pass kernel takes
 * 256 queries a pass, the others 16. */
static guint
similarity_passes (const char *variant, guint nq)
{
  guint per_pass = g_str_has_prefix (variant, "sim_topk_gemm") ? 256 : 16;

  return (nq + per_pass - 1) / per_pass;
}

static void
bench_similarity (guint rows, guint dim, const char *query_counts, guint k, guint repeat,
                  const char *kernels)
{
  GError *error = NULL;
  g_auto(GStrv) counts = g_strsplit (query_counts, ",", -1);
  g_auto(GStrv) kernel_list = g_strsplit (kernels != NULL ? kernels : "", ",", -1);
  guint n_kernels = MAX (g_strv_length (kernel_list), 1);
  g_autofree char *env_before = g_strdup (g_getenv ("VIDMARK_GPU_SIMILARITY"));
  gsize n = (gsize) rows * dim;
  g_autoptr(VmGpuBuffer) db = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  guint16 *chunk = g_new (guint16, 1 << 20);
  gint64 t0;

  g_print ("Similarity top-%u: %u x %u fp16 rows (%.2f GB), fp32 queries, best of %u, device %s\n",
           k, rows, dim, n * 2 / 1e9, repeat, vm_gpu_device_get_info (device)->name);

  db = vm_gpu_buffer_new (device, n * 2, &error);
  die_on_error (error);
  t0 = g_get_monotonic_time ();
  for (gsize done = 0; done < n; done += 1 << 20)
    {
      gsize len = MIN ((gsize) 1 << 20, n - done);

      for (gsize i = 0; i < len; i++)
        chunk[i] = vm_float_to_half (next_float ());
      vm_gpu_buffer_upload (db, done * 2, chunk, len * 2, &error);
      die_on_error (error);
    }
  g_free (chunk);
  g_print ("(generated and uploaded in %.1f s)\n", (g_get_monotonic_time () - t0) / 1e6);

  graph = vm_gpu_graph_new (device, &error);
  die_on_error (error);
  g_print ("%8s %12s %14s %10s %14s %16s\n", "queries", "ms / batch", "ms / query", "GB/s",
           "CPU ms/batch", "CPU ms / query");
  for (guint c = 0; counts[c] != NULL; c++)
    for (guint kv = 0; kv < n_kernels; kv++)
    {
      guint nq = (guint) g_ascii_strtoull (counts[c], NULL, 10);
      g_autofree float *q = g_new (float, (gsize) nq * dim);
      g_autoptr(VmGpuBuffer) bq = NULL, bs = NULL, bi = NULL;
      Timer timer = TIMER_INIT;

      if (nq == 0)
        continue;
      /* --kernels: "default" is the automatic choice (or the variable as it
       * was when the program started). */
      if (kernel_list[kv] == NULL || g_strcmp0 (kernel_list[kv], "default") == 0)
        {
          if (env_before != NULL)
            g_setenv ("VIDMARK_GPU_SIMILARITY", env_before, TRUE);
          else
            g_unsetenv ("VIDMARK_GPU_SIMILARITY");
        }
      else
        g_setenv ("VIDMARK_GPU_SIMILARITY", kernel_list[kv], TRUE);
      for (gsize i = 0; i < (gsize) nq * dim; i++)
        q[i] = next_float ();
      bq = vm_gpu_buffer_new_from_data (device, q, (gsize) nq * dim * 4, &error);
      die_on_error (error);
      bs = vm_gpu_buffer_new (device, (gsize) nq * k * 4, &error);
      die_on_error (error);
      bi = vm_gpu_buffer_new (device, (gsize) nq * k * 4, &error);
      die_on_error (error);

      for (guint r = 0; r < repeat + 1; r++)
        {
          VmGpuSimilarity s = {
            .queries = VM_GPU_VIEW (bq, 0), .n_queries = nq,
            .database = VM_GPU_VIEW (db, 0), .n_rows = rows, .dim = dim, .k = k,
            .scores = VM_GPU_VIEW (bs, 0), .indices = VM_GPU_VIEW (bi, 0),
          };

          timer_start (&timer);
          vm_gpu_similarity_topk (graph, &s, &error);
          die_on_error (error);
          submit_or_die (graph);
          timer_stop (&timer, r);
        }
      {
        VmGpuSimilarity probe = { .n_queries = nq, .n_rows = rows, .dim = dim, .k = k,
                                  .database = VM_GPU_VIEW (db, 0) };
        const char *variant = vm_gpu_similarity_variant (device, &probe);
        guint passes = similarity_passes (variant, nq);

        /* GB/s: the bytes of the database passes over wall time. */
        g_print ("%8u %12.1f %14.2f %10.2f %14.1f %16.2f  %s (%u pass%s)\n", nq, timer.wall * 1e3,
                 timer.wall * 1e3 / nq, n * 2.0 * passes / timer.wall / 1e9, timer.cpu * 1e3, timer.cpu * 1e3 / nq,
                 variant, passes, passes == 1 ? "" : "es");
      }
    }
}

int
main (int   argc,
      char *argv[])
{
  GError *error = NULL;
  gboolean gemm = FALSE, similarity = FALSE, attention = FALSE, preprocess = FALSE, peak = FALSE;
  int rows = 1000000, dim = 512, k = 10, repeat = 3, chain = 1;
  char *queries = NULL, *shape = NULL, *kernels = NULL;
  GOptionEntry entries[] = {
    { "gemm", 0, 0, G_OPTION_ARG_NONE, &gemm, "GEMM GFLOP/s (and OpenBLAS)", NULL },
    { "similarity", 0, 0, G_OPTION_ARG_NONE, &similarity, "similarity GB/s", NULL },
    { "attention", 0, 0, G_OPTION_ARG_NONE, &attention, "attention ms per call", NULL },
    { "preprocess", 0, 0, G_OPTION_ARG_NONE, &preprocess, "CLIP preprocessing ms per batch of 64 frames", NULL },
    { "coopmat-peak", 0, 0, G_OPTION_ARG_NONE, &peak, "cooperative-matrix multiply-add TFLOP/s alone", NULL },
    { "rows", 0, 0, G_OPTION_ARG_INT, &rows, "database rows (1000000)", "N" },
    { "dim", 0, 0, G_OPTION_ARG_INT, &dim, "dimension (512)", "D" },
    { "queries", 0, 0, G_OPTION_ARG_STRING, &queries, "query counts (1,4,16,64)", "LIST" },
    { "k", 0, 0, G_OPTION_ARG_INT, &k, "top-k (10)", "K" },
    { "kernels", 0, 0, G_OPTION_ARG_STRING, &kernels,
      "kernels to compare: with --similarity values of VIDMARK_GPU_SIMILARITY (default,gemm,texel,storage), "
      "with --attention values of VIDMARK_GPU_ATTENTION (workgroup,lanes,subgroup; coopmat: the default with fp16 products), "
      "with --gemm values of VIDMARK_GPU_COOPMAT (direct,shared,small,splitk: cooperative-matrix forms; "
      "auto: the automatic choice)", "LIST" },
    { "shape", 0, 0, G_OPTION_ARG_STRING, &shape, "only this GEMM shape (MxKxN)", "MxKxN" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "timed runs (3)", "N" },
    { "chain", 0, 0, G_OPTION_ARG_INT, &chain, "with --gemm: products per submission (1)", "N" },
    { "epilogue", 0, 0, G_OPTION_ARG_NONE, &gemm_epilogue,
      "with --gemm: add a bias and a residual to every product (OpenBLAS: the product alone)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— Vidmark GPU benchmarks");

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die_on_error (error);
  if (!gemm && !similarity && !attention && !preprocess && !peak)
    gemm = similarity = TRUE;
  if (rows <= 0 || dim <= 0 || k <= 0 || repeat <= 0 || chain <= 0)
    {
      g_printerr ("bench-gpu: sizes must be positive\n");
      return 1;
    }

  device = vm_gpu_device_new (&error);
  if (device == NULL)
    {
      g_printerr ("bench-gpu: %s\n", error->message);
      return 77;
    }
  gemm_chain = chain;
  if (peak)
    bench_coopmat_peak (repeat);
  if (gemm)
    bench_gemm (repeat, shape, kernels);
  if (preprocess)
    bench_preprocess (repeat);
  if (attention)
    bench_attention (kernels ? kernels : "workgroup,lanes", repeat);
  if (similarity)
    bench_similarity (rows, dim, queries ? queries : "1,4,16,64", k, repeat, kernels);
  vm_gpu_device_unref (device);
  g_free (queries);
  g_free (shape);
  g_free (kernels);
  return 0;
}
