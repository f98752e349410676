/* vm-tokenizer.c — CLIP's byte-level BPE tokenizer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-tokenizer.h"
#include "model/vm-model-error.h"
#include "model/vm-model-json-private.h"
#include "model/vm-html-entities.h"

#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VOCAB_FILE_SIZE  (64 * 1024 * 1024)
#define MAX_MERGES_FILE_SIZE (64 * 1024 * 1024)
#define MAX_CACHE_ENTRIES    50000
#define START_TOKEN          "<|startoftext|>"
#define END_TOKEN            "<|endoftext|>"

typedef struct {
  guint  rank;
  gint32 merged;
} Merge;

struct _VmTokenizer {
  gatomicrefcount  ref_count;
  GHashTable      *vocab;          /* char* token → id (GINT_TO_POINTER) */
  GHashTable      *merges;         /* guint64 (left << 32 | right) → Merge* */
  Merge           *merge_store;
  gint32           byte_id[256];   /* the byte's symbol */
  gint32           byte_end_id[256]; /* the byte's symbol + "</w>" */
  gint32           start_id;
  gint32           end_id;
  guint            vocab_size;

  GMutex           cache_lock;
  GHashTable      *cache;          /* char* word → gint32[1 + n] (n first) */
};

/* ------------------------------------------------------------------------ */
/* Character classes                                                         */

/* Python's str.isspace(): used by str.strip(). */
static gboolean
is_py_space (gunichar c)
{
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 ||
         c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
         c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* \s of the regex module: Unicode White_Space (without U+001C..U+001F,
 * which str.isspace() includes). */
static gboolean
is_re_space (gunichar c)
{
  return is_py_space (c) && !(c >= 0x1c && c <= 0x1f);
}

/* What no piece of the split matches: \s, and U+0345 COMBINING GREEK
 * YPOGEGRAMMENI, which the case-insensitive pattern takes for neither a
 * letter (it is a mark) nor a non-letter (its case variants are letters),
 * so the original drops it. */
static gboolean
is_skipped (gunichar c)
{
  return is_re_space (c) || c == 0x0345;
}

static gboolean
is_letter (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_number (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
      return TRUE;
    default:
      return FALSE;
    }
}

/* ------------------------------------------------------------------------ */
/* HTML character references, as Python's html.unescape()                    */

static int
entity_cmp (const void *key,
            const void *member)
{
  return strcmp (key, ((const VmHtmlEntity *) member)->name);
}

static const char *
lookup_entity (const gunichar *name,
               gsize           length)
{
  char buf[40];

  if (length >= sizeof buf)
    return NULL;
  for (gsize i = 0; i < length; i++)
    {
      if (name[i] == 0 || name[i] > 0x7f)
        return NULL;   /* every name in the table is ASCII */
      buf[i] = (char) name[i];
    }
  buf[length] = '\0';

  const VmHtmlEntity *e = bsearch (buf, vm_html_entities, G_N_ELEMENTS (vm_html_entities),
                                   sizeof vm_html_entities[0], entity_cmp);
  return e != NULL ? e->value : NULL;
}

static void
append_utf8 (GArray     *out,
             const char *utf8)
{
  for (const char *p = utf8; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      g_array_append_val (out, c);
    }
}

static void
append_chars (GArray         *out,
              const gunichar *chars,
              gsize           n)
{
  g_array_append_vals (out, chars, n);
}

/* Windows-1252 stand-ins for the references HTML5 repairs (and U+0000). */
static gunichar
invalid_charref (guint64 num)
{
  static const guint16 c1[32] = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
    0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
  };

  if (num == 0)
    return 0xfffd;
  if (num == 0x0d)
    return 0x0d;
  if (num >= 0x80 && num <= 0x9f)
    return c1[num - 0x80];
  return 0;
}

static gboolean
is_invalid_codepoint (guint64 num)
{
  return (num >= 0x1 && num <= 0x8) || num == 0xb || (num >= 0xe && num <= 0x1f) ||
         (num >= 0x7f && num <= 0x9f) || (num >= 0xfdd0 && num <= 0xfdef) ||
         (num <= 0x10ffff && (num & 0xfffe) == 0xfffe);
}

static gboolean
is_entity_name_char (gunichar c)
{
  return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' &&
         c != '&' && c != '#' && c != ';';
}

