"""Score reads are served from rendered bytes while the organization's read version holds, and
the database bumps that version whenever what they show changes (migration 0012)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from alignment.models import Okr, ReadVersion, ScoredLink
from alignment.scoring.reads import read_version


def test_a_changed_title_or_rescoring_is_seen_at_once(
    client, session: Session, scored_sample
) -> None:
    url = f"/orgs/{scored_sample}/alignment/orphans"
    answer = client.get(url, params={"limit": 200})
    first, tag = answer.json(), answer.headers["etag"]
    assert client.get(url, params={"limit": 200}).json() == first  # served again
    orphan = first["items"][0]["okr_id"]
    before = read_version(session, scored_sample)

    session.execute(
        update(Okr).where(Okr.org_id == scored_sample, Okr.id == orphan).values(title="Renamed")
    )
    assert read_version(session, scored_sample) != before
    # A poller holding the old tag gets the new version in full, not a 304.
    polled = client.get(url, params={"limit": 200}, headers={"If-None-Match": tag})
    assert polled.status_code == 200 and polled.headers["etag"] != tag
    renamed = client.get(url, params={"limit": 200}).json()
    assert [o["title"] for o in renamed["items"] if o["okr_id"] == orphan] == ["Renamed"]

    # A rescoring that finds a link for it (written as the score stage writes, by statement).
    session.execute(
        update(ScoredLink)
        .where(ScoredLink.org_id == scored_sample, ScoredLink.okr_id == orphan)
        .where(ScoredLink.rank == 1)
        .values(label="aligned")
    )
    after = client.get(url, params={"limit": 200}).json()
    assert orphan not in {o["okr_id"] for o in after["items"]}
    assert after["total"] == first["total"] - 1


def test_one_statement_bumps_once_whatever_its_rows(session: Session, scored_sample) -> None:
    before = read_version(session, scored_sample)
    session.execute(delete(ScoredLink).where(ScoredLink.org_id == scored_sample))
    after = read_version(session, scored_sample)
    # Versions come from a sequence shared by all organizations: one statement, one number.
    assert after > before
    assert (
        session.scalar(select(ReadVersion.version).where(ReadVersion.org_id == scored_sample))
        == after
    )


def test_links_and_coverage_follow_the_version(client, session: Session, scored_sample) -> None:
    links = f"/orgs/{scored_sample}/okrs/O-1/links"
    coverage = f"/orgs/{scored_sample}/alignment/coverage"
    assert client.get(links).status_code == 200
    assert client.get(coverage).status_code == 200
    for url in (links, coverage):
        # (A 404 rolls back the test's session, the deletion with it: delete before each.)
        session.execute(delete(ScoredLink).where(ScoredLink.org_id == scored_sample))
        assert client.get(url).status_code == 404  # not scored any more, not a stale copy


def test_a_scoring_run_bumps_the_version_a_few_times_not_once_per_link(
    client, jobs, session: Session, scored_sample
) -> None:
    last = text("select last_value from read_version_numbers")
    before = session.scalar(last)
    assert jobs.run(client, client.post(f"/orgs/{scored_sample}/score"))["status"] == "succeeded"
    stored = select(func.count()).select_from(ScoredLink)
    assert session.scalar(stored.where(ScoredLink.org_id == scored_sample)) >= 500
    # For the links and for the OKRs' comparisons with the median (okr_verdicts): the delete,
    # and one multi-row INSERT per 2,000 rows. executemany sent one statement per link, each
    # firing the trigger (a 10,000-OKR scoring took minutes more).
    assert 2 <= session.scalar(last) - before <= 5


def test_score_reads_go_out_compressed_and_answer_304_to_the_current_tag(
    client, scored_sample
) -> None:
    for path in ("alignment/coverage", "alignment/orphans", "okrs/O-1/links"):
        url = f"/orgs/{scored_sample}/{path}"
        packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        assert packed.status_code == plain.status_code == 200, path
        assert packed.headers["content-encoding"] == "gzip", path
        assert "content-encoding" not in plain.headers, path
        assert int(packed.headers["content-length"]) < len(plain.content), path
        assert packed.json() == plain.json(), path
        # Polled again with the tag it was given: nothing to send.
        tag = packed.headers["etag"]
        assert plain.headers["etag"] == tag, path  # one version, whatever the encoding
        held = client.get(url, headers={"If-None-Match": tag})
        assert held.status_code == 304 and held.content == b"", path
