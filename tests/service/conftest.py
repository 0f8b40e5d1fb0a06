"""Fixtures of the tests that run the app as in production: its own sessions as the application
role, real API keys, committed data that each test cleans up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alignment import repository
from alignment.access import keys
from alignment.access.principal import Role
from alignment.models import Organization
from service import deps
from service.app import create_app


@pytest.fixture
def platform(engine: Engine) -> Iterator[str]:
    with Session(engine) as s, s.begin():
        raw = keys.create_key(s, org_id=None, role=Role.platform_admin)[1]
    yield raw
    with Session(engine) as s, s.begin():
        keys.revoke_key(s, raw.split("_")[1], org_id=None)


@pytest.fixture
def app_client(embedder) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[deps.embedder] = lambda: embedder
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    with Session(engine) as s, s.begin():
        for org in made:
            if s.get(Organization, org):
                repository.delete_org(s, org)
