"""Training commands: cross-validation runs, ImageNet weights, and predicting a new photo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.cli.face_commands import cancel_on_ctrl_c
from wbsdesk.cli.progress_render import TrainProgress
from wbsdesk.core.architectures import arch_label, arch_labels
from wbsdesk.core.training_request import LR_SCHEDULES, setting_range
from wbsdesk.services import training as training_service


def _int_range(key: str) -> click.IntRange:
    """The option's bounds: the run setting's range (one definition, also the GUI's; a
    number is checked by the protocol's range when the settings are applied)."""
    low, high, _ = setting_range(key)
    return click.IntRange(low, high)


@cli.command("train")
@click.argument("name")
@click.option("--arch", "archs", multiple=True,
              help="Architecture (repeatable; default: the protocol's).")
@click.option("--epochs", type=_int_range("epochs"), default=None,
              help="Epochs per fold (default: the protocol's).")
@click.option("--input-px", type=_int_range("input_px"), default=None,
              help="Input size in pixels for this run (default: the protocol's).")
@click.option("--batch-size", type=_int_range("batch_size"), default=None,
              help="Batch size for this run (default: the protocol's).")
@click.option("--lr", type=float, default=None,
              help="Learning rate for this run (default: the protocol's).")
@click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES),
              default=None, help="Learning-rate schedule for this run (default: the protocol's).")
@click.option("--momentum", type=float, default=None, help="SGD momentum for this run.")
@click.option("--weight-decay", type=float, default=None, help="Weight decay for this run.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
@click.option("--devices", default=None,
              help="GPUs to spread the units over, e.g. cuda:0,cuda:1 (default: all visible).")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Units (architecture x fold) trained at once (default: from memory, cores "
                   "and GPUs).")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS|auto",
              help="Train the units as Ray tasks on this cluster (pip install "
                   "'wbsdesk[cluster]').")
@click.option("--weights", type=click.Choice(["imagenet", "none"]), default=None,
              help="Initialisation (default: the protocol's).")
@click.option("--resume", default=None, help="Continue this unfinished run.")
@click.option("--deterministic", is_flag=True,
              help="Exact fp32 deterministic mode (CPU): a resumed run equals an unbroken one.")
@click.option("--plan", "plan_only", is_flag=True,
              help="List the units (architecture x fold) and where they would train; train "
                   "nothing.")
@click.option("--estimate", is_flag=True,
              help="With --plan: also time a few training steps of each architecture here "
                   "and say how long the run would take (the set-up's 'Estimate time'; a "
                   "few seconds per architecture).")
@json_option
@click.pass_obj
def train_cmd(obj: Ctx, name: str, archs: tuple[str, ...], epochs: int | None,
              input_px: int | None, batch_size: int | None, lr: float | None,
              lr_schedule: str | None, momentum: float | None, weight_decay: float | None,
              device: str, devices: str | None, workers: int | None, ray_address: str | None,
              weights: str | None, resume: str | None, deterministic: bool, plan_only: bool,
              estimate: bool, as_json: bool) -> None:
    """Train the protocol's cross-validation on study NAME (Ctrl-C stops resumably).

    The run is a set of units, one per architecture and fold; --plan lists them (and,
    with --estimate, times a few steps here and says how long it would take). Settings
    given here (--epochs, --input-px, --batch-size, --lr, ...) override the protocol for
    this run and are recorded with it. Progress goes to stderr: a live line on a terminal,
    one line per epoch per unit in a log file.
    """
    from wbsdesk.core.scheduling import parse_devices
    from wbsdesk.core.training_request import RunSettings, TrainRequest

    request = TrainRequest(
        name, archs=archs or None, settings=RunSettings(
            input_px=input_px, batch_size=batch_size, lr=lr, lr_schedule=lr_schedule,
            epochs=epochs, momentum=momentum, weight_decay=weight_decay),
        device=device, devices=parse_devices(devices), workers=workers, weights=weights,
        resume=resume, deterministic=deterministic, ray_address=ray_address)
    if estimate and (not plan_only or resume):
        raise click.UsageError("--estimate goes with --plan, for a new run (not --resume)")
    if plan_only:
        from wbsdesk.services.training_plan import plan_run

        with obj.open() as ws:
            plan = plan_run(ws, request)
            guess = _estimate(ws, plan, request) if estimate else None
        data = plan.as_dict()
        if guess is not None:
            data["estimate"] = guess
        emit(data, as_json, lambda: _render_plan(plan, guess))
        return
    printer = TrainProgress()
    try:
        with obj.open() as ws, cancel_on_ctrl_c() as token:
            rep = training_service.train(ws, request, progress=printer, cancel=token)
    finally:
        printer.close()
    data = rep.__dict__

    def render() -> None:
        click.echo(f"Run {rep.run} finished on {rep.device} in {rep.seconds:.0f} s: "
                   f"{rep.folds_imported} units of {arch_labels(rep.archs)}.")
        click.echo(f"Settings: {rep.settings.get('text', '')}")
        click.echo(f"Folder: {rep.run_dir}")

    emit(data, as_json, render)


