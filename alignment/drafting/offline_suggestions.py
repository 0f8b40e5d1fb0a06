"""Offline suggestions: one OKR per chosen objective, its key results from the objective's KPIs
and the team's unfinished key results of the last cycle, every number and id from a record it
cites.

Never a copy: a key result that would nearly copy one the organization already has (as the
`not_duplicate` gate judges) gives way to another grounded one (the objective's further KPIs, a
milestone), no key result repeats across the suggestions of one draft, and a suggestion with fewer
than two key results of its own, or one restating an existing OKR, is left out. With nothing new
to suggest at all, `NothingToSuggest` says so before anything is stored: a draft the gates would
reject helps nobody.

Lead and lag as the records say: a key result on a KPI's own measure (the KPI, or a half-way
milestone on it) keeps the KPI's kind, so a lag KPI never turns into a "lead" key result that would
hide the report's `lead_lag_gap`. Drivers come only from records (a lead KPI of the objective, a
lead key result carried forward); without one the rationale says that no lead driver is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alignment.drafting.context import SuggestContext, serves
from alignment.drafting.findings import kr_status
from alignment.drafting.gates import DUPLICATE_COSINE, key_result_copies
from alignment.drafting.offline_text import clip, num
from alignment.drafting.schemas import MAX_CITED, SHORT_MAX, TEXT_MAX, UNIT_MAX
from alignment.drafting.similar import draft_text
from alignment.errors import DomainError
from alignment.quality import activity_verb, quote

MAX_KEY_RESULTS = 5
PICK_WITHIN = 0.85  # "suggest": also take the runner-up objective when it fits nearly as well
MAX_KPI_KEY_RESULTS = 3  # key results taken from the objective's KPIs
TITLE_KPIS = 2  # KPIs a suggestion's title names
SIMILAR_CITED = 2  # other teams' similar OKRs a suggestion cites
MILESTONE = ", half-way milestone"  # a key result's title suffix: a milestone on a KPI


MIN_KEY_RESULTS = 2  # the output schema's least: fewer, and the suggestion is left out
_KPI = "_kpi"  # a drafted key result's KPI id, dropped before output


class NothingToSuggest(DomainError):
    """No objective asked about has a suggestion the records ground that is new. A 409 where
    the caller waits (the CLI), but no `Conflict`: a drafting job retries those. A drafting job
    ends `succeeded` with the decline as its result (`declined`): it is an answer, not a
    failure, and the same records give the same answer."""

    status = 409
    code = "nothing_to_suggest"

    def __init__(
        self,
        message: str,
        *,
        team: str = "",
        cycle: str = "",
        reasons: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.team, self.cycle = team, cycle
        self.reasons = reasons or []  # (objective id, why it has no suggestion)

    def declined(self) -> dict[str, Any]:
        """The decline as a drafting job's result states it."""
        return {
            "declined": self.code,
            "team": self.team,
            "cycle": self.cycle,
            "objectives": [so for so, _ in self.reasons],
            "reasons": [{"objective": so, "reason": why} for so, why in self.reasons],
            "message": self.message,
        }


def suggestions(ctx: SuggestContext) -> dict[str, Any]:
    chosen = ctx.objectives if ctx.mode == "given" else _pick(ctx)
    taken: set[str] = set()  # key result titles (lowercased) earlier suggestions hold
    made: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []  # (objective id, why it has no suggestion)
    for objective in chosen:
        suggestion = _suggestion(ctx, objective, taken)
        if isinstance(suggestion, str):
            skipped.append((objective["id"], suggestion))
        else:
            made.append(suggestion)
    if not made:
        raise NothingToSuggest(
            _nothing_text(ctx, skipped),
            team=ctx.team["id"],
            cycle=ctx.cycle["id"],
            reasons=sorted(skipped),
        )
    if skipped:
        made[0]["rationale"] = clip(made[0]["rationale"] + _skipped_text(skipped), TEXT_MAX)
    return {"suggestions": made}


