/* vm-timeline.c — score curve, hits, segments, playhead.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "core/vm-util.h"
#include "widgets/vm-moment-item.h"
#include "widgets/vm-search.h"
#include "widgets/vm-timeline.h"

#define EDGE_GRAB_PX     6.0
#define RULER_HEIGHT     14.0
#define CURVE_TOP        16.0
#define CURVE_HEIGHT     40.0
#define SEGMENT_TOP      62.0
#define SEGMENT_HEIGHT   26.0
#define SALIENCY_TOP     90.0   /* a row of 2-second clip cells under each segment */
#define SALIENCY_HEIGHT  14.0
#define TIMELINE_HEIGHT  106

typedef struct {
  gint64 start;
  gint64 end;
  double score;
} Hit;

typedef enum {
  DRAG_NONE,
  DRAG_SEEK,
  DRAG_START_EDGE,
  DRAG_END_EDGE,
} DragMode;

struct _VmTimeline
{
  GtkWidget          parent_instance;

  gint64             duration;
  gint64             position;
  gint64             frame;
  GArray            *hits;         /* Hit */
  GArray            *curve;        /* VmCurvePoint of the visual signal, or NULL */
  float              curve_min;
  float              curve_max;
  VmAnnotationStack *stack;
  guint              selected;
  char              *fingerprint;
  double             zoom;
  gint64             view_start;

  DragMode           drag_mode;
  guint              drag_key;
  gint64             drag_start;   /* segment range while dragging an edge */
  gint64             drag_end;
  double             drag_origin_x;

  GtkWidget         *popover;
  GtkWidget         *popover_picture;
  GtkWidget         *popover_label;
  char              *popover_file;
};

G_DEFINE_FINAL_TYPE (VmTimeline, vm_timeline, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DURATION,
  PROP_POSITION,
  PROP_ZOOM,
  PROP_SELECTED,
  N_PROPS
};

enum {
  SEEK,
  SEGMENT_SELECTED,
  SEGMENT_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

gint64
vm_timeline_get_view_length (VmTimeline *self)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), 0);
  if (self->duration <= 0)
    return 0;
  return MAX ((gint64) (self->duration / self->zoom), 1);
}

gint64
vm_timeline_get_view_start (VmTimeline *self)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), 0);
  return self->view_start;
}

static void
clamp_view (VmTimeline *self)
{
  gint64 len = vm_timeline_get_view_length (self);

  self->view_start = CLAMP (self->view_start, 0, MAX (self->duration - len, 0));
}

gint64
vm_timeline_x_to_time (VmTimeline *self,
                       double      x)
{
  int width;

  g_return_val_if_fail (VM_IS_TIMELINE (self), 0);

  width = gtk_widget_get_width (GTK_WIDGET (self));
  if (width <= 0 || self->duration <= 0)
    return 0;
  return CLAMP (self->view_start + (gint64) (x / width * vm_timeline_get_view_length (self)),
                0, self->duration);
}

double
vm_timeline_time_to_x (VmTimeline *self,
                       gint64      t)
{
  int width;
  gint64 len;

  g_return_val_if_fail (VM_IS_TIMELINE (self), 0);

  width = gtk_widget_get_width (GTK_WIDGET (self));
  len = vm_timeline_get_view_length (self);
  if (len <= 0)
    return 0;
  return (double) (t - self->view_start) / len * width;
}

gint64
vm_timeline_snap (VmTimeline *self,
                  gint64      t)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), t);

  if (self->frame <= 0)
    return t;
  /* To the nearest frame start; halfway goes to the earlier frame, the one
   * shown at that time. */
  t = ((t + (self->frame - 1) / 2) / self->frame) * self->frame;
  if (self->duration > 0)
    t = MIN (t, self->duration);
  return MAX (t, 0);
}

