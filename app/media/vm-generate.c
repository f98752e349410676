/* vm-generate.c — short clips made with GStreamer, for tests and the demo
 * library: test patterns, on-screen text, subtitle tracks, synthetic speech,
 * variable frame rates.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-media.h"
#include "media/vm-media-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

/* Frame durations of a variable-frame-rate clip, in 1/25 s × this / 4:
 * 40, 20, 60, 30, 50 ms at 25 fps nominal (mean 40 ms). */
static const int vfr_pattern[] = { 4, 2, 6, 3, 5 };

typedef struct {
  const VmClipSpec *spec;
  GstElement       *overlay;
  const char       *current_text;
  guint64           frame_index;
  GstClockTime      next_pts;
} Generator;

static GstClockTime
nominal_frame_ns (const VmClipSpec *spec)
{
  return gst_util_uint64_scale_int (GST_SECOND, (int) spec->fps_den, (int) spec->fps_num);
}

static GstClockTime
vfr_duration (const VmClipSpec *spec,
              guint64           index)
{
  return nominal_frame_ns (spec) * vfr_pattern[index % G_N_ELEMENTS (vfr_pattern)] / 4;
}

/* Rewrites the timestamps of test-pattern frames into an irregular rhythm. */
static GstPadProbeReturn
vfr_probe_cb (GstPad          *pad,
              GstPadProbeInfo *info,
              gpointer         user_data)
{
  Generator *gen = user_data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime duration;

  if (buffer == NULL)
    return GST_PAD_PROBE_OK;

  buffer = gst_buffer_make_writable (buffer);
  duration = vfr_duration (gen->spec, gen->frame_index);
  GST_BUFFER_PTS (buffer) = gen->next_pts;
  GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buffer) = duration;
  gen->next_pts += duration;
  gen->frame_index++;
  GST_PAD_PROBE_INFO_DATA (info) = buffer;

  return GST_PAD_PROBE_OK;
}

/* Shows each overlay entry only inside its time window. */
static GstPadProbeReturn
overlay_probe_cb (GstPad          *pad,
                  GstPadProbeInfo *info,
                  gpointer         user_data)
{
  Generator *gen = user_data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  const char *text = "";
  double t;

  if (buffer == NULL || !GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_PAD_PROBE_OK;

  t = (double) GST_BUFFER_PTS (buffer) / GST_SECOND;
  for (guint i = 0; i < gen->spec->n_overlay; i++)
    {
      const VmTimedText *e = &gen->spec->overlay[i];

      if (t >= e->start && t < e->end && e->text != NULL)
        {
          text = e->text;
          break;
        }
    }
  if (text != gen->current_text)
    {
      g_object_set (gen->overlay, "text", text, NULL);
      gen->current_text = text;
    }
  return GST_PAD_PROBE_OK;
}

/* The Debian package that brings each element we use. */
static const char *
package_of (const char *factory)
{
  static const struct { const char *factory, *package; } packages[] = {
    { "textoverlay", "gstreamer1.0-x" },
    { "x264enc", "gstreamer1.0-plugins-ugly" },
    { "vp9enc", "gstreamer1.0-plugins-good" },
    { "webmmux", "gstreamer1.0-plugins-good" },
    { "matroskamux", "gstreamer1.0-plugins-good" },
    { "mp4mux", "gstreamer1.0-plugins-good" },
    { "wavparse", "gstreamer1.0-plugins-good" },
    { "lamemp3enc", "gstreamer1.0-plugins-good" },
    { "h264parse", "gstreamer1.0-plugins-bad" },
    { "voaacenc", "gstreamer1.0-plugins-bad" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (packages); i++)
    if (g_str_equal (packages[i].factory, factory))
      return packages[i].package;
  return "gstreamer1.0-plugins-base";
}

static GstElement *
make (const char  *factory,
      GError     **error)
{
  GstElement *element = gst_element_factory_make (factory, NULL);

  if (element == NULL)
    g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                 _("The GStreamer element “%s” is not installed (Debian package %s)"),
                 factory, package_of (factory));
  return element;
}

/* Adds @elements (NULL-terminated) to @bin and links them in a chain. */
static gboolean
add_chain (GstBin      *bin,
           GError     **error,
           ...)
{
  va_list args;
  GstElement *prev = NULL, *element;
  gboolean ok = TRUE;

  va_start (args, error);
  while ((element = va_arg (args, GstElement *)) != NULL)
    {
      if (GST_OBJECT_PARENT (element) == NULL)
        gst_bin_add (bin, element);
      if (prev != NULL && ok && !gst_element_link (prev, element))
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                       _("Cannot connect %s to %s"),
                       GST_OBJECT_NAME (prev), GST_OBJECT_NAME (element));
          ok = FALSE;
        }
      prev = element;
    }
  va_end (args);
  return ok;
}

