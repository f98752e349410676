/* vm-subtitles.c — sidecar subtitle files and embedded subtitle streams.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-subtitles.h"
#include "media/vm-media.h"
#include "media/vm-media-private.h"
#include "core/vm-util.h"

#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/tag/tag.h>
#include <string.h>

/* Subtitle files larger than this are refused: no real one comes close. */
#define MAX_SUBTITLE_FILE (64 * 1024 * 1024)
/* A cue without a duration (some embedded streams) lasts this long at most. */
#define DEFAULT_CUE_NS (4 * VM_NSEC_PER_SEC)

const char *
vm_subtitle_format_to_string (VmSubtitleFormat format)
{
  switch (format)
    {
    case VM_SUBTITLE_FORMAT_SRT:
      return "srt";
    case VM_SUBTITLE_FORMAT_WEBVTT:
      return "webvtt";
    case VM_SUBTITLE_FORMAT_ASS:
      return "ass";
    case VM_SUBTITLE_FORMAT_EMBEDDED:
      return "embedded";
    case VM_SUBTITLE_FORMAT_UNKNOWN:
    default:
      return "unknown";
    }
}

static void
cue_free (VmSubtitleCue *cue)
{
  if (cue == NULL)
    return;
  g_free (cue->text);
  g_free (cue);
}

static VmSubtitleCue *
cue_new (gint64      start_ns,
         gint64      end_ns,
         const char *text)
{
  VmSubtitleCue *cue = g_new0 (VmSubtitleCue, 1);

  cue->start_ns = start_ns;
  cue->end_ns = end_ns;
  cue->text = g_strdup (text);
  return cue;
}

VmSubtitleTrack *
vm_subtitle_track_new (void)
{
  VmSubtitleTrack *track = g_new0 (VmSubtitleTrack, 1);

  track->cues = g_ptr_array_new_with_free_func ((GDestroyNotify) cue_free);
  return track;
}

void
vm_subtitle_track_free (VmSubtitleTrack *track)
{
  if (track == NULL)
    return;
  g_free (track->source);
  g_free (track->language);
  g_free (track->encoding);
  g_clear_pointer (&track->cues, g_ptr_array_unref);
  g_free (track);
}

void
vm_subtitle_sidecar_free (VmSubtitleSidecar *sidecar)
{
  if (sidecar == NULL)
    return;
  g_free (sidecar->path);
  g_free (sidecar->language);
  g_free (sidecar);
}

/* ---- Encodings ---------------------------------------------------------- */

static char *
convert_or_error (const guint8  *data,
                  gsize          length,
                  const char    *from,
                  GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize written = 0;
  char *text;

  text = g_convert ((const char *) data, length, "UTF-8", from, NULL, &written, &local_error);
  if (text == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                   _("The text is not valid %s: %s"), from, local_error->message);
      return NULL;
    }
  if (memchr (text, '\0', written) != NULL)
    {
      g_free (text);
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                   _("The file holds binary data, not subtitles"));
      return NULL;
    }
  return text;
}

/* Windows-1252 for 0x80–0x9f (what "Latin-1" subtitle files really use),
 * ISO-8859-1 elsewhere. */
static const gunichar cp1252_high[32] = {
  0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
  0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

static char *
latin1_to_utf8 (const guint8 *data,
                gsize         length)
{
  GString *s = g_string_sized_new (length + length / 8 + 1);

  for (gsize i = 0; i < length; i++)
    {
      guint8 c = data[i];

      if (c < 0x80)
        g_string_append_c (s, (char) c);
      else if (c < 0xa0)
        g_string_append_unichar (s, cp1252_high[c - 0x80]);
      else
        g_string_append_unichar (s, c);
    }
  return g_string_free (s, FALSE);
}

char *
vm_subtitles_decode (const guint8  *data,
                     gsize          length,
                     const char   **out_encoding,
                     GError       **error)
{
  const char *encoding;
  char *text;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length == 0)
    {
      if (out_encoding != NULL)
        *out_encoding = "UTF-8";
      return g_strdup ("");
    }

  if (length >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf)
    {
      encoding = "UTF-8";
      data += 3;
      length -= 3;
      if (!g_utf8_validate ((const char *) data, length, NULL))
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                       _("The text starts with a UTF-8 mark but is not valid UTF-8"));
          return NULL;
        }
      if (memchr (data, '\0', length) != NULL)
        {
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                       _("The file holds binary data, not subtitles"));
          return NULL;
        }
      text = g_strndup ((const char *) data, length);
    }
  else if (length >= 2 && data[0] == 0xff && data[1] == 0xfe)
    {
      encoding = "UTF-16LE";
      if (length % 2 != 0)
        length--;
      text = convert_or_error (data + 2, length - 2, encoding, error);
    }
  else if (length >= 2 && data[0] == 0xfe && data[1] == 0xff)
    {
      encoding = "UTF-16BE";
      if (length % 2 != 0)
        length--;
      text = convert_or_error (data + 2, length - 2, encoding, error);
    }
  else if (memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                   _("The file holds binary data (or UTF-16 without a byte order mark), not subtitles"));
      return NULL;
    }
  else if (g_utf8_validate ((const char *) data, length, NULL))
    {
      encoding = "UTF-8";
      text = g_strndup ((const char *) data, length);
    }
  else
    {
      encoding = "ISO-8859-1";
      text = latin1_to_utf8 (data, length);
    }

  if (text != NULL && out_encoding != NULL)
    *out_encoding = encoding;
  return text;
}

