/* vm-preferences-window.c — preferences bound to GSettings, and the
 * search models: the installed ones (default, removal) and downloads from
 * Hugging Face with progress.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "core/vm-job.h"
#include "core/vm-util.h"
#include "model/vm-model-download.h"
#include "model/vm-model-store.h"
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
  GtkWidget            *gpu_row;
  GtkWidget            *folders_group;

  /* Search models */
  AdwPreferencesGroup  *installed_group;
  GPtrArray            *installed_rows;     /* the rows added to installed_group */
  GHashTable           *installed;          /* the installed models' names, as last listed */
  AdwComboRow          *known_row;          /* vm_known_models, then "Other Repository" */
  guint                 n_known;
  GtkWidget            *repo_row;           /* "org/repo", for "Other Repository" */
  AdwActionRow         *download_row;
  GtkProgressBar       *download_progress;
  GtkButton            *download_button;
  VmJob                *job;                /* the download running, if any */
  char                 *job_name;           /* the name it installs as */
  char                 *last_error;
};

enum {
  MODELS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (VmPreferencesWindow, vm_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void refresh_models (VmPreferencesWindow *self);

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

/* ---- Search models ------------------------------------------------------------ */

static void
toast (VmPreferencesWindow *self,
       const char          *message)
{
  AdwToast *t = adw_toast_new (message);

  adw_toast_set_timeout (t, 5);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), t);
}

static gboolean
other_selected (VmPreferencesWindow *self)
{
  return adw_combo_row_get_selected (self->known_row) >= self->n_known;
}

/* What the download row installs: a known model's short name or the
 * repository typed in, and the name it installs as (@name); NULL when the
 * installer would refuse it. */
static char *
dup_selected_spec (VmPreferencesWindow  *self,
                   char                **name)
{
  g_autofree char *spec = other_selected (self)
    ? g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->repo_row))))
    : g_strdup (vm_known_models[adw_combo_row_get_selected (self->known_row)].name);

  *name = vm_model_install_name (spec, NULL, NULL);
  return *name != NULL ? g_steal_pointer (&spec) : NULL;
}

static void
update_download_row (VmPreferencesWindow *self)
{
  gboolean running = self->job != NULL;
  g_autofree char *name = NULL;
  g_autofree char *spec = running ? NULL : dup_selected_spec (self, &name);

  gtk_widget_set_visible (GTK_WIDGET (self->download_progress), running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->known_row), !running);
  gtk_widget_set_sensitive (self->repo_row, !running);
  if (running)
    {
      g_autofree char *message = vm_job_dup_message (self->job);
      double eta = vm_job_get_eta (self->job);
      g_autofree char *subtitle = NULL;

      gtk_button_set_label (self->download_button, _("_Cancel"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->download_button), "suggested-action");
      gtk_widget_set_sensitive (GTK_WIDGET (self->download_button), TRUE);
      gtk_progress_bar_set_fraction (self->download_progress, vm_job_get_fraction (self->job));
      if (eta >= 0 && message != NULL)
        {
          g_autofree char *left = vm_format_duration (eta);

          /* TRANSLATORS: a download's progress, then the time it still needs. */
          subtitle = g_strdup_printf (_("%s, %s left"), message, left);
        }
      adw_action_row_set_subtitle (self->download_row,
                                   subtitle ? subtitle : message ? message : _("Starting…"));
    }
  else
    {
      gtk_button_set_label (self->download_button, _("_Download"));
      gtk_widget_add_css_class (GTK_WIDGET (self->download_button), "suggested-action");
      g_autofree char *about = NULL;

      if (!other_selected (self))
        {
          const VmKnownModel *known = &vm_known_models[adw_combo_row_get_selected (self->known_row)];
          g_autofree char *size = vm_format_size (known->approx_size);

          /* TRANSLATORS: a model's description and its download size. */
          about = g_strdup_printf (_("%s · %s"), _(known->description), size);
        }
      gboolean installed = spec != NULL && g_hash_table_contains (self->installed, name);

      if (installed)
        {
          g_free (about);
          about = g_strdup_printf (_("Installed as “%s”"), name);
        }
      gtk_widget_set_sensitive (GTK_WIDGET (self->download_button), spec != NULL && !installed);
      adw_action_row_set_subtitle (self->download_row,
                                   self->last_error ? self->last_error
                                   : about ? about : _("Any CLIP model in the Hugging Face format"));
    }
}

