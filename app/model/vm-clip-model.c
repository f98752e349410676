/* vm-clip-model.c — CLIP's vision and text encoders on the gpu layer.
 *
 * Weights: one GPU buffer per transformer layer (and one for each tower's
 * embeddings), all carved from the gpu layer's large memory blocks.  Within
 * a layer the q, k and v projections are stored back to back, so a single
 * GEMM yields the packed [tokens][3·D] QKV that the attention kernel reads.
 *
 * Activations live in graph scratch buffers; the residual stream ping-pongs
 * between two of them.  A batch's graph is recorded once per shape and kept
 * (a plan, below) with its buffers; inputs and embeddings pass through
 * memory it maps.  The text tower only runs as many positions as the
 * longest sequence of the batch needs: with the causal mask, the end
 * token's row never sees the padding after it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>
#include <inttypes.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "gpu/vm-gpu-kernels.h"
#include "model/vm-clip-model.h"
#include "model/vm-model-error.h"
#include "model/vm-model-json-private.h"
#include "model/vm-model-store.h"
#include "model/vm-safetensors.h"

#define WEIGHT_ALIGN 256
/* Activation memory one submission may use (at least; a 32nd of the
 * largest device-local heap where that is more); bigger batches are split. */
#define CHUNK_BYTES ((guint64) 384 << 20)
#define MAX_CHUNK 256
/* CPU drivers: submissions short enough to stay far from the timeout. */
#define MAX_CHUNK_CPU 64
#define SUBMIT_TIMEOUT_NS (G_GUINT64_CONSTANT (600) * G_TIME_SPAN_SECOND * 1000)

/* ---- the token embedding kernel (shaders/clip-token-embed.comp) ------------- */

typedef struct {
  guint32 n_tokens, dim, vocab, ids_off;
  guint32 tok_off, pos_off, out_off, pad;
} TokenEmbedPush;

G_STATIC_ASSERT (sizeof (TokenEmbedPush) == 32);

static const VmGpuPipelineDesc token_embed_f32_desc = {
  "clip_token_embed_f32", 4, sizeof (TokenEmbedPush), { 64, 1, 1 }
};
static const VmGpuPipelineDesc token_embed_f16_desc = {
  "clip_token_embed_f16", 4, sizeof (TokenEmbedPush), { 64, 1, 1 }
};

/* ---- kernels for CPU Vulkan drivers (shaders/clip-im2col.comp) -------------------- */

typedef struct {
  guint32 size, patch, side, cols;
} Im2colPush;

static const VmGpuPipelineDesc im2col_desc = {
  "clip_im2col_f32", 2, sizeof (Im2colPush), { 64, 1, 1 }
};
/* Image size and patch multiples of 4: 4 columns per invocation, texel reads. */
static const VmGpuPipelineDesc im2col_texel_desc = {
  "clip_im2col_texel_f32", 2, sizeof (Im2colPush), { 64, 1, 1 }, 1u << 0
};

/* ---- the model ------------------------------------------------------------- */

typedef struct {
  VmGpuBuffer *buffer;
  guint64      qkv_w, qkv_b, o_w, o_b;
  guint64      ln1_g, ln1_b, ln2_g, ln2_b;
  guint64      fc1_w, fc1_b, fc2_w, fc2_b;
} Layer;

typedef struct {
  guint          dim, heads, inter, n_layers;
  float          eps;
  VmGpuEpilogue  act;
  Layer         *layers;
  VmGpuBuffer   *embed;         /* embeddings, norms and projection */
  guint64        proj;          /* [projection][dim] */
  guint64        post_g, post_b;/* post_layernorm / final_layer_norm */
  /* vision */
  guint64        patch, cls, pos, pre_g, pre_b;
  /* text: the token table and positions sit at the start of @tokens */
  VmGpuBuffer   *tokens;
  guint64        tok_pos;
} Tower;

struct _VmClipModel {
  gint                    ref_count;
  VmGpuDevice            *device;
  char                   *name;
  char                   *digest;
  VmClipConfig            config;
  VmClipPreprocessConfig  pre;
  float                   mean[3];
  float                   std[3];
  VmGpuDType              dtype;
  gboolean                cpu_kernels;   /* the kernels written for llvmpipe */
  VmGpuScratchPool       *scratch_pool;  /* activations kept between batches */
  GMutex                  plan_lock;
  GQueue                  plans;         /* Plan*, most recently used first */
  guint64                 plan_bytes;
  guint64                 plan_budget;
  guint                   replays;
  float                   logit_scale;
  VmTokenizer            *tokenizer;
  gboolean                has_vision, has_text;
  Tower                   vision;
  Tower                   text;
};

/* ---- loading ----------------------------------------------------------------- */

/* Collects tensors, converted to the compute dtype, into one host array that
 * becomes one GPU buffer. */
typedef struct {
  VmSafetensors *st;
  VmGpuDType     dtype;
  GByteArray    *host;
} Packer;

static gsize
dtype_size (VmGpuDType dtype)
{
  return dtype == VM_GPU_F16 ? 2 : 4;
}

/* Appends tensor @name of the given shape; @align FALSE packs it right after
 * the previous one (to build the fused QKV). */
static gboolean
pack (Packer         *p,
      const char     *name,
      guint           n_dims,
      const guint64  *shape,
      gboolean        align,
      guint64        *offset,
      GError        **error)
{
  const VmTensor *t = vm_safetensors_require (p->st, name, error);
  gsize at, bytes;

  if (t == NULL || !vm_tensor_check_shape (t, n_dims, shape, error))
    return FALSE;
  at = p->host->len;
  if (align)
    at = (at + WEIGHT_ALIGN - 1) / WEIGHT_ALIGN * WEIGHT_ALIGN;
  bytes = t->n_elements * dtype_size (p->dtype);
  g_byte_array_set_size (p->host, at + bytes);
  if (p->dtype == VM_GPU_F16)
    {
      if (!vm_tensor_copy_f16 (t, (guint16 *) (p->host->data + at), error))
        return FALSE;
    }
  else if (!vm_tensor_copy_f32 (t, (float *) (p->host->data + at), error))
    return FALSE;
  if (offset != NULL)
    *offset = at;
  return TRUE;
}

#define SHAPE(...) (const guint64[]) { __VA_ARGS__ }
#define PACK1(p, name, a, al, off, err) pack (p, name, 1, SHAPE (a), al, off, err)
#define PACK2(p, name, a, b, al, off, err) pack (p, name, 2, SHAPE (a, b), al, off, err)

static VmGpuBuffer *
upload_packed (VmGpuDevice  *device,
               Packer       *p,
               GError      **error)
{
  VmGpuBuffer *buffer;

  g_byte_array_set_size (p->host, MAX (p->host->len, 16));
  buffer = vm_gpu_buffer_new_from_data (device, p->host->data, p->host->len, error);
  g_byte_array_set_size (p->host, 0);
  return buffer;
}

static gboolean
load_layers (VmClipModel  *self,
             Packer       *p,
             Tower        *tower,
             const char   *prefix,
             GError      **error)
{
  guint64 d = tower->dim, i = tower->inter;

  tower->layers = g_new0 (Layer, tower->n_layers);
  for (guint l = 0; l < tower->n_layers; l++)
    {
      Layer *layer = &tower->layers[l];
      g_autofree char *base = g_strdup_printf ("%s.encoder.layers.%u.", prefix, l);
#define NAME(s) (g_snprintf (name, sizeof name, "%s%s", base, s), name)
      char name[256];

      if (!PACK2 (p, NAME ("self_attn.q_proj.weight"), d, d, TRUE, &layer->qkv_w, error) ||
          !PACK2 (p, NAME ("self_attn.k_proj.weight"), d, d, FALSE, NULL, error) ||
          !PACK2 (p, NAME ("self_attn.v_proj.weight"), d, d, FALSE, NULL, error) ||
          !PACK1 (p, NAME ("self_attn.q_proj.bias"), d, TRUE, &layer->qkv_b, error) ||
          !PACK1 (p, NAME ("self_attn.k_proj.bias"), d, FALSE, NULL, error) ||
          !PACK1 (p, NAME ("self_attn.v_proj.bias"), d, FALSE, NULL, error) ||
          !PACK2 (p, NAME ("self_attn.out_proj.weight"), d, d, TRUE, &layer->o_w, error) ||
          !PACK1 (p, NAME ("self_attn.out_proj.bias"), d, TRUE, &layer->o_b, error) ||
          !PACK1 (p, NAME ("layer_norm1.weight"), d, TRUE, &layer->ln1_g, error) ||
          !PACK1 (p, NAME ("layer_norm1.bias"), d, TRUE, &layer->ln1_b, error) ||
          !PACK1 (p, NAME ("layer_norm2.weight"), d, TRUE, &layer->ln2_g, error) ||
          !PACK1 (p, NAME ("layer_norm2.bias"), d, TRUE, &layer->ln2_b, error) ||
          !PACK2 (p, NAME ("mlp.fc1.weight"), i, d, TRUE, &layer->fc1_w, error) ||
          !PACK1 (p, NAME ("mlp.fc1.bias"), i, TRUE, &layer->fc1_b, error) ||
          !PACK2 (p, NAME ("mlp.fc2.weight"), d, i, TRUE, &layer->fc2_w, error) ||
          !PACK1 (p, NAME ("mlp.fc2.bias"), d, TRUE, &layer->fc2_b, error))
        return FALSE;
#undef NAME
      layer->buffer = upload_packed (self->device, p, error);
      if (layer->buffer == NULL)
        return FALSE;
    }
  return TRUE;
}

