/* test-ocr-speech.c — the pieces of OCR (text distance, segment tracker,
 * Tesseract on frames, the frame budget) and of speech (the engine
 * interface, audio feeding, phrases, PocketSphinx).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "core/vm-core.h"
#include "media/vm-media.h"
#include "media/vm-ocr.h"
#include "media/vm-speech.h"

#include "../vm-test-util.h"

#define SEC(x) ((gint64) ((x) * 1e9))

static char *tmp_dir;

/* ---- OCR ---------------------------------------------------------------- */

static void
test_distance (void)
{
  g_assert_cmpfloat (vm_text_distance ("", ""), ==, 0.0);
  g_assert_cmpfloat (vm_text_distance ("abc", ""), ==, 1.0);
  g_assert_cmpfloat (vm_text_distance ("KETTLE", "kettle"), ==, 0.0);
  g_assert_cmpfloat (vm_text_distance ("kitten", "sitting"), ==, 3.0 / 7.0);
  g_assert_cmpfloat (vm_text_distance ("COPPER KETTLE", "COPPER KETT!"), <, 0.3);
  g_assert_cmpfloat (vm_text_distance ("café", "cafe"), ==, 0.25);
  g_assert_cmpfloat (vm_text_distance ("abc", "xyz"), ==, 1.0);
}

static GPtrArray *
lines_of (const char *first,
          ...)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_ocr_line_free);
  va_list args;

  va_start (args, first);
  for (const char *t = first; t != NULL; t = va_arg (args, const char *))
    {
      VmOcrLine *line = g_new0 (VmOcrLine, 1);

      line->text = g_strdup (t);
      line->confidence = g_str_has_suffix (t, "!") ? 0.7 : 0.9;
      line->appeared_ns = -1;
      g_ptr_array_add (lines, line);
    }
  va_end (args);
  return lines;
}

static void
test_tracker (void)
{
  g_autoptr(VmOcrTracker) tracker = vm_ocr_tracker_new (0.3);
  g_autoptr(GPtrArray) segments = NULL;
  GPtrArray *lines;
  VmOcrSegment *s;

  /* 0 s: nothing.  1 s: a title appears (seen at 1.5 s).  Unchanged frames
   * extend it; a misread at 3 s merges; at 4 s it is gone while a second
   * line stays; the second lasts to the end. */
  lines = lines_of (NULL, NULL);
  vm_ocr_tracker_add (tracker, 0, 0, lines);
  g_ptr_array_unref (lines);
  lines = lines_of ("COPPER KETTLE", "Channel 4", NULL);
  vm_ocr_tracker_add (tracker, SEC (1.0), SEC (1.5), lines);
  g_ptr_array_unref (lines);
  vm_ocr_tracker_extend (tracker, SEC (2.0));
  vm_ocr_tracker_extend (tracker, SEC (2.5));
  lines = lines_of ("C0PPER KETTLE!", "Channel 4", "Channel 4", NULL);
  vm_ocr_tracker_add (tracker, SEC (3.0), SEC (3.0), lines);
  g_ptr_array_unref (lines);
  lines = lines_of ("Channel 4", NULL);
  vm_ocr_tracker_add (tracker, SEC (4.0), SEC (4.5), lines);
  g_ptr_array_unref (lines);
  vm_ocr_tracker_extend (tracker, SEC (6.0));

  segments = vm_ocr_tracker_finish (tracker, SEC (6.5));
  g_assert_cmpuint (segments->len, ==, 2);
  s = g_ptr_array_index (segments, 0);
  /* Sorted by start, then text. */
  g_assert_cmpstr (s->text, ==, "COPPER KETTLE");   /* the surer reading */
  g_assert_cmpint (s->start_ns, ==, SEC (1.0));
  g_assert_cmpint (s->end_ns, ==, SEC (4.0));
  g_assert_cmpfloat_with_epsilon (s->confidence, 0.8, 1e-9);
  s = g_ptr_array_index (segments, 1);
  g_assert_cmpstr (s->text, ==, "Channel 4");
  g_assert_cmpint (s->start_ns, ==, SEC (1.0));
  g_assert_cmpint (s->end_ns, ==, SEC (6.5));

  /* The tracker is empty again. */
  g_clear_pointer (&segments, g_ptr_array_unref);
  segments = vm_ocr_tracker_finish (tracker, SEC (7.0));
  g_assert_cmpuint (segments->len, ==, 0);
}

