"""Schema migrations. Add new steps at the end; never edit one that has been applied."""

from __future__ import annotations

import re

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


@migrations(name="0006_aided_reading")
def m0006_aided_reading(db: Database) -> None:
    """Reading with the model: aid sets, a modality and phase on every read, locked reads.

    ``sessions`` and ``reads`` are rebuilt (SQLite cannot change a table's keys): a reader
    may hold two sessions on a study (the two periods of a crossover design), and a photo
    two reads in one session (the blind read and the aided re-read of a sequential design).
    The new tables take the rows over before the old ones are dropped, so no cascade
    reaches a read. Every read is locked: triggers refuse to change or delete it.
    """
    db.executescript(
        """
        CREATE TABLE aid_sets (
            id INTEGER PRIMARY KEY,
            study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE RESTRICT,
            model TEXT NOT NULL,                  -- "ensemble" or one architecture
            archs TEXT NOT NULL,                  -- JSON list of the architectures averaged
            heatmaps INTEGER NOT NULL CHECK (heatmaps IN (0, 1)),
            created_at TEXT NOT NULL,
            UNIQUE (study_id, run_id, model, heatmaps)
        ) STRICT;

        CREATE TABLE aids (
            aid_set_id INTEGER NOT NULL REFERENCES aid_sets(id) ON DELETE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            score REAL NOT NULL CHECK (score >= 0 AND score <= 1),  -- out-of-fold P(positive)
            fold INTEGER NOT NULL CHECK (fold >= 1),   -- the fold whose models scored it
            heatmap_path TEXT,                    -- relative to the workspace, content-addressed
            heatmap_sha256 TEXT CHECK (heatmap_sha256 IS NULL OR length(heatmap_sha256) = 64),
            PRIMARY KEY (aid_set_id, photo_id)
        ) STRICT;

        CREATE TABLE sessions_new (
            id INTEGER PRIMARY KEY,
            reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
            study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
            protocol_json TEXT NOT NULL,
            order_seed INTEGER NOT NULL,
            photo_order TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('in_progress', 'finished')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            interruptions INTEGER NOT NULL DEFAULT 0 CHECK (interruptions >= 0),
            design TEXT NOT NULL DEFAULT 'blind'
                CHECK (design IN ('blind', 'sequential_aided', 'crossover_aided')),
            -- what the session's reads are: 'both' = blind read then aided re-read
            modality TEXT NOT NULL DEFAULT 'unaided'
                CHECK (modality IN ('unaided', 'aided', 'both')),
            period INTEGER NOT NULL DEFAULT 1 CHECK (period IN (1, 2)),
            aid_set_id INTEGER REFERENCES aid_sets(id) ON DELETE RESTRICT,
            UNIQUE (reader_id, study_id, period),
            CHECK ((modality = 'unaided') OR (aid_set_id IS NOT NULL)),
            CHECK ((design = 'sequential_aided') = (modality = 'both')),
            CHECK (design = 'crossover_aided' OR period = 1)
        ) STRICT;
        INSERT INTO sessions_new (id, reader_id, study_id, protocol_json, order_seed,
                                  photo_order, status, started_at, finished_at, interruptions)
            SELECT id, reader_id, study_id, protocol_json, order_seed, photo_order, status,
                   started_at, finished_at, interruptions FROM sessions;

        CREATE TABLE reads_new (
            session_id INTEGER NOT NULL REFERENCES sessions_new(id) ON DELETE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            position INTEGER NOT NULL CHECK (position >= 0),
            practice INTEGER NOT NULL CHECK (practice IN (0, 1)),
            rating INTEGER CHECK (rating IS NULL OR rating >= 1),   -- NULL: no answer
            binary_read INTEGER CHECK (binary_read IS NULL OR binary_read IN (0, 1)),
            shown_mono REAL NOT NULL,
            hidden_mono REAL NOT NULL,
            answered_mono REAL,
            shown_at TEXT NOT NULL,
            hidden_at TEXT NOT NULL,
            answered_at TEXT,
            display_s REAL NOT NULL CHECK (display_s >= 0),
            response_s REAL CHECK (response_s IS NULL OR response_s >= 0),
            after_interruption INTEGER NOT NULL DEFAULT 0 CHECK (after_interruption IN (0, 1)),
            recorded_at TEXT NOT NULL,
            modality TEXT NOT NULL DEFAULT 'unaided' CHECK (modality IN ('unaided', 'aided')),
            -- 1: the reader's first read of the photo; 2: the second (aided re-read, or
            -- the second crossover period)
            phase INTEGER NOT NULL DEFAULT 1 CHECK (phase IN (1, 2)),
            aid_score REAL CHECK (aid_score IS NULL OR (aid_score >= 0 AND aid_score <= 1)),
            heatmap_viewed INTEGER CHECK (heatmap_viewed IS NULL OR heatmap_viewed IN (0, 1)),
            locked INTEGER NOT NULL DEFAULT 1 CHECK (locked IN (0, 1)),
            PRIMARY KEY (session_id, position, phase),
            UNIQUE (session_id, photo_id, practice, phase),
            CHECK ((rating IS NULL) = (answered_mono IS NULL)),
            CHECK ((rating IS NULL) = (binary_read IS NULL)),
            CHECK ((modality = 'aided') = (aid_score IS NOT NULL))
        ) STRICT;
        INSERT INTO reads_new (session_id, photo_id, position, practice, rating, binary_read,
                               shown_mono, hidden_mono, answered_mono, shown_at, hidden_at,
                               answered_at, display_s, response_s, after_interruption,
                               recorded_at)
            SELECT session_id, photo_id, position, practice, rating, binary_read, shown_mono,
                   hidden_mono, answered_mono, shown_at, hidden_at, answered_at, display_s,
                   response_s, after_interruption, recorded_at FROM reads;

        DROP TABLE reads;
        DROP TABLE sessions;
        ALTER TABLE sessions_new RENAME TO sessions;
        ALTER TABLE reads_new RENAME TO reads;
        CREATE INDEX sessions_study ON sessions(study_id);
        CREATE INDEX reads_photo ON reads(photo_id);

        CREATE TRIGGER reads_locked_update BEFORE UPDATE ON reads WHEN OLD.locked = 1
        BEGIN
            SELECT RAISE(ABORT, 'read is locked: a committed read cannot be changed');
        END;
        CREATE TRIGGER reads_locked_delete BEFORE DELETE ON reads WHEN OLD.locked = 1
        BEGIN
            SELECT RAISE(ABORT, 'read is locked: a committed read cannot be deleted');
        END;
        """
    )


