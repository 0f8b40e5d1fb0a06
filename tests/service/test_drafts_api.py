"""Drafts over HTTP: suggest, summarize, list, read, approve (idempotent), reject, audit."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from alignment.access.principal import Principal, Role
from alignment.drafting.offline import OfflineDrafter
from service import permissions
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG, FakeOpenAI, llm_drafter, valid_suggestion
from tests.conftest import make_client
from tests.jobs_support import Jobs

drafting_connection, dsession, llm_server = (
    support.drafting_connection,
    support.dsession,
    support.llm_server,
)
api = support.api
BASE = f"/orgs/{ORG}/drafts"


@pytest.fixture
def djobs(dsession, embedder) -> Jobs:
    return Jobs(dsession, embedder, OfflineDrafter())


def test_suggest_approve_twice_and_read_the_created_okr(api, djobs):
    made = api.post(f"{BASE}/suggestions", json={"team": "T-13", "objectives": ["SO-12"]})
    assert made.status_code == 202, made.text
    assert made.json()["kind"] == "draft_suggestions" and made.json()["status"] == "queued"
    draft = djobs.draft(api, made)
    # No cycle asked for: 2026-Q4 is past half on the data's day, so the next one, proposed.
    assert draft["status"] == "pending" and draft["cycle"] == "2027-Q1"
    assert draft["provenance"]["drafter"] == "offline"
    assert {g["name"] for g in draft["gates"]} == {
        "schema",
        "quality",
        "aligned",
        "not_duplicate",
        "title_not_objective",
        "citations",
    }
    assert api.get(f"/orgs/{ORG}/cycles/2027-Q1").status_code == 404  # not before approval
    assert "No LLM wrote this text" in draft["payload"]["notice"]

    first = api.post(f"{BASE}/{draft['id']}/approve", json={})
    second = api.post(f"{BASE}/{draft['id']}/approve", json={})
    assert first.status_code == second.status_code == 200
    assert first.json()["created_records"] == second.json()["created_records"]
    [okr_id] = first.json()["created_records"]
    okr = api.get(f"/orgs/{ORG}/okrs/{okr_id}").json()
    assert okr["team"] == "T-13" and okr["declared_links"] == ["SO-12"]
    assert okr["cycle"] == "2027-Q1"
    cycle = api.get(f"/orgs/{ORG}/cycles/2027-Q1").json()  # created by the approval
    assert (cycle["start"], cycle["end"]) == ("2027-01-01", "2027-03-31")

    audit = api.get(f"{BASE}/{draft['id']}/audit").json()
    assert [d["decision"] for d in audit["decisions"]] == ["approved"]
    assert audit["attempts"][0]["passed"] is True
    assert api.get(f"{BASE}/{draft['id']}").json()["status"] == "approved"


def test_edit_then_reject_flows_and_list_filters(api, djobs):
    one = djobs.draft(
        api, api.post(f"{BASE}/suggestions", json={"team": "T-9", "objectives": ["SO-9"]})
    )
    two = djobs.draft(api, api.post(f"{BASE}/summaries", json={"team": "T-9"}))
    assert two["kind"] == "summary" and two["status"] == "pending"

    # An edit citing an objective that does not exist names where, and creates nothing.
    cites = {**one["payload"]}
    cites["suggestions"] = [{**cites["suggestions"][0], "objective_ids": ["SO-9", "SO-999"]}]
    refused = api.post(f"{BASE}/{one['id']}/approve", json={"edited": cites})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"] == [
        {
            "path": "$.edited.suggestions[0].objective_ids[1]",
            "message": "no strategic objective 'SO-999' in this organization",
        }
    ]
    assert api.get(f"{BASE}/{one['id']}").json()["status"] == "pending"

    # A person's edit is held to the bundle's measurement rules: `true` once became a target 1.0.
    first = one["payload"]["suggestions"][0]
    for target, says in ((True, "not true or false"), (10**20, "beyond what is stored exactly")):
        kr = {**first["key_results"][0], "target": target}
        bad = {**one["payload"], "suggestions": [{**first, "key_results": [kr]}]}
        refused = api.post(f"{BASE}/{one['id']}/approve", json={"edited": bad})
        assert refused.status_code == 422, refused.text
        [detail] = refused.json()["error"]["details"]
        assert detail["path"] == "$.edited.suggestions[0].key_results[0].target", detail
        assert says in detail["message"]
    assert api.get(f"{BASE}/{one['id']}").json()["status"] == "pending"

    edited = {**one["payload"]}
    edited["suggestions"] = [{**edited["suggestions"][0], "title": "Routes drawn from data"}]
    approved = api.post(f"{BASE}/{one['id']}/approve", json={"edited": edited}).json()
    assert approved["status"] == "edited_and_approved"
    assert approved["edited_payload"]["suggestions"][0]["title"] == "Routes drawn from data"
    assert approved["payload"] == one["payload"]  # the AI's version stays as it was

    rejected = api.post(f"{BASE}/{two['id']}/reject", json={"reason": "Too long."})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    again = api.post(f"{BASE}/{two['id']}/approve", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    listed = api.get(BASE, params={"status": "rejected"}).json()
    assert [d["id"] for d in listed["items"]] == [two["id"]] and listed["total"] == 1
    assert api.get(BASE, params={"kind": "suggestion", "team": "T-9"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "where"),
    [
        ("summaries", {"team": "T-9", "objective": "SO-9"}, 422, "$"),
        ("summaries", {}, 422, "$"),
        ("summaries", {"objective": "SO-404"}, 422, "$.objective"),
        ("suggestions", {"team": "T-404"}, 422, "$.team"),
        ("suggestions", {"team": "T-9", "objectives": ["SO-404"]}, 422, "$.objectives"),
        ("suggestions", {"team": "T-9", "cycle": "2031-Q1"}, 422, "$.cycle"),
        ("suggestions", {"team": "T-9", "objectives": []}, 422, "$.objectives"),
        ("suggestions", {"team": "T-9", "objectives": "all"}, 422, "$.objectives"),
        ("suggestions", {"team": "T-9", "objectives": ["SO-9", "SO-9"]}, 422, "$.objectives"),
    ],
)
def test_bad_requests_name_the_problem(api, path, body, status, where):
    answer = api.post(f"{BASE}/{path}", json=body)
    assert answer.status_code == status, answer.text
    if where:
        assert answer.json()["error"]["details"][0]["path"] == where


def test_unknown_draft_is_404(api):
    assert api.get(f"{BASE}/D-missing").status_code == 404
    assert api.post(f"{BASE}/D-missing/approve", json={}).status_code == 404


def test_provider_down_fails_the_job_with_its_reason_and_stores_nothing(
    dsession, embedder, llm_server: FakeOpenAI
):
    llm_server.reply(valid_suggestion(), status=500)
    llm_server.reply(valid_suggestion(), status=502)
    drafter = llm_drafter(llm_server, max_retries=1)
    with make_client(dsession, embedder) as client:
        before = client.get(BASE).json()["total"]
        answer = client.post(f"{BASE}/suggestions", json={"team": "T-9", "objectives": ["SO-9"]})
        job = Jobs(dsession, embedder, drafter).run(client, answer)
        assert job["status"] == "failed" and job["result"] is None
        assert job["error"].startswith("unavailable:"), job["error"]
        assert client.get(BASE).json()["total"] == before


def test_llm_drafts_through_the_api_record_the_model(dsession, embedder, llm_server):
    llm_server.reply(valid_suggestion(), usage=(700, 200))
    with make_client(dsession, embedder) as client:
        answer = client.post(f"{BASE}/suggestions", json={"team": "T-9", "objectives": ["SO-9"]})
        draft = Jobs(dsession, embedder, llm_drafter(llm_server)).draft(client, answer)
    assert draft["status"] == "pending"
    assert draft["provenance"]["model"] == support.MODEL
    assert draft["provenance"]["tokens"] == {"input": 700, "output": 200, "total": 900}
    assert draft["provenance"]["prompt"]["id"] == "suggest_okrs"


class Restating(OfflineDrafter):
    """An offline drafter that answers with a payload given up front, as a model may: the
    offline templates themselves never restate what exists (they answer "nothing new")."""

    def __init__(self, payload: dict) -> None:
        self.payload = {k: v for k, v in payload.items() if k != "notice"}

    def suggest(self, ctx, budget):
        return self._attempt("suggest_okrs", self.payload, 0.0)


def failed_draft(client: TestClient, jobs: Jobs, org: str, team: str, headers=None) -> dict:
    """A draft stored as `failed`: the same suggestion offered again once the first one is
    approved restates an OKR the team has, and the `not_duplicate` gate refuses it."""
    base = f"/orgs/{org}/drafts"
    ask = {"team": team}
    first = jobs.draft(
        client, client.post(f"{base}/suggestions", json=ask, headers=headers), headers
    )
    approved = client.post(f"{base}/{first['id']}/approve", json={}, headers=headers)
    assert approved.status_code == 200, approved.text
    drafter = jobs.services.drafter
    jobs.services.drafter = Restating(first["payload"])
    try:
        again = jobs.draft(
            client, client.post(f"{base}/suggestions", json=ask, headers=headers), headers
        )
    finally:
        jobs.services.drafter = drafter
    assert again["status"] == "failed", again["gates"]
    return again


def test_a_failed_draft_is_dismissed_once_and_stays_in_the_api(api, djobs):
    failed = failed_draft(api, djobs, ORG, "T-13")
    assert (failed["dismissed_at"], failed["dismissed_by"]) == (None, None)
    [approved] = api.get(BASE, params={"status": "approved"}).json()["items"]
    refused = api.post(f"{BASE}/{approved['id']}/dismiss")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        f"draft {approved['id']!r} is approved: only a failed draft can be dismissed"
    )
    forged = api.post(f"{BASE}/{failed['id']}/dismiss", json={"dismissed_by": "CEO"})
    assert forged.status_code == 422
    assert forged.json()["error"]["details"][0]["path"] == "$.dismissed_by"

    first = api.post(f"{BASE}/{failed['id']}/dismiss")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "failed" and first.json()["dismissed_by"] == "test-admin"
    assert first.json()["dismissed_at"]
    again = api.post(f"{BASE}/{failed['id']}/dismiss", json={})
    assert again.status_code == 200 and again.json() == first.json()  # the first one stands
    assert api.get(f"{BASE}/{failed['id']}").json() == first.json()
    listed = api.get(BASE, params={"status": "failed"}).json()["items"]
    assert [d["dismissed_by"] for d in listed if d["id"] == failed["id"]] == ["test-admin"]
    assert api.get(f"{BASE}/{failed['id']}/audit").json()["draft"] == first.json()
    assert api.post(f"{BASE}/D-missing/dismiss").status_code == 404


def test_dismissing_is_for_the_teams_deciders_and_is_audited(dsession, embedder, djobs):
    from sqlalchemy import select

    from alignment.access import keys
    from alignment.access.principal import Role
    from alignment.models import AuditEntry, Cycle
    from tests.conftest import auth

    made = {
        name: auth(keys.create_key(dsession, org_id=ORG, name=name, **kind)[1])
        for name, kind in (
            ("Lea", {"role": Role.team_lead, "team_ids": ["T-13"]}),
            ("Tom", {"role": Role.team_lead, "team_ids": ["T-9"]}),
            ("Ivy", {"role": Role.integration}),
        )
    }
    # The drafts are for the next cycle, which an admin defines: a team lead's approval cannot.
    dsession.add(Cycle(org_id=ORG, id="2027-Q1", start=date(2027, 1, 1), end=date(2027, 3, 31)))
    dsession.commit()
    with make_client(dsession, embedder, real_auth=True) as client:
        failed = failed_draft(client, djobs, ORG, "T-13", made["Lea"])
        url = f"{BASE}/{failed['id']}/dismiss"
        assert client.post(url, headers=made["Tom"]).status_code == 403  # another team's lead
        assert client.post(url, headers=made["Ivy"]).status_code == 403  # decides no drafts
        dismissed = client.post(url, headers=made["Lea"])
        assert dismissed.status_code == 200, dismissed.text
        assert dismissed.json()["dismissed_by"].startswith("Lea (key ")
    entries = dsession.scalars(
        select(AuditEntry).where(
            AuditEntry.org_id == ORG,
            AuditEntry.action == "POST /orgs/{org_id}/drafts/{draft_id}/dismiss",
        )
    ).all()
    assert [(e.principal, e.record) for e in entries] == [
        (dismissed.json()["dismissed_by"], failed["id"])
    ]


def test_one_requester_has_at_most_five_drafts_waiting(api, djobs, dsession, embedder):
    """Every organization's jobs share one queue: one key asking again and again would put
    everyone's work behind its own."""
    ask = {"team": "T-9", "objectives": ["SO-9"]}
    for _ in range(5):
        assert api.post(f"{BASE}/suggestions", json=ask).status_code == 202
    refused = api.post(f"{BASE}/suggestions", json=ask)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
    error = refused.json()["error"]
    assert error["code"] == "too_many_waiting" and len(error["details"]) == 5
    # A summary is another kind, and another requester has its own five.
    assert api.post(f"{BASE}/summaries", json={"team": "T-9"}).status_code == 202

    def other(request: Request) -> Principal:
        principal = Principal(name="another lead", role=Role.admin, org_id=ORG)
        request.state.principal = principal
        return principal

    someone = make_client(dsession, embedder)
    someone.app.dependency_overrides[permissions.authorize] = other
    with someone:
        assert someone.post(f"{BASE}/suggestions", json=ask).status_code == 202
    # Once they have run, the first requester may ask again.
    djobs.drain()
    assert api.post(f"{BASE}/suggestions", json=ask).status_code == 202
