/* vm-cli.h — the `vidmark` command line.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "catalog/vm-catalog.h"

G_BEGIN_DECLS

/* Exit codes (documented in docs/CLI.md and in `vidmark --help`). */
enum {
  VM_EXIT_OK          = 0,
  VM_EXIT_FAILURE     = 1,   /* the command failed; the reason is on stderr */
  VM_EXIT_USAGE       = 2,   /* bad command line */
  VM_EXIT_PARTIAL     = 3,   /* done, but some files failed (each one reported) */
  VM_EXIT_CATALOG     = 4,   /* the catalog cannot be opened (newer version, not a catalog, locked) */
  VM_EXIT_INTERRUPTED = 130, /* stopped by Ctrl-C; the catalog is consistent, run again to resume */
};

typedef struct {
  char     *catalog_path;   /* --catalog, VIDMARK_CATALOG, or the default */
  gboolean  json;           /* --json */
  gboolean  quiet;          /* --quiet */
  gboolean  is_tty;         /* stderr is a terminal: progress line */
} VmCli;

typedef struct _VmCliCommand VmCliCommand;

typedef int (*VmCliCommandFunc) (VmCli              *cli,
                                 const VmCliCommand *command,
                                 int                 argc,
                                 char              **argv);

struct _VmCliCommand {
  const char       *name;
  const char       *args;      /* parameter string for --help */
  const char       *summary;   /* untranslated; shown through _() */
  VmCliCommandFunc  func;
};

/* Commands, in the order `vidmark --help` lists them. */
extern const VmCliCommand vm_cli_commands[];

/* Parses a command's options: @entries plus the global ones.  Prints the
 * error and returns FALSE on bad usage; handles --help. */
gboolean    vm_cli_parse        (VmCli              *cli,
                                 const VmCliCommand *command,
                                 const GOptionEntry *entries,
                                 const char         *description,
                                 int                *argc,
                                 char             ***argv);
VmCatalog  *vm_cli_open_catalog (VmCli              *cli,
                                 int                *exit_code);
/* Prints @node on stdout, indented. */
void        vm_cli_print_json   (JsonNode           *node);
/* Prints @node on stdout on one line. */
void        vm_cli_print_json_line    (JsonNode     *node);
/* Prints what @builder built, as vm_cli_print_json(). */
void        vm_cli_print_json_builder (JsonBuilder  *builder);
/* Prints {"@member": "@value"}, as vm_cli_print_json(). */
void        vm_cli_print_json_string  (const char   *member,
                                       const char   *value);
void        vm_cli_error        (const char         *format,
                                 ...) G_GNUC_PRINTF (1, 2);

/* Commands living in their own files. */
int         vm_cli_cmd_gpu      (VmCli              *cli,
                                 const VmCliCommand *command,
                                 int                 argc,
                                 char              **argv);
int         vm_cli_cmd_search   (VmCli              *cli,
                                 const VmCliCommand *command,
                                 int                 argc,
                                 char              **argv);

/* JSON views shared by commands. */
JsonNode   *vm_cli_video_to_json (const VmVideo *video);

G_END_DECLS
