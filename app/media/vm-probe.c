/* vm-probe.c — what a media file holds, from GstDiscoverer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-media.h"
#include "media/vm-media-private.h"

#include <string.h>

#include <glib/gi18n.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>

static char *
describe_caps (GstCaps *caps)
{
  char *description;

  if (caps == NULL || gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return NULL;
  description = gst_pb_utils_get_codec_description (caps);
  if (description == NULL)
    {
      const GstStructure *s = gst_caps_get_structure (caps, 0);
      description = g_strdup (gst_structure_get_name (s));
    }
  return description;
}

static char *
describe_stream (GstDiscovererStreamInfo *stream)
{
  g_autoptr(GstCaps) caps = gst_discoverer_stream_info_get_caps (stream);

  return describe_caps (caps);
}

/* TRUE when every missing element is for plain text or similar, i.e. the file
 * is no media at all rather than media we lack a plugin for. */
static gboolean
missing_is_not_media (GstDiscovererInfo *info)
{
  const char **details = gst_discoverer_info_get_missing_elements_installer_details (info);
  gboolean any = FALSE;

  if (details == NULL)
    return FALSE;
  for (guint i = 0; details[i] != NULL; i++)
    {
      any = TRUE;
      if (strstr (details[i], "text/plain") == NULL &&
          strstr (details[i], "text/html") == NULL &&
          strstr (details[i], "application/xml") == NULL &&
          strstr (details[i], "text/uri-list") == NULL &&
          strstr (details[i], "text/utf-") == NULL)
        return FALSE;
    }
  return any;
}

/* TRUE when the file has a video stream and only subtitle or other text
 * streams lack a plugin (WebVTT in WebM, for example): the video can still
 * be sampled, and the subtitles layer reads such streams by itself. */
static gboolean
missing_only_text_streams (GstDiscovererInfo *info)
{
  const char **details = gst_discoverer_info_get_missing_elements_installer_details (info);
  GList *video = NULL;
  gboolean ok = details != NULL && details[0] != NULL;

  for (guint i = 0; ok && details[i] != NULL; i++)
    if (strstr (details[i], "subtitle") == NULL &&
        strstr (details[i], "text/") == NULL)
      ok = FALSE;

  if (ok)
    {
      video = gst_discoverer_info_get_video_streams (info);
      ok = video != NULL;
      gst_discoverer_stream_info_list_free (video);
    }

  return ok;
}

static char *
missing_description (GstDiscovererInfo *info)
{
  const char **details = gst_discoverer_info_get_missing_elements_installer_details (info);
  GString *s = g_string_new (NULL);

  for (guint i = 0; details != NULL && details[i] != NULL; i++)
    {
      /* "gstreamer|1.0|app|Description|decoder-video/x-h265" → "Description" */
      g_auto(GStrv) fields = g_strsplit (details[i], "|", -1);
      const char *what = g_strv_length (fields) >= 4 ? fields[3] : details[i];

      if (s->len > 0)
        g_string_append (s, ", ");
      g_string_append (s, what);
    }
  if (s->len == 0)
    g_string_append (s, _("unknown format"));
  return g_string_free (s, FALSE);
}

static void
confirm_pad_added_cb (GstElement *decodebin,
                      GstPad     *pad,
                      gpointer    user_data)
{
  GstElement *pipeline = user_data;
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr(GstPad) sinkpad = NULL;

  if (sink == NULL)
    return;
  g_object_set (sink, "sync", FALSE, NULL);
  gst_bin_add (GST_BIN (pipeline), sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sinkpad);
  gst_element_sync_state_with_parent (sink);
}

/* GstDiscoverer reads in pull mode, where decodebin can swallow an error
 * that a demuxer posts while it is being started (the file then looks
 * stuck until the timeout).  After a timeout, a short look in push mode,
 * where that cannot happen, tells a broken file from a slow one.  Returns
 * the file's error, or NULL when it looks fine or still gets nowhere. */
GError *
_vm_media_confirm_timeout (const char *path,
                           guint       budget_ms)
{
  g_autoptr(GstElement) pipeline = gst_pipeline_new ("vm-probe-check");
  g_autoptr(GstBus) bus = NULL;
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstElement *queue = gst_element_factory_make ("queue", NULL);
  GstElement *decodebin = gst_element_factory_make ("decodebin", NULL);
  GError *result = NULL;
  gint64 deadline;

  if (src == NULL || queue == NULL || decodebin == NULL)
    {
      g_clear_object (&src);
      g_clear_object (&queue);
      g_clear_object (&decodebin);
      return NULL;
    }
  g_object_set (src, "location", path, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, queue, decodebin, NULL);
  if (!gst_element_link_many (src, queue, decodebin, NULL))
    return NULL;
  g_signal_connect (decodebin, "pad-added", G_CALLBACK (confirm_pad_added_cb), pipeline);

  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;
  while (result == NULL)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      GstMessage *message;

      if (left <= 0)
        break;
      message = gst_bus_timed_pop_filtered (bus, (GstClockTime) left * GST_USECOND,
                                            GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE);
      if (message == NULL)
        break;
      if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
        {
          g_autoptr(GError) gst_error = NULL;
          g_autofree char *debug = NULL;

          gst_message_parse_error (message, &gst_error, &debug);
          result = _vm_media_error_from_gst (path, gst_error, debug);
        }
      else if (GST_MESSAGE_SRC (message) == GST_OBJECT (pipeline))
        {
          gst_message_unref (message);
          break;
        }
      gst_message_unref (message);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return result;
}

