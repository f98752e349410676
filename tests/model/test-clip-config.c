/* test-clip-config.c — CLIP config.json and preprocessor_config.json.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-clip-config.h"
#include "model/vm-model-error.h"

#include <glib/gstdio.h>
#include <string.h>

static gboolean
parse (const char    *json,
       VmClipConfig  *config,
       GError       **error)
{
  return vm_clip_config_parse (json, strlen (json), config, error);
}

static void
assert_same (const VmClipConfig *a,
             const VmClipConfig *b)
{
#define SAME(f) g_assert_true (a->f == b->f)
  SAME (text.vocab_size); SAME (text.hidden_size); SAME (text.intermediate_size);
  SAME (text.projection_dim); SAME (text.num_hidden_layers); SAME (text.num_attention_heads);
  SAME (text.max_position_embeddings); SAME (text.hidden_act); SAME (text.layer_norm_eps);
  SAME (text.eos_token_id);
  SAME (vision.hidden_size); SAME (vision.intermediate_size); SAME (vision.projection_dim);
  SAME (vision.num_hidden_layers); SAME (vision.num_attention_heads); SAME (vision.num_channels);
  SAME (vision.image_size); SAME (vision.patch_size); SAME (vision.hidden_act);
  SAME (vision.layer_norm_eps);
  SAME (projection_dim); SAME (logit_scale_init_value);
#undef SAME
}

static void
test_defaults (void)
{
  g_autoptr(GError) error = NULL;
  VmClipConfig c, d;

  memset (&c, 0xab, sizeof c);
  g_assert_true (parse ("{}", &c, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (c.text.vocab_size, ==, 49408);
  g_assert_cmpuint (c.text.hidden_size, ==, 512);
  g_assert_cmpuint (c.text.intermediate_size, ==, 2048);
  g_assert_cmpuint (c.text.projection_dim, ==, 512);
  g_assert_cmpuint (c.text.num_hidden_layers, ==, 12);
  g_assert_cmpuint (c.text.num_attention_heads, ==, 8);
  g_assert_cmpuint (c.text.max_position_embeddings, ==, 77);
  g_assert_cmpint (c.text.hidden_act, ==, VM_ACTIVATION_QUICK_GELU);
  g_assert_cmpfloat (c.text.layer_norm_eps, ==, 1e-5);
  g_assert_cmpint (c.text.eos_token_id, ==, 2);

  g_assert_cmpuint (c.vision.hidden_size, ==, 768);
  g_assert_cmpuint (c.vision.intermediate_size, ==, 3072);
  g_assert_cmpuint (c.vision.projection_dim, ==, 512);
  g_assert_cmpuint (c.vision.num_hidden_layers, ==, 12);
  g_assert_cmpuint (c.vision.num_attention_heads, ==, 12);
  g_assert_cmpuint (c.vision.num_channels, ==, 3);
  g_assert_cmpuint (c.vision.image_size, ==, 224);
  g_assert_cmpuint (c.vision.patch_size, ==, 32);
  g_assert_cmpint (c.vision.hidden_act, ==, VM_ACTIVATION_QUICK_GELU);
  g_assert_cmpfloat (c.vision.layer_norm_eps, ==, 1e-5);
  g_assert_cmpuint (vm_clip_vision_config_get_n_positions (&c.vision), ==, 50);

  g_assert_cmpuint (c.projection_dim, ==, 512);
  g_assert_cmpfloat (c.logit_scale_init_value, ==, 2.6592);

  vm_clip_config_init_defaults (&d);
  assert_same (&c, &d);

  /* Empty sub-configs and nulls are defaults too. */
  g_assert_true (parse ("{\"text_config\": {}, \"vision_config\": null, \"projection_dim\": null,"
                        " \"architectures\": [\"CLIPModel\"], \"model_type\": \"clip\"}", &c, &error));
  g_assert_no_error (error);
  assert_same (&c, &d);

  g_assert_cmpstr (vm_activation_get_name (VM_ACTIVATION_GELU), ==, "gelu");
  g_assert_cmpstr (vm_activation_get_name (VM_ACTIVATION_QUICK_GELU), ==, "quick_gelu");
}

