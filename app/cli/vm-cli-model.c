/* vm-cli-model.c — `vidmark model list | import | install | remove | default`.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>

#include "cli/vm-cli-model.h"
#include "cli/vm-cli-run.h"
#include "model/vm-tokenizer.h"
#include "core/vm-core.h"
#include "model/vm-model-download.h"
#include "model/vm-model-error.h"
#include "model/vm-model-store.h"

static JsonNode *
info_to_json (const VmModelInfo *info)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

#define ADD_STR(member, value) \
  json_builder_set_member_name (b, member); \
  if ((value) != NULL) json_builder_add_string_value (b, value); \
  else json_builder_add_null_value (b);
#define ADD_UINT(member, value) \
  json_builder_set_member_name (b, member); \
  if (info->config_ok) json_builder_add_int_value (b, value); \
  else json_builder_add_null_value (b);

  json_builder_begin_object (b);
  ADD_STR ("name", info->name);
  ADD_STR ("path", info->path);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) info->size);
  json_builder_set_member_name (b, "default");
  json_builder_add_boolean_value (b, info->is_default);
  ADD_UINT ("embed_dim", info->embed_dim);
  ADD_UINT ("image_size", info->image_size);
  ADD_UINT ("patch_size", info->patch_size);
  ADD_UINT ("vision_width", info->vision_width);
  ADD_UINT ("vision_layers", info->vision_layers);
  ADD_STR ("source", info->source);
  ADD_STR ("revision", info->revision);
  ADD_STR ("installed_at", info->installed_at);
  json_builder_end_object (b);
#undef ADD_STR
#undef ADD_UINT

  return json_builder_get_root (b);
}

/* --json of import and install: the installed model, or null. */
static void
print_model_json (const char *name)
{
  g_autoptr(VmModelInfo) info = vm_model_store_lookup (NULL, name, NULL);
  g_autoptr(JsonNode) root = info ? info_to_json (info) : json_node_new (JSON_NODE_NULL);

  vm_cli_print_json (root);
}

/* ---- list ------------------------------------------------------------------ */

