/* vm-catalog.h — the SQLite catalog: folders, videos, frames, fp16
 * embeddings, timed text (FTS5) and annotations.
 *
 * A VmCatalog wraps one SQLite connection in WAL mode with foreign keys on and
 * a busy timeout.  Use it from one thread at a time; open a second VmCatalog on
 * the same file for another thread (WAL lets readers run beside the writer).
 *
 * Schema migrations are numbered SQL files compiled into a GResource
 * (app/catalog/migrations/NNNN-*.sql).  Each is applied as one transaction
 * that also sets PRAGMA user_version, so schema and version change together.
 * A catalog whose user_version is newer than the program is refused with
 * VM_CATALOG_ERROR_TOO_NEW and left untouched.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VM_CATALOG_ERROR (vm_catalog_error_quark ())

typedef enum {
  VM_CATALOG_ERROR_OPEN,          /* the file cannot be opened or is not a catalog */
  VM_CATALOG_ERROR_TOO_NEW,       /* written by a newer Vidmark */
  VM_CATALOG_ERROR_MIGRATION,     /* a migration failed; the old version is kept */
  VM_CATALOG_ERROR_SQL,           /* any other SQLite failure */
  VM_CATALOG_ERROR_NOT_FOUND,
  VM_CATALOG_ERROR_INVALID,       /* bad argument from the caller, e.g. start >= end */
  VM_CATALOG_ERROR_BUSY,          /* locked by another process past the busy timeout */
} VmCatalogError;

GQuark vm_catalog_error_quark (void);

#define VM_TYPE_CATALOG (vm_catalog_get_type ())
G_DECLARE_FINAL_TYPE (VmCatalog, vm_catalog, VM, CATALOG, GObject)

/* Opens (creating where missing, with its parent folder) and migrates the
 * catalog at @path.  ":memory:" gives a private in-memory catalog. */
VmCatalog  *vm_catalog_open                  (const char          *path,
                                              GError             **error);
/* The same with an explicit list of migrations (NULL-terminated SQL texts;
 * element i brings the schema to version i + 1).  For tests. */
VmCatalog  *vm_catalog_open_with_migrations  (const char          *path,
                                              const char * const  *migrations,
                                              GError             **error);
const char *vm_catalog_get_path              (VmCatalog           *self);
int         vm_catalog_get_schema_version    (VmCatalog           *self);
/* The number of migrations compiled into this program. */
int         vm_catalog_get_latest_version    (void);
/* How long a write waits for another connection's transaction before failing
 * with VM_CATALOG_ERROR_BUSY (default 5000 ms). */
void        vm_catalog_set_busy_timeout      (VmCatalog           *self,
                                              guint                timeout_ms);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Nesting is counted: only the
 * outermost pair touches the database, and a rollback anywhere makes the
 * outermost commit fail and roll back.  (A failed outermost commit has
 * rolled back already; a rollback after it, or with no transaction open,
 * does nothing.) */
gboolean    vm_catalog_begin                 (VmCatalog  *self,
                                              GError    **error);
gboolean    vm_catalog_commit                (VmCatalog  *self,
                                              GError    **error);
void        vm_catalog_rollback              (VmCatalog  *self);

/* ---- Library folders --------------------------------------------------- */

typedef struct {
  gint64  id;
  char   *path;        /* absolute, canonical */
  gint64  added_at;    /* unix seconds */
} VmFolder;

void        vm_folder_free                   (VmFolder *folder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmFolder, vm_folder_free)

/* Idempotent: adding a folder twice returns the existing id. */
gboolean    vm_catalog_add_folder            (VmCatalog   *self,
                                              const char  *path,
                                              gint64      *out_id,
                                              GError     **error);
/* Removes the folder.  Its videos lose their frames, embeddings and text;
 * videos that carry annotations are kept with status "missing" and no folder,
 * so that no annotation is ever lost.  VM_CATALOG_ERROR_NOT_FOUND if unknown. */
