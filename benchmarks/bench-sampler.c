/* bench-sampler.c — the frame sampler against ffmpeg on a long 1080p clip.
 *
 *   bench-sampler [--repeat N] [--no-ffmpeg] [--duration SECONDS] CLIP
 *
 * CLIP is generated when missing (10 minutes of 1080p25 H.264 with a
 * keyframe every 2 s; kept for later runs).  Each measurement is the best of
 * N runs (wall clock; CPU time beside it).  ffmpeg does the same work: decode,
 * scale to a height of 224, convert to RGB, discard.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-media.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

typedef struct {
  double  wall;
  double  cpu;
  guint64 frames;
  guint64 decoded;
  guint64 units;
} Measure;

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
self_cpu (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static gboolean
count_cb (const VmFrame  *frame,
          gpointer        user_data,
          GError        **error)
{
  return TRUE;
}

static gboolean
run_ours (const char       *clip,
          VmSampleMode      mode,
          double            rate,
          Measure          *m)
{
  g_autoptr(GError) error = NULL;
  VmSamplerOptions options;
  VmSamplerStats stats;
  double t0, c0;

  vm_sampler_options_init (&options);
  options.mode = mode;
  options.rate = rate;
  options.watchdog_ms = 120000;

  t0 = now ();
  c0 = self_cpu ();
  if (!vm_sampler_run_full (clip, &options, count_cb, NULL, &stats, NULL, &error))
    {
      g_printerr ("sampler failed: %s\n", error->message);
      return FALSE;
    }
  m->wall = now () - t0;
  m->cpu = self_cpu () - c0;
  m->frames = stats.frames;
  m->decoded = stats.units_decoded;
  m->units = stats.units_in;
  return TRUE;
}

/* Runs @argv, measuring wall and CPU time of the child. */
static gboolean
run_command (char    **argv,
             Measure  *m)
{
  struct rusage ru;
  double t0 = now ();
  int status;
  pid_t pid = fork ();

  if (pid < 0)
    return FALSE;
  if (pid == 0)
    {
      execvp (argv[0], argv);
      _exit (127);
    }
  if (wait4 (pid, &status, 0, &ru) < 0)
    return FALSE;
  m->wall = now () - t0;
  m->cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  m->frames = 0;
  m->decoded = 0;
  m->units = 0;
  return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

static gboolean
run_ffmpeg (const char *clip,
            const char *pre_input,
            const char *filters,
            Measure    *m)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) pre = g_strsplit (pre_input, " ", -1);

  g_ptr_array_add (argv, (char *) "ffmpeg");
  g_ptr_array_add (argv, (char *) "-hide_banner");
  g_ptr_array_add (argv, (char *) "-nostdin");
  g_ptr_array_add (argv, (char *) "-nostats");
  g_ptr_array_add (argv, (char *) "-loglevel");
  g_ptr_array_add (argv, (char *) "error");
  for (guint i = 0; pre[i] != NULL; i++)
    if (*pre[i] != '\0')
      g_ptr_array_add (argv, pre[i]);
  g_ptr_array_add (argv, (char *) "-i");
  g_ptr_array_add (argv, (char *) clip);
  g_ptr_array_add (argv, (char *) "-an");
  g_ptr_array_add (argv, (char *) "-sn");
  if (filters != NULL)
    {
      g_ptr_array_add (argv, (char *) "-vf");
      g_ptr_array_add (argv, (char *) filters);
    }
  g_ptr_array_add (argv, (char *) "-f");
  g_ptr_array_add (argv, (char *) "null");
  g_ptr_array_add (argv, (char *) "-");
  g_ptr_array_add (argv, NULL);
  return run_command ((char **) argv->pdata, m);
}

typedef gboolean (*RunFunc) (gpointer data, Measure *m);

typedef struct {
  const char   *clip;
  VmSampleMode  mode;
  double        rate;
  const char   *pre;
  const char   *filters;
} Job;

static gboolean
job_ours (gpointer data,
          Measure *m)
{
  Job *job = data;
  return run_ours (job->clip, job->mode, job->rate, m);
}

static gboolean
job_ffmpeg (gpointer data,
            Measure *m)
{
  Job *job = data;
  return run_ffmpeg (job->clip, job->pre, job->filters, m);
}

static gboolean
best_of (guint     repeat,
         RunFunc   func,
         gpointer  data,
         Measure  *best)
{
  for (guint i = 0; i < repeat; i++)
    {
      Measure m = { 0, };

      if (!func (data, &m))
        return FALSE;
      if (i == 0 || m.wall < best->wall)
        *best = m;
    }
  return TRUE;
}

static void
report (const char    *name,
        const Measure *m,
        double         duration)
{
  g_print ("  %-44s %8.2f s wall %8.2f s cpu %8.1fx realtime",
           name, m->wall, m->cpu, duration / m->wall);
  if (m->frames > 0)
    g_print ("  %6" G_GUINT64_FORMAT " frames (%.1f/s), decoded %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
             m->frames, m->frames / m->wall, m->decoded, m->units);
  g_print ("\n");
}

static void
ratio (const char    *what,
       const Measure *ours,
       const Measure *peer)
{
  g_print ("  ratio %-40s %5.2fx (wall)  %5.2fx (cpu)   [>1: ours faster]\n",
           what, peer->wall / ours->wall, peer->cpu / ours->cpu);
}

