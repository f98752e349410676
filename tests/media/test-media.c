/* test-media.c — probing, frame sampling and generated media.
 *
 * Every clip is generated at test time into a temporary folder.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE 1
#include "media/vm-media.h"
#include "media/vm-media-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "../vm-test-util.h"

#define SEC G_GINT64_CONSTANT (1000000000)
#define MS  G_GINT64_CONSTANT (1000000)

static char *tmp_dir;

/* Sanitizer builds: memory that libraries below us keep for the life of the
 * process on purpose (GLib's first quark table, dropped when GStreamer's
 * quarks outgrow it; fontconfig's configuration).  The system libraries have
 * no frame pointers, so full unwinding is needed to tell these apart. */
const char *__lsan_default_suppressions (void);
const char *
__lsan_default_suppressions (void)
{
  return "leak:_dl_init\n"
         "leak:g_quark_from_static_string\n"
         "leak:g_quark_from_string\n"
         "leak:libfontconfig.so\n";
}

/* TRUE when @hay contains @needle, without the C library: ASan asks for its
 * options before its own string functions (and its shadow memory) work. */
__attribute__ ((no_sanitize_address)) static gboolean
contains (const char *hay,
          const char *needle)
{
  for (; *hay != '\0'; hay++)
    {
      const char *h = hay, *n = needle;

      while (*n != '\0' && *h == *n)
        h++, n++;
      if (*n == '\0')
        return TRUE;
    }
  return FALSE;
}

const char *__asan_default_options (void);
__attribute__ ((no_sanitize_address)) const char *
__asan_default_options (void)
{
  /* Slow (several times the run time), so only when leaks are looked for.
   * This runs before getenv () works, so the environment is read from /proc. */
  static char env[32768];
  gssize n = 0;
  long fd = syscall (SYS_openat, AT_FDCWD, "/proc/self/environ", O_RDONLY | O_CLOEXEC);

  /* Raw system calls: ASan's wrappers of read () are not ready yet. */
  if (fd >= 0)
    {
      n = syscall (SYS_read, fd, env, sizeof env - 1);
      syscall (SYS_close, fd);
    }
  if (n < 0)
    n = 0;
  env[n] = '\0';
  for (gssize i = 0; i < n; )
    {
      const char *entry = env + i;
      gssize len = 0;

      while (i + len < n && entry[len] != '\0')
        len++;
      if (entry[0] == 'A' && contains (entry, "ASAN_OPTIONS=") && contains (entry, "detect_leaks=0"))
        return "";
      i += len + 1;
    }
  return "fast_unwind_on_malloc=0";
}

static const VmTimedText subs[] = {
  { 0.5, 1.5, "first line" },
  { 2.0, 3.0, "second line" },
};

static const VmTimedText overlay[] = {
  { 1.0, 2.0, "HELLO" },
};

static char *
media_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Generates @name once per run. */
static char *
clip (const char *name)
{
  g_autofree char *path = media_path (name);
  g_autoptr(GError) error = NULL;
  VmClipSpec spec;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&path);

  vm_clip_spec_init (&spec);
  if (g_str_equal (name, "cfr.mp4"))
    {
      spec.duration = 8.0;
      spec.keyframe_interval = 2.0;
    }
  else if (g_str_equal (name, "cfr.webm"))
    {
      spec.format = VM_CLIP_WEBM_VP9;
      spec.duration = 4.0;
      spec.width = 256;
      spec.height = 144;
    }
  else if (g_str_equal (name, "rich.mkv"))
    {
      spec.format = VM_CLIP_MKV_H264;
      spec.duration = 3.0;
      spec.subtitles = subs;
      spec.n_subtitles = G_N_ELEMENTS (subs);
      spec.overlay = overlay;
      spec.n_overlay = G_N_ELEMENTS (overlay);
      spec.speech = "hello world";
    }
  else if (g_str_equal (name, "vfr.mkv"))
    {
      spec.format = VM_CLIP_MKV_H264;
      spec.duration = 6.0;
      spec.keyframe_interval = 1.0;
      spec.variable_framerate = TRUE;
    }
  else if (g_str_equal (name, "vfr.mp4"))
    {
      spec.duration = 4.0;
      spec.keyframe_interval = 1.0;
      spec.variable_framerate = TRUE;
    }
  else if (g_str_equal (name, "long.mkv"))
    {
      spec.format = VM_CLIP_MKV_H264;
      spec.duration = 8.0;
      spec.width = 160;
      spec.height = 120;
    }
  else if (g_str_equal (name, "bframes.mp4"))
    {
      spec.duration = 6.0;
      spec.keyframe_interval = 2.0;
      spec.b_frames = 2;
    }
  else if (g_str_equal (name, "window.mp4"))
    {
      spec.duration = 30.0;
      spec.keyframe_interval = 2.0;
      spec.width = 160;
      spec.height = 120;
    }
  else if (g_str_equal (name, "gap.mp4"))
    {
      spec.duration = 12.0;
      spec.keyframe_interval = 10.0;
      spec.width = 160;
      spec.height = 120;
    }
  else
    g_assert_not_reached ();

  if (!vm_media_generate_clip (&spec, path, NULL, &error))
    g_error ("generating %s: %s", name, error->message);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  return g_steal_pointer (&path);
}

static void
write_bytes (const char *path,
             const void *data,
             gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, data, (gssize) len, &error));
  g_assert_no_error (error);
}

static void
run_launch (const char *desc)
{
  g_autoptr(GError) error = NULL;
  GstElement *pipeline;
  GstBus *bus;
  GstMessage *msg;

  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

/* An audio-only file made with GStreamer directly. */
static char *
audio_only (void)
{
  g_autofree char *path = media_path ("audio-only.ogg");
  g_autofree char *desc = NULL;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&path);

  desc = g_strdup_printf ("audiotestsrc num-buffers=40 ! audioconvert ! opusenc ! oggmux ! "
                          "filesink location=\"%s\"", path);
  run_launch (desc);
  return g_steal_pointer (&path);
}

