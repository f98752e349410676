/* vm-playback.c — playbin with an appsink, no GTK.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "media/vm-media.h"
#include "widgets/vm-playback.h"

struct _VmPlayback
{
  GObject      parent_instance;

  GstElement  *playbin;
  GstElement  *sink;
  guint        bus_watch_id;
  guint        poll_id;
  char        *path;

  /* Shared with the streaming threads. */
  GMutex       lock;
  GstSample   *sample;         /* newest frame */
  guint        sample_idle_id; /* the one pending hand-off, or 0 */

  /* Main thread only. */
  GstSample   *shown;          /* the frame last handed out */
  gboolean     playing;
  gboolean     want_playing;
  gboolean     prerolled;      /* ASYNC_DONE seen since the last flush */
  gboolean     seek_pending;
  gint64       pending_position;
  gboolean     pending_accurate;
  gint64       position;
  gint64       duration;
  gint64       frame_duration;
  double       rate;
  gint64       loop_start;
  gint64       loop_end;
};

G_DEFINE_FINAL_TYPE (VmPlayback, vm_playback, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_PLAYING,
  PROP_POSITION,
  PROP_DURATION,
  PROP_RATE,
  PROP_VOLUME,
  PROP_MUTED,
  PROP_LOOPING,
  N_PROPS
};

enum {
  NEW_SAMPLE,
  ERROR,
  EOS,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void update_position (VmPlayback *self);

static void
set_playing (VmPlayback *self,
             gboolean    playing)
{
  if (self->playing == playing)
    return;
  self->playing = playing;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
}

static void
set_position (VmPlayback *self,
              gint64      position)
{
  if (self->position == position)
    return;
  self->position = position;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION]);
}

static gboolean
sample_idle_cb (gpointer user_data)
{
  VmPlayback *self = user_data;
  GstSample *sample;

  g_mutex_lock (&self->lock);
  sample = g_steal_pointer (&self->sample);
  self->sample_idle_id = 0;
  g_mutex_unlock (&self->lock);

  if (sample == NULL)
    return G_SOURCE_REMOVE;

  {
    GstCaps *caps = gst_sample_get_caps (sample);
    GstStructure *s = caps ? gst_caps_get_structure (caps, 0) : NULL;
    int num = 0, den = 1;

    if (s != NULL && gst_structure_get_fraction (s, "framerate", &num, &den) && num > 0 && den > 0)
      self->frame_duration = gst_util_uint64_scale_int (GST_SECOND, den, num);
  }

  g_clear_pointer (&self->shown, gst_sample_unref);
  self->shown = sample;

  if (!self->playing)
    update_position (self);
  g_signal_emit (self, signals[NEW_SAMPLE], 0, sample);

  return G_SOURCE_REMOVE;
}

/* Streaming thread. */
static GstFlowReturn
take_sample (VmPlayback *self,
             GstSample  *sample)
{
  GstSample *own;

  if (sample == NULL)
    return GST_FLOW_ERROR;

  /* appsink reuses one GstSample and changes its caps in place when the
   * caps change (GStreamer 1.22): keep a sample of our own, never its. */
  own = gst_sample_new (gst_sample_get_buffer (sample), gst_sample_get_caps (sample),
                        gst_sample_get_segment (sample), NULL);
  gst_sample_unref (sample);
  sample = own;

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->sample, gst_sample_unref);
  self->sample = sample;
  if (self->sample_idle_id == 0)
    self->sample_idle_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, sample_idle_cb, self, NULL);
  g_mutex_unlock (&self->lock);

  return GST_FLOW_OK;
}

static GstFlowReturn
new_sample_cb (GstAppSink *sink,
               gpointer    user_data)
{
  return take_sample (user_data, gst_app_sink_pull_sample (sink));
}

static GstFlowReturn
new_preroll_cb (GstAppSink *sink,
                gpointer    user_data)
{
  return take_sample (user_data, gst_app_sink_pull_preroll (sink));
}