def _nothing_text(ctx: SuggestContext, skipped: list[tuple[str, str]]) -> str:
    ids = sorted(so for so, _ in skipped)
    reasons = "; ".join(f"for {so}, {why}" for so, why in sorted(skipped))
    return (
        f"nothing new to suggest for {' and '.join(ids)} in {ctx.cycle['id']} for team "
        f"{ctx.team['id']}: {reasons}; a new OKR needs key results of its own, which the team "
        "(or an LLM drafter) can propose"
    )


def _skipped_text(skipped: list[tuple[str, str]]) -> str:
    return "".join(f" Nothing new for {so}: {why}." for so, why in skipped)


def _held(copied: list[dict[str, Any]]) -> str:
    """The existing key results left-out ones copied, by id: "O-30-KR1, O-30-KR2"."""
    held = sorted({c["key_result"] for c in copied})
    return ", ".join(held[:8]) + (", ..." if len(held) > 8 else "")


def _too_few_text(
    key_results: list[dict[str, Any]],
    copied: list[dict[str, Any]],
    previous: str | None,
    *,
    repeated: int,
) -> str:
    """Why a suggestion is left out for lack of key results, as the records say: too few left
    once copies (named) and repeats of the draft's earlier suggestions are taken out."""
    again = (
        f"; {repeated} more {'is' if repeated == 1 else 'are'} in this draft's suggestion for "
        "another objective"
        if repeated
        else ""
    )
    grounded = (
        f"the objective's KPIs, the team's unfinished key results of {previous}"
        if previous
        else "the objective's KPIs"
    )
    if not key_results:
        if not copied:
            return f"the records ground no key result ({grounded}) of its own{again}"
        return (
            f"every key result the records ground ({grounded}) already exists in the "
            f"organization ({_held(copied)}){again}"
        )
    new = ", ".join(quote(kr["title"]) for kr in key_results)
    said = f"only one new key result is left ({new}), and an OKR needs {MIN_KEY_RESULTS}"
    if copied:
        said += f"; the others ({grounded}) already exist in the organization ({_held(copied)})"
    return said + again


def _pick(ctx: SuggestContext) -> list[dict[str, Any]]:
    ranked = ctx.objectives  # already ordered by team relevance
    best = ctx.relevance.get(ranked[0]["id"], 0.0)
    picked = [ranked[0]]
    if len(ranked) > 1 and ctx.relevance.get(ranked[1]["id"], 0.0) >= PICK_WITHIN * best:
        picked.append(ranked[1])
    return picked


