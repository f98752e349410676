/* bench-window.c — the window's responsiveness (issue 8, point 10):
 *
 *  1. start-up: the real program (`vidmark` with no command, $VIDMARK_CLI)
 *     is executed on a 10 000-video catalog written with the catalog API,
 *     and the time from before exec to the window's first painted frame
 *     (and to the listed library) is taken from its start-up probe
 *     (VIDMARK_STARTUP_PROBE, see vm-application.c), several runs; an empty
 *     catalog gives the cost of GTK itself.  The same in-process, too.
 *  2. the UI thread while the demo library is indexed by the worker process
 *     from the window: a G_PRIORITY_HIGH 10 ms timeout records how late it
 *     runs (main-loop stalls), and a tick callback keeps the frame clock
 *     painting so that frame intervals are recorded too.  Each stall over
 *     50 ms is printed with the CPU time the main thread used inside it and
 *     its involuntary context switches: a stall with little CPU time is the
 *     thread waiting for a CPU (other load on the machine), not our code
 *     blocking.  An idle window is measured the same way first.
 *
 * Run under a display, e.g. build-aux/test.sh's Xvfb setup:
 *   dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" \
 *     env GDK_BACKEND=x11 GSK_RENDERER=cairo \
 *     meson test -C BUILD --benchmark --suite gui-bench -v
 * Exit status 0 whatever the figures (a benchmark, not a test); the figures
 * are TAP comments, one line "# RESULT name value unit" per figure.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* RUSAGE_THREAD */
#endif
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "catalog/vm-catalog.h"
#include "media/vm-media.h"
#include "widgets/vm-application.h"
#include "widgets/vm-window.h"

#include "../vm-test-util.h"

#define N_VIDEOS 10000
#define N_RUNS   5
#define TICK_MS  10

static void
after_paint_cb (GdkFrameClock *clock,
                gboolean      *painted)
{
  *painted = TRUE;
}

static int
cmp_int64 (gconstpointer a,
           gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The @q quantile (nearest rank) of @values, sorted in place. */
static gint64
quantile (GArray *values,
          double  q)
{
  guint rank;

  if (values->len == 0)
    return 0;
  g_array_sort (values, cmp_int64);
  rank = (guint) MIN (values->len - 1, (guint) (q * values->len));
  return g_array_index (values, gint64, rank);
}

static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static long
thread_involuntary_switches (void)
{
  struct rusage ru;

  getrusage (RUSAGE_THREAD, &ru);
  return ru.ru_nivcsw;
}

/* ---- Where a stalled main thread is: a watchdog thread ----------------------------
 *
 * When the main loop is 40 ms late, the watchdog reads what the main thread is
 * doing from /proc (its system call, or "running", and the kernel function it
 * sleeps in), so that each stall says whether the thread computed, waited for
 * a lock, for the X server or for a CPU. */

static gpointer watchdog_last_tick;        /* atomic: µs of the last main-loop tick, as a gintptr */
static gint watchdog_stop;
static GMutex watchdog_lock;
static char *watchdog_seen;                /* what the main thread did in the current stall */
static pid_t main_tid;

static char *
read_proc_line (const char *what)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/%s", (int) main_tid, what);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("?");
  return g_strdup (g_strstrip (text));
}

static gpointer
watchdog_thread (gpointer data)
{
  gint64 sampled_for = 0;
  int stacks_left = g_getenv ("VIDMARK_BENCH_STACKS") ? atoi (g_getenv ("VIDMARK_BENCH_STACKS")) : 0;

  while (!g_atomic_int_get (&watchdog_stop))
    {
      gint64 last = (gint64) (gintptr) g_atomic_pointer_get ((gpointer *) &watchdog_last_tick);
      if (last != 0 && last != sampled_for && g_get_monotonic_time () - last > 40000)
        {
          g_autofree char *syscall = read_proc_line ("syscall");
          g_autofree char *wchan = read_proc_line ("wchan");
          g_auto(GStrv) fields = g_strsplit (syscall, " ", 2);

          sampled_for = last;
          /* VIDMARK_BENCH_STACKS=N: the main thread's stack from gdb for the
           * first N stalls (gdb stops the process for a while: diagnosis only). */
          if (stacks_left > 0)
            {
              g_autofree char *cmd = g_strdup_printf ("gdb -batch -p %d -ex 'thread apply 1 bt 25' 2>/dev/null "
                                                      "| grep -E '^#' | sed 's/^/#     /'", (int) getpid ());

              stacks_left--;
              if (system (cmd) != 0)
                g_print ("#     (gdb failed)\n");
            }
          g_mutex_lock (&watchdog_lock);
          g_free (watchdog_seen);
          /* The system call number only (7 poll, 202 futex, 0 read, ...). */
          watchdog_seen = g_strdup_printf ("at 40 ms the main thread was in %s%s (kernel: %s)",
                                           g_str_equal (fields[0], "running") ? "" : "system call ",
                                           fields[0], *wchan ? wchan : "-");
          g_mutex_unlock (&watchdog_lock);
        }
      g_usleep (2000);
    }
  return NULL;
}