/* The stream time of the frame shown, or the pipeline's position. */
static gint64
query_position (VmPlayback *self)
{
  gint64 pos = -1;

  if (!self->playing && self->shown != NULL)
    {
      GstBuffer *buffer = gst_sample_get_buffer (self->shown);
      const GstSegment *segment = gst_sample_get_segment (self->shown);

      if (buffer != NULL && segment != NULL && GST_BUFFER_PTS_IS_VALID (buffer))
        {
          guint64 t = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));

          if (t != GST_CLOCK_TIME_NONE)
            return (gint64) t;
        }
    }

  if (self->playbin && gst_element_query_position (self->playbin, GST_FORMAT_TIME, &pos))
    return pos;
  return self->position;
}

static void
update_position (VmPlayback *self)
{
  gint64 pos;

  if (self->playbin == NULL || self->path == NULL || self->seek_pending)
    return;

  pos = query_position (self);
  if (pos < 0)
    return;
  set_position (self, pos);

  if (self->duration < 0)
    {
      gint64 dur = -1;

      if (gst_element_query_duration (self->playbin, GST_FORMAT_TIME, &dur) && dur > 0)
        {
          self->duration = dur;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DURATION]);
        }
    }

  if (self->playing && self->loop_end > self->loop_start && pos >= self->loop_end)
    vm_playback_seek (self, self->loop_start, TRUE);
}

static gboolean
poll_cb (gpointer user_data)
{
  VmPlayback *self = user_data;

  if (self->playing)
    update_position (self);
  return G_SOURCE_CONTINUE;
}

static void
do_seek (VmPlayback *self,
         gint64      position,
         gboolean    accurate)
{
  GstSeekFlags flags = GST_SEEK_FLAG_FLUSH;

  flags |= accurate ? GST_SEEK_FLAG_ACCURATE : (GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_NEAREST);
  self->prerolled = FALSE;
  if (!gst_element_seek (self->playbin, self->rate, GST_FORMAT_TIME, flags,
                         GST_SEEK_TYPE_SET, MAX (position, 0),
                         GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE))
    g_debug ("seek to %" G_GINT64_FORMAT " refused", position);
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    user_data)
{
  VmPlayback *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) gst_error = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;
        g_autofree char *name = self->path ? g_path_get_basename (self->path) : g_strdup ("");

        gst_message_parse_error (message, &gst_error, &debug);
        g_debug ("playback error: %s (%s)", gst_error->message, debug ? debug : "");
        error = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                             _("Cannot play “%s”: %s"), name, gst_error->message);
        gst_element_set_state (self->playbin, GST_STATE_READY);
        self->want_playing = FALSE;
        set_playing (self, FALSE);
        g_signal_emit (self, signals[ERROR], 0, error);
      }
      break;

    case GST_MESSAGE_EOS:
      if (self->loop_end > self->loop_start)
        vm_playback_seek (self, self->loop_start, TRUE);
      else
        {
          self->want_playing = FALSE;
          gst_element_set_state (self->playbin, GST_STATE_PAUSED);
          set_playing (self, FALSE);
          if (self->duration > 0)
            set_position (self, self->duration);
          g_signal_emit (self, signals[EOS], 0);
        }
      break;

    case GST_MESSAGE_STATE_CHANGED:
      if (GST_MESSAGE_SRC (message) == GST_OBJECT (self->playbin))
        {
          GstState old_state, new_state, pending;

          gst_message_parse_state_changed (message, &old_state, &new_state, &pending);
          set_playing (self, new_state == GST_STATE_PLAYING);
        }
      break;

    case GST_MESSAGE_ASYNC_DONE:
      self->prerolled = TRUE;
      if (self->seek_pending)
        {
          self->seek_pending = FALSE;
          do_seek (self, self->pending_position, self->pending_accurate);
        }
      else
        update_position (self);
      break;

    case GST_MESSAGE_DURATION_CHANGED:
      self->duration = -1;
      update_position (self);
      break;

    default:
      break;
    }

  return G_SOURCE_CONTINUE;
}

