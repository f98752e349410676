/* test-gui-e2e.c — end to end through the real application window, driven
 * like a person would with GTK's own APIs: generate the demo library with
 * the `vidmark` command, index it, open it in the window, type a search,
 * activate a result, mark a segment with In/Out at the playhead, label it,
 * export the set and check the file.  Screenshots of the screen are kept in
 * $VIDMARK_SCREENSHOT_DIR when ImageMagick's `import` is installed.
 *
 * The export goes through the export layer (QVHighlights JSON Lines).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "widgets/vm-annotation-stack.h"
#include "widgets/vm-application.h"
#include "widgets/vm-moment-item.h"
#include "widgets/vm-player.h"
#include "widgets/vm-playback.h"
#include "widgets/vm-timeline.h"
#include "widgets/vm-window.h"

#include "../vm-test-util.h"

#define MS (G_GINT64_CONSTANT (1000000))

static char *home;

static void
run_cli (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (argv, (char *) g_getenv ("VIDMARK_CLI"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("vidmark %s failed: %s", args[0], err);
}

static void
screenshot (const char *name)
{
  const char *dir = g_getenv ("VIDMARK_SCREENSHOT_DIR");
  g_autofree char *import = g_find_program_in_path ("import");
  g_autofree char *path = NULL;
  g_autofree char *cmd = NULL;
  const char *display = g_getenv ("DISPLAY");

  if (dir == NULL || import == NULL || display == NULL)
    return;
  g_mkdir_with_parents (dir, 0755);
  /* Let the frame clock draw what changed. */
  vm_test_spin (400);
  path = g_build_filename (dir, name, NULL);
  cmd = g_strdup_printf ("%s -display %s -window root '%s'", import, display, path);
  if (system (cmd) != 0)
    g_test_message ("screenshot %s failed", path);
  else
    g_test_message ("screenshot: %s", path);
}

/* Depth-first search for the first widget of @type (optionally with the
 * accessible... name given as its CSS name or placeholder). */
static GtkWidget *
find_widget (GtkWidget  *root,
             GType       type,
             const char *placeholder)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        {
          if (placeholder == NULL)
            return child;
          if (GTK_IS_ENTRY (child) && g_strcmp0 (gtk_entry_get_placeholder_text (GTK_ENTRY (child)), placeholder) == 0)
            return child;
        }
      if ((found = find_widget (child, type, placeholder)) != NULL)
        return found;
    }
  return NULL;
}

/* The list view showing @model. */
static GtkWidget *
find_list_view (GtkWidget  *root,
                GListModel *model)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_LIST_VIEW (child))
        {
          GtkSelectionModel *sel = gtk_list_view_get_model (GTK_LIST_VIEW (child));

          if (GTK_IS_SINGLE_SELECTION (sel) && gtk_single_selection_get_model (GTK_SINGLE_SELECTION (sel)) == model)
            return child;
        }
      if ((found = find_list_view (child, model)) != NULL)
        return found;
    }
  return NULL;
}

static gboolean
window_ready (gpointer data)
{
  VmWindow *window = data;

  return !vm_window_get_busy (window) && g_strcmp0 (vm_window_get_page (window), "loading") != 0;
}

static gboolean
results_shown (gpointer data)
{
  VmWindow *window = data;

  return !vm_window_get_busy (window) &&
         g_strcmp0 (vm_window_get_results_page (window), "results") == 0;
}

typedef struct {
  VmPlayback *playback;
  gint64      want;
} PlaybackWait;

static gboolean
prerolled (gpointer data)
{
  PlaybackWait *w = data;

  return vm_playback_get_duration (w->playback) > 0 && vm_playback_get_position (w->playback) >= 0;
}

static gboolean
position_is (gpointer data)
{
  PlaybackWait *w = data;

  return !vm_playback_get_playing (w->playback) &&
         llabs (vm_playback_get_position (w->playback) - w->want) < 2 * MS;
}

static gboolean
is_playing (gpointer data)
{
  return vm_playback_get_playing (data);
}

static gboolean
is_paused (gpointer data)
{
  return !vm_playback_get_playing (data);
}

static gboolean
send_keys (GtkWindow  *window,
           const char *keys)
{
  g_autofree char *xdotool = g_find_program_in_path ("xdotool");
  g_autofree char *cmd = NULL;
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (window));

  if (xdotool == NULL || surface == NULL || g_strcmp0 (g_getenv ("GDK_BACKEND"), "x11") != 0)
    return FALSE;
  cmd = g_strdup_printf ("%s search --sync --name '%s' windowfocus --sync key --delay 50 %s",
                         xdotool, gtk_window_get_title (window), keys);
  return system (cmd) == 0;
}