double
vm_timeline_get_score_at (VmTimeline *self,
                          gint64      t)
{
  double best = 0;

  g_return_val_if_fail (VM_IS_TIMELINE (self), 0);

  /* A curve of one sample, or a flat one, says nothing: the hits do. */
  if (vm_timeline_has_curve (self))
    {
      const VmCurvePoint *p = (const VmCurvePoint *) (gpointer) self->curve->data;
      guint n = self->curve->len, lo = 0, hi = n - 1;
      double range = self->curve_max - self->curve_min;
      double v;

      /* Linear between the samples, flat past the ends. */
      if (t <= p[0].t_ns)
        v = p[0].score;
      else if (t >= p[n - 1].t_ns)
        v = p[n - 1].score;
      else
        {
          while (hi - lo > 1)
            {
              guint mid = (lo + hi) / 2;

              if (p[mid].t_ns <= t)
                lo = mid;
              else
                hi = mid;
            }
          v = p[lo].score + (p[hi].score - p[lo].score) *
              (double) (t - p[lo].t_ns) / MAX (p[hi].t_ns - p[lo].t_ns, 1);
        }
      return CLAMP ((v - self->curve_min) / range, 0, 1);
    }

  for (guint i = 0; i < self->hits->len; i++)
    {
      const Hit *h = &g_array_index (self->hits, Hit, i);
      double d = 0, v;

      if (t < h->start)
        d = (h->start - t) / 1e9;
      else if (t > h->end)
        d = (t - h->end) / 1e9;
      v = CLAMP (h->score, 0, 1) * exp (-(d * d));
      best = MAX (best, v);
    }
  return best;
}

static void
get_fg (VmTimeline *self,
        GdkRGBA    *color)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), color);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

/* The saliency row under a segment: one cell per 2-second clip of the video
 * that the segment overlaps, filled by its score (0-4, the digit when there
 * is room), outlined when unrated; the clip under the playhead is marked. */
static void
draw_clip_cells (VmTimeline      *self,
                 GtkSnapshot     *snapshot,
                 const VmSegment *seg,
                 gint64           start,
                 gint64           end,
                 gboolean         selected,
                 const GdkRGBA   *fg)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget);
  gint64 view_end = self->view_start + vm_timeline_get_view_length (self);
  guint first = vm_annotation_stack_clip_at (MAX (start, self->view_start));
  guint playhead_clip = vm_annotation_stack_clip_at (self->position);
  GdkRGBA outline = *fg;

  outline.alpha = selected ? 0.35 : 0.18;
  for (guint clip = first; (gint64) clip * VM_ANNOTATION_CLIP_NS < MIN (end, view_end); clip++)
    {
      gint64 c0 = MAX ((gint64) clip * VM_ANNOTATION_CLIP_NS, start);
      gint64 c1 = MIN ((gint64) (clip + 1) * VM_ANNOTATION_CLIP_NS, end);
      double x0 = vm_timeline_time_to_x (self, c0);
      double x1 = vm_timeline_time_to_x (self, c1);
      double w = MAX (x1 - x0 - 1, 1);
      int score = vm_annotation_get_clip_score (seg->annotation, clip);

      if (x1 < 0)
        continue;
      if (x0 > width)
        break;
      if (score >= 0)
        {
          GdkRGBA fill = { 0.96, 0.47, 0.0, (selected ? 0.25 : 0.15) + score * (selected ? 0.18 : 0.12) };

          gtk_snapshot_append_color (snapshot, &fill, &GRAPHENE_RECT_INIT (x0, SALIENCY_TOP, w, SALIENCY_HEIGHT));
        }
      else
        {
          GskRoundedRect r;
          const float bw[4] = { 1, 1, 1, 1 };
          const GdkRGBA bc[4] = { outline, outline, outline, outline };

          gsk_rounded_rect_init_from_rect (&r, &GRAPHENE_RECT_INIT (x0, SALIENCY_TOP, w, SALIENCY_HEIGHT), 0);
          gtk_snapshot_append_border (snapshot, &r, bw, bc);
        }
      if (selected && clip == playhead_clip && self->position >= start && self->position < end)
        {
          GdkRGBA mark = { 0.88, 0.11, 0.14, 1.0 };

          gtk_snapshot_append_color (snapshot, &mark, &GRAPHENE_RECT_INIT (x0, SALIENCY_TOP + SALIENCY_HEIGHT - 2, w, 2));
        }
      if (score >= 0 && w >= 9)
        {
          char digit[2] = { (char) ('0' + score), '\0' };
          PangoLayout *layout = gtk_widget_create_pango_layout (widget, digit);
          PangoAttrList *attrs = pango_attr_list_new ();
          int lw, lh;

          pango_attr_list_insert (attrs, pango_attr_scale_new (0.7));
          pango_layout_set_attributes (layout, attrs);
          pango_attr_list_unref (attrs);
          pango_layout_get_pixel_size (layout, &lw, &lh);
          gtk_snapshot_save (snapshot);
          gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x0 + (w - lw) / 2,
                                                                  SALIENCY_TOP + (SALIENCY_HEIGHT - lh) / 2));
          gtk_snapshot_append_layout (snapshot, layout, fg);
          gtk_snapshot_restore (snapshot);
          g_object_unref (layout);
        }
    }
}

