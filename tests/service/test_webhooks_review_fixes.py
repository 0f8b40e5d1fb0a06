"""Webhooks, after an API review: a delivery whose subscription was deleted ends `dropped`, not
`delivered`; a receiver answering 500 gets GOLDENTHREAD_JOBS_MAX_ATTEMPTS deliveries, not one
more; unknown and repeated events are refused at their item; with private addresses allowed a
name that does not resolve is still refused when subscribing; the delivery log pages with its
true total; `report.completed` is sent for a reused run too, saying so."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alignment.imports import import_document
from alignment.models import Job, WebhookDelivery, WebhookSubscription
from alignment.settings import get_settings
from alignment.webhooks import emit
from alignment.webhooks.events import EVENTS
from alignment.webhooks.subscriptions import create as subscribe
from tests import jobs_support
from tests.factories import small_bundle
from tests.service.test_jobs_worker import (
    PUBLIC,
    Dns,
    Receiver,
    job_row,
    start_worker,
    stop,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def org(session: Session) -> str:
    org_id = f"hookfix-{uuid.uuid4().hex[:8]}"
    import_document(session, small_bundle(org_id))
    session.commit()  # releases the test's savepoint: a refused request rolls back only itself
    return org_id


@pytest.fixture
def allow_private(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def receiver(allow_private) -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.httpd.shutdown()


def _subscription(session: Session, org_id: str, url: str = "https://hooks.example/h") -> int:
    """Stored as it is (no URL check): these tests never reach the network through it."""
    sub = WebhookSubscription(
        org_id=org_id, url=url, events=["report.completed"], secret="whsec_t", created_by="t"
    )
    session.add(sub)
    session.flush()
    return sub.id


def _webhook_jobs(session: Session, org_id: str) -> list[Job]:
    query = select(Job).where(Job.org_id == org_id, Job.kind == "webhook").order_by(Job.id)
    return list(session.scalars(query.execution_options(populate_existing=True)))


# 1. A deleted subscription's delivery ------------------------------------------------------


def test_a_delivery_whose_subscription_was_deleted_is_dropped_not_delivered(
    client, session, org, jobs
) -> None:
    sub_id = _subscription(session, org)
    emit(session, org, "report.completed", {"report_id": 1})
    session.commit()
    assert client.delete(f"/orgs/{org}/webhooks/{sub_id}").status_code == 204
    jobs.drain()
    [job] = _webhook_jobs(session, org)
    answer = client.get(f"/jobs/{job.id}").json()
    assert answer["status"] == "succeeded"
    assert answer["result"] == {
        "delivery_id": job.params["delivery_id"],
        "status": "dropped",
        "reason": "the subscription was deleted",
    }


# 2. Attempts ----------------------------------------------------------------------------------


@pytest.fixture
def committed_org(engine: Engine) -> Iterator[str]:
    with jobs_support.committed_org(engine, "hookfix") as org_id:
        yield org_id


def test_a_receiver_answering_500_gets_max_attempts_deliveries_in_all(
    engine, committed_org, receiver
) -> None:
    receiver.script = [500] * 10
    with Session(engine, expire_on_commit=False) as s, s.begin():
        sub, _ = subscribe(
            s, committed_org, url=receiver.url, events=["draft.decided"], created_by="t"
        )
        emit(s, committed_org, "draft.decided", {"draft_id": "D-1"})
        [job] = _webhook_jobs(s, committed_org)
    worker = start_worker(GOLDENTHREAD_JOBS_MAX_ATTEMPTS="3")
    try:
        wait_for(lambda: job_row(engine, job.id).status == "failed", 120, "the last attempt")
        wait_for(lambda: len(receiver.got) >= 3, 10, "the receiver to log its requests")
    finally:
        log = stop(worker)
    failed = job_row(engine, job.id)
    assert (failed.attempts, len(receiver.got)) == (3, 3), log[-2000:]
    assert failed.error == "webhook_delivery_failed: the subscriber answered 500"
    with Session(engine) as s:
        delivery = s.scalars(
            select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
        ).one()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "failed",
            3,
            500,
        )


# 4. Subscription input -------------------------------------------------------------------------

KNOWN = ", ".join(EVENTS)


def _subscribe(client, org: str, url: str, events: list[str]):
    return client.post(f"/orgs/{org}/webhooks", json={"url": url, "events": events})


def test_an_unknown_event_is_named_at_its_item(client, org) -> None:
    answer = _subscribe(client, org, "https://8.8.8.8/h", ["nope", "draft.created"])
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["details"] == [
        {"path": "$.events[0]", "message": f"unknown event 'nope'; known: {KNOWN}"}
    ]
    assert error["message"] == f"$.events[0]: unknown event 'nope'; known: {KNOWN}"


def test_a_repeated_event_is_refused_as_a_repeat(client, org) -> None:
    answer = _subscribe(client, org, "https://8.8.8.8/h", ["draft.created"] * 5)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["details"] == [
        {"path": f"$.events[{i}]", "message": "'draft.created' is listed already at $.events[0]"}
        for i in range(1, 5)
    ]
    assert error["message"] == (
        "$.events[1]: 'draft.created' is listed already at $.events[0] (and 3 more problems)"
    )


def test_unknown_and_repeated_events_are_each_named(client, org) -> None:
    events = ["okr.misaligned", "x" * 300, "okr.misaligned"]
    details = _subscribe(client, org, "https://8.8.8.8/h", events).json()["error"]["details"]
    assert [d["path"] for d in details] == ["$.events[1]", "$.events[2]"]
    assert details[0]["message"] == f"unknown event {'x' * 100!r}; known: {KNOWN}"


def test_every_event_once_is_accepted(client, org) -> None:
    answer = _subscribe(client, org, "https://8.8.8.8/h", list(reversed(EVENTS)))
    assert answer.status_code == 201, answer.text
    assert answer.json()["events"] == sorted(EVENTS)


def test_with_private_addresses_allowed_a_name_that_does_not_resolve_is_refused(
    monkeypatch, client, org, allow_private
) -> None:
    Dns(monkeypatch, {"nonexistent.invalid": [None], "hooks.internal": ["10.1.2.3"]})
    answer = _subscribe(client, org, "http://nonexistent.invalid:8080/", ["draft.created"])
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["message"] == "the webhook URL is refused: its host does not resolve"
    assert error["details"] == [
        {"path": "$.url", "message": "'nonexistent.invalid' has no address to deliver to"}
    ]
    # A private address is what the setting allows.
    private = _subscribe(client, org, "http://hooks.internal:8080/", ["draft.created"])
    assert private.status_code == 201, private.text


def test_a_public_address_stays_required_without_the_setting(monkeypatch, client, org) -> None:
    monkeypatch.delenv("GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    get_settings.cache_clear()
    try:
        Dns(monkeypatch, {"nonexistent.invalid": [None], "hooks.example": [PUBLIC]})
        refused = _subscribe(client, org, "http://nonexistent.invalid:8080/", ["draft.created"])
        assert refused.status_code == 422
        # Without the setting the answer does not tell a missing name from an internal one.
        assert "does not resolve, or resolves to a private" in refused.json()["error"]["message"]
        accepted = _subscribe(client, org, "http://hooks.example/", ["draft.created"])
        assert accepted.status_code == 201, accepted.text
    finally:
        get_settings.cache_clear()


# 5. The delivery log pages ------------------------------------------------------------------


def _deliveries(session: Session, org_id: str, sub_id: int, count: int) -> list[int]:
    rows = [
        WebhookDelivery(
            org_id=org_id, subscription_id=sub_id, event="report.completed", payload={"n": n}
        )
        for n in range(count)
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def test_the_delivery_log_pages_with_its_true_total(client, session, org) -> None:
    sub_id = _subscription(session, org)
    ids = _deliveries(session, org, sub_id, 60)
    other = _subscription(session, org)
    _deliveries(session, org, other, 3)  # another subscription's log counts for it only
    session.commit()
    newest_first = sorted(ids, reverse=True)
    url = f"/orgs/{org}/webhooks/{sub_id}/deliveries"

    first = client.get(url).json()
    assert (first["total"], first["limit"], first["offset"]) == (60, 50, 0)
    assert [d["id"] for d in first["items"]] == newest_first[:50]

    last = client.get(url, params={"limit": 20, "offset": 50}).json()
    assert (last["total"], last["limit"], last["offset"]) == (60, 20, 50)
    assert [d["id"] for d in last["items"]] == newest_first[50:]

    too_many = client.get(url, params={"limit": get_settings().service.page_limit_max + 1})
    assert too_many.status_code == 422
    assert [d["path"] for d in too_many.json()["error"]["details"]] == ["query.limit"]


# 6. report.completed for a reused run -----------------------------------------------------------


def test_report_completed_is_sent_for_a_reused_run_saying_so(
    client, session, org, jobs, receiver
) -> None:
    subscribe(session, org, url=receiver.url, events=["report.completed"], created_by="t")
    session.commit()
    first = jobs.result(client, client.post(f"/orgs/{org}/reports"))
    again = jobs.result(client, client.post(f"/orgs/{org}/reports"))
    assert (first["reused"], again["reused"]) == (False, True)
    assert again["report_id"] == first["report_id"]
    sent = [json.loads(body)["data"] for _, body in receiver.got]
    # The job's result, with `path` (no base known here: `url` stays it; test_webhook_urls.py).
    assert sent == [{**first, "path": first["url"]}, {**again, "path": again["url"]}]
    assert [j.status for j in _webhook_jobs(session, org)] == ["succeeded", "succeeded"]


def test_the_docs_say_report_completed_carries_reused() -> None:
    docs = (REPO / "docs" / "jobs.md").read_text()
    [row] = [line for line in docs.splitlines() if line.startswith("| `report.completed` |")]
    assert "`reused: true`" in row and row.rstrip(" |").endswith("`reused`")
