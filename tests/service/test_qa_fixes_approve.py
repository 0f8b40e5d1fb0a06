"""Approving a draft one of whose key-result ids someone took: the 409 names the draft's key
result, says what to do, and the team page says it once."""

from __future__ import annotations

import html
import re

from tests.service.test_review_page import _pending_draft


def _take_first_key_result_id(client, org: str, draft_id: str) -> str:
    taken = f"{draft_id}-O1-KR1"
    made = client.post(
        f"/orgs/{org}/key-results",
        json={"id": taken, "okr": "O-30", "title": "Squatted key result", "kind": "lag"},
    )
    assert made.status_code == 201, made.text
    return taken


def test_a_taken_key_result_id_is_named_at_the_drafts_key_result(
    client, scored_sample, jobs
) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    taken = _take_first_key_result_id(client, org, draft_id)

    refused = client.post(f"/orgs/{org}/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["details"] == [
        {
            "path": "$.draft.suggestions[0].key_results[0]",
            "message": f"key result {taken!r} already exists, under OKR 'O-30', "
            "not made by this draft",
        }
    ]
    assert "delete the existing key result" in error["message"]
    assert "then approve again" in error["message"]
    assert client.get(f"/orgs/{org}/drafts/{draft_id}").json()["status"] == "pending"
    assert client.get(f"/orgs/{org}/okrs/{draft_id}-O1").status_code == 404

    # The way out it names works.
    assert client.delete(f"/orgs/{org}/key-results/{taken}").status_code == 204
    approved = client.post(f"/orgs/{org}/drafts/{draft_id}/approve", json={})
    assert approved.status_code == 200, approved.text


def test_the_team_page_says_it_once(client, scored_sample, jobs) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    taken = _take_first_key_result_id(client, org, draft_id)
    page = client.post(f"/orgs/{org}/team/T-9/drafts/{draft_id}/approve")
    assert page.status_code == 409
    alerts = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", "", a)).split())
        for a in re.findall(r'<p role="alert"[^>]*>(.*?)</p>', page.text, flags=re.S)
    ]
    [said] = [a for a in alerts if taken in a]
    assert said.count(taken) == 1 and said.count("already exists") == 1, said
    assert "delete the existing key result" in said