static void
assert_one_line_error (const GError *error,
                       VmMediaError  code)
{
  g_assert_nonnull (error);
  if (error->domain != VM_MEDIA_ERROR || error->code != (int) code)
    g_error ("expected media error %d, got %s %d: %s", code,
             g_quark_to_string (error->domain), error->code, error->message);
  g_assert_cmpuint (strlen (error->message), >, 0);
  g_assert_null (strchr (error->message, '\n'));
}

/* ---- Probing ------------------------------------------------------------ */

static void
test_probe_mp4 (void)
{
  g_autofree char *path = clip ("cfr.mp4");
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMediaInfo) info = vm_media_probe (path, 10000, &error);

  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_cmpint (info->width, ==, 320);
  g_assert_cmpint (info->height, ==, 240);
  g_assert_cmpint (info->fps_num, ==, 25);
  g_assert_cmpint (info->fps_den, ==, 1);
  g_assert_cmpint (llabs (info->duration_ns - 8 * SEC), <, 50 * MS);
  g_assert_nonnull (strstr (info->video_codec, "H.264"));
  g_assert_nonnull (info->container);
  g_assert_false (info->has_audio);
  g_assert_null (info->audio_codec);
  g_assert_cmpuint (info->n_subtitle_streams, ==, 0);
  g_assert_true (info->seekable);
}

static void
test_probe_webm (void)
{
  g_autofree char *path = clip ("cfr.webm");
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMediaInfo) info = vm_media_probe (path, 10000, &error);

  g_assert_no_error (error);
  g_assert_cmpint (info->width, ==, 256);
  g_assert_cmpint (info->height, ==, 144);
  g_assert_nonnull (strstr (info->video_codec, "VP9"));
  g_assert_nonnull (strstr (info->container, "WebM"));
  g_assert_cmpint (llabs (info->duration_ns - 4 * SEC), <, 50 * MS);
  g_assert_true (info->seekable);
}

static void
test_probe_mkv (void)
{
  g_autofree char *path = clip ("rich.mkv");
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMediaInfo) info = vm_media_probe (path, 10000, &error);

  g_assert_no_error (error);
  g_assert_nonnull (strstr (info->container, "Matroska"));
  g_assert_nonnull (strstr (info->video_codec, "H.264"));
  g_assert_true (info->has_audio);
  g_assert_nonnull (info->audio_codec);
  g_assert_nonnull (strstr (info->audio_codec, "Opus"));
  g_assert_cmpuint (info->n_subtitle_streams, ==, 1);
  g_assert_cmpint (info->duration_ns, >=, 3 * SEC - 50 * MS);
}

typedef struct {
  const char   *name;
  VmMediaError  code;
} BadCase;

static char *
make_bad (const char *name)
{
  g_autofree char *path = media_path (name);

  if (g_str_equal (name, "missing.mp4"))
    return g_steal_pointer (&path);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&path);

  if (g_str_equal (name, "empty.mp4"))
    write_bytes (path, "", 0);
  else if (g_str_equal (name, "text.mp4"))
    {
      const char *text = "This is not a video.\nJust some notes someone saved with the wrong name.\n";
      g_autoptr(GString) s = g_string_new (NULL);
      for (int i = 0; i < 50; i++)
        g_string_append (s, text);
      write_bytes (path, s->str, s->len);
    }
  else if (g_str_equal (name, "random.mkv"))
    {
      g_autofree guint8 *data = g_malloc (64 * 1024);
      GRand *rand = g_rand_new_with_seed (1234);
      for (gsize i = 0; i < 64 * 1024; i++)
        data[i] = (guint8) g_rand_int_range (rand, 0, 256);
      g_rand_free (rand);
      write_bytes (path, data, 64 * 1024);
    }
  else if (g_str_equal (name, "truncated.mp4"))
    {
      g_autofree char *full = clip ("cfr.mp4");
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (full, &contents, &len, NULL));
      write_bytes (path, contents, len / 2);
    }
  else if (g_str_equal (name, "unknown-codec.mkv"))
    {
      /* A Matroska file whose video codec nobody knows. */
      g_autofree char *mkv = clip ("rich.mkv");
      g_autofree char *contents = NULL;
      char *at;
      gsize len;

      g_assert_true (g_file_get_contents (mkv, &contents, &len, NULL));
      at = memmem (contents, len, "V_MPEG4/ISO/AVC", 15);
      g_assert_nonnull (at);
      memcpy (at, "V_VIDMARK/TEST1", 15);
      write_bytes (path, contents, len);
    }
  else if (g_str_equal (name, "folder.mp4"))
    g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  else
    g_assert_not_reached ();
  return g_steal_pointer (&path);
}

static const BadCase bad_cases[] = {
  { "missing.mp4", VM_MEDIA_ERROR_NOT_FOUND },
  { "empty.mp4", VM_MEDIA_ERROR_EMPTY },
  { "text.mp4", VM_MEDIA_ERROR_NOT_MEDIA },
  { "random.mkv", VM_MEDIA_ERROR_NOT_MEDIA },
  { "truncated.mp4", VM_MEDIA_ERROR_CORRUPT },
  { "folder.mp4", VM_MEDIA_ERROR_NOT_MEDIA },
  { "unknown-codec.mkv", VM_MEDIA_ERROR_MISSING_PLUGIN },
};

static void
test_probe_bad (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = make_bad (bad_cases[i].name);
      g_autoptr(GError) error = NULL;
      g_autoptr(VmMediaInfo) info = vm_media_probe (path, 10000, &error);

      g_test_message ("%s: %s", bad_cases[i].name, error ? error->message : "(no error)");
      g_assert_null (info);
      assert_one_line_error (error, bad_cases[i].code);
    }
}

/* Matroska/WebM cut short is found from the header alone; the push-mode
 * check behind the discoverer's timeout names the damage of a file cut
 * right after its header. */
