/* vm-cli-library.c — library commands: add, remove, index, list, info,
 * status, demo.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>

#include "cli/vm-cli.h"
#include "cli/vm-cli-export.h"
#include "cli/vm-cli-model.h"
#include "cli/vm-cli-run.h"
#include "core/vm-core.h"
#include "gpu/vm-gpu-device.h"
#include "index/vm-indexer.h"
#include "media/vm-media.h"
#include "model/vm-clip-model.h"
#include "model/vm-model-error.h"
#include "model/vm-model-store.h"

static char *
canonical_folder (const char  *arg,
                  GError     **error)
{
  g_autofree char *abs = g_canonicalize_filename (arg, NULL);
  g_autofree char *real = realpath (abs, NULL);

  if (real == NULL || !g_file_test (real, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   _("“%s” is not a folder"), arg);
      return NULL;
    }

  return g_steal_pointer (&real);
}

/* ---- add ---------------------------------------------------------------- */

static int
cmd_add (VmCli               *cli,
         const VmCliCommand  *command,
         int                  argc,
         char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  int ret = VM_EXIT_OK;

  if (!vm_cli_parse (cli, command, NULL,
                     _("Adds folders to the library. Run “vidmark index” to index them."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  if (argc < 2)
    {
      vm_cli_error (_("Name at least one folder to add"));
      return VM_EXIT_USAGE;
    }

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "added");
  json_builder_begin_array (b);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = canonical_folder (argv[i], &error);
      gint64 id = 0;

      if (path == NULL || !vm_catalog_add_folder (catalog, path, &id, &error))
        {
          vm_cli_error ("%s", error->message);
          ret = VM_EXIT_FAILURE;
          continue;
        }
      if (cli->json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_int_value (b, id);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, path);
          json_builder_end_object (b);
        }
      else
        printf (_("Added %s\n"), path);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  if (cli->json)
    vm_cli_print_json_builder (b);

  return ret;
}

/* ---- remove ------------------------------------------------------------- */

static int
cmd_remove (VmCli               *cli,
            const VmCliCommand  *command,
            int                  argc,
            char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  int ret = VM_EXIT_OK;

  if (!vm_cli_parse (cli, command, NULL,
                     _("Removes folders from the library. Their videos leave the catalog, "
                       "except those with annotations, which are kept."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  if (argc < 2)
    {
      vm_cli_error (_("Name at least one folder to remove"));
      return VM_EXIT_USAGE;
    }

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *real = realpath (argv[i], NULL);
      g_autofree char *path = real ? g_strdup (real) : g_canonicalize_filename (argv[i], NULL);

      if (!vm_catalog_remove_folder (catalog, path, &error))
        {
          vm_cli_error ("%s", error->message);
          ret = VM_EXIT_FAILURE;
          continue;
        }
      if (!cli->json)
        printf (_("Removed %s\n"), path);
    }

  if (cli->json)
    printf ("{\"ok\": %s}\n", ret == VM_EXIT_OK ? "true" : "false");

  return ret;
}

/* ---- index -------------------------------------------------------------- */

typedef struct {
  VmCliRun        cli_run;    /* the progress line and Ctrl-C */
  VmCatalog      *catalog;
  VmIndexOptions  options;
  VmJob          *job;
  JsonBuilder    *files;      /* --json: one object per processed file */
  VmIndexReport   report;
  gboolean        progress_json;  /* --progress-json: one JSON line per event */
} IndexRun;

typedef struct {
  IndexRun         *run;
  VmIndexEventType  type;
  char             *path;
  char             *old_path;
  char             *message;
  guint             n_frames;
  guint             n_sampled;
  guint             n_embedded;
  guint             index;
  guint             total;
} EventCopy;

static void
event_copy_free (EventCopy *copy)
{
  g_free (copy->path);
  g_free (copy->old_path);
  g_free (copy->message);
  g_free (copy);
}

static void
show_progress (IndexRun *run)
{
  g_autofree char *message = NULL;
  g_autofree char *what = NULL;

  if (!run->cli_run.cli->is_tty || run->cli_run.cli->quiet)
    return;

  message = vm_job_dup_message (run->job);

  /* Keep the line within a terminal width. */
  if (message != NULL && g_utf8_strlen (message, -1) > 48)
    {
      g_autofree char *tail = g_strdup (g_utf8_offset_to_pointer (message, g_utf8_strlen (message, -1) - 47));
      g_free (message);
      message = g_strconcat ("…", tail, NULL);
    }

  what = g_strdup_printf ("%s —", message ? message : "");
  vm_cli_run_show_progress (&run->cli_run, vm_job_get_fraction (run->job) * 100, what,
                            vm_job_get_eta (run->job));
}

/* --progress-json: one line of JSON per event on stdout, for the window's
 * indexing worker. */
static void
print_json_line (IndexRun       *run,
                 const char     *type,
                 const char     *path,
                 const char     *result,
                 const char     *message,
                 const EventCopy *counts)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "fraction");
  json_builder_add_double_value (b, vm_job_get_fraction (run->job));
  json_builder_set_member_name (b, "eta");
  json_builder_add_double_value (b, vm_job_get_eta (run->job));
  if (path != NULL)
    {
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, path);
    }
  if (result != NULL)
    {
      json_builder_set_member_name (b, "result");
      json_builder_add_string_value (b, result);
    }
  if (message != NULL)
    {
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, message);
    }
  if (counts != NULL)
    {
      json_builder_set_member_name (b, "frames");
      json_builder_add_int_value (b, counts->n_frames);
      json_builder_set_member_name (b, "sampled");
      json_builder_add_int_value (b, counts->n_sampled);
      json_builder_set_member_name (b, "embedded");
      json_builder_add_int_value (b, counts->n_embedded);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  vm_cli_print_json_line (root);
}

