"""Object checks, deciders and the audit log, with real API keys."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.drafting.store import decisions
from alignment.imports import import_document
from alignment.models import AuditEntry, LinkFeedback, Okr
from tests.conftest import auth, keys_per_role
from tests.factories import small_bundle

ORG = "acme-rules"
# The cycle after small_bundle's last (2026-Q4), which it does not define.
NEXT_CYCLE = {"id": "2027-Q1", "start": "2027-01-01", "end": "2027-03-31"}


@pytest.fixture
def setup(session: Session, embedder):
    return keys_per_role(session, embedder, ORG)


def test_team_lead_writes_only_its_own_teams_records(setup) -> None:
    client, made = setup
    lead = auth(made["lead"])
    base = f"/orgs/{ORG}"
    own = client.patch(
        f"{base}/okrs/O-1", json={"title": "Call every patient on day one"}, headers=lead
    )
    assert own.status_code == 200
    # O-2 belongs to T-2: updating, deleting, adding key results or check-ins to it is refused.
    assert (
        client.patch(f"{base}/okrs/O-2", json={"title": "x y z"}, headers=lead).status_code == 403
    )
    assert client.delete(f"{base}/okrs/O-2", headers=lead).status_code == 403
    new_okr = {"id": "O-9", "team": "T-2", "cycle": "2026-Q4", "title": "Another team's goal"}
    assert client.post(f"{base}/okrs", json=new_okr, headers=lead).status_code == 403
    # Moving its own OKR to another team is refused too.
    assert client.patch(f"{base}/okrs/O-1", json={"team": "T-2"}, headers=lead).status_code == 403
    check_in = {"id": "C-9", "okr": "O-2", "text": "Swept two wards."}
    assert client.post(f"{base}/check-ins", json=check_in, headers=lead).status_code == 403
    own_check_in = {"id": "C-9", "okr": "O-1", "text": "Called 40 patients on day one."}
    assert client.post(f"{base}/check-ins", json=own_check_in, headers=lead).status_code == 201
    assert (
        client.patch(f"{base}/check-ins/C-2", json={"text": "x"}, headers=lead).status_code == 403
    )
    assert client.delete(f"{base}/key-results/O-2-KR1", headers=lead).status_code == 403
    # Reading the organization's strategy is fine; writing it is not.
    assert client.get(f"{base}/objectives", headers=lead).status_code == 200
    assert (
        client.post(f"{base}/teams", json={"id": "T-7", "name": "New"}, headers=lead).status_code
        == 403
    )


@pytest.mark.parametrize(
    "media", ["application/JSON", "Application/Json; charset=utf-8", "application/x+json", None]
)
def test_a_team_leads_body_is_checked_whatever_its_content_type_says(setup, media) -> None:
    # The route reads a JSON body under any spelling of its media type (or none): the team
    # check must read the same body, or a lead writes for any team by changing one header.
    client, made = setup
    base = f"/orgs/{ORG}"
    headers = auth(made["lead"]) | ({"content-type": media} if media else {})
    writes = [
        ("post", "/okrs", {"id": "O-9", "team": "T-2", "cycle": "2026-Q4", "title": "Theirs"}),
        ("patch", "/okrs/O-1", {"team": "T-2"}),
        ("post", "/check-ins", {"id": "C-9", "okr": "O-2", "text": "Swept two wards."}),
        ("post", "/drafts/suggestions", {"team": "T-2"}),
        ("post", "/drafts/summaries", {"objective": "SO-1"}),
    ]
    for method, path, body in writes:
        sent = client.request(method, base + path, content=json.dumps(body), headers=headers)
        assert sent.status_code == 403, (method, path, sent.text)
    assert client.get(f"{base}/okrs/O-9", headers=auth(made["admin"])).status_code == 404


def test_a_team_leads_write_that_is_no_json_object_is_refused(setup) -> None:
    client, made = setup
    headers = auth(made["lead"]) | {"content-type": "application/json"}
    for raw in (b"\xff\xfe", b"team: T-2"):  # the route's own JSON parsing refuses these
        assert client.post(f"/orgs/{ORG}/okrs", content=raw, headers=headers).status_code == 422
    for raw in (b'[{"team": "T-2"}]', b'"T-2"'):  # JSON, but nothing the team check can read
        sent = client.post(f"/orgs/{ORG}/okrs", content=raw, headers=headers)
        assert sent.status_code == 422, sent.text
        assert sent.json()["error"]["details"] == [{"path": "$", "message": "not a JSON object"}]


def _fullwidth(ident: str) -> str:
    """The id as typed on a fullwidth (CJK) keyboard layout: "O-2" as "Ｏ－２"."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ident)