def _suggestion(
    ctx: SuggestContext, objective: dict[str, Any], taken: set[str]
) -> dict[str, Any] | str:
    """The objective's suggestion, or why there is none: fewer than two key results of its own
    (neither copies nor repeats of `taken`) can be grounded, or it would restate an existing
    OKR."""
    team, so = ctx.team, objective["id"]
    key_results: list[dict[str, Any]] = []
    spare = _kpi_key_results(objective, key_results)
    forwarded = _carry_forward(ctx, so, key_results)
    grounded = len(key_results)
    key_results[:] = [kr for kr in key_results if kr["title"].lower() not in taken]
    repeated = grounded - len(key_results)
    left_out = _drop_copies(ctx, key_results)
    # The objective's further KPIs stand in for key results that copied or repeated: the same
    # kind of record, grounded the same way.
    while spare and len(key_results) < grounded:
        extra = [_kpi_key_result(spare.pop(0))]
        if extra[0]["title"].lower() in taken:
            continue
        left_out += (stand_in_copies := _drop_copies(ctx, extra))
        if not stand_in_copies:
            key_results.append(extra[0])
    if len(key_results) < MIN_KEY_RESULTS:
        _midpoint(objective, key_results)
        left_out += _drop_copies(ctx, key_results)
    if len(key_results) < MIN_KEY_RESULTS:
        return _too_few_text(key_results, left_out, ctx.previous_cycle, repeated=repeated)
    kpis_used = [kr[_KPI] for kr in key_results if kr.get(_KPI)]
    # A carried key result left out as a copy is neither cited nor named as carried forward.
    forwarded = [f for f in forwarded if any(kr is f.key_result for kr in key_results)]
    carried = [f.named for f in forwarded]
    carried_evidence = [e for f in forwarded for e in f.evidence]
    similar = [s for s in ctx.similar_okrs if s["near_objective"] == so][:SIMILAR_CITED]
    # The description becomes the approved OKR's: the objective's title as typed, in the quotes
    # the report uses, never repr's escape codes.
    serves_what = f"{so} {quote(objective['title'])}"
    description = f"How {team['name']} serves {serves_what} in {ctx.cycle['id']}."
    if team.get("mission"):
        description += f" Team mission: {team['mission']}"
    rationale = (
        _rationale(objective, kpis_used, carried, similar, ctx.previous_cycle)
        + _left_out_text(left_out)
        + _no_driver_text(objective, key_results, ctx.previous_cycle)
    )
    for kr in key_results:
        kr.pop(_KPI, None)
        kr["title"], kr["unit"] = clip(kr["title"], SHORT_MAX), clip(kr["unit"], UNIT_MAX)
    shown = key_results[:MAX_KEY_RESULTS]
    title = clip(_title(team, objective, kpis_used), SHORT_MAX)
    restated = _restated_okr(ctx, title, description, shown)
    if restated is not None:
        okr_id, cosine = restated
        return f"the suggestion would restate OKR {okr_id} (cosine {cosine:.2f})"
    taken.update(kr["title"].lower() for kr in shown)
    return {
        "title": title,
        "description": clip(description, TEXT_MAX),
        "key_results": shown,
        "objective_ids": [so],
        "kpi_ids": kpis_used,
        "evidence": _evidence(ctx, so, carried_evidence, similar)[:MAX_CITED],
        "rationale": clip(rationale, TEXT_MAX),
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
    gate judges them; return what they copied. Always removed: kept, the gate would fail the
    whole draft."""
    if ctx.vectors is None or not key_results:
        return []
    copies = key_result_copies(ctx.vectors.session, ctx, key_results)
    key_results[:] = [kr for kr, c in zip(key_results, copies, strict=True) if c is None]
    return [c for c in copies if c is not None]


def _restated_okr(
    ctx: SuggestContext, title: str, description: str, key_results: list[dict[str, Any]]
) -> tuple[str, float] | None:
    """The existing OKR the suggestion as a whole restates, as the gate judges it, and the
    cosine; None when it restates none."""
    if ctx.vectors is None:
        return None
    text = draft_text(title, description, [kr["title"] for kr in key_results])
    hits = ctx.vectors.nearest_okrs(text, limit=1, draft=True)
    return hits[0] if hits and hits[0][1] >= DUPLICATE_COSINE else None


def _no_driver_text(
    objective: dict[str, Any], key_results: list[dict[str, Any]], previous: str | None
) -> str:
    """Lag key results and no lead one: say so, rather than invent a driver no record measures."""
    shown = key_results[:MAX_KEY_RESULTS]
    if not shown or any(kr["kind"] == "lead" for kr in shown):
        return ""
    named = [kr["title"] for kr in shown if not kr["title"].endswith(MILESTONE)]
    named = named or [kr["title"] for kr in shown]
    return (
        f" No lead key result: neither {objective['id']}'s KPIs nor the team's unfinished key "
        f"results of {previous or 'the previous cycle'} offer a lead measure. Add a driver the "
        f"team moves early that shows whether {' and '.join(quote(t) for t in named)} will follow."
    )


def _title(team: dict[str, Any], objective: dict[str, Any], kpis_used: list[str]) -> str:
    """What the team changes for the objective, never the objective's own title (a gate refuses
    that): the KPIs it moves, or its share of the objective by id."""
    names = {k["id"]: k["name"] for k in objective["kpis"]}
    moved = [names[k] for k in kpis_used[:TITLE_KPIS]]
    if moved:
        lowered = [m[:1].lower() + m[1:] if m[1:2].islower() else m for m in moved]
        return f"{team['name']} moves {' and '.join(lowered)} toward the {objective['id']} targets"
    return f"{team['name']} delivers its share of {objective['id']} this cycle"


def _kpi_key_results(
    objective: dict[str, Any], key_results: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Append a key result for each of the objective's first KPIs that states a change (a
    baseline and a different target) in an outcome, not an activity; return the usable KPIs
    not taken (stand-ins for any that copy). When those are all lag and a later usable KPI is
    lead, it takes the last place: a mix of lead and lag where the strategy offers one."""
    usable = [
        kpi
        for kpi in objective["kpis"]
        if kpi["baseline"] is not None
        and kpi["target"] is not None
        and kpi["baseline"] != kpi["target"]
        and not activity_verb(kpi["name"])
    ]
    chosen = usable[:MAX_KPI_KEY_RESULTS]
    if chosen and all(k["kind"] != "lead" for k in chosen):
        driver = next((k for k in usable[MAX_KPI_KEY_RESULTS:] if k["kind"] == "lead"), None)
        if driver is not None:
            chosen[-1] = driver
    key_results.extend(_kpi_key_result(kpi) for kpi in chosen)
    return [kpi for kpi in usable if kpi not in chosen]


