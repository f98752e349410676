/* vm-playback.h — video playback on GStreamer's playbin, with no GTK: decoded
 * frames are RGBA GstSamples handed to the main thread through ::new-sample
 * (at most one pending at any time; a newer frame replaces an older one that
 * was not yet taken).  State (position, duration, playing) is notified on the
 * main thread only, and only on change.
 *
 * Seeks: fast (key unit, snapped) while scrubbing, accurate otherwise; a seek
 * asked before the pipeline prerolled is kept and done once it has.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define VM_PLAYBACK_MIN_RATE 0.1
#define VM_PLAYBACK_MAX_RATE 4.0

#define VM_TYPE_PLAYBACK (vm_playback_get_type ())
G_DECLARE_FINAL_TYPE (VmPlayback, vm_playback, VM, PLAYBACK, GObject)

VmPlayback *vm_playback_new            (void);

/* Opens @path (NULL closes) and prerolls its first frame, paused. */
void        vm_playback_open           (VmPlayback  *self,
                                        const char  *path);
const char *vm_playback_get_path       (VmPlayback  *self);

void        vm_playback_play           (VmPlayback  *self);
void        vm_playback_pause          (VmPlayback  *self);
void        vm_playback_toggle         (VmPlayback  *self);
gboolean    vm_playback_get_playing    (VmPlayback  *self);

/* Nanoseconds; -1 when unknown. */
gint64      vm_playback_get_position   (VmPlayback  *self);
gint64      vm_playback_get_duration   (VmPlayback  *self);
/* The duration of one frame, from the stream's frame rate (40 ms when unknown). */
gint64      vm_playback_get_frame_duration (VmPlayback *self);

void        vm_playback_seek           (VmPlayback  *self,
                                        gint64       position_ns,
                                        gboolean     accurate);
/* One frame forward (a step event) or back (an accurate seek one frame back). */
void        vm_playback_step           (VmPlayback  *self,
                                        int          direction);

/* Clamped to VM_PLAYBACK_MIN_RATE..VM_PLAYBACK_MAX_RATE. */
void        vm_playback_set_rate       (VmPlayback  *self,
                                        double       rate);
double      vm_playback_get_rate       (VmPlayback  *self);

void        vm_playback_set_volume     (VmPlayback  *self,
                                        double       volume);
double      vm_playback_get_volume     (VmPlayback  *self);
void        vm_playback_set_muted      (VmPlayback  *self,
                                        gboolean     muted);
gboolean    vm_playback_get_muted      (VmPlayback  *self);

/* Plays @start_ns..@end_ns over and over; end_ns <= start_ns stops looping. */
void        vm_playback_set_loop       (VmPlayback  *self,
                                        gint64       start_ns,
                                        gint64       end_ns);
gboolean    vm_playback_get_looping    (VmPlayback  *self);

/* The newest frame (RGBA), or NULL; transfer full. */
GstSample  *vm_playback_dup_sample     (VmPlayback  *self);

G_END_DECLS
