"""Importing photos with a manifest: check everything first, then land all of it or nothing."""

from __future__ import annotations

import errno
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from wbsdesk.config import ensure_private_dir
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import Cancelled, Problem, UserError
from wbsdesk.services.manifest import ManifestRow, read_manifest
from wbsdesk.services.photos import (
    PhotoInfo,
    PhotoProblem,
    probe_photo,
    stage_photo,
    staging_folder,
    stored_relpath,
)
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    study: str
    manifest: str
    rows: int
    subjects_added: int
    photos_added: int
    photos_already_present: int
    files_copied: int

    @property
    def no_op(self) -> bool:
        """True when everything was already in the study (a re-import)."""
        return self.subjects_added == 0 and self.photos_added == 0


@dataclass(frozen=True)
class _Checked:
    row: ManifestRow
    path: Path
    info: PhotoInfo


def import_manifest(ws: Workspace, study_name: str, manifest: Path,
                    photos_dir: Path | None = None, *, group_column: str = "group",
                    progress: ProgressFn = no_progress,
                    cancel: CancelToken | None = None) -> ImportReport:
    """Import a manifest's subjects and photos into a study, all or nothing.

    Every row and file is checked first and all problems are reported together in one
    :class:`UserError`; then nothing is written. Photos are copied into the workspace under
    their SHA-256; re-importing the same manifest changes nothing.

    Parameters
    ----------
    ws : Workspace
    study_name : str
    manifest : Path
        CSV with ``subject_id, photo, group`` (+ optional ``sex, age_months, diagnosis,
        primary``; other columns are kept as metadata).
    photos_dir : Path, optional
        Folder the ``photo`` paths are relative to (default: the manifest's folder).
    group_column : str, keyword-only
        The column that holds the group (default ``group``).
    progress, cancel : keyword-only
        The job contract.

    Returns
    -------
    ImportReport
    """
    cancel = cancel or CancelToken()
    study = load_study(ws, study_name)
    manifest = Path(manifest)
    base = Path(photos_dir) if photos_dir is not None else manifest.parent
    if not base.is_dir():
        raise UserError(f"{base}: the photos folder does not exist")
    _, checked, problems = _check(ws, study, manifest, base.resolve(), group_column,
                                  progress, cancel)
    if problems:
        log.warning("import into %s refused: %d problems in %s", study_name, len(problems),
                    manifest)
        raise UserError(f"Import refused: {len(problems)} problem(s) in {manifest}. "
                        "Nothing was imported.", problems=problems,
                        hint="Fix the rows listed and import again.")
    return _land(ws, study.id, study_name, manifest, checked, progress, cancel)


@dataclass(frozen=True)
class ImportCheck:
    """What an import would do (a dry run): counts, and every problem found."""

    study: str
    manifest: str
    photos_dir: str
    rows: int
    subjects: int
    new_subjects: int
    photos: int
    problems: list[Problem]

    @property
    def clean(self) -> bool:
        """True when nothing is wrong: the import would succeed."""
        return not self.problems


def check_import(ws: Workspace, study_name: str, manifest: Path,
                 photos_dir: Path | None = None, *, group_column: str = "group",
                 progress: ProgressFn = no_progress,
                 cancel: CancelToken | None = None) -> ImportCheck:
    """Check a manifest and its photos exactly as :func:`import_manifest` does; write nothing.

    Parameters
    ----------
    ws : Workspace
    study_name : str
    manifest : Path
    photos_dir : Path, optional
        Folder the ``photo`` paths are relative to (default: the manifest's folder).
    group_column : str, keyword-only
    progress, cancel : keyword-only
        The job contract.

    Returns
    -------
    ImportCheck
        ``problems`` lists every problem (file, row, reason), sorted by row; a missing
        photos folder is a problem too. Empty when the import would land.

    Raises
    ------
    UserError
        If the study does not exist.
    """
    cancel = cancel or CancelToken()
    study = load_study(ws, study_name)
    manifest = Path(manifest)
    base = Path(photos_dir) if photos_dir is not None else manifest.parent
    if not base.is_dir():
        problem = Problem(str(base), None, "the photos folder does not exist")
        return ImportCheck(study_name, str(manifest), str(base), 0, 0, 0, 0, [problem])
    rows, checked, problems = _check(ws, study, manifest, base.resolve(), group_column,
                                     progress, cancel)
    existing = {s.key for s in ws.store.subjects(study.id)}
    keys = {r.subject_id for r in rows}
    return ImportCheck(study=study_name, manifest=str(manifest), photos_dir=str(base),
                       rows=len(rows), subjects=len(keys), new_subjects=len(keys - existing),
                       photos=len(checked), problems=problems)


