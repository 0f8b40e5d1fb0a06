"""The review queue on the sample organization: unsure OKRs wait for a person, who decides."""

from __future__ import annotations

from alignment.report import build_report
from tests.conftest import auth, make_client

REJECT = "/orgs/{org_id}/review-queue/okrs/{okr_id}/reject"


def _decided_an_hour_earlier(session, where) -> None:
    """Move the decisions matching `where` an hour back: one test transaction has one now(),
    so a decision made again would otherwise carry the same time as the first."""
    from datetime import timedelta

    from sqlalchemy import update

    from alignment.models import LinkFeedback

    session.execute(
        update(LinkFeedback)
        .where(*where)
        .values(decided_at=LinkFeedback.decided_at - timedelta(hours=1))
    )
    session.commit()


def _reject_audits(session, org: str) -> int:
    """Audit entries of the organization's reject requests."""
    from sqlalchemy import func, select

    from alignment.models import AuditEntry

    return session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.org_id == org, AuditEntry.action == f"POST {REJECT}")
    )


def test_unsure_okrs_wait_in_the_queue_and_a_person_decides(session, scored_sample, embedder):
    org = scored_sample
    with make_client(session, embedder) as client:
        queue = client.get(f"/orgs/{org}/review-queue").json()
        unsure = {item["okr_id"]: item for item in queue["items"]}
        assert "O-38" in unsure  # a planted orphan the engine is not sure about
        assert unsure["O-38"]["candidates"] and queue["total"] == len(unsure)
        run = build_report(session, org, embedder=embedder)
        assert run.summary["awaiting_review"] == len(unsure)
        assert {f["key"] for f in run.findings} >= {f"needs_review:{o}" for o in unsure}
        assert "orphan_okr:O-38" not in {f["key"] for f in run.findings}

        rejected = client.post(
            f"/orgs/{org}/review-queue/okrs/O-38/reject", json={"note": "museum"}
        )
        assert rejected.status_code == 200
        assert all(r["decided_by"] == "test-admin" for r in rejected.json()["rejected"])
        after = {f["key"] for f in build_report(session, org, embedder=embedder).findings}
        assert "orphan_okr:O-38" in after and "needs_review:O-38" not in after

        others = [o for o in unsure if o != "O-38"]
        if others:
            okr = others[0]
            objective = unsure[okr]["candidates"][0]["objective_id"]
            confirmed = client.post(
                f"/orgs/{org}/review-queue/okrs/{okr}/confirm", json={"objective_id": objective}
            )
            assert confirmed.status_code == 200 and confirmed.json()["verdict"] == "confirmed"
            left = {i["okr_id"] for i in client.get(f"/orgs/{org}/review-queue").json()["items"]}
            assert okr not in left and "O-38" not in left


def test_each_queue_item_carries_what_its_team_declared(client, session, scored_sample):
    """The team's own word beside the engine's candidates: the objectives it declared the OKR
    serves, in its order, with the engine's score for each; an empty list when it declared none.
    Every key an item had before stays."""
    from sqlalchemy import delete, select

    from alignment.models import DeclaredLink, ScoredLink

    org = scored_sample
    items = client.get(f"/orgs/{org}/review-queue").json()["items"]
    item = next(i for i in items if i["okr_id"] == "O-38")
    assert {"okr_id", "title", "team", "cycle", "candidates", "declared", "model_opinions"} == set(
        item
    )
    declared = session.scalars(
        select(DeclaredLink.objective_id)
        .where(DeclaredLink.org_id == org, DeclaredLink.okr_id == "O-38")
        .order_by(DeclaredLink.position)
    ).all()
    assert [d["objective_id"] for d in item["declared"]] == declared == ["SO-8"]
    link = session.get(ScoredLink, {"org_id": org, "okr_id": "O-38", "objective_id": "SO-8"})
    [said] = item["declared"]
    assert said["objective_title"] and (said["score"], said["label"]) == (
        round(link.score, 4),
        link.label,
    )

    session.execute(
        delete(DeclaredLink).where(DeclaredLink.org_id == org, DeclaredLink.okr_id == "O-38")
    )
    items = client.get(f"/orgs/{org}/review-queue").json()["items"]
    assert next(i for i in items if i["okr_id"] == "O-38")["declared"] == []