/* ---- Main-loop lateness and frame intervals ------------------------------------ */

typedef struct {
  const char *name;
  gint64      start;
  gint64      last;
  gint64      last_cpu;
  long        last_ivcsw;
  GArray     *lateness;      /* µs past TICK_MS, per tick */
  GArray     *busy;          /* µs of main-thread CPU time between two ticks */
  guint       n_over_50ms;
  guint       n_over_50ms_busy;  /* of those, with the main thread on a CPU most of the gap */
  gint64      max_gap;
  gint64      max_gap_cpu;
  GArray     *frames;        /* µs between painted frames */
  gint64      last_frame;
  guint       tick_id;
  guint       frame_tick_id;
  gulong      paint_id;
  GtkWidget  *widget;
} Monitor;

static gboolean
monitor_tick_cb (gpointer data)
{
  Monitor *m = data;
  gint64 now = g_get_monotonic_time ();
  gint64 cpu = thread_cpu_us ();
  long ivcsw = thread_involuntary_switches ();

  if (m->last != 0)
    {
      gint64 gap = now - m->last;
      gint64 late = MAX (gap - TICK_MS * 1000, 0);
      gint64 used = cpu - m->last_cpu;

      g_array_append_val (m->lateness, late);
      g_array_append_val (m->busy, used);
      if (gap > m->max_gap)
        {
          m->max_gap = gap;
          m->max_gap_cpu = used;
        }
      if (gap > 50000)
        {
          g_autofree char *seen = NULL;

          g_mutex_lock (&watchdog_lock);
          seen = g_steal_pointer (&watchdog_seen);
          g_mutex_unlock (&watchdog_lock);
          m->n_over_50ms++;
          if (used * 2 > gap)
            m->n_over_50ms_busy++;
          g_print ("#   %s: stall of %.1f ms at %.0f ms; main thread on a CPU for %.1f ms of it, "
                   "%ld involuntary context switches; %s\n",
                   m->name, gap / 1000.0, (now - m->start) / 1000.0, used / 1000.0, ivcsw - m->last_ivcsw,
                   seen ? seen : "not sampled");
        }
    }
  g_atomic_pointer_set ((gpointer *) &watchdog_last_tick, (gpointer) (gintptr) now);
  m->last = now;
  m->last_cpu = cpu;
  m->last_ivcsw = ivcsw;
  return G_SOURCE_CONTINUE;
}

static gboolean
frame_tick_cb (GtkWidget     *widget,
               GdkFrameClock *clock,
               gpointer       data)
{
  /* Keep the frame clock painting every frame, as during an animation. */
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static void
monitor_after_paint_cb (GdkFrameClock *clock,
                        Monitor       *m)
{
  gint64 now = g_get_monotonic_time ();

  if (m->last_frame != 0)
    {
      gint64 interval = now - m->last_frame;

      g_array_append_val (m->frames, interval);
    }
  m->last_frame = now;
}

static void
monitor_start (Monitor    *m,
               const char *name,
               GtkWidget  *window)
{
  memset (m, 0, sizeof *m);
  m->name = name;
  m->lateness = g_array_new (FALSE, FALSE, sizeof (gint64));
  m->busy = g_array_new (FALSE, FALSE, sizeof (gint64));
  m->frames = g_array_new (FALSE, FALSE, sizeof (gint64));
  m->widget = window;
  m->start = g_get_monotonic_time ();
  m->tick_id = g_timeout_add_full (G_PRIORITY_HIGH, TICK_MS, monitor_tick_cb, m, NULL);
  m->frame_tick_id = gtk_widget_add_tick_callback (window, frame_tick_cb, NULL, NULL);
  m->paint_id = g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint",
                                  G_CALLBACK (monitor_after_paint_cb), m);
}

