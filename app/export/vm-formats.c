/* vm-formats.c — dataset file formats, in and out.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "export/vm-formats.h"

#include <inttypes.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* A window may end this far past the duration (rounded durations, clip
 * granularity); it is then clamped to the duration. */
#define VM_NSEC_PER_SEC_ G_GINT64_CONSTANT (1000000000)
#define DURATION_TOLERANCE_NS (VM_NSEC_PER_SEC_ / 2)
#define MAX_TEXT_BYTES (64 * 1024)
#define MAX_CLIP 10000000u

/* ---- Issues ---------------------------------------------------------------- */

void
vm_issue_free (VmIssue *issue)
{
  if (issue == NULL)
    return;
  g_free (issue->where);
  g_free (issue->reason);
  g_free (issue);
}

GPtrArray *
vm_issues_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) vm_issue_free);
}

void
vm_issues_add (GPtrArray  *issues,
               const char *where,
               const char *format,
               ...)
{
  VmIssue *issue;
  va_list args;

  if (issues == NULL)
    return;
  issue = g_new0 (VmIssue, 1);
  issue->where = g_strdup (where);
  va_start (args, format);
  issue->reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (issues, issue);
}

void
vm_read_limits_init (VmReadLimits *limits)
{
  limits->max_bytes = VM_IMPORT_MAX_BYTES_DEFAULT;
  limits->max_depth = VM_IMPORT_MAX_DEPTH_DEFAULT;
}

/* ---- Pre-scan ------------------------------------------------------------- */

typedef struct {
  GHashTable *keys;      /* NULL for an array level */
  gboolean    is_object;
  gboolean    want_key;
} ScanLevel;

static void
scan_level_clear (gpointer data)
{
  ScanLevel *level = data;
  g_clear_pointer (&level->keys, g_hash_table_unref);
}

gboolean
vm_json_prescan (const char  *data,
                 gsize        length,
                 guint        max_depth,
                 GError     **error)
{
  g_autoptr(GArray) stack = g_array_new (FALSE, TRUE, sizeof (ScanLevel));
  const char *bad = NULL;
  guint line = 1;
  gboolean done = FALSE, in_scalar = FALSE;

  g_array_set_clear_func (stack, scan_level_clear);

  if (!g_utf8_validate (data, length, &bad))
    {
      for (const char *p = data; p < bad; p++)
        if (*p == '\n')
          line++;
      if (bad < data + length && *bad == '\0')
        g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                     _("line %u: a NUL byte"), line);
      else
        g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                     _("line %u: not valid UTF-8"), line);
      return FALSE;
    }

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      /* One value per text: json-glib 1.6 takes "{} {}" as the first value
       * and leaks the others. */
      if (stack->len == 0)
        {
          gboolean blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';

          if (blank && in_scalar)
            {
              in_scalar = FALSE;
              done = TRUE;
            }
          else if (!blank && (done || (in_scalar && (c == '{' || c == '[' || c == '"'))))
            {
              g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                           _("line %u: more than one JSON value"), line);
              return FALSE;
            }
          else if (!blank && c != '{' && c != '[' && c != '"' && c != '}' && c != ']')
            in_scalar = TRUE;
        }

      switch (c)
        {
        case '\n':
          line++;
          break;
        case '{':
        case '[':
          {
            ScanLevel level = { NULL, c == '{', c == '{' };

            if (stack->len >= max_depth)
              {
                g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                             _("line %u: nested deeper than %u levels"), line, max_depth);
                return FALSE;
              }
            g_array_append_val (stack, level);
          }
          break;
        case '}':
        case ']':
          if (stack->len > 0)
            {
              g_array_set_size (stack, stack->len - 1);
              done = stack->len == 0;
            }
          /* A mismatch is left for the parser to report. */
          break;
        case ',':
          if (stack->len > 0)
            {
              ScanLevel *top = &g_array_index (stack, ScanLevel, stack->len - 1);
              if (top->is_object)
                top->want_key = TRUE;
            }
          break;
        case '"':
          {
            gsize start = i + 1;
            ScanLevel *top;

            for (i = start; i < length && data[i] != '"'; i++)
              {
                if (data[i] == '\\')
                  i++;
                else if (data[i] == '\n')
                  line++;
              }
            if (i >= length)
              break; /* unterminated: the parser reports it */
            if (stack->len == 0)
              {
                done = TRUE;
                break;
              }
            top = &g_array_index (stack, ScanLevel, stack->len - 1);
            if (top->is_object && top->want_key)
              {
                char *key = g_strndup (data + start, i - start);

                top->want_key = FALSE;
                if (top->keys == NULL)
                  top->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
                if (g_hash_table_contains (top->keys, key))
                  {
                    g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                                 _("line %u: the key “%s” appears twice in one object"), line, key);
                    g_free (key);
                    return FALSE;
                  }
                g_hash_table_add (top->keys, key);
              }
          }
          break;
        default:
          break;
        }
    }

  return TRUE;
}

static JsonNode *
parse_json (const char          *data,
            gsize                length,
            const VmReadLimits  *limits,
            GError             **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local = NULL;

  if (!vm_json_prescan (data, length, limits->max_depth, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, length, &local))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("not valid JSON: %s"), local->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID, _("empty JSON"));
      return NULL;
    }
  return json_node_ref (json_parser_get_root (parser));
}

/* ---- JSON accessors -------------------------------------------------------- */