def test_rejecting_an_aligned_okr_through_the_queue_is_refused(session, scored_sample, embedder):
    with make_client(session, embedder) as client:
        refused = client.post(f"/orgs/{scored_sample}/review-queue/okrs/O-1/reject", json={})
        assert refused.status_code == 422


def test_the_review_page_decides_declared_links_and_pending_drafts(
    session, scored_sample, embedder, jobs
):
    import re

    from sqlalchemy import select

    from alignment.drafting.store import Draft
    from alignment.models import LinkFeedback

    org = scored_sample
    with make_client(session, embedder) as client:
        page = client.get(f"/orgs/{org}/review").text
        declared = re.findall(r'data-declared="([^"|]+)\|([^"]+)"', page)
        assert len(declared) >= 2, "the sample declares links its text does not support"
        (keep_okr, keep_obj), (drop_okr, drop_obj) = declared[0], declared[1]
        kept = client.post(
            f"/orgs/{org}/review/links/{keep_okr}/{keep_obj}/keep", follow_redirects=False
        )
        dropped = client.post(
            f"/orgs/{org}/review/links/{drop_okr}/{drop_obj}/drop", follow_redirects=False
        )
        assert kept.status_code == dropped.status_code == 303
        verdicts = dict(
            session.execute(
                select(LinkFeedback.okr_id, LinkFeedback.verdict).where(
                    LinkFeedback.org_id == org,
                    LinkFeedback.objective_id.in_((keep_obj, drop_obj)),
                    LinkFeedback.okr_id.in_((keep_okr, drop_okr)),
                )
            ).all()
        )
        assert verdicts[keep_okr] == "confirmed" and verdicts[drop_okr] == "rejected"
        after = client.get(f"/orgs/{org}/review").text
        assert f'data-declared="{keep_okr}|{keep_obj}"' not in after
        assert f'data-declared="{drop_okr}|{drop_obj}"' not in after

        draft_id = jobs.result(
            client, client.post(f"/orgs/{org}/drafts/suggestions", json={"team": "T-9"})
        )["draft_id"]
        assert f'data-draft="{draft_id}"' in client.get(f"/orgs/{org}/review").text
        approved = client.post(f"/orgs/{org}/review/drafts/{draft_id}/approve")
        assert approved.status_code == 200  # followed the redirect back to the page
        assert f'data-draft="{draft_id}"' not in approved.text
        assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "approved"


def test_a_confirmation_in_the_queue_rescores_the_okrs_teammates(session, scored_sample, embedder):
    from sqlalchemy import select

    from alignment.models import Okr
    from tests.jobs_support import Jobs

    org = scored_sample
    with make_client(session, embedder) as client:
        queue = client.get(f"/orgs/{org}/review-queue").json()["items"]
        teams = dict(session.execute(select(Okr.id, Okr.team_id).where(Okr.org_id == org)).all())
        # An unsure OKR with a teammate, and a candidate the teammate also has stored.
        for item in queue:
            mates = sorted(k for k, t in teams.items() if t == teams[item["okr_id"]])
            mates.remove(item["okr_id"])
            if mates:
                break
        else:
            raise AssertionError("no OKR awaiting review has a teammate in the sample")
        okr, mate = item["okr_id"], mates[0]
        before = {
            lk["objective_id"]: lk
            for lk in client.get(f"/orgs/{org}/okrs/{mate}/links").json()["links"]
        }
        objective = next(
            c["objective_id"] for c in item["candidates"] if c["objective_id"] in before
        )

        decided = client.post(
            f"/orgs/{org}/review-queue/okrs/{okr}/confirm", json={"objective_id": objective}
        ).json()
        assert decided["rescoring_job"] is not None
        ran = Jobs(session, embedder).drain()
        assert decided["rescoring_job"] in ran

        after = {
            lk["objective_id"]: lk
            for lk in client.get(f"/orgs/{org}/okrs/{mate}/links").json()["links"]
        }
        assert after[objective]["team_confirmed"] == [okr]
        assert after[objective]["score"] > before[objective]["score"]
        assert all(
            after[o]["score"] == before[o]["score"] and after[o]["team_confirmed"] == []
            for o in before
            if o != objective and o in after
        )
        # The decided OKR itself is not moved by its own confirmation.
        own = client.get(f"/orgs/{org}/okrs/{okr}/links").json()["links"]
        [link] = [lk for lk in own if lk["objective_id"] == objective]
        assert link["team_confirmed"] == [] and link["label"] == "aligned"
        assert link["score"] == next(
            c["score"] for c in item["candidates"] if c["objective_id"] == objective
        )