/* ---- Markup ------------------------------------------------------------- */

static gboolean
append_entity (GString     *out,
               const char  *p,
               const char **out_end)
{
  static const struct { const char *name; gunichar c; } entities[] = {
    { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
    { "apos", '\'' }, { "nbsp", ' ' }, { "lrm", 0 }, { "rlm", 0 },
  };
  const char *semi = p + 1;

  while (*semi != '\0' && *semi != ';' && semi - p < 12 && (g_ascii_isalnum (*semi) || *semi == '#'))
    semi++;
  if (*semi != ';')
    return FALSE;

  if (p[1] == '#')
    {
      gboolean hex = p[2] == 'x' || p[2] == 'X';
      char *end = NULL;
      guint64 v = g_ascii_strtoull (p + (hex ? 3 : 2), &end, hex ? 16 : 10);

      if (end != semi || v == 0 || !g_unichar_validate ((gunichar) v) || v > 0x10ffff)
        return FALSE;
      g_string_append_unichar (out, (gunichar) v);
      *out_end = semi + 1;
      return TRUE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
    if (strlen (entities[i].name) == (gsize) (semi - p - 1) &&
        strncmp (p + 1, entities[i].name, semi - p - 1) == 0)
      {
        if (entities[i].c != 0)
          g_string_append_unichar (out, entities[i].c);
        *out_end = semi + 1;
        return TRUE;
      }

  return FALSE;
}

char *
vm_subtitles_strip_markup (const char *text)
{
  g_autoptr(GString) raw = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  GString *out = g_string_new (NULL);
  const char *p = text;

  if (text == NULL)
    return g_string_free (out, FALSE);

  while (*p != '\0')
    {
      if (*p == '{')
        {
          const char *close = strchr (p, '}');

          /* ASS override blocks; a lone '{' stays. */
          if (close != NULL)
            {
              p = close + 1;
              continue;
            }
        }
      else if (*p == '\\' && (p[1] == 'N' || p[1] == 'n'))
        {
          g_string_append_c (raw, '\n');
          p += 2;
          continue;
        }
      else if (*p == '\\' && p[1] == 'h')
        {
          g_string_append_c (raw, ' ');
          p += 2;
          continue;
        }
      else if (*p == '<' && (g_ascii_isalpha (p[1]) || p[1] == '/' || g_ascii_isdigit (p[1]) || p[1] == '.'))
        {
          const char *close = p + 1;

          while (*close != '\0' && *close != '>' && *close != '\n' && *close != '<')
            close++;
          if (*close == '>')
            {
              p = close + 1;
              continue;
            }
        }
      else if (*p == '&')
        {
          const char *end = NULL;

          if (append_entity (raw, p, &end))
            {
              p = end;
              continue;
            }
        }

      g_string_append_c (raw, *p);
      p++;
    }

  lines = g_strsplit (raw->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = NULL;
      gboolean first = TRUE;

      g_strdelimit (lines[i], "\t\r\f\v", ' ');
      words = g_strsplit (lines[i], " ", -1);
      for (guint j = 0; words[j] != NULL; j++)
        {
          if (words[j][0] == '\0')
            continue;
          if (first)
            {
              if (out->len > 0)
                g_string_append_c (out, '\n');
            }
          else
            g_string_append_c (out, ' ');
          g_string_append (out, words[j]);
          first = FALSE;
        }
    }

  return g_string_free (out, FALSE);
}

/* ---- Times -------------------------------------------------------------- */

/* "[h:]mm:ss[.,]fff" with 1–3 fraction digits; also ASS "h:mm:ss.cc". */
static gboolean
parse_clock (const char *s,
             gint64     *out_ns)
{
  guint64 fields[3] = { 0 };
  guint n_fields = 0;
  guint64 frac = 0;
  guint frac_digits = 0;
  const char *p = s;

  while (g_ascii_isspace (*p))
    p++;

  for (;;)
    {
      guint digits = 0;
      guint64 v = 0;

      while (g_ascii_isdigit (*p) && digits < 10)
        {
          v = v * 10 + (*p - '0');
          p++;
          digits++;
        }
      if (digits == 0 || g_ascii_isdigit (*p))
        return FALSE;
      if (n_fields == 3)
        return FALSE;
      fields[n_fields++] = v;
      if (*p == ':')
        {
          p++;
          continue;
        }
      break;
    }

  if (*p == '.' || *p == ',')
    {
      p++;
      while (g_ascii_isdigit (*p))
        {
          if (frac_digits < 9)
            {
              frac = frac * 10 + (*p - '0');
              frac_digits++;
            }
          p++;
        }
      if (frac_digits == 0)
        return FALSE;
    }

  while (g_ascii_isspace (*p))
    p++;
  if (*p != '\0')
    return FALSE;

  if (n_fields < 2)
    return FALSE;

  {
    guint64 h = n_fields == 3 ? fields[0] : 0;
    guint64 m = fields[n_fields - 2];
    guint64 sec = fields[n_fields - 1];
    guint64 ns;

    if (m >= 60 || sec >= 60 || h > 1000000)
      return FALSE;
    for (guint i = frac_digits; i < 9; i++)
      frac *= 10;
    ns = ((h * 60 + m) * 60 + sec) * (guint64) VM_NSEC_PER_SEC + frac;
    *out_ns = (gint64) ns;
  }
  return TRUE;
}

/* "START --> END [settings]" */
static gboolean
parse_timing_line (const char *line,
                   gint64     *out_start,
                   gint64     *out_end)
{
  const char *arrow = strstr (line, "-->");
  g_autofree char *left = NULL;
  g_autofree char *right = NULL;
  char *space;

  if (arrow == NULL)
    return FALSE;
  left = g_strndup (line, arrow - line);
  right = g_strstrip (g_strdup (arrow + 3));
  space = strpbrk (right, " \t");
  if (space != NULL)
    *space = '\0';

  return parse_clock (left, out_start) && parse_clock (right, out_end);
}

/* ---- Parsers ------------------------------------------------------------ */

static void
note_bad (VmSubtitleTrack *track,
          guint            line)
{
  track->n_skipped++;
  if (track->first_bad_line == 0)
    track->first_bad_line = line;
}

static void
add_cue (VmSubtitleTrack *track,
         gint64           start_ns,
         gint64           end_ns,
         const char      *raw_text)
{
  g_autofree char *text = vm_subtitles_strip_markup (raw_text);

  if (text[0] == '\0')
    return;
  g_ptr_array_add (track->cues, cue_new (start_ns, end_ns, text));
}

static gboolean
is_number_line (const char *line)
{
  if (*line == '\0')
    return FALSE;
  for (const char *p = line; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

/* SRT and WebVTT share their structure: blocks separated by blank lines, a
 * "START --> END" line, then text.  Missing blank lines between cues are
 * tolerated (a new time line starts a new cue). */
static void
parse_srt_vtt (VmSubtitleTrack *track,
               char           **lines,
               gboolean         vtt)
{
  g_autoptr(GString) text = g_string_new (NULL);
  gboolean in_cue = FALSE;     /* collecting the text of a valid cue */
  gboolean skipping = FALSE;   /* inside a block that was rejected or is not a cue */
  gboolean orphan = FALSE;     /* the block had text but no time line yet */
  guint orphan_line = 0;
  gint64 start = 0, end = 0;
  guint n = g_strv_length (lines);

  for (guint i = 0; i < n; i++)
    {
      char *line = g_strstrip (lines[i]);
      gboolean next_is_timing = i + 1 < n && strstr (lines[i + 1], "-->") != NULL;

      if (line[0] == '\0')
        {
          if (in_cue)
            add_cue (track, start, end, text->str);
          else if (orphan)
            note_bad (track, orphan_line);
          in_cue = skipping = orphan = FALSE;
          g_string_truncate (text, 0);
          continue;
        }

      if (strstr (line, "-->") != NULL)
        {
          if (in_cue)
            add_cue (track, start, end, text->str);
          in_cue = orphan = FALSE;
          g_string_truncate (text, 0);

          if (parse_timing_line (line, &start, &end) && end > start)
            in_cue = TRUE;
          else
            {
              note_bad (track, i + 1);
              skipping = TRUE;
            }
          continue;
        }

      if (skipping)
        continue;

      if (in_cue)
        {
          /* The index of the next cue, when a blank line is missing. */
          if (next_is_timing && (is_number_line (line) || vtt))
            {
              add_cue (track, start, end, text->str);
              in_cue = FALSE;
              g_string_truncate (text, 0);
              continue;
            }
          if (text->len > 0)
            g_string_append_c (text, '\n');
          g_string_append (text, line);
          continue;
        }

      /* Outside a cue: headers, notes, indexes and identifiers. */
      if (vtt && (g_str_has_prefix (line, "WEBVTT") || g_str_has_prefix (line, "NOTE") ||
                  g_str_has_prefix (line, "STYLE") || g_str_has_prefix (line, "REGION") ||
                  g_str_has_prefix (line, "X-TIMESTAMP-MAP")))
        {
          skipping = TRUE;
          continue;
        }
      if (next_is_timing && !orphan)
        continue; /* an index or a cue identifier */
      if (!orphan && is_number_line (line))
        continue;
      if (!orphan)
        {
          orphan = TRUE;
          orphan_line = i + 1;
        }
    }

  if (in_cue)
    add_cue (track, start, end, text->str);
  else if (orphan)
    note_bad (track, orphan_line);
}

static void
parse_ass (VmSubtitleTrack *track,
           char           **lines)
{
  /* Field positions in "Format:"; the defaults are those of ASS. */
  int f_start = 1, f_end = 2, f_text = 9, n_fields = 10;
  gboolean in_events = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (line[0] == '[')
        {
          in_events = g_ascii_strncasecmp (line, "[events]", 8) == 0;
          continue;
        }
      if (!in_events)
        continue;

      if (g_ascii_strncasecmp (line, "Format:", 7) == 0)
        {
          g_auto(GStrv) fields = g_strsplit (line + 7, ",", -1);
          int s = -1, e = -1, t = -1;
          int count = g_strv_length (fields);

          for (int k = 0; k < count; k++)
            {
              g_strstrip (fields[k]);
              if (g_ascii_strcasecmp (fields[k], "Start") == 0)
                s = k;
              else if (g_ascii_strcasecmp (fields[k], "End") == 0)
                e = k;
              else if (g_ascii_strcasecmp (fields[k], "Text") == 0)
                t = k;
            }
          if (s >= 0 && e >= 0 && t == count - 1)
            {
              f_start = s;
              f_end = e;
              f_text = t;
              n_fields = count;
            }
          continue;
        }

      if (g_ascii_strncasecmp (line, "Dialogue:", 9) == 0)
        {
          g_auto(GStrv) fields = g_strsplit (line + 9, ",", n_fields);
          gint64 start = 0, end = 0;

          if ((int) g_strv_length (fields) != n_fields ||
              !parse_clock (fields[f_start], &start) ||
              !parse_clock (fields[f_end], &end) ||
              end <= start)
            {
              note_bad (track, i + 1);
              continue;
            }
          add_cue (track, start, end, fields[f_text]);
        }
    }
}

static int
compare_cues (gconstpointer a,
              gconstpointer b)
{
  const VmSubtitleCue *x = *(VmSubtitleCue * const *) a;
  const VmSubtitleCue *y = *(VmSubtitleCue * const *) b;

  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  if (x->end_ns != y->end_ns)
    return x->end_ns < y->end_ns ? -1 : 1;
  return 0;
}

/* Sorts the cues; merges a cue into an earlier one with the same text when
 * they overlap or touch (duplicated lines, karaoke-style repeats).  Other
 * overlapping cues are kept. */
static void
normalise_track (VmSubtitleTrack *track)
{
  GPtrArray *cues = track->cues;

  g_ptr_array_sort (cues, compare_cues);

  for (guint i = 0; i < cues->len; i++)
    {
      VmSubtitleCue *cue = g_ptr_array_index (cues, i);

      for (guint j = i + 1; j < cues->len;)
        {
          VmSubtitleCue *next = g_ptr_array_index (cues, j);

          if (next->start_ns > cue->end_ns + VM_NSEC_PER_SEC / 100)
            break;
          if (g_str_equal (next->text, cue->text))
            {
              cue->end_ns = MAX (cue->end_ns, next->end_ns);
              g_ptr_array_remove_index (cues, j);
              track->n_merged++;
              continue;
            }
          j++;
        }
    }
}

VmSubtitleFormat
vm_subtitles_sniff (const char *text)
{
  const char *p = text;

  while (g_ascii_isspace (*p))
    p++;
  if (g_str_has_prefix (p, "WEBVTT"))
    return VM_SUBTITLE_FORMAT_WEBVTT;
  if (g_ascii_strncasecmp (p, "[Script Info]", 13) == 0 || strstr (p, "\nDialogue:") != NULL ||
      strstr (p, "[Events]") != NULL)
    return VM_SUBTITLE_FORMAT_ASS;
  if (strstr (p, "-->") != NULL)
    return VM_SUBTITLE_FORMAT_SRT;
  return VM_SUBTITLE_FORMAT_UNKNOWN;
}

VmSubtitleTrack *
vm_subtitles_parse (const char       *text,
                    VmSubtitleFormat  format)
{
  g_autoptr(VmSubtitleTrack) track = vm_subtitle_track_new ();
  g_autofree char *copy = NULL;
  g_auto(GStrv) lines = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  if (format == VM_SUBTITLE_FORMAT_UNKNOWN || format == VM_SUBTITLE_FORMAT_EMBEDDED)
    format = vm_subtitles_sniff (text);
  track->format = format;

  /* Line ends: \r\n, \n or a lone \r. */
  copy = g_strdup (text);
  for (char *p = copy; *p != '\0'; p++)
    if (*p == '\r')
      *p = (p[1] == '\n') ? ' ' : '\n';
  lines = g_strsplit (copy, "\n", -1);

  switch (format)
    {
    case VM_SUBTITLE_FORMAT_ASS:
      parse_ass (track, lines);
      break;
    case VM_SUBTITLE_FORMAT_WEBVTT:
      parse_srt_vtt (track, lines, TRUE);
      break;
    case VM_SUBTITLE_FORMAT_SRT:
    case VM_SUBTITLE_FORMAT_UNKNOWN:
    case VM_SUBTITLE_FORMAT_EMBEDDED:
    default:
      parse_srt_vtt (track, lines, FALSE);
      break;
    }

  normalise_track (track);
  return g_steal_pointer (&track);
}

static VmSubtitleFormat
format_from_extension (const char *path)
{
  const char *dot = strrchr (path, '.');

  if (dot == NULL)
    return VM_SUBTITLE_FORMAT_UNKNOWN;
  dot++;
  if (g_ascii_strcasecmp (dot, "srt") == 0)
    return VM_SUBTITLE_FORMAT_SRT;
  if (g_ascii_strcasecmp (dot, "vtt") == 0)
    return VM_SUBTITLE_FORMAT_WEBVTT;
  if (g_ascii_strcasecmp (dot, "ass") == 0 || g_ascii_strcasecmp (dot, "ssa") == 0)
    return VM_SUBTITLE_FORMAT_ASS;
  return VM_SUBTITLE_FORMAT_UNKNOWN;
}

VmSubtitleTrack *
vm_subtitles_load_file (const char  *path,
                        const char  *language,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GMappedFile) file = NULL;
  g_autofree char *text = NULL;
  g_autofree char *display = g_filename_display_basename (path);
  VmSubtitleTrack *track;
  VmSubtitleFormat format;
  const char *encoding = NULL;
  gsize length;

  file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? VM_MEDIA_ERROR_NOT_FOUND : VM_MEDIA_ERROR_PERMISSION,
                   _("%s: %s"), display, local_error->message);
      return NULL;
    }
  length = g_mapped_file_get_length (file);
  if (length > MAX_SUBTITLE_FILE)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA,
                   _("%s: too large for a subtitle file"), display);
      return NULL;
    }

  text = vm_subtitles_decode ((const guint8 *) g_mapped_file_get_contents (file), length,
                              &encoding, &local_error);
  if (text == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, local_error->code, "%s: %s", display, local_error->message);
      return NULL;
    }

  format = format_from_extension (path);
  if (format == VM_SUBTITLE_FORMAT_UNKNOWN)
    format = vm_subtitles_sniff (text);

  track = vm_subtitles_parse (text, format);
  track->source = g_strdup (path);
  track->language = g_strdup (language);
  track->encoding = g_strdup (encoding);

  if (track->cues->len == 0 && track->n_skipped > 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                   g_dngettext (GETTEXT_PACKAGE,
                                "%s: no valid subtitle entry (%u malformed entry, at line %u)",
                                "%s: no valid subtitle entry (%u malformed entries, the first at line %u)",
                                track->n_skipped),
                   display, track->n_skipped, track->first_bad_line);
      vm_subtitle_track_free (track);
      return NULL;
    }

  return track;
}

