/* vm-preferences-window.h — preferences bound to GSettings
 * (io.github.vidmark.Vidmark), and the search models: the installed ones
 * (which one searches, removal) and downloads from Hugging Face
 * ($VIDMARK_HF_ENDPOINT) with progress.  The page of the models is named
 * "models" (adw_preferences_window_set_visible_page_name ()).
 *
 * Signals: "models-changed" (no arguments) when a model was installed or
 * removed or the default changed.  Closing the window while a download
 * runs hides it until the download ends.
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
