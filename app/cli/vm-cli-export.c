/* vm-cli-export.c — dataset commands: export, import, eval.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli/vm-cli-export.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>

#include "export/vm-eval.h"
#include "export/vm-export.h"
#include "search/vm-text-search.h"

static void
print_issues (VmCli      *cli,
              const char *prefix,
              GPtrArray  *issues)
{
  if (cli->json)
    return;
  for (guint i = 0; i < issues->len; i++)
    {
      VmIssue *issue = g_ptr_array_index (issues, i);
      fprintf (stderr, "%s: %s: %s\n", prefix, issue->where, issue->reason);
    }
}

static void
add_issues_json (JsonBuilder *b,
                 const char  *name,
                 GPtrArray   *issues)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < issues->len; i++)
    {
      VmIssue *issue = g_ptr_array_index (issues, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "where");
      json_builder_add_string_value (b, issue->where);
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, issue->reason);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static gboolean
parse_format (const char *name,
              VmFormat   *out_format)
{
  if (name == NULL)
    {
      vm_cli_error ("%s", _("Name the file’s format with --format: qvhighlights, charades-sta, "
                            "activitynet, tacos, didemo or vidmark"));
      return FALSE;
    }
  if (!vm_format_from_string (name, out_format))
    {
      vm_cli_error (_("Unknown format “%s” (use qvhighlights, charades-sta, activitynet, tacos, vidmark or didemo)"),
                    name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_naming (const char    *video_id,
              const char    *map_file,
              VmVideoNaming *naming,
              int           *ret)
{
  g_autoptr(GError) error = NULL;

  naming->id_mode = VM_VIDEO_ID_NAME;
  if (map_file != NULL)
    {
      naming->id_mode = VM_VIDEO_ID_MAP;
      naming->map = vm_video_map_load (map_file, &error);
      if (naming->map == NULL)
        {
          vm_cli_error ("%s", error->message);
          *ret = VM_EXIT_FAILURE;
          return FALSE;
        }
    }
  else if (video_id != NULL && !vm_video_id_mode_from_string (video_id, &naming->id_mode))
    {
      vm_cli_error (_("Unknown --video-id “%s” (use name, relative or path)"), video_id);
      *ret = VM_EXIT_USAGE;
      return FALSE;
    }
  return TRUE;
}

/* ---- export --------------------------------------------------------------- */

int
vm_cli_cmd_export (VmCli               *cli,
                   const VmCliCommand  *command,
                   int                  argc,
                   char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GPtrArray) files = NULL;
  g_autofree char *format = NULL, *set = NULL, *output = NULL, *video_id = NULL;
  g_autofree char *map_file = NULL, *split = NULL, *seed_text = NULL;
  VmExportOptions options;
  guint n_queries = 0;
  int ret = VM_EXIT_OK;
  const GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("qvhighlights (default), charades-sta, activitynet, tacos or vidmark"), N_("FORMAT") },
    { "set", 0, 0, G_OPTION_ARG_STRING, &set, N_("The annotation set to export"), N_("NAME") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("The file to write"), N_("FILE") },
    { "video-id", 0, 0, G_OPTION_ARG_STRING, &video_id, N_("Name videos by: name (file name without extension, default), relative (path in its library folder) or path"), N_("MODE") },
    { "map", 0, 0, G_OPTION_ARG_FILENAME, &map_file, N_("Name videos with a JSON object of absolute path → id"), N_("FILE") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, N_("Split by video into train,val[,test] fractions, e.g. 0.8,0.1,0.1, writing FILE_train, FILE_val, FILE_test"), N_("FRACTIONS") },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, N_("Seed of the split (default 0)"), N_("N") },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Writes an annotation set as a temporal-grounding dataset. Queries a format cannot hold "
                       "are left out and reported (exit status 3). Files are replaced atomically."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  vm_export_options_init (&options);
  if (format != NULL && !parse_format (format, &options.format))
    return VM_EXIT_USAGE;
  if (!vm_format_can_export (options.format))
    {
      vm_cli_error (_("Vidmark reads the %s format but does not write it"), format);
      return VM_EXIT_USAGE;
    }
  if (set == NULL || output == NULL)
    {
      vm_cli_error (_("Name the set with --set NAME and the file with -o FILE"));
      return VM_EXIT_USAGE;
    }
  if (argc > 1)
    {
      vm_cli_error (_("Unexpected argument “%s”"), argv[1]);
      return VM_EXIT_USAGE;
    }
  if (split != NULL)
    {
      options.split = TRUE;
      if (!vm_split_parse (split, options.fractions, &error))
        {
          vm_cli_error ("%s", error->message);
          return VM_EXIT_USAGE;
        }
    }
  if (seed_text != NULL)
    {
      char *end = NULL;

      options.seed = g_ascii_strtoull (seed_text, &end, 10);
      if (end == seed_text || *end != '\0' || seed_text[0] == '-')
        {
          vm_cli_error (_("--seed must be a non-negative integer"));
          return VM_EXIT_USAGE;
        }
    }
  if (!parse_naming (video_id, map_file, &options.naming, &ret))
    return ret;

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    {
      g_clear_pointer (&options.naming.map, g_hash_table_unref);
      return ret;
    }

  files = vm_export_set (catalog, set, &options, output, issues, &n_queries, &error);
  g_clear_pointer (&options.naming.map, g_hash_table_unref);
  if (files == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  print_issues (cli, _("skipped"), issues);
  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "files");
      json_builder_begin_array (b);
      for (guint i = 0; i < files->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (files, i));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "queries");
      json_builder_add_int_value (b, n_queries);
      add_issues_json (b, "skipped", issues);
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
    }
  else if (!cli->quiet)
    for (guint i = 0; i < files->len; i++)
      printf (_("Wrote %s\n"), (char *) g_ptr_array_index (files, i));

  return issues->len > 0 ? VM_EXIT_PARTIAL : VM_EXIT_OK;
}

