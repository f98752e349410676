/* vm-clip-config.c — Hugging Face CLIP config.json and
 * preprocessor_config.json.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-clip-config.h"
#include "model/vm-model-error.h"
#include "model/vm-model-json-private.h"

#include <inttypes.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#define MAX_CONFIG_FILE_SIZE (4 * 1024 * 1024)

const char *
vm_activation_get_name (VmActivation act)
{
  return act == VM_ACTIVATION_GELU ? "gelu" : "quick_gelu";
}

void
vm_clip_config_init_defaults (VmClipConfig *config)
{
  *config = (VmClipConfig) {
    .text = {
      .vocab_size = 49408,
      .hidden_size = 512,
      .intermediate_size = 2048,
      .projection_dim = 512,
      .num_hidden_layers = 12,
      .num_attention_heads = 8,
      .max_position_embeddings = 77,
      .hidden_act = VM_ACTIVATION_QUICK_GELU,
      .layer_norm_eps = 1e-5,
      .eos_token_id = 2,
    },
    .vision = {
      .hidden_size = 768,
      .intermediate_size = 3072,
      .projection_dim = 512,
      .num_hidden_layers = 12,
      .num_attention_heads = 12,
      .num_channels = 3,
      .image_size = 224,
      .patch_size = 32,
      .hidden_act = VM_ACTIVATION_QUICK_GELU,
      .layer_norm_eps = 1e-5,
    },
    .projection_dim = 512,
    .logit_scale_init_value = 2.6592,
  };
}

guint
vm_clip_vision_config_get_n_positions (const VmClipVisionConfig *vision)
{
  guint side = vision->image_size / vision->patch_size;

  return side * side + 1;
}

/* A member, or NULL when absent or null (null means "the default"). */
static JsonNode *
get_member (JsonObject *object,
            const char *key)
{
  JsonNode *node = json_object_get_member (object, key);

  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

static gboolean
read_uint (JsonObject  *object,
           const char  *prefix,
           const char  *key,
           guint64      min,
           guint64      max,
           guint       *dest,
           GError     **error)
{
  JsonNode *node = get_member (object, key);
  gint64 v;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%s%s is not an integer"), prefix, key);
      return FALSE;
    }
  v = json_node_get_int (node);
  if (v < 0 || (guint64) v < min || (guint64) v > max)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%s%s is %" PRId64 "; it must be between %" PRIu64
                     " and %" PRIu64), prefix, key, v, min, max);
      return FALSE;
    }
  *dest = (guint) v;
  return TRUE;
}

static gboolean
read_double (JsonObject  *object,
             const char  *prefix,
             const char  *key,
             double       min,
             double       max,
             double      *dest,
             GError     **error)
{
  JsonNode *node = get_member (object, key);
  double v;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      (json_node_get_value_type (node) != G_TYPE_DOUBLE &&
       json_node_get_value_type (node) != G_TYPE_INT64))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%s%s is not a number"), prefix, key);
      return FALSE;
    }
  v = json_node_get_value_type (node) == G_TYPE_DOUBLE ? json_node_get_double (node)
                                                       : (double) json_node_get_int (node);
  if (!isfinite (v) || v < min || v > max)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%s%s is %g; it must be between %g and %g"), prefix, key, v, min, max);
      return FALSE;
    }
  *dest = v;
  return TRUE;
}

static gboolean
read_bool (JsonObject  *object,
           const char  *prefix,
           const char  *key,
           gboolean    *dest,
           GError     **error)
{
  JsonNode *node = get_member (object, key);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%s%s is not true or false"), prefix, key);
      return FALSE;
    }
  *dest = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
read_activation (JsonObject    *object,
                 const char    *prefix,
                 VmActivation  *dest,
                 GError       **error)
{
  JsonNode *node = get_member (object, "hidden_act");
  const char *name;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%shidden_act is not a string"), prefix);
      return FALSE;
    }
  name = json_node_get_string (node);
  if (g_strcmp0 (name, "quick_gelu") == 0)
    *dest = VM_ACTIVATION_QUICK_GELU;
  else if (g_strcmp0 (name, "gelu") == 0)
    *dest = VM_ACTIVATION_GELU;
  else
    {
      g_autofree char *shown = g_utf8_substring (name, 0, MIN (g_utf8_strlen (name, -1), 40));
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%shidden_act “%s” is not supported (expected quick_gelu or gelu)"),
                   prefix, shown);
      return FALSE;
    }
  return TRUE;
}

/* Limits generous enough for any CLIP yet small enough that sizes derived
 * from them cannot overflow. */