static GArray *
html_unescape (const gunichar *in,
               gsize           n)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), n + 1);  /* never NULL data */
  gsize i = 0;

  while (i < n)
    {
      if (in[i] != '&')
        {
          g_array_append_val (out, in[i]);
          i++;
          continue;
        }

      if (i + 1 < n && in[i + 1] == '#')
        {
          gboolean hex = i + 3 < n && (in[i + 2] == 'x' || in[i + 2] == 'X') &&
                         g_unichar_isxdigit (in[i + 3]) && in[i + 3] < 0x80;
          gboolean dec = i + 2 < n && in[i + 2] >= '0' && in[i + 2] <= '9';
          guint64 num = 0;
          gsize j;

          if (!dec && !hex)
            {
              g_array_append_val (out, in[i]);
              i++;
              continue;
            }
          j = dec ? i + 2 : i + 3;
          while (j < n && in[j] < 0x80 &&
                 (dec ? g_ascii_isdigit (in[j]) : g_ascii_isxdigit (in[j])))
            {
              int d = dec ? (int) in[j] - '0' : g_ascii_xdigit_value ((char) in[j]);
              num = num * (dec ? 10 : 16) + d;
              if (num > 0x110000)
                num = 0x110000;   /* saturate: anything past U+10FFFF is the same */
              j++;
            }
          if (j < n && in[j] == ';')
            j++;
          i = j;

          gunichar repl = invalid_charref (num);
          if (repl != 0)
            g_array_append_val (out, repl);
          else if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff)
            {
              gunichar r = 0xfffd;
              g_array_append_val (out, r);
            }
          else if (!is_invalid_codepoint (num))
            {
              gunichar c = (gunichar) num;
              g_array_append_val (out, c);
            }
          continue;
        }

      /* A named reference: up to 32 name characters and an optional ';'. */
      {
        gsize start = i + 1;
        gsize len = 0;
        const char *value;

        while (start + len < n && len < 32 && is_entity_name_char (in[start + len]))
          len++;
        if (len == 0)
          {
            g_array_append_val (out, in[i]);
            i++;
            continue;
          }
        if (start + len < n && in[start + len] == ';')
          len++;
        i = start + len;

        value = lookup_entity (in + start, len);
        if (value != NULL)
          {
            append_utf8 (out, value);
            continue;
          }
        /* The longest prefix that is a reference (of the legacy names that
         * need no semicolon), the rest kept as it is. */
        {
          gsize x;

          for (x = len - 1; x > 1; x--)
            {
              value = lookup_entity (in + start, x);
              if (value != NULL)
                break;
            }
          if (value != NULL)
            {
              append_utf8 (out, value);
              append_chars (out, in + start + x, len - x);
              continue;
            }
        }
        {
          gunichar amp = '&';
          g_array_append_val (out, amp);
          append_chars (out, in + start, len);
        }
      }
    }

  return out;
}

/* ------------------------------------------------------------------------ */
/* Lower-casing as Python's str.lower()                                      */

static gboolean
is_cased (gunichar c)
{
  return g_unichar_isupper (c) || g_unichar_islower (c) || g_unichar_istitle (c);
}

static gboolean
is_case_ignorable (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL:
      return TRUE;
    default:
      break;
    }
  /* Word_Break MidLetter, MidNumLet and Single_Quote. */
  switch (c)
    {
    case 0x0027: case 0x002e: case 0x003a: case 0x00b7: case 0x0387:
    case 0x055f: case 0x05f4: case 0x2018: case 0x2019: case 0x2024:
    case 0x2027: case 0xfe13: case 0xfe52: case 0xfe55: case 0xff07:
    case 0xff0e: case 0xff1a:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Unicode's Final_Sigma condition for the capital sigma at @i. */
static gboolean
is_final_sigma (const gunichar *s,
                gsize           n,
                gsize           i)
{
  gsize j;
  gboolean before = FALSE;

  for (j = i; j > 0; j--)
    {
      if (is_case_ignorable (s[j - 1]))
        continue;
      before = is_cased (s[j - 1]);
      break;
    }
  if (!before)
    return FALSE;
  for (j = i + 1; j < n; j++)
    {
      if (is_case_ignorable (s[j]))
        continue;
      return !is_cased (s[j]);
    }
  return TRUE;
}

static GArray *
lower (const gunichar *in,
       gsize           n)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), n + 1);  /* never NULL data */

  for (gsize i = 0; i < n; i++)
    {
      gunichar c = in[i];

      if (c == 0x0130)
        {
          gunichar pair[2] = { 'i', 0x0307 };
          g_array_append_vals (out, pair, 2);
          continue;
        }
      if (c == 0x03a3)
        c = is_final_sigma (in, n, i) ? 0x03c2 : 0x03c3;
      else if (c >= 0x2160 && c <= 0x216f)   /* Roman numerals (Nl, Other_Uppercase) */
        c += 0x10;
      else if (c >= 0x24b6 && c <= 0x24cf)   /* circled Latin capitals (So) */
        c += 0x1a;
      else
        c = g_unichar_tolower (c);
      g_array_append_val (out, c);
    }
  return out;
}

