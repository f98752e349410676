/* test-safetensors.c — the safetensors reader on malformed and valid files.
 *
 * Usage: test-safetensors PYTHON3 MAKE-SAFETENSORS.PY
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-safetensors.h"
#include "model/vm-model-error.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "../vm-test-util.h"

static char *tmpdir;
static JsonArray *manifest;
static JsonNode *manifest_root;

static const struct {
  const char *name;
  int         code;
} codes[] = {
  { "HEADER", VM_MODEL_ERROR_HEADER },
  { "DTYPE", VM_MODEL_ERROR_DTYPE },
  { "SHAPE", VM_MODEL_ERROR_SHAPE },
  { "OFFSETS", VM_MODEL_ERROR_OFFSETS },
  { "LAYOUT", VM_MODEL_ERROR_LAYOUT },
  { "SIZE", VM_MODEL_ERROR_SIZE },
  { "DUPLICATE", VM_MODEL_ERROR_DUPLICATE },
  { "METADATA", VM_MODEL_ERROR_METADATA },
};

static int
code_from_name (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    if (strcmp (codes[i].name, name) == 0)
      return codes[i].code;
  g_error ("unknown error code %s in the manifest", name);
  return -1;
}

static char *
path_of (const char *file)
{
  return g_build_filename (tmpdir, file, NULL);
}

static void
test_malformed (void)
{
  guint n_bad = 0;

  for (guint i = 0; i < json_array_get_length (manifest); i++)
    {
      JsonObject *m = json_array_get_object_element (manifest, i);
      const char *file = json_object_get_string_member (m, "file");
      const char *expect = json_object_get_string_member (m, "expect");
      g_autofree char *path = path_of (file);
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error2 = NULL;
      g_autoptr(VmSafetensors) st = NULL;
      g_autoptr(VmSafetensors) st2 = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *contents = NULL;
      gsize length;

      if (strcmp (expect, "ok") == 0)
        continue;
      n_bad++;

      st = vm_safetensors_open (path, &error);
      if (st != NULL)
        g_error ("%s opened but should fail with %s", file, expect);
      if (!g_error_matches (error, VM_MODEL_ERROR, code_from_name (expect)))
        g_error ("%s: expected %s, got code %d: %s", file, expect, error->code, error->message);
      g_assert_nonnull (strstr (error->message, file));
      g_assert_null (strchr (error->message, '\n'));
      g_test_message ("%s: %s", file, error->message);

      /* The same from memory. */
      g_file_get_contents (path, &contents, &length, NULL);
      bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
      st2 = vm_safetensors_new_from_bytes (bytes, &error2);
      g_assert_null (st2);
      g_assert_error (error2, VM_MODEL_ERROR, code_from_name (expect));
    }
  g_assert_cmpuint (n_bad, >=, 20);
}

static void
check_ints (const VmTensor *t,
            JsonArray      *ints)
{
  gsize size = vm_dtype_get_size (t->dtype);
  gboolean is_signed = t->dtype == VM_DTYPE_I8 || t->dtype == VM_DTYPE_I16 ||
                       t->dtype == VM_DTYPE_I32 || t->dtype == VM_DTYPE_I64;

  g_assert_cmpuint (json_array_get_length (ints), ==, t->n_elements);
  if (t->dtype == VM_DTYPE_F64)
    {
      for (guint i = 0; i < t->n_elements; i++)
        {
          double v, expected = json_array_get_double_element (ints, i);
          memcpy (&v, t->data + 8 * i, 8);
          g_assert_cmpfloat (v, ==, expected);
        }
      return;
    }
  for (guint i = 0; i < t->n_elements; i++)
    {
      guint64 v = 0;
      guint64 expected = (guint64) json_array_get_int_element (ints, i);

      for (gsize b = 0; b < size; b++)
        v |= (guint64) t->data[i * size + b] << (8 * b);
      if (is_signed && size < 8 && (v >> (8 * size - 1)) != 0)
        v |= ~G_GUINT64_CONSTANT (0) << (8 * size);
      if (size < 8 && !is_signed)
        expected &= (G_GUINT64_CONSTANT (1) << (8 * size)) - 1;
      g_assert_cmpuint (v, ==, expected);
    }
}

