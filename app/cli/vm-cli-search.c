/* vm-cli-search.c — `vidmark search`: moments whose frames show a query
 * (the search engine's visual signal) or whose subtitles, on-screen text or
 * speech match it, ranked together; query by example with --like.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/vm-cli.h"
#include "core/vm-core.h"
#include "search/vm-search-engine.h"
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

static void
add_nullable_string (JsonBuilder *b,
                     const char  *name,
                     const char  *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_signals (JsonBuilder *b,
             guint        signals)
{
  json_builder_begin_array (b);
  for (guint k = 0; k < G_N_ELEMENTS (all_signals); k++)
    if (signals & all_signals[k])
      json_builder_add_string_value (b, vm_signal_to_string (all_signals[k]));
  json_builder_end_array (b);
}

static void
add_double (JsonBuilder *b,
            const char  *name,
            double       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

static JsonNode *
result_to_json (const char     *query,
                const char     *fts,
                const char     *example_path,
                gint64          example_ns,
                VmSearchResult *r,
                double          refine_ms,
                guint           n_refined)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  GPtrArray *moments = r->moments;

  json_builder_begin_object (b);
  add_nullable_string (b, "query", query);
  add_nullable_string (b, "fts_query", fts);
  add_nullable_string (b, "model", r->model_name);
  add_nullable_string (b, "notice", r->notice);
  json_builder_set_member_name (b, "signals_used");
  add_signals (b, r->signals_used);
  json_builder_set_member_name (b, "example");
  if (example_path != NULL)
    {
      g_autofree char *at = vm_format_timestamp (r->example_pts_ns);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, example_path);
      add_double (b, "time", example_ns / 1e9);
      add_double (b, "frame_time", r->example_pts_ns / 1e9);
      json_builder_set_member_name (b, "frame_timestamp");
      json_builder_add_string_value (b, at);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "frames_scanned");
  json_builder_add_int_value (b, (gint64) r->n_frames);
  json_builder_set_member_name (b, "refined");
  json_builder_add_int_value (b, n_refined);
  json_builder_set_member_name (b, "timings");
  json_builder_begin_object (b);
  add_double (b, "sync_ms", r->sync_ms);
  add_double (b, "encode_ms", r->encode_ms);
  add_double (b, "scan_ms", r->scan_ms);
  add_double (b, "curves_ms", r->curves_ms);
  add_double (b, "ground_ms", r->ground_ms);
  add_double (b, "text_ms", r->text_ms);
  add_double (b, "total_ms", r->total_ms);
  add_double (b, "refine_ms", refine_ms);
  json_builder_end_object (b);

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
      add_double (b, "start", m->start_ns / 1e9);
      add_double (b, "end", m->end_ns / 1e9);
      json_builder_set_member_name (b, "start_timestamp");
      json_builder_add_string_value (b, start);
      json_builder_set_member_name (b, "end_timestamp");
      json_builder_add_string_value (b, end);
      json_builder_set_member_name (b, "start_ts");
      json_builder_add_string_value (b, start);
      json_builder_set_member_name (b, "end_ts");
      json_builder_add_string_value (b, end);
      add_double (b, "score", m->score);
      json_builder_set_member_name (b, "signals");
      add_signals (b, m->signals);
      json_builder_set_member_name (b, "snippets");
      json_builder_begin_array (b);
      for (guint k = 0; k < m->snippets->len; k++)
        {
          VmSnippet *s = g_ptr_array_index (m->snippets, k);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "source");
          json_builder_add_string_value (b, vm_text_source_to_string (s->source));
          add_double (b, "start", s->start_ns / 1e9);
          add_double (b, "end", s->end_ns / 1e9);
          add_nullable_string (b, "language", s->language);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, s->text);
          json_builder_set_member_name (b, "highlighted");
          json_builder_add_string_value (b, s->highlighted);
          add_double (b, "confidence", s->confidence);
          add_double (b, "score", s->score);
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
      else if (g_str_equal (p, "visual"))
        sources |= VM_SIGNAL_VISUAL;
      else if (*p != '\0')
        return FALSE;
    }
  if (sources == 0)
    return FALSE;
  *out_sources = sources;
  return TRUE;
}

/* The catalog's video at @path (as given, or with links resolved); NULL
 * with the message printed when it is not there. */
static VmVideo *
find_video (VmCatalog  *catalog,
            const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autofree char *real = realpath (abs, NULL);
  VmVideo *video;

  video = vm_catalog_find_video_by_path (catalog, real != NULL ? real : abs, &error);
  if (video == NULL && error == NULL && real != NULL && !g_str_equal (real, abs))
    video = vm_catalog_find_video_by_path (catalog, abs, &error);
  if (video == NULL)
    {
      if (error != NULL)
        vm_cli_error ("%s", error->message);
      else
        vm_cli_error (_("“%s” is not in the catalog"), path);
    }
  return video;
}

