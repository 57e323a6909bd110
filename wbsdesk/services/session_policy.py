"""The resume policy: an interrupted session that waited too long needs the administrator.

A reading session interrupted (closed, crashed, killed) resumes where it stopped, but only
within the protocol's ``reading.resume_within_hours`` of its last activity (its last read,
its start, or the last decision to continue it; :mod:`wbsdesk.core.resume_policy`). After
that :func:`~wbsdesk.services.reading.open_session` refuses it with
:class:`SessionExpiredError` ("call the study administrator"), and the administrator
decides (:func:`decide_expired`, ``wbsdesk session resume-policy`` or the app's dialog):

``restart``
    The session is marked void: its reads stay in the database, locked, and in the audit
    log, but leave every analysis (the store's study-wide queries skip void sessions). The
    reader's next session starts afresh, in a new order, and records which one it replaces.
``continue``
    The session goes on where it stopped; this is a protocol deviation.

Each decision is audited and stored as a session event; :func:`history_table` lays them
out for the report ("Session history"), :func:`history_methods` says it in the Methods.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wbsdesk.core.protocol import protocol_from_dict
from wbsdesk.core.result_table import Column, ResultTable
from wbsdesk.core.resume_policy import DECISIONS, ResumeCheck, check_resume, last_activity
from wbsdesk.errors import UserError
from wbsdesk.services.session_lock import SessionLock
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.reading import ReaderRow, SessionRow

log = logging.getLogger(__name__)

__all__ = ["ExpiredSession", "SessionExpiredError", "check_before_open", "decide_expired",
           "expired_readers", "expired_session", "history_methods", "history_notes",
           "history_table", "link_restart"]

HISTORY_TABLE = "session_history"
HISTORY_CSV = "session_history.csv"


@dataclass(frozen=True)
class ExpiredSession:
    """An interrupted session past the protocol's resume limit (what the administrator sees).

    ``reads`` counts its committed scored reads (practice left out).
    """

    session_id: int
    study: str
    reader: str
    period: int
    check: ResumeCheck
    reads: int
    total: int

    def describe(self) -> str:
        """One sentence for people: who, how long ago, against which limit."""
        return (f"{self.reader}'s session on {self.study!r} was interrupted "
                f"{_hours(self.check.hours_idle)} ago, after {self.reads} of {self.total} "
                f"photos; the protocol allows resuming within "
                f"{_hours(self.check.limit_hours)} of the last read")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``--json``)."""
        return {"session": self.session_id, "study": self.study, "reader": self.reader,
                "period": self.period, "last_activity_at": self.check.last_activity_at,
                "hours_idle": round(self.check.hours_idle, 2),
                "limit_hours": self.check.limit_hours, "reads": self.reads,
                "total": self.total}


class SessionExpiredError(UserError):
    """An interrupted session waited longer than the protocol allows: call the administrator.

    Attributes
    ----------
    expired : ExpiredSession
    """

    def __init__(self, expired: ExpiredSession) -> None:
        super().__init__(
            f"{expired.describe()}. Please call the study administrator.",
            hint=f"the administrator decides: restart (the {expired.reads} reads so far are "
                 "kept but void) or continue (recorded as a protocol deviation): "
                 f"'wbsdesk session resume-policy {expired.study} --reader "
                 f"\"{expired.reader}\" --restart|--continue --reason TEXT', or "
                 "“Start or resume session” in the app's Reading view")
        self.expired = expired


def _hours(h: float) -> str:
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:.1f} days"


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def _iso(t: datetime) -> str:
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return t.isoformat(timespec="milliseconds")


def _limit(row: SessionRow) -> float:
    proto = protocol_from_dict(json.loads(row.protocol_json), source=f"session {row.id}")
    return proto.reading.resume_within_hours


