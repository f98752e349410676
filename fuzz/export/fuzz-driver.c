/* fuzz-driver.c — runs the fuzz target without libFuzzer (any compiler):
 * over every file of the given folders, then over deterministic mutations of
 * them (bit flips, truncations, splices, repeated bytes).  Prints TAP.
 *
 * Usage: fuzz-import-driver [--mutations N] FOLDER...
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint64 state = 0x853c49e6748fea9bULL;

static guint32
next_random (void)
{
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (guint32) (state >> 33);
}

static void
run_one (const guint8 *data,
         gsize         size)
{
  /* Each input once per format choice. */
  g_autofree guint8 *buf = g_malloc (size + 1);

  memcpy (buf + 1, data, size);
  for (guint choice = 0; choice < 8; choice++)
    {
      buf[0] = (guint8) choice;
      LLVMFuzzerTestOneInput (buf, size + 1);
    }
}

static GByteArray *
mutate (const guint8 *data,
        gsize         size)
{
  GByteArray *out = g_byte_array_sized_new (size + 16);
  static const char *tokens[] = { "[", "{", "\"", "\\", "1e999", "-0", "NaN", "##", "\n", ",", ":", "\xff", "\xc3" };

  g_byte_array_append (out, data, size);
  switch (next_random () % 6)
    {
    case 0: /* flip a bit */
      if (out->len > 0)
        out->data[next_random () % out->len] ^= (guint8) (1u << (next_random () % 8));
      break;
    case 1: /* truncate */
      if (out->len > 0)
        g_byte_array_set_size (out, next_random () % out->len);
      break;
    case 2: /* insert a token */
      {
        const char *t = tokens[next_random () % G_N_ELEMENTS (tokens)];
        guint at = out->len ? next_random () % out->len : 0;
        g_array_insert_vals ((GArray *) out, at, (const guint8 *) t, strlen (t));
      }
      break;
    case 3: /* delete a range */
      if (out->len > 1)
        {
          guint at = next_random () % out->len;
          guint n = 1 + next_random () % MIN (16u, out->len - at);
          g_byte_array_remove_range (out, at, n);
        }
      break;
    case 4: /* duplicate a range */
      if (out->len > 1)
        {
          guint at = next_random () % out->len;
          guint n = 1 + next_random () % MIN (64u, out->len - at);
          g_autofree guint8 *copy = g_memdup2 (out->data + at, n);
          g_array_insert_vals ((GArray *) out, at, copy, n);
        }
      break;
    default: /* replace a byte with a random one */
      if (out->len > 0)
        out->data[next_random () % out->len] = (guint8) next_random ();
      break;
    }
  return out;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint mutations = 100, n_run = 0;
  int first = 1;

  if (argc > 2 && strcmp (argv[1], "--mutations") == 0)
    {
      mutations = (guint) atoi (argv[2]);
      first = 3;
    }
  for (int i = first; i < argc; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;

      if (dir == NULL)
        {
          printf ("Bail out! cannot open %s\n", argv[i]);
          return 1;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          char *contents = NULL;
          gsize length = 0;

          if (g_file_get_contents (path, &contents, &length, NULL))
            g_ptr_array_add (inputs, g_bytes_new_take (contents, length));
        }
    }

  printf ("1..2\n");
  for (guint i = 0; i < inputs->len; i++)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (inputs->pdata[i], &size);
      run_one (data, size);
      n_run++;
    }
  printf ("ok 1 - %u corpus files\n", n_run);
  fflush (stdout);

  for (guint i = 0; i < inputs->len; i++)
    for (guint m = 0; m < mutations; m++)
      {
        gsize size;
        const guint8 *data = g_bytes_get_data (inputs->pdata[i], &size);
        g_autoptr(GByteArray) mutated = mutate (data, MIN (size, 4096));

        run_one (mutated->data, mutated->len);
      }
  printf ("ok 2 - %u mutations of each\n", mutations);
  return 0;
}
