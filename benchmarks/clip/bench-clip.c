/* bench-clip.c — CLIP encoder throughput: images/s and texts/s of a
 * ViT-B/32-shaped model (random weights in the Hugging Face format, made
 * once by tests/clip/make-tiny-clip.py --vit-b32) at batch sizes 1, 16 and
 * 64, on the Vulkan device, next to PyTorch on the CPU with the same weights
 * (bench-clip-torch.py), then one profiled batch of each at the smallest
 * and the largest batch size (VIDMARK_GPU_PROFILE=1 tables on stderr).  On a machine with an NVIDIA GPU,
 * bench-clip-transformers.py in place of bench-clip-torch.py times the
 * `transformers` models in fp16 there, eager and compiled.
 *
 * Usage: bench-clip PYTHON make-tiny-clip.py PEER-SCRIPT WORK_DIR
 * $VIDMARK_BENCH_SECONDS: time per measurement (default 3);
 * $VIDMARK_BENCH_BATCHES: batch sizes, comma-separated (default 1,16,64);
 * $VIDMARK_BENCH_FP32=0 skips the fp32-weights run where fp16 is used;
 * $VIDMARK_BENCH_ROUNDS: times both sides this many times, alternating, and
 * reports medians (default 1; on a shared machine the peer's own figures
 * move by up to 2x between runs);
 * $VIDMARK_BENCH_OPENBLAS_CORETYPE: the OpenBLAS core type of the second
 * PyTorch CPU run ("none": no second run).  By default that run happens
 * when OpenBLAS chose pre-AVX2 kernels on a CPU with AVX2, with the core
 * type the CPU supports (SkylakeX with AVX-512, else Haswell).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "model/vm-clip-model.h"

#define MAX_BATCHES 8
#define MAX_ROUNDS 9
static guint batches[MAX_BATCHES] = { 1, 16, 64 };
static guint n_batches = 3;
static guint max_batch = 64;
#define FRAME_W 320
#define FRAME_H 240

static double seconds_per_run = 3.0;
static double last_median_ms;

static const char *subjects[] = {
  "a dog", "two children", "a red car", "an old man", "a woman in a blue coat", "a cat",
  "people", "a cyclist", "a small boat", "a chef",
};
static const char *actions[] = {
  "running on the beach", "sitting at a wooden table", "crossing a busy street at night",
  "playing football in the park", "cooking pasta in a small kitchen", "sleeping",
  "riding through the mountains under a cloudy sky", "waving at the camera",
};

static char **
make_texts (void)
{
  char **texts = g_new0 (char *, max_batch + 1);

  for (guint i = 0; i < max_batch; i++)
    texts[i] = g_strdup_printf ("%s %s", subjects[i % G_N_ELEMENTS (subjects)],
                                actions[(i * 3 + i / 10) % G_N_ELEMENTS (actions)]);
  return texts;
}

typedef gboolean (*EncodeFunc) (VmClipModel *model, guint n, gpointer data, float *out, GError **error);

typedef struct {
  VmClipImage *images;
  char       **texts;
} Inputs;

static gboolean
encode_images (VmClipModel  *model,
               guint         n,
               gpointer      data,
               float        *out,
               GError      **error)
{
  Inputs *in = data;

  return vm_clip_model_encode_images (model, in->images, n, out, error);
}

static gboolean
encode_texts (VmClipModel  *model,
              guint         n,
              gpointer      data,
              float        *out,
              GError      **error)
{
  Inputs *in = data;

  return vm_clip_model_encode_texts (model, (const char * const *) in->texts, n, out, error);
}

static gint
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (const double *values,
        guint         n)
{
  g_autofree double *sorted = g_memdup2 (values, n * sizeof (double));

  qsort (sorted, n, sizeof (double), compare_doubles);
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/* Items per second (the mean over the timed calls; the median call time is
 * left in last_median_ms): one warm-up call at this batch size (pipelines, caches,
 * activations), then calls until the time is up (at least one). */