# The route reads an id in its stored form: surrounding spaces stripped, Unicode NFKC ("Ｏ－２"
# is O-2). The team check must read it the same way, or it finds no OKR, passes, and the write
# lands on another team's.
@pytest.mark.parametrize(
    "spell", [lambda ident: f" {ident} ", _fullwidth], ids=["padded", "fullwidth"]
)
def test_a_team_leads_ids_are_checked_as_the_route_reads_them(setup, spell) -> None:
    client, made = setup
    lead, base = auth(made["lead"]), f"/orgs/{ORG}"
    theirs = [
        ("/key-results", {"id": "KR-X", "okr": spell("O-2"), "title": "Another team's measure"}),
        ("/check-ins", {"id": "C-X", "okr": spell("O-2"), "text": "Swept two wards."}),
        ("/okrs", {"id": "O-X", "team": spell("T-2"), "cycle": "2026-Q4", "title": "Theirs"}),
    ]
    for path, body in theirs:
        assert client.post(base + path, json=body, headers=lead).status_code == 403, path
    own = {"id": "C-Y", "okr": spell("O-1"), "text": "Called on day one."}
    made_check_in = client.post(f"{base}/check-ins", json=own, headers=lead)
    assert made_check_in.status_code == 201, made_check_in.text
    assert made_check_in.json()["okr"] == "O-1"


def test_an_okr_reference_that_is_no_id_never_reaches_the_query(setup) -> None:
    client, made = setup
    lead, base = auth(made["lead"]), f"/orgs/{ORG}"
    for okr in ({"a": 1}, 12, "O-\x00"):
        sent = client.post(
            f"{base}/check-ins", json={"id": "C-Y", "okr": okr, "text": "x"}, headers=lead
        )
        assert sent.status_code == 422, sent.text
        assert sent.json()["error"]["details"] == [{"path": "$.okr", "message": "not an id"}]


def test_a_deeply_nested_body_is_refused_not_a_crash(setup, monkeypatch) -> None:
    from service import permissions

    client, made = setup
    deep = "[" * 100_000
    plain = {"content-type": "text/plain"}
    # Nobody's body is parsed for the team check before the caller is known to be a team lead.
    parsed = []
    monkeypatch.setattr(permissions.json, "loads", lambda raw: parsed.append(raw) or {})
    assert client.post(f"/orgs/{ORG}/okrs", content=deep, headers=plain).status_code == 401
    admin = plain | auth(made["admin"])
    # Sent as text/plain, the route never reads it as JSON: 415, saying to send JSON.
    assert client.post(f"/orgs/{ORG}/okrs", content=deep, headers=admin).status_code == 415
    assert parsed == []
    monkeypatch.undo()
    sent = client.post(f"/orgs/{ORG}/okrs", content=deep, headers=plain | auth(made["lead"]))
    assert sent.status_code == 422, sent.text


def test_team_lead_requests_and_decides_drafts_for_its_own_teams_only(setup, jobs) -> None:
    client, made = setup
    lead, office = auth(made["lead"]), auth(made["office"])
    base = f"/orgs/{ORG}/drafts"
    other = client.post(f"{base}/suggestions", json={"team": "T-2"}, headers=lead)
    assert other.status_code == 403
    objective_summary = client.post(f"{base}/summaries", json={"objective": "SO-1"}, headers=lead)
    assert objective_summary.status_code == 403
    assert 'ask with "team"' in objective_summary.json()["error"]["message"]
    assert "None" not in objective_summary.json()["error"]["message"]
    # The office drafts for T-2; the team lead of T-1 can neither see nor decide that draft.
    queued = client.post(f"{base}/suggestions", json={"team": "T-2"}, headers=office)
    draft_id = jobs.result(client, queued, office)["draft_id"]
    # The office's job is not the team lead's to read either.
    assert client.get(queued.headers["Location"], headers=lead).status_code == 404
    assert client.get(f"{base}/{draft_id}", headers=lead).status_code == 403
    assert client.post(f"{base}/{draft_id}/approve", json={}, headers=lead).status_code == 403
    listed = client.get(base, headers=lead).json()
    assert draft_id not in [d["id"] for d in listed["items"]]
    assert client.get(f"{base}/{draft_id}/audit", headers=lead).status_code == 403
    mine = client.post(f"{base}/suggestions", json={"team": "T-1"}, headers=lead)
    mine_id = jobs.result(client, mine, lead)["draft_id"]
    assert mine_id in [d["id"] for d in client.get(base, headers=lead).json()["items"]]


