/* vm-application.c — the application: app actions, windows.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "media/vm-media.h"
#include "widgets/vm-application.h"
#include "widgets/vm-preferences-window.h"
#include "widgets/vm-window.h"
#include "vm-widgets-resources.h"

struct _VmApplication
{
  AdwApplication  parent_instance;

  char           *catalog_path;
  GtkWidget      *preferences;    /* the preferences window while it exists (weak) */
};

G_DEFINE_FINAL_TYPE (VmApplication, vm_application, ADW_TYPE_APPLICATION)

void
vm_widgets_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      vm_widgets_register_resource ();
      g_once_init_leave (&once, 1);
    }
}

/* ---- Start-up probe ------------------------------------------------------------
 *
 * With VIDMARK_STARTUP_PROBE set, the first window reports on standard error
 * when it painted its first frame and when its library was listed, as
 * CLOCK_MONOTONIC microseconds (the clock of g_get_monotonic_time(), the same
 * in every process), so that a benchmark can time the window from exec:
 *   vidmark-startup-probe: first-frame 123456789
 *   vidmark-startup-probe: library-listed 123456999 (10001 rows)
 * and the phases before them the same way (main, startup, gtk-started,
 * media-started, activate, window-created, library-read).
 * With VIDMARK_STARTUP_PROBE=quit the application quits after both. */

static void
probe_mark (const char *what)
{
  if (g_getenv ("VIDMARK_STARTUP_PROBE") != NULL)
    g_printerr ("vidmark-startup-probe: %s %" G_GINT64_FORMAT "\n", what, g_get_monotonic_time ());
}

typedef struct {
  GApplication *app;
  VmWindow     *window;
  gboolean      painted;
  gboolean      listing;
  gboolean      loaded;
} StartupProbe;

static void
probe_maybe_quit (StartupProbe *probe)
{
  if (probe->painted && probe->loaded && g_strcmp0 (g_getenv ("VIDMARK_STARTUP_PROBE"), "quit") == 0)
    g_application_quit (probe->app);
}

static void
probe_after_paint_cb (GdkFrameClock *clock,
                      StartupProbe  *probe)
{
  if (probe->painted)
    return;
  probe->painted = TRUE;
  g_printerr ("vidmark-startup-probe: first-frame %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  probe_maybe_quit (probe);
}

/* After the handler that read the library has put it into the list. */
static gboolean
probe_listed_cb (gpointer data)
{
  StartupProbe *probe = data;

  g_printerr ("vidmark-startup-probe: library-listed %" G_GINT64_FORMAT " (%u rows)\n",
              g_get_monotonic_time (), g_list_model_get_n_items (vm_window_get_library (probe->window)));
  probe->loaded = TRUE;
  probe_maybe_quit (probe);
  return G_SOURCE_REMOVE;
}

static void
probe_busy_cb (VmWindow     *window,
               GParamSpec   *pspec,
               StartupProbe *probe)
{
  if (probe->loaded || probe->listing || vm_window_get_busy (window))
    return;
  probe->listing = TRUE;
  probe_mark ("library-read");
  g_idle_add_full (G_PRIORITY_HIGH, probe_listed_cb, probe, NULL);
}

static void
probe_realize_cb (GtkWidget    *window,
                  StartupProbe *probe)
{
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint",
                    G_CALLBACK (probe_after_paint_cb), probe);
}

static void
install_startup_probe (GApplication *app,
                       VmWindow     *window)
{
  StartupProbe *probe = g_new0 (StartupProbe, 1);

  probe->app = app;
  probe->window = window;
  g_object_set_data_full (G_OBJECT (window), "vm-startup-probe", probe, g_free);
  g_signal_connect (window, "realize", G_CALLBACK (probe_realize_cb), probe);
  g_signal_connect (window, "notify::busy", G_CALLBACK (probe_busy_cb), probe);
}

static void
vm_application_activate (GApplication *app)
{
  VmApplication *self = VM_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    {
      probe_mark ("activate");
      window = GTK_WINDOW (vm_window_new (GTK_APPLICATION (app), self->catalog_path));
      probe_mark ("window-created");
      if (g_getenv ("VIDMARK_STARTUP_PROBE") != NULL)
        install_startup_probe (app, VM_WINDOW (window));
    }
  gtk_window_present (window);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  static const char *developers[] = { N_("The Vidmark authors"), NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "application-name", _("Vidmark"),
                        "application-icon", APP_ID,
                        "developer-name", _("The Vidmark authors"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Find moments in your videos by what is said or shown, label them to the frame, and export them as datasets."),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

/* One preferences window at a time: it stays (hidden) while a model
 * downloads, and asking for preferences again shows it. */
static void
show_preferences (VmApplication *self,
                  const char    *page)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettings) settings = NULL;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();

  if (parent == GTK_WINDOW (self->preferences))
    parent = NULL;
  if (self->preferences == NULL)
    {
      if (source == NULL || (schema = g_settings_schema_source_lookup (source, APP_ID, TRUE)) == NULL)
        {
          if (VM_IS_WINDOW (parent))
            vm_window_toast (VM_WINDOW (parent), _("Preferences are unavailable: the settings schema is not installed"));
          return;
        }
      settings = g_settings_new (APP_ID);
      self->preferences = vm_preferences_window_new (settings);
      g_object_add_weak_pointer (G_OBJECT (self->preferences), (gpointer *) &self->preferences);
      /* Every main window learns of models installed or removed. */
      for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
        if (VM_IS_WINDOW (l->data))
          g_signal_connect_object (self->preferences, "models-changed",
                                   G_CALLBACK (vm_window_models_changed), l->data, G_CONNECT_SWAPPED);
    }
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self->preferences), parent);
  if (page != NULL)
    adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (self->preferences), page);
  gtk_window_present (GTK_WINDOW (self->preferences));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  show_preferences (user_data, NULL);
}

static void
models_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  show_preferences (user_data, "models");
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action },
  { "about", about_action },
  { "preferences", preferences_action },
  { "models", models_action },
};

static void
vm_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };

  probe_mark ("startup");
  G_APPLICATION_CLASS (vm_application_parent_class)->startup (app);
  probe_mark ("gtk-started");

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", prefs_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "window.close", close_accels);

  vm_media_init (NULL);
  probe_mark ("media-started");
}

static void
vm_application_finalize (GObject *object)
{
  VmApplication *self = VM_APPLICATION (object);

  g_free (self->catalog_path);

  G_OBJECT_CLASS (vm_application_parent_class)->finalize (object);
}

static void
vm_application_class_init (VmApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = vm_application_finalize;
  app_class->activate = vm_application_activate;
  app_class->startup = vm_application_startup;
}

static void
vm_application_init (VmApplication *self)
{
}

VmApplication *
vm_application_new (const char *catalog_path)
{
  VmApplication *self;

  vm_widgets_init ();
  self = g_object_new (VM_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/vidmark/Vidmark",
                       NULL);
  self->catalog_path = g_strdup (catalog_path);
  return self;
}

int
vm_application_run (int    argc,
                    char **argv)
{
  g_autoptr(VmApplication) app = NULL;

  probe_mark ("main");
  g_set_application_name (_("Vidmark"));
  gtk_window_set_default_icon_name (APP_ID);
  app = vm_application_new (NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
