"""Schema migrations. Add new steps at the end; never edit one that has been applied."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "wbsdesk"
migrations = Migrations(MIGRATION_SET)


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    """Studies, subjects, photos, folds and the audit log."""
    db.executescript(
        """
        CREATE TABLE studies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            protocol_name TEXT NOT NULL,
            protocol_json TEXT NOT NULL,   -- the resolved protocol
            protocol_source TEXT NOT NULL, -- the TOML text it came from
            synthetic INTEGER NOT NULL DEFAULT 0 CHECK (synthetic IN (0, 1)),
            created_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE subjects (
            id INTEGER PRIMARY KEY,
            study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
            subject_key TEXT NOT NULL,
            grp TEXT NOT NULL,
            sex TEXT CHECK (sex IN ('M', 'F')),
            age_months REAL CHECK (age_months >= 0),
            diagnosis TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),
            exclusion_reason TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (study_id, subject_key)
        ) STRICT;
        CREATE INDEX subjects_study_grp ON subjects(study_id, grp);

        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            stored_path TEXT NOT NULL,     -- relative to the workspace
            original_name TEXT NOT NULL,
            format TEXT NOT NULL,
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            is_primary INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
            imported_at TEXT NOT NULL,
            UNIQUE (subject_id, sha256)
        ) STRICT;
        CREATE INDEX photos_sha ON photos(sha256);
        CREATE UNIQUE INDEX photos_one_primary ON photos(subject_id) WHERE is_primary = 1;

        CREATE TABLE folds (
            study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
            subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
            fold INTEGER NOT NULL CHECK (fold >= 1),
            seed INTEGER NOT NULL,
            k INTEGER NOT NULL CHECK (k >= 2),
            assigned_at TEXT NOT NULL,
            PRIMARY KEY (study_id, subject_id)
        ) STRICT;

        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            study_id INTEGER REFERENCES studies(id) ON DELETE SET NULL,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        ) STRICT;
        """
    )


@migrations(name="0002_crops")
def m0002_crops(db: Database) -> None:
    """Face crops: one current alignment per photo, with its review status."""
    db.executescript(
        """
        CREATE TABLE crops (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('ok', 'needs_review')),
            reasons TEXT NOT NULL DEFAULT '[]',       -- JSON list of reason codes
            method TEXT NOT NULL CHECK (method IN ('mtcnn', 'manual')),
            n_faces INTEGER NOT NULL CHECK (n_faces >= 0),
            bbox TEXT,                                -- JSON [x, y, w, h], upright full-res
            landmarks TEXT,                           -- JSON 5 x [x, y]
            confidence REAL,
            model_crop_path TEXT,                     -- relative to the workspace
            model_crop_sha256 TEXT,
            reader_crop_path TEXT,
            reader_crop_sha256 TEXT,
            reader_window TEXT,                       -- JSON [x, y, side]
            model_matrix TEXT,                        -- JSON 2 x 3, photo -> model crop
            image_width INTEGER,
            image_height INTEGER,
            settings TEXT NOT NULL,                   -- JSON detector and crop settings
            seconds REAL,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX crops_status ON crops(status);
        """
    )


def known_names() -> list[str]:
    """Names of every migration this version of wbsdesk knows, in order."""
    return [m.name for m in migrations._migrations]
