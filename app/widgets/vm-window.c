/* vm-window.c — the main window.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "core/vm-paths.h"
#include "core/vm-util.h"
#include "widgets/vm-annotation-stack.h"
#include "export/vm-export.h"
#include "widgets/vm-index-runner.h"
#include "widgets/vm-library.h"
#include "widgets/vm-player.h"
#include "widgets/vm-timeline.h"
#include "widgets/vm-recent-exports.h"
#include "widgets/vm-window.h"

#define DEFAULT_SET_NAME "default"

typedef enum {
  EDGE_START,
  EDGE_END,
} Edge;

struct _VmWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  AdwLeaflet           *leaflet;
  AdwLeaflet           *content_leaflet;   /* results | player, folds when narrow */
  GtkWidget            *player_pane;
  GtkWidget            *back_button;
  GtkWidget            *sidebar;
  GtkWidget            *content;
  GtkListView          *library_view;
  GtkRevealer          *index_revealer;
  GtkLabel             *index_label;
  GtkProgressBar       *index_progress;
  GtkLabel             *index_eta_label;
  GtkSearchEntry       *search_entry;
  GtkRevealer          *model_banner;
  GtkStack             *main_stack;
  AdwStatusPage        *error_page;
  GtkStack             *results_stack;
  GtkListView          *results_view;
  AdwStatusPage        *no_results_page;
  VmPlayer             *player;
  VmTimeline           *timeline;
  GtkDropDown          *set_dropdown;
  GtkStringList        *set_names;
  GtkEntry             *label_entry;
  GtkLabel             *status_label;

  /* State */
  char                 *catalog_path;
  VmCatalog            *catalog;       /* main-thread connection: annotations */
  GSettings            *settings;      /* NULL when the schema is not installed */
  GMenu                *primary_menu;
  GMenu                *recent_exports_section;
  GListStore           *library;       /* VmLibraryItem */
  GListStore           *results;       /* VmMomentItem */
  GtkSingleSelection   *results_selection;
  GCancellable         *search_cancellable;
  GCancellable         *library_cancellable;
  VmSearchFunc          search_func;
  gpointer              search_data;
  VmSearchSession      *session;       /* the hybrid search: engine kept between searches */
  char                 *notice;        /* the last search notice shown */
  char                 *query;         /* of the results shown */
  guint                 n_busy;
  gboolean              has_model;
  VmIndexRunner        *runner;
  guint                 reload_id;     /* a library reload while indexing */
  guint                 index_bar_id;  /* a throttled update of the index bar */
  gboolean              painted;       /* the first frame was painted, or the library shown */
  GPtrArray            *pending_library;  /* the first listing, until the first frame */
  guint                 pending_library_id;
  GdkFrameClock        *frame_clock;   /* while frame_clock_handler is set */
  gulong                frame_clock_handler;
  gint64                index_bar_updated_at;

  /* The open video */
  gint64                video_id;
  char                 *video_path;
  char                 *video_fingerprint;
  VmMomentItem             *moment;        /* the result being played, or NULL */
  gint64                set_id;
  VmAnnotationStack    *stack;
  gint64                mark_in;       /* pending In without a segment, or -1 */
  Edge                  active_edge;

  char                 *last_toast;
  GPtrArray            *import_issues; /* VmIssue*, of the last import */
  char                 *import_file;   /* its base name */
};

G_DEFINE_FINAL_TYPE (VmWindow, vm_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_CATALOG_PATH,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void load_annotations (VmWindow *self);
static void update_actions   (VmWindow *self);
static void update_status    (VmWindow *self);

/* Shows @toast (taking it) and remembers its title for the tests. */
static void
add_toast (VmWindow *self,
           AdwToast *toast)
{
  g_free (self->last_toast);
  self->last_toast = g_strdup (adw_toast_get_title (toast));
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
vm_window_toast (VmWindow   *self,
                 const char *message)
{
  AdwToast *toast;

  g_return_if_fail (VM_IS_WINDOW (self));

  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 5);
  add_toast (self, toast);
}

const char *
vm_window_get_last_toast (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);

  return self->last_toast;
}

static void
busy_push (VmWindow *self)
{
  if (self->n_busy++ == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
busy_pop (VmWindow *self)
{
  g_return_if_fail (self->n_busy > 0);
  if (--self->n_busy == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* ---- Library sidebar ----------------------------------------------------- */

static void
library_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  VmWindow                 *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *icon = gtk_image_new ();
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *subtitle = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_box_append (GTK_BOX (labels), title);
  gtk_box_append (GTK_BOX (labels), subtitle);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), labels);
  gtk_list_item_set_child (item, box);
}

static void
library_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 VmWindow                 *self)
{
  VmLibraryItem *li = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *icon = gtk_widget_get_first_child (box);
  GtkWidget *labels = gtk_widget_get_next_sibling (icon);
  GtkWidget *title = gtk_widget_get_first_child (labels);
  GtkWidget *subtitle = gtk_widget_get_next_sibling (title);
  gboolean folder = vm_library_item_get_kind (li) == VM_LIBRARY_ITEM_FOLDER;
  const char *status_text = NULL;

  gtk_image_set_from_icon_name (GTK_IMAGE (icon), vm_library_item_get_status_icon (li));
  gtk_label_set_label (GTK_LABEL (title), vm_library_item_get_title (li));
  gtk_label_set_label (GTK_LABEL (subtitle), vm_library_item_get_subtitle (li));
  gtk_widget_set_visible (subtitle, !folder && vm_library_item_get_subtitle (li)[0] != '\0');
  gtk_list_item_set_activatable (item, !folder);
  gtk_list_item_set_selectable (item, !folder);
  gtk_widget_set_margin_start (box, folder ? 0 : 12);
  if (folder)
    gtk_widget_add_css_class (title, "vm-folder-row");
  else
    gtk_widget_remove_css_class (title, "vm-folder-row");

  if (!folder)
    switch (vm_library_item_get_status (li))
      {
      case VM_VIDEO_STATUS_INDEXED: status_text = _("Indexed"); break;
      case VM_VIDEO_STATUS_ERROR: status_text = _("Failed to index"); break;
      case VM_VIDEO_STATUS_MISSING: status_text = _("Missing"); break;
      default: status_text = _("Not indexed yet"); break;
      }
  gtk_widget_set_tooltip_text (icon, status_text);
}

/* The open video's hits among the results, and its visual score curve. */
static void
refresh_hits (VmWindow *self)
{
  g_autoptr(GPtrArray) hits = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->results));
  GArray *curve = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VmMomentItem) m = g_list_model_get_item (G_LIST_MODEL (self->results), i);

      if (vm_moment_item_get_video_id (m) != self->video_id)
        continue;
      if (curve == NULL)
        curve = vm_moment_item_get_curve (m);
      g_ptr_array_add (hits, g_steal_pointer (&m));
    }
  vm_timeline_set_hits (self->timeline, hits);
  vm_timeline_set_curve (self->timeline, curve);
}

static void
open_video (VmWindow   *self,
            gint64      video_id,
            const char *path,
            const char *fingerprint,
            VmMomentItem   *moment,
            gint64      start,
            gint64      end,
            gboolean    play)
{
  gboolean same = self->video_id == video_id && self->stack != NULL;

  self->video_id = video_id;
  if (g_strcmp0 (self->video_path, path) != 0)
    {
      g_free (self->video_path);
      self->video_path = g_strdup (path);
    }
  if (g_strcmp0 (self->video_fingerprint, fingerprint) != 0)
    {
      g_free (self->video_fingerprint);
      self->video_fingerprint = g_strdup (fingerprint);
    }
  g_set_object (&self->moment, moment);
  self->mark_in = -1;

  vm_timeline_set_fingerprint (self->timeline, fingerprint);
  refresh_hits (self);

  if (!same)
    load_annotations (self);

  vm_player_play_range (self->player, path, start, end, play);
  gtk_window_set_title (GTK_WINDOW (self), vm_moment_item_get_title (moment) ? vm_moment_item_get_title (moment) : _("Vidmark"));
  if (moment == NULL)
    {
      g_autofree char *base = g_path_get_basename (path);

      gtk_window_set_title (GTK_WINDOW (self), base);
    }
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
  adw_leaflet_set_visible_child (self->content_leaflet, self->player_pane);
  update_actions (self);
  update_status (self);
}

static void
library_activate_cb (GtkListView *view,
                     guint        position,
                     VmWindow    *self)
{
  g_autoptr(VmLibraryItem) item = g_list_model_get_item (G_LIST_MODEL (self->library), position);

  if (item == NULL || vm_library_item_get_kind (item) != VM_LIBRARY_ITEM_VIDEO)
    return;
  open_video (self, vm_library_item_get_video_id (item), vm_library_item_get_path (item),
              vm_library_item_get_fingerprint (item), NULL, 0, -1, FALSE);
  gtk_widget_grab_focus (GTK_WIDGET (self->player));
}

static void
show_library (VmWindow  *self,
              GPtrArray *items)
{
  /* Only the rows that changed: a reload while indexing a large library
   * would otherwise rebuild every row each time (about 100 ms of the UI
   * thread for 10 000 videos). */
  {
    GListModel *model = G_LIST_MODEL (self->library);
    guint old_n = g_list_model_get_n_items (model);
    guint start = 0, old_end = old_n, new_end = items->len;

    while (start < old_n && start < items->len)
      {
        g_autoptr(VmLibraryItem) old = g_list_model_get_item (model, start);

        if (!vm_library_item_equal (old, g_ptr_array_index (items, start)))
          break;
        start++;
      }
    while (old_end > start && new_end > start)
      {
        g_autoptr(VmLibraryItem) old = g_list_model_get_item (model, old_end - 1);

        if (!vm_library_item_equal (old, g_ptr_array_index (items, new_end - 1)))
          break;
        old_end--;
        new_end--;
      }
    if (old_end > start || new_end > start)
      g_list_store_splice (self->library, start, old_end - start, items->pdata + start, new_end - start);
  }
  if (self->catalog != NULL)
    gtk_stack_set_visible_child_name (self->main_stack, items->len == 0 ? "no-library" : "main");
}

