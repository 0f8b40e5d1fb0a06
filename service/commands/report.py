"""`goldenthread report`: build and store a report run (or read a stored one), write it out."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from alignment.errors import DomainError
from service.commands.common import fail, progress_bar
from service.commands.console import err
from service.commands.cut_short import kept
from service.commands.database import prepare_database
from service.commands.ids import Org, as_stored

OUTPUT = "'-o' / '--output'"


def report_cmd(
    org: Org,
    fmt: Annotated[str, typer.Option("--format", help="html, json or csv")] = "html",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout)")
    ] = None,
    run_id: Annotated[
        int | None,
        typer.Option(
            "--run",
            help="Write the organization's run with this number (see GET /orgs/ID/reports) "
            "instead of building one.",
        ),
    ] = None,
    cycle: Annotated[
        list[str] | None, typer.Option(help="Cycle(s) covered (default all).", callback=as_stored)
    ] = None,
    team: Annotated[
        list[str] | None, typer.Option(help="Only findings about these teams.", callback=as_stored)
    ] = None,
    perspective: Annotated[
        list[str] | None, typer.Option(help="financial, customer, internal_process, ...")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these finding kinds.")] = None,
    severity: Annotated[list[str] | None, typer.Option(help="high, medium or low.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Measure staleness on this day (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Build a misalignment report (scoring first if needed), store it, and write it out.

    Options that take several values are repeated: --kind orphan_okr --kind stale_checkin.
    With --run ID, write that stored run in any format; nothing is built or stored.
    """
    from alignment import report

    renderers = {"html": report.to_html, "json": report.to_json, "csv": report.to_csv}
    if fmt not in renderers:
        raise typer.BadParameter(f"--format must be one of {', '.join(renderers)}")
    check_output(output)
    if run_id is not None:
        building = {"--cycle": cycle, "--team": team, "--perspective": perspective}
        building |= {"--kind": kind, "--severity": severity, "--as-of": as_of}
        given = [name for name, value in building.items() if value]
        if given:
            raise typer.BadParameter(
                f"{', '.join(given)} choose what a new run covers; a stored run (--run) "
                "is written as it was built",
                param_hint="'--run'",
            )
        prepare_database()
        _write_stored(org, run_id, renderers[fmt], output)
        return
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of must be a date (YYYY-MM-DD), got {as_of!r}") from exc
    try:
        filters = report.ReportFilters(
            cycle=tuple(cycle or ()),
            team=tuple(team or ()),
            perspective=tuple(perspective or ()),
            kind=tuple(kind or ()),
            severity=tuple(severity or ()),
        )
    except ValueError as exc:  # pydantic's; the values are strings, so hardly reachable
        raise typer.BadParameter(str(exc)) from exc
    prepare_database()
    _build(org, filters, day, fmt, renderers[fmt], output)


def build_whole_report(org: str) -> None:
    """Build and store the organization's whole report, as the report page's job does (or
    find the stored one unchanged), so its first visit shows it instead of waiting for one."""
    from alignment import report

    _build(org, report.ReportFilters(), None, "html", None, None)


def check_output(output: Path | None) -> None:
    """Refuse an output path that cannot be written before anything is built or stored."""
    if output is None:
        return
    parent = output.parent
    if output.is_dir():
        raise typer.BadParameter(f"{output} is a directory", param_hint=OUTPUT)
    if not parent.is_dir():
        raise typer.BadParameter(f"directory {parent} does not exist", param_hint=OUTPUT)
    if not os.access(parent, os.W_OK | os.X_OK) or (
        output.exists() and not os.access(output, os.W_OK)
    ):
        raise typer.BadParameter(
            f"{output} cannot be written (permission denied)", param_hint=OUTPUT
        )


def _build(org, filters, day, fmt: str, render, output: Path | None) -> None:
    """Build and store a run; with a `render`, write it to `output` (or stdout)."""
    from alignment import db, report
    from alignment.embedder import get_embedder
    from alignment.report.config import check_filters_in
    from alignment.repository import require_org

    try:
        with progress_bar() as bar, db.transaction() as session:
            # Cheap checks before seconds of model loading.
            require_org(session, org)
            check_filters_in(session, org, filters, path=lambda name, _i: f"--{name}")
            task = bar.add_task("loading the model", total=None)
            embedder = get_embedder()
            run = report.build_report(
                session,
                org,
                embedder=embedder,
                filters=filters,
                as_of=day,
                on_stage=lambda label: bar.update(task, description=label),
                on_embed=lambda done, total: bar.update(task, completed=done, total=total),
            )
            text = None
            if render is not None:
                bar.update(task, description=f"rendering {fmt}")
                text = render(run)
                # Written inside the transaction: a file that cannot be written stores no run.
                _write(text, output)
            done = "unchanged, stored run" if run.reused else "stored"
            bar.update(task, description=f"report #{run.number} {done}", completed=1, total=1)
    except DomainError as exc:
        fail(exc)
    if render is not None:  # its output may yet fail or be cut short: say how to get it again
        kept(
            f"report #{run.number} for {org} is stored: `goldenthread report --org {org} "
            f"--run {run.number} --format {fmt}` writes it again"
        )
    if run.reused:
        built = run.created_at.strftime("%Y-%m-%d %H:%M")
        err.print(
            f"report [bold]#{run.number}[/] for {org}: nothing changed since it was built "
            f"({built}), so no new run was stored: {headline(run.summary)}"
        )
    else:
        err.print(f"report [bold]#{run.number}[/] for {org}: {headline(run.summary)}")
    if text is not None:
        _finish(text, output)


def _write_stored(org: str, run_id: int, render, output: Path | None) -> None:
    from alignment import db, report

    try:
        with db.transaction() as session:
            run = report.get_run(session, org, run_id)
            text = render(run)
            _write(text, output)
    except DomainError as exc:
        fail(exc)
    built = run.created_at.strftime("%Y-%m-%d %H:%M")
    err.print(f"report [bold]#{run.number}[/] for {org} (built {built}): {headline(run.summary)}")
    _finish(text, output)


def headline(summary: dict) -> str:
    """Counts and health in one line; health is "n/a" when no OKR is in scope."""
    from alignment.report import SEVERITIES

    counts = summary["counts"]
    by_severity = ", ".join(f"{counts['by_severity'][s]} {s}" for s in SEVERITIES)
    health = summary.get("alignment_health")
    shown = "n/a" if health is None else f"{health:.0%}"
    return f"{counts['findings']} findings ({by_severity}), alignment health {shown}"


def _write(text: str, output: Path | None) -> None:
    if output is None:
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DomainError(f"cannot write {output}: {exc.strerror or exc}") from exc


def _finish(text: str, output: Path | None) -> None:
    if output:
        err.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)
