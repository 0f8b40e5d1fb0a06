"""Request logs as JSON lines with request ids, and Prometheus metrics for the platform admin."""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from service.observability import JsonFormatter
from tests.conftest import auth, make_client


def test_each_request_is_one_json_log_line_with_its_request_id(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="goldenthread.access"):
        client.get("/orgs/none-such/teams", headers={"X-Request-ID": "trace-7"})
    record = next(r for r in caplog.records if r.name == "goldenthread.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-7"
    assert line["route"] == "/orgs/{org_id}/teams"  # the template, never the raw path
    assert line["status"] == 404 and line["ms"] >= 0 and line["level"] == "info"


def test_metrics_count_requests_by_route_for_the_platform_admin_only(
    session: Session, embedder
) -> None:
    platform = keys.create_key(session, org_id=None, role=Role.platform_admin)[1]
    session.commit()
    client = make_client(session, embedder, real_auth=True)
    client.get("/healthz")
    metrics = client.get("/metrics", headers=auth(platform))
    assert metrics.status_code == 200
    assert 'goldenthread_http_requests_total{method="GET",route="/healthz",status="200"}' in (
        metrics.text
    )
    assert "goldenthread_http_request_seconds_bucket" in metrics.text
    assert client.get("/metrics").status_code == 401


def test_metrics_show_queue_depth_and_age_and_the_work_done(session: Session, embedder) -> None:
    from alignment.imports import import_document
    from alignment.jobs import SCORE_PARAMS, enqueue
    from tests.factories import small_bundle
    from tests.jobs_support import Jobs

    import_document(session, small_bundle("metrics-co"))
    enqueue(session, "metrics-co", "score", SCORE_PARAMS, requested_by="t")
    platform = keys.create_key(session, org_id=None, role=Role.platform_admin)[1]
    session.commit()
    client = make_client(session, embedder, real_auth=True)
    waiting = client.get("/metrics", headers=auth(platform)).text
    line = next(x for x in waiting.splitlines() if x.startswith("goldenthread_queue_jobs{"))
    assert 'queue="work",state="todo"' in line and float(line.split()[-1]) >= 1
    assert "goldenthread_queue_oldest_seconds{" in waiting
    Jobs(session, embedder).drain()
    done = client.get("/metrics", headers=auth(platform)).text
    assert 'goldenthread_jobs_total{kind="score",outcome="succeeded"}' in done
    assert "goldenthread_embedded_texts_total" in done