static gboolean
region_same_cb (int      x,
                int      y,
                int      width,
                int      height,
                gpointer user_data)
{
  return *(gboolean *) user_data;
}

static void
test_tracker_regions (void)
{
  g_autoptr(VmOcrTracker) tracker = vm_ocr_tracker_new (0.3);
  g_autoptr(GPtrArray) segments = NULL;
  GPtrArray *lines;
  gboolean same;
  VmOcrSegment *s;

  /* Read at 1 s, known to have appeared at 0.5 s. */
  lines = lines_of ("TITLE ONE", "TITLE TWO", NULL);
  ((VmOcrLine *) g_ptr_array_index (lines, 0))->appeared_ns = SEC (0.5);
  vm_ocr_tracker_add (tracker, SEC (0.2), SEC (1.0), lines);
  g_ptr_array_unref (lines);

  /* The picture moves but the text regions stay; then they change at 2 s. */
  same = TRUE;
  vm_ocr_tracker_check_regions (tracker, SEC (1.5), region_same_cb, &same);
  same = FALSE;
  vm_ocr_tracker_check_regions (tracker, SEC (2.0), region_same_cb, &same);
  same = TRUE;
  vm_ocr_tracker_check_regions (tracker, SEC (2.5), region_same_cb, &same);

  /* At 3 s only the second title is read again: it goes on, the first
   * ended where its region changed. */
  lines = lines_of ("TITLE TWO", NULL);
  vm_ocr_tracker_add (tracker, SEC (1.5), SEC (3.0), lines);
  g_ptr_array_unref (lines);

  segments = vm_ocr_tracker_finish (tracker, SEC (4.0));
  g_assert_cmpuint (segments->len, ==, 2);
  /* By start. */
  s = g_ptr_array_index (segments, 0);
  g_assert_cmpstr (s->text, ==, "TITLE TWO");
  g_assert_cmpint (s->start_ns, ==, SEC (0.2));
  g_assert_cmpint (s->end_ns, ==, SEC (4.0));
  s = g_ptr_array_index (segments, 1);
  g_assert_cmpstr (s->text, ==, "TITLE ONE");
  g_assert_cmpint (s->start_ns, ==, SEC (0.5));
  g_assert_cmpint (s->end_ns, ==, SEC (2.0));
}

static void
test_ocr_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmOcr) ocr = NULL;
  guint8 blank[64 * 48 * 3];

  ocr = vm_ocr_new ("zzz_no_such_language", &error);
  g_assert_null (ocr);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  ocr = vm_ocr_new ("eng; rm -rf", &error);
  g_assert_null (ocr);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED);
  g_clear_error (&error);

  ocr = vm_ocr_new (NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ocr);

  /* Too small, and a blank frame with no text. */
  g_assert_null (vm_ocr_recognize (ocr, blank, 4, 4, 12, 0.5, &error));
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED);
  g_clear_error (&error);

  memset (blank, 0x80, sizeof blank);
  {
    g_autoptr(GPtrArray) lines = vm_ocr_recognize (ocr, blank, 64, 48, 64 * 3, 0.5, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (lines->len, ==, 0);
  }
}

static const VmTimedText overlay[] = {
  { 1.0, 4.0, "SILENT HARBOUR" },
  { 5.0, 8.0, "Quiet Meadow" },
};