gboolean    vm_catalog_remove_folder         (VmCatalog   *self,
                                              const char  *path,
                                              GError     **error);
/* Element type VmFolder*, ordered by path. */
GPtrArray  *vm_catalog_list_folders          (VmCatalog   *self,
                                              GError     **error);

/* ---- Videos ------------------------------------------------------------ */

typedef enum {
  VM_VIDEO_STATUS_NEW,       /* discovered, not yet probed */
  VM_VIDEO_STATUS_PROBED,    /* metadata known, frames not yet sampled */
  VM_VIDEO_STATUS_INDEXED,   /* frames sampled and stored */
  VM_VIDEO_STATUS_ERROR,     /* see error_message */
  VM_VIDEO_STATUS_MISSING,   /* the file is gone; annotations kept */
} VmVideoStatus;

/* "new", "probed", "indexed", "error", "missing" */
const char   *vm_video_status_to_string   (VmVideoStatus  status);
gboolean      vm_video_status_from_string (const char    *text,
                                           VmVideoStatus *out_status);

typedef struct {
  gint64         id;             /* 0 until stored */
  gint64         folder_id;      /* 0 when in no library folder */
  char          *path;           /* absolute */
  gint64         size;           /* bytes */
  gint64         mtime_us;       /* modification time, µs since the epoch */
  char          *fingerprint;    /* vm_fingerprint_file() */
  gint64         duration_ns;    /* -1 when unknown */
  int            width;
  int            height;
  int            fps_num;        /* 0/1 when unknown */
  int            fps_den;
  char          *container;
  char          *video_codec;
  char          *audio_codec;    /* NULL when there is no audio */
  gboolean       has_audio;
  VmVideoStatus  status;
  char          *error_message;  /* set when status is ERROR */
  gint64         indexed_at;     /* unix seconds, 0 when never */
  gint64         added_at;       /* unix seconds */
  guint          n_frames;       /* filled by the getters, ignored on write */
} VmVideo;

VmVideo    *vm_video_new                     (void);
VmVideo    *vm_video_copy                    (const VmVideo *video);
void        vm_video_free                    (VmVideo       *video);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmVideo, vm_video_free)

/* Inserts @video when its id is 0 (setting the id), updates it otherwise.
 * A path is unique in the catalog. */
gboolean    vm_catalog_save_video            (VmCatalog   *self,
                                              VmVideo     *video,
                                              GError     **error);
VmVideo    *vm_catalog_get_video             (VmCatalog   *self,
                                              gint64       id,
                                              GError     **error);
/* NULL without an error when no video has that path. */
VmVideo    *vm_catalog_find_video_by_path    (VmCatalog   *self,
                                              const char  *path,
                                              GError     **error);
/* Element type VmVideo*; empty when none. */
GPtrArray  *vm_catalog_find_videos_by_fingerprint (VmCatalog   *self,
                                                   const char  *fingerprint,
                                                   GError     **error);
/* Element type VmVideo*, ordered by path; @folder_id 0 lists all. */
GPtrArray  *vm_catalog_list_videos           (VmCatalog   *self,
                                              gint64       folder_id,
                                              GError     **error);
gboolean    vm_catalog_set_video_status      (VmCatalog     *self,
                                              gint64         video_id,
                                              VmVideoStatus  status,
                                              const char    *error_message,
                                              GError       **error);
/* Deletes a video with its frames, embeddings and text; annotations block it
 * (VM_CATALOG_ERROR_INVALID) so that no user data is lost. */
gboolean    vm_catalog_delete_video          (VmCatalog   *self,
                                              gint64       video_id,
                                              GError     **error);

/* ---- Sampled frames and embeddings -------------------------------------- */

typedef struct {
  gint64   pts_ns;      /* exact presentation timestamp */
  gboolean keyframe;
  int      shot_id;     /* frames of one shot share it; increasing */
} VmFrameRecord;

/* Replaces all frames of @video_id (and drops its embeddings, which index
 * frames by position), in one transaction.  Timestamps must strictly
 * increase (VM_CATALOG_ERROR_INVALID otherwise). */