static gboolean
node_is_number (JsonNode *node)
{
  GType t;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  t = json_node_get_value_type (node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

static gboolean
node_get_number (JsonNode *node,
                 double   *out)
{
  if (!node_is_number (node))
    return FALSE;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else
    *out = json_node_get_double (node);
  return isfinite (*out);
}

/* A non-negative integer, also written as 12.0. */
static gboolean
node_get_index (JsonNode *node,
                gint64   *out)
{
  double d;

  if (!node_is_number (node))
    return FALSE;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      return *out >= 0 && *out <= (G_GINT64_CONSTANT (1) << 53);
    }
  d = json_node_get_double (node);
  if (!isfinite (d) || d < 0 || d > 9007199254740992.0 || d != floor (d))
    return FALSE;
  *out = (gint64) d;
  return TRUE;
}

static const char *
node_get_text (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonNode *
member (JsonObject *object,
        const char *name)
{
  return json_object_get_member (object, name);
}

static gboolean
check_text (const char  *text,
            const char  *what,
            char       **reason)
{
  if (text == NULL)
    {
      *reason = g_strdup_printf (_("“%s” is missing or not a string"), what);
      return FALSE;
    }
  if (*text == '\0')
    {
      *reason = g_strdup_printf (_("“%s” is empty"), what);
      return FALSE;
    }
  if (strlen (text) > MAX_TEXT_BYTES)
    {
      *reason = g_strdup_printf (_("“%s” is longer than %u bytes"), what, MAX_TEXT_BYTES);
      return FALSE;
    }
  return TRUE;
}

static char *
seconds_text (gint64 ns)
{
  GString *s = g_string_new (NULL);
  vm_append_seconds (s, ns);
  return g_string_free (s, FALSE);
}

/* Checks one window against a duration (-1: unknown). */
static gboolean
check_span (double   start,
            double   end,
            gint64   duration_ns,
            VmSpan  *out,
            char   **reason)
{
  gint64 s, e;

  if (!isfinite (start) || !isfinite (end))
    {
      *reason = g_strdup (_("a time is not a finite number"));
      return FALSE;
    }
  if (start < 0 || end < 0)
    {
      *reason = g_strdup (_("a time is negative"));
      return FALSE;
    }
  if (!vm_seconds_to_ns (start, &s) || !vm_seconds_to_ns (end, &e))
    {
      *reason = g_strdup (_("a time is too large"));
      return FALSE;
    }
  if (s >= e)
    {
      g_autofree char *a = seconds_text (s), *b = seconds_text (e);
      *reason = g_strdup_printf (_("start %s is not before end %s"), a, b);
      return FALSE;
    }
  if (duration_ns >= 0)
    {
      if (s >= duration_ns || e > duration_ns + DURATION_TOLERANCE_NS)
        {
          g_autofree char *a = seconds_text (s), *b = seconds_text (e), *d = seconds_text (duration_ns);
          *reason = g_strdup_printf (_("window %s–%s is outside the duration %s"), a, b, d);
          return FALSE;
        }
      e = MIN (e, duration_ns);
    }
  out->start_ns = s;
  out->end_ns = e;
  return TRUE;
}

/* [[s, e], ...] → windows. */
static gboolean
read_windows (JsonNode  *node,
              gint64     duration_ns,
              double     scale,       /* seconds per unit */
              GArray    *windows,
              char     **reason)
{
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      *reason = g_strdup (_("the windows are not a list"));
      return FALSE;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *pair = json_array_get_element (array, i);
      JsonArray *p;
      double a, b;
      VmSpan span;
      g_autofree char *why = NULL;

      if (!JSON_NODE_HOLDS_ARRAY (pair) || json_array_get_length ((p = json_node_get_array (pair))) != 2)
        {
          *reason = g_strdup_printf (_("window %u is not a [start, end] pair"), i + 1);
          return FALSE;
        }
      if (!node_get_number (json_array_get_element (p, 0), &a) ||
          !node_get_number (json_array_get_element (p, 1), &b))
        {
          *reason = g_strdup_printf (_("window %u: a time is not a finite number"), i + 1);
          return FALSE;
        }
      if (!check_span (a * scale, b * scale, duration_ns, &span, &why))
        {
          *reason = g_strdup_printf (_("window %u: %s"), i + 1, why);
          return FALSE;
        }
      g_array_append_val (windows, span);
    }
  return TRUE;
}

static gboolean
read_duration (JsonObject *object,
               const char *name,
               gint64     *out_ns,
               char      **reason)
{
  JsonNode *node = member (object, name);
  double d;

  *out_ns = -1;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!node_get_number (node, &d) || d <= 0 || !vm_seconds_to_ns (d, out_ns))
    {
      *reason = g_strdup_printf (_("“%s” is not a positive number of seconds"), name);
      return FALSE;
    }
  return TRUE;
}

/* Queries without qid are merged by (vid, text). */
typedef struct {
  VmDataset  *dataset;
  GHashTable *by_key;    /* "vid\x1ftext" → VmDatasetQuery* */
  GHashTable *qids;      /* qid → where */
} Reader;

static void
reader_init (Reader *r)
{
  r->dataset = vm_dataset_new ();
  r->by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r->qids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
}

static VmDataset *
reader_finish (Reader *r)
{
  g_hash_table_unref (r->by_key);
  g_hash_table_unref (r->qids);
  return r->dataset;
}

static void
reader_clear (Reader *r)
{
  vm_dataset_free (reader_finish (r));
}

/* Sets the video's duration from the file, refusing a contradiction. */
static gboolean
reader_video (Reader      *r,
              const char  *vid,
              gint64       duration_ns,
              char       **reason)
{
  VmDatasetVideo *v = vm_dataset_add_video (r->dataset, vid);

  if (duration_ns >= 0)
    {
      if (v->duration_ns >= 0 && v->duration_ns != duration_ns)
        {
          *reason = g_strdup_printf (_("another record gives video “%s” another duration"), vid);
          return FALSE;
        }
      v->duration_ns = duration_ns;
    }
  return TRUE;
}

/* Adds windows for (vid, text) to the query with that pair, or a new one. */
static void
reader_merge (Reader     *r,
              const char *vid,
              const char *text,
              GArray     *windows,
              const char *where)
{
  g_autofree char *key = g_strdup_printf ("%s\x1f%s", vid, text);
  VmDatasetQuery *q = g_hash_table_lookup (r->by_key, key);

  if (q == NULL)
    {
      q = vm_dataset_query_new ();
      q->vid = g_strdup (vid);
      q->text = g_strdup (text);
      q->where = g_strdup (where);
      vm_dataset_add_query (r->dataset, q);
      g_hash_table_insert (r->by_key, g_steal_pointer (&key), q);
    }
  for (guint i = 0; i < windows->len; i++)
    {
      VmSpan *w = &g_array_index (windows, VmSpan, i);
      gboolean dup = FALSE;

      for (guint j = 0; j < q->windows->len && !dup; j++)
        dup = memcmp (&g_array_index (q->windows, VmSpan, j), w, sizeof *w) == 0;
      if (!dup)
        g_array_append_val (q->windows, *w);
    }
}

static gboolean
reader_claim_qid (Reader      *r,
                  gint64       qid,
                  const char  *where,
                  char       **reason)
{
  const char *first = g_hash_table_lookup (r->qids, &qid);

  if (first != NULL)
    {
      *reason = g_strdup_printf (_("qid %" PRId64 " was already used (%s)"), qid, first);
      return FALSE;
    }
  g_hash_table_insert (r->qids, g_memdup2 (&qid, sizeof qid), g_strdup (where));
  return TRUE;
}

/* ---- QVHighlights ------------------------------------------------------------ */

