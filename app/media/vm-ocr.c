/* vm-ocr.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "media/vm-ocr.h"

#include <glib/gi18n.h>
#include <string.h>
#include <tesseract/capi.h>

#include "core/vm-util.h"

/* Change detection works on the mean luma of a GRID × GRID grid of cells. */
#define GRID 32
/* A cell "changed" when its mean luma moved by more than this (0..255). */
#define CELL_DELTA 10.0
/* Token bucket: frames that may be OCR'd back to back. */
#define OCR_BURST 2.0
/* Sampled frames remembered between two OCRs, to date new text. */
#define HISTORY 32
/* A line read with this confidence needs no second reading of its frame. */
#define SURE_CONFIDENCE 0.9
/* Lines with fewer letters and digits than this need SHORT_LINE_CONFIDENCE. */
#define SHORT_LINE 4
#define SHORT_LINE_CONFIDENCE 0.8

struct _VmOcr {
  TessBaseAPI *api;
};

void
vm_ocr_line_free (VmOcrLine *line)
{
  if (line == NULL)
    return;
  g_free (line->text);
  g_free (line);
}

void
vm_ocr_segment_free (VmOcrSegment *segment)
{
  if (segment == NULL)
    return;
  g_free (segment->text);
  g_free (segment);
}

VmOcr *
vm_ocr_new (const char  *languages,
            GError     **error)
{
  VmOcr *self;

  if (languages == NULL || *languages == '\0')
    languages = "eng";

  for (const char *p = languages; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '_' && *p != '-')
      {
        g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED,
                     _("“%s” is not a list of OCR languages (use names like “eng+deu”)"), languages);
        return NULL;
      }

  self = g_new0 (VmOcr, 1);
  self->api = TessBaseAPICreate ();
  /* Tesseract prints its diagnostics to stderr by default. */
  TessBaseAPISetVariable (self->api, "debug_file", "/dev/null");
  if (TessBaseAPIInit2 (self->api, NULL, languages, OEM_LSTM_ONLY) != 0 &&
      TessBaseAPIInit2 (self->api, NULL, languages, OEM_DEFAULT) != 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_MISSING_PLUGIN,
                   _("OCR is not available for “%s”: install Tesseract’s language data (tesseract-ocr-%s)"),
                   languages, languages);
      vm_ocr_free (self);
      return NULL;
    }
  TessBaseAPISetVariable (self->api, "debug_file", "/dev/null");
  TessBaseAPISetPageSegMode (self->api, PSM_SPARSE_TEXT);
  return self;
}

void
vm_ocr_free (VmOcr *ocr)
{
  if (ocr == NULL)
    return;
  if (ocr->api != NULL)
    {
      TessBaseAPIEnd (ocr->api);
      TessBaseAPIDelete (ocr->api);
    }
  g_free (ocr);
}

static char *
clean_line (const char *raw)
{
  g_autofree char *valid = g_utf8_make_valid (raw, -1);
  g_auto(GStrv) words = NULL;
  GString *out = g_string_new (NULL);

  g_strdelimit (valid, "\t\r\n\f\v", ' ');
  words = g_strsplit (valid, " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    {
      if (words[i][0] == '\0')
        continue;
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, words[i]);
    }
  return g_string_free (out, FALSE);
}

static guint
count_alnum (const char *s)
{
  guint n = 0;

  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_isalnum (g_utf8_get_char (p)))
      n++;
  return n;
}

static void
add_line (GPtrArray  *lines,
          const char *text,
          double      confidence,
          int         x0,
          int         y0,
          int         x1,
          int         y1,
          double      min_confidence)
{
  VmOcrLine *line;

  guint n_alnum = count_alnum (text);

  /* Short readings are mostly texture (checkers, grilles): keep them only
   * when Tesseract is quite sure. */
  if (confidence < min_confidence || n_alnum < 2 ||
      (n_alnum < SHORT_LINE && confidence < SHORT_LINE_CONFIDENCE))
    return;
  line = g_new0 (VmOcrLine, 1);
  line->text = g_strdup (text);
  line->confidence = CLAMP (confidence, 0.0, 1.0);
  line->x = x0 == G_MAXINT ? 0 : x0;
  line->y = y0 == G_MAXINT ? 0 : y0;
  line->width = MAX (0, x1 - line->x);
  line->height = MAX (0, y1 - line->y);
  line->appeared_ns = -1;
  g_ptr_array_add (lines, line);
}

/* One Tesseract pass over an image of 1 (gray) or 3 (RGB) bytes per pixel;
 * appends the lines found to @lines. */
