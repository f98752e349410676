/* vm-media.c — error domain, GStreamer start-up and option defaults.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-media.h"
#include "media/vm-media-private.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <inttypes.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>

G_DEFINE_QUARK (vm-media-error-quark, vm_media_error)

static GError *init_error;

gboolean
vm_media_init (GError **error)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      GError *local_error = NULL;

      if (!gst_init_check (NULL, NULL, &local_error))
        {
          init_error = g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_INIT,
                                    _("GStreamer could not start: %s"),
                                    local_error ? local_error->message : _("unknown error"));
          g_clear_error (&local_error);
        }
      else
        {
          gst_pb_utils_init ();
        }
      g_once_init_leave (&initialised, 1);
    }

  if (init_error != NULL)
    {
      if (error != NULL)
        *error = g_error_copy (init_error);
      return FALSE;
    }
  return TRUE;
}

void
vm_sampler_options_init (VmSamplerOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->mode = VM_SAMPLE_KEYFRAMES;
  options->rate = 1.0;
  options->max_gap = 4.0;
  options->short_side = 224;
  options->watchdog_ms = 30000;
  options->thumbnail_dir = NULL;
  options->thumbnail_height = 96;
  options->start_ns = 0;
  options->stop_ns = 0;
}

void
vm_clip_spec_init (VmClipSpec *spec)
{
  g_return_if_fail (spec != NULL);

  memset (spec, 0, sizeof *spec);
  spec->format = VM_CLIP_MP4_H264;
  spec->width = 320;
  spec->height = 240;
  spec->fps_num = 25;
  spec->fps_den = 1;
  spec->duration = 4.0;
  spec->keyframe_interval = 2.0;
  spec->variable_framerate = FALSE;
  spec->pattern = 0;
}

void
vm_media_info_free (VmMediaInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->container);
  g_free (info->video_codec);
  g_free (info->audio_codec);
  g_free (info);
}

static guint64
read_be (const guint8 *p,
         guint         n)
{
  guint64 v = 0;

  for (guint i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* An MP4/QuickTime file (first box "ftyp") is a sequence of boxes.  A file
 * cut short ends inside a box, or lacks the "moov" index the muxer writes
 * last.  qtdemux reports that case while decodebin is still setting it up,
 * where the error can be lost and the pipeline stalls, so we check it here. */
static gboolean
check_iso_bmff (int          fd,
                guint64      file_size,
                const char  *display,
                GError     **error)
{
  guint8 header[16];
  guint64 offset = 0;
  gboolean have_moov = FALSE;

  if (pread (fd, header, 8, 0) != 8 || memcmp (header + 4, "ftyp", 4) != 0)
    return TRUE;

  for (guint n = 0; offset < file_size && n < 100000; n++)
    {
      guint64 size;
      gssize got = pread (fd, header, 16, (off_t) offset);

      if (got < 8)
        break;
      size = read_be (header, 4);
      if (size == 1)
        {
          if (got < 16)
            break;
          size = read_be (header + 8, 8);
        }
      else if (size == 0)
        size = file_size - offset;

      if (memcmp (header + 4, "moov", 4) == 0)
        have_moov = TRUE;

      if (size < 8)
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                       _("“%s” is damaged (invalid box at byte %" PRIu64 ")"),
                       display, offset);
          return FALSE;
        }
      if (size > file_size - offset)
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                       _("“%s” is truncated (it ends %" PRIu64 " bytes early)"),
                       display, size - (file_size - offset));
          return FALSE;
        }
      offset += size;
    }

  if (!have_moov && offset >= file_size)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                   _("“%s” is incomplete (it has no index, the recording was probably not finished)"),
                   display);
      return FALSE;
    }
  return TRUE;
}

/* Reads an EBML variable-length integer at @p (at most @avail bytes): its
 * length in bytes, 0 when invalid.  @keep_marker keeps the length bits (IDs
 * are written that way).  *@unknown is set for the reserved "unknown size". */
static guint
read_vint (const guint8 *p,
           gsize         avail,
           gboolean      keep_marker,
           guint64      *out,
           gboolean     *unknown)
{
  guint len = 1;
  guint64 v;
  gboolean all_ones;

  if (avail < 1 || p[0] == 0)
    return 0;
  while (len <= 8 && !(p[0] & (0x80 >> (len - 1))))
    len++;
  if (len > 8 || len > avail)
    return 0;

  v = keep_marker ? p[0] : (p[0] & (0xff >> len));
  all_ones = (p[0] & (0xff >> len)) == (0xff >> len);
  for (guint i = 1; i < len; i++)
    {
      v = (v << 8) | p[i];
      all_ones = all_ones && p[i] == 0xff;
    }
  *out = v;
  if (unknown != NULL)
    *unknown = all_ones;
  return len;
}

