"""The offline review summary: key-result progress, risks, drifting check-ins and the decisions
the findings ask for, each statement citing the check-ins and findings it rests on."""

from __future__ import annotations

from typing import Any

from alignment.drafting.context import SummaryContext
from alignment.drafting.offline_text import clip, num
from alignment.drafting.schemas import MAX_CITED, SHORT_MAX, TEXT_MAX
from alignment.quality import quote
from alignment.vocabulary import counted

MAX_STATEMENTS = 15
FINDINGS_CITED = 3  # findings a progress line cites when no check-in backs it
# A key result is on pace when it has come at least this fraction of the way the elapsed share
# of the cycle asks for: 55% into the cycle, 44% of the way from baseline to target. A manager
# reads "on pace" as "will about make it", so a third of the way at half-time is not on pace.
ON_PACE_RATIO = 0.8
_EPSILON = 1e-9  # 0.8 * 0.55 is 0.44000000000000006: a key result at exactly 44% is on pace


def _statement(text: str, check_ins: list[str | None], findings: list[str]) -> dict[str, Any]:
    return {
        "text": clip(text, TEXT_MAX),
        "check_ins": list(dict.fromkeys(c for c in check_ins if c))[:MAX_CITED],
        "findings": list(dict.fromkeys(findings))[:MAX_CITED],
    }


DRIFT = ("checkin_drift",)
# The findings a summary turns into a decision someone must take, and how it asks for it.
_ASK = {
    "orphan_okr": "Decide whether {okr} continues or is rewritten to serve the strategy",
    "unsupported_declared_link": "Confirm or drop {okr}'s declared link to {objective}",
    # Also said of a link a person already confirmed (the finding's reason names them): what
    # is left to decide either way is whether the team declares it. Worded as the action, so
    # it reads right in the OKR's own team summary as in an objective's.
    "suggested_link": "Declare {objective} for {okr}, or reject the link",
    "uncovered_objective": "Decide which team takes on {objective}",
    "duplicate_effort": "Decide which team owns the shared work",
    "conflicting_okrs": "Settle the target both teams pull in opposite directions",
}
DECISIONS = tuple(_ASK)


def summary(ctx: SummaryContext) -> dict[str, Any]:
    about = _findings_by_okr(ctx.findings)
    progress = [p for okr in ctx.okrs if (p := _progress(okr, about.get(okr["id"], [])))]
    risks = _risks(ctx.findings)
    drift = [_drift(f) for f in ctx.findings if f["kind"] in DRIFT]
    decisions = [_decision(f) for f in ctx.findings if f["kind"] in DECISIONS]
    subject = ctx.subject.get("name") or ctx.subject.get("title")
    pace = _pace_text(ctx)
    headline = (
        f"{subject}, {ctx.cycle['id']} as of {ctx.as_of}: {counted(len(ctx.okrs), 'OKR')}; "
        f"{pace}{counted(len(risks), 'risk')}, "
        f"{counted(len(drift), 'drifting check-in')}, "
        f"{counted(len(decisions), 'decision')} needed."
    )
    return {
        "headline": clip(headline, SHORT_MAX),
        "progress": progress[:MAX_STATEMENTS],
        "risks": risks[:MAX_STATEMENTS],
        "drift": drift[:MAX_STATEMENTS],
        "decisions_needed": decisions[:MAX_STATEMENTS],
    }


def _findings_by_okr(findings: list[dict[str, Any]]) -> dict[str, list[str]]:
    """OKR id -> ids of the findings that concern it."""
    about: dict[str, list[str]] = {}
    for f in findings:
        for r in f["records"]:
            if r["type"] == "okr":
                about.setdefault(r["id"], []).append(f["id"])
    return about


