/* vm-model-download.h — installing CLIP models from the Hugging Face Hub.
 *
 * The flow (see docs/MODELS.md):
 *  1. GET {endpoint}/api/models/{repo}/revision/{rev}: the commit ("sha")
 *     the revision names; every later request uses that commit, and the
 *     manifest records it.
 *  2. GET {endpoint}/api/models/{repo}/tree/{commit}: the files, with their
 *     sizes and hashes (lfs.oid, the SHA-256, for LFS files; the git blob
 *     SHA-1 "oid" for the small ones).
 *  3. GET {endpoint}/{repo}/resolve/{commit}/{file} for the model's files
 *     (redirects followed) into models/.partial-<name>/<file>.part; a .part
 *     left by an interrupted run is continued with "Range: bytes=N-" (a 206
 *     reply is appended, a 200 reply starts the file over).  Each file's size
 *     and hash are checked (LFS files by SHA-256, others by git blob SHA-1:
 *     sha1 ("blob <size>\0" content)) before it loses its .part suffix; a
 *     mismatch deletes the file and fails.
 *  4. The folder is validated as a CLIP folder, the manifest written, and
 *     the folder renamed to models/<name>.
 *
 * The endpoint is $VIDMARK_HF_ENDPOINT, by default https://huggingface.co;
 * $HF_TOKEN, when set, is sent as "Authorization: Bearer" to the endpoint's
 * host only (not to the hosts it redirects to).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "core/vm-job.h"

G_BEGIN_DECLS

#define VM_HF_DEFAULT_ENDPOINT "https://huggingface.co"

typedef struct {
  const char *name;          /* short name, also the installed name */
  const char *repo;          /* Hugging Face repository id */
  const char *revision;      /* pinned revision */
  const char *description;
  guint64     approx_size;   /* bytes, for messages */
} VmKnownModel;

/* The supported models, NULL-terminated by a NULL name. */
extern const VmKnownModel vm_known_models[];

const VmKnownModel *vm_known_model_lookup (const char *name_or_repo);

typedef enum {
  VM_DOWNLOAD_RESOLVING,     /* asking for the revision and file list */
  VM_DOWNLOAD_FILE_START,    /* @file starts (resumed when done_file > 0) */
  VM_DOWNLOAD_PROGRESS,      /* bytes arrived (at most ~10 times a second) */
  VM_DOWNLOAD_FILE_DONE,     /* @file is complete and checked */
  VM_DOWNLOAD_VERIFYING,     /* checking the finished folder */
} VmDownloadStage;

typedef struct {
  VmDownloadStage stage;
  const char     *repo;
  const char     *revision;    /* the revision asked for; the commit once known */
  const char     *file;        /* NULL before the first file */
  guint           file_index;  /* 0-based */
  guint           n_files;
  guint64         done_file;   /* bytes of @file present */
  guint64         size_file;
  guint64         done;        /* bytes of all files present */
  guint64         total;
  guint64         transferred; /* bytes received in this run */
  double          rate;        /* bytes per second in this run (recent), 0 when unknown */
} VmDownloadProgress;

/* Called in the thread that runs vm_model_install (). */
typedef void (*VmDownloadProgressFunc) (const VmDownloadProgress *progress,
                                        gpointer                  user_data);

typedef struct {
  const char *spec;        /* short name or "org/repo" */
  const char *name;        /* installed name; NULL: the short name, or the repo's base name */
  const char *revision;    /* NULL: the pinned one for short names, "main" otherwise */
  const char *endpoint;    /* NULL: $VIDMARK_HF_ENDPOINT or VM_HF_DEFAULT_ENDPOINT */
  const char *token;       /* NULL: $HF_TOKEN */
} VmInstallOptions;

/* The name a spec installs as (NULL and an error when the spec is not a
 * short name nor "org/repo"). */
char     *vm_model_install_name (const char              *spec,
                                 const char              *name,
                                 GError                 **error);

/* Downloads and installs a model into @models_dir (NULL: the default) and
 * returns its installed name.  Blocking: run it in a worker thread.  When
 * cancelled (G_IO_ERROR_CANCELLED) or interrupted, the .part files stay for
 * the next run to resume.  Errors are G_IO_ERROR (network, files, an
 * existing model), VM_MODEL_ERROR (not found, hash mismatch, not a CLIP
 * model). */
char     *vm_model_install      (const char              *models_dir,
                                 const VmInstallOptions  *options,
                                 VmDownloadProgressFunc   progress,
                                 gpointer                 user_data,
                                 GCancellable            *cancellable,
                                 GError                 **error);

typedef struct {
  char    *name;       /* the model it will install as */
  char    *repo;       /* NULL when unknown */
  char    *revision;   /* the commit; NULL when unknown */
  guint64  size;       /* bytes downloaded so far */
} VmInterruptedDownload;

void       vm_interrupted_download_free (VmInterruptedDownload *download);

/* The interrupted downloads (models/.partial-<name>) that running the
 * install again continues, in name order. */
GPtrArray *vm_model_list_interrupted    (const char  *models_dir);
/* Deletes an interrupted download; G_IO_ERROR_BUSY while it runs,
 * G_IO_ERROR_NOT_FOUND when there is none. */
gboolean   vm_model_discard_interrupted (const char  *models_dir,
                                         const char  *name,
                                         GError     **error);

/* The same in a worker thread, for the app: @job (optional) gets the
 * progress as its message ("model.safetensors — 120 MB of 605 MB, 11 MB/s")
 * and fraction, and cancelling it cancels the download; @options is
 * copied.  The callback runs in the thread-default main context of the
 * caller. */
void      vm_model_install_async  (const char              *models_dir,
                                   const VmInstallOptions  *options,
                                   VmJob                   *job,
                                   GAsyncReadyCallback      callback,
                                   gpointer                 user_data);
/* The installed name, or NULL and the error. */
char     *vm_model_install_finish (GAsyncResult            *result,
                                   GError                 **error);

G_END_DECLS
