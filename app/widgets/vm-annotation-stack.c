/* vm-annotation-stack.c — annotations with undo/redo and autosave.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <string.h>

#include "widgets/vm-annotation-stack.h"

typedef enum {
  COMMAND_ADD,
  COMMAND_MODIFY,
  COMMAND_REMOVE,
} CommandKind;

typedef struct {
  CommandKind   kind;
  guint         key;
  VmAnnotation *before;   /* NULL for ADD */
  VmAnnotation *after;    /* NULL for REMOVE */
} Command;

struct _VmAnnotationStack
{
  GObject     parent_instance;

  VmCatalog  *catalog;
  gint64      set_id;
  gint64      video_id;
  GPtrArray  *segments;   /* VmSegment*, by start */
  GPtrArray  *undo;       /* Command*, last is next */
  GPtrArray  *redo;
  guint       next_key;
};

G_DEFINE_FINAL_TYPE (VmAnnotationStack, vm_annotation_stack, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  PROP_HAS_UNSAVED,
  N_PROPS
};

enum {
  CHANGED,
  SAVE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

VmAnnotation *
vm_annotation_copy (const VmAnnotation *a)
{
  VmAnnotation *copy = vm_annotation_new ();

  copy->id = a->id;
  copy->set_id = a->set_id;
  copy->video_id = a->video_id;
  copy->start_ns = a->start_ns;
  copy->end_ns = a->end_ns;
  copy->text = g_strdup (a->text);
  copy->saliency = a->saliency;
  copy->created_at = a->created_at;
  copy->modified_at = a->modified_at;
  copy->clips = g_array_new (FALSE, FALSE, sizeof (VmClipSaliency));
  if (a->clips != NULL)
    g_array_append_vals (copy->clips, a->clips->data, a->clips->len);
  return copy;
}

static void
segment_free (VmSegment *segment)
{
  vm_annotation_free (segment->annotation);
  g_free (segment);
}

static void
command_free (Command *command)
{
  g_clear_pointer (&command->before, vm_annotation_free);
  g_clear_pointer (&command->after, vm_annotation_free);
  g_free (command);
}

static void
vm_annotation_stack_finalize (GObject *object)
{
  VmAnnotationStack *self = VM_ANNOTATION_STACK (object);

  g_clear_object (&self->catalog);
  g_clear_pointer (&self->segments, g_ptr_array_unref);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);

  G_OBJECT_CLASS (vm_annotation_stack_parent_class)->finalize (object);
}

static void
vm_annotation_stack_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  VmAnnotationStack *self = VM_ANNOTATION_STACK (object);

  switch (prop_id)
    {
    case PROP_CAN_UNDO:
      g_value_set_boolean (value, vm_annotation_stack_can_undo (self));
      break;
    case PROP_CAN_REDO:
      g_value_set_boolean (value, vm_annotation_stack_can_redo (self));
      break;
    case PROP_HAS_UNSAVED:
      g_value_set_boolean (value, vm_annotation_stack_has_unsaved (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_annotation_stack_class_init (VmAnnotationStackClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vm_annotation_stack_finalize;
  object_class->get_property = vm_annotation_stack_get_property;

  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_HAS_UNSAVED] =
    g_param_spec_boolean ("has-unsaved", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted after every change of the segments. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* (key, GError*) when saving a segment failed; the edit is kept, unsaved. */
  signals[SAVE_FAILED] = g_signal_new ("save-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                       G_TYPE_UINT, G_TYPE_ERROR);
}

static void
vm_annotation_stack_init (VmAnnotationStack *self)
{
  self->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) segment_free);
  self->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) command_free);
  self->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) command_free);
  self->next_key = 1;
}

static int
compare_segments_cb (gconstpointer a,
                     gconstpointer b)
{
  const VmSegment *sa = *(VmSegment **) a;
  const VmSegment *sb = *(VmSegment **) b;

  if (sa->annotation->start_ns != sb->annotation->start_ns)
    return sa->annotation->start_ns < sb->annotation->start_ns ? -1 : 1;
  return sa->key < sb->key ? -1 : sa->key > sb->key;
}

