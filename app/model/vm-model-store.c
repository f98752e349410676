/* vm-model-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-model-store.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm-paths.h"
#include "core/vm-util.h"
#include "model/vm-digest-private.h"
#include "model/vm-model-error.h"
#include "model/vm-safetensors.h"

#define MANIFEST_MAX_BYTES (1024 * 1024)
#define VOCAB_MAX_BYTES    (64 * 1024 * 1024)
#define COPY_CHUNK         (1024 * 1024)

const char * const vm_model_required_files[] = {
  "config.json",
  "model.safetensors",
  "vocab.json",
  "merges.txt",
  NULL
};

const char * const vm_model_optional_files[] = {
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "preprocessor_config.json",
  NULL
};

static char *
models_dir_or_default (const char *models_dir)
{
  return models_dir != NULL ? g_strdup (models_dir) : vm_paths_models_dir ();
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s “%s”: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

void
vm_model_info_free (VmModelInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->path);
  g_free (info->source);
  g_free (info->revision);
  g_free (info->installed_at);
  g_free (info);
}

void
vm_model_file_entry_free (VmModelFileEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->path);
  g_free (entry->sha256);
  g_free (entry);
}

gboolean
vm_model_name_is_valid (const char *name)
{
  gsize len;

  if (name == NULL)
    return FALSE;
  len = strlen (name);
  if (len == 0 || len > VM_MODEL_NAME_MAX || name[0] == '.' || name[0] == '-')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-' && *p != '+')
      return FALSE;

  return TRUE;
}

char *
vm_model_store_no_model_hint (void)
{
  return g_strdup (_("No CLIP model is installed. Install one with "
                     "“vidmark model install clip-vit-base-patch32” (≈600 MB) "
                     "or import a downloaded Hugging Face directory with "
                     "“vidmark model import DIR”."));
}

gboolean
vm_model_store_fsync_path (const char  *path,
                           GError     **error)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    return set_errno_error (error, errno, _("Cannot open"), path);
  if (fsync (fd) != 0 && errno != EINVAL)
    {
      int saved_errno = errno;

      close (fd);
      return set_errno_error (error, saved_errno, _("Cannot write"), path);
    }
  close (fd);

  return TRUE;
}

gboolean
vm_model_store_delete_tree (const char  *path,
                            GError     **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return set_errno_error (error, errno, _("Cannot read"), path);
    }

  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, error);
      const char *entry;

      if (dir == NULL)
        return FALSE;
      while ((entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, entry, NULL);

          if (!vm_model_store_delete_tree (child, error))
            return FALSE;
        }
      if (g_rmdir (path) != 0)
        return set_errno_error (error, errno, _("Cannot remove"), path);
    }
  else if (g_unlink (path) != 0)
    return set_errno_error (error, errno, _("Cannot remove"), path);

  return TRUE;
}

static gboolean
has_required_files (const char *dir)
{
  for (guint i = 0; vm_model_required_files[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, vm_model_required_files[i], NULL);

      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return FALSE;
    }

  return TRUE;
}

static char *
json_dup_string (JsonObject *object,
                 const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return g_strdup (json_node_get_string (node));
}

static void
read_manifest (VmModelInfo *info)
{
  g_autofree char *path = g_build_filename (info->path, VM_MODEL_MANIFEST_NAME, NULL);
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = NULL;
  gsize length = 0;
  JsonNode *root;

  if (!g_file_get_contents (path, &text, &length, NULL) || length > MANIFEST_MAX_BYTES)
    return;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, length, NULL))
    return;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;

  info->source = json_dup_string (json_node_get_object (root), "source");
  info->revision = json_dup_string (json_node_get_object (root), "revision");
  info->installed_at = json_dup_string (json_node_get_object (root), "installed_at");
}

static guint64
folder_size (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  guint64 total = 0;

  if (d == NULL)
    return 0;
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, entry, NULL);
      GStatBuf st;

      if (g_stat (path, &st) == 0 && S_ISREG (st.st_mode))
        total += (guint64) st.st_size;
    }

  return total;
}

static VmModelInfo *
info_new (const char *models_dir,
          const char *name)
{
  VmModelInfo *info = g_new0 (VmModelInfo, 1);
  g_autofree char *config_path = NULL;
  VmClipConfig config;

  info->name = g_strdup (name);
  info->path = g_build_filename (models_dir, name, NULL);
  info->size = folder_size (info->path);

  config_path = g_build_filename (info->path, "config.json", NULL);
  if (vm_clip_config_load (config_path, &config, NULL))
    {
      info->config_ok = TRUE;
      info->embed_dim = config.projection_dim;
      info->image_size = config.vision.image_size;
      info->patch_size = config.vision.patch_size;
      info->vision_width = config.vision.hidden_size;
      info->vision_layers = config.vision.num_hidden_layers;
    }
  read_manifest (info);

  return info;
}

static char *
read_default_file (const char *models_dir)
{
  g_autofree char *path = g_build_filename (models_dir, VM_MODEL_DEFAULT_FILE, NULL);
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &text, &length, NULL) || length > 4096)
    return NULL;
  g_strstrip (text);
  if (!vm_model_name_is_valid (text))
    return NULL;

  return g_steal_pointer (&text);
}

static gboolean
is_installed (const char *models_dir,
              const char *name)
{
  g_autofree char *path = NULL;

  if (!vm_model_name_is_valid (name))
    return FALSE;
  path = g_build_filename (models_dir, name, NULL);

  return g_file_test (path, G_FILE_TEST_IS_DIR) && has_required_files (path);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The installed model names in order. */
