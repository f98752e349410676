/* test-tokenizer.c — CLIP's BPE tokenizer against an independent reference.
 *
 * Usage: test-tokenizer PYTHON3 MAKE-CLIP-VOCAB.PY
 * The fixture builds vocab.json and merges.txt from the shared merges list
 * and writes golden ids computed by its own reference tokenizer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-tokenizer.h"
#include "model/vm-model-error.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "../vm-test-util.h"

static const char *python;
static const char *fixture;
static char *tmpdir;
static char *skip_reason;
static VmTokenizer *tokenizer;
static JsonNode *golden;

/* Runs the fixture once; on failure to find its inputs the tests skip. */
static void
setup_fixture (void)
{
  const char *shared = g_getenv ("VIDMARK_SHARED_DIR");
  g_autofree char *bpe = NULL;
  g_autofree char *golden_path = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  int status = 0;

  if (shared == NULL)
    {
      skip_reason = g_strdup ("VIDMARK_SHARED_DIR is not set: no CLIP merges list to build the vocabulary from");
      return;
    }
  bpe = g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL);
  if (!g_file_test (bpe, G_FILE_TEST_EXISTS))
    {
      skip_reason = g_strdup_printf ("the CLIP merges list %s is absent", bpe);
      return;
    }

  tmpdir = g_dir_make_tmp ("vm-tokenizer-XXXXXX", &error);
  g_assert_no_error (error);
  golden_path = g_build_filename (tmpdir, "golden.json", NULL);

  const char *argv[] = { python, fixture, bpe, tmpdir, golden_path, NULL };
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      skip_reason = g_strdup_printf ("fixture skipped: %s", err);
      return;
    }
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("fixture failed: %s\n%s", error->message, err);

  tokenizer = vm_tokenizer_new_from_dir (tmpdir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tokenizer);

  parser = json_parser_new ();
  json_parser_load_from_file (parser, golden_path, &error);
  g_assert_no_error (error);
  golden = json_parser_steal_root (parser);
}

static gboolean
need_fixture (void)
{
  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return FALSE;
    }
  return TRUE;
}

static void
assert_ids (const gint32 *ids,
            guint         n,
            JsonArray    *expected,
            const char   *text)
{
  if (n != json_array_get_length (expected))
    g_error ("“%s”: %u ids, expected %u", text, n, json_array_get_length (expected));
  for (guint i = 0; i < n; i++)
    if (ids[i] != json_array_get_int_element (expected, i))
      g_error ("“%s”: id %u is %d, expected %" G_GINT64_FORMAT,
               text, i, ids[i], json_array_get_int_element (expected, i));
}

static void
test_literal_cat (void)
{
  static const gint32 expected[] = { 49406, 320, 1125, 539, 320, 2368, 49407 };
  g_autoptr(GArray) ids = NULL;
  gint32 padded[VM_TOKENIZER_CONTEXT_LENGTH];
  guint n;

  if (!need_fixture ())
    return;

  ids = vm_tokenizer_encode (tokenizer, "a photo of a cat");
  g_assert_cmpuint (ids->len, ==, G_N_ELEMENTS (expected));
  g_assert_cmpmem (ids->data, ids->len * sizeof (gint32), expected, sizeof expected);

  n = vm_tokenizer_encode_padded (tokenizer, "a photo of a cat", padded, VM_TOKENIZER_CONTEXT_LENGTH);
  g_assert_cmpuint (n, ==, 7);
  g_assert_cmpmem (padded, sizeof expected, expected, sizeof expected);
  for (guint i = 7; i < VM_TOKENIZER_CONTEXT_LENGTH; i++)
    g_assert_cmpint (padded[i], ==, 0);

  g_assert_cmpint (vm_tokenizer_get_start_id (tokenizer), ==, 49406);
  g_assert_cmpint (vm_tokenizer_get_end_id (tokenizer), ==, 49407);
  g_assert_cmpuint (vm_tokenizer_get_vocab_size (tokenizer), ==, 49408);
}

