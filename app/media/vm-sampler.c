/* vm-sampler.c — RGB frames with exact timestamps, for indexing.
 *
 * The pipeline is
 *
 *   filesrc|fdsrc ! decodebin ! videoscale ! videoconvert ! RGB caps ! appsink
 *
 * and it is driven from the calling thread: samples are pulled from the
 * appsink with a short timeout and the bus is polled in between, so no
 * GMainLoop is needed.  Two pad probes do the work that makes sampling cheap:
 *
 *  - on the decoder's sink pad, compressed units are kept away from the
 *    decoder until they are known to be needed.  They are held back (cheap:
 *    they are compressed) and either thrown away when the next keyframe makes
 *    them useless, or replayed into the decoder, in order, when a frame that
 *    depends on them is wanted.  Keyframe mode wants the keyframes, and
 *    where keyframes are further apart than max_gap, the last frame at or
 *    before last + max_gap.  Rate mode wants the first frame at or after
 *    each k / rate (see rate_input_locked ());
 *  - on decodebin's video pad, every decoded frame that will not be
 *    delivered is dropped before it reaches the scaler and converter.
 *
 * No seek is made for the whole file: it is read once, in order.  A window
 * (start_ns/stop_ns) prerolls the pipeline with the probes standing aside,
 * then makes one flushing, accurate seek and samples as above from there;
 * units and frames still in flight from before the seek are dropped until
 * the new segment arrives.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-media.h"
#include "media/vm-media-private.h"
#include "core/vm-util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/pbutils/pbutils.h>
#include <gst/video/video.h>

#define POLL_INTERVAL (50 * GST_MSECOND)
#define MAX_HELD_BYTES (64 * 1024 * 1024)

typedef struct {
  GMutex            lock;
  VmSamplerOptions  options;
  const char       *path;

  GstElement       *pipeline;
  GstElement       *decodebin;
  GstElement       *scale;
  GstElement       *capsfilter;
  GstElement       *appsink;
  int               fd;

  /* Streaming-thread state, under @lock. */
  gint64            last_progress_us;
  gboolean          video_linked;
  gboolean          saw_non_video;
  gboolean          not_media;
  gboolean          no_more_pads;
  gboolean          input_probe;
  GstElement       *decoder;         /* the video decoder sampled */
  char             *missing_plugin;

  /* Decoder input side. */
  GstSegment        in_segment;
  GQueue            held;            /* GstBuffer*, units since the last decoded one */
  gsize             held_bytes;
  gboolean          replaying;
  guint64           next_in_k;       /* rate mode: next target at the decoder input */
  gint64            trigger_ts;      /* rate mode: latest pts decoded for a target */
  gboolean          pending_key;     /* rate mode: the last held unit is an undecided keyframe */
  gint64            key_ts;
  gint64            key_st;
  gboolean          full_decode;     /* open GOP seen: decode everything */
  gint64            trigger_floor;   /* rate mode: the target the latest trigger met */
  int               nal_length_size; /* H.264 framing, -1: not H.264 */
  gint64            max_in_st;       /* latest stream time seen at the decoder input */
  gint64            last_target_ns;  /* stream time of the last frame chosen */
  GHashTable       *targets;         /* buffer pts → keyframe? + 1 */

  /* Output side (decodebin's video pad). */
  GstSegment        out_segment;
  guint64           next_k;          /* rate mode: next target is next_k / rate */
  gint64            fallback_last_ns;
  GHashTable       *passed;          /* buffer pts → keyframe? + 1, frames on their way to the appsink */

  VmSamplerStats    stats;

  /* Windowed runs, under @lock. */
  gboolean          window;          /* start_ns or stop_ns set */
  gboolean          prerolling;      /* before the seek: everything flows, nothing is chosen */
  gboolean          in_seeking;      /* seek sent, decoder input has not seen its segment yet */
  gboolean          out_seeking;     /* same at decodebin's video pad */
  guint64           first_k;         /* rate mode: the first target in the window */

  /* Thumbnails, calling thread only. */
  GstElement       *thumb_pipeline;
  GstElement       *thumb_src;
  GstElement       *thumb_sink;
  GstCaps          *thumb_caps;
  guint             thumb_width;
  guint             thumb_height;
} Sampler;

static void
sampler_progress_locked (Sampler *self)
{
  self->last_progress_us = g_get_monotonic_time ();
}

static void
sampler_progress (Sampler *self)
{
  g_mutex_lock (&self->lock);
  sampler_progress_locked (self);
  g_mutex_unlock (&self->lock);
}

static gint64
buffer_time (GstBuffer *buffer)
{
  if (GST_BUFFER_PTS_IS_VALID (buffer))
    return (gint64) GST_BUFFER_PTS (buffer);
  if (GST_BUFFER_DTS_IS_VALID (buffer))
    return (gint64) GST_BUFFER_DTS (buffer);
  return -1;
}

static gint64
to_stream_time (const GstSegment *segment,
                gint64            ts)
{
  guint64 st;

  if (ts < 0)
    return -1;
  if (segment->format != GST_FORMAT_TIME)
    return ts;
  st = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, (guint64) ts);
  if (st == GST_CLOCK_TIME_NONE)
    return -1;
  return (gint64) st;
}

static gint64
max_gap_ns (const Sampler *self)
{
  if (!(self->options.max_gap > 0))
    return -1;
  return (gint64) llround (self->options.max_gap * GST_SECOND);
}

static void
clear_held_locked (Sampler *self)
{
  GstBuffer *buffer;

  while ((buffer = g_queue_pop_head (&self->held)) != NULL)
    gst_buffer_unref (buffer);
  self->held_bytes = 0;
  self->pending_key = FALSE;
}

/* ---- Decoder input: keep units away from the decoder until needed ----- */

/* H.264 only: TRUE when no slice in @buffer serves as a reference for
 * other frames (nal_ref_idc 0, typically B-frames), so that it can be left
 * out of decoding when it is not itself wanted.  @nal_length_size: 1-4 for
 * "avc" stream format, 0 for byte-stream, < 0 when not H.264. */