VmAnnotationStack *
vm_annotation_stack_new (VmCatalog  *catalog,
                         gint64      set_id,
                         gint64      video_id,
                         GError    **error)
{
  g_autoptr(VmAnnotationStack) self = NULL;
  g_autoptr(GPtrArray) list = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (catalog), NULL);

  list = vm_catalog_list_annotations (catalog, set_id, video_id, error);
  if (list == NULL)
    return NULL;

  self = g_object_new (VM_TYPE_ANNOTATION_STACK, NULL);
  self->catalog = g_object_ref (catalog);
  self->set_id = set_id;
  self->video_id = video_id;

  for (guint i = 0; i < list->len; i++)
    {
      VmSegment *segment = g_new0 (VmSegment, 1);

      segment->key = self->next_key++;
      segment->annotation = g_steal_pointer (&g_ptr_array_index (list, i));
      g_ptr_array_add (self->segments, segment);
    }
  g_ptr_array_set_free_func (list, NULL);
  g_ptr_array_sort (self->segments, compare_segments_cb);

  return g_steal_pointer (&self);
}

gint64
vm_annotation_stack_get_set_id (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), 0);
  return self->set_id;
}

gint64
vm_annotation_stack_get_video_id (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), 0);
  return self->video_id;
}

guint
vm_annotation_stack_get_n_segments (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), 0);
  return self->segments->len;
}

const VmSegment *
vm_annotation_stack_get_segment (VmAnnotationStack *self,
                                 guint              position)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), NULL);
  if (position >= self->segments->len)
    return NULL;
  return g_ptr_array_index (self->segments, position);
}

static VmSegment *
find_segment (VmAnnotationStack *self,
              guint              key,
              guint             *out_index)
{
  for (guint i = 0; i < self->segments->len; i++)
    {
      VmSegment *segment = g_ptr_array_index (self->segments, i);

      if (segment->key == key)
        {
          if (out_index)
            *out_index = i;
          return segment;
        }
    }
  return NULL;
}

const VmSegment *
vm_annotation_stack_lookup (VmAnnotationStack *self,
                            guint              key)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), NULL);
  return find_segment (self, key, NULL);
}

gboolean
vm_annotation_stack_has_unsaved (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);

  for (guint i = 0; i < self->segments->len; i++)
    if (((VmSegment *) g_ptr_array_index (self->segments, i))->unsaved)
      return TRUE;
  return FALSE;
}

static void
save_segment (VmAnnotationStack *self,
              VmSegment         *segment)
{
  g_autoptr(GError) error = NULL;

  if (vm_catalog_save_annotation (self->catalog, segment->annotation, &error))
    {
      segment->unsaved = FALSE;
      return;
    }

  segment->unsaved = TRUE;
  g_signal_emit (self, signals[SAVE_FAILED], 0, segment->key, error);
}

/* Applies one direction of a command: the segment @key takes the state
 * @state (NULL: it does not exist). */
static void
apply_state (VmAnnotationStack  *self,
             guint               key,
             const VmAnnotation *state)
{
  guint index = 0;
  VmSegment *segment = find_segment (self, key, &index);

  if (state == NULL)
    {
      if (segment == NULL)
        return;
      if (segment->annotation->id != 0)
        {
          g_autoptr(GError) error = NULL;

          if (!vm_catalog_delete_annotation (self->catalog, segment->annotation->id, &error) &&
              !g_error_matches (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND))
            {
              segment->unsaved = TRUE;
              g_signal_emit (self, signals[SAVE_FAILED], 0, segment->key, error);
              return;
            }
        }
      g_ptr_array_remove_index (self->segments, index);
      return;
    }

  if (segment == NULL)
    {
      segment = g_new0 (VmSegment, 1);
      segment->key = key;
      segment->annotation = vm_annotation_copy (state);
      segment->annotation->id = 0;   /* a new row, whatever it had before */
      g_ptr_array_add (self->segments, segment);
    }
  else
    {
      gint64 id = segment->annotation->id;
      gint64 created = segment->annotation->created_at;

      vm_annotation_free (segment->annotation);
      segment->annotation = vm_annotation_copy (state);
      segment->annotation->id = id;
      segment->annotation->created_at = created;
    }
  save_segment (self, segment);
}

