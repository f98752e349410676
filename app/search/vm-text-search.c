/* vm-text-search.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "search/vm-text-search.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/vm-util.h"

G_DEFINE_QUARK (vm-search-error-quark, vm_search_error)

/* Bounds on what a query may ask of FTS5. */
#define MAX_TERMS 32
#define MAX_QUERY_BYTES 2048
/* Candidate segments read from the index per moment asked for. */
#define CANDIDATES_PER_MOMENT 20
#define MIN_CANDIDATES 200
/* Score bonus per extra signal agreeing on a moment. */
#define SIGNAL_BONUS 0.05

VmSignal
vm_signal_from_text_source (VmTextSource source)
{
  switch (source)
    {
    case VM_TEXT_SOURCE_OCR:
      return VM_SIGNAL_OCR;
    case VM_TEXT_SOURCE_SPEECH:
      return VM_SIGNAL_SPEECH;
    case VM_TEXT_SOURCE_SUBTITLE:
    default:
      return VM_SIGNAL_SUBTITLE;
    }
}

const char *
vm_signal_to_string (VmSignal signal)
{
  switch (signal)
    {
    case VM_SIGNAL_SUBTITLE:
      return "subtitle";
    case VM_SIGNAL_OCR:
      return "ocr";
    case VM_SIGNAL_SPEECH:
      return "speech";
    case VM_SIGNAL_VISUAL:
      return "visual";
    default:
      return "unknown";
    }
}

void
vm_snippet_free (VmSnippet *snippet)
{
  if (snippet == NULL)
    return;
  g_free (snippet->language);
  g_free (snippet->text);
  g_free (snippet->highlighted);
  g_free (snippet);
}

VmMoment *
vm_moment_new (void)
{
  VmMoment *moment = g_new0 (VmMoment, 1);

  moment->snippets = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_snippet_free);
  return moment;
}

void
vm_moment_free (VmMoment *moment)
{
  if (moment == NULL)
    return;
  g_free (moment->path);
  g_clear_pointer (&moment->snippets, g_ptr_array_unref);
  g_free (moment);
}

void
vm_text_search_options_init (VmTextSearchOptions *options)
{
  memset (options, 0, sizeof *options);
  options->limit = 10;
  options->margin_ns = VM_NSEC_PER_SEC / 2;
  options->merge_gap_ns = VM_NSEC_PER_SEC;
  options->video_id = 0;
  options->sources = VM_SIGNAL_SUBTITLE | VM_SIGNAL_OCR | VM_SIGNAL_SPEECH;
}

/* ---- Query translation -------------------------------------------------- */

static gboolean
has_word_char (const char *s,
               gsize       len)
{
  const char *end = s + len;

  for (const char *p = s; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isalnum (c) || g_unichar_ismark (c))
        return TRUE;
    }
  return FALSE;
}

/* Appends one quoted FTS5 string for @s (quotes doubled), with a prefix star
 * when asked. */
static void
append_term (GString    *out,
             const char *s,
             gsize       len,
             gboolean    prefix)
{
  if (out->len > 0)
    g_string_append_c (out, ' ');
  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '"')
        g_string_append (out, "\"\"");
      else
        g_string_append_c (out, s[i]);
    }
  g_string_append_c (out, '"');
  if (prefix)
    g_string_append_c (out, '*');
}

