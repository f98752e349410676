/* test-text-recall.c — end to end: clips with known words at known times
 * (on-screen text, embedded subtitle tracks, sidecar files, speech) are
 * generated, their text is extracted into a catalog, and search must find
 * them.  Measured as R1@IoU≥0.5: the first moment is in the right video and
 * overlaps the truth with IoU ≥ 0.5.  OCR and subtitles must reach 90%;
 * speech (PocketSphinx on espeak-ng) is measured and reported only.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "core/vm-core.h"
#include "index/vm-text-indexer.h"
#include "media/vm-media.h"
#include "media/vm-speech.h"
#include "search/vm-text-search.h"

#include "../vm-test-util.h"

typedef struct {
  const char   *clip;        /* file name */
  VmTextSource  source;
  const char   *query;
  double        start;       /* truth, seconds */
  double        end;
} Query;

static const VmTimedText overlay_a[] = {
  { 1.0, 4.0, "COPPER KETTLE" },
  { 5.0, 8.0, "GIRAFFE PARADE" },
  { 9.0, 11.5, "MIDNIGHT TRAIN" },
};
static const VmTimedText overlay_b[] = {
  { 0.5, 3.5, "Purple Umbrella" },
  { 4.5, 7.5, "Silver Bicycle" },
  { 8.5, 11.5, "Orange Lantern" },
};
/* Over a moving picture: every frame changes. */
static const VmTimedText overlay_h[] = {
  { 0.5, 3.0, "VELVET CURTAIN" },
  { 4.0, 7.0, "THUNDER VALLEY" },
  { 8.0, 10.5, "CRYSTAL GARDEN" },
};
static const VmTimedText embedded_c[] = {
  { 1.0, 3.0, "The lighthouse keeper waves" },
  { 4.0, 6.5, "A storm gathers over the harbour" },
  { 7.5, 9.5, "Fishermen haul their nets" },
};
static const VmTimedText sidecar_d[] = {
  { 0.5, 2.5, "Pancakes sizzle on the griddle" },
  { 3.5, 6.0, "Maple syrup drips slowly" },
  { 7.0, 9.5, "Breakfast is served at dawn" },
};
/* WebVTT sidecar in Latin-1, with a language in its name. */
static const char sidecar_e_vtt[] =
  "WEBVTT\n\n"
  "00:01.000 --> 00:03.000\n"
  "Le ch\xe2teau est tr\xe8s ancien\n\n"
  "00:04.000 --> 00:06.000\n"
  "<i>Les jardins</i> sont fleuris\n";

static const char speech_f[] = "The weather today is sunny and warm.";
static const char speech_g[] = "Please remember to buy fresh bread.";

