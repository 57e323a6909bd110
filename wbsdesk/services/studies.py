"""Study use cases: create, list, show, folds (Table 3) and demographics (Table 1)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wbsdesk.core.demographics import Table1, table1
from wbsdesk.core.folds import assign_folds, fold_table
from wbsdesk.core.protocol import Protocol, parse_protocol, protocol_from_dict
from wbsdesk.errors import UserError
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.repo import SubjectRow

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


#: The manifest column that marks a generated (not real) photo, e.g. the demo's faces.
SYNTHETIC_COLUMN = "synthetic"
_TRUE = {"1", "true", "yes", "y"}


def is_synthetic(subjects: Sequence[SubjectRow]) -> bool:
    """Whether a study's data holds synthetic photos: any subject marked so in its manifest.

    The label follows the photos, not the protocol: a study made with the demo protocol but
    real photos is not synthetic, and generated photos are flagged whatever the protocol.
    """
    return any(str(s.metadata.get(SYNTHETIC_COLUMN, "")).strip().lower() in _TRUE
               for s in subjects)


@dataclass(frozen=True)
class Study:
    """A study and its resolved protocol (``synthetic``: its photos are generated)."""

    id: int
    name: str
    protocol: Protocol
    synthetic: bool
    created_at: str


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate a protocol TOML file (errors name the file and key)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: protocol file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the protocol ({exc})") from None
    return parse_protocol(text, source=str(path))


def create_study(ws: Workspace, name: str, protocol_path: Path) -> Study:
    """Create an empty study that follows the protocol in ``protocol_path``."""
    if not _NAME.match(name):
        raise UserError(f"study name {name!r} is not allowed",
                        hint="use 1-64 letters, digits, '_', '-' or '.'")
    protocol = load_protocol_file(protocol_path)
    if ws.store.study(name) is not None:
        raise UserError(f"a study named {name!r} already exists in {ws.root}")
    with ws.store.atomic():
        sid = ws.store.insert_study(name=name, protocol_name=protocol.name,
                                    protocol_json=protocol.to_json(),
                                    protocol_source=Path(protocol_path).read_text("utf-8"),
                                    synthetic=protocol.synthetic)
        ws.store.audit(sid, "create_study", {"protocol": protocol.name,
                                             "file": str(protocol_path)})
    log.info("created study %s with protocol %s", name, protocol.name)
    return load_study(ws, name)


def load_study(ws: Workspace, name: str) -> Study:
    """The study called ``name``; a :class:`UserError` listing the studies if there is none."""
    row = ws.store.study(name)
    if row is None:
        names = [s.name for s in ws.store.studies()]
        hint = (f"studies here: {', '.join(names)}" if names else
                "there are no studies yet: run 'wbsdesk demo' or 'wbsdesk study create'")
        raise UserError(f"no study named {name!r} in {ws.root}", hint=hint)
    protocol = protocol_from_dict(json.loads(row.protocol_json), source=f"study {name}")
    return Study(id=row.id, name=row.name, protocol=protocol,
                 synthetic=is_synthetic(ws.store.subjects(row.id)), created_at=row.created_at)


def list_studies(ws: Workspace) -> list[dict[str, Any]]:
    """One summary line per study: name, protocol, subjects, photos, synthetic.

    ``subjects`` and ``photos`` count the study's own; ``practice_only`` the practice set.
    """
    out = []
    for row in ws.store.studies():
        subjects = ws.store.subjects(row.id)
        practice = {s.id for s in subjects if s.practice_only}
        out.append({"name": row.name, "protocol": row.protocol_name,
                    "synthetic": is_synthetic(subjects),
                    "subjects": sum(not s.practice_only for s in subjects),
                    "practice_only": sum(s.practice_only for s in subjects),
                    "photos": sum(p.subject_id not in practice
                                  for p in ws.store.photos(row.id)),
                    "created_at": row.created_at})
    return out


def show_study(ws: Workspace, name: str) -> dict[str, Any]:
    """Everything about a study a researcher checks: per-group counts and fold status."""
    study = load_study(ws, name)
    everyone = ws.store.subjects(study.id)
    practice = {s.id for s in everyone if s.practice_only}
    subjects = [s for s in everyone if s.id not in practice]  # practice-only: counted apart
    all_photos = ws.store.photos(study.id)
    photos = [p for p in all_photos if p.subject_id not in practice]
    folds = ws.store.folds(study.id)
    groups = {}
    for g in study.protocol.groups.names:
        members = [s for s in subjects if s.group == g]
        ids = {s.id for s in members}
        groups[g] = {
            "label": study.protocol.groups.label(g),
            "positive": g == study.protocol.groups.positive,
            "subjects": len(members),
            "excluded": sum(s.excluded for s in members),
            "practice_only": sum(s.group == g for s in everyone if s.id in practice),
            "photos": sum(1 for p in photos if p.subject_id in ids),
            "primary_photos": sum(1 for p in photos if p.subject_id in ids and p.is_primary),
        }
    settings = ws.store.fold_settings(study.id)
    included = [s for s in subjects if not s.excluded and not s.practice_only]
    fold_status = {
        "assigned": settings is not None,
        "seed": settings[0] if settings else None,
        "k": settings[1] if settings else study.protocol.folds.k,
        "unassigned_subjects": sum(1 for s in included if s.id not in folds),
    }
    crops = ws.store.crops(study.id)
    included = {s.id for s in subjects if not s.excluded}
    primary = [p for p in photos if p.is_primary and p.subject_id in included]
    faces = {"primary_photos": len(primary),
             "ok": sum(1 for p in primary if p.id in crops and crops[p.id].status == "ok"),
             "needs_review": sum(1 for p in primary
                                 if p.id in crops and crops[p.id].status != "ok"),
             "not_aligned": sum(1 for p in primary if p.id not in crops),
             "manual": sum(1 for p in primary
                           if p.id in crops and crops[p.id].method == "manual")}
    return {"name": study.name, "protocol": study.protocol.name,
            "title": study.protocol.title, "synthetic": study.synthetic,
            "created_at": study.created_at, "subjects": len(subjects),
            "photos": len(photos), "practice_only_subjects": len(practice),
            "practice_photos": len(all_photos) - len(photos), "groups": groups,
            "folds": fold_status, "faces": faces}


@dataclass(frozen=True)
class FoldsReport:
    """A study's stored folds and its Table 3 (counts per fold per group)."""

    study: str
    seed: int
    k: int
    newly_assigned: bool
    groups: list[str]
    table: dict[str, list[int]]
    unassigned_subjects: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        d = asdict(self)
        d["fold_totals"] = [sum(self.table[g][i] for g in self.groups) for i in range(self.k)]
        return d