/* ------------------------------------------------------------------------ */
/* Cleaning and splitting                                                    */

static GArray *
clean (const char *text)
{
  g_autofree char *valid = NULL;
  g_autofree gunichar *chars = NULL;
  g_autoptr(GArray) once = NULL;
  g_autoptr(GArray) twice = NULL;
  g_autoptr(GArray) spaced = NULL;
  glong n = 0;
  gsize begin, end;
  const gunichar *t;

  if (text == NULL)
    text = "";
  valid = g_utf8_make_valid (text, -1);
  chars = g_utf8_to_ucs4_fast (valid, -1, &n);

  once = html_unescape (chars, (gsize) n);
  twice = html_unescape ((gunichar *) (void *) once->data, once->len);

  /* str.strip(), then every \s run → ' ', then str.strip() again. */
  t = (const gunichar *) (void *) twice->data;
  begin = 0;
  end = twice->len;
  while (begin < end && is_py_space (t[begin]))
    begin++;
  while (end > begin && is_py_space (t[end - 1]))
    end--;

  spaced = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), end - begin + 1);  /* never NULL data */
  for (gsize i = begin; i < end;)
    {
      if (is_re_space (t[i]))
        {
          gunichar space = ' ';
          g_array_append_val (spaced, space);
          while (i < end && is_re_space (t[i]))
            i++;
        }
      else
        {
          g_array_append_val (spaced, t[i]);
          i++;
        }
    }
  t = (const gunichar *) (void *) spaced->data;
  begin = 0;
  end = spaced->len;
  while (begin < end && is_py_space (t[begin]))
    begin++;
  while (end > begin && is_py_space (t[end - 1]))
    end--;

  return lower (t + begin, end - begin);
}

/* Case-insensitive match of the ASCII @pattern at @s[i] (lower-case input:
 * only U+017F LONG S also folds to an ASCII letter of these patterns). */
static gsize
match_at (const gunichar *s,
          gsize           n,
          gsize           i,
          const char     *pattern)
{
  gsize k;

  for (k = 0; pattern[k] != '\0'; k++)
    {
      gunichar c;

      if (i + k >= n)
        return 0;
      c = s[i + k];
      if (c == 0x017f)
        c = 's';
      else if (c == 0x212a)
        c = 'k';
      else if (c < 0x80)
        c = g_ascii_tolower (c);
      if (c != (gunichar) pattern[k])
        return 0;
    }
  return k;
}

/* The length of the piece starting at @s[i], or 0 when @s[i] is white space
 * that no piece starts with. */
static gsize
next_piece (const gunichar *s,
            gsize           n,
            gsize           i)
{
  static const char * const specials[] = {
    START_TOKEN, END_TOKEN,
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
  };
  gsize k;

  for (k = 0; k < G_N_ELEMENTS (specials); k++)
    {
      gsize len = match_at (s, n, i, specials[k]);
      if (len > 0)
        return len;
    }

  if (is_letter (s[i]))
    {
      for (k = i; k < n && is_letter (s[k]); k++)
        ;
      return k - i;
    }
  if (is_number (s[i]))
    return 1;
  if (is_skipped (s[i]))
    return 0;
  for (k = i; k < n && !is_skipped (s[k]) && !is_letter (s[k]) && !is_number (s[k]); k++)
    ;
  return k - i;
}

char *
vm_tokenizer_clean_text (const char *text)
{
  g_autoptr(GArray) cleaned = clean (text);

  return g_ucs4_to_utf8 ((gunichar *) (void *) cleaned->data, cleaned->len, NULL, NULL, NULL);
}

typedef void (*PieceFunc) (const gunichar *piece,
                           gsize           length,
                           gpointer        user_data);