static int
model_list (VmCli              *cli,
            const VmCliCommand *command,
            int                 argc,
            char              **argv)
{
  g_autoptr(GPtrArray) models = NULL;
  g_autoptr(GPtrArray) interrupted = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = vm_paths_models_dir ();
  gboolean available = FALSE;
  const GOptionEntry entries[] = {
    { "available", 0, 0, G_OPTION_ARG_NONE, &available, N_("List the models “install” knows by name"), NULL },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Lists the installed CLIP models: name, embedding size, input size, disk size and "
                       "origin; the default one is marked with “*”."), &argc, &argv))
    return VM_EXIT_USAGE;
  if (argc > 1)
    {
      vm_cli_error (_("“model list” takes no arguments"));
      return VM_EXIT_USAGE;
    }

  if (available)
    {
      if (cli->json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "available");
          json_builder_begin_array (b);
          for (guint i = 0; vm_known_models[i].name != NULL; i++)
            {
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "name");
              json_builder_add_string_value (b, vm_known_models[i].name);
              json_builder_set_member_name (b, "repo");
              json_builder_add_string_value (b, vm_known_models[i].repo);
              json_builder_set_member_name (b, "revision");
              json_builder_add_string_value (b, vm_known_models[i].revision);
              json_builder_set_member_name (b, "size");
              json_builder_add_int_value (b, (gint64) vm_known_models[i].approx_size);
              json_builder_set_member_name (b, "description");
              json_builder_add_string_value (b, vm_known_models[i].description);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
          vm_cli_print_json_builder (b);
        }
      else
        for (guint i = 0; vm_known_models[i].name != NULL; i++)
          {
            g_autofree char *size = vm_format_size (vm_known_models[i].approx_size);

            printf ("%-24s %-40s ≈%-8s %s\n", vm_known_models[i].name, vm_known_models[i].repo,
                    size, _(vm_known_models[i].description));
          }
      return VM_EXIT_OK;
    }

  models = vm_model_store_list (dir, &error);
  if (models == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }
  interrupted = vm_model_list_interrupted (dir);

  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      const char *def = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "models_dir");
      json_builder_add_string_value (b, dir);
      json_builder_set_member_name (b, "models");
      json_builder_begin_array (b);
      for (guint i = 0; i < models->len; i++)
        {
          const VmModelInfo *info = g_ptr_array_index (models, i);

          if (info->is_default)
            def = info->name;
          json_builder_add_value (b, info_to_json (info));
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "default");
      if (def != NULL)
        json_builder_add_string_value (b, def);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "interrupted");
      json_builder_begin_array (b);
      for (guint i = 0; i < interrupted->len; i++)
        {
          const VmInterruptedDownload *d = g_ptr_array_index (interrupted, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, d->name);
          json_builder_set_member_name (b, "repo");
          if (d->repo != NULL)
            json_builder_add_string_value (b, d->repo);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "revision");
          if (d->revision != NULL)
            json_builder_add_string_value (b, d->revision);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "size");
          json_builder_add_int_value (b, (gint64) d->size);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
      return VM_EXIT_OK;
    }

  if (models->len == 0)
    {
      g_autofree char *hint = vm_model_store_no_model_hint ();

      printf ("%s\n", hint);
    }
  else
    printf ("  %-32s %5s %7s %9s  %s\n", _("NAME"), _("DIMS"), _("INPUT"), _("SIZE"), _("SOURCE"));

  for (guint i = 0; i < models->len; i++)
    {
      const VmModelInfo *info = g_ptr_array_index (models, i);
      g_autofree char *size = vm_format_size (info->size);
      g_autofree char *dims = info->config_ok ? g_strdup_printf ("%u", info->embed_dim) : g_strdup ("?");
      g_autofree char *input = info->config_ok ?
        g_strdup_printf ("%u/%u", info->image_size, info->patch_size) : g_strdup ("?");
      g_autofree char *source = NULL;

      if (info->source != NULL && info->revision != NULL)
        source = g_strdup_printf ("%s@%.12s", info->source, info->revision);
      else
        source = g_strdup (info->source ? info->source : "");
      printf ("%s %-32s %5s %7s %9s  %s\n", info->is_default ? "*" : " ", info->name, dims, input,
              size, source);
    }

  for (guint i = 0; i < interrupted->len; i++)
    {
      const VmInterruptedDownload *d = g_ptr_array_index (interrupted, i);
      g_autofree char *size = vm_format_size (d->size);
      g_autofree char *installed_as = d->repo ? vm_model_install_name (d->repo, NULL, NULL) : NULL;
      g_autofree char *args = NULL;

      if (d->repo == NULL)
        args = g_strdup (d->name);
      else if (g_strcmp0 (installed_as, d->name) == 0)
        args = g_strdup (d->repo);
      else
        args = g_strdup_printf ("%s --name %s", d->repo, d->name);
      printf (_("Interrupted download of “%s” (%s so far): run “vidmark model install %s” again "
                "to continue, or “vidmark model remove %s” to discard it.\n"),
              d->name, size, args, d->name);
    }

  return VM_EXIT_OK;
}

/* ---- import ------------------------------------------------------------------ */

static int
model_import (VmCli              *cli,
              const VmCliCommand *command,
              int                 argc,
              char              **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *installed = NULL;
  const GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_("Install under NAME (default: the folder's name)"), N_("NAME") },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Copies a Hugging Face CLIP folder (config.json, model.safetensors, vocab.json, "
                       "merges.txt and the tokenizer and preprocessor files when present) into the "
                       "models folder, after checking it. Snapshot folders of the Hugging Face cache "
                       "work too."), &argc, &argv))
    return VM_EXIT_USAGE;
  if (argc != 2)
    {
      vm_cli_error (_("Name one folder to import"));
      return VM_EXIT_USAGE;
    }

  installed = vm_model_store_import (NULL, argv[1], name, NULL, &error);
  if (installed == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  if (cli->json)
    print_model_json (installed);
  else if (!cli->quiet)
    printf (_("Imported model “%s”.\n"), installed);

  return VM_EXIT_OK;
}

/* ---- install ------------------------------------------------------------------ */

typedef struct {
  VmCliRun          cli_run;    /* the progress line and Ctrl-C */
  VmInstallOptions  options;
  char             *installed;
} InstallRun;

