"""Liu et al. (2021), Front. Pediatr. 9:648255 -- Table 5 rebuilt from confusion counts.

104 WBS patients (positives) and 236 controls were read by four physicians. Searching all
tp in 0..104 and fp in 0..236 finds exactly one (tp, fp) per row that reproduces all five
printed values (Accuracy, Precision, Recall, F1, AUC = (sens + spec) / 2, in %, 1 decimal):

    Pediatric cardiologist 1: tp 89, fp 46  (fn 15, tn 190)
    Pediatric cardiologist 2: tp 71, fp 52  (fn 33, tn 184)
    Pediatrician 1:           tp 57, fp 67  (fn 47, tn 169)
    Pediatrician 2:           tp 61, fp 42  (fn 43, tn 194)

The paper's "Average" row (74.6, 57.2, 66.8, 61.5, 72.4) is the arithmetic mean of the
readers' unrounded values (74.63, 57.21, 66.83, 61.49, 72.45); it is also consistent with
the mean F1 (not the F1 of the mean precision and recall, 61.6).
"""

from __future__ import annotations

import numpy as np
import pytest

from wbsdesk.core.metrics import ConfusionMetrics, reader_table
from wbsdesk.core.roc import binary_read_roc

N_POS, N_NEG = 104, 236

TABLE5 = {
    "Pediatric cardiologist 1": ("82.1", "65.9", "85.6", "74.5", "83.0"),
    "Pediatric cardiologist 2": ("75.0", "57.7", "68.3", "62.6", "73.1"),
    "Pediatrician 1": ("66.5", "46.0", "54.8", "50.0", "63.2"),
    "Pediatrician 2": ("75.0", "59.2", "58.7", "58.9", "70.4"),
}
AVERAGE = ("74.6", "57.2", "66.8", "61.5", "72.4")
COUNTS = {  # (tp, fp), found by test_counts_are_the_unique_solutions
    "Pediatric cardiologist 1": (89, 46),
    "Pediatric cardiologist 2": (71, 52),
    "Pediatrician 1": (57, 67),
    "Pediatrician 2": (61, 42),
}


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def row_from_counts(tp: int, fp: int) -> tuple[str, ...]:
    m = ConfusionMetrics.from_counts(tp, fp, N_NEG - fp, N_POS - tp)
    return tuple(pct(v) for v in (m.accuracy, m.precision, m.recall, m.f1, m.binary_auc))


def reads_from_counts(tp: int, fp: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.r_[np.ones(N_POS, int), np.zeros(N_NEG, int)]
    calls = np.r_[np.ones(tp, int), np.zeros(N_POS - tp, int),
                  np.ones(fp, int), np.zeros(N_NEG - fp, int)]
    return y, calls


def all_solutions(row: tuple[str, ...]) -> list[tuple[int, int]]:
    """Vectorised search of every (tp, fp) with the same five printed values."""
    tp, fp = np.meshgrid(np.arange(N_POS + 1), np.arange(N_NEG + 1), indexing="ij")
    tn, fn = N_NEG - fp, N_POS - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        values = [(tp + tn) / (N_POS + N_NEG), tp / (tp + fp), tp / N_POS,
                  2 * tp / (2 * tp + fp + fn), (tp / N_POS + tn / N_NEG) / 2]
    target = [float(v) for v in row]
    ok = np.ones(tp.shape, bool)
    for v, want in zip(values, target, strict=True):
        ok &= np.abs(100 * v - want) < 0.05 + 1e-9  # coarse pre-filter on the rounding band
    # confirm candidates with the exact formatting used for the paper's values
    return [(int(a), int(b)) for a, b in zip(tp[ok], fp[ok], strict=True)
            if a + b > 0 and row_from_counts(int(a), int(b)) == row]


@pytest.mark.parametrize("reader", list(TABLE5))
def test_counts_are_the_unique_solutions(reader):
    assert all_solutions(TABLE5[reader]) == [COUNTS[reader]]


@pytest.mark.parametrize("reader", list(TABLE5))
def test_rows_rebuilt_from_counts(reader):
    tp, fp = COUNTS[reader]
    assert row_from_counts(tp, fp) == TABLE5[reader]
    y, calls = reads_from_counts(tp, fp)
    roc = binary_read_roc(y, calls)
    assert pct(roc.auc) == TABLE5[reader][4]
    assert roc.tpr[1] == tp / N_POS and roc.fpr[1] == fp / N_NEG


def test_reader_table_reproduces_table5_including_average():
    y = np.r_[np.ones(N_POS, int), np.zeros(N_NEG, int)]
    reads = {name: reads_from_counts(*COUNTS[name])[1] for name in TABLE5}
    table = reader_table(y, reads)
    for row in table.rows:
        got = tuple(pct(row.value(m)) for m in ("accuracy", "precision", "recall", "f1", "auc"))
        assert got == TABLE5[row.name]
    avg = table.average
    got = tuple(pct(avg.value(m)) for m in ("accuracy", "precision", "recall", "f1", "auc"))
    assert got == AVERAGE
    assert [round(100 * avg.value(m), 2) for m in ("accuracy", "precision", "recall", "f1",
                                                     "auc")] == [74.63, 57.21, 66.83, 61.49,
                                                                 72.45]


def test_average_row_is_not_the_mean_of_rounded_values():
    """Averaging the printed (rounded) rows gives 74.65 and 66.85 for accuracy and recall,
    which conventional half-up rounding prints as 74.7 and 66.9, not the paper's 74.6/66.8;
    the F1 of the mean precision and recall (61.6) is not the paper's 61.5 either."""
    rounded = np.array([[float(v) for v in row] for row in TABLE5.values()])
    means = rounded.mean(axis=0)
    assert means[0] == pytest.approx(74.65) and means[2] == pytest.approx(66.85)
    assert round(means[0] + 1e-9, 1) == 74.7 and round(means[2] + 1e-9, 1) == 66.9
    y = np.r_[np.ones(N_POS, int), np.zeros(N_NEG, int)]
    table = reader_table(y, {n: reads_from_counts(*COUNTS[n])[1] for n in TABLE5})
    p, r = table.average.precision, table.average.recall
    assert pct(2 * p * r / (p + r)) == "61.6"
