"""The offline drafter: deterministic templates over the organization's own records.

The default when no LLM is configured. Suggestions take their key results from the objective's
KPIs (baseline and target as the strategy states them) and carry forward the team's unfinished
key results of the last cycle at their latest measured value; summaries are built from key-result
progress and findings. Every number and id comes from a record it cites, and the output says
that no LLM wrote it. Same inputs, same output.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignment.chat import Usage
from alignment.drafting.budget import Budget
from alignment.drafting.context import SuggestContext, SummaryContext, serves
from alignment.drafting.drafters import Attempt
from alignment.drafting.findings import kr_status
from alignment.drafting.gates import key_result_copies
from alignment.drafting.schemas import MAX_CITED, SHORT_MAX, TEXT_MAX, UNIT_MAX
from alignment.quality import activity_verb

NOTICE = (
    "Drafted offline from templates over this organization's own records (strategy, KPIs, team "
    "mission, past OKRs, check-ins and findings). No LLM wrote this text."
)
MODEL = "offline-templates"
VERSION = 1
# The templates are this module: its bytes are the "prompt" a draft records.
_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
MAX_KEY_RESULTS = 5
MAX_STATEMENTS = 15
PICK_WITHIN = 0.85  # "suggest": also take the runner-up objective when it fits nearly as well
MAX_KPI_KEY_RESULTS = 3  # key results taken from the objective's KPIs
TITLE_KPIS = 2  # KPIs a suggestion's title names
SIMILAR_CITED = 2  # other teams' similar OKRs a suggestion cites
FINDINGS_CITED = 3  # findings a progress line cites when no check-in backs it
# A key result is on pace when its share of the way is at most this far behind the share of
# the cycle elapsed.
ON_PACE_SLACK = 0.3


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def _clip(text: str, limit: int) -> str:
    """Long record text still fits the output schema's limits."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


class OfflineDrafter:
    kind = "offline"
    model = MODEL
    repairs = 0  # deterministic: a second try would say the same thing

    def budget_limit(self, org_id: str) -> int | None:
        return None  # spends no tokens

    def suggest(self, ctx: SuggestContext, budget: Budget) -> Attempt:
        started = time.perf_counter()
        chosen = ctx.objectives if ctx.mode == "given" else _pick(ctx)
        payload = {"suggestions": [_suggestion(ctx, o) for o in chosen]}
        return self._attempt("suggest_okrs", payload, started)

    def summarize(self, ctx: SummaryContext, budget: Budget) -> Attempt:
        started = time.perf_counter()
        return self._attempt("review_summary", _summary(ctx), started)

    def repair(
        self, kind: str, previous: Attempt, problems: list[dict[str, str]], budget: Budget
    ) -> Attempt:
        """Templates are deterministic: another try would produce the same text, so none is made.

        `repairs = 0` keeps the drafting loop from asking; if asked anyway, the answer is the
        previous attempt, which the gates then reject again with the same reasons.
        """
        return previous

    def _attempt(self, name: str, payload: dict[str, Any], started: float) -> Attempt:
        return Attempt(
            raw=json.dumps(payload),
            prompt={"id": f"offline/{name}", "version": VERSION, "hash": _HASH},
            usage=Usage(),
            latency_ms=round((time.perf_counter() - started) * 1000),
            model=MODEL,
            notice=NOTICE,
        )


def _pick(ctx: SuggestContext) -> list[dict[str, Any]]:
    ranked = ctx.objectives  # already ordered by team relevance
    best = ctx.relevance.get(ranked[0]["id"], 0.0)
    picked = [ranked[0]]
    if len(ranked) > 1 and ctx.relevance.get(ranked[1]["id"], 0.0) >= PICK_WITHIN * best:
        picked.append(ranked[1])
    return picked


# --- suggestions ------------------------------------------------------------------------------


