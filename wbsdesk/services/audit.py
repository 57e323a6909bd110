"""Calibration and subgroup audits of a study's models and readers.

:func:`calibration_audit` gives, for each model's out-of-fold probabilities, a reliability
diagram (10 equal-width bins), the expected calibration error and the Brier score
(:mod:`wbsdesk.core.calibration`), and for each reader the observed share of target-group
photos at each level of the rating scale.

:func:`subgroup_audit` gives every model's and reader's AUC with its DeLong CI and the
numbers of positives and controls within subgroups: sex, age band (the protocol's
``[statistics] age_bands_months``) and any manifest metadata column asked for, and a test of
a difference between subgroups, Holm-adjusted over all tests of the audit
(:mod:`wbsdesk.core.subgroups`). A subgroup lacking a class is shown and named in a
:class:`~wbsdesk.errors.WbsdeskWarning`; the audit never stops for it.

Which cases: the positive group against the chosen controls (``controls="all"`` or one
control group); models use every such case of the run, each reader the photos that reader
rated (see :mod:`wbsdesk.services.audit_data`).

Every result has ``tables()``: :class:`~wbsdesk.core.result_table.ResultTable` objects (typed
rows, column names and units) for any view to render.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wbsdesk.core import calibration as cal
from wbsdesk.core import subgroups as sg
from wbsdesk.core.proportions import holm
from wbsdesk.core.result_table import ResultTable
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.audit_data import AuditCases, Scorer, collect_warnings, load_audit_cases
from wbsdesk.services.workspace import Workspace

__all__ = ["MAX_SUBGROUPS", "CalibrationAudit", "SubgroupAudit", "calibration_audit",
           "subgroup_audit", "subgroup_dimensions"]

#: A metadata column with more distinct values than this is refused as a subgroup column.
MAX_SUBGROUPS = 20
#: Metadata columns that hold per-photo geometry, never subgroups.
_NOT_SUBGROUPS = frozenset({"face_box", "landmarks"})


def _scorers_in(audit: AuditCases, mask: np.ndarray) -> list[tuple[Scorer, np.ndarray]]:
    """Each scorer with the case positions it scored inside ``mask``."""
    out = []
    for s in (*audit.models, *audit.readers):
        keep = mask[s.index]
        out.append((s, keep))
    return out


# ---------------------------------------------------------------------------------------------
# Calibration


@dataclass(frozen=True)
class CalibrationAudit:
    """Calibration of a study's models and readers.

    Attributes
    ----------
    study, run : str, str or None
    positive, controls : str
    n_bins : int
    ci_level : float
    models : tuple of ModelCalibration
    readers : tuple of ReaderCalibration
    notes : tuple of str
    """

    study: str
    run: str | None
    positive: str
    controls: str
    n_bins: int
    ci_level: float
    models: tuple[cal.ModelCalibration, ...]
    readers: tuple[cal.ReaderCalibration, ...]
    notes: tuple[str, ...]

    def tables(self) -> tuple[ResultTable, ...]:
        """``calibration_models``, ``calibration_bins`` and ``calibration_readers``."""
        level = f"{100 * self.ci_level:g}%"
        return (
            ResultTable.build("calibration_models",
                              "Calibration of the models' out-of-fold probabilities: expected "
                              f"calibration error ({self.n_bins} equal bins) and Brier score",
                              cal.MODEL_CALIBRATION_COLUMNS,
                              [m.summary_row() for m in self.models], self.notes),
            ResultTable.build("calibration_bins",
                              f"Reliability diagram ({self.n_bins} equal bins): mean predicted "
                              f"probability vs. observed share of {self.positive} "
                              f"({level} Wilson CI)", cal.RELIABILITY_COLUMNS,
                              [r for m in self.models for r in m.bin_rows()]),
            ResultTable.build("calibration_readers",
                              f"Readers: share of {self.positive} photos at each rating level "
                              f"({level} Wilson CI)", cal.RATING_LEVEL_COLUMNS,
                              [r for x in self.readers for r in x.level_rows()]),
        )


def calibration_audit(ws: Workspace, study: str, *, run: str | None = None,
                      controls: str = "all", include_simulated: bool = False,
                      include_dry_run: bool = False, n_bins: int = cal.N_BINS,
                      cases: AuditCases | None = None) -> CalibrationAudit:
    """Reliability diagrams, ECE and Brier score of the models; rating levels of the readers.

    Parameters
    ----------
    ws : Workspace
    study : str
    run : str, optional, keyword-only
        Default: the latest finished run (none: readers only).
    controls : str, keyword-only
        ``"all"`` or one control group.
    include_simulated, include_dry_run : bool, keyword-only
    n_bins : int, keyword-only, default 10
    cases : AuditCases, optional, keyword-only
        Already loaded inputs (from :func:`~wbsdesk.services.audit_data.load_audit_cases`).

    Returns
    -------
    CalibrationAudit
    """
    audit = cases or load_audit_cases(ws, study, run=run, include_simulated=include_simulated,
                                      include_dry_run=include_dry_run)
    protocol = audit.study.protocol
    level = protocol.statistics.ci_level
    mask = audit.subset(controls)
    y_all = audit.cases.groups == audit.positive
    notes = [*audit.notes, *audit.reader_notes]
    models, readers = [], []
    with collect_warnings(notes):
        for s, keep in _scorers_in(audit, mask):
            idx = s.index[keep]
            y, score = y_all[idx], s.scores[keep]
            if not idx.size:
                warnings.warn(f"{s.label} rated no photo of this comparison; left out.",
                              WbsdeskWarning, stacklevel=2)
                continue
            if s.kind == "model":
                models.append(cal.model_calibration(s.name, y, score, label=s.label,
                                                    n_bins=n_bins, ci_level=level))
            else:
                readers.append(cal.reader_calibration(s.name, y, score, label=s.label,
                                                      scale=protocol.reading.scale,
                                                      ci_level=level))
    return CalibrationAudit(study=audit.study.name, run=audit.run, positive=audit.positive,
                            controls=controls, n_bins=n_bins, ci_level=level,
                            models=tuple(models), readers=tuple(readers), notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# Subgroups


def subgroup_dimensions(audit: AuditCases, by: Sequence[str] = ()
                        ) -> dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]]:
    """Dimension name -> (each case's subgroup label, display order or None).

    Always ``"sex"`` and ``"age band"``; then each metadata column in ``by``.

    Raises
    ------
    UserError
        A column no subject has, a geometry column, or one with more than
        :data:`MAX_SUBGROUPS` distinct values.
    """
    edges = audit.study.protocol.statistics.age_bands_months
    sexes = tuple(sg.UNKNOWN if s is None else str(s) for s in audit.cases.sexes)
    bands = sg.age_bands(audit.cases.ages, edges)
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
        "sex": (sexes, None),
        "age band": (bands, (f"<{edges[0]:g} months", *sg.age_band_labels(edges), sg.UNKNOWN)),
    }
    columns = sorted({k for m in audit.metadata for k in m} - _NOT_SUBGROUPS)
    for col in dict.fromkeys(by):
        if col in ("sex", "age", "age band", "age_months"):
            continue  # always shown
        if col in _NOT_SUBGROUPS:
            raise UserError(f"{col!r} holds per-photo geometry, not subgroups",
                            hint=f"metadata columns: {', '.join(columns) or 'none'}")
        if col not in columns:
            raise UserError(f"no subject of {audit.study.name!r} has a metadata column {col!r}",
                            hint=f"metadata columns: {', '.join(columns) or 'none'} "
                                 "(sex and age bands are always shown)")
        labels = tuple((m.get(col) or "").strip() or sg.UNKNOWN for m in audit.metadata)
        n = len(set(labels))
        if n > MAX_SUBGROUPS:
            raise UserError(f"metadata column {col!r} has {n} different values; a subgroup "
                            f"column may have at most {MAX_SUBGROUPS}",
                            hint="group its values into fewer categories in the manifest")
        out[col] = (labels, None)
    return out


@dataclass(frozen=True)
class SubgroupAudit:
    """AUCs within subgroups and tests of a difference between subgroups.

    Attributes
    ----------
    study, run, positive, controls : str
    dimensions : tuple of str
        ``"sex"``, ``"age band"``, then the metadata columns asked for.
    age_bands_months : tuple of float
        The protocol's lower band edges.
    rows : tuple of SubgroupAuc
        Scorer by scorer, dimension by dimension, subgroup by subgroup.
    differences : tuple of SubgroupDifference
        One per scorer and dimension, ``p_holm`` adjusted over all of them.
    notes : tuple of str
        Warnings (subgroups with one class, zero variances) and what was left out.
    """

    study: str
    run: str | None
    positive: str
    controls: str
    dimensions: tuple[str, ...]
    age_bands_months: tuple[float, ...]
    ci_level: float
    rows: tuple[sg.SubgroupAuc, ...]
    differences: tuple[sg.SubgroupDifference, ...]
    notes: tuple[str, ...]

    def tables(self) -> tuple[ResultTable, ...]:
        """``subgroup_auc`` and ``subgroup_difference``."""
        level = f"{100 * self.ci_level:g}%"
        legend = [f"Status '{sg.STATUS_LABEL['too small']}': fewer than {sg.MIN_PER_CLASS} "
                  "positives or controls; shown, but not in the test of a difference.",
                  f"Status '{sg.STATUS_LABEL['one class']}': {sg.STATUS_TEXT['one class']}."]
        return (
            ResultTable.build("subgroup_auc",
                              f"AUC within subgroups, {self.positive} vs. {self.controls} "
                              f"controls ({level} DeLong CI)", sg.SUBGROUP_COLUMNS,
                              [r.row() for r in self.rows], (*legend, *self.notes)),
            ResultTable.build("subgroup_difference",
                              "Difference in AUC between subgroups (2: independent-samples z "
                              "test; more: chi-square test of homogeneity), Holm-adjusted",
                              sg.DIFFERENCE_COLUMNS, [d.row() for d in self.differences]),
        )


def subgroup_audit(ws: Workspace, study: str, *, run: str | None = None,
                   by: Sequence[str] = (), controls: str = "all",
                   include_simulated: bool = False, include_dry_run: bool = False,
                   cases: AuditCases | None = None) -> SubgroupAudit:
    """Every model's and reader's AUC within subgroups, and tests of their difference.

    Parameters
    ----------
    ws : Workspace
    study : str
    run : str, optional, keyword-only
    by : sequence of str, keyword-only
        Manifest metadata columns to split by as well (e.g. ``ancestry``, ``source``).
    controls : str, keyword-only
    include_simulated, include_dry_run : bool, keyword-only
    cases : AuditCases, optional, keyword-only

    Returns
    -------
    SubgroupAudit

    Raises
    ------
    UserError
        Unknown study, run, control group or metadata column.

    Warns
    -----
    WbsdeskWarning
        For each subgroup without a positive or without a control (named), and for zero
        DeLong variances.
    """
    audit = cases or load_audit_cases(ws, study, run=run, include_simulated=include_simulated,
                                      include_dry_run=include_dry_run)
    protocol = audit.study.protocol
    level = protocol.statistics.ci_level
    mask = audit.subset(controls)
    dims = subgroup_dimensions(audit, by)
    y_all = audit.cases.groups == audit.positive
    notes = [*audit.notes, *audit.reader_notes]
    rows: list[sg.SubgroupAuc] = []
    diffs: list[sg.SubgroupDifference] = []
    with collect_warnings(notes):
        for dim, (labels, _) in dims.items():
            lab = np.asarray(labels, dtype=object)
            for name in _one_class_subgroups(y_all[mask], lab[mask]):
                warnings.warn(f"Subgroup {dim} = {name} has {_counts(y_all, lab, mask, name)}"
                              ": no AUC (one class only); the rest of the audit goes on.",
                              WbsdeskWarning, stacklevel=2)
        for s, keep in _scorers_in(audit, mask):
            idx = s.index[keep]
            if not idx.size:
                continue
            for dim, (labels, order) in dims.items():
                lab = [labels[i] for i in idx]
                part = sg.subgroup_aucs(y_all[idx], s.scores[keep], lab, scorer=s.label,
                                        dimension=dim, order=order, ci_level=level)
                rows.extend(part)
                diffs.append(sg.subgroup_difference(part))
    adjusted = holm([d.p_value for d in diffs]).p_adjusted
    diffs = [dataclasses.replace(d, p_holm=p) for d, p in zip(diffs, adjusted, strict=True)]
    return SubgroupAudit(study=audit.study.name, run=audit.run, positive=audit.positive,
                         controls=controls, dimensions=tuple(dims),
                         age_bands_months=protocol.statistics.age_bands_months,
                         ci_level=level, rows=tuple(rows), differences=tuple(diffs),
                         notes=tuple(notes))


def _one_class_subgroups(y: np.ndarray, labels: np.ndarray) -> list[str]:
    out = []
    for name in dict.fromkeys(labels.tolist()):
        inside = y[labels == name]
        if inside.all() or not inside.any():
            out.append(str(name))
    return out


def _counts(y_all: np.ndarray, labels: np.ndarray, mask: np.ndarray, name: str) -> str:
    """``"3 positive(s) and 0 control(s)"`` of one subgroup inside ``mask``."""
    inside = y_all[mask][labels[mask] == name]
    return f"{int(inside.sum())} positive(s) and {int(inside.size - inside.sum())} control(s)"