static void
job_notify_cb (GObject    *object,
               GParamSpec *pspec,
               gpointer    user_data)
{
  IndexRun *run = user_data;

  if (run->progress_json)
    {
      g_autofree char *message = vm_job_dup_message (run->job);

      print_json_line (run, "progress", NULL, NULL, message, NULL);
      return;
    }
  show_progress (user_data);
}

static gboolean
dispatch_event_cb (gpointer data)
{
  EventCopy *ev = data;
  IndexRun *run = ev->run;
  const char *verb = NULL;

  if (run->progress_json)
    {
      const char *result = NULL;

      switch (ev->type)
        {
        case VM_INDEX_EVENT_STARTED: result = "started"; break;
        case VM_INDEX_EVENT_INDEXED: result = "indexed"; break;
        case VM_INDEX_EVENT_FAILED: result = "failed"; break;
        case VM_INDEX_EVENT_FOLDER_ERROR: result = "folder-error"; break;
        case VM_INDEX_EVENT_MOVED: result = "moved"; break;
        case VM_INDEX_EVENT_MISSING: result = "missing"; break;
        default: break;
        }
      if (result != NULL)
        print_json_line (run, "file", ev->path, result, ev->message,
                         ev->type == VM_INDEX_EVENT_INDEXED ? ev : NULL);
    }

  if (run->cli_run.cli->json)
    {
      const char *result = NULL;

      switch (ev->type)
        {
        case VM_INDEX_EVENT_INDEXED: result = "indexed"; break;
        case VM_INDEX_EVENT_FAILED: result = "failed"; break;
        case VM_INDEX_EVENT_MOVED: result = "moved"; break;
        case VM_INDEX_EVENT_MISSING: result = "missing"; break;
        case VM_INDEX_EVENT_FOLDER_ERROR: result = "folder-error"; break;
        case VM_INDEX_EVENT_NEW:
        case VM_INDEX_EVENT_CHANGED:
        case VM_INDEX_EVENT_STARTED:
        default: break;
        }
      if (result != NULL)
        {
          json_builder_begin_object (run->files);
          json_builder_set_member_name (run->files, "path");
          json_builder_add_string_value (run->files, ev->path);
          json_builder_set_member_name (run->files, "result");
          json_builder_add_string_value (run->files, result);
          if (ev->old_path != NULL)
            {
              json_builder_set_member_name (run->files, "old_path");
              json_builder_add_string_value (run->files, ev->old_path);
            }
          if (ev->type == VM_INDEX_EVENT_INDEXED)
            {
              json_builder_set_member_name (run->files, "frames");
              json_builder_add_int_value (run->files, ev->n_frames);
              json_builder_set_member_name (run->files, "sampled");
              json_builder_add_int_value (run->files, ev->n_sampled);
              json_builder_set_member_name (run->files, "embedded");
              json_builder_add_int_value (run->files, ev->n_embedded);
            }
          if (ev->message != NULL)
            {
              json_builder_set_member_name (run->files, "error");
              json_builder_add_string_value (run->files, ev->message);
            }
          json_builder_end_object (run->files);
        }
      return G_SOURCE_REMOVE;
    }

  if (run->cli_run.cli->quiet && ev->type != VM_INDEX_EVENT_FAILED && ev->type != VM_INDEX_EVENT_FOLDER_ERROR)
    return G_SOURCE_REMOVE;

  vm_cli_run_clear_progress (&run->cli_run);

  switch (ev->type)
    {
    case VM_INDEX_EVENT_FAILED:
      fprintf (stderr, _("error: %s: %s\n"), ev->path, ev->message);
      break;
    case VM_INDEX_EVENT_FOLDER_ERROR:
      fprintf (stderr, _("error: %s: %s\n"), ev->path, ev->message);
      break;
    case VM_INDEX_EVENT_INDEXED:
      if (ev->n_embedded > 0)
        /* Translators: kept frames, sampled frames; all kept frames were embedded. */
        printf (g_dngettext (GETTEXT_PACKAGE, "indexed  %s (%u frame of %u sampled, embedded)\n",
                             "indexed  %s (%u frames of %u sampled, embedded)\n", ev->n_frames),
                ev->path, ev->n_frames, ev->n_sampled);
      else
        printf (g_dngettext (GETTEXT_PACKAGE, "indexed  %s (%u frame of %u sampled)\n",
                             "indexed  %s (%u frames of %u sampled)\n", ev->n_frames),
                ev->path, ev->n_frames, ev->n_sampled);
      break;
    case VM_INDEX_EVENT_MOVED:
      printf (_("moved    %s → %s\n"), ev->old_path, ev->path);
      break;
    case VM_INDEX_EVENT_MISSING:
      printf (_("missing  %s (annotations kept)\n"), ev->path);
      break;
    case VM_INDEX_EVENT_NEW:
      verb = NULL; /* the INDEXED/FAILED line follows */
      break;
    case VM_INDEX_EVENT_CHANGED:
      printf (_("changed  %s\n"), ev->path);
      break;
    case VM_INDEX_EVENT_STARTED:
      if (!run->cli_run.cli->is_tty)
        {
          printf (_("indexing %s (%u/%u)\n"), ev->path, ev->index + 1, ev->total);
        }
      break;
    default:
      break;
    }
  (void) verb;
  fflush (stdout);
  show_progress (run);

  return G_SOURCE_REMOVE;
}