def _estimate(ws: Any, plan: Any, request: Any) -> dict[str, Any]:
    """The set-up's time estimate of a planned new run: a few steps of each architecture
    timed here (:func:`~wbsdesk.services.training_probe.probe_throughput`), extrapolated to
    the plan's folds and epochs."""
    from wbsdesk.services.training_probe import probe_throughput

    archs = list(dict.fromkeys(u.arch for u in plan.units))
    epochs = max(u.epochs for u in plan.units)
    click.echo(f"Timing a few training steps of {arch_labels(archs)} here…", err=True)
    est = probe_throughput(ws, plan.study, archs, device=request.device,
                           settings=request.settings.overrides())
    return {"seconds": round(est.seconds(archs, epochs=epochs), 1),
            "text": est.describe(archs, epochs=epochs),
            "details": est.details(archs, epochs=epochs)}


def _render_plan(plan, estimate: dict[str, Any] | None = None) -> None:
    """The units of a plan (and its time estimate), for people."""
    where = (f"run {plan.run}" if plan.run else "a new run")
    click.echo(f"{len(plan.units)} units for {where} of {plan.study}: {plan.settings_text}")
    table(["architecture", "fold", "train", "test", "batches/epoch", "epochs", "state"],
          [[arch_label(u.arch), u.fold, u.n_train, u.n_test, u.steps_per_epoch,
            f"{u.epochs_done}/{u.epochs}" if u.state == "started" else u.epochs, u.state]
           for u in plan.units])
    if plan.executor == "ray":
        click.echo("Executor: Ray tasks on the cluster (one per unit).")
    elif plan.workers:
        slots = ", ".join(f"{w['device']} ({w['threads']} threads)" for w in plan.workers)
        click.echo(f"Executor: {len(plan.workers)} at once on this machine: {slots}.")
    if estimate is not None:
        click.echo(f"Estimated time: {estimate['text']}.")
        click.echo(estimate["details"])


