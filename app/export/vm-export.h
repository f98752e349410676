/* vm-export.h — the export layer: datasets of the catalog out to files, files
 * into the catalog, and scoring predictions against a set.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "catalog/vm-catalog.h"
#include "catalog/vm-catalog-datasets.h"
#include "export/vm-dataset.h"
#include "export/vm-eval.h"
#include "export/vm-formats.h"

G_BEGIN_DECLS

/* How a video is named in a file. */
typedef enum {
  VM_VIDEO_ID_NAME,       /* base name without extension (default) */
  VM_VIDEO_ID_RELATIVE,   /* path relative to its library folder */
  VM_VIDEO_ID_PATH,       /* absolute path */
  VM_VIDEO_ID_MAP,        /* a user-supplied mapping, path → id */
} VmVideoIdMode;

gboolean    vm_video_id_mode_from_string (const char     *text,
                                          VmVideoIdMode  *out_mode);

/* Reads a mapping file: a JSON object of absolute path → id (bounded like
 * any import).  Returns path → id, both strings. */
GHashTable *vm_video_map_load            (const char     *file,
                                          GError        **error);

typedef struct {
  VmVideoIdMode  id_mode;
  GHashTable    *map;          /* path → id, for VM_VIDEO_ID_MAP */
} VmVideoNaming;

/* Annotations' per-clip saliency (VmAnnotation.clips) is exported as the
 * scores of this rater of the set (added after the set's own raters, or the
 * rater of that name when the set has one, e.g. after a round trip). */
#define VM_EXPORT_ANNOTATION_RATER "annotator"

/* The dataset view of set @set_name: its queries, and its annotations with
 * text as queries (those of one video with the same text form one query
 * with several windows, whose qid is the smallest of theirs, and the clip
 * scores of their segments: those of clips that overlap the segment, the
 * highest where two segments score one clip), sorted by qid.  Videos are named by @naming; two videos with one name are an error
 * (VM_EXPORT_ERROR_UNREPRESENTABLE).  What cannot be named is reported in
 * @issues and left out. */
VmDataset  *vm_export_load_set           (VmCatalog            *catalog,
                                          const char           *set_name,
                                          const VmVideoNaming  *naming,
                                          GPtrArray            *issues,
                                          GError              **error);

typedef struct {
  VmFormat       format;
  VmVideoNaming  naming;
  gboolean       split;        /* write FILE_train, FILE_val, FILE_test */
  double         fractions[3];
  guint64        seed;
} VmExportOptions;

void        vm_export_options_init       (VmExportOptions *options);

/* Writes set @set_name to @path (or to its split files), each atomically.
 * Returns the paths written (element type char*). */
GPtrArray  *vm_export_set                (VmCatalog              *catalog,
                                          const char             *set_name,
                                          const VmExportOptions  *options,
                                          const char             *path,
                                          GPtrArray              *issues,
                                          guint                  *out_n_queries,
                                          GError                **error);

typedef struct {
  VmFormat       format;
  VmVideoNaming  naming;       /* VM_VIDEO_ID_MAP: ids looked up in the map */
  gboolean       replace;      /* delete the set's queries first */
  gboolean       dry_run;      /* validate only */
  VmReadLimits   limits;
} VmImportOptions;

void        vm_import_options_init       (VmImportOptions *options);

typedef struct {
  guint n_read;        /* queries read from the file */
  guint n_imported;    /* written */
  guint n_rejected;    /* issues, each in the issue list */
} VmImportReport;

/* Reads @data and writes its accepted queries into set @set_name (created
 * when missing) in one transaction.  Videos are matched by the mapping, then
 * the vidmark file's path, then the id as an absolute path, a path relative
 * to a library folder, a file name, a file name without extension; an id
 * that matches several videos is rejected as ambiguous.  Windows are checked
 * against the catalog's duration of the video; one that ends at most 0.5 s
 * past it (5 s for DiDeMo's chunks) is clamped to it.  FALSE with @error only when nothing could be
 * written (unreadable file, catalog failure). */
gboolean    vm_import_data               (VmCatalog              *catalog,
                                          const char             *set_name,
                                          const VmImportOptions  *options,
                                          const char             *data,
                                          gsize                   length,
                                          GPtrArray              *issues,
                                          VmImportReport         *out_report,
                                          GError                **error);
/* The same for a file, its size checked before it is read. */
gboolean    vm_import_file               (VmCatalog              *catalog,
                                          const char             *set_name,
                                          const VmImportOptions  *options,
                                          const char             *file,
                                          GPtrArray              *issues,
                                          VmImportReport         *out_report,
                                          GError                **error);

typedef enum {
  VM_EVAL_SOURCE_FILE,        /* a predictions file */
  VM_EVAL_SOURCE_ENGINE,      /* a search engine: see vm_eval_set_with_engine() */
  VM_EVAL_SOURCE_TEXT,        /* the text-only baseline below */
} VmEvalSource;

/* A search engine seen from the evaluation: grounds @query in the video
 * @video_id (of @duration_ns, -1 when unknown) and appends its best windows,
 * best first, to @out (VmEvalPrediction, seconds).  The export layer knows no
 * search code; the caller (the CLI) passes the engine in. */
typedef gboolean (*VmEvalEngineFunc) (const char  *query,
                                      gint64       video_id,
                                      gint64       duration_ns,
                                      GArray      *out,
                                      gpointer     user_data,
                                      GError     **error);

/* Scores set @set_name: against a QVHighlights-style predictions file
 * (@source VM_EVAL_SOURCE_FILE with @predictions_file) or the text-only
 * baseline; VM_EVAL_SOURCE_ENGINE needs vm_eval_set_with_engine() and gives
 * VM_EXPORT_ERROR_NO_ENGINE here. */
gboolean    vm_eval_set                  (VmCatalog     *catalog,
                                          const char    *set_name,
                                          VmEvalSource   source,
                                          const char    *predictions_file,
                                          GPtrArray     *issues,
                                          VmEvalResult  *out_result,
                                          GError       **error);

/* Scores set @set_name by running @engine on every query of the set, in the
 * query's own video (single-video temporal grounding, as the datasets'
 * evaluations do).  Saliency is not predicted, so HIT@1 is not scored. */
gboolean    vm_eval_set_with_engine      (VmCatalog        *catalog,
                                          const char       *set_name,
                                          VmEvalEngineFunc  engine,
                                          gpointer          user_data,
                                          GPtrArray        *issues,
                                          VmEvalResult     *out_result,
                                          GError          **error);

/* The text-only baseline: for each query, the timed text segments
 * (subtitles, OCR, speech) of its video ranked by the share of the query's
 * words they contain, the best 10 as windows, and per 2-second clip the best
 * share of a segment over it as saliency; a query that matches no segment
 * predicts its whole video with score 0.  Fills the predictions of @truth
 * (qid → VmEvalQuery*, from vm_eval_ground_truth()) for @dataset. */
gboolean    vm_eval_text_baseline        (VmCatalog     *catalog,
                                          VmDataset     *dataset,
                                          GHashTable    *truth,
                                          GError       **error);

G_END_DECLS
