"""`goldenthread review`: the OKRs and check-ins the engine is unsure about, decided from the
command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from alignment import check_in_review, review
from alignment.db import BIGINT_MAX
from alignment.drafting.schemas import TEXT_MAX
from alignment.errors import Invalid
from service.commands.common import audited_as, operator, run_in_transaction, text_option
from service.commands.console import out
from service.commands.database import settings_or_exit
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


Limit = Annotated[
    int | None,
    typer.Option(
        "--limit",
        min=1,
        help="Show at most this many, at most GOLDENTHREAD_PAGE_LIMIT_MAX (as the API's "
        "`limit`). Default: the whole queue.",
    ),
]
Offset = Annotated[
    int,
    typer.Option("--offset", min=0, max=BIGINT_MAX, help="Skip this many first (as the API)."),
]


def _page_limit(limit: int | None) -> None:
    """The API's largest page, refused as `drafts list` refuses it (never silently lowered:
    a short page would read as the end of the queue)."""
    largest = settings_or_exit().service.page_limit_max
    if limit is not None and limit > largest:
        raise typer.BadParameter(
            f"{limit} is above the largest page, {largest} (GOLDENTHREAD_PAGE_LIMIT_MAX)",
            param_hint="'--limit'",
        )


def _read(
    whole: Callable[[Session, str], list[dict]],
    paged: Callable[..., tuple[list[dict], int]],
    org: str,
    *,
    limit: int | None,
    offset: int,
) -> tuple[list[dict], int]:
    """A queue's page and its total: without `--limit` or `--offset` the whole queue, read as
    the review page reads it; with them only the page's rows, as the API reads them."""
    _page_limit(limit)

    def work(session: Session) -> tuple[list[dict], int]:
        if limit is None and offset == 0:
            items = whole(session, org)
            return items, len(items)
        return paged(session, org, limit=limit, offset=offset)

    return run_in_transaction(work, options=OPTIONS)


def _queue(
    page: tuple[list[dict], int],
    as_json: bool,
    show: Callable[[dict], list[str]],
    what: str,
    *,
    limit: int | None,
    offset: int,
) -> None:
    """A page of a review queue as JSON (the API's envelope; `limit` null when the whole queue
    was asked for), or each item's lines and the count."""
    items, total = page
    if as_json:
        envelope = {"items": items, "total": total, "limit": limit, "offset": offset}
        typer.echo(json.dumps(envelope, indent=2, default=str))
        return
    for item in items:
        for line in show(item):
            out.print(line, highlight=False)
    if limit is None and offset == 0:
        out.print(f"{total} {what}")
    elif not items:
        out.print(f"none from {offset + 1}: {total} {what}")
    else:
        shown = f"{offset + 1}-{offset + len(items)} of {total} {what}"
        more = total - offset - len(items)
        out.print(f"{shown}; {more} more (--offset {offset + len(items)})" if more > 0 else shown)


@review_app.command("list")
def list_cmd(org: Org, limit: Limit = None, offset: Offset = 0, as_json: AsJson = False) -> None:
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

    page = _read(review.queue, review.queue_page, org, limit=limit, offset=offset)
    _queue(page, as_json, show, "awaiting review", limit=limit, offset=offset)


def _declared(d: dict, candidate: bool) -> str:
    """An objective the team declared the OKR serves, as the review page shows it: the team's
    word to weigh against the candidates below it, and a person's decision on it that stands
    (a link dropped already is no longer one to side with)."""
    scored = f"score {d['score']:.2f}, {d['label']}" if d["score"] is not None else "not scored"
    where = "" if candidate else "; not among the candidates"
    title = escape(d["objective_title"] or "")
    decision = d.get("decision")
    said = ""
    if decision is not None:
        done = "dropped" if decision["verdict"] == "rejected" else "kept"
        said = f"; {done} by {escape(decision['by'])} on {_by_day(decision['at'])}"
    return f"    its team says it serves {d['objective_id']} {title} ({scored}{where}){said}"


