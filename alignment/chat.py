"""The `ChatModel` interface: messages and an output schema in, the model's JSON text out.

The draft stage and link adjudication talk to language models only through this (their token
budget: `alignment.llm_budget`). Adapters live in
`alignment.adapters` (one module per provider; only they import LangChain). Every adapter puts a
timeout on each call, retries 429/5xx a bounded number of times with backoff, and raises
`alignment.errors.Unavailable` when the provider is down, so callers store nothing half-done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel

from alignment.settings import LLMSettings, get_settings

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True)
class ChatReply:
    content: str  # the raw text the model returned; the caller validates it
    usage: Usage
    latency_ms: int
    model: str
    # Why the model stopped short (cut off at max_tokens, filtered, refused), in words; None
    # for a finished reply. Such a reply is unusable whatever its text parses to.
    stop_reason: str | None = None


class ChatModel(Protocol):
    model_name: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: type[BaseModel],
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatReply:
        """Ask for output shaped by `schema` (sent as a JSON schema); return it unparsed."""
        ...


def get_chat_model(settings: LLMSettings | None = None) -> ChatModel | None:
    """The configured model, or None when no LLM base URL is set (drafting stays offline)."""
    settings = settings or get_settings().llm
    if not settings.configured:
        return None
    from alignment.adapters.openai_chat import OpenAIChatModel

    return OpenAIChatModel(settings)