static gboolean
read_saliency (VmDataset       *dataset,
               JsonObject      *object,
               VmDatasetQuery  *q,
               gint64           duration_ns,
               char           **reason)
{
  JsonNode *ids_node = member (object, "relevant_clip_ids");
  JsonNode *scores_node = member (object, "saliency_scores");
  JsonArray *ids, *scores;
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  guint n_raters = 0;

  if ((ids_node == NULL || JSON_NODE_HOLDS_NULL (ids_node)) &&
      (scores_node == NULL || JSON_NODE_HOLDS_NULL (scores_node)))
    return TRUE;
  if (ids_node == NULL || !JSON_NODE_HOLDS_ARRAY (ids_node) ||
      scores_node == NULL || !JSON_NODE_HOLDS_ARRAY (scores_node))
    {
      *reason = g_strdup (_("“relevant_clip_ids” and “saliency_scores” must both be lists"));
      return FALSE;
    }
  ids = json_node_get_array (ids_node);
  scores = json_node_get_array (scores_node);
  if (json_array_get_length (ids) != json_array_get_length (scores))
    {
      *reason = g_strdup (_("“relevant_clip_ids” and “saliency_scores” differ in length"));
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      JsonNode *row = json_array_get_element (scores, i);
      JsonArray *r;
      gint64 clip;

      if (!node_get_index (json_array_get_element (ids, i), &clip) || clip >= MAX_CLIP)
        {
          *reason = g_strdup_printf (_("clip id %u is not a valid index"), i + 1);
          return FALSE;
        }
      if (g_hash_table_contains (seen, GINT_TO_POINTER ((int) clip + 1)))
        {
          *reason = g_strdup_printf (_("clip %" PRId64 " appears twice"), clip);
          return FALSE;
        }
      g_hash_table_add (seen, GINT_TO_POINTER ((int) clip + 1));
      if (duration_ns >= 0 && clip * VM_DATASET_CLIP_NS >= duration_ns)
        {
          *reason = g_strdup_printf (_("clip %" PRId64 " is past the end of the video"), clip);
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_ARRAY (row))
        {
          *reason = g_strdup_printf (_("the scores of clip %" PRId64 " are not a list"), clip);
          return FALSE;
        }
      r = json_node_get_array (row);
      if (i == 0)
        n_raters = json_array_get_length (r);
      if (json_array_get_length (r) != n_raters || n_raters == 0 || n_raters > 64)
        {
          *reason = g_strdup (_("every clip needs one score per rater"));
          return FALSE;
        }
      for (guint k = 0; k < n_raters; k++)
        {
          gint64 score;
          VmClipScore cs;

          if (!node_get_index (json_array_get_element (r, k), &score) || score > 4)
            {
              *reason = g_strdup_printf (_("a saliency score of clip %" PRId64 " is not 0–4"), clip);
              return FALSE;
            }
          cs.clip = (guint) clip;
          cs.rater = k;
          cs.score = (int) score;
          g_array_append_val (q->saliency, cs);
        }
    }
  for (guint k = 0; k < n_raters; k++)
    {
      g_autofree char *name = g_strdup_printf ("rater%u", k + 1);
      vm_dataset_add_rater (dataset, name);
    }
  return TRUE;
}

static void
read_qvhighlights_line (Reader     *r,
                        const char *line,
                        gsize       len,
                        const char *where,
                        const VmReadLimits *limits,
                        GPtrArray  *issues)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = parse_json (line, len, limits, &error);
  g_autoptr(VmDatasetQuery) q = NULL;
  g_autofree char *reason = NULL;
  JsonObject *o;
  gint64 qid, duration_ns;
  const char *text, *vid;
  JsonNode *windows;

  if (root == NULL)
    {
      /* Drop json-glib's "<data>:1:5:" prefix noise: keep its message. */
      vm_issues_add (issues, where, "%s", error->message);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      vm_issues_add (issues, where, "%s", _("not a JSON object"));
      return;
    }
  o = json_node_get_object (root);
  if (!node_get_index (member (o, "qid"), &qid))
    {
      vm_issues_add (issues, where, "%s", _("“qid” is missing or not a non-negative integer"));
      return;
    }
  text = node_get_text (member (o, "query"));
  vid = node_get_text (member (o, "vid"));
  if (!check_text (text, "query", &reason) || !check_text (vid, "vid", &reason) ||
      !read_duration (o, "duration", &duration_ns, &reason))
    {
      vm_issues_add (issues, where, "%s", reason);
      return;
    }
  q = vm_dataset_query_new ();
  q->qid = qid;
  q->text = g_strdup (text);
  q->vid = g_strdup (vid);
  q->where = g_strdup (where);
  windows = member (o, "relevant_windows");
  if (windows != NULL && !JSON_NODE_HOLDS_NULL (windows) &&
      !read_windows (windows, duration_ns, 1.0, q->windows, &reason))
    {
      vm_issues_add (issues, where, "%s", reason);
      return;
    }
  if (!read_saliency (r->dataset, o, q, duration_ns, &reason) ||
      !reader_video (r, vid, duration_ns, &reason) ||
      !reader_claim_qid (r, qid, where, &reason))
    {
      vm_issues_add (issues, where, "%s", reason);
      return;
    }
  vm_dataset_add_query (r->dataset, g_steal_pointer (&q));
}

/* Calls @func for every non-blank line, with "line N". */
typedef void (*LineFunc) (Reader *r, const char *line, gsize len, const char *where,
                          const VmReadLimits *limits, GPtrArray *issues);

static void
for_each_line (Reader             *r,
               const char         *data,
               gsize               length,
               const VmReadLimits *limits,
               LineFunc            func,
               GPtrArray          *issues)
{
  const char *p = data, *end = data + length;
  guint line = 0;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *stop = nl ? nl : end;
      gsize len = stop - p;
      g_autofree char *where = NULL;

      line++;
      if (len > 0 && p[len - 1] == '\r')
        len--;
      where = g_strdup_printf (_("line %u"), line);
      {
        gboolean blank = TRUE;
        for (gsize i = 0; i < len && blank; i++)
          blank = g_ascii_isspace (p[i]);
        if (!blank)
          func (r, p, len, where, limits, issues);
      }
      p = nl ? nl + 1 : end;
    }
}

/* ---- Charades-STA -------------------------------------------------------------- */

