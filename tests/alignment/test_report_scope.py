"""What a report covers: the check-ins it sees as of a day, the day itself, scopes without OKRs,
and reasons that say what the evidence says (docs/report.md, "Scope, filters and `as_of`")."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

from sqlalchemy import select, update

from alignment.imports import import_document
from alignment.models import CheckIn, CheckInDrift, Okr, content_hash
from alignment.quality import quote
from alignment.report import ReportFilters, build_report
from alignment.report.evidence_text import EvidenceText
from alignment.report.findings import unsigned_zero
from alignment.report.store import save_settings

_DAY = re.compile(r"\d{4}-\d\d-\d\d")


def _days(value) -> list[str]:
    """Every ISO date anywhere in a finding's evidence."""
    if isinstance(value, dict):
        return [d for v in value.values() for d in _days(v)]
    if isinstance(value, list):
        return [d for v in value for d in _days(v)]
    return [value] if isinstance(value, str) and _DAY.fullmatch(value) else []


def _add_check_in(session, org: str, id_: str, okr: str, day: date | None, text: str) -> None:
    session.add(
        CheckIn(org_id=org, id=id_, okr_id=okr, key_result_id=f"{okr}-KR1", date=day, value=6.0,
                confidence=0.6, text=text, content_hash=content_hash(text))
    )  # fmt: skip
    session.flush()


def test_a_report_as_of_a_day_sees_no_later_check_in(session, scored_sample, embedder):
    org = scored_sample
    _add_check_in(session, org, "C-900", "O-28", date(2026, 11, 18), "Rewash down to 6%.")
    stale = build_report(session, org, embedder=embedder, as_of=date(2026, 11, 15),
                         filters=ReportFilters(kind=("stale_checkin",)))  # fmt: skip
    found = {f["key"]: f for f in stale.findings}
    # O-28's first check-in is three days after the report's day: 45 days into Q4 without one
    assert found["stale_checkin:O-28"]["evidence"]["last_check_in"] is None

    early = build_report(session, org, embedder=embedder, as_of=date(2026, 10, 5))
    dated = session.scalars(
        select(CheckIn.id).where(CheckIn.org_id == org, CheckIn.date <= date(2026, 10, 5))
    ).all()
    assert early.summary["check_ins"] == len(dated) == 46
    seen = set(dated)
    for f in early.findings:
        assert all(day <= "2026-10-05" for day in _days(f["evidence"])), f["key"]
        assert {r["id"] for r in f["records"] if r["type"] == "check_in"} <= seen, f["key"]
    # O-26 and O-30 have no check-in by Oct 5, so no confidence can disagree with progress yet
    assert not any(f["kind"] == "confidence_mismatch" for f in early.findings)


def test_a_check_in_without_a_date_counts_on_any_day_but_not_for_staleness(
    session, scored_sample, embedder
):
    org = scored_sample
    _add_check_in(session, org, "C-901", "O-28", None, "Rewash figures, undated.")
    run = build_report(session, org, embedder=embedder, as_of=date(2026, 10, 5))
    assert run.summary["check_ins"] == 47  # the 46 dated by Oct 5, and the undated one
    later = build_report(session, org, embedder=embedder, filters=ReportFilters(
        kind=("stale_checkin",)))  # fmt: skip
    assert "stale_checkin:O-28" in {f["key"] for f in later.findings}


def test_an_okr_added_late_in_its_cycle_is_expected_to_check_in_from_the_day_it_was_added(
    session, scored_sample, embedder
):
    """O-28 has no check-in, 50 days into its cycle: stale, unless it was only added lately
    as new work (approved from a suggestion, or created through the API)."""
    org = scored_sample
    only_stale = ReportFilters(kind=("stale_checkin",))
    before = build_report(session, org, embedder=embedder, filters=only_stale)
    assert "stale_checkin:O-28" in {f["key"] for f in before.findings}
    # When an import stored it says nothing of its age (one team's file may come a day late).
    session.execute(
        update(Okr).where(Okr.org_id == org, Okr.id == "O-28").values(created_at="2026-11-10")
    )
    again = build_report(session, org, embedder=embedder, filters=only_stale)
    assert {f["key"] for f in again.findings} == {f["key"] for f in before.findings}
    session.execute(
        update(Okr)
        .where(Okr.org_id == org, Okr.id == "O-28")
        .values(added_at="2026-11-10 23:30-05:00")  # Nov 11 in UTC, the day reports count in
    )
    young = build_report(session, org, embedder=embedder, filters=only_stale)
    assert young.as_of == date(2026, 11, 20)
    assert "stale_checkin:O-28" not in {f["key"] for f in young.findings}
    later = build_report(session, org, embedder=embedder, filters=only_stale,
                         as_of=date(2026, 12, 30))  # fmt: skip
    [finding] = [f for f in later.findings if f["key"] == "stale_checkin:O-28"]
    assert finding["reason"] == "no check-in on O-28 at all, 49 days after it was added"


