/* vm-player.h — the player pane: the video, play/pause, a seek bar (fast
 * seeks while dragging, an accurate one on release), frame steps, speed,
 * loop, volume and mute.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "widgets/vm-playback.h"

G_BEGIN_DECLS

#define VM_TYPE_PLAYER (vm_player_get_type ())
G_DECLARE_FINAL_TYPE (VmPlayer, vm_player, VM, PLAYER, GtkWidget)

GtkWidget  *vm_player_new            (void);
VmPlayback *vm_player_get_playback   (VmPlayer   *self);

/* Opens @path when it is not the open file, seeks to @start_ns and plays;
 * with @end_ns > @start_ns that range is the one looped by "loop". */
void        vm_player_play_range     (VmPlayer   *self,
                                      const char *path,
                                      gint64      start_ns,
                                      gint64      end_ns,
                                      gboolean    play);
/* Speeds offered, from slowest to fastest; [ and ] move between them. */
void        vm_player_faster         (VmPlayer   *self);
void        vm_player_slower         (VmPlayer   *self);
void        vm_player_toggle_loop    (VmPlayer   *self);
void        vm_player_toggle_mute    (VmPlayer   *self);

G_END_DECLS
