"""A write is committed before its response leaves: a client that sees 201 can read it back
from any other connection at once. Real commits on the real database, not a savepoint."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from alignment import db, repository
from alignment.access import keys
from alignment.access.principal import Role
from alignment.models import Organization
from service.app import create_app
from tests.conftest import auth


def test_the_commit_happens_before_the_response_is_sent(engine: Engine) -> None:
    org = f"commit-{uuid.uuid4().hex[:6]}"
    with Session(engine) as s, s.begin():
        platform = keys.create_key(s, org_id=None, role=Role.platform_admin)[1]
    order: list[str] = []
    app_engine = db.get_app_engine()

    def committed(_conn) -> None:
        order.append("commit")

    event.listen(app_engine, "commit", committed)
    app = create_app()

    @app.middleware("http")
    async def watch(request, call_next):
        response = await call_next(request)
        order.append("response")
        return response

    try:
        with TestClient(app) as client:
            created = client.post("/orgs", json={"id": org, "name": "C"}, headers=auth(platform))
            assert created.status_code == 201
        assert order.index("commit") < order.index("response"), order
        with Session(engine) as other:  # another connection sees it at once
            assert other.get(Organization, org) is not None
    finally:
        event.remove(app_engine, "commit", committed)
        with Session(engine) as s, s.begin():
            if s.get(Organization, org):
                repository.delete_org(s, org)
            keys.revoke_key(s, platform.split("_")[1], org_id=None)
