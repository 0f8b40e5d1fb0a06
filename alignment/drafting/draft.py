"""Draft stage: context -> drafter -> gates (-> one repair) -> a stored draft or failed attempt.

Runs in the caller's transaction and stores at most one row per request: a `pending` draft when
every gate passes (none when an identical pending draft of the same request exists: that one is
the answer), else a `failed` attempt with every gate's reasons (never approvable). When the
provider is down the drafter raises `Unavailable` before anything is written, so the request
fails cleanly; when it fails only on the repair, the paid first attempt is stored as failed
with the provider's error. A reply the model stopped short (refused, filtered, cut off at
max_tokens) is not repaired. Status is set here and only here; nothing a model writes can
change it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from alignment.drafting import sources, store
from alignment.drafting.context import build_suggest_context, build_summary_context
from alignment.drafting.drafters import Attempt, Drafter
from alignment.drafting.findings import quality_config
from alignment.drafting.gates import (
    Gate,
    gate_suggestions,
    gate_summary,
    parse_output,
    problems_for_repair,
    problems_of,
)
from alignment.drafting.schemas import OUTPUT_SCHEMAS, SuggestionRequest, SummaryRequest
from alignment.embedder import Embedder
from alignment.errors import Invalid, Unavailable
from alignment.llm_budget import Budget, BudgetExhausted

RAW_KEPT = 20000  # characters of each attempt's raw output kept for the audit trail
# How the chat adapter's `Unavailable` ends; untrue once a paid first attempt is stored.
PROVIDER_SUFFIX = "; nothing was drafted or stored"


def new_draft_id() -> str:
    return f"D-{uuid.uuid4().hex[:12]}"


def check_suggestion_request(session: Session, org_id: str, request: SuggestionRequest) -> None:
    """What a request names exists (422 naming the place), before any work is queued."""
    sources.requested_team(session, org_id, request.team)
    sources.pick_cycle(session, org_id, request.cycle)
    if request.objectives != "suggest":
        sources.objectives(session, org_id, request.objectives)
    elif not sources.objectives(session, org_id, None):
        raise Invalid(f"organization {org_id!r} has no strategic objectives to serve")


def check_summary_request(session: Session, org_id: str, request: SummaryRequest) -> None:
    sources.pick_cycle(session, org_id, request.cycle)
    if request.team is not None:
        sources.requested_team(session, org_id, request.team)
    else:
        sources.objectives(session, org_id, [request.objective or ""], path="$.objective")


def draft_suggestions(
    session: Session,
    org_id: str,
    request: SuggestionRequest,
    *,
    drafter: Drafter,
    embedder: Embedder,
) -> store.Draft:
    ctx = build_suggest_context(session, org_id, request, embedder=embedder)
    quality = quality_config(session, org_id)
    return _run(
        session,
        org_id,
        "suggestion",
        drafter,
        first=lambda budget: drafter.suggest(ctx, budget),
        gate=lambda out: gate_suggestions(session, ctx, out, embedder=embedder, quality=quality),
        columns={
            "team_id": ctx.team["id"],
            "cycle_id": ctx.cycle["id"],
            "request": {
                "team": ctx.team["id"],
                "cycle": ctx.cycle["id"],
                "objectives": request.objectives,
                **({"cycle_reason": ctx.cycle_reason} if ctx.cycle_reason else {}),
                # A cycle the organization has not defined yet: approval creates it.
                **({"new_cycle": _cycle_record(ctx.cycle)} if ctx.cycle.get("proposed") else {}),
            },
        },
    )


def _cycle_record(cycle: dict[str, Any]) -> dict[str, str]:
    return {"id": cycle["id"], "start": cycle["start"].isoformat(), "end": cycle["end"].isoformat()}


def draft_summary(
    session: Session,
    org_id: str,
    request: SummaryRequest,
    *,
    drafter: Drafter,
    embedder: Embedder,
) -> store.Draft:
    ctx = build_summary_context(session, org_id, request, embedder=embedder)
    return _run(
        session,
        org_id,
        "summary",
        drafter,
        first=lambda budget: drafter.summarize(ctx, budget),
        gate=lambda out: gate_summary(ctx, out),
        columns={
            "team_id": request.team,
            "objective_id": request.objective,
            "cycle_id": ctx.cycle["id"],
            "request": {
                "team": request.team,
                "objective": request.objective,
                "cycle": ctx.cycle["id"],
            },
        },
    )


def _run(
    session: Session,
    org_id: str,
    kind: str,
    drafter: Drafter,
    *,
    first: Callable[[Budget], Attempt],
    gate: Callable[[Any], list[Gate]],
    columns: dict[str, Any],
) -> store.Draft:
    budget = Budget.for_org(session, org_id, drafter.budget_limit(org_id))
    attempt = first(budget)
    records: list[dict[str, Any]] = []
    attempts: list[Attempt] = []
    output, gates = _evaluate(kind, attempt, gate)
    records.append(_record(attempt, gates))
    attempts.append(attempt)
    for _ in range(drafter.repairs):
        if all(g.passed for g in gates):
            break
        if stop_reason := attempt.stop_reason:
            # Refused, filtered or cut off: asking again with the problems would pay for the
            # same answer twice.
            records[-1]["repair_skipped"] = stop_reason
            break
        try:
            attempt = drafter.repair(kind, attempt, problems_for_repair(gates), budget)
        except (BudgetExhausted, Unavailable) as exc:
            # The first attempt's tokens were spent: store it as failed rather than lose them.
            records[-1]["repair_skipped"] = exc.message.removesuffix(PROVIDER_SUFFIX)
            break
        output, gates = _evaluate(kind, attempt, gate)
        records.append(_record(attempt, gates))
        attempts.append(attempt)
    passed = output is not None and all(g.passed for g in gates)
    usage = attempts[0].usage
    for extra in attempts[1:]:
        usage = usage + extra.usage
    head = attempts[0]  # provenance: the prompt that framed the task (repairs are in attempts)
    draft = store.Draft(
        org_id=org_id,
        id=new_draft_id(),
        kind=kind,
        status="pending" if passed else "failed",
        payload=(
            {"notice": attempt.notice, **output.model_dump(mode="json")}
            if output is not None
            else None
        ),
        schema_version=OUTPUT_SCHEMAS[kind][1],
        prompt_id=head.prompt["id"],
        prompt_version=head.prompt["version"],
        prompt_hash=head.prompt["hash"],
        drafter=drafter.kind,
        model=attempt.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        latency_ms=sum(a.latency_ms for a in attempts),
        gates=[g.as_dict() for g in gates],
        attempts=records,
        **columns,
    )
    # Only a draft that cost nothing (the offline drafter) may be answered with its twin: a
    # paid repeat's tokens are counted by the stored draft (store.tokens_spent), so it is
    # stored, or repeating one request would draft past the organization's token budget.
    free = usage.total_tokens == 0
    if passed and free and (twin := store.pending_twin(session, draft)) is not None:
        # The same request drafted the same content, and it still waits for a decision: the
        # repeat is answered with it rather than a copy to approve twice.
        twin.repeated = True
        return twin
    return store.add_draft(session, draft)


def _evaluate(
    kind: str, attempt: Attempt, gate: Callable[[Any], list[Gate]]
) -> tuple[BaseModel | None, list[Gate]]:
    output, schema_gate = parse_output(kind, attempt.raw, attempt.stop_reason)
    if output is None:
        return None, [schema_gate]
    return output, gate(output)


def _record(attempt: Attempt, gates: list[Gate]) -> dict[str, Any]:
    return {
        "prompt": attempt.prompt,
        "model": attempt.model,
        "tokens": {
            "input": attempt.usage.input_tokens,
            "output": attempt.usage.output_tokens,
            "total": attempt.usage.total_tokens,
        },
        "latency_ms": attempt.latency_ms,
        "passed": all(g.passed for g in gates),
        "problems": problems_of(gates),
        "raw": attempt.raw[:RAW_KEPT],
    }