static void
test_probe_truncated_mkv (void)
{
  g_autofree char *full = clip ("long.mkv");
  g_autofree char *webm = clip ("cfr.webm");
  g_autofree char *half = media_path ("half-probe.mkv");
  g_autofree char *stub = media_path ("stub.webm");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMediaInfo) info = NULL;
  GError *confirmed;
  gsize len;

  g_assert_true (g_file_get_contents (full, &contents, &len, NULL));
  write_bytes (half, contents, len / 2);
  info = vm_media_probe (half, 10000, &error);
  g_assert_null (info);
  assert_one_line_error (error, VM_MEDIA_ERROR_CORRUPT);
  g_clear_error (&error);
  g_clear_pointer (&contents, g_free);

  g_assert_true (g_file_get_contents (webm, &contents, &len, NULL));
  write_bytes (stub, contents, 300);
  info = vm_media_probe (stub, 10000, &error);
  g_assert_null (info);
  assert_one_line_error (error, VM_MEDIA_ERROR_CORRUPT);

  confirmed = _vm_media_confirm_timeout (stub, 5000);
  g_assert_nonnull (confirmed);
  assert_one_line_error (confirmed, VM_MEDIA_ERROR_CORRUPT);
  g_error_free (confirmed);
  g_assert_null (_vm_media_confirm_timeout (webm, 5000));
  g_assert_null (_vm_media_confirm_timeout (full, 5000));
}

static void
test_probe_audio_only (void)
{
  g_autofree char *path = audio_only ();
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMediaInfo) info = vm_media_probe (path, 10000, &error);

  g_assert_null (info);
  assert_one_line_error (error, VM_MEDIA_ERROR_NO_VIDEO);
}

/* chmod 000 does not stop root, so the check runs in a child that gives up
 * root first. */
static void
test_probe_unreadable (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *path = media_path ("unreadable.mp4");
      g_autoptr(GError) error = NULL;
      g_autoptr(VmMediaInfo) info = NULL;
      VmSamplerOptions options;

      if (getuid () == 0)
        {
          g_assert_cmpint (setgid (65534), ==, 0);
          g_assert_cmpint (setuid (65534), ==, 0);
        }
      info = vm_media_probe (path, 10000, &error);
      g_assert_null (info);
      assert_one_line_error (error, VM_MEDIA_ERROR_PERMISSION);
      g_clear_error (&error);

      vm_sampler_options_init (&options);
      g_assert_false (vm_sampler_run (path, &options, (VmFrameFunc) abort, NULL, NULL, &error));
      assert_one_line_error (error, VM_MEDIA_ERROR_PERMISSION);
      return;
    }
  else
    {
      g_autofree char *path = media_path ("unreadable.mp4");
      g_autofree char *src = clip ("cfr.mp4");
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
      write_bytes (path, contents, len);
      g_assert_cmpint (g_chmod (path, 0), ==, 0);
      g_assert_cmpint (g_chmod (tmp_dir, 0755), ==, 0);

      /* After giving up root the leak checker of sanitizer builds cannot
       * read the process any more and reports GLib's own start-up memory;
       * the child only checks an error code, so leaks are not looked for
       * there. */
      {
        const char *asan = g_getenv ("ASAN_OPTIONS");
        g_autofree char *child_asan = g_strconcat (asan ? asan : "", asan ? ":" : "",
                                                   "detect_leaks=0", NULL);
        g_autofree char *saved = g_strdup (asan);

        g_setenv ("ASAN_OPTIONS", child_asan, TRUE);
        g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
        if (saved != NULL)
          g_setenv ("ASAN_OPTIONS", saved, TRUE);
        else
          g_unsetenv ("ASAN_OPTIONS");
      }
      g_test_trap_assert_passed ();
    }
}

/* ---- Sampling ----------------------------------------------------------- */

typedef struct {
  GArray       *pts;       /* gint64 */
  GArray       *key;       /* gboolean */
  GArray       *sums;      /* guint64, a hash of each picture */
  guint         width, height, stride;
  gboolean      data_ok;
  GCancellable *cancel_after_first;
  gboolean      fail_on_second;
} Collect;

static gboolean
collect_cb (const VmFrame  *frame,
            gpointer        user_data,
            GError        **error)
{
  Collect *c = user_data;
  gboolean key = frame->keyframe;

  g_array_append_val (c->pts, frame->pts_ns);
  g_array_append_val (c->key, key);
  c->width = frame->width;
  c->height = frame->height;
  c->stride = frame->stride;
  c->data_ok = frame->data != NULL && frame->stride >= frame->width * 3;
  if (c->data_ok)
    {
      /* FNV-1a over the visible pixels. */
      guint64 h = G_GUINT64_CONSTANT (14695981039346656037);

      for (guint y = 0; y < frame->height; y++)
        for (guint x = 0; x < frame->width * 3; x++)
          h = (h ^ frame->data[(gsize) y * frame->stride + x]) * G_GUINT64_CONSTANT (1099511628211);
      g_array_append_val (c->sums, h);
    }
  if (c->cancel_after_first != NULL)
    g_cancellable_cancel (c->cancel_after_first);
  if (c->fail_on_second && c->pts->len == 2)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "stop here");
      return FALSE;
    }
  return TRUE;
}

static void
collect_init (Collect *c)
{
  memset (c, 0, sizeof *c);
  c->pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  c->key = g_array_new (FALSE, FALSE, sizeof (gboolean));
  c->sums = g_array_new (FALSE, FALSE, sizeof (guint64));
}

static void
collect_clear (Collect *c)
{
  g_array_unref (c->pts);
  g_array_unref (c->key);
  g_array_unref (c->sums);
}

static gint64
pts_at (Collect *c,
        guint    i)
{
  return g_array_index (c->pts, gint64, i);
}

static void
test_sample_keyframes_cfr (void)
{
  g_autofree char *path = clip ("cfr.mp4");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  VmSamplerStats stats;
  Collect c;

  collect_init (&c);
  vm_sampler_options_init (&options);
  g_assert_cmpint (options.mode, ==, VM_SAMPLE_KEYFRAMES);
  g_assert_cmpuint (options.short_side, ==, 224);

  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_assert_cmpint (pts_at (&c, i), ==, (gint64) i * 2 * SEC);
      g_assert_true (g_array_index (c.key, gboolean, i));
    }
  /* Only the keyframes reached the decoder. */
  g_assert_cmpuint (stats.units_in, ==, 200);
  g_assert_cmpuint (stats.units_decoded, ==, 4);
  g_assert_cmpuint (stats.frames_out, ==, 4);
  g_assert_cmpuint (stats.frames, ==, 4);
  /* 320x240 scaled to a shortest side of 224, even sizes. */
  g_assert_cmpuint (c.height, ==, 224);
  g_assert_cmpuint (c.width, ==, 298);
  g_assert_true (c.data_ok);
  collect_clear (&c);
}

