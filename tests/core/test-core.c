/* test-core.c — core helpers: timestamps, fp16, fingerprints, jobs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <glib/gstdio.h>

#include "core/vm-core.h"

static void
test_timestamp_format (void)
{
  static const struct { gint64 ns; const char *text; } cases[] = {
    { 0, "0:00:00.000" },
    { 1499999, "0:00:00.001" },
    { 61 * VM_NSEC_PER_SEC + 250000000, "0:01:01.250" },
    { 3600 * VM_NSEC_PER_SEC * 12 + 5 * VM_NSEC_PER_SEC, "12:00:05.000" },
    { -2 * VM_NSEC_PER_SEC, "-0:00:02.000" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = vm_format_timestamp (cases[i].ns);
      g_assert_cmpstr (s, ==, cases[i].text);
    }
}

static void
test_timestamp_parse (void)
{
  gint64 ns = 0;

  g_assert_true (vm_parse_timestamp ("1:02:03.5", &ns));
  g_assert_cmpint (ns, ==, (3723 * VM_NSEC_PER_SEC) + 500000000);
  g_assert_true (vm_parse_timestamp ("90", &ns));
  g_assert_cmpint (ns, ==, 90 * VM_NSEC_PER_SEC);
  g_assert_true (vm_parse_timestamp ("01:30", &ns));
  g_assert_cmpint (ns, ==, 90 * VM_NSEC_PER_SEC);

  g_assert_false (vm_parse_timestamp ("", &ns));
  g_assert_false (vm_parse_timestamp ("-1", &ns));
  g_assert_false (vm_parse_timestamp ("1.5:00", &ns));
  g_assert_false (vm_parse_timestamp ("a:b", &ns));
  g_assert_false (vm_parse_timestamp ("1:2:3:4", &ns));
  g_assert_false (vm_parse_timestamp ("nan", &ns));
  g_assert_false (vm_parse_timestamp ("1e300", &ns));
}

static void
test_half_roundtrip (void)
{
  /* Every finite half survives half → float → half. */
  for (guint32 h = 0; h < 0x10000; h++)
    {
      float f = vm_half_to_float ((guint16) h);

      if (isnan (f))
        {
          g_assert_true (isnan (vm_half_to_float (vm_float_to_half (f))));
          continue;
        }
      g_assert_cmpuint (vm_float_to_half (f), ==, h);
    }

  g_assert_cmpuint (vm_float_to_half (1.0f), ==, 0x3c00);
  g_assert_cmpuint (vm_float_to_half (-2.0f), ==, 0xc000);
  g_assert_cmpuint (vm_float_to_half (65504.0f), ==, 0x7bff);
  g_assert_cmpuint (vm_float_to_half (1e6f), ==, 0x7c00);
  g_assert_cmpuint (vm_float_to_half (5.9604645e-08f), ==, 0x0001);
  /* 1 + 2^-11 is halfway between 1 and the next half: ties to even. */
  g_assert_cmpuint (vm_float_to_half (1.0f + 1.0f / 2048), ==, 0x3c00);
  g_assert_cmpuint (vm_float_to_half (1.0f + 3.0f / 2048), ==, 0x3c02);
}

static void
test_fingerprint (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vm-core-XXXXXX", &error);
  g_autofree char *a = g_build_filename (dir, "a.bin", NULL);
  g_autofree char *b = g_build_filename (dir, "b.bin", NULL);
  g_autofree char *big = NULL;
  g_autofree char *fa = NULL, *fb = NULL, *fc = NULL, *missing = NULL;
  gsize big_len = 3 * VM_FINGERPRINT_BLOCK + 12345;
  goffset size = 0;

  g_assert_no_error (error);
  big = g_malloc (big_len);
  for (gsize i = 0; i < big_len; i++)
    big[i] = (char) (i * 131 + 7);

  g_assert_true (g_file_set_contents (a, big, big_len, &error));
  g_assert_true (g_file_set_contents (b, big, big_len, &error));
  fa = vm_fingerprint_file (a, &size, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (size, ==, big_len);
  fb = vm_fingerprint_file (b, NULL, NULL, &error);
  g_assert_cmpstr (fa, ==, fb);

  /* A change in the head changes it. */
  big[10] ^= 1;
  g_assert_true (g_file_set_contents (b, big, big_len, &error));
  fc = vm_fingerprint_file (b, NULL, NULL, &error);
  g_assert_cmpstr (fa, !=, fc);

  missing = vm_fingerprint_file ("/nonexistent/vidmark", NULL, NULL, &error);
  g_assert_null (missing);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

  g_unlink (a);
  g_unlink (b);
  g_rmdir (dir);
}

static gpointer
job_worker (gpointer data)
{
  VmJob *job = data;

  for (guint i = 1; i <= 100; i++)
    {
      g_autofree char *msg = g_strdup_printf ("step %u", i);
      vm_job_set_message (job, msg);
      vm_job_set_fraction (job, i / 100.0);
    }
  return NULL;
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  guint *count = user_data;

  /* Notifications arrive on the main thread only. */
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  (*count)++;
}

static void
test_job (void)
{
  g_autoptr(VmJob) job = vm_job_new ("Indexing");
  guint n_notify = 0;
  GThread *thread;
  g_autofree char *msg = NULL;

  g_signal_connect (job, "notify", G_CALLBACK (notify_cb), &n_notify);
  g_assert_cmpstr (vm_job_get_title (job), ==, "Indexing");

  thread = g_thread_new ("worker", job_worker, job);
  g_thread_join (thread);
  g_assert_cmpuint (n_notify, ==, 0);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* 200 changes coalesced into one idle: one message + one fraction notify. */
  g_assert_cmpuint (n_notify, ==, 2);
  g_assert_cmpfloat (vm_job_get_fraction (job), ==, 1.0);
  msg = vm_job_dup_message (job);
  g_assert_cmpstr (msg, ==, "step 100");

  vm_job_cancel (job);
  g_assert_true (vm_job_is_cancelled (job));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (n_notify, ==, 3);
}

static void
test_atomic_write (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vm-core-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "out.json", NULL);
  g_autofree char *contents = NULL;

  g_assert_true (vm_write_file_atomic (path, "old", -1, &error));
  g_assert_true (vm_write_file_atomic (path, "new", -1, &error));
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_cmpstr (contents, ==, "new");
  g_assert_false (vm_write_file_atomic ("/nonexistent/dir/x", "a", -1, &error));
  g_assert_nonnull (error);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/timestamp/format", test_timestamp_format);
  g_test_add_func ("/core/timestamp/parse", test_timestamp_parse);
  g_test_add_func ("/core/half/roundtrip", test_half_roundtrip);
  g_test_add_func ("/core/fingerprint", test_fingerprint);
  g_test_add_func ("/core/job", test_job);
  g_test_add_func ("/core/atomic-write", test_atomic_write);

  return g_test_run ();
}
