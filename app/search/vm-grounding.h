/* vm-grounding.h — temporal grounding: from a per-video score curve (the
 * similarity of each sampled frame to the query) to moments with a start
 * and an end.
 *
 * The frames are sparse and irregular (keyframes, a few seconds apart), so
 * the curve is a list of (time, score) samples, each sample standing for the
 * stretch of time around it up to the midpoints with its neighbours.  The
 * steps:
 *
 *  1. smoothing with a Gaussian in time (not in samples);
 *  2. normalisation to the video's own distribution: z = (s − median) / MAD,
 *     so that thresholds adapt to each video;
 *  3. threshold proposals: runs of samples above the threshold, merged across
 *     gaps shorter than merge_gap;
 *  4. proposals at several scales: windows of each scale around every sample,
 *     scored by their contrast with the surrounding context;
 *  5. boundary refinement: an edge moves to the nearest shot cut within reach,
 *     else to where the smoothed curve crosses half the moment's peak;
 *  6. non-maximum suppression by temporal IoU.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  double        smooth_sigma;   /* seconds; 0 disables smoothing (default 1.0) */
  double        threshold;      /* z-score above which a sample is "in" (default 1.0) */
  double        merge_gap;      /* seconds (default 1.5) */
  double        min_length;     /* seconds (default 1.0) */
  double        max_length;     /* seconds; 0 = the video (default 0) */
  double        scales[4];      /* window lengths in seconds; 0 ends the list (default 4, 10, 24) */
  double        nms_iou;        /* suppress proposals overlapping a better one more (default 0.5) */
  guint         max_moments;    /* per video (default 5) */
} VmGroundingOptions;

void vm_grounding_options_init (VmGroundingOptions *options);

typedef struct {
  double start;     /* seconds */
  double end;
  double score;     /* per-video normalised (z units); comparable across videos */
  double peak;      /* the highest raw score inside */
  double mean;      /* the mean raw score inside */
} VmGroundingSpan;

/* @times (seconds, increasing), @scores and @shot_ids (optional) hold @n
 * samples of one video lasting @duration seconds (≤ 0: up to the last sample).
 * Returns up to max_moments VmGroundingSpan, best first. */
GArray *vm_ground_curve (const double              *times,
                         const float               *scores,
                         const int                 *shot_ids,
                         guint                      n,
                         double                     duration,
                         const VmGroundingOptions  *options);

/* Temporal IoU of [a0, a1) and [b0, b1). */
double  vm_span_iou     (double a0,
                         double a1,
                         double b0,
                         double b1);

G_END_DECLS