static void
test_sample_rate_cfr (void)
{
  g_autofree char *path = clip ("cfr.mp4");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  VmSamplerStats stats;
  Collect c;

  collect_init (&c);
  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 1.0;
  options.short_side = 0;
  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 8);
  /* Only what leads to a chosen frame is decoded: in each 2 s group of
   * pictures, the keyframe and the 25 frames up to 1 s.  Only the chosen
   * frames are converted. */
  g_assert_cmpuint (stats.units_in, ==, 200);
  g_assert_cmpuint (stats.units_decoded, ==, 4 * 26);
  g_assert_cmpuint (stats.frames_out, ==, 4 * 26);
  g_assert_cmpuint (stats.frames, ==, 8);

  /* The same pictures as from decoding every frame. */
  {
    Collect all;

    collect_init (&all);
    options.rate = 25.0;
    g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &all, &stats, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (stats.units_decoded, ==, 200);
    g_assert_cmpuint (all.sums->len, ==, 200);
    for (guint i = 0; i < 8; i++)
      {
        g_assert_cmpint (pts_at (&all, i * 25), ==, pts_at (&c, i));
        g_assert_cmpuint (g_array_index (all.sums, guint64, i * 25), ==,
                          g_array_index (c.sums, guint64, i));
      }
    collect_clear (&all);
  }
  for (guint i = 0; i < 8; i++)
    g_assert_cmpint (pts_at (&c, i), ==, (gint64) i * SEC);
  g_assert_cmpuint (c.width, ==, 320);
  g_assert_cmpuint (c.height, ==, 240);
  collect_clear (&c);

  /* 3 frames/s over 25 frames/s: the first frame at or after k/3 s. */
  collect_init (&c);
  options.rate = 3.0;
  options.short_side = 100;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 24);
  for (guint k = 0; k < 24; k++)
    {
      gint64 frame = (gint64) ceil (k * 25.0 / 3.0 - 1e-9);
      g_assert_cmpint (pts_at (&c, k), ==, frame * 40 * MS);
    }
  g_assert_cmpuint (c.height, ==, 100);
  g_assert_cmpuint (c.width, ==, 134);
  collect_clear (&c);
}

static void
test_sample_webm (void)
{
  g_autofree char *path = clip ("cfr.webm");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  Collect c;

  collect_init (&c);
  vm_sampler_options_init (&options);
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 2);
  g_assert_cmpint (pts_at (&c, 0), ==, 0);
  g_assert_cmpint (pts_at (&c, 1), ==, 2 * SEC);
  g_assert_cmpuint (c.height, ==, 224);
  g_assert_cmpuint (c.width, ==, 398);
  collect_clear (&c);
}

/* Every frame's pts, from a plain decode that shares no code with the
 * sampler. */
static GArray *
decode_all_pts (const char *path)
{
  g_autofree char *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! video/x-raw ! "
                                           "appsink name=sink sync=false", path);
  g_autoptr(GError) error = NULL;
  GArray *pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *sink;
  GstSample *sample;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;)
    {
      g_signal_emit_by_name (sink, "pull-sample", &sample);
      if (sample == NULL)
        break;
      {
        gint64 t = (gint64) GST_BUFFER_PTS (gst_sample_get_buffer (sample));
        g_array_append_val (pts, t);
      }
      gst_sample_unref (sample);
    }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return pts;
}

static void
check_vfr (const char *name)
{
  g_autofree char *path = clip (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) all = decode_all_pts (path);
  /* The generator's rhythm: 40, 20, 60, 30, 50 ms. */
  static const gint64 rhythm[] = { 40, 20, 60, 30, 50 };
  VmSamplerOptions options;
  gint64 expect = 0;
  gboolean irregular = FALSE;
  Collect c;

  g_assert_cmpuint (all->len, >, 50);
  for (guint i = 0; i < all->len; i++)
    {
      g_assert_cmpint (g_array_index (all, gint64, i), ==, expect * MS);
      expect += rhythm[i % G_N_ELEMENTS (rhythm)];
      if (i > 1 && g_array_index (all, gint64, i) - g_array_index (all, gint64, i - 1) !=
                   g_array_index (all, gint64, i - 1) - g_array_index (all, gint64, i - 2))
        irregular = TRUE;
    }
  g_assert_true (irregular);

  /* Rate mode: for each k, the first frame at or after k / 2 s. */
  collect_init (&c);
  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 2.0;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  {
    guint k = 0, j = 0;
    gint64 last = g_array_index (all, gint64, all->len - 1);

    for (k = 0; (gint64) k * SEC / 2 <= last; k++)
      {
        gint64 target = (gint64) k * SEC / 2;
        guint i = 0;

        while (g_array_index (all, gint64, i) < target)
          i++;
        /* A frame can satisfy two targets only once. */
        if (j > 0 && pts_at (&c, j - 1) >= target)
          continue;
        g_assert_cmpuint (j, <, c.pts->len);
        g_assert_cmpint (pts_at (&c, j), ==, g_array_index (all, gint64, i));
        j++;
      }
    g_assert_cmpuint (j, ==, c.pts->len);
  }
  collect_clear (&c);

  /* Keyframe mode: each keyframe, exactly on a real frame. */
  collect_init (&c);
  vm_sampler_options_init (&options);
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, >=, 3);
  g_assert_cmpint (pts_at (&c, 0), ==, 0);
  for (guint j = 0; j < c.pts->len; j++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < all->len && !found; i++)
        found = g_array_index (all, gint64, i) == pts_at (&c, j);
      g_assert_true (found);
      if (j > 0)
        g_assert_cmpint (pts_at (&c, j), >, pts_at (&c, j - 1));
    }
  collect_clear (&c);
}

static void check_rates_exact (const char *path,
                               guint       n_frames);

/* Frames decoded in another order than shown: every mode still gives the
 * exact frames a full decode gives. */