@migrations(name="0007_repeat_reads")
def m0007_repeat_reads(db: Database) -> None:
    """Repeat reads: the photos a session shows a second time, and their reads.

    New tables beside ``reads`` (nothing is rebuilt): ``repeat_slots`` holds each repeat's
    position (after every position of the session's order), its photo, the position of its
    first showing and its place in the display order; it is written with the session and
    never changed. ``repeat_reads`` holds the reads of those showings, locked like
    ``reads``. Repeats are for agreement only and never enter the primary analysis.
    """
    db.executescript(
        """
        CREATE TABLE repeat_slots (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL CHECK (position >= 0),
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            first_position INTEGER NOT NULL CHECK (first_position >= 0),
            display_index INTEGER NOT NULL CHECK (display_index >= 0),
            PRIMARY KEY (session_id, position),
            UNIQUE (session_id, photo_id),
            UNIQUE (session_id, display_index),
            CHECK (first_position < position)
        ) STRICT;

        CREATE TABLE repeat_reads (
            session_id INTEGER NOT NULL,
            position INTEGER NOT NULL,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            rating INTEGER CHECK (rating IS NULL OR rating >= 1),   -- NULL: no answer
            binary_read INTEGER CHECK (binary_read IS NULL OR binary_read IN (0, 1)),
            shown_mono REAL NOT NULL,
            hidden_mono REAL NOT NULL,
            answered_mono REAL,
            shown_at TEXT NOT NULL,
            hidden_at TEXT NOT NULL,
            answered_at TEXT,
            display_s REAL NOT NULL CHECK (display_s >= 0),
            response_s REAL CHECK (response_s IS NULL OR response_s >= 0),
            after_interruption INTEGER NOT NULL DEFAULT 0 CHECK (after_interruption IN (0, 1)),
            recorded_at TEXT NOT NULL,
            locked INTEGER NOT NULL DEFAULT 1 CHECK (locked IN (0, 1)),
            PRIMARY KEY (session_id, position),
            FOREIGN KEY (session_id, position)
                REFERENCES repeat_slots(session_id, position) ON DELETE CASCADE,
            CHECK ((rating IS NULL) = (answered_mono IS NULL)),
            CHECK ((rating IS NULL) = (binary_read IS NULL))
        ) STRICT;
        CREATE INDEX repeat_reads_photo ON repeat_reads(photo_id);

        CREATE TRIGGER repeat_slots_fixed BEFORE UPDATE ON repeat_slots
        BEGIN
            SELECT RAISE(ABORT, 'a session''s repeats are fixed when it starts');
        END;
        CREATE TRIGGER repeat_reads_photo_check BEFORE INSERT ON repeat_reads
        WHEN NEW.photo_id IS NOT (SELECT photo_id FROM repeat_slots
                                  WHERE session_id = NEW.session_id
                                  AND position = NEW.position)
        BEGIN
            SELECT RAISE(ABORT, 'a repeat read must be of its slot''s photo');
        END;
        CREATE TRIGGER repeat_reads_locked_update BEFORE UPDATE ON repeat_reads
        WHEN OLD.locked = 1
        BEGIN
            SELECT RAISE(ABORT, 'read is locked: a committed read cannot be changed');
        END;
        CREATE TRIGGER repeat_reads_locked_delete BEFORE DELETE ON repeat_reads
        WHEN OLD.locked = 1
        BEGIN
            SELECT RAISE(ABORT, 'read is locked: a committed read cannot be deleted');
        END;
        """
    )


