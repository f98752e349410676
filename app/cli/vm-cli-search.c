/* vm-cli-search.c — `vidmark search`: moments whose subtitles, on-screen
 * text or speech match a query.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/vm-cli.h"
#include "core/vm-core.h"
#include "search/vm-text-search.h"

int vm_cli_cmd_search (VmCli              *cli,
                       const VmCliCommand *command,
                       int                 argc,
                       char              **argv);

static const VmSignal all_signals[] = { VM_SIGNAL_SUBTITLE, VM_SIGNAL_OCR, VM_SIGNAL_SPEECH, VM_SIGNAL_VISUAL };

static char *
signals_to_string (guint signals)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (all_signals); i++)
    if (signals & all_signals[i])
      {
        if (s->len > 0)
          g_string_append (s, ", ");
        g_string_append (s, vm_signal_to_string (all_signals[i]));
      }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The catalog marks matches with [brackets]; on a terminal they become bold. */
static char *
render_highlight (const char *highlighted,
                  gboolean    ansi)
{
  GString *s = g_string_new (NULL);

  for (const char *p = highlighted; *p != '\0'; p++)
    {
      if (*p == '\n')
        g_string_append (s, " / ");
      else if (ansi && *p == '[')
        g_string_append (s, "\033[1m");
      else if (ansi && *p == ']')
        g_string_append (s, "\033[0m");
      else
        g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

static JsonNode *
moments_to_json (const char *query,
                 const char *fts,
                 GPtrArray  *moments)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "query");
  json_builder_add_string_value (b, query);
  json_builder_set_member_name (b, "fts_query");
  json_builder_add_string_value (b, fts);
  json_builder_set_member_name (b, "moments");
  json_builder_begin_array (b);
  for (guint i = 0; i < moments->len; i++)
    {
      VmMoment *m = g_ptr_array_index (moments, i);
      g_autofree char *start = vm_format_timestamp (m->start_ns);
      g_autofree char *end = vm_format_timestamp (m->end_ns);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "rank");
      json_builder_add_int_value (b, i + 1);
      json_builder_set_member_name (b, "video_id");
      json_builder_add_int_value (b, m->video_id);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, m->path);
      json_builder_set_member_name (b, "start");
      json_builder_add_double_value (b, m->start_ns / 1e9);
      json_builder_set_member_name (b, "end");
      json_builder_add_double_value (b, m->end_ns / 1e9);
      json_builder_set_member_name (b, "start_timestamp");
      json_builder_add_string_value (b, start);
      json_builder_set_member_name (b, "end_timestamp");
      json_builder_add_string_value (b, end);
      json_builder_set_member_name (b, "score");
      json_builder_add_double_value (b, m->score);
      json_builder_set_member_name (b, "signals");
      json_builder_begin_array (b);
      for (guint k = 0; k < G_N_ELEMENTS (all_signals); k++)
        if (m->signals & all_signals[k])
          json_builder_add_string_value (b, vm_signal_to_string (all_signals[k]));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "snippets");
      json_builder_begin_array (b);
      for (guint k = 0; k < m->snippets->len; k++)
        {
          VmSnippet *s = g_ptr_array_index (m->snippets, k);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "source");
          json_builder_add_string_value (b, vm_text_source_to_string (s->source));
          json_builder_set_member_name (b, "start");
          json_builder_add_double_value (b, s->start_ns / 1e9);
          json_builder_set_member_name (b, "end");
          json_builder_add_double_value (b, s->end_ns / 1e9);
          json_builder_set_member_name (b, "language");
          if (s->language != NULL)
            json_builder_add_string_value (b, s->language);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, s->text);
          json_builder_set_member_name (b, "highlighted");
          json_builder_add_string_value (b, s->highlighted);
          json_builder_set_member_name (b, "confidence");
          json_builder_add_double_value (b, s->confidence);
          json_builder_set_member_name (b, "score");
          json_builder_add_double_value (b, s->score);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  return json_builder_get_root (b);
}

static gboolean
parse_sources (const char  *text,
               guint       *out_sources)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  guint sources = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *p = g_strstrip (parts[i]);

      if (g_str_equal (p, "subtitle") || g_str_equal (p, "subtitles"))
        sources |= VM_SIGNAL_SUBTITLE;
      else if (g_str_equal (p, "ocr"))
        sources |= VM_SIGNAL_OCR;
      else if (g_str_equal (p, "speech"))
        sources |= VM_SIGNAL_SPEECH;
      else if (*p != '\0')
        return FALSE;
    }
  if (sources == 0)
    return FALSE;
  *out_sources = sources;
  return TRUE;
}