static void
vm_playback_dispose (GObject *object)
{
  VmPlayback *self = VM_PLAYBACK (object);

  if (self->playbin != NULL)
    {
      /* Stops the streaming threads before the hand-off is cleared. */
      gst_element_set_state (self->playbin, GST_STATE_NULL);
      g_clear_handle_id (&self->bus_watch_id, g_source_remove);
      g_clear_object (&self->sink);
      gst_clear_object (&self->playbin);
    }
  g_clear_handle_id (&self->poll_id, g_source_remove);

  g_mutex_lock (&self->lock);
  g_clear_handle_id (&self->sample_idle_id, g_source_remove);
  g_clear_pointer (&self->sample, gst_sample_unref);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->shown, gst_sample_unref);

  G_OBJECT_CLASS (vm_playback_parent_class)->dispose (object);
}

static void
vm_playback_finalize (GObject *object)
{
  VmPlayback *self = VM_PLAYBACK (object);

  g_free (self->path);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (vm_playback_parent_class)->finalize (object);
}

static void
vm_playback_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  VmPlayback *self = VM_PLAYBACK (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_PLAYING:
      g_value_set_boolean (value, self->playing);
      break;
    case PROP_POSITION:
      g_value_set_int64 (value, self->position);
      break;
    case PROP_DURATION:
      g_value_set_int64 (value, self->duration);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_VOLUME:
      g_value_set_double (value, vm_playback_get_volume (self));
      break;
    case PROP_MUTED:
      g_value_set_boolean (value, vm_playback_get_muted (self));
      break;
    case PROP_LOOPING:
      g_value_set_boolean (value, vm_playback_get_looping (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_playback_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  VmPlayback *self = VM_PLAYBACK (object);

  switch (prop_id)
    {
    case PROP_RATE:
      vm_playback_set_rate (self, g_value_get_double (value));
      break;
    case PROP_VOLUME:
      vm_playback_set_volume (self, g_value_get_double (value));
      break;
    case PROP_MUTED:
      vm_playback_set_muted (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_playback_class_init (VmPlaybackClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = vm_playback_dispose;
  object_class->finalize = vm_playback_finalize;
  object_class->get_property = vm_playback_get_property;
  object_class->set_property = vm_playback_set_property;

  properties[PROP_PATH] = g_param_spec_string ("path", NULL, NULL, NULL, ro);
  properties[PROP_PLAYING] = g_param_spec_boolean ("playing", NULL, NULL, FALSE, ro);
  properties[PROP_POSITION] = g_param_spec_int64 ("position", NULL, NULL, -1, G_MAXINT64, -1, ro);
  properties[PROP_DURATION] = g_param_spec_int64 ("duration", NULL, NULL, -1, G_MAXINT64, -1, ro);
  properties[PROP_RATE] = g_param_spec_double ("rate", NULL, NULL, VM_PLAYBACK_MIN_RATE,
                                               VM_PLAYBACK_MAX_RATE, 1.0, rw);
  properties[PROP_VOLUME] = g_param_spec_double ("volume", NULL, NULL, 0.0, 1.0, 1.0, rw);
  properties[PROP_MUTED] = g_param_spec_boolean ("muted", NULL, NULL, FALSE, rw);
  properties[PROP_LOOPING] = g_param_spec_boolean ("looping", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A new frame (GstSample, RGBA) on the main thread. */
  signals[NEW_SAMPLE] = g_signal_new ("new-sample", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                      GST_TYPE_SAMPLE | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[EOS] = g_signal_new ("eos", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                               0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
vm_playback_init (VmPlayback *self)
{
  g_autoptr(GstCaps) caps = NULL;
  g_autoptr(GstBus) bus = NULL;
  GstAppSinkCallbacks callbacks = { 0 };

  g_mutex_init (&self->lock);
  self->position = -1;
  self->duration = -1;
  self->frame_duration = 40 * GST_MSECOND;
  self->rate = 1.0;
  self->loop_start = self->loop_end = -1;

  if (!vm_media_init (NULL))
    return;

  self->playbin = gst_element_factory_make ("playbin", NULL);
  self->sink = gst_element_factory_make ("appsink", NULL);
  if (self->playbin == NULL || self->sink == NULL)
    {
      g_warning ("GStreamer's playbin or appsink is missing");
      gst_clear_object (&self->playbin);
      gst_clear_object (&self->sink);
      return;
    }
  gst_object_ref_sink (self->playbin);
  gst_object_ref_sink (self->sink);

  caps = gst_caps_from_string ("video/x-raw,format=RGBA,pixel-aspect-ratio=1/1");
  g_object_set (self->sink,
                "caps", caps,
                "max-buffers", 2,
                "drop", FALSE,
                "enable-last-sample", FALSE,
                "qos", TRUE,
                NULL);
  callbacks.new_sample = new_sample_cb;
  callbacks.new_preroll = new_preroll_cb;
  gst_app_sink_set_callbacks (GST_APP_SINK (self->sink), &callbacks, self, NULL);
  g_object_set (self->playbin, "video-sink", self->sink, NULL);

  /* No subtitle rendering into the frames: text hits are shown beside them. */
  {
    guint flags = 0;

    g_object_get (self->playbin, "flags", &flags, NULL);
    flags &= ~(1u << 2); /* GST_PLAY_FLAG_TEXT */
    g_object_set (self->playbin, "flags", flags, NULL);
  }

  bus = gst_element_get_bus (self->playbin);
  self->bus_watch_id = gst_bus_add_watch (bus, bus_cb, self);
  self->poll_id = g_timeout_add (40, poll_cb, self);
}

VmPlayback *
vm_playback_new (void)
{
  return g_object_new (VM_TYPE_PLAYBACK, NULL);
}

void
vm_playback_open (VmPlayback *self,
                  const char *path)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  if (self->playbin == NULL)
    return;

  gst_element_set_state (self->playbin, GST_STATE_NULL);
  self->want_playing = FALSE;
  self->prerolled = FALSE;
  self->seek_pending = FALSE;
  self->duration = -1;
  self->frame_duration = 40 * GST_MSECOND;
  self->loop_start = self->loop_end = -1;
  g_clear_pointer (&self->shown, gst_sample_unref);
  set_playing (self, FALSE);

  g_free (self->path);
  self->path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATH]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DURATION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOOPING]);
  set_position (self, path ? 0 : -1);

  if (path == NULL)
    return;

  {
    g_autofree char *uri = gst_filename_to_uri (path, NULL);

    g_object_set (self->playbin, "uri", uri, NULL);
  }
  if (self->rate != 1.0)
    {
      /* The rate is applied by the first seek, once prerolled. */
      self->seek_pending = TRUE;
      self->pending_position = 0;
      self->pending_accurate = TRUE;
    }
  gst_element_set_state (self->playbin, GST_STATE_PAUSED);
}

const char *
vm_playback_get_path (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), NULL);
  return self->path;
}

void
vm_playback_play (VmPlayback *self)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  if (self->playbin == NULL || self->path == NULL)
    return;
  /* At the end: start over (or at the loop start). */
  if (self->duration > 0 && self->position >= self->duration - self->frame_duration)
    vm_playback_seek (self, self->loop_end > self->loop_start ? self->loop_start : 0, TRUE);
  self->want_playing = TRUE;
  gst_element_set_state (self->playbin, GST_STATE_PLAYING);
}

void
vm_playback_pause (VmPlayback *self)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  if (self->playbin == NULL || self->path == NULL)
    return;
  self->want_playing = FALSE;
  gst_element_set_state (self->playbin, GST_STATE_PAUSED);
}

void
vm_playback_toggle (VmPlayback *self)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  if (self->want_playing || self->playing)
    vm_playback_pause (self);
  else
    vm_playback_play (self);
}

