/* vm-speech.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-speech.h"

#include <glib/gi18n.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <string.h>

#include "core/vm-util.h"
#include "media/vm-media.h"
#include "media/vm-media-private.h"

#ifdef VM_HAVE_POCKETSPHINX
#include <pocketsphinx.h>
#endif

void
vm_speech_word_free (VmSpeechWord *word)
{
  if (word == NULL)
    return;
  g_free (word->word);
  g_free (word);
}

void
vm_speech_phrase_free (VmSpeechPhrase *phrase)
{
  if (phrase == NULL)
    return;
  g_free (phrase->text);
  g_free (phrase);
}

/* ---- The interface ------------------------------------------------------ */

G_DEFINE_INTERFACE (VmSpeechEngine, vm_speech_engine, G_TYPE_OBJECT)

static void
vm_speech_engine_default_init (VmSpeechEngineInterface *iface)
{
}

guint
vm_speech_engine_get_sample_rate (VmSpeechEngine *self)
{
  g_return_val_if_fail (VM_IS_SPEECH_ENGINE (self), 16000);
  return VM_SPEECH_ENGINE_GET_IFACE (self)->get_sample_rate (self);
}

gboolean
vm_speech_engine_start (VmSpeechEngine  *self,
                        GError         **error)
{
  g_return_val_if_fail (VM_IS_SPEECH_ENGINE (self), FALSE);
  return VM_SPEECH_ENGINE_GET_IFACE (self)->start (self, error);
}

gboolean
vm_speech_engine_process (VmSpeechEngine  *self,
                          const gint16    *samples,
                          gsize            n_samples,
                          GError         **error)
{
  g_return_val_if_fail (VM_IS_SPEECH_ENGINE (self), FALSE);
  return VM_SPEECH_ENGINE_GET_IFACE (self)->process (self, samples, n_samples, error);
}

GPtrArray *
vm_speech_engine_finish (VmSpeechEngine  *self,
                         GError         **error)
{
  g_return_val_if_fail (VM_IS_SPEECH_ENGINE (self), NULL);
  return VM_SPEECH_ENGINE_GET_IFACE (self)->finish (self, error);
}

/* ---- PocketSphinx ------------------------------------------------------- */

#ifdef VM_HAVE_POCKETSPHINX

#define PS_MODEL_DIR VM_POCKETSPHINX_MODELDIR "/en-us"

#define VM_TYPE_POCKETSPHINX_ENGINE (vm_pocketsphinx_engine_get_type ())
G_DECLARE_FINAL_TYPE (VmPocketsphinxEngine, vm_pocketsphinx_engine, VM, POCKETSPHINX_ENGINE, GObject)

struct _VmPocketsphinxEngine
{
  GObject       parent_instance;
  ps_decoder_t *ps;
  int           frame_rate;
  gboolean      in_utterance;   /* ps_start_utt() called */
  gboolean      in_speech;      /* the voice detector heard speech */
  GPtrArray    *words;
};

static void vm_pocketsphinx_engine_iface_init (VmSpeechEngineInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (VmPocketsphinxEngine, vm_pocketsphinx_engine, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (VM_TYPE_SPEECH_ENGINE,
                                                      vm_pocketsphinx_engine_iface_init))

static void
vm_pocketsphinx_engine_finalize (GObject *object)
{
  VmPocketsphinxEngine *self = VM_POCKETSPHINX_ENGINE (object);

  if (self->ps != NULL)
    ps_free (self->ps);
  g_clear_pointer (&self->words, g_ptr_array_unref);
  G_OBJECT_CLASS (vm_pocketsphinx_engine_parent_class)->finalize (object);
}

static void
vm_pocketsphinx_engine_class_init (VmPocketsphinxEngineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vm_pocketsphinx_engine_finalize;
}

static void
vm_pocketsphinx_engine_init (VmPocketsphinxEngine *self)
{
  self->words = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_speech_word_free);
}

static guint
ps_get_sample_rate (VmSpeechEngine *engine)
{
  return 16000;
}

/* Collects the words of the utterance just ended. */
static void
collect_words (VmPocketsphinxEngine *self)
{
  logmath_t *lmath = ps_get_logmath (self->ps);

  for (ps_seg_t *seg = ps_seg_iter (self->ps); seg != NULL; seg = ps_seg_next (seg))
    {
      const char *word = ps_seg_word (seg);
      g_autofree char *clean = NULL;
      VmSpeechWord *w;
      char *paren;
      int sf = 0, ef = 0;
      int32 prob;

      if (word == NULL || word[0] == '<' || word[0] == '[' || word[0] == '+')
        continue;
      clean = g_strdup (word);
      /* "read(2)": an alternative pronunciation. */
      paren = strchr (clean, '(');
      if (paren != NULL && paren != clean)
        *paren = '\0';

      ps_seg_frames (seg, &sf, &ef);
      prob = ps_seg_prob (seg, NULL, NULL, NULL);

      w = g_new0 (VmSpeechWord, 1);
      w->word = g_steal_pointer (&clean);
      w->start_ns = (gint64) sf * VM_NSEC_PER_SEC / self->frame_rate;
      w->end_ns = (gint64) (ef + 1) * VM_NSEC_PER_SEC / self->frame_rate;
      w->confidence = CLAMP (logmath_exp (lmath, prob), 0.0, 1.0);
      g_ptr_array_add (self->words, w);
    }
}