/* The first listing waits for the window's first frame (at most 500 ms):
 * a large library and the main page take 50-300 ms of the UI thread to lay
 * out, and the window should be on screen first (docs/PERFORMANCE.md). */
static void
show_pending_library (VmWindow *self)
{
  g_autoptr(GPtrArray) items = g_steal_pointer (&self->pending_library);

  g_clear_handle_id (&self->pending_library_id, g_source_remove);
  if (self->frame_clock_handler != 0)
    g_clear_signal_handler (&self->frame_clock_handler, self->frame_clock);
  g_clear_object (&self->frame_clock);
  if (items == NULL)
    return;
  show_library (self, items);
  busy_pop (self);
}

static void
first_frame_cb (GdkFrameClock *clock,
                VmWindow      *self)
{
  self->painted = TRUE;
  show_pending_library (self);
}

static gboolean
pending_library_timeout_cb (gpointer user_data)
{
  VmWindow *self = user_data;

  self->pending_library_id = 0;
  show_pending_library (self);
  return G_SOURCE_REMOVE;
}

static void
library_loaded_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(VmWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) items = vm_library_load_finish (result, &error);

  if (items == NULL)
    {
      busy_pop (self);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      vm_window_toast (self, error->message);
      return;
    }

  if (!self->painted && gtk_widget_get_mapped (GTK_WIDGET (self)) &&
      gtk_widget_get_frame_clock (GTK_WIDGET (self)) != NULL)
    {
      if (self->pending_library != NULL)
        {
          /* A newer listing replaces the one that waits. */
          g_clear_pointer (&self->pending_library, g_ptr_array_unref);
          busy_pop (self);
        }
      else
        {
          self->frame_clock = g_object_ref (gtk_widget_get_frame_clock (GTK_WIDGET (self)));
          self->frame_clock_handler = g_signal_connect (self->frame_clock, "after-paint",
                                                        G_CALLBACK (first_frame_cb), self);
          self->pending_library_id = g_timeout_add (500, pending_library_timeout_cb, self);
        }
      /* Still busy until it is shown. */
      self->pending_library = g_steal_pointer (&items);
      return;
    }

  self->painted = TRUE;
  show_library (self, items);
  busy_pop (self);
}

static void
reload_library (VmWindow *self)
{
  if (self->catalog == NULL)
    return;
  g_cancellable_cancel (self->library_cancellable);
  g_clear_object (&self->library_cancellable);
  self->library_cancellable = g_cancellable_new ();
  busy_push (self);
  vm_library_load_async (self->catalog_path, self->library_cancellable, library_loaded_cb,
                         g_object_ref (self));
}

/* ---- Results -------------------------------------------------------------- */

/* "a [match] here" → "a <b>match</b> here", escaped. */
static char *
snippet_markup (const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);
  GString *s = g_string_new (NULL);

  for (const char *p = escaped; *p; p++)
    {
      if (*p == '[')
        g_string_append (s, "<b>");
      else if (*p == ']')
        g_string_append (s, "</b>");
      else
        g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

static void
result_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 VmWindow                 *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *range = gtk_label_new (NULL);
  GtkWidget *snippet = gtk_label_new (NULL);
  GtkWidget *meta = gtk_label_new (NULL);

  gtk_widget_set_size_request (picture, 112, 63);
  gtk_widget_set_valign (picture, GTK_ALIGN_CENTER);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_widget_add_css_class (picture, "vm-thumbnail");
  gtk_widget_set_overflow (picture, GTK_OVERFLOW_HIDDEN);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (range), 0);
  gtk_widget_add_css_class (range, "numeric");
  gtk_widget_add_css_class (range, "caption");
  gtk_label_set_xalign (GTK_LABEL (snippet), 0);
  gtk_label_set_wrap (GTK_LABEL (snippet), TRUE);
  gtk_label_set_lines (GTK_LABEL (snippet), 2);
  gtk_label_set_ellipsize (GTK_LABEL (snippet), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (meta), 0);
  gtk_widget_add_css_class (meta, "caption");
  gtk_widget_add_css_class (meta, "dim-label");

  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (labels), title);
  gtk_box_append (GTK_BOX (labels), range);
  gtk_box_append (GTK_BOX (labels), snippet);
  gtk_box_append (GTK_BOX (labels), meta);
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), labels);
  gtk_list_item_set_child (item, box);
}

static void
result_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                VmWindow                 *self)
{
  VmMomentItem *m = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *picture = gtk_widget_get_first_child (box);
  GtkWidget *labels = gtk_widget_get_next_sibling (picture);
  GtkWidget *title = gtk_widget_get_first_child (labels);
  GtkWidget *range = gtk_widget_get_next_sibling (title);
  GtkWidget *snippet = gtk_widget_get_next_sibling (range);
  GtkWidget *meta = gtk_widget_get_next_sibling (snippet);
  const char *thumb = vm_moment_item_get_thumbnail (m);
  g_autofree char *range_text = vm_moment_item_format_range (m);
  g_autofree char *signals_text = vm_moment_item_signals_to_string (vm_moment_item_get_signals (m));
  g_autofree char *meta_text = NULL;

  if (thumb != NULL)
    {
      g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (thumb, NULL);

      gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (texture));
    }
  else
    gtk_picture_set_paintable (GTK_PICTURE (picture), NULL);

  gtk_label_set_label (GTK_LABEL (title), vm_moment_item_get_title (m));
  gtk_label_set_label (GTK_LABEL (range), range_text);
  if (vm_moment_item_get_snippet (m) != NULL)
    {
      g_autofree char *markup = snippet_markup (vm_moment_item_get_snippet (m));

      gtk_label_set_markup (GTK_LABEL (snippet), markup);
      gtk_widget_set_visible (snippet, TRUE);
    }
  else
    gtk_widget_set_visible (snippet, FALSE);

  /* TRANSLATORS: a search result's score and the signals that matched */
  meta_text = g_strdup_printf (_("Score %.2f · %s"), vm_moment_item_get_score (m), signals_text);
  gtk_label_set_label (GTK_LABEL (meta), meta_text);
}

static void
result_activate_cb (GtkListView *view,
                    guint        position,
                    VmWindow    *self)
{
  vm_window_open_result (self, position);
}

void
vm_window_open_result (VmWindow *self,
                       guint     position)
{
  g_autoptr(VmMomentItem) m = NULL;

  g_return_if_fail (VM_IS_WINDOW (self));

  m = g_list_model_get_item (G_LIST_MODEL (self->results), position);
  if (m == NULL)
    return;
  gtk_single_selection_set_selected (self->results_selection, position);
  open_video (self, vm_moment_item_get_video_id (m), vm_moment_item_get_path (m), vm_moment_item_get_fingerprint (m),
              m, vm_moment_item_get_start (m), vm_moment_item_get_end (m), TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->player));
}

/* Moments sharpened by dense refinement replace their coarse items. */
static void     refresh_hits         (VmWindow *self);
static void     reset_search_session (VmWindow *self);
static gboolean update_model_state   (VmWindow *self);
static gboolean find_model           (void);

/* How many visual moments are sharpened after each search. */
#define REFINE_TOP 3

static void
refine_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(VmWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) changes = vm_search_session_refine_finish (result, &error);

  if (changes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Refinement failed: %s", error->message);
      return;
    }
  if (self->results == NULL)
    return;

  for (guint c = 0; c < changes->len; c++)
    {
      const VmRefinedRange *r = &g_array_index (changes, VmRefinedRange, c);
      guint n = g_list_model_get_n_items (G_LIST_MODEL (self->results));

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(VmMomentItem) m = g_list_model_get_item (G_LIST_MODEL (self->results), i);
          g_autoptr(VmMomentItem) sharp = NULL;

          if (vm_moment_item_get_video_id (m) != r->video_id ||
              vm_moment_item_get_start (m) != r->old_start_ns ||
              vm_moment_item_get_end (m) != r->old_end_ns)
            continue;
          sharp = vm_moment_item_copy_with_range (m, r->start_ns, r->end_ns);
          g_list_store_splice (self->results, i, 1, (gpointer *) &sharp, 1);
          break;
        }
    }
  if (changes->len > 0 && self->video_id != 0)
    refresh_hits (self);
}

