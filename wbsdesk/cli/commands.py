"""Foundation commands: studies, import, folds, Table 1, the demo and database checks."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.core.formatting import fmt_mean_sd, fmt_p
from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.services import demo as demo_service
from wbsdesk.services import studies as study_service
from wbsdesk.services.db_check import check_database
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.photos import list_orphan_files, remove_orphan_files


@cli.group()
def study() -> None:
    """Create, list and inspect studies."""


@study.command("create")
@click.argument("name")
@click.option("--protocol", "protocol", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Study protocol TOML file (see study_protocols/).")
@json_option
@click.pass_obj
def study_create(obj: Ctx, name: str, protocol: Path, as_json: bool) -> None:
    """Create study NAME following a protocol file."""
    with obj.open() as ws:
        s = study_service.create_study(ws, name, protocol)
        emit({"name": s.name, "protocol": s.protocol.name, "workspace": str(ws.root)}, as_json,
             lambda: click.echo(f"Created study {s.name!r} ({s.protocol.title}) in {ws.root}"))


@study.command("list")
@json_option
@click.pass_obj
def study_list(obj: Ctx, as_json: bool) -> None:
    """List the workspace's studies."""
    with obj.open() as ws:
        rows = study_service.list_studies(ws)

    def render() -> None:
        if not rows:
            click.echo(f"No studies in {obj.workspace_path}. Try 'wbsdesk demo'.")
            return
        table(["study", "protocol", "subjects", "photos", "data"],
              [[r["name"], r["protocol"],
                f"{r['subjects']} (+{r['practice_only']} practice)" if r["practice_only"]
                else r["subjects"], r["photos"],
                "synthetic" if r["synthetic"] else "real"] for r in rows])

    emit(rows, as_json, render)


@study.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def study_show(obj: Ctx, name: str, as_json: bool) -> None:
    """Subjects and photos per group, and fold status, of study NAME."""
    with obj.open() as ws:
        info = study_service.show_study(ws, name)

    def render() -> None:
        tag = " [SYNTHETIC DATA]" if info["synthetic"] else ""
        click.echo(f"Study {info['name']}{tag}: {info['title']} (protocol {info['protocol']})")
        table(["group", "label", "subjects", "excluded", "practice-only", "photos", "primary"],
              [[g + (" *" if v["positive"] else ""), v["label"], v["subjects"], v["excluded"],
                v["practice_only"], v["photos"], v["primary_photos"]]
               for g, v in info["groups"].items()]
              + [["total", "", info["subjects"], "",
                  sum(v["practice_only"] for v in info["groups"].values()), info["photos"],
                  ""]])
        f = info["folds"]
        if f["assigned"]:
            extra = (f"; {f['unassigned_subjects']} subjects have no fold yet"
                     if f["unassigned_subjects"] else "")
            click.echo(f"Folds: {f['k']} folds, seed {f['seed']}{extra}")
        else:
            click.echo(f"Folds: not assigned yet (run 'wbsdesk folds {name}')")
        fc = info["faces"]
        click.echo(f"Faces: {fc['ok']} ok, {fc['needs_review']} need review, "
                   f"{fc['not_aligned']} not aligned ({fc['manual']} manual crops) of "
                   f"{fc['primary_photos']} primary photos")
        click.echo("* positive (target) group")

    emit(info, as_json, render)


