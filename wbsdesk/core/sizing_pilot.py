"""Where a study plan's variance components come from: pilot reads, typed values, a typical set.

Two designs are sized with the same formulas (:mod:`wbsdesk.core.sizing`):

* ``"aided"`` -- unaided vs. aided: the same readers read the same cases in two modalities.
  The OR components are those of :func:`wbsdesk.core.mrmc.mrmc_test` on the pilot, with
  ``var_TR = MS(T*R) - Var + Cov1 + max(Cov2 - Cov3, 0)`` (Hillis et al. 2011, eq. 9; a
  negative estimate is set to 0).
* ``"readers-vs-model"`` -- the readers' average AUC against one model's AUC on the same
  cases (the 1T-RRRC analysis of :func:`wbsdesk.core.mrmc_single.model_vs_readers`). The
  model is a "reader" without reader variance: the design is the two-modality OR design in
  which the second modality is the model, read identically by every reader, so the test of
  :func:`~wbsdesk.core.mrmc_single.model_vs_readers` equals the two-modality OR/Hillis test
  on (readers, model repeated J times) -- same F, ddf and p (Hillis 2007, section 5.3;
  RJafroc's note on "1T-RRRC"; checked in ``tests/core/test_mrmc.py``). In terms of the
  differences ``psi_j = theta_j - theta_model`` the single-modality test has::

      E[den] = sigma2_psi + s V_psi + (J - 1) s max(C_psi, 0),   lambda = J d^2 / E[den]
      E[MS(R)] = sigma2_psi + s (V_psi - max(C_psi, 0)),   ddf = E[den]^2 (J - 1) / E[MS(R)]^2

  with ``sigma2_psi = 2 var_TR``, ``V_psi = 2 (Var - Cov1)``, ``C_psi = 2 (Cov2 - Cov3)`` and
  ``s = K*/K``: exactly the two-modality formulas. The pilot's components are therefore
  estimated by :func:`~wbsdesk.core.mrmc.mrmc_test` on (readers, model x J). The model's
  own case-sampling variance counts (it is scored on the same cases, as in the analysis).

The effect size defaults to the pilot's observed difference: aided minus unaided, or the
readers' mean AUC minus the model's (RJafroc's sign: negative when the model is better).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from wbsdesk.core._checks import as_truth
from wbsdesk.core.mrmc import CovMethod, mrmc_test
from wbsdesk.core.sizing import VarianceComponents
from wbsdesk.errors import UserError

__all__ = ["DESIGNS", "TYPICAL", "Design", "Pilot", "pilot_from_modalities",
           "pilot_model_vs_readers", "typed_pilot", "typical_pilot"]

Design = Literal["aided", "readers-vs-model"]
#: Design names and what they compare.
DESIGNS: dict[str, str] = {
    "aided": "unaided vs. aided reading (two modalities)",
    "readers-vs-model": "readers vs. the model",
}


@dataclass(frozen=True)
class Pilot:
    """Variance components to plan with, their source and the pilot's observed effect.

    Attributes
    ----------
    components : VarianceComponents
    design : {"aided", "readers-vs-model"}
    source : str
        Where the components come from, in words.
    effect : float or None
        Observed difference (aided - unaided, or readers - model); None when typed.
    readers, positives, controls : int or None
        The pilot's readers and its cases by class (None when unknown).
    var_tr_estimate : float or None
        The raw var_TR estimate (may be negative; ``components.var_tr`` is >= 0).
    aucs : dict of str to float
        Reader-averaged AUC of each modality (or the readers and the model).
    cov_method : str or None
        ``"jackknife"`` or ``"delong"`` for pilot reads.
    reference : str or None
        Published source of a typical set.
    notes : tuple of str
    """

    components: VarianceComponents
    design: str
    source: str
    effect: float | None = None
    readers: int | None = None
    positives: int | None = None
    controls: int | None = None
    var_tr_estimate: float | None = None
    aucs: dict[str, float] = field(default_factory=dict)
    cov_method: str | None = None
    reference: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"design": self.design, "source": self.source,
                "components": self.components.to_dict(), "observed_effect": self.effect,
                "readers": self.readers, "positives": self.positives,
                "controls": self.controls, "var_tr_estimate": self.var_tr_estimate,
                "aucs": dict(self.aucs), "cov_method": self.cov_method,
                "reference": self.reference, "notes": list(self.notes)}


def _design(design: str) -> str:
    if design not in DESIGNS:
        raise UserError(f"Unknown design {design!r}.", hint=f"Choose {' or '.join(DESIGNS)}.")
    return design


def _from_test(y: np.ndarray, scores: np.ndarray, cov: CovMethod, names: Sequence[str],
               reader_names: Sequence[str] | None) -> tuple[VarianceComponents, float, float,
                                                           np.ndarray, list[str]]:
    res = mrmc_test(y, scores, cov=cov, modality_names=names, reader_names=reader_names)
    c = res.components
    raw = c.ms_tr - c.var + c.cov1 + max(c.cov2 - c.cov3, 0.0)
    notes = []
    if raw < 0:
        notes.append(f"The pilot's var_TR estimate is negative ({raw:.3g}); it is set to 0 "
                     "(Hillis et al. 2011), so more cases can always raise the power.")
    comp = VarianceComponents(var_tr=max(raw, 0.0), cov1=c.cov1, cov2=c.cov2, cov3=c.cov3,
                              var_error=c.var, pilot_cases=int(y.size))
    means = res.aucs.mean(axis=1)
    return comp, raw, float(means[1] - means[0]), means, notes


def _check_pilot_readers(n: int) -> None:
    if n < 2:
        raise UserError(f"Pilot reads come from {n} reader(s); estimating the reader "
                        "variance needs at least 2.",
                        hint="Add readers to the pilot, or type the variance components.")


def pilot_from_modalities(y_true: Any, unaided: Any, aided: Any, *,
                          cov: CovMethod = "jackknife", source: str = "pilot reads",
                          reader_names: Sequence[str] | None = None) -> Pilot:
    """OR components of an unaided vs. aided pilot (the same readers and cases in both).

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
    unaided, aided : array-like of shape (r, n_cases)
        Every reader's scores (ratings) without and with the aid; r >= 2.
    cov : {"jackknife", "delong"}, default "jackknife"
    source : str
        Description kept with the pilot.
    reader_names : sequence of str, optional

    Returns
    -------
    Pilot
        ``effect`` is the observed aided minus unaided reader-averaged AUC.
    """
    y = as_truth(y_true)
    a, b = np.asarray(unaided, dtype=float), np.asarray(aided, dtype=float)
    if a.ndim != 2 or a.shape != b.shape:
        raise UserError(f"Unaided and aided scores must both have shape (readers, cases); "
                        f"got {a.shape} and {b.shape}.")
    _check_pilot_readers(a.shape[0])
    comp, raw, diff, means, notes = _from_test(y, np.stack([a, b]), cov,
                                               ("unaided", "aided"), reader_names)
    return Pilot(components=comp, design="aided", source=source, effect=diff,
                 readers=a.shape[0], positives=int(y.sum()), controls=int((~y).sum()),
                 var_tr_estimate=raw, aucs={"unaided": float(means[0]),
                                            "aided": float(means[1])},
                 cov_method=cov, notes=tuple(notes))


def pilot_model_vs_readers(y_true: Any, model_score: Any, reader_scores: Any, *,
                           cov: CovMethod = "jackknife", source: str = "pilot reads",
                           model_name: str = "model",
                           reader_names: Sequence[str] | None = None) -> Pilot:
    """OR components of a readers vs. model pilot (see the module notes).

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
    model_score : array-like of shape (n_cases,)
    reader_scores : array-like of shape (r, n_cases)
        r >= 2 readers' ratings of the same cases.
    cov : {"jackknife", "delong"}, default "jackknife"
    source, model_name : str
    reader_names : sequence of str, optional

    Returns
    -------
    Pilot
        ``effect`` is the readers' mean AUC minus the model's AUC.
    """
    y = as_truth(y_true)
    s = np.asarray(reader_scores, dtype=float)
    m = np.asarray(model_score, dtype=float)
    if s.ndim != 2 or m.shape != (s.shape[-1],):
        raise UserError(f"Reader scores must have shape (readers, cases) and the model's "
                        f"(cases,); got {s.shape} and {m.shape}.")
    _check_pilot_readers(s.shape[0])
    stacked = np.stack([np.broadcast_to(m, s.shape), s])
    comp, raw, diff, means, notes = _from_test(y, stacked, cov, (model_name, "readers"),
                                               reader_names)
    return Pilot(components=comp, design="readers-vs-model", source=source, effect=diff,
                 readers=s.shape[0], positives=int(y.sum()), controls=int((~y).sum()),
                 var_tr_estimate=raw, aucs={"readers": float(means[1]),
                                            model_name: float(means[0])},
                 cov_method=cov, notes=tuple(notes))


def typed_pilot(*, var_tr: float, cov1: float, cov2: float, cov3: float, var_error: float,
                pilot_cases: int, design: Design = "aided") -> Pilot:
    """Components typed in by the user (validated by :class:`VarianceComponents`)."""
    comp = VarianceComponents(var_tr=var_tr, cov1=cov1, cov2=cov2, cov3=cov3,
                              var_error=var_error, pilot_cases=pilot_cases)
    return Pilot(components=comp, design=_design(design), source="typed variance components")


#: Built-in 'typical' sets: name -> (components, observed effect, readers, positives,
#: controls, description, reference).
TYPICAL: dict[str, tuple[VarianceComponents, float, int, int, int, str, str]] = {
    "van-dyke-1993": (
        # From the published ratings (tests/data/van_dyke_1993.imrmc) with mrmc_test
        # (jackknife); rounded to 8 decimals they are the published values.
        VarianceComponents(var_tr=2.0040252358146e-4, cov1=3.46613709440733e-4,
                           cov2=3.44074828860889e-4, cov3=2.39028370892154e-4,
                           var_error=8.02288265572066e-4, pilot_cases=114),
        0.0438003220611917, 5, 45, 69,
        "Van Dyke et al. (1993): spin-echo vs. cine MRI for aortic dissection, 5 radiologists "
        "x 114 cases (45 with, 69 without), 5-level ratings, empirical AUC, jackknife",
        "Van Dyke CW, White RD, Obuchowski NA, Geisinger MA, Lorig RJ, Meziane MA (1993). "
        "Cine MRI in the diagnosis of thoracic aortic dissection. 79th RSNA Meeting, "
        "Chicago. OR components (jackknife) as published by OR-DBM MRMC 2.51 (Schartz, "
        "Hillis, Pesce, Berbaum) for these data, which RJafroc's sample-size vignettes use "
        "as their pilot (dataset02)."),
}


def typical_pilot(name: str = "van-dyke-1993", *, design: Design = "aided") -> Pilot:
    """A built-in, published set of OR components (see :data:`TYPICAL`).

    The Van Dyke set is a radiology reader study, not facial photographs: it shows the
    usual size of MRMC variance components when no pilot of one's own exists yet.
    """
    if name not in TYPICAL:
        raise UserError(f"Unknown typical set {name!r}.",
                        hint=f"Choose one of: {', '.join(TYPICAL)}.")
    comp, effect, readers, pos, neg, what, ref = TYPICAL[name]
    return Pilot(components=comp, design=_design(design), source=f"typical set {name}: {what}",
                 effect=effect, readers=readers, positives=pos, controls=neg,
                 var_tr_estimate=comp.var_tr, reference=ref)
