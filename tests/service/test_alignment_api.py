"""Alignment over HTTP on the real database: score, links, orphans, audit, coverage, drift."""

from __future__ import annotations

from sqlalchemy import func, select, update

from alignment.bundle.schema import BUNDLE_FORMAT
from alignment.imports import import_document
from alignment.models import OkrVerdict, ScoredLink, TextEmbedding
from tests.factories import small_bundle


def test_score_endpoint_queues_a_job_that_reports_what_it_did(client, jobs) -> None:
    imported = client.post("/bundles", json=small_bundle("acme-score"))
    assert imported.status_code == 200
    queued_by_import = imported.json()["scoring_job"]
    # Its options are query parameters: a body would be ignored, and the default run made.
    sent = client.post("/orgs/acme-score/score", json={"adjudicate": True})
    assert sent.status_code == 422 and "?adjudicate=true" in sent.text
    # A bound on model calls without asking the model would read as one the run keeps to.
    bound = client.post("/orgs/acme-score/score", params={"adjudicate_max_calls": 5})
    assert bound.status_code == 422, bound.text
    assert bound.json()["error"]["details"][0]["path"] == "query.adjudicate_max_calls"
    first = client.post("/orgs/acme-score/score")
    assert first.status_code == 202, first.text
    # The import's scoring job was still waiting: this request joined it.
    assert first.headers["Location"] == queued_by_import
    assert first.json()["deduplicated"] is True and first.json()["requests"] == 2
    job = jobs.run(client, first)
    assert job["status"] == "succeeded" and job["attempts"] == 1
    body = job["result"]
    assert body["okrs"] == 2 and body["objectives"] == 2
    assert body["texts_embedded"] > 0
    assert body["model"] == "all-MiniLM-L6-v2"
    again = client.post("/orgs/acme-score/score")
    assert again.json()["deduplicated"] is False  # the first one has finished
    assert jobs.result(client, again)["texts_embedded"] == 0


def test_unknown_org_and_unscored_org_are_404(client) -> None:
    missing = client.post("/orgs/nobody/score")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    client.post("/bundles", json=small_bundle("acme-unscored"))
    unscored = client.get("/orgs/acme-unscored/alignment/orphans")
    assert unscored.status_code == 404
    assert "not been scored" in unscored.json()["error"]["message"]


def test_okr_links_rank_the_top_objectives(client, scored_sample) -> None:
    response = client.get(f"/orgs/{scored_sample}/okrs/O-1/links")
    assert response.status_code == 200
    body = response.json()
    assert body["okr_id"] == "O-1"
    n = len(body["links"])
    assert 10 <= n <= 12  # the top 10 of 12, plus any aligned, weak or declared beyond them
    assert [lk["rank"] for lk in body["links"]] == list(range(1, n + 1))
    assert body["links"][0]["evidence"][0]["objective_text"]
    assert client.get(f"/orgs/{scored_sample}/okrs/O-999/links").status_code == 404


def test_planted_orphans_are_listed(client, scored_sample) -> None:
    body = client.get(f"/orgs/{scored_sample}/alignment/orphans", params={"limit": 200}).json()
    found = {o["okr_id"] for o in body["items"]}
    planted = {"O-11", "O-38", "O-42", "O-44", "O-46"}
    assert len(planted & found) >= 4, found
    assert body["total"] == len(body["items"])
    # Each says what the report and the review queue say about it.
    verdict = {o["okr_id"]: o["verdict"] for o in body["items"]}
    assert set(verdict.values()) == {"orphan", "needs_review"}
    queue = client.get(f"/orgs/{scored_sample}/review-queue").json()["items"]
    assert {o for o, v in verdict.items() if v == "needs_review"} == {i["okr_id"] for i in queue}


def test_audit_flags_unsupported_declarations(client, scored_sample) -> None:
    body = client.get(
        f"/orgs/{scored_sample}/alignment/audit",
        params={"kind": "unsupported_declared_link", "limit": 500},
    ).json()
    pairs = {(f["okr_id"], f["objective_id"]) for f in body["items"]}
    assert {f["kind"] for f in body["items"]} == {"unsupported_declared_link"}
    assert len(pairs & {("O-11", "SO-4"), ("O-38", "SO-8"), ("O-46", "SO-6")}) >= 2, pairs
    assert (
        client.get(f"/orgs/{scored_sample}/alignment/audit", params={"kind": "bogus"}).status_code
        == 422
    )


def test_coverage_shows_the_uncovered_objective(client, scored_sample) -> None:
    rows = client.get(f"/orgs/{scored_sample}/alignment/coverage").json()
    assert len(rows) == 12
    by_id = {r["objective_id"]: r for r in rows}
    assert by_id["SO-11"]["aligned"] == 0
    assert max(r["aligned"] for r in rows) >= 3