# -- 0008: restarted sessions and teaching sessions ----------------------------------------
_LIVE_KEY = re.compile(r"UNIQUE\s*\(\s*reader_id\s*,\s*study_id\s*,\s*period\s*\)\s*,?")


def _columns(db: Database, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()]


@migrations(name="0008_session_restarts", transactional=False)
def m0008_session_restarts(db: Database) -> None:
    """Void sessions, the resume policy's decisions, and teaching sessions.

    A restarted session is kept, marked void (``voided_at``), and a fresh one replaces it,
    so the key ``UNIQUE (reader_id, study_id, period)`` becomes a unique index over the
    sessions that are not void. SQLite cannot drop a table constraint: ``sessions`` is
    rebuilt from its own stored definition (whatever columns earlier migrations gave it)
    with foreign keys off, so no cascade reaches a locked read; ``reads`` and every other
    table keep their rows and their references to ``sessions``. Foreign keys are checked
    before the commit. Runs outside sqlite-utils' transaction (the pragmas need that) and
    is idempotent (a crash between its commit and its record applies nothing twice).
    """
    if "voided_at" in _columns(db, "sessions"):
        return
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA legacy_alter_table = ON")  # other objects keep naming "sessions"
    try:
        with db.atomic():
            _rebuild_sessions(db)
            db.execute("ALTER TABLE sessions ADD COLUMN voided_at TEXT")
            db.execute("ALTER TABLE sessions ADD COLUMN void_reason TEXT")
            db.execute("ALTER TABLE sessions ADD COLUMN replaces INTEGER"
                       " REFERENCES sessions(id) ON DELETE RESTRICT")
            for sql in _M0008_SQL:
                db.execute(sql)
            bad = db.execute("PRAGMA foreign_key_check").fetchall()
            if bad:
                raise RuntimeError(f"migration 0008 would leave broken references: {bad[:3]}")
    finally:
        conn.execute("PRAGMA legacy_alter_table = OFF")
        conn.execute("PRAGMA foreign_keys = ON")


