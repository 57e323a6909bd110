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


@migrations(name="0003_reading")
def m0003_reading(db: Database) -> None:
    """Readers, timed reading sessions, their reads, and admin settings."""
    db.executescript(
        """
        CREATE TABLE readers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('pediatrician', 'pediatric cardiologist',
                                               'clinical geneticist', 'other')),
            years INTEGER CHECK (years IS NULL OR (years >= 0 AND years <= 80)),
            simulated INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1)),
            dry_run INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1)),
            created_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
            study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
            protocol_json TEXT NOT NULL,          -- the resolved protocol the session follows
            order_seed INTEGER NOT NULL,
            photo_order TEXT NOT NULL,            -- JSON [[photo_id, practice], ...] by position
            status TEXT NOT NULL CHECK (status IN ('in_progress', 'finished')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            interruptions INTEGER NOT NULL DEFAULT 0 CHECK (interruptions >= 0),
            UNIQUE (reader_id, study_id)
        ) STRICT;
        CREATE INDEX sessions_study ON sessions(study_id);

        CREATE TABLE reads (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            position INTEGER NOT NULL CHECK (position >= 0),
            practice INTEGER NOT NULL CHECK (practice IN (0, 1)),
            rating INTEGER CHECK (rating IS NULL OR rating >= 1),   -- NULL: no answer
            binary_read INTEGER CHECK (binary_read IS NULL OR binary_read IN (0, 1)),
            shown_mono REAL NOT NULL,             -- monotonic clock, seconds
            hidden_mono REAL NOT NULL,
            answered_mono REAL,
            shown_at TEXT NOT NULL,               -- wall clock, UTC ISO 8601
            hidden_at TEXT NOT NULL,
            answered_at TEXT,
            display_s REAL NOT NULL CHECK (display_s >= 0),
            response_s REAL CHECK (response_s IS NULL OR response_s >= 0),
            after_interruption INTEGER NOT NULL DEFAULT 0 CHECK (after_interruption IN (0, 1)),
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (session_id, position),
            UNIQUE (session_id, photo_id, practice),
            CHECK ((rating IS NULL) = (answered_mono IS NULL)),
            CHECK ((rating IS NULL) = (binary_read IS NULL))
        ) STRICT;

        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT;
        """
    )


@migrations(name="0004_runs")
def m0004_runs(db: Database) -> None:
    """Training runs, their finished folds, and out-of-fold predictions."""
    db.executescript(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
            name TEXT NOT NULL UNIQUE,
            run_dir TEXT NOT NULL,                 -- relative to the workspace
            status TEXT NOT NULL
                CHECK (status IN ('running', 'cancelled', 'failed', 'finished')),
            archs TEXT NOT NULL,                   -- JSON list
            protocol_json TEXT NOT NULL,           -- the resolved protocol
            spec_json TEXT NOT NULL,               -- the resolved training spec
            seed INTEGER NOT NULL,
            device TEXT NOT NULL,
            versions TEXT NOT NULL,                -- JSON: wbsdesk, torch, torchvision, python
            weights TEXT NOT NULL DEFAULT '{}',    -- JSON: arch -> SHA-256 of ImageNet file
            demo INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
            started_at TEXT NOT NULL,
            finished_at TEXT
        ) STRICT;

        CREATE TABLE run_folds (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            arch TEXT NOT NULL,
            fold INTEGER NOT NULL CHECK (fold >= 1),
            epochs INTEGER NOT NULL,
            losses TEXT NOT NULL,                  -- JSON: mean train loss per epoch
            checkpoint TEXT NOT NULL,              -- relative to the workspace
            checkpoint_sha256 TEXT NOT NULL,
            n_train INTEGER NOT NULL,
            n_test INTEGER NOT NULL,
            train_seconds REAL NOT NULL,
            images_per_second REAL NOT NULL,
            imported_at TEXT NOT NULL,
            PRIMARY KEY (run_id, arch, fold)
        ) STRICT;

        CREATE TABLE predictions (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            arch TEXT NOT NULL,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            fold INTEGER NOT NULL,
            prob REAL NOT NULL CHECK (prob >= 0 AND prob <= 1),
            PRIMARY KEY (run_id, arch, photo_id)
        ) STRICT;
        """
    )


@migrations(name="0005_practice_only")
def m0005_practice_only(db: Database) -> None:
    """Practice-only subjects: shown to readers as practice, left out of every analysis."""
    db.execute("ALTER TABLE subjects ADD COLUMN practice_only INTEGER NOT NULL DEFAULT 0"
               " CHECK (practice_only IN (0, 1))")


def known_names() -> list[str]:
    """Names of every migration this version of wbsdesk knows, in order."""
    return [m.name for m in migrations._migrations]