static void
vm_timeline_snapshot (GtkWidget   *widget,
                      GtkSnapshot *snapshot)
{
  VmTimeline *self = VM_TIMELINE (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GdkRGBA fg, dim, accent = { 0.21, 0.52, 0.89, 1.0 }, hit = { 0.96, 0.76, 0.07, 0.9 };
  gint64 len = vm_timeline_get_view_length (self);

  get_fg (self, &fg);
  dim = fg;
  dim.alpha = 0.08;
  gtk_snapshot_append_color (snapshot, &dim, &GRAPHENE_RECT_INIT (0, 0, width, height));

  if (self->duration <= 0 || width <= 0)
    return;

  /* Ruler: a tick at a round interval, about every 80 px. */
  {
    static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600 };
    double seconds_per_px = len / 1e9 / width;
    double step = steps[G_N_ELEMENTS (steps) - 1];
    GdkRGBA tick = fg;

    for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
      if (steps[i] / seconds_per_px >= 80)
        {
          step = steps[i];
          break;
        }
    tick.alpha = 0.35;
    for (double s = ceil (self->view_start / 1e9 / step) * step; s * 1e9 <= self->view_start + len; s += step)
      {
        double x = vm_timeline_time_to_x (self, (gint64) (s * 1e9));
        g_autofree char *text = vm_format_timestamp ((gint64) (s * 1e9));
        PangoLayout *layout;

        gtk_snapshot_append_color (snapshot, &tick, &GRAPHENE_RECT_INIT (x, 0, 1, RULER_HEIGHT));
        /* "0:00:05.000" → drop the milliseconds when the step is whole seconds */
        if (step >= 1 && strlen (text) > 4)
          text[strlen (text) - 4] = '\0';
        layout = gtk_widget_create_pango_layout (widget, text);
        {
          PangoAttrList *attrs = pango_attr_list_new ();

          pango_attr_list_insert (attrs, pango_attr_scale_new (0.75));
          pango_layout_set_attributes (layout, attrs);
          pango_attr_list_unref (attrs);
        }
        gtk_snapshot_save (snapshot);
        gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + 3, 0));
        gtk_snapshot_append_layout (snapshot, layout, &tick);
        gtk_snapshot_restore (snapshot);
        g_object_unref (layout);
      }
  }

  /* Score curve, one bar every 2 px. */
  {
    GdkRGBA curve = accent;

    curve.alpha = 0.55;
    for (int x = 0; x < width; x += 2)
      {
        double v = vm_timeline_get_score_at (self, vm_timeline_x_to_time (self, x + 1));
        double h = v * CURVE_HEIGHT;

        if (h >= 0.5)
          gtk_snapshot_append_color (snapshot, &curve,
                                     &GRAPHENE_RECT_INIT (x, CURVE_TOP + CURVE_HEIGHT - h, 2, h));
      }
  }

  /* Hits: marks under the curve. */
  for (guint i = 0; i < self->hits->len; i++)
    {
      const Hit *h = &g_array_index (self->hits, Hit, i);
      double x0 = vm_timeline_time_to_x (self, h->start);
      double x1 = vm_timeline_time_to_x (self, h->end);

      if (x1 < 0 || x0 > width)
        continue;
      gtk_snapshot_append_color (snapshot, &hit,
                                 &GRAPHENE_RECT_INIT (x0, CURVE_TOP + CURVE_HEIGHT + 1, MAX (x1 - x0, 2), 3));
    }

  /* Annotated segments. */
  if (self->stack != NULL)
    {
      guint n = vm_annotation_stack_get_n_segments (self->stack);

      for (guint i = 0; i < n; i++)
        {
          const VmSegment *seg = vm_annotation_stack_get_segment (self->stack, i);
          gint64 s = seg->annotation->start_ns, e = seg->annotation->end_ns;
          gboolean selected = seg->key == self->selected;
          GdkRGBA body = { 0.15, 0.64, 0.41, selected ? 0.75 : 0.45 };
          GdkRGBA edge = { 0.15, 0.64, 0.41, 1.0 };
          double x0, x1;

          if (self->drag_key == seg->key &&
              (self->drag_mode == DRAG_START_EDGE || self->drag_mode == DRAG_END_EDGE))
            {
              s = self->drag_start;
              e = self->drag_end;
            }
          x0 = vm_timeline_time_to_x (self, s);
          x1 = vm_timeline_time_to_x (self, e);
          if (x1 < 0 || x0 > width)
            continue;
          if (seg->unsaved)
            {
              body = (GdkRGBA) { 0.88, 0.11, 0.14, 0.5 };
              edge = (GdkRGBA) { 0.88, 0.11, 0.14, 1.0 };
            }
          gtk_snapshot_append_color (snapshot, &body,
                                     &GRAPHENE_RECT_INIT (x0, SEGMENT_TOP, MAX (x1 - x0, 1), SEGMENT_HEIGHT));
          gtk_snapshot_append_color (snapshot, &edge,
                                     &GRAPHENE_RECT_INIT (x0, SEGMENT_TOP, 2, SEGMENT_HEIGHT));
          gtk_snapshot_append_color (snapshot, &edge,
                                     &GRAPHENE_RECT_INIT (x1 - 2, SEGMENT_TOP, 2, SEGMENT_HEIGHT));
          draw_clip_cells (self, snapshot, seg, s, e, selected, &fg);
          if (seg->annotation->text != NULL && *seg->annotation->text && x1 - x0 > 24)
            {
              PangoLayout *layout = gtk_widget_create_pango_layout (widget, seg->annotation->text);

              pango_layout_set_width (layout, (int) ((x1 - x0 - 8) * PANGO_SCALE));
              pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
              gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (x0, SEGMENT_TOP, x1 - x0, SEGMENT_HEIGHT));
              gtk_snapshot_save (snapshot);
              gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x0 + 4, SEGMENT_TOP + 4));
              gtk_snapshot_append_layout (snapshot, layout, &fg);
              gtk_snapshot_restore (snapshot);
              gtk_snapshot_pop (snapshot);
              g_object_unref (layout);
            }
        }
    }

  /* Playhead. */
  if (self->position >= 0)
    {
      double x = vm_timeline_time_to_x (self, self->position);
      GdkRGBA head = { 0.88, 0.11, 0.14, 1.0 };

      if (x >= -1 && x <= width + 1)
        gtk_snapshot_append_color (snapshot, &head, &GRAPHENE_RECT_INIT (x - 1, 0, 2, height));
    }
}

