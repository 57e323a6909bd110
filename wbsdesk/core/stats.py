"""The statistics core in one namespace (pure numpy/scipy; no I/O).

Re-exports the public API of :mod:`~wbsdesk.core.metrics`, :mod:`~wbsdesk.core.roc`,
:mod:`~wbsdesk.core.subsets`, :mod:`~wbsdesk.core.delong`, :mod:`~wbsdesk.core.bootstrap`,
:mod:`~wbsdesk.core.mrmc` and :mod:`~wbsdesk.core.mrmc_single`.
"""

from __future__ import annotations

from wbsdesk.core.bootstrap import (
    VECTORISED_METRICS,
    BootstrapResult,
    bootstrap_ci,
    stratified_indices,
)
from wbsdesk.core.delong import (
    DelongAuc,
    DelongCovariance,
    DelongTest,
    delong_auc,
    delong_covariance,
    delong_test,
)
from wbsdesk.core.metrics import (
    METRIC_NAMES,
    ConfusionMetrics,
    FoldRow,
    FoldSummary,
    ReaderRow,
    ReaderTable,
    confusion_metrics,
    fold_summary,
    reader_table,
)
from wbsdesk.core.mrmc import (
    CovMethod,
    ModalityDifference,
    ModalityEstimate,
    MrmcResult,
    ORComponents,
    auc_covariance,
    jackknife_aucs,
    mrmc_test,
)
from wbsdesk.core.mrmc_single import ModelVsReaders, model_vs_readers, reader_average_auc
from wbsdesk.core.roc import RocCurve, auc_score, binary_read_roc, rating_roc, roc_curve
from wbsdesk.core.subsets import binary_truth, subset_mask

__all__ = [
    "METRIC_NAMES",
    "VECTORISED_METRICS",
    "BootstrapResult",
    "ConfusionMetrics",
    "CovMethod",
    "DelongAuc",
    "DelongCovariance",
    "DelongTest",
    "FoldRow",
    "FoldSummary",
    "ModalityDifference",
    "ModalityEstimate",
    "ModelVsReaders",
    "MrmcResult",
    "ORComponents",
    "ReaderRow",
    "ReaderTable",
    "RocCurve",
    "auc_covariance",
    "auc_score",
    "binary_read_roc",
    "binary_truth",
    "bootstrap_ci",
    "confusion_metrics",
    "delong_auc",
    "delong_covariance",
    "delong_test",
    "fold_summary",
    "jackknife_aucs",
    "model_vs_readers",
    "mrmc_test",
    "rating_roc",
    "reader_average_auc",
    "reader_table",
    "roc_curve",
    "stratified_indices",
    "subset_mask",
]