static gboolean
h264_disposable (GstBuffer *buffer,
                 int        nal_length_size)
{
  GstMapInfo map;
  gboolean any_slice = FALSE, reference = FALSE;
  gsize i = 0;

  if (nal_length_size < 0 || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return FALSE;

  while (i < map.size && !reference)
    {
      gsize nal, next;

      if (nal_length_size > 0)
        {
          guint64 len = 0;

          if (i + (gsize) nal_length_size >= map.size)
            break;
          for (int b = 0; b < nal_length_size; b++)
            len = (len << 8) | map.data[i + b];
          nal = i + nal_length_size;
          next = nal + len;
          if (len == 0 || next > map.size)
            break;
        }
      else
        {
          /* Find the next start code 00 00 01. */
          while (i + 3 <= map.size &&
                 !(map.data[i] == 0 && map.data[i + 1] == 0 && map.data[i + 2] == 1))
            i++;
          if (i + 3 >= map.size)
            break;
          nal = i + 3;
          next = nal + 1;
        }

      {
        guint type = map.data[nal] & 0x1f;
        guint ref_idc = (map.data[nal] >> 5) & 3;

        if (type == 1 || type == 5)
          {
            any_slice = TRUE;
            if (ref_idc != 0)
              reference = TRUE;
          }
      }
      i = next;
    }

  gst_buffer_unmap (buffer, &map);
  return any_slice && !reference;
}

/* Reads how NAL units are framed from the decoder's input caps. */
static int
nal_length_size_from_caps (GstCaps *caps)
{
  const GstStructure *s;
  const char *format;
  const GValue *value;
  GstBuffer *codec_data;
  GstMapInfo map;
  int size = -1;

  if (caps == NULL || gst_caps_get_size (caps) < 1)
    return -1;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, "video/x-h264"))
    return -1;
  format = gst_structure_get_string (s, "stream-format");
  if (format == NULL || g_str_equal (format, "byte-stream"))
    return 0;

  value = gst_structure_get_value (s, "codec_data");
  if (value == NULL || !GST_VALUE_HOLDS_BUFFER (value))
    return -1;
  codec_data = gst_value_get_buffer (value);
  if (gst_buffer_map (codec_data, &map, GST_MAP_READ))
    {
      /* avcC: version, profile, compatibility, level, 6 bits + length - 1 */
      if (map.size >= 5 && map.data[0] == 1)
        size = (map.data[4] & 3) + 1;
      gst_buffer_unmap (codec_data, &map);
    }
  return size == 3 ? -1 : size;
}

/* Gives the held units to the decoder, in order.  Called and returns
 * with the lock held; drops it while the decoder works. */
static void
replay_held_locked (Sampler  *self,
                    GstPad   *pad,
                    gboolean  keep_last)
{
  GQueue replay = self->held;
  GstFlowReturn ret = GST_FLOW_OK;
  guint64 n_replayed = 0;
  int nal_length_size = self->nal_length_size;
  GstBuffer *held;

  if (g_queue_is_empty (&replay))
    return;

  g_queue_init (&self->held);
  self->held_bytes = 0;
  self->pending_key = FALSE;
  self->replaying = TRUE;
  g_mutex_unlock (&self->lock);

  /* None of these is wanted itself (but the last with @keep_last): what
   * no other frame refers to need not be decoded. */
  while ((held = g_queue_pop_head (&replay)) != NULL)
    {
      gboolean wanted = keep_last && g_queue_is_empty (&replay);

      if (ret == GST_FLOW_OK && (wanted || !h264_disposable (held, nal_length_size)))
        {
          ret = gst_pad_chain (pad, held);
          n_replayed++;
        }
      else
        gst_buffer_unref (held);
    }

  g_mutex_lock (&self->lock);
  self->stats.units_decoded += n_replayed;
  self->replaying = FALSE;
}

/* Keeps @buffer back from the decoder; the probe owns it from now on.  When
 * too much is held (a very long stretch without keyframes), it is decoded
 * after all, to bound memory. */
static void
hold_locked (Sampler         *self,
             GstPad          *pad,
             GstPadProbeInfo *info,
             GstBuffer       *buffer)
{
  g_queue_push_tail (&self->held, buffer);
  self->held_bytes += gst_buffer_get_size (buffer);
  GST_PAD_PROBE_INFO_DATA (info) = NULL;
  if (self->held_bytes > MAX_HELD_BYTES)
    replay_held_locked (self, pad, FALSE);
}

static gint64
rate_target_ns (const Sampler *self,
                guint64        k)
{
  return (gint64) llround (k * (double) GST_SECOND / self->options.rate);
}

/* Rate mode: FALSE once target @k lies past the window's end. */
static gboolean
rate_target_in_window (const Sampler *self,
                       guint64        k)
{
  return self->options.stop_ns <= 0 || rate_target_ns (self, k) <= self->options.stop_ns;
}

/* Rate mode: the keyframe last held, undecided until the next unit shows
 * whether its group of pictures is closed.  If so, what came before it is
 * useless and dropped; the keyframe is decoded when it reaches the next
 * target time. */
static void
settle_pending_key_locked (Sampler *self,
                           GstPad  *pad)
{
  if (!self->pending_key)
    return;
  self->pending_key = FALSE;

  while (g_queue_get_length (&self->held) > 1)
    {
      GstBuffer *old = g_queue_pop_head (&self->held);

      self->held_bytes -= MIN (self->held_bytes, gst_buffer_get_size (old));
      gst_buffer_unref (old);
    }

  if (self->key_st >= rate_target_ns (self, self->next_in_k) &&
      rate_target_in_window (self, self->next_in_k))
    {
      self->trigger_floor = rate_target_ns (self, self->next_in_k);
      replay_held_locked (self, pad, FALSE);
      while (rate_target_ns (self, self->next_in_k) <= self->key_st)
        self->next_in_k++;
      self->trigger_ts = MAX (self->trigger_ts, self->key_ts);
    }
}

/* Rate mode, decoder input.  Every frame that will be delivered must be
 * decoded, and so must everything it depends on; nothing else need be.
 * Units are held back (compressed) from the last keyframe on; when one
 * reaches the next target time, the held ones and it go to the decoder.  A
 * keyframe that arrives first makes the held ones useless.
 *
 * With frame reordering (B-frames) the first unit in decode order at or
 * after the target is not always the first in presentation order: units
 * that come later but show earlier than a unit already decoded (the
 * B-frames after a P-frame) are decoded too.
 *
 * Open groups of pictures (frames right after a keyframe that show before
 * it and refer to the group before) are seen one unit after the keyframe,
 * while the group before is still held; from then on everything is decoded.
 *
 * The result is the same as decoding everything, in the same order, without
 * seeking. */
