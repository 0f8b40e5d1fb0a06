"""`goldenthread score` and `suggest-parent`: OKR <-> objective links, stored for an
organization or previewed for a draft OKR."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alignment import db
from alignment.errors import DomainError
from service.commands.common import fail, progress_bar
from service.commands.console import err, out
from service.commands.database import prepare_database
from service.commands.ids import Org

ADJUDICATION_STOPPED = 3  # `score --adjudicate`: scores stored, the LLM pass stopped early


def score_cmd(
    org: Org,
    adjudicate: Annotated[
        bool,
        typer.Option(
            "--adjudicate",
            help="Ask the configured LLM for a second opinion on close calls. If it cannot be "
            "reached or the token budget runs out, the scores are still stored, with the "
            f"engine's labels for the close calls it did not answer, and the exit code is "
            f"{ADJUDICATION_STOPPED}.",
        ),
    ] = False,
) -> None:
    """Embed new or changed texts and score every OKR and check-in of an organization.

    Prints the run's summary as JSON: `orphan_okrs` and `okrs_awaiting_review` are the OKRs
    with those verdicts (as the report and the review queue count them);
    `okrs_without_aligned_link` is both together.

    Exit codes: 0 scored; 2 nothing stored (an error); 3 scored and stored, but the LLM pass
    (--adjudicate) stopped early (the reason is on stderr and in `adjudication.error`).
    """
    from alignment.adjudicate import configured_adjudicator
    from alignment.embedder import get_embedder
    from alignment.repository import require_org
    from alignment.scoring.stage import score_organization

    prepare_database()
    try:
        # Cheap checks first: loading the model takes seconds.
        adjudicator = configured_adjudicator() if adjudicate else None
        with db.transaction() as session:
            require_org(session, org)
        embedder = get_embedder()
        with progress_bar() as bar, db.transaction() as session:
            task = bar.add_task("embedding new texts", total=None)
            if adjudicator is not None:
                asking = bar.add_task("asking the LLM about close calls", total=None)
                adjudicator.progress = lambda done, total: bar.update(
                    asking, completed=done, total=total
                )
            summary = score_organization(
                session,
                org,
                embedder=embedder,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                adjudicator=adjudicator,
            )
    except DomainError as exc:
        fail(exc)
    shown = summary.as_dict()
    # `orphans` stays in the API's job result for its clients; here its parts say it right.
    shown.pop("orphans", None)
    out.print_json(json.dumps(shown))
    stopped = (summary.adjudication or {}).get("error")
    if stopped:
        err.print(f"[yellow]warning:[/] {stopped}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=ADJUDICATION_STOPPED)


def suggest_parent_cmd(
    text: Annotated[str, typer.Argument(help="Draft OKR title (or whole text).")],
    org: Org,
    key_result: Annotated[
        list[str] | None, typer.Option("--kr", help="A draft key result (repeatable).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="How many objectives to show.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rank the strategic objectives a draft OKR would serve. Stores nothing."""
    from alignment.embedder import get_embedder
    from alignment.scoring.preview import preview_links, require_objectives

    title, krs = _draft_okr(text, key_result or [])
    prepare_database()
    try:
        with db.transaction() as session:
            require_objectives(session, org)  # before loading the model: that takes seconds
            ranked = preview_links(
                session,
                org,
                title=title,
                description=None,
                key_results=krs,
                embedder=get_embedder(),
            )
            shown = [_link_json(lk) for lk in ranked[:top]] if as_json else None
            session.rollback()
    except DomainError as exc:
        fail(exc)
    if shown is not None:
        typer.echo(json.dumps(shown, indent=2))
        return
    for rank, lk in enumerate(ranked[:top], start=1):
        out.print(f"{rank}. [bold]{lk.objective_id}[/]  {lk.score:.3f}  {lk.label}")
        for ev in lk.evidence[:2]:
            terms = f"  shared: {', '.join(ev.shared_terms)}" if ev.shared_terms else ""
            out.print(
                f"     {ev.okr_field} ~ {ev.objective_field} ({ev.similarity:.2f}): "
                f"{ev.objective_text[:90]!r}{terms}",
                markup=False,
            )


def _draft_okr(text: str, key_results: list[str]) -> tuple[str, list[str]]:
    """The draft as `POST /orgs/{org}/suggest-parent` validates it, its problems named by
    the argument or option to fix."""
    from pydantic import ValidationError

    from service.routes.alignment import DraftOkr

    try:
        draft = DraftOkr(title=text, key_results=key_results)
    except ValidationError as exc:
        first = exc.errors()[0]
        hint = "'TEXT'" if first["loc"][:1] == ("title",) else "'--kr'"
        message = "must not be empty" if first["type"] == "string_too_short" else first["msg"]
        raise typer.BadParameter(message, param_hint=hint) from exc
    return draft.title, list(draft.key_results)


def _link_json(link) -> dict:
    """A ranked link as JSON: its evidence read now (it may be computed lazily)."""
    from dataclasses import asdict

    return {
        "objective_id": link.objective_id,
        "score": link.score,
        "label": link.label,
        "evidence": [asdict(e) for e in link.evidence],
        "adjudication": link.adjudication,
    }
