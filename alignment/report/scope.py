"""What one report covers: the OKRs of the chosen cycles, and the date it is measured on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from alignment.report.facts import OrgFacts


@dataclass(frozen=True)
class Scope:
    okr_ids: tuple[str, ...]
    cycles: tuple[str, ...]
    as_of: date
    okr_set: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "okr_set", frozenset(self.okr_ids))

    def has(self, okr_id: str) -> bool:
        return okr_id in self.okr_set


def make_scope(facts: OrgFacts, *, cycles: tuple[str, ...], as_of: date | None) -> Scope:
    """All cycles unless some are chosen; `as_of` defaults to the data's own "now".

    The data's own "now" keeps a report reproducible from its inputs and makes an imported
    snapshot read the way it did when it was exported; pass `as_of` to measure on another day.
    """
    chosen = tuple(cycles) or tuple(facts.cycles)
    okr_ids = tuple(o.id for o in facts.okrs.values() if o.cycle_id in chosen)
    return Scope(okr_ids, chosen, as_of or default_as_of(facts, chosen))


def default_as_of(facts: OrgFacts, cycles: tuple[str, ...]) -> date:
    """The latest check-in's date; without any, today, but never past the last cycle's end.

    While the data has a check-in date of its own, the same records give the same report on any
    day. An organization that has imported OKRs but no check-ins yet is measured today (a later
    day would call a running cycle finished), or at the end of its cycles once they are over.
    """
    dates = [c.date for c in facts.check_ins if c.date is not None]
    if dates:
        return max(dates)
    bounds = [end or start for start, end in (facts.cycles.get(c, (None, None)) for c in cycles)]
    days = [d for d in bounds if d is not None]
    return min(max(days), date.today()) if days else date.today()
