/* vm-window.h — the main window: library sidebar, search, results, player,
 * time line and annotation editor.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "widgets/vm-annotation-stack.h"
#include "widgets/vm-search.h"

G_BEGIN_DECLS

#define VM_TYPE_WINDOW (vm_window_get_type ())
G_DECLARE_FINAL_TYPE (VmWindow, vm_window, VM, WINDOW, AdwApplicationWindow)

/* @catalog_path NULL: the default catalog. */
VmWindow   *vm_window_new              (GtkApplication *application,
                                        const char     *catalog_path);
const char *vm_window_get_catalog_path (VmWindow       *self);

/* The search run as the person types (default: vm_search_text_and_names). */
void        vm_window_set_search_func  (VmWindow       *self,
                                        VmSearchFunc    func,
                                        gpointer        user_data);
/* Runs a search now, as if typed. */
void        vm_window_search           (VmWindow       *self,
                                        const char     *text);
/* The results shown: a GListModel of VmMomentItem. */
GListModel *vm_window_get_results      (VmWindow       *self);
/* The library sidebar: a GListModel of VmLibraryItem. */
GListModel *vm_window_get_library      (VmWindow       *self);
/* Plays result @position from its start. */
void        vm_window_open_result      (VmWindow       *self,
                                        guint           position);
/* The visible page: "loading", "no-library", "error" or "main"; and the
 * results page: "hint", "results" or "no-results". */
const char *vm_window_get_page         (VmWindow       *self);
const char *vm_window_get_results_page (VmWindow       *self);
/* The annotations of the open video in the current set, or NULL. */
VmAnnotationStack *vm_window_get_annotations (VmWindow *self);
gboolean    vm_window_get_busy         (VmWindow       *self);
void        vm_window_toast            (VmWindow       *self,
                                        const char     *message);
/* The text of the last toast shown, or NULL. */
const char *vm_window_get_last_toast   (VmWindow       *self);
/* Reads the library again off the main thread (busy until it is listed);
 * only rows that changed are replaced. */
void        vm_window_reload_library   (VmWindow       *self);
/* Models were installed or removed, or the default one changed: search
 * with the default from now on, and show or hide the no-model banner. */
void        vm_window_models_changed   (VmWindow       *self);
/* The "Recent Exports" section of the main menu (items activate
 * "annotation.open-export-folder" with the file's path). */
GMenuModel *vm_window_get_recent_exports_menu (VmWindow *self);

G_END_DECLS