static void
index_event_cb (const VmIndexEvent *event,
                gpointer            user_data)
{
  EventCopy *copy = g_new0 (EventCopy, 1);

  copy->run = user_data;
  copy->type = event->type;
  copy->path = g_strdup (event->path);
  copy->old_path = g_strdup (event->old_path);
  copy->message = event->error ? g_strdup (event->error->message) : NULL;
  copy->n_frames = event->n_frames;
  copy->n_sampled = event->n_sampled;
  copy->n_embedded = event->n_embedded;
  copy->index = event->index;
  copy->total = event->total;

  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, dispatch_event_cb, copy,
                              (GDestroyNotify) event_copy_free);
}

static gboolean
dispatch_warning_cb (gpointer data)
{
  EventCopy *ev = data;

  if (ev->run->cli_run.cli->json || ev->run->cli_run.cli->quiet)
    return G_SOURCE_REMOVE;
  vm_cli_run_clear_progress (&ev->run->cli_run);
  fprintf (stderr, _("warning: %s: %s\n"), ev->path, ev->message);
  show_progress (ev->run);
  return G_SOURCE_REMOVE;
}

/* Timed-text problems (a broken subtitle file, OCR data missing) do not fail
 * a video; they are shown as warnings.  Called on the indexing thread. */
static void
text_warning_cb (const char *path,
                 const char *message,
                 gpointer    user_data)
{
  EventCopy *copy = g_new0 (EventCopy, 1);

  copy->run = user_data;
  copy->path = g_strdup (path);
  copy->message = g_strdup (message);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, dispatch_warning_cb, copy,
                              (GDestroyNotify) event_copy_free);
}

/* Called on the worker thread; the job's cancellable is the run's. */
static gboolean
index_work (gpointer       data,
            GCancellable  *cancellable,
            GError       **error)
{
  IndexRun *run = data;

  return vm_indexer_run (run->catalog, &run->options, run->job, index_event_cb, run,
                         &run->report, error);
}

/* The model for visual embeddings: --model (an installed name or a model
 * folder), else the default installed model.  Returns NULL (after telling
 * the user once, unless @quiet) when indexing goes on with text signals
 * only; sets *@exit_code and returns NULL with *@failed for a --model that
 * does not exist. */
static VmClipModel *
load_index_model (const char    *name,
                  gboolean       quiet,
                  VmGpuDevice  **out_device,
                  gboolean      *failed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuDevice) device = NULL;
  g_autoptr(VmClipModel) model = NULL;
  g_autofree char *dir = NULL;

  *failed = FALSE;

  if (name != NULL)
    {
      g_autofree char *config = g_build_filename (name, "config.json", NULL);

      if (strchr (name, G_DIR_SEPARATOR) != NULL || g_file_test (config, G_FILE_TEST_IS_REGULAR))
        dir = g_strdup (name);
      else
        {
          g_autoptr(VmModelInfo) info = vm_model_store_lookup (NULL, name, &error);

          if (info == NULL)
            {
              vm_cli_error ("%s", error->message);
              *failed = TRUE;
              return NULL;
            }
          dir = g_strdup (info->path);
        }
    }
  else
    {
      dir = vm_model_store_get_default_path (NULL, &error);
      if (dir == NULL)
        {
          if (!quiet)
            {
              g_autofree char *hint = vm_model_store_no_model_hint ();

              if (g_error_matches (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND))
                fprintf (stderr, _("note: indexing without visual embeddings (text signals only). %s\n"), hint);
              else
                fprintf (stderr, _("warning: indexing without visual embeddings: %s\n"), error->message);
            }
          return NULL;
        }
    }

  device = vm_gpu_device_new (&error);
  if (device == NULL)
    {
      if (!quiet)
        fprintf (stderr, _("warning: no usable Vulkan device (%s); indexing without visual embeddings "
                           "(text signals only)\n"), error->message);
      return NULL;
    }

  model = vm_clip_model_load (device, dir, VM_CLIP_LOAD_NO_TEXT, &error);
  if (model == NULL)
    {
      if (!quiet)
        fprintf (stderr, _("warning: cannot load the model in %s (%s); indexing without visual "
                           "embeddings (text signals only)\n"), dir, error->message);
      return NULL;
    }

  *out_device = g_steal_pointer (&device);
  return g_steal_pointer (&model);
}

