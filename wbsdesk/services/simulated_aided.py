"""The demo's simulated aided re-reads: each simulated reader leans on the model by its trust.

After the demo has trained its run and prepared the aid, every simulated reader's finished
blind session becomes a sequential session: its blind reads stay as they are (locked; the
blind analysis sees exactly them), and an aided re-read of each scored photo is added after
them. The aided rating moves from the reader's blind rating towards the model's score by
the reader's own trust weight ``w``::

    aided = round((1 - w) * blind + w * (1 + (L - 1) * score) + noise),   clipped to 1..L

so that a trusting reader follows the model, right or wrong, and a sceptical one keeps
their first answer: the uplift and the automation-bias tables then show something real.
Everything stays flagged simulated.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from wbsdesk.core.protocol import protocol_from_dict
from wbsdesk.core.session import ReadRecord
from wbsdesk.errors import UserError
from wbsdesk.services.aid import AidSet, current_aid
from wbsdesk.services.reading import SIMULATED_READERS, SimulatedReader
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

#: Each simulated reader's trust in the model (0: ignores it, 1: copies it).
TRUST = {SIMULATED_READERS[0].name: 0.15, SIMULATED_READERS[1].name: 0.35,
         SIMULATED_READERS[2].name: 0.7, SIMULATED_READERS[3].name: 0.5}


def aided_rating(blind: int, score: float, *, trust: float, levels: int, noise: float) -> int:
    """The simulated aided rating: the blind one moved towards the model's score.

    Examples
    --------
    >>> aided_rating(2, 0.95, trust=0.0, levels=5, noise=0.0)
    2
    >>> aided_rating(2, 0.95, trust=1.0, levels=5, noise=0.0)
    5
    >>> aided_rating(4, 0.1, trust=0.5, levels=5, noise=0.0)
    3
    """
    model = 1.0 + (levels - 1) * float(score)
    value = (1.0 - trust) * blind + trust * model + noise
    return int(np.clip(np.floor(value + 0.5), 1, levels))


def add_simulated_aided_reads(ws: Workspace, study_name: str, *, seed: int,
                              aid: AidSet | None = None) -> list[str]:
    """Give every simulated reader's finished blind session its aided re-reads (the demo).

    Parameters
    ----------
    ws : Workspace
    study_name : str
    seed : int, keyword-only
        Seeds the noise and the timings.
    aid : AidSet, optional, keyword-only
        The aid shown (default: the study's current aid).

    Returns
    -------
    list of str
        The readers whose sessions got aided re-reads (already sequential ones are skipped).

    Raises
    ------
    UserError
        When no aid has been prepared.
    """
    study = load_study(ws, study_name)
    aid = aid or current_aid(ws, study_name)
    if aid is None:
        raise UserError(f"study {study.name!r} has no aid for the simulated aided reads",
                        hint=f"run 'wbsdesk aid prepare {study.name}' first")
    written = []
    for i, sim in enumerate(SIMULATED_READERS):
        reader = ws.store.reader(sim.name)
        if reader is None or not reader.simulated:
            continue
        row = ws.store.session_of(reader.id, study.id)
        if row is None or row.status != "finished" or row.design != "blind":
            continue
        protocol = protocol_from_dict(json.loads(row.protocol_json), source=f"session {row.id}")
        reading = protocol.reading
        blind = [r for r in ws.store.reads(row.id) if not r["practice"]]
        lacking = [r["photo_id"] for r in blind if r["photo_id"] not in aid.scores]
        if lacking:
            raise UserError(f"the aid of {study.name!r} has no score for photo(s) {lacking}")
        rng = np.random.default_rng([seed, i, 7])
        records = _records(blind, aid, reading, sim, TRUST[sim.name], rng)
        sequential = json.loads(row.protocol_json)
        sequential["reading"]["design"] = "sequential_aided"
        with ws.store.atomic():
            ws.store.set_session_design(row.id, design="sequential_aided", modality="both",
                                        aid_set_id=aid.id,
                                        protocol_json=json.dumps(sequential, sort_keys=True))
            for rec in records:
                ws.store.insert_read(row.id, **rec.to_row())
            ws.store.audit(study.id, "simulated_aided_reads", {
                "session": row.id, "reader": sim.name, "aid_set": aid.id,
                "trust": TRUST[sim.name], "seed": seed})
        written.append(sim.name)
    log.info("wrote simulated aided re-reads of %d readers on %s", len(written), study.name)
    return written


def _records(blind: list[dict[str, Any]], aid: AidSet, reading: Any, sim: SimulatedReader,
             trust: float, rng: np.random.Generator) -> list[ReadRecord]:
    """Phase-2 reads after the blind ones (a second pass through the same order)."""
    secs = reading.aided_display_seconds
    levels = len(reading.scale)
    mono = max(max(r["hidden_mono"], r["answered_mono"] or 0.0) for r in blind) + 1.0
    start = datetime.now(UTC) - timedelta(seconds=len(blind) * (secs + 1.0))
    out = []
    origin = mono

    def wall(t: float) -> str:
        return (start + timedelta(seconds=t - origin)).isoformat(timespec="milliseconds")

    for r in blind:
        score = aid.scores[r["photo_id"]]
        display = secs + float(rng.normal(0.0, 0.002))
        rt = float(np.clip(rng.lognormal(np.log(sim.median_rt * 0.8), 0.35), 1.0, 9.5))
        answered = r["rating"] is not None and rng.random() >= 0.005
        rating = None
        if answered:
            rating = aided_rating(int(r["rating"]), score, trust=trust, levels=levels,
                                  noise=float(rng.normal(0.0, 0.35)))
        shown, hidden = mono, mono + display
        end = max(hidden, shown + rt) if answered else hidden + reading.response_window_seconds
        out.append(ReadRecord(
            position=r["position"], photo_id=r["photo_id"], practice=False, rating=rating,
            binary_read=None if rating is None else reading.binary_read(rating),
            shown_mono=round(shown, 4), hidden_mono=round(hidden, 4),
            answered_mono=round(shown + rt, 4) if answered else None,
            shown_at=wall(shown), hidden_at=wall(hidden),
            answered_at=wall(shown + rt) if answered else None,
            display_s=round(display, 4), response_s=round(rt, 4) if answered else None,
            after_interruption=False, modality="aided", phase=2, aid_score=score,
            heatmap_viewed=(bool(rng.random() < 0.4) if aid.has_heatmaps
                            and "heatmap" in reading.aid else None)))
        mono = end + float(rng.uniform(0.02, 0.05))
    return out
