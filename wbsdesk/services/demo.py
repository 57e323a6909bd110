"""The demo study: procedurally drawn synthetic faces, imported through the real import path."""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wbsdesk.config import bundled_protocol
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import UserError
from wbsdesk.services import faces, reading, studies
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.os_lock import FileLock, describe_holder
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

DEMO_STUDY = "demo"
DEMO_SEED = 2021
#: The paper's 104 / 91 / 145 subjects scaled to 150.
GROUP_COUNTS = {"wbs": 46, "other_syndrome": 40, "healthy": 64}
#: Practice-only subjects drawn after the study's ones (one per group, in this order), so
#: the readers' practice photos are never faces they are scored on later.
PRACTICE_GROUPS = ("healthy", "wbs", "other_syndrome")
#: Age (months) mean / SD per group, after the paper's Table 1 (controls 40.65 +- 43.45).
_AGE = {"wbs": (33.0, 30.0), "other_syndrome": (40.0, 38.0), "healthy": (41.0, 40.0)}
_MALE = {"wbs": 61 / 104, "other_syndrome": 0.52, "healthy": 0.52}
#: The paper's other-syndrome mix (Noonan 43, Down 10, Loeys-Dietz 4, ...).
_OTHER = {"Noonan syndrome (synthetic)": 43, "Down syndrome (synthetic)": 10,
          "Loeys-Dietz syndrome (synthetic)": 4, "DiGeorge syndrome (synthetic)": 3,
          "Marfan syndrome (synthetic)": 3, "Alagille syndrome (synthetic)": 3,
          "Other rare syndrome (synthetic)": 25}
PHOTO_SIZE = (480, 600)
#: The lock file (in the workspace's tmp/) held while a process builds the demo.
DEMO_LOCK = "demo.lock"
#: How long a second build waits for one that another process is running (with training,
#: a build takes a few minutes on a slow CPU).
DEMO_WAIT_SECONDS = 900.0
_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class DemoResult:
    """What ``build_demo`` made."""

    study: str
    subjects: int
    groups: dict[str, int]
    seed: int
    seconds: float
    run: str | None = None


def write_demo_photos(folder: Path, *, seed: int = DEMO_SEED,
                      counts: dict[str, int] | None = None, with_practice: bool = True,
                      progress: ProgressFn = no_progress,
                      cancel: CancelToken | None = None) -> Path:
    """Draw the demo subjects into ``folder`` and write their ``manifest.csv``.

    Deterministic: the same seed and counts give byte-identical files. Subject IDs are
    shuffled across groups so they do not reveal the group. Each row also carries the known
    face box and 5 landmarks (``face_box``, ``landmarks``) and ``synthetic = 1``. After them
    come the practice-only subjects ``DEMO-P01`` .. (``practice = 1``), one per group in
    :data:`PRACTICE_GROUPS` (unless ``with_practice`` is false). The others do not depend on
    whether they are drawn.

    Returns
    -------
    Path
        The manifest file.
    """
    cancel = cancel or CancelToken()
    counts = dict(GROUP_COUNTS if counts is None else counts)
    rng = np.random.default_rng(seed)
    plan = [g for g, n in counts.items() for _ in range(n)]
    order = rng.permutation(len(plan))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, idx in enumerate(order):
        cancel.raise_if_cancelled()
        progress(Progress(i, len(plan) + len(PRACTICE_GROUPS), "drawing synthetic faces"))
        rows.append(_draw_row(folder, plan[idx], np.random.default_rng([seed, i]),
                              f"DEMO-{i + 1:03d}", practice=False))
    for j, group in enumerate(PRACTICE_GROUPS if with_practice else ()):  # after the others
        progress(Progress(len(plan) + j, len(plan) + len(PRACTICE_GROUPS),
                          "drawing synthetic faces"))
        rows.append(_draw_row(folder, group, np.random.default_rng([seed, 100_000 + j]),
                              f"DEMO-P{j + 1:02d}", practice=True))
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def _draw_row(folder: Path, group: str, sub: np.random.Generator, sid: str, *,
              practice: bool) -> dict[str, str]:
    """Draw one subject's photo into ``folder``; its manifest row."""
    from wbsdesk.services.synthetic_faces import draw_subject
    from wbsdesk.services.synthetic_traits import CLINIC_SPREAD

    male = sub.random() < _MALE[group]
    mean, sd = _AGE[group]
    age = float(np.clip(sub.gamma((mean / sd) ** 2, sd**2 / mean), 6, 180).round(1))
    diagnosis = ""
    if group == "wbs":
        diagnosis = "Williams-Beuren syndrome (synthetic)"
    elif group == "other_syndrome":
        names = list(_OTHER)
        w = np.array(list(_OTHER.values()), dtype=float)
        diagnosis = names[int(sub.choice(len(names), p=w / w.sum()))]
    _, face = draw_subject(group, sub, sex="M" if male else "F", age_months=age,
                           size=PHOTO_SIZE, spread=CLINIC_SPREAD)
    name = f"{sid}.jpg"
    face.image.save(folder / name, "JPEG", quality=92)
    x, y, w_, h_ = face.bbox
    return {"subject_id": sid, "photo": name, "group": group, "sex": "M" if male else "F",
            "age_months": f"{age:g}", "diagnosis": diagnosis, "primary": "1",
            "synthetic": "1", "practice": "1" if practice else "0",
            "face_box": json.dumps([round(v, 2) for v in (x, y, w_, h_)]),
            "landmarks": json.dumps(np.round(face.landmarks, 2).tolist())}


