/* vm-moment-item.c — one search result.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "core/vm-util.h"
#include "widgets/vm-moment-item.h"

struct _VmMomentItem
{
  GObject          parent_instance;

  gint64           video_id;
  char            *path;
  char            *title;
  char            *fingerprint;
  gint64           start_ns;
  gint64           end_ns;
  double           score;
  VmMomentSignals  signals;
  char            *snippet;
  char            *thumbnail;
  GArray          *curve;       /* VmCurvePoint, shared by the video's items */
  gboolean         refined;
};

G_DEFINE_FINAL_TYPE (VmMomentItem, vm_moment_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_VIDEO_ID,
  PROP_PATH,
  PROP_TITLE,
  PROP_FINGERPRINT,
  PROP_START,
  PROP_END,
  PROP_SCORE,
  PROP_SIGNALS,
  PROP_SNIPPET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
vm_moment_item_finalize (GObject *object)
{
  VmMomentItem *self = VM_MOMENT_ITEM (object);

  g_free (self->path);
  g_free (self->title);
  g_free (self->fingerprint);
  g_free (self->snippet);
  g_free (self->thumbnail);
  g_clear_pointer (&self->curve, g_array_unref);

  G_OBJECT_CLASS (vm_moment_item_parent_class)->finalize (object);
}

static void
vm_moment_item_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  VmMomentItem *self = VM_MOMENT_ITEM (object);

  switch (prop_id)
    {
    case PROP_VIDEO_ID:
      g_value_set_int64 (value, self->video_id);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_FINGERPRINT:
      g_value_set_string (value, self->fingerprint);
      break;
    case PROP_START:
      g_value_set_int64 (value, self->start_ns);
      break;
    case PROP_END:
      g_value_set_int64 (value, self->end_ns);
      break;
    case PROP_SCORE:
      g_value_set_double (value, self->score);
      break;
    case PROP_SIGNALS:
      g_value_set_uint (value, self->signals);
      break;
    case PROP_SNIPPET:
      g_value_set_string (value, self->snippet);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_moment_item_class_init (VmMomentItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = vm_moment_item_finalize;
  object_class->get_property = vm_moment_item_get_property;

  properties[PROP_VIDEO_ID] = g_param_spec_int64 ("video-id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_PATH] = g_param_spec_string ("path", NULL, NULL, NULL, flags);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_FINGERPRINT] = g_param_spec_string ("fingerprint", NULL, NULL, NULL, flags);
  properties[PROP_START] = g_param_spec_int64 ("start", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_END] = g_param_spec_int64 ("end", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_SCORE] = g_param_spec_double ("score", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, flags);
  properties[PROP_SIGNALS] = g_param_spec_uint ("signals", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_SNIPPET] = g_param_spec_string ("snippet", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
vm_moment_item_init (VmMomentItem *self)
{
}

VmMomentItem *
vm_moment_item_new (gint64           video_id,
               const char      *path,
               const char      *fingerprint,
               gint64           start_ns,
               gint64           end_ns,
               double           score,
               VmMomentSignals  signals,
               const char      *snippet)
{
  VmMomentItem *self = g_object_new (VM_TYPE_MOMENT_ITEM, NULL);

  self->video_id = video_id;
  self->path = g_strdup (path);
  self->title = path ? g_path_get_basename (path) : g_strdup ("");
  self->fingerprint = g_strdup (fingerprint);
  self->start_ns = MAX (start_ns, 0);
  self->end_ns = MAX (end_ns, self->start_ns);
  self->score = score;
  self->signals = signals;
  self->snippet = g_strdup (snippet);

  return self;
}

gint64
vm_moment_item_get_video_id (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), 0);
  return self->video_id;
}

const char *
vm_moment_item_get_path (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);
  return self->path;
}

const char *
vm_moment_item_get_title (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);
  return self->title;
}

const char *
vm_moment_item_get_fingerprint (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);
  return self->fingerprint;
}

gint64
vm_moment_item_get_start (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), 0);
  return self->start_ns;
}

gint64
vm_moment_item_get_end (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), 0);
  return self->end_ns;
}

double
vm_moment_item_get_score (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), 0);
  return self->score;
}

VmMomentSignals
vm_moment_item_get_signals (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), 0);
  return self->signals;
}

const char *
vm_moment_item_get_snippet (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);
  return self->snippet;
}

const char *
vm_moment_item_get_thumbnail (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);
  return self->thumbnail;
}

void
vm_moment_item_set_thumbnail (VmMomentItem *self,
                              const char   *path)
{
  g_return_if_fail (VM_IS_MOMENT_ITEM (self));

  if (g_strcmp0 (self->thumbnail, path) == 0)
    return;
  g_free (self->thumbnail);
  self->thumbnail = g_strdup (path);
}

void
vm_moment_item_merge (VmMomentItem *self,
                 VmMomentItem *other)
{
  g_return_if_fail (VM_IS_MOMENT_ITEM (self));
  g_return_if_fail (VM_IS_MOMENT_ITEM (other));

  if (other->signals & ~self->signals)
    {
      self->signals |= other->signals;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIGNALS]);
    }
  if (other->score > self->score)
    {
      self->score = other->score;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCORE]);
    }
  if (self->snippet == NULL && other->snippet != NULL)
    {
      self->snippet = g_strdup (other->snippet);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SNIPPET]);
    }
}

char *
vm_moment_item_signals_to_string (VmMomentSignals signals)
{
  GString *s = g_string_new (NULL);
  const struct { VmMomentSignals flag; const char *name; } names[] = {
    { VM_MOMENT_SIGNAL_VISUAL, N_("visual") },
    { VM_MOMENT_SIGNAL_SUBTITLE, N_("subtitles") },
    { VM_MOMENT_SIGNAL_OCR, N_("on-screen text") },
    { VM_MOMENT_SIGNAL_SPEECH, N_("speech") },
    { VM_MOMENT_SIGNAL_NAME, N_("file name") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (signals & names[i].flag)
      {
        if (s->len > 0)
          g_string_append (s, " · ");
        g_string_append (s, _(names[i].name));
      }

  return g_string_free (s, FALSE);
}

char *
vm_moment_item_format_range (VmMomentItem *self)
{
  g_autofree char *start = NULL;
  g_autofree char *end = NULL;

  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);

  start = vm_format_timestamp (self->start_ns);
  end = vm_format_timestamp (self->end_ns);
  return g_strdup_printf ("%s – %s", start, end);
}

void
vm_moment_item_set_curve (VmMomentItem *self,
                          GArray       *points)
{
  g_return_if_fail (VM_IS_MOMENT_ITEM (self));

  if (points != NULL)
    g_array_ref (points);
  g_clear_pointer (&self->curve, g_array_unref);
  self->curve = points;
}

GArray *
vm_moment_item_get_curve (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);
  return self->curve;
}

VmMomentItem *
vm_moment_item_copy_with_range (VmMomentItem *self,
                                gint64        start_ns,
                                gint64        end_ns)
{
  VmMomentItem *copy;

  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), NULL);

  copy = vm_moment_item_new (self->video_id, self->path, self->fingerprint,
                             start_ns, end_ns, self->score, self->signals, self->snippet);
  vm_moment_item_set_thumbnail (copy, self->thumbnail);
  vm_moment_item_set_curve (copy, self->curve);
  copy->refined = TRUE;
  return copy;
}

gboolean
vm_moment_item_get_refined (VmMomentItem *self)
{
  g_return_val_if_fail (VM_IS_MOMENT_ITEM (self), FALSE);
  return self->refined;
}
