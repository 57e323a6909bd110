"""The Methods section of a comparison, written from its protocol, run and readers.

:func:`methods_section` is a pure function: typed inputs (:class:`MethodsInput`) in, plain
paragraphs and the references they cite out (:class:`MethodsSection`). Nothing is said that
the inputs do not say: reading times are stated for physician readers only, simulated
readers are called computer-generated ratings, dry-run readers rehearsals, and an analysis
that did not run (MRMC with fewer than two readers, model vs. model with one model) is not
described as if it had.

Citations are written ``{cite:key}`` while the text is built and numbered in order of first
use (``[1]``, ``[2, 3]``), Vancouver style; the references list holds exactly the cited
works, in that order. :func:`methods_input` builds the inputs from a computed
:class:`~wbsdesk.services.analysis_results.Comparison`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wbsdesk.core.architectures import arch_label
from wbsdesk.core.heatmaps import GRAD_CAM, LAYER_CAM, MIN_CAM_SIDE
from wbsdesk.core.training_request import SETTING_FLAGS, setting_changes
from wbsdesk.services.methods_inputs import (
    Analyses,
    MethodsInput,
    ReaderInfo,
    RunSettings,
    methods_input,
)

if TYPE_CHECKING:
    from wbsdesk.services.analysis_results import Comparison

__all__ = ["REFERENCES", "Analyses", "MethodsInput", "MethodsSection", "ReaderInfo",
           "RunSettings", "methods_input", "methods_markup", "methods_section"]

#: Every work the Methods may cite, by key (full citations, Vancouver style).
REFERENCES: dict[str, str] = {
    "liu2021": "Liu H, Mo ZH, Yang H, Zhang ZF, Hong D, Wen L, et al. Automatic facial "
               "recognition of Williams-Beuren syndrome based on deep convolutional neural "
               "networks. Front Pediatr. 2021;9:648255. doi:10.3389/fped.2021.648255",
    "delong1988": "DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or "
                  "more correlated receiver operating characteristic curves: a nonparametric "
                  "approach. Biometrics. 1988;44(3):837–845.",
    "efron1993": "Efron B, Tibshirani RJ. An Introduction to the Bootstrap. New York: "
                 "Chapman & Hall; 1993.",
    "wilson1927": "Wilson EB. Probable inference, the law of succession, and statistical "
                  "inference. J Am Stat Assoc. 1927;22(158):209–212.",
    "obuchowski1995": "Obuchowski NA, Rockette HE. Hypothesis testing of diagnostic accuracy "
                      "for multiple readers and multiple tests: an ANOVA approach with "
                      "dependent observations. Commun Stat Simul Comput. 1995;24(2):285–308.",
    "hillis2007": "Hillis SL. A comparison of denominator degrees of freedom methods for "
                  "multiple observer ROC analysis. Stat Med. 2007;26(3):596–619.",
    "hillis2008": "Hillis SL, Berbaum KS, Metz CE. Recent developments in the "
                  "Dorfman-Berbaum-Metz procedure for multireader ROC study analysis. Acad "
                  "Radiol. 2008;15(5):647–661.",
    "selvaraju2017": "Selvaraju RR, Cogswell M, Das A, Vedantam R, Parikh D, Batra D. "
                     "Grad-CAM: visual explanations from deep networks via gradient-based "
                     "localization. In: Proc IEEE Int Conf Comput Vis. 2017. p. 618–626.",
    "jiang2021": "Jiang PT, Zhang CB, Hou Q, Cheng MM, Wei Y. LayerCAM: exploring "
                 "hierarchical class activation maps for localization. IEEE Trans Image "
                 "Process. 2021;30:5875–5888.",
    "holm1979": "Holm S. A simple sequentially rejective multiple test procedure. Scand J "
                "Stat. 1979;6(2):65–70.",
}
_CITE = re.compile(r"\{cite:([a-z0-9]+(?:,[a-z0-9]+)*)\}")
#: How the heatmap's layer and weights were chosen (:func:`wbsdesk.ml.explain.cam_map`).
_HEATMAP_METHOD = (f"{GRAD_CAM} {{cite:selvaraju2017}} at the last convolutional block when "
                   f"its map has at least {MIN_CAM_SIDE}×{MIN_CAM_SIDE} cells, else "
                   f"{LAYER_CAM} {{cite:jiang2021}} at the deepest earlier stage that has")
_WORDS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")
_LR_SCHEDULES = {"constant": "a constant learning rate", "cosine": "cosine learning-rate decay",
                 "step": "step learning-rate decay"}


@dataclass(frozen=True)
class MethodsSection:
    """The Methods: plain-text paragraphs citing ``[n]``, and the numbered references."""

    paragraphs: tuple[str, ...]
    references: tuple[str, ...]
    keys: tuple[str, ...] = field(default=())

    def markdown(self) -> str:
        """The section as Markdown (paragraphs, then a numbered reference list)."""
        refs = "\n".join(f"{i}. {r}" for i, r in enumerate(self.references, start=1))
        return "\n\n".join(self.paragraphs) + ("\n\n**References**\n\n" + refs if refs else "")


def _count(n: int, noun: str, plural: str | None = None) -> str:
    word = _WORDS[n] if 0 <= n < len(_WORDS) else str(n)
    return f"{word} {noun if n == 1 else plural or noun + 's'}"


def _num(x: float) -> str:
    return f"{x:g}"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _design(inp: MethodsInput) -> str:
    p = inp.protocol
    g = p.groups
    n_models = len(inp.run.archs)
    models = _join([arch_label(a) for a in inp.run.archs])
    readers = _reader_count_phrase(inp.readers)
    cases = sum(inp.per_group.values())
    per = "; ".join(f"{g.label(k)}: {v}" for k, v in inp.per_group.items())
    controls = " and ".join(g.label(c) for c in inp.control_groups)
    text = (f"Design. {_count(n_models, 'convolutional neural network (CNN) architecture')} "
            f"({models}) {'were' if n_models != 1 else 'was'} compared with {readers} in "
            f"telling the positive group, {g.label(g.positive)}, from the controls, "
            f"{controls}, on frontal facial photographs: {cases} cases ({per}), one "
            "photograph per subject.")
    if inp.synthetic:
        text += (" The photographs are synthetic (computer-generated); no real person "
                 "appears, and no result describes a real population.")
    return text


def _reader_count_phrase(readers: Sequence[ReaderInfo]) -> str:
    if not readers:
        return "no reader (the models alone are evaluated)"
    kinds = [r.kind for r in readers]
    parts = []
    for kind, noun in (("physician", "physician reader"), ("simulated", "simulated reader"),
                       ("dry run", "dry-run reader")):
        n = kinds.count(kind)
        if n:
            parts.append(_count(n, noun).lower())
    return _join(parts)


def _folds(inp: MethodsInput) -> str:
    ensemble = (" The ensemble is the mean of the architectures' out-of-fold probabilities."
                if len(inp.run.archs) >= 2 else "")
    if inp.runs:
        ensemble = (f" {_count(len(inp.runs), 'training run')} ({_join([r.name for r in inp.runs])}"
                    ") used the same folds; each run's models are reported separately, a "
                    "run's ensemble is the mean of its architectures' out-of-fold "
                    "probabilities, and the ensemble across runs is the mean of the runs' "
                    "ensembles (a run of one architecture contributes that architecture).")
    return (f"Cross-validation. Subjects were assigned to {inp.k} folds stratified by group "
            f"(seed {inp.fold_seed}), all photographs of a subject in one fold. In each of the "
            f"{inp.k} rounds a model of each architecture was trained on {inp.k - 1} folds and "
            "scored the held-out fold, so every photograph has an out-of-fold probability "
            f"from a model that never saw it in training.{ensemble}")


def _training(inp: MethodsInput) -> str:
    return " ".join(_training_run(inp, r) for r in (inp.runs or (inp.run,)))


def _training_run(inp: MethodsInput, r: RunSettings) -> str:
    f = inp.protocol.faces
    init = ("initialised with ImageNet-pretrained weights (transfer learning; the weight "
            "files' SHA-256 hashes are recorded with the run)" if r.init == "imagenet"
            else "trained from random initialisation (no pretrained weights)")
    aug = [f"random rotation up to ±{_num(r.rotation_degrees)}°",
           f"random resized crops (scale {_num(r.crop_scale[0])}–{_num(r.crop_scale[1])})"]
    if r.hflip:
        aug.append("horizontal flips")
    if r.autoaugment == "imagenet":
        aug.append("AutoAugment (ImageNet policy)")
    views = _count(r.copies, "independently augmented view").lower()
    text = (f"Training (run {r.name}). Faces were detected with MTCNN and aligned on "
            f"{f.landmarks} landmarks; the models saw {f.model_crop_px}-pixel face crops "
            f"resized to {r.input_px} × {r.input_px} pixels. Each network was {init}, its last "
            "linear layer replaced by a two-output layer, and fine-tuned with stochastic "
            f"gradient descent (learning rate {_num(r.lr)}, momentum {_num(r.momentum)}, "
            f"weight decay {_num(r.weight_decay)}, "
            f"{_LR_SCHEDULES.get(r.lr_schedule, r.lr_schedule + ' schedule')}), batch size "
            f"{r.batch_size}, for {r.epochs} epoch{'s' if r.epochs != 1 else ''}, seed "
            f"{r.seed}. Every epoch showed each training photograph as {views} "
            f"({_join(aug)}), normalised with the ImageNet mean and SD.")
    changed = setting_changes({k: getattr(r, k) for k in SETTING_FLAGS},
                              {k: getattr(inp.protocol.training, k) for k in SETTING_FLAGS})
    if changed:
        text += (f" This run changed the protocol's ({inp.protocol.name}) settings: "
                 f"{changed}.")
    if r.status != "finished":
        text += (f" The run's status is '{r.status}': its results are provisional until it "
                 "finishes.")
    return text


def _physicians(inp: MethodsInput, readers: Sequence[ReaderInfo]) -> str:
    rd = inp.protocol.reading
    roles = []
    for r in readers:
        years = f", {r.years} years' experience" if r.years is not None else ""
        roles.append(f"{r.role or 'role not recorded'}{years}")
    order = ("in an order drawn at random for each reader" if rd.order == "per_reader_random"
             else "in the same fixed order")
    practice = (f" after {_count(rd.practice_photos, 'practice photograph').lower()} that "
                "are not analysed" if rd.practice_photos else "")
    scale = "; ".join(f"{i} = {s}" for i, s in enumerate(rd.scale, start=1))
    text = (f"{_count(len(readers), 'physician')} ({'; '.join(roles)}) read the photographs "
            f"blind to the group and to the models' output, each on their own, {order}"
            f"{practice}. Readers saw each photo for {_num(rd.seconds_per_photo)} s and "
            f"answered within {_num(rd.response_window_seconds)} s on a "
            f"{len(rd.scale)}-level scale ({scale}); a photograph left unanswered is missing "
            "for that reader.")
    if rd.aided:
        aid = " and ".join("the model's probability" if a == "probability"
                           else f"its heatmap ({_HEATMAP_METHOD})" for a in rd.aid)
        design = ("then read each photograph again with the aid" if
                  rd.design == "sequential_aided" else
                  f"also read the photographs with the aid in a second session at least "
                  f"{_num(rd.washout_days)} days apart, in counterbalanced order")
        text += (f" The readers {design} ({aid} of the {rd.aid_model} model); only the "
                 "unaided reads are in this comparison.")
    return text


def _reading(inp: MethodsInput) -> str:
    rd = inp.protocol.reading
    out = []
    phys = [r for r in inp.readers if r.kind == "physician"]
    sims = [r for r in inp.readers if r.kind == "simulated"]
    dry = [r for r in inp.readers if r.kind == "dry run"]
    if phys:
        out.append(_physicians(inp, phys))
    if sims:
        out.append(f"{_count(len(sims), 'simulated reader')} (computer-generated ratings, not "
                   "physicians) stand in for readers: no photograph was shown to anyone; "
                   f"their ratings on the {len(rd.scale)}-level scale were drawn at random "
                   "from each photograph's true group with a preset accuracy per simulated "
                   "reader. Their results describe no human performance.")
    if dry:
        out.append(f"{_count(len(dry), 'dry-run reader')} (rehearsals of the reading "
                   "session, not study readings) are included; their reads test the "
                   "procedure and describe no reader's performance.")
    if inp.readers:
        middle = rd.scale[(len(rd.scale) + 1) // 2 - 1]
        out.append(f"A rating above '{middle}' counts as a yes read ('{middle}' counts as "
                   f"{rd.unsure_counts_as}). Comparisons with readers use the "
                   f"{inp.paired_cases} photographs that every included reader rated (the "
                   "paired cases); the models alone use all cases.")
        if rd.repeat_fraction > 0 and rd.design == "blind":
            out.append(f"In each session a seeded hidden {_num(100 * rd.repeat_fraction)} % "
                       "of the photographs were shown a second time, at least "
                       f"{rd.repeat_min_gap} photographs after the first showing; these "
                       "repeat reads measure intra-reader agreement (weighted Cohen's kappa) "
                       "and are left out of every other analysis.")
    else:
        out.append("No reader is included: only the models are evaluated.")
    left = [_count(n, f"{why} reader").lower() for why, n in inp.readers_left_out.items() if n]
    if left:
        out.append(f"Left out of this comparison: {_join(left)}.")
    return "Reading. " + " ".join(out)


def _statistics(inp: MethodsInput) -> str:
    st = inp.protocol.statistics
    a = inp.analyses
    level = f"{100 * st.ci_level:g}%"
    k = inp.k
    out = [f"Statistics. Each model's accuracy, precision, sensitivity (recall), specificity, "
           f"F1 score and AUC were computed on each test fold at a probability threshold of "
           f"{_num(st.threshold)} and reported as mean ± SD over the {k} folds (divisor "
           f"k − {st.sd_ddof}), as in Liu et al. {{cite:liu2021}}. The pooled out-of-fold AUC "
           "(empirical, Mann–Whitney; ties count one half) of all cases is given with a "
           f"{level} DeLong confidence interval {{cite:delong1988}} and a stratified "
           f"bootstrap percentile interval ({st.bootstrap_resamples} resamples, positives and "
           f"controls resampled separately, seed {st.bootstrap_seed}) {{cite:efron1993}}."]
    ttest = "Welch's" if st.ttest == "welch" else "Student's"
    out.append(f"Age was compared between the groups with {ttest} t-test and sex with "
               f"Pearson's chi-square test{' with Yates correction' if st.chi2_yates else ''}.")
    if a.model_vs_reader:
        out.append("The readers' yes/no reads give accuracy, precision, sensitivity and "
                   f"specificity with {level} Wilson score intervals {{cite:wilson1927}}; their "
                   "ratings give an AUC over the whole scale. Each model was compared with "
                   "each reader on the paired cases by DeLong's test for correlated AUCs "
                   "{cite:delong1988}.")
    if a.model_vs_model:
        out.append("Models were compared with each other on all cases by the same test "
                   "{cite:delong1988}.")
    if a.mrmc:
        out.append("The readers' mean AUC, and each model's difference from it, were "
                   "estimated by the Obuchowski–Rockette method {cite:obuchowski1995} with "
                   f"Hillis's denominator degrees of freedom {{cite:hillis2007,hillis2008}} "
                   f"and {a.mrmc_cov} covariance estimates, treating readers and cases as "
                   "random, so the intervals generalise to other readers and other cases; "
                   "the model's own case variability is included.")
    elif inp.readers:
        out.append("No multi-reader multi-case (MRMC) analysis was run: it needs at least two "
                   f"readers and {len(inp.readers)} is included.")
    if a.model_vs_reader or a.model_vs_model:
        out.append("Every difference is model − reader (model − readers' mean in MRMC, model "
                   "A − model B between models). Within each family of tests the p-values "
                   "are also adjusted by Holm's method {cite:holm1979}.")
    out.append(f"All tests are two-sided; intervals are at the {level} level.")
    if inp.software:
        out.append(f"Analyses were run with {inp.software}.")
    return " ".join(out)


def _number_citations(paragraphs: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Replace ``{cite:a,b}`` by ``[1, 2]`` (numbered by first use); the keys in order."""
    order: list[str] = []

    def number(m: re.Match[str]) -> str:
        nums = []
        for key in m.group(1).split(","):
            if key not in REFERENCES:
                raise KeyError(f"unknown reference {key!r}")
            if key not in order:
                order.append(key)
            nums.append(order.index(key) + 1)
        return "[" + ", ".join(str(n) for n in nums) + "]"

    out = tuple(_CITE.sub(number, p) for p in paragraphs)
    return out, tuple(order)