static void
test_sample_bframes (void)
{
  g_autofree char *path = clip ("bframes.mp4");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  VmSamplerStats stats;
  Collect all, c;
  guint n_key = 0;

  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 25.0;
  options.short_side = 120;
  collect_init (&all);
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &all, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (all.pts->len, ==, 150);
  for (guint i = 0; i < all.pts->len; i++)
    g_assert_cmpint (pts_at (&all, i), ==, (gint64) i * 40 * MS);

  collect_init (&c);
  options.rate = 1.0;
  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 6);
  for (guint i = 0; i < c.pts->len; i++)
    {
      g_assert_cmpint (pts_at (&c, i), ==, (gint64) i * SEC);
      g_assert_cmpuint (g_array_index (c.sums, guint64, i), ==,
                        g_array_index (all.sums, guint64, i * 25));
    }
  collect_clear (&c);

  collect_init (&c);
  options.mode = VM_SAMPLE_KEYFRAMES;
  options.max_gap = 0.5;
  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, >=, 12);
  g_assert_cmpint (pts_at (&c, 0), ==, 0);
  for (guint i = 0; i < c.pts->len; i++)
    {
      guint index = (guint) (pts_at (&c, i) / (40 * MS));

      g_assert_cmpint (pts_at (&c, i), ==, pts_at (&all, index));
      g_assert_cmpuint (g_array_index (c.sums, guint64, i), ==,
                        g_array_index (all.sums, guint64, index));
      if (i > 0)
        {
          g_assert_cmpint (pts_at (&c, i), >, pts_at (&c, i - 1));
          g_assert_cmpint (pts_at (&c, i) - pts_at (&c, i - 1), <=, 500 * MS);
        }
      if (g_array_index (c.key, gboolean, i))
        {
          g_assert_cmpint (pts_at (&c, i) % (2 * SEC), ==, 0);
          n_key++;
        }
    }
  g_assert_cmpuint (n_key, ==, 3);
  g_assert_cmpuint (stats.units_decoded, <, stats.units_in);
  collect_clear (&c);
  collect_clear (&all);

  check_rates_exact (path, 150);

  /* B-frames nothing refers to are not decoded unless wanted: 1 frame/s
   * over three 2 s groups needs fewer than the 26 frames per group that
   * leading up to each second would take. */
  collect_init (&c);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 1.0;
  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 6);
  g_assert_cmpuint (stats.units_decoded, <, 3 * 26);
  collect_clear (&c);
}

/* Rate mode against a full decode, pixel for pixel, at several rates. */
static void
check_rates_exact (const char *path,
                   guint       n_frames)
{
  static const double rates[] = { 1.0, 3.0, 1.0 / 1.95, 7.0, 0.5 };
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  VmSamplerStats stats;
  Collect all;

  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 25.0;
  options.short_side = 120;
  collect_init (&all);
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &all, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (all.pts->len, ==, n_frames);

  for (guint r = 0; r < G_N_ELEMENTS (rates); r++)
    {
      Collect c;
      guint j = 0;

      collect_init (&c);
      options.rate = rates[r];
      g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
      g_assert_no_error (error);
      g_test_message ("rate %.3f: %u frames, %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " decoded",
                      rates[r], c.pts->len, stats.units_decoded, stats.units_in);
      for (guint k = 0; ; k++)
        {
          gint64 target = (gint64) llround (k * (double) SEC / rates[r]);
          guint i = 0;

          while (i < all.pts->len && pts_at (&all, i) < target)
            i++;
          if (i == all.pts->len)
            break;
          if (j > 0 && pts_at (&c, j - 1) >= target)
            continue;
          g_assert_cmpuint (j, <, c.pts->len);
          g_assert_cmpint (pts_at (&c, j), ==, pts_at (&all, i));
          g_assert_cmpuint (g_array_index (c.sums, guint64, j), ==,
                            g_array_index (all.sums, guint64, i));
          j++;
        }
      g_assert_cmpuint (j, ==, c.pts->len);
      collect_clear (&c);
    }
  collect_clear (&all);
}

/* A window at @rate over [@start, @stop] s gives exactly the frames of
 * @all (every frame of the file) that the whole-file run would give for the
 * targets inside the window.  Returns the run's statistics. */
static VmSamplerStats
check_window (const char *path,
              Collect    *all,
              double      rate,
              double      start,
              double      stop)
{
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  VmSamplerStats stats;
  Collect c;
  guint j = 0;
  gint64 last = -1;

  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = rate;
  options.short_side = 120;
  options.start_ns = (gint64) llround (start * SEC);
  options.stop_ns = (gint64) llround (stop * SEC);
  collect_init (&c);
  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("window %.2f-%.2f s at %.1f/s: %u frames, %" G_GUINT64_FORMAT " units read, %"
                  G_GUINT64_FORMAT " decoded, %" G_GUINT64_FORMAT " frames out",
                  start, stop, rate, c.pts->len, stats.units_in, stats.units_decoded,
                  stats.frames_out);

  for (guint64 k = 0; ; k++)
    {
      gint64 target = (gint64) llround (k * (double) SEC / rate);
      guint i = 0;

      if (options.stop_ns > 0 && target > options.stop_ns)
        break;
      if (target < options.start_ns)
        continue;
      while (i < all->pts->len && pts_at (all, i) < target)
        i++;
      if (i == all->pts->len)
        break;
      if (pts_at (all, i) == last)
        continue;
      last = pts_at (all, i);
      g_assert_cmpuint (j, <, c.pts->len);
      g_assert_cmpint (pts_at (&c, j), ==, pts_at (all, i));
      g_assert_cmpuint (g_array_index (c.sums, guint64, j), ==, g_array_index (all->sums, guint64, i));
      j++;
    }
  g_assert_cmpuint (j, ==, c.pts->len);
  collect_clear (&c);
  return stats;
}

static void
collect_all_frames (const char *path,
                    Collect    *all)
{
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;

  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 100.0;
  options.short_side = 120;
  collect_init (all);
  g_assert_true (vm_sampler_run (path, &options, collect_cb, all, NULL, &error));
  g_assert_no_error (error);
}

/* Windows: an accurate seek, then the same frames as from the whole file,
 * and only about the window is read. */
