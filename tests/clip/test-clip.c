/* test-clip.c — the CLIP encoders against an independent reference.
 *
 * make-tiny-clip.py writes tiny random CLIP models in the Hugging Face
 * format with golden embeddings from a float64 numpy reimplementation
 * (PIL-exact preprocessing included).  Each model is loaded with fp32
 * weights and, where the device can, with fp16 storage, and its image and
 * text embeddings are compared with the golden ones: cosine and the largest
 * element error.  Runs with the Vulkan validation layer on.
 *
 * $VIDMARK_CLIP_EXTRA_MODEL=DIR adds the same checks for one more model
 * folder with its own golden.json (make-transformers-clip.py writes a
 * full-size ViT-B/32 with the `transformers` library as the reference).
 *
 * Usage: test-clip PYTHON make-tiny-clip.py [GTest options]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gpu/vm-gpu-buffer.h"
#include "model/vm-clip-model.h"
#include "model/vm-model-error.h"

#include "../vm-test-gpu.h"
#include "../vm-test-util.h"

/* Bounds: cosine to the reference, and the largest element error of a unit
 * embedding. */
#define COS_F32  0.9999
#define COS_F16  0.999
#define ERR_F32  1e-5
#define ERR_F16  5e-3
#define SAME_F32 1e-5
#define SAME_F16 1e-3

static VmGpuDevice *device;
static char *device_error;
static char *work_dir;
static const char *python;
static const char *script;

#define REQUIRE_DEVICE() VM_TEST_SKIP_UNLESS (device != NULL, device_error)

static void
assert_no_validation_messages (void)
{
  g_autoptr(GPtrArray) messages = vm_gpu_device_take_messages (device);

  for (guint i = 0; i < messages->len; i++)
    g_printerr ("# validation: %s\n", (char *) g_ptr_array_index (messages, i));
  g_assert_cmpuint (messages->len, ==, 0);
}

/* ---- golden data ------------------------------------------------------------ */

typedef struct {
  char         *dir;
  JsonParser   *parser;
  JsonObject   *root;
  guint         proj;
  guint         n_images;
  VmClipImage  *images;
  GPtrArray    *pixels;      /* image bytes */
  double       *image_embeds;
  guint         n_texts;
  char        **texts;
  guint         context;
  gint32       *text_ids;
  double       *text_embeds;
  double        logit_scale;
} Golden;

static double *
read_matrix (JsonObject *root,
             const char *member,
             guint       rows,
             guint       cols)
{
  JsonArray *outer = json_object_get_array_member (root, member);
  double *m = g_new (double, (gsize) rows * cols);

  g_assert_cmpuint (json_array_get_length (outer), ==, rows);
  for (guint i = 0; i < rows; i++)
    {
      JsonArray *row = json_array_get_array_element (outer, i);

      g_assert_cmpuint (json_array_get_length (row), ==, cols);
      for (guint j = 0; j < cols; j++)
        m[(gsize) i * cols + j] = json_array_get_double_element (row, j);
    }
  return m;
}

static Golden *
golden_load (const char *name)
{
  Golden *g = g_new0 (Golden, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  JsonArray *images, *texts, *ids;

  g->dir = g_path_is_absolute (name) ? g_strdup (name) : g_build_filename (work_dir, name, NULL);
  path = g_build_filename (g->dir, "golden.json", NULL);
  g->parser = json_parser_new ();
  json_parser_load_from_file (g->parser, path, &error);
  g_assert_no_error (error);
  g->root = json_node_get_object (json_parser_get_root (g->parser));
  g->proj = json_object_get_int_member (g->root, "projection_dim");
  g->logit_scale = json_object_get_double_member (g->root, "logit_scale");

  images = json_object_get_array_member (g->root, "images");
  g->n_images = json_array_get_length (images);
  g->images = g_new0 (VmClipImage, g->n_images);
  g->pixels = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < g->n_images; i++)
    {
      JsonObject *im = json_array_get_object_element (images, i);
      g_autofree char *file = g_build_filename (g->dir, json_object_get_string_member (im, "file"), NULL);
      char *data;
      gsize len;

      g_file_get_contents (file, &data, &len, &error);
      g_assert_no_error (error);
      g_ptr_array_add (g->pixels, data);
      g->images[i].data = (const guint8 *) data;
      g->images[i].width = json_object_get_int_member (im, "width");
      g->images[i].height = json_object_get_int_member (im, "height");
      g_assert_cmpuint (len, ==, (gsize) g->images[i].width * g->images[i].height * 3);
    }
  g->image_embeds = read_matrix (g->root, "image_embeds", g->n_images, g->proj);

  texts = json_object_get_array_member (g->root, "texts");
  g->n_texts = json_array_get_length (texts);
  g->texts = g_new0 (char *, g->n_texts + 1);
  for (guint i = 0; i < g->n_texts; i++)
    g->texts[i] = g_strdup (json_array_get_string_element (texts, i));
  ids = json_object_get_array_member (g->root, "text_ids");
  g->context = json_array_get_length (json_array_get_array_element (ids, 0));
  g->text_ids = g_new (gint32, (gsize) g->n_texts * g->context);
  for (guint i = 0; i < g->n_texts; i++)
    {
      JsonArray *row = json_array_get_array_element (ids, i);

      for (guint j = 0; j < g->context; j++)
        g->text_ids[(gsize) i * g->context + j] = json_array_get_int_element (row, j);
    }
  g->text_embeds = read_matrix (g->root, "text_embeds", g->n_texts, g->proj);
  return g;
}

