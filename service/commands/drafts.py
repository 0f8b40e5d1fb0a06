"""`goldenthread suggest`, `summarize`, `drafts list/show/approve/reject/dismiss`.

Each command is one transaction: a provider outage or any other error rolls it back, so a
failed command leaves nothing behind. (`eval drafts` is in evals.py, with the other evals.)
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from alignment.bundle.io import load_document
from alignment.drafting.store import KINDS, STATUSES
from alignment.errors import BundleInvalid
from service.commands.common import audited_as, operator, run_in_transaction
from service.commands.console import out
from service.commands.cut_short import kept
from service.commands.database import settings_or_exit
from service.commands.ids import Org, as_stored

drafts_app = typer.Typer(
    help="Review drafts: list, show, approve, reject, dismiss.", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _emit(data: Any, as_json: bool, render: Any) -> None:

    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        render(data)


def _show(draft: dict[str, Any]) -> None:
    p = draft["provenance"]
    colour = {"pending": "green", "failed": "red"}.get(draft["status"], "cyan")
    # A suggestion serves the objectives its request named (or those the drafter picked); a
    # summary is about one team or one objective.
    asked = (draft.get("request") or {}).get("objectives")
    serves = (
        f"objectives={','.join(asked) if isinstance(asked, list) else 'suggested by the drafter'}"
        if draft["kind"] == "suggestion"
        else f"objective={draft['objective'] or '-'}"
    )
    out.print(
        f"[bold]{draft['id']}[/]  {draft['kind']}  [{colour}]{_status(draft)}[/]  "
        f"team={draft['team'] or '-'} {serves} cycle={draft['cycle']}"
    )
    if draft.get("dismissed_at"):
        when = _when(draft["dismissed_at"])
        out.print(f"  dismissed by {draft['dismissed_by']} at {when}", markup=False)
    out.print(
        f"  {p['drafter']} / {p['model']}, prompt {p['prompt']['id']} v{p['prompt']['version']}, "
        f"{p['tokens']['total']} tokens, {p['latency_ms']} ms, {p['attempts']} attempt(s)"
    )
    for gate in draft["gates"]:
        mark = "[green]pass[/]" if gate["passed"] else "[red]FAIL[/]"
        out.print(f"  gate {gate['name']:<14} {mark}")
        for problem in gate["problems"][:10]:
            out.print(f"     {problem['path']}: {problem['message']}", markup=False)
    payload = draft["payload"] or {}
    if payload.get("notice"):
        out.print(f"  [dim]{payload['notice']}[/]", markup=True)
    for s in payload.get("suggestions", []):
        out.print(f"  [bold]{s['title']}[/]  serves {', '.join(s['objective_ids'])}")
        for kr in s["key_results"]:
            out.print(
                f"    - {kr['title']}: {kr['baseline']} -> {kr['target']} {kr['unit']} "
                f"({kr['kind']})",
                markup=False,
            )
    if "headline" in payload:
        out.print(f"  [bold]{payload['headline']}[/]")
        for section in ("progress", "risks", "drift", "decisions_needed"):
            for st in payload[section]:
                refs = ", ".join([*st["check_ins"], *st["findings"]])
                out.print(f"    {section}: {st['text']}  [{refs}]", markup=False)


def _status(draft: dict[str, Any]) -> str:
    """The status, and whether someone set the (failed) draft aside: dismissing keeps the
    status, which says what the drafting produced."""
    return f"{draft['status']}, dismissed" if draft.get("dismissed_at") else draft["status"]


def _stored(draft: dict[str, Any], org: str) -> None:
    """A new draft is stored, its tokens spent: shown again by `drafts show`, not drafted anew,
    should printing it fail or be cut short."""
    kept(
        f"draft {draft['id']} is stored: `goldenthread drafts show {draft['id']} --org {org}` "
        "shows it again"
    )


def _exit_if_failed(draft: dict[str, Any]) -> None:
    """A draft stored as failed (it did not pass its gates) is exit code 1, for scripts."""
    if draft["status"] == "failed":
        raise typer.Exit(code=1)


# The request fields of the API's errors, as this command line's options.
OPTIONS = {
    "$.objectives": "--objective",
    "$.objective": "--objective",
    "$.objective_id": "--objective",
    "$.team": "--team",
    "$.cycle": "--cycle",
    "$.reason": "--reason",
    "$.edited": "--edited",
    "path.draft_id": "DRAFT_ID",
    "query.team": "--team",
    "query.cycle": "--cycle",
}


def _bad_request(exc: Any, options: dict[str, str]) -> typer.BadParameter:
    """A request model's first problem, named by the option to fix (not pydantic's report)."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "string_too_short":
        message = "must not be empty"
    return typer.BadParameter(message, param_hint=options.get(field))