static void
vm_timeline_measure (GtkWidget      *widget,
                     GtkOrientation  orientation,
                     int             for_size,
                     int            *minimum,
                     int            *natural,
                     int            *minimum_baseline,
                     int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = 120;
  else
    *minimum = *natural = TIMELINE_HEIGHT;
}

static void
vm_timeline_size_allocate (GtkWidget *widget,
                           int        width,
                           int        height,
                           int        baseline)
{
  VmTimeline *self = VM_TIMELINE (widget);

  gtk_popover_present (GTK_POPOVER (self->popover));
}

/* The segment whose edge is under @x in the segment band, or 0. */
static guint
find_edge (VmTimeline *self,
           double      x,
           double      y,
           DragMode   *out_mode)
{
  guint n;

  if (self->stack == NULL || y < SEGMENT_TOP - 4 || y > SEGMENT_TOP + SEGMENT_HEIGHT + 4)
    return 0;
  n = vm_annotation_stack_get_n_segments (self->stack);
  for (guint i = 0; i < n; i++)
    {
      const VmSegment *seg = vm_annotation_stack_get_segment (self->stack, i);
      double x0 = vm_timeline_time_to_x (self, seg->annotation->start_ns);
      double x1 = vm_timeline_time_to_x (self, seg->annotation->end_ns);

      if (fabs (x - x0) <= EDGE_GRAB_PX)
        {
          *out_mode = DRAG_START_EDGE;
          return seg->key;
        }
      if (fabs (x - x1) <= EDGE_GRAB_PX)
        {
          *out_mode = DRAG_END_EDGE;
          return seg->key;
        }
    }
  return 0;
}

