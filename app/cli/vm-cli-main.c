/* vm-cli-main.c — `vidmark` entry point and command dispatch.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/vm-cli.h"
#include "core/vm-core.h"
#include "widgets/vm-application.h"

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n", _("Usage: vidmark                      open the window"));
  fprintf (out, "%s\n\n", _("       vidmark [--catalog PATH] [--json] COMMAND [OPTIONS…]"));
  fprintf (out, "%s\n\n", _("Find, scrub and label moments in your video library."));
  fprintf (out, "%s\n", _("Commands:"));
  for (guint i = 0; vm_cli_commands[i].name != NULL; i++)
    fprintf (out, "  %-10s %s\n", vm_cli_commands[i].name, _(vm_cli_commands[i].summary));
  fprintf (out, "\n%s\n", _("Global options:"));
  fprintf (out, "  --catalog PATH  %s\n", _("Use the catalog at PATH (default: $VIDMARK_CATALOG or ~/.local/share/vidmark/catalog.sqlite)"));
  fprintf (out, "  --json          %s\n", _("Print stable machine-readable JSON on standard output"));
  fprintf (out, "  -q, --quiet     %s\n", _("Print no progress"));
  fprintf (out, "  --version       %s\n", _("Print the version and exit"));
  fprintf (out, "\n%s\n", _("Exit status: 0 success, 1 failure, 2 usage error, 3 some files failed,\n"
                            "4 the catalog cannot be opened, 130 interrupted (run again to resume)."));
  fprintf (out, "\n%s\n", _("Run “vidmark COMMAND --help” for the options of a command."));
}

int
main (int   argc,
      char *argv[])
{
  VmCli cli = { 0 };
  const VmCliCommand *command = NULL;
  int first = 1;
  int ret;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("vidmark");

  cli.is_tty = isatty (STDERR_FILENO);

  /* No command: the window, where there is a display (without one, the
   * usage below).  GApplication's own options (D-Bus activation) go there
   * too. */
  if ((argc == 1 && (g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL)) ||
      (argc > 1 && g_str_has_prefix (argv[1], "--gapplication-")))
    return vm_application_run (argc, argv);

  /* Global options may stand before the command; commands accept them too. */
  while (first < argc && argv[first][0] == '-')
    {
      const char *arg = argv[first];

      if (g_str_equal (arg, "--json"))
        cli.json = TRUE;
      else if (g_str_equal (arg, "-q") || g_str_equal (arg, "--quiet"))
        cli.quiet = TRUE;
      else if (g_str_equal (arg, "--catalog") && first + 1 < argc)
        {
          g_free (cli.catalog_path);
          cli.catalog_path = g_strdup (argv[++first]);
        }
      else if (g_str_has_prefix (arg, "--catalog="))
        {
          g_free (cli.catalog_path);
          cli.catalog_path = g_strdup (arg + strlen ("--catalog="));
        }
      else if (g_str_equal (arg, "--version"))
        {
          printf ("vidmark %s\n", PACKAGE_VERSION);
          return VM_EXIT_OK;
        }
      else if (g_str_equal (arg, "-h") || g_str_equal (arg, "--help") || g_str_equal (arg, "-?"))
        {
          print_usage (stdout);
          return VM_EXIT_OK;
        }
      else
        {
          vm_cli_error (_("Unknown option “%s”"), arg);
          print_usage (stderr);
          return VM_EXIT_USAGE;
        }
      first++;
    }

  if (first >= argc)
    {
      print_usage (stderr);
      return VM_EXIT_USAGE;
    }

  if (g_str_equal (argv[first], "help"))
    {
      if (first + 1 < argc)
        {
          char *help_argv[] = { argv[first + 1], (char *) "--help", NULL };

          for (guint i = 0; vm_cli_commands[i].name != NULL; i++)
            if (g_str_equal (vm_cli_commands[i].name, argv[first + 1]))
              return vm_cli_commands[i].func (&cli, &vm_cli_commands[i], 2, help_argv);
        }
      print_usage (stdout);
      return VM_EXIT_OK;
    }

  for (guint i = 0; vm_cli_commands[i].name != NULL; i++)
    if (g_str_equal (vm_cli_commands[i].name, argv[first]))
      command = &vm_cli_commands[i];

  if (command == NULL)
    {
      vm_cli_error (_("Unknown command “%s”"), argv[first]);
      print_usage (stderr);
      return VM_EXIT_USAGE;
    }

  if (cli.catalog_path == NULL)
    cli.catalog_path = vm_paths_default_catalog ();

  ret = command->func (&cli, command, argc - first, argv + first);

  g_free (cli.catalog_path);
  return ret;
}