static int
cmd_index (VmCli               *cli,
           const VmCliCommand  *command,
           int                  argc,
           char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(VmJob) job = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) files = json_builder_new ();
  g_autofree char *mode = NULL;
  double rate = 1.0, max_gap = 4.0;
  int size = 224;
  gboolean force = FALSE, retry = FALSE, no_thumbs = FALSE;
  gboolean no_text = FALSE, no_ocr = FALSE, speech = FALSE;
  double ocr_rate = -1;
  g_autofree char *ocr_languages = NULL;
  g_autofree char *model_name = NULL;
  g_autoptr(VmGpuDevice) device = NULL;
  g_autoptr(VmClipModel) model = NULL;
  gboolean no_visual = FALSE, quiet;
  double dedupe = NAN, keep_every = NAN;   /* NAN: not given */
  int batch_size = 32;
  IndexRun run = { 0 };
  gboolean ok;
  int ret = VM_EXIT_OK;
  const GOptionEntry entries[] = {
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, N_("Frame sampling: keyframes (fast, default) or rate"), N_("MODE") },
    { "rate", 0, 0, G_OPTION_ARG_DOUBLE, &rate, N_("Frames per second in rate mode (default 1)"), N_("FPS") },
    { "max-gap", 0, 0, G_OPTION_ARG_DOUBLE, &max_gap, N_("In keyframe mode, fill gaps longer than this (seconds, default 4)"), N_("SECONDS") },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, N_("Shortest side of sampled frames in pixels (default 224)"), N_("PIXELS") },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, N_("Index unchanged files again"), NULL },
    { "retry-failed", 0, 0, G_OPTION_ARG_NONE, &retry, N_("Try files that failed before again"), NULL },
    { "no-thumbnails", 0, 0, G_OPTION_ARG_NONE, &no_thumbs, N_("Do not write thumbnails"), NULL },
    { "no-text", 0, 0, G_OPTION_ARG_NONE, &no_text, N_("Do not extract timed text (subtitles, on-screen text, speech)"), NULL },
    { "no-ocr", 0, 0, G_OPTION_ARG_NONE, &no_ocr, N_("Do not read on-screen text"), NULL },
    { "ocr-rate", 0, 0, G_OPTION_ARG_DOUBLE, &ocr_rate, N_("At most this many frames OCR'd per second of video (default 0.5)"), N_("FPS") },
    { "ocr-languages", 0, 0, G_OPTION_ARG_STRING, &ocr_languages, N_("Tesseract languages, e.g. eng+deu (default eng)"), N_("LANGS") },
    { "speech", 0, 0, G_OPTION_ARG_NONE, &speech, N_("Recognise speech (PocketSphinx, English; slow)"), NULL },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model_name, N_("Embed frames with this installed model or model folder (default: the default model)"), N_("NAME") },
    { "no-visual", 0, 0, G_OPTION_ARG_NONE, &no_visual, N_("Do not embed frames (text signals only)"), NULL },
    { "dedupe-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &dedupe, N_("Drop frames differing less than this from the last kept frame of their shot (0 to 1, default 0.02)"), N_("DIFF") },
    { "keep-every", 0, 0, G_OPTION_ARG_DOUBLE, &keep_every, N_("Keep at least one frame every this many seconds (default 8; 0 keeps every sampled frame)"), N_("SECONDS") },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &batch_size, N_("Frames per encoder batch (default 32)"), N_("N") },
    { "progress-json", 0, 0, G_OPTION_ARG_NONE, &run.progress_json, N_("Print one JSON line per progress event on standard output"), NULL },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Scans the library folders (and any FOLDER given, which is added first), "
                       "then probes and samples new and changed videos. Unchanged files are skipped, "
                       "moved files are recognised by their content, and deleted files are marked "
                       "missing with their annotations kept. Ctrl-C stops cleanly; run again to resume.\n\n"
                       "Sampled frames are embedded with the default installed model (see “vidmark model”) "
                       "on the GPU; without a model or a Vulkan device, only text signals are indexed. "
                       "Videos indexed without the model's embeddings are sampled again. Within a shot, "
                       "near-duplicate frames are dropped, keeping each shot's first frame and one frame "
                       "every --keep-every seconds."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  vm_index_options_init (&run.options);
  if (mode == NULL || g_str_equal (mode, "keyframes"))
    run.options.sampler.mode = VM_SAMPLE_KEYFRAMES;
  else if (g_str_equal (mode, "rate"))
    run.options.sampler.mode = VM_SAMPLE_RATE;
  else
    {
      vm_cli_error (_("Unknown sampling mode “%s” (use keyframes or rate)"), mode);
      return VM_EXIT_USAGE;
    }
  if (!(rate > 0 && rate <= 120))
    {
      vm_cli_error (_("--rate must be between 0 and 120 frames per second"));
      return VM_EXIT_USAGE;
    }
  if (!(max_gap > 0))
    {
      vm_cli_error (_("--max-gap must be positive"));
      return VM_EXIT_USAGE;
    }
  if (size < 0 || size > 4096)
    {
      vm_cli_error (_("--size must be between 0 and 4096"));
      return VM_EXIT_USAGE;
    }
  run.options.sampler.rate = rate;
  run.options.sampler.max_gap = max_gap;
  run.options.sampler.short_side = size;
  run.options.force = force;
  run.options.retry_failed = retry;
  run.options.thumbnails = !no_thumbs;
  run.options.text.enabled = !no_text;
  run.options.text.ocr = !no_ocr;
  run.options.text.speech = speech;
  run.options.text.warning_func = text_warning_cb;
  run.options.text.warning_data = &run;
  if (ocr_rate >= 0)
    {
      if (!(ocr_rate > 0 && ocr_rate <= 30))
        {
          vm_cli_error (_("--ocr-rate must be between 0 and 30 frames per second"));
          return VM_EXIT_USAGE;
        }
      run.options.text.ocr_options.max_ocr_rate = ocr_rate;
    }
  if (ocr_languages != NULL)
    run.options.text.ocr_options.languages = ocr_languages;
  quiet = cli->quiet;
  if (run.progress_json)
    cli->quiet = TRUE;
  if (!isnan (dedupe))
    {
      if (!(dedupe >= 0 && dedupe <= 1))
        {
          vm_cli_error (_("--dedupe-threshold must be between 0 and 1"));
          return VM_EXIT_USAGE;
        }
      run.options.dedupe_threshold = dedupe;
    }
  if (!isnan (keep_every))
    {
      if (!(keep_every >= 0 && keep_every <= 86400))
        {
          vm_cli_error (_("--keep-every must be between 0 and 86400 seconds"));
          return VM_EXIT_USAGE;
        }
      run.options.keep_every = keep_every;
    }
  if (batch_size < 1 || batch_size > 1024)
    {
      vm_cli_error (_("--batch-size must be between 1 and 1024"));
      return VM_EXIT_USAGE;
    }
  run.options.batch_size = batch_size;
  if (no_visual && model_name != NULL)
    {
      vm_cli_error (_("--model and --no-visual cannot be used together"));
      return VM_EXIT_USAGE;
    }

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;


  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = canonical_folder (argv[i], &error);

      if (path == NULL || !vm_catalog_add_folder (catalog, path, NULL, &error))
        {
          vm_cli_error ("%s", error->message);
          return VM_EXIT_FAILURE;
        }
    }

  {
    g_autoptr(GPtrArray) folders = vm_catalog_list_folders (catalog, NULL);

    if (folders != NULL && folders->len == 0)
      {
        vm_cli_error (_("The library has no folders yet. Add one with “vidmark add FOLDER”."));
        return VM_EXIT_FAILURE;
      }
  }

  /* After the cheap checks: loading a model takes a while. */
  if (!no_visual)
    {
      gboolean failed;

      model = load_index_model (model_name, quiet, &device, &failed);
      if (failed)
        return VM_EXIT_FAILURE;
      run.options.model = model;
    }

  job = vm_job_new (_("Indexing"));
  run.cli_run.cli = cli;
  run.cli_run.cancellable = vm_job_get_cancellable (job);
  run.cli_run.stop_message = _("Stopping after the current step… (the catalog stays consistent)");
  run.catalog = catalog;
  run.job = job;
  run.files = files;

  json_builder_begin_array (files);

  g_signal_connect (job, "notify::fraction", G_CALLBACK (job_notify_cb), &run);
  g_signal_connect (job, "notify::message", G_CALLBACK (job_notify_cb), &run);
  ok = vm_cli_run_in_thread (&run.cli_run, cmd_index, index_work, &run, &error);
  g_signal_handlers_disconnect_by_data (job, &run);

  json_builder_end_array (files);

  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return vm_cli_run_report_error (&run.cli_run, error, NULL);

  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