def test_coverage_lists_the_strongest_and_pages_through_the_rest(
    client, session, scored_sample
) -> None:
    """Counts and strength cover every serving OKR; the list is capped; the per-objective read
    pages through all of them in the same order. Checked against the stored links."""
    org = scored_sample
    stored = session.execute(
        select(ScoredLink.objective_id, ScoredLink.okr_id, ScoredLink.score, ScoredLink.label)
        .where(ScoredLink.org_id == org, ScoredLink.label.in_(("aligned", "weak")))
        .order_by(ScoredLink.objective_id, ScoredLink.score.desc(), ScoredLink.okr_id)
    ).all()
    serving: dict[str, list] = {}
    for objective_id, okr_id, score, label in stored:
        serving.setdefault(objective_id, []).append((okr_id, score, label))
    busiest = max(serving, key=lambda o: len(serving[o]))
    assert len(serving[busiest]) >= 3

    rows = client.get(f"/orgs/{org}/alignment/coverage", params={"listed": 2}).json()
    for row in rows:
        mine = serving.get(row["objective_id"], [])
        assert row["aligned"] == sum(label == "aligned" for _, _, label in mine)
        assert row["weak"] == sum(label == "weak" for _, _, label in mine)
        assert row["strength"] == round(sum(s for _, s, lb in mine if lb == "aligned"), 4)
        assert [o["okr_id"] for o in row["okrs"]] == [k for k, _, _ in mine[:2]]
        assert row["unlisted"] == max(0, len(mine) - 2)

    pages, offset = [], 0
    while True:
        page = client.get(
            f"/orgs/{org}/alignment/coverage/{busiest}", params={"limit": 2, "offset": offset}
        ).json()
        assert page["total"] == len(serving[busiest])
        pages += [(o["okr_id"], o["label"]) for o in page["items"]]
        offset += 2
        if offset >= page["total"]:
            break
    assert pages == [(k, label) for k, _, label in serving[busiest]]
    missing = client.get(f"/orgs/{org}/alignment/coverage/SO-404")
    assert missing.status_code == 404 and "SO-404" in missing.json()["error"]["message"]
    assert client.get(f"/orgs/{org}/alignment/coverage", params={"listed": 501}).status_code == 422


def test_drift_lists_flagged_check_ins_first(client, scored_sample) -> None:
    body = client.get(
        f"/orgs/{scored_sample}/alignment/drift", params={"only_drifting": True, "limit": 500}
    ).json()
    assert body["items"], "the sample organization has planted drifting check-ins"
    assert all(item["drifting"] for item in body["items"])
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    planted = {"C-21", "C-86", "C-89", "C-90", "C-92", "C-104", "C-107", "C-118", "C-120", "C-131"}
    assert len(planted & {i["check_in_id"] for i in body["items"]}) >= 7


