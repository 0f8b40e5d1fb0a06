"""Gates a drafted output must pass before it is stored as a draft a person can approve.

Suggestions: schema valid; OKR quality rules pass (`alignment.quality`); each suggested OKR
scores `aligned` with every objective it cites (`alignment.scoring.preview.preview_links`, nothing
stored); no suggestion is a near-duplicate of an existing OKR, and none of its key results nearly
copies one of the organization's key results (pgvector cosine; the team's own key results of
other cycles may be carried forward); no OKR title copies the title of an objective it cites;
every citation names a record that exists. Summaries: schema valid; every statement cites
check-ins or findings of its own scope, and nothing else; the summary is grounded (a progress
statement when the scope's OKRs have check-ins or findings, and a cited statement under the
headline when the scope has anything to cite). Every gate runs (unless the schema
already failed), so a repair attempt hears about every problem at once, by JSON path.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from alignment.bundle.validate import json_path
from alignment.drafting import sources
from alignment.drafting.context import SuggestContext, SummaryContext
from alignment.drafting.schemas import OUTPUT_SCHEMAS, ReviewSummary, SuggestionSet
from alignment.drafting.similar import draft_text
from alignment.embedder import Embedder
from alignment.errors import field_message
from alignment.quality import KrInput, OkrInput, QualityConfig, check_okr, quote
from alignment.scoring.documents import OkrDoc
from alignment.scoring.preview import preview_links

# Cosine of whole OKR texts (title, description, key results) at or above which a suggestion
# restates an existing OKR. Measured with MiniLM: distinct OKRs of different teams top out at 0.74
# in the sample and dev organizations (the planted duplicate efforts, which share one key result),
# and a legitimate new OKR for the same objective scored 0.76 against its team's current one, so
# the threshold sits well above both: it refuses restatements, not related work.
DUPLICATE_COSINE = 0.9
# Jaccard overlap of title words at or above which an OKR title restates an objective's title.
TITLE_OVERLAP = 0.8
SUGGESTION_GATES = (
    "schema", "quality", "aligned", "not_duplicate", "title_not_objective", "citations",
)  # fmt: skip


@dataclass
class Gate:
    name: str
    passed: bool
    # Each {path, message}; a not_duplicate problem also names what it matched (`_matched`).
    problems: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def parse_output(
    kind: str, raw: str, stop_reason: str | None = None
) -> tuple[BaseModel | None, Gate]:
    model, _ = OUTPUT_SCHEMAS[kind]
    # A reply the model stopped short (cut off, filtered, refused: `stop_reason`) fails on why
    # it stopped, not on the half-written JSON that follows from it.
    if stop_reason:
        return None, Gate("schema", False, [_problem("$", stop_reason)])
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, TypeError) as exc:
        return None, Gate("schema", False, [_problem("$", f"not valid JSON: {exc}")])
    try:
        return model.model_validate(data), Gate("schema", True)
    except ValidationError as exc:
        problems = [_problem(json_path(e["loc"]), field_message(e)) for e in exc.errors()]
        return None, Gate("schema", False, problems)


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which JSON has not, and PostgreSQL's jsonb refuses.
    raise ValueError(f"{name} is not a JSON number; give a finite number or null")


def problems_of(gates: list[Gate]) -> list[dict[str, str]]:
    return [{"gate": g.name, **p} for g in gates for p in g.problems]


def problems_for_repair(gates: list[Gate]) -> list[dict[str, str]]:
    """What the repair prompt documents as its input (prompts/repair): the stored problems'
    further fields (a repeated OKR's title, its team) are for people, not more text for the
    model."""
    return [
        {"gate": g.name, "path": p.get("path", "$"), "message": p.get("message", "")}
        for g in gates
        for p in g.problems
    ]


def gate_suggestions(
    session: Session,
    ctx: SuggestContext,
    output: SuggestionSet,
    *,
    embedder: Embedder,
    quality: QualityConfig | None = None,
) -> list[Gate]:
    assert ctx.vectors is not None
    return [
        Gate("schema", True),
        _quality(output, quality or QualityConfig()),
        _aligned(session, ctx.org_id, output, embedder),
        _not_duplicate(session, ctx, output),
        _title_not_objective(ctx, output),
        _suggestion_citations(session, ctx, output),
    ]


def _okr_input(i: int, s: Any) -> OkrInput:
    return OkrInput(
        f"suggestions[{i}]",
        s.title,
        s.description,
        tuple(
            KrInput(f"key_results[{j}]", k.title, k.unit, k.baseline, k.target, k.kind)
            for j, k in enumerate(s.key_results)
        ),
    )


def _quality(output: SuggestionSet, config: QualityConfig) -> Gate:
    problems = []
    for i, s in enumerate(output.suggestions):
        for p in check_okr(_okr_input(i, s), config):
            path = f"$.{p.okr_id}" + (f".{p.key_result_id}" if p.key_result_id else "")
            problems.append(_problem(path, f"{p.rule}: {p.message}"))
    return Gate("quality", not problems, problems)


def _aligned(session: Session, org_id: str, output: SuggestionSet, embedder: Embedder) -> Gate:
    problems, scores = [], []
    for i, s in enumerate(output.suggestions):
        ranked = preview_links(
            session,
            org_id,
            title=s.title,
            description=s.description,
            key_results=[k.title for k in s.key_results],
            embedder=embedder,
        )
        by_id = {link.objective_id: link for link in ranked}
        cited = {}
        for objective_id in s.objective_ids:
            link = by_id.get(objective_id)
            cited[objective_id] = link.score if link else None
            if link is None or link.label != "aligned":
                best = ranked[0] if ranked else None
                verdict = f"{link.label!r} ({link.score:.2f})" if link else "nothing"
                hint = (
                    f"; it fits {best.objective_id} better ({best.score:.2f})"
                    if best and best.objective_id != objective_id
                    else ""
                )
                problems.append(
                    _problem(
                        f"$.suggestions[{i}].objective_ids",
                        f"cites {objective_id} but scores {verdict} against it{hint}",
                    )
                )
        scores.append(cited)
    return Gate("aligned", not problems, problems, {"scores": scores})


def _not_duplicate(session: Session, ctx: SuggestContext, output: SuggestionSet) -> Gate:
    """No suggestion restates an existing OKR, and no key result nearly copies an existing one:
    the report's duplicate-effort rule (cosine >= `duplicate_similarity`, or >=
    `duplicate_similarity_same_numbers` with the same unit and target)."""
    from alignment.report.build import effective_config

    vectors = ctx.vectors
    assert vectors is not None
    config = effective_config(session, ctx.org_id)
    existing = sources.key_results_by_hash(session, ctx.org_id)
    docs = {d.id: d for d in vectors.docs.okrs}
    problems, nearest, nearest_krs = [], [], []
    for i, s in enumerate(output.suggestions):
        text = draft_text(s.title, s.description, [k.title for k in s.key_results])
        hits = vectors.nearest_okrs(text, limit=1, draft=True)
        nearest.append({"okr": hits[0][0], "cosine": hits[0][1]} if hits else None)
        if hits and hits[0][1] >= DUPLICATE_COSINE:
            problem = _problem(
                f"$.suggestions[{i}]",
                f"near-duplicate of existing OKR {hits[0][0]} (cosine {hits[0][1]:.2f} "
                f">= {DUPLICATE_COSINE})",
            )
            problems.append({**problem, **_matched(docs, hits[0][0])})
        per_kr = []
        titles = [k.title for k in s.key_results]
        for j, (kr, vector) in enumerate(zip(s.key_results, vectors.preview(titles), strict=True)):
            copied = _copied_key_result(session, ctx, kr.unit, kr.target, vector, existing, config)
            per_kr.append(copied)
            if copied and copied["copies"]:
                problem = _problem(
                    f"$.suggestions[{i}].key_results[{j}]",
                    f"nearly copies key result {copied['key_result']} of OKR {copied['okr']} "
                    f"(team {copied['team']}, {copied['cycle']}; cosine "
                    f"{copied['cosine']:.2f}{copied['why']}); draft a key result of its own",
                )
                matched = _matched(docs, copied["okr"], copied["key_result"])
                problems.append({**problem, **matched})
        nearest_krs.append(per_kr)
    details = {"nearest": nearest, "nearest_key_results": nearest_krs}
    return Gate("not_duplicate", not problems, problems, details)


def _matched(
    docs: dict[str, OkrDoc], okr_id: str, key_result_id: str | None = None
) -> dict[str, str]:
    """What a suggestion repeated, by id and title, beside the problem's message: the team page
    names it to people ("nearly repeats O-12 'Cut fuel cost per stop'"), which the message,
    written for the repair attempt, does not do in their words. The title is the one matched,
    kept as it was then."""
    doc = docs.get(okr_id)
    found = {"okr": okr_id}
    if doc is not None:
        found["okr_title"] = doc.title
        if doc.team:
            found["team"] = doc.team
    if key_result_id is not None:
        found["key_result"] = key_result_id
        titles = {k.id: k.title for k in doc.key_results} if doc is not None else {}
        if key_result_id in titles:
            found["key_result_title"] = titles[key_result_id]
    return found


def key_result_copies(
    session: Session, ctx: SuggestContext, key_results: list[dict[str, Any]]
) -> list[dict[str, Any] | None]:
    """For each drafted key result (title, unit, target), the existing one it would nearly copy
    (as the gate judges), or None: lets a drafter leave such key results out up front."""
    from alignment.report.build import effective_config

    assert ctx.vectors is not None
    if not key_results:
        return []
    config = effective_config(session, ctx.org_id)
    existing = sources.key_results_by_hash(session, ctx.org_id)
    vectors = ctx.vectors.preview([k["title"] for k in key_results])
    out = []
    for kr, vector in zip(key_results, vectors, strict=True):
        found = _copied_key_result(session, ctx, kr["unit"], kr["target"], vector, existing, config)
        out.append(found if found and found["copies"] else None)
    return out


def _copied_key_result(
    session: Session,
    ctx: SuggestContext,
    unit: str | None,
    target: float | None,
    vector: Any,
    existing: dict[str, list[dict[str, Any]]],
    config: Any,
) -> dict[str, Any] | None:
    """The closest existing key result this one may not copy, and whether it does. The team's
    own key results of other cycles are carried forward on purpose (evidence cites them)."""

    def comparable(row: dict[str, Any]) -> bool:
        return row["team"] != ctx.team["id"] or row["cycle"] == ctx.cycle["id"]

    hashes = [h for h, rows in existing.items() if any(comparable(r) for r in rows)]
    assert ctx.vectors is not None
    found = sources.nearest_texts(
        session, ctx.org_id, ctx.vectors.embedder.model_name, vector, hashes, limit=5
    )
    best = None
    for h, cosine in found:
        for row in existing[h]:
            if not comparable(row):
                continue
            same_numbers = (row["unit"] or "").strip().lower() == (unit or "").strip().lower() and (
                row["target"] is not None and target is not None and row["target"] == target
            )
            copies = cosine >= config.duplicate_similarity or (
                same_numbers and cosine >= config.duplicate_similarity_same_numbers
            )
            candidate = {
                "key_result": row["id"],
                "okr": row["okr"],
                "team": row["team"],
                "cycle": row["cycle"],
                "cosine": cosine,
                "copies": copies,
                "why": ", same unit and target" if copies and same_numbers else "",
            }
            if copies:
                return candidate
            best = best or candidate
    return best


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def title_copies(okr_title: str, objective_title: str) -> bool:
    """True when an OKR title is the objective's title, contains it, or shares nearly all of
    its words: an OKR says how a team serves the objective, not the objective again."""
    okr, objective = _words(okr_title), _words(objective_title)
    if not objective:
        return False
    if " ".join(objective) in " ".join(okr):
        return True
    a, b = set(okr), set(objective)
    return len(a & b) / len(a | b) >= TITLE_OVERLAP


def _title_not_objective(ctx: SuggestContext, output: SuggestionSet) -> Gate:
    titles = {o["id"]: o["title"] for o in ctx.objectives}
    problems = []
    for i, s in enumerate(output.suggestions):
        for objective_id in s.objective_ids:
            if objective_id in titles and title_copies(s.title, titles[objective_id]):
                problems.append(
                    _problem(
                        f"$.suggestions[{i}].title",
                        f"copies the title of objective {objective_id} "
                        f"({quote(titles[objective_id])}); say what this team will change for it",
                    )
                )
    return Gate("title_not_objective", not problems, problems)


def _suggestion_citations(session: Session, ctx: SuggestContext, output: SuggestionSet) -> Gate:
    org_id, problems = ctx.org_id, []
    allowed = {o["id"] for o in ctx.objectives}
    for i, s in enumerate(output.suggestions):
        at = f"$.suggestions[{i}]"
        known = sources.existing_ids(session, org_id, "objective", s.objective_ids)
        for objective_id in s.objective_ids:
            if objective_id not in known:
                problems.append(_problem(f"{at}.objective_ids", f"no objective {objective_id!r}"))
            elif objective_id not in allowed:
                problems.append(
                    _problem(f"{at}.objective_ids", f"{objective_id} was not asked for")
                )
        owners = sources.kpi_objectives(session, org_id, s.kpi_ids)
        for kpi_id in s.kpi_ids:
            if kpi_id not in owners:
                problems.append(_problem(f"{at}.kpi_ids", f"no KPI {kpi_id!r}"))
            elif owners[kpi_id] not in s.objective_ids:
                problems.append(
                    _problem(
                        f"{at}.kpi_ids",
                        f"KPI {kpi_id} belongs to {owners[kpi_id]}, which is not cited",
                    )
                )
        for j, ref in enumerate(s.evidence):
            if ref.id not in sources.existing_ids(session, org_id, ref.kind, [ref.id]):
                problems.append(
                    _problem(f"{at}.evidence[{j}]", f"no {ref.kind.replace('_', ' ')} {ref.id!r}")
                )
    return Gate("citations", not problems, problems)


def gate_summary(ctx: SummaryContext, output: ReviewSummary) -> list[Gate]:
    check_ins, findings, problems = ctx.check_in_ids, ctx.finding_ids, []
    for section in ("progress", "risks", "drift", "decisions_needed"):
        for i, statement in enumerate(getattr(output, section)):
            at = f"$.{section}[{i}]"
            if not statement.check_ins and not statement.findings:
                problems.append(_problem(at, "cites no check-in and no finding"))
            for c in statement.check_ins:
                if c not in check_ins:
                    problems.append(
                        _problem(f"{at}.check_ins", f"{c!r} is not a check-in of this scope")
                    )
            for f in statement.findings:
                if f not in findings:
                    problems.append(
                        _problem(f"{at}.findings", f"{f!r} is not a finding of this scope")
                    )
    grounded = _grounded(ctx, output)
    return [
        Gate("schema", True),
        Gate("citations", not problems, problems),
        Gate("grounded", not grounded, grounded),
    ]


def _grounded(ctx: SummaryContext, output: ReviewSummary) -> list[dict[str, str]]:
    """Two rules, so an empty summary under a confident headline is refused:
    `progress_required`: when an OKR of the scope has a check-in or a finding about it, at
    least one progress statement says how the OKRs moved (the offline drafter writes one for
    each such OKR); `headline_grounded`: the headline cites nothing itself and only sums up the
    statements under it, so when the scope has check-ins or findings at least one statement
    must cite one (the citations gate checks that each is of this scope). A scope with nothing
    to cite (a team without OKRs in the cycle) has nothing a statement could rest on."""
    problems = []
    about = {r["id"] for f in ctx.findings for r in f.get("records", ()) if r.get("type") == "okr"}
    reportable = [o["id"] for o in ctx.okrs if o["check_ins"] or o["id"] in about]
    if reportable and not output.progress:
        problems.append(
            _problem(
                "$.progress",
                f"progress_required: {len(reportable)} OKR(s) of this scope have check-ins or "
                "findings, so at least one progress statement must say how they moved",
            )
        )
    statements = [
        *output.progress, *output.risks, *output.drift, *output.decisions_needed
    ]  # fmt: skip
    citable = ctx.check_in_ids or ctx.finding_ids
    if citable and not any(st.check_ins or st.findings for st in statements):
        problems.append(
            _problem(
                "$.headline",
                "headline_grounded: the headline only sums up the statements under it, and "
                "none cites a check-in or finding",
            )
        )
    return problems
