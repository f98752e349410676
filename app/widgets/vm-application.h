/* vm-application.h — the Vidmark application (io.github.vidmark.Vidmark):
 * `vidmark` with no command starts it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define VM_TYPE_APPLICATION (vm_application_get_type ())
G_DECLARE_FINAL_TYPE (VmApplication, vm_application, VM, APPLICATION, AdwApplication)

/* Registers the widgets' GResource (templates, styles, shortcuts window).
 * Idempotent; done by vm_application_new() too. */
void           vm_widgets_init      (void);

/* @catalog_path NULL: $VIDMARK_CATALOG or the default catalog. */
VmApplication *vm_application_new   (const char    *catalog_path);
/* Runs the application: the entry point of `vidmark` without a command. */
int            vm_application_run   (int            argc,
                                     char         **argv);

G_END_DECLS