static void
search_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(VmWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) moments = vm_search_finish (result, &error);

  busy_pop (self);

  if (moments == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      vm_window_toast (self, error->message);
      gtk_stack_set_visible_child_name (self->results_stack, "no-results");
      return;
    }

  g_list_store_splice (self->results, 0, g_list_model_get_n_items (G_LIST_MODEL (self->results)),
                       moments->pdata, moments->len);
  if (self->search_func == vm_search_session_search)
    {
      g_autofree char *notice = vm_search_session_dup_notice (self->search_data);
      gboolean visual = FALSE;

      /* A notice (stale index, GPU trouble) once; the banner covers "no model". */
      if (notice != NULL && self->has_model && g_strcmp0 (notice, self->notice) != 0)
        vm_window_toast (self, notice);
      g_free (self->notice);
      self->notice = g_steal_pointer (&notice);

      /* Results are shown at once; the best visual ones sharpen after. */
      for (guint i = 0; i < moments->len && !visual; i++)
        visual = (vm_moment_item_get_signals (g_ptr_array_index (moments, i)) & VM_MOMENT_SIGNAL_VISUAL) != 0;
      if (visual && self->search_cancellable != NULL)
        vm_search_session_refine_async (self->search_data, self->catalog_path, self->query,
                                        REFINE_TOP, self->search_cancellable,
                                        refine_done_cb, g_object_ref (self));
    }
  if (moments->len > 0)
    gtk_stack_set_visible_child_name (self->results_stack, "results");
  else
    {
      adw_status_page_set_description (self->no_results_page,
                                       self->has_model
                                       ? _("Try other words.")
                                       : _("Try other words. Without a search model only subtitles, on-screen text, speech and file names are searched: get one in Preferences, Search Models, to search what is seen."));
      gtk_stack_set_visible_child_name (self->results_stack, "no-results");
    }
}

void
vm_window_search (VmWindow   *self,
                  const char *text)
{
  g_autofree char *stripped = NULL;

  g_return_if_fail (VM_IS_WINDOW (self));

  /* The previous search is obsolete: its result is dropped. */
  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);

  stripped = g_strstrip (g_strdup (text ? text : ""));
  g_free (self->query);
  self->query = g_strdup (stripped);

  if (*stripped == '\0' || self->catalog == NULL)
    {
      g_list_store_remove_all (self->results);
      gtk_stack_set_visible_child_name (self->results_stack, "hint");
      return;
    }

  self->search_cancellable = g_cancellable_new ();
  busy_push (self);
  vm_search_async (self->catalog_path, stripped,
                   self->settings ? (guint) g_settings_get_int (self->settings, "search-result-limit") : 50,
                   self->search_func, self->search_data, self->search_cancellable,
                   search_done_cb, g_object_ref (self));
}

static void
search_changed_cb (GtkSearchEntry *entry,
                   VmWindow       *self)
{
  /* Typing shows the results, also when the panes are folded. */
  adw_leaflet_set_visible_child (self->content_leaflet, GTK_WIDGET (self->results_stack));
  vm_window_search (self, gtk_editable_get_text (GTK_EDITABLE (entry)));
}

static void
search_activate_cb (GtkSearchEntry *entry,
                    VmWindow       *self)
{
  if (g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0)
    vm_window_open_result (self, 0);
}

static void
stop_search_cb (GtkSearchEntry *entry,
                VmWindow       *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->results_view));
}

/* ---- Annotations ---------------------------------------------------------- */

static const char *
current_set_name (VmWindow *self)
{
  guint i = gtk_drop_down_get_selected (self->set_dropdown);

  if (i == GTK_INVALID_LIST_POSITION)
    return DEFAULT_SET_NAME;
  return gtk_string_list_get_string (self->set_names, i);
}

static void
stack_notify_cb (VmAnnotationStack *stack,
                 GParamSpec        *pspec,
                 VmWindow          *self)
{
  update_actions (self);
}

static void
stack_changed_cb (VmAnnotationStack *stack,
                  VmWindow          *self)
{
  update_status (self);
  update_actions (self);
}

static void
save_failed_cb (VmAnnotationStack *stack,
                guint              key,
                const GError      *error,
                VmWindow          *self)
{
  g_autofree char *message = g_strdup_printf (_("Could not save the segment: %s. It is kept and saved again with the next edit."),
                                              error->message);

  vm_window_toast (self, message);
}

static void
load_annotations (VmWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->stack != NULL)
    g_signal_handlers_disconnect_by_data (self->stack, self);
  g_clear_object (&self->stack);
  vm_timeline_set_annotations (self->timeline, NULL);

  if (self->catalog == NULL || self->video_id == 0)
    return;

  if (!vm_catalog_ensure_annotation_set (self->catalog, current_set_name (self), &self->set_id, &error) ||
      !(self->stack = vm_annotation_stack_new (self->catalog, self->set_id, self->video_id, &error)))
    {
      vm_window_toast (self, error->message);
      return;
    }

  g_signal_connect (self->stack, "changed", G_CALLBACK (stack_changed_cb), self);
  g_signal_connect (self->stack, "notify", G_CALLBACK (stack_notify_cb), self);
  g_signal_connect (self->stack, "save-failed", G_CALLBACK (save_failed_cb), self);
  vm_timeline_set_annotations (self->timeline, self->stack);
}

static void
set_selected_cb (GtkDropDown *dropdown,
                 GParamSpec  *pspec,
                 VmWindow    *self)
{
  load_annotations (self);
  update_actions (self);
  update_status (self);
}

static const VmSegment *
selected_segment (VmWindow *self)
{
  guint key = vm_timeline_get_selected (self->timeline);

  if (self->stack == NULL || key == 0)
    return NULL;
  return vm_annotation_stack_lookup (self->stack, key);
}

static gint64
playhead (VmWindow *self)
{
  VmPlayback *playback = vm_player_get_playback (self->player);

  return vm_timeline_snap (self->timeline, MAX (vm_playback_get_position (playback), 0));
}

static void
update_status (VmWindow *self)
{
  const VmSegment *seg = selected_segment (self);
  g_autofree char *text = NULL;

  if (self->stack == NULL)
    text = g_strdup (_("Open a result or a video to annotate it."));
  else if (seg != NULL)
    {
      g_autofree char *s = vm_format_timestamp (seg->annotation->start_ns);
      g_autofree char *e = vm_format_timestamp (seg->annotation->end_ns);

      guint n_rated = seg->annotation->clips ? seg->annotation->clips->len : 0;
      g_autofree char *rated = NULL;

      /* TRANSLATORS: how many 2-second clips of the selected segment have a saliency score */
      rated = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u clip rated", "%u clips rated", n_rated), n_rated);
      /* TRANSLATORS: the selected segment; the active edge is the one Alt+arrows move;
       * the last part counts the rated clips and says that keys 0 to 4 rate the clip at the playhead */
      text = g_strdup_printf (_("Segment %s – %s%s · Alt+←/→ moves its %s by a frame · %s, 0–4 rate the clip at the playhead"),
                              s, e, seg->unsaved ? _(" (not saved)") : "",
                              self->active_edge == EDGE_START ? _("start") : _("end"), rated);
    }
  else if (self->mark_in >= 0)
    {
      g_autofree char *s = vm_format_timestamp (self->mark_in);

      text = g_strdup_printf (_("In at %s: press O at the end of the segment"), s);
    }
  else
    {
      guint n = vm_annotation_stack_get_n_segments (self->stack);

      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u segment in “%s” · I and O mark a new one",
                                           "%u segments in “%s” · I and O mark a new one", n),
                              n, current_set_name (self));
    }
  gtk_label_set_label (self->status_label, text);

  {
    const char *label = seg && seg->annotation->text ? seg->annotation->text : "";

    if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->label_entry)), label) != 0)
      gtk_editable_set_text (GTK_EDITABLE (self->label_entry), label);
    gtk_widget_set_sensitive (GTK_WIDGET (self->label_entry), seg != NULL);
  }
}

static void
select_segment (VmWindow *self,
                guint     key)
{
  vm_timeline_set_selected (self->timeline, key);
  update_status (self);
  update_actions (self);
}

static void
report_error (VmWindow *self,
              GError   *error)
{
  if (error != NULL)
    vm_window_toast (self, error->message);
}

static void
mark_in_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  const VmSegment *seg = selected_segment (self);
  g_autoptr(GError) error = NULL;
  gint64 t = playhead (self);

  if (self->stack == NULL)
    return;
  self->active_edge = EDGE_START;
  if (seg != NULL)
    {
      if (t >= seg->annotation->end_ns)
        {
          vm_window_toast (self, _("In must come before the segment’s Out"));
          return;
        }
      if (!vm_annotation_stack_set_range (self->stack, seg->key, t, seg->annotation->end_ns, &error))
        report_error (self, error);
    }
  else
    self->mark_in = t;
  update_status (self);
}

static void
mark_out_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  const VmSegment *seg = selected_segment (self);
  g_autoptr(GError) error = NULL;
  gint64 t = playhead (self);
  guint key = 0;

  if (self->stack == NULL)
    return;
  self->active_edge = EDGE_END;
  if (seg != NULL)
    {
      if (t <= seg->annotation->start_ns)
        {
          vm_window_toast (self, _("Out must come after the segment’s In"));
          return;
        }
      if (!vm_annotation_stack_set_range (self->stack, seg->key, seg->annotation->start_ns, t, &error))
        report_error (self, error);
      update_status (self);
      return;
    }

  if (self->mark_in < 0 || self->mark_in >= t)
    {
      vm_window_toast (self, _("Press I at the start of the segment first, then O after it"));
      return;
    }
  if (!vm_annotation_stack_add (self->stack, self->mark_in, t, self->query ? self->query : "", &key, &error))
    {
      report_error (self, error);
      return;
    }
  self->mark_in = -1;
  select_segment (self, key);
}

static void
add_from_result_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  guint key = 0;

  if (self->stack == NULL || self->moment == NULL)
    return;
  /* The moment's own times (e.g. a subtitle's), refined by hand later. */
  if (!vm_annotation_stack_add (self->stack,
                                vm_moment_item_get_start (self->moment),
                                vm_moment_item_get_end (self->moment),
                                self->query ? self->query : "", &key, &error))
    {
      report_error (self, error);
      return;
    }
  select_segment (self, key);
}

