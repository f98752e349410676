/* vm-text-search.h — moment search over the timed text of the library
 * (subtitles, on-screen text, speech) with the catalog's FTS5 index.
 *
 * User text becomes a safe FTS5 query: every word is quoted, "quoted
 * phrases" stay phrases, a trailing * asks for a prefix, and all terms must
 * match (AND).  Words without a letter or digit are dropped; past 32 terms
 * or 2 KiB the rest of the query is ignored.  Diacritics and case are folded
 * by the index's tokenizer (unicode61 remove_diacritics 2).
 *
 * Each matching segment becomes a moment: its start and end widened by a
 * margin and clamped to [0, duration].  Moments of one video that overlap
 * or lie closer than merge_gap are merged; the merged moment keeps the best
 * score, a small bonus per extra signal, the union of the signals and every
 * snippet.  Moments are ranked by score, best first.
 *
 * The VmMoment type is meant to carry visual moments too (signal
 * VM_SIGNAL_VISUAL): a hybrid search merges both lists with vm_moments_merge().
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "catalog/vm-catalog.h"

G_BEGIN_DECLS

#define VM_SEARCH_ERROR (vm_search_error_quark ())

typedef enum {
  VM_SEARCH_ERROR_EMPTY_QUERY,   /* nothing searchable in the query */
  VM_SEARCH_ERROR_FAILED,
} VmSearchError;

GQuark vm_search_error_quark (void);

typedef enum {
  VM_SIGNAL_SUBTITLE = 1 << 0,
  VM_SIGNAL_OCR      = 1 << 1,
  VM_SIGNAL_SPEECH   = 1 << 2,
  VM_SIGNAL_VISUAL   = 1 << 3,
} VmSignal;

/* The signal of a text source. */
VmSignal    vm_signal_from_text_source (VmTextSource source);
/* "subtitle", "ocr", "speech", "visual" */
const char *vm_signal_to_string        (VmSignal     signal);

typedef struct {
  VmTextSource  source;
  gint64        start_ns;      /* the segment's own times */
  gint64        end_ns;
  char         *language;      /* NULL when unknown */
  char         *text;
  char         *highlighted;   /* matches in [brackets] */
  double        confidence;    /* 0..1 */
  double        score;         /* 0..1, this snippet's own score */
} VmSnippet;

void       vm_snippet_free (VmSnippet *snippet);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmSnippet, vm_snippet_free)

typedef struct {
  gint64      video_id;
  char       *path;
  gint64      start_ns;
  gint64      end_ns;
  double      score;           /* 0..1, larger is better */
  guint       signals;         /* VmSignal bits */
  GPtrArray  *snippets;        /* VmSnippet*, by start time */
} VmMoment;

VmMoment  *vm_moment_new  (void);
void       vm_moment_free (VmMoment *moment);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmMoment, vm_moment_free)

typedef struct {
  guint    limit;          /* moments returned; default 10 */
  gint64   margin_ns;      /* widening on each side; default 0.5 s */
  gint64   merge_gap_ns;   /* moments of one video closer than this merge; default 1 s */
  gint64   video_id;       /* only this video; 0 for all */
  guint    sources;        /* VmSignal bits of the text sources to use; default all three */
} VmTextSearchOptions;

void       vm_text_search_options_init (VmTextSearchOptions *options);

/* Turns user text into a safe FTS5 query, e.g. «café "new york" bri*» →
 * «"café" "new york" "bri"*».  Never fails on odd input; NULL with
 * VM_SEARCH_ERROR_EMPTY_QUERY when nothing searchable is left. */
char      *vm_text_query_to_fts        (const char  *text,
                                        GError     **error);

/* Searches the timed text.  Element type VmMoment*, best first; empty when
 * nothing matches. */
GPtrArray *vm_text_search              (VmCatalog                  *catalog,
                                        const char                 *text,
                                        const VmTextSearchOptions  *options,
                                        GError                    **error);

/* Merges moments of the same video that overlap or lie within @gap_ns of
 * each other, in place, then sorts by score (best first).  Scores combine
 * as max + 0.05 per extra distinct signal (capped at 1). */
void       vm_moments_merge            (GPtrArray *moments,
                                        gint64     gap_ns);

/* Intersection over union of two time ranges; 0 when either is empty. */
double     vm_temporal_iou             (gint64 a_start,
                                        gint64 a_end,
                                        gint64 b_start,
                                        gint64 b_end);

G_END_DECLS