static void
check_tensor (VmSafetensors *st,
              guint          index,
              JsonObject    *want)
{
  const char *name = json_object_get_string_member (want, "name");
  JsonArray *shape = json_object_get_array_member (want, "shape");
  const VmTensor *t = vm_safetensors_get_tensor (st, index);
  guint64 n = 1;
  VmDtype dtype;

  g_assert_true (vm_safetensors_lookup (st, name) == t);
  g_assert_cmpstr (t->name, ==, name);
  g_assert_true (vm_dtype_from_name (json_object_get_string_member (want, "dtype"), &dtype));
  g_assert_cmpint (t->dtype, ==, dtype);
  g_assert_cmpstr (vm_dtype_get_name (t->dtype), ==, json_object_get_string_member (want, "dtype"));
  g_assert_cmpuint (t->n_dims, ==, json_array_get_length (shape));
  for (guint d = 0; d < t->n_dims; d++)
    {
      g_assert_cmpuint (t->shape[d], ==, (guint64) json_array_get_int_element (shape, d));
      n *= t->shape[d];
    }
  g_assert_cmpuint (t->n_elements, ==, n);
  g_assert_cmpuint (t->n_bytes, ==, n * vm_dtype_get_size (t->dtype));
  g_assert_true (vm_tensor_check_shape (t, t->n_dims, t->shape, NULL));

  if (json_object_has_member (want, "f32"))
    {
      JsonArray *f32 = json_object_get_array_member (want, "f32");
      JsonArray *f16 = json_object_get_array_member (want, "f16");
      g_autoptr(GError) error = NULL;
      g_autofree float *floats = vm_tensor_to_f32 (t, &error);
      g_autofree guint16 *halves = vm_tensor_to_f16 (t, &error);

      g_assert_no_error (error);
      g_assert_nonnull (floats);
      g_assert_nonnull (halves);
      for (guint k = 0; k < n; k++)
        {
          float expected = (float) json_array_get_double_element (f32, k);
          g_assert_cmpmem (&floats[k], sizeof (float), &expected, sizeof (float));
          g_assert_cmpuint (halves[k], ==, (guint) json_array_get_int_element (f16, k));
        }
    }
  else
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = g_strdup_printf ("tensor “%s” has dtype %s, expected a floating point type",
                                                   name, vm_dtype_get_name (t->dtype));
      float one;
      guint16 half;

      g_assert_null (vm_tensor_to_f32 (t, &error));
      g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_DTYPE);
      g_assert_cmpstr (error->message, ==, expected);
      g_clear_error (&error);
      g_assert_null (vm_tensor_to_f16 (t, &error));
      g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_DTYPE);
      g_clear_error (&error);
      g_assert_false (vm_tensor_copy_f32 (t, &one, &error));
      g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_DTYPE);
      g_clear_error (&error);
      g_assert_false (vm_tensor_copy_f16 (t, &half, &error));
      g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_DTYPE);

      check_ints (t, json_object_get_array_member (want, "ints"));
    }
}