static double
measure (VmClipModel *model,
         EncodeFunc   func,
         Inputs      *in,
         guint        batch)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *out = g_new (float, (gsize) batch * vm_clip_model_get_projection_dim (model));
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  gint64 start, t0;
  guint runs = 0;
  double elapsed;

  /* Untimed calls at each batch size, for half a second and at least one,
   * as the PyTorch side does: the first call at a new size allocates its
   * activations, and a GPU raises its clocks only under sustained work. */
  start = g_get_monotonic_time ();
  do
    if (!func (model, batch, in, out, &error))
      g_error ("encoding failed: %s", error->message);
  while (g_get_monotonic_time () - start < G_USEC_PER_SEC / 2);
  start = g_get_monotonic_time ();
  do
    {
      double ms;

      t0 = g_get_monotonic_time ();
      if (!func (model, batch, in, out, &error))
        g_error ("encoding failed: %s", error->message);
      ms = (g_get_monotonic_time () - t0) / 1e3;
      g_array_append_val (times, ms);
      runs++;
      elapsed = (g_get_monotonic_time () - start) / 1e6;
    }
  while (elapsed < seconds_per_run && runs < 500);
  last_median_ms = median ((const double *) times->data, times->len);
  return batch * runs / elapsed;
}

static void
ensure_model (const char *python,
              const char *maker,
              const char *work_dir,
              const char *model_dir)
{
  g_autofree char *weights = g_build_filename (model_dir, "model.safetensors", NULL);
  const char *args[] = { python, maker, "--vit-b32", work_dir, NULL };
  g_autoptr(GError) error = NULL;
  gint status;

  if (g_file_test (weights, G_FILE_TEST_EXISTS))
    return;
  g_print ("Writing a ViT-B/32-shaped model with random weights to %s ...\n", model_dir);
  if (!g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL, &status,
                     &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("make-tiny-clip.py failed: %s", error->message);
}

/* The token ids the texts give, for the PyTorch side. */
static char *
write_ids (const char  *model_dir,
           char       **texts,
           const char  *work_dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmTokenizer) tok = vm_tokenizer_new_from_dir (model_dir, &error);
  guint context = VM_TOKENIZER_CONTEXT_LENGTH;
  g_autofree gint32 *ids = g_new (gint32, context);
  g_autoptr(GString) s = g_string_new ("{\"ids\": [");
  guint length = 0;
  char *path = g_build_filename (work_dir, "bench-ids.json", NULL);

  if (tok == NULL)
    g_error ("cannot load the tokenizer: %s", error->message);

  for (guint i = 0; i < max_batch; i++)
    {
      length = MAX (length, vm_tokenizer_encode_padded (tok, texts[i], ids, context));
      g_string_append (s, i ? ", [" : "[");
      for (guint j = 0; j < context; j++)
        g_string_append_printf (s, j ? ", %d" : "%d", ids[j]);
      g_string_append (s, "]");
    }
  g_string_append_printf (s, "], \"length\": %u}\n", length);
  if (!g_file_set_contents (path, s->str, s->len, NULL))
    g_error ("cannot write %s", path);
  return path;
}

/* The OpenBLAS core type this CPU can run ($OPENBLAS_CORETYPE), for a
 * second PyTorch run when OpenBLAS picked generic kernels by itself. */
static const char *
openblas_coretype_for_cpu (void)
{
  const char *env = g_getenv ("VIDMARK_BENCH_OPENBLAS_CORETYPE");

  if (env != NULL)
    return g_str_equal (env, "none") || *env == '\0' ? NULL : env;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
      __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
#endif
  return NULL;
}

/* OpenBLAS's cores without AVX2: where its own detection lands on one of
 * these on a CPU that has AVX2 (Debian's 0.3.21 on CPUs newer than it
 * knows), the peer is also timed with the core type forced. */
