"""Organizations: the tenant every other record belongs to."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from alignment import organizations
from alignment.access.principal import Role
from alignment.bundle.schema import OrgId, OrgName
from service.auth import CurrentPrincipal, forget_checked_keys
from service.deps import PageDep, SessionDep

router = APIRouter(prefix="/orgs", tags=["organizations"])


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: OrgId
    name: OrgName


class OrgPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: OrgName


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    created_at: datetime
    updated_at: datetime


class OrgPage(BaseModel):
    items: list[OrgOut]
    total: int
    limit: int
    offset: int


@router.get("", response_model=OrgPage)
def list_orgs(session: SessionDep, page: PageDep, principal: CurrentPrincipal) -> OrgPage:
    """The platform admin sees every organization; any other key, its own."""
    only = None if principal.role is Role.platform_admin else principal.org_id
    rows, total = organizations.list_orgs(session, limit=page.limit, offset=page.offset, only=only)
    return OrgPage(
        items=[OrgOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=OrgOut, status_code=201)
def create_org(body: OrgIn, session: SessionDep) -> OrgOut:
    return OrgOut.model_validate(organizations.create_org(session, body.id, body.name))


@router.get("/{org_id}", response_model=OrgOut)
def get_org(org_id: str, session: SessionDep) -> OrgOut:
    return OrgOut.model_validate(organizations.require_org(session, org_id))


@router.patch("/{org_id}", response_model=OrgOut)
def update_org(org_id: str, body: OrgPatch, session: SessionDep) -> OrgOut:
    return OrgOut.model_validate(organizations.update_org(session, org_id, body.name))


@router.delete("/{org_id}", status_code=204, response_class=Response)
def delete_org(org_id: Annotated[str, "organization id"], session: SessionDep) -> Response:
    organizations.delete_org(session, org_id)
    forget_checked_keys(session)  # its keys stop working now, not when the auth cache expires
    return Response(status_code=204)