static VmGpuEpilogue
epilogue_for (VmActivation act)
{
  return act == VM_ACTIVATION_GELU ? VM_GPU_EPILOGUE_GELU : VM_GPU_EPILOGUE_QUICK_GELU;
}

static gboolean
check_heads (const char  *tower,
             guint        dim,
             guint        heads,
             GError     **error)
{
  if (heads == 0 || dim % heads != 0 || dim / heads > 128)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("The %s tower's attention heads of %u values are not supported (at most 128)"),
                   tower, heads ? dim / heads : 0);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_vision (VmClipModel  *self,
             Packer       *p,
             GError      **error)
{
  const VmClipVisionConfig *c = &self->config.vision;
  Tower *t = &self->vision;
  guint64 d = c->hidden_size, pz = c->patch_size;
  guint64 n_pos = vm_clip_vision_config_get_n_positions (c);

  if (c->num_channels != 3)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("Vision models with %u channels are not supported (only RGB)"), c->num_channels);
      return FALSE;
    }
  if (!check_heads ("vision", c->hidden_size, c->num_attention_heads, error))
    return FALSE;
  t->dim = c->hidden_size;
  t->heads = c->num_attention_heads;
  t->inter = c->intermediate_size;
  t->n_layers = c->num_hidden_layers;
  t->eps = (float) c->layer_norm_eps;
  t->act = epilogue_for (c->hidden_act);

  if (!pack (p, "vision_model.embeddings.patch_embedding.weight", 4, SHAPE (d, 3, pz, pz), TRUE, &t->patch, error) ||
      !PACK1 (p, "vision_model.embeddings.class_embedding", d, TRUE, &t->cls, error) ||
      !PACK2 (p, "vision_model.embeddings.position_embedding.weight", n_pos, d, TRUE, &t->pos, error) ||
      !PACK1 (p, "vision_model.pre_layrnorm.weight", d, TRUE, &t->pre_g, error) ||
      !PACK1 (p, "vision_model.pre_layrnorm.bias", d, TRUE, &t->pre_b, error) ||
      !PACK1 (p, "vision_model.post_layernorm.weight", d, TRUE, &t->post_g, error) ||
      !PACK1 (p, "vision_model.post_layernorm.bias", d, TRUE, &t->post_b, error) ||
      !PACK2 (p, "visual_projection.weight", self->config.projection_dim, d, TRUE, &t->proj, error))
    return FALSE;
  t->embed = upload_packed (self->device, p, error);
  return t->embed != NULL && load_layers (self, p, t, "vision_model", error);
}

static gboolean
load_text (VmClipModel  *self,
           Packer       *p,
           GError      **error)
{
  const VmClipTextConfig *c = &self->config.text;
  Tower *t = &self->text;
  guint64 d = c->hidden_size;

  if (!check_heads ("text", c->hidden_size, c->num_attention_heads, error))
    return FALSE;
  if (vm_tokenizer_get_vocab_size (self->tokenizer) > c->vocab_size)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("The tokenizer knows %u tokens but the model only %u"),
                   vm_tokenizer_get_vocab_size (self->tokenizer), c->vocab_size);
      return FALSE;
    }
  t->dim = c->hidden_size;
  t->heads = c->num_attention_heads;
  t->inter = c->intermediate_size;
  t->n_layers = c->num_hidden_layers;
  t->eps = (float) c->layer_norm_eps;
  t->act = epilogue_for (c->hidden_act);

  if (!PACK2 (p, "text_model.embeddings.token_embedding.weight", c->vocab_size, d, FALSE, NULL, error) ||
      !PACK2 (p, "text_model.embeddings.position_embedding.weight", c->max_position_embeddings, d, TRUE,
              &t->tok_pos, error))
    return FALSE;
  t->tokens = upload_packed (self->device, p, error);
  if (t->tokens == NULL)
    return FALSE;

  if (!PACK1 (p, "text_model.final_layer_norm.weight", d, TRUE, &t->post_g, error) ||
      !PACK1 (p, "text_model.final_layer_norm.bias", d, TRUE, &t->post_b, error) ||
      !PACK2 (p, "text_projection.weight", self->config.projection_dim, d, TRUE, &t->proj, error))
    return FALSE;
  t->embed = upload_packed (self->device, p, error);
  return t->embed != NULL && load_layers (self, p, t, "text_model", error);
}

/* The preprocessing the GPU kernel does: shortest side → resize, square
 * centre crop of image_size, v/255 then (v - mean)/std.  Other rescale
 * factors fold into mean and std. */
static gboolean
setup_preprocessing (VmClipModel  *self,
                     const char   *dir,
                     GError      **error)
{
  VmClipPreprocessConfig *pre = &self->pre;
  guint size = self->config.vision.image_size;
  double r;

  if (!vm_clip_preprocess_config_load_dir (dir, size, pre, error))
    return FALSE;
  if (!pre->do_resize || !pre->do_center_crop || pre->resample != 3 ||
      pre->crop_width != size || pre->crop_height != size || pre->shortest_edge < size)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("Unsupported image preprocessing: only a bicubic resize and a centre crop to %u×%u are"
                     " implemented"), size, size);
      return FALSE;
    }
  r = pre->do_rescale ? pre->rescale_factor * 255.0 : 255.0;
  for (guint c = 0; c < 3; c++)
    {
      double mean = pre->do_normalize ? pre->image_mean[c] : 0.0;
      double std = pre->do_normalize ? pre->image_std[c] : 1.0;

      if (!(std > 0.0) || !(r > 0.0))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                       _("Invalid image normalisation in preprocessor_config.json"));
          return FALSE;
        }
      self->mean[c] = (float) (mean / r);
      self->std[c] = (float) (std / r);
    }
  return TRUE;
}

static void
tower_clear (Tower *t)
{
  if (t->layers != NULL)
    for (guint l = 0; l < t->n_layers; l++)
      g_clear_pointer (&t->layers[l].buffer, vm_gpu_buffer_unref);
  g_clear_pointer (&t->layers, g_free);
  g_clear_pointer (&t->embed, vm_gpu_buffer_unref);
  g_clear_pointer (&t->tokens, vm_gpu_buffer_unref);
}

/* What identifies the weights: the SHA-256 of model.safetensors that the
 * manifest recorded at install or import, else the file's size and time. */
/* ---- recorded passes ------------------------------------------------------- */

/* A forward pass recorded for one shape of batch and submitted again for
 * each batch of that shape: recording costs the host a few microseconds
 * per dispatch on GPU drivers, half of one image's latency on an H100
 * (docs/PERFORMANCE-clip.md).  The inputs and the embeddings pass through
 * host memory the graph maps. */
typedef struct {
  gboolean     vision;
  guint        n;
  guint        tokens;   /* text: positions per sequence */
  guint32     *sizes;    /* vision: width and height of each frame */
  VmGpuGraph  *graph;
  guint8      *frames;   /* vision input: the frames, packed */
  guint32     *ids;      /* text input: n × tokens ids */
  guint32     *pool;     /* input: the pooled row of each sequence */
  const float *out;      /* n × projection_dim embeddings after a submit */
  guint64      bytes;    /* device memory its scratch buffers take */
  gboolean     profiled; /* recorded with VIDMARK_GPU_PROFILE=1 */
} Plan;