static void
delete_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  const VmSegment *seg = selected_segment (self);
  g_autoptr(GError) error = NULL;

  if (seg == NULL)
    return;
  if (!vm_annotation_stack_remove (self->stack, seg->key, &error))
    report_error (self, error);
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);

  if (self->stack == NULL)
    return;
  if (g_str_equal (action_name, "annotation.undo"))
    vm_annotation_stack_undo (self->stack);
  else
    vm_annotation_stack_redo (self->stack);
}

static void
nudge (VmWindow *self,
       gint64    delta)
{
  const VmSegment *seg = selected_segment (self);
  g_autoptr(GError) error = NULL;
  gint64 s, e;

  if (seg == NULL)
    return;
  s = seg->annotation->start_ns;
  e = seg->annotation->end_ns;
  if (self->active_edge == EDGE_START)
    s = vm_timeline_snap (self->timeline, CLAMP (s + delta, 0, e - 1));
  else
    {
      e = vm_timeline_snap (self->timeline, MAX (e + delta, s + 1));
      if (vm_timeline_get_duration (self->timeline) > 0)
        e = MIN (e, vm_timeline_get_duration (self->timeline));
    }
  if (s >= e)
    return;
  if (!vm_annotation_stack_set_range (self->stack, seg->key, s, e, &error))
    report_error (self, error);
  vm_playback_seek (vm_player_get_playback (self->player), self->active_edge == EDGE_START ? s : e, TRUE);
}

static void
nudge_frame_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  gint64 frame = vm_playback_get_frame_duration (vm_player_get_playback (self->player));

  nudge (self, g_variant_get_int32 (parameter) * frame);
}

static void
nudge_second_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  nudge (VM_WINDOW (widget), g_variant_get_int32 (parameter) * VM_NSEC_PER_SEC);
}

/* Keys 0-4 rate the 2-second clip at the playhead for the selected segment
 * (or the segment under the playhead, which becomes selected); Backspace
 * clears the rating.  One undo step each, saved at once like every edit. */
static void
saliency_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  const VmSegment *seg = selected_segment (self);
  g_autoptr(GError) error = NULL;
  int score = g_variant_get_int32 (parameter);
  gint64 t = MAX (vm_playback_get_position (vm_player_get_playback (self->player)), 0);
  guint clip = vm_annotation_stack_clip_at (t);
  gint64 clip_start = (gint64) clip * VM_ANNOTATION_CLIP_NS;

  if (self->stack == NULL)
    return;
  if (seg == NULL)
    {
      for (guint i = 0; i < vm_annotation_stack_get_n_segments (self->stack) && seg == NULL; i++)
        {
          const VmSegment *s = vm_annotation_stack_get_segment (self->stack, i);

          if (s->annotation->start_ns <= t && t < s->annotation->end_ns)
            seg = s;
        }
      if (seg == NULL)
        {
          vm_window_toast (self, _("Select a segment, or move the playhead into one, to rate its 2-second clips"));
          return;
        }
      select_segment (self, seg->key);
    }
  if (clip_start >= seg->annotation->end_ns || clip_start + VM_ANNOTATION_CLIP_NS <= seg->annotation->start_ns)
    {
      vm_window_toast (self, _("Move the playhead into the segment to rate its 2-second clips"));
      return;
    }
  if (!vm_annotation_stack_set_clip_saliency (self->stack, seg->key, clip, CLAMP (score, -1, 4), &error))
    report_error (self, error);
}

static void
label_activate_cb (GtkEntry *entry,
                   VmWindow *self)
{
  const VmSegment *seg = selected_segment (self);
  g_autoptr(GError) error = NULL;

  if (seg == NULL)
    return;
  if (!vm_annotation_stack_set_text (self->stack, seg->key, gtk_editable_get_text (GTK_EDITABLE (entry)), &error))
    report_error (self, error);
  gtk_widget_grab_focus (GTK_WIDGET (self->player));
}

static void
timeline_seek_cb (VmTimeline *timeline,
                  gint64      t,
                  gboolean    accurate,
                  VmWindow   *self)
{
  vm_playback_seek (vm_player_get_playback (self->player), t, accurate);
}

static void
timeline_selected_cb (VmTimeline *timeline,
                      guint       key,
                      VmWindow   *self)
{
  update_status (self);
  update_actions (self);
}

static void
timeline_segment_changed_cb (VmTimeline *timeline,
                             guint       key,
                             gint64      start,
                             gint64      end,
                             VmWindow   *self)
{
  const VmSegment *seg;
  g_autoptr(GError) error = NULL;

  if (self->stack == NULL || (seg = vm_annotation_stack_lookup (self->stack, key)) == NULL)
    return;
  self->active_edge = start != seg->annotation->start_ns ? EDGE_START : EDGE_END;
  if (!vm_annotation_stack_set_range (self->stack, key, start, end, &error))
    report_error (self, error);
}

static void
new_set_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     VmWindow         *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  g_autoptr(GError) error = NULL;
  gint64 id;
  guint n;

  if (!g_str_equal (response, "create") || *name == '\0' || self->catalog == NULL)
    return;
  if (!vm_catalog_ensure_annotation_set (self->catalog, name, &id, &error))
    {
      report_error (self, error);
      return;
    }
  n = g_list_model_get_n_items (G_LIST_MODEL (self->set_names));
  for (guint i = 0; i < n; i++)
    if (g_str_equal (gtk_string_list_get_string (self->set_names, i), name))
      {
        gtk_drop_down_set_selected (self->set_dropdown, i);
        return;
      }
  gtk_string_list_append (self->set_names, name);
  gtk_drop_down_set_selected (self->set_dropdown, n);
}

static void
new_set_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("New Annotation Set"),
                                              _("Segments are saved in one set at a time; each set exports as one dataset."));
  GtkWidget *entry = gtk_entry_new ();

  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _("Name"));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "create", _("C_reate"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "create", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "create");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (new_set_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
export_to (VmWindow   *self,
           const char *format_name,
           const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GPtrArray) written = NULL;
  g_autofree char *message = NULL;
  g_autofree char *base = g_path_get_basename (path);
  VmExportOptions options;
  gint64 set_id;
  guint n_queries = 0;

  if (self->catalog == NULL)
    return FALSE;

  vm_export_options_init (&options);
  if (!vm_format_from_string (format_name, &options.format) || !vm_format_can_export (options.format))
    {
      g_autofree char *text = g_strdup_printf (_("Unknown export format “%s”"), format_name);

      vm_window_toast (self, text);
      return FALSE;
    }

  if (!vm_catalog_ensure_annotation_set (self->catalog, current_set_name (self), &set_id, &error) ||
      !(written = vm_export_set (self->catalog, current_set_name (self), &options, path, issues,
                                 &n_queries, &error)))
    {
      g_autofree char *text = g_strdup_printf (_("Could not export: %s"), error->message);

      vm_window_toast (self, text);
      return FALSE;
    }

  if (issues->len > 0)
    {
      VmIssue *first = g_ptr_array_index (issues, 0);

      message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                              "Exported %u query to “%s”; %u segment left out (%s)",
                                              "Exported %u queries to “%s”; %u segments left out (%s)",
                                              issues->len),
                                 n_queries, base, issues->len, first->reason);
    }
  else
    message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Exported %u query to “%s”",
                                            "Exported %u queries to “%s”", n_queries), n_queries, base);
  {
    AdwToast *toast = adw_toast_new (message);

    adw_toast_set_timeout (toast, 5);
    adw_toast_set_button_label (toast, _("Open _Folder"));
    adw_toast_set_action_name (toast, "annotation.open-export-folder");
    adw_toast_set_action_target_value (toast, g_variant_new_string (path));
    adw_toast_overlay_add_toast (self->toast_overlay, toast);
    g_free (self->last_toast);
    self->last_toast = g_strdup (message);
  }

  if (self->settings != NULL)
    vm_recent_exports_add (self->settings, path, format_name, g_get_real_time () / G_USEC_PER_SEC);
  return TRUE;
}

static void
open_folder_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(VmWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not open the folder: %s"), error->message);

      vm_window_toast (self, text);
    }
}

/* Opens the folder of an exported file with the default file manager
 * (GtkFileLauncher needs GTK 4.10; this works with 4.8). */
static void
open_export_folder_action (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  g_autoptr(GFile) file = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  g_autoptr(GFile) folder = g_file_get_parent (file);
  g_autoptr(GdkAppLaunchContext) context = NULL;
  g_autofree char *uri = NULL;

  if (folder == NULL || !g_file_query_exists (folder, NULL))
    {
      vm_window_toast (self, _("The folder of that export no longer exists"));
      return;
    }
  uri = g_file_get_uri (folder);
  context = gdk_display_get_app_launch_context (gtk_widget_get_display (widget));
  g_app_info_launch_default_for_uri_async (uri, G_APP_LAUNCH_CONTEXT (context), NULL,
                                           open_folder_done_cb, g_object_ref (self));
}

static void
recent_exports_changed_cb (GSettings  *settings,
                           const char *key,
                           VmWindow   *self)
{
  guint n_before = g_menu_model_get_n_items (G_MENU_MODEL (self->recent_exports_section));

  vm_recent_exports_fill_menu (settings, self->recent_exports_section, "annotation.open-export-folder");
  /* The section shows (with its title) only when there is something in it. */
  if (n_before == 0 && g_menu_model_get_n_items (G_MENU_MODEL (self->recent_exports_section)) > 0)
    g_menu_insert_section (self->primary_menu, 1, _("Recent Exports"),
                           G_MENU_MODEL (self->recent_exports_section));
  else if (n_before > 0 && g_menu_model_get_n_items (G_MENU_MODEL (self->recent_exports_section)) == 0)
    g_menu_remove (self->primary_menu, 1);
}