/* Called in the download thread; only this thread prints while it runs. */
static void
install_progress_cb (const VmDownloadProgress *p,
                     gpointer                  user_data)
{
  InstallRun *run = user_data;
  g_autofree char *done = NULL;
  g_autofree char *total = NULL;

  if (run->cli_run.cli->quiet || run->cli_run.cli->json)
    return;

  if (p->stage == VM_DOWNLOAD_PROGRESS && run->cli_run.cli->is_tty)
    {
      g_autofree char *rate = p->rate > 0 ? vm_format_size ((guint64) p->rate) : g_strdup ("…");
      g_autofree char *what = NULL;

      done = vm_format_size (p->done);
      total = vm_format_size (p->total);
      what = g_strdup_printf ("%s (%u/%u) %s / %s, %s/s,", p->file, p->file_index + 1, p->n_files,
                              done, total, rate);
      vm_cli_run_show_progress (&run->cli_run, p->total ? 100.0 * p->done / p->total : 0.0, what,
                                p->rate > 0 && p->total >= p->done ? (p->total - p->done) / p->rate : -1);
      return;
    }

  switch (p->stage)
    {
    case VM_DOWNLOAD_RESOLVING:
      fprintf (stderr, _("looking up %s at %s\n"), p->repo, p->revision);
      break;
    case VM_DOWNLOAD_FILE_START:
      /* On a terminal the progress line names the file. */
      if (run->cli_run.cli->is_tty && p->done_file == 0)
        return;
      vm_cli_run_clear_progress (&run->cli_run);
      total = vm_format_size (p->size_file);
      if (p->done_file > 0)
        {
          done = vm_format_size (p->done_file);
          fprintf (stderr, _("resuming %s at %s of %s (%u/%u)\n"), p->file, done, total,
                   p->file_index + 1, p->n_files);
        }
      else
        fprintf (stderr, _("downloading %s, %s (%u/%u)\n"), p->file, total,
                 p->file_index + 1, p->n_files);
      break;
    case VM_DOWNLOAD_FILE_DONE:
      if (run->cli_run.cli->is_tty)
        return;
      vm_cli_run_clear_progress (&run->cli_run);
      fprintf (stderr, _("checked %s\n"), p->file);
      break;
    case VM_DOWNLOAD_VERIFYING:
      vm_cli_run_clear_progress (&run->cli_run);
      fprintf (stderr, _("checking the model of %s at %.12s\n"), p->repo, p->revision);
      break;
    case VM_DOWNLOAD_PROGRESS:
    default:
      break;
    }
  fflush (stderr);
}

/* Called on the worker thread. */
static gboolean
install_work (gpointer       data,
              GCancellable  *cancellable,
              GError       **error)
{
  InstallRun *run = data;

  run->installed = vm_model_install (NULL, &run->options, install_progress_cb, run, cancellable, error);
  return run->installed != NULL;
}

static int
model_install (VmCli              *cli,
               const VmCliCommand *command,
               int                 argc,
               char              **argv)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *revision = NULL;
  g_autofree char *installed = NULL;
  InstallRun run = { 0 };
  gboolean ok;
  const GOptionEntry entries[] = {
    { "revision", 0, 0, G_OPTION_ARG_STRING, &revision, N_("Download this branch, tag or commit (default: the pinned commit of a known model, else “main”)"), N_("REV") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_("Install under NAME"), N_("NAME") },
    { NULL }
  };
  g_autofree char *description = NULL;
  GString *known = g_string_new (_("Known models:\n"));

  for (guint i = 0; vm_known_models[i].name != NULL; i++)
    {
      g_autofree char *size = vm_format_size (vm_known_models[i].approx_size);

      g_string_append_printf (known, "  %-24s %s (≈%s)\n", vm_known_models[i].name,
                              vm_known_models[i].repo, size);
    }
  g_string_append (known, _("\nDownloads from Hugging Face ($VIDMARK_HF_ENDPOINT, default "
                            "https://huggingface.co; $HF_TOKEN for gated repositories). An "
                            "interrupted download continues where it stopped when the command "
                            "runs again."));
  description = g_string_free (known, FALSE);

  if (!vm_cli_parse (cli, command, entries, description, &argc, &argv))
    return VM_EXIT_USAGE;
  if (argc != 2)
    {
      vm_cli_error (_("Name one model to install: a known name (see “vidmark model list --available”) "
                      "or a Hugging Face repository “org/name”"));
      return VM_EXIT_USAGE;
    }

  run.cli_run.cli = cli;
  run.cli_run.cancellable = cancellable;
  /* A Ctrl-C while the model was being checked still counts as one. */
  run.cli_run.cancel_overrides = TRUE;
  run.options.spec = argv[1];
  run.options.name = name;
  run.options.revision = revision;

  ok = vm_cli_run_in_thread (&run.cli_run, model_install, install_work, &run, &error);
  installed = g_steal_pointer (&run.installed);
  if (!ok)
    return vm_cli_run_report_error (&run.cli_run, error,
                                    _("Interrupted. Run the same command again to continue the download."));

  if (cli->json)
    print_model_json (installed);
  else if (!cli->quiet)
    printf (_("Installed model “%s”.\n"), installed);

  return VM_EXIT_OK;
}