#define ADD_COUNT(name, field) \
      json_builder_set_member_name (b, name); \
      json_builder_add_int_value (b, run.report.field);
      ADD_COUNT ("found", n_found);
      ADD_COUNT ("new", n_new);
      ADD_COUNT ("changed", n_changed);
      ADD_COUNT ("moved", n_moved);
      ADD_COUNT ("missing", n_missing);
      ADD_COUNT ("unchanged", n_unchanged);
      ADD_COUNT ("indexed", n_indexed);
      ADD_COUNT ("failed", n_failed);
      ADD_COUNT ("frames", n_frames);
      ADD_COUNT ("sampled", n_sampled);
      ADD_COUNT ("dropped", n_dropped);
      ADD_COUNT ("embedded", n_embedded);
      ADD_COUNT ("reembedded", n_reembed);
#undef ADD_COUNT
      json_builder_set_member_name (b, "model");
      if (model != NULL)
        json_builder_add_string_value (b, vm_clip_model_get_name (model));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "interrupted");
      json_builder_add_boolean_value (b, run.report.cancelled);
      json_builder_set_member_name (b, "files");
      json_builder_add_value (b, json_builder_get_root (files));
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
    }
  else if (!cli->quiet)
    {
      printf (_("%u videos found: %u new, %u changed, %u moved, %u missing, %u unchanged; "
                "%u indexed (%" PRIu64 " frames), %u failed.\n"),
              run.report.n_found, run.report.n_new, run.report.n_changed, run.report.n_moved,
              run.report.n_missing, run.report.n_unchanged, run.report.n_indexed,
              run.report.n_frames, run.report.n_failed);
      if (run.report.n_sampled > 0 && model != NULL)
        printf (_("%" PRIu64 " frames sampled, %" PRIu64 " near-duplicates dropped, "
                  "%" PRIu64 " embedded with %s.\n"),
                run.report.n_sampled, run.report.n_dropped, run.report.n_embedded,
                vm_clip_model_get_name (model));
      else if (run.report.n_sampled > 0)
        printf (_("%" PRIu64 " frames sampled, %" PRIu64 " near-duplicates dropped, "
                  "none embedded.\n"),
                run.report.n_sampled, run.report.n_dropped);
      if (run.report.model_replaced)
        printf (_("The weights of the model “%s” changed: its earlier embeddings were dropped.\n"),
                vm_clip_model_get_name (model));
    }

  if (run.report.cancelled)
    {
      fprintf (stderr, "%s\n", _("Interrupted. Run “vidmark index” again to resume."));
      return VM_EXIT_INTERRUPTED;
    }

  return run.report.n_failed > 0 ? VM_EXIT_PARTIAL : VM_EXIT_OK;
}

