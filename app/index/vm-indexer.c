/* vm-indexer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "index/vm-indexer.h"

#include <glib/gi18n.h>
#include <math.h>

#include "core/vm-core.h"
#include "index/vm-scanner.h"

void
vm_index_options_init (VmIndexOptions *options)
{
  memset (options, 0, sizeof *options);
  vm_sampler_options_init (&options->sampler);
  options->probe_timeout_ms = 15000;
  options->thumbnails = TRUE;
  options->shot_threshold = 0.6;
  vm_text_index_options_init (&options->text);
}

typedef struct {
  VmCatalog             *catalog;
  const VmIndexOptions  *options;
  VmJob                 *job;
  GCancellable          *cancellable;
  VmIndexEventFunc       func;
  gpointer               user_data;
  VmIndexReport         *report;
} Indexer;

static void
emit (Indexer          *self,
      VmIndexEventType  type,
      const char       *path,
      const char       *old_path,
      gint64            video_id,
      guint             n_frames,
      const GError     *error,
      guint             index,
      guint             total)
{
  VmIndexEvent event = {
    .type = type, .path = path, .old_path = old_path, .video_id = video_id,
    .n_frames = n_frames, .error = error, .index = index, .total = total,
  };

  if (self->func != NULL)
    self->func (&event, self->user_data);
}

static void
folder_error_cb (const char   *path,
                 const GError *error,
                 gpointer      data)
{
  Indexer *self = data;

  emit (self, VM_INDEX_EVENT_FOLDER_ERROR, path, NULL, 0, 0, error, 0, 0);
}

/* ---- Shot detection ----------------------------------------------------- */

void
vm_frame_histogram (const VmFrame *frame,
                    float          hist[64])
{
  guint step = MAX (1, MIN (frame->width, frame->height) / 64);
  guint count = 0;

  memset (hist, 0, 64 * sizeof (float));

  for (guint y = 0; y < frame->height; y += step)
    {
      const guint8 *row = frame->data + (gsize) y * frame->stride;

      for (guint x = 0; x < frame->width; x += step)
        {
          const guint8 *p = row + 3 * x;

          hist[(p[0] >> 6) * 16 + (p[1] >> 6) * 4 + (p[2] >> 6)] += 1;
          count++;
        }
    }

  if (count > 0)
    for (guint i = 0; i < 64; i++)
      hist[i] /= count;
}

double
vm_frame_histogram_distance (const float a[64],
                             const float b[64])
{
  double d = 0;

  for (guint i = 0; i < 64; i++)
    d += fabs ((double) a[i] - b[i]);

  return d;
}

/* ---- Sampling one file -------------------------------------------------- */

typedef struct {
  Indexer *indexer;
  GArray  *frames;       /* VmFrameRecord */
  float    last_hist[64];
  gboolean have_last;
  int      shot_id;
  gint64   duration_ns;
  guint    index;
  guint    total;
} SampleState;

static gboolean
sample_frame_cb (const VmFrame  *frame,
                 gpointer        user_data,
                 GError        **error)
{
  SampleState *state = user_data;
  VmFrameRecord record = { frame->pts_ns, frame->keyframe, 0 };
  float hist[64];

  vm_frame_histogram (frame, hist);
  if (state->have_last &&
      vm_frame_histogram_distance (hist, state->last_hist) > state->indexer->options->shot_threshold)
    state->shot_id++;
  memcpy (state->last_hist, hist, sizeof hist);
  state->have_last = TRUE;

  record.shot_id = state->shot_id;
  g_array_append_val (state->frames, record);

  if (state->indexer->job != NULL && state->duration_ns > 0 && state->total > 0)
    {
      double within = CLAMP ((double) frame->pts_ns / state->duration_ns, 0.0, 1.0);

      vm_job_set_fraction (state->indexer->job, (state->index + within) / state->total);
    }

  return TRUE;
}

