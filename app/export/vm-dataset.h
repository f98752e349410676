/* vm-dataset.h — a temporal-grounding dataset in memory, as the file formats
 * see it: videos named by their export id, queries with relevant windows,
 * negatives and per-clip saliency.  Pure data: no catalog, no I/O.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VM_EXPORT_ERROR (vm_export_error_quark ())

typedef enum {
  VM_EXPORT_ERROR_FORMAT,        /* unknown format name */
  VM_EXPORT_ERROR_INVALID,       /* a file that cannot be read as a whole */
  VM_EXPORT_ERROR_TOO_LARGE,     /* over the size bound */
  VM_EXPORT_ERROR_NOT_FOUND,     /* unknown set */
  VM_EXPORT_ERROR_UNREPRESENTABLE, /* the set cannot be written in this format */
  VM_EXPORT_ERROR_NO_ENGINE,     /* needs a search engine that is not there */
} VmExportError;

GQuark vm_export_error_quark (void);

/* Saliency is scored per clip of this length. */
#define VM_DATASET_CLIP_NS (2 * G_GINT64_CONSTANT (1000000000))

typedef enum {
  VM_FORMAT_QVHIGHLIGHTS,
  VM_FORMAT_CHARADES_STA,
  VM_FORMAT_ACTIVITYNET,
  VM_FORMAT_TACOS,
  VM_FORMAT_VIDMARK,
  VM_FORMAT_DIDEMO,            /* import only */
} VmFormat;

#define VM_FORMAT_LAST VM_FORMAT_DIDEMO

/* "qvhighlights", "charades-sta", "activitynet", "tacos", "vidmark", "didemo" */
const char *vm_format_to_string   (VmFormat    format);
gboolean    vm_format_from_string (const char *name,
                                   VmFormat   *out_format);
gboolean    vm_format_can_export  (VmFormat    format);

typedef struct {
  gint64 start_ns;
  gint64 end_ns;
} VmSpan;

typedef struct {
  guint  clip;        /* 2-second clip index */
  guint  rater;       /* index into VmDataset.raters */
  int    score;       /* 0..4 */
} VmClipScore;

typedef struct {
  char    *vid;           /* export id */
  char    *path;          /* the file in the catalog, NULL when unknown */
  gint64   video_id;      /* catalog id, 0 when unknown */
  gint64   duration_ns;   /* -1 when unknown */
  int      fps_num;       /* 0 when unknown */
  int      fps_den;
} VmDatasetVideo;

typedef struct {
  gint64     qid;         /* -1: none (the catalog assigns one) */
  char      *text;
  char      *vid;         /* export id of the video */
  GArray    *windows;     /* VmSpan, in file order */
  GPtrArray *negatives;   /* char*: vids the query does not occur in */
  GArray    *saliency;    /* VmClipScore, by clip then rater */
  char      *where;       /* "line 12", "key “v_x”": for messages */
} VmDatasetQuery;

typedef struct {
  GPtrArray  *raters;     /* char* names, in order */
  GPtrArray  *videos;     /* VmDatasetVideo* */
  GHashTable *by_vid;     /* vid → VmDatasetVideo* (not owned) */
  GPtrArray  *queries;    /* VmDatasetQuery* */
} VmDataset;

VmDataset      *vm_dataset_new              (void);
void            vm_dataset_free             (VmDataset      *dataset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmDataset, vm_dataset_free)

/* Adds (or returns the existing) video named @vid. */
VmDatasetVideo *vm_dataset_add_video        (VmDataset      *dataset,
                                             const char     *vid);
VmDatasetVideo *vm_dataset_lookup_video     (VmDataset      *dataset,
                                             const char     *vid);
guint           vm_dataset_add_rater        (VmDataset      *dataset,
                                             const char     *name);
VmDatasetQuery *vm_dataset_query_new        (void);
void            vm_dataset_query_free       (VmDatasetQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmDatasetQuery, vm_dataset_query_free)
/* Takes @query. */
void            vm_dataset_add_query        (VmDataset      *dataset,
                                             VmDatasetQuery *query);

/* Sorts windows by (start, end), saliency by (clip, rater) and negatives by
 * name, so that two datasets with the same content compare equal. */
void            vm_dataset_query_normalize  (VmDatasetQuery *query);

/* A canonical text of the dataset (for tests and round trips): raters,
 * then queries sorted by (qid, vid, text) with their content, and the
 * durations of the videos the queries use when @with_durations. */
char           *vm_dataset_to_canonical     (VmDataset      *dataset,
                                             gboolean        with_qids,
                                             gboolean        with_durations);

/* Seconds as the shortest exact decimal of a nanosecond count: "6.9", "12",
 * "0.000000001". */
void            vm_append_seconds           (GString        *out,
                                             gint64          ns);
/* Nanoseconds nearest to @seconds; FALSE when not finite, negative or over
 * VM_DATASET_MAX_SECONDS. */
#define VM_DATASET_MAX_SECONDS 1e7
gboolean        vm_seconds_to_ns            (double          seconds,
                                             gint64         *out_ns);

/* Splits: a seeded shuffle of the sorted video ids cut by fractions. */
typedef enum {
  VM_SPLIT_TRAIN,
  VM_SPLIT_VAL,
  VM_SPLIT_TEST,
} VmSplit;

const char     *vm_split_to_string          (VmSplit         split);
/* Parses "0.8,0.1,0.1" or "0.9,0.1" (train,val[,test]); fractions are
 * non-negative and sum to 1. */
gboolean        vm_split_parse              (const char     *text,
                                             double          out_fractions[3],
                                             GError        **error);
/* Returns vid → GINT_TO_POINTER (VmSplit) for every video that a query
 * uses.  The same vids, fractions and seed give the same split everywhere. */
GHashTable     *vm_dataset_split            (VmDataset      *dataset,
                                             const double    fractions[3],
                                             guint64         seed);
/* A new dataset sharing nothing with @dataset: the queries whose video is in
 * @split according to @assignment. */
VmDataset      *vm_dataset_subset           (VmDataset      *dataset,
                                             GHashTable     *assignment,
                                             VmSplit         split);
/* "out.jsonl" + "train" → "out_train.jsonl" */
char           *vm_split_file_name          (const char     *path,
                                             VmSplit         split);

G_END_DECLS
