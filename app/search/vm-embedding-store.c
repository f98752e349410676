/* vm-embedding-store.c — the frame embeddings of one model, resident on the
 * GPU (see the header).
 *
 * Layout.  Rows are fp16, padded with zeros from dim to dim_pad (a multiple
 * of 8, what the texel variant of the similarity kernel needs), so a row
 * takes row_bytes = 2·dim_pad bytes.  A chunk holds up to chunk_rows rows;
 * its device buffer (or, past the resident budget, its host array) grows by
 * doubling up to that.  A video normally occupies one contiguous run of rows
 * (a "segment") of one chunk; a video longer than chunk_rows is split into
 * several segments, in frame order.  Each chunk keeps its segments sorted by
 * row, so a row found by a scan maps back to (video, frame) by bisection.
 *
 * Holes.  Removing a video leaves a hole; later videos that fit reuse it
 * (first fit over the chunks).  A scan dispatches the similarity once per
 * maximal run of occupied rows, so it never sees a hole; when a chunk has
 * more than MAX_RUNS runs, the end of a sync compacts it (one GPU copy into
 * a fresh buffer).
 *
 * Filters.  top_frames over a set of videos dispatches once per run of their
 * rows (adjacent videos merge into one run).  Past MAX_FILTER_RUNS runs it
 * computes the videos' curves instead (one GEMV per segment, one download)
 * and selects the top k on the CPU: one score per filtered row comes back
 * instead of k per run, which is the cheaper side for many small videos.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-embedding-store.h"

#include <math.h>
#include <string.h>

#include <inttypes.h>
#include <glib/gi18n.h>

#include "core/vm-util.h"
#include "gpu/vm-gpu-kernels.h"
#include "search/vm-text-search.h"

#define MAX_CHUNK_ROWS    ((guint64) 1 << 22)
#define MIN_CHUNK_ALLOC   ((guint64) 1024)
#define MAX_RUNS          8
#define MAX_FILTER_RUNS   64
#define STAGING_BYTES     ((guint64) 256 << 20)

typedef struct {
  gint64  video_id;
  guint   chunk;
  guint64 first_row;    /* in the chunk */
  guint   n;
  guint   frame0;       /* the video's frame of the first row */
} Segment;

typedef struct {
  gint64    video_id;
  guint     n;
  gint64   *pts_ns;
  int      *shot_ids;
  guint64   version;
  gboolean  from_catalog;
  GArray   *segments;   /* Segment, in frame order */
} Video;

typedef struct {
  VmGpuBuffer *buffer;    /* resident chunks */
  guint16     *host;      /* streamed chunks */
  gboolean     resident;
  guint64      capacity;  /* rows allocated */
  guint64      used;      /* rows in segments */
  GArray      *segs;      /* Segment, sorted by first_row */
} Chunk;

struct _VmEmbeddingStore {
  VmGpuDevice *device;
  gint64       model_id;
  guint        dim;
  guint        dim_pad;
  guint64      row_bytes;
  guint64      chunk_rows;
  guint64      budget;
  guint64      staging_max;    /* bytes */
  guint        max_resident;   /* chunks that may be resident */

  GHashTable  *videos;         /* gint64* → Video* */
  GPtrArray   *chunks;         /* Chunk* */
  guint64      n_rows;

  VmGpuBuffer *query;          /* dim_pad floats */
  VmGpuBuffer *staging;        /* one chunk, for streamed scans */
  VmGpuBuffer *results;        /* scores and indices of the runs */
  VmGpuBuffer *curve_rows;     /* streamed rows of the curves' videos */
  VmGpuBuffer *curve_out;      /* the curves' scores */
};

typedef struct {
  guint   chunk;
  guint64 first_row;
  guint64 n;
} Run;

/* ---- small helpers ------------------------------------------------------ */

static void
video_free (Video *video)
{
  g_free (video->pts_ns);
  g_free (video->shot_ids);
  g_array_unref (video->segments);
  g_free (video);
}

static void
chunk_free (Chunk *chunk)
{
  g_clear_pointer (&chunk->buffer, vm_gpu_buffer_unref);
  g_free (chunk->host);
  g_array_unref (chunk->segs);
  g_free (chunk);
}

static Chunk *
chunk_new (void)
{
  Chunk *chunk = g_new0 (Chunk, 1);

  chunk->segs = g_array_new (FALSE, FALSE, sizeof (Segment));
  return chunk;
}

static Chunk *
get_chunk (VmEmbeddingStore *self,
           guint             i)
{
  return g_ptr_array_index (self->chunks, i);
}

/* Makes @buffer hold at least @size bytes (contents not kept). */
static gboolean
ensure_buffer (VmEmbeddingStore  *self,
               VmGpuBuffer      **buffer,
               guint64            size,
               GError           **error)
{
  guint64 want = MAX (size, 256);

  if (*buffer != NULL && vm_gpu_buffer_get_size (*buffer) >= want)
    return TRUE;
  g_clear_pointer (buffer, vm_gpu_buffer_unref);
  /* Grow geometrically so that repeated calls do not reallocate. */
  if (want < ((guint64) 1 << 40))
    want = MAX (want, (guint64) 1 << g_bit_storage (want - 1));
  *buffer = vm_gpu_buffer_new (self->device, want, error);
  if (*buffer == NULL && want > size)
    {
      g_clear_error (error);
      *buffer = vm_gpu_buffer_new (self->device, MAX (size, 256), error);
    }
  return *buffer != NULL;
}

/* Copies @n rows of @dim halves into rows of dim_pad halves. */
static void
pad_rows (VmEmbeddingStore *self,
          guint16          *dst,
          const guint16    *src,
          guint64           n)
{
  if (self->dim == self->dim_pad)
    {
      memcpy (dst, src, n * self->row_bytes);
      return;
    }
  for (guint64 r = 0; r < n; r++)
    {
      memcpy (dst + r * self->dim_pad, src + r * self->dim, (gsize) self->dim * 2);
      memset (dst + r * self->dim_pad + self->dim, 0, (gsize) (self->dim_pad - self->dim) * 2);
    }
}

/* ---- options, life cycle ------------------------------------------------ */

void
vm_embedding_store_options_init (VmEmbeddingStoreOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
}