def folds(ws: Workspace, name: str, *, seed: int | None = None,
          reassign: bool = False) -> FoldsReport:
    """Assign a study's folds once (stratified by group, by subject), then report them.

    Parameters
    ----------
    ws : Workspace
    name : str
    seed : int, optional
        Seed for a first assignment (default: the protocol's). Asking for another seed once
        folds exist is refused unless ``reassign``.
    reassign : bool, keyword-only
        Replace an existing assignment (recorded in the audit log).
    """
    study = load_study(ws, name)
    store = ws.store
    subjects = store.subjects(study.id, include_excluded=False,
                              include_practice=False)
    if not subjects:
        raise UserError(f"study {name!r} has no subjects yet", hint="import a manifest first")
    settings = store.fold_settings(study.id)
    k = study.protocol.folds.k
    newly = False
    if settings is not None and seed is not None and seed != settings[0] and not reassign:
        raise UserError(f"folds of {name!r} were already assigned with seed {settings[0]}",
                        hint="add --reassign to replace them (earlier runs keep their own)")
    if settings is None or reassign:
        use_seed = study.protocol.folds.seed if seed is None else seed
        assignment = assign_folds([s.id for s in subjects], [s.group for s in subjects],
                                  k=k, seed=use_seed)
        with store.atomic():
            store.replace_folds(study.id, assignment, seed=use_seed, k=k)
            store.audit(study.id, "reassign_folds" if settings else "assign_folds",
                        {"seed": use_seed, "k": k, "subjects": len(assignment)})
        newly = True
        log.info("assigned %d subjects of %s to %d folds (seed %d)", len(assignment), name, k,
                 use_seed)
    report = fold_report(ws, name)
    assert report is not None
    return FoldsReport(**{**asdict(report), "newly_assigned": newly})