def suggest_cmd(
    org: Org,
    team: Annotated[str, typer.Option("--team", help="Team id.", callback=as_stored)],
    objective: Annotated[
        list[str] | None,
        typer.Option(
            "--objective",
            help="Strategic objective to serve (repeat; none: suggest).",
            callback=as_stored,
        ),
    ] = None,
    cycle: Annotated[
        str | None,
        typer.Option(
            help="Cycle id (default: the current one, or the next once the current is more "
            "than half over; 'today' is the latest check-in's date)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Draft 1-3 OKRs for a team that serve strategic objectives; stored for approval."""
    from alignment.drafting import store
    from alignment.drafting.draft import draft_suggestions
    from alignment.drafting.drafters import get_drafter
    from alignment.drafting.schemas import SuggestionRequest
    from alignment.embedder import get_embedder

    try:
        request = SuggestionRequest(team=team, cycle=cycle, objectives=objective or "suggest")
    except ValidationError as exc:
        hints = {"team": "'--team'", "cycle": "'--cycle'", "objectives": "'--objective'"}
        raise _bad_request(exc, hints) from exc
    draft = run_in_transaction(
        lambda session: store.render_draft(
            draft_suggestions(session, org, request, drafter=get_drafter(), embedder=get_embedder())
        ),
        options=OPTIONS,
    )
    _stored(draft, org)
    _emit(draft, as_json, _show)
    _exit_if_failed(draft)


def summarize_cmd(
    org: Org,
    team: Annotated[str | None, typer.Option("--team", help="Team id.", callback=as_stored)] = None,
    objective: Annotated[
        str | None, typer.Option("--objective", help="Strategic objective id.", callback=as_stored)
    ] = None,
    cycle: Annotated[
        str | None,
        typer.Option(help="Cycle id (default: the current one, by the latest check-in's date)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Draft a cycle review for a team or a strategic objective; stored for approval."""
    from alignment.drafting import store
    from alignment.drafting.draft import draft_summary
    from alignment.drafting.drafters import get_drafter
    from alignment.drafting.schemas import SummaryRequest
    from alignment.embedder import get_embedder

    try:
        request = SummaryRequest(team=team, objective=objective, cycle=cycle)
    except ValueError as exc:
        raise typer.BadParameter("give exactly one of --team or --objective") from exc
    draft = run_in_transaction(
        lambda session: store.render_draft(
            draft_summary(session, org, request, drafter=get_drafter(), embedder=get_embedder())
        ),
        options=OPTIONS,
    )
    _stored(draft, org)
    _emit(draft, as_json, _show)
    _exit_if_failed(draft)


@drafts_app.command("list")
def list_cmd(
    org: Org,
    status: Annotated[str | None, typer.Option(help=", ".join(STATUSES))] = None,
    kind: Annotated[str | None, typer.Option(help=" or ".join(KINDS))] = None,
    team: Annotated[str | None, typer.Option(help="Team id.")] = None,
    cycle: Annotated[str | None, typer.Option(help="Cycle id.")] = None,
    limit: Annotated[
        int,
        typer.Option(min=1, help="How many (newest first), at most GOLDENTHREAD_PAGE_LIMIT_MAX."),
    ] = 50,
    as_json: AsJson = False,
) -> None:
    """List an organization's drafts, newest first (dismissed ones too, marked, as the API
    lists them: only the team page leaves them out)."""
    from alignment.drafting import store

    for name, value, known in (("--status", status, STATUSES), ("--kind", kind, KINDS)):
        if value is not None and value not in known:
            raise typer.BadParameter(
                f"{value!r} is none of {', '.join(known)}", param_hint=f"'{name}'"
            )
    largest = settings_or_exit().service.page_limit_max  # a malformed one: said, as elsewhere
    if limit > largest:
        raise typer.BadParameter(
            f"{limit} is above the largest page, {largest} (GOLDENTHREAD_PAGE_LIMIT_MAX)",
            param_hint="'--limit'",
        )

    def work(session: Any) -> list[dict[str, Any]]:
        # A team or cycle naming nothing is a typo, said as the API says it (not "no drafts").
        store.refuse_unknown_filters(session, org, team=team, objective=None, cycle=cycle)
        rows, _ = store.list_drafts(
            session, org, status=status, kind=kind, team=team, cycle=cycle, limit=limit
        )
        return [store.render_draft(d) for d in rows]

    def render(items: list[dict[str, Any]]) -> None:
        if not items:
            out.print(f"no drafts{' match' if status or kind or team or cycle else ''}")
        for d in items:
            title = (d["payload"] or {}).get("headline") or "; ".join(
                s["title"] for s in (d["payload"] or {}).get("suggestions", [])
            )
            out.print(
                f"{d['id']}  {d['kind']:<10} {_status(d):<20} {d['team'] or d['objective']}  "
                f"{d['cycle']}  {title[:70]}",
                markup=False,
            )

    _emit(run_in_transaction(work, options=OPTIONS), as_json, render)


@drafts_app.command("show")
def show_cmd(
    draft_id: Annotated[str, typer.Argument(help="Draft id.", callback=as_stored)],
    org: Org,
    audit: Annotated[bool, typer.Option(help="Attempts and decisions too (JSON).")] = False,
    as_json: AsJson = False,
) -> None:
    """Show one draft (with --audit: every attempt and decision)."""
    from alignment.drafting import approve, store

    if audit:
        trail = run_in_transaction(lambda s: approve.audit(s, org, draft_id), options=OPTIONS)
        _emit(trail, True, None)
        return
    draft = run_in_transaction(
        lambda s: store.render_draft(store.get_draft(s, org, draft_id)), options=OPTIONS
    )
    _emit(draft, as_json, _show)


@drafts_app.command("approve")
def approve_cmd(
    draft_id: Annotated[str, typer.Argument(help="Draft id.", callback=as_stored)],
    org: Org,
    edited: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="JSON file: the payload as you edited it."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Approve a pending draft; a suggestion's OKRs are created (once)."""
    from alignment.drafting import approve, store

    payload = _edited(edited) if edited else None
    decider = operator()

    def work(s: Any) -> tuple[str | None, dict[str, Any]]:
        draft = store.get_draft(s, org, draft_id, lock=True)
        again = None
        if draft.status in approve.APPROVED and not approve.edits_differ(s, draft, payload):
            verb = "approved with edits" if draft.status == "edited_and_approved" else "approved"
            again = _already(s, draft, verb, "nothing new was created")
        # The operator, on the database's machine, defines cycles as an admin does.
        result = approve.approve_draft(
            s, org, draft_id, decided_by=decider, edited=payload, may_define_cycle=True
        )
        return again, result if again else audited_as(s, org, "drafts approve", draft_id, result)

    again, result = run_in_transaction(work, options=OPTIONS)
    _emit(result, as_json, lambda r: _said(again) if again else _show_decided(r))


def _edited(path: Path) -> dict[str, Any]:
    """The edited payload, or a usage error that locates the problem in the file. Read as the
    API reads a body: a key named twice is refused (the last one would win, and the person's
    edit could be the one dropped), and so is anything but an object: `null` (an empty jq
    result, say) approved the AI's draft as if nobody had edited it."""
    try:
        edited = load_document(path.read_bytes(), name=str(path), json_only=True)
    except BundleInvalid as exc:
        where = "; ".join(f"{d['path']}: {d['message']}" for d in exc.details)
        raise typer.BadParameter(
            f"{exc.message}{f' ({where})' if where else ''}", param_hint="'--edited'"
        ) from exc
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot read {path}: {exc.strerror or exc}", param_hint="'--edited'"
        ) from exc
    if not isinstance(edited, dict):
        raise typer.BadParameter(
            f"{path} holds {type(edited).__name__ if edited is not None else 'null'}, not the "
            "draft's payload as edited (a JSON object: the `payload` that `drafts show --json` "
            "prints, changed)",
            param_hint="'--edited'",
        )
    return edited


def _show_decided(result: dict[str, Any]) -> None:
    """What was approved: the person's edit when there was one, not the AI's original."""
    if result.get("edited_payload"):
        _show({**result, "payload": result["edited_payload"]})
        out.print("  [dim](approved as edited; the AI's original stays in the audit)[/]")
    else:
        _show(result)
    _created(result)


def _created(result: dict[str, Any]) -> None:
    if result.get("created_records"):
        out.print(f"  created OKRs: {', '.join(result['created_records'])}")
    if result.get("defined_cycle"):  # every team's now, not only this draft's: said
        out.print(
            f"  defined cycle {result['defined_cycle']} for the whole organization",
            markup=False,
        )


@drafts_app.command("reject")
def reject_cmd(
    draft_id: Annotated[str, typer.Argument(help="Draft id.", callback=as_stored)],
    org: Org,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the draft).")],
    as_json: AsJson = False,
) -> None:
    """Reject a pending draft; it is kept, with the reason."""
    from alignment.drafting import approve, store
    from alignment.drafting.schemas import RejectRequest

    try:
        reason = RejectRequest(reason=reason).reason  # as the API: 1 to 2000 characters
    except ValidationError as exc:
        raise _bad_request(exc, {"reason": "'--reason'"}) from exc
    decider = operator()

    def work(s: Any) -> tuple[str | None, dict[str, Any]]:
        draft = store.get_draft(s, org, draft_id, lock=True)
        again = None
        if draft.status == "rejected" and not approve.reason_differs(s, draft, reason):
            again = _already(s, draft, "rejected", "nothing changed")
        result = approve.reject_draft(s, org, draft_id, decided_by=decider, reason=reason)
        return again, result if again else audited_as(s, org, "drafts reject", draft_id, result)

    again, result = run_in_transaction(work, options=OPTIONS)
    _emit(result, as_json, lambda r: _said(again) if again else _show(r))


@drafts_app.command("dismiss")
def dismiss_cmd(
    draft_id: Annotated[str, typer.Argument(help="Draft id.", callback=as_stored)],
    org: Org,
    as_json: AsJson = False,
) -> None:
    """Set a failed draft aside: kept, with its gates and attempts, but off the team page.
    Dismissing again changes nothing (the first dismissal stands)."""
    from alignment.drafting import approve

    dismisser = operator()
    result = run_in_transaction(
        lambda s: audited_as(
            s,
            org,
            "drafts dismiss",
            draft_id,
            approve.dismiss_draft(s, org, draft_id, dismissed_by=dismisser),
        ),
        options=OPTIONS,
    )
    _emit(result, as_json, _show)  # dismissed again: the first dismissal's who and when


def _already(session: Any, draft: Any, verb: str, unchanged: str) -> str:
    """A decision asked for again, said as the review page says it: what stands, by whom and
    when. Nothing is recorded or audited again; the first decision's name and time stay.
    (`--json` prints the draft as it stands, as the API answers a retry.)"""
    from alignment.drafting import store

    last = store.decisions(session, draft.org_id, draft.id)[-1]
    said = f"draft {draft.id} already {verb} (by {last.decided_by} at {_when(last.decided_at)})"
    created = f" (it created {', '.join(last.created_records)})" if last.created_records else ""
    return f"{said}; {unchanged}{created}"


def _when(at: Any) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _said(line: str | None) -> None:
    out.print(line, markup=False, highlight=False)