void
vm_window_reload_library (VmWindow *self)
{
  g_return_if_fail (VM_IS_WINDOW (self));
  reload_library (self);
}

GMenuModel *
vm_window_get_recent_exports_menu (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);
  return G_MENU_MODEL (self->recent_exports_section);
}

static void
export_to_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  const char *format = NULL, *path = NULL;

  g_variant_get (parameter, "(&s&s)", &format, &path);
  export_to (VM_WINDOW (widget), format, path);
}

typedef gboolean (*DatasetFileFunc) (VmWindow   *self,
                                     const char *format_name,
                                     const char *path);

static gboolean import_from (VmWindow   *self,
                             const char *format_name,
                             const char *path);

/* The dataset formats of the export and import dialogs. */
static const struct {
  const char *format;
  const char *label;
  gboolean    can_export;
} dataset_formats[] = {
  { "qvhighlights", N_("QVHighlights (JSON Lines)"), TRUE },
  { "activitynet", N_("ActivityNet Captions (JSON)"), TRUE },
  { "charades-sta", N_("Charades-STA (text)"), TRUE },
  { "tacos", N_("TACoS (JSON)"), TRUE },
  { "didemo", N_("DiDeMo (JSON)"), FALSE },
  { "vidmark", N_("Vidmark (lossless JSON)"), TRUE },
};

static void
dataset_chooser_response_cb (GtkNativeDialog *dialog,
                             int              response,
                             VmWindow        *self)
{
  DatasetFileFunc func = g_object_get_data (G_OBJECT (dialog), "vm-dataset-func");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      const char *format = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "format");

      if (path != NULL)
        func (self, format ? format : "qvhighlights", path);
    }
  g_object_unref (dialog);
}

/* A file chooser with a "Format" choice; on accept, @func gets the format
 * and the path.  Saving offers only the formats that can be written. */
static GtkFileChooserNative *
dataset_chooser_new (VmWindow             *self,
                     const char           *title,
                     GtkFileChooserAction  action,
                     const char           *accept_label,
                     DatasetFileFunc       func)
{
  gboolean saving = action == GTK_FILE_CHOOSER_ACTION_SAVE;
  const char *ids[G_N_ELEMENTS (dataset_formats) + 1] = { NULL };
  const char *labels[G_N_ELEMENTS (dataset_formats) + 1] = { NULL };
  GtkFileChooserNative *chooser;
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (dataset_formats); i++)
    if (!saving || dataset_formats[i].can_export)
      {
        ids[n] = dataset_formats[i].format;
        labels[n] = _(dataset_formats[i].label);
        n++;
      }

  chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, accept_label, _("_Cancel"));
  gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (chooser), "format", _("Format"), ids, labels);
  gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (chooser), "format", "qvhighlights");
  g_object_set_data (G_OBJECT (chooser), "vm-dataset-func", func);
  g_signal_connect (chooser, "response", G_CALLBACK (dataset_chooser_response_cb), self);
  return chooser;
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  g_autofree char *name = g_strdup_printf ("%s.jsonl", current_set_name (self));
  GtkFileChooserNative *chooser;

  chooser = dataset_chooser_new (self, _("Export Annotations"), GTK_FILE_CHOOSER_ACTION_SAVE,
                                 _("_Export"), export_to);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- Import ----------------------------------------------------------------- */

typedef struct {
  char            *catalog_path;
  char            *set_name;
  char            *file;
  VmImportOptions  options;
  GPtrArray       *issues;        /* VmIssue* */
  VmImportReport   report;
} ImportData;

static void
import_data_free (ImportData *data)
{
  g_free (data->catalog_path);
  g_free (data->set_name);
  g_free (data->file);
  g_clear_pointer (&data->issues, g_ptr_array_unref);
  g_free (data);
}

static void
import_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ImportData *data = task_data;
  g_autoptr(VmCatalog) catalog = NULL;
  GError *error = NULL;

  /* A connection of its own: a VmCatalog is used from one thread at a time. */
  if (!(catalog = vm_catalog_open (data->catalog_path, &error)) ||
      !vm_import_file (catalog, data->set_name, &data->options, data->file, data->issues,
                       &data->report, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
import_details_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  g_autoptr(GString) text = g_string_new (NULL);
  GtkWidget *dialog;
  guint n;

  if (self->import_issues == NULL || self->import_issues->len == 0)
    return;
  n = MIN (self->import_issues->len, 10);
  for (guint i = 0; i < n; i++)
    {
      VmIssue *issue = g_ptr_array_index (self->import_issues, i);

      g_string_append_printf (text, "%s%s: %s", i > 0 ? "\n" : "", issue->where, issue->reason);
    }
  if (self->import_issues->len > n)
    g_string_append_printf (text, "\n%s",
                            _("…and more; the command line’s import lists them all."));

  dialog = adw_message_dialog_new (GTK_WINDOW (self), NULL, text->str);
  adw_message_dialog_format_heading (ADW_MESSAGE_DIALOG (dialog),
                                     g_dngettext (GETTEXT_PACKAGE, "%u Record of “%s” Rejected",
                                                  "%u Records of “%s” Rejected",
                                                  self->import_issues->len),
                                     self->import_issues->len,
                                     self->import_file ? self->import_file : "");
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), TRUE);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
import_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(VmWindow) self = user_data;
  ImportData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *n_text = NULL;
  g_autofree char *message = NULL;
  AdwToast *toast;
  guint n_rejected;
  gboolean known = FALSE;

  busy_pop (self);
  if (self->toast_overlay == NULL)      /* the window is gone */
    return;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not import: %s"), error->message);

      vm_window_toast (self, text);
      return;
    }

  n_rejected = data->issues->len;
  g_clear_pointer (&self->import_issues, g_ptr_array_unref);
  self->import_issues = g_ptr_array_ref (data->issues);
  g_free (self->import_file);
  self->import_file = g_path_get_basename (data->file);

  /* TRANSLATORS: the first part of "Imported 3 queries, 1 rejected" */
  n_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Imported %u query", "Imported %u queries",
                                         data->report.n_imported), data->report.n_imported);
  /* TRANSLATORS: "Imported 3 queries" and the number of records rejected */
  message = g_strdup_printf (_("%s, %u rejected"), n_text, n_rejected);
  if (n_rejected == 0)
    vm_window_toast (self, message);
  else
    {
      /* With a button to the rejected records. */
      toast = adw_toast_new (message);
      adw_toast_set_timeout (toast, 10);
      adw_toast_set_button_label (toast, _("_Details"));
      adw_toast_set_action_name (toast, "annotation.import-details");
      adw_toast_overlay_add_toast (self->toast_overlay, toast);
      g_free (self->last_toast);
      self->last_toast = g_strdup (message);
    }

  /* The set may be new (it was the selected one, but it may have been
   * created by the import), and the open video's annotations reload. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->set_names)); i++)
    if (g_str_equal (gtk_string_list_get_string (self->set_names, i), data->set_name))
      known = TRUE;
  if (!known)
    gtk_string_list_append (self->set_names, data->set_name);
  load_annotations (self);
  update_actions (self);
  update_status (self);
}

static gboolean
import_from (VmWindow   *self,
             const char *format_name,
             const char *path)
{
  g_autoptr(GTask) task = NULL;
  ImportData *data;

  if (self->catalog == NULL)
    return FALSE;

  data = g_new0 (ImportData, 1);
  vm_import_options_init (&data->options);
  if (!vm_format_from_string (format_name, &data->options.format))
    {
      g_autofree char *text = g_strdup_printf (_("Unknown import format “%s”"), format_name);

      import_data_free (data);
      vm_window_toast (self, text);
      return FALSE;
    }
  data->catalog_path = g_strdup (vm_catalog_get_path (self->catalog));
  data->set_name = g_strdup (current_set_name (self));
  data->file = g_strdup (path);
  data->issues = vm_issues_new ();

  busy_push (self);
  task = g_task_new (NULL, NULL, import_done_cb, g_object_ref (self));
  g_task_set_source_tag (task, import_from);
  g_task_set_task_data (task, data, (GDestroyNotify) import_data_free);
  g_task_run_in_thread (task, import_thread);
  return TRUE;
}

static void
import_from_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  const char *format = NULL, *path = NULL;

  g_variant_get (parameter, "(&s&s)", &format, &path);
  import_from (VM_WINDOW (widget), format, path);
}

static void
import_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  g_autofree char *title = g_strdup_printf (_("Import Dataset into “%s”"), current_set_name (self));
  GtkFileChooserNative *chooser;

  chooser = dataset_chooser_new (self, title, GTK_FILE_CHOOSER_ACTION_OPEN, _("_Import"), import_from);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- Library: folders and indexing ---------------------------------------- */

static void
update_index_bar (VmWindow *self)
{
  VmIndexRunner *runner = self->runner;
  double eta = vm_index_runner_get_eta (runner);
  const char *message = vm_index_runner_get_message (runner);

  gtk_revealer_set_reveal_child (self->index_revealer, vm_index_runner_get_running (runner));
  gtk_progress_bar_set_fraction (self->index_progress, vm_index_runner_get_fraction (runner));
  gtk_label_set_label (self->index_label, message ? message : _("Indexing…"));
  if (eta >= 0)
    {
      g_autofree char *d = vm_format_duration (eta);
      g_autofree char *text = g_strdup_printf (_("%.0f%% · %s left"), vm_index_runner_get_fraction (runner) * 100, d);

      gtk_label_set_label (self->index_eta_label, text);
    }
  else
    {
      g_autofree char *text = g_strdup_printf ("%.0f%%", vm_index_runner_get_fraction (runner) * 100);

      gtk_label_set_label (self->index_eta_label, text);
    }
  update_actions (self);
}