#define PLANS_MAX 16   /* /clip/replay/eviction counts on it */

static void
plan_free (Plan *plan)
{
  if (plan == NULL)
    return;
  g_clear_pointer (&plan->graph, vm_gpu_graph_free);
  g_free (plan->sizes);
  g_free (plan);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Plan, plan_free)

/* Graphs time their kernels when this is set as they are made (benchmarks
 * turn it on for one batch): a plan recorded otherwise does not serve. */
static gboolean
profile_requested (void)
{
  return g_strcmp0 (g_getenv ("VIDMARK_GPU_PROFILE"), "1") == 0;
}

/* The kept plan for this shape, taken out of the cache so that one thread
 * at a time submits it, or NULL.  @sizes: 2 × @n for the vision tower. */
static Plan *
plan_take (VmClipModel   *self,
           gboolean       vision,
           guint          n,
           guint          tokens,
           const guint32 *sizes)
{
  Plan *found = NULL;
  gboolean profiled = profile_requested ();

  g_mutex_lock (&self->plan_lock);
  for (GList *l = self->plans.head; l != NULL; l = l->next)
    {
      Plan *plan = l->data;

      if (plan->vision == vision && plan->n == n && plan->tokens == tokens && plan->profiled == profiled &&
          (!vision || memcmp (plan->sizes, sizes, 2 * sizeof (guint32) * n) == 0))
        {
          found = plan;
          g_queue_delete_link (&self->plans, l);
          self->plan_bytes -= plan->bytes;
          self->replays++;
          break;
        }
    }
  g_mutex_unlock (&self->plan_lock);
  return found;
}

/* Into the cache, first in line; the least recently used go when there
 * are more than PLANS_MAX or they hold more than the budget. */
static void
plan_keep (VmClipModel *self,
           Plan        *plan)
{
  g_autoptr(GPtrArray) dropped = g_ptr_array_new_with_free_func ((GDestroyNotify) plan_free);

  g_mutex_lock (&self->plan_lock);
  g_queue_push_head (&self->plans, plan);
  self->plan_bytes += plan->bytes;
  while (self->plans.length > PLANS_MAX || self->plan_bytes > self->plan_budget)
    {
      Plan *old = g_queue_pop_tail (&self->plans);

      self->plan_bytes -= old->bytes;
      g_ptr_array_add (dropped, old);
    }
  g_mutex_unlock (&self->plan_lock);
}

/* Submits @plan with its inputs written; the embeddings into @out.  A plan
 * whose submit failed is not kept. */
static gboolean
plan_run (VmClipModel  *self,
          Plan         *plan,
          float        *out,
          GError      **error)
{
  if (!vm_gpu_graph_submit (plan->graph, SUBMIT_TIMEOUT_NS, error))
    {
      plan_free (plan);
      return FALSE;
    }
  memcpy (out, plan->out, sizeof (float) * plan->n * self->config.projection_dim);
  plan_keep (self, plan);
  return TRUE;
}

static char *
weights_digest (const char *dir)
{
  g_autofree char *manifest = g_build_filename (dir, VM_MODEL_MANIFEST_NAME, NULL);
  g_autofree char *weights = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(JsonNode) root = NULL;
  GStatBuf st;

  root = _vm_model_json_parse_file (manifest, 1 << 20, VM_MODEL_ERROR_IO, NULL);
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *files = json_object_get_member (json_node_get_object (root), "files");

      if (files != NULL && JSON_NODE_HOLDS_ARRAY (files))
        {
          JsonArray *array = json_node_get_array (files);

          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *node = json_array_get_element (array, i);
              JsonObject *f;
              const char *path, *sha;

              if (!JSON_NODE_HOLDS_OBJECT (node))
                continue;
              f = json_node_get_object (node);
              path = json_object_get_string_member_with_default (f, "path", NULL);
              sha = json_object_get_string_member_with_default (f, "sha256", NULL);
              if (g_strcmp0 (path, "model.safetensors") == 0 && sha != NULL && strlen (sha) == 64)
                return g_strconcat ("sha256:", sha, NULL);
            }
        }
    }

  if (g_stat (weights, &st) == 0)
    return g_strdup_printf ("size:%" G_GINT64_FORMAT ",mtime:%" G_GINT64_FORMAT,
                            (gint64) st.st_size, (gint64) st.st_mtime);
  return g_strdup ("unknown");
}

/* What the scratch pool may keep: on GPUs a 16th of device memory (the
 * encoder's chunks take up to a 32nd), where allocating and freeing the
 * activations of a batch of 256 images cost 21 ms of host time per batch on
 * an H100 (docs/PERFORMANCE-clip.md); nothing on CPU drivers, where it is a
 * malloc (0.05 ms) and the memory is the host's.
 * $VIDMARK_GPU_SCRATCH_POOL_MB overrides (tests). */
static guint64
scratch_pool_budget (VmGpuDevice *device)
{
  const VmGpuDeviceInfo *info = vm_gpu_device_get_info (device);
  const char *env = g_getenv ("VIDMARK_GPU_SCRATCH_POOL_MB");

  if (env != NULL)
    return g_ascii_strtoull (env, NULL, 10) << 20;
  if (info->type == VM_GPU_DEVICE_TYPE_CPU)
    return 0;
  return vm_gpu_device_info_get_local_heap_size (info) / 16;
}

/* What the recorded passes (plans) may hold: as much as the scratch pool
 * on GPUs; on CPU drivers, where recording is a small part of the work,
 * enough for short texts and small batches.  $VIDMARK_CLIP_PLAN_MB
 * overrides (0: record every batch anew). */
static guint64
plan_budget (VmGpuDevice *device)
{
  const VmGpuDeviceInfo *info = vm_gpu_device_get_info (device);
  const char *env = g_getenv ("VIDMARK_CLIP_PLAN_MB");

  if (env != NULL)
    return g_ascii_strtoull (env, NULL, 10) << 20;
  if (info->type == VM_GPU_DEVICE_TYPE_CPU)
    return (guint64) 64 << 20;
  return vm_gpu_device_info_get_local_heap_size (info) / 16;
}

VmClipModel *
vm_clip_model_load (VmGpuDevice      *device,
                    const char       *dir,
                    VmClipLoadFlags   flags,
                    GError          **error)
{
  g_autoptr(VmClipModel) self = NULL;
  g_autoptr(VmSafetensors) st = NULL;
  g_autoptr(GByteArray) host = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *weights_path = NULL;
  g_autofree float *scale = NULL;
  const VmTensor *logit;
  const char *kernels;
  Packer packer;

  g_return_val_if_fail (device != NULL, NULL);
  g_return_val_if_fail (dir != NULL, NULL);

  self = g_new0 (VmClipModel, 1);
  self->ref_count = 1;
  self->device = vm_gpu_device_ref (device);
  self->name = g_path_get_basename (dir);
  self->digest = weights_digest (dir);
  self->has_vision = !(flags & VM_CLIP_LOAD_NO_VISION);
  self->has_text = !(flags & VM_CLIP_LOAD_NO_TEXT);
  self->scratch_pool = vm_gpu_scratch_pool_new (scratch_pool_budget (device));
  g_mutex_init (&self->plan_lock);
  g_queue_init (&self->plans);
  self->plan_budget = plan_budget (device);
  /* $VIDMARK_CLIP_KERNELS=cpu|gpu overrides the choice (tests, benchmarks). */
  kernels = g_getenv ("VIDMARK_CLIP_KERNELS");
  if (kernels != NULL && (g_str_equal (kernels, "cpu") || g_str_equal (kernels, "gpu")))
    self->cpu_kernels = g_str_equal (kernels, "cpu");
  else
    self->cpu_kernels = vm_gpu_device_get_info (device)->type == VM_GPU_DEVICE_TYPE_CPU;
  self->dtype = (vm_gpu_device_supports_f16 (device) && !(flags & VM_CLIP_LOAD_FORCE_FP32))
                ? VM_GPU_F16 : VM_GPU_F32;

  config_path = g_build_filename (dir, "config.json", NULL);
  if (!vm_clip_config_load (config_path, &self->config, error))
    return NULL;
  if (self->has_vision && !setup_preprocessing (self, dir, error))
    return NULL;
  if (self->has_text)
    {
      self->tokenizer = vm_tokenizer_new_from_dir (dir, error);
      if (self->tokenizer == NULL)
        return NULL;
    }

  weights_path = g_build_filename (dir, "model.safetensors", NULL);
  st = vm_safetensors_open (weights_path, error);
  if (st == NULL)
    return NULL;

  logit = vm_safetensors_require (st, "logit_scale", error);
  if (logit == NULL)
    return NULL;
  if (logit->n_elements != 1)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE,
                   _("Tensor logit_scale holds %" PRIu64 " values, expected one"), logit->n_elements);
      return NULL;
    }
  scale = vm_tensor_to_f32 (logit, error);
  if (scale == NULL)
    return NULL;
  self->logit_scale = expf (scale[0]);

  host = g_byte_array_new ();
  packer = (Packer) { st, self->dtype, host };
  if (self->has_vision && !load_vision (self, &packer, error))
    return NULL;
  if (self->has_text && !load_text (self, &packer, error))
    return NULL;
  return g_steal_pointer (&self);
}