static void
read_charades_line (Reader     *r,
                    const char *line,
                    gsize       len,
                    const char *where,
                    const VmReadLimits *limits,
                    GPtrArray  *issues)
{
  g_autofree char *copy = NULL;
  g_auto(GStrv) head = NULL;
  g_autofree char *reason = NULL;
  g_autoptr(GArray) windows = g_array_new (FALSE, FALSE, sizeof (VmSpan));
  const char *bad;
  char *sep, *sentence;
  double a, b;
  char *e1, *e2;
  VmSpan span;

  if (!g_utf8_validate (line, len, &bad))
    {
      vm_issues_add (issues, where, "%s", _("not valid UTF-8"));
      return;
    }
  copy = g_strndup (line, len);
  sep = strstr (copy, "##");
  if (sep == NULL)
    {
      vm_issues_add (issues, where, "%s", _("no “##” before the sentence"));
      return;
    }
  *sep = '\0';
  sentence = g_strstrip (sep + 2);
  head = g_strsplit_set (g_strstrip (copy), " \t", -1);
  {
    /* Drop empty fields from repeated blanks. */
    guint n = 0;
    for (guint i = 0; head[i]; i++)
      if (*head[i])
        head[n++] = head[i];
      else
        g_free (head[i]);
    head[n] = NULL;
  }
  if (g_strv_length (head) != 3)
    {
      vm_issues_add (issues, where, "%s", _("expected “VIDEO START END##SENTENCE”"));
      return;
    }
  a = g_ascii_strtod (head[1], &e1);
  b = g_ascii_strtod (head[2], &e2);
  if (e1 == head[1] || *e1 || e2 == head[2] || *e2)
    {
      vm_issues_add (issues, where, "%s", _("the start or end is not a number"));
      return;
    }
  if (!check_text (sentence, "sentence", &reason) ||
      !check_span (a, b, -1, &span, &reason))
    {
      vm_issues_add (issues, where, "%s", reason);
      return;
    }
  reader_video (r, head[0], -1, &reason);
  g_array_append_val (windows, span);
  reader_merge (r, head[0], sentence, windows, where);
}

/* ---- ActivityNet / TACoS ------------------------------------------------------- */