static void
foreach_piece (const char *text,
               PieceFunc   func,
               gpointer    user_data)
{
  g_autoptr(GArray) cleaned = clean (text);
  const gunichar *s = (const gunichar *) (void *) cleaned->data;
  gsize n = cleaned->len;

  for (gsize i = 0; i < n;)
    {
      gsize len = next_piece (s, n, i);

      if (len == 0)
        {
          i++;
          continue;
        }
      func (s + i, len, user_data);
      i += len;
    }
}

static void
collect_piece_cb (const gunichar *piece,
                  gsize           length,
                  gpointer        user_data)
{
  GPtrArray *pieces = user_data;

  g_ptr_array_add (pieces, g_ucs4_to_utf8 (piece, (glong) length, NULL, NULL, NULL));
}

char **
vm_tokenizer_split (const char *text)
{
  GPtrArray *pieces = g_ptr_array_new ();

  foreach_piece (text, collect_piece_cb, pieces);
  g_ptr_array_add (pieces, NULL);
  return (char **) g_ptr_array_free (pieces, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Byte-pair encoding                                                        */

/* GPT-2's table: printable bytes stand for themselves, the others get the
 * code points from U+0100 on, in byte order. */
static gunichar
byte_to_unicode (guint b)
{
  guint n = 0;

  if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff))
    return b;
  for (guint x = 0; x < b; x++)
    if (!((x >= '!' && x <= '~') || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff)))
      n++;
  return 0x100 + n;
}

static inline guint64
pair_key (gint32 left,
          gint32 right)
{
  return ((guint64) (guint32) left << 32) | (guint32) right;
}

/* g_int64_hash() folds the halves with XOR, which collides badly for pairs
 * of small ids: mix the bits first. */
static guint
pair_hash (gconstpointer key)
{
  guint64 v = *(const guint64 *) key * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  return (guint) (v >> 32);
}

/* Merges @word (@n symbol ids) in place; returns the new length. */
static gsize
bpe (VmTokenizer *self,
     gint32      *word,
     gsize        n)
{
  while (n > 1)
    {
      const Merge *best = NULL;
      gint32 first = 0, second = 0;

      for (gsize i = 0; i + 1 < n; i++)
        {
          guint64 key = pair_key (word[i], word[i + 1]);
          const Merge *m = g_hash_table_lookup (self->merges, &key);

          if (m != NULL && (best == NULL || m->rank < best->rank))
            {
              best = m;
              first = word[i];
              second = word[i + 1];
            }
        }
      if (best == NULL)
        break;

      gsize out = 0;
      for (gsize i = 0; i < n;)
        {
          if (i + 1 < n && word[i] == first && word[i + 1] == second)
            {
              word[out++] = best->merged;
              i += 2;
            }
          else
            word[out++] = word[i++];
        }
      n = out;
    }
  return n;
}

typedef struct {
  VmTokenizer *self;
  GArray      *ids;
  guint        limit;   /* stop once this many ids are out (0: no limit) */
} EncodeState;

static void
encode_piece_cb (const gunichar *piece,
                 gsize           length,
                 gpointer        user_data)
{
  EncodeState *state = user_data;
  VmTokenizer *self = state->self;
  g_autofree char *utf8 = NULL;
  g_autofree gint32 *word = NULL;
  glong n_bytes = 0;
  gsize n;
  gint32 *cached;

  if (state->limit > 0 && state->ids->len >= state->limit)
    return;

  utf8 = g_ucs4_to_utf8 (piece, (glong) length, NULL, &n_bytes, NULL);
  if (utf8 == NULL || n_bytes == 0)
    return;

  if (strcmp (utf8, START_TOKEN) == 0)
    {
      g_array_append_val (state->ids, self->start_id);
      return;
    }
  if (strcmp (utf8, END_TOKEN) == 0)
    {
      g_array_append_val (state->ids, self->end_id);
      return;
    }

  g_mutex_lock (&self->cache_lock);
  cached = g_hash_table_lookup (self->cache, utf8);
  if (cached != NULL)
    {
      g_array_append_vals (state->ids, cached + 1, (guint) cached[0]);
      g_mutex_unlock (&self->cache_lock);
      return;
    }
  g_mutex_unlock (&self->cache_lock);

  word = g_new (gint32, n_bytes + 1);
  for (glong i = 0; i < n_bytes; i++)
    {
      guint8 b = (guint8) utf8[i];
      word[i + 1] = i + 1 < n_bytes ? self->byte_id[b] : self->byte_end_id[b];
    }
  n = bpe (self, word + 1, (gsize) n_bytes);
  g_array_append_vals (state->ids, word + 1, (guint) n);

  word[0] = (gint32) n;
  g_mutex_lock (&self->cache_lock);
  if (g_hash_table_size (self->cache) >= MAX_CACHE_ENTRIES)
    g_hash_table_remove_all (self->cache);
  g_hash_table_insert (self->cache, g_steal_pointer (&utf8), g_steal_pointer (&word));
  g_mutex_unlock (&self->cache_lock);
}