static guint
find_segment_at (VmTimeline *self,
                 double      x,
                 double      y)
{
  gint64 t;
  guint n;

  if (self->stack == NULL || y < SEGMENT_TOP || y > SEGMENT_TOP + SEGMENT_HEIGHT)
    return 0;
  t = vm_timeline_x_to_time (self, x);
  n = vm_annotation_stack_get_n_segments (self->stack);
  for (guint i = 0; i < n; i++)
    {
      const VmSegment *seg = vm_annotation_stack_get_segment (self->stack, i);

      if (t >= seg->annotation->start_ns && t <= seg->annotation->end_ns)
        return seg->key;
    }
  return 0;
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               VmTimeline     *self)
{
  DragMode mode = DRAG_NONE;
  guint key = find_edge (self, x, y, &mode);

  self->drag_origin_x = x;
  if (key != 0)
    {
      const VmSegment *seg = vm_annotation_stack_lookup (self->stack, key);

      self->drag_mode = mode;
      self->drag_key = key;
      self->drag_start = seg->annotation->start_ns;
      self->drag_end = seg->annotation->end_ns;
      vm_timeline_set_selected (self, key);
      g_signal_emit (self, signals[SEGMENT_SELECTED], 0, key);
      return;
    }

  key = find_segment_at (self, x, y);
  if (key != 0)
    {
      vm_timeline_set_selected (self, key);
      g_signal_emit (self, signals[SEGMENT_SELECTED], 0, key);
    }

  self->drag_mode = DRAG_SEEK;
  g_signal_emit (self, signals[SEEK], 0, vm_timeline_x_to_time (self, x), FALSE);
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                VmTimeline     *self)
{
  gint64 t = vm_timeline_snap (self, vm_timeline_x_to_time (self, self->drag_origin_x + dx));

  switch (self->drag_mode)
    {
    case DRAG_SEEK:
      g_signal_emit (self, signals[SEEK], 0, vm_timeline_x_to_time (self, self->drag_origin_x + dx), FALSE);
      break;
    case DRAG_START_EDGE:
      self->drag_start = MIN (t, self->drag_end - MAX (self->frame, 1));
      g_signal_emit (self, signals[SEEK], 0, self->drag_start, FALSE);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      break;
    case DRAG_END_EDGE:
      self->drag_end = MAX (t, self->drag_start + MAX (self->frame, 1));
      g_signal_emit (self, signals[SEEK], 0, self->drag_end, FALSE);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      break;
    default:
      break;
    }
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             VmTimeline     *self)
{
  DragMode mode = self->drag_mode;
  guint key = self->drag_key;

  self->drag_mode = DRAG_NONE;
  self->drag_key = 0;

  switch (mode)
    {
    case DRAG_SEEK:
      g_signal_emit (self, signals[SEEK], 0, vm_timeline_x_to_time (self, self->drag_origin_x + dx), TRUE);
      break;
    case DRAG_START_EDGE:
    case DRAG_END_EDGE:
      g_signal_emit (self, signals[SEEK], 0, mode == DRAG_START_EDGE ? self->drag_start : self->drag_end, TRUE);
      g_signal_emit (self, signals[SEGMENT_CHANGED], 0, key, self->drag_start, self->drag_end);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      break;
    default:
      break;
    }
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           VmTimeline               *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  if (self->duration <= 0)
    return FALSE;

  if (state & GDK_CONTROL_MASK)
    {
      double x = 0, y = 0;
      gint64 anchor;
      double fx;
      GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (controller));

      if (event == NULL || !gdk_event_get_position (event, &x, &y))
        x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      else
        {
          /* Event positions are in surface coordinates. */
          graphene_point_t p;
          GtkNative *native = gtk_widget_get_native (GTK_WIDGET (self));
          double nx = 0, ny = 0;

          gtk_native_get_surface_transform (native, &nx, &ny);
          if (gtk_widget_compute_point (GTK_WIDGET (native), GTK_WIDGET (self),
                                        &GRAPHENE_POINT_INIT (x - nx, y - ny), &p))
            x = p.x;
        }
      anchor = vm_timeline_x_to_time (self, x);
      fx = x / MAX (gtk_widget_get_width (GTK_WIDGET (self)), 1);
      vm_timeline_set_zoom (self, self->zoom * (dy < 0 ? 1.25 : 0.8));
      self->view_start = anchor - (gint64) (fx * vm_timeline_get_view_length (self));
      clamp_view (self);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return TRUE;
    }

  if (self->zoom > 1.0)
    {
      self->view_start += (gint64) ((dy + dx) * vm_timeline_get_view_length (self) / 10);
      clamp_view (self);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return TRUE;
    }
  return FALSE;
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           VmTimeline               *self)
{
  DragMode mode;
  gint64 t;
  g_autofree char *file = NULL;
  g_autofree char *label = NULL;

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self),
                                   find_edge (self, x, y, &mode) ? "col-resize" : NULL);

  if (self->duration <= 0 || self->drag_mode != DRAG_NONE)
    return;

  t = vm_timeline_x_to_time (self, x);
  file = vm_thumbnail_find (NULL, self->fingerprint, t);
  label = vm_format_timestamp (t);
  gtk_label_set_label (GTK_LABEL (self->popover_label), label);
  if (file != NULL && g_strcmp0 (file, self->popover_file) != 0)
    {
      gtk_picture_set_filename (GTK_PICTURE (self->popover_picture), file);
      g_free (self->popover_file);
      self->popover_file = g_steal_pointer (&file);
    }
  gtk_widget_set_visible (self->popover_picture, self->popover_file != NULL);
  gtk_popover_set_pointing_to (GTK_POPOVER (self->popover), &(GdkRectangle) { (int) x, 0, 1, 1 });
  if (!gtk_widget_get_visible (self->popover))
    gtk_popover_popup (GTK_POPOVER (self->popover));
}

