/* test-model-download.c — vm_model_install () and its async form against a
 * loopback fake of the Hugging Face Hub (fakehub.py, run as a child that
 * lives until its standard input closes).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "model/vm-model-download.h"
#include "model/vm-model-error.h"
#include "model/vm-model-store.h"

#include "../vm-test-util.h"

static char *endpoint;
static char *tmpdir;

static char *
new_models_dir (void)
{
  static guint counter;
  g_autofree char *base = g_strdup_printf ("models-%u", counter++);

  return g_build_filename (tmpdir, base, NULL);
}

typedef struct {
  GMainLoop *loop;
  char      *name;
  GError    *error;
} Result;

static void
install_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Result *r = user_data;

  r->name = vm_model_install_finish (result, &r->error);
  g_main_loop_quit (r->loop);
}

static void
test_async_install (void)
{
  g_autofree char *models = new_models_dir ();
  g_autoptr(VmJob) job = vm_job_new ("Installing");
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(VmModelInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  VmInstallOptions options = { .spec = "acme/tiny-clip", .endpoint = endpoint, .name = "tiny" };
  Result r = { loop, NULL, NULL };

  vm_model_install_async (models, &options, job, install_done_cb, &r);
  g_main_loop_run (loop);
  g_assert_no_error (r.error);
  g_assert_cmpstr (r.name, ==, "tiny");
  g_assert_cmpfloat (vm_job_get_fraction (job), ==, 1.0);
  message = vm_job_dup_message (job);
  g_assert_nonnull (message);

  info = vm_model_store_lookup (models, "tiny", &error);
  g_assert_no_error (error);
  g_assert_true (info->is_default);
  g_assert_cmpstr (info->source, ==, "hf:acme/tiny-clip");
  g_assert_nonnull (info->revision);
  g_assert_cmpuint (strlen (info->revision), ==, 40);
  g_assert_cmpuint (info->embed_dim, ==, 8);
  g_free (r.name);
}

typedef struct {
  GArray *stages;
  guint64 last_done;
  guint64 total;
  gboolean monotonic;
} Trace;

static void
trace_cb (const VmDownloadProgress *p,
          gpointer                  user_data)
{
  Trace *t = user_data;
  VmDownloadStage stage = p->stage;

  if (stage != VM_DOWNLOAD_PROGRESS)
    g_array_append_val (t->stages, stage);
  if (p->done < t->last_done)
    t->monotonic = FALSE;
  t->last_done = p->done;
  t->total = p->total;
}

static void
test_sync_progress (void)
{
  g_autofree char *models = new_models_dir ();
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  VmInstallOptions options = { .spec = "acme/tiny-clip", .endpoint = endpoint };
  Trace t = { g_array_new (FALSE, FALSE, sizeof (VmDownloadStage)), 0, 0, TRUE };
  guint starts = 0, dones = 0;

  name = vm_model_install (models, &options, trace_cb, &t, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "tiny-clip");

  g_assert_cmpuint (t.stages->len, >=, 3);
  g_assert_cmpint (g_array_index (t.stages, VmDownloadStage, 0), ==, VM_DOWNLOAD_RESOLVING);
  g_assert_cmpint (g_array_index (t.stages, VmDownloadStage, t.stages->len - 1), ==, VM_DOWNLOAD_VERIFYING);
  for (guint i = 0; i < t.stages->len; i++)
    {
      starts += g_array_index (t.stages, VmDownloadStage, i) == VM_DOWNLOAD_FILE_START;
      dones += g_array_index (t.stages, VmDownloadStage, i) == VM_DOWNLOAD_FILE_DONE;
    }
  /* config, merges, model, preprocessor config, vocab */
  g_assert_cmpuint (starts, ==, 5);
  g_assert_cmpuint (dones, ==, 5);
  g_assert_true (t.monotonic);
  g_assert_cmpuint (t.last_done, ==, t.total);
  g_array_unref (t.stages);
}

static void
cancel_on_progress_cb (GObject    *object,
                       GParamSpec *pspec,
                       gpointer    user_data)
{
  VmJob *job = VM_JOB (object);

  if (vm_job_get_fraction (job) > 0.3)
    vm_job_cancel (job);
}

static void
test_async_cancel (void)
{
  g_autofree char *models = new_models_dir ();
  g_autoptr(VmJob) job = vm_job_new ("Installing");
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *part = NULL;
  VmInstallOptions options = { .spec = "acme/slow", .endpoint = endpoint };
  Result r = { loop, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *def = NULL;

  g_signal_connect (job, "notify::fraction", G_CALLBACK (cancel_on_progress_cb), NULL);
  vm_model_install_async (models, &options, job, install_done_cb, &r);
  g_main_loop_run (loop);
  g_assert_null (r.name);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&r.error);

  /* The .part stays for the next run; nothing is installed. */
  part = g_build_filename (models, ".partial-slow", "model.safetensors.part", NULL);
  g_assert_true (g_file_test (part, G_FILE_TEST_IS_REGULAR));
  def = vm_model_store_get_default (models, &error);
  g_assert_null (def);
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* It is listed as interrupted, and can be discarded. */
  {
    g_autoptr(GPtrArray) list = vm_model_list_interrupted (models);
    const VmInterruptedDownload *d;

    g_assert_cmpuint (list->len, ==, 1);
    d = g_ptr_array_index (list, 0);
    g_assert_cmpstr (d->name, ==, "slow");
    g_assert_cmpstr (d->repo, ==, "acme/slow");
    g_assert_cmpuint (strlen (d->revision), ==, 40);
    g_assert_cmpuint (d->size, >, 0);
  }
  g_assert_true (vm_model_discard_interrupted (models, "slow", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_assert_false (vm_model_discard_interrupted (models, "slow", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_not_found (void)
{
  g_autofree char *models = new_models_dir ();
  g_autoptr(GError) error = NULL;
  VmInstallOptions options = { .spec = "acme/nothing", .endpoint = endpoint, .token = "t" };
  VmInstallOptions bad_rev = { .spec = "acme/tiny-clip", .endpoint = endpoint, .revision = "refs/pr/1" };

  g_assert_null (vm_model_install (models, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_null (vm_model_install (models, &bad_rev, NULL, NULL, NULL, &error));
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "refs/pr/1"));
}

int
main (int    argc,
      char **argv)
{
  VmTestFakeHub hub;
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (argc < 3)
    {
      g_printerr ("usage: %s PYTHON3 FAKEHUB.PY\n", argv[0]);
      return 2;
    }

  vm_test_fakehub_start (argv[1], argv[2], &hub);
  endpoint = hub.endpoint;

  tmpdir = g_dir_make_tmp ("vm-model-download-XXXXXX", NULL);
  g_unsetenv ("HF_TOKEN");

  g_test_add_func ("/download/async-install", test_async_install);
  g_test_add_func ("/download/sync-progress", test_sync_progress);
  g_test_add_func ("/download/async-cancel", test_async_cancel);
  g_test_add_func ("/download/not-found", test_not_found);

  ret = g_test_run ();

  vm_test_fakehub_stop (&hub);
  vm_model_store_delete_tree (tmpdir, NULL);
  g_free (tmpdir);

  return ret;
}