static GPtrArray *
list_names (const char  *models_dir,
            GError     **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *entry;

  dir = g_dir_open (models_dir, 0, &local_error);
  if (dir == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&names);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  while ((entry = g_dir_read_name (dir)) != NULL)
    if (is_installed (models_dir, entry))
      g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);

  return g_steal_pointer (&names);
}

static char *
default_name (const char *models_dir,
              GPtrArray  *names)
{
  g_autofree char *name = read_default_file (models_dir);

  if (name != NULL && is_installed (models_dir, name))
    return g_steal_pointer (&name);
  if (names->len > 0)
    return g_strdup (g_ptr_array_index (names, 0));

  return NULL;
}

GPtrArray *
vm_model_store_list (const char  *models_dir,
                     GError     **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autoptr(GPtrArray) names = list_names (dir, error);
  g_autoptr(GPtrArray) infos = NULL;
  g_autofree char *def = NULL;

  if (names == NULL)
    return NULL;

  def = default_name (dir, names);
  infos = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_model_info_free);
  for (guint i = 0; i < names->len; i++)
    {
      VmModelInfo *info = info_new (dir, g_ptr_array_index (names, i));

      info->is_default = g_strcmp0 (def, info->name) == 0;
      g_ptr_array_add (infos, info);
    }

  return g_steal_pointer (&infos);
}

static gboolean
set_not_installed (GError     **error,
                   const char  *name)
{
  g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
               _("No model named “%s” is installed (see “vidmark model list”)"), name);
  return FALSE;
}

VmModelInfo *
vm_model_store_lookup (const char  *models_dir,
                       const char  *name,
                       GError     **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *def = NULL;
  VmModelInfo *info;

  if (!is_installed (dir, name))
    {
      set_not_installed (error, name);
      return NULL;
    }

  names = list_names (dir, error);
  if (names == NULL)
    return NULL;
  def = default_name (dir, names);
  info = info_new (dir, name);
  info->is_default = g_strcmp0 (def, name) == 0;

  return info;
}

char *
vm_model_store_get_default (const char  *models_dir,
                            GError     **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autoptr(GPtrArray) names = list_names (dir, error);
  char *name;

  if (names == NULL)
    return NULL;
  name = default_name (dir, names);
  if (name == NULL)
    {
      g_autofree char *hint = vm_model_store_no_model_hint ();

      g_set_error_literal (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND, hint);
    }

  return name;
}

char *
vm_model_store_get_default_path (const char  *models_dir,
                                 GError     **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autofree char *name = vm_model_store_get_default (dir, error);

  if (name == NULL)
    return NULL;

  return g_build_filename (dir, name, NULL);
}

gboolean
vm_model_store_set_default (const char  *models_dir,
                            const char  *name,
                            GError     **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  if (!is_installed (dir, name))
    return set_not_installed (error, name);

  path = g_build_filename (dir, VM_MODEL_DEFAULT_FILE, NULL);
  text = g_strconcat (name, "\n", NULL);

  return vm_write_file_atomic (path, text, -1, error);
}