VmEmbeddingStore *
vm_embedding_store_new (VmGpuDevice                    *device,
                        gint64                          model_id,
                        guint                           dim,
                        const VmEmbeddingStoreOptions  *options,
                        GError                        **error)
{
  g_autoptr(VmEmbeddingStore) self = NULL;
  const VmGpuDeviceInfo *info;
  guint64 max_rows, chunk_bytes, heap;

  g_return_val_if_fail (device != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (dim == 0 || dim > 65536)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("Embeddings of dimension %u cannot be searched"), dim);
      return NULL;
    }
  if (!vm_gpu_device_supports_f16 (device))
    {
      g_set_error_literal (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                           _("The GPU cannot read 16-bit floats, which the similarity search needs"));
      return NULL;
    }

  info = vm_gpu_device_get_info (device);
  self = g_new0 (VmEmbeddingStore, 1);
  self->device = vm_gpu_device_ref (device);
  self->model_id = model_id;
  self->dim = dim;
  self->dim_pad = (dim + 7) / 8 * 8;
  self->row_bytes = 2ull * self->dim_pad;
  self->videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) video_free);
  self->chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) chunk_free);

  max_rows = MIN (MAX_CHUNK_ROWS, info->max_buffer_size / self->row_bytes);
  max_rows = MIN (max_rows, (guint64) G_MAXUINT32 / 2);
  heap = vm_gpu_device_info_get_local_heap_size (info);
  self->budget = options != NULL && options->resident_budget > 0 ? options->resident_budget : heap / 2;
  self->staging_max = options != NULL && options->staging_bytes > 0 ? options->staging_bytes : STAGING_BYTES;

  /* By default a chunk is as large as the budget allows: the fewer the
   * chunks, the fewer the scan's dispatches and merges.  (The staging chunk
   * is bounded on its own: streamed chunks go through it in windows.) */
  if (options != NULL && options->chunk_rows > 0)
    self->chunk_rows = options->chunk_rows;
  else
    self->chunk_rows = MIN (max_rows, self->budget / self->row_bytes);
  self->chunk_rows = CLAMP (self->chunk_rows, 1, MAX (max_rows, 1));
  chunk_bytes = self->chunk_rows * self->row_bytes;
  self->max_resident = (guint) MIN (self->budget / chunk_bytes, G_MAXUINT);

  self->query = vm_gpu_buffer_new (device, MAX (4ull * self->dim_pad, 256), error);
  if (self->query == NULL)
    return NULL;

  return g_steal_pointer (&self);
}

void
vm_embedding_store_free (VmEmbeddingStore *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->videos, g_hash_table_unref);
  g_clear_pointer (&self->chunks, g_ptr_array_unref);
  g_clear_pointer (&self->query, vm_gpu_buffer_unref);
  g_clear_pointer (&self->staging, vm_gpu_buffer_unref);
  g_clear_pointer (&self->results, vm_gpu_buffer_unref);
  g_clear_pointer (&self->curve_rows, vm_gpu_buffer_unref);
  g_clear_pointer (&self->curve_out, vm_gpu_buffer_unref);
  g_clear_pointer (&self->device, vm_gpu_device_unref);
  g_free (self);
}

gint64
vm_embedding_store_get_model_id (VmEmbeddingStore *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->model_id;
}

guint
vm_embedding_store_get_dim (VmEmbeddingStore *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->dim;
}

guint
vm_embedding_store_get_n_videos (VmEmbeddingStore *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return g_hash_table_size (self->videos);
}

guint64
vm_embedding_store_get_n_rows (VmEmbeddingStore *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n_rows;
}

guint64
vm_embedding_store_get_device_bytes (VmEmbeddingStore *self)
{
  guint64 bytes = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (guint i = 0; i < self->chunks->len; i++)
    if (get_chunk (self, i)->buffer != NULL)
      bytes += vm_gpu_buffer_get_size (get_chunk (self, i)->buffer);
  if (self->staging != NULL)
    bytes += vm_gpu_buffer_get_size (self->staging);
  return bytes;
}

guint
vm_embedding_store_get_n_chunks (VmEmbeddingStore *self,
                                 guint            *out_n_streamed)
{
  guint n = 0, streamed = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (guint i = 0; i < self->chunks->len; i++)
    {
      Chunk *chunk = get_chunk (self, i);

      if (chunk->used == 0)
        continue;
      n++;
      if (!chunk->resident)
        streamed++;
    }
  if (out_n_streamed != NULL)
    *out_n_streamed = streamed;
  return n;
}

/* Host bytes the store holds for streamed chunks (and the videos' frame
 * tables); for benchmarks. */
guint64
vm_embedding_store_get_host_bytes (VmEmbeddingStore *self)
{
  GHashTableIter iter;
  gpointer value;
  guint64 bytes = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (guint i = 0; i < self->chunks->len; i++)
    if (get_chunk (self, i)->host != NULL)
      bytes += get_chunk (self, i)->capacity * self->row_bytes;
  g_hash_table_iter_init (&iter, self->videos);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Video *video = value;

      bytes += sizeof (Video) + (guint64) video->n * (sizeof (gint64) + sizeof (int)) +
               video->segments->len * sizeof (Segment);
    }
  return bytes;
}

/* ---- row allocation ----------------------------------------------------- */