static const Query queries[] = {
  { "ocr-a.mp4", VM_TEXT_SOURCE_OCR, "kettle", 1.0, 4.0 },
  { "ocr-a.mp4", VM_TEXT_SOURCE_OCR, "giraffe parade", 5.0, 8.0 },
  { "ocr-a.mp4", VM_TEXT_SOURCE_OCR, "midnight", 9.0, 11.5 },
  { "ocr-b.mkv", VM_TEXT_SOURCE_OCR, "umbrella", 0.5, 3.5 },
  { "ocr-b.mkv", VM_TEXT_SOURCE_OCR, "bicycle", 4.5, 7.5 },
  { "ocr-b.mkv", VM_TEXT_SOURCE_OCR, "lantern", 8.5, 11.5 },
  { "ocr-h.webm", VM_TEXT_SOURCE_OCR, "velvet", 0.5, 3.0 },
  { "ocr-h.webm", VM_TEXT_SOURCE_OCR, "thunder valley", 4.0, 7.0 },
  { "ocr-h.webm", VM_TEXT_SOURCE_OCR, "crystal", 8.0, 10.5 },
  { "sub-c.mkv", VM_TEXT_SOURCE_SUBTITLE, "lighthouse", 1.0, 3.0 },
  { "sub-c.mkv", VM_TEXT_SOURCE_SUBTITLE, "storm harbour", 4.0, 6.5 },
  { "sub-c.mkv", VM_TEXT_SOURCE_SUBTITLE, "\"haul their nets\"", 7.5, 9.5 },
  { "sub-d.mp4", VM_TEXT_SOURCE_SUBTITLE, "pancakes", 0.5, 2.5 },
  { "sub-d.mp4", VM_TEXT_SOURCE_SUBTITLE, "syrup", 3.5, 6.0 },
  { "sub-d.mp4", VM_TEXT_SOURCE_SUBTITLE, "breakf*", 7.0, 9.5 },
  { "sub-e.webm", VM_TEXT_SOURCE_SUBTITLE, "chateau", 1.0, 3.0 },
  { "sub-e.webm", VM_TEXT_SOURCE_SUBTITLE, "jardins", 4.0, 6.0 },
  /* Speech: the truth is the whole sentence (espeak-ng speaks it from 0 s;
   * its end is measured from the audio). */
  { "speech-f.mkv", VM_TEXT_SOURCE_SPEECH, "weather", 0, -1 },
  { "speech-f.mkv", VM_TEXT_SOURCE_SPEECH, "sunny", 0, -1 },
  { "speech-f.mkv", VM_TEXT_SOURCE_SPEECH, "warm", 0, -1 },
  { "speech-g.mp4", VM_TEXT_SOURCE_SPEECH, "remember", 0, -1 },
  { "speech-g.mp4", VM_TEXT_SOURCE_SPEECH, "fresh", 0, -1 },
  { "speech-g.mp4", VM_TEXT_SOURCE_SPEECH, "bread", 0, -1 },
};

static char *tmp_dir;
static VmCatalog *catalog;
static GHashTable *video_ids;      /* file name → gint64* */
static GHashTable *speech_ends;    /* file name → double* (seconds of speech) */

static void
generate (const char        *name,
          VmClipFormat       format,
          int                pattern,
          double             duration,
          const VmTimedText *overlay,
          guint              n_overlay,
          const VmTimedText *subtitles,
          guint              n_subtitles,
          const char        *speech)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  VmClipSpec spec;

  vm_clip_spec_init (&spec);
  spec.format = format;
  spec.width = 320;
  spec.height = 240;
  spec.fps_num = 10;
  spec.fps_den = 1;
  spec.duration = duration;
  spec.pattern = pattern;
  spec.overlay = overlay;
  spec.n_overlay = n_overlay;
  spec.subtitles = subtitles;
  spec.n_subtitles = n_subtitles;
  spec.speech = speech;
  g_assert_true (vm_media_generate_clip (&spec, path, NULL, &error));
  g_assert_no_error (error);
}

static void
index_clip (const char               *name,
            const VmTextIndexOptions *options)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(VmMediaInfo) info = vm_media_probe (path, 10000, &error);
  g_autoptr(VmVideo) video = vm_video_new ();
  VmTextIndexReport report = { 0 };
  gint64 t0 = g_get_monotonic_time ();

  g_assert_no_error (error);
  video->path = g_strdup (path);
  video->fingerprint = g_strdup (name);
  video->duration_ns = info->duration_ns;
  video->width = info->width;
  video->height = info->height;
  video->status = VM_VIDEO_STATUS_INDEXED;
  g_assert_true (vm_catalog_save_video (catalog, video, &error));
  g_assert_no_error (error);

  g_assert_true (vm_text_indexer_run (catalog, video, options, NULL, &report, &error));
  g_assert_no_error (error);
  g_test_message ("%s: %u subtitle, %u OCR, %u speech segments, %u warnings; "
                  "OCR %u/%u frames (%.2f s), speech %.2f s; %.2f s in all",
                  name, report.n_subtitle, report.n_ocr, report.n_speech, report.n_warnings,
                  report.ocr_stats.n_ocr, report.ocr_stats.n_sampled, report.ocr_stats.ocr_seconds,
                  report.speech_seconds, (g_get_monotonic_time () - t0) / 1e6);
  g_assert_cmpuint (report.n_warnings, ==, 0);
  g_hash_table_insert (video_ids, g_strdup (name), g_memdup2 (&video->id, sizeof video->id));
}

