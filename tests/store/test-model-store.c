/* test-model-store.c — the installed-model store: validation, import, list,
 * default, remove.  Fake model folders come from tinymodel.py.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <unistd.h>
#include <utime.h>

#include "model/vm-model-download.h"
#include "model/vm-model-error.h"
#include "model/vm-model-store.h"

static const char *python;
static const char *tinymodel;
static char *tmpdir;

/* A fresh fake model folder of @variant. */
static char *
make_model (const char *variant)
{
  static guint counter;
  g_autofree char *base = g_strdup_printf ("src-%u-%s", counter++, variant);
  char *dir = g_build_filename (tmpdir, base, NULL);
  const char *argv[] = { python, tinymodel, dir, variant, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);

  return dir;
}

static char *
make_models_dir (void)
{
  static guint counter;
  g_autofree char *base = g_strdup_printf ("models-%u", counter++);

  return g_build_filename (tmpdir, base, NULL);
}

/* The folders of @dir whose name does not start with '.'. */
static guint
count_visible (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  if (d == NULL)
    return 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR))
        n++;
    }

  return n;
}

static guint
count_prefixed (const char *dir,
                const char *prefix)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  if (d == NULL)
    return 0;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      n++;

  return n;
}

static void
test_names (void)
{
  g_assert_true (vm_model_name_is_valid ("clip-vit-base-patch32"));
  g_assert_true (vm_model_name_is_valid ("CLIP-ViT-B-32-laion2B-s34B-b79K"));
  g_assert_true (vm_model_name_is_valid ("a.b_c+d"));
  g_assert_false (vm_model_name_is_valid (NULL));
  g_assert_false (vm_model_name_is_valid (""));
  g_assert_false (vm_model_name_is_valid (".hidden"));
  g_assert_false (vm_model_name_is_valid ("-x"));
  g_assert_false (vm_model_name_is_valid ("a/b"));
  g_assert_false (vm_model_name_is_valid (".."));
  g_assert_false (vm_model_name_is_valid ("a b"));
  {
    g_autofree char *long_name = g_strnfill (VM_MODEL_NAME_MAX + 1, 'a');

    g_assert_false (vm_model_name_is_valid (long_name));
    long_name[VM_MODEL_NAME_MAX] = '\0';
    g_assert_true (vm_model_name_is_valid (long_name));
  }
}