def _rebuild_sessions(db: Database) -> None:
    """``sessions`` without its UNIQUE (reader, study, period) clause, rows and ids kept."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table'"
                     " AND name = 'sessions'").fetchone()[0]
    new, n = _LIVE_KEY.subn("", sql, count=1)
    if n != 1:
        raise RuntimeError("migration 0008: the sessions table has no (reader, study, period)"
                           " key to relax")
    new = re.sub(r"^CREATE TABLE\s+\"?sessions\"?", "CREATE TABLE sessions_rebuilt", new)
    new = re.sub(r",\s*\)\s*STRICT\s*$", "\n) STRICT", new)  # the key was the last item
    extras = [r[0] for r in db.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'sessions'"
        " AND type IN ('index', 'trigger') AND sql IS NOT NULL").fetchall()]
    db.execute(new)
    db.execute("INSERT INTO sessions_rebuilt SELECT * FROM sessions")
    db.execute("DROP TABLE sessions")
    db.execute("ALTER TABLE sessions_rebuilt RENAME TO sessions")
    for extra in extras:
        db.execute(extra)


_M0008_SQL = (
    # at most one session per reader, study and period that is not void
    "CREATE UNIQUE INDEX sessions_live ON sessions(reader_id, study_id, period)"
    " WHERE voided_at IS NULL",
    """CREATE TRIGGER sessions_void_stays BEFORE UPDATE OF voided_at ON sessions
       WHEN OLD.voided_at IS NOT NULL AND NEW.voided_at IS NOT OLD.voided_at
       BEGIN SELECT RAISE(ABORT, 'a void session stays void'); END""",
    # the administrator's decisions on sessions interrupted longer than the protocol allows
    """CREATE TABLE session_events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('restart', 'continue')),
        at TEXT NOT NULL,
        last_activity_at TEXT NOT NULL,       -- the last read (or start, or continue)
        hours_idle REAL NOT NULL CHECK (hours_idle >= 0),
        limit_hours REAL NOT NULL CHECK (limit_hours > 0),
        reads INTEGER NOT NULL CHECK (reads >= 0),   -- committed scored reads by then
        reason TEXT NOT NULL DEFAULT '',
        via TEXT NOT NULL CHECK (via IN ('cli', 'gui'))
    ) STRICT""",
    "CREATE INDEX session_events_session ON session_events(session_id)",
    # teaching sessions: truth shown after each answer; never part of any analysis
    """CREATE TABLE teaching_sessions (
        id INTEGER PRIMARY KEY,
        reader_id INTEGER NOT NULL REFERENCES readers(id) ON DELETE CASCADE,
        study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
        protocol_json TEXT NOT NULL,
        order_seed INTEGER NOT NULL,
        photo_order TEXT NOT NULL,            -- JSON [photo_id, ...] by position
        status TEXT NOT NULL CHECK (status IN ('in_progress', 'finished')),
        started_at TEXT NOT NULL,
        finished_at TEXT
    ) STRICT""",
    "CREATE INDEX teaching_sessions_study ON teaching_sessions(study_id, reader_id)",
    """CREATE TABLE teaching_reads (
        teaching_session_id INTEGER NOT NULL
            REFERENCES teaching_sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL CHECK (position >= 0),
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        rating INTEGER CHECK (rating IS NULL OR rating >= 1),    -- NULL: no answer
        binary_read INTEGER CHECK (binary_read IS NULL OR binary_read IN (0, 1)),
        truth_group TEXT NOT NULL,
        correct INTEGER CHECK (correct IS NULL OR correct IN (0, 1)),
        display_s REAL NOT NULL CHECK (display_s >= 0),
        response_s REAL CHECK (response_s IS NULL OR response_s >= 0),
        shown_at TEXT NOT NULL,
        answered_at TEXT,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (teaching_session_id, position),
        CHECK ((rating IS NULL) = (binary_read IS NULL)),
        CHECK ((rating IS NULL) = (correct IS NULL))
    ) STRICT""",
)


def known_names() -> list[str]:
    """Names of every migration this version of wbsdesk knows, in order."""
    return [m.name for m in migrations._migrations]