@cli.command("runs")
@click.argument("name")
@json_option
@click.pass_obj
def runs_cmd(obj: Ctx, name: str, as_json: bool) -> None:
    """List the training runs of study NAME (units finished so far, settings)."""
    with obj.open() as ws:
        rows = training_service.list_runs(ws, name)

    def render() -> None:
        if not rows:
            click.echo(f"No runs yet. Start one with 'wbsdesk train {name}'.")
            return
        table(["run", "status", "archs", "units done", "settings", "device", "started"],
              [[r["run"] + (" (demo)" if r["demo"] else ""), _status(r), arch_labels(r["archs"]),
                f"{r['folds_done']}/{r['folds_total']}", r["settings"]["text"], r["device"],
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
@click.argument("photos", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run", default=None, help="Run to use (default: the latest finished).")
@click.option("--heatmap", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a Grad-CAM overlay on the model crop (PNG; one photo).")
@click.option("--heatmap-model", default=None,
              help="Architecture the Grad-CAM explains (default: the run's first).")
@click.option("--heatmap-fold", type=click.IntRange(min=1), default=None,
              help="Only this fold's model (default: the mean over the folds).")
@click.option("--age-months", type=click.FloatRange(min=0), default=None,
              help="The subject's age, checked against the study's age range.")
@click.option("--box", default=None, help="Face box x,y,w,h when detection fails (one photo).")
@json_option
@click.pass_obj
def predict_cmd(obj: Ctx, name: str, photos: tuple[Path, ...], run: str | None,
                heatmap: Path | None, heatmap_model: str | None, heatmap_fold: int | None,
                age_months: float | None, box: str | None, as_json: bool) -> None:
    """Score new PHOTOS with every fold model of a run of NAME (research use only).

    The fold models are loaded once for all the photos. Each model's probability is the
    mean of its fold models, shown with their spread (SD, range) and every fold's value.
    Warns when a photo differs from the study's photos (age, capture, detection
    confidence) and when the Grad-CAM's feature map is too coarse to localise. With
    several photos --json prints a list.
    """
    from wbsdesk.services.batch_prediction import BatchItem, predict_photos, spreads
    from wbsdesk.services.faces import parse_numbers
    from wbsdesk.services.prediction import predict_photo

    b = parse_numbers(box, 4, "--box") if box else None
    if (heatmap_model or heatmap_fold) and heatmap is None:
        raise click.UsageError("--heatmap-model and --heatmap-fold need --heatmap FILE")
    if len(photos) > 1 and (heatmap is not None or b is not None):
        raise click.UsageError("--heatmap and --box apply to one photo at a time")
    with obj.open() as ws:
        if len(photos) == 1:
            res = predict_photo(ws, name, photos[0], run=run, heatmap=heatmap, box=b,
                                heatmap_arch=heatmap_model, heatmap_fold=heatmap_fold,
                                age_months=age_months)
            items = [BatchItem(str(photos[0]), res, spreads(res))]
        else:
            items = predict_photos(ws, name, photos, run=run, age_months=age_months)

    def render() -> None:
        click.echo("Research use only, not a diagnosis.")
        for item in items:
            _render_prediction(item)

    payload: Any = [i.as_dict() for i in items]
    emit(payload[0] if len(photos) == 1 else payload, as_json, render)
    sys.stdout.flush()


def _render_prediction(item: Any) -> None:
    """One photo's prediction: every model's mean with its folds' spread and values."""
    res = item.prediction
    click.echo("")
    if res is None:
        click.echo(f"{item.photo}: {item.error}")
        return
    click.echo(f"{item.photo} — run {res.run}; face: {res.face_status} "
               f"{' '.join(res.face_reasons)}".rstrip())
    n = max((len(s.folds) for s in item.spread.values()), default=0)
    folds = next(iter(res.fold_numbers.values()), list(range(1, n + 1)))
    rows = []
    for model in [*res.per_arch, "ensemble"]:
        s = item.spread.get(model)
        mean = res.ensemble if model == "ensemble" else res.per_arch[model]
        if s is None:
            rows.append([arch_label(model), f"{mean:.3f}", "", "", *[""] * n])
            continue
        rows.append([arch_label(model), f"{mean:.3f}", f"{s.sd:.3f}",
                     f"{s.low:.3f}–{s.high:.3f}", *[f"{p:.3f}" for p in s.folds]])
    table(["model", f"P({res.positive_group})", "SD", "range",
           *[f"fold {k}" for k in folds[:n]]], rows)
    for w in res.all_warnings():
        click.echo(f"Warning: {w}")
    for note in res.notes:
        click.echo(f"Note: {note}")
    if res.heatmap:
        click.echo(f"Grad-CAM overlay: {res.heatmap}")
        if res.gradcam is not None:
            click.echo(res.gradcam.caption())