gboolean    vm_catalog_replace_frames        (VmCatalog            *self,
                                              gint64                video_id,
                                              const VmFrameRecord  *frames,
                                              guint                 n_frames,
                                              GError              **error);
/* Element type VmFrameRecord, ordered by pts. */
GArray     *vm_catalog_get_frames            (VmCatalog   *self,
                                              gint64       video_id,
                                              GError     **error);

typedef struct {
  gint64  id;
  char   *name;
  int     dim;
  char   *digest;       /* identifies the weights, e.g. a SHA-256 */
} VmModelRecord;

void        vm_model_record_free             (VmModelRecord *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmModelRecord, vm_model_record_free)

/* Returns the id of the model named @name, registering it when new.  A known
 * name with another dim or digest is an error (VM_CATALOG_ERROR_INVALID). */
gboolean    vm_catalog_ensure_model          (VmCatalog   *self,
                                              const char  *name,
                                              int          dim,
                                              const char  *digest,
                                              gint64      *out_id,
                                              GError     **error);
/* Element type VmModelRecord*. */
GPtrArray  *vm_catalog_list_models           (VmCatalog   *self,
                                              GError     **error);
/* Like vm_catalog_ensure_model(), but a known name with another dim or
 * digest (its weights changed) is taken over: its embeddings, which the new
 * weights make meaningless, are deleted and its dim and digest updated, in
 * one transaction, so that every video gets embedded again.
 * @out_replaced (optional) tells whether that happened. */
gboolean    vm_catalog_reset_model           (VmCatalog   *self,
                                              const char  *name,
                                              int          dim,
                                              const char  *digest,
                                              gint64      *out_id,
                                              gboolean    *out_replaced,
                                              GError     **error);

/* Embeddings are stored as fp16, in chunks of up to VM_CATALOG_EMBEDDING_CHUNK
 * frames (one BLOB per chunk per video and model).  @first_frame indexes the
 * video's frames in pts order.
 * (Store the frames first: first_frame + n_frames may not pass the video's
 * frame count.  @dim must be the model's.  Puts of any size and order are
 * merged into aligned chunks; a put replaces the frames it covers.) */
#define VM_CATALOG_EMBEDDING_CHUNK 256

gboolean    vm_catalog_put_embeddings        (VmCatalog      *self,
                                              gint64          video_id,
                                              gint64          model_id,
                                              guint           first_frame,
                                              guint           n_frames,
                                              guint           dim,
                                              const guint16  *fp16,
                                              GError        **error);
/* Returns the concatenated embeddings of the frames that have one, in frame
 * order, as n × dim fp16 values.  @out_first (optional) receives the index of
 * the first frame covered; frames are covered contiguously from there.
 * (An empty GBytes with n = 0 when there are none; after a gap in the
 * coverage only the first contiguous run is returned.) */
GBytes     *vm_catalog_get_embeddings        (VmCatalog   *self,
                                              gint64       video_id,
                                              gint64       model_id,
                                              guint       *out_n_frames,
                                              guint       *out_first,
                                              GError     **error);
/* How many frames of @video_id have an embedding of @model_id (any gaps
 * included); 0 when none. */
gboolean    vm_catalog_count_embeddings      (VmCatalog   *self,
                                              gint64       video_id,
                                              gint64       model_id,
                                              guint       *out_n_frames,
                                              GError     **error);

/* What the embedding store needs to see what changed: per video that has
 * embeddings of @model_id (and is not missing), the number of embedded
 * frames and a version that changes when its frames or embeddings are
 * rewritten (from indexed_at, the file's mtime, the frame count and the
 * embedding rows).  One query.  Element type VmEmbeddingVersion, ordered by
 * video id. */
typedef struct {
  gint64  video_id;
  guint   n_embeddings;
  guint64 version;
} VmEmbeddingVersion;

GArray     *vm_catalog_list_embedding_versions (VmCatalog   *self,
                                                gint64       model_id,
                                                GError     **error);

