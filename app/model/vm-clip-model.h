/* vm-clip-model.h — CLIP's vision and text encoders on the GPU.
 *
 * Loads a Hugging Face CLIP directory (config.json, model.safetensors,
 * vocab.json, merges.txt, optionally preprocessor_config.json; every size
 * comes from config.json) and uploads the weights once, in the compute
 * dtype: fp16 storage where the device supports it, else fp32; activations
 * are fp32.  Each encode
 * call runs the whole forward pass as one GPU graph and waits for it; the
 * graph of a shape of batch (batch size, frame sizes or text length) is
 * recorded once and submitted again for later batches of that shape.
 *
 * Vision: RGB8 frames of any size → bicubic resize of the short side, centre
 * crop, normalisation (all on the GPU) → patch embedding → class token and
 * positions → pre-LayerNorm → pre-norm transformer blocks → post-LayerNorm of
 * the class token → visual projection → L2 normalisation.
 * Text: BPE token ids (padded to max_position_embeddings) → token and
 * position embeddings → causal transformer blocks → final LayerNorm → the end
 * token's row → text projection → L2 normalisation.
 *
 * The embeddings are unit vectors of vm_clip_model_get_projection_dim()
 * floats, so an image–text score is their dot product; CLIP's logits are
 * that times vm_clip_model_get_logit_scale().
 *
 * Kernels: the gpu layer's, except on CPU Vulkan drivers (llvmpipe), where
 * the model layer's own patch-to-rows and attention kernels (shaders/
 * clip-*.comp, written for SIMD-lane execution) replace the patch embedding
 * and, for head sizes 16, 32, 64 and 80, the attention kernel;
 * $VIDMARK_CLIP_KERNELS=gpu|cpu forces a choice at load time.  Results
 * agree either way (see tests/clip/).
 *
 * A model may be used from several threads at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gpu/vm-gpu-device.h"
#include "gpu/vm-gpu-graph.h"
#include "model/vm-clip-config.h"
#include "model/vm-tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  VM_CLIP_LOAD_DEFAULT     = 0,
  VM_CLIP_LOAD_FORCE_FP32  = 1 << 0,   /* fp32 weights even where fp16 storage works */
  VM_CLIP_LOAD_NO_VISION   = 1 << 1,   /* skip the vision tower (text queries only) */
  VM_CLIP_LOAD_NO_TEXT     = 1 << 2,   /* skip the text tower (indexing only) */
} VmClipLoadFlags;

/* One RGB8 frame: @height rows of @width pixels, 3 bytes each (R, G, B),
 * rows @row_bytes apart (0: width·3).  Frames of a batch may differ in size. */
typedef struct {
  const guint8 *data;
  guint         width;
  guint         height;
  guint         row_bytes;
} VmClipImage;

typedef struct _VmClipModel VmClipModel;

/* Loads @dir.  Errors: VM_MODEL_ERROR (missing or malformed files, a tensor
 * of the wrong shape or a non-float dtype, unsupported preprocessing) or
 * VM_GPU_ERROR (memory, device). */
VmClipModel *vm_clip_model_load   (VmGpuDevice      *device,
                                   const char       *dir,
                                   VmClipLoadFlags   flags,
                                   GError          **error);
VmClipModel *vm_clip_model_ref    (VmClipModel      *self);
void         vm_clip_model_unref  (VmClipModel      *self);

/* The directory's base name ("clip-vit-base-patch32"). */
const char          *vm_clip_model_get_name           (VmClipModel *self);
/* Identifies the weights, for the catalog's model record (the embeddings of
 * one model name are only comparable under one digest): "sha256:HEX" of
 * model.safetensors from the install manifest, else "size:N,mtime:T". */
const char          *vm_clip_model_get_digest         (VmClipModel *self);
const VmClipConfig  *vm_clip_model_get_config         (VmClipModel *self);
/* Length of every embedding. */
guint                vm_clip_model_get_projection_dim (VmClipModel *self);
/* The tokenizer's context: text_config.max_position_embeddings (77). */
guint                vm_clip_model_get_context_length (VmClipModel *self);
/* The square input side of the vision tower (image_size, 224). */
guint                vm_clip_model_get_image_size     (VmClipModel *self);
/* exp(logit_scale): CLIP's logit = this × cosine similarity. */
float                vm_clip_model_get_logit_scale    (VmClipModel *self);
/* TRUE when the weights are stored as fp16 on the GPU. */
gboolean             vm_clip_model_uses_f16           (VmClipModel *self);
/* The activations kept between batches ($VIDMARK_GPU_SCRATCH_POOL_MB at
 * load time sets its budget; none on CPU drivers by default). */
VmGpuScratchPool    *vm_clip_model_get_scratch_pool   (VmClipModel *self);
/* Batches encoded with a pass recorded for an earlier batch of the same
 * shape (the model keeps recent passes, $VIDMARK_CLIP_PLAN_MB at load time
 * sets how much they may hold; 0 records each batch anew). */
guint                vm_clip_model_get_replays        (VmClipModel *self);
gboolean             vm_clip_model_has_vision         (VmClipModel *self);
gboolean             vm_clip_model_has_text           (VmClipModel *self);
/* The model's tokenizer (owned by the model), for `vidmark model tokenize`. */
VmTokenizer         *vm_clip_model_get_tokenizer      (VmClipModel *self);

/* Encodes @n frames into @out (n × projection_dim floats, unit length).
 * Large batches are split into several GPU submissions. */
gboolean vm_clip_model_encode_images (VmClipModel        *self,
                                      const VmClipImage  *images,
                                      guint               n,
                                      float              *out,
                                      GError            **error);

/* Tokenizes and encodes @n UTF-8 texts into @out (n × projection_dim). */
gboolean vm_clip_model_encode_texts  (VmClipModel        *self,
                                      const char * const *texts,
                                      guint               n,
                                      float              *out,
                                      GError            **error);

/* Encodes @n token sequences of @context_length ids each (as
 * vm_tokenizer_encode_padded() writes them, context_length ≤
 * vm_clip_model_get_context_length()).  Every id must be below vocab_size,
 * and each sequence must hold its end token (the highest id with the legacy
 * eos_token_id 2, else eos_token_id itself). */
gboolean vm_clip_model_encode_tokens (VmClipModel        *self,
                                      const gint32       *ids,
                                      guint               n,
                                      guint               context_length,
                                      float              *out,
                                      GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmClipModel, vm_clip_model_unref)

G_END_DECLS