/* ---- list --------------------------------------------------------------- */

static int
cmd_list (VmCli               *cli,
          const VmCliCommand  *command,
          int                  argc,
          char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(GPtrArray) videos = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;
  VmVideoStatus status_filter = 0;
  int ret = VM_EXIT_OK;
  const GOptionEntry entries[] = {
    { "status", 0, 0, G_OPTION_ARG_STRING, &status, N_("Only videos with this status: new, probed, indexed, error or missing"), N_("STATUS") },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Lists the videos in the catalog with their status."), &argc, &argv))
    return VM_EXIT_USAGE;

  if (status != NULL && !vm_video_status_from_string (status, &status_filter))
    {
      vm_cli_error (_("Unknown status “%s”"), status);
      return VM_EXIT_USAGE;
    }

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;

  videos = vm_catalog_list_videos (catalog, 0, &error);
  if (videos == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "videos");
      json_builder_begin_array (b);
      for (guint i = 0; i < videos->len; i++)
        {
          VmVideo *v = g_ptr_array_index (videos, i);

          if (status != NULL && v->status != status_filter)
            continue;
          json_builder_add_value (b, vm_cli_video_to_json (v));
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
      return VM_EXIT_OK;
    }

  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (videos, i);
      g_autofree char *dur = v->duration_ns >= 0 ? vm_format_timestamp (v->duration_ns) : g_strdup ("-");

      if (status != NULL && v->status != status_filter)
        continue;
      printf ("%-8s %12s %5u %s%s%s\n", vm_video_status_to_string (v->status), dur, v->n_frames,
              v->path, v->error_message ? " — " : "", v->error_message ? v->error_message : "");
    }

  return VM_EXIT_OK;
}

/* ---- info --------------------------------------------------------------- */

