"""`POST /bundles?background=true`: the bundle is kept, imported by a job, and removed; what
the job reports is what the inline import answers; a broken bundle fails the job by path."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.access.principal import Principal, Role
from alignment.models import BundleUpload, Job, Okr
from tests.conftest import make_client
from tests.factories import small_bundle

ORG = "acme-bg"


def org_client(session: Session, embedder, role: Role) -> TestClient:
    """A client whose key, of `role`, belongs to the organization (background imports need
    one)."""
    from service import permissions

    def signed_in(request: Request) -> Principal:
        principal = Principal(name=f"acme {role.value}", role=role, org_id=ORG)
        request.state.principal = principal
        return principal

    made = make_client(session, embedder)
    made.app.dependency_overrides[permissions.authorize] = signed_in
    return made


@pytest.fixture
def acme(client: TestClient, session: Session, embedder) -> Iterator[TestClient]:
    assert client.post("/bundles", json=small_bundle(ORG)).status_code == 200
    with org_client(session, embedder, Role.admin) as admin:
        yield admin


def uploads(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BundleUpload)) or 0


def test_a_background_import_is_a_job_that_leaves_nothing_behind(acme, jobs, session) -> None:
    bundle = small_bundle(ORG)
    bundle["okrs"][0]["title"] = "Cut avoidable readmissions by a fifth"
    queued = acme.post("/bundles", params={"background": True}, json=bundle)
    assert queued.status_code == 202, queued.text
    assert queued.json()["kind"] == "import" and uploads(session) == 1
    # Nothing is imported before the job runs.
    first = bundle["okrs"][0]["id"]
    title = select(Okr.title).where(Okr.org_id == ORG, Okr.id == first)
    assert session.scalar(title) != bundle["okrs"][0]["title"]

    result = jobs.result(acme, queued)
    assert result["changed"] is True and result["updated"]["okrs"] == 1
    assert session.scalar(title) == "Cut avoidable readmissions by a fifth"
    assert uploads(session) == 0
    scoring = session.get(Job, int(result["scoring_job"].rsplit("/", 1)[1]))
    assert scoring is not None and scoring.kind == "score"

    # The same bundle again: the job reports no change, as the inline import would.
    again = jobs.result(acme, acme.post("/bundles", params={"background": True}, json=bundle))
    assert again["changed"] is False and "scoring_job" not in again


def test_a_broken_bundle_fails_its_job_naming_each_problem(acme, jobs, session) -> None:
    bundle = copy.deepcopy(small_bundle(ORG))
    bundle["okrs"][0]["team"] = "T-404"
    failed = jobs.run(acme, acme.post("/bundles", params={"background": True}, json=bundle))
    assert failed["status"] == "failed" and failed["error"].startswith("bundle_invalid")
    assert any("T-404" in d["message"] for d in failed["result"]["details"])
    assert uploads(session) == 0  # a final failure keeps nothing

    other = small_bundle("someone-else")
    refused = jobs.run(acme, acme.post("/bundles", params={"background": True}, json=other))
    assert refused["status"] == "failed" and uploads(session) == 0


def test_a_background_import_needs_an_organizations_key(client) -> None:
    answer = client.post("/bundles", params={"background": True}, json=small_bundle(ORG))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["path"] == "query.background"


def test_a_background_import_renames_the_organization_only_for_its_admin(
    acme, jobs, session, embedder
) -> None:
    renamed = small_bundle(ORG)
    renamed["organization"]["name"] = "Renamed by a tool"
    with org_client(session, embedder, Role.integration) as integration:
        queued = integration.post("/bundles", params={"background": True}, json=renamed)
        refused = jobs.run(integration, queued)
    assert refused["status"] == "failed" and refused["error"].startswith("forbidden")
    assert refused["result"]["details"][0]["path"] == "$.organization.name"
    assert acme.get(f"/orgs/{ORG}").json()["name"] != "Renamed by a tool"
    done = jobs.result(acme, acme.post("/bundles", params={"background": True}, json=renamed))
    assert done["updated"]["organizations"] == 1
    assert acme.get(f"/orgs/{ORG}").json()["name"] == "Renamed by a tool"
