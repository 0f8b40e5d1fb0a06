"""The drafter interface and the LLM drafter; `get_drafter()` picks the configured one.

A drafter turns a context into an `Attempt`: the raw JSON text it produced plus provenance
(prompt id/version/hash, model, token usage, latency). It never validates or stores anything:
the draft stage parses and gates every attempt the same way, whoever wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from alignment import abandonable
from alignment.chat import ChatModel, Message, Usage, get_chat_model
from alignment.drafting.context import SuggestContext, SummaryContext
from alignment.drafting.schemas import OUTPUT_SCHEMAS
from alignment.llm_budget import Budget, estimate_tokens
from alignment.prompts import Prompt, load_prompt
from alignment.settings import LLMSettings, get_settings

PROMPT_OF = {"suggestion": "suggest_okrs", "summary": "review_summary"}


@dataclass
class Attempt:
    raw: str
    prompt: dict[str, Any]  # {"id", "version", "hash"}
    usage: Usage
    latency_ms: int
    model: str
    notice: str
    messages: list[Message] = field(default_factory=list, repr=False)
    stop_reason: str | None = None  # the reply's (ChatReply.stop_reason)


class Drafter(Protocol):
    kind: str  # "llm" | "offline"
    model: str
    repairs: int  # repair attempts allowed after a failed one

    def budget_limit(self, org_id: str) -> int | None:
        """Tokens the organization may spend this month with this drafter (None: no limit)."""
        ...

    def suggest(self, ctx: SuggestContext, budget: Budget) -> Attempt: ...

    def summarize(self, ctx: SummaryContext, budget: Budget) -> Attempt: ...

    def repair(
        self, kind: str, previous: Attempt, problems: list[dict[str, str]], budget: Budget
    ) -> Attempt: ...


class LlmDrafter:
    kind = "llm"
    repairs = 1

    def __init__(self, chat: ChatModel, settings: LLMSettings | None = None) -> None:
        self.chat = chat
        self.settings = settings or get_settings().llm
        self.model = chat.model_name

    def budget_limit(self, org_id: str) -> int | None:
        return self.settings.budget_for(org_id)

    def suggest(self, ctx: SuggestContext, budget: Budget) -> Attempt:
        prompt = load_prompt(PROMPT_OF["suggestion"])
        return self._call(prompt, prompt.render(**ctx.prompt_inputs()), "suggestion", budget)

    def summarize(self, ctx: SummaryContext, budget: Budget) -> Attempt:
        prompt = load_prompt(PROMPT_OF["summary"])
        return self._call(prompt, prompt.render(**ctx.prompt_inputs()), "summary", budget)

    def repair(
        self, kind: str, previous: Attempt, problems: list[dict[str, str]], budget: Budget
    ) -> Attempt:
        prompt = load_prompt("repair")
        follow_up = prompt.render(problems=problems)
        messages = [
            *previous.messages,
            Message("assistant", previous.raw),
            *(m for m in follow_up if m.role == "user"),
        ]
        return self._call(prompt, messages, kind, budget)

    def _call(self, prompt: Prompt, messages: list[Message], kind: str, budget: Budget) -> Attempt:
        budget.check(estimate_tokens(messages))
        defaults = prompt.model_defaults
        # An operator's GOLDENTHREAD_LLM_TEMPERATURE beats the prompt's default.
        temperature = self.settings.temperature
        # Abandonable: a drafting job asked to cancel stops waiting for the reply.
        reply = abandonable.call(
            lambda: self.chat.complete(
                messages,
                schema=OUTPUT_SCHEMAS[kind][0],
                temperature=defaults.get("temperature") if temperature is None else temperature,
                max_tokens=defaults.get("max_tokens"),
            )
        )
        budget.charge(reply.usage.total_tokens)
        return Attempt(
            raw=reply.content,
            prompt=prompt.ref,
            usage=reply.usage,
            latency_ms=reply.latency_ms,
            model=reply.model,
            notice=(
                f"Drafted by the language model {reply.model} (prompt {prompt.id} "
                f"v{prompt.version}); gates checked it against this organization's records. "
                "A person must review it before it counts."
            ),
            messages=messages,
            stop_reason=reply.stop_reason,
        )


def make_drafter(settings: LLMSettings) -> Drafter:
    """The LLM drafter when a base URL is configured, else the offline template drafter."""
    from alignment.drafting.offline import OfflineDrafter

    chat = get_chat_model(settings)
    return LlmDrafter(chat, settings) if chat is not None else OfflineDrafter()


@lru_cache(maxsize=1)
def get_drafter() -> Drafter:
    """The process-wide drafter from settings (its HTTP client is built once)."""
    return make_drafter(get_settings().llm)
