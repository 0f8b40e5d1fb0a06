"""Fixtures of the row-level security tests (test_tenancy.py, test_persistence_leftovers.py):
committed organizations, and an engine that connects as the application role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from alignment import db
from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from alignment.models import Organization
from tests.factories import small_bundle


@pytest.fixture
def two_orgs(engine: Engine) -> Iterator[tuple[str, str, dict[str, str]]]:
    a, b = f"rls-a-{uuid.uuid4().hex[:6]}", f"rls-b-{uuid.uuid4().hex[:6]}"
    raw: dict[str, str] = {}
    with Session(engine) as s, s.begin():
        for org in (a, b):
            import_document(s, small_bundle(org))
            raw[org] = keys.create_key(s, org_id=org, role=Role.admin)[1]
    yield a, b, raw
    with Session(engine) as s, s.begin():
        for org in (a, b):
            s.delete(s.get(Organization, org))


@pytest.fixture
def app_engine(database_url: str) -> Iterator[Engine]:
    # One pooled connection, so the second transaction surely reuses the first one's.
    engine = create_engine(db.app_url(database_url), pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()