/* ---- import --------------------------------------------------------------- */

int
vm_cli_cmd_import (VmCli               *cli,
                   const VmCliCommand  *command,
                   int                  argc,
                   char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autofree char *format = NULL, *set = NULL, *map_file = NULL;
  gboolean replace = FALSE, dry_run = FALSE;
  VmImportOptions options;
  VmImportReport report = { 0 };
  int ret = VM_EXIT_OK;
  const GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("qvhighlights, charades-sta, activitynet, tacos, didemo or vidmark"), N_("FORMAT") },
    { "set", 0, 0, G_OPTION_ARG_STRING, &set, N_("The annotation set to import into (created when missing)"), N_("NAME") },
    { "map", 0, 0, G_OPTION_ARG_FILENAME, &map_file, N_("Match video ids with a JSON object of absolute path → id"), N_("FILE") },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &replace, N_("Replace the set’s queries (its annotations are kept)"), NULL },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, N_("Check the file and report, write nothing"), NULL },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Reads a temporal-grounding dataset into an annotation set. Every record is checked; "
                       "each rejected one is reported with its line or key and the reason (exit status 3), "
                       "and the accepted ones are written in one transaction. Videos are matched by the "
                       "mapping file, else by path, path in a library folder, file name, or file name "
                       "without extension."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  vm_import_options_init (&options);
  if (!parse_format (format, &options.format))
    return VM_EXIT_USAGE;
  if (set == NULL || argc != 2)
    {
      vm_cli_error (_("Name one FILE and the set with --set NAME"));
      return VM_EXIT_USAGE;
    }
  options.replace = replace;
  options.dry_run = dry_run;
  if (!parse_naming (NULL, map_file, &options.naming, &ret))
    return ret;

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    {
      g_clear_pointer (&options.naming.map, g_hash_table_unref);
      return ret;
    }

  if (!vm_import_file (catalog, set, &options, argv[1], issues, &report, &error))
    {
      g_clear_pointer (&options.naming.map, g_hash_table_unref);
      vm_cli_error ("%s: %s", argv[1], error->message);
      return VM_EXIT_FAILURE;
    }
  g_clear_pointer (&options.naming.map, g_hash_table_unref);

  print_issues (cli, argv[1], issues);
  if (cli->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "set");
      json_builder_add_string_value (b, set);
      json_builder_set_member_name (b, "read");
      json_builder_add_int_value (b, report.n_read);
      json_builder_set_member_name (b, "imported");
      json_builder_add_int_value (b, report.n_imported);
      json_builder_set_member_name (b, "dry_run");
      json_builder_add_boolean_value (b, dry_run);
      add_issues_json (b, "rejected", issues);
      json_builder_end_object (b);
      vm_cli_print_json_builder (b);
    }
  else if (!cli->quiet)
    {
      if (dry_run)
        printf (_("Would import %u queries into “%s”; %u records rejected.\n"),
                report.n_imported, set, issues->len);
      else
        printf (_("Imported %u queries into “%s”; %u records rejected.\n"),
                report.n_imported, set, issues->len);
    }

  return issues->len > 0 ? VM_EXIT_PARTIAL : VM_EXIT_OK;
}