def methods_section(inp: MethodsInput) -> MethodsSection:
    """The Methods of a comparison: design, folds, training, reading rules and statistics.

    Parameters
    ----------
    inp : MethodsInput
        The protocol, the run's training settings, the included readers and which analyses
        ran.

    Returns
    -------
    MethodsSection
        ``paragraphs`` (plain text with ``[n]`` citations) and ``references`` (the cited
        works, numbered in order of first use); ``keys`` are their keys in
        :data:`REFERENCES`.

    Examples
    --------
    >>> from wbsdesk.core.protocol import Groups, Protocol
    >>> p = Protocol(name="x", title="x", groups=Groups(("a", "b"), "a"))
    >>> run = RunSettings.from_spec({}, p.training, name="r1", status="finished",
    ...                             archs=["resnet18"], seed=1)
    >>> m = methods_section(MethodsInput(p, run, ("b",), {"a": 10, "b": 12}, (), {}, 0,
    ...                                  fold_seed=7, k=5, analyses=Analyses(False, False,
    ...                                                                      False)))
    >>> m.paragraphs[0][:60]
    'Design. One convolutional neural network (CNN) architecture '
    >>> "Readers saw each photo" in " ".join(m.paragraphs)
    False
    """
    paragraphs, keys = _number_citations(
        (_design(inp), _folds(inp), _training(inp), _reading(inp), _statistics(inp)))
    return MethodsSection(paragraphs=paragraphs, references=tuple(REFERENCES[k] for k in keys),
                          keys=keys)


def methods_markup(c: Comparison, *, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The Methods of a comparison for the report: each paragraph, then the ``extra``
    paragraphs, then each reference as ``[n] citation``; HTML-escaped (the report's markup:
    text with ``<b>``/``<i>`` only)."""
    import html

    section = methods_section(methods_input(c))
    return (*(html.escape(p) for p in (*section.paragraphs, *extra)),
            *(f"[{i}] {html.escape(r)}" for i, r in enumerate(section.references, start=1)))