@cli.command("import")
@click.argument("name")
@click.option("--manifest", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with subject_id, photo, group [, sex, age_months, diagnosis, primary].")
@click.option("--photos", "photos_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder the photo paths are relative to (default: the CSV's).")
@click.option("--group-from", "group_column", default="group", show_default=True,
              help="Manifest column that holds the group, e.g. 'sex'.")
@json_option
@click.pass_obj
def import_cmd(obj: Ctx, name: str, manifest: Path, photos_dir: Path | None,
               group_column: str, as_json: bool) -> None:
    """Import subjects and photos into study NAME (all or nothing)."""
    out = sys.stderr if as_json else None
    with obj.open() as ws, click.progressbar(length=1, label="Importing", file=out) as bar:

        def progress(p: Progress) -> None:
            bar.length = max(p.total, 1)
            bar.update(p.done - bar.pos, current_item=p.message)

        report = import_manifest(ws, name, manifest, photos_dir, group_column=group_column,
                                 progress=progress, cancel=CancelToken())
    data = asdict(report) | {"no_op": report.no_op}

    def render() -> None:
        if report.no_op:
            click.echo(f"Nothing new: all {report.rows} rows are already in {name!r}.")
        else:
            click.echo(f"Imported into {name!r}: {report.subjects_added} subjects, "
                       f"{report.photos_added} photos ({report.photos_already_present} were "
                       "already there).")

    emit(data, as_json, render)


@cli.command("folds")
@click.argument("name")
@click.option("--seed", type=int, default=None, help="Seed for the first assignment "
              "(default: the protocol's).")
@click.option("--reassign", is_flag=True, help="Replace an existing assignment.")
@json_option
@click.pass_obj
def folds_cmd(obj: Ctx, name: str, seed: int | None, reassign: bool, as_json: bool) -> None:
    """Assign the cross-validation folds of NAME once, then show them (Table 3)."""
    with obj.open() as ws:
        rep = study_service.folds(ws, name, seed=seed, reassign=reassign)
    data = rep.to_dict()

    def render() -> None:
        verb = "Assigned" if rep.newly_assigned else "Stored"
        click.echo(f"{verb} folds of {name!r}: k={rep.k}, seed={rep.seed}")
        totals = data["fold_totals"]
        table(["subset", *rep.groups, "total"],
              [[f"Subset {i + 1}", *[rep.table[g][i] for g in rep.groups], totals[i]]
               for i in range(rep.k)]
              + [["total", *[sum(rep.table[g]) for g in rep.groups], sum(totals)]])
        if rep.unassigned_subjects:
            click.echo(f"{rep.unassigned_subjects} subjects were imported after the folds were "
                       "assigned; use --reassign to include them.")

    emit(data, as_json, render)


@cli.command("table1")
@click.argument("name")
@json_option
@click.pass_obj
def table1_cmd(obj: Ctx, name: str, as_json: bool) -> None:
    """Demographics of the target group vs. all controls (the paper's Table 1)."""
    with obj.open() as ws:
        s, t = study_service.demographics(ws, name)
    pos = s.protocol.groups.positive
    data = {"study": name, "target_group": pos, "target": asdict(t.target),
            "controls": asdict(t.controls), "age_p": t.age_p, "age_test": t.age_test,
            "sex_p": t.sex_p, "sex_test": t.sex_test}

    def render() -> None:
        a, c = t.target, t.controls
        table(["Characteristic", s.protocol.groups.label(pos), "Controls", "P-value"], [
            ["Number of subjects", a.n, c.n, ""],
            ["Age at photograph (months)", fmt_mean_sd(a.age_mean, a.age_sd, 2),
             fmt_mean_sd(c.age_mean, c.age_sd, 2), fmt_p(t.age_p)],
            ["Sex (male/female)", f"{a.male}/{a.female}", f"{c.male}/{c.female}",
             fmt_p(t.sex_p)],
        ])
        click.echo(f"Age: mean ± SD (n-1), {t.age_test}. Sex: {t.sex_test}.")
        missing = a.n - a.age_n + c.n - c.age_n
        if missing:
            click.echo(f"{missing} subjects without an age are left out of the age test.")

    emit(data, as_json, render)


@cli.command("demo")
@click.option("--if-missing", is_flag=True, help="Do nothing if the demo study exists.")
@click.option("--seed", type=int, default=demo_service.DEMO_SEED, show_default=True,
              help="Seed of the synthetic faces.")
@click.option("--train/--no-train", default=True, show_default=True,
              help="Also run the quick CPU training of the demo protocol (1-3 minutes).")
@json_option
@click.pass_obj
def demo_cmd(obj: Ctx, if_missing: bool, seed: int, train: bool, as_json: bool) -> None:
    """Build the synthetic demo study 'demo' (no real person appears)."""
    last = [""]

    def progress(p: Progress) -> None:
        step = p.message.split(" · ")[0]
        if step != last[0]:
            last[0] = step
            click.echo(f"  {step}", err=True)

    with obj.open() as ws:  # waits while another process builds the demo
        result = demo_service.build_demo(ws, seed=seed, train=train, if_missing=if_missing,
                                         progress=progress)
    if result is None:
        info = {"study": demo_service.DEMO_STUDY, "built": False}
        emit(info, as_json, lambda: click.echo("The demo study already exists."))
        return
    data = {"study": result.study, "built": True, "subjects": result.subjects,
            "groups": result.groups, "seed": result.seed, "seconds": round(result.seconds, 1),
            "run": result.run, "synthetic": True, "workspace": str(obj.workspace_path)}
    emit(data, as_json, lambda: click.echo(
        f"Built the demo study {result.study!r} (SYNTHETIC faces, simulated readers): "
        f"{result.subjects} subjects {result.groups}"
        + (f", training run {result.run}" if result.run else "")
        + f", in {result.seconds:.0f} s. Open it with 'wbsdesk gui'."))


@cli.group("db")
def db_group() -> None:
    """Workspace database maintenance."""


@db_group.command("check")
@click.option("--repair", is_flag=True,
              help="Remove the orphaned files listed (photos and crops no row references, "
                   "leftovers of a killed import); asks first.")
@click.option("--yes", is_flag=True, help="With --repair: remove without asking.")
@json_option
@click.pass_obj
def db_check(obj: Ctx, repair: bool, yes: bool, as_json: bool) -> None:
    """Integrity, schema version and files of the workspace database (read-only).

    Writes nothing: no migration is applied (pending ones are listed), and no file or folder
    is created or changed. Orphaned files are listed; only --repair removes them. Exits 1
    when a problem is found.
    """
    result = check_database(obj.workspace_path)
    orphans = list_orphan_files(obj.workspace_path) if result.ok else []
    data = result.to_dict() | {"orphans": [str(p) for p in orphans]}

    def render() -> None:
        applied = result.migrations
        version = f"schema version {len(applied)}" + (f" ({applied[-1]})" if applied else "")
        click.echo(f"{result.database}: {version}")
        click.echo("integrity: ok" if result.ok else "integrity: PROBLEMS")
        for p in result.problems:
            click.echo(f"  - {p}")
        if result.wal:
            click.echo(f"write-ahead log: {result.wal}")
        for n in result.notes:
            click.echo(f"note: {n}")
        for p in orphans:
            click.echo(f"orphaned file: {p}")
        if orphans and not repair:
            click.echo(f"{len(orphans)} orphaned file(s): left by a killed import or alignment, "
                       "no row references them; 'wbsdesk db check --repair' removes them")

    emit(data, as_json, render)
    if repair and orphans:
        if not yes and not click.confirm(f"Remove these {len(orphans)} orphaned files?",
                                         err=as_json):
            raise SystemExit(1)
        with obj.open() as ws:
            removed = remove_orphan_files(ws, orphans)
        click.echo(f"Removed {removed} orphaned files.", err=as_json)
    if not result.ok:
        raise SystemExit(1)