/* ---- Sidecars ----------------------------------------------------------- */

static gboolean
is_language_tag (const char *s)
{
  gsize len = strlen (s);
  gsize i = 0;

  while (i < len && g_ascii_isalpha (s[i]))
    i++;
  if (i < 2 || i > 3)
    return FALSE;
  if (i == len)
    return TRUE;
  if (s[i] != '-' && s[i] != '_')
    return FALSE;
  i++;
  /* A region (2 letters or 3 digits) or a script (4 letters). */
  {
    gsize rest = len - i;

    if (rest == 2 && g_ascii_isalpha (s[i]) && g_ascii_isalpha (s[i + 1]))
      return TRUE;
    if (rest == 3 && g_ascii_isdigit (s[i]) && g_ascii_isdigit (s[i + 1]) && g_ascii_isdigit (s[i + 2]))
      return TRUE;
    if (rest == 4)
      {
        for (gsize k = i; k < len; k++)
          if (!g_ascii_isalpha (s[k]))
            return FALSE;
        return TRUE;
      }
  }
  return FALSE;
}

static char *
normalise_language (const char *tag)
{
  g_autofree char *copy = g_strdup (tag);
  char *sep;

  g_strdelimit (copy, "_", '-');
  sep = strchr (copy, '-');
  if (sep == NULL)
    return g_ascii_strdown (copy, -1);
  *sep = '\0';
  {
    g_autofree char *lang = g_ascii_strdown (copy, -1);
    g_autofree char *sub = NULL;

    if (strlen (sep + 1) == 4)
      {
        sub = g_ascii_strdown (sep + 1, -1);
        sub[0] = g_ascii_toupper (sub[0]);
      }
    else
      sub = g_ascii_strup (sep + 1, -1);
    return g_strdup_printf ("%s-%s", lang, sub);
  }
}