def _risks(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every finding that is neither drift nor a decision, one statement each, then the
    quality findings one statement per OKR."""
    quality = [f for f in findings if f["category"] == "quality"]
    return [
        _statement(f["reason"], [f["check_in"]], [f["id"]])
        for f in findings
        if f["kind"] not in (*DRIFT, *DECISIONS) and f["category"] != "quality"
    ] + _quality_risks(quality)


def on_pace(share: float, elapsed: float) -> bool:
    """Whether a key result `share` of the way from baseline to target is on pace `elapsed`
    (0..1) into its cycle: at least `ON_PACE_RATIO` of the way that share of the cycle asks."""
    return share >= ON_PACE_RATIO * elapsed - _EPSILON


def _pace_text(ctx: SummaryContext) -> str:
    """'N of M measured key results on pace; ', or nothing when no key result is measured or
    the cycle has no dates to measure the pace against."""
    elapsed = ctx.cycle.get("elapsed")
    measured = [
        kr["status"]["share"]
        for okr in ctx.okrs
        for kr in okr["key_results"]
        if kr["status"]["share"] is not None
    ]
    if not measured or elapsed is None:
        return ""
    paced = sum(1 for share in measured if on_pace(share, elapsed))
    return f"{paced} of {counted(len(measured), 'measured key result')} on pace; "


# Units written against the number ("31%"), as people write them; others follow a space.
ATTACHED_UNITS = ("%", "‰", "°")
# A unit that only says the number counts things: "7, target 2", not "7 count, target 2 count".
BARE_UNITS = ("count",)


def where_it_stands(kr: dict[str, Any]) -> str:
    """A key result's latest value against its target, in plain words: "at 31% of 100% (31% of
    the way)" while a rising one is on its way; a falling one (target below baseline) or one at
    or past its target names both numbers and says which way is better rather than "4.8 of
    4.1": "at 4.8 mi, target 4.1 mi (lower is better; 0% of the way)". A "count" is no unit to
    repeat: "at 7, target 2"."""
    value, target, baseline = kr["status"]["value"], kr["target"], kr["baseline"]
    share = kr["status"].get("share")
    unit = (kr["unit"] or "").strip()
    notes = [f"{share:.0%} of the way"] if share is not None else []
    if value is None or target is None:
        return f"at {_of(value, target, unit)}" + _noted(notes)
    lower = baseline is not None and target < baseline
    reached = value <= target if lower else value >= target
    if not lower and not reached:
        return f"at {_of(value, target, unit)}" + _noted(notes)
    said = (["lower is better"] if lower else []) + (
        ["target reached" if value == target else "target passed"] if reached else []
    )
    return f"at {_in(value, unit)}, target {_in(target, unit)}" + _noted(said + notes)


def _in(x: float | None, unit: str) -> str:
    """A number with its unit: "31%", "4.8 mi", "7" (a count)."""
    if not unit or unit.lower() in BARE_UNITS:
        return num(x)
    return f"{num(x)}{unit}" if unit in ATTACHED_UNITS else f"{num(x)} {unit}"


def _of(value: float | None, target: float | None, unit: str) -> str:
    """A value on its way to a target: "31% of 100%", "31 of 100 mi", "3 of 5" (a count)."""
    if unit in ATTACHED_UNITS and value is not None:
        return f"{_in(value, unit)} of {_in(target, unit)}"
    return f"{num(value)} of {_in(target, unit)}"


def _noted(notes: list[str]) -> str:
    return f" ({'; '.join(notes)})" if notes else ""


def _progress(okr: dict[str, Any], findings: list[str]) -> dict[str, Any] | None:
    """One line per OKR from its key results' latest values; None if nothing backs it."""
    parts, cited = [], []
    for kr in okr["key_results"]:
        s = kr["status"]
        # A percentage, like the share beside it: "confidence 0.9" next to "31%" reads as two
        # scales.
        confidence = f", confidence {s['confidence']:.0%}" if s["confidence"] is not None else ""
        parts.append(f"{kr['id']} {where_it_stands(kr)}{confidence}")
        cited.append(s["check_in"])
    if not any(cited) and okr["check_ins"]:
        cited.append(okr["check_ins"][-1]["id"])
    if not any(cited) and not findings:
        return None
    # Quoted as the report's reasons quote titles (which these statements sit beside): repr
    # would print a title's invisible marks as escape codes and switch quotes on apostrophes.
    text = f"{okr['id']} {quote(okr['title'])}: " + ("; ".join(parts) or "no key results") + "."
    return _statement(text, cited, [] if any(cited) else findings[:FINDINGS_CITED])


def _quality_risks(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One statement per OKR (or per finding without one) gathering its quality findings."""
    per_okr: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        per_okr.setdefault(f["okr"] or f["id"], []).append(f)
    return [
        _statement(
            f"{okr_id} is hard to score as written: " + "; ".join(f["reason"] for f in items),
            [],
            [f["id"] for f in items],
        )
        for okr_id, items in per_okr.items()
    ]


def _drift(finding: dict[str, Any]) -> dict[str, Any]:
    return _statement(
        f"{finding['reason'][0].upper()}{finding['reason'][1:]}.",
        [finding["check_in"]],
        [finding["id"]],
    )


def _decision(finding: dict[str, Any]) -> dict[str, Any]:
    ask = _ASK[finding["kind"]].format(
        okr=finding["okr"] or "the OKR", objective=finding["objective"] or "the objective"
    )
    return _statement(f"{ask}: {finding['reason']}.", [finding["check_in"]], [finding["id"]])
