/* vm-player.c — the player pane.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "core/vm-util.h"
#include "widgets/vm-player.h"
#include "widgets/vm-video-paintable.h"

static const double speeds[] = { 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0 };
#define NORMAL_SPEED 3

struct _VmPlayer
{
  GtkWidget         parent_instance;

  GtkWidget        *picture;
  GtkWidget        *placeholder;
  GtkWidget        *play_button;
  GtkWidget        *time_label;
  GtkWidget        *duration_label;
  GtkWidget        *seek_scale;
  GtkAdjustment    *seek_adjustment;
  GtkWidget        *speed_dropdown;
  GtkWidget        *loop_button;
  GtkWidget        *mute_button;
  GtkAdjustment    *volume_adjustment;

  VmPlayback       *playback;
  VmVideoPaintable *paintable;
  gboolean          dragging;
  gboolean          updating;
  gint64            range_start;
  gint64            range_end;
};

G_DEFINE_FINAL_TYPE (VmPlayer, vm_player, GTK_TYPE_WIDGET)

static void
update_loop (VmPlayer *self)
{
  gboolean loop = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->loop_button));

  if (loop && self->range_end > self->range_start)
    vm_playback_set_loop (self->playback, self->range_start, self->range_end);
  else
    vm_playback_set_loop (self->playback, -1, -1);
}

static void
path_cb (VmPlayback *playback,
         GParamSpec *pspec,
         VmPlayer   *self)
{
  gtk_widget_set_visible (self->placeholder, vm_playback_get_path (playback) == NULL);
}

static void
position_cb (VmPlayback *playback,
             GParamSpec *pspec,
             VmPlayer   *self)
{
  gint64 pos = vm_playback_get_position (playback);
  g_autofree char *text = vm_format_timestamp (MAX (pos, 0));

  gtk_label_set_label (GTK_LABEL (self->time_label), text);
  if (!self->dragging)
    {
      self->updating = TRUE;
      gtk_adjustment_set_value (self->seek_adjustment, MAX (pos, 0) / 1e9);
      self->updating = FALSE;
    }
}

static void
duration_cb (VmPlayback *playback,
             GParamSpec *pspec,
             VmPlayer   *self)
{
  gint64 dur = vm_playback_get_duration (playback);
  g_autofree char *stamp = vm_format_timestamp (MAX (dur, 0));
  g_autofree char *text = g_strdup_printf ("/ %s", stamp);

  gtk_label_set_label (GTK_LABEL (self->duration_label), text);
  self->updating = TRUE;
  gtk_adjustment_set_upper (self->seek_adjustment, dur > 0 ? dur / 1e9 : 1);
  self->updating = FALSE;
}

static void
playing_cb (VmPlayback *playback,
            GParamSpec *pspec,
            VmPlayer   *self)
{
  gboolean playing = vm_playback_get_playing (playback);

  gtk_button_set_icon_name (GTK_BUTTON (self->play_button),
                            playing ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
  gtk_widget_set_tooltip_text (self->play_button, playing ? _("Pause (Space)") : _("Play (Space)"));
}

static void
muted_cb (VmPlayback *playback,
          GParamSpec *pspec,
          VmPlayer   *self)
{
  gboolean muted = vm_playback_get_muted (playback);

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->mute_button), muted);
  gtk_button_set_icon_name (GTK_BUTTON (self->mute_button),
                            muted ? "audio-volume-muted-symbolic" : "audio-volume-high-symbolic");
}

static void
rate_cb (VmPlayback *playback,
         GParamSpec *pspec,
         VmPlayer   *self)
{
  double rate = vm_playback_get_rate (playback);
  guint best = NORMAL_SPEED;

  for (guint i = 0; i < G_N_ELEMENTS (speeds); i++)
    if (fabs (speeds[i] - rate) < fabs (speeds[best] - rate))
      best = i;
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->speed_dropdown), best);
}

static gboolean
seek_change_value_cb (GtkRange      *range,
                      GtkScrollType  scroll,
                      double         value,
                      VmPlayer      *self)
{
  /* A drag gives fast seeks; a key press or click jumps accurately. */
  if (scroll == GTK_SCROLL_JUMP)
    {
      self->dragging = TRUE;
      vm_playback_seek (self->playback, (gint64) (value * 1e9), FALSE);
    }
  else
    vm_playback_seek (self->playback, (gint64) (value * 1e9), TRUE);
  return FALSE;
}

static gboolean
seek_event_cb (GtkEventControllerLegacy *controller,
               GdkEvent                 *event,
               VmPlayer                 *self)
{
  GdkEventType type = gdk_event_get_event_type (event);

  if ((type == GDK_BUTTON_RELEASE || type == GDK_TOUCH_END) && self->dragging)
    {
      self->dragging = FALSE;
      vm_playback_seek (self->playback, (gint64) (gtk_adjustment_get_value (self->seek_adjustment) * 1e9),
                        TRUE);
    }
  return FALSE;
}

static void
speed_selected_cb (GtkDropDown *dropdown,
                   GParamSpec  *pspec,
                   VmPlayer    *self)
{
  guint i = gtk_drop_down_get_selected (dropdown);

  if (i < G_N_ELEMENTS (speeds))
    vm_playback_set_rate (self->playback, speeds[i]);
}

static void
loop_toggled_cb (GtkToggleButton *button,
                 VmPlayer        *self)
{
  update_loop (self);
}

static void
mute_toggled_cb (GtkToggleButton *button,
                 VmPlayer        *self)
{
  vm_playback_set_muted (self->playback, gtk_toggle_button_get_active (button));
}