/* Grows @chunk to hold at least @rows rows, keeping its contents. */
static gboolean
chunk_reserve (VmEmbeddingStore  *self,
               guint              index,
               guint64            rows,
               GError           **error)
{
  Chunk *chunk = get_chunk (self, index);
  guint64 capacity = chunk->capacity, end = 0;

  if (rows <= chunk->capacity)
    return TRUE;

  if (capacity == 0)
    capacity = MIN (self->chunk_rows, MIN_CHUNK_ALLOC);
  while (capacity < rows)
    capacity = MIN (capacity * 2, self->chunk_rows);
  g_assert (capacity >= rows);

  if (chunk->segs->len > 0)
    {
      Segment *last = &g_array_index (chunk->segs, Segment, chunk->segs->len - 1);
      end = last->first_row + last->n;
    }

  if (chunk->buffer == NULL && chunk->host == NULL)
    chunk->resident = index < self->max_resident;

  if (chunk->resident)
    {
      g_autoptr(GError) local_error = NULL;
      VmGpuBuffer *buffer = vm_gpu_buffer_new (self->device, capacity * self->row_bytes, &local_error);

      if (buffer == NULL && !g_error_matches (local_error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (buffer == NULL)
        {
          /* Out of device memory: this chunk and the ones after it live in
           * host memory and are streamed. */
          g_debug ("Embedding chunk %u streamed from host memory: %s", index, local_error->message);
          self->max_resident = index;
          chunk->host = g_try_malloc0 (capacity * self->row_bytes);
          if (chunk->host == NULL)
            goto host_oom;
          if (chunk->buffer != NULL && end > 0 &&
              !vm_gpu_buffer_download (chunk->buffer, 0, chunk->host, end * self->row_bytes, error))
            return FALSE;
          g_clear_pointer (&chunk->buffer, vm_gpu_buffer_unref);
          chunk->resident = FALSE;
          chunk->capacity = capacity;
          return TRUE;
        }

      if (chunk->buffer != NULL && end > 0)
        {
          g_autoptr(VmGpuGraph) graph = vm_gpu_graph_new (self->device, error);

          if (graph == NULL ||
              !vm_gpu_graph_copy (graph, chunk->buffer, 0, buffer, 0, end * self->row_bytes, error) ||
              !vm_gpu_graph_submit (graph, 0, error))
            {
              vm_gpu_buffer_unref (buffer);
              return FALSE;
            }
        }
      g_clear_pointer (&chunk->buffer, vm_gpu_buffer_unref);
      chunk->buffer = buffer;
    }
  else
    {
      guint16 *host = g_try_realloc (chunk->host, capacity * self->row_bytes);

      if (host == NULL)
        goto host_oom;
      chunk->host = host;
    }
  chunk->capacity = capacity;
  return TRUE;

host_oom:
  g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY,
               _("Out of memory for %" PRIu64 " embeddings"), capacity);
  return FALSE;
}

/* Inserts @seg into its chunk's sorted list. */
static void
chunk_insert (Chunk         *chunk,
              const Segment *seg)
{
  guint i = chunk->segs->len;

  while (i > 0 && g_array_index (chunk->segs, Segment, i - 1).first_row > seg->first_row)
    i--;
  g_array_insert_val (chunk->segs, i, *seg);
  chunk->used += seg->n;
}

/* Finds a hole of @n rows (first fit): TRUE with the chunk and row. */
static gboolean
find_hole (VmEmbeddingStore *self,
           guint64           n,
           guint            *out_chunk,
           guint64          *out_row)
{
  for (guint c = 0; c < self->chunks->len; c++)
    {
      Chunk *chunk = get_chunk (self, c);
      guint64 prev_end = 0;

      if (self->chunk_rows - chunk->used < n)
        continue;
      for (guint i = 0; i < chunk->segs->len; i++)
        {
          Segment *seg = &g_array_index (chunk->segs, Segment, i);

          if (seg->first_row - prev_end >= n)
            break;
          prev_end = seg->first_row + seg->n;
        }
      if (prev_end + n <= self->chunk_rows)
        {
          *out_chunk = c;
          *out_row = prev_end;
          return TRUE;
        }
    }
  return FALSE;
}

static void
release_segments (VmEmbeddingStore *self,
                  Video            *video)
{
  for (guint s = 0; s < video->segments->len; s++)
    {
      Segment *seg = &g_array_index (video->segments, Segment, s);
      Chunk *chunk = get_chunk (self, seg->chunk);

      for (guint i = 0; i < chunk->segs->len; i++)
        if (g_array_index (chunk->segs, Segment, i).first_row == seg->first_row)
          {
            g_array_remove_index (chunk->segs, i);
            break;
          }
      chunk->used -= seg->n;
      self->n_rows -= seg->n;
      if (chunk->used == 0)
        {
          /* An empty chunk gives its memory back. */
          g_clear_pointer (&chunk->buffer, vm_gpu_buffer_unref);
          g_clear_pointer (&chunk->host, g_free);
          chunk->capacity = 0;
        }
    }
  g_array_set_size (video->segments, 0);

  /* Trailing empty chunks go. */
  while (self->chunks->len > 0 && get_chunk (self, self->chunks->len - 1)->used == 0)
    g_ptr_array_remove_index (self->chunks, self->chunks->len - 1);
}

/* Writes rows [r0, r0 + n) of @fp16 (dim halves each) at @row of @chunk. */
static gboolean
write_rows (VmEmbeddingStore  *self,
            guint              c,
            guint64            row,
            const guint16     *fp16,
            guint64            n,
            GError           **error)
{
  Chunk *chunk = get_chunk (self, c);

  if (!chunk->resident)
    {
      pad_rows (self, chunk->host + row * self->dim_pad, fp16, n);
      return TRUE;
    }
  if (self->dim == self->dim_pad)
    return vm_gpu_buffer_upload (chunk->buffer, row * self->row_bytes, fp16, n * self->row_bytes, error);

  {
    /* Pad in slices of bounded size. */
    const guint64 slice = 4096;
    g_autofree guint16 *tmp = g_new (guint16, MIN (n, slice) * self->dim_pad);

    for (guint64 r = 0; r < n; r += slice)
      {
        guint64 m = MIN (slice, n - r);

        pad_rows (self, tmp, fp16 + r * self->dim, m);
        if (!vm_gpu_buffer_upload (chunk->buffer, (row + r) * self->row_bytes, tmp,
                                   m * self->row_bytes, error))
          return FALSE;
      }
  }
  return TRUE;
}

/* Places the rows of @video (its segments empty) and writes them. */
static gboolean
place_video (VmEmbeddingStore  *self,
             Video             *video,
             const guint16     *fp16,
             GError           **error)
{
  guint64 done = 0;
  guint c;
  guint64 row;

  if (video->n <= self->chunk_rows && find_hole (self, video->n, &c, &row))
    {
      Segment seg = { video->video_id, c, row, video->n, 0 };

      if (!chunk_reserve (self, c, row + video->n, error) ||
          !write_rows (self, c, row, fp16, video->n, error))
        return FALSE;
      chunk_insert (get_chunk (self, c), &seg);
      g_array_append_val (video->segments, seg);
      self->n_rows += seg.n;
      return TRUE;
    }

  /* New chunks, as many as the video needs. */
  while (done < video->n)
    {
      guint64 m = MIN (self->chunk_rows, video->n - done);
      Segment seg;

      g_ptr_array_add (self->chunks, chunk_new ());
      c = self->chunks->len - 1;
      seg = (Segment) { video->video_id, c, 0, (guint) m, (guint) done };
      if (!chunk_reserve (self, c, m, error) ||
          !write_rows (self, c, 0, fp16 + done * self->dim, m, error))
        {
          if (get_chunk (self, c)->used == 0)
            g_ptr_array_remove_index (self->chunks, c);
          return FALSE;
        }
      chunk_insert (get_chunk (self, c), &seg);
      g_array_append_val (video->segments, seg);
      self->n_rows += seg.n;
      done += m;
    }
  return TRUE;
}

static gboolean
set_video (VmEmbeddingStore  *self,
           gint64             video_id,
           guint              n,
           const gint64      *pts_ns,
           const int         *shot_ids,
           const guint16     *fp16,
           guint64            version,
           gboolean           from_catalog,
           GError           **error)
{
  Video *video;

  if (n > 0 && (pts_ns == NULL || fp16 == NULL))
    {
      g_set_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                   _("No embeddings given for video %" PRId64), video_id);
      return FALSE;
    }
  for (guint i = 1; i < n; i++)
    if (pts_ns[i] <= pts_ns[i - 1])
      {
        g_set_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                     _("The frame times of video %" PRId64 " do not increase"), video_id);
        return FALSE;
      }

  vm_embedding_store_remove_video (self, video_id);
  if (n == 0)
    return TRUE;

  video = g_new0 (Video, 1);
  video->video_id = video_id;
  video->n = n;
  video->pts_ns = g_memdup2 (pts_ns, sizeof (gint64) * n);
  video->shot_ids = shot_ids != NULL ? g_memdup2 (shot_ids, sizeof (int) * n) : g_new0 (int, n);
  video->version = version;
  video->from_catalog = from_catalog;
  video->segments = g_array_new (FALSE, FALSE, sizeof (Segment));

  if (!place_video (self, video, fp16, error))
    {
      release_segments (self, video);
      video_free (video);
      return FALSE;
    }
  g_hash_table_insert (self->videos, &video->video_id, video);
  return TRUE;
}