/* ---- eval ----------------------------------------------------------------- */

/* The search engine as the evaluation sees it: the library search (today the
 * timed-text search; visual moments join it there) restricted to the query's
 * video. */
static gboolean
eval_engine_cb (const char  *query,
                gint64       video_id,
                gint64       duration_ns,
                GArray      *out,
                gpointer     user_data,
                GError     **error)
{
  VmCatalog *catalog = user_data;
  g_autoptr(GPtrArray) moments = NULL;
  g_autoptr(GError) local_error = NULL;
  VmTextSearchOptions options;

  vm_text_search_options_init (&options);
  options.video_id = video_id;
  options.limit = VM_EVAL_MAX_PREDICTIONS;

  moments = vm_text_search (catalog, query, &options, &local_error);
  if (moments == NULL)
    {
      /* A query with nothing searchable finds nothing; it is no failure. */
      if (g_error_matches (local_error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  for (guint i = 0; i < moments->len; i++)
    {
      const VmMoment *m = g_ptr_array_index (moments, i);
      VmEvalPrediction p = { m->start_ns / 1e9, m->end_ns / 1e9, m->score };

      if (duration_ns > 0)
        p.end = MIN (p.end, duration_ns / 1e9);
      if (p.end > p.start)
        g_array_append_val (out, p);
    }

  return TRUE;
}

int
vm_cli_cmd_eval (VmCli               *cli,
                 const VmCliCommand  *command,
                 int                  argc,
                 char               **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autofree char *set = NULL, *predictions = NULL, *baseline = NULL;
  VmEvalSource source = VM_EVAL_SOURCE_ENGINE;
  VmEvalResult result;
  int ret = VM_EXIT_OK;
  const GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING, &set, N_("The annotation set holding the ground truth"), N_("NAME") },
    { "predictions", 'p', 0, G_OPTION_ARG_FILENAME, &predictions, N_("A QVHighlights-format predictions file (JSON Lines)"), N_("FILE") },
    { "baseline", 0, 0, G_OPTION_ARG_STRING, &baseline, N_("Score a baseline instead: text (timed text matching the query’s words)"), N_("NAME") },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Scores moment retrieval (R1@0.3/0.5/0.7, mIoU, mAP@[0.5:0.95], mAP@0.5, mAP@0.75) "
                       "and highlight detection (HIT@1) as the datasets’ evaluation code does, for a "
                       "predictions file, the text-only baseline, or (without either) Vidmark's own search "
                       "engine run on every query of the set in the query's video."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  if (set == NULL || argc > 1)
    {
      vm_cli_error (_("Name the set with --set NAME"));
      return VM_EXIT_USAGE;
    }

  if (predictions != NULL && baseline != NULL)
    {
      vm_cli_error (_("Give either --predictions or --baseline"));
      return VM_EXIT_USAGE;
    }
  if (predictions != NULL)
    source = VM_EVAL_SOURCE_FILE;
  else if (baseline != NULL)
    {
      if (!g_str_equal (baseline, "text"))
        {
          vm_cli_error (_("Unknown baseline “%s” (use text)"), baseline);
          return VM_EXIT_USAGE;
        }
      source = VM_EVAL_SOURCE_TEXT;
    }

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;

  if (source == VM_EVAL_SOURCE_ENGINE
      ? !vm_eval_set_with_engine (catalog, set, eval_engine_cb, catalog, issues, &result, &error)
      : !vm_eval_set (catalog, set, source, predictions, issues, &result, &error))
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  print_issues (cli, predictions ? predictions : set, issues);
  if (cli->json)
    {
      g_autofree char *text = vm_eval_result_to_json (&result);
      printf ("%s\n", text);
    }
  else
    {
      printf (_("Queries scored: %u (without a prediction: %u; predictions for unknown qids: %u)\n"),
              result.n_queries, result.n_missing, result.n_unknown);
      printf ("R1@0.3 %6.2f   R1@0.5 %6.2f   R1@0.7 %6.2f   mIoU %6.2f\n",
              100 * result.r1[0], 100 * result.r1[1], 100 * result.r1[2], 100 * result.miou);
      printf ("mAP %6.2f   mAP@0.5 %6.2f   mAP@0.75 %6.2f\n",
              100 * result.map_avg, 100 * result.map[0], 100 * result.map[5]);
      if (result.n_highlight > 0)
        printf (_("HIT@1 %6.2f (%u queries with saliency)\n"), 100 * result.hit1, result.n_highlight);
    }

  return issues->len > 0 ? VM_EXIT_PARTIAL : VM_EXIT_OK;
}
