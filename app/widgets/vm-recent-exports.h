/* vm-recent-exports.h — the files datasets were recently exported to, kept
 * in GSettings ("recent-exports", a(ssx): path, format, unix time in
 * seconds; newest first, each path once, at most VM_RECENT_EXPORTS_MAX),
 * and the menu section that lists them.  No GTK here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VM_RECENT_EXPORTS_MAX 10

typedef struct {
  char   *path;
  char   *format;     /* vm_format_to_string() name */
  gint64  time;       /* unix seconds */
} VmRecentExport;

void        vm_recent_export_free     (VmRecentExport *recent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmRecentExport, vm_recent_export_free)

/* Element type VmRecentExport*, newest first. */
GPtrArray  *vm_recent_exports_get     (GSettings   *settings);
/* Puts @path first (dropping an older entry of the same path and the
 * oldest past the cap). */
void        vm_recent_exports_add     (GSettings   *settings,
                                       const char  *path,
                                       const char  *format,
                                       gint64       time);
/* Replaces the items of @section with one per recent export, labelled
 * "name (Format, date)", each activating @action_name with the path as its
 * string target. */
void        vm_recent_exports_fill_menu (GSettings   *settings,
                                         GMenu       *section,
                                         const char  *action_name);

G_END_DECLS
