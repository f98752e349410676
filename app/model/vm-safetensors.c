/* vm-safetensors.c — a strict reader of the safetensors format.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-safetensors.h"
#include "model/vm-model-error.h"
#include "model/vm-model-json-private.h"
#include "core/vm-util.h"

#include <inttypes.h>
#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#define METADATA_KEY "__metadata__"

static const struct {
  const char *name;
  gsize       size;
} dtypes[] = {
  [VM_DTYPE_BOOL]    = { "BOOL", 1 },
  [VM_DTYPE_U8]      = { "U8", 1 },
  [VM_DTYPE_I8]      = { "I8", 1 },
  [VM_DTYPE_U16]     = { "U16", 2 },
  [VM_DTYPE_I16]     = { "I16", 2 },
  [VM_DTYPE_F16]     = { "F16", 2 },
  [VM_DTYPE_BF16]    = { "BF16", 2 },
  [VM_DTYPE_U32]     = { "U32", 4 },
  [VM_DTYPE_I32]     = { "I32", 4 },
  [VM_DTYPE_F32]     = { "F32", 4 },
  [VM_DTYPE_F64]     = { "F64", 8 },
  [VM_DTYPE_U64]     = { "U64", 8 },
  [VM_DTYPE_I64]     = { "I64", 8 },
  [VM_DTYPE_F8_E4M3] = { "F8_E4M3", 1 },
  [VM_DTYPE_F8_E5M2] = { "F8_E5M2", 1 },
};

typedef struct {
  VmTensor  pub;
  guint64   begin;    /* data_offsets */
  guint64   end;
} Entry;

struct _VmSafetensors {
  gatomicrefcount  ref_count;
  GBytes          *bytes;
  Entry           *entries;   /* sorted by offset */
  guint            n_entries;
  GHashTable      *by_name;   /* name → Entry* */
  GHashTable      *metadata;
};

const char *
vm_dtype_get_name (VmDtype dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtypes), "?");
  return dtypes[dtype].name;
}

gsize
vm_dtype_get_size (VmDtype dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtypes), 0);
  return dtypes[dtype].size;
}

gboolean
vm_dtype_from_name (const char *name,
                    VmDtype    *out_dtype)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (g_strcmp0 (name, dtypes[i].name) == 0)
      {
        *out_dtype = (VmDtype) i;
        return TRUE;
      }
  return FALSE;
}

/* A tensor name fit for a one-line message (names may be megabytes long). */
static char *
shorten (const char *name)
{
  if (g_utf8_strlen (name, 81) <= 80)
    return g_strdup (name);
  return g_strdup_printf ("%.*s…", (int) (g_utf8_offset_to_pointer (name, 80) - name), name);
}

static char *
format_shape (guint          n_dims,
              const guint64 *shape)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i > 0 ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* A JSON integer ≥ 0 (json-glib types integers as gint64). */
static gboolean
get_uint (JsonNode *node,
          guint64  *out)
{
  gint64 v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static void
vm_safetensors_free (VmSafetensors *self)
{
  for (guint i = 0; i < self->n_entries; i++)
    {
      g_free ((char *) self->entries[i].pub.name);
      g_free ((guint64 *) self->entries[i].pub.shape);
    }
  g_free (self->entries);
  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->metadata, g_hash_table_unref);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self);
}