/* Matroska/WebM: the EBML header, then a Segment whose size (when the
 * muxer wrote one) says how long the file must be. */
static gboolean
check_ebml (int          fd,
            guint64      file_size,
            const char  *display,
            GError     **error)
{
  guint8 buf[64];
  gssize got = pread (fd, buf, sizeof buf, 0);
  guint64 id, size, offset;
  gboolean unknown = FALSE;
  guint n;

  if (got < 4 || memcmp (buf, "\x1a\x45\xdf\xa3", 4) != 0)
    return TRUE;

  offset = 4;
  n = read_vint (buf + offset, (gsize) got - offset, FALSE, &size, &unknown);
  if (n == 0 || unknown)
    return TRUE;
  offset += n + size;

  got = pread (fd, buf, 12, (off_t) offset);
  if (got < 0)
    return TRUE;
  if (got < 5)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                   _("“%s” is truncated (it ends after its header)"), display);
      return FALSE;
    }
  n = read_vint (buf, (gsize) got, TRUE, &id, NULL);
  if (n == 0 || id != 0x18538067)
    return TRUE;
  offset += n;
  n = read_vint (buf + 4, (gsize) got - 4, FALSE, &size, &unknown);
  if (n == 0 || unknown)
    return TRUE;
  offset += n;

  if (offset + size > file_size)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                   _("“%s” is truncated (it ends %" PRIu64 " bytes early)"),
                   display, offset + size - file_size);
      return FALSE;
    }
  return TRUE;
}

/* Checks what can be checked without GStreamer: the file exists, is a
 * regular file (or, with @allow_special, a FIFO/character device), can be
 * opened for reading and is not empty; an MP4 has all its boxes and its
 * index; with @check_structure, a Matroska/WebM file is as long as its
 * header says. */
gboolean
_vm_media_check_file (const char  *path,
                      gboolean     allow_special,
                      gboolean     check_structure,
                      GError     **error)
{
  GStatBuf st;
  g_autofree char *display = NULL;
  int fd;

  if (path == NULL || *path == '\0')
    {
      g_set_error_literal (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND,
                           _("No file name given"));
      return FALSE;
    }

  display = g_filename_display_basename (path);

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      if (saved == EACCES)
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_PERMISSION,
                     _("“%s” cannot be read: permission denied"), display);
      else if (saved == ENOENT || saved == ENOTDIR)
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND,
                     _("“%s” does not exist"), display);
      else
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                     _("“%s” cannot be opened: %s"), display, g_strerror (saved));
      return FALSE;
    }

  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                   _("“%s” is a folder, not a video file"), display);
      return FALSE;
    }

  if (!S_ISREG (st.st_mode) && !(allow_special && (S_ISFIFO (st.st_mode) || S_ISCHR (st.st_mode))))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                   _("“%s” is not a regular file"), display);
      return FALSE;
    }

  /* Non-blocking so that a FIFO without a writer cannot hang us here. */
  fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == EACCES || saved == EPERM)
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_PERMISSION,
                     _("“%s” cannot be read: permission denied"), display);
      else if (saved == ENOENT)
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND,
                     _("“%s” does not exist"), display);
      else
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                     _("“%s” cannot be opened: %s"), display, g_strerror (saved));
      return FALSE;
    }

  if (S_ISREG (st.st_mode))
    {
      char byte;
      gssize n;

      /* Root can open anything; a read still fails on some mounts. */
      n = read (fd, &byte, 1);
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          if (saved == EACCES || saved == EPERM)
            g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_PERMISSION,
                         _("“%s” cannot be read: permission denied"), display);
          else
            g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                         _("“%s” cannot be read: %s"), display, g_strerror (saved));
          return FALSE;
        }
      if (n == 0 || st.st_size == 0)
        {
          close (fd);
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_EMPTY,
                       _("“%s” is empty (0 bytes)"), display);
          return FALSE;
        }
    }

  if (S_ISREG (st.st_mode) &&
      (!check_iso_bmff (fd, (guint64) st.st_size, display, error) ||
       (check_structure && !check_ebml (fd, (guint64) st.st_size, display, error))))
    {
      close (fd);
      return FALSE;
    }

  close (fd);
  return TRUE;
}

