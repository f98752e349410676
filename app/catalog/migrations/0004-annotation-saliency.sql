-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Vidmark catalog, schema version 4: saliency of annotations per 2-second
-- clip.
--
-- An annotation (a labelled segment of the player) may score how well each
-- 2-second clip of the video under it shows its label, 0 (not at all) to 4
-- (very well), as QVHighlights' saliency_scores do.  clip is the index in
-- the video: clip i covers [2i, 2i + 2) s, the same numbering as the
-- clips of dataset_saliency and QVHighlights' relevant_clip_ids.  Scores of
-- clips that no longer overlap the segment are left out of exports (the
-- editor drops them when the segment shrinks; undo brings them back).
--
-- The annotation's older single "saliency" column stays as it is.

CREATE TABLE annotation_saliency (
  annotation_id  INTEGER NOT NULL REFERENCES annotations (id) ON DELETE CASCADE,
  clip           INTEGER NOT NULL CHECK (clip >= 0),
  score          INTEGER NOT NULL CHECK (score BETWEEN 0 AND 4),
  PRIMARY KEY (annotation_id, clip)
) STRICT, WITHOUT ROWID;
