/* vm-moment-item.h — one search result: a time range of a video with a score and
 * the signals that matched.  A plain GObject (no GTK), so that any search
 * layer (text, visual, hybrid) can produce it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  VM_MOMENT_SIGNAL_NONE     = 0,
  VM_MOMENT_SIGNAL_VISUAL   = 1 << 0,
  VM_MOMENT_SIGNAL_SUBTITLE = 1 << 1,
  VM_MOMENT_SIGNAL_OCR      = 1 << 2,
  VM_MOMENT_SIGNAL_SPEECH   = 1 << 3,
  VM_MOMENT_SIGNAL_NAME     = 1 << 4,   /* the file name matched */
} VmMomentSignals;

#define VM_TYPE_MOMENT_ITEM (vm_moment_item_get_type ())
G_DECLARE_FINAL_TYPE (VmMomentItem, vm_moment_item, VM, MOMENT_ITEM, GObject)

VmMomentItem        *vm_moment_item_new             (gint64           video_id,
                                            const char      *path,
                                            const char      *fingerprint,
                                            gint64           start_ns,
                                            gint64           end_ns,
                                            double           score,
                                            VmMomentSignals  signals,
                                            const char      *snippet);

gint64           vm_moment_item_get_video_id    (VmMomentItem *self);
const char      *vm_moment_item_get_path        (VmMomentItem *self);
/* The file's base name, for display. */
const char      *vm_moment_item_get_title       (VmMomentItem *self);
const char      *vm_moment_item_get_fingerprint (VmMomentItem *self);
gint64           vm_moment_item_get_start       (VmMomentItem *self);
gint64           vm_moment_item_get_end         (VmMomentItem *self);
double           vm_moment_item_get_score       (VmMomentItem *self);
VmMomentSignals  vm_moment_item_get_signals     (VmMomentItem *self);
const char      *vm_moment_item_get_snippet     (VmMomentItem *self);
/* The cached thumbnail nearest to the start (found off the main thread by
 * the search), or NULL. */
const char      *vm_moment_item_get_thumbnail   (VmMomentItem *self);
void             vm_moment_item_set_thumbnail   (VmMomentItem *self,
                                                 const char   *path);
/* Adds signals and keeps the best score (merging two hits of one moment). */
void             vm_moment_item_merge           (VmMomentItem *self,
                                            VmMomentItem *other);

/* One sample of a video's visual score curve for the query. */
typedef struct {
  gint64 t_ns;
  float  score;     /* cosine similarity */
} VmCurvePoint;

/* The visual score curve of the item's video (GArray of VmCurvePoint, a
 * reference is taken; NULL: none), for the timeline. */
void             vm_moment_item_set_curve       (VmMomentItem *self,
                                                 GArray       *points);
GArray          *vm_moment_item_get_curve       (VmMomentItem *self);
/* A copy with its boundaries sharpened by dense refinement. */
VmMomentItem    *vm_moment_item_copy_with_range (VmMomentItem *self,
                                                 gint64        start_ns,
                                                 gint64        end_ns);
/* TRUE for items made by vm_moment_item_copy_with_range(). */
gboolean         vm_moment_item_get_refined     (VmMomentItem *self);

/* "subtitle · on-screen text", translated. */
char            *vm_moment_item_signals_to_string (VmMomentSignals signals);
/* "0:00:01.500 – 0:00:04.000" */
char            *vm_moment_item_format_range      (VmMomentItem *self);

G_END_DECLS
