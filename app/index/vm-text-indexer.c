/* vm-text-indexer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "index/vm-text-indexer.h"

#include <glib/gi18n.h>
#include <gst/tag/tag.h>
#include <string.h>

#include "core/vm-util.h"
#include "media/vm-media.h"
#include "media/vm-subtitles.h"

void
vm_text_index_options_init (VmTextIndexOptions *options)
{
  memset (options, 0, sizeof *options);
  options->enabled = TRUE;
  options->subtitles = TRUE;
  options->ocr = TRUE;
  options->speech = FALSE;
  vm_ocr_options_init (&options->ocr_options);
  options->speech_engine = NULL;
  options->speech_max_gap_ns = 800 * G_GINT64_CONSTANT (1000000);
  options->speech_max_phrase_ns = 8 * VM_NSEC_PER_SEC;
  options->watchdog_ms = 30000;
}

typedef struct {
  const char                *path;
  const VmTextIndexOptions  *options;
  VmTextIndexReport         *report;
  GPtrArray                 *segments;
  gint64                     duration_ns;
  guint                      short_side;   /* of the video, 0 when unknown */
} Extract;

static void
warn (Extract    *self,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
warn (Extract    *self,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  self->report->n_warnings++;
  if (self->options->warning_func != NULL)
    self->options->warning_func (self->path, message, self->options->warning_data);
  else
    g_debug ("%s: %s", self->path, message);
}

static void
add_segment (Extract      *self,
             VmTextSource  source,
             gint64        start_ns,
             gint64        end_ns,
             const char   *language,
             const char   *text,
             double        confidence)
{
  VmTextSegment *segment;

  if (text == NULL || *text == '\0')
    return;
  start_ns = MAX (0, start_ns);
  end_ns = MAX (start_ns, end_ns);
  if (self->duration_ns > 0)
    {
      if (start_ns >= self->duration_ns)
        return;
      end_ns = MIN (end_ns, self->duration_ns);
    }

  segment = g_new0 (VmTextSegment, 1);
  segment->source = source;
  segment->start_ns = start_ns;
  segment->end_ns = end_ns;
  segment->language = g_strdup (language);
  segment->text = g_strdup (text);
  segment->confidence = CLAMP (confidence, 0.0, 1.0);
  g_ptr_array_add (self->segments, segment);

  switch (source)
    {
    case VM_TEXT_SOURCE_SUBTITLE:
      self->report->n_subtitle++;
      break;
    case VM_TEXT_SOURCE_OCR:
      self->report->n_ocr++;
      break;
    case VM_TEXT_SOURCE_SPEECH:
    default:
      self->report->n_speech++;
      break;
    }
}

static void
add_track (Extract         *self,
           VmSubtitleTrack *track)
{
  for (guint i = 0; i < track->cues->len; i++)
    {
      VmSubtitleCue *cue = g_ptr_array_index (track->cues, i);

      add_segment (self, VM_TEXT_SOURCE_SUBTITLE, cue->start_ns, cue->end_ns,
                   track->language, cue->text, 1.0);
    }
}

static gboolean
extract_subtitles (Extract       *self,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GPtrArray) embedded = NULL;
  g_autoptr(GPtrArray) sidecars = NULL;
  g_autoptr(GError) local_error = NULL;

  embedded = vm_subtitles_read_embedded (self->path, self->options->watchdog_ms, cancellable, &local_error);
  if (embedded == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      warn (self, _("Embedded subtitles: %s"), local_error->message);
      g_clear_error (&local_error);
    }
  else
    for (guint i = 0; i < embedded->len; i++)
      add_track (self, g_ptr_array_index (embedded, i));

  sidecars = vm_subtitles_find_sidecars (self->path);
  for (guint i = 0; i < sidecars->len; i++)
    {
      VmSubtitleSidecar *sidecar = g_ptr_array_index (sidecars, i);
      g_autoptr(VmSubtitleTrack) track = NULL;
      g_autofree char *name = g_filename_display_basename (sidecar->path);

      track = vm_subtitles_load_file (sidecar->path, sidecar->language, &local_error);
      if (track == NULL)
        {
          warn (self, "%s", local_error->message);
          g_clear_error (&local_error);
          continue;
        }
      if (track->n_skipped > 0)
        warn (self,
              g_dngettext (GETTEXT_PACKAGE,
                           "%s: %u malformed entry skipped (line %u)",
                           "%s: %u malformed entries skipped (the first at line %u)",
                           track->n_skipped),
              name, track->n_skipped, track->first_bad_line);
      add_track (self, track);
    }

  return TRUE;
}

static char *
ocr_language (const char *languages)
{
  const char *iso;

  if (languages == NULL || *languages == '\0')
    languages = "eng";
  if (strchr (languages, '+') != NULL)
    return NULL;
  iso = gst_tag_get_language_code_iso_639_1 (languages);
  return g_strdup (iso != NULL ? iso : languages);
}

static gboolean
extract_ocr (Extract       *self,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(GPtrArray) segments = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *language = ocr_language (self->options->ocr_options.languages);
  VmOcrOptions ocr_options = self->options->ocr_options;

  /* Upscaling past twice the native size costs time and reads no better. */
  if (self->short_side > 0)
    ocr_options.short_side = MIN (ocr_options.short_side, 2 * self->short_side);

  segments = vm_ocr_extract (self->path, &ocr_options, cancellable,
                             &self->report->ocr_stats, &local_error);
  if (segments == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      warn (self, _("On-screen text: %s"), local_error->message);
      return TRUE;
    }

  for (guint i = 0; i < segments->len; i++)
    {
      VmOcrSegment *s = g_ptr_array_index (segments, i);

      add_segment (self, VM_TEXT_SOURCE_OCR, s->start_ns, s->end_ns, language, s->text, s->confidence);
    }
  return TRUE;
}