gboolean
vm_embedding_store_set_video (VmEmbeddingStore  *self,
                              gint64             video_id,
                              guint              n,
                              const gint64      *pts_ns,
                              const int         *shot_ids,
                              const guint16     *fp16,
                              GError           **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return set_video (self, video_id, n, pts_ns, shot_ids, fp16, 0, FALSE, error);
}

void
vm_embedding_store_remove_video (VmEmbeddingStore *self,
                                 gint64            video_id)
{
  Video *video;

  g_return_if_fail (self != NULL);

  video = g_hash_table_lookup (self->videos, &video_id);
  if (video == NULL)
    return;
  release_segments (self, video);
  g_hash_table_remove (self->videos, &video_id);
}

gboolean
vm_embedding_store_has_video (VmEmbeddingStore *self,
                              gint64            video_id)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return g_hash_table_contains (self->videos, &video_id);
}

/* ---- compaction --------------------------------------------------------- */

static guint
chunk_count_runs (Chunk *chunk)
{
  guint runs = 0;
  guint64 end = G_MAXUINT64;

  for (guint i = 0; i < chunk->segs->len; i++)
    {
      Segment *seg = &g_array_index (chunk->segs, Segment, i);

      if (seg->first_row != end)
        runs++;
      end = seg->first_row + seg->n;
    }
  return runs;
}

static void
update_video_segment (VmEmbeddingStore *self,
                      const Segment    *old,
                      guint64           new_row)
{
  Video *video = g_hash_table_lookup (self->videos, &old->video_id);

  g_return_if_fail (video != NULL);
  for (guint s = 0; s < video->segments->len; s++)
    {
      Segment *seg = &g_array_index (video->segments, Segment, s);

      if (seg->chunk == old->chunk && seg->first_row == old->first_row)
        {
          seg->first_row = new_row;
          return;
        }
    }
}

/* Packs the segments of chunk @c to its start, in their order. */
static gboolean
compact_chunk (VmEmbeddingStore  *self,
               guint              c,
               GError           **error)
{
  Chunk *chunk = get_chunk (self, c);
  guint64 row = 0;

  if (chunk->resident)
    {
      g_autoptr(VmGpuGraph) graph = NULL;
      VmGpuBuffer *buffer;

      buffer = vm_gpu_buffer_new (self->device, chunk->capacity * self->row_bytes, error);
      if (buffer == NULL)
        return FALSE;
      graph = vm_gpu_graph_new (self->device, error);
      if (graph == NULL)
        {
          vm_gpu_buffer_unref (buffer);
          return FALSE;
        }
      for (guint i = 0; i < chunk->segs->len; i++)
        {
          Segment *seg = &g_array_index (chunk->segs, Segment, i);

          if (!vm_gpu_graph_copy (graph, chunk->buffer, seg->first_row * self->row_bytes, buffer,
                                  row * self->row_bytes, (guint64) seg->n * self->row_bytes, error))
            {
              vm_gpu_buffer_unref (buffer);
              return FALSE;
            }
          row += seg->n;
        }
      if (!vm_gpu_graph_submit (graph, 0, error))
        {
          vm_gpu_buffer_unref (buffer);
          return FALSE;
        }
      vm_gpu_buffer_unref (chunk->buffer);
      chunk->buffer = buffer;
    }
  else
    {
      for (guint i = 0; i < chunk->segs->len; i++)
        {
          Segment *seg = &g_array_index (chunk->segs, Segment, i);

          memmove (chunk->host + row * self->dim_pad, chunk->host + seg->first_row * self->dim_pad,
                   (gsize) seg->n * self->row_bytes);
          row += seg->n;
        }
    }

  row = 0;
  for (guint i = 0; i < chunk->segs->len; i++)
    {
      Segment *seg = &g_array_index (chunk->segs, Segment, i);

      update_video_segment (self, seg, row);
      seg->first_row = row;
      row += seg->n;
    }
  return TRUE;
}