static void
warning_cb (const char *path,
            const char *message,
            gpointer    user_data)
{
  g_test_message ("warning: %s", message);
}

static void
build_library (gboolean with_speech)
{
  VmTextIndexOptions options;
  g_autofree char *srt = g_build_filename (tmp_dir, "sub-d.en.srt", NULL);
  g_autofree char *vtt = g_build_filename (tmp_dir, "sub-e.fr.vtt", NULL);
  const char *names[] = { "ocr-a.mp4", "ocr-b.mkv", "ocr-h.webm", "sub-c.mkv", "sub-d.mp4", "sub-e.webm",
                          "speech-f.mkv", "speech-g.mp4" };

  generate ("ocr-a.mp4", VM_CLIP_MP4_H264, 13, 12.0, overlay_a, G_N_ELEMENTS (overlay_a), NULL, 0, NULL);
  generate ("ocr-b.mkv", VM_CLIP_MKV_H264, 23, 12.0, overlay_b, G_N_ELEMENTS (overlay_b), NULL, 0, NULL);
  generate ("ocr-h.webm", VM_CLIP_WEBM_VP9, 18, 11.0, overlay_h, G_N_ELEMENTS (overlay_h), NULL, 0, NULL);
  generate ("sub-c.mkv", VM_CLIP_MKV_H264, 18, 10.0, NULL, 0, embedded_c, G_N_ELEMENTS (embedded_c), NULL);
  generate ("sub-d.mp4", VM_CLIP_MP4_H264, 18, 10.0, NULL, 0, NULL, 0, NULL);
  g_assert_true (vm_media_write_srt (srt, sidecar_d, G_N_ELEMENTS (sidecar_d), NULL));
  generate ("sub-e.webm", VM_CLIP_WEBM_VP9, 18, 7.0, NULL, 0, NULL, 0, NULL);
  g_assert_true (g_file_set_contents (vtt, sidecar_e_vtt, -1, NULL));
  if (with_speech)
    {
      generate ("speech-f.mkv", VM_CLIP_MKV_H264, 2, 5.0, NULL, 0, NULL, 0, speech_f);
      generate ("speech-g.mp4", VM_CLIP_MP4_H264, 2, 5.0, NULL, 0, NULL, 0, speech_g);
    }

  vm_text_index_options_init (&options);
  options.speech = with_speech;
  options.warning_func = warning_cb;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (!with_speech && g_str_has_prefix (names[i], "speech"))
        continue;
      index_clip (names[i], &options);
    }
}

static double
measure (VmTextSource source,
         guint       *out_n)
{
  guint hits = 0, n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      const Query *q = &queries[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) moments = NULL;
      gint64 *want = g_hash_table_lookup (video_ids, q->clip);
      double end = q->end;
      gboolean hit = FALSE;

      if (q->source != source || want == NULL)
        continue;
      if (end < 0)
        end = *(double *) g_hash_table_lookup (speech_ends, q->clip);
      n++;
      moments = vm_text_search (catalog, q->query, NULL, &error);
      g_assert_no_error (error);
      if (moments->len > 0)
        {
          VmMoment *m = g_ptr_array_index (moments, 0);
          double iou = vm_temporal_iou (m->start_ns, m->end_ns,
                                        (gint64) (q->start * 1e9), (gint64) (end * 1e9));

          hit = m->video_id == *want && iou >= 0.5;
          g_test_message ("%-8s %-20s → %s %.2f–%.2f s (truth %.2f–%.2f), IoU %.2f%s",
                          vm_text_source_to_string (source), q->query, m->path + strlen (tmp_dir) + 1,
                          m->start_ns / 1e9, m->end_ns / 1e9, q->start, end, iou, hit ? "" : "  MISS");
        }
      else
        g_test_message ("%-8s %-20s → nothing  MISS", vm_text_source_to_string (source), q->query);
      hits += hit;
    }

  *out_n = n;
  return n > 0 ? (double) hits / n : 0.0;
}