def _check(ws: Workspace, study: Study, manifest: Path, base: Path, group_column: str,
           progress: ProgressFn, cancel: CancelToken
           ) -> tuple[list[ManifestRow], list[_Checked], list[Problem]]:
    """Read the manifest and probe every photo: (rows, checked photos, sorted problems)."""
    rows, problems = read_manifest(manifest, study.protocol.groups.names,
                                   group_column=group_column)
    checked: list[_Checked] = []
    probed: dict[Path, PhotoInfo | str] = {}
    limits = study.protocol.photos
    for i, row in enumerate(rows):
        cancel.raise_if_cancelled()
        progress(Progress(i, len(rows), "checking photos"))
        path, reason = _resolve_photo(base, row.photo)
        if path is not None and path not in probed:
            try:
                probed[path] = probe_photo(path, max_pixels=limits.max_pixels,
                                           min_side_px=limits.min_side_px)
            except PhotoProblem as exc:
                probed[path] = exc.reason
        if path is not None and isinstance(probed[path], str):
            reason = f"{row.photo}: {probed[path]}"
        if reason:
            problems.append(Problem(str(manifest), row.line, reason))
        else:
            checked.append(_Checked(row, path, probed[path]))  # type: ignore[arg-type]
    problems += _cross_check(ws, study.id, str(manifest), rows, checked)
    problems.sort(key=lambda p: (p.row or 0, p.reason))
    return rows, checked, problems

def _resolve_photo(base: Path, photo: str) -> tuple[Path | None, str | None]:
    """The photo's resolved path inside ``base``, or why it cannot be used."""
    shown = photo if len(photo) <= 120 else f"{photo[:60]}...{photo[-20:]}"
    try:
        return _resolve_inside(base, photo)
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        return None, f"{shown}: a symbolic link loop (a link that points back to itself)"
    except ValueError as exc:
        return None, f"{shown}: the path cannot be used ({exc})"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, f"{shown}: a symbolic link loop (a link that points back to itself)"
        return None, f"{shown}: the path cannot be used ({exc.strerror or exc})"


def _resolve_inside(base: Path, photo: str) -> tuple[Path | None, str | None]:
    rel = photo.replace("\\", "/")
    if PurePosixPath(rel).is_absolute() or PureWindowsPath(photo).is_absolute():
        return None, f"{photo}: absolute paths are not allowed; give a path inside the photos " \
                     f"folder {base}"
    candidate = base / rel
    resolved = candidate.resolve()
    if not resolved.is_relative_to(base):
        why = "is a link that points" if candidate.is_symlink() else "points"
        return None, f"{photo}: {why} outside the photos folder {base}"
    if not resolved.exists():
        return None, f"{photo}: file not found in {base}"
    if resolved.is_dir():
        return None, f"{photo}: is a folder, not a photo file"
    if not resolved.is_file():  # never opened: a named pipe would block the import
        return None, f"{photo}: is not a regular file (a named pipe, device or socket)"
    return resolved, None


