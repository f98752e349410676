/* vm-media.h — probing, frame sampling, thumbnails and test/demo media,
 * on GStreamer.  No GTK here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VM_MEDIA_ERROR (vm_media_error_quark ())

/* Every error carries a one-line, user-readable message. */
typedef enum {
  VM_MEDIA_ERROR_INIT,            /* GStreamer could not start */
  VM_MEDIA_ERROR_NOT_FOUND,       /* no such file */
  VM_MEDIA_ERROR_PERMISSION,      /* unreadable */
  VM_MEDIA_ERROR_EMPTY,           /* zero-length file */
  VM_MEDIA_ERROR_NOT_MEDIA,       /* not a container/stream GStreamer knows */
  VM_MEDIA_ERROR_NO_VIDEO,        /* media without a video stream (audio only, ...) */
  VM_MEDIA_ERROR_MISSING_PLUGIN,  /* the codec or container is not installed */
  VM_MEDIA_ERROR_CORRUPT,         /* truncated or undecodable data */
  VM_MEDIA_ERROR_TIMEOUT,         /* the watchdog ended a file that stopped progressing */
  VM_MEDIA_ERROR_FAILED,          /* anything else */
} VmMediaError;

GQuark vm_media_error_quark (void);

/* Initialises GStreamer once (thread-safe); FALSE with VM_MEDIA_ERROR_INIT. */
gboolean vm_media_init (GError **error);

/* ---- Probing ------------------------------------------------------------ */

typedef struct {
  gint64    duration_ns;         /* -1 when unknown */
  int       width;
  int       height;
  int       fps_num;             /* nominal rate; 0/1 when unknown or variable */
  int       fps_den;
  char     *container;           /* "Matroska", "Quicktime", ... */
  char     *video_codec;         /* "H.264 (High Profile)", "VP9", ... */
  char     *audio_codec;         /* NULL without audio */
  gboolean  has_audio;
  guint     n_subtitle_streams;
  gboolean  seekable;
} VmMediaInfo;

void         vm_media_info_free (VmMediaInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmMediaInfo, vm_media_info_free)

/* Probes @path with GstDiscoverer, giving up after @timeout_ms (0: 10 s).
 * Before GStreamer looks at it, the file is checked for existence,
 * readability, emptiness and (MP4/QuickTime) a complete box structure.
 * Only the headers are read: other truncated files probe fine and are
 * reported by vm_sampler_run(). */
VmMediaInfo *vm_media_probe     (const char    *path,
                                 guint          timeout_ms,
                                 GError       **error);

/* ---- Frame sampling ----------------------------------------------------- */

typedef enum {
  /* Decode only keyframes (delta units are dropped before the decoder);
   * where keyframes are further apart than max_gap, decode forward to fill. */
  VM_SAMPLE_KEYFRAMES,
  /* One frame every 1/rate seconds from a sequential decode (no seeks) of
   * everything those frames depend on; see vm_sampler_run(). */
  VM_SAMPLE_RATE,
} VmSampleMode;

typedef struct {
  VmSampleMode  mode;              /* default VM_SAMPLE_KEYFRAMES */
  double        rate;              /* frames/s for VM_SAMPLE_RATE; default 1.0 */
  double        max_gap;           /* seconds; default 4.0 */
  guint         short_side;        /* scale so the shortest side is this; default 224; 0 = native */
  guint         watchdog_ms;       /* no progress this long → VM_MEDIA_ERROR_TIMEOUT; default 30000 */
  const char   *thumbnail_dir;     /* when set, a JPEG per sampled frame: DIR/<pts in ms>.jpg */
  guint         thumbnail_height;  /* default 96 */
  /* A window of the file (stream time, ns): only frames in [start_ns,
   * stop_ns] are delivered, and the file is read from start_ns on (an
   * accurate seek) up to shortly after stop_ns.  start_ns <= 0: from the
   * beginning; stop_ns <= 0: to the end; both <= 0 (the default): the whole
   * file, read in order without a seek.  See vm_sampler_run(). */
  gint64        start_ns;
  gint64        stop_ns;
} VmSamplerOptions;

void vm_sampler_options_init (VmSamplerOptions *options);

typedef struct {
  gint64        pts_ns;      /* exact presentation timestamp of this frame */
  gboolean      keyframe;
  guint         width;
  guint         height;
  guint         stride;      /* bytes per row; pixels are packed RGB, 8 bits each */
  const guint8 *data;        /* valid during the callback only */
} VmFrame;

/* Called once per sampled frame, in pts order, on the calling thread.
 * Return FALSE (setting @error) to stop the run with that error. */
typedef gboolean (*VmFrameFunc) (const VmFrame  *frame,
                                 gpointer        user_data,
                                 GError        **error);