static void
golden_free (Golden *g)
{
  g_free (g->dir);
  g_object_unref (g->parser);
  g_free (g->images);
  g_ptr_array_unref (g->pixels);
  g_free (g->image_embeds);
  g_strfreev (g->texts);
  g_free (g->text_ids);
  g_free (g->text_embeds);
  g_free (g);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Golden, golden_free)

/* Compares rows of @got with the reference; reports the worst cosine and
 * element error through @cos_min / @err_max. */
static void
compare (const char   *what,
         const float  *got,
         const double *want,
         guint         rows,
         guint         cols,
         double        cos_bound,
         double        err_bound)
{
  double cos_min = 1.0, err_max = 0.0;

  for (guint i = 0; i < rows; i++)
    {
      double dot = 0, ng = 0, nw = 0;

      for (guint j = 0; j < cols; j++)
        {
          double a = got[(gsize) i * cols + j], b = want[(gsize) i * cols + j];

          g_assert_true (isfinite (a));
          dot += a * b;
          ng += a * a;
          nw += b * b;
          err_max = MAX (err_max, fabs (a - b));
        }
      cos_min = MIN (cos_min, dot / sqrt (ng * nw));
      /* Unit length. */
      if (fabs (sqrt (ng) - 1.0) >= 1e-4)
        g_printerr ("# %s: row %u has norm %g\n", what, i, sqrt (ng));
      g_assert_cmpfloat (fabs (sqrt (ng) - 1.0), <, 1e-4);
    }
  g_test_message ("%s: min cosine %.9f (1 - %.3g), max element error %.3g", what, cos_min, 1.0 - cos_min,
                  err_max);
  g_assert_cmpfloat (cos_min, >=, cos_bound);
  g_assert_cmpfloat (err_max, <=, err_bound);
}

/* ---- the reference checks --------------------------------------------------------- */

/* Each of @n images encoded alone gives its row of @batch within @bound. */
static void
assert_batch_is_singles (VmClipModel        *model,
                         const VmClipImage  *images,
                         guint               n,
                         const float        *batch,
                         guint               proj,
                         double              bound)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *one = g_new (float, proj);

  for (guint i = 0; i < n; i++)
    {
      g_assert_true (vm_clip_model_encode_images (model, &images[i], 1, one, &error));
      g_assert_no_error (error);
      for (guint j = 0; j < proj; j++)
        g_assert_cmpfloat (fabs (one[j] - batch[(gsize) i * proj + j]), <=, bound);
    }
}