static void
test_sample_window (void)
{
  g_autofree char *path = clip ("window.mp4");
  g_autofree char *bpath = clip ("bframes.mp4");
  g_autofree char *wpath = clip ("cfr.webm");
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  VmSamplerOptions options;
  VmSamplerStats stats;
  Collect all, c;

  collect_all_frames (path, &all);
  g_assert_cmpuint (all.pts->len, ==, 750);

  /* In the middle of a 30 s file: what prerolls (one keyframe decoded),
   * the window's 4 s and the group of pictures before it are read, not the
   * file (750 units); only the units from the keyframe at 10 s to the last
   * target (14 s) are decoded, and the preroll's one keyframe. */
  stats = check_window (path, &all, 6.0, 10.3, 14.1);
  g_assert_cmpuint (stats.frames, ==, 23);
  g_assert_cmpuint (stats.units_in, <, 330);
  g_assert_cmpuint (stats.units_decoded, <=, 101 + 4);
  stats = check_window (path, &all, 6.0, 0.0, 2.0);
  g_assert_cmpuint (stats.frames, ==, 13);
  g_assert_cmpuint (stats.units_in, <, 200);
  check_window (path, &all, 6.0, 1.0, 0.0);
  check_window (path, &all, 4.0, 27.9, 31.0);
  check_window (path, &all, 25.0, 5.0, 5.5);
  check_window (path, &all, 6.0, 7.99, 8.01);
  collect_clear (&all);

  /* B-frames and VP9. */
  collect_all_frames (bpath, &all);
  check_window (bpath, &all, 6.0, 2.5, 4.2);
  check_window (bpath, &all, 7.0, 0.9, 5.9);
  collect_clear (&all);
  collect_all_frames (wpath, &all);
  check_window (wpath, &all, 6.0, 1.1, 3.0);
  collect_clear (&all);

  /* Past the end: nothing, and no error. */
  collect_init (&c);
  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 6.0;
  options.start_ns = 40 * SEC;
  options.stop_ns = 44 * SEC;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 0);
  collect_clear (&c);

  /* Keyframe mode keeps its frames inside the window. */
  collect_init (&c);
  vm_sampler_options_init (&options);
  options.max_gap = 0;
  options.start_ns = 9 * SEC;
  options.stop_ns = 15 * SEC;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 3);
  g_assert_cmpint (pts_at (&c, 0), ==, 10 * SEC);
  g_assert_cmpint (pts_at (&c, 2), ==, 14 * SEC);
  collect_clear (&c);

  /* Cancelling a window. */
  collect_init (&c);
  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 6.0;
  options.start_ns = 12 * SEC;
  options.stop_ns = 16 * SEC;
  c.cancel_after_first = cancellable;
  g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (c.pts->len, ==, 1);
  g_assert_cmpint (pts_at (&c, 0), ==, 12 * SEC);
  collect_clear (&c);
  g_clear_error (&error);

  /* A missing file. */
  collect_init (&c);
  g_autofree char *missing = media_path ("no-such-window.mp4");
  g_assert_false (vm_sampler_run (missing, &options, collect_cb, &c, NULL, &error));
  assert_one_line_error (error, VM_MEDIA_ERROR_NOT_FOUND);
  collect_clear (&c);
}

/* Open groups of pictures: frames after a keyframe that show before it. */
static void
test_sample_open_gop (void)
{
  g_autofree char *path = media_path ("open-gop.mp4");
  g_autofree char *desc = g_strdup_printf (
    "videotestsrc num-buffers=150 horizontal-speed=3 ! "
    "video/x-raw,width=320,height=240,framerate=25/1 ! "
    "x264enc speed-preset=ultrafast key-int-max=50 bframes=3 option-string=open-gop=1:b-adapt=0 ! "
    "h264parse ! mp4mux ! filesink location=\"%s\"", path);

  run_launch (desc);
  check_rates_exact (path, 150);
}

/* Two video tracks: one is sampled, consistently, and the other is not
 * decoded into it. */
static void
test_sample_two_videos (void)
{
  g_autofree char *path = media_path ("two-videos.mkv");
  g_autofree char *desc = g_strdup_printf (
    "videotestsrc num-buffers=100 pattern=ball ! video/x-raw,width=160,height=120,framerate=25/1 ! "
    "x264enc speed-preset=ultrafast key-int-max=25 ! h264parse ! matroskamux name=m ! "
    "filesink location=\"%s\" "
    "videotestsrc num-buffers=100 ! video/x-raw,width=320,height=180,framerate=25/1 ! "
    "x264enc speed-preset=ultrafast key-int-max=50 ! h264parse ! m.", path);
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  VmSamplerStats stats;
  Collect c;

  run_launch (desc);
  collect_init (&c);
  vm_sampler_options_init (&options);
  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.units_in, ==, 100);
  if (c.width == 298)
    {
      g_assert_cmpuint (c.pts->len, ==, 4);
      for (guint i = 0; i < 4; i++)
        g_assert_cmpint (pts_at (&c, i), ==, (gint64) i * SEC);
    }
  else
    {
      g_assert_cmpuint (c.width, ==, 398);
      g_assert_cmpuint (c.pts->len, ==, 2);
      g_assert_cmpint (pts_at (&c, 1), ==, 2 * SEC);
    }
  collect_clear (&c);
}

/* Audio and subtitle streams are left alone and do not stall the run. */
static void
test_sample_rich (void)
{
  g_autofree char *path = clip ("rich.mkv");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  Collect c;

  collect_init (&c);
  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 3);
  g_assert_cmpint (pts_at (&c, 2), ==, 2 * SEC);
  collect_clear (&c);
}

static void
test_sample_vfr_mkv (void)
{
  check_vfr ("vfr.mkv");
}

static void
test_sample_vfr_mp4 (void)
{
  check_vfr ("vfr.mp4");
}

