"""QA's reproduction through the API: dropping a declared link ("Drop it", a `rejected`
verdict on that link) leaves the OKR with the engine (in the review queue when it was unsure),
names nobody as deciding it is an orphan, and takes the link out of the next report."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

CLEARBROOK = Path(__file__).parents[2] / "evals/datasets/dev/clearbrook-water.bundle.json"


def test_dropping_a_declared_link_through_the_api(client, jobs) -> None:
    document = json.loads(CLEARBROOK.read_text())
    org = f"clearbrook-{uuid.uuid4().hex[:8]}"
    document["organization"]["id"] = org
    assert client.post("/bundles", json=document).status_code == 200
    jobs.result(client, client.post(f"/orgs/{org}/score"))
    queue = {i["okr_id"]: i for i in client.get(f"/orgs/{org}/review-queue").json()["items"]}
    assert [d["objective_id"] for d in queue["O-8"]["declared"]] == ["SO-7"]

    def audited() -> set[tuple[str, str]]:
        rows = client.get(f"/orgs/{org}/alignment/audit").json()["items"]
        return {
            (r["okr_id"], r["objective_id"])
            for r in rows
            if r["kind"] == "unsupported_declared_link"
        }

    assert ("O-8", "SO-7") in audited()
    dropped = client.post(f"/orgs/{org}/okrs/O-8/links/SO-7/feedback", json={"verdict": "rejected"})
    assert dropped.status_code == 200
    jobs.drain()  # the teammates' rescoring the decision queued
    jobs.result(client, client.post(f"/orgs/{org}/score"))

    links = client.get(f"/orgs/{org}/okrs/O-8/links").json()
    assert links["verdict"] == "needs_review"
    queue = {i["okr_id"] for i in client.get(f"/orgs/{org}/review-queue").json()["items"]}
    assert "O-8" in queue
    assert client.get(f"/orgs/{org}/alignment/feedback-labels").json()["links"] == {}
    assert ("O-8", "SO-7") not in audited()  # GET /alignment/audit answers as the report does

    jobs.result(client, client.post(f"/orgs/{org}/reports", json={}))
    findings = client.get(f"/orgs/{org}/reports/latest", params={"per_page": 500}).json()
    keys = {f["key"] for f in findings["findings"]}
    assert "orphan_okr:O-8" not in keys and "needs_review:O-8" in keys
    assert "unsupported_declared_link:O-8|SO-7" not in keys
    assert not any("decided so" in f["reason"] for f in findings["findings"])