char *
vm_text_query_to_fts (const char  *text,
                      GError     **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *valid = NULL;
  const char *p;
  guint n_terms = 0;

  valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  if (strlen (valid) > MAX_QUERY_BYTES)
    {
      /* Cut on a character boundary. */
      char *cut = g_utf8_find_prev_char (valid, valid + MAX_QUERY_BYTES + 1);

      if (cut != NULL)
        *cut = '\0';
    }

  p = valid;
  while (*p != '\0' && n_terms < MAX_TERMS)
    {
      const char *start;
      gsize len;
      gboolean prefix = FALSE;

      if (g_unichar_isspace (g_utf8_get_char (p)) || g_unichar_iscntrl (g_utf8_get_char (p)))
        {
          p = g_utf8_next_char (p);
          continue;
        }

      if (*p == '"')
        {
          /* A phrase, to the closing quote or the end. */
          const char *close;

          start = p + 1;
          close = strchr (start, '"');
          len = close != NULL ? (gsize) (close - start) : strlen (start);
          p = close != NULL ? close + 1 : start + len;
          if (*p == '*')
            {
              prefix = TRUE;
              while (*p == '*')
                p++;
            }
        }
      else
        {
          const char *q = p;

          while (*q != '\0' && *q != '"' && !g_unichar_isspace (g_utf8_get_char (q)))
            q = g_utf8_next_char (q);
          start = p;
          len = q - p;
          p = q;
          while (len > 0 && start[len - 1] == '*')
            {
              prefix = TRUE;
              len--;
            }
        }

      if (!has_word_char (start, len))
        continue;
      /* Control characters inside a phrase become spaces. */
      {
        g_autofree char *term = g_strndup (start, len);

        for (char *c = term; *c != '\0'; c++)
          if ((guchar) *c < 0x20)
            *c = ' ';
        append_term (out, term, len, prefix);
      }
      n_terms++;
    }

  if (n_terms == 0)
    {
      g_set_error (error, VM_SEARCH_ERROR, VM_SEARCH_ERROR_EMPTY_QUERY,
                   _("Nothing to search for: the query has no words"));
      return NULL;
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- Moments ------------------------------------------------------------ */

double
vm_temporal_iou (gint64 a_start,
                 gint64 a_end,
                 gint64 b_start,
                 gint64 b_end)
{
  gint64 inter, uni;

  if (a_end <= a_start || b_end <= b_start)
    return 0.0;
  inter = MIN (a_end, b_end) - MAX (a_start, b_start);
  if (inter <= 0)
    return 0.0;
  uni = MAX (a_end, b_end) - MIN (a_start, b_start);
  return (double) inter / uni;
}

static int
compare_by_video_start (gconstpointer a,
                        gconstpointer b)
{
  const VmMoment *x = *(VmMoment * const *) a;
  const VmMoment *y = *(VmMoment * const *) b;

  if (x->video_id != y->video_id)
    return x->video_id < y->video_id ? -1 : 1;
  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  return 0;
}

static int
compare_by_score (gconstpointer a,
                  gconstpointer b)
{
  const VmMoment *x = *(VmMoment * const *) a;
  const VmMoment *y = *(VmMoment * const *) b;

  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return compare_by_video_start (a, b);
}

static int
compare_snippets (gconstpointer a,
                  gconstpointer b)
{
  const VmSnippet *x = *(VmSnippet * const *) a;
  const VmSnippet *y = *(VmSnippet * const *) b;

  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return 0;
}

static guint
count_bits (guint v)
{
  guint n = 0;

  for (; v != 0; v &= v - 1)
    n++;
  return n;
}

void
vm_moments_merge (GPtrArray *moments,
                  gint64     gap_ns)
{
  g_autoptr(GPtrArray) merged = NULL;
  VmMoment *current = NULL;
  double best = 0;

  g_return_if_fail (moments != NULL);

  g_ptr_array_sort (moments, compare_by_video_start);
  merged = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);

  for (guint i = 0; i < moments->len; i++)
    {
      VmMoment *m = g_ptr_array_index (moments, i);

      if (current != NULL && m->video_id == current->video_id &&
          m->start_ns <= current->end_ns + gap_ns)
        {
          current->end_ns = MAX (current->end_ns, m->end_ns);
          current->signals |= m->signals;
          best = MAX (best, m->score);
          for (guint k = 0; k < m->snippets->len; k++)
            g_ptr_array_add (current->snippets, g_steal_pointer (&m->snippets->pdata[k]));
          g_ptr_array_set_size (m->snippets, 0);
          current->score = MIN (1.0, best + SIGNAL_BONUS * (count_bits (current->signals) - 1));
          continue;
        }

      current = vm_moment_new ();
      current->video_id = m->video_id;
      current->path = g_strdup (m->path);
      current->start_ns = m->start_ns;
      current->end_ns = m->end_ns;
      current->signals = m->signals;
      current->score = m->score;
      best = m->score;
      for (guint k = 0; k < m->snippets->len; k++)
        g_ptr_array_add (current->snippets, g_steal_pointer (&m->snippets->pdata[k]));
      g_ptr_array_set_size (m->snippets, 0);
      g_ptr_array_add (merged, current);
    }

  for (guint i = 0; i < merged->len; i++)
    {
      VmMoment *m = g_ptr_array_index (merged, i);

      g_ptr_array_sort (m->snippets, compare_snippets);
    }
  g_ptr_array_sort (merged, compare_by_score);

  /* Hand the merged moments back in @moments. */
  g_ptr_array_set_size (moments, 0);
  for (guint i = 0; i < merged->len; i++)
    g_ptr_array_add (moments, g_steal_pointer (&merged->pdata[i]));
  g_ptr_array_set_size (merged, 0);
}

/* A 0..1 score for one segment: any match is worth at least half; bm25
 * (negative, more negative is better) fills the rest; OCR and speech are
 * weighed by their confidence. */
static double
snippet_score (const VmTextSegment *segment)
{
  double s = MAX (0.0, -segment->rank);
  double weight = 1.0;

  if (segment->source != VM_TEXT_SOURCE_SUBTITLE)
    weight = 0.6 + 0.4 * CLAMP (segment->confidence, 0.0, 1.0);
  return weight * (0.5 + 0.5 * s / (1.0 + s));
}

GPtrArray *
vm_text_search (VmCatalog                  *catalog,
                const char                 *text,
                const VmTextSearchOptions  *options,
                GError                    **error)
{
  g_autoptr(GPtrArray) segments = NULL;
  g_autoptr(GPtrArray) moments = NULL;
  g_autoptr(GHashTable) videos = NULL;
  g_autofree char *fts = NULL;
  VmTextSearchOptions defaults;
  guint n_candidates;

  g_return_val_if_fail (VM_IS_CATALOG (catalog), NULL);

  if (options == NULL)
    {
      vm_text_search_options_init (&defaults);
      options = &defaults;
    }

  fts = vm_text_query_to_fts (text, error);
  if (fts == NULL)
    return NULL;

  n_candidates = MAX (MIN_CANDIDATES, MAX (options->limit, 1) * CANDIDATES_PER_MOMENT);
  if (options->video_id != 0 || options->sources != (VM_SIGNAL_SUBTITLE | VM_SIGNAL_OCR | VM_SIGNAL_SPEECH))
    n_candidates = 0; /* filtered below: read them all */

  segments = vm_catalog_search_text (catalog, fts, n_candidates, error);
  if (segments == NULL)
    return NULL;

  videos = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) vm_video_free);
  moments = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_moment_free);

  for (guint i = 0; i < segments->len; i++)
    {
      VmTextSegment *seg = g_ptr_array_index (segments, i);
      VmSignal signal = vm_signal_from_text_source (seg->source);
      VmVideo *video;
      VmMoment *moment;
      VmSnippet *snippet;

      if (options->video_id != 0 && seg->video_id != options->video_id)
        continue;
      if ((options->sources & signal) == 0)
        continue;

      video = g_hash_table_lookup (videos, &seg->video_id);
      if (video == NULL)
        {
          g_autoptr(GError) local_error = NULL;

          video = vm_catalog_get_video (catalog, seg->video_id, &local_error);
          if (video == NULL)
            {
              if (g_error_matches (local_error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND))
                continue;
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          g_hash_table_insert (videos, g_memdup2 (&seg->video_id, sizeof (gint64)), video);
        }
      if (video->status == VM_VIDEO_STATUS_MISSING)
        continue;

      snippet = g_new0 (VmSnippet, 1);
      snippet->source = seg->source;
      snippet->start_ns = seg->start_ns;
      snippet->end_ns = seg->end_ns;
      snippet->language = g_strdup (seg->language);
      snippet->text = g_strdup (seg->text);
      snippet->highlighted = g_strdup (seg->highlighted != NULL ? seg->highlighted : seg->text);
      snippet->confidence = seg->confidence;
      snippet->score = snippet_score (seg);

      moment = vm_moment_new ();
      moment->video_id = seg->video_id;
      moment->path = g_strdup (video->path);
      moment->start_ns = MAX (0, seg->start_ns - options->margin_ns);
      moment->end_ns = seg->end_ns + options->margin_ns;
      if (video->duration_ns > 0)
        {
          moment->end_ns = MIN (moment->end_ns, video->duration_ns);
          moment->start_ns = MIN (moment->start_ns, moment->end_ns);
        }
      moment->signals = signal;
      moment->score = snippet->score;
      g_ptr_array_add (moment->snippets, snippet);
      g_ptr_array_add (moments, moment);
    }

  vm_moments_merge (moments, options->merge_gap_ns);

  if (options->limit > 0 && moments->len > options->limit)
    g_ptr_array_set_size (moments, options->limit);

  return g_steal_pointer (&moments);
}