/* Samples @path synchronously on the calling thread.
 *
 * Timestamps are stream time: the frame's presentation timestamp as stored in
 * the file (the first frame of an ordinary file is at 0).  Frames are RGB,
 * scaled so that the shorter side (after pixel-aspect correction) is
 * short_side, both sides even.
 *
 * Keyframe mode delivers every keyframe; between two keyframes further apart
 * than max_gap it also delivers the last frame at or before
 * last delivered + max_gap (decoding forward from the keyframe), so
 * consecutive frames are at most max_gap apart (max_gap <= 0: keyframes only).
 * Rate mode delivers, for each k, the first frame whose pts >= k / rate
 * (one frame never counts for two k).  It reads the file sequentially and
 * never seeks; compressed frames are held back and decoded only when one of
 * them is needed, so frames after the last target of a group of pictures
 * are never decoded (with B-frames too; files with open GOPs are decoded in
 * full from the first one seen).  The frames are exactly those of a full
 * decode.  The libav decoders do not expose skipping the loop filter, so it
 * is not skipped.
 *
 * Errors: when the file turns out damaged part way (VM_MEDIA_ERROR_CORRUPT:
 * a decoding/demuxing error, or video that stops well before the duration
 * the container announces, i.e. a truncated file), the frames decoded before
 * the damage have been delivered and the run still returns FALSE with that
 * error; callers that want partial results keep what they received.  A file
 * without a single decodable frame is VM_MEDIA_ERROR_CORRUPT too.  Damage
 * the decoder can conceal (garbage inside a frame) is not an error.
 * No progress for watchdog_ms gives VM_MEDIA_ERROR_TIMEOUT; cancelling gives
 * G_IO_ERROR_CANCELLED within about 50 ms.  The pipeline is torn down on
 * every path.  FIFOs and character devices are read with a source that can
 * be interrupted.  Only the first video stream is sampled; other video
 * streams are not decoded.
 *
 * Windows (start_ns/stop_ns): the pipeline prerolls, then makes one
 * flushing, accurate seek to start_ns (stop: a second past stop_ns) and
 * decodes from the keyframe before it, so a window costs about its own
 * length plus one group of pictures, whatever the file's length.  Rate mode
 * delivers, for each k with start_ns <= k / rate <= stop_ns, the first frame
 * whose pts >= k / rate: the same frames (same timestamps, same pixels) as a
 * run over the whole file, for a closed-GOP file.  Keyframe mode delivers
 * its frames that fall inside the window.  A file that cannot seek gives
 * VM_MEDIA_ERROR_FAILED; a window that lies past the end of the video gives
 * no frames and no error, and the truncation check is not made. */
gboolean vm_sampler_run (const char              *path,
                         const VmSamplerOptions  *options,
                         VmFrameFunc              func,
                         gpointer                 user_data,
                         GCancellable            *cancellable,
                         GError                 **error);

/* What a run did, for tests and benchmarks. */
typedef struct {
  guint64 units_in;      /* compressed video units that reached the decoder's input */
  guint64 units_decoded; /* of those, how many the decoder was given */
  guint64 frames_out;    /* decoded frames that came out of the decoder */
  guint64 frames;        /* frames delivered to the callback */
} VmSamplerStats;

/* vm_sampler_run, filling @stats (optional) on every path. */
gboolean vm_sampler_run_full (const char              *path,
                              const VmSamplerOptions  *options,
                              VmFrameFunc              func,
                              gpointer                 user_data,
                              VmSamplerStats          *stats,
                              GCancellable            *cancellable,
                              GError                 **error);

/* DIR/<pts in whole milliseconds, rounded down>.jpg: where vm_sampler_run
 * writes the thumbnail of the frame at @pts_ns. */
char    *vm_sampler_thumbnail_path (const char *dir,
                                    gint64      pts_ns);

/* ---- Generated media (demo library and tests) --------------------------- */

typedef enum {
  VM_CLIP_MP4_H264,
  VM_CLIP_WEBM_VP9,
  VM_CLIP_MKV_H264,
} VmClipFormat;

typedef struct {
  double      start;     /* seconds */
  double      end;
  const char *text;
} VmTimedText;

typedef struct {
  VmClipFormat       format;
  guint              width;            /* default 320 */
  guint              height;           /* default 240 */
  guint              fps_num;          /* default 25/1 */
  guint              fps_den;
  double             duration;         /* seconds, default 4 */
  double             keyframe_interval;/* seconds between keyframes, default 2 */
  gboolean           variable_framerate; /* timestamps jitter between frames */
  int                pattern;          /* videotestsrc pattern */
  const VmTimedText *overlay;          /* on-screen text, n_overlay entries */
  guint              n_overlay;
  const VmTimedText *subtitles;        /* embedded text track (any format), n_subtitles entries */
  guint              n_subtitles;
  const char        *speech;           /* spoken with espeak-ng from the start, or NULL */
  guint              b_frames;         /* H.264: B-frames between references, default 0 */
} VmClipSpec;

void     vm_clip_spec_init       (VmClipSpec *spec);
/* Encodes a clip described by @spec to @path with GStreamer. */
gboolean vm_media_generate_clip  (const VmClipSpec  *spec,
                                  const char        *path,
                                  GCancellable      *cancellable,
                                  GError           **error);
/* Writes an SRT file for @entries. */
gboolean vm_media_write_srt      (const char        *path,
                                  const VmTimedText *entries,
                                  guint              n_entries,
                                  GError           **error);
/* Creates the demo library in @dir (created when missing): a handful of short
 * clips covering H.264/MP4, VP9/WebM, MKV with a subtitle track, a sidecar
 * .srt, on-screen text and speech.  Existing clips are kept.
 * @progress (optional) is called with each file name. */
gboolean vm_media_generate_demo  (const char        *dir,
                                  void             (*progress) (const char *name, gpointer data),
                                  gpointer           progress_data,
                                  GCancellable      *cancellable,
                                  GError           **error);

G_END_DECLS