static GstPadProbeReturn
rate_input_locked (Sampler         *self,
                   GstPad          *pad,
                   GstPadProbeInfo *info,
                   GstBuffer       *buffer,
                   gint64           ts,
                   gint64           st)
{
  gboolean keyframe = !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);

  if (self->pending_key && !keyframe && ts >= 0 && ts < self->key_ts)
    {
      /* A leading picture: open GOP. */
      self->full_decode = TRUE;
      self->pending_key = FALSE;
    }

  if (st < 0 && self->window && ts >= 0 && GST_CLOCK_TIME_IS_VALID (self->in_segment.stop) &&
      (guint64) ts > self->in_segment.stop)
    {
      /* Past the window's segment. */
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_DROP;
    }

  if (self->full_decode || st < 0)
    {
      replay_held_locked (self, pad, FALSE);
      self->stats.units_decoded++;
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }

  settle_pending_key_locked (self, pad);

  if (ts >= 0 && ts < self->trigger_ts)
    {
      /* Shown before a frame already decoded: it may be the frame wanted,
       * unless it shows before that target too and nothing refers to it. */
      if (st < self->trigger_floor && h264_disposable (buffer, self->nal_length_size))
        {
          g_mutex_unlock (&self->lock);
          return GST_PAD_PROBE_DROP;
        }
      replay_held_locked (self, pad, FALSE);
      self->stats.units_decoded++;
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }

  if (!rate_target_in_window (self, self->next_in_k))
    {
      /* Past the window: nothing from here on is wanted. */
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_DROP;
    }

  if (keyframe)
    {
      hold_locked (self, pad, info, buffer);
      if (!g_queue_is_empty (&self->held))
        {
          self->pending_key = TRUE;
          self->key_ts = ts;
          self->key_st = st;
        }
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_HANDLED;
    }

  if (st >= rate_target_ns (self, self->next_in_k))
    {
      self->trigger_floor = rate_target_ns (self, self->next_in_k);
      replay_held_locked (self, pad, FALSE);
      while (rate_target_ns (self, self->next_in_k) <= st)
        self->next_in_k++;
      self->trigger_ts = MAX (self->trigger_ts, ts);
      self->stats.units_decoded++;
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }

  hold_locked (self, pad, info, buffer);
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_HANDLED;
}

static GstPadProbeReturn
decoder_sink_probe_cb (GstPad          *pad,
                       GstPadProbeInfo *info,
                       gpointer         user_data)
{
  Sampler *self = user_data;
  GstBuffer *buffer;
  gint64 ts, st, gap;
  gboolean pass;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    {
      GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

      g_mutex_lock (&self->lock);
      switch (GST_EVENT_TYPE (event))
        {
        case GST_EVENT_SEGMENT:
          gst_event_copy_segment (event, &self->in_segment);
          if (self->in_seeking)
            {
              /* The seek's segment: what was held is from before it. */
              self->in_seeking = FALSE;
              clear_held_locked (self);
            }
          break;
        case GST_EVENT_CAPS:
          {
            GstCaps *caps = NULL;

            gst_event_parse_caps (event, &caps);
            self->nal_length_size = nal_length_size_from_caps (caps);
          }
          break;
        case GST_EVENT_EOS:
          /* A keyframe held last may still be wanted. */
          if (self->options.mode == VM_SAMPLE_RATE)
            settle_pending_key_locked (self, pad);
          clear_held_locked (self);
          break;
        case GST_EVENT_FLUSH_STOP:
        case GST_EVENT_STREAM_START:
          clear_held_locked (self);
          break;
        default:
          break;
        }
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }

  buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  if (buffer == NULL)
    return GST_PAD_PROBE_OK;

  g_mutex_lock (&self->lock);
  sampler_progress_locked (self);

  if (self->replaying)
    {
      /* Probes may not see buffers given with gst_pad_chain (); if they do,
       * these are the held ones on their way to the decoder. */
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }
  if (self->in_seeking)
    {
      /* From before the window's seek. */
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_DROP;
    }
  self->stats.units_in++;
  if (self->prerolling)
    {
      /* One picture prerolls: the decoder gets what it needs for its first
       * output (a frame-threaded decoder holds a few frames back; units
       * after the first keyframe keep that to a few frames rather than a
       * few groups of pictures). */
      self->stats.units_decoded++;
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }

  ts = buffer_time (buffer);
  st = to_stream_time (&self->in_segment, ts);
  if (st < 0 && self->window && ts >= 0 && self->in_segment.format == GST_FORMAT_TIME &&
      (guint64) ts < self->in_segment.start)
    {
      /* Windows: before the seek's segment, between the keyframe and the
       * position asked for; held back like any unit before a target. */
      st = MAX ((gint64) self->in_segment.time - (gint64) (self->in_segment.start - (guint64) ts), 0);
    }
  if (st > self->max_in_st)
    self->max_in_st = st;

  if (self->options.mode == VM_SAMPLE_RATE)
    return rate_input_locked (self, pad, info, buffer, ts, st);

  gap = max_gap_ns (self);

  if (!GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT))
    {
      clear_held_locked (self);
      if (ts >= 0)
        {
          gint64 *key = g_new (gint64, 1);
          *key = ts;
          g_hash_table_insert (self->targets, key, GINT_TO_POINTER (2));
          if (st >= 0)
            self->last_target_ns = st;
        }
      self->stats.units_decoded++;
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }

  /* A delta unit. */
  if (gap < 0 || self->last_target_ns < 0 || st < 0)
    {
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_DROP;
    }

  /* Past the limit with frames held back: the last of them (at or before
   * the limit) becomes the next frame; decode forward to it. */
  if (st > self->last_target_ns + gap && !g_queue_is_empty (&self->held))
    {
      GstBuffer *tail = g_queue_peek_tail (&self->held);
      gint64 tail_ts = buffer_time (tail);
      gint64 *key = g_new (gint64, 1);

      *key = tail_ts;
      g_hash_table_insert (self->targets, key, GINT_TO_POINTER (1));
      self->last_target_ns = to_stream_time (&self->in_segment, tail_ts);
      replay_held_locked (self, pad, TRUE);
    }

  pass = st >= self->last_target_ns + gap;
  if (pass)
    {
      /* Nothing closer was held: this frame itself fills the gap, once the
       * decoder has seen what leads to it. */
      gint64 *key = g_new (gint64, 1);

      *key = ts;
      g_hash_table_insert (self->targets, key, GINT_TO_POINTER (1));
      self->last_target_ns = st;
      replay_held_locked (self, pad, FALSE);
      self->stats.units_decoded++;
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }

  /* Keep it for later. */
  hold_locked (self, pad, info, buffer);
  g_mutex_unlock (&self->lock);
  return GST_PAD_PROBE_HANDLED;
}

/* ---- Decoded frames: drop what will not be delivered -------------------- */

static void set_output_size (Sampler *self,
                             GstCaps *caps);