static void
known_selected_cb (VmPreferencesWindow *self)
{
  gboolean other = other_selected (self);

  gtk_widget_set_visible (self->repo_row, other);
  g_clear_pointer (&self->last_error, g_free);
  update_download_row (self);
}

static void
install_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(VmPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = vm_model_install_finish (result, &error);
  gboolean disposed = self->installed_rows == NULL;   /* cleared by dispose */

  g_clear_object (&self->job);
  g_clear_pointer (&self->job_name, g_free);
  if (disposed)
    return;

  gtk_window_set_hide_on_close (GTK_WINDOW (self), FALSE);
  g_clear_pointer (&self->last_error, g_free);
  if (name == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    self->last_error = g_strdup (error->message);
  refresh_models (self);
  if (name != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("“%s” is installed"), name);

      toast (self, text);
      g_signal_emit (self, signals[MODELS_CHANGED], 0);
    }
  else
    toast (self, self->last_error ? self->last_error
                                  : _("Download stopped. Download again to continue where it stopped."));

  /* Closed while it ran: gone now, unless there is an error to read. */
  if (!gtk_widget_get_visible (GTK_WIDGET (self)))
    {
      if (name == NULL && self->last_error != NULL)
        gtk_window_present (GTK_WINDOW (self));
      else
        gtk_window_destroy (GTK_WINDOW (self));
    }
}

static void
start_download (VmPreferencesWindow *self,
                const char          *spec)
{
  VmInstallOptions options = { .spec = spec };

  g_return_if_fail (self->job == NULL);

  self->job = vm_job_new (_("Downloading a model"));
  self->job_name = vm_model_install_name (spec, NULL, NULL);
  g_signal_connect_object (self->job, "notify", G_CALLBACK (update_download_row), self, G_CONNECT_SWAPPED);
  g_clear_pointer (&self->last_error, g_free);
  /* Closing the window while it runs only hides it. */
  gtk_window_set_hide_on_close (GTK_WINDOW (self), TRUE);
  vm_model_install_async (NULL, &options, self->job, install_done_cb, g_object_ref (self));
  refresh_models (self);   /* the Continue buttons go off; the row shows the progress */
}

static void
download_clicked_cb (VmPreferencesWindow *self)
{
  g_autofree char *name = NULL;
  g_autofree char *spec = NULL;

  if (self->job != NULL)
    {
      vm_job_cancel (self->job);
      return;
    }
  if ((spec = dup_selected_spec (self, &name)) != NULL)
    start_download (self, spec);
}

static void
default_toggled_cb (GtkCheckButton      *check,
                    VmPreferencesWindow *self)
{
  const char *name = g_object_get_data (G_OBJECT (check), "model-name");
  g_autoptr(GError) error = NULL;

  if (!gtk_check_button_get_active (check))
    return;
  if (!vm_model_store_set_default (NULL, name, &error))
    {
      toast (self, error->message);
      refresh_models (self);
      return;
    }
  /* One default for the window, the indexer and the command line. */
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "default-model", "");
  g_signal_emit (self, signals[MODELS_CHANGED], 0);
}

static void
remove_response_cb (AdwMessageDialog    *dialog,
                    const char          *response,
                    VmPreferencesWindow *self)
{
  const char *name = g_object_get_data (G_OBJECT (dialog), "model-name");
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "remove"))
    return;
  if (!vm_model_store_remove (NULL, name, TRUE, &error))
    toast (self, error->message);
  if (self->settings != NULL)
    {
      g_autofree char *chosen = g_settings_get_string (self->settings, "default-model");

      if (g_str_equal (chosen, name))
        g_settings_set_string (self->settings, "default-model", "");
    }
  refresh_models (self);
  g_signal_emit (self, signals[MODELS_CHANGED], 0);
}

