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