/* Shaped like OpenAI's ViT-L/14-336 config.json (only non-defaults listed). */
static void
test_openai_large (void)
{
  static const char json[] =
    "{\"architectures\": [\"CLIPModel\"], \"initializer_factor\": 1.0,"
    " \"logit_scale_init_value\": 2.6592, \"model_type\": \"clip\", \"projection_dim\": 768,"
    " \"text_config\": {\"hidden_size\": 768, \"intermediate_size\": 3072,"
    "   \"num_attention_heads\": 12, \"projection_dim\": 768, \"bos_token_id\": 0,"
    "   \"eos_token_id\": 2, \"dropout\": 0.0, \"torch_dtype\": \"float32\"},"
    " \"text_config_dict\": {\"hidden_size\": 768, \"intermediate_size\": 3072,"
    "   \"num_attention_heads\": 12, \"projection_dim\": 768},"
    " \"torch_dtype\": \"float32\", \"transformers_version\": null,"
    " \"vision_config\": {\"hidden_size\": 1024, \"image_size\": 336, \"intermediate_size\": 4096,"
    "   \"num_attention_heads\": 16, \"num_hidden_layers\": 24, \"patch_size\": 14,"
    "   \"projection_dim\": 768},"
    " \"vision_config_dict\": {\"hidden_size\": 1024, \"image_size\": 336,"
    "   \"intermediate_size\": 4096, \"num_attention_heads\": 16, \"num_hidden_layers\": 24,"
    "   \"patch_size\": 14, \"projection_dim\": 768}}";
  g_autoptr(GError) error = NULL;
  VmClipConfig c;

  g_assert_true (parse (json, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.projection_dim, ==, 768);
  g_assert_cmpuint (c.text.hidden_size, ==, 768);
  g_assert_cmpuint (c.text.num_attention_heads, ==, 12);
  g_assert_cmpuint (c.text.num_hidden_layers, ==, 12);
  g_assert_cmpuint (c.vision.hidden_size, ==, 1024);
  g_assert_cmpuint (c.vision.num_hidden_layers, ==, 24);
  g_assert_cmpuint (c.vision.image_size, ==, 336);
  g_assert_cmpuint (c.vision.patch_size, ==, 14);
  g_assert_cmpuint (vm_clip_vision_config_get_n_positions (&c.vision), ==, 24 * 24 + 1);
  g_assert_cmpint (c.vision.hidden_act, ==, VM_ACTIVATION_QUICK_GELU);
}

/* Shaped like a LAION ViT-H/14: exact GELU, other sizes, eos 49407. */
static void
test_laion (void)
{
  static const char json[] =
    "{\"model_type\": \"clip\", \"projection_dim\": 1024, \"logit_scale_init_value\": 2.6592,"
    " \"text_config\": {\"hidden_act\": \"gelu\", \"hidden_size\": 1024,"
    "   \"intermediate_size\": 4096, \"num_attention_heads\": 16, \"num_hidden_layers\": 24,"
    "   \"layer_norm_eps\": 1e-05, \"eos_token_id\": 49407},"
    " \"vision_config\": {\"hidden_act\": \"gelu\", \"hidden_size\": 1280,"
    "   \"intermediate_size\": 5120, \"num_attention_heads\": 16, \"num_hidden_layers\": 32,"
    "   \"patch_size\": 14, \"layer_norm_eps\": 1e-6}}";
  g_autoptr(GError) error = NULL;
  VmClipConfig c;

  g_assert_true (parse (json, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.text.hidden_act, ==, VM_ACTIVATION_GELU);
  g_assert_cmpint (c.vision.hidden_act, ==, VM_ACTIVATION_GELU);
  g_assert_cmpuint (c.text.hidden_size, ==, 1024);
  g_assert_cmpuint (c.text.num_hidden_layers, ==, 24);
  g_assert_cmpint (c.text.eos_token_id, ==, 49407);
  g_assert_cmpuint (c.vision.hidden_size, ==, 1280);
  g_assert_cmpuint (c.vision.num_hidden_layers, ==, 32);
  g_assert_cmpuint (c.vision.image_size, ==, 224);
  g_assert_cmpuint (c.vision.patch_size, ==, 14);
  g_assert_cmpuint (vm_clip_vision_config_get_n_positions (&c.vision), ==, 257);
  g_assert_cmpfloat (c.vision.layer_norm_eps, ==, 1e-6);
  g_assert_cmpuint (c.projection_dim, ==, 1024);

  /* The legacy _dict member wins over the plain one. */
  g_assert_true (parse ("{\"text_config\": {\"hidden_act\": \"gelu\", \"hidden_size\": 256},"
                        " \"text_config_dict\": {\"hidden_act\": \"quick_gelu\"}}", &c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.text.hidden_act, ==, VM_ACTIVATION_QUICK_GELU);
  g_assert_cmpuint (c.text.hidden_size, ==, 256);

  /* A tiny test model. */
  g_assert_true (parse ("{\"projection_dim\": 8, \"text_config\": {\"vocab_size\": 600,"
                        " \"hidden_size\": 12, \"intermediate_size\": 20, \"num_attention_heads\": 3,"
                        " \"num_hidden_layers\": 1, \"max_position_embeddings\": 16},"
                        " \"vision_config\": {\"hidden_size\": 16, \"intermediate_size\": 8,"
                        " \"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"image_size\": 30,"
                        " \"patch_size\": 6, \"num_channels\": 3}}", &c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.text.max_position_embeddings, ==, 16);
  g_assert_cmpuint (vm_clip_vision_config_get_n_positions (&c.vision), ==, 26);
}

static void
test_invalid (void)
{
  static const struct {
    const char *json;
    const char *message_part;
  } cases[] = {
    { "", "config.json" },
    { "not json", "not JSON" },
    { "[1, 2]", "not a JSON object" },
    { "{\"text_config\": {\"hidden_size\": 100, \"num_attention_heads\": 8}}",
      "text_config.hidden_size 100 is not a multiple of num_attention_heads 8" },
    { "{\"vision_config\": {\"hidden_size\": 768, \"num_attention_heads\": 10}}",
      "vision_config.hidden_size 768 is not a multiple of num_attention_heads 10" },
    { "{\"vision_config\": {\"image_size\": 225}}",
      "vision_config.image_size 225 is not a multiple of patch_size 32" },
    { "{\"vision_config\": {\"hidden_act\": \"relu\"}}",
      "vision_config.hidden_act “relu” is not supported (expected quick_gelu or gelu)" },
    { "{\"text_config\": {\"hidden_act\": \"gelu_new\"}}", "text_config.hidden_act “gelu_new”" },
    { "{\"text_config\": {\"hidden_act\": 3}}", "text_config.hidden_act is not a string" },
    { "{\"text_config\": {\"hidden_size\": -512}}", "text_config.hidden_size is -512" },
    { "{\"text_config\": {\"num_attention_heads\": 0}}", "text_config.num_attention_heads is 0" },
    { "{\"text_config\": {\"hidden_size\": 512.5}}", "text_config.hidden_size is not an integer" },
    { "{\"text_config\": {\"hidden_size\": \"512\"}}", "text_config.hidden_size is not an integer" },
    { "{\"text_config\": {\"hidden_size\": 10000000}}", "text_config.hidden_size is 10000000; it must be between 1 and 16384" },
    { "{\"text_config\": {\"num_hidden_layers\": 100000}}", "num_hidden_layers" },
    { "{\"text_config\": {\"vocab_size\": 1}}", "vocab_size" },
    { "{\"text_config\": {\"max_position_embeddings\": 1}}", "max_position_embeddings" },
    { "{\"text_config\": {\"layer_norm_eps\": 0}}", "text_config.layer_norm_eps is 0" },
    { "{\"text_config\": {\"layer_norm_eps\": -1e-5}}", "layer_norm_eps" },
    { "{\"text_config\": {\"layer_norm_eps\": \"1e-5\"}}", "text_config.layer_norm_eps is not a number" },
    { "{\"text_config\": {\"eos_token_id\": 49408}}", "text_config.eos_token_id 49408 is not a token id" },
    { "{\"text_config\": {\"eos_token_id\": -1}}", "eos_token_id" },
    { "{\"text_config\": [1]}", "text_config is not an object" },
    { "{\"vision_config_dict\": 5}", "vision_config_dict is not an object" },
    { "{\"vision_config\": {\"patch_size\": 0}}", "vision_config.patch_size is 0" },
    { "{\"vision_config\": {\"num_channels\": 0}}", "num_channels" },
    { "{\"projection_dim\": 0}", "projection_dim is 0" },
    { "{\"logit_scale_init_value\": \"x\"}", "logit_scale_init_value is not a number" },
    { "{\"model_type\": \"siglip\"}", "model_type is not “clip”" },
    { "{\"text_config\": {\"hidden_size\": 99999999999999999999}}", "64-bit range" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      VmClipConfig c, before;

      memset (&c, 0x5a, sizeof c);
      before = c;
      g_assert_false (parse (cases[i].json, &c, &error));
      g_test_message ("%s: %s", cases[i].json, error->message);
      g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG);
      if (strstr (error->message, cases[i].message_part) == NULL)
        g_error ("“%s” gave “%s”, expected it to contain “%s”",
                 cases[i].json, error->message, cases[i].message_part);
      /* A failed parse leaves the output alone. */
      g_assert_cmpmem (&c, sizeof c, &before, sizeof before);
    }

  /* Very deep nesting is refused before json-glib sees it. */
  {
    g_autoptr(GString) deep = g_string_new ("{\"a\": ");
    g_autoptr(GError) error = NULL;
    VmClipConfig c;

    for (int i = 0; i < 200000; i++)
      g_string_append_c (deep, '[');
    g_assert_false (parse (deep->str, &c, &error));
    g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG);
  }
}

static char *
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vm-clip-config-XXXXXX", &error);
  g_autofree char *config_path = NULL;
  g_autofree char *pre_path = NULL;
  VmClipConfig c;
  VmClipPreprocessConfig p;

  g_assert_no_error (error);

  g_assert_false (vm_clip_config_load ("/nonexistent/config.json", &c, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  config_path = write_file (dir, "config.json", "{\"vision_config\": {\"patch_size\": 15}}");
  g_assert_false (vm_clip_config_load (config_path, &c, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG);
  g_assert_true (g_str_has_suffix (error->message,
                                   "config.json: vision_config.image_size 224 is not a multiple of patch_size 15"));
  g_clear_error (&error);
  g_free (config_path);
  config_path = write_file (dir, "config.json", "{\"vision_config\": {\"patch_size\": 16}}");
  g_assert_true (vm_clip_config_load (config_path, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.vision.patch_size, ==, 16);

  /* No preprocessor_config.json: OpenAI's preprocessing at the model's size. */
  memset (&p, 0, sizeof p);
  g_assert_true (vm_clip_preprocess_config_load_dir (dir, 336, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (p.shortest_edge, ==, 336);
  g_assert_cmpuint (p.crop_height, ==, 336);
  g_assert_cmpuint (p.crop_width, ==, 336);
  g_assert_cmpuint (p.resample, ==, 3);
  g_assert_true (p.do_resize && p.do_center_crop && p.do_rescale && p.do_normalize);
  g_assert_cmpfloat_with_epsilon (p.rescale_factor, 1.0 / 255.0, 1e-12);
  g_assert_cmpfloat (p.image_mean[0], ==, 0.48145466f);
  g_assert_cmpfloat (p.image_mean[1], ==, 0.4578275f);
  g_assert_cmpfloat (p.image_mean[2], ==, 0.40821073f);
  g_assert_cmpfloat (p.image_std[0], ==, 0.26862954f);
  g_assert_cmpfloat (p.image_std[1], ==, 0.26130258f);
  g_assert_cmpfloat (p.image_std[2], ==, 0.27577711f);

  /* OpenAI's file as published (old flat format). */
  pre_path = write_file (dir, "preprocessor_config.json",
                         "{\"crop_size\": 224, \"do_center_crop\": true, \"do_normalize\": true,"
                         " \"do_resize\": true, \"feature_extractor_type\": \"CLIPFeatureExtractor\","
                         " \"image_mean\": [0.48145466, 0.4578275, 0.40821073],"
                         " \"image_std\": [0.26862954, 0.26130258, 0.27577711],"
                         " \"resample\": 3, \"size\": 224}");
  g_assert_true (vm_clip_preprocess_config_load_dir (dir, 224, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (p.shortest_edge, ==, 224);
  g_assert_cmpuint (p.crop_height, ==, 224);
  g_assert_cmpuint (p.crop_width, ==, 224);
  g_assert_cmpfloat (p.image_std[2], ==, 0.27577711f);

  /* The newer format with objects, and other values. */
  g_clear_pointer (&pre_path, g_free);
  pre_path = write_file (dir, "preprocessor_config.json",
                         "{\"crop_size\": {\"height\": 256, \"width\": 240},"
                         " \"size\": {\"shortest_edge\": 288}, \"resample\": 2,"
                         " \"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.5, 1, 0.5],"
                         " \"do_rescale\": true, \"rescale_factor\": 0.00392156862745098,"
                         " \"image_processor_type\": \"CLIPImageProcessor\"}");
  g_assert_true (vm_clip_preprocess_config_load_dir (dir, 224, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (p.shortest_edge, ==, 288);
  g_assert_cmpuint (p.crop_height, ==, 256);
  g_assert_cmpuint (p.crop_width, ==, 240);
  g_assert_cmpuint (p.resample, ==, 2);
  g_assert_cmpfloat (p.image_mean[1], ==, 0.5f);
  g_assert_cmpfloat (p.image_std[1], ==, 1.0f);

  {
    static const char * const bad[] = {
      "{\"image_mean\": [0.5, 0.5]}",
      "{\"image_mean\": [0.5, \"x\", 0.5]}",
      "{\"image_std\": [0.5, 0, 0.5]}",
      "{\"crop_size\": \"224\"}",
      "{\"crop_size\": {\"height\": 224}}",
      "{\"size\": {\"height\": 224, \"width\": 300}}",
      "{\"size\": 0}",
      "{\"do_resize\": 1}",
      "{\"resample\": 9}",
      "[]",
      "{",
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        VmClipPreprocessConfig q;

        g_assert_false (vm_clip_preprocess_config_parse (bad[i], strlen (bad[i]), 224, &q, &error));
        g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG);
        g_test_message ("%s: %s", bad[i], error->message);
        g_clear_error (&error);
      }
  }

  g_unlink (pre_path);
  g_unlink (config_path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/model/clip-config/defaults", test_defaults);
  g_test_add_func ("/model/clip-config/openai-large", test_openai_large);
  g_test_add_func ("/model/clip-config/laion", test_laion);
  g_test_add_func ("/model/clip-config/invalid", test_invalid);
  g_test_add_func ("/model/clip-config/files", test_files);

  return g_test_run ();
}