def test_check_ins_wait_in_their_queue_and_the_signed_in_person_decides(
    session, scored_sample, embedder
):
    org = scored_sample
    with make_client(session, embedder) as client:
        queue = client.get(f"/orgs/{org}/review-queue/check-ins").json()
        assert queue["total"] == len(queue["items"]) > 0
        first = queue["items"][0]["check_in_id"]
        url = f"/orgs/{org}/review-queue/check-ins/{first}"
        bad = client.post(url, json={"verdict": "maybe"})
        assert bad.status_code == 422 and "verdict" in bad.text
        forged = client.post(url, json={"verdict": "drifting", "decided_by": "someone-else"})
        assert forged.status_code == 422  # who decides is whoever is signed in
        stale = client.post(url, json={"verdict": "drifting", "seen": "0" * 64})
        assert stale.status_code == 409 and "changed since it was shown" in stale.text
        seen = queue["items"][0]["text_hash"]
        decided = client.post(url, json={"verdict": "drifting", "note": "office", "seen": seen})
        assert decided.status_code == 200
        assert decided.json()["decided_by"] == "test-admin"
        left = client.get(f"/orgs/{org}/review-queue/check-ins").json()["items"]
        assert first not in {i["check_in_id"] for i in left}
        drift = client.get(f"/orgs/{org}/alignment/drift").json()["items"]
        [row] = [d for d in drift if d["check_in_id"] == first]
        assert row["verdict"] == "drifting" and row["drifting"]
        missing = client.post(
            f"/orgs/{org}/review-queue/check-ins/C-NOPE", json={"verdict": "on_topic"}
        )
        assert missing.status_code == 404


# --- an OKR whose id is `check-ins` ----------------------------------------------------------
# `/review-queue/check-ins/confirm` is the check-in route's path, so such an OKR is decided
# under `/review-queue/okrs/...`; the old two-segment OKR paths stay for existing callers.


def _org_with_an_okr_named_check_ins(client, jobs, org: str) -> str:
    """The small bundle with its second OKR's id `check-ins`, imported and scored."""
    from tests.factories import small_bundle

    bundle = small_bundle(org)
    bundle["okrs"][1]["id"] = "check-ins"
    bundle["check_ins"][1]["okr"] = "check-ins"
    assert client.post("/bundles", json=bundle).status_code == 200
    jobs.result(client, client.post(f"/orgs/{org}/score"))
    return org


def _feedback(session, org: str, okr: str) -> dict[str, tuple[str, str]]:
    from sqlalchemy import select

    from alignment.models import LinkFeedback

    rows = session.execute(
        select(LinkFeedback.objective_id, LinkFeedback.verdict, LinkFeedback.decided_by).where(
            LinkFeedback.org_id == org, LinkFeedback.okr_id == okr
        )
    ).all()
    return {objective: (verdict, by) for objective, verdict, by in rows}