VmClipModel *
vm_clip_model_ref (VmClipModel *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
vm_clip_model_unref (VmClipModel *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  /* The plans' graphs give their buffers back to the scratch pool. */
  g_queue_clear_full (&self->plans, (GDestroyNotify) plan_free);
  g_mutex_clear (&self->plan_lock);
  tower_clear (&self->vision);
  tower_clear (&self->text);
  g_clear_pointer (&self->scratch_pool, vm_gpu_scratch_pool_free);
  g_clear_pointer (&self->tokenizer, vm_tokenizer_unref);
  g_clear_pointer (&self->device, vm_gpu_device_unref);
  g_free (self->name);
  g_free (self->digest);
  g_free (self);
}

VmGpuScratchPool *
vm_clip_model_get_scratch_pool (VmClipModel *self)
{
  return self->scratch_pool;
}

guint
vm_clip_model_get_replays (VmClipModel *self)
{
  guint replays;

  g_mutex_lock (&self->plan_lock);
  replays = self->replays;
  g_mutex_unlock (&self->plan_lock);
  return replays;
}

const char *
vm_clip_model_get_name (VmClipModel *self)
{
  return self->name;
}

const char *
vm_clip_model_get_digest (VmClipModel *self)
{
  return self->digest;
}

const VmClipConfig *
vm_clip_model_get_config (VmClipModel *self)
{
  return &self->config;
}

guint
vm_clip_model_get_projection_dim (VmClipModel *self)
{
  return self->config.projection_dim;
}

guint
vm_clip_model_get_context_length (VmClipModel *self)
{
  return self->config.text.max_position_embeddings;
}

guint
vm_clip_model_get_image_size (VmClipModel *self)
{
  return self->config.vision.image_size;
}

float
vm_clip_model_get_logit_scale (VmClipModel *self)
{
  return self->logit_scale;
}

gboolean
vm_clip_model_uses_f16 (VmClipModel *self)
{
  return self->dtype == VM_GPU_F16;
}

gboolean
vm_clip_model_has_vision (VmClipModel *self)
{
  return self->has_vision;
}

gboolean
vm_clip_model_has_text (VmClipModel *self)
{
  return self->has_text;
}

VmTokenizer *
vm_clip_model_get_tokenizer (VmClipModel *self)
{
  return self->tokenizer;
}

/* ---- the forward pass ------------------------------------------------------------ */

/* The model's own kernels bind whole buffers and address them with element
 * offsets: the buffers must fit one binding. */
static gboolean
fits (VmClipModel *self,
      VmGpuBuffer *buffer)
{
  return buffer == NULL ||
         vm_gpu_buffer_get_size (buffer) <= vm_gpu_device_get_info (self->device)->max_storage_buffer_range;
}

/* Patch embedding: patches → rows and a GEMM with the flattened convolution
 * weight (the GEMM is where each device's fast kernel is), or the engine's
 * direct kernel where the rows would not fit one binding. */
static gboolean
patch_embed (VmClipModel  *self,
             VmGpuGraph   *graph,
             guint         n,
             VmGpuBuffer  *pixels,
             VmGpuBuffer  *out,
             GError      **error)
{
  const VmClipVisionConfig *c = &self->config.vision;
  const Tower *t = &self->vision;
  guint side = c->image_size / c->patch_size;
  guint cols = 3 * c->patch_size * c->patch_size;
  Im2colPush push = { c->image_size, c->patch_size, side, cols };
  VmGpuBuffer *rows;
  VmGpuBinding bind[2];
  VmGpuGemm g = {
    .m = n * side * side, .n = t->dim, .k = cols,
    .b = VM_GPU_VIEW (t->embed, t->patch), .b_type = self->dtype,
    .c = VM_GPU_VIEW (out, 0),
  };

  guint64 rows_size = 4ull * n * side * side * cols;

  if (!fits (self, pixels) || rows_size > vm_gpu_device_get_info (self->device)->max_storage_buffer_range)
    return vm_gpu_patch_embed (graph, n, c->image_size, c->patch_size, t->dim, VM_GPU_VIEW (pixels, 0),
                               VM_GPU_VIEW (t->embed, t->patch), self->dtype, VM_GPU_VIEW (out, 0), error);
  rows = vm_gpu_graph_scratch (graph, rows_size, error);
  if (rows == NULL)
    return FALSE;
  bind[0] = (VmGpuBinding) { pixels, 0, 0, VM_GPU_ACCESS_READ };
  bind[1] = (VmGpuBinding) { rows, 0, 0, VM_GPU_ACCESS_WRITE };
  g.a = VM_GPU_VIEW (rows, 0);
  if (self->cpu_kernels && c->image_size % 4 == 0 && c->patch_size % 4 == 0)
    {
      bind[0].texel_format = VM_GPU_TEXEL_RGBA32F;
      if (!vm_gpu_graph_dispatch (graph, &im2col_texel_desc, bind, 2, &push, sizeof push, (cols / 4 + 63) / 64,
                                  side * side, n, error))
        return FALSE;
    }
  else if (!vm_gpu_graph_dispatch (graph, &im2col_desc, bind, 2, &push, sizeof push, (cols + 63) / 64, side * side,
                                   n, error))
    return FALSE;
  return vm_gpu_gemm (graph, &g, error);
}

/* Self-attention over the packed QKV of @n sequences into @o (on CPU
 * drivers the gpu layer picks its kernel for them, attention_lanes). */
static gboolean
attention (VmGpuGraph   *graph,
           const Tower  *t,
           guint         n,
           guint         tokens,
           gboolean      causal,
           VmGpuDType    dtype,
           VmGpuBuffer  *qkv,
           VmGpuBuffer  *o,
           GError      **error)
{
  guint d = t->dim, hd = d / t->heads;
  VmGpuAttention att = {
    .batch = n, .heads = t->heads, .lq = tokens, .lk = tokens, .head_dim = hd,
    .q = VM_GPU_VIEW (qkv, 0), .k = VM_GPU_VIEW (qkv, 4ull * d), .v = VM_GPU_VIEW (qkv, 8ull * d),
    .o = VM_GPU_VIEW (o, 0),
    .q_ld = 3 * d, .k_ld = 3 * d, .v_ld = 3 * d,
    .causal = causal,
    /* fp16 weights: the products round to fp16 as the GEMMs' do. */
    .fp16_products = dtype == VM_GPU_F16,
  };

  return vm_gpu_attention (graph, &att, error);
}

/* Activations of one submission: rows = sequences × tokens. */
typedef struct {
  VmGpuBuffer *xa, *xb, *h, *qkv, *attn, *ff;
} Activations;

static gboolean
alloc_activations (VmGpuGraph   *graph,
                   const Tower  *t,
                   guint64       rows,
                   Activations  *a,
                   GError      **error)
{
  guint64 d = 4 * rows * t->dim;

  a->xa = vm_gpu_graph_scratch (graph, d, error);
  a->xb = a->xa ? vm_gpu_graph_scratch (graph, d, error) : NULL;
  a->h = a->xb ? vm_gpu_graph_scratch (graph, d, error) : NULL;
  a->attn = a->h ? vm_gpu_graph_scratch (graph, d, error) : NULL;
  a->qkv = a->attn ? vm_gpu_graph_scratch (graph, 3 * d, error) : NULL;
  a->ff = a->qkv ? vm_gpu_graph_scratch (graph, 4 * rows * t->inter, error) : NULL;
  return a->ff != NULL;
}

static guint64
activation_bytes_per_sequence (const Tower *t,
                               guint        tokens)
{
  return 4ull * tokens * (6ull * t->dim + t->inter) + 4096;
}

static guint
chunk_size (VmClipModel *self,
            const Tower *t,
            guint        tokens,
            guint64      extra_per_sequence)
{
  guint64 per = activation_bytes_per_sequence (t, tokens) + extra_per_sequence;
  guint64 budget = MAX (CHUNK_BYTES,
                        vm_gpu_device_info_get_local_heap_size (vm_gpu_device_get_info (self->device)) / 32);

  return (guint) CLAMP (budget / per, 1, self->cpu_kernels ? MAX_CHUNK_CPU : MAX_CHUNK);
}

/* The last block for the @n_pool rows of a->xa whose indices @idx holds
 * (the rows the head reads): attention still reads every row's keys and values, but the
 * output projection, the MLP and their residuals (three quarters of the
 * block's arithmetic) run on the pooled rows alone.  Same results as the
 * whole block followed by a gather.  The rows land in *@pooled.
 * @attn_pooled: the pooled rows' attention output, if the caller computed
 * it for those rows alone; else they are gathered from a->attn.
 * @pool_stride: where the pooled rows are every @pool_stride-th row from
 * the first (an image tower's class tokens), the products read them in
 * place; 0: they are gathered by @idx. */
static gboolean
record_pooled_tail (VmGpuGraph     *graph,
                    VmGpuDType      dtype,
                    const Tower    *t,
                    const Layer    *L,
                    guint           rows,
                    VmGpuBuffer    *idx,
                    guint           n_pool,
                    guint           pool_stride,
                    Activations    *a,
                    VmGpuBuffer    *attn_pooled,
                    VmGpuBuffer   **pooled,
                    GError        **error)
{
  guint64 d = t->dim;
  VmGpuBuffer *w = L->buffer;
  VmGpuBuffer *attn, *res, *mid, *h, *ff, *fin;
  VmGpuGemm out = {
    .m = n_pool, .n = d, .k = d,
    .b = VM_GPU_VIEW (w, L->o_w), .b_type = dtype,
    .bias = VM_GPU_VIEW (w, L->o_b),
  };
  VmGpuGemm fc1 = {
    .m = n_pool, .n = t->inter, .k = d,
    .b = VM_GPU_VIEW (w, L->fc1_w), .b_type = dtype,
    .bias = VM_GPU_VIEW (w, L->fc1_b),
    .epilogue = t->act,
  };
  VmGpuGemm fc2 = {
    .m = n_pool, .n = d, .k = t->inter,
    .b = VM_GPU_VIEW (w, L->fc2_w), .b_type = dtype,
    .bias = VM_GPU_VIEW (w, L->fc2_b),
  };

  /* In place: A or R the pooled rows of a->attn or a->xa, rows apart. */
  attn = attn_pooled ? attn_pooled : pool_stride ? a->attn : vm_gpu_graph_scratch (graph, 4 * n_pool * d, error);
  res = attn == NULL ? NULL : pool_stride ? a->xa : vm_gpu_graph_scratch (graph, 4 * n_pool * d, error);
  mid = res ? vm_gpu_graph_scratch (graph, 4 * n_pool * d, error) : NULL;
  h = mid ? vm_gpu_graph_scratch (graph, 4 * n_pool * d, error) : NULL;
  fin = h ? vm_gpu_graph_scratch (graph, 4 * n_pool * d, error) : NULL;
  ff = fin ? vm_gpu_graph_scratch (graph, 4ull * n_pool * t->inter, error) : NULL;
  if (ff == NULL)
    return FALSE;
  out.a = VM_GPU_VIEW (attn, 0);
  out.residual = VM_GPU_VIEW (res, 0);
  out.c = VM_GPU_VIEW (mid, 0);
  if (pool_stride != 0)
    {
      if (attn_pooled == NULL)
        out.lda = pool_stride * t->dim;
      out.ldr = pool_stride * t->dim;
    }
  fc1.a = VM_GPU_VIEW (h, 0);
  fc1.c = VM_GPU_VIEW (ff, 0);
  fc2.a = VM_GPU_VIEW (ff, 0);
  fc2.residual = VM_GPU_VIEW (mid, 0);
  fc2.c = VM_GPU_VIEW (fin, 0);
  *pooled = fin;

  return (attn_pooled != NULL || pool_stride != 0 ||
          vm_gpu_gather_rows (graph, n_pool, t->dim, rows, VM_GPU_VIEW (a->attn, 0), VM_GPU_VIEW (idx, 0),
                              VM_GPU_VIEW (attn, 0), error)) &&
         (pool_stride != 0 ||
          vm_gpu_gather_rows (graph, n_pool, t->dim, rows, VM_GPU_VIEW (a->xa, 0), VM_GPU_VIEW (idx, 0),
                              VM_GPU_VIEW (res, 0), error)) &&
         vm_gpu_gemm_layernorm (graph, &out, VM_GPU_VIEW (w, L->ln2_g), VM_GPU_VIEW (w, L->ln2_b), dtype, t->eps,
                                VM_GPU_VIEW (h, 0), error) &&
         vm_gpu_gemm (graph, &fc1, error) &&
         vm_gpu_gemm (graph, &fc2, error);
}

/* The last block's attention where only the @n_pool rows @idx lists are
 * read afterwards and no row's attention depends on its position (not
 * causal): the keys and values of every row (one product of 2·dim
 * columns), the queries of the pooled rows alone (one product of n_pool
 * rows) and attention for those queries, into *@attn_pooled (n_pool × dim).
 * Needs one pooled row per sequence (@n_pool = @n).
 * A third of the block's QKV product and all but one query per sequence
 * of its attention are left out; the pooled rows' results are those of the
 * whole block. */
static gboolean
record_pooled_attention (VmGpuGraph    *graph,
                         VmGpuDType     dtype,
                         const Tower   *t,
                         const Layer   *L,
                         guint          n,
                         guint          tokens,
                         VmGpuBuffer   *idx,
                         guint          n_pool,
                         Activations   *a,
                         VmGpuBuffer  **attn_pooled,
                         GError       **error)
{
  guint d = t->dim, rows = n * tokens;
  gsize wsize = dtype_size (dtype);
  VmGpuBuffer *w = L->buffer;
  VmGpuBuffer *hq, *q, *o;
  VmGpuGemm qg = {
    .m = n_pool, .n = d, .k = d,
    .b = VM_GPU_VIEW (w, L->qkv_w), .b_type = dtype,
    .bias = VM_GPU_VIEW (w, L->qkv_b),
  };
  VmGpuGemm kvg = {
    .m = rows, .n = 2 * d, .k = d,
    .a = VM_GPU_VIEW (a->h, 0),
    .b = VM_GPU_VIEW (w, L->qkv_w + wsize * d * d), .b_type = dtype,
    .bias = VM_GPU_VIEW (w, L->qkv_b + wsize * d),
    .c = VM_GPU_VIEW (a->qkv, 0),   /* rows × 2·dim of its rows × 3·dim */
  };
  VmGpuAttention att = {
    .batch = n, .heads = t->heads, .lq = 1, .lk = tokens, .head_dim = d / t->heads,
    .k = VM_GPU_VIEW (a->qkv, 0), .v = VM_GPU_VIEW (a->qkv, 4ull * d),
    .q_ld = d, .k_ld = 2 * d, .v_ld = 2 * d, .o_ld = d,
    .fp16_products = dtype == VM_GPU_F16,
  };

  hq = vm_gpu_graph_scratch (graph, 4ull * n_pool * d, error);
  q = hq ? vm_gpu_graph_scratch (graph, 4ull * n_pool * d, error) : NULL;
  o = q ? vm_gpu_graph_scratch (graph, 4ull * n_pool * d, error) : NULL;
  if (o == NULL)
    return FALSE;
  qg.a = VM_GPU_VIEW (hq, 0);
  qg.c = VM_GPU_VIEW (q, 0);
  att.q = VM_GPU_VIEW (q, 0);
  att.o = VM_GPU_VIEW (o, 0);
  *attn_pooled = o;

  return vm_gpu_gather_rows (graph, n_pool, d, rows, VM_GPU_VIEW (a->h, 0), VM_GPU_VIEW (idx, 0),
                             VM_GPU_VIEW (hq, 0), error) &&
         vm_gpu_gemm (graph, &qg, error) &&
         vm_gpu_gemm (graph, &kvg, error) &&
         vm_gpu_attention (graph, &att, error);
}

/* The pre-norm transformer blocks over @n sequences of @tokens rows in
 * a->xa.  The head reads only the @n_pool rows @idx lists, so the
 * last block computes those alone (record_pooled_tail); *@pooled gets the
 * n_pool × dim result.  @pool_stride: nonzero where those rows are every
 * @pool_stride-th from the first (record_pooled_tail). */
static gboolean
record_blocks (VmClipModel    *self,
               VmGpuGraph     *graph,
               VmGpuDType      dtype,
               const Tower    *t,
               guint           n,
               guint           tokens,
               gboolean        causal,
               VmGpuBuffer    *idx,
               guint           n_pool,
               guint           pool_stride,
               Activations    *a,
               VmGpuBuffer   **pooled,
               GError        **error)
{
  guint rows = n * tokens;
  guint d = t->dim;

  /* The first block's LayerNorm; each later one's comes with the residual
   * sum that ends the block before it (vm_gpu_gemm_layernorm). */
  if (t->n_layers > 0 &&
      !vm_gpu_layernorm (graph, rows, d, VM_GPU_VIEW (a->xa, 0), VM_GPU_VIEW (t->layers[0].buffer, t->layers[0].ln1_g),
                         VM_GPU_VIEW (t->layers[0].buffer, t->layers[0].ln1_b), dtype, t->eps,
                         VM_GPU_VIEW (a->h, 0), error))
    return FALSE;
  for (guint l = 0; l < t->n_layers; l++)
    {
      const Layer *L = &t->layers[l];
      VmGpuBuffer *w = L->buffer;
      VmGpuGemm qkv = {
        .m = rows, .n = 3 * d, .k = d,
        .a = VM_GPU_VIEW (a->h, 0),
        .b = VM_GPU_VIEW (w, L->qkv_w), .b_type = dtype,
        .bias = VM_GPU_VIEW (w, L->qkv_b),
        .c = VM_GPU_VIEW (a->qkv, 0),
      };
      VmGpuGemm out = {
        .m = rows, .n = d, .k = d,
        .a = VM_GPU_VIEW (a->attn, 0),
        .b = VM_GPU_VIEW (w, L->o_w), .b_type = dtype,
        .bias = VM_GPU_VIEW (w, L->o_b),
        .residual = VM_GPU_VIEW (a->xa, 0),
        .c = VM_GPU_VIEW (a->xb, 0),
      };
      VmGpuGemm fc1 = {
        .m = rows, .n = t->inter, .k = d,
        .a = VM_GPU_VIEW (a->h, 0),
        .b = VM_GPU_VIEW (w, L->fc1_w), .b_type = dtype,
        .bias = VM_GPU_VIEW (w, L->fc1_b),
        .c = VM_GPU_VIEW (a->ff, 0),
        .epilogue = t->act,
      };
      VmGpuGemm fc2 = {
        .m = rows, .n = d, .k = t->inter,
        .a = VM_GPU_VIEW (a->ff, 0),
        .b = VM_GPU_VIEW (w, L->fc2_w), .b_type = dtype,
        .bias = VM_GPU_VIEW (w, L->fc2_b),
        .residual = VM_GPU_VIEW (a->xb, 0),
        .c = VM_GPU_VIEW (a->xa, 0),
      };

      const Layer *next = &t->layers[MIN (l + 1, t->n_layers - 1)];

      /* The last block of a tower that is not causal, with more than one
       * sequence (one image keeps the single product and attention call:
       * fewer dispatches where their count, not their arithmetic, sets
       * the latency): the pooled rows' queries alone. */
      if (l + 1 == t->n_layers && !causal && n > 1 && n_pool == n)
        {
          VmGpuBuffer *attn_pooled = NULL;

          return record_pooled_attention (graph, dtype, t, L, n, tokens, idx, n_pool, a, &attn_pooled, error) &&
                 record_pooled_tail (graph, dtype, t, L, rows, idx, n_pool, pool_stride, a, attn_pooled, pooled,
                                     error);
        }
      if (!vm_gpu_gemm (graph, &qkv, error) ||
          !attention (graph, t, n, tokens, causal, dtype, a->qkv, a->attn, error))
        return FALSE;
      if (l + 1 == t->n_layers)
        return record_pooled_tail (graph, dtype, t, L, rows, idx, n_pool, pool_stride, a, NULL, pooled, error);
      if (!vm_gpu_gemm_layernorm (graph, &out, VM_GPU_VIEW (w, L->ln2_g), VM_GPU_VIEW (w, L->ln2_b), dtype, t->eps,
                                  VM_GPU_VIEW (a->h, 0), error) ||
          !vm_gpu_gemm (graph, &fc1, error) ||
          !vm_gpu_gemm_layernorm (graph, &fc2, VM_GPU_VIEW (next->buffer, next->ln1_g),
                                  VM_GPU_VIEW (next->buffer, next->ln1_b), dtype, t->eps, VM_GPU_VIEW (a->h, 0),
                                  error))
        return FALSE;
    }
  *pooled = a->xa;   /* no layers: the head gathers from the embeddings */
  return TRUE;
}

/* The @n pooled rows of @src (n × dim) → final LayerNorm → projection → L2
 * into *@emb.  With no layers @src is the whole activation buffer and @idx
 * lists the rows to pool. */
static gboolean
record_head (VmClipModel   *self,
             VmGpuGraph    *graph,
             VmGpuDType     dtype,
             const Tower   *t,
             guint          proj_dim,
             VmGpuBuffer   *src,
             guint          n_src_rows,
             VmGpuBuffer   *idx,
             guint          n,
             VmGpuBuffer  **emb,
             GError       **error)
{
  VmGpuBuffer *normed;
  VmGpuBuffer *pooled = src;
  VmGpuGemm proj = {
    .m = n, .n = proj_dim, .k = t->dim,
    .b = VM_GPU_VIEW (t->embed, t->proj), .b_type = dtype,
  };

  if (t->n_layers == 0)
    {
      pooled = vm_gpu_graph_scratch (graph, 4ull * n * t->dim, error);
      if (pooled == NULL ||
          !vm_gpu_gather_rows (graph, n, t->dim, n_src_rows, VM_GPU_VIEW (src, 0), VM_GPU_VIEW (idx, 0),
                               VM_GPU_VIEW (pooled, 0), error))
        return FALSE;
    }
  normed = vm_gpu_graph_scratch (graph, 4ull * n * t->dim, error);
  *emb = normed ? vm_gpu_graph_scratch (graph, 4ull * n * proj_dim, error) : NULL;
  if (*emb == NULL)
    return FALSE;
  proj.a = VM_GPU_VIEW (normed, 0);
  proj.c = VM_GPU_VIEW (*emb, 0);

  return vm_gpu_layernorm (graph, n, t->dim, VM_GPU_VIEW (pooled, 0), VM_GPU_VIEW (t->embed, t->post_g),
                           VM_GPU_VIEW (t->embed, t->post_b), dtype, t->eps, VM_GPU_VIEW (normed, 0), error) &&
         vm_gpu_gemm (graph, &proj, error) &&
         vm_gpu_l2_normalize (graph, n, proj_dim, VM_GPU_VIEW (*emb, 0), VM_GPU_VIEW (*emb, 0), error);
}

/* The rest of a plan after the tower's embeddings in a->xa: the blocks,
 * the head, and its embeddings as the plan's output.  @pool_stride as
 * record_blocks() takes it: the image plan's pooled rows are its class
 * tokens (pool[i] = i · tokens), a text plan's are gathered. */
static gboolean
record_encoder (VmClipModel   *self,
                Plan          *plan,
                const Tower   *t,
                guint          tokens,
                gboolean       causal,
                VmGpuBuffer   *idx,
                guint          pool_stride,
                Activations   *a,
                GError       **error)
{
  VmGpuBuffer *pooled = NULL, *emb = NULL;
  guint n = plan->n;

  if (!record_blocks (self, plan->graph, self->dtype, t, n, tokens, causal, idx, n, pool_stride, a, &pooled,
                      error) ||
      !record_head (self, plan->graph, self->dtype, t, self->config.projection_dim, pooled, n * tokens, idx, n,
                    &emb, error))
    return FALSE;
  plan->out = vm_gpu_graph_output (plan->graph, emb, 0, 4ull * n * self->config.projection_dim, error);
  /* Every buffer of the pass is the graph's by now. */
  plan->bytes = vm_gpu_graph_get_scratch_bytes (plan->graph);
  return plan->out != NULL;
}

static gboolean
check_image (const VmClipImage  *image,
             guint               index,
             GError            **error)
{
  guint row_bytes = image->row_bytes ? image->row_bytes : image->width * 3;

  if (image->data == NULL || image->width == 0 || image->height == 0 ||
      image->width > 65536 || image->height > 65536 || row_bytes < image->width * 3)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE,
                   _("Image %u is empty or malformed (%u×%u)"), index, image->width, image->height);
      return FALSE;
    }
  return TRUE;
}