static void
leave_cb (GtkEventControllerMotion *controller,
          VmTimeline               *self)
{
  gtk_popover_popdown (GTK_POPOVER (self->popover));
}

static void
vm_timeline_dispose (GObject *object)
{
  VmTimeline *self = VM_TIMELINE (object);

  if (self->stack != NULL)
    g_signal_handlers_disconnect_by_data (self->stack, self);
  g_clear_object (&self->stack);
  g_clear_pointer (&self->popover, gtk_widget_unparent);

  G_OBJECT_CLASS (vm_timeline_parent_class)->dispose (object);
}

static void
vm_timeline_finalize (GObject *object)
{
  VmTimeline *self = VM_TIMELINE (object);

  g_array_unref (self->hits);
  g_clear_pointer (&self->curve, g_array_unref);
  g_free (self->fingerprint);
  g_free (self->popover_file);

  G_OBJECT_CLASS (vm_timeline_parent_class)->finalize (object);
}

static void
vm_timeline_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  VmTimeline *self = VM_TIMELINE (object);

  switch (prop_id)
    {
    case PROP_DURATION:
      g_value_set_int64 (value, self->duration);
      break;
    case PROP_POSITION:
      g_value_set_int64 (value, self->position);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_SELECTED:
      g_value_set_uint (value, self->selected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_timeline_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  VmTimeline *self = VM_TIMELINE (object);

  switch (prop_id)
    {
    case PROP_DURATION:
      vm_timeline_set_duration (self, g_value_get_int64 (value));
      break;
    case PROP_POSITION:
      vm_timeline_set_position (self, g_value_get_int64 (value));
      break;
    case PROP_ZOOM:
      vm_timeline_set_zoom (self, g_value_get_double (value));
      break;
    case PROP_SELECTED:
      vm_timeline_set_selected (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_timeline_class_init (VmTimelineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = vm_timeline_dispose;
  object_class->finalize = vm_timeline_finalize;
  object_class->get_property = vm_timeline_get_property;
  object_class->set_property = vm_timeline_set_property;
  widget_class->snapshot = vm_timeline_snapshot;
  widget_class->measure = vm_timeline_measure;
  widget_class->size_allocate = vm_timeline_size_allocate;

  properties[PROP_DURATION] = g_param_spec_int64 ("duration", NULL, NULL, 0, G_MAXINT64, 0, rw);
  properties[PROP_POSITION] = g_param_spec_int64 ("position", NULL, NULL, -1, G_MAXINT64, -1, rw);
  properties[PROP_ZOOM] = g_param_spec_double ("zoom", NULL, NULL, 1.0, VM_TIMELINE_MAX_ZOOM, 1.0, rw);
  properties[PROP_SELECTED] = g_param_spec_uint ("selected", NULL, NULL, 0, G_MAXUINT, 0, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (time, accurate): the person clicked or dragged to @time; accurate on release. */
  signals[SEEK] = g_signal_new ("seek", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_BOOLEAN);
  signals[SEGMENT_SELECTED] = g_signal_new ("segment-selected", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, G_TYPE_UINT);
  /* (key, start, end) after an edge drag, snapped to frames. */
  signals[SEGMENT_CHANGED] = g_signal_new ("segment-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_INT64, G_TYPE_INT64);

  gtk_widget_class_set_css_name (widget_class, "vmtimeline");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_SLIDER);
}

static void
vm_timeline_init (VmTimeline *self)
{
  GtkGesture *drag;
  GtkEventController *scroll, *motion;
  GtkWidget *box;

  self->hits = g_array_new (FALSE, FALSE, sizeof (Hit));
  self->zoom = 1.0;
  self->position = -1;
  self->frame = 40 * G_GINT64_CONSTANT (1000000);

  gtk_widget_set_focusable (GTK_WIDGET (self), FALSE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self),
                               _("Click to seek · drag segment edges · Ctrl+scroll to zoom"));
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), FALSE);

  drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL |
                                            GTK_EVENT_CONTROLLER_SCROLL_HORIZONTAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  self->popover = gtk_popover_new ();
  gtk_popover_set_autohide (GTK_POPOVER (self->popover), FALSE);
  gtk_popover_set_position (GTK_POPOVER (self->popover), GTK_POS_TOP);
  gtk_widget_set_can_target (self->popover, FALSE);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  self->popover_picture = gtk_picture_new ();
  gtk_widget_set_size_request (self->popover_picture, 160, 90);
  self->popover_label = gtk_label_new (NULL);
  gtk_widget_add_css_class (self->popover_label, "numeric");
  gtk_box_append (GTK_BOX (box), self->popover_picture);
  gtk_box_append (GTK_BOX (box), self->popover_label);
  gtk_popover_set_child (GTK_POPOVER (self->popover), box);
  gtk_widget_set_parent (self->popover, GTK_WIDGET (self));
}

GtkWidget *
vm_timeline_new (void)
{
  return g_object_new (VM_TYPE_TIMELINE, NULL);
}

void
vm_timeline_set_duration (VmTimeline *self,
                          gint64      duration)
{
  g_return_if_fail (VM_IS_TIMELINE (self));

  duration = MAX (duration, 0);
  if (duration == self->duration)
    return;
  self->duration = duration;
  clamp_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DURATION]);
}

