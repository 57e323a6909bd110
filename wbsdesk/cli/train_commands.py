"""Training commands: cross-validation runs, ImageNet weights, and predicting a new photo."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.cli.face_commands import cancel_on_ctrl_c
from wbsdesk.core.architectures import arch_label, arch_labels
from wbsdesk.core.jobs import Progress
from wbsdesk.services import training as training_service


@cli.command("train")
@click.argument("name")
@click.option("--arch", "archs", multiple=True,
              help="Architecture (repeatable; default: the protocol's).")
@click.option("--epochs", type=click.IntRange(1, 10_000), default=None,
              help="Epochs per fold (default: the protocol's).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
@click.option("--weights", type=click.Choice(["imagenet", "none"]), default=None,
              help="Initialisation (default: the protocol's).")
@click.option("--resume", default=None, help="Continue this unfinished run.")
@click.option("--deterministic", is_flag=True,
              help="Exact fp32 deterministic mode (CPU): a resumed run equals an unbroken one.")
@json_option
@click.pass_obj
def train_cmd(obj: Ctx, name: str, archs: tuple[str, ...], epochs: int | None, device: str,
              weights: str | None, resume: str | None, deterministic: bool,
              as_json: bool) -> None:
    """Train the protocol's cross-validation on study NAME (Ctrl-C stops resumably)."""
    last = [""]

    def progress(p: Progress) -> None:
        if p.message and p.message != last[0]:
            last[0] = p.message
            click.echo(f"[{p.done}/{p.total}] {p.message}", err=True)

    with obj.open() as ws, cancel_on_ctrl_c() as token:
        rep = training_service.train(ws, name, archs=list(archs) or None, epochs=epochs,
                                     device=device, weights=weights, resume=resume,
                                     deterministic=deterministic, progress=progress,
                                     cancel=token)
    data = rep.__dict__

    def render() -> None:
        click.echo(f"Run {rep.run} finished on {rep.device} in {rep.seconds:.0f} s: "
                   f"{rep.folds_imported} folds of {arch_labels(rep.archs)}.")
        click.echo(f"Folder: {rep.run_dir}")

    emit(data, as_json, render)


@cli.command("runs")
@click.argument("name")
@json_option
@click.pass_obj
def runs_cmd(obj: Ctx, name: str, as_json: bool) -> None:
    """List the training runs of study NAME."""
    with obj.open() as ws:
        rows = training_service.list_runs(ws, name)

    def render() -> None:
        if not rows:
            click.echo(f"No runs yet. Start one with 'wbsdesk train {name}'.")
            return
        table(["run", "status", "archs", "epochs", "folds done", "device", "started"],
              [[r["run"] + (" (demo)" if r["demo"] else ""), _status(r), arch_labels(r["archs"]),
                r["epochs"], f"{r['folds_done']}/{r['folds_total']}", r["device"],
                r["started_at"][:19]] for r in rows])

    emit(rows, as_json, render)


def _status(row: dict) -> str:
    """A run's status as the user should read it."""
    if row["status"] == "running":
        return "running" if row["in_use"] else "interrupted (resumable)"
    return row["status"]


@cli.group("weights")
def weights_group() -> None:
    """ImageNet weight files for transfer learning (never downloaded automatically)."""


@weights_group.command("status")
@json_option
def weights_status_cmd(as_json: bool) -> None:
    """Show which architectures' ImageNet weights are installed, and where."""
    from wbsdesk.ml.weights import weights_status

    rows = [{"arch": s.arch, "present": s.present, "file": str(s.path), "size": s.size,
             "sha256": s.sha256, "url": s.url} for s in weights_status()]
    emit(rows, as_json, lambda: table(
        ["arch", "installed", "file", "sha256"],
        [[r["arch"], "yes" if r["present"] else "NO", r["file"],
          (r["sha256"] or "")[:16]] for r in rows]))


@weights_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def weights_import_cmd(file: Path, as_json: bool) -> None:
    """Check a weight FILE (safe load, architecture from keys and shapes) and install it."""
    from wbsdesk.ml.weights import import_weights

    res = import_weights(file)
    data = {"arch": res.arch, "sha256": res.sha256, "dest": str(res.dest),
            "official": res.official}
    emit(data, as_json, lambda: click.echo(
        f"Installed {res.arch} weights at {res.dest} (sha256 {res.sha256[:16]}..."
        f"{', identical to torchvision' if res.official else ''})."))


@cli.command("predict")
@click.argument("name")
@click.argument("photo", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run", default=None, help="Run to use (default: the latest finished).")
@click.option("--heatmap", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a Grad-CAM overlay on the model crop (PNG).")
@click.option("--heatmap-model", default=None,
              help="Architecture the Grad-CAM explains (default: the run's first).")
@click.option("--heatmap-fold", type=click.IntRange(min=1), default=None,
              help="Only this fold's model (default: the mean over the folds).")
@click.option("--age-months", type=click.FloatRange(min=0), default=None,
              help="The subject's age, checked against the study's age range.")
@click.option("--box", default=None, help="Face box x,y,w,h when detection fails.")
@json_option
@click.pass_obj
def predict_cmd(obj: Ctx, name: str, photo: Path, run: str | None, heatmap: Path | None,
                heatmap_model: str | None, heatmap_fold: int | None,
                age_months: float | None, box: str | None, as_json: bool) -> None:
    """Score a new PHOTO with every fold model of a run of NAME (research use only).

    Warns when the photo differs from the study's photos (age, capture, detection
    confidence) and when the Grad-CAM's feature map is too coarse to localise.
    """
    from wbsdesk.services.faces import parse_numbers
    from wbsdesk.services.prediction import predict_photo

    b = parse_numbers(box, 4, "--box") if box else None
    if (heatmap_model or heatmap_fold) and heatmap is None:
        raise click.UsageError("--heatmap-model and --heatmap-fold need --heatmap FILE")
    with obj.open() as ws:
        res = predict_photo(ws, name, photo, run=run, heatmap=heatmap, box=b,
                            heatmap_arch=heatmap_model, heatmap_fold=heatmap_fold,
                            age_months=age_months)

    def render() -> None:
        click.echo(f"Research use only, not a diagnosis. Run {res.run}; face: "
                   f"{res.face_status} {' '.join(res.face_reasons)}")
        table(["model", f"P({res.positive_group})"],
              [[arch_label(a), f"{p:.3f}"] for a, p in res.per_arch.items()]
              + [[arch_label("ensemble"), f"{res.ensemble:.3f}"]])
        for w in res.all_warnings():
            click.echo(f"Warning: {w}")
        for n in res.notes:
            click.echo(f"Note: {n}")
        if res.heatmap:
            click.echo(f"Grad-CAM overlay: {res.heatmap}")
            if res.gradcam is not None:
                click.echo(res.gradcam.caption())

    payload = res.to_dict()
    payload["all_warnings"] = res.all_warnings()
    emit(payload, as_json, render)
    sys.stdout.flush()