static void
test_golden (void)
{
  JsonArray *cases;

  if (!need_fixture ())
    return;

  cases = json_object_get_array_member (json_node_get_object (golden), "cases");
  g_assert_cmpuint (json_array_get_length (cases), >=, 20);

  for (guint c = 0; c < json_array_get_length (cases); c++)
    {
      JsonObject *gc = json_array_get_object_element (cases, c);
      const char *text = json_object_get_string_member (gc, "text");
      JsonArray *pieces = json_object_get_array_member (gc, "pieces");
      g_autofree char *clean = vm_tokenizer_clean_text (text);
      g_auto(GStrv) split = vm_tokenizer_split (text);
      g_autoptr(GArray) ids = vm_tokenizer_encode (tokenizer, text);
      gint32 padded[VM_TOKENIZER_CONTEXT_LENGTH];
      guint n;

      g_test_message ("case %u: %s", c, text);
      g_assert_cmpstr (clean, ==, json_object_get_string_member (gc, "clean"));
      g_assert_cmpuint (g_strv_length (split), ==, json_array_get_length (pieces));
      for (guint i = 0; split[i] != NULL; i++)
        g_assert_cmpstr (split[i], ==, json_array_get_string_element (pieces, i));

      assert_ids ((gint32 *) (void *) ids->data, ids->len,
                  json_object_get_array_member (gc, "ids"), text);

      n = vm_tokenizer_encode_padded (tokenizer, text, padded, VM_TOKENIZER_CONTEXT_LENGTH);
      assert_ids (padded, VM_TOKENIZER_CONTEXT_LENGTH,
                  json_object_get_array_member (gc, "padded"), text);
      g_assert_cmpuint (n, ==, MIN (ids->len, VM_TOKENIZER_CONTEXT_LENGTH));
      g_assert_cmpint (padded[n - 1], ==, 49407);
    }
}

/* Cleaning of every code point of planes 0 and 1, each alone. */
static void
test_every_char (void)
{
  JsonObject *every;
  g_autofree char *clean = NULL;
  const char *expected;
  const char *a, *b;

  if (!need_fixture ())
    return;

  every = json_object_get_object_member (json_node_get_object (golden), "every");
  clean = vm_tokenizer_clean_text (json_object_get_string_member (every, "text"));
  expected = json_object_get_string_member (every, "clean");
  if (strcmp (clean, expected) == 0)
    return;

  /* Name the first character that differs. */
  for (a = clean, b = expected; *a != '\0' && g_utf8_get_char (a) == g_utf8_get_char (b);
       a = g_utf8_next_char (a), b = g_utf8_next_char (b))
    ;
  g_error ("cleaning differs at U+%04X (expected U+%04X) after “%.20s”",
           g_utf8_get_char (a), g_utf8_get_char (b), a > clean + 20 ? a - 20 : clean);
}

/* Splitting: every code point's class (letter, number, space, other). */
static void
test_every_class (void)
{
  JsonObject *classes;
  JsonArray *expected;
  g_auto(GStrv) pieces = NULL;
  guint n;

  if (!need_fixture ())
    return;

  classes = json_object_get_object_member (json_node_get_object (golden), "classes");
  expected = json_object_get_array_member (classes, "pieces");
  pieces = vm_tokenizer_split (json_object_get_string_member (classes, "text"));
  n = MIN (g_strv_length (pieces), json_array_get_length (expected));
  for (guint i = 0; i < n; i++)
    if (strcmp (pieces[i], json_array_get_string_element (expected, i)) != 0)
      g_error ("piece %u is “%s”, expected “%s”", i, pieces[i],
               json_array_get_string_element (expected, i));
  g_assert_cmpuint (g_strv_length (pieces), ==, json_array_get_length (expected));
}

static void
test_truncation (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) ids = NULL;
  gint32 padded[VM_TOKENIZER_CONTEXT_LENGTH];
  gint32 small[5];
  guint n;

  if (!need_fixture ())
    return;

  for (int i = 0; i < 40; i++)
    g_string_append (text, "a photo of a cat ");
  ids = vm_tokenizer_encode (tokenizer, text->str);
  g_assert_cmpuint (ids->len, ==, 2 + 40 * 5);

  n = vm_tokenizer_encode_padded (tokenizer, text->str, padded, VM_TOKENIZER_CONTEXT_LENGTH);
  g_assert_cmpuint (n, ==, VM_TOKENIZER_CONTEXT_LENGTH);
  g_assert_cmpmem (padded, 76 * sizeof (gint32), ids->data, 76 * sizeof (gint32));
  g_assert_cmpint (padded[76], ==, 49407);

  /* Exactly 77 ids: nothing is cut. 75 words of one token + start + end. */
  g_string_truncate (text, 0);
  for (int i = 0; i < 75; i++)
    g_string_append (text, "cat ");
  n = vm_tokenizer_encode_padded (tokenizer, text->str, padded, VM_TOKENIZER_CONTEXT_LENGTH);
  g_assert_cmpuint (n, ==, 77);
  g_assert_cmpint (padded[75], ==, 2368);
  g_assert_cmpint (padded[76], ==, 49407);
  g_string_append (text, "dog");
  n = vm_tokenizer_encode_padded (tokenizer, text->str, padded, VM_TOKENIZER_CONTEXT_LENGTH);
  g_assert_cmpuint (n, ==, 77);
  g_assert_cmpint (padded[75], ==, 2368);
  g_assert_cmpint (padded[76], ==, 49407);

  /* Other context lengths. */
  n = vm_tokenizer_encode_padded (tokenizer, "a photo of a cat", small, G_N_ELEMENTS (small));
  g_assert_cmpuint (n, ==, 5);
  g_assert_cmpint (small[0], ==, 49406);
  g_assert_cmpint (small[3], ==, 539);
  g_assert_cmpint (small[4], ==, 49407);
  n = vm_tokenizer_encode_padded (tokenizer, "", small, 2);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (small[0], ==, 49406);
  g_assert_cmpint (small[1], ==, 49407);
}