def _by_day(at: datetime) -> str:
    """The day a decision was made, as the review page says it."""
    return f"{at.astimezone(UTC):%Y-%m-%d}"


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

    def work(session: Session) -> dict | str:
        standing = review.standing_decision(session, org, okr, objective)
        if standing is not None and standing.verdict == "confirmed":
            by = _by(standing.decided_by, standing.decided_at)
            return f"{okr} already serves {objective} (confirmed by {by}); nothing changed"
        decided = review.confirm(session, org, okr, objective, decided_by=operator())
        return audited_as(session, org, "review confirm", f"{okr}/{objective}", decided)

    decided = run_in_transaction(work, options=OPTIONS)
    if isinstance(decided, str):
        out.print(decided, markup=False, highlight=False)
        return
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

    def work(session: Session) -> list[dict] | str:
        orphan = review.orphan_decision(session, org, okr)
        # With another note it is a new decision, recorded as one; the same again changes nothing.
        if orphan is not None and note in (None, _orphan_note(session, org, okr, orphan)):
            rejected = ", ".join([*orphan["candidates"], *orphan["declared"]])
            by = _by(orphan["decided_by"], orphan["decided_at"])
            return f"{okr}: already an orphan (rejected {rejected} by {by}); nothing changed"
        try:
            rejected = review.reject(session, org, okr, decided_by=operator(), note=note)
            return audited_as(session, org, "review reject", okr, rejected)
        except Invalid as exc:
            if "reject its link itself" not in exc.message:
                raise
            # The API's advice names no command: this command line has none for one link.
            raise Invalid(
                f"OKR {okr!r} is {_aligned(session, org, okr)}, not awaiting review: "
                "`review reject` decides only OKRs with no aligned link (those "
                f"`goldenthread review list --org {org}` shows, and the engine's orphans). "
                f'To reject one of its links, POST {{"verdict": "rejected"}} to '
                f"/orgs/{org}/okrs/{okr}/links/OBJECTIVE/feedback",
                details=exc.details,
            ) from None

    rejected = run_in_transaction(work, options=OPTIONS)
    if isinstance(rejected, str):
        out.print(rejected, markup=False, highlight=False)
        return
    out.print(f"{okr}: rejected {', '.join(r['objective_id'] for r in rejected)}; now an orphan")


def _by(decided_by: str, decided_at: datetime) -> str:
    """Who made a standing decision and when. A decision asked for again is said so, as the
    review page says it, and neither recorded nor audited again: the first one's name and time
    stay (the audit log would otherwise show a second decision nobody needed to make)."""
    return f"{decided_by} at {decided_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _orphan_note(session: Session, org: str, okr: str, orphan: dict[str, Any]) -> str | None:
    """The note kept with an orphan decision (one note on every link it rejected)."""
    from alignment.models import LinkFeedback

    key = {"org_id": org, "okr_id": okr, "objective_id": orphan["candidates"][0]}
    row = session.get(LinkFeedback, key)
    return row.note if row is not None else None


def _aligned(session: Session, org: str, okr: str) -> str:
    """ "aligned", and who confirmed which objective when a person did."""
    confirmed = [d for d in review.standing_on_okr(session, org, okr) if d.verdict == "confirmed"]
    if not confirmed:
        return "aligned"
    latest = confirmed[0]  # newest first
    by = _by(latest.decided_by, latest.decided_at)
    return f"aligned (confirmed as serving {latest.objective_id} by {by})"


@review_app.command("check-ins")
def check_ins_cmd(
    org: Org, limit: Limit = None, offset: Offset = 0, as_json: AsJson = False
) -> None:
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

    page = _read(check_in_review.queue, check_in_review.queue_page, org, limit=limit, offset=offset)
    _queue(page, as_json, show, "check-ins awaiting review", limit=limit, offset=offset)


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

    def work(session: Session) -> dict | str:
        standing = check_in_review.standing_verdict(session, org, check_in)
        if standing is not None:
            row, stood = standing
            # As `review reject`: another note is a new decision.
            if stood.verdict == verdict and note in (None, stood.note):
                by = _by(stood.decided_by, stood.decided_at)
                said = f"{check_in} under {row.okr_id}: already {verdict} (decided by {by})"
                return f"{said}; nothing changed"
        decided = check_in_review.decide(
            session, org, check_in, verdict=verdict, decided_by=operator(), note=note
        )
        return audited_as(session, org, "review check-in", check_in, decided)

    decided = run_in_transaction(work, options=OPTIONS)
    if isinstance(decided, str):
        out.print(decided, markup=False, highlight=False)
        return
    out.print(f"{check_in} under {decided['okr_id']}: {verdict} (decided by {operator()})")