static gboolean
link_to_mux (GstElement  *upstream,
             GstElement  *mux,
             const char  *template,
             GError     **error)
{
  g_autoptr(GstPad) srcpad = gst_element_get_static_pad (upstream, "src");
  GstPad *sinkpad = gst_element_request_pad_simple (mux, template);
  GstPadLinkReturn ret;

  if (sinkpad == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("The %s muxer takes no %s stream"),
                   GST_OBJECT_NAME (mux), template);
      return FALSE;
    }
  ret = gst_pad_link (srcpad, sinkpad);
  gst_object_unref (sinkpad);
  if (ret != GST_PAD_LINK_OK)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("Cannot connect a stream to the %s muxer (%s)"),
                   GST_OBJECT_NAME (mux), gst_pad_link_get_name (ret));
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_pipeline (GstElement    *pipeline,
              GCancellable  *cancellable,
              const char    *path,
              GError       **error)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);
  gboolean done = FALSE, ok = TRUE;

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      GstMessage *message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

      if (message != NULL)
        {
          g_autoptr(GError) gst_error = NULL;

          gst_message_parse_error (message, &gst_error, NULL);
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                       _("Generating a clip failed: %s"), gst_error->message);
          gst_message_unref (message);
        }
      else
        g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                             _("Generating a clip failed to start"));
      gst_element_set_state (pipeline, GST_STATE_NULL);
      return FALSE;
    }

  while (!done)
    {
      GstMessage *message;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      message = gst_bus_timed_pop_filtered (bus, 100 * GST_MSECOND,
                                            GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
      if (message == NULL)
        continue;
      if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
        {
          g_autoptr(GError) gst_error = NULL;
          g_autofree char *debug = NULL;

          gst_message_parse_error (message, &gst_error, &debug);
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                       _("Generating a clip failed: %s"), gst_error->message);
          ok = FALSE;
        }
      done = TRUE;
      gst_message_unref (message);
    }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  return ok;
}