static void
test_sample_gap_fill (void)
{
  g_autofree char *path = clip ("gap.mp4");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  Collect c;
  static const gint64 expected[] = { 0, 4, 8, 10 };
  VmSamplerStats stats;

  collect_init (&c);
  vm_sampler_options_init (&options);
  options.max_gap = 4.0;
  g_assert_true (vm_sampler_run_full (path, &options, collect_cb, &c, &stats, NULL, &error));
  g_assert_no_error (error);
  /* Decoded forward to 8 s, then only the keyframe at 10 s. */
  g_assert_cmpuint (stats.units_in, ==, 300);
  g_assert_cmpuint (stats.units_decoded, ==, 202);
  g_assert_cmpuint (c.pts->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpint (pts_at (&c, i), ==, expected[i] * SEC);
      g_assert_cmpint (g_array_index (c.key, gboolean, i), ==, expected[i] % 10 == 0);
      if (i > 0)
        g_assert_cmpint (pts_at (&c, i) - pts_at (&c, i - 1), <=, 4 * SEC);
    }

  /* The frames decoded forward are the real pictures: the same as from a
   * full decode. */
  {
    Collect all;
    VmSamplerOptions full;

    collect_init (&all);
    vm_sampler_options_init (&full);
    full.mode = VM_SAMPLE_RATE;
    full.rate = 25.0;
    g_assert_true (vm_sampler_run (path, &full, collect_cb, &all, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (all.pts->len, ==, 300);
    g_assert_cmpuint (all.sums->len, ==, 300);
    g_assert_cmpuint (c.sums->len, ==, c.pts->len);
    for (guint i = 0; i < c.pts->len; i++)
      {
        guint index = (guint) (pts_at (&c, i) / (40 * MS));

        g_assert_cmpint (pts_at (&all, index), ==, pts_at (&c, i));
        g_assert_cmpuint (g_array_index (all.sums, guint64, index), ==,
                          g_array_index (c.sums, guint64, i));
      }
    collect_clear (&all);
  }
  collect_clear (&c);

  /* Without gap filling only the keyframes come. */
  collect_init (&c);
  options.max_gap = 0;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 2);
  g_assert_cmpint (pts_at (&c, 0), ==, 0);
  g_assert_cmpint (pts_at (&c, 1), ==, 10 * SEC);
  collect_clear (&c);

  /* A smaller gap. */
  collect_init (&c);
  options.max_gap = 1.5;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 9);
  for (guint i = 1; i < c.pts->len; i++)
    g_assert_cmpint (pts_at (&c, i) - pts_at (&c, i - 1), <=, 1500 * MS);
  /* The last frame before each limit: 1.48 s, 2.96 s, ... */
  g_assert_cmpint (pts_at (&c, 1), ==, 1480 * MS);
  g_assert_cmpint (pts_at (&c, 7), ==, 10 * SEC);
  g_assert_cmpint (pts_at (&c, 8), ==, 11480 * MS);
  collect_clear (&c);
}

static void
test_sample_cancel (void)
{
  g_autofree char *path = clip ("cfr.mp4");
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  VmSamplerOptions options;
  gint64 start;
  Collect c;

  collect_init (&c);
  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  options.rate = 25.0;
  c.cancel_after_first = cancellable;
  start = g_get_monotonic_time ();
  g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (c.pts->len, ==, 1);
  collect_clear (&c);
  g_clear_error (&error);

  /* Cancelled before it starts. */
  collect_init (&c);
  g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (c.pts->len, ==, 0);
  collect_clear (&c);
  g_clear_error (&error);

  /* The callback's own error stops the run. */
  collect_init (&c);
  c.fail_on_second = TRUE;
  g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_cmpuint (c.pts->len, ==, 2);
  collect_clear (&c);
}

static void
test_sample_watchdog (void)
{
  g_autofree char *path = media_path ("stalled.fifo");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  gint64 start, elapsed;
  int writer;
  Collect c;

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  /* A writer that never writes: reads block forever. */
  writer = open (path, O_RDWR | O_CLOEXEC);
  g_assert_cmpint (writer, >=, 0);

  collect_init (&c);
  vm_sampler_options_init (&options);
  options.watchdog_ms = 300;
  start = g_get_monotonic_time ();
  g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  elapsed = g_get_monotonic_time () - start;
  assert_one_line_error (error, VM_MEDIA_ERROR_TIMEOUT);
  g_assert_cmpint (elapsed, >=, 300 * 1000);
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (c.pts->len, ==, 0);
  collect_clear (&c);
  close (writer);
  g_unlink (path);
}

static void
test_sample_bad (void)
{
  static const BadCase cases[] = {
    { "missing.mp4", VM_MEDIA_ERROR_NOT_FOUND },
    { "empty.mp4", VM_MEDIA_ERROR_EMPTY },
    { "text.mp4", VM_MEDIA_ERROR_NOT_MEDIA },
    { "random.mkv", VM_MEDIA_ERROR_NOT_MEDIA },
    { "truncated.mp4", VM_MEDIA_ERROR_CORRUPT },
    { "unknown-codec.mkv", VM_MEDIA_ERROR_MISSING_PLUGIN },
  };
  VmSamplerOptions options;

  vm_sampler_options_init (&options);
  options.watchdog_ms = 10000;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make_bad (cases[i].name);
      g_autoptr(GError) error = NULL;
      Collect c;

      collect_init (&c);
      g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
      g_test_message ("%s: %s", cases[i].name, error->message);
      assert_one_line_error (error, cases[i].code);
      collect_clear (&c);
    }

  {
    g_autofree char *path = audio_only ();
    g_autoptr(GError) error = NULL;
    Collect c;

    collect_init (&c);
    g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
    assert_one_line_error (error, VM_MEDIA_ERROR_NO_VIDEO);
    collect_clear (&c);
  }
}

/* Matroska cut in half: the demuxer just stops, the sampler notices that
 * the video ends well before the announced duration.  The frames before the
 * cut are delivered first. */