GArray *
vm_tokenizer_encode (VmTokenizer *self,
                     const char  *text)
{
  EncodeState state = { self, NULL, 0 };

  g_return_val_if_fail (self != NULL, NULL);

  state.ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_val (state.ids, self->start_id);
  foreach_piece (text, encode_piece_cb, &state);
  g_array_append_val (state.ids, self->end_id);
  return state.ids;
}

guint
vm_tokenizer_encode_padded (VmTokenizer *self,
                            const char  *text,
                            gint32      *ids,
                            guint        context_length)
{
  EncodeState state = { self, NULL, context_length };
  guint n;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (ids != NULL, 0);
  g_return_val_if_fail (context_length >= 2, 0);

  state.ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_val (state.ids, self->start_id);
  /* Later pieces cannot change earlier ids: stop once the context is full. */
  foreach_piece (text, encode_piece_cb, &state);
  g_array_append_val (state.ids, self->end_id);

  n = MIN (state.ids->len, context_length);
  memcpy (ids, state.ids->data, n * sizeof (gint32));
  ids[n - 1] = self->end_id;
  for (guint i = n; i < context_length; i++)
    ids[i] = 0;
  g_array_unref (state.ids);
  return n;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

static gboolean
vocab_lookup (VmTokenizer *self,
              const char  *token,
              gint32      *out_id)
{
  gpointer value;

  if (!g_hash_table_lookup_extended (self->vocab, token, NULL, &value))
    return FALSE;
  *out_id = GPOINTER_TO_INT (value);
  return TRUE;
}

static gboolean
load_vocab (VmTokenizer  *self,
            const char   *path,
            GError      **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  gint64 max_id = -1;

  root = _vm_model_json_parse_file (path, MAX_VOCAB_FILE_SIZE, VM_MODEL_ERROR_TOKENIZER, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                   _("%s: not a JSON object of token → id"), display);
      return FALSE;
    }

  object = json_node_get_object (root);
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &node))
    {
      gint64 id;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
          (id = json_node_get_int (node)) < 0 || id >= G_MAXINT32)
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                       _("%s: the id of token “%s” is not a non-negative integer"),
                       display, name);
          return FALSE;
        }
      g_hash_table_insert (self->vocab, g_strdup (name), GINT_TO_POINTER ((gint) id));
      max_id = MAX (max_id, id);
    }
  self->vocab_size = (guint) (max_id + 1);

  for (guint b = 0; b < 256; b++)
    {
      char sym[16];
      gint len = g_unichar_to_utf8 (byte_to_unicode (b), sym);

      sym[len] = '\0';
      if (!vocab_lookup (self, sym, &self->byte_id[b]))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                       _("%s: the symbol of byte %u is missing"), display, b);
          return FALSE;
        }
      strcpy (sym + len, "</w>");
      if (!vocab_lookup (self, sym, &self->byte_end_id[b]))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                       _("%s: the symbol of byte %u with </w> is missing"), display, b);
          return FALSE;
        }
    }
  if (!vocab_lookup (self, START_TOKEN, &self->start_id) ||
      !vocab_lookup (self, END_TOKEN, &self->end_id))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                   _("%s: %s or %s is missing"), display, START_TOKEN, END_TOKEN);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_merges (VmTokenizer  *self,
             const char   *path,
             GError      **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) buf = NULL;
  const char *p, *end;
  guint line_no = 0;
  guint rank = 0;

  file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL)
    {
      int code = g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? VM_MODEL_ERROR_NOT_FOUND : VM_MODEL_ERROR_IO;
      g_set_error (error, VM_MODEL_ERROR, code, "%s", local_error->message);
      return FALSE;
    }
  if (g_mapped_file_get_length (file) > MAX_MERGES_FILE_SIZE)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                   _("%s: too large"), display);
      return FALSE;
    }
  p = g_mapped_file_get_contents (file);
  end = p + g_mapped_file_get_length (file);
  if (p == NULL)
    p = end = "";
  if (!g_utf8_validate_len (p, (gsize) (end - p), NULL))
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                   _("%s: not valid UTF-8 text"), display);
      return FALSE;
    }

  self->merge_store = g_new0 (Merge, VM_TOKENIZER_MAX_MERGES);
  buf = g_string_new (NULL);

  while (p < end && rank < VM_TOKENIZER_MAX_MERGES)
    {
      const char *eol = memchr (p, '\n', (gsize) (end - p));
      const char *space, *second;
      gint32 left, right, merged;
      gsize len, left_len;

      if (eol == NULL)
        eol = end;
      len = (gsize) (eol - p);
      if (len > 0 && p[len - 1] == '\r')
        len--;
      line_no++;

      if (line_no == 1 && len >= 8 && memcmp (p, "#version", 8) == 0)
        {
          p = eol < end ? eol + 1 : end;
          continue;
        }
      if (len == 0 && eol + 1 >= end)
        break;

      /* "left right": exactly one space, neither side empty. */
      space = memchr (p, ' ', len);
      left_len = space != NULL ? (gsize) (space - p) : 0;
      second = space != NULL ? space + 1 : NULL;
      if (space == NULL || left_len == 0 || second >= p + len ||
          memchr (second, ' ', (gsize) (p + len - second)) != NULL)
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                       _("%s: line %u is not a pair of symbols"), display, line_no);
          return FALSE;
        }

      /* buf holds "left\0right\0leftright". */
      g_string_truncate (buf, 0);
      g_string_append_len (buf, p, (gssize) left_len);
      g_string_append_c (buf, '\0');
      g_string_append_len (buf, second, (gssize) (p + len - second));
      g_string_append_c (buf, '\0');
      g_string_append_len (buf, p, (gssize) left_len);
      g_string_append_len (buf, second, (gssize) (p + len - second));
      p = eol < end ? eol + 1 : end;

      if (!vocab_lookup (self, buf->str, &left) ||
          !vocab_lookup (self, buf->str + left_len + 1, &right) ||
          !vocab_lookup (self, buf->str + left_len + 1 + (len - left_len - 1) + 1, &merged))
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_TOKENIZER,
                       _("%s: line %u merges symbols missing from the vocabulary"),
                       display, line_no);
          return FALSE;
        }

      Merge *m = &self->merge_store[rank];
      guint64 *key = g_new (guint64, 1);

      m->rank = rank;
      m->merged = merged;
      *key = pair_key (left, right);
      /* As a dict built from the list: a repeated pair keeps its last rank. */
      g_hash_table_insert (self->merges, key, m);
      rank++;
    }

  return TRUE;
}

