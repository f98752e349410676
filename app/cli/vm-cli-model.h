/* vm-cli-model.h — `vidmark model` and its subcommands.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "cli/vm-cli.h"

G_BEGIN_DECLS

int vm_cli_cmd_model (VmCli              *cli,
                      const VmCliCommand *command,
                      int                 argc,
                      char              **argv);

G_END_DECLS