static gboolean
index_one (Indexer  *self,
           VmVideo  *video,
           guint     index,
           guint     total,
           guint    *out_frames,
           GError  **error)
{
  g_autoptr(VmMediaInfo) info = NULL;
  g_autoptr(GArray) frames = NULL;
  g_autofree char *thumb_dir = NULL;
  VmSamplerOptions sampler = self->options->sampler;
  SampleState state = { 0 };

  info = vm_media_probe (video->path, self->options->probe_timeout_ms, error);
  if (info == NULL)
    return FALSE;

  video->duration_ns = info->duration_ns;
  video->width = info->width;
  video->height = info->height;
  video->fps_num = info->fps_num;
  video->fps_den = info->fps_den;
  g_free (video->container);
  video->container = g_strdup (info->container);
  g_free (video->video_codec);
  video->video_codec = g_strdup (info->video_codec);
  g_free (video->audio_codec);
  video->audio_codec = g_strdup (info->audio_codec);
  video->has_audio = info->has_audio;
  video->status = VM_VIDEO_STATUS_PROBED;
  g_clear_pointer (&video->error_message, g_free);
  if (!vm_catalog_save_video (self->catalog, video, error))
    return FALSE;

  if (self->options->thumbnails && video->fingerprint != NULL)
    {
      g_autofree char *root = self->options->thumbnail_root
                              ? g_strdup (self->options->thumbnail_root)
                              : vm_paths_thumbnail_dir ();
      char prefix[17] = { 0 };

      g_strlcpy (prefix, video->fingerprint, sizeof prefix);
      thumb_dir = g_build_filename (root, prefix, NULL);
      if (!vm_paths_ensure_dir (thumb_dir, error))
        return FALSE;
      sampler.thumbnail_dir = thumb_dir;
    }

  frames = g_array_new (FALSE, FALSE, sizeof (VmFrameRecord));
  state.indexer = self;
  state.frames = frames;
  state.duration_ns = info->duration_ns;
  state.index = index;
  state.total = total;

  if (!vm_sampler_run (video->path, &sampler, sample_frame_cb, &state, self->cancellable, error))
    return FALSE;

  if (frames->len == 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_CORRUPT,
                   _("No frame could be decoded"));
      return FALSE;
    }

  /* Timed text (subtitles, OCR, speech) before the video counts as indexed:
   * a cancel here leaves it "probed", so the next run does it again.  Only a
   * catalog error or a cancel fails; a failing source is a warning. */
  if (self->options->text.enabled &&
      !vm_text_indexer_run (self->catalog, video, &self->options->text, self->cancellable, NULL, error))
    return FALSE;

  /* Frames, status and time change together. */
  if (!vm_catalog_begin (self->catalog, error))
    return FALSE;
  video->status = VM_VIDEO_STATUS_INDEXED;
  video->indexed_at = g_get_real_time () / G_USEC_PER_SEC;
  if (!vm_catalog_replace_frames (self->catalog, video->id,
                                  (const VmFrameRecord *) (gpointer) frames->data, frames->len, error) ||
      !vm_catalog_save_video (self->catalog, video, error) ||
      !vm_catalog_commit (self->catalog, error))
    {
      vm_catalog_rollback (self->catalog);
      return FALSE;
    }

  *out_frames = frames->len;
  return TRUE;
}

/* ---- Reconciling the folders with the catalog --------------------------- */