#define MAX_HIDDEN      16384
#define MAX_FFN         (4 * 16384)
#define MAX_LAYERS      256
#define MAX_VOCAB       (1 << 22)
#define MAX_POSITIONS   16384
#define MAX_IMAGE       4096
#define MAX_CHANNELS    16

static gboolean
read_text (JsonObject        *object,
           VmClipTextConfig  *text,
           GError           **error)
{
  const char *p = "text_config.";
  JsonNode *eos;

  if (!read_uint (object, p, "vocab_size", 2, MAX_VOCAB, &text->vocab_size, error) ||
      !read_uint (object, p, "hidden_size", 1, MAX_HIDDEN, &text->hidden_size, error) ||
      !read_uint (object, p, "intermediate_size", 1, MAX_FFN, &text->intermediate_size, error) ||
      !read_uint (object, p, "projection_dim", 1, MAX_HIDDEN, &text->projection_dim, error) ||
      !read_uint (object, p, "num_hidden_layers", 1, MAX_LAYERS, &text->num_hidden_layers, error) ||
      !read_uint (object, p, "num_attention_heads", 1, MAX_HIDDEN, &text->num_attention_heads, error) ||
      !read_uint (object, p, "max_position_embeddings", 2, MAX_POSITIONS,
                  &text->max_position_embeddings, error) ||
      !read_activation (object, p, &text->hidden_act, error) ||
      !read_double (object, p, "layer_norm_eps", 1e-30, 1.0, &text->layer_norm_eps, error))
    return FALSE;

  eos = get_member (object, "eos_token_id");
  if (eos != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (eos) || json_node_get_value_type (eos) != G_TYPE_INT64)
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                       _("%seos_token_id is not an integer"), p);
          return FALSE;
        }
      text->eos_token_id = json_node_get_int (eos);
    }
  return TRUE;
}

static gboolean
read_vision (JsonObject          *object,
             VmClipVisionConfig  *vision,
             GError             **error)
{
  const char *p = "vision_config.";

  return read_uint (object, p, "hidden_size", 1, MAX_HIDDEN, &vision->hidden_size, error) &&
         read_uint (object, p, "intermediate_size", 1, MAX_FFN, &vision->intermediate_size, error) &&
         read_uint (object, p, "projection_dim", 1, MAX_HIDDEN, &vision->projection_dim, error) &&
         read_uint (object, p, "num_hidden_layers", 1, MAX_LAYERS, &vision->num_hidden_layers, error) &&
         read_uint (object, p, "num_attention_heads", 1, MAX_HIDDEN, &vision->num_attention_heads, error) &&
         read_uint (object, p, "num_channels", 1, MAX_CHANNELS, &vision->num_channels, error) &&
         read_uint (object, p, "image_size", 1, MAX_IMAGE, &vision->image_size, error) &&
         read_uint (object, p, "patch_size", 1, MAX_IMAGE, &vision->patch_size, error) &&
         read_activation (object, p, &vision->hidden_act, error) &&
         read_double (object, p, "layer_norm_eps", 1e-30, 1.0, &vision->layer_norm_eps, error);
}

static gboolean
read_text_cb (JsonObject  *object,
              gpointer     dest,
              GError     **error)
{
  return read_text (object, dest, error);
}

static gboolean
read_vision_cb (JsonObject  *object,
                gpointer     dest,
                GError     **error)
{
  return read_vision (object, dest, error);
}

/* Applies @key and then @key_dict (which wins, as in transformers). */
static gboolean
read_sub_config (JsonObject  *root,
                 const char  *key,
                 gboolean   (*read) (JsonObject *, gpointer, GError **),
                 gpointer     dest,
                 GError     **error)
{
  g_autofree char *dict_key = g_strconcat (key, "_dict", NULL);
  const char *keys[] = { key, dict_key };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      JsonNode *node = get_member (root, keys[i]);

      if (node == NULL)
        continue;
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                       _("%s is not an object"), keys[i]);
          return FALSE;
        }
      if (!read (json_node_get_object (node), dest, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
validate_tower (const char  *tower,
                guint        hidden,
                guint        heads,
                GError     **error)
{
  if (hidden % heads != 0)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("%s.hidden_size %u is not a multiple of num_attention_heads %u"),
                   tower, hidden, heads);
      return FALSE;
    }
  return TRUE;
}