static void
check_model (const char *name,
             gboolean    f16)
{
  g_autoptr(Golden) g = golden_load (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autofree float *img = NULL;
  g_autofree float *txt = NULL;
  g_autofree float *tok = NULL;
  g_autofree gint32 *ids = NULL;
  double cos_bound = f16 ? COS_F16 : COS_F32;
  double err_bound = f16 ? ERR_F16 : ERR_F32;
  /* Batched against one at a time: the same arithmetic in another order
   * (other GEMM tiles), so rounding alone; with fp16 storage the products
   * also round activations to fp16 on GPUs with matrix units. */
  double same_bound = f16 ? SAME_F16 : SAME_F32;
  VmGpuMemoryStats before, after;

  if (f16 && !vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("this device has no 16-bit storage");
      return;
    }

  vm_gpu_device_get_memory_stats (device, &before);
  model = vm_clip_model_load (device, g->dir, f16 ? VM_CLIP_LOAD_DEFAULT : VM_CLIP_LOAD_FORCE_FP32, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);
  vm_gpu_device_get_memory_stats (device, &after);
  /* Weights come out of the large shared blocks, not one allocation per
   * tensor: one new block for a tiny model, about one per 64 MiB at most for
   * a full-size one. */
  {
    g_autofree char *weights = g_build_filename (g->dir, "model.safetensors", NULL);
    g_autoptr(GFile) file = g_file_new_for_path (weights);
    g_autoptr(GFileInfo) finfo = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, 0, NULL, NULL);

    g_assert_nonnull (finfo);
    g_assert_cmpuint (after.n_blocks, <=, before.n_blocks + 1 + g_file_info_get_size (finfo) / (64 << 20));
  }

  {
    g_autofree char *base = g_path_get_basename (g->dir);

    g_assert_cmpstr (vm_clip_model_get_name (model), ==, base);
  }
  g_assert_cmpuint (vm_clip_model_get_projection_dim (model), ==, g->proj);
  g_assert_cmpuint (vm_clip_model_get_context_length (model), ==, g->context);
  g_assert_true (vm_clip_model_uses_f16 (model) == f16);
  g_assert_cmpfloat (fabs (vm_clip_model_get_logit_scale (model) - g->logit_scale), <=, 1e-5 * g->logit_scale);

  /* Images: one batch of mixed sizes. */
  img = g_new (float, (gsize) g->n_images * g->proj);
  g_assert_true (vm_clip_model_encode_images (model, g->images, g->n_images, img, &error));
  g_assert_no_error (error);
  compare ("images", img, g->image_embeds, g->n_images, g->proj, cos_bound, err_bound);

  /* The same one at a time: batching changes nothing beyond rounding. */
  assert_batch_is_singles (model, g->images, g->n_images, img, g->proj, same_bound);

  /* A batch of 64, the images and texts repeated: on GPUs the products of
   * a full-size model then take the large-tile kernels. */
  {
    const guint big = 64;
    g_autofree VmClipImage *images = g_new (VmClipImage, big);
    g_autofree const char **texts = g_new (const char *, big);
    g_autofree float *out = g_new (float, (gsize) big * g->proj);
    g_autofree double *want = g_new (double, (gsize) big * g->proj);

    for (guint i = 0; i < big; i++)
      {
        images[i] = g->images[i % g->n_images];
        memcpy (want + (gsize) i * g->proj, g->image_embeds + (gsize) (i % g->n_images) * g->proj,
                g->proj * sizeof (double));
      }
    g_assert_true (vm_clip_model_encode_images (model, images, big, out, &error));
    g_assert_no_error (error);
    compare ("64 images", out, want, big, g->proj, cos_bound, err_bound);
    for (guint i = 0; i < big; i++)
      {
        texts[i] = g->texts[i % g->n_texts];
        memcpy (want + (gsize) i * g->proj, g->text_embeds + (gsize) (i % g->n_texts) * g->proj,
                g->proj * sizeof (double));
      }
    g_assert_true (vm_clip_model_encode_texts (model, texts, big, out, &error));
    g_assert_no_error (error);
    compare ("64 texts", out, want, big, g->proj, cos_bound, err_bound);
  }

  /* Texts: the tokenizer agrees with the reference's ids. */
  ids = g_new (gint32, g->context);
  for (guint i = 0; i < g->n_texts; i++)
    {
      vm_tokenizer_encode_padded (vm_clip_model_get_tokenizer (model), g->texts[i], ids, g->context);
      g_assert_cmpmem (ids, g->context * 4, g->text_ids + (gsize) i * g->context, g->context * 4);
    }
  txt = g_new (float, (gsize) g->n_texts * g->proj);
  g_assert_true (vm_clip_model_encode_texts (model, (const char * const *) g->texts, g->n_texts, txt, &error));
  g_assert_no_error (error);
  compare ("texts", txt, g->text_embeds, g->n_texts, g->proj, cos_bound, err_bound);

  /* From ids, one at a time (sequence lengths differ from the batch's). */
  tok = g_new (float, g->proj);
  for (guint i = 0; i < g->n_texts; i++)
    {
      g_assert_true (vm_clip_model_encode_tokens (model, g->text_ids + (gsize) i * g->context, 1, g->context,
                                                  tok, &error));
      g_assert_no_error (error);
      for (guint j = 0; j < g->proj; j++)
        g_assert_cmpfloat (fabs (tok[j] - txt[(gsize) i * g->proj + j]), <=, same_bound);
    }

  assert_no_validation_messages ();
}

static void
test_reference (gconstpointer data)
{
  const char *spec = data;
  g_auto(GStrv) parts = g_strsplit (spec, ":", 3);

  REQUIRE_DEVICE ();
  /* The engine's kernels, or those the model layer has for CPU drivers. */
  g_setenv ("VIDMARK_CLIP_KERNELS", parts[2], TRUE);
  check_model (parts[0], g_str_equal (parts[1], "f16"));
  g_unsetenv ("VIDMARK_CLIP_KERNELS");
}

/* A batch larger than one submission holds, with repeated frame sizes next
 * to each other (one preprocessing dispatch for several frames). */