static void
read_keyed (Reader     *r,
            VmFormat    format,
            JsonObject *root,
            GPtrArray  *issues)
{
  g_autoptr(GList) keys = json_object_get_members (root);

  for (GList *l = keys; l != NULL; l = l->next)
    {
      const char *vid = l->data;
      JsonNode *node = member (root, vid);
      g_autofree char *where = g_strdup_printf (_("key “%s”"), vid);
      g_autofree char *reason = NULL;
      JsonObject *o;
      JsonArray *ts, *ss;
      gint64 duration_ns = -1;
      double scale = 1.0;

      if (!check_text (vid, "video key", &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          vm_issues_add (issues, where, "%s", _("not a JSON object"));
          continue;
        }
      o = json_node_get_object (node);
      if (format == VM_FORMAT_TACOS)
        {
          double fps, frames;
          JsonNode *nf = member (o, "num_frames");

          if (!node_get_number (member (o, "fps"), &fps) || fps <= 0 || fps > 1000)
            {
              vm_issues_add (issues, where, "%s", _("“fps” is missing or not a positive number"));
              continue;
            }
          scale = 1.0 / fps;
          if (nf != NULL && !JSON_NODE_HOLDS_NULL (nf))
            {
              if (!node_get_number (nf, &frames) || frames <= 0 ||
                  !vm_seconds_to_ns (frames / fps, &duration_ns))
                {
                  vm_issues_add (issues, where, "%s", _("“num_frames” is not a positive number"));
                  continue;
                }
            }
        }
      else if (!read_duration (o, "duration", &duration_ns, &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      if (member (o, "timestamps") == NULL || !JSON_NODE_HOLDS_ARRAY (member (o, "timestamps")) ||
          member (o, "sentences") == NULL || !JSON_NODE_HOLDS_ARRAY (member (o, "sentences")))
        {
          vm_issues_add (issues, where, "%s", _("“timestamps” and “sentences” must both be lists"));
          continue;
        }
      ts = json_node_get_array (member (o, "timestamps"));
      ss = json_node_get_array (member (o, "sentences"));
      if (json_array_get_length (ts) != json_array_get_length (ss))
        {
          vm_issues_add (issues, where, "%s", _("“timestamps” and “sentences” differ in length"));
          continue;
        }
      if (!reader_video (r, vid, duration_ns, &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      if (format == VM_FORMAT_TACOS)
        {
          VmDatasetVideo *v = vm_dataset_lookup_video (r->dataset, vid);
          v->fps_num = (int) lround (1.0 / scale * 1000);
          v->fps_den = 1000;
        }
      for (guint i = 0; i < json_array_get_length (ts); i++)
        {
          g_autofree char *item = g_strdup_printf (_("key “%s”, item %u"), vid, i + 1);
          g_autoptr(GArray) windows = g_array_new (FALSE, FALSE, sizeof (VmSpan));
          g_autoptr(JsonArray) one = json_array_new ();
          g_autoptr(JsonNode) wrap = json_node_new (JSON_NODE_ARRAY);
          const char *text = node_get_text (json_array_get_element (ss, i));
          g_autofree char *why = NULL;

          json_array_add_element (one, json_node_copy (json_array_get_element (ts, i)));
          json_node_set_array (wrap, one);
          if (!check_text (text, "sentence", &why) ||
              !read_windows (wrap, duration_ns, scale, windows, &why))
            {
              vm_issues_add (issues, item, "%s", why);
              continue;
            }
          reader_merge (r, vid, text, windows, item);
        }
    }
}

/* ---- DiDeMo ------------------------------------------------------------------ */

#define DIDEMO_CHUNK_NS (5 * VM_NSEC_PER_SEC_)

static void
read_didemo (Reader    *r,
             JsonArray *root,
             GPtrArray *issues)
{
  for (guint i = 0; i < json_array_get_length (root); i++)
    {
      JsonNode *node = json_array_get_element (root, i);
      g_autofree char *where = g_strdup_printf (_("item %u"), i + 1);
      g_autofree char *reason = NULL;
      g_autoptr(VmDatasetQuery) q = NULL;
      JsonObject *o;
      const char *text, *vid;
      gint64 id, n_segments = 6;
      JsonNode *times;
      JsonArray *t;
      gboolean ok = TRUE;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          vm_issues_add (issues, where, "%s", _("not a JSON object"));
          continue;
        }
      o = json_node_get_object (node);
      if (!node_get_index (member (o, "annotation_id"), &id))
        {
          vm_issues_add (issues, where, "%s", _("“annotation_id” is missing or not a non-negative integer"));
          continue;
        }
      g_free (where);
      where = g_strdup_printf (_("item %u (annotation_id %" PRId64 ")"), i + 1, id);
      text = node_get_text (member (o, "description"));
      vid = node_get_text (member (o, "video"));
      if (!check_text (text, "description", &reason) || !check_text (vid, "video", &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      if (member (o, "num_segments") != NULL &&
          (!node_get_index (member (o, "num_segments"), &n_segments) || n_segments < 1 || n_segments > 1000))
        {
          vm_issues_add (issues, where, "%s", _("“num_segments” is not a positive integer"));
          continue;
        }
      times = member (o, "times");
      if (times == NULL || !JSON_NODE_HOLDS_ARRAY (times) ||
          json_array_get_length ((t = json_node_get_array (times))) == 0)
        {
          vm_issues_add (issues, where, "%s", _("“times” is missing or empty"));
          continue;
        }
      q = vm_dataset_query_new ();
      q->qid = id;
      q->text = g_strdup (text);
      q->vid = g_strdup (vid);
      q->where = g_strdup (where);
      for (guint k = 0; k < json_array_get_length (t) && ok; k++)
        {
          JsonNode *pair = json_array_get_element (t, k);
          JsonArray *p;
          gint64 a, b;
          VmSpan span;
          gboolean dup = FALSE;

          if (!JSON_NODE_HOLDS_ARRAY (pair) || json_array_get_length ((p = json_node_get_array (pair))) != 2 ||
              !node_get_index (json_array_get_element (p, 0), &a) ||
              !node_get_index (json_array_get_element (p, 1), &b))
            {
              vm_issues_add (issues, where, _("time %u is not a pair of chunk indices"), k + 1);
              ok = FALSE;
              break;
            }
          if (a > b || b >= n_segments)
            {
              vm_issues_add (issues, where, _("time %u: chunks %" PRId64 "–%" PRId64
                                              " are not within 0–%" PRId64),
                             k + 1, a, b, n_segments - 1);
              ok = FALSE;
              break;
            }
          span.start_ns = a * DIDEMO_CHUNK_NS;
          span.end_ns = (b + 1) * DIDEMO_CHUNK_NS;
          for (guint j = 0; j < q->windows->len && !dup; j++)
            dup = memcmp (&g_array_index (q->windows, VmSpan, j), &span, sizeof span) == 0;
          if (!dup)
            g_array_append_val (q->windows, span);
        }
      if (!ok)
        continue;
      if (!reader_claim_qid (r, id, where, &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      vm_dataset_add_video (r->dataset, vid);
      vm_dataset_add_query (r->dataset, g_steal_pointer (&q));
    }
}

/* ---- Vidmark ----------------------------------------------------------------- */

static gboolean
read_vidmark (Reader     *r,
              JsonObject *root,
              GPtrArray  *issues,
              GError    **error)
{
  const char *fmt = node_get_text (member (root, "format"));
  JsonNode *videos = member (root, "videos"), *queries = member (root, "queries");
  JsonNode *raters = member (root, "raters");
  gint64 version;

  if (fmt == NULL || !g_str_equal (fmt, "vidmark-dataset") ||
      !node_get_index (member (root, "version"), &version))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("not a Vidmark dataset (no “format” and “version”)"));
      return FALSE;
    }
  if (version > VM_VIDMARK_FORMAT_VERSION || version < 1)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("Vidmark dataset version %" PRId64 " is not supported (this program reads %d)"),
                   version, VM_VIDMARK_FORMAT_VERSION);
      return FALSE;
    }
  if ((raters != NULL && !JSON_NODE_HOLDS_ARRAY (raters)) ||
      videos == NULL || !JSON_NODE_HOLDS_ARRAY (videos) ||
      queries == NULL || !JSON_NODE_HOLDS_ARRAY (queries))
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                   _("a Vidmark dataset needs “videos” and “queries” lists"));
      return FALSE;
    }
  if (raters != NULL)
    {
      JsonArray *a = json_node_get_array (raters);

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          const char *name = node_get_text (json_array_get_element (a, i));
          g_autofree char *reason = NULL;

          if (!check_text (name, "rater", &reason) ||
              vm_dataset_add_rater (r->dataset, name) != i)
            {
              g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                           _("rater %u is not a unique, non-empty name"), i + 1);
              return FALSE;
            }
        }
    }

  for (guint i = 0; i < json_array_get_length (json_node_get_array (videos)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (videos), i);
      g_autofree char *where = g_strdup_printf (_("video %u"), i + 1);
      g_autofree char *reason = NULL;
      JsonObject *o;
      const char *vid, *path;
      gint64 duration_ns;
      JsonNode *fps;
      gint64 num = 0, den = 1;
      VmDatasetVideo *v;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          vm_issues_add (issues, where, "%s", _("not a JSON object"));
          continue;
        }
      o = json_node_get_object (node);
      vid = node_get_text (member (o, "vid"));
      path = node_get_text (member (o, "path"));
      if (!check_text (vid, "vid", &reason) || !read_duration (o, "duration", &duration_ns, &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      fps = member (o, "fps");
      if (fps != NULL && !JSON_NODE_HOLDS_NULL (fps))
        {
          JsonArray *f = JSON_NODE_HOLDS_ARRAY (fps) ? json_node_get_array (fps) : NULL;

          if (f == NULL || json_array_get_length (f) != 2 ||
              !node_get_index (json_array_get_element (f, 0), &num) ||
              !node_get_index (json_array_get_element (f, 1), &den) ||
              num > G_MAXINT || den < 1 || den > G_MAXINT)
            {
              vm_issues_add (issues, where, "%s", _("“fps” is not a [numerator, denominator] pair"));
              continue;
            }
        }
      if (vm_dataset_lookup_video (r->dataset, vid) != NULL)
        {
          vm_issues_add (issues, where, _("video “%s” is listed twice"), vid);
          continue;
        }
      v = vm_dataset_add_video (r->dataset, vid);
      v->duration_ns = duration_ns;
      v->path = g_strdup (path);
      v->fps_num = (int) num;
      v->fps_den = (int) den;
    }

  for (guint i = 0; i < json_array_get_length (json_node_get_array (queries)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (queries), i);
      g_autofree char *where = g_strdup_printf (_("query %u"), i + 1);
      g_autofree char *reason = NULL;
      g_autoptr(VmDatasetQuery) q = NULL;
      g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      JsonObject *o;
      const char *text, *vid;
      gint64 qid;
      VmDatasetVideo *v;
      JsonNode *neg, *sal;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          vm_issues_add (issues, where, "%s", _("not a JSON object"));
          continue;
        }
      o = json_node_get_object (node);
      if (!node_get_index (member (o, "qid"), &qid))
        {
          vm_issues_add (issues, where, "%s", _("“qid” is missing or not a non-negative integer"));
          continue;
        }
      g_free (where);
      where = g_strdup_printf (_("query %u (qid %" PRId64 ")"), i + 1, qid);
      text = node_get_text (member (o, "query"));
      vid = node_get_text (member (o, "vid"));
      if (!check_text (text, "query", &reason) || !check_text (vid, "vid", &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      v = vm_dataset_lookup_video (r->dataset, vid);
      if (v == NULL)
        {
          vm_issues_add (issues, where, _("video “%s” is not in “videos”"), vid);
          continue;
        }
      q = vm_dataset_query_new ();
      q->qid = qid;
      q->text = g_strdup (text);
      q->vid = g_strdup (vid);
      q->where = g_strdup (where);
      if (!read_windows (member (o, "windows"), v->duration_ns, 1.0, q->windows, &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      neg = member (o, "negatives");
      if (neg != NULL && !JSON_NODE_HOLDS_NULL (neg))
        {
          JsonArray *a = JSON_NODE_HOLDS_ARRAY (neg) ? json_node_get_array (neg) : NULL;

          for (guint k = 0; a != NULL && k < json_array_get_length (a); k++)
            {
              const char *nvid = node_get_text (json_array_get_element (a, k));

              if (nvid == NULL || vm_dataset_lookup_video (r->dataset, nvid) == NULL ||
                  g_hash_table_contains (seen, nvid))
                {
                  a = NULL;
                  break;
                }
              g_hash_table_add (seen, g_strdup (nvid));
              g_ptr_array_add (q->negatives, g_strdup (nvid));
            }
          if (a == NULL)
            {
              vm_issues_add (issues, where, "%s", _("“negatives” must list distinct videos of “videos”"));
              continue;
            }
        }
      sal = member (o, "saliency");
      if (sal != NULL && !JSON_NODE_HOLDS_NULL (sal))
        {
          JsonArray *a = JSON_NODE_HOLDS_ARRAY (sal) ? json_node_get_array (sal) : NULL;
          g_autoptr(GHashTable) cells = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
          gboolean ok = a != NULL;

          for (guint k = 0; ok && k < json_array_get_length (a); k++)
            {
              JsonNode *t = json_array_get_element (a, k);
              JsonArray *c = JSON_NODE_HOLDS_ARRAY (t) ? json_node_get_array (t) : NULL;
              gint64 clip, rater, score, cell;
              VmClipScore cs;

              ok = c != NULL && json_array_get_length (c) == 3 &&
                   node_get_index (json_array_get_element (c, 0), &clip) && clip < MAX_CLIP &&
                   node_get_index (json_array_get_element (c, 1), &rater) &&
                   rater < r->dataset->raters->len &&
                   node_get_index (json_array_get_element (c, 2), &score) && score <= 4 &&
                   (v->duration_ns < 0 || clip * VM_DATASET_CLIP_NS < v->duration_ns);
              if (!ok)
                break;
              cell = clip * 64 + rater;
              if (g_hash_table_contains (cells, &cell))
                {
                  ok = FALSE;
                  break;
                }
              g_hash_table_add (cells, g_memdup2 (&cell, sizeof cell));
              cs.clip = (guint) clip;
              cs.rater = (guint) rater;
              cs.score = (int) score;
              g_array_append_val (q->saliency, cs);
            }
          if (!ok)
            {
              vm_issues_add (issues, where, "%s",
                             _("“saliency” must list distinct [clip, rater, score 0–4] inside the video"));
              continue;
            }
        }
      if (!reader_claim_qid (r, qid, where, &reason))
        {
          vm_issues_add (issues, where, "%s", reason);
          continue;
        }
      vm_dataset_add_query (r->dataset, g_steal_pointer (&q));
    }

  if (r->dataset->raters->len > 64)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID, _("more than 64 raters"));
      return FALSE;
    }
  return TRUE;
}

/* ---- Reading: entry point -------------------------------------------------- */

VmDataset *
vm_dataset_read (VmFormat             format,
                 const char          *data,
                 gsize                length,
                 const VmReadLimits  *limits,
                 GPtrArray           *issues,
                 GError             **error)
{
  VmReadLimits defaults;
  Reader r;
  g_autoptr(JsonNode) root = NULL;

  if (limits == NULL)
    {
      vm_read_limits_init (&defaults);
      limits = &defaults;
    }
  if (length > limits->max_bytes)
    {
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_TOO_LARGE,
                   _("the file is larger than %zu bytes"), limits->max_bytes);
      return NULL;
    }
  /* A UTF-8 byte order mark is allowed and skipped. */
  if (length >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    {
      data += 3;
      length -= 3;
    }

  reader_init (&r);

  switch (format)
    {
    case VM_FORMAT_QVHIGHLIGHTS:
      for_each_line (&r, data, length, limits, read_qvhighlights_line, issues);
      return reader_finish (&r);

    case VM_FORMAT_CHARADES_STA:
      for_each_line (&r, data, length, limits, read_charades_line, issues);
      return reader_finish (&r);

    case VM_FORMAT_ACTIVITYNET:
    case VM_FORMAT_TACOS:
    case VM_FORMAT_VIDMARK:
    case VM_FORMAT_DIDEMO:
      root = parse_json (data, length, limits, error);
      if (root == NULL)
        break;
      if (format == VM_FORMAT_DIDEMO)
        {
          if (!JSON_NODE_HOLDS_ARRAY (root))
            {
              g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                           _("a DiDeMo file is a JSON list"));
              break;
            }
          read_didemo (&r, json_node_get_array (root), issues);
          return reader_finish (&r);
        }
      if (!JSON_NODE_HOLDS_OBJECT (root))
        {
          g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_INVALID,
                       _("the file is not a JSON object"));
          break;
        }
      if (format == VM_FORMAT_VIDMARK)
        {
          if (!read_vidmark (&r, json_node_get_object (root), issues, error))
            break;
        }
      else
        read_keyed (&r, format, json_node_get_object (root), issues);
      return reader_finish (&r);

    default:
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_FORMAT, _("unknown format"));
      break;
    }

  reader_clear (&r);
  return NULL;
}

