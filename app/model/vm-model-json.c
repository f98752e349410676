/* vm-model-json.c — bounded JSON parsing for untrusted model files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-model-json-private.h"
#include "model/vm-model-error.h"

#include <glib/gi18n.h>
#include <string.h>

/* Checks what json-glib does not: nesting depth, strict characters between
 * tokens, integer size.  Strings are skipped with their escapes so that
 * brackets inside them do not count. */
static gboolean
prescan (const char  *data,
         gsize        length,
         guint        max_depth,
         const char  *what,
         int          error_code,
         GError     **error)
{
  guint depth = 0;
  gsize i = 0;
  gboolean done = FALSE;   /* a whole top-level value has been seen */

  while (i < length)
    {
      char c = data[i];

      if (done && c != ' ' && c != '\t' && c != '\n' && c != '\r')
        {
          /* json-glib rejects it too, but leaks what it parsed first. */
          g_set_error (error, VM_MODEL_ERROR, error_code,
                       _("%s: unexpected text after the JSON value at byte %zu"),
                       what, i);
          return FALSE;
        }

      switch (c)
        {
        case '"':
          i++;
          while (i < length && data[i] != '"')
            {
              if (data[i] == '\\')
                i++;
              i++;
            }
          if (i >= length)
            {
              g_set_error (error, VM_MODEL_ERROR, error_code,
                           _("%s: unterminated string"), what);
              return FALSE;
            }
          i++;
          done = depth == 0;
          break;

        case '{':
        case '[':
          if (++depth > max_depth)
            {
              g_set_error (error, VM_MODEL_ERROR, error_code,
                           _("%s: JSON nested deeper than %u levels"), what, max_depth);
              return FALSE;
            }
          i++;
          break;

        case '}':
        case ']':
          if (depth == 0)
            {
              g_set_error (error, VM_MODEL_ERROR, error_code,
                           _("%s: unbalanced '%c' at byte %zu"), what, c, i);
              return FALSE;
            }
          depth--;
          i++;
          done = depth == 0;
          break;

        case ' ': case '\t': case '\n': case '\r': case ':': case ',':
          i++;
          break;

        case 't':
        case 'f':
        case 'n':
          {
            static const char * const literals[] = { "true", "false", "null" };
            gboolean found = FALSE;

            for (guint k = 0; k < G_N_ELEMENTS (literals) && !found; k++)
              {
                gsize n = strlen (literals[k]);

                if (length - i >= n && memcmp (data + i, literals[k], n) == 0)
                  {
                    i += n;
                    found = TRUE;
                  }
              }
            if (!found)
              {
                g_set_error (error, VM_MODEL_ERROR, error_code,
                             _("%s: unexpected character at byte %zu (not JSON)"),
                             what, i);
                return FALSE;
              }
            done = depth == 0;
          }
          break;

        case '-': case '0': case '1': case '2': case '3': case '4': case '5':
        case '6': case '7': case '8': case '9':
          {
            gsize start = i;
            gboolean negative = c == '-';
            gboolean is_float = FALSE;
            gboolean overflow = FALSE;
            guint64 value = 0;

            while (i < length && data[i] != '\0' && strchr ("-+.eE0123456789", data[i]) != NULL)
              {
                if (data[i] == '.' || data[i] == 'e' || data[i] == 'E')
                  is_float = TRUE;
                i++;
              }
            /* json-glib wraps integers outside gint64 silently. */
            for (gsize k = start + (negative ? 1 : 0); !is_float && k < i; k++)
              {
                if (!g_ascii_isdigit (data[k]) ||
                    !g_uint64_checked_mul (&value, value, 10) ||
                    !g_uint64_checked_add (&value, value, (guint64) (data[k] - '0')))
                  {
                    overflow = TRUE;
                    break;
                  }
              }
            if (!is_float &&
                (overflow || value > (guint64) G_MAXINT64 + (negative ? 1 : 0)))
              {
                g_set_error (error, VM_MODEL_ERROR, error_code,
                             _("%s: integer out of the 64-bit range at byte %zu"),
                             what, start);
                return FALSE;
              }
            done = depth == 0;
          }
          break;

        default:
          g_set_error (error, VM_MODEL_ERROR, error_code,
                       _("%s: unexpected character at byte %zu (not JSON)"),
                       what, i);
          return FALSE;
        }
    }

  return TRUE;
}