/* YYYY-MM-DD, local midnight, as µs since the epoch; @next_day gives the
 * following midnight (an inclusive end). */
static gboolean
parse_date (const char *text,
            gboolean    next_day,
            gint64     *out_us)
{
  g_autoptr(GDateTime) dt = NULL;
  unsigned y, m, d;
  char tail;

  if (sscanf (text, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || strlen (text) != 10 ||
      !g_date_valid_dmy (d, m, y))
    return FALSE;
  dt = g_date_time_new_local (y, m, d, 0, 0, 0);
  if (dt == NULL)
    return FALSE;
  if (next_day)
    {
      GDateTime *n = g_date_time_add_days (dt, 1);

      g_date_time_unref (dt);
      dt = n;
    }
  *out_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC;
  return TRUE;
}

/* PATH@TIME, TIME in seconds or h:mm:ss.mmm. */
static gboolean
parse_like (const char  *text,
            char       **out_path,
            gint64      *out_ns)
{
  const char *at = strrchr (text, '@');
  char *end = NULL;
  double seconds;

  if (at == NULL || at == text || at[1] == '\0')
    return FALSE;
  seconds = g_ascii_strtod (at + 1, &end);
  if (end != NULL && *end == '\0' && seconds >= 0 && seconds < 1e7)
    *out_ns = (gint64) (seconds * VM_NSEC_PER_SEC + 0.5);
  else if (!vm_parse_timestamp (at + 1, out_ns) || *out_ns < 0)
    return FALSE;
  *out_path = g_strndup (text, at - text);
  return TRUE;
}

static int refine_n = 0;

static gboolean
parse_refine_cb (const char  *option_name,
                 const char  *value,
                 gpointer     data,
                 GError     **error)
{
  char *end = NULL;
  gint64 n;

  if (value == NULL)
    {
      refine_n = 3;
      return TRUE;
    }
  n = g_ascii_strtoll (value, &end, 10);
  if (end == value || *end != '\0' || n < 1 || n > 100)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--refine takes a number of moments from 1 to 100, not “%s”"), value);
      return FALSE;
    }
  refine_n = (int) n;
  return TRUE;
}

static void
print_timings (VmSearchResult *r,
               double          refine_ms)
{
  printf (_("timings: sync %.1f ms, encode %.1f ms, scan %.1f ms, curves %.1f ms, ground %.1f ms, "
            "text %.1f ms, total %.1f ms"),
          r->sync_ms, r->encode_ms, r->scan_ms, r->curves_ms, r->ground_ms, r->text_ms, r->total_ms);
  if (refine_ms > 0)
    printf (_(", refine %.1f ms"), refine_ms);
  printf (_(" (%" PRIu64 " frames)\n"), r->n_frames);
}