/* The built-in engine is loaded once (its model takes a while) and used by
 * one video at a time. */
static GMutex default_engine_lock;
static VmSpeechEngine *default_engine;

static gboolean
extract_speech (Extract       *self,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(GPtrArray) words = NULL;
  g_autoptr(GPtrArray) phrases = NULL;
  g_autoptr(GError) local_error = NULL;
  VmSpeechEngine *engine = self->options->speech_engine;
  gboolean use_default = engine == NULL;
  gint64 t0 = g_get_monotonic_time ();

  if (use_default)
    {
      g_mutex_lock (&default_engine_lock);
      if (default_engine == NULL)
        default_engine = vm_speech_engine_new_default (&local_error);
      engine = default_engine;
      if (engine == NULL)
        {
          g_mutex_unlock (&default_engine_lock);
          warn (self, _("Speech: %s"), local_error->message);
          return TRUE;
        }
    }

  words = vm_speech_transcribe (engine, self->path, self->options->watchdog_ms, cancellable, NULL, &local_error);
  if (use_default)
    g_mutex_unlock (&default_engine_lock);
  self->report->speech_seconds += (g_get_monotonic_time () - t0) / 1e6;

  if (words == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      warn (self, _("Speech: %s"), local_error->message);
      return TRUE;
    }

  phrases = vm_speech_group_phrases (words, self->options->speech_max_gap_ns,
                                     self->options->speech_max_phrase_ns);
  for (guint i = 0; i < phrases->len; i++)
    {
      VmSpeechPhrase *p = g_ptr_array_index (phrases, i);

      add_segment (self, VM_TEXT_SOURCE_SPEECH, p->start_ns, p->end_ns, "en", p->text, p->confidence);
    }
  return TRUE;
}

static GPtrArray *
extract (const char                *path,
         gint64                     duration_ns,
         guint                      short_side,
         const VmTextIndexOptions  *options,
                         GCancellable              *cancellable,
                         VmTextIndexReport         *report,
                         GError                   **error)
{
  g_autoptr(GPtrArray) segments = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_text_segment_free);
  VmTextIndexOptions defaults;
  VmTextIndexReport local_report;
  Extract self = { 0 };

  g_return_val_if_fail (path != NULL, NULL);

  if (options == NULL)
    {
      vm_text_index_options_init (&defaults);
      options = &defaults;
    }
  if (report == NULL)
    report = &local_report;
  memset (report, 0, sizeof *report);

  self.path = path;
  self.options = options;
  self.report = report;
  self.segments = segments;
  self.duration_ns = duration_ns;
  self.short_side = short_side;

  if (!options->enabled)
    return g_steal_pointer (&segments);

  if (options->subtitles && !extract_subtitles (&self, cancellable, error))
    return NULL;
  if (options->ocr && !extract_ocr (&self, cancellable, error))
    return NULL;
  if (options->speech && !extract_speech (&self, cancellable, error))
    return NULL;

  return g_steal_pointer (&segments);
}

GPtrArray *
vm_text_indexer_extract (const char                *path,
                         gint64                     duration_ns,
                         const VmTextIndexOptions  *options,
                         GCancellable              *cancellable,
                         VmTextIndexReport         *report,
                         GError                   **error)
{
  return extract (path, duration_ns, 0, options, cancellable, report, error);
}

gboolean
vm_text_indexer_run (VmCatalog                 *catalog,
                     const VmVideo             *video,
                     const VmTextIndexOptions  *options,
                     GCancellable              *cancellable,
                     VmTextIndexReport         *report,
                     GError                   **error)
{
  g_autoptr(GPtrArray) segments = NULL;
  VmTextIndexOptions defaults;
  VmTextIndexReport local_report;

  g_return_val_if_fail (VM_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (video != NULL && video->id != 0, FALSE);

  if (options == NULL)
    {
      vm_text_index_options_init (&defaults);
      options = &defaults;
    }
  if (report == NULL)
    report = &local_report;

  if (!options->enabled)
    return TRUE;

  segments = extract (video->path, video->duration_ns,
                      video->width > 0 && video->height > 0 ? (guint) MIN (video->width, video->height) : 0,
                      options, cancellable, report, error);
  if (segments == NULL)
    return FALSE;

  /* Each source that ran replaces its old text, all in one transaction. */
  if (!vm_catalog_begin (catalog, error))
    return FALSE;
  if ((options->subtitles &&
       !vm_catalog_clear_text_segments (catalog, video->id, VM_TEXT_SOURCE_SUBTITLE, error)) ||
      (options->ocr &&
       !vm_catalog_clear_text_segments (catalog, video->id, VM_TEXT_SOURCE_OCR, error)) ||
      (options->speech &&
       !vm_catalog_clear_text_segments (catalog, video->id, VM_TEXT_SOURCE_SPEECH, error)))
    goto failed;

  for (guint i = 0; i < segments->len; i++)
    {
      VmTextSegment *segment = g_ptr_array_index (segments, i);

      segment->video_id = video->id;
      if (!vm_catalog_add_text_segment (catalog, segment, error))
        goto failed;
    }

  if (!vm_catalog_commit (catalog, error))
    goto failed;
  return TRUE;

failed:
  vm_catalog_rollback (catalog);
  return FALSE;
}
