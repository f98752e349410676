/* test-subtitles.c — subtitle files (SRT, WebVTT, ASS) in every encoding,
 * malformed entries, sidecar discovery and languages, embedded streams.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "core/vm-core.h"
#include "media/vm-media.h"
#include "media/vm-subtitles.h"

#include "../vm-test-util.h"

#define MS(x) ((gint64) (x) * G_GINT64_CONSTANT (1000000))

static char *tmp_dir;

static VmSubtitleCue *
cue (VmSubtitleTrack *track,
     guint            i)
{
  g_assert_cmpuint (i, <, track->cues->len);
  return g_ptr_array_index (track->cues, i);
}

static void
assert_cue (VmSubtitleTrack *track,
            guint            i,
            gint64           start_ms,
            gint64           end_ms,
            const char      *text)
{
  VmSubtitleCue *c = cue (track, i);

  g_assert_cmpint (c->start_ns, ==, MS (start_ms));
  g_assert_cmpint (c->end_ns, ==, MS (end_ms));
  g_assert_cmpstr (c->text, ==, text);
}

/* ---- Encodings ---------------------------------------------------------- */

static void
test_decode (void)
{
  const char *encoding = NULL;
  g_autoptr(GError) error = NULL;
  char *text;

  /* Plain UTF-8. */
  text = vm_subtitles_decode ((const guint8 *) "caf\xc3\xa9", 5, &encoding, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "café");
  g_assert_cmpstr (encoding, ==, "UTF-8");
  g_free (text);

  /* UTF-8 with a byte order mark: the mark goes. */
  text = vm_subtitles_decode ((const guint8 *) "\xef\xbb\xbf" "abc", 6, &encoding, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "abc");
  g_assert_cmpstr (encoding, ==, "UTF-8");
  g_free (text);

  /* UTF-16 LE and BE with their marks. */
  {
    const guint8 le[] = { 0xff, 0xfe, 'h', 0, 0xe9, 0, '\n', 0 };
    const guint8 be[] = { 0xfe, 0xff, 0, 'h', 0, 0xe9, 0, '\n' };

    text = vm_subtitles_decode (le, sizeof le, &encoding, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (text, ==, "hé\n");
    g_assert_cmpstr (encoding, ==, "UTF-16LE");
    g_free (text);

    text = vm_subtitles_decode (be, sizeof be, &encoding, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (text, ==, "hé\n");
    g_assert_cmpstr (encoding, ==, "UTF-16BE");
    g_free (text);
  }

  /* Latin-1 (Windows-1252 in 0x80–0x9f). */
  text = vm_subtitles_decode ((const guint8 *) "caf\xe9 \x80 5", 8, &encoding, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "café € 5");
  g_assert_cmpstr (encoding, ==, "ISO-8859-1");
  g_free (text);

  /* Binary data, and UTF-16 without a mark, are refused. */
  text = vm_subtitles_decode ((const guint8 *) "\x01\x00\x02\x00", 4, &encoding, &error);
  g_assert_null (text);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA);
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);

  /* A UTF-8 mark followed by invalid UTF-8. */
  text = vm_subtitles_decode ((const guint8 *) "\xef\xbb\xbf\xff\xfe", 5, &encoding, &error);
  g_assert_null (text);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA);
  g_clear_error (&error);

  /* Empty input is an empty text. */
  text = vm_subtitles_decode ((const guint8 *) "", 0, &encoding, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "");
  g_free (text);
}