static gboolean
parse_metadata (VmSafetensors  *self,
                JsonNode       *node,
                GError        **error)
{
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_METADATA,
                   _("__metadata__ is not an object"));
      return FALSE;
    }
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_autofree char *k = shorten (key);
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_METADATA,
                       _("__metadata__ entry “%s” is not a string"), k);
          return FALSE;
        }
      g_hash_table_insert (self->metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

static gboolean
parse_entry (Entry       *entry,
             const char  *name,
             JsonNode    *node,
             GError     **error)
{
  g_autofree char *shown = shorten (name);
  JsonObject *object;
  JsonNode *dtype_node, *shape_node, *offsets_node;
  JsonArray *shape, *offsets;
  guint64 *dims;
  guint64 n_elements = 1;
  guint64 n_bytes;
  guint n_dims;

  entry->pub.name = g_strdup (name);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_HEADER,
                   _("tensor “%s”: the entry is not a JSON object"), shown);
      return FALSE;
    }
  object = json_node_get_object (node);

  /* dtype */
  dtype_node = json_object_get_member (object, "dtype");
  if (dtype_node == NULL || !JSON_NODE_HOLDS_VALUE (dtype_node) ||
      json_node_get_value_type (dtype_node) != G_TYPE_STRING)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_DTYPE,
                   _("tensor “%s” has no dtype string"), shown);
      return FALSE;
    }
  if (!vm_dtype_from_name (json_node_get_string (dtype_node), &entry->pub.dtype))
    {
      g_autofree char *d = shorten (json_node_get_string (dtype_node));
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_DTYPE,
                   _("tensor “%s” has unknown dtype “%s”"), shown, d);
      return FALSE;
    }

  /* shape */
  shape_node = json_object_get_member (object, "shape");
  if (shape_node == NULL || !JSON_NODE_HOLDS_ARRAY (shape_node))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_SHAPE,
                   _("tensor “%s” has no shape array"), shown);
      return FALSE;
    }
  shape = json_node_get_array (shape_node);
  n_dims = json_array_get_length (shape);
  if (n_dims > VM_TENSOR_MAX_DIMS)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_SHAPE,
                   _("tensor “%s” has %u dimensions, more than %u"),
                   shown, n_dims, VM_TENSOR_MAX_DIMS);
      return FALSE;
    }
  dims = g_new0 (guint64, MAX (n_dims, 1));
  entry->pub.shape = dims;
  entry->pub.n_dims = n_dims;
  for (guint i = 0; i < n_dims; i++)
    {
      if (!get_uint (json_array_get_element (shape, i), &dims[i]))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_SHAPE,
                       _("tensor “%s”: shape dimension %u is not a non-negative integer"),
                       shown, i);
          return FALSE;
        }
      if (!g_uint64_checked_mul (&n_elements, n_elements, dims[i]))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_SHAPE,
                       _("tensor “%s”: the number of elements overflows"), shown);
          return FALSE;
        }
    }
  if (!g_uint64_checked_mul (&n_bytes, n_elements, vm_dtype_get_size (entry->pub.dtype)) ||
      n_bytes > G_MAXSIZE)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_SHAPE,
                   _("tensor “%s”: the size in bytes overflows"), shown);
      return FALSE;
    }
  entry->pub.n_elements = n_elements;
  entry->pub.n_bytes = (gsize) n_bytes;

  /* data_offsets */
  offsets_node = json_object_get_member (object, "data_offsets");
  if (offsets_node == NULL || !JSON_NODE_HOLDS_ARRAY (offsets_node) ||
      json_array_get_length (offsets = json_node_get_array (offsets_node)) != 2 ||
      !get_uint (json_array_get_element (offsets, 0), &entry->begin) ||
      !get_uint (json_array_get_element (offsets, 1), &entry->end))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_OFFSETS,
                   _("tensor “%s”: data_offsets is not a pair of non-negative integers"),
                   shown);
      return FALSE;
    }
  if (entry->end < entry->begin)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_OFFSETS,
                   _("tensor “%s”: data_offsets end %" PRIu64
                     " is before begin %" PRIu64), shown, entry->end, entry->begin);
      return FALSE;
    }
  if (entry->end - entry->begin != n_bytes)
    {
      g_autofree char *s = format_shape (n_dims, dims);
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_OFFSETS,
                   _("tensor “%s”: data_offsets span %" PRIu64 " bytes but %s %s is %"
                     PRIu64 " bytes"),
                   shown, entry->end - entry->begin, vm_dtype_get_name (entry->pub.dtype), s,
                   n_bytes);
      return FALSE;
    }
  return TRUE;
}

static int
entry_cmp (const void *a,
           const void *b)
{
  const Entry *x = a, *y = b;

  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return strcmp (x->pub.name, y->pub.name);
}