gboolean
vm_model_store_remove (const char  *models_dir,
                       const char  *name,
                       gboolean     force,
                       GError     **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autofree char *path = NULL;
  g_autofree char *trash = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *template = NULL;

  if (!vm_model_name_is_valid (name))
    return set_not_installed (error, name);
  path = g_build_filename (dir, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return set_not_installed (error, name);

  recorded = read_default_file (dir);
  if (g_strcmp0 (recorded, name) == 0 && !force)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   _("“%s” is the default model; choose another with “vidmark model default NAME” "
                     "or remove it anyway with --force"), name);
      return FALSE;
    }

  /* Rename it out of sight first: a crash mid-delete leaves a '.' folder,
   * never a half model. */
  template = g_strdup_printf (".removing-%s-XXXXXX", name);
  trash = g_build_filename (dir, template, NULL);
  if (g_mkdtemp_full (trash, 0700) == NULL)
    return set_errno_error (error, errno, _("Cannot create folder"), trash);
  if (g_rename (path, trash) != 0)
    {
      int saved_errno = errno;

      g_rmdir (trash);
      return set_errno_error (error, saved_errno, _("Cannot remove"), path);
    }

  if (g_strcmp0 (recorded, name) == 0)
    {
      g_autofree char *default_path = g_build_filename (dir, VM_MODEL_DEFAULT_FILE, NULL);

      g_unlink (default_path);
    }

  return vm_model_store_delete_tree (trash, error);
}

void
vm_model_store_cleanup (const char *models_dir,
                        guint       min_age)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const char *entry;

  if (d == NULL)
    return;
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      GStatBuf st;

      if (!g_str_has_prefix (entry, ".tmp-") && !g_str_has_prefix (entry, ".removing-"))
        continue;
      path = g_build_filename (dir, entry, NULL);
      if (g_lstat (path, &st) == 0 && S_ISDIR (st.st_mode) && now - (gint64) st.st_mtime >= (gint64) min_age)
        vm_model_store_delete_tree (path, NULL);
    }
}

/* ---- validation ---------------------------------------------------------- */

static gboolean
check_vocab (const char  *dir,
             GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;
  JsonNode *root;

  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  if (length > VOCAB_MAX_BYTES)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                   _("vocab.json is too large (%zu bytes)"), length);
      return FALSE;
    }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, length, &local_error) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      json_object_get_size (json_node_get_object (root)) == 0)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                   _("vocab.json is not a JSON object of tokens%s%s"),
                   local_error ? ": " : "", local_error ? local_error->message : "");
      return FALSE;
    }

  return TRUE;
}

gboolean
vm_model_store_validate_dir (const char    *dir,
                             VmClipConfig  *config,
                             GError       **error)
{
  g_autoptr(VmSafetensors) st = NULL;
  g_autofree char *st_path = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *merges_path = NULL;
  g_autoptr(GError) local_error = NULL;
  VmClipConfig local_config;
  GStatBuf sb;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                   _("“%s” is not a folder"), dir);
      return FALSE;
    }

  for (guint i = 0; vm_model_required_files[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, vm_model_required_files[i], NULL);

      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                       _("“%s” is not a Hugging Face CLIP folder: %s is missing"),
                       dir, vm_model_required_files[i]);
          return FALSE;
        }
    }

  config_path = g_build_filename (dir, "config.json", NULL);
  if (!vm_clip_config_load (config_path, config ? config : &local_config, &local_error))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_CONFIG,
                   _("config.json in “%s” is not a CLIP config: %s"), dir, local_error->message);
      return FALSE;
    }

  st_path = g_build_filename (dir, "model.safetensors", NULL);
  st = vm_safetensors_open (st_path, &local_error);
  if (st == NULL)
    {
      g_set_error (error, VM_MODEL_ERROR, local_error->domain == VM_MODEL_ERROR ?
                   local_error->code : VM_MODEL_ERROR_IO,
                   _("model.safetensors in “%s” is damaged: %s"), dir, local_error->message);
      return FALSE;
    }
  if (vm_safetensors_lookup (st, "text_projection.weight") == NULL ||
      vm_safetensors_lookup (st, "visual_projection.weight") == NULL)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                   _("model.safetensors in “%s” is not a CLIP model: it lacks the "
                     "text and vision projections"), dir);
      return FALSE;
    }

  if (!check_vocab (dir, error))
    return FALSE;

  merges_path = g_build_filename (dir, "merges.txt", NULL);
  if (g_stat (merges_path, &sb) != 0 || sb.st_size == 0)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                   _("merges.txt in “%s” is empty"), dir);
      return FALSE;
    }

  return TRUE;
}

/* ---- manifest, commit ----------------------------------------------------- */