static gboolean
ps_start (VmSpeechEngine  *engine,
          GError         **error)
{
  VmPocketsphinxEngine *self = VM_POCKETSPHINX_ENGINE (engine);

  if (self->in_utterance)
    ps_end_utt (self->ps);
  g_ptr_array_set_size (self->words, 0);
  if (ps_start_stream (self->ps) < 0 || ps_start_utt (self->ps) < 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, _("PocketSphinx could not start"));
      return FALSE;
    }
  self->in_utterance = TRUE;
  self->in_speech = FALSE;
  return TRUE;
}

static gboolean
ps_process (VmSpeechEngine  *engine,
            const gint16    *samples,
            gsize            n_samples,
            GError         **error)
{
  VmPocketsphinxEngine *self = VM_POCKETSPHINX_ENGINE (engine);
  gboolean speech;

  if (!self->in_utterance)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, _("The speech engine was not started"));
      return FALSE;
    }
  if (ps_process_raw (self->ps, samples, n_samples, FALSE, FALSE) < 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, _("PocketSphinx failed on the audio"));
      return FALSE;
    }

  /* End the utterance when the voice detector hears silence again. */
  speech = ps_get_in_speech (self->ps) != 0;
  if (speech)
    self->in_speech = TRUE;
  else if (self->in_speech)
    {
      ps_end_utt (self->ps);
      collect_words (self);
      self->in_speech = FALSE;
      if (ps_start_utt (self->ps) < 0)
        {
          self->in_utterance = FALSE;
          g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, _("PocketSphinx could not go on"));
          return FALSE;
        }
    }
  return TRUE;
}

static GPtrArray *
ps_finish (VmSpeechEngine  *engine,
           GError         **error)
{
  VmPocketsphinxEngine *self = VM_POCKETSPHINX_ENGINE (engine);
  GPtrArray *result;

  if (self->in_utterance)
    {
      ps_end_utt (self->ps);
      collect_words (self);
      self->in_utterance = FALSE;
    }
  result = g_steal_pointer (&self->words);
  self->words = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_speech_word_free);
  return result;
}

static void
vm_pocketsphinx_engine_iface_init (VmSpeechEngineInterface *iface)
{
  iface->get_sample_rate = ps_get_sample_rate;
  iface->start = ps_start;
  iface->process = ps_process;
  iface->finish = ps_finish;
}

gboolean
vm_speech_engine_is_available (void)
{
  return g_file_test (PS_MODEL_DIR "/en-us/mdef", G_FILE_TEST_EXISTS) &&
         g_file_test (PS_MODEL_DIR "/en-us.lm.bin", G_FILE_TEST_EXISTS) &&
         g_file_test (PS_MODEL_DIR "/cmudict-en-us.dict", G_FILE_TEST_EXISTS);
}

VmSpeechEngine *
vm_speech_engine_new_default (GError **error)
{
  g_autoptr(VmPocketsphinxEngine) self = NULL;
  cmd_ln_t *config;

  if (!vm_speech_engine_is_available ())
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("Speech recognition is not available: the PocketSphinx model is not installed (pocketsphinx-en-us)"));
      return NULL;
    }

  config = cmd_ln_init (NULL, ps_args (), TRUE,
                        "-hmm", PS_MODEL_DIR "/en-us",
                        "-lm", PS_MODEL_DIR "/en-us.lm.bin",
                        "-dict", PS_MODEL_DIR "/cmudict-en-us.dict",
                        "-logfn", "/dev/null",
                        NULL);
  if (config == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("Speech recognition is not available: PocketSphinx rejected its configuration"));
      return NULL;
    }

  self = g_object_new (VM_TYPE_POCKETSPHINX_ENGINE, NULL);
  self->ps = ps_init (config);
  self->frame_rate = cmd_ln_int32_r (config, "-frate");
  cmd_ln_free_r (config);
  if (self->ps == NULL)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("Speech recognition is not available: PocketSphinx could not load its model"));
      return NULL;
    }
  if (self->frame_rate <= 0)
    self->frame_rate = 100;

  return VM_SPEECH_ENGINE (g_steal_pointer (&self));
}

