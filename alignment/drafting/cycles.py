"""Which cycle drafted OKRs are for: the one asked for, else the current one, or the next once the
current cycle is more than half over (a plan drafted in week 10 of 13 is a plan for next quarter).

"Today" is the data's own: its latest check-in date, as the report measures (`report.scope`),
so an imported snapshot drafts as it would have on the day it was exported, and the same records
give the same target on any day. Without check-ins it is the calendar's today, even after the
last cycle has ended (where the report stops at that end): a plan is drafted for what comes
next. When the organization has not defined the next cycle yet, one
is proposed after the current one (same calendar months, or same length in days; the id follows
the current one's pattern, 2026-Q4 -> 2027-Q1) and created when a draft for it is approved.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.drafting.findings import elapsed
from alignment.models import CheckIn

PAST_HALF = 0.5


def data_today(session: Session, org_id: str) -> date:
    """The latest check-in's date, or today's without any."""
    latest = session.scalar(select(func.max(CheckIn.date)).where(CheckIn.org_id == org_id))
    return latest or date.today()


def current_cycle(ordered: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """What a review summary looks back on: the cycle containing `today`, else the latest one
    begun by then, else the latest. Never a later cycle nobody has worked in yet (approving a
    suggestion for next quarter defines it)."""
    containing = [c for c in ordered if c["start"] and c["end"] and c["start"] <= today <= c["end"]]
    begun = [c for c in ordered if c["start"] and c["start"] <= today]
    return (containing or begun or ordered)[-1]


def target_cycle(
    ordered: list[dict[str, Any]], today: date
) -> tuple[dict[str, Any], str | None, str]:
    """(the cycle to draft for, the id of the one before it, why), from cycles oldest first.

    The current cycle is the one that contains `today`, else the latest. A cycle proposed here
    (not yet defined) has `"proposed": True` and its dates.
    """
    containing = [c for c in ordered if c["start"] and c["end"] and c["start"] <= today <= c["end"]]
    current = containing[-1] if containing else ordered[-1]
    at = ordered.index(current)
    share = elapsed(current, today)
    if share is None or share <= PAST_HALF:
        why = f"the current cycle {current['id']} is {_pct(share)} over on {today}"
        return current, (ordered[at - 1]["id"] if at else None), why
    why = (
        f"the current cycle {current['id']} is {_pct(share)} over on {today} (more than half), "
        "so the drafts are for the next one"
    )
    if at + 1 < len(ordered):
        return ordered[at + 1], current["id"], why
    return propose_next(current, taken={c["id"] for c in ordered}), current["id"], why


def _pct(share: float | None) -> str:
    return "an unknown share" if share is None else f"{share:.0%}"


def propose_next(current: dict[str, Any], *, taken: set[str]) -> dict[str, Any]:
    start, end = current["start"], current["end"]
    first = end + timedelta(days=1)
    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        last_month = first.month - 1 + months - 1
        year, month = first.year + last_month // 12, last_month % 12 + 1
        last = date(year, month, calendar.monthrange(year, month)[1])
    else:
        last = first + (end - start)
    cycle_id = next_id(current["id"])
    while cycle_id in taken:  # a pattern that would reuse an id: add a suffix instead
        cycle_id = f"{cycle_id}-next"
    return {"id": cycle_id, "start": first, "end": last, "proposed": True}


def next_id(cycle_id: str) -> str:
    """2026-Q4 -> 2027-Q1, 2026-H1 -> 2026-H2, 2026 -> 2027, Sprint 7 -> Sprint 8."""
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", cycle_id):
        year, q = int(m[1]), int(m[2])
        return f"{year + q // 4}-Q{q % 4 + 1}"
    if m := re.fullmatch(r"(\d{4})-H([12])", cycle_id):
        year, h = int(m[1]), int(m[2])
        return f"{year + h // 2}-H{h % 2 + 1}"
    if m := re.fullmatch(r"(.*?)(\d+)", cycle_id):
        return f"{m[1]}{int(m[2]) + 1}"
    return f"{cycle_id}-next"


def undefined_message(cycle_id: str, proposed: dict[str, Any]) -> str:
    """Why a suggestion for a cycle not defined yet waits for an admin: one wording for the
    approval's refusal and the pages that say so before anyone tries."""
    return (
        f"the draft is for cycle {cycle_id!r} ({proposed.get('start')} to "
        f"{proposed.get('end')}), which the organization has not defined yet; ask an admin "
        "to define the cycle first, then approve the draft"
    )