gboolean
vm_playback_get_playing (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), FALSE);
  return self->playing;
}

gint64
vm_playback_get_position (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), -1);
  return self->position;
}

gint64
vm_playback_get_duration (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), -1);
  return self->duration;
}

gint64
vm_playback_get_frame_duration (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), 40 * GST_MSECOND);
  return self->frame_duration;
}

void
vm_playback_seek (VmPlayback *self,
                  gint64      position_ns,
                  gboolean    accurate)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  if (self->playbin == NULL || self->path == NULL)
    return;

  position_ns = MAX (position_ns, 0);
  if (self->duration > 0)
    position_ns = MIN (position_ns, self->duration);

  /* Shown at once, so that a slider does not jump back while seeking. */
  self->position = position_ns;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION]);

  if (!self->prerolled)
    {
      self->seek_pending = TRUE;
      self->pending_position = position_ns;
      self->pending_accurate = accurate;
      return;
    }
  do_seek (self, position_ns, accurate);
}

void
vm_playback_step (VmPlayback *self,
                  int         direction)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  if (self->playbin == NULL || self->path == NULL || direction == 0)
    return;

  if (self->want_playing || self->playing)
    vm_playback_pause (self);

  if (direction > 0)
    {
      if (!self->prerolled)
        {
          vm_playback_seek (self, self->position + self->frame_duration, TRUE);
          return;
        }
      gst_element_send_event (self->playbin,
                              gst_event_new_step (GST_FORMAT_BUFFERS, 1, 1.0, TRUE, FALSE));
    }
  else
    vm_playback_seek (self, MAX (self->position - self->frame_duration, 0), TRUE);
}