static GstPadProbeReturn
video_out_probe_cb (GstPad          *pad,
                    GstPadProbeInfo *info,
                    gpointer         user_data)
{
  Sampler *self = user_data;
  GstBuffer *buffer;
  gint64 ts, st;
  int keyframe = 0;
  gboolean pass = FALSE;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
    {
      GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

      if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT)
        {
          g_mutex_lock (&self->lock);
          gst_event_copy_segment (event, &self->out_segment);
          self->out_seeking = FALSE;
          g_mutex_unlock (&self->lock);
        }
      else if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS)
        {
          GstCaps *caps = NULL;

          /* New or changed picture size: keep the short side. */
          gst_event_parse_caps (event, &caps);
          set_output_size (self, caps);
        }
      return GST_PAD_PROBE_OK;
    }

  buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  if (buffer == NULL)
    return GST_PAD_PROBE_OK;

  ts = buffer_time (buffer);
  if (ts < 0)
    return GST_PAD_PROBE_DROP;

  g_mutex_lock (&self->lock);
  sampler_progress_locked (self);
  if (self->out_seeking)
    {
      /* Decoded before the window's seek. */
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_DROP;
    }
  self->stats.frames_out++;
  if (self->prerolling)
    {
      /* Only to preroll: deliver_sample () will not take it. */
      g_mutex_unlock (&self->lock);
      return GST_PAD_PROBE_OK;
    }
  st = to_stream_time (&self->out_segment, ts);

  if (self->options.mode == VM_SAMPLE_RATE)
    {
      double rate = self->options.rate > 0 ? self->options.rate : 1.0;

      if (st >= 0 && st >= (gint64) llround (self->next_k * (double) GST_SECOND / rate) &&
          rate_target_in_window (self, self->next_k))
        {
          pass = TRUE;
          keyframe = GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT) ? 1 : 2;
          while ((gint64) llround (self->next_k * (double) GST_SECOND / rate) <= st)
            self->next_k++;
        }
    }
  else if (self->input_probe)
    {
      gpointer value = NULL;

      gpointer stolen = NULL;

      if (g_hash_table_steal_extended (self->targets, &ts, &stolen, &value))
        {
          g_free (stolen);
          pass = TRUE;
          keyframe = GPOINTER_TO_INT (value);
        }
      /* Frames are delivered in pts order: no earlier target will come. */
    }
  else
    {
      /* No decoder was seen (raw video): choose frames here. */
      gint64 gap = max_gap_ns (self);

      if (st >= 0 &&
          (!GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT) ||
           self->fallback_last_ns < 0 ||
           (gap >= 0 && st >= self->fallback_last_ns + gap)))
        {
          pass = TRUE;
          keyframe = GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT) ? 1 : 2;
          self->fallback_last_ns = st;
        }
    }

  /* Keyframe mode: only the frames inside the window. */
  if (pass && self->window && self->options.mode != VM_SAMPLE_RATE &&
      (st < self->options.start_ns ||
       (self->options.stop_ns > 0 && st > self->options.stop_ns)))
    pass = FALSE;

  if (pass)
    {
      gint64 *key = g_new (gint64, 1);
      *key = ts;
      g_hash_table_insert (self->passed, key, GINT_TO_POINTER (keyframe));
    }
  g_mutex_unlock (&self->lock);

  return pass ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

/* ---- decodebin wiring --------------------------------------------------- */

static gboolean
is_subtitle_caps (const char *name)
{
  return g_str_has_prefix (name, "text/x-raw") ||
         g_str_has_prefix (name, "subpicture/") ||
         g_str_has_prefix (name, "subtitle/") ||
         g_str_has_prefix (name, "application/x-ass") ||
         g_str_has_prefix (name, "application/x-ssa") ||
         g_str_has_prefix (name, "application/x-subtitle") ||
         g_str_has_prefix (name, "application/x-usf") ||
         g_str_has_prefix (name, "application/x-kate") ||
         g_str_has_prefix (name, "text/x-vtt") ||
         g_str_has_prefix (name, "application/ttml");
}

static gboolean
is_text_caps (const char *name)
{
  return g_str_equal (name, "text/plain") ||
         g_str_equal (name, "text/html") ||
         g_str_equal (name, "text/uri-list") ||
         g_str_equal (name, "application/xml") ||
         g_str_has_prefix (name, "text/utf-");
}

static gboolean
autoplug_continue_cb (GstElement *bin,
                      GstPad     *pad,
                      GstCaps    *caps,
                      gpointer    user_data)
{
  Sampler *self = user_data;
  const char *name;

  if (caps == NULL || gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return TRUE;
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));

  if (is_text_caps (name))
    {
      g_mutex_lock (&self->lock);
      self->not_media = TRUE;
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  /* Never decode audio or subtitles: expose them as they are. */
  if (g_str_has_prefix (name, "audio/") || is_subtitle_caps (name))
    return FALSE;
  return TRUE;
}

static GstPadProbeReturn
drop_all_probe_cb (GstPad          *pad,
                   GstPadProbeInfo *info,
                   gpointer         user_data)
{
  return GST_PAD_PROBE_DROP;
}

static void
deep_element_added_cb (GstBin     *bin,
                       GstBin     *sub_bin,
                       GstElement *element,
                       gpointer    user_data)
{
  Sampler *self = user_data;
  GstElementFactory *factory = gst_element_get_factory (element);
  const char *klass;
  g_autoptr(GstPad) sinkpad = NULL;

  if (factory == NULL)
    return;
  klass = gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_KLASS);
  if (klass == NULL || strstr (klass, "Decoder") == NULL || strstr (klass, "Video") == NULL)
    return;

  sinkpad = gst_element_get_static_pad (element, "sink");
  if (sinkpad == NULL)
    return;

  /* The first video decoder is the one we sample; any other video stream is
   * not decoded at all. */
  g_mutex_lock (&self->lock);
  if (self->decoder == NULL)
    {
      self->decoder = gst_object_ref (element);
      self->input_probe = TRUE;
      g_mutex_unlock (&self->lock);
      gst_pad_add_probe (sinkpad,
                         GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                         decoder_sink_probe_cb, self, NULL);
    }
  else
    {
      g_mutex_unlock (&self->lock);
      gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, drop_all_probe_cb, NULL, NULL);
    }
}

static void
deep_element_removed_cb (GstBin     *bin,
                         GstBin     *sub_bin,
                         GstElement *element,
                         gpointer    user_data)
{
  Sampler *self = user_data;

  /* decodebin gave up on this decoder and will try another. */
  GstElement *old = NULL;

  g_mutex_lock (&self->lock);
  if (self->decoder == element)
    {
      old = g_steal_pointer (&self->decoder);
      clear_held_locked (self);
    }
  g_mutex_unlock (&self->lock);
  g_clear_object (&old);
}

/* TRUE when @pad carries the output of @element: walks upstream through
 * ghost pads and single-input elements. */
static gboolean
pad_comes_from (GstPad     *pad,
                GstElement *element)
{
  GstPad *p = gst_object_ref (pad);
  gboolean found = FALSE;

  for (guint depth = 0; p != NULL && depth < 32 && !found; depth++)
    {
      GstPad *next = NULL;

      if (GST_IS_GHOST_PAD (p))
        {
          next = gst_ghost_pad_get_target (GST_GHOST_PAD (p));
        }
      else
        {
          GstElement *parent = gst_pad_get_parent_element (p);

          if (parent != NULL)
            {
              if (parent == element)
                found = TRUE;
              else if (parent->numsinkpads == 1)
                {
                  GstPad *sink = GST_PAD (parent->sinkpads->data);
                  next = gst_pad_get_peer (sink);
                }
              gst_object_unref (parent);
            }
        }
      gst_object_unref (p);
      p = next;
    }
  if (p != NULL)
    gst_object_unref (p);
  return found;
}