/* First line of @text, without trailing punctuation noise. */
static char *
first_line (const char *text)
{
  const char *end;

  if (text == NULL)
    return g_strdup ("");
  end = strchr (text, '\n');
  if (end == NULL)
    return g_strstrip (g_strdup (text));
  return g_strstrip (g_strndup (text, end - text));
}

/* Maps a GStreamer error (from the bus or the discoverer) to our domain. */
GError *
_vm_media_error_from_gst (const char   *path,
                          const GError *gst_error,
                          const char   *debug)
{
  g_autofree char *display = g_filename_display_basename (path);
  g_autofree char *detail = first_line (gst_error ? gst_error->message : NULL);
  VmMediaError code = VM_MEDIA_ERROR_FAILED;

  if (gst_error == NULL)
    return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                        _("“%s” could not be read"), display);

  if (gst_error->domain == GST_STREAM_ERROR)
    {
      switch (gst_error->code)
        {
        case GST_STREAM_ERROR_TYPE_NOT_FOUND:
        case GST_STREAM_ERROR_WRONG_TYPE:
          return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                              _("“%s” is not a video file GStreamer recognises"), display);
        case GST_STREAM_ERROR_CODEC_NOT_FOUND:
          return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                              _("“%s” needs a GStreamer plugin that is not installed (%s)"),
                              display, detail);
        case GST_STREAM_ERROR_DECODE:
        case GST_STREAM_ERROR_DEMUX:
        case GST_STREAM_ERROR_FORMAT:
        case GST_STREAM_ERROR_DECRYPT:
        case GST_STREAM_ERROR_DECRYPT_NOKEY:
          return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                              _("“%s” is damaged or truncated (%s)"), display, detail);
        case GST_STREAM_ERROR_FAILED:
          /* Mostly "streaming stopped, reason error": a demuxer or parser
           * gave up on the data.  Negotiation failures are ours, not the
           * file's. */
          if (debug != NULL && strstr (debug, "not-negotiated") != NULL)
            break;
          return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                              _("“%s” is damaged or truncated"), display);
        default:
          code = VM_MEDIA_ERROR_FAILED;
          break;
        }
    }
  else if (gst_error->domain == GST_RESOURCE_ERROR)
    {
      switch (gst_error->code)
        {
        case GST_RESOURCE_ERROR_NOT_FOUND:
          return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND,
                              _("“%s” does not exist"), display);
        case GST_RESOURCE_ERROR_OPEN_READ:
        case GST_RESOURCE_ERROR_NOT_AUTHORIZED:
          return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_PERMISSION,
                              _("“%s” cannot be read (%s)"), display, detail);
        case GST_RESOURCE_ERROR_READ:
        case GST_RESOURCE_ERROR_SEEK:
          return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                              _("“%s” could not be read to the end (%s)"), display, detail);
        default:
          break;
        }
    }
  else if (gst_error->domain == GST_CORE_ERROR &&
           gst_error->code == GST_CORE_ERROR_MISSING_PLUGIN)
    {
      return g_error_new (VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                          _("“%s” needs a GStreamer plugin that is not installed (%s)"),
                          display, detail);
    }

  return g_error_new (VM_MEDIA_ERROR, code, _("“%s” could not be read: %s"),
                      display, detail);
}

gboolean
_vm_media_run_pipeline (GstElement    *pipeline,
                        const char    *display,
                        GMutex        *lock,
                        const gint64  *last_progress,
                        GError       **pending,
                        guint          watchdog_ms,
                        const char    *corrupt_format,
                        const char    *stalled_format,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);

  for (;;)
    {
      g_autoptr(GstMessage) msg = NULL;
      gint64 last;

      msg = gst_bus_timed_pop_filtered (bus, 50 * GST_MSECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      if (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS)
        return TRUE;
      if (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
        {
          g_autoptr(GError) gst_error = NULL;

          gst_message_parse_error (msg, &gst_error, NULL);
          g_mutex_lock (lock);
          if (pending != NULL && *pending != NULL)
            g_propagate_error (error, g_steal_pointer (pending));
          else if (g_error_matches (gst_error, GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND) ||
                   g_error_matches (gst_error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE))
            g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                         _("%s: not a media file GStreamer knows"), display);
          else
            g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                         corrupt_format, display, gst_error->message);
          g_mutex_unlock (lock);
          return FALSE;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_mutex_lock (lock);
      last = *last_progress;
      g_mutex_unlock (lock);
      if (g_get_monotonic_time () - last > (gint64) watchdog_ms * 1000)
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_TIMEOUT, stalled_format, display);
          return FALSE;
        }
    }
}
