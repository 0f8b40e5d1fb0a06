"""Findings about check-ins: drift (stored by the score stage), staleness, confidence.

Staleness is measured on the report's `as_of` date, or the cycle's end when the cycle is
over (a finished quarter does not go stale). Confidence is compared with progress towards
the key result's target: high confidence while the value has not moved, or low confidence
while it has reached the target.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from alignment.quality import quote
from alignment.report.config import ReportConfig
from alignment.report.facts import CheckInRow, KrRow, OkrRow, OrgFacts
from alignment.report.findings import Finding, Records
from alignment.report.scope import Scope


def find_progress(
    facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records
) -> list[Finding]:
    by_okr: dict[str, list[CheckInRow]] = defaultdict(list)
    for c in facts.check_ins:
        if scope.has(c.okr_id):
            by_okr[c.okr_id].append(c)
    out: list[Finding] = []
    if config.enabled("checkin_drift"):
        out += _drift(facts, by_okr, rec)
    if config.enabled("stale_checkin"):
        out += _stale(facts, scope, by_okr, config, rec)
    if config.enabled("confidence_mismatch"):
        out += _confidence(facts, by_okr, config, rec)
    return out


def _drift(facts: OrgFacts, by_okr: dict[str, list[CheckInRow]], rec: Records) -> list[Finding]:
    out = []
    for okr_id, check_ins in by_okr.items():
        okr = facts.okrs[okr_id]
        for c in check_ins:
            d = facts.drift.get(c.id)
            if d is None or not d.drifting:
                continue
            nearest = facts.okrs.get(d.evidence.get("nearest_okr_id") or "")
            finding = Finding(
                "checkin_drift",
                "medium",
                _drift_reason(c, okr, d.evidence, nearest),
                [rec.check_in(c.id, c.text), rec.okr(okr_id), rec.team(okr.team_id)],
                {
                    "score": round(d.score, 4),
                    "date": c.date.isoformat() if c.date else None,
                    "text": c.text,
                    **d.evidence,
                    "nearest_okr_title": nearest.title if nearest else None,
                    "nearest_okr_cycle": nearest.cycle_id if nearest else None,
                },
                (c.id,),
            )
            out.append(rec.okr_scope(finding, [okr_id]))
    return out


def _drift_reason(
    c: CheckInRow, okr: OkrRow, evidence: dict[str, Any], nearest: OkrRow | None
) -> str:
    """Cite only what the evidence shows: another OKR of the same cycle closer than its own
    (where the work may belong), routine work closer than its own OKR, its own OKR under the
    organization's typical match, or else a closer OKR of another cycle, named with its cycle
    (not where the work belongs now, but what made the score a finding: drift.evidenced)."""
    if who := evidence.get("decided_by"):
        return (
            f"check-in {c.id} on {okr.id} is about other work than its OKR: "
            f"{who} decided so in the review queue"
        )
    head = f"check-in {c.id} on {okr.id} reads as other work than its OKR"
    own, near = evidence.get("own_similarity"), evidence.get("nearest_similarity")
    if own is None:
        return head
    if nearest is not None and near is not None and near > own and nearest.cycle_id == okr.cycle_id:
        return (
            f"{head}: it is closer to {nearest.id} {quote(nearest.title)} ({near:.2f}) "
            f"than to its own OKR ({own:.2f})"
        )
    field = _own_field(evidence.get("own_field"))
    typical = evidence.get("typical_own_similarity")
    routine, routine_sim = evidence.get("routine_work"), evidence.get("routine_similarity")
    if typical is None:  # stored before these were kept
        return f"{head} (similarity {own:.2f} to {field})"
    # Cite only what the numbers support: a reason that quotes a high similarity to the
    # check-in's own key result as evidence of drift argues against its own finding.
    if routine and routine_sim is not None and routine_sim > own:
        return (
            f"{head}: it reads more like routine work ({quote(routine)}, {routine_sim:.2f}) "
            f"than like its own OKR ({own:.2f} to {field})"
        )
    if own < typical:
        return (
            f"{head}: its closest match in its OKR is {field} at {own:.2f}, under the "
            f"{typical:.2f} a check-in here typically reaches"
        )
    if nearest is not None and near is not None and near > own:
        # What made it a finding (drift.evidenced): an OKR of another cycle is closer.
        return (
            f"{head}: it is closer to {nearest.id} {quote(nearest.title)} of "
            f"{nearest.cycle_id} ({near:.2f}) than to its own OKR ({own:.2f} to {field})"
        )
    # A finding no longer stands on the wording alone (drift.evidenced); a verdict stored
    # before that rule can still get here.
    return f"{head} (similarity {own:.2f} to {field}; typically {typical:.2f} here)"


def _own_field(field: str | None) -> str:
    if field and field.startswith("key_result:"):
        return f"key result {field.removeprefix('key_result:')}"
    return f"the OKR's {field}" if field in ("title", "description") else "its OKR"


def _stale(
    facts: OrgFacts,
    scope: Scope,
    by_okr: dict[str, list[CheckInRow]],
    config: ReportConfig,
    rec: Records,
) -> list[Finding]:
    out = []
    for okr_id in scope.okr_ids:
        okr = facts.okrs[okr_id]
        start, end = facts.cycles.get(okr.cycle_id, (None, None))
        if start is not None and start > scope.as_of:
            continue  # the cycle has not begun
        measured_on = min(scope.as_of, end) if end is not None else scope.as_of
        dates = [c.date for c in by_okr.get(okr_id, ()) if c.date is not None]
        last = max(dates) if dates else None
        evidence: dict[str, Any] = {
            "last_check_in": last.isoformat() if last else None,
            "measured_on": measured_on.isoformat(),
            "stale_days": config.stale_days,
        }
        # A finished cycle is measured at its end: say so, or the days read as counted today.
        ended = (
            f" by the end of {okr.cycle_id} ({end})"
            if end is not None and end <= scope.as_of
            else ""
        )
        if last is not None:
            days = (measured_on - last).days
            if days <= config.stale_days:
                continue
            severity = "medium"
            reason = f"no check-in on {okr_id} for {days} days (since {last}){ended}"
        elif (since := _expected_since(start, okr.added_on)) is not None and (
            measured_on - since
        ).days > config.stale_days:
            days = (measured_on - since).days
            severity = "high"
            reason = f"no check-in on {okr_id} at all, {days} days into cycle {okr.cycle_id}"
            if since != start:
                reason = f"no check-in on {okr_id} at all, {days} days after it was added"
            if ended:
                reason = f"no check-in on {okr_id} at all{ended}"
        else:
            continue
        evidence["days_without_check_in"] = days
        finding = Finding(
            "stale_checkin", severity, reason, [rec.okr(okr_id), rec.team(okr.team_id)],
            evidence, (okr_id,),
        )  # fmt: skip
        out.append(rec.okr_scope(finding, [okr_id]))
    return out


def _expected_since(start: date | None, added_on: date | None) -> date | None:
    """From when an OKR without check-ins is expected to have one: its cycle's start, or the
    day it was added when that came later (an OKR approved in week 7 is not 7 weeks late)."""
    if start is None or added_on is None:
        return start
    return max(start, added_on)


def _elapsed(facts: OrgFacts, cycle_id: str, day: date | None) -> float | None:
    start, end = facts.cycles.get(cycle_id, (None, None))
    if day is None or start is None or end is None or end <= start:
        return None
    return min(max((day - start).days / (end - start).days, 0.0), 1.0)


def _confidence(
    facts: OrgFacts, by_okr: dict[str, list[CheckInRow]], config: ReportConfig, rec: Records
) -> list[Finding]:
    out = []
    for okr_id, check_ins in by_okr.items():
        okr = facts.okrs[okr_id]
        per_kr: dict[str, list[CheckInRow]] = defaultdict(list)
        for c in check_ins:
            if c.key_result_id and c.value is not None and c.confidence is not None:
                per_kr[c.key_result_id].append(c)
        for kr_id, rows in per_kr.items():
            kr = facts.kr(kr_id)
            if kr is None or kr.baseline is None or kr.target is None or kr.target == kr.baseline:
                continue
            judged = [
                (c, _judge(c, kr, _elapsed(facts, okr.cycle_id, c.date), config)) for c in rows
            ]
            latest, verdict = judged[-1]
            if verdict is None:
                continue
            elapsed = _elapsed(facts, okr.cycle_id, latest.date)
            same = [c for c, v in judged if v == verdict]
            if verdict == "too_high" and (
                (elapsed is not None and elapsed < config.min_elapsed_for_stall)
                or (elapsed is None and len(same) < 2)
            ):
                continue  # early in the cycle an unmoved value is normal
            out.append(rec.okr_scope(_mismatch(kr, okr.team_id, verdict, same, rec), [okr_id]))
    return out


def _progress(c: CheckInRow, kr: KrRow) -> float:
    return (c.value - kr.baseline) / (kr.target - kr.baseline)  # type: ignore[operator]


def _judge(c: CheckInRow, kr: KrRow, elapsed: float | None, config: ReportConfig) -> str | None:
    progress, confidence = _progress(c, kr), c.confidence or 0.0
    if confidence >= config.high_confidence and (
        progress <= config.stalled_progress or (elapsed is not None and progress < elapsed - 0.5)
    ):
        return "too_high"
    if confidence <= config.low_confidence and progress >= config.on_target_progress:
        return "too_low"
    return None


def _mismatch(
    kr: KrRow, team_id: str, verdict: str, rows: list[CheckInRow], rec: Records
) -> Finding:
    latest = rows[-1]
    progress = _progress(latest, kr) + 0.0  # no "-0%"
    value = latest.value + 0.0  # type: ignore[operator]
    if verdict == "too_high":
        reason = (
            f"confidence {latest.confidence:.0%} on {kr.id} while the value is {value:g} "
            f"({progress:.0%} of the way from {kr.baseline:g} to {kr.target:g})"
        )
    else:
        reason = (
            f"confidence only {latest.confidence:.0%} on {kr.id} while the value {value:g} "
            f"has reached {progress:.0%} of the way to the target {kr.target:g}"
        )
    return Finding(
        "confidence_mismatch",
        "medium",
        reason,
        [
            rec.key_result(kr.id),
            rec.okr(kr.okr_id),
            rec.team(team_id),
            *(rec.check_in(c.id, c.text) for c in rows),
        ],
        {
            "direction": verdict,
            "baseline": kr.baseline,
            "target": kr.target,
            "check_ins": [
                {
                    "id": c.id,
                    "date": c.date.isoformat() if c.date else None,
                    "value": c.value,
                    "confidence": c.confidence,
                    "progress": round(_progress(c, kr), 4),
                }
                for c in rows
            ],
        },
        (kr.id,),
    )