static gboolean
path_exists (const char *path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* Finds a known video with @fingerprint whose file is gone: a move. */
static VmVideo *
find_moved (Indexer     *self,
            const char  *fingerprint,
            GHashTable  *discovered,
            GError     **error)
{
  g_autoptr(GPtrArray) same = NULL;

  same = vm_catalog_find_videos_by_fingerprint (self->catalog, fingerprint, error);
  if (same == NULL)
    return NULL;

  for (guint i = 0; i < same->len; i++)
    {
      VmVideo *v = g_ptr_array_index (same, i);

      if (v->status == VM_VIDEO_STATUS_MISSING ||
          (!g_hash_table_contains (discovered, v->path) && !path_exists (v->path)))
        return vm_video_copy (v);
    }

  return NULL;
}

static gboolean
reconcile_folder (Indexer   *self,
                  VmFolder  *folder,
                  GPtrArray *work,
                  GError   **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) known = NULL;
  g_autoptr(GHashTable) discovered = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) local_error = NULL;

  entries = vm_scanner_discover (folder->path, folder_error_cb, self, self->cancellable, &local_error);
  if (entries == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* An unmounted or deleted folder: report it and leave its videos be. */
      emit (self, VM_INDEX_EVENT_FOLDER_ERROR, folder->path, NULL, 0, 0, local_error, 0, 0);
      return TRUE;
    }

  for (guint i = 0; i < entries->len; i++)
    g_hash_table_add (discovered, ((VmScanEntry *) g_ptr_array_index (entries, i))->path);

  self->report->n_found += entries->len;

  for (guint i = 0; i < entries->len; i++)
    {
      VmScanEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr(VmVideo) video = NULL;
      g_autoptr(GError) fp_error = NULL;
      g_autofree char *fingerprint = NULL;

      if (g_cancellable_set_error_if_cancelled (self->cancellable, error))
        return FALSE;

      video = vm_catalog_find_video_by_path (self->catalog, entry->path, error);
      if (video == NULL && error != NULL && *error != NULL)
        return FALSE;

      if (video != NULL && video->size == entry->size && video->mtime_us == entry->mtime_us &&
          video->status != VM_VIDEO_STATUS_MISSING)
        {
          /* Unchanged by size and mtime. */
          if (video->folder_id != folder->id)
            {
              video->folder_id = folder->id;
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
            }
          if (self->options->force ||
              video->status == VM_VIDEO_STATUS_NEW ||
              video->status == VM_VIDEO_STATUS_PROBED ||
              (video->status == VM_VIDEO_STATUS_ERROR && self->options->retry_failed))
            g_ptr_array_add (work, g_steal_pointer (&video));
          else
            self->report->n_unchanged++;
          continue;
        }

      fingerprint = vm_fingerprint_file (entry->path, NULL, self->cancellable, &fp_error);

      if (video != NULL)
        {
          gboolean same_content = fingerprint != NULL && g_strcmp0 (fingerprint, video->fingerprint) == 0;
          gboolean was_missing = video->status == VM_VIDEO_STATUS_MISSING;

          video->size = entry->size;
          video->mtime_us = entry->mtime_us;
          video->folder_id = folder->id;

          if (same_content && !self->options->force && video->status == VM_VIDEO_STATUS_INDEXED)
            {
              /* Touched, not changed. */
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
              self->report->n_unchanged++;
              continue;
            }

          if (same_content && was_missing)
            {
              /* Came back; its frames (if any) are still valid. */
              video->status = video->indexed_at > 0 ? VM_VIDEO_STATUS_INDEXED : VM_VIDEO_STATUS_NEW;
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
              if (video->status == VM_VIDEO_STATUS_INDEXED && !self->options->force)
                {
                  self->report->n_unchanged++;
                  continue;
                }
            }
          else
            {
              g_free (video->fingerprint);
              video->fingerprint = g_steal_pointer (&fingerprint);
              video->status = VM_VIDEO_STATUS_NEW;
              g_clear_pointer (&video->error_message, g_free);
              if (!vm_catalog_save_video (self->catalog, video, error))
                return FALSE;
              self->report->n_changed++;
              emit (self, VM_INDEX_EVENT_CHANGED, video->path, NULL, video->id, 0, NULL, 0, 0);
            }
          g_ptr_array_add (work, g_steal_pointer (&video));
          continue;
        }

      /* A path the catalog does not know: moved, or new. */
      if (fingerprint != NULL)
        {
          video = find_moved (self, fingerprint, discovered, error);
          if (video == NULL && error != NULL && *error != NULL)
            return FALSE;
        }

      if (video != NULL)
        {
          g_autofree char *old_path = g_steal_pointer (&video->path);

          video->path = g_strdup (entry->path);
          video->folder_id = folder->id;
          video->size = entry->size;
          video->mtime_us = entry->mtime_us;
          if (video->status == VM_VIDEO_STATUS_MISSING)
            video->status = video->indexed_at > 0 ? VM_VIDEO_STATUS_INDEXED : VM_VIDEO_STATUS_NEW;
          if (!vm_catalog_save_video (self->catalog, video, error))
            return FALSE;
          self->report->n_moved++;
          emit (self, VM_INDEX_EVENT_MOVED, video->path, old_path, video->id, 0, NULL, 0, 0);
          if (video->status != VM_VIDEO_STATUS_INDEXED || self->options->force)
            g_ptr_array_add (work, g_steal_pointer (&video));
          continue;
        }

      video = vm_video_new ();
      video->folder_id = folder->id;
      video->path = g_strdup (entry->path);
      video->size = entry->size;
      video->mtime_us = entry->mtime_us;
      video->fingerprint = g_steal_pointer (&fingerprint);
      video->added_at = g_get_real_time () / G_USEC_PER_SEC;
      video->status = VM_VIDEO_STATUS_NEW;
      if (fp_error != NULL)
        {
          /* Unreadable: record why, and go on. */
          video->status = VM_VIDEO_STATUS_ERROR;
          video->error_message = g_strdup (fp_error->message);
        }
      if (!vm_catalog_save_video (self->catalog, video, error))
        return FALSE;
      self->report->n_new++;
      emit (self, VM_INDEX_EVENT_NEW, video->path, NULL, video->id, 0, NULL, 0, 0);
      if (fp_error != NULL)
        {
          self->report->n_failed++;
          emit (self, VM_INDEX_EVENT_FAILED, video->path, NULL, video->id, 0, fp_error, 0, 0);
          continue;
        }
      g_ptr_array_add (work, g_steal_pointer (&video));
    }

  /* Known files of this folder that were not found are missing. */
  known = vm_catalog_list_videos (self->catalog, folder->id, error);
  if (known == NULL)
    return FALSE;

  for (guint i = 0; i < known->len; i++)
    {
      VmVideo *v = g_ptr_array_index (known, i);

      if (v->status == VM_VIDEO_STATUS_MISSING || g_hash_table_contains (discovered, v->path))
        continue;
      /* Work may hold a moved copy already pointing elsewhere. */
      if (path_exists (v->path))
        continue;
      if (!vm_catalog_set_video_status (self->catalog, v->id, VM_VIDEO_STATUS_MISSING, NULL, error))
        return FALSE;
      self->report->n_missing++;
      emit (self, VM_INDEX_EVENT_MISSING, v->path, NULL, v->id, 0, NULL, 0, 0);
    }

  return TRUE;
}