/* ---- Writing -------------------------------------------------------------------- */

void
vm_append_json_string (GString    *out,
                       const char *text)
{
  g_autofree char *valid = NULL;

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);

  g_string_append_c (out, '"');
  for (const char *p = text; *p; p++)
    {
      unsigned char c = (unsigned char) *p;

      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        default:
          if (c < 0x20 || c == 0x7f)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
        }
    }
  g_string_append_c (out, '"');
}

static void
append_windows (GString *out,
                GArray  *windows)
{
  g_string_append_c (out, '[');
  for (guint i = 0; i < windows->len; i++)
    {
      VmSpan *w = &g_array_index (windows, VmSpan, i);

      if (i > 0)
        g_string_append (out, ", ");
      g_string_append_c (out, '[');
      vm_append_seconds (out, w->start_ns);
      g_string_append (out, ", ");
      vm_append_seconds (out, w->end_ns);
      g_string_append_c (out, ']');
    }
  g_string_append_c (out, ']');
}

static gint64
video_duration (VmDataset  *dataset,
                const char *vid)
{
  VmDatasetVideo *v = vm_dataset_lookup_video (dataset, vid);
  return v ? v->duration_ns : -1;
}

/* What a writer could not carry: queries left out are reported one by one,
 * parts dropped from written queries once per kind. */
typedef struct {
  GPtrArray *issues;
  guint      n_without_negatives;
  guint      n_without_saliency;
} Lossy;