static void
monitor_stop (Monitor *m)
{
  double seconds = (g_get_monotonic_time () - m->start) / 1e6;
  gint64 late_p50, late_p99, late_max, frame_p50, frame_p99, frame_max, busy_p99, busy_max;

  g_source_remove (m->tick_id);
  g_atomic_pointer_set ((gpointer *) &watchdog_last_tick, NULL);
  gtk_widget_remove_tick_callback (m->widget, m->frame_tick_id);
  g_signal_handler_disconnect (gtk_widget_get_frame_clock (m->widget), m->paint_id);

  late_max = quantile (m->lateness, 1.0);
  late_p99 = quantile (m->lateness, 0.99);
  late_p50 = quantile (m->lateness, 0.50);
  busy_max = quantile (m->busy, 1.0);
  busy_p99 = quantile (m->busy, 0.99);
  frame_max = quantile (m->frames, 1.0);
  frame_p99 = quantile (m->frames, 0.99);
  frame_p50 = quantile (m->frames, 0.50);

  g_print ("# %s, %.1f s: %u ticks of %d ms; lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms "
           "(longest gap %.1f ms, main thread on a CPU for %.1f ms of it); gaps over 50 ms: %u "
           "(%u with the main thread busy for most of the gap)\n",
           m->name, seconds, m->lateness->len, TICK_MS, late_p50 / 1000.0, late_p99 / 1000.0,
           late_max / 1000.0, m->max_gap / 1000.0, m->max_gap_cpu / 1000.0, m->n_over_50ms,
           m->n_over_50ms_busy);
  g_print ("# %s: main-thread CPU time between two ticks (work that held the loop): p99 %.1f ms, max %.1f ms\n",
           m->name, busy_p99 / 1000.0, busy_max / 1000.0);
  g_print ("# %s: %u frames painted; frame interval p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           m->name, m->frames->len, frame_p50 / 1000.0, frame_p99 / 1000.0, frame_max / 1000.0);
  g_print ("# RESULT %s-stall-max %.1f ms\n# RESULT %s-stall-p99 %.1f ms\n"
           "# RESULT %s-frame-max %.1f ms\n# RESULT %s-frame-p99 %.1f ms\n"
           "# RESULT %s-main-thread-work-max %.1f ms\n# RESULT %s-main-thread-work-p99 %.1f ms\n",
           m->name, m->max_gap / 1000.0, m->name, (late_p99 + TICK_MS * 1000) / 1000.0,
           m->name, frame_max / 1000.0, m->name, frame_p99 / 1000.0,
           m->name, busy_max / 1000.0, m->name, busy_p99 / 1000.0);

  g_array_unref (m->lateness);
  g_array_unref (m->busy);
  g_array_unref (m->frames);
}

/* ---- Start-up ------------------------------------------------------------------- */

static void
make_big_catalog (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmCatalog) catalog = vm_catalog_open (path, &error);
  gint64 folder_id, t0 = g_get_monotonic_time ();

  g_assert_no_error (error);
  g_assert_true (vm_catalog_add_folder (catalog, "/videos", &folder_id, &error));
  g_assert_true (vm_catalog_begin (catalog, &error));
  for (guint i = 0; i < N_VIDEOS; i++)
    {
      g_autoptr(VmVideo) v = vm_video_new ();

      v->folder_id = folder_id;
      v->path = g_strdup_printf ("/videos/holiday-%05u.mp4", i);
      v->fingerprint = g_strdup_printf ("%032x", i);
      v->duration_ns = (gint64) (60 + i % 600) * 1000000000;
      v->width = 1920;
      v->height = 1080;
      v->fps_num = 30;
      v->fps_den = 1;
      v->status = VM_VIDEO_STATUS_INDEXED;
      g_assert_true (vm_catalog_save_video (catalog, v, &error));
    }
  g_assert_true (vm_catalog_commit (catalog, &error));
  g_print ("# catalog with %u videos written in %.0f ms\n", N_VIDEOS,
           (g_get_monotonic_time () - t0) / 1000.0);
}

/* Runs the program on @catalog until its probe reports; the times from
 * before exec to the first frame and to the listed library, in µs. */
