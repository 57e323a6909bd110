"""TRIPOD+AI and CLAIM 2024 items, each pointing to where a bundle answers it (or not).

The items are data (:data:`TRIPOD_AI`, :data:`CLAIM_2024`): number, topic, a short form of
the item, and where the bundle answers it: ``None`` for "not answered" (ethics, funding,
dates, sample-size reasoning and the like live in the manuscript, not in the data), or a
file / section of the bundle, with ``partly`` when it answers only part (what it gives
and what it lacks). :func:`checklist_markdown` renders both lists.

Sources: Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance for
reporting clinical prediction models that use regression or machine learning methods. BMJ
2024;385:e078378. Tejani AS, Klontzas ME, Gatti AA, et al. Checklist for Artificial
Intelligence in Medical Imaging (CLAIM): 2024 Update. Radiol Artif Intell
2024;6(4):e240300. Item texts are abbreviated; read the published checklists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CLAIM_2024", "TRIPOD_AI", "ChecklistItem", "checklist_markdown", "resolve"]

#: Bundle places the items point to (kept in step with :mod:`wbsdesk.services.bundle`).
METHODS = "methods.md"
CARD = "model_card.md"
PROTOCOL = "protocol.json"
RUN = "run/run.json"
SEEDS = "seeds.json"
CASES = "data/cases.csv"
EXCLUDED = "data/excluded_subjects.csv"
README = "README.md"


@dataclass(frozen=True)
class ChecklistItem:
    """One item: ``where`` the bundle answers it (``None``: not answered).

    ``partly`` says what the bundle gives and lacks when it answers only part of the item;
    ``needs`` names a condition (``"readers"``, ``"subgroups"``) without which the item
    counts as not answered.
    """

    number: str
    topic: str
    text: str
    where: str | None = None
    partly: str = ""
    needs: str = ""


def _i(number: str, topic: str, text: str, where: str | None = None, partly: str = "",
       needs: str = "") -> ChecklistItem:
    return ChecklistItem(number, topic, text, where, partly, needs)


TRIPOD_AI: tuple[ChecklistItem, ...] = (
    _i("1", "Title", "Identify the study as developing/evaluating a prediction model, the "
       "target population and the outcome"),
    _i("2", "Abstract", "See TRIPOD+AI for Abstracts"),
    _i("3a", "Background", "Healthcare context and rationale; existing models"),
    _i("3b", "Background", "Target population, intended purpose in the care pathway, "
       "intended users", f"{CARD} (Intended use)", "research use only is stated; no care "
       "pathway"),
    _i("3c", "Background", "Known health inequalities between sociodemographic groups"),
    _i("4", "Objectives", "Study objectives; development and/or validation",
       f"{METHODS} (Design)"),
    _i("5a", "Data", "Sources of data, rationale, representativeness", f"{CARD} (Data)",
       "counts per group and whether the photos are synthetic; the source is not recorded"),
    _i("5b", "Data", "Dates of participant data (accrual, follow-up)"),
    _i("6a", "Participants", "Study setting, number and location of centres"),
    _i("6b", "Participants", "Eligibility criteria", f"{EXCLUDED}; {PROTOCOL} (photos)",
       "excluded subjects and photo intake rules; the criteria are not recorded"),
    _i("6c", "Participants", "Treatments received and how handled"),
    _i("7", "Data preparation", "Pre-processing and quality checking",
       f"{METHODS} (Training); {PROTOCOL} (faces)"),
    _i("8a", "Outcome", "Definition of the outcome, how and when assessed",
       f"{PROTOCOL} (groups); {CASES} (group)", "the group of each case; how the diagnosis "
       "was established is not recorded"),
    _i("8b", "Outcome", "Qualifications of outcome assessors (subjective assessment)"),
    _i("8c", "Outcome", "Blinding of outcome assessment"),
    _i("9a", "Predictors", "Choice of initial predictors", f"{METHODS} (Training)"),
    _i("9b", "Predictors", "Definition and measurement of all predictors",
       f"{METHODS} (Training); {PROTOCOL} (faces)"),
    _i("9c", "Predictors", "Qualifications of predictor assessors (subjective measurement)"),
    _i("10", "Sample size", "How the study size was arrived at; sample size calculation"),
    _i("11", "Missing data", "How missing data were handled; reasons for omitting data",
       f"{METHODS} (Reading); report/report.html (Exclusions, Warnings)"),
    _i("12a", "Analytical methods", "How the data were used; partitioning",
       f"{METHODS} (Cross-validation); {CASES} (fold); {SEEDS}"),
    _i("12b", "Analytical methods", "Handling of predictors (rescaling, standardisation)",
       f"{METHODS} (Training)"),
    _i("12c", "Analytical methods", "Type of model, model-building steps, tuning, internal "
       "validation", f"{METHODS} (Training, Cross-validation); {RUN} (spec)",
       "settings come from the protocol; no hyperparameter tuning is recorded"),
    _i("12d", "Analytical methods", "Heterogeneity across clusters"),
    _i("12e", "Analytical methods", "Performance measures and plots; model comparison",
       f"{METHODS} (Statistics)"),
    _i("12f", "Analytical methods", "Model updating (e.g. recalibration)"),
    _i("12g", "Analytical methods", "How model predictions were calculated",
       "data/predictions.csv; run/checkpoints.csv", "out-of-fold probabilities and the "
       "checkpoints' SHA-256; the weights are not in the bundle"),
    _i("13", "Class imbalance", "Class imbalance methods, recalibration"),
    _i("14", "Fairness", "Approaches to address model fairness", f"{CARD} (Subgroup "
       "results)", "AUC within sex and age bands only", needs="subgroups"),
    _i("15", "Model output", "Output of the model; classification thresholds",
       f"{METHODS} (Statistics); {PROTOCOL} (statistics.threshold)"),
    _i("16", "Training versus evaluation", "Differences between development and evaluation "
       "data", f"{METHODS} (Cross-validation)"),
    _i("17", "Ethical approval", "Ethics committee; informed consent"),
    _i("18a", "Funding", "Source of funding and role of funders"),
    _i("18b", "Conflicts of interest", "Conflicts of interest"),
    _i("18c", "Protocol", "Where the study protocol can be accessed", PROTOCOL),
    _i("18d", "Registration", "Study registration"),
    _i("18e", "Data sharing", "Availability of the study data", f"{README}; data/",
       "pseudonymised data in this bundle; photos only with --with-crops"),
    _i("18f", "Code sharing", "Availability of the analytical code",
       "environment.json (wbsdesk version)", "the software version; where to get it is not "
       "stated"),
    _i("19", "Patient and public involvement", "Patient and public involvement"),
    _i("20a", "Participants", "Flow of participants; numbers with and without the outcome",
       "tables/table3.csv; report/report.html (Exclusions)", "no flow diagram"),
    _i("20b", "Participants", "Characteristics of participants, missing data",
       "tables/table1.csv"),
    _i("20c", "Participants", "Evaluation vs. development data: distributions"),
    _i("21", "Model development", "Participants and events in each analysis",
       "tables/table3.csv; tables/table4_folds.csv"),
    _i("22", "Model specification", "Full prediction model (code, object, access)",
       "run/checkpoints.csv; run/run.json", "the checkpoints' SHA-256 and the training "
       "settings; the weights are not in the bundle"),
    _i("23a", "Model performance", "Performance with confidence intervals, incl. subgroups",
       "tables/auc.csv; tables/table4.csv; model_card.md (Evaluation)"),
    _i("23b", "Model performance", "Heterogeneity across clusters"),
    _i("24", "Model updating", "Results of model updating"),
    _i("25", "Interpretation", "Overall interpretation, incl. fairness"),
    _i("26", "Limitations", "Limitations and their effects", f"{CARD} (Limitations)",
       "the data's limits; the study's own discussion is the manuscript's"),
    _i("27a", "Usability", "Handling of poor-quality or unavailable input data"),
    _i("27b", "Usability", "User interaction and expertise required", f"{CARD} (Intended "
       "use)", "research use only; no clinical user"),
    _i("27c", "Usability", "Next steps for future research"),
)

CLAIM_2024: tuple[ChecklistItem, ...] = (
    _i("1", "Title", "Identification as a study of AI methodology (category of technology)"),
    _i("2", "Abstract", "Summary of study design, methods, results and conclusions"),
    _i("3", "Introduction", "Background, intended use and role of the AI approach",
       f"{CARD} (Intended use)", "intended use only"),
    _i("4", "Introduction", "Study aims, objectives and hypotheses"),
    _i("5", "Study design", "Prospective or retrospective study"),
    _i("6", "Study design", "Study goal", f"{METHODS} (Design)"),
    _i("7", "Data", "Data sources", f"{CARD} (Data)", "counts and the synthetic flag; the "
       "source is not recorded"),
    _i("8", "Data", "Inclusion and exclusion criteria", EXCLUDED, "who was excluded, not "
       "the criteria"),
    _i("9", "Data", "Data pre-processing", f"{METHODS} (Training); {PROTOCOL} (faces)"),
    _i("10", "Data", "Selection of data subsets", f"{METHODS} (Design); analysis.json "
       "(controls)"),
    _i("11", "Data", "De-identification methods", f"{README} (Pseudonyms)"),
    _i("12", "Data", "How missing data were handled", f"{METHODS} (Reading)"),
    _i("13", "Data", "Image acquisition protocol", f"{PROTOCOL} (photos)", "intake rules "
       "only; cameras and settings are not recorded"),
    _i("14", "Reference standard", "Method used to obtain the reference standard",
       f"{CASES} (group)", "the group of each case; how it was established is not "
       "recorded"),
    _i("15", "Reference standard", "Rationale for choosing the reference standard"),
    _i("16", "Reference standard", "Source of reference standard annotations"),
    _i("17", "Reference standard", "Annotation of the test set"),
    _i("18", "Reference standard", "Inter- and intra-rater variability of annotations"),
    _i("19", "Data partitions", "How data were assigned to partitions",
       f"{METHODS} (Cross-validation); {CASES} (fold); {SEEDS}"),
    _i("20", "Data partitions", "Level at which partitions are disjoint",
       f"{METHODS} (Cross-validation: by subject)"),
    _i("21", "Testing data", "Intended sample size"),
    _i("22", "Model", "Detailed description of the model", f"{METHODS} (Training); {RUN}"),
    _i("23", "Model", "Software libraries, frameworks and packages", "environment.json"),
    _i("24", "Model", "Initialization of model parameters",
       f"{METHODS} (Training); run/pretrained_weights.csv"),
    _i("25", "Training", "Details of the training approach", f"{METHODS} (Training); {RUN}"),
    _i("26", "Training", "Method of selecting the final model"),
    _i("27", "Training", "Ensembling techniques", f"{METHODS} (Cross-validation)"),
    _i("28", "Evaluation", "Metrics of model performance", f"{METHODS} (Statistics)"),
    _i("29", "Evaluation", "Statistical measures of significance and uncertainty",
       f"{METHODS} (Statistics)"),
    _i("30", "Evaluation", "Robustness or sensitivity analysis"),
    _i("31", "Evaluation", "Methods for explainability or interpretability"),
    _i("32", "Evaluation", "Evaluation on internal data", "tables/ (out-of-fold)"),
    _i("33", "Evaluation", "Testing on external data"),
    _i("34", "Evaluation", "Clinical trial registration"),
    _i("35", "Results: data", "Numbers of patients or examinations included and excluded",
       f"tables/table3.csv; {EXCLUDED}"),
    _i("36", "Results: data", "Demographic and clinical characteristics per partition",
       "tables/table1.csv; tables/table3.csv", "demographics by group; per fold only the "
       "counts"),
    _i("37", "Model performance", "Performance metrics and statistical uncertainty",
       "tables/table4.csv; tables/auc.csv"),
    _i("38", "Model performance", "Estimates of diagnostic performance and their precision",
       "tables/auc.csv; tables/table5.csv; tables/mrmc.csv", needs="readers"),
    _i("39", "Model performance", "Failure analysis of incorrect results"),
    _i("40", "Discussion", "Study limitations", f"{CARD} (Limitations)", "the data's "
       "limits; the study's own discussion is the manuscript's"),
    _i("41", "Discussion", "Implications for practice, intended use / clinical role",
       f"{CARD} (Intended use)", "research use only"),
    _i("42", "Other information", "Reference to the full study protocol", PROTOCOL),
    _i("43", "Other information", "Availability of software, trained model and/or data",
       README, "the data are here; the trained weights are not"),
    _i("44", "Other information", "Sources of funding; role of funders"),
)


def resolve(item: ChecklistItem, conditions: Sequence[str]) -> tuple[str, str]:
    """``(status, where)``: ``answered`` / ``partly`` / ``not answered`` and the place."""
    if item.where is None or (item.needs and item.needs not in conditions):
        return "not answered", ""
    return ("partly", f"{item.where} — {item.partly}") if item.partly \
        else ("answered", item.where)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def checklist_markdown(conditions: Sequence[str] = ()) -> str:
    """Both checklists as Markdown tables.

    Parameters
    ----------
    conditions : sequence of str
        What this bundle holds among the items' ``needs``: ``"readers"`` (a comparison
        with readers), ``"subgroups"`` (subgroup AUCs in the model card).

    Examples
    --------
    >>> md = checklist_markdown(())
    >>> "| 17 | Ethical approval |" in md and "not answered" in md
    True
    """
    out = ["# Reporting checklists", "",
           "Where this bundle answers each item of TRIPOD+AI (Collins et al., BMJ "
           "2024;385:e078378) and CLAIM 2024 (Tejani et al., Radiol Artif Intell "
           "2024;6(4):e240300). Item texts are abbreviated: report against the published "
           "checklists. 'Not answered' items belong in the manuscript (or do not apply).",
           ""]
    for title, items in (("TRIPOD+AI", TRIPOD_AI), ("CLAIM 2024", CLAIM_2024)):
        statuses = [resolve(it, conditions) for it in items]
        counts = {s: sum(1 for x, _ in statuses if x == s)
                  for s in ("answered", "partly", "not answered")}
        out += [f"## {title}", "",
                f"{len(items)} items: {counts['answered']} answered, {counts['partly']} "
                f"partly, {counts['not answered']} not answered.", "",
                "| Item | Topic | Item (abbreviated) | Status | Where in this bundle |",
                "|---|---|---|---|---|"]
        for it, (status, where) in zip(items, statuses, strict=True):
            out.append(f"| {it.number} | {_md_cell(it.topic)} | {_md_cell(it.text)} | "
                       f"{status} | {_md_cell(where) or '—'} |")
        out.append("")
    return "\n".join(out)