static void
link_fakesink (Sampler *self,
               GstPad  *pad)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr(GstPad) sinkpad = NULL;

  if (sink == NULL)
    return;
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (self->pipeline), sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sinkpad);
  gst_element_sync_state_with_parent (sink);
}

static void
compute_size (const Sampler *self,
              GstCaps       *caps,
              int           *out_width,
              int           *out_height)
{
  GstVideoInfo vinfo;
  double dw, dh, scale;
  int w, h;

  *out_width = 0;
  *out_height = 0;
  if (self->options.short_side == 0 || caps == NULL || !gst_video_info_from_caps (&vinfo, caps))
    return;
  if (vinfo.width <= 0 || vinfo.height <= 0)
    return;

  dw = vinfo.width;
  dh = vinfo.height;
  if (vinfo.par_n > 0 && vinfo.par_d > 0)
    dw = dw * vinfo.par_n / vinfo.par_d;
  scale = self->options.short_side / MIN (dw, dh);
  w = (int) lround (dw * scale / 2.0) * 2;
  h = (int) lround (dh * scale / 2.0) * 2;
  *out_width = MAX (w, 2);
  *out_height = MAX (h, 2);
}

/* Sets the RGB caps the appsink gets, from the decoded caps @caps (or
 * only the format while they are not known yet). */
static void
set_output_size (Sampler *self,
                 GstCaps *caps)
{
  g_autoptr(GstCaps) filter = NULL;
  int w = 0, h = 0;

  if (caps != NULL && gst_caps_is_fixed (caps))
    compute_size (self, caps, &w, &h);
  if (w > 0 && h > 0)
    filter = gst_caps_new_simple ("video/x-raw",
                                  "format", G_TYPE_STRING, "RGB",
                                  "width", G_TYPE_INT, w,
                                  "height", G_TYPE_INT, h,
                                  "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
                                  NULL);
  else
    filter = gst_caps_new_simple ("video/x-raw",
                                  "format", G_TYPE_STRING, "RGB",
                                  NULL);
  g_object_set (self->capsfilter, "caps", filter, NULL);
}

static void
pad_added_cb (GstElement *bin,
              GstPad     *pad,
              gpointer    user_data)
{
  Sampler *self = user_data;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  const char *name = NULL;
  gboolean link_video = FALSE;
  GstElement *decoder;
  gboolean ours;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (caps != NULL && !gst_caps_is_empty (caps) && !gst_caps_is_any (caps))
    name = gst_structure_get_name (gst_caps_get_structure (caps, 0));

  g_mutex_lock (&self->lock);
  decoder = self->decoder != NULL ? gst_object_ref (self->decoder) : NULL;
  g_mutex_unlock (&self->lock);
  ours = decoder == NULL || pad_comes_from (pad, decoder);
  g_clear_object (&decoder);

  g_mutex_lock (&self->lock);
  if (name != NULL && g_str_equal (name, "video/x-raw") && !self->video_linked && ours)
    {
      self->video_linked = TRUE;
      link_video = TRUE;
    }
  else
    {
      self->saw_non_video = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (link_video)
    {
      g_autoptr(GstPad) sinkpad = gst_element_get_static_pad (self->scale, "sink");

      set_output_size (self, caps);
      gst_pad_add_probe (pad,
                         GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                         video_out_probe_cb, self, NULL);
      gst_pad_link (pad, sinkpad);
    }
  else
    {
      link_fakesink (self, pad);
    }
}

static void
no_more_pads_cb (GstElement *bin,
                 gpointer    user_data)
{
  Sampler *self = user_data;

  g_mutex_lock (&self->lock);
  self->no_more_pads = TRUE;
  g_mutex_unlock (&self->lock);
}

/* ---- Running ------------------------------------------------------------ */

static void thumbnailer_stop (Sampler *self);

static void
sampler_clear (Sampler *self)
{
  thumbnailer_stop (self);
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      gst_clear_object (&self->pipeline);
    }
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
  g_mutex_lock (&self->lock);
  clear_held_locked (self);
  g_mutex_unlock (&self->lock);
  gst_clear_object (&self->decoder);
  g_clear_pointer (&self->targets, g_hash_table_unref);
  g_clear_pointer (&self->passed, g_hash_table_unref);
  g_clear_pointer (&self->missing_plugin, g_free);
  g_mutex_clear (&self->lock);
}

static gboolean
sampler_build (Sampler  *self,
               GError  **error)
{
  g_autofree char *display = g_filename_display_basename (self->path);
  GstElement *src = NULL, *convert;
  GStatBuf st;

  self->pipeline = gst_pipeline_new ("vm-sampler");

  if (g_stat (self->path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      /* A FIFO or device: fdsrc can be interrupted while it waits. */
      self->fd = g_open (self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
      if (self->fd < 0)
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_PERMISSION,
                       _("“%s” cannot be read: %s"), display, g_strerror (errno));
          return FALSE;
        }
      src = gst_element_factory_make ("fdsrc", NULL);
      if (src != NULL)
        g_object_set (src, "fd", self->fd, NULL);
    }
  else
    {
      src = gst_element_factory_make ("filesrc", NULL);
      if (src != NULL)
        g_object_set (src, "location", self->path, NULL);
    }

  self->decodebin = gst_element_factory_make ("decodebin", NULL);
  self->scale = gst_element_factory_make ("videoscale", NULL);
  convert = gst_element_factory_make ("videoconvert", NULL);
  self->capsfilter = gst_element_factory_make ("capsfilter", NULL);
  self->appsink = gst_element_factory_make ("appsink", NULL);

  if (src == NULL || self->decodebin == NULL || self->scale == NULL ||
      convert == NULL || self->capsfilter == NULL || self->appsink == NULL)
    {
      g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                           _("A basic GStreamer plugin is missing (gstreamer1.0-plugins-base)"));
      g_clear_object (&src);
      g_clear_object (&self->decodebin);
      g_clear_object (&self->scale);
      g_clear_object (&convert);
      g_clear_object (&self->capsfilter);
      g_clear_object (&self->appsink);
      return FALSE;
    }

  g_object_set (self->appsink,
                "sync", FALSE,
                "max-buffers", 4,
                "drop", FALSE,
                "emit-signals", FALSE,
                "enable-last-sample", FALSE,
                NULL);

  gst_bin_add_many (GST_BIN (self->pipeline), src, self->decodebin, self->scale,
                    convert, self->capsfilter, self->appsink, NULL);
  if (!gst_element_link (src, self->decodebin) ||
      !gst_element_link_many (self->scale, convert, self->capsfilter, self->appsink, NULL))
    {
      g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                           _("The frame sampling pipeline could not be built"));
      return FALSE;
    }

  g_signal_connect (self->decodebin, "autoplug-continue", G_CALLBACK (autoplug_continue_cb), self);
  g_signal_connect (self->decodebin, "pad-added", G_CALLBACK (pad_added_cb), self);
  g_signal_connect (self->decodebin, "no-more-pads", G_CALLBACK (no_more_pads_cb), self);
  g_signal_connect (self->pipeline, "deep-element-added", G_CALLBACK (deep_element_added_cb), self);
  g_signal_connect (self->pipeline, "deep-element-removed", G_CALLBACK (deep_element_removed_cb), self);

  return TRUE;
}