static void
remove_clicked_cb (GtkButton           *button,
                   VmPreferencesWindow *self)
{
  const char *name = g_object_get_data (G_OBJECT (button), "model-name");
  const char *size = g_object_get_data (G_OBJECT (button), "model-size");
  g_autofree char *heading = g_strdup_printf (_("Remove “%s”?"), name);
  g_autofree char *body = g_strdup_printf (_("Its files (%s) are deleted from this computer. "
                                             "It can be downloaded again."), size);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading, body));

  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "remove", _("_Remove"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "remove", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "model-name", g_strdup (name), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (remove_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
continue_clicked_cb (GtkButton           *button,
                     VmPreferencesWindow *self)
{
  if (self->job == NULL)
    start_download (self, g_object_get_data (G_OBJECT (button), "model-spec"));
}

static void
discard_clicked_cb (GtkButton           *button,
                    VmPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (!vm_model_discard_interrupted (NULL, g_object_get_data (G_OBJECT (button), "model-name"), &error))
    toast (self, error->message);
  refresh_models (self);
}

static GtkWidget *
icon_button (const char *icon,
             const char *tooltip,
             const char *name)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_add_css_class (button, "flat");
  g_object_set_data_full (G_OBJECT (button), "model-name", g_strdup (name), g_free);
  return button;
}

static GtkWidget *
add_model_row (VmPreferencesWindow *self,
               const char          *title,
               const char          *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_preferences_group_add (self->installed_group, row);
  g_ptr_array_add (self->installed_rows, row);
  return row;
}

/* The installed models (the default one checked) and the interrupted
 * downloads, from the models folder as it is now. */
static void
refresh_models (VmPreferencesWindow *self)
{
  g_autoptr(GPtrArray) models = vm_model_store_list (NULL, NULL);
  g_autoptr(GPtrArray) partial = vm_model_list_interrupted (NULL);
  g_autofree char *chosen = self->settings ? g_settings_get_string (self->settings, "default-model") : NULL;
  g_autofree char *store_default = vm_model_store_get_default (NULL, NULL);
  const char *default_name = store_default;
  GtkCheckButton *group = NULL;

  for (guint i = 0; i < self->installed_rows->len; i++)
    adw_preferences_group_remove (self->installed_group, g_ptr_array_index (self->installed_rows, i));
  g_ptr_array_set_size (self->installed_rows, 0);
  g_hash_table_remove_all (self->installed);

  /* The setting, when it names an installed model, wins (as in the window). */
  for (guint i = 0; chosen != NULL && chosen[0] != '\0' && models != NULL && i < models->len; i++)
    if (g_str_equal (((VmModelInfo *) g_ptr_array_index (models, i))->name, chosen))
      default_name = chosen;

  for (guint i = 0; models != NULL && i < models->len; i++)
    {
      VmModelInfo *info = g_ptr_array_index (models, i);
      g_autofree char *size = vm_format_size (info->size);
      const char *source = info->source == NULL ? NULL
                           : g_str_has_prefix (info->source, "hf:") ? info->source + 3 : _("imported");
      g_autofree char *subtitle = info->config_ok
        ? (source ? g_strdup_printf (_("%u-dimensional · %s · %s"), info->embed_dim, size, source)
                  : g_strdup_printf (_("%u-dimensional · %s"), info->embed_dim, size))
        : g_strdup_printf (_("Unreadable configuration · %s"), size);
      GtkWidget *row = add_model_row (self, info->name, subtitle);
      GtkWidget *check = gtk_check_button_new ();
      GtkWidget *remove = icon_button ("user-trash-symbolic", _("Remove"), info->name);

      g_hash_table_add (self->installed, g_strdup (info->name));

      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (check, _("Search with this model"));
      if (group != NULL)
        gtk_check_button_set_group (GTK_CHECK_BUTTON (check), group);
      else
        group = GTK_CHECK_BUTTON (check);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), g_strcmp0 (info->name, default_name) == 0);
      /* The only model is the default: nothing to choose. */
      gtk_widget_set_sensitive (check, models->len > 1);
      g_object_set_data_full (G_OBJECT (check), "model-name", g_strdup (info->name), g_free);
      g_signal_connect_object (check, "toggled", G_CALLBACK (default_toggled_cb), self, 0);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);

      g_object_set_data_full (G_OBJECT (remove), "model-size", g_strdup (size), g_free);
      g_signal_connect_object (remove, "clicked", G_CALLBACK (remove_clicked_cb), self, 0);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
    }

  for (guint i = 0; partial != NULL && i < partial->len; i++)
    {
      VmInterruptedDownload *d = g_ptr_array_index (partial, i);

      if (self->job_name != NULL && g_str_equal (d->name, self->job_name))
        continue;   /* the download running: the row below shows it */
      const VmKnownModel *known = d->repo ? vm_known_model_lookup (d->repo) : vm_known_model_lookup (d->name);
      g_autofree char *size = vm_format_size (d->size);
      g_autofree char *subtitle = g_strdup_printf (_("Download stopped at %s"), size);
      GtkWidget *row = add_model_row (self, d->name, subtitle);
      GtkWidget *resume = gtk_button_new_with_mnemonic (_("C_ontinue"));
      GtkWidget *discard = icon_button ("user-trash-symbolic", _("Discard"), d->name);

      gtk_widget_set_valign (resume, GTK_ALIGN_CENTER);
      g_object_set_data_full (G_OBJECT (resume), "model-spec",
                              g_strdup (known ? known->name : d->repo ? d->repo : d->name), g_free);
      gtk_widget_set_sensitive (resume, self->job == NULL && (known != NULL || d->repo != NULL));
      g_signal_connect_object (resume, "clicked", G_CALLBACK (continue_clicked_cb), self, 0);
      g_signal_connect_object (discard, "clicked", G_CALLBACK (discard_clicked_cb), self, 0);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), resume);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), discard);
    }

  update_download_row (self);
  adw_preferences_group_set_description (self->installed_group,
                                         self->installed_rows->len > 0 ? NULL
                                         : _("None yet: without a model only subtitles, on-screen text, "
                                             "speech and file names are searched. Download one below."));
}