static void
test_hint_and_empty (void)
{
  g_autofree char *hint = vm_model_store_no_model_hint ();
  g_autofree char *models = make_models_dir ();
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *def = NULL;

  g_assert_nonnull (strstr (hint, "No CLIP model is installed"));
  g_assert_nonnull (strstr (hint, "vidmark model install clip-vit-base-patch32"));
  g_assert_nonnull (strstr (hint, "vidmark model import DIR"));

  /* A models folder that does not exist yet is an empty store. */
  list = vm_model_store_list (models, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);

  def = vm_model_store_get_default (models, &error);
  g_assert_null (def);
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, hint);
  g_clear_error (&error);

  g_assert_null (vm_model_store_get_default_path (models, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
}

static void
test_validate (void)
{
  struct { const char *variant; int code; const char *message; } cases[] = {
    { "missing-merges", VM_MODEL_ERROR_NOT_FOUND, "merges.txt is missing" },
    { "bad-config", VM_MODEL_ERROR_CONFIG, "patch_size" },
    { "bad-safetensors", -1, "model.safetensors in" },
    { "no-projection", VM_MODEL_ERROR_NOT_FOUND, "projections" },
  };
  g_autofree char *good = make_model ("good");
  g_autoptr(GError) error = NULL;
  VmClipConfig config;

  g_assert_true (vm_model_store_validate_dir (good, &config, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config.projection_dim, ==, 8);
  g_assert_cmpuint (config.vision.patch_size, ==, 8);
  g_assert_cmpuint (config.text.hidden_size, ==, 16);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *bad = make_model (cases[i].variant);

      g_assert_false (vm_model_store_validate_dir (bad, NULL, &error));
      g_assert_nonnull (error);
      g_assert_true (error->domain == VM_MODEL_ERROR);
      if (cases[i].code >= 0)
        g_assert_cmpint (error->code, ==, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_clear_error (&error);
    }

  g_assert_false (vm_model_store_validate_dir ("/nonexistent/vidmark", NULL, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
}

static char *
read_text (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;

  return text;
}

static void
test_import (void)
{
  g_autofree char *src = make_model ("good");
  g_autofree char *models = make_models_dir ();
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *def = NULL;
  g_autofree char *manifest = NULL;
  g_autofree char *installed_st = NULL;
  g_autofree char *src_st = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonArray *files;
  gsize len_a = 0, len_b = 0;

  /* Extra files in the source (other formats) are not copied. */
  {
    g_autofree char *extra = g_build_filename (src, "pytorch_model.bin", NULL);

    g_assert_true (g_file_set_contents (extra, "xx", 2, NULL));
  }

  name = vm_model_store_import (models, src, "tiny", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "tiny");

  list = vm_model_store_list (models, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  {
    const VmModelInfo *info = g_ptr_array_index (list, 0);
    g_autofree char *expect_source = g_strconcat ("import:", src, NULL);

    g_assert_cmpstr (info->name, ==, "tiny");
    g_assert_true (info->config_ok);
    g_assert_cmpuint (info->embed_dim, ==, 8);
    g_assert_cmpuint (info->image_size, ==, 32);
    g_assert_cmpuint (info->patch_size, ==, 8);
    g_assert_cmpuint (info->vision_width, ==, 24);
    g_assert_cmpuint (info->vision_layers, ==, 2);
    g_assert_true (info->is_default);       /* the first model becomes the default */
    g_assert_cmpstr (info->source, ==, expect_source);
    g_assert_null (info->revision);
    g_assert_nonnull (info->installed_at);
    g_assert_cmpuint (info->size, >, 2000);
  }

  def = vm_model_store_get_default (models, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, "tiny");

  /* Byte-identical copy; a manifest with sizes and hashes; nothing else. */
  {
    g_autofree char *dir = g_build_filename (models, "tiny", NULL);
    g_autofree char *a = g_build_filename (dir, "model.safetensors", NULL);
    g_autofree char *b = g_build_filename (src, "model.safetensors", NULL);
    g_autofree char *extra = g_build_filename (dir, "pytorch_model.bin", NULL);
    g_autofree char *pre = g_build_filename (dir, "preprocessor_config.json", NULL);

    g_assert_true (g_file_get_contents (a, &installed_st, &len_a, NULL));
    g_assert_true (g_file_get_contents (b, &src_st, &len_b, NULL));
    g_assert_cmpmem (installed_st, len_a, src_st, len_b);
    g_assert_false (g_file_test (extra, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (pre, G_FILE_TEST_IS_REGULAR));
    manifest = read_text (dir, VM_MODEL_MANIFEST_NAME);
  }
  g_assert_nonnull (manifest);
  g_assert_true (json_parser_load_from_data (parser, manifest, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "name"), ==, "tiny");
  files = json_object_get_array_member (root, "files");
  g_assert_cmpuint (json_array_get_length (files), ==, 5);
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *f = json_array_get_object_element (files, i);

      if (g_str_equal (json_object_get_string_member (f, "path"), "model.safetensors"))
        {
          g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                              (const guchar *) src_st, len_b);

          g_assert_cmpstr (json_object_get_string_member (f, "sha256"), ==, sha);
          g_assert_cmpint (json_object_get_int_member (f, "size"), ==, (gint64) len_b);
        }
    }

  /* The manifest catches a changed or missing file. */
  g_assert_true (vm_model_store_verify (models, "tiny", NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree char *vocab = g_build_filename (models, "tiny", "vocab.json", NULL);
    g_autofree char *pre = g_build_filename (models, "tiny", "preprocessor_config.json", NULL);
    g_autofree char *saved = NULL;
    gsize saved_len = 0;

    g_assert_true (g_file_get_contents (vocab, &saved, &saved_len, NULL));
    g_assert_true (g_file_set_contents (vocab, "{\"a\": 1}", -1, NULL));
    g_assert_false (vm_model_store_verify (models, "tiny", NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "vocab.json"));
    g_clear_error (&error);
    g_assert_true (g_file_set_contents (vocab, saved, saved_len, NULL));
    g_assert_true (vm_model_store_verify (models, "tiny", NULL, &error));

    g_assert_cmpint (g_unlink (pre), ==, 0);
    g_assert_false (vm_model_store_verify (models, "tiny", NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "preprocessor_config.json"));
    g_clear_error (&error);
  }
  g_assert_false (vm_model_store_verify (models, "nothing", NULL, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The same name again is refused; no temporary folder is left behind. */
  g_assert_null (vm_model_store_import (models, src, "tiny", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  /* The default name is the folder's base name. */
  g_clear_pointer (&name, g_free);
  name = vm_model_store_import (models, src, NULL, NULL, &error);
  g_assert_no_error (error);
  {
    g_autofree char *base = g_path_get_basename (src);

    g_assert_cmpstr (name, ==, base);
  }

  g_assert_null (vm_model_store_import (models, src, "../escape", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_cmpuint (count_visible (models), ==, 2);
  g_assert_cmpuint (count_prefixed (models, ".tmp"), ==, 0);
}

static void
test_import_invalid (void)
{
  const char *variants[] = { "missing-merges", "bad-config", "bad-safetensors", "no-projection" };
  g_autofree char *models = make_models_dir ();

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree char *src = make_model (variants[i]);
      g_autoptr(GError) error = NULL;

      g_assert_null (vm_model_store_import (models, src, "bad", NULL, &error));
      g_assert_nonnull (error);
      g_test_message ("%s: %s", variants[i], error->message);
    }

  g_assert_cmpuint (count_visible (models), ==, 0);
  g_assert_cmpuint (count_prefixed (models, ".tmp"), ==, 0);
  g_assert_null (read_text (models, VM_MODEL_DEFAULT_FILE));
}

/* A Hugging Face cache snapshot holds symbolic links into blobs/. */
static void
test_import_symlinks (void)
{
  g_autofree char *src = make_model ("good");
  g_autofree char *snapshot = g_build_filename (tmpdir, "snapshot", NULL);
  g_autofree char *models = make_models_dir ();
  g_autofree char *name = NULL;
  g_autoptr(GError) error = NULL;
  const char *files[] = { "config.json", "model.safetensors", "vocab.json", "merges.txt" };

  g_assert_cmpint (g_mkdir (snapshot, 0755), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *target = g_build_filename (src, files[i], NULL);
      g_autofree char *link = g_build_filename (snapshot, files[i], NULL);

      g_assert_cmpint (symlink (target, link), ==, 0);
    }

  name = vm_model_store_import (models, snapshot, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "snapshot");
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (models, "snapshot", files[i], NULL);

      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
      g_assert_false (g_file_test (path, G_FILE_TEST_IS_SYMLINK));
    }
}

static void
test_default_and_remove (void)
{
  g_autofree char *src = make_model ("good");
  g_autofree char *models = make_models_dir ();
  g_autoptr(GError) error = NULL;
  g_autofree char *def = NULL;
  g_autofree char *path = NULL;
  g_autofree char *expect_path = NULL;
  const char *names[] = { "bravo", "alpha", "charlie" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *name = vm_model_store_import (models, src, names[i], NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (name, ==, names[i]);
    }

  /* Folders starting with '.' and incomplete folders are not models. */
  {
    g_autofree char *partial = g_build_filename (models, ".partial-delta", NULL);
    g_autofree char *incomplete = g_build_filename (models, "echo", NULL);
    g_autofree char *cfg = g_build_filename (incomplete, "config.json", NULL);
    g_autoptr(GPtrArray) list = NULL;
    g_autofree char *cmd = g_strdup_printf ("cp -r '%s' '%s'", src, partial);

    g_assert_cmpint (system (cmd), ==, 0);
    g_assert_cmpint (g_mkdir (incomplete, 0755), ==, 0);
    g_assert_true (g_file_set_contents (cfg, "{}", -1, NULL));

    list = vm_model_store_list (models, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (list->len, ==, 3);
    g_assert_cmpstr (((VmModelInfo *) g_ptr_array_index (list, 0))->name, ==, "alpha");
    g_assert_cmpstr (((VmModelInfo *) g_ptr_array_index (list, 1))->name, ==, "bravo");
    g_assert_cmpstr (((VmModelInfo *) g_ptr_array_index (list, 2))->name, ==, "charlie");
    /* bravo came first: it is the default. */
    g_assert_true (((VmModelInfo *) g_ptr_array_index (list, 1))->is_default);
    g_assert_false (((VmModelInfo *) g_ptr_array_index (list, 0))->is_default);

    g_assert_null (vm_model_store_lookup (models, ".partial-delta", &error));
    g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_null (vm_model_store_lookup (models, "echo", &error));
    g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_false (vm_model_store_set_default (models, ".partial-delta", &error));
    g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  g_assert_true (vm_model_store_set_default (models, "charlie", &error));
  g_assert_no_error (error);
  def = vm_model_store_get_default (models, &error);
  g_assert_cmpstr (def, ==, "charlie");
  path = vm_model_store_get_default_path (models, &error);
  expect_path = g_build_filename (models, "charlie", NULL);
  g_assert_cmpstr (path, ==, expect_path);
  {
    g_autoptr(VmModelInfo) info = vm_model_store_lookup (models, "charlie", &error);

    g_assert_no_error (error);
    g_assert_true (info->is_default);
  }

  g_assert_false (vm_model_store_set_default (models, "zulu", &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The default is kept unless forced. */
  g_assert_false (vm_model_store_remove (models, "charlie", FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_true (vm_model_store_remove (models, "alpha", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (vm_model_store_remove (models, "charlie", TRUE, &error));
  g_assert_no_error (error);
  g_assert_null (read_text (models, VM_MODEL_DEFAULT_FILE));

  /* Then the first remaining model is the default. */
  g_clear_pointer (&def, g_free);
  def = vm_model_store_get_default (models, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, "bravo");

  /* A default file naming a model that went away (removed by hand). */
  {
    g_autofree char *file = g_build_filename (models, VM_MODEL_DEFAULT_FILE, NULL);

    g_assert_true (g_file_set_contents (file, "gone\n", -1, NULL));
    g_clear_pointer (&def, g_free);
    def = vm_model_store_get_default (models, &error);
    g_assert_cmpstr (def, ==, "bravo");
    /* Garbage in the file is ignored too. */
    g_assert_true (g_file_set_contents (file, "../../etc\n", -1, NULL));
    g_clear_pointer (&def, g_free);
    def = vm_model_store_get_default (models, &error);
    g_assert_cmpstr (def, ==, "bravo");
  }

  g_assert_false (vm_model_store_remove (models, "alpha", FALSE, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (vm_model_store_remove (models, "..", TRUE, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_cmpuint (count_prefixed (models, ".removing"), ==, 0);
  g_assert_cmpuint (count_visible (models), ==, 2);   /* bravo and the incomplete echo */

  /* Leftovers of crashed imports and removals go once old; partial
   * downloads stay for resuming. */
  {
    g_autofree char *old_tmp = g_build_filename (models, ".tmp-x-123456", NULL);
    g_autofree char *old_rm = g_build_filename (models, ".removing-y-123456", NULL);
    g_autofree char *new_tmp = g_build_filename (models, ".tmp-z-123456", NULL);
    g_autofree char *inner = g_build_filename (old_tmp, "config.json", NULL);
    g_autofree char *partial = g_build_filename (models, ".partial-delta", NULL);

    g_assert_cmpint (g_mkdir (old_tmp, 0755), ==, 0);
    g_assert_true (g_file_set_contents (inner, "{}", -1, NULL));
    g_assert_cmpint (g_mkdir (old_rm, 0755), ==, 0);
    g_assert_cmpint (g_mkdir (new_tmp, 0755), ==, 0);
    {
      struct utimbuf times = { 1000000, 1000000 };

      g_assert_cmpint (g_utime (old_tmp, &times), ==, 0);
      g_assert_cmpint (g_utime (old_rm, &times), ==, 0);
      g_assert_cmpint (g_utime (partial, &times), ==, 0);
    }
    vm_model_store_cleanup (models, 3600);
    g_assert_false (g_file_test (old_tmp, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (old_rm, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (new_tmp, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (partial, G_FILE_TEST_EXISTS));
  }
}

static void
test_install_names (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = vm_model_install_name ("clip-vit-base-patch32", NULL, &error);
  g_autofree char *b = vm_model_install_name ("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", NULL, &error);
  g_autofree char *c = vm_model_install_name ("someone/my-clip", NULL, &error);
  g_autofree char *d = vm_model_install_name ("someone/my-clip", "mine", &error);
  const VmKnownModel *known;

  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, "clip-vit-base-patch32");
  g_assert_cmpstr (b, ==, "laion-clip-vit-b-32");
  g_assert_cmpstr (c, ==, "my-clip");
  g_assert_cmpstr (d, ==, "mine");

  known = vm_known_model_lookup ("clip-vit-large-patch14");
  g_assert_nonnull (known);
  g_assert_cmpstr (known->repo, ==, "openai/clip-vit-large-patch14");
  known = vm_known_model_lookup ("clip-vit-base-patch16");
  g_assert_cmpstr (known->repo, ==, "openai/clip-vit-base-patch16");
  /* Every known model is pinned to a commit, never to a branch. */
  for (const VmKnownModel *m = vm_known_models; m->name != NULL; m++)
    {
      g_assert_cmpuint (strlen (m->revision), ==, 40);
      for (const char *c = m->revision; *c != '\0'; c++)
        g_assert_true (g_ascii_isxdigit (*c) && !g_ascii_isupper (*c));
    }

  for (guint i = 0; i < 5; i++)
    {
      const char *bad[] = { "no-slash-unknown", "a/b/c", "/x", "a/.x", "a b/c" };

      g_assert_null (vm_model_install_name (bad[i], NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_null (vm_model_install_name ("someone/my-clip", ".x", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (argc < 3)
    {
      g_printerr ("usage: %s PYTHON3 TINYMODEL.PY\n", argv[0]);
      return 2;
    }
  python = argv[1];
  tinymodel = argv[2];
  tmpdir = g_dir_make_tmp ("vm-model-store-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/store/names", test_names);
  g_test_add_func ("/store/hint-and-empty", test_hint_and_empty);
  g_test_add_func ("/store/validate", test_validate);
  g_test_add_func ("/store/import", test_import);
  g_test_add_func ("/store/import-invalid", test_import_invalid);
  g_test_add_func ("/store/import-symlinks", test_import_symlinks);
  g_test_add_func ("/store/default-and-remove", test_default_and_remove);
  g_test_add_func ("/store/install-names", test_install_names);

  ret = g_test_run ();
  vm_model_store_delete_tree (tmpdir, NULL);
  g_free (tmpdir);

  return ret;
}