/* A plan to record, its graph reusable and with the model's scratch pool. */
static Plan *
plan_new (VmClipModel  *self,
          gboolean      vision,
          guint         n,
          guint         tokens,
          GError      **error)
{
  g_autoptr(Plan) plan = g_new0 (Plan, 1);

  plan->vision = vision;
  plan->n = n;
  plan->tokens = tokens;
  plan->profiled = profile_requested ();
  plan->graph = vm_gpu_graph_new (self->device, error);
  if (plan->graph == NULL)
    return NULL;
  vm_gpu_graph_set_reusable (plan->graph, TRUE);
  vm_gpu_graph_set_scratch_pool (plan->graph, self->scratch_pool);
  return g_steal_pointer (&plan);
}

/* The buffer of the pooled rows' indices, an input of the plan, recorded
 * before any step that reads it. */
static VmGpuBuffer *
plan_pool_input (Plan    *plan,
                 GError **error)
{
  VmGpuBuffer *idx = vm_gpu_graph_scratch (plan->graph, 4ull * plan->n, error);

  if (idx == NULL)
    return NULL;
  plan->pool = vm_gpu_graph_input (plan->graph, idx, 0, 4ull * plan->n, error);
  return plan->pool != NULL ? idx : NULL;
}


typedef struct {
  const VmClipImage *images;
  guint              n;
  const guint64     *frame_at;
} FramePack;

