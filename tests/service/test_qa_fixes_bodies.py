"""A POST with no body, on a route whose body has nothing the caller must say, reads as `{}`
(service/json_body.py); a body that is there but malformed is refused as before."""

from __future__ import annotations

import pytest

from alignment.drafting.offline import OfflineDrafter
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG
from tests.conftest import make_client
from tests.jobs_support import Jobs

drafting_connection, dsession = support.drafting_connection, support.dsession
api = support.api
BASE = f"/orgs/{ORG}/drafts"


@pytest.fixture
def draft(api, dsession, embedder) -> dict:
    jobs = Jobs(dsession, embedder, OfflineDrafter())
    made = api.post(f"{BASE}/suggestions", json={"team": "T-13", "objectives": ["SO-12"]})
    return jobs.draft(api, made)


def test_approve_with_no_body_approves(api, draft) -> None:
    approved = api.post(f"{BASE}/{draft['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["created_records"]
    assert api.get(f"{BASE}/{draft['id']}").json()["status"] == "approved"


def test_an_empty_json_body_is_no_body_too(api, draft) -> None:
    approved = api.post(
        f"{BASE}/{draft['id']}/approve",
        content=b"",
        headers={"Content-Type": "application/json", "Content-Length": "0"},
    )
    assert approved.status_code == 200, approved.text


@pytest.mark.parametrize("body", [b"{", b" ", b"null", b"[]"])
def test_a_body_that_is_there_but_wrong_is_still_refused(api, draft, body) -> None:
    refused = api.post(
        f"{BASE}/{draft['id']}/approve",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert refused.status_code == 422, refused.text
    assert api.get(f"{BASE}/{draft['id']}").json()["status"] == "pending"


def test_routes_with_something_to_say_still_want_a_body(api, draft) -> None:
    # A draft's rejection needs its reason (named: see below); a PATCH with no body forgot
    # its changes.
    reject = api.post(f"{BASE}/{draft['id']}/reject")
    assert reject.status_code == 422
    patch = api.patch(f"/orgs/{ORG}/okrs/O-14")
    assert patch.status_code == 422


def test_rejecting_from_the_review_queue_needs_no_body(session, scored_sample, embedder) -> None:
    with make_client(session, embedder) as client:
        rejected = client.post(f"/orgs/{scored_sample}/review-queue/okrs/O-38/reject")
        assert rejected.status_code == 200, rejected.text
        assert all(r["note"] is None for r in rejected.json()["rejected"])


def test_no_body_where_a_field_is_required_names_the_field(api, draft) -> None:
    """A reject needs its reason: with no body the answer says so at `$.reason`, as for `{}`,
    not a "Field required" at `$` that names nothing."""
    for sent in ({}, {"json": {}}):
        refused = api.post(f"{BASE}/{draft['id']}/reject", **sent)
        assert refused.status_code == 422, refused.text
        paths = [d["path"] for d in refused.json()["error"]["details"]]
        assert paths == ["$.reason"], refused.text
    assert api.get(f"{BASE}/{draft['id']}").json()["status"] == "pending"