def fold_report(ws: Workspace, name: str) -> FoldsReport | None:
    """The stored folds of a study and its Table 3, or ``None`` if never assigned (read-only)."""
    study = load_study(ws, name)
    settings = ws.store.fold_settings(study.id)
    if settings is None:
        return None
    subjects = ws.store.subjects(study.id, include_excluded=False,
                                 include_practice=False)
    stored = ws.store.folds(study.id)
    groups = {s.id: s.group for s in subjects}
    in_folds = {sid: f for sid, f in stored.items() if sid in groups}
    names = list(study.protocol.groups.names)
    return FoldsReport(study=name, seed=settings[0], k=settings[1], newly_assigned=False,
                       groups=names, table=fold_table(in_folds, groups, group_order=names,
                                                      k=settings[1]),
                       unassigned_subjects=sum(1 for s in subjects if s.id not in stored))


def set_practice(ws: Workspace, name: str, subject_keys: Sequence[str], *,
                 practice: bool = True) -> list[str]:
    """Mark subjects as practice-only (or, ``practice=False``, as study subjects again).

    A practice-only subject's photo is shown to readers only as a practice photo and is
    left out of the folds, training, Table 1 and every analysis, so no face is both practice
    and scored. The change is refused once the study has a reading session or a training
    run, since it would change what those scored.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study.
    subject_keys : sequence of str
        Subject IDs as in the manifest.
    practice : bool, keyword-only
        Mark (``True``) or unmark.

    Returns
    -------
    list of str
        The subjects whose flag changed.

    Raises
    ------
    UserError
        For an unknown subject, or a study that already has sessions or runs.
    """
    study = load_study(ws, name)
    by_key = {s.key: s for s in ws.store.subjects(study.id)}
    unknown = [k for k in subject_keys if k not in by_key]
    if unknown:
        raise UserError(f"study {name!r} has no subject {', '.join(map(repr, unknown))}")
    used = []
    if ws.store.sessions(study.id):
        used.append("reading sessions")
    if ws.store.runs(study.id):
        used.append("training runs")
    if used:
        raise UserError(f"study {name!r} already has {' and '.join(used)}: marking practice "
                        "photos now would change what they scored",
                        hint="mark practice-only subjects before the first session and run")
    changed = [k for k in dict.fromkeys(subject_keys) if by_key[k].practice_only != practice]
    with ws.store.atomic():
        for k in changed:
            ws.store.set_practice_only(by_key[k].id, practice)
        ws.store.audit(study.id, "set_practice" if practice else "unset_practice",
                       {"subjects": changed})
    log.info("%s %d practice-only subject(s) of %s", "marked" if practice else "unmarked",
             len(changed), name)
    return changed


def demographics(ws: Workspace, name: str) -> tuple[Study, Table1]:
    """Table 1 of a study: positive group vs. all controls (excluded subjects left out)."""
    study = load_study(ws, name)
    subjects = ws.store.subjects(study.id, include_excluded=False,
                                 include_practice=False)
    if not subjects:
        raise UserError(f"study {name!r} has no subjects yet", hint="import a manifest first")
    pos = study.protocol.groups.positive
    st = study.protocol.statistics
    t = table1([s.group == pos for s in subjects], [s.age_months for s in subjects],
               [s.sex for s in subjects], ttest=st.ttest, chi2_yates=st.chi2_yates,
               ddof=st.sd_ddof)
    return study, t