static char *
video_base_name (const char *video_path)
{
  g_autofree char *base = g_path_get_basename (video_path);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_steal_pointer (&base);
}

char *
vm_subtitles_language_from_name (const char *video_path,
                                 const char *sidecar_path)
{
  static const char *const ignored[] = { "forced", "sdh", "cc", "default", "full", "hi", NULL };
  g_autofree char *base = video_base_name (video_path);
  g_autofree char *name = g_path_get_basename (sidecar_path);
  g_auto(GStrv) parts = NULL;
  char *ext;
  gsize base_len = strlen (base);

  if (!g_str_has_prefix (name, base) || name[base_len] != '.')
    return NULL;
  ext = strrchr (name, '.');
  if (ext == name + base_len)
    return NULL;
  *ext = '\0';

  parts = g_strsplit (name + base_len + 1, ".", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (g_strv_contains (ignored, parts[i]) && i > 0)
        continue;
      if (is_language_tag (parts[i]) &&
          !(g_ascii_strcasecmp (parts[i], "sdh") == 0 || g_ascii_strcasecmp (parts[i], "cc") == 0))
        return normalise_language (parts[i]);
    }
  return NULL;
}

static int
compare_sidecars (gconstpointer a,
                  gconstpointer b)
{
  const VmSubtitleSidecar *x = *(VmSubtitleSidecar * const *) a;
  const VmSubtitleSidecar *y = *(VmSubtitleSidecar * const *) b;

  return strcmp (x->path, y->path);
}