def _suggestion(ctx: SuggestContext, objective: dict[str, Any]) -> dict[str, Any]:
    team, so = ctx.team, objective["id"]
    key_results: list[dict[str, Any]] = []
    kpis_used = _kpi_key_results(objective, key_results)
    forwarded = _carry_forward(ctx, so, key_results)
    left_out = _drop_copies(ctx, key_results)
    if len(key_results) < 2:
        _midpoint(objective, key_results, kpis_used)
        left_out += _drop_copies(ctx, key_results)
    # A carried key result left out as a copy is neither cited nor named as carried forward.
    forwarded = [f for f in forwarded if any(kr is f.key_result for kr in key_results)]
    carried = [f.named for f in forwarded]
    carried_evidence = [e for f in forwarded for e in f.evidence]
    similar = [s for s in ctx.similar_okrs if s["near_objective"] == so][:SIMILAR_CITED]
    description = f"How {team['name']} serves {so} {objective['title']!r} in {ctx.cycle['id']}." + (
        f" Team mission: {team['mission']}" if team.get("mission") else ""
    )
    rationale = _rationale(objective, kpis_used, carried, similar) + _left_out_text(left_out)
    for kr in key_results:
        kr["title"], kr["unit"] = _clip(kr["title"], SHORT_MAX), _clip(kr["unit"], UNIT_MAX)
    return {
        "title": _clip(_title(team, objective, kpis_used), SHORT_MAX),
        "description": _clip(description, TEXT_MAX),
        "key_results": key_results[:MAX_KEY_RESULTS],
        "objective_ids": [so],
        "kpi_ids": kpis_used,
        "evidence": _evidence(ctx, so, carried_evidence, similar)[:MAX_CITED],
        "rationale": _clip(rationale, TEXT_MAX),
    }


def _evidence(
    ctx: SuggestContext,
    so: str,
    carried: list[dict[str, str]],
    similar: list[dict[str, Any]],
) -> list[dict[str, str]]:
    """The records a suggestion cites: the team's mission, what it carries forward, the team's
    OKRs already serving the objective this cycle, and other teams' similar OKRs."""
    team = ctx.team
    evidence = (
        [{"kind": "team", "id": team["id"], "why": "team mission"}] if team.get("mission") else []
    )
    evidence += carried
    evidence += [
        {"kind": "okr", "id": okr["id"], "why": "team OKR already serving it this cycle"}
        for okr in ctx.team_okrs
        if okr["cycle"] == ctx.cycle["id"] and so in serves(okr)
    ]
    evidence += [
        {
            "kind": "okr",
            "id": s["id"],
            "why": f"similar OKR of team {s['team']} (cosine {s['similarity']:.2f})",
        }
        for s in similar
    ]
    return evidence


def _left_out_text(left_out: list[dict[str, Any]]) -> str:
    if not left_out:
        return ""
    copied = ", ".join(f"{c['key_result']} ({c['team']}, {c['cycle']})" for c in left_out)
    return f" Left out key results the organization already has: {copied}."