static void
progress_note (const char *name,
               gpointer    data)
{
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmMediaInfo) info = NULL;
  g_autofree char *ffmpeg = NULL;
  int repeat = 2;
  gboolean no_ffmpeg = FALSE;
  double gen_duration = 600.0;
  g_auto(GStrv) rest = NULL;
  GOptionEntry entries[] = {
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Best of N runs (default 2)", "N" },
    { "no-ffmpeg", 0, 0, G_OPTION_ARG_NONE, &no_ffmpeg, "Skip the ffmpeg comparisons", NULL },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &gen_duration, "Length of a generated clip (s)", "S" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, "CLIP" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("CLIP");
  const char *clip;
  double duration;
  Measure key = { 0, }, key_skip = { 0, }, key_discard = { 0, };
  Measure rate = { 0, }, rate_ff = { 0, }, full_ff = { 0, }, full_ours = { 0, };
  gboolean have_ff;

  (void) progress_note;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || rest == NULL || rest[0] == NULL)
    {
      g_printerr ("usage: bench-sampler [--repeat N] [--no-ffmpeg] CLIP\n");
      return 2;
    }
  clip = rest[0];
  repeat = CLAMP (repeat, 1, 20);

  if (!vm_media_init (&error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  if (!g_file_test (clip, G_FILE_TEST_IS_REGULAR))
    {
      VmClipSpec spec;
      double t0 = now ();

      vm_clip_spec_init (&spec);
      spec.format = VM_CLIP_MP4_H264;
      spec.width = 1920;
      spec.height = 1080;
      spec.duration = gen_duration;
      spec.keyframe_interval = 2.0;
      spec.pattern = 0;
      g_print ("Generating %s (%.0f s of 1080p25 H.264, keyframe every 2 s)...\n", clip, gen_duration);
      if (!vm_media_generate_clip (&spec, clip, NULL, &error))
        {
          g_printerr ("generation failed: %s\n", error->message);
          return 1;
        }
      g_print ("  generated in %.1f s\n", now () - t0);
    }

  info = vm_media_probe (clip, 30000, &error);
  if (info == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  duration = info->duration_ns / 1e9;
  g_print ("Clip: %s, %dx%d, %d/%d fps, %.1f s, %s\n", clip, info->width, info->height,
           info->fps_num, info->fps_den, duration, info->video_codec);

  /* Warm the page cache so every run reads from memory. */
  {
    g_autofree char *contents = NULL;
    gsize len = 0;

    if (g_file_get_contents (clip, &contents, &len, NULL))
      g_print ("  %.1f MB, read once into the page cache\n", len / 1e6);
  }

  ffmpeg = g_find_program_in_path ("ffmpeg");
  have_ff = ffmpeg != NULL && !no_ffmpeg;
  g_print ("Best of %d runs, %u CPU cores%s\n\n", repeat, g_get_num_processors (),
           have_ff ? "" : " (no ffmpeg comparison)");

  {
    Job ours_key = { clip, VM_SAMPLE_KEYFRAMES, 1.0, NULL, NULL };
    Job ours_rate = { clip, VM_SAMPLE_RATE, 1.0, NULL, NULL };
    Job ours_full = { clip, VM_SAMPLE_RATE, 1000.0, NULL, NULL };
    Job ff_skip = { clip, 0, 0, "-skip_frame nokey", "scale=-2:224:flags=bilinear,format=rgb24" };
    Job ff_discard = { clip, 0, 0, "-discard nokey", "scale=-2:224:flags=bilinear,format=rgb24" };
    Job ff_rate = { clip, 0, 0, "-skip_loop_filter all", "fps=1,scale=-2:224:flags=bilinear,format=rgb24" };
    Job ff_full = { clip, 0, 0, "", "scale=-2:224:flags=bilinear,format=rgb24" };

    g_print ("Keyframes (scaled to a shortest side of 224, RGB):\n");
    if (!best_of (repeat, job_ours, &ours_key, &key))
      return 1;
    report ("vidmark keyframe mode", &key, duration);
    if (have_ff)
      {
        if (!best_of (repeat, job_ffmpeg, &ff_skip, &key_skip) ||
            !best_of (repeat, job_ffmpeg, &ff_discard, &key_discard))
          {
            g_printerr ("ffmpeg failed\n");
            return 1;
          }
        report ("ffmpeg -skip_frame nokey", &key_skip, duration);
        report ("ffmpeg -discard nokey", &key_discard, duration);
        ratio ("vs ffmpeg -skip_frame nokey", &key, &key_skip);
        ratio ("vs ffmpeg -discard nokey", &key, &key_discard);
      }

    g_print ("\nOne frame per second (exact pts; scaled, RGB):\n");
    if (!best_of (repeat, job_ours, &ours_rate, &rate))
      return 1;
    report ("vidmark rate mode, 1 frame/s", &rate, duration);
    if (have_ff)
      {
        if (!best_of (repeat, job_ffmpeg, &ff_rate, &rate_ff))
          {
            g_printerr ("ffmpeg failed\n");
            return 1;
          }
        report ("ffmpeg -skip_loop_filter all -vf fps=1", &rate_ff, duration);
        ratio ("vs ffmpeg -skip_loop_filter all fps=1", &rate, &rate_ff);
      }

    g_print ("\nEvery frame (reference: the cost of a full decode):\n");
    if (!best_of (1, job_ours, &ours_full, &full_ours))
      return 1;
    report ("vidmark rate mode, every frame", &full_ours, duration);
    if (have_ff)
      {
        if (!best_of (1, job_ffmpeg, &ff_full, &full_ff))
          {
            g_printerr ("ffmpeg failed\n");
            return 1;
          }
        report ("ffmpeg, every frame", &full_ff, duration);
      }
    g_print ("  keyframe mode is %.1fx cheaper than our full decode (wall), %.1fx (cpu)\n",
             full_ours.wall / key.wall, full_ours.cpu / key.cpu);
  }

  return 0;
}