static void
test_ocr_video (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, "ocr.mp4", NULL);
  g_autoptr(GPtrArray) segments = NULL;
  VmOcrOptions options;
  VmOcrStats stats;
  VmClipSpec spec;

  vm_clip_spec_init (&spec);
  spec.width = 320;
  spec.height = 240;
  spec.fps_num = 10;
  spec.duration = 9.0;
  spec.pattern = 23;
  spec.overlay = overlay;
  spec.n_overlay = G_N_ELEMENTS (overlay);
  g_assert_true (vm_media_generate_clip (&spec, path, NULL, &error));
  g_assert_no_error (error);

  vm_ocr_options_init (&options);
  g_assert_cmpfloat (options.max_ocr_rate, ==, 0.5);
  g_assert_cmpstr (options.languages, ==, "eng");
  options.short_side = 480;
  segments = vm_ocr_extract (path, &options, NULL, &stats, &error);
  g_assert_no_error (error);
  g_test_message ("sampled %u, changed %u, OCR'd %u in %.2f s", stats.n_sampled, stats.n_changed,
                  stats.n_ocr, stats.ocr_seconds);

  g_assert_cmpuint (segments->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      VmOcrSegment *s = g_ptr_array_index (segments, i);

      g_test_message ("%.2f–%.2f %.2f %s", s->start_ns / 1e9, s->end_ns / 1e9, s->confidence, s->text);
      g_assert_cmpfloat (vm_text_distance (s->text, overlay[i].text), <=, 0.2);
      g_assert_cmpfloat (ABS (s->start_ns / 1e9 - overlay[i].start), <=, 0.3);
      g_assert_cmpfloat (ABS (s->end_ns / 1e9 - overlay[i].end), <=, 0.3);
      g_assert_cmpfloat (s->confidence, >, 0.6);
    }

  /* The budget: at most max_ocr_rate × duration + the burst. */
  g_assert_cmpuint (stats.n_sampled, >=, 17);
  g_assert_cmpuint (stats.n_ocr, <=, (guint) (0.5 * 9.0) + 2);
  g_assert_cmpuint (stats.n_ocr, <, stats.n_sampled);

  /* A tighter budget OCRs fewer frames. */
  {
    g_autoptr(GPtrArray) fewer = NULL;
    VmOcrStats s2;

    options.max_ocr_rate = 0.2;
    fewer = vm_ocr_extract (path, &options, NULL, &s2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (s2.n_ocr, <=, (guint) (0.2 * 9.0) + 2);
  }

  /* Bad options and a missing file fail cleanly. */
  options.max_ocr_rate = 0;
  g_assert_null (vm_ocr_extract (path, &options, NULL, NULL, &error));
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED);
  g_clear_error (&error);
  vm_ocr_options_init (&options);
  g_assert_null (vm_ocr_extract ("/nonexistent.mp4", &options, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Cancelled. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    g_cancellable_cancel (cancellable);
    g_assert_null (vm_ocr_extract (path, &options, cancellable, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
}

/* ---- Speech ------------------------------------------------------------- */

static VmSpeechWord *
word (double      start,
      double      end,
      const char *text,
      double      confidence)
{
  VmSpeechWord *w = g_new0 (VmSpeechWord, 1);

  w->start_ns = SEC (start);
  w->end_ns = SEC (end);
  w->word = g_strdup (text);
  w->confidence = confidence;
  return w;
}

static void
test_phrases (void)
{
  g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_speech_word_free);
  g_autoptr(GPtrArray) phrases = NULL;
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  VmSpeechPhrase *p;

  g_ptr_array_add (words, word (0.1, 0.4, "hello", 0.8));
  g_ptr_array_add (words, word (0.5, 0.9, "there", 0.6));
  g_ptr_array_add (words, word (2.0, 2.3, "general", 1.0));     /* after a pause */
  g_ptr_array_add (words, word (2.4, 2.8, "kenobi", 0.5));
  g_ptr_array_add (words, word (2.9, 3.5, "again", 0.5));       /* past the length limit */

  phrases = vm_speech_group_phrases (words, SEC (0.8), SEC (1.2));
  g_assert_cmpuint (phrases->len, ==, 3);
  p = g_ptr_array_index (phrases, 0);
  g_assert_cmpstr (p->text, ==, "hello there");
  g_assert_cmpint (p->start_ns, ==, SEC (0.1));
  g_assert_cmpint (p->end_ns, ==, SEC (0.9));
  g_assert_cmpfloat_with_epsilon (p->confidence, 0.7, 1e-9);
  p = g_ptr_array_index (phrases, 1);
  g_assert_cmpstr (p->text, ==, "general kenobi");
  p = g_ptr_array_index (phrases, 2);
  g_assert_cmpstr (p->text, ==, "again");

  g_clear_pointer (&phrases, g_ptr_array_unref);
  phrases = vm_speech_group_phrases (none, SEC (1), SEC (1));
  g_assert_cmpuint (phrases->len, ==, 0);
}

/* A fake engine: counts the samples it is given and says one word per
 * second of audio. */
#define VM_TYPE_COUNTING_ENGINE (vm_counting_engine_get_type ())
G_DECLARE_FINAL_TYPE (VmCountingEngine, vm_counting_engine, VM, COUNTING_ENGINE, GObject)

struct _VmCountingEngine
{
  GObject parent_instance;
  guint64 n_samples;
  guint   n_starts;
  gboolean fail;
};

static guint
counting_rate (VmSpeechEngine *engine)
{
  return 8000;
}

static gboolean
counting_start (VmSpeechEngine  *engine,
                GError         **error)
{
  VmCountingEngine *self = VM_COUNTING_ENGINE (engine);

  self->n_samples = 0;
  self->n_starts++;
  return TRUE;
}

static gboolean
counting_process (VmSpeechEngine  *engine,
                  const gint16    *samples,
                  gsize            n,
                  GError         **error)
{
  VmCountingEngine *self = VM_COUNTING_ENGINE (engine);

  if (self->fail)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, "the fake engine failed");
      return FALSE;
    }
  self->n_samples += n;
  return TRUE;
}

