-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Vidmark catalog, schema version 2: temporal-grounding datasets.
--
-- An annotation set is a named dataset.  Besides the player's free-text
-- annotations it holds queries: a sentence about one video, with one or more
-- relevant windows, or none (a negative: the moment is not in that video),
-- optional negatives in other videos, and optional saliency scores (0-4) per
-- 2-second clip and per named rater.
--
-- qids are stable integers, unique within a set across queries and
-- annotations: annotation_sets.next_qid hands out new ones and is never
-- lowered, so a deleted qid is not reused.  Annotations get theirs from a
-- trigger (see docs/DATASETS.md for how annotations become queries on export).

ALTER TABLE annotation_sets ADD COLUMN next_qid INTEGER NOT NULL DEFAULT 1;

CREATE TABLE dataset_queries (
  id           INTEGER PRIMARY KEY,
  set_id       INTEGER NOT NULL REFERENCES annotation_sets (id) ON DELETE CASCADE,
  qid          INTEGER NOT NULL CHECK (qid >= 0),
  text         TEXT    NOT NULL CHECK (length (text) > 0),
  video_id     INTEGER NOT NULL REFERENCES videos (id) ON DELETE RESTRICT,
  created_at   INTEGER NOT NULL,
  modified_at  INTEGER NOT NULL,
  UNIQUE (set_id, qid)
) STRICT;

CREATE INDEX dataset_queries_video ON dataset_queries (video_id);

CREATE TABLE dataset_windows (
  query_id  INTEGER NOT NULL REFERENCES dataset_queries (id) ON DELETE CASCADE,
  start_ns  INTEGER NOT NULL,
  end_ns    INTEGER NOT NULL,
  CHECK (start_ns >= 0 AND end_ns > start_ns),
  PRIMARY KEY (query_id, start_ns, end_ns)
) STRICT, WITHOUT ROWID;

-- The query does not occur anywhere in these videos.
CREATE TABLE dataset_negatives (
  query_id  INTEGER NOT NULL REFERENCES dataset_queries (id) ON DELETE CASCADE,
  video_id  INTEGER NOT NULL REFERENCES videos (id) ON DELETE RESTRICT,
  PRIMARY KEY (query_id, video_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX dataset_negatives_video ON dataset_negatives (video_id);

-- Raters of a set, in the order of their id.
CREATE TABLE dataset_raters (
  id      INTEGER PRIMARY KEY,
  set_id  INTEGER NOT NULL REFERENCES annotation_sets (id) ON DELETE CASCADE,
  name    TEXT    NOT NULL CHECK (length (name) > 0),
  UNIQUE (set_id, name)
) STRICT;

CREATE TABLE dataset_saliency (
  query_id  INTEGER NOT NULL REFERENCES dataset_queries (id) ON DELETE CASCADE,
  clip      INTEGER NOT NULL CHECK (clip >= 0),
  rater_id  INTEGER NOT NULL REFERENCES dataset_raters (id) ON DELETE CASCADE,
  score     INTEGER NOT NULL CHECK (score BETWEEN 0 AND 4),
  PRIMARY KEY (query_id, clip, rater_id)
) STRICT, WITHOUT ROWID;

-- The qid of every annotation, in the same space as the queries of its set.
CREATE TABLE annotation_qids (
  annotation_id  INTEGER PRIMARY KEY REFERENCES annotations (id) ON DELETE CASCADE,
  set_id         INTEGER NOT NULL,
  qid            INTEGER NOT NULL,
  UNIQUE (set_id, qid)
) STRICT;

INSERT INTO annotation_qids (annotation_id, set_id, qid)
  SELECT id, set_id, row_number () OVER (PARTITION BY set_id ORDER BY id) FROM annotations;
UPDATE annotation_sets
  SET next_qid = 1 + (SELECT count (*) FROM annotations WHERE set_id = annotation_sets.id);

CREATE TRIGGER annotations_qid_ai AFTER INSERT ON annotations BEGIN
  INSERT INTO annotation_qids (annotation_id, set_id, qid)
    SELECT new.id, new.set_id, next_qid FROM annotation_sets WHERE id = new.set_id;
  UPDATE annotation_sets SET next_qid = next_qid + 1 WHERE id = new.set_id;
END;

CREATE TRIGGER annotations_qid_au AFTER UPDATE OF set_id ON annotations
WHEN new.set_id != old.set_id BEGIN
  DELETE FROM annotation_qids WHERE annotation_id = new.id;
  INSERT INTO annotation_qids (annotation_id, set_id, qid)
    SELECT new.id, new.set_id, next_qid FROM annotation_sets WHERE id = new.set_id;
  UPDATE annotation_sets SET next_qid = next_qid + 1 WHERE id = new.set_id;
END;

-- A video that a dataset uses is never deleted (removing its folder or
-- deleting it keeps it with status 'missing' and no folder, like an
-- annotated video); its frames, embeddings and text go.
CREATE TRIGGER videos_keep_dataset BEFORE DELETE ON videos
WHEN EXISTS (SELECT 1 FROM dataset_queries WHERE video_id = old.id)
  OR EXISTS (SELECT 1 FROM dataset_negatives WHERE video_id = old.id)
BEGIN
  DELETE FROM frames WHERE video_id = old.id;
  DELETE FROM embeddings WHERE video_id = old.id;
  DELETE FROM text_segments WHERE video_id = old.id;
  UPDATE videos SET status = 'missing', folder_id = NULL, n_frames = 0, indexed_at = 0
    WHERE id = old.id;
  SELECT RAISE (IGNORE);
END;