static void
keys_through_x (VmWindow   *window,
                VmPlayback *playback)
{
  if (vm_playback_get_playing (playback))
    gtk_widget_activate_action (GTK_WIDGET (window), "video.play-pause", NULL);
  vm_test_wait_for (is_paused, playback, 30, "pause");
  if (!send_keys (GTK_WINDOW (window), "space"))
    {
      g_test_message ("xdotool or X11 not available: key presses not tested");
      return;
    }
  vm_test_wait_for (is_playing, playback, 30, "Space to play");
  g_assert_true (send_keys (GTK_WINDOW (window), "space"));
  vm_test_wait_for (is_paused, playback, 30, "Space to pause");
  g_assert_true (send_keys (GTK_WINDOW (window), "bracketright m"));
  vm_test_spin (300);
  g_assert_cmpfloat (vm_playback_get_rate (playback), ==, 1.5);
  g_assert_true (vm_playback_get_muted (playback));
  g_assert_true (send_keys (GTK_WINDOW (window), "bracketleft m"));
  vm_test_spin (300);
  g_assert_cmpfloat (vm_playback_get_rate (playback), ==, 1.0);
  g_assert_false (vm_playback_get_muted (playback));
}

static void
test_e2e (void)
{
  g_autofree char *demo = g_build_filename (home, "demo", NULL);
  g_autofree char *catalog = g_build_filename (home, "catalog.sqlite", NULL);
  g_autofree char *export_path = g_build_filename (home, "e2e-export.jsonl", NULL);
  g_autoptr(VmApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  VmWindow *window;
  GtkWidget *search, *player, *results_view, *label_entry;
  VmPlayback *playback;
  VmAnnotationStack *stack;
  PlaybackWait w;
  guint target = G_MAXUINT;
  GListModel *results;
  JsonObject *root, *ann;
  JsonArray *list;

  if (g_getenv ("VIDMARK_CLI") == NULL)
    {
      g_test_skip ("VIDMARK_CLI is not set");
      return;
    }

  /* 1. A generated demo library, indexed with the command line. */
  {
    const char *gen[] = { "demo", "--output", demo, NULL };
    const char *add[] = { "--catalog", catalog, "add", demo, NULL };
    const char *index[] = { "--catalog", catalog, "index", NULL };

    run_cli (gen);
    run_cli (add);
    run_cli (index);
  }

  /* The application, on that catalog. */
  g_setenv ("VIDMARK_CATALOG", catalog, TRUE);
  app = vm_application_new (NULL);
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = VM_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (window);
  g_assert_cmpstr (vm_window_get_catalog_path (window), ==, catalog);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 760);
  vm_test_wait_for (window_ready, window, 30, "the library");
  g_assert_cmpstr (vm_window_get_page (window), ==, "main");
  /* The folder and its six clips. */
  g_assert_cmpuint (g_list_model_get_n_items (vm_window_get_library (window)), ==, 7);
  screenshot ("01-library.png");

  /* 2. Type a search: it runs as the person types. */
  search = find_widget (GTK_WIDGET (window), GTK_TYPE_SEARCH_ENTRY, NULL);
  g_assert_nonnull (search);
  gtk_widget_grab_focus (search);
  gtk_editable_set_text (GTK_EDITABLE (search), "subtitled");
  vm_test_wait_for (results_shown, window, 30, "search results");
  results = vm_window_get_results (window);
  for (guint i = 0; i < g_list_model_get_n_items (results) && target == G_MAXUINT; i++)
    {
      g_autoptr(VmMomentItem) m = g_list_model_get_item (results, i);

      if (g_str_has_suffix (vm_moment_item_get_path (m), "subtitled.mkv"))
        target = i;
    }
  g_assert_cmpuint (target, !=, G_MAXUINT);
  screenshot ("02-results.png");

  /* 3. Activate the result, as a click does. */
  results_view = find_list_view (GTK_WIDGET (window), vm_window_get_results (window));
  g_assert_nonnull (results_view);
  g_signal_emit_by_name (results_view, "activate", target);
  /* The keys go to the player now, not to the search entry. */
  g_assert_false (gtk_widget_has_focus (search));

  player = find_widget (GTK_WIDGET (window), VM_TYPE_PLAYER, NULL);
  g_assert_nonnull (player);
  playback = vm_player_get_playback (VM_PLAYER (player));
  g_assert_true (g_str_has_suffix (vm_playback_get_path (playback), "subtitled.mkv"));
  w.playback = playback;
  vm_test_wait_for (prerolled, &w, 30, "the video");
  stack = vm_window_get_annotations (window);
  g_assert_nonnull (stack);

  /* Real key presses through the X server, where xdotool is installed: the
   * window's shortcuts reach the player (Space, ], M). */
  keys_through_x (window, playback);

  /* 4. Mark a segment: pause, seek, In; seek, Out; label it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "video.play-pause", NULL));
  vm_test_spin (300);
  if (vm_playback_get_playing (playback))
    gtk_widget_activate_action (GTK_WIDGET (window), "video.play-pause", NULL);
  vm_playback_seek (playback, 1000 * MS, TRUE);
  w.want = 1000 * MS;
  vm_test_wait_for (position_is, &w, 30, "the seek to 1 s");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.mark-in", NULL));
  vm_playback_seek (playback, 2400 * MS, TRUE);
  w.want = 2400 * MS;
  vm_test_wait_for (position_is, &w, 30, "the seek to 2.4 s");
  /* One frame on, one back: the frame steps land on frames. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "video.step", "i", 1));
  w.want = 2440 * MS;
  vm_test_wait_for (position_is, &w, 30, "a frame step");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "video.step", "i", -1));
  w.want = 2400 * MS;
  vm_test_wait_for (position_is, &w, 30, "a frame step back");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.mark-out", NULL));
  g_assert_cmpuint (vm_annotation_stack_get_n_segments (stack), ==, 1);

  label_entry = find_widget (GTK_WIDGET (window), GTK_TYPE_ENTRY, "Label of the selected segment");
  g_assert_nonnull (label_entry);
  g_assert_true (gtk_widget_get_sensitive (label_entry));
  /* The query is the label to start with. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (label_entry)), ==, "subtitled");
  gtk_editable_set_text (GTK_EDITABLE (label_entry), "a person waves at the camera");
  g_signal_emit_by_name (label_entry, "activate");
  g_assert_cmpstr (vm_annotation_stack_get_segment (stack, 0)->annotation->text, ==,
                   "a person waves at the camera");
  g_assert_false (vm_annotation_stack_has_unsaved (stack));

  /* Saliency of its 2-second clips: 4 for clip 1 (the playhead is at
   * 2.4 s), 2 for clip 0 (at 1.5 s); keys where X11 and xdotool are there. */
  {
    static const struct { gint64 at; const char *key; int score; guint clip; } rates[] = {
      { 2400 * MS, "4", 4, 1 },
      { 1500 * MS, "2", 2, 0 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
      {
        const VmSegment *seg;

        if (rates[i].at != w.want)
          {
            vm_playback_seek (playback, rates[i].at, TRUE);
            w.want = rates[i].at;
            vm_test_wait_for (position_is, &w, 30, "a seek into the segment");
          }
        gtk_widget_grab_focus (player);
        if (send_keys (GTK_WINDOW (window), rates[i].key))
          vm_test_spin (300);
        else
          g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.saliency", "i",
                                                     rates[i].score));
        seg = vm_annotation_stack_get_segment (stack, 0);
        g_assert_cmpint (vm_annotation_get_clip_score (seg->annotation, rates[i].clip), ==, rates[i].score);
      }
  }
  screenshot ("03-segment.png");

  /* 5. Export the set. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "annotation.export-to", "(ss)",
                                             "qvhighlights", export_path));
  screenshot ("04-exported.png");

  /* 6. The exported file: one QVHighlights query, the labelled window. */
  {
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    JsonArray *w;

    g_assert_true (g_file_get_contents (export_path, &text, NULL, &error));
    g_assert_no_error (error);
    lines = g_strsplit (g_strstrip (text), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 1);
    g_assert_true (json_parser_load_from_data (parser, lines[0], -1, &error));
    g_assert_no_error (error);
    root = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (root, "query"), ==, "a person waves at the camera");
    g_assert_cmpstr (json_object_get_string_member (root, "vid"), ==, "subtitled");
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (root, "duration"), 9.0, 0.05);
    list = json_object_get_array_member (root, "relevant_windows");
    g_assert_cmpuint (json_array_get_length (list), ==, 1);
    w = json_array_get_array_element (list, 0);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (w, 0), 1.0, 1e-6);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (w, 1), 2.4, 1e-6);
    /* The clip ratings, one rater. */
    list = json_object_get_array_member (root, "relevant_clip_ids");
    g_assert_cmpuint (json_array_get_length (list), ==, 2);
    g_assert_cmpint (json_array_get_int_element (list, 0), ==, 0);
    g_assert_cmpint (json_array_get_int_element (list, 1), ==, 1);
    list = json_object_get_array_member (root, "saliency_scores");
    g_assert_cmpuint (json_array_get_length (list), ==, 2);
    g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (list, 0), 0), ==, 2);
    g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (list, 1), 0), ==, 4);
    (void) ann;
  }

  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  const char *builddir = g_getenv ("VIDMARK_TEST_BUILDDIR");
  int ret;

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, NULL);

  home = g_build_filename (builddir ? builddir : g_get_tmp_dir (), "e2e-home", NULL);
  vm_test_remove_tree (home);
  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  {
    g_autofree char *data = g_build_filename (home, "data", NULL);
    g_autofree char *cache = g_build_filename (home, "cache", NULL);

    g_setenv ("XDG_DATA_HOME", data, TRUE);
    g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  }

  if (!gtk_init_check ())
    {
      g_test_skip ("no display (run under Xvfb: build-aux/test.sh)");
      return 77;
    }

  g_test_add_func ("/gui/e2e", test_e2e);
  ret = g_test_run ();
  (void) error;
  return ret;
}