/* ---- remove, default ---------------------------------------------------------- */

static int
model_remove (VmCli              *cli,
              const VmCliCommand *command,
              int                 argc,
              char              **argv)
{
  g_autoptr(GError) error = NULL;
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, N_("Remove the model even when it is the default"), NULL },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Deletes an installed model. The default model is kept unless --force is given; "
                       "then the first remaining model becomes the default."), &argc, &argv))
    return VM_EXIT_USAGE;
  if (argc != 2)
    {
      vm_cli_error (_("Name one model to remove"));
      return VM_EXIT_USAGE;
    }

  if (!vm_model_store_remove (NULL, argv[1], force, &error))
    {
      g_autoptr(GError) partial_error = NULL;

      /* No such model: maybe an interrupted download to discard. */
      if (!g_error_matches (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND) ||
          !vm_model_discard_interrupted (NULL, argv[1], &partial_error))
        {
          if (partial_error != NULL &&
              !g_error_matches (partial_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
            vm_cli_error ("%s", partial_error->message);
          else
            vm_cli_error ("%s", error->message);
          return VM_EXIT_FAILURE;
        }
      if (!cli->quiet && !cli->json)
        printf (_("Discarded the interrupted download of “%s”.\n"), argv[1]);
    }
  else if (!cli->quiet && !cli->json)
    printf (_("Removed model “%s”.\n"), argv[1]);
  if (cli->json)
    vm_cli_print_json_string ("removed", argv[1]);

  return VM_EXIT_OK;
}

static int
model_default (VmCli              *cli,
               const VmCliCommand *command,
               int                 argc,
               char              **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  if (!vm_cli_parse (cli, command, NULL,
                     _("Sets the model used for indexing and search; without NAME, prints it."),
                     &argc, &argv))
    return VM_EXIT_USAGE;
  if (argc > 2)
    {
      vm_cli_error (_("Name one model"));
      return VM_EXIT_USAGE;
    }

  if (argc == 2)
    {
      if (!vm_model_store_set_default (NULL, argv[1], &error))
        {
          vm_cli_error ("%s", error->message);
          return VM_EXIT_FAILURE;
        }
      name = g_strdup (argv[1]);
    }
  else if ((name = vm_model_store_get_default (NULL, &error)) == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  if (cli->json)
    vm_cli_print_json_string ("default", name);
  else if (!cli->quiet)
    printf ("%s\n", name);

  return VM_EXIT_OK;
}

static int
model_verify (VmCli              *cli,
              const VmCliCommand *command,
              int                 argc,
              char              **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  if (!vm_cli_parse (cli, command, NULL,
                     _("Checks an installed model's files (the default model without NAME) against "
                       "the sizes and SHA-256 hashes recorded when it was installed."), &argc, &argv))
    return VM_EXIT_USAGE;
  if (argc > 2)
    {
      vm_cli_error (_("Name one model"));
      return VM_EXIT_USAGE;
    }
  name = argc == 2 ? g_strdup (argv[1]) : vm_model_store_get_default (NULL, &error);
  if (name == NULL || !vm_model_store_verify (NULL, name, NULL, &error))
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }
  if (cli->json)
    vm_cli_print_json_string ("verified", name);
  else if (!cli->quiet)
    printf (_("Model “%s” is intact.\n"), name);

  return VM_EXIT_OK;
}

static int
model_tokenize (VmCli              *cli,
                const VmCliCommand *command,
                int                 argc,
                char              **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmTokenizer) tokenizer = NULL;
  g_autofree char *vocab = NULL;
  g_autofree char *text = NULL;
  g_autofree gint32 *ids = NULL;
  int context = VM_TOKENIZER_CONTEXT_LENGTH;
  guint n_ids;
  const GOptionEntry entries[] = {
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &vocab, N_("Folder holding vocab.json and merges.txt (default: the default model)"), N_("DIR") },
    { "context", 0, 0, G_OPTION_ARG_INT, &context, N_("Truncate to this many ids, keeping the end token (default 77; 0: no limit)"), N_("N") },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Prints the CLIP token ids of TEXT, with the start and end tokens and without "
                       "padding. With --json: {\"ids\": [...]}."),
                     &argc, &argv))
    return VM_EXIT_USAGE;
  if (argc < 2)
    {
      vm_cli_error (_("Give the text to tokenize"));
      return VM_EXIT_USAGE;
    }
  if (context != 0 && context < 2)
    {
      vm_cli_error (_("--context must be 0 or at least 2"));
      return VM_EXIT_USAGE;
    }

  if (vocab == NULL && (vocab = vm_model_store_get_default_path (NULL, &error)) == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  tokenizer = vm_tokenizer_new_from_dir (vocab, &error);
  if (tokenizer == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  text = g_strjoinv (" ", argv + 1);
  if (context == 0)
    {
      g_autoptr(GArray) all = vm_tokenizer_encode (tokenizer, text);

      n_ids = all->len;
      ids = g_memdup2 (all->data, all->len * sizeof (gint32));
    }
  else
    {
      ids = g_new0 (gint32, context);
      n_ids = vm_tokenizer_encode_padded (tokenizer, text, ids, context);
    }

  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ids");
      json_builder_begin_array (b);
      for (guint i = 0; i < n_ids; i++)
        json_builder_add_int_value (b, ids[i]);
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      /* One line: ids lists are long. */
      vm_cli_print_json_line (root);
    }
  else
    {
      for (guint i = 0; i < n_ids; i++)
        printf ("%s%d", i ? " " : "", ids[i]);
      printf ("\n");
    }

  return VM_EXIT_OK;
}

