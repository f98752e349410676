/* fuzz-tokenizer.c — libFuzzer target: text cleaning, splitting and BPE.
 *
 * The vocabulary is the real one when VIDMARK_FUZZ_VOCAB_DIR names a folder
 * with vocab.json and merges.txt; otherwise a small synthetic one (the 512
 * byte symbols, a few merges, the special tokens) written at start-up.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-tokenizer.h"
#include "fuzz/vm-fuzz.h"

#include <glib/gstdio.h>
#include <string.h>

static VmTokenizer *tokenizer;

static gboolean
is_printable_byte (guint b)
{
  return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

/* The vocabulary's text for byte @b (printable bytes stand for themselves,
 * the others map to U+0100 on), JSON-escaped where needed. */
static void
append_symbol (GString *s,
               guint    b)
{
  guint n = 0;
  gunichar c;

  if (is_printable_byte (b))
    c = b;
  else
    {
      for (guint x = 0; x < b; x++)
        if (!is_printable_byte (x))
          n++;
      c = 0x100 + n;
    }
  if (c == '"' || c == '\\')
    g_string_append_c (s, '\\');
  g_string_append_unichar (s, c);
}

static char *
write_synthetic_vocab (void)
{
  static const char * const merges[][2] = {
    { "t", "h" }, { "th", "e</w>" }, { "c", "a" }, { "ca", "t</w>" }, { "t", "t" },
    { "e", "r" }, { "i", "n" }, { "in", "g</w>" }, { "Ã", "©" },
  };
  g_autoptr(GString) vocab = g_string_new ("{");
  g_autoptr(GString) merge_text = g_string_new ("#version: 0.2\n");
  g_autofree char *dir = g_dir_make_tmp ("vm-fuzz-vocab-XXXXXX", NULL);
  g_autofree char *vocab_path = NULL;
  g_autofree char *merges_path = NULL;
  guint id = 0;

  g_assert (dir != NULL);
  for (guint end = 0; end < 2; end++)
    for (guint b = 0; b < 256; b++)
      {
        g_string_append (vocab, id > 0 ? ", \"" : "\"");
        append_symbol (vocab, b);
        g_string_append_printf (vocab, "%s\": %u", end ? "</w>" : "", id++);
      }
  for (guint i = 0; i < G_N_ELEMENTS (merges); i++)
    {
      g_autofree char *joined = g_strconcat (merges[i][0], merges[i][1], NULL);

      g_string_append_printf (vocab, ", \"%s\": %u", joined, id++);
      g_string_append_printf (merge_text, "%s %s\n", merges[i][0], merges[i][1]);
    }
  g_string_append_printf (vocab, ", \"<|startoftext|>\": %u, \"<|endoftext|>\": %u}", id, id + 1);

  vocab_path = g_build_filename (dir, "vocab.json", NULL);
  merges_path = g_build_filename (dir, "merges.txt", NULL);
  g_assert (g_file_set_contents (vocab_path, vocab->str, -1, NULL));
  g_assert (g_file_set_contents (merges_path, merge_text->str, -1, NULL));
  return g_steal_pointer (&dir);
}

static void
remove_synthetic_vocab (const char *dir)
{
  g_autofree char *vocab_path = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *merges_path = g_build_filename (dir, "merges.txt", NULL);

  g_unlink (vocab_path);
  g_unlink (merges_path);
  g_rmdir (dir);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  const char *dir = g_getenv ("VIDMARK_FUZZ_VOCAB_DIR");
  g_autoptr(GError) error = NULL;

  if (dir != NULL)
    tokenizer = vm_tokenizer_new_from_dir (dir, &error);
  else
    {
      g_autofree char *tmp = write_synthetic_vocab ();
      tokenizer = vm_tokenizer_new_from_dir (tmp, &error);
      remove_synthetic_vocab (tmp);
    }
  if (tokenizer == NULL)
    g_error ("fuzz-tokenizer: %s", error->message);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GArray) ids = NULL;
  g_auto(GStrv) pieces = NULL;
  g_autofree char *clean = NULL;
  gint32 padded[VM_TOKENIZER_CONTEXT_LENGTH];
  guint n;

  ids = vm_tokenizer_encode (tokenizer, text);
  if (ids->len < 2 ||
      g_array_index (ids, gint32, 0) != vm_tokenizer_get_start_id (tokenizer) ||
      g_array_index (ids, gint32, ids->len - 1) != vm_tokenizer_get_end_id (tokenizer))
    abort ();
  for (guint i = 0; i < ids->len; i++)
    if (g_array_index (ids, gint32, i) < 0 ||
        (guint) g_array_index (ids, gint32, i) >= vm_tokenizer_get_vocab_size (tokenizer))
      abort ();

  n = vm_tokenizer_encode_padded (tokenizer, text, padded, VM_TOKENIZER_CONTEXT_LENGTH);
  if (n != MIN (ids->len, VM_TOKENIZER_CONTEXT_LENGTH) ||
      padded[n - 1] != vm_tokenizer_get_end_id (tokenizer) ||
      memcmp (padded, ids->data, (n - 1) * sizeof (gint32)) != 0)
    abort ();

  clean = vm_tokenizer_clean_text (text);
  if (!g_utf8_validate (clean, -1, NULL))
    abort ();
  pieces = vm_tokenizer_split (text);
  return 0;
}
