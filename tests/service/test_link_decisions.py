"""`GET /orgs/{org}/okrs/{okr}/links` says beside each link whether a person decided it: the
label "aligned" a confirmation sets is no sign by itself that a person, not the engine, did."""

from __future__ import annotations

from datetime import datetime


def test_each_link_names_the_person_who_decided_it(client, scored_sample) -> None:
    base = f"/orgs/{scored_sample}/okrs/O-11/links"
    before = client.get(base).json()["links"]
    assert before and all(lk["decision"] is None for lk in before)
    answer = client.post(f"{base}/SO-4/feedback", json={"verdict": "confirmed", "note": "ours"})
    assert answer.status_code == 200, answer.text
    links = client.get(base).json()["links"]
    link = next(lk for lk in links if lk["objective_id"] == "SO-4")
    assert link["label"] == "aligned"
    decision = link["decision"]
    assert (decision["verdict"], decision["decided_by"], decision["note"]) == (
        "confirmed",
        "test-admin",
        "ours",
    )
    decided_at = datetime.fromisoformat(decision["decided_at"])
    assert decided_at == datetime.fromisoformat(answer.json()["decided_at"].replace("Z", "+00:00"))
    # Every existing key is still there.
    keys = {"objective_id", "objective_title", "rank", "score", "label", "evidence"}
    assert keys | {"adjudication", "team_confirmed", "team_rejected"} <= set(link)
    assert all(lk["decision"] is None for lk in links if lk["objective_id"] != "SO-4")