def _drop_copies(ctx: SuggestContext, key_results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Remove (in place) key results that nearly copy one the organization already has, as the
    gate judges them; return what they copied. When fewer than two would remain, nothing is
    removed: the gate then names each copy, which says more than "too few key results"."""
    if ctx.vectors is None or not key_results:
        return []
    copies = key_result_copies(ctx.vectors.session, ctx, key_results)
    kept = [kr for kr, c in zip(key_results, copies, strict=True) if c is None]
    if len(kept) < 2:
        return []
    key_results[:] = kept
    return [c for c in copies if c is not None]


def _title(team: dict[str, Any], objective: dict[str, Any], kpis_used: list[str]) -> str:
    """What the team changes for the objective, never the objective's own title (a gate refuses
    that): the KPIs it moves, or its share of the objective by id."""
    names = {k["id"]: k["name"] for k in objective["kpis"]}
    moved = [names[k] for k in kpis_used[:TITLE_KPIS]]
    if moved:
        lowered = [m[:1].lower() + m[1:] if m[1:2].islower() else m for m in moved]
        return f"{team['name']} moves {' and '.join(lowered)} toward the {objective['id']} targets"
    return f"{team['name']} delivers its share of {objective['id']} this cycle"


def _kpi_key_results(objective: dict[str, Any], key_results: list[dict[str, Any]]) -> list[str]:
    """Append a key result for each of the objective's first KPIs that states a change (a
    baseline and a different target) in an outcome, not an activity; return their ids."""
    used = []
    for kpi in objective["kpis"]:
        if (
            kpi["baseline"] is None
            or kpi["target"] is None
            or kpi["baseline"] == kpi["target"]
            or activity_verb(kpi["name"])
        ):
            continue
        key_results.append(
            {
                "title": kpi["name"],
                "unit": kpi["unit"] or "count",
                "baseline": kpi["baseline"],
                "target": kpi["target"],
                "kind": kpi["kind"] or "lag",
            }
        )
        used.append(kpi["id"])
        if len(used) == MAX_KPI_KEY_RESULTS:
            break
    return used


def _reached(kr: dict[str, Any], value: float) -> bool:
    """Whether `value` is at or past the key result's target, in the direction it moves."""
    if kr["baseline"] is None or kr["baseline"] == kr["target"]:
        return value == kr["target"]
    rising = kr["target"] > kr["baseline"]
    return value >= kr["target"] if rising else value <= kr["target"]


@dataclass(frozen=True)
class _Forwarded:
    """A key result carried forward: the one appended, how the rationale names it, its citations."""

    key_result: dict[str, Any]
    named: str
    evidence: list[dict[str, str]]


def _carry_forward(
    ctx: SuggestContext, so: str, key_results: list[dict[str, Any]]
) -> list[_Forwarded]:
    """Append last cycle's unfinished key results of this team's OKRs that served the
    objective (from their latest measured value); return each with its citations."""
    forwarded = []
    titles = {k["title"].lower() for k in key_results}
    for okr in ctx.team_okrs:
        if okr["cycle"] != ctx.previous_cycle or so not in serves(okr):
            continue
        for kr in okr["key_results"]:
            status = kr_status(kr, okr["check_ins"])
            value = status["value"]
            if (
                len(key_results) >= MAX_KEY_RESULTS
                or kr["target"] is None
                or value is None
                or _reached(kr, value)
                or activity_verb(kr["title"])
                or kr["title"].lower() in titles
            ):
                continue
            appended = {
                "title": kr["title"],
                "unit": kr["unit"] or "count",
                "baseline": value,
                "target": kr["target"],
                "kind": kr["kind"] or "lead",
            }
            key_results.append(appended)
            titles.add(kr["title"].lower())
            evidence = [{"kind": "key_result", "id": kr["id"], "why": "unfinished last cycle"}]
            if status["check_in"]:
                evidence.append(
                    {"kind": "check_in", "id": status["check_in"], "why": "latest measured value"}
                )
            named = f"{kr['id']} ({_num(value)} of {_num(kr['target'])})"
            forwarded.append(_Forwarded(appended, named, evidence))
    return forwarded


def _midpoint(
    objective: dict[str, Any], key_results: list[dict[str, Any]], used: list[str]
) -> None:
    """With a single usable KPI and nothing to carry forward: a half-way milestone on it."""
    kpi = next((k for k in objective["kpis"] if k["id"] in used), None)
    if kpi is None:
        return
    half = round(kpi["baseline"] + (kpi["target"] - kpi["baseline"]) / 2, 2)
    key_results.append(
        {
            "title": f"{kpi['name']}, half-way milestone",
            "unit": kpi["unit"] or "count",
            "baseline": kpi["baseline"],
            "target": half,
            "kind": "lead",
        }
    )