def _state(ws: Workspace, study: Study, reader: ReaderRow, row: SessionRow,
           now: datetime) -> ExpiredSession:
    continued = [e["at"] for e in ws.store.session_events(session_id=row.id)
                 if e["kind"] == "continue"]
    last = last_activity([row.started_at, ws.store.last_read_at(row.id), *continued])
    rep_read, rep_total = ws.store.repeat_counts(study.id).get(row.id, (0, 0))
    reads = ws.store.read_counts(study.id).get(row.id, 0) + rep_read  # as the Reading view
    total = sum(not practice for _, practice in row.photo_order) + rep_total
    return ExpiredSession(row.id, study.name, reader.name, row.period,
                          check_resume(last, now, _limit(row)), reads, total)


def _interrupted(ws: Workspace, study: Study, reader: ReaderRow) -> SessionRow | None:
    return next((s for s in ws.store.sessions_of(reader.id, study.id)
                 if s.status == "in_progress"), None)


def check_before_open(ws: Workspace, study: Study, reader: ReaderRow, *,
                      now: datetime | None = None) -> None:
    """Refuse to resume the reader's interrupted session once it is past the limit.

    Also refuses a new study session to a reader who has had a teaching session on the
    study (it showed the truth of its photos).

    Raises
    ------
    SessionExpiredError
        When the reader's unfinished session on ``study`` has been idle for longer than its
        protocol's ``reading.resume_within_hours``.
    UserError
        When the reader has had a teaching session on the study.
    """
    row = _interrupted(ws, study, reader)
    if row is None:
        if ws.store.teaching_sessions(study.id, reader.id):
            raise UserError(f"{reader.name} has had a teaching session on {study.name!r}, "
                            "which showed the truth of its photos: they cannot start a "
                            "study session on it", hint="a teaching session comes after a "
                            "reader's study reads, never before")
        return
    state = _state(ws, study, reader, row, _now(now))
    if state.check.expired:
        log.info("refused to resume session %d: idle %.1f h > %g h", row.id,
                 state.check.hours_idle, state.check.limit_hours)
        raise SessionExpiredError(state)


def expired_session(ws: Workspace, study_name: str, reader_name: str, *,
                    now: datetime | None = None) -> ExpiredSession | None:
    """The reader's interrupted session on the study if it is past the limit, else None."""
    study = load_study(ws, study_name)
    reader = _reader(ws, reader_name)
    row = _interrupted(ws, study, reader)
    if row is None:
        return None
    state = _state(ws, study, reader, row, _now(now))
    return state if state.check.expired else None


def expired_readers(ws: Workspace, study_name: str, *,
                    now: datetime | None = None) -> dict[str, ExpiredSession]:
    """Reader name -> their interrupted session on the study that is past the limit."""
    study = load_study(ws, study_name)
    out = {}
    for s in ws.store.sessions(study.id):
        if s.status != "in_progress":
            continue
        reader = ws.store.reader_by_id(s.reader_id)
        assert reader is not None
        state = _state(ws, study, reader, s, _now(now))
        if state.check.expired:
            out[reader.name] = state
    return out


def _reader(ws: Workspace, name: str) -> ReaderRow:
    row = ws.store.reader(name)
    if row is None:
        raise UserError(f"no reader named {name!r}",
                        hint="list them with 'wbsdesk reader list'")
    return row