char *
vm_sampler_thumbnail_path (const char *dir,
                           gint64      pts_ns)
{
  char name[64];

  g_return_val_if_fail (dir != NULL, NULL);

  g_snprintf (name, sizeof name, "%" G_GINT64_FORMAT ".jpg", MAX (pts_ns, 0) / GST_MSECOND);
  return g_build_filename (dir, name, NULL);
}

/* One small JPEG encoding pipeline per run, kept while the frame size
 * stays the same: much cheaper than a pipeline per thumbnail. */
static gboolean
thumbnailer_start (Sampler  *self,
                   GstCaps  *in_caps,
                   guint     width,
                   guint     height,
                   GError  **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GstCaps) out_caps = NULL;
  GstElement *pipeline;
  GstElement *src, *filter, *sink;

  pipeline = gst_parse_launch ("appsrc name=src format=time ! videoscale ! videoconvert ! "
                               "capsfilter name=filter ! jpegenc quality=80 ! "
                               "appsink name=sink sync=false enable-last-sample=false",
                               &local_error);
  if (pipeline == NULL || local_error != NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("Thumbnails need the jpeg plugin (gstreamer1.0-plugins-good): %s"),
                   local_error ? local_error->message : _("unknown error"));
      if (pipeline != NULL)
        gst_object_unref (pipeline);
      return FALSE;
    }

  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  filter = gst_bin_get_by_name (GST_BIN (pipeline), "filter");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  out_caps = gst_caps_new_simple ("video/x-raw",
                                  "width", G_TYPE_INT, (int) width,
                                  "height", G_TYPE_INT, (int) height,
                                  "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
                                  NULL);
  g_object_set (src, "caps", in_caps, NULL);
  g_object_set (filter, "caps", out_caps, NULL);
  gst_object_unref (filter);

  self->thumb_pipeline = pipeline;
  self->thumb_src = src;
  self->thumb_sink = sink;
  self->thumb_caps = gst_caps_ref (in_caps);
  self->thumb_width = width;
  self->thumb_height = height;

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                           _("The thumbnail encoder could not start"));
      return FALSE;
    }
  return TRUE;
}

static void
thumbnailer_stop (Sampler *self)
{
  if (self->thumb_pipeline != NULL)
    gst_element_set_state (self->thumb_pipeline, GST_STATE_NULL);
  gst_clear_object (&self->thumb_src);
  gst_clear_object (&self->thumb_sink);
  gst_clear_object (&self->thumb_pipeline);
  gst_clear_caps (&self->thumb_caps);
}

static GstSample *
encode_thumbnail (Sampler    *self,
                  GstSample  *sample,
                  guint       width,
                  guint       height,
                  GError    **error)
{
  GstCaps *caps = gst_sample_get_caps (sample);
  GstBuffer *buffer;
  GstSample *jpeg;

  if (self->thumb_pipeline != NULL &&
      (self->thumb_width != width || self->thumb_height != height ||
       !gst_caps_is_equal (self->thumb_caps, caps)))
    thumbnailer_stop (self);
  if (self->thumb_pipeline == NULL && !thumbnailer_start (self, caps, width, height, error))
    {
      thumbnailer_stop (self);
      return NULL;
    }

  /* Same memory, no timestamps: the encoder needs no timing. */
  buffer = gst_buffer_copy (gst_sample_get_buffer (sample));
  GST_BUFFER_PTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buffer) = GST_CLOCK_TIME_NONE;
  if (gst_app_src_push_buffer (GST_APP_SRC (self->thumb_src), buffer) != GST_FLOW_OK)
    jpeg = NULL;
  else
    jpeg = gst_app_sink_try_pull_sample (GST_APP_SINK (self->thumb_sink), 5 * GST_SECOND);

  if (jpeg == NULL || gst_sample_get_buffer (jpeg) == NULL)
    {
      g_autoptr(GstBus) bus = gst_element_get_bus (self->thumb_pipeline);
      g_autoptr(GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      g_autoptr(GError) gst_error = NULL;

      if (message != NULL)
        gst_message_parse_error (message, &gst_error, NULL);
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("A thumbnail could not be made: %s"),
                   gst_error ? gst_error->message : _("the encoder gave nothing back"));
      g_clear_pointer (&jpeg, gst_sample_unref);
      thumbnailer_stop (self);
      return NULL;
    }
  return jpeg;
}

static gboolean
write_thumbnail (Sampler    *self,
                 GstSample  *sample,
                 gint64      pts_ns,
                 guint       width,
                 guint       height,
                 GError    **error)
{
  g_autoptr(GstSample) jpeg = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *path = NULL;
  GstBuffer *buffer;
  GstMapInfo map;
  guint th = self->options.thumbnail_height ? self->options.thumbnail_height : 96;
  guint tw;
  gboolean ok;

  tw = (guint) MAX (2, lround ((double) width * th / MAX (height, 1) / 2.0) * 2);
  jpeg = encode_thumbnail (self, sample, tw, th, error);
  if (jpeg == NULL)
    return FALSE;
  buffer = gst_sample_get_buffer (jpeg);

  if (g_mkdir_with_parents (self->options.thumbnail_dir, 0755) != 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("The thumbnail folder “%s” cannot be created: %s"),
                   self->options.thumbnail_dir, g_strerror (errno));
      return FALSE;
    }

  path = vm_sampler_thumbnail_path (self->options.thumbnail_dir, pts_ns);
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    {
      g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                           _("A thumbnail could not be read back"));
      return FALSE;
    }
  ok = g_file_set_contents (path, (const char *) map.data, (gssize) map.size, &local_error);
  gst_buffer_unmap (buffer, &map);
  if (!ok)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("A thumbnail could not be written: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
deliver_sample (Sampler      *self,
                GstSample    *sample,
                VmFrameFunc   func,
                gpointer      user_data,
                GError      **error)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstCaps *caps = gst_sample_get_caps (sample);
  const GstSegment *segment = gst_sample_get_segment (sample);
  GstVideoInfo vinfo;
  GstVideoFrame vframe;
  VmFrame frame = { 0, };
  gint64 ts;
  gpointer value = NULL, stolen = NULL;
  gboolean ok, chosen;

  if (buffer == NULL || caps == NULL || !gst_video_info_from_caps (&vinfo, caps))
    return TRUE;

  ts = buffer_time (buffer);
  if (ts < 0)
    return TRUE;

  g_mutex_lock (&self->lock);
  chosen = g_hash_table_steal_extended (self->passed, &ts, &stolen, &value);
  if (chosen)
    {
      frame.keyframe = GPOINTER_TO_INT (value) == 2;
      g_free (stolen);
    }
  g_mutex_unlock (&self->lock);

  /* Windows: the preroll frame, or one from before the seek. */
  if (!chosen && self->window)
    return TRUE;

  frame.pts_ns = segment != NULL ? to_stream_time (segment, ts) : ts;
  if (frame.pts_ns < 0)
    frame.pts_ns = ts;

  if (!gst_video_frame_map (&vframe, &vinfo, buffer, GST_MAP_READ))
    {
      g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                           _("A decoded frame could not be read"));
      return FALSE;
    }
  frame.width = GST_VIDEO_FRAME_WIDTH (&vframe);
  frame.height = GST_VIDEO_FRAME_HEIGHT (&vframe);
  frame.stride = GST_VIDEO_FRAME_PLANE_STRIDE (&vframe, 0);
  frame.data = GST_VIDEO_FRAME_PLANE_DATA (&vframe, 0);

  self->stats.frames++;
  ok = func (&frame, user_data, error);
  gst_video_frame_unmap (&vframe);

  if (ok && self->options.thumbnail_dir != NULL)
    ok = write_thumbnail (self, sample, frame.pts_ns, frame.width, frame.height, error);

  if (ok && error != NULL && *error != NULL)
    g_clear_error (error);
  if (!ok && error != NULL && *error == NULL)
    g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                         _("Frame sampling was stopped"));
  return ok;
}