/* Hostile inputs never crash and always give start ... end. */
static void
test_hostile_text (void)
{
  static const char * const texts[] = {
    "\xff\xfe invalid \xc3 utf8 \xed\xa0\x80",
    "&&&&&&&&&&&&&&&&&&&#&#x&#;&;;;;",
    "&#x7fffffffffffffffffffffffffffffff;&#99999999999999999999999999999;",
    "'''''''''''''''''''''''''''''''s",
    "<|<|<|<|startoftext|>|>|>",
  };
  g_autoptr(GString) huge = g_string_new (NULL);

  if (!need_fixture ())
    return;

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GArray) ids = vm_tokenizer_encode (tokenizer, texts[i]);
      g_assert_cmpuint (ids->len, >=, 2);
      g_assert_cmpint (g_array_index (ids, gint32, 0), ==, 49406);
      g_assert_cmpint (g_array_index (ids, gint32, ids->len - 1), ==, 49407);
      for (guint k = 0; k < ids->len; k++)
        g_assert_cmpint (g_array_index (ids, gint32, k), <, 49408);
    }

  /* A long single word: quadratic BPE must still be quick at this size. */
  for (int i = 0; i < 2000; i++)
    g_string_append (huge, "qz");
  {
    g_autoptr(GArray) ids = vm_tokenizer_encode (tokenizer, huge->str);
    g_assert_cmpuint (ids->len, >, 2);
  }
  {
    g_autoptr(GArray) ids = vm_tokenizer_encode (tokenizer, NULL);
    g_assert_cmpuint (ids->len, ==, 2);
  }
}

typedef struct {
  const char *text;
  GArray     *expected;
} ThreadCase;

static gpointer
encode_thread (gpointer data)
{
  ThreadCase *tc = data;

  for (int round = 0; round < 200; round++)
    {
      g_autoptr(GArray) ids = vm_tokenizer_encode (tokenizer, tc->text);
      if (ids->len != tc->expected->len ||
          memcmp (ids->data, tc->expected->data, ids->len * sizeof (gint32)) != 0)
        return GINT_TO_POINTER (1);
    }
  return NULL;
}