gboolean
vm_clip_config_parse (const char    *data,
                      gsize          length,
                      VmClipConfig  *config,
                      GError       **error)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  JsonNode *type;
  VmClipConfig c;

  g_return_val_if_fail (config != NULL, FALSE);

  vm_clip_config_init_defaults (&c);

  if (length > MAX_CONFIG_FILE_SIZE)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG, _("config.json is too large"));
      return FALSE;
    }
  root = _vm_model_json_parse (data, length, VM_MODEL_JSON_MAX_DEPTH, FALSE,
                               "config.json", VM_MODEL_ERROR_CONFIG, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("config.json is not a JSON object"));
      return FALSE;
    }
  object = json_node_get_object (root);

  type = get_member (object, "model_type");
  if (type != NULL &&
      (!JSON_NODE_HOLDS_VALUE (type) || json_node_get_value_type (type) != G_TYPE_STRING ||
       g_strcmp0 (json_node_get_string (type), "clip") != 0))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("config.json: model_type is not “clip”"));
      return FALSE;
    }

  if (!read_uint (object, "", "projection_dim", 1, MAX_HIDDEN, &c.projection_dim, error) ||
      !read_double (object, "", "logit_scale_init_value", -100.0, 100.0,
                    &c.logit_scale_init_value, error) ||
      !read_sub_config (object, "text_config", read_text_cb, &c.text, error) ||
      !read_sub_config (object, "vision_config", read_vision_cb, &c.vision, error))
    return FALSE;

  if (!validate_tower ("text_config", c.text.hidden_size, c.text.num_attention_heads, error) ||
      !validate_tower ("vision_config", c.vision.hidden_size, c.vision.num_attention_heads, error))
    return FALSE;
  if (c.vision.image_size % c.vision.patch_size != 0)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("vision_config.image_size %u is not a multiple of patch_size %u"),
                   c.vision.image_size, c.vision.patch_size);
      return FALSE;
    }
  if (c.text.eos_token_id < 0 || c.text.eos_token_id >= c.text.vocab_size)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("text_config.eos_token_id %" PRId64 " is not a token id (vocab_size %u)"),
                   c.text.eos_token_id, c.text.vocab_size);
      return FALSE;
    }

  *config = c;
  return TRUE;
}

static gboolean
load_file (const char  *path,
           GMappedFile **out,
           GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  *out = g_mapped_file_new (path, FALSE, &local_error);
  if (*out == NULL)
    {
      int code = g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? VM_MODEL_ERROR_NOT_FOUND : VM_MODEL_ERROR_IO;
      g_set_error (error, VM_MODEL_ERROR, code, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
vm_clip_config_load (const char    *path,
                     VmClipConfig  *config,
                     GError       **error)
{
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *data;

  if (!load_file (path, &file, error))
    return FALSE;
  data = g_mapped_file_get_contents (file);
  if (!vm_clip_config_parse (data != NULL ? data : "", g_mapped_file_get_length (file),
                             config, &local_error))
    {
      g_autofree char *display = g_filename_display_name (path);
      g_set_error (error, VM_MODEL_ERROR, local_error->code, "%s: %s", display, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */

void
vm_clip_preprocess_config_init_defaults (VmClipPreprocessConfig *config,
                                         guint                   image_size)
{
  *config = (VmClipPreprocessConfig) {
    .do_resize = TRUE,
    .shortest_edge = image_size,
    .resample = 3,
    .do_center_crop = TRUE,
    .crop_height = image_size,
    .crop_width = image_size,
    .do_rescale = TRUE,
    .rescale_factor = 1.0 / 255.0,
    .do_normalize = TRUE,
    .image_mean = { 0.48145466f, 0.4578275f, 0.40821073f },
    .image_std = { 0.26862954f, 0.26130258f, 0.27577711f },
  };
}

/* "size": 224 | {"shortest_edge": 224} | {"height": h, "width": w} */
static gboolean
read_size (JsonObject  *object,
           const char  *key,
           gboolean     shortest_edge_only,
           guint       *height,
           guint       *width,
           GError     **error)
{
  JsonNode *node = get_member (object, key);
  guint v = 0;

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      if (!read_uint (object, "preprocessor_config.json: ", key, 1, MAX_IMAGE, &v, error))
        return FALSE;
      *height = *width = v;
      return TRUE;
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *sub = json_node_get_object (node);
      g_autofree char *prefix = g_strconcat ("preprocessor_config.json: ", key, ".", NULL);
      guint h = 0, w = 0;

      if (json_object_has_member (sub, "shortest_edge"))
        {
          if (!read_uint (sub, prefix, "shortest_edge", 1, MAX_IMAGE, &v, error))
            return FALSE;
          *height = *width = v;
          return TRUE;
        }
      if (!read_uint (sub, prefix, "height", 1, MAX_IMAGE, &h, error) ||
          !read_uint (sub, prefix, "width", 1, MAX_IMAGE, &w, error))
        return FALSE;
      if (h != 0 && w != 0 && (!shortest_edge_only || h == w))
        {
          *height = h;
          *width = w;
          return TRUE;
        }
    }
  g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
               shortest_edge_only
               ? _("preprocessor_config.json: %s is not a number or {\"shortest_edge\": N}")
               : _("preprocessor_config.json: %s is not a number or {\"height\": H, \"width\": W}"),
               key);
  return FALSE;
}

static gboolean
read_triple (JsonObject  *object,
             const char  *key,
             gboolean     positive,
             float       *dest,
             GError     **error)
{
  JsonNode *node = get_member (object, key);
  JsonArray *array;
  float v[3];

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (array = json_node_get_array (node)) != 3)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("preprocessor_config.json: %s is not a list of 3 numbers"), key);
      return FALSE;
    }
  for (guint i = 0; i < 3; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      double d;

      if (!JSON_NODE_HOLDS_VALUE (e) ||
          (json_node_get_value_type (e) != G_TYPE_DOUBLE && json_node_get_value_type (e) != G_TYPE_INT64))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                       _("preprocessor_config.json: %s is not a list of 3 numbers"), key);
          return FALSE;
        }
      d = json_node_get_value_type (e) == G_TYPE_DOUBLE ? json_node_get_double (e)
                                                        : (double) json_node_get_int (e);
      if (!isfinite (d) || fabs (d) > 1e6 || (positive && !(d > 0)))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                       positive ? _("preprocessor_config.json: %s has a value that is not positive")
                                : _("preprocessor_config.json: %s has a value out of range"),
                       key);
          return FALSE;
        }
      v[i] = (float) d;
    }
  memcpy (dest, v, sizeof v);
  return TRUE;
}