static gboolean
speak_to_wav (const char    *text,
              const char    *wav_path,
              GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *err_out = NULL;
  int status = 0;
  /* The US English voice: what speech recognisers' US models follow best. */
  const char *argv[] = { "espeak-ng", "-v", "en-us", "-s", "150", "-w", wav_path, text, NULL };

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err_out, &status, &local_error))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("Speech needs espeak-ng (Debian package espeak-ng): %s"), local_error->message);
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, &local_error))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("espeak-ng failed: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

static GstElement *
make_audio_encoder (VmClipFormat   format,
                    GError       **error)
{
  GstElement *encoder;

  if (format == VM_CLIP_MP4_H264)
    {
      encoder = gst_element_factory_make ("voaacenc", NULL);
      if (encoder == NULL)
        encoder = gst_element_factory_make ("avenc_aac", NULL);
      if (encoder == NULL)
        encoder = make ("lamemp3enc", error);
      return encoder;
    }
  return make ("opusenc", error);
}

static GstElement *
build_pipeline (Generator         *gen,
                const char        *out_path,
                const char        *wav_path,
                GError           **error)
{
  const VmClipSpec *spec = gen->spec;
  g_autoptr(GstElement) pipeline = gst_pipeline_new ("vm-generate");
  GstBin *bin = GST_BIN (pipeline);
  GstElement *src, *caps, *convert, *encoder, *parser = NULL, *queue, *mux, *sink;
  GstElement *chain_end;
  g_autoptr(GstCaps) raw_caps = NULL;
  guint64 n_frames;
  guint key_int;
  double fps = (double) spec->fps_num / spec->fps_den;

  /* How many frames cover the duration. */
  if (spec->variable_framerate)
    {
      GstClockTime t = 0, end = (GstClockTime) llround (spec->duration * GST_SECOND);

      n_frames = 0;
      while (t < end)
        t += vfr_duration (spec, n_frames++);
    }
  else
    {
      n_frames = (guint64) MAX (1, llround (spec->duration * fps));
    }
  key_int = (guint) MAX (1, llround (spec->keyframe_interval * fps));

  if ((src = make ("videotestsrc", error)) == NULL)
    return NULL;
  g_object_set (src, "num-buffers", (int) MIN (n_frames, G_MAXINT), NULL);
  g_object_set (src, "pattern", spec->pattern, NULL);
  if (spec->pattern == 0)
    g_object_set (src, "horizontal-speed", 2, NULL);

  caps = make ("capsfilter", error);
  if (caps == NULL)
    {
      gst_object_unref (src);
      return NULL;
    }
  raw_caps = gst_caps_new_simple ("video/x-raw",
                                  "format", G_TYPE_STRING, "I420",
                                  "width", G_TYPE_INT, (int) spec->width,
                                  "height", G_TYPE_INT, (int) spec->height,
                                  "framerate", GST_TYPE_FRACTION, (int) spec->fps_num, (int) spec->fps_den,
                                  "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
                                  NULL);
  g_object_set (caps, "caps", raw_caps, NULL);
  if (!add_chain (bin, error, src, caps, NULL))
    return NULL;
  chain_end = caps;

  if (spec->variable_framerate)
    {
      g_autoptr(GstPad) pad = gst_element_get_static_pad (caps, "src");
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, vfr_probe_cb, gen, NULL);
    }

  if (spec->n_overlay > 0)
    {
      g_autoptr(GstPad) pad = NULL;
      g_autofree char *font = g_strdup_printf ("Sans Bold %u", MAX (8u, spec->height / 12));

      if ((gen->overlay = make ("textoverlay", error)) == NULL)
        return NULL;
      g_object_set (gen->overlay,
                    "text", "",
                    "font-desc", font,
                    "shaded-background", TRUE,
                    "wait-text", FALSE,
                    NULL);
      gst_util_set_object_arg (G_OBJECT (gen->overlay), "valignment", "center");
      gst_util_set_object_arg (G_OBJECT (gen->overlay), "halignment", "center");
      if (!add_chain (bin, error, chain_end, gen->overlay, NULL))
        return NULL;
      pad = gst_element_get_static_pad (gen->overlay, "video_sink");
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, overlay_probe_cb, gen, NULL);
      chain_end = gen->overlay;
    }

  if ((convert = make ("videoconvert", error)) == NULL)
    return NULL;

  switch (spec->format)
    {
    case VM_CLIP_WEBM_VP9:
      if ((encoder = make ("vp9enc", error)) == NULL)
        return NULL;
      g_object_set (encoder,
                    "deadline", (gint64) 1,
                    "cpu-used", 8,
                    "lag-in-frames", 0,
                    "keyframe-max-dist", (int) key_int,
                    "target-bitrate", (int) MAX (200000, spec->width * spec->height * 2),
                    "threads", 2,
                    NULL);
      if ((mux = make ("webmmux", error)) == NULL)
        return NULL;
      break;
    case VM_CLIP_MKV_H264:
    case VM_CLIP_MP4_H264:
    default:
      if ((encoder = make ("x264enc", error)) == NULL)
        return NULL;
      g_object_set (encoder,
                    "key-int-max", key_int,
                    "bframes", MIN (spec->b_frames, 16u),
                    "bitrate", (guint) MAX (300, spec->width * spec->height / 400),
                    NULL);
      gst_util_set_object_arg (G_OBJECT (encoder), "speed-preset", "ultrafast");
      if ((parser = make ("h264parse", error)) == NULL)
        return NULL;
      if ((mux = make (spec->format == VM_CLIP_MKV_H264 ? "matroskamux" : "mp4mux", error)) == NULL)
        return NULL;
      if (spec->format == VM_CLIP_MP4_H264)
        g_object_set (mux, "trak-timescale", 90000, NULL);
      break;
    }

  if ((queue = make ("queue", error)) == NULL || (sink = make ("filesink", error)) == NULL)
    return NULL;
  g_object_set (sink, "location", out_path, NULL);

  if (parser != NULL)
    {
      if (!add_chain (bin, error, chain_end, convert, encoder, parser, queue, NULL))
        return NULL;
    }
  else if (!add_chain (bin, error, chain_end, convert, encoder, queue, NULL))
    {
      return NULL;
    }
  if (!add_chain (bin, error, mux, sink, NULL))
    return NULL;
  if (!link_to_mux (queue, mux, "video_%u", error))
    return NULL;

  if (spec->n_subtitles > 0)
    {
      GstElement *appsrc = make ("appsrc", error);
      g_autoptr(GstCaps) text_caps = gst_caps_new_simple ("text/x-raw",
                                                          "format", G_TYPE_STRING, "utf8",
                                                          NULL);
      if (appsrc == NULL)
        return NULL;
      g_object_set (appsrc,
                    "caps", text_caps,
                    "format", GST_FORMAT_TIME,
                    "is-live", FALSE,
                    "max-bytes", (guint64) 0,
                    NULL);
      gst_bin_add (bin, appsrc);
      if (!link_to_mux (appsrc, mux, "subtitle_%u", error))
        return NULL;
      for (guint i = 0; i < spec->n_subtitles; i++)
        {
          const VmTimedText *e = &spec->subtitles[i];
          const char *text = e->text ? e->text : "";
          GstBuffer *buffer = gst_buffer_new_memdup (text, strlen (text));

          GST_BUFFER_PTS (buffer) = (GstClockTime) llround (MAX (e->start, 0) * GST_SECOND);
          GST_BUFFER_DURATION (buffer) = (GstClockTime) llround (MAX (e->end - e->start, 0.001) * GST_SECOND);
          gst_app_src_push_buffer (GST_APP_SRC (appsrc), buffer);
        }
      gst_app_src_end_of_stream (GST_APP_SRC (appsrc));
    }

  if (wav_path != NULL)
    {
      GstElement *asrc, *parse, *aconv, *resample, *aenc, *aqueue;

      if ((asrc = make ("filesrc", error)) == NULL ||
          (parse = make ("wavparse", error)) == NULL ||
          (aconv = make ("audioconvert", error)) == NULL ||
          (resample = make ("audioresample", error)) == NULL ||
          (aenc = make_audio_encoder (spec->format, error)) == NULL ||
          (aqueue = make ("queue", error)) == NULL)
        return NULL;
      g_object_set (asrc, "location", wav_path, NULL);
      if (!add_chain (bin, error, asrc, parse, aconv, resample, aenc, aqueue, NULL))
        return NULL;
      if (!link_to_mux (aqueue, mux, "audio_%u", error))
        return NULL;
    }

  return g_steal_pointer (&pipeline);
}

