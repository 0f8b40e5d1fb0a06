"""`goldenthread report`: build and store a report run, write it as HTML, JSON or CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from alignment.errors import DomainError


def report_cmd(
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    fmt: Annotated[str, typer.Option("--format", help="html, json or csv")] = "html",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout)")
    ] = None,
    cycle: Annotated[list[str] | None, typer.Option(help="Cycle(s) covered (default all).")] = None,
    team: Annotated[list[str] | None, typer.Option(help="Only findings about these teams.")] = None,
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
    """
    from alignment import db, report
    from alignment.embedder import get_embedder
    from alignment.repository import require_org
    from service.cli import _progress, err, fail, prepare_database

    renderers = {"html": report.to_html, "json": report.to_json, "csv": report.to_csv}
    if fmt not in renderers:
        raise typer.BadParameter(f"--format must be one of {', '.join(renderers)}")
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of must be a date (YYYY-MM-DD), got {as_of!r}") from exc
    filters = report.ReportFilters(
        cycle=tuple(cycle or ()),
        team=tuple(team or ()),
        perspective=tuple(perspective or ()),
        kind=tuple(kind or ()),
        severity=tuple(severity or ()),
    )
    prepare_database()
    try:
        with _progress() as bar, db.transaction() as session:
            require_org(session, org)  # before seconds of model loading
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
            bar.update(task, description=f"rendering {fmt}")
            text = renderers[fmt](run)
            bar.update(task, description=f"report #{run.id} stored", completed=1, total=1)
    except DomainError as exc:
        fail(exc)
    counts = run.summary["counts"]
    by_severity = ", ".join(f"{counts['by_severity'][s]} {s}" for s in report.SEVERITIES)
    err.print(
        f"report [bold]#{run.id}[/] for {org}: {counts['findings']} findings "
        f"({by_severity}), "
        f"alignment health {run.summary['alignment_health'] or 0:.0%}"
    )
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)
