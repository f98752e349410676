/* vm-speech.h — speech to text with word times, behind an interface that a
 * better engine can implement.  The engine built in is PocketSphinx with its
 * US English model (Debian: libpocketsphinx-dev, pocketsphinx-en-us) when the
 * build found it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  gint64  start_ns;
  gint64  end_ns;
  char   *word;
  double  confidence;     /* 0..1 */
} VmSpeechWord;

void vm_speech_word_free (VmSpeechWord *word);

/* A phrase: words close together in time. */
typedef struct {
  gint64  start_ns;
  gint64  end_ns;
  char   *text;
  double  confidence;     /* mean of its words */
} VmSpeechPhrase;

void vm_speech_phrase_free (VmSpeechPhrase *phrase);

#define VM_TYPE_SPEECH_ENGINE (vm_speech_engine_get_type ())
G_DECLARE_INTERFACE (VmSpeechEngine, vm_speech_engine, VM, SPEECH_ENGINE, GObject)

struct _VmSpeechEngineInterface
{
  GTypeInterface parent_iface;

  /* Mono signed 16-bit samples at this rate are what process() takes. */
  guint       (*get_sample_rate) (VmSpeechEngine  *self);
  /* Starts a new stream: times restart at 0. */
  gboolean    (*start)           (VmSpeechEngine  *self,
                                  GError         **error);
  gboolean    (*process)         (VmSpeechEngine  *self,
                                  const gint16    *samples,
                                  gsize            n_samples,
                                  GError         **error);
  /* Ends the stream; returns the words (VmSpeechWord*) by time. */
  GPtrArray  *(*finish)          (VmSpeechEngine  *self,
                                  GError         **error);
};

guint       vm_speech_engine_get_sample_rate (VmSpeechEngine  *self);
gboolean    vm_speech_engine_start           (VmSpeechEngine  *self,
                                              GError         **error);
gboolean    vm_speech_engine_process         (VmSpeechEngine  *self,
                                              const gint16    *samples,
                                              gsize            n_samples,
                                              GError         **error);
GPtrArray  *vm_speech_engine_finish          (VmSpeechEngine  *self,
                                              GError         **error);

/* The built-in engine (PocketSphinx, US English).  FALSE when it was not
 * built in or its model is not installed. */
gboolean        vm_speech_engine_is_available (void);
/* NULL with VM_MEDIA_ERROR_MISSING_PLUGIN ("speech recognition is not
 * available: …") when vm_speech_engine_is_available() is FALSE. */
VmSpeechEngine *vm_speech_engine_new_default  (GError **error);

/* Decodes the audio of @path with GStreamer (no video decoding), feeds it
 * to @engine and returns its words (VmSpeechWord*).  A file without audio
 * gives an empty array.  @out_audio_ns (optional) receives the length of
 * the audio fed. */
GPtrArray  *vm_speech_transcribe     (VmSpeechEngine  *engine,
                                      const char      *path,
                                      guint            watchdog_ms,
                                      GCancellable    *cancellable,
                                      gint64          *out_audio_ns,
                                      GError         **error);

/* Groups words into phrases: a gap longer than @max_gap_ns or a phrase
 * longer than @max_length_ns starts a new one.  Element type VmSpeechPhrase*. */
GPtrArray  *vm_speech_group_phrases  (GPtrArray       *words,
                                      gint64           max_gap_ns,
                                      gint64           max_length_ns);

G_END_DECLS