static gboolean
index_bar_timeout_cb (gpointer user_data)
{
  VmWindow *self = user_data;

  self->index_bar_id = 0;
  self->index_bar_updated_at = g_get_monotonic_time ();
  update_index_bar (self);
  return G_SOURCE_REMOVE;
}

/* The index bar follows the worker at most every 250 ms (and at once when
 * indexing starts or stops): each change of its labels makes GTK lay out
 * the whole window again, which on X11 waits for a round trip to the X
 * server (see docs/PERFORMANCE.md, "Window"). */
static void
runner_notify_cb (VmIndexRunner *runner,
                  GParamSpec    *pspec,
                  VmWindow      *self)
{
  gint64 now = g_get_monotonic_time ();

  if (g_str_equal (pspec->name, "running") || now - self->index_bar_updated_at >= 250000)
    {
      g_clear_handle_id (&self->index_bar_id, g_source_remove);
      self->index_bar_updated_at = now;
      update_index_bar (self);
    }
  else if (self->index_bar_id == 0)
    self->index_bar_id = g_timeout_add (250 - (guint) ((now - self->index_bar_updated_at) / 1000),
                                        index_bar_timeout_cb, self);
}

static gboolean
reload_timeout_cb (gpointer user_data)
{
  VmWindow *self = user_data;

  self->reload_id = 0;
  reload_library (self);
  return G_SOURCE_REMOVE;
}

static void
runner_file_done_cb (VmIndexRunner *runner,
                     const char    *path,
                     const char    *result,
                     const char    *message,
                     VmWindow      *self)
{
  if (g_str_equal (result, "failed") && message != NULL)
    {
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *text = g_strdup_printf (_("%s: %s"), base, message);

      vm_window_toast (self, text);
    }

  /* Videos appear in the library as they are indexed (at most a reload
   * every 700 ms). */
  if (self->reload_id == 0)
    self->reload_id = g_timeout_add (700, reload_timeout_cb, self);
}

static void
runner_finished_cb (VmIndexRunner *runner,
                    int            status,
                    const GError  *error,
                    VmWindow      *self)
{
  if (error != NULL)
    vm_window_toast (self, error->message);
  else if (status == 130)
    vm_window_toast (self, _("Indexing stopped. Index again to resume."));
  else
    {
      guint failed = vm_index_runner_get_n_failed (runner);
      g_autofree char *text = failed > 0
        ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Indexing done; %u video failed",
                                        "Indexing done; %u videos failed", failed), failed)
        : g_strdup (_("Indexing done"));

      vm_window_toast (self, text);
    }
  g_clear_handle_id (&self->reload_id, g_source_remove);
  g_clear_handle_id (&self->index_bar_id, g_source_remove);
  reload_library (self);
  /* A model installed since the window opened: search with it from now on
   * (this indexing run already embedded with it). */
  if (!self->has_model && find_model ())
    update_model_state (self);
  busy_pop (self);
}

static void
start_indexing (VmWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);

  if (self->runner == NULL || vm_index_runner_get_running (self->runner))
    return;

  if (self->settings != NULL)
    {
      g_autofree char *mode = g_settings_get_string (self->settings, "sample-mode");

      g_ptr_array_add (args, g_strdup_printf ("--mode=%s", mode));
      g_ptr_array_add (args, g_strdup_printf ("--rate=%g", g_settings_get_double (self->settings, "sample-rate")));
    }
  g_ptr_array_add (args, NULL);

  if (!vm_index_runner_start (self->runner, (const char * const *) args->pdata, &error))
    {
      report_error (self, error);
      return;
    }
  busy_push (self);
}

static void
index_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  start_indexing (VM_WINDOW (widget));
}

static void
cancel_index_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);

  if (self->runner != NULL)
    vm_index_runner_cancel (self->runner);
}

static gboolean
add_folder (VmWindow   *self,
            const char *path)
{
  g_autoptr(GError) error = NULL;

  if (self->catalog == NULL)
    return FALSE;
  if (!vm_catalog_add_folder (self->catalog, path, NULL, &error))
    {
      report_error (self, error);
      return FALSE;
    }
  if (self->settings != NULL)
    {
      g_auto(GStrv) folders = g_settings_get_strv (self->settings, "library-folders");

      if (!g_strv_contains ((const char * const *) folders, path))
        {
          g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
          g_auto(GStrv) updated = NULL;

          g_strv_builder_addv (b, (const char **) folders);
          g_strv_builder_add (b, path);
          updated = g_strv_builder_end (b);
          g_settings_set_strv (self->settings, "library-folders", (const char * const *) updated);
        }
    }
  reload_library (self);
  start_indexing (self);
  return TRUE;
}

static void
add_folder_response_cb (GtkNativeDialog *dialog,
                        int              response,
                        VmWindow        *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        add_folder (self, path);
    }
  g_object_unref (dialog);
}

static void
add_folder_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  GtkFileChooserNative *chooser;

  if (parameter != NULL)
    {
      add_folder (self, g_variant_get_string (parameter, NULL));
      return;
    }
  chooser = gtk_file_chooser_native_new (_("Add Folder"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Add"), _("_Cancel"));
  g_signal_connect (chooser, "response", G_CALLBACK (add_folder_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Back: from the player to the results when they are folded, else from
 * the content to the library. */
static void
show_library_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);

  if (adw_leaflet_get_folded (self->content_leaflet) &&
      adw_leaflet_get_visible_child (self->content_leaflet) == self->player_pane)
    adw_leaflet_navigate (self->content_leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  else
    adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
folding_changed_cb (GObject    *object,
                    GParamSpec *pspec,
                    VmWindow   *self)
{
  gboolean inner_back;

  if (self->leaflet == NULL || self->content_leaflet == NULL || self->back_button == NULL)
    return;
  inner_back = adw_leaflet_get_folded (self->content_leaflet) &&
                        adw_leaflet_get_visible_child (self->content_leaflet) == self->player_pane;

  gtk_widget_set_visible (self->back_button, adw_leaflet_get_folded (self->leaflet) || inner_back);
}

static void
focus_search_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
  adw_leaflet_set_visible_child (self->content_leaflet, GTK_WIDGET (self->results_stack));
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
dismiss_banner_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  gtk_revealer_set_reveal_child (VM_WINDOW (widget)->model_banner, FALSE);
}

/* ---- Player and time line shortcuts ---------------------------------------- */

static void
video_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  VmWindow *self = VM_WINDOW (widget);
  VmPlayback *playback = vm_player_get_playback (self->player);

  if (g_str_equal (action_name, "video.play-pause"))
    vm_playback_toggle (playback);
  else if (g_str_equal (action_name, "video.step"))
    vm_playback_step (playback, g_variant_get_int32 (parameter));
  else if (g_str_equal (action_name, "video.faster"))
    vm_player_faster (self->player);
  else if (g_str_equal (action_name, "video.slower"))
    vm_player_slower (self->player);
  else if (g_str_equal (action_name, "video.mute"))
    vm_player_toggle_mute (self->player);
  else if (g_str_equal (action_name, "video.loop"))
    vm_player_toggle_loop (self->player);
  else if (g_str_equal (action_name, "timeline.zoom-in"))
    vm_timeline_zoom_in (self->timeline);
  else if (g_str_equal (action_name, "timeline.zoom-out"))
    vm_timeline_zoom_out (self->timeline);
}

static void
playback_position_cb (VmPlayback *playback,
                      GParamSpec *pspec,
                      VmWindow   *self)
{
  vm_timeline_set_position (self->timeline, vm_playback_get_position (playback));
}

static void
playback_duration_cb (VmPlayback *playback,
                      GParamSpec *pspec,
                      VmWindow   *self)
{
  vm_timeline_set_duration (self->timeline, MAX (vm_playback_get_duration (playback), 0));
}

static void
playback_sample_cb (VmPlayback *playback,
                    GstSample  *sample,
                    VmWindow   *self)
{
  vm_timeline_set_frame_duration (self->timeline, vm_playback_get_frame_duration (playback));
}

static void
playback_error_cb (VmPlayback   *playback,
                   const GError *error,
                   VmWindow     *self)
{
  vm_window_toast (self, error->message);
}

static void
update_actions (VmWindow *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  gboolean has_video = self->stack != NULL;
  gboolean has_segment = selected_segment (self) != NULL;
  gboolean running = self->runner != NULL && vm_index_runner_get_running (self->runner);

  gtk_widget_action_set_enabled (w, "annotation.mark-in", has_video);
  gtk_widget_action_set_enabled (w, "annotation.mark-out", has_video);
  gtk_widget_action_set_enabled (w, "annotation.add-from-result", has_video && self->moment != NULL);
  gtk_widget_action_set_enabled (w, "annotation.delete", has_segment);
  gtk_widget_action_set_enabled (w, "annotation.nudge-frame", has_segment);
  gtk_widget_action_set_enabled (w, "annotation.nudge-second", has_segment);
  gtk_widget_action_set_enabled (w, "annotation.saliency", has_video);
  gtk_widget_action_set_enabled (w, "annotation.undo", has_video && vm_annotation_stack_can_undo (self->stack));
  gtk_widget_action_set_enabled (w, "annotation.redo", has_video && vm_annotation_stack_can_redo (self->stack));
  gtk_widget_action_set_enabled (w, "library.index", self->catalog != NULL && !running);
  gtk_widget_action_set_enabled (w, "library.cancel-index", running);
  gtk_widget_action_set_enabled (w, "library.add-folder", self->catalog != NULL);
  gtk_widget_action_set_enabled (w, "annotation.import", self->catalog != NULL);
  gtk_widget_action_set_enabled (w, "annotation.import-from", self->catalog != NULL);
}

/* ---- Object ------------------------------------------------------------------ */

static gboolean
find_model (void)
{
  g_autofree char *dir = vm_paths_models_dir ();
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *config = g_build_filename (dir, name, "config.json", NULL);

      if (g_file_test (config, G_FILE_TEST_EXISTS))
        return TRUE;
    }
  return FALSE;
}

/* A new hybrid search session (model and GPU from the preferences); the old
 * one ends when its running work does. */
static void
reset_search_session (VmWindow *self)
{
  g_autofree char *model = self->settings ? g_settings_get_string (self->settings, "default-model") : NULL;
  g_autofree char *device = self->settings ? g_settings_get_string (self->settings, "gpu-device") : NULL;

  g_clear_pointer (&self->session, vm_search_session_unref);
  self->session = vm_search_session_new (model, device);
  self->search_func = vm_search_session_search;
  self->search_data = self->session;
}

/* Whether a model is installed now: the banner, and the search session
 * with the default model.  Returns TRUE when the first model arrived. */
static gboolean
update_model_state (VmWindow *self)
{
  gboolean had_model = self->has_model;

  self->has_model = find_model ();
  gtk_revealer_set_reveal_child (self->model_banner, !self->has_model && self->catalog != NULL);
  if (self->search_func == vm_search_session_search)
    reset_search_session (self);
  return !had_model && self->has_model;
}

void
vm_window_models_changed (VmWindow *self)
{
  g_return_if_fail (VM_IS_WINDOW (self));

  /* The frames indexed so far have no embeddings of the new model. */
  if (update_model_state (self) && self->catalog != NULL)
    {
      AdwToast *toast = adw_toast_new (_("Search model installed: index the library to search what is seen"));

      adw_toast_set_button_label (toast, _("_Index"));
      adw_toast_set_action_name (toast, "library.index");
      adw_toast_set_timeout (toast, 0);
      add_toast (self, toast);
    }
}

static void
search_settings_changed_cb (VmWindow *self)
{
  if (self->search_func == vm_search_session_search)
    reset_search_session (self);
}

static void
vm_window_constructed (GObject *object)
{
  VmWindow *self = VM_WINDOW (object);
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (vm_window_parent_class)->constructed (object);

  if (self->catalog_path == NULL)
    self->catalog_path = vm_paths_default_catalog ();

  self->catalog = vm_catalog_open (self->catalog_path, &error);
  if (self->catalog == NULL)
    {
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->main_stack, "error");
    }
  else
    {
      self->runner = vm_index_runner_new (NULL, self->catalog_path);
      g_signal_connect_object (self->runner, "notify", G_CALLBACK (runner_notify_cb), self, 0);
      g_signal_connect_object (self->runner, "file-done", G_CALLBACK (runner_file_done_cb), self, 0);
      g_signal_connect_object (self->runner, "finished", G_CALLBACK (runner_finished_cb), self, 0);
      reload_library (self);

      /* The annotation sets of the catalog, "default" first. */
      {
        g_autoptr(GPtrArray) sets = vm_catalog_list_annotation_sets (self->catalog, NULL);

        for (guint i = 0; sets != NULL && i < sets->len; i++)
          {
            VmAnnotationSet *set = g_ptr_array_index (sets, i);

            if (!g_str_equal (set->name, DEFAULT_SET_NAME))
              gtk_string_list_append (self->set_names, set->name);
          }
      }
    }

  self->has_model = find_model ();
  gtk_revealer_set_reveal_child (self->model_banner, !self->has_model && self->catalog != NULL);

  if (self->settings != NULL)
    {
      g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
    }

  update_actions (self);
  update_status (self);
}

