"""Webhook payloads carry absolute links: `url` starts with GOLDENTHREAD_PUBLIC_URL, else the
address the subscriber reached the service at when subscribing; `path` keeps the relative one
(what `url` was before). Events are built in jobs, with no request to take a host from."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.imports import import_document
from alignment.jobs.execute import Services
from alignment.jobs.handlers import _drafted
from alignment.jobs.handlers import report as report_job
from alignment.models import Job, WebhookDelivery, WebhookSubscription
from alignment.scoring.stage import _announce_new_orphans
from alignment.settings import get_settings
from alignment.webhooks import emit
from tests.factories import small_bundle

EVENTS = ["report.completed", "draft.created", "okr.misaligned", "draft.decided"]
PUBLIC_URL = "https://gt.example.org/golden/"


@pytest.fixture
def org(session: Session) -> str:
    org_id = f"hookurl-{uuid.uuid4().hex[:8]}"
    import_document(session, small_bundle(org_id))
    return org_id


@pytest.fixture
def public_url(monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("GOLDENTHREAD_PUBLIC_URL", PUBLIC_URL)
    get_settings.cache_clear()
    yield PUBLIC_URL
    get_settings.cache_clear()


def _subscribe(client: TestClient, org: str, base_url: str = "http://testserver") -> int:
    """Through the API, reached at `base_url` (8.8.8.8: public, and no name to resolve)."""
    answer = client.post(
        f"{base_url}/orgs/{org}/webhooks", json={"url": "https://8.8.8.8/h", "events": EVENTS}
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _sent(session: Session, org: str, event: str) -> list[dict[str, Any]]:
    query = select(WebhookDelivery.payload).where(
        WebhookDelivery.org_id == org, WebhookDelivery.event == event
    )
    return [p["data"] for p in session.scalars(query.order_by(WebhookDelivery.id))]


def _job(session: Session, org: str, kind: str) -> Job:
    job = Job(org_id=org, kind=kind, params={}, requested_by="test")
    session.add(job)
    session.flush()
    return job


def test_okr_misaligned_links_to_the_address_subscribed_through(
    client: TestClient, session: Session, org: str
) -> None:
    _subscribe(client, org, "https://gt.internal:8443")
    _announce_new_orphans(session, org, {}, {"O-1": "orphan"})
    [data] = _sent(session, org, "okr.misaligned")
    path = f"/orgs/{org}/okrs/O-1/links"
    assert data == {"okr_id": "O-1", "path": path, "url": f"https://gt.internal:8443{path}"}


def test_report_completed_and_draft_created_send_absolute_urls(
    client: TestClient, session: Session, org: str, embedder
) -> None:
    _subscribe(client, org)
    result = report_job(
        session, _job(session, org, "report"), Services(embedder, None), lambda *a: None
    )
    [data] = _sent(session, org, "report.completed")
    assert data["path"] == result["url"] == f"/orgs/{org}/reports/{result['report_id']}"
    assert data["url"] == f"http://testserver{data['path']}"
    assert client.get(data["url"]).status_code == 200  # the absolute one leads there too
    assert {k: data[k] for k in ("report_id", "findings", "reused")} == {
        k: result[k] for k in ("report_id", "findings", "reused")
    }

    draft = SimpleNamespace(id="D 1/x", status="pending", team_id="T-1", repeated=False)
    made = _drafted(session, _job(session, org, "draft_suggestions"), draft)
    [data] = _sent(session, org, "draft.created")
    assert made["url"] == data["path"] == f"/orgs/{org}/drafts/D%201%2Fx"  # the job's own stays
    assert data["url"] == f"http://testserver/orgs/{org}/drafts/D%201%2Fx"


def test_the_public_url_setting_comes_first(
    client: TestClient, session: Session, org: str, public_url: str
) -> None:
    sub_id = _subscribe(client, org, "http://10.0.0.5:8000")
    assert client.get(f"/orgs/{org}/webhooks").json()["items"][0]["links_base"] == public_url
    _announce_new_orphans(session, org, {}, {"O-2": "orphan"})
    [data] = _sent(session, org, "okr.misaligned")
    assert data["url"] == f"https://gt.example.org/golden/orgs/{org}/okrs/O-2/links"
    stored = session.get(WebhookSubscription, sub_id)
    assert stored is not None and stored.links_base == "http://10.0.0.5:8000/"  # still kept


def test_without_a_base_the_url_stays_the_path_and_payloads_without_links_are_unchanged(
    session: Session, org: str
) -> None:
    """A subscription made before links were recorded (no `links_base`), no setting: nothing
    to start a link with, so `url` is the path, as before; `path` is there either way."""
    session.add(
        WebhookSubscription(
            org_id=org, url="https://8.8.8.8/h", events=EVENTS, secret="whsec_t", created_by="t"
        )
    )
    session.flush()
    _announce_new_orphans(session, org, {}, {"O-3": "orphan"})
    [data] = _sent(session, org, "okr.misaligned")
    assert data["url"] == data["path"] == f"/orgs/{org}/okrs/O-3/links"
    decided = {"draft_id": "D-1", "decision": "rejected", "decided_by": "t", "created_records": []}
    emit(session, org, "draft.decided", decided)
    assert _sent(session, org, "draft.decided") == [decided]


def test_a_decided_draft_links_to_the_draft(client, session: Session, org: str) -> None:
    """draft.decided carries the draft's link like every other event's (it had none)."""
    from alignment.drafting.approve import _announce

    _subscribe(client, org)
    draft = SimpleNamespace(org_id=org, id="D-7 x")
    _announce(session, draft, "rejected", "Ada (key adaadaad)", [])  # type: ignore[arg-type]
    [data] = _sent(session, org, "draft.decided")
    assert data["path"] == f"/orgs/{org}/drafts/D-7%20x"
    assert data["url"] == f"http://testserver/orgs/{org}/drafts/D-7%20x"
    assert data["decision"] == "rejected"