static gboolean
openblas_core_is_generic (const char *core)
{
  static const char *generic[] = {
    "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Katmai",
    "Coppermine", "Northwood", "Banias", "Barcelona", "Opteron", "Opteron_SSE3", "Bobcat",
    "Bulldozer", "Piledriver", "Steamroller", "Excavator",
  };

  for (guint i = 0; i < G_N_ELEMENTS (generic); i++)
    if (core != NULL && g_ascii_strcasecmp (core, generic[i]) == 0)
      return TRUE;
  return FALSE;
}

static const char *
blas_member (JsonObject *torch,
             const char *member)
{
  JsonNode *blas = torch != NULL ? json_object_get_member (torch, "blas") : NULL;

  if (blas == NULL || !JSON_NODE_HOLDS_OBJECT (blas))
    return NULL;
  return json_object_get_string_member_with_default (json_node_get_object (blas), member, NULL);
}

static JsonObject *
run_torch (const char *python,
           const char *script,
           const char *model_dir,
           const char *ids_path,
           const char *openblas_coretype,
           GPtrArray  *parsers)
{
  g_autoptr(GString) batch_list = g_string_new (NULL);
  g_auto(GStrv) envp = g_get_environ ();
  const char *args[] = { python, script, model_dir, ids_path, NULL, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  JsonParser *parser;
  gint status;

  for (guint b = 0; b < n_batches; b++)
    g_string_append_printf (batch_list, b ? ",%u" : "%u", batches[b]);
  args[4] = batch_list->str;
  if (openblas_coretype != NULL)
    envp = g_environ_setenv (envp, "OPENBLAS_CORETYPE", openblas_coretype, TRUE);
  g_print ("Running the PyTorch side (%s%s%s) ...\n", script,
           openblas_coretype ? ", OPENBLAS_CORETYPE=" : "", openblas_coretype ? openblas_coretype : "");
  if (!g_spawn_sync (NULL, (char **) args, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    {
      g_print ("PyTorch run failed: %s\n%s\n", error->message, err ? err : "");
      return NULL;
    }
  /* The parser owns the object returned: @parsers keeps it. */
  parser = json_parser_new ();
  g_ptr_array_add (parsers, parser);
  if (!json_parser_load_from_data (parser, out, -1, &error))
    {
      g_print ("PyTorch output unreadable: %s\n", error->message);
      return NULL;
    }
  return json_node_get_object (json_parser_get_root (parser));
}

static double
torch_rate (JsonObject *torch,
            const char *member,
            guint       batch)
{
  char key[16];

  if (torch == NULL || !json_object_has_member (torch, member))
    return 0.0;
  g_snprintf (key, sizeof key, "%u", batch);
  return json_object_get_double_member_with_default (json_object_get_object_member (torch, member), key, 0.0);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuDevice) device = NULL;
  g_autoptr(GPtrArray) parsers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *model_dir = NULL;
  g_autofree char *ids_path = NULL;
  g_autofree guint8 *frame = NULL;
  g_autofree VmClipImage *images = NULL;
  g_auto(GStrv) texts = NULL;
  Inputs in;
  static double rates[MAX_ROUNDS][2][2][MAX_BATCHES];        /* [round][dtype run][images, texts][batch] */
  static double peer_rates[MAX_ROUNDS][2][2][MAX_BATCHES];   /* [round][peer, tuned or compiled][...] */
  static double image1_ms[MAX_ROUNDS][2];
  guint n_rounds = 1;
  gboolean second;
  g_autofree char *peer = g_strdup ("PyTorch CPU");
  const char *dtype_names[2] = { NULL, NULL };
  gboolean compiled;
  guint n_runs = 0;
  g_autofree char *peer_tuned = NULL;
  JsonObject *torch = NULL, *torch_tuned = NULL;
  const char *coretype;
  const char *env;
  GRand *rand;

  if (argc != 5)
    {
      g_printerr ("usage: %s PYTHON make-tiny-clip.py PEER-SCRIPT WORK_DIR\n", argv[0]);
      return 2;
    }
  if ((env = g_getenv ("VIDMARK_BENCH_BATCHES")) != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (env, ",", MAX_BATCHES);

      n_batches = 0;
      for (guint i = 0; parts[i] != NULL; i++)
        {
          guint64 b = g_ascii_strtoull (parts[i], NULL, 10);

          if (b == 0 || b > 4096)
            {
              g_printerr ("VIDMARK_BENCH_BATCHES: \"%s\" is not a batch size (1 to 4096)\n", parts[i]);
              return 2;
            }
          batches[n_batches++] = b;
        }
    }
  max_batch = 0;
  for (guint b = 0; b < n_batches; b++)
    max_batch = MAX (max_batch, batches[b]);
  texts = make_texts ();
  images = g_new (VmClipImage, max_batch);
  in = (Inputs) { images, texts };
  if ((env = g_getenv ("VIDMARK_BENCH_ROUNDS")) != NULL)
    {
      guint64 r = g_ascii_strtoull (env, NULL, 10);

      if (r == 0 || r > MAX_ROUNDS)
        {
          g_printerr ("VIDMARK_BENCH_ROUNDS: \"%s\" is not a number of rounds (1 to %u)\n", env, MAX_ROUNDS);
          return 2;
        }
      n_rounds = r;
    }
  if ((env = g_getenv ("VIDMARK_BENCH_SECONDS")) != NULL)
    seconds_per_run = MAX (g_ascii_strtod (env, NULL), 0.1);
  if (g_getenv ("VIDMARK_GPU_PROFILE") == NULL)
    g_setenv ("VIDMARK_GPU_PROFILE", "0", TRUE);

  g_mkdir_with_parents (argv[4], 0755);
  model_dir = g_build_filename (argv[4], "vit-b32", NULL);
  ensure_model (argv[1], argv[2], argv[4], model_dir);

  device = vm_gpu_device_new (&error);
  if (device == NULL)
    {
      g_print ("No Vulkan device: %s\n", error->message);
      return 77;
    }

  frame = g_malloc ((gsize) FRAME_W * FRAME_H * 3);
  rand = g_rand_new_with_seed (7);
  for (gsize i = 0; i < (gsize) FRAME_W * FRAME_H * 3; i++)
    frame[i] = g_rand_int_range (rand, 0, 256);
  g_rand_free (rand);
  for (guint i = 0; i < max_batch; i++)
    images[i] = (VmClipImage) { frame, FRAME_W, FRAME_H, 0 };

  ids_path = write_ids (model_dir, texts, argv[4]);
  coretype = openblas_coretype_for_cpu ();
  for (guint r = 0; r < n_rounds; r++)
    {
      JsonObject *t, *tt = NULL;

      if (n_rounds > 1)
        g_print ("Round %u of %u\n", r + 1, n_rounds);
      /* PyTorch first: its figures are there even if the Vulkan runs are cut short. */
      t = run_torch (argv[1], argv[3], model_dir, ids_path, NULL, parsers);
      if (r == 0)
        torch = t;
      if (r == 0 && t != NULL && json_object_has_member (t, "device"))
        {
          g_free (peer);
          peer = g_strdup_printf ("PyTorch %s fp16", json_object_get_string_member (t, "device"));
        }
      else if (r == 0 && t != NULL && blas_member (t, "core") != NULL && *blas_member (t, "core"))
        {
          g_free (peer);
          peer = g_strdup_printf ("PyTorch CPU (OpenBLAS %s)", blas_member (t, "core"));
        }
      /* OpenBLAS on generic kernels by its own choice: the peer once more
       * with the core type this CPU runs, so the comparison is against both. */
      if (t != NULL && coretype != NULL && !json_object_has_member (t, "device") &&
          (openblas_core_is_generic (blas_member (t, "core")) || g_getenv ("VIDMARK_BENCH_OPENBLAS_CORETYPE") != NULL))
        tt = run_torch (argv[1], argv[3], model_dir, ids_path, coretype, parsers);
      if (r == 0)
        torch_tuned = tt;
      if (r == 0 && tt != NULL)
        peer_tuned = g_strdup_printf ("PyTorch CPU (OpenBLAS %s)", blas_member (tt, "core"));
      for (guint kind = 0; kind < 2; kind++)
        for (guint b = 0; b < n_batches; b++)
          {
            peer_rates[r][0][kind][b] = torch_rate (t, kind == 0 ? "images_per_s" : "texts_per_s", batches[b]);
            peer_rates[r][1][kind][b] = tt != NULL ? torch_rate (tt, kind == 0 ? "images_per_s" : "texts_per_s", batches[b])
                                                   : torch_rate (t, kind == 0 ? "images_per_s_compiled" : "texts_per_s_compiled",
                                                                 batches[b]);
          }
      for (guint b = 0; b < n_batches; b++)
        {
          g_print ("  %s, batch %2u: %8.2f images/s, %8.2f texts/s\n", peer, batches[b],
                   peer_rates[r][0][0][b], peer_rates[r][0][1][b]);
          if (tt != NULL)
            g_print ("  %s, batch %2u: %8.2f images/s, %8.2f texts/s\n", peer_tuned, batches[b],
                     peer_rates[r][1][0][b], peer_rates[r][1][1][b]);
        }

      n_runs = 0;
      for (guint run = 0; run < 2; run++)
        {
          g_autoptr(VmClipModel) model = NULL;
          VmClipLoadFlags flags = run == 0 ? VM_CLIP_LOAD_DEFAULT : VM_CLIP_LOAD_FORCE_FP32;
          gint64 t0 = g_get_monotonic_time ();

          if (run == 1 && (!vm_gpu_device_supports_f16 (device) || g_strcmp0 (g_getenv ("VIDMARK_BENCH_FP32"), "0") == 0))
            break;
          model = vm_clip_model_load (device, model_dir, flags, &error);
          if (model == NULL)
            g_error ("loading %s failed: %s", model_dir, error->message);
          dtype_names[run] = vm_clip_model_uses_f16 (model) ? "fp16 weights" : "fp32 weights";
          g_print ("Loaded %s with %s in %.2f s\n", model_dir, dtype_names[run],
                   (g_get_monotonic_time () - t0) / 1e6);
          for (guint b = 0; b < n_batches; b++)
            {
              rates[r][run][0][b] = measure (model, encode_images, &in, batches[b]);
              if (batches[b] == 1)
                image1_ms[r][run] = last_median_ms;
              g_print ("  %s, batch %2u: %8.2f images/s\n", dtype_names[run], batches[b], rates[r][run][0][b]);
              rates[r][run][1][b] = measure (model, encode_texts, &in, batches[b]);
              g_print ("  %s, batch %2u: %8.2f texts/s\n", dtype_names[run], batches[b], rates[r][run][1][b]);
            }
          n_runs++;

          if (run == 0 && r == 0)
            {
              g_autofree float *out = g_new (float, (gsize) max_batch * vm_clip_model_get_projection_dim (model));

              g_setenv ("VIDMARK_GPU_PROFILE", "1", TRUE);
              for (guint pb = 0; pb < 2; pb++)
                {
                  guint nb = pb == 0 ? batches[0] : max_batch;

                  if (pb == 1 && nb == batches[0])
                    break;
                  g_printerr ("Profile of one batch of %u images (%s):\n", nb, dtype_names[run]);
                  if (!vm_clip_model_encode_images (model, images, nb, out, &error))
                    g_error ("encoding failed: %s", error->message);
                  g_printerr ("Profile of one batch of %u texts (%s):\n", nb, dtype_names[run]);
                  if (!vm_clip_model_encode_texts (model, (const char * const *) texts, nb, out, &error))
                    g_error ("encoding failed: %s", error->message);
                }
              g_setenv ("VIDMARK_GPU_PROFILE", "0", TRUE);
            }
        }
    }

  g_print ("\nDevice: %s (%s)\n", vm_gpu_device_get_info (device)->name,
           vm_gpu_device_get_info (device)->driver_name);
  if (torch != NULL && json_object_has_member (torch, "device"))
    g_print ("PyTorch %s, transformers %s, fp16 on %s\n", json_object_get_string_member (torch, "torch"),
             json_object_get_string_member (torch, "transformers"), json_object_get_string_member (torch, "device"));
  else if (torch != NULL && json_object_has_member (torch, "torch"))
    g_print ("PyTorch %s on the CPU, %" G_GINT64_FORMAT " threads, BLAS %s (%s)\n",
             json_object_get_string_member (torch, "torch"), json_object_get_int_member (torch, "threads"),
             blas_member (torch, "library") ? blas_member (torch, "library") : "unknown",
             blas_member (torch, "config") ? blas_member (torch, "config") : "no OpenBLAS");
  if (torch_tuned != NULL)
    g_print ("The same with OPENBLAS_CORETYPE=%s: core %s\n", coretype, blas_member (torch_tuned, "core"));
  compiled = torch != NULL && json_object_has_member (torch, "images_per_s_compiled");
  second = compiled || torch_tuned != NULL;
  for (guint run = 0; run < n_runs; run++)
    if (image1_ms[0][run] > 0)
      {
        double ms[MAX_ROUNDS];

        for (guint r = 0; r < n_rounds; r++)
          ms[r] = image1_ms[r][run];
        g_print ("Latency of one image (%s): %.3f ms median\n", dtype_names[run], median (ms, n_rounds));
      }
  if (torch != NULL && json_object_has_member (torch, "batch1_image_ms"))
    g_print ("Latency of one image (%s, eager): %.3f ms median\n", peer,
             json_object_get_double_member (torch, "batch1_image_ms"));
  if (n_rounds > 1)
    g_print ("\nMedians of %u rounds; each ratio is the median of the rounds' ratios (each round times both "
             "sides back to back).\n", n_rounds);
  g_print ("\n| what | batch | Vulkan | %s | ratio |", peer);
  if (second)
    g_print (" %s%s | ratio |", compiled ? peer : peer_tuned, compiled ? " compiled" : "");
  if (n_rounds > 1)
    g_print (" ratios per round |");
  g_print ("\n|---|---:|---:|---:|---:|%s%s\n", second ? "---:|---:|" : "", n_rounds > 1 ? "---|" : "");
  for (guint run = 0; run < n_runs; run++)
    for (guint kind = 0; kind < 2; kind++)
      for (guint b = 0; b < n_batches; b++)
        {
          double v[MAX_ROUNDS], t[2][MAX_ROUNDS], q[2][MAX_ROUNDS];
          g_autoptr(GString) per_round = g_string_new (NULL);

          for (guint r = 0; r < n_rounds; r++)
            {
              v[r] = rates[r][run][kind][b];
              for (guint p = 0; p < 2; p++)
                {
                  t[p][r] = peer_rates[r][p][kind][b];
                  q[p][r] = t[p][r] > 0 ? v[r] / t[p][r] : 0.0;
                }
              g_string_append_printf (per_round, "%s%.2f", r ? ", " : "", q[0][r]);
              if (second)
                g_string_append_printf (per_round, " / %.2f", q[1][r]);
            }
          g_print ("| %s/s, %s | %u | %.2f | %.2f | %.2fx |", kind == 0 ? "images" : "texts", dtype_names[run],
                   batches[b], median (v, n_rounds), median (t[0], n_rounds), median (q[0], n_rounds));
          if (second && median (t[1], n_rounds) > 0)
            g_print (" %.2f | %.2fx |", median (t[1], n_rounds), median (q[1], n_rounds));
          else if (second)
            g_print (" - | - |");
          if (n_rounds > 1)
            g_print (" %s |", per_round->str);
          g_print ("\n");
        }
  return 0;
}