static void
test_recall_ocr_subtitles (void)
{
  guint n_ocr = 0, n_sub = 0;
  double r_ocr = measure (VM_TEXT_SOURCE_OCR, &n_ocr);
  double r_sub = measure (VM_TEXT_SOURCE_SUBTITLE, &n_sub);

  g_test_message ("R1@IoU>=0.5: OCR %.0f%% of %u queries, subtitles %.0f%% of %u queries",
                  100 * r_ocr, n_ocr, 100 * r_sub, n_sub);
  g_assert_cmpuint (n_ocr, ==, 9);
  g_assert_cmpuint (n_sub, ==, 8);
  g_assert_cmpfloat (r_ocr, >=, 0.9);
  g_assert_cmpfloat (r_sub, >=, 0.9);

  /* Languages were kept: the sidecar's from its name, OCR's from its options. */
  {
    g_autoptr(GPtrArray) m = vm_text_search (catalog, "chateau", NULL, NULL);
    VmSnippet *s = g_ptr_array_index (((VmMoment *) g_ptr_array_index (m, 0))->snippets, 0);

    g_assert_cmpstr (s->language, ==, "fr");
    g_assert_cmpstr (s->text, ==, "Le château est très ancien");
  }
  {
    g_autoptr(GPtrArray) m = vm_text_search (catalog, "kettle", NULL, NULL);
    VmSnippet *s = g_ptr_array_index (((VmMoment *) g_ptr_array_index (m, 0))->snippets, 0);

    g_assert_cmpint (s->source, ==, VM_TEXT_SOURCE_OCR);
    g_assert_cmpstr (s->language, ==, "en");
    g_assert_cmpfloat (s->confidence, >, 0.5);
  }
}

static void
test_recall_speech (void)
{
  guint n = 0;
  double r;
  g_autoptr(GPtrArray) segments = NULL;
  gint64 *id = g_hash_table_lookup (video_ids, "speech-f.mkv");

  if (id == NULL)
    {
      g_test_skip ("Speech recognition is not available in this build");
      return;
    }

  r = measure (VM_TEXT_SOURCE_SPEECH, &n);
  g_test_message ("R1@IoU>=0.5 speech (PocketSphinx en-us on espeak-ng): %.0f%% of %u queries", 100 * r, n);

  /* The pipeline must run and produce timed phrases inside the audio. */
  segments = vm_catalog_list_text_segments (catalog, *id, NULL);
  g_assert_nonnull (segments);
  {
    guint n_speech = 0;
    double audio_end = *(double *) g_hash_table_lookup (speech_ends, "speech-f.mkv");

    for (guint i = 0; i < segments->len; i++)
      {
        VmTextSegment *s = g_ptr_array_index (segments, i);

        if (s->source != VM_TEXT_SOURCE_SPEECH)
          continue;
        n_speech++;
        g_test_message ("speech %.2f–%.2f s (%.2f): %s", s->start_ns / 1e9, s->end_ns / 1e9,
                        s->confidence, s->text);
        g_assert_cmpint (s->end_ns, >, s->start_ns);
        g_assert_cmpfloat (s->end_ns / 1e9, <=, audio_end + 1.0);
        g_assert_cmpstr (s->language, ==, "en");
      }
    g_assert_cmpuint (n_speech, >, 0);
  }
}

static void
collect_warning_cb (const char *path,
                    const char *message,
                    gpointer    user_data)
{
  g_ptr_array_add (user_data, g_strdup (message));
}

/* Bad sidecars next to a good video: each problem is one warning naming the
 * file, the good entries are kept, and the video's other text goes on. */