static int
cmd_info (VmCli               *cli,
          const VmCliCommand  *command,
          int                  argc,
          char               **argv)
{
  g_autoptr(VmMediaInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(VmVideo) video = NULL;
  g_autofree char *path = NULL;
  int ret = VM_EXIT_OK;

  if (!vm_cli_parse (cli, command, NULL,
                     _("Probes a video file and shows what the catalog knows of it."), &argc, &argv))
    return VM_EXIT_USAGE;

  if (argc != 2)
    {
      vm_cli_error (_("Name one video file"));
      return VM_EXIT_USAGE;
    }

  path = g_canonicalize_filename (argv[1], NULL);

  if (!vm_media_init (&error) || !(info = vm_media_probe (path, 15000, &error)))
    {
      vm_cli_error ("%s: %s", argv[1], error->message);
      return VM_EXIT_FAILURE;
    }

  /* The catalog is optional here: a file outside the library has info too. */
  if (g_file_test (cli->catalog_path, G_FILE_TEST_EXISTS))
    {
      catalog = vm_cli_open_catalog (cli, &ret);
      if (catalog == NULL)
        return ret;
      {
        g_autofree char *real = realpath (path, NULL);
        video = vm_catalog_find_video_by_path (catalog, real ? real : path, NULL);
      }
    }

  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "duration");
      if (info->duration_ns >= 0)
        json_builder_add_double_value (b, info->duration_ns / 1e9);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, info->width);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, info->height);
      json_builder_set_member_name (b, "fps");
      if (info->fps_num > 0 && info->fps_den > 0)
        json_builder_add_double_value (b, (double) info->fps_num / info->fps_den);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "container");
      json_builder_add_string_value (b, info->container);
      json_builder_set_member_name (b, "video_codec");
      json_builder_add_string_value (b, info->video_codec);
      json_builder_set_member_name (b, "audio_codec");
      json_builder_add_string_value (b, info->audio_codec);
      json_builder_set_member_name (b, "has_audio");
      json_builder_add_boolean_value (b, info->has_audio);
      json_builder_set_member_name (b, "subtitle_streams");
      json_builder_add_int_value (b, info->n_subtitle_streams);
      json_builder_set_member_name (b, "seekable");
      json_builder_add_boolean_value (b, info->seekable);
      json_builder_set_member_name (b, "catalog");
      if (video != NULL)
        json_builder_add_value (b, vm_cli_video_to_json (video));
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
      return VM_EXIT_OK;
    }

  {
    g_autofree char *dur = info->duration_ns >= 0 ? vm_format_timestamp (info->duration_ns) : g_strdup (_("unknown"));

    printf ("%-12s %s\n", _("File:"), path);
    printf ("%-12s %s\n", _("Duration:"), dur);
    printf ("%-12s %d×%d\n", _("Size:"), info->width, info->height);
    if (info->fps_num > 0 && info->fps_den > 0)
      printf ("%-12s %.3f\n", _("Frame rate:"), (double) info->fps_num / info->fps_den);
    else
      printf ("%-12s %s\n", _("Frame rate:"), _("variable or unknown"));
    printf ("%-12s %s\n", _("Container:"), info->container ? info->container : "-");
    printf ("%-12s %s\n", _("Video:"), info->video_codec ? info->video_codec : "-");
    printf ("%-12s %s\n", _("Audio:"), info->audio_codec ? info->audio_codec : _("none"));
    printf ("%-12s %u\n", _("Subtitles:"), info->n_subtitle_streams);
    if (video != NULL)
      {
        printf ("%-12s %s", _("Catalog:"), vm_video_status_to_string (video->status));
        if (video->status == VM_VIDEO_STATUS_INDEXED)
          printf (g_dngettext (GETTEXT_PACKAGE, ", %u frame", ", %u frames", video->n_frames), video->n_frames);
        if (video->error_message != NULL)
          printf (" — %s", video->error_message);
        printf ("\n");
      }
    else
      printf ("%-12s %s\n", _("Catalog:"), _("not in the library"));
  }

  return VM_EXIT_OK;
}

/* ---- status ------------------------------------------------------------- */

