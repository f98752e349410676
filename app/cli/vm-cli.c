/* vm-cli.c — helpers shared by the commands.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli/vm-cli.h"

#include <glib/gi18n.h>
#include <stdio.h>

void
vm_cli_error (const char *format,
              ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fprintf (stderr, "vidmark: %s\n", message);
}

gboolean
vm_cli_parse (VmCli               *cli,
              const VmCliCommand  *command,
              const GOptionEntry  *entries,
              const char          *description,
              int                 *argc,
              char              ***argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *catalog = NULL;
  g_autofree char *summary = NULL;
  gboolean json = FALSE, quiet = FALSE;
  const GOptionEntry global_entries[] = {
    { "catalog", 0, 0, G_OPTION_ARG_FILENAME, &catalog, N_("Use the catalog at PATH"), N_("PATH") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print machine-readable JSON"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print no progress"), NULL },
    { NULL }
  };
  g_autofree char *parameter = g_strdup_printf ("%s%s%s", command->name,
                                                command->args ? " " : "",
                                                command->args ? _(command->args) : "");

  context = g_option_context_new (parameter);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  summary = g_strdup (_(command->summary));
  g_option_context_set_summary (context, summary);
  if (description != NULL)
    g_option_context_set_description (context, description);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      vm_cli_error ("%s", error->message);
      fprintf (stderr, _("Run “vidmark %s --help” for the options.\n"), command->name);
      return FALSE;
    }

  if (catalog != NULL)
    {
      g_free (cli->catalog_path);
      cli->catalog_path = g_steal_pointer (&catalog);
    }
  cli->json |= json;
  cli->quiet |= quiet;

  return TRUE;
}

VmCatalog *
vm_cli_open_catalog (VmCli *cli,
                     int   *exit_code)
{
  g_autoptr(GError) error = NULL;
  VmCatalog *catalog;

  catalog = vm_catalog_open (cli->catalog_path, &error);
  if (catalog == NULL)
    {
      vm_cli_error ("%s", error->message);
      *exit_code = VM_EXIT_CATALOG;
    }

  return catalog;
}

static void
print_json (JsonNode *node,
            gboolean  pretty)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  if (pretty)
    {
      json_generator_set_pretty (generator, TRUE);
      json_generator_set_indent (generator, 2);
    }
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
  fflush (stdout);
}

void
vm_cli_print_json (JsonNode *node)
{
  print_json (node, TRUE);
}

void
vm_cli_print_json_line (JsonNode *node)
{
  print_json (node, FALSE);
}

void
vm_cli_print_json_builder (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  vm_cli_print_json (root);
}

void
vm_cli_print_json_string (const char *member,
                          const char *value)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, value);
  json_builder_end_object (b);
  vm_cli_print_json_builder (b);
}

JsonNode *
vm_cli_video_to_json (const VmVideo *video)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, video->id);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, video->path);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, vm_video_status_to_string (video->status));
  json_builder_set_member_name (b, "error");
  if (video->error_message != NULL)
    json_builder_add_string_value (b, video->error_message);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, video->size);
  json_builder_set_member_name (b, "duration");
  if (video->duration_ns >= 0)
    json_builder_add_double_value (b, video->duration_ns / 1e9);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, video->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, video->height);
  json_builder_set_member_name (b, "fps");
  if (video->fps_num > 0 && video->fps_den > 0)
    json_builder_add_double_value (b, (double) video->fps_num / video->fps_den);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "container");
  json_builder_add_string_value (b, video->container);
  json_builder_set_member_name (b, "video_codec");
  json_builder_add_string_value (b, video->video_codec);
  json_builder_set_member_name (b, "audio_codec");
  json_builder_add_string_value (b, video->audio_codec);
  json_builder_set_member_name (b, "has_audio");
  json_builder_add_boolean_value (b, video->has_audio);
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, video->n_frames);
  json_builder_set_member_name (b, "fingerprint");
  json_builder_add_string_value (b, video->fingerprint);
  json_builder_set_member_name (b, "indexed_at");
  if (video->indexed_at > 0)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (video->indexed_at);
      g_autofree char *iso = g_date_time_format_iso8601 (dt);

      json_builder_add_string_value (b, iso);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  return json_builder_get_root (b);
}