static gboolean
recognize_pass (VmOcr         *ocr,
                const guint8  *pixels,
                guint          width,
                guint          height,
                guint          bytes_per_pixel,
                guint          stride,
                double         min_confidence,
                GPtrArray     *lines,
                GError       **error)
{
  TessResultIterator *it;

  TessBaseAPISetImage (ocr->api, pixels, width, height, bytes_per_pixel, stride);
  TessBaseAPISetSourceResolution (ocr->api, 96);
  if (TessBaseAPIRecognize (ocr->api, NULL) != 0)
    {
      TessBaseAPIClear (ocr->api);
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, _("Tesseract could not read the frame"));
      return FALSE;
    }

  /* Words, grouped into lines; words without a letter or digit (frames,
   * bars and noise read as "|", "§", "—") and unsure words are dropped. */
  it = TessBaseAPIGetIterator (ocr->api);
  if (it != NULL)
    {
      const TessPageIterator *page = TessResultIteratorGetPageIteratorConst (it);
      g_autoptr(GString) text = g_string_new (NULL);
      double conf_sum = 0;
      guint n_words = 0;
      int x0 = G_MAXINT, y0 = G_MAXINT, x1 = 0, y1 = 0;

      do
        {
          char *raw;
          double confidence;
          int left = 0, top = 0, right = 0, bottom = 0;

          if (TessPageIteratorIsAtBeginningOf (page, RIL_TEXTLINE) && n_words > 0)
            {
              add_line (lines, text->str, conf_sum / n_words, x0, y0, x1, y1, min_confidence);
              g_string_truncate (text, 0);
              conf_sum = 0;
              n_words = 0;
              x0 = y0 = G_MAXINT;
              x1 = y1 = 0;
            }

          raw = TessResultIteratorGetUTF8Text (it, RIL_WORD);
          if (raw == NULL)
            continue;
          confidence = TessResultIteratorConfidence (it, RIL_WORD) / 100.0;
          if (confidence >= min_confidence && count_alnum (raw) > 0)
            {
              g_autofree char *word = clean_line (raw);

              if (text->len > 0)
                g_string_append_c (text, ' ');
              g_string_append (text, word);
              conf_sum += confidence;
              n_words++;
              if (TessPageIteratorBoundingBox (page, RIL_WORD, &left, &top, &right, &bottom))
                {
                  x0 = MIN (x0, left);
                  y0 = MIN (y0, top);
                  x1 = MAX (x1, right);
                  y1 = MAX (y1, bottom);
                }
            }
          TessDeleteText (raw);
        }
      while (TessResultIteratorNext (it, RIL_WORD));

      if (n_words > 0)
        add_line (lines, text->str, conf_sum / n_words, x0, y0, x1, y1, min_confidence);
      TessResultIteratorDelete (it);
    }
  TessBaseAPIClear (ocr->api);
  return TRUE;
}

static gboolean
has_sure_line (GPtrArray *lines)
{
  for (guint i = 0; i < lines->len; i++)
    if (((VmOcrLine *) g_ptr_array_index (lines, i))->confidence >= SURE_CONFIDENCE)
      return TRUE;
  return FALSE;
}

/* Two readings of a frame: the "whiteness" (smallest of R, G, B) first,
 * which keeps white and grey text and darkens coloured backgrounds (the
 * usual case for captions and titles); then, unless that found a line
 * Tesseract is sure of, the colour image itself (coloured text).  Lines of
 * the second reading that repeat one of the first are dropped. */