static void
vm_window_dispose (GObject *object)
{
  VmWindow *self = VM_WINDOW (object);

  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_cancellable_cancel (self->library_cancellable);
  g_clear_object (&self->library_cancellable);
  g_clear_handle_id (&self->reload_id, g_source_remove);
  g_clear_handle_id (&self->index_bar_id, g_source_remove);
  g_clear_handle_id (&self->pending_library_id, g_source_remove);
  if (self->frame_clock_handler != 0)
    g_clear_signal_handler (&self->frame_clock_handler, self->frame_clock);
  g_clear_object (&self->frame_clock);
  if (self->pending_library != NULL)
    {
      g_clear_pointer (&self->pending_library, g_ptr_array_unref);
      busy_pop (self);
    }
  if (self->stack != NULL)
    g_signal_handlers_disconnect_by_data (self->stack, self);
  g_clear_object (&self->stack);
  if (self->runner != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->runner, self);
      vm_index_runner_cancel (self->runner);
    }
  g_clear_object (&self->runner);
  if (self->player != NULL)
    g_signal_handlers_disconnect_by_data (vm_player_get_playback (self->player), self);
  if (self->leaflet != NULL)
    g_signal_handlers_disconnect_by_data (self->leaflet, self);
  if (self->content_leaflet != NULL)
    g_signal_handlers_disconnect_by_data (self->content_leaflet, self);

  gtk_widget_dispose_template (GTK_WIDGET (self), VM_TYPE_WINDOW);

  g_clear_pointer (&self->session, vm_search_session_unref);
  g_clear_pointer (&self->notice, g_free);
  g_clear_object (&self->moment);
  g_clear_object (&self->results_selection);
  g_clear_object (&self->results);
  g_clear_object (&self->library);
  g_clear_object (&self->settings);
  g_clear_object (&self->recent_exports_section);
  g_clear_object (&self->catalog);

  G_OBJECT_CLASS (vm_window_parent_class)->dispose (object);
}

static void
vm_window_finalize (GObject *object)
{
  VmWindow *self = VM_WINDOW (object);

  g_free (self->catalog_path);
  g_free (self->query);
  g_free (self->video_path);
  g_free (self->video_fingerprint);
  g_free (self->last_toast);
  g_free (self->import_file);
  g_clear_pointer (&self->import_issues, g_ptr_array_unref);

  G_OBJECT_CLASS (vm_window_parent_class)->finalize (object);
}