void
vm_playback_set_rate (VmPlayback *self,
                      double      rate)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  rate = CLAMP (rate, VM_PLAYBACK_MIN_RATE, VM_PLAYBACK_MAX_RATE);
  if (G_APPROX_VALUE (rate, self->rate, 1e-6))
    return;
  self->rate = rate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);

  if (self->playbin != NULL && self->path != NULL)
    vm_playback_seek (self, self->position >= 0 ? self->position : 0, TRUE);
}

double
vm_playback_get_rate (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), 1.0);
  return self->rate;
}

void
vm_playback_set_volume (VmPlayback *self,
                        double      volume)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  volume = CLAMP (volume, 0.0, 1.0);
  if (self->playbin == NULL || G_APPROX_VALUE (volume, vm_playback_get_volume (self), 1e-6))
    return;
  g_object_set (self->playbin, "volume", volume, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VOLUME]);
}

double
vm_playback_get_volume (VmPlayback *self)
{
  double volume = 1.0;

  g_return_val_if_fail (VM_IS_PLAYBACK (self), 1.0);
  if (self->playbin != NULL)
    g_object_get (self->playbin, "volume", &volume, NULL);
  return volume;
}

void
vm_playback_set_muted (VmPlayback *self,
                       gboolean    muted)
{
  g_return_if_fail (VM_IS_PLAYBACK (self));

  muted = !!muted;
  if (self->playbin == NULL || muted == vm_playback_get_muted (self))
    return;
  g_object_set (self->playbin, "mute", muted, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTED]);
}

gboolean
vm_playback_get_muted (VmPlayback *self)
{
  gboolean muted = FALSE;

  g_return_val_if_fail (VM_IS_PLAYBACK (self), FALSE);
  if (self->playbin != NULL)
    g_object_get (self->playbin, "mute", &muted, NULL);
  return muted;
}

void
vm_playback_set_loop (VmPlayback *self,
                      gint64      start_ns,
                      gint64      end_ns)
{
  gboolean was_looping;

  g_return_if_fail (VM_IS_PLAYBACK (self));

  was_looping = vm_playback_get_looping (self);
  if (end_ns <= start_ns)
    start_ns = end_ns = -1;
  self->loop_start = start_ns;
  self->loop_end = end_ns;
  if (was_looping != vm_playback_get_looping (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOOPING]);
}

gboolean
vm_playback_get_looping (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), FALSE);
  return self->loop_end > self->loop_start;
}

GstSample *
vm_playback_dup_sample (VmPlayback *self)
{
  g_return_val_if_fail (VM_IS_PLAYBACK (self), NULL);
  return self->shown ? gst_sample_ref (self->shown) : NULL;
}
