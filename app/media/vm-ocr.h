/* vm-ocr.h — on-screen text: Tesseract (libtesseract's C API) on sampled
 * frames, with change detection, a cost budget and merging of repeated text
 * into timed segments.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "media/vm-media.h"

G_BEGIN_DECLS

/* One recognised line of a frame. */
typedef struct {
  char   *text;          /* UTF-8, whitespace collapsed */
  double  confidence;    /* 0..1 */
  int     x, y, width, height;
  gint64  appeared_ns;   /* when the text is known to have appeared; -1 when not */
} VmOcrLine;

void vm_ocr_line_free (VmOcrLine *line);

typedef struct _VmOcr VmOcr;

/* Starts Tesseract for @languages ("eng", "eng+deu"; NULL means "eng").
 * VM_MEDIA_ERROR_MISSING_PLUGIN when the language data is not installed. */
VmOcr     *vm_ocr_new        (const char    *languages,
                              GError       **error);
void       vm_ocr_free       (VmOcr         *ocr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmOcr, vm_ocr_free)

/* Recognises the text of one packed RGB image.  Words whose confidence is
 * below @min_confidence or without a letter or digit are dropped, then lines
 * with fewer than two letters or digits.  Element type VmOcrLine*, in
 * reading order; a line's confidence is the mean of its words'. */
GPtrArray *vm_ocr_recognize  (VmOcr         *ocr,
                              const guint8  *rgb,
                              guint          width,
                              guint          height,
                              guint          stride,
                              double         min_confidence,
                              GError       **error);

/* ---- Whole videos ------------------------------------------------------- */

typedef struct {
  const char *languages;        /* default "eng" */
  double      sample_rate;      /* frames/s looked at for changes; default 2 */
  double      max_ocr_rate;     /* frames OCR'd per second of video, on average; default 0.5 */
  guint       short_side;       /* frame size for OCR; default 720 */
  double      change_fraction;  /* share of the 32×32 grid's cells that must change; default 0.002 */
  double      min_confidence;   /* words below are dropped; default 0.6 */
  double      merge_distance;   /* normalised edit distance under which lines merge; default 0.3 */
  guint       watchdog_ms;      /* default 30000 */
} VmOcrOptions;

void vm_ocr_options_init (VmOcrOptions *options);

typedef struct {
  gint64  start_ns;
  gint64  end_ns;
  char   *text;
  double  confidence;           /* mean over the frames that saw it, 0..1 */
} VmOcrSegment;

void vm_ocr_segment_free (VmOcrSegment *segment);

typedef struct {
  guint  n_sampled;             /* frames looked at */
  guint  n_changed;             /* of which differed from the last frame OCR'd */
  guint  n_ocr;                 /* frames given to Tesseract */
  double ocr_seconds;           /* CPU time in Tesseract (wall clock of its calls) */
} VmOcrStats;

/* Samples @path at options->sample_rate, OCRs changed frames within the
 * budget (options->max_ocr_rate × video time, plus a burst of 2), and merges
 * the lines into segments.  A segment starts at the first sampled frame
 * from which its text's region looked as when it was read, and ends at the
 * first sampled frame where that region changed and the text was not read
 * again (or at the end of the video).
 * Element type VmOcrSegment*, by start.  @stats is optional. */
GPtrArray *vm_ocr_extract    (const char           *path,
                              const VmOcrOptions   *options,
                              GCancellable         *cancellable,
                              VmOcrStats           *stats,
                              GError              **error);

/* ---- Pieces exposed for tests ------------------------------------------- */

/* Levenshtein distance over Unicode characters, case-folded, divided by the
 * longer length: 0 for equal strings, 1 for nothing in common. */
double     vm_text_distance  (const char *a,
                              const char *b);

/* Merges per-frame OCR lines into segments. */
typedef struct _VmOcrTracker VmOcrTracker;

VmOcrTracker *vm_ocr_tracker_new    (double         merge_distance);
void          vm_ocr_tracker_free   (VmOcrTracker  *tracker);
/* The frame at @pts_ns was OCR'd with @lines (VmOcrLine*); the image first
 * differed from the previous OCR'd frame at @changed_ns (<= pts_ns).  New
 * text starts at its line's appeared_ns when known, else at @changed_ns;
 * text no longer read ends where its region changed, else at @changed_ns. */
void          vm_ocr_tracker_add    (VmOcrTracker  *tracker,
                                     gint64         changed_ns,
                                     gint64         pts_ns,
                                     GPtrArray     *lines);
/* The frame at @pts_ns looks like the last OCR'd frame: its text goes on. */
void          vm_ocr_tracker_extend (VmOcrTracker  *tracker,
                                     gint64         pts_ns);
/* Says whether the region x, y, width, height of the frame looks as it did
 * in the last OCR'd frame. */
typedef gboolean (*VmOcrRegionFunc) (int       x,
                                     int       y,
                                     int       width,
                                     int       height,
                                     gpointer  user_data);
/* The frame at @pts_ns changed: text whose region is unchanged goes on;
 * other text is taken to have gone at the first such frame, unless the next
 * OCR reads it again. */
void          vm_ocr_tracker_check_regions (VmOcrTracker    *tracker,
                                            gint64           pts_ns,
                                            VmOcrRegionFunc  same,
                                            gpointer         user_data);
/* Ends the open segments at @end_ns and returns all segments, by start
 * (element type VmOcrSegment*).  The tracker is left empty. */
GPtrArray    *vm_ocr_tracker_finish (VmOcrTracker  *tracker,
                                     gint64         end_ns);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmOcrTracker, vm_ocr_tracker_free)

G_END_DECLS