static void
volume_changed_cb (GtkAdjustment *adjustment,
                   VmPlayer      *self)
{
  vm_playback_set_volume (self->playback, gtk_adjustment_get_value (adjustment));
}

static void
play_pause_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  vm_playback_toggle (VM_PLAYER (widget)->playback);
}

static void
step_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  vm_playback_step (VM_PLAYER (widget)->playback,
                    g_str_equal (action_name, "player.step-forward") ? 1 : -1);
}

static void
vm_player_dispose (GObject *object)
{
  VmPlayer *self = VM_PLAYER (object);

  if (self->playback != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->playback, self);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), VM_TYPE_PLAYER);
  {
    GtkWidget *child;

    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
      gtk_widget_unparent (child);
  }
  g_clear_object (&self->paintable);
  g_clear_object (&self->playback);

  G_OBJECT_CLASS (vm_player_parent_class)->dispose (object);
}

static void
vm_player_class_init (VmPlayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vm_player_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/vidmark/Vidmark/vm-player.ui");
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, picture);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, placeholder);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, play_button);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, time_label);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, duration_label);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, seek_scale);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, seek_adjustment);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, speed_dropdown);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, loop_button);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, mute_button);
  gtk_widget_class_bind_template_child (widget_class, VmPlayer, volume_adjustment);

  gtk_widget_class_install_action (widget_class, "player.play-pause", NULL, play_pause_action);
  gtk_widget_class_install_action (widget_class, "player.step-forward", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "player.step-back", NULL, step_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "vmplayer");
}

static void
vm_player_init (VmPlayer *self)
{
  GtkEventController *legacy;

  gtk_widget_init_template (GTK_WIDGET (self));
  /* Holds the focus after a result is opened, so that the window's single
   * key shortcuts (Space, I, O, …) reach the window, not the search entry. */
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);

  self->range_start = self->range_end = -1;
  self->playback = vm_playback_new ();
  self->paintable = vm_video_paintable_new (self->playback);
  gtk_picture_set_paintable (GTK_PICTURE (self->picture), GDK_PAINTABLE (self->paintable));

  g_signal_connect (self->playback, "notify::path", G_CALLBACK (path_cb), self);
  g_signal_connect (self->playback, "notify::position", G_CALLBACK (position_cb), self);
  g_signal_connect (self->playback, "notify::duration", G_CALLBACK (duration_cb), self);
  g_signal_connect (self->playback, "notify::playing", G_CALLBACK (playing_cb), self);
  g_signal_connect (self->playback, "notify::muted", G_CALLBACK (muted_cb), self);
  g_signal_connect (self->playback, "notify::rate", G_CALLBACK (rate_cb), self);

  g_signal_connect (self->seek_scale, "change-value", G_CALLBACK (seek_change_value_cb), self);
  legacy = gtk_event_controller_legacy_new ();
  gtk_event_controller_set_propagation_phase (legacy, GTK_PHASE_CAPTURE);
  g_signal_connect (legacy, "event", G_CALLBACK (seek_event_cb), self);
  gtk_widget_add_controller (self->seek_scale, legacy);

  g_signal_connect (self->speed_dropdown, "notify::selected", G_CALLBACK (speed_selected_cb), self);
  g_signal_connect (self->loop_button, "toggled", G_CALLBACK (loop_toggled_cb), self);
  g_signal_connect (self->mute_button, "toggled", G_CALLBACK (mute_toggled_cb), self);
  g_signal_connect (self->volume_adjustment, "value-changed", G_CALLBACK (volume_changed_cb), self);
}

GtkWidget *
vm_player_new (void)
{
  return g_object_new (VM_TYPE_PLAYER, NULL);
}

VmPlayback *
vm_player_get_playback (VmPlayer *self)
{
  g_return_val_if_fail (VM_IS_PLAYER (self), NULL);
  return self->playback;
}

void
vm_player_play_range (VmPlayer   *self,
                      const char *path,
                      gint64      start_ns,
                      gint64      end_ns,
                      gboolean    play)
{
  g_return_if_fail (VM_IS_PLAYER (self));
  g_return_if_fail (path != NULL);

  if (g_strcmp0 (vm_playback_get_path (self->playback), path) != 0)
    vm_playback_open (self->playback, path);
  self->range_start = start_ns;
  self->range_end = end_ns;
  update_loop (self);
  vm_playback_seek (self->playback, MAX (start_ns, 0), TRUE);
  if (play)
    vm_playback_play (self->playback);
}

void
vm_player_faster (VmPlayer *self)
{
  guint i = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->speed_dropdown));

  if (i + 1 < G_N_ELEMENTS (speeds))
    gtk_drop_down_set_selected (GTK_DROP_DOWN (self->speed_dropdown), i + 1);
}

void
vm_player_slower (VmPlayer *self)
{
  guint i = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->speed_dropdown));

  if (i > 0 && i < G_N_ELEMENTS (speeds))
    gtk_drop_down_set_selected (GTK_DROP_DOWN (self->speed_dropdown), i - 1);
}

void
vm_player_toggle_loop (VmPlayer *self)
{
  GtkToggleButton *b = GTK_TOGGLE_BUTTON (self->loop_button);

  gtk_toggle_button_set_active (b, !gtk_toggle_button_get_active (b));
}

void
vm_player_toggle_mute (VmPlayer *self)
{
  vm_playback_set_muted (self->playback, !vm_playback_get_muted (self->playback));
}