VmMediaInfo *
vm_media_probe (const char  *path,
                guint        timeout_ms,
                GError     **error)
{
  g_autoptr(GstDiscoverer) discoverer = NULL;
  g_autoptr(GstDiscovererInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *display = NULL;
  g_autoptr(VmMediaInfo) result = NULL;
  GstDiscovererStreamInfo *top;
  GList *video_streams, *audio_streams, *subtitle_streams;
  GstDiscovererResult status;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!vm_media_init (error))
    return NULL;
  if (!_vm_media_check_file (path, FALSE, TRUE, error))
    return NULL;

  display = g_filename_display_basename (path);
  uri = gst_filename_to_uri (path, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND,
                   _("“%s” is not a valid file name"), display);
      return NULL;
    }

  if (timeout_ms == 0)
    timeout_ms = 10000;
  discoverer = gst_discoverer_new ((GstClockTime) timeout_ms * GST_MSECOND, &local_error);
  if (discoverer == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_INIT,
                   _("GStreamer cannot inspect files: %s"),
                   local_error ? local_error->message : _("unknown error"));
      return NULL;
    }

  info = gst_discoverer_discover_uri (discoverer, uri, &local_error);
  if (info == NULL)
    {
      g_propagate_error (error, _vm_media_error_from_gst (path, local_error, NULL));
      return NULL;
    }

  status = gst_discoverer_info_get_result (info);
  switch (status)
    {
    case GST_DISCOVERER_OK:
      break;
    case GST_DISCOVERER_URI_INVALID:
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND,
                   _("“%s” does not exist"), display);
      return NULL;
    case GST_DISCOVERER_TIMEOUT:
      {
        GError *real = _vm_media_confirm_timeout (path, MIN (timeout_ms, 3000));

        if (real != NULL)
          g_propagate_error (error, real);
        else
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_TIMEOUT,
                       _("“%s” took longer than %u ms to inspect"), display, timeout_ms);
      }
      return NULL;
    case GST_DISCOVERER_BUSY:
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                   _("“%s” could not be inspected (busy)"), display);
      return NULL;
    case GST_DISCOVERER_MISSING_PLUGINS:
      if (missing_only_text_streams (info))
        break;
      if (missing_is_not_media (info))
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                       _("“%s” is not a video file (it holds text)"), display);
        }
      else
        {
          g_autofree char *what = missing_description (info);
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                       _("“%s” needs a GStreamer plugin that is not installed (%s)"),
                       display, what);
        }
      return NULL;
    case GST_DISCOVERER_ERROR:
    default:
      g_propagate_error (error, _vm_media_error_from_gst (path, local_error, NULL));
      return NULL;
    }

  video_streams = gst_discoverer_info_get_video_streams (info);
  audio_streams = gst_discoverer_info_get_audio_streams (info);
  subtitle_streams = gst_discoverer_info_get_subtitle_streams (info);

  result = g_new0 (VmMediaInfo, 1);
  result->duration_ns = -1;
  result->fps_num = 0;
  result->fps_den = 1;

  top = gst_discoverer_info_get_stream_info (info);
  if (top != NULL)
    {
      if (GST_IS_DISCOVERER_CONTAINER_INFO (top))
        result->container = describe_stream (top);
      gst_discoverer_stream_info_unref (top);
    }

  /* The first video stream that is not a still image. */
  for (GList *l = video_streams; l != NULL; l = l->next)
    {
      GstDiscovererVideoInfo *v = l->data;

      if (gst_discoverer_video_info_is_image (v))
        continue;
      result->width = (int) gst_discoverer_video_info_get_width (v);
      result->height = (int) gst_discoverer_video_info_get_height (v);
      result->fps_num = (int) gst_discoverer_video_info_get_framerate_num (v);
      result->fps_den = (int) gst_discoverer_video_info_get_framerate_denom (v);
      if (result->fps_num <= 0 || result->fps_den <= 0)
        {
          result->fps_num = 0;
          result->fps_den = 1;
        }
      result->video_codec = describe_stream (GST_DISCOVERER_STREAM_INFO (v));
      break;
    }

  if (audio_streams != NULL)
    {
      result->has_audio = TRUE;
      result->audio_codec = describe_stream (GST_DISCOVERER_STREAM_INFO (audio_streams->data));
    }
  result->n_subtitle_streams = g_list_length (subtitle_streams);

  if (result->video_codec == NULL)
    {
      if (video_streams != NULL)
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NO_VIDEO,
                     _("“%s” is a still image, not a video"), display);
      else if (audio_streams != NULL)
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NO_VIDEO,
                     _("“%s” holds only audio, no video"), display);
      else
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NO_VIDEO,
                     _("“%s” holds no video stream"), display);
      gst_discoverer_stream_info_list_free (video_streams);
      gst_discoverer_stream_info_list_free (audio_streams);
      gst_discoverer_stream_info_list_free (subtitle_streams);
      return NULL;
    }

  if (GST_CLOCK_TIME_IS_VALID (gst_discoverer_info_get_duration (info)))
    result->duration_ns = (gint64) gst_discoverer_info_get_duration (info);
  result->seekable = gst_discoverer_info_get_seekable (info);

  gst_discoverer_stream_info_list_free (video_streams);
  gst_discoverer_stream_info_list_free (audio_streams);
  gst_discoverer_stream_info_list_free (subtitle_streams);

  return g_steal_pointer (&result);
}