/* Returns the error for a bus message, or NULL when it is not fatal. */
static GError *
error_from_message (Sampler    *self,
                    GstMessage *message)
{
  g_autoptr(GError) gst_error = NULL;
  g_autofree char *debug = NULL;
  g_autofree char *display = g_filename_display_basename (self->path);

  gst_message_parse_error (message, &gst_error, &debug);

  g_mutex_lock (&self->lock);
  if (self->not_media)
    {
      g_mutex_unlock (&self->lock);
      return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                          _("“%s” is not a video file (it holds text)"), display);
    }
  if (self->missing_plugin != NULL)
    {
      GError *e = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                               _("“%s” needs a GStreamer plugin that is not installed (%s)"),
                               display, self->missing_plugin);
      g_mutex_unlock (&self->lock);
      return e;
    }
  g_mutex_unlock (&self->lock);

  return _vm_media_error_from_gst (self->path, gst_error, debug);
}

/* A stream that ends well before the duration its container announces was
 * cut short (demuxers usually just stop at the end of the data). */
static gboolean
sampler_truncated (Sampler     *self,
                   const char  *display,
                   GError     **error)
{
  gint64 duration = -1, last, slack;

  if (!gst_element_query_duration (self->pipeline, GST_FORMAT_TIME, &duration) || duration <= 0)
    return FALSE;

  g_mutex_lock (&self->lock);
  last = self->max_in_st;
  g_mutex_unlock (&self->lock);
  if (last < 0)
    return FALSE;

  slack = MAX (2 * GST_SECOND, duration / 20);
  if (last + slack >= duration)
    return FALSE;

  {
    g_autofree char *at = vm_format_timestamp (last);
    g_autofree char *of = vm_format_timestamp (duration);

    g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                 _("“%s” is truncated: its video stops at %s of %s"), display, at, of);
  }
  return TRUE;
}

/* Handles the messages on the bus: the first fatal one becomes the
 * returned error (NULL when none). */
static GError *
sampler_poll_bus (Sampler *self,
                  GstBus  *bus)
{
  GError *failure = NULL;
  GstMessage *message;

  while (failure == NULL &&
         (message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR | GST_MESSAGE_EOS |
                                               GST_MESSAGE_ELEMENT)) != NULL)
    {
      switch (GST_MESSAGE_TYPE (message))
        {
        case GST_MESSAGE_ERROR:
          failure = error_from_message (self, message);
          break;
        case GST_MESSAGE_EOS:
          /* The appsink reports its own EOS once its queue is empty. */
          break;
        case GST_MESSAGE_ELEMENT:
          if (gst_is_missing_plugin_message (message))
            {
              g_autofree char *what = gst_missing_plugin_message_get_description (message);

              g_mutex_lock (&self->lock);
              if (self->missing_plugin == NULL)
                self->missing_plugin = g_steal_pointer (&what);
              g_mutex_unlock (&self->lock);
            }
          break;
        default:
          break;
        }
      gst_message_unref (message);
    }
  return failure;
}

/* A file without video, or a run that stopped progressing: the error, or
 * NULL. */
static GError *
sampler_check_stalled (Sampler    *self,
                       const char *display,
                       guint       watchdog_ms)
{
  GError *failure = NULL;
  gint64 idle_ms;

  g_mutex_lock (&self->lock);
  if (self->no_more_pads && !self->video_linked)
    {
      if (self->not_media)
        failure = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                               _("“%s” is not a video file (it holds text)"), display);
      else if (self->missing_plugin != NULL)
        failure = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                               _("“%s” needs a GStreamer plugin that is not installed (%s)"),
                               display, self->missing_plugin);
      else
        failure = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_NO_VIDEO,
                               self->saw_non_video ? _("“%s” holds only audio, no video")
                                                   : _("“%s” holds no video stream"),
                               display);
    }
  idle_ms = (g_get_monotonic_time () - self->last_progress_us) / 1000;
  g_mutex_unlock (&self->lock);

  if (failure == NULL && idle_ms >= watchdog_ms)
    failure = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_TIMEOUT,
                           _("“%s” stopped progressing for %u ms and was abandoned"),
                           display, watchdog_ms);
  return failure;
}

/* Windows: prerolls the pipeline (PAUSED, the probes standing aside), then
 * seeks to the window, accurately, and resets the choice of frames. */