static gboolean
exec_once (const char *cli,
           const char *catalog,
           gint64     *out_frame,
           gint64     *out_loaded)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 t0, frame = 0, loaded = 0;

  g_subprocess_launcher_setenv (launcher, "VIDMARK_CATALOG", catalog, TRUE);
  g_subprocess_launcher_setenv (launcher, "VIDMARK_STARTUP_PROBE", "quit", TRUE);
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "", TRUE);
  t0 = g_get_monotonic_time ();
  process = g_subprocess_launcher_spawn (launcher, &error, cli, NULL);
  if (process == NULL)
    {
      g_print ("# cannot run %s: %s\n", cli, error->message);
      return FALSE;
    }
  if (!g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error))
    {
      g_print ("# %s: %s\n", cli, error->message);
      return FALSE;
    }
  lines = g_strsplit (err ? err : "", "\n", -1);
  {
    g_autoptr(GString) phases = g_string_new ("#     phases after exec:");

    for (guint i = 0; lines[i] != NULL; i++)
      {
        const char *p = strstr (lines[i], "vidmark-startup-probe: ");
        g_auto(GStrv) parts = NULL;

        if (p == NULL)
          continue;
        parts = g_strsplit (p + strlen ("vidmark-startup-probe: "), " ", 3);
        if (parts[0] != NULL && parts[1] != NULL)
          g_string_append_printf (phases, " %s %.0f ms,", parts[0],
                                  (g_ascii_strtoll (parts[1], NULL, 10) - t0) / 1000.0);
      }
    g_print ("%s\n", phases->str);
  }
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p;

      if ((p = strstr (lines[i], "vidmark-startup-probe: first-frame ")) != NULL)
        frame = g_ascii_strtoll (p + strlen ("vidmark-startup-probe: first-frame "), NULL, 10);
      else if ((p = strstr (lines[i], "vidmark-startup-probe: library-listed ")) != NULL)
        loaded = g_ascii_strtoll (p + strlen ("vidmark-startup-probe: library-listed "), NULL, 10);
    }
  if (frame == 0 || loaded == 0)
    {
      g_print ("# %s reported no first frame or library:\n%s\n", cli, err ? err : "");
      return FALSE;
    }
  *out_frame = frame - t0;
  *out_loaded = loaded - t0;
  return TRUE;
}

static void
bench_exec (const char *name,
            const char *cli,
            const char *catalog)
{
  g_autoptr(GArray) frames = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) loads = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < N_RUNS; i++)
    {
      gint64 frame, loaded;

      if (!exec_once (cli, catalog, &frame, &loaded))
        return;
      g_array_append_val (frames, frame);
      g_array_append_val (loads, loaded);
      g_print ("#   %s run %u: first frame %.0f ms, library listed %.0f ms after exec\n",
               name, i + 1, frame / 1000.0, loaded / 1000.0);
    }
  g_print ("# %s, exec to first frame: median %.0f ms, max %.0f ms (%u runs); to the listed library: "
           "median %.0f ms, max %.0f ms\n", name, quantile (frames, 0.5) / 1000.0,
           quantile (frames, 1.0) / 1000.0, N_RUNS, quantile (loads, 0.5) / 1000.0,
           quantile (loads, 1.0) / 1000.0);
  g_print ("# RESULT %s-exec-first-frame-median %.0f ms\n# RESULT %s-exec-first-frame-max %.0f ms\n",
           name, quantile (frames, 0.5) / 1000.0, name, quantile (frames, 1.0) / 1000.0);
}

