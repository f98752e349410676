/* vm-cli-export.h — dataset commands: export, import, eval.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "cli/vm-cli.h"

G_BEGIN_DECLS

int vm_cli_cmd_export (VmCli *cli, const VmCliCommand *command, int argc, char **argv);
int vm_cli_cmd_import (VmCli *cli, const VmCliCommand *command, int argc, char **argv);
int vm_cli_cmd_eval   (VmCli *cli, const VmCliCommand *command, int argc, char **argv);

G_END_DECLS