#else /* !VM_HAVE_POCKETSPHINX */

gboolean
vm_speech_engine_is_available (void)
{
  return FALSE;
}

VmSpeechEngine *
vm_speech_engine_new_default (GError **error)
{
  g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
               _("Speech recognition is not available: Vidmark was built without PocketSphinx"));
  return NULL;
}

#endif

/* ---- Feeding a file's audio --------------------------------------------- */

typedef struct {
  VmSpeechEngine *engine;
  GstElement     *pipeline;
  GMutex          lock;
  GError         *error;          /* first engine error */
  gboolean        have_audio;
  gint64          n_samples;
  gint64          last_progress;
} Feed;

static void
feed_progress (Feed *self)
{
  g_mutex_lock (&self->lock);
  self->last_progress = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);
}

static GstPadProbeReturn
feed_probe_cb (GstPad          *pad,
               GstPadProbeInfo *info,
               gpointer         user_data)
{
  feed_progress (user_data);
  return GST_PAD_PROBE_OK;
}

static GstFlowReturn
feed_sample_cb (GstAppSink *sink,
                gpointer    user_data)
{
  Feed *self = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buffer;
  GstMapInfo map;
  GstFlowReturn ret = GST_FLOW_OK;

  if (sample == NULL || (buffer = gst_sample_get_buffer (sample)) == NULL)
    return GST_FLOW_OK;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_OK;

  {
    g_autoptr(GError) local_error = NULL;

    if (!vm_speech_engine_process (self->engine, (const gint16 *) (gpointer) map.data,
                                   map.size / 2, &local_error))
      {
        g_mutex_lock (&self->lock);
        if (self->error == NULL)
          self->error = g_steal_pointer (&local_error);
        g_mutex_unlock (&self->lock);
        ret = GST_FLOW_ERROR;
      }
  }
  g_mutex_lock (&self->lock);
  self->n_samples += map.size / 2;
  g_mutex_unlock (&self->lock);
  gst_buffer_unmap (buffer, &map);
  feed_progress (self);
  return ret;
}

static void
decoded_pad_added_cb (GstElement *decodebin,
                      GstPad     *pad,
                      gpointer    user_data)
{
  GstElement *convert = user_data;
  g_autoptr(GstPad) sinkpad = gst_element_get_static_pad (convert, "sink");
  g_autoptr(GstCaps) caps = gst_pad_query_caps (pad, NULL);

  if (gst_pad_is_linked (sinkpad) || caps == NULL || gst_caps_get_size (caps) == 0 ||
      !g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)), "audio/"))
    return;
  gst_pad_link (pad, sinkpad);
}

static void
parsed_pad_added_cb (GstElement *parsebin,
                     GstPad     *pad,
                     gpointer    user_data)
{
  Feed *self = user_data;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  gboolean audio;
  GstPad *sinkpad;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  audio = caps != NULL && gst_caps_get_size (caps) > 0 &&
          g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)), "audio/");

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, feed_probe_cb, self, NULL);

  if (audio && !self->have_audio)
    {
      GstElement *decode = gst_element_factory_make ("decodebin", NULL);
      GstElement *convert = gst_element_factory_make ("audioconvert", NULL);
      GstElement *resample = gst_element_factory_make ("audioresample", NULL);
      GstElement *sink = gst_element_factory_make ("appsink", NULL);
      g_autoptr(GstCaps) want = gst_caps_new_simple ("audio/x-raw",
                                                     "format", G_TYPE_STRING, "S16LE",
                                                     "layout", G_TYPE_STRING, "interleaved",
                                                     "channels", G_TYPE_INT, 1,
                                                     "rate", G_TYPE_INT,
                                                     (int) vm_speech_engine_get_sample_rate (self->engine),
                                                     NULL);
      GstAppSinkCallbacks callbacks = { .new_sample = feed_sample_cb };

      if (decode == NULL || convert == NULL || resample == NULL || sink == NULL)
        {
          g_clear_object (&decode);
          g_clear_object (&convert);
          g_clear_object (&resample);
          g_clear_object (&sink);
          goto fake;
        }
      self->have_audio = TRUE;
      g_object_set (sink, "sync", FALSE, "async", FALSE, "caps", want, NULL);
      gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, self, NULL);
      gst_bin_add_many (GST_BIN (self->pipeline), decode, convert, resample, sink, NULL);
      gst_element_link_many (convert, resample, sink, NULL);
      g_signal_connect (decode, "pad-added", G_CALLBACK (decoded_pad_added_cb), convert);
      sinkpad = gst_element_get_static_pad (decode, "sink");
      gst_pad_link (pad, sinkpad);
      gst_object_unref (sinkpad);
      gst_element_sync_state_with_parent (sink);
      gst_element_sync_state_with_parent (resample);
      gst_element_sync_state_with_parent (convert);
      gst_element_sync_state_with_parent (decode);
      return;
    }

