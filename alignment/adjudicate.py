"""LLM adjudication: a second opinion on the links the engine could not call clearly.

Runs only when an LLM is configured and the caller asks for it; the offline engine stands on its
own. An OKR is a close call when its best link score lies near the `aligned` threshold (aligned or
not could go either way) or a runner-up is within the labelling margin of the best (which
objective is open). For each close call, at most MAX_CANDIDATES objectives above the `weak`
threshold go to the model with the `adjudicate_links` prompt, the OKR's words fenced as data.
The reply must validate against `LinkVerdicts` and name exactly those candidates, or it is
discarded and the engine's labels stand. A verdict never raises a label (`_apply`): "serves"
leaves the engine's label, and the review queue shows the opinion to the person deciding;
"does not serve" may only lower an `aligned` close call to `weak`, which sends the OKR to that
person (or, if its orphan score is far below the organization's, makes it an orphan finding:
alignment/verdicts.py reads the orphan score, not these link scores). The score stays the
engine's, the verdict and its reason are kept on the link with the engine's own label, and
people's confirm/reject still overrides both.

A verdict is identified by what was sent (the rendered prompt: OKR, mission, candidates' texts)
and the prompt file's hash. Every scoring run, with or without a model, re-applies the stored
verdicts whose question is unchanged, so re-scoring neither loses them nor pays for them again;
any edit to the OKR, the mission or a candidate objective retires the verdict.

Residual risk: an OKR's author can write text meant to talk the model into a verdict. The fence
keeps it from posing as instructions, not from being persuasive. A persuaded "serves" moves
no label, and the stored `engine_label` shows every label the model lowered, for a person to
check.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from alignment.chat import ChatModel, Message, get_chat_model
from alignment.errors import Conflict, Unavailable
from alignment.llm_budget import Budget, BudgetExhausted, estimate_tokens
from alignment.prompts import Prompt, PromptError, load_prompt
from alignment.scoring.calibration import DEFAULT, Calibration
from alignment.scoring.documents import Link, ObjectiveDoc, OkrDoc
from alignment.settings import get_settings

MAX_CANDIDATES = 3
# A best score within this factor of the aligned threshold (either side) is a close call.
CLOSE = 2.0
REASON_MAX = 300


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objective_id: str
    serves: bool
    reason: str

    @field_validator("reason")
    @classmethod
    def _short(cls, value: str) -> str:
        # Providers do not enforce maxLength; a long reason is cut, not a reason to re-ask.
        text = value.strip()
        if not text:
            raise ValueError("the reason is empty")
        return text[:REASON_MAX]


class LinkVerdicts(BaseModel):
    """Whether one OKR serves each candidate strategic objective, with a one-line reason."""

    model_config = ConfigDict(extra="forbid")
    verdicts: list[Verdict]


@dataclass(frozen=True)
class Case:
    okr_id: str
    candidates: tuple[str, ...]  # objective ids, best engine score first


def close_calls(links: Mapping[str, Sequence[Link]], cal: Calibration = DEFAULT) -> list[Case]:
    """OKRs whose labels could go either way, closest to the aligned threshold first."""
    found: list[tuple[float, Case]] = []
    for okr_id, ranked in links.items():
        # By score, not rank: the lexical re-ranking (scoring/lexical_rank.py) can put a lower
        # score first within a label, and "near" and "contested" are about scores.
        by_score = sorted(ranked, key=lambda lk: -lk.score)
        candidates = [lk for lk in by_score[:MAX_CANDIDATES] if lk.score >= cal.weak]
        if not candidates:
            continue  # nothing plausible to ask about
        best = candidates[0].score
        near = cal.aligned / CLOSE <= best <= cal.aligned * CLOSE
        contested = len(candidates) > 1 and candidates[1].score >= cal.margin * best
        if near or contested:
            case = Case(okr_id, tuple(lk.objective_id for lk in candidates))
            found.append((abs(math.log(best / cal.aligned)), case))
    found.sort(key=lambda item: item[0])
    return [case for _, case in found]


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


Stored = Mapping[str, Mapping[str, dict[str, Any]]]  # okr id -> objective id -> stored verdict


def question(
    prompt: Prompt, okr: OkrDoc, candidates: Sequence[ObjectiveDoc]
) -> tuple[list[Message], str]:
    """The messages for one case and the key a verdict on them is stored under."""
    messages = prompt.render(
        okr={
            "title": okr.title,
            "description": okr.description,
            "key_results": [kr.title for kr in okr.key_results],
            "team_mission": okr.team_mission,
        },
        candidates=[
            {"id": o.id, "title": o.title, "description": o.description, "kpis": list(o.kpis)}
            for o in candidates
        ],
    )
    text = "\x1f".join([prompt.hash, *(m.content for m in messages)])
    return messages, hashlib.sha256(text.encode()).hexdigest()


def reapply(
    links: dict[str, list[Link]],
    okrs: Mapping[str, OkrDoc],
    objectives: Mapping[str, ObjectiveDoc],
    previous: Stored,
) -> tuple[dict[str, list[Link]], set[str], int]:
    """Stored verdicts whose question is unchanged, put back on `links` without a model call.

    Returns the links, the OKRs that got their verdicts back, and how many labels that moved.
    """
    out, kept, changed = dict(links), set(), 0
    for okr_id, notes in previous.items():
        note = next(iter(notes.values()))
        candidates = tuple(note.get("candidates") or ())
        if okr_id not in out or not candidates or any(o not in objectives for o in candidates):
            continue
        try:
            prompt = load_prompt(note["prompt"]["id"], note["prompt"]["version"])
        except (KeyError, PromptError):
            continue
        if prompt.hash != note["prompt"].get("hash"):
            continue
        _, key = question(prompt, okrs[okr_id], [objectives[o] for o in candidates])
        if all(notes.get(o, {}).get("key") == key for o in candidates):
            out[okr_id], moved = _apply(out[okr_id], {o: notes[o] for o in candidates})
            kept.add(okr_id)
            changed += moved
    return out, kept, changed


@dataclass
class Adjudicator:
    chat: ChatModel
    max_calls: int = 25  # model calls per scoring run at most
    prompt: Prompt = field(default_factory=lambda: load_prompt("adjudicate_links"))
    progress: Callable[[int, int], None] | None = None  # (model calls done, calls to make)
    # An operator's explicit GOLDENTHREAD_LLM_TEMPERATURE (some models accept only 1.0);
    # None: the prompt's own.
    temperature: float | None = None

    def run(
        self,
        links: dict[str, list[Link]],
        okrs: Mapping[str, OkrDoc],
        objectives: Mapping[str, ObjectiveDoc],
        *,
        previous: Stored,
        budget: Budget,
        cal: Calibration = DEFAULT,
    ) -> tuple[dict[str, list[Link]], Outcome]:
        """`links` with stored verdicts re-applied and the remaining close calls asked."""
        out, kept, changed = reapply(links, okrs, objectives, previous)
        outcome = Outcome(reused=len(kept), changed=changed)
        cases = [c for c in close_calls(links, cal) if c.okr_id not in kept]
        # Counted against the calls it will make, not the close calls: past `max_calls` the
        # rest are skipped, and a count out of all of them would jump at the end.
        calls = min(len(cases), self.max_calls)
        for n, case in enumerate(cases):
            if outcome.asked >= self.max_calls:
                outcome.skipped = len(cases) - n
                break
            if self.progress:
                self.progress(n, calls)
            try:
                verdicts = self._ask(case, okrs, objectives, budget, outcome)
            except (Unavailable, BudgetExhausted) as exc:
                # The provider's message speaks for drafting ("nothing was drafted or
                # stored"); here the run goes on and stores the engine's labels.
                why = exc.message.removesuffix("; nothing was drafted or stored")
                outcome.error = (
                    f"adjudication stopped early, {why}: {len(cases) - n} close call(s) keep "
                    "the engine's labels, stored without the LLM's opinion"
                )
                outcome.skipped = len(cases) - n
                break
            if verdicts is not None:
                out[case.okr_id], moved = _apply(out[case.okr_id], verdicts)
                outcome.changed += moved
        if self.progress:
            self.progress(calls, calls)
        return out, outcome

    def _ask(
        self,
        case: Case,
        okrs: Mapping[str, OkrDoc],
        objectives: Mapping[str, ObjectiveDoc],
        budget: Budget,
        outcome: Outcome,
    ) -> dict[str, dict[str, Any]] | None:
        candidates = [objectives[o] for o in case.candidates]
        messages, key = question(self.prompt, okrs[case.okr_id], candidates)
        budget.check(estimate_tokens(messages))
        defaults = self.prompt.model_defaults
        reply = self.chat.complete(
            messages,
            schema=LinkVerdicts,
            temperature=defaults.get("temperature")
            if self.temperature is None
            else self.temperature,
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
        # A reply the model stopped short (cut off, filtered, refused: the adapter's
        # `stop_reason`) is no opinion on this case, whatever its text parses to.
        verdicts = None if reply.stop_reason else _validated(reply.content, case)
        if verdicts is None:
            outcome.invalid += 1
            return None
        return {
            v.objective_id: {
                "serves": v.serves,
                "reason": v.reason,
                "model": reply.model,
                "prompt": self.prompt.ref,
                "candidates": list(case.candidates),
                "key": key,
            }
            for v in verdicts
        }


def configured_adjudicator(max_calls: int = 25) -> Adjudicator:
    """An adjudicator over the configured LLM; a clear error when none is configured."""
    chat = get_chat_model()
    if chat is None:
        raise Conflict(
            "adjudication needs a language model: set GOLDENTHREAD_LLM_BASE_URL (and _MODEL,"
            " _API_KEY) to an OpenAI-compatible endpoint, or score without adjudication"
        )
    llm = get_settings().llm
    return Adjudicator(chat, max_calls=max_calls, temperature=llm.temperature)


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
    """The links with each verdict noted on its link. A verdict never raises a label: AI
    supports human judgment, it never decides. "Serves" leaves the engine's label, so an OKR
    the engine is unsure about stays in the review queue, the opinion shown beside it
    (review.py). "Does not serve" lowers an `aligned` close call to `weak`, which puts the OKR
    in front of a person instead of counting it aligned: it asks, it does not decide."""
    changed, out = 0, []
    for link in ranked:
        verdict = verdicts.get(link.objective_id)
        if verdict is None:
            out.append(link)
            continue
        # Demoted, not dropped: a person still sees it as a candidate.
        label = "weak" if not verdict["serves"] and link.label == "aligned" else link.label
        changed += label != link.label
        note = {**verdict, "engine_label": link.label}
        out.append(replace(link, label=label, adjudication=note))
    return out, changed
