"""The generated Methods: wording follows the data, and every citation has its reference."""

from __future__ import annotations

import dataclasses
import re
import warnings

import pytest

from tests.conftest import PROTOCOLS
from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.core.protocol import protocol_from_dict
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.methods_text import (
    REFERENCES,
    Analyses,
    MethodsInput,
    ReaderInfo,
    RunSettings,
    methods_input,
    methods_section,
)
from wbsdesk.services.studies import load_protocol_file

_CITE = re.compile(r"\[(\d+(?:, \d+)*)\]")


def _input(readers, *, mrmc=None, liu=True, archs=("resnet18", "mobilenet_v2"),
           spec=None, left_out=None):
    protocol = load_protocol_file(PROTOCOLS / ("liu2021_wbs.toml" if liu else "demo.toml"))
    run = RunSettings.from_spec(spec if spec is not None else {"epochs": 100},
                                protocol.training, name="run7", status="finished",
                                archs=archs, seed=2021, augmentation=protocol.augmentation)
    n = len(readers)
    return MethodsInput(
        protocol=protocol, run=run, control_groups=protocol.groups.controls,
        per_group={"wbs": 104, "other_syndrome": 91, "healthy": 145},
        readers=tuple(readers), readers_left_out=left_out or {}, paired_cases=330,
        fold_seed=2021, k=5,
        analyses=Analyses(model_vs_model=len(archs) > 1, model_vs_reader=n > 0,
                          mrmc=n >= 2 if mrmc is None else mrmc),
        synthetic=not liu, software="wbsdesk 0.1.0")


def _text(section) -> str:
    return "\n".join(section.paragraphs)


def _cited_numbers(text: str) -> list[int]:
    return [int(x) for m in _CITE.finditer(text) for x in m.group(1).split(", ")]


def test_real_physicians_get_the_reading_rules_and_their_roles():
    readers = [ReaderInfo("physician", "pediatric cardiologist", 18),
               ReaderInfo("physician", "pediatric cardiologist", 9),
               ReaderInfo("physician", "pediatrician", 6),
               ReaderInfo("physician", "pediatrician", 12)]
    text = _text(methods_section(_input(readers)))
    assert "compared with four physician readers" in text
    assert "Four physicians (pediatric cardiologist, 18 years' experience;" in text
    assert "Readers saw each photo for 10 s and answered within 20 s on a 5-level scale" in text
    assert "1 = Definitely not" in text and "5 = Definitely" in text
    assert "in an order drawn at random for each reader" in text
    assert "simulated" not in text and "dry-run" not in text
    # the published protocol's training settings, ImageNet transfer learning
    assert "initialised with ImageNet-pretrained weights" in text
    assert "learning rate 0.01" in text and "batch size 16, for 100 epochs, seed 2021" in text
    assert "Obuchowski–Rockette method" in text and "Hillis" in text


def test_the_demos_simulated_readers_are_not_described_as_physicians_reading_for_10_s():
    readers = [ReaderInfo("simulated", "pediatric cardiologist", 18)] * 2 + \
              [ReaderInfo("simulated", "pediatrician", 6)] * 2
    text = _text(methods_section(_input(readers, liu=False, spec={"epochs": 3,
                                                                  "weights_dir": None})))
    assert "Four simulated readers (computer-generated ratings, not physicians)" in text
    assert "no photograph was shown to anyone" in text
    assert "Readers saw each photo" not in text
    assert "physicians (" not in text and "physician reader" not in text
    assert "The photographs are synthetic (computer-generated)" in text
    assert "trained from random initialisation (no pretrained weights)" in text
    assert "for 3 epochs" in text


def test_dry_run_readers_are_named_as_rehearsals_beside_physicians():
    readers = [ReaderInfo("physician", "pediatrician", 6), ReaderInfo("dry run", "staff")]
    text = _text(methods_section(_input(readers, left_out={"simulated": 4})))
    assert "compared with one physician reader and one dry-run reader" in text
    assert "One dry-run reader (rehearsals of the reading session, not study readings)" in text
    assert "One physician (pediatrician, 6 years' experience)" in text
    assert "Left out of this comparison: four simulated readers." in text


def test_one_reader_runs_no_mrmc_and_cites_no_mrmc_paper():
    section = methods_section(_input([ReaderInfo("physician", "pediatrician", 6)]))
    text = _text(section)
    assert "No multi-reader multi-case (MRMC) analysis was run" in text
    assert not {"obuchowski1995", "hillis2007", "hillis2008"} & set(section.keys)
    assert "wilson1927" in section.keys and "delong1988" in section.keys


def test_no_reader_says_so_and_cites_no_reader_statistics():
    section = methods_section(_input([], archs=("resnet18",)))
    text = _text(section)
    assert "compared with no reader (the models alone are evaluated)" in text
    assert "No reader is included" in text and "Readers saw" not in text
    assert "ensemble" not in text.lower()
    assert not {"wilson1927", "obuchowski1995", "holm1979"} & set(section.keys)