static void
test_markup (void)
{
  struct { const char *in, *out; } cases[] = {
    { "<i>Hello</i> <b>world</b>", "Hello world" },
    { "{\\an8}{\\i1}Top{\\i0} line", "Top line" },
    { "first\\Nsecond\\nthird", "first\nsecond\nthird" },
    { "a\\hb", "a b" },
    { "Tom &amp; Jerry &lt;3 &#233;t&#xE9;", "Tom & Jerry <3 été" },
    { "<v Roger>Hi <c.yellow>there</c> <00:01.500>now", "Hi there now" },
    { "  spaced   out \n\n  lines  ", "spaced out\nlines" },
    { "a < b and c > d", "a < b and c > d" },
    { "unclosed {brace and &unknown; entity", "unclosed {brace and &unknown; entity" },
    { "<font color=\"#ff0000\">red</font>", "red" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = vm_subtitles_strip_markup (cases[i].in);

      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

/* ---- Parsers ------------------------------------------------------------ */

static void
test_srt (void)
{
  const char *srt =
    "1\r\n"
    "00:00:01,000 --> 00:00:02,500\r\n"
    "<i>Hello</i> there\r\n"
    "\r\n"
    "2\r\n"
    "00:00:03.000 --> 00:00:04,000 X1:10 X2:20\r\n"
    "Second line one\r\n"
    "line two\r\n"
    "3\r\n"                                    /* no blank line before the next cue */
    "00:00:05,000 --> 00:00:06,000\r\n"
    "Third\r\n"
    "\r\n"
    "4\r\n"
    "1:02:03,5 --> 1:02:04,25\r\n"             /* short fractions, one-digit hours */
    "Late\r\n";
  g_autoptr(VmSubtitleTrack) track = vm_subtitles_parse (srt, VM_SUBTITLE_FORMAT_UNKNOWN);

  g_assert_cmpint (track->format, ==, VM_SUBTITLE_FORMAT_SRT);
  g_assert_cmpuint (track->cues->len, ==, 4);
  g_assert_cmpuint (track->n_skipped, ==, 0);
  assert_cue (track, 0, 1000, 2500, "Hello there");
  assert_cue (track, 1, 3000, 4000, "Second line one\nline two");
  assert_cue (track, 2, 5000, 6000, "Third");
  assert_cue (track, 3, 3723500, 3724250, "Late");
}

static void
test_srt_malformed (void)
{
  const char *srt =
    "1\n"
    "00:00:01,000 --> 00:00:02,000\n"
    "Good one\n"
    "\n"
    "2\n"
    "00:00:0x,000 --> 00:00:03,000\n"          /* line 6: bad time */
    "Bad time\n"
    "\n"
    "3\n"
    "00:00:05,000 --> 00:00:04,000\n"          /* line 10: ends before it starts */
    "Backwards\n"
    "\n"
    "4\n"
    "00:00:06,000 - 00:00:07,000\n"            /* line 14: no arrow: text without a time */
    "No arrow\n"
    "\n"
    "5\n"
    "00:00:08,000 --> 00:00:09,000\n"
    "Good two\n"
    "\n"
    "6\n"
    "00:00:08,500 --> 00:00:10,000\n"          /* overlaps: kept */
    "Overlapping\n"
    "\n"
    "7\n"
    "00:00:09,000 --> 00:00:11,000\n"          /* same text, touching: merged */
    "Good two\n"
    "\n"
    "8\n"
    "00:01:70,000 --> 00:01:71,000\n"          /* line 30: seconds out of range */
    "Bad seconds\n"
    "\n"
    "9\n"
    "00:00:12,000 --> 00:00:13,000\n"
    "\n";                                      /* no text: dropped quietly */
  g_autoptr(VmSubtitleTrack) track = vm_subtitles_parse (srt, VM_SUBTITLE_FORMAT_SRT);

  g_assert_cmpuint (track->n_skipped, ==, 4);
  g_assert_cmpuint (track->first_bad_line, ==, 6);
  g_assert_cmpuint (track->n_merged, ==, 1);
  g_assert_cmpuint (track->cues->len, ==, 3);
  assert_cue (track, 0, 1000, 2000, "Good one");
  assert_cue (track, 1, 8000, 11000, "Good two");
  assert_cue (track, 2, 8500, 10000, "Overlapping");
}

static void
test_vtt (void)
{
  const char *vtt =
    "\xef\xbb\xbf" "WEBVTT - a title\n"
    "Kind: captions\n"
    "\n"
    "STYLE\n"
    "::cue { color: yellow }\n"
    "\n"
    "NOTE this is a comment\n"
    "that spans lines\n"
    "\n"
    "intro\n"
    "00:01.000 --> 00:02.000 align:start position:10%\n"
    "<v Anna>Hello <c.loud>you</c></v>\n"
    "\n"
    "00:00:03.000 --> 00:00:04.500\n"
    "Caf&eacute; &amp; tea\n"
    "\n"
    "2\n"
    "01:00.000 --> 01:01.000\n"
    "<00:01:00.500>Karaoke <i>words</i>\n";
  g_autofree char *decoded = vm_subtitles_decode ((const guint8 *) vtt, strlen (vtt), NULL, NULL);
  g_autoptr(VmSubtitleTrack) track = vm_subtitles_parse (decoded, VM_SUBTITLE_FORMAT_UNKNOWN);

  g_assert_cmpint (track->format, ==, VM_SUBTITLE_FORMAT_WEBVTT);
  g_assert_cmpuint (track->n_skipped, ==, 0);
  g_assert_cmpuint (track->cues->len, ==, 3);
  assert_cue (track, 0, 1000, 2000, "Hello you");
  /* Unknown named entities are left as they are. */
  assert_cue (track, 1, 3000, 4500, "Caf&eacute; & tea");
  assert_cue (track, 2, 60000, 61000, "Karaoke words");
}

static void
test_ass (void)
{
  const char *ass =
    "[Script Info]\n"
    "Title: test\n"
    "ScriptType: v4.00+\n"
    "\n"
    "[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize\n"
    "Style: Default,Arial,20\n"
    "\n"
    "[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    "Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\i1}Hello{\\i0}, world\\Nsecond line\n"
    "Comment: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,not shown\n"
    "Dialogue: 0,0:00:0a.00,0:00:03.00,Default,,0,0,0,,bad\n"
    "Dialogue: 0,0:00:04.00\n"
    "Dialogue: 0,1:00:00.10,1:00:01.00,Default,,0,0,0,,Late\n";
  g_autoptr(VmSubtitleTrack) track = vm_subtitles_parse (ass, VM_SUBTITLE_FORMAT_UNKNOWN);

  g_assert_cmpint (track->format, ==, VM_SUBTITLE_FORMAT_ASS);
  g_assert_cmpuint (track->cues->len, ==, 2);
  g_assert_cmpuint (track->n_skipped, ==, 2);
  g_assert_cmpuint (track->first_bad_line, ==, 13);
  assert_cue (track, 0, 1000, 2500, "Hello, world\nsecond line");
  assert_cue (track, 1, 3600100, 3601000, "Late");

  /* Another field order (SSA-style "Marked" first, Text last). */
  {
    const char *ssa =
      "[Events]\n"
      "Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
      "Dialogue: Marked=0,0:00:05.00,0:00:06.00,*Default,NTP,0000,0000,0000,!Effect,Old style\n";
    g_autoptr(VmSubtitleTrack) t2 = vm_subtitles_parse (ssa, VM_SUBTITLE_FORMAT_ASS);

    g_assert_cmpuint (t2->cues->len, ==, 1);
    assert_cue (t2, 0, 5000, 6000, "Old style");
  }
}

static void
test_garbage_never_crashes (void)
{
  const char *inputs[] = {
    "", "\n\n\n", "-->", "--> -->", "1\n-->\n", "00:00:01,000 -->", "WEBVTT", "[Events]\nDialogue:",
    "[Events]\nFormat: Text\nDialogue: x", "99999999999:00:00,000 --> 99999999999:00:01,000\nx\n",
    "00:00:01,000 --> 00:00:02,000\n\xff\xfe broken",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    for (int f = VM_SUBTITLE_FORMAT_UNKNOWN; f <= VM_SUBTITLE_FORMAT_ASS; f++)
      {
        g_autofree char *valid = g_utf8_make_valid (inputs[i], -1);
        g_autoptr(VmSubtitleTrack) track = vm_subtitles_parse (valid, f);

        g_assert_nonnull (track);
        for (guint k = 0; k < track->cues->len; k++)
          g_assert_cmpint (cue (track, k)->end_ns, >, cue (track, k)->start_ns);
      }

  /* Random bytes through the whole path. */
  for (guint round = 0; round < 200; round++)
    {
      guint8 buf[256];
      gsize len = g_test_rand_int_range (0, sizeof buf);
      g_autofree char *text = NULL;

      for (gsize k = 0; k < len; k++)
        buf[k] = (guint8) g_test_rand_int_range (0, 256);
      if (round % 2 == 0)
        for (gsize k = 0; k + 1 < len; k += 7)
          memcpy (buf + k, "-->", MIN (3, len - k));
      text = vm_subtitles_decode (buf, len, NULL, NULL);
      if (text != NULL)
        {
          g_autoptr(VmSubtitleTrack) track = vm_subtitles_parse (text, VM_SUBTITLE_FORMAT_UNKNOWN);
          g_assert_nonnull (track);
        }
    }
}

/* ---- Files and sidecars ------------------------------------------------- */

static char *
write_file (const char *name,
            const char *contents,
            gssize      len)
{
  char *path = g_build_filename (tmp_dir, name, NULL);

  g_assert_true (g_file_set_contents (path, contents, len, NULL));
  return path;
}

static void
test_load_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *good = NULL, *latin = NULL, *utf16 = NULL, *bad = NULL, *binary = NULL, *empty = NULL;
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.srt", NULL);
  VmSubtitleTrack *track;

  good = write_file ("good.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nOK\n", -1);
  track = vm_subtitles_load_file (good, "en", &error);
  g_assert_no_error (error);
  g_assert_cmpint (track->format, ==, VM_SUBTITLE_FORMAT_WEBVTT);
  g_assert_cmpstr (track->language, ==, "en");
  g_assert_cmpstr (track->encoding, ==, "UTF-8");
  g_assert_cmpstr (track->source, ==, good);
  g_assert_cmpuint (track->cues->len, ==, 1);
  vm_subtitle_track_free (track);

  latin = write_file ("latin.srt", "1\n00:00:01,000 --> 00:00:02,000\nD\xe9j\xe0 vu\n", -1);
  track = vm_subtitles_load_file (latin, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (track->encoding, ==, "ISO-8859-1");
  assert_cue (track, 0, 1000, 2000, "Déjà vu");
  vm_subtitle_track_free (track);

  {
    const char *src = "1\n00:00:01,000 --> 00:00:02,000\nWide\n";
    g_autoptr(GString) s = g_string_new (NULL);

    g_string_append_len (s, "\xff\xfe", 2);
    for (const char *p = src; *p != '\0'; p++)
      {
        g_string_append_c (s, *p);
        g_string_append_c (s, '\0');
      }
    utf16 = write_file ("wide.srt", s->str, s->len);
    track = vm_subtitles_load_file (utf16, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (track->encoding, ==, "UTF-16LE");
    assert_cue (track, 0, 1000, 2000, "Wide");
    vm_subtitle_track_free (track);
  }

  /* Entries but none valid: a one-line error naming the file and line. */
  bad = write_file ("bad.srt", "1\n00:00:01 --> soon\nx\n\n2\n00:00:03,000 -> 00:00:04,000\ny\n", -1);
  track = vm_subtitles_load_file (bad, NULL, &error);
  g_assert_null (track);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "bad.srt"));
  g_assert_nonnull (strstr (error->message, "line 2"));
  g_assert_null (strchr (error->message, '\n'));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  binary = write_file ("binary.srt", "\x00\x01\x02\x03 not text", 14);
  track = vm_subtitles_load_file (binary, NULL, &error);
  g_assert_null (track);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA);
  g_assert_nonnull (strstr (error->message, "binary.srt"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  track = vm_subtitles_load_file (missing, NULL, &error);
  g_assert_null (track);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  empty = write_file ("empty.srt", "", 0);
  track = vm_subtitles_load_file (empty, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (track->cues->len, ==, 0);
  vm_subtitle_track_free (track);
}

static void
test_sidecars (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "side", NULL);
  g_autofree char *video = g_build_filename (dir, "my.movie.mp4", NULL);
  g_autoptr(GPtrArray) found = NULL;
  const char *files[] = {
    "my.movie.mp4", "my.movie.srt", "my.movie.en.srt", "my.movie.pt_br.vtt", "my.movie.fr.forced.ass",
    "my.movie.SRT", "my.movie.sdh.en.srt", "my.movie.txt", "my.moviex.srt", "other.srt", "my.srt",
  };
  struct { const char *name, *language; VmSubtitleFormat format; } expected[] = {
    { "my.movie.SRT", NULL, VM_SUBTITLE_FORMAT_SRT },
    { "my.movie.en.srt", "en", VM_SUBTITLE_FORMAT_SRT },
    { "my.movie.fr.forced.ass", "fr", VM_SUBTITLE_FORMAT_ASS },
    { "my.movie.pt_br.vtt", "pt-BR", VM_SUBTITLE_FORMAT_WEBVTT },
    { "my.movie.sdh.en.srt", "en", VM_SUBTITLE_FORMAT_SRT },
    { "my.movie.srt", NULL, VM_SUBTITLE_FORMAT_SRT },
  };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);

      g_assert_true (g_file_set_contents (path, "", 0, NULL));
    }

  found = vm_subtitles_find_sidecars (video);
  g_assert_cmpuint (found->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < found->len; i++)
    {
      VmSubtitleSidecar *s = g_ptr_array_index (found, i);
      g_autofree char *name = g_path_get_basename (s->path);

      g_assert_cmpstr (name, ==, expected[i].name);
      g_assert_cmpstr (s->language, ==, expected[i].language);
      g_assert_cmpint (s->format, ==, expected[i].format);
    }

  /* No folder, no sidecars, no error. */
  {
    g_autoptr(GPtrArray) none = vm_subtitles_find_sidecars ("/nonexistent/folder/clip.mkv");
    g_assert_cmpuint (none->len, ==, 0);
  }
}

/* ---- Embedded streams --------------------------------------------------- */

static const VmTimedText embedded_cues[] = {
  { 0.5, 1.5, "First <i>embedded</i> line" },
  { 2.0, 3.25, "Second line" },
};

static void
check_embedded (const char *path,
                const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tracks = vm_subtitles_read_embedded (path, 10000, NULL, &error);
  VmSubtitleTrack *track;

  g_assert_no_error (error);
  g_assert_cmpuint (tracks->len, ==, 1);
  track = g_ptr_array_index (tracks, 0);
  g_test_message ("%s: language %s, %u cues", what, track->language, track->cues->len);
  g_assert_cmpint (track->format, ==, VM_SUBTITLE_FORMAT_EMBEDDED);
  g_assert_cmpuint (track->cues->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      VmSubtitleCue *c = cue (track, i);

      g_assert_cmpint (ABS (c->start_ns - (gint64) (embedded_cues[i].start * 1e9)), <=, MS (15));
      g_assert_cmpint (ABS (c->end_ns - (gint64) (embedded_cues[i].end * 1e9)), <=, MS (15));
    }
  g_assert_cmpstr (cue (track, 0)->text, ==, "First embedded line");
  g_assert_cmpstr (cue (track, 1)->text, ==, "Second line");
}

static void
test_embedded (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mkv = g_build_filename (tmp_dir, "subs.mkv", NULL);
  g_autofree char *mp4 = g_build_filename (tmp_dir, "plain.mp4", NULL);
  g_autofree char *junk = NULL;
  g_autoptr(GPtrArray) tracks = NULL;
  VmClipSpec spec;

  vm_clip_spec_init (&spec);
  spec.format = VM_CLIP_MKV_H264;
  spec.width = 160;
  spec.height = 120;
  spec.fps_num = 10;
  spec.duration = 4.0;
  spec.subtitles = embedded_cues;
  spec.n_subtitles = G_N_ELEMENTS (embedded_cues);
  g_assert_true (vm_media_generate_clip (&spec, mkv, NULL, &error));
  g_assert_no_error (error);
  check_embedded (mkv, "Matroska text track");

  /* The same cues as mov_text in MP4, WebVTT in WebM and ASS in Matroska,
   * when ffmpeg is there to write them. */
  if (g_find_program_in_path ("ffmpeg") != NULL)
    {
      g_autofree char *srt = g_build_filename (tmp_dir, "subs-src.srt", NULL);
      g_autofree char *webm_src = g_build_filename (tmp_dir, "src.webm", NULL);
      struct { const char *name, *codec; gboolean webm; } variants[] = {
        { "movtext.mp4", "mov_text", FALSE },
        { "vtt.webm", "webvtt", TRUE },
        { "ass.mkv", "ass", FALSE },
      };

      g_assert_true (vm_media_write_srt (srt, embedded_cues, G_N_ELEMENTS (embedded_cues), &error));
      spec.format = VM_CLIP_WEBM_VP9;
      spec.subtitles = NULL;
      spec.n_subtitles = 0;
      g_assert_true (vm_media_generate_clip (&spec, webm_src, NULL, &error));
      spec.format = VM_CLIP_MP4_H264;
      g_assert_true (vm_media_generate_clip (&spec, mp4, NULL, &error));

      for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
        {
          g_autofree char *out = g_build_filename (tmp_dir, variants[i].name, NULL);
          g_autofree char *cmd = g_strdup_printf ("ffmpeg -nostdin -loglevel error -y -i %s -i %s "
                                                  "-map 0:v -map 1:s -c:v copy -c:s %s "
                                                  "-metadata:s:s:0 language=fra %s",
                                                  variants[i].webm ? webm_src : mp4, srt,
                                                  variants[i].codec, out);
          int status = 0;

          if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) || status != 0)
            {
              g_test_message ("ffmpeg could not write %s; not checked", variants[i].name);
              continue;
            }
          check_embedded (out, variants[i].name);
          {
            /* A subtitle stream GStreamer cannot decode does not stop the
             * video from being probed (and so indexed). */
            g_autoptr(VmMediaInfo) info = vm_media_probe (out, 15000, &error);

            g_assert_no_error (error);
            g_assert_cmpint (info->width, >, 0);
          }
          {
            g_autoptr(GPtrArray) t = vm_subtitles_read_embedded (out, 10000, NULL, NULL);
            VmSubtitleTrack *track = g_ptr_array_index (t, 0);

            g_assert_cmpstr (track->language, ==, "fr");
          }
        }
    }
  else
    g_test_message ("ffmpeg is missing: MP4, WebM and ASS subtitle streams not checked");

  /* A video without subtitles has no tracks. */
  if (!g_file_test (mp4, G_FILE_TEST_EXISTS))
    {
      spec.format = VM_CLIP_MP4_H264;
      spec.subtitles = NULL;
      spec.n_subtitles = 0;
      g_assert_true (vm_media_generate_clip (&spec, mp4, NULL, &error));
    }
  tracks = vm_subtitles_read_embedded (mp4, 10000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tracks->len, ==, 0);
  g_clear_pointer (&tracks, g_ptr_array_unref);

  /* Not media: a clear error. */
  junk = write_file ("junk.mkv", "this is not a video at all", -1);
  tracks = vm_subtitles_read_embedded (junk, 10000, NULL, &error);
  g_assert_null (tracks);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA);
  g_assert_nonnull (strstr (error->message, "junk.mkv"));
  g_clear_error (&error);

  /* Missing file. */
  tracks = vm_subtitles_read_embedded ("/nonexistent/clip.mkv", 10000, NULL, &error);
  g_assert_null (tracks);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (vm_media_init (NULL));
  tmp_dir = g_dir_make_tmp ("vm-subtitles-XXXXXX", NULL);

  g_test_add_func ("/subtitles/decode", test_decode);
  g_test_add_func ("/subtitles/markup", test_markup);
  g_test_add_func ("/subtitles/srt", test_srt);
  g_test_add_func ("/subtitles/srt-malformed", test_srt_malformed);
  g_test_add_func ("/subtitles/webvtt", test_vtt);
  g_test_add_func ("/subtitles/ass", test_ass);
  g_test_add_func ("/subtitles/garbage", test_garbage_never_crashes);
  g_test_add_func ("/subtitles/load-file", test_load_file);
  g_test_add_func ("/subtitles/sidecars", test_sidecars);
  g_test_add_func ("/subtitles/embedded", test_embedded);

  ret = g_test_run ();

  vm_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