VmSafetensors *
vm_safetensors_new_from_bytes (GBytes  *bytes,
                               GError **error)
{
  g_autoptr(VmSafetensors) self = NULL;
  g_autoptr(JsonNode) root = NULL;
  const guint8 *data;
  gsize size;
  guint64 header_len, data_size, expected;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  guint n;

  g_return_val_if_fail (bytes != NULL, NULL);

  self = g_new0 (VmSafetensors, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->bytes = g_bytes_ref (bytes);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  data = g_bytes_get_data (bytes, &size);
  if (size < 8)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_HEADER,
                   _("the file is %zu bytes long, too short for a safetensors header"),
                   size);
      return NULL;
    }
  memcpy (&header_len, data, 8);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > VM_SAFETENSORS_MAX_HEADER)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_HEADER,
                   _("the header length %" PRIu64 " is larger than the %d MB limit"),
                   header_len, VM_SAFETENSORS_MAX_HEADER / (1024 * 1024));
      return NULL;
    }
  if (header_len > size - 8)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_HEADER,
                   _("the header length %" PRIu64 " runs past the end of the file (%zu bytes)"),
                   header_len, size);
      return NULL;
    }
  if (header_len < 2)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_HEADER,
                   _("the header is too short for a JSON object (%u bytes)"),
                   (guint) header_len);
      return NULL;
    }

  root = _vm_model_json_parse ((const char *) data + 8, (gsize) header_len,
                               VM_MODEL_JSON_MAX_DEPTH, TRUE,
                               _("safetensors header"), VM_MODEL_ERROR_HEADER, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_HEADER,
                   _("the safetensors header is not a JSON object"));
      return NULL;
    }

  object = json_node_get_object (root);
  n = json_object_get_size (object);
  self->entries = g_new0 (Entry, MAX (n, 1));

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (strcmp (name, METADATA_KEY) == 0)
        {
          if (!parse_metadata (self, node, error))
            return NULL;
          continue;
        }
      /* Counted before parsing so that a failed entry is freed too. */
      if (!parse_entry (&self->entries[self->n_entries++], name, node, error))
        return NULL;
    }

  qsort (self->entries, self->n_entries, sizeof (Entry), entry_cmp);

  /* The tensors must tile the data section: no gap, no overlap. */
  data_size = 0;
  for (guint i = 0; i < self->n_entries; i++)
    {
      Entry *e = &self->entries[i];

      if (e->begin > data_size)
        {
          g_autofree char *shown = shorten (e->pub.name);
          if (i == 0)
            g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_LAYOUT,
                         _("tensor “%s” starts at byte %" PRIu64
                           " of the data: the bytes before it belong to no tensor"),
                         shown, e->begin);
          else
            {
              g_autofree char *prev = shorten (self->entries[i - 1].pub.name);
              g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_LAYOUT,
                           _("tensors “%s” and “%s” leave a gap of %" PRIu64 " bytes"),
                           prev, shown, e->begin - data_size);
            }
          return NULL;
        }
      if (e->begin < data_size)
        {
          g_autofree char *shown = shorten (e->pub.name);
          g_autofree char *prev = shorten (self->entries[i - 1].pub.name);
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_LAYOUT,
                       _("tensors “%s” and “%s” overlap"), prev, shown);
          return NULL;
        }
      data_size = e->end;
    }

  /* 8 + header_len + data_size cannot overflow: header_len ≤ 100 MB and
   * data_size ≤ G_MAXSIZE was checked per tensor, but the sum may. */
  if (!g_uint64_checked_add (&expected, 8 + header_len, data_size) || expected > size)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_SIZE,
                   _("the file is truncated: its tensors need %" PRIu64
                     " bytes of data but only %" PRIu64 " are there"),
                   data_size, (guint64) size - 8 - header_len);
      return NULL;
    }
  if (expected < size)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_SIZE,
                   _("the file has %" PRIu64 " unused bytes after its last tensor"),
                   (guint64) size - expected);
      return NULL;
    }

  for (guint i = 0; i < self->n_entries; i++)
    {
      Entry *e = &self->entries[i];

      e->pub.data = data + 8 + header_len + e->begin;
      g_hash_table_insert (self->by_name, (char *) e->pub.name, e);
    }

  return g_steal_pointer (&self);
}

VmSafetensors *
vm_safetensors_open (const char  *path,
                     GError     **error)
{
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *display = NULL;
  VmSafetensors *self;

  g_return_val_if_fail (path != NULL, NULL);

  file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL)
    {
      int code = g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? VM_MODEL_ERROR_NOT_FOUND : VM_MODEL_ERROR_IO;
      g_set_error (error, VM_MODEL_ERROR, code, "%s", local_error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (file);
  self = vm_safetensors_new_from_bytes (bytes, &local_error);
  if (self == NULL)
    {
      display = g_filename_display_name (path);
      g_set_error (error, VM_MODEL_ERROR, local_error->code, "%s: %s", display, local_error->message);
    }
  return self;
}

VmSafetensors *
vm_safetensors_ref (VmSafetensors *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
vm_safetensors_unref (VmSafetensors *self)
{
  if (self != NULL && g_atomic_ref_count_dec (&self->ref_count))
    vm_safetensors_free (self);
}

guint
vm_safetensors_get_n_tensors (VmSafetensors *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n_entries;
}

const VmTensor *
vm_safetensors_get_tensor (VmSafetensors *self,
                           guint          index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_entries, NULL);
  return &self->entries[index].pub;
}

const VmTensor *
vm_safetensors_lookup (VmSafetensors *self,
                       const char    *name)
{
  Entry *e;

  g_return_val_if_fail (self != NULL, NULL);
  e = g_hash_table_lookup (self->by_name, name);
  return e != NULL ? &e->pub : NULL;
}

const VmTensor *
vm_safetensors_require (VmSafetensors  *self,
                        const char     *name,
                        GError        **error)
{
  const VmTensor *t = vm_safetensors_lookup (self, name);

  if (t == NULL)
    g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                 _("tensor “%s” is missing"), name);
  return t;
}

