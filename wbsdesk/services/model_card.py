"""A model card of a run's CNNs: Markdown with YAML front matter (for a bundle).

:func:`model_card` writes, from a computed comparison and the run's training settings:
the intended use (research only; not for diagnosis), the data (groups, counts, whether the
photos are synthetic), the training settings, the evaluation (each model's pooled
out-of-fold AUC with DeLong and bootstrap CIs, its mean ± SD fold metrics, and the MRMC
comparison with the readers when it ran), subgroup AUCs when they were computed
(:mod:`wbsdesk.services.audit`), and the limitations. The YAML front matter holds the same
key facts as data; strings are written as JSON strings, which YAML reads as they are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wbsdesk.core.architectures import arch_label
from wbsdesk.services.methods_text import RunSettings

if TYPE_CHECKING:
    from wbsdesk.core.subgroups import SubgroupAuc
    from wbsdesk.services.analysis_results import Comparison

__all__ = ["model_card", "yaml_front_matter"]


def _yaml(value: Any, indent: int = 0) -> list[str]:
    """Lines of a YAML block for plain data (mappings, lists, scalars)."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(v, Mapping | list | tuple) and v:
                out.append(f"{pad}{k}:")
                out.extend(_yaml(v, indent + 2))
            else:
                out.append(f"{pad}{k}: {_scalar(v)}")
    else:
        for v in value:
            if isinstance(v, Mapping | list | tuple) and v:
                inner = _yaml(v, indent + 2)
                out.append(f"{pad}- {inner[0].lstrip()}")
                out.extend(inner[1:])
            else:
                out.append(f"{pad}- {_scalar(v)}")
    return out


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return ".nan" if math.isnan(v) else repr(v)
    if isinstance(v, Mapping):
        return "{}"
    if isinstance(v, list | tuple):
        return "[]"
    return json.dumps(str(v), ensure_ascii=False)


def yaml_front_matter(data: Mapping[str, Any]) -> str:
    """``---``, ``data`` as YAML, ``---`` (strings as JSON strings, which YAML reads).

    Examples
    --------
    >>> print(yaml_front_matter({"intended_use": "research only", "archs": ["a", "b"]}))
    ---
    intended_use: "research only"
    archs:
      - "a"
      - "b"
    ---
    """
    return "\n".join(["---", *_yaml(data), "---"])