fake:
  {
    GstElement *fake = gst_element_factory_make ("fakesink", NULL);

    g_object_set (fake, "sync", FALSE, "async", FALSE, NULL);
    gst_bin_add (GST_BIN (self->pipeline), fake);
    sinkpad = gst_element_get_static_pad (fake, "sink");
    gst_pad_link (pad, sinkpad);
    gst_object_unref (sinkpad);
    gst_element_sync_state_with_parent (fake);
  }
}

GPtrArray *
vm_speech_transcribe (VmSpeechEngine  *engine,
                      const char      *path,
                      guint            watchdog_ms,
                      GCancellable    *cancellable,
                      gint64          *out_audio_ns,
                      GError         **error)
{
  g_autofree char *display = NULL;
  GstElement *src, *parsebin;
  GPtrArray *words = NULL;
  Feed self = { 0 };
  gboolean ok = TRUE;

  g_return_val_if_fail (VM_IS_SPEECH_ENGINE (engine), NULL);

  if (!vm_media_init (error))
    return NULL;
  display = g_filename_display_basename (path);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_FOUND, _("%s: no such file"), display);
      return NULL;
    }
  if (watchdog_ms == 0)
    watchdog_ms = 30000;
  if (!vm_speech_engine_start (engine, error))
    return NULL;

  src = gst_element_factory_make ("filesrc", NULL);
  parsebin = gst_element_factory_make ("parsebin", NULL);
  if (src == NULL || parsebin == NULL)
    {
      g_clear_object (&src);
      g_clear_object (&parsebin);
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("GStreamer’s filesrc or parsebin is missing"));
      return NULL;
    }

  g_mutex_init (&self.lock);
  self.engine = engine;
  self.pipeline = gst_pipeline_new ("vm-speech");
  self.last_progress = g_get_monotonic_time ();
  g_object_set (src, "location", path, NULL);
  gst_bin_add_many (GST_BIN (self.pipeline), src, parsebin, NULL);
  gst_element_link (src, parsebin);
  g_signal_connect (parsebin, "pad-added", G_CALLBACK (parsed_pad_added_cb), &self);

  if (gst_element_set_state (self.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_NOT_MEDIA, _("%s: cannot be read"), display);
      ok = FALSE;
    }

  if (ok)
    ok = _vm_media_run_pipeline (self.pipeline, display, &self.lock, &self.last_progress,
                                 &self.error, watchdog_ms,
                                 _("%s: the audio cannot be decoded: %s"),
                                 _("%s: reading the audio stopped progressing"),
                                 cancellable, error);

  gst_element_set_state (self.pipeline, GST_STATE_NULL);
  gst_object_unref (self.pipeline);

  /* Always end the engine's stream, so that it can be used again. */
  words = vm_speech_engine_finish (engine, ok ? error : NULL);
  if (!ok || words == NULL)
    g_clear_pointer (&words, g_ptr_array_unref);
  else if (out_audio_ns != NULL)
    *out_audio_ns = self.n_samples * VM_NSEC_PER_SEC / vm_speech_engine_get_sample_rate (engine);

  g_clear_error (&self.error);
  g_mutex_clear (&self.lock);
  return words;
}

/* ---- Phrases ------------------------------------------------------------ */

GPtrArray *
vm_speech_group_phrases (GPtrArray *words,
                         gint64     max_gap_ns,
                         gint64     max_length_ns)
{
  GPtrArray *phrases = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_speech_phrase_free);
  g_autoptr(GString) text = g_string_new (NULL);
  gint64 start = 0, end = 0;
  double confidence = 0;
  guint n = 0;

  for (guint i = 0; i <= words->len; i++)
    {
      VmSpeechWord *w = i < words->len ? g_ptr_array_index (words, i) : NULL;

      if (n > 0 && (w == NULL || w->start_ns - end > max_gap_ns || w->end_ns - start > max_length_ns))
        {
          VmSpeechPhrase *p = g_new0 (VmSpeechPhrase, 1);

          p->start_ns = start;
          p->end_ns = end;
          p->text = g_strdup (text->str);
          p->confidence = confidence / n;
          g_ptr_array_add (phrases, p);
          g_string_truncate (text, 0);
          n = 0;
          confidence = 0;
        }
      if (w == NULL)
        break;
      if (n == 0)
        start = w->start_ns;
      else
        g_string_append_c (text, ' ');
      g_string_append (text, w->word);
      end = MAX (end, w->end_ns);
      if (n == 0)
        end = w->end_ns;
      confidence += w->confidence;
      n++;
    }

  return phrases;
}