static gboolean
compact (VmEmbeddingStore  *self,
         GError           **error)
{
  for (guint c = 0; c < self->chunks->len; c++)
    {
      Chunk *chunk = get_chunk (self, c);

      if (chunk_count_runs (chunk) > MAX_RUNS)
        {
          g_autoptr(GError) local_error = NULL;

          if (!compact_chunk (self, c, &local_error))
            {
              /* Without memory for the copy the holes stay: scans are
               * still right, with a few more dispatches. */
              if (!g_error_matches (local_error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY))
                {
                  g_propagate_error (error, g_steal_pointer (&local_error));
                  return FALSE;
                }
              g_debug ("Embedding chunk %u not compacted: %s", c, local_error->message);
            }
        }
    }
  return TRUE;
}

/* ---- sync --------------------------------------------------------------- */

static gboolean
load_video (VmEmbeddingStore          *self,
            VmCatalog                 *catalog,
            const VmEmbeddingVersion  *v,
            GError                   **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GArray) frames = NULL;
  g_autofree gint64 *pts = NULL;
  g_autofree int *shots = NULL;
  guint n = 0, first = 0;
  gsize size;

  bytes = vm_catalog_get_embeddings (catalog, v->video_id, self->model_id, &n, &first, error);
  if (bytes == NULL)
    return FALSE;
  if (n == 0)
    {
      vm_embedding_store_remove_video (self, v->video_id);
      return TRUE;
    }
  size = g_bytes_get_size (bytes);
  if (size != (gsize) n * self->dim * 2)
    {
      g_set_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                   _("The embeddings of video %" PRId64 " do not have dimension %u"),
                   v->video_id, self->dim);
      return FALSE;
    }
  frames = vm_catalog_get_frames (catalog, v->video_id, error);
  if (frames == NULL)
    return FALSE;
  if ((guint64) first + n > frames->len)
    {
      /* Rewritten between the two queries: keep what matches. */
      n = frames->len > first ? frames->len - first : 0;
    }

  pts = g_new (gint64, MAX (n, 1));
  shots = g_new (int, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      const VmFrameRecord *f = &g_array_index (frames, VmFrameRecord, first + i);

      pts[i] = f->pts_ns;
      shots[i] = f->shot_id;
    }
  return set_video (self, v->video_id, n, pts, shots, g_bytes_get_data (bytes, NULL),
                    v->version, TRUE, error);
}

gboolean
vm_embedding_store_sync (VmEmbeddingStore  *self,
                         VmCatalog         *catalog,
                         GCancellable      *cancellable,
                         GError           **error)
{
  g_autoptr(GArray) versions = NULL;
  g_autoptr(GHashTable) listed = NULL;
  g_autoptr(GArray) gone = NULL;
  GHashTableIter iter;
  gpointer key, value;
  gboolean changed = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (catalog != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  versions = vm_catalog_list_embedding_versions (catalog, self->model_id, error);
  if (versions == NULL)
    return FALSE;

  listed = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < versions->len; i++)
    {
      VmEmbeddingVersion *v = &g_array_index (versions, VmEmbeddingVersion, i);

      g_hash_table_add (listed, &v->video_id);
    }

  /* Deleted, missing and un-embedded videos go first: their rows are free
   * for the videos added below. */
  gone = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_hash_table_iter_init (&iter, self->videos);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (listed, key))
      g_array_append_val (gone, *(gint64 *) key);
  for (guint i = 0; i < gone->len; i++)
    vm_embedding_store_remove_video (self, g_array_index (gone, gint64, i));
  changed = gone->len > 0;

  for (guint i = 0; i < versions->len; i++)
    {
      VmEmbeddingVersion *v = &g_array_index (versions, VmEmbeddingVersion, i);
      Video *video = g_hash_table_lookup (self->videos, &v->video_id);

      if (video != NULL && video->from_catalog && video->version == v->version)
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!load_video (self, catalog, v, error))
        return FALSE;
      changed = TRUE;
    }

  return !changed || compact (self, error);
}

/* ---- similarity --------------------------------------------------------- */

static gboolean
upload_query (VmEmbeddingStore  *self,
              const float       *query,
              GError           **error)
{
  g_autofree float *padded = g_new0 (float, self->dim_pad);

  memcpy (padded, query, sizeof (float) * self->dim);
  return vm_gpu_buffer_upload (self->query, 0, padded, sizeof (float) * self->dim_pad, error);
}

/* The row's segment in chunk @c (bisection), or NULL. */
static const Segment *
find_segment (Chunk   *chunk,
              guint64  row)
{
  guint lo = 0, hi = chunk->segs->len;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      const Segment *seg = &g_array_index (chunk->segs, Segment, mid);

      if (row < seg->first_row)
        hi = mid;
      else if (row >= seg->first_row + seg->n)
        lo = mid + 1;
      else
        return seg;
    }
  return NULL;
}

