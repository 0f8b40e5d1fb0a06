"""Schemathesis against the app's own OpenAPI schema, with an admin key, NUL bytes allowed.

The app runs as in production (its own sessions as the application role) on a committed
organization; half of the generated cases are pointed at that organization so they reach the
routes' own validation, not only the 404 of an unknown id. Checks: no 500, every status
documented, every body matching its schema. The run's request count and statuses are printed
(`pytest -s`) and quoted in docs/security.md.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from alignment import db, repository
from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from service import deps
from service.app import create_app
from service.ratelimit import RateLimiter
from tests.factories import small_bundle

# What the API promises: never a 500, every status documented, every body as documented.
# (Stricter-than-schema validation, e.g. refusing NUL in a title, is intended, so the
# "schema-valid data must be accepted" check is not among them.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ORG = f"fuzz-{uuid.uuid4().hex[:6]}"
STATUSES: Counter[int] = Counter()
TURN = itertools.count()  # every other case goes to the real organization
# Deleting the organization or its keys would end the run early; those two are covered by
# the access matrix instead.
SKIP = {("DELETE", "/orgs/{org_id}"), ("DELETE", "/orgs/{org_id}/keys/{prefix}")}

app = create_app()
# The schema as /openapi.json serves it, read without a request: through the ASGI client the
# app's startup would run at collection, before the tests' database is set, and start the
# embedded PostgreSQL in the user's own data directory (and leave it running).
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(app.openapi())))
schema.app = app


@pytest.fixture(scope="module")
def admin_key(database_url, embedder):
    app.dependency_overrides[deps.embedder] = lambda: embedder
    app.state.rate_limiter = RateLimiter(per_minute=10**6)  # limits have their own test
    with Session(db.get_engine()) as s, s.begin():
        import_document(s, small_bundle(ORG))
        raw = keys.create_key(s, org_id=ORG, role=Role.admin, name="fuzzer")[1]
    yield raw
    print(f"\nfuzz: {sum(STATUSES.values())} requests, statuses {dict(sorted(STATUSES.items()))}")
    with Session(db.get_engine()) as s, s.begin():
        repository.delete_org(s, ORG)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_and_never_500s(case, admin_key) -> None:
    if (case.method.upper(), case.path) in SKIP:
        pytest.skip("destructive for the run itself")
    if case.path_parameters and "org_id" in case.path_parameters and next(TURN) % 2:
        case.path_parameters["org_id"] = ORG
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_key}"}, checks=CHECKS
    )
    STATUSES[response.status_code] += 1
