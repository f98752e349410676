/* vm-video-paintable.c — frames from the playback as a GdkPaintable.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gst/video/video.h>

#include "widgets/vm-video-paintable.h"

struct _VmVideoPaintable
{
  GObject      parent_instance;

  VmPlayback  *playback;
  GdkTexture  *texture;
  guint        n_frames;
};

static void vm_video_paintable_iface_init (GdkPaintableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (VmVideoPaintable, vm_video_paintable, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE, vm_video_paintable_iface_init))

typedef struct {
  GstSample  *sample;
  GstBuffer  *buffer;
  GstMapInfo  map;
} MappedSample;

static void
mapped_sample_free (gpointer data)
{
  MappedSample *m = data;

  gst_buffer_unmap (m->buffer, &m->map);
  gst_sample_unref (m->sample);
  g_free (m);
}

GdkTexture *
vm_texture_new_for_sample (GstSample *sample)
{
  g_autoptr(GBytes) bytes = NULL;
  GstVideoInfo info;
  GstCaps *caps;
  GstBuffer *buffer;
  MappedSample *m;
  gsize stride;

  g_return_val_if_fail (sample != NULL, NULL);

  caps = gst_sample_get_caps (sample);
  buffer = gst_sample_get_buffer (sample);
  if (caps == NULL || buffer == NULL || !gst_video_info_from_caps (&info, caps))
    return NULL;
  if (GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_RGBA ||
      GST_VIDEO_INFO_WIDTH (&info) <= 0 || GST_VIDEO_INFO_HEIGHT (&info) <= 0)
    return NULL;

  m = g_new0 (MappedSample, 1);
  if (!gst_buffer_map (buffer, &m->map, GST_MAP_READ))
    {
      g_free (m);
      return NULL;
    }
  m->sample = gst_sample_ref (sample);
  m->buffer = buffer;

  stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
  if (m->map.size < stride * (GST_VIDEO_INFO_HEIGHT (&info) - 1) + 4 * GST_VIDEO_INFO_WIDTH (&info))
    {
      mapped_sample_free (m);
      return NULL;
    }

  bytes = g_bytes_new_with_free_func (m->map.data, m->map.size, mapped_sample_free, m);
  return gdk_memory_texture_new (GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info),
                                 GDK_MEMORY_R8G8B8A8, bytes, stride);
}

static void
new_sample_cb (VmPlayback       *playback,
               GstSample        *sample,
               VmVideoPaintable *self)
{
  g_autoptr(GdkTexture) texture = vm_texture_new_for_sample (sample);
  gboolean size_changed;

  if (texture == NULL)
    return;

  size_changed = self->texture == NULL ||
                 gdk_texture_get_width (self->texture) != gdk_texture_get_width (texture) ||
                 gdk_texture_get_height (self->texture) != gdk_texture_get_height (texture);
  g_set_object (&self->texture, texture);
  self->n_frames++;

  if (size_changed)
    gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

static void
path_changed_cb (VmPlayback       *playback,
                 GParamSpec       *pspec,
                 VmVideoPaintable *self)
{
  if (self->texture == NULL)
    return;
  g_clear_object (&self->texture);
  gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

static void
vm_video_paintable_snapshot (GdkPaintable *paintable,
                             GdkSnapshot  *snapshot,
                             double        width,
                             double        height)
{
  VmVideoPaintable *self = VM_VIDEO_PAINTABLE (paintable);

  if (self->texture != NULL)
    gdk_paintable_snapshot (GDK_PAINTABLE (self->texture), snapshot, width, height);
  else
    gtk_snapshot_append_color (GTK_SNAPSHOT (snapshot), &(GdkRGBA) { 0, 0, 0, 1 },
                               &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static int
vm_video_paintable_get_intrinsic_width (GdkPaintable *paintable)
{
  VmVideoPaintable *self = VM_VIDEO_PAINTABLE (paintable);

  return self->texture ? gdk_texture_get_width (self->texture) : 0;
}

static int
vm_video_paintable_get_intrinsic_height (GdkPaintable *paintable)
{
  VmVideoPaintable *self = VM_VIDEO_PAINTABLE (paintable);

  return self->texture ? gdk_texture_get_height (self->texture) : 0;
}

static double
vm_video_paintable_get_intrinsic_aspect_ratio (GdkPaintable *paintable)
{
  VmVideoPaintable *self = VM_VIDEO_PAINTABLE (paintable);

  if (self->texture == NULL)
    return 16.0 / 9.0;
  return (double) gdk_texture_get_width (self->texture) / gdk_texture_get_height (self->texture);
}

static void
vm_video_paintable_iface_init (GdkPaintableInterface *iface)
{
  iface->snapshot = vm_video_paintable_snapshot;
  iface->get_intrinsic_width = vm_video_paintable_get_intrinsic_width;
  iface->get_intrinsic_height = vm_video_paintable_get_intrinsic_height;
  iface->get_intrinsic_aspect_ratio = vm_video_paintable_get_intrinsic_aspect_ratio;
}

static void
vm_video_paintable_dispose (GObject *object)
{
  VmVideoPaintable *self = VM_VIDEO_PAINTABLE (object);

  if (self->playback != NULL)
    g_signal_handlers_disconnect_by_data (self->playback, self);
  g_clear_object (&self->playback);
  g_clear_object (&self->texture);

  G_OBJECT_CLASS (vm_video_paintable_parent_class)->dispose (object);
}

static void
vm_video_paintable_class_init (VmVideoPaintableClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = vm_video_paintable_dispose;
}

static void
vm_video_paintable_init (VmVideoPaintable *self)
{
}

VmVideoPaintable *
vm_video_paintable_new (VmPlayback *playback)
{
  VmVideoPaintable *self;

  g_return_val_if_fail (VM_IS_PLAYBACK (playback), NULL);

  self = g_object_new (VM_TYPE_VIDEO_PAINTABLE, NULL);
  self->playback = g_object_ref (playback);
  g_signal_connect (playback, "new-sample", G_CALLBACK (new_sample_cb), self);
  g_signal_connect (playback, "notify::path", G_CALLBACK (path_changed_cb), self);
  return self;
}

GdkTexture *
vm_video_paintable_get_texture (VmVideoPaintable *self)
{
  g_return_val_if_fail (VM_IS_VIDEO_PAINTABLE (self), NULL);
  return self->texture;
}

guint
vm_video_paintable_get_n_frames (VmVideoPaintable *self)
{
  g_return_val_if_fail (VM_IS_VIDEO_PAINTABLE (self), 0);
  return self->n_frames;
}