GPtrArray *
vm_ocr_recognize (VmOcr         *ocr,
                  const guint8  *rgb,
                  guint          width,
                  guint          height,
                  guint          stride,
                  double         min_confidence,
                  GError       **error)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_ocr_line_free);
  g_autoptr(GPtrArray) colour = NULL;
  g_autofree guint8 *white = NULL;

  g_return_val_if_fail (ocr != NULL, NULL);

  if (rgb == NULL || width < 8 || height < 8 || stride < width * 3)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, _("The image is too small for OCR"));
      return NULL;
    }

  white = g_malloc ((gsize) width * height);
  for (guint y = 0; y < height; y++)
    {
      const guint8 *p = rgb + (gsize) y * stride;
      guint8 *q = white + (gsize) y * width;

      for (guint x = 0; x < width; x++, p += 3)
        q[x] = MIN (p[0], MIN (p[1], p[2]));
    }

  if (!recognize_pass (ocr, white, width, height, 1, width, min_confidence, lines, error))
    return NULL;
  if (has_sure_line (lines))
    return g_steal_pointer (&lines);

  colour = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_ocr_line_free);
  if (!recognize_pass (ocr, rgb, width, height, 3, stride, min_confidence, colour, error))
    return NULL;
  for (guint i = 0; i < colour->len; i++)
    {
      VmOcrLine *line = g_ptr_array_index (colour, i);
      gboolean repeated = FALSE;

      for (guint k = 0; k < lines->len && !repeated; k++)
        {
          VmOcrLine *other = g_ptr_array_index (lines, k);

          if (vm_text_distance (line->text, other->text) <= 0.3)
            {
              repeated = TRUE;
              if (line->confidence > other->confidence)
                {
                  g_free (other->text);
                  other->text = g_strdup (line->text);
                  other->confidence = line->confidence;
                }
            }
        }
      if (!repeated)
        g_ptr_array_add (lines, g_steal_pointer (&colour->pdata[i]));
    }

  return g_steal_pointer (&lines);
}

/* ---- Text distance ------------------------------------------------------ */

double
vm_text_distance (const char *a,
                  const char *b)
{
  g_autofree char *fa = g_utf8_casefold (a, -1);
  g_autofree char *fb = g_utf8_casefold (b, -1);
  g_autofree gunichar *ua = NULL;
  g_autofree gunichar *ub = NULL;
  g_autofree guint *row = NULL;
  glong na = 0, nb = 0;

  ua = g_utf8_to_ucs4_fast (fa, -1, &na);
  ub = g_utf8_to_ucs4_fast (fb, -1, &nb);
  if (na == 0 && nb == 0)
    return 0.0;
  if (na == 0 || nb == 0)
    return 1.0;

  row = g_new (guint, nb + 1);
  for (glong j = 0; j <= nb; j++)
    row[j] = j;
  for (glong i = 1; i <= na; i++)
    {
      guint diag = row[0];

      row[0] = i;
      for (glong j = 1; j <= nb; j++)
        {
          guint up = row[j];
          guint best = diag + (ua[i - 1] == ub[j - 1] ? 0 : 1);

          best = MIN (best, up + 1);
          best = MIN (best, row[j - 1] + 1);
          row[j] = best;
          diag = up;
        }
    }

  return (double) row[nb] / MAX (na, nb);
}

/* ---- Tracker ------------------------------------------------------------ */

typedef struct {
  VmOcrSegment *segment;
  int           x, y, width, height;   /* where it was last read */
  gint64        vanished_ns;           /* its region changed here; -1 when not */
  gint64        last_seen;
  double        best_confidence;
  double        confidence_sum;
  guint         n_seen;
} Active;

struct _VmOcrTracker {
  double      merge_distance;
  GPtrArray  *active;      /* Active* */
  GPtrArray  *done;        /* VmOcrSegment* */
};

static void
active_free (Active *active)
{
  vm_ocr_segment_free (active->segment);
  g_free (active);
}

VmOcrTracker *
vm_ocr_tracker_new (double merge_distance)
{
  VmOcrTracker *self = g_new0 (VmOcrTracker, 1);

  self->merge_distance = merge_distance;
  self->active = g_ptr_array_new_with_free_func ((GDestroyNotify) active_free);
  self->done = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_ocr_segment_free);
  return self;
}

void
vm_ocr_tracker_free (VmOcrTracker *tracker)
{
  if (tracker == NULL)
    return;
  g_ptr_array_unref (tracker->active);
  g_ptr_array_unref (tracker->done);
  g_free (tracker);
}

static void
close_active (VmOcrTracker *self,
              guint         index,
              gint64        end_ns)
{
  Active *a = g_ptr_array_index (self->active, index);
  VmOcrSegment *segment = g_steal_pointer (&a->segment);

  segment->end_ns = MAX (end_ns, segment->start_ns + 1);
  segment->confidence = a->confidence_sum / MAX (a->n_seen, 1);
  g_ptr_array_add (self->done, segment);
  g_ptr_array_remove_index (self->active, index);
}

