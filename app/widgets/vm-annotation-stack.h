/* vm-annotation-stack.h — the annotations of one video in one annotation set,
 * with undo and redo.  Every edit is saved to the catalog at once; an edit
 * whose save failed stays in memory marked unsaved (and is saved again with
 * the next edit or vm_annotation_stack_retry()).  No GTK here.
 *
 * Segments are named by a stable local key (not the catalog id, which changes
 * when an undone creation is redone).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "catalog/vm-catalog.h"

G_BEGIN_DECLS

#define VM_TYPE_ANNOTATION_STACK (vm_annotation_stack_get_type ())
G_DECLARE_FINAL_TYPE (VmAnnotationStack, vm_annotation_stack, VM, ANNOTATION_STACK, GObject)

typedef struct {
  guint          key;
  VmAnnotation  *annotation;   /* id is 0 while never saved */
  gboolean       unsaved;
} VmSegment;

VmAnnotationStack *vm_annotation_stack_new       (VmCatalog  *catalog,
                                                  gint64      set_id,
                                                  gint64      video_id,
                                                  GError    **error);
gint64      vm_annotation_stack_get_set_id       (VmAnnotationStack *self);
gint64      vm_annotation_stack_get_video_id     (VmAnnotationStack *self);
guint       vm_annotation_stack_get_n_segments   (VmAnnotationStack *self);
/* By start time. */
const VmSegment *vm_annotation_stack_get_segment (VmAnnotationStack *self,
                                                  guint              position);
const VmSegment *vm_annotation_stack_lookup      (VmAnnotationStack *self,
                                                  guint              key);
gboolean    vm_annotation_stack_has_unsaved      (VmAnnotationStack *self);

/* Edits: each is one undo step.  They return FALSE (with @error) only for
 * invalid input (start >= end, unknown key); a failed save still applies the
 * edit, marks it unsaved and emits ::save-failed. */
gboolean    vm_annotation_stack_add              (VmAnnotationStack  *self,
                                                  gint64              start_ns,
                                                  gint64              end_ns,
                                                  const char         *text,
                                                  guint              *out_key,
                                                  GError            **error);
gboolean    vm_annotation_stack_set_range        (VmAnnotationStack  *self,
                                                  guint               key,
                                                  gint64              start_ns,
                                                  gint64              end_ns,
                                                  GError            **error);
gboolean    vm_annotation_stack_set_text         (VmAnnotationStack  *self,
                                                  guint               key,
                                                  const char         *text,
                                                  GError            **error);
/* Sets the saliency (0..4) of the 2-second @clip of the video for segment
 * @key, or clears it (-1).  The clip must overlap the segment.  One undo
 * step; no step when the score does not change.  Changing a segment's range
 * drops the scores of clips it no longer overlaps (undo restores them). */
gboolean    vm_annotation_stack_set_clip_saliency (VmAnnotationStack *self,
                                                  guint               key,
                                                  guint               clip,
                                                  int                 score,
                                                  GError            **error);
gboolean    vm_annotation_stack_remove           (VmAnnotationStack  *self,
                                                  guint               key,
                                                  GError            **error);

gboolean    vm_annotation_stack_can_undo         (VmAnnotationStack *self);
gboolean    vm_annotation_stack_can_redo         (VmAnnotationStack *self);
gboolean    vm_annotation_stack_undo             (VmAnnotationStack *self);
gboolean    vm_annotation_stack_redo             (VmAnnotationStack *self);
/* Saves the unsaved segments again; TRUE when none is left unsaved. */
gboolean    vm_annotation_stack_retry            (VmAnnotationStack *self);

VmAnnotation *vm_annotation_copy                 (const VmAnnotation *annotation);

/* Saliency is scored per 2-second clip of the video: clip i covers
 * [2i, 2i + 2) s (the QVHighlights clips). */
#define VM_ANNOTATION_CLIP_NS (2 * G_GINT64_CONSTANT (1000000000))
/* The clip that time @t_ns falls in. */
guint       vm_annotation_stack_clip_at          (gint64 t_ns);

G_END_DECLS