def test_an_okr_named_check_ins_is_decided_under_okrs(client, session, jobs):
    from sqlalchemy import update

    from alignment.models import ScoredLink

    org = _org_with_an_okr_named_check_ins(client, jobs, "acme-okr-path")
    # Unsure about every candidate, so a rejection is allowed.
    session.execute(
        update(ScoredLink)
        .where(ScoredLink.org_id == org, ScoredLink.okr_id == "check-ins")
        .values(label="none")
    )
    session.flush()
    base = f"/orgs/{org}/review-queue/okrs/check-ins"

    rejected = client.post(f"{base}/reject", json={"note": "not ours"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["okr_id"] == "check-ins"
    assert {r["objective_id"] for r in rejected.json()["rejected"]} == {"SO-1", "SO-2"}

    forged = client.post(f"{base}/confirm", json={"objective_id": "SO-2", "decided_by": "x"})
    assert forged.status_code == 422  # who decides is whoever is signed in
    unknown = client.post(f"{base}/confirm", json={"objective_id": "SO-999"})
    assert unknown.status_code == 422  # a mistake in the body, not a missing page
    assert unknown.json()["error"]["details"] == [
        {"path": "$.objective_id", "message": "no such strategic objective"}
    ]
    confirmed = client.post(f"{base}/confirm", json={"objective_id": "SO-2"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["okr_id"] == "check-ins"
    assert confirmed.json()["verdict"] == "confirmed"
    assert _feedback(session, org, "check-ins") == {
        "SO-1": ("rejected", "test-admin"),
        "SO-2": ("confirmed", "test-admin"),
    }


def test_the_old_okr_decision_paths_still_work_and_are_marked_deprecated(
    client, session, scored_sample
):
    org = scored_sample
    [item] = [
        i for i in client.get(f"/orgs/{org}/review-queue").json()["items"] if i["okr_id"] == "O-38"
    ]
    objective = item["candidates"][0]["objective_id"]

    rejected = client.post(f"/orgs/{org}/review-queue/O-38/reject", json={})
    assert rejected.status_code == 200, rejected.text
    assert all(r["decided_by"] == "test-admin" for r in rejected.json()["rejected"])
    confirmed = client.post(
        f"/orgs/{org}/review-queue/O-38/confirm", json={"objective_id": objective}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert _feedback(session, org, "O-38")[objective] == ("confirmed", "test-admin")

    paths = client.get("/openapi.json").json()["paths"]
    for decision in ("confirm", "reject"):
        old = paths[f"/orgs/{{org_id}}/review-queue/{{okr_id}}/{decision}"]["post"]
        new = paths[f"/orgs/{{org_id}}/review-queue/okrs/{{okr_id}}/{decision}"]["post"]
        assert old["deprecated"] is True and "deprecated" not in new
        assert f"/review-queue/okrs/{{okr_id}}/{decision}" in old["description"]


def test_an_okr_decision_sent_to_the_check_in_route_is_told_the_okrs_path(client, session, jobs):
    from sqlalchemy import func, select

    from alignment.models import CheckInFeedback

    org = _org_with_an_okr_named_check_ins(client, jobs, "acme-ambiguous")
    bodies = {"confirm": {"objective_id": "SO-2"}, "reject": {"note": "not ours"}}
    for decision, body in bodies.items():
        missed = client.post(f"/orgs/{org}/review-queue/check-ins/{decision}", json=body)
        assert missed.status_code == 404, missed.text  # not a 422 about a check-in's body
        error = missed.json()["error"]
        assert error["code"] == "not_found"
        new_path = f"/orgs/{org}/review-queue/okrs/check-ins/{decision}"
        assert new_path in error["message"]
        assert error["details"] == [
            {"path": "path.check_in_id", "message": f"for an OKR use POST {new_path}"}
        ]
    assert _feedback(session, org, "check-ins") == {}
    verdicts = select(func.count()).where(CheckInFeedback.org_id == org)
    assert session.scalar(verdicts) == 0

    # A check-in really named `confirm` is still decided on the check-in route.
    made = client.post(
        f"/orgs/{org}/check-ins", json={"id": "confirm", "okr": "O-1", "text": "All called."}
    )
    assert made.status_code == 201, made.text
    decided = client.post(
        f"/orgs/{org}/review-queue/check-ins/confirm", json={"verdict": "on_topic"}
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["check_in_id"] == "confirm"
    assert decided.json()["decided_by"] == "test-admin"


def _queue_item(client, org: str, okr: str) -> dict | None:
    items = client.get(f"/orgs/{org}/review-queue").json()["items"]
    return next((i for i in items if i["okr_id"] == okr), None)


def test_a_declared_objective_not_scored_yet_is_confirmed_and_applied_by_rescoring(
    client, session, scored_sample, embedder
):
    """The team declared SO-8 after the last scoring: no stored pair, so not a candidate. The
    confirmation is stored and the queue states it at once; the scoring job it names stores
    the pair as aligned, and the OKR leaves the queue."""
    import re

    from sqlalchemy import delete

    from alignment.models import ScoredLink
    from tests.jobs_support import Jobs

    org = scored_sample
    session.execute(
        delete(ScoredLink).where(
            ScoredLink.org_id == org, ScoredLink.okr_id == "O-38", ScoredLink.objective_id == "SO-8"
        )
    )
    session.flush()
    [said] = _queue_item(client, org, "O-38")["declared"]
    assert (said["objective_id"], said["score"], said["label"]) == ("SO-8", None, None)
    page = client.get(f"/orgs/{org}/review").text
    item = page.split('<article data-okr="O-38">', 1)[1].split("</article>", 1)[0]
    assert re.search(
        r'<option value="SO-8">SO-8 · [^<]*\(its team\'s declared objective; not scored\)',
        item,
    ), item

    confirmed = client.post(
        f"/orgs/{org}/review-queue/okrs/O-38/confirm", json={"objective_id": "SO-8"}
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["verdict"], body["decided_by"]) == ("confirmed", "test-admin")
    assert body["rescoring_job"] is not None
    assert _feedback(session, org, "O-38") == {"SO-8": ("confirmed", "test-admin")}

    def notice(**query) -> list[str]:
        shown = client.get(f"/orgs/{org}/review", params={"decided": "okr", "id": "O-38", **query})
        return re.findall(r'<p role="status">(.*?)</p>', shown.text)

    [now] = notice()
    assert now.startswith("Recorded: O-38 confirmed as serving SO-8 (by you at "), now
    # A form from the page shown before: the decision stands, nothing changes.
    stale = client.post(f"/orgs/{org}/review/O-38/confirm", data={"objective_id": "SO-7"})
    assert stale.status_code == 200 and "again=1" in str(stale.url)
    assert _feedback(session, org, "O-38") == {"SO-8": ("confirmed", "test-admin")}

    assert body["rescoring_job"] in Jobs(session, embedder).drain()
    assert _queue_item(client, org, "O-38") is None
    links = client.get(f"/orgs/{org}/okrs/O-38/links").json()["links"]
    assert [lk["label"] for lk in links if lk["objective_id"] == "SO-8"] == ["aligned"]
    assert notice() == [now]


def test_any_objective_of_the_organization_may_be_confirmed(
    client, session, scored_sample, embedder
):
    """The reviewer may know better than the engine and the team: an objective neither ranked
    among the OKR's stored links nor declared is confirmed too, and the answer names the job
    that stores the pair, even for an OKR with no teammates to rescore."""
    from sqlalchemy import select

    from alignment.models import Okr, ScoredLink, StrategicObjective
    from tests.jobs_support import Jobs

    org = scored_sample
    team = session.get(Okr, {"org_id": org, "id": "O-22"}).team_id
    assert session.scalars(select(Okr.id).where(Okr.org_id == org, Okr.team_id == team)).all() == [
        "O-22"
    ]
    stored = set(
        session.scalars(
            select(ScoredLink.objective_id).where(
                ScoredLink.org_id == org, ScoredLink.okr_id == "O-22"
            )
        )
    )
    objectives = session.scalars(
        select(StrategicObjective.id).where(StrategicObjective.org_id == org)
    ).all()
    unstored = sorted(set(objectives) - stored)[0]

    confirmed = client.post(
        f"/orgs/{org}/review-queue/okrs/O-22/confirm", json={"objective_id": unstored}
    )
    assert confirmed.status_code == 200, confirmed.text
    job = confirmed.json()["rescoring_job"]
    assert job is not None
    assert job in Jobs(session, embedder).drain()
    links = client.get(f"/orgs/{org}/okrs/O-22/links").json()["links"]
    assert [lk["label"] for lk in links if lk["objective_id"] == unstored] == ["aligned"]


def test_rejecting_an_okr_again_answers_what_stands_and_records_nothing(
    session, scored_sample, embedder
):
    """As a second job cancel: the decision that stands (same people, same times), no new
    one under the second caller's name and no second audit entry. Another note is a new
    decision."""
    from datetime import datetime

    from sqlalchemy import select

    from alignment.access import keys
    from alignment.access.principal import Role
    from alignment.models import LinkFeedback

    org = scored_sample
    ada = auth(keys.create_key(session, org_id=org, role=Role.admin, name="Ada")[1])
    omar = auth(keys.create_key(session, org_id=org, role=Role.strategy_office, name="Omar")[1])
    session.commit()
    path = f"/orgs/{org}/review-queue/okrs/O-38/reject"
    of_o38 = (LinkFeedback.org_id == org, LinkFeedback.okr_id == "O-38")
    columns = (LinkFeedback.objective_id, LinkFeedback.verdict, LinkFeedback.decided_by)

    def stored() -> dict[str, tuple]:
        rows = session.execute(select(*columns, LinkFeedback.decided_at).where(*of_o38))
        return {objective: (verdict, by, at) for objective, verdict, by, at in rows}

    def audited() -> int:
        return _reject_audits(session, org)

    with make_client(session, embedder, real_auth=True) as client:
        first = client.post(path, json={"note": "museum"}, headers=ada)
        assert first.status_code == 200, first.text
        # Decided an hour ago (one test transaction has one now()): a decision made again
        # would carry the second request's time.
        _decided_an_hour_earlier(session, of_o38)
        before, entries = stored(), audited()
        for body in ({}, {"note": "museum"}):
            again = client.post(path, json=body, headers=omar)
            assert again.status_code == 200, again.text
            assert stored() == before and audited() == entries
            answered = {
                r["objective_id"]: (
                    r["verdict"],
                    r["decided_by"],
                    datetime.fromisoformat(r["decided_at"]),
                )
                for r in again.json()["rejected"]
            }
            assert {r["objective_id"] for r in first.json()["rejected"]} <= set(answered)
            assert answered == {o: before[o] for o in answered}
            assert all(by.startswith("Ada (key ") for _, by, _ in answered.values())
            assert all(r["note"] == "museum" for r in again.json()["rejected"])

        other = client.post(path, json={"note": "a museum piece"}, headers=omar)
        assert other.status_code == 200, other.text
        assert all(r["decided_by"].startswith("Omar (key ") for r in other.json()["rejected"])
        assert audited() == entries + 1


def test_a_blank_note_is_no_note_and_the_answer_says_whether_anything_was_recorded(
    session, scored_sample, embedder
):
    """The review page reads an empty note field as none and the command line refuses
    `--note ""`: through the API a blank note is none too, so rejecting again with one answers
    what stands instead of recording a new decision. `recorded` says which happened."""

    from sqlalchemy import select

    from alignment.access import keys
    from alignment.access.principal import Role
    from alignment.models import LinkFeedback

    org = scored_sample
    ada = auth(keys.create_key(session, org_id=org, role=Role.admin, name="Ada")[1])
    session.commit()
    path = REJECT.format(org_id=org, okr_id="O-38")
    of_o38 = (LinkFeedback.org_id == org, LinkFeedback.okr_id == "O-38")

    def stored() -> set[tuple]:
        columns = (LinkFeedback.objective_id, LinkFeedback.decided_at, LinkFeedback.note)
        return set(session.execute(select(*columns).where(*of_o38)).all())

    def audited() -> int:
        return _reject_audits(session, org)

    with make_client(session, embedder, real_auth=True) as client:
        first = client.post(path, json={"note": "  "}, headers=ada)
        assert first.status_code == 200, first.text
        assert first.json()["recorded"] is True
        assert all(r["note"] is None for r in first.json()["rejected"])  # kept as no note
        _decided_an_hour_earlier(session, of_o38)
        before, entries = stored(), audited()
        for body in ({"note": ""}, {"note": " \t "}, {}):
            again = client.post(path, json=body, headers=ada)
            assert again.status_code == 200, again.text
            assert again.json()["recorded"] is False, body
            assert stored() == before and audited() == entries, body
        noted = client.post(path, json={"note": "a museum piece"}, headers=ada)
        assert noted.json()["recorded"] is True and audited() == entries + 1


def test_rejecting_an_okr_that_does_not_exist_says_so(client, scored_sample):
    """As `GET /okrs/{okr_id}/links` answers it, naming the path's OKR, not "no scored links"
    (true of an OKR that does not exist, and misleading)."""
    answer = client.post(REJECT.format(org_id=scored_sample, okr_id="O-999"), json={})
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert error["message"] == f"OKR 'O-999' does not exist in organization {scored_sample!r}"
    assert [d["path"] for d in error["details"]] == ["path.okr_id"]