static gboolean
skip_unwritable (VmDatasetQuery *q,
                 VmFormat        format,
                 Lossy          *lossy)
{
  if (q->windows->len == 0)
    {
      g_autofree char *where = g_strdup_printf (_("qid %" PRId64), q->qid);
      vm_issues_add (lossy->issues, where, _("a query without windows only fits the vidmark format"));
      return TRUE;
    }
  if (q->negatives->len > 0)
    lossy->n_without_negatives++;
  if (format != VM_FORMAT_QVHIGHLIGHTS && q->saliency->len > 0)
    lossy->n_without_saliency++;
  return FALSE;
}

static void
report_lossy (Lossy *lossy)
{
  if (lossy->n_without_negatives > 0)
    {
      g_autofree char *where = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u query", "%u queries",
                                                             lossy->n_without_negatives),
                                                lossy->n_without_negatives);
      vm_issues_add (lossy->issues, where, "%s",
                     _("written without their negatives, which only the vidmark format holds"));
    }
  if (lossy->n_without_saliency > 0)
    {
      g_autofree char *where = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u query", "%u queries",
                                                             lossy->n_without_saliency),
                                                lossy->n_without_saliency);
      vm_issues_add (lossy->issues, where, "%s",
                     _("written without their saliency scores, which only the qvhighlights and "
                       "vidmark formats hold"));
    }
}

static void
write_qvhighlights (GString   *out,
                    VmDataset *dataset,
                    Lossy     *lossy)
{
  guint n_raters = dataset->raters->len;

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);
      gint64 duration = video_duration (dataset, q->vid);

      if (skip_unwritable (q, VM_FORMAT_QVHIGHLIGHTS, lossy))
        continue;
      vm_dataset_query_normalize (q);
      g_string_append_printf (out, "{\"qid\": %" G_GINT64_FORMAT ", \"query\": ", q->qid);
      vm_append_json_string (out, q->text);
      if (duration >= 0)
        {
          g_string_append (out, ", \"duration\": ");
          vm_append_seconds (out, duration);
        }
      g_string_append (out, ", \"vid\": ");
      vm_append_json_string (out, q->vid);
      g_string_append (out, ", \"relevant_windows\": ");
      append_windows (out, q->windows);
      if (q->saliency->len > 0 && n_raters > 0)
        {
          GString *ids = g_string_new ("[");
          GString *scores = g_string_new ("[");
          g_autofree int *row = g_new (int, n_raters);

          for (guint j = 0; j < q->saliency->len;)
            {
              guint clip = g_array_index (q->saliency, VmClipScore, j).clip;

              for (guint k = 0; k < n_raters; k++)
                row[k] = 0;
              for (; j < q->saliency->len && g_array_index (q->saliency, VmClipScore, j).clip == clip; j++)
                {
                  VmClipScore *s = &g_array_index (q->saliency, VmClipScore, j);
                  if (s->rater < n_raters)
                    row[s->rater] = s->score;
                }
              if (ids->len > 1)
                {
                  g_string_append (ids, ", ");
                  g_string_append (scores, ", ");
                }
              g_string_append_printf (ids, "%u", clip);
              g_string_append_c (scores, '[');
              for (guint k = 0; k < n_raters; k++)
                g_string_append_printf (scores, k ? ", %d" : "%d", row[k]);
              g_string_append_c (scores, ']');
            }
          g_string_append (out, ", \"relevant_clip_ids\": ");
          g_string_append (out, ids->str);
          g_string_append (out, "], \"saliency_scores\": ");
          g_string_append (out, scores->str);
          g_string_append_c (out, ']');
          g_string_free (ids, TRUE);
          g_string_free (scores, TRUE);
        }
      g_string_append (out, "}\n");
    }
}

static void
write_charades (GString   *out,
                VmDataset *dataset,
                Lossy     *lossy)
{
  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);
      g_autofree char *where = g_strdup_printf (_("qid %" PRId64), q->qid);
      g_autofree char *text = NULL;

      if (strpbrk (q->vid, " \t\r\n") != NULL)
        {
          vm_issues_add (lossy->issues, where, _("the video id “%s” has a blank, which Charades-STA cannot hold"), q->vid);
          continue;
        }
      if (strpbrk (q->text, "\r\n") != NULL)
        {
          vm_issues_add (lossy->issues, where, "%s", _("the query has a line break, which Charades-STA cannot hold"));
          continue;
        }
      text = g_strstrip (g_strdup (q->text));
      if (strcmp (text, q->text) != 0 || *text == '\0')
        {
          vm_issues_add (lossy->issues, where, "%s", _("the query starts or ends with blanks, which Charades-STA cannot hold"));
          continue;
        }
      if (skip_unwritable (q, VM_FORMAT_CHARADES_STA, lossy))
        continue;
      vm_dataset_query_normalize (q);
      for (guint j = 0; j < q->windows->len; j++)
        {
          VmSpan *w = &g_array_index (q->windows, VmSpan, j);

          g_string_append (out, q->vid);
          g_string_append_c (out, ' ');
          vm_append_seconds (out, w->start_ns);
          g_string_append_c (out, ' ');
          vm_append_seconds (out, w->end_ns);
          g_string_append (out, "##");
          g_string_append (out, q->text);
          g_string_append_c (out, '\n');
        }
    }
}