gint64
vm_timeline_get_duration (VmTimeline *self)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), 0);
  return self->duration;
}

void
vm_timeline_set_position (VmTimeline *self,
                          gint64      position)
{
  gint64 len;

  g_return_if_fail (VM_IS_TIMELINE (self));

  if (position == self->position)
    return;
  self->position = position;

  /* Keep the playhead in view when zoomed. */
  len = vm_timeline_get_view_length (self);
  if (position >= 0 && len > 0 && (position < self->view_start || position > self->view_start + len))
    {
      self->view_start = position - len / 10;
      clamp_view (self);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSITION]);
}

gint64
vm_timeline_get_position (VmTimeline *self)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), -1);
  return self->position;
}

void
vm_timeline_set_frame_duration (VmTimeline *self,
                                gint64      frame)
{
  g_return_if_fail (VM_IS_TIMELINE (self));
  self->frame = MAX (frame, 0);
}

void
vm_timeline_set_hits (VmTimeline *self,
                      GPtrArray  *moments)
{
  g_return_if_fail (VM_IS_TIMELINE (self));

  g_array_set_size (self->hits, 0);
  for (guint i = 0; moments != NULL && i < moments->len; i++)
    {
      VmMomentItem *m = g_ptr_array_index (moments, i);
      Hit h = { vm_moment_item_get_start (m), vm_moment_item_get_end (m), vm_moment_item_get_score (m) };

      g_array_append_val (self->hits, h);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
vm_timeline_set_curve (VmTimeline *self,
                       GArray     *points)
{
  g_return_if_fail (VM_IS_TIMELINE (self));

  if (points != NULL)
    g_array_ref (points);
  g_clear_pointer (&self->curve, g_array_unref);
  self->curve = points;
  self->curve_min = G_MAXFLOAT;
  self->curve_max = -G_MAXFLOAT;
  for (guint i = 0; points != NULL && i < points->len; i++)
    {
      float v = g_array_index (points, VmCurvePoint, i).score;

      self->curve_min = MIN (self->curve_min, v);
      self->curve_max = MAX (self->curve_max, v);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
vm_timeline_has_curve (VmTimeline *self)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), FALSE);
  return self->curve != NULL && self->curve->len > 1 && self->curve_max - self->curve_min > 1e-4;
}

static void
stack_changed_cb (VmAnnotationStack *stack,
                  VmTimeline        *self)
{
  if (self->selected != 0 && vm_annotation_stack_lookup (stack, self->selected) == NULL)
    vm_timeline_set_selected (self, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
vm_timeline_set_annotations (VmTimeline        *self,
                             VmAnnotationStack *stack)
{
  g_return_if_fail (VM_IS_TIMELINE (self));
  g_return_if_fail (stack == NULL || VM_IS_ANNOTATION_STACK (stack));

  if (self->stack == stack)
    return;
  if (self->stack != NULL)
    g_signal_handlers_disconnect_by_data (self->stack, self);
  g_set_object (&self->stack, stack);
  if (stack != NULL)
    g_signal_connect (stack, "changed", G_CALLBACK (stack_changed_cb), self);
  self->drag_mode = DRAG_NONE;
  vm_timeline_set_selected (self, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
vm_timeline_set_selected (VmTimeline *self,
                          guint       key)
{
  g_return_if_fail (VM_IS_TIMELINE (self));

  if (key == self->selected)
    return;
  self->selected = key;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

guint
vm_timeline_get_selected (VmTimeline *self)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), 0);
  return self->selected;
}

void
vm_timeline_set_fingerprint (VmTimeline *self,
                             const char *fingerprint)
{
  g_return_if_fail (VM_IS_TIMELINE (self));

  g_free (self->fingerprint);
  self->fingerprint = g_strdup (fingerprint);
  g_clear_pointer (&self->popover_file, g_free);
}

void
vm_timeline_set_zoom (VmTimeline *self,
                      double      zoom)
{
  gint64 center;

  g_return_if_fail (VM_IS_TIMELINE (self));

  zoom = CLAMP (zoom, 1.0, VM_TIMELINE_MAX_ZOOM);
  if (zoom == self->zoom)
    return;

  /* Zoom around the playhead (or the middle of the view). */
  center = self->position >= 0 ? self->position : self->view_start + vm_timeline_get_view_length (self) / 2;
  self->zoom = zoom;
  self->view_start = center - vm_timeline_get_view_length (self) / 2;
  clamp_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

double
vm_timeline_get_zoom (VmTimeline *self)
{
  g_return_val_if_fail (VM_IS_TIMELINE (self), 1.0);
  return self->zoom;
}

void
vm_timeline_zoom_in (VmTimeline *self)
{
  vm_timeline_set_zoom (self, self->zoom * 2);
}

void
vm_timeline_zoom_out (VmTimeline *self)
{
  vm_timeline_set_zoom (self, self->zoom / 2);
}