gboolean
vm_model_store_write_manifest (const char  *dir,
                               const char  *name,
                               const char  *source,
                               const char  *revision,
                               GPtrArray   *files,
                               GError     **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *iso = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;
  g_autofree char *path = g_build_filename (dir, VM_MODEL_MANIFEST_NAME, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, source);
  json_builder_set_member_name (b, "revision");
  if (revision != NULL)
    json_builder_add_string_value (b, revision);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "installed_at");
  json_builder_add_string_value (b, iso);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < files->len; i++)
    {
      const VmModelFileEntry *f = g_ptr_array_index (files, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, f->path);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64) f->size);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, f->sha256);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);

  return vm_write_file_atomic (path, text, -1, error);
}

gboolean
vm_model_store_commit_dir (const char  *models_dir,
                           const char  *from_dir,
                           const char  *name,
                           GError     **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autofree char *target = g_build_filename (dir, name, NULL);

  if (!vm_model_store_fsync_path (from_dir, error))
    return FALSE;
  if (g_file_test (target, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("A model named “%s” is already installed; remove it first with "
                     "“vidmark model remove %s”"), name, name);
      return FALSE;
    }
  if (g_rename (from_dir, target) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EEXIST || saved_errno == ENOTEMPTY)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("A model named “%s” is already installed"), name);
          return FALSE;
        }
      return set_errno_error (error, saved_errno, _("Cannot move into place"), target);
    }

  /* The first model becomes the default. */
  {
    g_autofree char *recorded = read_default_file (dir);

    if (recorded == NULL || !is_installed (dir, recorded))
      {
        g_autofree char *path = g_build_filename (dir, VM_MODEL_DEFAULT_FILE, NULL);
        g_autofree char *text = g_strconcat (name, "\n", NULL);

        if (!vm_write_file_atomic (path, text, -1, error))
          return FALSE;
      }
  }

  return vm_model_store_fsync_path (dir, error);
}

/* ---- import --------------------------------------------------------------- */

static gboolean
copy_file (const char        *src,
           const char        *dest,
           VmModelFileEntry  *entry,
           GCancellable      *cancellable,
           GError           **error)
{
  g_autoptr(VmDigest) sum = vm_digest_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  int in = -1, out = -1;
  gboolean ok = FALSE;
  guint64 total = 0;

  in = g_open (src, O_RDONLY | O_CLOEXEC, 0);
  if (in < 0)
    return set_errno_error (error, errno, _("Cannot read"), src);
  out = g_open (dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0)
    {
      set_errno_error (error, errno, _("Cannot create"), dest);
      goto out;
    }

  for (;;)
    {
      gssize n = read (in, buf, COPY_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, _("Cannot read"), src);
          goto out;
        }
      if (n == 0)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      vm_digest_update (sum, buf, n);
      total += n;
      for (gssize off = 0; off < n;)
        {
          gssize w = write (out, buf + off, n - off);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              set_errno_error (error, errno, _("Cannot write"), dest);
              goto out;
            }
          off += w;
        }
    }

  if (fsync (out) != 0)
    {
      set_errno_error (error, errno, _("Cannot write"), dest);
      goto out;
    }

  entry->size = total;
  entry->sha256 = g_strdup (vm_digest_get_string (sum));
  ok = TRUE;

out:
  if (in >= 0)
    close (in);
  if (out >= 0 && close (out) != 0 && ok)
    ok = set_errno_error (error, errno, _("Cannot write"), dest);

  return ok;
}

static gboolean
hash_file (const char    *path,
           guint64       *out_size,
           char         **out_sha256,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(VmDigest) sum = vm_digest_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  guint64 total = 0;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    return set_errno_error (error, errno, _("Cannot read"), path);
  for (;;)
    {
      gssize n = read (fd, buf, COPY_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          return set_errno_error (error, saved_errno, _("Cannot read"), path);
        }
      if (n == 0)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          close (fd);
          return FALSE;
        }
      vm_digest_update (sum, buf, n);
      total += n;
    }
  close (fd);
  *out_size = total;
  *out_sha256 = g_strdup (vm_digest_get_string (sum));

  return TRUE;
}