def build_demo(ws: Workspace, *, seed: int = DEMO_SEED, train: bool = True,
               counts: dict[str, int] | None = None, if_missing: bool = False,
               wait: float = DEMO_WAIT_SECONDS, progress: ProgressFn = no_progress,
               cancel: CancelToken | None = None) -> DemoResult | None:
    """Build the study ``demo`` in ``ws``: synthetic photos, import, folds, crops, simulated
    readers and (``train``) a quick CPU training run of the demo protocol.

    ``counts`` (subjects per group) defaults to :data:`GROUP_COUNTS`; the self-test uses a
    smaller demo. A cancelled or failed training leaves the study in place (resumable with
    ``wbsdesk train demo --resume RUN``); any earlier failure removes the study again.

    One process at a time builds the demo of a workspace: the build holds an operating-system
    lock on ``tmp/demo.lock`` (dropped when its process ends, even on SIGKILL). A second
    build waits for the first (up to ``wait`` seconds), then finds the demo there.

    Parameters
    ----------
    if_missing : bool, keyword-only
        Return ``None`` instead of refusing when the demo study exists.
    wait : float, keyword-only
        Seconds to wait for another process that is building the demo.

    Returns
    -------
    DemoResult or None
        ``None`` when ``if_missing`` and the demo existed.

    Raises
    ------
    UserError
        If the workspace already has a study named ``demo`` (and not ``if_missing``), or
        another process still builds it after ``wait`` seconds (the message names it).
    """
    cancel = cancel or CancelToken()
    with _demo_lock(ws, wait=wait, progress=progress, cancel=cancel):
        if ws.store.study(DEMO_STUDY) is not None:
            if if_missing:
                return None
            raise UserError(f"the workspace {ws.root} already has a study named "
                            f"{DEMO_STUDY!r}",
                            hint="use 'wbsdesk demo --if-missing', or another --workspace")
        return _build(ws, seed=seed, train=train, counts=counts, progress=progress,
                      cancel=cancel)


@contextlib.contextmanager
def _demo_lock(ws: Workspace, *, wait: float, progress: ProgressFn,
               cancel: CancelToken) -> Iterator[None]:
    """Hold the workspace's demo lock, waiting up to ``wait`` seconds for another holder."""
    root = ws.root

    def busy(who: dict[str, Any]) -> UserError:
        return UserError(f"the demo study of {root} is being built by {describe_holder(who)}",
                         hint="wait for it to finish ('wbsdesk demo --if-missing' then does "
                              "nothing), or stop that process")

    lock = FileLock(ws.tmp_dir / DEMO_LOCK, busy)
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            lock.acquire()
            break
        except UserError as exc:
            if time.monotonic() >= deadline:
                raise
            if not told:
                told = True
                log.info("%s; waiting", exc.message)
                progress(Progress(0, 0, f"waiting: {exc.message}"))
            cancel.raise_if_cancelled()
            time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        lock.release()


def _build(ws: Workspace, *, seed: int, train: bool, counts: dict[str, int] | None,
           progress: ProgressFn, cancel: CancelToken) -> DemoResult:
    """The build itself (the caller holds the demo lock and found no demo study)."""
    t0 = time.perf_counter()
    scratch = ws.tmp_dir / f"demo-{seed}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        manifest = write_demo_photos(scratch, seed=seed, counts=counts, progress=progress,
                                     cancel=cancel)
        study = studies.create_study(ws, DEMO_STUDY, bundled_protocol("demo"))
        try:
            import_manifest(ws, DEMO_STUDY, manifest, progress=progress, cancel=cancel)
            studies.set_practice(ws, DEMO_STUDY, [f"DEMO-P{j + 1:02d}"
                                                  for j in range(len(PRACTICE_GROUPS))])
            studies.folds(ws, DEMO_STUDY)
            # The generator knows each face's box and landmarks: crop through the manual
            # path (MTCNN finds ~97 % of these synthetic faces at p >= 0.9, not all).
            faces.align_study(ws, DEMO_STUDY, known_faces=True, workers=1, progress=progress,
                              cancel=cancel)
            # Four simulated readers (flagged simulated everywhere) so the comparison views
            # have human reads on a fresh machine.
            reading.add_simulated_readers(ws, DEMO_STUDY, seed=seed)
        except BaseException:
            with ws.store.atomic():
                ws.store.delete_study(study.id)
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    run = None
    if train:
        from wbsdesk.services import training

        run = training.train(ws, training.TrainRequest(DEMO_STUDY, demo=True),
                             progress=progress, cancel=cancel).run
        # The aided phase of the simulated readers (flagged simulated everywhere): the run's
        # out-of-fold aid, then each reader's aided re-reads, leaning on it by its trust.
        from wbsdesk.services.aid import prepare_aid
        from wbsdesk.services.simulated_aided import add_simulated_aided_reads

        row = ws.store.run(run) if run else None
        if row is not None and row.status == "finished":
            aid = prepare_aid(ws, DEMO_STUDY, run, progress=progress, cancel=cancel)
            add_simulated_aided_reads(ws, DEMO_STUDY, seed=seed, aid=aid)
        else:
            log.warning("the demo run did not finish: no aid, no simulated aided re-reads")
    secs = time.perf_counter() - t0
    log.info("built the demo study (seed %d) in %.1f s", seed, secs)
    groups = dict(GROUP_COUNTS if counts is None else counts)
    return DemoResult(study=DEMO_STUDY, subjects=sum(groups.values()), groups=groups,
                      seed=seed, seconds=secs, run=run)
