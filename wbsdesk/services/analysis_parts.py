"""The parts of a comparison: one model, one reader, a paired test, the MRMC analyses.

Used by :func:`wbsdesk.services.analysis.build_comparison`. Every warning raised while a
part is computed names the part (:func:`about`): ``"Model ResNet-18: Precision of fold 3 is
undefined ..."``, ``"Reader 'Dr A': ..."``, ``"DeLong ResNet-18 vs. Dr A: ..."``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from wbsdesk.core import stats
from wbsdesk.core.architectures import arch_label
from wbsdesk.core.proportions import holm, wilson_interval
from wbsdesk.core.protocol import Protocol
from wbsdesk.errors import WbsdeskWarning
from wbsdesk.services.analysis_data import SessionReads
from wbsdesk.services.analysis_results import ModelResult, MrmcResults, PairTest, ReaderResult
from wbsdesk.services.analysis_roc import ModelRoc, fold_band

#: Name of the ensemble model (mean of the architectures' out-of-fold probabilities).
MODEL_ENSEMBLE = "ensemble"
#: Covariance method of the MRMC analyses.
MRMC_COV = "jackknife"
#: Table 5's proportions with a Wilson interval: metric -> (successes, trials) from the
#: yes/no reads' (tp, fp, tn, fn).
PROPORTIONS = {
    "accuracy": lambda tp, fp, tn, fn: (tp + tn, tp + fp + tn + fn),
    "precision": lambda tp, fp, tn, fn: (tp, tp + fp),
    "recall": lambda tp, fp, tn, fn: (tp, tp + fn),
    "specificity": lambda tp, fp, tn, fn: (tn, tn + fp),
}


@contextmanager
def about(who: str) -> Iterator[None]:
    """Name ``who`` (a model, reader or test) in every wbsdesk warning raised inside.

    The same text from two models stays two notes, and each says whom it concerns; a
    warning that already starts with ``who`` is left as it is.
    """
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for w in caught:
            text = str(w.message)
            if issubclass(w.category, WbsdeskWarning) and not text.startswith(who):
                warnings.warn(f"{who}: {text}", w.category, stacklevel=3)
            else:
                warnings.warn(w.message, w.category, stacklevel=3)


def warn(message: str) -> None:
    """Issue a :class:`~wbsdesk.errors.WbsdeskWarning` (kept in the comparison's notes)."""
    warnings.warn(message, WbsdeskWarning, stacklevel=2)


def _check_ties(score: np.ndarray) -> None:
    if score.size and np.all(score == score[0]):
        warn("every case has the same score (all ties): its AUC is 0.5 and its ROC curve "
             "is the chance line.")


def model_result(name: str, y: np.ndarray, score: np.ndarray, folds: np.ndarray,
                 protocol: Protocol) -> ModelResult:
    """One model on every case of the subset (Table 4 row, pooled ROC, band, AUC CIs)."""
    st = protocol.statistics
    label = arch_label(name)
    with about(f"Model {label}"):
        _check_ties(score)
        summary = stats.fold_summary(y, score, folds, threshold=st.threshold, ddof=st.sd_ddof)
        return ModelResult(
            name=name, label=label, scores=score, summary=summary,
            roc=stats.roc_curve(y, score), band=fold_band(y, score, folds, ddof=st.sd_ddof),
            delong=stats.delong_auc(y, score, ci_level=st.ci_level),
            bootstrap=stats.bootstrap_ci("auc", y, score, n_resamples=st.bootstrap_resamples,
                                         seed=st.bootstrap_seed, ci_level=st.ci_level))


def reader_label(s: SessionReads) -> str:
    """The reader's display name, ``(sim)`` / ``(dry run)`` appended."""
    return s.reader + (" (sim)" if s.simulated else " (dry run)" if s.dry_run else "")


def reader_result(s: SessionReads, yp: np.ndarray, photo_ids: np.ndarray,
                  missing: tuple[str, ...], protocol: Protocol) -> ReaderResult:
    """One reader on the paired cases (ratings, yes/no reads, their ROCs and CIs)."""
    st = protocol.statistics
    label = reader_label(s)
    ratings = np.array([s.ratings[int(p)] for p in photo_ids], dtype=float)
    binary = np.array([s.binary[int(p)] for p in photo_ids], dtype=bool)
    levels = np.arange(1, len(protocol.reading.scale) + 1)
    with about(f"Reader {s.reader!r}"):
        _check_ties(ratings)
        counts = (int((binary & yp).sum()), int((binary & ~yp).sum()),
                  int((~binary & ~yp).sum()), int((~binary & yp).sum()))
        props = {m: wilson_interval(*count(*counts), ci_level=st.ci_level)
                 for m, count in PROPORTIONS.items()}
        return ReaderResult(
            name=s.reader, label=label, role=s.role, kind=s.kind, session_id=s.session_id,
            order_seed=s.order_seed, simulated=s.simulated, ratings=ratings, binary=binary,
            missing=missing, rating_roc=stats.rating_roc(yp, ratings, levels=levels),
            binary_roc=stats.binary_read_roc(yp, binary),
            delong=stats.delong_auc(yp, ratings, ci_level=st.ci_level),
            bootstrap=stats.bootstrap_ci("auc", yp, ratings,
                                         n_resamples=st.bootstrap_resamples,
                                         seed=st.bootstrap_seed, ci_level=st.ci_level),
            proportions=props)


def pair_test(y: np.ndarray, a: Any, b: Any, score_a: np.ndarray, score_b: np.ndarray,
              ci_level: float) -> stats.DelongTest:
    """DeLong test of ``a`` (a model) against ``b`` (a model or reader), warnings named."""
    with about(f"DeLong {a.label} vs. {b.label}"):
        return stats.delong_test(y, score_a, score_b, ci_level=ci_level)


def holm_family(pairs: tuple[PairTest, ...]) -> tuple[PairTest, ...]:
    """The tests with their p-values Holm-adjusted over the family they form."""
    if not pairs:
        return pairs
    adjusted = holm([p.test.p_value for p in pairs]).p_adjusted
    return tuple(PairTest(p.a, p.b, p.n_cases, p.test, p_holm=float(q))
                 for p, q in zip(pairs, adjusted, strict=True))


def mrmc(yp: np.ndarray, models: Sequence[ModelResult], readers: Sequence[ReaderResult],
         paired: np.ndarray, ci_level: float) -> MrmcResults:
    """OR/Hillis analyses: the readers' average AUCs, and each model against the readers."""
    names = [r.name for r in readers]
    ratings = np.vstack([r.ratings for r in readers])
    binary = np.vstack([r.binary for r in readers]).astype(float)
    with about("MRMC readers' average AUC"):
        rating = stats.reader_average_auc(yp, ratings, cov=MRMC_COV, ci_level=ci_level,
                                          name="readers (ratings)", reader_names=names)
        yes_no = stats.reader_average_auc(yp, binary, cov=MRMC_COV, ci_level=ci_level,
                                          name="readers (binary reads)", reader_names=names)
    per_model = []
    for m in models:
        with about(f"MRMC {m.label} vs. readers"):
            per_model.append((m.name, stats.model_vs_readers(
                yp, m.scores[paired], ratings, cov=MRMC_COV, ci_level=ci_level,
                reader_names=names)))
    adjusted = holm([r.p_value for _, r in per_model]).p_adjusted
    return MrmcResults(readers_rating=rating, readers_binary=yes_no, models=tuple(per_model),
                       cov_method=MRMC_COV, p_holm=tuple(float(q) for q in adjusted))


def paired_reference(models: Sequence[ModelResult], y: np.ndarray,
                     paired: np.ndarray) -> ModelRoc | None:
    """The ensemble (else the first model) on the paired cases, for the readers' panel."""
    if not models or paired.size == 0:
        return None
    ref = next((m for m in models if m.name == MODEL_ENSEMBLE), models[0])
    roc = stats.roc_curve(y[paired], ref.scores[paired])
    return ModelRoc(ref.name, ref.label, roc.auc, roc.fpr, roc.tpr, None,
                    ref.name == MODEL_ENSEMBLE)