static gboolean
check_spec (const VmClipSpec  *spec,
            GError           **error)
{
  if (spec->width < 16 || spec->height < 16 || spec->width > 7680 || spec->height > 4320 ||
      spec->fps_num == 0 || spec->fps_den == 0 || !(spec->duration > 0) ||
      spec->duration > 24 * 3600 || !(spec->keyframe_interval > 0))
    {
      g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                           _("The clip description is not valid"));
      return FALSE;
    }
  return TRUE;
}

gboolean
vm_media_generate_clip (const VmClipSpec  *spec,
                        const char        *path,
                        GCancellable      *cancellable,
                        GError           **error)
{
  Generator gen = { 0, };
  VmClipSpec copy;
  g_autoptr(GstElement) pipeline = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *tmp_path = NULL;
  g_autofree char *base = NULL;
  g_autofree char *wav_dir = NULL;
  g_autofree char *wav_path = NULL;
  gboolean ok;

  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vm_media_init (error))
    return FALSE;
  if (!check_spec (spec, error))
    return FALSE;

  copy = *spec;
  /* Even sizes keep I420 and the encoders happy. */
  copy.width &= ~1u;
  copy.height &= ~1u;
  gen.spec = &copy;

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("The folder “%s” cannot be created: %s"), dir, g_strerror (errno));
      return FALSE;
    }
  base = g_path_get_basename (path);
  {
    g_autofree char *tmp_name = g_strdup_printf (".%s.%u.partial", base, g_random_int ());
    tmp_path = g_build_filename (dir, tmp_name, NULL);
  }

  if (spec->speech != NULL && *spec->speech != '\0')
    {
      wav_dir = g_dir_make_tmp ("vidmark-speech-XXXXXX", NULL);
      if (wav_dir == NULL)
        {
          g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                               _("No temporary folder for speech"));
          return FALSE;
        }
      wav_path = g_build_filename (wav_dir, "speech.wav", NULL);
      if (!speak_to_wav (spec->speech, wav_path, error))
        {
          g_rmdir (wav_dir);
          return FALSE;
        }
    }

  pipeline = build_pipeline (&gen, tmp_path, wav_path, error);
  ok = pipeline != NULL && run_pipeline (pipeline, cancellable, path, error);
  g_clear_pointer (&pipeline, gst_object_unref);

  if (wav_path != NULL)
    {
      g_unlink (wav_path);
      g_rmdir (wav_dir);
    }

  if (ok && g_rename (tmp_path, path) != 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("“%s” cannot be written: %s"), path, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (tmp_path);
  return ok;
}

