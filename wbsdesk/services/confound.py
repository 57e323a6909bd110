"""Confound audit of a study: capture statistics by group and a trivial baseline.

"On real photos no one here labelled, a logistic regression on trivial image statistics
matched the CNN: AUC 0.809 against ResNet-18's 0.813. The healthy photos were framed
tighter, so alignment padded their crops with more grey." :func:`confound_audit` shows a
researcher whether that happens in their study:

* per group, the distribution (median, IQR) of each capture statistic
  (:data:`wbsdesk.core.capture.CAPTURE_STATISTICS`), read from the stored alignment
  results: the padding share comes from the stored photo -> crop transform and photo size
  (recomputed from the stored landmarks and crop size only for a crop stored without its
  transform; a note says so); brightness and contrast from the model crop file;
* its standardised mean difference and its AUC alone, flagged at
  :data:`~wbsdesk.core.baseline.FLAG_AUC`;
* a logistic regression on those statistics plus an 8 x 8 thumbnail and colour histograms
  of the model crop, fitted on each fold's training subjects and predicting its test
  subjects on exactly the run's folds (the stored folds without a run), compared with
  every CNN by the paired DeLong test; a warning when it comes within
  :data:`~wbsdesk.core.baseline.WARN_MARGIN` AUC of the best CNN;
* the padding mode (``[faces] padding``) recorded with the crops.

Cases are the run's (positive group against *all* controls, as the CNN was trained); a
study without a run uses its included primary photos that have a model crop.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from wbsdesk.core import baseline as bl
from wbsdesk.core import face_geometry as geo
from wbsdesk.core.capture import (
    CAPTURE_STATISTICS,
    capture_values,
    image_feature_names,
    image_features,
)
from wbsdesk.core.delong import DelongAuc, delong_auc
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.core.protocol import Protocol
from wbsdesk.core.result_table import Column, ResultTable
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.audit_data import AuditCases, collect_warnings, load_audit_cases, name_list
from wbsdesk.services.face_jobs import MODEL_CROP_FORMAT
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.crops import CropRow

__all__ = ["BASELINE_AUC_COLUMNS", "BASELINE_FEATURES", "ConfoundAudit", "confound_audit"]

#: The baseline's features, in column order: the capture statistics, then the model crop's
#: 8 x 8 thumbnail and colour histograms.
BASELINE_FEATURES: tuple[str, ...] = (*(s.key for s in CAPTURE_STATISTICS),
                                      *image_feature_names())

#: Threads reading the model crops and computing their statistics.
READ_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Columns of the baseline's own AUC row (:meth:`ConfoundAudit.tables`).
BASELINE_AUC_COLUMNS = (
    Column("score", "Score", "", "text"),
    Column("n_pos", "Positives", "photos", "count"),
    Column("n_neg", "Controls", "photos", "count"),
    Column("auc", "AUC", "", "number"),
    Column("ci_low", "CI low", "AUC (DeLong, Wald)", "number"),
    Column("ci_high", "CI high", "AUC (DeLong, Wald)", "number"),
    Column("features", "Features", "count", "count"),
    Column("folds", "Folds", "count", "count"),
    Column("seed", "Seed", "", "count"),
)


@dataclass(frozen=True)
class ConfoundAudit:
    """Capture statistics by group, the trivial baseline and how it compares with the CNNs.

    Attributes
    ----------
    study : str
    run : str or None
    positive : str
    photo_ids : ndarray of int, shape (n,)
        The audited cases (with a model crop), in subject order.
    subjects : tuple of str
    groups : ndarray of str, shape (n,)
    folds : ndarray of int, shape (n,)
        The folds the baseline used (the run's, else the stored ones; -1: none).
    values : dict of str to ndarray of shape (n,)
        Statistic key -> each case's value (NaN where unknown).
    statistics : tuple of StatisticComparison
        One per capture statistic, in :data:`CAPTURE_STATISTICS` order.
    padding : dict of str to int
        Padding mode recorded with the crops -> number of crops.
    baseline : ndarray of shape (n,) or None
        The baseline's out-of-fold probabilities (None when it could not be fitted).
    baseline_auc : DelongAuc or None
    capture_only_auc : DelongAuc or None
        The same logistic regression on the capture statistics alone (no thumbnail or
        histograms): how much of the baseline is framing, padding and lighting rather than
        the low-resolution look of the face.
    n_features : int
    seed : int
    comparisons : tuple of BaselineComparison
        Each CNN (and the ensemble) against the baseline, paired DeLong.
    warning : str or None
        Shown when the baseline comes within 0.05 AUC of the best CNN.
    notes : tuple of str
    """

    study: str
    run: str | None
    positive: str
    photo_ids: np.ndarray
    subjects: tuple[str, ...]
    groups: np.ndarray
    folds: np.ndarray
    values: dict[str, np.ndarray]
    statistics: tuple[bl.StatisticComparison, ...]
    padding: dict[str, int]
    baseline: np.ndarray | None
    baseline_auc: DelongAuc | None
    capture_only_auc: DelongAuc | None
    n_features: int
    seed: int
    comparisons: tuple[bl.BaselineComparison, ...]
    warning: str | None
    notes: tuple[str, ...]

    @property
    def flagged(self) -> tuple[str, ...]:
        """Labels of the statistics whose AUC alone reaches the flag."""
        return tuple(s.statistic.label for s in self.statistics if s.flagged)

    def padding_text(self) -> str:
        """How the crops' outside pixels were filled, e.g. ``"grey (150 crops)"``."""
        return ", ".join(f"{mode} ({n} crop{'s' if n != 1 else ''})"
                         for mode, n in sorted(self.padding.items()))

    def tables(self) -> tuple[ResultTable, ...]:
        """``confound_statistics``, ``confound_groups``, ``confound_baseline_auc`` and
        ``confound_baseline``."""
        head = [f"Padding of the model crops: {self.padding_text()}."]
        if self.warning:
            head.insert(0, self.warning)
        k = int(np.unique(self.folds).size)
        auc_rows = [(name, b.n_pos, b.n_neg, b.auc, b.ci_low, b.ci_high, n, k, self.seed)
                    for name, b, n in (
                        ("trivial baseline (logistic regression)", self.baseline_auc,
                         self.n_features),
                        ("capture statistics only", self.capture_only_auc,
                         len(CAPTURE_STATISTICS))) if b is not None]
        return (
            ResultTable.build("confound_statistics",
                              f"Capture statistics: {self.positive} (target) vs. controls, "
                              f"standardised mean difference and AUC alone (flagged at "
                              f"≥ {bl.FLAG_AUC})", bl.CAPTURE_SUMMARY_COLUMNS,
                              [s.summary_row() for s in self.statistics],
                              (*head, *self.notes)),
            ResultTable.build("confound_groups", "Capture statistics per group: median and "
                              "interquartile range", bl.CAPTURE_GROUP_COLUMNS,
                              [r for s in self.statistics for r in s.group_rows()]),
            ResultTable.build("confound_baseline_auc",
                              "Trivial baseline: out-of-fold AUC on the "
                              + ("CNN's folds" if self.run else "study's stored folds"),
                              BASELINE_AUC_COLUMNS, auc_rows),
            ResultTable.build("confound_baseline",
                              "Each CNN against the trivial baseline (paired DeLong test)",
                              bl.BASELINE_COLUMNS, [c.row() for c in self.comparisons],
                              head[:1] if self.warning else ()),
        )


def _read_crop(ws: Workspace, crop: CropRow, subject: str, study: str) -> np.ndarray:
    path = ws.root / str(crop.model_crop_path)
    try:
        with Image.open(path, formats=[MODEL_CROP_FORMAT]) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise UserError(f"the model crop of {subject} ({path}) cannot be read: {exc}",
                        hint=f"run 'wbsdesk align {study} --force' to remake it") from None


def _capture_row(crop: CropRow, pixels: np.ndarray) -> tuple[list[float], bool]:
    """The capture statistics of one crop, and whether the transform was recomputed."""
    px = int(crop.settings.get("model_crop_px", pixels.shape[1]))
    w, h = crop.image_width, crop.image_height
    recomputed = False
    matrix = crop.model_matrix
    if matrix is None and crop.landmarks is not None:
        matrix = geo.estimate_similarity(np.asarray(crop.landmarks, float),
                                         geo.canonical_landmarks(px))
        recomputed = True
    values = capture_values(matrix=matrix, image_size=(w, h) if w and h else None,
                            crop_px=px, bbox=crop.bbox, confidence=crop.confidence,
                            pixels=pixels)
    return [values[stat.key] for stat in CAPTURE_STATISTICS], recomputed


def confound_audit(ws: Workspace, study: str, *, run: str | None = None,
                   cases: AuditCases | None = None, progress: ProgressFn = no_progress,
                   cancel: CancelToken | None = None) -> ConfoundAudit:
    """Capture statistics by group and a trivial baseline on the same folds as the CNNs.

    Parameters
    ----------
    ws : Workspace
    study : str
    run : str, optional, keyword-only
        Default: the latest finished run; none: the stored folds and no CNN comparison.
    cases : AuditCases, optional, keyword-only
    progress, cancel : keyword-only
        The job contract (one step per model crop read).

    Returns
    -------
    ConfoundAudit

    Raises
    ------
    UserError
        No case with a model crop, an unreadable crop file, or a subject in two folds.

    Warns
    -----
    WbsdeskWarning
        The baseline warning (within 0.05 AUC of the best CNN), cases without a crop, and
        a baseline that cannot be fitted (folds not assigned, one class in a fold).
    """
    cancel = cancel or CancelToken()
    audit = cases or load_audit_cases(ws, study, run=run, with_readers=False)
    st = audit.study
    protocol = st.protocol
    c = audit.cases
    crops = ws.store.crops(st.id)
    notes = list(audit.notes)
    with collect_warnings(notes):
        usable = [i for i, p in enumerate(c.photo_ids)
                  if (cr := crops.get(int(p))) is not None and cr.model_crop_path]
        if len(usable) < len(c.photo_ids):
            missing = [c.subjects[i] for i in range(len(c.photo_ids)) if i not in set(usable)]
            warnings.warn(f"{len(missing)} photo(s) have no model crop and are left out: "
                          f"{name_list(missing)}.", WbsdeskWarning, stacklevel=2)
        if not usable:
            raise UserError(f"no photo of {st.name!r} has a model crop to audit",
                            hint=f"run 'wbsdesk align {st.name}'")
        idx = np.array(usable, dtype=int)
        values, feats, recomputed, padding = [], [], [], Counter()

        def one(i: int) -> tuple[list[float], np.ndarray, bool]:
            crop = crops[int(c.photo_ids[i])]
            pixels = _read_crop(ws, crop, c.subjects[i], st.name)
            row, again = _capture_row(crop, pixels)
            return row, image_features(pixels), again

        # decoding and the pixel statistics release the GIL: a few threads, results in order
        pool = ThreadPoolExecutor(max_workers=READ_THREADS)
        try:
            for n, (i, (row, feat, again)) in enumerate(zip(idx, pool.map(one, idx),
                                                            strict=True)):
                cancel.raise_if_cancelled()
                values.append(row)
                feats.append(feat)
                recomputed.append(again)
                padding[str(crops[int(c.photo_ids[i])].settings.get("padding", "grey"))] += 1
                progress(Progress(n + 1, idx.size, "reading model crops"))
        finally:
            pool.shutdown(cancel_futures=True)
        stats_arr = np.array(values, dtype=float)
        if any(recomputed):
            names = [c.subjects[i] for i, r in zip(idx, recomputed, strict=True) if r]
            notes.append(f"The padding share of {len(names)} crop(s) stored without their "
                         "alignment transform was recomputed from the stored landmarks and "
                         f"crop size: {name_list(names)}.")
        if len(padding) > 1:
            warnings.warn("The model crops were made with different padding modes "
                          f"({', '.join(sorted(padding))}): re-align with --force so that all "
                          "follow the protocol.", WbsdeskWarning, stacklevel=2)
        groups = c.groups[idx]
        comparisons = tuple(bl.compare_statistic(stat, stats_arr[:, j], groups,
                                                 positive=audit.positive,
                                                 group_order=protocol.groups.names)
                            for j, stat in enumerate(CAPTURE_STATISTICS))
        y = groups == audit.positive
        folds = c.folds[idx]
        subjects = tuple(c.subjects[i] for i in idx)
        bl.check_subject_folds(subjects, folds)
        x = np.hstack([stats_arr, np.array(feats)])
        seed = protocol.training.seed
        probs, b_auc, vs, warning = _baseline(x, y, folds, seed, audit, idx, protocol)
        capture_auc = None
        if probs is not None:
            only = bl.out_of_fold_logistic(stats_arr, y, folds, seed=seed)
            capture_auc = _auc(y, only, protocol.statistics.ci_level,
                               "The capture statistics alone")
    notes = [n for n in notes if n != warning]  # shown on its own, first
    return ConfoundAudit(
        study=st.name, run=audit.run, positive=audit.positive,
        photo_ids=c.photo_ids[idx], subjects=subjects, groups=groups, folds=folds,
        values={s.key: stats_arr[:, j] for j, s in enumerate(CAPTURE_STATISTICS)},
        statistics=comparisons, padding=dict(padding), baseline=probs, baseline_auc=b_auc,
        capture_only_auc=capture_auc, n_features=int(x.shape[1]), seed=seed,
        comparisons=vs, warning=warning, notes=tuple(notes))


def _auc(y: np.ndarray, probs: np.ndarray, level: float, what: str) -> DelongAuc:
    """DeLong AUC, its zero-variance warning naming ``what``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WbsdeskWarning)
        auc = delong_auc(y, probs, ci_level=level)
    if caught:
        warnings.warn(f"{what} separates the groups perfectly (AUC {auc.auc:.3g}): its CI "
                      "is NaN.", WbsdeskWarning, stacklevel=4)
    return auc


def _baseline(x: np.ndarray, y: np.ndarray, folds: np.ndarray, seed: int, audit: AuditCases,
              idx: np.ndarray, protocol: Protocol
              ) -> tuple[np.ndarray | None, DelongAuc | None,
                         tuple[bl.BaselineComparison, ...], str | None]:
    """Fit the baseline, compare it with the CNNs and issue its warning."""
    if (folds < 0).any():
        warnings.warn("The folds of this study are not assigned, so the trivial baseline "
                      f"was not fitted (run 'wbsdesk folds {audit.study.name}').",
                      WbsdeskWarning, stacklevel=3)
        return None, None, (), None
    if min(int(y.sum()), int(y.size - y.sum())) < 2:
        warnings.warn("Fewer than 2 target or control photos have a crop: the trivial "
                      "baseline was not fitted.", WbsdeskWarning, stacklevel=3)
        return None, None, (), None
    try:
        probs = bl.out_of_fold_logistic(x, y, folds, seed=seed)
    except UserError as exc:
        warnings.warn(f"The trivial baseline was not fitted: {exc.message}", WbsdeskWarning,
                      stacklevel=3)
        return None, None, (), None
    level = protocol.statistics.ci_level
    b_auc = _auc(y, probs, level, "The trivial baseline")
    models = {m.label: m.scores[idx] for m in audit.models}
    vs = bl.compare_with_models(y, probs, models, ci_level=level) if models else ()
    warning = bl.baseline_warning(b_auc.auc, {v.model: v.model_auc for v in vs})
    if warning:
        warnings.warn(warning, WbsdeskWarning, stacklevel=3)
    return probs, b_auc, vs, warning