static void
test_sample_truncated_mkv (void)
{
  g_autofree char *full = clip ("long.mkv");
  g_autofree char *path = media_path ("half.mkv");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  gsize len;
  Collect c;

  g_assert_true (g_file_get_contents (full, &contents, &len, NULL));
  write_bytes (path, contents, len / 2);

  collect_init (&c);
  vm_sampler_options_init (&options);
  options.mode = VM_SAMPLE_RATE;
  g_assert_false (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  assert_one_line_error (error, VM_MEDIA_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  g_assert_cmpuint (c.pts->len, >=, 2);
  for (guint i = 0; i < c.pts->len; i++)
    g_assert_cmpint (pts_at (&c, i), ==, (gint64) i * SEC);
  g_assert_cmpint (pts_at (&c, c.pts->len - 1), <, 6 * SEC);
  collect_clear (&c);

  /* The whole file is fine. */
  collect_init (&c);
  g_clear_error (&error);
  g_assert_true (vm_sampler_run (full, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 8);
  collect_clear (&c);
}

static void
test_sample_thumbnails (void)
{
  g_autofree char *path = clip ("cfr.mp4");
  g_autofree char *dir = media_path ("thumbs");
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  Collect c;

  collect_init (&c);
  vm_sampler_options_init (&options);
  options.thumbnail_dir = dir;
  options.thumbnail_height = 64;
  g_assert_true (vm_sampler_run (path, &options, collect_cb, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.pts->len, ==, 4);
  for (guint i = 0; i < c.pts->len; i++)
    {
      g_autofree char *thumb = vm_sampler_thumbnail_path (dir, pts_at (&c, i));
      g_autofree char *name = g_strdup_printf ("%u.jpg", i * 2000);
      g_autofree char *base = g_path_get_basename (thumb);
      g_autofree guint8 *data = NULL;
      gsize len;

      g_assert_cmpstr (base, ==, name);
      g_assert_true (g_file_get_contents (thumb, (char **) &data, &len, NULL));
      g_assert_cmpuint (len, >, 200);
      g_assert_cmpuint (len, <, 64 * 1024);
      g_assert_cmpuint (data[0], ==, 0xff);
      g_assert_cmpuint (data[1], ==, 0xd8);
    }
  collect_clear (&c);
}

/* ---- Generated media ---------------------------------------------------- */

static void
test_write_srt (void)
{
  g_autofree char *path = media_path ("out.srt");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  const VmTimedText entries[] = {
    { 0.5, 1.25, "one" },
    { 3661.0, 3662.5, "two" },
  };

  g_assert_true (vm_media_write_srt (path, entries, G_N_ELEMENTS (entries), &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==,
                   "1\n00:00:00,500 --> 00:00:01,250\none\n\n"
                   "2\n01:01:01,000 --> 01:01:02,500\ntwo\n\n");
}

static void
progress_cb (const char *name,
             gpointer    data)
{
  (*(guint *) data)++;
}

static void
test_generate_demo (void)
{
  g_autofree char *dir = media_path ("demo");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) d = NULL;
  const char *name;
  guint n_made = 0, n_videos = 0;
  gboolean has_srt = FALSE, has_readme = FALSE;

  g_assert_true (vm_media_generate_demo (dir, progress_cb, &n_made, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_made, ==, 6);

  d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_str_has_suffix (name, ".srt"))
        has_srt = TRUE;
      else if (g_str_equal (name, "README.txt"))
        has_readme = TRUE;
      else
        {
          g_autoptr(VmMediaInfo) info = vm_media_probe (path, 10000, &error);

          g_assert_no_error (error);
          g_assert_cmpint (info->width, ==, 640);
          g_assert_cmpint (info->height, ==, 360);
          g_assert_cmpint (info->duration_ns, >=, 5 * SEC);
          g_assert_cmpint (info->duration_ns, <=, 11 * SEC);
          n_videos++;
        }
    }
  g_assert_cmpuint (n_videos, ==, 6);
  g_assert_true (has_srt);
  g_assert_true (has_readme);

  /* A second run keeps what is there. */
  n_made = 0;
  g_assert_true (vm_media_generate_demo (dir, progress_cb, &n_made, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_made, ==, 0);
}

static void
test_generate_bad_spec (void)
{
  g_autofree char *path = media_path ("bad-spec.mp4");
  g_autoptr(GError) error = NULL;
  VmClipSpec spec;

  vm_clip_spec_init (&spec);
  spec.duration = -1;
  g_assert_false (vm_media_generate_clip (&spec, path, NULL, &error));
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  if (!vm_media_init (&error))
    g_error ("%s", error->message);

  if (g_test_subprocess ())
    tmp_dir = g_strdup (g_getenv ("VIDMARK_TEST_MEDIA_DIR"));
  else
    {
      tmp_dir = g_dir_make_tmp ("vidmark-media-XXXXXX", &error);
      g_assert_no_error (error);
      g_setenv ("VIDMARK_TEST_MEDIA_DIR", tmp_dir, TRUE);
    }

  g_test_add_func ("/media/probe/mp4", test_probe_mp4);
  g_test_add_func ("/media/probe/webm", test_probe_webm);
  g_test_add_func ("/media/probe/mkv", test_probe_mkv);
  g_test_add_func ("/media/probe/bad", test_probe_bad);
  g_test_add_func ("/media/probe/truncated-mkv", test_probe_truncated_mkv);
  g_test_add_func ("/media/probe/audio-only", test_probe_audio_only);
  g_test_add_func ("/media/probe/unreadable", test_probe_unreadable);
  g_test_add_func ("/media/sample/keyframes", test_sample_keyframes_cfr);
  g_test_add_func ("/media/sample/rate", test_sample_rate_cfr);
  g_test_add_func ("/media/sample/webm", test_sample_webm);
  g_test_add_func ("/media/sample/rich", test_sample_rich);
  g_test_add_func ("/media/sample/b-frames", test_sample_bframes);
  g_test_add_func ("/media/sample/open-gop", test_sample_open_gop);
  g_test_add_func ("/media/sample/two-videos", test_sample_two_videos);
  g_test_add_func ("/media/sample/vfr-mkv", test_sample_vfr_mkv);
  g_test_add_func ("/media/sample/vfr-mp4", test_sample_vfr_mp4);
  g_test_add_func ("/media/sample/gap-fill", test_sample_gap_fill);
  g_test_add_func ("/media/sample/cancel", test_sample_cancel);
  g_test_add_func ("/media/sample/window", test_sample_window);
  g_test_add_func ("/media/sample/watchdog", test_sample_watchdog);
  g_test_add_func ("/media/sample/bad", test_sample_bad);
  g_test_add_func ("/media/sample/truncated-mkv", test_sample_truncated_mkv);
  g_test_add_func ("/media/sample/thumbnails", test_sample_thumbnails);
  g_test_add_func ("/media/generate/srt", test_write_srt);
  g_test_add_func ("/media/generate/demo", test_generate_demo);
  g_test_add_func ("/media/generate/bad-spec", test_generate_bad_spec);

  ret = g_test_run ();

  if (!g_test_subprocess ())
    vm_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
