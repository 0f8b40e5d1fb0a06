"""The review queue: OKRs and check-ins the engine is unsure about, decided by the signed-in
person."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from alignment import check_in_review, review
from alignment.bundle.schema import Id
from alignment.bundle.text_rules import PlainText
from alignment.errors import NotFound
from alignment.models import CheckIn
from service.auth import CurrentPrincipal
from service.deps import PageDep, SessionDep, write_nothing

router = APIRouter(prefix="/orgs/{org_id}/review-queue", tags=["alignment"])
# The old OKR decision paths `/{okr_id}/confirm|reject` read an OKR named `check-ins` as the
# check-in route's; they stay for existing callers, the `/okrs/...` ones are the documented way.
OKR_DECISIONS = ("confirm", "reject")


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objective_id: Id


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[PlainText, Field(max_length=2000)] | None = None


class CheckInVerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["drifting", "on_topic"] = Field(
        description="`drifting`: about other work than its OKR; `on_topic`: about its OKR."
    )
    note: Annotated[PlainText, Field(max_length=2000)] | None = None
    seen: str | None = Field(
        default=None,
        max_length=64,
        description="The queue item's `text_hash`: a check-in changed since is refused (409).",
    )


# Declared before the OKR routes so a check-in id is never read as an OKR id.
@router.get("/check-ins")
def check_in_queue(org_id: str, session: SessionDep, page: PageDep) -> dict[str, Any]:
    """Check-ins the engine is unsure about (drift verdict `needs_review`), likeliest drift
    first (then by check-in id, so pages never overlap), each with its OKR and the other OKR
    its text is closest to; a page at a time, `total` counting the whole queue."""
    items, total = check_in_review.queue_page(session, org_id, limit=page.limit, offset=page.offset)
    return page.envelope(items, total)


def not_an_okr_decision(org_id: str, check_in_id: str, session: SessionDep) -> None:
    """A dependency, so it answers before the body is validated: the caller most likely sent
    an OKR decision's body, and a 422 about `verdict` would hide the real mistake."""
    if check_in_id not in OKR_DECISIONS:
        return
    if session.get(CheckIn, {"org_id": org_id, "id": check_in_id}) is not None:
        return  # a check-in really named so is decided as usual
    new_path = f"/orgs/{org_id}/review-queue/okrs/check-ins/{check_in_id}"
    raise NotFound(
        f"check-in {check_in_id!r} does not exist in organization {org_id!r}; "
        f"to {check_in_id} the OKR 'check-ins', POST {new_path}",
        details=[{"path": "path.check_in_id", "message": f"for an OKR use POST {new_path}"}],
    )


@router.post("/check-ins/{check_in_id}", dependencies=[Depends(not_an_okr_decision)])
def decide_check_in(
    org_id: str,
    check_in_id: str,
    body: CheckInVerdictIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Is the check-in about its OKR? Recorded as the signed-in person's verdict; kept by
    scoring while the check-in's text and the OKR it is filed under are unchanged. `confirm`
    or `reject` with no such check-in answers 404 naming the path for an OKR `check-ins`."""
    return check_in_review.decide(
        session,
        org_id,
        check_in_id,
        verdict=body.verdict,
        decided_by=principal.name,
        note=body.note,
        seen=body.seen,
    )


@router.get("")
def review_queue(org_id: str, session: SessionDep, page: PageDep) -> dict[str, Any]:
    """OKRs with no confident verdict (`needs_review`), by OKR id, each with its closest
    objectives; a page at a time, `total` counting the whole queue."""
    items, total = review.queue_page(session, org_id, limit=page.limit, offset=page.offset)
    return page.envelope(items, total)


def _moved(decision: str) -> str:
    return (
        "Deprecated (an OKR with the id `check-ins` cannot be reached here): use `POST "
        f"/orgs/{{org_id}}/review-queue/okrs/{{okr_id}}/{decision}`, same body and answer."
    )


@router.post("/okrs/{okr_id}/confirm")
@router.post("/{okr_id}/confirm", deprecated=True, description=_moved("confirm"))
def confirm(
    org_id: str, okr_id: str, body: ConfirmIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The OKR serves this objective (recorded as the signed-in person's verdict)."""
    return review.confirm(session, org_id, okr_id, body.objective_id, decided_by=principal.name)


@router.post("/okrs/{okr_id}/reject")
@router.post("/{okr_id}/reject", deprecated=True, description=_moved("reject"))
def reject(
    org_id: str, okr_id: str, body: RejectIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The OKR serves none of its candidates: it becomes an orphan by a person's decision.
    Asked again (no note, a blank one, or the same one) it answers the decision that stands,
    who made it and when, and records nothing new (`recorded: false`); another note is a new
    decision (`recorded: true`, as a first one)."""
    standing = review.standing_rejection(session, org_id, okr_id, note=body.note)
    if standing is not None:
        write_nothing(session)  # nothing changed: no second decision, no audit entry
        return {"okr_id": okr_id, "rejected": standing, "recorded": False}
    decisions = review.reject(session, org_id, okr_id, decided_by=principal.name, note=body.note)
    return {"okr_id": okr_id, "rejected": decisions, "recorded": True}