static GPtrArray *
counting_finish (VmSpeechEngine  *engine,
                 GError         **error)
{
  VmCountingEngine *self = VM_COUNTING_ENGINE (engine);
  GPtrArray *words = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_speech_word_free);

  for (guint64 s = 0; s + 8000 <= self->n_samples; s += 8000)
    g_ptr_array_add (words, word (s / 8000.0, s / 8000.0 + 0.5, "tick", 1.0));
  return words;
}

static void
vm_counting_engine_iface_init (VmSpeechEngineInterface *iface)
{
  iface->get_sample_rate = counting_rate;
  iface->start = counting_start;
  iface->process = counting_process;
  iface->finish = counting_finish;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (VmCountingEngine, vm_counting_engine, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (VM_TYPE_SPEECH_ENGINE, vm_counting_engine_iface_init))

static void
vm_counting_engine_class_init (VmCountingEngineClass *klass)
{
}

static void
vm_counting_engine_init (VmCountingEngine *self)
{
}

static char *speech_clip;

static void
test_engine_interface (void)
{
  g_autoptr(VmCountingEngine) engine = g_object_new (VM_TYPE_COUNTING_ENGINE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) words = NULL;
  g_autofree char *silent = g_build_filename (tmp_dir, "silent.mp4", NULL);
  gint64 audio_ns = 0;
  VmClipSpec spec;

  /* The audio of the clip reaches the engine at its rate, mono. */
  words = vm_speech_transcribe (VM_SPEECH_ENGINE (engine), speech_clip, 10000, NULL, &audio_ns, &error);
  g_assert_no_error (error);
  g_test_message ("audio %.2f s, %" G_GUINT64_FORMAT " samples", audio_ns / 1e9, engine->n_samples);
  g_assert_cmpint (audio_ns, >, SEC (1.0));
  g_assert_cmpint (audio_ns, <, SEC (6.5));
  g_assert_cmpuint (words->len, ==, engine->n_samples / 8000);

  /* Used again: a new stream. */
  g_clear_pointer (&words, g_ptr_array_unref);
  words = vm_speech_transcribe (VM_SPEECH_ENGINE (engine), speech_clip, 10000, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (engine->n_starts, ==, 2);

  /* No audio: no words, no error. */
  vm_clip_spec_init (&spec);
  spec.width = 160;
  spec.height = 120;
  spec.duration = 1.0;
  g_assert_true (vm_media_generate_clip (&spec, silent, NULL, &error));
  g_clear_pointer (&words, g_ptr_array_unref);
  words = vm_speech_transcribe (VM_SPEECH_ENGINE (engine), silent, 10000, NULL, &audio_ns, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (words->len, ==, 0);
  g_assert_cmpint (audio_ns, ==, 0);

  /* The engine's error comes back. */
  engine->fail = TRUE;
  g_clear_pointer (&words, g_ptr_array_unref);
  words = vm_speech_transcribe (VM_SPEECH_ENGINE (engine), speech_clip, 10000, NULL, NULL, &error);
  g_assert_null (words);
  g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED);
  g_clear_error (&error);
  engine->fail = FALSE;

  /* Not media, missing file. */
  {
    g_autofree char *junk = g_build_filename (tmp_dir, "junk.mkv", NULL);

    g_assert_true (g_file_set_contents (junk, "not a video", -1, NULL));
    words = vm_speech_transcribe (VM_SPEECH_ENGINE (engine), junk, 10000, NULL, NULL, &error);
    g_assert_null (words);
    g_assert_nonnull (error);
    g_test_message ("%s", error->message);
    g_clear_error (&error);
    words = vm_speech_transcribe (VM_SPEECH_ENGINE (engine), "/nonexistent.mkv", 10000, NULL, NULL, &error);
    g_assert_null (words);
    g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND);
  }
}

static void
test_pocketsphinx (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmSpeechEngine) engine = NULL;
  g_autoptr(GPtrArray) words = NULL;
  gint64 audio_ns = 0;
  gint64 last = -1;

  if (!vm_speech_engine_is_available ())
    {
      engine = vm_speech_engine_new_default (&error);
      g_assert_null (engine);
      g_assert_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN);
      g_test_skip (error->message);
      return;
    }

  engine = vm_speech_engine_new_default (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (vm_speech_engine_get_sample_rate (engine), ==, 16000);

  words = vm_speech_transcribe (engine, speech_clip, 30000, NULL, &audio_ns, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (words->len, >, 0);
  for (guint i = 0; i < words->len; i++)
    {
      VmSpeechWord *w = g_ptr_array_index (words, i);

      g_test_message ("%.2f–%.2f %.2f %s", w->start_ns / 1e9, w->end_ns / 1e9, w->confidence, w->word);
      g_assert_cmpint (w->start_ns, >=, last);
      g_assert_cmpint (w->end_ns, >, w->start_ns);
      g_assert_cmpint (w->end_ns, <=, audio_ns + SEC (0.1));
      g_assert_cmpfloat (w->confidence, >=, 0.0);
      g_assert_cmpfloat (w->confidence, <=, 1.0);
      g_assert_nonnull (w->word);
      g_assert_null (strchr (w->word, '('));
      g_assert_true (w->word[0] != '<' && w->word[0] != '[');
      last = w->start_ns;
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (vm_media_init (NULL));
  tmp_dir = g_dir_make_tmp ("vm-ocr-speech-XXXXXX", NULL);

  speech_clip = g_build_filename (tmp_dir, "speech.mkv", NULL);
  {
    VmClipSpec spec;

    vm_clip_spec_init (&spec);
    spec.format = VM_CLIP_MKV_H264;
    spec.width = 160;
    spec.height = 120;
    spec.duration = 4.0;
    spec.speech = "Seven green apples fell from the old tree.";
    g_assert_true (vm_media_generate_clip (&spec, speech_clip, NULL, &error));
    g_assert_no_error (error);
  }

  g_test_add_func ("/ocr/distance", test_distance);
  g_test_add_func ("/ocr/tracker", test_tracker);
  g_test_add_func ("/ocr/tracker-regions", test_tracker_regions);
  g_test_add_func ("/ocr/errors", test_ocr_errors);
  g_test_add_func ("/ocr/video", test_ocr_video);
  g_test_add_func ("/speech/phrases", test_phrases);
  g_test_add_func ("/speech/engine-interface", test_engine_interface);
  g_test_add_func ("/speech/pocketsphinx", test_pocketsphinx);

  ret = g_test_run ();

  vm_test_remove_tree (tmp_dir);
  g_free (speech_clip);
  g_free (tmp_dir);
  return ret;
}