int
vm_cli_cmd_search (VmCli              *cli,
                   const VmCliCommand *command,
                   int                 argc,
                   char              **argv)
{
  g_autoptr(VmCatalog) catalog = NULL;
  g_autoptr(VmSearchEngine) engine = NULL;
  g_autoptr(VmSearchResult) result = NULL;
  g_autoptr(VmVideo) example = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *query = NULL;
  g_autofree char *fts = NULL;
  g_autofree char *video_path = NULL;
  g_autofree char *folder_path = NULL;
  g_autofree char *folder_abs = NULL;
  g_autofree char *sources_text = NULL;
  g_autofree char *model = NULL;
  g_autofree char *since = NULL;
  g_autofree char *until = NULL;
  g_autofree char *like = NULL;
  g_autofree char *like_path = NULL;
  gint64 like_ns = 0;
  gboolean text_only = FALSE, visual_only = FALSE, timings = FALSE;
  double min_duration = NAN, max_duration = NAN;
  VmSearchEngineOptions engine_options;
  VmSearchQuery q;
  int top = 10;
  double margin = 0.5;
  double refine_ms = 0;
  guint n_refined = 0;
  const GOptionEntry entries[] = {
    { "top", 'n', 0, G_OPTION_ARG_INT, &top, N_("Show at most N moments (default 10)"), N_("N") },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model,
      N_("Search with the installed model NAME (default: the default model)"), N_("NAME") },
    { "video", 0, 0, G_OPTION_ARG_FILENAME, &video_path, N_("Search only the video at PATH"), N_("PATH") },
    { "folder", 0, 0, G_OPTION_ARG_FILENAME, &folder_path, N_("Search only the videos under the folder PATH"),
      N_("PATH") },
    { "min-duration", 0, 0, G_OPTION_ARG_DOUBLE, &min_duration,
      N_("Search only videos lasting at least S seconds"), N_("S") },
    { "max-duration", 0, 0, G_OPTION_ARG_DOUBLE, &max_duration,
      N_("Search only videos lasting at most S seconds"), N_("S") },
    { "since", 0, 0, G_OPTION_ARG_STRING, &since,
      N_("Search only files modified on or after DATE (YYYY-MM-DD)"), N_("DATE") },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until,
      N_("Search only files modified on or before DATE (YYYY-MM-DD)"), N_("DATE") },
    { "text-only", 0, 0, G_OPTION_ARG_NONE, &text_only,
      N_("Search only the subtitles, on-screen text and speech"), NULL },
    { "visual-only", 0, 0, G_OPTION_ARG_NONE, &visual_only,
      N_("Search only what the frames show (needs a model)"), NULL },
    { "like", 0, 0, G_OPTION_ARG_FILENAME, &like,
      N_("Find moments that look like the frame of PATH at TIME (seconds or h:mm:ss.mmm)"),
      N_("PATH@TIME") },
    { "refine", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_refine_cb,
      N_("Sharpen the start and end of the best N visual moments (default 3) from densely decoded frames"),
      N_("N") },
    { "timings", 0, 0, G_OPTION_ARG_NONE, &timings, N_("Show how long each step took"), NULL },
    { "source", 0, 0, G_OPTION_ARG_STRING, &sources_text,
      N_("Use only these signals: subtitle, ocr, speech, visual (comma-separated)"), N_("LIST") },
    { "margin", 0, 0, G_OPTION_ARG_DOUBLE, &margin,
      N_("Widen each text match by S seconds on each side (default 0.5)"), N_("S") },
    { NULL }
  };
  int ret = VM_EXIT_OK;

  refine_n = 0;
  if (!vm_cli_parse (cli, command, entries,
                     _("Finds moments whose frames show QUERY (with a CLIP model installed) or whose\n"
                       "subtitles, on-screen text or speech contain it, ranked together.\n"
                       "For the text: all words must match; \"quoted words\" match as a phrase and a\n"
                       "trailing * matches a prefix (kett*). Case and accents are ignored."),
                     &argc, &argv))
    return VM_EXIT_USAGE;

  if (argc < 2 && like == NULL)
    {
      vm_cli_error (_("Give a query, e.g. vidmark search \"red ball\""));
      return VM_EXIT_USAGE;
    }
  if (argc >= 2 && like != NULL)
    {
      vm_cli_error (_("Give either a query or --like, not both"));
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
  if ((!isnan (min_duration) && !(min_duration >= 0 && min_duration < 1e7)) ||
      (!isnan (max_duration) && !(max_duration > 0 && max_duration < 1e7)) ||
      (min_duration > 0 && max_duration > 0 && min_duration > max_duration))
    {
      vm_cli_error (_("--min-duration and --max-duration take seconds, the minimum not above the maximum"));
      return VM_EXIT_USAGE;
    }
  if (text_only && visual_only)
    {
      vm_cli_error (_("--text-only and --visual-only exclude each other"));
      return VM_EXIT_USAGE;
    }

  vm_search_query_init (&q);
  q.limit = top;
  q.text_margin_ns = (gint64) (margin * VM_NSEC_PER_SEC);
  if (sources_text != NULL && !parse_sources (sources_text, &q.signals))
    {
      vm_cli_error (_("Unknown signal in “%s” (use subtitle, ocr, speech, visual)"), sources_text);
      return VM_EXIT_USAGE;
    }
  if (text_only)
    q.signals &= VM_SIGNAL_SUBTITLE | VM_SIGNAL_OCR | VM_SIGNAL_SPEECH;
  if (visual_only || like != NULL)
    q.signals &= VM_SIGNAL_VISUAL;
  if (q.signals == 0)
    {
      vm_cli_error (_("No signal is left to search with these options"));
      return VM_EXIT_USAGE;
    }
  if (since != NULL && !parse_date (since, FALSE, &q.modified_after_us))
    {
      vm_cli_error (_("--since takes a date as YYYY-MM-DD, not “%s”"), since);
      return VM_EXIT_USAGE;
    }
  if (until != NULL && !parse_date (until, TRUE, &q.modified_before_us))
    {
      vm_cli_error (_("--until takes a date as YYYY-MM-DD, not “%s”"), until);
      return VM_EXIT_USAGE;
    }
  if (min_duration > 0)
    q.min_duration_ns = (gint64) (min_duration * VM_NSEC_PER_SEC);
  if (max_duration > 0)
    q.max_duration_ns = (gint64) (max_duration * VM_NSEC_PER_SEC);
  if (like != NULL && !parse_like (like, &like_path, &like_ns))
    {
      vm_cli_error (_("--like takes PATH@TIME, TIME in seconds or h:mm:ss.mmm, not “%s”"), like);
      return VM_EXIT_USAGE;
    }

  if (like == NULL)
    {
      query = g_strjoinv (" ", argv + 1);
      q.text = query;
      /* Without a visual signal the text must hold something to search. */
      fts = vm_text_query_to_fts (query, &error);
      if (fts == NULL && (q.signals & VM_SIGNAL_VISUAL) == 0)
        {
          vm_cli_error ("%s", error->message);
          return VM_EXIT_USAGE;
        }
      g_clear_error (&error);
    }

  if (!(catalog = vm_cli_open_catalog (cli, &ret)))
    return ret;

  if (video_path != NULL)
    {
      g_autoptr(VmVideo) video = find_video (catalog, video_path);

      if (video == NULL)
        return VM_EXIT_FAILURE;
      q.video_id = video->id;
    }
  if (folder_path != NULL)
    {
      g_autofree char *abs = g_canonicalize_filename (folder_path, NULL);
      g_autofree char *real = realpath (abs, NULL);
      g_autoptr(GPtrArray) folders = vm_catalog_list_folders (catalog, &error);

      if (folders == NULL)
        {
          vm_cli_error ("%s", error->message);
          return VM_EXIT_FAILURE;
        }
      if (!g_file_test (real != NULL ? real : abs, G_FILE_TEST_IS_DIR))
        {
          vm_cli_error (_("“%s” is not a folder"), folder_path);
          return VM_EXIT_FAILURE;
        }
      folder_abs = g_strdup (real != NULL ? real : abs);
      for (guint i = 0; i < folders->len; i++)
        {
          VmFolder *f = g_ptr_array_index (folders, i);

          if (g_str_equal (f->path, folder_abs))
            q.folder_id = f->id;
        }
      if (q.folder_id == 0)
        q.folder_path = folder_abs;
    }
  if (like_path != NULL)
    {
      example = find_video (catalog, like_path);
      if (example == NULL)
        return VM_EXIT_FAILURE;
      q.example_video_id = example->id;
      q.example_ns = like_ns;
    }

  vm_search_engine_options_init (&engine_options);
  engine_options.model = model;
  engine_options.no_visual = (q.signals & VM_SIGNAL_VISUAL) == 0;
  engine = vm_search_engine_new (&engine_options, &error);
  if (engine == NULL)
    {
      vm_cli_error ("%s", error->message);
      return VM_EXIT_FAILURE;
    }
  if ((visual_only || like != NULL) && vm_search_engine_get_model_name (engine) == NULL)
    {
      vm_cli_error ("%s", vm_search_engine_get_notice (engine) != NULL
                            ? vm_search_engine_get_notice (engine)
                            : _("Searching what the frames show needs a CLIP model"));
      return VM_EXIT_FAILURE;
    }

  result = vm_search_engine_search (engine, catalog, &q, NULL, &error);
  if (result == NULL)
    {
      vm_cli_error ("%s", error->message);
      return g_error_matches (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY) ? VM_EXIT_USAGE
                                                                                  : VM_EXIT_FAILURE;
    }

  if (refine_n > 0 && result->query_embedding != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();

      for (guint i = 0; i < result->moments->len && n_refined < (guint) refine_n; i++)
        if (((VmMoment *) g_ptr_array_index (result->moments, i))->signals & VM_SIGNAL_VISUAL)
          n_refined++;
      if (!vm_search_engine_refine (engine, catalog, result, refine_n, NULL, &error))
        {
          /* The coarse moments stand; say why they were not sharpened. */
          if (!cli->quiet || cli->json)
            vm_cli_error (_("Moments not refined: %s"), error->message);
          g_clear_error (&error);
          n_refined = 0;
        }
      refine_ms = (g_get_monotonic_time () - t0) / 1000.0;
    }

  if (cli->json)
    {
      g_autoptr(JsonNode) root = result_to_json (query, fts, example != NULL ? example->path : NULL, like_ns,
                                                 result, refine_ms, n_refined);

      vm_cli_print_json (root);
      return VM_EXIT_OK;
    }

  if (result->notice != NULL && !cli->quiet)
    fprintf (stderr, "%s\n", result->notice);

  if (result->moments->len == 0)
    {
      if (query != NULL)
        printf (_("No moment matches “%s”.\n"), query);
      else
        printf (_("No moment looks like that frame.\n"));
      if (timings)
        print_timings (result, refine_ms);
      return VM_EXIT_OK;
    }

  {
    gboolean ansi = isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL;

    for (guint i = 0; i < result->moments->len; i++)
      {
        VmMoment *m = g_ptr_array_index (result->moments, i);
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
  if (timings)
    print_timings (result, refine_ms);

  return ret;
}