VmTokenizer *
vm_tokenizer_new_from_files (const char  *vocab_path,
                             const char  *merges_path,
                             GError     **error)
{
  g_autoptr(VmTokenizer) self = g_new0 (VmTokenizer, 1);

  g_return_val_if_fail (vocab_path != NULL, NULL);
  g_return_val_if_fail (merges_path != NULL, NULL);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->cache_lock);
  self->vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->merges = g_hash_table_new_full (pair_hash, g_int64_equal, g_free, NULL);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (!load_vocab (self, vocab_path, error) || !load_merges (self, merges_path, error))
    return NULL;

  return g_steal_pointer (&self);
}

VmTokenizer *
vm_tokenizer_new_from_dir (const char  *dir,
                           GError     **error)
{
  g_autofree char *vocab = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *merges = g_build_filename (dir, "merges.txt", NULL);

  return vm_tokenizer_new_from_files (vocab, merges, error);
}

VmTokenizer *
vm_tokenizer_ref (VmTokenizer *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
vm_tokenizer_unref (VmTokenizer *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_pointer (&self->vocab, g_hash_table_unref);
  g_clear_pointer (&self->merges, g_hash_table_unref);
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_free (self->merge_store);
  g_mutex_clear (&self->cache_lock);
  g_free (self);
}

gint32
vm_tokenizer_get_start_id (VmTokenizer *self)
{
  return self->start_id;
}

gint32
vm_tokenizer_get_end_id (VmTokenizer *self)
{
  return self->end_id;
}

guint
vm_tokenizer_get_vocab_size (VmTokenizer *self)
{
  return self->vocab_size;
}