static void
append_srt_time (GString *s,
                 double   seconds)
{
  gint64 ms = llround (MAX (seconds, 0) * 1000);

  g_string_append_printf (s, "%02d:%02d:%02d,%03d",
                          (int) (ms / 3600000), (int) (ms / 60000 % 60),
                          (int) (ms / 1000 % 60), (int) (ms % 1000));
}

gboolean
vm_media_write_srt (const char        *path,
                    const VmTimedText *entries,
                    guint              n_entries,
                    GError           **error)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (entries != NULL || n_entries == 0, FALSE);

  for (guint i = 0; i < n_entries; i++)
    {
      g_string_append_printf (s, "%u\n", i + 1);
      append_srt_time (s, entries[i].start);
      g_string_append (s, " --> ");
      append_srt_time (s, entries[i].end);
      g_string_append_printf (s, "\n%s\n\n", entries[i].text ? entries[i].text : "");
    }

  if (!g_file_set_contents (path, s->str, (gssize) s->len, &local_error))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("The subtitle file cannot be written: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- Demo library ------------------------------------------------------- */

static const VmTimedText demo_overlay[] = {
  { 1.0, 6.0, "WELCOME TO VIDMARK" },
};

static const VmTimedText demo_mkv_subtitles[] = {
  { 0.5, 3.0, "A white ball bounces around a black screen" },
  { 3.5, 6.0, "The ball keeps moving from wall to wall" },
  { 6.5, 9.0, "This is the last line of the subtitles" },
};

static const VmTimedText demo_sidecar[] = {
  { 0.5, 3.5, "Colour bars fill the screen" },
  { 4.0, 7.5, "These subtitles come from a separate file" },
};

static const char demo_speech[] =
  "Hello and welcome. This clip talks about a small orange cat sitting on a wooden fence.";

typedef struct {
  const char        *name;
  VmClipFormat       format;
  int                pattern;
  double             duration;
  const VmTimedText *overlay;
  guint              n_overlay;
  const VmTimedText *subtitles;
  guint              n_subtitles;
  const VmTimedText *sidecar;
  guint              n_sidecar;
  const char        *speech;
  const char        *about;
} DemoClip;

/* videotestsrc patterns: 0 SMPTE bars, 11 circular, 18 ball, 24 colors,
 * 25 SMPTE RP 219 bars. */
static const DemoClip demo_clips[] = {
  { "bars-h264.mp4", VM_CLIP_MP4_H264, 0, 8.0, NULL, 0, NULL, 0, NULL, 0, NULL,
    "H.264 in MP4: SMPTE colour bars scrolling sideways." },
  { "ball-vp9.webm", VM_CLIP_WEBM_VP9, 18, 6.0, NULL, 0, NULL, 0, NULL, 0, NULL,
    "VP9 in WebM: a white ball moving over black." },
  { "subtitled.mkv", VM_CLIP_MKV_H264, 18, 9.0, NULL, 0,
    demo_mkv_subtitles, G_N_ELEMENTS (demo_mkv_subtitles), NULL, 0, NULL,
    "H.264 in Matroska with an embedded text subtitle track; a white ball over black." },
  { "sidecar.mp4", VM_CLIP_MP4_H264, 25, 8.0, NULL, 0, NULL, 0,
    demo_sidecar, G_N_ELEMENTS (demo_sidecar), NULL,
    "H.264 in MP4, colour bars, with a sidecar subtitle file (sidecar.srt) beside it." },
  { "welcome.mp4", VM_CLIP_MP4_H264, 24, 7.0,
    demo_overlay, G_N_ELEMENTS (demo_overlay), NULL, 0, NULL, 0, NULL,
    "H.264 in MP4: a colour grid with white text on it from 1 s to 6 s." },
  { "speech.mkv", VM_CLIP_MKV_H264, 11, 8.0, NULL, 0, NULL, 0, NULL, 0, demo_speech,
    "H.264 and Opus in Matroska: circles, with synthetic speech (espeak-ng)." },
};

static void
append_entries (GString           *s,
                const char        *what,
                const VmTimedText *entries,
                guint              n)
{
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "    %s %.1f–%.1f s: “%s”\n",
                            what, entries[i].start, entries[i].end, entries[i].text);
}