static gboolean
sampler_seek_window (Sampler       *self,
                     GstBus        *bus,
                     const char    *display,
                     guint          watchdog_ms,
                     GCancellable  *cancellable,
                     GError       **error)
{
  GstStateChangeReturn ret;
  GstSeekType stop_type = GST_SEEK_TYPE_NONE;
  gint64 stop = -1;
  GError *failure = NULL;

  g_mutex_lock (&self->lock);
  self->prerolling = TRUE;
  g_mutex_unlock (&self->lock);

  ret = gst_element_set_state (self->pipeline, GST_STATE_PAUSED);
  while (ret == GST_STATE_CHANGE_ASYNC)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      ret = gst_element_get_state (self->pipeline, NULL, NULL, POLL_INTERVAL);
      if (ret != GST_STATE_CHANGE_ASYNC)
        break;
      if ((failure = sampler_poll_bus (self, bus)) != NULL ||
          (failure = sampler_check_stalled (self, display, watchdog_ms)) != NULL)
        {
          g_propagate_error (error, failure);
          return FALSE;
        }
    }
  if (ret == GST_STATE_CHANGE_FAILURE)
    {
      if ((failure = sampler_poll_bus (self, bus)) == NULL)
        failure = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                               _("“%s” could not be opened for decoding"), display);
      g_propagate_error (error, failure);
      return FALSE;
    }
  if ((failure = sampler_poll_bus (self, bus)) != NULL)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  self->prerolling = FALSE;
  self->in_seeking = TRUE;
  self->out_seeking = TRUE;
  clear_held_locked (self);
  self->next_in_k = self->first_k;
  self->next_k = self->first_k;
  self->trigger_ts = -1;
  self->trigger_floor = -1;
  self->key_ts = -1;
  self->key_st = -1;
  self->last_target_ns = -1;
  self->fallback_last_ns = -1;
  self->max_in_st = -1;
  g_hash_table_remove_all (self->targets);
  g_hash_table_remove_all (self->passed);
  g_mutex_unlock (&self->lock);

  if (self->options.stop_ns > 0)
    {
      /* A second more: the frame at or after the last target comes later
       * than the target, and nothing past the targets is decoded. */
      stop_type = GST_SEEK_TYPE_SET;
      stop = self->options.stop_ns + GST_SECOND;
    }
  /* A second early: decoders clip a frame that straddles the segment's
   * start and stamp it with the start, so the frame there is a stand-in.
   * What lies before the first target is held back, not decoded. */
  if (!gst_element_seek (self->pipeline, 1.0, GST_FORMAT_TIME,
                         GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE,
                         GST_SEEK_TYPE_SET, MAX (self->options.start_ns - GST_SECOND, 0),
                         stop_type, stop))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("“%s” cannot be sampled from a given time: seeking in it failed"), display);
      return FALSE;
    }
  sampler_progress (self);
  return TRUE;
}

/* Windows: TRUE when no frame is expected, as the window starts at or
 * past the end of the video (or the duration is unknown). */
static gboolean
sampler_window_past_end (Sampler *self)
{
  gint64 duration = -1;

  if (!self->window)
    return FALSE;
  if (!gst_element_query_duration (self->pipeline, GST_FORMAT_TIME, &duration) || duration <= 0)
    return TRUE;
  return self->options.start_ns + GST_SECOND >= duration;
}

gboolean
vm_sampler_run (const char              *path,
                const VmSamplerOptions  *options,
                VmFrameFunc              func,
                gpointer                 user_data,
                GCancellable            *cancellable,
                GError                 **error)
{
  return vm_sampler_run_full (path, options, func, user_data, NULL, cancellable, error);
}

gboolean
vm_sampler_run_full (const char              *path,
                     const VmSamplerOptions  *options,
                     VmFrameFunc              func,
                     gpointer                 user_data,
                     VmSamplerStats          *stats,
                     GCancellable            *cancellable,
                     GError                 **error)
{
  Sampler self_storage = { 0, };
  Sampler *self = &self_storage;
  g_autoptr(GstBus) bus = NULL;
  g_autofree char *display = NULL;
  GError *failure = NULL;
  gboolean eos = FALSE;
  guint watchdog_ms;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (stats != NULL)
    memset (stats, 0, sizeof *stats);
  if (!vm_media_init (error))
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (!_vm_media_check_file (path, TRUE, FALSE, error))
    return FALSE;

  display = g_filename_display_basename (path);

  g_mutex_init (&self->lock);
  self->fd = -1;
  self->path = path;
  if (options != NULL)
    self->options = *options;
  else
    vm_sampler_options_init (&self->options);
  if (self->options.mode == VM_SAMPLE_RATE && !(self->options.rate > 0))
    self->options.rate = 1.0;
  watchdog_ms = self->options.watchdog_ms ? self->options.watchdog_ms : 30000;
  gst_segment_init (&self->in_segment, GST_FORMAT_TIME);
  gst_segment_init (&self->out_segment, GST_FORMAT_TIME);
  g_queue_init (&self->held);
  self->last_target_ns = -1;
  self->trigger_ts = -1;
  self->trigger_floor = -1;
  self->nal_length_size = -1;
  self->key_ts = -1;
  self->key_st = -1;
  self->max_in_st = -1;
  self->fallback_last_ns = -1;
  self->targets = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->passed = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->window = self->options.start_ns > 0 || self->options.stop_ns > 0;
  if (self->window && self->options.mode == VM_SAMPLE_RATE && self->options.start_ns > 0)
    {
      guint64 k = (guint64) floor (self->options.start_ns * self->options.rate / GST_SECOND);

      while (k > 0 && rate_target_ns (self, k - 1) >= self->options.start_ns)
        k--;
      while (rate_target_ns (self, k) < self->options.start_ns)
        k++;
      self->first_k = k;
    }

  if (!sampler_build (self, &failure))
    goto out;

  bus = gst_element_get_bus (self->pipeline);
  sampler_progress (self);

  if (self->window &&
      !sampler_seek_window (self, bus, display, watchdog_ms, cancellable, &failure))
    goto out;

  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      GstMessage *message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

      if (message != NULL)
        {
          failure = error_from_message (self, message);
          gst_message_unref (message);
        }
      else
        {
          failure = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                                 _("“%s” could not be opened for decoding"), display);
        }
      goto out;
    }

  while (failure == NULL && !eos)
    {
      GstSample *sample;

      if (g_cancellable_set_error_if_cancelled (cancellable, &failure))
        break;

      sample = gst_app_sink_try_pull_sample (GST_APP_SINK (self->appsink), POLL_INTERVAL);
      if (sample != NULL)
        {
          gboolean ok;

          sampler_progress (self);
          ok = deliver_sample (self, sample, func, user_data, &failure);
          gst_sample_unref (sample);
          if (!ok)
            break;
          continue;
        }

      if (gst_app_sink_is_eos (GST_APP_SINK (self->appsink)))
        {
          eos = TRUE;
          break;
        }

      failure = sampler_poll_bus (self, bus);
      if (failure != NULL)
        {
          /* Frames decoded before the failure are still delivered. */
          GError *late = NULL;

          while ((sample = gst_app_sink_try_pull_sample (GST_APP_SINK (self->appsink), 0)) != NULL)
            {
              gboolean ok = deliver_sample (self, sample, func, user_data, &late);

              gst_sample_unref (sample);
              if (!ok)
                break;
            }
          g_clear_error (&late);
          break;
        }

      failure = sampler_check_stalled (self, display, watchdog_ms);
    }

  if (failure == NULL && eos)
    {
      /* An error posted just before the end still counts. */
      GstMessage *message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

      if (message != NULL)
        {
          failure = error_from_message (self, message);
          gst_message_unref (message);
        }
      else if (!self->window && sampler_truncated (self, display, &failure))
        {
        }
      else if (self->stats.frames == 0 && !sampler_window_past_end (self))
        {
          failure = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                                 _("“%s” has no video frame that could be decoded"), display);
        }
    }

out:
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  if (stats != NULL)
    *stats = self->stats;
  sampler_clear (self);
  if (failure != NULL)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }
  return TRUE;
}