void
vm_ocr_tracker_add (VmOcrTracker *self,
                    gint64        changed_ns,
                    gint64        pts_ns,
                    GPtrArray    *lines)
{
  g_autofree gboolean *matched = g_new0 (gboolean, self->active->len + 1);
  guint n_active = self->active->len;

  changed_ns = MIN (changed_ns, pts_ns);

  for (guint i = 0; i < lines->len; i++)
    {
      VmOcrLine *line = g_ptr_array_index (lines, i);
      double best = 2.0;
      int best_k = -1;
      gboolean repeated = FALSE;

      /* The same text twice in one frame (a repeated pattern) counts once. */
      for (guint j = 0; j < i && !repeated; j++)
        repeated = g_str_equal (((VmOcrLine *) g_ptr_array_index (lines, j))->text, line->text);
      if (repeated)
        continue;

      for (guint k = 0; k < n_active; k++)
        {
          Active *a = g_ptr_array_index (self->active, k);
          double d;

          if (matched[k])
            continue;
          d = vm_text_distance (a->segment->text, line->text);
          if (d < best)
            {
              best = d;
              best_k = k;
            }
        }

      if (best_k >= 0 && best <= self->merge_distance)
        {
          Active *a = g_ptr_array_index (self->active, best_k);

          matched[best_k] = TRUE;
          a->last_seen = pts_ns;
          a->vanished_ns = -1;
          a->x = line->x;
          a->y = line->y;
          a->width = line->width;
          a->height = line->height;
          a->confidence_sum += line->confidence;
          a->n_seen++;
          /* Keep the reading Tesseract was surest of. */
          if (line->confidence > a->best_confidence)
            {
              g_free (a->segment->text);
              a->segment->text = g_strdup (line->text);
              a->best_confidence = line->confidence;
            }
          continue;
        }

      {
        Active *a = g_new0 (Active, 1);

        a->segment = g_new0 (VmOcrSegment, 1);
        a->segment->start_ns = line->appeared_ns >= 0 ? MIN (line->appeared_ns, pts_ns) : changed_ns;
        a->x = line->x;
        a->y = line->y;
        a->width = line->width;
        a->height = line->height;
        a->vanished_ns = -1;
        a->segment->end_ns = -1;
        a->segment->text = g_strdup (line->text);
        a->last_seen = pts_ns;
        a->best_confidence = line->confidence;
        a->confidence_sum = line->confidence;
        a->n_seen = 1;
        g_ptr_array_add (self->active, a);
      }
    }

  /* Text of earlier frames that is gone ended when the image changed. */
  for (guint k = n_active; k > 0; k--)
    if (!matched[k - 1])
      {
        Active *a = g_ptr_array_index (self->active, k - 1);

        close_active (self, k - 1, a->vanished_ns >= 0 ? a->vanished_ns : changed_ns);
      }
}

void
vm_ocr_tracker_check_regions (VmOcrTracker    *self,
                              gint64           pts_ns,
                              VmOcrRegionFunc  same,
                              gpointer         user_data)
{
  for (guint k = 0; k < self->active->len; k++)
    {
      Active *a = g_ptr_array_index (self->active, k);

      if (a->vanished_ns >= 0)
        continue;
      if (same (a->x, a->y, a->width, a->height, user_data))
        a->last_seen = MAX (a->last_seen, pts_ns);
      else
        a->vanished_ns = pts_ns;
    }
}

void
vm_ocr_tracker_extend (VmOcrTracker *self,
                       gint64        pts_ns)
{
  for (guint k = 0; k < self->active->len; k++)
    {
      Active *a = g_ptr_array_index (self->active, k);

      a->last_seen = MAX (a->last_seen, pts_ns);
      a->vanished_ns = -1;
    }
}

static int
compare_segments (gconstpointer a,
                  gconstpointer b)
{
  const VmOcrSegment *x = *(VmOcrSegment * const *) a;
  const VmOcrSegment *y = *(VmOcrSegment * const *) b;

  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  return strcmp (x->text, y->text);
}

GPtrArray *
vm_ocr_tracker_finish (VmOcrTracker *self,
                       gint64        end_ns)
{
  GPtrArray *result;

  while (self->active->len > 0)
    {
      Active *a = g_ptr_array_index (self->active, self->active->len - 1);

      close_active (self, self->active->len - 1,
                    a->vanished_ns >= 0 ? a->vanished_ns : MAX (end_ns, a->last_seen));
    }

  result = g_steal_pointer (&self->done);
  self->done = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_ocr_segment_free);
  g_ptr_array_sort (result, compare_segments);
  return result;
}

/* ---- Whole videos ------------------------------------------------------- */

void
vm_ocr_options_init (VmOcrOptions *options)
{
  memset (options, 0, sizeof *options);
  options->languages = "eng";
  options->sample_rate = 2.0;
  options->max_ocr_rate = 0.5;
  options->short_side = 720;
  options->change_fraction = 0.002;
  options->min_confidence = 0.6;
  options->merge_distance = 0.3;
  options->watchdog_ms = 30000;
}