def _rationale(
    objective: dict[str, Any], kpis: list[str], carried: list[str], similar: list[dict[str, Any]]
) -> str:
    parts = [f"Serves {objective['id']}."]
    if kpis:
        parts.append(
            f"Key results follow its KPIs {', '.join(kpis)} with the strategy's baselines and "
            "targets; adjust the targets to what one cycle can reach."
        )
    if carried:
        parts.append(f"Carries forward last cycle's unfinished {', '.join(carried)}.")
    if similar:
        others = ", ".join(f"{s['id']} ({s['team']})" for s in similar)
        parts.append(f"Related work in other teams: {others}; coordinate rather than duplicate.")
    return " ".join(parts)


# --- summaries --------------------------------------------------------------------------------


def _statement(text: str, check_ins: list[str | None], findings: list[str]) -> dict[str, Any]:
    return {
        "text": _clip(text, TEXT_MAX),
        "check_ins": list(dict.fromkeys(c for c in check_ins if c))[:MAX_CITED],
        "findings": list(dict.fromkeys(findings))[:MAX_CITED],
    }


DRIFT = ("checkin_drift",)
# The findings a summary turns into a decision someone must take, and how it asks for it.
_ASK = {
    "orphan_okr": "Decide whether {okr} continues or is rewritten to serve the strategy",
    "unsupported_declared_link": "Confirm or drop {okr}'s declared link to {objective}",
    "suggested_link": "Confirm the link from {okr} to {objective}",
    "uncovered_objective": "Decide which team takes on {objective}",
    "duplicate_effort": "Decide which team owns the shared work",
    "conflicting_okrs": "Settle the target both teams pull in opposite directions",
}
DECISIONS = tuple(_ASK)


def _summary(ctx: SummaryContext) -> dict[str, Any]:
    about = _findings_by_okr(ctx.findings)
    progress = [p for okr in ctx.okrs if (p := _progress(okr, about.get(okr["id"], [])))]
    risks = _risks(ctx.findings)
    drift = [_drift(f) for f in ctx.findings if f["kind"] in DRIFT]
    decisions = [_decision(f) for f in ctx.findings if f["kind"] in DECISIONS]
    subject = ctx.subject.get("name") or ctx.subject.get("title")
    on_pace, measured = _on_pace(ctx)
    headline = (
        f"{subject}, {ctx.cycle['id']} as of {ctx.as_of}: {len(ctx.okrs)} OKR(s); {on_pace} of "
        f"{measured} measured key results on pace; {len(risks)} risk(s), {len(drift)} "
        f"drifting check-in(s), {len(decisions)} decision(s) needed."
    )
    return {
        "headline": _clip(headline, SHORT_MAX),
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


def _on_pace(ctx: SummaryContext) -> tuple[int, int]:
    """(key results on pace, key results measured) over the summary's OKRs."""
    measured = [
        kr["status"]["share"]
        for okr in ctx.okrs
        for kr in okr["key_results"]
        if kr["status"]["share"] is not None
    ]
    pace = (ctx.cycle.get("elapsed") or 0.0) - ON_PACE_SLACK
    return sum(1 for share in measured if share >= pace), len(measured)


def _progress(okr: dict[str, Any], findings: list[str]) -> dict[str, Any] | None:
    """One line per OKR from its key results' latest values; None if nothing backs it."""
    parts, cited = [], []
    for kr in okr["key_results"]:
        s = kr["status"]
        unit = f" {kr['unit']}" if kr["unit"] else ""
        share = f" ({s['share']:.0%} of the way)" if s["share"] is not None else ""
        confidence = f", confidence {s['confidence']:.1f}" if s["confidence"] is not None else ""
        parts.append(
            f"{kr['id']} at {_num(s['value'])} of {_num(kr['target'])}{unit}{share}{confidence}"
        )
        cited.append(s["check_in"])
    if not any(cited) and okr["check_ins"]:
        cited.append(okr["check_ins"][-1]["id"])
    if not any(cited) and not findings:
        return None
    text = f"{okr['id']} {okr['title']!r}: " + ("; ".join(parts) or "no key results") + "."
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
