"""Approving a draft whose OKR id someone took meanwhile (a pending draft's id is public: the
`draft.created` webhook names it) is a 409 naming the OKR: it answered "approved", listing that
OKR as created, and made none of the draft's."""

from __future__ import annotations

from tests.service.test_review_page import _pending_draft


def test_an_approval_whose_okr_id_is_taken_is_refused_and_changes_nothing(
    client, scored_sample, jobs
) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    draft = client.get(f"/orgs/{org}/drafts/{draft_id}").json()
    squatter = {"id": f"{draft_id}-O1", "team": "T-3", "cycle": "2026-Q4", "title": "Squatted"}
    assert client.post(f"/orgs/{org}/okrs", json=squatter).status_code == 201

    refused = client.post(f"/orgs/{org}/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]["message"]
    assert f"'{draft_id}-O1' already exists (team T-3" in message and "Squatted" in message
    assert client.get(f"/orgs/{org}/drafts/{draft_id}").json()["status"] == "pending"
    mine = client.get(f"/orgs/{org}/okrs", params={"team": draft["team"], "limit": 500}).json()
    assert not any(o["id"].startswith(draft_id) for o in mine["items"])