static void
test_large_batch (void)
{
  g_autoptr(Golden) g = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autofree VmClipImage *images = NULL;
  g_autofree double *want = NULL;
  g_autofree float *got = NULL;
  const guint n = 300;

  REQUIRE_DEVICE ();
  g = golden_load ("tiny-quick-f32");
  model = vm_clip_model_load (device, g->dir, VM_CLIP_LOAD_FORCE_FP32, &error);
  g_assert_no_error (error);

  images = g_new (VmClipImage, n);
  want = g_new (double, (gsize) n * g->proj);
  for (guint i = 0; i < n; i++)
    {
      guint k = (i / 7) % g->n_images;

      images[i] = g->images[k];
      memcpy (want + (gsize) i * g->proj, g->image_embeds + (gsize) k * g->proj, g->proj * sizeof (double));
    }
  got = g_new (float, (gsize) n * g->proj);
  g_assert_true (vm_clip_model_encode_images (model, images, n, got, &error));
  g_assert_no_error (error);
  compare ("large image batch", got, want, n, g->proj, COS_F32, ERR_F32);

  /* Frames large enough to be packed into the upload by several threads
   * (40 × 320 × 240, 9.2 MB): each batch result equals that frame alone. */
  {
    const guint nf = 40, w = 320, h = 240;
    g_autoptr(GRand) rand = g_rand_new_with_seed (7);
    g_autofree guint8 *pixels = g_malloc ((gsize) nf * w * h * 3);
    g_autofree VmClipImage *frames = g_new (VmClipImage, nf);
    g_autofree float *batch = g_new (float, (gsize) nf * g->proj);

    for (gsize i = 0; i < (gsize) nf * w * h * 3; i++)
      pixels[i] = (guint8) g_rand_int_range (rand, 0, 256);
    for (guint i = 0; i < nf; i++)
      frames[i] = (VmClipImage) { .data = pixels + (gsize) i * w * h * 3, .width = w, .height = h };
    g_assert_true (vm_clip_model_encode_images (model, frames, nf, batch, &error));
    g_assert_no_error (error);
    assert_batch_is_singles (model, frames, nf, batch, g->proj, SAME_F32);
    /* Each single after the first, a frame of the same size: a replay. */
    g_assert_cmpuint (vm_clip_model_get_replays (model), >=, nf - 1);
  }
  assert_no_validation_messages ();
}

/* With a scratch pool, batches reuse the buffers the previous batch of the
 * same shape left behind, garbage included: the results must not change.
 * Images, then texts, then the images again in another order, then the
 * first batch once more, which must equal the first result bit for bit. */
