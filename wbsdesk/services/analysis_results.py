"""Result types of a comparison (built by :func:`wbsdesk.services.analysis.build_comparison`).

Its tables (columns, formats, footnotes) are defined in :mod:`wbsdesk.services.result_tables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wbsdesk.core import stats
from wbsdesk.core.demographics import Table1
from wbsdesk.core.proportions import Proportion
from wbsdesk.core.protocol import Protocol
from wbsdesk.services.analysis_roc import RocBand, RocData

__all__ = ["Comparison", "ModelResult", "MrmcResults", "PairTest", "ReaderResult", "RunInfo"]


@dataclass(frozen=True)
class ModelResult:
    """One model (an architecture or ``"ensemble"``) on every case of the subset.

    ``scores`` are the out-of-fold probabilities (aligned with ``Comparison.subjects``);
    ``summary`` is its Table 4 row (per fold, mean ± SD); ``roc``, ``delong`` and
    ``bootstrap`` are the pooled out-of-fold ROC, AUC with DeLong CI and bootstrap CI;
    ``band`` the ROC band across folds.
    """

    name: str
    label: str
    scores: np.ndarray
    summary: stats.FoldSummary
    roc: stats.RocCurve
    band: RocBand
    delong: stats.DelongAuc
    bootstrap: stats.BootstrapResult


@dataclass(frozen=True)
class ReaderResult:
    """One reader on the paired cases (``ratings``/``binary`` aligned with them).

    ``label`` is the display name (``"(sim)"`` / ``"(dry run)"`` appended); ``kind`` is
    ``physician``, ``simulated`` or ``dry run``; ``missing`` lists the subject IDs of the
    subset this reader did not rate; ``rating_roc`` (levels 1..L), ``delong`` and
    ``bootstrap`` are of the ratings, ``binary_roc`` of the yes/no reads; ``proportions``
    are the yes/no reads' accuracy, precision, recall and specificity with their Wilson
    score intervals (Table 5).
    """

    name: str
    label: str
    role: str
    kind: str
    session_id: int
    order_seed: int
    simulated: bool
    ratings: np.ndarray
    binary: np.ndarray
    missing: tuple[str, ...]
    rating_roc: stats.RocCurve
    binary_roc: stats.RocCurve
    delong: stats.DelongAuc
    bootstrap: stats.BootstrapResult
    proportions: Mapping[str, Proportion] = field(default_factory=dict)


@dataclass(frozen=True)
class PairTest:
    """A DeLong test of ``a`` against ``b`` (``difference = AUC(a) - AUC(b)``).

    ``p_holm`` is the p-value Holm-adjusted over the test's family (every model-vs-reader
    test, or every model-vs-model test, of the comparison).
    """

    a: str
    b: str
    n_cases: int
    test: stats.DelongTest
    p_holm: float = float("nan")


@dataclass(frozen=True)
class MrmcResults:
    """OR/Hillis RRRC analyses on the paired cases (two or more readers).

    ``p_holm`` are the models' p-values against the readers, Holm-adjusted over the models.
    """

    readers_rating: stats.ModalityEstimate
    readers_binary: stats.ModalityEstimate
    models: tuple[tuple[str, stats.ModelVsReaders], ...]
    cov_method: str
    p_holm: tuple[float, ...] = ()


@dataclass(frozen=True)
class RunInfo:
    """One training run of a comparison: name, status, architectures, training seed and
    its stored spec (the settings it trained with)."""

    name: str
    status: str
    archs: tuple[str, ...]
    seed: int
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """Models vs. readers on one study, run and set of sessions.

    See :mod:`wbsdesk.services.analysis` for which cases each number uses.

    Attributes
    ----------
    subjects, photo_ids, groups, y, folds : tuple / ndarray of shape (n,)
        The cases of the subset (subject-key order): group (three-group truth), binary
        truth, and the fold whose model scored each case.
    paired : ndarray of int
        Indices into the cases of those every included reader rated.
    models, readers : tuple of ModelResult / ReaderResult
        Architectures in the run's order, then ``"ensemble"``; readers by name.
    table1, table3, table5 :
        Table 1 (:class:`~wbsdesk.core.demographics.Table1`, analysed subjects), Table 3
        (group -> counts per fold), Table 5 (:class:`~wbsdesk.core.stats.ReaderTable`,
        ``None`` without readers). Table 4 is ``models[i].summary``.
    delong_model_reader, delong_model_model : tuple of PairTest
    mrmc : MrmcResults or None
        ``None`` with fewer than two readers.
    roc_data : RocData
        Plain numpy arrays for the ROC figure.
    counts, exclusions, notes, seeds, versions :
        Data counts (incl. ``readers_left_out``: why -> names), what was left out and
        why, every warning raised while building, seeds and software versions.
    """

    study: str
    run: str
    run_status: str
    controls: str
    positive: str
    control_groups: tuple[str, ...]
    protocol: Protocol
    synthetic: bool
    photo_ids: np.ndarray
    subjects: tuple[str, ...]
    groups: np.ndarray
    y: np.ndarray
    folds: np.ndarray
    paired: np.ndarray
    models: tuple[ModelResult, ...]
    readers: tuple[ReaderResult, ...]
    table1: Table1
    table3: Mapping[str, list[int]]
    table5: stats.ReaderTable | None
    delong_model_reader: tuple[PairTest, ...]
    delong_model_model: tuple[PairTest, ...]
    mrmc: MrmcResults | None
    roc_data: RocData
    counts: Mapping[str, Any]
    exclusions: tuple[str, ...]
    notes: tuple[str, ...]
    seeds: Mapping[str, Any]
    versions: Mapping[str, str]
    include_simulated: bool
    include_dry_run: bool
    created_at: str = field(default="")
    #: The run's stored training spec (epochs, learning rate, ...; for the Methods).
    run_spec: Mapping[str, Any] = field(default_factory=dict)
    #: The audit shown with the comparison (calibration, subgroups, confounds and the trivial
    #: baseline: :class:`wbsdesk.services.report_audit.ReportAudit`), attached by
    #: :func:`~wbsdesk.services.report_audit.attach_audit`; None when not computed.
    audit: Any = None
    #: The runs compared when there are several (``run`` then joins their names with
    #: " + "); empty for one run (see :func:`wbsdesk.services.analysis_runs.runs_of`).
    runs: tuple[RunInfo, ...] = ()
    #: Intra- and inter-reader agreement of the readers
    #: (:class:`wbsdesk.services.agreement.ReaderAgreement`), attached by
    #: :func:`~wbsdesk.services.agreement.attach_agreement`; None when not computed.
    agreement: Any = None
    #: Decisions on sessions interrupted past the resume limit (restarts, continuations:
    #: :func:`wbsdesk.services.session_policy.history_rows`), filled by build_comparison.
    session_history: tuple[Mapping[str, Any], ...] = ()

    @property
    def simulated_included(self) -> bool:
        """Whether any included reader is simulated (the report then says so loudly)."""
        return any(r.simulated for r in self.readers)

    @property
    def k(self) -> int:
        """Number of folds."""
        return len(next(iter(self.table3.values()))) if self.table3 else 0

    def model(self, name: str) -> ModelResult:
        """The model called ``name`` (an architecture or ``"ensemble"``)."""
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def reader(self, name: str) -> ReaderResult:
        """The reader called ``name``."""
        for r in self.readers:
            if r.name == name:
                return r
        raise KeyError(name)