def strategy_only(title: str = "Grow") -> dict:
    """An organization that has written its strategy and no OKRs yet."""
    return {
        "format": "goldenthread.bundle/v1",
        "organization": {"id": "strategy-only", "name": "Strategy Only"},
        "cycles": [{"id": "C1", "start": "2026-10-01", "end": "2026-12-31"}],
        "strategic_objectives": [
            {"id": "SO-1", "title": title, "description": None, "perspective": "financial"},
        ],
        "teams": [],
        "okrs": [],
        "check_ins": [],
    }


def test_objectives_without_any_okr_are_uncovered(session, embedder):
    import_document(session, strategy_only())
    run = build_report(session, "strategy-only", embedder=embedder)
    found = {f["key"]: f for f in run.findings}
    assert set(found) == {"uncovered_objective:SO-1", "perspective_imbalance:financial"}
    assert found["uncovered_objective:SO-1"]["reason"] == (
        'no OKR serves "Grow"; there are no OKRs in scope'
    )
    assert found["perspective_imbalance:financial"]["severity"] == "high"
    # no check-in to date the report by: today, but never past the end of the cycles
    assert run.as_of == min(date(2026, 12, 31), date.today())
    assert run.summary["okrs"] == 0 and run.summary["alignment_health"] is None


def test_reasons_quote_titles_as_written_without_escapes(session, embedder):
    hostile = '<script>x</script> Fix "the" boiler\'s <b>valve</b>\n  now'
    import_document(session, strategy_only(hostile))
    run = build_report(session, "strategy-only", embedder=embedder)
    reason = next(f["reason"] for f in run.findings if f["kind"] == "uncovered_objective")
    assert reason.startswith(
        'no OKR serves "<script>x</script> Fix "the" boiler\'s <b>valve</b> now"'
    )
    assert "\\" not in reason and "\n" not in reason


def test_staleness_in_a_finished_cycle_says_it_is_measured_at_its_end(
    session, scored_sample, embedder
):
    save_settings(session, scored_sample, {"stale_days": 10})
    run = build_report(session, scored_sample, embedder=embedder, filters=ReportFilters(
        kind=("stale_checkin",)))  # fmt: skip
    by_cycle = {c: [f for f in run.findings if f["scope"]["cycles"] == [c]]
                for c in ("2026-Q3", "2026-Q4")}  # fmt: skip
    assert by_cycle["2026-Q3"] and by_cycle["2026-Q4"]
    for f in by_cycle["2026-Q3"]:
        assert f["reason"].endswith(" by the end of 2026-Q3 (2026-09-30)"), f["reason"]
        assert f["evidence"]["measured_on"] == "2026-09-30"
    assert not any("by the end of" in f["reason"] for f in by_cycle["2026-Q4"])