def test_approving_a_draft_defines_its_cycle_only_for_a_role_that_may_define_cycles(
    setup, jobs, session: Session
) -> None:
    """Cycles are the organization's (`POST /cycles` is the admin's and the integration's): a
    team lead, or the office, approving a suggestion for a cycle not defined yet is refused with
    409 asking for an admin, on the API and on the pages, and nothing is written; an admin's
    approval defines it."""
    client, made = setup
    lead, office, admin = auth(made["lead"]), auth(made["office"]), auth(made["admin"])
    base = f"/orgs/{ORG}"
    assert client.post(f"{base}/cycles", json=NEXT_CYCLE, headers=lead).status_code == 403
    # A check-in late in 2026-Q4 puts the team's drafts in the next cycle, not defined yet.
    late = {"id": "C-9", "okr": "O-1", "date": "2026-12-20", "text": "Called 50 patients."}
    assert client.post(f"{base}/check-ins", json=late, headers=lead).status_code == 201
    asked = client.post(f"{base}/drafts/suggestions", json={"team": "T-1"}, headers=lead)
    draft_id = jobs.result(client, asked, lead)["draft_id"]
    draft = client.get(f"{base}/drafts/{draft_id}", headers=lead).json()
    assert draft["cycle"] == "2027-Q1" and draft["request"]["new_cycle"] == NEXT_CYCLE

    api = f"{base}/drafts/{draft_id}/approve"
    for key in (lead, office):
        refused = client.post(api, json={}, headers=key)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["message"] == (
            "the draft is for cycle '2027-Q1' (2027-01-01 to 2027-03-31), which the organization "
            "has not defined yet; ask an admin to define the cycle first, then approve the draft"
        )
    form = {"content-type": "application/x-www-form-urlencoded"}
    on_team_page = client.post(
        f"{base}/team/T-1/drafts/{draft_id}/approve", content="", headers=lead | form
    )
    assert on_team_page.status_code == 409
    assert "ask an admin to define the cycle first" in on_team_page.text
    in_queue = client.post(f"{base}/review/drafts/{draft_id}/approve", headers=office | form)
    assert in_queue.status_code == 409
    assert "ask an admin to define the cycle first" in in_queue.text
    assert client.get(f"{base}/cycles/2027-Q1", headers=admin).status_code == 404
    assert client.get(f"{base}/drafts/{draft_id}", headers=lead).json()["status"] == "pending"
    assert decisions(session, ORG, draft_id) == []
    assert (
        session.scalars(select(Okr.id).where(Okr.org_id == ORG, Okr.cycle_id == "2027-Q1")).all()
        == []
    )

    approved = client.post(api, json={}, headers=admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["created_records"] == [f"{draft_id}-O1"]
    defined = client.get(f"{base}/cycles/2027-Q1", headers=lead).json()
    assert {k: defined[k] for k in NEXT_CYCLE} == NEXT_CYCLE


def test_a_new_keys_location_is_percent_encoded_whatever_the_organization_id(
    client, session: Session
) -> None:
    """Header values are Latin-1: an organization id in another script goes percent-encoded,
    and the Location still names the key."""
    org = "東京-health"
    import_document(session, small_bundle(org))
    created = client.post(f"/orgs/{org}/keys", json={"role": "integration"})
    assert created.status_code == 201, created.text
    prefix = created.json()["prefix"]
    assert created.headers["location"] == f"/orgs/%E6%9D%B1%E4%BA%AC-health/keys/{prefix}"
    assert client.delete(created.headers["location"]).status_code == 200


def test_the_decider_is_the_signed_in_key_never_the_body(setup, jobs, session: Session) -> None:
    client, made = setup
    office, admin = auth(made["office"]), auth(made["admin"])
    scored = jobs.run(client, client.post(f"/orgs/{ORG}/score", headers=admin), admin)
    assert scored["status"] == "succeeded" and scored["requested_by"].startswith("Ada")
    url = f"/orgs/{ORG}/okrs/O-1/links/SO-1/feedback"
    forged = client.post(url, json={"verdict": "confirmed", "decided_by": "CEO"}, headers=office)
    assert forged.status_code == 422
    assert forged.json()["error"]["details"][0]["path"] == "$.decided_by"
    ok = client.post(url, json={"verdict": "confirmed"}, headers=office)
    assert ok.status_code == 200, ok.text
    stored = session.scalar(select(LinkFeedback).where(LinkFeedback.org_id == ORG))
    assert stored.decided_by.startswith("Omar (key ")

    draft = client.post(f"/orgs/{ORG}/drafts/suggestions", json={"team": "T-1"}, headers=office)
    draft_id = jobs.result(client, draft, office)["draft_id"]
    approve = f"/orgs/{ORG}/drafts/{draft_id}/approve"
    assert client.post(approve, json={"decided_by": "CEO"}, headers=office).status_code == 422
    decided = client.post(approve, json={}, headers=office)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_by"].startswith("Omar (key ")
    history = client.get(f"/orgs/{ORG}/drafts/{draft_id}/audit", headers=office).json()
    assert history["decisions"][-1]["decided_by"] == decided.json()["decided_by"]


def test_every_write_is_audited_with_its_principal_and_only_admins_read_it(
    setup, session: Session
) -> None:
    client, made = setup
    admin, office = auth(made["admin"]), auth(made["office"])
    team = client.post(f"/orgs/{ORG}/teams", json={"id": "T-8", "name": "Logistics"}, headers=admin)
    assert team.status_code == 201
    refused = client.post(f"/orgs/{ORG}/teams", json={"id": "T-8", "name": "Again"}, headers=admin)
    assert refused.status_code == 409
    client.get(f"/orgs/{ORG}/teams", headers=admin)  # reads are not audited
    entries = session.scalars(select(AuditEntry).where(AuditEntry.org_id == ORG)).all()
    assert [(e.action, e.principal.split(" ")[0], e.record) for e in entries] == [
        ("POST /orgs/{org_id}/teams", "Ada", "T-8")  # the record made, though not in the URL
    ]  # the refused write left no entry
    log = client.get(f"/orgs/{ORG}/audit-log", headers=admin)
    assert log.status_code == 200
    assert log.json()["items"][0]["action"] == "POST /orgs/{org_id}/teams"
    # A key's create names the key it made: its prefix (the id in no URL and no body).
    key = client.post(f"/orgs/{ORG}/keys", json={"role": "strategy_office"}, headers=admin)
    assert key.status_code == 201, key.text
    made_key = client.get(f"/orgs/{ORG}/audit-log", headers=admin).json()["items"][0]
    assert (made_key["action"], made_key["record"]) == (
        "POST /orgs/{org_id}/keys",
        key.json()["prefix"],
    )
    assert client.get(f"/orgs/{ORG}/audit-log", headers=office).status_code == 403


def test_prune_is_for_admins_and_a_bundle_of_another_organization_is_not_found(
    setup, session: Session
) -> None:
    client, _ = setup
    integration = auth(keys.create_key(session, org_id=ORG, role=Role.integration)[1])
    session.commit()
    own = small_bundle(ORG)
    assert client.post("/bundles", json=own, headers=integration).status_code == 200
    pruned = client.post("/bundles", json=own, params={"prune": "true"}, headers=integration)
    assert pruned.status_code == 403
    foreign = client.post("/bundles", json=small_bundle("someone-else"), headers=integration)
    assert foreign.status_code == 404
    assert foreign.json()["error"]["details"][0]["path"] == "$.organization.id"


def test_an_integration_neither_renames_the_organization_nor_deletes_by_upload(
    setup, session: Session
) -> None:
    """Renaming and deleting are the admin's: a bundle or a CSV is no way around that."""
    client, made = setup
    integration = auth(keys.create_key(session, org_id=ORG, role=Role.integration)[1])
    session.commit()
    name = client.get(f"/orgs/{ORG}", headers=integration).json()["name"]
    renamed = small_bundle(ORG)
    renamed["organization"]["name"] = "Renamed by a tool"
    refused = client.post("/bundles", json=renamed, headers=integration)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"][0]["path"] == "$.organization.name"
    assert client.get(f"/orgs/{ORG}", headers=integration).json()["name"] == name
    assert client.post("/bundles", json=small_bundle(ORG), headers=integration).status_code == 200
    admin = auth(made["admin"])
    assert client.post("/bundles", json=renamed, headers=admin).status_code == 200

    rows = client.get(f"/orgs/{ORG}/okrs.csv", headers=integration).text.splitlines()
    header, body = rows[0], rows[1:]
    dropped = [r for r in body if ",O-1-KR2," not in r]
    assert len(dropped) == len(body) - 1
    upload = "\n".join([header, *dropped]) + "\n"
    csv_headers = {**integration, "content-type": "text/csv"}
    refused = client.post(f"/orgs/{ORG}/okrs.csv", content=upload, headers=csv_headers)
    assert refused.status_code == 403, refused.text
    details = refused.json()["error"]["details"]
    assert details == [
        {
            "path": details[0]["path"],
            "message": "OKR 'O-1' leaves out its key result 'O-1-KR2'",
        }
    ]
    assert details[0]["path"].endswith(", column okr_id")
    assert client.get(f"/orgs/{ORG}/key-results/O-1-KR2", headers=integration).status_code == 200
    full = "\n".join(rows) + "\n"
    assert (
        client.post(f"/orgs/{ORG}/okrs.csv", content=full, headers=csv_headers).status_code == 200
    )
    admin_csv = {**admin, "content-type": "text/csv"}
    done = client.post(f"/orgs/{ORG}/okrs.csv", content=upload, headers=admin_csv)
    assert done.status_code == 200 and done.json()["deleted"]["key_results"] == 1


def test_keys_are_shown_once_listed_by_prefix_and_revocable(setup) -> None:
    client, made = setup
    admin = auth(made["admin"])
    created = client.post(
        f"/orgs/{ORG}/keys", json={"role": "team_lead", "teams": ["T-2"]}, headers=admin
    )
    assert created.status_code == 201
    raw = created.json()["key"]
    prefix = created.json()["prefix"]
    assert raw.startswith(f"gt_{prefix}_")
    listed = client.get(f"/orgs/{ORG}/keys", headers=admin).json()["items"]
    assert prefix in [k["prefix"] for k in listed]
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    assert client.get(f"/orgs/{ORG}", headers=auth(raw)).status_code == 200
    assert client.delete(f"/orgs/{ORG}/keys/{prefix}", headers=admin).status_code == 200
    assert client.get(f"/orgs/{ORG}", headers=auth(raw)).status_code == 401
    bad_team = client.post(
        f"/orgs/{ORG}/keys", json={"role": "team_lead", "teams": ["T-2", "T-404"]}, headers=admin
    )
    assert bad_team.status_code == 422  # the organization exists; a field of the body is wrong
    assert bad_team.json()["error"]["details"] == [
        {"path": "$.teams[1]", "message": "no team 'T-404' here"}
    ]
    no_team = client.post(f"/orgs/{ORG}/keys", json={"role": "team_lead"}, headers=admin)
    assert no_team.json()["error"]["details"][0]["path"] == "$.teams"
    teams_for_admin = client.post(
        f"/orgs/{ORG}/keys", json={"role": "admin", "teams": ["T-2"]}, headers=admin
    )
    assert teams_for_admin.json()["error"]["details"][0] == {
        "path": "$.teams",
        "message": "admin keys have no teams; leave it out",
    }
    gone = client.delete(f"/orgs/{ORG}/keys/nokey000", headers=admin).json()["error"]
    assert gone["details"][0]["message"] == "no such key in this organization"


def test_a_team_lead_reads_the_scoring_job_its_write_joined(setup) -> None:
    client, made = setup
    lead, admin = auth(made["lead"]), auth(made["admin"])
    first = client.patch(
        f"/orgs/{ORG}/okrs/O-2", json={"title": "Ward rounds daily"}, headers=admin
    )
    joined = client.patch(f"/orgs/{ORG}/okrs/O-1", json={"title": "Call on day one"}, headers=lead)
    assert joined.headers["Scoring-Job"] == first.headers["Scoring-Job"]
    job = client.get(joined.headers["Scoring-Job"], headers=lead)
    assert job.status_code == 200, job.text  # queued by the admin, named to the lead
    assert job.json()["kind"] == "score" and job.json()["requests"] == 2
    # A write that changes nothing gives scoring nothing to do: no job, no header.
    again = client.patch(f"/orgs/{ORG}/okrs/O-1", json={"title": "Call on day one"}, headers=lead)
    assert again.status_code == 200 and "Scoring-Job" not in again.headers
    assert client.get(joined.headers["Scoring-Job"], headers=lead).json()["requests"] == 2