gboolean
vm_indexer_run (VmCatalog             *catalog,
                const VmIndexOptions  *options,
                VmJob                 *job,
                VmIndexEventFunc       func,
                gpointer               user_data,
                VmIndexReport         *report,
                GError               **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) work = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_video_free);
  VmIndexOptions default_options;
  VmIndexReport local_report = { 0 };
  Indexer self = { 0 };

  g_return_val_if_fail (VM_IS_CATALOG (catalog), FALSE);

  if (options == NULL)
    {
      vm_index_options_init (&default_options);
      options = &default_options;
    }
  if (report == NULL)
    report = &local_report;
  memset (report, 0, sizeof *report);

  if (!vm_media_init (error))
    return FALSE;

  self.catalog = catalog;
  self.options = options;
  self.job = job;
  self.cancellable = job != NULL ? vm_job_get_cancellable (job) : NULL;
  self.func = func;
  self.user_data = user_data;
  self.report = report;

  if (job != NULL)
    vm_job_set_message (job, _("Looking for videos…"));

  folders = vm_catalog_list_folders (catalog, error);
  if (folders == NULL)
    return FALSE;

  for (guint i = 0; i < folders->len; i++)
    if (!reconcile_folder (&self, g_ptr_array_index (folders, i), work, error))
      goto cancelled_or_failed;

  for (guint i = 0; i < work->len; i++)
    {
      VmVideo *video = g_ptr_array_index (work, i);
      g_autoptr(GError) local_error = NULL;
      guint n_frames = 0;

      if (g_cancellable_is_cancelled (self.cancellable))
        break;

      if (job != NULL)
        {
          g_autofree char *base = g_path_get_basename (video->path);

          vm_job_set_message (job, base);
          vm_job_set_fraction (job, (double) i / work->len);
        }

      emit (&self, VM_INDEX_EVENT_STARTED, video->path, NULL, video->id, 0, NULL, i, work->len);

      if (index_one (&self, video, i, work->len, &n_frames, &local_error))
        {
          report->n_indexed++;
          report->n_frames += n_frames;
          emit (&self, VM_INDEX_EVENT_INDEXED, video->path, NULL, video->id, n_frames, NULL, i, work->len);
          continue;
        }

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        break;

      if (local_error->domain == VM_CATALOG_ERROR)
        {
          /* The catalog itself failed (disk full, locked): stop here. */
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      report->n_failed++;
      emit (&self, VM_INDEX_EVENT_FAILED, video->path, NULL, video->id, 0, local_error, i, work->len);
      if (!vm_catalog_set_video_status (catalog, video->id, VM_VIDEO_STATUS_ERROR,
                                        local_error->message, error))
        return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (self.cancellable, error))
    {
      report->cancelled = TRUE;
      return FALSE;
    }

  if (job != NULL)
    {
      vm_job_set_fraction (job, 1.0);
      vm_job_set_message (job, _("Done"));
    }

  return TRUE;

cancelled_or_failed:
  if (g_cancellable_is_cancelled (self.cancellable))
    report->cancelled = TRUE;
  return FALSE;
}