def _kpi_key_result(kpi: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": kpi["name"],
        "unit": kpi["unit"] or "count",
        "baseline": kpi["baseline"],
        "target": kpi["target"],
        "kind": kpi["kind"] or "lag",
        _KPI: kpi["id"],
    }


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
    """Append the previous cycle's unfinished key results of this team's OKRs that served the
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
                # No recorded kind is no driver: called lead, it would hide the lead/lag gap
                # the rationale then names.
                "kind": kr["kind"] or "lag",
            }
            key_results.append(appended)
            titles.add(kr["title"].lower())
            evidence = [
                {"kind": "key_result", "id": kr["id"], "why": f"unfinished in {okr['cycle']}"}
            ]
            if status["check_in"]:
                evidence.append(
                    {"kind": "check_in", "id": status["check_in"], "why": "latest measured value"}
                )
            named = f"{kr['id']} ({_standing(kr, value)})"
            forwarded.append(_Forwarded(appended, named, evidence))
    return forwarded


def _standing(kr: dict[str, Any], value: float) -> str:
    """A carried key result's latest value against its target: "48 of 60", or for one whose
    target is below its baseline "6.1, target 4, lower is better" ("6.1 of 4" reads as a share)."""
    if kr["baseline"] is not None and kr["target"] < kr["baseline"]:
        return f"{num(value)}, target {num(kr['target'])}, lower is better"
    return f"{num(value)} of {num(kr['target'])}"


def _midpoint(objective: dict[str, Any], key_results: list[dict[str, Any]]) -> None:
    """With a single key result and nothing else: a half-way milestone on it, the KPI's when
    one is left, else the carried key result's (from its latest value). It measures the same
    thing, so it has the same kind: a milestone of a lag outcome is lag."""
    used = {kr.get(_KPI) for kr in key_results}
    kpi = next((k for k in objective["kpis"] if k["id"] in used), None)
    if kpi is not None:
        name, unit, baseline, target, kind = (
            kpi["name"],
            kpi["unit"],
            kpi["baseline"],
            kpi["target"],
            kpi["kind"],
        )
    elif len(key_results) == 1 and key_results[0]["baseline"] is not None:
        only = key_results[0]
        name, unit, baseline, target, kind = (
            only["title"],
            only["unit"],
            only["baseline"],
            only["target"],
            only["kind"],
        )
    else:
        return
    half = round(baseline + (target - baseline) / 2, 2)
    key_results.append(
        {
            "title": f"{name}{MILESTONE}",
            "unit": unit or "count",
            "baseline": baseline,
            "target": half,
            "kind": kind or "lag",
        }
    )


def _rationale(
    objective: dict[str, Any],
    kpis: list[str],
    carried: list[str],
    similar: list[dict[str, Any]],
    previous: str | None,
) -> str:
    parts = [f"Serves {objective['id']}."]
    if kpis:
        parts.append(
            f"Key results follow its KPIs {', '.join(kpis)} with the strategy's baselines and "
            "targets; adjust the targets to what one cycle can reach."
        )
    if carried:
        parts.append(f"Carries forward {', '.join(carried)}, unfinished in {previous}.")
    if similar:
        others = ", ".join(f"{s['id']} ({s['team']})" for s in similar)
        parts.append(f"Related work in other teams: {others}; coordinate rather than duplicate.")
    return " ".join(parts)
