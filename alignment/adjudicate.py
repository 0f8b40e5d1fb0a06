"""LLM adjudication: a second opinion on the links the engine could not call clearly.

Runs only when an LLM is configured and the caller asks for it; the offline engine stands on its
own. An OKR is a close call when its best score lies near the `aligned` threshold (orphan or
not could go either way) or a runner-up is within the labelling margin of the best (which
objective is open). For each close call, at most MAX_CANDIDATES objectives above the `weak`
threshold go to the model with the `adjudicate_links` prompt, the OKR's words fenced as data.
The reply must validate against `LinkVerdicts` and name exactly those candidates, or it is
discarded and the engine's labels stand. A verdict only moves a label between `aligned` and
`weak`; the score stays the engine's, the verdict and its reason are kept on the link, and
people's confirm/reject still overrides both. A verdict is reused while the OKR's text, the
candidates, the model and the prompt are unchanged, so re-scoring costs no tokens.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alignment.chat import ChatModel, get_chat_model
from alignment.drafting.budget import Budget, BudgetExhausted, estimate_tokens
from alignment.errors import Conflict, Unavailable
from alignment.matching import DEFAULT, Calibration, Link, ObjectiveDoc, OkrDoc
from alignment.prompts import Prompt, load_prompt

MAX_CANDIDATES = 3
# A best score within this factor of the aligned threshold (either side) is a close call.
CLOSE = 2.0


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objective_id: str
    serves: bool
    reason: str = Field(min_length=1, max_length=300)


class LinkVerdicts(BaseModel):
    """Whether one OKR serves each candidate strategic objective, with a one-line reason."""

    model_config = ConfigDict(extra="forbid")
    verdicts: list[Verdict]


@dataclass(frozen=True)
class Case:
    okr_id: str
    candidates: tuple[str, ...]  # objective ids, best engine score first


def close_calls(
    links: Mapping[str, Sequence[Link]], cal: Calibration = DEFAULT, *, limit: int
) -> list[Case]:
    """OKRs whose labels could go either way, closest to the aligned threshold first."""
    found: list[tuple[float, Case]] = []
    for okr_id, ranked in links.items():
        candidates = [lk for lk in ranked[:MAX_CANDIDATES] if lk.score >= cal.weak]
        if not candidates:
            continue  # nothing plausible: a clear orphan
        best = candidates[0].score
        near = cal.aligned / CLOSE <= best <= cal.aligned * CLOSE
        contested = len(candidates) > 1 and candidates[1].score >= cal.margin * best
        if near or contested:
            case = Case(okr_id, tuple(lk.objective_id for lk in candidates))
            found.append((abs(math.log(best / cal.aligned)), case))
    found.sort(key=lambda item: item[0])
    return [case for _, case in found[:limit]]


@dataclass
class Outcome:
    """What one adjudication pass did; `error` says why it stopped early, if it did."""

    asked: int = 0
    reused: int = 0
    invalid: int = 0
    changed: int = 0
    skipped: int = 0
    error: str | None = None
    usage: list[dict[str, Any]] = field(default_factory=list)  # one entry per model call

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "usage"}


@dataclass
class Adjudicator:
    chat: ChatModel
    limit: int = 25  # model calls per scoring run at most
    prompt: Prompt = field(default_factory=lambda: load_prompt("adjudicate_links"))
    progress: Callable[[int, int], None] | None = None  # (close calls done, close calls)

    def key(self, fingerprint: str, case: Case) -> str:
        """Identity of a verdict: reused only while all of this is unchanged."""
        parts = [fingerprint, *case.candidates, self.chat.model_name, self.prompt.hash]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def run(
        self,
        links: dict[str, list[Link]],
        okrs: Mapping[str, OkrDoc],
        objectives: Mapping[str, ObjectiveDoc],
        *,
        fingerprints: Mapping[str, str],
        previous: Mapping[str, Mapping[str, dict[str, Any]]],
        budget: Budget,
        cal: Calibration = DEFAULT,
    ) -> tuple[dict[str, list[Link]], Outcome]:
        """`links` with close calls adjudicated; `previous` maps okr id -> objective id ->
        the adjudication stored on that link by an earlier run."""
        out, outcome = dict(links), Outcome()
        cases = close_calls(links, cal, limit=len(links))
        for n, case in enumerate(cases):
            if self.progress:
                self.progress(n, len(cases))
            key = self.key(fingerprints[case.okr_id], case)
            stored = previous.get(case.okr_id, {})
            if all(stored.get(o, {}).get("key") == key for o in case.candidates):
                verdicts = {o: stored[o] for o in case.candidates}
                outcome.reused += 1
            elif outcome.error or outcome.asked >= self.limit:
                outcome.skipped += len(cases) - n if outcome.error else 1
                if outcome.error:
                    break
                continue
            else:
                try:
                    verdicts = self._ask(case, okrs, objectives, key, budget, outcome)
                except (Unavailable, BudgetExhausted) as exc:
                    outcome.error = str(exc)
                    outcome.skipped += len(cases) - n
                    break
                if verdicts is None:
                    continue
            out[case.okr_id], changed = _apply(out[case.okr_id], verdicts)
            outcome.changed += changed
        if self.progress:
            self.progress(len(cases), len(cases))
        return out, outcome

    def _ask(
        self,
        case: Case,
        okrs: Mapping[str, OkrDoc],
        objectives: Mapping[str, ObjectiveDoc],
        key: str,
        budget: Budget,
        outcome: Outcome,
    ) -> dict[str, dict[str, Any]] | None:
        okr = okrs[case.okr_id]
        messages = self.prompt.render(
            okr={
                "title": okr.title,
                "description": okr.description,
                "key_results": [kr.title for kr in okr.key_results],
                "team_mission": okr.team_mission,
            },
            candidates=[_candidate(objectives[o]) for o in case.candidates],
        )
        budget.check(estimate_tokens(messages))
        defaults = self.prompt.model_defaults
        reply = self.chat.complete(
            messages,
            schema=LinkVerdicts,
            temperature=defaults.get("temperature"),
            max_tokens=defaults.get("max_tokens"),
        )
        outcome.asked += 1
        budget.charge(reply.usage.total_tokens)
        outcome.usage.append(
            {
                "model": reply.model,
                "input_tokens": reply.usage.input_tokens,
                "output_tokens": reply.usage.output_tokens,
            }
        )
        verdicts = _validated(reply.content, case)
        if verdicts is None:
            outcome.invalid += 1
            return None
        ref = self.prompt.ref
        return {
            v.objective_id: {
                "serves": v.serves,
                "reason": v.reason,
                "model": reply.model,
                "prompt": ref,
                "key": key,
            }
            for v in verdicts
        }


def configured_adjudicator(limit: int = 25) -> Adjudicator:
    """An adjudicator over the configured LLM; a clear error when none is configured."""
    chat = get_chat_model()
    if chat is None:
        raise Conflict(
            "adjudication needs a language model: set GOLDENTHREAD_LLM_BASE_URL (and _MODEL,"
            " _API_KEY) to an OpenAI-compatible endpoint, or score without adjudication"
        )
    return Adjudicator(chat, limit=limit)


def _candidate(obj: ObjectiveDoc) -> dict[str, Any]:
    return {
        "id": obj.id,
        "title": obj.title,
        "description": obj.description,
        "kpis": list(obj.kpis),
    }


def _validated(content: str, case: Case) -> list[Verdict] | None:
    """The reply's verdicts if they parse and cover exactly the candidates, else None."""
    try:
        parsed = LinkVerdicts.model_validate(json.loads(content))
    except (ValueError, ValidationError):
        return None
    ids = [v.objective_id for v in parsed.verdicts]
    if sorted(ids) != sorted(case.candidates):
        return None  # an unknown, missing or repeated objective: not a verdict on this case
    return parsed.verdicts


def _apply(ranked: list[Link], verdicts: Mapping[str, dict[str, Any]]) -> tuple[list[Link], int]:
    changed, out = 0, []
    for link in ranked:
        verdict = verdicts.get(link.objective_id)
        if verdict is None:
            out.append(link)
            continue
        label = (
            "aligned" if verdict["serves"] else ("weak" if link.label == "aligned" else link.label)
        )
        changed += label != link.label
        note = {**verdict, "engine_label": link.label}
        out.append(replace(link, label=label, adjudication=note))
    return out, changed