static int
cmd_status (VmCli               *cli,
            const VmCliCommand  *command,
            int                  argc,
            char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GError) error = NULL;
  VmCatalogStats stats;
  int ret = VM_EXIT_OK;

  if (!vm_cli_parse (cli, command, NULL,
                     _("Shows the catalog, its folders and how far indexing has come."), &argc, &argv))
    return VM_EXIT_USAGE;

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;

  if (!vm_catalog_get_stats (catalog, &stats, &error) ||
      !(folders = vm_catalog_list_folders (catalog, &error)))
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "catalog");
      json_builder_add_string_value (b, vm_catalog_get_path (catalog));
      json_builder_set_member_name (b, "schema_version");
      json_builder_add_int_value (b, vm_catalog_get_schema_version (catalog));
      json_builder_set_member_name (b, "folders");
      json_builder_begin_array (b);
      for (guint i = 0; i < folders->len; i++)
        json_builder_add_string_value (b, ((VmFolder *) g_ptr_array_index (folders, i))->path);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "videos");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "total");
      json_builder_add_int_value (b, stats.n_videos);
      for (int s = VM_VIDEO_STATUS_NEW; s <= VM_VIDEO_STATUS_MISSING; s++)
        {
          json_builder_set_member_name (b, vm_video_status_to_string (s));
          json_builder_add_int_value (b, stats.n_by_status[s]);
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "duration");
      json_builder_add_double_value (b, stats.total_duration_ns / 1e9);
      json_builder_set_member_name (b, "frames");
      json_builder_add_int_value (b, stats.n_frames);
      json_builder_set_member_name (b, "embeddings");
      json_builder_add_int_value (b, stats.n_embeddings);
      json_builder_set_member_name (b, "text_segments");
      json_builder_add_int_value (b, stats.n_text_segments);
      json_builder_set_member_name (b, "annotations");
      json_builder_add_int_value (b, stats.n_annotations);
      json_builder_set_member_name (b, "catalog_bytes");
      json_builder_add_int_value (b, stats.file_size);
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
      return VM_EXIT_OK;
    }

  {
    g_autofree char *size = vm_format_size (stats.file_size);
    g_autofree char *dur = vm_format_duration (stats.total_duration_ns / 1e9);

    printf ("%-14s %s (%s, %s %d)\n", _("Catalog:"), vm_catalog_get_path (catalog), size,
            _("schema"), vm_catalog_get_schema_version (catalog));
    printf ("%-14s %u\n", _("Folders:"), folders->len);
    for (guint i = 0; i < folders->len; i++)
      printf ("  %s\n", ((VmFolder *) g_ptr_array_index (folders, i))->path);
    printf ("%-14s %u (%s)\n", _("Videos:"), stats.n_videos, dur);
    for (int s = VM_VIDEO_STATUS_NEW; s <= VM_VIDEO_STATUS_MISSING; s++)
      if (stats.n_by_status[s] > 0)
        printf ("  %-12s %u\n", vm_video_status_to_string (s), stats.n_by_status[s]);
    printf ("%-14s %" G_GUINT64_FORMAT "\n", _("Frames:"), stats.n_frames);
    printf ("%-14s %" G_GUINT64_FORMAT "\n", _("Text segments:"), stats.n_text_segments);
    printf ("%-14s %" G_GUINT64_FORMAT "\n", _("Annotations:"), stats.n_annotations);
    if (folders->len == 0)
      printf ("\n%s\n", _("The library is empty. Add a folder with “vidmark add FOLDER”, then run “vidmark index”."));
    else if (stats.n_by_status[VM_VIDEO_STATUS_NEW] + stats.n_by_status[VM_VIDEO_STATUS_PROBED] > 0)
      printf ("\n%s\n", _("Some videos are not indexed yet: run “vidmark index”."));
  }

  return VM_EXIT_OK;
}

/* ---- demo --------------------------------------------------------------- */

static void
demo_progress_cb (const char *name,
                  gpointer    data)
{
  VmCli *cli = data;

  if (!cli->quiet && !cli->json)
    fprintf (stderr, _("Generating %s…\n"), name);
}

static int
cmd_demo (VmCli               *cli,
          const VmCliCommand  *command,
          int                  argc,
          char               **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *dir = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Folder for the clips (default: ~/.local/share/vidmark/demo)"), N_("FOLDER") },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Generates a small demo library of clips with GStreamer: H.264/MP4, VP9/WebM, "
                       "an MKV with a subtitle track, a clip with a sidecar .srt, on-screen text and "
                       "speech. Existing clips are kept."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  dir = output ? g_canonicalize_filename (output, NULL) : vm_paths_demo_dir ();

  if (!vm_media_init (&error) ||
      !vm_media_generate_demo (dir, demo_progress_cb, cli, NULL, &error))
    {
      vm_cli_error (_("Cannot generate the demo library: %s"), error->message);
      return VM_EXIT_FAILURE;
    }

  if (cli->json)
    vm_cli_print_json_string ("folder", dir);
  else
    printf (_("Demo library in %s\n"), dir);

  return VM_EXIT_OK;
}


const VmCliCommand vm_cli_commands[] = {
  { "add", N_("FOLDER…"), N_("Add folders to the library"), cmd_add },
  { "remove", N_("FOLDER…"), N_("Remove folders from the library (annotated videos are kept)"), cmd_remove },
  { "index", N_("[FOLDER…]"), N_("Scan the library and index new and changed videos"), cmd_index },
  { "list", NULL, N_("List the videos in the catalog"), cmd_list },
  { "info", N_("FILE"), N_("Show what a video file holds"), cmd_info },
  { "search", N_("QUERY"), N_("Find moments by what they show or by their subtitles, on-screen text or speech"), vm_cli_cmd_search },
  { "status", NULL, N_("Show the catalog and indexing progress"), cmd_status },
  { "demo", NULL, N_("Generate a demo library of short clips"), cmd_demo },
  { "export", N_("--set NAME -o FILE"), N_("Export an annotation set as a dataset"), vm_cli_cmd_export },
  { "import", N_("FILE --format FORMAT --set NAME"), N_("Import a dataset into an annotation set"), vm_cli_cmd_import },
  { "eval", N_("--set NAME --predictions FILE"), N_("Score predictions against an annotation set"), vm_cli_cmd_eval },
  { "model", N_("COMMAND"), N_("Manage CLIP models: list, import, install, remove, default"), vm_cli_cmd_model },
  { "gpu", NULL, N_("List the Vulkan devices and their features"), vm_cli_cmd_gpu },
  { NULL }
};