static void
test_threads (void)
{
  static const char *texts[] = {
    "a photo of a cat", "a dog running on the beach at sunset",
    "Привет мир", "超级马里奥 12345",
  };
  ThreadCase cases[G_N_ELEMENTS (texts)];
  GThread *threads[G_N_ELEMENTS (texts)];
  g_autoptr(VmTokenizer) fresh = NULL;

  if (!need_fixture ())
    return;

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      cases[i].text = texts[i];
      cases[i].expected = vm_tokenizer_encode (tokenizer, texts[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    threads[i] = g_thread_new ("encode", encode_thread, &cases[i]);
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_assert_null (g_thread_join (threads[i]));
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_array_unref (cases[i].expected);

  fresh = vm_tokenizer_ref (tokenizer);
  g_assert_true (fresh == tokenizer);
}

/* Cleaning alone needs no vocabulary. */
static void
test_clean (void)
{
  static const struct { const char *in, *out; } cases[] = {
    { "&amp;lt;b&amp;gt;", "<b>" },
    { "  A\t\tB\n\nC  ", "a b c" },
    { "&eacute;&Eacute;&#201;&#xc9;", "éééé" },
    { "&amp", "&" },
    { "&ampx", "&x" },
    { "&notit;", "¬it;" },
    { "&unknownname;", "&unknownname;" },
    { "&#128;", "€" },
    { "&#0;", "\xef\xbf\xbd" },
    { "&#1;x", "x" },
    { "&#xD800;", "\xef\xbf\xbd" },
    { "ΟΔΥΣΣΕΥΣ", "οδυσσευς" },
    { "Σ", "σ" },
    { "İ", "i\xcc\x87" },
    { "x&nbsp;y", "x y" },
    { "\x1c x \x1c", "x" },
    { "a\x1c" "b", "a\x1c" "b" },
    { "", "" },
    { NULL, "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *clean = vm_tokenizer_clean_text (cases[i].in);
      g_assert_cmpstr (clean, ==, cases[i].out);
    }

  {
    g_auto(GStrv) pieces = vm_tokenizer_split ("Don't stop 2024!! <|endoftext|>");
    const char *expected[] = { "don", "'t", "stop", "2", "0", "2", "4", "!!", "<|endoftext|>", NULL };
    g_assert_cmpstrv (pieces, expected);
  }
}

static char *
write_tmp (const char *name,
           const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path;
  static char *dir;

  if (dir == NULL)
    {
      dir = g_dir_make_tmp ("vm-tokenizer-bad-XXXXXX", &error);
      g_assert_no_error (error);
    }
  path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_bad_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmTokenizer) tok = NULL;
  g_autofree char *merges = write_tmp ("merges.txt", "#version: 0.2\nh e\n");
  g_autofree char *good_merges = NULL;
  g_autofree char *vocab_array = write_tmp ("array.json", "[1, 2, 3]");
  g_autofree char *vocab_small = write_tmp ("small.json", "{\"a\": 0, \"b\": 1}");
  g_autofree char *vocab_bad_id = write_tmp ("badid.json", "{\"a\": -4}");
  g_autofree char *vocab_str_id = write_tmp ("strid.json", "{\"a\": \"x\"}");
  g_autofree char *vocab_trunc = write_tmp ("trunc.json", "{\"a\": 1");
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autofree char *vocab_deep = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  vocab_deep = write_tmp ("deep.json", deep->str);

  tok = vm_tokenizer_new_from_files ("/nonexistent/vocab.json", merges, &error);
  g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND);
  g_assert_null (tok);
  g_clear_error (&error);

  const char *bad[] = { vocab_array, vocab_small, vocab_bad_id, vocab_str_id, vocab_trunc, vocab_deep };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      tok = vm_tokenizer_new_from_files (bad[i], merges, &error);
      g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER);
      g_assert_null (tok);
      g_test_message ("%s", error->message);
      g_clear_error (&error);
    }

  if (!need_fixture ())
    return;

  /* The real vocabulary with broken merges lists. */
  {
    g_autofree char *vocab = g_build_filename (tmpdir, "vocab.json", NULL);
    const char *bad_merges[] = {
      "#version: 0.2\nnot-a-token something\n",
      "#version: 0.2\nh e x\n",
      "#version: 0.2\nh\n",
      "#version: 0.2\n\nh e\n",
      "#version: 0.2\n\xff\xfe\n",
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad_merges); i++)
      {
        g_autofree char *path = write_tmp ("bad-merges.txt", bad_merges[i]);
        tok = vm_tokenizer_new_from_files (vocab, path, &error);
        g_assert_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER);
        g_assert_null (tok);
        g_clear_error (&error);
      }

    /* Merges need not be complete: with none at all, words stay bytes. */
    good_merges = write_tmp ("empty-merges.txt", "#version: 0.2\n");
    tok = vm_tokenizer_new_from_files (vocab, good_merges, &error);
    g_assert_no_error (error);
    {
      g_autoptr(GArray) ids = vm_tokenizer_encode (tok, "cat");
      g_assert_cmpuint (ids->len, ==, 5);
      g_assert_cmpint (g_array_index (ids, gint32, 1), ==, 'c' - '!');
      g_assert_cmpint (g_array_index (ids, gint32, 3), ==, 256 + 't' - '!');
    }
  }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (argc < 3)
    g_error ("usage: %s PYTHON3 MAKE-CLIP-VOCAB.PY", argv[0]);
  python = argv[1];
  fixture = argv[2];

  setup_fixture ();

  g_test_add_func ("/model/tokenizer/literal-cat", test_literal_cat);
  g_test_add_func ("/model/tokenizer/golden", test_golden);
  g_test_add_func ("/model/tokenizer/every-char", test_every_char);
  g_test_add_func ("/model/tokenizer/every-class", test_every_class);
  g_test_add_func ("/model/tokenizer/truncation", test_truncation);
  g_test_add_func ("/model/tokenizer/hostile-text", test_hostile_text);
  g_test_add_func ("/model/tokenizer/threads", test_threads);
  g_test_add_func ("/model/tokenizer/clean", test_clean);
  g_test_add_func ("/model/tokenizer/bad-files", test_bad_files);

  ret = g_test_run ();

  g_clear_pointer (&tokenizer, vm_tokenizer_unref);
  g_clear_pointer (&golden, json_node_unref);
  if (tmpdir != NULL)
    vm_test_remove_tree (tmpdir);
  g_free (tmpdir);
  g_free (skip_reason);
  return ret;
}