typedef struct {
  const VmOcrOptions *options;
  VmOcr              *ocr;
  VmOcrTracker       *tracker;
  VmOcrStats         *stats;
  float               last_grid[GRID * GRID];   /* of the last frame OCR'd */
  gboolean            have_last;
  gint64              changed_ns;               /* first changed frame since the last OCR, or -1 */
  gint64              last_pts;
  double              tokens;
  /* Sampled frames since the last OCR, oldest first (a ring of HISTORY). */
  float               history[HISTORY][GRID * GRID];
  gint64              history_pts[HISTORY];
  guint               history_first;
  guint               history_len;
  const float        *region_grid;              /* for region_same_cb */
  guint               width, height;
} Extract;

/* The grid cells a pixel rectangle touches. */
static void
region_cells (Extract *self,
              int      x,
              int      y,
              int      width,
              int      height,
              guint   *x0,
              guint   *y0,
              guint   *x1,
              guint   *y1)
{
  *x0 = CLAMP (x, 0, (int) self->width - 1) * GRID / self->width;
  *y0 = CLAMP (y, 0, (int) self->height - 1) * GRID / self->height;
  *x1 = CLAMP (x + width - 1, 0, (int) self->width - 1) * GRID / self->width;
  *y1 = CLAMP (y + height - 1, 0, (int) self->height - 1) * GRID / self->height;
}

/* Whether two grids agree over a region: at most a quarter of its cells
 * moved by more than CELL_DELTA. */
static gboolean
region_equal (Extract     *self,
              const float *a,
              const float *b,
              int          x,
              int          y,
              int          width,
              int          height)
{
  guint x0, y0, x1, y1, n = 0, changed = 0;

  if (width <= 0 || height <= 0)
    return FALSE;
  region_cells (self, x, y, width, height, &x0, &y0, &x1, &y1);
  for (guint gy = y0; gy <= y1; gy++)
    for (guint gx = x0; gx <= x1; gx++)
      {
        n++;
        if (ABS (a[gy * GRID + gx] - b[gy * GRID + gx]) > CELL_DELTA)
          changed++;
      }
  return changed * 4 <= n;
}

static gboolean
region_same_cb (int      x,
                int      y,
                int      width,
                int      height,
                gpointer user_data)
{
  Extract *self = user_data;

  return region_equal (self, self->region_grid, self->last_grid, x, y, width, height);
}

/* When did @line's region take the look it has in @grid?  The first frame
 * since the last OCR from which it stayed so; -1 when it looked so already
 * at the last OCR (then the earlier reading simply missed it). */
static gint64
line_appeared (Extract         *self,
               const VmOcrLine *line,
               const float     *grid)
{
  gint64 appeared = -1;

  for (guint i = self->history_len; i > 0; i--)
    {
      guint k = (self->history_first + i - 1) % HISTORY;

      if (!region_equal (self, self->history[k], grid, line->x, line->y, line->width, line->height))
        return appeared;
      appeared = self->history_pts[k];
    }
  if (self->have_last &&
      region_equal (self, self->last_grid, grid, line->x, line->y, line->width, line->height))
    return -1;
  return appeared;
}

static void
luma_grid (const VmFrame *frame,
           float          grid[GRID * GRID])
{
  guint counts[GRID * GRID] = { 0 };
  guint step = MAX (1, MIN (frame->width, frame->height) / (GRID * 4));

  memset (grid, 0, sizeof (float) * GRID * GRID);
  for (guint y = 0; y < frame->height; y += step)
    {
      const guint8 *row = frame->data + (gsize) y * frame->stride;
      guint gy = y * GRID / frame->height;

      for (guint x = 0; x < frame->width; x += step)
        {
          const guint8 *p = row + 3 * x;
          guint cell = gy * GRID + x * GRID / frame->width;

          grid[cell] += 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
          counts[cell]++;
        }
    }
  for (guint i = 0; i < GRID * GRID; i++)
    if (counts[i] > 0)
      grid[i] /= counts[i];
}