static void
notify_all (VmAnnotationStack *self,
            gboolean           could_undo,
            gboolean           could_redo,
            gboolean           had_unsaved)
{
  g_ptr_array_sort (self->segments, compare_segments_cb);
  g_signal_emit (self, signals[CHANGED], 0);
  if (could_undo != vm_annotation_stack_can_undo (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
  if (could_redo != vm_annotation_stack_can_redo (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
  if (had_unsaved != vm_annotation_stack_has_unsaved (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_UNSAVED]);
}

static void
push_command (VmAnnotationStack *self,
              CommandKind        kind,
              guint              key,
              VmAnnotation      *before,
              VmAnnotation      *after)
{
  gboolean could_undo = vm_annotation_stack_can_undo (self);
  gboolean could_redo = vm_annotation_stack_can_redo (self);
  gboolean had_unsaved = vm_annotation_stack_has_unsaved (self);
  Command *command = g_new0 (Command, 1);

  command->kind = kind;
  command->key = key;
  command->before = before;
  command->after = after;

  /* Segments whose save failed before get another chance with this edit. */
  for (guint i = 0; i < self->segments->len; i++)
    {
      VmSegment *segment = g_ptr_array_index (self->segments, i);

      if (segment->unsaved && segment->key != key)
        save_segment (self, segment);
    }

  apply_state (self, key, after);
  g_ptr_array_add (self->undo, command);
  g_ptr_array_set_size (self->redo, 0);
  notify_all (self, could_undo, could_redo, had_unsaved);
}

gboolean
vm_annotation_stack_add (VmAnnotationStack  *self,
                         gint64              start_ns,
                         gint64              end_ns,
                         const char         *text,
                         guint              *out_key,
                         GError            **error)
{
  VmAnnotation *after;
  guint key;

  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);

  if (start_ns < 0 || start_ns >= end_ns)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("A segment must end after it starts"));
      return FALSE;
    }

  after = vm_annotation_new ();
  after->set_id = self->set_id;
  after->video_id = self->video_id;
  after->start_ns = start_ns;
  after->end_ns = end_ns;
  after->text = g_strdup (text ? text : "");
  after->saliency = -1;

  key = self->next_key++;
  push_command (self, COMMAND_ADD, key, NULL, after);
  if (out_key)
    *out_key = key;
  return TRUE;
}

static gboolean
same_clips (const VmAnnotation *a,
            const VmAnnotation *b)
{
  guint na = a->clips ? a->clips->len : 0;
  guint nb = b->clips ? b->clips->len : 0;

  return na == nb && (na == 0 || memcmp (a->clips->data, b->clips->data, na * sizeof (VmClipSaliency)) == 0);
}

/* Drops the clip scores of clips that no longer overlap the segment. */
static void
prune_clips (VmAnnotation *annotation)
{
  for (guint i = 0; annotation->clips != NULL && i < annotation->clips->len;)
    {
      guint clip = g_array_index (annotation->clips, VmClipSaliency, i).clip;
      gint64 clip_start = (gint64) clip * VM_ANNOTATION_CLIP_NS;

      if (clip_start >= annotation->end_ns || clip_start + VM_ANNOTATION_CLIP_NS <= annotation->start_ns)
        g_array_remove_index (annotation->clips, i);
      else
        i++;
    }
}

static gboolean
modify (VmAnnotationStack  *self,
        guint               key,
        gint64              start_ns,
        gint64              end_ns,
        const char         *text,
        GError            **error)
{
  VmSegment *segment = find_segment (self, key, NULL);
  VmAnnotation *after;

  if (segment == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("The segment no longer exists"));
      return FALSE;
    }
  if (start_ns < 0 || start_ns >= end_ns)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("A segment must end after it starts"));
      return FALSE;
    }

  after = vm_annotation_copy (segment->annotation);
  after->start_ns = start_ns;
  after->end_ns = end_ns;
  g_free (after->text);
  after->text = g_strdup (text);
  prune_clips (after);
  if (segment->annotation->start_ns == start_ns && segment->annotation->end_ns == end_ns &&
      g_strcmp0 (segment->annotation->text, text) == 0 && same_clips (segment->annotation, after))
    {
      vm_annotation_free (after);
      return TRUE;   /* nothing to do, no undo step */
    }

  push_command (self, COMMAND_MODIFY, key, vm_annotation_copy (segment->annotation), after);
  return TRUE;
}

gboolean
vm_annotation_stack_set_range (VmAnnotationStack  *self,
                               guint               key,
                               gint64              start_ns,
                               gint64              end_ns,
                               GError            **error)
{
  VmSegment *segment;

  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);

  segment = find_segment (self, key, NULL);
  return modify (self, key, start_ns, end_ns, segment ? segment->annotation->text : NULL, error);
}

