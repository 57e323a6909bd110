"""Reader agreement of a comparison: intra-reader (repeat reads) and inter-reader.

* **Intra-reader**, per reader: the first read and the repeat read of each repeated photo
  (:mod:`wbsdesk.services.repeat_reads`) of the comparison's cases, where both have an
  answer. Cohen's kappa weighted for the ordinal rating scale, with **linear**
  (Cicchetti-Allison) and **quadratic** (Fleiss-Cohen) weights, each with the asymptotic
  Wald CI of Fleiss, Cohen & Everitt (1969); the percent agreement of the yes/no reads with
  its Wilson interval.
* **Inter-reader**, over the included readers on the paired photos (every reader's first
  read; repeats never count here): Fleiss' kappa of the yes/no reads and Kendall's W of
  the ratings (ties corrected; Friedman's chi-square test), each with a percentile
  bootstrap CI over the photos (the protocol's ``bootstrap_resamples`` and
  ``bootstrap_seed``).

Nothing here changes the primary analysis: the repeat reads live in their own table.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core.agreement import (
    FleissKappa,
    Kappa,
    KendallW,
    cohens_kappa,
    fleiss_kappa,
    kendalls_w,
    percent_agreement,
)
from wbsdesk.core.proportions import Proportion
from wbsdesk.errors import WbsdeskWarning
from wbsdesk.services.analysis_results import Comparison
from wbsdesk.services.workspace import Workspace

__all__ = ["IntraReader", "ReaderAgreement", "attach_agreement", "reader_agreement"]


@dataclass(frozen=True)
class IntraReader:
    """One reader's first vs. repeat reads.

    ``repeats``: repeated photos among the comparison's cases; ``pairs``: those with an
    answer both times (the kappas' and the agreement's n). Kappas are ``None`` without a
    pair.
    """

    name: str
    label: str
    role: str
    kind: str
    repeats: int
    pairs: int
    linear: Kappa | None
    quadratic: Kappa | None
    binary: Proportion


@dataclass(frozen=True)
class ReaderAgreement:
    """Intra- and inter-reader agreement of a comparison's readers (see the module doc).

    ``fleiss`` and ``kendall`` are ``None`` with fewer than two readers; ``notes`` name
    every value that is undefined, and why.
    """

    intra: tuple[IntraReader, ...]
    fleiss: FleissKappa | None
    kendall: KendallW | None
    n_paired: int
    n_readers: int
    min_gap: int
    levels: int
    ci_level: float
    resamples: int
    seed: int
    notes: tuple[str, ...]


def _kappas(first: np.ndarray, repeat: np.ndarray, levels: int, level: float, who: str,
            notes: list[str]) -> tuple[Kappa | None, Kappa | None]:
    if first.size == 0:
        return None, None
    out = []
    for weights in ("linear", "quadratic"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", WbsdeskWarning)
            out.append(cohens_kappa(first, repeat, levels=range(1, levels + 1),
                                    weights=weights, ci_level=level))
        for w in caught:
            text = f"{who}: {w.message}"
            if issubclass(w.category, WbsdeskWarning) and text not in notes:
                notes.append(text)
    return out[0], out[1]


def _quiet(fn: Any, *args: Any, what: str, notes: list[str], **kw: Any) -> Any:
    """Call ``fn``, turning its WbsdeskWarnings into notes that name ``what``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WbsdeskWarning)
        out = fn(*args, **kw)
    notes += [f"{what}: {w.message}" for w in caught if issubclass(w.category, WbsdeskWarning)]
    return out


def reader_agreement(ws: Workspace, comp: Comparison) -> ReaderAgreement:
    """Intra- and inter-reader agreement of the readers of a comparison.

    Parameters
    ----------
    ws : Workspace
        Where the readers' repeat reads are stored.
    comp : Comparison
        From :func:`~wbsdesk.services.analysis.build_comparison`; its readers, cases and
        paired photos are used as they are.

    Returns
    -------
    ReaderAgreement
    """
    protocol = comp.protocol
    st = protocol.statistics
    levels = len(protocol.reading.scale)
    cases = {int(p) for p in comp.photo_ids}
    by_session: dict[int, list[dict[str, Any]]] = {}
    for row in ws.store.repeat_pairs([r.session_id for r in comp.readers]):
        if int(row["photo_id"]) in cases:
            by_session.setdefault(int(row["session_id"]), []).append(row)
    notes: list[str] = []
    intra = []
    for r in comp.readers:
        rows = by_session.get(r.session_id, [])
        both = [x for x in rows if x["first_rating"] is not None
                and x["repeat_rating"] is not None]
        first = np.array([x["first_rating"] for x in both], dtype=float)
        again = np.array([x["repeat_rating"] for x in both], dtype=float)
        lin, quad = _kappas(first, again, levels, st.ci_level, r.label, notes)
        binary = percent_agreement([bool(x["first_binary"]) for x in both],
                                   [bool(x["repeat_binary"]) for x in both],
                                   ci_level=st.ci_level)
        intra.append(IntraReader(r.name, r.label, r.role, r.kind, len(rows), len(both), lin,
                                 quad, binary))
    fleiss = kendall = None
    if len(comp.readers) >= 2:
        binary_m = np.column_stack([np.asarray(r.binary, dtype=int) for r in comp.readers])
        ratings_m = np.column_stack([np.asarray(r.ratings, dtype=float) for r in comp.readers])
        kw = {"ci_level": st.ci_level, "resamples": st.bootstrap_resamples,
              "seed": st.bootstrap_seed}
        fleiss = _quiet(fleiss_kappa, binary_m, what="Fleiss' kappa", notes=notes, **kw)
        kendall = _quiet(kendalls_w, ratings_m, what="Kendall's W", notes=notes, **kw)
    return ReaderAgreement(
        intra=tuple(intra), fleiss=fleiss, kendall=kendall, n_paired=int(comp.paired.size),
        n_readers=len(comp.readers), min_gap=protocol.reading.repeat_min_gap, levels=levels,
        ci_level=st.ci_level, resamples=st.bootstrap_resamples, seed=st.bootstrap_seed,
        notes=tuple(notes))


def attach_agreement(ws: Workspace, comp: Comparison) -> Comparison:
    """The comparison with its :func:`reader_agreement` attached (``comp.agreement``): the
    report then has a "Reader agreement" section and ``--json`` its tables."""
    return dataclasses.replace(comp, agreement=reader_agreement(ws, comp))