gboolean
vm_clip_preprocess_config_parse (const char              *data,
                                 gsize                    length,
                                 guint                    image_size,
                                 VmClipPreprocessConfig  *config,
                                 GError                 **error)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  VmClipPreprocessConfig c;
  const char *p = "preprocessor_config.json: ";
  guint edge_h, edge_w;

  g_return_val_if_fail (config != NULL, FALSE);

  vm_clip_preprocess_config_init_defaults (&c, image_size);
  if (length > MAX_CONFIG_FILE_SIZE)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("preprocessor_config.json is too large"));
      return FALSE;
    }
  root = _vm_model_json_parse (data, length, VM_MODEL_JSON_MAX_DEPTH, FALSE,
                               "preprocessor_config.json", VM_MODEL_ERROR_CONFIG, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("preprocessor_config.json is not a JSON object"));
      return FALSE;
    }
  object = json_node_get_object (root);

  edge_h = edge_w = c.shortest_edge;
  if (!read_size (object, "size", TRUE, &edge_h, &edge_w, error) ||
      !read_size (object, "crop_size", FALSE, &c.crop_height, &c.crop_width, error) ||
      !read_uint (object, p, "resample", 0, 5, &c.resample, error) ||
      !read_bool (object, p, "do_resize", &c.do_resize, error) ||
      !read_bool (object, p, "do_center_crop", &c.do_center_crop, error) ||
      !read_bool (object, p, "do_rescale", &c.do_rescale, error) ||
      !read_bool (object, p, "do_normalize", &c.do_normalize, error) ||
      !read_double (object, p, "rescale_factor", 1e-9, 1e9, &c.rescale_factor, error) ||
      !read_triple (object, "image_mean", FALSE, c.image_mean, error) ||
      !read_triple (object, "image_std", TRUE, c.image_std, error))
    return FALSE;
  c.shortest_edge = edge_h;

  *config = c;
  return TRUE;
}

gboolean
vm_clip_preprocess_config_load_dir (const char              *dir,
                                    guint                    image_size,
                                    VmClipPreprocessConfig  *config,
                                    GError                 **error)
{
  g_autofree char *path = g_build_filename (dir, "preprocessor_config.json", NULL);
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *data;

  if (!load_file (path, &file, &local_error))
    {
      if (g_error_matches (local_error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND))
        {
          vm_clip_preprocess_config_init_defaults (config, image_size);
          return TRUE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  data = g_mapped_file_get_contents (file);
  return vm_clip_preprocess_config_parse (data != NULL ? data : "", g_mapped_file_get_length (file),
                                          image_size, config, error);
}
