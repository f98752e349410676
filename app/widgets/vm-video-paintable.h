/* vm-video-paintable.h — shows the frames of a VmPlayback as a GdkPaintable:
 * each RGBA GstSample becomes a GdkMemoryTexture on the main thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "widgets/vm-playback.h"

G_BEGIN_DECLS

#define VM_TYPE_VIDEO_PAINTABLE (vm_video_paintable_get_type ())
G_DECLARE_FINAL_TYPE (VmVideoPaintable, vm_video_paintable, VM, VIDEO_PAINTABLE, GObject)

VmVideoPaintable *vm_video_paintable_new         (VmPlayback       *playback);
/* The texture of the frame shown, or NULL. */
GdkTexture       *vm_video_paintable_get_texture (VmVideoPaintable *self);
/* How many frames were turned into textures (for tests). */
guint             vm_video_paintable_get_n_frames (VmVideoPaintable *self);

/* Wraps an RGBA sample (kept alive by the texture). NULL when not RGBA. */
GdkTexture       *vm_texture_new_for_sample      (GstSample        *sample);

G_END_DECLS