/* ---- dispatch ----------------------------------------------------------------- */

static const VmCliCommand model_commands[] = {
  { "model list", NULL, N_("List the installed models (--available: the known ones)"), model_list },
  { "model import", N_("DIR"), N_("Import a downloaded Hugging Face CLIP folder"), model_import },
  { "model install", N_("NAME|ORG/REPO"), N_("Download and install a model from Hugging Face"), model_install },
  { "model remove", N_("NAME"), N_("Delete an installed model"), model_remove },
  { "model default", N_("[NAME]"), N_("Show or set the default model"), model_default },
  { "model verify", N_("[NAME]"), N_("Check a model's files against its manifest"), model_verify },
  { "model tokenize", N_("[--vocab DIR] [--json] TEXT"), N_("Print the CLIP token ids of a text"), model_tokenize },
  { NULL }
};

static void
print_model_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: vidmark model COMMAND [OPTIONS…]"));
  fprintf (out, "%s\n\n", _("Manage the CLIP models used to index and search."));
  fprintf (out, "%s\n", _("Commands:"));

  /* The summaries line up after the longest usage (counted in characters:
   * a translation may hold more bytes than characters). */
  g_autoptr(GPtrArray) usages = g_ptr_array_new_with_free_func (g_free);
  glong width = 0;
  for (guint i = 0; model_commands[i].name != NULL; i++)
    {
      char *usage = g_strdup_printf ("%s %s", model_commands[i].name + strlen ("model "),
                                     model_commands[i].args ? _(model_commands[i].args) : "");

      width = MAX (width, g_utf8_strlen (usage, -1));
      g_ptr_array_add (usages, usage);
    }
  for (guint i = 0; model_commands[i].name != NULL; i++)
    {
      const char *usage = g_ptr_array_index (usages, i);

      fprintf (out, "  %s%*s  %s\n", usage, (int) (width - g_utf8_strlen (usage, -1)), "",
               _(model_commands[i].summary));
    }
  fprintf (out, "\n%s\n", _("Models live in $XDG_DATA_HOME/vidmark/models (~/.local/share/vidmark/models)."));
}

int
vm_cli_cmd_model (VmCli              *cli,
                  const VmCliCommand *command,
                  int                 argc,
                  char              **argv)
{
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_model_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? VM_EXIT_USAGE : VM_EXIT_OK;
    }

  for (guint i = 0; model_commands[i].name != NULL; i++)
    if (g_str_equal (model_commands[i].name + strlen ("model "), argv[1]))
      {
        /* argv[1] becomes the program name GOption skips. */
        return model_commands[i].func (cli, &model_commands[i], argc - 1, argv + 1);
      }

  vm_cli_error (_("Unknown model command “%s”"), argv[1]);
  print_model_usage (stderr);
  return VM_EXIT_USAGE;
}