GHashTable *
vm_safetensors_get_metadata (VmSafetensors *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->metadata;
}

gboolean
vm_tensor_check_shape (const VmTensor *tensor,
                       guint           n_dims,
                       const guint64  *shape,
                       GError        **error)
{
  g_return_val_if_fail (tensor != NULL, FALSE);

  if (tensor->n_dims == n_dims &&
      (n_dims == 0 || memcmp (tensor->shape, shape, n_dims * sizeof (guint64)) == 0))
    return TRUE;

  g_autofree char *got = format_shape (tensor->n_dims, tensor->shape);
  g_autofree char *want = format_shape (n_dims, shape);
  g_autofree char *shown = shorten (tensor->name);
  g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_SHAPE,
               _("tensor “%s” has shape %s, expected %s"), shown, got, want);
  return FALSE;
}

static gboolean
check_float (const VmTensor  *tensor,
             GError         **error)
{
  if (tensor->dtype == VM_DTYPE_F32 || tensor->dtype == VM_DTYPE_F16 ||
      tensor->dtype == VM_DTYPE_BF16)
    return TRUE;

  g_autofree char *shown = shorten (tensor->name);
  g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_WRONG_DTYPE,
               _("tensor “%s” has dtype %s, expected a floating point type"),
               shown, vm_dtype_get_name (tensor->dtype));
  return FALSE;
}

static inline guint16
load_u16 (const guint8 *p)
{
  guint16 v;

  memcpy (&v, p, 2);
  return GUINT16_FROM_LE (v);
}

static inline float
load_f32 (const guint8 *p)
{
  guint32 v;
  float f;

  memcpy (&v, p, 4);
  v = GUINT32_FROM_LE (v);
  memcpy (&f, &v, 4);
  return f;
}

static inline float
bf16_to_float (guint16 h)
{
  guint32 v = (guint32) h << 16;
  float f;

  memcpy (&f, &v, 4);
  return f;
}

gboolean
vm_tensor_copy_f32 (const VmTensor  *tensor,
                    float           *dest,
                    GError         **error)
{
  const guint8 *p;

  g_return_val_if_fail (tensor != NULL, FALSE);

  if (!check_float (tensor, error))
    return FALSE;

  p = tensor->data;
  switch (tensor->dtype)
    {
    case VM_DTYPE_F32:
      for (guint64 i = 0; i < tensor->n_elements; i++)
        dest[i] = load_f32 (p + 4 * i);
      break;
    case VM_DTYPE_F16:
      for (guint64 i = 0; i < tensor->n_elements; i++)
        dest[i] = vm_half_to_float (load_u16 (p + 2 * i));
      break;
    case VM_DTYPE_BF16:
      for (guint64 i = 0; i < tensor->n_elements; i++)
        dest[i] = bf16_to_float (load_u16 (p + 2 * i));
      break;
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

gboolean
vm_tensor_copy_f16 (const VmTensor  *tensor,
                    guint16         *dest,
                    GError         **error)
{
  const guint8 *p;

  g_return_val_if_fail (tensor != NULL, FALSE);

  if (!check_float (tensor, error))
    return FALSE;

  p = tensor->data;
  switch (tensor->dtype)
    {
    case VM_DTYPE_F32:
      for (guint64 i = 0; i < tensor->n_elements; i++)
        dest[i] = vm_float_to_half (load_f32 (p + 4 * i));
      break;
    case VM_DTYPE_F16:
      for (guint64 i = 0; i < tensor->n_elements; i++)
        dest[i] = load_u16 (p + 2 * i);
      break;
    case VM_DTYPE_BF16:
      for (guint64 i = 0; i < tensor->n_elements; i++)
        dest[i] = vm_float_to_half (bf16_to_float (load_u16 (p + 2 * i)));
      break;
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

float *
vm_tensor_to_f32 (const VmTensor  *tensor,
                  GError         **error)
{
  g_autofree float *out = NULL;

  g_return_val_if_fail (tensor != NULL, NULL);

  if (!check_float (tensor, error))
    return NULL;
  out = g_new (float, MAX (tensor->n_elements, 1));
  if (!vm_tensor_copy_f32 (tensor, out, error))
    return NULL;
  return g_steal_pointer (&out);
}

guint16 *
vm_tensor_to_f16 (const VmTensor  *tensor,
                  GError         **error)
{
  g_autofree guint16 *out = NULL;

  g_return_val_if_fail (tensor != NULL, NULL);

  if (!check_float (tensor, error))
    return NULL;
  out = g_new (guint16, MAX (tensor->n_elements, 1));
  if (!vm_tensor_copy_f16 (tensor, out, error))
    return NULL;
  return g_steal_pointer (&out);
}