def _cross_check(ws: Workspace, study_id: int, name: str, rows: list[ManifestRow],
                 checked: list[_Checked]) -> list[Problem]:
    out: list[Problem] = []
    store = ws.store
    existing = {s.key: s for s in store.subjects(study_id)}
    photos_by_subject: dict[int, list] = defaultdict(list)
    for p in store.photos(study_id):
        photos_by_subject[p.subject_id].append(p)
    sha_owner = {p.sha256: s.key for s in existing.values() for p in photos_by_subject[s.id]}

    first: dict[str, ManifestRow] = {}
    for row in rows:
        ref = first.setdefault(row.subject_id, row)
        if ref is not row:
            for attr in ("group", "sex", "age_months", "diagnosis", "metadata"):
                if getattr(row, attr) != getattr(ref, attr):
                    out.append(Problem(name, row.line, f"subject {row.subject_id}: {attr} "
                               f"{getattr(row, attr)!r} disagrees with row {ref.line} "
                               f"({getattr(ref, attr)!r})"))
        stored = existing.get(row.subject_id)
        if stored is not None:
            for attr, have in (("group", stored.group), ("sex", stored.sex),
                               ("age_months", stored.age_months),
                               ("diagnosis", stored.diagnosis)):
                mine = getattr(row, attr)
                if mine is not None and mine != have:
                    out.append(Problem(name, row.line, f"subject {row.subject_id} is already "
                               f"in the study with {attr} {have!r}, not {mine!r}"))

    seen_path: dict[Path, int] = {}
    seen_sha: dict[str, _Checked] = {}
    for c in checked:
        if c.path in seen_path:
            out.append(Problem(name, c.row.line, f"{c.row.photo}: listed twice (also row "
                                                 f"{seen_path[c.path]})"))
            continue
        seen_path[c.path] = c.row.line
        other = seen_sha.get(c.info.sha256)
        if other is not None:
            who = ("the same subject" if other.row.subject_id == c.row.subject_id
                   else f"subject {other.row.subject_id}")
            out.append(Problem(name, c.row.line, f"{c.row.photo}: identical bytes to "
                               f"{other.row.photo} of {who} (row {other.row.line})"))
            continue
        seen_sha[c.info.sha256] = c
        owner = sha_owner.get(c.info.sha256)
        if owner is not None and owner != c.row.subject_id:
            out.append(Problem(name, c.row.line, f"{c.row.photo}: identical bytes to a photo "
                               f"already imported for subject {owner}"))

    per_subject: dict[str, list[ManifestRow]] = defaultdict(list)
    for row in rows:
        per_subject[row.subject_id].append(row)
    for key, srows in per_subject.items():
        stored = existing.get(key)
        old = photos_by_subject[stored.id] if stored else []
        old_sha = {p.sha256 for p in old}
        new_rows = [c.row for c in checked if c.row.subject_id == key
                    and c.info.sha256 not in old_sha]
        n_primary = (sum(1 for r in srows if r.primary) +
                     sum(1 for p in old if p.is_primary))
        total = len({c.info.sha256 for c in checked if c.row.subject_id == key} | old_sha)
        unmarked = [r for r in new_rows if r.primary is None]
        if old and unmarked:
            have = ", ".join(sorted(p.original_name for p in old))
            for r in unmarked:
                out.append(Problem(name, r.line, f"{r.photo}: subject {key} already has a "
                                   "photo in the "
                                   f"study ({have}); this row adds another without saying "
                                   "which is primary: add a primary column with 0 for it"))
        elif n_primary > 1:
            out.append(Problem(name, srows[0].line, f"subject {key}: {n_primary} photos are "
                                                    "marked primary; mark exactly one"))
        elif total > 1 and n_primary == 0:
            out.append(Problem(name, srows[0].line, f"subject {key} has {total} photos and "
                               "none is marked primary; set primary=1 on the one to use"))
        elif total == 1 and new_rows and new_rows[0].primary is False:
            out.append(Problem(name, new_rows[0].line, f"subject {key}: its only photo is "
                               "marked primary=0"))
    return out


