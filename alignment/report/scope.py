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
    """The latest check-in's date; without any, the latest end (or start) of the cycles.

    Never the day of the build while the data has a date of its own, so that the same records
    give the same report on any day. Only an organization with neither a dated check-in nor a
    dated cycle in scope falls back to today, and then nothing is measured on that day.
    """
    dates = [c.date for c in facts.check_ins if c.date is not None]
    if dates:
        return max(dates)
    bounds = [end or start for start, end in (facts.cycles.get(c, (None, None)) for c in cycles)]
    days = [d for d in bounds if d is not None]
    return max(days) if days else date.today()
