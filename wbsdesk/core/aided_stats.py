"""Statistics of an unaided-vs-aided reader study (pure numpy; the MRMC test is core.mrmc).

* :func:`proportion_scores`: sensitivity and specificity as AUC-type figures of merit, so
  that the Obuchowski–Rockette/Hillis test of :func:`wbsdesk.core.mrmc.mrmc_test` (which
  estimates the covariance of any such figure over cases by the jackknife) compares them
  between modalities as it compares AUCs.
* :func:`change_table`: the reads that changed after the aid, by whether the model was
  right, towards or away from the truth (automation bias).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core._checks import as_truth


def proportion_scores(y_true: Any, binary: Any, *, measure: str) -> np.ndarray:
    """Scores whose empirical AUC is the sensitivity (or specificity) of binary reads.

    For the sensitivity, every negative case gets 0.5 and each positive case its call
    (1 positive, 0 negative): ``AUC = P(score_pos > 0.5) = TP / P``. For the specificity,
    positive cases get 0.5 and negative cases their call: ``AUC = P(0.5 > call_neg) =
    TN / N``. A case of the other class then adds nothing to the jackknife, so the
    covariance is that of the proportion over its own class.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
    binary : array-like of shape (..., n_cases)
        0/1 calls (1 = positive).
    measure : {"sensitivity", "specificity"}, keyword-only

    Returns
    -------
    ndarray of the shape of ``binary``

    Examples
    --------
    >>> from wbsdesk.core.roc import auc_score as auc
    >>> y = [1, 1, 1, 1, 0, 0, 0]
    >>> calls = [1, 1, 0, 1, 0, 1, 0]
    >>> float(auc(y, proportion_scores(y, calls, measure="sensitivity")))
    0.75
    >>> round(float(auc(y, proportion_scores(y, calls, measure="specificity"))), 4)
    0.6667
    """
    y = as_truth(y_true)
    b = np.asarray(binary, dtype=float)
    if b.shape[-1] != y.size:
        raise ValueError(f"binary has {b.shape[-1]} cases, y_true {y.size}")
    if measure == "sensitivity":
        return np.where(y, b, 0.5)
    if measure == "specificity":
        return np.where(y, 0.5, b)
    raise ValueError(f"unknown measure {measure!r}")


@dataclass(frozen=True)
class ChangeTable:
    """Reads that changed after the aid, cross-tabulated by the model's call.

    ``toward``/``away`` count rating changes towards or away from the truth, split by
    whether the model's call was right (``*_right``) or wrong (``*_wrong``);
    ``followed_wrong`` counts changes towards a wrong model's call (they are all away from
    the truth). ``flips_*`` count changed binary decisions: to the correct call, to the
    wrong one, and to a wrong model's call.
    """

    reads: int
    changed: int
    toward_right: int
    away_right: int
    toward_wrong: int
    away_wrong: int
    followed_wrong: int
    toward_model: int
    model_right_reads: int
    model_wrong_reads: int
    flips: int
    flips_to_correct: int
    flips_to_wrong: int
    flips_followed_wrong: int


def change_table(y_true: Any, unaided: Any, aided: Any, model_positive: Any, *,
                 unaided_binary: Any, aided_binary: Any) -> ChangeTable:
    """Cross-tabulate changed reads (automation bias).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Truth of each read's case.
    unaided, aided : array-like of shape (n,)
        The same reader's ratings of the case without and with the aid.
    model_positive : array-like of shape (n,)
        The model's call on the case (score at or above the threshold).
    unaided_binary, aided_binary : array-like of shape (n,), keyword-only
        The binary reads.

    Returns
    -------
    ChangeTable

    Examples
    --------
    >>> t = change_table([1, 1, 0, 0], [2, 4, 2, 3], [4, 4, 4, 2], [1, 0, 1, 0],
    ...                  unaided_binary=[0, 1, 0, 0], aided_binary=[1, 1, 1, 0])
    >>> (t.changed, t.toward_right, t.away_wrong, t.followed_wrong, t.flips_to_wrong)
    (3, 2, 1, 1, 1)
    """
    y = as_truth(y_true)
    u = np.asarray(unaided, dtype=float)
    a = np.asarray(aided, dtype=float)
    m = np.asarray(model_positive, dtype=bool)
    ub = np.asarray(unaided_binary, dtype=bool)
    ab = np.asarray(aided_binary, dtype=bool)
    delta = a - u
    changed = delta != 0
    toward_truth = np.where(y, delta > 0, delta < 0)
    right = m == y
    toward_model = np.where(m, delta > 0, delta < 0)
    flip = ub != ab
    return ChangeTable(
        reads=int(y.size), changed=int(changed.sum()),
        toward_right=int((changed & toward_truth & right).sum()),
        away_right=int((changed & ~toward_truth & right).sum()),
        toward_wrong=int((changed & toward_truth & ~right).sum()),
        away_wrong=int((changed & ~toward_truth & ~right).sum()),
        followed_wrong=int((changed & toward_model & ~right).sum()),
        toward_model=int((changed & toward_model).sum()),
        model_right_reads=int(right.sum()), model_wrong_reads=int((~right).sum()),
        flips=int(flip.sum()), flips_to_correct=int((flip & (ab == y)).sum()),
        flips_to_wrong=int((flip & (ab != y)).sum()),
        flips_followed_wrong=int((flip & (ab == m) & ~right).sum()))
