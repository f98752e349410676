/* bench-text.c — the cost of timed text extraction per hour of video:
 * OCR (default budget and sizes) and speech (PocketSphinx), on a generated
 * clip with moving video, changing on-screen text and continuous speech.
 *
 *   meson test -C build --benchmark --suite text-bench -v
 *   build/tests/text/bench-text [SECONDS [HEIGHT]]   (default 60 s at 360 lines, 16:9)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "core/vm-core.h"
#include "media/vm-media.h"
#include "media/vm-ocr.h"
#include "media/vm-speech.h"
#include "media/vm-subtitles.h"

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static const char paragraph[] =
  "Welcome to the evening news. Tonight we look at the weather, the markets and sport. "
  "A cold front moves in from the west, bringing rain to most regions by Thursday. "
  "In the city, the new library opened its doors to hundreds of visitors. "
  "The football club won its third match in a row after a late goal. "
  "Shares rose slightly as investors waited for the central bank decision. "
  "Farmers say the harvest will be early this year because of the warm spring. "
  "A local bakery celebrated fifty years with free bread for everyone. "
  "Scientists found a new species of frog in the mountain forests. "
  "Traffic was slow on the northern bridge because of repairs. "
  "That is all for tonight. Thank you for watching and good night.";

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vm-bench-text-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bench.mkv", NULL);
  double duration = argc > 1 ? g_ascii_strtod (argv[1], NULL) : 60.0;
  guint height = argc > 2 ? (guint) g_ascii_strtoull (argv[2], NULL, 10) : 360;
  g_autoptr(GArray) overlay = g_array_new (FALSE, FALSE, sizeof (VmTimedText));
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  VmClipSpec spec;
  double w0, c0, wall, cpu;

  if (!(duration >= 5 && duration <= 3600) || height < 120 || height > 2160 || height % 2 != 0)
    {
      g_printerr ("usage: bench-text [SECONDS (5..3600, default 60) [HEIGHT (even, 120..2160, default 360)]]\n");
      return 2;
    }
  if (!vm_media_init (&error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  /* A new caption every 5 s, shown for 4 s. */
  for (double t = 1.0; t + 4.0 <= duration; t += 5.0)
    {
      char *text = g_strdup_printf ("HEADLINE %u: MARKETS AND WEATHER", (guint) (t / 5.0) + 1);
      VmTimedText e = { t, t + 4.0, text };

      g_ptr_array_add (texts, text);
      g_array_append_val (overlay, e);
    }

  vm_clip_spec_init (&spec);
  spec.format = VM_CLIP_MKV_H264;
  spec.width = (height * 16 / 9 + 1) & ~1u;
  spec.height = height;
  spec.fps_num = 25;
  spec.duration = duration;
  spec.pattern = 18;                    /* a moving ball: every frame changes */
  spec.overlay = (const VmTimedText *) (gpointer) overlay->data;
  spec.n_overlay = overlay->len;
  /* As many sentences as fit (espeak-ng speaks about 2.5 words a second). */
  {
    g_auto(GStrv) sentences = g_strsplit (paragraph, ". ", -1);
    GString *speech = g_string_new (NULL);
    guint words = 0;

    for (guint i = 0; sentences[i] != NULL; i++)
      {
        g_auto(GStrv) w = g_strsplit (sentences[i], " ", -1);

        if ((words + g_strv_length (w)) / 2.5 > duration - 3.0)
          break;
        words += g_strv_length (w);
        g_string_append_printf (speech, "%s. ", sentences[i]);
      }
    g_ptr_array_add (texts, g_string_free (speech, FALSE));
    spec.speech = g_ptr_array_index (texts, texts->len - 1);
  }
  g_print ("# generating %.0f s of %u×%u video with captions and speech…\n", duration, spec.width, spec.height);
  if (!vm_media_generate_clip (&spec, path, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  /* Subtitles (for reference: a demux of the whole file). */
  w0 = g_get_monotonic_time () / 1e6;
  c0 = cpu_seconds ();
  {
    g_autoptr(GPtrArray) tracks = vm_subtitles_read_embedded (path, 0, NULL, &error);

    if (tracks == NULL)
      {
        g_printerr ("%s\n", error->message);
        return 1;
      }
  }
  wall = g_get_monotonic_time () / 1e6 - w0;
  cpu = cpu_seconds () - c0;
  g_print ("subtitles: %.2f s wall, %.2f s CPU → per hour of video: %.1f s wall, %.1f s CPU\n",
           wall, cpu, wall * 3600 / duration, cpu * 3600 / duration);

  /* OCR with the default options. */
  {
    g_autoptr(GPtrArray) segments = NULL;
    VmOcrOptions options;
    VmOcrStats stats;

    vm_ocr_options_init (&options);
    w0 = g_get_monotonic_time () / 1e6;
    c0 = cpu_seconds ();
    segments = vm_ocr_extract (path, &options, NULL, &stats, &error);
    if (segments == NULL)
      {
        g_printerr ("%s\n", error->message);
        return 1;
      }
    wall = g_get_monotonic_time () / 1e6 - w0;
    cpu = cpu_seconds () - c0;
    g_print ("ocr (rate %.1f/s, sample %.1f/s, short side %u): %u frames looked at, %u changed, %u OCR'd "
             "(%.2f s in Tesseract); %u segments\n",
             options.max_ocr_rate, options.sample_rate, options.short_side, stats.n_sampled, stats.n_changed,
             stats.n_ocr, stats.ocr_seconds, segments->len);
    g_print ("ocr: %.2f s wall, %.2f s CPU → per hour of video: %.0f s wall, %.0f s CPU\n",
             wall, cpu, wall * 3600 / duration, cpu * 3600 / duration);
  }

  /* Speech. */
  {
    g_autoptr(VmSpeechEngine) engine = NULL;
    g_autoptr(GPtrArray) words = NULL;
    gint64 audio_ns = 0;

    w0 = g_get_monotonic_time () / 1e6;
    engine = vm_speech_engine_new_default (&error);
    if (engine == NULL)
      g_print ("speech: %s\n", error->message);
    else
      {
        g_print ("speech: engine loaded in %.2f s\n", g_get_monotonic_time () / 1e6 - w0);
        w0 = g_get_monotonic_time () / 1e6;
        c0 = cpu_seconds ();
        words = vm_speech_transcribe (engine, path, 0, NULL, &audio_ns, &error);
        if (words == NULL)
          {
            g_printerr ("%s\n", error->message);
            return 1;
          }
        wall = g_get_monotonic_time () / 1e6 - w0;
        cpu = cpu_seconds () - c0;
        g_print ("speech: %u words from %.1f s of audio; %.2f s wall, %.2f s CPU "
                 "→ per hour of audio: %.0f s wall, %.0f s CPU (%.2f× real time)\n",
                 words->len, audio_ns / 1e9, wall, cpu,
                 wall * 3600 / (audio_ns / 1e9), cpu * 3600 / (audio_ns / 1e9), cpu / (audio_ns / 1e9));
      }
  }

  g_unlink (path);
  g_rmdir (dir);
  return 0;
}
