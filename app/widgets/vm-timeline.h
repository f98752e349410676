/* vm-timeline.h — the time line under the player: the score curve of the
 * current video, its search hits, the annotated segments (with draggable,
 * frame-snapped edges), the playhead, zoom and thumbnails on hover.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "widgets/vm-annotation-stack.h"
#include "widgets/vm-moment-item.h"

G_BEGIN_DECLS

#define VM_TIMELINE_MAX_ZOOM 256.0

#define VM_TYPE_TIMELINE (vm_timeline_get_type ())
G_DECLARE_FINAL_TYPE (VmTimeline, vm_timeline, VM, TIMELINE, GtkWidget)

GtkWidget  *vm_timeline_new                (void);

void        vm_timeline_set_duration       (VmTimeline        *self,
                                            gint64             duration_ns);
gint64      vm_timeline_get_duration       (VmTimeline        *self);
void        vm_timeline_set_position       (VmTimeline        *self,
                                            gint64             position_ns);
gint64      vm_timeline_get_position       (VmTimeline        *self);
void        vm_timeline_set_frame_duration (VmTimeline        *self,
                                            gint64             frame_ns);
/* Snaps @t to the nearest frame boundary. */
gint64      vm_timeline_snap               (VmTimeline        *self,
                                            gint64             t_ns);

/* Hits of this video: a GPtrArray of VmMomentItem* (or NULL). */
void        vm_timeline_set_hits           (VmTimeline        *self,
                                            GPtrArray         *moments);
/* The visual score curve of this video for the query (GArray of
 * VmCurvePoint; a reference is taken; NULL: none).  When set, it is the
 * curve drawn (scaled to its own range); the hits stay marked under it. */
void        vm_timeline_set_curve          (VmTimeline        *self,
                                            GArray            *points);
gboolean    vm_timeline_has_curve          (VmTimeline        *self);
/* The score curve at @t (0..1): the visual curve when set, else built from
 * the hits. */
double      vm_timeline_get_score_at       (VmTimeline        *self,
                                            gint64             t_ns);

void        vm_timeline_set_annotations    (VmTimeline        *self,
                                            VmAnnotationStack *stack);
void        vm_timeline_set_selected       (VmTimeline        *self,
                                            guint              key);
guint       vm_timeline_get_selected       (VmTimeline        *self);

/* Thumbnails shown on hover come from this video's cache folder. */
void        vm_timeline_set_fingerprint    (VmTimeline        *self,
                                            const char        *fingerprint);

void        vm_timeline_set_zoom           (VmTimeline        *self,
                                            double             zoom);
double      vm_timeline_get_zoom           (VmTimeline        *self);
void        vm_timeline_zoom_in            (VmTimeline        *self);
void        vm_timeline_zoom_out           (VmTimeline        *self);
gint64      vm_timeline_get_view_start     (VmTimeline        *self);
gint64      vm_timeline_get_view_length    (VmTimeline        *self);

/* Time at x (widget coordinates) and back. */
gint64      vm_timeline_x_to_time          (VmTimeline        *self,
                                            double             x);
double      vm_timeline_time_to_x          (VmTimeline        *self,
                                            gint64             t_ns);

G_END_DECLS
