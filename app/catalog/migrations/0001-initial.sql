-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Vidmark catalog, schema version 1.
--
-- Applied inside one transaction together with PRAGMA user_version = 1.
-- Times: *_at in unix seconds, except annotations and annotation sets (unix
-- microseconds);
-- media times in nanoseconds.

-- Library folders the user added.
CREATE TABLE folders (
  id        INTEGER PRIMARY KEY,
  path      TEXT    NOT NULL UNIQUE,
  added_at  INTEGER NOT NULL
) STRICT;

-- One row per video file.  folder_id is NULL for a video kept only for its
-- annotations after its folder was removed.
CREATE TABLE videos (
  id             INTEGER PRIMARY KEY,
  folder_id      INTEGER REFERENCES folders (id) ON DELETE SET NULL,
  path           TEXT    NOT NULL UNIQUE,
  size           INTEGER NOT NULL DEFAULT 0,
  mtime_us       INTEGER NOT NULL DEFAULT 0,
  fingerprint    TEXT,
  duration_ns    INTEGER NOT NULL DEFAULT -1,
  width          INTEGER NOT NULL DEFAULT 0,
  height         INTEGER NOT NULL DEFAULT 0,
  fps_num        INTEGER NOT NULL DEFAULT 0,
  fps_den        INTEGER NOT NULL DEFAULT 1,
  container      TEXT,
  video_codec    TEXT,
  audio_codec    TEXT,
  has_audio      INTEGER NOT NULL DEFAULT 0 CHECK (has_audio IN (0, 1)),
  status         TEXT    NOT NULL DEFAULT 'new'
                 CHECK (status IN ('new', 'probed', 'indexed', 'error', 'missing')),
  error_message  TEXT,
  indexed_at     INTEGER NOT NULL DEFAULT 0,
  added_at       INTEGER NOT NULL,
  -- Number of rows in frames for this video, kept by the code that replaces
  -- them, so that listing videos needs no count over the frames.
  n_frames       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX videos_fingerprint ON videos (fingerprint);
CREATE INDEX videos_folder ON videos (folder_id);

-- Sampled frames, in pts order; embeddings address them by that position.
CREATE TABLE frames (
  video_id  INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  pts_ns    INTEGER NOT NULL,
  keyframe  INTEGER NOT NULL DEFAULT 0 CHECK (keyframe IN (0, 1)),
  shot_id   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (video_id, pts_ns)
) STRICT, WITHOUT ROWID;

-- Embedding models; dim and digest identify what the vectors mean.
CREATE TABLE models (
  id        INTEGER PRIMARY KEY,
  name      TEXT    NOT NULL UNIQUE,
  dim       INTEGER NOT NULL CHECK (dim > 0),
  digest    TEXT,
  added_at  INTEGER NOT NULL
) STRICT;

-- Frame embeddings as little-endian IEEE fp16, n_frames x dim values per row,
-- for the frames first_frame .. first_frame + n_frames - 1 of the video.
-- A row never crosses a multiple of 256 frames (VM_CATALOG_EMBEDDING_CHUNK)
-- and rows of one (video, model) never overlap.
CREATE TABLE embeddings (
  id           INTEGER PRIMARY KEY,
  video_id     INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  model_id     INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  first_frame  INTEGER NOT NULL CHECK (first_frame >= 0),
  n_frames     INTEGER NOT NULL CHECK (n_frames BETWEEN 1 AND 256),
  dim          INTEGER NOT NULL CHECK (dim > 0),
  data         BLOB    NOT NULL CHECK (length (data) = n_frames * dim * 2),
  UNIQUE (video_id, model_id, first_frame)
) STRICT;

CREATE INDEX embeddings_model ON embeddings (model_id);

-- Timed text: subtitles, OCR and speech.
CREATE TABLE text_segments (
  id          INTEGER PRIMARY KEY,
  video_id    INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  start_ns    INTEGER NOT NULL,
  end_ns      INTEGER NOT NULL,
  source      TEXT    NOT NULL CHECK (source IN ('subtitle', 'ocr', 'speech')),
  language    TEXT,
  text        TEXT    NOT NULL,
  confidence  REAL    NOT NULL DEFAULT 1.0,
  CHECK (start_ns >= 0 AND end_ns >= start_ns)
) STRICT;

CREATE INDEX text_segments_video ON text_segments (video_id, source, start_ns);

-- Full-text index over text_segments.text (external content, kept in sync by
-- the triggers below; they also run for rows deleted by ON DELETE CASCADE).
CREATE VIRTUAL TABLE text_fts USING fts5 (
  text,
  content = 'text_segments',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER text_segments_ai AFTER INSERT ON text_segments BEGIN
  INSERT INTO text_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER text_segments_ad AFTER DELETE ON text_segments BEGIN
  INSERT INTO text_fts (text_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

CREATE TRIGGER text_segments_au AFTER UPDATE ON text_segments BEGIN
  INSERT INTO text_fts (text_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO text_fts (rowid, text) VALUES (new.id, new.text);
END;

-- Annotations are the user's data: a video with annotations cannot be
-- deleted (RESTRICT); it is kept with status 'missing' instead.
CREATE TABLE annotation_sets (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE annotations (
  id           INTEGER PRIMARY KEY,
  set_id       INTEGER NOT NULL REFERENCES annotation_sets (id) ON DELETE RESTRICT,
  video_id     INTEGER NOT NULL REFERENCES videos (id) ON DELETE RESTRICT,
  start_ns     INTEGER NOT NULL,
  end_ns       INTEGER NOT NULL,
  text         TEXT,
  saliency     INTEGER CHECK (saliency IS NULL OR saliency BETWEEN 0 AND 4),
  created_at   INTEGER NOT NULL,
  modified_at  INTEGER NOT NULL,
  CHECK (start_ns >= 0 AND end_ns > start_ns)
) STRICT;

CREATE INDEX annotations_video ON annotations (video_id, start_ns);
CREATE INDEX annotations_set ON annotations (set_id, video_id, start_ns);
