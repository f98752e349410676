/* vm-preferences-window.h — preferences bound to GSettings
 * (io.github.vidmark.Vidmark).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define VM_TYPE_PREFERENCES_WINDOW (vm_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (VmPreferencesWindow, vm_preferences_window, VM, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *vm_preferences_window_new (GSettings *settings);

G_END_DECLS