/* ---- Dense embeddings: the cache of query-time refinement ---------------- */

/* Frames decoded densely around a moment's boundaries, keyed by their
 * timestamp rather than by an index frame.  The cache goes with the video and
 * the model, and is emptied when the video's frames are replaced
 * (vm_catalog_replace_frames(), vm_catalog_remove_folder()) or its size,
 * mtime or fingerprint change (vm_catalog_save_video()). */

/* Stores @n embeddings of @video_id for @model_id: frame i at @pts_ns[i]
 * (>= 0, any order) has the @dim fp16 values fp16[i·dim ...].  A frame
 * already cached is replaced.  @dim must be the model's.  One transaction. */
gboolean    vm_catalog_put_dense_embeddings  (VmCatalog      *self,
                                              gint64          video_id,
                                              gint64          model_id,
                                              const gint64   *pts_ns,
                                              guint           n,
                                              guint           dim,
                                              const guint16  *fp16,
                                              GError        **error);
/* The cached frames with @from_ns <= pts <= @to_ns, in pts order: returns
 * their n × dim fp16 values (dim: the model's) and, in @out_pts (optional,
 * element type gint64), their timestamps.  Empty when none. */
GBytes     *vm_catalog_get_dense_embeddings  (VmCatalog   *self,
                                              gint64       video_id,
                                              gint64       model_id,
                                              gint64       from_ns,
                                              gint64       to_ns,
                                              GArray     **out_pts,
                                              GError     **error);
/* Empties the cache of @video_id (of every video when 0). */
gboolean    vm_catalog_clear_dense_embeddings (VmCatalog  *self,
                                               gint64      video_id,
                                               GError    **error);
/* How many frames the cache holds for @video_id (every video when 0). */
gboolean    vm_catalog_count_dense_embeddings (VmCatalog  *self,
                                               gint64      video_id,
                                               guint64    *out_n,
                                               GError    **error);

/* ---- Timed text --------------------------------------------------------- */

typedef enum {
  VM_TEXT_SOURCE_SUBTITLE,
  VM_TEXT_SOURCE_OCR,
  VM_TEXT_SOURCE_SPEECH,
} VmTextSource;

const char *vm_text_source_to_string         (VmTextSource source);

typedef struct {
  gint64        id;
  gint64        video_id;
  gint64        start_ns;
  gint64        end_ns;
  VmTextSource  source;
  char         *language;     /* BCP 47 or NULL */
  char         *text;
  double        confidence;   /* 0..1, 1 for subtitles */
  /* Filled by vm_catalog_search_text(): */
  double        rank;         /* bm25, smaller is better */
  char         *highlighted;  /* text with matches in [brackets] */
} VmTextSegment;

void        vm_text_segment_free             (VmTextSegment *segment);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmTextSegment, vm_text_segment_free)

gboolean    vm_catalog_add_text_segment      (VmCatalog      *self,
                                              VmTextSegment  *segment,
                                              GError        **error);
/* Removes the segments of one source of a video (all sources when < 0). */
gboolean    vm_catalog_clear_text_segments   (VmCatalog   *self,
                                              gint64       video_id,
                                              int          source,
                                              GError     **error);
/* Element type VmTextSegment*, best first.  @query is FTS5 syntax; a
 * malformed one gives VM_CATALOG_ERROR_INVALID.  @limit 0 means no limit. */
GPtrArray  *vm_catalog_search_text           (VmCatalog   *self,
                                              const char  *query,
                                              guint        limit,
                                              GError     **error);
/* Element type VmTextSegment* (rank 0, highlighted NULL): the segments of one
 * video, ordered by start.  Empty when none. */
GPtrArray  *vm_catalog_list_text_segments    (VmCatalog   *self,
                                              gint64       video_id,
                                              GError     **error);

/* ---- Annotations -------------------------------------------------------- */