static void
test_scratch_pool (gconstpointer data)
{
  g_autoptr(Golden) g = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autofree VmClipImage *reversed = NULL;
  g_autofree double *want_reversed = NULL;
  g_autofree float *first = NULL, *got = NULL, *texts = NULL;
  gboolean f16 = GPOINTER_TO_INT (data);
  VmGpuScratchPool *pool;
  guint64 bytes;
  guint reuses;

  REQUIRE_DEVICE ();
  if (f16 && !vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("no fp16 storage on this device");
      return;
    }
  g = golden_load (f16 ? "tiny-gelu-f16" : "tiny-quick-f32");
  /* Each batch recorded anew (no recorded passes kept: /clip/replay). */
  g_setenv ("VIDMARK_GPU_SCRATCH_POOL_MB", "512", TRUE);
  g_setenv ("VIDMARK_CLIP_PLAN_MB", "0", TRUE);
  model = vm_clip_model_load (device, g->dir, f16 ? VM_CLIP_LOAD_DEFAULT : VM_CLIP_LOAD_FORCE_FP32, &error);
  g_unsetenv ("VIDMARK_GPU_SCRATCH_POOL_MB");
  g_unsetenv ("VIDMARK_CLIP_PLAN_MB");
  g_assert_no_error (error);
  pool = vm_clip_model_get_scratch_pool (model);

  first = g_new (float, (gsize) g->n_images * g->proj);
  got = g_new (float, (gsize) g->n_images * g->proj);
  texts = g_new (float, (gsize) g->n_texts * g->proj);
  reversed = g_new (VmClipImage, g->n_images);
  want_reversed = g_new (double, (gsize) g->n_images * g->proj);
  for (guint i = 0; i < g->n_images; i++)
    {
      guint k = g->n_images - 1 - i;

      reversed[i] = g->images[k];
      memcpy (want_reversed + (gsize) i * g->proj, g->image_embeds + (gsize) k * g->proj, g->proj * sizeof (double));
    }

  g_assert_true (vm_clip_model_encode_images (model, g->images, g->n_images, first, &error));
  g_assert_no_error (error);
  vm_gpu_scratch_pool_get_stats (pool, &bytes, NULL);
  g_assert_cmpuint (bytes, >, 0);
  g_assert_true (vm_clip_model_encode_texts (model, (const char * const *) g->texts, g->n_texts, texts, &error));
  g_assert_no_error (error);
  compare ("texts after images", texts, g->text_embeds, g->n_texts, g->proj, f16 ? COS_F16 : COS_F32,
           f16 ? ERR_F16 : ERR_F32);
  g_assert_true (vm_clip_model_encode_images (model, reversed, g->n_images, got, &error));
  g_assert_no_error (error);
  compare ("images in another order", got, want_reversed, g->n_images, g->proj, f16 ? COS_F16 : COS_F32,
           f16 ? ERR_F16 : ERR_F32);
  g_assert_true (vm_clip_model_encode_images (model, g->images, g->n_images, got, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (got, (gsize) g->n_images * g->proj * sizeof (float),
                   first, (gsize) g->n_images * g->proj * sizeof (float));
  vm_gpu_scratch_pool_get_stats (pool, NULL, &reuses);
  g_assert_cmpuint (reuses, >, 0);
  g_assert_cmpuint (vm_clip_model_get_replays (model), ==, 0);
  assert_no_validation_messages ();
}

/* The model keeps at most 16 recorded passes (PLANS_MAX): after 20 text
 * shapes the first is recorded anew, the last replayed, and both give the
 * same embeddings as before. */
static void
test_replay_eviction (void)
{
  g_autoptr(Golden) g = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmClipModel) model = NULL;
  const guint n_shapes = 20;
  guint shapes[20][2];   /* sequences, positions */
  g_autofree gint32 *ids = NULL;
  g_autofree float *first = NULL, *again = NULL, *last = NULL;
  gint32 bos, eos = 0, filler;
  guint found = 0, replays;

  REQUIRE_DEVICE ();
  g = golden_load ("tiny-quick-f32");
  model = vm_clip_model_load (device, g->dir, VM_CLIP_LOAD_FORCE_FP32, &error);
  g_assert_no_error (error);

  /* Sequences of L positions: start, a repeated word, end (the highest id,
   * as CLIP's end token is in both tiny vocabularies). */
  bos = g->text_ids[0];
  filler = g->text_ids[1];
  for (guint j = 0; j < g->context; j++)
    eos = MAX (eos, g->text_ids[j]);
  g_assert_cmpint (filler, !=, eos);
  for (guint L = 2; L <= g->context && found < n_shapes; L++)
    for (guint n = 1; n <= 3 && found < n_shapes; n++)
      {
        shapes[found][0] = n;
        shapes[found][1] = L;
        found++;
      }
  g_assert_cmpuint (found, ==, n_shapes);

  ids = g_new0 (gint32, (gsize) 3 * g->context);
  first = g_new (float, 3 * g->proj);
  again = g_new (float, 3 * g->proj);
  last = g_new (float, 3 * g->proj);
  for (guint s = 0; s <= n_shapes + 1; s++)
    {
      guint k = s < n_shapes ? s : (s == n_shapes ? 0 : n_shapes - 1);
      guint n = shapes[k][0], L = shapes[k][1];
      float *out = s == 0 ? first : s == n_shapes ? again : s == n_shapes + 1 ? last : again;

      memset (ids, 0, (gsize) 3 * g->context * sizeof (gint32));
      for (guint i = 0; i < n; i++)
        {
          gint32 *row = ids + (gsize) i * g->context;

          row[0] = bos;
          for (guint j = 1; j + 1 < L; j++)
            row[j] = filler;
          row[L - 1] = eos;
        }
      replays = vm_clip_model_get_replays (model);
      g_assert_true (vm_clip_model_encode_tokens (model, ids, n, g->context, out, &error));
      g_assert_no_error (error);
      if (s < n_shapes)
        g_assert_cmpuint (vm_clip_model_get_replays (model), ==, replays);
      else if (s == n_shapes)
        {
          /* The first shape, long evicted: recorded again, the same result. */
          g_assert_cmpuint (vm_clip_model_get_replays (model), ==, replays);
          g_assert_cmpmem (again, (gsize) n * g->proj * sizeof (float), first, (gsize) n * g->proj * sizeof (float));
        }
      else
        g_assert_cmpuint (vm_clip_model_get_replays (model), ==, replays + 1);
    }
  assert_no_validation_messages ();
}

typedef struct {
  VmClipModel       *model;
  const VmClipImage *image;
  const gint32      *ids;
  guint              context;
  float             *image_out;
  float             *text_out;
  guint              rounds;
} ReplayJob;

static gpointer
replay_job (gpointer data)
{
  ReplayJob *job = data;

  for (guint r = 0; r < job->rounds; r++)
    if (!vm_clip_model_encode_images (job->model, job->image, 1, job->image_out + (gsize) r * 64, NULL) ||
        !vm_clip_model_encode_tokens (job->model, job->ids, 1, job->context, job->text_out + (gsize) r * 64, NULL))
      return GINT_TO_POINTER (FALSE);
  return GINT_TO_POINTER (TRUE);
}

/* Recorded passes: a batch of a shape seen before is submitted again with
 * new inputs, and must give what recording it anew gives.  The same batch
 * again (bit for bit), batches of the same shape with other contents
 * (frames of equal size swapped, texts reversed: same number of positions),
 * texts one by one (a shape each), and two threads at once. */
static void
test_replay (gconstpointer data)
{
  g_autoptr(Golden) g = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autoptr(VmClipModel) fresh = NULL;
  g_autofree VmClipImage *swapped = NULL;
  g_autofree double *want = NULL;
  g_autofree float *first = NULL, *got = NULL, *texts = NULL, *fresh_out = NULL;
  g_autofree gint32 *reversed = NULL;
  gboolean f16 = GPOINTER_TO_INT (data);
  VmClipLoadFlags flags = f16 ? VM_CLIP_LOAD_DEFAULT : VM_CLIP_LOAD_FORCE_FP32;
  double cos = f16 ? COS_F16 : COS_F32, err = f16 ? ERR_F16 : ERR_F32;
  guint a = G_MAXUINT, b = G_MAXUINT, replays;

  REQUIRE_DEVICE ();
  if (f16 && !vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("no fp16 storage on this device");
      return;
    }
  g = golden_load (f16 ? "tiny-gelu-f16" : "tiny-quick-f32");
  model = vm_clip_model_load (device, g->dir, flags, &error);
  g_assert_no_error (error);
  g_setenv ("VIDMARK_CLIP_PLAN_MB", "0", TRUE);
  fresh = vm_clip_model_load (device, g->dir, flags, &error);
  g_unsetenv ("VIDMARK_CLIP_PLAN_MB");
  g_assert_no_error (error);
  g_assert_cmpuint (g->proj, <=, 64);

  first = g_new (float, (gsize) g->n_images * g->proj);
  got = g_new (float, (gsize) g->n_images * g->proj);
  fresh_out = g_new (float, (gsize) MAX (g->n_images, g->n_texts) * g->proj);
  g_assert_true (vm_clip_model_encode_images (model, g->images, g->n_images, first, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_clip_model_get_replays (model), ==, 0);
  g_assert_true (vm_clip_model_encode_images (model, g->images, g->n_images, got, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_clip_model_get_replays (model), ==, 1);
  g_assert_cmpmem (got, (gsize) g->n_images * g->proj * sizeof (float),
                   first, (gsize) g->n_images * g->proj * sizeof (float));

  /* Two frames of the same size trade places: the same shape. */
  for (guint i = 0; i < g->n_images && b == G_MAXUINT; i++)
    for (guint j = i + 1; j < g->n_images; j++)
      if (g->images[i].width == g->images[j].width && g->images[i].height == g->images[j].height &&
          memcmp (g->image_embeds + (gsize) i * g->proj, g->image_embeds + (gsize) j * g->proj,
                  g->proj * sizeof (double)) != 0)
        {
          a = i;
          b = j;
          break;
        }
  g_assert_cmpuint (b, !=, G_MAXUINT);
  swapped = g_memdup2 (g->images, g->n_images * sizeof (VmClipImage));
  want = g_memdup2 (g->image_embeds, (gsize) g->n_images * g->proj * sizeof (double));
  swapped[a] = g->images[b];
  swapped[b] = g->images[a];
  memcpy (want + (gsize) a * g->proj, g->image_embeds + (gsize) b * g->proj, g->proj * sizeof (double));
  memcpy (want + (gsize) b * g->proj, g->image_embeds + (gsize) a * g->proj, g->proj * sizeof (double));
  g_assert_true (vm_clip_model_encode_images (model, swapped, g->n_images, got, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_clip_model_get_replays (model), ==, 2);
  compare ("images swapped, replayed", got, want, g->n_images, g->proj, cos, err);
  g_assert_true (vm_clip_model_encode_images (fresh, swapped, g->n_images, fresh_out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (got, (gsize) g->n_images * g->proj * sizeof (float),
                   fresh_out, (gsize) g->n_images * g->proj * sizeof (float));

  /* Texts: the batch, then reversed (the same longest text: a replay). */
  texts = g_new (float, (gsize) g->n_texts * g->proj);
  reversed = g_new (gint32, (gsize) g->n_texts * g->context);
  g_free (want);
  want = g_new (double, (gsize) g->n_texts * g->proj);
  for (guint i = 0; i < g->n_texts; i++)
    {
      guint k = g->n_texts - 1 - i;

      memcpy (reversed + (gsize) i * g->context, g->text_ids + (gsize) k * g->context, g->context * sizeof (gint32));
      memcpy (want + (gsize) i * g->proj, g->text_embeds + (gsize) k * g->proj, g->proj * sizeof (double));
    }
  g_assert_true (vm_clip_model_encode_tokens (model, g->text_ids, g->n_texts, g->context, texts, &error));
  g_assert_no_error (error);
  replays = vm_clip_model_get_replays (model);
  g_assert_true (vm_clip_model_encode_tokens (model, reversed, g->n_texts, g->context, texts, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vm_clip_model_get_replays (model), ==, replays + 1);
  compare ("texts reversed, replayed", texts, want, g->n_texts, g->proj, cos, err);
  g_assert_true (vm_clip_model_encode_tokens (fresh, reversed, g->n_texts, g->context, fresh_out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (texts, (gsize) g->n_texts * g->proj * sizeof (float),
                   fresh_out, (gsize) g->n_texts * g->proj * sizeof (float));

  /* One by one, twice: the second round replays every shape. */
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < g->n_texts; i++)
      {
        g_assert_true (vm_clip_model_encode_tokens (model, g->text_ids + (gsize) i * g->context, 1, g->context,
                                                    texts + (gsize) i * g->proj, &error));
        g_assert_no_error (error);
      }
  compare ("texts one by one, replayed", texts, g->text_embeds, g->n_texts, g->proj, cos, err);

  /* Two threads, each its own frame and text, taking turns with the plans
   * of the same shapes. */
  {
    const guint rounds = 8;
    ReplayJob jobs[2];
    GThread *threads[2];

    for (guint t = 0; t < 2; t++)
      {
        jobs[t] = (ReplayJob) { model, &g->images[t == 0 ? a : b], g->text_ids + (gsize) t * g->context, g->context,
                                g_new (float, (gsize) rounds * 64), g_new (float, (gsize) rounds * 64), rounds };
        threads[t] = g_thread_new ("replay", replay_job, &jobs[t]);
      }
    for (guint t = 0; t < 2; t++)
      {
        g_autofree double *img_want = g_new (double, (gsize) rounds * g->proj);
        g_autofree double *txt_want = g_new (double, (gsize) rounds * g->proj);
        g_autofree float *img_got = g_new (float, (gsize) rounds * g->proj);
        g_autofree float *txt_got = g_new (float, (gsize) rounds * g->proj);

        g_assert_true (GPOINTER_TO_INT (g_thread_join (threads[t])));
        for (guint r = 0; r < rounds; r++)
          {
            memcpy (img_want + (gsize) r * g->proj, g->image_embeds + (gsize) (t == 0 ? a : b) * g->proj,
                    g->proj * sizeof (double));
            memcpy (txt_want + (gsize) r * g->proj, g->text_embeds + (gsize) t * g->proj, g->proj * sizeof (double));
            memcpy (img_got + (gsize) r * g->proj, jobs[t].image_out + (gsize) r * 64, g->proj * sizeof (float));
            memcpy (txt_got + (gsize) r * g->proj, jobs[t].text_out + (gsize) r * 64, g->proj * sizeof (float));
          }
        compare ("images from two threads", img_got, img_want, rounds, g->proj, cos, err);
        compare ("texts from two threads", txt_got, txt_want, rounds, g->proj, cos, err);
        g_free (jobs[t].image_out);
        g_free (jobs[t].text_out);
      }
  }
  g_assert_cmpuint (vm_clip_model_get_replays (fresh), ==, 0);
  assert_no_validation_messages ();
}

/* Copies a model folder, replacing config.json. */
static char *
copy_model (const char *name,
            const char *new_name,
            const char *config)
{
  g_autofree char *src = g_build_filename (work_dir, name, NULL);
  char *dst = g_build_filename (work_dir, new_name, NULL);
  const char *files[] = { "model.safetensors", "vocab.json", "merges.txt", "config.json" };

  g_mkdir_with_parents (dst, 0755);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (dst, files[i], NULL);
      g_autofree char *data = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (from, &data, &len, NULL));
      if (config != NULL && g_str_equal (files[i], "config.json"))
        g_assert_true (g_file_set_contents (to, config, -1, NULL));
      else
        g_assert_true (g_file_set_contents (to, data, len, NULL));
    }
  return dst;
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autofree char *missing = g_build_filename (work_dir, "no-such-model", NULL);
  g_autofree char *more_layers = NULL;
  g_autofree char *wider = NULL;
  g_autofree char *good = g_build_filename (work_dir, "tiny-quick-f32", NULL);
  float out[64];
  gint32 ids[77] = { 0 };
  const char *text = "a cat";
  VmClipImage empty = { NULL, 0, 0, 0 };

  REQUIRE_DEVICE ();

  model = vm_clip_model_load (device, missing, 0, &error);
  g_assert_null (model);
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A fourth vision layer the weights lack. */
  more_layers = copy_model ("tiny-quick-f32", "more-layers",
                            "{\"projection_dim\": 24, \"text_config\": {\"hidden_size\": 36,"
                            " \"intermediate_size\": 60, \"num_hidden_layers\": 3, \"num_attention_heads\": 3,"
                            " \"vocab_size\": 623}, \"vision_config\": {\"hidden_size\": 40, \"intermediate_size\": 72,"
                            " \"num_hidden_layers\": 4, \"num_attention_heads\": 5, \"image_size\": 35,"
                            " \"patch_size\": 7}}");
  model = vm_clip_model_load (device, more_layers, 0, &error);
  g_assert_null (model);
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "vision_model.encoder.layers.3."));
  g_clear_error (&error);

  /* Sizes that do not match the tensors. */
  wider = copy_model ("tiny-quick-f32", "wider",
                      "{\"projection_dim\": 24, \"text_config\": {\"hidden_size\": 36,"
                      " \"intermediate_size\": 60, \"num_hidden_layers\": 3, \"num_attention_heads\": 3,"
                      " \"vocab_size\": 623}, \"vision_config\": {\"hidden_size\": 40, \"intermediate_size\": 80,"
                      " \"num_hidden_layers\": 3, \"num_attention_heads\": 5, \"image_size\": 35,"
                      " \"patch_size\": 7}}");
  model = vm_clip_model_load (device, wider, 0, &error);
  g_assert_null (model);
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE);
  g_clear_error (&error);

  /* The vision tower alone: texts are refused, images work. */
  model = vm_clip_model_load (device, good, VM_CLIP_LOAD_NO_TEXT, &error);
  g_assert_no_error (error);
  /* The default storage: fp16 where the device reads it. */
  g_assert_true (vm_clip_model_uses_f16 (model) == vm_gpu_device_supports_f16 (device));
  g_assert_false (vm_clip_model_has_text (model));
  g_assert_null (vm_clip_model_get_tokenizer (model));
  g_assert_false (vm_clip_model_encode_texts (model, &text, 1, out, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (vm_clip_model_encode_images (model, &empty, 1, out, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE);
  g_clear_error (&error);
  g_clear_pointer (&model, vm_clip_model_unref);

  /* Bad token sequences. */
  model = vm_clip_model_load (device, good, VM_CLIP_LOAD_NO_VISION, &error);
  g_assert_no_error (error);
  g_assert_false (vm_clip_model_has_vision (model));
  ids[0] = 621;
  ids[1] = 100000;
  g_assert_false (vm_clip_model_encode_tokens (model, ids, 1, 77, out, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER);
  g_clear_error (&error);
  ids[1] = 5;
  g_assert_false (vm_clip_model_encode_tokens (model, ids, 1, 78, out, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE);
  g_clear_error (&error);
  /* Zero inputs: nothing to do. */
  g_assert_true (vm_clip_model_encode_texts (model, NULL, 0, NULL, &error));
  g_assert_no_error (error);
  assert_no_validation_messages ();
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *cache_dir = NULL;
  int ret;

  if (!vm_test_take_script_args (&argc, &argv, &python, &script))
    g_error ("usage: %s PYTHON make-tiny-clip.py", argv[0]);

  cache_dir = vm_test_set_xdg_dirs ("vm-clip-cache-XXXXXX");
  g_test_init (&argc, &argv, NULL);

  device = vm_test_open_device (FALSE, &device_error);

  work_dir = g_dir_make_tmp ("vm-clip-XXXXXX", NULL);
  if (device != NULL)
    vm_test_make_tiny_clip (python, script, work_dir);

  for (guint k = 0; k < 2; k++)
    {
      const char *kernels = k == 0 ? "gpu" : "cpu";
      const char *models[][2] = { { "quick-gelu-f32-weights", "tiny-quick-f32" },
                                  { "gelu-f16-weights", "tiny-gelu-f16" } };

      for (guint m = 0; m < G_N_ELEMENTS (models); m++)
        for (guint d = 0; d < 2; d++)
          {
            const char *dtype = d == 0 ? "f32" : "f16";
            char *path = g_strdup_printf ("/clip/reference/%s-kernels/%s/%s", kernels, models[m][0],
                                          d == 0 ? "fp32" : "fp16");
            char *spec = g_strdup_printf ("%s:%s:%s", models[m][1], dtype, kernels);

            g_test_add_data_func_full (path, spec, test_reference, g_free);
            g_free (path);
          }
    }
  if (g_getenv ("VIDMARK_CLIP_EXTRA_MODEL") != NULL)
    for (guint d = 0; d < 2; d++)
      g_test_add_data_func_full (d == 0 ? "/clip/reference/extra/fp32" : "/clip/reference/extra/fp16",
                                 g_strdup_printf ("%s:%s:gpu", g_getenv ("VIDMARK_CLIP_EXTRA_MODEL"),
                                                  d == 0 ? "f32" : "f16"),
                                 test_reference, g_free);
  g_test_add_func ("/clip/large-batch", test_large_batch);
  g_test_add_data_func ("/clip/scratch-pool/fp32", GINT_TO_POINTER (FALSE), test_scratch_pool);
  g_test_add_data_func ("/clip/scratch-pool/fp16", GINT_TO_POINTER (TRUE), test_scratch_pool);
  g_test_add_data_func ("/clip/replay/fp32", GINT_TO_POINTER (FALSE), test_replay);
  g_test_add_data_func ("/clip/replay/fp16", GINT_TO_POINTER (TRUE), test_replay);
  g_test_add_func ("/clip/replay/eviction", test_replay_eviction);
  g_test_add_func ("/clip/errors", test_errors);

  ret = g_test_run ();
  g_clear_pointer (&device, vm_gpu_device_unref);
  vm_test_remove_tree (work_dir);
  vm_test_remove_tree (cache_dir);
  g_free (work_dir);
  g_free (device_error);
  return ret;
}
