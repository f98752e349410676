/* vm-subtitles.h — timed text from subtitles: sidecar files next to a video
 * (SRT, WebVTT, ASS/SSA in UTF-8, UTF-16 or Latin-1) and text subtitle
 * streams embedded in the container (read with GStreamer).
 *
 * Overlapping cues are kept as they are (two speakers may talk at once);
 * cues with the same text whose times overlap or touch are merged into one.
 * Malformed cues (bad times, end before start, no time line) are skipped and
 * counted; the track records how many and the first one's line number.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  VM_SUBTITLE_FORMAT_UNKNOWN,
  VM_SUBTITLE_FORMAT_SRT,
  VM_SUBTITLE_FORMAT_WEBVTT,
  VM_SUBTITLE_FORMAT_ASS,      /* ASS and SSA */
  VM_SUBTITLE_FORMAT_EMBEDDED, /* a stream inside the video file */
} VmSubtitleFormat;

/* "srt", "webvtt", "ass", "embedded", "unknown" */
const char *vm_subtitle_format_to_string (VmSubtitleFormat format);

typedef struct {
  gint64  start_ns;
  gint64  end_ns;
  char   *text;          /* plain UTF-8, markup stripped, lines joined by '\n' */
} VmSubtitleCue;

typedef struct {
  char             *source;          /* file path, or "PATH#N" for embedded stream N */
  char             *language;        /* from the file name or stream tags; NULL when unknown */
  VmSubtitleFormat  format;
  char             *encoding;        /* "UTF-8", "UTF-16LE", "UTF-16BE", "ISO-8859-1"; NULL when embedded */
  GPtrArray        *cues;            /* VmSubtitleCue*, sorted by start */
  guint             n_skipped;       /* malformed entries that were skipped */
  guint             first_bad_line;  /* 1-based line of the first skipped entry, 0 if none */
  guint             n_merged;        /* duplicate cues merged into their neighbour */
} VmSubtitleTrack;

VmSubtitleTrack *vm_subtitle_track_new  (void);
void             vm_subtitle_track_free (VmSubtitleTrack *track);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmSubtitleTrack, vm_subtitle_track_free)

/* Converts raw subtitle file bytes to UTF-8: a UTF-8 BOM, a UTF-16 LE/BE BOM,
 * valid UTF-8 without BOM, and otherwise Latin-1 (bytes 0x80–0x9f read as
 * Windows-1252).  Binary data (NUL bytes without a UTF-16 BOM) is refused with
 * VM_MEDIA_ERROR_NOT_MEDIA.  @out_encoding (optional) receives a static name. */
char            *vm_subtitles_decode     (const guint8  *data,
                                          gsize          length,
                                          const char   **out_encoding,
                                          GError       **error);

/* Guesses the format from the text itself ("WEBVTT" header, "[Script Info]"
 * or "Dialogue:" lines, "-->" time lines). */
VmSubtitleFormat vm_subtitles_sniff      (const char    *text);

/* Parses UTF-8 @text.  Always returns a track (possibly with no cues); it is
 * up to the caller to treat an empty track with skipped entries as an error. */
VmSubtitleTrack *vm_subtitles_parse      (const char       *text,
                                          VmSubtitleFormat  format);

/* Reads, decodes and parses a subtitle file.  The format comes from the
 * extension, or is sniffed.  Fails (VM_MEDIA_ERROR_CORRUPT, one line naming
 * the file and the first bad line) when the file holds entries but none is
 * valid; an empty file gives an empty track. */
VmSubtitleTrack *vm_subtitles_load_file  (const char    *path,
                                          const char    *language,
                                          GError       **error);

typedef struct {
  char             *path;
  char             *language;    /* "en", "pt-BR", … from "video.en.srt"; NULL without */
  VmSubtitleFormat  format;
} VmSubtitleSidecar;

void vm_subtitle_sidecar_free (VmSubtitleSidecar *sidecar);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmSubtitleSidecar, vm_subtitle_sidecar_free)

/* The subtitle files next to @video_path with the same base name:
 * "clip.srt", "clip.en.srt", "clip.pt-BR.vtt", "clip.fr.ass" (extension case
 * ignored).  Element type VmSubtitleSidecar*, sorted by path; empty when none. */
GPtrArray       *vm_subtitles_find_sidecars (const char *video_path);

/* The language of a sidecar from the part of its name between the video's
 * base name and the extension, e.g. ".en" → "en", ".pt_br" → "pt-BR",
 * ".eng.forced" → "eng"; NULL when there is none.  For tests. */
char            *vm_subtitles_language_from_name (const char *video_path,
                                                  const char *sidecar_path);

/* Removes ASS override blocks ({\i1}), HTML/Pango/WebVTT tags (<i>, <c.x>,
 * <00:01.000>), decodes the common entities, turns \N and \n into newlines
 * and \h into spaces, trims each line and drops empty ones. */
char            *vm_subtitles_strip_markup (const char *text);

/* Reads every text subtitle stream embedded in @path (SRT/UTF-8, ASS/SSA,
 * WebVTT, mov_text/tx3g...) with GStreamer, without decoding audio or video.
 * Element type VmSubtitleTrack*, one per stream with at least one cue;
 * empty when the file has none.  Image subtitles (DVD, PGS) are ignored. */
GPtrArray       *vm_subtitles_read_embedded (const char    *path,
                                             guint          watchdog_ms,
                                             GCancellable  *cancellable,
                                             GError       **error);

G_END_DECLS