gboolean
vm_media_generate_demo (const char    *dir,
                        void         (*progress) (const char *name, gpointer data),
                        gpointer       progress_data,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GString) readme = g_string_new (NULL);
  g_autofree char *readme_path = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vm_media_init (error))
    return FALSE;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("The folder “%s” cannot be created: %s"), dir, g_strerror (errno));
      return FALSE;
    }

  g_string_append (readme,
                   "Vidmark demo library\n"
                   "====================\n\n"
                   "Generated test clips (640x360, 25 frames/s) to try searching,\n"
                   "subtitles, on-screen text and speech.  Delete the folder freely;\n"
                   "`vidmark demo` makes it again.\n\n");

  for (guint i = 0; i < G_N_ELEMENTS (demo_clips); i++)
    {
      const DemoClip *clip = &demo_clips[i];
      g_autofree char *path = g_build_filename (dir, clip->name, NULL);
      VmClipSpec spec;

      g_string_append_printf (readme, "%s — %.0f s. %s\n", clip->name, clip->duration, clip->about);
      append_entries (readme, "on screen", clip->overlay, clip->n_overlay);
      append_entries (readme, "subtitle", clip->subtitles, clip->n_subtitles);
      append_entries (readme, "sidecar subtitle", clip->sidecar, clip->n_sidecar);
      if (clip->speech != NULL)
        g_string_append_printf (readme, "    spoken: “%s”\n", clip->speech);

      if (clip->n_sidecar > 0)
        {
          g_autofree char *stem = g_strndup (clip->name, strrchr (clip->name, '.') - clip->name);
          g_autofree char *srt_name = g_strconcat (stem, ".srt", NULL);
          g_autofree char *srt = g_build_filename (dir, srt_name, NULL);

          if (!g_file_test (srt, G_FILE_TEST_EXISTS) &&
              !vm_media_write_srt (srt, clip->sidecar, clip->n_sidecar, error))
            return FALSE;
        }

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        continue;
      if (progress != NULL)
        progress (clip->name, progress_data);

      vm_clip_spec_init (&spec);
      spec.format = clip->format;
      spec.width = 640;
      spec.height = 360;
      spec.duration = clip->duration;
      spec.keyframe_interval = 2.0;
      spec.pattern = clip->pattern;
      spec.overlay = clip->overlay;
      spec.n_overlay = clip->n_overlay;
      spec.subtitles = clip->subtitles;
      spec.n_subtitles = clip->n_subtitles;
      spec.speech = clip->speech;
      if (!vm_media_generate_clip (&spec, path, cancellable, error))
        return FALSE;
    }

  readme_path = g_build_filename (dir, "README.txt", NULL);
  if (!g_file_set_contents (readme_path, readme->str, (gssize) readme->len, &local_error))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("The demo README cannot be written: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}
