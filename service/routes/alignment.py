"""Alignment: score an organization, read links with evidence, audit, coverage, drift, feedback.

Scoring runs as a job (202 + `/jobs/{id}`); the reads here only read what it stored. Routes
are plain `def`: FastAPI runs them in its thread pool, so the one-text encoding of
`suggest-parent` never blocks the event loop.
"""

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from alignment import repository
from alignment.adjudicate import configured_adjudicator
from alignment.bundle.schema import Title
from alignment.bundle.text_rules import PlainText
from alignment.errors import Invalid
from alignment.jobs import enqueue
from alignment.review import given_note
from alignment.scoring import feedback as link_feedback
from alignment.scoring import reads
from alignment.scoring.preview import preview_links
from service.auth import CurrentPrincipal
from service.deps import EmbedderDep, PageDep, SessionDep, no_body
from service.rendered import Rendered, rendered
from service.routes.jobs import ACCEPTED, accepted

router = APIRouter(prefix="/orgs/{org_id}", tags=["alignment"])


class DraftOkr(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: Annotated[PlainText, Field(max_length=4000)] | None = None
    key_results: list[Annotated[PlainText, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=20
    )


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["confirmed", "rejected"]
    note: Annotated[PlainText, Field(max_length=2000)] | None = None


@router.post("/score", status_code=202, responses=ACCEPTED, dependencies=[Depends(no_body)])
def score(
    org_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    adjudicate: Annotated[
        bool,
        Query(description="Ask the configured LLM for a second opinion on close calls."),
    ] = False,
    adjudicate_max_calls: Annotated[
        int, Query(ge=1, le=100, description="Model calls at most (one per close call).")
    ] = 25,
) -> dict[str, Any]:
    """Queue a job that embeds new or changed texts, then re-scores every OKR and check-in of
    the organization; 202 with the job (`Location: /jobs/{id}`), whose `result` is the
    run's summary (`alignment.scoring.stage.ScoreSummary`; its keys in docs/jobs.md). A request
    while an equal job waits joins it.

    With `adjudicate=true` (409 when no LLM is configured), close calls get an LLM's verdict,
    kept on each link with its reason; the model being down or the token budget running out
    leaves the engine's labels in place and says so in `adjudication.error`. Verdicts stored
    by earlier runs are kept while their OKR, mission and objectives are unchanged. While the
    model is asked, the job's `progress` is `label: "adjudicating close calls"` with the calls
    answered (`done`) of those it makes (`total`), after `embedding texts` (docs/jobs.md).
    """
    repository.require_org(session, org_id)
    if not adjudicate and "adjudicate_max_calls" in request.query_params:
        # Ignored, it would read as a bound this run keeps to.
        raise Invalid(
            "adjudicate_max_calls applies only with adjudicate=true",
            details=[{"path": "query.adjudicate_max_calls", "message": "send adjudicate=true"}],
        )
    if adjudicate:
        configured_adjudicator(adjudicate_max_calls)  # 409 now when no LLM is configured
    params: dict[str, Any] = {"adjudicate": adjudicate}
    if adjudicate:
        params["adjudicate_max_calls"] = adjudicate_max_calls
    job = enqueue(session, org_id, "score", params, requested_by=principal.name)
    return accepted(job, response)


def _cached(
    request: Request, session: Session, org_id: str, what: tuple, read: Callable[[], Any]
) -> Response:
    """`read()` as JSON, rendered once per organization read version (service/rendered.py)."""
    version = reads.read_version(session, org_id)

    def rendering() -> Rendered:
        body = json.dumps(read(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return body.encode(), "application/json", {}

    entry = rendered.read(org_id, version, what, rendering)
    return entry.response(request.headers)


@router.get("/okrs/{okr_id}/links")
def okr_links(org_id: str, okr_id: str, session: SessionDep, request: Request) -> dict[str, Any]:
    """The strategic objectives ranked for one OKR, with score, label and evidence: the top 10,
    then any aligned, weak, declared or decided link ranked lower."""
    return _cached(  # a Response passes through; the annotation documents its body
        request,
        session,
        org_id,
        ("links", okr_id),
        lambda: reads.okr_links(session, org_id, okr_id),
    )


@router.get("/alignment/orphans")
def orphans(org_id: str, session: SessionDep, page: PageDep, request: Request) -> dict[str, Any]:
    """OKRs with no `aligned` objective, weakest first, each with its verdict (`orphan` when
    the engine or a person is sure, else `needs_review`) and its best candidate."""
    return _cached(  # a Response passes through; the annotation documents its body
        request,
        session,
        org_id,
        ("orphans", page.limit, page.offset),
        lambda: page.of(reads.orphans(session, org_id)),
    )


@router.get("/alignment/audit")
def audit(
    org_id: str,
    session: SessionDep,
    page: PageDep,
    kind: Annotated[Literal["unsupported_declared_link", "suggested_link"] | None, Query()] = None,
) -> dict[str, Any]:
    """Declared links the text does not support, and strong links nobody declared."""
    findings = reads.link_audit(session, org_id)
    if kind:
        findings = [f for f in findings if f["kind"] == kind]
    return page.of(findings)


@router.get("/alignment/coverage")
def coverage(
    org_id: str,
    session: SessionDep,
    request: Request,
    listed: Annotated[
        int, Query(ge=0, le=500, description="Serving OKRs listed per objective, strongest first.")
    ] = reads.COVERAGE_LISTED,
) -> list[dict[str, Any]]:
    """For every strategic objective: how many OKRs serve it (aligned, weak), how strongly, and
    the strongest `listed` of them (`unlisted` counts the rest;
    `/alignment/coverage/{objective_id}` pages through all of them)."""
    return _cached(  # a Response passes through; the annotation documents its body
        request,
        session,
        org_id,
        ("coverage", listed),
        lambda: reads.coverage(session, org_id, listed=listed),
    )


@router.get("/alignment/coverage/{objective_id}")
def coverage_of(
    org_id: str, objective_id: str, session: SessionDep, page: PageDep, request: Request
) -> dict[str, Any]:
    """Every OKR that serves one strategic objective (aligned or weak), strongest first."""

    def read() -> dict[str, Any]:
        items, total = reads.coverage_okrs(
            session, org_id, objective_id, limit=page.limit, offset=page.offset
        )
        return page.envelope(items, total)

    what = ("coverage_of", objective_id, page.limit, page.offset)
    return _cached(request, session, org_id, what, read)


@router.get("/alignment/drift")
def drift(
    org_id: str,
    session: SessionDep,
    page: PageDep,
    only_drifting: Annotated[bool, Query(description="Only flagged check-ins.")] = False,
) -> dict[str, Any]:
    """Every check-in's drift score against its OKR, highest first."""
    return page.of(reads.drift(session, org_id, only_drifting=only_drifting))


@router.post("/suggest-parent")
def suggest_parent(
    org_id: str, draft: DraftOkr, session: SessionDep, embedder: EmbedderDep
) -> dict[str, Any]:
    """Rank the strategic objectives for a draft OKR. Stores nothing."""
    ranked = preview_links(
        session,
        org_id,
        title=draft.title,
        description=draft.description,
        key_results=draft.key_results,
        embedder=embedder,
    )
    titles = reads.objective_titles(session, org_id)
    return {
        "title": draft.title,
        "orphan": not any(lk.label == "aligned" for lk in ranked),
        "links": [reads.link_dict(lk, titles, rank) for rank, lk in enumerate(ranked, start=1)],
    }


@router.post("/okrs/{okr_id}/links/{objective_id}/feedback")
def feedback(
    org_id: str,
    okr_id: str,
    objective_id: str,
    body: FeedbackIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Confirm or reject a link; later scoring respects it until the OKR's text changes."""
    return link_feedback.record_feedback(
        session,
        org_id,
        okr_id,
        objective_id,
        verdict=body.verdict,
        decided_by=principal.name,
        note=given_note(body.note),  # a blank note is no note, as in the review queue
    )


@router.get("/alignment/feedback-labels")
def feedback_labels(org_id: str, session: SessionDep) -> dict[str, Any]:
    """People's verdicts as a goldenthread.labels/v1 document, ready for `goldenthread eval`."""
    return link_feedback.feedback_labels(session, org_id)