typedef struct {
  GHashTable *counts;   /* JsonObject* → number of members seen */
  char       *duplicate;
} DupCheck;

static void
object_member_cb (JsonParser *parser,
                  JsonObject *object,
                  const char *member_name,
                  gpointer    user_data)
{
  DupCheck *check = user_data;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (check->counts, object)) + 1;

  g_hash_table_insert (check->counts, object, GUINT_TO_POINTER (n));
  /* json-glib replaces a member of the same name silently: when the object
   * holds fewer members than were parsed, this one was a duplicate. */
  if (json_object_get_size (object) < n && check->duplicate == NULL)
    check->duplicate = g_strdup (member_name);
}

static void
object_end_cb (JsonParser *parser,
               JsonObject *object,
               gpointer    user_data)
{
  DupCheck *check = user_data;

  g_hash_table_remove (check->counts, object);
}

JsonNode *
_vm_model_json_parse (const char  *data,
                      gsize        length,
                      guint        max_depth,
                      gboolean     reject_duplicates,
                      const char  *what,
                      int          error_code,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  DupCheck check = { NULL, NULL };
  JsonNode *root;
  gboolean ok;

  if (length > G_MAXSSIZE)
    {
      g_set_error (error, VM_MODEL_ERROR, error_code, _("%s: too large"), what);
      return NULL;
    }
  if (!g_utf8_validate_len (data, length, NULL))
    {
      g_set_error (error, VM_MODEL_ERROR, error_code,
                   _("%s: not valid UTF-8 text"), what);
      return NULL;
    }
  if (!prescan (data, length, max_depth, what, error_code, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (reject_duplicates)
    {
      check.counts = g_hash_table_new (NULL, NULL);
      g_signal_connect (parser, "object-member", G_CALLBACK (object_member_cb), &check);
      g_signal_connect (parser, "object-end", G_CALLBACK (object_end_cb), &check);
    }

  ok = json_parser_load_from_data (parser, data, (gssize) length, &local_error);
  g_clear_pointer (&check.counts, g_hash_table_unref);

  if (!ok)
    {
      g_free (check.duplicate);
      g_set_error (error, VM_MODEL_ERROR, error_code,
                   _("%s: invalid JSON: %s"), what, local_error->message);
      return NULL;
    }
  if (check.duplicate != NULL)
    {
      g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_DUPLICATE,
                   _("%s: “%s” appears twice"), what, check.duplicate);
      g_free (check.duplicate);
      return NULL;
    }

  root = json_parser_steal_root (parser);
  if (root == NULL)
    {
      g_set_error (error, VM_MODEL_ERROR, error_code, _("%s: empty JSON"), what);
      return NULL;
    }
  return root;
}

JsonNode *
_vm_model_json_parse_file (const char  *path,
                           gsize        max_size,
                           int          error_code,
                           GError     **error)
{
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *display = g_filename_display_name (path);
  gsize length;

  file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL)
    {
      int code = g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? VM_MODEL_ERROR_NOT_FOUND : VM_MODEL_ERROR_IO;
      g_set_error (error, VM_MODEL_ERROR, code, "%s", local_error->message);
      return NULL;
    }
  length = g_mapped_file_get_length (file);
  if (length > max_size)
    {
      g_set_error (error, VM_MODEL_ERROR, error_code,
                   _("%s: larger than %zu bytes"), display, max_size);
      return NULL;
    }
  return _vm_model_json_parse (g_mapped_file_get_contents (file) ? g_mapped_file_get_contents (file) : "",
                               length, VM_MODEL_JSON_MAX_DEPTH, FALSE, display,
                               error_code, error);
}
