/* standalone-main.c — runs a fuzz target without libFuzzer, so that every
 * build (gcc included) exercises it: each input file, then deterministic
 * random mutations of it.  Prints TAP.
 *
 * Usage: DRIVER [--mutations N] [--generate PYTHON SCRIPT] PATH...
 *   PATH: files, or folders whose files are inputs.
 *   --generate: runs "PYTHON SCRIPT TMPDIR" first and adds TMPDIR/corpus.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz/vm-fuzz.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#pragma weak LLVMFuzzerInitialize

static int
path_cmp (gconstpointer a,
          gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static void
add_inputs (GPtrArray  *inputs,
            const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (path, name, NULL));
      g_ptr_array_sort (names, path_cmp);
      for (guint i = 0; i < names->len; i++)
        add_inputs (inputs, names->pdata[i]);
    }
  else
    g_ptr_array_add (inputs, g_strdup (path));
}

static void
mutate (GRand    *rand,
        GString  *buf)
{
  guint n_edits = g_rand_int_range (rand, 1, 5);

  for (guint e = 0; e < n_edits; e++)
    {
      guint pos = buf->len > 0 ? g_rand_int_range (rand, 0, (gint32) buf->len) : 0;
      static const char interesting[] = "{}[]\":,0-9eE\\ \xff\x80\0";

      switch (g_rand_int_range (rand, 0, 5))
        {
        case 0:   /* flip a bit */
          if (buf->len > 0)
            buf->str[pos] ^= (char) (1 << g_rand_int_range (rand, 0, 8));
          break;
        case 1:   /* a random byte */
          if (buf->len > 0)
            buf->str[pos] = (char) g_rand_int_range (rand, 0, 256);
          break;
        case 2:   /* an interesting byte inserted */
          g_string_insert_c (buf, pos,
                             interesting[g_rand_int_range (rand, 0, sizeof interesting)]);
          break;
        case 3:   /* a byte deleted */
          if (buf->len > 0)
            g_string_erase (buf, pos, 1);
          break;
        default:  /* a chunk duplicated */
          if (buf->len > 0)
            {
              guint len = g_rand_int_range (rand, 1, (gint32) MIN (buf->len - pos, 64) + 1);
              g_autofree char *chunk = g_strndup (buf->str + pos, len);
              g_string_insert_len (buf, pos, chunk, len);
            }
          break;
        }
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *tmpdir = NULL;
  guint mutations = 0;
  int i;

  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize (&argc, &argv);

  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--mutations") == 0 && i + 1 < argc)
        mutations = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--generate") == 0 && i + 2 < argc)
        {
          g_autoptr(GError) error = NULL;
          g_autofree char *corpus = NULL;
          int status = 0;

          tmpdir = g_dir_make_tmp ("vm-fuzz-corpus-XXXXXX", &error);
          g_assert_no_error (error);
          const char *gen_argv[] = { argv[i + 1], argv[i + 2], tmpdir, NULL };
          if (!g_spawn_sync (NULL, (char **) gen_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                             NULL, NULL, &status, &error) ||
              !g_spawn_check_wait_status (status, &error))
            {
              printf ("Bail out! the corpus generator failed: %s\n", error->message);
              return 1;
            }
          corpus = g_build_filename (tmpdir, "corpus", NULL);
          add_inputs (inputs, corpus);
          i += 2;
        }
      else
        add_inputs (inputs, argv[i]);
    }

  printf ("1..%u\n", inputs->len);
  for (guint k = 0; k < inputs->len; k++)
    {
      const char *path = inputs->pdata[k];
      g_autofree char *contents = NULL;
      g_autoptr(GRand) rand = g_rand_new_with_seed (k + 1);
      gsize length;

      if (!g_file_get_contents (path, &contents, &length, NULL))
        {
          printf ("not ok %u - %s (unreadable)\n", k + 1, path);
          continue;
        }
      LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
      for (guint m = 0; m < mutations; m++)
        {
          g_autoptr(GString) buf = g_string_new_len (contents, (gssize) length);

          mutate (rand, buf);
          LLVMFuzzerTestOneInput ((const uint8_t *) buf->str, buf->len);
        }
      {
        g_autofree char *base = g_path_get_basename (path);
        printf ("ok %u - %s\n", k + 1, base);
      }
      fflush (stdout);
    }

  if (tmpdir != NULL)
    {
      g_autofree char *corpus = g_build_filename (tmpdir, "corpus", NULL);
      for (guint k = 0; k < inputs->len; k++)
        if (g_str_has_prefix (inputs->pdata[k], tmpdir))
          g_unlink (inputs->pdata[k]);
      g_rmdir (corpus);
      {
        g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
        const char *name;
        while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
          {
            g_autofree char *p = g_build_filename (tmpdir, name, NULL);
            g_unlink (p);
          }
      }
      g_rmdir (tmpdir);
    }
  return 0;
}