int
vm_cli_cmd_search (VmCli              *cli,
                   const VmCliCommand *command,
                   int                 argc,
                   char              **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(GPtrArray) moments = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *query = NULL;
  g_autofree char *fts = NULL;
  g_autofree char *video_path = NULL;
  g_autofree char *sources_text = NULL;
  VmTextSearchOptions options;
  int top = 10;
  double margin = 0.5;
  int ret = VM_EXIT_OK;
  const GOptionEntry entries[] = {
    { "top", 'n', 0, G_OPTION_ARG_INT, &top, N_("Show at most N moments (default 10)"), N_("N") },
    { "video", 0, 0, G_OPTION_ARG_FILENAME, &video_path, N_("Search only the video at PATH"), N_("PATH") },
    { "source", 0, 0, G_OPTION_ARG_STRING, &sources_text,
      N_("Use only these text sources: subtitle, ocr, speech (comma-separated)"), N_("LIST") },
    { "margin", 0, 0, G_OPTION_ARG_DOUBLE, &margin,
      N_("Widen each moment by S seconds on each side (default 0.5)"), N_("S") },
    { NULL }
  };

  if (!vm_cli_parse (cli, command, entries,
                     _("Finds moments whose subtitles, on-screen text or speech match QUERY.\n"
                       "All words must match; \"quoted words\" match as a phrase and a trailing *\n"
                       "matches a prefix (kett*). Case and accents are ignored."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  if (argc < 2)
    {
      vm_cli_error (_("Give a query, e.g. vidmark search \"red ball\""));
      return VM_EXIT_USAGE;
    }
  if (top < 1 || top > 10000)
    {
      vm_cli_error (_("--top must be between 1 and 10000"));
      return VM_EXIT_USAGE;
    }
  if (!(margin >= 0 && margin <= 3600))
    {
      vm_cli_error (_("--margin must be between 0 and 3600 seconds"));
      return VM_EXIT_USAGE;
    }

  vm_text_search_options_init (&options);
  options.limit = top;
  options.margin_ns = (gint64) (margin * VM_NSEC_PER_SEC);
  if (sources_text != NULL && !parse_sources (sources_text, &options.sources))
    {
      vm_cli_error (_("Unknown text source in “%s” (use subtitle, ocr, speech)"), sources_text);
      return VM_EXIT_USAGE;
    }

  query = g_strjoinv (" ", argv + 1);
  fts = vm_text_query_to_fts (query, &error);
  if (fts == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_USAGE;
    }

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;

  if (video_path != NULL)
    {
      g_autofree char *abs = g_canonicalize_filename (video_path, NULL);
      g_autofree char *real = realpath (abs, NULL);
      g_autoptr(VmVideo) video = NULL;

      video = vm_catalog_find_video_by_path (catalog, real != NULL ? real : abs, &error);
      if (video == NULL && error == NULL && real != NULL && !g_str_equal (real, abs))
        video = vm_catalog_find_video_by_path (catalog, abs, &error);
      if (video == NULL)
        {
          if (error != NULL)
            vm_cli_error ("%s", error->message);
          else
            vm_cli_error (_("“%s” is not in the catalog"), video_path);
          return VM_EXIT_FAILURE;
        }
      options.video_id = video->id;
    }

  moments = vm_text_search (catalog, query, &options, &error);
  if (moments == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }

  if (cli->json)
    {
      g_autoptr(JsonNode) root = moments_to_json (query, fts, moments);

      vm_cli_print_json (root);
      return VM_EXIT_OK;
    }

  if (moments->len == 0)
    {
      printf (_("No moment matches “%s”.\n"), query);
      return VM_EXIT_OK;
    }

  {
    gboolean ansi = isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL;

    for (guint i = 0; i < moments->len; i++)
      {
        VmMoment *m = g_ptr_array_index (moments, i);
        g_autofree char *start = vm_format_timestamp (m->start_ns);
        g_autofree char *end = vm_format_timestamp (m->end_ns);
        g_autofree char *signals = signals_to_string (m->signals);

        printf ("%u. %s  %s–%s  %s %.3f  (%s)\n", i + 1, m->path, start, end, _("score"), m->score, signals);
        for (guint k = 0; k < m->snippets->len; k++)
          {
            VmSnippet *s = g_ptr_array_index (m->snippets, k);
            g_autofree char *at = vm_format_timestamp (s->start_ns);
            g_autofree char *text = render_highlight (s->highlighted, ansi);

            printf ("     %-8s %s  %s\n", vm_text_source_to_string (s->source), at, text);
          }
      }
  }

  return ret;
}