def test_drift_reason_says_closer_only_when_the_evidence_does(session, scored_sample, embedder):
    org = scored_sample
    run = build_report(session, org, embedder=embedder, filters=ReportFilters(
        kind=("checkin_drift",)))  # fmt: skip
    assert run.findings
    for f in run.findings:
        e = f["evidence"]
        closer = (
            e["nearest_similarity"] > e["own_similarity"]
            and e["nearest_okr_cycle"] == (f["scope"]["cycles"][0])
        )
        assert ("closer to" in f["reason"]) == closer, f["reason"]
        if not closer:
            # The reason cites what the numbers show, never a high own similarity as if it
            # were the evidence of drift.
            own, typical = e["own_similarity"], e["typical_own_similarity"]
            if e["routine_similarity"] > own:
                assert f'more like routine work ("{e["routine_work"]}"' in f["reason"]
            elif own < typical:
                assert f"at {own:.2f}, under the {typical:.2f} a check-in" in f["reason"]
            else:  # a finding needs evidence (drift.evidenced): here another cycle's OKR
                assert e["nearest_similarity"] > own, f["reason"]
                assert f"of {e['nearest_okr_cycle']} ({e['nearest_similarity']:.2f})" in f["reason"]
        nearest = next(
            x for x in EvidenceText({}).lines(f["kind"], e) if x.label.startswith("near")
        )
        assert ("text", f" · cycle {e['nearest_okr_cycle']}") in nearest.value

    # The same stored verdict read three ways: C-21 is a planted drift on O-2, a Q3 OKR.
    def reason_with(nearest: str, near: float, **more) -> str:
        row = session.scalar(
            select(CheckInDrift).where(
                CheckInDrift.org_id == org, CheckInDrift.check_in_id == "C-21"
            )
        )
        evidence = {**row.evidence, "own_field": "title", "own_similarity": 0.64,
                    "nearest_okr_id": nearest, "nearest_similarity": near}  # fmt: skip
        for key, value in more.items():
            if value is None:
                evidence.pop(key, None)
            else:
                evidence[key] = value
        session.execute(
            update(CheckInDrift)
            .where(CheckInDrift.org_id == org, CheckInDrift.check_in_id == "C-21")
            .values(evidence=evidence, drifting=True, verdict="drifting")
        )
        rerun = build_report(session, org, embedder=embedder, filters=ReportFilters(
            kind=("checkin_drift",)))  # fmt: skip
        return next(f["reason"] for f in rerun.findings if f["key"] == "checkin_drift:C-21")

    okr = session.scalar(select(CheckIn.okr_id).where(CheckIn.org_id == org, CheckIn.id == "C-21"))
    assert okr == "O-2"
    same_cycle, other_cycle = "O-3", "O-48"  # Q3, Q4

    def title_of(okr_id: str) -> str:
        return session.scalar(select(Okr.title).where(Okr.org_id == org, Okr.id == okr_id))

    # Stored before the typical similarity was kept: the reason it had.
    assert reason_with(same_cycle, 0.50, typical_own_similarity=None) == (
        f"check-in C-21 on {okr} reads as other work than its OKR "
        "(similarity 0.64 to the OKR's title)"
    )
    chore = "A team social event, party, lunch, celebration or sports game."
    head = f"check-in C-21 on {okr} reads as other work than its OKR"
    other = f"{other_cycle} {quote(title_of(other_cycle))}"
    # (nearest OKR, its similarity, typical own similarity, routine similarity) -> the reason:
    # each cites what its numbers support, and a verdict stored before findings needed
    # evidence gives the numbers, never an argument against itself.
    for nearest, near, typical, routine, said in [
        (same_cycle, 0.50, 0.5, 0.7, f': it reads more like routine work ("{chore}", 0.70) '
         "than like its own OKR (0.64 to the OKR's title)"),
        (same_cycle, 0.50, 0.8, 0.2, ": its closest match in its OKR is the OKR's title at "
         "0.64, under the 0.80 a check-in here typically reaches"),
        (other_cycle, 0.71, 0.5, 0.2, f": it is closer to {other} of 2026-Q4 (0.71) than to "
         "its own OKR (0.64 to the OKR's title)"),
        (same_cycle, 0.50, 0.5, 0.2, " (similarity 0.64 to the OKR's title; typically 0.50 here)"),
    ]:  # fmt: skip
        reason = reason_with(nearest, near, typical_own_similarity=typical, routine_work=chore,
                             routine_similarity=routine)  # fmt: skip
        assert reason == head + said, (nearest, typical, routine)
    assert f"closer to {same_cycle} " in reason_with(same_cycle, 0.71)
    # Another cycle's OKR is named with its cycle, never as if the work belonged there now.
    assert f"closer to {other_cycle} " not in reason_with(
        other_cycle, 0.71, typical_own_similarity=None
    )


def test_evidence_has_no_negative_zero(session, scored_sample, embedder):
    run = build_report(session, scored_sample, embedder=embedder)

    def zeros(value) -> list[float]:
        if isinstance(value, dict):
            return [z for v in value.values() for z in zeros(v)]
        if isinstance(value, list):
            return [z for v in value for z in zeros(v)]
        return [value] if isinstance(value, float) and value == 0 else []

    found = [z for f in run.findings for z in zeros(f["evidence"])]
    assert found and all(math.copysign(1, z) == 1 for z in found)
    assert math.copysign(1, unsigned_zero({"p": [round(-0.00001, 4)]})["p"][0]) == 1


def test_okrs_without_check_ins_in_a_running_cycle_are_measured_today(session, embedder):
    """A planned later cycle must not push the report's day into the future, where the running
    cycle would read as finished and every OKR as never checked in."""
    today = date.today()
    span = lambda a, b: {"start": (today + timedelta(a)).isoformat(),  # noqa: E731
                         "end": (today + timedelta(b)).isoformat()}  # fmt: skip
    document = {
        **strategy_only(),
        "cycles": [{"id": "NOW", **span(-10, 80)}, {"id": "NEXT", **span(81, 170)}],
        "teams": [{"id": "T-1", "name": "Sales", "parent": None, "mission": None}],
        "okrs": [{"id": "O-1", "team": "T-1", "cycle": "NOW", "title": "Grow revenue",
                  "description": None, "declared_links": [], "key_results": [
                      {"id": "O-1-KR1", "title": "Revenue", "unit": "$k", "baseline": 10,
                       "target": 20, "current": 10, "kind": "lag"},
                      {"id": "O-1-KR2", "title": "Deals signed", "unit": "count",
                       "baseline": 0, "target": 8, "current": 0, "kind": "lead"}]}],
    }  # fmt: skip
    import_document(session, document)
    run = build_report(session, "strategy-only", embedder=embedder)
    assert run.as_of == today
    assert not [f for f in run.findings if f["kind"] == "stale_checkin"]  # 10 days in, not 42
