"""Which cycle drafts are for: the current one, or the next once the current is past half."""

from __future__ import annotations

from datetime import date

from alignment.drafting.cycles import current_cycle, next_id, propose_next, target_cycle

Q3 = {"id": "2026-Q3", "start": date(2026, 7, 1), "end": date(2026, 9, 30)}
Q4 = {"id": "2026-Q4", "start": date(2026, 10, 1), "end": date(2026, 12, 31)}
Q1 = {"id": "2027-Q1", "start": date(2027, 1, 1), "end": date(2027, 3, 31)}


def test_the_current_cycle_until_it_is_half_over() -> None:
    cycle, previous, why = target_cycle([Q3, Q4], date(2026, 11, 10))
    assert (cycle["id"], previous) == ("2026-Q4", "2026-Q3")
    assert "is 44% over on 2026-11-10" in why
    # A cycle that contains the day wins over a later one.
    assert target_cycle([Q3, Q4, Q1], date(2026, 8, 1))[0]["id"] == "2026-Q3"


def test_past_half_the_next_cycle_defined_or_proposed() -> None:
    cycle, previous, why = target_cycle([Q3, Q4, Q1], date(2026, 11, 20))
    assert (cycle, previous) == (Q1, "2026-Q4") and "more than half" in why
    proposed, previous, _ = target_cycle([Q3, Q4], date(2026, 11, 20))
    assert proposed == {**Q1, "proposed": True} and previous == "2026-Q4"
    # After every cycle has ended: the one after the last.
    assert target_cycle([Q3, Q4], date(2027, 2, 1))[0]["id"] == "2027-Q1"


def test_a_summary_looks_back_on_the_current_cycle_not_a_later_one() -> None:
    # Approving a suggestion for 2027-Q1 defines it; a summary in November is still about Q4.
    assert current_cycle([Q3, Q4, Q1], date(2026, 11, 20)) == Q4
    # Between cycles (or after the last): the latest one begun, never one not yet started.
    gap = {"id": "2027-Q2", "start": date(2027, 5, 1), "end": date(2027, 6, 30)}
    assert current_cycle([Q4, gap], date(2027, 2, 1)) == Q4
    assert current_cycle([Q3, Q4], date(2027, 2, 1)) == Q4
    undated = [{"id": "A", "start": None, "end": None}, {"id": "B", "start": None, "end": None}]
    assert current_cycle(undated, date(2026, 11, 20))["id"] == "B"


def test_undated_cycles_keep_the_latest() -> None:
    undated = [{"id": "A", "start": None, "end": None}, {"id": "B", "start": None, "end": None}]
    assert target_cycle(undated, date(2026, 11, 20))[:2] == (undated[1], "A")


def test_proposed_cycles_follow_the_pattern_and_the_calendar() -> None:
    ids = ("2026-Q4", "2026-Q1", "2026-H2", "2026", "Sprint 7", "Spring")
    assert [next_id(i) for i in ids] == [
        "2027-Q1", "2026-Q2", "2027-H1", "2027", "Sprint 8", "Spring-next",
    ]  # fmt: skip
    half = {"id": "2026-H2", "start": date(2026, 7, 1), "end": date(2026, 12, 31)}
    assert propose_next(half, taken=set()) == {
        "id": "2027-H1", "start": date(2027, 1, 1), "end": date(2027, 6, 30), "proposed": True,
    }  # fmt: skip
    sprint = {"id": "S-3", "start": date(2026, 11, 2), "end": date(2026, 11, 15)}
    assert propose_next(sprint, taken={"S-4"}) == {
        "id": "S-4-next", "start": date(2026, 11, 16), "end": date(2026, 11, 29), "proposed": True,
    }  # fmt: skip
