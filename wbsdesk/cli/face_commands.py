"""Face commands: align a study, list what needs review, manual crops, exclusions."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.cli.progress_render import CountProgress
from wbsdesk.core.jobs import CancelToken
from wbsdesk.services import faces as face_service


@contextmanager
def cancel_on_ctrl_c() -> Iterator[CancelToken]:
    """A cancel token that Ctrl-C sets (the job stops cleanly at its next check)."""
    token = CancelToken()

    def handler(signum, frame) -> None:
        click.echo("\nCancelling (finished work is kept)...", err=True)
        token.cancel()

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, old)


@cli.command("align")
@click.argument("name")
@click.option("--force", is_flag=True, help="Re-align photos that already have an automatic "
              "crop (manual crops are kept).")
@click.option("--workers", type=click.IntRange(1, 16), default=None,
              help="Worker processes (default: CPU count, at most 4).")
@json_option
@click.pass_obj
def align_cmd(obj: Ctx, name: str, force: bool, workers: int | None, as_json: bool) -> None:
    """Detect and crop the face of every primary photo of study NAME.

    Progress goes to stderr: a live line on a terminal, a line every 10 s in a log file.
    """
    with obj.open() as ws, cancel_on_ctrl_c() as token, \
            CountProgress("Aligning photos", sys.stderr) as progress:
        s = face_service.align_study(ws, name, force=force, workers=workers,
                                     progress=progress, cancel=token)

    def render() -> None:
        click.echo(f"Aligned {s.aligned} photos of {name!r} in {s.seconds:.1f} s "
                   f"({s.skipped} already done): {s.ok} ok, {s.needs_review} need review.")
        for f in s.failed:
            click.echo(f"  could not read {f}")
        if s.needs_review:
            click.echo(f"See 'wbsdesk review {name}'.")

    emit(s.to_dict(), as_json, render)


@cli.command("review")
@click.argument("name")
@json_option
@click.pass_obj
def review_cmd(obj: Ctx, name: str, as_json: bool) -> None:
    """List the photos of NAME that need a human look before training or reading."""
    with obj.open() as ws:
        rows = face_service.review_list(ws, name)

    def render() -> None:
        if not rows:
            click.echo(f"All primary photos of {name!r} are aligned and ok.")
            return
        table(["photo id", "subject", "file", "status", "why", "faces", "confidence"],
              [[r["photo_id"], r["subject"], r["photo"], r["status"], r["why"], r["n_faces"],
                "" if r["confidence"] is None else f"{r['confidence']:.3f}"] for r in rows])
        click.echo("Fix with 'wbsdesk crop NAME PHOTO --box x,y,w,h' or "
                   "'wbsdesk exclude NAME SUBJECT --reason TEXT'.")

    emit(rows, as_json, render)


@cli.command("crop")
@click.argument("name")
@click.argument("photo")
@click.option("--box", required=True, help="Face box x,y,w,h in the upright photo's pixels "
              "(mid-forehead to chin, cheek to cheek).")
@click.option("--landmarks", default=None, help="x1,y1,...,x5,y5: eye, eye, nose tip, mouth "
              "corner, mouth corner, left to right as seen in the image.")
@json_option
@click.pass_obj
def crop_cmd(obj: Ctx, name: str, photo: str, box: str, landmarks: str | None,
             as_json: bool) -> None:
    """Set a manual face crop for PHOTO (photo id, subject ID or file name) of NAME."""
    with obj.open() as ws:
        row = face_service.set_manual_crop(ws, name, photo, box=box, landmarks=landmarks)
    emit(row, as_json, lambda: click.echo(
        f"Manual crop set for {row['subject']} (photo {row['photo_id']}): "
        f"{row['model_crop_path']}, {row['reader_crop_path']}"))


@cli.command("exclude")
@click.argument("name")
@click.argument("subject", required=False)
@click.option("--reason", default=None, help="Why the subject is left out (required).")
@click.option("--from", "from_file", type=click.Path(exists=True, dir_okay=False,
                                                     path_type=Path), default=None,
              help="A CSV with columns subject,reason: exclude every subject it lists (all "
                   "or nothing).")
@click.option("--undo", is_flag=True, help="Include the subject(s) again.")
@json_option
@click.pass_obj
def exclude_cmd(obj: Ctx, name: str, subject: str | None, reason: str | None,
                from_file: Path | None, undo: bool, as_json: bool) -> None:
    """Exclude SUBJECT of NAME (or those --from FILE lists) from training and reading.

    Every exclusion is recorded in the audit log. A file is checked whole first: one row
    naming an unknown subject, a subject twice or no reason changes nothing.
    """
    if from_file is not None:
        if subject or reason:
            raise click.UsageError("give SUBJECT --reason TEXT or --from FILE, not both")
        from wbsdesk.services.exclusions import exclude_from_file

        with obj.open() as ws:
            done = exclude_from_file(ws, name, from_file, undo=undo)
        rows = [{"study": name, "subject": e.subject, "excluded": not undo, "reason": e.reason,
                 "was_excluded": e.was_excluded} for e in done]
        emit(rows, as_json, lambda: click.echo(
            f"{'Included' if undo else 'Excluded'} {len(rows)} subject(s) of {name!r} from "
            f"{from_file.name}: {', '.join(r['subject'] for r in rows)}."))
        return
    if not subject:
        raise click.UsageError("give SUBJECT (or --from FILE)")
    if not undo and not reason:
        raise click.UsageError("give --reason TEXT (or --undo)")
    with obj.open() as ws:
        face_service.exclude_subject(ws, name, subject, reason=None if undo else reason)
    data = {"study": name, "subject": subject, "excluded": not undo, "reason": reason}
    emit(data, as_json, lambda: click.echo(
        f"{'Included' if undo else 'Excluded'} subject {subject} of {name!r}."))


@cli.command("practice")
@click.argument("name")
@click.argument("subjects", nargs=-1, required=True)
@click.option("--undo", is_flag=True, help="Make them study subjects again.")
@json_option
@click.pass_obj
def practice_cmd(obj: Ctx, name: str, subjects: tuple[str, ...], undo: bool,
                 as_json: bool) -> None:
    """Mark SUBJECTS of NAME as practice-only: readers see them only as practice photos.

    Practice-only subjects are left out of the folds, training and every analysis, so no
    face is both a practice photo and a scored one. Mark them before the first reading
    session and training run. The protocol's [reading] practice_photos are drawn from them.
    """
    from wbsdesk.services import studies

    with obj.open() as ws:
        changed = studies.set_practice(ws, name, list(subjects), practice=not undo)
    data = {"study": name, "practice_only": not undo, "changed": changed}
    emit(data, as_json, lambda: click.echo(
        f"{len(changed)} subject(s) of {name!r} "
        f"{'are study subjects again' if undo else 'are now practice-only'}"
        + (f": {', '.join(changed)}." if changed else " (no change).")))