GPtrArray *
vm_subtitles_find_sidecars (const char *video_path)
{
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_subtitle_sidecar_free);
  g_autofree char *dir_path = g_path_get_dirname (video_path);
  g_autofree char *base = video_base_name (video_path);
  g_autoptr(GDir) dir = NULL;
  gsize base_len = strlen (base);
  const char *name;

  dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return result;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      VmSubtitleSidecar *sidecar;
      g_autofree char *path = NULL;
      VmSubtitleFormat format;

      if (!g_str_has_prefix (name, base) || name[base_len] != '.')
        continue;
      format = format_from_extension (name);
      if (format == VM_SUBTITLE_FORMAT_UNKNOWN)
        continue;
      path = g_build_filename (dir_path, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;

      sidecar = g_new0 (VmSubtitleSidecar, 1);
      sidecar->language = vm_subtitles_language_from_name (video_path, path);
      sidecar->path = g_steal_pointer (&path);
      sidecar->format = format;
      g_ptr_array_add (result, sidecar);
    }

  g_ptr_array_sort (result, compare_sidecars);
  return result;
}

/* ---- Embedded streams --------------------------------------------------- */

typedef struct {
  guint            number;
  gboolean         ass;         /* raw ASS/SSA event lines */
  char            *language;
  GPtrArray       *cues;        /* VmSubtitleCue*; end_ns -1 when unknown */
} Stream;