static void
vm_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  VmWindow *self = VM_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CATALOG_PATH:
      g_value_set_string (value, self->catalog_path);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->n_busy > 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  VmWindow *self = VM_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CATALOG_PATH:
      self->catalog_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_window_class_init (VmWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = vm_window_constructed;
  object_class->dispose = vm_window_dispose;
  object_class->finalize = vm_window_finalize;
  object_class->get_property = vm_window_get_property;
  object_class->set_property = vm_window_set_property;

  properties[PROP_CATALOG_PATH] =
    g_param_spec_string ("catalog-path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (VM_TYPE_PLAYER);
  g_type_ensure (VM_TYPE_TIMELINE);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/vidmark/Vidmark/vm-window.ui");
  gtk_widget_class_bind_template_child (widget_class, VmWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, content_leaflet);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, player_pane);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, content);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, library_view);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, index_revealer);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, index_label);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, index_progress);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, index_eta_label);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, model_banner);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, results_stack);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, results_view);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, no_results_page);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, player);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, timeline);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, set_dropdown);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, set_names);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, label_entry);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, VmWindow, primary_menu);

  gtk_widget_class_install_action (widget_class, "library.add-folder", NULL, add_folder_action);
  gtk_widget_class_install_action (widget_class, "library.add-folder-path", "s", add_folder_action);
  gtk_widget_class_install_action (widget_class, "library.index", NULL, index_action);
  gtk_widget_class_install_action (widget_class, "library.cancel-index", NULL, cancel_index_action);
  gtk_widget_class_install_action (widget_class, "library.show", NULL, show_library_action);
  gtk_widget_class_install_action (widget_class, "search.focus", NULL, focus_search_action);
  gtk_widget_class_install_action (widget_class, "search.dismiss-banner", NULL, dismiss_banner_action);
  gtk_widget_class_install_action (widget_class, "video.play-pause", NULL, video_action);
  gtk_widget_class_install_action (widget_class, "video.step", "i", video_action);
  gtk_widget_class_install_action (widget_class, "video.faster", NULL, video_action);
  gtk_widget_class_install_action (widget_class, "video.slower", NULL, video_action);
  gtk_widget_class_install_action (widget_class, "video.mute", NULL, video_action);
  gtk_widget_class_install_action (widget_class, "video.loop", NULL, video_action);
  gtk_widget_class_install_action (widget_class, "timeline.zoom-in", NULL, video_action);
  gtk_widget_class_install_action (widget_class, "timeline.zoom-out", NULL, video_action);
  gtk_widget_class_install_action (widget_class, "annotation.mark-in", NULL, mark_in_action);
  gtk_widget_class_install_action (widget_class, "annotation.mark-out", NULL, mark_out_action);
  gtk_widget_class_install_action (widget_class, "annotation.add-from-result", NULL, add_from_result_action);
  gtk_widget_class_install_action (widget_class, "annotation.delete", NULL, delete_action);
  gtk_widget_class_install_action (widget_class, "annotation.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "annotation.redo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "annotation.nudge-frame", "i", nudge_frame_action);
  gtk_widget_class_install_action (widget_class, "annotation.nudge-second", "i", nudge_second_action);
  gtk_widget_class_install_action (widget_class, "annotation.saliency", "i", saliency_action);
  gtk_widget_class_install_action (widget_class, "annotation.new-set", NULL, new_set_action);
  gtk_widget_class_install_action (widget_class, "annotation.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "annotation.export-to", "(ss)", export_to_action);
  gtk_widget_class_install_action (widget_class, "annotation.open-export-folder", "s", open_export_folder_action);
  gtk_widget_class_install_action (widget_class, "annotation.import", NULL, import_action);
  gtk_widget_class_install_action (widget_class, "annotation.import-from", "(ss)", import_from_action);
  gtk_widget_class_install_action (widget_class, "annotation.import-details", NULL, import_details_action);

#define BIND(key, mods, action, ...) \
  gtk_widget_class_add_binding_action (widget_class, key, mods, action, __VA_ARGS__)
  BIND (GDK_KEY_f, GDK_CONTROL_MASK, "search.focus", NULL);
  BIND (GDK_KEY_o, GDK_CONTROL_MASK, "library.add-folder", NULL);
  BIND (GDK_KEY_space, 0, "video.play-pause", NULL);
  BIND (GDK_KEY_period, 0, "video.step", "i", 1);
  BIND (GDK_KEY_comma, 0, "video.step", "i", -1);
  BIND (GDK_KEY_bracketright, 0, "video.faster", NULL);
  BIND (GDK_KEY_bracketleft, 0, "video.slower", NULL);
  BIND (GDK_KEY_m, 0, "video.mute", NULL);
  BIND (GDK_KEY_l, 0, "video.loop", NULL);
  BIND (GDK_KEY_plus, 0, "timeline.zoom-in", NULL);
  BIND (GDK_KEY_equal, 0, "timeline.zoom-in", NULL);
  BIND (GDK_KEY_KP_Add, 0, "timeline.zoom-in", NULL);
  BIND (GDK_KEY_minus, 0, "timeline.zoom-out", NULL);
  BIND (GDK_KEY_KP_Subtract, 0, "timeline.zoom-out", NULL);
  BIND (GDK_KEY_i, 0, "annotation.mark-in", NULL);
  BIND (GDK_KEY_o, 0, "annotation.mark-out", NULL);
  BIND (GDK_KEY_Return, GDK_CONTROL_MASK, "annotation.add-from-result", NULL);
  BIND (GDK_KEY_Delete, 0, "annotation.delete", NULL);
  BIND (GDK_KEY_z, GDK_CONTROL_MASK, "annotation.undo", NULL);
  BIND (GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "annotation.redo", NULL);
  BIND (GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "annotation.redo", NULL);
  BIND (GDK_KEY_Left, GDK_ALT_MASK, "annotation.nudge-frame", "i", -1);
  BIND (GDK_KEY_Right, GDK_ALT_MASK, "annotation.nudge-frame", "i", 1);
  BIND (GDK_KEY_Left, GDK_ALT_MASK | GDK_SHIFT_MASK, "annotation.nudge-second", "i", -1);
  BIND (GDK_KEY_Right, GDK_ALT_MASK | GDK_SHIFT_MASK, "annotation.nudge-second", "i", 1);
  for (int score = 0; score <= 4; score++)
    {
      BIND (GDK_KEY_0 + score, 0, "annotation.saliency", "i", score);
      BIND (GDK_KEY_KP_0 + score, 0, "annotation.saliency", "i", score);
    }
  BIND (GDK_KEY_BackSpace, 0, "annotation.saliency", "i", -1);
  BIND (GDK_KEY_e, GDK_CONTROL_MASK, "annotation.export", NULL);
  BIND (GDK_KEY_i, GDK_CONTROL_MASK, "annotation.import", NULL);
#undef BIND
}

static void
vm_window_init (VmWindow *self)
{
  GtkListItemFactory *factory;
  g_autoptr(GSettingsSchema) schema = NULL;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();

  gtk_widget_init_template (GTK_WIDGET (self));

  self->mark_in = -1;
  self->active_edge = EDGE_END;

  /* GtkWindow binds Space to "activate the focus widget" before any binding
   * of ours; below the window, Space plays and pauses (text fields and
   * buttons still take it first). */
  {
    GtkEventController *shortcuts = gtk_shortcut_controller_new ();

    gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                          gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_space, 0),
                                                            gtk_named_action_new ("video.play-pause")));
    gtk_widget_add_controller (GTK_WIDGET (self->toast_overlay), shortcuts);
  }
  if (source != NULL && (schema = g_settings_schema_source_lookup (source, APP_ID, TRUE)) != NULL)
    self->settings = g_settings_new (APP_ID);

  reset_search_session (self);
  if (self->settings != NULL)
    {
      g_signal_connect_object (self->settings, "changed::default-model",
                               G_CALLBACK (search_settings_changed_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->settings, "changed::gpu-device",
                               G_CALLBACK (search_settings_changed_cb), self, G_CONNECT_SWAPPED);
    }

  /* "Recent Exports" in the main menu, kept in step with the setting. */
  self->recent_exports_section = g_menu_new ();
  if (self->settings != NULL)
    {
      g_signal_connect_object (self->settings, "changed::recent-exports",
                               G_CALLBACK (recent_exports_changed_cb), self, 0);
      recent_exports_changed_cb (self->settings, "recent-exports", self);
    }

  self->library = g_list_store_new (VM_TYPE_LIBRARY_ITEM);
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (library_setup_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (library_bind_cb), self);
  gtk_list_view_set_factory (self->library_view, factory);
  g_object_unref (factory);
  {
    GtkSingleSelection *sel = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->library)));

    gtk_single_selection_set_autoselect (sel, FALSE);
    gtk_single_selection_set_can_unselect (sel, TRUE);
    gtk_list_view_set_model (self->library_view, GTK_SELECTION_MODEL (sel));
    g_object_unref (sel);
  }
  g_signal_connect (self->library_view, "activate", G_CALLBACK (library_activate_cb), self);

  self->results = g_list_store_new (VM_TYPE_MOMENT_ITEM);
  self->results_selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->results)));
  gtk_single_selection_set_autoselect (self->results_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->results_selection, TRUE);
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (result_setup_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (result_bind_cb), self);
  gtk_list_view_set_factory (self->results_view, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->results_view, GTK_SELECTION_MODEL (self->results_selection));
  g_signal_connect (self->results_view, "activate", G_CALLBACK (result_activate_cb), self);

  /* Search as the person types, once they pause for 150 ms; each search
   * cancels the one before (vm_window_search). */
  gtk_search_entry_set_search_delay (self->search_entry, 150);
  g_signal_connect (self->search_entry, "search-changed", G_CALLBACK (search_changed_cb), self);
  g_signal_connect (self->search_entry, "activate", G_CALLBACK (search_activate_cb), self);
  g_signal_connect (self->search_entry, "stop-search", G_CALLBACK (stop_search_cb), self);
  gtk_search_entry_set_key_capture_widget (self->search_entry, NULL);

  gtk_string_list_append (self->set_names, DEFAULT_SET_NAME);
  gtk_drop_down_set_selected (self->set_dropdown, 0);
  g_signal_connect (self->set_dropdown, "notify::selected", G_CALLBACK (set_selected_cb), self);
  g_signal_connect (self->label_entry, "activate", G_CALLBACK (label_activate_cb), self);

  g_signal_connect (self->leaflet, "notify::folded", G_CALLBACK (folding_changed_cb), self);
  g_signal_connect (self->content_leaflet, "notify::folded", G_CALLBACK (folding_changed_cb), self);
  g_signal_connect (self->content_leaflet, "notify::visible-child", G_CALLBACK (folding_changed_cb), self);

  g_signal_connect (self->timeline, "seek", G_CALLBACK (timeline_seek_cb), self);
  g_signal_connect (self->timeline, "segment-selected", G_CALLBACK (timeline_selected_cb), self);
  g_signal_connect (self->timeline, "segment-changed", G_CALLBACK (timeline_segment_changed_cb), self);

  {
    VmPlayback *playback = vm_player_get_playback (self->player);

    g_signal_connect_object (playback, "notify::position", G_CALLBACK (playback_position_cb), self, 0);
    g_signal_connect_object (playback, "notify::duration", G_CALLBACK (playback_duration_cb), self, 0);
    g_signal_connect_object (playback, "new-sample", G_CALLBACK (playback_sample_cb), self, 0);
    g_signal_connect_object (playback, "error", G_CALLBACK (playback_error_cb), self, 0);
  }
}

VmWindow *
vm_window_new (GtkApplication *application,
               const char     *catalog_path)
{
  return g_object_new (VM_TYPE_WINDOW,
                       "application", application,
                       "catalog-path", catalog_path,
                       NULL);
}

const char *
vm_window_get_catalog_path (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);
  return self->catalog_path;
}

void
vm_window_set_search_func (VmWindow     *self,
                           VmSearchFunc  func,
                           gpointer      user_data)
{
  g_return_if_fail (VM_IS_WINDOW (self));
  if (func == NULL)
    {
      reset_search_session (self);
      return;
    }
  self->search_func = func;
  self->search_data = user_data;
}

GListModel *
vm_window_get_results (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->results);
}

GListModel *
vm_window_get_library (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->library);
}

const char *
vm_window_get_page (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->main_stack);
}

const char *
vm_window_get_results_page (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->results_stack);
}

VmAnnotationStack *
vm_window_get_annotations (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), NULL);
  return self->stack;
}

gboolean
vm_window_get_busy (VmWindow *self)
{
  g_return_val_if_fail (VM_IS_WINDOW (self), FALSE);
  return self->n_busy > 0;
}
