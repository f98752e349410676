/* vm-model-store.h — the installed CLIP models.
 *
 * Models live in folders of the models folder (vm_paths_models_dir (),
 * $XDG_DATA_HOME/vidmark/models), one per model, named after it:
 *
 *   models/<name>/config.json, model.safetensors, vocab.json, merges.txt
 *                 (tokenizer.json, tokenizer_config.json,
 *                  special_tokens_map.json, preprocessor_config.json optional)
 *                 vidmark-model.json   (manifest written by Vidmark)
 *   models/default                     (the default model's name, one line)
 *
 * A model folder only ever appears complete: imports and downloads are
 * assembled in a folder whose name starts with '.' (".tmp-<name>-XXXXXX",
 * ".partial-<name>") and renamed into place at the end; removal renames the
 * folder to a '.' name before deleting it.  Every folder whose name starts
 * with '.' is ignored by listing and loading.
 *
 * The default model is the one named in models/default when it is
 * installed, otherwise the first installed model in name order.  The first
 * model installed or imported is recorded as the default.  The engine
 * reads only this file; the GUI may mirror it in its settings.
 *
 * Every function takes the models folder; NULL means vm_paths_models_dir ().
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "model/vm-clip-config.h"

G_BEGIN_DECLS

#define VM_MODEL_MANIFEST_NAME "vidmark-model.json"
#define VM_MODEL_DEFAULT_FILE  "default"
#define VM_MODEL_NAME_MAX      100

/* The files a model folder must hold, NULL-terminated. */
extern const char * const vm_model_required_files[];
/* Files copied or downloaded when present, NULL-terminated. */
extern const char * const vm_model_optional_files[];

typedef struct {
  char      *name;
  char      *path;
  guint64    size;           /* bytes of the model's files */
  gboolean   config_ok;      /* config.json parsed; the next fields are valid */
  guint      embed_dim;      /* projection_dim */
  guint      image_size;     /* vision image_size */
  guint      patch_size;     /* vision patch_size */
  guint      vision_width;   /* vision hidden_size */
  guint      vision_layers;  /* vision num_hidden_layers */
  char      *source;         /* "hf:org/repo" or "import:/path"; NULL without manifest */
  char      *revision;       /* commit the files came from; NULL when unknown */
  char      *installed_at;   /* ISO 8601; NULL without manifest */
  gboolean   is_default;
} VmModelInfo;

void         vm_model_info_free (VmModelInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmModelInfo, vm_model_info_free)

/* Names are 1 to VM_MODEL_NAME_MAX of [A-Za-z0-9._+-], not starting with
 * '.' or '-'. */
gboolean     vm_model_name_is_valid       (const char   *name);

/* The text to show when no model is installed (translated). */
char        *vm_model_store_no_model_hint (void);

/* The installed models (VmModelInfo *) in name order; an empty array when
 * the models folder does not exist. */
GPtrArray   *vm_model_store_list          (const char   *models_dir,
                                           GError      **error);
/* One installed model; VM_MODEL_ERROR_NOT_FOUND when it is not installed. */
VmModelInfo *vm_model_store_lookup        (const char   *models_dir,
                                           const char   *name,
                                           GError      **error);

/* The default model's name (see above); NULL and VM_MODEL_ERROR_NOT_FOUND
 * with vm_model_store_no_model_hint () as the message when none is
 * installed. */
char        *vm_model_store_get_default   (const char   *models_dir,
                                           GError      **error);
/* The default model's folder, for the loader; the same errors. */
char        *vm_model_store_get_default_path (const char *models_dir,
                                              GError    **error);
/* Records @name (which must be installed) as the default. */
gboolean     vm_model_store_set_default   (const char   *models_dir,
                                           const char   *name,
                                           GError      **error);

/* Removes a model.  The default model (the one models/default names) is
 * refused unless @force; removing it with @force also forgets the default
 * setting, so the first remaining model becomes the default. */
gboolean     vm_model_store_remove        (const char   *models_dir,
                                           const char   *name,
                                           gboolean      force,
                                           GError      **error);

/* Re-hashes an installed model's files and compares them with its
 * manifest: G_IO_ERROR_INVALID_DATA naming the first file that changed or
 * went missing; VM_MODEL_ERROR_NOT_FOUND when the model or its manifest is
 * missing. */
gboolean     vm_model_store_verify        (const char   *models_dir,
                                           const char   *name,
                                           GCancellable *cancellable,
                                           GError      **error);

/* Checks that @dir holds a usable CLIP folder: the required files are
 * present and regular, config.json parses as a CLIP config (filled into
 * @config when not NULL), model.safetensors has a valid header and holds
 * a text and a vision projection, vocab.json is a JSON object and merges.txt
 * is not empty. */
gboolean     vm_model_store_validate_dir  (const char   *dir,
                                           VmClipConfig *config,
                                           GError      **error);

/* Validates @source_dir and copies its model files (required and optional,
 * nothing else; symbolic links such as a Hugging Face cache snapshot's are
 * followed) into models/<name>: into models/.tmp-<name>-XXXXXX first, each
 * file fsynced, then renamed into place.  @name NULL means the source
 * folder's base name.  Fails with G_IO_ERROR_EXISTS when the model is
 * already installed. Returns the installed name. */
char        *vm_model_store_import        (const char   *models_dir,
                                           const char   *source_dir,
                                           const char   *name,
                                           GCancellable *cancellable,
                                           GError      **error);

/* Deletes what crashed imports and removals left behind: folders named
 * ".tmp-*" or ".removing-*" not modified for @min_age seconds.  Interrupted
 * downloads (".partial-*") are kept for resuming.  Best effort. */
void         vm_model_store_cleanup       (const char   *models_dir,
                                           guint         min_age);

/* ---- for the downloader and tests --------------------------------------- */

typedef struct {
  char    *path;     /* relative to the model folder */
  guint64  size;
  char    *sha256;   /* lowercase hex */
} VmModelFileEntry;

void         vm_model_file_entry_free     (VmModelFileEntry *entry);

/* Writes @dir/vidmark-model.json (fsynced). @files holds VmModelFileEntry. */
gboolean     vm_model_store_write_manifest (const char  *dir,
                                            const char  *name,
                                            const char  *source,
                                            const char  *revision,
                                            GPtrArray   *files,
                                            GError     **error);
/* fsyncs a file or folder. */
gboolean     vm_model_store_fsync_path    (const char   *path,
                                           GError      **error);
/* Renames the complete folder @from_dir to models/<name> (and fsyncs the
 * models folder); G_IO_ERROR_EXISTS when a model of that name exists.
 * When no installed model is recorded as the default, @name becomes it. */
gboolean     vm_model_store_commit_dir    (const char   *models_dir,
                                           const char   *from_dir,
                                           const char   *name,
                                           GError      **error);
/* Deletes a folder tree (no symbolic links followed). */
gboolean     vm_model_store_delete_tree   (const char   *path,
                                           GError      **error);

G_END_DECLS