def _f(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _ci(lo: float, hi: float) -> str:
    return f"{_f(lo)}–{_f(hi)}" if not (math.isnan(lo) or math.isnan(hi)) else "n/a"


def _pct(mean: float, sd: float) -> str:
    return "n/a" if math.isnan(mean) else f"{100 * mean:.1f} ± {100 * sd:.1f}"


def _front(c: Comparison, run: RunSettings, subgroups_computed: bool) -> dict[str, Any]:
    g = c.protocol.groups
    level = c.protocol.statistics.ci_level
    return {
        "model": f"CNN classifiers of run {run.name} (study {c.study})",
        "architectures": [m.label for m in c.models],
        "task": f"{g.label(c.positive)} vs. {' + '.join(g.label(x) for x in c.control_groups)}"
                " from a frontal face photograph",
        "intended_use": "research only",
        "not_intended_for": "diagnosis, screening, triage or any clinical decision",
        "data": {"cases": int(c.counts["cases"]),
                 "per_group": {k: int(v) for k, v in c.counts["per_group"].items()},
                 "synthetic": bool(c.synthetic)},
        "training": {"init": run.init, "epochs": run.epochs, "batch_size": run.batch_size,
                     "lr": run.lr, "momentum": run.momentum, "weight_decay": run.weight_decay,
                     "lr_schedule": run.lr_schedule, "input_px": run.input_px,
                     "seed": run.seed, "status": run.status},
        "evaluation": {
            "design": f"{c.k}-fold cross-validation, out-of-fold probabilities",
            "ci_level": level,
            "auc": {m.label: {"auc": float(m.roc.auc), "delong_ci": [m.delong.ci_low,
                                                                     m.delong.ci_high],
                              "bootstrap_ci": [m.bootstrap.ci_low, m.bootstrap.ci_high]}
                    for m in c.models},
            "readers": {"physician": sum(r.kind == "physician" for r in c.readers),
                        "simulated": sum(r.kind == "simulated" for r in c.readers),
                        "dry_run": sum(r.kind == "dry run" for r in c.readers)}},
        "subgroup_results": "computed" if subgroups_computed else "not computed",
    }


def _evaluation(c: Comparison) -> list[str]:
    level = f"{100 * c.protocol.statistics.ci_level:g}%"
    out = ["## Evaluation", "",
           f"Out-of-fold probabilities of {c.k}-fold cross-validation on {c.counts['cases']} "
           f"cases. Pooled AUC with {level} DeLong and bootstrap CIs; fold metrics at a "
           f"threshold of {c.protocol.statistics.threshold:g}, mean ± SD over folds (%).", "",
           f"| Model | AUC | {level} CI (DeLong) | {level} CI (bootstrap) | Accuracy % | "
           "Sensitivity % | Specificity % |", "|---|---|---|---|---|---|---|"]
    for m in c.models:
        s = m.summary
        out.append(f"| {m.label} | {_f(m.roc.auc)} | {_ci(m.delong.ci_low, m.delong.ci_high)}"
                   f" | {_ci(m.bootstrap.ci_low, m.bootstrap.ci_high)} | "
                   f"{_pct(s.mean['accuracy'], s.sd['accuracy'])} | "
                   f"{_pct(s.mean['recall'], s.sd['recall'])} | "
                   f"{_pct(s.mean['specificity'], s.sd['specificity'])} |")
    out.append("")
    if c.mrmc is not None:
        e = c.mrmc.readers_rating
        kinds = sorted({r.kind for r in c.readers})
        out.append(f"Readers ({len(c.readers)}; {', '.join(kinds)}): mean AUC of their ratings "
                   f"{_f(e.auc)} ({level} CI {_ci(e.ci_low, e.ci_high)}, Obuchowski–Rockette "
                   f"with Hillis df) on the {c.paired.size} photos every reader rated.")
        for name, r in c.mrmc.models:
            label = next((m.label for m in c.models if m.name == name), name)
            out.append(f"- {label} − readers' mean: {_f(-r.readers_minus_model)} ({level} CI "
                       f"{_ci(-r.ci_high, -r.ci_low)}, p = {_f(r.p_value, 4)}).")
        if c.simulated_included:
            out.append("")
            out.append("**The readers include simulated readers (computer-generated ratings, "
                       "not physicians): these comparisons describe no human performance.**")
    elif c.readers:
        out.append(f"{len(c.readers)} reader: no MRMC comparison (it needs two or more).")
    else:
        out.append("No reader was included: no comparison with readers.")
    return [*out, ""]


def _subgroups(rows: Sequence[SubgroupAuc] | None) -> list[str]:
    out = ["## Subgroup results", ""]
    if rows is None:
        return [*out, "Not computed.", ""]
    if not rows:
        return [*out, "Computed, but no subgroup holds both classes.", ""]
    out += ["AUC within subgroups (DeLong CI); 'too small' and 'one class' subgroups are "
            "shown but not interpretable.", "",
            "| Model | Dimension | Subgroup | Positives | Controls | AUC | CI | Status |",
            "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r.scorer} | {r.dimension} | {r.subgroup} | {r.n_pos} | {r.n_neg} | "
                   f"{_f(r.auc)} | {_ci(r.ci_low, r.ci_high)} | {r.status} |")
    return [*out, ""]


def model_card(c: Comparison, run: RunSettings, *,
               subgroups: Sequence[SubgroupAuc] | None = None) -> str:
    """The model card of the run's models (Markdown with YAML front matter).

    Parameters
    ----------
    c : Comparison
        The computed comparison (its numbers are copied, none is recomputed).
    run : RunSettings
        The run's training settings.
    subgroups : sequence of SubgroupAuc, optional, keyword-only
        The models' AUCs within subgroups (``None``: not computed, and the card says so).

    Returns
    -------
    str
    """
    g = c.protocol.groups
    per = ", ".join(f"{g.label(k)} {v}" for k, v in c.counts["per_group"].items())
    synthetic = (" **The photographs are synthetic (computer-generated); no real person "
                 "appears, and no result describes a real population.**" if c.synthetic else "")
    init = ("ImageNet-pretrained weights" if run.init == "imagenet"
            else "random initialisation (no pretrained weights)")
    lines = [
        yaml_front_matter(_front(c, run, subgroups is not None)), "",
        f"# Model card: run {run.name} of study {c.study}", "",
        "## Intended use", "",
        "**Research only.** These models are not a medical device and are not for diagnosis, "
        "screening, triage or any clinical decision. They exist to compare CNNs with "
        f"readers on the photographs of this study ({g.label(c.positive)} vs. "
        f"{' + '.join(g.label(x) for x in c.control_groups)}).", "",
        "## Data", "",
        f"{c.counts['cases']} cases, one frontal face photograph per subject ({per}).{synthetic}"
        " Subject and photo identifiers in this bundle are pseudonyms.", "",
        "## Training", "",
        f"Architectures: {', '.join(arch_label(a) for a in run.archs)}"
        f"{'; ensemble = mean of their probabilities' if len(run.archs) > 1 else ''}. "
        f"Initialisation: {init}. SGD, learning rate {run.lr:g}, momentum {run.momentum:g}, "
        f"weight decay {run.weight_decay:g}, schedule {run.lr_schedule}, batch size "
        f"{run.batch_size}, {run.epochs} epoch(s), input {run.input_px} px, seed {run.seed}, "
        f"{run.copies} augmented view(s) per photo per epoch. One model per architecture and "
        f"fold ({c.k} folds); run status: {run.status}. See methods.md and run/run.json.", "",
        *_evaluation(c),
        *_subgroups(subgroups),
        "## Limitations", "",
        f"- Internal validation only ({c.k}-fold cross-validation on one study); no external "
        "test set. Performance elsewhere (other cameras, ages, ancestries, syndromes) is "
        "unknown.",
        f"- {c.counts['cases']} cases: the confidence intervals are wide; small differences "
        "between models or with readers are not shown to exist.",
        "- The fold models are not one final model: each case is scored by the model that "
        "did not see it in training.",
        "- Face photographs are identifying data; the photos are not in this bundle unless it "
        "was written with --with-crops.",
    ]
    if c.synthetic:
        lines.append("- The photographs are synthetic: the numbers test the software, not a "
                     "clinical question.")
    if c.simulated_included:
        lines.append("- Simulated readers are computer-generated: no comparison here "
                     "describes physicians.")
    return "\n".join(lines) + "\n"