def test_suggest_parent_ranks_without_storing(client, session, scored_sample) -> None:
    def counts() -> tuple[int, int]:
        return (
            session.scalar(select(func.count()).where(TextEmbedding.org_id == scored_sample)),
            session.scalar(select(func.count()).where(ScoredLink.org_id == scored_sample)),
        )

    before = counts()
    response = client.post(
        f"/orgs/{scored_sample}/suggest-parent",
        json={
            "title": "Every hotel gets its linen back on the promised morning",
            "key_results": ["On-time delivery to hotels from 91% to 98%"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["links"]) == 12
    assert body["links"][0]["score"] >= body["links"][-1]["score"]
    assert counts() == before
    bad = client.post(f"/orgs/{scored_sample}/suggest-parent", json={"title": ""})
    assert bad.status_code == 422
    assert client.post("/orgs/nobody/suggest-parent", json={"title": "x"}).status_code == 404


def test_suggest_parent_without_objectives_is_refused_as_the_cli_refuses_it(
    client, session
) -> None:
    """Nothing to rank against: 422 saying so, the words the CLI prints, not an empty ranking
    that reads as "this draft serves nothing"."""
    import_document(session, {"format": BUNDLE_FORMAT, "organization": {"id": "bare", "name": "B"}})
    answer = client.post("/orgs/bare/suggest-parent", json={"title": "Cut rewash"})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["message"].startswith("organization 'bare' has no strategic objectives")
    assert error["details"] == [{"path": "path.org_id", "message": "no strategic objectives"}]


def test_feedback_round_trip(client, scored_sample) -> None:
    url = f"/orgs/{scored_sample}/okrs/O-11/links/SO-4/feedback"
    response = client.post(url, json={"verdict": "rejected", "note": "no"})
    assert response.status_code == 200, response.text
    assert response.json()["verdict"] == "rejected"
    again = client.post(url, json={"verdict": "confirmed"}).json()
    assert (again["verdict"], again["decided_by"]) == ("confirmed", "test-admin")  # latest wins
    labels = client.get(f"/orgs/{scored_sample}/alignment/feedback-labels").json()
    assert labels["links"] == {"O-11": ["SO-4"]}
    links = client.get(f"/orgs/{scored_sample}/okrs/O-11/links").json()["links"]
    assert next(lk for lk in links if lk["objective_id"] == "SO-4")["label"] == "aligned"


def test_feedback_errors(client, scored_sample) -> None:
    base = f"/orgs/{scored_sample}/okrs"
    bad = client.post(f"{base}/O-11/links/SO-4/feedback", json={"verdict": "maybe"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"]
    missing = client.post(f"{base}/O-11/links/SO-99/feedback", json={"verdict": "rejected"})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].startswith("no strategic objective 'SO-99'")
    nobody = client.post(f"{base}/NOPE/links/SO-4/feedback", json={"verdict": "rejected"})
    assert nobody.status_code == 404
    assert nobody.json()["error"]["details"] == [{"path": "path.okr_id", "message": "no such OKR"}]


def test_feedback_labels_do_not_turn_one_rejection_into_an_orphan(client, scored_sample) -> None:
    base = f"/orgs/{scored_sample}/okrs/O-1/links"
    ranked = [lk["objective_id"] for lk in client.get(f"{base}").json()["links"]]
    listed = client.get(f"/orgs/{scored_sample}/objectives", params={"limit": 100}).json()
    objectives = ranked + sorted({o["id"] for o in listed["items"]} - set(ranked))
    verdict = {"verdict": "rejected"}
    assert client.post(f"{base}/{objectives[0]}/feedback", json=verdict).status_code == 200
    labels = client.get(f"/orgs/{scored_sample}/alignment/feedback-labels").json()
    assert "O-1" not in labels["links"]  # still serves whatever nobody rejected
    for objective_id in objectives[1:]:
        client.post(f"{base}/{objective_id}/feedback", json=verdict)
    labels = client.get(f"/orgs/{scored_sample}/alignment/feedback-labels").json()
    assert labels["links"]["O-1"] == []  # every objective rejected: judged to serve none


def _verdicts_listed(client, org: str) -> dict[str, str]:
    body = client.get(f"/orgs/{org}/alignment/orphans", params={"limit": 200}).json()
    return {o["okr_id"]: o["verdict"] for o in body["items"]}


def _unaligned_okr(session, org: str) -> str:
    """An OKR of the sample with no aligned link."""
    aligned = select(ScoredLink.okr_id).where(
        ScoredLink.org_id == org, ScoredLink.label == "aligned"
    )
    return session.scalars(
        select(ScoredLink.okr_id)
        .where(ScoredLink.org_id == org, ScoredLink.okr_id.not_in(aligned))
        .order_by(ScoredLink.okr_id)
    ).first()


def _relabel(session, org: str, okr: str, labels: dict[int, str]) -> None:
    """Give `okr`'s links these labels by rank, as the stage could have stored them."""
    for rank, label in labels.items():
        session.execute(
            update(ScoredLink)
            .where(ScoredLink.org_id == org, ScoredLink.okr_id == okr, ScoredLink.rank == rank)
            .values(label=label)
        )
    session.flush()


def test_a_rejection_that_changes_no_label_still_reaches_the_cached_orphans(
    client, session, scored_sample
) -> None:
    """Rejecting candidates already labelled "none" changes no scored link; the verdict moves
    from needs_review to orphan all the same, and the cached read must say so."""
    okr = _unaligned_okr(session, scored_sample)
    _relabel(session, scored_sample, okr, {rank: "none" for rank in range(1, 20)})
    session.execute(
        update(OkrVerdict)
        .where(OkrVerdict.org_id == scored_sample, OkrVerdict.okr_id == okr)
        .values(far_below=False, reference=OkrVerdict.best_score)  # it is the median
    )
    session.flush()
    assert _verdicts_listed(client, scored_sample)[okr] == "needs_review"  # now cached
    rejected = client.post(f"/orgs/{scored_sample}/review-queue/okrs/{okr}/reject", json={})
    assert rejected.status_code == 200, rejected.text
    assert _verdicts_listed(client, scored_sample)[okr] == "orphan"


def test_a_weak_link_below_rank_one_keeps_the_okr_in_review_everywhere(
    client, session, scored_sample
) -> None:
    okr = _unaligned_okr(session, scored_sample)
    _relabel(session, scored_sample, okr, {1: "weak", 2: "weak"})
    session.execute(  # not far below the median: the engine is unsure, whatever the labels
        update(OkrVerdict)
        .where(OkrVerdict.org_id == scored_sample, OkrVerdict.okr_id == okr)
        .values(far_below=False, reference=OkrVerdict.best_score)
    )
    session.flush()
    first = session.scalar(
        select(ScoredLink.objective_id).where(
            ScoredLink.org_id == scored_sample, ScoredLink.okr_id == okr, ScoredLink.rank == 1
        )
    )
    feedback = client.post(
        f"/orgs/{scored_sample}/okrs/{okr}/links/{first}/feedback", json={"verdict": "rejected"}
    )
    assert feedback.status_code in (200, 201), feedback.text
    # Rank 1 is now "none", rank 2 still weak: unsure, in this list and in the queue.
    assert _verdicts_listed(client, scored_sample)[okr] == "needs_review"
    queue = client.get(f"/orgs/{scored_sample}/review-queue").json()["items"]
    assert okr in {i["okr_id"] for i in queue}


def test_a_weak_link_does_not_save_an_okr_far_below_the_median_anywhere(
    client, session, scored_sample
) -> None:
    """The orphan rule reads the stored comparison of the orphan score (alignment/verdicts.py):
    a weak link of the links' calibration leaves a far-below OKR an orphan, in the list, the
    OKR's own read and the queue alike."""
    okr = _unaligned_okr(session, scored_sample)
    _relabel(session, scored_sample, okr, {1: "weak", 2: "none"})
    session.execute(
        update(OkrVerdict)
        .where(OkrVerdict.org_id == scored_sample, OkrVerdict.okr_id == okr)
        .values(far_below=True, reference=OkrVerdict.best_score * 100)
    )
    session.flush()
    assert _verdicts_listed(client, scored_sample)[okr] == "orphan"
    assert client.get(f"/orgs/{scored_sample}/okrs/{okr}/links").json()["verdict"] == "orphan"
    queue = client.get(f"/orgs/{scored_sample}/review-queue").json()["items"]
    assert okr not in {i["okr_id"] for i in queue}


def test_an_okr_written_through_the_api_is_queued_for_scoring_not_called_an_orphan(
    client, jobs
) -> None:
    assert client.post("/bundles", json=small_bundle("acme-new")).status_code == 200
    jobs.drain()  # the import's scoring
    okr = {"id": "O-9", "team": "T-1", "cycle": "2026-Q3", "title": "Cut dispensing errors"}
    created = client.post("/orgs/acme-new/okrs", json=okr)
    assert created.status_code == 201, created.text
    # New work is dated as such (the report's staleness counts from it); imported OKRs are not.
    assert created.json()["added_at"] is not None
    assert client.get("/orgs/acme-new/okrs/O-1").json()["added_at"] is None
    queued = client.get(created.headers["Scoring-Job"]).json()
    assert queued["kind"] == "score" and queued["status"] == "queued"
    # Until that job runs the OKR has no scores: it is not scored, which is not an orphan.
    before = client.get("/orgs/acme-new/okrs/O-9/links").json()
    assert (before["verdict"], before["orphan"], before["links"]) == ("not_scored", False, [])
    # A second write joins the job that waits; a cycle (no text the engine reads) queues none.
    patched = client.patch("/orgs/acme-new/okrs/O-9", json={"title": "Halve dispensing errors"})
    assert patched.headers["Scoring-Job"] == created.headers["Scoring-Job"]
    cycle = {"id": "2027-Q1", "start": "2027-01-01", "end": "2027-03-31"}
    assert "Scoring-Job" not in client.post("/orgs/acme-new/cycles", json=cycle).headers
    jobs.drain()
    after = client.get("/orgs/acme-new/okrs/O-9/links").json()
    assert after["verdict"] in ("aligned", "needs_review", "orphan") and after["links"]
    assert after["orphan"] == (after["verdict"] != "aligned")


def test_one_okrs_verdict_is_the_one_every_other_reader_shows(client, session, scored_sample):
    from alignment.scoring.reads import stored_verdicts

    everyone = stored_verdicts(session, scored_sample)
    assert {"aligned", "needs_review", "orphan"} <= set(everyone.values())
    for okr_id, verdict in everyone.items():
        body = client.get(f"/orgs/{scored_sample}/okrs/{okr_id}/links").json()
        assert body["verdict"] == verdict, okr_id
        # `orphan` keeps its meaning: no aligned objective (needs_review included).
        assert body["orphan"] == (verdict != "aligned"), okr_id