typedef struct {
  GMutex       lock;
  GstElement  *pipeline;
  GPtrArray   *streams;         /* Stream* */
  gint64       last_progress;   /* monotonic µs */
} Embedded;

static void
stream_free (Stream *stream)
{
  g_free (stream->language);
  g_ptr_array_unref (stream->cues);
  g_free (stream);
}

static void
note_progress (Embedded *self)
{
  g_mutex_lock (&self->lock);
  self->last_progress = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);
}

static GstPadProbeReturn
progress_probe_cb (GstPad          *pad,
                   GstPadProbeInfo *info,
                   gpointer         user_data)
{
  note_progress (user_data);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
tag_probe_cb (GstPad          *pad,
              GstPadProbeInfo *info,
              gpointer         user_data)
{
  Stream *stream = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  if (GST_EVENT_TYPE (event) == GST_EVENT_TAG)
    {
      GstTagList *tags = NULL;
      char *code = NULL;

      gst_event_parse_tag (event, &tags);
      if (gst_tag_list_get_string (tags, GST_TAG_LANGUAGE_CODE, &code) && code != NULL && *code != '\0')
        {
          const char *iso = gst_tag_get_language_code_iso_639_1 (code);

          /* Written by the streaming thread before any buffer; read after EOS. */
          g_free (stream->language);
          stream->language = g_strdup (iso != NULL ? iso : code);
        }
      g_free (code);
    }
  return GST_PAD_PROBE_OK;
}

/* The text part of a Matroska ASS event:
 * "ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text". */
static const char *
ass_event_text (const char *line)
{
  const char *p = line;

  for (int commas = 0; commas < 8; commas++)
    {
      p = strchr (p, ',');
      if (p == NULL)
        return line;
      p++;
    }
  return p;
}

static GstFlowReturn
new_sample_cb (GstAppSink *sink,
               gpointer    user_data)
{
  Stream *stream = g_object_get_data (G_OBJECT (sink), "vm-stream");
  Embedded *self = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buffer;
  GstMapInfo map;

  if (sample == NULL || (buffer = gst_sample_get_buffer (sample)) == NULL)
    return GST_FLOW_OK;
  if (!GST_BUFFER_PTS_IS_VALID (buffer))
    return GST_FLOW_OK;

  if (gst_buffer_map (buffer, &map, GST_MAP_READ))
    {
      g_autofree char *raw = NULL;
      g_autofree char *text = NULL;
      gint64 start = GST_BUFFER_PTS (buffer);
      gint64 end = GST_BUFFER_DURATION_IS_VALID (buffer) ? start + (gint64) GST_BUFFER_DURATION (buffer) : -1;

      /* Only text: binary payloads of unknown subtitle codecs are dropped. */
      for (gsize i = 0; i < map.size; i++)
        if (map.data[i] < 0x20 && map.data[i] != '\n' && map.data[i] != '\r' && map.data[i] != '\t' &&
            !(map.data[i] == 0 && i + 1 == map.size))
          {
            gst_buffer_unmap (buffer, &map);
            return GST_FLOW_OK;
          }
      raw = g_utf8_make_valid ((const char *) map.data, map.size);
      gst_buffer_unmap (buffer, &map);
      text = vm_subtitles_strip_markup (stream->ass ? ass_event_text (raw) : raw);
      if (text[0] != '\0')
        {
          g_mutex_lock (&self->lock);
          g_ptr_array_add (stream->cues, cue_new (start, end, text));
          g_mutex_unlock (&self->lock);
        }
    }
  note_progress (self);
  return GST_FLOW_OK;
}

static gboolean
is_text_caps (GstCaps  *caps,
              gboolean *out_ass)
{
  GstStructure *s;
  const char *name;

  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return FALSE;
  s = gst_caps_get_structure (caps, 0);
  name = gst_structure_get_name (s);
  *out_ass = g_str_equal (name, "application/x-ass") || g_str_equal (name, "application/x-ssa");
  /* WebVTT in WebM is "unknown" to GStreamer 1.22's demuxer; its blocks are
   * plain cue text, and buffers that are not text are dropped below. */
  return g_str_equal (name, "text/x-raw") || *out_ass ||
         g_str_equal (name, "application/x-subtitle-vtt") ||
         g_str_equal (name, "text/vtt") || g_str_equal (name, "application/x-subtitle") ||
         g_str_equal (name, "application/x-subtitle-unknown");
}

static void
pad_added_cb (GstElement *parsebin,
              GstPad     *pad,
              gpointer    user_data)
{
  Embedded *self = user_data;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  GstElement *sink;
  GstPad *sinkpad;
  gboolean ass = FALSE;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);

  if (is_text_caps (caps, &ass))
    {
      Stream *stream = g_new0 (Stream, 1);
      GstAppSinkCallbacks callbacks = { .new_sample = new_sample_cb };

      stream->cues = g_ptr_array_new_with_free_func ((GDestroyNotify) cue_free);
      stream->ass = ass;
      g_mutex_lock (&self->lock);
      stream->number = self->streams->len;
      g_ptr_array_add (self->streams, stream);
      g_mutex_unlock (&self->lock);

      sink = gst_element_factory_make ("appsink", NULL);
      g_object_set (sink, "sync", FALSE, "async", FALSE, "max-buffers", 0, NULL);
      g_object_set_data (G_OBJECT (sink), "vm-stream", stream);
      gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, self, NULL);
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, tag_probe_cb, stream, NULL);
    }
  else
    {
      sink = gst_element_factory_make ("fakesink", NULL);
      g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
    }

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, progress_probe_cb, self, NULL);
  gst_bin_add (GST_BIN (self->pipeline), sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sinkpad);
  gst_object_unref (sinkpad);
  gst_element_sync_state_with_parent (sink);
}