static gint
hit_compare (gconstpointer a,
             gconstpointer b)
{
  const VmFrameHit *x = a, *y = b;

  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  if (x->video_id != y->video_id)
    return x->video_id < y->video_id ? -1 : 1;
  return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static void
add_hit (VmEmbeddingStore *self,
         GArray           *hits,
         guint             c,
         guint64           row,
         float             score)
{
  const Segment *seg = find_segment (get_chunk (self, c), row);
  Video *video;
  VmFrameHit hit;

  if (seg == NULL || isnan (score) || isinf (score))
    return;
  video = g_hash_table_lookup (self->videos, &seg->video_id);
  if (video == NULL)
    return;
  hit.video_id = seg->video_id;
  hit.frame = seg->frame0 + (guint) (row - seg->first_row);
  hit.pts_ns = video->pts_ns[hit.frame];
  hit.score = score;
  g_array_append_val (hits, hit);
}

/* Scans @runs[0..n_runs) of chunks whose rows are in @db (NULL: each
 * chunk's own buffer; else the staging buffer, @db_base rows being the
 * staging's row 0) in one submission, adding their hits. */
static gboolean
scan_runs (VmEmbeddingStore  *self,
           const Run         *runs,
           guint              n_runs,
           guint              k,
           VmGpuBuffer       *db,
           guint64            db_base,
           GArray            *hits,
           GError           **error)
{
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autofree float *scores = NULL;
  g_autofree guint32 *indices = NULL;
  guint64 half = 4ull * k * n_runs;

  if (n_runs == 0)
    return TRUE;
  if (!ensure_buffer (self, &self->results, 2 * half, error))
    return FALSE;
  graph = vm_gpu_graph_new (self->device, error);
  if (graph == NULL)
    return FALSE;

  for (guint i = 0; i < n_runs; i++)
    {
      const Run *run = &runs[i];
      VmGpuBuffer *buffer = db != NULL ? db : get_chunk (self, run->chunk)->buffer;
      VmGpuSimilarity sim = {
        .queries = VM_GPU_VIEW (self->query, 0),
        .n_queries = 1,
        .database = VM_GPU_VIEW (buffer, (run->first_row - db_base) * self->row_bytes),
        .n_rows = (guint) run->n,
        .dim = self->dim_pad,
        .k = k,
        .scores = VM_GPU_VIEW (self->results, 4ull * k * i),
        .indices = VM_GPU_VIEW (self->results, half + 4ull * k * i),
      };

      if (!vm_gpu_similarity_topk (graph, &sim, error))
        return FALSE;
    }
  if (!vm_gpu_graph_submit (graph, 0, error))
    return FALSE;

  scores = g_new (float, (gsize) k * n_runs);
  indices = g_new (guint32, (gsize) k * n_runs);
  if (!vm_gpu_buffer_download (self->results, 0, scores, half, error) ||
      !vm_gpu_buffer_download (self->results, half, indices, half, error))
    return FALSE;

  for (guint i = 0; i < n_runs; i++)
    for (guint j = 0; j < k; j++)
      {
        guint32 idx = indices[(gsize) i * k + j];

        if (idx == G_MAXUINT32 || idx >= runs[i].n)
          continue;
        add_hit (self, hits, runs[i].chunk, runs[i].first_row + idx, scores[(gsize) i * k + j]);
      }
  return TRUE;
}

/* Scans the @n_runs runs of a streamed chunk: windows of at most the
 * staging chunk's rows are uploaded and scanned in turn (a run crossing a
 * window's end is split). */
static gboolean
stream_chunk (VmEmbeddingStore  *self,
              Chunk             *chunk,
              const Run         *runs,
              guint              n_runs,
              guint              k,
              GArray            *hits,
              GError           **error)
{
  g_autoptr(GArray) window = g_array_new (FALSE, FALSE, sizeof (Run));
  guint64 window_rows = MIN (chunk->capacity, MAX (self->staging_max / self->row_bytes, 1));
  guint64 lo = G_MAXUINT64;

  /* The staging chunk grows with the streamed chunks, up to staging_max. */
  if (self->staging == NULL || vm_gpu_buffer_get_size (self->staging) < window_rows * self->row_bytes)
    {
      g_clear_pointer (&self->staging, vm_gpu_buffer_unref);
      self->staging = vm_gpu_buffer_new (self->device, window_rows * self->row_bytes, error);
      if (self->staging == NULL)
        return FALSE;
    }

  for (guint i = 0; i <= n_runs; i++)
    {
      guint64 row = i < n_runs ? runs[i].first_row : 0;
      guint64 left = i < n_runs ? runs[i].n : 0;

      do
        {
          gboolean flush = i == n_runs ? window->len > 0 : lo != G_MAXUINT64 && row >= lo + window_rows;

          if (flush)
            {
              const Run *last = &g_array_index (window, Run, window->len - 1);

              if (!vm_gpu_buffer_upload (self->staging, 0, chunk->host + lo * self->dim_pad,
                                         (last->first_row + last->n - lo) * self->row_bytes, error) ||
                  !scan_runs (self, (Run *) window->data, window->len, k, self->staging, lo, hits, error))
                return FALSE;
              g_array_set_size (window, 0);
              lo = G_MAXUINT64;
            }
          if (left > 0)
            {
              Run part = runs[i];
              guint64 take;

              if (lo == G_MAXUINT64)
                lo = row;
              take = MIN (left, lo + window_rows - row);
              part.first_row = row;
              part.n = take;
              g_array_append_val (window, part);
              row += take;
              left -= take;
            }
        }
      while (left > 0);
    }
  return TRUE;
}

static gint
run_compare (gconstpointer a,
             gconstpointer b)
{
  const Run *x = a, *y = b;

  if (x->chunk != y->chunk)
    return x->chunk < y->chunk ? -1 : 1;
  return x->first_row < y->first_row ? -1 : x->first_row > y->first_row;
}

/* Sorted runs, adjacent ones merged. */
static void
merge_runs (GArray *runs)
{
  guint out = 0;

  g_array_sort (runs, run_compare);
  for (guint i = 0; i < runs->len; i++)
    {
      Run *run = &g_array_index (runs, Run, i);

      if (out > 0)
        {
          Run *prev = &g_array_index (runs, Run, out - 1);

          if (prev->chunk == run->chunk && prev->first_row + prev->n == run->first_row)
            {
              prev->n += run->n;
              continue;
            }
        }
      g_array_index (runs, Run, out++) = *run;
    }
  g_array_set_size (runs, out);
}

static gboolean
check_query (VmEmbeddingStore  *self,
             const float       *query,
             GError           **error)
{
  if (query == NULL)
    {
      g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED, _("No query vector given"));
      return FALSE;
    }
  for (guint i = 0; i < self->dim; i++)
    if (!isfinite (query[i]))
      {
        g_set_error_literal (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                             _("The query vector is not finite"));
        return FALSE;
      }
  return TRUE;
}

static GArray *
top_from_curves (VmEmbeddingStore  *self,
                 const float       *query,
                 guint              k,
                 const gint64      *video_ids,
                 guint              n_video_ids,
                 GCancellable      *cancellable,
                 GError           **error)
{
  g_autoptr(GPtrArray) curves = NULL;
  GArray *hits;

  curves = vm_embedding_store_curves (self, query, video_ids, n_video_ids, cancellable, error);
  if (curves == NULL)
    return NULL;
  hits = g_array_new (FALSE, FALSE, sizeof (VmFrameHit));
  for (guint i = 0; i < curves->len; i++)
    {
      VmScoreCurve *curve = g_ptr_array_index (curves, i);

      for (guint f = 0; f < curve->n; f++)
        {
          VmFrameHit hit = { curve->video_id, f, curve->pts_ns[f], curve->scores[f] };

          g_array_append_val (hits, hit);
        }
      /* Keep the array small: trim to k now and then. */
      if (hits->len > 8u * k + 65536)
        {
          g_array_sort (hits, hit_compare);
          g_array_set_size (hits, k);
        }
    }
  g_array_sort (hits, hit_compare);
  if (hits->len > k)
    g_array_set_size (hits, k);
  return hits;
}

