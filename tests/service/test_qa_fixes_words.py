"""Error messages that say what they are about: an organization-wide draft refused to a team
lead, an unknown team in a draft request, and the OKRs that keep a team or cycle in use."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alignment.access import keys
from alignment.access.principal import Role
from alignment.drafting.offline import OfflineDrafter
from alignment.models import Okr
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG
from tests.conftest import auth, make_client
from tests.jobs_support import Jobs

drafting_connection, dsession = support.drafting_connection, support.dsession
api = support.api
BASE = f"/orgs/{ORG}/drafts"


def test_a_team_lead_is_told_an_objective_summary_is_organization_wide(
    api, dsession, embedder
) -> None:
    jobs = Jobs(dsession, embedder, OfflineDrafter())
    summary = jobs.draft(api, api.post(f"{BASE}/summaries", json={"objective": "SO-9"}))
    assert summary["team"] is None
    lead = auth(keys.create_key(dsession, org_id=ORG, role=Role.team_lead, team_ids=["T-9"])[1])
    dsession.commit()
    with make_client(dsession, embedder, real_auth=True) as client:
        refused = client.post(
            f"{BASE}/{summary['id']}/reject", json={"reason": "not ours"}, headers=lead
        )
        assert refused.status_code == 403
        message = refused.json()["error"]["message"]
        assert "None" not in message
        assert "a team lead cannot decide organization-wide drafts" in message
        assert summary["id"] in message and "(T-9)" in message
        read = client.get(f"{BASE}/{summary['id']}", headers=lead)
        assert read.status_code == 403
        assert "cannot read organization-wide drafts" in read.json()["error"]["message"]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("suggestions", {"team": "T-99", "objectives": ["SO-5"]}),
        ("summaries", {"team": "T-99"}),
    ],
)
def test_an_unknown_team_in_a_draft_request_is_refused_at_its_place(api, kind, body) -> None:
    refused = api.post(f"{BASE}/{kind}", json=body)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert "team 'T-99' does not exist" in error["message"]
    assert error["details"] == [{"path": "$.team", "message": "unknown 'T-99'"}]


def test_an_unknown_organization_is_still_not_found(api) -> None:
    missing = api.post(
        "/orgs/no-such-org/drafts/suggestions", json={"team": "T-99", "objectives": ["SO-5"]}
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(("path", "column"), [("teams", Okr.team_id), ("cycles", Okr.cycle_id)])
def test_deleting_a_team_or_cycle_in_use_names_the_okrs(api, dsession, path, column) -> None:
    used, count = dsession.execute(
        select(column, func.count())
        .where(Okr.org_id == ORG)
        .group_by(column)
        .order_by(func.count().desc())
    ).first()
    okrs = dsession.scalars(
        select(Okr.id)
        .where(Okr.org_id == ORG, column == used)
        .order_by(func.length(Okr.id), Okr.id)
    ).all()
    refused = api.delete(f"/orgs/{ORG}/{path}/{used}")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert f"is still used by {count} OKR" in error["message"]
    shown = okrs[:20]
    assert ", ".join(repr(o) for o in shown) in error["message"]
    if count > 20:
        assert f"and {count - 20} more" in error["message"]
    assert [d["message"] for d in error["details"]] == [f"used by OKR {o!r}" for o in shown]
    assert api.get(f"/orgs/{ORG}/{path}/{used}").status_code == 200