gboolean
vm_model_store_verify (const char    *models_dir,
                       const char    *name,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autofree char *path = NULL;
  g_autofree char *manifest_path = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length = 0;
  JsonNode *root, *files;

  if (!is_installed (dir, name))
    return set_not_installed (error, name);
  path = g_build_filename (dir, name, NULL);
  manifest_path = g_build_filename (path, VM_MODEL_MANIFEST_NAME, NULL);
  if (!g_file_get_contents (manifest_path, &text, &length, NULL) || length > MANIFEST_MAX_BYTES ||
      !json_parser_load_from_data (parser, text, length, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (files = json_object_get_member (json_node_get_object (root), "files")) == NULL ||
      !JSON_NODE_HOLDS_ARRAY (files))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                   _("Model “%s” has no readable %s to check it against"), name, VM_MODEL_MANIFEST_NAME);
      return FALSE;
    }

  for (guint i = 0; i < json_array_get_length (json_node_get_array (files)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (files), i);
      JsonObject *f;
      g_autofree char *file = NULL;
      g_autofree char *sha = NULL;
      g_autofree char *actual = NULL;
      g_autofree char *file_path = NULL;
      g_autoptr(GError) local_error = NULL;
      JsonNode *size_node;
      guint64 size = 0;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      f = json_node_get_object (node);
      file = json_dup_string (f, "path");
      sha = json_dup_string (f, "sha256");
      size_node = json_object_get_member (f, "size");
      if (file == NULL || sha == NULL || strchr (file, '/') != NULL || file[0] == '.' ||
          size_node == NULL || !JSON_NODE_HOLDS_VALUE (size_node) ||
          json_node_get_value_type (size_node) != G_TYPE_INT64)
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                       _("The %s of model “%s” is malformed"), VM_MODEL_MANIFEST_NAME, name);
          return FALSE;
        }
      file_path = g_build_filename (path, file, NULL);
      if (!hash_file (file_path, &size, &actual, cancellable, &local_error))
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         _("%s of model “%s” cannot be read: %s"), file, name, local_error->message);
          return FALSE;
        }
      if (size != (guint64) json_node_get_int (size_node) || g_ascii_strcasecmp (actual, sha) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("%s of model “%s” has changed since it was installed (SHA-256 %s, "
                         "expected %s); remove the model and install it again"),
                       file, name, actual, sha);
          return FALSE;
        }
    }

  return TRUE;
}

char *
vm_model_store_import (const char    *models_dir,
                       const char    *source_dir,
                       const char    *name,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autofree char *dir = models_dir_or_default (models_dir);
  g_autofree char *abs_source = g_canonicalize_filename (source_dir, NULL);
  g_autofree char *model_name = NULL;
  g_autofree char *target = NULL;
  g_autofree char *template = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *source = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_model_file_entry_free);
  g_autoptr(GError) local_error = NULL;
  const char * const *lists[] = { vm_model_required_files, vm_model_optional_files };

  model_name = name != NULL ? g_strdup (name) : g_path_get_basename (abs_source);
  if (!vm_model_name_is_valid (model_name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a valid model name: use letters, digits, “.”, “_”, “-” and “+”, "
                     "not starting with “.” or “-”"), model_name);
      return NULL;
    }

  if (!vm_model_store_validate_dir (abs_source, NULL, error))
    return NULL;

  target = g_build_filename (dir, model_name, NULL);
  if (g_file_test (target, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("A model named “%s” is already installed; remove it first with "
                     "“vidmark model remove %s” or choose another name with --name"),
                   model_name, model_name);
      return NULL;
    }

  if (!vm_paths_ensure_dir (dir, error))
    return NULL;
  vm_model_store_cleanup (dir, 3600);
  template = g_strdup_printf (".tmp-%s-XXXXXX", model_name);
  tmp = g_build_filename (dir, template, NULL);
  if (g_mkdtemp_full (tmp, 0755) == NULL)
    {
      set_errno_error (error, errno, _("Cannot create folder"), tmp);
      return NULL;
    }

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; lists[l][i] != NULL; i++)
      {
        g_autofree char *src = g_build_filename (abs_source, lists[l][i], NULL);
        g_autofree char *dest = g_build_filename (tmp, lists[l][i], NULL);
        VmModelFileEntry *entry;

        if (l == 1 && !g_file_test (src, G_FILE_TEST_IS_REGULAR))
          continue;
        entry = g_new0 (VmModelFileEntry, 1);
        entry->path = g_strdup (lists[l][i]);
        g_ptr_array_add (files, entry);
        if (!copy_file (src, dest, entry, cancellable, &local_error))
          goto fail;
      }

  source = g_strconcat ("import:", abs_source, NULL);
  if (!vm_model_store_write_manifest (tmp, model_name, source, NULL, files, &local_error))
    goto fail;

  /* The copy is checked again so that a file changed during the copy is
   * caught before it is visible. */
  if (!vm_model_store_validate_dir (tmp, NULL, &local_error))
    goto fail;

  if (!vm_model_store_commit_dir (dir, tmp, model_name, &local_error))
    goto fail;

  return g_steal_pointer (&model_name);

fail:
  vm_model_store_delete_tree (tmp, NULL);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}