def decide_expired(ws: Workspace, study_name: str, reader_name: str, decision: str, *,
                   reason: str = "", via: str = "cli",
                   now: datetime | None = None) -> dict[str, Any]:
    """Restart or continue a reader's expired session (the administrator's decision).

    Parameters
    ----------
    ws : Workspace
    study_name, reader_name : str
    decision : {"restart", "continue"}
        ``restart`` marks the session void (its reads are kept, locked, and left out of
        every analysis; the reader's next session starts afresh); ``continue`` lets it go
        on where it stopped (a protocol deviation).
    reason : str, keyword-only
        Why (stored with the decision, shown in the report).
    via : {"cli", "gui"}, keyword-only
        Where the decision was taken.
    now : datetime, keyword-only
        The current time (tests).

    Returns
    -------
    dict
        The decision, the session and its idle time (plain data).

    Raises
    ------
    UserError
        For an unknown decision, study or reader; when the reader has no interrupted
        session, or it is still within the limit (it simply resumes); when the session is
        open in another process.
    """
    if decision not in DECISIONS:
        raise UserError(f"unknown decision {decision!r}", hint="choose restart or continue")
    if via not in ("cli", "gui"):
        raise ValueError(f"via must be 'cli' or 'gui', got {via!r}")
    study = load_study(ws, study_name)
    reader = _reader(ws, reader_name)
    when = _now(now)
    with SessionLock(ws.root, study.id, reader.id, study=study.name, reader=reader.name):
        row = _interrupted(ws, study, reader)
        if row is None:
            raise UserError(f"{reader.name} has no interrupted session on {study.name!r}",
                            hint="only an unfinished session can be restarted or continued")
        state = _state(ws, study, reader, row, when)
        if not state.check.expired:
            raise UserError(
                f"{reader.name}'s session on {study.name!r} was interrupted "
                f"{_hours(state.check.hours_idle)} ago, within the "
                f"{_hours(state.check.limit_hours)} the protocol allows",
                hint="it simply resumes where it stopped: start it as usual")
        at = _iso(when)
        detail = {"session": row.id, "reader": reader.name, "period": row.period,
                  "decision": decision, "hours_idle": round(state.check.hours_idle, 2),
                  "limit_hours": state.check.limit_hours, "reads": state.reads,
                  "reason": reason, "via": via}
        with ws.store.atomic():
            ws.store.insert_session_event(
                row.id, kind=decision, at=at, last_activity_at=state.check.last_activity_at,
                hours_idle=state.check.hours_idle, limit_hours=state.check.limit_hours,
                reads=state.reads, reason=reason, via=via)
            if decision == "restart":
                ws.store.void_session(row.id, at=at, reason=reason or "restarted")
                ws.store.audit(study.id, "restart_session", detail)
            else:
                ws.store.audit(study.id, "continue_session_deviation", detail)
    log.info("%s of session %d (%s on %s) after %.1f h idle", decision, row.id, reader.name,
             study.name, state.check.hours_idle)
    return {**detail, "study": study.name, "at": at}


def link_restart(ws: Workspace, study: Study, reader: ReaderRow, session_id: int | None,
                 resumed: bool) -> None:
    """Note on a freshly started session which restarted (void) session it replaces."""
    if session_id is None or resumed:
        return
    row = ws.store.session(session_id)
    if row is None:
        return
    for old in ws.store.void_session_ids(study.id):
        prev = ws.store.session(old)
        if (prev is not None and prev.reader_id == reader.id and prev.period == row.period
                and ws.store.replaced_by(old) is None):
            with ws.store.atomic():
                ws.store.set_replaces(session_id, old)
            return


# ---------------------------------------------------------------------------------------------
# The report


_DECISION_TEXT = {"restart": "Restarted: earlier reads void",
                  "continue": "Continued: protocol deviation"}


def history_rows(ws: Workspace, study_id: int) -> list[dict[str, Any]]:
    """Every decision on an expired session of a study, oldest first, with the session that
    replaced a restarted one."""
    out = []
    for e in ws.store.session_events(study_id=study_id):
        new = ws.store.replaced_by(e["session_id"]) if e["kind"] == "restart" else None
        out.append({**e, "replaced_by": new})
    return out