/* Frames [first, last) of a pack, into @dst. */
typedef struct {
  const FramePack *pack;
  guint8          *dst;
  guint            first, last;
} PackJob;

static gpointer
pack_job (gpointer data)
{
  const PackJob *job = data;
  const FramePack *pack = job->pack;

  for (guint i = job->first; i < job->last; i++)
    {
      const VmClipImage *im = &pack->images[i];
      guint row_bytes = im->row_bytes ? im->row_bytes : im->width * 3;

      for (guint y = 0; y < im->height; y++)
        memcpy (job->dst + pack->frame_at[i] + (gsize) y * im->width * 3, im->data + (gsize) y * row_bytes,
                (gsize) im->width * 3);
    }
  return NULL;
}

/* Large batches are packed by several threads: one thread copying 59 MB
 * (256 frames of 320 × 240) into a GPU's upload took as long as the
 * batch's work on an H100. */
#define PACK_THREADS_MAX 8
#define PACK_BYTES_PER_THREAD (4u << 20)

static void
pack_frames (guint8   *dst,
             gsize     size,
             gpointer  data)
{
  const FramePack *pack = data;
  guint n_threads = MIN ((guint) CLAMP (size / PACK_BYTES_PER_THREAD, 1, PACK_THREADS_MAX),
                         MAX (MIN ((guint) g_get_num_processors (), pack->n), 1));
  PackJob jobs[PACK_THREADS_MAX];
  GThread *threads[PACK_THREADS_MAX] = { NULL };
  for (guint t = 0; t < n_threads; t++)
    jobs[t] = (PackJob) { pack, dst, (guint) ((guint64) pack->n * t / n_threads),
                          (guint) ((guint64) pack->n * (t + 1) / n_threads) };
  for (guint t = 1; t < n_threads; t++)
    threads[t] = g_thread_try_new ("vidmark-pack", pack_job, &jobs[t], NULL);
  pack_job (&jobs[0]);
  for (guint t = 1; t < n_threads; t++)
    {
      /* No thread to be had: this one does that share too. */
      if (threads[t] != NULL)
        g_thread_join (threads[t]);
      else
        pack_job (&jobs[t]);
    }
}

