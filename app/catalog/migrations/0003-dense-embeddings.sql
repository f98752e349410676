-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Vidmark catalog, schema version 3: the cache of dense embeddings.
--
-- Query-time refinement decodes short windows of a video densely (several
-- frames per second, where the index holds keyframes a few seconds apart)
-- and encodes them with the vision tower.  Their embeddings are kept here,
-- one row per (video, model, frame timestamp), as dim little-endian fp16
-- values, so that refining a moment again decodes and encodes nothing.
--
-- The cache follows the file: it goes with the video or the model, and it
-- is emptied when the video's frames are replaced (a re-index) or its file
-- changes (size, modification time or fingerprint).

CREATE TABLE dense_embeddings (
  video_id  INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  model_id  INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  pts_ns    INTEGER NOT NULL CHECK (pts_ns >= 0),
  data      BLOB    NOT NULL CHECK (length (data) > 0 AND length (data) % 2 = 0),
  PRIMARY KEY (video_id, model_id, pts_ns)
) STRICT, WITHOUT ROWID;

-- Deleting a model looks its rows up by model.
CREATE INDEX dense_embeddings_model ON dense_embeddings (model_id);

CREATE TRIGGER dense_embeddings_frames_replaced
AFTER UPDATE OF n_frames ON videos
BEGIN
  DELETE FROM dense_embeddings WHERE video_id = NEW.id;
END;

CREATE TRIGGER dense_embeddings_file_changed
AFTER UPDATE OF size, mtime_us, fingerprint ON videos
WHEN OLD.size IS NOT NEW.size OR OLD.mtime_us IS NOT NEW.mtime_us
     OR OLD.fingerprint IS NOT NEW.fingerprint
BEGIN
  DELETE FROM dense_embeddings WHERE video_id = NEW.id;
END;