GArray *
vm_embedding_store_top_frames (VmEmbeddingStore  *self,
                               const float       *query,
                               guint              k,
                               const gint64      *video_ids,
                               guint              n_video_ids,
                               GCancellable      *cancellable,
                               GError           **error)
{
  g_autoptr(GArray) hits = NULL;
  g_autoptr(GArray) runs = NULL;
  guint start;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (k == 0 || k > VM_GPU_TOPK_MAX)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("Between 1 and %u best frames can be asked for, not %u"), VM_GPU_TOPK_MAX, k);
      return NULL;
    }
  if (!check_query (self, query, error) || g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  hits = g_array_new (FALSE, FALSE, sizeof (VmFrameHit));
  runs = g_array_new (FALSE, FALSE, sizeof (Run));

  if (video_ids != NULL)
    {
      g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autoptr(GArray) unique = g_array_new (FALSE, FALSE, sizeof (gint64));

      for (guint i = 0; i < n_video_ids; i++)
        {
          Video *video = g_hash_table_lookup (self->videos, &video_ids[i]);

          if (video == NULL || !g_hash_table_add (seen, (gpointer) &video_ids[i]))
            continue;
          g_array_append_val (unique, video_ids[i]);
          for (guint s = 0; s < video->segments->len; s++)
            {
              Segment *seg = &g_array_index (video->segments, Segment, s);
              Run run = { seg->chunk, seg->first_row, seg->n };

              g_array_append_val (runs, run);
            }
        }
      merge_runs (runs);
      if (runs->len > MAX_FILTER_RUNS)
        return top_from_curves (self, query, k, (gint64 *) unique->data, unique->len, cancellable, error);
    }
  else
    {
      for (guint c = 0; c < self->chunks->len; c++)
        {
          Chunk *chunk = get_chunk (self, c);

          for (guint i = 0; i < chunk->segs->len; i++)
            {
              Segment *seg = &g_array_index (chunk->segs, Segment, i);
              Run run = { c, seg->first_row, seg->n };

              g_array_append_val (runs, run);
            }
        }
      merge_runs (runs);
    }

  if (runs->len == 0)
    return g_steal_pointer (&hits);
  if (!upload_query (self, query, error))
    return NULL;

  /* Resident chunks: one submission. */
  {
    g_autoptr(GArray) resident = g_array_new (FALSE, FALSE, sizeof (Run));

    for (guint i = 0; i < runs->len; i++)
      if (get_chunk (self, g_array_index (runs, Run, i).chunk)->resident)
        g_array_append_val (resident, g_array_index (runs, Run, i));
    if (!scan_runs (self, (Run *) resident->data, resident->len, k, NULL, 0, hits, error))
      return NULL;
  }

  /* Streamed chunks: each through the staging chunk. */
  start = 0;
  while (start < runs->len)
    {
      guint c = g_array_index (runs, Run, start).chunk;
      guint end = start;
      Chunk *chunk = get_chunk (self, c);

      while (end < runs->len && g_array_index (runs, Run, end).chunk == c)
        end++;
      if (chunk->resident)
        {
          start = end;
          continue;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;

      if (!stream_chunk (self, chunk, (Run *) &g_array_index (runs, Run, start), end - start, k, hits, error))
        return NULL;
      start = end;
    }

  g_array_sort (hits, hit_compare);
  if (hits->len > k)
    g_array_set_size (hits, k);
  return g_steal_pointer (&hits);
}

/* ---- curves ------------------------------------------------------------- */

void
vm_score_curve_free (VmScoreCurve *curve)
{
  if (curve == NULL)
    return;
  g_free (curve->pts_ns);
  g_free (curve->shot_ids);
  g_free (curve->scores);
  g_free (curve);
}

typedef struct {
  guint    chunk;
  gboolean streamed;
  guint64  first_row;
  guint    n;
  guint64  pos;        /* in the output, in row order */
  float   *dst;        /* the curve's scores of this segment */
} CurveItem;

static gint
curve_item_compare (gconstpointer a,
                    gconstpointer b)
{
  const CurveItem *x = a, *y = b;

  if (x->streamed != y->streamed)
    return x->streamed ? 1 : -1;
  if (x->chunk != y->chunk)
    return x->chunk < y->chunk ? -1 : 1;
  return x->first_row < y->first_row ? -1 : x->first_row > y->first_row;
}

/* Records one GEMV over @n rows of @rows into the output at @pos. */
static gboolean
record_gemv (VmEmbeddingStore  *self,
             VmGpuGraph        *graph,
             VmGpuView          rows,
             guint64            n,
             guint64            pos,
             GError           **error)
{
  VmGpuGemv gemv = {
    .x = VM_GPU_VIEW (self->query, 0),
    .rows = rows,
    .n_rows = (guint) n,
    .dim = self->dim_pad,
    .y = VM_GPU_VIEW (self->curve_out, 4 * pos),
  };

  /* The lanes kernel on CPU drivers, vm_gpu_gemm() at m = 1 elsewhere. */
  return vm_gpu_gemv_f16 (graph, &gemv, error);
}

/* The segments of the curves are scored in row order: segments adjacent in
 * a chunk (videos stored one after the other) share one GEMV, and the rows
 * of streamed chunks, gathered into one upload, take one GEMV in all. */
GPtrArray *
vm_embedding_store_curves (VmEmbeddingStore  *self,
                           const float       *query,
                           const gint64      *video_ids,
                           guint              n_video_ids,
                           GCancellable      *cancellable,
                           GError           **error)
{
  g_autoptr(GPtrArray) curves = NULL;
  g_autoptr(GArray) items = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autofree float *scores = NULL;
  guint64 total = 0, streamed = 0, first_streamed = G_MAXUINT64;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (video_ids != NULL || n_video_ids == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_query (self, query, error) || g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  curves = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_score_curve_free);
  items = g_array_new (FALSE, FALSE, sizeof (CurveItem));
  for (guint i = 0; i < n_video_ids; i++)
    {
      Video *video = g_hash_table_lookup (self->videos, &video_ids[i]);
      VmScoreCurve *curve;

      if (video == NULL)
        continue;
      curve = g_new0 (VmScoreCurve, 1);
      curve->video_id = video->video_id;
      curve->n = video->n;
      curve->pts_ns = g_memdup2 (video->pts_ns, sizeof (gint64) * video->n);
      curve->shot_ids = g_memdup2 (video->shot_ids, sizeof (int) * video->n);
      curve->scores = g_new (float, video->n);
      g_ptr_array_add (curves, curve);
      total += video->n;

      for (guint s = 0; s < video->segments->len; s++)
        {
          Segment *seg = &g_array_index (video->segments, Segment, s);
          CurveItem item = { seg->chunk, !get_chunk (self, seg->chunk)->resident, seg->first_row, seg->n,
                             0, curve->scores + seg->frame0 };

          g_array_append_val (items, item);
          if (item.streamed)
            streamed += seg->n;
        }
    }
  if (curves->len == 0)
    return g_steal_pointer (&curves);

  g_array_sort (items, curve_item_compare);
  {
    guint64 pos = 0;

    for (guint i = 0; i < items->len; i++)
      {
        CurveItem *item = &g_array_index (items, CurveItem, i);

        item->pos = pos;
        pos += item->n;
        if (item->streamed && first_streamed == G_MAXUINT64)
          first_streamed = item->pos;
      }
  }

  if (!upload_query (self, query, error) ||
      !ensure_buffer (self, &self->curve_out, 4 * total, error))
    return NULL;

  /* Rows of streamed chunks are gathered, in the same order, into one upload. */
  if (streamed > 0)
    {
      g_autofree guint16 *rows = NULL;
      guint64 at = 0;

      if (!ensure_buffer (self, &self->curve_rows, streamed * self->row_bytes, error))
        return NULL;
      rows = g_try_malloc (streamed * self->row_bytes);
      if (rows == NULL)
        {
          g_set_error_literal (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY,
                               _("Out of memory for the score curves"));
          return NULL;
        }
      for (guint i = 0; i < items->len; i++)
        {
          CurveItem *item = &g_array_index (items, CurveItem, i);

          if (!item->streamed)
            continue;
          memcpy (rows + at * self->dim_pad, get_chunk (self, item->chunk)->host + item->first_row * self->dim_pad,
                  (gsize) item->n * self->row_bytes);
          at += item->n;
        }
      if (!vm_gpu_buffer_upload (self->curve_rows, 0, rows, streamed * self->row_bytes, error))
        return NULL;
    }

  graph = vm_gpu_graph_new (self->device, error);
  if (graph == NULL)
    return NULL;

  for (guint i = 0; i < items->len;)
    {
      CurveItem *item = &g_array_index (items, CurveItem, i);
      guint64 n = item->n;
      guint j = i + 1;

      if (item->streamed)
        break;
      for (; j < items->len; j++)
        {
          CurveItem *next = &g_array_index (items, CurveItem, j);

          if (next->streamed || next->chunk != item->chunk || next->first_row != item->first_row + n)
            break;
          n += next->n;
        }
      if (!record_gemv (self, graph,
                        VM_GPU_VIEW (get_chunk (self, item->chunk)->buffer, item->first_row * self->row_bytes),
                        n, item->pos, error))
        return NULL;
      i = j;
    }
  if (streamed > 0 &&
      !record_gemv (self, graph, VM_GPU_VIEW (self->curve_rows, 0), streamed, first_streamed, error))
    return NULL;

  if (!vm_gpu_graph_submit (graph, 0, error))
    return NULL;

  scores = g_new (float, total);
  if (!vm_gpu_buffer_download (self->curve_out, 0, scores, 4 * total, error))
    return NULL;
  for (guint i = 0; i < items->len; i++)
    {
      CurveItem *item = &g_array_index (items, CurveItem, i);

      memcpy (item->dst, scores + item->pos, sizeof (float) * item->n);
    }
  return g_steal_pointer (&curves);
}

/* ---- query by example --------------------------------------------------- */

gboolean
vm_embedding_store_get_frame (VmEmbeddingStore  *self,
                              gint64             video_id,
                              gint64             pts_ns,
                              float             *out,
                              gint64            *out_pts,
                              GError           **error)
{
  Video *video;
  g_autofree guint16 *row = NULL;
  guint lo = 0, hi, f;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  video = g_hash_table_lookup (self->videos, &video_id);
  if (video == NULL)
    {
      g_set_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
                   _("Video %" PRId64 " has no embeddings to search by"), video_id);
      return FALSE;
    }

  /* The first frame at or after pts, then the nearer of it and the one before. */
  hi = video->n;
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (video->pts_ns[mid] < pts_ns)
        lo = mid + 1;
      else
        hi = mid;
    }
  f = MIN (lo, video->n - 1);
  if (f > 0 && pts_ns - video->pts_ns[f - 1] <= video->pts_ns[f] - pts_ns)
    f--;

  row = g_new (guint16, self->dim_pad);
  for (guint s = 0; s < video->segments->len; s++)
    {
      Segment *seg = &g_array_index (video->segments, Segment, s);
      Chunk *chunk = get_chunk (self, seg->chunk);
      guint64 r;

      if (f < seg->frame0 || f >= seg->frame0 + seg->n)
        continue;
      r = seg->first_row + (f - seg->frame0);
      if (chunk->resident)
        {
          if (!vm_gpu_buffer_download (chunk->buffer, r * self->row_bytes, row, self->row_bytes, error))
            return FALSE;
        }
      else
        memcpy (row, chunk->host + r * self->dim_pad, self->row_bytes);

      for (guint i = 0; i < self->dim; i++)
        out[i] = vm_half_to_float (row[i]);
      if (out_pts != NULL)
        *out_pts = video->pts_ns[f];
      return TRUE;
    }

  g_set_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_FAILED,
               _("Video %" PRId64 " has no embeddings to search by"), video_id);
  return FALSE;
}