static gboolean
ocr_frame_cb (const VmFrame  *frame,
              gpointer        user_data,
              GError        **error)
{
  Extract *self = user_data;
  float grid[GRID * GRID];
  gboolean changed = TRUE;

  self->stats->n_sampled++;
  luma_grid (frame, grid);

  if (self->have_last)
    {
      guint n = 0;

      for (guint i = 0; i < GRID * GRID; i++)
        if (ABS (grid[i] - self->last_grid[i]) > CELL_DELTA)
          n++;
      changed = n >= MAX (1.0, self->options->change_fraction * GRID * GRID);
    }

  /* The budget grows with video time. */
  if (self->last_pts >= 0 && frame->pts_ns > self->last_pts)
    self->tokens = MIN (OCR_BURST, self->tokens + self->options->max_ocr_rate *
                                      (frame->pts_ns - self->last_pts) / (double) VM_NSEC_PER_SEC);
  self->last_pts = frame->pts_ns;

  self->width = frame->width;
  self->height = frame->height;

  /* Remember this frame, to date text that the next OCR finds. */
  {
    guint k;

    if (self->history_len == HISTORY)
      {
        self->history_first = (self->history_first + 1) % HISTORY;
        self->history_len--;
      }
    k = (self->history_first + self->history_len) % HISTORY;
    memcpy (self->history[k], grid, sizeof grid);
    self->history_pts[k] = frame->pts_ns;
    self->history_len++;
  }

  if (!changed && self->changed_ns < 0)
    {
      vm_ocr_tracker_extend (self->tracker, frame->pts_ns);
      return TRUE;
    }

  /* Changed: text whose own region did not change goes on. */
  self->region_grid = grid;
  vm_ocr_tracker_check_regions (self->tracker, frame->pts_ns, region_same_cb, self);

  if (self->changed_ns < 0)
    {
      self->changed_ns = frame->pts_ns;
      self->stats->n_changed++;
    }

  if (self->tokens >= 1.0 || !self->have_last)
    {
      g_autoptr(GPtrArray) lines = NULL;
      gint64 t0 = g_get_monotonic_time ();

      lines = vm_ocr_recognize (self->ocr, frame->data, frame->width, frame->height, frame->stride,
                                self->options->min_confidence, error);
      self->stats->ocr_seconds += (g_get_monotonic_time () - t0) / 1e6;
      if (lines == NULL)
        return FALSE;
      self->stats->n_ocr++;
      self->tokens = MAX (0.0, self->tokens - 1.0);
      for (guint i = 0; i < lines->len; i++)
        {
          VmOcrLine *line = g_ptr_array_index (lines, i);

          line->appeared_ns = line_appeared (self, line, grid);
        }
      vm_ocr_tracker_add (self->tracker, self->changed_ns, frame->pts_ns, lines);
      memcpy (self->last_grid, grid, sizeof grid);
      self->have_last = TRUE;
      self->changed_ns = -1;
      self->history_len = 0;
    }

  return TRUE;
}

GPtrArray *
vm_ocr_extract (const char          *path,
                const VmOcrOptions  *options,
                GCancellable        *cancellable,
                VmOcrStats          *stats,
                GError             **error)
{
  g_autoptr(VmOcr) ocr = NULL;
  g_autoptr(VmOcrTracker) tracker = NULL;
  VmOcrOptions defaults;
  VmOcrStats local_stats = { 0 };
  VmSamplerOptions sampler;
  g_autofree Extract *self = g_new0 (Extract, 1);
  gint64 end_ns;

  if (options == NULL)
    {
      vm_ocr_options_init (&defaults);
      options = &defaults;
    }
  if (stats == NULL)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);

  if (options->sample_rate <= 0 || options->max_ocr_rate <= 0)
    {
      g_set_error (error, VM_MEDIA_ERROR, VM_MEDIA_ERROR_FAILED, _("OCR rates must be positive"));
      return NULL;
    }

  ocr = vm_ocr_new (options->languages, error);
  if (ocr == NULL)
    return NULL;
  tracker = vm_ocr_tracker_new (options->merge_distance);

  vm_sampler_options_init (&sampler);
  sampler.mode = VM_SAMPLE_RATE;
  sampler.rate = options->sample_rate;
  sampler.short_side = options->short_side;
  sampler.watchdog_ms = options->watchdog_ms;

  self->options = options;
  self->ocr = ocr;
  self->tracker = tracker;
  self->stats = stats;
  self->changed_ns = -1;
  self->last_pts = -1;
  self->tokens = 1.0;

  if (!vm_sampler_run (path, &sampler, ocr_frame_cb, self, cancellable, error))
    return NULL;

  /* Open text lasts to the end of the last frame looked at. */
  end_ns = self->last_pts < 0 ? 0 : self->last_pts + (gint64) (VM_NSEC_PER_SEC / options->sample_rate);
  return vm_ocr_tracker_finish (tracker, end_ns);
}