GPtrArray *
vm_subtitles_read_embedded (const char    *path,
                            guint          watchdog_ms,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_subtitle_track_free);
  g_autoptr(GstBus) bus = NULL;
  g_autofree char *display = g_filename_display_basename (path);
  GstElement *src, *parsebin;
  Embedded self = { 0 };
  gboolean ok = TRUE;

  if (!vm_media_init (error))
    return NULL;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND, _("%s: no such file"), display);
      return NULL;
    }
  if (watchdog_ms == 0)
    watchdog_ms = 30000;

  src = gst_element_factory_make ("filesrc", NULL);
  parsebin = gst_element_factory_make ("parsebin", NULL);
  if (src == NULL || parsebin == NULL)
    {
      g_clear_object (&src);
      g_clear_object (&parsebin);
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("GStreamer’s filesrc or parsebin is missing"));
      return NULL;
    }

  g_mutex_init (&self.lock);
  self.streams = g_ptr_array_new_with_free_func ((GDestroyNotify) stream_free);
  self.pipeline = gst_pipeline_new ("vm-subtitles");
  self.last_progress = g_get_monotonic_time ();
  g_object_set (src, "location", path, NULL);
  gst_bin_add_many (GST_BIN (self.pipeline), src, parsebin, NULL);
  gst_element_link (src, parsebin);
  g_signal_connect (parsebin, "pad-added", G_CALLBACK (pad_added_cb), &self);

  bus = gst_element_get_bus (self.pipeline);
  if (gst_element_set_state (self.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_autoptr(GstMessage) msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      g_autoptr(GError) gst_error = NULL;

      if (msg != NULL)
        gst_message_parse_error (msg, &gst_error, NULL);
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA, _("%s: cannot be read: %s"),
                   display, gst_error != NULL ? gst_error->message : _("unknown error"));
      ok = FALSE;
    }

  if (ok)
    ok = _vm_media_run_pipeline (self.pipeline, display, &self.lock, &self.last_progress,
                                 NULL, watchdog_ms,
                                 _("%s: subtitles cannot be read: %s"),
                                 _("%s: reading subtitles stopped progressing"),
                                 cancellable, error);

  gst_element_set_state (self.pipeline, GST_STATE_NULL);
  gst_object_unref (self.pipeline);

  if (ok)
    {
      for (guint i = 0; i < self.streams->len; i++)
        {
          Stream *stream = g_ptr_array_index (self.streams, i);
          VmSubtitleTrack *track;

          if (stream->cues->len == 0)
            continue;
          track = vm_subtitle_track_new ();
          track->source = g_strdup_printf ("%s#%u", path, stream->number);
          track->language = g_steal_pointer (&stream->language);
          track->format = VM_SUBTITLE_FORMAT_EMBEDDED;
          g_ptr_array_sort (stream->cues, compare_cues);
          for (guint k = 0; k < stream->cues->len; k++)
            {
              VmSubtitleCue *cue = g_ptr_array_index (stream->cues, k);

              if (cue->end_ns <= cue->start_ns)
                {
                  gint64 limit = cue->start_ns + DEFAULT_CUE_NS;

                  if (k + 1 < stream->cues->len)
                    limit = MIN (limit, ((VmSubtitleCue *) g_ptr_array_index (stream->cues, k + 1))->start_ns);
                  cue->end_ns = MAX (limit, cue->start_ns + VM_NSEC_PER_SEC / 10);
                }
              g_ptr_array_add (track->cues, cue_new (cue->start_ns, cue->end_ns, cue->text));
            }
          normalise_track (track);
          g_ptr_array_add (result, track);
        }
    }

  g_ptr_array_unref (self.streams);
  g_mutex_clear (&self.lock);

  return ok ? g_steal_pointer (&result) : NULL;
}