static void
test_startup (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "big.sqlite", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty.sqlite", NULL);
  const char *cli = g_getenv ("VIDMARK_CLI");
  gboolean painted = FALSE, timed_out = FALSE;
  gint64 t0, t_painted = 0, t_loaded = 0;
  VmWindow *window;
  Monitor m;
  guint id;

  make_big_catalog (path);

  if (cli != NULL)
    {
      bench_exec ("empty-catalog", cli, empty);
      bench_exec ("10k-catalog", cli, path);
    }
  else
    g_print ("# VIDMARK_CLI is not set: start-up from exec not measured\n");

  /* In this process: the first window pays GTK's own start-up. */
  {
    gboolean first = FALSE;

    t0 = g_get_monotonic_time ();
    window = vm_window_new (NULL, empty);
    gtk_window_present (GTK_WINDOW (window));
    g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                      G_CALLBACK (after_paint_cb), &first);
    while (!first)
      g_main_context_iteration (NULL, TRUE);
    g_print ("# in process: first frame of a window on an empty catalog (first window of the process): %.0f ms\n",
             (g_get_monotonic_time () - t0) / 1000.0);
    gtk_window_destroy (GTK_WINDOW (window));
  }

  t0 = g_get_monotonic_time ();
  window = vm_window_new (NULL, path);
  gtk_window_present (GTK_WINDOW (window));
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                    G_CALLBACK (after_paint_cb), &painted);
  monitor_start (&m, "10k-first-listing", GTK_WIDGET (window));
  id = g_timeout_add_seconds (30, vm_test_set_flag_cb, &timed_out);
  while (!timed_out && (t_painted == 0 || t_loaded == 0))
    {
      g_main_context_iteration (NULL, TRUE);
      if (painted && t_painted == 0)
        t_painted = g_get_monotonic_time ();
      if (t_loaded == 0 && !vm_window_get_busy (window) &&
          g_list_model_get_n_items (vm_window_get_library (window)) == N_VIDEOS + 1)
        t_loaded = g_get_monotonic_time ();
    }
  g_source_remove (id);
  g_assert_false (timed_out);
  g_print ("# in process: first frame of a second window, 10k catalog: %.0f ms\n", (t_painted - t0) / 1000.0);
  g_print ("# in process: library of %u videos listed: %.0f ms\n", N_VIDEOS, (t_loaded - t0) / 1000.0);
  vm_test_spin (300);
  monitor_stop (&m);

  /* The library read again, as while indexing (unchanged rows stay). */
  monitor_start (&m, "10k-reloads", GTK_WIDGET (window));
  for (guint i = 0; i < 5; i++)
    {
      vm_window_reload_library (window);
      while (vm_window_get_busy (window))
        g_main_context_iteration (NULL, TRUE);
      vm_test_spin (100);
    }
  monitor_stop (&m);

  /* A search over 10k names. */
  {
    gint64 t1 = g_get_monotonic_time ();

    vm_window_search (window, "holiday 0042");
    while (vm_window_get_busy (window))
      g_main_context_iteration (NULL, TRUE);
    g_print ("# name search over %u videos (%u results): %.0f ms\n", N_VIDEOS,
             g_list_model_get_n_items (vm_window_get_results (window)),
             (g_get_monotonic_time () - t1) / 1000.0);
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- Indexing ---------------------------------------------------------------------- */

static void
test_indexing_stalls (const char *dir)
{
  g_autofree char *media = g_build_filename (dir, "media", NULL);
  g_autofree char *path = g_build_filename (dir, "index.sqlite", NULL);
  g_autoptr(GError) error = NULL;
  Monitor m;
  VmWindow *window;
  gint64 t0;

  g_assert_true (vm_media_generate_demo (media, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  window = vm_window_new (NULL, path);
  gtk_window_present (GTK_WINDOW (window));
  while (vm_window_get_busy (window) || !gtk_widget_get_mapped (GTK_WIDGET (window)))
    g_main_context_iteration (NULL, TRUE);

  /* Calibration: the same window, idle but painting every frame, for 3 s
   * (other load on the machine shows up here too). */
  {
    gboolean done = FALSE;

    monitor_start (&m, "idle", GTK_WIDGET (window));
    g_timeout_add (3000, vm_test_set_flag_cb, &done);
    while (!done)
      g_main_context_iteration (NULL, TRUE);
    monitor_stop (&m);
  }

  monitor_start (&m, "indexing", GTK_WIDGET (window));
  t0 = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "library.add-folder-path", "s", media));
  while (vm_window_get_busy (window))
    g_main_context_iteration (NULL, TRUE);
  monitor_stop (&m);

  g_print ("# indexing the demo library from the window (worker process) took %.0f ms; %u videos listed\n",
           (g_get_monotonic_time () - t0) / 1000.0,
           g_list_model_get_n_items (vm_window_get_library (window)));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *cmd = NULL;
  GThread *watchdog;

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  dir = g_dir_make_tmp ("vm-bench-window-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_CACHE_HOME", dir, TRUE);
  g_setenv ("XDG_DATA_HOME", dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", dir, TRUE);

  if (!gtk_init_check ())
    {
      g_print ("# no display: skipped\n");
      return 77;
    }
  adw_init ();
  vm_widgets_init ();
  g_assert_true (vm_media_init (&error));

  g_print ("# load average at the start: ");
  {
    g_autofree char *load = NULL;

    if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
      g_print ("%s", load);
    else
      g_print ("unknown\n");
  }

  main_tid = (pid_t) syscall (SYS_gettid);
  watchdog = g_thread_new ("watchdog", watchdog_thread, NULL);

  test_startup (dir);
  test_indexing_stalls (dir);

  g_atomic_int_set (&watchdog_stop, 1);
  g_thread_join (watchdog);

  cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  return 0;
}
