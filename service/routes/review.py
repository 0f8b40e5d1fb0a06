"""The review queue: OKRs the engine is unsure about, decided by the signed-in person."""

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from alignment import review
from alignment.bundle.schema import Id
from service.auth import CurrentPrincipal
from service.deps import SessionDep

router = APIRouter(prefix="/orgs/{org_id}/review-queue", tags=["alignment"])


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objective_id: Id


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=2000)] | None = None


@router.get("")
def review_queue(org_id: str, session: SessionDep) -> dict[str, Any]:
    """OKRs with no confident verdict (`needs_review`), each with its closest objectives."""
    items = review.queue(session, org_id)
    return {"items": items, "total": len(items)}


@router.post("/{okr_id}/confirm")
def confirm(
    org_id: str, okr_id: str, body: ConfirmIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The OKR serves this objective (recorded as the signed-in person's verdict)."""
    return review.confirm(session, org_id, okr_id, body.objective_id, decided_by=principal.name)


@router.post("/{okr_id}/reject")
def reject(
    org_id: str, okr_id: str, body: RejectIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The OKR serves none of its candidates: it becomes an orphan by a person's decision."""
    decisions = review.reject(session, org_id, okr_id, decided_by=principal.name, note=body.note)
    return {"okr_id": okr_id, "rejected": decisions}
