"""Predicting a batch of new photos with one run's fold models, loaded once.

``wbsdesk predict NAME a.jpg b.jpg ...`` loads (and verifies) every fold model of the run
once, then scores each photo as :func:`~wbsdesk.services.prediction.predict_photo` does.
Each result carries every fold model's probability and their spread beside the mean
(:func:`fold_spread`). A photo whose face is not found is reported and the batch goes on.
Research use only: a prediction is not a diagnosis.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.services.prediction import NoFaceError, PhotoPrediction, predict_photo
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run, stored_checkpoint_hashes
from wbsdesk.services.workspace import Workspace

__all__ = ["BatchItem", "FoldSpread", "fold_spread", "predict_photos"]


@dataclass(frozen=True)
class FoldSpread:
    """The fold models' probabilities of one model (architecture or ensemble): their mean,
    standard deviation (n - 1; 0 for one fold) and range."""

    mean: float
    sd: float
    low: float
    high: float
    folds: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain form (``--json``)."""
        return {"mean": self.mean, "sd": self.sd, "min": self.low, "max": self.high,
                "folds": list(self.folds)}


def fold_spread(probs: Sequence[float]) -> FoldSpread:
    """Mean, SD and range of fold probabilities.

    Examples
    --------
    >>> s = fold_spread([0.2, 0.4, 0.6])
    >>> round(s.mean, 3), round(s.sd, 3), s.low, s.high
    (0.4, 0.2, 0.2, 0.6)
    """
    values = tuple(float(p) for p in probs)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return FoldSpread(mean=math.fsum(values) / len(values), sd=sd, low=min(values),
                      high=max(values), folds=values)


@dataclass(frozen=True)
class BatchItem:
    """One photo of a batch: its prediction and spreads, or why it has none."""

    photo: str
    prediction: PhotoPrediction | None
    spread: dict[str, FoldSpread]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain form (``--json``): the prediction's fields plus ``spread`` per model."""
        if self.prediction is None:
            return {"photo": self.photo, "error": self.error}
        out = self.prediction.to_dict()
        out["all_warnings"] = self.prediction.all_warnings()
        out["spread"] = {m: s.as_dict() for m, s in self.spread.items()}
        return out


def spreads(pred: PhotoPrediction) -> dict[str, FoldSpread]:
    """Per architecture and, when every architecture has the same folds, the ensemble
    (fold by fold: the mean of the architectures' fold-``k`` models)."""
    out = {a: fold_spread(v) for a, v in pred.per_fold.items() if v}
    folds = {tuple(pred.fold_numbers.get(a, ())) for a in pred.per_fold}
    if len(folds) == 1 and len(pred.per_fold) > 1:
        per_fold = list(zip(*pred.per_fold.values(), strict=True))
        out["ensemble"] = fold_spread([math.fsum(v) / len(v) for v in per_fold])
    return out


def predict_photos(ws: Workspace, name: str, photos: Sequence[Path], *,
                   run: str | None = None, device: str = "cpu",
                   age_months: float | None = None, progress: ProgressFn = no_progress,
                   cancel: CancelToken | None = None) -> list[BatchItem]:
    """Score several photos with every fold model of a run, loading the models once.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study whose run is used.
    photos : sequence of Path
    run : str, optional, keyword-only
        The run (default: the study's latest finished run).
    device : str, keyword-only
    age_months : float, optional, keyword-only
        The subjects' age (the same for every photo), checked against the study's.
    progress, cancel : keyword-only
        One report per photo.

    Returns
    -------
    list of BatchItem
        In the order of ``photos``; a photo without a detectable face has ``error`` set.
    """
    from wbsdesk.ml.infer import load_run_models

    cancel = cancel or CancelToken()
    row = get_run(ws, load_study(ws, name), run)
    progress(Progress(0, len(photos), "loading the fold models"))
    models = load_run_models(ws.root / row.run_dir, device=device,
                             stored_sha256=stored_checkpoint_hashes(ws, row))
    out = []
    for i, photo in enumerate(photos):
        cancel.raise_if_cancelled()
        try:
            pred = predict_photo(ws, name, Path(photo), run=row.name, device=device,
                                 age_months=age_months, models=models, cancel=cancel)
        except NoFaceError as exc:
            out.append(BatchItem(str(photo), None, {}, error=exc.message))
        else:
            out.append(BatchItem(str(photo), pred, spreads(pred)))
        progress(Progress(i + 1, len(photos), f"scored {i + 1} of {len(photos)} photos"))
    return out
