"""The reproducibility bundle: one zip archive from which a comparison can be recomputed.

:func:`write_bundle` writes, for a study, a run and its readers (chosen as
``wbsdesk report`` chooses them)::

    MANIFEST.json           format, what was bundled, and the SHA-256 of every other file
    README.md               what is where; the pseudonyms
    protocol.json           the study's resolved protocol
    analysis.json           study, controls, included reader kinds, notes on cases left out
    seeds.json              fold seed and k, training and bootstrap seeds, reading-order seeds
    environment.json        package versions and platform (training and this machine)
    run/run.json            the run: status, architectures, training settings, versions
    run/checkpoints.csv     every fold checkpoint's SHA-256
    run/pretrained_weights.csv  SHA-256 of the pretrained weight files (ImageNet runs)
    data/cases.csv          S0001.., photo P0042, group, sex, age, fold
    data/predictions.csv    out-of-fold probability of every case and architecture
    data/readers.csv        R1.., role, years, kind, session, order seed, included or why not
    data/reads.csv          the included readers' reads (rating, yes/no read)
    data/excluded_subjects.csv
    tables/<table>.csv      every table of the comparison, as the report writes it
    report/                 the report (HTML, PDF, CSV, iMRMC; the figure with a renderer)
    methods.md              the Methods paragraph and its references
    model_card.md           model card (YAML front matter)
    checklist.md            TRIPOD+AI and CLAIM 2024 items -> where the bundle answers them
    crops/P0042.png         the model's face crops, only with ``with_crops``

Everything is computed from the pseudonymised data (:mod:`wbsdesk.services.bundle_data`)
by :func:`wbsdesk.services.analysis.compute_comparison`, so the tables name readers R1, R2
and cases S0001; before writing, their numbers are checked against the workspace's own
comparison. No photo and no crop goes in unless ``with_crops``.

:func:`verify_bundle` needs no workspace: it recomputes the comparison from the bundle's
data, lays it out with the report's own table function
(:func:`~wbsdesk.services.result_tables.comparison_tables`) and compares every cell with the
bundled ``tables/*.csv`` (numbers within 1e-12, relative to their size; text exactly); it
also checks every file against the manifest's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from wbsdesk import __version__
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.bundle_checklist import checklist_markdown
from wbsdesk.services.bundle_data import (
    BundleInputs,
    comparison_inputs,
    gather,
    read_inputs,
    write_inputs,
)
from wbsdesk.services.bundle_verify import (
    VerifyResult,
    compare_tables,
    count_cells,
    manifest_problems,
)
from wbsdesk.services.methods_text import RunSettings, methods_input, methods_section
from wbsdesk.services.model_card import model_card
from wbsdesk.services.reading import photo_pseudonym
from wbsdesk.services.result_tables import comparison_tables
from wbsdesk.services.studies import load_study
from wbsdesk.services.table_render import result_csv
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import Workspace

__all__ = ["BUNDLE_FORMAT", "BundleResult", "VerifyResult", "verify_bundle", "write_bundle"]

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "wbsdesk-bundle"
BUNDLE_VERSION = 1
MANIFEST = "MANIFEST.json"
_PACKAGES = ("numpy", "scipy", "scikit-learn", "statsmodels", "torch", "torchvision",
             "facenet-pytorch", "pillow", "sqlite-utils", "reportlab", "PySide6-Essentials")


@dataclass(frozen=True)
class BundleResult:
    """A written bundle: its path, its members and what was noted while building it."""

    path: Path
    files: tuple[str, ...]
    size: int
    with_crops: bool
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``--json``)."""
        return {"path": str(self.path), "files": list(self.files), "size": self.size,
                "with_crops": self.with_crops, "warnings": list(self.warnings)}