static void
write_keyed (GString   *out,
             VmFormat   format,
             VmDataset *dataset,
             Lossy     *lossy)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  g_autoptr(GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) g_ptr_array_unref);
  gboolean first_video = TRUE;

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);
      GPtrArray *group = g_hash_table_lookup (groups, q->vid);

      if (group == NULL)
        {
          group = g_ptr_array_new ();
          g_hash_table_insert (groups, q->vid, group);
          g_ptr_array_add (order, q->vid);
        }
      g_ptr_array_add (group, q);
    }

  g_string_append (out, "{");
  for (guint i = 0; i < order->len; i++)
    {
      const char *vid = g_ptr_array_index (order, i);
      GPtrArray *group = g_hash_table_lookup (groups, vid);
      VmDatasetVideo *v = vm_dataset_lookup_video (dataset, vid);
      gint64 duration = v ? v->duration_ns : -1;
      GString *ts = g_string_new (NULL), *ss = g_string_new (NULL);
      double fps = 0;
      guint n = 0;

      if (format == VM_FORMAT_TACOS)
        {
          if (v == NULL || v->fps_num <= 0 || v->fps_den <= 0)
            {
              g_autofree char *where = g_strdup_printf (_("video “%s”"), vid);
              vm_issues_add (lossy->issues, where, "%s", _("its frame rate is unknown, which TACoS needs; its queries are left out"));
              g_string_free (ts, TRUE);
              g_string_free (ss, TRUE);
              continue;
            }
          fps = (double) v->fps_num / v->fps_den;
        }

      for (guint j = 0; j < group->len; j++)
        {
          VmDatasetQuery *q = g_ptr_array_index (group, j);

          if (skip_unwritable (q, format, lossy))
            continue;
          vm_dataset_query_normalize (q);
          for (guint k = 0; k < q->windows->len; k++)
            {
              VmSpan *w = &g_array_index (q->windows, VmSpan, k);

              if (n++ > 0)
                {
                  g_string_append (ts, ", ");
                  g_string_append (ss, ", ");
                }
              if (format == VM_FORMAT_TACOS)
                g_string_append_printf (ts, "[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                                        (gint64) llround ((double) w->start_ns * v->fps_num / v->fps_den / 1e9),
                                        (gint64) llround ((double) w->end_ns * v->fps_num / v->fps_den / 1e9));
              else
                {
                  g_string_append_c (ts, '[');
                  vm_append_seconds (ts, w->start_ns);
                  g_string_append (ts, ", ");
                  vm_append_seconds (ts, w->end_ns);
                  g_string_append_c (ts, ']');
                }
              vm_append_json_string (ss, q->text);
            }
        }

      if (n > 0)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];

          g_string_append (out, first_video ? "\n  " : ",\n  ");
          first_video = FALSE;
          vm_append_json_string (out, vid);
          g_string_append (out, ": {");
          if (format == VM_FORMAT_TACOS)
            {
              if (duration >= 0)
                g_string_append_printf (out, "\"num_frames\": %" G_GINT64_FORMAT ", ",
                                        (gint64) llround ((double) duration * v->fps_num / v->fps_den / 1e9));
              g_string_append_printf (out, "\"fps\": %s, ", g_ascii_dtostr (buf, sizeof buf, fps));
            }
          else if (duration >= 0)
            {
              g_string_append (out, "\"duration\": ");
              vm_append_seconds (out, duration);
              g_string_append (out, ", ");
            }
          g_string_append_printf (out, "\"timestamps\": [%s], \"sentences\": [%s]}", ts->str, ss->str);
        }
      g_string_free (ts, TRUE);
      g_string_free (ss, TRUE);
    }
  g_string_append (out, "\n}\n");
}

static void
write_vidmark (GString    *out,
               VmDataset  *dataset,
               const char *set_name)
{
  g_autoptr(GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean first = TRUE;

  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);

      g_hash_table_add (used, q->vid);
      for (guint j = 0; j < q->negatives->len; j++)
        g_hash_table_add (used, g_ptr_array_index (q->negatives, j));
    }

  g_string_append_printf (out, "{\n  \"format\": \"vidmark-dataset\",\n  \"version\": %d,\n  \"set\": ",
                          VM_VIDMARK_FORMAT_VERSION);
  vm_append_json_string (out, set_name ? set_name : "");
  g_string_append (out, ",\n  \"raters\": [");
  for (guint i = 0; i < dataset->raters->len; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      vm_append_json_string (out, g_ptr_array_index (dataset->raters, i));
    }
  g_string_append (out, "],\n  \"videos\": [");
  for (guint i = 0; i < dataset->videos->len; i++)
    {
      VmDatasetVideo *v = g_ptr_array_index (dataset->videos, i);

      if (!g_hash_table_contains (used, v->vid))
        continue;
      g_string_append (out, first ? "\n    {\"vid\": " : ",\n    {\"vid\": ");
      first = FALSE;
      vm_append_json_string (out, v->vid);
      if (v->path != NULL)
        {
          g_string_append (out, ", \"path\": ");
          vm_append_json_string (out, v->path);
        }
      if (v->duration_ns >= 0)
        {
          g_string_append (out, ", \"duration\": ");
          vm_append_seconds (out, v->duration_ns);
        }
      if (v->fps_num > 0 && v->fps_den > 0)
        g_string_append_printf (out, ", \"fps\": [%d, %d]", v->fps_num, v->fps_den);
      g_string_append_c (out, '}');
    }
  g_string_append (out, first ? "],\n  \"queries\": [" : "\n  ],\n  \"queries\": [");
  first = TRUE;
  for (guint i = 0; i < dataset->queries->len; i++)
    {
      VmDatasetQuery *q = g_ptr_array_index (dataset->queries, i);

      vm_dataset_query_normalize (q);
      g_string_append_printf (out, "%s    {\"qid\": %" G_GINT64_FORMAT ", \"query\": ",
                              first ? "\n" : ",\n", q->qid);
      first = FALSE;
      vm_append_json_string (out, q->text);
      g_string_append (out, ", \"vid\": ");
      vm_append_json_string (out, q->vid);
      g_string_append (out, ", \"windows\": ");
      append_windows (out, q->windows);
      if (q->negatives->len > 0)
        {
          g_string_append (out, ", \"negatives\": [");
          for (guint j = 0; j < q->negatives->len; j++)
            {
              if (j > 0)
                g_string_append (out, ", ");
              vm_append_json_string (out, g_ptr_array_index (q->negatives, j));
            }
          g_string_append_c (out, ']');
        }
      if (q->saliency->len > 0)
        {
          g_string_append (out, ", \"saliency\": [");
          for (guint j = 0; j < q->saliency->len; j++)
            {
              VmClipScore *s = &g_array_index (q->saliency, VmClipScore, j);
              g_string_append_printf (out, "%s[%u, %u, %d]", j ? ", " : "", s->clip, s->rater, s->score);
            }
          g_string_append_c (out, ']');
        }
      g_string_append_c (out, '}');
    }
  g_string_append (out, first ? "]\n}\n" : "\n  ]\n}\n");
}

char *
vm_dataset_write (VmFormat    format,
                  VmDataset  *dataset,
                  const char *set_name,
                  GPtrArray  *issues,
                  GError    **error)
{
  GString *out = g_string_new (NULL);
  Lossy lossy = { issues, 0, 0 };

  switch (format)
    {
    case VM_FORMAT_QVHIGHLIGHTS:
      write_qvhighlights (out, dataset, &lossy);
      report_lossy (&lossy);
      break;
    case VM_FORMAT_CHARADES_STA:
      write_charades (out, dataset, &lossy);
      report_lossy (&lossy);
      break;
    case VM_FORMAT_ACTIVITYNET:
    case VM_FORMAT_TACOS:
      write_keyed (out, format, dataset, &lossy);
      report_lossy (&lossy);
      break;
    case VM_FORMAT_VIDMARK:
      write_vidmark (out, dataset, set_name);
      break;
    case VM_FORMAT_DIDEMO:
    default:
      g_string_free (out, TRUE);
      g_set_error (error, VM_EXPORT_ERROR, VM_EXPORT_ERROR_FORMAT,
                   _("Vidmark does not write the %s format"), vm_format_to_string (format));
      return NULL;
    }

  return g_string_free (out, FALSE);
}
