"""The training runs of a comparison and their settings, as one table for every renderer.

:func:`runs_table` lays out the run(s) a :class:`~wbsdesk.services.analysis_results.Comparison`
holds (one, or several from :func:`~wbsdesk.services.analysis_runs.build_runs_comparison`)
beside the protocol's training settings, so a researcher comparing runs sees what each was
trained with: its input size, batch size, learning rate and schedule, epochs, momentum and
weight decay, and which of them the run changed from the protocol (``wbsdesk train
--input-px ...``). The report (HTML, PDF, ``runs.csv``) and ``report --json`` show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wbsdesk.core.architectures import arch_labels
from wbsdesk.core.result_table import Column, ResultTable
from wbsdesk.core.training_request import setting_changes

if TYPE_CHECKING:
    from wbsdesk.services.analysis_results import Comparison

__all__ = ["RUNS_CSV", "runs_caption", "runs_table"]

#: The file the report writes the table to.
RUNS_CSV = "runs.csv"

_COLUMNS = (("input_px", "Input", "px", "count"), ("batch_size", "Batch size", "photos", "count"),
            ("lr", "Learning rate", "", "text"), ("lr_schedule", "Schedule", "", "text"),
            ("epochs", "Epochs", "epochs", "count"), ("momentum", "Momentum", "", "text"),
            ("weight_decay", "Weight decay", "", "text"))


def _cell(kind: str, value: Any) -> Any:
    """Counts as they are; other settings as text, numbers as ``%g`` (exact, unpadded)."""
    if kind == "count" or value is None:
        return value
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def runs_table(c: Comparison) -> ResultTable:
    """The protocol's training settings, then each run's, and what each run changed.

    Parameters
    ----------
    c : Comparison

    Returns
    -------
    ResultTable
        Named ``runs``: one row for the protocol, one per run (name, status,
        architectures, settings, and the settings it changed as "batch size 8 (protocol
        16)").
    """
    from wbsdesk.services.analysis_runs import run_settings_of, runs_of

    t = c.protocol.training
    cols = (Column("run", "Run", kind="text"), Column("status", "Status", kind="text"),
            Column("architectures", "Architectures", kind="text"),
            *[Column(k, title, unit, kind) for k, title, unit, kind in _COLUMNS],
            Column("changed", "Changed from the protocol", kind="text"))
    rows: list[tuple[Any, ...]] = [
        (f"protocol {c.protocol.name}", "", arch_labels(t.architectures),
         *[_cell(kind, getattr(t, k)) for k, _, _, kind in _COLUMNS], "")]
    for run in runs_of(c):
        s = run_settings_of(run, t)
        values = s["values"]
        rows.append((run.name, run.status, arch_labels(run.archs),
                     *[_cell(kind, values.get(k)) for k, _, _, kind in _COLUMNS],
                     setting_changes(values, s["protocol"]) or "none"))
    several = len(rows) > 2
    notes = ["A run trains with the protocol's settings except those given for it "
             "('wbsdesk train NAME --input-px 64 --batch-size 8 ...', or the Training "
             "set-up); they are recorded with the run."]
    if several:
        notes.append("The runs' models are shown 'architecture · run'; the ensemble across "
                     "runs is the mean of the runs' ensembles (each the mean of its "
                     "architectures' out-of-fold probabilities), on the same photos and "
                     "folds.")
    return ResultTable.build(
        "runs", "Training runs compared, and their settings" if several
        else "Training run and its settings", cols, rows, notes, short_title="Runs")


def runs_caption(c: Comparison) -> str:
    """What the figure's caption adds for several runs ('' for one run)."""
    if len(c.runs) < 2:
        return ""
    names = ", ".join(r.name for r in c.runs)
    return (f" Several runs ({names}): each run's curves are labelled by run, the first "
            "run's in its architectures' colours and later runs' in darker or lighter shades "
            "of them; a run's own ensemble is grey, and the black ensemble is the ensemble "
            "across runs (the mean of the runs' ensembles).")