def _environment(run: dict[str, Any]) -> dict[str, Any]:
    here = {}
    for pkg in _PACKAGES:
        try:
            here[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return {"training": {"versions": run["versions"], "device": run["device"]},
            "bundle_written_with": {"wbsdesk": __version__,
                                    "python": platform.python_version(),
                                    "platform": platform.platform(),
                                    "machine": platform.machine(), "packages": here}}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _recompute(inputs: BundleInputs) -> tuple[Any, list[str]]:
    """The comparison of the bundle's data, and the warnings raised while computing it."""
    from wbsdesk.services.analysis import compute_comparison

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        comp = compute_comparison(**comparison_inputs(inputs))
    notes = list(dict.fromkeys(str(w.message) for w in caught
                               if issubclass(w.category, WbsdeskWarning)))
    return comp, notes


def _same_numbers(workspace_comp: Any, bundle_comp: Any) -> None:
    """Every table of the bundle's comparison has the workspace comparison's numbers."""
    theirs = {t.name: result_csv(t) for t in comparison_tables(workspace_comp)}
    ours = {t.name: result_csv(t) for t in comparison_tables(bundle_comp)}
    problems = compare_tables(theirs, ours, numbers_only=True)
    if problems:  # a bug: pseudonymising must not change a number
        raise RuntimeError("the bundle's data do not reproduce the workspace's comparison: "
                           + "; ".join(p.describe() for p in problems[:5]))


def _subgroup_rows(ws: Workspace, study: str, run: str, controls: str,
                   models: set[str]) -> tuple[list[Any] | None, list[str]]:
    """The models' subgroup AUCs (sex, age band), or None when they cannot be computed."""
    try:
        from wbsdesk.services.audit import subgroup_audit
    except ImportError:  # pragma: no cover - the audit is part of the package
        return None, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            audit = subgroup_audit(ws, study, run=run, controls=controls)
        except UserError as exc:
            return None, [f"Subgroup AUCs not computed: {exc.message}"]
    notes = [str(w.message) for w in caught if issubclass(w.category, WbsdeskWarning)]
    return [r for r in audit.rows if r.scorer in models], notes


def _readme(inputs: BundleInputs, with_crops: bool, files: list[str]) -> str:
    a = inputs.analysis
    n_readers = sum(r["included"] for r in inputs.readers)
    return "\n".join([
        f"# Reproducibility bundle: study {a['study']}, run {inputs.run['name']}", "",
        "Written by wbsdesk. Research use only; not for diagnosis.", "",
        "Check it with `wbsdesk bundle verify THIS.zip`: every table in `tables/` is "
        "recomputed from the data in this archive (no workspace needed) and compared cell by "
        "cell; every file is checked against the SHA-256 in `MANIFEST.json`.", "",
        "## Pseudonyms", "",
        "Subjects are S0001, S0002, ... (in the order of the study's subject IDs), photos "
        "P0042 (the photo's row number in the workspace), readers R1, R2, ... (in name order; "
        "role, years of experience and kind kept). No subject ID, reader name or file name "
        "is in this archive; group, sex and age in months are.",
        ("The model's face crops are in `crops/` (written with --with-crops): they show "
         "faces." if with_crops else "No photo and no face crop is in this archive."), "",
        "## Contents", "",
        f"Comparison: {a['controls']} controls; {n_readers} reader(s) included "
        f"(simulated: {'yes' if a['include_simulated'] else 'no'}, dry run: "
        f"{'yes' if a['include_dry_run'] else 'no'}). Readers left out are listed in "
        "`data/readers.csv` without their reads.", "",
        *[f"- `{f}`" for f in files], "",
        "`tables/` holds every table of the comparison (what `bundle verify` recomputes); "
        "`report/` is the report as `wbsdesk report` writes it from the same comparison "
        "(its figure as SVG and inside the HTML and PDF).", "",
        "Data CSVs (`data/`, `run/`) read back exactly: floats at full precision (repr), an "
        "empty cell for no value, 1/0 for yes/no, and a text starting with = + - @ or ' "
        "carries one extra leading '.", ""])


def _crop_files(ws: Workspace, study_id: int, photo_ids: list[int]) -> dict[str, bytes]:
    crops = ws.store.crops(study_id)
    out = {}
    for pid in photo_ids:
        row = crops.get(pid)
        if row is None or not row.model_crop_path:
            continue
        path = ws.root / row.model_crop_path
        out[f"crops/{photo_pseudonym(pid)}{path.suffix.lower()}"] = path.read_bytes()
    return out


def _report_files(comp: Any, renderer: Any) -> dict[str, bytes]:
    """The report's files; the figure only as SVG (and inside the HTML and PDF), so that no
    PNG or JPEG file is in a bundle written without crops."""
    from wbsdesk.services.reports import FIGURE_PNG, write_report

    with tempfile.TemporaryDirectory(prefix="wbsdesk-bundle-") as tmp:
        folder = Path(tmp) / "report"
        write_report(comp, folder, renderer=renderer)
        return {f"report/{p.relative_to(folder).as_posix()}": p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file() and p.name != FIGURE_PNG}


def _write_zip(out: Path, members: dict[str, bytes]) -> int:
    """Write the archive to a temporary file beside ``out``, then move it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                stamp = datetime.now(UTC).timetuple()[:6]
                for name, data in members.items():
                    info = zipfile.ZipInfo(name, date_time=stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = (0o100600 & 0xFFFF) << 16  # a user-only file
                    zf.writestr(info, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out.stat().st_size


def write_bundle(ws: Workspace, study: str, out: Path, *, run: str | None = None,
                 controls: str = "all", include_simulated: bool = False,
                 include_dry_run: bool = False, with_crops: bool = False,
                 force: bool = False, renderer: Any = None,
                 progress: Callable[[str], None] | None = None) -> BundleResult:
    """Write the reproducibility bundle of a study's comparison (see the module docstring).

    Parameters
    ----------
    ws : Workspace
    study : str
    out : Path
        The zip file to write (refused when it exists, unless ``force``).
    run : str, optional, keyword-only
        The training run (default: the study's latest finished run).
    controls, include_simulated, include_dry_run : keyword-only
        As for :func:`~wbsdesk.services.analysis.build_comparison`.
    with_crops : bool, keyword-only
        Also put the model's face crops of the analysed cases in (they show faces).
    force : bool, keyword-only
        Replace an existing ``out``.
    renderer : ReportRenderer, optional, keyword-only
        Draws the report's figure (without one the report says it is missing).
    progress : callable, optional, keyword-only
        Called with a short message at each step.

    Returns
    -------
    BundleResult

    Raises
    ------
    UserError
        ``out`` exists (without ``force``) or is a folder; unknown study, run or control
        group; and whatever stops the comparison (see ``build_comparison``).
    """
    from wbsdesk.services.analysis import build_comparison

    say = progress or (lambda _msg: None)
    out = Path(out)
    if out.is_dir():
        raise UserError(f"{out} is a folder", hint="--out names the .zip file to write")
    if out.exists() and not force:
        raise UserError(f"{out} exists already",
                        hint="choose another --out, or add --force to replace it")
    st = load_study(ws, study)
    run_row = get_run(ws, st, run)
    say("computing the comparison")
    with warnings.catch_warnings():  # the bundle's own comparison raises them, pseudonymised
        warnings.simplefilter("ignore")
        ws_comp = build_comparison(ws, st.name, run=run_row.name, controls=controls,
                                   include_simulated=include_simulated,
                                   include_dry_run=include_dry_run)
    inputs = gather(ws, st, run_row, controls=controls, include_simulated=include_simulated,
                    include_dry_run=include_dry_run)
    comp, notes = _recompute(inputs)
    _same_numbers(ws_comp, comp)
    members: dict[str, bytes] = {}
    write_inputs(inputs, members.__setitem__)
    members["environment.json"] = (json.dumps(_environment(inputs.run), indent=1,
                                              sort_keys=True) + "\n").encode("utf-8")
    for t in comparison_tables(comp):
        members[f"tables/{t.name}.csv"] = result_csv(t).encode("utf-8")
    say("writing the Methods, model card and checklists")
    settings = RunSettings.from_spec(inputs.run["spec"], st.protocol.training,
                                     name=run_row.name, status=run_row.status,
                                     archs=run_row.archs, seed=run_row.seed,
                                     augmentation=st.protocol.augmentation)
    years = {r["reader"]: r["years"] for r in inputs.readers}
    section = methods_section(methods_input(comp, settings, years=years,
                                            software=f"wbsdesk {__version__}"))
    members["methods.md"] = ("# Methods\n\n" + section.markdown() + "\n").encode("utf-8")
    sub_rows, sub_notes = _subgroup_rows(ws, st.name, run_row.name, controls,
                                         {m.label for m in comp.models})
    members["model_card.md"] = model_card(comp, settings, subgroups=sub_rows).encode("utf-8")
    conditions = [*(["readers"] if comp.readers else []),
                  *(["subgroups"] if sub_rows is not None else [])]
    members["checklist.md"] = checklist_markdown(conditions).encode("utf-8")
    say("writing the report")
    members.update(_report_files(comp, renderer))
    if with_crops:
        members.update(_crop_files(ws, st.id, [int(p) for p in comp.photo_ids]))
    names = sorted([MANIFEST, "README.md", *members])
    members["README.md"] = _readme(inputs, with_crops, names).encode("utf-8")
    manifest = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION,
                "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "wbsdesk": __version__, "study": st.name, "run": run_row.name,
                "controls": controls, "include_simulated": include_simulated,
                "include_dry_run": include_dry_run, "with_crops": with_crops,
                "python": sys.version.split()[0],
                "files": {name: _sha(data) for name, data in sorted(members.items())}}
    members = {MANIFEST: (json.dumps(manifest, indent=1) + "\n").encode("utf-8"), **members}
    say("writing the archive")
    size = _write_zip(out, members)
    log.info("wrote the bundle of %s (run %s) to %s (%d files, %d bytes)", st.name,
             run_row.name, out, len(members), size)
    return BundleResult(path=out, files=tuple(sorted(members)), size=size,
                        with_crops=with_crops, warnings=tuple([*notes, *sub_notes]))


def verify_bundle(path: Path) -> VerifyResult:
    """Recompute every table of a bundle from its own data and compare (no workspace).

    Parameters
    ----------
    path : Path
        A zip file written by :func:`write_bundle`.

    Returns
    -------
    VerifyResult
        ``ok`` when every file matches the manifest and every recomputed table equals its
        bundled CSV; otherwise the changed files and each differing cell.

    Raises
    ------
    UserError
        ``path`` is not a readable zip, not a wbsdesk bundle, or its data cannot be read.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"{path} is not a zip archive ({exc})") from None
    with zf:
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except (KeyError, json.JSONDecodeError):
            raise UserError(f"{path} is not a wbsdesk bundle (no readable {MANIFEST})") from None
        if manifest.get("format") != BUNDLE_FORMAT:
            raise UserError(f"{path} is not a wbsdesk bundle (format "
                            f"{manifest.get('format')!r})")
        changed, missing, unlisted = manifest_problems(zf, manifest.get("files", {}),
                                                       skip=(MANIFEST,))
        inputs = read_inputs(zf.read)
        comp, notes = _recompute(inputs)
        recomputed = {t.name: result_csv(t) for t in comparison_tables(comp)}
        bundled = {}
        for name in zf.namelist():
            if name.startswith("tables/") and name.endswith(".csv"):
                bundled[name.removeprefix("tables/").removesuffix(".csv")] = \
                    zf.read(name).decode("utf-8")
    mismatches = compare_tables(bundled, recomputed)
    return VerifyResult(path=path, study=str(manifest.get("study", "")),
                        run=str(manifest.get("run", "")), tables=tuple(sorted(recomputed)),
                        cells=count_cells(recomputed),
                        mismatches=tuple(mismatches), changed_files=tuple(changed),
                        missing_files=tuple(missing), unlisted_files=tuple(unlisted),
                        warnings=tuple(notes))
