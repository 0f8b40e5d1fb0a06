"""`goldenthread jobs`: the background jobs, listed, shown and cancelled from the command line.

A cancel here is the operator's (`cli:<user>`), who may cancel any job, as an admin may in
their organization; its audit entry names the operator and the job.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from alignment.access.principal import Principal, Role
from alignment.jobs import views
from alignment.jobs.cancel import cancel
from service.commands.common import audited, operator, run_in_transaction, when
from service.commands.console import out
from service.commands.ids import Org

jobs_app = typer.Typer(help="Background jobs: list, show, cancel.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JobId = Annotated[int, typer.Argument(help="The job's number (as in /jobs/{id}).", min=1)]
STATUSES = ("queued", "running", "retrying", "succeeded", "failed", "cancelled")
# The request fields of the API's errors, as this command line's arguments.
OPTIONS = {"path.job_id": "JOB_ID"}


def _line(job: dict[str, Any]) -> str:
    progress = job["progress"]
    where = f" {progress['label']} {progress['done']}/{progress['total']}" if progress else ""
    return f"#{job['id']:<6} {job['kind']:<18} {job['status']:<10}{where}  {job['requested_by']}"


@jobs_app.command("list")
def list_cmd(
    org: Org,
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only jobs in it: {', '.join(STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 50,
    as_json: AsJson = False,
) -> None:
    """An organization's jobs, newest first."""
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(
            f"one of {', '.join(STATUSES)}, not {status!r}", param_hint="'--status'"
        )

    def work(session: Session) -> tuple[list[dict[str, Any]], int]:
        from alignment.repository import require_org

        require_org(session, org)
        rows, total = views.listing(session, org, status=status, limit=limit)
        return [views.render(j) for j in rows], total

    items, total = run_in_transaction(work)
    if as_json:
        typer.echo(json.dumps({"items": items, "total": total}, indent=2, default=str))
        return
    for job in items:
        out.print(_line(job), markup=False, highlight=False)
    out.print(f"{len(items)} of {total} jobs", highlight=False)


@jobs_app.command("show")
def show_cmd(job_id: JobId) -> None:
    """One job as `GET /jobs/{id}` answers it (JSON)."""
    job = run_in_transaction(lambda s: views.render(views.get(s, None, job_id)), options=OPTIONS)
    typer.echo(json.dumps(job, indent=2, default=str))


@jobs_app.command("cancel")
def cancel_cmd(job_id: JobId) -> None:
    """Cancel a job: a queued or retrying one at once, a running one at its next step (its
    work is then rolled back). A finished job is refused; cancelling again changes nothing."""
    who = Principal(name=operator(), role=Role.admin, org_id=None)

    def work(session: Session) -> tuple[str, bool, dict[str, Any]]:
        done = cancel(session, job_id, principal=who)
        if done.changed:
            # The job's id, as the API's entry names it (`record`: the id in the URL): one
            # search of the log finds a job's cancel however it was made.
            audited(session, done.job.org_id, "jobs cancel", str(job_id))
        return done.outcome, done.changed, views.render(done.job)

    outcome, changed, job = run_in_transaction(work, options=OPTIONS)
    if outcome == "cancelled":
        again = "" if changed else " already"
        out.print(
            f"job {job_id} ({job['kind']}) was{again} cancelled by {job['cancelled_by']} at "
            f"{when(datetime.fromisoformat(job['cancelled_at']))}; no worker runs it",
            markup=False,
            highlight=False,
        )
        return
    again = "" if changed else " (asked already)"
    out.print(
        f"job {job_id} ({job['kind']}) is running: cancel requested by "
        f"{job['cancel_requested_by']}{again}; it stops at its next step and keeps nothing. "
        f"`goldenthread jobs show {job_id}` says when it has stopped",
        markup=False,
        highlight=False,
    )