static void
vm_preferences_window_dispose (GObject *object)
{
  VmPreferencesWindow *self = VM_PREFERENCES_WINDOW (object);

  /* A download outlives the window only as its .part files: the next
   * download of the same model continues from them. */
  if (self->job != NULL)
    vm_job_cancel (self->job);
  g_clear_object (&self->job);
  g_clear_pointer (&self->job_name, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), VM_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->installed_rows, g_ptr_array_unref);
  g_clear_pointer (&self->installed, g_hash_table_unref);
  g_clear_pointer (&self->last_error, g_free);

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
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, gpu_row);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, folders_group);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, installed_group);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, known_row);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, download_row);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, download_progress);
  gtk_widget_class_bind_template_child (widget_class, VmPreferencesWindow, download_button);
  gtk_widget_class_bind_template_callback (widget_class, download_clicked_cb);

  /**
   * VmPreferencesWindow::models-changed:
   *
   * A model was installed or removed, or the default model changed.
   */
  signals[MODELS_CHANGED] = g_signal_new ("models-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
vm_preferences_window_init (VmPreferencesWindow *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->installed_rows = g_ptr_array_new ();
  self->installed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* The known models, then any other repository. */
  for (; vm_known_models[self->n_known].name != NULL; self->n_known++)
    gtk_string_list_append (names, vm_known_models[self->n_known].name);
  gtk_string_list_append (names, _("Other Repository"));
  adw_combo_row_set_model (self->known_row, G_LIST_MODEL (names));
  g_signal_connect_swapped (self->known_row, "notify::selected", G_CALLBACK (known_selected_cb), self);

  self->repo_row = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->repo_row), _("Repository (organisation/name)"));
  /* Typing clears the last error too. */
  g_signal_connect_swapped (self->repo_row, "changed", G_CALLBACK (known_selected_cb), self);
  g_signal_connect_swapped (self->repo_row, "entry-activated", G_CALLBACK (download_clicked_cb), self);
  /* Between the combo row and the download row, which stays last. */
  {
    AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (gtk_widget_get_ancestor (GTK_WIDGET (self->known_row),
                                                                                ADW_TYPE_PREFERENCES_GROUP));
    g_autoptr(GtkWidget) download = g_object_ref (GTK_WIDGET (self->download_row));

    adw_preferences_group_remove (group, download);
    adw_preferences_group_add (group, self->repo_row);
    adw_preferences_group_add (group, download);
  }
  known_selected_cb (self);
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
  refresh_models (self);
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