/* Records the vision pass for @n frames of the sizes @sizes (width,
 * height pairs) packed at @frame_at, @frame_total bytes in all. */
static Plan *
record_image_plan (VmClipModel    *self,
                   guint           n,
                   const guint32  *sizes,
                   const guint64  *frame_at,
                   guint64         frame_total,
                   GError        **error)
{
  const Tower *t = &self->vision;
  const VmClipVisionConfig *c = &self->config.vision;
  guint size = c->image_size;
  guint side = size / c->patch_size;
  guint n_patches = side * side;
  guint tokens = n_patches + 1;
  g_autoptr(Plan) plan = plan_new (self, TRUE, n, 0, error);
  VmGpuGraph *graph;
  VmGpuBuffer *frames, *pixels, *patches, *idx;
  Activations a;

  if (plan == NULL)
    return NULL;
  graph = plan->graph;
  plan->sizes = g_memdup2 (sizes, 2 * sizeof (guint32) * n);

  /* The frames, rows packed, each at a multiple of 4 bytes. */
  frames = vm_gpu_graph_scratch (graph, frame_total, error);
  plan->frames = frames ? vm_gpu_graph_input (graph, frames, 0, frame_total, error) : NULL;
  idx = plan->frames ? plan_pool_input (plan, error) : NULL;
  pixels = idx ? vm_gpu_graph_scratch (graph, 4ull * n * 3 * size * size, error) : NULL;
  patches = pixels ? vm_gpu_graph_scratch (graph, 4ull * n * n_patches * t->dim, error) : NULL;
  if (patches == NULL || !alloc_activations (graph, t, (guint64) n * tokens, &a, error))
    return NULL;

  /* One preprocessing dispatch pair per run of frames of the same size. */
  for (guint i = 0; i < n;)
    {
      guint j = i + 1;
      guint64 frame_bytes = frame_at[i + 1 < n ? i + 1 : i] - frame_at[i];
      VmGpuPreprocess pre = { 0 };

      while (j < n && sizes[2 * j] == sizes[2 * i] && sizes[2 * j + 1] == sizes[2 * i + 1])
        j++;
      pre.n_frames = j - i;
      pre.width = sizes[2 * i];
      pre.height = sizes[2 * i + 1];
      pre.frame_bytes = pre.n_frames > 1 ? (guint) frame_bytes : 0;
      pre.frames = VM_GPU_VIEW (frames, frame_at[i]);
      pre.resize = self->pre.shortest_edge;
      pre.crop = size;
      memcpy (pre.mean, self->mean, sizeof pre.mean);
      memcpy (pre.std, self->std, sizeof pre.std);
      pre.out = VM_GPU_VIEW (pixels, 4ull * i * 3 * size * size);
      if (!vm_gpu_preprocess_clip (graph, &pre, error))
        return NULL;
      i = j;
    }

  if (!patch_embed (self, graph, n, pixels, patches, error) ||
      !vm_gpu_class_pos (graph, n, n_patches, t->dim, VM_GPU_VIEW (patches, 0), VM_GPU_VIEW (t->embed, t->cls),
                         VM_GPU_VIEW (t->embed, t->pos), self->dtype, VM_GPU_VIEW (a.xb, 0), error) ||
      !vm_gpu_layernorm (graph, n * tokens, t->dim, VM_GPU_VIEW (a.xb, 0), VM_GPU_VIEW (t->embed, t->pre_g),
                         VM_GPU_VIEW (t->embed, t->pre_b), self->dtype, t->eps, VM_GPU_VIEW (a.xa, 0), error) ||
      !record_encoder (self, plan, t, tokens, FALSE, idx, tokens, &a, error))
    return NULL;
  return g_steal_pointer (&plan);
}