static void
test_bad_sidecars (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) segments = NULL;
  g_autofree char *video = g_build_filename (tmp_dir, "sub-d.mp4", NULL);
  g_autofree char *partly = g_build_filename (tmp_dir, "sub-d.de.srt", NULL);
  g_autofree char *broken = g_build_filename (tmp_dir, "sub-d.it.srt", NULL);
  g_autofree char *binary = g_build_filename (tmp_dir, "sub-d.es.vtt", NULL);
  VmTextIndexOptions options;
  VmTextIndexReport report;
  guint n_de = 0;

  g_assert_true (g_file_set_contents (partly,
                                      "1\n00:00:01,000 --> 00:00:02,000\nGuten Morgen\n\n"
                                      "2\n00:00:03,000 --> 00:00:02,000\nRückwärts\n\n"
                                      "3\n00:00:0x,000 --> 00:00:05,000\nKaputt\n\n"
                                      "4\n00:00:06,000 --> 00:00:07,000\nGute Nacht\n", -1, NULL));
  g_assert_true (g_file_set_contents (broken, "1\nsoon --> later\nnever\n", -1, NULL));
  g_assert_true (g_file_set_contents (binary, "WEBVTT\0\1\2\3", 10, NULL));

  vm_text_index_options_init (&options);
  options.ocr = FALSE;
  options.warning_func = collect_warning_cb;
  options.warning_data = warnings;
  segments = vm_text_indexer_extract (video, 10 * G_GINT64_CONSTANT (1000000000), &options, NULL, &report, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < warnings->len; i++)
    {
      const char *w = g_ptr_array_index (warnings, i);

      g_test_message ("warning: %s", w);
      g_assert_null (strchr (w, '\n'));
    }
  g_assert_cmpuint (warnings->len, ==, 3);
  g_assert_cmpuint (report.n_warnings, ==, 3);
  g_assert_nonnull (strstr (g_ptr_array_index (warnings, 0), "sub-d.de.srt: 2 malformed entries skipped"));
  g_assert_nonnull (strstr (g_ptr_array_index (warnings, 0), "line 6"));
  g_assert_nonnull (strstr (g_ptr_array_index (warnings, 1), "sub-d.es.vtt"));
  g_assert_nonnull (strstr (g_ptr_array_index (warnings, 2), "sub-d.it.srt"));

  /* The English sidecar's 3 cues and the German file's 2 good ones. */
  g_assert_cmpuint (report.n_subtitle, ==, 5);
  for (guint i = 0; i < segments->len; i++)
    {
      VmTextSegment *s = g_ptr_array_index (segments, i);

      if (g_strcmp0 (s->language, "de") == 0)
        n_de++;
    }
  g_assert_cmpuint (n_de, ==, 2);

  g_unlink (partly);
  g_unlink (broken);
  g_unlink (binary);
}

/* The length of speech espeak-ng produces for @text, in seconds. */
static double
speech_length (const char *text)
{
  g_autofree char *wav = g_build_filename (tmp_dir, "len.wav", NULL);
  const char *argv[] = { "espeak-ng", "-v", "en-us", "-s", "150", "-w", wav, text, NULL };
  g_autofree char *contents = NULL;
  gsize len = 0;
  double seconds;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, NULL, NULL));
  g_assert_true (g_file_get_contents (wav, &contents, &len, NULL));
  /* 16-bit mono at 22050 Hz after a 44-byte header. */
  seconds = (len - 44) / 2.0 / 22050.0;
  g_unlink (wav);
  return seconds;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  gboolean with_speech;
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (vm_media_init (NULL));

  tmp_dir = g_dir_make_tmp ("vm-recall-XXXXXX", NULL);
  catalog = vm_catalog_open (":memory:", &error);
  g_assert_no_error (error);
  video_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  speech_ends = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  with_speech = vm_speech_engine_is_available () && g_find_program_in_path ("espeak-ng") != NULL;
  if (with_speech)
    {
      double f = speech_length (speech_f), g = speech_length (speech_g);

      g_hash_table_insert (speech_ends, g_strdup ("speech-f.mkv"), g_memdup2 (&f, sizeof f));
      g_hash_table_insert (speech_ends, g_strdup ("speech-g.mp4"), g_memdup2 (&g, sizeof g));
    }
  build_library (with_speech);

  g_test_add_func ("/text-recall/ocr-and-subtitles", test_recall_ocr_subtitles);
  g_test_add_func ("/text-recall/speech", test_recall_speech);
  g_test_add_func ("/text-recall/bad-sidecars", test_bad_sidecars);
  ret = g_test_run ();

  g_clear_object (&catalog);
  vm_test_remove_tree (tmp_dir);
  g_hash_table_unref (video_ids);
  g_hash_table_unref (speech_ends);
  g_free (tmp_dir);
  return ret;
}