def history_table(rows: list[dict[str, Any]], *, limit_hours: float | None = None
                  ) -> ResultTable:
    """The report's "Session history" table of :func:`history_rows`.

    Parameters
    ----------
    rows : list of dict
    limit_hours : float, keyword-only
        The study protocol's ``resume_within_hours`` (for the note).
    """
    limit = "" if limit_hours is None else f" ({limit_hours:g} h in this study's protocol)"
    cols = (Column("date", "Date (UTC)", kind="text"),
            Column("reader", "Reader", kind="text"),
            Column("session", "Session", kind="count"),
            Column("decision", "Decision", kind="text"),
            Column("hours_idle", "Idle", "h", kind="number", decimals=1,
                   note="hours from the session's last read (or start, or last "
                        "continuation) to the decision."),
            Column("limit_hours", "Limit", "h", kind="number", decimals=1),
            Column("reads", "Reads then", kind="count",
                   note="scored reads committed by then; a restarted session's reads are "
                        "void."),
            Column("replaced_by", "New session", kind="count"),
            Column("reason", "Reason", kind="text"))
    body = [(r["at"][:16].replace("T", " "), r["reader"], r["session_id"],
             _DECISION_TEXT[r["kind"]], r["hours_idle"], r["limit_hours"], r["reads"],
             r["replaced_by"], r["reason"]) for r in rows]
    notes = [f"Resume policy: an interrupted session resumes where it stopped only within "
             f"reading.resume_within_hours of its last read{limit}. After that the study "
             "administrator either restarted it (its reads stay in the database and the "
             "audit log, marked void, and are left out of every analysis) or let it "
             "continue (a protocol deviation)."]
    return ResultTable.build(HISTORY_TABLE, "Session history (resume policy)", cols, body,
                             notes, short_title="Session history",
                             empty_text="No session was restarted or continued after the "
                                        "resume limit: no protocol deviation of this kind.")


def study_history_table(ws: Workspace, study_name: str) -> ResultTable:
    """:func:`history_table` of a study (its protocol's limit in the note)."""
    study = load_study(ws, study_name)
    return history_table(history_rows(ws, study.id),
                         limit_hours=study.protocol.reading.resume_within_hours)


def history_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Exclusion notes for the restarted sessions (their reads are left out)."""
    out = []
    for r in rows:
        if r["kind"] == "restart":
            out.append(f"{r['reader']}'s session {r['session_id']} was restarted after "
                       f"{r['hours_idle']:.1f} h without reading (limit "
                       f"{r['limit_hours']:g} h): its {r['reads']} read(s) are void and left "
                       "out.")
    return out


def history_methods(rows: list[dict[str, Any]], limit_hours: float) -> str:
    """The Methods sentence on the resume policy and what happened under it."""
    restarts = sum(r["kind"] == "restart" for r in rows)
    continued = sum(r["kind"] == "continue" for r in rows)
    text = (f"An interrupted reading session could be resumed within {limit_hours:g} h of its "
            "last read; after that the study administrator restarted it, its reads being "
            "kept but left out of the analysis, or let it continue as a protocol deviation.")
    if not rows:
        return text + " No session needed either."
    return (text + f" {restarts} session(s) were restarted and {continued} continued as a "
            "protocol deviation (Session history).")


def history_tables(comp: Any) -> tuple[ResultTable, ...]:
    """The comparison's "Session history" table (none when no session needed a decision)."""
    rows = list(getattr(comp, "session_history", ()) or ())
    if not rows:
        return ()
    return (history_table(rows, limit_hours=comp.protocol.reading.resume_within_hours),)


def history_section(comp: Any) -> tuple[Any, ...]:
    """The report's "Session history" section of a comparison (none without decisions)."""
    from wbsdesk.services.report_sections import ReportSection

    tables = history_tables(comp)
    if not tables:
        return ()
    return (ReportSection(
        key="session_history", title="Session history",
        paragraphs=("Sessions interrupted for longer than the protocol's "
                    "<i>resume_within_hours</i> and what the study administrator decided. "
                    "A restarted session's reads are void: kept in the database and the "
                    "audit log, left out of every table of this report.",),
        tables=tables),)


def history_methods_extra(comp: Any) -> tuple[str, ...]:
    """The Methods sentence on the resume policy, when a session needed a decision."""
    rows = list(getattr(comp, "session_history", ()) or ())
    if not rows:
        return ()
    return (history_methods(rows, comp.protocol.reading.resume_within_hours),)
