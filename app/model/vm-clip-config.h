/* vm-clip-config.h — Hugging Face CLIP config.json and
 * preprocessor_config.json.
 *
 * Sub-configs usually list only the values that differ from the defaults;
 * the defaults applied are Hugging Face's CLIPTextConfig / CLIPVisionConfig
 * ones (those of OpenAI's ViT-B/32).  Legacy "text_config_dict" /
 * "vision_config_dict" members override "text_config" / "vision_config" as
 * in transformers.  A JSON null means "the default".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  VM_ACTIVATION_QUICK_GELU,  /* x · sigmoid(1.702 x): OpenAI checkpoints */
  VM_ACTIVATION_GELU,        /* exact erf GELU: LAION checkpoints */
} VmActivation;

const char *vm_activation_get_name (VmActivation act);

typedef struct {
  guint        vocab_size;               /* 49408 */
  guint        hidden_size;              /* 512 */
  guint        intermediate_size;        /* 2048 */
  guint        projection_dim;           /* 512 (the model uses VmClipConfig's) */
  guint        num_hidden_layers;        /* 12 */
  guint        num_attention_heads;      /* 8 */
  guint        max_position_embeddings;  /* 77: also the tokenizer's context */
  VmActivation hidden_act;               /* quick_gelu */
  double       layer_norm_eps;           /* 1e-5 */
  gint64       eos_token_id;             /* 2: legacy, pool at the highest token id */
} VmClipTextConfig;

typedef struct {
  guint        hidden_size;              /* 768 */
  guint        intermediate_size;        /* 3072 */
  guint        projection_dim;           /* 512 */
  guint        num_hidden_layers;        /* 12 */
  guint        num_attention_heads;      /* 12 */
  guint        num_channels;             /* 3 */
  guint        image_size;               /* 224 */
  guint        patch_size;               /* 32 */
  VmActivation hidden_act;               /* quick_gelu */
  double       layer_norm_eps;           /* 1e-5 */
} VmClipVisionConfig;

typedef struct {
  VmClipTextConfig   text;
  VmClipVisionConfig vision;
  guint              projection_dim;          /* 512 */
  double             logit_scale_init_value;  /* 2.6592 */
} VmClipConfig;

/* Fills @config with the defaults. */
void     vm_clip_config_init_defaults (VmClipConfig  *config);
/* Parses config.json text; on success @config holds the defaults overridden
 * by the file.  VM_MODEL_ERROR_CONFIG when it is not JSON, a value has the
 * wrong type or is out of range, hidden_size is not a multiple of
 * num_attention_heads, image_size not a multiple of patch_size, or
 * hidden_act is neither "quick_gelu" nor "gelu". */
gboolean vm_clip_config_parse         (const char    *data,
                                       gsize          length,
                                       VmClipConfig  *config,
                                       GError       **error);
gboolean vm_clip_config_load          (const char    *path,
                                       VmClipConfig  *config,
                                       GError       **error);

/* The vision tower's sequence: (image_size / patch_size)² patches + 1. */
guint    vm_clip_vision_config_get_n_positions (const VmClipVisionConfig *vision);

typedef struct {
  gboolean do_resize;        /* TRUE */
  guint    shortest_edge;    /* resize so the shorter side is this: 224 */
  guint    resample;         /* PIL filter: 3 = bicubic */
  gboolean do_center_crop;   /* TRUE */
  guint    crop_height;      /* 224 */
  guint    crop_width;       /* 224 */
  gboolean do_rescale;       /* TRUE */
  double   rescale_factor;   /* 1/255 */
  gboolean do_normalize;     /* TRUE */
  float    image_mean[3];    /* OpenAI's: 0.48145466, 0.4578275, 0.40821073 */
  float    image_std[3];     /* OpenAI's: 0.26862954, 0.26130258, 0.27577711 */
} VmClipPreprocessConfig;

/* OpenAI's preprocessing for square images of @image_size (224 unless the
 * vision config says otherwise). */
void     vm_clip_preprocess_config_init_defaults (VmClipPreprocessConfig  *config,
                                                  guint                    image_size);
/* Parses preprocessor_config.json ("size" and "crop_size" as a number or
 * as {"shortest_edge"} / {"height", "width"}). */
gboolean vm_clip_preprocess_config_parse         (const char              *data,
                                                  gsize                    length,
                                                  guint                    image_size,
                                                  VmClipPreprocessConfig  *config,
                                                  GError                 **error);
/* Loads @dir/preprocessor_config.json, or gives the defaults when there is
 * none. */
gboolean vm_clip_preprocess_config_load_dir      (const char              *dir,
                                                  guint                    image_size,
                                                  VmClipPreprocessConfig  *config,
                                                  GError                 **error);

G_END_DECLS