@pytest.mark.parametrize("readers", [
    [],
    [ReaderInfo("physician", "pediatrician", 6)],
    [ReaderInfo("physician", "a", 1), ReaderInfo("simulated", "b"), ReaderInfo("dry run", "c")],
])
def test_every_citation_in_the_text_is_in_the_references_in_order_of_first_use(readers):
    section = methods_section(_input(readers))
    text = _text(section)
    cited = _cited_numbers(text)
    assert set(cited) == set(range(1, len(section.references) + 1))
    first_use = list(dict.fromkeys(cited))
    assert first_use == sorted(first_use)  # numbered in order of first use
    assert section.references == tuple(REFERENCES[k] for k in section.keys)
    assert "{cite:" not in text
    assert "References" in section.markdown() and section.references[0] in section.markdown()


def test_the_issue_s_methods_are_cited_in_full_with_two_or_more_readers():
    readers = [ReaderInfo("physician", "a", 1), ReaderInfo("physician", "b", 2)]
    refs = "\n".join(methods_section(_input(readers)).references)
    for needle in ("DeLong ER, DeLong DM, Clarke-Pearson DL", "Biometrics. 1988;44(3):837–845",
                   "Obuchowski NA, Rockette HE", "Commun Stat Simul Comput. 1995;24(2):285–308",
                   "Hillis SL. A comparison of denominator degrees of freedom",
                   "Stat Med. 2007;26(3):596–619", "Efron B, Tibshirani RJ",
                   "Wilson EB", "J Am Stat Assoc. 1927;22(158):209–212", "Holm S",
                   "Scand J Stat. 1979;6(2):65–70"):
        assert needle in refs, needle


def test_methods_from_a_computed_comparison_of_two_physicians(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2), role="clinical geneticist")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = build_comparison(ws, "s")
    inp = methods_input(comp, years={"Dr A": 5})
    text = _text(methods_section(inp))
    assert "Two physicians (pediatrician, 5 years' experience; clinical geneticist)" in text
    assert "(ResNet-18 and MobileNet-V2)" in text and "The ensemble is the mean" in text
    assert "Subjects were assigned to 5 folds stratified by group (seed 7)" in text
    assert f"use the {comp.paired.size} photographs that every included reader rated" in text
    assert "Readers saw each photo for 10 s" in text  # demo.toml's reading rules
    assert inp.analyses.mrmc and inp.analyses.model_vs_model
    assert inp.run.epochs == 1  # the run's spec, not the protocol's 3 epochs


def test_protocol_round_trip_keeps_the_methods_identical():
    """The bundle stores the protocol as JSON: the Methods read from it say the same."""
    readers = [ReaderInfo("physician", "a", 1), ReaderInfo("physician", "b", 2)]
    inp = _input(readers)
    again = protocol_from_dict(inp.protocol.to_dict())
    import dataclasses

    assert methods_section(dataclasses.replace(inp, protocol=again)) == methods_section(inp)


def test_the_report_carries_the_generated_methods_and_references(ws, tmp_path):
    from wbsdesk.services.reports import write_report

    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    for i in range(4):
        add_reader(ws, "s", f"Sim {i}", synthetic_ratings(subjects, seed=i), simulated=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = build_comparison(ws, "s", include_simulated=True)
    page = (write_report(comp, tmp_path / "r").out_dir / "report.html").read_text()
    methods = page.split("<h2>Methods</h2>", 1)[1].split("<h2>", 1)[0]
    assert "Four simulated readers (computer-generated ratings, not physicians)" in methods
    assert "Readers saw each photo" not in methods
    assert "Obuchowski–Rockette method [5] with Hillis&#x27;s denominator degrees" in methods
    assert "[5] Obuchowski NA, Rockette HE." in methods and "Band across folds" in methods
    assert methods.rindex("Band across folds") < methods.index("[1] Liu H")


def test_an_aided_reading_with_heatmaps_names_and_cites_how_the_heatmap_was_made():
    readers = [ReaderInfo("physician", "pediatrician", 6), ReaderInfo("physician", "geneticist", 9)]
    inp = _input(readers)
    reading = dataclasses.replace(inp.protocol.reading, design="sequential_aided")
    inp = dataclasses.replace(inp, protocol=dataclasses.replace(inp.protocol, reading=reading))
    section = methods_section(inp)
    text = _text(section)
    order = {k: i + 1 for i, k in enumerate(section.keys)}
    assert (f"the model's probability and its heatmap (Grad-CAM [{order['selvaraju2017']}] at "
            "the last convolutional block when its map has at least 7×7 cells, else LayerCAM "
            f"[{order['jiang2021']}] at the deepest earlier stage that has) of the ensemble "
            "model") in text
    assert any(r.startswith("Jiang PT") and "LayerCAM" in r for r in section.references)
    assert any(r.startswith("Selvaraju RR") for r in section.references)
    # a blind study cites neither
    blind = methods_section(_input(readers))
    assert "selvaraju2017" not in blind.keys and "jiang2021" not in blind.keys