/* Saliency of one 2-second clip under an annotation (schema 4,
 * migrations/0004-annotation-saliency.sql): how well the clip shows the
 * annotation's label, 0..4.  @clip indexes the video's clips, clip i covering
 * [2i, 2i + 2) s, as QVHighlights' relevant_clip_ids do. */
typedef struct {
  guint  clip;
  int    score;
} VmClipSaliency;

typedef struct {
  gint64  id;
  gint64  set_id;
  gint64  video_id;
  gint64  start_ns;
  gint64  end_ns;
  char   *text;
  int     saliency;     /* 0..4, -1 when unset (one value for the segment) */
  gint64  created_at;   /* unix µs */
  gint64  modified_at;  /* unix µs */
  /* VmClipSaliency, by clip, clips distinct.  The getters always fill it
   * (empty when none).  On save a non-NULL array replaces the stored scores
   * in the same transaction; NULL leaves them as they are. */
  GArray *clips;
} VmAnnotation;

VmAnnotation *vm_annotation_new              (void);
void          vm_annotation_free             (VmAnnotation *annotation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmAnnotation, vm_annotation_free)
/* The score of @clip, -1 when it has none. */
int           vm_annotation_get_clip_score   (const VmAnnotation *annotation,
                                              guint               clip);
/* Sets the score of @clip (0..4), or removes it (-1), keeping clips sorted;
 * creates the array when NULL. */
void          vm_annotation_set_clip_score   (VmAnnotation       *annotation,
                                              guint               clip,
                                              int                 score);

/* Returns the id of the annotation set (dataset) named @name, creating it. */
gboolean    vm_catalog_ensure_annotation_set (VmCatalog   *self,
                                              const char  *name,
                                              gint64      *out_id,
                                              GError     **error);
/* Inserts when id is 0 (setting id and times), updates otherwise, with the
 * clip scores (see VmAnnotation.clips) in one transaction.
 * Checks 0 <= start < end, saliency in -1..4, clip scores 0..4 on distinct
 * clips. */
gboolean    vm_catalog_save_annotation       (VmCatalog     *self,
                                              VmAnnotation  *annotation,
                                              GError       **error);
gboolean    vm_catalog_delete_annotation     (VmCatalog   *self,
                                              gint64       id,
                                              GError     **error);
/* Element type VmAnnotation*, by video then start; 0 means any. */
GPtrArray  *vm_catalog_list_annotations      (VmCatalog   *self,
                                              gint64       set_id,
                                              gint64       video_id,
                                              GError     **error);
/* VM_CATALOG_ERROR_NOT_FOUND when there is no annotation with that id. */
VmAnnotation *vm_catalog_get_annotation      (VmCatalog   *self,
                                              gint64       id,
                                              GError     **error);

typedef struct {
  gint64  id;
  char   *name;
  gint64  created_at;     /* unix µs */
  guint   n_annotations;
} VmAnnotationSet;

void        vm_annotation_set_free           (VmAnnotationSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmAnnotationSet, vm_annotation_set_free)

/* Element type VmAnnotationSet*, ordered by name. */
GPtrArray  *vm_catalog_list_annotation_sets  (VmCatalog   *self,
                                              GError     **error);
/* Looks up a set without creating it: FALSE with VM_CATALOG_ERROR_NOT_FOUND
 * when there is no set of that name. */
gboolean    vm_catalog_find_annotation_set   (VmCatalog   *self,
                                              const char  *name,
                                              gint64      *out_id,
                                              GError     **error);

/* ---- Statistics --------------------------------------------------------- */

typedef struct {
  guint   n_folders;
  guint   n_videos;
  guint   n_by_status[VM_VIDEO_STATUS_MISSING + 1];
  guint64 n_frames;
  guint64 n_embeddings;
  guint64 n_text_segments;
  guint64 n_annotations;
  gint64  total_duration_ns;
  gint64  file_size;        /* catalog bytes on disk, WAL included */
} VmCatalogStats;

gboolean    vm_catalog_get_stats             (VmCatalog       *self,
                                              VmCatalogStats  *out_stats,
                                              GError         **error);

G_END_DECLS