gboolean
vm_annotation_stack_set_text (VmAnnotationStack  *self,
                              guint               key,
                              const char         *text,
                              GError            **error)
{
  VmSegment *segment;

  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);

  segment = find_segment (self, key, NULL);
  if (segment == NULL)
    return modify (self, key, 0, 0, text, error);
  return modify (self, key, segment->annotation->start_ns, segment->annotation->end_ns,
                 text ? text : "", error);
}

gboolean
vm_annotation_stack_set_clip_saliency (VmAnnotationStack  *self,
                                       guint               key,
                                       guint               clip,
                                       int                 score,
                                       GError            **error)
{
  VmSegment *segment;
  VmAnnotation *after;
  gint64 clip_start = (gint64) clip * VM_ANNOTATION_CLIP_NS;

  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);

  segment = find_segment (self, key, NULL);
  if (segment == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("The segment no longer exists"));
      return FALSE;
    }
  if (score < -1 || score > 4)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Saliency must be from 0 to 4"));
      return FALSE;
    }
  if (clip > G_MAXINT32 || clip_start >= segment->annotation->end_ns ||
      clip_start + VM_ANNOTATION_CLIP_NS <= segment->annotation->start_ns)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("This 2-second clip is outside the segment"));
      return FALSE;
    }
  if (vm_annotation_get_clip_score (segment->annotation, clip) == score)
    return TRUE;   /* no undo step */

  after = vm_annotation_copy (segment->annotation);
  vm_annotation_set_clip_score (after, clip, score);
  push_command (self, COMMAND_MODIFY, key, vm_annotation_copy (segment->annotation), after);
  return TRUE;
}

guint
vm_annotation_stack_clip_at (gint64 t_ns)
{
  return t_ns <= 0 ? 0 : (guint) MIN (t_ns / VM_ANNOTATION_CLIP_NS, G_MAXINT32);
}

gboolean
vm_annotation_stack_remove (VmAnnotationStack  *self,
                            guint               key,
                            GError            **error)
{
  VmSegment *segment;

  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);

  segment = find_segment (self, key, NULL);
  if (segment == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("The segment no longer exists"));
      return FALSE;
    }
  push_command (self, COMMAND_REMOVE, key, vm_annotation_copy (segment->annotation), NULL);
  return TRUE;
}

gboolean
vm_annotation_stack_can_undo (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);
  return self->undo->len > 0;
}

gboolean
vm_annotation_stack_can_redo (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);
  return self->redo->len > 0;
}

static gboolean
move_command (VmAnnotationStack *self,
              GPtrArray         *from,
              GPtrArray         *to,
              gboolean           forward)
{
  gboolean could_undo = vm_annotation_stack_can_undo (self);
  gboolean could_redo = vm_annotation_stack_can_redo (self);
  gboolean had_unsaved = vm_annotation_stack_has_unsaved (self);
  Command *command;

  if (from->len == 0)
    return FALSE;

  command = g_ptr_array_steal_index (from, from->len - 1);
  apply_state (self, command->key, forward ? command->after : command->before);
  g_ptr_array_add (to, command);
  notify_all (self, could_undo, could_redo, had_unsaved);
  return TRUE;
}

gboolean
vm_annotation_stack_undo (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);
  return move_command (self, self->undo, self->redo, FALSE);
}

gboolean
vm_annotation_stack_redo (VmAnnotationStack *self)
{
  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);
  return move_command (self, self->redo, self->undo, TRUE);
}

gboolean
vm_annotation_stack_retry (VmAnnotationStack *self)
{
  gboolean had_unsaved;

  g_return_val_if_fail (VM_IS_ANNOTATION_STACK (self), FALSE);

  had_unsaved = vm_annotation_stack_has_unsaved (self);
  for (guint i = 0; i < self->segments->len; i++)
    {
      VmSegment *segment = g_ptr_array_index (self->segments, i);

      if (segment->unsaved)
        save_segment (self, segment);
    }
  if (had_unsaved != vm_annotation_stack_has_unsaved (self))
    {
      g_signal_emit (self, signals[CHANGED], 0);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_UNSAVED]);
    }
  return !vm_annotation_stack_has_unsaved (self);
}