static gboolean
encode_image_chunk (VmClipModel        *self,
                    const VmClipImage  *images,
                    guint               n,
                    float              *out,
                    GError            **error)
{
  const VmClipVisionConfig *c = &self->config.vision;
  guint side = c->image_size / c->patch_size;
  guint tokens = side * side + 1;
  guint64 frame_total = 0;
  g_autofree guint64 *frame_at = g_new (guint64, n);
  g_autofree guint32 *sizes = g_new (guint32, 2 * n);
  FramePack pack = { images, n, frame_at };
  Plan *plan;

  for (guint i = 0; i < n; i++)
    {
      frame_at[i] = frame_total;
      frame_total += ((guint64) images[i].width * 3 * images[i].height + 3) / 4 * 4;
      sizes[2 * i] = images[i].width;
      sizes[2 * i + 1] = images[i].height;
    }

  plan = plan_take (self, TRUE, n, 0, sizes);
  if (plan == NULL)
    plan = record_image_plan (self, n, sizes, frame_at, frame_total, error);
  if (plan == NULL)
    return FALSE;
  /* The frames straight into the upload. */
  pack_frames (plan->frames, frame_total, &pack);
  for (guint i = 0; i < n; i++)
    plan->pool[i] = i * tokens;
  return plan_run (self, plan, out, error);
}

static gboolean
check_usable (VmClipModel  *self,
              gboolean      vision,
              GError      **error)
{
  if (vision ? !self->has_vision : !self->has_text)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                   vision ? _("The model was loaded without its vision encoder")
                          : _("The model was loaded without its text encoder"));
      return FALSE;
    }
  return TRUE;
}

gboolean
vm_clip_model_encode_images (VmClipModel        *self,
                             const VmClipImage  *images,
                             guint               n,
                             float              *out,
                             GError            **error)
{
  const VmClipVisionConfig *c = &self->config.vision;
  guint tokens = vm_clip_vision_config_get_n_positions (c);
  /* Pixels, patch rows (im2col) and patch embeddings. */
  guint64 extra = 4ull * 3 * c->image_size * c->image_size * 2 + 4ull * (tokens - 1) * c->hidden_size;
  guint chunk;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (images != NULL && out != NULL), FALSE);

  if (!check_usable (self, TRUE, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!check_image (&images[i], i, error))
      return FALSE;

  chunk = chunk_size (self, &self->vision, tokens, extra);
  for (guint i = 0; i < n; i += chunk)
    if (!encode_image_chunk (self, images + i, MIN (chunk, n - i), out + (gsize) i * self->config.projection_dim,
                             error))
      return FALSE;
  return TRUE;
}

/* The end token's position in @ids, or -1. */
static gint
end_position (VmClipModel  *self,
              const gint32 *ids,
              guint         length)
{
  gint64 eos = self->config.text.eos_token_id;
  gint best = -1;

  if (eos == 2)
    {
      /* Legacy configurations: the end token has the highest id. */
      for (guint t = 0; t < length; t++)
        if (best < 0 || ids[t] > ids[best])
          best = t;
      return best;
    }
  for (guint t = 0; t < length; t++)
    if (ids[t] == eos)
      return t;
  return -1;
}

/* Records the text pass for @n sequences of @tokens positions. */
static Plan *
record_text_plan (VmClipModel  *self,
                  guint         n,
                  guint         tokens,
                  GError      **error)
{
  const Tower *t = &self->text;
  g_autoptr(Plan) plan = plan_new (self, FALSE, n, tokens, error);
  VmGpuGraph *graph;
  VmGpuBuffer *ids_buf, *idx;
  Activations a;
  TokenEmbedPush push = { 0 };
  VmGpuBinding bind[4];

  if (plan == NULL)
    return NULL;
  graph = plan->graph;
  ids_buf = vm_gpu_graph_scratch (graph, 4ull * n * tokens, error);
  plan->ids = ids_buf ? vm_gpu_graph_input (graph, ids_buf, 0, 4ull * n * tokens, error) : NULL;
  idx = plan->ids ? plan_pool_input (plan, error) : NULL;
  if (idx == NULL || !alloc_activations (graph, t, (guint64) n * tokens, &a, error))
    return NULL;

  if (!fits (self, t->tokens) || !fits (self, a.xa))
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                   _("The token embedding table is too large for this GPU"));
      return NULL;
    }
  push.n_tokens = tokens;
  push.dim = t->dim;
  push.vocab = self->config.text.vocab_size;
  push.tok_off = 0;
  push.pos_off = (guint32) (t->tok_pos / dtype_size (self->dtype));
  bind[0] = (VmGpuBinding) { ids_buf, 0, 0, VM_GPU_ACCESS_READ };
  bind[1] = (VmGpuBinding) { t->tokens, 0, 0, VM_GPU_ACCESS_READ };
  bind[2] = (VmGpuBinding) { t->tokens, 0, 0, VM_GPU_ACCESS_READ };
  bind[3] = (VmGpuBinding) { a.xa, 0, 0, VM_GPU_ACCESS_WRITE };
  if (!vm_gpu_graph_dispatch (graph, self->dtype == VM_GPU_F16 ? &token_embed_f16_desc : &token_embed_f32_desc,
                              bind, 4, &push, sizeof push, (t->dim + 63) / 64, tokens, n, error) ||
      !record_encoder (self, plan, t, tokens, TRUE, idx, 0, &a, error))
    return NULL;
  return g_steal_pointer (&plan);
}

static gboolean
encode_token_chunk (VmClipModel   *self,
                    const gint32  *ids,
                    guint          n,
                    guint          context,
                    const guint   *ends,
                    float         *out,
                    GError       **error)
{
  guint tokens = 0;
  Plan *plan;

  /* Positions after the last end token of the batch cannot change a result. */
  for (guint i = 0; i < n; i++)
    tokens = MAX (tokens, ends[i] + 1);
  plan = plan_take (self, FALSE, n, tokens, NULL);
  if (plan == NULL)
    plan = record_text_plan (self, n, tokens, error);
  if (plan == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      for (guint j = 0; j < tokens; j++)
        plan->ids[(gsize) i * tokens + j] = (guint32) ids[(gsize) i * context + j];
      plan->pool[i] = i * tokens + ends[i];
    }
  return plan_run (self, plan, out, error);
}

gboolean
vm_clip_model_encode_tokens (VmClipModel   *self,
                             const gint32  *ids,
                             guint          n,
                             guint          context_length,
                             float         *out,
                             GError       **error)
{
  const VmClipTextConfig *c = &self->config.text;
  g_autofree guint *ends = NULL;
  guint chunk;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (ids != NULL && out != NULL), FALSE);

  if (!check_usable (self, FALSE, error))
    return FALSE;
  if (context_length == 0 || context_length > c->max_position_embeddings)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE,
                   _("Token sequences of %u ids do not fit the model's %u positions"),
                   context_length, c->max_position_embeddings);
      return FALSE;
    }
  ends = g_new (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      const gint32 *seq = ids + (gsize) i * context_length;
      gint end;

      for (guint j = 0; j < context_length; j++)
        if (seq[j] < 0 || (guint) seq[j] >= c->vocab_size)
          {
            g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                         _("Token id %d is outside the model's vocabulary of %u"), seq[j], c->vocab_size);
            return FALSE;
          }
      end = end_position (self, seq, context_length);
      if (end < 0)
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                       _("Token sequence %u has no end token"), i);
          return FALSE;
        }
      ends[i] = end;
    }

  chunk = chunk_size (self, &self->text, context_length, 0);
  for (guint i = 0; i < n; i += chunk)
    if (!encode_token_chunk (self, ids + (gsize) i * context_length, MIN (chunk, n - i), context_length,
                             ends + i, out + (gsize) i * self->config.projection_dim, error))
      return FALSE;
  return TRUE;
}

gboolean
vm_clip_model_encode_texts (VmClipModel         *self,
                            const char * const  *texts,
                            guint                n,
                            float               *out,
                            GError             **error)
{
  guint context;
  g_autofree gint32 *ids = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (texts != NULL && out != NULL), FALSE);

  if (!check_usable (self, FALSE, error))
    return FALSE;
  context = self->config.text.max_position_embeddings;
  if (context < 2)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("The text model has too few positions (%u)"), context);
      return FALSE;
    }
  ids = g_new (gint32, (gsize) MAX (n, 1) * context);
  for (guint i = 0; i < n; i++)
    vm_tokenizer_encode_padded (self->tokenizer, texts[i], ids + (gsize) i * context, context);
  return vm_clip_model_encode_tokens (self, ids, n, context, out, error);
}
