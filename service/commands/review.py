"""`goldenthread review`: the OKRs and check-ins the engine is unsure about, decided from the
command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from alignment import check_in_review, review
from alignment.drafting.schemas import TEXT_MAX
from alignment.errors import Invalid
from service.commands.common import audited_as, operator, run_in_transaction, text_option
from service.commands.console import out
from service.commands.ids import Org, as_stored

review_app = typer.Typer(
    help="The review queue: OKRs and check-ins with no confident verdict.", no_args_is_help=True
)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
# The request fields of the API's errors, as this command line's arguments and options.
OPTIONS = {
    "$.verdict": "VERDICT",
    "$.objective_id": "OBJECTIVE",
    "$.note": "--note",
    "path.okr_id": "OKR",
    "path.check_in_id": "CHECK_IN",
}


def _queue(items: list[dict], as_json: bool, show: Callable[[dict], list[str]], what: str) -> None:
    """A review queue as JSON, or each item's lines and the count."""
    if as_json:
        typer.echo(json.dumps({"items": items, "total": len(items)}, indent=2, default=str))
        return
    for item in items:
        for line in show(item):
            out.print(line, highlight=False)
    out.print(f"{len(items)} {what}")


@review_app.command("list")
def list_cmd(org: Org, as_json: AsJson = False) -> None:
    """OKRs awaiting a person's verdict, with their closest objectives and what each OKR's
    team declared it serves (`review confirm` takes any of them)."""

    def show(item: dict) -> list[str]:
        shown = {c["objective_id"] for c in item["candidates"]}
        return [
            f"[bold]{item['okr_id']}[/] ({item['team']}) {escape(item['title'])}",
            *(_declared(d, d["objective_id"] in shown) for d in item["declared"]),
            *([] if item["declared"] else ["    its team declared no objective it serves"]),
            *(f"    {c['objective_id']:<10} {c['score']:.2f} {c['label']:<5} "
              f"{escape(c['objective_title'] or '')}" for c in item["candidates"]),
        ]  # fmt: skip

    items = run_in_transaction(lambda session: review.queue(session, org), options=OPTIONS)
    _queue(items, as_json, show, "awaiting review")


def _declared(d: dict, candidate: bool) -> str:
    """An objective the team declared the OKR serves, as the review page shows it: the team's
    word to weigh against the candidates below it."""
    scored = f"score {d['score']:.2f}, {d['label']}" if d["score"] is not None else "not scored"
    where = "" if candidate else "; not among the candidates"
    title = escape(d["objective_title"] or "")
    return f"    its team says it serves {d['objective_id']} {title} ({scored}{where})"


@review_app.command("confirm")
def confirm_cmd(
    okr: Annotated[str, typer.Argument(help="OKR id.", callback=as_stored)],
    objective: Annotated[
        str,
        typer.Argument(
            help="The objective it serves: a candidate, one its team declared, or any other."
        ),
    ],
    org: Org,
) -> None:
    """The OKR serves this objective."""
    decided = run_in_transaction(
        lambda session: audited_as(
            session,
            org,
            "review confirm",
            f"{okr}/{objective}",
            review.confirm(session, org, okr, objective, decided_by=operator()),
        ),
        options=OPTIONS,
    )
    out.print(f"{okr} serves {objective} (confirmed by {operator()})")
    if decided.get("rescoring_job"):
        out.print(
            f"Queued scoring job {decided['rescoring_job']} to apply it (to the OKR's teammates "
            f"too, if any): the server's worker runs it, or `goldenthread score --org {org}` now."
        )


@review_app.command("reject")
def reject_cmd(
    okr: Annotated[str, typer.Argument(help="OKR id.", callback=as_stored)],
    org: Org,
    note: Annotated[
        str | None, typer.Option("--note", help="Why (kept).", callback=text_option(TEXT_MAX))
    ] = None,
) -> None:
    """The OKR serves none of its candidates: it is an orphan."""

    def work(session: Session) -> list[dict]:
        try:
            rejected = review.reject(session, org, okr, decided_by=operator(), note=note)
            return audited_as(session, org, "review reject", okr, rejected)
        except Invalid as exc:
            if "reject its link itself" not in exc.message:
                raise
            # The API's advice names no command: this command line has none for one link.
            raise Invalid(
                f"OKR {okr!r} is aligned, not awaiting review: `review reject` decides only "
                f"the OKRs `goldenthread review list --org {org}` shows. To reject one of its "
                f'links, POST {{"verdict": "rejected"}} to '
                f"/orgs/{org}/okrs/{okr}/links/OBJECTIVE/feedback",
                details=exc.details,
            ) from None

    rejected = run_in_transaction(work, options=OPTIONS)
    out.print(f"{okr}: rejected {', '.join(r['objective_id'] for r in rejected)}; now an orphan")


@review_app.command("check-ins")
def check_ins_cmd(org: Org, as_json: AsJson = False) -> None:
    """Check-ins the engine is unsure about: are they about their OKR?"""

    def show(item: dict) -> list[str]:
        near = item["nearest_okr_id"]
        cycle = item["nearest_okr_cycle"]
        # Another quarter's OKR is no place for the work: say so where it is one.
        other = f", cycle {cycle}" if cycle != item["okr_cycle"] else ""
        closest = f"    closest other OKR: {near} ({item['nearest_okr_title']}{other})"
        return [
            f"[bold]{item['check_in_id']}[/] under {item['okr_id']} ({item['okr_title']}), "
            f"drift score {item['score']:.2f}",
            f"    {item['text']}",
            *([closest] if near else []),
        ]

    items = run_in_transaction(lambda session: check_in_review.queue(session, org), options=OPTIONS)
    _queue(items, as_json, show, "check-ins awaiting review")


@review_app.command("check-in")
def check_in_cmd(
    check_in: Annotated[str, typer.Argument(help="Check-in id.", callback=as_stored)],
    verdict: Annotated[
        str, typer.Argument(help="drifting (about other work) or on_topic (about its OKR).")
    ],
    org: Org,
    note: Annotated[
        str | None, typer.Option("--note", help="Why (kept).", callback=text_option(TEXT_MAX))
    ] = None,
) -> None:
    """Decide a check-in: is it about its OKR?"""
    decided = run_in_transaction(
        lambda session: audited_as(
            session,
            org,
            "review check-in",
            check_in,
            check_in_review.decide(
                session, org, check_in, verdict=verdict, decided_by=operator(), note=note
            ),
        ),
        options=OPTIONS,
    )
    out.print(f"{check_in} under {decided['okr_id']}: {verdict} (decided by {operator()})")
