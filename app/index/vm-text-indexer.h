/* vm-text-indexer.h — extracts the timed text of one video (subtitle
 * streams and sidecar files, on-screen text by OCR, speech) and stores it in
 * the catalog's full-text index.
 *
 * Problems with one source (a malformed sidecar, OCR data not installed, no
 * speech engine) never fail the video: they are reported as warnings and the
 * other sources go on.  Each source's old segments are replaced by the new
 * ones in one transaction.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "catalog/vm-catalog.h"
#include "media/vm-ocr.h"
#include "media/vm-speech.h"

G_BEGIN_DECLS

/* Called for each problem with one source of one video: @message is one
 * line naming the file. */
typedef void (*VmTextWarningFunc) (const char *path,
                                   const char *message,
                                   gpointer    user_data);

typedef struct {
  gboolean           enabled;            /* default TRUE */
  gboolean           subtitles;          /* embedded streams and sidecar files; default TRUE */
  gboolean           ocr;                /* default TRUE */
  gboolean           speech;             /* default FALSE (slow, and English only) */
  VmOcrOptions       ocr_options;        /* see vm_ocr_options_init() */
  VmSpeechEngine    *speech_engine;      /* NULL: the built-in engine, loaded once per process */
  gint64             speech_max_gap_ns;  /* a longer pause starts a new phrase; default 0.8 s */
  gint64             speech_max_phrase_ns; /* default 8 s */
  guint              watchdog_ms;        /* default 30000 */
  VmTextWarningFunc  warning_func;       /* NULL: warnings go to g_debug() */
  gpointer           warning_data;
} VmTextIndexOptions;

void vm_text_index_options_init (VmTextIndexOptions *options);

typedef struct {
  guint   n_subtitle;     /* segments stored, per source */
  guint   n_ocr;
  guint   n_speech;
  guint   n_warnings;
  VmOcrStats ocr_stats;
  double  speech_seconds; /* wall time spent in speech recognition */
} VmTextIndexReport;

/* Extracts the text of @path without touching a catalog.  Element type
 * VmTextSegment* (video_id 0), ordered by source then start.  @duration_ns
 * (or -1) clamps the times.  NULL only on cancellation. */
GPtrArray *vm_text_indexer_extract (const char                *path,
                                    gint64                     duration_ns,
                                    const VmTextIndexOptions  *options,
                                    GCancellable              *cancellable,
                                    VmTextIndexReport         *report,
                                    GError                   **error);

/* Extracts and stores the text of @video (which must be saved: id != 0).
 * FALSE only on a catalog error or cancellation; @report is optional. */
gboolean   vm_text_indexer_run     (VmCatalog                 *catalog,
                                    const VmVideo             *video,
                                    const VmTextIndexOptions  *options,
                                    GCancellable              *cancellable,
                                    VmTextIndexReport         *report,
                                    GError                   **error);

G_END_DECLS