def _land(ws: Workspace, study_id: int, study_name: str, manifest: Path,
          checked: list[_Checked], progress: ProgressFn, cancel: CancelToken) -> ImportReport:
    """Stage clean copies in tmp/, then record the rows and move the files in one transaction.

    The files are renamed into ``photos/`` as the transaction's last step, so a killed
    import leaves them in its staging folder or unreferenced in ``photos/`` (both found by
    :func:`~wbsdesk.services.photos.find_orphan_files`), never a row without its file.
    """
    store = ws.store
    created: list[Path] = []
    created_dirs: list[Path] = []
    try:
        with staging_folder(ws.tmp_dir) as staging:
            staged = _stage(ws, staging, manifest, checked, progress, cancel)
            with store.atomic():
                added_subjects, added_photos, present = _record(ws, study_id, checked)
                if added_subjects or added_photos:
                    store.audit(study_id, "import", {
                        "manifest": str(manifest), "rows": len(checked),
                        "subjects_added": added_subjects, "photos_added": added_photos})
                for src, dest in staged:
                    for d in (dest.parent.parent, dest.parent):
                        if not d.exists():
                            ensure_private_dir(d)
                            created_dirs.append(d)
                    os.replace(src, dest)
                    created.append(dest)
    except BaseException as exc:
        for f in created:
            f.unlink(missing_ok=True)
        for d in reversed(created_dirs):
            if d.exists() and not any(d.iterdir()):
                d.rmdir()
        if isinstance(exc, Cancelled):
            log.info("import into %s cancelled; nothing was imported", study_name)
        raise
    progress(Progress(len(checked), len(checked), "imported"))
    log.info("imported %s into %s: %d subjects, %d photos added", manifest, study_name,
             added_subjects, added_photos)
    return ImportReport(study=study_name, manifest=str(manifest), rows=len(checked),
                        subjects_added=added_subjects, photos_added=added_photos,
                        photos_already_present=present, files_copied=len(created))


def _stage(ws: Workspace, staging: Path, manifest: Path, checked: list[_Checked],
           progress: ProgressFn, cancel: CancelToken) -> list[tuple[Path, Path]]:
    """Write each new photo's clean copy into ``staging``: (staged file, destination)."""
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for i, c in enumerate(checked):
        cancel.raise_if_cancelled()
        progress(Progress(i, len(checked), "copying photos"))
        dest = ws.root / stored_relpath(c.info)
        if dest in seen or dest.exists():
            continue
        seen.add(dest)
        try:
            out.append((stage_photo(c.path, c.info, staging), dest))
        except PhotoProblem as exc:
            problem = Problem(str(manifest), c.row.line, f"{c.row.photo}: {exc.reason}")
            raise UserError(f"Import refused: 1 problem(s) in {manifest}. Nothing was "
                            "imported.", problems=[problem],
                            hint="Fix the rows listed and import again.") from None
    return out


def _record(ws: Workspace, study_id: int, checked: list[_Checked]) -> tuple[int, int, int]:
    """Insert the new subjects and photos: (subjects added, photos added, already present)."""
    store = ws.store
    added_subjects = added_photos = present = 0
    existing = {s.key: s.id for s in store.subjects(study_id)}
    have = {(p.subject_id, p.sha256) for p in store.photos(study_id)}
    counts: dict[str, int] = defaultdict(int)
    for c in checked:
        counts[c.row.subject_id] += 1
    for c in checked:
        r = c.row
        sid = existing.get(r.subject_id)
        if sid is None:
            sid = store.insert_subject(study_id, key=r.subject_id, group=r.group, sex=r.sex,
                                       age_months=r.age_months, diagnosis=r.diagnosis,
                                       metadata=r.metadata)
            existing[r.subject_id] = sid
            added_subjects += 1
        if (sid, c.info.sha256) in have:
            present += 1
            continue
        primary = r.primary if r.primary is not None else counts[r.subject_id] == 1
        store.insert_photo(sid, sha256=c.info.sha256, stored_path=stored_relpath(c.info),
                           original_name=r.photo, fmt=c.info.format, width=c.info.width,
                           height=c.info.height, is_primary=primary)
        have.add((sid, c.info.sha256))
        added_photos += 1
    return added_subjects, added_photos, present