static void
test_valid (void)
{
  guint n_good = 0;

  for (guint i = 0; i < json_array_get_length (manifest); i++)
    {
      JsonObject *m = json_array_get_object_element (manifest, i);
      const char *file = json_object_get_string_member (m, "file");
      JsonArray *tensors = json_object_get_array_member (m, "tensors");
      g_autofree char *path = path_of (file);
      g_autoptr(GError) error = NULL;
      g_autoptr(VmSafetensors) st = NULL;

      if (strcmp (json_object_get_string_member (m, "expect"), "ok") != 0)
        continue;
      n_good++;

      g_test_message ("%s", file);
      st = vm_safetensors_open (path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (st);
      g_assert_cmpuint (vm_safetensors_get_n_tensors (st), ==, json_array_get_length (tensors));
      /* The manifest lists tensors in data order. */
      for (guint k = 0; k < json_array_get_length (tensors); k++)
        check_tensor (st, k, json_array_get_object_element (tensors, k));
      g_assert_null (vm_safetensors_lookup (st, "no.such.tensor"));
    }
  g_assert_cmpuint (n_good, >=, 5);
}

static void
test_api (void)
{
  g_autofree char *path = path_of ("good-mixed.safetensors");
  g_autoptr(GError) error = NULL;
  g_autoptr(VmSafetensors) st = vm_safetensors_open (path, &error);
  const VmTensor *t;
  GHashTable *metadata;
  static const guint64 right[] = { 2, 3 };
  static const guint64 wrong[] = { 3, 2 };

  g_assert_no_error (error);

  metadata = vm_safetensors_get_metadata (st);
  g_assert_cmpuint (g_hash_table_size (metadata), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (metadata, "format"), ==, "pt");
  g_assert_null (vm_safetensors_lookup (st, "__metadata__"));

  g_assert_null (vm_safetensors_require (st, "visual_projection.weight", &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "tensor “visual_projection.weight” is missing");
  g_clear_error (&error);

  t = vm_safetensors_require (st, "b.weight", &error);
  g_assert_no_error (error);
  g_assert_true (vm_tensor_check_shape (t, 2, right, &error));
  g_assert_no_error (error);
  g_assert_false (vm_tensor_check_shape (t, 2, wrong, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE);
  g_assert_cmpstr (error->message, ==, "tensor “b.weight” has shape [2, 3], expected [3, 2]");
  g_clear_error (&error);
  g_assert_false (vm_tensor_check_shape (t, 1, right, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE);
  g_clear_error (&error);

  t = vm_safetensors_require (st, "logit_scale", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (t->n_dims, ==, 0);
  g_assert_cmpuint (t->n_elements, ==, 1);
  g_assert_true (vm_tensor_check_shape (t, 0, NULL, NULL));

  /* A reference keeps the mapping alive. */
  {
    VmSafetensors *ref = vm_safetensors_ref (st);
    g_assert_true (ref == st);
    vm_safetensors_unref (ref);
  }

  {
    g_autoptr(VmSafetensors) none = vm_safetensors_open ("/nonexistent/model.safetensors", &error);
    g_assert_null (none);
    g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  g_assert_cmpuint (vm_dtype_get_size (VM_DTYPE_BF16), ==, 2);
  g_assert_cmpuint (vm_dtype_get_size (VM_DTYPE_F64), ==, 8);
  g_assert_cmpuint (vm_dtype_get_size (VM_DTYPE_F8_E5M2), ==, 1);
}

/* Every truncation of a valid file, and every byte of its header changed,
 * fails cleanly or parses: nothing crashes, nothing leaks. */
static void
test_mutations (void)
{
  g_autofree char *path = path_of ("good-mixed.safetensors");
  g_autofree char *contents = NULL;
  gsize length;
  guint64 header_len;
  guint n_ok = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  memcpy (&header_len, contents, 8);
  header_len = GUINT64_FROM_LE (header_len);

  for (gsize cut = 0; cut < length; cut++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (contents, cut);
      g_autoptr(GError) error = NULL;
      g_autoptr(VmSafetensors) st = vm_safetensors_new_from_bytes (bytes, &error);

      g_assert_null (st);
      g_assert_nonnull (error);
    }

  for (gsize pos = 0; pos < 8 + header_len; pos++)
    {
      static const guint8 values[] = { 0x00, 0x22, 0x5b, 0x7b, 0x7d, 0x31, 0xff, 0x20 };

      for (guint v = 0; v < G_N_ELEMENTS (values); v++)
        {
          g_autofree char *copy = g_memdup2 (contents, length);
          g_autoptr(GBytes) bytes = NULL;
          g_autoptr(GError) error = NULL;
          g_autoptr(VmSafetensors) st = NULL;

          copy[pos] = (char) values[v];
          bytes = g_bytes_new_take (g_steal_pointer (&copy), length);
          st = vm_safetensors_new_from_bytes (bytes, &error);
          g_assert_true ((st == NULL) == (error != NULL));
          if (st != NULL)
            n_ok++;
        }
    }
  /* Changing a space of the padding to a space still parses. */
  g_assert_cmpuint (n_ok, >, 0);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *manifest_path = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (argc < 3)
    g_error ("usage: %s PYTHON3 MAKE-SAFETENSORS.PY", argv[0]);

  tmpdir = g_dir_make_tmp ("vm-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  {
    const char *spawn_argv[] = { argv[1], argv[2], tmpdir, NULL };
    g_spawn_sync (NULL, (char **) spawn_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                  NULL, &err, &status, &error);
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, &error))
      g_error ("fixture failed: %s\n%s", error->message, err);
  }
  manifest_path = g_build_filename (tmpdir, "manifest.json", NULL);
  parser = json_parser_new ();
  json_parser_load_from_file (parser, manifest_path, &error);
  g_assert_no_error (error);
  manifest_root = json_parser_steal_root (parser);
  manifest = json_node_get_array (manifest_root);

  g_test_add_func ("/model/safetensors/malformed", test_malformed);
  g_test_add_func ("/model/safetensors/valid", test_valid);
  g_test_add_func ("/model/safetensors/api", test_api);
  g_test_add_func ("/model/safetensors/mutations", test_mutations);

  ret = g_test_run ();

  json_node_unref (manifest_root);
  vm_test_remove_tree (tmpdir);
  g_free (tmpdir);
  return ret;
}
