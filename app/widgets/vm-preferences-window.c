/* vm-preferences-window.c — preferences bound to GSettings.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "widgets/vm-preferences-window.h"

struct _VmPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;
  GtkWidget            *sample_mode_row;
  GtkWidget            *sample_rate_row;
  GtkWidget            *sample_rate_spin;
  GtkWidget            *ocr_switch;
  GtkWidget            *speech_switch;
  GtkWidget            *model_row;
  GtkWidget            *gpu_row;
  GtkWidget            *folders_group;
};

G_DEFINE_FINAL_TYPE (VmPreferencesWindow, vm_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static gboolean
mode_get_cb (GValue   *value,
             GVariant *variant,
             gpointer  user_data)
{
  g_value_set_uint (value, g_str_equal (g_variant_get_string (variant, NULL), "rate") ? 1 : 0);
  return TRUE;
}

static gboolean
rate_mode_cb (GValue   *value,
              GVariant *variant,
              gpointer  user_data)
{
  g_value_set_boolean (value, g_str_equal (g_variant_get_string (variant, NULL), "rate"));
  return TRUE;
}

static GVariant *
mode_set_cb (const GValue       *value,
             const GVariantType *expected_type,
             gpointer            user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "rate" : "keyframes");
}

static void
vm_preferences_window_dispose (GObject *object)
{
  VmPreferencesWindow *self = VM_PREFERENCES_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), VM_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (vm_preferences_window_parent_class)->dispose (object);
}

static void
vm_preferences_window_class_init (VmPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vm_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/vidmark/Vidmark/vm-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, sample_mode_row);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, sample_rate_row);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, sample_rate_spin);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, ocr_switch);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, speech_switch);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, model_row);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, gpu_row);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, folders_group);
}

static void
vm_preferences_window_init (VmPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
vm_preferences_window_new (GSettings *settings)
{
  VmPreferencesWindow *self;
  g_auto(GStrv) folders = NULL;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (VM_TYPE_PREFERENCES_WINDOW, NULL);
  self->settings = g_object_ref (settings);

  g_settings_bind_with_mapping (settings, "sample-mode", self->sample_mode_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, mode_get_cb, mode_set_cb, NULL, NULL);
  /* The rate only matters in fixed-rate mode. */
  g_settings_bind_with_mapping (settings, "sample-mode", self->sample_rate_row, "sensitive",
                                G_SETTINGS_BIND_GET, rate_mode_cb, NULL, NULL, NULL);
  g_settings_bind (settings, "sample-rate",
                   gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (self->sample_rate_spin)), "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "ocr-enabled", self->ocr_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "speech-enabled", self->speech_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "default-model", self->model_row, "text", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "gpu-device", self->gpu_row, "text", G_SETTINGS_BIND_DEFAULT);

  folders = g_settings_get_strv (settings, "library-folders");
  if (folders[0] == NULL)
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self->folders_group),
                                           _("No folders yet: add one from the library sidebar."));
  for (guint i = 0; folders[i] != NULL; i++)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), folders[i]);
      adw_action_row_set_icon_name (ADW_ACTION_ROW (row), "folder-symbolic");
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->folders_group), row);
    }

  return GTK_WIDGET (self);
}
